#!/usr/bin/python3
"""Raw-packet SYN client for the tdsdiag capture lab (syn-refused-same-isn).

Imitates how a Windows client retries a connect() that the server refuses:
Windows sends the very same SYN again (same source port, same initial sequence
number, same options) about 0.5 s and 1 s after the first, each answered by
the server's RST/ACK, before connect() fails with WSAECONNREFUSED (10061).
Wireshark then keeps the three SYN/RST pairs in one tcp.stream and marks the
later SYNs as retransmissions.  No Linux socket does this (Linux fails the
connect() at the first RST, and a new connect() picks a new sequence
number), so this script writes the TCP segments itself through a raw socket
(IPPROTO_TCP; the kernel adds the IPv4 header) with a Windows-like SYN:
window 64240, MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted, TTL
128.  It waits for each RST (a raw socket sees the replies) and prints what
came back.  The client's kernel knows no socket for these segments and drops
the RSTs silently.

Debian's /usr/bin/python3 (standard library only); needs CAP_NET_RAW.

Usage: syn_retransmit_client.py --server IP [--port 1433] [--attempts 3]
                                [--interval 0.5] [--source-port P] [--isn N]
"""
import argparse
import random
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn_segment(src, dst, sport, dport, isn):
    # MSS 1460, NOP, WS 8, NOP, NOP, SACK permitted: what Windows 10/11 offer
    opts = bytes([2, 4, 0x05, 0xB4, 1, 3, 3, 8, 1, 1, 4, 2])
    offset = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, isn, 0, offset << 4, 0x02, 64240, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
    c = checksum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]


def local_address(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((server, 9))
    a = s.getsockname()[0]
    s.close()
    return a


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=1433)
    p.add_argument("--attempts", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--source-port", type=int, default=0, help="default: random in Windows' range 49152-65535")
    p.add_argument("--isn", type=int, default=0, help="initial sequence number (default: random)")
    a = p.parse_args()

    src = local_address(a.server)
    sport = a.source_port or random.randint(49152, 65535)
    isn = a.isn or random.randint(1, 0xFFFFFFFF)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 128)
    seg = syn_segment(src, a.server, sport, a.port, isn)
    t0 = time.monotonic()
    refused = 0
    for n in range(1, a.attempts + 1):
        sent = time.monotonic()
        s.sendto(seg, (a.server, 0))
        answer = None
        while answer is None and time.monotonic() - sent < a.interval:
            r, _, _ = select.select([s], [], [], a.interval - (time.monotonic() - sent))
            if not r:
                break
            pkt, (frm, _) = s.recvfrom(65535)
            ihl = (pkt[0] & 0x0F) * 4
            tcp = pkt[ihl:]
            if frm != a.server or len(tcp) < 20:
                continue
            fsport, fdport, _, ackno, _, flags = struct.unpack("!HHIIBB", tcp[:14])
            if fsport == a.port and fdport == sport and ackno == (isn + 1) & 0xFFFFFFFF:
                answer = flags
        what = "no answer" if answer is None else ("RST" if answer & 0x04 else "flags 0x%02x" % answer)
        print("syn_retransmit_client: SYN %d (port %d, seq %d) at %.3f s: %s"
              % (n, sport, isn, sent - t0, what))
        if answer is not None and answer & 0x04:
            refused += 1
        elif answer is not None:
            print("syn_retransmit_client: not refused; stopping")
            return 3
        if n < a.attempts:
            time.sleep(max(0.0, a.interval - (time.monotonic() - sent)))
    print("syn_retransmit_client: %d of %d SYNs refused (Windows: 10061 connection refused)" % (refused, a.attempts))
    return 0 if refused == a.attempts else 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Builds the benchmark corpus deterministically from the lab's captures (real client and kernel
traffic): each source connection is copied many times with its own client address and port, shifted
in time so that the copies interleave, and written in time order.

usage: make_corpus.py OUT.pcap TARGET_CONNECTIONS SEED SOURCE.pcap [SOURCE.pcap ...]
Sources must be classic pcap (editcap -F pcap) with Ethernet/IPv4/TCP or UDP frames."""
import heapq
import random
import struct
import sys


def records(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e, nano = "<", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        e, nano = "<", True
    else:
        raise SystemExit(f"{path}: not a little-endian pcap")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, need Ethernet")
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        t = sec + frac / (1e9 if nano else 1e6)
        out.append((t, bytes(data[off + 16:off + 16 + incl]), orig))
        off += 16 + incl
    return out


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def rewrite(frame, client_ip, client_port, src_ip_old, port_old):
    """Gives the frame a new client address and port (both directions), with correct checksums."""
    f = bytearray(frame)
    if len(f) < 34 or f[12:14] != b"\x08\x00":
        return bytes(f)
    ihl = (f[14] & 0x0F) * 4
    ip = 14
    proto = f[ip + 9]
    src, dst = bytes(f[ip + 12:ip + 16]), bytes(f[ip + 16:ip + 20])
    l4 = ip + ihl
    if proto not in (6, 17) or len(f) < l4 + 8:
        return bytes(f)
    sport, dport = struct.unpack("!HH", f[l4:l4 + 4])
    if src == src_ip_old:
        f[ip + 12:ip + 16] = client_ip
        if sport == port_old:
            f[l4:l4 + 2] = struct.pack("!H", client_port)
    if dst == src_ip_old:
        f[ip + 16:ip + 20] = client_ip
        if dport == port_old:
            f[l4 + 2:l4 + 4] = struct.pack("!H", client_port)
    f[ip + 10:ip + 12] = b"\0\0"
    f[ip + 10:ip + 12] = struct.pack("!H", csum(bytes(f[ip:ip + ihl])))
    total = struct.unpack("!H", f[ip + 2:ip + 4])[0]
    seg = bytes(f[l4:ip + total]) if ip + total <= len(f) else None
    if seg is not None:
        ck = l4 + (16 if proto == 6 else 6)
        f[ck:ck + 2] = b"\0\0"
        seg = bytes(f[l4:ip + total])
        pseudo = bytes(f[ip + 12:ip + 20]) + struct.pack("!BBH", 0, proto, len(seg))
        f[ck:ck + 2] = struct.pack("!H", csum(pseudo + seg))
    return bytes(f)


def connections(recs):
    """Splits a capture into connections by (client ip, client port): the side that sent the first frame."""
    conns = {}
    for t, fr, orig in recs:
        if len(fr) < 38 or fr[12:14] != b"\x08\x00":
            continue
        ihl = (fr[14] & 0x0F) * 4
        src, dst = fr[26:30], fr[30:34]
        sport, dport = struct.unpack("!HH", fr[14 + ihl:14 + ihl + 4])
        key = (src, sport) if (src, sport) in conns or (dst, dport) not in conns else (dst, dport)
        conns.setdefault(key, []).append((t, fr, orig))
    return list(conns.items())


def main():
    out, target, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(seed)
    templates = []
    for path in sys.argv[4:]:
        templates += connections(records(path))
    if not templates:
        raise SystemExit("no connections in the sources")
    # A client port never equal to a server port of the sources or a SQL port: a copied loopback
    # connection (both addresses become the client's) would otherwise connect to itself, or HTTP
    # would look like SQL Server.
    avoid = {1433, 1434}
    for _, frames in templates:
        fr = frames[0][1]
        ihl = (fr[14] & 0x0F) * 4
        avoid.add(struct.unpack("!H", fr[14 + ihl + 2:14 + ihl + 4])[0])
    streams = []
    t0 = 1_800_000_000.0
    for i in range(target):
        (ip_old, port_old), frames = templates[i % len(templates)]
        client_ip = bytes([10, 20 + (i >> 16) % 200, (i >> 8) & 0xFF, i & 0xFF])
        client_port = 1024 + (i * 7919) % 60000
        while client_port in avoid:
            client_port += 1
        start = t0 + i * 0.01 + rnd.random() * 0.02  # about 100 new connections a second, overlapping
        base = frames[0][0]
        streams.append([(start + (t - base), rewrite(fr, client_ip, client_port, ip_old, port_old), orig)
                        for t, fr, orig in frames])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, fr, orig in heapq.merge(*streams, key=lambda r: r[0]):
            sec = int(t)
            f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(fr), orig))
            f.write(fr)


main()

#!/usr/bin/python3
"""Scripted TDS 7.x server for the tdsdiag capture lab.

Run it with the system Python (/usr/bin/python3): it needs only the standard
library plus python3-cryptography (a dependency of python3-openssl) to make its
certificates.  It speaks enough TDS 7.x for real clients (FreeTDS tsql,
tedious, pytds) to log in and run `select 1`, and it can be told, by flags, to
misbehave the way a real SQL Server or its network does in the failure
scenarios of docs/diagnoses.md.

Everything the server puts on the wire comes from the kernel's TCP and from
OpenSSL (Python's ssl module with memory BIOs); the TDS bytes are built here.
The one exception is --alert, which writes a plaintext TLS alert record by
hand (said so in --help and in the capture's provenance).

Wire behaviour copied from SQL Server:
  * PRELOGIN answered with a type 0x04 packet (VERSION, ENCRYPTION, INSTOPT,
    THREADID, MARS);
  * the TLS handshake rides inside type 0x12 packets, the server's flights
    included; after the handshake TLS records go bare over TCP;
  * login-only encryption (both sides answer ENCRYPT_OFF): TLS stops after
    the Login7;
  * the packet id restarts at 1 for every message;
  * with --strict (TDS 8.0, MS-TDS 2.2.6.5 / SQL Server 2022 "strict"
    encryption): the TLS handshake starts right after the TCP handshake, as
    bare TLS records (no TDS wrapping), ALPN tds/8.0 is accepted, TLS 1.3 is
    allowed, and the PRELOGIN request/response, Login7, login response and
    batches all travel inside TLS as ordinary TDS packets.
"""

import argparse
import datetime
import ipaddress
import os
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

# TDS packet types
PKT_BATCH = 0x01
PKT_RPC = 0x03
PKT_RESPONSE = 0x04
PKT_ATTENTION = 0x06
PKT_LOGIN7 = 0x10
PKT_SSPI = 0x11
PKT_PRELOGIN = 0x12

# PRELOGIN encryption values
ENC = {"off": 0, "on": 1, "not_sup": 2, "req": 3}
ENC_NAME = {v: k for k, v in ENC.items()}

TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

ALERTS = {
    "close_notify": 0, "unexpected_message": 10, "bad_record_mac": 20,
    "handshake_failure": 40, "bad_certificate": 42,
    "unsupported_certificate": 43, "certificate_revoked": 44,
    "certificate_expired": 45, "certificate_unknown": 46,
    "illegal_parameter": 47, "unknown_ca": 48, "access_denied": 49,
    "decode_error": 50, "decrypt_error": 51, "protocol_version": 70,
    "insufficient_security": 71, "internal_error": 80,
}

SERVER_NAME = "LABSQL"
SERVER_VERSION = (16, 0, 1000, 6)  # SQL Server 2022 RTM numbering

LOG_LOCK = threading.Lock()


def log(msg):
    with LOG_LOCK:
        sys.stderr.write("[tds_server %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
        sys.stderr.flush()


class Closed(Exception):
    """The peer closed (or reset) the connection."""


class Abort(Exception):
    """The scenario ends the connection here; the socket is already closed."""


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

def make_certificates(args, workdir):
    """Make a CA and the server certificate with python3-cryptography.

    Returns (certfile, keyfile, cafile).  Nothing is kept: the files live in a
    temp dir, except the CA certificate, copied to --ca-out for the clients.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    hash_algo = {
        "md5": hashes.MD5(), "sha1": hashes.SHA1(), "sha224": hashes.SHA224(),
        "sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }[args.cert_hash]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def key(bits=2048):
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)

    ca_key = key()
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tdsdiag lab"),
        x509.NameAttribute(NameOID.COMMON_NAME, "tdsdiag lab CA"),
    ])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = key(args.cert_key_bits)
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, args.cert_cn)])
    if args.cert_expired:
        nb = now - datetime.timedelta(days=400)
        na = now - datetime.timedelta(days=30)
    else:
        nb = now - datetime.timedelta(days=1)
        na = now + datetime.timedelta(days=365)
    sans = [x509.DNSName(args.cert_cn)]
    for a in args.cert_ip:
        sans.append(x509.IPAddress(ipaddress.ip_address(a)))
    self_signed = args.cert_signer == "self"
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(leaf_name if self_signed else ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nb).not_valid_after(na)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage(
            [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    leaf = builder.sign(leaf_key if self_signed else ca_key, hash_algo)

    pem = serialization.Encoding.PEM
    certfile = os.path.join(workdir, "server.crt")
    keyfile = os.path.join(workdir, "server.key")
    cafile = os.path.join(workdir, "ca.crt")
    with open(certfile, "wb") as f:
        f.write(leaf.public_bytes(pem))
    with open(keyfile, "wb") as f:
        f.write(leaf_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    with open(cafile, "wb") as f:
        # For a self-signed leaf, the "CA" a client should trust is the leaf
        # itself; --ca-out gets the real CA anyway so that a client given it
        # rejects the self-signed leaf (unknown CA).
        f.write(ca_cert.public_bytes(pem))
    return certfile, keyfile, cafile


def make_dh_params(workdir, bits=2048):
    """DH parameters for the DHE suites: RFC 7919 ffdhe2048 by default; with
    --dh-bits 1024 the RFC 5114 1024-bit MODP group (OpenSSL's dh_1024_160),
    a group an old server may still use."""
    path = os.path.join(workdir, "dh.pem")
    group = {2048: "ffdhe2048", 1024: "dh_1024_160"}[bits]
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH",
                    "-pkeyopt", "group:" + group, "-out", path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def make_ssl_contexts(args, workdir):
    """(context for TDS 7.x, context for TDS 8.0 strict), one certificate."""
    certfile, keyfile, cafile = make_certificates(args, workdir)
    if args.ca_out:
        with open(cafile, "rb") as src, open(args.ca_out + ".tmp", "wb") as dst:
            dst.write(src.read())
        os.replace(args.ca_out + ".tmp", args.ca_out)
    if args.cert_out:
        with open(certfile, "rb") as src, open(args.cert_out, "wb") as dst:
            dst.write(src.read())
    dh = make_dh_params(workdir, args.dh_bits)
    # TLS 1.2 at most for TDS 7.x unless --tls-max says otherwise (TDS 7.x
    # clients hang on TLS 1.3; SQL Server offers 1.3 to TDS 8.0 only)
    tds7 = make_one_context(args, certfile, keyfile, dh, args.tls_max or "1.2", strict=False)
    tds8 = make_one_context(args, certfile, keyfile, dh, args.tls_max or "1.3", strict=True)
    return tds7, tds8


def make_one_context(args, certfile, keyfile, dh, tls_max, strict):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[args.tls_min]
    ctx.maximum_version = TLS_VERSIONS[tls_max]
    if strict:
        # TDS 8.0: the client offers ALPN "tds/8.0"; a client that offers
        # none is served anyway (OpenSSL then sends no ALPN extension).
        ctx.set_alpn_protocols(["tds/8.0"])
    if args.keylog:
        # NSS key log written by the server's OpenSSL (Python ssl)
        ctx.keylog_filename = args.keylog
    # Security level 0 so that TLS 1.0/1.1 and MD5/SHA-1 certificates work,
    # like an old Windows server; the cipher list itself is OpenSSL's DEFAULT
    # unless --ciphers says otherwise.
    ciphers = args.ciphers or "DEFAULT"
    if "@SECLEVEL" not in ciphers:
        ciphers += ":@SECLEVEL=0"
    ctx.set_ciphers(ciphers)
    if args.tls13_ciphers and hasattr(ctx, "set_ciphersuites"):
        ctx.set_ciphersuites(args.tls13_ciphers)
    ctx.load_dh_params(dh)
    ctx.load_cert_chain(certfile, keyfile)
    if args.no_tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


# --------------------------------------------------------------------------
# TDS encoding helpers
# --------------------------------------------------------------------------

def ucs2(s):
    return s.encode("utf-16-le")


def b_varchar(s):
    return bytes([len(s)]) + ucs2(s)


def us_varchar(s):
    return struct.pack("<H", len(s)) + ucs2(s)


class Tokens:
    """Builds token streams for the TDS version the client logged in with."""

    def __init__(self, tds_version):
        self.v = tds_version  # e.g. 0x74000004

    @property
    def v72(self):
        return (self.v >> 24) >= 0x72

    def envchange(self, typ, new, old):
        body = bytes([typ]) + new + old
        return b"\xe3" + struct.pack("<H", len(body)) + body

    def env_database(self, new, old):
        return self.envchange(1, b_varchar(new), b_varchar(old))

    def env_language(self, new, old=""):
        return self.envchange(2, b_varchar(new), b_varchar(old))

    def env_packetsize(self, new, old):
        return self.envchange(4, b_varchar(str(new)), b_varchar(str(old)))

    def env_collation(self):
        # SQL_Latin1_General_CP1_CI_AS
        coll = bytes([0x09, 0x04, 0xD0, 0x00, 0x34])
        return self.envchange(7, bytes([len(coll)]) + coll, b"\x00")

    def _msg(self, token, number, state, klass, text, proc="", line=1):
        body = (struct.pack("<iBB", number, state, klass) + us_varchar(text)
                + b_varchar(SERVER_NAME) + b_varchar(proc)
                + (struct.pack("<i", line) if self.v72 else struct.pack("<H", line)))
        return bytes([token]) + struct.pack("<H", len(body)) + body

    def info(self, number, state, klass, text):
        return self._msg(0xAB, number, state, klass, text)

    def error(self, number, state, klass, text):
        return self._msg(0xAA, number, state, klass, text)

    def loginack(self):
        prog = b_varchar("Microsoft SQL Server")
        # MS-TDS LOGINACK: a TDS 7.0 / 7.1 Login7 (0x70000000 / 0x71000000)
        # is acknowledged as 0x07000000 / 0x07010000; later versions as sent
        ver = struct.pack(">I", {0x70000000: 0x07000000, 0x71000000: 0x07010000}.get(self.v, self.v))
        mj, mn, bld, _ = SERVER_VERSION
        body = b"\x01" + ver + prog + bytes([mj, mn]) + struct.pack(">H", bld)
        return b"\xad" + struct.pack("<H", len(body)) + body

    def done(self, status=0, curcmd=0, rowcount=0, token=0xFD):
        if self.v72:
            return bytes([token]) + struct.pack("<HHQ", status, curcmd, rowcount)
        return bytes([token]) + struct.pack("<HHI", status, curcmd, rowcount)

    def int_result(self, name, value):
        usertype = struct.pack("<I", 0) if self.v72 else struct.pack("<H", 0)
        colmeta = (b"\x81" + struct.pack("<H", 1) + usertype
                   + struct.pack("<H", 0x0000)  # flags
                   + b"\x38"  # INT4
                   + b_varchar(name))
        row = b"\xd1" + struct.pack("<i", value)
        return colmeta + row

    def int_rows(self, name, count):
        """An INT column and `count` rows 1..count (--result-rows)."""
        head = self.int_result(name, 1)
        return head + b"".join(b"\xd1" + struct.pack("<i", v) for v in range(2, count + 1))


def negotiate(client, setting, reply_mode):
    """PRELOGIN ENCRYPTION: (value the server sends, what happens next).

    reply_mode "negotiate" answers like SQL Server (MS-TDS 2.2.6.5): the value
    depends on the client's; "literal" sends the --encryption value as is.
    What happens: none, login (login-only TLS), full, client-ends (the client
    must give up), server-ends (the server closes).
    """
    c_on = client in (1, 3)
    if reply_mode == "negotiate":
        if setting == 2:
            reply = 2
        elif client == 2:
            reply = 2 if setting == 0 else 3
        elif setting == 0:
            reply = 1 if c_on else 0
        elif setting == 1:
            reply = 1 if c_on else 3
        else:
            reply = 3 if client == 0 else 1
    else:
        reply = setting
    if reply == 2:
        mode = "client-ends" if c_on else "none"
    elif client == 2:
        mode = "server-ends" if reply in (1, 3) else "none"
    elif reply == 0 and client == 0:
        mode = "login"
    else:
        mode = "full"
    return reply, mode


# --------------------------------------------------------------------------
# MARS: Session Multiplex Protocol (MC-SMP) under TDS (--mars)
# --------------------------------------------------------------------------

SMP_SMID = 0x53
SMP_SYN, SMP_ACK, SMP_FIN, SMP_DATA = 0x01, 0x02, 0x04, 0x08
SMP_FLAG_NAME = {SMP_SYN: "SYN", SMP_ACK: "ACK", SMP_FIN: "FIN", SMP_DATA: "DATA"}
SMP_WINDOW = 4  # DATA packets granted beyond the last one received (FreeTDS uses 4 too)


class SmpSession:
    def __init__(self, sid, peer_wnd):
        self.sid = sid
        self.send_seq = 0          # SEQNUM of the server's last DATA on this session
        self.recv_seq = 0          # SEQNUM of the client's last DATA
        self.peer_wnd = peer_wnd   # highest SEQNUM the client accepts from the server
        self.my_wnd = SMP_WINDOW   # highest SEQNUM the server accepts (last WNDW sent)


class Mars:
    """MARS for Connection (--mars): the PRELOGIN MARS answer and the SMP layer.

    With --mars the server answers a client's PRELOGIN MARS 1 with 1 (0
    otherwise, like SQL Server).  From then on every TDS packet of the client
    may ride in an SMP packet (16-byte header, little-endian: SMID 0x53,
    FLAGS, SID, LENGTH with the header, SEQNUM, WNDW); a packet whose first
    byte is not 0x53 is still read as bare TDS (e.g. the TLS handshake in
    PRELOGIN packets).  The reader handles the SMP control packets: SYN opens
    a session (no answer: MC-SMP has none), ACK updates the client's window,
    FIN is answered at once with FIN on the same SID.  Each DATA carries one
    whole TDS packet (FreeTDS requires it); the answer goes back in DATA
    packets on the SID of the last DATA read, SEQNUM counted from 1 per
    session, WNDW = the client's last SEQNUM + 4.  An ACK opening the window
    is sent when a client's multi-packet message would run out of it.
    """
    client_mars = False
    smp_sessions = None
    smp_sid = None  # SID of the last DATA read: where answers go

    @property
    def mars_reply(self):
        return 1 if (self.args.mars and self.client_mars) else 0

    def mars_prelogin(self, opts):
        v = opts.get(4, b"")
        self.client_mars = len(v) >= 1 and v[0] == 1
        if len(v) >= 1 or self.args.mars:
            self.log("PRELOGIN MARS from client %s, server answers %d"
                     % (v[0] if v else "(absent)", self.mars_reply))

    def _smp_peek(self, via_tls):
        if via_tls:
            while not self.tls_plain:
                self.tls_fill()
            return self.tls_plain[0]
        while not self.raw:
            self.recv_more()
        return self.raw[0]

    def _smp_take(self, n, via_tls):
        if not via_tls:
            return self.take(n)
        while len(self.tls_plain) < n:
            self.tls_fill()
        out = bytes(self.tls_plain[:n])
        del self.tls_plain[:n]
        return out

    def _smp_send(self, data, via_tls):
        if via_tls:
            self.tls.write(data)
            self.sendall(self.tls_out.read())
        else:
            self.sendall(data)

    def smp_send_control(self, s, flags, via_tls):
        self._smp_send(struct.pack("<BBHIII", SMP_SMID, flags, s.sid, 16, s.send_seq, s.my_wnd),
                       via_tls)
        self.log("SMP %s sent: sid %d seq %d wnd %d"
                 % (SMP_FLAG_NAME[flags], s.sid, s.send_seq, s.my_wnd))

    def smp_read_packet(self, via_tls):
        """One TDS packet (type, status, payload); SMP control packets are handled on the way."""
        while True:
            if self._smp_peek(via_tls) != SMP_SMID:
                hdr = self._smp_take(8, via_tls)
                length = struct.unpack(">H", hdr[2:4])[0]
                if length < 8:
                    raise Closed("bad TDS length %d" % length)
                return hdr[0], hdr[1], self._smp_take(length - 8, via_tls)
            hdr = self._smp_take(16, via_tls)
            _, flags, sid, length, seq, wnd = struct.unpack("<BBHIII", hdr)
            if length < 16:
                raise Closed("bad SMP length %d" % length)
            body = self._smp_take(length - 16, via_tls)
            self.log("SMP %s received: sid %d seq %d wnd %d length %d"
                     % (SMP_FLAG_NAME.get(flags, "0x%02x" % flags), sid, seq, wnd, length))
            if self.smp_sessions is None:
                self.smp_sessions = {}
            if flags == SMP_SYN:
                self.smp_sessions[sid] = SmpSession(sid, wnd)
                continue
            s = self.smp_sessions.get(sid)
            if s is None:
                self.log("SMP: no session %d, packet ignored" % sid)
                continue
            s.peer_wnd = wnd
            if flags == SMP_FIN:
                s.my_wnd = s.recv_seq + SMP_WINDOW
                self.smp_send_control(s, SMP_FIN, via_tls)
                del self.smp_sessions[sid]
                continue
            if flags != SMP_DATA or len(body) < 8:
                continue  # ACK (window update) or nothing to hand up
            s.recv_seq = seq
            self.smp_sid = sid
            if not body[1] & 0x01 and s.recv_seq + 2 >= s.my_wnd:
                # more packets of this message to come: open the window
                s.my_wnd = s.recv_seq + SMP_WINDOW
                self.smp_send_control(s, SMP_ACK, via_tls)
            return body[0], body[1], body[8:]

    def smp_wrap(self, msg):
        """Wrap each TDS packet of `msg` in an SMP DATA packet on the current SID."""
        s = self.smp_sessions[self.smp_sid]
        out = bytearray()
        pos = 0
        while pos < len(msg):
            ln = struct.unpack(">H", msg[pos + 2:pos + 4])[0]
            s.send_seq += 1
            if s.send_seq > s.peer_wnd:
                self.log("SMP sid %d: DATA seq %d beyond the client's window %d"
                         % (s.sid, s.send_seq, s.peer_wnd))
            s.my_wnd = s.recv_seq + SMP_WINDOW
            out += struct.pack("<BBHIII", SMP_SMID, SMP_DATA, s.sid, ln + 16, s.send_seq, s.my_wnd)
            out += msg[pos:pos + ln]
            pos += ln
        return bytes(out)


# --------------------------------------------------------------------------
# One connection
# --------------------------------------------------------------------------

class Connection(Mars):
    def __init__(self, server, sock, addr, number):
        self.server = server
        self.args = server.args
        self.sock = sock
        self.addr = addr
        self.n = number
        self.raw = bytearray()  # bytes read from TCP, not yet consumed
        self.tls = None          # SSLObject once the handshake starts
        self.tls_in = None
        self.tls_out = None
        self.tls_plain = bytearray()  # decrypted bytes not yet consumed
        self.encrypt_all = False  # full encryption after the handshake
        self.login_tls = False    # Login7 travels in TLS
        self.tds_version = 0x74000004
        self.packet_size = 4096
        self.tokens = Tokens(self.tds_version)
        self.username = ""
        self.batches = 0
        self.closed = False
        # Failure flags apply to the connections selected by --fail-conns.
        self.fail = server.fail_applies(number)

    def log(self, msg):
        log("conn %d %s:%d: %s" % (self.n, self.addr[0], self.addr[1], msg))

    # ---- raw socket -----------------------------------------------------

    def recv_more(self, timeout=None):
        if timeout is not None:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            raise Closed("reset by peer")
        if not data:
            raise Closed("FIN from peer")
        self.raw += data
        return True

    def take(self, n):
        while len(self.raw) < n:
            self.recv_more()
        out = bytes(self.raw[:n])
        del self.raw[:n]
        return out

    def sendall(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            raise Closed("reset by peer while sending")

    # ---- closing -----------------------------------------------------------

    def drain(self):
        """Read what the peer already sent so that close() gives FIN, not RST."""
        self.sock.setblocking(False)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    break
        except (BlockingIOError, ConnectionResetError, OSError):
            pass
        finally:
            self.sock.setblocking(True)

    def close(self, kind="fin", why=""):
        if self.closed:
            return
        self.closed = True
        if kind == "rst":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            self.drain()
        try:
            self.sock.close()
        except OSError:
            pass
        self.log("closed by server with %s%s" % (kind.upper(), (": " + why) if why else ""))

    def abort(self, kind, why):
        self.close(kind, why)
        raise Abort(why)

    def wait_for_peer_close(self, limit):
        """Read and discard until the client closes (or `limit` seconds)."""
        end = time.time() + limit
        while time.time() < end:
            try:
                if self.recv_more(timeout=max(0.0, end - time.time())):
                    self.raw.clear()
            except Closed as e:
                self.log("client closed (%s)" % e)
                return True
        return False

    # ---- TDS framing -------------------------------------------------------

    def read_packet_raw(self):
        if self.mars_reply:
            return self.smp_read_packet(via_tls=False)
        hdr = self.take(8)
        typ, status, length = hdr[0], hdr[1], struct.unpack(">H", hdr[2:4])[0]
        if length < 8:
            raise Closed("bad TDS length %d" % length)
        return typ, status, self.take(length - 8)

    def read_packet_tls(self):
        if self.mars_reply:
            return self.smp_read_packet(via_tls=True)
        while len(self.tls_plain) < 8:
            self.tls_fill()
        length = struct.unpack(">H", bytes(self.tls_plain[2:4]))[0]
        while len(self.tls_plain) < length:
            self.tls_fill()
        pkt = bytes(self.tls_plain[:length])
        del self.tls_plain[:length]
        return pkt[0], pkt[1], pkt[8:]

    def read_message(self, via_tls=False):
        """Read one TDS message (packets up to End Of Message)."""
        data = bytearray()
        while True:
            typ, status, payload = (self.read_packet_tls() if via_tls
                                    else self.read_packet_raw())
            data += payload
            if status & 0x01:
                return typ, bytes(data)

    def build_message(self, typ, payload):
        out = bytearray()
        chunk = max(512, self.packet_size) - 8
        pid = 1
        pos = 0
        while True:
            part = payload[pos:pos + chunk]
            pos += len(part)
            last = pos >= len(payload)
            out += struct.pack(">BBHHBB", typ, 0x01 if last else 0x00,
                               len(part) + 8, 0, pid & 0xFF, 0)
            out += part
            pid += 1
            if last:
                return bytes(out)

    def send_message(self, typ, payload, via_tls=False):
        msg = self.build_message(typ, payload)
        if self.smp_sid is not None:
            msg = self.smp_wrap(msg)  # MARS: in SMP DATA on the client's session
        if via_tls:
            self.tls.write(msg)
            self.sendall(self.tls_out.read())
        else:
            self.sendall(msg)

    # ---- TLS after the handshake (bare records) ----------------------------

    def tls_fill(self):
        """Feed one whole bare TLS record to OpenSSL and collect plaintext."""
        hdr = self.take(5)
        length = struct.unpack(">H", hdr[3:5])[0]
        body = self.take(length)
        if hdr[0] == 0x15:
            self.log("TLS alert record from client")
        self.tls_in.write(hdr + body)
        while True:
            try:
                d = self.tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                raise Closed("TLS close_notify from client")
            except ssl.SSLError as e:
                raise Closed("TLS error %s" % e)
            if not d:
                break
            self.tls_plain += d
        out = self.tls_out.read()  # post-handshake messages, if OpenSSL has any
        if out:
            self.sendall(out)

    # ---- PRELOGIN ----------------------------------------------------------

    def parse_prelogin(self, data):
        opts = {}
        pos = 0
        while pos < len(data) and data[pos] != 0xFF:
            tok, off, ln = struct.unpack(">BHH", data[pos:pos + 5])
            opts[tok] = data[off:off + ln]
            pos += 5
        self.mars_prelogin(opts)
        return opts

    def prelogin_reply(self, enc_value):
        mj, mn, bld, sub = SERVER_VERSION
        fields = [
            (0, struct.pack(">BBHH", mj, mn, bld, sub)),   # VERSION
            (1, bytes([enc_value])),                       # ENCRYPTION
            (2, b"\x00"),                                  # INSTOPT
            (3, struct.pack(">I", self.n)),                # THREADID
            (4, bytes([self.mars_reply])),                 # MARS (1 with --mars)
        ]
        head = bytearray()
        body = bytearray()
        offset = 5 * len(fields) + 1
        for tok, val in fields:
            head += struct.pack(">BHH", tok, offset + len(body), len(val))
            body += val
        return bytes(head + b"\xff" + body)

    # ---- TLS handshake inside PRELOGIN packets ------------------------------

    def send_alert_record(self, name, version):
        # Hand-made plaintext alert (only with --alert): level fatal (2).
        rec = bytes([0x15]) + version + b"\x00\x02" + bytes([2, ALERTS[name]])
        self.send_message(PKT_PRELOGIN, rec)
        self.log("sent hand-made TLS alert %s" % name)

    def tls_handshake(self):
        a = self.args
        self.tls_in = ssl.MemoryBIO()
        self.tls_out = ssl.MemoryBIO()
        self.tls = self.server.ctx.wrap_bio(self.tls_in, self.tls_out, server_side=True)
        client_records = bytearray()
        seen_ccs = False
        client_finished = False
        flight = 0
        while True:
            typ, data = self.read_message()
            if typ != PKT_PRELOGIN:
                self.log("expected a PRELOGIN packet with TLS, got type 0x%02x" % typ)
                self.abort("fin", "unexpected packet during TLS handshake")
            flight += 1
            # Track the client's records to know when its Finished is in.
            client_records += data
            while len(client_records) >= 5:
                ln = struct.unpack(">H", client_records[3:5])[0]
                if len(client_records) < 5 + ln:
                    break
                ctype = client_records[0]
                if ctype == 0x14:
                    seen_ccs = True
                elif ctype == 0x16 and seen_ccs:
                    client_finished = True
                del client_records[:5 + ln]
            if flight == 1 and self.fail:
                if a.close_after_clienthello:
                    self.abort(a.close_after_clienthello, "--close-after-clienthello")
                if a.alert:
                    ver = bytes(data[1:3]) if len(data) >= 3 else b"\x03\x01"
                    self.send_alert_record(a.alert, ver)
                    self.abort("fin", "--alert %s" % a.alert)
                if a.hello_delay:
                    time.sleep(a.hello_delay)
            if client_finished and self.fail and a.close_after_client_finished:
                self.abort(a.close_after_client_finished, "--close-after-client-finished")
            if self.handshake_step(data, lambda out: self.send_message(PKT_PRELOGIN, out)):
                self.log("TLS handshake done: %s %s" % (self.tls.version(), self.tls.cipher()[0]))
                return

    def handshake_step(self, data, send):
        """Feeds client bytes to the TLS engine and sends what it answers with `send`
        (wrapped in PRELOGIN packets for TDS 7.x, bare for TDS 8.0). Returns True once
        the handshake is done; on a handshake error, alerts or closes per the flags."""
        a = self.args
        self.tls_in.write(data)
        done = False
        try:
            self.tls.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as e:
            out = self.tls_out.read()
            self.log("TLS handshake failed: %s" % e)
            mode = a.on_handshake_error if self.fail else "alert"
            if mode == "alert" and out:
                send(out)
                self.abort("fin", "TLS handshake error, alert sent")
            self.abort("rst" if mode == "rst" else "fin",
                       "TLS handshake error, no alert (--on-handshake-error %s)" % mode)
        out = self.tls_out.read()
        if out:
            send(out)
        return done

    # ---- TLS handshake first, bare over TCP (TDS 8.0 strict) ----------------

    def read_tls_record(self):
        hdr = self.take(5)
        length = struct.unpack(">H", hdr[3:5])[0]
        return hdr + self.take(length)

    def tls_handshake_strict(self):
        """TDS 8.0: the client's first bytes are a TLS ClientHello, not a PRELOGIN.

        Same failure flags as the TDS 7.x handshake; every record goes bare
        over TCP (no type 0x12 wrapping)."""
        a = self.args
        self.tls_in = ssl.MemoryBIO()
        self.tls_out = ssl.MemoryBIO()
        self.tls = self.server.ctx_strict.wrap_bio(self.tls_in, self.tls_out, server_side=True)
        seen_ccs = False
        nrec = 0
        while True:
            rec = self.read_tls_record()
            nrec += 1
            ctype = rec[0]
            if nrec == 1:
                if self.fail:
                    if a.close_after_clienthello:
                        self.abort(a.close_after_clienthello, "--close-after-clienthello")
                    if a.alert:
                        self.sendall(bytes([0x15]) + bytes(rec[1:3]) + b"\x00\x02"
                                     + bytes([2, ALERTS[a.alert]]))
                        self.log("sent hand-made TLS alert %s" % a.alert)
                        self.abort("fin", "--alert %s" % a.alert)
                    if a.hello_delay:
                        time.sleep(a.hello_delay)
            elif ctype == 0x14:
                seen_ccs = True
            elif seen_ccs and ctype in (0x16, 0x17) and self.fail and a.close_after_client_finished:
                # TLS 1.2: Finished is the handshake record after CCS; TLS 1.3:
                # the encrypted Finished is an application-data record
                self.abort(a.close_after_client_finished, "--close-after-client-finished")
            if self.handshake_step(rec, self.sendall):
                self.log("strict: TLS handshake done: %s %s, ALPN %s"
                         % (self.tls.version(), self.tls.cipher()[0],
                            self.tls.selected_alpn_protocol()))
                return

    # ---- Integrated (Windows) authentication: SSPI in the Login7 (--sspi) ----
    # MS-TDS: a Login7 with fIntSecurity (OptionFlags2 0x80) carries an SSPI
    # blob (ibSSPI/cbSSPI); the server answers with an SSPI token (0xED) in a
    # type 0x04 message, the client continues with a type 0x11 (SSPI) packet,
    # and the login response (LOGINACK or ERROR) ends the exchange.

    def login7_sspi(self, data):
        """The SSPI blob of a Login7 with fIntSecurity, else None."""
        if len(data) < 82 or not data[25] & 0x80:
            return None
        ib, cb = struct.unpack("<HH", data[78:82])
        if cb == 0xFFFF and len(data) >= 94:  # cbSSPILong (TDS 7.2+)
            cb = struct.unpack("<I", data[90:94])[0]
        return bytes(data[ib:ib + cb])

    @staticmethod
    def sspi_kind(blob):
        if blob.startswith(b"NTLMSSP\0") and len(blob) >= 12:
            return "NTLMSSP type %d" % struct.unpack("<I", blob[8:12])[0]
        if blob[:1] == b"\x60":
            if b"\x06\x06\x2b\x06\x01\x05\x05\x02" in blob[:20]:
                return "GSS-API SPNEGO NegTokenInit"
            if b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" in blob[:20]:
                return "GSS-API Kerberos 5 (AP-REQ)"
            return "GSS-API token"
        if blob[:1] in (b"\xa0", b"\xa1"):
            return "SPNEGO NegToken%s" % ("Init" if blob[:1] == b"\xa0" else "Resp")
        return "unknown (%s)" % blob[:8].hex()

    def sspi_send(self, token):
        """One SSPI token (0xED, USHORT length) as a type 0x04 message."""
        self.send_message(PKT_RESPONSE, b"\xed" + struct.pack("<H", len(token)) + token,
                          via_tls=self.encrypt_all)

    def sspi_read(self):
        """The client's next SSPI blob: a type 0x11 message."""
        typ, data = self.read_message(via_tls=self.encrypt_all)
        if typ != PKT_SSPI:
            self.log("expected an SSPI packet (0x11), got type 0x%02x" % typ)
            self.abort("fin", "no SSPI packet")
        self.log("SSPI packet (0x11): %d bytes, %s" % (len(data), self.sspi_kind(data)))
        return data

    def sspi_last_token(self):
        """The server's last SSPI token (Kerberos AP-REP, SPNEGO accept-completed),
        sent in front of the login response like SQL Server; empty otherwise."""
        tok = getattr(self, "sspi_final", b"")
        return b"\xed" + struct.pack("<H", len(tok)) + tok if tok else b""

    def integrated_auth(self, data):
        """--sspi: run the SSPI exchange of a Login7 with integrated security."""
        a = self.args
        if not a.sspi:
            return
        blob = self.login7_sspi(data)
        if blob is None:
            self.log("Login7 without integrated security: SQL login (user %r)" % self.username)
            return
        self.log("Login7 with integrated security, SSPI %d bytes: %s"
                 % (len(blob), self.sspi_kind(blob)))
        if a.sspi == "ntlm":
            self.ntlm_exchange(blob)
        else:
            self.gssapi_exchange(blob)

    # NTLM (MS-NLMP), scripted: a real CHALLENGE, the AUTHENTICATE is read but
    # not verified; the outcome comes from --login-error.
    def ntlm_challenge(self, client_flags):
        a = self.args
        dom, comp, dns = a.ntlm_domain.upper(), SERVER_NAME, a.ntlm_dns_domain.lower()

        def av(i, v):
            return struct.pack("<HH", i, len(v)) + v
        filetime = int((time.time() + 11644473600) * 10 ** 7)
        info = (av(2, ucs2(dom)) + av(1, ucs2(comp)) + av(4, ucs2(dns))
                + av(3, ucs2(comp.lower() + "." + dns)) + av(5, ucs2(dns))
                + av(7, struct.pack("<Q", filetime)) + av(0, b""))
        # UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN, TARGET_TYPE_DOMAIN,
        # TARGET_INFO, VERSION; SIGN, SEAL, EXTENDED_SESSIONSECURITY, 128,
        # KEY_EXCH and 56 when the client asked for them (like Windows)
        flags = (0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000
                 | 0x00800000 | 0x02000000
                 | (client_flags & (0x10 | 0x20 | 0x00080000 | 0x20000000 | 0x40000000
                                    | 0x80000000)))
        target = ucs2(dom)
        return (b"NTLMSSP\0" + struct.pack("<I", 2)
                + struct.pack("<HHI", len(target), len(target), 56)
                + struct.pack("<I", flags) + os.urandom(8) + b"\0" * 8
                + struct.pack("<HHI", len(info), len(info), 56 + len(target))
                + bytes([10, 0]) + struct.pack("<H", 20348) + b"\0\0\0\x0f"  # Windows 10.0.20348, NTLMSSP rev 15
                + target + info)

    def ntlm_exchange(self, blob):
        if not blob.startswith(b"NTLMSSP\0") or struct.unpack("<I", blob[8:12])[0] != 1:
            self.log("SSPI blob is not an NTLMSSP NEGOTIATE")
            self.abort("fin", "--sspi ntlm: no NTLMSSP NEGOTIATE")
        self.sspi_send(self.ntlm_challenge(struct.unpack("<I", blob[12:16])[0]))
        self.log("sent NTLMSSP CHALLENGE (SSPI token 0xED)")
        m = self.sspi_read()
        if not m.startswith(b"NTLMSSP\0") or len(m) < 64 or struct.unpack("<I", m[8:12])[0] != 3:
            self.log("SSPI packet is not an NTLMSSP AUTHENTICATE")
            self.abort("fin", "--sspi ntlm: no NTLMSSP AUTHENTICATE")

        def field(off):
            ln, _, o = struct.unpack("<HHI", m[off:off + 8])
            return m[o:o + ln]
        enc = "utf-16-le" if struct.unpack("<I", m[60:64])[0] & 1 else "latin-1"
        dom, user, ws = (field(o).decode(enc, "replace") for o in (28, 36, 44))
        self.log("NTLMSSP AUTHENTICATE: domain %r user %r workstation %r, LM response %d "
                 "bytes, NT response %d bytes" % (dom, user, ws, len(field(12)), len(field(20))))
        # SQL Server names an empty user (anonymous NTLM) NT AUTHORITY\ANONYMOUS LOGON
        self.username = ("%s\\%s" % (dom, user)) if user else "NT AUTHORITY\\ANONYMOUS LOGON"

    # GSS-API (python3-gssapi, the MIT library): Kerberos 5 or SPNEGO (with
    # gss-ntlmssp for NTLM), verified for real with --keytab / --ntlm-user-file.
    def gssapi_exchange(self, blob):
        a = self.args
        if a.keytab:
            os.environ["KRB5_KTNAME"] = a.keytab
        if a.krb5_config:
            os.environ["KRB5_CONFIG"] = a.krb5_config
        if a.ntlm_user_file:
            os.environ["NTLM_USER_FILE"] = a.ntlm_user_file
        import gssapi
        ctx = gssapi.SecurityContext(usage="accept")
        token = blob
        while True:
            try:
                out = ctx.step(token)
            except gssapi.exceptions.GSSError as e:
                self.log("GSS-API accept failed: %s" % str(e).replace("\n", " "))
                t = self.tokens
                self.send_message(PKT_RESPONSE, t.error(
                    18452, 1, 14, "Login failed. The login is from an untrusted domain and "
                    "cannot be used with Integrated authentication.") + t.done(status=0x0002),
                    via_tls=self.encrypt_all)
                self.wait_for_peer_close(a.idle_limit)
                self.abort("fin", "GSS-API authentication failed")
            if ctx.complete:
                break
            self.sspi_send(out or b"")
            self.log("sent SSPI token (0xED) %d bytes: %s" % (len(out or b""), self.sspi_kind(out or b"")))
            token = self.sspi_read()
        self.sspi_final = out or b""
        name = str(ctx.initiator_name)
        if "@" in name:  # alice@LAB.TEST -> LAB\alice
            user, realm = name.split("@", 1)
            name = "%s\\%s" % (realm.split(".")[0], user)
        self.username = name
        self.log("GSS-API context complete: mech %s, initiator %s, final token %d bytes"
                 % (ctx.mech.dotted_form if hasattr(ctx.mech, "dotted_form") else ctx.mech,
                    ctx.initiator_name, len(self.sspi_final)))

    # ---- Login and commands -------------------------------------------------

    def handle_login7(self, data):
        if len(data) >= 44:
            self.tds_version = struct.unpack("<I", data[4:8])[0]
            if (self.tds_version >> 24) > 0x74 or (self.tds_version >> 24) < 0x70:
                self.tds_version = 0x74000004
            ps = struct.unpack("<I", data[8:12])[0]
            if 512 <= ps <= 32767:
                self.packet_size = ps
            ib, cch = struct.unpack("<HH", data[40:44])
            try:
                self.username = data[ib:ib + 2 * cch].decode("utf-16-le")
            except UnicodeDecodeError:
                self.username = "?"
        self.tokens = Tokens(self.tds_version)
        self.log("Login7 user=%r tds=0x%08x packet size=%d"
                 % (self.username, self.tds_version, self.packet_size))

    def login_response(self):
        a, t = self.args, self.tokens
        if self.fail and a.login_error:
            msg = a.login_error_message or ("Login failed for user '%s'." % self.username)
            return (t.error(a.login_error, a.error_state, a.error_class, msg)
                    + t.done(status=0x0002))
        return (self.sspi_last_token()  # --sspi gssapi: AP-REP first (empty without)
                + t.env_database("master", "master")
                + t.info(5701, 2, 0, "Changed database context to 'master'.")
                + t.env_language("us_english")
                + t.info(5703, 1, 0, "Changed language setting to us_english.")
                + (t.env_collation() if (self.tds_version >> 24) >= 0x71 else b"")
                + t.loginack()
                + t.env_packetsize(self.packet_size, self.packet_size)
                + routing_envchange(self)  # --redirect (empty without)
                + t.done())

    def batch_text(self, data):
        if (self.tds_version >> 24) >= 0x72 and len(data) >= 4:
            total = struct.unpack("<I", data[:4])[0]
            if 4 <= total <= len(data):
                data = data[total:]
        try:
            return data.decode("utf-16-le", "replace")
        except Exception:
            return ""

    def batch_response(self, text):
        t = self.tokens
        q = " ".join(text.strip().lower().split())
        if q.startswith("select ") and q[7:].strip().lstrip("-").isdigit():
            return t.int_result("", int(q[7:].strip())) + t.done(status=0x0010, curcmd=0xC1, rowcount=1)
        if q.startswith("select ") and self.args.result_rows:
            n = self.args.result_rows
            return t.int_rows("", n) + t.done(status=0x0010, curcmd=0xC1, rowcount=n)
        if q.startswith("select "):
            return t.int_result("", 1) + t.done(status=0x0010, curcmd=0xC1, rowcount=1)
        return t.done()

    def run(self):
        a = self.args
        self.log("accepted")
        strict = False
        if a.strict or a.accept_strict:
            # TDS 8.0 or 7.x: a TLS handshake record (0x16) or a PRELOGIN (0x12)
            while not self.raw:
                self.recv_more()
            strict = self.raw[0] == 0x16
            if not strict and a.strict:
                self.log("first byte 0x%02x: not a TLS handshake (a TDS 7.x client), "
                         "refused (--strict)" % self.raw[0])
                self.abort("fin", "TDS 7.x client refused by --strict")
        if strict:
            # ---- TDS 8.0: step 3 (TLS handshake) comes first, bare over TCP
            self.tls_handshake_strict()
            self.login_tls = True
            self.encrypt_all = True
        # ---- step 2: PRELOGIN
        typ, data = self.read_message(via_tls=strict)
        if typ == PKT_LOGIN7 and a.login7_first and not strict:
            # a TDS 7.0 client (FreeTDS tds version = 7.0) sends no PRELOGIN:
            # no encryption negotiated, the Login7 in clear is the first packet
            self.log("first packet is a Login7 without PRELOGIN, accepted (--login7-first): no TLS")
        else:
            if typ != PKT_PRELOGIN:
                self.log("first packet is type 0x%02x, not PRELOGIN" % typ)
                if a.non_prelogin_answer == "prelogin-reply":
                    # what a server without TDS 8.0 may do with a strict client's ClientHello:
                    # answer it as if it were a PRELOGIN, in TDS, then wait for the client to leave
                    self.send_message(PKT_RESPONSE, self.prelogin_reply(ENC[a.encryption]))
                    self.log("answered it with a PRELOGIN response (--non-prelogin-answer prelogin-reply)")
                    self.wait_for_peer_close(a.idle_limit)
                self.abort("fin", "no PRELOGIN")
            self.prelogin_and_tls(data, strict)
            # ---- step 4: Login7
            typ, data = self.read_message(via_tls=self.login_tls)
        if typ != PKT_LOGIN7:
            self.log("expected Login7, got type 0x%02x" % typ)
            self.abort("fin", "no Login7")
        self.login_and_session(data)

    def prelogin_and_tls(self, data, strict):
        """Steps 2 and 3: answer the PRELOGIN, then the TLS handshake if any."""
        a = self.args
        opts = self.parse_prelogin(data)
        client_enc = opts.get(1, b"\x02")[0] & 0x0F
        self.log("PRELOGIN from client, encryption=%s" % ENC_NAME.get(client_enc, client_enc))
        if self.fail and a.prelogin != "answer":
            if a.prelogin == "no-answer":
                self.log("not answering the PRELOGIN (--prelogin no-answer)")
                self.wait_for_peer_close(a.no_answer_limit)
                self.abort("fin", "--prelogin no-answer")
            self.abort("rst" if a.prelogin == "rst" else "fin", "--prelogin %s" % a.prelogin)
        if self.fail and a.prelogin_delay:
            time.sleep(a.prelogin_delay)
        server_enc, tls_mode = negotiate(client_enc, ENC[a.encryption], a.encryption_reply)
        if strict:
            # TLS is already up: the ENCRYPTION answer is informational only
            # (tedious sends 0, SqlClient 2 in strict mode) and no second TLS
            # handshake follows whatever it says.
            self.send_message(PKT_RESPONSE, self.prelogin_reply(server_enc), via_tls=True)
            self.log("strict: PRELOGIN answered inside TLS with encryption=%s"
                     % ENC_NAME.get(server_enc, server_enc))
            tls_mode = "strict"
        else:
            self.send_message(PKT_RESPONSE, self.prelogin_reply(server_enc))
        if tls_mode == "client-ends":
            self.log("client requires encryption, server does not support it")
            # The client is expected to close; the server waits.
            self.wait_for_peer_close(a.idle_limit)
            self.abort("fin", "encryption mismatch")
        if tls_mode == "server-ends":
            self.log("server requires encryption, client does not support it")
            self.abort("fin", "encryption required")
        self.log("encryption: %s" % tls_mode)

        # ---- step 3: TLS handshake
        if tls_mode not in ("none", "strict"):
            self.tls_handshake()
            self.login_tls = True
            self.encrypt_all = tls_mode == "full"

    def login_and_session(self, data):
        """Steps 4 to 6: the Login7 (data), the login response, the commands."""
        a = self.args
        self.handle_login7(data)
        self.integrated_auth(data)  # --sspi: SSPI exchange (0xED / 0x11) first
        if self.fail and a.login_delay:
            self.log("delaying the login response by %.1f s" % a.login_delay)
            time.sleep(a.login_delay)
        if self.fail and a.login_no_answer:
            self.log("not answering the Login7 (--login-no-answer)")
            self.wait_for_peer_close(a.no_answer_limit)
            self.abort("fin", "--login-no-answer")

        # ---- step 5: login response
        self.send_message(PKT_RESPONSE, self.login_response(), via_tls=self.encrypt_all)
        if self.fail and a.login_error:
            self.log("login failed with error %d state %d" % (a.login_error, a.error_state))

        # ---- step 6: commands
        while True:
            typ, data = self.read_message(via_tls=self.encrypt_all)
            if typ == PKT_BATCH:
                self.batches += 1
                text = self.batch_text(data)
                self.log("SQL batch %d: %r" % (self.batches, text[:60]))
                if self.fail and a.rst_mid_session and self.batches >= a.rst_mid_session:
                    if a.rst_delay:
                        time.sleep(a.rst_delay)
                    self.abort("rst", "--rst-mid-session")
                if self.fail and a.fin_mid_session and self.batches >= a.fin_mid_session:
                    self.abort("fin", "--fin-mid-session")
                if slow_batch(self, text):  # --slow-batch: answered (or attention handled)
                    continue
                if self.fail and a.batch_delay:
                    time.sleep(a.batch_delay)
                self.send_message(PKT_RESPONSE, self.batch_response(text), via_tls=self.encrypt_all)
            elif typ == PKT_RPC:
                self.log("RPC request")
                t = self.tokens
                self.send_message(PKT_RESPONSE, t.int_result("", 1)
                                  + t.done(status=0x0010, curcmd=0xC1, rowcount=1, token=0xFF)
                                  + t.done(token=0xFE),
                                  via_tls=self.encrypt_all)
            elif typ == PKT_ATTENTION:
                self.log("attention")
                self.send_message(PKT_RESPONSE, self.tokens.done(status=0x0020),
                                  via_tls=self.encrypt_all)
            else:
                self.log("ignoring packet type 0x%02x" % typ)

    def serve(self):
        try:
            self.run()
        except Abort:
            pass
        except Closed as e:
            self.log("client closed: %s" % e)
            self.close("fin", "after the client")
        except Exception as e:  # keep the server up for the other connections
            self.log("error: %r" % e)
            self.close("fin", "server error")
        finally:
            if not self.closed:
                self.close("fin")
            self.server.done_one()


# --------------------------------------------------------------------------
# Routing (--redirect) and slow batches / attention (--slow-batch)
# --------------------------------------------------------------------------

def routing_envchange(conn):
    """ENVCHANGE type 20 (routing, MS-TDS 2.2.7.9) for the login response, or b"".

    NewValue: RoutingDataValueLength (USHORT), then RoutingData: Protocol
    (BYTE, 0 = TCP), ProtocolProperty (USHORT, the port), AlternateServer
    (US_VARCHAR: USHORT char count + UCS-2); OldValue: USHORT 0 (empty)."""
    if not conn.args.redirect:
        return b""
    host, _, port = conn.args.redirect.rpartition(":")
    data = b"\x00" + struct.pack("<H", int(port)) + us_varchar(host)
    conn.log("login response routes the client to %s:%s (ENVCHANGE 20)" % (host, port))
    return conn.tokens.envchange(20, struct.pack("<H", len(data)) + data, b"\x00\x00")


def slow_batch(conn, text):
    """--slow-batch S: a batch containing --slow-batch-match is answered after S s.

    An attention (packet type 0x06) read meanwhile ends the wait: after
    --attention-delay the server ends the interrupted batch's response with a
    DONE (its own message), then acknowledges the attention with a DONE whose
    status has DONE_ATTN (0x0020), as a second message (tedious reads the
    first as the cancelled request's response and waits for the second).
    --attention-no-ack: the attention is never answered; the server waits for
    the client to close.  Returns False for other batches."""
    a = conn.args
    if not a.slow_batch or a.slow_batch_match.lower() not in text.lower():
        return False
    via_tls = conn.encrypt_all
    start = time.time()
    end = start + a.slow_batch
    conn.log("slow batch: answer in %.1f s unless an attention comes" % a.slow_batch)
    while True:
        left = end - time.time()
        if left <= 0:
            conn.send_message(PKT_RESPONSE, conn.batch_response(text), via_tls=via_tls)
            conn.log("slow batch answered after %.3f s" % (time.time() - start))
            return True
        if not (conn.raw or conn.tls_plain):
            r, _, _ = select.select([conn.sock], [], [], left)
            if not r:
                continue
        typ, _ = conn.read_message(via_tls=via_tls)
        if typ == PKT_ATTENTION:
            break
        conn.log("slow batch: packet type 0x%02x ignored" % typ)
    conn.log("attention %.3f s after the batch" % (time.time() - start))
    if a.attention_no_ack:
        conn.log("attention not acknowledged (--attention-no-ack)")
        conn.wait_for_peer_close(a.idle_limit)
        conn.abort("fin", "--attention-no-ack")
    if a.attention_delay:
        time.sleep(a.attention_delay)
    t = conn.tokens
    # two segments back to back: without TCP_NODELAY the second would wait
    # (Nagle) for the client's delayed ACK of the first, about 40 ms
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.send_message(PKT_RESPONSE, t.done(), via_tls=via_tls)
    conn.send_message(PKT_RESPONSE, t.done(status=0x0020), via_tls=via_tls)
    conn.log("attention acknowledged %.3f s after it: DONE, then DONE with DONE_ATTN (0x0020)"
             % a.attention_delay)
    return True


# --------------------------------------------------------------------------
# Listener
# --------------------------------------------------------------------------

def parse_conn_set(spec):
    """'all', '2', '2-', '1,3', '2-4' -> predicate on the connection number."""
    if spec in (None, "", "all"):
        return lambda n: True
    parts = []
    for p in spec.split(","):
        if p.endswith("-"):
            lo = int(p[:-1])
            parts.append(lambda n, lo=lo: n >= lo)
        elif "-" in p:
            lo, hi = map(int, p.split("-"))
            parts.append(lambda n, lo=lo, hi=hi: lo <= n <= hi)
        else:
            v = int(p)
            parts.append(lambda n, v=v: n == v)
    return lambda n: any(f(n) for f in parts)


class Server:
    def __init__(self, args):
        self.args = args
        self.fail_applies = parse_conn_set(args.fail_conns)
        self.count = 0
        self.finished = 0
        self.lock = threading.Lock()
        self.all_done = threading.Event()
        workdir = tempfile.mkdtemp(prefix="tdslab-server-")
        try:
            self.ctx, self.ctx_strict = make_ssl_contexts(args, workdir)
        finally:  # the key is in memory now: keep nothing on disk
            shutil.rmtree(workdir, ignore_errors=True)

    def done_one(self):
        with self.lock:
            self.finished += 1
            if self.args.max_conns and self.finished >= self.args.max_conns:
                self.all_done.set()

    def browser(self):
        """SQL Server Browser (SSRP, MC-SQLR) on UDP 1434."""
        a = self.args
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((a.listen, 1434))
        text = ("ServerName;%s;InstanceName;%s;IsClustered;No;Version;%d.%d.%d.%d;tcp;%d;;"
                % ((SERVER_NAME, a.browser_instance) + SERVER_VERSION + (a.port,)))
        while True:
            data, peer = u.recvfrom(4096)
            if not data:
                continue
            asked = data[1:].split(b"\0")[0].decode("latin-1", "replace") if data[0] == 4 else ""
            log("SSRP request 0x%02x from %s:%d %s" % (data[0], peer[0], peer[1], asked))
            if data[0] == 4 and asked.upper() != a.browser_instance.upper():
                log("SSRP: no instance %r, no answer (like SQL Browser)" % asked)
                continue
            if data[0] not in (2, 3, 4):
                continue
            if a.browser_delay:
                time.sleep(a.browser_delay)
            body = text.encode("ascii")
            u.sendto(b"\x05" + struct.pack("<H", len(body)) + body, peer)

    def serve_forever(self):
        a = self.args
        if a.browser:
            threading.Thread(target=self.browser, daemon=True).start()
        lsock = socket.socket(socket.AF_INET6 if ":" in a.listen else socket.AF_INET,
                              socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((a.listen, a.port))
        lsock.listen(a.backlog)
        log("listening on %s:%d, encryption=%s%s, pid %d"
            % (a.listen, a.port, a.encryption,
               " (TDS 8.0 strict only)" if a.strict else
               " (TDS 8.0 strict or 7.x)" if a.accept_strict else "", os.getpid()))
        if a.ready_file:
            with open(a.ready_file, "w") as f:
                f.write("%d\n" % os.getpid())
        lsock.settimeout(0.2)
        while not self.all_done.is_set():
            try:
                sock, addr = lsock.accept()
            except socket.timeout:
                continue
            sock.settimeout(None)
            with self.lock:
                self.count += 1
                n = self.count
            conn = Connection(self, sock, addr, n)
            threading.Thread(target=conn.serve, daemon=True).start()
        log("served %d connection(s), exiting" % self.finished)
        lsock.close()


def main():
    p = argparse.ArgumentParser(
        description="Scripted TDS 7.x / 8.0 (--strict) server for the tdsdiag capture lab "
                    "(real TCP and OpenSSL, scripted TDS).")
    g = p.add_argument_group("basics")
    g.add_argument("--listen", default="0.0.0.0")
    g.add_argument("--port", type=int, default=1433)
    g.add_argument("--backlog", type=int, default=16)
    g.add_argument("--ready-file", help="written once the socket listens")
    g.add_argument("--max-conns", type=int, default=0,
                   help="exit after serving this many connections (0: run until killed)")
    g.add_argument("--encryption", choices=list(ENC), default="off",
                   help="server's encryption setting: off (TLS available: login-only when the "
                        "client sends off, full when it sends on), on / req (forced: full TLS), "
                        "not_sup (no certificate: no TLS); default off")
    g.add_argument("--encryption-reply", choices=["negotiate", "literal"], default="negotiate",
                   help="negotiate (default): answer the client's ENCRYPTION like SQL Server with "
                        "the --encryption setting; literal: send the --encryption value whatever "
                        "the client sent")
    g.add_argument("--idle-limit", type=float, default=30.0,
                   help="how long to wait for a client expected to close")
    g.add_argument("--fail-conns", default="all",
                   help="connections (1-based, in accept order) the failure flags apply to: "
                        "all, 2, 2-, 1,3, 2-4")

    g.add_argument("--browser", action="store_true",
                   help="also answer SQL Browser (SSRP) requests on UDP 1434")
    g.add_argument("--browser-instance", default="SQLEXPRESS",
                   help="the one instance the SQL Browser knows (requests for others get no answer)")
    g.add_argument("--browser-delay", type=float, default=0.0, help="seconds before each SSRP answer")

    g = p.add_argument_group("TLS and certificate")
    g.add_argument("--tls-min", choices=list(TLS_VERSIONS), default="1.0")
    g.add_argument("--tls-max", choices=list(TLS_VERSIONS), default=None,
                   help="default 1.2 for TDS 7.x (its clients hang on TLS 1.3, and SQL Server "
                        "offers TLS 1.3 to TDS 8.0 only), 1.3 for TDS 8.0 (strict)")
    g.add_argument("--strict", action="store_true",
                   help="TDS 8.0 strict encryption only (like SQL Server 2022's Force Strict "
                        "Encryption): TLS handshake (ALPN tds/8.0, TLS 1.3 allowed) right after "
                        "the TCP handshake, bare records; PRELOGIN, Login7 and everything after "
                        "inside TLS. A TDS 7.x client (first byte not 0x16) gets FIN")
    g.add_argument("--accept-strict", action="store_true",
                   help="serve TDS 8.0 (strict) and TDS 7.x clients on the same port, told apart "
                        "by their first byte (0x16 TLS handshake / 0x12 PRELOGIN), like SQL "
                        "Server 2022 without Force Strict Encryption")
    g.add_argument("--keylog", metavar="FILE",
                   help="append the TLS secrets to FILE (NSS key log format, written by the "
                        "server's OpenSSL through Python ssl keylog_filename)")
    g.add_argument("--ciphers", help="OpenSSL cipher string for TLS <= 1.2, e.g. 'DHE-RSA-AES256-GCM-SHA384'")
    g.add_argument("--tls13-ciphers", help="OpenSSL TLS 1.3 cipher suites")
    g.add_argument("--no-tickets", action="store_true", help="send no NewSessionTicket")
    g.add_argument("--cert-hash", choices=["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
                   default="sha256", help="signature hash of the server certificate")
    g.add_argument("--cert-signer", choices=["ca", "self"], default="self",
                   help="self-signed certificate (SQL Server's default) or signed by the lab CA")
    g.add_argument("--self-signed", dest="cert_signer", action="store_const", const="self")
    g.add_argument("--ca-signed", dest="cert_signer", action="store_const", const="ca")
    g.add_argument("--cert-expired", action="store_true", help="certificate expired 30 days ago")
    g.add_argument("--cert-key-bits", type=int, choices=[1024, 2048, 3072], default=2048,
                   help="RSA key size of the server certificate (the lab CA keeps 2048)")
    g.add_argument("--dh-bits", type=int, choices=[1024, 2048], default=2048,
                   help="DHE group: 2048 RFC 7919 ffdhe2048 (default), 1024 the RFC 5114 1024-bit group")
    g.add_argument("--cert-cn", default="labsql.tdsdiag.test")
    g.add_argument("--cert-ip", action="append", default=[], help="IP SAN (repeatable)")
    g.add_argument("--ca-out", help="write the lab CA certificate here (for the clients' trust)")
    g.add_argument("--cert-out", help="write the server certificate here")

    g = p.add_argument_group("failure injection (only on --fail-conns connections)")
    g.add_argument("--prelogin", choices=["answer", "no-answer", "fin", "rst"], default="answer",
                   help="no-answer: never reply to the PRELOGIN; fin/rst: close instead of replying")
    g.add_argument("--prelogin-delay", type=float, default=0.0)
    g.add_argument("--no-answer-limit", type=float, default=60.0,
                   help="with --prelogin no-answer / --login-no-answer: give up after this long")
    g.add_argument("--close-after-clienthello", choices=["fin", "rst"],
                   help="close right after reading the ClientHello, without answering")
    g.add_argument("--hello-delay", type=float, default=0.0,
                   help="wait this long before answering the ClientHello")
    g.add_argument("--close-after-client-finished", choices=["fin", "rst"],
                   help="close after the client's ClientKeyExchange/ChangeCipherSpec/Finished, "
                        "without the server's Finished")
    g.add_argument("--on-handshake-error", choices=["alert", "fin", "rst"], default="alert",
                   help="when OpenSSL fails the handshake (no common version or cipher): send its "
                        "alert (default), or close with FIN/RST and no alert, like Schannel")
    g.add_argument("--alert", choices=sorted(ALERTS),
                   help="answer the ClientHello with this fatal alert (record written by this "
                        "script, not by OpenSSL) and close")
    g.add_argument("--login-delay", type=float, default=0.0, help="seconds before the login response")
    g.add_argument("--login-no-answer", action="store_true", help="never answer the Login7")
    g.add_argument("--non-prelogin-answer", choices=["fin", "prelogin-reply"], default="fin",
                   help="a first packet that is neither a PRELOGIN nor (with --strict/--accept-strict) a TLS "
                        "ClientHello, e.g. a TDS 8.0 (strict) client's ClientHello sent to a server without "
                        "TDS 8.0: fin (default) closes; prelogin-reply answers it with a TDS PRELOGIN "
                        "response, then waits for the client to close")
    g.add_argument("--login7-first", action="store_true",
                   help="accept a Login7 as the client's first packet, without PRELOGIN (a TDS 7.0 "
                        "client, e.g. FreeTDS with tds version = 7.0): no TLS, login in clear; "
                        "without it such a client gets FIN")
    g.add_argument("--login-error", type=int, default=0, help="answer Login7 with this ERROR number, e.g. 18456")
    g.add_argument("--server-version", metavar="MAJOR.MINOR.BUILD[.SUB]",
                   help="VERSION of the prelogin answer and the LOGINACK (default 16.0.1000.6, SQL Server "
                        "2022 RTM), e.g. 11.0.5058 to play SQL Server 2012 SP2")
    g.add_argument("--error-state", type=int, default=1)
    g.add_argument("--error-class", type=int, default=14,
                   help="class (severity) of the --login-error ERROR token: 14 for 18456, 11 for 4060, "
                        "17 for 40613 as SQL Server sends them")
    g.add_argument("--login-error-message")
    g.add_argument("--rst-mid-session", type=int, default=0, metavar="N",
                   help="reset the connection on the Nth SQL batch instead of answering")
    g.add_argument("--rst-delay", type=float, default=0.0)
    g.add_argument("--fin-mid-session", type=int, default=0, metavar="N",
                   help="close with FIN on the Nth SQL batch instead of answering")
    g.add_argument("--batch-delay", type=float, default=0.0, help="seconds before each batch response")

    g = p.add_argument_group("routing and attention (every connection)")
    g.add_argument("--redirect", metavar="HOST:PORT",
                   help="the login response (after LOGINACK, before DONE) carries an ENVCHANGE "
                        "type 20 (routing) to HOST:PORT")
    g.add_argument("--slow-batch", type=float, default=0.0, metavar="S",
                   help="answer batches containing --slow-batch-match only after S seconds; an "
                        "attention meanwhile is acknowledged (DONE, then DONE with DONE_ATTN)")
    g.add_argument("--result-rows", type=int, default=0, metavar="N",
                   help="a select other than 'select <number>' is answered with N rows of one INT "
                        "column (a large result, e.g. for a client that reads it slowly)")
    g.add_argument("--slow-batch-match", default="waitfor",
                   help="text (case-insensitive) that makes a batch slow (default: waitfor)")
    g.add_argument("--attention-delay", type=float, default=0.0, metavar="S",
                   help="seconds between the attention and its acknowledgement")
    g.add_argument("--attention-no-ack", action="store_true",
                   help="never acknowledge an attention to a slow batch; wait for the client to close")

    g = p.add_argument_group("MARS")
    g.add_argument("--mars", action="store_true",
                   help="accept MARS: answer a PRELOGIN MARS 1 with 1, then speak SMP (MC-SMP): "
                        "SYN opens a session, DATA carries TDS packets (answers on the same SID), "
                        "ACK updates windows, FIN is answered with FIN")

    g = p.add_argument_group("integrated (Windows) authentication")
    g.add_argument("--sspi", choices=["ntlm", "gssapi"],
                   help="answer a Login7 with integrated security (SSPI): ntlm: a scripted NTLMSSP "
                        "CHALLENGE in an SSPI token (0xED), the client's AUTHENTICATE (packet "
                        "0x11) is read, not verified (outcome from --login-error); gssapi: "
                        "python3-gssapi acceptor (Kerberos 5, SPNEGO, NTLM with gss-ntlmssp), "
                        "verified with --keytab / --ntlm-user-file, failure: ERROR 18452")
    g.add_argument("--ntlm-domain", default="LAB", help="NetBIOS domain of the NTLM CHALLENGE")
    g.add_argument("--ntlm-dns-domain", default="lab.test", help="DNS domain of the NTLM CHALLENGE")
    g.add_argument("--keytab", help="--sspi gssapi: the service keytab (KRB5_KTNAME)")
    g.add_argument("--krb5-config", help="--sspi gssapi: krb5.conf to use (KRB5_CONFIG)")
    g.add_argument("--ntlm-user-file", help="--sspi gssapi: gss-ntlmssp's user file "
                   "(NTLM_USER_FILE, lines DOMAIN:user:password)")
    args = p.parse_args()
    if args.server_version:
        global SERVER_VERSION
        parts = [int(x) for x in args.server_version.split(".")]
        if not 3 <= len(parts) <= 4 or parts[0] > 255 or parts[1] > 255 or max(parts[2:]) > 65535:
            p.error("--server-version: MAJOR.MINOR.BUILD[.SUB], e.g. 11.0.5058")
        SERVER_VERSION = tuple(parts + [0] * (4 - len(parts)))
    if not args.cert_ip and args.listen not in ("0.0.0.0", "::"):
        args.cert_ip = [args.listen]

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    Server(args).serve_forever()


if __name__ == "__main__":
    main()

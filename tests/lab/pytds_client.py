#!/usr/bin/python3
"""pytds client for the tdsdiag capture lab (Debian python3-tds + python3-openssl).

Usage: /usr/bin/python3 pytds_client.py [--server H] [--port P] [--cafile F]
       [--login-only] [--query SQL [--param N]...] [--close end|reset]
       [--login-timeout S]
       [--instance NAME]   (server 'H\\NAME': pytds asks the SQL Browser, UDP 1434,
                            for the port; --port is then ignored)
"""
import argparse
import socket
import struct
import sys
import time

import pytds

p = argparse.ArgumentParser()
p.add_argument("--server", default="10.10.10.120")
p.add_argument("--port", type=int, default=1433)
p.add_argument("--user", default="sa")
p.add_argument("--password", default="Lab-Passw0rd")
p.add_argument("--cafile", help="enables TLS (pytds needs a CA file for TLS)")
p.add_argument("--login-only", action="store_true", help="encrypt the login only")
p.add_argument("--no-validate-host", action="store_true")
p.add_argument("--query", default="select 1")
p.add_argument("--param", type=int, action="append", default=[],
               help="an integer parameter of --query (repeatable; write %%s for it): pytds then "
                    "sends the query as an RPC request, sp_executesql, not as an SQL batch")
p.add_argument("--close", choices=["end", "reset"], default="end",
               help="reset: SO_LINGER 0 on the socket before closing, so the kernel sends RST")
p.add_argument("--login-timeout", type=float, default=10)
p.add_argument("--instance", help="named instance: pytds resolves it through the SQL Browser (SSRP 0x03)")
p.add_argument("--repeat", type=int, default=1,
               help="connect, query and close this many times, one after the other, as fast as they go "
                    "(stops at the first connection that fails)")
p.add_argument("--read-delay", type=float, default=0,
               help="seconds between the query's first result (pytds reads up to the column metadata) and "
                    "reading its rows: a large result then fills the client's receive window")
p.add_argument("--interval", type=float, default=0, help="with --repeat: seconds between one connection's close and the next")
a = p.parse_args()


def logging_verify_cb(conn, cert, err_num, err_depth, ret_code):
    """pytds' own verify callback (accept what OpenSSL accepted), which also
    prints why OpenSSL refused a certificate (pytds only says 'certificate
    verify failed')."""
    if ret_code != 1:
        try:
            from OpenSSL._util import ffi, lib
            why = ffi.string(lib.X509_verify_cert_error_string(err_num)).decode()
        except Exception:
            why = "?"
        print("pytds: OpenSSL certificate verify error %d at depth %d: %s (%s)"
              % (err_num, err_depth, why, cert.get_subject().CN))
    return ret_code == 1


if hasattr(pytds, "tls") and hasattr(pytds.tls, "verify_cb"):
    pytds.tls.verify_cb = logging_verify_cb

def one(n):
    """One connection: connect, the query, close. False if the connection failed."""
    try:
        conn = pytds.connect(server=a.server + ("\\" + a.instance if a.instance else ""),
                             port=None if a.instance else a.port, user=a.user, password=a.password,
                             cafile=a.cafile, validate_host=not a.no_validate_host,
                             enc_login_only=a.login_only, login_timeout=a.login_timeout,
                             disable_connect_retry=True, autocommit=True)
    except Exception as e:
        print("pytds: connect%s failed: %s: %s" % (" %d" % n if a.repeat > 1 else "", type(e).__name__, e))
        return False
    if a.repeat == 1:
        print("pytds: connected")
    if a.query:
        with conn.cursor() as cur:
            cur.execute(a.query, tuple(a.param))
            if a.read_delay:
                time.sleep(a.read_delay)
            rows = cur.fetchall()
            if a.repeat == 1:
                print("pytds: rows %r" % (rows,) if len(rows) <= 10 else "pytds: %d rows" % len(rows))
    if a.close == "reset":
        import gc  # find the TCP socket under pytds' transport objects
        for s in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:
            try:
                if s.fileno() >= 0 and s.getpeername()[1] == a.port:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        print("pytds: closing with SO_LINGER 0 (RST)")
    conn.close()
    return True


t0 = time.monotonic()
done = 0
for n in range(1, a.repeat + 1):
    if n > 1 and a.interval:
        time.sleep(a.interval)
    if not one(n):
        break
    done += 1
if a.repeat > 1:
    print("pytds: %d of %d connections in %.2f s" % (done, a.repeat, time.monotonic() - t0))
if done == 0:
    sys.exit(2)

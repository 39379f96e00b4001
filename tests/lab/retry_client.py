#!/usr/bin/python3
"""Connect retry client for the tdsdiag capture lab (syn-refused-retried).

Mimics the connection retry of Windows TCP clients (SqlClient / ODBC on
Windows retry a refused connect on the same source port): bind one local port
(the kernel's choice for the first attempt, or --source-port), connect, and on
ECONNREFUSED sleep --interval seconds and connect again from the same port,
--attempts attempts in all.  Each SYN and each RST is the kernel's TCP; this
script only decides when to call connect().  It sends no TDS: a connection
that is accepted is closed at once (FIN).

Usage: retry_client.py --server IP --port N [--attempts 3] [--interval 0.5]
                       [--source-port P]
"""
import argparse
import errno
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=1433)
    p.add_argument("--attempts", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--source-port", type=int, default=0,
                   help="local port (default: the kernel's choice on the first attempt, kept after)")
    a = p.parse_args()

    fam = socket.AF_INET6 if ":" in a.server else socket.AF_INET
    sport = a.source_port
    t0 = time.monotonic()
    for n in range(1, a.attempts + 1):
        s = socket.socket(fam, socket.SOCK_STREAM)
        # SO_REUSEADDR: bind the same local port again right after the refusal
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", sport))
        sport = s.getsockname()[1]
        try:
            s.connect((a.server, a.port))
        except OSError as e:
            s.close()
            print("retry_client: attempt %d from port %d at %.3f s: %s"
                  % (n, sport, time.monotonic() - t0, errno.errorcode.get(e.errno, e.errno)))
            if e.errno != errno.ECONNREFUSED:
                return 3
            if n < a.attempts:
                time.sleep(a.interval)
            continue
        print("retry_client: attempt %d from port %d connected; closing" % (n, sport))
        s.close()
        return 0
    print("retry_client: gave up after %d attempts" % a.attempts)
    return 2


if __name__ == "__main__":
    sys.exit(main())

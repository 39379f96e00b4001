#!/usr/bin/env python3
"""Microsoft ODBC Driver 18 client for the tdsdiag capture lab, through mssql-python.

Runs with the venv the lab makes (tests/lab/drivers-deps: CPython 3.11 `python3`
on PATH, `pip install mssql-python`), NOT with Debian's /usr/bin/python3.
mssql-python's companion wheel mssql-python-odbc carries Microsoft's ODBC Driver
18 for SQL Server (libmsodbcsql-18) for Linux; MSSQL_PYTHON_NATIVE_PROVIDER is
set to msodbcsql18 so that its other (Rust) provider is never picked.

Usage: python mssql_python_client.py --report FILE [--server H] [--port P]
       [--set KEY=VALUE]... [--login-timeout S] [--query SQL]

--set adds a keyword to the connection string (Encrypt=..., TrustServerCertificate=...,
HostNameInCertificate=..., ServerCertificate=...): what is not set is the driver's
default. --report writes the lines `driver:`, `connection:` and `error:` of the
capture's provenance (the driver's own message verbatim, several joined by " | ").
"""
import argparse
import os
import re
import sys
import threading
from importlib import metadata

os.environ.setdefault("MSSQL_PYTHON_NATIVE_PROVIDER", "msodbcsql18")

import mssql_python  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--server", default="10.10.10.120")
p.add_argument("--port", type=int, default=1433)
p.add_argument("--user", default="sa")
p.add_argument("--password", default="Lab-Passw0rd")
p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
p.add_argument("--login-timeout", type=int, default=0, help="SQL_ATTR_LOGIN_TIMEOUT (0: the driver's default)")
p.add_argument("--query", default="select 1")
p.add_argument("--report", required=True)
a = p.parse_args()


def driver_version():
    """From the driver library's file name (libmsodbcsql-18.6.so.2.1: 18.6.2.1), the same for
    every capture, connected or not (SQL_DRIVER_VER, 18.06.0002, needs a connection)."""
    import glob
    import mssql_python_odbc
    odbc = metadata.version("mssql-python-odbc")
    py = metadata.version("mssql-python")
    libs = sorted(glob.glob(os.path.join(os.path.dirname(mssql_python_odbc.__file__),
                                         "libs", "linux", "debian_ubuntu", "*", "lib", "libmsodbcsql-*.so.*")))
    lib = os.path.basename(libs[0]) if libs else "?"
    m = re.match(r"libmsodbcsql-(\d+)\.(\d+)\.so\.(\d+)\.(\d+)$", lib)
    ver = ".".join(m.groups()) if m else "?"
    return "Microsoft ODBC Driver 18 for SQL Server %s (%s from the wheel mssql-python-odbc %s) via mssql-python %s" % (
        ver, lib, odbc, py)


def one_line(text):
    return " | ".join(x.strip() for x in str(text).splitlines() if x.strip())


parts = ["Server=%s,%d" % (a.server, a.port), "UID=%s" % a.user, "PWD=%s" % a.password] + a.set
cs = ";".join(parts)
shown = cs.replace("PWD=%s" % a.password, "PWD=***")
if a.login_timeout:
    shown += " (mssql_python.connect timeout=%d: SQL_ATTR_LOGIN_TIMEOUT)" % a.login_timeout
print("mssql-python: %s" % shown, flush=True)
error = None
try:
    conn = mssql_python.connect(cs, autocommit=True, timeout=a.login_timeout)
    cur = conn.cursor()
    cur.execute(a.query)
    print("mssql-python: connected, %s -> %r" % (a.query, cur.fetchall()), flush=True)
    # mssql-python 1.16 with this driver hung (no packet, 40 s) in close() in the lab:
    # close in a thread and leave after 2 s; the process exit then closes the socket (FIN)
    closer = threading.Thread(target=lambda: (cur.close(), conn.close()), daemon=True)
    closer.start()
    closer.join(2)
    print("mssql-python: %s" % ("closed" if not closer.is_alive() else
                                "close() still running after 2 s: leaving, the exit closes the socket"), flush=True)
except Exception as e:  # the driver's message as the application sees it
    error = "%s: %s" % (type(e).__name__, one_line(e))
    print("mssql-python: %s" % error, flush=True)

with open(a.report, "a") as f:
    f.write("driver: %s\n" % driver_version())
    f.write("connection: %s\n" % shown)
    f.write("error: %s\n" % (error if error else "(none, connected)"))
sys.stdout.flush()
# no interpreter clean-up (it waits for a hung close(), see above)
os._exit(2 if error else 0)

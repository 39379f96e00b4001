#!/usr/bin/python3
"""pyodbc + FreeTDS ODBC client for the tdsdiag capture lab (MARS).

Debian python3-pyodbc, unixodbc and tdsodbc (the FreeTDS ODBC driver, the
only FreeTDS front end that asks for MARS: MARS_Connection=Yes). DSN-less:
the connection string names the driver library itself, no odbc.ini needed.

Usage: /usr/bin/python3 odbc_client.py [--server H] [--port P]
       [--encryption off|request|require] [--tds-version 7.4] [--no-mars]
       [--queries 'select 1' 'select 2'] [--sequential]

By default the statements run on separate cursors that overlap: every
cursor's execute comes before any fetch, so with MARS each open result set
holds its own SMP session (FreeTDS opens a session per busy statement).
"""
import argparse
import sys

import pyodbc

DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so"

p = argparse.ArgumentParser()
p.add_argument("--server", default="10.10.10.120")
p.add_argument("--port", type=int, default=1433)
p.add_argument("--user", default="sa")
p.add_argument("--password", default="Lab-Passw0rd")
p.add_argument("--driver", default=DRIVER)
p.add_argument("--tds-version", default="7.4")
p.add_argument("--encryption", choices=["off", "request", "require"], default="off",
               help="FreeTDS 'encryption' (prelogin ENCRYPTION 2, 0, 1)")
p.add_argument("--no-mars", action="store_true", help="MARS_Connection=No")
p.add_argument("--queries", nargs="+", default=["select 1", "select 2"])
p.add_argument("--sequential", action="store_true",
               help="fetch each cursor before executing the next (no overlap)")
p.add_argument("--after", nargs="*", default=[],
               help="statements run on a new cursor after the others are fetched and closed")
p.add_argument("--close-busy", action="store_true",
               help="close the connection right after the executes, results unfetched")
p.add_argument("--login-timeout", type=int, default=10)
a = p.parse_args()

cs = ";".join([
    "DRIVER={%s}" % a.driver,
    "SERVER=%s" % a.server,
    "PORT=%d" % a.port,
    "UID=%s" % a.user,
    "PWD=%s" % a.password,
    "TDS_Version=%s" % a.tds_version,
    "Encryption=%s" % a.encryption,
    "MARS_Connection=%s" % ("No" if a.no_mars else "Yes"),
    "ClientCharset=UTF-8",
])
print("odbc: %s" % cs.replace("PWD=%s" % a.password, "PWD=***"))
try:
    conn = pyodbc.connect(cs, autocommit=True, timeout=a.login_timeout)
except pyodbc.Error as e:
    print("odbc: connect failed: %s" % (e,))
    sys.exit(2)
print("odbc: connected (%s %s)" % (conn.getinfo(pyodbc.SQL_DRIVER_NAME),
                                  conn.getinfo(pyodbc.SQL_DRIVER_VER)))
curs = []
try:
    for q in a.queries:
        c = conn.cursor()
        c.execute(q)
        print("odbc: executed %r on cursor %d" % (q, len(curs) + 1))
        if a.sequential:
            print("odbc: cursor %d rows %r" % (len(curs) + 1, [tuple(r) for r in c.fetchall()]))
        curs.append(c)
    if a.close_busy:
        conn.close()
        print("odbc: closed with results pending")
        sys.exit(0)
    if not a.sequential:
        for i, c in enumerate(curs, 1):
            print("odbc: cursor %d rows %r" % (i, [tuple(r) for r in c.fetchall()]))
except pyodbc.Error as e:
    print("odbc: query failed: %s" % (e,))
    conn.close()
    sys.exit(3)
for c in curs:
    c.close()
print("odbc: cursors closed")
try:
    for q in a.after:
        c = conn.cursor()
        c.execute(q)
        print("odbc: after: %r rows %r" % (q, [tuple(r) for r in c.fetchall()]))
        c.close()
except pyodbc.Error as e:
    print("odbc: query failed: %s" % (e,))
    conn.close()
    sys.exit(3)
conn.close()
print("odbc: closed")

#!/usr/bin/python3
"""pytds with GSS-API integrated authentication, for the tdsdiag capture lab.

pytds (Debian python3-tds) takes an `auth` object whose create_packet() gives
the Login7's SSPI blob and whose handle_next(token) answers each SSPI token
(0xED) of the server with the client's next blob (sent as a type 0x11 packet).
Here both come from the system's GSS-API: python3-gssapi on MIT krb5, whose
SPNEGO offers Kerberos 5 (from the ticket cache) and, with Debian gss-ntlmssp
installed, NTLMSSP (credentials from NTLM_USER_FILE, lines DOMAIN:user:password,
for the local user or $NTLMUSER).  No token is written by this script.

Usage: /usr/bin/python3 gssapi_client.py --target MSSQLSvc@sql.lab.test
       [--server H] [--port P] [--mech spnego|krb5|ntlmssp] [--cafile F --login-only]
       [--query SQL] [--user alice@LAB.TEST --password-env VAR]

With --user, the client gets its Kerberos credentials itself when pytds asks
for the Login7's SSPI blob, i.e. during the connection (after the prelogin):
an AS-REQ for the user with the password in $VAR (MIT's
gss_acquire_cred_with_password), not the ticket cache.
"""
import argparse
import sys

import gssapi
import pytds
from pytds import tds as pytds_tds

# pytds 1.11 sends its answer to the server's SSPI token (0xED) with the
# Login7's packet type (0x10); MS-TDS wants type 0x11 (SSPI), which FreeTDS and
# tedious send: switch the writer to 0x11 first (pytds' one fix made here).
_process_auth = pytds_tds._TdsSession.process_auth


def process_auth_sspi_packet(self):
    self._writer.begin_packet(pytds_tds.tds_base.PacketType.AUTH)
    return _process_auth(self)


pytds_tds._TdsSession.process_auth = process_auth_sspi_packet
pytds_tds._token_map[pytds_tds.tds_base.TDS_AUTH_TOKEN] = process_auth_sspi_packet

MECHS = {
    "spnego": "1.3.6.1.5.5.2",
    "krb5": "1.2.840.113554.1.2.2",
    "ntlmssp": "1.3.6.1.4.1.311.2.2.10",
}

p = argparse.ArgumentParser()
p.add_argument("--server", default="10.10.10.120")
p.add_argument("--port", type=int, default=1433)
p.add_argument("--target", required=True,
               help="service name, host-based (SERVICE@HOST, e.g. MSSQLSvc@sql.lab.test: "
                    "Kerberos principal MSSQLSvc/sql.lab.test; gss-ntlmssp imports only this form) "
                    "or, with --principal, a Kerberos principal (MSSQLSvc/sql.lab.test:1433)")
p.add_argument("--principal", action="store_true", help="--target is a Kerberos principal name")
p.add_argument("--mech", choices=sorted(MECHS), default="spnego")
p.add_argument("--no-mutual", action="store_true", help="do not ask for mutual authentication")
p.add_argument("--cafile", help="enables TLS (pytds needs a CA file for TLS)")
p.add_argument("--login-only", action="store_true", help="encrypt the login only")
p.add_argument("--no-validate-host", action="store_true")
p.add_argument("--query", default="select 1")
p.add_argument("--login-timeout", type=float, default=10)
p.add_argument("--user", help="Kerberos principal to get a TGT for with a password (AS-REQ) at login time")
p.add_argument("--password-env", default="GSSAPI_PASSWORD", help="environment variable holding --user's password")
a = p.parse_args()


class GssAuth(object):
    """pytds auth object on python3-gssapi (initiator)."""

    def __init__(self):
        self.ctx = None if a.user else self.context(None)

    def context(self, creds):
        name = gssapi.Name(a.target, gssapi.NameType.kerberos_principal if a.principal
                           else gssapi.NameType.hostbased_service)
        flags = gssapi.RequirementFlag.replay_detection | gssapi.RequirementFlag.out_of_sequence_detection
        if not a.no_mutual:
            flags |= gssapi.RequirementFlag.mutual_authentication
        return gssapi.SecurityContext(name=name, mech=gssapi.OID.from_int_seq(MECHS[a.mech]),
                                      flags=flags, creds=creds, usage="initiate")

    def create_packet(self):
        if self.ctx is None:
            import os
            user = gssapi.Name(a.user, gssapi.NameType.kerberos_principal)
            print("gssapi: acquiring credentials for %s with a password" % a.user)
            creds = gssapi.raw.acquire_cred_with_password(user, os.environ.get(a.password_env, "").encode(),
                                                          usage="initiate").creds
            self.ctx = self.context(creds)
        tok = self.ctx.step()
        print("gssapi: first token %d bytes (%s)" % (len(tok), a.mech))
        return tok

    def handle_next(self, packet):
        tok = self.ctx.step(packet)
        print("gssapi: server token %d bytes -> %s, context %s"
              % (len(packet), "%d bytes" % len(tok) if tok else "nothing to send",
                 "complete" if self.ctx.complete else "continues"))
        return tok or b""

    def close(self):
        pass


try:
    auth = GssAuth()
    conn = pytds.connect(server=a.server, port=a.port, auth=auth,
                         cafile=a.cafile, validate_host=not a.no_validate_host,
                         enc_login_only=a.login_only, login_timeout=a.login_timeout,
                         disable_connect_retry=True, autocommit=True)
except Exception as e:
    print("gssapi client: connect failed: %s: %s" % (type(e).__name__, e))
    sys.exit(2)
try:
    mech = auth.ctx.mech.dotted_form
except Exception:
    mech = "?"
print("gssapi client: connected (mech %s)" % mech)
if a.query:
    with conn.cursor() as cur:
        cur.execute(a.query)
        print("gssapi client: rows %r" % (cur.fetchall(),))
conn.close()

#include "tdsdiag/diagnosis.hpp"

namespace tdsdiag {

namespace {
using S = Severity;
// Indexed by Code.
const CodeInfo kCodes[kCodeCount] = {
    {"no_common_tls_version", 1, S::Error, "Client and server share no TLS version", "Update the client driver or SQL Server to TLS 1.2 support, or temporarily enable TLS 1.0/1.1 on both sides."},
    {"no_common_cipher", 2, S::Error, "Client and server share no TLS cipher suite", "Compare the client's offered cipher suites with the server's cipher suite policy and enable a common one."},
    {"dhe_cipher", 3, S::Warn, "A TLS_DHE cipher suite was negotiated", "Remove TLS_DHE_* suites from the cipher suite order policy."},
    {"weak_cert_hash", 4, S::Warn, "The server certificate is signed with a hash TLS 1.2 logins cannot use", "Replace the certificate with a SHA-256 one, or untick Server Authentication on it."},
    {"dhe_handshake_failure", 5, S::Error, "The server dropped a TLS_DHE handshake after the client's key exchange", "Install the DHE leading-zero fixes (KB4557473 family) on both machines, or remove TLS_DHE_* suites."},
    {"syn_rejected", 6, S::Error, "The SYN was answered by a reset", "Make SQL Server listen on that address and port, or fix the client's port."},
    {"syn_unanswered", 6, S::Error, "The SYN got no answer", "Check the address, port and firewalls; under load, upgrade to SQL Server 2019+."},
    {"slow_accept", 6, S::Warn, "The server was slow to accept the TCP connection", "Look at the server's load; SQL Server 2019+ has a dedicated login pool."},
    {"login_timeout", 6, S::Error, "The client gave up waiting for the server", "Look for worker shortage or authentication delays on the server at that time."},
    {"slow_login", 0, S::Warn, "The login response was slow", "Look at domain controller latency and worker starvation on the server."},
    {"tls_alert", 0, S::Warn, "A TLS alert was sent", "Read the alert named in the text."},
    {"certificate_rejected", 0, S::Error, "The client rejected the server certificate", "Trust the issuing CA on the client or use a CA-signed certificate; TrustServerCertificate only as a stop-gap."},
    {"tls_handshake_incomplete", 0, S::Error, "The TLS handshake did not complete", ""},
    {"old_tls_version", 0, S::Warn, "TLS 1.0 or 1.1 was negotiated", "Move client and server to TLS 1.2 or later."},
    {"encryption_not_supported", 0, S::Error, "One side requires encryption the other does not support", "Enable encryption on the side that lacks it."},
    {"cleartext_login", 0, S::Warn, "The login travelled without TLS", "Enable encryption."},
    {"login_failed", 0, S::Error, "The login failed", "Read the error number and state in the text."},
    {"redirected", 0, S::Note, "The server redirected the client to another server", ""},
    {"attention", 0, S::Note, "The client sent an attention (query cancel or timeout)", ""},
    {"server_first_fin", 0, S::Warn, "The server closed the connection first", "Read it together with the step at which it happened."},
    {"server_reset", 0, S::Error, "The server reset the connection", ""},
    {"client_reset", 0, S::Note, "The client reset the connection instead of closing it", ""},
    {"capture_started_midstream", 0, S::Note, "The capture holds no TCP handshake for this connection", ""},
    {"browser_unanswered", 0, S::Error, "The SQL Browser request got no answer", "Start the SQL Browser service or open UDP 1434, or connect with an explicit port."},
    {"browser_instance_missing", 0, S::Error, "The SQL Browser does not know the instance", "Check the instance name."},
    {"browser_slow", 0, S::Warn, "The SQL Browser answered slowly", ""},
    {"anonymous_logon", 0, S::Error, "The NTLM logon is anonymous", "Register the SPN and configure delegation, or avoid the double hop."},
    {"ntlm_fallback", 0, S::Warn, "The login fell back from Kerberos to NTLM", "Check the SQL Server SPN."},
};
}  // namespace

const CodeInfo& code_info(Code c) { return kCodes[static_cast<size_t>(c) % kCodeCount]; }

const char* tls_alert_name(uint8_t d) {
    switch (d) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 21: return "decryption_failed";
    case 22: return "record_overflow";
    case 30: return "decompression_failure";
    case 40: return "handshake_failure";
    case 41: return "no_certificate";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 60: return "export_restriction";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return "unknown alert";
    }
}

const char* login_failed_state_meaning(uint8_t state) {
    switch (state) {
    case 1: return "the server hides the reason from the client; the SQL Server error log has the real state";
    case 2:
    case 5: return "the login name does not exist on the server (check the user name, or create the login)";
    case 6: return "a Windows login name was used with SQL Server authentication";
    case 7: return "the login is disabled and the password is wrong";
    case 8: return "the password is wrong";
    case 9: return "the password is not valid";
    case 11:
    case 12: return "the login is valid but has no access to the server (grant CONNECT SQL, or check Windows group membership)";
    case 13: return "the SQL Server service is paused";
    case 18: return "the password must be changed before logging in";
    case 38:
    case 46: return "the database the login asked for (or its default database) could not be opened";
    case 58: return "SQL Server authentication was used but the server accepts Windows authentication only";
    case 102:
    case 103:
    case 104:
    case 105:
    case 106:
    case 107:
    case 108:
    case 109:
    case 110:
    case 111: return "Microsoft Entra (Azure AD) authentication failed";
    case 132:
    case 133: return "Microsoft Entra (Azure AD) authentication failed";
    default: return "";
    }
}

const char* login_error_meaning(uint32_t number) {
    switch (number) {
    case 18452:
        return "the server does not trust the Windows login's domain (an untrusted domain, a local account of another "
               "machine, or no domain controller reachable)";
    case 18456: return "the login failed";
    case 18470: return "the login is disabled";
    case 18486: return "the login is locked out";
    case 18487: return "the password of the login has expired";
    case 18488: return "the password of the login must be changed";
    case 4060: return "the database requested by the login cannot be opened";
    case 4064: return "the default database of the login cannot be opened";
    case 40615: return "the Azure SQL firewall does not allow the client's address";
    case 40532: return "the Azure SQL server cannot be opened as requested by the login";
    default: return "";
    }
}

}  // namespace tdsdiag

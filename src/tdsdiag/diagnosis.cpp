#include "tdsdiag/diagnosis.hpp"

namespace tdsdiag {

namespace {
using S = Severity;
using G = ExpertGroup;
// Indexed by Code: both are made from the same rows.
#define TDSDIAG_NO_ALT nullptr, S::Chat, G::Sequence, nullptr, nullptr
#define TDSDIAG_ALT(qualifier, severity, group, summary, when) qualifier, S::severity, G::group, summary, when
#define TDSDIAG_CODE(Enum, name, scenario, severity, summary, fix, evidence, second) \
    {name, scenario, S::severity, summary, fix, evidence, second},
const CodeInfo kCodes[] = {
#include "tdsdiag/catalogue.def"
};
#undef TDSDIAG_CODE
#undef TDSDIAG_ALT
#undef TDSDIAG_NO_ALT
static_assert(sizeof kCodes / sizeof kCodes[0] == kCodeCount, "one row per code");
}  // namespace

const CodeInfo& code_info(Code c) { return kCodes[static_cast<size_t>(c) % kCodeCount]; }

std::optional<Code> code_by_name(const std::string& name) {
    for (size_t i = 0; i < kCodeCount; ++i)
        if (name == kCodes[i].name) return static_cast<Code>(i);
    return std::nullopt;
}

const char* severity_name(Severity s) {
    switch (s) {
    case Severity::Chat: return "chat";
    case Severity::Note: return "note";
    case Severity::Warn: return "warning";
    case Severity::Error: return "error";
    }
    return "note";
}

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

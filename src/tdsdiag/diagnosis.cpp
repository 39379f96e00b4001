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

namespace {

// The login errors users meet most, from Microsoft's documentation of each number, in our words.
// 18456 has no fix here: its state says why (login_failed_state_meaning).
constexpr LoginErrorInfo kLoginErrors[] = {
    {4060,
     "the requested database cannot be opened: missing, offline, or the login has no user there",
     "Check the database name, that it is online, and that the login has a user in it."},
    {4064,
     "the default database of the login cannot be opened",
     "Name an existing database in the connection string, or change the login's default database."},
    {10928,
     "the Azure SQL database hit its service tier's limit of workers or sessions",
     "Lower the concurrent requests and sessions, or scale the database up."},
    {10929,
     "the Azure SQL server is too busy to give the database more than its guaranteed minimum",
     "Retry after a delay, and scale the database up if it keeps coming back."},
    {17809,
     "the server has reached its maximum number of user connections",
     "Close idle connections (pool them) or raise the user connections setting; an admin can use the DAC."},
    {18401,
     "the server is in single-user or script upgrade mode and lets only an administrator in",
     "Wait for the upgrade scripts to finish, or restart SQL Server without single-user mode."},
    {18452,
     "the server does not trust the Windows login's domain, or reaches no domain controller",
     "Use an account of a trusted domain, check the domain controller, or use a SQL login."},
    {18456,
     "the login failed",
     ""},
    {18470,
     "the login is disabled",
     "Enable it with ALTER LOGIN ... ENABLE, or use another login."},
    {18486,
     "the login is locked out by the password policy after too many failed attempts",
     "Unlock it with ALTER LOGIN ... WITH PASSWORD = ... UNLOCK, and find what sent the wrong password."},
    {18487,
     "the password of the login has expired",
     "Set a new password with ALTER LOGIN, or let the client change it at login."},
    {18488,
     "the password of the login must be changed before it can log in",
     "Change the password with ALTER LOGIN, or with a client that can change it at login."},
    {40197,
     "the Azure SQL service failed to process the request, typically during a failover or upgrade (transient)",
     "Retry after a short delay, with a retry policy in the application."},
    {40501,
     "the Azure SQL service is busy",
     "Retry after at least 10 seconds, and lower the load if it goes on."},
    {40532,
     "the Azure SQL gateway cannot open the server the login names (a wrong server name)",
     "Check the server name in the connection string, and after the @ of a user@server login."},
    {40613,
     "the Azure SQL database is unavailable for now, typically while it moves or fails over (transient)",
     "Retry after a short delay; if it lasts, check the Azure service health."},
    {40615,
     "the Azure SQL firewall does not allow the client's address",
     "Add a server or database firewall rule for the client's public IP address."},
    {42108,
     "the Azure Synapse SQL pool is paused",
     "Resume the SQL pool, then connect again."},
    {42109,
     "the Azure SQL pool or serverless database is resuming (warming up) from a pause",
     "Retry the connection after a minute, with a retry policy in the application."},
    {47072,
     "the client's TLS version is below the Azure SQL server's minimal TLS version",
     "Let the client use TLS 1.2 or later (driver, operating system), or lower the server's minimum."},
    {47073,
     "the Azure SQL server denies public network access, and the client came over it",
     "Connect through a private endpoint, or allow public network access with firewall rules."},
};

}  // namespace

const LoginErrorInfo* login_error_info(uint32_t number) {
    for (const LoginErrorInfo& e : kLoginErrors)
        if (e.number == number) return &e;
    return nullptr;
}

const LoginErrorInfo* login_errors(size_t& count) {
    count = sizeof kLoginErrors / sizeof kLoginErrors[0];
    return kLoginErrors;
}

const char* login_error_meaning(uint32_t number) {
    const LoginErrorInfo* e = login_error_info(number);
    return e != nullptr ? e->meaning : "";
}

}  // namespace tdsdiag

// The diagnosis codes of the catalogue (docs: diagnoses.md). Names are a user contract.
#pragma once

#include <cstdint>
#include <string>

namespace tdsdiag {

enum class Code : uint8_t {
    NoCommonTlsVersion,
    NoCommonCipher,
    DheCipher,
    WeakCertHash,
    DheHandshakeFailure,
    SynRejected,
    SynUnanswered,
    SlowAccept,
    LoginTimeout,
    SlowLogin,
    TlsAlert,
    CertificateRejected,
    TlsHandshakeIncomplete,
    OldTlsVersion,
    EncryptionNotSupported,
    CleartextLogin,
    LoginFailed,
    Redirected,
    Attention,
    ServerFirstFin,
    ServerReset,
    ClientReset,
    CaptureStartedMidstream,
    BrowserUnanswered,
    BrowserInstanceMissing,
    BrowserSlow,
    AnonymousLogon,
    NtlmFallback,
    Count
};

enum class Severity : uint8_t { Chat, Note, Warn, Error };

struct CodeInfo {
    const char* name;     // tdsdiag.diagnosis value, and tdsdiag.analysis.<name>
    uint8_t scenario;     // scenario of the error-10054 document, 0 if none
    Severity severity;    // the catalogue's severity (a diagnosis may raise or lower it, see Diagnosis)
    const char* summary;  // one line for the expert-info registration and the README
    const char* fix;      // what to do, in one sentence ("" where the code names no fix)
};

const CodeInfo& code_info(Code c);
constexpr size_t kCodeCount = static_cast<size_t>(Code::Count);

// Wireshark cuts expert-info texts at 240 bytes: `text` stays below that.
constexpr size_t kMaxTextLength = 239;

struct Diagnosis {
    Code code;
    Severity severity;
    std::string text;    // full sentences: evidence, certainty ("likely"), fix; at most kMaxTextLength
    std::string detail;  // more evidence (suite lists, certificate dates, who sent what), may be empty
};

// Name of a TLS alert description (RFC 8446 6.2, RFC 5246 7.2), e.g. "unknown_ca".
const char* tls_alert_name(uint8_t description);
// What a state of error 18456 (login failed) means, or "" for states without a known meaning.
const char* login_failed_state_meaning(uint8_t state);
// What a common login error number means, or "".
const char* login_error_meaning(uint32_t number);

}  // namespace tdsdiag

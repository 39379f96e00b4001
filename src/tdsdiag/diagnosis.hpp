// The diagnosis codes of the catalogue (catalogue.def; README, Diagnoses). Names are a user contract.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace tdsdiag {

// In the catalogue's order (catalogue.def).
enum class Code : uint8_t {
#define TDSDIAG_CODE(Enum, ...) Enum,
#include "tdsdiag/catalogue.def"
#undef TDSDIAG_CODE
    Count
};

enum class Severity : uint8_t { Chat, Note, Warn, Error };
// The expert info group of an entry (Wireshark's PI_SEQUENCE, PI_RESPONSE_CODE).
enum class ExpertGroup : uint8_t { Sequence, ResponseCode };

struct CodeInfo {
    const char* name;     // tdsdiag.diagnosis value, and tdsdiag.analysis.<name>
    uint8_t scenario;     // scenario of the error-10054 document, 0 if none
    Severity severity;    // the catalogue's severity (a diagnosis may raise or lower it, see Diagnosis)
    const char* summary;  // one line for the expert-info registration and the README
    const char* fix;      // what to do, in one sentence ("" where the code names no fix)
    const char* evidence; // what the diagnosis rests on (the README's table, markdown)
    // The second expert entry, tdsdiag.analysis.<name>.<alt_qualifier>, for a diagnosis whose
    // severity differs from the catalogue's; alt_qualifier is nullptr for codes without one.
    const char* alt_qualifier;
    Severity alt_severity;
    ExpertGroup alt_group;
    const char* alt_summary;
    const char* alt_when;  // the README's condition, "if the alert is fatal"

    bool has_alt() const { return alt_qualifier != nullptr; }
    // The first entry's group: ResponseCode for errors, Sequence otherwise.
    ExpertGroup group() const { return severity == Severity::Error ? ExpertGroup::ResponseCode : ExpertGroup::Sequence; }
};

const CodeInfo& code_info(Code c);
constexpr size_t kCodeCount = static_cast<size_t>(Code::Count);
// The code of a catalogue name ("weak_cert_hash"), or none.
std::optional<Code> code_by_name(const std::string& name);
// "error", "warning", "note", "chat" (Wireshark's words).
const char* severity_name(Severity s);

// Wireshark cuts expert-info texts at 240 bytes: `text` stays below that.
constexpr size_t kMaxTextLength = 239;

struct Diagnosis {
    Code code;
    Severity severity;
    std::string text;    // full sentences: evidence, certainty ("likely"), fix; at most kMaxTextLength
    std::string detail;  // more evidence (suite lists, certificate dates, who sent what), may be empty
    uint32_t answered_in = 0;     // the frame that answered what it is about (an attention's acknowledgement), 0 if none
    int64_t answer_delay_ns = 0;  // ... and how long after this frame
};

// Name of a TLS alert description (RFC 8446 6.2, RFC 5246 7.2), e.g. "unknown_ca".
const char* tls_alert_name(uint8_t description);
// What a state of error 18456 (login failed) means, or "" for states without a known meaning.
const char* login_failed_state_meaning(uint8_t state);
// A login error number users meet often: what it means and what to do (Microsoft's documentation of
// each number, in our words).
struct LoginErrorInfo {
    uint32_t number;
    const char* meaning;  // a clause: "the login is disabled"
    const char* fix;      // one or two sentences, "" where the state says more (18456)
};
// The row of `number`, or nullptr.
const LoginErrorInfo* login_error_info(uint32_t number);
// All rows, in number order (the README's table).
const LoginErrorInfo* login_errors(size_t& count);
// What a common login error number means, or "".
const char* login_error_meaning(uint32_t number);

}  // namespace tdsdiag

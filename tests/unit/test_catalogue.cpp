// The diagnosis catalogue (src/tdsdiag/catalogue.def): one well-formed row per code, and code_info
// returns each enum value's own row.
#include "catch_compat.hpp"

#include <cctype>
#include <cstring>
#include <set>
#include <string>

#include "tdsdiag/diagnosis.hpp"

using tdsdiag::Code;
using tdsdiag::CodeInfo;

namespace {

// The rows again, read here with the enum value each one names.
struct Row {
    Code code;
    const char* enum_name;
    const char* name;
};
#define TDSDIAG_CODE(Enum, name, ...) {Code::Enum, #Enum, name},
const Row kRows[] = {
#include "tdsdiag/catalogue.def"
};
#undef TDSDIAG_CODE

bool lower_snake_case(const std::string& s) {
    if (s.empty() || !std::islower(static_cast<unsigned char>(s.front())) || s.back() == '_') return false;
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (!(std::islower(c) || std::isdigit(c) || c == '_')) return false;
        if (c == '_' && s[i + 1] == '_') return false;
    }
    return true;
}

// "NoCommonTlsVersion" -> "no_common_tls_version"
std::string snake(const std::string& camel) {
    std::string s;
    for (const char ch : camel) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (std::isupper(c) && !s.empty()) s += '_';
        s += static_cast<char>(std::tolower(c));
    }
    return s;
}

// A one-line summary: begins with a capital, no final period, no tab or newline (tdsdiag-catalogue --tsv).
void check_summary(const std::string& s) {
    CHECK_FALSE(s.empty());
    if (s.empty()) return;
    CHECK(std::isupper(static_cast<unsigned char>(s.front())));
    CHECK(s.back() != '.');
    CHECK(s.find_first_of("\t\n") == std::string::npos);
    CHECK(s.size() < 100);
}

}  // namespace

TEST_CASE("catalogue: one row per code, code_info returns the enum value's row") {
    REQUIRE(sizeof kRows / sizeof kRows[0] == tdsdiag::kCodeCount);
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const Row& r = kRows[i];
        INFO(r.enum_name);
        CHECK(static_cast<size_t>(r.code) == i);
        CHECK(std::string(tdsdiag::code_info(r.code).name) == r.name);
        CHECK(snake(r.enum_name) == r.name);  // the enum value's name and the code's name say the same
    }
    // A few codes others' code and the users' filters name.
    CHECK(std::string(tdsdiag::code_info(Code::WeakCertHash).name) == "weak_cert_hash");
    CHECK(std::string(tdsdiag::code_info(Code::TlsAlert).name) == "tls_alert");
    CHECK(std::string(tdsdiag::code_info(Code::Attention).name) == "attention");
    CHECK(tdsdiag::code_info(Code::SynRejected).scenario == 6);
}

TEST_CASE("catalogue: names are unique lower_snake_case and round-trip through code_by_name") {
    std::set<std::string> names;
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const Code c = static_cast<Code>(i);
        const CodeInfo& info = tdsdiag::code_info(c);
        INFO(info.name);
        CHECK(lower_snake_case(info.name));
        CHECK(names.insert(info.name).second);
        const auto back = tdsdiag::code_by_name(info.name);
        REQUIRE(back.has_value());
        CHECK(*back == c);
    }
    CHECK_FALSE(tdsdiag::code_by_name("").has_value());
    CHECK_FALSE(tdsdiag::code_by_name("no_such_code").has_value());
    CHECK_FALSE(tdsdiag::code_by_name("tls_alert.fatal").has_value());
}

TEST_CASE("catalogue: every row is complete") {
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const CodeInfo& info = tdsdiag::code_info(static_cast<Code>(i));
        INFO(info.name);
        CHECK(info.scenario <= 6);
        check_summary(info.summary);
        const std::string fix = info.fix;
        CHECK((fix.empty() || (std::isupper(static_cast<unsigned char>(fix.front())) && fix.back() == '.')));
        CHECK(fix.find_first_of("\t\n") == std::string::npos);
        // The evidence is one README table cell.
        REQUIRE(info.evidence != nullptr);
        const std::string evidence = info.evidence;
        CHECK_FALSE(evidence.empty());
        CHECK(evidence.find_first_of("|\n") == std::string::npos);
        CHECK(info.group() == (info.severity == tdsdiag::Severity::Error ? tdsdiag::ExpertGroup::ResponseCode
                                                                          : tdsdiag::ExpertGroup::Sequence));
    }
}

TEST_CASE("catalogue: second expert entries have unique qualifiers and another severity") {
    std::set<std::string> qualifiers;
    size_t n = 0;
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const CodeInfo& info = tdsdiag::code_info(static_cast<Code>(i));
        INFO(info.name);
        if (!info.has_alt()) {
            CHECK(info.alt_summary == nullptr);
            CHECK(info.alt_when == nullptr);
            continue;
        }
        ++n;
        CHECK(lower_snake_case(info.alt_qualifier));
        CHECK(qualifiers.insert(info.alt_qualifier).second);
        // The plugin picks the second entry when a diagnosis' severity differs from the catalogue's.
        CHECK(info.alt_severity != info.severity);
        REQUIRE(info.alt_summary != nullptr);
        check_summary(info.alt_summary);
        REQUIRE(info.alt_when != nullptr);
        CHECK(std::strncmp(info.alt_when, "if ", 3) == 0);
    }
    CHECK(n == 6);  // weak_cert_hash.failed, tls_alert.fatal, attention.unacknowledged, port_reuse.never_accepted,
                    // certificate_name_mismatch.rejected, strict_encryption_mismatch.server_requires_strict
    CHECK(std::string(tdsdiag::code_info(Code::TlsAlert).alt_qualifier) == "fatal");
    CHECK(tdsdiag::code_info(Code::TlsAlert).alt_group == tdsdiag::ExpertGroup::Sequence);
    CHECK(tdsdiag::code_info(Code::WeakCertHash).alt_group == tdsdiag::ExpertGroup::ResponseCode);
}

TEST_CASE("catalogue: severity names") {
    CHECK(std::string(tdsdiag::severity_name(tdsdiag::Severity::Error)) == "error");
    CHECK(std::string(tdsdiag::severity_name(tdsdiag::Severity::Warn)) == "warning");
    CHECK(std::string(tdsdiag::severity_name(tdsdiag::Severity::Note)) == "note");
    CHECK(std::string(tdsdiag::severity_name(tdsdiag::Severity::Chat)) == "chat");
}

TEST_CASE("catalogue: every warning and error names a fix that is not a pointer back to the text") {
    // What a reader cannot act on: a fix that sends them back to the diagnosis' own words.
    const char* const pointers[] = {"in the text", "the text", "read it", "together with the step", "named in",
                                    "see above", "read the"};
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const CodeInfo& info = tdsdiag::code_info(static_cast<Code>(i));
        const bool failure = info.severity >= tdsdiag::Severity::Warn ||
                             (info.has_alt() && info.alt_severity >= tdsdiag::Severity::Warn);
        if (!failure) continue;
        INFO(info.name);
        std::string fix = info.fix;
        CHECK_FALSE(fix.empty());
        for (char& c : fix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const char* p : pointers) {
            INFO(p);
            CHECK(fix.find(p) == std::string::npos);
        }
    }
}

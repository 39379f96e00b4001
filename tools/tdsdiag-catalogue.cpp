// tdsdiag-catalogue: prints the diagnosis catalogue (src/tdsdiag/catalogue.def), from which the
// README's Diagnoses table and the profile's diagnosis colour rules are made; tests compare them.
// And the table of login errors (diagnosis.cpp) that the login_failed texts explain.
//   usage: tdsdiag-catalogue --tsv | --markdown | --colorfilters | --login-errors | --help
#include <cctype>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "tdsdiag/diagnosis.hpp"

namespace {
using tdsdiag::CodeInfo;
using tdsdiag::Severity;

const char* kUsage =
    "usage: tdsdiag-catalogue --tsv | --markdown | --colorfilters | --login-errors\n"
    "Prints the diagnosis catalogue of the tdsdiag plugin (src/tdsdiag/catalogue.def).\n"
    "  --tsv           one line per expert entry, tab-separated: expert field, code, scenario (0: none),\n"
    "                  severity (error, warning, note, chat), summary, fix (may be empty), expert group\n"
    "                  (sequence, response_code)\n"
    "  --markdown      the Diagnoses table of the README\n"
    "  --colorfilters  the diagnosis colour rules of the profile \"SQL Server Connections\"\n"
    "                  (one rule per severity, for its colorfilters file)\n"
    "  --login-errors  the README's table of the login error numbers login_failed explains\n"
    "  --help          this text\n";

// One expert entry: the code's, or its second one.
struct Entry {
    std::string field;
    const CodeInfo* info;
    Severity severity;
    tdsdiag::ExpertGroup group;
};

std::vector<Entry> entries() {
    std::vector<Entry> v;
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const CodeInfo& c = tdsdiag::code_info(static_cast<tdsdiag::Code>(i));
        const std::string field = std::string("tdsdiag.analysis.") + c.name;
        v.push_back({field, &c, c.severity, c.group()});
        if (c.has_alt()) v.push_back({field + "." + c.alt_qualifier, &c, c.alt_severity, c.alt_group});
    }
    return v;
}

void tsv() {
    for (const Entry& e : entries())
        std::cout << e.field << '\t' << e.info->name << '\t' << unsigned{e.info->scenario} << '\t'
                  << tdsdiag::severity_name(e.severity) << '\t'
                  << (e.severity == e.info->severity ? e.info->summary : e.info->alt_summary) << '\t' << e.info->fix
                  << '\t' << (e.group == tdsdiag::ExpertGroup::ResponseCode ? "response_code" : "sequence") << '\n';
}

void markdown() {
    std::cout << "| code | scenario | severity | evidence | fix given | find it with |\n"
                 "|---|---|---|---|---|---|\n";
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const CodeInfo& c = tdsdiag::code_info(static_cast<tdsdiag::Code>(i));
        std::string severity = tdsdiag::severity_name(c.severity);
        if (c.has_alt()) severity += std::string("; ") + tdsdiag::severity_name(c.alt_severity) + " " + c.alt_when;
        // A code with a second entry has two expert fields; its diagnosis name finds both.
        const std::string find = c.has_alt() ? std::string("tdsdiag.diagnosis == \"") + c.name + "\""
                                             : std::string("tdsdiag.analysis.") + c.name;
        std::cout << "| `" << c.name << "` | " << (c.scenario != 0 ? std::to_string(c.scenario) : "–") << " | "
                  << severity << " | " << c.evidence << " | " << (*c.fix != '\0' ? c.fix : "–") << " | `" << find
                  << "` |\n";
    }
}

void login_errors() {
    std::cout << "| error | meaning | what to do |\n|---|---|---|\n";
    size_t count = 0;
    const tdsdiag::LoginErrorInfo* all = tdsdiag::login_errors(count);
    for (size_t i = 0; i < count; ++i) {
        std::string meaning = all[i].meaning;
        if (!meaning.empty()) meaning[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(meaning[0])));
        std::cout << "| " << all[i].number << " | " << meaning << " | "
                  << (*all[i].fix != '\0' ? all[i].fix : "the state says why (below)") << " |\n";
    }
}

void colorfilters() {
    struct Rule {
        Severity severity;
        const char* colours;  // [background r,g,b][foreground r,g,b], 16-bit values
    };
    const Rule rules[] = {{Severity::Error, "[62194,35723,33410][0,0,0]"},
                          {Severity::Warn, "[65021,54998,25443][0,0,0]"},
                          {Severity::Note, "[44718,52171,64250][0,0,0]"},
                          {Severity::Chat, "[59110,59110,59110][0,0,0]"}};
    const std::vector<Entry> all = entries();
    for (const Rule& r : rules) {
        std::string filter;
        for (const Entry& e : all)
            if (e.severity == r.severity) filter += (filter.empty() ? "" : " || ") + e.field;
        if (!filter.empty())
            std::cout << "@tdsdiag: " << tdsdiag::severity_name(r.severity) << " diagnosis@" << filter << '@'
                      << r.colours << '\n';
    }
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << kUsage;
        return 2;
    }
    const char* a = argv[1];
    if (std::strcmp(a, "--tsv") == 0) tsv();
    else if (std::strcmp(a, "--markdown") == 0) markdown();
    else if (std::strcmp(a, "--colorfilters") == 0) colorfilters();
    else if (std::strcmp(a, "--login-errors") == 0) login_errors();
    else if (std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0) std::cout << kUsage;
    else {
        std::cerr << "tdsdiag-catalogue: unknown option " << a << "\n" << kUsage;
        return 2;
    }
    return std::cout.flush() ? 0 : 1;
}

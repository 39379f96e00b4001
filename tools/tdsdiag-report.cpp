// tdsdiag-report: the summary page of tshark -z tdsdiag,summary, over connection tables
// (tshark -z tdsdiag,csv output, or the merged table of scripts/tdsdiag-batch).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#ifdef _WIN32
#include <io.h>
#define TDSDIAG_STDIN_IS_TERMINAL() (_isatty(_fileno(stdin)) != 0)
#else
#include <unistd.h>
#define TDSDIAG_STDIN_IS_TERMINAL() (isatty(STDIN_FILENO) != 0)
#endif

#include "report_html.hpp"
#include "tdsdiag/report.hpp"

namespace {

const char* const kUsage =
    "usage: tdsdiag-report [--html PAGE.html] [FILE.csv|-]...\n"
    "The summary (outcomes, failed connections per step, diagnoses with their fix, servers grouped by the\n"
    "DNS name looked up, client rates)\n"
    "over connection tables: the CSV of tshark -q -z tdsdiag,csv, or the merged table of tdsdiag-batch -o.\n"
    "  FILE.csv    a table; several are summarised together (e.g. one per host)\n"
    "  -           standard input (read by default when it is not a terminal)\n"
    "  --html PAGE.html  also write one self-contained HTML page (works offline): per server, connections\n"
    "              and failed connections over time, outcomes, diagnoses with their fixes, and the table of\n"
    "              connections, sortable, with the display filter of each\n"
    "  -h, --help  this text\n"
    "A table that cannot be read (missing, empty, not a tdsdiag table) is named on standard error and\n"
    "skipped; the others are still summarised, and the exit status is then 1.\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> inputs;
    std::string html;  // --html PAGE
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::cout << kUsage;
            return 0;
        }
        if (a == "--html" || a.rfind("--html=", 0) == 0) {
            if (a == "--html" && i + 1 >= argc) {
                std::cerr << "tdsdiag-report: --html needs the name of the page to write (see --help)\n";
                return 2;
            }
            html = a == "--html" ? argv[++i] : a.substr(7);
            if (html.empty()) {
                std::cerr << "tdsdiag-report: --html needs the name of the page to write (see --help)\n";
                return 2;
            }
            continue;
        }
        if (a == "--") {
            inputs.insert(inputs.end(), argv + i + 1, argv + argc);
            break;
        }
        if (a.size() > 1 && a[0] == '-') {
            std::cerr << "tdsdiag-report: unknown option " << a << " (see --help)\n";
            return 2;
        }
        inputs.push_back(a);
    }
    if (inputs.empty()) {
        // Waiting for a table typed on a terminal would look like a hang.
        if (TDSDIAG_STDIN_IS_TERMINAL()) {
            std::cerr << "tdsdiag-report: no table given and standard input is a terminal\n" << kUsage;
            return 2;
        }
        inputs.push_back("-");
    }
    // Opened before the tables are read, so that a page that cannot be written stops the run at once.
    std::ofstream page;
    if (!html.empty()) {
        page.open(html, std::ios::binary);
        if (!page) {
            std::cerr << "tdsdiag-report: cannot write " << html << " (" << std::strerror(errno) << ")\n";
            return 2;
        }
    }
    std::vector<tdsdiag::Row> rows;
    std::vector<size_t> row_table;           // for each row, its table's index in `tables`
    std::vector<tdsdiag::HtmlTable> tables;  // every table given, and why it was not read
    std::vector<std::string> unread;  // "NAME: why", in the order given
    for (const std::string& name : inputs) {
        const bool std_in = name == "-";
        const std::string shown = std_in ? "standard input" : name;
        tables.push_back({shown, {}});
        std::ifstream file;
        if (!std_in) {
            file.open(name);
            if (!file) {
                tables.back().error = std::string("cannot read it (") + std::strerror(errno) + ")";
                unread.push_back(shown + ": " + tables.back().error);
                continue;
            }
        }
        std::string error;
        if (!tdsdiag::parse_csv(std_in ? std::cin : file, rows, error)) {
            tables.back().error = error;
            unread.push_back(shown + ": " + error);
        }
        row_table.resize(rows.size(), tables.size() - 1);
    }
    for (const std::string& u : unread) std::cerr << "tdsdiag-report: " << u << "; skipped\n";
    if (!unread.empty()) {
        // Beside the summary too, as tdsdiag-batch lists the captures it could not read.
        std::cout << "Tables: " << inputs.size() << " given, " << unread.size() << " could not be read\n";
        for (const std::string& u : unread) std::cout << "  not read: " << u << "\n";
    }
    std::cout << tdsdiag::summary_page(rows);
    if (page.is_open()) {
        page << tdsdiag::html_page(rows, row_table, tables);
        page.close();
        if (!page) {
            std::cerr << "tdsdiag-report: writing " << html << " failed\n";
            return 2;
        }
    }
    return unread.empty() ? 0 : 1;
}

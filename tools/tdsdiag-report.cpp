// tdsdiag-report: the summary page of tshark -z tdsdiag,summary, over connection tables
// (tshark -z tdsdiag,csv output, or the merged table of scripts/tdsdiag-batch).
//   usage: tdsdiag-report [FILE.csv...]     (standard input when no file is given)
#include <fstream>
#include <iostream>

#include "tdsdiag/report.hpp"

int main(int argc, char** argv) {
    std::vector<tdsdiag::Row> rows;
    std::string error;
    if (argc < 2) {
        if (!tdsdiag::parse_csv(std::cin, rows, error)) {
            std::cerr << "tdsdiag-report: standard input: " << error << "\n";
            return 1;
        }
    }
    for (int i = 1; i < argc; ++i) {
        std::ifstream in(argv[i]);
        if (!in) {
            std::cerr << "tdsdiag-report: cannot read " << argv[i] << "\n";
            return 1;
        }
        if (!tdsdiag::parse_csv(in, rows, error)) {
            std::cerr << "tdsdiag-report: " << argv[i] << ": " << error << "\n";
            return 1;
        }
    }
    std::cout << tdsdiag::summary_page(rows);
    return 0;
}

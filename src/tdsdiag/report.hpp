// One row per connection: the statistics tap's table (-z tdsdiag,conv), its CSV form
// (-z tdsdiag,csv) and the summary page (-z tdsdiag,summary). Pure formatting over the Analyzer.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tdsdiag/analyzer.hpp"

namespace tdsdiag {

struct Row {
    uint32_t stream = 0;
    std::string client, server;          // address:port ([v6]:port)
    double start_s = 0;                  // seconds since the capture's first frame
    std::optional<Step> last_step;
    std::optional<double> step_ms[8];    // time spent in each step (index = step), where it opened
    std::string encryption, tls_version, cipher, close_by, close_kind, outcome;
    std::vector<std::string> diagnoses;  // codes, in frame order, each once
    std::string cert_signature;          // the server certificate's signature algorithm
};

// The row of one connection.
Row make_row(const Analyzer& analyzer, const Connection& c, int64_t capture_start_ns);
// The row of an SQL Browser lookup that no connection followed (server "address:1434/udp", last step 0).
Row make_lookup_row(const BrowserLookup& l, int64_t capture_start_ns);
// Rows for the connections of `analyzer`, and the SQL Browser lookups no connection followed, in the
// order they started; when `streams` is given, only those connections (and the lookups in `lookups`).
std::vector<Row> make_rows(const Analyzer& analyzer, int64_t capture_start_ns, const std::set<uint32_t>* streams,
                           const std::set<uint32_t>* lookups = nullptr);

std::string conv_table(const std::vector<Row>& rows);  // aligned for a terminal
// The same table, a line at a time (a big capture's table is not held whole in memory).
void write_conv_table(const std::vector<Row>& rows, const std::function<void(const std::string&)>& emit);
std::string csv_table(const std::vector<Row>& rows);   // RFC 4180, header row, stable column names
std::string summary_page(const std::vector<Row>& rows);

// Reads rows back from csv_table() output, with any extra columns (the batch's `file`) ignored.
// Returns false and sets `error` ("line 3: ...") on input that is not such a table.
bool parse_csv(std::istream& in, std::vector<Row>& rows, std::string& error);

}  // namespace tdsdiag

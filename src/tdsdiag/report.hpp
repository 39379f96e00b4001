// One row per connection: the statistics tap's table (-z tdsdiag,conv), its CSV form
// (-z tdsdiag,csv) and the summary page (-z tdsdiag,summary). Pure formatting over the Analyzer.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
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
    std::string start_time;              // when it started, UTC: "2026-01-31T23:59:59.123456Z" (tables across captures)
    std::optional<Step> last_step;
    std::optional<Step> failed_step;     // where a failed connection (or lookup) stopped (Summary::failed_step)
    std::optional<double> step_ms[8];    // time spent in each step (index = step), where it opened
    std::string encryption, tls_version, cipher, close_by, close_kind, outcome;
    std::vector<std::string> diagnoses;  // codes, in frame order, each once
    std::string cert_signature;          // the server certificate's signature algorithm
    // Network health: TCP segments sent again, duplicate ACKs, zero-window segments, and the handshake's
    // round trip as captured (absent without a handshake). Absent counts in a lookup's row.
    std::optional<uint32_t> retransmissions, dup_acks, zero_windows;
    std::optional<double> handshake_rtt_ms;
    // The server's prelogin VERSION as release and build, the client's library and prelogin VERSION.
    std::string server_version, client_version;
    // The TDS packet size the Login7 asked for and the login response granted (ENVCHANGE type 4).
    std::optional<uint32_t> packet_size_asked, packet_size_granted;
    // The name of the DNS lookup tied to the connection and the time spent resolving it (issue 31).
    std::string dns_name;
    std::optional<double> dns_time_ms;
    std::string file;  // the capture file: the `file` column of tdsdiag-batch's merged table (parse_csv)
};

// A connection summary's values as text, formatted in one place for everything that shows them: the
// tdsdiag.conn.* fields and the rows of the report. "" where the capture has no value.
struct SummaryText {
    std::string outcome, encryption, tls_version, cipher, close_by, close_kind, capture_point;
};
// `cipher_name` names a suite (Config::cipher_name); without a name the suite shows as 0x%04x.
SummaryText summary_text(const Summary& s, const Config& config);

// The row of one connection.
Row make_row(const Analyzer& analyzer, const Connection& c, int64_t capture_start_ns);
// The row of an SQL Browser lookup that no connection followed (server "address:1434/udp", last step 0).
Row make_lookup_row(const BrowserLookup& l, int64_t capture_start_ns);
// Which rows a table shows. Without `stream`, every connection and every lookup no connection
// followed; with it, the connections it keeps and, of those lookups, the ones `lookup` keeps (none
// without it).
struct Selection {
    std::function<bool(uint32_t stream)> stream;
    std::function<bool(uint32_t lookup_id)> lookup;
};
// Calls `fn` with the row of each selected connection, and of each SQL Browser lookup no connection
// followed, in the order they started, one row at a time: a table of a hundred thousand connections
// is never held as rows.
void for_each_row(const Analyzer& analyzer, int64_t capture_start_ns, const Selection& selection,
                  const std::function<void(const Row&)>& fn);
// The same rows, held; when `streams` is given, only those connections (and the lookups in `lookups`).
std::vector<Row> make_rows(const Analyzer& analyzer, int64_t capture_start_ns, const std::set<uint32_t>* streams,
                           const std::set<uint32_t>* lookups = nullptr);

// The table aligned for a terminal (-z tdsdiag,conv). Rows are added one at a time and kept as their
// cells' text only (about 150 bytes a row), since the column widths are known only at the end: in
// chunks of about 64 KB, which, unlike one string growing by doubling, hold no unused half and are
// never copied.
class ConvTable {
public:
    ConvTable();
    void add(const Row& r);
    size_t size() const { return ends_.size(); }
    // The title, the header and the rows, a line at a time.
    void write(const std::function<void(const std::string&)>& emit) const;

private:
    static constexpr size_t kChunk = 65536;
    std::vector<std::string> chunks_;  // every row's cells, each ended by '\0'; a row is in one chunk
    std::vector<uint32_t> ends_;       // where each row's cells end in its chunk
    std::vector<size_t> chunk_rows_;   // how many rows each chunk holds
    std::vector<size_t> width_;        // one per column
};
std::string conv_table(const std::vector<Row>& rows);

// The CSV form (RFC 4180, stable column names): a header line, then one line per row.
std::string csv_header();
std::string csv_line(const Row& r);
std::string csv_table(const std::vector<Row>& rows);

// The table of Wireshark's Statistics menu (and tshark -z tdsdiag,connections): its columns, and
// the cells of a row, one per column. All forms of the table are made from one list of its columns
// (report.cpp), in the same order.
struct GuiColumn {
    enum Kind : uint8_t { Whole, Decimal, Text } kind;  // the cell's value: GuiCell's whole, decimal or text
    bool right_aligned;
    const char* title;
    const char* format;  // printf format of the value
};
struct GuiCell {
    uint32_t whole = 0;
    double decimal = 0;
    std::string text;
};
const std::vector<GuiColumn>& gui_columns();
std::vector<GuiCell> gui_cells(const Row& r);

// Connection rate of one client address: the most connections started in any 1 s window and the
// average over the time from its first to its last connection (0 when it opened only one).
struct ClientRate {
    size_t connections = 0;
    size_t peak_per_s = 0;
    double average_per_s = 0;
    double span_s = 0;
};
ClientRate client_rate(std::vector<double> starts_s);
// Nanoseconds since 1970 (UTC) as ISO 8601 with microseconds: "2026-01-31T23:59:59.123456Z".
std::string utc_time(int64_t ns);
// "10.0.0.1:5000" -> "10.0.0.1", "[fe80::1]:5000" -> "fe80::1".
std::string address_of(const std::string& endpoint);
// The sustained rate past which TIME_WAIT likely holds a default ephemeral range of 16384 ports: 16384 /
// 240 s (2 MSL, the longest default TIME_WAIT and port_reuse's tdsdiag.time_wait_s; Windows keeps 120 s,
// Linux 60 s).
constexpr double kExhaustionRatePerS = 16384.0 / 240.0;

// The summary page (-z tdsdiag,summary): outcomes, failed connections per step, diagnoses, servers (the
// addresses of one DNS name grouped under it) and clients, counted row by row.
class SummaryPage {
public:
    void add(const Row& r);
    std::string text() const;

private:
    struct Server {
        int connections = 0, failures = 0, abandoned = 0;  // abandoned: outcome abandoned, no failure
        std::set<std::string> tls, ciphers, certs, versions, clients;
    };
    size_t rows_ = 0;
    std::map<std::string, int> outcomes_, codes_;
    std::map<int, int> failed_steps_;  // failed_step of the failed rows (-1: a table without it)
    std::map<std::string, Server> servers_;  // by server endpoint, the rows without a dns_name
    // The rows with a dns_name (issue 31): by the name the client looked up, then by server endpoint.
    std::map<std::string, std::map<std::string, Server>> names_;
    std::map<std::string, std::vector<double>> client_starts_;  // client address (no port) -> start_s
};
std::string summary_page(const std::vector<Row>& rows);

// Reads rows back from csv_table() output, with the batch's `file` column into Row::file and any
// other extra column ignored.
// Returns false, adds no row and sets `error` on input that is not such a table: "line 3: ..." (a
// header without a column the summary needs names it), or "empty: ..." when there is no header.
bool parse_csv(std::istream& in, std::vector<Row>& rows, std::string& error);

}  // namespace tdsdiag

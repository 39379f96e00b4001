#include "tdsdiag/report.hpp"
#include "tdsdiag/portable.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <map>

#include "tdsdiag/text.hpp"

namespace tdsdiag {
namespace {

std::string endpoint(const std::string& addr, uint16_t port) {
    // Built in one string: a table of a hundred thousand connections makes two of these a row.
    const bool v6 = addr.find(':') != std::string::npos;
    char digits[8];
    const char* const last = std::to_chars(digits, digits + sizeof digits, port).ptr;
    std::string s;
    s.reserve(addr.size() + 3 + static_cast<size_t>(last - digits));
    if (v6) s += '[';
    s += addr;
    if (v6) s += ']';
    s += ':';
    s.append(digits, static_cast<size_t>(last - digits));
    return s;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += sep;
        s += v[i];
    }
    return s;
}

// Adds a diagnosis code's name to the row, once.
void add_diagnosis(Row& r, Code code) {
    const char* name = code_info(code).name;
    if (std::find(r.diagnoses.begin(), r.diagnoses.end(), name) == r.diagnoses.end()) r.diagnoses.emplace_back(name);
}

}  // namespace

SummaryText summary_text(const Summary& s, const Config& config) {
    SummaryText t;
    t.outcome = outcome_name(s.outcome);
    t.encryption = encryption_name(s.encryption);
    if (s.tls_version) t.tls_version = tls_version_name(*s.tls_version);
    if (s.cipher) {
        const char* name = config.cipher_name ? config.cipher_name(*s.cipher) : nullptr;
        if (name != nullptr) {
            t.cipher = name;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%04x", *s.cipher);
            t.cipher = hex;
        }
    }
    t.close_by = side_name(s.close_by);
    t.close_kind = close_kind_name(s.close_kind);
    t.capture_point = side_name(s.capture_point);
    return t;
}

Row make_row(const Analyzer& analyzer, const Connection& c, int64_t capture_start_ns) {
    const Summary s = c.summary(true);
    Row r;
    r.stream = c.stream();
    r.client = endpoint(c.client_addr(), c.client_port());
    r.server = endpoint(c.server_addr(), c.server_port());
    r.start_s = static_cast<double>(c.start_ns() - capture_start_ns) / 1e9;
    r.start_time = utc_time(c.start_ns());
    r.last_step = s.last_step;
    r.failed_step = s.failed_step;
    // A step lasts from its opening to the next opening, the last one to the connection's last frame.
    std::vector<std::pair<int64_t, int>> opened;
    for (int k = 1; k <= 7; ++k)
        if (const auto t = c.step_opened_ns(static_cast<Step>(k))) opened.emplace_back(*t, k);
    std::sort(opened.begin(), opened.end());
    for (size_t i = 0; i < opened.size(); ++i) {
        const int64_t end = i + 1 < opened.size() ? opened[i + 1].first : c.last_ns();
        r.step_ms[opened[i].second] = static_cast<double>(end - opened[i].first) / 1e6;
    }
    SummaryText t = summary_text(s, analyzer.config());
    r.encryption = std::move(t.encryption);
    r.tls_version = std::move(t.tls_version);
    r.cipher = std::move(t.cipher);
    r.close_by = std::move(t.close_by);
    r.close_kind = std::move(t.close_kind);
    r.outcome = std::move(t.outcome);
    r.cert_signature = s.cert_signature;
    r.retransmissions = s.retransmissions;
    r.dup_acks = s.dup_acks;
    r.zero_windows = s.zero_windows;
    if (s.handshake_rtt_ns) r.handshake_rtt_ms = static_cast<double>(*s.handshake_rtt_ns) / 1e6;
    r.server_version = s.server_version;
    r.client_version = s.client_version;
    r.packet_size_asked = s.packet_size_asked;
    r.packet_size_granted = s.packet_size_granted;
    r.dns_name = s.dns_name;
    if (s.dns_time_ns) r.dns_time_ms = static_cast<double>(*s.dns_time_ns) / 1e6;
    // The SQL Browser lookup that gave the connection its port came first.
    if (c.browser_lookup())
        if (const BrowserLookup* l = analyzer.lookup(*c.browser_lookup()))
            for (const LookupFinding& f : l->findings(true)) add_diagnosis(r, f.diagnosis.code);
    // A KDC refused the ticket this connection's client asked for (kerberos.hpp).
    if (c.kerberos_frame() != 0) add_diagnosis(r, c.kerberos_code());
    for (const Finding& f : c.findings())
        if (c.stands(f)) add_diagnosis(r, f.code);
    return r;
}

Row make_lookup_row(const BrowserLookup& l, int64_t capture_start_ns) {
    Row r;
    r.stream = l.stream();
    r.client = endpoint(l.client_addr(), l.client_port());
    r.server = endpoint(l.server_addr(), kSsrpPort) + "/udp";
    r.start_s = static_cast<double>(l.start_ns() - capture_start_ns) / 1e9;
    r.start_time = utc_time(l.start_ns());
    r.last_step = Step::Browser;
    for (const LookupFinding& f : l.findings(true)) add_diagnosis(r, f.diagnosis.code);
    r.outcome = r.diagnoses.empty() ? outcome_name(Outcome::Unknown) : outcome_name(Outcome::Failed);
    if (!r.diagnoses.empty()) r.failed_step = Step::Browser;
    return r;
}

void for_each_row(const Analyzer& analyzer, int64_t capture_start_ns, const Selection& selection,
                  const std::function<void(const Row&)>& fn) {
    // The order the rows started in, as small references: a connection or a lookup, by its first frame.
    struct Ref {
        uint32_t frame;
        const Connection* conn;
        const BrowserLookup* lookup;
    };
    std::vector<Ref> refs;
    refs.reserve(analyzer.connections().size());
    for (const Analyzer::Started& c : analyzer.connections())
        if (!selection.stream || selection.stream(c.stream)) refs.push_back({c.first_frame, c.conn, nullptr});
    for (size_t i = 0; i < analyzer.lookup_count(); ++i) {
        const BrowserLookup* l = analyzer.lookup(static_cast<uint32_t>(i));
        if (l == nullptr || l->linked_stream) continue;
        if (selection.stream && (!selection.lookup || !selection.lookup(l->id()))) continue;
        refs.push_back({l->first_frame(), nullptr, l});
    }
    std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) { return a.frame < b.frame; });
    for (size_t i = 0; i < refs.size(); ++i) {
        // On a big capture each connection is long out of the cache: fetch the next one's state while
        // this row is made.
        if (i + 1 < refs.size() && refs[i + 1].conn != nullptr) {
            const char* next = reinterpret_cast<const char*>(refs[i + 1].conn);
            for (size_t at = 0; at < sizeof(Connection); at += 64) TDSDIAG_PREFETCH(next + at);
        }
        const Ref& ref = refs[i];
        fn(ref.conn != nullptr ? make_row(analyzer, *ref.conn, capture_start_ns)
                               : make_lookup_row(*ref.lookup, capture_start_ns));
    }
}

std::vector<Row> make_rows(const Analyzer& analyzer, int64_t capture_start_ns, const std::set<uint32_t>* streams,
                           const std::set<uint32_t>* lookups) {
    Selection selection;
    if (streams != nullptr) selection.stream = [streams](uint32_t s) { return streams->count(s) > 0; };
    if (lookups != nullptr) selection.lookup = [lookups](uint32_t l) { return lookups->count(l) > 0; };
    std::vector<Row> out;
    for_each_row(analyzer, capture_start_ns, selection, [&](const Row& r) { out.push_back(r); });
    return out;
}

namespace {

std::optional<double> number(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
    return v;
}

// A whole number in [0, max] (a stream index, a step); none for anything else, rather than a cast
// of an out-of-range double, which C++ leaves undefined.
std::optional<uint32_t> whole(const std::string& s, uint32_t max) {
    const auto v = number(s);
    if (!v || *v < 0 || *v > static_cast<double>(max) || *v != std::floor(*v)) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

void append_uint(std::string& out, uint32_t v) {
    char digits[16];
    out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, v).ptr - digits));
}

void append_joined(std::string& out, const std::vector<std::string>& v, const char* sep) {
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        out += v[i];
    }
}

// One column of the connection table, in each form that shows it: the aligned table (-z tdsdiag,conv),
// the CSV (-z tdsdiag,csv, read back by parse_csv) and the Statistics menu's table (gui_columns).
// The forms list their columns in this order. Each *_cell appends the cell's text to `out`, nothing
// where the row has no value (the aligned table shows "-" there).
struct Column {
    const char* conv;  // title in the aligned table, nullptr if not there
    const char* csv;   // name in the CSV, nullptr if not there
    GuiColumn gui;     // gui.title nullptr if not there
    void (*conv_cell)(const Row& r, std::string& out);
    void (*csv_cell)(const Row& r, std::string& out);  // unquoted: csv_line quotes it where needed
    void (*read)(const std::string& cell, Row& r);     // the CSV cell back into the row
    void (*gui_cell)(const Row& r, GuiCell& cell);
};

constexpr GuiColumn kNoGui{GuiColumn::Text, false, nullptr, nullptr};

// A text member shown as it is.
template <std::string Row::*M>
void put_text(const Row& r, std::string& out) {
    out += r.*M;
}
template <std::string Row::*M>
void read_text(const std::string& cell, Row& r) {
    r.*M = cell;
}
template <std::string Row::*M>
void gui_text(const Row& r, GuiCell& cell) {
    cell.text = r.*M;
}
template <std::string Row::*M>
constexpr Column text_column(const char* conv, const char* csv, const char* gui) {
    return {conv, csv, {GuiColumn::Text, false, gui, "%s"}, put_text<M>, put_text<M>, read_text<M>, gui_text<M>};
}

// The milliseconds of step K.
template <int K>
void conv_step(const Row& r, std::string& out) {
    if (r.step_ms[K]) out += fixed(*r.step_ms[K], 1);
}
template <int K>
void csv_step(const Row& r, std::string& out) {
    if (r.step_ms[K]) out += fixed(*r.step_ms[K], 3);
}
template <int K>
void read_step(const std::string& cell, Row& r) {
    r.step_ms[K] = number(cell);
}
template <int K>
constexpr Column step_column(const char* name) {
    return {name, name, kNoGui, conv_step<K>, csv_step<K>, read_step<K>, nullptr};
}

// A count, in the CSV only.
template <std::optional<uint32_t> Row::*M>
void csv_count(const Row& r, std::string& out) {
    if (r.*M) append_uint(out, *(r.*M));
}
template <std::optional<uint32_t> Row::*M>
void read_count(const std::string& cell, Row& r) {
    if (auto v = whole(cell, UINT32_MAX)) r.*M = static_cast<uint32_t>(*v);
}
template <std::optional<uint32_t> Row::*M>
constexpr Column count_column(const char* csv) {
    return {nullptr, csv, kNoGui, nullptr, csv_count<M>, read_count<M>, nullptr};
}

// A step (0-7) member: its digit, nothing where absent.
template <std::optional<Step> Row::*M>
void put_step(const Row& r, std::string& out) {
    if (r.*M) append_uint(out, static_cast<uint32_t>(*(r.*M)));
}
template <std::optional<Step> Row::*M>
void read_step(const std::string& cell, Row& r) {
    if (auto v = whole(cell, 7)) r.*M = static_cast<Step>(*v);
}

void put_close(const Row& r, std::string& out) {
    if (r.close_by.empty()) return;
    out += r.close_by;
    out += ' ';
    out += r.close_kind;
}

constexpr Column kTable[] = {
    {"stream", "stream", {GuiColumn::Whole, true, "Stream", "%u"},
     [](const Row& r, std::string& out) { append_uint(out, r.stream); },
     [](const Row& r, std::string& out) { append_uint(out, r.stream); },
     [](const std::string& cell, Row& r) { r.stream = whole(cell, UINT32_MAX).value_or(0); },
     [](const Row& r, GuiCell& cell) { cell.whole = r.stream; }},
    text_column<&Row::client>("client", "client", "Client"),
    text_column<&Row::server>("server", "server", "Server"),
    {"start_s", "start_s", {GuiColumn::Decimal, true, "Start (s)", "%.3f"},
     [](const Row& r, std::string& out) { out += fixed(r.start_s, 3); },
     [](const Row& r, std::string& out) { out += fixed(r.start_s, 6); },
     [](const std::string& cell, Row& r) { r.start_s = number(cell).value_or(0); },
     [](const Row& r, GuiCell& cell) { cell.decimal = r.start_s; }},
    {"last", "last_step", {GuiColumn::Whole, true, "Last step", "%u"}, put_step<&Row::last_step>,
     put_step<&Row::last_step>, read_step<&Row::last_step>,
     [](const Row& r, GuiCell& cell) { cell.whole = r.last_step ? static_cast<uint32_t>(*r.last_step) : 0; }},
    // Beside the last step in the aligned and the GUI table; in the CSV at the end (failed_step).
    {"failed", nullptr, {GuiColumn::Text, true, "Failed in step", "%s"}, put_step<&Row::failed_step>, nullptr,
     nullptr, [](const Row& r, GuiCell& cell) { put_step<&Row::failed_step>(r, cell.text); }},
    {nullptr, nullptr, {GuiColumn::Text, true, "Step 1-7 (ms)", "%s"}, nullptr, nullptr, nullptr,
     [](const Row& r, GuiCell& cell) {
         for (int k = 1; k <= 7; ++k) {
             char buf[32];
             std::snprintf(buf, sizeof buf, "%s%.1f", k > 1 ? " " : "", r.step_ms[k] ? *r.step_ms[k] : 0.0);
             cell.text += r.step_ms[k] ? buf : (k > 1 ? " -" : "-");
         }
     }},
    step_column<1>("s1_ms"),
    step_column<2>("s2_ms"),
    step_column<3>("s3_ms"),
    step_column<4>("s4_ms"),
    step_column<5>("s5_ms"),
    step_column<6>("s6_ms"),
    step_column<7>("s7_ms"),
    text_column<&Row::encryption>("encryption", "encryption", "Encryption"),
    text_column<&Row::tls_version>("tls", "tls_version", "TLS"),
    text_column<&Row::cipher>("cipher", "cipher", "Cipher suite"),
    {"close", nullptr, {GuiColumn::Text, false, "Close", "%s"}, put_close, nullptr, nullptr,
     [](const Row& r, GuiCell& cell) { put_close(r, cell.text); }},
    text_column<&Row::close_by>(nullptr, "close_by", nullptr),
    text_column<&Row::close_kind>(nullptr, "close_kind", nullptr),
    text_column<&Row::outcome>("outcome", "outcome", "Outcome"),
    {"diagnoses", "diagnoses", {GuiColumn::Text, false, "Diagnoses", "%s"},
     [](const Row& r, std::string& out) { append_joined(out, r.diagnoses, ","); },
     [](const Row& r, std::string& out) { append_joined(out, r.diagnoses, " "); },
     [](const std::string& cell, Row& r) {
         size_t pos = 0;
         while (pos < cell.size()) {
             const size_t sp = cell.find(' ', pos);
             std::string d = cell.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
             if (!d.empty()) r.diagnoses.push_back(std::move(d));
             if (sp == std::string::npos) break;
             pos = sp + 1;
         }
     },
     [](const Row& r, GuiCell& cell) { append_joined(cell.text, r.diagnoses, ", "); }},
    text_column<&Row::cert_signature>(nullptr, "cert_signature", nullptr),
    count_column<&Row::retransmissions>("retransmissions"),
    count_column<&Row::dup_acks>("dup_acks"),
    count_column<&Row::zero_windows>("zero_windows"),
    {nullptr, "handshake_rtt_ms", kNoGui, nullptr,
     [](const Row& r, std::string& out) {
         if (r.handshake_rtt_ms) out += fixed(*r.handshake_rtt_ms, 3);
     },
     [](const std::string& cell, Row& r) { r.handshake_rtt_ms = number(cell); }, nullptr},
    text_column<&Row::server_version>(nullptr, "server_version", nullptr),
    text_column<&Row::client_version>(nullptr, "client_version", nullptr),
    {nullptr, "failed_step", kNoGui, nullptr, put_step<&Row::failed_step>, read_step<&Row::failed_step>, nullptr},
    text_column<&Row::start_time>(nullptr, "start_time", nullptr),
    count_column<&Row::packet_size_asked>("packet_size_asked"),
    count_column<&Row::packet_size_granted>("packet_size_granted"),
    text_column<&Row::dns_name>(nullptr, "dns_name", nullptr),
    {nullptr, "dns_time_ms", kNoGui, nullptr,
     [](const Row& r, std::string& out) {
         if (r.dns_time_ms) out += fixed(*r.dns_time_ms, 3);
     },
     [](const std::string& cell, Row& r) { r.dns_time_ms = number(cell); }, nullptr},
};

// Appends one row's cells to `out`, each ended by '\0', and widens `width` (one per column) to fit them.
void conv_cells(const Row& r, std::string& out, size_t* width) {
    // Appended in place: no cell is copied into a string of its own first.
    size_t col = 0;
    for (const Column& c : kTable) {
        if (c.conv == nullptr) continue;
        const size_t start = out.size();
        c.conv_cell(r, out);
        if (out.size() == start)
            out += '-';
        else if (std::memchr(out.data() + start, '\0', out.size() - start) != nullptr)  // '\0' ends a cell here
            std::replace(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), '\0', '?');
        width[col] = std::max(width[col], out.size() - start);
        ++col;
        out += '\0';
    }
}

}  // namespace

ConvTable::ConvTable() {
    for (const Column& c : kTable)
        if (c.conv != nullptr) width_.push_back(std::char_traits<char>::length(c.conv));
}

void ConvTable::add(const Row& r) {
    if (chunks_.empty() || chunks_.back().size() >= kChunk) {
        chunks_.emplace_back();
        chunks_.back().reserve(kChunk + 1024);  // a row rarely takes more than the margin
        chunk_rows_.push_back(0);
    }
    std::string& chunk = chunks_.back();
    conv_cells(r, chunk, width_.data());
    ends_.push_back(static_cast<uint32_t>(chunk.size()));  // (a chunk stays far below 4 GB)
    ++chunk_rows_.back();
}

void ConvTable::write(const std::function<void(const std::string&)>& emit) const {
    std::string line = "SQL Server connections (tdsdiag): " + std::to_string(ends_.size()) + "\n";
    emit(line);
    line.clear();
    const size_t columns = width_.size();
    // Cell i of the line, padded to its column's width but the last.
    auto put = [&](size_t i, const char* text, size_t n) {
        line.append(text, n);
        if (i + 1 < columns) line.append(width_[i] > n ? width_[i] - n + 2 : 2, ' ');
        if (i + 1 == columns) line += '\n';
    };
    size_t i = 0;
    for (const Column& c : kTable)
        if (c.conv != nullptr) put(i++, c.conv, std::char_traits<char>::length(c.conv));
    emit(line);
    size_t row = 0;
    for (size_t c = 0; c < chunks_.size(); ++c) {
        size_t begin = 0;
        for (size_t k = 0; k < chunk_rows_[c]; ++k, ++row) {
            const size_t end = ends_[row];
            line.clear();
            const char* p = chunks_[c].data() + begin;
            const char* const last = chunks_[c].data() + end;
            for (i = 0; i < columns; ++i) {
                const char* stop = static_cast<const char*>(std::memchr(p, '\0', static_cast<size_t>(last - p)));
                if (stop == nullptr) stop = last;  // (add() ends every cell with '\0')
                put(i, p, static_cast<size_t>(stop - p));
                p = stop < last ? stop + 1 : stop;
            }
            emit(line);
            begin = end;
        }
    }
}

std::string conv_table(const std::vector<Row>& rows) {
    ConvTable table;
    for (const Row& r : rows) table.add(r);
    std::string out;
    table.write([&](const std::string& line) { out += line; });
    return out;
}

std::string csv_header() {
    std::string line;
    for (const Column& c : kTable)
        if (c.csv != nullptr) {
            if (!line.empty()) line += ',';
            line += c.csv;
        }
    return line + "\n";
}

std::string csv_line(const Row& r) {
    std::string line;
    bool first = true;
    for (const Column& c : kTable) {
        if (c.csv == nullptr) continue;
        if (!first) line += ',';
        first = false;
        const size_t start = line.size();
        c.csv_cell(r, line);
        if (line.find_first_of(",\"\n", start) == std::string::npos) continue;
        std::string q = "\"";  // RFC 4180: quoted, quotes doubled
        for (size_t i = start; i < line.size(); ++i) q += line[i] == '"' ? std::string("\"\"") : std::string(1, line[i]);
        line.replace(start, std::string::npos, q + "\"");
    }
    return line + "\n";
}

const std::vector<GuiColumn>& gui_columns() {
    static const std::vector<GuiColumn> columns = [] {
        std::vector<GuiColumn> v;
        for (const Column& c : kTable)
            if (c.gui.title != nullptr) v.push_back(c.gui);
        return v;
    }();
    return columns;
}

std::vector<GuiCell> gui_cells(const Row& r) {
    std::vector<GuiCell> cells;
    for (const Column& c : kTable)
        if (c.gui.title != nullptr) c.gui_cell(r, cells.emplace_back());
    return cells;
}

std::string csv_table(const std::vector<Row>& rows) {
    std::string out = csv_header();
    for (const Row& r : rows) out += csv_line(r);
    return out;
}

void SummaryPage::add(const Row& r) {
    ++rows_;
    outcomes_[r.outcome.empty() ? "-" : r.outcome]++;
    for (const auto& d : r.diagnoses) codes_[d]++;
    const bool udp_lookup = r.server.size() >= 4 && r.server.compare(r.server.size() - 4, 4, "/udp") == 0;
    if (!r.client.empty() && !udp_lookup) client_starts_[address_of(r.client)].push_back(r.start_s);
    // Older tables have no dns_name column: their rows read with it empty and stay ungrouped.
    Server& s = r.dns_name.empty() ? servers_[r.server] : names_[r.dns_name][r.server];
    s.connections++;
    if (r.outcome == "failed" || r.outcome == "login_failed") {
        s.failures++;
        failed_steps_[r.failed_step ? static_cast<int>(*r.failed_step) : -1]++;
    } else if (r.outcome == "abandoned") {
        s.abandoned++;
    }
    if (!r.tls_version.empty()) s.tls.insert(r.tls_version);
    if (!r.cipher.empty()) s.ciphers.insert(r.cipher);
    if (!r.cert_signature.empty()) s.certs.insert(r.cert_signature);
    if (!r.server_version.empty()) s.versions.insert(r.server_version);
    if (!r.client_version.empty()) s.clients.insert(r.client_version);
}

std::string SummaryPage::text() const {
    std::string out = "SQL Server connections (tdsdiag): " + std::to_string(rows_) + "\n\nOutcomes\n";
    for (const auto& [k, n] : outcomes_) out += "  " + k + ": " + std::to_string(n) + "\n";
    out += "\nFailed connections by step (the step in progress when each ended)\n";
    if (failed_steps_.empty()) out += "  none\n";
    for (const auto& [step, n] : failed_steps_)
        out += step < 0 ? "  step not known (a table without failed_step): " + std::to_string(n) + "\n"
                        : "  " + std::to_string(step) + " " + step_name(static_cast<Step>(step)) + ": " +
                              std::to_string(n) + "\n";
    out += "\nDiagnoses (connections carrying each)\n";
    if (codes_.empty()) out += "  none\n";
    for (const auto& [k, n] : codes_) {
        const char* fix = "";
        for (size_t i = 0; i < kCodeCount; ++i)
            if (k == code_info(static_cast<Code>(i)).name) fix = code_info(static_cast<Code>(i)).fix;
        out += "  " + k + ": " + std::to_string(n) + (*fix ? std::string(" - fix: ") + fix : std::string()) + "\n";
    }
    out += "\nServers\n";
    // "N connection(s), F failed[, A abandoned]": abandoned parallel attempts are counted apart, not as failures.
    const auto counts = [](const Server& s) {
        return std::to_string(s.connections) + " connection(s), " + std::to_string(s.failures) + " failed" +
               (s.abandoned ? ", " + std::to_string(s.abandoned) + " abandoned" : std::string());
    };
    const auto server_line = [&](const char* indent, const std::string& name, const Server& s) {
        out += indent + name + ": " + counts(s);
        if (!s.tls.empty()) out += "; TLS " + join({s.tls.begin(), s.tls.end()}, ", ");
        if (!s.ciphers.empty()) out += "; suites " + join({s.ciphers.begin(), s.ciphers.end()}, ", ");
        if (!s.certs.empty()) out += "; certificate signed with " + join({s.certs.begin(), s.certs.end()}, ", ");
        if (!s.versions.empty()) out += "; version " + join({s.versions.begin(), s.versions.end()}, ", ");
        if (!s.clients.empty()) out += "; clients " + join({s.clients.begin(), s.clients.end()}, ", ");
        out += "\n";
    };
    for (const auto& [name, s] : servers_) server_line("  ", name, s);
    // A name the clients looked up: its totals, then each of its addresses the connections went to.
    for (const auto& [name, addresses] : names_) {
        Server total;
        for (const auto& [addr, s] : addresses) {
            total.connections += s.connections;
            total.failures += s.failures;
            total.abandoned += s.abandoned;
        }
        out += "  " + name + " (DNS name, " + std::to_string(addresses.size()) + " address(es)): " + counts(total) +
               "\n";
        for (const auto& [addr, s] : addresses) server_line("    ", addr, s);
    }
    out += "\nClients (connections per second)\n";
    if (client_starts_.empty()) out += "  none\n";
    for (const auto& [addr, starts] : client_starts_) {
        const ClientRate cr = client_rate(starts);
        char buf[256];
        std::snprintf(buf, sizeof buf, "  %s: %zu connection(s), peak %zu/s, average %.1f/s over %.1f s\n",
                      addr.c_str(), cr.connections, cr.peak_per_s, cr.average_per_s, cr.span_s);
        out += buf;
        if (cr.span_s >= 1.0 && cr.average_per_s > kExhaustionRatePerS) {
            std::snprintf(buf, sizeof buf,
                          "  warning: %s opens %.1f connections/s, faster than 16384 ephemeral ports in TIME_WAIT "
                          "(240 s, 2 MSL, the longest default TIME_WAIT) can sustain: kept up, likely port exhaustion (see port_reuse); "
                          "pool connections or widen the client's port range\n",
                          addr.c_str(), cr.average_per_s);
            out += buf;
        }
    }
    return out;
}

std::string utc_time(int64_t ns) {
    // Floor division, so that times before 1970 (a clock never set) still print.
    int64_t s = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) frac += 1000000000, --s;
    int64_t days = s / 86400, sod = s % 86400;
    if (sod < 0) sod += 86400, --days;
    // The civil date of a day count (proleptic Gregorian, eras of 400 years).
    const int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    const int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    char buf[96];  // room for any int in each part
    // Each part fits an int (years up to 2262 in 64-bit nanoseconds); %d prints alike on every C runtime.
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", static_cast<int>(year), static_cast<int>(month),
                  static_cast<int>(day), static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                  static_cast<int>(sod % 60), static_cast<int>(frac / 1000));
    return buf;
}

std::string address_of(const std::string& endpoint) {
    if (!endpoint.empty() && endpoint[0] == '[') {
        const size_t close = endpoint.find(']');
        return close == std::string::npos ? endpoint : endpoint.substr(1, close - 1);
    }
    const size_t colon = endpoint.rfind(':');
    if (colon == std::string::npos || endpoint.find(':') != colon) return endpoint;
    return endpoint.substr(0, colon);
}

ClientRate client_rate(std::vector<double> starts_s) {
    ClientRate cr;
    cr.connections = starts_s.size();
    if (starts_s.empty()) return cr;
    std::sort(starts_s.begin(), starts_s.end());
    size_t lo = 0;
    for (size_t hi = 0; hi < starts_s.size(); ++hi) {
        while (starts_s[hi] - starts_s[lo] >= 1.0) ++lo;
        cr.peak_per_s = std::max(cr.peak_per_s, hi - lo + 1);
    }
    cr.span_s = starts_s.back() - starts_s.front();
    if (starts_s.size() > 1 && cr.span_s > 0) cr.average_per_s = double(starts_s.size() - 1) / cr.span_s;
    return cr;
}

std::string summary_page(const std::vector<Row>& rows) {
    SummaryPage page;
    for (const Row& r : rows) page.add(r);
    return page.text();
}

namespace {

// The columns a table needs to be summarised; the others may be missing (older or newer tables).
constexpr const char* kCsvRequired[] = {"stream", "server", "outcome", "diagnoses"};

// Splits one CSV record (RFC 4180; no newlines inside fields, as csv_table never writes them).
bool split_csv(const std::string& line, std::vector<std::string>& out) {
    out.clear();
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cur += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cur += c;
            }
        } else if (c == '"' && cur.empty()) {
            quoted = true;
        } else if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else if (c != '\r') {
            cur += c;
        }
    }
    out.push_back(cur);
    return !quoted;
}

}  // namespace

bool parse_csv(std::istream& in, std::vector<Row>& rows, std::string& error) {
    std::string line;
    std::vector<std::string> header, f;
    std::vector<Row> read;  // added to `rows` only when the whole table reads
    size_t lineno = 0;
    auto col = [&](const char* name) -> int {
        for (size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return static_cast<int>(i);
        return -1;
    };
    constexpr size_t kCount = sizeof kTable / sizeof kTable[0];
    int at[kCount];  // where each column is in the header, -1 if not there
    std::fill(at, at + kCount, -1);
    int file_at = -1;  // tdsdiag-batch's `file` column
    while (std::getline(in, line)) {
        ++lineno;
        if (line.empty() || line == "\r") continue;
        if (!split_csv(line, f)) {
            error = "line " + std::to_string(lineno) + ": unbalanced quotes";
            return false;
        }
        // The first line is the header; a later one is a header repeated where tables were merged
        // (no row has a cell "stream" beside a cell "server": those hold numbers and addresses).
        const bool is_header = header.empty() || (std::find(f.begin(), f.end(), "stream") != f.end() &&
                                                  std::find(f.begin(), f.end(), "server") != f.end());
        if (is_header) {
            header = f;
            for (size_t i = 0; i < kCount; ++i) at[i] = kTable[i].csv != nullptr ? col(kTable[i].csv) : -1;
            file_at = col("file");
            std::string missing;
            for (const char* name : kCsvRequired)
                if (col(name) < 0) missing += std::string(missing.empty() ? "" : ", ") + name;
            if (!missing.empty()) {
                error = "line " + std::to_string(lineno) + ": the header has no column " + missing +
                        " (a tdsdiag connection table, from tshark -z tdsdiag,csv or tdsdiag-batch, has " +
                        "stream, server, outcome and diagnoses)";
                return false;
            }
            continue;
        }
        if (f.size() != header.size()) {
            error = "line " + std::to_string(lineno) + ": " + std::to_string(f.size()) + " fields, the header has " +
                    std::to_string(header.size());
            return false;
        }
        Row r;
        for (size_t i = 0; i < kCount; ++i)
            if (kTable[i].csv != nullptr) kTable[i].read(at[i] < 0 ? std::string() : f[static_cast<size_t>(at[i])], r);
        if (file_at >= 0) r.file = f[static_cast<size_t>(file_at)];
        read.push_back(std::move(r));
    }
    if (header.empty()) {
        error = "empty: no header and no rows";
        return false;
    }
    rows.insert(rows.end(), std::make_move_iterator(read.begin()), std::make_move_iterator(read.end()));
    return true;
}

}  // namespace tdsdiag

#include "tdsdiag/report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <map>

namespace tdsdiag {
namespace {

std::string endpoint(const std::string& addr, uint16_t port) {
    if (addr.find(':') != std::string::npos) return "[" + addr + "]:" + std::to_string(port);
    return addr + ":" + std::to_string(port);
}

// As printf's "%.*f" (the same correctly rounded digits), without its cost: a table of thousands of
// connections formats tens of thousands of these.
std::string fixed(double v, int decimals) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    if (r.ec == std::errc()) return std::string(buf, r.ptr);
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

// Adds a diagnosis code's name to the row, once.
void add_diagnosis(Row& r, Code code) {
    const std::string name = code_info(code).name;
    if (std::find(r.diagnoses.begin(), r.diagnoses.end(), name) == r.diagnoses.end()) r.diagnoses.push_back(name);
}

std::string close_text(const Row& r) { return r.close_by.empty() ? "-" : r.close_by + " " + r.close_kind; }

}  // namespace

Row make_row(const Analyzer& analyzer, const Connection& c, int64_t capture_start_ns) {
    const Summary s = c.summary(true);
    Row r;
    r.stream = c.stream();
    r.client = endpoint(c.client_addr(), c.client_port());
    r.server = endpoint(c.server_addr(), c.server_port());
    r.start_s = static_cast<double>(c.start_ns() - capture_start_ns) / 1e9;
    r.last_step = s.last_step;
    // A step lasts from its opening to the next opening, the last one to the connection's last frame.
    std::vector<std::pair<int64_t, int>> opened;
    for (int k = 1; k <= 7; ++k)
        if (const auto& t = c.step_opened_ns(static_cast<Step>(k))) opened.emplace_back(*t, k);
    std::sort(opened.begin(), opened.end());
    for (size_t i = 0; i < opened.size(); ++i) {
        const int64_t end = i + 1 < opened.size() ? opened[i + 1].first : c.last_ns();
        r.step_ms[opened[i].second] = static_cast<double>(end - opened[i].first) / 1e6;
    }
    r.encryption = encryption_name(s.encryption);
    if (s.tls_version) r.tls_version = tls_version_name(*s.tls_version);
    if (s.cipher) {
        const char* name = analyzer.config().cipher_name ? analyzer.config().cipher_name(*s.cipher) : nullptr;
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%04x", *s.cipher);
        r.cipher = name ? name : hex;
    }
    r.close_by = side_name(s.close_by);
    r.close_kind = close_kind_name(s.close_kind);
    r.outcome = outcome_name(s.outcome);
    r.cert_signature = s.cert_signature;
    // The SQL Browser lookup that gave the connection its port came first.
    if (c.browser_lookup())
        if (const BrowserLookup* l = analyzer.lookup(*c.browser_lookup()))
            for (const LookupFinding& f : l->findings(true)) add_diagnosis(r, f.diagnosis.code);
    for (const Finding& f : c.findings())
        if (!f.retracted) add_diagnosis(r, f.code);
    return r;
}

Row make_lookup_row(const BrowserLookup& l, int64_t capture_start_ns) {
    Row r;
    r.stream = l.stream();
    r.client = endpoint(l.client_addr(), l.client_port());
    r.server = endpoint(l.server_addr(), kSsrpPort) + "/udp";
    r.start_s = static_cast<double>(l.start_ns() - capture_start_ns) / 1e9;
    r.last_step = Step::Browser;
    for (const LookupFinding& f : l.findings(true)) add_diagnosis(r, f.diagnosis.code);
    r.outcome = r.diagnoses.empty() ? outcome_name(Outcome::Unknown) : outcome_name(Outcome::Failed);
    return r;
}

std::vector<Row> make_rows(const Analyzer& analyzer, int64_t capture_start_ns, const std::set<uint32_t>* streams,
                           const std::set<uint32_t>* lookups) {
    std::vector<std::pair<uint32_t, Row>> rows;  // by first frame
    for (const Connection* c : analyzer.connections())
        if (!streams || streams->count(c->stream()))
            rows.emplace_back(c->first_frame(), make_row(analyzer, *c, capture_start_ns));
    for (size_t i = 0; i < analyzer.lookup_count(); ++i) {
        const BrowserLookup* l = analyzer.lookup(static_cast<uint32_t>(i));
        if (l == nullptr || l->linked_stream) continue;
        if (streams && (!lookups || !lookups->count(l->id()))) continue;
        rows.emplace_back(l->first_frame(), make_lookup_row(*l, capture_start_ns));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Row> out;
    out.reserve(rows.size());
    for (auto& [frame, row] : rows) out.push_back(std::move(row));
    return out;
}

namespace {

constexpr const char* kConvHeader[] = {"stream", "client", "server", "start_s", "last", "s1_ms", "s2_ms", "s3_ms",
                                       "s4_ms", "s5_ms", "s6_ms", "s7_ms", "encryption", "tls", "cipher", "close",
                                       "outcome", "diagnoses"};
constexpr size_t kConvColumns = sizeof kConvHeader / sizeof kConvHeader[0];

// One row's cells, into `cells` (reused from row to row).
void conv_cells(const Row& r, std::vector<std::string>& cells) {
    cells.clear();
    cells.push_back(std::to_string(r.stream));
    cells.push_back(r.client);
    cells.push_back(r.server);
    cells.push_back(fixed(r.start_s, 3));
    cells.push_back(r.last_step ? std::to_string(static_cast<int>(*r.last_step)) : "-");
    for (int k = 1; k <= 7; ++k) cells.push_back(r.step_ms[k] ? fixed(*r.step_ms[k], 1) : "-");
    cells.push_back(r.encryption.empty() ? "-" : r.encryption);
    cells.push_back(r.tls_version.empty() ? "-" : r.tls_version);
    cells.push_back(r.cipher.empty() ? "-" : r.cipher);
    cells.push_back(close_text(r));
    cells.push_back(r.outcome.empty() ? "-" : r.outcome);
    cells.push_back(r.diagnoses.empty() ? "-" : join(r.diagnoses, ","));
}

void conv_line(const std::vector<std::string>& cells, const size_t* width, std::string& line) {
    line.clear();
    for (size_t i = 0; i < cells.size(); ++i) {
        line += cells[i];
        if (i + 1 < cells.size()) line.append(width[i] - cells[i].size() + 2, ' ');
    }
    line += '\n';
}

}  // namespace

void write_conv_table(const std::vector<Row>& rows, const std::function<void(const std::string&)>& emit) {
    // Two passes over the rows, formatting each twice, rather than holding every cell of a table
    // of perhaps a hundred thousand connections: the first finds the column widths.
    std::vector<std::string> cells(std::begin(kConvHeader), std::end(kConvHeader));
    size_t width[kConvColumns] = {};
    for (size_t i = 0; i < kConvColumns; ++i) width[i] = cells[i].size();
    for (const Row& r : rows) {
        conv_cells(r, cells);
        for (size_t i = 0; i < kConvColumns; ++i) width[i] = std::max(width[i], cells[i].size());
    }
    std::string line = "SQL Server connections (tdsdiag): " + std::to_string(rows.size()) + "\n";
    emit(line);
    cells.assign(std::begin(kConvHeader), std::end(kConvHeader));
    conv_line(cells, width, line);
    emit(line);
    for (const Row& r : rows) {
        conv_cells(r, cells);
        conv_line(cells, width, line);
        emit(line);
    }
}

std::string conv_table(const std::vector<Row>& rows) {
    std::string out;
    write_conv_table(rows, [&](const std::string& line) { out += line; });
    return out;
}

std::string csv_table(const std::vector<Row>& rows) {
    std::string out =
        "stream,client,server,start_s,last_step,s1_ms,s2_ms,s3_ms,s4_ms,s5_ms,s6_ms,s7_ms,encryption,tls_version,"
        "cipher,close_by,close_kind,outcome,diagnoses,cert_signature\n";
    for (const Row& r : rows) {
        std::vector<std::string> c{std::to_string(r.stream), r.client, r.server, fixed(r.start_s, 6),
                                   r.last_step ? std::to_string(static_cast<int>(*r.last_step)) : ""};
        for (int k = 1; k <= 7; ++k) c.push_back(r.step_ms[k] ? fixed(*r.step_ms[k], 3) : "");
        for (const std::string* s : {&r.encryption, &r.tls_version, &r.cipher, &r.close_by, &r.close_kind, &r.outcome})
            c.push_back(*s);
        c.push_back(join(r.diagnoses, " "));
        c.push_back(r.cert_signature);
        std::string line;
        for (size_t i = 0; i < c.size(); ++i) line += (i ? "," : "") + csv_field(c[i]);
        out += line + "\n";
    }
    return out;
}

std::string summary_page(const std::vector<Row>& rows) {
    std::map<std::string, int> outcomes, codes;
    struct Server {
        int connections = 0, failures = 0;
        std::set<std::string> tls, ciphers, certs;
    };
    std::map<std::string, Server> servers;
    for (const Row& r : rows) {
        outcomes[r.outcome.empty() ? "-" : r.outcome]++;
        for (const auto& d : r.diagnoses) codes[d]++;
        Server& s = servers[r.server];
        s.connections++;
        if (r.outcome == "failed" || r.outcome == "login_failed") s.failures++;
        if (!r.tls_version.empty()) s.tls.insert(r.tls_version);
        if (!r.cipher.empty()) s.ciphers.insert(r.cipher);
        if (!r.cert_signature.empty()) s.certs.insert(r.cert_signature);
    }
    std::string out = "SQL Server connections (tdsdiag): " + std::to_string(rows.size()) + "\n\nOutcomes\n";
    for (const auto& [k, n] : outcomes) out += "  " + k + ": " + std::to_string(n) + "\n";
    out += "\nDiagnoses (connections carrying each)\n";
    if (codes.empty()) out += "  none\n";
    for (const auto& [k, n] : codes) {
        const char* fix = "";
        for (size_t i = 0; i < kCodeCount; ++i)
            if (k == code_info(static_cast<Code>(i)).name) fix = code_info(static_cast<Code>(i)).fix;
        out += "  " + k + ": " + std::to_string(n) + (*fix ? std::string(" - fix: ") + fix : std::string()) + "\n";
    }
    out += "\nServers\n";
    for (const auto& [name, s] : servers) {
        out += "  " + name + ": " + std::to_string(s.connections) + " connection(s), " + std::to_string(s.failures) +
               " failed";
        if (!s.tls.empty()) out += "; TLS " + join({s.tls.begin(), s.tls.end()}, ", ");
        if (!s.ciphers.empty()) out += "; suites " + join({s.ciphers.begin(), s.ciphers.end()}, ", ");
        if (!s.certs.empty()) out += "; certificate signed with " + join({s.certs.begin(), s.certs.end()}, ", ");
        out += "\n";
    }
    return out;
}

namespace {

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

}  // namespace

bool parse_csv(std::istream& in, std::vector<Row>& rows, std::string& error) {
    std::string line;
    std::vector<std::string> header, f;
    size_t lineno = 0;
    auto col = [&](const char* name) -> int {
        for (size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return static_cast<int>(i);
        return -1;
    };
    int c_stream = -1, c_client = -1, c_server = -1, c_start = -1, c_last = -1, c_enc = -1, c_tls = -1, c_cipher = -1,
        c_by = -1, c_kind = -1, c_outcome = -1, c_diag = -1, c_cert = -1, c_step[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    while (std::getline(in, line)) {
        ++lineno;
        if (line.empty()) continue;
        if (!split_csv(line, f)) {
            error = "line " + std::to_string(lineno) + ": unbalanced quotes";
            return false;
        }
        const bool is_header = std::find(f.begin(), f.end(), "stream") != f.end() &&
                               std::find(f.begin(), f.end(), "outcome") != f.end();
        if (is_header) {  // the first row, or a header repeated where tables were merged
            header = f;
            c_stream = col("stream"), c_client = col("client"), c_server = col("server"), c_start = col("start_s");
            c_last = col("last_step"), c_enc = col("encryption"), c_tls = col("tls_version"), c_cipher = col("cipher");
            c_by = col("close_by"), c_kind = col("close_kind"), c_outcome = col("outcome"), c_diag = col("diagnoses");
            c_cert = col("cert_signature");
            for (int k = 1; k <= 7; ++k) c_step[k] = col(("s" + std::to_string(k) + "_ms").c_str());
            if (c_server < 0 || c_diag < 0) {
                error = "line " + std::to_string(lineno) + ": not a tdsdiag connection table header";
                return false;
            }
            continue;
        }
        if (header.empty()) {
            error = "line " + std::to_string(lineno) + ": no tdsdiag header before the rows";
            return false;
        }
        if (f.size() != header.size()) {
            error = "line " + std::to_string(lineno) + ": " + std::to_string(f.size()) + " fields, the header has " +
                    std::to_string(header.size());
            return false;
        }
        auto get = [&](int c) { return c < 0 ? std::string() : f[static_cast<size_t>(c)]; };
        Row r;
        r.stream = whole(get(c_stream), UINT32_MAX).value_or(0);
        r.client = get(c_client);
        r.server = get(c_server);
        r.start_s = number(get(c_start)).value_or(0);
        if (auto v = whole(get(c_last), 7)) r.last_step = static_cast<Step>(*v);
        for (int k = 1; k <= 7; ++k) r.step_ms[k] = number(get(c_step[k]));
        r.encryption = get(c_enc);
        r.tls_version = get(c_tls);
        r.cipher = get(c_cipher);
        r.close_by = get(c_by);
        r.close_kind = get(c_kind);
        r.outcome = get(c_outcome);
        r.cert_signature = get(c_cert);
        const std::string diags = get(c_diag);
        size_t pos = 0;
        while (pos < diags.size()) {
            const size_t sp = diags.find(' ', pos);
            const std::string d = diags.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
            if (!d.empty()) r.diagnoses.push_back(d);
            if (sp == std::string::npos) break;
            pos = sp + 1;
        }
        rows.push_back(std::move(r));
    }
    return true;
}

}  // namespace tdsdiag

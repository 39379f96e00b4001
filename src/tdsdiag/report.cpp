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

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

// Adds a diagnosis code's name to the row, once.
void add_diagnosis(Row& r, Code code) {
    const char* name = code_info(code).name;
    if (std::find(r.diagnoses.begin(), r.diagnoses.end(), name) == r.diagnoses.end()) r.diagnoses.emplace_back(name);
}

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
        if (const auto t = c.step_opened_ns(static_cast<Step>(k))) opened.emplace_back(*t, k);
    std::sort(opened.begin(), opened.end());
    for (size_t i = 0; i < opened.size(); ++i) {
        const int64_t end = i + 1 < opened.size() ? opened[i + 1].first : c.last_ns();
        r.step_ms[opened[i].second] = static_cast<double>(end - opened[i].first) / 1e6;
    }
    r.encryption = encryption_name(s.encryption);
    if (s.tls_version) r.tls_version = tls_version_name(*s.tls_version);
    if (s.cipher) {
        const char* name = analyzer.config().cipher_name ? analyzer.config().cipher_name(*s.cipher) : nullptr;
        if (name != nullptr) {
            r.cipher = name;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%04x", *s.cipher);
            r.cipher = hex;
        }
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
        if (c.stands(f)) add_diagnosis(r, f.code);
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

constexpr const char* kConvHeader[] = {"stream", "client", "server", "start_s", "last", "s1_ms", "s2_ms", "s3_ms",
                                       "s4_ms", "s5_ms", "s6_ms", "s7_ms", "encryption", "tls", "cipher", "close",
                                       "outcome", "diagnoses"};

// Appends one row's cells to `out`, each ended by '\0', and widens `width` (one per column) to fit them.
void conv_cells(const Row& r, std::string& out, size_t* width) {
    // Appended in place: no cell is copied into a string of its own first.
    size_t col = 0, start = out.size();
    auto end = [&] {
        width[col] = std::max(width[col], out.size() - start);
        ++col;
        out += '\0';
        start = out.size();
    };
    auto text = [&](const std::string& s) {
        if (s.empty()) {
            out += '-';
        } else if (s.find('\0') == std::string::npos) {
            out += s;
        } else {  // '\0' ends a cell in the kept text
            const size_t at = out.size();
            out += s;
            std::replace(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(), '\0', '?');
        }
        end();
    };
    auto number = [&](const std::optional<double>& v, int decimals) {
        if (v)
            out += fixed(*v, decimals);
        else
            out += '-';
        end();
    };
    out += std::to_string(r.stream);
    end();
    text(r.client);
    text(r.server);
    number(r.start_s, 3);
    if (r.last_step)
        out += static_cast<char>('0' + static_cast<int>(*r.last_step) % 10);
    else
        out += '-';
    end();
    for (int k = 1; k <= 7; ++k) number(r.step_ms[k], 1);
    text(r.encryption);
    text(r.tls_version);
    text(r.cipher);
    if (r.close_by.empty()) {
        out += '-';
        end();
    } else {
        text(r.close_by + " " + r.close_kind);
    }
    text(r.outcome);
    text(join(r.diagnoses, ","));
}

}  // namespace

ConvTable::ConvTable() {
    static_assert(sizeof kConvHeader / sizeof kConvHeader[0] == kColumns, "one width per column");
    for (size_t i = 0; i < kColumns; ++i) width_[i] = std::char_traits<char>::length(kConvHeader[i]);
}

void ConvTable::add(const Row& r) {
    if (chunks_.empty() || chunks_.back().size() >= kChunk) {
        chunks_.emplace_back();
        chunks_.back().reserve(kChunk + 1024);  // a row rarely takes more than the margin
        chunk_rows_.push_back(0);
    }
    std::string& chunk = chunks_.back();
    conv_cells(r, chunk, width_);
    ends_.push_back(static_cast<uint32_t>(chunk.size()));  // (a chunk stays far below 4 GB)
    ++chunk_rows_.back();
}

void ConvTable::write(const std::function<void(const std::string&)>& emit) const {
    std::string line = "SQL Server connections (tdsdiag): " + std::to_string(ends_.size()) + "\n";
    emit(line);
    line.clear();
    // Cell i of the line, padded to its column's width but the last.
    auto put = [&](size_t i, const char* text, size_t n) {
        line.append(text, n);
        if (i + 1 < kColumns) line.append(width_[i] > n ? width_[i] - n + 2 : 2, ' ');
        if (i + 1 == kColumns) line += '\n';
    };
    for (size_t i = 0; i < kColumns; ++i) put(i, kConvHeader[i], std::char_traits<char>::length(kConvHeader[i]));
    emit(line);
    size_t row = 0;
    for (size_t c = 0; c < chunks_.size(); ++c) {
        size_t begin = 0;
        for (size_t k = 0; k < chunk_rows_[c]; ++k, ++row) {
            const size_t end = ends_[row];
            line.clear();
            const char* p = chunks_[c].data() + begin;
            const char* const last = chunks_[c].data() + end;
            for (size_t i = 0; i < kColumns; ++i) {
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
    return "stream,client,server,start_s,last_step,s1_ms,s2_ms,s3_ms,s4_ms,s5_ms,s6_ms,s7_ms,encryption,tls_version,"
           "cipher,close_by,close_kind,outcome,diagnoses,cert_signature\n";
}

std::string csv_line(const Row& r) {
    std::string line = std::to_string(r.stream) + ',' + csv_field(r.client) + ',' + csv_field(r.server) + ',' +
                       fixed(r.start_s, 6) + ',' + (r.last_step ? std::to_string(static_cast<int>(*r.last_step)) : "");
    for (int k = 1; k <= 7; ++k) line += ',' + (r.step_ms[k] ? fixed(*r.step_ms[k], 3) : std::string());
    for (const std::string* s : {&r.encryption, &r.tls_version, &r.cipher, &r.close_by, &r.close_kind, &r.outcome})
        line += ',' + csv_field(*s);
    line += ',' + csv_field(join(r.diagnoses, " "));
    line += ',' + csv_field(r.cert_signature);
    return line + "\n";
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
    Server& s = servers_[r.server];
    s.connections++;
    if (r.outcome == "failed" || r.outcome == "login_failed") s.failures++;
    if (!r.tls_version.empty()) s.tls.insert(r.tls_version);
    if (!r.cipher.empty()) s.ciphers.insert(r.cipher);
    if (!r.cert_signature.empty()) s.certs.insert(r.cert_signature);
}

std::string SummaryPage::text() const {
    std::string out = "SQL Server connections (tdsdiag): " + std::to_string(rows_) + "\n\nOutcomes\n";
    for (const auto& [k, n] : outcomes_) out += "  " + k + ": " + std::to_string(n) + "\n";
    out += "\nDiagnoses (connections carrying each)\n";
    if (codes_.empty()) out += "  none\n";
    for (const auto& [k, n] : codes_) {
        const char* fix = "";
        for (size_t i = 0; i < kCodeCount; ++i)
            if (k == code_info(static_cast<Code>(i)).name) fix = code_info(static_cast<Code>(i)).fix;
        out += "  " + k + ": " + std::to_string(n) + (*fix ? std::string(" - fix: ") + fix : std::string()) + "\n";
    }
    out += "\nServers\n";
    for (const auto& [name, s] : servers_) {
        out += "  " + name + ": " + std::to_string(s.connections) + " connection(s), " + std::to_string(s.failures) +
               " failed";
        if (!s.tls.empty()) out += "; TLS " + join({s.tls.begin(), s.tls.end()}, ", ");
        if (!s.ciphers.empty()) out += "; suites " + join({s.ciphers.begin(), s.ciphers.end()}, ", ");
        if (!s.certs.empty()) out += "; certificate signed with " + join({s.certs.begin(), s.certs.end()}, ", ");
        out += "\n";
    }
    return out;
}

std::string summary_page(const std::vector<Row>& rows) {
    SummaryPage page;
    for (const Row& r : rows) page.add(r);
    return page.text();
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

// libFuzzer target: arbitrary bytes become a sequence of frames (the core's event input) for an
// Analyzer, then every report is formatted and read back. The core must neither crash nor trip
// a sanitizer, whatever the dissectors hand it. Also fuzzes the certificate and CSV readers,
// the TCP header finder, and the stream table against a plain map.
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "tdsdiag/analyzer.hpp"
#include "tdsdiag/tds_probe.hpp"
#include "tdsdiag/report.hpp"
#include "tdsdiag/tcp_header.hpp"
#include "tdsdiag/x509.hpp"

namespace {

struct Reader {
    const uint8_t* p;
    size_t n;
    uint8_t u8() { return n ? (--n, *p++) : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
    uint32_t u32() { return static_cast<uint32_t>(u16()) << 16 | u16(); }
    template <typename T, typename F>
    void list(std::vector<T>& v, F f, unsigned max) {
        for (unsigned k = u8() % (max + 1); k > 0 && n; --k) v.push_back(f());
    }
};

const char* names(uint16_t suite) { return (suite & 1) ? "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" : nullptr; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader in{data, size};
    const uint8_t mode = in.u8();
    if (mode % 4 == 1) {  // the readers of raw packet bytes: certificate, SSPI blobs, routing, SSRP, TLS hellos, PRELOGIN
        tdsdiag::parse_certificate(in.p, in.n);
        tdsdiag::parse_auth_token(in.p, in.n);
        tdsdiag::scan_sspi_response(in.p, in.n);
        bool integrated = false;
        size_t off = 0, len = 0;
        if (tdsdiag::login7_sspi(in.p, in.n, integrated, off, len) && len > 0) tdsdiag::parse_auth_token(in.p + off, len);
        tdsdiag::login7_password_chars(in.p, in.n);
        const tdsdiag::LoginTokens tokens = tdsdiag::walk_login_tokens(in.p, in.n);
        if (tokens.tokens > in.n) __builtin_trap();  // a token is at least one byte
        tdsdiag::Routing routing;
        tdsdiag::parse_routing(in.p, in.n, routing);
        tdsdiag::parse_ssrp(in.p, in.n, (mode & 0x10) != 0);
        tdsdiag::probe_tds_start(in.p, in.n);
        tdsdiag::Packet prelogin;
        tdsdiag::parse_prelogin(in.p, in.n, prelogin);
        for (uint8_t type : {tdsdiag::kHsClientHello, tdsdiag::kHsServerHello, tdsdiag::kHsEncryptedExtensions}) {
            tdsdiag::Packet hello;
            tdsdiag::parse_tls_hello(type, in.p, in.n, hello);
        }
        // A frame's TCP header, looked for by addresses and ports taken from the frame's own bytes
        // (so that the fuzzer can make them match), over a reported length that may exceed the bytes.
        if (in.n >= 44) {
            const size_t alen = (mode & 0x20) ? 16 : 4;
            const uint8_t* src = in.p + in.n - 2 * alen - 4;
            const uint8_t* dst = src + alen;
            const uint16_t sport = static_cast<uint16_t>(dst[alen] << 8 | dst[alen + 1]);
            const uint16_t dport = static_cast<uint16_t>(dst[alen + 2] << 8 | dst[alen + 3]);
            tdsdiag::TcpHeaderAt h;
            if (tdsdiag::find_tcp_header(in.p, in.n, in.n + (mode >> 6) * 1000, src, dst, alen, sport, dport, h) &&
                (h.offset + 20 > in.n || (h.payload >= 0 && h.header_len < 20)))
                __builtin_trap();  // a header reported found must lie within the bytes, with a sane length
        }
        return 0;
    }
    if (mode % 4 == 2 && (mode & 0x04)) {  // the stream table: set and find tuples, checked against a map
        tdsdiag::StreamTable table;
        std::map<std::vector<uint8_t>, uint32_t> model;
        while (in.n > 0) {
            const uint8_t op = in.u8();
            const size_t alen = (op & 1) ? 16 : 4;
            uint8_t a[16] = {}, b[16] = {};
            // Few distinct addresses and ports, so that tuples repeat and collide.
            a[alen - 1] = static_cast<uint8_t>(in.u8() & 0x3f);
            b[alen - 1] = static_cast<uint8_t>(in.u8() & 0x3f);
            const uint16_t pa = static_cast<uint16_t>(in.u8() & 0x0f), pb = static_cast<uint16_t>(1433 + (op >> 6));
            const tdsdiag::TcpTuple t = tdsdiag::TcpTuple::of(a, b, alen, pa, pb);
            std::vector<uint8_t> key(t.addr[0], t.addr[0] + alen);
            key.insert(key.end(), t.addr[1], t.addr[1] + alen);
            key.push_back(static_cast<uint8_t>(t.port[0] >> 8));
            key.push_back(static_cast<uint8_t>(t.port[0]));
            key.push_back(static_cast<uint8_t>(t.port[1] >> 8));
            key.push_back(static_cast<uint8_t>(t.port[1]));
            key.push_back(static_cast<uint8_t>(alen));
            if (op & 2) {
                const uint32_t stream = (op & 4) ? UINT32_MAX : in.u16();
                if (table.set(t, stream) != (stream != UINT32_MAX)) __builtin_trap();
                if (stream != UINT32_MAX) model[key] = stream;
            }
            uint32_t found = 0;
            const auto it = model.find(key);
            if (table.find(t, found) != (it != model.end()) || (it != model.end() && found != it->second))
                __builtin_trap();
        }
        if (table.size() != model.size()) __builtin_trap();
        return 0;
    }
    if (mode % 4 == 2) {  // the CSV reader on raw text
        std::istringstream s(std::string(reinterpret_cast<const char*>(in.p), in.n));
        std::vector<tdsdiag::Row> rows;
        std::string error;
        if (tdsdiag::parse_csv(s, rows, error)) tdsdiag::summary_page(rows);
        return 0;
    }
    tdsdiag::Config config;
    config.cipher_name = names;
    config.sql_ports = {1433, static_cast<uint16_t>(in.u16())};
    tdsdiag::Analyzer analyzer(config);
    int64_t t = 0;
    for (uint32_t frame = 1; in.n > 0 && frame < 4096; ++frame) {
        if (in.u8() % 8 == 0) {  // an SQL Browser datagram (request, answer or ICMP error) from the next bytes
            tdsdiag::BrowserPacket b;
            b.frame = frame;
            t += in.u16() * 1000000LL;
            b.time_ns = t;
            const uint8_t how = in.u8();
            const bool answer = how & 1;
            b.icmp_error = (how & 6) == 6;
            b.src_addr = answer ? "10.0.0.2" : "10.0.0.1";
            b.dst_addr = answer ? "10.0.0.1" : "10.0.0.2";
            b.src_port = answer ? 1434 : static_cast<uint16_t>(50000 + (how >> 4));
            b.dst_port = answer ? static_cast<uint16_t>(50000 + (how >> 4)) : 1434;
            b.icmp_type = in.u8();
            b.icmp_code = in.u8();
            const size_t len = std::min<size_t>(in.u8(), in.n);
            b.msg = tdsdiag::parse_ssrp(in.p, len, answer);
            in.p += len;
            in.n -= len;
            const tdsdiag::FrameResult r = analyzer.on_browser(b);
            for (const auto& d : r.diagnoses)
                if (d.text.size() > tdsdiag::kMaxTextLength) __builtin_trap();
            continue;
        }
        tdsdiag::Packet p;
        p.frame = frame;
        t += in.u16() * 1000000LL;
        p.time_ns = t;
        p.stream = in.u8() % 4;
        const bool c = in.u8() & 1;
        p.src_addr = c ? "10.0.0.1" : "10.0.0.2";
        p.dst_addr = c ? "10.0.0.2" : "10.0.0.1";
        p.src_port = c ? 50000 : 1433;
        p.dst_port = c ? 1433 : 50000;
        p.tcp_flags = in.u8();
        p.tcp_len = in.u16();
        p.retransmission = in.u8() & 1;
        p.checksum_ok = static_cast<int8_t>(in.u8() % 3) - 1;
        in.list(p.tds_types, [&] { return in.u8(); }, 3);
        p.prelogin_encryption = static_cast<int>(in.u8()) - 1;
        in.list(p.trace_id, [&] { return in.u8(); }, 36);
        p.login_ack = in.u8() & 1;
        in.list(p.errors, [&] { return tdsdiag::TdsError{in.u32(), in.u8(), in.u8(), std::string(in.u8() % 300, 'm')}; }, 2);
        in.list(p.tls_content_types, [&] { return in.u8(); }, 5);
        in.list(p.tls_handshake_types, [&] { return in.u8(); }, 5);
        in.list(p.tls_handshake_versions, [&] { return in.u16(); }, 2);
        in.list(p.tls_supported_versions, [&] { return in.u16(); }, 4);
        in.list(p.tls_cipher_suites, [&] { return in.u16(); }, 40);
        in.list(p.tls_alerts, [&] { return tdsdiag::TlsAlert{in.u8(), in.u8()}; }, 2);
        if (in.u8() % 4 == 0) {  // a certificate from the rest of this frame's bytes
            const size_t len = std::min<size_t>(in.u16(), in.n);
            p.certificates.emplace_back(in.p, in.p + len);
            in.p += len;
            in.n -= len;
        }
        // Sometimes what TCP saw of the stream before (a connection found at its first TDS message).
        const uint8_t seen = in.u8();
        tdsdiag::StreamStart start;
        start.frame = seen >> 2;
        start.ns = t - 1000000;
        start.syn = (seen & 1) != 0;
        const tdsdiag::FrameResult r = analyzer.on_packet(p, (seen & 2) != 0 ? &start : nullptr);
        for (const auto& d : r.diagnoses)
            if (d.text.size() > tdsdiag::kMaxTextLength) __builtin_trap();  // the expert-text contract
    }
    for (const tdsdiag::Analyzer::Started& c : analyzer.connections()) {
        if (c.stream != c.conn->stream() || c.first_frame != c.conn->first_frame()) __builtin_trap();
        c.conn->summary(false);
        c.conn->summary(true);
        // Every finding told again with all that the capture showed (the -2 and GUI view).
        for (const tdsdiag::Finding& f : c.conn->findings())
            for (const auto& d : c.conn->diagnoses_on(f.frame, true))
                if (d.text.size() > tdsdiag::kMaxTextLength) __builtin_trap();
    }
    for (size_t i = 0; i < analyzer.lookup_count(); ++i)
        for (const auto& f : analyzer.lookup(static_cast<uint32_t>(i))->findings(true))
            if (f.diagnosis.text.size() > tdsdiag::kMaxTextLength) __builtin_trap();
    const auto rows = tdsdiag::make_rows(analyzer, 0, nullptr);
    tdsdiag::conv_table(rows);
    tdsdiag::summary_page(rows);
    std::istringstream csv(tdsdiag::csv_table(rows));
    std::vector<tdsdiag::Row> back;
    std::string error;
    if (!tdsdiag::parse_csv(csv, back, error) || back.size() != rows.size()) __builtin_trap();  // round trip
    return 0;
}

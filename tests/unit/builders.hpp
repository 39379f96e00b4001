// Small builders of tdsdiag::Packet for the unit tests: one line per frame of a conversation.
#pragma once

#include <initializer_list>
#include <vector>

#include "tdsdiag/analyzer.hpp"
#include "tdsdiag/packet.hpp"

namespace test {

using tdsdiag::Packet;

constexpr uint16_t kClientPort = 50000;
constexpr uint16_t kServerPort = 1433;

// A frame of stream `stream`, sent by the client (or the server) `ms` milliseconds into the capture.
inline Packet frame(bool from_client, uint16_t flags, uint32_t len = 0, int64_t ms = 0, uint32_t stream = 0) {
    Packet p;
    p.stream = stream;
    p.time_ns = ms * 1000000;
    p.src_addr = from_client ? "10.10.10.10" : "10.10.10.120";
    p.dst_addr = from_client ? "10.10.10.120" : "10.10.10.10";
    p.src_port = static_cast<uint16_t>(from_client ? kClientPort + stream : kServerPort);
    p.dst_port = static_cast<uint16_t>(from_client ? kServerPort : kClientPort + stream);
    p.tcp_flags = flags;
    p.tcp_len = len;
    p.tcp_window = 1024;  // an open window; tests of zero windows set 0
    return p;
}

inline Packet syn() { return frame(true, tdsdiag::kSyn); }
inline Packet synack() { return frame(false, tdsdiag::kSyn | tdsdiag::kAck); }
inline Packet ack(bool c) { return frame(c, tdsdiag::kAck); }
inline Packet fin(bool c) { return frame(c, tdsdiag::kFin | tdsdiag::kAck); }
inline Packet rst(bool c) { return frame(c, tdsdiag::kRst | tdsdiag::kAck); }

inline Packet tds(bool c, std::initializer_list<uint8_t> types) {
    Packet p = frame(c, tdsdiag::kAck | tdsdiag::kPsh, 100);
    p.tds_types = types;
    return p;
}
inline Packet prelogin(int encryption) {
    Packet p = tds(true, {tdsdiag::kTdsPrelogin});
    p.prelogin_encryption = encryption;
    p.trace_id = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    return p;
}
inline Packet prelogin_response(int encryption) {
    Packet p = tds(false, {tdsdiag::kTdsResponse});
    p.prelogin_encryption = encryption;
    return p;
}
// TLS records, wrapped in a TDS PRELOGIN packet (TDS 7.x) or bare (after the handshake, or TDS 8.0).
inline Packet tls(bool c, std::initializer_list<uint8_t> content, std::initializer_list<uint8_t> handshake = {},
                  bool in_prelogin = true) {
    Packet p = frame(c, tdsdiag::kAck | tdsdiag::kPsh, 300);
    if (in_prelogin) p.tds_types = {tdsdiag::kTdsPrelogin};
    p.tls_content_types = content;
    p.tls_handshake_types = handshake;
    return p;
}
inline Packet client_hello(bool in_prelogin = true) {
    Packet p = tls(true, {22}, {1}, in_prelogin);
    if (!in_prelogin) p.tds_types = {tdsdiag::kTdsTlsMisparsed};
    p.tls_handshake_versions = {0x0303};
    p.tls_supported_versions = {0x0304, 0x0303};
    p.tls_cipher_suites = {0x1301, 0xc02f, 0xc030};
    return p;
}
inline Packet server_hello(uint16_t version = 0x0303, uint16_t cipher = 0xc02f, bool in_prelogin = true) {
    Packet p = tls(false, {22, 22, 22, 22}, {2, 11, 12, 14}, in_prelogin);
    p.tls_handshake_versions = {static_cast<uint16_t>(version == 0x0304 ? 0x0303 : version)};
    if (version == 0x0304) {
        p.tls_supported_versions = {0x0304};
        p.tls_content_types = {22, 20, 23, 23};
        p.tls_handshake_types = {2};
    }
    p.tls_cipher_suites = {cipher};
    return p;
}
inline Packet client_finished(bool in_prelogin = true) { return tls(true, {22, 20, 22}, {16}, in_prelogin); }
inline Packet server_finished(bool in_prelogin = true) { return tls(false, {20, 22}, {}, in_prelogin); }
inline Packet appdata(bool c, int records = 1) {
    Packet p = frame(c, tdsdiag::kAck | tdsdiag::kPsh, 200);
    p.tls_content_types.assign(static_cast<size_t>(records), tdsdiag::kTlsApplicationData);
    return p;
}
inline Packet login_ack() {
    Packet p = tds(false, {tdsdiag::kTdsResponse});
    p.login_ack = true;
    p.envchange_types = {1};
    return p;
}
inline Packet login_error(uint32_t number, uint8_t state) {
    Packet p = tds(false, {tdsdiag::kTdsResponse});
    p.errors.push_back({number, state, 14, "Login failed for user 'sa'."});
    return p;
}
inline Packet retrans(Packet p) {
    p.retransmission = true;
    return p;
}

// Numbers frames 1..n in order, spaced 10 ms apart unless a time was set, and feeds them.
struct Run {
    tdsdiag::Analyzer analyzer;
    explicit Run(std::vector<Packet> frames, tdsdiag::Config config) : analyzer(std::move(config)) { feed(std::move(frames)); }
    std::vector<tdsdiag::FrameResult> results;

    explicit Run(std::vector<Packet> frames) { feed(std::move(frames)); }
    void feed(std::vector<Packet> frames) {
        uint32_t n = static_cast<uint32_t>(results.size());
        for (Packet& p : frames) {
            p.frame = ++n;
            if (p.time_ns == 0) p.time_ns = static_cast<int64_t>(n) * 10000000;
            results.push_back(analyzer.on_packet(p));
        }
    }
    // Step numbers per frame, -1 where the frame has none.
    std::vector<int> steps() const {
        std::vector<int> v;
        for (const auto& r : results) v.push_back(r.step ? static_cast<int>(*r.step) : -1);
        return v;
    }
    // Frame numbers (1-based) that open a step.
    std::vector<int> firsts() const {
        std::vector<int> v;
        for (size_t i = 0; i < results.size(); ++i)
            if (results[i].step_first) v.push_back(static_cast<int>(i + 1));
        return v;
    }
    tdsdiag::Summary summary(bool complete = true, uint32_t stream = 0) const {
        return analyzer.find(stream)->summary(complete);
    }
};

// How many diagnoses `code` the run's frames carried (single pass).
inline size_t count(const Run& run, tdsdiag::Code code) {
    size_t n = 0;
    for (const auto& r : run.results)
        for (const auto& d : r.diagnoses) n += d.code == code;
    return n;
}

}  // namespace test

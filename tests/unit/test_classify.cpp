// classify(): what one frame says, as a pure function of the frame and a little context.
#include "catch_compat.hpp"

#include "builders.hpp"
#include "tdsdiag/connection.hpp"

using tdsdiag::ClassifyContext;
using tdsdiag::Message;

TEST_CASE("TCP control segments are classified by their flags", "[classify]") {
    ClassifyContext ctx;
    CHECK(tdsdiag::classify(test::syn(), true, ctx) == Message::Syn);
    CHECK(tdsdiag::classify(test::synack(), false, ctx) == Message::SynAck);
    CHECK(tdsdiag::classify(test::ack(true), true, ctx) == Message::Ack);
    CHECK(tdsdiag::classify(test::fin(false), false, ctx) == Message::Fin);
    CHECK(tdsdiag::classify(test::rst(true), true, ctx) == Message::Rst);
    SECTION("a RST wins over data in the same segment") {
        auto p = test::tds(true, {tdsdiag::kTdsSqlBatch});
        p.tcp_flags |= tdsdiag::kRst;
        CHECK(tdsdiag::classify(p, true, ctx) == Message::Rst);
    }
}

TEST_CASE("TDS packets are classified by type and by the side that sends them", "[classify]") {
    ClassifyContext ctx;
    CHECK(tdsdiag::classify(test::prelogin(0), true, ctx) == Message::PreloginRequest);
    CHECK(tdsdiag::classify(test::prelogin_response(0), false, ctx) == Message::PreloginResponse);
    CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsLogin7}), true, ctx) == Message::Login7);
    CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsSspi}), true, ctx) == Message::Sspi);
    CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsSqlBatch}), true, ctx) == Message::Command);
    CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsRpc}), true, ctx) == Message::Command);
    CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsAttention}), true, ctx) == Message::Command);
    CHECK(tdsdiag::classify(test::login_ack(), false, ctx) == Message::Response);
    SECTION("a payload no dissector named is plain data") {
        CHECK(tdsdiag::classify(test::frame(true, tdsdiag::kAck, 1460), true, ctx) == Message::Data);
    }
    SECTION("a server never sends a login, and a client never sends a response") {
        CHECK(tdsdiag::classify(test::tds(false, {tdsdiag::kTdsLogin7}), false, ctx) == Message::Data);
        CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsResponse}), true, ctx) == Message::Data);
    }
    SECTION("a bare TLS record that Wireshark 4.0 reads as TDS type 22 is a TLS handshake") {
        CHECK(tdsdiag::classify(test::tds(true, {tdsdiag::kTdsTlsMisparsed}), true, ctx) == Message::TlsHandshake);
    }
}

TEST_CASE("TLS records are handshake or application data", "[classify]") {
    ClassifyContext ctx;
    CHECK(tdsdiag::classify(test::client_hello(), true, ctx) == Message::TlsHandshake);
    CHECK(tdsdiag::classify(test::client_finished(), true, ctx) == Message::TlsHandshake);
    CHECK(tdsdiag::classify(test::appdata(true), true, ctx) == Message::AppData);
    SECTION("in TLS 1.3 the server's encrypted flight and the client's Finished are handshake") {
        ctx.tls13 = true;
        CHECK(tdsdiag::classify(test::appdata(false, 3), false, ctx) == Message::TlsHandshake);
        CHECK(tdsdiag::classify(test::appdata(true, 1), true, ctx) == Message::TlsHandshake);
        CHECK(tdsdiag::classify(test::appdata(true, 2), true, ctx) == Message::AppData);
        ctx.client_finished_seen = true;
        CHECK(tdsdiag::classify(test::appdata(true, 1), true, ctx) == Message::AppData);
        CHECK(tdsdiag::classify(test::appdata(false, 1), false, ctx) == Message::AppData);
    }
}

namespace {

// Whether p equals a default Packet in every field.
bool is_default(const tdsdiag::Packet& p) {
    const tdsdiag::Packet d;
    return p.frame == d.frame && p.time_ns == d.time_ns && p.stream == d.stream && p.src_port == d.src_port &&
           p.dst_port == d.dst_port && p.tcp_flags == d.tcp_flags && p.tcp_len == d.tcp_len &&
           p.retransmission == d.retransmission && p.checksum_ok == d.checksum_ok &&
           p.prelogin_encryption == d.prelogin_encryption && p.login_ack == d.login_ack &&
           p.done_attention == d.done_attention && p.prelogin_mars == d.prelogin_mars &&
           p.login7_integrated == d.login7_integrated && p.sspi_only_response == d.sspi_only_response &&
           p.login7_segment_count == d.login7_segment_count && !p.has_payload_fields();
}

using Setter = void (*)(tdsdiag::Packet&);

}  // namespace

TEST_CASE("A reused packet is reset whole, or by its header alone when it carried no payload", "[classify]") {
    // Each payload field or address, set alone.
    const Setter payload_setters[] = {
        [](tdsdiag::Packet& p) { p.src_addr = "10.0.0.1"; },
        [](tdsdiag::Packet& p) { p.dst_addr = "10.0.0.2"; },
        [](tdsdiag::Packet& p) { p.tds_types.push_back(tdsdiag::kTdsPrelogin); },
        [](tdsdiag::Packet& p) { p.trace_id.push_back(1); },
        [](tdsdiag::Packet& p) { p.errors.push_back({18456, 8, 14, "Login failed"}); },
        [](tdsdiag::Packet& p) { p.envchange_types.push_back(20); },
        [](tdsdiag::Packet& p) { p.routing.push_back({0, 1433, "db"}); },
        [](tdsdiag::Packet& p) { p.smp_flags.push_back(tdsdiag::kSmpFin); },
        [](tdsdiag::Packet& p) { p.auth_tokens.emplace_back(); },
        [](tdsdiag::Packet& p) { p.login_user = "sa"; },
        [](tdsdiag::Packet& p) { p.login_app = "app"; },
        [](tdsdiag::Packet& p) { p.login_host = "host"; },
        [](tdsdiag::Packet& p) { p.login_database = "db"; },
        [](tdsdiag::Packet& p) { p.tls_content_types.push_back(22); },
        [](tdsdiag::Packet& p) { p.tls_handshake_types.push_back(1); },
        [](tdsdiag::Packet& p) { p.tls_handshake_versions.push_back(0x0303); },
        [](tdsdiag::Packet& p) { p.tls_supported_versions.push_back(0x0304); },
        [](tdsdiag::Packet& p) { p.tls_cipher_suites.push_back(0x1301); },
        [](tdsdiag::Packet& p) { p.tls_alerts.push_back({2, 40}); },
        [](tdsdiag::Packet& p) { p.alpn.push_back("tds/8.0"); },
        [](tdsdiag::Packet& p) { p.certificates.push_back({0x30}); },
    };
    static_assert(sizeof payload_setters / sizeof payload_setters[0] == 21, "GENERATE below runs each setter");
    auto with_header = [] {
        tdsdiag::Packet p;
        p.frame = 7;
        p.time_ns = 5;
        p.stream = 3;
        p.src_port = 50000;
        p.dst_port = 1433;
        p.tcp_flags = tdsdiag::kSyn;
        p.tcp_len = 10;
        p.retransmission = true;
        p.checksum_ok = 1;
        p.prelogin_encryption = 1;
        p.login_ack = true;
        p.done_attention = true;
        p.prelogin_mars = 0;
        p.login7_integrated = 1;
        p.sspi_only_response = true;
        p.login7_segment_count = 4;
        return p;
    };
    SECTION("a packet with header fields only has no payload fields, and clear_header resets it") {
        tdsdiag::Packet p = with_header();
        CHECK_FALSE(p.has_payload_fields());
        CHECK_FALSE(is_default(p));
        p.clear_header();
        CHECK(is_default(p));
    }
    SECTION("each payload field alone counts as payload, and clear resets it") {
        const auto i = GENERATE(range(0, 21));
        tdsdiag::Packet p = with_header();
        payload_setters[i](p);
        CHECK(p.has_payload_fields());
        p.clear_header();
        CHECK(p.has_payload_fields());  // clear_header leaves it
        p.clear();
        CHECK(is_default(p));
    }
}

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

#define NONE_2(type, name)
#define NONE_3(type, name, value)

// Whether p equals a default Packet in every field.
bool is_default(const tdsdiag::Packet& p) {
    const tdsdiag::Packet d;
    bool same = true;
#define SAME_HEADER(type, name, value) same = same && p.name == d.name;
#define SAME_PAYLOAD(type, name) same = same && p.name.empty();
    TDSDIAG_PACKET_FIELDS(SAME_HEADER, SAME_PAYLOAD)
#undef SAME_HEADER
#undef SAME_PAYLOAD
    return same && !p.has_payload_fields();
}

using Setter = void (*)(tdsdiag::Packet&);

// Each payload field or address, set alone.
#define SET_PAYLOAD(type, name) [](tdsdiag::Packet& p) { p.name.resize(1); },
const Setter payload_setters[] = {TDSDIAG_PACKET_FIELDS(NONE_3, SET_PAYLOAD)};
#undef SET_PAYLOAD
constexpr int kPayloadFields = static_cast<int>(sizeof payload_setters / sizeof payload_setters[0]);

// Every header field away from its default.
tdsdiag::Packet with_header() {
    tdsdiag::Packet p;
#define SET_HEADER(type, name, value) p.name = static_cast<type>((value) + 1);
    TDSDIAG_PACKET_FIELDS(SET_HEADER, NONE_2)
#undef SET_HEADER
    return p;
}

#define ONE(...) +1
constexpr int kHeaderFields = 0 TDSDIAG_PACKET_FIELDS(ONE, NONE_2);
#undef ONE

// How many header fields p has away from their defaults.
int header_fields_set(const tdsdiag::Packet& p) {
    int n = 0;
#define COUNT_HEADER(type, name, value) n += p.name != type(value);
    TDSDIAG_PACKET_FIELDS(COUNT_HEADER, NONE_2)
#undef COUNT_HEADER
    return n;
}

#undef NONE_2
#undef NONE_3

}  // namespace

TEST_CASE("A reused packet is reset whole, or by its header alone when it carried no payload", "[classify]") {
    SECTION("a packet with header fields only has no payload fields, and clear_header resets it") {
        tdsdiag::Packet p = with_header();
        CHECK(header_fields_set(p) == kHeaderFields);  // with_header changed every one
        CHECK_FALSE(p.has_payload_fields());
        CHECK_FALSE(is_default(p));
        p.clear_header();
        CHECK(is_default(p));
    }
    SECTION("each payload field alone counts as payload, and clear resets it") {
        const auto i = GENERATE(range(0, kPayloadFields));
        tdsdiag::Packet p = with_header();
        payload_setters[i](p);
        CHECK(p.has_payload_fields());
        p.clear_header();
        CHECK(p.has_payload_fields());  // clear_header leaves it
        p.clear();
        CHECK(is_default(p));
    }
}

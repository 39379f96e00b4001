// Whole conversations through the Analyzer: the step of every frame and the connection summary.
#include "catch_compat.hpp"

#include <tuple>

#include "builders.hpp"

using namespace test;
using tdsdiag::Encryption;
using tdsdiag::Outcome;
using V = std::vector<int>;

TEST_CASE("A cleartext login runs the steps 1, 2, 4, 5, 6, 7", "[connection]") {
    Run run({syn(), synack(), ack(true),                                 // 1
             prelogin(2), prelogin_response(2),                          // 2
             tds(true, {tdsdiag::kTdsLogin7}), ack(false), login_ack(),  // 4, 4, 5
             tds(true, {tdsdiag::kTdsSqlBatch}), tds(false, {tdsdiag::kTdsResponse}),  // 6
             fin(true), ack(false), fin(false), ack(true)});             // 7
    CHECK(run.steps() == V{1, 1, 1, 2, 2, 4, 4, 5, 6, 6, 7, 7, 7, 7});
    CHECK(run.firsts() == V{1, 4, 6, 8, 9, 11});
    auto s = run.summary();
    CHECK(s.outcome == Outcome::Connected);
    CHECK(s.encryption == Encryption::None);
    CHECK(s.last_step == tdsdiag::Step::Close);
    CHECK(!s.failed_step);  // connected
    CHECK(s.close_by == tdsdiag::Side::Client);
    CHECK(s.close_kind == tdsdiag::CloseKind::Fin);
    CHECK(s.conn_id == "00112233-4455-6677-8899-AABBCCDDEEFF");
    CHECK(!s.tls_version);
    SECTION("the delta of an opening frame is the time since the previous step opened") {
        REQUIRE(run.results[3].step_delta_ns);
        CHECK(*run.results[3].step_delta_ns == 30000000);  // frame 1 at 10 ms, frame 4 at 40 ms
        CHECK(!run.results[0].step_delta_ns);
        CHECK(!run.results[4].step_delta_ns);
    }
}

TEST_CASE("Login-only encryption: the Login7 is the first application data, the rest is clear", "[connection]") {
    Run run({syn(), synack(), ack(true), prelogin(0), prelogin_response(0),
             client_hello(), server_hello(), client_finished(), server_finished(),  // 3
             appdata(true), login_ack(),                                            // 4, 5
             tds(true, {tdsdiag::kTdsSqlBatch}), tds(false, {tdsdiag::kTdsResponse}),
             fin(true), fin(false), ack(true)});
    CHECK(run.steps() == V{1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 6, 6, 7, 7, 7});
    CHECK(run.firsts() == V{1, 4, 6, 10, 11, 12, 14});
    auto s = run.summary();
    CHECK(s.encryption == Encryption::LoginOnly);
    CHECK(s.outcome == Outcome::Connected);
    CHECK(s.tls_version == 0x0303);
    CHECK(s.cipher == 0xc02f);
}

TEST_CASE("Full encryption: step 4 is the client's first record, 5 the server's answer, 6 the rest", "[connection]") {
    Run run({syn(), synack(), ack(true), prelogin(1), prelogin_response(1),
             client_hello(), server_hello(), client_finished(), server_finished(),
             appdata(true), appdata(false), appdata(false), appdata(true), appdata(false), fin(true), fin(false)});
    CHECK(run.steps() == V{1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 7, 7});
    auto s = run.summary();
    CHECK(s.encryption == Encryption::Full);
    CHECK(s.outcome == Outcome::Connected);  // a command followed the encrypted answer
    SECTION("without a prelogin in the capture, server data after the login still says full") {
        Run late({client_hello(), server_hello(), client_finished(), server_finished(), appdata(true), appdata(false),
                  appdata(true)});
        CHECK(late.summary().encryption == Encryption::Full);
    }
}

TEST_CASE("TDS 8.0 strict encryption numbers the steps by meaning: 1, 3, 2, 4, 5, 6, 7", "[connection]") {
    Run run({syn(), synack(), ack(true),
             client_hello(false), server_hello(0x0304, 0x1302, false),  // 3 (TLS 1.3: server flight encrypted)
             appdata(true, 2),                                           // client Finished + prelogin: 2
             appdata(false),                                             // prelogin response: 2
             appdata(true), appdata(false), appdata(true), appdata(false), fin(true), fin(false)});
    CHECK(run.steps() == V{1, 1, 1, 3, 3, 2, 2, 4, 5, 6, 6, 7, 7});
    CHECK(run.firsts() == V{1, 4, 6, 8, 9, 10, 12});
    auto s = run.summary();
    CHECK(s.encryption == Encryption::Strict);
    CHECK(s.tls_version == 0x0304);
    CHECK(s.last_step == tdsdiag::Step::Close);
}

TEST_CASE("Retransmissions and duplicated packets belong to the step in progress", "[connection]") {
    Run run({syn(), retrans(syn()), synack(), retrans(synack()), ack(true), ack(true), prelogin(0),
             retrans(prelogin(0)), prelogin_response(0), retrans(prelogin_response(0)), client_hello(),
             retrans(client_hello()), server_hello(), client_finished(), server_finished(), appdata(true),
             retrans(appdata(true)), login_ack(), retrans(login_ack()), tds(true, {tdsdiag::kTdsSqlBatch}),
             fin(true), retrans(fin(true)), fin(false), ack(true)});
    CHECK(run.steps() == V{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 5, 5, 6, 7, 7, 7, 7});
    CHECK(run.firsts() == V{1, 7, 11, 16, 18, 20, 21});
}

TEST_CASE("A capture that starts mid-connection invents no steps", "[connection]") {
    SECTION("encrypted traffic of unknown meaning gets no step, the close does") {
        Run run({appdata(true), appdata(false), ack(true), fin(true), fin(false)});
        CHECK(run.steps() == V{-1, -1, -1, 7, 7});
        CHECK(run.firsts() == V{4});
        CHECK(run.summary().outcome == Outcome::Unknown);
    }
    SECTION("a clear command says the session is in its command step, without opening it") {
        Run run({tds(false, {tdsdiag::kTdsResponse}), tds(true, {tdsdiag::kTdsSqlBatch}),
                 tds(false, {tdsdiag::kTdsResponse}), rst(true)});
        CHECK(run.steps() == V{-1, 6, 6, 7});
        CHECK(run.firsts() == V{4});
        auto s = run.summary();
        CHECK(s.outcome == Outcome::Unknown);
        CHECK(s.close_kind == tdsdiag::CloseKind::Rst);
    }
    SECTION("a capture that begins at the prelogin shows the steps from there") {
        Run run({prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}), login_ack()});
        CHECK(run.steps() == V{2, 2, 4, 5});
        CHECK(run.firsts() == V{1, 3, 4});
        CHECK(run.summary().outcome == Outcome::Connected);
    }
}

TEST_CASE("The outcome is decided by the login's answer, the close, or the end of the capture", "[connection]") {
    SECTION("an ERROR token in the login response is a failed login") {
        Run run({syn(), synack(), ack(true), prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}),
                 login_error(18456, 8), fin(false), fin(true)});
        CHECK(run.summary().outcome == Outcome::LoginFailed);
        CHECK(run.summary().failed_step == tdsdiag::Step::LoginResponse);
    }
    SECTION("a close before the login's answer is a failure") {
        Run run({syn(), synack(), ack(true), prelogin(0), prelogin_response(0), client_hello(), fin(false)});
        auto s = run.summary();
        CHECK(s.outcome == Outcome::Failed);
        CHECK(s.last_step == tdsdiag::Step::Close);
        CHECK(s.failed_step == tdsdiag::Step::TlsHandshake);  // the step the close interrupted
        CHECK(s.close_by == tdsdiag::Side::Server);
    }
    SECTION("a capture that ends before the login completed is open, once the capture is fully read") {
        Run run({syn(), synack(), ack(true), prelogin(0)});
        CHECK(run.summary(false).outcome == Outcome::Pending);
        CHECK(run.summary(true).outcome == Outcome::Open);
        CHECK(run.summary().last_step == tdsdiag::Step::Prelogin);
        CHECK(!run.summary(true).failed_step);
    }
    SECTION("an encrypted login answer followed by a close cannot be read") {
        Run run({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), client_hello(), server_hello(),
                 client_finished(), server_finished(), appdata(true), appdata(false), fin(true), fin(false)});
        CHECK(run.summary().outcome == Outcome::Unknown);
        CHECK(!run.summary().failed_step);
    }
    SECTION("a SYN sent again without an answer fails in step 1, without a close") {
        Packet again = retrans(syn());
        again.time_ns = 1010000000;  // 1 s after the first: sent again, not a copy made by the capture
        Run run({syn(), again});
        CHECK(run.summary(true).outcome == Outcome::Failed);
        CHECK(run.summary(true).failed_step == tdsdiag::Step::TcpHandshake);
    }
    SECTION("a SYN answered by a reset fails in step 1 and is closed by the server") {
        Run run({syn(), rst(false)});
        CHECK(run.steps() == V{1, 7});
        auto s = run.summary();
        CHECK(s.outcome == Outcome::Failed);
        CHECK(s.failed_step == tdsdiag::Step::TcpHandshake);
        CHECK(s.close_by == tdsdiag::Side::Server);
        CHECK(s.close_kind == tdsdiag::CloseKind::Rst);
    }
}

TEST_CASE("A capture of the client's packets only invents no timeout", "[connection]") {
    Run run({syn(), ack(true), prelogin(0), client_hello(), client_finished(), appdata(true),
             tds(true, {tdsdiag::kTdsSqlBatch}), fin(true)});
    for (const auto& r : run.results) CHECK(r.diagnoses.empty());
    CHECK(run.summary().outcome == Outcome::Unknown);
}

TEST_CASE("Interleaved connections are analysed separately", "[analyzer]") {
    auto on = [](Packet p, uint32_t stream) {
        p.stream = stream;
        if (p.src_port == kClientPort) p.src_port = static_cast<uint16_t>(kClientPort + stream);
        if (p.dst_port == kClientPort) p.dst_port = static_cast<uint16_t>(kClientPort + stream);
        return p;
    };
    Run run({on(syn(), 0), on(syn(), 1), on(synack(), 1), on(synack(), 0), on(ack(true), 0), on(prelogin(2), 0),
             on(ack(true), 1), on(prelogin(0), 1), on(prelogin_response(2), 0), on(rst(false), 1)});
    CHECK(run.steps() == V{1, 1, 1, 1, 1, 2, 1, 2, 2, 7});
    CHECK(run.analyzer.connections().size() == 2);
    CHECK(run.summary(true, 0).outcome == Outcome::Open);
    CHECK(run.summary(true, 1).outcome == Outcome::Failed);
    CHECK(run.analyzer.find(1)->client_port() == kClientPort + 1);
}

TEST_CASE("Connections are found by any stream number, near or far", "[analyzer]") {
    // Wireshark numbers streams densely; numbers far apart (a test's, a fuzzer's) must work as well.
    const uint32_t streams[] = {5, 4000000000u, 70000, 3, 65535, 1000000, 0};
    std::vector<Packet> frames;
    uint16_t port = kClientPort;
    for (uint32_t s : streams) {
        Packet p = syn();
        p.stream = s;
        p.src_port = port++;
        frames.push_back(p);
    }
    for (size_t i = 0; i < 7; ++i) {  // each answered in its own connection
        Packet p = rst(false);
        p.stream = streams[i];
        p.dst_port = static_cast<uint16_t>(kClientPort + i);
        frames.push_back(p);
    }
    Run run(frames);
    REQUIRE(run.analyzer.connections().size() == 7);
    for (size_t i = 0; i < 7; ++i) {
        CAPTURE(streams[i]);
        const tdsdiag::Connection* c = run.analyzer.find(streams[i]);
        REQUIRE(c != nullptr);
        CHECK(c->stream() == streams[i]);
        CHECK(c->client_port() == kClientPort + i);
        CHECK(run.analyzer.connections()[i].conn == c);
        CHECK(run.analyzer.connections()[i].stream == streams[i]);
        CHECK(run.analyzer.connections()[i].first_frame == c->first_frame());
        CHECK(run.results[7 + i].step == tdsdiag::Step::Close);
        CHECK(c->summary(true).outcome == Outcome::Failed);
    }
    CHECK(run.analyzer.find(4) == nullptr);
    CHECK(run.analyzer.find(4000000001u) == nullptr);
}

TEST_CASE("Only SQL Server traffic is tracked", "[analyzer]") {
    Packet web = frame(true, tdsdiag::kSyn);
    web.dst_port = 443;
    Packet tds_elsewhere = tds(true, {tdsdiag::kTdsPrelogin});
    tds_elsewhere.stream = 2;
    tds_elsewhere.dst_port = 41433;
    Run run({web, tds_elsewhere});
    CHECK(!run.results[0].in_connection);
    CHECK(run.results[1].in_connection);
    CHECK(run.results[1].step == tdsdiag::Step::Prelogin);
}

TEST_CASE("Names of the contract", "[names]") {
    CHECK(std::string(tdsdiag::outcome_name(Outcome::LoginFailed)) == "login_failed");
    CHECK(std::string(tdsdiag::encryption_name(Encryption::LoginOnly)) == "login_only");
    CHECK(tdsdiag::tls_version_name(0x0301) == "TLS 1.0");
    CHECK(tdsdiag::tls_version_name(0x7f1c) == "0x7f1c");
    CHECK(tdsdiag::format_guid(nullptr, 0).empty());
    const uint8_t guid[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                              0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0xfe, 0xff};
    CHECK(tdsdiag::format_guid(guid, sizeof guid) == "03020100-0504-0706-0809-0A0B0C0DFEFF");
}

namespace {
// A frame with its TCP checksum right (1) or wrong (0), as the plugin computes it.
Packet summed(Packet p, int ok) {
    p.checksum_ok = static_cast<int8_t>(ok);
    return p;
}
}  // namespace

TEST_CASE("The capture point is the side whose packets alone carry wrong checksums", "[connection]") {
    using tdsdiag::Side;
    using Row = std::tuple<int, int, Side>;  // client's checksums, server's checksums, capture point
    const auto [client_ok, server_ok, point] = GENERATE(table<int, int, Side>({
        Row{0, 1, Side::Client},   // the client's NIC fills in its checksums after the capture
        Row{1, 0, Side::Server},
        Row{1, 1, Side::Unknown},  // a capture between the two (a tap, a switch port)
        Row{0, 0, Side::Unknown},  // offloaded on both (loopback, or one VM host)
    }));
    Run run({summed(syn(), client_ok), summed(synack(), server_ok), summed(ack(true), client_ok)});
    CHECK(run.summary().capture_point == point);
    // Once both sides are right (or both wrong), no later checksum can decide: they are no longer asked for.
    CHECK(run.analyzer.wants_checksum(0) == false);
}

TEST_CASE("Checksums are asked for until the capture point can be told", "[connection]") {
    Run run({summed(syn(), 1)});
    CHECK(run.analyzer.wants_checksum(0));
    run.feed({summed(synack(), 1)});
    CHECK_FALSE(run.analyzer.wants_checksum(0));
    CHECK(run.summary().capture_point == tdsdiag::Side::Unknown);
}

namespace {
tdsdiag::Packet seg(int64_t ms, uint16_t flags, uint32_t ack, uint16_t window, uint32_t len = 0) {
    tdsdiag::Packet p;
    p.time_ns = ms * 1000000;
    p.tcp_flags = flags;
    p.tcp_ack = ack;
    p.tcp_window = window;
    p.tcp_len = len;
    return p;
}
}  // namespace

TEST_CASE("Network health counts retransmissions, duplicate ACKs, zero windows and the handshake round trip",
          "[connection][health]") {
    using namespace tdsdiag;
    TcpTracker t;
    SECTION("the handshake round trip runs from the SYN sent again to the client's ACK") {
        t.learn_health(seg(0, kSyn, 0, 64240), true);
        Packet again = seg(1000, kSyn, 0, 64240);
        again.retransmission = true;
        t.learn_health(again, true);
        t.learn_health(seg(1002, kSyn | kAck, 1, 65160), false);
        t.learn_health(seg(1003, kAck, 1, 502), true);
        t.learn_health(seg(1010, kAck | kPsh, 1, 502, 40), true);
        REQUIRE(t.handshake_rtt_ns());
        CHECK(*t.handshake_rtt_ns() == 3000000);
        CHECK(t.syn_retransmission_wait_ns() == 0);  // first_syn_ns is learn()'s; not set here
        CHECK(t.retransmissions == 1);
        CHECK(t.dup_acks == 0);
    }
    SECTION("no SYN/ACK: no round trip") {
        t.learn_health(seg(0, kSyn, 0, 64240), true);
        t.learn_health(seg(5, kAck, 1, 502), true);
        CHECK_FALSE(t.handshake_rtt_ns());
    }
    SECTION("a bare ACK repeating the previous ACK number and window is a duplicate, a window update is not") {
        t.learn_health(seg(0, kAck, 100, 500), false);
        t.learn_health(seg(1, kAck, 100, 500), false);   // duplicate
        t.learn_health(seg(2, kAck, 100, 600), false);   // window update
        t.learn_health(seg(3, kAck, 100, 600, 10), false);  // data: not a duplicate
        t.learn_health(seg(4, kAck, 100, 600), false);   // duplicate of the data segment's ACK
        t.learn_health(seg(5, kAck | kFin, 100, 600), false);  // FIN: not a duplicate
        t.learn_health(seg(6, kAck, 100, 600), true);    // the other side's first: not a duplicate
        CHECK(t.dup_acks == 2);
    }
    SECTION("zero windows are counted on plain segments and their stall timed until the window opens") {
        t.learn_health(seg(0, kAck, 1, 0), true);
        t.learn_health(seg(200, kAck, 1, 0), true);
        t.learn_health(seg(250, kAck | kRst, 1, 0), false);  // RST: not counted
        t.learn_health(seg(700, kAck, 1, 1024), true);
        CHECK(t.zero_windows == 2);
        CHECK(t.zero_window_ns == 700000000);
        CHECK(t.dup_acks == 1);  // the repeated zero-window ACK
    }
}

// Around the session: attentions and their acknowledgement, redirects (ENVCHANGE routing) and the
// connection that follows them, MARS (the prelogin option and the SMP close).
#include "catch_compat.hpp"

#include "builders.hpp"

using namespace test;
using tdsdiag::Code;
using tdsdiag::Severity;

namespace {

// The diagnosis `code` of `frame` as the connection tells it now (as -2 and the GUI show it).
std::optional<tdsdiag::Diagnosis> revised(const tdsdiag::Connection& c, uint32_t frame, Code code, bool complete) {
    for (tdsdiag::Diagnosis& d : c.diagnoses_on(frame, complete))
        if (d.code == code) return d;
    return std::nullopt;
}

Packet at(Packet p, int64_t ms) {
    p.time_ns = ms * 1000000;
    return p;
}

// A cleartext login, then a batch at 100 ms.
std::vector<Packet> logged_in() {
    return {at(syn(), 1),      at(synack(), 2),      at(ack(true), 3),      at(prelogin(2), 4),
            at(prelogin_response(2), 5), at(tds(true, {tdsdiag::kTdsLogin7}), 6), at(login_ack(), 7),
            at(tds(true, {tdsdiag::kTdsSqlBatch}), 100)};
}

Packet attention_ack() {
    Packet p = tds(false, {tdsdiag::kTdsResponse});
    p.done_attention = true;
    return p;
}

bool has(const tdsdiag::FrameResult& r, Code c) {
    for (const auto& d : r.diagnoses)
        if (d.code == c) return true;
    return false;
}

std::vector<uint8_t> routing_bytes(const std::u16string& host, uint16_t port) {
    const size_t value = 5 + 2 * host.size();
    std::vector<uint8_t> b{static_cast<uint8_t>(value & 0xff), static_cast<uint8_t>(value >> 8), 0,
                           static_cast<uint8_t>(port & 0xff), static_cast<uint8_t>(port >> 8),
                           static_cast<uint8_t>(host.size() & 0xff), static_cast<uint8_t>(host.size() >> 8)};
    for (char16_t c : host) {
        b.push_back(static_cast<uint8_t>(c & 0xff));
        b.push_back(static_cast<uint8_t>(c >> 8));
    }
    b.push_back(0);  // old value: empty
    b.push_back(0);
    return b;
}

}  // namespace

TEST_CASE("An attention is diagnosed on the client's attention packet, with its acknowledgement", "[session]") {
    std::vector<Packet> f = logged_in();
    f.push_back(at(tds(true, {tdsdiag::kTdsAttention}), 600));  // frame 9, 0.5 s after the batch
    Run run(f);
    REQUIRE(has(run.results[8], Code::Attention));
    CHECK(run.results[8].step == tdsdiag::Step::Commands);
    const auto& first = run.results[8].diagnoses[0];
    CHECK(first.severity == Severity::Note);
    CHECK(first.text.find("0.500 s after the request") != std::string::npos);
    const tdsdiag::Connection& c = *run.analyzer.find(0);

    SECTION("acknowledged: the text says how fast") {
        run.feed({at(tds(false, {tdsdiag::kTdsResponse}), 790), at(attention_ack(), 800), at(fin(true), 900)});
        const auto d = revised(c, 9, Code::Attention, true);
        REQUIRE(d);
        CHECK(d->severity == Severity::Note);
        CHECK(d->text.find("acknowledged it 0.200 s later (frame 11)") != std::string::npos);
        CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    }
    SECTION("never acknowledged before the close: a warning") {
        run.feed({at(fin(true), 2600)});
        const auto d = revised(c, 9, Code::Attention, true);
        REQUIRE(d);
        CHECK(d->severity == Severity::Warn);
        CHECK(d->text.find("Never acknowledged") != std::string::npos);
        CHECK(d->text.find("closed 2.000 s later (frame 10)") != std::string::npos);
        CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    }
    SECTION("the capture ends first") {
        CHECK(revised(c, 9, Code::Attention, false)->text.find("capture ends") == std::string::npos);
        CHECK(revised(c, 9, Code::Attention, true)->text.find("capture ends") != std::string::npos);
    }
    CHECK(run.summary().attentions == 1);
}

TEST_CASE("An attention after a command timeout's usual length says it is likely a timeout", "[session]") {
    std::vector<Packet> f = logged_in();
    f.push_back(at(tds(true, {tdsdiag::kTdsAttention}), 30100));
    Run run(f);
    REQUIRE(has(run.results[8], Code::Attention));
    CHECK(run.results[8].diagnoses[0].text.find("likely a timeout") != std::string::npos);
    run.feed({at(fin(true), 32100)});
    // With the close's evidence the text would pass 239 bytes: the hint moves to the detail.
    const auto d = revised(*run.analyzer.find(0), 9, Code::Attention, true);
    REQUIRE(d);
    CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    CHECK((d->text + d->detail).find("likely a timeout") != std::string::npos);
}

TEST_CASE("The routing ENVCHANGE value is read from its bytes, and bad bytes are refused", "[session]") {
    tdsdiag::Routing r;
    const auto b = routing_bytes(u"10.10.10.121", 1433);
    REQUIRE(tdsdiag::parse_routing(b.data(), b.size(), r));
    CHECK(r.protocol == 0);
    CHECK(r.port == 1433);
    CHECK(r.server == "10.10.10.121");
    SECTION("cut short") { CHECK_FALSE(tdsdiag::parse_routing(b.data(), 10, r)); }
    SECTION("a length that does not match the name") {
        auto bad = b;
        bad[5] = 40;
        CHECK_FALSE(tdsdiag::parse_routing(bad.data(), bad.size(), r));
    }
    SECTION("a non-ASCII name comes out as UTF-8") {
        const auto u = routing_bytes(u"s\u00e9rver", 11001);
        REQUIRE(tdsdiag::parse_routing(u.data(), u.size(), r));
        CHECK(r.server == "s\xc3\xa9rver");
        CHECK(r.port == 11001);
    }
}

TEST_CASE("A redirect is diagnosed on the login response and linked to the connection that follows", "[session]") {
    std::vector<Packet> f = logged_in();
    f.pop_back();
    Packet resp = f.back();  // the login response gets the routing
    f.pop_back();
    resp.routing.push_back({0, 1433, "10.10.10.121"});
    f.push_back(resp);              // frame 7
    f.push_back(at(fin(true), 8));  // frame 8: the client leaves to follow it
    Run run(f);
    REQUIRE(has(run.results[6], Code::Redirected));
    CHECK(run.results[6].diagnoses[0].text.find("10.10.10.121:1433") != std::string::npos);
    CHECK(run.summary().redirect_to == "10.10.10.121:1433");

    SECTION("followed: both connections name each other") {
        Packet s = at(syn(), 20);
        s.stream = 1;
        s.src_port = 50001;
        s.dst_addr = "10.10.10.121";
        run.feed({s});
        CHECK(run.summary(true, 0).redirect_stream == 1u);
        CHECK(run.summary(true, 1).redirected_from == 0u);
        CHECK(revised(*run.analyzer.find(0), 7, Code::Redirected, true)->text.find("It did: connection 1") !=
              std::string::npos);
    }
    SECTION("a new connection to the same server is not the follow-up") {
        Packet s = at(syn(), 20);
        s.stream = 1;
        s.src_port = 50001;
        run.feed({s});
        CHECK_FALSE(run.summary(true, 0).redirect_stream);
    }
    SECTION("not followed: the text says so at the end of the capture") {
        const auto d = revised(*run.analyzer.find(0), 7, Code::Redirected, true);
        REQUIRE(d);
        CHECK(d->text.find("No connection to it follows") != std::string::npos);
        CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    }
}

TEST_CASE("A redirect to a host name is linked to the next connection to another server on that port", "[session]") {
    std::vector<Packet> f = logged_in();
    f.pop_back();
    f.back().routing.push_back({0, 11002, "db1.tr5.westeurope1-a.worker.database.windows.net"});
    Run run(f);
    REQUIRE(has(run.results[6], Code::Redirected));
    const auto d = revised(*run.analyzer.find(0), 7, Code::Redirected, true);
    CHECK(d->text.find("11000-11999") != std::string::npos);
    CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    Packet s = at(syn(), 20);
    s.stream = 1;
    s.src_port = 50001;
    s.dst_addr = "10.20.30.40";
    s.dst_port = 11002;
    tdsdiag::Config config;
    config.sql_ports = {1433, 11002};
    Run run2(f, config);
    run2.feed({s});
    CHECK(run2.summary(true, 0).redirect_stream == 1u);
}

TEST_CASE("MARS: the prelogin option is summarised and the SMP close is a normal close", "[session]") {
    Packet pre = prelogin(2), resp = prelogin_response(2);
    pre.prelogin_mars = 1;
    resp.prelogin_mars = 1;
    Packet smp_fin_client = tds(true, {tdsdiag::kTdsSqlBatch});
    smp_fin_client.smp_flags = {tdsdiag::kSmpFin, tdsdiag::kSmpData};
    Packet smp_fin_server = frame(false, tdsdiag::kAck | tdsdiag::kPsh, 16);
    smp_fin_server.smp_flags = {tdsdiag::kSmpFin};
    std::vector<Packet> f{syn(), synack(), ack(true), pre, resp, tds(true, {tdsdiag::kTdsLogin7}), login_ack(),
                          smp_fin_client, smp_fin_server};
    SECTION("the client resets after the SMP FINs") {
        f.push_back(rst(true));
        Run run(f);
        CHECK(run.summary().mars == "on");
        CHECK_FALSE(has(run.results.back(), Code::ClientReset));
        CHECK(run.steps().back() == 7);
    }
    SECTION("the server closes first after the SMP FINs") {
        f.push_back(fin(false));
        f.push_back(rst(false));
        Run run(f);
        CHECK_FALSE(has(run.results[9], Code::ServerFirstFin));
        CHECK_FALSE(has(run.results[10], Code::ServerReset));
    }
    SECTION("without the server's SMP FIN a reset is still a reset") {
        f.pop_back();
        f.push_back(rst(false));
        Run run(f);
        CHECK(has(run.results.back(), Code::ServerReset));
    }
    SECTION("MARS off when the client does not ask") {
        f[3].prelogin_mars = 0;
        f[4].prelogin_mars = 0;
        Run run(f);
        CHECK(run.summary().mars == "off");
    }
}

TEST_CASE("A Login7 split across TCP segments relabels its first segments as step 4 for the second pass",
          "[session]") {
    std::vector<Packet> f{syn(), synack(), ack(true), prelogin(2), prelogin_response(2)};
    Packet seg1 = frame(true, tdsdiag::kAck | tdsdiag::kPsh, 88), seg2 = seg1;  // frames 6, 7: no TDS yet
    Packet login = tds(true, {tdsdiag::kTdsLogin7});
    login.login7_segment_count = 3;  // frames 6, 7 and 9: the server's ACK 8 carries no payload
    std::vector<Packet> g{seg1, seg2, ack(false), login, login_ack()};  // 6..10
    f.insert(f.end(), g.begin(), g.end());
    Run run(f);
    // The single pass labels the first segments with the step in progress and opens step 4 at the last one.
    CHECK(run.steps() == std::vector<int>{1, 1, 1, 2, 2, 2, 2, 2, 4, 5});
    const tdsdiag::Connection& c = *run.analyzer.find(0);
    const tdsdiag::Relabel* r6 = c.relabel(6);
    REQUIRE(r6 != nullptr);
    CHECK(r6->step == tdsdiag::Step::Login);
    CHECK(r6->first);
    REQUIRE(r6->delta_ns);
    CHECK(*r6->delta_ns == 60000000 - 40000000);  // since the prelogin opened (frames are 10 ms apart)
    REQUIRE(c.relabel(7) != nullptr);
    CHECK_FALSE(c.relabel(7)->first);
    REQUIRE(c.relabel(8) != nullptr);  // the server's ACK between the segments
    REQUIRE(c.relabel(9) != nullptr);
    CHECK_FALSE(c.relabel(9)->first);  // no longer the opening frame
    CHECK(c.relabel(5) == nullptr);
    CHECK(c.relabel(10) == nullptr);
    // The login response's delta runs from the real start of step 4.
    CHECK(run.results[9].step_delta_ns == 40000000);
}

TEST_CASE("A split Login7's segments are the client's last payload frames, copies left out", "[session]") {
    std::vector<Packet> f{syn(), synack(), ack(true), prelogin(2), prelogin_response(2)};
    Packet seg = frame(true, tdsdiag::kAck | tdsdiag::kPsh, 88);
    Packet login = tds(true, {tdsdiag::kTdsLogin7});
    SECTION("a retransmitted segment is no segment of its own") {
        login.login7_segment_count = 3;
        std::vector<Packet> g{seg, retrans(seg), seg, login, login_ack()};  // 6, 7 (copy), 8, 9, 10
        f.insert(f.end(), g.begin(), g.end());
        Run run(f);
        const tdsdiag::Connection& c = *run.analyzer.find(0);
        REQUIRE(c.relabel(6) != nullptr);
        CHECK(c.relabel(6)->first);
        CHECK(c.relabel(5) == nullptr);
    }
    SECTION("more segments than the recent frames reach keep the single-pass view") {
        login.login7_segment_count = 200;
        for (int i = 0; i < 70; ++i) f.push_back(seg);
        f.push_back(login);
        Run run(f);
        const tdsdiag::Connection& c = *run.analyzer.find(0);
        CHECK(c.relabel(6) == nullptr);
        CHECK(c.relabel(static_cast<uint32_t>(f.size())) == nullptr);
        CHECK(run.results.back().step_first);
    }
}

// The path between client and server: resets made by a device on it (their TTL) and connections
// dropped after an idle silence.
#include "catch_compat.hpp"

#include "builders.hpp"

using namespace test;
using tdsdiag::Code;

namespace {
std::vector<Packet> session(int client_ttl, int server_ttl) {
    std::vector<Packet> f{syn(), synack(), ack(true), prelogin(0), prelogin_response(0),
                          tds(true, {tdsdiag::kTdsLogin7}), login_ack(), tds(true, {tdsdiag::kTdsSqlBatch}),
                          tds(false, {tdsdiag::kTdsResponse})};
    for (Packet& p : f) p.ip_ttl = static_cast<int16_t>(p.src_port == f[0].src_port ? client_ttl : server_ttl);
    return f;
}
bool has(const tdsdiag::FrameResult& r, Code c) {
    for (const auto& d : r.diagnoses)
        if (d.code == c) return true;
    return false;
}
std::string text_of(const tdsdiag::FrameResult& r, Code c) {
    for (const auto& d : r.diagnoses)
        if (d.code == c) return d.text;
    return "";
}
}  // namespace

TEST_CASE("A reset with another TTL than its side's packets is a device on the path", "[path]") {
    std::vector<Packet> f = session(64, 63);
    Packet r = rst(false);
    SECTION("the server's name, one hop closer than the server") {
        r.ip_ttl = 64;
        f.push_back(r);
        Run run(f);
        CHECK(has(run.results.back(), Code::MiddleboxReset));
        CHECK(has(run.results.back(), Code::ServerReset));
        CHECK(text_of(run.results.back(), Code::ServerReset).find("TTL 64, not the server's 63") != std::string::npos);
    }
    SECTION("the server's own TTL: the server sent it") {
        r.ip_ttl = 63;
        f.push_back(r);
        Run run(f);
        CHECK_FALSE(has(run.results.back(), Code::MiddleboxReset));
        CHECK(has(run.results.back(), Code::ServerReset));
        CHECK(text_of(run.results.back(), Code::ServerReset).find("device on the path") == std::string::npos);
    }
    SECTION("no baseline when the server's TTL varies") {
        f[6].ip_ttl = 62;
        r.ip_ttl = 64;
        f.push_back(r);
        Run run(f);
        CHECK_FALSE(has(run.results.back(), Code::MiddleboxReset));
    }
    SECTION("no TTL read") {
        f.push_back(rst(false));
        Run run(f);
        CHECK_FALSE(has(run.results.back(), Code::MiddleboxReset));
    }
    SECTION("in the client's name") {
        Packet c = rst(true);
        c.ip_ttl = 63;
        for (Packet& p : f) p.ip_ttl = p.ip_ttl == 64 ? 62 : p.ip_ttl;
        f.push_back(c);
        Run run(f);
        CHECK(has(run.results.back(), Code::MiddleboxReset));
        CHECK(text_of(run.results.back(), Code::ClientReset).find("TTL 63, not the client's 62") != std::string::npos);
    }
}

TEST_CASE("A packet after an idle silence that is reset or never acknowledged is idle_reset", "[path]") {
    tdsdiag::Config config;
    config.idle_timeout_ns = 3000000000;
    std::vector<Packet> f = session(64, 63);
    for (size_t i = 0; i < f.size(); ++i) f[i].time_ns = static_cast<int64_t>(i + 1) * 10000000;
    Packet q = tds(true, {tdsdiag::kTdsSqlBatch});
    SECTION("answered by a reset after a silence longer than the preference") {
        q.time_ns = 5000000000;
        Packet r = rst(false);
        r.time_ns = 5000100000;
        f.push_back(q);
        f.push_back(r);
        Run run(f, config);
        CHECK(has(run.results.back(), Code::IdleReset));
        CHECK(text_of(run.results.back(), Code::IdleReset).find("frame 10") != std::string::npos);
    }
    SECTION("a shorter silence is no idle_reset") {
        q.time_ns = 2000000000;
        Packet r = rst(false);
        r.time_ns = 2000100000;
        f.push_back(q);
        f.push_back(r);
        Run run(f, config);
        CHECK_FALSE(has(run.results.back(), Code::IdleReset));
        CHECK(has(run.results.back(), Code::ServerReset));
    }
    SECTION("the server answered before the reset") {
        q.time_ns = 5000000000;
        Packet a = ack(false);
        a.time_ns = 5000050000;
        Packet r = rst(false);
        r.time_ns = 5000100000;
        f.push_back(q);
        f.push_back(a);
        f.push_back(r);
        Run run(f, config);
        CHECK_FALSE(has(run.results.back(), Code::IdleReset));
    }
    SECTION("retransmitted twice, never acknowledged") {
        q.time_ns = 5000000000;
        f.push_back(q);
        Packet r1 = retrans(q), r2 = retrans(q);
        r1.time_ns = 5200000000;
        r2.time_ns = 5600000000;
        f.push_back(r1);
        f.push_back(r2);
        Run run(f, config);
        CHECK_FALSE(has(run.results[10], Code::IdleReset));
        CHECK(has(run.results.back(), Code::IdleReset));
        CHECK(text_of(run.results.back(), Code::IdleReset).find("no acknowledgement") != std::string::npos);
    }
}

// The lab's idle-dropped capture: the first text was 248 bytes and Wireshark's cut left half a sentence.
TEST_CASE("An idle_reset text is a whole sentence that fits an expert info, even after a silence of days", "[path]") {
    tdsdiag::Config config;
    config.idle_timeout_ns = 86400LL * 1000000000;  // a day
    std::vector<Packet> f = session(64, 63);
    for (size_t i = 0; i < f.size(); ++i) f[i].time_ns = static_cast<int64_t>(i + 1) * 10000000;
    Packet q = tds(true, {tdsdiag::kTdsSqlBatch});
    q.time_ns = 999999LL * 1000000000;  // 11.6 days after the last frame (90 ms): "999998.910 s"
    f.push_back(q);
    const auto whole = [](const std::string& t) {
        // Room for a 10-digit frame number where the test has "frame 10".
        CHECK(t.size() + 8 <= tdsdiag::kMaxTextLength);
        CHECK(t.find("999998.910 s") != std::string::npos);
        CHECK(t.find("86400.000 s") != std::string::npos);
        CHECK(t.find("frame 10") != std::string::npos);
        CHECK(t.back() == '.');
    };
    SECTION("resent, never acknowledged") {
        Packet r1 = retrans(q), r2 = retrans(q);
        r1.time_ns = q.time_ns + 200000000;
        r2.time_ns = q.time_ns + 600000000;
        f.push_back(r1);
        f.push_back(r2);
        Run run(f, config);
        REQUIRE(has(run.results.back(), Code::IdleReset));
        const std::string t = text_of(run.results.back(), Code::IdleReset);
        whole(t);
        CHECK(t.find("client's next packet") != std::string::npos);
    }
    SECTION("answered by a reset") {
        Packet r = rst(false);
        r.time_ns = q.time_ns + 100000;
        f.push_back(r);
        Run run(f, config);
        REQUIRE(has(run.results.back(), Code::IdleReset));
        const std::string t = text_of(run.results.back(), Code::IdleReset);
        whole(t);
        CHECK(t.find("answered by a reset") != std::string::npos);
    }
}

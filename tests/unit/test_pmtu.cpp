// path_mtu_black_hole (issue 31): full-size segments sent again and again without acknowledgement
// while the same side's smaller segments are acknowledged.
#include "catch_compat.hpp"

#include "builders.hpp"
#include "tdsdiag/auth.hpp"
#include "tdsdiag/pmtu.hpp"

#include <algorithm>

using namespace test;
using tdsdiag::Code;
using tdsdiag::PmtuTracker;

namespace {
const tdsdiag::Config kDefaults;
// A data segment of `len` bytes at sequence number `seq` from one side, acknowledging `ack`.
Packet seg(bool c, uint32_t seq, uint32_t len, uint32_t ack = 1) {
    Packet p = frame(c, tdsdiag::kAck | tdsdiag::kPsh, len);
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    return p;
}
Packet ack_of(bool c, uint32_t ack) {
    Packet p = frame(c, tdsdiag::kAck);
    p.tcp_seq = 1;
    p.tcp_ack = ack;
    return p;
}
// A session whose small client segments (a 58-byte prelogin, a 201-byte Login7) were acknowledged.
std::vector<Packet> small_ones_acked() {
    std::vector<Packet> f{syn(), synack(), ack(true)};
    Packet pre = seg(true, 1, 58);
    pre.tds_types = {tdsdiag::kTdsPrelogin};
    pre.prelogin_encryption = 2;
    f.push_back(pre);
    f.push_back(ack_of(false, 59));
    Packet login = seg(true, 59, 201);
    login.tds_types = {tdsdiag::kTdsLogin7};
    f.push_back(login);
    f.push_back(ack_of(false, 260));
    return f;
}
const tdsdiag::Diagnosis* find(const Run& run, Code c, uint32_t* frame = nullptr) {
    for (size_t i = 0; i < run.results.size(); ++i)
        for (const auto& d : run.results[i].diagnoses)
            if (d.code == c) {
                if (frame) *frame = static_cast<uint32_t>(i + 1);
                return &d;
            }
    return nullptr;
}
}  // namespace

TEST_CASE("PmtuTracker: a full-size segment sent four times unacknowledged, smaller ones acknowledged", "[pmtu]") {
    PmtuTracker t;
    CHECK_FALSE(t.learn(seg(true, 1, 201), true, kDefaults));
    CHECK_FALSE(t.learn(ack_of(false, 202), false, kDefaults));
    CHECK(t.side(true).largest_acked == 201);
    CHECK_FALSE(t.learn(seg(true, 202, 1448), true, kDefaults));
    CHECK_FALSE(t.learn(seg(true, 1650, 1448), true, kDefaults));
    CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true, kDefaults));
    CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true, kDefaults));
    CHECK(t.learn(retrans(seg(true, 202, 1448)), true, kDefaults));  // the fourth copy
    CHECK(t.side(true).stuck_len == 1448);
    CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true, kDefaults));  // once per connection
    CHECK(t.found());
    CHECK(t.found_client());
}

TEST_CASE("PmtuTracker: no black hole without that evidence", "[pmtu]") {
    PmtuTracker t;
    SECTION("the lost segment was acknowledged before its fourth copy: loss, not a black hole") {
        t.learn(seg(true, 1, 201), true, kDefaults);
        t.learn(ack_of(false, 202), false, kDefaults);
        t.learn(seg(true, 202, 1448), true, kDefaults);
        t.learn(retrans(seg(true, 202, 1448)), true, kDefaults);
        t.learn(retrans(seg(true, 202, 1448)), true, kDefaults);
        t.learn(ack_of(false, 1650), false, kDefaults);
        CHECK(t.side(true).largest_acked == 1448);
        CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true, kDefaults));
    }
    SECTION("a segment of that size got through before") {
        t.learn(seg(true, 1, 1448), true, kDefaults);
        t.learn(ack_of(false, 1449), false, kDefaults);
        t.learn(seg(true, 1449, 1448), true, kDefaults);
        for (int i = 0; i < 5; ++i) CHECK_FALSE(t.learn(retrans(seg(true, 1449, 1448)), true, kDefaults));
    }
    SECTION("small segments lost: ordinary loss") {
        t.learn(seg(true, 1, 58), true, kDefaults);
        t.learn(ack_of(false, 59), false, kDefaults);
        t.learn(seg(true, 59, 201), true, kDefaults);
        for (int i = 0; i < 5; ++i) CHECK_FALSE(t.learn(retrans(seg(true, 59, 201)), true, kDefaults));
    }
    SECTION("nothing of that side was ever acknowledged: a dead path, not an MTU") {
        t.learn(seg(true, 1, 1448), true, kDefaults);
        for (int i = 0; i < 5; ++i) CHECK_FALSE(t.learn(retrans(seg(true, 1, 1448)), true, kDefaults));
    }
    SECTION("an acknowledgement wraps around the sequence space") {
        t.learn(seg(true, 0xfffffff0u, 201), true, kDefaults);
        t.learn(ack_of(false, 0xfffffff0u + 201), false, kDefaults);
        CHECK(t.side(true).largest_acked == 201);
    }
    CHECK_FALSE(t.found());
}

TEST_CASE("path_mtu_black_hole on the connection: frame, sizes, fix", "[pmtu]") {
    std::vector<Packet> f = small_ones_acked();
    f.push_back(seg(true, 260, 1448));
    f.push_back(seg(true, 1708, 612));
    for (int i = 0; i < 4; ++i) f.push_back(retrans(seg(true, 260, 1448)));
    Run run(f);
    uint32_t at = 0;
    const tdsdiag::Diagnosis* d = find(run, Code::PathMtuBlackHole, &at);
    REQUIRE(d != nullptr);
    CHECK(count(run, Code::PathMtuBlackHole) == 1);
    CHECK(at == 12);  // the third retransmission: the fourth copy of frame 8
    CHECK(d->severity == tdsdiag::Severity::Warn);
    CHECK(d->text.find("1448-byte segment (frame 8) 3 more times in 0.040 s, never acknowledged") != std::string::npos);
    CHECK(d->text.find("segments up to 201 bytes were:") != std::string::npos);
    INFO(d->text << " // " << d->detail);
    CHECK((d->text + d->detail).find("Packet Size below 201 bytes") != std::string::npos);
    CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    CHECK(d->text.find("likely") != std::string::npos);
    SECTION("acknowledged later: the complete view says so") {
        run.feed({ack_of(false, 1708 + 612)});
        const auto later = run.analyzer.find(0)->diagnoses_on(at, true);
        REQUIRE(later.size() == 1);
        CHECK(later[0].detail.find("acknowledged later") != std::string::npos);
    }
}

TEST_CASE("path_mtu_black_hole's text fits with the largest numbers", "[pmtu]") {
    tdsdiag::Evidence e;
    e.from = tdsdiag::Side::Server;
    e.lost_len = 4294967295u;
    e.passed_len = 4294967295u;
    e.lost_frame = 4294967295u;
    e.retries = 2147483647;
    e.waited_ns = 999999999999999;
    std::vector<Packet> f = small_ones_acked();
    Run run(f);
    for (const uint32_t icmp : {0u, 4294967295u}) {  // without, then with the ICMP form's message
        e.icmp_frame = e.icmp_mtu = icmp;
        const auto w = tdsdiag::pmtu_words(e, *run.analyzer.find(0), true);
        CHECK(w.what.size() <= tdsdiag::kMaxTextLength);
        CHECK(w.what.find("path-MTU black hole") != std::string::npos);
        CHECK((w.what.find("ICMP too-big message") != std::string::npos) == (icmp != 0));
    }
}

namespace {
// The router's ICMP fragmentation needed (MTU `mtu`) quoting the segment at `seq` of `len` bytes that
// side `c` sent (52 bytes of IPv4 and TCP headers with timestamps).
Packet icmp_too_big(bool c, uint32_t seq, uint32_t len, uint32_t mtu) {
    Packet p = seg(c, seq, len);
    p.icmp_error = true;
    p.icmp_mtu = mtu;
    p.icmp_overhead = 52;
    return p;
}
// A login in clear whose Login7 asked for packet size 4096 and whose response granted 4096, then
// a result from the server in 1448-byte segments, the first one answered by an ICMP (MTU 1200).
std::vector<Packet> result_after_icmp() {
    std::vector<Packet> f = small_ones_acked();
    f[5].login7_packet_size = 4096;
    Packet resp = seg(false, 1, 373, 260);
    resp.tds_types = {tdsdiag::kTdsResponse};
    resp.login_ack = true;
    resp.envchange_packet_size = 4096;
    f.push_back(resp);
    f.push_back(ack_of(true, 374));
    f.push_back(seg(false, 374, 1448, 260));  // frame 10
    f.push_back(icmp_too_big(false, 374, 1448, 1200));  // frame 11
    return f;
}
}  // namespace

TEST_CASE("path_mtu_black_hole, ICMP form: too-large segments sent again after fragmentation needed", "[pmtu]") {
    std::vector<Packet> f = result_after_icmp();
    for (int i = 0; i < 3; ++i) f.push_back(retrans(seg(false, 374, 1448, 260)));  // frames 12-14
    Run run(f);
    uint32_t at = 0;
    const tdsdiag::Diagnosis* d = find(run, Code::PathMtuBlackHole, &at);
    REQUIRE(d != nullptr);
    INFO(d->text << " // " << d->detail);
    CHECK(at == 14);  // the third too-large retransmission after the ICMP (pmtu_copies 4)
    CHECK(count(run, Code::PathMtuBlackHole) == 1);
    CHECK(d->text.find("(frame 11) gave the server a path MTU of 1200 bytes, yet it sent 3 more segments of up to 1448 bytes") !=
          std::string::npos);
    CHECK(d->text.find("likely") != std::string::npos);
    CHECK(d->detail.find("up to 1148 bytes of TCP payload") != std::string::npos);
    CHECK(d->detail.find("The login asked for TDS packet size 4096 and the server granted 4096.") != std::string::npos);
    // The ICMP frame is the connection's, but no segment: it changes neither step nor counts.
    CHECK(run.results[10].in_connection);
    CHECK(run.analyzer.find(0)->summary(true).packet_size_asked == 4096u);
    CHECK(run.analyzer.find(0)->summary(true).packet_size_granted == 4096u);
}

TEST_CASE("path_mtu_black_hole, ICMP form: path MTU discovery at work is no failure", "[pmtu]") {
    std::vector<Packet> f = result_after_icmp();
    SECTION("the quoted data sent again in segments that fit") {
        f.push_back(retrans(seg(false, 374, 1148, 260)));
        f.push_back(retrans(seg(false, 1522, 300, 260)));
        f.push_back(ack_of(true, 1822));
    }
    SECTION("a small retransmission elsewhere does not count as discovery, but too few copies are no proof") {
        f.push_back(retrans(seg(false, 5000, 48, 260)));
        f.push_back(retrans(seg(false, 374, 1448, 260)));
        f.push_back(retrans(seg(false, 374, 1448, 260)));
    }
    Run run(f);
    CHECK(count(run, Code::PathMtuBlackHole) == 0);
}

TEST_CASE("path_mtu_black_hole: the preferences change the result", "[pmtu]") {
    std::vector<Packet> f = small_ones_acked();
    f.push_back(seg(true, 260, 1448));
    for (int i = 0; i < 3; ++i) f.push_back(retrans(seg(true, 260, 1448)));
    CHECK(count(Run(f), Code::PathMtuBlackHole) == 1);  // four copies, 1448 bytes: the defaults
    tdsdiag::Config more_copies;
    more_copies.pmtu_copies = 5;
    CHECK(count(Run(f, more_copies), Code::PathMtuBlackHole) == 0);
    tdsdiag::Config larger;
    larger.pmtu_min_segment = 1449;
    CHECK(count(Run(f, larger), Code::PathMtuBlackHole) == 0);
    tdsdiag::Config fewer_copies;
    fewer_copies.pmtu_copies = 3;
    f.pop_back();
    CHECK(count(Run(f), Code::PathMtuBlackHole) == 0);
    CHECK(count(Run(f, fewer_copies), Code::PathMtuBlackHole) == 1);
}

TEST_CASE("TDS packet sizes: the Login7's PacketSize and the ENVCHANGE type 4", "[pmtu]") {
    // Login7 bytes after the TDS header: Length (4), TDSVersion (4), PacketSize (4) = 8000
    std::vector<uint8_t> login(94, 0);
    login[8] = 0x40;
    login[9] = 0x1f;
    CHECK(tdsdiag::login7_packet_size(login.data(), login.size()) == 8000u);
    CHECK(tdsdiag::login7_packet_size(login.data(), 11) == 0u);
    // ENVCHANGE packet size "4096" (new) and "4096" (old), then DONE
    const uint8_t env[] = {0xe3, 0x13, 0x00, 0x04, 0x04, '4', 0, '0', 0, '9', 0, '6', 0, 0x04, '4', 0, '0', 0, '9', 0, '6', 0,
                           0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const tdsdiag::LoginTokens t = tdsdiag::walk_login_tokens(env, sizeof env);
    CHECK(t.complete);
    CHECK(t.packet_size == 4096u);
    // not a number: none
    uint8_t bad[sizeof env];
    std::copy(env, env + sizeof env, bad);
    bad[5] = 'x';
    CHECK(tdsdiag::walk_login_tokens(bad, sizeof bad).packet_size == 0u);
}

// path_mtu_black_hole (issue 31): full-size segments sent again and again without acknowledgement
// while the same side's smaller segments are acknowledged.
#include "catch_compat.hpp"

#include "builders.hpp"
#include "tdsdiag/pmtu.hpp"

using namespace test;
using tdsdiag::Code;
using tdsdiag::PmtuTracker;

namespace {
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
    CHECK_FALSE(t.learn(seg(true, 1, 201), true));
    CHECK_FALSE(t.learn(ack_of(false, 202), false));
    CHECK(t.side(true).largest_acked == 201);
    CHECK_FALSE(t.learn(seg(true, 202, 1448), true));
    CHECK_FALSE(t.learn(seg(true, 1650, 1448), true));
    CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true));
    CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true));
    CHECK(t.learn(retrans(seg(true, 202, 1448)), true));  // the fourth copy
    CHECK(t.side(true).stuck_len == 1448);
    CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true));  // once per connection
    CHECK(t.found());
    CHECK(t.found_client());
}

TEST_CASE("PmtuTracker: no black hole without that evidence", "[pmtu]") {
    PmtuTracker t;
    SECTION("the lost segment was acknowledged before its fourth copy: loss, not a black hole") {
        t.learn(seg(true, 1, 201), true);
        t.learn(ack_of(false, 202), false);
        t.learn(seg(true, 202, 1448), true);
        t.learn(retrans(seg(true, 202, 1448)), true);
        t.learn(retrans(seg(true, 202, 1448)), true);
        t.learn(ack_of(false, 1650), false);
        CHECK(t.side(true).largest_acked == 1448);
        CHECK_FALSE(t.learn(retrans(seg(true, 202, 1448)), true));
    }
    SECTION("a segment of that size got through before") {
        t.learn(seg(true, 1, 1448), true);
        t.learn(ack_of(false, 1449), false);
        t.learn(seg(true, 1449, 1448), true);
        for (int i = 0; i < 5; ++i) CHECK_FALSE(t.learn(retrans(seg(true, 1449, 1448)), true));
    }
    SECTION("small segments lost: ordinary loss") {
        t.learn(seg(true, 1, 58), true);
        t.learn(ack_of(false, 59), false);
        t.learn(seg(true, 59, 201), true);
        for (int i = 0; i < 5; ++i) CHECK_FALSE(t.learn(retrans(seg(true, 59, 201)), true));
    }
    SECTION("nothing of that side was ever acknowledged: a dead path, not an MTU") {
        t.learn(seg(true, 1, 1448), true);
        for (int i = 0; i < 5; ++i) CHECK_FALSE(t.learn(retrans(seg(true, 1, 1448)), true));
    }
    SECTION("an acknowledgement wraps around the sequence space") {
        t.learn(seg(true, 0xfffffff0u, 201), true);
        t.learn(ack_of(false, 0xfffffff0u + 201), false);
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
    const auto w = tdsdiag::pmtu_words(e, *run.analyzer.find(0), true);
    CHECK(w.what.size() <= tdsdiag::kMaxTextLength);
    CHECK(w.what.find("path-MTU black hole") != std::string::npos);
}

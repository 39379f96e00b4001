// Issue 31 item 2: a client's connections to one server port at several addresses (a name's addresses):
// parallel attempts the client abandons are parallel_attempt notes, not syn_unanswered or client_reset;
// addresses tried in turn name the dead one and the time lost in syn_unanswered.
#include "catch_compat.hpp"

#include <string>
#include <vector>

#include "builders.hpp"

using namespace test;
using tdsdiag::Code;

namespace {

// A frame of `stream` at `ms` (after a first 10 s: Run numbers a frame at 0 by its place), to (or from)
// the server address `server`.
Packet at(Packet p, uint32_t stream, int64_t ms, const std::string& server) {
    const bool client = p.src_addr == "10.10.10.10";
    p.stream = stream;
    p.time_ns = (10000 + ms) * 1000000;
    p.src_port = static_cast<uint16_t>(client ? kClientPort + stream : kServerPort);
    p.dst_port = static_cast<uint16_t>(client ? kServerPort : kClientPort + stream);
    (client ? p.dst_addr : p.src_addr) = server;
    return p;
}

const char* const kDead = "10.10.10.121";
const char* const kLive = "10.10.10.120";

// The diagnoses of `frame` as known once the capture is read (the second pass).
std::vector<tdsdiag::Diagnosis> later(const Run& run, uint32_t stream, uint32_t frame) {
    return run.analyzer.find(stream)->diagnoses_on(frame, true);
}

// The connection's outcome once the capture is read, and whether it has a failed_step.
tdsdiag::Outcome outcome(const Run& run, uint32_t stream) {
    return run.analyzer.find(stream)->summary(true).outcome;
}
bool has_failed_step(const Run& run, uint32_t stream) {
    return run.analyzer.find(stream)->summary(true).failed_step.has_value();
}

bool has(const std::vector<tdsdiag::Diagnosis>& ds, Code code) {
    for (const auto& d : ds)
        if (d.code == code) return true;
    return false;
}

// The live attempt: handshake and a prelogin answered.
std::vector<Packet> live(uint32_t stream, int64_t ms) {
    return {at(syn(), stream, ms, kLive), at(synack(), stream, ms + 1, kLive), at(ack(true), stream, ms + 2, kLive),
            at(tds(true, {tdsdiag::kTdsPrelogin}), stream, ms + 3, kLive),
            at(tds(false, {tdsdiag::kTdsResponse}), stream, ms + 4, kLive)};
}

std::vector<Packet> operator+(std::vector<Packet> a, const std::vector<Packet>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_CASE("Parallel attempts at a name's addresses", "[diagnoses][attempts]") {
    SECTION("the SYN to the dead address, sent again, is a parallel_attempt, not syn_unanswered") {
        // Stream 0 to the dead address at 0 ms, stream 1 to the live one 1 ms later; stream 0's SYN sent
        // again at 1 s (frame 8).
        Run run(std::vector<Packet>{at(syn(), 0, 0, kDead)} + live(1, 1) +
                std::vector<Packet>{at(retrans(syn()), 0, 1000, kDead)} + std::vector<Packet>{at(retrans(syn()), 0, 1000, kDead)});
        // The single pass found syn_unanswered on the retransmission, but it does not stand.
        CHECK(later(run, 0, 7).empty());
        const auto first = later(run, 0, 1);
        REQUIRE(first.size() == 1);
        CHECK(first[0].code == Code::ParallelAttempt);
        CHECK(first[0].severity == tdsdiag::Severity::Note);
        CHECK(first[0].text.find("attempt at 10.10.10.121") != std::string::npos);
        CHECK(first[0].text.find("the one to 10.10.10.120 (stream 1) answered") != std::string::npos);
        CHECK(first[0].text.find("its SYN got no answer") != std::string::npos);
        CHECK(first[0].text.size() <= tdsdiag::kMaxTextLength);
        // The kept connection gets no note.
        CHECK(later(run, 1, 2).empty());
        // Given up, not failed: outcome abandoned, no failed step; the kept one is untouched.
        CHECK(outcome(run, 0) == tdsdiag::Outcome::Abandoned);
        CHECK(std::string(tdsdiag::outcome_name(outcome(run, 0))) == "abandoned");
        CHECK_FALSE(has_failed_step(run, 0));
        CHECK(outcome(run, 1) != tdsdiag::Outcome::Abandoned);
    }
    SECTION("an unanswered parallel SYN never sent again is abandoned, not open") {
        Run run(std::vector<Packet>{at(syn(), 0, 0, kDead)} + live(1, 1));
        CHECK(outcome(run, 0) == tdsdiag::Outcome::Abandoned);
        CHECK_FALSE(has_failed_step(run, 0));
    }
    SECTION("an answered attempt the client resets before any TDS is a parallel_attempt, not client_reset") {
        Run run(std::vector<Packet>{at(syn(), 0, 0, kDead), at(synack(), 0, 1, kDead), at(ack(true), 0, 1, kDead)} +
                live(1, 2) + std::vector<Packet>{at(rst(true), 0, 10, kDead)});
        const uint32_t reset = 9;
        const auto& single = run.results[reset - 1].diagnoses;
        CHECK(has(single, Code::ParallelAttempt));
        CHECK_FALSE(has(single, Code::ClientReset));
        const auto two = later(run, 0, reset);
        REQUIRE(two.size() == 1);
        CHECK(two[0].code == Code::ParallelAttempt);
        CHECK(two[0].text.find("closed before any TDS") != std::string::npos);
        CHECK(later(run, 0, 1).empty());  // answered: no note on its SYN
        CHECK(outcome(run, 0) == tdsdiag::Outcome::Abandoned);
        CHECK_FALSE(has_failed_step(run, 0));
    }
    SECTION("an answered attempt closed while its sibling got no answer is a failure, not abandoned") {
        // Nothing of the other address went on: no parallel_attempt, and the close is the failure it looks.
        Run run({at(syn(), 0, 0, kDead), at(synack(), 0, 1, kDead), at(ack(true), 0, 1, kDead), at(syn(), 1, 2, kLive),
                 at(rst(true), 0, 10, kDead), at(retrans(syn()), 1, 1002, kLive)});
        CHECK_FALSE(has(later(run, 0, 5), Code::ParallelAttempt));
        CHECK(outcome(run, 0) == tdsdiag::Outcome::Failed);
        CHECK(has_failed_step(run, 0));
    }
    SECTION("both addresses dead: syn_unanswered stands on both") {
        Run run({at(syn(), 0, 0, kDead), at(syn(), 1, 1, kLive), at(retrans(syn()), 0, 1000, kDead),
                 at(retrans(syn()), 1, 1001, kLive)});
        CHECK(has(later(run, 0, 3), Code::SynUnanswered));
        CHECK(has(later(run, 1, 4), Code::SynUnanswered));
        CHECK(later(run, 0, 1).empty());
        CHECK(outcome(run, 0) == tdsdiag::Outcome::Failed);
        CHECK(outcome(run, 1) == tdsdiag::Outcome::Failed);
        CHECK(has_failed_step(run, 0));
    }
    SECTION("attempts farther apart than the window are not parallel") {
        tdsdiag::Config config;
        config.parallel_window_ns = 100000000;  // tdsdiag.parallel_window_ms = 100
        Run run(std::vector<Packet>{at(syn(), 0, 0, kDead), at(synack(), 0, 1, kDead), at(ack(true), 0, 2, kDead)} +
                    live(1, 200) + std::vector<Packet>{at(rst(true), 0, 300, kDead)},
                config);
        CHECK(has(run.results[9 - 1].diagnoses, Code::ClientReset));
        CHECK_FALSE(has(run.results[9 - 1].diagnoses, Code::ParallelAttempt));
        CHECK(outcome(run, 0) == tdsdiag::Outcome::Failed);
    }
    SECTION("another client, or another port, is no sibling") {
        Packet other = at(syn(), 1, 1, kLive);
        other.src_addr = "10.10.10.11";
        Run run({at(syn(), 0, 0, kDead), other, at(synack(), 1, 2, kLive), at(retrans(syn()), 0, 1000, kDead)});
        CHECK(has(later(run, 0, 4), Code::SynUnanswered));
        CHECK(run.analyzer.find(0)->attempts().parallel.empty());
    }
}

TEST_CASE("Addresses tried in turn: syn_unanswered names the dead one and the time lost", "[diagnoses][attempts]") {
    SECTION("the next address answered") {
        Run run(std::vector<Packet>{at(syn(), 0, 0, kDead), at(retrans(syn()), 0, 1000, kDead),
                                    at(retrans(syn()), 0, 3000, kDead)} +
                live(1, 7000));
        // Single pass: at frame 2 the next attempt was not known yet.
        const auto& single = run.results[1].diagnoses;
        REQUIRE(single.size() == 1);
        CHECK(single[0].code == Code::SynUnanswered);
        CHECK(single[0].text.find("next address") == std::string::npos);
        const auto two = later(run, 0, 2);
        REQUIRE(two.size() == 1);
        CHECK(two[0].code == Code::SynUnanswered);
        CHECK(two[0].text.find("The SYN to 10.10.10.121 got no answer (resent after 1.000 s)") != std::string::npos);
        CHECK(two[0].text.find("tried 10.10.10.120 (stream 1) 7.000 s later") != std::string::npos);
        CHECK(two[0].text.find("and it answered: time lost on a dead address") != std::string::npos);
        CHECK(two[0].text.find("Fix: Remove the dead address from the name or set MultiSubnetFailover=True.") != std::string::npos);
        CHECK(two[0].text.size() <= tdsdiag::kMaxTextLength);
        CHECK(run.analyzer.find(0)->attempts().next == run.analyzer.find(1));
    }
    SECTION("the next address did not answer either") {
        Run run({at(syn(), 0, 0, kDead), at(retrans(syn()), 0, 1000, kDead), at(syn(), 1, 7000, kLive),
                 at(retrans(syn()), 1, 8000, kLive)});
        const auto two = later(run, 0, 2);
        REQUIRE(two.size() == 1);
        CHECK(two[0].text.find("and it got no answer either") != std::string::npos);
        CHECK(two[0].text.find("Check both addresses") != std::string::npos);
        CHECK(has(later(run, 1, 4), Code::SynUnanswered));
    }
    SECTION("the longest texts fit (IPv6 addresses, 10-digit streams)") {
        const std::string a = "2001:0db8:85a3:0000:0000:8a2e:0370:7334", b = "2001:0db8:85a3:0000:0000:8a2e:0370:7335";
        auto v6 = [](Packet p, uint32_t stream, int64_t ms, const std::string& server) {
            Packet q = at(std::move(p), stream, ms, server);
            (q.src_addr == "10.10.10.10" ? q.src_addr : q.dst_addr) = "2001:0db8:85a3:0000:0000:8a2e:0370:7000";
            return q;
        };
        const uint32_t s0 = 4000000000u, s1 = 4000000001u;
        Run turn({v6(syn(), s0, 0, a), v6(retrans(syn()), s0, 1000, a), v6(syn(), s1, 100000, b),
                  v6(synack(), s1, 100001, b)});
        for (const auto& d : turn.analyzer.find(s0)->diagnoses_on(2, true)) CHECK(d.text.size() <= tdsdiag::kMaxTextLength);
        Run par({v6(syn(), s0, 0, a), v6(syn(), s1, 1, b), v6(synack(), s1, 2, b), v6(ack(true), s1, 3, b),
                 v6(tds(true, {tdsdiag::kTdsPrelogin}), s1, 4, b)});
        const auto ds = par.analyzer.find(s0)->diagnoses_on(1, true);
        REQUIRE(ds.size() == 1);
        CHECK(ds[0].text.size() <= tdsdiag::kMaxTextLength);
    }
    SECTION("a name's addresses given (the DNS hook) narrow the tie") {
        const std::vector<std::string> names{kLive, "10.10.10.122"};
        Run run({at(syn(), 0, 0, kDead), at(syn(), 1, 1, kLive)});
        CHECK(tdsdiag::other_address_of_server(*run.analyzer.find(0), *run.analyzer.find(1)));
        CHECK_FALSE(tdsdiag::other_address_of_server(*run.analyzer.find(0), *run.analyzer.find(1), &names));
    }
}

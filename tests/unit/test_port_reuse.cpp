// port_reuse: a SYN on the addresses and ports of a connection that ended lately, turned away by the
// server's TCP (an ACK of the old connection, or a reset) instead of a SYN/ACK.
#include "catch_compat.hpp"

#include <string>
#include <vector>

#include "builders.hpp"

using namespace test;
using tdsdiag::Code;
using tdsdiag::Severity;

namespace {

// A frame of `stream` at `ms`, on the same client port whatever the stream (the builders give each
// stream a port of its own).
Packet on(Packet p, uint32_t stream, int64_t ms, uint32_t seq = 0, uint32_t ack = 0) {
    p.stream = stream;
    p.time_ns = ms * 1000000;
    if (seq) p.tcp_seq = seq;
    if (ack) p.tcp_ack = ack;
    return p;
}

// Connection 0: handshake, a batch in clear, and the server closing first (it then holds TIME_WAIT).
std::vector<Packet> first_connection() {
    return {on(syn(), 0, 0, 1000),
            on(synack(), 0, 1, 7000, 1001),
            on(ack(true), 0, 2, 1001, 7001),
            on(tds(true, {tdsdiag::kTdsPrelogin}), 0, 3, 1001, 7001),
            on(tds(false, {tdsdiag::kTdsResponse}), 0, 4, 7001, 1101),
            on(fin(false), 0, 10, 7101, 1101),
            on(fin(true), 0, 11, 1101, 7102),
            on(ack(false), 0, 12, 7102, 1102)};
}

std::vector<Packet> operator+(std::vector<Packet> a, std::initializer_list<Packet> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Bare reset of the client answering an ACK that did not acknowledge its SYN (sequence = that ACK).
Packet bare_rst(uint32_t stream, int64_t ms, uint32_t seq) { return on(frame(true, tdsdiag::kRst), stream, ms, seq); }

const tdsdiag::Diagnosis* in(const std::vector<tdsdiag::Diagnosis>& ds, Code code) {
    for (const auto& d : ds)
        if (d.code == code) return &d;
    return nullptr;
}


}  // namespace

TEST_CASE("A SYN on the ports of a connection the server still holds is port_reuse", "[diagnoses][port_reuse]") {
    SECTION("a SYN answered by a bare ACK of the old connection soon after it closed") {
        // 1.5 s after the close the client's SYN (sequence 500, below the old one) gets the server's ACK
        // of 1102, the old connection's next byte; the client resets it and sends its SYN again 1 s
        // later, in a stream of its own (Wireshark starts one after the reset), which is accepted.
        Run run(first_connection() + std::initializer_list<Packet>{
                                         on(syn(), 1, 1512, 500),                        // 9
                                         on(ack(false), 1, 1513, 7102, 1102),            // 10: the bounce
                                         bare_rst(1, 1514, 1102),                        // 11
                                         on(syn(), 2, 2512, 500),                        // 12: sent again
                                         on(synack(), 2, 2513, 90000, 501),              // 13
                                         on(ack(true), 2, 2514, 501, 90001)});           // 14
        const auto& ds = run.results[9].diagnoses;
        REQUIRE(ds.size() == 1);
        CHECK(ds[0].code == Code::PortReuse);
        CHECK(ds[0].severity == Severity::Warn);
        CHECK(ds[0].text.size() <= tdsdiag::kMaxTextLength);
        CHECK(ds[0].text.find("with an ACK of connection 0 (frame 1, ended 1.502 s before), not a SYN/ACK") !=
              std::string::npos);
        CHECK(ds[0].text.find("ended 1.502 s before") != std::string::npos);
        CHECK(ds[0].text.find("likely the client reused the port") != std::string::npos);
        CHECK(ds[0].detail.find("ACK of 1102") != std::string::npos);
        CHECK(count(run, Code::PortReuse) == 1);
        // The client's reset of the bounce is no close, the SYN sent again no syn_unanswered.
        CHECK(count(run, Code::ClientReset) == 0);
        CHECK(count(run, Code::SynUnanswered) == 0);
        CHECK(run.steps() == std::vector<int>{1, 1, 1, 2, 2, 7, 7, 7, 1, 1, 1, 1, 1, 1});
        // The attempt in stream 2 continues the turned-away connection, which then succeeds.
        REQUIRE(run.analyzer.find(2) == run.analyzer.find(1));
        CHECK(run.analyzer.connections().size() == 2);
        const auto* c = run.analyzer.find(1);
        CHECK(c->state() == tdsdiag::State::Established);
        CHECK(c->close().kind == tdsdiag::CloseKind::None);
        // Later views know the SYN sent again was accepted: still a warning.
        const auto now = c->diagnoses_on(10, true);
        REQUIRE(now.size() == 1);
        CHECK(now[0].severity == Severity::Warn);
        CHECK(now[0].detail.find("accepted (frame 13)") != std::string::npos);
    }
    SECTION("a SYN answered by a reset right after a connection the server had accepted") {
        Run run(first_connection() + std::initializer_list<Packet>{on(syn(), 1, 3000, 500),    // 9
                                                                   on(rst(false), 1, 3001, 0, 501)});  // 10
        CHECK(count(run, Code::SynRejected) == 0);
        const auto* d = in(run.results[9].diagnoses, Code::PortReuse);
        REQUIRE(d != nullptr);
        CHECK(d->severity == Severity::Warn);
        CHECK(d->text.find("reset the SYN on the ports of connection 0 (frame 1,") != std::string::npos);
        CHECK(d->text.find("ended 2.990 s before") != std::string::npos);
        // Once the whole capture is read, the connection failed: an error.
        const auto now = run.analyzer.find(1)->diagnoses_on(10, true);
        REQUIRE(now.size() == 1);
        CHECK(now[0].severity == Severity::Error);
        CHECK(now[0].detail.find("never got a SYN/ACK") != std::string::npos);
        CHECK(run.summary(true, 1).outcome == tdsdiag::Outcome::Failed);
    }
    SECTION("the SYN sent again as a retransmission in the same stream (tshark 4.0), bounced each time") {
        // As captured in port-reuse-syn-answered-by-ack-fails: SYN, ACK of the old connection, reset;
        // the SYN again 11 ms later, unanswered; then every second a SYN, the same ACK and a reset.
        std::vector<Packet> f = first_connection() + std::initializer_list<Packet>{
                                                         on(syn(), 1, 1512, 500), on(ack(false), 1, 1513, 7102, 1102),
                                                         bare_rst(1, 1514, 1102), on(retrans(syn()), 1, 1523, 500)};
        for (int64_t t = 2523; t <= 5523; t += 1000)
            f = f + std::initializer_list<Packet>{on(retrans(syn()), 1, t, 500), on(ack(false), 1, t + 1, 7102, 1102),
                                                  bare_rst(1, t + 2, 1102)};
        Run run(f);
        CHECK(count(run, Code::PortReuse) == 1);
        CHECK(count(run, Code::SynUnanswered) == 0);
        CHECK(count(run, Code::ClientReset) == 0);
        const auto* c = run.analyzer.find(1);
        CHECK(c->tcp().syn_bounces == 5);
        CHECK(c->state() == tdsdiag::State::SynSent);
        CHECK(run.summary(true, 1).outcome == tdsdiag::Outcome::Failed);
        CHECK(c->diagnoses_on(10, true).at(0).severity == Severity::Error);
    }
    SECTION("a bounced SYN never accepted fails, and its later view is an error") {
        Run run(first_connection() + std::initializer_list<Packet>{on(syn(), 1, 1512, 500),
                                                                   on(ack(false), 1, 1513, 7102, 1102),
                                                                   bare_rst(1, 1514, 1102)});
        CHECK(count(run, Code::PortReuse) == 1);
        CHECK(run.summary(false, 1).outcome == tdsdiag::Outcome::Pending);
        CHECK(run.summary(true, 1).outcome == tdsdiag::Outcome::Failed);
        CHECK(run.analyzer.find(1)->diagnoses_on(10, true).at(0).severity == Severity::Error);
    }
}

TEST_CASE("A SYN on recently used ports that is not port_reuse", "[diagnoses][port_reuse]") {
    SECTION("a SYN more than TIME_WAIT after the old connection ended") {
        // 241 s later: the server no longer holds the old connection; a reset means nothing listens.
        Run run(first_connection() + std::initializer_list<Packet>{on(syn(), 1, 241011, 500),
                                                                   on(rst(false), 1, 241012, 0, 501)});
        CHECK(count(run, Code::PortReuse) == 0);
        CHECK(count(run, Code::SynRejected) == 1);
        CHECK(!run.analyzer.find(1)->earlier());
    }
    SECTION("a SYN answered by a bare ACK after TIME_WAIT is not named, but still waits for its answer") {
        tdsdiag::Config config;
        config.time_wait_ns = 1000000000;  // tdsdiag.time_wait_s = 1
        Run run(first_connection() + std::initializer_list<Packet>{on(syn(), 1, 1512, 500),
                                                                   on(ack(false), 1, 1513, 7102, 1102),
                                                                   bare_rst(1, 1514, 1102)},
                config);
        CHECK(count(run, Code::PortReuse) == 0);
        CHECK(count(run, Code::ClientReset) == 0);
        CHECK(run.analyzer.find(1)->state() == tdsdiag::State::SynSent);
    }
    SECTION("a SYN on the same ports answered by a SYN/ACK, as Linux answers one to its TIME_WAIT") {
        Run run(first_connection() + std::initializer_list<Packet>{on(syn(), 1, 1512, 900000),
                                                                   on(synack(), 1, 1513, 90000, 900001),
                                                                   on(ack(true), 1, 1514, 900001, 90001)});
        CHECK(count(run, Code::PortReuse) == 0);
        for (size_t i = 8; i < run.results.size(); ++i) CHECK(run.results[i].diagnoses.empty());
        REQUIRE(run.analyzer.find(1) != run.analyzer.find(0));
        CHECK(run.analyzer.find(1)->earlier().has_value());  // linked, and accepted: nothing to say
        CHECK(run.analyzer.find(1)->state() == tdsdiag::State::Established);
    }
    SECTION("an ACK that acknowledges the SYN is no bounce") {
        Run run(first_connection() + std::initializer_list<Packet>{on(syn(), 1, 1512, 500),
                                                                   on(ack(false), 1, 1513, 7102, 501)});
        CHECK(count(run, Code::PortReuse) == 0);
        CHECK(run.analyzer.find(1)->tcp().syn_bounces == 0);
    }
}

// The SQL Browser (SSRP) reader and lookups: step 0, browser_* diagnoses, the link to the TCP connection.
#include "catch_compat.hpp"

#include <string>

#include "builders.hpp"
#include "tdsdiag/report.hpp"
#include "tdsdiag/ssrp.hpp"

using namespace tdsdiag;

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> answer_bytes(const std::string& text) {
    std::vector<uint8_t> b{0x05, static_cast<uint8_t>(text.size() & 0xff), static_cast<uint8_t>(text.size() >> 8)};
    b.insert(b.end(), text.begin(), text.end());
    return b;
}

const std::string kTwo =
    "ServerName;LABSQL;InstanceName;SQLEXPRESS;IsClustered;No;Version;16.0.1000.6;tcp;1433;np;\\\\LABSQL\\pipe\\sql\\query;;"
    "ServerName;LABSQL;InstanceName;SALES;IsClustered;No;Version;15.0.2000.5;tcp;50123;;";

BrowserPacket request(uint32_t frame, int64_t ms, const std::string& instance, uint16_t client_port = 40000) {
    BrowserPacket p;
    p.frame = frame;
    p.time_ns = ms * 1000000;
    p.src_addr = "10.10.10.10";
    p.dst_addr = "10.10.10.120";
    p.src_port = client_port;
    p.dst_port = kSsrpPort;
    std::vector<uint8_t> b{0x04};
    b.insert(b.end(), instance.begin(), instance.end());
    b.push_back(0);
    if (instance.empty()) b = {0x03};
    p.msg = parse_ssrp(b.data(), b.size(), false);
    return p;
}

BrowserPacket answer(uint32_t frame, int64_t ms, const std::string& text, uint16_t client_port = 40000) {
    BrowserPacket p;
    p.frame = frame;
    p.time_ns = ms * 1000000;
    p.src_addr = "10.10.10.120";
    p.dst_addr = "10.10.10.10";
    p.src_port = kSsrpPort;
    p.dst_port = client_port;
    const auto b = answer_bytes(text);
    p.msg = parse_ssrp(b.data(), b.size(), true);
    return p;
}

BrowserPacket icmp(uint32_t frame, int64_t ms, uint8_t type, uint8_t code, const std::string& instance) {
    BrowserPacket p = request(frame, ms, instance);
    p.icmp_error = true;
    p.icmp_type = type;
    p.icmp_code = code;
    return p;
}

bool has_code(const FrameResult& r, Code c) {
    for (const auto& d : r.diagnoses)
        if (d.code == c) return true;
    return false;
}

}  // namespace

TEST_CASE("The SSRP reader names each request type and reads the instance name", "[ssrp]") {
    SECTION("CLNT_UCAST_INST") {
        const auto b = bytes(std::string("\x04SQLEXPRESS", 11) + std::string(1, '\0'));
        const SsrpMessage m = parse_ssrp(b.data(), b.size(), false);
        REQUIRE(m.valid);
        CHECK(m.type == SsrpType::UnicastInst);
        CHECK(m.instance == "SQLEXPRESS");
        CHECK(m.instance_offset == 1);
        CHECK(m.instance_length == 10);
    }
    SECTION("CLNT_UCAST_EX and CLNT_BCAST_EX are one byte") {
        const uint8_t ex[] = {0x03}, bc[] = {0x02}, longer[] = {0x03, 0x00};
        CHECK(parse_ssrp(ex, 1, false).type == SsrpType::UnicastEx);
        CHECK(parse_ssrp(bc, 1, false).type == SsrpType::BroadcastEx);
        CHECK_FALSE(parse_ssrp(longer, 2, false).valid);
    }
    SECTION("CLNT_UCAST_DAC carries a version and the instance") {
        const auto b = bytes(std::string("\x0f\x01MSSQLSERVER", 13) + std::string(1, '\0'));
        const SsrpMessage m = parse_ssrp(b.data(), b.size(), false);
        REQUIRE(m.valid);
        CHECK(m.type == SsrpType::UnicastDac);
        CHECK(m.dac_version == 1);
        CHECK(m.instance == "MSSQLSERVER");
    }
    SECTION("an instance name longer than 32 bytes is not SSRP") {
        const auto b = bytes("\x04" + std::string(40, 'A'));
        CHECK_FALSE(parse_ssrp(b.data(), b.size(), false).valid);
    }
    SECTION("other first bytes are not SSRP") {
        const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00};
        CHECK_FALSE(parse_ssrp(dns, sizeof dns, false).valid);
        CHECK_FALSE(parse_ssrp(dns, sizeof dns, true).valid);
        CHECK_FALSE(parse_ssrp(nullptr, 0, false).valid);
    }
}

TEST_CASE("The SSRP reader splits an answer into instances with their TCP ports", "[ssrp]") {
    const auto b = answer_bytes(kTwo);
    const SsrpMessage m = parse_ssrp(b.data(), b.size(), true);
    REQUIRE(m.valid);
    CHECK(m.resp_size == kTwo.size());
    REQUIRE(m.instances.size() == 2);
    CHECK(m.instances[0].server == "LABSQL");
    CHECK(m.instances[0].instance == "SQLEXPRESS");
    CHECK(m.instances[0].clustered == "No");
    CHECK(m.instances[0].version == "16.0.1000.6");
    CHECK(m.instances[0].tcp_port == 1433);
    CHECK(m.instances[0].pipe == "\\\\LABSQL\\pipe\\sql\\query");
    CHECK(m.instances[1].instance == "SALES");
    CHECK(m.instances[1].tcp_port == 50123);
    // Offsets point into the datagram.
    const SsrpToken& t = m.instances[1].tokens[1];
    CHECK(t.key == "InstanceName");
    CHECK(std::string(b.begin() + static_cast<long>(t.value_offset),
                      b.begin() + static_cast<long>(t.value_offset + t.value_length)) == "SALES");

    SECTION("an answer cut short keeps what it holds and says so") {
        const std::vector<uint8_t> cut(b.begin(), b.begin() + 60);
        const SsrpMessage c = parse_ssrp(cut.data(), cut.size(), true);
        REQUIRE(c.valid);
        CHECK(c.truncated);
        REQUIRE(c.instances.size() == 1);
        CHECK(c.instances[0].instance == "SQLEXPRESS");
    }
    SECTION("the answer to a DAC request holds its port") {
        const uint8_t dac[] = {0x05, 0x06, 0x00, 0x01, 0x39, 0x05};
        const SsrpMessage d = parse_ssrp(dac, sizeof dac, true);
        REQUIRE(d.valid);
        CHECK(d.dac_response);
        CHECK(d.dac_port == 1337);
    }
    SECTION("a port that is not a number is left out") {
        const auto bad = answer_bytes("ServerName;S;InstanceName;I;IsClustered;No;Version;1;tcp;14x3;;");
        const SsrpMessage x = parse_ssrp(bad.data(), bad.size(), true);
        REQUIRE(x.instances.size() == 1);
        CHECK_FALSE(x.instances[0].tcp_port);
    }
}

TEST_CASE("SQL Browser frames are step 0 and a prompt answer gives no diagnosis", "[ssrp]") {
    Analyzer a;
    const FrameResult r1 = a.on_browser(request(1, 0, "SQLEXPRESS"));
    CHECK(r1.step == Step::Browser);
    CHECK(r1.step_first);
    const FrameResult r2 = a.on_browser(answer(2, 5, kTwo));
    CHECK(r2.step == Step::Browser);
    CHECK_FALSE(r2.step_first);
    CHECK(r2.diagnoses.empty());
    REQUIRE(a.lookup_count() == 1);
    CHECK(a.lookup(0)->answer_delay_ns() == 5000000);
    CHECK(a.lookup(0)->findings(true).empty());
}

TEST_CASE("A late SQL Browser answer is browser_slow", "[ssrp]") {
    Config c;
    c.browser_slow_ns = 1000000000;
    Analyzer a(c);
    a.on_browser(request(1, 0, "SQLEXPRESS"));
    SECTION("below the threshold") { CHECK_FALSE(has_code(a.on_browser(answer(2, 900, kTwo)), Code::BrowserSlow)); }
    SECTION("above the threshold") {
        const FrameResult r = a.on_browser(answer(2, 1500, kTwo));
        REQUIRE(has_code(r, Code::BrowserSlow));
        CHECK(r.diagnoses[0].text.find("1.500 s") != std::string::npos);
    }
}

TEST_CASE("A request sent again without an answer is browser_unanswered until an answer comes", "[ssrp]") {
    Analyzer a;
    a.on_browser(request(1, 0, "SQLEXPRESS"));
    const FrameResult again = a.on_browser(request(2, 1000, "SQLEXPRESS"));
    CHECK(has_code(again, Code::BrowserUnanswered));
    CHECK(a.lookup(0)->diagnoses_on(2, false).size() == 1);
    SECTION("the answer withdraws it") {
        a.on_browser(answer(3, 1500, kTwo));
        CHECK(a.lookup(0)->diagnoses_on(2, true).empty());
    }
    SECTION("a copy within 0.5 s is not a new try") {
        Analyzer b;
        b.on_browser(request(1, 0, "SQLEXPRESS"));
        CHECK(b.on_browser(request(2, 100, "SQLEXPRESS")).diagnoses.empty());
    }
}

TEST_CASE("An ICMP error to an SQL Browser request is browser_unanswered on the ICMP frame", "[ssrp]") {
    Analyzer a;
    a.on_browser(request(1, 0, "SQLEXPRESS"));
    SECTION("port unreachable: nothing listens") {
        const FrameResult r = a.on_browser(icmp(2, 1, 3, 3, "SQLEXPRESS"));
        REQUIRE(has_code(r, Code::BrowserUnanswered));
        CHECK(r.step == Step::Browser);
        CHECK(r.diagnoses[0].text.find("port unreachable") != std::string::npos);
        CHECK(r.diagnoses[0].text.find("nothing listens") != std::string::npos);
    }
    SECTION("administratively prohibited: a firewall") {
        const FrameResult r = a.on_browser(icmp(2, 1, 3, 13, "SQLEXPRESS"));
        REQUIRE(has_code(r, Code::BrowserUnanswered));
        CHECK(r.diagnoses[0].text.find("firewall") != std::string::npos);
    }
    SECTION("later errors of the same lookup add nothing") {
        a.on_browser(icmp(2, 1, 3, 3, "SQLEXPRESS"));
        a.on_browser(request(3, 1000, "SQLEXPRESS"));
        CHECK(a.on_browser(icmp(4, 1001, 3, 3, "SQLEXPRESS")).diagnoses.empty());
        CHECK(a.lookup(0)->findings(true).size() == 1);
    }
}

TEST_CASE("A request that nothing answers is browser_unanswered once the capture is read", "[ssrp]") {
    Analyzer a;
    a.on_browser(request(1, 0, "SQLEXPRESS"));
    CHECK(a.lookup(0)->findings(false).empty());
    const auto end = a.lookup(0)->findings(true);
    REQUIRE(end.size() == 1);
    CHECK(end[0].diagnosis.code == Code::BrowserUnanswered);
    CHECK(end[0].at_capture_end);
    // A named-instance request may go unanswered because the SQL Browser does not know the instance.
    CHECK(end[0].diagnosis.text.find("no such instance") != std::string::npos);
    const auto rows = make_rows(a, 0, nullptr);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].server == "10.10.10.120:1434/udp");
    CHECK(rows[0].outcome == "failed");
    CHECK(rows[0].diagnoses == std::vector<std::string>{"browser_unanswered"});
}

TEST_CASE("An answer without the requested instance is browser_instance_missing", "[ssrp]") {
    Analyzer a;
    SECTION("a named request answered with other instances: certain, on the answer") {
        a.on_browser(request(1, 0, "HR"));
        const FrameResult r = a.on_browser(answer(2, 3, kTwo));
        REQUIRE(has_code(r, Code::BrowserInstanceMissing));
        CHECK(r.diagnoses[0].text.find("SQLEXPRESS (tcp 1433), SALES (tcp 50123)") != std::string::npos);
    }
    SECTION("an instance name differing only in case is found") {
        a.on_browser(request(1, 0, "sqlexpress"));
        CHECK_FALSE(has_code(a.on_browser(answer(2, 3, kTwo)), Code::BrowserInstanceMissing));
    }
    SECTION("a list request followed by no connection: likely, at capture end") {
        a.on_browser(request(1, 0, ""));
        CHECK(a.on_browser(answer(2, 3, kTwo)).diagnoses.empty());
        const auto end = a.lookup(0)->findings(true);
        REQUIRE(end.size() == 1);
        CHECK(end[0].diagnosis.code == Code::BrowserInstanceMissing);
        CHECK(end[0].diagnosis.text.find("likely") != std::string::npos);
        CHECK(end[0].frame == 2);
    }
    SECTION("a list request followed by a connection to a listed port is fine") {
        a.on_browser(request(1, 0, ""));
        a.on_browser(answer(2, 3, kTwo));
        tdsdiag::Packet s = test::syn();
        s.frame = 3;
        s.dst_port = 50123;
        a.on_packet(s);
        CHECK(a.lookup(0)->findings(true).empty());
    }
}

TEST_CASE("The connection that follows an SQL Browser answer is linked to it both ways", "[ssrp]") {
    Analyzer a;  // default SQL port 1433 only
    a.on_browser(request(1, 0, "SALES"));
    a.on_browser(answer(2, 1500, kTwo));
    // The named instance listens on 50123, which is not an SQL port: the answer makes it one.
    tdsdiag::Packet s = test::syn();
    s.frame = 3;
    s.time_ns = 1600000000;
    s.dst_port = 50123;
    const FrameResult r = a.on_packet(s);
    REQUIRE(r.in_connection);
    CHECK(r.step == Step::TcpHandshake);
    const Connection* c = a.find(0);
    REQUIRE(c != nullptr);
    CHECK(c->summary(false).browser_frame == 2);
    CHECK(a.lookup(0)->linked_stream == 0u);
    CHECK(a.lookup(0)->linked_frame == 3);
    // The connection's row carries the lookup's diagnosis, and the lookup has no row of its own.
    const auto rows = make_rows(a, 0, nullptr);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].server == "10.10.10.120:50123");
    CHECK(rows[0].diagnoses == std::vector<std::string>{"browser_slow"});

    SECTION("a connection to a port the answer did not name is not linked") {
        Analyzer b;
        b.on_browser(request(1, 0, "SALES"));
        b.on_browser(answer(2, 3, kTwo));
        tdsdiag::Packet t = test::syn();
        t.frame = 3;  // to 1433: SQLEXPRESS's port, not SALES's
        b.on_packet(t);
        CHECK_FALSE(b.lookup(0)->linked_stream);
        CHECK(b.find(0)->summary(false).browser_frame == 0);
    }
}

TEST_CASE("A new request on an answered socket starts a new lookup", "[ssrp]") {
    Analyzer a;
    a.on_browser(request(1, 0, "SQLEXPRESS"));
    a.on_browser(answer(2, 3, kTwo));
    const FrameResult r = a.on_browser(request(3, 5000, "SQLEXPRESS"));
    CHECK(r.step_first);
    CHECK(a.lookup_count() == 2);
}

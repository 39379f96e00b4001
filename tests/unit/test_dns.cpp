// DNS before the connection (issue 31): dns_failed, dns_slow, the lookup tied to a connection (its
// name and resolving time), dns_stale_address, and the DNS name as the source of the name the client
// asked for in certificate_name_mismatch (issue 28).
#include "catch_compat.hpp"

#include <map>
#include <set>

#include "builders.hpp"
#include "cert_san.hpp"
#include "diagnoses_lib.hpp"
#include "tdsdiag/dns.hpp"
#include "tdsdiag/ssrp.hpp"

using namespace test;
using tdsdiag::Code;
using tdsdiag::DnsPacket;
using tdsdiag::DnsTracker;
using tdsdiag::Severity;

namespace {
constexpr int64_t kMs = 1000000;
const char* const kClient = "10.10.10.10";
const char* const kResolver = "10.10.10.53";

DnsPacket query(uint32_t frame, int64_t ms, const std::string& name, uint16_t type, uint16_t id) {
    DnsPacket p;
    p.frame = frame;
    p.time_ns = ms * kMs;
    p.src_addr = kClient;
    p.dst_addr = kResolver;
    p.id = id;
    p.name = name;
    p.type = type;
    return p;
}
DnsPacket answer(uint32_t frame, int64_t ms, const std::string& name, uint16_t type, uint16_t id, uint8_t rcode,
                 std::vector<std::string> addresses = {}) {
    DnsPacket p = query(frame, ms, name, type, id);
    std::swap(p.src_addr, p.dst_addr);
    p.response = true;
    p.rcode = rcode;
    p.addresses = std::move(addresses);
    return p;
}
std::vector<std::string> codes(const std::vector<tdsdiag::Diagnosis>& ds) {
    std::vector<std::string> v;
    for (const auto& d : ds) {
        CHECK(d.text.size() <= tdsdiag::kMaxTextLength);
        v.emplace_back(tdsdiag::code_info(d.code).name);
    }
    return v;
}
using V = std::vector<std::string>;

// Feeds a DNS frame into a Run's analyzer as the next frame.
uint32_t dns(Run& run, DnsPacket p) {
    p.frame = static_cast<uint32_t>(run.results.size() + 1);
    uint32_t id = 0;
    run.results.push_back(run.analyzer.on_dns(p, &id));
    return id;
}

// Feeds an SQL Browser exchange into a Run's analyzer as its next two frames: the client's request
// (CLNT_UCAST_INST for SQLEXPRESS, or CLNT_BCAST_EX) to `server` and the answer `text` from it.
void browser(Run& run, int64_t ms, const std::string& text, bool broadcast = false,
             const std::string& server = "10.10.10.120") {
    tdsdiag::BrowserPacket q;
    q.time_ns = ms * kMs;
    q.src_addr = kClient;
    q.dst_addr = server;
    q.src_port = 40000;
    q.dst_port = tdsdiag::kSsrpPort;
    const std::string inst = "SQLEXPRESS";
    std::vector<uint8_t> b{0x04};
    b.insert(b.end(), inst.begin(), inst.end());
    b.push_back(0);
    if (broadcast) b = {0x02};
    q.msg = tdsdiag::parse_ssrp(b.data(), b.size(), false);
    REQUIRE(q.msg.valid);
    tdsdiag::BrowserPacket a = q;
    std::swap(a.src_addr, a.dst_addr);
    std::swap(a.src_port, a.dst_port);
    a.time_ns = (ms + 1) * kMs;
    std::vector<uint8_t> r{0x05, static_cast<uint8_t>(text.size() & 0xff), static_cast<uint8_t>(text.size() >> 8)};
    r.insert(r.end(), text.begin(), text.end());
    a.msg = tdsdiag::parse_ssrp(r.data(), r.size(), true);
    REQUIRE(a.msg.valid);
    for (tdsdiag::BrowserPacket* p : {&q, &a}) {
        p->frame = static_cast<uint32_t>(run.results.size() + 1);
        run.results.push_back(run.analyzer.on_browser(*p));
    }
}
const std::string kLabsql = "ServerName;LABSQL;InstanceName;SQLEXPRESS;IsClustered;No;Version;16.0.1000.6;tcp;1433;;";
}  // namespace

TEST_CASE("DNS names compare without case or final dot; types and rcodes are named", "[dns]") {
    CHECK(tdsdiag::dns_same_name("SQL.lab.test.", "sql.LAB.test"));
    CHECK_FALSE(tdsdiag::dns_same_name("sql.lab.test", "sqlx.lab.test"));
    CHECK_FALSE(tdsdiag::dns_same_name("", ""));
    CHECK(tdsdiag::dns_type_name(28) == "AAAA");
    CHECK(tdsdiag::dns_type_name(33) == "33");
    CHECK(tdsdiag::dns_rcode_name(3) == "NXDOMAIN");
    CHECK(tdsdiag::dns_rcode_name(2) == "SERVFAIL");
    CHECK(tdsdiag::dns_rcode_name(9) == "rcode 9");
}

TEST_CASE("dns_failed: NXDOMAIN for A and AAAA, on the answer that completes the lookup", "[dns]") {
    DnsTracker t(10000 * kMs, 1000 * kMs);
    uint32_t a = 9, aaaa = 9;
    CHECK(t.on_packet(query(1, 0, "sqlx.lab.test", 1, 0xf0cf), &a).diagnoses.empty());
    CHECK(t.on_packet(query(2, 8, "sqlx.lab.test", 28, 0x4bcb), &aaaa).diagnoses.empty());
    CHECK(a == 0);
    CHECK(aaaa == 1);
    // The A answer: the AAAA query is still open, nothing yet.
    CHECK(t.on_packet(answer(3, 9, "sqlx.lab.test", 1, 0xf0cf, 3)).diagnoses.empty());
    const auto r = t.on_packet(answer(4, 10, "sqlx.lab.test", 28, 0x4bcb, 3));
    REQUIRE(codes(r.diagnoses) == V{"dns_failed"});
    CHECK(r.diagnoses[0].severity == Severity::Error);
    CHECK(r.diagnoses[0].text.find("sqlx.lab.test") != std::string::npos);
    CHECK(r.diagnoses[0].text.find("A NXDOMAIN, AAAA NXDOMAIN") != std::string::npos);
    CHECK(r.diagnoses[0].text.find(kResolver) != std::string::npos);
    CHECK(r.diagnoses[0].text.find("Fix:") != std::string::npos);
    // The same on a later pass, on frame 4 only.
    CHECK(codes(t.diagnoses_on(1, 4, true)) == V{"dns_failed"});
    CHECK(t.diagnoses_on(0, 3, true).empty());
    CHECK(codes(t.diagnoses_on(1, 4, false)) == V{"dns_failed"});
}

TEST_CASE("dns_failed: not when another answer for the name gave addresses, or the client reached it", "[dns]") {
    DnsTracker t(10000 * kMs, 1000 * kMs);
    SECTION("AAAA NXDOMAIN after the A answer with an address") {
        t.on_packet(query(1, 0, "sql.lab.test", 1, 1));
        t.on_packet(query(2, 0, "sql.lab.test", 28, 2));
        CHECK(t.on_packet(answer(3, 1, "sql.lab.test", 1, 1, 0, {"10.10.10.120"})).diagnoses.empty());
        CHECK(t.on_packet(answer(4, 2, "sql.lab.test", 28, 2, 3)).diagnoses.empty());
        CHECK(t.diagnoses_on(1, 4, true).empty());
    }
    SECTION("AAAA NXDOMAIN alone first: said on the first pass, withdrawn once the A answer gave an address") {
        t.on_packet(query(1, 0, "sql.lab.test", 28, 2));
        CHECK(codes(t.on_packet(answer(2, 1, "sql.lab.test", 28, 2, 3)).diagnoses) == V{"dns_failed"});
        t.on_packet(query(3, 2, "sql.lab.test", 1, 1));
        CHECK(t.on_packet(answer(4, 3, "sql.lab.test", 1, 1, 0, {"10.10.10.120"})).diagnoses.empty());
        CHECK(t.diagnoses_on(0, 2, true).empty());
    }
    SECTION("a search-list suffix that failed beside the name that resolved") {
        t.on_packet(query(1, 0, "sql.lab.test.corp.example", 1, 1));
        CHECK(codes(t.on_packet(answer(2, 1, "sql.lab.test.corp.example", 1, 1, 3)).diagnoses) == V{"dns_failed"});
        t.on_packet(query(3, 2, "sql.lab.test", 1, 2));
        t.on_packet(answer(4, 3, "sql.lab.test", 1, 2, 0, {"10.10.10.120"}));
        CHECK(t.diagnoses_on(0, 2, true).empty());  // withdrawn once the capture is read
    }
    SECTION("SERVFAIL, then a connection to the name (a hosts file, another resolver): withdrawn") {
        t.on_packet(query(1, 0, "sql.lab.test", 1, 1));
        CHECK(codes(t.on_packet(answer(2, 1, "sql.lab.test", 1, 1, 2)).diagnoses) == V{"dns_failed"});
        t.reached(kClient, "SQL.lab.test", 50 * kMs);
        CHECK(t.diagnoses_on(0, 2, true).empty());
        CHECK(codes(t.diagnoses_on(0, 2, false)) == V{"dns_failed"});  // what the first pass said
    }
}

TEST_CASE("dns_failed: a query never answered, known at the end of the capture", "[dns]") {
    DnsTracker t(10000 * kMs, 1000 * kMs);
    t.on_packet(query(1, 0, "sql.lab.test", 1, 7));
    t.on_packet(query(2, 5000, "sql.lab.test", 1, 7));  // glibc's retry
    CHECK(t.lookup_count() == 1);
    CHECK(t.lookup(0)->queries == 2);
    CHECK(t.diagnoses_on(0, 2, false).empty());
    CHECK(t.diagnoses_on(0, 1, true).empty());
    const auto ds = t.diagnoses_on(0, 2, true);
    REQUIRE(codes(ds) == V{"dns_failed"});
    CHECK(ds[0].text.find("no answer") != std::string::npos);
}

TEST_CASE("dns_slow: the AAAA answer 5 s after its first query (a retry in between)", "[dns]") {
    DnsTracker t(10000 * kMs, 1000 * kMs);
    t.on_packet(query(1, 0, "sql.lab.test", 1, 0xaacc));
    CHECK(t.on_packet(answer(2, 13, "sql.lab.test", 1, 0xaacc, 0, {"10.10.10.120"})).diagnoses.empty());
    t.on_packet(query(3, 14, "sql.lab.test", 28, 0x13ce));
    t.on_packet(query(4, 5020, "sql.lab.test", 1, 0xaacc));  // A again: a new lookup, answered at once
    CHECK(t.on_packet(answer(5, 5021, "sql.lab.test", 1, 0xaacc, 0, {"10.10.10.120"})).diagnoses.empty());
    uint32_t id = 9;
    t.on_packet(query(6, 5021, "sql.lab.test", 28, 0x13ce), &id);
    CHECK(id == 1);  // the AAAA retry joins the first AAAA query
    const auto r = t.on_packet(answer(7, 5021, "sql.lab.test", 28, 0x13ce, 0));
    REQUIRE(codes(r.diagnoses) == V{"dns_slow"});  // an empty AAAA answer beside A addresses: no failure
    CHECK(r.diagnoses[0].severity == Severity::Warn);
    CHECK(r.diagnoses[0].text.find("AAAA") != std::string::npos);
    CHECK(r.diagnoses[0].text.find("5.007 s") != std::string::npos);
    CHECK(r.diagnoses[0].detail.find("single-request") != std::string::npos);
    CHECK(codes(t.diagnoses_on(1, 7, true)) == V{"dns_slow"});
    SECTION("the time spent resolving: the name's first query to its last answer before the connection") {
        const tdsdiag::DnsLookup* l = t.resolving(kClient, "10.10.10.120", 5100 * kMs);
        REQUIRE(l != nullptr);
        CHECK(l->id == 2);
        CHECK(t.resolve_time_ns(*l, 5100 * kMs) == 5021 * kMs);
        CHECK(t.resolving(kClient, "10.10.10.121", 5100 * kMs) == nullptr);
        CHECK(t.resolving(kClient, "10.10.10.120", 20000 * kMs) == nullptr);  // beyond the window
    }
}

TEST_CASE("A connection is tied to the lookup whose answer held its server address", "[dns]") {
    Run run({});
    dns(run, query(0, 0, "sql.lab.test", 1, 1));
    dns(run, answer(0, 1, "sql.lab.test", 1, 1, 0, {"10.10.10.121", "10.10.10.120"}));
    run.feed({syn(), synack(), ack(true)});
    const tdsdiag::Connection* c = run.analyzer.find(0);
    REQUIRE(c != nullptr);
    REQUIRE(c->dns_lookup() != nullptr);
    CHECK(c->dns_lookup()->answer_frame == 2);
    const tdsdiag::Summary s = run.summary();
    CHECK(s.dns_name == "sql.lab.test");
    REQUIRE(s.dns_time_ns);
    CHECK(*s.dns_time_ns == 1 * kMs);
    SECTION("another client's lookup is not this connection's") {
        Run other({});
        DnsPacket q = query(0, 0, "sql.lab.test", 1, 1), a = answer(0, 1, "sql.lab.test", 1, 1, 0, {"10.10.10.120"});
        q.src_addr = a.dst_addr = "10.10.10.11";
        dns(other, q);
        dns(other, a);
        other.feed({syn(), synack(), ack(true)});
        CHECK(other.summary().dns_name.empty());
        CHECK_FALSE(other.summary().dns_time_ns);
    }
}

TEST_CASE("dns_stale_address: the SNI's name was answered with other addresses", "[dns]") {
    Run run({});
    dns(run, query(0, 0, "sql.lab.test", 1, 1));
    dns(run, answer(0, 1, "sql.lab.test", 1, 1, 0, {"10.10.10.130"}));
    Packet hello = client_hello();
    hello.sni = "sql.lab.test";
    run.feed({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), hello});
    const auto* d = find(run, 8, Code::DnsStaleAddress);
    REQUIRE(d != nullptr);
    CHECK(d->severity == Severity::Note);
    CHECK(d->text.find("10.10.10.120") != std::string::npos);  // the address used
    CHECK(d->text.find("10.10.10.130") != std::string::npos);  // the address answered
    CHECK(d->text.find("sql.lab.test") != std::string::npos);
    REQUIRE(run.analyzer.find(0) != nullptr);
    CHECK(run.analyzer.find(0)->holds(8, Code::DnsStaleAddress));
    CHECK(run.summary().dns_name == "sql.lab.test");
    CHECK_FALSE(run.summary().dns_time_ns);  // the address did not come from that lookup: no resolving time
    SECTION("the name answered NXDOMAIN: no note, and the dns_failed is withdrawn (the client reached it)") {
        Run nx({});
        const uint32_t id = dns(nx, query(0, 0, "sql.lab.test", 1, 1));
        dns(nx, answer(0, 1, "sql.lab.test", 1, 1, 3));
        CHECK(codes(nx.results[1].diagnoses) == V{"dns_failed"});
        nx.feed({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), hello});
        CHECK(find(nx, 8, Code::DnsStaleAddress) == nullptr);
        CHECK(nx.summary().dns_name.empty());
        CHECK(nx.analyzer.dns_diagnoses_on(id, 2, true).empty());
    }
    SECTION("the same name answered with the address used: no note") {
        Run ok({});
        dns(ok, query(0, 0, "sql.lab.test", 1, 1));
        dns(ok, answer(0, 1, "sql.lab.test", 1, 1, 0, {"10.10.10.120"}));
        ok.feed({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), hello});
        CHECK(find(ok, 8, Code::DnsStaleAddress) == nullptr);
        CHECK(ok.summary().dns_time_ns);
    }
}

TEST_CASE("certificate_name_mismatch: without SNI, the name the client looked up in DNS", "[dns][diagnoses]") {
    Run run({});
    dns(run, query(0, 0, "sql.lab.test", 1, 1));
    dns(run, answer(0, 1, "sql.lab.test", 1, 1, 0, {"10.10.10.120"}));
    Packet flight = server_hello();
    flight.certificates.emplace_back(kSanCert, kSanCert + kSanCertLen);  // sqlprod01.lab.test, *.db.lab.test, ...
    run.feed({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), client_hello(), flight, client_finished(),
              server_finished()});
    const auto* d = find(run, 9, Code::CertificateNameMismatch);
    REQUIRE(d != nullptr);
    CHECK(d->text.find("\"sql.lab.test\" (its DNS lookup, frame 2)") != std::string::npos);
    SECTION("no DNS lookup and no SNI: no claim") {
        Run none({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), client_hello(), flight,
                  client_finished(), server_finished()});
        CHECK(find(none, 7, Code::CertificateNameMismatch) == nullptr);
    }
}

TEST_CASE("dns_name_of_server: the whole DNS name, or its first label, is the machine name", "[dns]") {
    using tdsdiag::dns_name_of_server;
    CHECK(dns_name_of_server("labsql.lab.test", "LABSQL"));
    CHECK(dns_name_of_server("LabSql.lab.test.", "labsql"));
    CHECK(dns_name_of_server("labsql", "LABSQL"));
    CHECK(dns_name_of_server("labsql.lab.test", "LABSQL.lab.test"));
    CHECK_FALSE(dns_name_of_server("labsql2.lab.test", "LABSQL"));
    CHECK_FALSE(dns_name_of_server("lab.labsql.test", "LABSQL"));
    CHECK_FALSE(dns_name_of_server("labsql.lab.test", "labsql.other.test"));  // a full name: all of it
    CHECK_FALSE(dns_name_of_server(".lab.test", ""));
    CHECK_FALSE(dns_name_of_server("", ""));
}

TEST_CASE("A connection is tied to the lookup of the machine its SQL Browser answer names", "[dns][ssrp]") {
    // The client's lookup of `name` answered `address` (frames 1, 2), the SQL Browser at 10.10.10.120
    // asked and answering ServerName LABSQL (frames 3, 4) if `asked`, then a connection to 10.10.10.120.
    auto connect = [](Run& run, const std::string& name, const std::string& address, bool asked) {
        dns(run, query(0, 0, name, 1, 1));
        dns(run, answer(0, 1, name, 1, 1, 0, {address}));
        if (asked) browser(run, 2, kLabsql);
        run.feed({syn(), synack(), ack(true)});
        REQUIRE(run.analyzer.find(0) != nullptr);
    };
    SECTION("the answer for the name holds another address: tied by the ServerName, dns_stale_address") {
        Run run({});
        connect(run, "labsql.lab.test", "10.10.10.130", true);  // the SYN is frame 5
        const tdsdiag::Connection* c = run.analyzer.find(0);
        REQUIRE(c->dns_lookup() != nullptr);
        CHECK(c->dns_browser_frame() == 4);
        CHECK(run.summary().dns_name == "labsql.lab.test");
        CHECK_FALSE(run.summary().dns_time_ns);
        const auto* d = find(run, 5, Code::DnsStaleAddress);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("10.10.10.120") != std::string::npos);  // the address used
        CHECK(d->text.find("10.10.10.130") != std::string::npos);  // the address answered
        CHECK(d->text.find("frame 2") != std::string::npos);       // the answer
        CHECK(d->detail.find("SQL Browser") != std::string::npos);
        CHECK(d->detail.find("frame 4") != std::string::npos);
    }
    SECTION("the answer holds the server's address: the address tie, no note") {
        Run run({});
        connect(run, "labsql.lab.test", "10.10.10.120", true);
        REQUIRE(run.analyzer.find(0)->dns_lookup() != nullptr);
        CHECK(run.analyzer.find(0)->dns_browser_frame() == 0);
        CHECK(run.summary().dns_name == "labsql.lab.test");
        CHECK(find(run, 5, Code::DnsStaleAddress) == nullptr);
    }
    SECTION("a lookup of another machine's name is not tied") {
        Run run({});
        connect(run, "othersql.lab.test", "10.10.10.130", true);
        CHECK(run.analyzer.find(0)->dns_lookup() == nullptr);
        CHECK(run.summary().dns_name.empty());
        CHECK(find(run, 5, Code::DnsStaleAddress) == nullptr);
    }
    SECTION("without the SQL Browser, the same lookup is not tied (no SNI either)") {
        Run run({});
        connect(run, "labsql.lab.test", "10.10.10.130", false);
        CHECK(run.summary().dns_name.empty());
    }
}

TEST_CASE("dns_failed: withdrawn when the machine's SQL Browser then answered the client", "[dns][ssrp]") {
    SECTION("tracker: reached by the machine name, the first label of the name") {
        DnsTracker t(10000 * kMs, 1000 * kMs);
        t.on_packet(query(1, 0, "labsql.corp.example", 1, 1));
        CHECK(codes(t.on_packet(answer(2, 1, "labsql.corp.example", 1, 1, 3)).diagnoses) == V{"dns_failed"});
        t.reached_server(kClient, "OTHERSQL", 40 * kMs);
        CHECK(codes(t.diagnoses_on(0, 2, true)) == V{"dns_failed"});
        t.reached_server(kClient, "LabSql", 50 * kMs);
        CHECK(t.diagnoses_on(0, 2, true).empty());
        CHECK(codes(t.diagnoses_on(0, 2, false)) == V{"dns_failed"});  // what the first pass said
    }
    SECTION("analyzer: an SQL Browser answer in the machine's name after the NXDOMAIN") {
        Run run({});
        const uint32_t id = dns(run, query(0, 0, "labsql.lab.test", 1, 1));
        dns(run, answer(0, 1, "labsql.lab.test", 1, 1, 3));
        CHECK(codes(run.results[1].diagnoses) == V{"dns_failed"});
        browser(run, 2, kLabsql);
        CHECK(run.analyzer.dns_diagnoses_on(id, 2, true).empty());
    }
    SECTION("analyzer: a broadcast answered by that machine does not withdraw it") {
        Run run({});
        const uint32_t id = dns(run, query(0, 0, "labsql.lab.test", 1, 1));
        dns(run, answer(0, 1, "labsql.lab.test", 1, 1, 3));
        browser(run, 2, kLabsql, true);
        CHECK(codes(run.analyzer.dns_diagnoses_on(id, 2, true)) == V{"dns_failed"});
    }
}

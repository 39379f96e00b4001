#include "catch_compat.hpp"

#include "tdsdiag/kerberos.hpp"

using namespace tdsdiag;

namespace {
constexpr int64_t kMs = 1000000;

KerberosPacket tgs_req(uint32_t frame, int64_t t, const std::string& spn_host) {
    KerberosPacket p;
    p.frame = frame;
    p.time_ns = t;
    p.src_addr = "10.0.0.1";
    p.dst_addr = "10.0.0.88";
    p.msg_type = kKrbTgsReq;
    p.sname = {"krbtgt", "LAB.TEST", "MSSQLSvc", spn_host};
    p.realm = "LAB.TEST";
    return p;
}

KerberosPacket krb_error(uint32_t frame, int64_t t, int32_t code, const std::string& spn_host) {
    KerberosPacket p;
    p.frame = frame;
    p.time_ns = t;
    p.src_addr = "10.0.0.88";
    p.dst_addr = "10.0.0.1";
    p.msg_type = kKrbError;
    p.error_code = code;
    p.sname = {"MSSQLSvc", spn_host};
    p.realm = "LAB.TEST";
    return p;
}

SqlConnRef conn(uint32_t stream, int64_t start, int64_t last, bool ended, uint16_t port = 1433) {
    SqlConnRef c;
    c.stream = stream;
    c.first_frame = stream * 10 + 1;
    c.client_addr = "10.0.0.1";
    c.server_port = port;
    c.start_ns = start;
    c.last_ns = last;
    c.ended = ended;
    return c;
}
}  // namespace

TEST_CASE("The requested SPN is the sname after the TGT's krbtgt pair", "[kerberos]") {
    CHECK(requested_spn({"krbtgt", "LAB.TEST", "MSSQLSvc", "sql.lab.test:1433"}) == "MSSQLSvc/sql.lab.test:1433");
    CHECK(requested_spn({"MSSQLSvc", "sql.lab.test"}) == "MSSQLSvc/sql.lab.test");
    CHECK(is_sql_spn("mssqlsvc/sql:1433"));
    CHECK_FALSE(is_sql_spn("HTTP/web.lab.test"));
    CHECK(spn_port("MSSQLSvc/sql:1433") == std::optional<uint16_t>(1433));
    CHECK_FALSE(spn_port("MSSQLSvc/sql:SQLEXPRESS"));
}

TEST_CASE("A KRB-ERROR refusing a SQL Server SPN is diagnosed and tied to a connection of its client", "[kerberos]") {
    KerberosTracker k(10000 * kMs);
    SECTION("during an open connection whose port the SPN names: no likely") {
        CHECK(k.on_packet(tgs_req(12, 100 * kMs, "sql2.lab.test:1433"), {}).diagnoses.empty());
        uint32_t id = 99;
        const FrameResult r = k.on_packet(krb_error(13, 101 * kMs, 7, "sql2.lab.test:1433"), {conn(0, 50 * kMs, 99 * kMs, false)}, &id);
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].code == Code::KerberosSpnMissing);
        CHECK(r.diagnoses[0].severity == Severity::Error);
        const std::string& text = r.diagnoses[0].text;
        CHECK(text.find("KDC_ERR_S_PRINCIPAL_UNKNOWN") != std::string::npos);
        CHECK(text.find("setspn -S MSSQLSvc/sql2.lab.test:1433 DOMAIN\\account.") != std::string::npos);
        CHECK(text.find("likely") == std::string::npos);
        CHECK(text.size() <= kMaxTextLength);
        const SpnRefusal* s = k.refusal(id);
        REQUIRE(s);
        CHECK(s->request_frame == 12);
        CHECK(s->conn_stream == std::optional<uint32_t>(0));
        CHECK(s->during);
        CHECK(s->port_match);
    }
    SECTION("before the connection starts: tied when it starts, by time only (likely)") {
        uint32_t id = 99;
        k.on_packet(krb_error(13, 100 * kMs, 7, "sql2.lab.test:1433"), {}, &id);
        CHECK_FALSE(k.refusal(id)->conn_stream);
        CHECK(k.on_connection(conn(3, 150 * kMs, 150 * kMs, false)) == 13);
        const SpnRefusal* s = k.refusal(id);
        CHECK(s->conn_stream == std::optional<uint32_t>(3));
        CHECK(s->conn_after);
        CHECK(s->gap_ns == 50 * kMs);
        const Diagnosis d = describe_refusal(*s);
        CHECK(d.detail.find("likely the SQL connection of TCP stream 3 (begun 50 ms after the error)") != std::string::npos);
        CHECK(d.text.size() <= kMaxTextLength);
    }
    SECTION("outside the window: not tied") {
        k.on_packet(krb_error(13, 20000 * kMs, 7, "sql2.lab.test:1433"), {conn(0, 0, 1 * kMs, true)});
        CHECK(k.on_connection(conn(3, 40000 * kMs, 40000 * kMs, false)) == 0);
        CHECK_FALSE(k.refusal(0)->conn_stream);
        CHECK(describe_refusal(*k.refusal(0)).text.find("so the client cannot use Kerberos") != std::string::npos);
    }
    SECTION("a duplicate SPN (9) names setspn -X") {
        const FrameResult r = k.on_packet(krb_error(13, 100 * kMs, 9, "sql.lab.test:1433"), {});
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].text.find("KDC_ERR_PRINCIPAL_NOT_UNIQUE") != std::string::npos);
        CHECK(r.diagnoses[0].text.find("setspn -X") != std::string::npos);
    }
    SECTION("a repeated refusal of the same SPN is counted, not diagnosed again") {
        k.on_packet(krb_error(13, 100 * kMs, 7, "sql2.lab.test:1433"), {});
        uint32_t id = 99;
        const FrameResult r = k.on_packet(krb_error(15, 101 * kMs, 7, "sql2.lab.test:1433"), {}, &id);
        CHECK(r.in_connection);
        CHECK(r.diagnoses.empty());
        CHECK(id == 0);
        CHECK(k.refusal(0)->repeats == 1);
        CHECK(k.diagnoses_on(0, 15).empty());
        CHECK(k.diagnoses_on(0, 13).size() == 1);
    }
    SECTION("other SPNs and other errors are not diagnosed") {
        KerberosPacket http = krb_error(13, 100 * kMs, 7, "x");
        http.sname = {"HTTP", "web.lab.test"};
        CHECK_FALSE(k.on_packet(http, {}).in_connection);
        CHECK_FALSE(k.on_packet(krb_error(14, 100 * kMs, 24, "sql:1433"), {}).in_connection);
        CHECK(k.refusal_count() == 0);
    }
}

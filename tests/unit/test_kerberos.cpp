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
        const KdcRefusal* s = k.refusal(id);
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
        const KdcRefusal* tied = k.on_connection(conn(3, 150 * kMs, 150 * kMs, false));
        REQUIRE(tied);
        CHECK(tied->frame == 13);
        const KdcRefusal* s = k.refusal(id);
        CHECK(s->conn_stream == std::optional<uint32_t>(3));
        CHECK(s->conn_after);
        CHECK(s->gap_ns == 50 * kMs);
        const Diagnosis d = describe_refusal(*s);
        CHECK(d.detail.find("likely the SQL connection of TCP stream 3 (begun 50 ms after the error)") != std::string::npos);
        CHECK(d.text.size() <= kMaxTextLength);
    }
    SECTION("outside the window: not tied") {
        k.on_packet(krb_error(13, 20000 * kMs, 7, "sql2.lab.test:1433"), {conn(0, 0, 1 * kMs, true)});
        CHECK(k.on_connection(conn(3, 40000 * kMs, 40000 * kMs, false)) == nullptr);
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
        CHECK_FALSE(k.on_packet(krb_error(14, 100 * kMs, 25, "sql:1433"), {}).in_connection);  // PREAUTH_REQUIRED
        CHECK_FALSE(k.on_packet(krb_error(14, 100 * kMs, 24, "sql:1433"), {}).in_connection);  // no connection near
        KerberosPacket as_skew = krb_error(15, 100 * kMs, kKrbApErrSkew, "x");
        as_skew.sname = {"krbtgt", "LAB.TEST"};
        CHECK_FALSE(k.on_packet(as_skew, {}).in_connection);  // another principal, no SQL connection near
        CHECK(k.refusal_count() == 0);
    }
}

namespace {
// 2026-12-04 18:33:38.914988 UTC, the KDC's time in the lab's kerberos-clock-skew capture.
constexpr int64_t kKdcTime = 1796409218914988000;

KerberosPacket skew_error(uint32_t frame, int64_t t, const std::string& spn_host) {
    KerberosPacket p = krb_error(frame, t, kKrbApErrSkew, spn_host);
    p.stime_ns = kKdcTime;
    return p;
}
}  // namespace

TEST_CASE("A KRB_AP_ERR_SKEW answering a TGS-REQ for a SQL Server SPN during a connection is kerberos_clock_skew", "[kerberos]") {
    KerberosTracker k(10000 * kMs);
    k.on_packet(tgs_req(12, 100 * kMs, "sql.lab.test:1433"), {});
    uint32_t id = 99;
    const FrameResult r = k.on_packet(skew_error(13, 101 * kMs, "sql.lab.test:1433"), {conn(0, 50 * kMs, 99 * kMs, false)}, &id);
    REQUIRE(r.diagnoses.size() == 1);
    const Diagnosis& d = r.diagnoses[0];
    CHECK(d.code == Code::KerberosClockSkew);
    CHECK(d.severity == Severity::Error);
    CHECK(d.text == "Client 10.0.0.1's clock differs from the KDC's (2026-12-04 18:33:38 UTC) by more than the allowed "
                    "skew (5 minutes by default), so TCP stream 0 cannot use Kerberos. Sync the client's clock with the "
                    "domain: w32tm /resync.");
    CHECK(d.detail.find("; the SQL connection of TCP stream 0 (during it), whose server port the SPN names") != std::string::npos);
    CHECK(d.text.find("w32tm /resync") != std::string::npos);
    CHECK(d.text.find("likely") == std::string::npos);
    CHECK(d.text.size() <= kMaxTextLength);
    CHECK(d.detail.find("KRB-ERROR 37 (KRB_AP_ERR_SKEW) in frame 13 answers the TGS-REQ in frame 12 from 10.0.0.1 for "
                        "MSSQLSvc/sql.lab.test:1433@LAB.TEST") == 0);
    const KdcRefusal* s = k.refusal(id);
    REQUIRE(s);
    CHECK(s->code == Code::KerberosClockSkew);
    CHECK(s->conn_stream == std::optional<uint32_t>(0));
    CHECK(s->during);
    CHECK(k.diagnoses_on(id, 13).size() == 1);
}

TEST_CASE("A clock skew tied to a connection by time only says likely", "[kerberos]") {
    KerberosTracker k(10000 * kMs);
    SECTION("the connection starts after the error") {
        uint32_t id = 99;
        k.on_packet(skew_error(13, 100 * kMs, "sql.lab.test:1433"), {}, &id);
        CHECK_FALSE(k.refusal(id)->conn_stream);
        CHECK(describe_refusal(*k.refusal(id)).text.find("so the client cannot use Kerberos") != std::string::npos);
        const KdcRefusal* tied = k.on_connection(conn(3, 400 * kMs, 400 * kMs, false));
        REQUIRE(tied);
        CHECK(tied->code == Code::KerberosClockSkew);
        const Diagnosis d = describe_refusal(*tied);
        CHECK(d.text.find("so likely TCP stream 3 cannot use Kerberos") != std::string::npos);
        CHECK(d.detail.find("likely the SQL connection of TCP stream 3 (begun 300 ms after the error)") != std::string::npos);
        CHECK(d.text.size() <= kMaxTextLength);
    }
    SECTION("an AS-REQ's skew (the TGT's principal) during a connection of its client") {
        KerberosPacket as_req = tgs_req(12, 100 * kMs, "x");
        as_req.msg_type = kKrbAsReq;
        as_req.sname = {"krbtgt", "LAB.TEST"};
        k.on_packet(as_req, {});
        KerberosPacket err = skew_error(13, 101 * kMs, "x");
        err.sname = {"krbtgt", "LAB.TEST"};
        const FrameResult r = k.on_packet(err, {conn(0, 50 * kMs, 99 * kMs, false)});
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].code == Code::KerberosClockSkew);
        CHECK(r.diagnoses[0].text.find("so likely TCP stream 0 cannot use Kerberos") != std::string::npos);
        CHECK(r.diagnoses[0].detail.find("answers the AS-REQ in frame 12 from 10.0.0.1 for krbtgt/LAB.TEST@LAB.TEST") !=
              std::string::npos);
    }
    SECTION("a long text drops the connection, then the KDC's time, to the detail") {
        KerberosPacket err = skew_error(13, 101 * kMs, "sql.lab.test:1433");
        err.dst_addr = "fd00:1234:5678:9abc:def0:1234:5678:9abc";
        SqlConnRef c = conn(4000000000u, 50 * kMs, 99 * kMs, false);
        c.client_addr = err.dst_addr;
        const FrameResult r = k.on_packet(err, {c});
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].text.size() <= kMaxTextLength);
        CHECK(r.diagnoses[0].text.find("Client fd00:1234:5678:9abc:def0:1234:5678:9abc's clock differs from the KDC's (") == 0);
        CHECK(r.diagnoses[0].text.find("TCP stream") == std::string::npos);
        CHECK(r.diagnoses[0].text.find("w32tm /resync") != std::string::npos);
        CHECK(r.diagnoses[0].detail.find("the SQL connection of TCP stream 4000000000") != std::string::npos);
        CHECK(r.diagnoses[0].detail.find("the KDC's time 2026-12-04 18:33:38 UTC") != std::string::npos);
    }
    SECTION("without the KDC's time the text says none") {
        KerberosPacket err = skew_error(13, 101 * kMs, "sql.lab.test:1433");
        err.stime_ns.reset();
        const FrameResult r = k.on_packet(err, {conn(0, 50 * kMs, 99 * kMs, false)});
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].text.find("differs from the KDC's by more than") != std::string::npos);
    }
}

TEST_CASE("A repeated clock skew refusal is counted once", "[kerberos]") {
    KerberosTracker k(10000 * kMs);
    k.on_packet(tgs_req(12, 100 * kMs, "sql.lab.test:1433"), {});
    REQUIRE(k.on_packet(skew_error(13, 101 * kMs, "sql.lab.test:1433"), {conn(0, 50 * kMs, 99 * kMs, false)}).diagnoses.size() == 1);
    k.on_packet(tgs_req(14, 102 * kMs, "sql.lab.test:1433"), {});
    uint32_t id = 99;
    const FrameResult again = k.on_packet(skew_error(15, 103 * kMs, "sql.lab.test:1433"), {conn(0, 50 * kMs, 102 * kMs, false)}, &id);
    CHECK(again.in_connection);
    CHECK(again.diagnoses.empty());
    CHECK(id == 0);
    CHECK(k.refusal_count() == 1);
    CHECK(k.refusal(0)->repeats == 1);
    CHECK(k.diagnoses_on(0, 15).empty());
    CHECK(describe_refusal(*k.refusal(0)).detail.find("; 1 more KRB-ERROR for it") != std::string::npos);
}

TEST_CASE("A KDC_ERR_PREAUTH_FAILED answering an AS-REQ during a connection of its client is kerberos_preauth_failed", "[kerberos]") {
    KerberosTracker k(10000 * kMs);
    KerberosPacket as_req = tgs_req(12, 100 * kMs, "x");
    as_req.msg_type = kKrbAsReq;
    as_req.sname = {"krbtgt", "LAB.TEST"};
    as_req.cname = {"alice"};
    KerberosPacket err = krb_error(13, 101 * kMs, kKdcErrPreauthFailed, "x");
    err.sname = {"krbtgt", "LAB.TEST"};
    err.cname = {"alice"};
    err.crealm = "LAB.TEST";
    SECTION("during a connection: diagnosed, likely (the TGT is no SQL Server SPN)") {
        k.on_packet(as_req, {});
        // KDC_ERR_PREAUTH_REQUIRED (25) first: the normal start of a pre-authenticated AS exchange
        KerberosPacket required = err;
        required.error_code = 25;
        CHECK_FALSE(k.on_packet(required, {conn(0, 50 * kMs, 99 * kMs, false)}).in_connection);
        const FrameResult r = k.on_packet(err, {conn(0, 50 * kMs, 99 * kMs, false)});
        REQUIRE(r.diagnoses.size() == 1);
        const Diagnosis& d = r.diagnoses[0];
        CHECK(d.code == Code::KerberosPreauthFailed);
        CHECK(d.severity == Severity::Error);
        CHECK(d.text == "The KDC refused the AS-REQ of client 10.0.0.1 for alice@LAB.TEST with KDC_ERR_PREAUTH_FAILED "
                        "(a wrong password or key), so likely TCP stream 0 cannot use Kerberos. Check the account's "
                        "password or keytab, and whether it is locked out.");
        CHECK(d.text.size() <= kMaxTextLength);
        CHECK(d.detail.find("KRB-ERROR 24 (KDC_ERR_PREAUTH_FAILED) in frame 13 answers the AS-REQ in frame 12 from "
                            "10.0.0.1 (alice@LAB.TEST) for krbtgt/LAB.TEST@LAB.TEST") == 0);
    }
    SECTION("without a SQL connection of its client: not ours") {
        k.on_packet(as_req, {});
        CHECK_FALSE(k.on_packet(err, {}).in_connection);
        CHECK(k.refusal_count() == 0);
    }
    SECTION("a long principal drops the connection, then itself, from the text") {
        err.cname = {std::string(120, 'a')};
        const FrameResult r = k.on_packet(err, {conn(0, 50 * kMs, 99 * kMs, false)});
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].text.size() <= kMaxTextLength);
        CHECK(r.diagnoses[0].text.find("The KDC refused the request of client 10.0.0.1 with KDC_ERR_PREAUTH_FAILED") == 0);
    }
}

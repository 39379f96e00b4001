// certificate_name_mismatch (the certificate's names against the name the client asked for) and
// strict_encryption_mismatch (TDS 8.0 wanted by one side only), with the readers they rest on: the
// ClientHello's server_name and the certificate's subjectAltName.
#include "catch_compat.hpp"

#include <map>
#include <set>

#include "builders.hpp"
#include "diagnoses_lib.hpp"
#include "cert_md5_ca.hpp"
#include "cert_md5.hpp"
#include "cert_san.hpp"
#include "tdsdiag/x509.hpp"

using namespace test;
using tdsdiag::Code;
using tdsdiag::Severity;

namespace {

using D = std::map<int, std::set<std::string>>;
std::vector<Packet> operator+(std::vector<Packet> a, std::initializer_list<Packet> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}
tdsdiag::CertInfo san_cert() {
    auto info = tdsdiag::parse_certificate(kSanCert, kSanCertLen);
    REQUIRE(info);
    return *info;
}
Packet hello_for(const std::string& sni) {
    Packet p = client_hello();
    p.sni = sni;
    return p;
}
Packet san_flight() {
    Packet p = server_hello();
    p.certificates.emplace_back(kSanCert, kSanCert + kSanCertLen);
    return p;
}
std::vector<Packet> start() { return {syn(), synack(), ack(true), prelogin(1), prelogin_response(1)}; }

}  // namespace

TEST_CASE("The certificate's subjectAltName entries are read", "[x509]") {
    const tdsdiag::CertInfo c = san_cert();
    CHECK(c.subject_cn == "sqlprod01.lab.test");
    CHECK(c.dns_names == std::vector<std::string>{"sqlprod01.lab.test", "*.db.lab.test", "w*.web.lab.test"});
    REQUIRE(c.ip_addresses.size() == 2);
    CHECK(c.ip_addresses[0] == std::vector<uint8_t>{10, 10, 10, 121});
    CHECK(c.ip_addresses[1].size() == 16);
    CHECK(tdsdiag::certificate_names(c) ==
          "sqlprod01.lab.test, *.db.lab.test, w*.web.lab.test, 10.10.10.121, fd00:0:0:0:0:0:0:121");
    SECTION("every truncation is refused without reading past the end") {
        for (unsigned len = 0; len < kSanCertLen; len += 5) CHECK(!tdsdiag::parse_certificate(kSanCert, len));
    }
    SECTION("a certificate without the extension has none") {
        auto md5 = tdsdiag::parse_certificate(kMd5CaSignedCert, kMd5CaSignedCertLen);
        REQUIRE(md5);
        CHECK(md5->dns_names.empty());
        CHECK(md5->ip_addresses.empty());
    }
}

TEST_CASE("Names are matched as RFC 6125 says", "[x509]") {
    const tdsdiag::CertInfo c = san_cert();
    using tdsdiag::certificate_holds_name;
    CHECK(certificate_holds_name(c, "sqlprod01.lab.test"));
    CHECK(certificate_holds_name(c, "SQLPROD01.Lab.Test."));  // case and a final dot do not matter
    CHECK(!certificate_holds_name(c, "sqlprod01"));           // a short name is not the FQDN
    CHECK(certificate_holds_name(c, "node1.db.lab.test"));    // the wildcard: one left-most label
    CHECK(!certificate_holds_name(c, "db.lab.test"));         // ... never none
    CHECK(!certificate_holds_name(c, "a.node1.db.lab.test")); // ... never across a dot
    CHECK(certificate_holds_name(c, "www1.web.lab.test"));    // a partial wildcard: w*
    CHECK(!certificate_holds_name(c, "api.web.lab.test"));
    CHECK(!certificate_holds_name(c, "xn--w-4ga.web.lab.test"));  // never inside an A-label
    CHECK(certificate_holds_name(c, "10.10.10.121"));
    CHECK(!certificate_holds_name(c, "10.10.10.120"));
    CHECK(certificate_holds_name(c, "fd00::121"));
    CHECK(certificate_holds_name(c, "FD00:0:0::0121"));
    CHECK(!certificate_holds_name(c, "fd00::120"));
    CHECK(tdsdiag::ip_literal_bytes("1.2.3") .empty());
    CHECK(tdsdiag::ip_literal_bytes("1.2.3.256").empty());
    CHECK(tdsdiag::ip_literal_bytes("1::2::3").empty());
    CHECK(tdsdiag::ip_literal_bytes("::1").size() == 16);
}

TEST_CASE("certificate_name_mismatch: a note when the client goes on, an error when it rejects", "[diagnoses]") {
    SECTION("a name the certificate holds: nothing") {
        Run run(start() + std::initializer_list<Packet>{hello_for("node7.db.lab.test"), san_flight(), client_finished(),
                                                        server_finished()});
        CHECK(diagnoses(run).empty());
    }
    SECTION("no SNI: no claim") {
        Run run(start() + std::initializer_list<Packet>{client_hello(), san_flight(), fin(true)});
        CHECK(diagnoses(run) == D{{8, {"certificate_rejected"}}});
    }
    SECTION("the client went on: a note naming both sides") {
        Run run(start() + std::initializer_list<Packet>{hello_for("10.10.10.120"), san_flight(), client_finished(),
                                                        server_finished()});
        CHECK(diagnoses(run) == D{{7, {"certificate_name_mismatch"}}});
        const auto* d = find(run, 7, Code::CertificateNameMismatch);
        REQUIRE(d);
        CHECK(d->severity == Severity::Note);
        CHECK(d->text.find("\"10.10.10.120\" (SNI)") != std::string::npos);
        CHECK(d->text.find("10.10.10.121") != std::string::npos);
    }
    SECTION("the client closed right after the certificate: an error there, the note withdrawn") {
        Run run(start() + std::initializer_list<Packet>{hello_for("sqlprod01"), san_flight(), fin(true)});
        CHECK(diagnoses(run) == D{{8, {"certificate_rejected", "certificate_name_mismatch"}}});
        const auto* d = find(run, 8, Code::CertificateNameMismatch);
        REQUIRE(d);
        CHECK(d->severity == Severity::Error);
        CHECK(d->text.find("\"sqlprod01\"") != std::string::npos);
        CHECK((d->text.find("Fix:") != std::string::npos || d->detail.find("Fix:") == 0));
        // The single pass showed the note on the certificate first.
        CHECK(find(run, 7, Code::CertificateNameMismatch) != nullptr);
    }
    SECTION("a self-signed certificate (as SQL Server's own fallback) without the name: no claim, going on or not") {
        Packet flight = server_hello();
        flight.certificates.emplace_back(kMd5Cert, kMd5Cert + kMd5CertLen);  // self-signed, CN sqlprod01.lab.test
        Run went_on(start() + std::initializer_list<Packet>{hello_for("localhost"), flight, client_finished(),
                                                            server_finished()});
        CHECK(diagnoses(went_on).empty());
        Run closed(start() + std::initializer_list<Packet>{hello_for("localhost"), flight, fin(true)});
        CHECK(diagnoses(closed) == D{{8, {"certificate_rejected"}}});
    }
    SECTION("an alert 42-49 rejecting it: an error on the alert, and no tls_alert beside the diagnoses it explains") {
        Packet a = tls(true, {21});
        a.tls_alerts.push_back({2, 42});
        Run run(start() + std::initializer_list<Packet>{hello_for("other.lab.test"), san_flight(), a, fin(true)});
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected", "certificate_name_mismatch"});
    }
}

TEST_CASE("strict_encryption_mismatch: a strict client against a server without TDS 8.0", "[diagnoses]") {
    Packet hello = client_hello(false);
    hello.alpn = {"tds/8.0"};
    SECTION("the server answers the ClientHello with a TDS prelogin response carrying its version") {
        Packet answer = prelogin_response(0);
        answer.prelogin_version = 0x0f00'0fa0'0000;  // 15.0.4000: SQL Server 2019
        Run run({syn(), synack(), ack(true), hello, answer, fin(true)});
        const auto d = diagnoses(run);
        REQUIRE(d.count(5));
        CHECK(d.at(5).count("strict_encryption_mismatch"));
        const auto* s = find(run, 5, Code::StrictEncryptionMismatch);
        REQUIRE(s);
        CHECK(s->severity == Severity::Error);
        CHECK(s->text.find("SQL Server 2019") != std::string::npos);
        CHECK(s->text.find("has no TDS 8.0") != std::string::npos);
    }
    SECTION("the server closes: strict_encryption_mismatch, not no_common_cipher") {
        Run run({syn(), synack(), ack(true), hello, fin(false), fin(true)});
        const auto d = diagnoses(run);
        CHECK(d.at(5).count("strict_encryption_mismatch"));
        CHECK(!d.at(5).count("no_common_cipher"));
    }
    SECTION("a strict ClientHello answered by a ServerHello is no mismatch") {
        Run run({syn(), synack(), ack(true), hello, server_hello(0x0304, 0x1302, false), fin(true)});
        for (const auto& [frame, codes] : diagnoses(run)) CHECK(!codes.count("strict_encryption_mismatch"));
    }
    SECTION("a TDS 7.x ClientHello inside the PRELOGIN exchange, even with ALPN tds/8.0 (ODBC 18), is not strict") {
        Packet h = client_hello();
        h.alpn = {"tds/8.0"};
        Run run(start() + std::initializer_list<Packet>{h, fin(false), fin(true)});
        for (const auto& [frame, codes] : diagnoses(run)) CHECK(!codes.count("strict_encryption_mismatch"));
    }
}

TEST_CASE("strict_encryption_mismatch: a PRELOGIN closed by a server likely requiring strict encryption", "[diagnoses]") {
    SECTION("the server closes after the PRELOGIN without answering: a warning, likely") {
        Run run({syn(), synack(), ack(true), prelogin(1), fin(false), fin(true)});
        const auto* s = find(run, 5, Code::StrictEncryptionMismatch);
        REQUIRE(s);
        CHECK(s->severity == Severity::Warn);
        CHECK(s->text.find("likely") != std::string::npos);
        CHECK(s->text.find("Force Strict Encryption") != std::string::npos);
    }
    SECTION("a server that answered a PRELOGIN in clear before does not force strict encryption: no claim") {
        Run run({syn(), synack(), ack(true), prelogin(1), prelogin_response(1), fin(true)});
        std::vector<Packet> next = {syn(), synack(), ack(true), prelogin(1), fin(false), fin(true)};
        for (Packet& p : next) {
            p.stream = 1;
            if (p.src_port == kClientPort) p.src_port = kClientPort + 1;
            if (p.dst_port == kClientPort) p.dst_port = kClientPort + 1;
        }
        run.feed(next);
        for (const auto& r : run.results)
            for (const auto& d : r.diagnoses) CHECK(d.code != Code::StrictEncryptionMismatch);
    }
}

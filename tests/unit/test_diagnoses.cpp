// The diagnosis rules: each code on the frame where its evidence becomes complete, and nowhere else.
#include "catch_compat.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "builders.hpp"
#include "diagnoses_lib.hpp"
#include "cert_md5.hpp"
#include "cert_md5_ca.hpp"
#include "cert_sha256_ca.hpp"
#include "tdsdiag/x509.hpp"

using namespace test;
using tdsdiag::Code;
using tdsdiag::Severity;

namespace {

using D = std::map<int, std::set<std::string>>;

Packet at(Packet p, int64_t ms) {
    p.time_ns = ms * 1000000;
    return p;
}
Packet alert(bool c, uint8_t level, uint8_t desc) {
    Packet p = tls(c, {21});
    p.tls_alerts.push_back({level, desc});
    return p;
}
// The server's flight with a CA-signed MD5 certificate.
Packet cert_flight() {
    Packet p = server_hello();
    p.certificates.emplace_back(kMd5CaSignedCert, kMd5CaSignedCert + kMd5CaSignedCertLen);
    return p;
}
// A frame of a second connection (stream 1) from the next client port to the same server.
Packet second(Packet p) {
    p.stream = 1;
    if (p.src_port == kClientPort) p.src_port = kClientPort + 1;
    if (p.dst_port == kClientPort) p.dst_port = kClientPort + 1;
    return p;
}
// The same with a self-signed MD5 certificate: its hash is not checked (the error-10054 article).
Packet self_signed_flight() {
    Packet p = server_hello();
    p.certificates.emplace_back(kMd5Cert, kMd5Cert + kMd5CertLen);
    return p;
}
const char* names(uint16_t suite) {
    switch (suite) {
    case 0x009f: return "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384";
    case 0xc02f: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    default: return nullptr;
    }
}
tdsdiag::Config config() {
    tdsdiag::Config c;
    c.cipher_name = names;
    return c;
}
std::vector<Packet> handshake_start() { return {syn(), synack(), ack(true), prelogin(0), prelogin_response(0), client_hello()}; }
std::vector<Packet> operator+(std::vector<Packet> a, std::initializer_list<Packet> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_CASE("Successful sessions carry no diagnosis", "[diagnoses]") {
    SECTION("login-only TLS") {
        Run run(handshake_start() + std::initializer_list<Packet>{server_hello(), client_finished(), server_finished(),
                                                                   appdata(true), login_ack(),
                                                                   tds(true, {tdsdiag::kTdsSqlBatch}), fin(true),
                                                                   fin(false)},
                config());
        CHECK(diagnoses(run).empty());
    }
    SECTION("full TLS with duplicated packets") {
        Run run({syn(), retrans(syn()), synack(), prelogin(1), retrans(prelogin(1)), prelogin_response(1),
                 client_hello(), server_hello(), client_finished(), server_finished(), appdata(true), appdata(false),
                 appdata(true), fin(true), retrans(fin(true)), fin(false)},
                config());
        CHECK(diagnoses(run).empty());
    }
}

TEST_CASE("Step 1: the SYN refused, unanswered, or slow to be accepted (scenario 6)", "[diagnoses]") {
    SECTION("a reset in answer to the SYN is syn_rejected, and only that") {
        Run run({syn(), rst(false)}, config());
        CHECK(diagnoses(run) == D{{2, {"syn_rejected"}}});
        CHECK(tdsdiag::code_info(Code::SynRejected).scenario == 6);
    }
    SECTION("a refused SYN tried twice more on the same ports is one refused connection: syn_rejected once") {
        Run run({at(syn(), 0), at(rst(false), 1), at(syn(), 500), at(rst(false), 501), at(syn(), 1000),
                 at(rst(false), 1001)},
                config());
        CHECK(diagnoses(run) == D{{2, {"syn_rejected"}}});
        CHECK(run.steps() == std::vector<int>{1, 7, 1, 7, 1, 7});
        CHECK(run.firsts() == std::vector<int>{1, 2});
        // A single pass knows one attempt at the first reset; later views know all three.
        CHECK(find(run, 2, Code::SynRejected)->text.find("attempts") == std::string::npos);
        const auto now = run.analyzer.find(0)->diagnoses_on(2, true);
        REQUIRE(now.size() == 1);
        CHECK(now[0].text.find("(3 attempts on the same ports)") != std::string::npos);
        CHECK(now[0].detail.find("sent its SYN 3 times") != std::string::npos);
        CHECK(now[0].text.size() <= tdsdiag::kMaxTextLength);
        const auto s = run.summary(true);
        CHECK(s.outcome == tdsdiag::Outcome::Failed);
        CHECK(s.close_by == tdsdiag::Side::Server);
        CHECK(s.close_kind == tdsdiag::CloseKind::Rst);
    }
    SECTION("a refused SYN sent again unchanged (Windows: a retransmission in Wireshark) is one refused connection") {
        Run run({at(syn(), 0), at(rst(false), 1), at(retrans(syn()), 500), at(rst(false), 501),
                 at(retrans(syn()), 1000), at(rst(false), 1001)},
                config());
        CHECK(diagnoses(run) == D{{2, {"syn_rejected"}}});
        CHECK(run.steps() == std::vector<int>{1, 7, 1, 7, 1, 7});
        CHECK(run.analyzer.find(0)->tcp().syn_refusals == 3);
        CHECK(run.analyzer.find(0)->tcp().syn_retransmissions == 0);  // answered each time: not syn_unanswered
        const auto now = run.analyzer.find(0)->diagnoses_on(2, true);
        REQUIRE(now.size() == 1);
        CHECK(now[0].text.find("(3 attempts on the same ports)") != std::string::npos);
        CHECK(run.summary(true).outcome == tdsdiag::Outcome::Failed);
    }
    SECTION("a refused SYN tried again is one connection also where each attempt has a stream of its own") {
        auto on = [](Packet p, uint32_t stream, int64_t ms) {
            p.stream = stream;
            p.time_ns = ms * 1000000;
            return p;
        };
        Run run({on(syn(), 0, 0), on(rst(false), 0, 1), on(syn(), 1, 500), on(rst(false), 1, 501), on(syn(), 2, 1000),
                 on(rst(false), 2, 1001), on(syn(), 3, 9000)},
                config());
        CHECK(diagnoses(run) == D{{2, {"syn_rejected"}}});
        CHECK(run.analyzer.find(1) == run.analyzer.find(0));
        CHECK(run.analyzer.find(2) == run.analyzer.find(0));
        // Eight seconds later the same ports make a new connection attempt of their own.
        REQUIRE(run.analyzer.find(3) != nullptr);
        CHECK(run.analyzer.find(3) != run.analyzer.find(0));
        CHECK(run.analyzer.connections().size() == 2);
        CHECK(run.analyzer.find(0)->tcp().syn_refusals == 3);
    }
    SECTION("a SYN sent again without an answer is syn_unanswered") {
        Run run({at(syn(), 1), at(retrans(syn()), 1001), at(retrans(syn()), 3001)}, config());
        CHECK(diagnoses(run) == D{{2, {"syn_unanswered"}}});
        CHECK(run.summary(false).outcome == tdsdiag::Outcome::Pending);
        CHECK(run.summary(true).outcome == tdsdiag::Outcome::Failed);
        CHECK(find(run, 2, Code::SynUnanswered)->text.find("1.000 s") != std::string::npos);
    }
    SECTION("a SYN/ACK after a retransmitted SYN retracts syn_unanswered and says slow_accept") {
        Run run({at(syn(), 0), at(retrans(syn()), 1000), at(synack(), 1200), at(ack(true), 1201)}, config());
        CHECK(diagnoses(run) == D{{3, {"slow_accept"}}});
    }
    SECTION("a SYN recorded twice by the capture tool is no retransmission") {
        Run run({at(syn(), 1), retrans(at(syn(), 1)), at(synack(), 2)}, config());
        CHECK(run.results[1].diagnoses.empty());  // not even for a moment (single-pass tshark shows that moment)
        CHECK(diagnoses(run).empty());
    }
    SECTION("a SYN/ACK within the threshold is not slow") {
        Run run({at(syn(), 0), at(synack(), 900)}, config());
        CHECK(diagnoses(run).empty());
    }
}

TEST_CASE("The client giving up while the server is silent is login_timeout", "[diagnoses]") {
    SECTION("no prelogin response") {
        Run run({at(syn(), 0), at(synack(), 1), at(prelogin(0), 2), at(fin(true), 15002), at(ack(false), 15003)}, config());
        CHECK(diagnoses(run) == D{{4, {"login_timeout"}}});
        CHECK(find(run, 4, Code::LoginTimeout)->text.find("prelogin response (step 2)") != std::string::npos);
        CHECK(find(run, 4, Code::LoginTimeout)->text.find("15.000 s") != std::string::npos);
    }
    SECTION("no login response") {
        Run run({syn(), synack(), prelogin(2), prelogin_response(2), at(tds(true, {tdsdiag::kTdsLogin7}), 50),
                 at(fin(true), 3050)},
                config());
        CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}, {6, {"login_timeout"}}});
    }
    SECTION("a client closing after a wait no timeout explains gave up on its own: login_abandoned, not login_timeout") {
        const int64_t waits[] = {12, 999};
        for (int64_t wait : waits) {
            Run run({syn(), synack(), prelogin(2), prelogin_response(2), at(tds(true, {tdsdiag::kTdsLogin7}), 50),
                     at(fin(true), 50 + wait)},
                    config());
            CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}, {6, {"login_abandoned"}}});
            const auto* d = find(run, 6, Code::LoginAbandoned);
            REQUIRE(d != nullptr);
            CHECK(d->severity == Severity::Note);
            CHECK(d->text.find("after only " + std::to_string(wait) + " ms without the server's login response (step 5)") != std::string::npos);
            CHECK(d->text.find("likely") != std::string::npos);
            CHECK(run.summary(true).outcome == tdsdiag::Outcome::Failed);
        }
    }
    SECTION("the shortest wait taken for a timeout is a preference") {
        tdsdiag::Config c = config();
        c.login_timeout_min_ns = 10000000;  // 10 ms
        Run run({syn(), synack(), prelogin(2), prelogin_response(2), at(tds(true, {tdsdiag::kTdsLogin7}), 50),
                 at(fin(true), 62)},
                c);
        CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}, {6, {"login_timeout"}}});
    }
    SECTION("the server closing during the prelogin is server_first_fin, not a timeout") {
        // (and, likely, a server requiring TDS 8.0 strict encryption: test_names_strict.cpp)
        Run run({syn(), synack(), prelogin(0), fin(false), fin(true)}, config());
        CHECK(diagnoses(run) == D{{4, {"server_first_fin", "strict_encryption_mismatch"}}});
    }
}

TEST_CASE("TLS handshake failures of scenarios 1 and 2", "[diagnoses]") {
    SECTION("a protocol_version alert is one diagnosis, no_common_tls_version, naming the alert; the FIN after it none") {
        // One event, one message: the alert, its cause and the server's close that a fatal alert requires.
        Run run(handshake_start() + std::initializer_list<Packet>{alert(false, 2, 70), fin(false)}, config());
        auto d = diagnoses(run);
        CHECK(d == D{{7, {"no_common_tls_version"}}});
        const auto* v = find(run, 7, Code::NoCommonTlsVersion);
        CHECK(v->severity == Severity::Error);
        CHECK(v->text.find("with a fatal alert protocol_version (70)") != std::string::npos);
        CHECK(v->detail.find("Alert from the server") == 0);
    }
    SECTION("the server's FIN after a warning alert is still server_first_fin") {
        Run run(handshake_start() + std::initializer_list<Packet>{alert(false, 1, 112), fin(false)}, config());
        auto d = diagnoses(run);
        CHECK(d[7] == std::set<std::string>{"tls_alert"});
        CHECK(find(run, 7, Code::TlsAlert)->severity == Severity::Warn);
        CHECK(d[8].count("server_first_fin") == 1);
    }
    SECTION("an alert no diagnosis explains is tls_alert, fatal an error") {
        Run run(handshake_start() + std::initializer_list<Packet>{alert(false, 2, 80), fin(false)}, config());
        CHECK(diagnoses(run)[7] == std::set<std::string>{"tls_alert"});
        CHECK(find(run, 7, Code::TlsAlert)->severity == Severity::Error);
        CHECK(diagnoses(run).count(8) == 0);
    }
    SECTION("a handshake_failure alert before any ServerHello is no_common_cipher, naming the suites") {
        Run run(handshake_start() + std::initializer_list<Packet>{alert(false, 2, 40), rst(false)}, config());
        CHECK(diagnoses(run)[7] == std::set<std::string>{"no_common_cipher"});
        CHECK(diagnoses(run)[8] == std::set<std::string>{"server_reset"});  // a reset is more than the alert's close
        const auto* d = find(run, 7, Code::NoCommonCipher);
        CHECK(d->text.find("none of the 3 suites") != std::string::npos);
        CHECK(d->text.find("with a fatal alert handshake_failure (40)") != std::string::npos);
        CHECK(d->detail.find("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") != std::string::npos);
        // Named suites by name, the others in hex, in the order offered.
        CHECK(d->detail ==
              "Alert from the server. ClientHello (frame 6) offered TLS 1.2 to TLS 1.3 and 3 cipher suites: 0x1301, "
              "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 0xc030.");
    }
    SECTION("the server closing right after a TLS 1.2 ClientHello is likely no_common_cipher") {
        Run run(handshake_start() + std::initializer_list<Packet>{fin(false)}, config());
        CHECK(diagnoses(run)[7] == std::set<std::string>{"no_common_cipher", "server_first_fin"});
        CHECK(find(run, 7, Code::NoCommonCipher)->text.find("likely") != std::string::npos);
    }
    SECTION("the server resetting right after it is the same, plus server_reset") {
        Run run(handshake_start() + std::initializer_list<Packet>{rst(false)}, config());
        CHECK(diagnoses(run)[7] == std::set<std::string>{"no_common_cipher", "server_reset"});
    }
    SECTION("the server closing right after a ClientHello offering at most TLS 1.1 is likely no_common_tls_version") {
        auto frames = handshake_start();
        frames.back().tls_supported_versions.clear();
        frames.back().tls_handshake_versions = {0x0302};
        Run run(frames + std::initializer_list<Packet>{fin(false)}, config());
        CHECK(diagnoses(run)[7] == std::set<std::string>{"no_common_tls_version", "server_first_fin"});
        // One version offered is "only TLS 1.1", never "TLS 1.1 to TLS 1.1".
        const auto* v = find(run, 7, Code::NoCommonTlsVersion);
        CHECK(v->detail.find("offered only TLS 1.1 and") != std::string::npos);
        CHECK((v->text + v->detail).find("TLS 1.1 to TLS 1.1") == std::string::npos);
    }
    SECTION("the client leaving right after the server chose TLS 1.0 from a 1.2/1.3 offer is likely the version, "
            "not the certificate (ODBC Driver 18 on OpenSSL 3)") {
        auto frames = handshake_start();
        frames.back().tls_supported_versions = {0x0304, 0x0303, 0x0302, 0x0301};  // ODBC 18 offers TLS 1.0 to 1.3
        Packet tls10 = self_signed_flight();
        tls10.tls_handshake_versions = {0x0301};
        Run run(frames + std::initializer_list<Packet>{tls10, fin(true)}, config());
        auto d = diagnoses(run);
        CHECK(d[7] == std::set<std::string>{"old_tls_version"});
        CHECK(d[8] == std::set<std::string>{"no_common_tls_version"});
        const auto* f = find(run, 8, Code::NoCommonTlsVersion);
        REQUIRE(f != nullptr);
        CHECK(f->text.find("likely") != std::string::npos);
        CHECK(f->text.find("TLS 1.0") != std::string::npos);
        CHECK(f->text.find("(self-signed). Fix: Enable TLS 1.2 on the server.") != std::string::npos);
        CHECK(f->detail.find("md5WithRSAEncryption") != std::string::npos);
        CHECK(f->text.size() <= tdsdiag::kMaxTextLength);
    }
    SECTION("the same close after a TLS 1.2 ServerHello stays certificate_rejected") {
        Run run(handshake_start() + std::initializer_list<Packet>{self_signed_flight(), fin(true)}, config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
    }
}

TEST_CASE("DHE suites: negotiated (scenario 3) and dropped after the key exchange (scenario 5)", "[diagnoses]") {
    SECTION("a DHE suite chosen by the server is dhe_cipher") {
        Run run(handshake_start() + std::initializer_list<Packet>{server_hello(0x0303, 0x009f)}, config());
        CHECK(diagnoses(run) == D{{7, {"dhe_cipher"}}});
    }
    SECTION("the server closing after the client's key exchange without its Finished is dhe_handshake_failure") {
        Run run(handshake_start() + std::initializer_list<Packet>{server_hello(0x0303, 0x009f), client_finished(), rst(false)},
                config());
        CHECK(diagnoses(run)[9] == std::set<std::string>{"dhe_handshake_failure", "server_reset"});
    }
}

TEST_CASE("Certificates: weak hash (scenario 4) and rejection", "[diagnoses]") {
    SECTION("a certificate signed with MD5 is weak_cert_hash on the certificate's frame") {
        Run run(handshake_start() + std::initializer_list<Packet>{cert_flight(), client_finished()}, config());
        CHECK(diagnoses(run) == D{{7, {"weak_cert_hash"}}});
        CHECK(find(run, 7, Code::WeakCertHash)->text.find("MD5") != std::string::npos);
        CHECK(find(run, 7, Code::WeakCertHash)->detail.find("sqlprod01.lab.test") != std::string::npos);
        CHECK(find(run, 7, Code::WeakCertHash)->severity == Severity::Warn);
    }
    SECTION("the client closing right after it is certificate_rejected, and weak_cert_hash becomes an error") {
        Run run(handshake_start() + std::initializer_list<Packet>{at(cert_flight(), 1797999999000), fin(true)}, config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected", "weak_cert_hash"});
        CHECK(find(run, 8, Code::WeakCertHash)->severity == Severity::Error);
        const auto* d = find(run, 8, Code::CertificateRejected);
        CHECK(d->text.find("expired at capture time") != std::string::npos);
        CHECK(d->detail.find("issued by \"tdsdiag unit-test CA\"") != std::string::npos);
        CHECK(d->detail.find("(self-signed)") == std::string::npos);
        CHECK(d->detail.find("valid from 2026-11-22 01:03:26 UTC to 2026-12-22 01:03:26 UTC") != std::string::npos);
    }
    SECTION("a self-signed certificate signed with MD5 is not weak_cert_hash; its algorithm stays in the detail") {
        Run run(handshake_start() + std::initializer_list<Packet>{self_signed_flight(), client_finished()}, config());
        CHECK(diagnoses(run).empty());
        CHECK(run.summary().cert_signature == "md5WithRSAEncryption");
    }
    SECTION("a client rejecting a self-signed MD5 certificate is certificate_rejected for being self-signed, not the hash") {
        Run run(handshake_start() + std::initializer_list<Packet>{self_signed_flight(), fin(true)}, config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
        const auto* d = find(run, 8, Code::CertificateRejected);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("self-signed: untrusted") != std::string::npos);
        CHECK(d->text.find("weak") == std::string::npos);
        CHECK(d->detail.find("md5WithRSAEncryption") != std::string::npos);
    }
    SECTION("a client rejecting a sound CA-signed certificate: an untrusted CA or a name mismatch, not 'use a CA-signed one'") {
        // Microsoft's JDBC driver connecting by IP address to a server whose certificate names a host
        // (captures/jdbc-name-mismatch): FIN right after the Certificate, no alert.
        Packet flight = server_hello();
        flight.certificates.emplace_back(kSha256CaSignedCert, kSha256CaSignedCert + kSha256CaSignedCertLen);
        Run run(handshake_start() + std::initializer_list<Packet>{at(flight, 1800000000000), at(fin(true), 1800000000300)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
        const auto* d = find(run, 8, Code::CertificateRejected);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("likely an untrusted CA or no name matching") != std::string::npos);
        const std::string all = d->text + " " + d->detail;
        CHECK(all.find("Trust the issuing CA on the client and connect with a name the certificate carries") !=
              std::string::npos);
        CHECK(all.find("use a CA-signed certificate") == std::string::npos);
        CHECK(d->detail.find("sqlprod02.lab.test") != std::string::npos);
        CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
        CHECK(all.find("HostNameInCertificate") != std::string::npos);
    }
    SECTION("an unknown_ca alert from the client is certificate_rejected, naming the alert, and client_tls_policy "
            "(the test certificate is CA-signed with MD5 and a 1024-bit RSA key); no tls_alert beside them") {
        Run run(handshake_start() + std::initializer_list<Packet>{cert_flight(), alert(true, 2, 48), fin(true)}, config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected", "client_tls_policy"});
        CHECK(find(run, 8, Code::CertificateRejected)->text.find("with a fatal alert unknown_ca (48)") != std::string::npos);
        const auto* d = find(run, 8, Code::ClientTlsPolicy);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("sent a fatal unknown_ca alert") != std::string::npos);
    }
    SECTION("the same alert after a sound certificate is no policy matter") {
        Packet flight = server_hello();
        flight.certificates.emplace_back(kSha256CaSignedCert, kSha256CaSignedCert + kSha256CaSignedCertLen);
        Run run(handshake_start() + std::initializer_list<Packet>{at(flight, 1800000000000), alert(true, 2, 48), fin(true)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
    }
    SECTION("the client closing right after a completed handshake, before its login, likely rejected the certificate") {
        Run run(handshake_start() + std::initializer_list<Packet>{cert_flight(), client_finished(), server_finished(), fin(true)},
                config());
        auto d = diagnoses(run);
        CHECK(d[10] == std::set<std::string>{"certificate_rejected"});
        CHECK(find(run, 10, Code::CertificateRejected)->text.find("likely") != std::string::npos);
    }
    SECTION("in TLS 1.3 the client closing after the server's encrypted flight likely rejected the hidden certificate") {
        Run run({syn(), synack(), ack(true), client_hello(false), server_hello(0x0304, 0x1302, false), fin(true)},
                config());
        CHECK(diagnoses(run)[6] == std::set<std::string>{"certificate_rejected"});
        CHECK(find(run, 6, Code::CertificateRejected)->text.find("likely it rejected the certificate (untrusted or expired). Fix: Decrypt with the client's TLS key log") != std::string::npos);
        CHECK(run.summary().encryption == tdsdiag::Encryption::Strict);
    }
    SECTION("in TLS 1.3 one encrypted client record after the flight, then the client's close, is a hidden alert") {
        // Microsoft's JDBC driver (Java's JSSE) in TDS 8.0: Change Cipher Spec and an encrypted fatal
        // alert certificate_unknown, then FIN (captures/jdbc-strict-ip-address): not the client waiting.
        Run run({syn(), synack(), ack(true), client_hello(false), at(server_hello(0x0304, 0x1302, false), 10),
                 at(tls(true, {20, 23}, {}, false), 200), at(fin(true), 201)},
                config());
        CHECK(diagnoses(run) == D{{7, {"certificate_rejected"}}});
        const auto* d = find(run, 7, Code::CertificateRejected);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("one encrypted record and no TDS, then the client closed") != std::string::npos);
        CHECK(d->text.find("likely") != std::string::npos);
    }
    SECTION("the same with the server closing first, after reading the alert: certificate_rejected and server_first_fin") {
        Run run({syn(), synack(), ack(true), client_hello(false), at(server_hello(0x0304, 0x1302, false), 10),
                 at(tls(true, {20, 23}, {}, false), 200), at(fin(false), 201), at(fin(true), 202)},
                config());
        CHECK(diagnoses(run)[7] == std::set<std::string>{"certificate_rejected", "server_first_fin"});
        CHECK(find(run, 7, Code::CertificateRejected)->text.find("then the server closed") != std::string::npos);
    }
    SECTION("in TLS 1.3 a client that sent TDS after its Finished rejected nothing") {
        Run run({syn(), synack(), ack(true), client_hello(false), at(server_hello(0x0304, 0x1302, false), 10),
                 at(tls(true, {20, 23}, {}, false), 200), at(appdata(true), 201), at(fin(true), 3000)},
                config());
        for (const auto& [frame, codes] : diagnoses(run)) CHECK(codes.count("certificate_rejected") == 0);
    }
    SECTION("a second connection closed after its ClientHello is read with the first one's certificate") {
        std::vector<Packet> frames = handshake_start() + std::initializer_list<Packet>{cert_flight(), client_finished()};
        for (Packet p : handshake_start() + std::initializer_list<Packet>{fin(false)}) frames.push_back(second(p));
        Run run(frames, config());
        auto d = diagnoses(run, 1);
        CHECK(d[15] == std::set<std::string>{"weak_cert_hash", "server_first_fin"});
        const auto* w = find(run, 15, Code::WeakCertHash);
        REQUIRE(w != nullptr);
        CHECK(w->severity == Severity::Error);
        CHECK(w->text.find("connection 0 (frame 7)") != std::string::npos);
        CHECK(w->text.find("likely") != std::string::npos);
    }
}

TEST_CASE("A self-signed weak certificate on one connection is no evidence for another's failure", "[diagnoses]") {
    std::vector<Packet> frames = handshake_start() + std::initializer_list<Packet>{self_signed_flight(), client_finished()};
    for (Packet p : handshake_start() + std::initializer_list<Packet>{fin(false)}) frames.push_back(second(p));
    Run run(frames, config());
    CHECK(diagnoses(run, 1)[15] == std::set<std::string>{"no_common_cipher", "server_first_fin"});
}

TEST_CASE("One server address showing several certificates reads each connection's own", "[diagnoses]") {
    // A listener or load balancer: one address:port, two servers, each with its certificate. The second
    // is the MD5 test certificate with its signature algorithm made sha256WithRSAEncryption (same length).
    std::vector<uint8_t> md5(kMd5CaSignedCert, kMd5CaSignedCert + kMd5CaSignedCertLen), sha256 = md5;
    const uint8_t oid_md5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04};
    int replaced = 0;
    for (auto it = sha256.begin(); (it = std::search(it, sha256.end(), std::begin(oid_md5), std::end(oid_md5))) != sha256.end();
         ++replaced)
        *(it += sizeof oid_md5 - 1) = 0x0b;
    REQUIRE(replaced == 2);
    // Connections alternate between the two, then 38 more show 19 certificates each once (more than
    // a server's facts keep) and again: even ones MD5, odd ones SHA-256, told apart by their serial.
    const uint8_t serial_at[] = {0xa0, 0x03, 0x02, 0x01, 0x02, 0x02};
    const auto serial = std::search(md5.begin(), md5.end(), std::begin(serial_at), std::end(serial_at));
    REQUIRE(serial != md5.end());
    const size_t serial_byte = static_cast<size_t>(serial - md5.begin()) + sizeof serial_at + 1;
    std::vector<int> order = {0, 1, 0, 1, 1, 0, 0, 1, 0, 1};
    std::vector<std::vector<uint8_t>> shown;
    for (int round = 0; round < 2; ++round)
        for (int k = 0; k < 19; ++k) {
            std::vector<uint8_t> der = k % 2 == 0 ? md5 : sha256;
            der[serial_byte] = static_cast<uint8_t>(der[serial_byte] ^ (k + 1));
            shown.push_back(der);
            order.push_back(k % 2);
        }
    const uint32_t n = static_cast<uint32_t>(order.size());
    std::vector<Packet> frames;
    for (uint32_t c = 0; c < n; ++c) {
        for (Packet p : handshake_start()) {
            p.stream = c;
            if (p.src_port == kClientPort) p.src_port = static_cast<uint16_t>(kClientPort + c);
            if (p.dst_port == kClientPort) p.dst_port = static_cast<uint16_t>(kClientPort + c);
            frames.push_back(p);
        }
        Packet flight = server_hello();
        flight.stream = c;
        flight.dst_port = static_cast<uint16_t>(kClientPort + c);
        REQUIRE(flight.dst_port != 1433);
        flight.certificates.push_back(c >= 10 ? shown[c - 10] : order[c] == 0 ? md5 : sha256);
        frames.push_back(flight);
    }
    Run run(frames, config());
    for (uint32_t c = 0; c < n; ++c) {
        CAPTURE(c);
        const auto& r = run.results[c * 7 + 6];
        const bool weak = std::any_of(r.diagnoses.begin(), r.diagnoses.end(),
                                      [](const tdsdiag::Diagnosis& d) { return d.code == Code::WeakCertHash; });
        CHECK(weak == (order[c] == 0));
        CHECK(run.summary(true, c).cert_signature == (order[c] == 0 ? "md5WithRSAEncryption" : "sha256WithRSAEncryption"));
    }
}

TEST_CASE("Prelogin, login and close diagnoses", "[diagnoses]") {
    SECTION("client requires encryption, server does not support it") {
        Run run({syn(), synack(), prelogin(1), prelogin_response(2), fin(true)}, config());
        CHECK(diagnoses(run) == D{{5, {"encryption_not_supported"}}});
    }
    SECTION("server requires encryption, client does not support it") {
        Run run({syn(), synack(), prelogin(2), prelogin_response(3), fin(false)}, config());
        CHECK(diagnoses(run) == D{{5, {"encryption_not_supported", "server_first_fin"}}});
    }
    SECTION("login failed 18456 carries number, state, message and the state's meaning") {
        Run run({syn(), synack(), prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}),
                 login_error(18456, 8), fin(false), fin(true)},
                config());
        // the server closing after refusing the login is expected: no server_first_fin
        CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}, {6, {"login_failed"}}});
        const auto& text = find(run, 6, Code::LoginFailed)->text;
        CHECK(text.find("error 18456, state 8") != std::string::npos);
        CHECK(text.find("password is wrong") != std::string::npos);
        CHECK(text.find("Login failed for user 'sa'.") != std::string::npos);
    }
    SECTION("a Login7 in clear tells SQL authentication (password readable) from Windows authentication (none)") {
        Packet login = tds(true, {tdsdiag::kTdsLogin7});
        SECTION("SQL authentication") {
            login.login7_integrated = 0;
            Run run({syn(), synack(), prelogin(2), prelogin_response(2), login, login_ack()}, config());
            CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}});
            CHECK(find(run, 5, Code::CleartextLogin)->text.find("password are readable") != std::string::npos);
            CHECK(find(run, 5, Code::CleartextLogin)->text.find("without a PRELOGIN") == std::string::npos);
            CHECK(run.summary().auth == "sql");
        }
        SECTION("SQL authentication without a PRELOGIN (jTDS' default, TDS 7.1): the fix is on the client") {
            login.login7_integrated = 0;
            Run run({syn(), synack(), ack(true), login, login_ack()}, config());
            CHECK(diagnoses(run) == D{{4, {"cleartext_login"}}});
            const auto* d = find(run, 4, Code::CleartextLogin);
            REQUIRE(d != nullptr);
            CHECK(d->text.find("without a PRELOGIN") != std::string::npos);
            CHECK((d->text + d->detail).find("jTDS: ssl=require") != std::string::npos);
            CHECK(d->text.find("Set Encrypt=True") == std::string::npos);
        }
        SECTION("Windows authentication") {
            login.login7_integrated = 1;
            Run run({syn(), synack(), prelogin(2), prelogin_response(2), login, login_ack()}, config());
            CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}});
            const std::string& text = find(run, 5, Code::CleartextLogin)->text;
            CHECK(text.find("no password crosses the wire") != std::string::npos);
            CHECK(text.find("user, host and application names and the whole session") != std::string::npos);
            CHECK(run.summary().auth != "sql");
        }
        // The password field decides, whatever the option flags say: a Login7 whose password is empty
        // and whose SSPI data is there is Windows authentication even without fIntSecurity.
        SECTION("an empty password field with SSPI data and fIntSecurity clear") {
            login.login7_integrated = 0;
            login.login7_password_chars = 0;
            tdsdiag::AuthToken ntlm;
            ntlm.valid = true;
            ntlm.mech = tdsdiag::Mech::Ntlm;
            ntlm.ntlm_type = 1;
            login.auth_tokens.push_back(ntlm);
            Run run({syn(), synack(), prelogin(2), prelogin_response(2), login, login_ack()}, config());
            CHECK(diagnoses(run) == D{{5, {"cleartext_login"}}});
            const std::string& text = find(run, 5, Code::CleartextLogin)->text;
            CHECK(text.find("password are readable") == std::string::npos);
            CHECK(text.find("no password crosses the wire") != std::string::npos);
        }
        SECTION("an empty password field and no SSPI data") {
            login.login7_integrated = 0;
            login.login7_password_chars = 0;
            Run run({syn(), synack(), prelogin(2), prelogin_response(2), login, login_ack()}, config());
            const std::string& text = find(run, 5, Code::CleartextLogin)->text;
            CHECK(text.find("password are readable") == std::string::npos);
            CHECK(text.find("empty password field") != std::string::npos);
        }
        SECTION("a password in the field is readable even where fIntSecurity is set") {
            login.login7_integrated = 1;
            login.login7_password_chars = 8;
            Run run({syn(), synack(), prelogin(2), prelogin_response(2), login, login_ack()}, config());
            CHECK(find(run, 5, Code::CleartextLogin)->text.find("password are readable") != std::string::npos);
        }
    }
    SECTION("a login acknowledged, then the client silent until it closes, is client_silent_after_login") {
        const std::vector<Packet> login{at(syn(), 0), at(synack(), 1), at(prelogin(0), 2), at(prelogin_response(0), 3),
                                        at(client_hello(), 4), at(server_hello(), 5), at(client_finished(), 6),
                                        at(server_finished(), 7), at(appdata(true), 8), at(login_ack(), 9)};
        Run hung(login + std::initializer_list<Packet>{at(ack(true), 10), at(fin(true), 5710), at(fin(false), 5711)},
                 config());
        CHECK(diagnoses(hung) == D{{12, {"client_silent_after_login"}}});
        const auto& text = find(hung, 12, Code::ClientSilentAfterLogin)->text;
        CHECK(text.find("5.701 s") != std::string::npos);
        CHECK(text.find("the client stopped answering, not the server") != std::string::npos);
        CHECK(hung.summary(true).outcome == tdsdiag::Outcome::Connected);
        // A command after the login, or a close right after it, is no stall.
        Run used(login + std::initializer_list<Packet>{at(tds(true, {tdsdiag::kTdsSqlBatch}), 20), at(fin(true), 5710)},
                 config());
        CHECK(diagnoses(used).empty());
        Run quick(login + std::initializer_list<Packet>{at(fin(true), 300)}, config());
        CHECK(diagnoses(quick).empty());
        // A refused login (no LOGINACK) then silence is not it either.
        Run refused({at(syn(), 0), at(synack(), 1), at(prelogin(2), 2), at(prelogin_response(2), 3),
                     at(tds(true, {tdsdiag::kTdsLogin7}), 4), at(login_error(18456, 8), 5), at(fin(true), 5000)},
                    config());
        CHECK(diagnoses(refused).count(7) == 0);
    }
    SECTION("a login answered after the threshold is slow_login") {
        Run run({at(syn(), 1), at(synack(), 2), at(prelogin(1), 3), at(prelogin_response(1), 4), at(client_hello(), 5),
                 at(server_hello(), 6), at(client_finished(), 7), at(server_finished(), 8), at(appdata(true), 10),
                 at(appdata(false), 2510)},
                config());
        CHECK(diagnoses(run) == D{{10, {"slow_login"}}});
    }
    SECTION("TLS 1.0 negotiated is old_tls_version") {
        Run run(handshake_start() + std::initializer_list<Packet>{server_hello(0x0301)}, config());
        CHECK(diagnoses(run) == D{{7, {"old_tls_version"}}});
    }
    SECTION("a client reset after a session is client_reset; a server reset mid-session is server_reset") {
        Run a({syn(), synack(), prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}), login_ack(),
               tds(true, {tdsdiag::kTdsSqlBatch}), rst(true)},
              config());
        CHECK(diagnoses(a)[8] == std::set<std::string>{"client_reset"});
        Run b({syn(), synack(), prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}), login_ack(),
               tds(true, {tdsdiag::kTdsSqlBatch}), rst(false)},
              config());
        CHECK(diagnoses(b)[8] == std::set<std::string>{"server_reset"});
    }
    SECTION("a connection without its handshake is capture_started_midstream") {
        Run run({tds(true, {tdsdiag::kTdsSqlBatch}), tds(false, {tdsdiag::kTdsResponse})}, config());
        CHECK(diagnoses(run) == D{{1, {"capture_started_midstream"}}});
    }
}

TEST_CASE("Certificates are read from their DER bytes, and malformed ones are refused", "[x509]") {
    auto info = tdsdiag::parse_certificate(kMd5Cert, kMd5CertLen);
    REQUIRE(info);
    CHECK(info->signature_oid == "1.2.840.113549.1.1.4");
    CHECK(tdsdiag::signature_hash(info->signature_oid) == "MD5");
    CHECK(info->subject_cn == "sqlprod01.lab.test");
    CHECK(info->self_issued);
    CHECK(info->not_before == 1795309406);
    CHECK(info->not_after == 1797901406);
    CHECK(tdsdiag::format_utc(info->not_after) == "2026-12-22 01:03:26 UTC");
    SECTION("every truncation is refused without reading past the end") {
        for (unsigned len = 0; len < kMd5CertLen; len += 7) CHECK(!tdsdiag::parse_certificate(kMd5Cert, len));
    }
    SECTION("the RSA key's size comes from the subject's public key") {
        CHECK(info->rsa_bits == 1024);
        auto sound = tdsdiag::parse_certificate(kSha256CaSignedCert, kSha256CaSignedCertLen);
        REQUIRE(sound);
        CHECK(sound->rsa_bits == 2048);
    }
}

namespace {
// The CA-signed MD5 test certificate (RSA 1024) with its signature algorithm made sha256WithRSAEncryption.
std::vector<uint8_t> sha256_rsa1024_cert() {
    std::vector<uint8_t> der(kMd5CaSignedCert, kMd5CaSignedCert + kMd5CaSignedCertLen);
    const uint8_t oid_md5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04};
    for (auto it = der.begin(); (it = std::search(it, der.end(), std::begin(oid_md5), std::end(oid_md5))) != der.end();)
        *(it += sizeof oid_md5 - 1) = 0x0b;
    return der;
}
Packet flight_with(std::vector<uint8_t> der, uint16_t cipher = 0xc02f, int dh_bits = 0) {
    Packet p = server_hello(0x0303, cipher);
    p.certificates.push_back(std::move(der));
    p.tls_dh_p_bits = dh_bits;
    return at(p, 1795400000000);  // within the test certificates' validity
}
std::vector<uint8_t> sound_cert() { return {kSha256CaSignedCert, kSha256CaSignedCert + kSha256CaSignedCertLen}; }
}  // namespace

TEST_CASE("The client's TLS policy: what the server's flight held below it, named with its numbers", "[diagnoses]") {
    const auto text_of = [](Run& run, int frame) {
        const auto* d = find(run, frame, Code::ClientTlsPolicy);
        return d ? d->text + " | " + d->detail : std::string("(none)");
    };
    SECTION("a CA-signed certificate with a 1024-bit RSA key, then the client's FIN: client_tls_policy and "
            "certificate_rejected") {
        Run run(handshake_start() + std::initializer_list<Packet>{flight_with(sha256_rsa1024_cert()), at(fin(true), 1795400000300)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"client_tls_policy", "certificate_rejected"});
        const std::string t = text_of(run, 8);
        CHECK(t.find("a 1024-bit RSA key") != std::string::npos);
        CHECK(t.find("likely") != std::string::npos);
        CHECK(t.find("SHA-1") == std::string::npos);
        CHECK(find(run, 8, Code::ClientTlsPolicy)->text.size() <= tdsdiag::kMaxTextLength);
        const auto* r = find(run, 8, Code::CertificateRejected);
        REQUIRE(r != nullptr);
        CHECK(r->text.find("likely its RSA key, under 2048 bits") != std::string::npos);
        CHECK(r->text.find("untrusted CA") == std::string::npos);
    }
    SECTION("a 1024-bit DHE group with a sound certificate: client_tls_policy alone, no certificate blamed") {
        Run run(handshake_start() + std::initializer_list<Packet>{flight_with(sound_cert(), 0x009f, 1024), at(fin(true), 1795400000300)},
                config());
        auto d = diagnoses(run);
        CHECK(d[7] == std::set<std::string>{"dhe_cipher"});
        CHECK(d[8] == std::set<std::string>{"client_tls_policy"});
        CHECK(text_of(run, 8).find("a 1024-bit DHE group") != std::string::npos);
        CHECK(text_of(run, 8).find("1024-bit RSA key") == std::string::npos);
    }
    SECTION("a 2048-bit DHE group is no policy matter: the close stays certificate_rejected") {
        Run run(handshake_start() + std::initializer_list<Packet>{flight_with(sound_cert(), 0x009f, 2048), at(fin(true), 1795400000300)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
    }
    SECTION("an ECDHE flight's first parameter is no DHE group") {
        Run run(handshake_start() + std::initializer_list<Packet>{flight_with(sound_cert(), 0xc02f, 776), at(fin(true), 1795400000300)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
    }
    SECTION("the client's fatal alert after a 1024-bit DHE group names the alert") {
        Run run(handshake_start() + std::initializer_list<Packet>{flight_with(sound_cert(), 0x009f, 1024),
                                                                  at(alert(true, 2, 40), 1795400000300), at(fin(true), 1795400000301)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"client_tls_policy", "tls_alert"});
        CHECK(text_of(run, 8).find("sent a fatal handshake_failure alert") != std::string::npos);
        CHECK(diagnoses(run).count(9) == 0);
    }
    SECTION("a CA-signed MD5 certificate rejected: weak_cert_hash stays the certificate's warning, the failure is "
            "client_tls_policy and certificate_rejected") {
        Run run(handshake_start() + std::initializer_list<Packet>{at(cert_flight(), 1795400000000), at(fin(true), 1795400000300)},
                config());
        auto d = diagnoses(run);
        CHECK(d[7] == std::set<std::string>{"weak_cert_hash"});
        CHECK(d[8] == std::set<std::string>{"client_tls_policy", "certificate_rejected"});
        const std::string t = text_of(run, 8);
        CHECK(t.find("refused an MD5 CA signature, a 1024-bit RSA key") != std::string::npos);
    }
    SECTION("a self-signed certificate's hash and key are not blamed: certificate_rejected (self-signed) alone") {
        Run run(handshake_start() + std::initializer_list<Packet>{at(self_signed_flight(), 1795400000000), at(fin(true), 1795400000300)},
                config());
        CHECK(diagnoses(run)[8] == std::set<std::string>{"certificate_rejected"});
    }
    SECTION("a client that went on (its key exchange) refused nothing") {
        Run run(handshake_start() + std::initializer_list<Packet>{flight_with(sha256_rsa1024_cert(), 0x009f, 1024), client_finished()},
                config());
        for (const auto& [frame, codes] : diagnoses(run)) CHECK(codes.count("client_tls_policy") == 0);
    }
}

TEST_CASE("A connection taken up at its first TDS message on another port began at the handshake the capture holds",
          "[diagnoses]") {
    // A named instance on a dynamic port: the plugin finds TDS at the prelogin (frame 4) and tells the
    // core what TCP saw before: the stream's first frame (1) was the client's SYN, at 5 ms.
    auto on_port = [](Packet p, int64_t ms) {
        if (p.src_port == kServerPort) p.src_port = 49177;
        if (p.dst_port == kServerPort) p.dst_port = 49177;
        p.time_ns = ms * 1000000;
        return p;
    };
    tdsdiag::Analyzer a(config());
    std::vector<Packet> frames = {on_port(prelogin(2), 9), on_port(prelogin_response(2), 10),
                                  on_port(tds(true, {tdsdiag::kTdsLogin7}), 11), on_port(login_ack(), 12)};
    SECTION("with the SYN in the capture: steps from 1, no capture_started_midstream") {
        tdsdiag::StreamStart start;
        start.frame = 1;
        start.ns = 5000000;
        start.syn = true;
        std::vector<tdsdiag::FrameResult> r;
        for (uint32_t i = 0; i < frames.size(); ++i) {
            frames[i].frame = 4 + i;
            r.push_back(a.on_packet(frames[i], i == 0 ? &start : nullptr));
        }
        const tdsdiag::Connection* c = a.find(0);
        REQUIRE(c != nullptr);
        CHECK(c->first_frame() == 1);
        CHECK(c->before_tracking(1));
        CHECK(c->before_tracking(3));
        CHECK_FALSE(c->before_tracking(4));
        CHECK(r[0].step == tdsdiag::Step::Prelogin);
        CHECK(r[0].step_first);
        CHECK(r[0].step_delta_ns == 4000000);  // since the SYN
        for (const auto& fr : r) CHECK(fr.diagnoses.size() == (fr.step == tdsdiag::Step::Login ? 1u : 0u));  // cleartext_login
        CHECK(c->summary(true).outcome == tdsdiag::Outcome::Connected);
        CHECK(c->step_opened_ns(tdsdiag::Step::TcpHandshake) == 5000000);
        CHECK(a.found_late() == 1);
    }
    SECTION("when the stream's first frame was not a SYN, the capture did start mid-connection") {
        tdsdiag::StreamStart start;
        start.frame = 2;
        start.ns = 5000000;
        start.syn = false;
        frames[0].frame = 4;
        const tdsdiag::FrameResult r = a.on_packet(frames[0], &start);
        REQUIRE(r.diagnoses.size() == 1);
        CHECK(r.diagnoses[0].code == Code::CaptureStartedMidstream);
        CHECK(a.find(0)->first_frame() == 4);
        CHECK(a.found_late() == 0);
    }
}

namespace {
// A TLS login up to the client's Login7 (frame 9, at 10 ms, sequence number 5000).
std::vector<Packet> tls_login_sent() {
    Packet login = at(appdata(true), 10);
    login.tcp_seq = 5000;
    return {at(syn(), 1), at(synack(), 2), at(prelogin(1), 3), at(prelogin_response(1), 4), at(client_hello(), 5),
            at(server_hello(), 6), at(client_finished(), 7), at(server_finished(), 8), login};
}
// The Login7 sent again at `ms`.
Packet login_again(int64_t ms) {
    Packet p = retrans(at(appdata(true), ms));
    p.tcp_seq = 5000;
    return p;
}
Packet window(bool c, uint16_t w, int64_t ms) {
    Packet p = at(ack(c), ms);
    p.tcp_window = w;
    return p;
}
}  // namespace

TEST_CASE("A slow step is slow_network when the network's lost time accounts for it", "[diagnoses][network]") {
    SECTION("loss explains a slow login") {
        // The Login7 sent again four times (0.2, 0.4, 0.8, 1.6 s apart), the fifth copy answered at once.
        Run run(tls_login_sent() + std::initializer_list<Packet>{login_again(210), login_again(610), login_again(1410),
                                                                 login_again(3010), at(appdata(false), 3015)},
                config());
        CHECK(diagnoses(run) == D{{14, {"slow_login", "slow_network"}}});
        const tdsdiag::Diagnosis* d = find(run, 14, Code::SlowNetwork);
        REQUIRE(d);
        CHECK(d->severity == Severity::Warn);
        CHECK(d->text.find("The login took 3.005 s, of which 3.000 s went to 4 TCP retransmission(s)") != std::string::npos);
        CHECK(d->text.find("likely packet loss") != std::string::npos);
        CHECK(d->text.find("Check the path for packet loss") != std::string::npos);
        CHECK(d->detail.find("would have taken 0.005 s") != std::string::npos);
        const tdsdiag::Diagnosis* slow = find(run, 14, Code::SlowLogin);
        REQUIRE(slow);
        CHECK(slow->text.find("lost in the network (slow_network)") != std::string::npos);
    }
    SECTION("a retransmission of a segment not among the last ones counts, but costs no time it cannot measure") {
        Packet other = login_again(1500);
        other.tcp_seq = 1;  // not the Login7's sequence number
        Run run(tls_login_sent() + std::initializer_list<Packet>{other, at(appdata(false), 2600)}, config());
        CHECK(diagnoses(run) == D{{11, {"slow_login"}}});
    }
    SECTION("zero window explains a stall") {
        // After the login the client's window stays at 0 for 1.5 s: the server can send nothing.
        Run run(tls_login_sent() + std::initializer_list<Packet>{at(appdata(false), 20), at(appdata(true), 30),
                                                                 at(appdata(false), 40), window(true, 0, 41),
                                                                 window(true, 0, 800), window(true, 512, 2541)},
                config());
        CHECK(diagnoses(run) == D{{15, {"slow_network"}}});
        const tdsdiag::Diagnosis* d = find(run, 15, Code::SlowNetwork);
        REQUIRE(d);
        CHECK(d->text.find("The client's receive window stayed at 0 for 2.500 s") != std::string::npos);
        CHECK(d->text.find("Likely the client application stopped reading") != std::string::npos);
        CHECK((d->text + d->detail).find("a client holding results unread") != std::string::npos);
    }
    SECTION("a zero window shorter than tdsdiag.zero_window_stall_ms is no stall") {
        Run run(tls_login_sent() + std::initializer_list<Packet>{at(appdata(false), 20), window(true, 0, 21),
                                                                 window(true, 512, 900)},
                config());
        CHECK(diagnoses(run).empty());
    }
    SECTION("zero window explains a slow login") {
        // The server's window stays at 0 from just before the Login7 until 2.4 s later.
        std::vector<Packet> frames = tls_login_sent();
        frames.insert(frames.end() - 1, window(false, 0, 9));
        Run run(frames + std::initializer_list<Packet>{window(false, 512, 2409), at(appdata(false), 2500)}, config());
        const auto found = diagnoses(run);
        CHECK(found.at(11) == std::set<std::string>{"slow_network"});  // the stall itself (2.4 s)
        CHECK(found.at(12) == std::set<std::string>{"slow_login", "slow_network"});
        const tdsdiag::Diagnosis* d = find(run, 12, Code::SlowNetwork);
        REQUIRE(d);
        CHECK(d->text.find("a zero window (2.399 s)") != std::string::npos);
        CHECK(d->text.find("likely the receiver stopped reading") != std::string::npos);
    }
}

TEST_CASE("A slow login with a clean network is not slow_network", "[diagnoses][network]") {
    SECTION("no retransmission, no zero window") {
        Run run(tls_login_sent() + std::initializer_list<Packet>{at(appdata(false), 2510)}, config());
        CHECK(diagnoses(run) == D{{10, {"slow_login"}}});
        const tdsdiag::Diagnosis* slow = find(run, 10, Code::SlowLogin);
        REQUIRE(slow);
        CHECK(slow->text == std::string("The server answered the login 2.500 s after it was sent (threshold 2.000 s). Fix: ") +
                                tdsdiag::code_info(Code::SlowLogin).fix);
    }
    SECTION("a retransmission that cost too little to explain it") {
        // 0.2 s lost of a 4 s login: without it the login would still be slow.
        Run run(tls_login_sent() + std::initializer_list<Packet>{login_again(210), at(appdata(false), 4010)}, config());
        CHECK(diagnoses(run) == D{{11, {"slow_login"}}});
    }
    SECTION("loss before the login is not counted against it") {
        // The ClientHello sent again 3 s later, then a clean login answered after 2.5 s.
        Packet hello = at(client_hello(), 5);
        hello.tcp_seq = 77;
        Packet again = retrans(at(client_hello(), 3000));
        again.tcp_seq = 77;
        Packet login = at(appdata(true), 3010);
        login.tcp_seq = 5000;
        Run run({at(syn(), 1), at(synack(), 2), at(prelogin(1), 3), at(prelogin_response(1), 4), hello, again,
                 at(server_hello(), 3001), at(client_finished(), 3002), at(server_finished(), 3003), login,
                 at(appdata(false), 5510)},
                config());
        CHECK(diagnoses(run) == D{{11, {"slow_login"}}});
        CHECK(run.analyzer.find(0)->tcp().retransmission_wait_ns == 2995000000);
    }
}

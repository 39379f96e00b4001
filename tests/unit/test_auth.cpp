// Windows authentication: the SSPI blobs (NTLMSSP, Kerberos, SPNEGO), the SSPI round trips inside
// step 4, tdsdiag.conn.auth, anonymous_logon and ntlm_fallback.
#include "catch_compat.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "builders.hpp"
#include "tdsdiag/auth.hpp"

using namespace test;
using tdsdiag::AuthToken;
using tdsdiag::Code;
using tdsdiag::Mech;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, size_t v) {
    b[at] = static_cast<uint8_t>(v & 0xff);
    b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void put32(Bytes& b, size_t at, size_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}
Bytes utf16(const std::string& s) {
    Bytes b;
    for (char c : s) {
        b.push_back(static_cast<uint8_t>(c));
        b.push_back(0);
    }
    return b;
}

// An NTLMSSP message of `type`; AUTHENTICATE (3) with the domain and user given, Unicode.
Bytes ntlm(uint32_t type, const std::string& domain = "", const std::string& user = "") {
    Bytes b{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
    b.resize(72, 0);
    put32(b, 8, type);
    if (type != 3) return b;
    put32(b, 60, 0x00000001);  // NEGOTIATE_UNICODE
    const Bytes d = utf16(domain), u = utf16(user);
    put16(b, 28, d.size());
    put16(b, 30, d.size());
    put32(b, 32, b.size());
    b.insert(b.end(), d.begin(), d.end());
    put16(b, 36, u.size());
    put16(b, 38, u.size());
    put32(b, 40, b.size());
    b.insert(b.end(), u.begin(), u.end());
    return b;
}

const Bytes kOidSpnego{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
const Bytes kOidKrb5{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
const Bytes kOidNtlm{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
    return b;
}
Bytes tlv(uint8_t tag, const Bytes& v) {
    Bytes b{tag, static_cast<uint8_t>(v.size())};  // short lengths are enough here
    b.insert(b.end(), v.begin(), v.end());
    return b;
}

// SPNEGO NegTokenInit listing Kerberos then NTLMSSP, with an optimistic Kerberos token.
Bytes spnego_init_krb_ntlm() {
    const Bytes mechs = tlv(0xa0, tlv(0x30, cat({kOidKrb5, kOidNtlm})));
    const Bytes token = tlv(0xa2, tlv(0x04, cat({Bytes{0x60, 0x0d}, kOidKrb5, Bytes{0x01, 0x00}})));
    return tlv(0x60, cat({kOidSpnego, tlv(0xa0, tlv(0x30, cat({mechs, token})))}));
}
// SPNEGO NegTokenResp selecting `oid`, carrying `inner`.
Bytes spnego_resp(const Bytes& oid, const Bytes& inner) {
    Bytes body = cat({tlv(0xa0, Bytes{0x0a, 0x01, 0x01}), tlv(0xa1, oid)});
    if (!inner.empty()) body = cat({body, tlv(0xa2, tlv(0x04, inner))});
    return tlv(0xa1, tlv(0x30, body));
}

AuthToken parse(const Bytes& b) { return tdsdiag::parse_auth_token(b.data(), b.size()); }

bool has(const tdsdiag::FrameResult& r, Code c) {
    for (const auto& d : r.diagnoses)
        if (d.code == c) return true;
    return false;
}

// A frame carrying SSPI blobs.
Packet sspi(bool from_client, std::initializer_list<Bytes> blobs, bool only_sspi = true) {
    Packet p = tds(from_client, {from_client ? tdsdiag::kTdsSspi : tdsdiag::kTdsResponse});
    for (const Bytes& b : blobs) p.auth_tokens.push_back(parse(b));
    if (!from_client) p.sspi_only_response = only_sspi;
    return p;
}
Packet login7(int integrated, std::initializer_list<Bytes> blobs = {}) {
    Packet p = tds(true, {tdsdiag::kTdsLogin7});
    p.login7_integrated = integrated;
    for (const Bytes& b : blobs) p.auth_tokens.push_back(parse(b));
    return p;
}
std::vector<Packet> before_login() { return {syn(), synack(), ack(true), prelogin(2), prelogin_response(2)}; }

}  // namespace

TEST_CASE("NTLMSSP messages are recognised, and an AUTHENTICATE's user and domain read", "[auth]") {
    CHECK(parse(ntlm(1)).mech == Mech::Ntlm);
    CHECK(parse(ntlm(1)).ntlm_type == 1);
    const AuthToken a = parse(ntlm(3, "LAB", "alice"));
    REQUIRE(a.valid);
    CHECK(a.ntlm_type == 3);
    CHECK(a.ntlm_fields_read);
    CHECK(a.ntlm_domain == "LAB");
    CHECK(a.ntlm_user == "alice");
    SECTION("fields pointing outside the blob are not read") {
        Bytes bad = ntlm(3, "LAB", "alice");
        put32(bad, 40, 5000);
        CHECK_FALSE(parse(bad).ntlm_fields_read);
    }
    SECTION("garbage is not a token") {
        CHECK_FALSE(parse(Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9}).valid);
        CHECK_FALSE(tdsdiag::parse_auth_token(nullptr, 0).valid);
    }
}

TEST_CASE("A raw Kerberos token cut inside its OID is not read past its end", "[auth]") {
    // Found by the libFuzzer target: the mechanism OID was searched for a few bytes beyond the token.
    // Copied to a buffer of exactly its size so that the sanitized build catches any overread.
    const Bytes cut{0x60, 0x60, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7};
    std::unique_ptr<uint8_t[]> exact(new uint8_t[cut.size()]);
    std::copy(cut.begin(), cut.end(), exact.get());
    const AuthToken t = tdsdiag::parse_auth_token(exact.get(), cut.size());
    CHECK_FALSE(t.valid);
    CHECK(t.mech != tdsdiag::Mech::Kerberos);
}

TEST_CASE("SPNEGO: the client's offer and the server's choice are read", "[auth]") {
    const AuthToken init = parse(spnego_init_krb_ntlm());
    REQUIRE(init.valid);
    CHECK(init.spnego);
    CHECK(init.offers_kerberos);
    CHECK(init.offers_ntlm);
    CHECK(init.mech == Mech::Kerberos);
    const AuthToken resp = parse(spnego_resp(kOidNtlm, {}));
    REQUIRE(resp.valid);
    CHECK(resp.selected == Mech::Ntlm);
    const AuthToken resp2 = parse(spnego_resp(kOidNtlm, ntlm(2)));
    CHECK(resp2.mech == Mech::Ntlm);
    CHECK(resp2.ntlm_type == 2);
    CHECK(parse(spnego_resp(kOidKrb5, {})).selected == Mech::Kerberos);
    // A raw Kerberos GSS token (not SPNEGO).
    const AuthToken krb = parse(cat({Bytes{0x60, 0x20}, kOidKrb5, Bytes{0x01, 0x00, 0x6e, 0x00, 0x00, 0x00}}));
    CHECK(krb.valid);
    CHECK_FALSE(krb.spnego);
    CHECK(krb.mech == Mech::Kerberos);
}

TEST_CASE("The Login7's fIntSecurity and SSPI data, and a response's leading SSPI token, are located", "[auth]") {
    Bytes login(120, 0);
    login[25] = 0x80;
    put16(login, 78, 100);
    put16(login, 80, 20);
    bool integrated = false;
    size_t off = 0, len = 0;
    REQUIRE(tdsdiag::login7_sspi(login.data(), login.size(), integrated, off, len));
    CHECK(integrated);
    CHECK(off == 100);
    CHECK(len == 20);
    put16(login, 80, 40);  // past the end
    REQUIRE(tdsdiag::login7_sspi(login.data(), login.size(), integrated, off, len));
    CHECK(len == 0);
    // cchPassword (offset 46): 0 with Windows authentication; a fixed part cut short is not read.
    CHECK(tdsdiag::login7_password_chars(login.data(), login.size()) == 0);
    put16(login, 46, 8);
    CHECK(tdsdiag::login7_password_chars(login.data(), login.size()) == 8);
    CHECK(tdsdiag::login7_password_chars(login.data(), 47) == -1);
    CHECK(tdsdiag::login7_password_chars(nullptr, 0) == -1);

    Bytes resp{0xed, 0x04, 0x00, 1, 2, 3, 4};
    auto r = tdsdiag::scan_sspi_response(resp.data(), resp.size());
    CHECK(r.sspi_first);
    CHECK(r.length == 4);
    CHECK_FALSE(r.more_tokens);
    // The SSPI token followed by a LOGINACK and a DONE: a login response (Kerberos with mutual authentication).
    Bytes ack{0xad, 0x02, 0x00, 9, 9, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    resp.insert(resp.end(), ack.begin(), ack.end());
    r = tdsdiag::scan_sspi_response(resp.data(), resp.size());
    CHECK(r.more_tokens);
    CHECK(r.login_ack);
    const Bytes cut{0xed, 0x40, 0x00, 1};
    CHECK_FALSE(tdsdiag::scan_sspi_response(cut.data(), cut.size()).sspi_first);
}

TEST_CASE("An NTLM round trip stays in step 4 and the connection's auth is ntlm", "[auth]") {
    std::vector<Packet> f = before_login();
    f.push_back(login7(1, {ntlm(1)}));           // 6
    f.push_back(sspi(false, {ntlm(2)}));         // 7: the challenge
    f.push_back(sspi(true, {ntlm(3, "LAB", "alice")}));  // 8
    f.push_back(login_ack());                     // 9
    f.push_back(tds(true, {tdsdiag::kTdsSqlBatch}));  // 10
    Run run(f);
    CHECK(run.steps() == std::vector<int>{1, 1, 1, 2, 2, 4, 4, 4, 5, 6});
    const auto s = run.summary();
    CHECK(s.auth == "ntlm");
    CHECK(s.user == "LAB\\alice");
    CHECK(s.outcome == tdsdiag::Outcome::Connected);
    for (const auto& r : run.results) CHECK_FALSE(has(r, Code::AnonymousLogon));
}

TEST_CASE("An NTLM AUTHENTICATE with an empty user and domain is anonymous_logon", "[auth]") {
    std::vector<Packet> f = before_login();
    f.push_back(login7(1, {ntlm(1)}));
    f.push_back(sspi(false, {ntlm(2)}));
    SECTION("both empty") {
        f.push_back(sspi(true, {ntlm(3, "", "")}));
        Run run(f);
        REQUIRE(has(run.results[7], Code::AnonymousLogon));
        CHECK(run.results[7].diagnoses[0].text.size() <= tdsdiag::kMaxTextLength);
    }
    SECTION("a domain without a user is not anonymous") {
        f.push_back(sspi(true, {ntlm(3, "LAB", "")}));
        Run run(f);
        CHECK_FALSE(has(run.results[7], Code::AnonymousLogon));
    }
}

TEST_CASE("Kerberos offered and NTLM used is ntlm_fallback", "[auth]") {
    std::vector<Packet> f = before_login();
    f.push_back(login7(1, {spnego_init_krb_ntlm()}));  // 6
    SECTION("the server's SPNEGO answer selects NTLM") {
        f.push_back(sspi(false, {spnego_resp(kOidNtlm, {})}));  // 7
        f.push_back(sspi(true, {spnego_resp(kOidNtlm, ntlm(1))}));
        Run run(f);
        REQUIRE(has(run.results[6], Code::NtlmFallback));
        CHECK(run.results[6].diagnoses[0].text.size() <= tdsdiag::kMaxTextLength);
        CHECK(run.summary().auth == "ntlm");
        CHECK_FALSE(has(run.results[7], Code::NtlmFallback));  // once
    }
    SECTION("Kerberos accepted: no fallback, auth kerberos") {
        Packet resp = sspi(false, {spnego_resp(kOidKrb5, {})}, false);
        resp.login_ack = true;
        f.push_back(resp);
        Run run(f);
        for (const auto& r : run.results) CHECK_FALSE(has(r, Code::NtlmFallback));
        CHECK(run.summary().auth == "kerberos");
        CHECK(run.steps().back() == 5);
    }
}

TEST_CASE("The connection's auth is sql for a Login7 without fIntSecurity, federated with a token packet", "[auth]") {
    std::vector<Packet> f = before_login();
    SECTION("sql") {
        f.push_back(login7(0));
        CHECK(Run(f).summary().auth == "sql");
    }
    SECTION("federated") {
        f.push_back(login7(0));
        f.push_back(tds(true, {tdsdiag::kTdsFedAuthToken}));
        CHECK(Run(f).summary().auth == "federated");
    }
    SECTION("unknown when the Login7 is encrypted and no SSPI is seen") {
        f.push_back(appdata(true));
        CHECK(Run(f).summary().auth.empty());
    }
}

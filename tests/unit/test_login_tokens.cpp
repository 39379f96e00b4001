// The login response's tokens, read by their own lengths for every TDS version (walk_login_tokens).
#include "catch_compat.hpp"

#include <string>
#include <vector>

#include "tdsdiag/packet.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t n) {
    b.push_back(static_cast<uint8_t>(n));
    b.push_back(static_cast<uint8_t>(n >> 8));
}
void ucs2(Bytes& b, const std::string& s) {
    for (char c : s) {
        b.push_back(static_cast<uint8_t>(c));
        b.push_back(0);
    }
}
// A token with a 2-byte length: type, length, body.
Bytes token(uint8_t type, const Bytes& body) {
    Bytes t{type};
    put16(t, body.size());
    t.insert(t.end(), body.begin(), body.end());
    return t;
}
// An INFO (0xab) or ERROR (0xaa) token; TDS 7.1 has a 2-byte line number, 7.2 and later 4 bytes.
Bytes info(uint8_t type, uint32_t number, uint8_t state, uint8_t cls, const std::string& msg, bool tds71) {
    Bytes b{static_cast<uint8_t>(number), static_cast<uint8_t>(number >> 8), static_cast<uint8_t>(number >> 16),
            static_cast<uint8_t>(number >> 24), state, cls};
    put16(b, msg.size());
    ucs2(b, msg);
    b.push_back(3);
    ucs2(b, "SRV");
    b.push_back(0);  // no procedure
    b.insert(b.end(), tds71 ? 2 : 4, 0);  // line number
    return token(type, b);
}
Bytes envchange(uint8_t type, const std::string& value) {
    Bytes b{type, static_cast<uint8_t>(value.size())};
    ucs2(b, value);
    b.push_back(0);
    return token(0xe3, b);
}
Bytes loginack(uint8_t major) {
    Bytes b{1, major, 0, 0, static_cast<uint8_t>(major & 0x0f), 4};
    ucs2(b, "SQL ");
    b.insert(b.end(), {8, 0, 7, 0xf7});
    return token(0xad, b);
}
// DONE: status, current command, row count of 4 bytes (TDS 7.1 and older) or 8 (7.2 and later).
Bytes done(bool tds71, uint16_t status = 0) {
    Bytes b{0xfd, static_cast<uint8_t>(status), static_cast<uint8_t>(status >> 8), 0, 0};
    b.insert(b.end(), tds71 ? 4 : 8, 0);
    return b;
}
Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}

}  // namespace

TEST_CASE("A login response's tokens are walked by their own lengths in every TDS version", "[tokens]") {
    for (const bool tds71 : {true, false}) {
        const uint8_t major = tds71 ? 0x71 : 0x74;
        SECTION(tds71 ? "TDS 7.1: 2-byte INFO line numbers, 9-byte DONE" : "TDS 7.4: 4-byte line numbers, 13-byte DONE") {
            const Bytes ok = cat({envchange(1, "master"), info(0xab, 5701, 2, 0, "Changed database context", tds71),
                                  envchange(2, "us_english"), loginack(major), envchange(4, "4096"), done(tds71)});
            const auto t = tdsdiag::walk_login_tokens(ok.data(), ok.size());
            CHECK(t.complete);
            CHECK(t.login_ack);
            CHECK(t.tds_version == major);
            CHECK(t.tokens == 6);
            CHECK(t.errors.empty());  // an INFO is no error
            CHECK(t.envchange_types == std::vector<uint8_t>{1, 2, 4});

            // A refused login: ERROR then DONE with the error bit, no LOGINACK to tell the version.
            const Bytes refused = cat({info(0xaa, 18456, 8, 14, "Login failed for user 'sa'.", tds71), done(tds71, 2)});
            const auto r = tdsdiag::walk_login_tokens(refused.data(), refused.size());
            CHECK(r.complete);
            CHECK_FALSE(r.login_ack);
            REQUIRE(r.errors.size() == 1);
            CHECK(r.errors[0].number == 18456);
            CHECK(r.errors[0].state == 8);
            CHECK(r.errors[0].severity == 14);
            CHECK(r.errors[0].message == "Login failed for user 'sa'.");

            // DONEs in a row (DONEINPROC then DONE) before the version is known.
            Bytes two = cat({done(tds71), done(tds71)});
            two[0] = 0xff;
            CHECK(tdsdiag::walk_login_tokens(two.data(), two.size()).complete);
        }
    }
    SECTION("the walk stops, without reading past the end, at a token cut short or not of a login response") {
        const Bytes env = envchange(1, "master"), ack = loginack(0x74);
        const Bytes ok = cat({env, ack, done(false)});
        for (size_t n = 0; n < ok.size(); ++n) {
            const Bytes cut(ok.begin(), ok.begin() + static_cast<std::ptrdiff_t>(n));  // exact size: ASan sees an overread
            const auto t = tdsdiag::walk_login_tokens(cut.data(), cut.size());
            // Complete only where the cut falls between tokens; a DONE cut short after a 7.4 LOGINACK is no 7.1 one.
            const bool boundary = n == 0 || n == env.size() || n == env.size() + ack.size();
            CHECK(t.complete == boundary);
            CHECK(t.login_ack == (n >= env.size() + ack.size()));
        }
        const Bytes rows = cat({Bytes{0x81, 1, 0}, loginack(0x74)});  // COLMETADATA: not a login response
        const auto t = tdsdiag::walk_login_tokens(rows.data(), rows.size());
        CHECK_FALSE(t.complete);
        CHECK_FALSE(t.login_ack);
        CHECK(tdsdiag::walk_login_tokens(nullptr, 10).tokens == 0);
    }
    SECTION("FEATUREEXTACK and FEDAUTHINFO are skipped by their 4-byte lengths") {
        const Bytes ack = cat({loginack(0x74), Bytes{0xae, 0x01, 1, 0, 0, 0, 0x01, 0xff}, Bytes{0xee, 2, 0, 0, 0, 9, 9},
                               done(false)});
        const auto t = tdsdiag::walk_login_tokens(ack.data(), ack.size());
        CHECK(t.complete);
        CHECK(t.tokens == 4);
    }
}

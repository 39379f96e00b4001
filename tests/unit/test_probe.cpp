// The test that finds TDS on any port by the client's first message.
#include "catch_compat.hpp"

#include <random>
#include <string>
#include <vector>

#include "tdsdiag/tds_probe.hpp"

using tdsdiag::TdsStart;

namespace {
std::vector<uint8_t> hex(const std::string& s) {
    std::vector<uint8_t> v;
    for (size_t i = 0; i + 1 < s.size(); i += 2) v.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    return v;
}
TdsStart probe(const std::vector<uint8_t>& v) { return tdsdiag::probe_tds_start(v.data(), v.size()); }

// tsql's PRELOGIN (captures/login-only-tls.pcapng, frame 4) and its TDS 7.0 Login7 sent without one
// (captures/named-instance-dynamic-port-clear-login.pcapng, frame 4, first 128 bytes of 182).
const std::string kPrelogin =
    "1201003a0000000000001a00060100200001020021000c03002d00040400310001ff090000000000004d5353514c53657276657200c52f0000"
    "00";
const std::string kLogin7 =
    "100100b600000000ae00000000000070001000000683f2f88c1b000000000000e003000088ffffff36040000560002005a0002005e000c00"
    "760004007e0003000000000084000b009a000a00ae0000004e45bdef1471ae000000ae00000076006d007300610061a5b3a583a577a5a0"
    "a5b3a592a592a5d2a5a6a582a5e3a55400530051004c006c00610062005400440053002d004c00690062007200610072007900750073005f"
    "0065006e0067006c00690073006800";
}  // namespace

TEST_CASE("A client's whole PRELOGIN or its first Login7 packet is the start of TDS on any port", "[probe]") {
    CHECK(probe(hex(kPrelogin)) == TdsStart::Prelogin);
    auto login = hex(kLogin7);
    login.resize(0xb6, 0);  // the rest of the packet
    CHECK(probe(login) == TdsStart::Login7);
}

TEST_CASE("Anything else is not taken for TDS: other protocols, damaged headers, random bytes", "[probe]") {
    SECTION("other protocols") {
        const std::string http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
        CHECK(probe(std::vector<uint8_t>(http.begin(), http.end())) == TdsStart::None);
        CHECK(probe(hex("160301020001000200030301")) == TdsStart::None);  // a TLS ClientHello record
        CHECK(probe({}) == TdsStart::None);
    }
    SECTION("a prelogin with any header byte or its option list changed, or cut short") {
        const auto good = hex(kPrelogin);
        for (size_t i : {1u, 2u, 3u, 7u, 8u, 10u, 12u}) {
            auto bad = good;
            bad[i] = static_cast<uint8_t>(bad[i] ^ 0x40);
            CHECK(probe(bad) == TdsStart::None);
        }
        for (size_t n = 0; n < good.size(); ++n) CHECK(probe(std::vector<uint8_t>(good.begin(), good.begin() + n)) == TdsStart::None);
        auto longer = good;
        longer.push_back(0);  // a byte beyond the message: not a prelogin sent alone
        CHECK(probe(longer) == TdsStart::None);
    }
    SECTION("a Login7 with an unknown TDS version or a length that does not fit") {
        auto login = hex(kLogin7);
        login.resize(0xb6, 0);
        auto version = login;
        version[8 + 7] = 0x75;
        CHECK(probe(version) == TdsStart::None);
        auto length = login;
        length[8] = 0x10;
        CHECK(probe(length) == TdsStart::None);
        CHECK(probe(std::vector<uint8_t>(login.begin(), login.begin() + 60)) == TdsStart::None);
    }
    SECTION("a million random segments, half of them with a TDS type byte first") {
        std::mt19937 rng(42);
        int found = 0;
        std::vector<uint8_t> b;
        for (int i = 0; i < 1000000; ++i) {
            b.resize(8 + rng() % 200);
            for (auto& x : b) x = static_cast<uint8_t>(rng());
            if (i % 2) b[0] = i % 4 == 1 ? 0x12 : 0x10;
            found += probe(b) != TdsStart::None;
        }
        CHECK(found == 0);
    }
}

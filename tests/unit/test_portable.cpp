// What must come out the same on every system the core is built for (Linux, and Windows through
// MinGW-w64 under Wine in scripts/test-windows-core): printf conversions, certificate dates, and the
// stream table's large allocations.
#include "catch_compat.hpp"

#include <cinttypes>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tdsdiag/tcp_header.hpp"
#include "tdsdiag/text.hpp"
#include "tdsdiag/x509.hpp"

namespace {

// A DER element: tag, length (short or long form), contents.
std::vector<uint8_t> der(uint8_t tag, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> out{tag};
    if (body.size() < 0x80) {
        out.push_back(static_cast<uint8_t>(body.size()));
    } else {
        out.push_back(0x82);
        out.push_back(static_cast<uint8_t>(body.size() >> 8));
        out.push_back(static_cast<uint8_t>(body.size()));
    }
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// The smallest certificate parse_certificate reads: serial, signature algorithm, empty names, and the
// validity's two times as given (tag 0x17 UTCTime or 0x18 GeneralizedTime).
std::vector<uint8_t> cert_valid(uint8_t tag, const std::string& not_before, const std::string& not_after) {
    const std::vector<uint8_t> sha256_rsa = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
    const auto time = [tag](const std::string& s) { return der(tag, std::vector<uint8_t>(s.begin(), s.end())); };
    const auto tbs = der(0x30, cat({der(0x02, {0x07}), der(0x30, der(0x06, sha256_rsa)), der(0x30, {}),
                                    der(0x30, cat({time(not_before), time(not_after)})), der(0x30, {})}));
    return der(0x30, tbs);
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int month_days(int y, int m) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

TEST_CASE("printf conversions come out as C99 says, on every system", "[portable]") {
    // MinGW-w64's C++ mode uses its own C99 printf; Microsoft's old runtime had no %zu and printed
    // doubles' digits past the seventeenth as zeros.
    CHECK(tdsdiag::format("%zu suites", static_cast<size_t>(18)) == "18 suites");
    CHECK(tdsdiag::format("%zu", SIZE_MAX) == std::to_string(SIZE_MAX));
    CHECK(tdsdiag::format("%lld %lld", LLONG_MIN, LLONG_MAX) == "-9223372036854775808 9223372036854775807");
    CHECK(tdsdiag::format("%" PRId64 " %" PRIu64, INT64_MIN, UINT64_MAX) ==
          "-9223372036854775808 18446744073709551615");
    CHECK(tdsdiag::format("%u|%d|%02d|0x%04x|%s|%%", 4294967295u, -7, 5, 0x2fu, "x") ==
          "4294967295|-7|05|0x002f|x|%");
    CHECK(tdsdiag::format("%.20f", 0.1) == "0.10000000000000000555");
    CHECK(tdsdiag::format("%.3f", 1.0005) == "1.000");  // 1.000499999999999944... in binary
    CHECK(tdsdiag::format("%.2f", 2.675) == "2.67");    // 2.674999999999999822...
    CHECK(tdsdiag::format("%.3f", 0.0625) == "0.062");  // a tie rounds to even
    CHECK(tdsdiag::format("%.*f", 2, 1e21) == "1000000000000000000000.00");
    CHECK(tdsdiag::format("%.3f", -0.0) == "-0.000");
    CHECK(tdsdiag::seconds(1500000000) == "1.500 s");
    CHECK(tdsdiag::seconds(-2500000) == "-0.003 s");
    CHECK(tdsdiag::fixed(1.0005, 3) == "1.000");
    CHECK(tdsdiag::fixed(2.675, 2) == "2.67");
    CHECK(tdsdiag::fixed(123456.789, 1) == "123456.8");
}

TEST_CASE("A formatted text longer than the limit is cut at it", "[portable]") {
    const std::string long_text(3000, 'a');
    const std::string s = tdsdiag::format("%s and more", long_text.c_str());
    CHECK(s.size() == tdsdiag::kMaxFormatted);
    CHECK(s == std::string(tdsdiag::kMaxFormatted, 'a'));
}

TEST_CASE("Certificate dates are formatted over the whole range a certificate can hold", "[portable][x509]") {
    CHECK(tdsdiag::format_utc(0) == "1970-01-01 00:00:00 UTC");
    CHECK(tdsdiag::format_utc(-1) == "1969-12-31 23:59:59 UTC");
    CHECK(tdsdiag::format_utc(951827696) == "2000-02-29 12:34:56 UTC");
    CHECK(tdsdiag::format_utc(-631152000) == "1950-01-01 00:00:00 UTC");
    CHECK(tdsdiag::format_utc(4107542400) == "2100-03-01 00:00:00 UTC");
    CHECK(tdsdiag::format_utc(-11670912001) == "1600-02-29 23:59:59 UTC");
    CHECK(tdsdiag::format_utc(253402300799) == "9999-12-31 23:59:59 UTC");  // past Windows' gmtime
    CHECK(tdsdiag::format_utc(-62167219200) == "0-01-01 00:00:00 UTC");     // the year as %Y writes it
    CHECK(tdsdiag::format_utc(253402300800) == "?");
    CHECK(tdsdiag::format_utc(-62167219201) == "?");
    CHECK(tdsdiag::format_utc(INT64_MIN) == "?");
    CHECK(tdsdiag::format_utc(INT64_MAX) == "?");

    SECTION("every day from the year 0 to 9999, against a day-by-day calendar") {
        int64_t t = -62167219200;
        size_t wrong = 0;
        char want[48];
        for (int y = 0; y <= 9999; ++y)
            for (int m = 1; m <= 12; ++m)
                for (int d = 1; d <= month_days(y, m); ++d, t += 86400) {
                    const int64_t s = (t / 86400 * 7919) % 86400;  // a different time of day each day
                    const int64_t at = t + (s < 0 ? s + 86400 : s);
                    const int64_t sod = at - t;
                    std::snprintf(want, sizeof want, "%d-%02d-%02d %02d:%02d:%02d UTC", y, m, d,
                                  static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                                  static_cast<int>(sod % 60));
                    if (tdsdiag::format_utc(at) != want && ++wrong <= 5) FAIL_CHECK(at << " is not " << want);
                }
        CHECK(wrong == 0);
        CHECK(t == 253402300800);
    }
}

TEST_CASE("A certificate's validity reads back as written, UTCTime and GeneralizedTime", "[portable][x509]") {
    SECTION("GeneralizedTime up to the year 9999") {
        const auto der = cert_valid(0x18, "16000229000000Z", "99991231235959Z");
        const auto info = tdsdiag::parse_certificate(der.data(), der.size());
        REQUIRE(info);
        CHECK(tdsdiag::format_utc(info->not_before) == "1600-02-29 00:00:00 UTC");
        CHECK(tdsdiag::format_utc(info->not_after) == "9999-12-31 23:59:59 UTC");
    }
    SECTION("UTCTime's two-digit years, 1950 to 2049") {
        const auto der = cert_valid(0x17, "500101000000Z", "491231235959Z");
        const auto info = tdsdiag::parse_certificate(der.data(), der.size());
        REQUIRE(info);
        CHECK(tdsdiag::format_utc(info->not_before) == "1950-01-01 00:00:00 UTC");
        CHECK(tdsdiag::format_utc(info->not_after) == "2049-12-31 23:59:59 UTC");
    }
    SECTION("the first of each month of many years") {
        char nb[16], na[16], want[32];
        for (int y = 1601; y <= 9999; y += 37)
            for (int m = 1; m <= 12; ++m) {
                std::snprintf(nb, sizeof nb, "%04d%02d01000000Z", y, m);
                std::snprintf(na, sizeof na, "%04d%02d%02d235958Z", y, m, month_days(y, m));
                const auto der = cert_valid(0x18, nb, na);
                const auto info = tdsdiag::parse_certificate(der.data(), der.size());
                REQUIRE(info);
                std::snprintf(want, sizeof want, "%d-%02d-%02d 23:59:58 UTC", y, m, month_days(y, m));
                CHECK(tdsdiag::format_utc(info->not_after) == want);
                CHECK(info->not_after - info->not_before == month_days(y, m) * int64_t{86400} - 2);
            }
    }
}

TEST_CASE("The stream table's large slot arrays are allocated, grown and released", "[portable][tcp_header]") {
    // From 2 MB on the slots come from the system's pages (VirtualAlloc on Windows, aligned_alloc
    // elsewhere): the table grows through that size both ways, and every entry stays found.
    tdsdiag::StreamTable table;
    const uint32_t n = 300000;  // 2^20 IPv4 slots of 16 bytes: 16 MB
    const uint8_t server[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (uint32_t i = 0; i < n; ++i) {
        const uint8_t v4[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 1};
        v6[13] = static_cast<uint8_t>(i >> 16), v6[14] = static_cast<uint8_t>(i >> 8), v6[15] = static_cast<uint8_t>(i);
        REQUIRE(table.set(tdsdiag::TcpTuple::of(v4, server, 4, 40000, 1433), i));
        REQUIRE(table.set(tdsdiag::TcpTuple::of(v6, server, 16, 40000, 1433), n + i));
    }
    CHECK(table.size() == 2 * n);
    CHECK(table.memory() >= (size_t{2} << 20));
    size_t missing = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const uint8_t v4[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 1};
        v6[13] = static_cast<uint8_t>(i >> 16), v6[14] = static_cast<uint8_t>(i >> 8), v6[15] = static_cast<uint8_t>(i);
        uint32_t s4 = 0, s6 = 0;
        if (!table.find(tdsdiag::TcpTuple::of(server, v4, 4, 1433, 40000), s4) || s4 != i) ++missing;
        if (!table.find(tdsdiag::TcpTuple::of(server, v6, 16, 1433, 40000), s6) || s6 != n + i) ++missing;
    }
    CHECK(missing == 0);
}

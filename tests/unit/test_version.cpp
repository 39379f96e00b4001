// The PRELOGIN VERSION option and what it tells: the server's release and build, its TLS 1.2 support
// (KB3135244), the client's library and version; and the texts of the login errors users meet most.
#include "catch_compat.hpp"

#include <cstring>
#include <sstream>
#include <utility>

#include "builders.hpp"
#include "tdsdiag/report.hpp"
#include "tdsdiag/version.hpp"

using namespace test;
using Bytes = std::vector<uint8_t>;
using tdsdiag::Code;
using tdsdiag::ProductVersion;
using tdsdiag::Support;

namespace {

// A PRELOGIN of VERSION (with `version` as its data, whatever its length) and ENCRYPTION.
Bytes prelogin_bytes(const Bytes& version) {
    const auto n = static_cast<uint8_t>(version.size());
    Bytes b{0x00, 0, 11, 0, n, 0x01, 0, static_cast<uint8_t>(11 + n), 0, 1, 0xff};
    for (uint8_t x : version) b.push_back(x);
    b.push_back(0x00);
    return b;
}

ProductVersion v(uint8_t major, uint8_t minor, uint16_t build) { return ProductVersion{major, minor, build, 0}; }

Packet with_version(Packet p, ProductVersion ver) {
    p.prelogin_version = tdsdiag::pack_version(ver);
    return p;
}

// The login_failed text and detail of a cleartext login answered by ERROR `number` with `state`.
std::pair<std::string, std::string> login_failed(uint32_t number, uint8_t state) {
    Run run({syn(), synack(), prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}),
             login_error(number, state), fin(false), fin(true)},
            tdsdiag::Config{});
    for (const auto& d : run.results.at(5).diagnoses)
        if (d.code == Code::LoginFailed) return {d.text, d.detail};
    return {};
}

const tdsdiag::Diagnosis* find(const Run& run, int frame, Code code) {
    for (const auto& d : run.results.at(static_cast<size_t>(frame - 1)).diagnoses)
        if (d.code == code) return &d;
    return nullptr;
}

}  // namespace

TEST_CASE("The VERSION option of a PRELOGIN is read whole, bounded, and only when it is there", "[version]") {
    SECTION("six bytes: major, minor, build (big-endian) and sub-build") {
        const Bytes b = prelogin_bytes({15, 0, 0x10, 0x1b, 0x00, 0x02});
        Packet p;
        REQUIRE(tdsdiag::parse_prelogin(b.data(), b.size(), p));
        const ProductVersion r = tdsdiag::unpack_version(p.prelogin_version);
        CHECK(r.major == 15);
        CHECK(r.minor == 0);
        CHECK(r.build == 4123);
        CHECK(r.subbuild == 2);
        CHECK(p.prelogin_encryption == 0);
        CHECK(tdsdiag::server_version_text(r) == "SQL Server 2019 (15.0.4123)");
        CHECK(tdsdiag::version_number_text(r) == "15.0.4123.2");
    }
    SECTION("four bytes: no sub-build") {
        const Bytes b = prelogin_bytes({10, 50, 0x19, 0x8e});
        Packet p;
        REQUIRE(tdsdiag::parse_prelogin(b.data(), b.size(), p));
        CHECK(tdsdiag::server_version_text(tdsdiag::unpack_version(p.prelogin_version)) == "SQL Server 2008 R2 (10.50.6542)");
    }
    SECTION("fewer than four bytes is no version, the other options still count") {
        const size_t n = GENERATE(0, 1, 2, 3);
        const Bytes b = prelogin_bytes(Bytes(n, 0x0f));
        Packet p;
        REQUIRE(tdsdiag::parse_prelogin(b.data(), b.size(), p));
        CHECK(p.prelogin_version == -1);
        CHECK(p.prelogin_encryption == 0);
    }
    SECTION("an option whose data runs past the message is refused, version and all") {
        Bytes b = prelogin_bytes({16, 0, 0x03, 0xe8, 0, 6});
        b[4] = 40;  // VERSION claims 40 bytes
        Packet p;
        CHECK_FALSE(tdsdiag::parse_prelogin(b.data(), b.size(), p));
        CHECK(p.prelogin_version == -1);
        CHECK_FALSE(tdsdiag::parse_prelogin(b.data(), 8, p));  // cut inside the token list
        CHECK(p.prelogin_version == -1);
    }
    SECTION("the option reader alone never reads past its length") {
        const uint8_t data[6] = {9, 0, 0x05, 0x7f, 0, 0};
        ProductVersion r;
        CHECK_FALSE(tdsdiag::parse_version_option(data, 3, r));
        CHECK_FALSE(tdsdiag::parse_version_option(nullptr, 6, r));
        REQUIRE(tdsdiag::parse_version_option(data, 5, r));
        CHECK(r.build == 1407);
        CHECK(r.subbuild == 0);
    }
    SECTION("pack and unpack are each other's inverse, -1 is none") {
        const ProductVersion r{255, 255, 65535, 65535};
        const ProductVersion back = tdsdiag::unpack_version(tdsdiag::pack_version(r));
        CHECK(back.major == 255);
        CHECK(back.minor == 255);
        CHECK(back.build == 65535);
        CHECK(back.subbuild == 65535);
        CHECK(tdsdiag::pack_version(r) >= 0);
        CHECK(tdsdiag::unpack_version(-1).major == 0);
    }
}

TEST_CASE("Release names follow the major version (and 10.50 for 2008 R2)", "[version]") {
    CHECK(std::string(tdsdiag::release_name(v(8, 0, 194))) == "SQL Server 2000");
    CHECK(std::string(tdsdiag::release_name(v(9, 0, 1399))) == "SQL Server 2005");
    CHECK(std::string(tdsdiag::release_name(v(10, 0, 1600))) == "SQL Server 2008");
    CHECK(std::string(tdsdiag::release_name(v(10, 50, 1600))) == "SQL Server 2008 R2");
    CHECK(std::string(tdsdiag::release_name(v(11, 0, 2100))) == "SQL Server 2012");
    CHECK(std::string(tdsdiag::release_name(v(12, 0, 2000))) == "SQL Server 2014");
    CHECK(std::string(tdsdiag::release_name(v(13, 0, 1601))) == "SQL Server 2016");
    CHECK(std::string(tdsdiag::release_name(v(14, 0, 1000))) == "SQL Server 2017");
    CHECK(std::string(tdsdiag::release_name(v(15, 0, 2000))) == "SQL Server 2019");
    CHECK(std::string(tdsdiag::release_name(v(16, 0, 1000))) == "SQL Server 2022");
    CHECK(std::string(tdsdiag::release_name(v(17, 0, 800))) == "SQL Server 2025");
    CHECK(std::string(tdsdiag::release_name(v(42, 1, 2))).empty());
    CHECK(tdsdiag::server_version_text(v(42, 1, 2)) == "SQL Server (42.1.2)");
}

TEST_CASE("TLS 1.2 support per build follows Microsoft's table of first builds (KB3135244)", "[version]") {
    struct Case {
        ProductVersion ver;
        Support want;
    };
    const Case cases[] = {
        {v(8, 0, 2039), Support::No},       {v(9, 0, 5324), Support::No},
        {v(10, 0, 5500), Support::No},      {v(10, 0, 5545), Support::Yes},  // 2008 SP3 GDR (IA-64)
        {v(10, 0, 5890), Support::No},      {v(10, 0, 5896), Support::Yes},  // 2008 SP3 CU (IA-64)
        {v(10, 0, 6000), Support::No},      {v(10, 0, 6547), Support::Yes},  // 2008 SP4
        {v(10, 50, 1600), Support::No},     {v(10, 50, 4047), Support::Yes},
        {v(10, 50, 6000), Support::No},     {v(10, 50, 6542), Support::Yes}, {v(10, 50, 6560), Support::Yes},
        {v(11, 0, 2100), Support::No},      {v(11, 0, 5058), Support::No},   {v(11, 0, 5352), Support::Yes},
        {v(11, 0, 5532), Support::No},      {v(11, 0, 5644), Support::Yes},  {v(11, 0, 6020), Support::No},
        {v(11, 0, 6216), Support::Yes},     {v(11, 0, 6518), Support::Yes},  {v(11, 0, 7001), Support::Yes},
        {v(12, 0, 2000), Support::No},      {v(12, 0, 2271), Support::Yes},  {v(12, 0, 2342), Support::No},
        {v(12, 0, 2564), Support::Yes},     {v(12, 0, 4100), Support::No},   {v(12, 0, 4219), Support::Yes},
        {v(12, 0, 4436), Support::No},      {v(12, 0, 4439), Support::Yes},  {v(12, 0, 5000), Support::Yes},
        {v(13, 0, 1601), Support::Yes},     {v(16, 0, 1000), Support::Yes},  {v(17, 0, 800), Support::Yes},
        {v(6, 50, 201), Support::Unknown},  {v(99, 0, 1), Support::Unknown},
    };
    for (const Case& c : cases) {
        INFO(tdsdiag::server_version_text(c.ver));
        CHECK(tdsdiag::tls12_support(c.ver) == c.want);
    }
    CHECK(tdsdiag::first_tls12_build(v(12, 0, 4100)) == 4219);
    CHECK(tdsdiag::first_tls12_build(v(11, 0, 5058)) == 5352);
    CHECK(tdsdiag::first_tls12_build(v(10, 0, 5500)) == 0);  // IA-64 only: x86/x64 need SP4
    CHECK(tdsdiag::first_tls12_build(v(15, 0, 2000)) == 0);
}

TEST_CASE("TDS 8.0 (strict) needs SQL Server 2022 or later", "[version]") {
    CHECK_FALSE(tdsdiag::supports_tds8(v(15, 0, 4123)));
    CHECK(tdsdiag::supports_tds8(v(16, 0, 1000)));
    CHECK(tdsdiag::supports_tds8(v(17, 0, 800)));
}

TEST_CASE("The connection's summary, CSV row and summary page name both sides' versions", "[version]") {
    Packet login = tds(true, {tdsdiag::kTdsLogin7});
    login.login_library = "DB-Library";
    login.login_user = "sa";
    Run run({syn(), synack(), with_version(prelogin(2), ProductVersion{7, 4, 0, 0}),
             with_version(prelogin_response(2), ProductVersion{16, 0, 1000, 6}), login, login_ack()},
            tdsdiag::Config{});
    const tdsdiag::Summary s = run.summary(true);
    CHECK(s.server_version == "SQL Server 2022 (16.0.1000)");
    CHECK(s.client_version == "DB-Library (7.4.0)");
    const auto rows = tdsdiag::make_rows(run.analyzer, 0, nullptr);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].server_version == "SQL Server 2022 (16.0.1000)");
    const std::string csv = tdsdiag::csv_table(rows);
    const std::string header = csv.substr(0, csv.find('\n'));
    // failed_step, start_time, the packet sizes, dns_name and dns_time_ms came after them
    const std::string tail =
        ",server_version,client_version,failed_step,start_time,packet_size_asked,packet_size_granted,dns_name,dns_time_ms";
    CHECK(header.size() > tail.size());
    CHECK(header.compare(header.size() - tail.size(), tail.size(), tail) == 0);
    CHECK(csv.find(",SQL Server 2022 (16.0.1000),DB-Library (7.4.0),," + rows[0].start_time + ",,,,\n") !=
          std::string::npos);  // connected: no failed_step; no packet sizes or DNS in these packets
    CHECK(rows[0].start_time.size() == 27);  // 2026-01-31T23:59:59.123456Z
    std::istringstream in(csv);
    std::vector<tdsdiag::Row> back;
    std::string error;
    REQUIRE(tdsdiag::parse_csv(in, back, error));
    REQUIRE(back.size() == 1);
    CHECK(back[0].client_version == "DB-Library (7.4.0)");
    const std::string page = tdsdiag::summary_page(rows);
    CHECK(page.find("; version SQL Server 2022 (16.0.1000); clients DB-Library (7.4.0)") != std::string::npos);

    SECTION("without a library name or a client version, what there is") {
        Run only({syn(), synack(), prelogin(2), with_version(prelogin_response(2), v(8, 0, 194))}, tdsdiag::Config{});
        CHECK(only.summary(true).server_version == "SQL Server 2000 (8.0.194)");
        CHECK(only.summary(true).client_version.empty());
    }
    SECTION("a version in a client frame that is no PRELOGIN is not the client's") {
        Packet stray = tds(true, {tdsdiag::kTdsSqlBatch});
        stray.prelogin_version = tdsdiag::pack_version(v(1, 2, 3));
        Run other({syn(), synack(), prelogin(2), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}), login_ack(), stray},
                  tdsdiag::Config{});
        CHECK(other.summary(true).client_version.empty());
    }
}

TEST_CASE("no_common_tls_version names a server build without TLS 1.2", "[version]") {
    // The client offers TLS 1.2 and 1.3 only; the server chooses TLS 1.0 and the client closes.
    auto frames = [](ProductVersion server) {
        Packet hello = client_hello();
        hello.tls_supported_versions = {0x0304, 0x0303};
        return std::vector<Packet>{syn(), synack(), ack(true), prelogin(0), with_version(prelogin_response(0), server),
                                   hello, server_hello(0x0301), fin(true)};
    };
    SECTION("SQL Server 2014 SP1 before its TLS 1.2 update") {
        Run run(frames(v(12, 0, 4100)), tdsdiag::Config{});
        const auto* d = find(run, 8, Code::NoCommonTlsVersion);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("The server, SQL Server 2014 (12.0.4100), lacks TLS 1.2.") != std::string::npos);
        const std::string fix = "Fix: Update SQL Server to a build with TLS 1.2.";
        CHECK(d->text.compare(d->text.size() - fix.size(), fix.size(), fix) == 0);  // the text ends with the fix
        CHECK(d->detail.find("from build 12.0.4219 on") != std::string::npos);
        CHECK(d->text.size() <= tdsdiag::kMaxTextLength);
    }
    SECTION("a build with TLS 1.2: likely disabled on the server") {
        Run run(frames(v(15, 0, 4123)), tdsdiag::Config{});
        const auto* d = find(run, 8, Code::NoCommonTlsVersion);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("The server, SQL Server 2019 (15.0.4123), has TLS 1.2: likely disabled there.") !=
              std::string::npos);
        const std::string fix = "Fix: Enable TLS 1.2 on the server.";
        CHECK(d->text.compare(d->text.size() - fix.size(), fix.size(), fix) == 0);
    }
    SECTION("a 2008 SP3 build (TLS 1.2 only for IA-64 in its branch): the detail points to a later service pack") {
        Run run(frames(v(10, 0, 5500)), tdsdiag::Config{});
        const auto* d = find(run, 8, Code::NoCommonTlsVersion);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("SQL Server 2008 (10.0.5500), lacks TLS 1.2") != std::string::npos);
        CHECK(d->detail.find("a later service pack") != std::string::npos);
    }
    SECTION("no server version: the text is as before") {
        auto f = frames(v(15, 0, 4123));
        f[4].prelogin_version = -1;
        Run run(f, tdsdiag::Config{});
        const auto* d = find(run, 8, Code::NoCommonTlsVersion);
        REQUIRE(d != nullptr);
        CHECK(d->text.find("The server,") == std::string::npos);
    }
}

TEST_CASE("Each login error users meet most has its meaning and fix in the login_failed text", "[version][login]") {
    const uint32_t numbers[] = {4060,  18401, 18452, 18470, 18486, 18487, 18488, 17809, 40197, 40501,
                                40532, 40613, 40615, 10928, 10929, 42108, 42109, 47072, 47073};
    for (uint32_t n : numbers) {
        INFO("error " << n);
        const tdsdiag::LoginErrorInfo* info = tdsdiag::login_error_info(n);
        REQUIRE(info != nullptr);
        REQUIRE(std::strlen(info->meaning) > 10);
        REQUIRE(std::strlen(info->fix) > 10);
        CHECK(info->fix[std::strlen(info->fix) - 1] == '.');  // a full sentence
        const auto [text, detail] = login_failed(n, 255);
        REQUIRE(!text.empty());
        CHECK(text.size() <= tdsdiag::kMaxTextLength);
        CHECK(text.find("error " + std::to_string(n) + ", state 255") != std::string::npos);
        CHECK(text.find(std::string("It means ") + info->meaning + ".") != std::string::npos);
        // The text ends with the fix, whatever the state (the server's long message moves to the detail).
        const std::string fix = std::string("Fix: ") + info->fix;
        CHECK(text.size() >= fix.size());
        CHECK(text.compare(text.size() - fix.size(), fix.size(), fix) == 0);
        CHECK(detail.find("Login failed for user 'sa'.") != std::string::npos);
    }
    SECTION("the table is in number order, each number once") {
        size_t count = 0;
        const tdsdiag::LoginErrorInfo* all = tdsdiag::login_errors(count);
        REQUIRE(count >= 19);
        for (size_t i = 1; i < count; ++i) CHECK(all[i - 1].number < all[i].number);
    }
    SECTION("18456 keeps its state's meaning and no fix of its own") {
        const std::string text = login_failed(18456, 8).first;
        CHECK(text.find("password is wrong") != std::string::npos);
        CHECK(text.find("Fix:") == std::string::npos);
    }
    SECTION("a number outside the table says where to look") {
        CHECK(login_failed(12345, 1).first.find("error log") != std::string::npos);
    }
}

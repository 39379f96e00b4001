// The per-connection table of the statistics tap.
#include "catch_compat.hpp"

#include <cstdio>
#include <cstring>
#include <sstream>

#include "builders.hpp"
#include "tdsdiag/report.hpp"
#include "tdsdiag/text.hpp"

using namespace test;

TEST_CASE("The connection table has one row per connection with its steps' durations", "[report]") {
    auto second = [](Packet p) {
        p.stream = 1;
        if (p.src_port == kClientPort) p.src_port = kClientPort + 1;
        if (p.dst_port == kClientPort) p.dst_port = kClientPort + 1;
        return p;
    };
    Run run({syn(), synack(), ack(true), prelogin(2), second(syn()), prelogin_response(2), tds(true, {tdsdiag::kTdsLogin7}),
             second(rst(false)), login_ack(), tds(true, {tdsdiag::kTdsSqlBatch}), fin(true), fin(false)});
    auto rows = tdsdiag::make_rows(run.analyzer, 10000000, nullptr);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].stream == 0);
    CHECK(rows[0].client == "10.10.10.10:50000");
    CHECK(rows[0].server == "10.10.10.120:1433");
    CHECK(rows[0].outcome == "connected");
    CHECK(rows[0].encryption == "none");
    REQUIRE(rows[0].step_ms[1]);
    CHECK(*rows[0].step_ms[1] == Approx(30.0));  // SYN at 10 ms, prelogin at 40 ms
    CHECK(!rows[0].step_ms[3]);                   // no TLS
    CHECK(rows[0].diagnoses == std::vector<std::string>{"cleartext_login"});
    CHECK(rows[1].stream == 1);
    CHECK(rows[1].start_s == Approx(0.04));
    CHECK(rows[1].outcome == "failed");
    CHECK(rows[1].diagnoses == std::vector<std::string>{"syn_rejected"});

    SECTION("the filter keeps the connections it names") {
        std::set<uint32_t> only{1};
        CHECK(tdsdiag::make_rows(run.analyzer, 0, &only).size() == 1);
    }
    SECTION("the CSV form has a header and one line per connection") {
        const std::string csv = tdsdiag::csv_table(rows);
        CHECK(csv.rfind("stream,client,server,start_s,last_step,", 0) == 0);
        CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
        CHECK(csv.find("1,10.10.10.10:50001,10.10.10.120:1433,0.040000,7,") != std::string::npos);
    }
    SECTION("the CSV reads back, also merged with a file column and a repeated header") {
        std::string csv = tdsdiag::csv_table(rows);
        std::string merged;
        std::istringstream lines(csv);
        std::string line;
        bool first = true;
        while (std::getline(lines, line)) {
            merged += (first ? "file," : "\"a,b.pcap\",") + line + "\n";
            first = false;
        }
        std::vector<tdsdiag::Row> back;
        std::string error;
        std::istringstream m(merged);
        REQUIRE(tdsdiag::parse_csv(m, back, error));
        REQUIRE(back.size() == 2);
        CHECK(back[1].outcome == "failed");
        CHECK(back[1].diagnoses == rows[1].diagnoses);
        CHECK(back[0].step_ms[1] == rows[0].step_ms[1]);
        CHECK(tdsdiag::summary_page(back) == tdsdiag::summary_page(rows));
        std::istringstream junk("hello,world\n1,2\n");
        back.clear();
        CHECK(!tdsdiag::parse_csv(junk, back, error));
        CHECK(error.find("line 1") != std::string::npos);
    }
    SECTION("a table the summary cannot use names the missing column, and adds no row") {
        std::vector<tdsdiag::Row> back;
        std::string error;
        for (const char* column : {"outcome", "diagnoses", "server"}) {
            std::string csv = tdsdiag::csv_table(rows);
            const size_t at = csv.find(std::string(",") + column + ",");
            REQUIRE(at != std::string::npos);
            csv.replace(at + 1, std::strlen(column), "other");
            std::istringstream in(csv);
            CHECK(!tdsdiag::parse_csv(in, back, error));
            CHECK(error.rfind("line 1: the header has no column " + std::string(column) + " (", 0) == 0);
        }
        // A good header, then a bad row: none of the table's rows is kept.
        std::istringstream cut(tdsdiag::csv_table(rows) + "1,2\n");
        CHECK(!tdsdiag::parse_csv(cut, back, error));
        CHECK(error.find("line 4: 2 fields") == 0);
        CHECK(back.empty());
        std::istringstream empty("\n\n");
        CHECK(!tdsdiag::parse_csv(empty, back, error));
        CHECK(error.rfind("empty", 0) == 0);
        std::istringstream header_only(tdsdiag::csv_header());
        CHECK(tdsdiag::parse_csv(header_only, back, error));
        CHECK(back.empty());
    }
    SECTION("numbers out of range in a CSV are left unset, not cast") {
        // Found by the libFuzzer target: a last_step of 1e300 was cast to int (undefined behaviour).
        std::string csv = tdsdiag::csv_table({rows[1]});
        const std::string good = "1,10.10.10.10:50001,10.10.10.120:1433,0.040000,7,";
        REQUIRE(csv.find(good) != std::string::npos);
        for (const char* bad : {"1e300,10.10.10.10:50001,10.10.10.120:1433,0.040000,1e300,",
                                "-1,10.10.10.10:50001,10.10.10.120:1433,0.040000,nan,",
                                "2.5,10.10.10.10:50001,10.10.10.120:1433,inf,8,"}) {
            std::string odd = csv;
            odd.replace(odd.find(good), good.size(), bad);
            std::istringstream in(odd);
            std::vector<tdsdiag::Row> back;
            std::string error;
            REQUIRE(tdsdiag::parse_csv(in, back, error));
            REQUIRE(back.size() == 1);
            CHECK(back[0].stream == 0);
            CHECK(!back[0].last_step);
        }
    }
    SECTION("the summary counts outcomes and diagnoses with their fix") {
        const std::string page = tdsdiag::summary_page(rows);
        CHECK(page.find("connected: 1") != std::string::npos);
        CHECK(page.find("failed: 1") != std::string::npos);
        CHECK(page.find("syn_rejected: 1 - fix: ") != std::string::npos);
        CHECK(rows[1].failed_step == tdsdiag::Step::TcpHandshake);
        CHECK(page.find("Failed connections by step (the step in progress when each ended)\n  1 TCP handshake: 1\n") !=
              std::string::npos);
        // A table of an older plugin, without failed_step: its failures counted apart.
        tdsdiag::Row old = rows[1];
        old.failed_step.reset();
        CHECK(tdsdiag::summary_page({old}).find("  step not known (a table without failed_step): 1\n") !=
              std::string::npos);
    }
}

TEST_CASE("The aligned table pads each column to its widest cell, also for cells no row should carry",
          "[report]") {
    tdsdiag::Row a, b;
    a.stream = 7;
    a.client = "10.0.0.1:5000";
    a.server = "10.0.0.2:1433";
    a.outcome = "connected";
    b = a;
    b.stream = 12345;
    b.client = std::string("odd\0name", 8);  // a '\0' would end the cell early in the kept text
    b.step_ms[2] = 1.25;
    b.failed_step = tdsdiag::Step::Prelogin;
    b.diagnoses = {"syn_rejected", "slow_accept"};
    const std::string t = tdsdiag::conv_table({a, b});
    std::istringstream in(t);
    std::string title, header, l1, l2;
    REQUIRE(std::getline(in, title));
    REQUIRE(std::getline(in, header));
    REQUIRE(std::getline(in, l1));
    REQUIRE(std::getline(in, l2));
    CHECK(title == "SQL Server connections (tdsdiag): 2");
    CHECK(header.rfind("stream  client         server", 0) == 0);
    CHECK(header.find("  last  failed  s1_ms  ") != std::string::npos);
    CHECK(l1.rfind("7       10.0.0.1:5000  10.0.0.2:1433  0.000    -     -       -      -      ", 0) == 0);
    CHECK(l2.rfind("12345   odd?name       10.0.0.2:1433  0.000    -     2       -      1.2    ", 0) == 0);
    CHECK(l2.substr(l2.size() - 24) == "syn_rejected,slow_accept");
    CHECK(l1.substr(l1.size() - 12) == "connected  -");
    CHECK(std::count(t.begin(), t.end(), '\n') == 4);
}

TEST_CASE("The CSV, its reading back and the Statistics menu's cells come from one list of columns", "[report]") {
    tdsdiag::Row r;
    r.stream = 3;
    r.client = "a,\"b\"";  // quoted in the CSV
    r.server = "s:1433";
    r.start_s = 1.5;
    r.last_step = tdsdiag::Step::Login;
    r.step_ms[1] = 2.3;
    r.step_ms[4] = 0.44;
    r.encryption = "full";
    r.tls_version = "TLS 1.2";
    r.cipher = "X";
    r.close_by = "client";
    r.close_kind = "rst";
    r.outcome = "failed";
    r.diagnoses = {"x", "y"};
    r.cert_signature = "sha1";
    r.server_version = "SQL Server 2019 (15.0.4123)";
    r.client_version = "ODBC, (17.10.1)";  // quoted in the CSV
    r.failed_step = tdsdiag::Step::Login;
    r.start_time = "2026-01-31T23:59:59.123456Z";
    r.packet_size_asked = 4096;
    r.packet_size_granted = 8000;
    r.dns_name = "sql.lab.test";
    r.dns_time_ms = 5021.0936;
    const std::string line = tdsdiag::csv_line(r);
    // New columns only at the end: the others keep their places.
    CHECK(line == "3,\"a,\"\"b\"\"\",s:1433,1.500000,4,2.300,,,0.440,,,,full,TLS 1.2,X,client,rst,failed,x y,sha1,,,,,"
                  "SQL Server 2019 (15.0.4123),\"ODBC, (17.10.1)\",4,2026-01-31T23:59:59.123456Z,4096,8000,sql.lab.test,5021.094\n");
    std::istringstream in(tdsdiag::csv_header() + line);
    std::vector<tdsdiag::Row> back;
    std::string error;
    REQUIRE(tdsdiag::parse_csv(in, back, error));
    REQUIRE(back.size() == 1);
    CHECK(tdsdiag::csv_line(back[0]) == line);
    CHECK(back[0].client == r.client);
    CHECK(back[0].diagnoses == r.diagnoses);
    CHECK(back[0].dns_name == "sql.lab.test");
    REQUIRE(back[0].dns_time_ms);
    CHECK(*back[0].dns_time_ms == Approx(5021.094));
    CHECK(back[0].client_version == r.client_version);
    CHECK(back[0].failed_step == tdsdiag::Step::Login);
    CHECK(back[0].packet_size_asked == 4096u);
    CHECK(back[0].packet_size_granted == 8000u);

    std::vector<std::string> titles;
    for (const auto& c : tdsdiag::gui_columns()) titles.emplace_back(c.title);
    CHECK(titles == std::vector<std::string>{"Stream", "Client", "Server", "Start (s)", "Last step", "Failed in step",
                                             "Step 1-7 (ms)", "Encryption", "TLS", "Cipher suite", "Close", "Outcome",
                                             "Diagnoses"});
    const auto cells = tdsdiag::gui_cells(r);
    REQUIRE(cells.size() == titles.size());
    CHECK(cells[0].whole == 3);
    CHECK(cells[1].text == r.client);
    CHECK(cells[3].decimal == 1.5);
    CHECK(cells[4].whole == 4);
    CHECK(cells[5].text == "4");
    CHECK(cells[6].text == "2.3 - - 0.4 - - -");
    CHECK(cells[10].text == "client rst");
    CHECK(cells[12].text == "x, y");
    CHECK(tdsdiag::gui_cells(tdsdiag::Row{})[10].text.empty());  // no close: an empty cell
    CHECK(tdsdiag::gui_cells(tdsdiag::Row{})[5].text.empty());   // not failed: no step
}

TEST_CASE("Fixed-point numbers read as printf writes them, ties and large values included", "[report]") {
    auto printf_fixed = [](double v, int d) {
        char buf[512];
        std::snprintf(buf, sizeof buf, "%.*f", d, v);
        return std::string(buf);
    };
    SECTION("chosen values") {
        auto [v, d] = GENERATE(table<double, int>({{0.0, 1}, {-0.0, 1}, {0.05, 1}, {0.15, 1}, {0.25, 1}, {2.675, 2},
                                                   {1.0005, 3}, {9.95, 1}, {9.96, 1}, {99.999, 2}, {-0.04, 1},
                                                   {-1.25, 1}, {123456.7894999, 3}, {1e12, 3}, {1099511.6277755, 6},
                                                   {1e300, 1}, {-1e20, 6}, {0.5, 0}, {1.5, 0}, {2.5, 0}, {7, 9}}));
        CAPTURE(v, d);
        CHECK(tdsdiag::fixed(v, d) == printf_fixed(v, d));
    }
    SECTION("times from whole nanoseconds and microseconds, as the rows make them") {
        uint64_t x = 88172645463325252ull;  // xorshift: deterministic
        for (int i = 0; i < 200000; ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const int64_t ns = static_cast<int64_t>(x % 4000000000000ull) * ((i % 3 == 0) ? 1000 : 1) / ((i % 5) + 1);
            for (const auto& [v, d] : {std::pair<double, int>(static_cast<double>(ns) / 1e6, 1),
                                       {static_cast<double>(ns) / 1e6, 3}, {static_cast<double>(ns) / 1e9, 3},
                                       {static_cast<double>(ns) / 1e9, 6}}) {
                if (tdsdiag::fixed(v, d) != printf_fixed(v, d)) FAIL(v << " with " << d << " decimals");
            }
        }
    }
}

TEST_CASE("A table of thousands of rows keeps every row, in order, aligned across its chunks of kept cells",
          "[report]") {
    tdsdiag::ConvTable table;
    constexpr uint32_t kRows = 3000;  // about 150 bytes a row: several 64 KB chunks
    for (uint32_t i = 0; i < kRows; ++i) {
        tdsdiag::Row r;
        r.stream = i;
        r.client = "10.20." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":" + std::to_string(1024 + i);
        r.server = "10.10.10.120:1433";
        r.outcome = "connected";
        r.diagnoses.assign(i % 4, "weak_cert_hash");  // rows of different lengths
        table.add(r);
    }
    CHECK(table.size() == kRows);
    std::vector<std::string> lines;
    table.write([&](const std::string& line) { lines.push_back(line); });
    REQUIRE(lines.size() == kRows + 2);
    const size_t server_at = lines[1].find("server");
    REQUIRE(server_at != std::string::npos);
    size_t wrong = 0;
    for (uint32_t i = 0; i < kRows; ++i) {
        const std::string& l = lines[i + 2];
        const std::string stream = std::to_string(i) + " ";
        if (l.compare(0, stream.size(), stream) != 0 || l.compare(server_at, 17, "10.10.10.120:1433") != 0 ||
            l.find(":" + std::to_string(1024 + i) + " ") == std::string::npos || l.back() != '\n')
            ++wrong;
    }
    CHECK(wrong == 0);
}

TEST_CASE("The connection rate counts a client's busiest second and its average over its span", "[report]") {
    SECTION("one connection has a peak of one and no average") {
        const tdsdiag::ClientRate cr = tdsdiag::client_rate({5.0});
        CHECK(cr.connections == 1);
        CHECK(cr.peak_per_s == 1);
        CHECK(cr.average_per_s == 0);
    }
    SECTION("the peak window is half open, a start 1 s later falls in the next window") {
        const tdsdiag::ClientRate cr = tdsdiag::client_rate({3.0, 0.0, 0.5, 0.9, 1.0, 2.0});
        CHECK(cr.peak_per_s == 3);  // 0.0, 0.5, 0.9 (and 0.5, 0.9, 1.0)
        CHECK(cr.span_s == Approx(3.0));
        CHECK(cr.average_per_s == Approx(5.0 / 3.0));
    }
    SECTION("addresses lose their port, also in brackets") {
        CHECK(tdsdiag::address_of("10.0.0.1:5000") == "10.0.0.1");
        CHECK(tdsdiag::address_of("[fe80::1]:5000") == "fe80::1");
        CHECK(tdsdiag::address_of("fe80::1") == "fe80::1");
    }
}

TEST_CASE("The summary warns of likely port exhaustion only where a client sustains more than TIME_WAIT allows",
          "[report]") {
    std::vector<tdsdiag::Row> rows;
    auto add = [&](const std::string& client, double t) {
        tdsdiag::Row r;
        r.client = client;
        r.server = "10.0.0.2:1433";
        r.start_s = t;
        r.outcome = "connected";
        rows.push_back(r);
    };
    for (int i = 0; i < 200; ++i) add("10.0.0.1:" + std::to_string(40000 + i), i / 128.0);  // 128/s, exact in binary
    for (int i = 0; i < 20; ++i) add("10.0.0.3:" + std::to_string(40000 + i), i / 8.0);     // 8/s
    const std::string page = tdsdiag::summary_page(rows);
    CHECK(page.find("10.0.0.1: 200 connection(s), peak 128/s, average 128.0/s over 1.6 s") != std::string::npos);
    CHECK(page.find("warning: 10.0.0.1 opens 128.0 connections/s") != std::string::npos);
    CHECK(page.find("10.0.0.3: 20 connection(s), peak 8/s") != std::string::npos);
    CHECK(page.find("warning: 10.0.0.3") == std::string::npos);
}

TEST_CASE("The summary's Servers section groups the addresses of one DNS name, and abandoned attempts are no failures",
          "[report]") {
    std::vector<tdsdiag::Row> rows;
    auto add = [&](const std::string& server, const std::string& name, const std::string& outcome) {
        tdsdiag::Row r;
        r.stream = static_cast<uint32_t>(rows.size());
        r.client = "10.0.0.1:" + std::to_string(40000 + rows.size());
        r.server = server;
        r.dns_name = name;
        r.outcome = outcome;
        if (outcome == "failed") r.failed_step = tdsdiag::Step::TcpHandshake;
        if (outcome == "connected") r.tls_version = "TLS 1.2";
        if (outcome == "abandoned") r.diagnoses = {"parallel_attempt"};
        rows.push_back(r);
    };
    add("10.0.0.20:1433", "sql.lab.test", "connected");
    add("10.0.0.21:1433", "sql.lab.test", "abandoned");
    add("10.0.0.20:1433", "sql.lab.test", "connected");
    add("10.0.0.21:1433", "sql.lab.test", "failed");
    add("10.0.0.20:1433", "", "failed");  // the same address, its name not seen: apart, as before
    add("10.0.0.30:1433", "other.lab.test", "abandoned");
    const std::string page = tdsdiag::summary_page(rows);
    const size_t servers = page.find("\nServers\n");
    REQUIRE(servers != std::string::npos);
    const std::string section = page.substr(servers, page.find("\nClients") - servers);
    CHECK(section ==
          "\nServers\n"
          "  10.0.0.20:1433: 1 connection(s), 1 failed\n"
          "  other.lab.test (DNS name, 1 address(es)): 1 connection(s), 0 failed, 1 abandoned\n"
          "    10.0.0.30:1433: 1 connection(s), 0 failed, 1 abandoned\n"
          "  sql.lab.test (DNS name, 2 address(es)): 4 connection(s), 1 failed, 1 abandoned\n"
          "    10.0.0.20:1433: 2 connection(s), 0 failed; TLS TLS 1.2\n"
          "    10.0.0.21:1433: 2 connection(s), 1 failed, 1 abandoned\n");
    // Abandoned is an outcome of its own, not among the failed connections by step.
    CHECK(page.find("Outcomes\n  abandoned: 2\n  connected: 2\n  failed: 2\n") != std::string::npos);
    CHECK(page.find("Failed connections by step (the step in progress when each ended)\n  1 TCP handshake: 2\n\n") !=
          std::string::npos);

    SECTION("a table of an earlier release, without dns_name, reads and keeps its servers ungrouped") {
        std::string csv = tdsdiag::csv_table(rows);
        // Drop the last two columns (dns_name, dns_time_ms), as tables before issue 31 lack them.
        std::string old;
        std::istringstream lines(csv);
        std::string line;
        while (std::getline(lines, line)) {
            for (int k = 0; k < 2; ++k) line.erase(line.rfind(','));
            old += line + "\n";
        }
        const std::string header = old.substr(0, old.find('\n'));
        REQUIRE(header.size() > 20);
        REQUIRE(header.compare(header.size() - 20, 20, ",packet_size_granted") == 0);
        std::istringstream in(old);
        std::vector<tdsdiag::Row> back;
        std::string error;
        REQUIRE(tdsdiag::parse_csv(in, back, error));
        REQUIRE(back.size() == rows.size());
        const std::string flat = tdsdiag::summary_page(back);
        CHECK(flat.find("DNS name") == std::string::npos);
        CHECK(flat.find("  10.0.0.20:1433: 3 connection(s), 1 failed; TLS TLS 1.2\n") != std::string::npos);
        CHECK(flat.find("  10.0.0.21:1433: 2 connection(s), 1 failed, 1 abandoned\n") != std::string::npos);
        // With the column, the table reads back to the same page.
        std::istringstream full(csv);
        back.clear();
        REQUIRE(tdsdiag::parse_csv(full, back, error));
        CHECK(tdsdiag::summary_page(back) == page);
    }
}

TEST_CASE("Browser lookups over UDP do not count toward a client's TCP connection rate", "[report]") {
    tdsdiag::Row lookup;
    lookup.client = "10.0.0.1:50000";
    lookup.server = "10.0.0.2:1434/udp";
    const std::string page = tdsdiag::summary_page({lookup});
    CHECK(page.find("Clients (connections per second)\n  none\n") != std::string::npos);
}

TEST_CASE("start_time is the UTC civil time of the start, in microseconds, across leap years and before 1970",
          "[report]") {
    CHECK(tdsdiag::utc_time(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(tdsdiag::utc_time(951782400000000000LL + 123456789) == "2000-02-29T00:00:00.123456Z");  // leap day of a 400-year
    CHECK(tdsdiag::utc_time(4107542399999999000LL) == "2100-02-28T23:59:59.999999Z");              // 2100: no leap day
    CHECK(tdsdiag::utc_time(4107542400000000000LL) == "2100-03-01T00:00:00.000000Z");
    CHECK(tdsdiag::utc_time(1798761599500000000LL) == "2026-12-31T23:59:59.500000Z");
    CHECK(tdsdiag::utc_time(-1000) == "1969-12-31T23:59:59.999999Z");  // a clock never set
}

TEST_CASE("The batch's file column is read into the row; start_time goes out and back", "[report]") {
    std::istringstream in("file,stream,server,outcome,diagnoses,start_time\n"
                          "\"a,b.pcapng\",3,10.0.0.2:1433,failed,syn_rejected,2026-12-07T16:27:16.000001Z\n");
    std::vector<tdsdiag::Row> rows;
    std::string error;
    REQUIRE(tdsdiag::parse_csv(in, rows, error));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].file == "a,b.pcapng");
    CHECK(rows[0].start_time == "2026-12-07T16:27:16.000001Z");
    CHECK(tdsdiag::csv_line(rows[0]).find(",2026-12-07T16:27:16.000001Z,,,,\n") != std::string::npos);
}

TEST_CASE("A summary's text values are formatted once, for the tdsdiag.conn fields and the report rows alike",
          "[report]") {
    tdsdiag::Summary s;
    tdsdiag::Config config;
    // Nothing known: every text empty (the fields then add no item, the rows leave the cell empty).
    tdsdiag::SummaryText t = tdsdiag::summary_text(s, config);
    CHECK(t.outcome.empty());
    CHECK(t.encryption.empty());
    CHECK(t.tls_version.empty());
    CHECK(t.cipher.empty());
    CHECK(t.close_by.empty());
    CHECK(t.close_kind.empty());
    CHECK(t.capture_point.empty());

    s.outcome = tdsdiag::Outcome::LoginFailed;
    s.encryption = tdsdiag::Encryption::Full;
    s.tls_version = 0x0303;
    s.cipher = 0xc030;
    s.close_by = tdsdiag::Side::Server;
    s.close_kind = tdsdiag::CloseKind::Rst;
    s.capture_point = tdsdiag::Side::Client;
    t = tdsdiag::summary_text(s, config);
    CHECK(t.outcome == "login_failed");
    CHECK(t.encryption == "full");
    CHECK(t.tls_version == "TLS 1.2");
    CHECK(t.cipher == "0xc030");  // no name without Config::cipher_name
    CHECK(t.close_by == "server");
    CHECK(t.close_kind == "rst");
    CHECK(t.capture_point == "client");
    config.cipher_name = [](uint16_t suite) -> const char* {
        return suite == 0xc030 ? "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" : nullptr;
    };
    CHECK(tdsdiag::summary_text(s, config).cipher == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
}

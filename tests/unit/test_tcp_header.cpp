// find_tcp_header(): a frame's TCP header found in its bytes; TcpTuple: a connection's name;
// StreamTable: its stream number.
#include "catch_compat.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "tdsdiag/tcp_header.hpp"

using tdsdiag::TcpHeaderAt;
using tdsdiag::TcpTuple;
using Bytes = std::vector<uint8_t>;

namespace {

const uint8_t kSrc4[4] = {10, 0, 0, 1};
const uint8_t kDst4[4] = {10, 0, 0, 2};
const uint8_t kSrc6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t kDst6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

// A TCP header (data offset `words`, options zero) with the given flags.
Bytes tcp(uint16_t sport, uint16_t dport, uint16_t flags, int words = 5, uint32_t ack = 0, uint16_t window = 0) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    b.insert(b.end(), 4, 0);  // sequence number
    put16(b, static_cast<uint16_t>(ack >> 16));
    put16(b, static_cast<uint16_t>(ack));
    put16(b, static_cast<uint16_t>(words << 12 | flags));
    put16(b, window);
    b.insert(b.end(), 4, 0);  // checksum, urgent pointer
    b.insert(b.end(), static_cast<size_t>(words - 5) * 4, 1);
    return b;
}

Bytes ipv4(const uint8_t* src, const uint8_t* dst, uint8_t proto, const Bytes& payload, uint16_t frag = 0,
           bool zero_length = false) {
    Bytes b = {0x45, 0};
    put16(b, zero_length ? 0 : static_cast<uint16_t>(20 + payload.size()));
    b.insert(b.end(), {0, 0});
    put16(b, frag);
    b.insert(b.end(), {64, proto, 0, 0});
    b.insert(b.end(), src, src + 4);
    b.insert(b.end(), dst, dst + 4);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes ipv6(const uint8_t* src, const uint8_t* dst, uint8_t next, const Bytes& payload, bool zero_length = false) {
    Bytes b = {0x60, 0, 0, 0};
    put16(b, zero_length ? 0 : static_cast<uint16_t>(payload.size()));
    b.insert(b.end(), {next, 64});
    b.insert(b.end(), src, src + 16);
    b.insert(b.end(), dst, dst + 16);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes ethernet(const Bytes& ip, uint16_t type, int vlan_tags = 0) {
    Bytes b(12, 0xaa);
    for (int i = 0; i < vlan_tags; ++i) b.insert(b.end(), {0x81, 0x00, 0x00, 0x64});
    put16(b, type);
    b.insert(b.end(), ip.begin(), ip.end());
    return b;
}

Bytes with_payload(Bytes seg, size_t n) {
    seg.insert(seg.end(), n, 0x42);
    return seg;
}

bool find(const Bytes& f, const uint8_t* src, const uint8_t* dst, size_t alen, TcpHeaderAt& h, size_t captured = SIZE_MAX,
          uint16_t sport = 50000, uint16_t dport = 1433) {
    if (captured > f.size()) captured = f.size();
    return tdsdiag::find_tcp_header(f.data(), captured, f.size(), src, dst, alen, sport, dport, h);
}

}  // namespace

TEST_CASE("The TCP header is found after the frame's IP header, whatever comes before it", "[tcp_header]") {
    TcpHeaderAt h;
    SECTION("Ethernet, IPv4: flags, header length and payload length") {
        const Bytes f = ethernet(ipv4(kSrc4, kDst4, 6, with_payload(tcp(50000, 1433, 0x018, 8), 100)), 0x0800);
        REQUIRE(find(f, kSrc4, kDst4, 4, h));
        CHECK(h.offset == 34);
        CHECK(h.flags == 0x018);
        CHECK(h.header_len == 32);
        CHECK(h.payload == 100);
    }
    SECTION("two VLAN tags, and an Ethernet trailer the IP length leaves out") {
        Bytes f = ethernet(ipv4(kSrc4, kDst4, 6, tcp(50000, 1433, 0x012)), 0x0800, 2);
        f.insert(f.end(), 6, 0);  // padding to the minimum frame size
        REQUIRE(find(f, kSrc4, kDst4, 4, h));
        CHECK(h.offset == 42);
        CHECK(h.flags == 0x012);
        CHECK(h.payload == 0);
    }
    SECTION("a raw IP frame") {
        const Bytes f = ipv4(kSrc4, kDst4, 6, tcp(50000, 1433, 0x002));
        REQUIRE(find(f, kSrc4, kDst4, 4, h));
        CHECK(h.offset == 20);
    }
    SECTION("a tunnel: the outer IPv4 header has other addresses, the inner one is the frame's") {
        const uint8_t outer_src[4] = {192, 168, 1, 1}, outer_dst[4] = {192, 168, 1, 2};
        const Bytes inner = ipv4(kSrc4, kDst4, 6, with_payload(tcp(50000, 1433, 0x018), 10));
        Bytes gre = {0, 0, 0x08, 0x00};
        gre.insert(gre.end(), inner.begin(), inner.end());
        const Bytes f = ethernet(ipv4(outer_src, outer_dst, 47, gre), 0x0800);
        REQUIRE(find(f, kSrc4, kDst4, 4, h));
        CHECK(h.offset == 14 + 20 + 4 + 20);
        CHECK(h.payload == 10);
    }
    SECTION("segmentation offload: an IPv4 total length of 0 leaves the payload to the frame's length") {
        const Bytes f = ethernet(ipv4(kSrc4, kDst4, 6, with_payload(tcp(50000, 1433, 0x018), 3000), 0, true), 0x0800);
        REQUIRE(find(f, kSrc4, kDst4, 4, h));
        CHECK(h.payload == 3000);
    }
    SECTION("IPv6 with hop-by-hop, destination options and a first fragment header") {
        Bytes ext = {60, 0, 1, 4, 0, 0, 0, 0};                       // hop-by-hop, next: destination options
        ext.insert(ext.end(), {44, 1, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // 16 bytes, next: fragment
        ext.insert(ext.end(), {6, 0, 0, 1, 0, 0, 0, 7});            // fragment offset 0, more fragments
        const Bytes seg = with_payload(tcp(50000, 1433, 0x018), 20);
        ext.insert(ext.end(), seg.begin(), seg.end());
        const Bytes f = ethernet(ipv6(kSrc6, kDst6, 0, ext), 0x86dd);
        REQUIRE(find(f, kSrc6, kDst6, 16, h));
        CHECK(h.offset == 14 + 40 + 8 + 16 + 8);
        CHECK(h.payload == 20);
    }
    SECTION("an IPv6 jumbogram or offloaded segment (payload length 0)") {
        const Bytes f = ethernet(ipv6(kSrc6, kDst6, 6, with_payload(tcp(50000, 1433, 0x010), 70), true), 0x86dd);
        REQUIRE(find(f, kSrc6, kDst6, 16, h));
        CHECK(h.payload == 70);
    }
}

TEST_CASE("No TCP header is found where the frame cannot hold the segment's", "[tcp_header]") {
    TcpHeaderAt h;
    const Bytes good = ethernet(ipv4(kSrc4, kDst4, 6, with_payload(tcp(50000, 1433, 0x018), 10)), 0x0800);
    SECTION("other ports, addresses or direction") {
        CHECK_FALSE(find(good, kSrc4, kDst4, 4, h, SIZE_MAX, 50001, 1433));
        CHECK_FALSE(find(good, kDst4, kSrc4, 4, h, SIZE_MAX, 1433, 50000));
        CHECK_FALSE(find(good, kSrc6, kDst6, 16, h));
    }
    SECTION("a later IPv4 fragment") {
        const Bytes f = ethernet(ipv4(kSrc4, kDst4, 6, tcp(50000, 1433, 0x018), 0x00b9), 0x0800);
        CHECK_FALSE(find(f, kSrc4, kDst4, 4, h));
    }
    SECTION("a later IPv6 fragment") {
        Bytes ext = {6, 0, 0x05, 0x91, 0, 0, 0, 7};
        const Bytes seg = tcp(50000, 1433, 0x018);
        ext.insert(ext.end(), seg.begin(), seg.end());
        CHECK_FALSE(find(ethernet(ipv6(kSrc6, kDst6, 44, ext), 0x86dd), kSrc6, kDst6, 16, h));
    }
    SECTION("an IP protocol other than TCP") {
        CHECK_FALSE(find(ethernet(ipv4(kSrc4, kDst4, 17, tcp(50000, 1433, 0)), 0x0800), kSrc4, kDst4, 4, h));
    }
    SECTION("a header length below 20 bytes gives no payload length") {
        Bytes f = good;
        f[14 + 20 + 12] = 0x40;
        REQUIRE(find(f, kSrc4, kDst4, 4, h));
        CHECK(h.payload == -1);
    }
    SECTION("cut short anywhere before the TCP header's 20 bytes; found from there on") {
        const size_t cut = GENERATE(range<size_t>(0, 80));
        const bool found = find(good, kSrc4, kDst4, 4, h, cut);
        CHECK(found == (cut >= 14 + 20 + 20));
    }
}

TEST_CASE("A connection's tuple is the same in both directions and differs by port", "[tcp_header]") {
    const TcpTuple a = TcpTuple::of(kSrc4, kDst4, 4, 50000, 1433);
    const TcpTuple b = TcpTuple::of(kDst4, kSrc4, 4, 1433, 50000);
    CHECK(a == b);
    CHECK(tdsdiag::TcpTupleHash{}(a) == tdsdiag::TcpTupleHash{}(b));
    CHECK_FALSE(a == TcpTuple::of(kSrc4, kDst4, 4, 50001, 1433));
    CHECK_FALSE(a == TcpTuple::of(kSrc4, kSrc4, 4, 50000, 1433));
    SECTION("on one address, the ports tell the sides apart") {
        CHECK(TcpTuple::of(kSrc4, kSrc4, 4, 1433, 50000) == TcpTuple::of(kSrc4, kSrc4, 4, 50000, 1433));
        CHECK_FALSE(TcpTuple::of(kSrc4, kSrc4, 4, 1433, 50000) == TcpTuple::of(kSrc4, kSrc4, 4, 1433, 50001));
    }
    SECTION("IPv6") {
        CHECK(TcpTuple::of(kSrc6, kDst6, 16, 1, 2) == TcpTuple::of(kDst6, kSrc6, 16, 2, 1));
        CHECK_FALSE(TcpTuple::of(kSrc6, kDst6, 16, 1, 2) == TcpTuple::of(kSrc6, kSrc6, 16, 1, 2));
    }
}

TEST_CASE("Connections that differ in one address byte or one port spread over a table's buckets", "[tcp_header]") {
    // 4,096 clients (sequential addresses and ports, as a bench corpus or a busy server has them)
    // into 1,024 buckets: a poor hash puts them in a few.
    std::vector<int> buckets(1024, 0);
    for (int i = 0; i < 4096; ++i) {
        const uint8_t client[4] = {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        const TcpTuple t = TcpTuple::of(client, kDst4, 4, static_cast<uint16_t>(40000 + i % 7), 1433);
        ++buckets[tdsdiag::TcpTupleHash{}(t) % buckets.size()];
    }
    int used = 0, fullest = 0;
    for (int n : buckets) {
        used += n > 0;
        fullest = std::max(fullest, n);
    }
    CHECK(used > 950);    // about 1,000 of 1,024 for a uniform hash
    CHECK(fullest <= 14);  // the expected fullest of 4 per bucket on average
}

TEST_CASE("The stream table finds each connection it was given, from either side, and takes a new stream on set",
          "[tcp_header]") {
    tdsdiag::StreamTable table;
    uint32_t stream = 12345;
    CHECK_FALSE(table.find(TcpTuple::of(kSrc4, kDst4, 4, 50000, 1433), stream));
    CHECK(stream == 12345);  // untouched when not found
    // 100,000 clients (the table grows many times), IPv4 and IPv6, streams numbered as they come.
    constexpr uint32_t kClients = 100000;
    auto client4 = [](uint32_t i) {
        return TcpTuple::of(std::array<uint8_t, 4>{10, 20, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}.data(),
                            kDst4, 4, static_cast<uint16_t>(1024 + i % 60000), 1433);
    };
    auto client6 = [](uint32_t i) {
        uint8_t a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(i >> 16), 0,
                         static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        return TcpTuple::of(a, kDst6, 16, static_cast<uint16_t>(i), 1433);
    };
    for (uint32_t i = 0; i < kClients; ++i) {
        REQUIRE(table.set(client4(i), 2 * i));
        REQUIRE(table.set(client6(i), 2 * i + 1));
    }
    CHECK(table.size() == 2 * kClients);
    uint32_t wrong = 0;
    for (uint32_t i = 0; i < kClients; ++i) {
        uint32_t s4 = 0, s6 = 0;
        const TcpTuple back4 = TcpTuple::of(kDst4, std::array<uint8_t, 4>{10, 20, static_cast<uint8_t>(i >> 8),
                                                                          static_cast<uint8_t>(i)}.data(),
                                            4, 1433, static_cast<uint16_t>(1024 + i % 60000));
        if (!table.find(back4, s4) || s4 != 2 * i || !table.find(client6(i), s6) || s6 != 2 * i + 1) ++wrong;
    }
    CHECK(wrong == 0);
    SECTION("another port or address is another connection") {
        CHECK_FALSE(table.find(TcpTuple::of(kSrc4, kDst4, 4, 50000, 1433), stream));
        CHECK_FALSE(table.find(TcpTuple::of(kSrc6, kDst6, 16, 50000, 1434), stream));
    }
    SECTION("a SYN on a known tuple records the new stream in place, also where it was just looked up") {
        REQUIRE(table.find(client4(7), stream));  // now in the copy of recent slots too
        CHECK(stream == 14);
        REQUIRE(table.set(client4(7), 999999));
        CHECK(table.size() == 2 * kClients);
        REQUIRE(table.find(client4(7), stream));
        CHECK(stream == 999999);
    }
    SECTION("stream 0 is a stream; 0xFFFFFFFF is refused, not recorded") {
        tdsdiag::StreamTable t;
        REQUIRE(t.set(client4(1), 0));
        REQUIRE(t.find(client4(1), stream));
        CHECK(stream == 0);
        CHECK_FALSE(t.set(client4(2), UINT32_MAX));
        CHECK_FALSE(t.find(client4(2), stream));
        CHECK(t.size() == 1);
    }
}

TEST_CASE("The TCP header's acknowledgment number and window are read as sent", "[tcp_header]") {
    const uint8_t a[4] = {10, 0, 0, 1}, c[4] = {10, 0, 0, 2};
    for (uint16_t window : {uint16_t(0), uint16_t(0x1f2e)}) {
        SECTION(window == 0 ? "a zero window" : "a nonzero window") {
            Bytes f(14, 0);
            const Bytes ip = ipv4(a, c, 6, tcp(1433, 50000, 0x010, 5, 0xa1b2c3d4u, window));
            f.insert(f.end(), ip.begin(), ip.end());
            tdsdiag::TcpHeaderAt h;
            REQUIRE(tdsdiag::find_tcp_header(f.data(), f.size(), f.size(), a, c, 4, 1433, 50000, h));
            CHECK(h.ack == 0xa1b2c3d4u);
            CHECK(h.window == window);
            CHECK(h.flags == 0x010);
        }
    }
}

// Readers of packet bytes: the TLS hello messages (Wireshark is asked only where each handshake message
// starts: versions, cipher suites, supported_versions and ALPN, as its TLS dissector shows them) and the
// PRELOGIN options.
#include "catch_compat.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tdsdiag/packet.hpp"
#include "tdsdiag/version.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, unsigned v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

Bytes extension(unsigned type, const Bytes& data) {
    Bytes b;
    put16(b, type);
    put16(b, static_cast<unsigned>(data.size()));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

Bytes alpn(const std::string& name) {
    Bytes d;
    put16(d, static_cast<unsigned>(name.size() + 1));
    d.push_back(static_cast<uint8_t>(name.size()));
    d.insert(d.end(), name.begin(), name.end());
    return extension(16, d);
}

Bytes with_extensions(Bytes b, const std::vector<Bytes>& exts) {
    Bytes all;
    for (const Bytes& e : exts) all.insert(all.end(), e.begin(), e.end());
    put16(b, static_cast<unsigned>(all.size()));
    b.insert(b.end(), all.begin(), all.end());
    return b;
}

Bytes hello_head(unsigned version) {
    Bytes b;
    put16(b, version);
    b.insert(b.end(), 32, 0xab);  // random
    b.push_back(0);               // no session id
    return b;
}

Bytes client_hello() {
    Bytes b = hello_head(0x0303);
    put16(b, 6);
    put16(b, 0x1301);
    put16(b, 0xc02f);
    put16(b, 0x009e);
    b.push_back(1);
    b.push_back(0);  // null compression
    return with_extensions(b, {extension(43, {4, 0x03, 0x04, 0x03, 0x03}), alpn("tds/8.0")});
}

// Parses from a buffer of exactly the given size, so that the sanitized build catches any overread.
tdsdiag::Packet parse(uint8_t type, const Bytes& b, size_t len) {
    std::unique_ptr<uint8_t[]> exact(new uint8_t[len ? len : 1]);
    std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(len), exact.get());
    tdsdiag::Packet p;
    tdsdiag::parse_tls_hello(type, exact.get(), len, p);
    return p;
}

}  // namespace

TEST_CASE("A ClientHello gives its version, offered suites, supported versions and ALPN", "[tls]") {
    const Bytes b = client_hello();
    const tdsdiag::Packet p = parse(tdsdiag::kHsClientHello, b, b.size());
    CHECK(p.tls_handshake_versions == std::vector<uint16_t>{0x0303});
    CHECK(p.tls_cipher_suites == std::vector<uint16_t>{0x1301, 0xc02f, 0x009e});
    CHECK(p.tls_supported_versions == std::vector<uint16_t>{0x0304, 0x0303});
    CHECK(p.alpn == std::vector<std::string>{"tds/8.0"});

    SECTION("a ClientHello cut short keeps what was captured whole, and reads nothing beyond") {
        const size_t cut = GENERATE(0, 1, 2, 20, 34, 35, 38, 41, 43, 44, 50, 60);
        REQUIRE(cut < b.size());
        const tdsdiag::Packet q = parse(tdsdiag::kHsClientHello, b, cut);
        CHECK(q.tls_handshake_versions.size() == (cut >= 2 ? 1u : 0u));
        CHECK(q.tls_cipher_suites.size() == (cut >= 35 + 2 + 6 ? 3u : 0u));
        CHECK(q.alpn.empty());
    }
}

TEST_CASE("A ServerHello gives the chosen suite and version", "[tls]") {
    Bytes b = hello_head(0x0303);
    put16(b, 0x1302);
    b.push_back(0);
    b = with_extensions(b, {extension(43, {0x03, 0x04})});
    const tdsdiag::Packet p = parse(tdsdiag::kHsServerHello, b, b.size());
    CHECK(p.tls_handshake_versions == std::vector<uint16_t>{0x0303});
    CHECK(p.tls_cipher_suites == std::vector<uint16_t>{0x1302});
    CHECK(p.tls_supported_versions == std::vector<uint16_t>{0x0304});

    SECTION("a TLS 1.0 ServerHello without extensions") {
        Bytes old = hello_head(0x0301);
        put16(old, 0x002f);
        old.push_back(0);
        const tdsdiag::Packet q = parse(tdsdiag::kHsServerHello, old, old.size());
        CHECK(q.tls_handshake_versions == std::vector<uint16_t>{0x0301});
        CHECK(q.tls_cipher_suites == std::vector<uint16_t>{0x002f});
        CHECK(q.tls_supported_versions.empty());
    }
}

TEST_CASE("A ServerKeyExchange gives the size of DHE's p, its first parameter", "[tls]") {
    Bytes b;
    put16(b, 128);  // p: 128 bytes, top bit set: 1024 bits
    b.push_back(0xff);
    b.insert(b.end(), 127, 0x11);
    put16(b, 1);  // g
    b.push_back(2);
    CHECK(parse(tdsdiag::kHsServerKeyExchange, b, b.size()).tls_dh_p_bits == 1024);
    SECTION("leading zero bits and bytes are not counted") {
        Bytes z;
        put16(z, 3);
        z.insert(z.end(), {0x00, 0x01, 0xff});
        CHECK(parse(tdsdiag::kHsServerKeyExchange, z, z.size()).tls_dh_p_bits == 9);
    }
    SECTION("a p longer than the bytes captured is not read") {
        CHECK(parse(tdsdiag::kHsServerKeyExchange, b, 100).tls_dh_p_bits == 0);
    }
}

TEST_CASE("TLS 1.3 EncryptedExtensions (decrypted with a key log) give the server's ALPN", "[tls]") {
    const Bytes b = with_extensions({}, {alpn("tds/8.0")});
    const tdsdiag::Packet p = parse(tdsdiag::kHsEncryptedExtensions, b, b.size());
    CHECK(p.alpn == std::vector<std::string>{"tds/8.0"});
    CHECK(p.tls_handshake_versions.empty());
}

TEST_CASE("Lengths that point past the message are not followed", "[tls]") {
    SECTION("a suite list longer than the message") {
        Bytes b = hello_head(0x0303);
        put16(b, 400);
        put16(b, 0x1301);
        const tdsdiag::Packet p = parse(tdsdiag::kHsClientHello, b, b.size());
        CHECK(p.tls_handshake_versions.size() == 1);
        CHECK(p.tls_cipher_suites.empty());
    }
    SECTION("an extension longer than the extension block") {
        Bytes b = client_hello();
        b[b.size() - 12] = 0x7f;  // the ALPN extension's length (its data is the last 10 bytes)
        const tdsdiag::Packet p = parse(tdsdiag::kHsClientHello, b, b.size());
        CHECK(p.alpn.empty());
        CHECK(p.tls_supported_versions.size() == 2);
    }
    SECTION("other message types and no bytes at all") {
        const Bytes b = client_hello();
        CHECK(parse(tdsdiag::kHsCertificate, b, b.size()).tls_cipher_suites.empty());
        tdsdiag::Packet p;
        tdsdiag::parse_tls_hello(tdsdiag::kHsClientHello, nullptr, 10, p);
        CHECK(p.tls_handshake_versions.empty());
    }
}

TEST_CASE("A PRELOGIN gives its encryption, trace id and MARS options; anything else is left alone", "[prelogin]") {
    // VERSION (6 bytes), ENCRYPTION (1), MARS (1), TRACEID (36), then the terminator and the data.
    Bytes b{0x00, 0, 21, 0, 6, 0x01, 0, 27, 0, 1, 0x04, 0, 28, 0, 1, 0x05, 0, 29, 0, 36, 0xff};
    const Bytes version{16, 0, 0x07, 0xd0, 0, 0};
    b.insert(b.end(), version.begin(), version.end());
    b.push_back(0x03);  // ENCRYPT_REQ
    b.push_back(0x01);  // MARS on
    for (int i = 0; i < 36; ++i) b.push_back(static_cast<uint8_t>(i));
    tdsdiag::Packet p;
    REQUIRE(tdsdiag::parse_prelogin(b.data(), b.size(), p));
    CHECK(p.prelogin_encryption == 3);
    CHECK(p.prelogin_mars == 1);
    REQUIRE(p.trace_id.size() == 36);
    CHECK(p.trace_id[35] == 35);

    SECTION("an option pointing past the message, a missing terminator, or another first byte is refused") {
        const size_t cut = GENERATE(0, 1, 5, 20, 21, 40);
        std::unique_ptr<uint8_t[]> exact(new uint8_t[cut ? cut : 1]);
        std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut), exact.get());
        tdsdiag::Packet q;
        CHECK_FALSE(tdsdiag::parse_prelogin(exact.get(), cut, q));
        CHECK(q.prelogin_encryption == -1);
        CHECK(q.trace_id.empty());
    }
    SECTION("a response's tokens and TLS in a prelogin packet are not prelogin options") {
        tdsdiag::Packet q;
        const Bytes done{0xfd, 0x00, 0x00, 0xc1, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
        const Bytes tls{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00};
        CHECK_FALSE(tdsdiag::parse_prelogin(done.data(), done.size(), q));
        CHECK_FALSE(tdsdiag::parse_prelogin(tls.data(), tls.size(), q));
        CHECK(q.prelogin_encryption == -1);
    }
}

TEST_CASE("A whole TDS packet no dissector took gives its prelogin answer, and nothing else does", "[prelogin]") {
    // A server's PRELOGIN answer (SQL Server 2019, 15.0.4123) as tds_server.py sends it to a TDS 8.0
    // ClientHello: an 8-byte header (type 4, end of message, length 0x002f) and VERSION, ENCRYPTION,
    // INSTOPT, THREADID, MARS options.
    Bytes b{0x04, 0x01, 0x00, 0x2f, 0x00, 0x00, 0x01, 0x00,
            0x00, 0x00, 0x1a, 0x00, 0x06, 0x01, 0x00, 0x20, 0x00, 0x01, 0x02, 0x00, 0x21, 0x00, 0x01,
            0x03, 0x00, 0x22, 0x00, 0x04, 0x04, 0x00, 0x26, 0x00, 0x01, 0xff,
            0x0f, 0x00, 0x10, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    REQUIRE(b.size() == 0x2f);
    tdsdiag::Packet p;
    REQUIRE(tdsdiag::parse_raw_prelogin_answer(b.data(), b.size(), p));
    const tdsdiag::ProductVersion v = tdsdiag::unpack_version(p.prelogin_version);
    CHECK(v.major == 15);
    CHECK(v.build == 4123);
    CHECK(p.prelogin_encryption == 0);

    SECTION("another packet type, a packet that is not the message's last, or a length that is not the segment's") {
        Bytes q = b;
        const int which = GENERATE(0, 1, 2, 3);
        if (which == 0) q[0] = 0x12;      // a client's PRELOGIN packet type
        if (which == 1) q[1] = 0x00;      // more packets follow
        if (which == 2) q.push_back(0);   // the segment is longer than the packet
        if (which == 3) q.resize(20);     // cut short
        tdsdiag::Packet r;
        CHECK_FALSE(tdsdiag::parse_raw_prelogin_answer(q.data(), q.size(), r));
        CHECK(r.prelogin_version == -1);
    }
    SECTION("TLS bytes are not a TDS packet") {
        const Bytes tls{0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03, 0x00};
        tdsdiag::Packet r;
        CHECK_FALSE(tdsdiag::parse_raw_prelogin_answer(tls.data(), tls.size(), r));
        CHECK_FALSE(tdsdiag::parse_raw_prelogin_answer(nullptr, 40, r));
    }
}

#include "tdsdiag/packet.hpp"

#include "tdsdiag/text.hpp"
#include "tdsdiag/version.hpp"
#include "tdsdiag/x509.hpp"

namespace tdsdiag {

// The three made from TDSDIAG_PACKET_FIELDS; unused parameters are the other kind's.
#define TDSDIAG_NONE_1(type, name)
#define TDSDIAG_NONE_2(type, name, value)

void Packet::clear_header() {
#define TDSDIAG_RESET(type, name, value) name = value;
    TDSDIAG_PACKET_FIELDS(TDSDIAG_RESET, TDSDIAG_NONE_1)
#undef TDSDIAG_RESET
}

bool Packet::has_payload_fields() const {
#define TDSDIAG_SET(type, name) || !name.empty()
    return false TDSDIAG_PACKET_FIELDS(TDSDIAG_NONE_2, TDSDIAG_SET);
#undef TDSDIAG_SET
}

void Packet::clear() {
    clear_header();
#define TDSDIAG_EMPTY(type, name) name.clear();
    TDSDIAG_PACKET_FIELDS(TDSDIAG_NONE_2, TDSDIAG_EMPTY)
#undef TDSDIAG_EMPTY
}

// A member declared outside the list would be left out of all three.
struct PacketFieldsOnly {
#define TDSDIAG_MEMBER_1(type, name) type name;
#define TDSDIAG_MEMBER_2(type, name, value) type name;
    TDSDIAG_PACKET_FIELDS(TDSDIAG_MEMBER_2, TDSDIAG_MEMBER_1)
#undef TDSDIAG_MEMBER_1
#undef TDSDIAG_MEMBER_2
};
static_assert(sizeof(PacketFieldsOnly) == sizeof(Packet), "every member of Packet is in TDSDIAG_PACKET_FIELDS");

#undef TDSDIAG_NONE_1
#undef TDSDIAG_NONE_2

bool parse_routing(const uint8_t* d, size_t len, Routing& out) {
    if (d == nullptr || len < 7) return false;
    const size_t value_len = static_cast<size_t>(d[0] | (d[1] << 8));
    if (value_len < 5 || value_len + 2 > len) return false;
    const size_t chars = static_cast<size_t>(d[5] | (d[6] << 8));
    if (5 + 2 * chars != value_len) return false;
    out.protocol = d[2];
    out.port = static_cast<uint16_t>(d[3] | (d[4] << 8));
    out.server = utf16le_to_utf8(d + 7, 2 * chars);
    return true;
}

namespace {

uint16_t le16(const uint8_t* b) { return static_cast<uint16_t>(b[0] | b[1] << 8); }
uint32_t le32(const uint8_t* b) { return static_cast<uint32_t>(b[0] | b[1] << 8 | b[2] << 16) | static_cast<uint32_t>(b[3]) << 24; }

bool is_login_token(uint8_t t) {
    return t == 0xaa || t == 0xab || t == 0xad || t == 0xe3 || t == 0xed || t == 0xee || t == 0xae || t == 0xfd ||
           t == 0xfe || t == 0xff;
}

// An ERROR token's body (MS-TDS 2.2.7.10): number, state, class, message (2-byte count, UTF-16LE); the
// server and procedure names and the line number (2 or 4 bytes by version) after it are not needed.
void login_error(const uint8_t* b, size_t n, LoginTokens& t) {
    if (n < 8) return;
    TdsError e;
    e.number = le32(b);
    e.state = b[4];
    e.severity = b[5];
    const size_t chars = le16(b + 6);
    if (chars <= (n - 8) / 2) e.message = utf16le_to_utf8(b + 8, 2 * chars);
    t.errors.push_back(std::move(e));
}

// The size of a DONE token at `pos` (9 up to TDS 7.1, 13 from 7.2), 0 if it does not fit. Without a
// LOGINACK before it (a refused login) the bytes after it decide: the end of the packet or a token.
size_t done_size(const uint8_t* b, size_t len, size_t pos, uint8_t version) {
    const size_t left = len - pos;
    if (version >= 0x72) return left >= 13 ? 13 : 0;
    if (version != 0) return left >= 9 ? 9 : 0;
    for (const size_t n : {size_t{13}, size_t{9}})
        if (left == n || (left > n && is_login_token(b[pos + n]))) return n;
    return 0;
}

// An ENVCHANGE's new value (B_VARCHAR: a character count, then UTF-16LE) read as a decimal number,
// e.g. the packet size "4096"; 0 unless it is one of 1 to 9 digits.
uint32_t envchange_number(const uint8_t* b, size_t n) {
    if (n < 1) return 0;
    const size_t chars = b[0];
    if (chars == 0 || chars > 9 || 1 + 2 * chars > n) return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < chars; ++i) {
        const uint8_t lo = b[1 + 2 * i], hi = b[2 + 2 * i];
        if (hi != 0 || lo < '0' || lo > '9') return 0;
        v = v * 10 + static_cast<uint32_t>(lo - '0');
    }
    return v;
}

}  // namespace

LoginTokens walk_login_tokens(const uint8_t* b, size_t len) {
    LoginTokens t;
    if (b == nullptr && len > 0) return t;
    size_t pos = 0;
    while (pos < len) {
        const uint8_t tok = b[pos];
        size_t step = 0;
        if (tok == 0xaa || tok == 0xab || tok == 0xad || tok == 0xe3 || tok == 0xed) {
            if (len - pos < 3) return t;
            const size_t n = le16(b + pos + 1);
            if (n > len - pos - 3) return t;
            const uint8_t* body = b + pos + 3;
            if (tok == 0xad) {
                t.login_ack = true;
                if (n >= 2) t.tds_version = body[1];  // Interface (1), then TDSVersion, its major byte first
            }
            if (tok == 0xaa) login_error(body, n, t);
            if (tok == 0xe3 && n >= 1) {
                t.envchange_types.push_back(body[0]);
                Routing r;
                if (body[0] == 20 && parse_routing(body + 1, n - 1, r)) t.routing.push_back(std::move(r));
                if (body[0] == 4) t.packet_size = envchange_number(body + 1, n - 1);
            }
            step = 3 + n;
        } else if (tok == 0xee) {  // FEDAUTHINFO: a 4-byte length
            if (len - pos < 5) return t;
            const size_t n = le32(b + pos + 1);
            if (n > len - pos - 5) return t;
            step = 5 + n;
        } else if (tok == 0xae) {  // FEATUREEXTACK: (id, 4-byte length, data) until the id 0xff
            size_t at = pos + 1;
            while (at < len && b[at] != 0xff) {
                if (len - at < 5) return t;
                const size_t n = le32(b + at + 1);
                if (n > len - at - 5) return t;
                at += 5 + n;
            }
            if (at >= len) return t;
            step = at + 1 - pos;
        } else if (tok == 0xfd || tok == 0xfe || tok == 0xff) {
            step = done_size(b, len, pos, t.tds_version);
            if (step == 0) return t;
        } else {
            return t;  // not a token of a login response
        }
        pos += step;
        ++t.tokens;
    }
    t.complete = true;
    return t;
}

namespace {

// A bounds-checked cursor over bytes: a read that does not fit fails and leaves `ok` false.
struct Cursor {
    const uint8_t* d;
    size_t n;
    bool ok = true;
    bool take(size_t k, const uint8_t*& out) {
        if (!ok || k > n) return ok = false;
        out = d;
        d += k;
        n -= k;
        return true;
    }
    bool u8(uint8_t& v) {
        const uint8_t* b = nullptr;
        if (!take(1, b)) return false;
        v = b[0];
        return true;
    }
    bool u16(uint16_t& v) {
        const uint8_t* b = nullptr;
        if (!take(2, b)) return false;
        v = static_cast<uint16_t>(b[0] << 8 | b[1]);
        return true;
    }
    // A vector with a 1- or 2-byte length: its bytes as a sub-cursor.
    bool vec(int width, Cursor& out) {
        uint16_t len = 0;
        uint8_t len8 = 0;
        if (width == 1 ? !u8(len8) : !u16(len)) return false;
        const uint8_t* b = nullptr;
        if (!take(width == 1 ? len8 : len, b)) return false;
        out = Cursor{b, static_cast<size_t>(width == 1 ? len8 : len)};
        return true;
    }
};

void read_extensions(Cursor& c, uint8_t type, Packet& p) {
    Cursor all{nullptr, 0};
    if (!c.vec(2, all)) return;
    while (all.n >= 4) {
        uint16_t ext = 0;
        Cursor data{nullptr, 0};
        if (!all.u16(ext) || !all.vec(2, data)) return;
        if (ext == 43) {  // supported_versions: a list offered, one chosen
            if (type == kHsClientHello) {
                Cursor list{nullptr, 0};
                uint16_t v = 0;
                if (data.vec(1, list))
                    while (list.n >= 2 && list.u16(v)) p.tls_supported_versions.push_back(v);
            } else {
                uint16_t v = 0;
                if (data.u16(v)) p.tls_supported_versions.push_back(v);
            }
        } else if (ext == 0 && type == kHsClientHello) {  // server_name: the first host_name entry
            Cursor list{nullptr, 0};
            if (!data.vec(2, list)) continue;
            uint8_t name_type = 0;
            Cursor name{nullptr, 0};
            while (list.n > 0 && list.u8(name_type) && list.vec(2, name))
                if (name_type == 0 && p.sni.empty()) p.sni.assign(reinterpret_cast<const char*>(name.d), name.n);
        } else if (ext == 16) {  // application_layer_protocol_negotiation
            Cursor list{nullptr, 0};
            if (!data.vec(2, list)) continue;
            Cursor name{nullptr, 0};
            while (list.n > 0 && list.vec(1, name))
                p.alpn.emplace_back(reinterpret_cast<const char*>(name.d), name.n);
        }
    }
}

}  // namespace

void parse_tls_hello(uint8_t type, const uint8_t* body, size_t len, Packet& p) {
    if (body == nullptr) return;
    Cursor c{body, len};
    if (type == kHsEncryptedExtensions) {
        read_extensions(c, type, p);
        return;
    }
    if (type == kHsServerKeyExchange) {  // ServerDHParams: p, g, Ys (2-byte lengths); p comes first
        Cursor prime{nullptr, 0};
        if (c.vec(2, prime)) p.tls_dh_p_bits = bit_length(prime.d, prime.n);
        return;
    }
    if (type != kHsClientHello && type != kHsServerHello) return;
    uint16_t version = 0;
    const uint8_t* random = nullptr;
    Cursor session{nullptr, 0};
    if (!c.u16(version)) return;
    p.tls_handshake_versions.push_back(version);
    if (!c.take(32, random) || !c.vec(1, session)) return;
    if (type == kHsClientHello) {
        Cursor suites{nullptr, 0};
        Cursor compression{nullptr, 0};
        uint16_t suite = 0;
        if (!c.vec(2, suites)) return;
        while (suites.n >= 2 && suites.u16(suite)) p.tls_cipher_suites.push_back(suite);
        if (!c.vec(1, compression)) return;
    } else {
        uint16_t suite = 0;
        uint8_t compression = 0;
        if (!c.u16(suite)) return;
        p.tls_cipher_suites.push_back(suite);
        if (!c.u8(compression)) return;
    }
    if (c.n > 0) read_extensions(c, type, p);
}

bool parse_prelogin(const uint8_t* d, size_t len, Packet& p) {
    if (d == nullptr || len == 0) return false;
    // First pass: the token list must be whole and point inside the message.
    size_t pos = 0;
    while (pos < len && d[pos] != 0xff) {
        if (d[pos] > 0x07 || pos + 5 > len) return false;  // option tokens are 0 (VERSION) to 7 (NONCEOPT)
        const size_t off = static_cast<size_t>(d[pos + 1] << 8 | d[pos + 2]);
        const size_t n = static_cast<size_t>(d[pos + 3] << 8 | d[pos + 4]);
        if (off > len || n > len - off) return false;
        pos += 5;
    }
    if (pos >= len) return false;  // no terminator
    for (size_t t = 0; t < pos; t += 5) {
        const size_t off = static_cast<size_t>(d[t + 1] << 8 | d[t + 2]);
        const size_t n = static_cast<size_t>(d[t + 3] << 8 | d[t + 4]);
        ProductVersion v;
        if (d[t] == 0x00 && parse_version_option(d + off, n, v)) p.prelogin_version = pack_version(v);
        if (d[t] == 0x01 && n >= 1) p.prelogin_encryption = d[off];
        if (d[t] == 0x04 && n >= 1) p.prelogin_mars = d[off];
        if (d[t] == 0x05 && n > 0 && p.trace_id.empty()) p.trace_id.assign(d + off, d + off + n);
    }
    return true;
}

bool parse_raw_prelogin_answer(const uint8_t* d, size_t len, Packet& p) {
    constexpr size_t kHeader = 8;  // type, status, length (big-endian), SPID, packet id, window
    if (d == nullptr || len <= kHeader || d[0] != kTdsResponse || (d[1] & 0x01) == 0) return false;
    if (static_cast<size_t>(d[2] << 8 | d[3]) != len) return false;
    return parse_prelogin(d + kHeader, len - kHeader, p);
}

}  // namespace tdsdiag

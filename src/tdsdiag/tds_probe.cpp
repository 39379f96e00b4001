#include "tdsdiag/tds_probe.hpp"

#include "tdsdiag/packet.hpp"

namespace tdsdiag {
namespace {

size_t be16(const uint8_t* p) { return static_cast<size_t>(p[0] << 8 | p[1]); }
uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}

constexpr size_t kHeader = 8;       // TDS packet header
constexpr size_t kLogin7Fixed = 86;  // Login7's fixed part in TDS 7.0 (7.1 and later add 8 bytes to it)

// The TDS versions a Login7 names (MS-TDS 2.2.6.4, as sent: little-endian): 7.0 to 7.4.
bool known_login7_version(uint32_t v) {
    switch (v) {
    case 0x70000000:
    case 0x71000000:
    case 0x71000001:
    case 0x72090002:
    case 0x730a0003:
    case 0x730b0003:
    case 0x74000004: return true;
    default: return false;
    }
}

bool prelogin(const uint8_t* d, size_t len) {
    // A client's PRELOGIN is small and sent whole: status EOM, the length is the segment's.
    if (d[1] != 0x01 || be16(d + 2) != len || d[7] != 0) return false;
    const uint8_t* body = d + kHeader;
    const size_t n = len - kHeader;
    // VERSION comes first, with its 6 bytes (version and sub-build), and every option's data lies
    // after the option list.
    if (n < 6 || body[0] != 0x00 || be16(body + 3) != 6) return false;
    size_t list_end = 0;
    while (list_end < n && body[list_end] != 0xff) list_end += 5;
    if (list_end >= n) return false;
    for (size_t t = 0; t < list_end; t += 5)
        if (be16(body + t + 1) <= list_end) return false;
    Packet scratch;
    return parse_prelogin(body, n, scratch);
}

bool login7(const uint8_t* d, size_t len) {
    // The Login7 may span TDS packets (status 0 until the last); its header length fits the segment.
    const size_t packet = be16(d + 2);
    if ((d[1] != 0x00 && d[1] != 0x01) || d[7] != 0 || packet < kHeader + kLogin7Fixed || packet > len) return false;
    const uint8_t* body = d + kHeader;
    const uint32_t length = le32(body);
    if (length < kLogin7Fixed || length > 128 * 1024 || (d[1] == 0x01 && length != packet - kHeader)) return false;
    if (!known_login7_version(le32(body + 4))) return false;
    // The variable part's first offset (the client's host name) points just past the fixed part or later.
    const size_t host = static_cast<size_t>(body[36] | body[37] << 8);
    return host >= kLogin7Fixed && host <= length;
}

}  // namespace

TdsStart probe_tds_start(const uint8_t* d, size_t len) {
    if (d == nullptr || len < kHeader + 6) return TdsStart::None;
    if (d[0] == kTdsPrelogin && prelogin(d, len)) return TdsStart::Prelogin;
    if (d[0] == kTdsLogin7 && len >= kHeader + kLogin7Fixed && login7(d, len)) return TdsStart::Login7;
    return TdsStart::None;
}

}  // namespace tdsdiag

#include "tdsdiag/text.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace tdsdiag {

std::string format(const char* fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return {};
    return std::string(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

std::string seconds(int64_t ns) { return format("%.3f s", static_cast<double>(ns) / 1e9); }

std::string utf16le_to_utf8(const uint8_t* p, size_t bytes) {
    std::string out;
    for (size_t i = 0; i + 1 < bytes; i += 2) {
        const unsigned c = static_cast<unsigned>(p[i] | (p[i + 1] << 8));
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xc0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3f));
        } else if (c >= 0xd800 && c < 0xe000) {
            out += '?';
        } else {
            out += static_cast<char>(0xe0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return out;
}

bool is_ip_literal(const std::string& s) {
    if (s.empty()) return false;
    if (s.find(':') != std::string::npos) return true;  // IPv6
    for (char c : s)
        if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
    return true;
}

}  // namespace tdsdiag

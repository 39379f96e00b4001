#include "tdsdiag/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace tdsdiag {

std::string format(const char* fmt, ...) {
    char buf[kMaxFormatted + 1];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return {};
    return std::string(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

std::string fixed(double v, int decimals) {
    // v * 10^decimals, rounded to a whole number and printed as digits. Below 2^40 the product is off
    // by less than 2^-13, so away from a half (by more than 1/1000) it rounds as printf rounds the
    // exact value; near a half, and for anything else, the general routine decides.
    static constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (decimals >= 0 && decimals <= 9 && std::isfinite(v)) {
        const double scaled = std::fabs(v) * kPow10[decimals];
        const double whole = std::floor(scaled);
        const double frac = scaled - whole;
        if (scaled < 1099511627776.0 && std::fabs(frac - 0.5) > 1e-3) {
            uint64_t n = static_cast<uint64_t>(whole) + (frac > 0.5 ? 1 : 0);
            char buf[48];
            char* const end = buf + sizeof buf;
            char* p = end;
            for (int i = 0; i < decimals; ++i, n /= 10) *--p = static_cast<char>('0' + n % 10);
            if (decimals > 0) *--p = '.';
            do {
                *--p = static_cast<char>('0' + n % 10);
                n /= 10;
            } while (n != 0);
            if (std::signbit(v)) *--p = '-';
            return std::string(p, end);
        }
    }
    char buf[400];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    if (r.ec == std::errc()) return std::string(buf, r.ptr);
    return format("%.*f", decimals, v);
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

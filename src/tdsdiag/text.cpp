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

bool is_ip_literal(const std::string& s) {
    if (s.empty()) return false;
    if (s.find(':') != std::string::npos) return true;  // IPv6
    for (char c : s)
        if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
    return true;
}

}  // namespace tdsdiag

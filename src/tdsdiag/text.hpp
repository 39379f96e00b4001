// Small text helpers shared by the diagnosis rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// TDSDIAG_COLD marks a function called only on the rare frames that carry a diagnosis: the compiler
// moves its calls out of the per-frame code, which then fits in fewer cache lines.
#include "tdsdiag/portable.hpp"

namespace tdsdiag {

// printf into a std::string (at most kMaxFormatted bytes).
constexpr size_t kMaxFormatted = 2047;
TDSDIAG_COLD std::string format(const char* fmt, ...) TDSDIAG_PRINTF_LIKE(1, 2);
// printf's "%.*f" of v (the same, correctly rounded digits), without its cost: a table of a hundred
// thousand connections formats a million of these.
std::string fixed(double v, int decimals);
// "1.500 s"
TDSDIAG_COLD std::string seconds(int64_t ns);
// "12 ms" (rounded to the millisecond)
TDSDIAG_COLD std::string milliseconds(int64_t ns);
// UTF-16LE bytes (host, user and domain names in TDS and NTLM) to UTF-8; a surrogate becomes '?'.
std::string utf16le_to_utf8(const uint8_t* p, size_t bytes);
// Whether a host string is an IPv4 or IPv6 address literal rather than a name.
bool is_ip_literal(const std::string& host);

}  // namespace tdsdiag

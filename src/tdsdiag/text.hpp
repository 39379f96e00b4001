// Small text helpers shared by the diagnosis rules.
#pragma once

#include <cstdint>
#include <string>

namespace tdsdiag {

// printf into a std::string (at most 2047 bytes).
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// "1.500 s"
std::string seconds(int64_t ns);

}  // namespace tdsdiag

// Small text helpers shared by the diagnosis rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
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
// UTF-16LE bytes (host, user and domain names in TDS and NTLM) to UTF-8; a surrogate becomes '?'.
std::string utf16le_to_utf8(const uint8_t* p, size_t bytes);
// Whether a host string is an IPv4 or IPv6 address literal rather than a name.
bool is_ip_literal(const std::string& host);

// Texts kept for as long as a capture file is open, each equal text once for as long as it keeps
// coming back: connections that fail the same way share their diagnoses' texts (in the bench corpus,
// 12,750 texts are 14 distinct ones). Each kind of text (say, a diagnosis code's text or its detail)
// remembers the last kRecent texts it kept and reuses an equal one; any other is copied. A hash set
// of every text cost a cache miss or more a lookup on big captures, and gained nothing on the texts
// that are each one connection's own (a ClientHello's frame number, say).
class TextKeeper {
public:
    static constexpr size_t kRecent = 4;
    explicit TextKeeper(size_t kinds) : recent_(kinds) {}
    // `text`, kept: its address stays valid until the keeper is destroyed. An unknown kind is kept
    // without sharing.
    const char* keep(size_t kind, const std::string& text);
    size_t copies() const { return store_.size(); }

private:
    struct Recent {
        const std::string* texts[kRecent] = {};
        size_t next = 0;  // the slot the next new text takes
    };
    std::vector<Recent> recent_;
    std::deque<std::string> store_;  // grows without moving its strings
};

}  // namespace tdsdiag

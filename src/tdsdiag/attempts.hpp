// Issue 31 item 2: one client's connections to one server port at several addresses (the addresses of
// one name: an Always On listener with one address per subnet). Analyzer::link_attempts ties them;
// the rules (stands(), in connection.cpp) and the texts (attempts.cpp) read the ties.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/finding.hpp"

namespace tdsdiag {

class Connection;

// A connection's attempts at the other addresses of its server (connections are never freed before
// their Analyzer, so the pointers stay valid).
struct AddressAttempts {
    // Started within Config::parallel_window_ns of this one: the client tries the addresses at once.
    std::vector<const Connection*> parallel;
    static constexpr size_t kMaxParallel = 8;
    // In turn: the first connection the client started at another address later than that window,
    // while this one's SYN still had no answer.
    const Connection* next = nullptr;
};

// Whether `later` may be the client's attempt at another address of `earlier`'s server: the same client
// address, the same server port, another server address. `name_addresses`, when given, are the
// addresses the name the client asked resolved to (issue 31 item 1, from the DNS answers): both server
// addresses must then be among them. Without it, the port alone ties them.
bool other_address_of_server(const Connection& earlier, const Connection& later,
                             const std::vector<std::string>* name_addresses = nullptr);

}  // namespace tdsdiag

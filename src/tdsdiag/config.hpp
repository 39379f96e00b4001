// Settings of one analysis, set from the plugin's preferences.
#pragma once

#include <cstdint>
#include <vector>

namespace tdsdiag {

struct Config {
    std::vector<uint16_t> sql_ports{1433};    // TCP ports where SQL Server listens
    int64_t slow_accept_ns = 1000000000;      // SYN to SYN/ACK beyond this: slow_accept
    int64_t slow_login_ns = 2000000000;       // Login7 to login response beyond this: slow_login
    int64_t login_timeout_min_ns = 1000000000;  // a client closing while it waits: login_timeout from this wait on,
                                                // login_abandoned below it
    int64_t browser_slow_ns = 1000000000;     // SQL Browser request to answer beyond this: browser_slow
    int64_t idle_timeout_ns = 240000000000;   // a connection silent longer than this, then reset or unanswered:
                                              // idle_reset (the common load-balancer idle timeout, 240 s)
    int64_t kerberos_window_ns = 10000000000;  // a KRB-ERROR and a SQL connection of its client this near: tied
    int64_t zero_window_stall_ns = 1000000000;  // a window at 0 this long or longer: slow_network
    int64_t time_wait_ns = 240000000000;      // a SYN this soon after the close of a connection on the same ports,
                                              // answered by an ACK or a reset: port_reuse (2 MSL, 240 s)
    // path_mtu_black_hole (pmtu.hpp): segments smaller than this (TCP payload bytes) are not taken for
    // full-size ones; copies of one segment (the first and its retransmissions) that make the proof.
    uint32_t pmtu_min_segment = 1000;
    int pmtu_copies = 4;
    // Connections of one client to one server port at different server addresses whose SYNs came this
    // near each other: parallel attempts at the addresses of one name (MultiSubnetFailover, FreeTDS, which
    // open them within milliseconds); the client abandons all but one, which is no failure. Farther
    // apart, a later one after an unanswered SYN is the client trying the addresses in turn.
    int64_t parallel_window_ns = 300000000;
    int64_t dns_window_ns = 10000000000;      // a DNS answer this long before a connection of its client: tied to it
    int64_t dns_slow_ns = 1000000000;         // DNS first query to answer beyond this: dns_slow
    // Name of a TLS cipher suite ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"), or nullptr if unknown.
    const char* (*cipher_name)(uint16_t suite) = nullptr;
};

}  // namespace tdsdiag

// Path-MTU black holes (issue 31): on a path whose MTU is below the hosts' (a VPN, a tunnel, a
// misconfigured link) a router drops the full-size segments and answers with an ICMP "fragmentation
// needed" / "packet too big"; when a firewall drops that ICMP the sender never learns the smaller MTU and
// sends the same full-size segment again and again, while its smaller segments pass. (SqlClient issue
// 647: segments over 1,398 bytes lost, `Packet Size=512` made the application work.)
//
// PmtuTracker watches one connection's data segments per direction with constant work per frame: the
// largest payload each side sent, the largest whose end the other side acknowledged, and the segment
// currently sent again. It proves a black hole when a segment of the largest size its side ever sent
// (at least Config::pmtu_min_segment bytes), larger than any of that side's segments that was
// acknowledged, is sent for the Config::pmtu_copies-th time without an acknowledgement in between.
//
// The ICMP form: where the capture shows the router's ICMP fragmentation needed (IPv4 type 3 code 4) or
// ICMPv6 packet too big quoting a segment of the connection, the sender was told the path's MTU. If it
// then sends segments too large for that MTU again (retransmissions: pmtu_copies - 1 of them after the
// message), the message did not reach it or was ignored (a host firewall dropping ICMP): a black hole,
// with the MTU from the message. If it sends the data again in segments that fit, path MTU discovery
// worked and nothing is found.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tdsdiag/config.hpp"
#include "tdsdiag/packet.hpp"

namespace tdsdiag {

struct Evidence;
class Connection;

// The text of path_mtu_black_hole (written in describe.cpp, with every text of the core): the evidence,
// the fix, the detail.
struct PmtuWords {
    std::string what, fix, detail;
};
PmtuWords pmtu_words(const Evidence& e, const Connection& c, bool complete);

// The thresholds are preferences (Config): tdsdiag.pmtu_min_segment, 1000 bytes by default (a lost
// small segment is loss, not an MTU: the smallest MTU of IPv6 is 1280, and paths below 1,100 bytes of
// payload are rare), and tdsdiag.pmtu_copies, 4 by default (the first and two retransmissions is
// ordinary loss on a bad link; four copies with nothing acknowledged is not).
class PmtuTracker {
public:

    struct Side {
        uint32_t largest_sent = 0;        // largest TCP payload sent
        uint32_t largest_acked = 0;       // largest TCP payload whose end the other side acknowledged
        uint32_t largest_acked_frame = 0; // the frame of that segment
        // the segment being sent again: its sequence number, length, copies, first copy
        uint32_t stuck_seq = 0;
        uint32_t stuck_len = 0;
        int stuck_copies = 0;
        uint32_t stuck_frame = 0;
        int64_t stuck_ns = 0;
        bool stuck_acked = false;         // acknowledged after all (later evidence)
        // the last few segments not yet acknowledged: end sequence number and length (a ring)
        std::array<uint32_t, 8> pending_end{};
        std::array<uint32_t, 8> pending_len{};
        uint8_t pending_next = 0;
        // The ICMP form: the first fragmentation-needed / packet-too-big quoting this side's segment,
        // the largest payload that fits its MTU, the too-large retransmissions since, and whether the
        // side then sent the data again in segments that fit (path MTU discovery worked).
        uint32_t icmp_frame = 0;
        uint32_t icmp_mtu = 0;
        uint32_t icmp_fits = 0;
        uint32_t icmp_seq = 0, icmp_len = 0;  // the quoted segment
        int64_t icmp_ns = 0;
        int icmp_too_big = 0;
        uint32_t icmp_largest = 0;            // the largest of those
        bool icmp_honoured = false;
    };

    // Learn from one frame of the connection (`client`: sent by the client). Returns true on the frame
    // that proves a black hole in the sender's direction (once per connection).
    bool learn(const Packet& p, bool client, const Config& config);
    // An ICMP fragmentation-needed / packet-too-big frame quoting a segment `client` sent.
    void learn_icmp(const Packet& p, bool client);

    const Side& side(bool client) const { return sides_[client ? 0 : 1]; }
    bool found() const { return found_; }
    bool found_client() const { return found_client_; }

private:
    Side sides_[2];
    bool found_ = false;
    bool found_client_ = false;
};

}  // namespace tdsdiag

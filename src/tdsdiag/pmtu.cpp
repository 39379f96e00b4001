#include "tdsdiag/pmtu.hpp"

#include "tdsdiag/connection.hpp"
#include "tdsdiag/finding.hpp"
#include "tdsdiag/text.hpp"

namespace tdsdiag {

namespace {
// Whether sequence number `a` is at or before `b` (modulo 2^32).
bool seq_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) >= 0; }
}  // namespace

bool PmtuTracker::learn(const Packet& p, bool client) {
    if (p.syn() || p.rst()) return false;
    Side& me = sides_[client ? 0 : 1];
    Side& peer = sides_[client ? 1 : 0];

    // The acknowledgement this frame carries settles the other side's segments it covers.
    if (p.ack()) {
        for (size_t i = 0; i < peer.pending_end.size(); ++i) {
            const uint32_t len = peer.pending_len[i];
            if (len == 0 || !seq_le(peer.pending_end[i], p.tcp_ack)) continue;
            if (len > peer.largest_acked) peer.largest_acked = len;
            peer.pending_len[i] = 0;
        }
        if (peer.stuck_copies > 0 && seq_le(peer.stuck_seq + peer.stuck_len, p.tcp_ack)) {
            if (peer.stuck_len > peer.largest_acked) peer.largest_acked = peer.stuck_len;
            peer.stuck_acked = true;
            peer.stuck_copies = 0;
        }
    }

    if (p.tcp_len == 0) return false;
    if (p.tcp_len > me.largest_sent) me.largest_sent = p.tcp_len;
    if (!p.retransmission) {
        me.pending_end[me.pending_next] = p.tcp_seq + p.tcp_len;
        me.pending_len[me.pending_next] = p.tcp_len;
        me.pending_next = static_cast<uint8_t>((me.pending_next + 1) % me.pending_end.size());
        if (me.stuck_copies == 0 || me.stuck_seq != p.tcp_seq) {
            // a first copy: the candidate for being sent again, if it is full-size
            if (p.tcp_len >= kMinFullSize && p.tcp_len == me.largest_sent && me.stuck_copies == 0) {
                me.stuck_seq = p.tcp_seq;
                me.stuck_len = p.tcp_len;
                me.stuck_copies = 1;
                me.stuck_frame = p.frame;
                me.stuck_ns = p.time_ns;
                me.stuck_acked = false;
            }
            return false;
        }
    }
    // A copy of a segment seen before.
    if (me.stuck_copies > 0 && p.tcp_seq == me.stuck_seq && p.tcp_len == me.stuck_len) {
        ++me.stuck_copies;
    } else {
        return false;
    }
    if (found_ || me.stuck_copies < kMinCopies) return false;
    if (me.stuck_len < me.largest_sent || me.largest_acked == 0 || me.largest_acked >= me.stuck_len) return false;
    found_ = true;
    found_client_ = client;
    return true;
}

// The rule's finding, on the frame that completed the proof (the connection's hook calls it).
void Connection::find_black_hole(const Packet& p, bool client) {
    const PmtuTracker::Side& s = pmtu_.side(client);
    Evidence e = evidence(p, client, state_);
    e.lost_len = s.stuck_len;
    e.passed_len = s.largest_acked;
    e.lost_frame = s.stuck_frame;
    e.retries = s.stuck_copies - 1;
    e.waited_ns = p.time_ns - s.stuck_ns;
    find(p, Code::PathMtuBlackHole, e);
}

PmtuWords pmtu_words(const Evidence& e, const Connection& c, bool complete) {
    const bool client = e.from == Side::Client;
    const char* who = client ? "client" : "server";
    PmtuWords w;
    // Worst case (10-digit frame and sizes, a long wait) still fits kMaxTextLength: the unit test checks it.
    w.what = format("The %s sent a %u-byte segment (frame %u) %d more times in %s, never acknowledged, while its "
                    "segments up to %u bytes were: likely a path-MTU black hole (ICMP fragmentation-needed dropped).",
                    who, e.lost_len, e.lost_frame, e.retries, seconds(e.waited_ns).c_str(), e.passed_len);
    w.fix = format("Clamp the TCP MSS on the router or VPN with the smaller MTU (or let its ICMP fragmentation-needed "
                   "through), or set the path's MTU on the hosts; as a stop-gap, a Packet Size below %u bytes.",
                   e.passed_len);
    const PmtuTracker::Side& s = c.pmtu().side(client);
    if (complete && s.stuck_acked && s.stuck_len == e.lost_len)
        w.detail = format("TCP payload sizes. That segment was acknowledged later in the capture (the sender likely "
                          "lowered its segment size: TCP MTU probing or PMTU discovery). Largest %s segment sent: %u bytes.",
                          who, s.largest_sent);
    else
        w.detail = format("TCP payload sizes; the largest segment that got through is %u bytes (%u with the IPv4 and TCP "
                          "headers, without options): the path's MTU likely lies between %u and %u. Nothing in the "
                          "capture acknowledges the lost segment%s.",
                          e.passed_len, e.passed_len + 40, e.passed_len + 40, e.lost_len + 40 + 12,
                          complete ? "" : " so far");
    return w;
}

}  // namespace tdsdiag

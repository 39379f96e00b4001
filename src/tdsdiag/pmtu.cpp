#include "tdsdiag/pmtu.hpp"

#include "tdsdiag/connection.hpp"
#include "tdsdiag/finding.hpp"

#include <algorithm>

namespace tdsdiag {

namespace {
// Whether sequence number `a` is at or before `b` (modulo 2^32).
bool seq_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) >= 0; }
}  // namespace

void PmtuTracker::learn_icmp(const Packet& p, bool client) {
    Side& me = sides_[client ? 0 : 1];
    if (p.icmp_mtu == 0 || p.icmp_mtu <= p.icmp_overhead) return;
    const uint32_t fits = p.icmp_mtu - p.icmp_overhead;
    if (me.icmp_frame != 0 && fits >= me.icmp_fits) return;  // the smallest MTU counts
    me.icmp_frame = p.frame;
    me.icmp_mtu = p.icmp_mtu;
    me.icmp_fits = fits;
    me.icmp_seq = p.tcp_seq;
    me.icmp_len = p.tcp_len;
    me.icmp_ns = p.time_ns;
}

bool PmtuTracker::learn(const Packet& p, bool client, const Config& config) {
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
    // The ICMP form: data sent again after the message, too large for its MTU, or the quoted segment's
    // data in segments that fit (path MTU discovery at work).
    if (me.icmp_frame != 0 && p.retransmission && !me.icmp_honoured) {
        if (p.tcp_len <= me.icmp_fits) {
            if (seq_le(me.icmp_seq, p.tcp_seq) && !seq_le(me.icmp_seq + std::max<uint32_t>(me.icmp_len, 1), p.tcp_seq))
                me.icmp_honoured = true;
        } else {
            me.icmp_largest = std::max(me.icmp_largest, p.tcp_len);
            if (++me.icmp_too_big >= config.pmtu_copies - 1 && !found_) {
                found_ = true;
                found_client_ = client;
                return true;
            }
        }
    }
    if (!p.retransmission) {
        me.pending_end[me.pending_next] = p.tcp_seq + p.tcp_len;
        me.pending_len[me.pending_next] = p.tcp_len;
        me.pending_next = static_cast<uint8_t>((me.pending_next + 1) % me.pending_end.size());
        if (me.stuck_copies == 0 || me.stuck_seq != p.tcp_seq) {
            // a first copy: the candidate for being sent again, if it is full-size
            if (p.tcp_len >= config.pmtu_min_segment && p.tcp_len == me.largest_sent && me.stuck_copies == 0) {
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
    if (found_ || me.stuck_copies < config.pmtu_copies) return false;
    if (me.stuck_len < me.largest_sent || me.largest_acked == 0 || me.largest_acked >= me.stuck_len) return false;
    found_ = true;
    found_client_ = client;
    return true;
}

// The rule's finding, on the frame that completed the proof (the connection's hook calls it).
void Connection::find_black_hole(const Packet& p, bool client) {
    const PmtuTracker::Side& s = pmtu_.side(client);
    Evidence e = evidence(p, client, state_);
    e.passed_len = s.largest_acked;
    if (s.icmp_frame != 0 && !s.icmp_honoured && s.icmp_too_big > 0) {
        // The ICMP form: the sender was told the MTU and sent too-large segments again.
        e.icmp_frame = s.icmp_frame;
        e.icmp_mtu = s.icmp_mtu;
        e.lost_len = s.icmp_largest;
        e.lost_frame = s.icmp_frame;
        e.retries = s.icmp_too_big;
        e.waited_ns = p.time_ns - s.icmp_ns;
    } else {
        e.lost_len = s.stuck_len;
        e.lost_frame = s.stuck_frame;
        e.retries = s.stuck_copies - 1;
        e.waited_ns = p.time_ns - s.stuck_ns;
    }
    find(p, Code::PathMtuBlackHole, e);
}

}  // namespace tdsdiag

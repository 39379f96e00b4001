// Finding a frame's TCP header in its bytes, and naming its connection by addresses and ports.
//
// The plugin reads each TCP frame's flags and payload length from the header itself: asking
// Wireshark for a TCP field (even tcp.stream) makes it build that field's item on every frame,
// which was the largest share of what tdsdiag cost over Wireshark's own dissection (bench/run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tdsdiag {

// Where the TCP header is and what its IP header says of the segment.
struct TcpHeaderAt {
    size_t offset = 0;      // of the TCP header in the frame
    uint16_t flags = 0;     // the 12 flag bits
    uint8_t header_len = 0; // the data offset, in bytes
    int64_t payload = -1;   // the segment's payload length, from the IP header; -1 if it cannot be told
    int16_t ttl = -1;       // the IPv4 TTL or IPv6 hop limit
    uint32_t seq = 0;       // the sequence number
    uint32_t ack = 0;       // the acknowledgment number
    uint16_t window = 0;    // the window field as sent (not scaled)
};

// Finds the TCP header of the segment from `src` to `dst` (IPv4 or IPv6 addresses of addr_len, 4 or
// 16 bytes, in network order) between the given ports, in the first `captured` bytes of a frame
// that was `reported` bytes long: right after an IP header with those addresses (for IPv6, after
// its extension headers), whose protocol is TCP and which is not a later fragment, starting in the
// frame's first 512 bytes (tunnels such as GRE or VXLAN put it after outer headers with other
// addresses). False unless the header's fixed 20 bytes were captured.
bool find_tcp_header(const uint8_t* frame, size_t captured, size_t reported, const uint8_t* src, const uint8_t* dst,
                     size_t addr_len, uint16_t src_port, uint16_t dst_port, TcpHeaderAt& out);

// The TCP segment an ICMP or ICMPv6 error quotes (issue 31: fragmentation needed, packet too big).
struct QuotedSegment {
    uint8_t addr_len = 0;  // 4 or 16
    uint8_t src[16] = {}, dst[16] = {};
    uint16_t src_port = 0, dst_port = 0;
    uint32_t seq = 0;
    uint32_t payload = 0;   // the segment's payload length, from the quoted IP length and TCP data offset
    uint16_t overhead = 0;  // its IP and TCP header bytes (20 TCP bytes where the quote stops before the offset)
};
// Reads the quoted IP header (IPv4, or IPv6 without extension headers) and the first bytes of its TCP
// header from `quote`, the `len` captured bytes after the ICMP header. False unless they are the
// first fragment of a TCP segment with at least its ports and sequence number (RFC 792 quotes 8 bytes
// of the datagram's data). Never reads past `len`.
bool parse_quoted_segment(const uint8_t* quote, size_t len, QuotedSegment& out);

// A TCP connection's addresses and ports, the same whichever way a segment goes.
struct TcpTuple {
    uint8_t addr_len = 0;  // 4 or 16
    uint8_t addr[2][16] = {};
    uint16_t port[2] = {};

    // The tuple of a segment from src:src_port to dst:dst_port (addresses of addr_len bytes).
    static TcpTuple of(const uint8_t* src, const uint8_t* dst, size_t addr_len, uint16_t src_port, uint16_t dst_port);

    bool operator==(const TcpTuple& o) const {
        return addr_len == o.addr_len && port[0] == o.port[0] && port[1] == o.port[1] &&
               memcmp(addr, o.addr, sizeof addr) == 0;
    }
};

struct TcpTupleHash {
    size_t operator()(const TcpTuple& t) const;
};

// The TCP stream number of each connection seen, by its tuple. Open addressing, with each key held
// in its slot (16 bytes for IPv4, 40 for IPv6): a lookup reads one slot, where a node-based hash map
// read a bucket and two or three nodes, each a cache miss once a capture holds more connections
// than the cache (bench/run). In front of it, a small direct-mapped copy of the slots looked up
// lately: a capture's frames come from a few hundred connections at a time, so most lookups stay in
// 16 KB instead of reading a random place in megabytes. Entries are never removed; the table is
// dropped with the capture.
class StreamTable {
public:
    // Whether a stream is recorded for `t`, and which.
    bool find(const TcpTuple& t, uint32_t& stream);
    // Records `stream` for `t`, replacing any. False for the one number it cannot hold (0xFFFFFFFF).
    bool set(const TcpTuple& t, uint32_t stream);
    size_t size() const { return v4_.used + v6_.used; }
    // The bytes the table holds (its slots, some outside operator new, and the copies of recent ones).
    size_t memory() const {
        return v4_.slots.capacity() * sizeof(Slot<4>) + v4_.recent.capacity() * sizeof(Slot<4>) +
               v6_.slots.capacity() * sizeof(Slot<16>) + v6_.recent.capacity() * sizeof(Slot<16>);
    }

private:
    template <size_t AddrLen>
    struct Slot {
        uint8_t key[2 * AddrLen + 4];  // both addresses, then both ports, as in the tuple
        uint32_t stream_plus_1;        // 0: empty
    };
    static constexpr size_t kRecent = 1024;  // a power of two
    // The slots' memory: from 2 MB on, in transparent huge pages where the system offers them. A lookup
    // of a connection not seen lately lands on a random page of the table, and with 4 KB pages it
    // missed the TLB nearly every time on a big capture (a page walk is costly under virtualisation).
    template <typename T>
    struct Pages {
        using value_type = T;
        Pages() = default;
        template <typename U>
        Pages(const Pages<U>&) {}
        T* allocate(size_t n);
        void deallocate(T* p, size_t n);
        bool operator==(const Pages&) const { return true; }
        bool operator!=(const Pages&) const { return false; }
    };
    template <size_t AddrLen>
    struct Flat {
        std::vector<Slot<AddrLen>, Pages<Slot<AddrLen>>> slots;  // a power of two, at most half full
        std::vector<Slot<AddrLen>> recent;  // kRecent copies, by other bits of the hash
        size_t used = 0;
        Slot<AddrLen>* probe(const uint8_t* key, size_t hash);
        // Bits of the hash above those a table of up to 2^32 slots (2^16 on 32-bit hosts) takes.
        Slot<AddrLen>& recent_slot(size_t hash) { return recent[(hash >> (sizeof hash * 4)) & (kRecent - 1)]; }
        bool find(const uint8_t* key, size_t hash, uint32_t& stream);
        bool set(const uint8_t* key, size_t hash, uint32_t stream);
    };
    Flat<4> v4_;
    Flat<16> v6_;
    // fn(flat, key, hash) with the tuple's table (IPv4 or IPv6) and key; false for other address lengths.
    template <typename Fn>
    bool with_key(const TcpTuple& t, Fn fn);
};

}  // namespace tdsdiag

#include "tdsdiag/tcp_header.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#elif defined(__linux__)
#include <sys/mman.h>
#endif

namespace tdsdiag {
namespace {

constexpr uint8_t kIpProtoTcp = 6;
// How far into a frame an IP header is looked for (link headers, tags and tunnels before it).
constexpr size_t kMaxHeaderOffset = 512;

uint16_t be16(const uint8_t* b) { return static_cast<uint16_t>(b[0] << 8 | b[1]); }

// The TCP header at `tcp`, if its fixed part was captured and it carries the segment's ports.
bool tcp_at(const uint8_t* f, size_t captured, size_t tcp, uint16_t src_port, uint16_t dst_port, TcpHeaderAt& out) {
    if (tcp + 20 > captured || be16(f + tcp) != src_port || be16(f + tcp + 2) != dst_port) return false;
    out.offset = tcp;
    out.flags = static_cast<uint16_t>(be16(f + tcp + 12) & 0x0fff);
    out.header_len = static_cast<uint8_t>((f[tcp + 12] >> 4) * 4);
    out.seq = static_cast<uint32_t>(be16(f + tcp + 4)) << 16 | be16(f + tcp + 6);
    out.ack = static_cast<uint32_t>(be16(f + tcp + 8)) << 16 | be16(f + tcp + 10);
    out.window = be16(f + tcp + 14);
    return true;
}

// The payload length from the IP header's length field (`ip_len`, counting from `counted_from`),
// or, where it is 0 (segmentation offload, jumbograms), from the frame's reported length.
int64_t payload_length(size_t ip_len, size_t counted_from, size_t reported, const TcpHeaderAt& h) {
    const int64_t end = ip_len != 0 ? static_cast<int64_t>(counted_from + ip_len) : static_cast<int64_t>(reported);
    const int64_t len = end - static_cast<int64_t>(h.offset) - h.header_len;
    return h.header_len >= 20 && len >= 0 ? len : -1;
}

bool ipv4_at(const uint8_t* f, size_t captured, size_t reported, size_t ip, const uint8_t* src, const uint8_t* dst,
             uint16_t src_port, uint16_t dst_port, TcpHeaderAt& out) {
    const uint8_t* h = f + ip;
    if (h[0] < 0x45 || h[0] > 0x4f || h[9] != kIpProtoTcp) return false;
    if (((h[6] & 0x1f) | h[7]) != 0) return false;  // a later fragment: no TCP header in it
    if (memcmp(h + 12, src, 4) != 0 || memcmp(h + 16, dst, 4) != 0) return false;
    if (!tcp_at(f, captured, ip + (h[0] & 0x0f) * 4u, src_port, dst_port, out)) return false;
    out.payload = payload_length(be16(h + 2), ip, reported, out);
    out.ttl = h[8];
    return true;
}

bool ipv6_at(const uint8_t* f, size_t captured, size_t reported, size_t ip, const uint8_t* src, const uint8_t* dst,
             uint16_t src_port, uint16_t dst_port, TcpHeaderAt& out) {
    const uint8_t* h = f + ip;
    if ((h[0] >> 4) != 6 || memcmp(h + 8, src, 16) != 0 || memcmp(h + 24, dst, 16) != 0) return false;
    uint8_t next = h[6];
    size_t pos = ip + 40;
    // Extension headers: hop-by-hop (0), routing (43), fragment (44), authentication (51), destination options (60).
    for (int n = 0; n < 8 && next != kIpProtoTcp; ++n) {
        if (pos + 8 > captured) return false;
        size_t len = 0;
        if (next == 0 || next == 43 || next == 60) {
            len = (f[pos + 1] + 1u) * 8;
        } else if (next == 44) {
            if ((be16(f + pos + 2) >> 3) != 0) return false;  // a later fragment
            len = 8;
        } else if (next == 51) {
            len = (f[pos + 1] + 2u) * 4;
        } else {
            return false;
        }
        next = f[pos];
        pos += len;
    }
    if (next != kIpProtoTcp || !tcp_at(f, captured, pos, src_port, dst_port, out)) return false;
    out.payload = payload_length(be16(h + 4), ip + 40, reported, out);
    out.ttl = h[7];
    return true;
}

}  // namespace

bool find_tcp_header(const uint8_t* frame, size_t captured, size_t reported, const uint8_t* src, const uint8_t* dst,
                     size_t addr_len, uint16_t src_port, uint16_t dst_port, TcpHeaderAt& out) {
    if (frame == nullptr || src == nullptr || dst == nullptr || (addr_len != 4 && addr_len != 16)) return false;
    if (reported < captured) reported = captured;
    const size_t ip_len = addr_len == 4 ? 20 : 40;
    auto ip_at = [&](size_t ip) {
        return ip + ip_len <= captured &&
               (addr_len == 4 ? ipv4_at(frame, captured, reported, ip, src, dst, src_port, dst_port, out)
                              : ipv6_at(frame, captured, reported, ip, src, dst, src_port, dst_port, out));
    };
    // Where most frames have it: after an Ethernet header, none (raw IP), a Linux cooked header (v1, v2),
    // a VLAN tag, a BSD loopback header.
    static constexpr size_t kUsual[] = {14, 0, 16, 20, 18, 4};
    for (size_t ip : kUsual)
        if (ip_at(ip)) return true;
    // Every offset an IP header could start at, from the frame's start: link headers, VLAN tags and
    // tunnels put it anywhere in the first bytes. Only the frame's innermost IP header carries the
    // addresses Wireshark reports for the frame, so the first match is the one.
    for (size_t ip = 0; ip + ip_len <= captured && ip <= kMaxHeaderOffset; ++ip)
        if ((frame[ip] >> 4) == (addr_len == 4 ? 4 : 6) && ip_at(ip)) return true;
    return false;
}

bool parse_quoted_segment(const uint8_t* b, size_t len, QuotedSegment& out) {
    if (b == nullptr || len < 1) return false;
    auto be16 = [&](size_t at) { return static_cast<uint32_t>(b[at] << 8 | b[at + 1]); };
    size_t ip = 0;
    uint32_t ip_payload = 0;  // bytes after the IP header(s)
    if ((b[0] >> 4) == 4) {
        ip = static_cast<size_t>(b[0] & 0x0f) * 4;
        if (ip < 20 || len < ip || b[9] != 6 || (be16(6) & 0x1fff) != 0) return false;
        const uint32_t total = be16(2);
        if (total < ip) return false;
        ip_payload = total - static_cast<uint32_t>(ip);
        out.addr_len = 4;
        memcpy(out.src, b + 12, 4);
        memcpy(out.dst, b + 16, 4);
    } else if ((b[0] >> 4) == 6) {
        ip = 40;
        if (len < ip || b[6] != 6) return false;
        ip_payload = be16(4);
        out.addr_len = 16;
        memcpy(out.src, b + 8, 16);
        memcpy(out.dst, b + 24, 16);
    } else {
        return false;
    }
    if (len < ip + 8) return false;
    out.src_port = static_cast<uint16_t>(be16(ip));
    out.dst_port = static_cast<uint16_t>(be16(ip + 2));
    out.seq = be16(ip + 4) << 16 | be16(ip + 6);
    uint32_t tcp = 20;
    if (len > ip + 12 && (b[ip + 12] >> 4) >= 5) tcp = static_cast<uint32_t>(b[ip + 12] >> 4) * 4;
    out.payload = ip_payload > tcp ? ip_payload - tcp : 0;
    out.overhead = static_cast<uint16_t>(ip + tcp);
    return true;
}

TcpTuple TcpTuple::of(const uint8_t* src, const uint8_t* dst, size_t addr_len, uint16_t src_port, uint16_t dst_port) {
    TcpTuple t;
    if (addr_len > sizeof t.addr[0]) addr_len = sizeof t.addr[0];
    t.addr_len = static_cast<uint8_t>(addr_len);
    // The lower endpoint first, so both directions make the same tuple.
    const int c = memcmp(src, dst, addr_len);
    const bool swap = c > 0 || (c == 0 && src_port > dst_port);
    memcpy(t.addr[0], swap ? dst : src, addr_len);
    memcpy(t.addr[1], swap ? src : dst, addr_len);
    t.port[0] = swap ? dst_port : src_port;
    t.port[1] = swap ? src_port : dst_port;
    return t;
}

size_t TcpTupleHash::operator()(const TcpTuple& t) const {
    // Eight bytes at a time, each word mixed in by multiplication (the addresses' low bytes differ
    // most between connections; the final shifts bring them to the bits a hash table uses).
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (static_cast<uint64_t>(t.port[0]) << 16 | t.port[1]);
    for (int side = 0; side < 2; ++side) {
        for (size_t i = 0; i < t.addr_len; i += 8) {
            uint64_t w = 0;
            memcpy(&w, t.addr[side] + i, t.addr_len - i < 8 ? t.addr_len - i : 8);
            h = (h ^ w) * 0xff51afd7ed558ccdull;
            h ^= h >> 32;
        }
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    return static_cast<size_t>(h ^ (h >> 29));
}

namespace {

// The key bytes of a tuple: both addresses, then both ports.
template <size_t AddrLen>
void key_of(const TcpTuple& t, uint8_t (&key)[2 * AddrLen + 4]) {
    memcpy(key, t.addr[0], AddrLen);
    memcpy(key + AddrLen, t.addr[1], AddrLen);
    memcpy(key + 2 * AddrLen, t.port, 4);
}

}  // namespace

namespace {
constexpr size_t kHugePage = 2u << 20;
}

template <typename T>
T* StreamTable::Pages<T>::allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    // Whole huge pages, aligned to one (the size a multiple of the alignment, as aligned_alloc wants).
    const size_t whole = (bytes + kHugePage - 1) / kHugePage * kHugePage;
#if defined(_WIN32)
    // Windows has no aligned_alloc, and its large pages need a privilege a user rarely has: plain
    // pages straight from the system, released whole by deallocate.
    void* p = VirtualAlloc(nullptr, whole, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
#else
    void* p = std::aligned_alloc(kHugePage, whole);
#endif
    if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, whole, MADV_HUGEPAGE);  // a hint: without it (or where refused) the pages are 4 KB
#endif
    return static_cast<T*>(p);
}

template <typename T>
void StreamTable::Pages<T>::deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage)
        ::operator delete(p);
    else
#if defined(_WIN32)
        VirtualFree(p, 0, MEM_RELEASE);
#else
        std::free(p);
#endif
}

// (Instantiated here: the table's inline destructor, wherever it is, frees its slots through them.)
template struct StreamTable::Pages<StreamTable::Slot<4>>;
template struct StreamTable::Pages<StreamTable::Slot<16>>;

template <size_t AddrLen>
StreamTable::Slot<AddrLen>* StreamTable::Flat<AddrLen>::probe(const uint8_t* key, size_t hash) {
    // Linear probing: the slot holding the key, or the empty one where it would go.
    const size_t mask = slots.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        Slot<AddrLen>& s = slots[i];
        if (s.stream_plus_1 == 0 || memcmp(s.key, key, sizeof s.key) == 0) return &s;
    }
}

template <size_t AddrLen>
bool StreamTable::Flat<AddrLen>::set(const uint8_t* key, size_t hash, uint32_t stream) {
    if (stream == UINT32_MAX) return false;
    if (2 * (used + 1) > slots.size()) {
        std::vector<Slot<AddrLen>, Pages<Slot<AddrLen>>> old(std::max<size_t>(64, 2 * slots.size()));
        old.swap(slots);
        for (const Slot<AddrLen>& s : old) {
            if (s.stream_plus_1 == 0) continue;
            TcpTuple t;
            memcpy(t.addr[0], s.key, AddrLen);
            memcpy(t.addr[1], s.key + AddrLen, AddrLen);
            memcpy(t.port, s.key + 2 * AddrLen, 4);
            t.addr_len = AddrLen;
            *probe(s.key, TcpTupleHash{}(t)) = s;
        }
    }
    Slot<AddrLen>* s = probe(key, hash);
    if (s->stream_plus_1 == 0) {
        memcpy(s->key, key, sizeof s->key);
        ++used;
    }
    s->stream_plus_1 = stream + 1;
    if (recent.empty()) recent.resize(kRecent);
    recent_slot(hash) = *s;  // the copy never disagrees with the table
    return true;
}

template <size_t AddrLen>
bool StreamTable::Flat<AddrLen>::find(const uint8_t* key, size_t hash, uint32_t& stream) {
    if (slots.empty()) return false;
    Slot<AddrLen>& copy = recent_slot(hash);
    if (copy.stream_plus_1 == 0 || memcmp(copy.key, key, sizeof copy.key) != 0) {
        const Slot<AddrLen>* s = probe(key, hash);
        if (s->stream_plus_1 == 0) return false;
        copy = *s;
    }
    stream = copy.stream_plus_1 - 1;
    return true;
}

template <typename Fn>
bool StreamTable::with_key(const TcpTuple& t, Fn fn) {
    if (t.addr_len == 4) {
        uint8_t key[12];
        key_of<4>(t, key);
        return fn(v4_, key, TcpTupleHash{}(t));
    }
    if (t.addr_len != 16) return false;
    uint8_t key[36];
    key_of<16>(t, key);
    return fn(v6_, key, TcpTupleHash{}(t));
}

bool StreamTable::find(const TcpTuple& t, uint32_t& stream) {
    return with_key(t, [&](auto& flat, const uint8_t* key, size_t hash) { return flat.find(key, hash, stream); });
}

bool StreamTable::set(const TcpTuple& t, uint32_t stream) {
    return with_key(t, [&](auto& flat, const uint8_t* key, size_t hash) { return flat.set(key, hash, stream); });
}

}  // namespace tdsdiag

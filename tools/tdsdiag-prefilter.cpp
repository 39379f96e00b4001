// tdsdiag-prefilter: copies a capture (classic pcap or pcapng) without the frames tdsdiag cannot
// use, so that tshark dissects only the SQL Server traffic of a mixed capture (scripts/tdsdiag-batch).
//
// usage: tdsdiag-prefilter [-p PORT]... IN OUT    (OUT in IN's format; - for standard output)
// Kept: the first frame (relative times stay the same), every frame that is not Ethernet/IP/TCP or
// cannot be parsed, every UDP frame, and every frame of a TCP connection (by addresses and ports,
// over the whole file) that uses a SQL port (1433, 1434 and each -p) or whose payload anywhere starts
// like TDS or TLS. Of the other TCP connections only what makes Wireshark number tcp.stream the same,
// and of those frames only the headers (Ethernet, IP, TCP; the original length stays): of a connection
// that is alone on its addresses and ports in the file, its first frame; where the ports are reused,
// the first frame in each direction and every SYN, FIN and RST frame.
// pcapng: every block that is not a packet (section and interface descriptions, name resolution,
// statistics, decryption secrets, custom blocks) is copied as it is, in place; only Ethernet
// interfaces' packets are filtered.
// Exit status 3: neither pcap nor pcapng, e.g. gzip-compressed (the caller then runs on the file unfiltered);
// nothing is written then, so that a reader of a pipe from it sees an empty input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

struct Key {
    uint8_t a[2][16] = {};
    uint16_t p[2] = {};
    uint8_t len = 0;
    bool operator==(const Key& o) const { return memcmp(this, &o, sizeof *this) == 0; }
};
struct KeyHash {
    size_t operator()(const Key& k) const {
        uint64_t h = 1469598103934665603ULL;
        const auto* b = reinterpret_cast<const uint8_t*>(&k);
        for (size_t i = 0; i < sizeof k; ++i) h = (h ^ b[i]) * 1099511628211ULL;
        return h;
    }
};

struct Seg {
    bool tcp = false;
    Key key;   // ordered: the smaller endpoint first
    int dir = 0;  // 0 if the sender is key endpoint 0
    uint16_t flags = 0;
    const uint8_t* payload = nullptr;
    size_t payload_len = 0;
};

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
// A 32-bit field of a capture file, in the file's byte order (`swap`: not ours).
uint32_t load32(const uint8_t* p, bool swap) {
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

// False when the frame is not Ethernet/IP/TCP or is cut short: such frames are always kept.
bool parse(const uint8_t* f, size_t n, Seg& s) {
    size_t off = 12;
    if (n < 14) return false;
    uint16_t et = be16(f + off);
    off += 2;
    while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) { et = be16(f + off + 2); off += 4; }
    const uint8_t *src, *dst;
    size_t alen, l4;
    uint8_t proto;
    size_t ip_end;
    if (et == 0x0800) {
        if (n < off + 20 || (f[off] >> 4) != 4) return false;
        size_t ihl = (f[off] & 15) * 4u;
        if (ihl < 20 || n < off + ihl) return false;
        if ((be16(f + off + 6) & 0x3fff) != 0) return false;  // a fragment
        proto = f[off + 9];
        src = f + off + 12; dst = f + off + 16; alen = 4;
        ip_end = off + be16(f + off + 2);
        l4 = off + ihl;
    } else if (et == 0x86dd) {
        if (n < off + 40 || (f[off] >> 4) != 6) return false;
        proto = f[off + 6];
        src = f + off + 8; dst = f + off + 24; alen = 16;
        ip_end = off + 40 + be16(f + off + 4);
        l4 = off + 40;  // extension headers: not TCP here, so the frame is kept
    } else {
        return false;
    }
    if (proto != 6) return false;  // UDP, ICMP and the rest: kept
    if (n < l4 + 20) return false;
    size_t hl = (f[l4 + 12] >> 4) * 4u;
    if (hl < 20) return false;
    uint16_t sp = be16(f + l4), dp = be16(f + l4 + 2);
    s.tcp = true;
    s.flags = be16(f + l4 + 12) & 0x0fff;
    int c = memcmp(src, dst, alen);
    s.dir = (c > 0 || (c == 0 && sp > dp)) ? 1 : 0;
    const uint8_t* e0 = s.dir ? dst : src;
    const uint8_t* e1 = s.dir ? src : dst;
    s.key = Key{};
    memcpy(s.key.a[0], e0, alen);
    memcpy(s.key.a[1], e1, alen);
    s.key.p[0] = s.dir ? dp : sp;
    s.key.p[1] = s.dir ? sp : dp;
    s.key.len = uint8_t(alen);
    size_t pend = ip_end < n ? ip_end : n;
    if (pend > l4 + hl) { s.payload = f + l4 + hl; s.payload_len = pend - l4 - hl; }
    return true;
}

// Whether a segment's payload starts like a TDS packet header or a TLS record (TDS 8 starts with TLS).
bool looks_sql(const uint8_t* p, size_t n) {
    if (n < 8) return n > 0 && (p[0] == 0x12 || p[0] == 0x10 || p[0] == 0x16);
    uint8_t t = p[0];
    if (t == 0x16 && p[1] == 0x03) return true;
    bool tds_type = t == 1 || t == 2 || t == 3 || t == 4 || t == 6 || t == 7 || t == 0x0e || t == 0x0f ||
                    t == 0x10 || t == 0x11 || t == 0x12 || t == 0x17;
    uint16_t len = be16(p + 2);
    return tds_type && p[1] <= 0x1f && len >= 8;
}

// One record of a pcap file (a 16-byte header and the frame) or one block of a pcapng file.
struct Record {
    const uint8_t* hdr;  // the record's or block's first byte
    size_t len;          // its whole length
    const uint8_t* data; // the frame, nullptr for a pcapng block that holds none
    size_t incl;         // the frame's captured length
    bool ethernet;       // the frame's link type is Ethernet
    uint8_t kind;        // how a shorter copy is written: kPcap, kEpb (pcapng enhanced packet) or kAsIs
    bool swap;           // the file's or section's byte order differs from ours
};
enum : uint8_t { kAsIs, kPcap, kEpb };

// The blocks of a pcapng file from `off` on (the first is a section header), each handed to
// `on_record`. Returns where the blocks that could be read end; a cut or malformed block ends the walk
// (the rest is copied unread).
template <class OnRecord>
size_t pcapng_records(const uint8_t* b, size_t n, OnRecord on_record) {
    size_t off = 0;
    bool swap = false;
    std::vector<uint16_t> links;  // link type of each interface of the current section
    auto u32 = [&](const uint8_t* p) { return load32(p, swap); };
    auto u16 = [&](const uint8_t* p) {
        uint16_t v;
        memcpy(&v, p, 2);
        return swap ? __builtin_bswap16(v) : v;
    };
    while (off + 12 <= n) {
        uint32_t type;
        memcpy(&type, b + off, 4);
        if (type == 0x0a0d0d0a) {  // section header: its byte-order magic sets the order of what follows
            if (off + 28 > n) break;
            uint32_t bom;
            memcpy(&bom, b + off + 8, 4);
            if (bom == 0x1a2b3c4d) swap = false;
            else if (bom == 0x4d3c2b1a) swap = true;
            else break;
            links.clear();
        } else {
            type = u32(b + off);
        }
        const size_t len = u32(b + off + 4);
        if (len < 12 || len % 4 != 0 || off + len > n) break;
        const uint8_t* body = b + off + 8;
        const size_t body_len = len - 12;
        Record r{b + off, len, nullptr, 0, false, kAsIs, swap};
        if (type == 1 && body_len >= 8) {  // interface description
            links.push_back(u16(body));
        } else if (type == 6 && body_len >= 20) {  // enhanced packet
            const uint32_t ifc = u32(body), cap = u32(body + 12);
            if (cap <= body_len - 20) {
                r.data = body + 20;
                r.incl = cap;
                r.ethernet = ifc < links.size() && links[ifc] == 1;
                r.kind = kEpb;
            }
        } else if (type == 3 && body_len >= 4) {  // simple packet: interface 0, length from the block
            const uint32_t orig = u32(body);
            r.data = body + 4;
            r.incl = orig < body_len - 4 ? orig : body_len - 4;
            r.ethernet = !links.empty() && links[0] == 1;
        } else if (type == 2 && body_len >= 20) {  // packet (obsolete)
            const uint32_t ifc = u16(body), cap = u32(body + 12);
            if (cap <= body_len - 20) {
                r.data = body + 20;
                r.incl = cap;
                r.ethernet = ifc < links.size() && links[ifc] == 1;
            }
        }
        on_record(r);
        off += len;
    }
    return off;
}

// Writes a record with only the first `snap` bytes of its frame (the frame's original length stays, as in
// a capture made with a snapshot length): what is written for the frames of other TCP connections, whose
// payload Wireshark would otherwise hand to HTTP and the rest for nothing. Returns false (nothing
// written) where the record cannot be shortened this way.
bool write_snapped(const Record& r, size_t snap, FILE* out) {
    auto put32 = [&](uint8_t* p, uint32_t v) {
        if (r.swap) v = __builtin_bswap32(v);
        memcpy(p, &v, 4);
    };
    if (r.kind == kPcap) {
        uint8_t h[16];
        memcpy(h, r.hdr, 16);
        put32(h + 8, uint32_t(snap));
        return fwrite(h, 1, 16, out) == 16 && fwrite(r.data, 1, snap, out) == snap;
    }
    if (r.kind != kEpb) return false;
    // type, length, interface, timestamp (2), captured and original length, the frame padded to 4 bytes,
    // the options as they were, the length again.
    const size_t old_pad = (r.incl + 3) & ~size_t(3), new_pad = (snap + 3) & ~size_t(3);
    const size_t opts_at = 28 + old_pad;
    if (opts_at + 4 > r.len) return false;
    const size_t opts_len = r.len - 4 - opts_at;
    const uint32_t len = uint32_t(28 + new_pad + opts_len + 4);
    uint8_t h[28];
    memcpy(h, r.hdr, 28);
    put32(h + 4, len);
    put32(h + 20, uint32_t(snap));
    static const uint8_t zeros[4] = {};
    uint8_t t[4];
    put32(t, len);
    return fwrite(h, 1, 28, out) == 28 && fwrite(r.data, 1, snap, out) == snap &&
           fwrite(zeros, 1, new_pad - snap, out) == new_pad - snap &&
           fwrite(r.hdr + opts_at, 1, opts_len, out) == opts_len && fwrite(t, 1, 4, out) == 4;
}

// What the first pass learns: every record, each frame's connection (by addresses and ports) and
// what the second pass needs of the frame.
struct Conn {
    bool sql = false;           // kept whole: SQL Server, or a connection to itself
    bool first_is_syn = false;  // its first frame is a SYN (without ACK)
    uint32_t syns = 0;          // SYN frames (without ACK), retransmissions included
    uint8_t seen = 0;           // a bit per direction: a frame of it written already
};
constexpr uint32_t kNone = UINT32_MAX;
struct Frame {
    uint32_t conn = kNone;  // index into conns; kNone: not Ethernet/IP/TCP or cannot be parsed
    uint16_t flags = 0;
    uint16_t hdr_len = 0;   // where the TCP payload starts
    uint8_t dir = 0;
    bool payload = false;
};
struct Scan {
    std::vector<Record> recs;
    std::vector<Frame> frames;  // one per record
    std::vector<Conn> conns;
    std::unordered_map<Key, uint32_t, KeyHash> ids;  // each connection's index into conns
};
using Ports = std::unordered_set<uint16_t>;

void add(Scan& sc, const Record& rec, const Ports& ports) {
    sc.recs.push_back(rec);
    Frame f;
    Seg s;
    if (rec.data != nullptr && rec.ethernet && parse(rec.data, rec.incl, s)) {
        const auto [it, fresh] = sc.ids.try_emplace(s.key, uint32_t(sc.conns.size()));
        const bool syn = (s.flags & 0x12) == 0x02;
        if (fresh) {
            sc.conns.emplace_back();
            sc.conns.back().first_is_syn = syn;
        }
        Conn& c = sc.conns[it->second];
        c.syns += syn;
        if (ports.count(s.key.p[0]) || ports.count(s.key.p[1]) || (s.payload_len && looks_sql(s.payload, s.payload_len)))
            c.sql = true;
        // A connection from an address and port to the same address and port (both directions look
        // alike, and Wireshark 4.4 numbers its streams by more than its SYNs): kept whole, like SQL.
        if (s.key.p[0] == s.key.p[1] && memcmp(s.key.a[0], s.key.a[1], sizeof s.key.a[0]) == 0) c.sql = true;
        f = Frame{it->second, s.flags, uint16_t(s.payload_len ? s.payload - rec.data : 0), uint8_t(s.dir),
                  s.payload_len != 0};
    }
    sc.frames.push_back(f);
}

// What comes after `into` in the file, appended: the same connections merged (the first frame and so
// the first SYN are `into`'s), the others numbered on.
void append(Scan& into, Scan& from) {
    std::vector<uint32_t> id(from.conns.size());
    for (const auto& [key, c] : from.ids) {
        const auto [it, fresh] = into.ids.try_emplace(key, uint32_t(into.conns.size()));
        if (fresh) {
            into.conns.push_back(from.conns[c]);
        } else {
            Conn& to = into.conns[it->second];
            to.syns += from.conns[c].syns;
            to.sql = to.sql || from.conns[c].sql;
        }
        id[c] = it->second;
    }
    for (Frame f : from.frames) {
        if (f.conn != kNone) f.conn = id[f.conn];
        into.frames.push_back(f);
    }
    into.recs.insert(into.recs.end(), from.recs.begin(), from.recs.end());
}

// A classic pcap file's records from `off` on, up to the first that starts at or after `stop`.
// Returns where the walk ended: `stop` or later, or where a record is cut short.
struct PcapFormat {
    bool swap;
    bool ethernet;
    bool nanoseconds;
    uint32_t u32(const uint8_t* p) const { return load32(p, swap); }
};
size_t walk_pcap(const uint8_t* b, size_t n, size_t off, size_t stop, const PcapFormat& pf, Scan& sc, const Ports& ports) {
    while (off < stop && off + 16 <= n) {
        const size_t incl = pf.u32(b + off + 8);
        if (off + 16 + incl > n) break;
        add(sc, Record{b + off, 16 + incl, b + off + 16, incl, pf.ethernet, kPcap, pf.swap}, ports);
        off += 16 + incl;
    }
    return off;
}

// A place at or after `from` where a chain of 32 plausible record headers begins (or reaches the end
// of the file): where a second thread can start walking. 0 if none within 1 MB. The walk of the first
// part must then end exactly there, or the second thread's work is thrown away.
size_t pcap_boundary(const uint8_t* b, size_t n, size_t from, const PcapFormat& pf) {
    const uint32_t first_s = pf.u32(b + 24);
    const uint32_t frac_limit = pf.nanoseconds ? 1000000000u : 1000000u;
    for (size_t o = from; o + 16 <= n && o < from + (1u << 20); ++o) {
        size_t p = o;
        int ok = 0;
        while (ok < 32 && p + 16 <= n) {
            const uint32_t sec = pf.u32(b + p), frac = pf.u32(b + p + 4), incl = pf.u32(b + p + 8), orig = pf.u32(b + p + 12);
            const uint32_t ds = sec > first_s ? sec - first_s : first_s - sec;
            if (frac >= frac_limit || incl > orig || orig > (1u << 24) || ds > 10u * 366 * 86400 || p + 16 + incl > n) break;
            p += 16 + incl;
            ++ok;
        }
        if (ok == 32 || (ok > 0 && p == n)) return o;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    static const char usage[] =
        "usage: tdsdiag-prefilter [-p PORT]... IN OUT\n"
        "Copies the capture IN (pcap or pcapng) to OUT (- for standard output) without the frames tdsdiag\n"
        "cannot use: of TCP connections that are not SQL Server (no port 1433, 1434 or -p PORT, no payload\n"
        "starting like TDS or TLS), only the headers of the frames Wireshark needs to number tcp.stream the\n"
        "same. tdsdiag-batch runs it before tshark.\n"
        "  -p PORT     one more SQL Server port (may repeat)\n"
        "  -h, --help  this text\n"
        "Exit status: 0 done, 2 an error, 3 IN is neither pcap nor pcapng (e.g. gzip-compressed): nothing written.\n";
    std::unordered_set<uint16_t> ports{1433, 1434};
    int i = 1;
    if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) { fputs(usage, stdout); return 0; }
    for (; i + 1 < argc && std::string(argv[i]) == "-p"; i += 2) {
        char* end = nullptr;
        const unsigned long port = strtoul(argv[i + 1], &end, 10);
        if (end == argv[i + 1] || *end != '\0' || port == 0 || port > 65535) {
            fprintf(stderr, "tdsdiag-prefilter: -p needs a port (1-65535), not '%s'\n", argv[i + 1]);
            return 2;
        }
        ports.insert(uint16_t(port));
    }
    if (argc - i != 2) { fputs(usage, stderr); return 2; }
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) { perror(argv[i]); return 2; }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 24) { close(fd); return 3; }
    // Mapped, not read: a copy in memory costs a page fault for every 4 KB first touched (bench/run).
    void* map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) { perror(argv[i]); return 2; }
    madvise(map, size_t(st.st_size), MADV_SEQUENTIAL);
    struct View { const uint8_t* p; size_t n; const uint8_t* data() const { return p; } size_t size() const { return n; } };
    View buf{static_cast<const uint8_t*>(map), size_t(st.st_size)};
    if (buf.size() < 24) return 3;
    uint32_t magic;
    memcpy(&magic, buf.data(), 4);
    Scan sc;
    sc.recs.reserve(buf.size() / 1000);
    sc.frames.reserve(buf.size() / 1000);
    size_t head = 0;  // bytes copied before the records (the pcap file header)
    size_t tail;      // where the readable records end (a cut last record is copied as it is)
    if (magic == 0x0a0d0d0a) {
        tail = pcapng_records(buf.data(), buf.size(), [&](const Record& r) { add(sc, r, ports); });
        if (sc.recs.empty()) return 3;
    } else {
        PcapFormat pf{};
        if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) pf.swap = false;
        else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) pf.swap = true;
        else return 3;
        pf.nanoseconds = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
        pf.ethernet = (pf.u32(buf.data() + 20) & 0x0fffffff) == 1;
        head = 24;
        // A large file is read by two threads, each half of it (the page faults of a mapped file are
        // most of the time); TDSDIAG_PREFILTER_SPLIT_BYTES sets the size from which (tests: 0).
        const char* split_env = getenv("TDSDIAG_PREFILTER_SPLIT_BYTES");
        const size_t split_from = split_env ? size_t(strtoull(split_env, nullptr, 10)) : size_t(256) << 20;
        const size_t mid = buf.size() >= split_from && buf.size() > 64 && std::thread::hardware_concurrency() > 1
                               ? pcap_boundary(buf.data(), buf.size(), 24 + (buf.size() - 24) / 2, pf)
                               : 0;
        if (mid > 24) {
            Scan second;
            size_t second_end = 0;
            std::thread t([&] { second_end = walk_pcap(buf.data(), buf.size(), mid, SIZE_MAX, pf, second, ports); });
            const size_t first_end = walk_pcap(buf.data(), buf.size(), 24, mid, pf, sc, ports);
            t.join();
            if (first_end == mid) {
                append(sc, second);
                tail = second_end;
                fprintf(stderr, "tdsdiag-prefilter: read by two threads from offset %zu\n", mid);
            } else {  // the second thread started inside a record: the rest again, in this one
                tail = walk_pcap(buf.data(), buf.size(), first_end, SIZE_MAX, pf, sc, ports);
                fprintf(stderr, "tdsdiag-prefilter: offset %zu is inside a record: read by one thread\n", mid);
            }
        } else {
            tail = walk_pcap(buf.data(), buf.size(), 24, SIZE_MAX, pf, sc, ports);
        }
    }
    const std::vector<Record>& recs = sc.recs;
    const std::vector<Frame>& frames_of = sc.frames;
    std::vector<Conn>& conns = sc.conns;
    const bool to_stdout = std::string(argv[i + 1]) == "-";
    FILE* out = to_stdout ? stdout : fopen(argv[i + 1], "wb");
    if (!out) { perror(argv[i + 1]); return 2; }
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    fwrite(buf.data(), 1, head, out);
    size_t kept = 0, frames = 0, snapped = 0;
    bool first = true;
    for (size_t r = 0; r < recs.size(); ++r) {
        if (recs[r].data == nullptr) {  // a pcapng block without a frame: always copied
            fwrite(recs[r].hdr, 1, recs[r].len, out);
            continue;
        }
        ++frames;
        const Frame& f = frames_of[r];
        bool keep = first || f.conn == kNone, whole = keep;
        first = false;
        if (!keep) {
            Conn& c = conns[f.conn];
            // One connection on these addresses and ports in the whole file (no SYN, or one SYN that
            // begins it): its first frame gives it its tcp.stream, and nothing later can start another.
            // Otherwise what Wireshark looks at to start a new stream on reused ports: the first frame
            // in each direction (the base sequence numbers) and every SYN, FIN and RST.
            const bool single = c.syns == 0 || (c.syns == 1 && c.first_is_syn);
            whole = c.sql;
            if (whole || (!single && (f.flags & 0x07))) keep = true;
            if (!(c.seen & (1u << f.dir)) && (!single || c.seen == 0)) keep = true;
            c.seen |= uint8_t(1u << f.dir);
        }
        if (!keep) continue;
        ++kept;
        // A frame of another connection: its headers only.
        if (!whole && f.payload && write_snapped(recs[r], f.hdr_len, out)) {
            ++snapped;
            continue;
        }
        fwrite(recs[r].hdr, 1, recs[r].len, out);
    }
    if (tail < buf.size()) fwrite(buf.data() + tail, 1, buf.size() - tail, out);
    if (fclose(out) != 0) { perror(argv[i + 1]); return 2; }
    fprintf(stderr, "tdsdiag-prefilter: %zu of %zu frames kept, %zu of them cut to their headers\n", kept, frames, snapped);
    return 0;
}

// The per-file state of the plugin, in one place: what the first pass found for each frame
// (FrameStore), the core's Analyzer, and the capture's start. Made by the init routine and dropped by
// the cleanup routine, which Wireshark calls as each capture file opens and closes (file_state.cpp).
// frames.cpp fills it on the first pass and renders from it; statistics.cpp reads it for the taps.
#pragma once

#include <epan/packet.h>
#include <wsutil/wmem/wmem.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "tdsdiag/analyzer.hpp"
#include "tdsdiag/tcp_header.hpp"

namespace tdsdiag_plugin {

constexpr guint8 kNoStep = 0xff;

// One diagnosis of a frame, its texts in packet scope.
struct DiagData {
    guint8 code;      // tdsdiag::Code
    guint8 severity;  // tdsdiag::Severity
    const char* text;
    const char* detail;  // nullptr when empty
    guint32 answered_in;  // the frame that answered it (tdsdiag.attention.ack_frame), 0 if none
    gint64 answer_delay_ns;
};

enum FrameKind : guint8 { kTcpFrame = 0, kBrowserFrame = 1, kKerberosFrame = 2, kDnsFrame = 3 };

// What a TCP frame is, for the Flow Graph's label (statistics.cpp), read on the first pass (later
// passes do not prime the fields): `flow_flags` holds the TCP flags FIN, SYN, RST, PSH, ACK (0x1f) and
// the marks below; `flow_what` the first TLS handshake type | kFlowTls, else the first TDS packet type,
// else kFlowTlsData for TLS records without a handshake, else 0.
constexpr guint8 kFlowLoginAck = 0x20, kFlowError = 0x40, kFlowTlsAlert = 0x80;
constexpr guint8 kFlowTls = 0x80, kFlowTlsData = 0x7f;

// What the first pass found for one frame; lives in file scope. Also what the tdsdiag tap carries.
struct FrameData {
    guint8 kind;     // FrameKind
    guint32 stream;  // TCP stream, the SQL Browser lookup's id, the Kerberos refusal's id, or the DNS lookup's id
    guint8 step;  // kNoStep when the capture cannot tell
    gboolean first;
    gboolean has_delta;
    nstime_t delta;
    guint n_diags;    // the diagnoses the first pass found on the frame
    DiagData* diags;  // on the first pass only (packet scope); later passes ask the core again
    guint8 flow_flags, flow_what;  // what the frame is (see kFlowLoginAck), TCP frames only
};

// Whether a later pass should ask the core for the frame's diagnoses: those the first pass found, and
// a connection's opening SYN, which may get one later (issue 31: a parallel attempt the client
// abandoned, known only once another attempt went on).
inline bool diagnoses_may_change(const FrameData* fd) {
    return fd->n_diags != 0 || (fd->first && fd->step == 1 /* Step::TcpHandshake */);
}

// The frame's absolute time in nanoseconds.
inline int64_t frame_time_ns(const packet_info* pinfo) {
    return static_cast<int64_t>(pinfo->abs_ts.secs) * 1000000000 + pinfo->abs_ts.nsecs;
}

inline nstime_t to_nstime(int64_t ns) {
    nstime_t t;
    t.secs = static_cast<time_t>(ns / 1000000000);
    t.nsecs = static_cast<int>(ns % 1000000000);
    return t;
}

// What the first pass found, by frame number, for the frames that are ours: 12 bytes a frame, in pages
// of 65,536 frames made as frames of ours reach them. Frames that open a step or carry diagnoses keep
// 16 bytes more: the step's delta and how many diagnoses (their texts are made again from the
// core's findings whenever the frame is shown). (Proto data, p_add_proto_data, cost about 40
// bytes and 300 instructions a frame.)
class FrameStore {
public:
    void put(guint32 frame, const FrameData& fd) {
        Kept& k = slot(frame);
        k.stream = fd.stream;
        k.step = fd.step;
        k.kind = static_cast<guint8>(fd.kind | kKnown);
        k.flow_flags = fd.flow_flags;
        k.flow_what = fd.flow_what;
        k.extra = 0;
        if (fd.first || fd.has_delta || fd.n_diags != 0) {
            Extra e;
            e.delta_ns = fd.has_delta ? static_cast<gint64>(fd.delta.secs) * 1000000000 + fd.delta.nsecs : 0;
            e.n_diags = fd.n_diags;
            e.flags = static_cast<guint8>((fd.first ? kFirst : 0) | (fd.has_delta ? kHasDelta : 0));
            extras_.push_back(e);
            k.extra = static_cast<guint32>(extras_.size());  // its index + 1
        }
    }
    // The frame's FrameData in packet scope, or nullptr when the frame is not ours.
    const FrameData* get(packet_info* pinfo) const {
        const size_t page = pinfo->num >> kPageBits;
        if (page >= pages_.size() || !pages_[page]) return nullptr;
        const Kept& k = pages_[page][pinfo->num & kPageMask];
        if ((k.kind & kKnown) == 0) return nullptr;
        auto* fd = wmem_new0(pinfo->pool, FrameData);
        fd->kind = static_cast<guint8>(k.kind & ~kKnown);
        fd->stream = k.stream;
        fd->step = k.step;
        fd->flow_flags = k.flow_flags;
        fd->flow_what = k.flow_what;
        if (k.extra != 0) {
            const Extra& e = extras_[k.extra - 1];
            fd->first = (e.flags & kFirst) != 0;
            fd->has_delta = (e.flags & kHasDelta) != 0;
            fd->delta = to_nstime(e.delta_ns);
            fd->n_diags = e.n_diags;
        }
        return fd;
    }

private:
    struct Extra {
        gint64 delta_ns;
        guint32 n_diags;
        guint8 flags;     // kFirst, kHasDelta
    };
    static constexpr guint8 kFirst = 1, kHasDelta = 2;
    struct Kept {
        guint32 stream;
        guint32 extra;  // 0, or the index + 1 of the frame's FrameData in extras_
        guint8 step;
        guint8 kind;    // FrameKind, with kKnown set for frames of ours
        guint8 flow_flags, flow_what;  // in what would be padding: still 12 bytes
    };
    static_assert(sizeof(Kept) == 12, "a frame's Kept grew");
    static constexpr guint8 kKnown = 0x80;
    static constexpr unsigned kPageBits = 16;
    static constexpr guint32 kPageMask = (1u << kPageBits) - 1;
    Kept& slot(guint32 frame) {
        const size_t page = frame >> kPageBits;
        if (page >= pages_.size()) pages_.resize(page + 1);
        if (!pages_[page]) pages_[page].reset(new Kept[kPageMask + 1]());
        return pages_[page][frame & kPageMask];
    }
    std::vector<std::unique_ptr<Kept[]>> pages_;
    std::deque<Extra> extras_;  // grows without copying
};

// What tdsdiag keeps for the open capture file: made by the init routine, dropped by the cleanup
// routine, which Wireshark calls as each file opens and closes. The plugin's only analysis state.
struct FileState {
    explicit FileState(tdsdiag::Config config) : analyzer(std::move(config)) {}
    tdsdiag::Analyzer analyzer;
    tdsdiag::Packet packet;     // reused for every frame to keep its buffers
    bool packet_dirty = true;   // whether `packet` may hold payload fields or addresses (see analyze_frame)
    FrameStore frames;          // the first pass's result of each frame
    // The TCP stream of each connection seen, by addresses and ports (see tcp_stream).
    tdsdiag::StreamTable tcp_streams;
    bool have_start = false;    // the capture's first frame has been seen ...
    int64_t capture_start_ns = 0;  // ... at this time
};
// The open file's state; nullptr between files (or when it could not be made).
extern FileState* g_file;

// Registered as Wireshark's init and cleanup routines: the state of a new file, made from the
// preferences as they are now (registration.cpp reads them), and its end.
void file_init();
void file_cleanup();

}  // namespace tdsdiag_plugin

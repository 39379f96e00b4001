// What happens to each frame: on the first pass, read the primed fields into a tdsdiag::Packet, feed
// the core and keep the frame's result (FrameStore, file_state.hpp); on every pass, render the kept
// result and the connection's summary as tree items, expert infos and the Info column, and queue the
// frame for the tdsdiag tap (statistics.cpp).
// Wireshark errors unwind with longjmp, so the functions that call proto_tree_add_* hold no C++
// object with a destructor, and no C++ exception leaves the core calls.
#include "frames.hpp"

#include <epan/dissectors/packet-tcp.h>  // get_tcp_conversation_data: the stream of a new connection
#include <epan/to_str.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/tap.h>
#include <wsutil/wmem/wmem.h>

#include <exception>
#include <string>
#include <vector>

#include "tdsdiag/analyzer.hpp"
#include "tdsdiag/report.hpp"
#include "tdsdiag/tcp_header.hpp"
#include "tdsdiag/portable.hpp"
#include "file_state.hpp"
#include "registration.hpp"
#include "ssrp.hpp"
#include "statistics.hpp"
#include "tds8.hpp"
#include "version_compat.hpp"
#include "wanted_fields.hpp"

namespace tdsdiag_plugin {
namespace {

// "_ws.expert": a filter on it needs our tree items to hang expert infos on. Registered after our
// handoff, so it is looked up on the first frame (kNotLooked until then).
constexpr int kNotLooked = -2;
int proto_expert_info = kNotLooked;
int expert_tap = -1;  // Wireshark's expert info tap, looked up with it

// Two addresses as text (packet scope while converted), "" where Wireshark has none.
void addresses_text(packet_info* pinfo, const address* src, const address* dst, std::string& src_text,
                    std::string& dst_text) {
    const char* s = address_to_str(pinfo->pool, src);
    const char* d = address_to_str(pinfo->pool, dst);
    src_text = s ? s : "";
    dst_text = d ? d : "";
}

// An SQL Browser lookup as seen from one of its frames, in packet scope, ready to render.
struct BrowserView {
    gboolean known;
    guint32 request_frame, answer_frame;  // 0 if none
    gboolean has_delay;
    nstime_t delay;
    gboolean linked;
    guint32 conn_stream, conn_frame;
    guint n_diags;
    DiagData* diags;
};

// A KDC's refusal of a SQL Server SPN as known now.
struct KerberosView {
    gboolean known;
    const char* spn;  // packet scope
    gint32 error_code;
    guint32 error_frame, request_frame;  // request_frame 0 if not seen
    gboolean linked;
    guint32 conn_stream, conn_frame;
    guint n_diags;
    DiagData* diags;
};

// The diagnoses in `scope`, their texts copied there too.
DiagData* copy_diagnoses(wmem_allocator_t* scope, const std::vector<tdsdiag::Diagnosis>& diags) {
    if (diags.empty()) return nullptr;
    auto* out = wmem_alloc_array(scope, DiagData, diags.size());
    for (size_t i = 0; i < diags.size(); ++i) {
        out[i].code = static_cast<guint8>(diags[i].code);
        out[i].severity = static_cast<guint8>(diags[i].severity);
        out[i].text = wmem_strdup(scope, diags[i].text.c_str());
        out[i].detail = diags[i].detail.empty() ? nullptr : wmem_strdup(scope, diags[i].detail.c_str());
        out[i].answered_in = diags[i].answered_in;
        out[i].answer_delay_ns = diags[i].answer_delay_ns;
    }
    return out;
}

// The first pass's result for one frame (in packet scope; keep_frame keeps it), nullptr when the
// frame is not ours.
FrameData* to_frame_data(packet_info* pinfo, const tdsdiag::FrameResult& r, FrameKind kind, guint32 stream) {
    if (!r.in_connection) return nullptr;
    auto* fd = wmem_new0(pinfo->pool, FrameData);
    fd->kind = kind;
    fd->stream = stream;
    fd->step = r.step ? static_cast<guint8>(*r.step) : kNoStep;
    fd->first = r.step_first;
    if (r.step_delta_ns) {
        fd->has_delta = TRUE;
        fd->delta = to_nstime(*r.step_delta_ns);
    }
    fd->diags = copy_diagnoses(pinfo->pool, r.diagnoses);
    fd->n_diags = static_cast<guint>(r.diagnoses.size());
    return fd;
}

// What a TCP frame is, for the Flow Graph (file_state.hpp: kFlowLoginAck...).
void flow_marks(const tdsdiag::Packet& p, FrameData* fd) {
    guint8 flags = static_cast<guint8>(p.tcp_flags & 0x1f);
    if (p.login_ack) flags |= kFlowLoginAck;
    if (!p.errors.empty()) flags |= kFlowError;
    if (!p.tls_alerts.empty()) flags |= kFlowTlsAlert;
    fd->flow_flags = flags;
    if (!p.tls_handshake_types.empty())
        fd->flow_what = static_cast<guint8>(p.tls_handshake_types.front() | kFlowTls);
    else if (!p.tds_types.empty())
        fd->flow_what = p.tds_types.front();
    else if (!p.tls_content_types.empty())
        fd->flow_what = kFlowTlsData;
}

// The frame's TCP stream index (tcp.stream): Wireshark's TCP conversation is asked once per
// connection, and again at each SYN (the only segment that can start a new stream on the same
// addresses and ports); other frames take it from the file's tcp_streams (`known`: found there, and `stream`
// holds it). False if Wireshark has none.
bool tcp_stream(packet_info* pinfo, const tdsdiag::TcpTuple& tuple, bool known, const tdsdiag::TcpHeaderAt* header,
                guint32& stream) {
    if (known && (header == nullptr || !(header->flags & tdsdiag::kSyn))) return true;
    // Only once TCP has read the header whole has it found or made the frame's conversation:
    // asking earlier would make one (and shift Wireshark's own stream numbers).
    if (header == nullptr) return false;
    const struct tcp_analysis* tcpd = get_tcp_conversation_data(nullptr, pinfo);
    if (tcpd == nullptr) return false;
    stream = tcpd->stream;
    // On a SYN of a known tuple, perhaps a new connection on the same addresses and ports.
    g_file->tcp_streams.set(tuple, stream);
    return true;
}

// What Wireshark's TCP saw of the frame's stream before it: its first frame, and whether that was
// the SYN (TCP's conversation completeness, bit 1). False if TCP has no conversation for it.
bool stream_start(packet_info* pinfo, tdsdiag::StreamStart& start) {
    const struct tcp_analysis* tcpd = get_tcp_conversation_data(nullptr, pinfo);
    const conversation_t* conv = find_conversation_pinfo(pinfo, 0);
    if (tcpd == nullptr || conv == nullptr) return false;
    start.frame = conv->setup_frame;
    start.ns = static_cast<int64_t>(tcpd->ts_first.secs) * 1000000000 + tcpd->ts_first.nsecs;
    start.syn = (tcpd->conversation_completeness & 0x01) != 0;
    return true;
}

// First pass: the core's verdict on this frame, or nullptr when the frame is not ours.
// The frame's addresses and ports as a TCP tuple; false unless it is TCP over IPv4 or IPv6.
bool frame_tuple(const packet_info* pinfo, tdsdiag::TcpTuple& tuple) {
    if (pinfo->ptype != PT_TCP || pinfo->src.type != pinfo->dst.type || pinfo->src.len != pinfo->dst.len ||
        (pinfo->src.len != 4 && pinfo->src.len != 16))
        return false;
    tuple = tdsdiag::TcpTuple::of(static_cast<const uint8_t*>(pinfo->src.data), static_cast<const uint8_t*>(pinfo->dst.data),
                                  static_cast<size_t>(pinfo->src.len), static_cast<uint16_t>(pinfo->srcport),
                                  static_cast<uint16_t>(pinfo->destport));
    return true;
}

// First pass of an ICMP or ICMPv6 error quoting a segment of a known connection (issue 31): Wireshark
// reports the error's own addresses for the frame, so the quoted segment's come from its bytes.
TDSDIAG_COLD FrameData* analyze_icmp_frame(packet_info* pinfo, proto_tree* tree) {
    try {
        tdsdiag_plugin::IcmpQuote q;
        tdsdiag::QuotedSegment s;
        if (!tdsdiag_plugin::read_icmp_quote(tree, q) || !tdsdiag::parse_quoted_segment(q.data, q.len, s)) return nullptr;
        guint32 stream = 0;
        if (!g_file->tcp_streams.find(tdsdiag::TcpTuple::of(s.src, s.dst, s.addr_len, s.src_port, s.dst_port), stream))
            return nullptr;
        tdsdiag::Packet& p = g_file->packet;
        p.clear();
        g_file->packet_dirty = true;
        p.stream = stream;
        p.frame = pinfo->num;
        p.time_ns = frame_time_ns(pinfo);
        p.src_port = s.src_port;
        p.dst_port = s.dst_port;
        address src, dst;
        const address_type at = s.addr_len == 4 ? AT_IPv4 : AT_IPv6;
        set_address(&src, at, s.addr_len, s.src);
        set_address(&dst, at, s.addr_len, s.dst);
        addresses_text(pinfo, &src, &dst, p.src_addr, p.dst_addr);
        p.tcp_seq = s.seq;
        p.tcp_len = s.payload;
        p.icmp_error = true;
        p.icmp_mtu = q.mtu;
        p.icmp_overhead = s.overhead;
        return to_frame_data(pinfo, g_file->analyzer.on_packet(p, nullptr), kTcpFrame, stream);
    } catch (const std::exception&) {
        return nullptr;
    }
}

TDSDIAG_NOINLINE FrameData* analyze_frame(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree) {
    if (g_file == nullptr || tree == nullptr) return nullptr;
    // An ICMP error quoting a segment is read from the quoted bytes: what pinfo holds after it differs
    // between releases (4.0: the error's addresses and the quoted ports; 4.4: ICMP restores its own, no TCP).
    if (tdsdiag_plugin::is_icmp(tree)) return analyze_icmp_frame(pinfo, tree);
    tdsdiag::TcpTuple tuple;
    if (!frame_tuple(pinfo, tuple)) return nullptr;
    const auto src_port = static_cast<uint16_t>(pinfo->srcport);
    const auto dst_port = static_cast<uint16_t>(pinfo->destport);
    try {
        guint32 stream = 0;
        const bool known = g_file->tcp_streams.find(tuple, stream);
        // Other traffic costs a lookup here and one in the tree: a connection not seen before, between
        // other ports, carrying no TDS.
        const bool could_start = g_file->analyzer.could_start(src_port, dst_port);
        if (!known && !could_start && !tdsdiag_plugin::has_tds(tree)) return nullptr;
        tdsdiag::TcpHeaderAt h;
        const tdsdiag::TcpHeaderAt* header = tdsdiag_plugin::locate_tcp(tvb, pinfo, h) ? &h : nullptr;
        if (!tcp_stream(pinfo, tuple, known, header, stream)) return nullptr;
        const bool tracked = g_file->analyzer.find(stream) != nullptr;
        if (!could_start && !tracked && !tdsdiag_plugin::has_tds(tree)) return nullptr;
        tdsdiag::Packet& p = g_file->packet;
        // A frame without payload leaves the payload fields empty: the next one need not clear them.
        if (g_file->packet_dirty)
            p.clear();
        else
            p.clear_header();
        g_file->packet_dirty = true;  // until this frame is read without an exception
        p.stream = stream;
        if (!tdsdiag_plugin::read_packet(tree, tvb, header, pinfo, g_file->analyzer.wants_login_fields(stream),
                                         g_file->analyzer.wants_checksum(stream), p))
            return nullptr;
        p.frame = pinfo->num;
        p.time_ns = frame_time_ns(pinfo);
        p.src_port = static_cast<uint16_t>(pinfo->srcport);
        p.dst_port = static_cast<uint16_t>(pinfo->destport);
        // Addresses are needed when a connection starts, or to tell sides apart on equal ports.
        if (p.src_port == p.dst_port || !tracked) {
            addresses_text(pinfo, &pinfo->src, &pinfo->dst, p.src_addr, p.dst_addr);
        }
        // A connection taken up by its first TDS message on a port that is not a SQL Server port: it
        // began at its handshake, and the TDS dissector gets the rest of it.
        tdsdiag::StreamStart start;
        const bool late = !tracked && !could_start && stream_start(pinfo, start);
        FrameData* fd = to_frame_data(pinfo, g_file->analyzer.on_packet(p, late ? &start : nullptr), kTcpFrame, p.stream);
        if (fd != nullptr) flow_marks(p, fd);
        g_file->packet_dirty = p.has_payload_fields();
        if (late && fd != nullptr) tdsdiag_plugin::claim_for_tds(pinfo);
        return fd;
    } catch (const std::exception&) {
        return nullptr;
    }
}

// First pass of an SQL Browser frame (a request, an answer, or an ICMP error quoting a request).
TDSDIAG_COLD FrameData* analyze_browser_frame(packet_info* pinfo, proto_tree* tree,
                                                     const tdsdiag_plugin::SsrpFrame* sf) {
    if (g_file == nullptr) return nullptr;
    try {
        tdsdiag::BrowserPacket b;
        b.frame = pinfo->num;
        b.time_ns = frame_time_ns(pinfo);
        addresses_text(pinfo, &sf->src, &sf->dst, b.src_addr, b.dst_addr);
        b.src_port = sf->src_port;
        b.dst_port = sf->dst_port;
        b.icmp_error = sf->in_error != FALSE;
        if (b.icmp_error) {
            guint32 type = 0, code = 0;
            gboolean v6 = FALSE;
            if (!tdsdiag_plugin::read_icmp(tree, type, code, v6)) return nullptr;
            b.icmp_type = static_cast<uint8_t>(type);
            b.icmp_code = static_cast<uint8_t>(code);
            b.icmpv6 = v6 != FALSE;
        } else {
            tdsdiag_plugin::read_udp_stream(tree, b.stream);
        }
        const bool from_server = sf->src_port == tdsdiag::kSsrpPort && sf->dst_port != tdsdiag::kSsrpPort;
        b.msg = tdsdiag::parse_ssrp(sf->data, sf->len, from_server && !b.icmp_error);
        if (!b.msg.valid) return nullptr;
        uint32_t lookup = 0;
        const tdsdiag::FrameResult r = g_file->analyzer.on_browser(b, &lookup);
        return to_frame_data(pinfo, r, kBrowserFrame, lookup);
    } catch (const std::exception&) {
        return nullptr;
    }
}

// First pass of a Kerberos frame (port 88): a TGS-REQ or AS-REQ is remembered; a KRB-ERROR refusing
// a ticket a SQL connection needed becomes a frame of ours.
TDSDIAG_COLD FrameData* analyze_kerberos_frame(packet_info* pinfo, proto_tree* tree) {
    if (g_file == nullptr || tree == nullptr) return nullptr;
    try {
        tdsdiag::KerberosPacket k;
        if (!tdsdiag_plugin::read_kerberos(tree, k)) return nullptr;
        if (k.msg_type != tdsdiag::kKrbAsReq && k.msg_type != tdsdiag::kKrbTgsReq && k.msg_type != tdsdiag::kKrbError)
            return nullptr;
        k.frame = pinfo->num;
        k.time_ns = frame_time_ns(pinfo);
        addresses_text(pinfo, &pinfo->src, &pinfo->dst, k.src_addr, k.dst_addr);
        uint32_t id = 0;
        const tdsdiag::FrameResult r = g_file->analyzer.on_kerberos(k, &id);
        return to_frame_data(pinfo, r, kKerberosFrame, id);
    } catch (const std::exception&) {
        return nullptr;
    }
}

// First pass of a DNS frame (port 53): an A or AAAA query or answer becomes a frame of ours, its
// lookup's id kept as its stream.
TDSDIAG_COLD FrameData* analyze_dns_frame(packet_info* pinfo, proto_tree* tree) {
    if (g_file == nullptr || tree == nullptr) return nullptr;
    try {
        if (tdsdiag_plugin::is_icmp(tree)) return nullptr;  // an ICMP error quoting a query
        tdsdiag::DnsPacket d;
        if (!tdsdiag_plugin::read_dns(tree, pinfo, d)) return nullptr;
        if (d.type != tdsdiag::kDnsTypeA && d.type != tdsdiag::kDnsTypeAaaa) return nullptr;
        d.frame = pinfo->num;
        d.time_ns = frame_time_ns(pinfo);
        addresses_text(pinfo, &pinfo->src, &pinfo->dst, d.src_addr, d.dst_addr);
        uint32_t id = 0;
        const tdsdiag::FrameResult r = g_file->analyzer.on_dns(d, &id);
        return to_frame_data(pinfo, r, kDnsFrame, id);
    } catch (const std::exception&) {
        return nullptr;
    }
}

// The diagnoses of a DNS lookup's frame as known now (packet scope); a later pass knows the whole capture.
guint dns_diagnoses(packet_info* pinfo, guint32 id, const DiagData*& diags) {
    diags = nullptr;
    if (g_file == nullptr) return 0;
    try {
        const std::vector<tdsdiag::Diagnosis> now = g_file->analyzer.dns_diagnoses_on(id, pinfo->num, PINFO_FD_VISITED(pinfo));
        diags = copy_diagnoses(pinfo->pool, now);
        return static_cast<guint>(now.size());
    } catch (const std::exception&) {
        return 0;
    }
}

// The frame's step as shown: the first pass's, or, once the capture has been read, a better one
// (the first segments of a split Login7 belong to step 4).
struct StepView {
    guint8 step;
    gboolean first, has_delta;
    nstime_t delta;
};

StepView view_step(packet_info* pinfo, const FrameData* fd) {
    StepView v{fd->step, fd->first, fd->has_delta, fd->delta};
    if (!PINFO_FD_VISITED(pinfo) || fd->kind != kTcpFrame || g_file == nullptr) return v;
    const tdsdiag::Connection* c = g_file->analyzer.find(fd->stream);
    const tdsdiag::Relabel* r = c ? c->relabel(pinfo->num) : nullptr;
    if (r == nullptr) return v;
    v.step = static_cast<guint8>(r->step);
    v.first = r->first;
    v.has_delta = r->delta_ns.has_value();
    if (r->delta_ns) v.delta = to_nstime(*r->delta_ns);
    return v;
}

// An SQL Browser lookup as known now (some of its diagnoses need the whole capture).
BrowserView view_browser(packet_info* pinfo, guint32 id) {
    BrowserView v{};
    if (g_file == nullptr) return v;
    try {
        const tdsdiag::BrowserLookup* l = g_file->analyzer.lookup(id);
        if (l == nullptr) return v;
        v.known = TRUE;
        v.request_frame = l->request_frame() != l->answer_frame() ? l->request_frame() : 0;
        v.answer_frame = l->answer_frame();
        if (const auto d = l->answer_delay_ns()) {
            v.has_delay = TRUE;
            v.delay = to_nstime(*d);
        }
        if (l->linked_stream) {
            v.linked = TRUE;
            v.conn_stream = *l->linked_stream;
            v.conn_frame = l->linked_frame;
        }
        const std::vector<tdsdiag::Diagnosis> diags = l->diagnoses_on(pinfo->num, PINFO_FD_VISITED(pinfo));
        v.n_diags = static_cast<guint>(diags.size());
        v.diags = copy_diagnoses(pinfo->pool, diags);
    } catch (const std::exception&) {
        v = BrowserView{};
    }
    return v;
}

// A Kerberos refusal as known now: the connection tied to it may have grown since.
KerberosView view_kerberos(packet_info* pinfo, guint32 id) {
    KerberosView v{};
    if (g_file == nullptr) return v;
    try {
        const std::optional<tdsdiag::KdcRefusal> r = g_file->analyzer.refusal_now(id);
        if (!r) return v;
        v.known = TRUE;
        v.spn = wmem_strdup(pinfo->pool, r->spn.c_str());
        v.error_code = r->error_code;
        v.error_frame = r->frame;
        v.request_frame = r->request_frame;
        if (r->conn_stream) {
            v.linked = TRUE;
            v.conn_stream = *r->conn_stream;
            v.conn_frame = r->conn_frame;
        }
        const std::vector<tdsdiag::Diagnosis> diags = g_file->analyzer.kerberos_diagnoses_on(id, pinfo->num);
        v.n_diags = static_cast<guint>(diags.size());
        v.diags = copy_diagnoses(pinfo->pool, diags);
    } catch (const std::exception&) {
        v = KerberosView{};
    }
    return v;
}

// The connection's summary as known now (final once the whole capture has been read) and its values
// as text, or nullptr. Kept in file scope until the next call: the functions that add tree items hold
// no C++ object.
struct KeptSummary {
    tdsdiag::Summary s;
    tdsdiag::SummaryText t;
};
const KeptSummary* view_connection(packet_info* pinfo, guint32 stream) {
    static KeptSummary kept;
    if (g_file == nullptr) return nullptr;
    try {
        const tdsdiag::Connection* c = g_file->analyzer.find(stream);
        if (c == nullptr) return nullptr;
        kept.s = c->summary(PINFO_FD_VISITED(pinfo));
        kept.t = tdsdiag::summary_text(kept.s, g_file->analyzer.config());
        return &kept;
    } catch (const std::exception&) {
        return nullptr;
    }
}

// A summary field's value; none if it cannot be made (out of memory).
ConnValue conn_value(const ConnField& f, const ConnSource& source) {
    try {
        return f.value(source);
    } catch (const std::exception&) {
        return ConnValue{nullptr, FALSE, 0, 0};
    }
}

// The frame's diagnoses as known now (packet scope): on a later pass, or in the GUI, the core says
// them again from its findings, since later frames may have changed what they say.
guint diagnoses_now(packet_info* pinfo, const FrameData* fd, const DiagData*& diags) {
    diags = nullptr;
    if (!PINFO_FD_VISITED(pinfo) || !diagnoses_may_change(fd) || g_file == nullptr) {
        diags = fd->diags;
        return diags != nullptr ? fd->n_diags : 0;
    }
    try {
        const tdsdiag::Connection* c = g_file->analyzer.find(fd->stream);
        if (c == nullptr) return 0;
        const std::vector<tdsdiag::Diagnosis> now = c->diagnoses_on(pinfo->num, true);
        diags = copy_diagnoses(pinfo->pool, now);
        return static_cast<guint>(now.size());
    } catch (const std::exception&) {
        return 0;
    }
}

gboolean conn_summary_wanted(proto_tree* tree) {
    if (tree == nullptr) return FALSE;
    if (proto_field_is_referenced(tree, hf_conn)) return TRUE;  // also TRUE whenever the tree is visible
    for (size_t i = 0; i < kConnFieldCount; ++i)
        if (proto_field_is_referenced(tree, conn_fields[i].hf)) return TRUE;
    return FALSE;
}

void add_conn_field(proto_tree* tree, tvbuff_t* tvb, const ConnField& f, const ConnValue& v) {
    if (f.type == FT_STRING) {
        if (v.text != nullptr) proto_item_set_generated(proto_tree_add_string(tree, f.hf, tvb, 0, 0, v.text));
    } else if (v.shown && f.type == FT_RELATIVE_TIME) {
        nstime_t t;
        t.secs = static_cast<time_t>(v.ns / 1000000000);
        t.nsecs = static_cast<int>(v.ns % 1000000000);
        proto_item_set_generated(proto_tree_add_time(tree, f.hf, tvb, 0, 0, &t));
    } else if (v.shown) {
        proto_item_set_generated(proto_tree_add_uint(tree, f.hf, tvb, 0, 0, v.number));
    }
}

void keep_frame(packet_info* pinfo, const FrameData* fd) {
    if (g_file == nullptr) return;
    try {
        g_file->frames.put(pinfo->num, *fd);
    } catch (const std::exception&) {
        // Out of memory: the frame shows nothing on later passes.
    }
}

// The frame's kept FrameData, nullptr if none.
const FrameData* kept_frame(packet_info* pinfo) { return g_file != nullptr ? g_file->frames.get(pinfo) : nullptr; }

int render_frame(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, const FrameData* fd);

// On a later pass, a frame the first pass did not look at that is part of a connection taken up
// later, at its first TDS message: the TCP handshake before it (step 1). Packet scope; nullptr if not.
const FrameData* handshake_frame(packet_info* pinfo) {
    tdsdiag::TcpTuple tuple;
    if (g_file == nullptr || !frame_tuple(pinfo, tuple)) return nullptr;
    guint32 stream = 0;
    if (!g_file->tcp_streams.find(tuple, stream)) return nullptr;
    const tdsdiag::Connection* c = g_file->analyzer.find(stream);
    if (c == nullptr || !c->before_tracking(pinfo->num)) return nullptr;
    auto* fd = wmem_new0(pinfo->pool, FrameData);
    fd->kind = kTcpFrame;
    fd->stream = stream;
    fd->step = static_cast<guint8>(tdsdiag::Step::TcpHandshake);
    fd->first = pinfo->num == c->first_frame();
    return fd;
}

}  // namespace

int dissect_tdsdiag(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void*) {
    const FrameData* fd = kept_frame(pinfo);
    if (g_file != nullptr && !g_file->have_start) {
        g_file->have_start = true;
        g_file->capture_start_ns = frame_time_ns(pinfo);
    }
    if (fd == nullptr && !PINFO_FD_VISITED(pinfo)) {
        if (pinfo->srcport == tdsdiag::kKerberosPort || pinfo->destport == tdsdiag::kKerberosPort) {
            fd = analyze_kerberos_frame(pinfo, tree);
        } else if (pinfo->ptype == PT_UDP && (pinfo->srcport == tdsdiag::kDnsPort || pinfo->destport == tdsdiag::kDnsPort)) {
            fd = analyze_dns_frame(pinfo, tree);
        } else {
            const tdsdiag_plugin::SsrpFrame* sf = pinfo->ptype == PT_TCP ? nullptr : tdsdiag_plugin::ssrp_frame(pinfo);
            fd = sf != nullptr ? analyze_browser_frame(pinfo, tree, sf) : analyze_frame(tvb, pinfo, tree);
        }
        if (fd != nullptr) keep_frame(pinfo, fd);
    }
    if (fd == nullptr && PINFO_FD_VISITED(pinfo) && g_file != nullptr && g_file->analyzer.found_late() > 0)
        fd = handshake_frame(pinfo);
    if (fd == nullptr) return 0;
    tap_queue_packet(tdsdiag_tap, pinfo, fd);
    // Tree items only when someone looks at them: a visible tree, or a filter, column, -e field or
    // coloring rule on a tdsdiag field or on expert infos. Expert infos and the Info column are kept
    // either way (-z expert and the tap need them; an expert info needs no tree item).
    if (proto_expert_info == kNotLooked) {
        const header_field_info* expert = proto_registrar_get_byname("_ws.expert");
        proto_expert_info = expert != nullptr ? expert->id : -1;
        expert_tap = find_tap_id("expert");
    }
    if (!proto_field_is_referenced(tree, proto_tdsdiag) &&
        (proto_expert_info < 0 || !proto_field_is_referenced(tree, proto_expert_info)))
        tree = nullptr;
    // Most frames of a first pass show nothing: no tree to fill, no diagnosis, no step opening.
    if (tree == nullptr && !PINFO_FD_VISITED(pinfo) && fd->kind == kTcpFrame && fd->n_diags == 0 && !fd->first)
        return tvb_captured_length(tvb);
    return render_frame(tvb, pinfo, tree, fd);
}

namespace {

// The frame's tree items, expert infos and Info column text, from its kept result.
TDSDIAG_NOINLINE int render_frame(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, const FrameData* fd) {
    // A DNS frame shows only its diagnoses: one without any gets no tdsdiag item.
    const gboolean dns = fd->kind == kDnsFrame;
    const DiagData* dns_diags = nullptr;
    const guint n_dns = dns ? dns_diagnoses(pinfo, fd->stream, dns_diags) : 0;
    if (dns && n_dns == 0) return tvb_captured_length(tvb);
    proto_item* ti = nullptr;
    proto_tree* st = nullptr;
    proto_item* it = nullptr;
    if (tree != nullptr) {
        ti = proto_tree_add_item(tree, proto_tdsdiag, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(ti);
        st = proto_item_add_subtree(ti, ett_tdsdiag);
    }
    const StepView sv = view_step(pinfo, fd);
    if (sv.step != kNoStep) {
        if (tree != nullptr) {
            it = proto_tree_add_uint(st, hf_step, tvb, 0, 0, sv.step);
            proto_item_set_generated(it);
            proto_item_append_text(ti, ", Step %u: %s", sv.step, val_to_str_const(sv.step, step_vals, "?"));
            if (sv.first) proto_item_set_generated(proto_tree_add_boolean(st, hf_step_first, tvb, 0, 0, TRUE));
            if (sv.has_delta) proto_item_set_generated(proto_tree_add_time(st, hf_step_delta, tvb, 0, 0, &sv.delta));
        }
        // A chat on every connection's steps: formatted only if a tree, the expert tap (-z expert,
        // the Expert Information dialog) or an Expert column can show it.
        if (sv.first &&
            (tree != nullptr || have_tap_listener(expert_tap) || col_get_writable(pinfo->cinfo, COL_EXPERT)))
            expert_add_info_format(pinfo, it, &ei_step_begins, "Step %u (%s) begins", sv.step,
                                   val_to_str_const(sv.step, step_vals, "?"));
    }
    // An SQL Browser lookup renders from its current state: some of its evidence needs the whole capture.
    const gboolean browser = fd->kind == kBrowserFrame;
    const gboolean kerberos = fd->kind == kKerberosFrame;
    const BrowserView bv = browser ? view_browser(pinfo, fd->stream) : BrowserView{};
    const KerberosView kv = kerberos ? view_kerberos(pinfo, fd->stream) : KerberosView{};
    const DiagData* diags = browser ? bv.diags : dns ? dns_diags : kv.diags;
    const guint n_diags = browser ? bv.n_diags : kerberos ? kv.n_diags : dns ? n_dns : diagnoses_now(pinfo, fd, diags);
    for (guint i = 0; i < n_diags; ++i) {
        const DiagData& d = diags[i];
        const tdsdiag::CodeInfo& info = tdsdiag::code_info(static_cast<tdsdiag::Code>(d.code));
        it = proto_tree_add_string(st, hf_diagnosis, tvb, 0, 0, info.name);
        proto_item_set_generated(it);
        if (d.detail != nullptr) {
            proto_tree* dt = proto_item_add_subtree(it, ett_diagnosis);
            proto_item_set_generated(proto_tree_add_string(dt, hf_diagnosis_detail, tvb, 0, 0, d.detail));
        }
        if (info.scenario != 0) proto_item_set_generated(proto_tree_add_uint(st, hf_scenario, tvb, 0, 0, info.scenario));
        const bool alt = d.severity != static_cast<guint8>(info.severity);
        expert_add_info_format(pinfo, it, alt ? &ei_code_alt[d.code] : &ei_code[d.code], "%s", d.text);
        if (d.answered_in != 0) {
            const nstime_t delay = to_nstime(d.answer_delay_ns);
            proto_tree* at = proto_item_add_subtree(it, ett_diagnosis);
            proto_item_set_generated(proto_tree_add_uint(at, hf_attention_ack_frame, tvb, 0, 0, d.answered_in));
            proto_item_set_generated(proto_tree_add_time(at, hf_attention_ack_time, tvb, 0, 0, &delay));
        }
        col_append_fstr(pinfo->cinfo, COL_INFO, " [tdsdiag: %s]", info.name);
    }

    if (browser) {
        if (!bv.known) return tvb_captured_length(tvb);
        proto_item* bi = proto_tree_add_item(st, hf_browser, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(bi);
        proto_tree* bt = proto_item_add_subtree(bi, ett_browser);
        if (bv.request_frame != 0 && bv.request_frame != pinfo->num)
            proto_item_set_generated(proto_tree_add_uint(bt, hf_browser_request_frame, tvb, 0, 0, bv.request_frame));
        if (bv.answer_frame != 0 && bv.answer_frame != pinfo->num)
            proto_item_set_generated(proto_tree_add_uint(bt, hf_browser_answer_frame, tvb, 0, 0, bv.answer_frame));
        if (bv.has_delay && bv.answer_frame == pinfo->num)
            proto_item_set_generated(proto_tree_add_time(bt, hf_browser_delay, tvb, 0, 0, &bv.delay));
        if (bv.linked) {
            proto_item_set_generated(proto_tree_add_uint(bt, hf_browser_conn_stream, tvb, 0, 0, bv.conn_stream));
            proto_item_set_generated(proto_tree_add_uint(bt, hf_browser_conn_frame, tvb, 0, 0, bv.conn_frame));
        }
        return tvb_captured_length(tvb);
    }
    if (dns) return tvb_captured_length(tvb);
    if (kerberos) {
        if (!kv.known) return tvb_captured_length(tvb);
        proto_item* ki = proto_tree_add_item(st, hf_kerberos, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(ki);
        proto_item_append_text(ki, ": %s", kv.spn);
        proto_tree* kt = proto_item_add_subtree(ki, ett_kerberos);
        proto_item_set_generated(proto_tree_add_string(kt, hf_kerberos_spn, tvb, 0, 0, kv.spn));
        proto_item_set_generated(proto_tree_add_int(kt, hf_kerberos_error, tvb, 0, 0, kv.error_code));
        if (kv.request_frame != 0 && kv.error_frame == pinfo->num)
            proto_item_set_generated(proto_tree_add_uint(kt, hf_kerberos_request_frame, tvb, 0, 0, kv.request_frame));
        if (kv.linked) {
            proto_item_set_generated(proto_tree_add_uint(kt, hf_kerberos_conn_stream, tvb, 0, 0, kv.conn_stream));
            proto_item_set_generated(proto_tree_add_uint(kt, hf_kerberos_conn_frame, tvb, 0, 0, kv.conn_frame));
        }
        return tvb_captured_length(tvb);
    }

    // The connection summary costs string work: skip it when nobody looks at it (no visible tree, and
    // no filter, column or tap asks for a tdsdiag.conn field).
    if (!conn_summary_wanted(tree)) return tvb_captured_length(tvb);
    const KeptSummary* k = view_connection(pinfo, fd->stream);
    if (k == nullptr) return tvb_captured_length(tvb);
    proto_item* ci = proto_tree_add_item(st, hf_conn, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(ci);
    proto_tree* ct = proto_item_add_subtree(ci, ett_conn);
    const ConnSource source{k->s, k->t, k->s.stream};
    for (size_t i = 0; i < kConnFieldCount; ++i)
        add_conn_field(ct, tvb, conn_fields[i], conn_value(conn_fields[i], source));
    if (!k->t.outcome.empty()) proto_item_append_text(ci, ": %s", k->t.outcome.c_str());
    return tvb_captured_length(tvb);
}

}  // namespace
}  // namespace tdsdiag_plugin

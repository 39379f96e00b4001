// tdsdiag: SQL Server Connection Diagnostics, a post-dissector over Wireshark's TCP, TDS and TLS.
//
// First pass: read the primed fields into a tdsdiag::Packet, feed the core, keep the frame's result
// (FrameStore, by frame number). Every pass: render the kept result and the connection's summary.
// Wireshark errors unwind with longjmp, so the functions that call proto_tree_add_* hold no C++
// object with a destructor, and no C++ exception leaves the core calls.

#include <epan/dissectors/packet-tcp.h>  // get_tcp_conversation_data: the stream of a new connection
#include <epan/to_str.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/range.h>
#include <epan/stat_tap_ui.h>
#include <epan/tap.h>
#include <wsutil/wmem/wmem.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "tdsdiag/analyzer.hpp"
#include "tdsdiag/report.hpp"
#include "tdsdiag/tcp_header.hpp"
#include "tdsdiag/portable.hpp"
#include "ssrp.hpp"
#include "tds8.hpp"
#include "version_compat.hpp"
#include "wanted_fields.hpp"

extern "C" void proto_register_tdsdiag(void);
extern "C" void proto_reg_handoff_tdsdiag(void);

namespace {

int proto_tdsdiag = -1;

int hf_step = -1;
int hf_step_first = -1;
int hf_step_delta = -1;
int hf_conn = -1;
int hf_diagnosis = -1;
int hf_scenario = -1;
int hf_diagnosis_detail = -1;
int hf_attention_ack_frame = -1;
int hf_attention_ack_time = -1;
int hf_browser = -1;
int hf_browser_request_frame = -1;
int hf_browser_answer_frame = -1;
int hf_browser_delay = -1;
int hf_browser_conn_stream = -1;
int hf_browser_conn_frame = -1;
int hf_kerberos = -1;
int hf_kerberos_spn = -1;
int hf_kerberos_error = -1;
int hf_kerberos_request_frame = -1;
int hf_kerberos_conn_stream = -1;
int hf_kerberos_conn_frame = -1;

int ett_tdsdiag = -1;
int ett_conn = -1;
int ett_diagnosis = -1;
int ett_browser = -1;
int ett_kerberos = -1;

expert_field ei_step_begins = EI_INIT;
// One expert entry per diagnosis code (tdsdiag.analysis.<code>), and a second one for the codes
// whose catalogue row declares one (catalogue.def).
expert_field ei_code[tdsdiag::kCodeCount];
expert_field ei_code_alt[tdsdiag::kCodeCount];

dissector_handle_t tdsdiag_handle;
int tdsdiag_tap = -1;
// "_ws.expert": a filter on it needs our tree items to hang expert infos on. Registered after our
// handoff, so it is looked up on the first frame (kNotLooked until then).
constexpr int kNotLooked = -2;
int proto_expert_info = kNotLooked;
int expert_tap = -1;  // Wireshark's expert info tap, looked up with it
range_t* pref_sql_ports = nullptr;
tdsdiag_pref_bool pref_tds8 = TRUE;
guint pref_slow_accept_ms = 1000;
guint pref_slow_login_ms = 2000;
guint pref_login_timeout_min_ms = 1000;
guint pref_browser_slow_ms = 1000;
guint pref_idle_timeout_s = 240;
guint pref_kerberos_window_ms = 10000;
guint pref_zero_window_stall_ms = 1000;
guint pref_time_wait_s = 240;


// Step names come from the core; filled in at registration.
value_string step_vals[9];

constexpr guint8 kNoStep = 0xff;

struct DiagData {
    guint8 code;      // tdsdiag::Code
    guint8 severity;  // tdsdiag::Severity
    const char* text;
    const char* detail;  // nullptr when empty
    guint32 answered_in;  // the frame that answered it (tdsdiag.attention.ack_frame), 0 if none
    gint64 answer_delay_ns;
};

enum FrameKind : guint8 { kTcpFrame = 0, kBrowserFrame = 1, kKerberosFrame = 2 };

// What the first pass found for one frame; lives in file scope.
struct FrameData {
    guint8 kind;     // FrameKind
    guint32 stream;  // TCP stream, the SQL Browser lookup's id, or the Kerberos refusal's id
    guint8 step;  // kNoStep when the capture cannot tell
    gboolean first;
    gboolean has_delta;
    nstime_t delta;
    guint n_diags;    // the diagnoses the first pass found on the frame
    DiagData* diags;  // on the first pass only (packet scope); later passes ask the core again
};

// The frame's absolute time in nanoseconds.
int64_t frame_time_ns(const packet_info* pinfo) {
    return static_cast<int64_t>(pinfo->abs_ts.secs) * 1000000000 + pinfo->abs_ts.nsecs;
}

// Two addresses as text (packet scope while converted), "" where Wireshark has none.
void addresses_text(packet_info* pinfo, const address* src, const address* dst, std::string& src_text,
                    std::string& dst_text) {
    const char* s = address_to_str(pinfo->pool, src);
    const char* d = address_to_str(pinfo->pool, dst);
    src_text = s ? s : "";
    dst_text = d ? d : "";
}

nstime_t to_nstime(int64_t ns) {
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
    };
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
FileState* g_file = nullptr;

// ---- the connection summary (tdsdiag.conn): one table of its fields -------------------------

// What one summary field shows: `text` for a string field (nullptr: no item), `number` for the
// others when `shown` (`ns`, nanoseconds, for a time field).
struct ConnValue {
    const char* text;
    gboolean shown;
    guint32 number;
    gint64 ns;
};

// What a field's value is made from: the connection's summary, its stream, and the packet scope for
// a text made on the spot.
struct ConnSource {
    const tdsdiag::Summary& s;
    guint32 stream;
    wmem_allocator_t* pool;
};

ConnValue text(const char* s) { return {(s == nullptr || *s == '\0') ? nullptr : s, FALSE, 0, 0}; }
ConnValue text(const std::string& s) { return text(s.c_str()); }  // lives while the summary is kept
ConnValue number(guint32 n, bool shown = true) { return {nullptr, shown ? TRUE : FALSE, n, 0}; }
ConnValue duration(const std::optional<int64_t>& ns) { return {nullptr, ns ? TRUE : FALSE, 0, ns ? *ns : 0}; }
template <typename T>
ConnValue number(const std::optional<T>& n) { return number(n ? static_cast<guint32>(*n) : 0, n.has_value()); }

// A field of the summary: its registration (hf_register_info), where tshark -G fields lists it, and
// its value. Rendered in this order, each where it has a value.
struct ConnField {
    const char* name;
    const char* abbrev;
    ftenum type;
    int display;
    const void* strings;
    const char* blurb;
    // Registered right after this field: the order of tshark -G fields, which predates this table.
    const int* registered_after;
    ConnValue (*value)(const ConnSource& c);
    int hf = -1;
};

ConnField conn_fields[] = {
    {"TCP stream", "tdsdiag.conn.stream", FT_UINT32, BASE_DEC, nullptr,
     "TCP stream index of the connection: tcp.stream of its first frame (a refused SYN sent again on the "
     "same ports continues the first attempt's connection, whatever its own tcp.stream)",
     &hf_conn,
     [](const ConnSource& c) { return number(c.stream); }},
    {"Last step", "tdsdiag.conn.last_step", FT_UINT8, BASE_DEC, VALS(step_vals),
     "Highest step the connection has reached", &hf_conn,
     [](const ConnSource& c) { return number(c.s.last_step); }},
    {"Failed in step", "tdsdiag.conn.failed_step", FT_UINT8, BASE_DEC, VALS(step_vals),
     "Step in progress when a failed connection ended (outcome failed or login_failed): the last step before "
     "the close (7), e.g. 1 for a refused SYN, 3 for a rejected certificate, 5 for a failed login; absent for "
     "the other outcomes",
     &hf_conn, [](const ConnSource& c) { return number(c.s.failed_step); }},
    {"Outcome", "tdsdiag.conn.outcome", FT_STRING, BASE_NONE, nullptr,
     "connected, login_failed, failed (ended before the login completed), open (capture ended "
     "before the login completed) or unknown (the capture cannot show the login's result)",
     &hf_conn, [](const ConnSource& c) { return text(tdsdiag::outcome_name(c.s.outcome)); }},
    {"Encryption", "tdsdiag.conn.encryption", FT_STRING, BASE_NONE, nullptr,
     "none, login_only, full, or strict (TDS 8.0)", &hf_conn,
     [](const ConnSource& c) { return text(tdsdiag::encryption_name(c.s.encryption)); }},
    {"TLS version", "tdsdiag.conn.tls_version", FT_STRING, BASE_NONE, nullptr,
     "TLS version chosen by the server's ServerHello", &hf_conn,
     [](const ConnSource& c) {
         if (!c.s.tls_version) return text(nullptr);
         return text(wmem_strdup(c.pool, tdsdiag::tls_version_name(*c.s.tls_version).c_str()));
     }},
    {"Cipher suite", "tdsdiag.conn.cipher", FT_STRING, BASE_NONE, nullptr,
     "Cipher suite chosen by the server's ServerHello", &hf_conn,
     [](const ConnSource& c) {
         if (!c.s.cipher) return text(nullptr);
         const char* name = tdsdiag_plugin::cipher_suite_name(*c.s.cipher);
         return text(name ? name : wmem_strdup_printf(c.pool, "0x%04x", *c.s.cipher));
     }},
    {"Connection ID", "tdsdiag.conn.id", FT_STRING, BASE_NONE, nullptr,
     "Connection ID GUID from the prelogin TRACEID option, as SQL Server's own logs show it", &hf_conn,
     [](const ConnSource& c) { return text(c.s.conn_id); }},
    {"Closed by", "tdsdiag.conn.close_by", FT_STRING, BASE_NONE, nullptr,
     "Side that sent the first FIN or RST: client or server", &hf_conn,
     [](const ConnSource& c) { return text(tdsdiag::side_name(c.s.close_by)); }},
    {"Close kind", "tdsdiag.conn.close_kind", FT_STRING, BASE_NONE, nullptr,
     "How the connection began to close: fin or rst", &hf_conn,
     [](const ConnSource& c) { return text(tdsdiag::close_kind_name(c.s.close_kind)); }},
    {"Capture point", "tdsdiag.conn.capture_point", FT_STRING, BASE_NONE, nullptr,
     "Side the capture was taken on (client or server), from checksum-offload marks on "
     "the packets that side sends",
     &hf_conn, [](const ConnSource& c) { return text(tdsdiag::side_name(c.s.capture_point)); }},
    {"User", "tdsdiag.conn.user", FT_STRING, BASE_NONE, nullptr,
     "User name of the Login7 (in clear, or decrypted with the TLS key log); never the password", &hf_conn,
     [](const ConnSource& c) { return text(c.s.user); }},
    {"Application", "tdsdiag.conn.app", FT_STRING, BASE_NONE, nullptr, "Application name of the Login7", &hf_conn,
     [](const ConnSource& c) { return text(c.s.app); }},
    {"Client host", "tdsdiag.conn.client_host", FT_STRING, BASE_NONE, nullptr, "Client host name of the Login7",
     &hf_conn, [](const ConnSource& c) { return text(c.s.client_host); }},
    {"Database", "tdsdiag.conn.database", FT_STRING, BASE_NONE, nullptr,
     "Database the Login7 asks for (empty: the login's default database)", &hf_conn,
     [](const ConnSource& c) { return text(c.s.database); }},
    {"SQL Browser answer", "tdsdiag.conn.browser_frame", FT_FRAMENUM, BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE),
     "Frame of the SQL Browser (SSRP) answer that gave the client this connection's port", &hf_diagnosis_detail,
     [](const ConnSource& c) { return number(c.s.browser_frame, c.s.browser_frame != 0); }},
    {"Kerberos refusal", "tdsdiag.conn.kerberos_frame", FT_FRAMENUM, BASE_NONE, nullptr,
     "Frame of the KDC's KRB-ERROR that refused the ticket this connection's client asked for "
     "(kerberos_spn_missing, kerberos_clock_skew, kerberos_preauth_failed)",
     &hf_diagnosis_detail, [](const ConnSource& c) { return number(c.s.kerberos_frame, c.s.kerberos_frame != 0); }},
    {"MARS", "tdsdiag.conn.mars", FT_STRING, BASE_NONE, nullptr,
     "on when both prelogins carry the MARS option set (multiple active result sets, SMP "
     "framing after the login), off otherwise",
     &hf_diagnosis_detail, [](const ConnSource& c) { return text(c.s.mars); }},
    {"Authentication", "tdsdiag.conn.auth", FT_STRING, BASE_NONE, nullptr,
     "sql (user and password in the Login7), ntlm or kerberos (Windows authentication, from the "
     "SSPI blobs), federated (Microsoft Entra token); empty where the capture cannot tell",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.auth); }},
    {"Redirected to", "tdsdiag.conn.redirect_to", FT_STRING, BASE_NONE, nullptr,
     "host:port the login response routes the client to (ENVCHANGE type 20)", &hf_attention_ack_time,
     [](const ConnSource& c) { return text(c.s.redirect_to); }},
    {"Redirect followed by", "tdsdiag.conn.redirect_stream", FT_UINT32, BASE_DEC, nullptr,
     "TCP stream of the connection that followed this one's redirect", &hf_attention_ack_time,
     [](const ConnSource& c) { return number(c.s.redirect_stream); }},
    {"Redirected from", "tdsdiag.conn.redirected_from", FT_UINT32, BASE_DEC, nullptr,
     "TCP stream of the connection whose redirect this connection follows", &hf_attention_ack_time,
     [](const ConnSource& c) { return number(c.s.redirected_from); }},
    {"Retransmissions", "tdsdiag.conn.retransmissions", FT_UINT32, BASE_DEC, nullptr,
     "TCP segments of the connection sent again (Wireshark's TCP analysis, spurious ones included)",
     &hf_attention_ack_time, [](const ConnSource& c) { return number(c.s.retransmissions); }},
    {"Duplicate ACKs", "tdsdiag.conn.dup_acks", FT_UINT32, BASE_DEC, nullptr,
     "Bare ACKs repeating their sender's previous ACK number and window (keepalive answers included)",
     &hf_attention_ack_time, [](const ConnSource& c) { return number(c.s.dup_acks); }},
    {"Zero windows", "tdsdiag.conn.zero_windows", FT_UINT32, BASE_DEC, nullptr,
     "Segments (not SYN, FIN or RST) advertising a receive window of 0", &hf_attention_ack_time,
     [](const ConnSource& c) { return number(c.s.zero_windows); }},
    {"Handshake round trip", "tdsdiag.conn.handshake_rtt", FT_RELATIVE_TIME, BASE_NONE, nullptr,
     "Last SYN before the SYN/ACK to the client's first ACK after it, as seen at the capture point "
     "(a capture on the server shows the client's side of the path)",
     &hf_attention_ack_time, [](const ConnSource& c) { return duration(c.s.handshake_rtt_ns); }},
    {"Server version", "tdsdiag.conn.server_version", FT_STRING, BASE_NONE, nullptr,
     "SQL Server release and build from the VERSION option of the server's prelogin answer, e.g. "
     "SQL Server 2019 (15.0.4123)",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.server_version); }},
    {"Client version", "tdsdiag.conn.client_version", FT_STRING, BASE_NONE, nullptr,
     "Library name of the client's Login7 (where readable) and the VERSION option of its prelogin, "
     "e.g. ODBC (17.10.1)",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.client_version); }},
};

// The field's registration.
hf_register_info conn_field_hf(ConnField& f) {
    return {&f.hf, {f.name, f.abbrev, f.type, f.display, f.strings, 0x0, f.blurb, HFILL}};
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

tdsdiag::Config make_config() {
    tdsdiag::Config c;
    c.sql_ports.clear();
    if (pref_sql_ports != nullptr) {
        for (guint i = 0; i < pref_sql_ports->nranges; ++i)
            for (guint32 port = pref_sql_ports->ranges[i].low; port <= pref_sql_ports->ranges[i].high && port <= 65535; ++port)
                c.sql_ports.push_back(static_cast<uint16_t>(port));
    }
    if (c.sql_ports.empty()) c.sql_ports.push_back(1433);
    c.slow_accept_ns = static_cast<int64_t>(pref_slow_accept_ms) * 1000000;
    c.slow_login_ns = static_cast<int64_t>(pref_slow_login_ms) * 1000000;
    c.login_timeout_min_ns = static_cast<int64_t>(pref_login_timeout_min_ms) * 1000000;
    c.browser_slow_ns = static_cast<int64_t>(pref_browser_slow_ms) * 1000000;
    c.idle_timeout_ns = static_cast<int64_t>(pref_idle_timeout_s) * 1000000000;
    c.kerberos_window_ns = static_cast<int64_t>(pref_kerberos_window_ms) * 1000000;
    c.zero_window_stall_ns = static_cast<int64_t>(pref_zero_window_stall_ms) * 1000000;
    c.time_wait_ns = static_cast<int64_t>(pref_time_wait_s) * 1000000000;
    c.cipher_name = [](uint16_t suite) { return tdsdiag_plugin::cipher_suite_name(suite); };
    return c;
}

void tdsdiag_cleanup() {
    delete g_file;
    g_file = nullptr;
}

void tdsdiag_init() {
    tdsdiag_cleanup();
    try {
        g_file = new FileState(make_config());
    } catch (const std::exception&) {
        tdsdiag_cleanup();
    }
}

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

TDSDIAG_NOINLINE FrameData* analyze_frame(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree) {
    if (g_file == nullptr || tree == nullptr) return nullptr;
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

// The connection's summary as known now (final once the whole capture has been read), or nullptr.
// Kept in file scope until the next call: the functions that add tree items hold no C++ object.
const tdsdiag::Summary* view_connection(packet_info* pinfo, guint32 stream) {
    static tdsdiag::Summary kept;
    if (g_file == nullptr) return nullptr;
    try {
        const tdsdiag::Connection* c = g_file->analyzer.find(stream);
        if (c == nullptr) return nullptr;
        kept = c->summary(PINFO_FD_VISITED(pinfo));
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
        return text(nullptr);
    }
}

// The frame's diagnoses as known now (packet scope): on a later pass, or in the GUI, the core says
// them again from its findings, since later frames may have changed what they say.
guint diagnoses_now(packet_info* pinfo, const FrameData* fd, const DiagData*& diags) {
    diags = nullptr;
    if (!PINFO_FD_VISITED(pinfo) || fd->n_diags == 0 || g_file == nullptr) {
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
    for (const ConnField& f : conn_fields)
        if (proto_field_is_referenced(tree, f.hf)) return TRUE;
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

int dissect_tdsdiag(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void*) {
    const FrameData* fd = kept_frame(pinfo);
    if (g_file != nullptr && !g_file->have_start) {
        g_file->have_start = true;
        g_file->capture_start_ns = frame_time_ns(pinfo);
    }
    if (fd == nullptr && !PINFO_FD_VISITED(pinfo)) {
        if (pinfo->srcport == tdsdiag::kKerberosPort || pinfo->destport == tdsdiag::kKerberosPort) {
            fd = analyze_kerberos_frame(pinfo, tree);
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

// The frame's tree items, expert infos and Info column text, from its kept result.
TDSDIAG_NOINLINE int render_frame(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, const FrameData* fd) {
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
    const DiagData* diags = browser ? bv.diags : kv.diags;
    const guint n_diags = browser ? bv.n_diags : kerberos ? kv.n_diags : diagnoses_now(pinfo, fd, diags);
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
    const tdsdiag::Summary* s = view_connection(pinfo, fd->stream);
    if (s == nullptr) return tvb_captured_length(tvb);
    proto_item* ci = proto_tree_add_item(st, hf_conn, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(ci);
    proto_tree* ct = proto_item_add_subtree(ci, ett_conn);
    const ConnSource source{*s, s->stream, pinfo->pool};
    for (const ConnField& f : conn_fields) add_conn_field(ct, tvb, f, conn_value(f, source));
    const char* outcome = tdsdiag::outcome_name(s->outcome);
    if (*outcome != '\0') proto_item_append_text(ci, ": %s", outcome);
    return tvb_captured_length(tvb);
}

}  // namespace

// ---- statistics: tshark -z tdsdiag,conv|csv|summary[,filter] --------------------------------

enum class Report { Conv, Csv, Summary };

// Stream indexes are dense (0, 1, 2...): a bit per stream marks those seen, in constant time per frame.
struct StreamMarks {
    std::vector<bool> seen;
    void mark(guint32 id) {
        if (id >= seen.size()) seen.resize(std::max<size_t>(id + 1, seen.size() * 2), false);
        seen[id] = true;
    }
    bool marked(guint32 id) const { return id < seen.size() && seen[id]; }
};

struct TapContext {
    Report report;
    StreamMarks* streams;  // connections with at least one frame that passed the filter
    StreamMarks* lookups;  // SQL Browser lookups likewise
};

void tap_reset(void* data) {
    auto* ctx = static_cast<TapContext*>(data);
    if (ctx->streams) ctx->streams->seen.clear();
    if (ctx->lookups) ctx->lookups->seen.clear();
}

tap_packet_status tap_packet(void* data, packet_info*, epan_dissect_t*, const void* frame, tap_flags_t) {
    auto* ctx = static_cast<TapContext*>(data);
    const auto* fd = static_cast<const FrameData*>(frame);
    try {
        if (fd->kind == kKerberosFrame) {
            // A refusal counts for the connection tied to it (it has no row of its own).
            const std::optional<tdsdiag::KdcRefusal> r = g_file ? g_file->analyzer.refusal_now(fd->stream) : std::nullopt;
            if (r && r->conn_stream) ctx->streams->mark(*r->conn_stream);
        } else {
            (fd->kind == kBrowserFrame ? ctx->lookups : ctx->streams)->mark(fd->stream);
        }
    } catch (const std::exception&) {
        return TAP_PACKET_FAILED;
    }
    return TAP_PACKET_DONT_REDRAW;
}

void tap_draw(void* data) {
    auto* ctx = static_cast<TapContext*>(data);
    if (g_file == nullptr) return;
    try {
        // Row by row: a capture of a hundred thousand connections is not held as rows.
        tdsdiag::Selection only_seen;
        only_seen.stream = [ctx](uint32_t s) { return ctx->streams->marked(s); };
        only_seen.lookup = [ctx](uint32_t l) { return ctx->lookups->marked(l); };
        auto print = [](const std::string& text) { fwrite(text.data(), 1, text.size(), stdout); };
        switch (ctx->report) {
        case Report::Conv: {
            tdsdiag::ConvTable table;
            tdsdiag::for_each_row(g_file->analyzer, g_file->capture_start_ns, only_seen, [&](const tdsdiag::Row& r) { table.add(r); });
            table.write(print);
            break;
        }
        case Report::Csv:
            print(tdsdiag::csv_header());
            tdsdiag::for_each_row(g_file->analyzer, g_file->capture_start_ns, only_seen,
                                  [&](const tdsdiag::Row& r) { print(tdsdiag::csv_line(r)); });
            break;
        case Report::Summary: {
            tdsdiag::SummaryPage page;
            tdsdiag::for_each_row(g_file->analyzer, g_file->capture_start_ns, only_seen, [&](const tdsdiag::Row& r) { page.add(r); });
            print(page.text());
            break;
        }
        }
    } catch (const std::exception& e) {
        fprintf(stderr, "tdsdiag: cannot print the statistics: %s\n", e.what());
    }
}

void tap_finish(void* data) {
    auto* ctx = static_cast<TapContext*>(data);
    delete ctx->streams;
    delete ctx->lookups;
    delete ctx;
}

bool tap_init(Report report, const char* prefix, const char* opt_arg) {
    const char* filter = nullptr;
    const size_t n = strlen(prefix);
    if (strncmp(opt_arg, prefix, n) == 0 && opt_arg[n] == ',') filter = opt_arg + n + 1;
    auto* ctx = new TapContext{report, new StreamMarks(), new StreamMarks()};
    GString* err = register_tap_listener("tdsdiag", ctx, filter, TL_REQUIRES_NOTHING, tap_reset, tap_packet, tap_draw,
                                         tap_finish);
    if (err != nullptr) {
        fprintf(stderr, "tdsdiag: cannot start the %s statistics: %s\n", prefix, err->str);
        g_string_free(err, TRUE);
        tap_finish(ctx);
        return false;
    }
    return true;
}

tdsdiag_stat_tap_init_result tap_init_conv(const char* opt_arg, void*) { TDSDIAG_STAT_TAP_INIT_RETURN(tap_init(Report::Conv, "tdsdiag,conv", opt_arg)); }
tdsdiag_stat_tap_init_result tap_init_csv(const char* opt_arg, void*) { TDSDIAG_STAT_TAP_INIT_RETURN(tap_init(Report::Csv, "tdsdiag,csv", opt_arg)); }
tdsdiag_stat_tap_init_result tap_init_summary(const char* opt_arg, void*) { TDSDIAG_STAT_TAP_INIT_RETURN(tap_init(Report::Summary, "tdsdiag,summary", opt_arg)); }

// ---- the same table in Wireshark's Statistics menu (and tshark -z tdsdiag,connections) ---------

// Its columns, from the core's list of the table's columns (filled at registration).
std::vector<stat_tap_table_item> conn_table_fields;
guint conn_table_nfields = 0;

void make_conn_table_fields() {
    for (const tdsdiag::GuiColumn& c : tdsdiag::gui_columns()) {
        const stat_tap_table_item_enum type = c.kind == tdsdiag::GuiColumn::Whole     ? TABLE_ITEM_UINT
                                              : c.kind == tdsdiag::GuiColumn::Decimal ? TABLE_ITEM_FLOAT
                                                                                      : TABLE_ITEM_STRING;
        conn_table_fields.push_back({type, c.right_aligned ? TAP_ALIGN_RIGHT : TAP_ALIGN_LEFT, c.title, c.format});
    }
    conn_table_nfields = static_cast<guint>(conn_table_fields.size());
}
const char* const kConnTableName = "SQL Server connections";

void conn_table_init(stat_tap_table_ui* ui) {
    stat_tap_table* table = stat_tap_find_table(ui, kConnTableName);
    if (table != nullptr) {
        if (ui->stat_tap_reset_table_cb) ui->stat_tap_reset_table_cb(table);
        return;
    }
    table = stat_tap_init_table(kConnTableName, conn_table_nfields, 0, "tcp.stream == %d");
    stat_tap_add_table(ui, table);
}

void conn_table_free_item(stat_tap_table*, guint, guint, stat_tap_table_item_type* item) {
    if (item->type == TABLE_ITEM_STRING) g_free(const_cast<char*>(item->value.string_value));
}

// Row of each connection per open table, so a packet finds its row without a scan.
std::unordered_map<const stat_tap_table*, std::unordered_map<guint32, guint>> g_conn_rows;

void conn_table_reset(stat_tap_table* table) {
    g_conn_rows.erase(table);
    for (guint row = 0; row < table->num_elements; ++row)
        for (guint col = 0; col < table->num_fields; ++col)
            conn_table_free_item(table, row, col, &table->elements[row][col]);
    // Rows are rebuilt on the next retap; emptying the table keeps it in step with the capture.
    for (guint row = 0; row < table->num_elements; ++row) g_free(table->elements[row]);
    g_free(table->elements);
    table->elements = nullptr;
    table->num_elements = 0;
}

// The row's cells (conn_table_nfields of them, strings g_malloc'd), computed away from the tap's C frames.
gboolean conn_cells(guint32 stream, stat_tap_table_item_type* items) {
    if (g_file == nullptr) return FALSE;
    try {
        const tdsdiag::Connection* c = g_file->analyzer.find(stream);
        if (c == nullptr) return FALSE;
        const std::vector<tdsdiag::GuiCell> cells =
            tdsdiag::gui_cells(tdsdiag::make_row(g_file->analyzer, *c, g_file->capture_start_ns));
        for (guint i = 0; i < conn_table_nfields && i < cells.size(); ++i) {
            items[i].type = conn_table_fields[i].type;
            if (items[i].type == TABLE_ITEM_UINT)
                items[i].value.uint_value = cells[i].whole;
            else if (items[i].type == TABLE_ITEM_FLOAT)
                items[i].value.float_value = cells[i].decimal;
            else
                items[i].value.string_value = g_strdup(cells[i].text.c_str());
        }
        return TRUE;
    } catch (const std::exception&) {
        return FALSE;
    }
}

tap_packet_status conn_table_packet(void* data, packet_info*, epan_dissect_t*, const void* frame, tap_flags_t) {
    auto* stat = static_cast<stat_data_t*>(data);
    const auto* fd = static_cast<const FrameData*>(frame);
    if (fd->kind != kTcpFrame) return TAP_PACKET_DONT_REDRAW;  // the GUI table lists TCP connections only
    stat_tap_table* table = g_array_index(stat->stat_tap_data->tables, stat_tap_table*, 0);
    // One row per connection: find it by its stream, or append it.
    guint row = table->num_elements;
    try {
        row = g_conn_rows[table].emplace(fd->stream, table->num_elements).first->second;
    } catch (const std::exception&) {
        return TAP_PACKET_FAILED;
    }
    stat_tap_table_item_type* items = g_new0(stat_tap_table_item_type, conn_table_nfields);
    if (!conn_cells(fd->stream, items)) {
        g_free(items);
        return TAP_PACKET_DONT_REDRAW;
    }
    if (row == table->num_elements) {
        stat_tap_init_table_row(table, row, conn_table_nfields, items);
    } else {
        for (guint col = 0; col < conn_table_nfields; ++col) {
            conn_table_free_item(table, row, col, stat_tap_get_field_data(table, row, col));
            stat_tap_set_field_data(table, row, col, &items[col]);
        }
    }
    g_free(items);
    return TAP_PACKET_REDRAW;
}

int expert_severity(tdsdiag::Severity s) {
    switch (s) {
    case tdsdiag::Severity::Chat: return PI_CHAT;
    case tdsdiag::Severity::Note: return PI_NOTE;
    case tdsdiag::Severity::Warn: return PI_WARN;
    case tdsdiag::Severity::Error: return PI_ERROR;
    }
    return PI_NOTE;
}

// tdsdiag.analysis.<code> for every code, with the catalogue's severity and summary; a code whose
// catalogue row declares a second entry (catalogue.def) also gets tdsdiag.analysis.<code>.<qualifier>,
// used when a diagnosis has another severity than the catalogue's.
void register_code_experts(expert_module_t* em) {
    const auto expert_group = [](tdsdiag::ExpertGroup g) {
        return g == tdsdiag::ExpertGroup::ResponseCode ? PI_RESPONSE_CODE : PI_SEQUENCE;
    };
    static ei_register_info eis[2 * tdsdiag::kCodeCount];
    int n = 0;
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const tdsdiag::CodeInfo& info = tdsdiag::code_info(static_cast<tdsdiag::Code>(i));
        eis[n++] = {&ei_code[i],
                    {g_strdup_printf("tdsdiag.analysis.%s", info.name), expert_group(info.group()),
                     expert_severity(info.severity), info.summary, EXPFILL}};
        if (info.has_alt())
            eis[n++] = {&ei_code_alt[i],
                        {g_strdup_printf("tdsdiag.analysis.%s.%s", info.name, info.alt_qualifier),
                         expert_group(info.alt_group), expert_severity(info.alt_severity), info.alt_summary,
                         EXPFILL}};
    }
    expert_register_field_array(em, eis, n);
    // Codes without a second entry share the first one.
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i)
        if (!tdsdiag::code_info(static_cast<tdsdiag::Code>(i)).has_alt()) ei_code_alt[i] = ei_code[i];
}

extern "C" void proto_register_tdsdiag(void) {
    for (guint32 k = 0; k <= 7; ++k) step_vals[k] = {k, tdsdiag::step_name(static_cast<tdsdiag::Step>(k))};
    step_vals[8] = {0, nullptr};
    static hf_register_info hf[] = {
        {&hf_step, {"Step", "tdsdiag.step", FT_UINT8, BASE_DEC, VALS(step_vals), 0x0,
                    "Connection step of this frame: 1 TCP handshake, 2 Prelogin, 3 TLS handshake, 4 Login, "
                    "5 Login response, 6 Commands, 7 Close (0 SQL Browser lookup)", HFILL}},
        {&hf_step_first, {"Opens step", "tdsdiag.step.first", FT_BOOLEAN, BASE_NONE, nullptr, 0x0,
                          "This frame is the first of its step (filter on it for the outline of each connection)", HFILL}},
        {&hf_step_delta, {"Time since previous step", "tdsdiag.step.delta", FT_RELATIVE_TIME, BASE_NONE, nullptr, 0x0,
                          "Time from the opening of the previous step to the opening of this one", HFILL}},
        {&hf_conn, {"Connection", "tdsdiag.conn", FT_NONE, BASE_NONE, nullptr, 0x0,
                    "Summary of the SQL Server connection this frame belongs to", HFILL}},
        {&hf_diagnosis, {"Diagnosis", "tdsdiag.diagnosis", FT_STRING, BASE_NONE, nullptr, 0x0,
                         "Diagnosis code whose evidence became complete on this frame (see tdsdiag.analysis.*)",
                         HFILL}},
        {&hf_diagnosis_detail, {"Evidence", "tdsdiag.diagnosis.detail", FT_STRING, BASE_NONE, nullptr, 0x0,
                                "More evidence for the diagnosis: the suites offered, the certificate's subject, "
                                "issuer and validity, the server's error message", HFILL}},
        {&hf_attention_ack_frame, {"Attention acknowledged in", "tdsdiag.attention.ack_frame", FT_FRAMENUM,
                                   BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0,
                                   "Frame of the server's DONE with the attention bit that acknowledges this attention",
                                   HFILL}},
        {&hf_attention_ack_time, {"Attention acknowledged after", "tdsdiag.attention.ack_time", FT_RELATIVE_TIME,
                                  BASE_NONE, nullptr, 0x0, "Time from the attention to the server's acknowledgement",
                                  HFILL}},
        {&hf_browser, {"SQL Browser lookup", "tdsdiag.browser", FT_NONE, BASE_NONE, nullptr, 0x0,
                       "The SQL Browser (SSRP, UDP 1434) lookup this frame belongs to", HFILL}},
        {&hf_browser_request_frame, {"Request in", "tdsdiag.browser.request_frame", FT_FRAMENUM, BASE_NONE,
                                     FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0,
                                     "Frame of the lookup's (first) request", HFILL}},
        {&hf_browser_answer_frame, {"Answer in", "tdsdiag.browser.answer_frame", FT_FRAMENUM, BASE_NONE,
                                    FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0,
                                    "Frame of the SQL Browser's answer", HFILL}},
        {&hf_browser_delay, {"Answer time", "tdsdiag.browser.delay", FT_RELATIVE_TIME, BASE_NONE, nullptr, 0x0,
                             "Time from the lookup's first request to the SQL Browser's answer", HFILL}},
        {&hf_browser_conn_stream, {"Connection (TCP stream)", "tdsdiag.browser.conn_stream", FT_UINT32, BASE_DEC,
                                   nullptr, 0x0,
                                   "TCP stream of the connection that used the port of this lookup's answer", HFILL}},
        {&hf_browser_conn_frame, {"Connection starts in", "tdsdiag.browser.conn_frame", FT_FRAMENUM, BASE_NONE,
                                  nullptr, 0x0, "First frame of the connection that used this lookup's answer",
                                  HFILL}},
        {&hf_kerberos, {"Kerberos refusal", "tdsdiag.kerberos", FT_NONE, BASE_NONE, nullptr, 0x0,
                        "The KDC's refusal of a ticket a SQL connection needed (a SQL Server SPN MSSQLSvc/..., or "
                        "any principal on a clock skew or a failed pre-authentication) that this KRB-ERROR belongs "
                        "to",
                        HFILL}},
        {&hf_kerberos_spn, {"SPN", "tdsdiag.kerberos.spn", FT_STRING, BASE_NONE, nullptr, 0x0,
                            "The service principal name the KDC refused a ticket for (MSSQLSvc/... for SQL Server)",
                            HFILL}},
        {&hf_kerberos_error, {"KDC error code", "tdsdiag.kerberos.error_code", FT_INT32, BASE_DEC, nullptr, 0x0,
                              "7: KDC_ERR_S_PRINCIPAL_UNKNOWN (no account has the SPN), 9: "
                              "KDC_ERR_PRINCIPAL_NOT_UNIQUE (two accounts have it), 24: KDC_ERR_PREAUTH_FAILED (a "
                              "wrong password or key), 37: KRB_AP_ERR_SKEW (the client's clock is too far off the "
                              "KDC's)",
                              HFILL}},
        {&hf_kerberos_request_frame, {"Request in", "tdsdiag.kerberos.request_frame", FT_FRAMENUM, BASE_NONE,
                                      FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0,
                                      "Frame of the client's TGS-REQ (or AS-REQ) that this KRB-ERROR answers", HFILL}},
        {&hf_kerberos_conn_stream, {"Connection (TCP stream)", "tdsdiag.kerberos.conn_stream", FT_UINT32, BASE_DEC,
                                    nullptr, 0x0,
                                    "TCP stream of the client's SQL connection that needed the ticket (the one the "
                                    "error came during, or the nearest within tdsdiag.kerberos_window_ms)",
                                    HFILL}},
        {&hf_kerberos_conn_frame, {"Connection starts in", "tdsdiag.kerberos.conn_frame", FT_FRAMENUM, BASE_NONE,
                                   nullptr, 0x0, "First frame of the SQL connection tied to this refusal", HFILL}},
        {&hf_scenario, {"Scenario", "tdsdiag.scenario", FT_UINT8, BASE_DEC, nullptr, 0x0,
                        "Scenario 1-6 of Microsoft's error-10054 article that the diagnosis corresponds to", HFILL}},
    };
    static gint* ett[] = {&ett_tdsdiag, &ett_conn, &ett_diagnosis, &ett_browser, &ett_kerberos};
    static ei_register_info ei[] = {
        {&ei_step_begins, {"tdsdiag.step.begins", PI_SEQUENCE, PI_CHAT, "A connection step begins", EXPFILL}},
    };

    proto_tdsdiag = proto_register_protocol("SQL Server Connection Diagnostics", "tdsdiag", "tdsdiag");
    // The summary's fields go after the one each names (conn_fields), in the table's order.
    static hf_register_info all[G_N_ELEMENTS(hf) + G_N_ELEMENTS(conn_fields)];
    int n_hf = 0;
    for (const hf_register_info& h : hf) {
        all[n_hf++] = h;
        for (ConnField& f : conn_fields)
            if (f.registered_after == h.p_id) all[n_hf++] = conn_field_hf(f);
    }
    proto_register_field_array(proto_tdsdiag, all, n_hf);
    proto_register_subtree_array(ett, G_N_ELEMENTS(ett));
    expert_module_t* em = expert_register_protocol(proto_tdsdiag);
    expert_register_field_array(em, ei, G_N_ELEMENTS(ei));
    register_code_experts(em);

    module_t* module = prefs_register_protocol(proto_tdsdiag, proto_reg_handoff_tdsdiag);
    range_convert_str(wmem_epan_scope(), &pref_sql_ports, "1433", 65535);
    prefs_register_range_preference(module, "sql_ports", "SQL Server TCP ports",
                                    "TCP ports where SQL Server listens (1433 and any others); TDS on other ports "
                                    "is still found by its prelogin or login",
                                    &pref_sql_ports, 65535);
    prefs_register_bool_preference(module, "tds8", "Dissect TDS 8.0 (strict encryption)",
                                   "On the SQL Server TCP ports, dissect a connection whose first bytes are a TLS "
                                   "handshake as TLS (TDS 8.0), and TDS inside TLS as TDS when the TLS keys are "
                                   "known; other connections go to the TDS dissector as before",
                                   &pref_tds8);
    prefs_register_uint_preference(module, "slow_accept_ms", "Slow accept threshold (ms)",
                                   "A SYN answered later than this many milliseconds is diagnosed as slow_accept",
                                   10, &pref_slow_accept_ms);
    prefs_register_uint_preference(module, "browser_slow_ms", "Slow SQL Browser threshold (ms)",
                                   "An SQL Browser (SSRP) answer later than this many milliseconds after the request is "
                                   "diagnosed as browser_slow",
                                   10, &pref_browser_slow_ms);
    prefs_register_uint_preference(module, "slow_login_ms", "Slow login threshold (ms)",
                                   "A login answered later than this many milliseconds is diagnosed as slow_login",
                                   10, &pref_slow_login_ms);
    prefs_register_uint_preference(module, "login_timeout_min_ms", "Shortest login timeout (ms)",
                                   "A client that closes while waiting for the server is diagnosed as login_timeout "
                                   "after at least this many milliseconds, and as login_abandoned (it gave up on its "
                                   "own) after less",
                                   10, &pref_login_timeout_min_ms);
    prefs_register_uint_preference(module, "idle_timeout_s", "Idle timeout of devices on the path (s)",
                                   "A connection silent for longer than this many seconds whose next packet is reset "
                                   "or never acknowledged is diagnosed as idle_reset (240 s is a common load-balancer "
                                   "idle timeout)",
                                   10, &pref_idle_timeout_s);
    prefs_register_uint_preference(module, "kerberos_window_ms", "Kerberos window (ms)",
                                   "A KRB-ERROR refusing a SQL Server SPN (or a clock skew, or a failed "
                                   "pre-authentication) is tied to the SQL connection of the same client during which "
                                   "it came, or to the nearest one within this many milliseconds",
                                   10, &pref_kerberos_window_ms);
    prefs_register_uint_preference(module, "zero_window_stall_ms", "Zero-window stall threshold (ms)",
                                   "A receive window that stays at 0 for at least this many milliseconds is diagnosed "
                                   "as slow_network (the receiver stopped reading)",
                                   10, &pref_zero_window_stall_ms);
    prefs_register_uint_preference(module, "time_wait_s", "TIME_WAIT of the server (s)",
                                   "A client SYN on the ports of a connection that ended less than this many seconds "
                                   "before, answered by an ACK or a reset instead of a SYN/ACK, is diagnosed as "
                                   "port_reuse (240 s is 2 MSL, the longest TIME_WAIT a stack keeps by default)",
                                   10, &pref_time_wait_s);

    tdsdiag_handle = create_dissector_handle(dissect_tdsdiag, proto_tdsdiag);
    tdsdiag_plugin::register_tds8(proto_tdsdiag);
    tdsdiag_plugin::register_ssrp();
    register_postdissector(tdsdiag_handle);
    tdsdiag_tap = register_tap("tdsdiag");
    static stat_tap_ui conv_ui = {REGISTER_STAT_GROUP_GENERIC, "SQL Server connections", "tdsdiag,conv", tap_init_conv, 0, nullptr};
    static stat_tap_ui csv_ui = {REGISTER_STAT_GROUP_GENERIC, "SQL Server connections (CSV)", "tdsdiag,csv", tap_init_csv, 0, nullptr};
    static stat_tap_ui summary_ui = {REGISTER_STAT_GROUP_GENERIC, "SQL Server connections summary", "tdsdiag,summary",
                                     tap_init_summary, 0, nullptr};
    register_stat_tap_ui(&conv_ui, nullptr);
    register_stat_tap_ui(&csv_ui, nullptr);
    register_stat_tap_ui(&summary_ui, nullptr);
    // REGISTER_PACKET_STAT_GROUP_UNSORTED: the group Wireshark's Statistics menu lists (GENERIC is CLI-only).
    make_conn_table_fields();
    static stat_tap_table_ui conn_table_ui = {REGISTER_PACKET_STAT_GROUP_UNSORTED,
                                              "SQL Server Connections (tdsdiag)",
                                              "tdsdiag",
                                              "tdsdiag,connections",
                                              conn_table_init,
                                              conn_table_packet,
                                              conn_table_reset,
                                              conn_table_free_item,
                                              nullptr,
                                              conn_table_nfields,
                                              conn_table_fields.data(),
                                              0,
                                              nullptr,
                                              nullptr,
                                              0};
    register_stat_tap_table_ui(&conn_table_ui);
    register_init_routine(tdsdiag_init);
    register_cleanup_routine(tdsdiag_cleanup);
}

extern "C" void proto_reg_handoff_tdsdiag(void) {
    // Called at start-up and again when the preferences change.
    static gboolean initialized = FALSE;
    if (!initialized) {
        set_postdissector_wanted_hfids(tdsdiag_handle, tdsdiag_plugin::resolve_wanted_fields());
        tdsdiag_plugin::register_tds_heuristic(proto_tdsdiag);
        initialized = TRUE;
    }
    tdsdiag_plugin::handoff_tds8(pref_sql_ports, pref_tds8);
    tdsdiag_plugin::handoff_ssrp();
}

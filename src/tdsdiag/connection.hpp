// One TCP connection to SQL Server: the state machine (state.hpp) driven frame by frame, the
// evidence in its trackers (trackers.hpp), and the findings its rules (rules.cpp) made.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/attempts.hpp"
#include "tdsdiag/config.hpp"
#include "tdsdiag/finding.hpp"
#include "tdsdiag/model.hpp"
#include "tdsdiag/packet.hpp"
#include "tdsdiag/pmtu.hpp"
#include "tdsdiag/state.hpp"
#include "tdsdiag/text.hpp"
#include "tdsdiag/trackers.hpp"

namespace tdsdiag {

struct DnsLookup;

// The earlier connection of the capture on the same addresses and ports as a connection that began
// with a SYN soon after it ended (or that never ended): the server may still hold it.
struct EarlierConnection {
    uint32_t stream = 0;
    uint32_t first_frame = 0;
    bool ended = false;       // a FIN or reset of it was seen
    int64_t ended_ns = 0;     // its first FIN or reset
    int64_t last_ns = 0;      // its last packet
};

// A frame whose step is known better after it was shown: the first segments of a Login7 split
// across TCP segments belong to step 4, which the single pass learns only at the last segment.
struct Relabel {
    uint32_t frame = 0;
    Step step = Step::Login;
    bool first = false;               // the frame opens its step
    std::optional<int64_t> delta_ns;  // on an opening frame: time since the previous step opened
};

class Connection {
public:
    Connection(const Packet& first, bool src_is_client, const Config& config, ServerFacts& server);

    // The frame's step, and its diagnoses as known at that frame.
    FrameResult on_packet(const Packet& p);
    // Called before the first on_packet of a connection taken up at its first TDS message: the stream's
    // TCP handshake came earlier in the capture, in frames tdsdiag did not look at then.
    void begin_at_handshake(const StreamStart& start, uint32_t tracked_from);
    // Whether `frame` is one of those earlier frames (from the SYN to the frame tracking began): they
    // are in step 1, which a later pass can show.
    bool before_tracking(uint32_t frame) const { return frame >= first_frame_ && frame < tracked_from_; }
    bool found_late() const { return tracked_from_ != 0; }
    // capture_complete: the whole capture has been read, so undecided outcomes become final.
    Summary summary(bool capture_complete) const;
    // The diagnoses of `frame` as known now (describe.cpp): later evidence may have changed a text,
    // or withdrawn a finding. The one way every later view (-2, the GUI, the statistics) reads them.
    std::vector<Diagnosis> diagnoses_on(uint32_t frame, bool capture_complete) const;
    // Whether a finding still stands on what is known now.
    bool stands(const Finding& f) const;
    // Whether the connection holds a standing diagnosis `code` on `frame`.
    bool holds(uint32_t frame, Code code) const;

    uint32_t stream() const { return stream_; }
    uint32_t first_frame() const { return first_frame_; }
    int64_t last_ns() const { return last_ns_; }
    int64_t start_ns() const { return start_ns_; }
    // When each step opened in the capture (index = step number), if it did.
    std::optional<int64_t> step_opened_ns(Step s) const {
        const int64_t t = step_open_ns_[static_cast<size_t>(s) % 8];
        return t == kNotOpened ? std::nullopt : std::optional<int64_t>(t);
    }
    State state() const { return state_; }
    const std::vector<Finding>& findings() const { return findings_; }

    // The evidence, for the texts and the summary.
    const Endpoint& client() const { return ends_[0]; }
    const Endpoint& server() const { return ends_[1]; }
    const std::string& client_addr() const { return ends_[0].addr; }
    const std::string& server_addr() const { return ends_[1].addr; }
    uint16_t client_port() const { return ends_[0].port; }
    uint16_t server_port() const { return ends_[1].port; }
    const TcpTracker& tcp() const { return tcp_; }
    const PmtuTracker& pmtu() const { return pmtu_; }
    const TlsTracker& tls() const { return tls_; }
    const LoginTracker& login() const { return login_; }
    const AuthTracker& auth() const { return auth_; }
    const SessionTracker& session() const { return session_; }
    const CloseTracker& close() const { return close_; }
    const ServerFacts& server_facts() const { return server_; }
    const Config& config() const { return config_; }
    Side capture_point() const { return capture_point_; }

    // Whether the server has acknowledged the login: its later responses need no login fields read.
    bool login_acknowledged() const { return login_.acknowledged; }
    // Whether checksums of this connection's packets still help to find the capture point: not
    // decided, not too many tried, and not already wrong (or already right) on both sides, which no
    // later sample can undo.
    bool wants_checksums() const {
        const Endpoint &c = ends_[0], &s = ends_[1];
        return capture_point_ == Side::Unknown && checksum_samples_ < 16 &&
               !(c.bad_checksums > 0 && s.bad_checksums > 0) && !(c.good_checksums > 0 && s.good_checksums > 0);
    }
    // The SQL Browser lookup whose answer named this connection's port.
    void link_browser(uint32_t lookup_id, uint32_t answer_frame) {
        browser_lookup_ = lookup_id;
        browser_frame_ = answer_frame;
    }
    std::optional<uint32_t> browser_lookup() const { return browser_lookup_; }
    // The KRB-ERROR that refused the ticket this connection's client asked for (0: none), and the
    // refusal's diagnosis (kerberos_spn_missing, kerberos_clock_skew).
    void link_kerberos(uint32_t error_frame, Code code = Code::KerberosSpnMissing) {
        kerberos_frame_ = error_frame;
        kerberos_code_ = code;
    }
    uint32_t kerberos_frame() const { return kerberos_frame_; }
    Code kerberos_code() const { return kerberos_code_; }
    // The redirect (ENVCHANGE routing) of the login response, and the connections it links.
    const std::optional<Routing>& redirect() const { return session_.redirect; }
    bool redirect_followed() const { return session_.redirect_stream.has_value(); }
    void link_redirect_target(uint32_t stream, uint32_t first_frame) {
        session_.redirect_stream = stream;
        session_.redirect_conn_frame = first_frame;
    }
    void link_redirect_source(uint32_t stream, const std::string& target_name = {}) {
        session_.redirected_from = stream;
        session_.redirected_to_name = target_name;
    }
    // The name the client asked the server for, as far as the capture shows it: the ClientHello's SNI,
    // else the name of the DNS lookup tied to the connection, else the routing target of the redirect
    // this connection follows; "" if none. `source` says where it came from ("SNI",
    // "its DNS lookup, frame N", "redirect target").
    std::string asked_name(std::string& source) const;
    // The DNS lookup tied to this connection (Analyzer::link_dns): its answer held the server's
    // address, or its name is the connection's SNI; `resolve_ns`: the time the client spent resolving
    // the name; `stale_frame` (0: none): the ClientHello whose SNI named a lookup (or the connection's
    // first frame, for a lookup of the SQL Browser's server name) whose latest answer does not hold the
    // server's address (dns_stale_address); `browser_frame` (0: none): the SQL Browser answer whose
    // ServerName is the lookup's name (Analyzer::link_dns_server).
    void link_dns(const DnsLookup* l, int64_t resolve_ns, uint32_t stale_frame = 0, uint32_t browser_frame = 0) {
        dns_ = l;
        dns_resolve_ns_ = resolve_ns;
        dns_stale_frame_ = stale_frame;
        dns_browser_frame_ = browser_frame;
    }
    const DnsLookup* dns_lookup() const { return dns_; }
    uint32_t dns_browser_frame() const { return dns_browser_frame_; }
    // Whether the server certificate is readable and holds none of the names of asked_name().
    bool certificate_name_mismatch() const;
    // The earlier connection on the same ports this one's SYN came soon after (Analyzer::link_reuse).
    void link_earlier(const EarlierConnection& e) { earlier_ = e; }
    const std::optional<EarlierConnection>& earlier() const { return earlier_; }
    // Issue 31: the client's attempts at this server's other addresses (Analyzer::link_attempts; attempts.cpp).
    const AddressAttempts& attempts() const { return attempts_; }
    // `other` started within Config::parallel_window_ns of this one; if this one's SYN has no answer yet,
    // its first frame gets a parallel_attempt finding that stands once another attempt goes on.
    void link_parallel(const Connection& other);
    void link_next_attempt(const Connection& next) {
        if (attempts_.next == nullptr) attempts_.next = &next;
    }
    // The parallel attempt the client went on with (answered and carrying the client's TDS; with
    // `or_open`, also one answered and not closed), or nullptr.
    const Connection* attempt_kept(bool or_open) const;
    // Whether the client sent any TDS (or TLS) payload on this connection.
    bool client_sent_payload() const { return ends_[0].last_payload_ns > 0; }
    // Whether this connection is a parallel attempt the client abandoned (parallel_attempt): `unanswered`,
    // its SYN got no answer while another attempt went on; else, the client closed it (FIN or reset)
    // before any TDS while another attempt was answered.
    bool abandoned_attempt(bool unanswered) const;
    // The step of `frame` as known once the capture has been read, where it differs from the first pass.
    const Relabel* relabel(uint32_t frame) const {
        for (const Relabel& r : relabels_)
            if (r.frame == frame) return &r;
        return nullptr;
    }
    // The attention sent in `frame`, or nullptr.
    const AttentionRecord* attention_at(uint32_t frame) const { return session_.attention_at(frame); }

private:
    bool from_client(const Packet& p) const;
    // The trackers learn from the frame (before the rules), and settle what the rules of the next
    // frames read as "before" (after them).
    void learn(const Packet& p, bool client, Message m, State prev);
    void settle(const Packet& p, bool client, Message m);
    // The diagnosis rules (rules.cpp): each names its code where its evidence becomes complete.
    void diagnose(const Packet& p, bool client, Message m, State prev);
    void diagnose_tls(const Packet& p, bool client);
    void diagnose_handshake_close(const Packet& p, bool client, Evidence e);
    void diagnose_close(const Packet& p, bool client, Message m, State prev, const Evidence& e);
    void diagnose_auth(const Packet& p);
    void diagnose_strict(const Packet& p, bool client, Message m, State prev, const Evidence& e);
    void diagnose_name(const Packet& p);
    void diagnose_reuse(const Packet& p, bool client, Message m, State prev, const Evidence& e);
    // A finding of `code` on this frame (once per frame and code).
    TDSDIAG_COLD void find(const Packet& p, Code code, Evidence e = {});
    Evidence evidence(const Packet& p, bool client, State prev) const;
    void relabel_split_login(const Packet& p);
    TDSDIAG_COLD void find_black_hole(const Packet& p, bool client);  // issue 31 (pmtu.cpp)

    const Config& config_;
    ServerFacts& server_;
    std::vector<Finding> findings_;
    size_t frame_findings_ = 0;  // findings_ before this frame's

    uint32_t stream_ = 0;
    uint32_t first_frame_ = 0;
    uint32_t tracked_from_ = 0;  // the first frame tdsdiag saw of a connection found late, else 0
    int64_t start_ns_ = 0;
    int64_t last_ns_ = 0;
    Endpoint ends_[2];  // [client, server]
    TcpTracker tcp_;
    PmtuTracker pmtu_;  // issue 31: path-MTU black holes (pmtu.hpp)
    TlsTracker tls_;
    LoginTracker login_;
    AuthTracker auth_;
    SessionTracker session_;
    CloseTracker close_;
    Side capture_point_ = Side::Unknown;
    int checksum_samples_ = 0;
    std::optional<uint32_t> browser_lookup_;
    uint32_t browser_frame_ = 0;
    uint32_t kerberos_frame_ = 0;
    Code kerberos_code_ = Code::KerberosSpnMissing;
    std::optional<EarlierConnection> earlier_;
    AddressAttempts attempts_;  // issue 31 (attempts.hpp)
    const DnsLookup* dns_ = nullptr;  // issue 31 (dns.hpp): owned by the Analyzer's DnsTracker
    int64_t dns_resolve_ns_ = 0;
    uint32_t dns_stale_frame_ = 0;
    uint32_t dns_browser_frame_ = 0;
    bool handshake_explained_ = false;  // a rule has named why the TLS handshake failed
    bool server_fatal_alert_ = false;   // the server sent a fatal TLS alert: its FIN after it is the alert's close

    // The state machine and the steps it opened.
    State state_ = State::Start;
    bool strict_ = false;              // TDS 8.0
    bool prelogin_answered_ = false;
    uint8_t opened_steps_ = 0;         // bit n: step n has been opened (seen its first frame)
    std::optional<int64_t> last_open_ns_;
    static constexpr int64_t kNotOpened = INT64_MIN;  // (no capture time is that early)
    int64_t step_open_ns_[8] = {kNotOpened, kNotOpened, kNotOpened, kNotOpened,
                                kNotOpened, kNotOpened, kNotOpened, kNotOpened};
    std::optional<Step> last_step_;

    // The last frames and their steps, to relabel a split Login7's first segments (bounded).
    struct Recent {  // 16 bytes
        int64_t ns;
        uint32_t frame;
        std::optional<Step> step;
        bool client_payload;  // a segment the client's reassembled Login7 may be made of
    };
    // Kept only from the prelogin to the login's answer (1 KB, not zeroed), then freed.
    static constexpr size_t kRecent = 64;
    std::unique_ptr<std::array<Recent, kRecent>> recent_;
    size_t recent_next_ = 0;
    std::vector<Relabel> relabels_;  // at most kRecent + 1
    std::optional<int64_t> open_before_login_ns_;  // when the step before the login opened
};

// The text of a finding as its connection knows it now (describe.cpp); nullopt if later evidence
// withdrew it. The one place where the diagnoses' sentences are written.
std::optional<Diagnosis> describe(const Finding& f, const Connection& c, bool capture_complete);

}  // namespace tdsdiag

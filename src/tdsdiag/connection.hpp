// One state machine per TCP connection to SQL Server.
// Each frame is first classified into a Message (a pure function of the frame and a little context),
// then the next State is a pure function of the current State and that Message.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tdsdiag/config.hpp"
#include "tdsdiag/model.hpp"
#include "tdsdiag/packet.hpp"
#include "tdsdiag/text.hpp"
#include "tdsdiag/x509.hpp"

namespace tdsdiag {

// Where the connection stands. Each state maps to one step (see step_of).
enum class State : uint8_t {
    Start,          // nothing seen yet
    SynSent,        // the client's SYN is out, no answer yet
    Established,    // SYN/ACK seen, no payload yet
    Prelogin,       // prelogin request sent; its answer may have come
    TlsHandshake,   // TLS handshake records are flowing
    Login,          // the client's login (Login7, SSPI) is on its way
    LoginResponse,  // the server is answering the login
    Commands,       // the session carries commands and results
    Closing,        // a FIN or RST has been seen
    Midstream,      // the capture joined an established connection at a point it cannot name
};

// What one frame says, in the terms of the connection's life.
enum class Message : uint8_t {
    Syn,               // SYN without ACK
    SynAck,            // SYN with ACK
    Fin,               // FIN (possibly with data)
    Rst,               // RST
    Ack,               // no payload
    PreloginRequest,   // client PRELOGIN without TLS inside
    PreloginResponse,  // server response carrying prelogin options
    TlsHandshake,      // TLS handshake, change-cipher-spec or alert records
    AppData,           // TLS application data carrying the session's messages
    Login7,            // TDS Login7 in clear
    Sspi,              // TDS SSPI message (Windows authentication round trip)
    Command,           // SQL batch, RPC, attention, bulk load, transaction manager
    Response,          // TDS tabular response in clear
    Data,              // payload the dissectors did not name (a segment of a larger PDU)
};

std::optional<Step> step_of(State s);
const char* message_name(Message m);

// Context the classifier needs beyond the frame itself.
struct ClassifyContext {
    bool tls13 = false;                  // the ServerHello chose TLS 1.3
    bool client_finished_seen = false;   // TLS 1.3: the client's encrypted Finished has gone by
};

// Pure: the message a frame carries, seen from one side.
Message classify(const Packet& p, bool from_client, const ClassifyContext& ctx);

// Pure: the next state. `strict` is TDS 8.0 (TLS first); `prelogin_answered` tells whether the
// server has answered the prelogin (TDS 8.0 carries it inside TLS, so only order tells it apart).
State next_state(State s, Message m, bool from_client, bool strict, bool prelogin_answered);

// What the connections to one server (address:port) have shown about it, for the others.
struct ServerFacts {
    std::shared_ptr<const CertInfo> weak_cert;  // a certificate signed with a weak hash
    uint32_t weak_cert_stream = 0;      // the connection that showed it
    uint32_t weak_cert_frame = 0;
    // The certificates this server showed lately, as read: its connections share them rather than each
    // parsing and keeping a copy. A server shows the same one to every client, but one address may
    // stand for several servers (a listener, a load balancer), each with its own: up to 16 are kept.
    struct SeenCert {
        std::vector<uint8_t> der;  // compared by size, then by bytes (which differ early: the serial number)
        std::shared_ptr<const CertInfo> info;  // nullptr: not readable
    };
    static constexpr size_t kSeenCerts = 16;
    std::array<SeenCert, kSeenCerts> certs;
    size_t next_cert = 0;  // the slot the next new certificate takes (the oldest)
    // The certificate `der` as read, parsed only if none of the recent ones is the same.
    std::shared_ptr<const CertInfo> certificate(const std::vector<uint8_t>& der);
};

// An attention (query cancel) of the client and the server's acknowledgement.
struct AttentionRecord {
    uint32_t frame = 0;
    int64_t ns = 0;
    int64_t request_ns = -1;  // when the request it cancels was sent, -1 if not seen
    uint32_t ack_frame = 0;   // the DONE with DONE_ATTN, 0 if none yet
    int64_t ack_ns = 0;
    uint32_t close_frame = 0;  // the connection closed before an acknowledgement
    int64_t close_ns = 0;
};

// A frame whose step is known better after it was shown: the first segments of a Login7 split
// across TCP segments belong to step 4, which the single pass learns only at the last segment.
struct Relabel {
    uint32_t frame = 0;
    Step step = Step::Login;
    bool first = false;               // the frame opens its step
    std::optional<int64_t> delta_ns;  // on an opening frame: time since the previous step opened
};

// A diagnosis as kept by the connection, for its summary and statistics.
struct Finding {
    uint32_t frame;
    Code code;
    Severity severity;
    bool retracted;  // later evidence contradicted it (e.g. a SYN/ACK after syn_unanswered)
};

class Connection {
public:
    Connection(const Packet& first, bool src_is_client, const Config& config, ServerFacts& server);

    FrameResult on_packet(const Packet& p);
    // capture_complete: the whole capture has been read, so undecided outcomes become final.
    Summary summary(bool capture_complete) const;

    uint32_t stream() const { return stream_; }
    uint32_t first_frame() const { return first_frame_; }
    int64_t last_ns() const { return last_ns_; }
    // When each step opened in the capture (index = step number), if it did.
    std::optional<int64_t> step_opened_ns(Step s) const {
        const int64_t t = step_open_ns_[static_cast<size_t>(s) % 8];
        return t == kNotOpened ? std::nullopt : std::optional<int64_t>(t);
    }
    int64_t start_ns() const { return start_ns_; }
    const std::string& client_addr() const { return client_addr_; }
    const std::string& server_addr() const { return server_addr_; }
    uint16_t client_port() const { return client_port_; }
    uint16_t server_port() const { return server_port_; }
    State state() const { return state_; }
    const std::vector<Finding>& findings() const { return findings_; }
    // Whether the server has acknowledged the login: its later responses need no login fields read.
    bool login_acknowledged() const { return login_ack_; }
    // Whether checksums of this connection's packets still help to find the capture point: not
    // decided, not too many tried, and not already wrong (or already right) on both sides, which no
    // later sample can undo.
    bool wants_checksums() const {
        return capture_point_ == Side::Unknown && checksum_samples_ < 16 &&
               !(bad_checksums_[0] > 0 && bad_checksums_[1] > 0) && !(good_checksums_[0] > 0 && good_checksums_[1] > 0);
    }
    // The SQL Browser lookup whose answer named this connection's port.
    void link_browser(uint32_t lookup_id, uint32_t answer_frame) {
        browser_lookup_ = lookup_id;
        browser_frame_ = answer_frame;
    }
    std::optional<uint32_t> browser_lookup() const { return browser_lookup_; }
    // The redirect (ENVCHANGE routing) of the login response, and the connections it links.
    const std::optional<Routing>& redirect() const { return redirect_; }
    uint32_t redirect_frame() const { return redirect_frame_; }
    bool redirect_followed() const { return redirect_stream_.has_value(); }
    void link_redirect_target(uint32_t stream, uint32_t first_frame) {
        redirect_stream_ = stream;
        redirect_conn_frame_ = first_frame;
    }
    void link_redirect_source(uint32_t stream) { redirected_from_ = stream; }
    // A diagnosis whose text depends on what came after its frame (an attention's acknowledgement, a
    // redirect followed or not): its text as known now. nullopt if `code` on `frame` is not such a one.
    std::optional<Diagnosis> revised(uint32_t frame, Code code, bool capture_complete) const;
    // The step of `frame` as known once the capture has been read, where it differs from the first pass.
    const Relabel* relabel(uint32_t frame) const {
        for (const Relabel& r : relabels_)
            if (r.frame == frame) return &r;
        return nullptr;
    }
    // The attention sent in `frame`, or nullptr.
    const AttentionRecord* attention_at(uint32_t frame) const {
        for (const AttentionRecord& a : attentions_)
            if (a.frame == frame) return &a;
        return nullptr;
    }
    // Whether the connection still holds the diagnosis `code` made on `frame`.
    bool holds(uint32_t frame, Code code) const;

private:
    bool from_client(const Packet& p) const;
    void learn(const Packet& p, bool client, Message m);
    // The diagnosis rules (rules.cpp): each names its code where its evidence becomes complete.
    void diagnose(const Packet& p, bool client, Message m, State prev, FrameResult& r);
    void diagnose_retransmission(const Packet& p, bool client, FrameResult& r);
    void diagnose_tls(const Packet& p, bool client, FrameResult& r);
    void diagnose_close(const Packet& p, bool client, Message m, State prev, FrameResult& r);
    TDSDIAG_COLD void emit(FrameResult& r, const Packet& p, Code code, std::string text, std::string detail = {});
    TDSDIAG_COLD void emit(FrameResult& r, const Packet& p, Code code, Severity severity, std::string text,
                           std::string detail = {});
    std::string certificate_detail() const;  // subject, issuer, algorithm, validity of the server certificate
    std::string offered_detail() const;      // versions and suites of the ClientHello
    bool certificate_expired() const;        // the server certificate had expired when it was captured
    const char* certificate_reason(bool weak) const;  // " (expired at capture time)", " (self-signed)"...
    const char* certificate_fix(bool weak) const;     // renew, replace the weak hash, or trust its CA
    void retract(Code code);
    void diagnose_session(const Packet& p, bool client, Message m, FrameResult& r);  // attention, redirect
    Diagnosis attention_diagnosis(const AttentionRecord& a, bool capture_complete) const;
    Diagnosis redirect_diagnosis(bool capture_complete) const;
    void diagnose_auth(const Packet& p, bool client, FrameResult& r);  // anonymous_logon, ntlm_fallback
    std::string server_name() const;
    std::string cipher_text(uint16_t suite) const;
    const char* seen_from(Side sender) const;

    const Config& config_;
    ServerFacts& server_;
    std::vector<Finding> findings_;

    // Evidence for the rules.
    int64_t first_syn_ns_ = -1;
    int syn_retransmissions_ = 0;
    uint32_t server_packets_ = 0;          // 0 while the client talks: a one-sided capture
    bool client_fin_sent_ = false;
    Side last_payload_from_ = Side::Unknown;
    int64_t last_client_payload_ns_ = 0;
    int64_t login_ns_ = -1;                // when the login was sent
    uint32_t client_hello_frame_ = 0;
    uint16_t offered_max_ = 0, offered_min_ = 0;
    std::vector<uint16_t> offered_suites_;
    bool server_hello_seen_ = false;
    bool server_certificate_seen_ = false;
    std::shared_ptr<const CertInfo> cert_;
    int64_t cert_seen_s_ = 0;              // capture time of the certificate, in seconds
    bool client_key_exchange_seen_ = false;
    bool server_finished_seen_ = false;
    bool dhe_ = false;
    bool alert_seen_ = false;
    bool handshake_diagnosed_ = false;     // a specific TLS diagnosis explains the failure
    uint32_t stream_ = 0;
    uint32_t first_frame_ = 0;
    int64_t start_ns_ = 0;
    std::string client_addr_, server_addr_;
    uint16_t client_port_ = 0, server_port_ = 0;

    State state_ = State::Start;
    uint8_t opened_steps_ = 0;         // bit n: step n has been opened (seen its first frame)
    std::optional<int64_t> last_open_ns_;
    static constexpr int64_t kNotOpened = INT64_MIN;  // (no capture time is that early)
    int64_t step_open_ns_[8] = {kNotOpened, kNotOpened, kNotOpened, kNotOpened,
                                kNotOpened, kNotOpened, kNotOpened, kNotOpened};
    int64_t last_ns_ = 0;
    std::optional<Step> last_step_;

    bool midstream_ = false;           // no SYN from the client in the capture
    bool strict_ = false;              // TDS 8.0
    bool prelogin_answered_ = false;
    bool login_seen_ = false;          // a login was sent in the capture
    bool before_login_seen_ = false;   // the capture shows a prelogin, TLS handshake or login
    bool login_answered_ = false;      // the server answered the login
    bool login7_in_clear_ = false;
    bool tls_seen_ = false;
    bool clear_tds_after_login_ = false;  // a TDS message in clear after the login (login-only TLS)
    bool appdata_after_login_ = false;    // server application data answered the login
    bool login_ack_ = false;
    bool login_error_ = false;
    bool commands_after_response_ = false;
    int client_encryption_ = -1;       // prelogin ENCRYPTION option of each side
    int server_encryption_ = -1;
    ClassifyContext tls_;
    std::optional<uint16_t> tls_version_;
    std::optional<uint16_t> cipher_;
    std::string conn_id_;
    // The names a Login7 in clear (or decrypted) showed; most logins are encrypted, so most connections
    // never allocate them.
    struct LoginNames {
        std::string user, app, client_host, database;
    };
    std::unique_ptr<LoginNames> names_;
    Side close_by_ = Side::Unknown;
    Side capture_point_ = Side::Unknown;
    int checksum_samples_ = 0;
    int bad_checksums_[2] = {0, 0};   // [client, server]
    int good_checksums_[2] = {0, 0};
    CloseKind close_kind_ = CloseKind::None;
    std::optional<uint32_t> browser_lookup_;
    uint32_t browser_frame_ = 0;

    // Attentions (at most kMaxAttentions are kept; later ones are counted).
    static constexpr size_t kMaxAttentions = 16;
    std::vector<AttentionRecord> attentions_;
    uint32_t attentions_dropped_ = 0;
    int64_t last_request_ns_ = -1;
    // Redirect.
    std::optional<Routing> redirect_;
    uint32_t redirect_frame_ = 0;
    std::optional<uint32_t> redirect_stream_;
    uint32_t redirect_conn_frame_ = 0;
    std::optional<uint32_t> redirected_from_;
    // MARS: the prelogin option of each side, SMP FINs seen from each side.
    int client_mars_ = -1, server_mars_ = -1;
    bool smp_seen_ = false;
    bool smp_fin_[2] = {false, false};  // [client, server]
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
    void relabel_split_login(const Packet& p);
    // Authentication.
    int login7_integrated_ = -1;
    bool federated_ = false;
    bool ntlm_seen_ = false, kerberos_seen_ = false;
    bool kerberos_offered_ = false;   // an SPNEGO NegTokenInit of the client listed Kerberos
    bool ntlm_fallback_done_ = false;
    std::string ntlm_user_;           // DOMAIN\user of the NTLM AUTHENTICATE
};

}  // namespace tdsdiag

// The evidence a connection keeps, in small trackers with one job each. Each learns from a Packet
// (its `learn` is called for every frame, before the rules run); the rules only read them, and the
// texts (describe.cpp) read them too, as they stand when a frame is shown.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/config.hpp"
#include "tdsdiag/model.hpp"
#include "tdsdiag/packet.hpp"
#include "tdsdiag/x509.hpp"

namespace tdsdiag {

// Whether a frame's list of types (TDS packet, TLS record or handshake types, SMP flags) holds `x`.
inline bool has(const std::vector<uint8_t>& v, uint8_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// What Wireshark's TCP knew of a stream before tdsdiag took it up: a connection found by its first TDS
// message on a port that is not a SQL Server port (a named instance's dynamic port) began earlier.
struct StreamStart {
    uint32_t frame = 0;  // the stream's first frame in the capture
    int64_t ns = 0;      // its time
    bool syn = false;    // that frame was the client's SYN: the capture holds the TCP handshake
};

// What the classifier needs of the TLS handshake beyond the frame itself.
struct ClassifyContext {
    bool tls13 = false;                  // the ServerHello chose TLS 1.3
    bool client_finished_seen = false;   // TLS 1.3: the client's encrypted Finished has gone by
};

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
    // The VERSION of this server's latest prelogin answer (pack_version), -1 if none seen: tells a
    // connection that saw none (a strict client's) whether the server has TDS 8.0.
    int64_t prelogin_version = -1;
    bool plain_prelogin_answered = false;  // it answered a PRELOGIN in clear: it does not force strict encryption
    // The certificate `der` as read, parsed only if none of the recent ones is the same.
    std::shared_ptr<const CertInfo> certificate(const std::vector<uint8_t>& der);
};

// One side of the connection: who it is and what it said of itself.
struct Endpoint {
    std::string addr;
    uint16_t port = 0;
    uint32_t packets = 0;             // frames it sent (0 from the server: a one-sided capture)
    int prelogin_encryption = -1;     // its prelogin ENCRYPTION option, -1 if not seen
    int prelogin_mars = -1;           // its prelogin MARS option, -1 if not seen
    int64_t prelogin_version = -1;    // its prelogin VERSION option (pack_version), -1 if not seen
    std::string library;              // the client's: the library name (CltIntName) of its Login7
    bool smp_fin = false;             // it ended its MARS sessions (an SMP FIN)
    bool fin_sent = false;            // it sent a FIN, before the frame the rules look at
    int64_t last_payload_ns = 0;      // when it last sent payload, before the frame the rules look at
    int good_checksums = 0, bad_checksums = 0;  // TCP checksums sampled on its packets
};

// What the network cost a connection up to some time; the difference of two is what it cost between.
struct NetCost {
    uint32_t retransmissions = 0;
    int64_t retransmission_wait_ns = 0;  // time retransmitted segments waited for their last copy
    int64_t zero_window_ns = 0;          // time a window stayed at 0
    NetCost since(const NetCost& before) const {
        return {retransmissions - before.retransmissions, retransmission_wait_ns - before.retransmission_wait_ns,
                zero_window_ns - before.zero_window_ns};
    }
    int64_t lost_ns() const { return retransmission_wait_ns + zero_window_ns; }
};

// The TCP handshake.
struct TcpTracker {
    bool midstream = false;          // no SYN from the client opens the capture of this connection
    int64_t first_syn_ns = -1;       // the client's first SYN
    int syn_retransmissions = 0;     // the SYN sent again (200 ms or more later)
    uint32_t syn_resent_frame = 0;   // the first SYN sent again
    uint32_t syn_ack_frame = 0;      // the first SYN/ACK after the first SYN
    int64_t syn_ack_ns = 0;
    // A refused SYN (answered by RST): Windows clients try again, typically twice, about 0.5 s apart,
    // on the same port pair; each try is one more attempt of one refused connection.
    int syn_attempts = 0;            // SYNs of the client that were not retransmissions
    int syn_refusals = 0;            // RSTs answering them
    int64_t last_refusal_ns = 0;
    // A SYN answered by a bare ACK that does not acknowledge it: the server's TCP took it for a segment
    // of an older connection on the same ports, which it still holds (TIME_WAIT or established). The
    // client's TCP answers such an ACK with a reset and sends its SYN again.
    uint32_t syn_seq = 0;            // the client's first SYN's sequence number (0: not read)
    int syn_bounces = 0;             // such ACKs
    uint32_t bounce_frame = 0;       // the first
    uint32_t bounce_ack = 0;         // what it acknowledged
    int64_t last_bounce_ns = 0;
    // Whether `p` is such an ACK (`syn_sent`: the connection waits for the answer to its SYN).
    bool bounces(const Packet& p, bool client, bool syn_sent) const {
        return !client && syn_sent && syn_ack_frame == 0 && syn_seq != 0 &&
               (p.tcp_flags & (kSyn | kFin | kRst | kAck)) == kAck && p.tcp_len == 0 && p.tcp_ack != syn_seq + 1;
    }
    // Network health, learnt from every frame (retransmissions too, which skip learn()).
    uint32_t retransmissions = 0;    // frames Wireshark marks as retransmissions (spurious ones too)
    uint32_t dup_acks = 0;           // bare ACKs repeating the same side's previous ACK number and window
    uint32_t zero_windows = 0;       // segments advertising a window of 0 (not SYN, FIN or RST)
    int64_t zero_window_ns = 0;      // time a side's window stayed at 0, until it sent a window again
    int64_t zero_window_since[2] = {-1, -1};  // by side (0 client): its window is 0 since then
    int64_t last_syn_ns = -1;        // the client's latest SYN, sent again or not
    int64_t handshake_syn_ns = -1;   // the last SYN before the SYN/ACK
    int64_t handshake_ack_ns = -1;   // the client's first ACK after the SYN/ACK
    struct LastAck {
        uint32_t ack = 0;
        uint16_t window = 0;
        bool valid = false;
    };
    LastAck last_ack[2];             // by side: its previous segment's ACK number and window
    // Time lost to retransmissions: for each retransmission whose segment (same side, same sequence
    // number) is among the side's last kSent payload segments, the time since that segment was last sent.
    // A segment sent three times costs its first copy to its last.
    int64_t retransmission_wait_ns = 0;
    static constexpr size_t kSent = 4;
    struct Sent {
        uint32_t seq = 0;
        int64_t ns = -1;                 // -1: empty
    };
    Sent sent[2][kSent];             // by side, a ring of its last payload segments
    uint8_t sent_next[2] = {0, 0};
    // The last zero-window period that ended: its end frame, its length and whose window it was.
    uint32_t zero_window_end_frame = 0;
    int64_t zero_window_period_ns = 0;
    bool zero_window_client = false;
    void learn_health(const Packet& p, bool client);
    // The network's cost so far, up to `now` (a window still at 0 counts until `now`).
    NetCost net_cost(int64_t now) const {
        NetCost c{retransmissions, retransmission_wait_ns, zero_window_ns};
        for (int64_t since : zero_window_since)
            if (since >= 0 && now > since) c.zero_window_ns += now - since;
        return c;
    }
    // SYN to SYN/ACK to the client's ACK, from the last SYN before the SYN/ACK, as seen where captured.
    std::optional<int64_t> handshake_rtt_ns() const {
        if (handshake_syn_ns < 0 || handshake_ack_ns < handshake_syn_ns) return std::nullopt;
        return handshake_ack_ns - handshake_syn_ns;
    }
    // Time the client's SYN waited for retransmission timeouts: its first SYN to the last one before the answer.
    int64_t syn_retransmission_wait_ns() const {
        return first_syn_ns >= 0 && handshake_syn_ns > first_syn_ns ? handshake_syn_ns - first_syn_ns : 0;
    }
    // A retransmitted frame: counts a SYN sent again.
    void learn_retransmission(const Packet& p, bool client, bool syn_sent);
    // `syn_sent`: the connection was waiting for the answer to a SYN.
    void learn(const Packet& p, bool client, bool syn_sent);
    // Whether the connection ended with its SYN refused and never got further.
    bool refused() const { return syn_refusals > 0 && syn_ack_frame == 0; }
    // Whether the SYN was answered by a reset or by an ACK of another connection, and never accepted:
    // the client may send it again on the same ports.
    bool turned_away() const { return (syn_refusals > 0 || syn_bounces > 0) && syn_ack_frame == 0; }
    int64_t last_turned_away_ns() const { return std::max(last_refusal_ns, last_bounce_ns); }

    // The path. A host sends all its packets with one IP TTL (IPv6 hop limit), and each router on the
    // way takes one off: a reset that a firewall, IPS or load balancer makes in a side's name arrives
    // with another TTL than that side's packets. [0] the client's, [1] the server's, from packets other
    // than resets; -1 none seen.
    int16_t ttl[2] = {-1, -1};
    bool ttl_varies[2] = {false, false};  // that side's packets came with more than one TTL: no baseline
    // A connection silent longer than the idle timeout: the first packet after the silence, and what
    // came after it.
    int64_t last_ns = -1;                 // the connection's last packet before the frame learnt
    uint32_t idle_frame = 0;              // the first packet after the last such silence, 0 if none
    int64_t idle_gap_ns = 0;              // the silence before it
    bool idle_client = false;             // it was the client's
    bool idle_answered = false;           // the other side sent anything but a reset since
    int idle_retransmissions = 0;         // its sender retransmitted since, unanswered
    // Every frame, retransmissions too, before the rules look at it.
    void learn_path(const Packet& p, bool client, int64_t idle_timeout_ns);
    // The usual TTL of the side that sent `p` when `p` came with another one, else -1.
    int usual_ttl_if_other(const Packet& p, bool client) const {
        const int side = client ? 0 : 1;
        if (p.ip_ttl < 0 || ttl[side] < 0 || ttl_varies[side] || p.ip_ttl == ttl[side]) return -1;
        return ttl[side];
    }
    // Whether `p`, from `client`'s side, is a reset answering the packet after an idle silence.
    bool reset_after_idle(const Packet& p, bool client) const {
        return p.rst() && idle_frame != 0 && idle_frame != p.frame && client != idle_client && !idle_answered;
    }
};

// The TLS handshake, as far as the capture shows it.
struct TlsTracker {
    bool seen = false;                  // any TLS record
    uint32_t client_hello_frame = 0;    // the first ClientHello
    uint16_t offered_max = 0, offered_min = 0;  // the versions it offered (GREASE left out)
    std::vector<uint16_t> offered_suites;
    std::string sni;                    // its server_name, "" if none
    bool alpn_tds8 = false;             // its ALPN offered tds/8.0
    uint32_t server_hello_frame = 0;    // the first ServerHello
    std::optional<uint16_t> version;    // chosen by the ServerHello
    std::optional<uint16_t> cipher;
    bool dhe = false;                   // the chosen suite is a TLS_DHE_* one
    ClassifyContext ctx;
    uint32_t certificate_frame = 0;     // the server's first Certificate
    std::shared_ptr<const CertInfo> cert;  // its leaf, if readable
    int64_t cert_seen_s = 0;            // capture time of the certificate, in seconds
    bool client_key_exchange = false;
    bool server_finished = false;       // the server's ChangeCipherSpec after its ServerHello
    bool alert_seen = false;
    int dh_p_bits = 0;                  // the DHE group's size from the ServerKeyExchange (0: none)
    void learn(const Packet& p, bool client, const Config& config, ServerFacts& server);

    bool certificate_expired() const { return cert && cert->not_after < cert_seen_s; }
    // A CA-signed certificate signed with a hash TLS 1.2 logins on Windows refuse. Self-signed
    // certificates are not affected (the error-10054 article, scenario 4): their hash is not checked.
    bool certificate_weak() const;
    // What the server's handshake showed below the policy of common TLS libraries (OpenSSL 3 at
    // security level 2 and up, Java, Go, GnuTLS): PolicyItem bits, docs/tls-policy.md.
    uint8_t below_policy() const;
};
enum PolicyItem : uint8_t {
    kPolicyHash = 1,     // a CA-signed certificate signed with MD5 or SHA-1
    kPolicyRsaKey = 2,   // an RSA key under 2048 bits
    kPolicyDhGroup = 4,  // a DHE group under 2048 bits
    kPolicyVersion = 8,  // TLS 1.0 or 1.1
};

// The login and its answer: what decides the connection's outcome.
struct LoginTracker {
    bool before_login_seen = false;   // the capture shows a prelogin, TLS handshake or login
    bool sent = false;                // a login was sent in the capture
    bool in_clear = false;            // a Login7 without TLS
    int64_t sent_ns = -1;             // when the login step began
    bool answered = false;            // the server answered the login
    bool acknowledged = false;        // LOGINACK
    bool error = false;               // an ERROR token before any LOGINACK
    bool clear_tds_after_login = false;  // a TDS message in clear after the login (login-only TLS)
    bool appdata_after_login = false;    // server application data answered the login
    bool commands_after_response = false;
    bool strict = false;              // TDS 8.0: TLS before the prelogin
    bool prelogin_answered = false;
    std::string conn_id;              // the prelogin's TRACEID connection GUID
    NetCost net_at_sent;              // the network's cost when the login step began
    uint32_t packet_size_asked = 0;   // the Login7's PacketSize (in clear or decrypted), 0 if not read
    uint32_t packet_size_granted = 0; // the login response's ENVCHANGE type 4, 0 if not seen
    void learn_packet_sizes(const Packet& p, bool client);
};

// Windows authentication and the names a login showed.
struct AuthTracker {
    int login7_integrated = -1;   // the Login7's fIntSecurity, -1 if not read
    bool federated = false;
    bool ntlm = false, kerberos = false;
    bool kerberos_offered = false;       // an SPNEGO NegTokenInit of the client listed Kerberos
    uint32_t fallback_frame = 0;         // NTLM went on after Kerberos was offered (the first time)
    bool fallback_by_client = false;     // ... by the client's choice (else the server chose NTLM)
    uint32_t anonymous_frame = 0;        // the last NTLM AUTHENTICATE with an empty user and domain
    std::string ntlm_user;               // DOMAIN\user of the NTLM AUTHENTICATE
    // The names a Login7 in clear (or decrypted) showed; most logins are encrypted, so most connections
    // never allocate them.
    struct LoginNames {
        std::string user, app, client_host, database;
    };
    std::unique_ptr<LoginNames> names;
    void learn(const Packet& p, bool client);
    const char* name() const;  // "sql", "ntlm", "kerberos", "federated", or ""
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

// The session: attentions, the redirect of the login response, MARS.
struct SessionTracker {
    static constexpr size_t kMaxAttentions = 16;  // later ones are counted only
    std::vector<AttentionRecord> attentions;
    uint32_t attentions_dropped = 0;
    int64_t last_request_ns = -1;
    std::optional<Routing> redirect;
    uint32_t redirect_frame = 0;
    std::optional<uint32_t> redirect_stream;  // the connection that followed the redirect
    uint32_t redirect_conn_frame = 0;
    std::optional<uint32_t> redirected_from;  // the connection whose redirect this one follows
    std::string redirected_to_name;           // ... and the server name its routing named
    bool smp_seen = false;
    void learn(const Packet& p, bool client, bool command, bool close, Endpoint& sender);
    const AttentionRecord* attention_at(uint32_t frame) const {
        for (const AttentionRecord& a : attentions)
            if (a.frame == frame) return &a;
        return nullptr;
    }
};

// How the connection ended.
struct CloseTracker {
    Side by = Side::Unknown;   // who sent the first FIN or RST
    std::optional<Step> during;  // the step in progress when the connection last went into its close
    CloseKind kind = CloseKind::None;
    uint32_t frame = 0;
    int64_t ns = 0;            // the time of that frame
    Side last_payload_from = Side::Unknown;  // before the frame the rules look at
};

}  // namespace tdsdiag

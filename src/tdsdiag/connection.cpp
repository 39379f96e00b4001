#include "tdsdiag/connection.hpp"

#include <algorithm>
#include <cstring>

namespace tdsdiag {

std::optional<Step> step_of(State s) {
    switch (s) {
    case State::SynSent:
    case State::Established: return Step::TcpHandshake;
    case State::Prelogin: return Step::Prelogin;
    case State::TlsHandshake: return Step::TlsHandshake;
    case State::Login: return Step::Login;
    case State::LoginResponse: return Step::LoginResponse;
    case State::Commands: return Step::Commands;
    case State::Closing: return Step::Close;
    case State::Start:
    case State::Midstream: break;
    }
    return std::nullopt;
}

const char* message_name(Message m) {
    switch (m) {
    case Message::Syn: return "Syn";
    case Message::SynAck: return "SynAck";
    case Message::Fin: return "Fin";
    case Message::Rst: return "Rst";
    case Message::Ack: return "Ack";
    case Message::PreloginRequest: return "PreloginRequest";
    case Message::PreloginResponse: return "PreloginResponse";
    case Message::TlsHandshake: return "TlsHandshake";
    case Message::AppData: return "AppData";
    case Message::Login7: return "Login7";
    case Message::Sspi: return "Sspi";
    case Message::Command: return "Command";
    case Message::Response: return "Response";
    case Message::Data: return "Data";
    }
    return "?";
}

namespace {

bool has(const std::vector<uint8_t>& v, uint8_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

Message classify_tds(const Packet& p, bool from_client) {
    for (uint8_t t : p.tds_types) {
        switch (t) {
        case kTdsTlsMisparsed: return Message::TlsHandshake;
        case kTdsPrelogin:
            if (from_client) return Message::PreloginRequest;
            break;
        case kTdsLogin7:
        case kTdsPreTds7Login:
            if (from_client) return Message::Login7;
            break;
        case kTdsSspi:
        case kTdsFedAuthToken:
            if (from_client) return Message::Sspi;
            break;
        case kTdsSqlBatch:
        case kTdsRpc:
        case kTdsAttention:
        case kTdsBulkLoad:
        case kTdsTransMgr:
            if (from_client) return Message::Command;
            break;
        case kTdsResponse:
            if (!from_client && p.sspi_only_response) return Message::Sspi;  // the server's SSPI challenge
            if (!from_client) return p.prelogin_encryption >= 0 ? Message::PreloginResponse : Message::Response;
            break;
        default: break;
        }
    }
    return Message::Data;
}

// A message that names its step even when the capture joined the connection late.
std::optional<State> state_named_by(Message m, bool from_client) {
    switch (m) {
    case Message::PreloginRequest:
    case Message::PreloginResponse: return State::Prelogin;
    case Message::TlsHandshake: return State::TlsHandshake;
    case Message::Login7:
    case Message::Sspi: return State::Login;
    case Message::Command:
        if (from_client) return State::Commands;
        break;
    default: break;
    }
    return std::nullopt;
}

}  // namespace

Message classify(const Packet& p, bool from_client, const ClassifyContext& ctx) {
    if (p.rst()) return Message::Rst;
    if (p.syn()) return p.ack() ? Message::SynAck : Message::Syn;
    if (p.fin()) return Message::Fin;
    if (p.tcp_len == 0) return Message::Ack;
    if (!p.tls_content_types.empty()) {
        auto appdata = std::count(p.tls_content_types.begin(), p.tls_content_types.end(), kTlsApplicationData);
        if (appdata > 0 && ctx.tls13 && !ctx.client_finished_seen) {
            // TLS 1.3 encrypts the rest of the handshake: the server's flight and the client's
            // Finished travel as application-data records.
            if (!from_client) return Message::TlsHandshake;
            --appdata;
        }
        return appdata > 0 ? Message::AppData : Message::TlsHandshake;
    }
    return classify_tds(p, from_client);
}

State next_state(State s, Message m, bool from_client, bool strict, bool prelogin_answered) {
    if (s == State::Closing || m == Message::Fin || m == Message::Rst) return State::Closing;
    const bool payload = m != Message::Syn && m != Message::SynAck && m != Message::Ack;
    switch (s) {
    case State::Start:
        if (m == Message::Syn) return State::SynSent;
        if (m == Message::SynAck) return State::Established;
        return state_named_by(m, from_client).value_or(State::Midstream);
    case State::SynSent:
        if (!payload) return m == Message::Syn ? State::SynSent : State::Established;
        [[fallthrough]];  // payload: the SYN/ACK was not captured
    case State::Established:
        if (!payload || !from_client) return State::Established;
        if (m == Message::TlsHandshake) return State::TlsHandshake;  // TDS 8.0: TLS first
        if (m == Message::Login7) return State::Login;               // no prelogin (old clients)
        return State::Prelogin;                                       // the first payload is the prelogin
    case State::Prelogin:
        if (!from_client) return State::Prelogin;
        if (m == Message::TlsHandshake) return State::TlsHandshake;
        if (m == Message::Login7 || m == Message::Sspi) return State::Login;
        if (m == Message::AppData && strict && prelogin_answered) return State::Login;
        return State::Prelogin;
    case State::TlsHandshake:
        if (from_client && m == Message::AppData) return strict ? State::Prelogin : State::Login;
        if (from_client && m == Message::Login7) return State::Login;
        return State::TlsHandshake;
    case State::Login:
        // An SSPI round trip (the server's challenge, the client's answer) stays in the login.
        if (!from_client && payload && m != Message::Sspi) return State::LoginResponse;
        return State::Login;
    case State::LoginResponse:
        if (from_client && m == Message::Sspi) return State::Login;
        if (from_client && payload) return State::Commands;
        return State::LoginResponse;
    case State::Commands: return State::Commands;
    case State::Midstream: return state_named_by(m, from_client).value_or(State::Midstream);
    case State::Closing: break;
    }
    return State::Closing;
}

std::shared_ptr<const CertInfo> ServerFacts::certificate(const std::vector<uint8_t>& der) {
    for (const SeenCert& c : certs)
        if (!c.der.empty() && c.der.size() == der.size() && memcmp(c.der.data(), der.data(), der.size()) == 0)
            return c.info;
    SeenCert& slot = certs[next_cert];
    next_cert = (next_cert + 1) % kSeenCerts;
    auto parsed = parse_certificate(der.data(), der.size());
    slot.info = parsed ? std::make_shared<const CertInfo>(std::move(*parsed)) : nullptr;
    slot.der = der;
    return slot.info;
}

Connection::Connection(const Packet& first, bool src_is_client, const Config& config, ServerFacts& server)
    : config_(config), server_(server), stream_(first.stream), first_frame_(first.frame), start_ns_(first.time_ns) {
    client_addr_ = src_is_client ? first.src_addr : first.dst_addr;
    server_addr_ = src_is_client ? first.dst_addr : first.src_addr;
    client_port_ = src_is_client ? first.src_port : first.dst_port;
    server_port_ = src_is_client ? first.dst_port : first.src_port;
}

bool Connection::from_client(const Packet& p) const {
    if (client_port_ != server_port_) return p.src_port == client_port_;
    return p.src_addr == client_addr_;
}

FrameResult Connection::on_packet(const Packet& p) {
    FrameResult r;
    r.in_connection = true;
    const bool client = from_client(p);
    if (state_ == State::Start) midstream_ = !p.syn();
    last_ns_ = std::max(last_ns_, p.time_ns);
    if (!client) ++server_packets_;

    if (p.retransmission) {
        // A copy of something already seen belongs to the step in progress and changes nothing,
        // except that a SYN sent again tells that the first got no answer.
        r.step = step_of(state_);
        diagnose_retransmission(p, client, r);
        return r;
    }

    const Message m = classify(p, client, tls_);
    const State prev = state_;
    state_ = next_state(prev, m, client, strict_ || (prev == State::Established && client && m == Message::TlsHandshake),
                        prelogin_answered_);
    learn(p, client, m);
    if (prev == State::Prelogin && !client && m != Message::Ack) prelogin_answered_ = true;
    if (prev == State::Established && state_ == State::TlsHandshake) strict_ = true;

    r.step = step_of(state_);
    if (r.step && r.step != step_of(prev)) {
        // A step opens here only when this frame is its first message. After an unknown start
        // (capture begun mid-connection) only messages that always open their step count.
        const bool known_start = prev != State::Start && prev != State::Midstream;
        const bool opener = m == Message::Syn || m == Message::PreloginRequest || m == Message::Login7 ||
                            m == Message::Fin || m == Message::Rst ||
                            (m == Message::TlsHandshake && client && has(p.tls_handshake_types, kHsClientHello));
        const uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(*r.step));
        if ((known_start || opener) && !(opened_steps_ & bit)) {
            opened_steps_ |= bit;
            r.step_first = true;
            if (*r.step == Step::Login) open_before_login_ns_ = last_open_ns_;
            if (last_open_ns_) r.step_delta_ns = p.time_ns - *last_open_ns_;
            last_open_ns_ = p.time_ns;
            step_open_ns_[static_cast<size_t>(*r.step) % 8] = p.time_ns;
        }
        if (!last_step_ || static_cast<uint8_t>(*r.step) > static_cast<uint8_t>(*last_step_)) last_step_ = r.step;
        if (prev == State::LoginResponse && state_ == State::Commands) commands_after_response_ = true;
    }
    diagnose(p, client, m, prev, r);
    if (m == Message::Login7 && client && p.login7_segment_count > 1 && relabels_.empty()) relabel_split_login(p);
    if (state_ == State::Prelogin || state_ == State::TlsHandshake) {
        if (!recent_) {
            recent_.reset(new std::array<Recent, kRecent>);  // not zeroed: only entries written are read
            recent_next_ = 0;
        }
    } else if (state_ != State::Login) {
        recent_.reset();  // past the login: nothing left to relabel
    }
    if (recent_) {
        (*recent_)[recent_next_ % kRecent] = {p.time_ns, p.frame, r.step, client && p.tcp_len > 0};
        ++recent_next_;
    }
    return r;
}

void Connection::relabel_split_login(const Packet& p) {
    if (step_of(state_) != Step::Login || !recent_) return;
    // The first segment: the client's payload frames counted back from this one, the last segment.
    uint32_t first_segment = 0, counted = 1;
    for (size_t i = 0; i < kRecent && i < recent_next_ && counted < p.login7_segment_count; ++i) {
        const Recent& f = (*recent_)[(recent_next_ - 1 - i) % kRecent];
        if (f.client_payload && ++counted == p.login7_segment_count) first_segment = f.frame;
    }
    if (first_segment == 0 || first_segment >= p.frame) return;  // older than the recent frames
    // The frames from the first segment on, as far as the recent ones reach, are in step 4.
    const Recent* opener = nullptr;
    for (size_t i = 0; i < kRecent && i < recent_next_; ++i) {
        const Recent& f = (*recent_)[(recent_next_ - 1 - i) % kRecent];
        if (f.frame < first_segment) break;
        if (f.frame == first_segment) opener = &f;
        if (f.step != Step::Login) relabels_.push_back({f.frame, Step::Login, false, std::nullopt});
    }
    if (opener == nullptr) return;  // the first segment is older than the recent frames: keep the single-pass view
    for (Relabel& r : relabels_)
        if (r.frame == opener->frame) {
            r.first = true;
            if (open_before_login_ns_) r.delta_ns = opener->ns - *open_before_login_ns_;
        }
    relabels_.push_back({p.frame, Step::Login, false, std::nullopt});  // no longer the opening frame
    step_open_ns_[static_cast<size_t>(Step::Login)] = opener->ns;
    last_open_ns_ = opener->ns;
}

void Connection::learn(const Packet& p, bool client, Message m) {
    if (p.checksum_ok >= 0 && wants_checksums()) {
        // Checksum offload: a capture taken on a host records the packets it sends before the NIC
        // fills in their checksum. Wrong checksums on one side's packets only: captured on that side.
        ++checksum_samples_;
        (p.checksum_ok ? good_checksums_ : bad_checksums_)[client ? 0 : 1]++;
        if (bad_checksums_[0] > 0 && good_checksums_[0] == 0 && good_checksums_[1] > 0 && bad_checksums_[1] == 0)
            capture_point_ = Side::Client;
        else if (bad_checksums_[1] > 0 && good_checksums_[1] == 0 && good_checksums_[0] > 0 && bad_checksums_[0] == 0)
            capture_point_ = Side::Server;
    }
    if (!p.tls_content_types.empty()) tls_seen_ = true;

    if (p.prelogin_encryption >= 0) {
        if (client && has(p.tds_types, kTdsPrelogin))
            client_encryption_ = p.prelogin_encryption;
        else if (!client)
            server_encryption_ = p.prelogin_encryption;
    }
    if (client && p.login7_integrated >= 0) login7_integrated_ = p.login7_integrated;
    if (client && has(p.tds_types, kTdsFedAuthToken)) federated_ = true;
    if (p.prelogin_mars >= 0 && m != Message::AppData) (client ? client_mars_ : server_mars_) = p.prelogin_mars;
    if (!p.smp_flags.empty()) {
        smp_seen_ = true;
        if (has(p.smp_flags, kSmpFin)) smp_fin_[client ? 0 : 1] = true;
    }
    if (client && !p.trace_id.empty() && conn_id_.empty()) conn_id_ = format_guid(p.trace_id.data(), p.trace_id.size());

    if (!client && has(p.tls_handshake_types, kHsServerHello)) {
        if (!p.tls_supported_versions.empty())
            tls_version_ = p.tls_supported_versions.front();
        else if (!p.tls_handshake_versions.empty())
            tls_version_ = p.tls_handshake_versions.front();
        if (!p.tls_cipher_suites.empty()) cipher_ = p.tls_cipher_suites.front();
        tls_.tls13 = tls_version_ == 0x0304;
    }
    if (client && tls_.tls13 && has(p.tls_content_types, kTlsApplicationData)) tls_.client_finished_seen = true;

    if (state_ == State::Prelogin || state_ == State::TlsHandshake || state_ == State::Login) before_login_seen_ = true;
    if (state_ == State::Login && client) {
        login_seen_ = true;
        if (m == Message::Login7 && p.tls_content_types.empty()) login7_in_clear_ = true;
    }
    if (client && !p.login_user.empty() && !names_) {
        names_ = std::make_unique<LoginNames>(LoginNames{p.login_user, p.login_app, p.login_host, p.login_database});
    }
    if (p.login_ack) login_ack_ = true;
    if (state_ == State::LoginResponse && !client) {
        if (m == Message::Response) clear_tds_after_login_ = true;
        if (m == Message::AppData) appdata_after_login_ = true;
        if (!p.errors.empty() && !login_ack_) login_error_ = true;
        login_answered_ = true;
    }
    if (state_ == State::Commands && m == Message::Response) clear_tds_after_login_ = true;

    if ((m == Message::Fin || m == Message::Rst) && close_kind_ == CloseKind::None) {
        close_by_ = client ? Side::Client : Side::Server;
        close_kind_ = m == Message::Rst ? CloseKind::Rst : CloseKind::Fin;
    }
}

bool Connection::holds(uint32_t frame, Code code) const {
    for (const Finding& f : findings_)
        if (f.frame == frame && f.code == code) return !f.retracted;
    return false;
}

Summary Connection::summary(bool capture_complete) const {
    Summary s;
    s.last_step = last_step_;
    s.tls_version = tls_version_;
    s.cipher = cipher_;
    s.conn_id = conn_id_;
    s.close_by = close_by_;
    s.close_kind = close_kind_;
    s.capture_point = capture_point_;
    if (cert_) s.cert_signature = signature_algorithm_name(cert_->signature_oid);
    s.user = names_ ? names_->user : ntlm_user_;
    if (names_) {
        s.app = names_->app;
        s.client_host = names_->client_host;
        s.database = names_->database;
    }
    s.browser_frame = browser_frame_;
    if (client_mars_ >= 0 || server_mars_ >= 0) s.mars = client_mars_ == 1 && server_mars_ == 1 ? "on" : "off";
    if (redirect_) s.redirect_to = redirect_->server + ":" + std::to_string(redirect_->port);
    s.redirect_stream = redirect_stream_;
    s.redirected_from = redirected_from_;
    s.attentions = static_cast<uint32_t>(attentions_.size()) + attentions_dropped_;
    if (federated_) s.auth = "federated";
    else if (ntlm_seen_) s.auth = "ntlm";
    else if (kerberos_seen_) s.auth = "kerberos";
    else if (login7_integrated_ == 0) s.auth = "sql";

    if (strict_)
        s.encryption = Encryption::Strict;
    else if (login7_in_clear_)
        s.encryption = Encryption::None;
    else if (server_encryption_ >= 0) {
        switch (server_encryption_ & 0x0f) {
        case 0: s.encryption = Encryption::LoginOnly; break;
        case 1:
        case 3: s.encryption = Encryption::Full; break;
        case 2: s.encryption = Encryption::None; break;
        default: break;
        }
    } else if (tls_seen_) {
        if (clear_tds_after_login_)
            s.encryption = Encryption::LoginOnly;
        else if (appdata_after_login_)
            s.encryption = Encryption::Full;
    }

    // A client that got past its SYN heard from the server: with no server packet in the capture,
    // the capture holds one direction only and cannot show the login's result.
    const bool after_login_unseen = (midstream_ && !before_login_seen_) || (server_packets_ == 0 && login_seen_);
    if (login_ack_)
        s.outcome = Outcome::Connected;
    else if (login_error_)
        s.outcome = Outcome::LoginFailed;
    else if (commands_after_response_)
        s.outcome = Outcome::Connected;
    else if (login_answered_ || after_login_unseen) {
        // An encrypted login answer followed by a close, or a capture begun after the login:
        // nothing in the capture tells whether the login succeeded.
        if (state_ == State::Closing || capture_complete) s.outcome = Outcome::Unknown;
    } else if (state_ == State::Closing)
        s.outcome = Outcome::Failed;
    else if (capture_complete)
        // A SYN sent again and never answered: the client gave up, which sends nothing on the wire.
        s.outcome = state_ == State::SynSent && syn_retransmissions_ > 0 ? Outcome::Failed : Outcome::Open;
    return s;
}

}  // namespace tdsdiag

#include "tdsdiag/connection.hpp"
#include "tdsdiag/dns.hpp"

#include "tdsdiag/version.hpp"

#include <algorithm>

namespace tdsdiag {

namespace {
bool is_payload(Message m) {
    return m != Message::Ack && m != Message::Syn && m != Message::SynAck && m != Message::Fin && m != Message::Rst;
}
}  // namespace

Connection::Connection(const Packet& first, bool src_is_client, const Config& config, ServerFacts& server)
    : config_(config), server_(server), stream_(first.stream), first_frame_(first.frame), start_ns_(first.time_ns) {
    ends_[0].addr = src_is_client ? first.src_addr : first.dst_addr;
    ends_[1].addr = src_is_client ? first.dst_addr : first.src_addr;
    ends_[0].port = src_is_client ? first.src_port : first.dst_port;
    ends_[1].port = src_is_client ? first.dst_port : first.src_port;
}

void Connection::begin_at_handshake(const StreamStart& start, uint32_t tracked_from) {
    if (!start.syn || start.frame >= tracked_from || state_ != State::Start) return;
    tracked_from_ = tracked_from;
    first_frame_ = start.frame;
    start_ns_ = start.ns;
    tcp_.first_syn_ns = start.ns;
    // The handshake is in the capture: step 1 opened at the SYN, and the connection is established.
    state_ = State::Established;
    opened_steps_ |= 1u << static_cast<unsigned>(Step::TcpHandshake);
    step_open_ns_[static_cast<size_t>(Step::TcpHandshake)] = start.ns;
    last_open_ns_ = start.ns;
    last_step_ = Step::TcpHandshake;
}

bool Connection::from_client(const Packet& p) const {
    if (client_port() != server_port()) return p.src_port == client_port();
    return p.src_addr == client_addr();
}

FrameResult Connection::on_packet(const Packet& p) {
    FrameResult r;
    r.in_connection = true;
    const bool client = from_client(p);
    if (p.icmp_error) {
        // An ICMP error quoting one of the connection's segments (`client`: the quoted segment's sender):
        // not a segment; fragmentation needed / packet too big tells that sender the path's MTU.
        last_ns_ = std::max(last_ns_, p.time_ns);
        frame_findings_ = findings_.size();
        pmtu_.learn_icmp(p, client);
        r.step = step_of(state_);
        return r;
    }
    if (state_ == State::Start) tcp_.midstream = !p.syn();
    last_ns_ = std::max(last_ns_, p.time_ns);
    ++ends_[client ? 0 : 1].packets;
    frame_findings_ = findings_.size();
    tcp_.learn_path(p, client, config_.idle_timeout_ns);
    tcp_.learn_health(p, client);
    // issue 31: full-size segments sent again and again, never acknowledged, while smaller ones pass
    if (pmtu_.learn(p, client, config_)) find_black_hole(p, client);

    // A refused SYN sent again on the same port pair: one more attempt of the same connection. Windows
    // sends the very same SYN again (its sequence number unchanged) about 0.5 s and 1 s after a reset,
    // which Wireshark marks as a retransmission; other stacks send a new one.
    const bool refused_syn_again =
        state_ == State::Closing && tcp_.refused() && client && p.syn() && !p.ack() && !p.rst();
    if (p.retransmission && !refused_syn_again) {
        // A copy of something already seen belongs to the step in progress and changes nothing,
        // except that a SYN sent again tells that the first got no answer.
        r.step = step_of(state_);
        tcp_.learn_retransmission(p, client, state_ == State::SynSent);
        if (tcp_.syn_resent_frame == p.frame && tcp_.syn_bounces == 0) {  // (a bounced SYN was answered)
            Evidence e = evidence(p, client, state_);
            e.waited_ns = p.time_ns - tcp_.first_syn_ns;
            find(p, Code::SynUnanswered, e);
        }
        // The packet after an idle silence sent again and again, unanswered: something on the path dropped it.
        if (tcp_.idle_frame != 0 && !tcp_.idle_answered && client == tcp_.idle_client && tcp_.idle_retransmissions == 2) {
            Evidence e = evidence(p, client, state_);
            e.variant = Variant::IdleUnacknowledged;
            e.waited_ns = tcp_.idle_gap_ns;
            e.idle_frame = tcp_.idle_frame;
            find(p, Code::IdleReset, e);
        }
    } else {
        if (refused_syn_again) state_ = State::SynSent;
        const Message m = classify(p, client, tls_.ctx);
        const State prev = state_;
        // An ACK of an older connection answering the SYN, and the client's reset of it, leave the SYN
        // waiting for its answer (TcpTracker::bounces).
        const bool syn_sent = prev == State::SynSent;
        const bool still_waiting = tcp_.bounces(p, client, syn_sent) ||
                                   (client && m == Message::Rst && syn_sent && tcp_.syn_bounces > 0 && tcp_.syn_ack_frame == 0);
        state_ = still_waiting ? prev
                               : next_state(prev, m, client,
                                            strict_ || (prev == State::Established && client && m == Message::TlsHandshake),
                                            prelogin_answered_);
        learn(p, client, m, prev);
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
            if (prev == State::LoginResponse && state_ == State::Commands) login_.commands_after_response = true;
        }
        diagnose(p, client, m, prev);
        settle(p, client, m);
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
    }
    // This frame's diagnoses, as known now: what a single pass shows.
    for (size_t i = frame_findings_; i < findings_.size(); ++i)
        if (auto d = describe(findings_[i], *this, false)) r.diagnoses.push_back(std::move(*d));
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

void Connection::learn(const Packet& p, bool client, Message m, State prev) {
    Endpoint& sender = ends_[client ? 0 : 1];
    if (p.checksum_ok >= 0 && wants_checksums()) {
        // Checksum offload: a capture taken on a host records the packets it sends before the NIC
        // fills in their checksum. Wrong checksums on one side's packets only: captured on that side.
        ++checksum_samples_;
        ++(p.checksum_ok ? sender.good_checksums : sender.bad_checksums);
        const Endpoint &c = ends_[0], &s = ends_[1];
        if (c.bad_checksums > 0 && c.good_checksums == 0 && s.good_checksums > 0 && s.bad_checksums == 0)
            capture_point_ = Side::Client;
        else if (s.bad_checksums > 0 && s.good_checksums == 0 && c.good_checksums > 0 && c.bad_checksums == 0)
            capture_point_ = Side::Server;
    }
    tcp_.learn(p, client, prev == State::SynSent);
    if (p.prelogin_encryption >= 0 && (!client || has(p.tds_types, kTdsPrelogin)))
        sender.prelogin_encryption = p.prelogin_encryption;
    if (p.prelogin_mars >= 0 && m != Message::AppData) sender.prelogin_mars = p.prelogin_mars;
    if (p.prelogin_version >= 0 && sender.prelogin_version < 0 && m != Message::AppData &&
        (!client || has(p.tds_types, kTdsPrelogin)))
        sender.prelogin_version = p.prelogin_version;
    if (!client && sender.prelogin_version >= 0) server_.prelogin_version = sender.prelogin_version;
    if (!client && p.tls_content_types.empty() && (p.prelogin_version >= 0 || p.prelogin_encryption >= 0))
        server_.plain_prelogin_answered = true;
    if (client && !p.login_library.empty() && sender.library.empty()) sender.library = p.login_library;
    if (client && !p.trace_id.empty() && login_.conn_id.empty())
        login_.conn_id = format_guid(p.trace_id.data(), p.trace_id.size());

    tls_.learn(p, client, config_, server_);
    if (tls_.certificate_frame == p.frame && tls_.certificate_weak() && !server_.weak_cert) {
        server_.weak_cert = tls_.cert;
        server_.weak_cert_stream = stream_;
        server_.weak_cert_frame = p.frame;
    }

    if (state_ == State::Prelogin || state_ == State::TlsHandshake || state_ == State::Login)
        login_.before_login_seen = true;
    if (state_ == State::Login && client) {
        login_.sent = true;
        if (m == Message::Login7 && p.tls_content_types.empty()) login_.in_clear = true;
        if (prev != state_) {
            login_.sent_ns = p.time_ns;
            login_.net_at_sent = tcp_.net_cost(p.time_ns);
        }
    }
    if (p.login_ack) login_.acknowledged = true;
    login_.learn_packet_sizes(p, client);
    if (state_ == State::LoginResponse && !client) {
        if (m == Message::Response) login_.clear_tds_after_login = true;
        if (m == Message::AppData) login_.appdata_after_login = true;
        if (!p.errors.empty() && !login_.acknowledged) login_.error = true;
        login_.answered = true;
    }
    if (state_ == State::Commands && m == Message::Response) login_.clear_tds_after_login = true;

    auth_.learn(p, client);
    session_.learn(p, client, m == Message::Command, m == Message::Fin || m == Message::Rst, sender);

    // (a refused SYN sent again goes back to step 1, and into the close again)
    if (state_ == State::Closing && prev != State::Closing) close_.during = step_of(prev);
    if ((m == Message::Fin || m == Message::Rst) && close_.kind == CloseKind::None && state_ == State::Closing) {
        close_.by = client ? Side::Client : Side::Server;
        close_.kind = m == Message::Rst ? CloseKind::Rst : CloseKind::Fin;
        close_.frame = p.frame;
        close_.ns = p.time_ns;
    }
}

void Connection::settle(const Packet& p, bool client, Message m) {
    Endpoint& sender = ends_[client ? 0 : 1];
    if (m == Message::Fin) sender.fin_sent = true;
    if (is_payload(m)) {
        close_.last_payload_from = client ? Side::Client : Side::Server;
        sender.last_payload_ns = p.time_ns;
    }
}

bool Connection::stands(const Finding& f) const {
    // The note on the certificate gives way to the error where the client rejected it.
    if (f.code == Code::CertificateNameMismatch && f.evidence.variant == Variant::NameNotValidated)
        for (const Finding& g : findings_)
            if (g.code == Code::CertificateNameMismatch && g.evidence.variant == Variant::NameRejected) return false;
    // A SYN sent again was answered after all: slow_accept tells it instead.
    // Issue 31: a parallel attempt the client gave up while another address answered is no failure.
    if (f.code == Code::SynUnanswered)
        return !(tcp_.syn_ack_frame != 0 && tcp_.syn_ack_frame > f.frame) && !abandoned_attempt(true);
    if (f.code == Code::ClientReset) return !abandoned_attempt(false);
    if (f.code == Code::ParallelAttempt) return abandoned_attempt(f.evidence.variant == Variant::AttemptUnanswered);
    // A client that closes after a finished TLS handshake without its login, once the KDC refused the
    // ticket it asked for during this connection: the missing ticket explains the close
    // (kerberos_spn_missing, kerberos_clock_skew), not the certificate.
    if (f.code == Code::CertificateRejected && f.evidence.variant == Variant::RejectedAfterHandshake)
        return !(kerberos_frame_ > first_frame_ && kerberos_frame_ < f.frame);
    return true;
}

bool Connection::holds(uint32_t frame, Code code) const {
    for (const Finding& f : findings_)
        if (f.frame == frame && f.code == code) return stands(f);
    return false;
}

std::vector<Diagnosis> Connection::diagnoses_on(uint32_t frame, bool capture_complete) const {
    std::vector<Diagnosis> out;
    for (const Finding& f : findings_)
        if (f.frame == frame)
            if (auto d = describe(f, *this, capture_complete)) out.push_back(std::move(*d));
    return out;
}

Summary Connection::summary(bool capture_complete) const {
    Summary s;
    s.stream = stream_;
    s.last_step = last_step_;
    s.tls_version = tls_.version;
    s.cipher = tls_.cipher;
    s.conn_id = login_.conn_id;
    s.close_by = close_.by;
    s.close_kind = close_.kind;
    s.capture_point = capture_point_;
    if (tls_.cert) s.cert_signature = signature_algorithm_name(tls_.cert->signature_oid);
    s.user = auth_.names ? auth_.names->user : auth_.ntlm_user;
    if (auth_.names) {
        s.app = auth_.names->app;
        s.client_host = auth_.names->client_host;
        s.database = auth_.names->database;
    }
    s.browser_frame = browser_frame_;
    s.kerberos_frame = kerberos_frame_;
    const Endpoint &c = ends_[0], &sv = ends_[1];
    if (sv.prelogin_version >= 0) s.server_version = server_version_text(unpack_version(sv.prelogin_version));
    s.client_version = c.library;
    if (c.prelogin_version >= 0) {
        const std::string number = version_number_text(unpack_version(c.prelogin_version));
        s.client_version = c.library.empty() ? number : c.library + " (" + number + ")";
    }
    if (c.prelogin_mars >= 0 || sv.prelogin_mars >= 0) s.mars = c.prelogin_mars == 1 && sv.prelogin_mars == 1 ? "on" : "off";
    if (session_.redirect) s.redirect_to = session_.redirect->server + ":" + std::to_string(session_.redirect->port);
    s.redirect_stream = session_.redirect_stream;
    if (login_.packet_size_asked != 0) s.packet_size_asked = login_.packet_size_asked;
    if (login_.packet_size_granted != 0) s.packet_size_granted = login_.packet_size_granted;
    s.redirected_from = session_.redirected_from;
    s.attentions = static_cast<uint32_t>(session_.attentions.size()) + session_.attentions_dropped;
    s.auth = auth_.name();
    s.retransmissions = tcp_.retransmissions;
    s.dup_acks = tcp_.dup_acks;
    s.zero_windows = tcp_.zero_windows;
    s.handshake_rtt_ns = tcp_.handshake_rtt_ns();
    if (dns_ != nullptr) {
        s.dns_name = dns_->name;
        // A stale tie (dns_stale_address): the address came from elsewhere (a cache, a hosts file), so the
        // lookup's time was not spent on this connection.
        if (dns_stale_frame_ == 0) s.dns_time_ns = dns_resolve_ns_;
    }

    if (strict_)
        s.encryption = Encryption::Strict;
    else if (login_.in_clear)
        s.encryption = Encryption::None;
    else if (sv.prelogin_encryption >= 0) {
        switch (sv.prelogin_encryption & 0x0f) {
        case 0: s.encryption = Encryption::LoginOnly; break;
        case 1:
        case 3: s.encryption = Encryption::Full; break;
        case 2: s.encryption = Encryption::None; break;
        default: break;
        }
    } else if (tls_.seen) {
        if (login_.clear_tds_after_login)
            s.encryption = Encryption::LoginOnly;
        else if (login_.appdata_after_login)
            s.encryption = Encryption::Full;
    }

    // A client that got past its SYN heard from the server: with no server packet in the capture,
    // the capture holds one direction only and cannot show the login's result.
    const bool after_login_unseen = (tcp_.midstream && !login_.before_login_seen) || (sv.packets == 0 && login_.sent);
    if (login_.acknowledged)
        s.outcome = Outcome::Connected;
    else if (login_.error)
        s.outcome = Outcome::LoginFailed;
    else if (login_.commands_after_response)
        s.outcome = Outcome::Connected;
    else if (login_.answered || after_login_unseen) {
        // An encrypted login answer followed by a close, or a capture begun after the login:
        // nothing in the capture tells whether the login succeeded.
        if (state_ == State::Closing || capture_complete) s.outcome = Outcome::Unknown;
    } else if (state_ == State::Closing)
        s.outcome = Outcome::Failed;
    else if (capture_complete)
        // A SYN sent again and never answered: the client gave up, which sends nothing on the wire.
        // So did one whose SYN was answered by an ACK of an older connection, and never by a SYN/ACK.
        s.outcome = state_ == State::SynSent && (tcp_.syn_retransmissions > 0 || tcp_.syn_bounces > 0) ? Outcome::Failed
                                                                                                    : Outcome::Open;
    // A parallel attempt the client gave up, its unanswered SYN or its close right after the handshake,
    // because its attempt at another address of the name answered and went on: abandoned, not failed
    // (nor open: the client has moved on). parallel_attempt stands exactly then (abandoned_attempt).
    if (s.outcome == Outcome::Failed || s.outcome == Outcome::Open)
        for (const Finding& f : findings_)
            if (f.code == Code::ParallelAttempt && stands(f)) {
                s.outcome = Outcome::Abandoned;
                break;
            }
    if (s.outcome == Outcome::LoginFailed) {
        s.failed_step = Step::LoginResponse;  // the login response carried the error
    } else if (s.outcome == Outcome::Failed) {
        s.failed_step = state_ == State::Closing ? close_.during : step_of(state_);
        // A close from a state that names no step (a capture begun mid-connection): the step of the
        // first error diagnosis, where its evidence stood.
        for (size_t i = 0; !s.failed_step && i < findings_.size(); ++i)
            if (code_info(findings_[i].code).severity == Severity::Error && stands(findings_[i]))
                s.failed_step = step_of(findings_[i].evidence.before);
    }
    return s;
}

}  // namespace tdsdiag

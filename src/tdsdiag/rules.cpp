// The diagnosis rules. Each rule names its code on the frame where its evidence becomes complete,
// with what that frame showed (Evidence); the trackers have already learnt from the frame, and the
// rules change none of them. The texts are written from the findings by describe() (describe.cpp).
#include <algorithm>

#include "tdsdiag/connection.hpp"
#include "tdsdiag/dns.hpp"
#include "tdsdiag/text.hpp"
#include "tdsdiag/version.hpp"

namespace tdsdiag {

namespace {
Evidence variant(Variant v) {
    Evidence e;
    e.variant = v;
    return e;
}

// What a Login7 in clear gives away. The password field decides: Windows authentication leaves it
// empty (its SSPI data stands for it), whatever fIntSecurity says; a Login7 read only in part (its
// password field unknown) is judged by fIntSecurity. A password login right after the TCP handshake,
// with no PRELOGIN before it, is a client that never offered encryption.
Variant cleartext_variant(const Packet& p, State prev) {
    const bool sspi = p.login7_integrated == 1 || !p.auth_tokens.empty();
    const Variant password = prev == State::Established ? Variant::NoPreloginInClear : Variant::Plain;
    if (p.login7_password_chars > 0) return password;
    if (p.login7_password_chars == 0) return sspi ? Variant::WindowsAuthInClear : Variant::EmptyPasswordInClear;
    return p.login7_integrated == 1 ? Variant::WindowsAuthInClear : password;
}
}  // namespace

void Connection::find(const Packet& p, Code code, Evidence e) {
    for (size_t i = frame_findings_; i < findings_.size(); ++i)
        if (findings_[i].code == code) return;  // once per frame
    findings_.push_back({p.frame, code, std::move(e)});
}

Evidence Connection::evidence(const Packet& p, bool client, State prev) const {
    Evidence e;
    e.from = client ? Side::Client : Side::Server;
    e.rst = p.rst();
    if (e.rst) {
        const int usual = tcp_.usual_ttl_if_other(p, client);
        if (usual >= 0) {
            e.ttl = p.ip_ttl;
            e.usual_ttl = static_cast<int16_t>(usual);
        }
    }
    e.before = prev;
    e.in_handshake = state_ == State::TlsHandshake;
    e.capture_point = capture_point_;
    e.alert_seen = tls_.alert_seen;
    return e;
}

void Connection::diagnose(const Packet& p, bool client, Message m, State prev) {
    const Evidence base = evidence(p, client, prev);

    if (first_frame_ == p.frame && tcp_.midstream && m != Message::SynAck) find(p, Code::CaptureStartedMidstream);

    if (m == Message::SynAck && tcp_.first_syn_ns >= 0) {
        Evidence e = base;
        e.waited_ns = p.time_ns - tcp_.first_syn_ns;
        e.retries = tcp_.syn_retransmissions;
        if (e.waited_ns > config_.slow_accept_ns) find(p, Code::SlowAccept, e);
    }

    if (m == Message::Login7 && client && p.tls_content_types.empty()) {
        find(p, Code::CleartextLogin, variant(cleartext_variant(p, prev)));
    }

    if (prev == State::Login && state_ == State::LoginResponse && login_.sent_ns >= 0) {
        Evidence e = base;
        e.waited_ns = p.time_ns - login_.sent_ns;
        if (e.waited_ns > config_.slow_login_ns) {
            // The network explains the slow login when, without the time it lost, the login would not
            // have been slow.
            e.net = tcp_.net_cost(p.time_ns).since(login_.net_at_sent);
            const bool network = (e.net.retransmissions > 0 || e.net.zero_window_ns > 0) && e.net.lost_ns() > 0 &&
                                 e.waited_ns - e.net.lost_ns() <= config_.slow_login_ns;
            if (network) e.variant = Variant::NetworkSlowLogin;
            find(p, Code::SlowLogin, e);
            if (network) find(p, Code::SlowNetwork, e);
        }
    }

    // A receive window that stayed at 0: the other side could send nothing all that time.
    if (tcp_.zero_window_end_frame == p.frame && tcp_.zero_window_period_ns >= config_.zero_window_stall_ns) {
        Evidence e = base;
        e.variant = Variant::ZeroWindowStall;
        e.waited_ns = tcp_.zero_window_period_ns;
        e.net = tcp_.net_cost(p.time_ns);
        find(p, Code::SlowNetwork, e);
    }

    if (state_ == State::LoginResponse && !client && !p.errors.empty() && !login_.acknowledged) {
        Evidence e = base;
        e.error = std::make_shared<const TdsError>(p.errors.front());
        find(p, Code::LoginFailed, e);
    }

    if (m == Message::Fin || m == Message::Rst || (!client && p.tcp_len > 0)) diagnose_strict(p, client, m, prev, base);
    diagnose_tls(p, client);
    if (client && m == Message::Command && session_.attention_at(p.frame) != nullptr) find(p, Code::Attention, base);
    if (session_.redirect_frame == p.frame) find(p, Code::Redirected, base);
    if (!p.auth_tokens.empty()) diagnose_auth(p);
    if (earlier_ && prev == State::SynSent) diagnose_reuse(p, client, m, prev, base);
    if ((m == Message::Fin || m == Message::Rst) && state_ == State::Closing) diagnose_close(p, client, m, prev, base);
    if (m == Message::Rst) {
        if (base.usual_ttl >= 0) find(p, Code::MiddleboxReset, base);
        if (tcp_.reset_after_idle(p, client)) {
            Evidence e = base;
            e.variant = Variant::IdleAnsweredByReset;
            e.waited_ns = tcp_.idle_gap_ns;
            e.idle_frame = tcp_.idle_frame;
            find(p, Code::IdleReset, e);
        }
    }
    if (tls_.certificate_frame != 0) diagnose_name(p);
    if (dns_stale_frame_ == p.frame) find(p, Code::DnsStaleAddress, base);
}

std::string Connection::asked_name(std::string& source) const {
    source = "SNI";
    if (!tls_.sni.empty()) return tls_.sni;
    if (dns_ != nullptr) {
        source = format("its DNS lookup, frame %u", dns_->answer_frame);
        return dns_->name;
    }
    source = "redirect target";
    return session_.redirected_to_name;
}

// No claim for a self-signed certificate, such as the one SQL Server makes for itself when none is
// configured (CN SSL_Self_Signed_Fallback, which holds no host name at all): a validating client refuses it
// as untrusted before any name matters (certificate_rejected says so), and a client that trusts it
// (TrustServerCertificate, a pinned certificate) does not check the name.
bool Connection::certificate_name_mismatch() const {
    std::string source;
    const std::string name = asked_name(source);
    return tls_.cert && !tls_.cert->self_issued && !name.empty() && !certificate_holds_name(*tls_.cert, name);
}

// The certificate against the name the client asked for: a note on the certificate (a client that does
// not validate it goes on), an error where the client rejects the certificate.
void Connection::diagnose_name(const Packet& p) {
    if (!certificate_name_mismatch()) return;
    if (tls_.certificate_frame == p.frame) find(p, Code::CertificateNameMismatch, variant(Variant::NameNotValidated));
    for (size_t i = frame_findings_; i < findings_.size(); ++i)
        if (findings_[i].code == Code::CertificateRejected) {
            find(p, Code::CertificateNameMismatch, variant(Variant::NameRejected));
            return;
        }
}

// TDS 8.0 strict encryption wanted by one side only. (a) The client opened with a ClientHello offering
// ALPN tds/8.0 and the server answered with anything but a ServerHello; (b) the server closed after a
// PRELOGIN without answering it, which a server forcing strict encryption does (likely: the capture
// cannot show its setting), unless its version shows it has no TDS 8.0. Once per connection.
void Connection::diagnose_strict(const Packet& p, bool client, Message m, State prev, const Evidence& e) {
    for (const Finding& f : findings_)
        if (f.code == Code::StrictEncryptionMismatch) return;
    const bool close = m == Message::Fin || m == Message::Rst;
    if (strict_ && tls_.alpn_tds8 && tls_.client_hello_frame != 0 && tls_.server_hello_frame == 0 && !tls_.alert_seen) {
        Evidence s = e;
        if (!client && p.tcp_len > 0 && p.tls_content_types.empty())
            s.variant = Variant::StrictAnsweredTds;
        else if (!client && close && ends_[1].last_payload_ns == 0)
            s.variant = Variant::StrictServerClosed;
        else if (client && close && ends_[1].packets > 0 && ends_[1].last_payload_ns == 0)
            s.variant = Variant::StrictServerSilent;
        else
            return;
        s.waited_ns = p.time_ns - ends_[0].last_payload_ns;
        handshake_explained_ = true;
        find(p, Code::StrictEncryptionMismatch, s);
        return;
    }
    // (prelogin_answered_ is already set by this very close: the server's silence is its payload.)
    if (!strict_ && !client && close && prev == State::Prelogin && ends_[1].last_payload_ns == 0 &&
        ends_[0].prelogin_encryption >= 0 && !server_.plain_prelogin_answered &&
        (server_.prelogin_version < 0 || supports_tds8(unpack_version(server_.prelogin_version)))) {
        Evidence s = e;
        s.variant = Variant::StrictRequiredByServer;
        find(p, Code::StrictEncryptionMismatch, s);
    }
}

void Connection::diagnose_tls(const Packet& p, bool client) {
    if (tls_.server_hello_frame == p.frame) {
        if (tls_.dhe) find(p, Code::DheCipher);
        if (tls_.version && *tls_.version < 0x0303) find(p, Code::OldTlsVersion);
    }
    if (tls_.certificate_frame == p.frame && tls_.certificate_weak())
        find(p, Code::WeakCertHash, variant(Variant::WeakOwnCertificate));

    // One alert, one diagnosis: where the alert proves a cause, that diagnosis alone names it (its text
    // names the alert and its sender); tls_alert is for the alerts nothing more specific explains.
    for (const TlsAlert& a : p.tls_alerts) {
        if (a.description == 0 || a.description == 90) continue;  // close_notify, user_canceled: a normal end
        if (!client && a.level == 2) server_fatal_alert_ = true;
        Evidence e = evidence(p, client, state_);
        e.alert = a;
        if (a.description == 70) {
            handshake_explained_ = true;
            e.variant = Variant::VersionAlert;
            find(p, Code::NoCommonTlsVersion, e);
        } else if ((a.description == 40 || a.description == 71) && !client && tls_.server_hello_frame == 0) {
            handshake_explained_ = true;
            e.variant = Variant::CipherAlert;
            find(p, Code::NoCommonCipher, e);
        } else if (a.description >= 42 && a.description <= 49 && client && tls_.certificate_frame != 0 &&
                   !tls_.client_key_exchange) {
            handshake_explained_ = true;
            e.variant = Variant::RejectedWithAlert;
            find(p, Code::CertificateRejected, e);
        } else {
            if (a.level == 2) handshake_explained_ = true;  // a fatal alert ends the handshake: its close adds nothing
            find(p, Code::TlsAlert, e);
        }
        // The client's alert right after the server's flight, which held something below common policy.
        if (client && a.level == 2 && a.description != 70 && tls_.server_hello_frame != 0 &&
            !tls_.client_key_exchange && !tls_.certificate_expired() && (tls_.below_policy() & ~kPolicyVersion) != 0) {
            handshake_explained_ = true;
            e.variant = Variant::Plain;
            find(p, Code::ClientTlsPolicy, e);
        }
    }
}

void Connection::diagnose_close(const Packet& p, bool client, Message m, State prev, const Evidence& e) {
    const bool rst = m == Message::Rst;
    const Endpoint &cl = ends_[0], &sv = ends_[1];

    // Step 1: the SYN refused (once per connection, however often the client tries again).
    if (prev == State::SynSent && !client && rst) {
        // (Right after a connection on the same ports the reset tells port_reuse instead.)
        if (tcp_.syn_refusals == 1 && !earlier_) find(p, Code::SynRejected, e);
        return;
    }

    // Issue 31: an answered attempt the client closes before any TDS, one of several it opened at once.
    if (client && !attempts_.parallel.empty() && !client_sent_payload() && close_.by == Side::Client)
        find(p, Code::ParallelAttempt, variant(Variant::AttemptClosed));

    // Steps 2 to 4: the client gave up waiting for the server.
    // In TLS 1.3 the client's first encrypted record after the server's flight ends the handshake on its
    // side (its Finished, or an alert): the server owes no further handshake message.
    const bool client_done_tls13 = tls_.ctx.tls13 && tls_.ctx.client_finished_seen;
    const bool waiting_on_server =
        (prev == State::Prelogin && !prelogin_answered_) ||
        (prev == State::TlsHandshake && close_.last_payload_from == Side::Client && !client_done_tls13) ||
        prev == State::Login;
    // With no packet from the server in the capture (a one-sided capture) silence proves nothing.
    if (client && waiting_on_server && sv.packets > 0 && !(prev == State::TlsHandshake && tls_.alert_seen)) {
        Evidence w = e;
        w.waited_ns = p.time_ns - ends_[0].last_payload_ns;
        // No driver times out in milliseconds: a shorter wait is the application giving up.
        find(p, w.waited_ns >= config_.login_timeout_min_ns ? Code::LoginTimeout : Code::LoginAbandoned, w);
        if (prev == State::TlsHandshake) handshake_explained_ = true;
    }

    if (prev == State::TlsHandshake && !handshake_explained_) diagnose_handshake_close(p, client, e);

    // Step 5: the login acknowledged, then nothing from the client until it closed: the client stalled.
    if (client && prev == State::LoginResponse && login_.acknowledged && !login_.commands_after_response &&
        sv.last_payload_ns > 0 && p.time_ns - sv.last_payload_ns >= config_.login_timeout_min_ns) {
        Evidence w = e;
        w.waited_ns = p.time_ns - sv.last_payload_ns;
        find(p, Code::ClientSilentAfterLogin, w);
    }

    // Step 2: encryption required by one side and not supported by the other.
    if (prev == State::Prelogin && prelogin_answered_ && cl.prelogin_encryption >= 0 &&
        sv.prelogin_encryption >= 0) {
        const int c = cl.prelogin_encryption & 0x0f, s = sv.prelogin_encryption & 0x0f;
        if ((c == 1 || c == 3) && s == 2) find(p, Code::EncryptionNotSupported, variant(Variant::ServerLacksEncryption));
        else if (c == 2 && (s == 1 || s == 3))
            find(p, Code::EncryptionNotSupported, variant(Variant::ClientLacksEncryption));
    }

    // Who closed, and how. After refusing a login the server ends the connection itself; that is expected.
    // So is any close after both sides ended their MARS sessions (SMP FIN each way): MARS connections
    // then close with FIN and often a reset, which is not an error.
    if (cl.smp_fin && sv.smp_fin) return;
    // A server that sent a fatal alert must close (RFC 8446 6.2): its FIN is the alert's, already diagnosed.
    if (!client && !rst && !cl.fin_sent && !login_.error && !server_fatal_alert_) find(p, Code::ServerFirstFin, e);
    if (!client && rst && !cl.fin_sent) find(p, Code::ServerReset, e);
    if (client && rst && !cl.fin_sent && close_.by == Side::Client && close_.kind == CloseKind::Rst)
        find(p, Code::ClientReset, e);
}

// Step 3: the handshake broken off, and nothing more specific said why.
void Connection::diagnose_handshake_close(const Packet& p, bool client, Evidence e) {
    handshake_explained_ = true;
    const TlsTracker& t = tls_;
    if (!client && t.client_hello_frame && !t.server_hello_frame && !t.alert_seen) {
        if (t.offered_max && t.offered_max < 0x0303) {
            e.variant = Variant::VersionTooOldOffered;
            find(p, Code::NoCommonTlsVersion, e);
        } else if (server_.weak_cert && server_.weak_cert_stream != stream_) {
            e.variant = Variant::WeakOtherConnection;
            find(p, Code::WeakCertHash, e);
        } else {
            e.variant = Variant::CipherClosedAfterHello;
            find(p, Code::NoCommonCipher, e);
        }
    } else if (client && t.server_hello_frame && t.version && t.offered_min && *t.version < t.offered_min) {
        e.variant = Variant::VersionBelowClientMin;
        find(p, Code::NoCommonTlsVersion, e);
    } else if (client && t.server_hello_frame && !t.client_key_exchange && !t.certificate_expired() &&
               (t.below_policy() & ~kPolicyVersion) != 0) {
        // The client left right after the server's flight, which held a weak hash, a small RSA key or
        // DHE group (TLS 1.0/1.1 alone is no_common_tls_version's; an expired certificate is cause enough,
        // certificate_rejected's). When the certificate is among them,
        // the client rejected it: certificate_rejected too; a small DHE group alone is no certificate's.
        find(p, Code::ClientTlsPolicy, e);
        if (t.certificate_frame && (t.below_policy() & (kPolicyHash | kPolicyRsaKey)) != 0) {
            e.variant = Variant::RejectedAfterCertificate;
            find(p, Code::CertificateRejected, e);
        }
    } else if (client && t.server_hello_frame && t.version && *t.version < 0x0303 && t.offered_max >= 0x0303 &&
               !t.client_key_exchange && !t.certificate_expired() && !t.certificate_weak()) {
        // The server chose TLS 1.0/1.1 from a ClientHello that also offered 1.2 or later, and the client
        // left before its key exchange. ODBC Driver 18 (OpenSSL 3 at its default security level) does
        // exactly that: it offers TLS 1.0, then refuses the MD5+SHA-1 signature TLS 1.0 puts on the key
        // exchange, even with TrustServerCertificate=yes. The certificate may be the cause instead.
        e.variant = Variant::VersionOldThenClosed;
        find(p, Code::NoCommonTlsVersion, e);
    } else if (client && t.certificate_frame && !t.client_key_exchange) {
        if (t.certificate_weak()) {
            e.variant = Variant::WeakThenRejected;
            find(p, Code::WeakCertHash, e);
        }
        e.variant = Variant::RejectedAfterCertificate;
        find(p, Code::CertificateRejected, e);
    } else if (client && t.ctx.tls13 && !t.ctx.client_finished_seen && !t.alert_seen) {
        // TLS 1.3 encrypts the certificate: without the key log the capture cannot show it.
        e.variant = Variant::RejectedTls13;
        find(p, Code::CertificateRejected, e);
    } else if (t.ctx.tls13 && t.ctx.client_finished_seen && !t.alert_seen &&
               close_.last_payload_from == Side::Client) {
        // TLS 1.3: one encrypted record from the client after the server's flight, then no TDS. A client
        // whose handshake succeeded sends its prelogin or login at once (tedious in the same segment), so
        // that record was likely an encrypted alert: Java's JSSE (Microsoft's JDBC driver) rejects a
        // certificate so, and the server may close first once it has read the alert.
        e.variant = Variant::RejectedTls13Alert;
        find(p, Code::CertificateRejected, e);
    } else if (client && t.certificate_frame && t.server_finished && !t.alert_seen) {
        // Some clients (Node.js, so tedious) verify the certificate only once the handshake is done.
        e.variant = Variant::RejectedAfterHandshake;
        find(p, Code::CertificateRejected, e);
    } else if (!client && t.dhe && t.client_key_exchange && !t.server_finished && !t.alert_seen) {
        find(p, Code::DheHandshakeFailure, e);
    } else {
        find(p, Code::TlsHandshakeIncomplete, e);
    }
}

// Step 1: a SYN on the ports of a connection that ended lately (or never), turned away by the server's
// TCP with an ACK of that connection or a reset instead of a SYN/ACK. Once per connection.
void Connection::diagnose_reuse(const Packet& p, bool client, Message m, State prev, const Evidence& e) {
    if (client || tcp_.syn_ack_frame != 0 || prev != State::SynSent) return;
    const bool bounce = tcp_.bounce_frame == p.frame;
    const bool reset = m == Message::Rst && tcp_.syn_refusals == 1 && tcp_.syn_bounces == 0;
    if (!bounce && !reset) return;
    if (bounce && tcp_.syn_bounces != 1) return;
    for (const Finding& f : findings_)
        if (f.code == Code::PortReuse) return;
    Evidence r = e;
    r.variant = bounce ? Variant::ReuseAnsweredByAck : Variant::ReuseAnsweredByReset;
    // From the end of the earlier connection to the SYN turned away.
    const int64_t syn_ns = tcp_.last_syn_ns >= 0 ? tcp_.last_syn_ns : p.time_ns;
    r.waited_ns = syn_ns - (earlier_->ended ? earlier_->ended_ns : earlier_->last_ns);
    find(p, Code::PortReuse, r);
}

void Connection::diagnose_auth(const Packet& p) {
    if (auth_.fallback_frame == p.frame)
        find(p, Code::NtlmFallback,
             variant(auth_.fallback_by_client ? Variant::FallbackByClient : Variant::FallbackByServer));
    if (auth_.anonymous_frame == p.frame) find(p, Code::AnonymousLogon);
}

}  // namespace tdsdiag

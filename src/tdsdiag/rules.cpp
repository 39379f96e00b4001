// The diagnosis rules. Each rule names its code on the frame where its evidence becomes
// complete. Its text (shown as expert info, so under 240 bytes) states the evidence, says
// "likely" where it infers, and gives the fix; its detail adds the rest of the evidence.
#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "tdsdiag/connection.hpp"
#include "tdsdiag/text.hpp"

namespace tdsdiag {
namespace {

bool has(const std::vector<uint8_t>& v, uint8_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

const char* kCertFix = "Fix: replace it with a SHA-256 certificate, or untick Server Authentication on it.";
const char* kTrustFix = "Fix: trust its CA on the client or use a CA-signed certificate; TrustServerCertificate only as a stop-gap.";
const char* kRenewFix = "Fix: renew the server certificate and restart SQL Server.";

}  // namespace

std::string Connection::server_name() const { return server_addr_ + ":" + std::to_string(server_port_); }

std::string Connection::cipher_text(uint16_t suite) const {
    const char* name = config_.cipher_name ? config_.cipher_name(suite) : nullptr;
    return name ? std::string(name) : format("0x%04x", suite);
}

const char* Connection::seen_from(Side sender) const {
    // The capture point tells whether a packet was seen leaving its sender or arriving at its peer.
    if (capture_point_ == Side::Unknown) return "";
    if (capture_point_ == sender) return " (captured on the sending side)";
    return sender == Side::Server ? " and it reached the client" : " and it reached the server";
}

std::string Connection::certificate_detail() const {
    if (!cert_) return {};
    return format("Certificate \"%s\" issued by \"%s\"%s, signed with %s, valid from %s to %s%s.",
                  cert_->subject_cn.c_str(), cert_->issuer_cn.c_str(), cert_->self_issued ? " (self-signed)" : "",
                  signature_algorithm_name(cert_->signature_oid).c_str(), format_utc(cert_->not_before).c_str(),
                  format_utc(cert_->not_after).c_str(),
                  certificate_expired()              ? ", expired at capture time"
                  : cert_->not_before > cert_seen_s_ ? ", not yet valid at capture time"
                                                     : "");
}

bool Connection::certificate_expired() const { return cert_ && cert_->not_after < cert_seen_s_; }

const char* Connection::certificate_reason(bool weak) const {
    if (!cert_) return "";
    if (certificate_expired()) return " (expired at capture time)";
    if (weak) return " (weak hash)";
    return cert_->self_issued ? " (self-signed)" : "";
}

const char* Connection::certificate_fix(bool weak) const {
    if (certificate_expired()) return kRenewFix;
    return weak ? kCertFix : kTrustFix;
}

std::string Connection::offered_detail() const {
    // Appended in place: a ClientHello lists dozens of suites, and a capture may hold thousands of
    // connections that fail this way.
    std::string text = format("ClientHello (frame %u) offered %s to %s and %zu cipher suites: ", client_hello_frame_,
                              tls_version_name(offered_min_).c_str(), tls_version_name(offered_max_).c_str(),
                              offered_suites_.size());
    text.reserve(text.size() + offered_suites_.size() * 40);
    for (size_t i = 0; i < offered_suites_.size(); ++i) {
        if (i) text += ", ";
        const uint16_t suite = offered_suites_[i];
        const char* name = config_.cipher_name ? config_.cipher_name(suite) : nullptr;
        if (name != nullptr) {
            text += name;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%04x", suite);
            text += hex;
        }
    }
    text += '.';
    if (text.size() > kMaxFormatted) text.resize(kMaxFormatted);  // as long as format() would have made it
    return text;
}

void Connection::emit(FrameResult& r, const Packet& p, Code code, std::string text, std::string detail) {
    emit(r, p, code, code_info(code).severity, std::move(text), std::move(detail));
}

void Connection::emit(FrameResult& r, const Packet& p, Code code, Severity severity, std::string text,
                      std::string detail) {
    for (const Diagnosis& d : r.diagnoses)
        if (d.code == code) return;  // once per frame
    r.diagnoses.push_back({code, severity, std::move(text), std::move(detail)});
    findings_.push_back({p.frame, code, severity, false});
}

void Connection::retract(Code code) {
    for (Finding& f : findings_)
        if (f.code == code) f.retracted = true;
}

void Connection::diagnose_retransmission(const Packet& p, bool client, FrameResult& r) {
    if (!(client && p.syn() && !p.ack() && state_ == State::SynSent)) return;
    // A copy within 200 ms (below any stack's minimum retransmission timeout) is a duplicate made
    // by the capture, not a SYN sent again.
    if (p.time_ns - first_syn_ns_ < 200000000) return;
    ++syn_retransmissions_;
    if (syn_retransmissions_ != 1 || first_syn_ns_ < 0) return;
    emit(r, p, Code::SynUnanswered,
         format("The SYN got no answer for %s and was sent again: a firewall, a wrong address or port, or a listener "
                "too busy to accept. Fix: check address, port and firewalls; under load, SQL Server 2019+.",
                seconds(p.time_ns - first_syn_ns_).c_str()),
         format("Server %s. Nothing in the capture answers the SYN so far; on SQL Server 2017 and older an IOCP "
                "listener shortage delays accepts under load. If a SYN/ACK follows, read slow_accept instead.",
                server_name().c_str()));
}

void Connection::diagnose(const Packet& p, bool client, Message m, State prev, FrameResult& r) {
    const Side sender = client ? Side::Client : Side::Server;

    if (first_frame_ == p.frame && midstream_ && m != Message::SynAck)
        emit(r, p, Code::CaptureStartedMidstream,
             "The capture holds no TCP handshake for this connection (common at capture start): its first steps "
             "cannot be shown and its outcome may be unknown.");

    if (m == Message::Syn && client && first_syn_ns_ < 0) first_syn_ns_ = p.time_ns;
    if (m == Message::SynAck && first_syn_ns_ >= 0) {
        const int64_t waited = p.time_ns - first_syn_ns_;
        if (syn_retransmissions_ > 0) retract(Code::SynUnanswered);
        if (waited > config_.slow_accept_ns)
            emit(r, p, Code::SlowAccept,
                 format("The server accepted the connection %s after the first SYN (threshold %s): a busy listener. "
                        "Fix: check the server's load (IOCP listener shortage on SQL Server 2017 and older).",
                        seconds(waited).c_str(), seconds(config_.slow_accept_ns).c_str()),
                 format("The client sent its SYN %d more time(s) before the SYN/ACK. SQL Server 2019 and later have a "
                        "dedicated login pool that reduces accept delays.",
                        syn_retransmissions_));
    }

    if (m == Message::Login7 && client && p.tls_content_types.empty())
        emit(r, p, Code::CleartextLogin,
             "The Login7 travels without TLS: its user name and (merely obfuscated) password are readable on the "
             "path. Fix: enable encryption (Encrypt=True on the client, or Force Encryption on the server).");

    if (prev != state_ && state_ == State::Login && client) login_ns_ = p.time_ns;
    if (prev == State::Login && state_ == State::LoginResponse && login_ns_ >= 0) {
        const int64_t waited = p.time_ns - login_ns_;
        if (waited > config_.slow_login_ns)
            emit(r, p, Code::SlowLogin,
                 format("The server answered the login %s after it was sent (threshold %s). Fix: look for "
                        "authentication delays (domain controller) and worker starvation on the server.",
                        seconds(waited).c_str(), seconds(config_.slow_login_ns).c_str()));
    }

    if (state_ == State::LoginResponse && !client && !p.errors.empty() && !login_ack_) {
        const TdsError& e = p.errors.front();
        std::string meaning = login_error_meaning(e.number);
        if (e.number == 18456) meaning = login_failed_state_meaning(e.state);
        const std::string why =
            meaning.empty() ? " The SQL Server error log says why for this state." : " It means " + meaning + ".";
        std::string text = format("Login failed: error %u, state %u, class %u: \"%s\".", e.number, e.state, e.severity,
                                  e.message.c_str()) + why;
        if (text.size() > kMaxTextLength)  // a long server message stays in the detail
            text = format("Login failed: error %u, state %u, class %u.", e.number, e.state, e.severity) + why;
        emit(r, p, Code::LoginFailed, text, format("Server message: \"%s\"", e.message.c_str()));
    }

    diagnose_tls(p, client, r);
    diagnose_session(p, client, m, r);
    if (!p.auth_tokens.empty()) diagnose_auth(p, client, r);
    if (m == Message::Fin || m == Message::Rst) diagnose_close(p, client, m, prev, r);

    if (m == Message::Fin && client) client_fin_sent_ = true;
    if (m != Message::Ack && m != Message::Syn && m != Message::SynAck && m != Message::Fin && m != Message::Rst) {
        last_payload_from_ = sender;
        if (client) last_client_payload_ns_ = p.time_ns;
    }
}

void Connection::diagnose_tls(const Packet& p, bool client, FrameResult& r) {
    const auto& hs = p.tls_handshake_types;
    if (client && has(hs, kHsClientHello) && client_hello_frame_ == 0) {
        client_hello_frame_ = p.frame;
        offered_suites_ = p.tls_cipher_suites;
        for (uint16_t v : p.tls_supported_versions.empty() ? p.tls_handshake_versions : p.tls_supported_versions) {
            if ((v & 0x0f0f) == 0x0a0a) continue;  // GREASE
            offered_max_ = std::max(offered_max_, v);
            offered_min_ = offered_min_ == 0 ? v : std::min(offered_min_, v);
        }
    }
    if (!client && has(hs, kHsServerHello) && !server_hello_seen_) {
        server_hello_seen_ = true;
        if (cipher_) {
            const std::string name = cipher_text(*cipher_);
            dhe_ = name.rfind("TLS_DHE_", 0) == 0;
            if (dhe_)
                emit(r, p, Code::DheCipher,
                     format("The server chose %s, a TLS_DHE suite: between Windows versions these fail now and then "
                            "with 10054. Fix: remove TLS_DHE_* suites from the cipher suite order.",
                            name.c_str()));
        }
        if (tls_version_ && *tls_version_ < 0x0303)
            emit(r, p, Code::OldTlsVersion,
                 format("The server chose %s, an old TLS version with known weaknesses that policies are disabling. "
                        "Fix: move client and server to TLS 1.2 or later.",
                        tls_version_name(*tls_version_).c_str()));
    }
    if (!client && has(hs, kHsCertificate) && !p.certificates.empty() && !server_certificate_seen_) {
        server_certificate_seen_ = true;
        const auto& der = p.certificates.front();
        cert_ = server_.certificate(der);
        cert_seen_s_ = p.time_ns / 1000000000;
        if (cert_) {
            const std::string hash = signature_hash(cert_->signature_oid);
            if (is_weak_certificate_hash(hash)) {
                if (!server_.weak_cert) {
                    server_.weak_cert = cert_;
                    server_.weak_cert_stream = stream_;
                    server_.weak_cert_frame = p.frame;
                }
                emit(r, p, Code::WeakCertHash,
                     format("The server certificate is signed with %s, which TLS 1.2 logins on Windows cannot use. %s",
                            hash.c_str(), kCertFix),
                     certificate_detail() +
                         (cert_->self_issued ? " Microsoft notes that self-signed certificates are not affected; it "
                                               "matters if a client here rejects it."
                                             : ""));
            }
        }
    }
    if (client && has(hs, kHsClientKeyExchange)) client_key_exchange_seen_ = true;
    if (!client && server_hello_seen_ && has(p.tls_content_types, kTlsChangeCipherSpec)) server_finished_seen_ = true;

    for (const TlsAlert& a : p.tls_alerts) {
        alert_seen_ = true;
        if (a.description == 0 || a.description == 90) continue;  // close_notify, user_canceled: a normal end
        const char* who = client ? "client" : "server";
        const bool fatal = a.level == 2;
        emit(r, p, Code::TlsAlert, fatal ? Severity::Error : Severity::Warn,
             format("The %s sent a %s TLS alert %u (%s)%s.", who, fatal ? "fatal" : "warning", a.description,
                    tls_alert_name(a.description), state_ == State::TlsHandshake ? " during the handshake" : ""),
             format("Alert from the %s%s.", who, seen_from(client ? Side::Client : Side::Server)));
        if (a.description == 70) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::NoCommonTlsVersion,
                 format("The %s refused the TLS version (protocol_version alert); the client offered %s to %s. Fix: "
                        "TLS 1.2 on client driver and server, or enable TLS 1.0/1.1 on both for now.",
                        who, tls_version_name(offered_min_).c_str(), tls_version_name(offered_max_).c_str()),
                 offered_detail());
        } else if ((a.description == 40 || a.description == 71) && !client && !server_hello_seen_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::NoCommonCipher,
                 format("The server answered the ClientHello with %s: none of the %zu suites offered is enabled on it. "
                        "Fix: compare the client's suites with the server's cipher suite policy.",
                        tls_alert_name(a.description), offered_suites_.size()),
                 offered_detail());
        } else if (a.description >= 42 && a.description <= 49 && client && server_certificate_seen_ &&
                   !client_key_exchange_seen_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::CertificateRejected,
                 format("The client rejected the server certificate%s with a %s alert. %s", certificate_reason(false),
                        tls_alert_name(a.description), certificate_fix(false)),
                 certificate_detail());
        }
    }
}

void Connection::diagnose_close(const Packet& p, bool client, Message m, State prev, FrameResult& r) {
    const bool rst = m == Message::Rst;
    const char* how = rst ? "reset" : "closed";

    // Step 1: the SYN refused.
    if (prev == State::SynSent && !client && rst) {
        emit(r, p, Code::SynRejected,
             format("The SYN was answered by a reset%s: nothing listens on %s, or its backlog is full. Fix: make SQL "
                    "Server listen there (Configuration Manager, TCP/IP) or correct the port.",
                    seen_from(Side::Server), server_name().c_str()));
        return;
    }

    // Steps 2 to 4: the client gave up waiting for the server.
    const bool waiting_on_server = (prev == State::Prelogin && !prelogin_answered_) ||
                                   (prev == State::TlsHandshake && last_payload_from_ == Side::Client) ||
                                   prev == State::Login;
    // With no packet from the server in the capture (a one-sided capture) silence proves nothing.
    if (client && waiting_on_server && server_packets_ > 0 && !(prev == State::TlsHandshake && alert_seen_)) {
        const char* what = prev == State::Prelogin       ? "prelogin response (step 2)"
                           : prev == State::TlsHandshake ? "next TLS handshake message (step 3)"
                                                         : "login response (step 5)";
        emit(r, p, Code::LoginTimeout,
             format("The client gave up after %s without the server's %s: likely worker shortage or an "
                    "authentication delay. Fix: check the server's load and error log at this time.",
                    seconds(p.time_ns - last_client_payload_ns_).c_str(), what),
             format("The client %s the connection; its last message was %s before.", how,
                    seconds(p.time_ns - last_client_payload_ns_).c_str()));
        if (prev == State::TlsHandshake) handshake_diagnosed_ = true;
    }

    // Step 3: the handshake broken off.
    if (prev == State::TlsHandshake && !handshake_diagnosed_) {
        if (!client && client_hello_frame_ && !server_hello_seen_ && !alert_seen_) {
            handshake_diagnosed_ = true;
            if (offered_max_ && offered_max_ < 0x0303) {
                emit(r, p, Code::NoCommonTlsVersion,
                     format("The server %s the connection right after a ClientHello offering at most %s: likely it "
                            "refuses versions below TLS 1.2. Fix: a TLS 1.2 client driver, or enable TLS 1.0/1.1.",
                            how, tls_version_name(offered_max_).c_str()),
                     offered_detail());
            } else if (server_.weak_cert && server_.weak_cert_stream != stream_) {
                emit(r, p, Code::WeakCertHash, Severity::Error,
                     format("The server %s the connection right after the ClientHello; connection %u (frame %u) showed "
                            "its certificate signed with %s: likely the cause. %s",
                            how, server_.weak_cert_stream, server_.weak_cert_frame,
                            signature_hash(server_.weak_cert->signature_oid).c_str(), kCertFix),
                     format("Certificate \"%s\" issued by \"%s\", seen in connection %u. ",
                            server_.weak_cert->subject_cn.c_str(), server_.weak_cert->issuer_cn.c_str(),
                            server_.weak_cert_stream) +
                         offered_detail());
            } else {
                emit(r, p, Code::NoCommonCipher,
                     format("The server %s the connection right after a ClientHello with %zu suites, without an alert: "
                            "likely no common cipher suite. Fix: compare them with the server's cipher suite policy.",
                            how, offered_suites_.size()),
                     offered_detail());
            }
        } else if (client && server_hello_seen_ && tls_version_ && offered_min_ && *tls_version_ < offered_min_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::NoCommonTlsVersion,
                 format("The client %s the connection after the server chose %s, below the lowest version it offered "
                        "(%s). Fix: enable TLS 1.2 on the server, or allow the older version on the client.",
                        how, tls_version_name(*tls_version_).c_str(), tls_version_name(offered_min_).c_str()));
        } else if (client && server_certificate_seen_ && !client_key_exchange_seen_) {
            handshake_diagnosed_ = true;
            const bool weak = cert_ && is_weak_certificate_hash(signature_hash(cert_->signature_oid));
            if (weak)
                emit(r, p, Code::WeakCertHash, Severity::Error,
                     format("The handshake failed right after a certificate signed with %s: likely the client refused "
                            "the weak hash. %s",
                            signature_hash(cert_->signature_oid).c_str(), kCertFix),
                     certificate_detail());
            emit(r, p, Code::CertificateRejected,
                 format("The client %s the connection right after the server certificate, without an alert: it "
                        "rejected it%s. %s",
                        how, certificate_reason(weak), certificate_fix(weak)),
                 certificate_detail());
        } else if (client && tls_.tls13 && !tls_.client_finished_seen && !alert_seen_) {
            // TLS 1.3 encrypts the certificate: without the key log the capture cannot show it.
            handshake_diagnosed_ = true;
            emit(r, p, Code::CertificateRejected,
                 format("The client %s the connection after the server's encrypted TLS 1.3 flight, without its "
                        "Finished: likely it rejected the certificate, which TLS 1.3 hides. %s",
                        how, "Fix: trust the certificate's CA on the client, or use a CA-signed certificate."),
                 "TLS 1.3 encrypts the server's certificate; open the capture with the client's TLS key log "
                 "(tls.keylog_file) to see it.");
        } else if (client && server_certificate_seen_ && server_finished_seen_ && !alert_seen_) {
            // Some clients (Node.js, so tedious) verify the certificate only once the handshake is done.
            handshake_diagnosed_ = true;
            emit(r, p, Code::CertificateRejected,
                 format("The client %s the connection after a completed handshake, before its login: likely it "
                        "rejected the certificate%s. %s",
                        how, certificate_reason(false), certificate_fix(false)),
                 certificate_detail());
        } else if (!client && dhe_ && client_key_exchange_seen_ && !server_finished_seen_ && !alert_seen_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::DheHandshakeFailure,
                 format("The server %s the DHE handshake after the client's key exchange, without Finished or alert: "
                        "the DHE leading-zero defect. Fix: KB4557473 fixes on both sides, or no TLS_DHE_* suites.",
                        how),
                 format("Negotiated suite: %s.", cipher_ ? cipher_text(*cipher_).c_str() : "?"));
        }
        if (!handshake_diagnosed_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::TlsHandshakeIncomplete,
                 format("The %s %s the connection during the TLS handshake%s; the capture shows no more specific "
                        "cause.",
                        client ? "client" : "server", how, alert_seen_ ? ", after a TLS alert" : ""));
        }
    }

    // Step 2: encryption required by one side and not supported by the other.
    if (prev == State::Prelogin && prelogin_answered_ && client_encryption_ >= 0 && server_encryption_ >= 0) {
        const int c = client_encryption_ & 0x0f, s = server_encryption_ & 0x0f;
        if ((c == 1 || c == 3) && s == 2)
            emit(r, p, Code::EncryptionNotSupported,
                 "The client requires encryption but the server's prelogin answered ENCRYPT_NOT_SUP, and the "
                 "connection ended there. Fix: give SQL Server a certificate and enable encryption, or stop requiring it.");
        else if (c == 2 && (s == 1 || s == 3))
            emit(r, p, Code::EncryptionNotSupported,
                 "The server requires encryption but the client's prelogin said ENCRYPT_NOT_SUP, and the connection "
                 "ended there. Fix: enable encryption in the client driver, or stop forcing it on the server.");
    }

    // Who closed, and how. After refusing a login the server ends the connection itself; that is expected.
    // So is any close after both sides ended their MARS sessions (SMP FIN each way): MARS connections
    // then close with FIN and often a reset, which is not an error.
    const Step during = step_of(prev).value_or(Step::TcpHandshake);
    if (smp_fin_[0] && smp_fin_[1]) return;
    if (!client && !rst && !client_fin_sent_ && !login_error_)
        emit(r, p, Code::ServerFirstFin,
             format("The server closed the connection first, during step %u (%s); SQL Server does not do that in a "
                    "normal session, so read it with that step.",
                    static_cast<unsigned>(during), step_name(during)));
    if (!client && rst && !client_fin_sent_)
        emit(r, p, Code::ServerReset,
             format("The server reset the connection during step %u (%s)%s: the client sees \"forcibly closed by the "
                    "remote host\" (10054).",
                    static_cast<unsigned>(during), step_name(during), seen_from(Side::Server)));
    if (client && rst && !client_fin_sent_ && close_by_ == Side::Client && close_kind_ == CloseKind::Rst)
        emit(r, p, Code::ClientReset,
             "The client ended the connection with a reset instead of a FIN, as many non-Microsoft drivers do; "
             "harmless when the session's work was done.");
}

// ---- session: attentions and redirects ------------------------------------------------------


void Connection::diagnose_session(const Packet& p, bool client, Message m, FrameResult& r) {
    if (client && m == Message::Command) {
        if (has(p.tds_types, kTdsAttention)) {
            if (attentions_.size() >= kMaxAttentions) {
                ++attentions_dropped_;
            } else {
                AttentionRecord a;
                a.frame = p.frame;
                a.ns = p.time_ns;
                a.request_ns = last_request_ns_;
                attentions_.push_back(a);
                const Diagnosis d = attention_diagnosis(a, false);
                emit(r, p, Code::Attention, d.severity, d.text, d.detail);
            }
        } else {
            last_request_ns_ = p.time_ns;
        }
    }
    if (!client && p.done_attention) {
        for (AttentionRecord& a : attentions_)
            if (a.ack_frame == 0 && a.close_frame == 0 && a.frame < p.frame) {
                a.ack_frame = p.frame;
                a.ack_ns = p.time_ns;
                break;
            }
    }
    if ((m == Message::Fin || m == Message::Rst))
        for (AttentionRecord& a : attentions_)
            if (a.ack_frame == 0 && a.close_frame == 0) {
                a.close_frame = p.frame;
                a.close_ns = p.time_ns;
            }

    if (!client && !p.routing.empty() && !redirect_) {
        redirect_ = p.routing.front();
        redirect_frame_ = p.frame;
        const Diagnosis d = redirect_diagnosis(false);
        emit(r, p, Code::Redirected, d.text, d.detail);
    }
}

Diagnosis Connection::attention_diagnosis(const AttentionRecord& a, bool capture_complete) const {
    std::string ran, hint;
    if (a.request_ns >= 0) {
        const int64_t t = a.ns - a.request_ns;
        ran = format(" %s after the request", seconds(t).c_str());
        // 30 s is the default command timeout of SqlClient, ODBC and JDBC; 15 s of tedious.
        if ((t >= 29500000000 && t <= 30500000000) || (t >= 14500000000 && t <= 15500000000))
            hint = " The request ran as long as a usual command timeout: likely a timeout, not a user's cancel.";
    }
    const std::string base =
        format("The client sent an attention%s, cancelling the running request (a user's cancel or a command timeout).",
               ran.c_str());
    std::string outcome, detail;
    Severity severity = Severity::Note;
    if (a.ack_frame != 0) {
        outcome = format(" The server acknowledged it %s later (frame %u).", seconds(a.ack_ns - a.ns).c_str(), a.ack_frame);
        detail = "The acknowledgement is the DONE token with the attention bit (0x20).";
    } else if (a.close_frame != 0) {
        severity = Severity::Warn;
        outcome = format(" Never acknowledged: the connection closed %s later (frame %u). Likely blocking on the "
                         "server.",
                         seconds(a.close_ns - a.ns).c_str(), a.close_frame);
        detail = "No DONE with the attention bit (0x20) came back: the server did not stop the request in time, so "
                 "the client gave up on the connection.";
    } else if (capture_complete) {
        outcome = " The capture ends before the server acknowledged it.";
    } else {
        detail = "Its acknowledgement is the server's DONE token with the attention bit (0x20).";
    }
    std::string text = base + hint + outcome;
    if (text.size() > kMaxTextLength && !hint.empty()) {  // the hint moves to the detail
        text = base + outcome;
        detail = hint.substr(1) + " " + detail;
    }
    return Diagnosis{Code::Attention, severity, text, detail};
}

Diagnosis Connection::redirect_diagnosis(bool capture_complete) const {
    const std::string target = redirect_ ? redirect_->server + ":" + std::to_string(redirect_->port) : "?";
    // A long host name stays whole in the detail; the text names its start.
    const std::string shown = target.size() > 56 ? target.substr(0, 53) + "..." : target;
    std::string text = format("The login response redirects the client to %s (ENVCHANGE routing: Azure SQL redirect "
                              "or read-only routing).",
                              shown.c_str());
    std::string detail = format("Routing target %s, protocol %u (0 is TCP).", target.c_str(),
                                redirect_ ? redirect_->protocol : 0);
    if (redirect_stream_) {
        text += format(" It did: connection %u (frame %u).", *redirect_stream_, redirect_conn_frame_);
    } else if (capture_complete) {
        const bool azure = redirect_ && redirect_->port >= 11000 && redirect_->port <= 11999;
        text += azure ? " No connection to it follows. Fix: open TCP 11000-11999 to Azure SQL."
                      : " No connection to it follows. Fix: check that the client can reach it.";
        if (redirect_ && !is_ip_literal(redirect_->server))
            detail += " The target is a host name: a connection to its address may be in the capture under an "
                      "address tdsdiag cannot tie to the name.";
    }
    return Diagnosis{Code::Redirected, Severity::Note, text, detail};
}

void Connection::diagnose_auth(const Packet& p, bool client, FrameResult& r) {
    for (const AuthToken& t : p.auth_tokens) {
        if (!t.valid) continue;
        if (client && t.spnego && t.offers_kerberos) kerberos_offered_ = true;
        // Kerberos was used when a Kerberos token went by outside an SPNEGO negotiation that chose NTLM.
        if (t.mech == Mech::Kerberos && !(t.spnego && t.selected == Mech::Ntlm)) kerberos_seen_ = true;
        const bool ntlm = t.mech == Mech::Ntlm || (!client && t.selected == Mech::Ntlm);
        if (ntlm) ntlm_seen_ = true;
        if (ntlm && kerberos_offered_ && !ntlm_fallback_done_) {
            ntlm_fallback_done_ = true;
            kerberos_seen_ = false;
            emit(r, p, Code::NtlmFallback,
                 client ? "The client offered Kerberos (SPNEGO) but goes on with NTLM: likely it could not get a "
                          "Kerberos ticket for the server's SPN. Fix: check the SPN MSSQLSvc/host:port (setspn -L)."
                        : "The client offered Kerberos (SPNEGO) but the server chose NTLM: likely it has no key for the "
                          "SPN the client used. Fix: check the SPN MSSQLSvc/host:port and its account (setspn -L).",
                 "A missing, duplicate or misplaced SPN is the usual cause; NTLM then works but cannot be delegated "
                 "(double hop) and is weaker.");
        }
        if (client && t.ntlm_type == 3 && t.ntlm_fields_read) {
            if (!t.ntlm_user.empty() || !t.ntlm_domain.empty()) ntlm_user_ = t.ntlm_domain + "\\" + t.ntlm_user;
            if (t.ntlm_user.empty() && t.ntlm_domain.empty())
                emit(r, p, Code::AnonymousLogon,
                     "The NTLM AUTHENTICATE carries an empty user and domain: SQL Server sees NT AUTHORITY\\ANONYMOUS "
                     "LOGON, typically a double hop without Kerberos delegation. Fix: register the SPN and configure "
                     "delegation, or avoid the double hop.",
                     "The client had no credentials to pass on: e.g. a web server or linked server forwarding a "
                     "user's identity over NTLM, which cannot be delegated.");
        }
    }
}

std::optional<Diagnosis> Connection::revised(uint32_t frame, Code code, bool capture_complete) const {
    if (code == Code::Attention) {
        for (const AttentionRecord& a : attentions_)
            if (a.frame == frame) return attention_diagnosis(a, capture_complete);
    } else if (code == Code::Redirected && redirect_ && frame == redirect_frame_) {
        return redirect_diagnosis(capture_complete);
    }
    return std::nullopt;
}

}  // namespace tdsdiag

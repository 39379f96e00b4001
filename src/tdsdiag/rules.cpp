// The diagnosis rules. Each rule names its code on the frame where its evidence becomes
// complete, states the evidence, says "likely" where it infers, and gives the fix.
#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "tdsdiag/connection.hpp"

namespace tdsdiag {
namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return {};
    return std::string(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

std::string seconds(int64_t ns) { return format("%.3f s", static_cast<double>(ns) / 1e9); }

bool has(const std::vector<uint8_t>& v, uint8_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

const char* cert_fix =
    "Replace the certificate with one signed with SHA-256 or better, or, in SQL Server Configuration Manager, "
    "clear the certificate (or untick Server Authentication on it) so that SQL Server uses its self-signed one.";

}  // namespace

std::string Connection::server_name() const { return server_addr_ + ":" + std::to_string(server_port_); }

std::string Connection::cipher_text(uint16_t suite) const {
    const char* name = config_.cipher_name ? config_.cipher_name(suite) : nullptr;
    return name ? std::string(name) : format("0x%04x", suite);
}

const char* Connection::seen_from(Side sender) const {
    // The capture point tells whether a packet was seen leaving its sender or arriving at its peer.
    if (capture_point_ == Side::Unknown) return "";
    if (capture_point_ == sender) return " (the capture was taken on that side)";
    return sender == Side::Server ? " and it reached the client" : " and it reached the server";
}

void Connection::emit(FrameResult& r, const Packet& p, Code code, std::string text) {
    emit(r, p, code, code_info(code).severity, std::move(text));
}

void Connection::emit(FrameResult& r, const Packet& p, Code code, Severity severity, std::string text) {
    for (const Diagnosis& d : r.diagnoses)
        if (d.code == code) return;  // once per frame
    r.diagnoses.push_back({code, severity, std::move(text)});
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
         format("The client's SYN to %s got no answer for %s and was sent again. Nothing in this capture answers it: "
                "a firewall dropping the SYN, a wrong address or port, or a listener too busy to accept (an IOCP "
                "listener shortage on SQL Server 2017 and older; SQL Server 2019 added a dedicated login pool). "
                "Check the address, port and firewalls; if the server is under load, upgrade to SQL Server 2019 or "
                "later. If a SYN/ACK follows later, the connection was only slow to be accepted (slow_accept).",
                server_name().c_str(), seconds(p.time_ns - first_syn_ns_).c_str()));
}

void Connection::diagnose(const Packet& p, bool client, Message m, State prev, FrameResult& r) {
    const Side sender = client ? Side::Client : Side::Server;

    if (first_frame_ == p.frame && midstream_ && m != Message::SynAck)
        emit(r, p, Code::CaptureStartedMidstream,
             "The capture holds no TCP handshake for this connection: it started after the connection was opened "
             "(common at capture start), so its first steps cannot be shown and its outcome may be unknown.");

    if (m == Message::Syn && client && first_syn_ns_ < 0) first_syn_ns_ = p.time_ns;
    if (m == Message::SynAck && first_syn_ns_ >= 0) {
        const int64_t waited = p.time_ns - first_syn_ns_;
        if (syn_retransmissions_ > 0) retract(Code::SynUnanswered);
        if (waited > config_.slow_accept_ns)
            emit(r, p, Code::SlowAccept,
                 format("The server accepted the TCP connection %s after the client's first SYN (threshold %s)%s. "
                        "A listener slow to accept is the signature of a busy server: on SQL Server 2017 and older, "
                        "a shortage of IOCP listener workers; SQL Server 2019 and later have a dedicated login pool. "
                        "Look at the server's load at that time.",
                        seconds(waited).c_str(), seconds(config_.slow_accept_ns).c_str(),
                        syn_retransmissions_ > 0 ? format(", and the client sent its SYN %d more time(s)",
                                                          syn_retransmissions_).c_str()
                                                 : ""));
    }

    if (m == Message::Login7 && client && p.tls_content_types.empty())
        emit(r, p, Code::CleartextLogin,
             "The Login7 travels without TLS: its user name and its (only obfuscated) password can be read by anyone "
             "on the path. Enable encryption (Encrypt=True on the client, or Force Encryption on the server).");

    if (prev != state_ && state_ == State::Login && client) login_ns_ = p.time_ns;
    if (prev == State::Login && state_ == State::LoginResponse && login_ns_ >= 0) {
        const int64_t waited = p.time_ns - login_ns_;
        if (waited > config_.slow_login_ns)
            emit(r, p, Code::SlowLogin,
                 format("The server answered the login %s after the client sent it (threshold %s). Authentication "
                        "delays come from the domain controller (Windows logins), from worker or thread starvation "
                        "on the server, or from login triggers; look at the server's load and at its error log.",
                        seconds(waited).c_str(), seconds(config_.slow_login_ns).c_str()));
    }

    if (state_ == State::LoginResponse && !client && !p.errors.empty() && !login_ack_) {
        const TdsError& e = p.errors.front();
        std::string meaning = login_error_meaning(e.number);
        if (e.number == 18456) {
            const std::string state = login_failed_state_meaning(e.state);
            meaning = state.empty() ? "the login failed; the SQL Server error log tells why for this state"
                                    : "state " + std::to_string(e.state) + " means " + state;
        }
        emit(r, p, Code::LoginFailed,
             format("The server refused the login with error %u, state %u, class %u: \"%s\"%s%s.", e.number, e.state,
                    e.severity, e.message.c_str(), meaning.empty() ? "" : "; ", meaning.c_str()));
    }

    diagnose_tls(p, client, r);
    if (m == Message::Fin || m == Message::Rst) diagnose_close(p, client, m, prev, r);

    if (m == Message::Fin) (client ? client_fin_sent_ : server_fin_sent_) = true;
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
                     format("The server chose %s, a TLS_DHE suite. Windows Server 2012 and 2016+ handle DHE keys "
                            "differently, and a peer without the DHE leading-zero fixes fails such handshakes now and "
                            "then with error 10054. Remove TLS_DHE_* suites from the cipher suite order policy, or "
                            "install the fixes on both machines.",
                            name.c_str()));
        }
        if (tls_version_ && *tls_version_ < 0x0303)
            emit(r, p, Code::OldTlsVersion,
                 format("The server chose %s, which has known weaknesses and is being disabled by policies and "
                        "updates. Move client and server to TLS 1.2 or later.",
                        tls_version_name(*tls_version_).c_str()));
    }
    if (!client && has(hs, kHsCertificate) && !p.certificates.empty() && !server_certificate_seen_) {
        server_certificate_seen_ = true;
        const auto& der = p.certificates.front();
        cert_ = parse_certificate(der.data(), der.size());
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
                     format("The server certificate \"%s\" (issued by \"%s\") is signed with %s (%s). Certificates "
                            "signed with MD5, SHA-1, SHA-224 or SHA-512 do not work with TLS 1.2 logins on Windows%s. %s",
                            cert_->subject_cn.c_str(), cert_->issuer_cn.c_str(),
                            signature_algorithm_name(cert_->signature_oid).c_str(), hash.c_str(),
                            cert_->self_issued ? "; this one is self-signed, which Microsoft says is not affected, so "
                                                 "it matters if a client here rejects it"
                                               : "",
                            cert_fix));
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
             format("The %s sent a %s TLS alert %u (%s)%s%s.", who, fatal ? "fatal" : "warning", a.description,
                    tls_alert_name(a.description), state_ == State::TlsHandshake ? " during the TLS handshake" : "",
                    seen_from(client ? Side::Client : Side::Server)));
        if (a.description == 70) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::NoCommonTlsVersion,
                 format("The %s rejected the TLS version with a protocol_version alert: the client offered %s to %s. "
                        "Client and server share no TLS version. Update the client driver or SQL Server to a release "
                        "that supports TLS 1.2, or temporarily enable TLS 1.0/1.1 on both machines (Schannel registry "
                        "keys, or IIS Crypto).",
                        who, tls_version_name(offered_min_).c_str(), tls_version_name(offered_max_).c_str()));
        } else if ((a.description == 40 || a.description == 71) && !client && !server_hello_seen_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::NoCommonCipher,
                 format("The server answered the ClientHello (frame %u) with a %s alert: none of the %zu cipher "
                        "suites the client offered is enabled on the server. Compare the client's suites (%s) with "
                        "the server's cipher suite order policy, and enable a common one.",
                        client_hello_frame_, tls_alert_name(a.description), offered_suites_.size(),
                        [&] {
                            std::string list;
                            for (size_t i = 0; i < offered_suites_.size() && i < 8; ++i)
                                list += (i ? ", " : "") + cipher_text(offered_suites_[i]);
                            if (offered_suites_.size() > 8) list += format(" and %zu more", offered_suites_.size() - 8);
                            return list;
                        }()
                            .c_str()));
        } else if (a.description >= 42 && a.description <= 49 && client && server_certificate_seen_ &&
                   !client_key_exchange_seen_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::CertificateRejected, "The client rejected the server certificate with a " +
                                                     std::string(tls_alert_name(a.description)) + " alert. " +
                                                     [&] {
                                                         std::string t;
                                                         if (cert_) {
                                                             t = "The certificate is \"" + cert_->subject_cn +
                                                                 "\", issued by \"" + cert_->issuer_cn + "\"";
                                                             if (cert_->self_issued) t += " (self-signed)";
                                                             t += ", valid until " + format_utc(cert_->not_after);
                                                             if (cert_->not_after < cert_seen_s_)
                                                                 t += ", expired at capture time";
                                                             t += ". ";
                                                         }
                                                         return t;
                                                     }() +
                                                     "Trust the issuing CA on the client, or give SQL Server a "
                                                     "certificate from a CA the client trusts; "
                                                     "TrustServerCertificate=True only as a stop-gap.");
        }
    }
}

void Connection::diagnose_close(const Packet& p, bool client, Message m, State prev, FrameResult& r) {
    const bool rst = m == Message::Rst;
    const char* how = rst ? "reset" : "closed (FIN)";

    // Step 1: the SYN refused.
    if (prev == State::SynSent && !client && rst) {
        emit(r, p, Code::SynRejected,
             format("The server answered the client's SYN with a reset%s: nothing listens on %s, or the listener's "
                    "backlog is full. Check that SQL Server runs and listens on this address and port (SQL Server "
                    "Configuration Manager, TCP/IP; the error log shows the ports), and that the client uses the "
                    "right port.",
                    seen_from(Side::Server), server_name().c_str()));
        return;
    }

    // Steps 2 to 4: the client gave up waiting for the server.
    const bool waiting_on_server =
        (prev == State::Prelogin && !prelogin_answered_) || (prev == State::TlsHandshake && last_payload_from_ == Side::Client) ||
        prev == State::Login;
    if (client && waiting_on_server && !(prev == State::TlsHandshake && alert_seen_)) {
        const char* what = prev == State::Prelogin       ? "its prelogin response (step 2)"
                           : prev == State::TlsHandshake ? "its next TLS handshake message (step 3)"
                                                         : "its login response (step 5)";
        emit(r, p, Code::LoginTimeout,
             format("The client %s the connection %s after its last message, still waiting for the server's %s. The "
                    "server never answered: likely a shortage of server workers (IOCP or SOS workers on SQL Server "
                    "2017 and older) or an authentication delay. Look at the server's load and error log at this time.",
                    how, seconds(p.time_ns - last_client_payload_ns_).c_str(), what));
        if (prev == State::TlsHandshake) handshake_diagnosed_ = true;
    }

    // Step 3: the handshake broken off.
    if (prev == State::TlsHandshake && !handshake_diagnosed_) {
        if (!client && client_hello_frame_ && !server_hello_seen_ && !alert_seen_) {
            handshake_diagnosed_ = true;
            if (offered_max_ && offered_max_ < 0x0303) {
                emit(r, p, Code::NoCommonTlsVersion,
                     format("The server %s the connection right after a ClientHello (frame %u) that offered at most "
                            "%s: likely the server does not accept TLS versions below 1.2. Update the client driver to "
                            "one that supports TLS 1.2, or temporarily enable TLS 1.0/1.1 on both machines.",
                            how, client_hello_frame_, tls_version_name(offered_max_).c_str()));
            } else if (server_.weak_cert && server_.weak_cert_stream != stream_) {
                emit(r, p, Code::WeakCertHash, Severity::Error,
                     format("The server %s the connection right after the ClientHello (frame %u), without a "
                            "ServerHello. The same server showed connection %u (frame %u) a certificate \"%s\" signed "
                            "with %s, which TLS 1.2 cannot use: likely the cause here too. %s",
                            how, client_hello_frame_, server_.weak_cert_stream, server_.weak_cert_frame,
                            server_.weak_cert->subject_cn.c_str(), signature_hash(server_.weak_cert->signature_oid).c_str(),
                            cert_fix));
            } else {
                emit(r, p, Code::NoCommonCipher,
                     format("The server %s the connection right after the ClientHello (frame %u), which offered %s "
                            "and %zu cipher suites, without a ServerHello or an alert: likely none of the offered "
                            "suites is enabled on the server (the error-10054 signature of scenario 2). Compare the "
                            "client's suites with the server's cipher suite order policy.",
                            how, client_hello_frame_, tls_version_name(offered_max_).c_str(), offered_suites_.size()));
            }
        } else if (client && server_hello_seen_ && tls_version_ && offered_min_ && *tls_version_ < offered_min_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::NoCommonTlsVersion,
                 format("The client %s the connection after the server chose %s, below the lowest version it offered "
                        "(%s). Enable TLS 1.2 on the server, or allow the older version on the client.",
                        how, tls_version_name(*tls_version_).c_str(), tls_version_name(offered_min_).c_str()));
        } else if (client && server_certificate_seen_ && !client_key_exchange_seen_) {
            handshake_diagnosed_ = true;
            std::string t = format("The client %s the connection right after the server's certificate, without an "
                                   "alert: it rejected the certificate.",
                                   how);
            if (cert_) {
                t += format(" The certificate is \"%s\", issued by \"%s\"%s, signed with %s, valid from %s to %s%s.",
                            cert_->subject_cn.c_str(), cert_->issuer_cn.c_str(), cert_->self_issued ? " (self-signed)" : "",
                            signature_algorithm_name(cert_->signature_oid).c_str(), format_utc(cert_->not_before).c_str(),
                            format_utc(cert_->not_after).c_str(),
                            cert_->not_after < cert_seen_s_ ? ", so it had expired at capture time" : "");
                if (is_weak_certificate_hash(signature_hash(cert_->signature_oid)))
                    emit(r, p, Code::WeakCertHash, Severity::Error,
                         format("The handshake failed after the server sent a certificate signed with %s: likely the "
                                "client refused the weak hash. %s",
                                signature_hash(cert_->signature_oid).c_str(), cert_fix));
            }
            emit(r, p, Code::CertificateRejected,
                 t + " Trust the issuing CA on the client, or give SQL Server a certificate from a CA the client "
                     "trusts; TrustServerCertificate=True only as a stop-gap.");
        } else if (!client && dhe_ && client_key_exchange_seen_ && !server_finished_seen_ && !alert_seen_) {
            handshake_diagnosed_ = true;
            emit(r, p, Code::DheHandshakeFailure,
                 format("The server %s the connection after the client's key exchange and Finished, without its own "
                        "Finished and without an alert, in a handshake using %s. This is the signature of the TLS_DHE "
                        "leading-zero defect between Windows versions. Install the DHE fixes (KB4557473 family) on "
                        "both machines, or remove TLS_DHE_* suites from the cipher suite order policy.",
                        how, cipher_ ? cipher_text(*cipher_).c_str() : "a DHE suite"));
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
                 "The client requires encryption but the server answered ENCRYPT_NOT_SUP in its prelogin response, "
                 "and the connection ended there. Give SQL Server a certificate and enable encryption on it, or stop "
                 "requiring encryption on the client.");
        else if (c == 2 && (s == 1 || s == 3))
            emit(r, p, Code::EncryptionNotSupported,
                 "The server requires encryption but the client's prelogin said ENCRYPT_NOT_SUP, and the connection "
                 "ended there. Enable encryption on the client (a driver built with TLS support, Encrypt=True), or "
                 "stop forcing encryption on the server.");
    }

    // Who closed, and how.
    // After refusing a login the server ends the connection itself; that close is expected.
    if (!client && !rst && !client_fin_sent_ && !login_error_)
        emit(r, p, Code::ServerFirstFin,
             format("The server closed the connection first, during step %u (%s): SQL Server does not end a "
                    "connection on its own in a normal session, so read this together with the step.",
                    static_cast<unsigned>(step_of(prev).value_or(Step::TcpHandshake)),
                    step_name(step_of(prev).value_or(Step::TcpHandshake))));
    if (!client && rst && !client_fin_sent_)
        emit(r, p, Code::ServerReset,
             format("The server reset the connection during step %u (%s)%s: the client sees \"An existing connection "
                    "was forcibly closed by the remote host\" (10054).",
                    static_cast<unsigned>(step_of(prev).value_or(Step::TcpHandshake)),
                    step_name(step_of(prev).value_or(Step::TcpHandshake)), seen_from(Side::Server)));
    if (client && rst && !client_fin_sent_ && close_by_ == Side::Client && close_kind_ == CloseKind::Rst)
        emit(r, p, Code::ClientReset,
             "The client ended the connection with a reset instead of a FIN. Many non-Microsoft drivers close this "
             "way; it is harmless when the session's work was done.");
}

}  // namespace tdsdiag

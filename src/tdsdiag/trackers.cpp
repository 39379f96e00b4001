#include "tdsdiag/trackers.hpp"

#include <algorithm>
#include <cstring>

namespace tdsdiag {

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

void TcpTracker::learn_health(const Packet& p, bool client) {
    const int side = client ? 0 : 1;
    if (p.retransmission) ++retransmissions;
    if (p.tcp_len > 0) {
        Sent* ring = sent[side];
        if (!p.retransmission) {
            ring[sent_next[side]] = {p.tcp_seq, p.time_ns};
            sent_next[side] = static_cast<uint8_t>((sent_next[side] + 1) % kSent);
        } else {
            for (size_t i = 0; i < kSent; ++i) {
                if (ring[i].ns < 0 || ring[i].seq != p.tcp_seq || p.time_ns < ring[i].ns) continue;
                retransmission_wait_ns += p.time_ns - ring[i].ns;
                ring[i].ns = p.time_ns;
                break;
            }
        }
    }
    if (p.syn() && !p.rst()) {
        if (client && !p.ack()) {
            if (syn_ack_frame == 0) last_syn_ns = p.time_ns;
        } else if (p.ack() && handshake_syn_ns < 0 && last_syn_ns >= 0) {
            handshake_syn_ns = last_syn_ns;  // the SYN/ACK answers the latest SYN
        }
    } else if (client && p.ack() && handshake_syn_ns >= 0 && handshake_ack_ns < 0) {
        handshake_ack_ns = p.time_ns;
    }
    if (!p.ack()) return;
    const bool plain = (p.tcp_flags & (kSyn | kFin | kRst)) == 0;
    if (plain && p.tcp_window == 0) {
        ++zero_windows;
        if (zero_window_since[side] < 0) zero_window_since[side] = p.time_ns;
    } else if (zero_window_since[side] >= 0 && p.tcp_window != 0) {
        zero_window_period_ns = p.time_ns - zero_window_since[side];
        zero_window_ns += zero_window_period_ns;
        zero_window_end_frame = p.frame;
        zero_window_client = client;
        zero_window_since[side] = -1;
    }
    LastAck& last = last_ack[side];
    if (plain && p.tcp_len == 0 && !p.retransmission && last.valid && last.ack == p.tcp_ack && last.window == p.tcp_window)
        ++dup_acks;
    last = {p.tcp_ack, p.tcp_window, plain};
}

void TcpTracker::learn_retransmission(const Packet& p, bool client, bool syn_sent) {
    if (!(client && p.syn() && !p.ack() && syn_sent)) return;
    // A copy within 200 ms (below any stack's minimum retransmission timeout) is a duplicate made
    // by the capture, not a SYN sent again.
    if (p.time_ns - first_syn_ns < 200000000) return;
    ++syn_retransmissions;
    if (syn_retransmissions == 1 && first_syn_ns >= 0) syn_resent_frame = p.frame;
}

void TcpTracker::learn(const Packet& p, bool client, bool syn_sent) {
    if (p.rst() && !client && syn_sent) {
        ++syn_refusals;
        last_refusal_ns = p.time_ns;
    }
    if (bounces(p, client, syn_sent)) {
        if (++syn_bounces == 1) {
            bounce_frame = p.frame;
            bounce_ack = p.tcp_ack;
        }
        last_bounce_ns = p.time_ns;
    }
    if (!p.syn() || p.rst()) return;  // (a SYN with RST is a reset)
    if (!p.ack() && client) {
        ++syn_attempts;
        if (first_syn_ns < 0) first_syn_ns = p.time_ns;
        if (syn_ack_frame == 0) syn_seq = p.tcp_seq;  // the SYN an answer is compared with: the latest
    }
    if (p.ack() && first_syn_ns >= 0 && syn_ack_frame == 0) {
        syn_ack_frame = p.frame;
        syn_ack_ns = p.time_ns;
    }
}

void TcpTracker::learn_path(const Packet& p, bool client, int64_t idle_timeout_ns) {
    const int side = client ? 0 : 1;
    if (!p.rst() && p.ip_ttl >= 0) {
        if (ttl[side] < 0) ttl[side] = p.ip_ttl;
        else if (ttl[side] != p.ip_ttl) ttl_varies[side] = true;
    }
    if (last_ns >= 0 && p.time_ns - last_ns > idle_timeout_ns && !p.rst()) {
        idle_frame = p.frame;
        idle_gap_ns = p.time_ns - last_ns;
        idle_client = client;
        idle_answered = false;
        idle_retransmissions = 0;
    } else if (idle_frame != 0 && !idle_answered) {
        if (client != idle_client && !p.rst()) idle_answered = true;
        else if (client == idle_client && p.retransmission) ++idle_retransmissions;
    }
    last_ns = std::max(last_ns, p.time_ns);
}

uint8_t TlsTracker::below_policy() const {
    uint8_t items = 0;
    if (cert && !cert->self_issued) {
        const std::string hash = signature_hash(cert->signature_oid);
        if (hash == "MD5" || hash == "SHA-1") items |= kPolicyHash;
    }
    // A self-signed certificate is likelier refused as untrusted than for its key (certificate_rejected).
    if (cert && !cert->self_issued && cert->rsa_bits > 0 && cert->rsa_bits < 2048) items |= kPolicyRsaKey;
    if (dhe && dh_p_bits > 0 && dh_p_bits < 2048) items |= kPolicyDhGroup;
    if (version && *version < 0x0303) items |= kPolicyVersion;
    return items;
}

bool TlsTracker::certificate_weak() const {
    return cert && !cert->self_issued && is_weak_certificate_hash(signature_hash(cert->signature_oid));
}

void TlsTracker::learn(const Packet& p, bool client, const Config& config, ServerFacts& server) {
    if (!p.tls_content_types.empty()) seen = true;
    const auto& hs = p.tls_handshake_types;
    if (client && client_hello_frame == 0 && has(hs, kHsClientHello)) {
        client_hello_frame = p.frame;
        offered_suites = p.tls_cipher_suites;
        sni = p.sni;
        alpn_tds8 = std::find(p.alpn.begin(), p.alpn.end(), "tds/8.0") != p.alpn.end();
        for (uint16_t v : p.tls_supported_versions.empty() ? p.tls_handshake_versions : p.tls_supported_versions) {
            if ((v & 0x0f0f) == 0x0a0a) continue;  // GREASE
            offered_max = std::max(offered_max, v);
            offered_min = offered_min == 0 ? v : std::min(offered_min, v);
        }
    }
    if (!client && has(hs, kHsServerHello)) {
        if (!p.tls_supported_versions.empty())
            version = p.tls_supported_versions.front();
        else if (!p.tls_handshake_versions.empty())
            version = p.tls_handshake_versions.front();
        if (!p.tls_cipher_suites.empty()) cipher = p.tls_cipher_suites.front();
        ctx.tls13 = version == 0x0304;
        if (server_hello_frame == 0) {
            server_hello_frame = p.frame;
            const char* name = cipher && config.cipher_name ? config.cipher_name(*cipher) : nullptr;
            dhe = name != nullptr && std::strncmp(name, "TLS_DHE_", 8) == 0;
        }
    }
    if (client && ctx.tls13 && has(p.tls_content_types, kTlsApplicationData)) ctx.client_finished_seen = true;
    if (!client && certificate_frame == 0 && has(hs, kHsCertificate) && !p.certificates.empty()) {
        certificate_frame = p.frame;
        cert = server.certificate(p.certificates.front());
        cert_seen_s = p.time_ns / 1000000000;
    }
    if (!client && p.tls_dh_p_bits > 0 && dh_p_bits == 0) dh_p_bits = p.tls_dh_p_bits;
    if (client && has(hs, kHsClientKeyExchange)) client_key_exchange = true;
    if (!client && server_hello_frame != 0 && has(p.tls_content_types, kTlsChangeCipherSpec))
        server_finished = true;
    if (!p.tls_alerts.empty()) alert_seen = true;
}

void LoginTracker::learn_packet_sizes(const Packet& p, bool client) {
    if (client && p.login7_packet_size != 0 && packet_size_asked == 0) packet_size_asked = p.login7_packet_size;
    if (!client && p.envchange_packet_size != 0 && packet_size_granted == 0) packet_size_granted = p.envchange_packet_size;
}

void AuthTracker::learn(const Packet& p, bool client) {
    if (client && p.login7_integrated >= 0) login7_integrated = p.login7_integrated;
    if (client && has(p.tds_types, kTdsFedAuthToken)) federated = true;
    if (client && !p.login_user.empty() && !names)
        names = std::make_unique<LoginNames>(LoginNames{p.login_user, p.login_app, p.login_host, p.login_database});
    for (const AuthToken& t : p.auth_tokens) {
        if (!t.valid) continue;
        if (client && t.spnego && t.offers_kerberos) kerberos_offered = true;
        // Kerberos was used when a Kerberos token went by outside an SPNEGO negotiation that chose NTLM.
        if (t.mech == Mech::Kerberos && !(t.spnego && t.selected == Mech::Ntlm)) kerberos = true;
        const bool is_ntlm = t.mech == Mech::Ntlm || (!client && t.selected == Mech::Ntlm);
        if (is_ntlm) ntlm = true;
        if (is_ntlm && kerberos_offered && fallback_frame == 0) {
            fallback_frame = p.frame;
            fallback_by_client = client;
            kerberos = false;
        }
        if (client && t.ntlm_type == 3 && t.ntlm_fields_read) {
            if (!t.ntlm_user.empty() || !t.ntlm_domain.empty()) ntlm_user = t.ntlm_domain + "\\" + t.ntlm_user;
            if (t.ntlm_user.empty() && t.ntlm_domain.empty()) anonymous_frame = p.frame;
        }
    }
}

const char* AuthTracker::name() const {
    if (federated) return "federated";
    if (ntlm) return "ntlm";
    if (kerberos) return "kerberos";
    if (login7_integrated == 0) return "sql";
    return "";
}

void SessionTracker::learn(const Packet& p, bool client, bool command, bool close, Endpoint& sender) {
    if (!p.smp_flags.empty()) {
        smp_seen = true;
        if (has(p.smp_flags, kSmpFin)) sender.smp_fin = true;
    }
    if (client && command) {
        if (has(p.tds_types, kTdsAttention)) {
            if (attentions.size() >= kMaxAttentions) {
                ++attentions_dropped;
            } else {
                AttentionRecord a;
                a.frame = p.frame;
                a.ns = p.time_ns;
                a.request_ns = last_request_ns;
                attentions.push_back(a);
            }
        } else {
            last_request_ns = p.time_ns;
        }
    }
    if (!client && p.done_attention) {
        for (AttentionRecord& a : attentions)
            if (a.ack_frame == 0 && a.close_frame == 0 && a.frame < p.frame) {
                a.ack_frame = p.frame;
                a.ack_ns = p.time_ns;
                break;
            }
    }
    if (close)
        for (AttentionRecord& a : attentions)
            if (a.ack_frame == 0 && a.close_frame == 0) {
                a.close_frame = p.frame;
                a.close_ns = p.time_ns;
            }
    if (!client && !p.routing.empty() && !redirect) {
        redirect = p.routing.front();
        redirect_frame = p.frame;
    }
}

}  // namespace tdsdiag

#include "tdsdiag/packet.hpp"

#include "tdsdiag/text.hpp"

namespace tdsdiag {

void Packet::clear() {
    frame = 0;
    time_ns = 0;
    stream = 0;
    src_addr.clear();
    dst_addr.clear();
    src_port = dst_port = 0;
    tcp_flags = 0;
    tcp_len = 0;
    retransmission = false;
    checksum_ok = -1;
    tds_types.clear();
    prelogin_encryption = -1;
    trace_id.clear();
    login_ack = false;
    errors.clear();
    envchange_types.clear();
    routing.clear();
    done_attention = false;
    prelogin_mars = -1;
    smp_flags.clear();
    login7_integrated = -1;
    auth_tokens.clear();
    sspi_only_response = false;
    login7_segments.clear();
    login_user.clear();
    login_app.clear();
    login_host.clear();
    login_database.clear();
    tls_content_types.clear();
    tls_handshake_types.clear();
    tls_handshake_versions.clear();
    tls_supported_versions.clear();
    tls_cipher_suites.clear();
    tls_alerts.clear();
    alpn.clear();
    certificates.clear();
}

bool parse_routing(const uint8_t* d, size_t len, Routing& out) {
    if (d == nullptr || len < 7) return false;
    const size_t value_len = static_cast<size_t>(d[0] | (d[1] << 8));
    if (value_len < 5 || value_len + 2 > len) return false;
    const size_t chars = static_cast<size_t>(d[5] | (d[6] << 8));
    if (5 + 2 * chars != value_len) return false;
    out.protocol = d[2];
    out.port = static_cast<uint16_t>(d[3] | (d[4] << 8));
    out.server = utf16le_to_utf8(d + 7, 2 * chars);
    return true;
}

}  // namespace tdsdiag

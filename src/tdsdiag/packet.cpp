#include "tdsdiag/packet.hpp"

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

}  // namespace tdsdiag

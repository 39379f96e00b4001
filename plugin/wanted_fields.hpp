// The one declarative table of the other dissectors' fields that tdsdiag reads.
// Resolved once at handoff (every hfid registered under each name), handed to
// set_postdissector_wanted_hfids, and read back into a tdsdiag::Packet per frame.
#pragma once

#include <glib.h>

namespace tdsdiag {
struct Packet;
struct KerberosPacket;
struct DnsPacket;
struct TcpHeaderAt;
}

struct _packet_info;
struct _proto_node;
struct field_info;
struct tvbuff;

namespace tdsdiag_plugin {

// One value per field we read; the table in wanted_fields.cpp gives each its filter name.
enum WantedField : int {
    W_TCP_RETRANSMISSION,
    W_TCP_SPURIOUS_RETRANSMISSION,
    W_TDS_TYPE,
    W_TDS_LOGINACK,
    W_TDS_ERROR_NUMBER,
    W_TDS_ERROR_STATE,
    W_TDS_ERROR_CLASS,
    W_TDS_ERROR_MSGTEXT,
    W_TDS_ENVCHANGE_TYPE,
    W_TDS_DONE_STATUS,
    W_SMP_FLAGS,
    W_TCP_SEGMENT_COUNT,
    W_TDS_LOGIN_USER,
    W_TDS_LOGIN_APP,
    W_TDS_LOGIN_HOST,
    W_TDS_LOGIN_DATABASE,
    W_TDS_LOGIN_LIBRARY,
    W_TLS_CONTENT_TYPE,
    W_TLS_OPAQUE_TYPE,
    W_TLS_HANDSHAKE_TYPE,  // where each handshake message is: the hello messages are read from their bytes
    W_TLS_ALERT_LEVEL,
    W_TLS_ALERT_DESC,
    W_TLS_CERTIFICATES_LENGTH,
    W_UDP_STREAM,
    W_ICMP_TYPE,
    W_ICMP_CODE,
    W_ICMPV6_TYPE,
    W_ICMPV6_CODE,
    W_ICMP_MTU,    // fragmentation needed: the next hop's MTU (issue 31)
    W_ICMPV6_MTU,  // packet too big: the MTU
    W_KRB_MSG_TYPE,
    W_KRB_ERROR_CODE,
    W_KRB_SNAME,
    W_KRB_REALM,
    W_KRB_STIME,
    W_KRB_CNAME,
    W_KRB_CREALM,
    W_KRB_SUSEC,
    W_DNS_ID,
    W_DNS_QRY_NAME,
    W_DNS_QRY_TYPE,
    W_DNS_A,
    W_DNS_AAAA,
    W_COUNT
};

// Resolves every name of the table; returns the array for set_postdissector_wanted_hfids
// (the caller hands it over to Wireshark). Names Wireshark does not know are skipped.
GArray* resolve_wanted_fields();

// The frame's TCP header, found in its bytes (tdsdiag::find_tcp_header) by the frame's addresses
// and ports; false if it is not there whole.
bool locate_tcp(struct tvbuff* frame, const struct _packet_info* pinfo, tdsdiag::TcpHeaderAt& header);

// Fills `out` (its stream set, the rest cleared) from the TCP header (nullptr if not found) and the
// fields primed in `tree` and the bytes they point at. Returns false if there is no tree.
// `login_fields`: whether the connection's login is still unacknowledged (see read_response);
// `checksum`: whether to check the TCP checksum (Packet::checksum_ok).
bool read_packet(struct _proto_node* tree, struct tvbuff* frame, const tdsdiag::TcpHeaderAt* header,
                 struct _packet_info* pinfo, bool login_fields, bool checksum, tdsdiag::Packet& out);

// The frame's UDP stream index (SQL Browser frames); false if absent.
bool read_udp_stream(struct _proto_node* tree, guint32& stream);
// Whether the frame holds an ICMP or ICMPv6 message (a TCP frame with one is an error quoting a segment).
bool is_icmp(struct _proto_node* tree);
// An ICMP or ICMPv6 error: type, code, the MTU of fragmentation needed / packet too big (0 for
// others), and the captured bytes of the datagram it quotes (issue 31). False if absent.
struct IcmpQuote {
    guint32 type, code, mtu;
    bool v6;
    const guint8* data;
    size_t len;
};
bool read_icmp_quote(struct _proto_node* tree, IcmpQuote& q);
// The ICMP or ICMPv6 error's type and code (a frame quoting an SQL Browser request); false if absent.
bool read_icmp(struct _proto_node* tree, guint32& type, guint32& code, gboolean& v6);

// A Kerberos message (port 88): its type, error code, service-name components, realm and (KRB-ERROR)
// the KDC's time into `out`
// (addresses, frame and time are the caller's); false if the frame carries none.
bool read_kerberos(struct _proto_node* tree, tdsdiag::KerberosPacket& out);

// A DNS message (port 53): the header (id, response flag, rcode) from the bytes where dns.id is, the
// first question's name and type, and the answers' addresses as text (packet scope while converted)
// into `out` (addresses of the frame, frame and time are the caller's); false if the frame carries none.
bool read_dns(struct _proto_node* tree, struct _packet_info* pinfo, tdsdiag::DnsPacket& out);

// Whether the frame carries TDS.
bool has_tds(struct _proto_node* tree);

// Name of a TLS cipher suite from the TLS dissector's own table, or nullptr.
const char* cipher_suite_name(guint16 suite);

}  // namespace tdsdiag_plugin

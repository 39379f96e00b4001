// What the core is told about one captured frame of a TCP connection.
// The plugin fills it from Wireshark's fields; unit tests fill it by hand.
// No Wireshark header is included here: the core is plain C++17.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tdsdiag/auth.hpp"

namespace tdsdiag {

// TCP flag bits, as on the wire.
enum TcpFlag : uint16_t {
    kFin = 0x01,
    kSyn = 0x02,
    kRst = 0x04,
    kPsh = 0x08,
    kAck = 0x10,
};

// TDS packet types (MS-TDS 2.2.3.1.1) the analysis cares about.
enum TdsType : uint8_t {
    kTdsSqlBatch = 0x01,
    kTdsPreTds7Login = 0x02,
    kTdsRpc = 0x03,
    kTdsResponse = 0x04,
    kTdsAttention = 0x06,
    kTdsBulkLoad = 0x07,
    kTdsFedAuthToken = 0x08,
    kTdsTransMgr = 0x0e,
    kTdsLogin7 = 0x10,
    kTdsSspi = 0x11,
    kTdsPrelogin = 0x12,
    kTdsTlsMisparsed = 0x16,  // Wireshark 4.0 reads a bare TLS handshake record on a TDS port as TDS type 22
};

// TLS record content types (RFC 8446 5.1).
enum TlsContentType : uint8_t {
    kTlsChangeCipherSpec = 20,
    kTlsAlert = 21,
    kTlsHandshake = 22,
    kTlsApplicationData = 23,
};

// TLS handshake message types (RFC 8446 4).
enum TlsHandshakeType : uint8_t {
    kHsClientHello = 1,
    kHsServerHello = 2,
    kHsNewSessionTicket = 4,
    kHsEncryptedExtensions = 8,
    kHsCertificate = 11,
    kHsServerKeyExchange = 12,
    kHsCertificateRequest = 13,
    kHsServerHelloDone = 14,
    kHsClientKeyExchange = 16,
    kHsFinished = 20,
};

struct TlsAlert {
    uint8_t level = 0;        // 1 warning, 2 fatal
    uint8_t description = 0;  // RFC 8446 6.2 AlertDescription
};

struct TdsError {
    uint32_t number = 0;
    uint8_t state = 0;
    uint8_t severity = 0;  // "class"
    std::string message;
};

// ENVCHANGE routing (type 20, MS-TDS 2.2.7.9): where the server sends the client.
struct Routing {
    uint8_t protocol = 0;  // 0: TCP
    uint16_t port = 0;
    std::string server;
};

// Reads the value of an ENVCHANGE routing token from the bytes after its type byte: the 2-byte
// RoutingDataValueLength, protocol (1), port (2), server name (2-byte character count, UCS-2).
// Never reads past `len`; false when the bytes are not such a value.
bool parse_routing(const uint8_t* data, size_t len, Routing& out);

// The tokens of a login response (a TDS response's bytes after its 8-byte header), walked by their own
// lengths, for every TDS version: ENVCHANGE, INFO, ERROR, LOGINACK, SSPI (2-byte lengths), FEDAUTHINFO,
// FEATUREEXTACK (4-byte lengths), DONE/DONEPROC/DONEINPROC (9 bytes up to TDS 7.1, 13 from 7.2 on: the
// LOGINACK's version tells, else what follows). Wireshark's TDS dissector sizes some tokens by the TDS
// version it assumes for the connection (an INFO token's line number is 2 bytes in 7.1, 4 later), and
// where it has not seen the Login7 (encrypted) it may assume wrongly, lose its place and miss the
// LOGINACK; these lengths do not depend on the version. The walk stops at the first byte that is not a
// token a login response holds, or a token cut short: `complete` tells that every byte was walked.
// Never reads past `len`; at most one step per token, so bounded by `len`.
struct LoginTokens {
    bool complete = false;       // every byte belongs to a token walked
    bool login_ack = false;      // a LOGINACK token
    uint8_t tds_version = 0;     // the LOGINACK's TDS version, first byte (0x71: 7.1, 0x74: 7.4), 0 if none
    size_t tokens = 0;           // how many tokens were walked
    std::vector<TdsError> errors;
    std::vector<uint8_t> envchange_types;
    std::vector<Routing> routing;
    uint32_t packet_size = 0;    // ENVCHANGE type 4 (packet size): the new value, 0 if none or not a number
};
LoginTokens walk_login_tokens(const uint8_t* data, size_t len);

// Reads a ClientHello, ServerHello or EncryptedExtensions body (after the 4-byte handshake header)
// into `p`, as Wireshark's TLS dissector would show it: the legacy version, the offered suites or
// the chosen one, the supported_versions extension and the ALPN names; of a ServerKeyExchange, the
// size of its first parameter (DHE's p, tls_dh_p_bits). `len` is how much of the
// body was captured; whatever does not fit whole is left out. Never reads past `len`.
void parse_tls_hello(uint8_t type, const uint8_t* body, size_t len, struct Packet& p);

// Reads the options of a PRELOGIN message, the client's or the server's answer (MS-TDS 2.2.6.5: option
// tokens of type, offset and length, ended by 0xFF, then their data) into `p`: VERSION, ENCRYPTION,
// TRACEID, MARS.
// False, and `p` untouched, unless the bytes are such a token list, every option inside them (a response
// that is not a prelogin answer, or TLS carried in a prelogin packet, is not).
bool parse_prelogin(const uint8_t* data, size_t len, struct Packet& p);

// Reads a whole TDS packet that no dissector took for TDS (a server answering a TDS 8.0 ClientHello
// with a PRELOGIN response, which Wireshark's TLS dissector claims): a tabular-result packet (type 4)
// that is the last of its message and exactly `len` bytes long, holding a prelogin answer, goes to
// parse_prelogin. False, and `p` untouched, for anything else.
bool parse_raw_prelogin_answer(const uint8_t* data, size_t len, struct Packet& p);

// SMP (MC-SMP, MARS) header flags.
enum SmpFlag : uint8_t {
    kSmpSyn = 0x01,
    kSmpAck = 0x02,
    kSmpFin = 0x04,
    kSmpData = 0x08,
};

// Every field of a Packet, in order, each once: HEADER(type, name, default) for a scalar, which
// clear_header() sets back to its default, PAYLOAD(type, name) for a string or vector that a frame's
// payload fills, which clear() empties (keeping its capacity) and has_payload_fields() looks at. The
// members, those three functions and their unit test (test_classify.cpp) are made from this list: a
// new field is added here and nowhere else. (Comments are /* */: a // comment would swallow the
// macro's next line.)
#define TDSDIAG_PACKET_FIELDS(HEADER, PAYLOAD)                                                                 \
    HEADER(uint32_t, frame, 0)     /* frame number, 1-based */                                                 \
    HEADER(int64_t, time_ns, 0)    /* absolute capture time in nanoseconds */                                  \
    HEADER(uint32_t, stream, 0)    /* TCP stream index (one per connection) */                                 \
    PAYLOAD(std::string, src_addr) /* printable addresses, copied once per connection */                       \
    PAYLOAD(std::string, dst_addr)                                                                             \
    HEADER(uint16_t, src_port, 0)                                                                              \
    HEADER(uint16_t, dst_port, 0)                                                                              \
    /* TCP */                                                                                                  \
    HEADER(uint16_t, tcp_flags, 0)                                                                             \
    HEADER(uint32_t, tcp_len, 0)                                                                               \
    HEADER(uint32_t, tcp_seq, 0)    /* sequence number, as sent (not relative) */                              \
    HEADER(uint32_t, tcp_ack, 0)    /* acknowledgment number (meaningful with the ACK flag) */                 \
    HEADER(uint16_t, tcp_window, 0) /* window field as sent, not scaled */                                     \
    HEADER(bool, retransmission, false) /* a copy of data or of a SYN/FIN already seen */                      \
    /* TCP checksum: 1 right, 0 wrong (offloaded: captured on the sender), -1 not checked */                   \
    HEADER(int8_t, checksum_ok, -1)                                                                            \
    /* IPv4 TTL or IPv6 hop limit of the innermost IP header, -1 if not read */                                \
    HEADER(int16_t, ip_ttl, -1)                                                                                \
    /* An ICMP or ICMPv6 error quoting a segment of the connection: not a segment itself; tcp_seq, */           \
    /* tcp_len, ports and addresses are the quoted segment's. icmp_mtu: the next-hop MTU of an ICMP */          \
    /* fragmentation needed (type 3 code 4) or ICMPv6 packet too big (type 2), 0 for other errors; */         \
    /* icmp_overhead: the quoted segment's IP and TCP header bytes (IP options not counted). */                \
    HEADER(bool, icmp_error, false)                                                                            \
    HEADER(uint32_t, icmp_mtu, 0)                                                                              \
    HEADER(uint16_t, icmp_overhead, 0)                                                                         \
    /* TDS, as dissected by Wireshark (one entry per TDS packet in the frame) */                               \
    PAYLOAD(std::vector<uint8_t>, tds_types)                                                                   \
    HEADER(int, prelogin_encryption, -1)      /* ENCRYPTION option value, -1 if absent */                      \
    PAYLOAD(std::vector<uint8_t>, trace_id)   /* TRACEID option bytes (ConnID GUID first) */                   \
    HEADER(bool, login_ack, false)            /* LOGINACK token present */                                     \
    PAYLOAD(std::vector<TdsError>, errors)    /* ERROR tokens */                                               \
    PAYLOAD(std::vector<uint8_t>, envchange_types)                                                             \
    PAYLOAD(std::vector<Routing>, routing)    /* ENVCHANGE routing (type 20), read from the packet bytes */    \
    /* a DONE token with DONE_ATTN (0x20): the attention is acknowledged */                                    \
    HEADER(bool, done_attention, false)                                                                        \
    HEADER(int, prelogin_mars, -1)            /* MARS option value of a prelogin, -1 if absent */              \
    HEADER(int64_t, prelogin_version, -1)     /* VERSION option of a prelogin (pack_version), -1 if absent */  \
    PAYLOAD(std::vector<uint8_t>, smp_flags)  /* one per SMP header in the frame (MARS) */                     \
    /* Windows authentication: fIntSecurity of a Login7 read from its bytes (-1 if none), the SSPI */          \
    /* blobs (Login7 SSPI data, the server's SSPI token 0xED, the client's SSPI packet 0x11), and */           \
    /* whether a server response holds nothing but an SSPI token (a round trip inside the login). */           \
    HEADER(int, login7_integrated, -1)                                                                         \
    /* The Login7's password length in characters (cchPassword), -1 if not read. */                         \
    HEADER(int, login7_password_chars, -1)                                                                     \
    /* The Login7's PacketSize (MS-TDS 2.2.6.4), read from its bytes; 0 if not read. */                         \
    HEADER(uint32_t, login7_packet_size, 0)                                                                    \
    /* The packet size a login response's ENVCHANGE type 4 grants (its new value), 0 if none. */             \
    HEADER(uint32_t, envchange_packet_size, 0)                                                                 \
    PAYLOAD(std::vector<AuthToken>, auth_tokens)                                                               \
    HEADER(bool, sspi_only_response, false)                                                                    \
    /* How many TCP segments this frame's reassembled Login7 was made of (tcp.segment.count), 0 if */          \
    /* not reassembled. The segments are the client's last payload frames, this one included. */               \
    /* (tcp.segment, the segments' frame numbers, cost Wireshark an item per segment of every */               \
    /* reassembled PDU: hundreds for one large result set.) */                                                 \
    HEADER(uint32_t, login7_segment_count, 0)                                                                  \
    /* From a Login7 in clear or decrypted with a key log (never the password). */                             \
    PAYLOAD(std::string, login_user)                                                                           \
    PAYLOAD(std::string, login_app)                                                                            \
    PAYLOAD(std::string, login_host)                                                                           \
    PAYLOAD(std::string, login_database)                                                                       \
    PAYLOAD(std::string, login_library)       /* CltIntName: the client's library, "ODBC", "DB-Library" */     \
    /* TLS, as dissected by Wireshark */                                                                       \
    PAYLOAD(std::vector<uint8_t>, tls_content_types)       /* one per record, in order */                      \
    PAYLOAD(std::vector<uint8_t>, tls_handshake_types)                                                         \
    PAYLOAD(std::vector<uint16_t>, tls_handshake_versions) /* legacy_version of Client/ServerHello */          \
    PAYLOAD(std::vector<uint16_t>, tls_supported_versions) /* supported_versions extension */                  \
    PAYLOAD(std::vector<uint16_t>, tls_cipher_suites)      /* offered (ClientHello) or chosen (ServerHello) */ \
    PAYLOAD(std::vector<TlsAlert>, tls_alerts)                                                                 \
    /* A ServerKeyExchange's first parameter read as DHE's p: its size in bits (0: none). Only */              \
    /* meaningful when the ServerHello chose a TLS_DHE_* suite (ECDHE puts a curve there). */                  \
    HEADER(int, tls_dh_p_bits, 0)                                                                              \
    PAYLOAD(std::vector<std::string>, alpn)                                                                    \
    PAYLOAD(std::string, sni)                 /* the ClientHello's server_name (host_name entry) */            \
    /* DER of the server's own (leaf) certificate of each Certificate message */                               \
    PAYLOAD(std::vector<std::vector<uint8_t>>, certificates)

struct Packet {
#define TDSDIAG_PACKET_HEADER_MEMBER(type, name, value) type name = value;
#define TDSDIAG_PACKET_PAYLOAD_MEMBER(type, name) type name;
    TDSDIAG_PACKET_FIELDS(TDSDIAG_PACKET_HEADER_MEMBER, TDSDIAG_PACKET_PAYLOAD_MEMBER)
#undef TDSDIAG_PACKET_HEADER_MEMBER
#undef TDSDIAG_PACKET_PAYLOAD_MEMBER

    bool syn() const { return (tcp_flags & kSyn) != 0; }
    bool ack() const { return (tcp_flags & kAck) != 0; }
    bool fin() const { return (tcp_flags & kFin) != 0; }
    bool rst() const { return (tcp_flags & kRst) != 0; }

    // Back to a default Packet, but keep the vectors' capacity (the plugin reuses one Packet).
    void clear();
    // The same for a packet whose payload fields and addresses are known to be empty (a frame with no
    // TCP payload): only the HEADER fields are reset.
    void clear_header();
    // Whether any PAYLOAD field (what clear_header leaves alone) is set.
    bool has_payload_fields() const;
};

}  // namespace tdsdiag

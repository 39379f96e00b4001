#include "wanted_fields.hpp"

#include <epan/packet.h>
extern "C" {
#include <epan/in_cksum.h>  // has no extern "C" of its own
}
#include <epan/proto.h>
#include <epan/tvbuff.h>

#include <algorithm>

#include <epan/to_str.h>

#include "tdsdiag/dns.hpp"
#include "tdsdiag/kerberos.hpp"
#include "tdsdiag/packet.hpp"
#include "tdsdiag/portable.hpp"
#include "tdsdiag/tcp_header.hpp"
#include "tdsdiag/text.hpp"
#include "version_compat.hpp"

namespace tdsdiag_plugin {
namespace {

// A 3-byte big-endian length (TLS handshake message and certificate lengths).
guint32 be24(const guint8* b) { return static_cast<guint32>(b[0] << 16 | b[1] << 8 | b[2]); }

struct Wanted {
    WantedField id;
    const char* name;
};

// Every field tdsdiag reads, by the name users know from display filters.
const Wanted kWanted[W_COUNT] = {
    // No TCP field but these two: the header is read from the frame's bytes (find_tcp_header) and the
    // stream asked of Wireshark's TCP conversation once per connection. Asking for tcp.stream, or for
    // tcp.flags, tcp.hdr_len and tcp.len, made Wireshark build their items on every frame, the
    // largest share of what tdsdiag cost (bench/run).
    {W_TCP_RETRANSMISSION, "tcp.analysis.retransmission"},
    {W_TCP_SPURIOUS_RETRANSMISSION, "tcp.analysis.spurious_retransmission"},
    {W_TDS_TYPE, "tds.type"},
    {W_TDS_LOGINACK, "tds.loginack"},
    {W_TDS_ERROR_NUMBER, "tds.error.number"},
    {W_TDS_ERROR_STATE, "tds.error.state"},
    {W_TDS_ERROR_CLASS, "tds.error.class"},
    {W_TDS_ERROR_MSGTEXT, "tds.error.msgtext"},
    {W_TDS_ENVCHANGE_TYPE, "tds.envchange.type"},  // type 20 (routing): its value is read from the bytes
    {W_TDS_DONE_STATUS, "tds.done.status"},
    {W_SMP_FLAGS, "smp.flags"},
    // How many segments a reassembled PDU came from (a split Login7). Not tcp.segment: that is an
    // item per segment of every reassembled PDU, hundreds for one large result set.
    {W_TCP_SEGMENT_COUNT, "tcp.segment.count"},
    // Login7 names (the password field is never read).
    {W_TDS_LOGIN_USER, "tds.7login.username"},
    {W_TDS_LOGIN_APP, "tds.7login.appname"},
    {W_TDS_LOGIN_HOST, "tds.7login.clientname"},
    {W_TDS_LOGIN_DATABASE, "tds.7login.databasename"},
    {W_TDS_LOGIN_LIBRARY, "tds.7login.libraryname"},
    {W_TLS_CONTENT_TYPE, "tls.record.content_type"},
    {W_TLS_OPAQUE_TYPE, "tls.record.opaque_type"},  // TLS 1.3 encrypted records (always 23)
    {W_TLS_HANDSHAKE_TYPE, "tls.handshake.type"},
    {W_TLS_ALERT_LEVEL, "tls.alert_message.level"},
    {W_TLS_ALERT_DESC, "tls.alert_message.desc"},
    // The certificate list's length: the server's own certificate follows it (3-byte length, DER).
    // Not tls.handshake.certificate: an item per certificate of the chain, each a copy of its bytes.
    {W_TLS_CERTIFICATES_LENGTH, "tls.handshake.certificates_length"},
    // SQL Browser (SSRP) frames and the ICMP errors that answer them
    {W_UDP_STREAM, "udp.stream"},
    {W_ICMP_TYPE, "icmp.type"},
    {W_ICMP_CODE, "icmp.code"},
    {W_ICMPV6_TYPE, "icmpv6.type"},
    {W_ICMPV6_CODE, "icmpv6.code"},
    {W_ICMP_MTU, "icmp.mtu"},
    {W_ICMPV6_MTU, "icmpv6.mtu"},
    // Kerberos (port 88): a TGS-REQ for a SQL Server SPN and the KRB-ERROR refusing it
    {W_KRB_MSG_TYPE, "kerberos.msg_type"},  // the first is the message's own (a TGS-REQ's AP-REQ follows)
    {W_KRB_ERROR_CODE, "kerberos.error_code"},
    {W_KRB_SNAME, "kerberos.SNameString"},  // every component, the TGT's krbtgt/REALM first in a TGS-REQ
    {W_KRB_REALM, "kerberos.realm"},
    {W_KRB_STIME, "kerberos.stime"},  // a KRB-ERROR's: the KDC's clock (KRB_AP_ERR_SKEW)
    {W_KRB_CNAME, "kerberos.CNameString"},  // the client principal (AS-REQ, KRB-ERROR)
    {W_KRB_CREALM, "kerberos.crealm"},
    {W_KRB_SUSEC, "kerberos.susec"},
    // DNS (port 53): the header is read from the bytes dns.id starts (flags, rcode), the question and
    // the answers' addresses from their fields (issue 31). The same names from Wireshark 4.0 to 4.6.
    {W_DNS_ID, "dns.id"},
    {W_DNS_QRY_NAME, "dns.qry.name"},
    {W_DNS_QRY_TYPE, "dns.qry.type"},
    {W_DNS_A, "dns.a"},
    {W_DNS_AAAA, "dns.aaaa"},
};

// Some names carry several hfids (tls.handshake.type and tls.handshake.version have two).
constexpr int kMaxHfids = 4;
int g_hfids[W_COUNT][kMaxHfids];
int g_nhfids[W_COUNT];

header_field_info* g_cipher_hfi = nullptr;

// Calls fn(field_info*) for every occurrence of a wanted field in the frame's tree.
template <typename Fn>
void each(proto_tree* tree, WantedField w, Fn fn) {
    for (int i = 0; i < g_nhfids[w]; ++i) {
        GPtrArray* arr = proto_get_finfo_ptr_array(tree, g_hfids[w][i]);
        if (arr == nullptr) continue;
        for (guint k = 0; k < arr->len; ++k) fn(static_cast<field_info*>(g_ptr_array_index(arr, k)));
    }
}

bool present(proto_tree* tree, WantedField w) {
    bool found = false;
    each(tree, w, [&](field_info*) { found = true; });
    return found;
}

template <typename T>
void read_uints(proto_tree* tree, WantedField w, std::vector<T>& out) {
    each(tree, w, [&](field_info* fi) { out.push_back(static_cast<T>(fvalue_get_uinteger(TDSDIAG_FVALUE(fi)))); });
}

bool first_uint(proto_tree* tree, WantedField w, guint32& v) {
    bool found = false;
    each(tree, w, [&](field_info* fi) {
        if (!found) v = fvalue_get_uinteger(TDSDIAG_FVALUE(fi));
        found = true;
    });
    return found;
}

bool first_int(proto_tree* tree, WantedField w, gint32& v) {
    bool found = false;
    each(tree, w, [&](field_info* fi) {
        if (!found) v = fvalue_get_sinteger(TDSDIAG_FVALUE(fi));
        found = true;
    });
    return found;
}

void first_string(proto_tree* tree, WantedField w, std::string& out) {
    each(tree, w, [&](field_info* fi) {
        const char* text = fvalue_get_string(TDSDIAG_FVALUE(fi));
        if (text != nullptr && out.empty()) out = text;
    });
}

// The last value of a string field ("" where it has none); `out` stays as it was if the field is absent.
void last_string(proto_tree* tree, WantedField w, std::string& out) {
    each(tree, w, [&](field_info* fi) {
        const char* text = fvalue_get_string(TDSDIAG_FVALUE(fi));
        out = text != nullptr ? text : "";
    });
}

// Every value of a string field in order ("" for one that has none).
void all_strings(proto_tree* tree, WantedField w, std::vector<std::string>& out) {
    each(tree, w, [&](field_info* fi) {
        const char* text = fvalue_get_string(TDSDIAG_FVALUE(fi));
        out.emplace_back(text != nullptr ? text : "");
    });
}

// Wireshark 4.0 dissects the routing ENVCHANGE (type 20) only up to its type byte: its value is read
// here from the bytes that follow, after checking they were captured (no tvb call may throw here).
void read_routing(field_info* fi, tdsdiag::Packet& p) {
    if (fi->ds_tvb == nullptr || fi->length != 1) return;
    const gint after = fi->start + 1;
    const gint avail = tvb_captured_length_remaining(fi->ds_tvb, after);
    if (avail <= 0) return;
    const gint n = MIN(avail, 2 + 5 + 2 * 65535 + 2);
    if (!tvb_bytes_exist(fi->ds_tvb, after, n)) return;
    const guint8* bytes = tvb_get_ptr(fi->ds_tvb, after, n);
    tdsdiag::Routing r;
    if (bytes != nullptr && tdsdiag::parse_routing(bytes, static_cast<size_t>(n), r)) p.routing.push_back(std::move(r));
}

// The bytes of the TDS packet whose type field is `fi` (after its 8-byte header), if captured whole.
const guint8* tds_payload(field_info* fi, size_t& len) {
    len = 0;
    if (fi->ds_tvb == nullptr || fi->length != 1 || fi->start < 0) return nullptr;
    const gint header = fi->start;
    if (!tvb_bytes_exist(fi->ds_tvb, header, 8)) return nullptr;
    const guint8* h = tvb_get_ptr(fi->ds_tvb, header, 8);
    const gint total = (h[2] << 8) | h[3];
    const gint avail = tvb_captured_length_remaining(fi->ds_tvb, header);
    const gint n = MIN(total, avail) - 8;
    if (n <= 0 || !tvb_bytes_exist(fi->ds_tvb, header + 8, n)) return nullptr;
    len = static_cast<size_t>(n);
    return tvb_get_ptr(fi->ds_tvb, header + 8, n);
}

// Windows authentication: Wireshark 4.0 misreads the server's SSPI token (0xED) and leaves SPNEGO in
// SSPI packets undissected, so the blobs are read here from the packet bytes.
TDSDIAG_NOINLINE void read_sspi(field_info* fi, guint32 type, tdsdiag::Packet& p) {
    size_t len = 0;
    const guint8* b = tds_payload(fi, len);
    if (b == nullptr) return;
    if (type == tdsdiag::kTdsLogin7) {
        p.login7_packet_size = tdsdiag::login7_packet_size(b, len);
        bool integrated = false;
        size_t off = 0, n = 0;
        if (!tdsdiag::login7_sspi(b, len, integrated, off, n)) return;
        p.login7_integrated = integrated ? 1 : 0;
        p.login7_password_chars = tdsdiag::login7_password_chars(b, len);
        if (n > 0) p.auth_tokens.push_back(tdsdiag::parse_auth_token(b + off, n));
    } else if (type == tdsdiag::kTdsSspi) {
        p.auth_tokens.push_back(tdsdiag::parse_auth_token(b, len));
    } else if (b[0] == 0xed) {
        const tdsdiag::SspiResponse r = tdsdiag::scan_sspi_response(b, len);
        if (!r.sspi_first) return;
        p.auth_tokens.push_back(tdsdiag::parse_auth_token(b + r.offset, r.length));
        if (!r.more_tokens) p.sspi_only_response = true;
        if (r.login_ack) p.login_ack = true;
    }
}

// The segment's bytes as a whole TDS packet, if it starts like a tabular-result packet (see
// tdsdiag::parse_raw_prelogin_answer).
TDSDIAG_NOINLINE void read_raw_prelogin(tvbuff_t* frame, const tdsdiag::TcpHeaderAt& header, tdsdiag::Packet& p) {
    const gint start = static_cast<gint>(header.offset + header.header_len);
    const gint len = static_cast<gint>(p.tcp_len);
    if (len <= 8 || !tvb_bytes_exist(frame, start, 1) || TDSDIAG_TVB_GET_U8(frame, start) != tdsdiag::kTdsResponse) return;
    if (!tvb_bytes_exist(frame, start, len)) return;
    tdsdiag::parse_raw_prelogin_answer(tvb_get_ptr(frame, start, len), static_cast<size_t>(len), p);
}

}  // namespace

GArray* resolve_wanted_fields() {
    GArray* ids = g_array_new(FALSE, FALSE, sizeof(int));
    for (const Wanted& w : kWanted) {
        g_nhfids[w.id] = 0;
        // The registrar links fields of one name both ways: back to the first, then forward.
        header_field_info* hfi = proto_registrar_get_byname(w.name);
        while (hfi != nullptr && hfi->same_name_prev_id != -1) hfi = proto_registrar_get_nth(hfi->same_name_prev_id);
        for (; hfi != nullptr && g_nhfids[w.id] < kMaxHfids; hfi = hfi->same_name_next) {
            g_hfids[w.id][g_nhfids[w.id]++] = hfi->id;
            g_array_append_val(ids, hfi->id);
        }
    }
    g_cipher_hfi = proto_registrar_get_byname("tls.handshake.ciphersuite");
    return ids;
}

bool has_tds(proto_tree* tree) { return present(tree, W_TDS_TYPE); }

bool read_udp_stream(proto_tree* tree, guint32& stream) { return first_uint(tree, W_UDP_STREAM, stream); }

bool read_kerberos(proto_tree* tree, tdsdiag::KerberosPacket& out) {
    gint32 v = 0;
    if (!first_int(tree, W_KRB_MSG_TYPE, v)) return false;
    out.msg_type = v;
    if (first_int(tree, W_KRB_ERROR_CODE, v)) out.error_code = v;
    all_strings(tree, W_KRB_SNAME, out.sname);
    last_string(tree, W_KRB_REALM, out.realm);
    if (out.msg_type != tdsdiag::kKrbTgsReq) {  // a TGS-REQ's client is inside its encrypted ticket
        all_strings(tree, W_KRB_CNAME, out.cname);
        last_string(tree, W_KRB_CREALM, out.crealm);
    }
    if (out.msg_type == tdsdiag::kKrbError) {
        each(tree, W_KRB_STIME, [&](field_info* fi) {
            if (out.stime_ns) return;
            const nstime_t* t = fvalue_get_time(TDSDIAG_FVALUE(fi));
            if (t != nullptr) out.stime_ns = static_cast<int64_t>(t->secs) * 1000000000 + t->nsecs;
        });
        guint32 usec = 0;
        if (out.stime_ns && first_uint(tree, W_KRB_SUSEC, usec) && usec < 1000000)
            *out.stime_ns += static_cast<int64_t>(usec) * 1000;
    }
    return true;
}

bool is_icmp(proto_tree* tree) { return present(tree, W_ICMP_TYPE) || present(tree, W_ICMPV6_TYPE); }

bool read_icmp_quote(proto_tree* tree, IcmpQuote& q) {
    gboolean v6 = FALSE;
    if (!read_icmp(tree, q.type, q.code, v6)) return false;
    q.v6 = v6;
    q.mtu = 0;
    guint32 mtu = 0;
    if (v6 ? (q.type == 2 && first_uint(tree, W_ICMPV6_MTU, mtu)) : (q.type == 3 && q.code == 4 && first_uint(tree, W_ICMP_MTU, mtu)))
        q.mtu = mtu;
    // The quoted datagram follows the 8-byte ICMP header whose type field the first item is.
    q.data = nullptr;
    q.len = 0;
    each(tree, v6 ? W_ICMPV6_TYPE : W_ICMP_TYPE, [&](field_info* fi) {
        if (q.data != nullptr || fi->ds_tvb == nullptr || fi->start < 0) return;
        const gint at = fi->start + 8;
        const gint n = tvb_captured_length_remaining(fi->ds_tvb, at);
        if (n <= 0) return;
        q.data = tvb_get_ptr(fi->ds_tvb, at, n);  // all captured: cannot throw
        q.len = static_cast<size_t>(n);
    });
    return q.data != nullptr;
}

bool read_dns(proto_tree* tree, packet_info* pinfo, tdsdiag::DnsPacket& out) {
    bool header = false;
    each(tree, W_DNS_ID, [&](field_info* fi) {
        if (header || fi->ds_tvb == nullptr || fi->start < 0 || fi->length != 2 || !tvb_bytes_exist(fi->ds_tvb, fi->start, 12))
            return;
        const guint8* h = tvb_get_ptr(fi->ds_tvb, fi->start, 12);
        out.id = static_cast<uint16_t>(h[0] << 8 | h[1]);
        out.response = (h[2] & 0x80) != 0;
        out.rcode = static_cast<uint8_t>(h[3] & 0x0f);
        header = true;
    });
    if (!header) return false;
    first_string(tree, W_DNS_QRY_NAME, out.name);
    guint32 type = 0;
    if (first_uint(tree, W_DNS_QRY_TYPE, type)) out.type = static_cast<uint16_t>(type);
    if (!out.response) return true;
    auto add = [&](field_info* fi, address_type at, gint len) {
        if (fi->ds_tvb == nullptr || fi->start < 0 || fi->length != len || !tvb_bytes_exist(fi->ds_tvb, fi->start, len)) return;
        address a;
        set_address(&a, at, len, tvb_get_ptr(fi->ds_tvb, fi->start, len));
        const char* text = address_to_str(pinfo->pool, &a);
        if (text != nullptr) out.addresses.emplace_back(text);
    };
    each(tree, W_DNS_A, [&](field_info* fi) { add(fi, AT_IPv4, 4); });
    each(tree, W_DNS_AAAA, [&](field_info* fi) { add(fi, AT_IPv6, 16); });
    return true;
}

bool read_icmp(proto_tree* tree, guint32& type, guint32& code, gboolean& v6) {
    if (first_uint(tree, W_ICMP_TYPE, type) && first_uint(tree, W_ICMP_CODE, code)) {
        v6 = FALSE;
        return true;
    }
    if (first_uint(tree, W_ICMPV6_TYPE, type) && first_uint(tree, W_ICMPV6_CODE, code)) {
        v6 = TRUE;
        return true;
    }
    return false;
}

namespace {

template <typename V>
bool has(const V& values, unsigned x) {
    return std::find(values.begin(), values.end(), x) != values.end();
}

// The login response's tokens are read from the packet's bytes by their own lengths
// (tdsdiag::walk_login_tokens): Wireshark's TDS dissector sizes some tokens by the TDS version it
// assumes for the connection, and where it has not seen the Login7 (encrypted, as with "login only"
// encryption) it may assume wrongly: 4.0 reads a TDS 7.1 server's INFO line number (2 bytes) as 4,
// 4.4 and later take the version from the client's PRELOGIN, which some clients fill with their own
// library's version (pytds 1.8.0). It then loses its place and shows neither the LOGINACK nor the
// tokens after it. Where the walk covers every byte of the frame's response packets, its results
// replace the dissector's fields; otherwise (a message split over TDS packets, a token a login
// response does not hold) the fields stay, and a LOGINACK the walk found before it stopped counts.
__attribute__((cold)) void read_login_tokens(proto_tree* tree, tdsdiag::Packet& p) {
    tdsdiag::LoginTokens all;
    bool walked = false, whole = true;
    each(tree, W_TDS_TYPE, [&](field_info* fi) {
        if (fvalue_get_uinteger(TDSDIAG_FVALUE(fi)) != tdsdiag::kTdsResponse) return;
        size_t len = 0;
        const guint8* b = tds_payload(fi, len);
        if (b == nullptr) {
            whole = false;
            return;
        }
        tdsdiag::LoginTokens t = tdsdiag::walk_login_tokens(b, len);
        walked = true;
        whole = whole && t.complete;
        all.login_ack = all.login_ack || (t.login_ack && t.tokens >= 2);
        for (auto& e : t.errors) all.errors.push_back(std::move(e));
        all.envchange_types.insert(all.envchange_types.end(), t.envchange_types.begin(), t.envchange_types.end());
        for (auto& r : t.routing) all.routing.push_back(std::move(r));
        if (t.packet_size != 0) all.packet_size = t.packet_size;
    });
    if (!walked) return;
    p.envchange_packet_size = all.packet_size;
    if (all.login_ack) p.login_ack = true;
    if (whole) {
        p.errors = std::move(all.errors);
        p.envchange_types = std::move(all.envchange_types);
        p.routing = std::move(all.routing);
    } else {
        if (all.errors.size() > p.errors.size()) p.errors = std::move(all.errors);
        if (all.envchange_types.size() > p.envchange_types.size()) {
            p.envchange_types = std::move(all.envchange_types);
            p.routing = std::move(all.routing);
        }
    }
}

// A TDS response: DONE status, and until the login is acknowledged its acknowledgement, errors and
// environment changes.
TDSDIAG_NOINLINE void read_response(proto_tree* tree, bool login_fields, tdsdiag::Packet& p) {
    each(tree, W_TDS_DONE_STATUS, [&](field_info* fi) {
        if (fvalue_get_uinteger(TDSDIAG_FVALUE(fi)) & 0x20) p.done_attention = true;
    });
    if (!login_fields) return;
    p.login_ack = p.login_ack || present(tree, W_TDS_LOGINACK);
    std::vector<uint32_t> numbers, states, classes;
    read_uints(tree, W_TDS_ERROR_NUMBER, numbers);
    read_uints(tree, W_TDS_ERROR_STATE, states);
    read_uints(tree, W_TDS_ERROR_CLASS, classes);
    std::vector<const char*> texts;
    each(tree, W_TDS_ERROR_MSGTEXT, [&](field_info* fi) { texts.push_back(fvalue_get_string(TDSDIAG_FVALUE(fi))); });
    for (size_t i = 0; i < numbers.size(); ++i) {
        tdsdiag::TdsError e;
        e.number = numbers[i];
        if (i < states.size()) e.state = static_cast<uint8_t>(states[i]);
        if (i < classes.size()) e.severity = static_cast<uint8_t>(classes[i]);
        if (i < texts.size() && texts[i] != nullptr) e.message = texts[i];
        p.errors.push_back(std::move(e));
    }
    each(tree, W_TDS_ENVCHANGE_TYPE, [&](field_info* fi) {
        const guint32 type = fvalue_get_uinteger(TDSDIAG_FVALUE(fi));
        p.envchange_types.push_back(static_cast<uint8_t>(type));
        if (type == 20) read_routing(fi, p);
    });
    read_login_tokens(tree, p);
}

// The Login7's names (never its password).
TDSDIAG_COLD void read_login_names(proto_tree* tree, tdsdiag::Packet& p) {
    first_string(tree, W_TDS_LOGIN_USER, p.login_user);
    first_string(tree, W_TDS_LOGIN_APP, p.login_app);
    first_string(tree, W_TDS_LOGIN_HOST, p.login_host);
    first_string(tree, W_TDS_LOGIN_DATABASE, p.login_database);
    first_string(tree, W_TDS_LOGIN_LIBRARY, p.login_library);
}

TDSDIAG_COLD void read_tls_alerts(proto_tree* tree, tdsdiag::Packet& p) {
    std::vector<uint8_t> levels, descs;
    read_uints(tree, W_TLS_ALERT_LEVEL, levels);
    read_uints(tree, W_TLS_ALERT_DESC, descs);
    for (size_t i = 0; i < descs.size(); ++i) p.tls_alerts.push_back({i < levels.size() ? levels[i] : uint8_t{0}, descs[i]});
}

// A TLS handshake record: message types, and from the hello messages' bytes their versions, cipher
// suites and ALPN names, and the size of a ServerKeyExchange's DHE group (asking Wireshark for those fields cost more than reading them here:
// a ClientHello lists dozens of suites); certificates.
TDSDIAG_NOINLINE void read_tls_handshake(proto_tree* tree, tdsdiag::Packet& p) {
    each(tree, W_TLS_HANDSHAKE_TYPE, [&](field_info* fi) {
        const guint32 type = fvalue_get_uinteger(TDSDIAG_FVALUE(fi));
        p.tls_handshake_types.push_back(static_cast<uint8_t>(type));
        if (type != tdsdiag::kHsClientHello && type != tdsdiag::kHsServerHello && type != tdsdiag::kHsEncryptedExtensions &&
            type != tdsdiag::kHsServerKeyExchange)
            return;
        // The type byte starts the message: a 3-byte length, then the body (as much as was captured).
        if (fi->ds_tvb == nullptr || fi->start < 0 || fi->length != 1 || !tvb_bytes_exist(fi->ds_tvb, fi->start, 4)) return;
        const guint8* h = tvb_get_ptr(fi->ds_tvb, fi->start, 4);
        const gint declared = static_cast<gint>(be24(h + 1));
        const gint n = MIN(declared, tvb_captured_length_remaining(fi->ds_tvb, fi->start + 4));
        if (n <= 0 || !tvb_bytes_exist(fi->ds_tvb, fi->start + 4, n)) return;
        tdsdiag::parse_tls_hello(static_cast<uint8_t>(type), tvb_get_ptr(fi->ds_tvb, fi->start + 4, n), static_cast<size_t>(n), p);
    });
    each(tree, W_TLS_CERTIFICATES_LENGTH, [&](field_info* fi) {
        // The list's 3-byte length, then its first entry: the server's certificate, 3-byte length and DER.
        if (fi->ds_tvb == nullptr || fi->start < 0 || fi->length != 3) return;
        const gint list = fi->start + 3;
        if (!tvb_bytes_exist(fi->ds_tvb, fi->start, 6)) return;
        const guint8* h = tvb_get_ptr(fi->ds_tvb, fi->start, 6);
        const guint32 list_len = be24(h);
        const guint32 cert_len = be24(h + 3);
        if (cert_len == 0 || cert_len + 3 > list_len || !tvb_bytes_exist(fi->ds_tvb, list + 3, static_cast<gint>(cert_len)))
            return;
        const guint8* der = tvb_get_ptr(fi->ds_tvb, list + 3, static_cast<gint>(cert_len));
        p.certificates.emplace_back(der, der + cert_len);
    });
}

// Whether the TCP segment at `off` has the right checksum (1), a wrong one (0), or could not be
// checked (-1). Computed here rather than by the TCP dissector, whose check is off by default.
int tcp_checksum_state(const packet_info* pinfo, tvbuff_t* tvb, gint off, guint32 hdr_len, guint32 tcp_len) {
    // No object with a destructor here: tvb functions may throw (they cannot, lengths are checked first).
    if (pinfo->src.type != pinfo->dst.type) return -1;
    const int alen = pinfo->src.type == AT_IPv4 ? 4 : pinfo->src.type == AT_IPv6 ? 16 : 0;
    if (alen == 0 || pinfo->src.len != alen || pinfo->dst.len != alen) return -1;
    const guint64 seg = static_cast<guint64>(hdr_len) + tcp_len;
    if (hdr_len < 20 || seg > 65535 || static_cast<guint64>(tvb_captured_length_remaining(tvb, off)) < seg)
        return -1;  // not all of the segment was captured
    guint8 pseudo[40];
    memcpy(pseudo, pinfo->src.data, static_cast<size_t>(alen));
    memcpy(pseudo + alen, pinfo->dst.data, static_cast<size_t>(alen));
    int plen = 2 * alen;
    if (alen == 4) {
        const guint8 tail[4] = {0, 6, static_cast<guint8>(seg >> 8), static_cast<guint8>(seg)};
        memcpy(pseudo + plen, tail, 4);
    } else {
        const guint8 tail[8] = {0, 0, static_cast<guint8>(seg >> 8), static_cast<guint8>(seg), 0, 0, 0, 6};
        memcpy(pseudo + plen, tail, 8);
        plen += 4;
    }
    plen += 4;
    vec_t vec[2];
    SET_CKSUM_VEC_PTR(vec[0], pseudo, plen);
    SET_CKSUM_VEC_TVB(vec[1], tvb, off, static_cast<int>(seg));
    return in_cksum(vec, 2) == 0 ? 1 : 0;
}

}  // namespace

bool locate_tcp(tvbuff_t* frame, const packet_info* pinfo, tdsdiag::TcpHeaderAt& h) {
    const address& src = pinfo->src;
    const address& dst = pinfo->dst;
    if (frame == nullptr || src.type != dst.type || (src.type != AT_IPv4 && src.type != AT_IPv6) || src.len != dst.len ||
        src.len != (src.type == AT_IPv4 ? 4 : 16))
        return false;
    const gint captured = static_cast<gint>(tvb_captured_length(frame));
    if (captured <= 0) return false;
    const guint8* bytes = tvb_get_ptr(frame, 0, captured);  // all captured: cannot throw
    return tdsdiag::find_tcp_header(bytes, static_cast<size_t>(captured), tvb_reported_length(frame),
                                    static_cast<const uint8_t*>(src.data), static_cast<const uint8_t*>(dst.data),
                                    static_cast<size_t>(src.len), static_cast<uint16_t>(pinfo->srcport),
                                    static_cast<uint16_t>(pinfo->destport), h);
}

const char* cipher_suite_name(guint16 suite) {
    if (g_cipher_hfi == nullptr || g_cipher_hfi->strings == nullptr) return nullptr;
    if (g_cipher_hfi->display & BASE_EXT_STRING)
        return try_val_to_str_ext(suite, static_cast<value_string_ext*>(const_cast<void*>(g_cipher_hfi->strings)));
    return try_val_to_str(suite, static_cast<const value_string*>(g_cipher_hfi->strings));
}

bool read_packet(proto_tree* tree, tvbuff_t* frame, const tdsdiag::TcpHeaderAt* header, packet_info* pinfo,
                 bool login_fields, bool checksum, tdsdiag::Packet& p) {
    if (tree == nullptr) return false;
    if (header != nullptr) {  // else a header cut short: neither flags nor length
        p.tcp_flags = header->flags;
        p.ip_ttl = header->ttl;
        p.tcp_seq = header->seq;
        p.tcp_ack = header->ack;
        p.tcp_window = header->window;
        gint64 len = header->payload;
        // No length in the IP header: the segment is the rest of the frame.
        if (len < 0)
            len = MAX(0, tvb_reported_length_remaining(frame, static_cast<gint>(header->offset)) -
                             static_cast<gint>(header->header_len));
        p.tcp_len = static_cast<uint32_t>(len);
        if (checksum)
            p.checksum_ok = static_cast<int8_t>(
                tcp_checksum_state(pinfo, frame, static_cast<gint>(header->offset), header->header_len, p.tcp_len));
    }
    // A retransmission carries data, a SYN or a FIN (Wireshark flags no bare ACK as one).
    if (p.tcp_len > 0 || (p.tcp_flags & (tdsdiag::kSyn | tdsdiag::kFin | tdsdiag::kRst)) != 0)
        p.retransmission = present(tree, W_TCP_RETRANSMISSION) || present(tree, W_TCP_SPURIOUS_RETRANSMISSION);
    // Most frames are bare ACKs, and many carry neither TDS nor TLS: stop looking up fields early.
    if (p.tcp_len == 0) return true;

    each(tree, W_TDS_TYPE, [&](field_info* fi) {
        const guint32 type = fvalue_get_uinteger(TDSDIAG_FVALUE(fi));
        p.tds_types.push_back(static_cast<uint8_t>(type));
        if (type == tdsdiag::kTdsLogin7 || type == tdsdiag::kTdsSspi || type == tdsdiag::kTdsResponse) read_sspi(fi, type, p);
        // Prelogin options, in the client's PRELOGIN and the server's answer (a response packet), are
        // read from the bytes: fewer fields for Wireshark to build on every TDS frame.
        if (type == tdsdiag::kTdsPrelogin || type == tdsdiag::kTdsResponse) {
            size_t len = 0;
            const guint8* b = tds_payload(fi, len);
            if (b != nullptr) tdsdiag::parse_prelogin(b, len, p);
        }
    });
    if (has(p.tds_types, tdsdiag::kTdsLogin7))
        first_uint(tree, W_TCP_SEGMENT_COUNT, p.login7_segment_count);
    read_uints(tree, W_TLS_CONTENT_TYPE, p.tls_content_types);
    read_uints(tree, W_TLS_OPAQUE_TYPE, p.tls_content_types);
    if (p.tds_types.empty() && p.tls_content_types.empty()) {
        read_uints(tree, W_SMP_FLAGS, p.smp_flags);  // an SMP packet without TDS (MARS FIN, ACK)
        // A PRELOGIN answer to a TDS 8.0 ClientHello is claimed by the TLS dissector, which shows no
        // record: its VERSION names the server that does not speak TDS 8.0. One byte read on other frames.
        if (header != nullptr && p.smp_flags.empty()) read_raw_prelogin(frame, *header, p);
        return true;
    }
    // Each group of fields is looked up only in frames that can hold it.
    if (has(p.tds_types, tdsdiag::kTdsResponse)) read_response(tree, login_fields, p);
    read_uints(tree, W_SMP_FLAGS, p.smp_flags);
    if (has(p.tds_types, tdsdiag::kTdsLogin7)) read_login_names(tree, p);
    if (has(p.tls_content_types, 22u)) read_tls_handshake(tree, p);
    if (has(p.tls_content_types, 21u)) read_tls_alerts(tree, p);
    return true;
}

}  // namespace tdsdiag_plugin

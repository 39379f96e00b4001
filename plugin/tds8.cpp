// TDS 8.0 ("strict" encryption) on the SQL Server ports. Wireshark 4.0 hands every connection on
// port 1433 to its TDS dissector, which misreads a TLS ClientHello as "TDS Unknown Packet Type: 22".
// This dispatcher sits on the SQL Server ports in front of TDS and decides once per connection,
// from the first payload: a TLS handshake record means TDS 8.0, dissected as TLS (and the TDS
// inside as TDS when the TLS keys are known); anything else goes to the TDS dissector as before.
#include "tds8.hpp"

#include "tdsdiag/tds_probe.hpp"

#include <epan/conversation.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto.h>

#include "version_compat.hpp"

namespace tdsdiag_plugin {
namespace {

int proto_tds8 = -1;
dissector_handle_t dispatch_handle;
dissector_handle_t tds_handle;
dissector_handle_t tls_handle;
range_t* registered_ports = nullptr;

enum Decision : guint { kUndecided = 0, kTls = 1, kTds = 2 };

int dissect_dispatch(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void* data) {
    conversation_t* conv = find_or_create_conversation(pinfo);
    guint decision = GPOINTER_TO_UINT(conversation_get_proto_data(conv, proto_tds8));
    if (decision == kUndecided && tvb_captured_length(tvb) >= 3) {
        // A TLS record header: handshake (22), version major 3. TDS 7.x starts with a PRELOGIN (0x12).
        const bool tls = TDSDIAG_TVB_GET_U8(tvb, 0) == 22 && TDSDIAG_TVB_GET_U8(tvb, 1) == 3 && tls_handle != nullptr;
        decision = tls ? kTls : kTds;
        conversation_add_proto_data(conv, proto_tds8, GUINT_TO_POINTER(decision));
        conversation_set_dissector(conv, tls ? tls_handle : tds_handle);
    }
    return call_dissector_with_data(decision == kTls ? tls_handle : tds_handle, tvb, pinfo, tree, data);
}

// Named instances listen on dynamic ports, often learnt from an SQL Browser answer the capture does
// not hold: a conversation whose client starts with a whole PRELOGIN or a Login7 is TDS, whatever the
// port (tdsdiag::probe_tds_start is strict, so other traffic is not taken for it).
tdsdiag_heur_result heur_tds(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void* data) {
    if (tds_handle == nullptr) return 0;
    const guint len = tvb_captured_length(tvb);
    if (len < 14) return 0;
    const guint8 first = TDSDIAG_TVB_GET_U8(tvb, 0);
    if (first != 0x12 && first != 0x10) return 0;  // PRELOGIN, Login7: the rest is cheap to rule out
    if (tdsdiag::probe_tds_start(tvb_get_ptr(tvb, 0, static_cast<gint>(len)), len) == tdsdiag::TdsStart::None)
        return 0;
    conversation_set_dissector(find_or_create_conversation(pinfo), tds_handle);
    call_dissector_with_data(tds_handle, tvb, pinfo, tree, data);
    return 1;
}

}  // namespace

void register_tds_heuristic(int proto) {
    heur_dissector_add("tcp", heur_tds, "TDS on any port, by the client's PRELOGIN or Login7 (tdsdiag)",
                       "tds_any_port_tdsdiag", proto, HEURISTIC_ENABLE);
}

void claim_for_tds(packet_info* pinfo) {
    if (tds_handle == nullptr) return;
    conversation_t* conv = find_conversation_pinfo(pinfo, 0);
    if (conv != nullptr && conversation_get_dissector(conv, pinfo->num) == nullptr)
        conversation_set_dissector(conv, tds_handle);
}

void register_tds8(int proto) {
    proto_tds8 = proto;
    dispatch_handle = create_dissector_handle(dissect_dispatch, proto);
}

void handoff_tds8(const range_t* ports, gboolean enabled) {
    if (tds_handle == nullptr) {
        // TDS's own handle, taken from port 1433 before we stand in front of it.
        tds_handle = find_dissector("tds");
        if (tds_handle == nullptr) tds_handle = dissector_get_uint_handle(find_dissector_table("tcp.port"), 1433);
        tls_handle = find_dissector("tls");
        if (tds_handle != nullptr) {
            // Decrypted application data (with a TLS key log) is TDS: by ALPN in TDS 8.0, by port in TDS 7.x.
            dissector_add_string("tls.alpn", "tds/8.0", tds_handle);
        }
    }
    if (tds_handle == nullptr || tls_handle == nullptr) return;
    if (registered_ports != nullptr) {
        dissector_delete_uint_range("tcp.port", registered_ports, dispatch_handle);
        dissector_delete_uint_range("tls.port", registered_ports, tds_handle);
        for (guint i = 0; i < registered_ports->nranges; ++i)
            for (guint32 p = registered_ports->ranges[i].low; p <= registered_ports->ranges[i].high && p <= 65535; ++p)
                dissector_add_uint("tcp.port", p, tds_handle);  // give the port back to TDS
        wmem_free(wmem_epan_scope(), registered_ports);
        registered_ports = nullptr;
    }
    if (!enabled || ports == nullptr) return;
    registered_ports = range_copy(wmem_epan_scope(), ports);
    dissector_add_uint_range("tcp.port", registered_ports, dispatch_handle);
    dissector_add_uint_range("tls.port", registered_ports, tds_handle);
}

}  // namespace tdsdiag_plugin

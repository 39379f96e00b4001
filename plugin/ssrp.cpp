// SQL Server Resolution Protocol (MC-SQLR): the SQL Browser's requests and answers on UDP 1434,
// which Wireshark 4.0 does not dissect. The bytes are read by the core's parse_ssrp (bounds-checked);
// this file turns its result into a packet tree and keeps the datagram for the post-dissector,
// which feeds the lookup to the analysis (step 0, browser_* diagnoses, link to the TCP connection).
#include "ssrp.hpp"

#include <epan/expert.h>
#include <epan/proto_data.h>
#include <epan/to_str.h>
#include <epan/strutil.h>

#include <exception>

#include "tdsdiag/ssrp.hpp"
#include "version_compat.hpp"

namespace tdsdiag_plugin {
namespace {

int proto_ssrp = -1;
int hf_type = -1;
int hf_request_instance = -1;
int hf_dac_version = -1;
int hf_resp_size = -1;
int hf_resp_data = -1;
int hf_dac_port = -1;
int hf_instance = -1;
int hf_server_name = -1;
int hf_instance_name = -1;
int hf_is_clustered = -1;
int hf_version = -1;
int hf_tcp_port = -1;
int hf_pipe = -1;
int hf_other = -1;
int ett_ssrp = -1;
int ett_instance = -1;
expert_field ei_truncated = EI_INIT;
expert_field ei_unknown = EI_INIT;
dissector_handle_t ssrp_handle;

const value_string type_vals[] = {
    {0x02, "CLNT_BCAST_EX (all instances on the network)"},
    {0x03, "CLNT_UCAST_EX (all instances on this machine)"},
    {0x04, "CLNT_UCAST_INST (one named instance)"},
    {0x05, "SVR_RESP (answer)"},
    {0x0f, "CLNT_UCAST_DAC (dedicated administrator connection)"},
    {0, nullptr},
};

// The parse result as plain data in packet scope, so the tree code holds no C++ object.
struct PlainToken {
    guint key_off, key_len, val_off, val_len;
    int hf;  // the named field for this key, or hf_other
};
struct PlainInstance {
    guint off, len;
    const char* name;  // for the item's label (escaped)
    gint tcp_port;     // -1 if none
    guint ntokens;
    PlainToken* tokens;
};
struct PlainSsrp {
    gboolean valid;
    guint8 type;
    guint inst_off, inst_len;
    guint8 dac_version;
    guint16 resp_size;
    gboolean dac_response;
    gint dac_port;
    gboolean truncated;
    guint ninst;
    PlainInstance* inst;
    const char* info;  // for the Info column
};

int hf_for_key(const std::string& key) {
    if (g_ascii_strcasecmp(key.c_str(), "ServerName") == 0) return hf_server_name;
    if (g_ascii_strcasecmp(key.c_str(), "InstanceName") == 0) return hf_instance_name;
    if (g_ascii_strcasecmp(key.c_str(), "IsClustered") == 0) return hf_is_clustered;
    if (g_ascii_strcasecmp(key.c_str(), "Version") == 0) return hf_version;
    if (g_ascii_strcasecmp(key.c_str(), "tcp") == 0) return hf_tcp_port;
    if (g_ascii_strcasecmp(key.c_str(), "np") == 0) return hf_pipe;
    return hf_other;
}

const char* esc(wmem_allocator_t* pool, const std::string& s) { return tdsdiag_format_text(pool, s); }

// No tvb call here: it works on a copy of the bytes, and catches everything the core may throw.
PlainSsrp* parse_plain(wmem_allocator_t* pool, const guint8* data, guint len, bool from_server) {
    try {
        const tdsdiag::SsrpMessage m = tdsdiag::parse_ssrp(data, len, from_server);
        auto* p = wmem_new0(pool, PlainSsrp);
        p->valid = m.valid;
        p->type = static_cast<guint8>(m.type);
        p->inst_off = static_cast<guint>(m.instance_offset);
        p->inst_len = static_cast<guint>(m.instance_length);
        p->dac_version = m.dac_version;
        p->resp_size = m.resp_size;
        p->dac_response = m.dac_response;
        p->dac_port = m.dac_port ? *m.dac_port : -1;
        p->truncated = m.truncated;
        p->ninst = static_cast<guint>(m.instances.size());
        p->inst = wmem_alloc0_array(pool, PlainInstance, p->ninst);
        std::string info = tdsdiag::ssrp_type_name(m.type);
        if (!m.instance.empty()) info += " " + m.instance;
        if (m.dac_port) info += " DAC tcp " + std::to_string(*m.dac_port);
        for (guint i = 0; i < p->ninst; ++i) {
            const tdsdiag::SsrpInstance& in = m.instances[i];
            PlainInstance& o = p->inst[i];
            o.off = static_cast<guint>(in.offset);
            o.len = static_cast<guint>(in.length);
            o.name = esc(pool, in.instance.empty() ? std::string("?") : in.instance);
            o.tcp_port = in.tcp_port ? *in.tcp_port : -1;
            o.ntokens = static_cast<guint>(in.tokens.size());
            o.tokens = wmem_alloc0_array(pool, PlainToken, o.ntokens);
            for (guint k = 0; k < o.ntokens; ++k) {
                const tdsdiag::SsrpToken& t = in.tokens[k];
                o.tokens[k] = {static_cast<guint>(t.key_offset), static_cast<guint>(t.key_length),
                               static_cast<guint>(t.value_offset), static_cast<guint>(t.value_length), hf_for_key(t.key)};
            }
            info += (i == 0 ? ": " : ", ") + (in.instance.empty() ? std::string("?") : in.instance);
            if (in.tcp_port) info += " tcp " + std::to_string(*in.tcp_port);
        }
        p->info = esc(pool, info);
        return p;
    } catch (const std::exception&) {
        return nullptr;
    }
}

int dissect_ssrp(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void*) {
    const guint len = tvb_captured_length(tvb);
    if (len == 0) return 0;
    const bool from_server = pinfo->srcport == tdsdiag::kSsrpPort && pinfo->destport != tdsdiag::kSsrpPort;
    const guint8* data = static_cast<const guint8*>(tvb_memdup(pinfo->pool, tvb, 0, len));
    PlainSsrp* m = parse_plain(pinfo->pool, data, len, from_server);
    if (m == nullptr || !m->valid) return 0;  // not SSRP: let UDP try others

    col_set_str(pinfo->cinfo, COL_PROTOCOL, "SSRP");
    col_add_str(pinfo->cinfo, COL_INFO, m->info);

    if (!pinfo->flags.in_error_pkt || p_get_proto_data(pinfo->pool, pinfo, proto_ssrp, 0) == nullptr) {
        auto* sf = wmem_new0(pinfo->pool, SsrpFrame);
        sf->in_error = pinfo->flags.in_error_pkt ? TRUE : FALSE;
        copy_address_wmem(pinfo->pool, &sf->src, &pinfo->src);
        copy_address_wmem(pinfo->pool, &sf->dst, &pinfo->dst);
        sf->src_port = static_cast<guint16>(pinfo->srcport);
        sf->dst_port = static_cast<guint16>(pinfo->destport);
        sf->data = data;
        sf->len = len;
        p_add_proto_data(pinfo->pool, pinfo, proto_ssrp, 0, sf);
    }

    proto_item* ti = proto_tree_add_item(tree, proto_ssrp, tvb, 0, -1, ENC_NA);
    proto_tree* st = proto_item_add_subtree(ti, ett_ssrp);
    proto_tree_add_item(st, hf_type, tvb, 0, 1, ENC_NA);
    if (m->type == 0x04 || m->type == 0x0f) {
        if (m->type == 0x0f) proto_tree_add_item(st, hf_dac_version, tvb, 1, 1, ENC_NA);
        proto_tree_add_item(st, hf_request_instance, tvb, m->inst_off, m->inst_len, ENC_ASCII);
        proto_item_append_text(ti, ", %s", val_to_str_const(m->type, type_vals, "?"));
        return static_cast<int>(len);
    }
    if (m->type != 0x05) return static_cast<int>(len);
    proto_item* size_item = proto_tree_add_item(st, hf_resp_size, tvb, 1, 2, ENC_LITTLE_ENDIAN);
    if (m->truncated) expert_add_info(pinfo, size_item, &ei_truncated);
    if (m->dac_response) {
        proto_tree_add_item(st, hf_dac_version, tvb, 3, 1, ENC_NA);
        proto_tree_add_item(st, hf_dac_port, tvb, 4, 2, ENC_LITTLE_ENDIAN);
        return static_cast<int>(len);
    }
    const guint data_len = len > 3 ? MIN(len - 3, static_cast<guint>(m->resp_size)) : 0;
    if (data_len > 0) proto_tree_add_item(st, hf_resp_data, tvb, 3, data_len, ENC_ASCII);
    for (guint i = 0; i < m->ninst; ++i) {
        const PlainInstance& in = m->inst[i];
        proto_item* ii = proto_tree_add_item(st, hf_instance, tvb, in.off, in.len, ENC_NA);
        proto_item_append_text(ii, ": %s", in.name);
        if (in.tcp_port >= 0) proto_item_append_text(ii, ", TCP port %d", in.tcp_port);
        proto_tree* it = proto_item_add_subtree(ii, ett_instance);
        for (guint k = 0; k < in.ntokens; ++k) {
            const PlainToken& t = in.tokens[k];
            if (t.hf == hf_tcp_port) {
                // The port is text ("1433"): shown as a number so that ssrp.tcp_port == 1433 works.
                const gint port = in.tcp_port;
                if (port >= 0)
                    proto_tree_add_uint(it, hf_tcp_port, tvb, t.val_off, t.val_len, static_cast<guint32>(port));
            } else if (t.hf == hf_other) {
                proto_tree_add_item(it, hf_other, tvb, t.key_off, t.val_off + t.val_len - t.key_off, ENC_ASCII);
            } else {
                proto_tree_add_item(it, t.hf, tvb, t.val_off, t.val_len, ENC_ASCII);
            }
        }
    }
    if (m->ninst == 0 && data_len > 0) expert_add_info(pinfo, ti, &ei_unknown);
    return static_cast<int>(len);
}

}  // namespace

const SsrpFrame* ssrp_frame(packet_info* pinfo) {
    if (proto_ssrp == -1) return nullptr;
    return static_cast<const SsrpFrame*>(p_get_proto_data(pinfo->pool, pinfo, proto_ssrp, 0));
}

void register_ssrp() {
    static hf_register_info hf[] = {
        {&hf_type, {"Message type", "ssrp.type", FT_UINT8, BASE_HEX, VALS(type_vals), 0x0,
                    "SSRP message type: a client request (0x02, 0x03, 0x04, 0x0f) or the SQL Browser's answer (0x05)",
                    HFILL}},
        {&hf_request_instance, {"Requested instance", "ssrp.request.instance", FT_STRING, BASE_NONE, nullptr, 0x0,
                                "Instance name the client asks the SQL Browser for", HFILL}},
        {&hf_dac_version, {"DAC protocol version", "ssrp.dac_version", FT_UINT8, BASE_DEC, nullptr, 0x0,
                           "Protocol version of a CLNT_UCAST_DAC request or its answer (1)", HFILL}},
        {&hf_resp_size, {"Response size", "ssrp.resp_size", FT_UINT16, BASE_DEC, nullptr, 0x0,
                         "Length of the answer's data (RESP_SIZE)", HFILL}},
        {&hf_resp_data, {"Response data", "ssrp.resp_data", FT_STRING, BASE_NONE, nullptr, 0x0,
                         "The answer's text: ServerName;...;InstanceName;...;tcp;port;; per instance", HFILL}},
        {&hf_dac_port, {"DAC TCP port", "ssrp.dac_port", FT_UINT16, BASE_DEC, nullptr, 0x0,
                        "TCP port of the dedicated administrator connection", HFILL}},
        {&hf_instance, {"Instance", "ssrp.instance", FT_NONE, BASE_NONE, nullptr, 0x0,
                        "One instance of the SQL Browser's answer", HFILL}},
        {&hf_server_name, {"Server name", "ssrp.server_name", FT_STRING, BASE_NONE, nullptr, 0x0,
                           "Name of the machine the instance runs on", HFILL}},
        {&hf_instance_name, {"Instance name", "ssrp.instance_name", FT_STRING, BASE_NONE, nullptr, 0x0,
                             "Name of the instance (MSSQLSERVER for the default instance)", HFILL}},
        {&hf_is_clustered, {"Clustered", "ssrp.is_clustered", FT_STRING, BASE_NONE, nullptr, 0x0,
                            "Whether the instance is clustered (Yes/No)", HFILL}},
        {&hf_version, {"Version", "ssrp.version", FT_STRING, BASE_NONE, nullptr, 0x0,
                       "SQL Server version of the instance", HFILL}},
        {&hf_tcp_port, {"TCP port", "ssrp.tcp_port", FT_UINT16, BASE_DEC, nullptr, 0x0,
                        "TCP port the instance listens on: the port of the connection that follows", HFILL}},
        {&hf_pipe, {"Named pipe", "ssrp.np", FT_STRING, BASE_NONE, nullptr, 0x0,
                    "Named pipe of the instance", HFILL}},
        {&hf_other, {"Other protocol", "ssrp.protocol", FT_STRING, BASE_NONE, nullptr, 0x0,
                     "Another key;value pair of the instance (via, rpc, spx, adsp, bv)", HFILL}},
    };
    static gint* ett[] = {&ett_ssrp, &ett_instance};
    static ei_register_info ei[] = {
        {&ei_truncated, {"ssrp.resp_size.truncated", PI_MALFORMED, PI_WARN,
                         "The answer claims more data than the datagram holds (cut by the snap length?)", EXPFILL}},
        {&ei_unknown, {"ssrp.resp_data.unparsed", PI_UNDECODED, PI_NOTE,
                       "The answer's data holds no ServerName;...;; instance this dissector understands", EXPFILL}},
    };
    proto_ssrp = proto_register_protocol("SQL Server Resolution Protocol (SQL Browser)", "SSRP", "ssrp");
    proto_register_field_array(proto_ssrp, hf, G_N_ELEMENTS(hf));
    proto_register_subtree_array(ett, G_N_ELEMENTS(ett));
    expert_module_t* em = expert_register_protocol(proto_ssrp);
    expert_register_field_array(em, ei, G_N_ELEMENTS(ei));
    ssrp_handle = create_dissector_handle(dissect_ssrp, proto_ssrp);
}

void handoff_ssrp() {
    static gboolean done = FALSE;
    if (done) return;
    done = TRUE;
    dissector_add_uint_with_preference("udp.port", tdsdiag::kSsrpPort, ssrp_handle);
}

}  // namespace tdsdiag_plugin

// The statistics over the tdsdiag tap, which carries each frame of ours (FrameData): the reports
// (tshark -z tdsdiag,conv|csv|summary[,filter]), the table of Wireshark's Statistics menu (and
// tshark -z tdsdiag,connections), and the Flow Graph's sequence analysis (tshark -z flow,tdsdiag).
// Every row comes from the core (report.hpp); the taps only mark which connections a filter kept.
#include "statistics.hpp"

#include <epan/packet.h>
#include <epan/epan_dissect.h>
#include <epan/proto.h>
#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include "tdsdiag/analyzer.hpp"
#include "tdsdiag/report.hpp"
#include "file_state.hpp"
#include "registration.hpp"
#include "sequence_analysis_compat.hpp"
#include "version_compat.hpp"
#include "wanted_fields.hpp"

namespace tdsdiag_plugin {

int tdsdiag_tap = -1;

namespace {

// ---- statistics: tshark -z tdsdiag,conv|csv|summary[,filter] --------------------------------

enum class Report { Conv, Csv, Summary };

// Stream indexes are dense (0, 1, 2...): a bit per stream marks those seen, in constant time per frame.
struct StreamMarks {
    std::vector<bool> seen;
    void mark(guint32 id) {
        if (id >= seen.size()) seen.resize(std::max<size_t>(id + 1, seen.size() * 2), false);
        seen[id] = true;
    }
    bool marked(guint32 id) const { return id < seen.size() && seen[id]; }
};

struct TapContext {
    Report report;
    StreamMarks* streams;  // connections with at least one frame that passed the filter
    StreamMarks* lookups;  // SQL Browser lookups likewise
};

void tap_reset(void* data) {
    auto* ctx = static_cast<TapContext*>(data);
    if (ctx->streams) ctx->streams->seen.clear();
    if (ctx->lookups) ctx->lookups->seen.clear();
}

tap_packet_status tap_packet(void* data, packet_info*, epan_dissect_t*, const void* frame, tap_flags_t) {
    auto* ctx = static_cast<TapContext*>(data);
    const auto* fd = static_cast<const FrameData*>(frame);
    try {
        if (fd->kind == kKerberosFrame) {
            // A refusal counts for the connection tied to it (it has no row of its own).
            const std::optional<tdsdiag::KdcRefusal> r = g_file ? g_file->analyzer.refusal_now(fd->stream) : std::nullopt;
            if (r && r->conn_stream) ctx->streams->mark(*r->conn_stream);
        } else {
            (fd->kind == kBrowserFrame ? ctx->lookups : ctx->streams)->mark(fd->stream);
        }
    } catch (const std::exception&) {
        return TAP_PACKET_FAILED;
    }
    return TAP_PACKET_DONT_REDRAW;
}

void tap_draw(void* data) {
    auto* ctx = static_cast<TapContext*>(data);
    if (g_file == nullptr) return;
    try {
        // Row by row: a capture of a hundred thousand connections is not held as rows.
        tdsdiag::Selection only_seen;
        only_seen.stream = [ctx](uint32_t s) { return ctx->streams->marked(s); };
        only_seen.lookup = [ctx](uint32_t l) { return ctx->lookups->marked(l); };
        auto print = [](const std::string& text) { fwrite(text.data(), 1, text.size(), stdout); };
        switch (ctx->report) {
        case Report::Conv: {
            tdsdiag::ConvTable table;
            tdsdiag::for_each_row(g_file->analyzer, g_file->capture_start_ns, only_seen, [&](const tdsdiag::Row& r) { table.add(r); });
            table.write(print);
            break;
        }
        case Report::Csv:
            print(tdsdiag::csv_header());
            tdsdiag::for_each_row(g_file->analyzer, g_file->capture_start_ns, only_seen,
                                  [&](const tdsdiag::Row& r) { print(tdsdiag::csv_line(r)); });
            break;
        case Report::Summary: {
            tdsdiag::SummaryPage page;
            tdsdiag::for_each_row(g_file->analyzer, g_file->capture_start_ns, only_seen, [&](const tdsdiag::Row& r) { page.add(r); });
            print(page.text());
            break;
        }
        }
    } catch (const std::exception& e) {
        fprintf(stderr, "tdsdiag: cannot print the statistics: %s\n", e.what());
    }
}

void tap_finish(void* data) {
    auto* ctx = static_cast<TapContext*>(data);
    delete ctx->streams;
    delete ctx->lookups;
    delete ctx;
}

bool tap_init(Report report, const char* prefix, const char* opt_arg) {
    const char* filter = nullptr;
    const size_t n = strlen(prefix);
    if (strncmp(opt_arg, prefix, n) == 0 && opt_arg[n] == ',') filter = opt_arg + n + 1;
    auto* ctx = new TapContext{report, new StreamMarks(), new StreamMarks()};
    GString* err = register_tap_listener("tdsdiag", ctx, filter, TL_REQUIRES_NOTHING, tap_reset, tap_packet, tap_draw,
                                         tap_finish);
    if (err != nullptr) {
        fprintf(stderr, "tdsdiag: cannot start the %s statistics: %s\n", prefix, err->str);
        g_string_free(err, TRUE);
        tap_finish(ctx);
        return false;
    }
    return true;
}

tdsdiag_stat_tap_init_result tap_init_conv(const char* opt_arg, void*) { TDSDIAG_STAT_TAP_INIT_RETURN(tap_init(Report::Conv, "tdsdiag,conv", opt_arg)); }
tdsdiag_stat_tap_init_result tap_init_csv(const char* opt_arg, void*) { TDSDIAG_STAT_TAP_INIT_RETURN(tap_init(Report::Csv, "tdsdiag,csv", opt_arg)); }
tdsdiag_stat_tap_init_result tap_init_summary(const char* opt_arg, void*) { TDSDIAG_STAT_TAP_INIT_RETURN(tap_init(Report::Summary, "tdsdiag,summary", opt_arg)); }

// ---- the same table in Wireshark's Statistics menu (and tshark -z tdsdiag,connections) ---------

// Its columns, from the core's list of the table's columns (filled at registration).
std::vector<stat_tap_table_item> conn_table_fields;
guint conn_table_nfields = 0;

void make_conn_table_fields() {
    for (const tdsdiag::GuiColumn& c : tdsdiag::gui_columns()) {
        const stat_tap_table_item_enum type = c.kind == tdsdiag::GuiColumn::Whole     ? TABLE_ITEM_UINT
                                              : c.kind == tdsdiag::GuiColumn::Decimal ? TABLE_ITEM_FLOAT
                                                                                      : TABLE_ITEM_STRING;
        conn_table_fields.push_back({type, c.right_aligned ? TAP_ALIGN_RIGHT : TAP_ALIGN_LEFT, c.title, c.format});
    }
    conn_table_nfields = static_cast<guint>(conn_table_fields.size());
}
const char* const kConnTableName = "SQL Server connections";

void conn_table_init(stat_tap_table_ui* ui) {
    stat_tap_table* table = stat_tap_find_table(ui, kConnTableName);
    if (table != nullptr) {
        if (ui->stat_tap_reset_table_cb) ui->stat_tap_reset_table_cb(table);
        return;
    }
    table = stat_tap_init_table(kConnTableName, conn_table_nfields, 0, "tcp.stream == %d");
    stat_tap_add_table(ui, table);
}

void conn_table_free_item(stat_tap_table*, guint, guint, stat_tap_table_item_type* item) {
    if (item->type == TABLE_ITEM_STRING) g_free(const_cast<char*>(item->value.string_value));
}

// Row of each connection per open table, so a packet finds its row without a scan.
std::unordered_map<const stat_tap_table*, std::unordered_map<guint32, guint>> g_conn_rows;

void conn_table_reset(stat_tap_table* table) {
    g_conn_rows.erase(table);
    for (guint row = 0; row < table->num_elements; ++row)
        for (guint col = 0; col < table->num_fields; ++col)
            conn_table_free_item(table, row, col, &table->elements[row][col]);
    // Rows are rebuilt on the next retap; emptying the table keeps it in step with the capture.
    for (guint row = 0; row < table->num_elements; ++row) g_free(table->elements[row]);
    g_free(table->elements);
    table->elements = nullptr;
    table->num_elements = 0;
}

// The row's cells (conn_table_nfields of them, strings g_malloc'd), computed away from the tap's C frames.
gboolean conn_cells(guint32 stream, stat_tap_table_item_type* items) {
    if (g_file == nullptr) return FALSE;
    try {
        const tdsdiag::Connection* c = g_file->analyzer.find(stream);
        if (c == nullptr) return FALSE;
        const std::vector<tdsdiag::GuiCell> cells =
            tdsdiag::gui_cells(tdsdiag::make_row(g_file->analyzer, *c, g_file->capture_start_ns));
        for (guint i = 0; i < conn_table_nfields && i < cells.size(); ++i) {
            items[i].type = conn_table_fields[i].type;
            if (items[i].type == TABLE_ITEM_UINT)
                items[i].value.uint_value = cells[i].whole;
            else if (items[i].type == TABLE_ITEM_FLOAT)
                items[i].value.float_value = cells[i].decimal;
            else
                items[i].value.string_value = g_strdup(cells[i].text.c_str());
        }
        return TRUE;
    } catch (const std::exception&) {
        return FALSE;
    }
}

tap_packet_status conn_table_packet(void* data, packet_info*, epan_dissect_t*, const void* frame, tap_flags_t) {
    auto* stat = static_cast<stat_data_t*>(data);
    const auto* fd = static_cast<const FrameData*>(frame);
    if (fd->kind != kTcpFrame) return TAP_PACKET_DONT_REDRAW;  // the GUI table lists TCP connections only
    stat_tap_table* table = g_array_index(stat->stat_tap_data->tables, stat_tap_table*, 0);
    // One row per connection: find it by its stream, or append it.
    guint row = table->num_elements;
    try {
        row = g_conn_rows[table].emplace(fd->stream, table->num_elements).first->second;
    } catch (const std::exception&) {
        return TAP_PACKET_FAILED;
    }
    stat_tap_table_item_type* items = g_new0(stat_tap_table_item_type, conn_table_nfields);
    if (!conn_cells(fd->stream, items)) {
        g_free(items);
        return TAP_PACKET_DONT_REDRAW;
    }
    if (row == table->num_elements) {
        stat_tap_init_table_row(table, row, conn_table_nfields, items);
    } else {
        for (guint col = 0; col < conn_table_nfields; ++col) {
            conn_table_free_item(table, row, col, stat_tap_get_field_data(table, row, col));
            stat_tap_set_field_data(table, row, col, &items[col]);
        }
    }
    g_free(items);
    return TAP_PACKET_REDRAW;
}


// ---- the Flow Graph (Statistics > Flow Graph, tshark -z flow,tdsdiag,standard) ----------------
// One arrow per frame of a SQL Server connection: what the frame is on the arrow, its step and
// diagnoses as the comment. Runs only when the dialog or -z flow asks: its tap listener asks for the
// protocol tree, and the frame's names are read from it then.

// The fields the labels are made from, looked up on the first use.
struct FlowFields {
    bool looked = false;
    int tds_type = -1, tds_loginack = -1, tds_error = -1, tls_handshake = -1, tls_alert = -1,
        tls_content = -1;
};
FlowFields g_flow;

void look_up_flow_fields() {
    if (g_flow.looked) return;
    g_flow.looked = true;
    g_flow.tds_type = proto_registrar_get_id_byname("tds.type");
    g_flow.tds_loginack = proto_registrar_get_id_byname("tds.loginack");
    g_flow.tds_error = proto_registrar_get_id_byname("tds.error.number");
    g_flow.tls_handshake = proto_registrar_get_id_byname("tls.handshake.type");
    g_flow.tls_alert = proto_registrar_get_id_byname("tls.alert_message.desc");
    g_flow.tls_content = proto_registrar_get_id_byname("tls.record.content_type");
}

// The values of a field in the frame's tree, in order (none without a tree or the field).
GPtrArray* finfos(proto_tree* tree, int hf) {
    return (tree == nullptr || hf < 0) ? nullptr : proto_find_finfo(tree, hf);
}
guint32 uint_of(field_info* fi) { return fvalue_get_uinteger(TDSDIAG_FVALUE(fi)); }

const char* tls_handshake_name(guint32 type) {
    switch (type) {
    case 1: return "ClientHello";
    case 2: return "ServerHello";
    case 4: return "NewSessionTicket";
    case 8: return "EncryptedExtensions";
    case 11: return "Certificate";
    case 12: return "ServerKeyExchange";
    case 13: return "CertificateRequest";
    case 14: return "ServerHelloDone";
    case 15: return "CertificateVerify";
    case 16: return "ClientKeyExchange";
    case 20: return "Finished";
    }
    return nullptr;
}

const char* tds_type_name(guint32 type) {
    switch (type) {
    case 0x01: return "SQL batch";
    case 0x03: return "RPC";
    case 0x06: return "Attention";
    case 0x07: return "Bulk load";
    case 0x0e: return "Transaction manager";
    case 0x10: return "Login7";
    case 0x11: return "SSPI";
    case 0x12: return "PRELOGIN";
    }
    return nullptr;
}

// What the frame is, from its tree: "SYN", "PRELOGIN", "ClientHello", "Login7", "LOGINACK",
// "Error 18456", "FIN", "RST"... (g_malloc'd).
gchar* flow_label(proto_tree* tree, guint32 tcp_flags, guint8 step) {
    look_up_flow_fields();
    GString* label = g_string_new(nullptr);
    const auto add = [label](const char* what) {
        if (label->len != 0) g_string_append(label, ", ");
        g_string_append(label, what);
    };
    guint32 flags = tcp_flags;
    if (flags & 0x04) add("RST");
    if ((flags & 0x02) && (flags & 0x10)) add("SYN/ACK");
    else if (flags & 0x02) add("SYN");
    if (GPtrArray* a = finfos(tree, g_flow.tls_handshake)) {
        for (guint i = 0; i < a->len; ++i) {
            const char* name = tls_handshake_name(uint_of(static_cast<field_info*>(g_ptr_array_index(a, i))));
            if (name != nullptr) add(name);
        }
        g_ptr_array_free(a, TRUE);
    }
    if (GPtrArray* a = finfos(tree, g_flow.tls_alert)) {
        if (a->len != 0) {
            gchar* alert = g_strdup_printf("TLS alert %u", uint_of(static_cast<field_info*>(g_ptr_array_index(a, 0))));
            add(alert);
            g_free(alert);
        }
        g_ptr_array_free(a, TRUE);
    }
    bool answered = false;
    if (GPtrArray* a = finfos(tree, g_flow.tds_error)) {
        for (guint i = 0; i < a->len; ++i) {
            gchar* error = g_strdup_printf("Error %u", uint_of(static_cast<field_info*>(g_ptr_array_index(a, i))));
            add(error);
            g_free(error);
            answered = true;
        }
        g_ptr_array_free(a, TRUE);
    }
    if (GPtrArray* a = finfos(tree, g_flow.tds_loginack)) {
        if (a->len != 0) {
            add("LOGINACK");
            answered = true;
        }
        g_ptr_array_free(a, TRUE);
    }
    if (GPtrArray* a = finfos(tree, g_flow.tds_type)) {
        if (a->len != 0) {
            const guint32 type = uint_of(static_cast<field_info*>(g_ptr_array_index(a, 0)));
            const char* name = tds_type_name(type);
            // A TLS handshake in PRELOGIN packets (TDS 7.x) is named by its TLS messages.
            if (name != nullptr && !(type == 0x12 && label->len != 0)) add(name);
            else if (type == 0x04 && !answered) add(step == 2 ? "PRELOGIN response" : "Response");
        }
        g_ptr_array_free(a, TRUE);
    }
    if (label->len == 0) {
        bool tls_data = false;
        if (GPtrArray* a = finfos(tree, g_flow.tls_content)) {
            tls_data = a->len != 0;
            g_ptr_array_free(a, TRUE);
        }
        if (tls_data) add("TLS data");
    }
    if (flags & 0x01) add("FIN");
    if (label->len == 0) add((flags & 0x10) ? "ACK" : "data");
    return g_string_free(label, FALSE);
}

// The frame's step and diagnoses, as the Flow Graph's comment (g_malloc'd).
gchar* flow_comment(guint32 frame, const FrameData* fd) {
    GString* comment = g_string_new(nullptr);
    if (fd->step != kNoStep)
        g_string_append_printf(comment, "Step %u %s", fd->step, tdsdiag::step_name(static_cast<tdsdiag::Step>(fd->step)));
    if (fd->n_diags != 0 && g_file != nullptr) {
        try {
            if (const tdsdiag::Connection* c = g_file->analyzer.find(fd->stream)) {
                const char* sep = comment->len != 0 ? ": " : "";
                for (const tdsdiag::Diagnosis& d : c->diagnoses_on(frame, true)) {
                    g_string_append_printf(comment, "%s%s", sep, tdsdiag::code_info(d.code).name);
                    sep = ", ";
                }
            }
        } catch (const std::exception&) {
            // Out of memory: the comment names the step only.
        }
    }
    return g_string_free(comment, FALSE);
}

tap_packet_status flow_packet(void* data, packet_info* pinfo, epan_dissect_t* edt, const void* frame, tap_flags_t) {
    auto* sainfo = static_cast<TDSDIAG_SEQ_INFO*>(data);
    const auto* fd = static_cast<const FrameData*>(frame);
    if (fd->kind != kTcpFrame) return TAP_PACKET_DONT_REDRAW;  // SQL Server connections only
    TDSDIAG_SEQ_ITEM* sai = sequence_analysis_create_sai_with_addresses(pinfo, sainfo);
    if (sai == nullptr) return TAP_PACKET_DONT_REDRAW;
    sai->frame_number = pinfo->num;
    sai->port_src = static_cast<guint16>(pinfo->srcport);
    sai->port_dst = static_cast<guint16>(pinfo->destport);
    tdsdiag::TcpHeaderAt h;
    const guint32 flags = edt != nullptr && locate_tcp(edt->tvb, pinfo, h) ? h.flags : 0;
    sai->frame_label = flow_label(edt != nullptr ? edt->tree : nullptr, flags, fd->step);
    sai->comment = flow_comment(pinfo->num, fd);
    sai->conv_num = static_cast<guint16>(fd->stream);
    sai->display = TRUE;
    g_queue_push_tail(sainfo->items, sai);
    return TAP_PACKET_REDRAW;
}

}  // namespace

void register_statistics() {
    tdsdiag_tap = register_tap("tdsdiag");
    static stat_tap_ui conv_ui = {REGISTER_STAT_GROUP_GENERIC, "SQL Server connections", "tdsdiag,conv", tap_init_conv, 0, nullptr};
    static stat_tap_ui csv_ui = {REGISTER_STAT_GROUP_GENERIC, "SQL Server connections (CSV)", "tdsdiag,csv", tap_init_csv, 0, nullptr};
    static stat_tap_ui summary_ui = {REGISTER_STAT_GROUP_GENERIC, "SQL Server connections summary", "tdsdiag,summary",
                                     tap_init_summary, 0, nullptr};
    register_stat_tap_ui(&conv_ui, nullptr);
    register_stat_tap_ui(&csv_ui, nullptr);
    register_stat_tap_ui(&summary_ui, nullptr);
    // REGISTER_PACKET_STAT_GROUP_UNSORTED: the group Wireshark's Statistics menu lists (GENERIC is CLI-only).
    make_conn_table_fields();
    static stat_tap_table_ui conn_table_ui = {REGISTER_PACKET_STAT_GROUP_UNSORTED,
                                              "SQL Server Connections (tdsdiag)",
                                              "tdsdiag",
                                              "tdsdiag,connections",
                                              conn_table_init,
                                              conn_table_packet,
                                              conn_table_reset,
                                              conn_table_free_item,
                                              nullptr,
                                              conn_table_nfields,
                                              conn_table_fields.data(),
                                              0,
                                              nullptr,
                                              nullptr,
                                              0};
    register_stat_tap_table_ui(&conn_table_ui);
    // The Flow Graph's own sequence analysis; the tree is built only while it listens.
    register_seq_analysis("tdsdiag", "SQL Server connections (tdsdiag)", proto_tdsdiag, "tdsdiag",
                          TL_REQUIRES_PROTO_TREE, flow_packet);
}

}  // namespace tdsdiag_plugin

// The statistics over the tdsdiag tap, which carries each frame of ours (FrameData): the reports
// (tshark -z tdsdiag,conv|csv|summary[,filter]), the table of Wireshark's Statistics menu (and
// tshark -z tdsdiag,connections), and the Flow Graph's sequence analysis (tshark -z flow,tdsdiag).
// Every row comes from the core (report.hpp); the taps only mark which connections a filter kept.
#include "statistics.hpp"

#include <epan/packet.h>
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
#include "tdsdiag/packet.hpp"
#include "tdsdiag/report.hpp"
#include "file_state.hpp"
#include "registration.hpp"
#include "sequence_analysis_compat.hpp"
#include "version_compat.hpp"

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
        if (fd->kind == kDnsFrame) {
            // A DNS lookup has no row of its own (its connection shows its name and time).
        } else if (fd->kind == kKerberosFrame) {
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
// diagnoses as the comment. Runs only when the dialog or -z flow asks, from the two bytes a frame the
// first pass keeps (FrameData::flow_flags, flow_what): later passes do not prime the fields.

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

// The server's error number on the frame, from the login_failed finding there; 0 if none.
guint32 error_number(const tdsdiag::Connection* c, guint32 frame) {
    if (c == nullptr) return 0;
    for (const tdsdiag::Finding& f : c->findings())
        if (f.frame == frame && f.evidence.error) return f.evidence.error->number;
    return 0;
}

// What the frame is, from the marks its first pass kept: "SYN", "PRELOGIN", "ClientHello", "Login7",
// "LOGINACK", "Error 18456", "FIN", "RST"... (g_malloc'd).
gchar* flow_label(const FrameData* fd, const tdsdiag::Connection* c, guint32 frame) {
    GString* label = g_string_new(nullptr);
    const auto add = [label](const char* what) {
        if (label->len != 0) g_string_append(label, ", ");
        g_string_append(label, what);
    };
    const guint8 flags = fd->flow_flags;
    const guint8 what = fd->flow_what;
    if (flags & tdsdiag::kRst) add("RST");
    if ((flags & tdsdiag::kSyn) && (flags & tdsdiag::kAck)) add("SYN/ACK");
    else if (flags & tdsdiag::kSyn) add("SYN");
    if (what & kFlowTls) {
        const char* name = tls_handshake_name(what & ~kFlowTls);
        add(name != nullptr ? name : "TLS handshake");
    }
    if (flags & kFlowTlsAlert) add("TLS alert");
    if (flags & kFlowError) {
        const guint32 number = error_number(c, frame);
        if (number != 0) {
            gchar* error = g_strdup_printf("Error %u", number);
            add(error);
            g_free(error);
        } else {
            add("Error");
        }
    }
    if (flags & kFlowLoginAck) add("LOGINACK");
    if (!(what & kFlowTls) && what != 0) {
        if (what == kFlowTlsData) {
            if (label->len == 0) add("TLS data");
        } else if (const char* name = tds_type_name(what)) {
            add(name);
        } else if (what == tdsdiag::kTdsResponse && !(flags & (kFlowError | kFlowLoginAck))) {
            add(fd->step == static_cast<guint8>(tdsdiag::Step::Prelogin) ? "PRELOGIN response" : "Response");
        }
    }
    if (flags & tdsdiag::kFin) add("FIN");
    if (label->len == 0) add((flags & tdsdiag::kAck) ? "ACK" : "TCP");
    return g_string_free(label, FALSE);
}

// The frame's step and diagnoses, as the Flow Graph's comment (g_malloc'd): what the frame's tree
// shows (frames.cpp), i.e. the first pass's diagnoses while the file is read, the core's current ones
// afterwards, and the better step of a split Login7's first segments.
gchar* flow_comment(packet_info* pinfo, const FrameData* fd) {
    GString* comment = g_string_new(nullptr);
    try {
        const tdsdiag::Connection* c = g_file != nullptr ? g_file->analyzer.find(fd->stream) : nullptr;
        const bool visited = PINFO_FD_VISITED(pinfo);
        const tdsdiag::Relabel* r = visited && c != nullptr ? c->relabel(pinfo->num) : nullptr;
        const guint8 step = r != nullptr ? static_cast<guint8>(r->step) : fd->step;
        if (step != kNoStep)
            g_string_append_printf(comment, "Step %u %s", step, tdsdiag::step_name(static_cast<tdsdiag::Step>(step)));
        const char* sep = comment->len != 0 ? ": " : "";
        if (!visited) {
            for (guint i = 0; i < fd->n_diags && fd->diags != nullptr; ++i) {
                g_string_append_printf(comment, "%s%s",
                                       sep, tdsdiag::code_info(static_cast<tdsdiag::Code>(fd->diags[i].code)).name);
                sep = ", ";
            }
        } else if (diagnoses_may_change(fd) && c != nullptr) {
            for (const tdsdiag::Diagnosis& d : c->diagnoses_on(pinfo->num, true)) {
                g_string_append_printf(comment, "%s%s", sep, tdsdiag::code_info(d.code).name);
                sep = ", ";
            }
        }
    } catch (const std::exception&) {
        // Out of memory: the comment says what it has.
    }
    return g_string_free(comment, FALSE);
}

tap_packet_status flow_packet(void* data, packet_info* pinfo, epan_dissect_t*, const void* frame, tap_flags_t) {
    auto* sainfo = static_cast<TDSDIAG_SEQ_INFO*>(data);
    const auto* fd = static_cast<const FrameData*>(frame);
    if (fd->kind != kTcpFrame) return TAP_PACKET_DONT_REDRAW;  // SQL Server connections only
    TDSDIAG_SEQ_ITEM* sai = sequence_analysis_create_sai_with_addresses(pinfo, sainfo);
    if (sai == nullptr) return TAP_PACKET_DONT_REDRAW;
    const tdsdiag::Connection* c = g_file != nullptr ? g_file->analyzer.find(fd->stream) : nullptr;
    sai->frame_number = pinfo->num;
    sai->port_src = static_cast<guint16>(pinfo->srcport);
    sai->port_dst = static_cast<guint16>(pinfo->destport);
    sai->frame_label = flow_label(fd, c, pinfo->num);
    sai->comment = flow_comment(pinfo, fd);
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
    // The Flow Graph's own sequence analysis: it needs no tree, only what the first pass kept.
    register_seq_analysis("tdsdiag", "SQL Server connections (tdsdiag)", proto_tdsdiag, "tdsdiag",
                          TL_REQUIRES_NOTHING, flow_packet);
}

}  // namespace tdsdiag_plugin

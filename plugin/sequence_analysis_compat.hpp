// Wireshark's sequence analysis API (the Flow Graph, tshark -z flow,NAME): epan/sequence_analysis.h.
// libwireshark exports it in every release tdsdiag supports, but the Debian and Ubuntu development
// packages (4.0 to 4.6) do not ship the header, so the part tdsdiag uses is declared here. Where the
// header is installed (a Wireshark built from source), it is used instead.
//
// The item is only ever allocated by libwireshark (sequence_analysis_create_sai_with_addresses, which
// zeroes it) and freed by it, so tdsdiag declares only the leading members, up to `display`, the last
// it writes. 4.4 turned has_color_filter and display from gboolean into bool, which moves display.
// Checked against the releases' binaries (objdump of libwireshark.so.16, .18 and .19):
// sequence_analysis_create_sai_with_addresses writes src_addr at 8, dst_addr at 40 and time_str at
// 80, sequence_analysis_use_col_info_as_label_comment frame_label at 72 and comment at 88,
// sequence_analysis_use_color_filter fg_color at 100 and has_color_filter at 108 (4 bytes in 4.0, 1
// from 4.4), sequence_analysis_get_nodes reads display at 112 (4.0) or 109 (4.4, 4.6), and
// sequence_analysis_list_sort reads the info's items at 16: the offsets asserted below (64-bit builds).
#pragma once

#include <epan/address.h>
#include <epan/packet_info.h>
#include <epan/tap.h>
#include <glib.h>

#include <cstddef>

#include "version_compat.hpp"

#if __has_include(<epan/sequence_analysis.h>)
#include <epan/sequence_analysis.h>
#define TDSDIAG_SEQ_ITEM seq_analysis_item_t
#define TDSDIAG_SEQ_INFO seq_analysis_info_t
#else
extern "C" {
// The leading members of seq_analysis_item_t.
struct tdsdiag_seq_item {
    guint32 frame_number;
    address src_addr;
    guint16 port_src;
    address dst_addr;
    guint16 port_dst;
    gchar* frame_label;  // the label on the arrow (g_malloc'd; freed by Wireshark)
    gchar* time_str;
    gchar* comment;      // the text right of the graph (g_malloc'd; freed by Wireshark)
    guint16 conv_num;    // the conversation: items of one conversation share a colour
    unsigned fg_color;
    unsigned bg_color;
#if TDSDIAG_WS_AT_LEAST(4, 4)
    bool has_color_filter;
    bool display;        // shown in the graph
#else
    gboolean has_color_filter;
    gboolean display;    // shown in the graph
#endif
};
// The leading members of seq_analysis_info_t.
struct tdsdiag_seq_info {
    const char* name;
    int any_addr_;  // gboolean in 4.0 and 4.2, bool in 4.4 and later: never read here
    int nconv;
    GQueue* items;  // of seq_analysis_item_t
};
struct _packet_info;
void register_seq_analysis(const char* name, const char* ui_name, const int proto_id, const char* tap_listener,
                           guint tap_flags, tap_packet_cb tap_func);
tdsdiag_seq_item* sequence_analysis_create_sai_with_addresses(struct _packet_info* pinfo, tdsdiag_seq_info* sainfo);
}
#define TDSDIAG_SEQ_ITEM tdsdiag_seq_item
#define TDSDIAG_SEQ_INFO tdsdiag_seq_info
#endif

static_assert(sizeof(void*) != 8 || (offsetof(TDSDIAG_SEQ_ITEM, src_addr) == 8 && offsetof(TDSDIAG_SEQ_ITEM, dst_addr) == 40 &&
                  offsetof(TDSDIAG_SEQ_ITEM, frame_label) == 72 && offsetof(TDSDIAG_SEQ_ITEM, time_str) == 80 &&
                  offsetof(TDSDIAG_SEQ_ITEM, comment) == 88 && offsetof(TDSDIAG_SEQ_ITEM, conv_num) == 96 &&
                  offsetof(TDSDIAG_SEQ_ITEM, display) == (TDSDIAG_WS_AT_LEAST(4, 4) ? 109 : 112)),
              "seq_analysis_item_t's leading members moved: check epan/sequence_analysis.h of this release");
static_assert(sizeof(void*) != 8 || offsetof(TDSDIAG_SEQ_INFO, items) == 16,
              "seq_analysis_info_t's items moved: check epan/sequence_analysis.h of this release");

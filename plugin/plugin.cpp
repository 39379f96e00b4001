// The symbols Wireshark's plugin loader looks for. In C++ a namespace-scope const has internal
// linkage, so each is declared extern "C" and exported explicitly.
#define WS_BUILD_DLL
#include <ws_symbol_export.h>

#include <epan/proto.h>

#include "version_compat.hpp"

#if TDSDIAG_WS_AT_LEAST(4, 4)
#include <wsutil/plugins.h>  // WS_PLUGIN_DESC_*
#endif

#ifndef TDSDIAG_VERSION
#define TDSDIAG_VERSION "0.0.0"
#endif

extern "C" WS_DLL_PUBLIC_DEF const gchar plugin_version[] = TDSDIAG_VERSION;
extern "C" WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
extern "C" WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

extern "C" {
WS_DLL_PUBLIC void plugin_register(void);
#if TDSDIAG_WS_AT_LEAST(4, 4)
// 4.4's loader also asks what kind of plugin this is: tdsdiag dissects (a postdissector) and
// listens to its own tap for the statistics (-z tdsdiag,...), as Wireshark's own plugins say
// with these flags (mate and transum: dissector; stats_tree: tap listener).
WS_DLL_PUBLIC uint32_t plugin_describe(void);
#endif

void proto_register_tdsdiag(void);
void proto_reg_handoff_tdsdiag(void);

void plugin_register(void) {
    static proto_plugin plug;
    plug.register_protoinfo = proto_register_tdsdiag;
    plug.register_handoff = proto_reg_handoff_tdsdiag;
    proto_register_plugin(&plug);
}

#if TDSDIAG_WS_AT_LEAST(4, 4)
uint32_t plugin_describe(void) { return WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER; }
#endif
}

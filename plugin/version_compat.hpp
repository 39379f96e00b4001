// Everything in plugin/ that depends on the Wireshark release lives here (and the registration in
// plugin.cpp): each difference is keyed on WIRESHARK_VERSION_MAJOR/MINOR, and the rest of plugin/
// calls the names below. Supported: 4.0, 4.2, 4.4 and 4.6 (CMakeLists.txt checks the same list).
//
// Checked against the installed headers of 4.0 (Debian 12), 4.4 (Debian 13) and 4.6 (Debian
// unstable). 4.2 is not installable here: its column follows the releases around it, and the
// static_asserts at the end check every choice against the headers, so a wrong one stops the
// build with a message instead of building something else; plugin/*.cpp pass g++ -fsyntax-only
// (warnings as errors) against the headers of Wireshark 4.2.6's source tree.
#pragma once

#include <ws_version.h>

#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto.h>
#include <epan/stat_tap_ui.h>
#include <epan/tvbuff.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#define TDSDIAG_WS_AT_LEAST(major, minor) \
    (WIRESHARK_VERSION_MAJOR > (major) || (WIRESHARK_VERSION_MAJOR == (major) && WIRESHARK_VERSION_MINOR >= (minor)))

#if WIRESHARK_VERSION_MAJOR != 4 ||                                                                  \
    (WIRESHARK_VERSION_MINOR != 0 && WIRESHARK_VERSION_MINOR != 2 && WIRESHARK_VERSION_MINOR != 4 && \
     WIRESHARK_VERSION_MINOR != 6)
#error "tdsdiag supports Wireshark 4.0, 4.2, 4.4 and 4.6; see README (Porting) for adding a release"
#endif

// ---- headers that moved ----------------------------------------------------------------------
#if TDSDIAG_WS_AT_LEAST(4, 6)
#include <wsutil/str_util.h>      // format_text
#include <wsutil/value_string.h>  // 4.6 moved value_string from epan/ to wsutil/
#elif TDSDIAG_WS_AT_LEAST(4, 2)
#include <epan/value_string.h>
#include <wsutil/str_util.h>
#else
#include <epan/strutil.h>  // 4.0: format_text is declared here
#include <epan/value_string.h>
#endif

// ---- field values ------------------------------------------------------------------------------
// 4.0: a field_info holds its value inline (fi->value); 4.2 made it a pointer (fvalue_t*).
#if TDSDIAG_WS_AT_LEAST(4, 2)
#define TDSDIAG_FVALUE(fi) ((fi)->value)
#else
#define TDSDIAG_FVALUE(fi) (&(fi)->value)
#endif

// ---- tvb accessors -------------------------------------------------------------------------------
// 4.4 deprecated tvb_get_guint8 for tvb_get_uint8 (a warning, so an error with -Werror).
#if TDSDIAG_WS_AT_LEAST(4, 4)
#define TDSDIAG_TVB_GET_U8(tvb, offset) tvb_get_uint8((tvb), (offset))
#else
#define TDSDIAG_TVB_GET_U8(tvb, offset) tvb_get_guint8((tvb), (offset))
#endif

// ---- text ----------------------------------------------------------------------------------------
// format_text() takes the text as const guchar* in 4.0 and as const char* from 4.2 on.
#if TDSDIAG_WS_AT_LEAST(4, 2)
using tdsdiag_format_text_char = char;
#else
using tdsdiag_format_text_char = guchar;
#endif
inline const char* tdsdiag_format_text(wmem_allocator_t* pool, const std::string& s) {
    return format_text(pool, reinterpret_cast<const tdsdiag_format_text_char*>(s.data()), s.size());
}

// ---- preferences ---------------------------------------------------------------------------------
// A boolean preference's variable: gboolean up to 4.2, bool from 4.4 on.
#if TDSDIAG_WS_AT_LEAST(4, 4)
using tdsdiag_pref_bool = bool;
#else
using tdsdiag_pref_bool = gboolean;
#endif

// ---- statistics (-z) -------------------------------------------------------------------------------
// A stat_tap_ui's init callback returns whether the tap started from 4.6 on; before, nothing.
// TDSDIAG_STAT_TAP_INIT_RETURN(ok) ends such a callback, `ok` saying whether the tap started.
#if TDSDIAG_WS_AT_LEAST(4, 6)
using tdsdiag_stat_tap_init_result = bool;
#define TDSDIAG_STAT_TAP_INIT_RETURN(ok) return (ok)
#else
using tdsdiag_stat_tap_init_result = void;
#define TDSDIAG_STAT_TAP_INIT_RETURN(ok) (void)(ok)
#endif

// ---- heuristic dissectors ---------------------------------------------------------------------------
// What a heuristic dissector returns (gboolean in 4.0, bool in later releases), taken from the
// release's own heur_dissector_t.
using tdsdiag_heur_result = decltype(std::declval<heur_dissector_t>()(nullptr, nullptr, nullptr, nullptr));

// ---- the choices above against this release's own headers ------------------------------------------
static_assert(std::is_same<decltype(&format_text),
                           char* (*)(wmem_allocator_t*, const tdsdiag_format_text_char*, size_t)>::value,
              "format_text() takes another text type in this Wireshark release: fix version_compat.hpp");
static_assert(std::is_same<decltype(&prefs_register_bool_preference),
                           void (*)(module_t*, const char*, const char*, const char*, tdsdiag_pref_bool*)>::value,
              "prefs_register_bool_preference() takes another variable type in this release: fix version_compat.hpp");
static_assert(std::is_same<stat_tap_init_cb, tdsdiag_stat_tap_init_result (*)(const char*, void*)>::value,
              "stat_tap_init_cb returns another type in this Wireshark release: fix version_compat.hpp");
static_assert(std::is_pointer<decltype(field_info::value)>::value == TDSDIAG_WS_AT_LEAST(4, 2),
              "field_info::value is not laid out as version_compat.hpp expects for this release");

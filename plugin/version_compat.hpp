// Everything in plugin/ that depends on the Wireshark release lives here, so that a port to
// another release (4.2, 4.4) changes this file and plugin.cpp only. Built against 4.0.
#pragma once

#include <ws_version.h>

#if WIRESHARK_VERSION_MAJOR != 4 || WIRESHARK_VERSION_MINOR != 0
#error "tdsdiag is written against the Wireshark 4.0 API; see README (Porting) for what changes in 4.2+"
#endif

// 4.0: field values live inline in field_info (fi->value) and are read with fvalue_get_*().
// 4.2 turned fi->value into a pointer and renamed the integer getters (fvalue_get_uinteger64 etc.).
#define TDSDIAG_FVALUE(fi) (&(fi)->value)

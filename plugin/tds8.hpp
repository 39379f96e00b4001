// TDS 8.0 (TLS first) on the SQL Server ports: see tds8.cpp.
#pragma once

#include <epan/range.h>
#include <glib.h>

namespace tdsdiag_plugin {

// At registration: the dispatcher's handle, under the tdsdiag protocol.
void register_tds8(int proto);
// At handoff and when preferences change: stand in front of TDS on `ports` (or not).
void handoff_tds8(const range_t* ports, gboolean enabled);

}  // namespace tdsdiag_plugin

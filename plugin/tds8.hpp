// Who gets a connection's bytes: TDS 8.0 (TLS first) on the SQL Server ports, and TDS on any other
// port whose client starts with a PRELOGIN or a Login7: see tds8.cpp.
#pragma once

#include <epan/packet_info.h>
#include <epan/range.h>
#include <glib.h>

namespace tdsdiag_plugin {

// At registration: the dispatcher's handle, under the tdsdiag protocol.
void register_tds8(int proto);
// At handoff and when preferences change: stand in front of TDS on `ports` (or not).
void handoff_tds8(const range_t* ports, gboolean enabled);
// At handoff: the heuristic that finds TDS on any TCP port by the client's first message.
void register_tds_heuristic(int proto);
// Gives the frame's conversation to the TDS dissector, unless a dissector has it already (a
// connection taken up on a port that is not a SQL Server port, from a Login7 Wireshark recognised).
void claim_for_tds(packet_info* pinfo);

}  // namespace tdsdiag_plugin

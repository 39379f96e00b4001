// The SQL Server Resolution Protocol (SQL Browser, UDP 1434): see ssrp.cpp.
#pragma once

#include <epan/address.h>
#include <epan/packet.h>
#include <glib.h>

namespace tdsdiag_plugin {

// What the SSRP dissector saw in this frame, for the post-dissector (packet scope).
struct SsrpFrame {
    gboolean in_error;  // the datagram is quoted inside an ICMP error
    address src, dst;   // the datagram's own addresses (inside the ICMP error, the quoted ones)
    guint16 src_port, dst_port;
    const guint8* data;  // the datagram's captured bytes
    guint len;
};

void register_ssrp();
void handoff_ssrp();
// The SSRP datagram of the frame being dissected, or nullptr.
const SsrpFrame* ssrp_frame(packet_info* pinfo);

}  // namespace tdsdiag_plugin

// The post-dissector: each frame's analysis (first pass) and rendering (every pass); see frames.cpp.
#pragma once

#include <epan/packet.h>

namespace tdsdiag_plugin {

// Registered as tdsdiag's post-dissector (registration.cpp).
int dissect_tdsdiag(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void* data);

}  // namespace tdsdiag_plugin

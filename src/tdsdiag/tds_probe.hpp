// Whether a TCP segment begins a TDS conversation the way a client begins one, on any port: SQL Server
// named instances listen on dynamic ports (49152 and up) that the client learnt from the SQL Browser,
// often before the capture started, so the port says nothing. The test is strict (every header field
// and the option list must be what a client sends) so that other traffic is never taken for TDS.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tdsdiag {

enum class TdsStart : uint8_t {
    None,      // not the first message of a TDS client
    Prelogin,  // a whole PRELOGIN message (MS-TDS 2.2.6.5) in one TDS packet
    Login7,    // the first TDS packet of a TDS 7.x Login7 (2.2.6.4), sent without a prelogin
};

// `d`: the segment's payload, `len` bytes of it captured. Never reads past `len`.
TdsStart probe_tds_start(const uint8_t* d, size_t len);

}  // namespace tdsdiag

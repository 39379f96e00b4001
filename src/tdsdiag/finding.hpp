// A diagnosis as data: which code, on which frame, and the evidence of that frame that its text needs.
// The rules (rules.cpp) make findings; describe() (describe.cpp) turns a finding and what its
// connection knows now into the text the user reads.
#pragma once

#include <cstdint>
#include <memory>

#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"
#include "tdsdiag/packet.hpp"
#include "tdsdiag/state.hpp"
#include "tdsdiag/trackers.hpp"

namespace tdsdiag {

// Which of a code's cases a rule found (one code may be reached several ways).
enum class Variant : uint8_t {
    Plain,
    // no_common_tls_version
    VersionAlert,          // a protocol_version alert
    VersionTooOldOffered,  // the server closed after a ClientHello offering at most TLS 1.1
    VersionBelowClientMin, // the client closed after a ServerHello below what it offered
    VersionOldThenClosed,  // the client closed before its key exchange after the server chose TLS 1.0/1.1
                           // from a ClientHello offering 1.2 or later too (likely)
    // no_common_cipher
    CipherAlert,           // handshake_failure / insufficient_security before a ServerHello
    CipherClosedAfterHello,
    // weak_cert_hash
    WeakOwnCertificate,    // this connection's certificate
    WeakOtherConnection,   // the server closed after the ClientHello; another connection showed the weak hash
    WeakThenRejected,      // the client closed right after the weak certificate
    // certificate_rejected
    RejectedWithAlert,
    RejectedAfterCertificate,
    RejectedTls13,
    RejectedTls13Alert,    // TLS 1.3: one encrypted client record after the server's flight, then no TDS
    RejectedAfterHandshake,
    // encryption_not_supported
    ServerLacksEncryption,
    ClientLacksEncryption,
    // cleartext_login
    WindowsAuthInClear,    // integrated authentication: no password in the Login7
    NoPreloginInClear,     // SQL authentication, the Login7 the first payload: no PRELOGIN (TDS 7.0/7.1)
    EmptyPasswordInClear,  // an empty password field and no SSPI data
    // ntlm_fallback
    FallbackByClient,
    FallbackByServer,
    // idle_reset
    IdleAnsweredByReset,   // the packet after the silence was answered by a reset
    IdleUnacknowledged,    // it was retransmitted and never acknowledged
    // slow_network
    NetworkSlowLogin,      // retransmissions or zero windows during a slow_login account for its slowness
    ZeroWindowStall,       // a window stayed at 0 longer than the preference
    // port_reuse
    ReuseAnsweredByAck,    // the SYN was answered by an ACK of the earlier connection
    ReuseAnsweredByReset,  // ... by a reset
    // certificate_name_mismatch
    NameNotValidated,      // on the certificate: the client may go on (it did not check the name)
    NameRejected,          // on the client's rejection of the certificate
    // strict_encryption_mismatch
    StrictAnsweredTds,     // the server answered the strict ClientHello with bytes that are not TLS
    StrictServerClosed,    // ... with a FIN or a reset
    StrictServerSilent,    // ... with nothing until the client closed
    StrictRequiredByServer,  // a PRELOGIN closed by the server without an answer (likely Force Strict Encryption)
    // parallel_attempt (issue 31)
    AttemptUnanswered,     // on the SYN of an attempt that got no answer
    AttemptClosed,         // on the client's close or reset of an answered attempt before any TDS
};

// What the frame showed that the connection does not keep: the text of the diagnosis needs it as
// it was then.
struct Evidence {
    Variant variant = Variant::Plain;
    Side from = Side::Unknown;           // who sent the frame
    bool rst = false;                    // the frame was a reset (else, for a close, a FIN)
    State before = State::Start;         // the connection's state before the frame
    bool in_handshake = false;           // the frame came during the TLS handshake
    Side capture_point = Side::Unknown;  // where the capture was taken, as known then
    int64_t waited_ns = 0;               // the wait the rule measured
    int retries = 0;                     // the SYN sent again so many times
    TlsAlert alert;                      // tls_alert and the codes an alert proves
    bool alert_seen = false;             // a TLS alert came before the close
    std::shared_ptr<const TdsError> error;  // login_failed
    int16_t ttl = -1;                    // a reset's TTL when it differs from its side's usual one
    int16_t usual_ttl = -1;
    uint32_t idle_frame = 0;             // idle_reset: the first packet after the silence
    NetCost net;                         // slow_network: what the network cost during the wait
    // path_mtu_black_hole (issue 31): the size sent again and again, the largest of that side that
    // got through (both TCP payload bytes), and the first copy's frame; waited_ns: first copy to this one
    uint32_t lost_len = 0;
    uint32_t passed_len = 0;
    uint32_t lost_frame = 0;
    // ... its ICMP form: the ICMP fragmentation-needed / packet-too-big frame and its next-hop MTU (0: none)
    uint32_t icmp_frame = 0;
    uint32_t icmp_mtu = 0;
};

struct Finding {
    uint32_t frame = 0;
    Code code = Code::Count;
    Evidence evidence;
};

}  // namespace tdsdiag

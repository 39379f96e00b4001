// What the core says: the step of each frame and the summary of each connection.
// The names returned by the *_name functions are a user contract (display filters, scripts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/diagnosis.hpp"

namespace tdsdiag {

// The seven steps of a SQL Server connection, numbered by meaning (TDS 8.0 runs them 1,3,2,4,...).
enum class Step : uint8_t {
    Browser = 0,        // SQL Browser instance lookup (UDP 1434)
    TcpHandshake = 1,   // SYN, SYN/ACK, ACK
    Prelogin = 2,       // TDS PRELOGIN request and its response
    TlsHandshake = 3,   // ClientHello ... server Finished
    Login = 4,          // Login7 (clear or encrypted), SSPI exchanges
    LoginResponse = 5,  // LOGINACK or ERROR
    Commands = 6,       // batches, RPCs, attentions and their responses
    Close = 7,          // FIN / RST exchange
};

enum class Outcome : uint8_t {
    Pending,      // not known yet (shown only when the capture is fully read)
    Connected,    // the login was acknowledged (or, encrypted, commands followed it)
    LoginFailed,  // the login response carried an error
    Failed,       // the connection ended before the login completed
    Open,         // the capture ended before the login completed
    Unknown,      // the capture cannot show the login's result
    // A parallel attempt (parallel_attempt stands on it) the client gave up because its attempt at another
    // address of the same name answered and went on: not a failure.
    Abandoned,
};

enum class Encryption : uint8_t {
    Unknown,    // not known (yet)
    None,       // no TLS at all: Login7 in clear
    LoginOnly,  // TLS protects the Login7 only
    Full,       // everything after the handshake is TLS
    Strict,     // TDS 8.0: TLS first, prelogin inside TLS
};

enum class Side : uint8_t { Unknown, Client, Server };
enum class CloseKind : uint8_t { None, Fin, Rst };

// Per frame, computed once on the first pass.
struct FrameResult {
    bool in_connection = false;          // the frame belongs to a tracked SQL Server connection
    std::optional<Step> step;            // absent where the capture cannot tell
    bool step_first = false;             // this frame opens its step
    std::optional<int64_t> step_delta_ns;  // on opening frames: time since the previous step opened
    std::vector<Diagnosis> diagnoses;      // diagnoses whose evidence became complete on this frame
};

// Per connection, as far as known.
struct Summary {
    uint32_t stream = 0;            // the connection's TCP stream: tcp.stream of its first frame
    std::optional<Step> last_step;  // highest step reached
    // The step in progress when a failed connection ended: the last step before the close (7), or
    // the step it stopped in without one (an unanswered SYN: 1); 5 for login_failed. Absent unless
    // the outcome is failed or login_failed.
    std::optional<Step> failed_step;
    Outcome outcome = Outcome::Pending;
    Encryption encryption = Encryption::Unknown;
    std::optional<uint16_t> tls_version;
    std::optional<uint16_t> cipher;
    std::string conn_id;  // prelogin TRACEID connection GUID, empty if not seen
    Side close_by = Side::Unknown;
    CloseKind close_kind = CloseKind::None;
    Side capture_point = Side::Unknown;  // the side the capture was taken on
    std::string cert_signature;          // signature algorithm of the server certificate, if seen
    std::string user, app, client_host, database;  // from the Login7, when readable; never the password
    uint32_t browser_frame = 0;  // frame of the SQL Browser answer that named this connection's port, 0 if none
    uint32_t kerberos_frame = 0;  // frame of the KRB-ERROR refusing the ticket its client asked for, 0 if none
    std::string mars;            // "on" (both prelogins asked for MARS), "off", or "" if no prelogin seen
    std::string redirect_to;     // "host:port" of an ENVCHANGE routing in the login response
    std::optional<uint32_t> redirect_stream;  // the connection that followed the redirect
    std::optional<uint32_t> redirected_from;  // the connection whose redirect this one follows
    uint32_t attentions = 0;     // attentions the client sent
    std::string auth;            // "sql", "ntlm", "kerberos", "federated", or "" where the capture cannot tell
    uint32_t retransmissions = 0;  // TCP segments sent again (Wireshark's analysis)
    uint32_t dup_acks = 0;         // duplicate ACKs
    uint32_t zero_windows = 0;     // segments advertising a zero window
    std::optional<int64_t> handshake_rtt_ns;  // last SYN before the SYN/ACK to the client's ACK, as captured
    std::string server_version;  // the server's prelogin VERSION: "SQL Server 2019 (15.0.4123)", "" if not seen
    std::string client_version;  // the Login7's library name and the client's prelogin VERSION: "ODBC (17.10.1)"
    std::optional<uint32_t> packet_size_asked;    // the Login7's PacketSize, where the Login7 was readable
    std::optional<uint32_t> packet_size_granted;  // the login response's ENVCHANGE packet size (type 4)
    std::string dns_name;        // the name of the DNS lookup tied to the connection, "" if none
    std::optional<int64_t> dns_time_ns;  // from the name's first query to its last answer before the connection
};

const char* step_name(Step s);
const char* outcome_name(Outcome o);        // "" for Pending
const char* encryption_name(Encryption e);  // "" for Unknown
const char* side_name(Side s);              // "" for Unknown
const char* close_kind_name(CloseKind k);   // "" for None
std::string tls_version_name(uint16_t v);   // "TLS 1.2", or "0x7f1c" when unknown

// Formats the first 16 bytes of a TRACEID as a Windows GUID string; "" if too short.
std::string format_guid(const uint8_t* bytes, size_t len);

}  // namespace tdsdiag

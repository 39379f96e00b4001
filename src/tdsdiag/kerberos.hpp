// Kerberos (port 88) as far as a SQL Server login needs it: the client's TGS-REQ for an
// MSSQLSvc/host[:port|:instance] SPN, the KDC's KRB-ERROR that refuses it (principal unknown, or
// registered twice), and the SQL connection of the same client that needed the ticket. Plain C++17:
// the plugin hands in the Kerberos dissector's fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"

namespace tdsdiag {

constexpr uint16_t kKerberosPort = 88;
constexpr int kKrbTgsReq = 12, kKrbError = 30;
constexpr int32_t kKdcErrSPrincipalUnknown = 7, kKdcErrPrincipalNotUnique = 9;

// One Kerberos message as the plugin read it.
struct KerberosPacket {
    uint32_t frame = 0;
    int64_t time_ns = 0;
    std::string src_addr, dst_addr;
    int msg_type = 0;                   // kerberos.msg_type: 12 TGS-REQ, 30 KRB-ERROR, ...
    std::optional<int32_t> error_code;  // kerberos.error_code (KRB-ERROR)
    // Every kerberos.SNameString of the frame in order: a TGS-REQ carries its TGT's sname
    // (krbtgt/REALM) before the requested one, a KRB-ERROR only the refused one.
    std::vector<std::string> sname;
    std::string realm;  // the last kerberos.realm (the req-body's, or the error's)
};

// The service principal a message names: the components after a leading krbtgt/REALM pair (the
// TGT's), joined with '/'; "" if none is left.
std::string requested_spn(const std::vector<std::string>& sname);
// Whether an SPN is SQL Server's (MSSQLSvc/..., case-insensitive).
bool is_sql_spn(const std::string& spn);
// The port of "MSSQLSvc/host:1433", if the part after ':' is a number.
std::optional<uint16_t> spn_port(const std::string& spn);
// "KDC_ERR_S_PRINCIPAL_UNKNOWN" for 7, ...; "" for codes this module does not name.
const char* kdc_error_name(int32_t code);

// A SQL connection as the tracker needs it.
struct SqlConnRef {
    uint32_t stream = 0, first_frame = 0;
    std::string client_addr;
    uint16_t server_port = 0;
    int64_t start_ns = 0, last_ns = 0;
    bool ended = false;  // it has sent a FIN or RST
};

// A KDC refusal of a SQL Server SPN, and the SQL connection tied to it.
struct SpnRefusal {
    uint32_t id = 0;
    uint32_t frame = 0;          // the first KRB-ERROR
    uint32_t request_frame = 0;  // the TGS-REQ it answers, 0 if not seen
    int64_t time_ns = 0;
    int32_t error_code = 0;
    std::string spn, realm, client_addr;
    int repeats = 0;  // further KRB-ERRORs for the same SPN and client within the window
    // The tied connection: during it (the error came between its first and last frame seen then), or
    // the nearest one before or after within the window.
    std::optional<uint32_t> conn_stream;
    uint32_t conn_frame = 0;
    bool during = false;
    int64_t gap_ns = 0;        // outside it: how far from it (positive)
    bool conn_after = false;  // outside it: the connection started after the error
    bool port_match = false;  // the SPN names the connection's server port
};

class KerberosTracker {
public:
    explicit KerberosTracker(int64_t window_ns) : window_ns_(window_ns) {}

    // Feeds a Kerberos frame. `conns` are the SQL connections known now (any client: filtered
    // here). Returns the refusal id the frame belongs to in `refusal_id` (a KRB-ERROR for a SQL SPN),
    // and the diagnoses this frame completes.
    FrameResult on_packet(const KerberosPacket& p, const std::vector<SqlConnRef>& conns, uint32_t* refusal_id = nullptr);
    // A new SQL connection: ties it to the latest untied refusal of its client within the window.
    // Returns the refusal's KRB-ERROR frame, 0 if none.
    uint32_t on_connection(const SqlConnRef& c);

    const SpnRefusal* refusal(uint32_t id) const { return id < refusals_.size() ? &refusals_[id] : nullptr; }
    size_t refusal_count() const { return refusals_.size(); }
    // The diagnoses shown on `frame` (the refusal's first KRB-ERROR) as known now.
    std::vector<Diagnosis> diagnoses_on(uint32_t id, uint32_t frame) const;

private:
    struct Request {
        uint32_t frame;
        int64_t time_ns;
        std::string client, spn;
    };
    int64_t window_ns_;
    std::vector<Request> requests_;  // recent TGS-REQs (within the window of the newest)
    std::vector<SpnRefusal> refusals_;
    void tie(SpnRefusal& r, const SqlConnRef& c, bool during, int64_t gap_ns, bool after);
};

// The refusal with its tie to `c` (its tied connection as known now) measured again: on a later
// pass an error that came after the connection's first frames may turn out to be during it.
SpnRefusal with_connection(SpnRefusal r, const SqlConnRef& c);

// The diagnosis of a refusal as it stands.
Diagnosis describe_refusal(const SpnRefusal& r);

}  // namespace tdsdiag

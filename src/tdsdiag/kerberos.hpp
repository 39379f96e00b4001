// Kerberos (port 88) as far as a SQL Server login needs it: the client's TGS-REQ for an
// MSSQLSvc/host[:port|:instance] SPN (or its AS-REQ), the KDC's KRB-ERROR that refuses it (principal
// unknown, registered twice, or the client's clock too far off the KDC's), and the SQL connection of the
// same client that needed the ticket; or the AS-REQ for its TGT refused for a wrong password. Plain C++17: the plugin hands in the Kerberos dissector's fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"

namespace tdsdiag {

constexpr uint16_t kKerberosPort = 88;
constexpr int kKrbAsReq = 10, kKrbTgsReq = 12, kKrbError = 30;
constexpr int32_t kKdcErrSPrincipalUnknown = 7, kKdcErrPrincipalNotUnique = 9, kKdcErrPreauthFailed = 24,
                  kKrbApErrSkew = 37;

// One Kerberos message as the plugin read it.
struct KerberosPacket {
    uint32_t frame = 0;
    int64_t time_ns = 0;
    std::string src_addr, dst_addr;
    int msg_type = 0;                   // kerberos.msg_type: 10 AS-REQ, 12 TGS-REQ, 30 KRB-ERROR, ...
    std::optional<int32_t> error_code;  // kerberos.error_code (KRB-ERROR)
    std::optional<int64_t> stime_ns;    // kerberos.stime + kerberos.susec (KRB-ERROR): the KDC's clock, Unix ns
    // Every kerberos.SNameString of the frame in order: a TGS-REQ carries its TGT's sname
    // (krbtgt/REALM) before the requested one, a KRB-ERROR only the refused one.
    std::vector<std::string> sname;
    std::string realm;  // the last kerberos.realm (the req-body's, or the error's)
    // kerberos.CNameString components (an AS-REQ's req-body, a KRB-ERROR's cname), and the last
    // kerberos.crealm (an AS-REQ has none: its realm is the client's): the client principal, when the
    // message names it.
    std::vector<std::string> cname;
    std::string crealm;
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
// The diagnosis of a KRB-ERROR's error code: kerberos_spn_missing for 7 and 9, kerberos_clock_skew
// for 37, kerberos_preauth_failed for 24; none for the others.
std::optional<Code> refusal_code(int32_t error_code);

// A SQL connection as the tracker needs it.
struct SqlConnRef {
    uint32_t stream = 0, first_frame = 0;
    std::string client_addr;
    uint16_t server_port = 0;
    int64_t start_ns = 0, last_ns = 0;
    bool ended = false;  // it has sent a FIN or RST
};

// A KDC's refusal of a ticket a SQL connection needed, and the SQL connection tied to it. A refusal
// of a SQL Server SPN is one whatever its connections; a clock skew or a failed pre-authentication
// refusing any other principal (the TGT's krbtgt/REALM of an AS-REQ, ...) only when the client had a
// SQL connection within the window.
struct KdcRefusal {
    uint32_t id = 0;
    Code code = Code::KerberosSpnMissing;  // refusal_code(error_code)
    uint32_t frame = 0;          // the first KRB-ERROR
    uint32_t request_frame = 0;  // the TGS-REQ (or AS-REQ) it answers, 0 if not seen
    int request_type = 0;        // its kerberos.msg_type, 0 if not seen
    int64_t time_ns = 0;
    int32_t error_code = 0;
    std::optional<int64_t> kdc_time_ns;  // the KRB-ERROR's stime (the KDC's clock), Unix ns
    std::string spn, realm, client_addr;
    std::string client_principal;  // "alice@LAB.TEST" from the error's (or its request's) cname, "" if none
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
    // here). Returns the refusal id the frame belongs to in `refusal_id` (a refusing KRB-ERROR),
    // and the diagnoses this frame completes.
    FrameResult on_packet(const KerberosPacket& p, const std::vector<SqlConnRef>& conns, uint32_t* refusal_id = nullptr);
    // A new SQL connection: ties it to the latest untied refusal of its client within the window.
    // Returns that refusal, nullptr if none.
    const KdcRefusal* on_connection(const SqlConnRef& c);

    const KdcRefusal* refusal(uint32_t id) const { return id < refusals_.size() ? &refusals_[id] : nullptr; }
    size_t refusal_count() const { return refusals_.size(); }
    // The diagnoses shown on `frame` (the refusal's first KRB-ERROR) as known now.
    std::vector<Diagnosis> diagnoses_on(uint32_t id, uint32_t frame) const;

private:
    struct Request {
        uint32_t frame;
        int64_t time_ns;
        int type;
        std::string client, spn, principal;
    };
    int64_t window_ns_;
    std::vector<Request> requests_;  // recent TGS-REQs and AS-REQs (within the window of the newest)
    std::vector<KdcRefusal> refusals_;
    void tie(KdcRefusal& r, const SqlConnRef& c, bool during, int64_t gap_ns, bool after);
};

// The refusal with its tie to `c` (its tied connection as known now) measured again: on a later
// pass an error that came after the connection's first frames may turn out to be during it.
KdcRefusal with_connection(KdcRefusal r, const SqlConnRef& c);

// The diagnosis of a refusal as it stands, by its code.
Diagnosis describe_refusal(const KdcRefusal& r);

}  // namespace tdsdiag

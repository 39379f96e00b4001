#include "tdsdiag/kerberos.hpp"

#include <cctype>
#include <cstdlib>
#include <initializer_list>

#include "tdsdiag/text.hpp"
#include "tdsdiag/x509.hpp"

namespace tdsdiag {

std::string requested_spn(const std::vector<std::string>& sname) {
    size_t from = 0;
    // A TGS-REQ holds its TGT's sname (krbtgt/REALM) before the one it asks for.
    if (sname.size() > 2 && sname[0] == "krbtgt") from = 2;
    std::string spn;
    for (size_t i = from; i < sname.size(); ++i) {
        if (!spn.empty()) spn += '/';
        spn += sname[i];
    }
    return spn;
}

bool is_sql_spn(const std::string& spn) {
    static const char kPrefix[] = "mssqlsvc/";
    if (spn.size() <= sizeof kPrefix - 1) return false;
    for (size_t i = 0; i < sizeof kPrefix - 1; ++i)
        if (std::tolower(static_cast<unsigned char>(spn[i])) != kPrefix[i]) return false;
    return true;
}

std::optional<uint16_t> spn_port(const std::string& spn) {
    const size_t colon = spn.rfind(':');
    if (colon == std::string::npos || colon + 1 >= spn.size() || spn.size() - colon > 6) return std::nullopt;
    unsigned long v = 0;
    for (size_t i = colon + 1; i < spn.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(spn[i]))) return std::nullopt;
        v = v * 10 + static_cast<unsigned long>(spn[i] - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

const char* kdc_error_name(int32_t code) {
    switch (code) {
    case kKdcErrSPrincipalUnknown: return "KDC_ERR_S_PRINCIPAL_UNKNOWN";
    case kKdcErrPrincipalNotUnique: return "KDC_ERR_PRINCIPAL_NOT_UNIQUE";
    case kKdcErrPreauthFailed: return "KDC_ERR_PREAUTH_FAILED";
    case kKrbApErrSkew: return "KRB_AP_ERR_SKEW";
    default: return "";
    }
}

std::optional<Code> refusal_code(int32_t error_code) {
    switch (error_code) {
    case kKdcErrSPrincipalUnknown:
    case kKdcErrPrincipalNotUnique: return Code::KerberosSpnMissing;
    case kKrbApErrSkew: return Code::KerberosClockSkew;
    case kKdcErrPreauthFailed: return Code::KerberosPreauthFailed;
    default: return std::nullopt;
    }
}

namespace {

// "alice@LAB.TEST": the name's components joined with '/', then '@' and the realm if known.
std::string principal_of(const std::vector<std::string>& name, const std::string& realm) {
    std::string s;
    for (const std::string& c : name) {
        if (!s.empty()) s += '/';
        s += c;
    }
    if (!s.empty() && !realm.empty()) s += "@" + realm;
    return s;
}

// How far the error at `t` is from the connection: 0 while it was open (begun before and not
// ended, or ended after it), else the gap to its end (before) or to its start (after).
struct Place {
    bool during = false, after = false;
    int64_t gap = 0;
};

Place place_of(int64_t t, const SqlConnRef& c) {
    Place p;
    if (c.start_ns > t) {
        p.after = true;
        p.gap = c.start_ns - t;
    } else if (!c.ended || c.last_ns >= t) {
        p.during = true;
    } else {
        p.gap = t - c.last_ns;
    }
    return p;
}

}  // namespace

void KerberosTracker::tie(KdcRefusal& r, const SqlConnRef& c, bool during, int64_t gap_ns, bool after) {
    r.conn_stream = c.stream;
    r.conn_frame = c.first_frame;
    r.during = during;
    r.gap_ns = gap_ns;
    r.conn_after = after;
    const auto port = spn_port(r.spn);
    r.port_match = port && *port == c.server_port;
}

FrameResult KerberosTracker::on_packet(const KerberosPacket& p, const std::vector<SqlConnRef>& conns, uint32_t* refusal_id) {
    FrameResult out;
    if (p.msg_type == kKrbTgsReq || p.msg_type == kKrbAsReq) {
        // Forget requests older than the window: only a recent one can be the error's.
        size_t keep = 0;
        for (size_t i = 0; i < requests_.size(); ++i)
            if (p.time_ns - requests_[i].time_ns <= window_ns_) requests_[keep++] = requests_[i];
        requests_.resize(keep);
        // An AS-REQ names no crealm: its realm is the client's.
        const std::string principal = principal_of(p.cname, p.crealm.empty() ? p.realm : p.crealm);
        requests_.push_back({p.frame, p.time_ns, p.msg_type, p.src_addr, requested_spn(p.sname), principal});
        return out;
    }
    if (p.msg_type != kKrbError || !p.error_code) return out;
    const std::optional<Code> code = refusal_code(*p.error_code);
    if (!code) return out;
    const std::string& client = p.dst_addr;
    std::string spn = requested_spn(p.sname);
    // The request (TGS-REQ, AS-REQ) it answers: the latest of this client for that SPN (any SPN if the
    // error names none).
    const Request* req = nullptr;
    for (auto it = requests_.rbegin(); it != requests_.rend(); ++it)
        if (it->client == client && p.time_ns - it->time_ns <= window_ns_ && (spn.empty() || it->spn == spn)) {
            req = &*it;
            break;
        }
    if (spn.empty() && req != nullptr) spn = req->spn;
    // A missing SPN matters here only for SQL Server's; a clock skew refuses any ticket (the TGT's
    // too), and a wrong password the client's own (AS-REQ): these matter when the client has a SQL
    // connection within the window (looked at below), or, for a skew, ask for a SQL Server SPN.
    const bool sql_spn = is_sql_spn(spn);
    if (!sql_spn && *code == Code::KerberosSpnMissing) return out;
    const bool needs_connection = !sql_spn || *code == Code::KerberosPreauthFailed;
    // The same refusal again (a client retries, e.g. with and without name canonicalization).
    for (auto it = refusals_.rbegin(); it != refusals_.rend(); ++it) {
        if (p.time_ns - it->time_ns > window_ns_) break;
        if (it->client_addr == client && it->spn == spn && it->error_code == *p.error_code) {
            ++it->repeats;
            if (refusal_id) *refusal_id = it->id;
            out.in_connection = true;
            return out;
        }
    }
    KdcRefusal r;
    r.id = static_cast<uint32_t>(refusals_.size());
    r.code = *code;
    r.frame = p.frame;
    r.request_frame = req ? req->frame : 0;
    r.request_type = req ? req->type : 0;
    r.time_ns = p.time_ns;
    r.error_code = *p.error_code;
    r.kdc_time_ns = p.stime_ns;
    r.client_principal = principal_of(p.cname, p.crealm.empty() ? p.realm : p.crealm);
    if (r.client_principal.empty() && req != nullptr) r.client_principal = req->principal;
    r.spn = spn;
    r.realm = p.realm;
    r.client_addr = client;
    // The nearest connection of this client within the window; one whose server port the SPN names
    // first.
    const SqlConnRef* best = nullptr;
    Place best_place;
    bool best_port = false;
    const auto port = spn_port(spn);
    for (const SqlConnRef& c : conns) {
        if (c.client_addr != client) continue;
        const Place pl = place_of(p.time_ns, c);
        if (pl.gap > window_ns_) continue;
        const bool pm = port && *port == c.server_port;
        if (best == nullptr || (pm && !best_port) || (pm == best_port && pl.gap < best_place.gap) ||
            (pm == best_port && pl.gap == best_place.gap && pl.during && !best_place.during)) {
            best = &c;
            best_place = pl;
            best_port = pm;
        }
    }
    // Another principal's refusal (or any wrong password) without a SQL connection of its client near is
    // not ours.
    if (best == nullptr && needs_connection) return out;
    if (best != nullptr) tie(r, *best, best_place.during, best_place.gap, best_place.after);
    refusals_.push_back(r);
    if (refusal_id) *refusal_id = r.id;
    out.in_connection = true;
    out.diagnoses.push_back(describe_refusal(refusals_.back()));
    return out;
}

const KdcRefusal* KerberosTracker::on_connection(const SqlConnRef& c) {
    for (auto it = refusals_.rbegin(); it != refusals_.rend(); ++it) {
        KdcRefusal& r = *it;
        if (r.client_addr != c.client_addr) continue;
        const int64_t gap = c.start_ns - r.time_ns;
        if (gap < 0 || gap > window_ns_) continue;
        if (r.conn_stream) {
            // Tied already: keep a tie that is as near, or names the port where this one does not.
            const auto port = spn_port(r.spn);
            const bool pm = port && *port == c.server_port;
            if (r.during || (r.port_match && !pm) || (r.port_match == pm && r.gap_ns <= gap)) continue;
        }
        tie(r, c, false, gap, true);
        return &r;
    }
    return nullptr;
}

KdcRefusal with_connection(KdcRefusal r, const SqlConnRef& c) {
    if (!r.conn_stream || *r.conn_stream != c.stream) return r;
    const Place pl = place_of(r.time_ns, c);
    r.during = pl.during;
    r.gap_ns = pl.gap;
    r.conn_after = pl.after;
    return r;
}

std::vector<Diagnosis> KerberosTracker::diagnoses_on(uint32_t id, uint32_t frame) const {
    const KdcRefusal* r = refusal(id);
    if (r == nullptr || r->frame != frame) return {};
    return {describe_refusal(*r)};
}

namespace {

// Whether the tied connection is surely the one that needed the ticket: the error came during it, for a
// SQL Server SPN that names its port (or no port); else only the time ties them (likely).
bool tie_certain(const KdcRefusal& r) {
    return r.conn_stream && r.during && is_sql_spn(r.spn) && (r.port_match || !spn_port(r.spn));
}

// Which connection could not use Kerberos.
std::string who_of(const KdcRefusal& r) {
    if (!r.conn_stream) return "the client";
    const bool sure = tie_certain(r);
    const std::string when = r.during ? "during it"
                             : r.conn_after ? "begun " + milliseconds(r.gap_ns) + " after the error"
                                            : "ended " + milliseconds(r.gap_ns) + " before the error";
    return format("%sthe SQL connection of TCP stream %u (%s)", sure ? "" : "likely ", *r.conn_stream, when.c_str());
}

const char* request_name(int type) {
    return type == kKrbAsReq ? "AS-REQ" : type == kKrbTgsReq ? "TGS-REQ" : "request";
}

// The connection in short ("TCP stream 3", "likely TCP stream 3"), for texts with no room for its place.
std::string stream_of(const KdcRefusal& r) {
    return r.conn_stream ? format("%sTCP stream %u", tie_certain(r) ? "" : "likely ", *r.conn_stream)
                         : std::string("the client");
}

// The first of a diagnosis' texts, longest first, that fits into kMaxTextLength (the last if none does):
// what a shorter one leaves out is in the detail.
std::string first_that_fits(std::initializer_list<std::string> texts) {
    for (const std::string& t : texts)
        if (t.size() <= kMaxTextLength) return t;
    return *(texts.end() - 1);
}

// The evidence every refusal shows: the KRB-ERROR, its request, the principal, repeats, the tie.
std::string refusal_detail(const KdcRefusal& r, const std::string& who) {
    std::string d = format("KRB-ERROR %d (%s) in frame %u", r.error_code, kdc_error_name(r.error_code), r.frame);
    if (r.request_frame) d += format(" answers the %s in frame %u", request_name(r.request_type), r.request_frame);
    d += format(" from %s", r.client_addr.c_str());
    if (!r.client_principal.empty()) d += " (" + r.client_principal + ")";
    d += format(" for %s", r.spn.empty() ? "?" : r.spn.c_str());
    if (!r.realm.empty()) d += "@" + r.realm;
    if (r.kdc_time_ns)
        d += format("; the KDC's time %s", format_utc(*r.kdc_time_ns / 1000000000).c_str());
    if (r.repeats > 0) d += format("; %d more KRB-ERROR%s for it", r.repeats, r.repeats == 1 ? "" : "s");
    if (r.conn_stream) {
        d += "; " + who;
        if (r.port_match) d += ", whose server port the SPN names";
    } else {
        d += "; no SQL connection of this client within the Kerberos window (tdsdiag.kerberos_window_ms)";
    }
    return d;
}

Diagnosis describe_spn_missing(const KdcRefusal& r, const std::string& who) {
    Diagnosis d;
    d.code = Code::KerberosSpnMissing;
    d.severity = Severity::Error;
    const bool unknown = r.error_code == kKdcErrSPrincipalUnknown;
    const std::string fix = unknown ? format("Register it: setspn -S %s DOMAIN\\account.", r.spn.c_str())
                                    : std::string("Find both accounts with setspn -X and remove it from the wrong one.");
    const char* meaning = unknown ? "no account has this SPN" : "two accounts have this SPN";
    const char* err = kdc_error_name(r.error_code);
    d.text = first_that_fits(
        {format("The KDC answered the TGS-REQ for %s with %s: %s, so %s cannot use Kerberos. ", r.spn.c_str(), err,
                meaning, who.c_str()) + fix,
         // a long SPN: the connection goes to the detail
         format("The KDC answered the TGS-REQ for %s with %s: %s. ", r.spn.c_str(), err, meaning) + fix,
         format("The KDC refused the SPN the client asked for with %s: %s. ", err, meaning) +
             (unknown ? "Register it with setspn -S." : "Find the duplicates with setspn -X.")});
    return d;
}

Diagnosis describe_clock_skew(const KdcRefusal& r) {
    Diagnosis d;
    d.code = Code::KerberosClockSkew;
    d.severity = Severity::Error;
    static const char kFix[] = "Sync the client's clock with the domain: w32tm /resync.";
    const std::string kdc = r.kdc_time_ns ? " (" + format_utc(*r.kdc_time_ns / 1000000000) + ")" : std::string();
    // The connection in short (its place and the error's name are in the detail): the text has room
    // for the client, the KDC's time and the fix only.
    const std::string who = stream_of(r);
    // The connection, then the KDC's time, go to the detail when the text grows too long (IPv6
    // addresses, long stream numbers).
    d.text = first_that_fits(
        {format("Client %s's clock differs from the KDC's%s by more than the allowed skew (5 minutes by default), "
                "so %s cannot use Kerberos. ", r.client_addr.c_str(), kdc.c_str(), who.c_str()) + kFix,
         format("Client %s's clock differs from the KDC's%s by more than the allowed skew (5 minutes by default). ",
                r.client_addr.c_str(), kdc.c_str()) + kFix,
         format("Client %s's clock differs from the KDC's by more than the allowed skew (5 minutes by default). ",
                r.client_addr.c_str()) + kFix});
    return d;
}

Diagnosis describe_preauth_failed(const KdcRefusal& r) {
    Diagnosis d;
    d.code = Code::KerberosPreauthFailed;
    d.severity = Severity::Error;
    static const char kFix[] = "Check the account's password or keytab, and whether it is locked out.";
    const std::string who = stream_of(r);
    const std::string user = r.client_principal.empty() ? std::string() : " for " + r.client_principal;
    const char* req = request_name(r.request_type);
    const char* addr = r.client_addr.c_str();
    // The connection, then the principal, go to the detail when the text grows too long.
    d.text = first_that_fits(
        {format("The KDC refused the %s of client %s%s with KDC_ERR_PREAUTH_FAILED (a wrong password or key), so "
                "%s cannot use Kerberos. ", req, addr, user.c_str(), who.c_str()) + kFix,
         format("The KDC refused the %s of client %s%s with KDC_ERR_PREAUTH_FAILED (a wrong password or key). ", req,
                addr, user.c_str()) + kFix,
         format("The KDC refused the %s of client %s with KDC_ERR_PREAUTH_FAILED (a wrong password or key). ", req,
                addr) + kFix});
    return d;
}

}  // namespace

Diagnosis describe_refusal(const KdcRefusal& r) {
    const std::string who = who_of(r);
    Diagnosis d = r.code == Code::KerberosClockSkew      ? describe_clock_skew(r)
                  : r.code == Code::KerberosPreauthFailed ? describe_preauth_failed(r)
                                                          : describe_spn_missing(r, who);
    d.detail = refusal_detail(r, who);
    return d;
}

}  // namespace tdsdiag

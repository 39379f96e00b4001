// The texts of the diagnoses. For a TCP connection, one pure function of a finding and what its
// connection knows now; for an SQL Browser lookup, one function per case (end of file). Each text
// (shown as expert info, so under 240 bytes) states the evidence, says "likely" where it infers, and
// ends with the fix, which is the catalogue's unless a case needs its own; its detail adds the rest
// of the evidence.
#include <cstdio>

#include "tdsdiag/pmtu.hpp"
#include "tdsdiag/connection.hpp"
#include "tdsdiag/dns.hpp"
#include "tdsdiag/ssrp.hpp"
#include "tdsdiag/text.hpp"
#include "tdsdiag/version.hpp"

namespace tdsdiag {
namespace {

const char* kRenewFix = "Renew the server certificate and restart SQL Server.";
// Which clients refuse each item below common TLS policy, as measured in the lab (docs/tls-policy.md).
const char* kPolicyHashLibs =
    "MD5 and SHA-1 signatures: OpenSSL 3 (ODBC Driver 18 on Linux, pytds, tedious), Go and GnuTLS (FreeTDS) refuse "
    "them when they validate the certificate; Java and Go offer no MD5 at all. ";
const char* kPolicyRsaLibs =
    "RSA keys under 2048 bits: OpenSSL 3 as Debian and Ubuntu build it (ODBC Driver 18 on Linux, pytds) refuses them "
    "when it validates; Node, Java, Go and GnuTLS accepted 1024 bits in the lab. ";
const char* kPolicyDhLibs =
    "DHE groups under 2048 bits: OpenSSL 3 as Debian and Ubuntu build it (ODBC Driver 18 on Linux, pytds) refuses "
    "them even with TrustServerCertificate; Go offers no DHE suite. ";
const char* kPolicyVersionLibs =
    "TLS 1.0/1.1: OpenSSL 3 at its Debian and Ubuntu level refuses their key exchange signature even with "
    "TrustServerCertificate; Java 17 and Go do not offer them. ";

// What one finding says: the evidence and, unless empty, the fix.
struct Words {
    Severity severity;
    std::string what;    // full sentences
    std::string fix;     // one sentence, "" for none
    std::string detail;
};

// The text is the evidence and the fix; if both do not fit, the fix moves to the front of the detail.
Diagnosis compose(Code code, Words w) {
    std::string text = w.fix.empty() ? w.what : w.what + " Fix: " + w.fix;
    if (text.size() > kMaxTextLength && !w.fix.empty()) {
        text = w.what;
        w.detail = w.detail.empty() ? "Fix: " + w.fix : "Fix: " + w.fix + " " + w.detail;
    }
    if (text.size() > kMaxTextLength) text.resize(kMaxTextLength);
    return Diagnosis{code, w.severity, std::move(text), std::move(w.detail), 0, 0};
}

std::string fix_of(Code code) { return code_info(code).fix; }

// The texts of issue 31's attempts at a name's addresses: parallel_attempt, and syn_unanswered after
// addresses tried in turn.

// " sql.lab.test resolved to 10.10.10.121, 10.10.10.120 (DNS answer, frame 2)." where the capture shows
// the lookup that gave the connection its address, else "".
std::string name_addresses(const Connection& c) {
    const DnsLookup* l = c.dns_lookup();
    if (l == nullptr || l->addresses.empty()) return "";
    std::string list;
    for (const std::string& a : l->addresses) list += (list.empty() ? "" : ", ") + a;
    return format(" %s resolved to %s (DNS answer, frame %u).", l->name.c_str(), list.c_str(), l->answer_frame);
}

Words parallel_attempt_words(const Connection& c) {
    // Worst case (IPv6 addresses, a 10-digit stream) still fits kMaxTextLength: the unit test checks it.
    Words w{code_info(Code::ParallelAttempt).severity, "", "", ""};
    const Connection* kept = c.attempt_kept(true);
    const bool answered = c.tcp().syn_ack_frame != 0;
    const std::string other =
        kept ? format("%s (stream %u)", kept->server_addr().c_str(), kept->stream()) : std::string("another address");
    w.what = format("A parallel attempt at %s, abandoned because the one to %s answered: %s. Normal for a client "
                    "trying a name's addresses at once.",
                    c.server_addr().c_str(), other.c_str(),
                    answered ? "closed before any TDS" : "its SYN got no answer");
    w.detail = format("MultiSubnetFailover, FreeTDS and JDBC's Transparent Network IP Resolution open one connection per "
                      "address of the name and keep the first that answers.%s%s",
                      name_addresses(c).c_str(), answered ? "" : " If this address should answer (a listener's address in a subnet that is up), "
                                      "check its firewall and routes.");
    return w;
}

// syn_unanswered's text when the client went on to another address (Connection::attempts().next).
std::optional<Words> in_turn_words(const Evidence& e, const Connection& c) {
    const Connection* next = c.attempts().next;
    if (next == nullptr) return std::nullopt;
    const int64_t lost = next->start_ns() - c.start_ns();
    const bool answered = next->tcp().syn_ack_frame != 0;
    Words w{code_info(Code::SynUnanswered).severity, "", "", ""};
    w.what = format("The SYN to %s got no answer (resent after %s); the client tried %s (stream %u) %s "
                    "later %s.",
                    c.server_addr().c_str(), seconds(e.waited_ns).c_str(), next->server_addr().c_str(), next->stream(),
                    seconds(lost).c_str(),
                    answered ? "and it answered: time lost on a dead address" : "and it got no answer either");
    w.fix = answered ? std::string("Remove the dead address from the name or set MultiSubnetFailover=True.")
                     : std::string("Check both addresses, the port and the firewalls.");
    w.detail = format("Server %s:%u.%s A client that tries a name's addresses in turn waits on each that does not "
                      "answer until its connect timeout or its TCP stack gives up.",
                      c.server_addr().c_str(), c.server_port(), name_addresses(c).c_str());
    return w;
}

// The context of one connection's texts.
class Describer {
public:
    Describer(const Connection& c, bool complete) : c_(c), tls_(c.tls()), complete_(complete) {}
    Words words(const Finding& f) const;

private:
    Words tls(const Finding& f) const;
    Words certificate(const Finding& f) const;
    Words client_policy(const Finding& f) const;
    Words close(const Finding& f) const;
    Words attention(const AttentionRecord& a) const;
    Words redirect() const;
    Words reuse(const Finding& f) const;
    Words name_mismatch(const Finding& f) const;
    Words strict(const Finding& f) const;
    // " The server, SQL Server 2019 (15.0.4123), has no TDS 8.0." from its prelogin VERSION (this
    // connection's or another's), "" if not known.
    std::string server_tds8() const;

    std::string server_name() const { return c_.server_addr() + ":" + std::to_string(c_.server_port()); }
    std::string cipher_text(uint16_t suite) const {
        const char* name = c_.config().cipher_name ? c_.config().cipher_name(suite) : nullptr;
        return name ? std::string(name) : format("0x%04x", suite);
    }
    std::string certificate_detail() const;  // subject, issuer, algorithm, validity of the server certificate
    std::string offered_detail() const;      // versions and suites of the ClientHello
    std::string offered_versions() const {   // "TLS 1.0 to TLS 1.2", or "only TLS 1.1"
        if (tls_.offered_min == tls_.offered_max) return "only " + tls_version_name(tls_.offered_max);
        return tls_version_name(tls_.offered_min) + " to " + tls_version_name(tls_.offered_max);
    }
    std::string close_fix(Step during) const;  // what to check when the server ended the connection
    const char* certificate_reason(bool weak) const;  // " (expired at capture time)", " (self-signed)"...
    std::string certificate_fix(bool weak) const;     // renew, replace the weak hash, or trust its CA
    // What the server's prelogin VERSION says of TLS 1.2 (" The server, ..., lacks TLS 1.2."), "" if its
    // build is not known; `lacks` is set for a build without it, and `detail` then names the first build.
    std::string server_tls12(bool& lacks, std::string& detail) const;

    const Connection& c_;
    const TlsTracker& tls_;
    bool complete_;
};

// The capture point tells whether a packet was seen leaving its sender or arriving at its peer.
const char* seen_from(Side capture_point, Side sender) {
    if (capture_point == Side::Unknown) return "";
    if (capture_point == sender) return " (captured on the sending side)";
    return sender == Side::Server ? " and it reached the client" : " and it reached the server";
}

const char* how(const Evidence& e) { return e.rst ? "reset" : "closed"; }
const char* who(const Evidence& e) { return e.from == Side::Client ? "client" : "server"; }

// "a fatal alert protocol_version (70)": the alert a diagnosis rests on, as its text names it.
std::string alert_words(const TlsAlert& a) {
    return format("a %s alert %s (%u)", a.level == 2 ? "fatal" : "warning", tls_alert_name(a.description),
                  a.description);
}
// "Alert from the server (captured on the sending side).": where the alert came from, for the detail.
std::string alert_origin(const Evidence& e) {
    return format("Alert from the %s%s.", who(e), seen_from(e.capture_point, e.from));
}

std::string Describer::certificate_detail() const {
    const auto& cert = tls_.cert;
    if (!cert) return {};
    return format("Certificate \"%s\" issued by \"%s\"%s, signed with %s, valid from %s to %s%s.",
                  cert->subject_cn.c_str(), cert->issuer_cn.c_str(), cert->self_issued ? " (self-signed)" : "",
                  signature_algorithm_name(cert->signature_oid).c_str(), format_utc(cert->not_before).c_str(),
                  format_utc(cert->not_after).c_str(),
                  tls_.certificate_expired()            ? ", expired at capture time"
                  : cert->not_before > tls_.cert_seen_s ? ", not yet valid at capture time"
                                                        : "");
}

const char* Describer::certificate_reason(bool weak) const {
    if (!tls_.cert) return "";
    if (tls_.certificate_expired()) return " (expired at capture time)";
    if (weak) return " (weak hash)";
    if (tls_.cert->self_issued) return " (self-signed: untrusted)";
    if (c_.certificate_name_mismatch()) return " (CA-issued, without the name the client asked for: certificate_name_mismatch)";
    if (tls_.below_policy() & kPolicyRsaKey) return " (likely its RSA key, under 2048 bits)";
    // Issued by a CA, not expired, no weak hash: the capture cannot tell which check failed. ODBC Driver 18
    // and go-mssqldb both end like this for a CA the client does not trust and for a name mismatch.
    return " (CA-issued, not expired: likely an untrusted CA or no name matching the server name used)";
}

std::string Describer::certificate_fix(bool weak) const {
    if (tls_.certificate_expired()) return kRenewFix;
    if (!weak && tls_.cert && !tls_.cert->self_issued && (tls_.below_policy() & kPolicyRsaKey))
        return "Replace the certificate with one whose RSA key has 2048 bits or more.";
    if (!weak && tls_.cert && !tls_.cert->self_issued)
        return "Trust the issuing CA on the client and connect with a name the certificate carries (or set "
               "HostNameInCertificate); TrustServerCertificate only as a stop-gap.";
    return fix_of(weak ? Code::WeakCertHash : Code::CertificateRejected);
}

std::string Describer::offered_detail() const {
    // Appended in place: a ClientHello lists dozens of suites, and a capture may hold thousands of
    // connections that fail this way.
    const auto& suites = tls_.offered_suites;
    std::string text = format("ClientHello (frame %u) offered %s and %zu cipher suites: ", tls_.client_hello_frame,
                              offered_versions().c_str(), suites.size());
    text.reserve(text.size() + suites.size() * 40);
    for (size_t i = 0; i < suites.size(); ++i) {
        if (i) text += ", ";
        const char* name = c_.config().cipher_name ? c_.config().cipher_name(suites[i]) : nullptr;
        if (name != nullptr) {
            text += name;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%04x", suites[i]);
            text += hex;
        }
    }
    text += '.';
    if (text.size() > kMaxFormatted) text.resize(kMaxFormatted);  // as long as format() would have made it
    return text;
}

Words Describer::words(const Finding& f) const {
    const Evidence& e = f.evidence;
    const Code code = f.code;
    const Severity sev = code_info(code).severity;
    switch (code) {
    case Code::SynUnanswered:
        if (auto w = in_turn_words(e, c_)) return std::move(*w);
        return {sev,
                format("The SYN got no answer for %s and was sent again: a firewall, a wrong address or port, or a "
                       "listener too busy to accept.",
                       seconds(e.waited_ns).c_str()),
                fix_of(code),
                format("Server %s. Nothing in the capture answers the SYN so far; on SQL Server 2017 and older an IOCP "
                       "listener shortage delays accepts under load. If a SYN/ACK follows, read slow_accept instead.",
                       server_name().c_str())};
    case Code::SlowAccept:
        return {sev,
                format("The server accepted the connection %s after the first SYN (threshold %s): a busy listener.",
                       seconds(e.waited_ns).c_str(), seconds(c_.config().slow_accept_ns).c_str()),
                fix_of(code),
                format("The client sent its SYN %d more time(s) before the SYN/ACK. SQL Server 2019 and later have a "
                       "dedicated login pool that reduces accept delays.",
                       e.retries)};
    case Code::CaptureStartedMidstream:
        return {sev,
                "The capture holds no TCP handshake for this connection (common at capture start): its first steps "
                "cannot be shown and its outcome may be unknown.",
                "",
                ""};
    case Code::CleartextLogin:
        if (e.variant == Variant::NoPreloginInClear)
            // jTDS with its default ssl=off, FreeTDS with tds version 7.0/7.1: no PRELOGIN, so no TLS can be
            // negotiated, and a server forcing encryption refuses such a login instead of encrypting it.
            return {sev,
                    "The Login7 travels without TLS and without a PRELOGIN before it (a TDS 7.0/7.1 client, e.g. jTDS "
                    "with ssl=off): its user name and (merely obfuscated) password are readable on the path.",
                    "Enable encryption in the client (jTDS: ssl=require; FreeTDS: tds version 7.4 and encryption = "
                    "require); Force Encryption on the server alone would refuse this client.",
                    ""};
        return {sev,
                e.variant == Variant::WindowsAuthInClear
                    ? "The Login7 travels without TLS, with Windows authentication: no password crosses the wire, but "
                      "the user, host and application names and the whole session are readable on the path."
                : e.variant == Variant::EmptyPasswordInClear
                    ? "The Login7 travels without TLS with an empty password field and no SSPI data: no password "
                      "crosses the wire, but the user, host and application names and the whole session are readable "
                      "on the path."
                    : "The Login7 travels without TLS: its user name and (merely obfuscated) password are readable on "
                      "the path.",
                fix_of(code) + " Set Encrypt=True on the client, or Force Encryption on the server.",
                ""};
    case Code::SlowLogin:
        if (e.variant == Variant::NetworkSlowLogin)
            return {sev,
                    format("The server answered the login %s after it was sent (threshold %s), %s of it lost in the "
                           "network (slow_network).",
                           seconds(e.waited_ns).c_str(), seconds(c_.config().slow_login_ns).c_str(),
                           seconds(std::min(e.net.lost_ns(), e.waited_ns)).c_str()),
                    "See slow_network: the server was likely not the cause.", ""};
        return {sev,
                format("The server answered the login %s after it was sent (threshold %s).", seconds(e.waited_ns).c_str(),
                       seconds(c_.config().slow_login_ns).c_str()),
                fix_of(code),
                ""};
    case Code::LoginFailed: {
        const TdsError& err = e.error ? *e.error : TdsError{};
        const LoginErrorInfo* info = login_error_info(err.number);
        std::string meaning = info != nullptr ? info->meaning : "";
        if (err.number == 18456) meaning = login_failed_state_meaning(err.state);
        const std::string why =
            meaning.empty() ? " The SQL Server error log says why for this state." : " It means " + meaning + ".";
        const std::string fix = info != nullptr ? info->fix : "";
        std::string text = format("Login failed: error %u, state %u, class %u: \"%s\".", err.number, err.state,
                                  err.severity, err.message.c_str()) +
                           why;
        // A long server message stays in the detail, and so does the fix if the text cannot hold it.
        if (text.size() > kMaxTextLength || (!fix.empty() && text.size() + 6 + fix.size() > kMaxTextLength))
            text = format("Login failed: error %u, state %u, class %u.", err.number, err.state, err.severity) + why;
        return {sev, text, fix.empty() ? fix_of(code) : fix, format("Server message: \"%s\"", err.message.c_str())};
    }
    case Code::Attention:
        if (const AttentionRecord* a = c_.attention_at(f.frame)) return attention(*a);
        return {sev, "The client sent an attention.", "", ""};
    case Code::Redirected: return redirect();
    case Code::PortReuse: return reuse(f);
    case Code::NtlmFallback:
        return {sev,
                e.variant == Variant::FallbackByClient
                    ? "The client offered Kerberos (SPNEGO) but goes on with NTLM: likely it could not get a Kerberos "
                      "ticket for the server's SPN."
                    : "The client offered Kerberos (SPNEGO) but the server chose NTLM: likely it has no key for the "
                      "SPN the client used.",
                e.variant == Variant::FallbackByClient ? "Check the SPN MSSQLSvc/host:port (setspn -L)."
                                                       : "Check the SPN MSSQLSvc/host:port and its account (setspn -L).",
                "A missing, duplicate or misplaced SPN is the usual cause; NTLM then works but cannot be delegated "
                "(double hop) and is weaker."};
    case Code::AnonymousLogon:
        return {sev,
                "The NTLM AUTHENTICATE carries an empty user and domain: SQL Server sees NT AUTHORITY\\ANONYMOUS "
                "LOGON, typically a double hop without Kerberos delegation.",
                fix_of(code),
                "The client had no credentials to pass on: e.g. a web server or linked server forwarding a "
                "user's identity over NTLM, which cannot be delegated."};
    case Code::CertificateNameMismatch: return name_mismatch(f);
    case Code::DnsStaleAddress: {
        const DnsLookup* l = c_.dns_lookup();
        if (l == nullptr) return {sev, "The client connected to an address its latest DNS answer did not hold.", fix_of(code), ""};
        std::string answered;
        for (const std::string& a : l->addresses) answered += (answered.empty() ? "" : ", ") + a;
        return Words{sev,
                     format("The client connected to %s for %s, but the latest DNS answer for it (frame %u) held %s: "
                            "likely a stale DNS cache or a hosts file entry.",
                            c_.server_addr().c_str(), l->name.c_str(), l->answer_frame, answered.c_str()),
                     fix_of(code),
                     c_.dns_browser_frame() != 0
                         ? format("The name is the DNS name of the machine the SQL Browser's answer names (frame "
                                  "%u, its ServerName).",
                                  c_.dns_browser_frame())
                         : std::string("The name is the ClientHello's SNI.")};
    }
    case Code::StrictEncryptionMismatch: return strict(f);
    case Code::EncryptionNotSupported:
        return {sev,
                e.variant == Variant::ServerLacksEncryption
                    ? "The client requires encryption but the server's prelogin answered ENCRYPT_NOT_SUP, and the "
                      "connection ended there."
                    : "The server requires encryption but the client's prelogin said ENCRYPT_NOT_SUP, and the "
                      "connection ended there.",
                e.variant == Variant::ServerLacksEncryption
                    ? "Give SQL Server a certificate and enable encryption, or stop requiring it."
                    : "Enable encryption in the client driver, or stop forcing it on the server.",
                ""};
    case Code::DheCipher:
    case Code::OldTlsVersion:
    case Code::TlsAlert:
    case Code::NoCommonTlsVersion:
    case Code::NoCommonCipher:
    case Code::DheHandshakeFailure:
    case Code::TlsHandshakeIncomplete: return tls(f);
    case Code::WeakCertHash:
    case Code::CertificateRejected: return certificate(f);
    case Code::ClientTlsPolicy: return client_policy(f);
    case Code::SynRejected:
    case Code::LoginTimeout:
    case Code::LoginAbandoned:
    case Code::ServerFirstFin:
    case Code::ServerReset:
    case Code::ClientReset:
    case Code::ClientSilentAfterLogin: return close(f);
    case Code::MiddleboxReset: {
        const char* side = e.from == Side::Client ? "client" : "server";
        return {sev,
                format("This reset came with TTL %d where the %s's other packets had %d: likely a firewall, IPS or load "
                       "balancer on the path made it, not the %s.",
                       e.ttl, side, e.usual_ttl, side),
                fix_of(code), ""};
    }
    case Code::IdleReset: {
        // Worst case (a 10-digit frame, a silence of days) still fits kMaxTextLength: the unit test checks it.
        const std::string idle = format("After %s of silence (over tdsdiag.idle_timeout_s, %s),",
                                        seconds(e.waited_ns).c_str(), seconds(c_.config().idle_timeout_ns).c_str());
        if (e.variant == Variant::IdleUnacknowledged)
            return {sev,
                    format("%s the %s's next packet (frame %u) was resent with no acknowledgement: likely a firewall or "
                           "load balancer forgot the idle connection and drops it.",
                           idle.c_str(), e.from == Side::Client ? "client" : "server", e.idle_frame),
                    fix_of(code), ""};
        return {sev,
                format("%s the next packet (frame %u) was answered by a reset: likely a firewall or load balancer "
                       "forgot the idle connection.",
                       idle.c_str(), e.idle_frame),
                fix_of(code), ""};
    }
    case Code::SlowNetwork: {
        const NetCost& n = e.net;
        const char* loss_fix = "Check the path for packet loss: NIC and driver, duplex mismatch, Wi-Fi, VPN, firewall.";
        const char* reader_fix = "Look at the side whose window was 0: a client holding results unread, or a server too busy to read.";
        if (e.variant == Variant::ZeroWindowStall) {
            const bool client = e.from == Side::Client;  // the side whose window opens again
            return {sev,
                    format("The %s's receive window stayed at 0 for %s (tdsdiag.zero_window_stall_ms: %s): the %s could "
                           "send nothing. Likely the %s stopped reading.",
                           client ? "client" : "server", seconds(e.waited_ns).c_str(),
                           milliseconds(c_.config().zero_window_stall_ns).c_str(), client ? "server" : "client",
                           client ? "client application" : "server"),
                    reader_fix,
                    format("Zero-window time in this connection so far: %s; retransmissions: %u.",
                           seconds(n.zero_window_ns).c_str(), n.retransmissions)};
        }
        const bool loss = n.retransmission_wait_ns >= n.zero_window_ns;
        std::string what = format("The login took %s, of which %s went to", seconds(e.waited_ns).c_str(),
                                  seconds(std::min(n.lost_ns(), e.waited_ns)).c_str());
        if (n.retransmissions > 0)
            what += format(" %u TCP retransmission(s) (%s waiting for them)", n.retransmissions,
                           seconds(n.retransmission_wait_ns).c_str());
        if (n.zero_window_ns > 0)
            what += format("%s a zero window (%s)", n.retransmissions > 0 ? " and" : "", seconds(n.zero_window_ns).c_str());
        what += loss ? ": likely packet loss between client and server." : ": likely the receiver stopped reading.";
        return {sev, what, loss ? loss_fix : reader_fix,
                format("Without that time the login would have taken %s, under tdsdiag.slow_login_ms (%s). A retransmission "
                       "costs the time from its segment's first copy to its last.",
                       seconds(std::max<int64_t>(0, e.waited_ns - n.lost_ns())).c_str(),
                       milliseconds(c_.config().slow_login_ns).c_str())};
    }
    case Code::ParallelAttempt: return parallel_attempt_words(c_);  // issue 31
    case Code::PathMtuBlackHole: {  // issue 31: text below (pmtu_words)
        PmtuWords w = pmtu_words(e, c_, complete_);
        return {sev, std::move(w.what), std::move(w.fix), std::move(w.detail)};
    }
    default: break;
    }
    return {sev, std::string(code_info(code).summary) + ".", fix_of(code), ""};
}

std::string Describer::server_tls12(bool& lacks, std::string& detail) const {
    lacks = false;
    if (c_.server().prelogin_version < 0) return "";
    const ProductVersion v = unpack_version(c_.server().prelogin_version);
    const std::string name = server_version_text(v);
    switch (tls12_support(v)) {
    case Support::No: {
        lacks = true;
        const uint16_t first = first_tls12_build(v);
        detail = first != 0 ? format("%s: its servicing branch has TLS 1.2 from build %u.%u.%u on (KB3135244).",
                                     name.c_str(), v.major, v.minor, first)
                            : format("%s: no build of its service pack has TLS 1.2 for x86/x64 (KB3135244); a "
                                     "later service pack or release has.",
                                     name.c_str());
        return format(" The server, %s, lacks TLS 1.2.", name.c_str());
    }
    case Support::Yes: return format(" The server, %s, has TLS 1.2: likely disabled there.", name.c_str());
    case Support::Unknown: break;
    }
    return "";
}

// What an alert asks to check, by its description (RFC 8446 section 6.2).
std::string alert_fix(uint8_t description) {
    if (description >= 42 && description <= 49)
        return "Check the certificate the alert refers to: trust its CA on the client, or renew it.";
    if (description == 40 || description == 71) return fix_of(Code::NoCommonCipher);
    if (description == 70) return fix_of(Code::NoCommonTlsVersion);
    return fix_of(Code::TlsAlert);
}

Words Describer::tls(const Finding& f) const {
    const Evidence& e = f.evidence;
    const Severity sev = code_info(f.code).severity;
    const std::string fix = fix_of(f.code);
    switch (f.code) {
    case Code::DheCipher:
        return {sev,
                format("The server chose %s, a TLS_DHE suite: between Windows versions these fail now and then with "
                       "10054.",
                       tls_.cipher ? cipher_text(*tls_.cipher).c_str() : "?"),
                fix, ""};
    case Code::OldTlsVersion:
        return {sev,
                format("The server chose %s, an old TLS version with known weaknesses that policies are disabling.",
                       tls_.version ? tls_version_name(*tls_.version).c_str() : "?"),
                fix, ""};
    case Code::TlsAlert: {
        const bool fatal = e.alert.level == 2;
        return {fatal ? Severity::Error : Severity::Warn,
                format("The %s sent a %s TLS alert %u (%s)%s.", who(e), fatal ? "fatal" : "warning", e.alert.description,
                       tls_alert_name(e.alert.description), e.in_handshake ? " during the handshake" : ""),
                alert_fix(e.alert.description), alert_origin(e)};
    }
    case Code::NoCommonTlsVersion: {
        bool lacks = false;
        std::string build_detail;
        const std::string build = server_tls12(lacks, build_detail);
        const char* build_fix = "Update SQL Server to a build with TLS 1.2.";
        if (e.variant == Variant::VersionAlert)
            return {sev,
                    format("The %s refused the TLS version with %s: the client offered %s.", who(e),
                           alert_words(e.alert).c_str(), offered_versions().c_str()) +
                        (e.from == Side::Client ? build : std::string()),
                    e.from == Side::Client && lacks ? build_fix : fix,
                    alert_origin(e) + " " +
                        (e.from == Side::Client && lacks ? build_detail + " " + offered_detail() : offered_detail())};
        if (e.variant == Variant::VersionTooOldOffered)
            return {sev,
                    format("The server %s the connection right after a ClientHello offering at most %s: likely it "
                           "refuses versions below TLS 1.2.",
                           how(e), tls_version_name(tls_.offered_max).c_str()),
                    fix, offered_detail()};
        if (e.variant == Variant::VersionOldThenClosed)
            return {sev,
                    format("The client %s without an alert after the server chose %s from an offer up to %s: likely it "
                           "refuses that version (OpenSSL 3 rejects its signatures), less likely the certificate%s.",
                           how(e), tls_.version ? tls_version_name(*tls_.version).c_str() : "?",
                           tls_version_name(tls_.offered_max).c_str(),
                           tls_.cert && tls_.cert->self_issued ? " (self-signed)" : ""),
                    "Enable TLS 1.2 on the server.",
                    certificate_detail()};
        return {sev,
                format("The client %s the connection after the server chose %s, below the lowest version it offered "
                       "(%s).",
                       how(e), tls_.version ? tls_version_name(*tls_.version).c_str() : "?",
                       tls_version_name(tls_.offered_min).c_str()) +
                    build,
                lacks            ? build_fix
                : build.empty()  ? "Enable TLS 1.2 on the server, or allow the older version on the client."
                                 : "Enable TLS 1.2 on the server.",
                build_detail};
    }
    case Code::NoCommonCipher:
        if (e.variant == Variant::CipherAlert)
            return {sev,
                    format("The server answered the ClientHello with %s: none of the %zu suites offered is enabled on it.",
                           alert_words(e.alert).c_str(), tls_.offered_suites.size()),
                    fix, alert_origin(e) + " " + offered_detail()};
        return {sev,
                format("The server %s the connection right after a ClientHello with %zu suites, without an alert: "
                       "likely no common cipher suite.",
                       how(e), tls_.offered_suites.size()),
                fix, offered_detail()};
    case Code::DheHandshakeFailure:
        return {sev,
                format("The server %s the DHE handshake after the client's key exchange, without Finished or alert: "
                       "the DHE leading-zero defect.",
                       how(e)),
                fix, format("Negotiated suite: %s.", tls_.cipher ? cipher_text(*tls_.cipher).c_str() : "?")};
    default:
        return {sev,
                format("The %s %s the connection during the TLS handshake%s; the capture shows no more specific cause.",
                       who(e), how(e), e.alert_seen ? ", after a TLS alert" : ""),
                fix, ""};
    }
}

Words Describer::certificate(const Finding& f) const {
    const Evidence& e = f.evidence;
    const Severity sev = code_info(f.code).severity;
    const auto hash_of = [](const std::shared_ptr<const CertInfo>& cert) {
        return cert ? signature_hash(cert->signature_oid) : std::string("?");
    };
    switch (e.variant) {
    case Variant::WeakOwnCertificate:
        return {sev,
                format("The server certificate is signed with %s, which TLS 1.2 logins on Windows cannot use.",
                       hash_of(tls_.cert).c_str()),
                fix_of(Code::WeakCertHash),
                certificate_detail()};
    case Variant::WeakOtherConnection: {
        const ServerFacts& s = c_.server_facts();
        return {Severity::Error,
                format("The server %s the connection right after the ClientHello; connection %u (frame %u) showed its "
                       "certificate signed with %s: likely the cause.",
                       how(e), s.weak_cert_stream, s.weak_cert_frame, hash_of(s.weak_cert).c_str()),
                fix_of(Code::WeakCertHash),
                format("Certificate \"%s\" issued by \"%s\", seen in connection %u. ",
                       s.weak_cert ? s.weak_cert->subject_cn.c_str() : "?",
                       s.weak_cert ? s.weak_cert->issuer_cn.c_str() : "?", s.weak_cert_stream) +
                    offered_detail()};
    }
    case Variant::WeakThenRejected:
        return {Severity::Error,
                format("The handshake failed right after a certificate signed with %s: likely the client refused the "
                       "weak hash.",
                       hash_of(tls_.cert).c_str()),
                fix_of(Code::WeakCertHash), certificate_detail()};
    case Variant::RejectedWithAlert:
        return {sev,
                format("The client rejected the server certificate%s with %s.", certificate_reason(false),
                       alert_words(e.alert).c_str()),
                certificate_fix(false), alert_origin(e) + " " + certificate_detail()};
    case Variant::RejectedAfterCertificate: {
        const bool weak = tls_.certificate_weak();
        return {sev,
                format("The client %s the connection right after the server certificate, without an alert: it "
                       "rejected it%s.",
                       how(e), certificate_reason(weak)),
                certificate_fix(weak), certificate_detail()};
    }
    case Variant::RejectedTls13:
        return {sev,
                format("The client %s after the server's encrypted TLS 1.3 flight without its Finished: likely it "
                       "rejected the certificate (untrusted or expired).",
                       how(e)),
                "Decrypt with the client's TLS key log to see it, then trust its CA or renew it.",
                "TLS 1.3 encrypts the server's certificate; open the capture with the client's TLS key log "
                "(tls.keylog_file) to see it."};
    case Variant::RejectedTls13Alert:
        return {sev,
                format("After the server's encrypted TLS 1.3 flight the client sent one encrypted record and no TDS, "
                       "then the %s %s the connection: likely an alert rejecting the certificate, which TLS 1.3 hides.",
                       who(e), how(e)),
                fix_of(Code::CertificateRejected),
                "TLS 1.3 encrypts the server's certificate and the client's alert; open the capture with a TLS key "
                "log (tls.keylog_file) to see them."};
    default:
        return {sev,
                format("The client %s the connection after a completed handshake, before its login: likely it "
                       "rejected the certificate%s.",
                       how(e), certificate_reason(false)),
                certificate_fix(false), certificate_detail()};
    }
}

// The client left right after a server flight holding what TLS libraries refuse: each item with its
// number, and in the detail which clients refused it in the lab (docs/tls-policy.md).
Words Describer::client_policy(const Finding& f) const {
    const Evidence& e = f.evidence;
    const uint8_t items = tls_.below_policy();
    std::string list, libs;
    const auto add = [&](const std::string& item, const char* who_refuses) {
        if (!list.empty()) list += ", ";
        list += item;
        libs += who_refuses;
    };
    if (items & kPolicyHash)
        add(format("%s %s CA signature", signature_hash(tls_.cert->signature_oid) == "MD5" ? "an" : "a",
                   signature_hash(tls_.cert->signature_oid).c_str()),
            kPolicyHashLibs);
    if (items & kPolicyRsaKey) add(format("a %d-bit RSA key", tls_.cert->rsa_bits), kPolicyRsaLibs);
    if (items & kPolicyDhGroup) add(format("a %d-bit DHE group", tls_.dh_p_bits), kPolicyDhLibs);
    if (items & kPolicyVersion) add(tls_version_name(*tls_.version), kPolicyVersionLibs);
    const std::string how_left =
        e.alert.level == 2 ? format("sent a fatal %s alert", tls_alert_name(e.alert.description)) : std::string(how(e));
    std::string detail = libs;
    if (tls_.cert) detail += " " + certificate_detail();
    return {code_info(f.code).severity,
            format("The client %s right after the server's flight, before its key exchange: likely its TLS library "
                   "refused %s.",
                   how_left.c_str(), list.c_str()),
            fix_of(f.code), detail};
}

Words Describer::name_mismatch(const Finding& f) const {
    std::string source;
    const std::string asked = c_.asked_name(source);
    const std::string held = tls_.cert ? certificate_names(*tls_.cert) : std::string("?");
    const std::string detail =
        format("The client asked for \"%s\" (%s); the certificate holds %s (names compared as RFC 6125 says). ",
               asked.c_str(), source.c_str(), held.c_str()) +
        certificate_detail();
    if (f.evidence.variant == Variant::NameRejected)
        return {Severity::Error,
                format("The client rejected the certificate: it asked for \"%s\" (%s), and the certificate holds %s.",
                       asked.c_str(), source.c_str(), held.c_str()),
                fix_of(f.code), detail};
    return {code_info(f.code).severity,
            format("The certificate holds %s, not \"%s\" (%s): a client that checks the name (ODBC Driver 18 by default, "
                   "any strict client) refuses it; one that goes on did not check.",
                   held.c_str(), asked.c_str(), source.c_str()),
            fix_of(f.code), detail};
}

std::string Describer::server_tds8() const {
    int64_t packed = c_.server().prelogin_version;
    if (packed < 0) packed = c_.server_facts().prelogin_version;
    if (packed < 0) return "";
    const ProductVersion v = unpack_version(packed);
    return format(" The server, %s, %s TDS 8.0.", server_version_text(v).c_str(),
                  supports_tds8(v) ? "has" : "has no");
}

Words Describer::strict(const Finding& f) const {
    const Evidence& e = f.evidence;
    const std::string version = server_tds8();
    const std::string client_fix = fix_of(f.code);
    switch (e.variant) {
    case Variant::StrictAnsweredTds:
        return {Severity::Error,
                "The client opened with TLS for TDS 8.0 (Encrypt=strict, ALPN tds/8.0) and the server answered with TDS "
                "bytes, not a ServerHello: it does not speak TDS 8.0." + version,
                client_fix, offered_detail()};
    case Variant::StrictServerClosed:
        return {Severity::Error,
                format("The client opened with TLS for TDS 8.0 (Encrypt=strict, ALPN tds/8.0) and the server %s the "
                       "connection without a ServerHello: likely it does not speak TDS 8.0 (before SQL Server 2022).",
                       how(e)) +
                    version,
                client_fix, offered_detail()};
    case Variant::StrictServerSilent:
        return {Severity::Error,
                format("The client opened with TLS for TDS 8.0 (Encrypt=strict, ALPN tds/8.0), got no answer in %s and "
                       "gave up: likely the server does not speak TDS 8.0 (before SQL Server 2022).",
                       seconds(e.waited_ns).c_str()) +
                    version,
                client_fix, offered_detail()};
    default:
        return {code_info(f.code).alt_severity,
                format("The server %s the connection right after the client's PRELOGIN, without answering it: likely it "
                       "requires TDS 8.0 strict encryption (Force Strict Encryption), which this client did not use.",
                       how(e)),
                "Set Encrypt=strict on the client (its driver must have TDS 8.0), or turn off Force Strict Encryption on "
                "the server.",
                "A server with Force Strict Encryption (SQL Server 2022 or later) closes a PRELOGIN without a word; the "
                "capture cannot show that setting: the SQL Server error log at that time names the reason." +
                    version};
    }
}

// The likely causes of a server's close, in order, by the step it interrupted, and how to tell them apart.
std::string Describer::close_fix(Step during) const {
    switch (during) {
    case Step::TcpHandshake:
    case Step::Prelogin:
        return "Likely an encryption setting it refuses: compare the client's Encrypt with the server's Force "
               "Encryption.";
    case Step::TlsHandshake:
        return "Likely it refuses the offered TLS versions or suites: compare them with the server's TLS settings.";
    case Step::Login:
    case Step::LoginResponse:
        return "Check the SQL Server error log at that time for a login or resource limit, or a restart.";
    case Step::Commands:
        return "Check the SQL Server error log at that time for a KILL, an error of class 20+ or a restart.";
    default: return fix_of(Code::ServerFirstFin);
    }
}

Words Describer::close(const Finding& f) const {
    const Evidence& e = f.evidence;
    const Severity sev = code_info(f.code).severity;
    const Step during = step_of(e.before).value_or(Step::TcpHandshake);
    switch (f.code) {
    case Code::SynRejected: {
        const TcpTracker& t = c_.tcp();
        const std::string tries = t.syn_refusals > 1 ? format(" (%d attempts on the same ports)", t.syn_refusals) : "";
        return {sev,
                format("The SYN was answered by a reset%s%s: nothing listens on %s, or its backlog is full.",
                       seen_from(e.capture_point, Side::Server), tries.c_str(), server_name().c_str()),
                fix_of(f.code),
                t.syn_refusals > 1
                    ? format("The client sent its SYN %d times from port %u, each answered by a reset, the last %s after "
                             "the first: one refused connection attempt, retried as Windows clients do. In SQL Server "
                             "Configuration Manager, check that TCP/IP is enabled on that port.",
                             t.syn_attempts, c_.client_port(), seconds(t.last_refusal_ns - t.first_syn_ns).c_str())
                    : "In SQL Server Configuration Manager, check that TCP/IP is enabled on that port."};
    }
    case Code::LoginTimeout: {
        const char* what = e.before == State::Prelogin       ? "prelogin response (step 2)"
                           : e.before == State::TlsHandshake ? "next TLS handshake message (step 3)"
                                                             : "login response (step 5)";
        return {sev,
                format("The client gave up after %s without the server's %s: likely worker shortage or an "
                       "authentication delay.",
                       seconds(e.waited_ns).c_str(), what),
                fix_of(f.code),
                format("The client %s the connection; its last message was %s before.", how(e),
                       seconds(e.waited_ns).c_str())};
    }
    case Code::LoginAbandoned: {
        const char* what = e.before == State::Prelogin       ? "prelogin response (step 2)"
                           : e.before == State::TlsHandshake ? "next TLS handshake message (step 3)"
                                                             : "login response (step 5)";
        return {sev,
                format("The client closed after only %s without the server's %s: too soon for a timeout, so likely "
                       "the application gave up, or the capture missed the server's answer.",
                       milliseconds(e.waited_ns).c_str(), what),
                fix_of(f.code), format("The client %s the connection %s after its last message; login_timeout needs a wait of at "
                           "least %s (preference tdsdiag.login_timeout_min_ms).",
                           how(e), milliseconds(e.waited_ns).c_str(), seconds(c_.config().login_timeout_min_ns).c_str())};
    }
    case Code::ClientSilentAfterLogin:
        return {sev,
                format("The server accepted the login, then the client sent nothing for %s and %s the connection: "
                       "the client stopped answering, not the server.",
                       seconds(e.waited_ns).c_str(), how(e)),
                fix_of(f.code),
                "A driver that cannot read the login response hangs this way: jTDS with ssl=request on Java 17 "
                "reads the server's clear answer after login-only encryption as TLS and waits for more."};
    case Code::ServerFirstFin:
        return {sev,
                format("The server closed the connection first, during step %u (%s), which SQL Server does not do in a "
                       "normal session.",
                       static_cast<unsigned>(during), step_name(during)),
                close_fix(during), ""};
    case Code::ServerReset:
        if (e.usual_ttl >= 0)
            return {sev,
                    format("The connection was reset in the server's name during step %u (%s), likely sent by a device "
                           "on the path (TTL %d, not the server's %d): the client sees \"forcibly closed by the remote "
                           "host\" (10054).",
                           static_cast<unsigned>(during), step_name(during), e.ttl, e.usual_ttl),
                    fix_of(Code::MiddleboxReset), ""};
        return {sev,
                format("The server reset the connection during step %u (%s)%s: the client sees error 10054.",
                       static_cast<unsigned>(during), step_name(during), seen_from(e.capture_point, Side::Server)),
                close_fix(during), ""};
    default:
        if (e.usual_ttl >= 0)
            return {sev,
                    format("The connection was reset in the client's name instead of closed, likely sent by a device on "
                           "the path (TTL %d, not the client's %d), not by the client's driver.",
                           e.ttl, e.usual_ttl),
                    "", ""};
        return {sev,
                "The client ended the connection with a reset instead of a FIN, as many non-Microsoft drivers do; "
                "harmless when the session's work was done.",
                "", ""};
    }
}

Words Describer::attention(const AttentionRecord& a) const {
    std::string ran, hint;
    if (a.request_ns >= 0) {
        const int64_t t = a.ns - a.request_ns;
        ran = format(" %s after the request", seconds(t).c_str());
        // 30 s is the default command timeout of SqlClient, ODBC and JDBC; 15 s of tedious.
        if ((t >= 29500000000 && t <= 30500000000) || (t >= 14500000000 && t <= 15500000000))
            hint = " The request ran as long as a usual command timeout: likely a timeout, not a user's cancel.";
    }
    const std::string base =
        format("The client sent an attention%s, cancelling the running request (a user's cancel or a command timeout).",
               ran.c_str());
    std::string outcome, detail, fix;
    Severity severity = Severity::Note;
    if (a.ack_frame != 0) {
        outcome = format(" The server acknowledged it %s later (frame %u).", seconds(a.ack_ns - a.ns).c_str(), a.ack_frame);
        detail = "The acknowledgement is the DONE token with the attention bit (0x20).";
    } else if (a.close_frame != 0) {
        severity = Severity::Warn;
        fix = "Look for blocking on the server at that time (sys.dm_exec_requests, blocking_session_id).";
        outcome = format(" Never acknowledged: the connection closed %s later (frame %u). Likely blocking on the "
                         "server.",
                         seconds(a.close_ns - a.ns).c_str(), a.close_frame);
        detail = "No DONE with the attention bit (0x20) came back: the server did not stop the request in time, so "
                 "the client gave up on the connection.";
    } else if (complete_) {
        outcome = " The capture ends before the server acknowledged it.";
    } else {
        detail = "Its acknowledgement is the server's DONE token with the attention bit (0x20).";
    }
    std::string text = base + hint + outcome;
    if (text.size() > kMaxTextLength && !hint.empty()) {  // the hint moves to the detail
        text = base + outcome;
        detail = hint.substr(1) + " " + detail;
    }
    return {severity, text, fix, detail};
}

Words Describer::reuse(const Finding& f) const {
    const Evidence& e = f.evidence;
    const TcpTracker& t = c_.tcp();
    const bool failed = complete_ && t.syn_ack_frame == 0;
    const Severity sev = failed ? Severity::Error : code_info(f.code).severity;
    if (!c_.earlier()) return {sev, std::string(code_info(f.code).summary) + ".", fix_of(f.code), ""};
    const EarlierConnection& old = *c_.earlier();
    const std::string when = old.ended ? format("frame %u, ended %s before", old.first_frame, seconds(e.waited_ns).c_str())
                                       : format("frame %u, never closed in the capture, last packet %s before",
                                                old.first_frame, seconds(e.waited_ns).c_str());
    const char* likely = "likely the client reused the port (its ephemeral ports running out) while the server still "
                         "held that connection.";
    std::string text =
        e.variant == Variant::ReuseAnsweredByAck
            ? format("The server answered the SYN with an ACK of connection %u (%s), not a SYN/ACK: %s", old.stream,
                     when.c_str(), likely)
            : format("The server reset the SYN on the ports of connection %u (%s), which it had accepted: %s",
                     old.stream, when.c_str(), likely);
    std::string detail =
        e.variant == Variant::ReuseAnsweredByAck
            ? format("The SYN (sequence %u) got an ACK of %u: a segment of connection %u (first frame %u), which the "
                     "server's TCP still holds, in TIME_WAIT or established. ",
                     t.syn_seq, t.bounce_ack, old.stream, old.first_frame)
            : format("Connection %u (first frame %u) on the same addresses and ports was accepted by the server. ",
                     old.stream, old.first_frame);
    detail += format("It ended within tdsdiag.time_wait_s (%s). Likely the client's ephemeral ports ran out (see the "
                     "summary's connections per second), or the client reused the port while the server still held "
                     "it in TIME_WAIT.",
                     seconds(c_.config().time_wait_ns).c_str());
    if (t.syn_ack_frame != 0)
        detail += format(" The SYN sent again was accepted (frame %u).", t.syn_ack_frame);
    else if (failed)
        detail += " The connection never got a SYN/ACK.";
    return {sev, text, fix_of(f.code), detail};
}

Words Describer::redirect() const {
    const SessionTracker& s = c_.session();
    const std::string target = s.redirect ? s.redirect->server + ":" + std::to_string(s.redirect->port) : "?";
    // A long host name stays whole in the detail; the text names its start.
    const std::string shown = target.size() > 56 ? target.substr(0, 53) + "..." : target;
    std::string text = format("The login response redirects the client to %s (ENVCHANGE routing: Azure SQL redirect "
                              "or read-only routing).",
                              shown.c_str());
    std::string detail =
        format("Routing target %s, protocol %u (0 is TCP).", target.c_str(), s.redirect ? s.redirect->protocol : 0);
    std::string fix;
    if (s.redirect_stream) {
        text += format(" It did: connection %u (frame %u).", *s.redirect_stream, s.redirect_conn_frame);
    } else if (complete_) {
        const bool azure = s.redirect && s.redirect->port >= 11000 && s.redirect->port <= 11999;
        text += " No connection to it follows.";
        fix = azure ? "Open TCP 11000-11999 to Azure SQL." : "Check that the client can reach it.";
        if (s.redirect && !is_ip_literal(s.redirect->server))
            detail += " The target is a host name: a connection to its address may be in the capture under an "
                      "address tdsdiag cannot tie to the name.";
    }
    return {Severity::Note, text, fix, detail};
}

}  // namespace

std::optional<Diagnosis> describe(const Finding& f, const Connection& c, bool capture_complete) {
    if (!c.stands(f)) return std::nullopt;
    Diagnosis d = compose(f.code, Describer(c, capture_complete).words(f));
    if (f.code == Code::Attention)
        if (const AttentionRecord* a = c.attention_at(f.frame); a != nullptr && a->ack_frame != 0) {
            d.answered_in = a->ack_frame;
            d.answer_delay_ns = a->ack_ns - a->ns;
        }
    return d;
}

// ---- the SQL Browser lookups' texts (ssrp.hpp) ------------------------------------------------

namespace {

std::string icmp_name(const BrowserPacket& p) {
    if (p.icmpv6) {
        if (p.icmp_type == 1) {
            switch (p.icmp_code) {
            case 1: return "ICMPv6 destination unreachable (administratively prohibited)";
            case 3: return "ICMPv6 address unreachable";
            case 4: return "ICMPv6 port unreachable";
            default: break;
            }
        }
        return format("ICMPv6 error (type %u, code %u)", p.icmp_type, p.icmp_code);
    }
    if (p.icmp_type == 3) {
        switch (p.icmp_code) {
        case 0: return "ICMP network unreachable";
        case 1: return "ICMP host unreachable";
        case 3: return "ICMP port unreachable";
        case 9:
        case 10:
        case 13: return "ICMP destination unreachable (administratively prohibited)";
        default: break;
        }
    }
    return format("ICMP error (type %u, code %u)", p.icmp_type, p.icmp_code);
}

// A lookup's texts stay under Wireshark's limit whatever the names in the packet: the last resort cuts.
Diagnosis lookup_diagnosis(Code code, std::string text, std::string detail = {}) {
    if (text.size() > kMaxTextLength) {
        detail = text + (detail.empty() ? "" : " ") + detail;
        text = text.substr(0, kMaxTextLength - 3) + "...";
    }
    return Diagnosis{code, code_info(code).severity, std::move(text), std::move(detail), 0, 0};
}

// A list short enough for an expert text; the whole list goes to the detail.
std::string shown_list(const std::string& list) { return list.size() > 60 ? list.substr(0, 57) + "..." : list; }

}  // namespace

Diagnosis browser_icmp_diagnosis(const BrowserPacket& p, const std::string& server, const std::string& what,
                                 bool port_unreachable, uint32_t request_frame, int64_t after_ns) {
    return lookup_diagnosis(Code::BrowserUnanswered,
                            format("%s from %s answered the SQL Browser %s: %s. Fix: start the SQL Browser service or open UDP 1434, or "
                                   "connect with an explicit port (server,port).",
                                   icmp_name(p).c_str(), server.c_str(), what.c_str(),
                                   port_unreachable ? "nothing listens on UDP 1434 (SQL Browser stopped or absent)"
                                                    : "a router or firewall rejects UDP 1434"),
                            format("Request frame %u, error %s after it.", request_frame, seconds(after_ns).c_str()));
}

Diagnosis browser_retry_diagnosis(const std::string& what, int64_t after_ns, const std::string& server) {
    return lookup_diagnosis(Code::BrowserUnanswered,
                            format("The client sent the SQL Browser %s again after %s without an answer from %s: the SQL Browser is "
                                   "stopped or UDP 1434 is blocked. Fix: start the SQL Browser or open UDP 1434, or "
                                   "connect with an explicit port.",
                                   what.c_str(), seconds(after_ns).c_str(), server.c_str()),
                            "If an answer follows, this diagnosis is withdrawn.");
}

Diagnosis browser_slow_diagnosis(const std::string& server, const std::string& what, int64_t delay_ns, int64_t slow_ns) {
    return lookup_diagnosis(Code::BrowserSlow,
                            format("The SQL Browser on %s answered %s after %s (threshold %s): each named-instance connection "
                                   "waits that long before its TCP handshake. Likely a busy server or a slow path.",
                                   server.c_str(), what.c_str(), seconds(delay_ns).c_str(), seconds(slow_ns).c_str()),
                            "Clients give up after about 1 s per try and retry; connecting with an explicit port skips the "
                            "lookup.");
}

Diagnosis browser_no_instance_diagnosis(const std::string& server, const std::string& requested,
                                        const std::string& instances) {
    return lookup_diagnosis(Code::BrowserInstanceMissing,
                            format("The SQL Browser on %s has no instance %s; it lists %s. Fix: check the instance name "
                                   "(SELECT @@SERVICENAME on the server) or connect with an explicit port.",
                                   server.c_str(), requested.c_str(), shown_list(instances).c_str()),
                            "Instances listed: " + instances + ".");
}

Diagnosis browser_silence_diagnosis(const std::string& what, const std::string& server, bool named_instance) {
    return lookup_diagnosis(Code::BrowserUnanswered,
                            format("The SQL Browser %s to %s got no answer in the capture: the SQL Browser is "
                                   "stopped or UDP 1434 is blocked%s. Fix: start it or open UDP 1434, or connect "
                                   "with an explicit port.",
                                   what.c_str(), server.c_str(),
                                   named_instance ? ", or (likely only if it runs) it has no such instance" : ""),
                            named_instance ? "The SQL Browser does not answer a request for an instance it does not know, "
                                             "so silence can also mean a wrong instance name."
                                           : "");
}

Diagnosis browser_unused_list_diagnosis(const std::string& server, const std::string& instances, SsrpType request) {
    return lookup_diagnosis(Code::BrowserInstanceMissing,
                            format("The SQL Browser on %s listed %s, and the client then opened no connection to it "
                                   "in the capture: the instance it wanted is likely not in the list. Fix: check the "
                                   "instance name.",
                                   server.c_str(), shown_list(instances).c_str()),
                            format("Instances listed: %s. The request (%s) does not name the instance the client "
                                   "wants, so this rests on the missing connection; a client that only lists "
                                   "instances looks the same.",
                                   instances.c_str(), ssrp_type_name(request)));
}

// ---- the DNS lookups' texts (dns.hpp) -------------------------------------------------------------

Diagnosis dns_failed_diagnosis(const std::string& name, const std::string& types, const std::string& resolver,
                               bool silent, bool complete) {
    std::string detail =
        format("Answers for %s from %s: %s. ", name.c_str(), resolver.c_str(), types.c_str()) +
        "Check the name's spelling and the client's DNS suffix (a short name is completed with it), then that "
        "the zone holds the name (for a private endpoint, the private DNS zone linked to the client's network) "
        "and that the resolver answers.";
    if (!complete) detail += " Said on the first pass: a later connection to the name would withdraw it.";
    return lookup_diagnosis(
        Code::DnsFailed,
        silent ? format("The lookup of %s got no answer from the resolver %s (%s), and the client reached no server "
                        "by that name. Fix: check the resolver and the path to it.",
                        name.c_str(), resolver.c_str(), types.c_str())
               : format("The resolver %s answered %s for %s, and the client reached no server by that name. Fix: "
                        "check the name's spelling, the client's DNS suffix and the DNS zone.",
                        resolver.c_str(), types.c_str(), name.c_str()),
        detail);
}

Diagnosis dns_slow_diagnosis(const DnsLookup& l, int64_t first_query_ns, int64_t slow_ns) {
    const std::string type = dns_type_name(l.type);
    const int64_t delay = l.answer_ns - first_query_ns;
    std::string text = format("The %s answer for %s came %s after its first query (frame %u, threshold %s)", type.c_str(),
                              l.name.c_str(), seconds(delay).c_str(), l.query_frame, seconds(slow_ns).c_str());
    std::string detail = format("%d queries sent to %s; the client waited before connecting. ", l.queries,
                                l.resolver.c_str());
    if (l.type == kDnsTypeAaaa) {
        text += ": likely the resolver or a firewall dropped the AAAA query and the client asked again. Fix: fix the "
                "resolver or firewall.";
        detail += "AAAA stalls are common: glibc sends A and AAAA together and waits 5 s (its timeout) when one "
                  "answer does not come; `options single-request` in resolv.conf, or an IPv4-only lookup in the "
                  "client, avoids the wait while the resolver is fixed.";
    } else {
        text += ". Fix: look at the resolver's load and the path to it.";
    }
    return lookup_diagnosis(Code::DnsSlow, text, detail);
}

// ---- the text of path_mtu_black_hole (issue 31) -----------------------------------------------------
// Declared in pmtu.hpp (tests/unit/test_pmtu.cpp reads it), written here with every other text of the core.

namespace {
// The login's TDS packet sizes, as far as the capture shows them: "" when neither is known.
std::string packet_sizes(const Connection& c) {
    const LoginTracker& l = c.login();
    if (l.packet_size_asked != 0 && l.packet_size_granted != 0)
        return format(" The login asked for TDS packet size %u and the server granted %u.", l.packet_size_asked,
                      l.packet_size_granted);
    if (l.packet_size_asked != 0) return format(" The login asked for TDS packet size %u.", l.packet_size_asked);
    if (l.packet_size_granted != 0) return format(" The server granted TDS packet size %u.", l.packet_size_granted);
    return "";
}
}  // namespace

PmtuWords pmtu_words(const Evidence& e, const Connection& c, bool complete) {
    const bool client = e.from == Side::Client;
    const char* who = client ? "client" : "server";
    const std::string sizes = packet_sizes(c);
    PmtuWords w;
    const PmtuTracker::Side& s = c.pmtu().side(client);
    if (e.icmp_frame != 0) {
        // The ICMP form. Worst case (10-digit numbers, a long wait) fits kMaxTextLength: the unit test checks it.
        const uint32_t fits = s.icmp_mtu == e.icmp_mtu ? s.icmp_fits : 0;
        w.what = format("An ICMP too-big message (frame %u) gave the %s a path MTU of %u bytes, yet it sent %d more "
                        "segments of up to %u bytes in %s: likely a firewall drops that ICMP, a path-MTU black hole.",
                        e.icmp_frame, who, e.icmp_mtu, e.retries, e.lost_len, seconds(e.waited_ns).c_str());
        w.fix = format("Let ICMP fragmentation-needed / packet-too-big reach the %s (its host firewall, or one before "
                       "it), or clamp the TCP MSS on the router with the %u-byte MTU; as a stop-gap, a Packet Size "
                       "below %u bytes.",
                       who, e.icmp_mtu, fits != 0 ? fits : e.icmp_mtu);
        w.detail = format("The ICMP fragmentation-needed (IPv4 type 3 code 4) or packet-too-big (ICMPv6 type 2) "
                          "message quotes the %s's segment: a segment fits the %u-byte MTU with up to %u bytes of TCP "
                          "payload. After it the %s sent data again in segments of up to %u bytes, none fitting, "
                          "and no segment that fits: it never acted on the message (the capture shows the message on "
                          "the path, not whether it arrived).%s",
                          who, e.icmp_mtu, fits, who, e.lost_len, sizes.c_str());
        return w;
    }
    // Worst case (10-digit frame and sizes, a long wait) still fits kMaxTextLength: the unit test checks it.
    w.what = format("The %s sent a %u-byte segment (frame %u) %d more times in %s, never acknowledged, while its "
                    "segments up to %u bytes were: likely a path-MTU black hole (ICMP fragmentation-needed dropped).",
                    who, e.lost_len, e.lost_frame, e.retries, seconds(e.waited_ns).c_str(), e.passed_len);
    w.fix = format("Clamp the TCP MSS on the router or VPN with the smaller MTU (or let its ICMP fragmentation-needed "
                   "through), or set the path's MTU on the hosts; as a stop-gap, a Packet Size below %u bytes.",
                   e.passed_len);
    if (complete && s.stuck_acked && s.stuck_len == e.lost_len)
        w.detail = format("TCP payload sizes. That segment was acknowledged later in the capture (the sender likely "
                          "lowered its segment size: TCP MTU probing or PMTU discovery). Largest %s segment sent: %u bytes.%s",
                          who, s.largest_sent, sizes.c_str());
    else
        w.detail = format("TCP payload sizes; the largest segment that got through is %u bytes (%u with the IPv4 and TCP "
                          "headers, without options): the path's MTU likely lies between %u and %u. Nothing in the "
                          "capture acknowledges the lost segment%s.%s",
                          e.passed_len, e.passed_len + 40, e.passed_len + 40, e.lost_len + 40 + 12,
                          complete ? "" : " so far", sizes.c_str());
    return w;
}

}  // namespace tdsdiag

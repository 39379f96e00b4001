// All connections of one capture file. The plugin keeps one Analyzer per open file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tdsdiag/config.hpp"
#include "tdsdiag/connection.hpp"
#include "tdsdiag/dns.hpp"
#include "tdsdiag/kerberos.hpp"
#include "tdsdiag/ssrp.hpp"

namespace tdsdiag {

class Analyzer {
public:
    explicit Analyzer(Config config = {});

    // Feed frames in capture order, each once. Frames of other traffic get an empty result.
    // `start`, if given, is what Wireshark's TCP knew of the frame's stream before this frame; it is
    // read only when the frame starts a connection (see StreamStart).
    FrameResult on_packet(const Packet& p, const StreamStart* start = nullptr);
    // How many connections were taken up after their first frames (found by their first TDS message).
    size_t found_late() const { return found_late_; }

    // Feed an SQL Browser (SSRP) frame: a request, an answer, or an ICMP error quoting a request.
    // `lookup_id`, if given, receives the id of the lookup the frame belongs to.
    FrameResult on_browser(const BrowserPacket& p, uint32_t* lookup_id = nullptr);

    // Feed a Kerberos frame (port 88). `refusal_id`, if given, receives the id of the KDC refusal the
    // frame belongs to (FrameResult::in_connection tells whether it belongs to one).
    FrameResult on_kerberos(const KerberosPacket& p, uint32_t* refusal_id = nullptr);
    const KerberosTracker& kerberos() const { return kerberos_; }
    // A refusal as known now (its tie measured against its connection as it stands), or nullptr.
    std::optional<KdcRefusal> refusal_now(uint32_t id) const;
    // The diagnoses of a refusal's frame, as known now.
    std::vector<Diagnosis> kerberos_diagnoses_on(uint32_t id, uint32_t frame) const;

    // Feed a DNS frame (an A or AAAA query or answer). `lookup_id`, if given, receives the id of the
    // lookup the frame belongs to (FrameResult::in_connection tells whether it belongs to one).
    FrameResult on_dns(const DnsPacket& p, uint32_t* lookup_id = nullptr) { return dns_.on_packet(p, lookup_id); }
    // The DNS lookups; a connection's own is Connection::dns_lookup(), its name and resolving time in
    // its Summary (dns_name, dns_time_ns).
    const DnsTracker& dns() const { return dns_; }
    // The diagnoses of a DNS lookup's frame: on a later pass (capture_complete) as known at the end.
    std::vector<Diagnosis> dns_diagnoses_on(uint32_t id, uint32_t frame, bool capture_complete) const {
        return dns_.diagnoses_on(id, frame, capture_complete);
    }

    const Connection* find(uint32_t stream) const;
    // Whether a frame of an untracked stream between these ports may start a connection without
    // carrying TDS (a SQL Server port, or a port an SQL Browser answer named).
    bool could_start(uint16_t src_port, uint16_t dst_port) const {
        return !announced_.empty() || is_sql_port(src_port) || is_sql_port(dst_port);
    }
    const BrowserLookup* lookup(uint32_t id) const { return id < lookups_.size() ? lookups_[id].get() : nullptr; }
    size_t lookup_count() const { return lookups_.size(); }
    const Config& config() const { return config_; }
    // Whether the next frame of `stream` should carry its checksum state (new or undecided connections).
    bool wants_checksum(uint32_t stream) const {
        const Connection* c = find(stream);
        return c == nullptr || c->wants_checksums();
    }
    // Whether frames of `stream` can still carry login fields (LOGINACK, errors, environment changes).
    bool wants_login_fields(uint32_t stream) const {
        const Connection* c = find(stream);
        return c == nullptr || !c->login_acknowledged();
    }
    // Connections in the order their first frame appeared, with their stream and first frame: a
    // report can select and order them without reading each one (on a big capture, a cache miss each).
    struct Started {
        uint32_t stream;
        uint32_t first_frame;
        const Connection* conn;
    };
    const std::vector<Started>& connections() const { return order_; }

private:
    bool is_sql_port(uint16_t port) const;
    // A port an SQL Browser answer named for this server address.
    bool announced(const std::string& server_addr, uint16_t port) const;
    // Links a new connection to the SQL Browser answer that gave it its port; returns that lookup.
    const BrowserLookup* link_browser(Connection& c);
    // Ties a new connection to a KDC refusal of a ticket its client asked for just before.
    void link_kerberos(Connection& c);
    // Issue 31 item 2: ties a new connection (begun with the client's SYN) to the client's recent
    // connections to the same server port at other addresses (attempts.hpp): started within
    // Config::parallel_window_ns, parallel attempts; later, after an earlier SYN still unanswered, the
    // next address tried in turn. `name_addresses`: the hook for DNS (issue 31 item 1): the addresses the
    // name the client asked resolved to, which narrows the tie to that name's addresses.
    void link_attempts(Connection& c, const std::vector<std::string>* name_addresses = nullptr);
    static constexpr size_t kAttemptLookBack = 32;          // connections looked at, newest first
    static constexpr int64_t kInTurnWindowNs = 180000000000;  // a SYN given up after at most about 2 min (Linux: 127 s)
    // Ties a new connection to the DNS lookup whose answer held its server address (issue 31).
    void link_dns(Connection& c);
    // Ties a connection to the DNS lookup of the name its ClientHello's SNI names, if none is tied yet.
    void link_dns_name(Connection& c, const Packet& p);
    // Ties a new connection without a DNS lookup to the client's lookup of the machine name (ServerName)
    // the SQL Browser answer `b` that gave it its port came in (dns_name_of_server), if one is in the window.
    void link_dns_server(Connection& c, const BrowserLookup& b);
    // Links a new connection to the earlier one whose login response redirected the client to it.
    void link_redirect(Connection& c);
    // Whether an untracked stream should be tracked from this frame on, and which side is the client.
    bool starts_tracking(const Packet& p, bool& src_is_client) const;

    Config config_;
    // Connections by stream. Wireshark numbers TCP streams 0, 1, 2... as they appear, so a table
    // indexed by stream finds one in a single memory access (a hash map took two more cache misses a
    // frame on big captures); a stream number far beyond the table (not Wireshark's: a test's, a
    // fuzzer's) goes to the map instead.
    std::vector<Connection*> by_stream_;
    std::unordered_map<uint32_t, Connection*> far_streams_;
    std::vector<std::unique_ptr<Connection>> owned_;
    void add_connection(uint32_t stream, std::unique_ptr<Connection> conn);
    // The table entry of `stream` (the connection itself, or another stream's it continues).
    void set_stream(uint32_t stream, Connection* conn);
    // A SYN refused and sent again on the same port pair: Wireshark may give each attempt a stream of
    // its own, but it is one refused connection. The refused connections by their port pair; an
    // attempt within kRetryWindowNs of the last refusal continues its connection.
    static constexpr int64_t kRetryWindowNs = 3000000000;
    std::unordered_map<std::string, Connection*> refused_;  // "client|port|server|port"
    Connection* retried(const Packet& p) const;
    // The latest connection on each addresses-and-ports pair that began with a SYN, by a hash of the
    // pair (checked against the connection's own): a new SYN on the pair soon after it ended may be
    // turned away by a server still holding it (port_reuse).
    std::unordered_map<uint64_t, Connection*> by_pair_;
    void link_earlier(Connection& c, const Packet& first);
    // The connection found last: a frame asks for its own connection several times, and a big
    // capture's table is too large for the cache (connections are never removed, so it stays valid).
    mutable uint32_t last_stream_ = 0;
    mutable Connection* last_conn_ = nullptr;
    Connection* cached(uint32_t stream) const;
    std::unordered_map<std::string, std::unique_ptr<ServerFacts>> servers_;  // by "address:port"
    std::vector<Started> order_;  // by first frame
    size_t found_late_ = 0;
    std::vector<std::unique_ptr<BrowserLookup>> lookups_;
    std::vector<Connection*> redirecting_;  // connections whose login response carried a redirect, not yet followed
    std::unordered_map<std::string, uint32_t> open_lookups_;  // "client|port|server" -> lookup id
    std::unordered_map<std::string, std::vector<uint16_t>> announced_;  // server address -> TCP ports
    KerberosTracker kerberos_;
    DnsTracker dns_;
    static SqlConnRef ref_of(const Connection& c);
};

}  // namespace tdsdiag

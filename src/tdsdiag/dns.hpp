// DNS as far as a SQL Server connection needs it (issue 31): the client's A and AAAA queries, their
// answers (rcode, addresses), the lookup that gave a connection its server address, and the
// diagnoses of the lookups themselves: dns_failed (the name did not resolve: NXDOMAIN, SERVFAIL,
// REFUSED, or no answer at all, and the client did not reach the name) and dns_slow (an answer later
// than the preference after the first query of its name and type). Plain C++17: the plugin hands in
// the DNS dissector's fields.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"

namespace tdsdiag {

constexpr uint16_t kDnsPort = 53;
constexpr uint16_t kDnsTypeA = 1, kDnsTypeAaaa = 28;
constexpr uint8_t kDnsServFail = 2, kDnsNxDomain = 3, kDnsRefused = 5;

// One DNS message as the plugin read it (the first question; the answer section's addresses).
struct DnsPacket {
    uint32_t frame = 0;
    int64_t time_ns = 0;
    std::string src_addr, dst_addr;
    uint16_t id = 0;
    bool response = false;
    uint8_t rcode = 0;
    std::string name;  // dns.qry.name
    uint16_t type = 0;  // dns.qry.type
    std::vector<std::string> addresses;  // dns.a and dns.aaaa of a response, as text
};

// "A", "AAAA", or the number.
std::string dns_type_name(uint16_t type);
// "NXDOMAIN", "SERVFAIL", "REFUSED", "NOERROR", ... or "rcode N".
std::string dns_rcode_name(uint8_t rcode);
// Whether an rcode says the name did not resolve (SERVFAIL, NXDOMAIN, REFUSED).
inline bool dns_rcode_failed(uint8_t rcode) {
    return rcode == kDnsServFail || rcode == kDnsNxDomain || rcode == kDnsRefused;
}
// DNS names compare without case and without a final dot.
bool dns_same_name(const std::string& a, const std::string& b);
// Whether the DNS name `dns_name` names the machine `server` (an SQL Browser answer's ServerName, a
// NetBIOS-style short name, or a full name): the whole name, or its first label, the same without case.
bool dns_name_of_server(const std::string& dns_name, const std::string& server);

// One lookup: a client's queries for one name and type (retries with the same id, or of the same name
// and type while unanswered, included) and the first answer.
struct DnsLookup {
    uint32_t id = 0;
    std::string client, resolver, name;
    uint16_t type = 0;
    uint16_t dns_id = 0;
    uint32_t query_frame = 0, last_query_frame = 0;
    int64_t query_ns = 0, last_query_ns = 0;
    int queries = 0;  // the first and its retries
    uint32_t answer_frame = 0;  // 0: no answer (yet)
    int64_t answer_ns = 0;
    uint8_t rcode = 0;
    std::vector<std::string> addresses;
    bool answered() const { return answer_frame != 0; }
    bool failed() const { return answered() && dns_rcode_failed(rcode); }
    std::optional<int64_t> delay_ns() const {
        return answered() ? std::optional<int64_t>(answer_ns - query_ns) : std::nullopt;
    }
    bool holds(const std::string& address) const;
};

// The DNS lookups of a capture, and which names the client reached (a SQL connection tied to them).
class DnsTracker {
public:
    DnsTracker(int64_t window_ns, int64_t slow_ns) : window_ns_(window_ns), slow_ns_(slow_ns) {}

    // Feeds an A or AAAA query or answer; returns the lookup it belongs to in `lookup_id`, and the
    // diagnoses this frame completes (as known now).
    FrameResult on_packet(const DnsPacket& p, uint32_t* lookup_id = nullptr);

    // The latest answered lookup of `client`, within the window before `start_ns`, whose answer holds
    // `server_addr`; nullptr if none.
    const DnsLookup* resolving(const std::string& client, const std::string& server_addr, int64_t start_ns) const;
    // The latest answered lookup of `client` for `name` within the window before `start_ns` that gave
    // addresses (the latest answer for the name); nullptr if none.
    const DnsLookup* latest_for(const std::string& client, const std::string& name, int64_t start_ns) const;
    // As latest_for, for the lookups whose name is the machine name `server` (dns_name_of_server): an SQL
    // Browser answer's ServerName.
    const DnsLookup* latest_for_server(const std::string& client, const std::string& server, int64_t start_ns) const;
    // The time the client spent resolving `l`'s name before `start_ns`: from the first query of the
    // name (any type, within the window) to the last answer for it before `start_ns`.
    int64_t resolve_time_ns(const DnsLookup& l, int64_t start_ns) const;
    // A SQL connection of `client` that started at `ns` reached `name` (tied to one of its lookups).
    void reached(const std::string& client, const std::string& name, int64_t ns) { reach(client, name, ns, false); }
    // An SQL Browser at `ns` answered `client` in the name of the machine `server` (its ServerName): the
    // client reached every DNS name of that machine (dns_name_of_server).
    void reached_server(const std::string& client, const std::string& server, int64_t ns) {
        reach(client, server, ns, true);
    }

    const DnsLookup* lookup(uint32_t id) const { return id < lookups_.size() ? &lookups_[id] : nullptr; }
    size_t lookup_count() const { return lookups_.size(); }
    // The diagnoses of `frame` (a frame of lookup `id`): on the first pass (capture_complete false)
    // those found then, with their texts of then; afterwards as known at the end of the capture.
    std::vector<Diagnosis> diagnoses_on(uint32_t id, uint32_t frame, bool capture_complete) const;

private:
    struct Reach {
        std::string client, name;
        int64_t ns;
        bool server;  // `name` is a machine name (reached_server)
    };
    // Records a Reach once (`server`: `name` is a machine name).
    void reach(const std::string& client, const std::string& name, int64_t ns, bool server);
    struct Kept {
        uint32_t frame;
        uint32_t lookup;
        Diagnosis diagnosis;
    };
    int64_t window_ns_, slow_ns_;
    std::deque<DnsLookup> lookups_;  // in the order of their first query (a deque: connections keep pointers)
    std::vector<Reach> reached_;
    std::vector<Kept> found_;  // the first pass's diagnoses

    // The lookups of `l`'s client for its name (any type) whose first query is within the window of `l`'s.
    std::vector<const DnsLookup*> group(const DnsLookup& l) const;
    // Whether the client reached `l`'s name: a lookup of its group gave addresses, a search-list
    // sibling of the name resolved, a connection was tied to the name, or an SQL Browser answered in
    // the name of its machine (`complete`: the whole capture; else only what came before `before_ns`).
    bool name_reached(const DnsLookup& l, const std::vector<const DnsLookup*>& g, int64_t before_ns, bool complete) const;
    std::optional<Diagnosis> failure(const DnsLookup& l, uint32_t frame, bool complete) const;
    std::optional<Diagnosis> slow(const DnsLookup& l, uint32_t frame) const;
    // The latest answered lookup with addresses of `client` within the window before `start_ns` whose
    // name `matches`.
    template <typename Match>
    const DnsLookup* latest_matching(const std::string& client, int64_t start_ns, Match matches) const;
};

// The texts (describe.cpp). `types` lists "A NXDOMAIN, AAAA NXDOMAIN"; `silent`: some query got no
// answer at all by the end of the capture.
Diagnosis dns_failed_diagnosis(const std::string& name, const std::string& types, const std::string& resolver,
                               bool silent, bool complete);
Diagnosis dns_slow_diagnosis(const DnsLookup& l, int64_t first_query_ns, int64_t slow_ns);

}  // namespace tdsdiag

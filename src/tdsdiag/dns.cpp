#include "tdsdiag/dns.hpp"

#include <algorithm>
#include <cctype>

namespace tdsdiag {

std::string dns_type_name(uint16_t type) {
    switch (type) {
    case kDnsTypeA: return "A";
    case kDnsTypeAaaa: return "AAAA";
    default: return std::to_string(type);
    }
}

std::string dns_rcode_name(uint8_t rcode) {
    switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case kDnsServFail: return "SERVFAIL";
    case kDnsNxDomain: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case kDnsRefused: return "REFUSED";
    default: return "rcode " + std::to_string(rcode);
    }
}

bool dns_same_name(const std::string& a, const std::string& b) {
    size_t na = a.size(), nb = b.size();
    if (na > 0 && a[na - 1] == '.') --na;
    if (nb > 0 && b[nb - 1] == '.') --nb;
    if (na != nb || na == 0) return false;
    for (size_t i = 0; i < na; ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

bool dns_name_of_server(const std::string& dns_name, const std::string& server) {
    if (dns_same_name(dns_name, server)) return true;
    const size_t dot = dns_name.find('.');
    return dot != std::string::npos && dot > 0 && server.find('.') == std::string::npos &&
           dns_same_name(dns_name.substr(0, dot), server);
}

namespace {
// Whether `longer` is `shorter` with a search-list suffix appended ("sql.corp.example" of "sql").
bool search_sibling(const std::string& a, const std::string& b) {
    const std::string& longer = a.size() > b.size() ? a : b;
    const std::string& shorter = a.size() > b.size() ? b : a;
    if (shorter.empty() || longer.size() <= shorter.size() + 1 || longer[shorter.size()] != '.') return false;
    return dns_same_name(longer.substr(0, shorter.size()), shorter);
}
}  // namespace

bool DnsLookup::holds(const std::string& address) const {
    return std::find(addresses.begin(), addresses.end(), address) != addresses.end();
}

FrameResult DnsTracker::on_packet(const DnsPacket& p, uint32_t* lookup_id) {
    FrameResult r;
    if (p.name.empty() || (p.type != kDnsTypeA && p.type != kDnsTypeAaaa)) return r;
    const std::string& client = p.response ? p.dst_addr : p.src_addr;
    const std::string& resolver = p.response ? p.src_addr : p.dst_addr;
    // The open lookup of this query: the latest of the client for the name and type, within the window;
    // a query joins it while it is unanswered (a retry), an answer while it is unanswered or has the same id.
    DnsLookup* l = nullptr;
    for (size_t i = lookups_.size(); i-- > 0;) {
        DnsLookup& o = lookups_[i];
        if (p.time_ns - o.query_ns > window_ns_) break;
        if (o.type != p.type || o.client != client || !dns_same_name(o.name, p.name)) continue;
        if (p.response ? (!o.answered() || o.dns_id == p.id) : !o.answered()) l = &o;
        break;
    }
    if (l == nullptr) {
        if (p.response) return r;  // an answer to a query the capture does not hold
        DnsLookup n;
        n.id = static_cast<uint32_t>(lookups_.size());
        n.client = client;
        n.resolver = resolver;
        n.name = p.name;
        n.type = p.type;
        n.dns_id = p.id;
        n.query_frame = p.frame;
        n.query_ns = p.time_ns;
        lookups_.push_back(std::move(n));
        l = &lookups_.back();
    }
    if (lookup_id != nullptr) *lookup_id = l->id;
    r.in_connection = true;
    if (!p.response) {
        ++l->queries;
        l->last_query_frame = p.frame;
        l->last_query_ns = p.time_ns;
        return r;
    }
    if (l->answered()) return r;  // a second answer to a retry: the first one counts
    l->answer_frame = p.frame;
    l->answer_ns = p.time_ns;
    l->rcode = p.rcode;
    l->addresses = p.addresses;
    if (std::optional<Diagnosis> d = slow(*l, p.frame)) r.diagnoses.push_back(std::move(*d));
    if (std::optional<Diagnosis> d = failure(*l, p.frame, false)) r.diagnoses.push_back(std::move(*d));
    for (const Diagnosis& d : r.diagnoses) found_.push_back({p.frame, l->id, d});
    return r;
}

std::vector<const DnsLookup*> DnsTracker::group(const DnsLookup& l) const {
    std::vector<const DnsLookup*> g;
    for (const DnsLookup& o : lookups_) {
        const int64_t gap = o.query_ns - l.query_ns;
        if (gap < -window_ns_) continue;
        if (gap > window_ns_) break;
        if (o.client == l.client && dns_same_name(o.name, l.name)) g.push_back(&o);
    }
    return g;
}

bool DnsTracker::name_reached(const DnsLookup& l, const std::vector<const DnsLookup*>& g, int64_t before_ns,
                              bool complete) const {
    auto known = [&](int64_t ns) { return complete || ns <= before_ns; };
    for (const DnsLookup* o : g)
        if (o->answered() && !o->addresses.empty() && known(o->answer_ns)) return true;
    for (const DnsLookup& o : lookups_) {
        const int64_t gap = o.query_ns - l.query_ns;
        if (gap < -window_ns_) continue;
        if (gap > window_ns_) break;
        if (o.client == l.client && !o.addresses.empty() && known(o.answer_ns) && search_sibling(o.name, l.name))
            return true;
    }
    for (const Reach& r : reached_)
        if (r.client == l.client && r.ns >= l.query_ns && r.ns - l.query_ns <= window_ns_ && known(r.ns) &&
            (r.server ? dns_name_of_server(l.name, r.name) : dns_same_name(r.name, l.name)))
            return true;
    return false;
}

std::optional<Diagnosis> DnsTracker::failure(const DnsLookup& l, uint32_t frame, bool complete) const {
    const std::vector<const DnsLookup*> g = group(l);
    // The frame that completes the evidence: once every query of the name has been answered, the
    // last answer (if one failed); at the end of the capture, the last query left without an answer.
    uint32_t last_answer = 0, last_silent = 0;
    bool any_failed = false, silent = false;
    const int64_t now = frame == l.answer_frame ? l.answer_ns : l.last_query_ns;
    for (const DnsLookup* o : g) {
        const bool answered = o->answered() && (complete || o->answer_ns <= now);
        if (!complete && o->query_ns > now) continue;
        if (answered) {
            last_answer = std::max(last_answer, o->answer_frame);
            any_failed = any_failed || o->failed();
        } else {
            silent = true;
            last_silent = std::max(last_silent, o->last_query_frame);
        }
    }
    if (name_reached(l, g, now, complete)) return std::nullopt;
    uint32_t at = 0;
    if (silent) {
        if (!complete) return std::nullopt;  // an answer may still come
        at = last_silent;
    } else if (any_failed) {
        at = last_answer;
    }
    if (at == 0 || at != frame) return std::nullopt;
    std::string types, resolver;
    for (const DnsLookup* o : g) {
        if (!complete && o->query_ns > now) continue;
        const std::string what = o->answered() ? dns_rcode_name(o->rcode) + (o->failed() ? "" : " without address")
                                               : std::string("no answer");
        const std::string item = dns_type_name(o->type) + " " + what;
        if (types.find(item) == std::string::npos) types += (types.empty() ? "" : ", ") + item;
        if (resolver.find(o->resolver) == std::string::npos) resolver += (resolver.empty() ? "" : ", ") + o->resolver;
    }
    return dns_failed_diagnosis(l.name, types, resolver, silent, complete);
}

std::optional<Diagnosis> DnsTracker::slow(const DnsLookup& l, uint32_t frame) const {
    if (!l.answered() || frame != l.answer_frame) return std::nullopt;
    const int64_t first = l.query_ns;
    if (l.answer_ns - first <= slow_ns_) return std::nullopt;
    return dns_slow_diagnosis(l, first, slow_ns_);
}

int64_t DnsTracker::resolve_time_ns(const DnsLookup& l, int64_t start_ns) const {
    int64_t first = l.query_ns, last = l.answer_ns;
    for (const DnsLookup* o : group(l)) {
        if (o->query_ns > start_ns) continue;
        first = std::min(first, o->query_ns);
        if (o->answered() && o->answer_ns <= start_ns) last = std::max(last, o->answer_ns);
    }
    return last - first;
}

std::vector<Diagnosis> DnsTracker::diagnoses_on(uint32_t id, uint32_t frame, bool capture_complete) const {
    std::vector<Diagnosis> out;
    const DnsLookup* l = lookup(id);
    if (l == nullptr) return out;
    if (!capture_complete) {
        for (const Kept& k : found_)
            if (k.frame == frame && k.lookup == id) out.push_back(k.diagnosis);
        return out;
    }
    if (std::optional<Diagnosis> d = slow(*l, frame)) out.push_back(std::move(*d));
    if (std::optional<Diagnosis> d = failure(*l, frame, true)) out.push_back(std::move(*d));
    return out;
}

const DnsLookup* DnsTracker::resolving(const std::string& client, const std::string& server_addr, int64_t start_ns) const {
    for (size_t i = lookups_.size(); i-- > 0;) {
        const DnsLookup& o = lookups_[i];
        if (start_ns - o.query_ns > window_ns_) break;
        if (!o.answered() || o.answer_ns > start_ns || o.client != client) continue;
        if (o.holds(server_addr)) return &o;
    }
    return nullptr;
}

template <typename Match>
const DnsLookup* DnsTracker::latest_matching(const std::string& client, int64_t start_ns, Match matches) const {
    for (size_t i = lookups_.size(); i-- > 0;) {
        const DnsLookup& o = lookups_[i];
        if (start_ns - o.query_ns > window_ns_) break;
        if (!o.answered() || o.answer_ns > start_ns || o.client != client || o.addresses.empty()) continue;
        if (matches(o.name)) return &o;
    }
    return nullptr;
}

const DnsLookup* DnsTracker::latest_for(const std::string& client, const std::string& name, int64_t start_ns) const {
    return latest_matching(client, start_ns, [&](const std::string& n) { return dns_same_name(n, name); });
}

const DnsLookup* DnsTracker::latest_for_server(const std::string& client, const std::string& server,
                                               int64_t start_ns) const {
    return latest_matching(client, start_ns, [&](const std::string& n) { return dns_name_of_server(n, server); });
}

void DnsTracker::reach(const std::string& client, const std::string& name, int64_t ns, bool server) {
    for (const Reach& r : reached_)
        if (r.client == client && r.ns == ns && r.server == server && dns_same_name(r.name, name)) return;
    reached_.push_back({client, name, ns, server});
}

}  // namespace tdsdiag

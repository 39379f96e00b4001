#include "tdsdiag/analyzer.hpp"

#include <algorithm>
#include <functional>

#include "tdsdiag/text.hpp"

namespace tdsdiag {

Analyzer::Analyzer(Config config)
    : config_(std::move(config)), kerberos_(config_.kerberos_window_ns), dns_(config_.dns_window_ns, config_.dns_slow_ns) {}

void Analyzer::link_dns(Connection& c) {
    const DnsLookup* l = dns_.resolving(c.client_addr(), c.server_addr(), c.start_ns());
    if (l == nullptr) return;
    c.link_dns(l, dns_.resolve_time_ns(*l, c.start_ns()));
    dns_.reached(c.client_addr(), l->name, c.start_ns());
}

void Analyzer::link_dns_name(Connection& c, const Packet& p) {
    const DnsLookup* l = dns_.latest_for(c.client_addr(), p.sni, c.start_ns());
    if (l == nullptr) {
        // No answer with addresses for the name, yet the client reached a server by it (a hosts file):
        // a failed lookup of the name was not what the client met.
        dns_.reached(c.client_addr(), p.sni, c.start_ns());
        return;
    }
    // The latest answer for the name does not hold the address the client connected to.
    c.link_dns(l, dns_.resolve_time_ns(*l, c.start_ns()), l->holds(c.server_addr()) ? 0 : p.frame);
    dns_.reached(c.client_addr(), l->name, c.start_ns());
}

void Analyzer::link_dns_server(Connection& c, const BrowserLookup& b) {
    for (const std::string& server : b.server_names()) {
        const DnsLookup* l = dns_.latest_for_server(c.client_addr(), server, b.start_ns());
        if (l == nullptr) continue;
        // The client asked the SQL Browser at an address the latest answer for the name did not hold:
        // said on the connection's first frame.
        c.link_dns(l, dns_.resolve_time_ns(*l, c.start_ns()), l->holds(c.server_addr()) ? 0 : c.first_frame(),
                   b.answer_frame());
        dns_.reached(c.client_addr(), l->name, c.start_ns());
        return;
    }
}

SqlConnRef Analyzer::ref_of(const Connection& c) {
    SqlConnRef r;
    r.stream = c.stream();
    r.first_frame = c.first_frame();
    r.client_addr = c.client_addr();
    r.server_port = c.server_port();
    r.start_ns = c.start_ns();
    r.last_ns = c.last_ns();
    r.ended = c.close().kind != CloseKind::None;
    return r;
}

void Analyzer::link_kerberos(Connection& c) {
    const std::optional<uint32_t> was = [&]() -> std::optional<uint32_t> {
        for (size_t i = kerberos_.refusal_count(); i-- > 0;) {
            const KdcRefusal* r = kerberos_.refusal(static_cast<uint32_t>(i));
            if (r->client_addr == c.client_addr()) return r->conn_stream;
        }
        return std::nullopt;
    }();
    const KdcRefusal* r = kerberos_.on_connection(ref_of(c));
    if (r == nullptr) return;
    if (was && *was != c.stream())  // the refusal is tied to this nearer connection now
        if (Connection* old = cached(*was)) old->link_kerberos(0);
    c.link_kerberos(r->frame, r->code);
}

FrameResult Analyzer::on_kerberos(const KerberosPacket& p, uint32_t* refusal_id) {
    std::vector<SqlConnRef> conns;
    // The connections of a refusing KRB-ERROR's client (refusals are rare: all connections are looked at).
    if (p.msg_type == kKrbError && p.error_code && refusal_code(*p.error_code))
        for (const Started& s : order_)
            if (s.conn->client_addr() == p.dst_addr) conns.push_back(ref_of(*s.conn));
    uint32_t id = 0;
    const size_t before = kerberos_.refusal_count();
    FrameResult r = kerberos_.on_packet(p, conns, &id);
    if (kerberos_.refusal_count() > before) {
        const KdcRefusal* s = kerberos_.refusal(id);
        if (s->conn_stream)
            if (Connection* c = cached(*s->conn_stream)) c->link_kerberos(s->frame, s->code);
    }
    if (refusal_id) *refusal_id = id;
    return r;
}

std::optional<KdcRefusal> Analyzer::refusal_now(uint32_t id) const {
    const KdcRefusal* r = kerberos_.refusal(id);
    if (r == nullptr) return std::nullopt;
    if (!r->conn_stream) return *r;
    const Connection* c = find(*r->conn_stream);
    return c ? with_connection(*r, ref_of(*c)) : *r;
}

std::vector<Diagnosis> Analyzer::kerberos_diagnoses_on(uint32_t id, uint32_t frame) const {
    const std::optional<KdcRefusal> r = refusal_now(id);
    if (!r || r->frame != frame) return {};
    return {describe_refusal(*r)};
}

bool Analyzer::is_sql_port(uint16_t port) const {
    return std::find(config_.sql_ports.begin(), config_.sql_ports.end(), port) != config_.sql_ports.end();
}

bool Analyzer::announced(const std::string& server_addr, uint16_t port) const {
    if (announced_.empty()) return false;
    auto it = announced_.find(server_addr);
    return it != announced_.end() && std::find(it->second.begin(), it->second.end(), port) != it->second.end();
}

bool Analyzer::starts_tracking(const Packet& p, bool& src_is_client) const {
    // The TCP handshake names the client best.
    const bool to_sql = is_sql_port(p.dst_port) || announced(p.dst_addr, p.dst_port);
    const bool from_sql = is_sql_port(p.src_port) || announced(p.src_addr, p.src_port);
    if (p.syn() && (to_sql || from_sql)) {
        src_is_client = !p.ack();
        return true;
    }
    if (to_sql != from_sql) {
        src_is_client = to_sql;
        return true;
    }
    // On any other port, a connection is SQL Server's once it carries a prelogin or a login.
    for (uint8_t t : p.tds_types) {
        if (t == kTdsPrelogin || t == kTdsLogin7) {
            src_is_client = true;
            return true;
        }
    }
    if (to_sql && from_sql) {
        src_is_client = p.syn() ? !p.ack() : p.src_port >= p.dst_port;
        return true;
    }
    return false;
}

Connection* Analyzer::cached(uint32_t stream) const {
    if (last_conn_ != nullptr && last_stream_ == stream) return last_conn_;
    Connection* c = stream < by_stream_.size() ? by_stream_[stream] : nullptr;
    if (c == nullptr && !far_streams_.empty()) {
        auto it = far_streams_.find(stream);
        if (it != far_streams_.end()) c = it->second;
    }
    if (c == nullptr) return nullptr;
    last_stream_ = stream;
    last_conn_ = c;
    return c;
}

void Analyzer::set_stream(uint32_t stream, Connection* conn) {
    // The table grows to twice what it needs at most, and only for numbers near those seen.
    const size_t dense_limit = std::max<size_t>(65536, 4 * (owned_.size() + 1));
    if (stream < by_stream_.size() || stream < dense_limit) {
        if (stream >= by_stream_.size()) by_stream_.resize(std::max<size_t>(stream + 1, by_stream_.size() * 2), nullptr);
        by_stream_[stream] = conn;
    } else {
        far_streams_[stream] = conn;
    }
}

void Analyzer::add_connection(uint32_t stream, std::unique_ptr<Connection> conn) {
    set_stream(stream, conn.get());
    const Started s{stream, conn->first_frame(), conn.get()};
    if (conn->found_late()) {
        // Its first frame is older than connections taken up since: keep the list in frame order.
        ++found_late_;
        auto at = std::upper_bound(order_.begin(), order_.end(), s.first_frame,
                                   [](uint32_t f, const Started& o) { return f < o.first_frame; });
        order_.insert(at, s);
    } else {
        order_.push_back(s);
    }
    owned_.push_back(std::move(conn));
}

namespace {
std::string port_pair(const std::string& client, uint16_t client_port, const std::string& server, uint16_t server_port) {
    return client + "|" + std::to_string(client_port) + "|" + server + "|" + std::to_string(server_port);
}
}  // namespace

Connection* Analyzer::retried(const Packet& p) const {
    if (refused_.empty() || !p.syn() || p.ack() || p.rst()) return nullptr;
    auto it = refused_.find(port_pair(p.src_addr, p.src_port, p.dst_addr, p.dst_port));
    if (it == refused_.end()) return nullptr;
    const TcpTracker& t = it->second->tcp();
    return t.turned_away() && p.time_ns - t.last_turned_away_ns() <= kRetryWindowNs ? it->second : nullptr;
}

void Analyzer::link_earlier(Connection& c, const Packet& first) {
    if (!first.syn() || first.ack() || first.rst()) return;
    const uint64_t key = std::hash<std::string>()(port_pair(c.client_addr(), c.client_port(), c.server_addr(), c.server_port()));
    auto [it, added] = by_pair_.try_emplace(key, &c);
    if (added) return;
    const Connection* e = it->second;
    it->second = &c;
    if (e->client_addr() != c.client_addr() || e->client_port() != c.client_port() || e->server_addr() != c.server_addr() ||
        e->server_port() != c.server_port())
        return;  // another pair with the same hash
    // Only a connection the server had accepted can be held by it; and only for TIME_WAIT after it ended.
    if (e->tcp().syn_ack_frame == 0) return;
    const CloseTracker& end = e->close();
    const bool ended = end.kind != CloseKind::None;
    if (ended && first.time_ns - end.ns >= config_.time_wait_ns) return;
    c.link_earlier({e->stream(), e->first_frame(), ended, end.ns, e->last_ns()});
}

FrameResult Analyzer::on_packet(const Packet& p, const StreamStart* start) {
    Connection* found = cached(p.stream);
    if (found == nullptr && (found = retried(p)) != nullptr) set_stream(p.stream, found);
    if (found == nullptr && p.icmp_error) return {};  // an ICMP error quoting a segment of no connection known
    if (found == nullptr) {
        bool src_is_client = true;
        if (!starts_tracking(p, src_is_client)) return {};
        const std::string server = src_is_client ? p.dst_addr + ":" + std::to_string(p.dst_port)
                                                 : p.src_addr + ":" + std::to_string(p.src_port);
        auto& facts = servers_[server];
        if (!facts) facts = std::make_unique<ServerFacts>();
        auto conn = std::make_unique<Connection>(p, src_is_client, config_, *facts);
        if (start != nullptr && src_is_client) conn->begin_at_handshake(*start, p.frame);
        const BrowserLookup* browser = lookups_.empty() ? nullptr : link_browser(*conn);
        if (!redirecting_.empty()) link_redirect(*conn);
        if (kerberos_.refusal_count() != 0) link_kerberos(*conn);
        if (dns_.lookup_count() != 0) link_dns(*conn);
        if (browser != nullptr && conn->dns_lookup() == nullptr && dns_.lookup_count() != 0) link_dns_server(*conn, *browser);
        link_earlier(*conn, p);
        // A name's other addresses, where the capture shows the lookup: only those are its siblings.
        if (src_is_client && p.syn() && !p.ack() && !p.rst())
            link_attempts(*conn, conn->dns_lookup() != nullptr ? &conn->dns_lookup()->addresses : nullptr);
        found = conn.get();
        add_connection(p.stream, std::move(conn));
    }
    Connection& c = *found;
    const bool had_redirect = c.redirect().has_value();
    const bool was_refused = c.tcp().turned_away();
    if (!p.sni.empty() && dns_.lookup_count() != 0 && c.dns_lookup() == nullptr) link_dns_name(c, p);
    FrameResult r = c.on_packet(p);
    if (!had_redirect && c.redirect()) redirecting_.push_back(&c);
    if (!was_refused && c.tcp().turned_away())
        refused_[port_pair(c.client_addr(), c.client_port(), c.server_addr(), c.server_port())] = &c;
    return r;
}

void Analyzer::link_attempts(Connection& c, const std::vector<std::string>* name_addresses) {
    // The latest connections only (a bounded look back: a busy client opens many), newest first.
    size_t looked = 0;
    for (auto it = order_.rbegin(); it != order_.rend() && looked < kAttemptLookBack; ++it, ++looked) {
        Connection& e = *const_cast<Connection*>(it->conn);  // (order_ holds the connections owned_ owns)
        const int64_t gap = c.start_ns() - e.start_ns();
        if (gap > kInTurnWindowNs) break;
        if (gap < 0 || e.tcp().midstream || !other_address_of_server(e, c, name_addresses)) continue;
        if (gap <= config_.parallel_window_ns) {
            e.link_parallel(c);
            c.link_parallel(e);
        } else if (e.tcp().syn_ack_frame == 0 && e.close().kind == CloseKind::None && !e.client_sent_payload()) {
            e.link_next_attempt(c);  // in turn: the client went on while this SYN had no answer
        }
    }
}

void Analyzer::link_redirect(Connection& c) {
    // The oldest redirect of this client that names the connection's server (by address, or, for a
    // host name, any other server on that port) and port.
    for (auto it = redirecting_.begin(); it != redirecting_.end(); ++it) {
        Connection& from = **it;
        const Routing& to = *from.redirect();
        if (from.client_addr() != c.client_addr() || to.port != c.server_port()) continue;
        if (is_ip_literal(to.server) ? to.server != c.server_addr() : c.server_addr() == from.server_addr()) continue;
        from.link_redirect_target(c.stream(), c.first_frame());
        c.link_redirect_source(from.stream(), to.server);
        redirecting_.erase(it);
        return;
    }
}

const BrowserLookup* Analyzer::link_browser(Connection& c) {
    // The latest answered lookup of this client for this server that named the connection's port.
    for (auto it = lookups_.rbegin(); it != lookups_.rend(); ++it) {
        BrowserLookup& l = **it;
        if (!l.answered() || l.linked_stream || l.client_addr() != c.client_addr() || l.server_addr() != c.server_addr())
            continue;
        if (std::find(l.ports().begin(), l.ports().end(), c.server_port()) == l.ports().end()) continue;
        l.linked_stream = c.stream();
        l.linked_frame = c.first_frame();
        c.link_browser(l.id(), l.answer_frame());
        return &l;
    }
    return nullptr;
}

FrameResult Analyzer::on_browser(const BrowserPacket& p, uint32_t* lookup_id) {
    const bool answer = p.msg.type == SsrpType::Response && !p.icmp_error;
    const std::string key = answer ? p.dst_addr + "|" + std::to_string(p.dst_port) + "|" + p.src_addr
                                   : p.src_addr + "|" + std::to_string(p.src_port) + "|" + p.dst_addr;
    auto it = open_lookups_.find(key);
    BrowserLookup* l = it == open_lookups_.end() ? nullptr : lookups_[it->second].get();
    // A request after an answer on the same socket starts a new lookup.
    if (l != nullptr && l->answered() && !answer && !p.icmp_error) l = nullptr;
    if (l == nullptr) {
        const auto id = static_cast<uint32_t>(lookups_.size());
        lookups_.push_back(std::make_unique<BrowserLookup>(id, p, config_.browser_slow_ns));
        l = lookups_.back().get();
        open_lookups_[key] = id;
    }
    if (lookup_id != nullptr) *lookup_id = l->id();
    const bool was_answered = l->answered();
    FrameResult r = l->on_packet(p);
    if (!was_answered && l->answered()) {
        auto& ports = announced_[l->server_addr()];
        for (uint16_t port : l->ports())
            if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
        // A client that asked this server's SQL Browser itself (a request to its address seen, not a
        // broadcast) reached the machine: its DNS names resolved for it, whatever an earlier DNS answer said.
        if (l->request_seen() && l->request_type() != SsrpType::BroadcastEx && dns_.lookup_count() != 0)
            for (const std::string& server : l->server_names()) dns_.reached_server(l->client_addr(), server, l->answer_ns());
    }
    return r;
}

const Connection* Analyzer::find(uint32_t stream) const { return cached(stream); }

}  // namespace tdsdiag

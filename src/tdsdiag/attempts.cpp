#include "tdsdiag/attempts.hpp"

#include <algorithm>

#include "tdsdiag/connection.hpp"
#include "tdsdiag/dns.hpp"
#include "tdsdiag/text.hpp"

namespace tdsdiag {

bool other_address_of_server(const Connection& earlier, const Connection& later,
                             const std::vector<std::string>* name_addresses) {
    if (earlier.client_addr() != later.client_addr() || earlier.server_port() != later.server_port() ||
        earlier.server_addr() == later.server_addr())
        return false;
    if (name_addresses == nullptr) return true;
    const auto in = [&](const std::string& a) {
        return std::find(name_addresses->begin(), name_addresses->end(), a) != name_addresses->end();
    };
    return in(earlier.server_addr()) && in(later.server_addr());
}

void Connection::link_parallel(const Connection& other) {
    auto& p = attempts_.parallel;
    if (p.size() >= AddressAttempts::kMaxParallel || std::find(p.begin(), p.end(), &other) != p.end()) return;
    p.push_back(&other);
    if (tcp_.syn_ack_frame != 0) return;
    for (const Finding& f : findings_)
        if (f.frame == first_frame_ && f.code == Code::ParallelAttempt) return;
    Evidence e;
    e.from = Side::Client;
    e.variant = Variant::AttemptUnanswered;
    findings_.push_back({first_frame_, Code::ParallelAttempt, e});
}

const Connection* Connection::attempt_kept(bool or_open) const {
    const Connection* open = nullptr;
    for (const Connection* s : attempts_.parallel) {
        if (s->tcp().syn_ack_frame == 0) continue;
        if (s->client_sent_payload()) return s;
        if (or_open && open == nullptr && s->close().kind == CloseKind::None) open = s;
    }
    return open;
}

bool Connection::abandoned_attempt(bool unanswered) const {
    if (attempts_.parallel.empty() || client_sent_payload()) return false;
    if (unanswered) return tcp_.syn_ack_frame == 0 && attempt_kept(false) != nullptr;
    return close_.by == Side::Client && attempt_kept(true) != nullptr;
}

namespace {
// " sql.lab.test resolved to 10.10.10.121, 10.10.10.120 (DNS answer, frame 2)." where the capture shows
// the lookup that gave the connection its address, else "".
std::string name_addresses(const Connection& c) {
    const DnsLookup* l = c.dns_lookup();
    if (l == nullptr || l->addresses.empty()) return "";
    std::string list;
    for (const std::string& a : l->addresses) list += (list.empty() ? "" : ", ") + a;
    return format(" %s resolved to %s (DNS answer, frame %u).", l->name.c_str(), list.c_str(), l->answer_frame);
}
}  // namespace

AttemptWords parallel_attempt_words(const Connection& c) {
    // Worst case (IPv6 addresses, a 10-digit stream) still fits kMaxTextLength: the unit test checks it.
    AttemptWords w;
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

std::optional<AttemptWords> in_turn_words(const Evidence& e, const Connection& c) {
    const Connection* next = c.attempts().next;
    if (next == nullptr) return std::nullopt;
    const int64_t lost = next->start_ns() - c.start_ns();
    const bool answered = next->tcp().syn_ack_frame != 0;
    AttemptWords w;
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

}  // namespace tdsdiag

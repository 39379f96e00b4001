#include "tdsdiag/attempts.hpp"

#include <algorithm>

#include "tdsdiag/connection.hpp"

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

}  // namespace tdsdiag

#include "tdsdiag/analyzer.hpp"

#include <algorithm>

namespace tdsdiag {

Analyzer::Analyzer(Config config) : config_(std::move(config)) {}

bool Analyzer::is_sql_port(uint16_t port) const {
    return std::find(config_.sql_ports.begin(), config_.sql_ports.end(), port) != config_.sql_ports.end();
}

bool Analyzer::starts_tracking(const Packet& p, bool& src_is_client) const {
    // The TCP handshake names the client best.
    const bool to_sql = is_sql_port(p.dst_port), from_sql = is_sql_port(p.src_port);
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

FrameResult Analyzer::on_packet(const Packet& p) {
    auto it = conns_.find(p.stream);
    if (it == conns_.end()) {
        bool src_is_client = true;
        if (!starts_tracking(p, src_is_client)) return {};
        const std::string server = src_is_client ? p.dst_addr + ":" + std::to_string(p.dst_port)
                                                 : p.src_addr + ":" + std::to_string(p.src_port);
        auto& facts = servers_[server];
        if (!facts) facts = std::make_unique<ServerFacts>();
        auto conn = std::make_unique<Connection>(p, src_is_client, config_, *facts);
        order_.push_back(conn.get());
        it = conns_.emplace(p.stream, std::move(conn)).first;
    }
    return it->second->on_packet(p);
}

const Connection* Analyzer::find(uint32_t stream) const {
    auto it = conns_.find(stream);
    return it == conns_.end() ? nullptr : it->second.get();
}

}  // namespace tdsdiag

// All connections of one capture file. The plugin keeps one Analyzer per open file.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tdsdiag/connection.hpp"

namespace tdsdiag {

struct Config {
    std::vector<uint16_t> sql_ports{1433};  // TCP ports where SQL Server listens
};

class Analyzer {
public:
    explicit Analyzer(Config config = {});

    // Feed frames in capture order, each once. Frames of other traffic get an empty result.
    FrameResult on_packet(const Packet& p);

    const Connection* find(uint32_t stream) const;
    // Connections in the order their first frame appeared.
    const std::vector<const Connection*>& connections() const { return order_; }

private:
    bool is_sql_port(uint16_t port) const;
    // Whether an untracked stream should be tracked from this frame on, and which side is the client.
    bool starts_tracking(const Packet& p, bool& src_is_client) const;

    Config config_;
    std::unordered_map<uint32_t, std::unique_ptr<Connection>> conns_;
    std::vector<const Connection*> order_;
};

}  // namespace tdsdiag

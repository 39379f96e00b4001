// SQL Server Resolution Protocol (MC-SQLR, the SQL Browser on UDP 1434): a bounds-checked reader of
// its messages, and the lookups a capture holds (request, answer or ICMP error, the TCP connection
// that follows). Plain C++17: the plugin hands in the datagram's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"

namespace tdsdiag {

constexpr uint16_t kSsrpPort = 1434;

// The first byte of each message (MC-SQLR 2.2).
enum class SsrpType : uint8_t {
    BroadcastEx = 0x02,   // CLNT_BCAST_EX: every instance on the network
    UnicastEx = 0x03,     // CLNT_UCAST_EX: every instance on one machine
    UnicastInst = 0x04,   // CLNT_UCAST_INST: one named instance
    Response = 0x05,      // SVR_RESP
    UnicastDac = 0x0f,    // CLNT_UCAST_DAC: the dedicated administrator connection's port
};

const char* ssrp_type_name(SsrpType t);  // "CLNT_UCAST_INST", ...

// One "key;value" of an answer, located in the datagram for the packet tree.
struct SsrpToken {
    size_t key_offset = 0, key_length = 0;
    size_t value_offset = 0, value_length = 0;
    std::string key, value;
};

// One instance of an answer: "ServerName;S;InstanceName;I;IsClustered;No;Version;V;tcp;1433;np;...;;".
struct SsrpInstance {
    size_t offset = 0, length = 0;  // in the datagram
    std::string server, instance, clustered, version, pipe;
    std::optional<uint16_t> tcp_port;
    std::vector<SsrpToken> tokens;  // all pairs, in order (the named ones above included)
};

struct SsrpMessage {
    bool valid = false;           // the bytes are an SSRP message this reader understands
    SsrpType type = SsrpType::Response;
    std::string instance;         // requested instance (CLNT_UCAST_INST, CLNT_UCAST_DAC)
    size_t instance_offset = 0, instance_length = 0;  // its bytes, without the terminating NUL
    uint8_t dac_version = 0;      // CLNT_UCAST_DAC protocol version (1)
    uint16_t resp_size = 0;       // SVR_RESP RESP_SIZE
    bool dac_response = false;    // SVR_RESP to a CLNT_UCAST_DAC: version and port only
    std::optional<uint16_t> dac_port;
    std::vector<SsrpInstance> instances;
    bool truncated = false;       // RESP_SIZE claims more bytes than the datagram holds
};

// Reads one datagram. `from_server` tells a request (to UDP 1434) from an answer (from UDP 1434).
// Never reads past `len`; anything it does not understand gives valid == false.
SsrpMessage parse_ssrp(const uint8_t* data, size_t len, bool from_server);

// What the core is told about one SSRP frame.
struct BrowserPacket {
    uint32_t frame = 0;
    int64_t time_ns = 0;
    uint32_t stream = 0;  // UDP stream index
    std::string src_addr, dst_addr;
    uint16_t src_port = 0, dst_port = 0;
    // The frame is an ICMP error (type/code below) that quotes the request src -> dst.
    bool icmp_error = false;
    uint8_t icmp_type = 0, icmp_code = 0;
    bool icmpv6 = false;
    SsrpMessage msg;
};

// A diagnosis of a lookup, kept with its text: lookups render from their current state, since some
// evidence (no answer at all) is complete only when the capture has been read.
struct LookupFinding {
    uint32_t frame;
    Diagnosis diagnosis;
    bool at_capture_end;  // known only once the whole capture has been read
};

// The texts of a lookup's diagnoses, written where every other text is (describe.cpp). `what` is
// "request" or "request for instance NAME"; times are in nanoseconds.
// The ICMP error `p` answered the request sent in `request_frame`, `after_ns` before it.
Diagnosis browser_icmp_diagnosis(const BrowserPacket& p, const std::string& server, const std::string& what,
                                 bool port_unreachable, uint32_t request_frame, int64_t after_ns);
// The client asked again `after_ns` after its first request, with no answer yet.
Diagnosis browser_retry_diagnosis(const std::string& what, int64_t after_ns, const std::string& server);
// The answer came `delay_ns` after the request, past the threshold `slow_ns`. Here `what` begins with "the ".
Diagnosis browser_slow_diagnosis(const std::string& server, const std::string& what, int64_t delay_ns, int64_t slow_ns);
// The answer lists `instances` (BrowserLookup::instance_list), without the instance `requested`.
Diagnosis browser_no_instance_diagnosis(const std::string& server, const std::string& requested,
                                        const std::string& instances);
// No answer and no ICMP error by the end of the capture; `named_instance`: a CLNT_UCAST_INST request.
Diagnosis browser_silence_diagnosis(const std::string& what, const std::string& server, bool named_instance);
// A request of type `request` (naming no instance) was answered with `instances`, and no connection followed.
Diagnosis browser_unused_list_diagnosis(const std::string& server, const std::string& instances, SsrpType request);

// One SQL Browser lookup: a client socket's requests to one server, their answer or ICMP error.
class BrowserLookup {
public:
    BrowserLookup(uint32_t id, const BrowserPacket& first, int64_t slow_ns);

    // Feeds a frame of this lookup; returns the diagnoses whose evidence this frame completed.
    FrameResult on_packet(const BrowserPacket& p);
    // All diagnoses now; with capture_complete, also those that need the end of the capture.
    std::vector<LookupFinding> findings(bool capture_complete) const;
    // The diagnoses to show on `frame`.
    std::vector<Diagnosis> diagnoses_on(uint32_t frame, bool capture_complete) const;

    uint32_t id() const { return id_; }
    uint32_t stream() const { return stream_; }  // UDP stream index of its first frame
    const std::string& client_addr() const { return client_addr_; }
    const std::string& server_addr() const { return server_addr_; }
    uint16_t client_port() const { return client_port_; }
    uint32_t first_frame() const { return first_frame_; }
    int64_t start_ns() const { return start_ns_; }
    int64_t last_ns() const { return last_ns_; }
    bool answered() const { return answer_frame_ != 0; }
    uint32_t answer_frame() const { return answer_frame_; }
    uint32_t request_frame() const { return first_frame_; }
    std::optional<int64_t> answer_delay_ns() const;
    const std::string& requested_instance() const { return requested_; }
    SsrpType request_type() const { return request_type_; }
    // TCP ports of the instance the client asked for (all instances for the _EX requests).
    const std::vector<uint16_t>& ports() const { return ports_; }
    std::string instance_list() const;  // "SQLEXPRESS (tcp 1433), MSSQL2 (tcp 50123)"
    // The ServerName of the answer's instances the client asked for (all for the _EX requests), each once.
    const std::vector<std::string>& server_names() const { return server_names_; }
    int64_t answer_ns() const { return answer_ns_; }
    bool request_seen() const { return requests_ != 0; }  // the capture holds the client's request

    // The TCP connection that used the answer (linked by the Analyzer).
    std::optional<uint32_t> linked_stream;
    uint32_t linked_frame = 0;

private:
    uint32_t id_;
    uint32_t stream_;
    int64_t slow_ns_;
    std::string client_addr_, server_addr_;
    uint16_t client_port_ = 0;
    uint32_t first_frame_ = 0;
    int64_t start_ns_ = 0, last_ns_ = 0;
    int requests_ = 0;
    uint32_t last_request_frame_ = 0;
    SsrpType request_type_ = SsrpType::UnicastInst;
    std::string requested_;
    uint32_t answer_frame_ = 0;
    int64_t answer_ns_ = 0;
    uint32_t icmp_frame_ = 0;
    std::vector<uint16_t> ports_;
    std::vector<std::string> instances_;  // "NAME (tcp PORT)"
    std::vector<std::string> server_names_;
    bool instance_found_ = false;
    std::vector<LookupFinding> findings_;
};

}  // namespace tdsdiag

#include "tdsdiag/ssrp.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "tdsdiag/text.hpp"

namespace tdsdiag {

const char* ssrp_type_name(SsrpType t) {
    switch (t) {
    case SsrpType::BroadcastEx: return "CLNT_BCAST_EX";
    case SsrpType::UnicastEx: return "CLNT_UCAST_EX";
    case SsrpType::UnicastInst: return "CLNT_UCAST_INST";
    case SsrpType::Response: return "SVR_RESP";
    case SsrpType::UnicastDac: return "CLNT_UCAST_DAC";
    }
    return "?";
}

namespace {

bool iequal(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

std::optional<uint16_t> parse_port(const std::string& s) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

// A NUL-terminated instance name of at most `max` bytes starting at `off`; false if malformed.
bool read_name(const uint8_t* data, size_t len, size_t off, size_t max, SsrpMessage& m) {
    size_t end = off;
    while (end < len && data[end] != 0) ++end;
    // The terminating NUL may be missing at the very end of the datagram (some clients omit it).
    if (end - off > max) return false;
    m.instance.assign(reinterpret_cast<const char*>(data + off), end - off);
    m.instance_offset = off;
    m.instance_length = end - off;
    return true;
}

// RESP_DATA: instances of "key;value;" pairs, each instance ended by an empty token (";;").
void parse_instances(const uint8_t* data, size_t begin, size_t end, SsrpMessage& m) {
    size_t pos = begin;
    SsrpInstance cur;
    bool open = false;
    std::string pending_key;
    size_t pending_off = 0, pending_len = 0;
    bool have_key = false;
    while (pos < end) {
        size_t semi = pos;
        while (semi < end && data[semi] != ';') ++semi;
        const std::string token(reinterpret_cast<const char*>(data + pos), semi - pos);
        if (token.empty() && !have_key) {
            // ";;": the instance ends.
            if (open) {
                cur.length = semi - cur.offset;
                m.instances.push_back(std::move(cur));
                cur = SsrpInstance{};
                open = false;
            }
        } else if (!have_key) {
            if (!open) {
                open = true;
                cur.offset = pos;
            }
            pending_key = token;
            pending_off = pos;
            pending_len = semi - pos;
            have_key = true;
        } else {
            SsrpToken t;
            t.key = pending_key;
            t.key_offset = pending_off;
            t.key_length = pending_len;
            t.value = token;
            t.value_offset = pos;
            t.value_length = semi - pos;
            if (iequal(t.key, "ServerName")) cur.server = t.value;
            else if (iequal(t.key, "InstanceName")) cur.instance = t.value;
            else if (iequal(t.key, "IsClustered")) cur.clustered = t.value;
            else if (iequal(t.key, "Version")) cur.version = t.value;
            else if (iequal(t.key, "tcp")) cur.tcp_port = parse_port(t.value);
            else if (iequal(t.key, "np")) cur.pipe = t.value;
            cur.tokens.push_back(std::move(t));
            have_key = false;
        }
        pos = semi + 1;
    }
    if (open) {  // an instance without its closing ";;" (cut short): keep what was read
        cur.length = end - cur.offset;
        m.instances.push_back(std::move(cur));
    }
}

}  // namespace

SsrpMessage parse_ssrp(const uint8_t* data, size_t len, bool from_server) {
    SsrpMessage m;
    if (data == nullptr || len == 0) return m;
    const uint8_t type = data[0];
    if (!from_server) {
        switch (type) {
        case 0x02:
        case 0x03:
            m.type = static_cast<SsrpType>(type);
            m.valid = len == 1;
            return m;
        case 0x04:
            m.type = SsrpType::UnicastInst;
            m.valid = len >= 2 && read_name(data, len, 1, 32, m);
            return m;
        case 0x0f:
            m.type = SsrpType::UnicastDac;
            if (len < 3) return m;
            m.dac_version = data[1];
            m.valid = read_name(data, len, 2, 32, m);
            return m;
        default: return m;
        }
    }
    if (type != 0x05 || len < 3) return m;
    m.type = SsrpType::Response;
    m.resp_size = static_cast<uint16_t>(data[1] | (data[2] << 8));
    size_t end = 3 + static_cast<size_t>(m.resp_size);
    if (end > len) {
        m.truncated = true;
        end = len;
    }
    if (m.resp_size == 6 && end >= 6 && data[3] == 0x01 && len == 6) {
        // The answer to CLNT_UCAST_DAC: protocol version 1, then the DAC's TCP port.
        m.dac_response = true;
        m.dac_port = static_cast<uint16_t>(data[4] | (data[5] << 8));
        m.valid = true;
        return m;
    }
    parse_instances(data, 3, end, m);
    m.valid = true;
    return m;
}

// ---- lookups --------------------------------------------------------------------------------

BrowserLookup::BrowserLookup(uint32_t id, const BrowserPacket& first, int64_t slow_ns)
    : id_(id), stream_(first.stream), slow_ns_(slow_ns) {
    const bool answer = first.msg.type == SsrpType::Response && !first.icmp_error;
    client_addr_ = answer ? first.dst_addr : first.src_addr;
    server_addr_ = answer ? first.src_addr : first.dst_addr;
    client_port_ = answer ? first.dst_port : first.src_port;
    first_frame_ = first.frame;
    start_ns_ = first.time_ns;
}

std::optional<int64_t> BrowserLookup::answer_delay_ns() const {
    if (answer_frame_ == 0 || requests_ == 0) return std::nullopt;
    return answer_ns_ - start_ns_;
}

std::string BrowserLookup::instance_list() const {
    std::string s;
    for (const std::string& i : instances_) s += (s.empty() ? "" : ", ") + i;
    return s.empty() ? "no instance" : s;
}

namespace {

bool has_finding(const std::vector<LookupFinding>& findings, Code code) {
    for (const LookupFinding& f : findings)
        if (f.diagnosis.code == code) return true;
    return false;
}

}  // namespace

FrameResult BrowserLookup::on_packet(const BrowserPacket& p) {
    FrameResult r;
    r.in_connection = true;
    r.step = Step::Browser;
    r.step_first = p.frame == first_frame_;
    last_ns_ = std::max(last_ns_, p.time_ns);
    auto add = [&](Diagnosis d) {
        findings_.push_back({p.frame, d, false});
        r.diagnoses.push_back(std::move(d));
    };
    const std::string what = requested_.empty() ? std::string("the request") : "the request for instance " + requested_;

    if (p.icmp_error) {
        if (icmp_frame_ != 0 || answer_frame_ != 0) return r;
        icmp_frame_ = p.frame;
        const bool port_unreachable = (!p.icmpv6 && p.icmp_type == 3 && p.icmp_code == 3) ||
                                      (p.icmpv6 && p.icmp_type == 1 && p.icmp_code == 4);
        add(browser_icmp_diagnosis(p, server_addr_, what.substr(4), port_unreachable, last_request_frame_,
                                   p.time_ns - start_ns_));
        return r;
    }

    if (p.msg.type != SsrpType::Response) {
        // A request (the first one, or the client asking again).
        if (requests_ == 0) {
            request_type_ = p.msg.type;
            requested_ = p.msg.instance;
            start_ns_ = p.time_ns;
        }
        ++requests_;
        last_request_frame_ = p.frame;
        // Asked again 0.5 s or more later without an answer: the first try went unanswered.
        if (requests_ >= 2 && answer_frame_ == 0 && icmp_frame_ == 0 && p.time_ns - start_ns_ >= 500000000) {
            if (!has_finding(findings_, Code::BrowserUnanswered))
                add(browser_retry_diagnosis(what.substr(4), p.time_ns - start_ns_, server_addr_));
        }
        return r;
    }

    // The answer.
    if (answer_frame_ != 0) return r;  // a copy or a second answer
    answer_frame_ = p.frame;
    answer_ns_ = p.time_ns;
    findings_.erase(std::remove_if(findings_.begin(), findings_.end(),
                                   [](const LookupFinding& f) { return f.diagnosis.code == Code::BrowserUnanswered; }),
                    findings_.end());
    if (p.msg.dac_response) {
        if (p.msg.dac_port) {
            ports_.push_back(*p.msg.dac_port);
            instances_.push_back(format("DAC (tcp %u)", *p.msg.dac_port));
        }
        instance_found_ = true;
    }
    for (const SsrpInstance& i : p.msg.instances) {
        instances_.push_back(i.tcp_port ? format("%s (tcp %u)", i.instance.c_str(), *i.tcp_port)
                                        : format("%s (no TCP)", i.instance.c_str()));
        const bool wanted = request_type_ != SsrpType::UnicastInst || iequal(i.instance, requested_);
        if (request_type_ == SsrpType::UnicastInst && wanted) instance_found_ = true;
        if (wanted && i.tcp_port && std::find(ports_.begin(), ports_.end(), *i.tcp_port) == ports_.end())
            ports_.push_back(*i.tcp_port);
        if (wanted && !i.server.empty() &&
            std::none_of(server_names_.begin(), server_names_.end(), [&](const std::string& n) { return iequal(n, i.server); }))
            server_names_.push_back(i.server);
    }
    if (requests_ == 0) return r;  // the capture missed the request: nothing to measure
    const int64_t delay = p.time_ns - start_ns_;
    if (delay > slow_ns_)
        add(browser_slow_diagnosis(server_addr_, what, delay, slow_ns_));
    if (request_type_ == SsrpType::UnicastInst && !instance_found_)
        add(browser_no_instance_diagnosis(server_addr_, requested_, instance_list()));
    return r;
}

std::vector<LookupFinding> BrowserLookup::findings(bool capture_complete) const {
    std::vector<LookupFinding> out = findings_;
    if (!capture_complete || requests_ == 0) return out;
    if (answer_frame_ == 0 && icmp_frame_ == 0) {
        if (!has_finding(out, Code::BrowserUnanswered)) {
            const std::string what = requested_.empty() ? std::string("request") : "request for instance " + requested_;
            out.push_back({last_request_frame_,
                           browser_silence_diagnosis(what, server_addr_, request_type_ == SsrpType::UnicastInst),
                           true});
        }
    } else if (answer_frame_ != 0 && !linked_stream &&
               (request_type_ == SsrpType::BroadcastEx || request_type_ == SsrpType::UnicastEx)) {
        // The request named no instance: only the absence of a connection afterwards hints at a miss.
        out.push_back({answer_frame_, browser_unused_list_diagnosis(server_addr_, instance_list(), request_type_), true});
    }
    return out;
}

std::vector<Diagnosis> BrowserLookup::diagnoses_on(uint32_t frame, bool capture_complete) const {
    std::vector<Diagnosis> out;
    for (const LookupFinding& f : findings(capture_complete))
        if (f.frame == frame) out.push_back(f.diagnosis);
    return out;
}

}  // namespace tdsdiag

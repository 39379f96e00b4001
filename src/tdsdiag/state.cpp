#include "tdsdiag/state.hpp"

#include <algorithm>
#include <cstring>

namespace tdsdiag {

std::optional<Step> step_of(State s) {
    switch (s) {
    case State::SynSent:
    case State::Established: return Step::TcpHandshake;
    case State::Prelogin: return Step::Prelogin;
    case State::TlsHandshake: return Step::TlsHandshake;
    case State::Login: return Step::Login;
    case State::LoginResponse: return Step::LoginResponse;
    case State::Commands: return Step::Commands;
    case State::Closing: return Step::Close;
    case State::Start:
    case State::Midstream: break;
    }
    return std::nullopt;
}

const char* message_name(Message m) {
    switch (m) {
    case Message::Syn: return "Syn";
    case Message::SynAck: return "SynAck";
    case Message::Fin: return "Fin";
    case Message::Rst: return "Rst";
    case Message::Ack: return "Ack";
    case Message::PreloginRequest: return "PreloginRequest";
    case Message::PreloginResponse: return "PreloginResponse";
    case Message::TlsHandshake: return "TlsHandshake";
    case Message::AppData: return "AppData";
    case Message::Login7: return "Login7";
    case Message::Sspi: return "Sspi";
    case Message::Command: return "Command";
    case Message::Response: return "Response";
    case Message::Data: return "Data";
    }
    return "?";
}

namespace {

Message classify_tds(const Packet& p, bool from_client) {
    for (uint8_t t : p.tds_types) {
        switch (t) {
        case kTdsTlsMisparsed: return Message::TlsHandshake;
        case kTdsPrelogin:
            if (from_client) return Message::PreloginRequest;
            break;
        case kTdsLogin7:
        case kTdsPreTds7Login:
            if (from_client) return Message::Login7;
            break;
        case kTdsSspi:
        case kTdsFedAuthToken:
            if (from_client) return Message::Sspi;
            break;
        case kTdsSqlBatch:
        case kTdsRpc:
        case kTdsAttention:
        case kTdsBulkLoad:
        case kTdsTransMgr:
            if (from_client) return Message::Command;
            break;
        case kTdsResponse:
            if (!from_client && p.sspi_only_response) return Message::Sspi;  // the server's SSPI challenge
            if (!from_client) return p.prelogin_encryption >= 0 ? Message::PreloginResponse : Message::Response;
            break;
        default: break;
        }
    }
    return Message::Data;
}

// A message that names its step even when the capture joined the connection late.
std::optional<State> state_named_by(Message m, bool from_client) {
    switch (m) {
    case Message::PreloginRequest:
    case Message::PreloginResponse: return State::Prelogin;
    case Message::TlsHandshake: return State::TlsHandshake;
    case Message::Login7:
    case Message::Sspi: return State::Login;
    case Message::Command:
        if (from_client) return State::Commands;
        break;
    default: break;
    }
    return std::nullopt;
}

}  // namespace

Message classify(const Packet& p, bool from_client, const ClassifyContext& ctx) {
    if (p.rst()) return Message::Rst;
    if (p.syn()) return p.ack() ? Message::SynAck : Message::Syn;
    if (p.fin()) return Message::Fin;
    if (p.tcp_len == 0) return Message::Ack;
    if (!p.tls_content_types.empty()) {
        auto appdata = std::count(p.tls_content_types.begin(), p.tls_content_types.end(), kTlsApplicationData);
        if (appdata > 0 && ctx.tls13 && !ctx.client_finished_seen) {
            // TLS 1.3 encrypts the rest of the handshake: the server's flight and the client's
            // Finished travel as application-data records.
            if (!from_client) return Message::TlsHandshake;
            --appdata;
        }
        return appdata > 0 ? Message::AppData : Message::TlsHandshake;
    }
    return classify_tds(p, from_client);
}

State next_state(State s, Message m, bool from_client, bool strict, bool prelogin_answered) {
    if (s == State::Closing || m == Message::Fin || m == Message::Rst) return State::Closing;
    const bool payload = m != Message::Syn && m != Message::SynAck && m != Message::Ack;
    switch (s) {
    case State::Start:
        if (m == Message::Syn) return State::SynSent;
        if (m == Message::SynAck) return State::Established;
        return state_named_by(m, from_client).value_or(State::Midstream);
    case State::SynSent:
        if (!payload) return m == Message::Syn ? State::SynSent : State::Established;
        [[fallthrough]];  // payload: the SYN/ACK was not captured
    case State::Established:
        if (!payload || !from_client) return State::Established;
        if (m == Message::TlsHandshake) return State::TlsHandshake;  // TDS 8.0: TLS first
        if (m == Message::Login7) return State::Login;               // no prelogin (old clients)
        return State::Prelogin;                                       // the first payload is the prelogin
    case State::Prelogin:
        if (!from_client) return State::Prelogin;
        if (m == Message::TlsHandshake) return State::TlsHandshake;
        if (m == Message::Login7 || m == Message::Sspi) return State::Login;
        if (m == Message::AppData && strict && prelogin_answered) return State::Login;
        return State::Prelogin;
    case State::TlsHandshake:
        if (from_client && m == Message::AppData) return strict ? State::Prelogin : State::Login;
        if (from_client && m == Message::Login7) return State::Login;
        return State::TlsHandshake;
    case State::Login:
        // An SSPI round trip (the server's challenge, the client's answer) stays in the login.
        if (!from_client && payload && m != Message::Sspi) return State::LoginResponse;
        return State::Login;
    case State::LoginResponse:
        if (from_client && m == Message::Sspi) return State::Login;
        if (from_client && payload) return State::Commands;
        return State::LoginResponse;
    case State::Commands: return State::Commands;
    case State::Midstream: return state_named_by(m, from_client).value_or(State::Midstream);
    case State::Closing: break;
    }
    return State::Closing;
}

}  // namespace tdsdiag

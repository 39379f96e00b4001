// The state machine of one TCP connection to SQL Server. Each frame is first classified into a
// Message (a pure function of the frame and a little context), then the next State is a pure function
// of the current State and that Message.
#pragma once

#include <cstdint>
#include <optional>

#include "tdsdiag/model.hpp"
#include "tdsdiag/packet.hpp"
#include "tdsdiag/trackers.hpp"

namespace tdsdiag {

// Where the connection stands. Each state maps to one step (see step_of).
enum class State : uint8_t {
    Start,          // nothing seen yet
    SynSent,        // the client's SYN is out, no answer yet
    Established,    // SYN/ACK seen, no payload yet
    Prelogin,       // prelogin request sent; its answer may have come
    TlsHandshake,   // TLS handshake records are flowing
    Login,          // the client's login (Login7, SSPI) is on its way
    LoginResponse,  // the server is answering the login
    Commands,       // the session carries commands and results
    Closing,        // a FIN or RST has been seen
    Midstream,      // the capture joined an established connection at a point it cannot name
};

// What one frame says, in the terms of the connection's life.
enum class Message : uint8_t {
    Syn,               // SYN without ACK
    SynAck,            // SYN with ACK
    Fin,               // FIN (possibly with data)
    Rst,               // RST
    Ack,               // no payload
    PreloginRequest,   // client PRELOGIN without TLS inside
    PreloginResponse,  // server response carrying prelogin options
    TlsHandshake,      // TLS handshake, change-cipher-spec or alert records
    AppData,           // TLS application data carrying the session's messages
    Login7,            // TDS Login7 in clear
    Sspi,              // TDS SSPI message (Windows authentication round trip)
    Command,           // SQL batch, RPC, attention, bulk load, transaction manager
    Response,          // TDS tabular response in clear
    Data,              // payload the dissectors did not name (a segment of a larger PDU)
};

std::optional<Step> step_of(State s);
const char* message_name(Message m);

// Pure: the message a frame carries, seen from one side.
Message classify(const Packet& p, bool from_client, const ClassifyContext& ctx);

// Pure: the next state. `strict` is TDS 8.0 (TLS first); `prelogin_answered` tells whether the
// server has answered the prelogin (TDS 8.0 carries it inside TLS, so only order tells it apart).
State next_state(State s, Message m, bool from_client, bool strict, bool prelogin_answered);

}  // namespace tdsdiag

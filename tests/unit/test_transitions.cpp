// The next state as a pure function of (state, message, side): the transition table.
#include "catch_compat.hpp"

#include "tdsdiag/connection.hpp"

using tdsdiag::Message;
using tdsdiag::State;

namespace {
constexpr bool C = true;   // sent by the client
constexpr bool S = false;  // sent by the server
}  // namespace

TEST_CASE("The transition table gives the next state of a connection for each message", "[transitions]") {
    auto row = GENERATE(table<State, Message, bool, bool, bool, State>({
        // state                message                    client strict answered -> next
        {State::Start, Message::Syn, C, false, false, State::SynSent},
        {State::Start, Message::SynAck, S, false, false, State::Established},
        {State::Start, Message::Ack, C, false, false, State::Midstream},
        {State::Start, Message::Command, C, false, false, State::Commands},
        {State::Start, Message::PreloginRequest, C, false, false, State::Prelogin},
        {State::Start, Message::AppData, C, false, false, State::Midstream},
        {State::SynSent, Message::Syn, C, false, false, State::SynSent},
        {State::SynSent, Message::SynAck, S, false, false, State::Established},
        {State::SynSent, Message::Rst, S, false, false, State::Closing},
        {State::SynSent, Message::PreloginRequest, C, false, false, State::Prelogin},
        {State::Established, Message::Ack, C, false, false, State::Established},
        {State::Established, Message::PreloginRequest, C, false, false, State::Prelogin},
        {State::Established, Message::Data, C, false, false, State::Prelogin},
        {State::Established, Message::TlsHandshake, C, false, false, State::TlsHandshake},
        {State::Established, Message::Login7, C, false, false, State::Login},
        {State::Established, Message::Data, S, false, false, State::Established},
        {State::Prelogin, Message::PreloginResponse, S, false, false, State::Prelogin},
        {State::Prelogin, Message::TlsHandshake, C, false, true, State::TlsHandshake},
        {State::Prelogin, Message::Login7, C, false, true, State::Login},
        {State::Prelogin, Message::AppData, C, true, false, State::Prelogin},
        {State::Prelogin, Message::AppData, S, true, false, State::Prelogin},
        {State::Prelogin, Message::AppData, C, true, true, State::Login},
        {State::TlsHandshake, Message::TlsHandshake, S, false, false, State::TlsHandshake},
        {State::TlsHandshake, Message::AppData, S, false, false, State::TlsHandshake},
        {State::TlsHandshake, Message::AppData, C, false, false, State::Login},
        {State::TlsHandshake, Message::AppData, C, true, false, State::Prelogin},
        {State::Login, Message::AppData, C, false, false, State::Login},
        {State::Login, Message::Ack, S, false, false, State::Login},
        {State::Login, Message::Response, S, false, false, State::LoginResponse},
        {State::Login, Message::AppData, S, false, false, State::LoginResponse},
        {State::Login, Message::Data, S, false, false, State::LoginResponse},
        {State::LoginResponse, Message::Response, S, false, false, State::LoginResponse},
        {State::LoginResponse, Message::Ack, C, false, false, State::LoginResponse},
        {State::LoginResponse, Message::Command, C, false, false, State::Commands},
        {State::LoginResponse, Message::AppData, C, false, false, State::Commands},
        {State::Commands, Message::Response, S, false, false, State::Commands},
        {State::Commands, Message::Fin, C, false, false, State::Closing},
        {State::Commands, Message::Rst, S, false, false, State::Closing},
        {State::Closing, Message::Ack, C, false, false, State::Closing},
        {State::Closing, Message::Command, C, false, false, State::Closing},
        {State::Midstream, Message::Response, S, false, false, State::Midstream},
        {State::Midstream, Message::Command, C, false, false, State::Commands},
        {State::Midstream, Message::Login7, C, false, false, State::Login},
        {State::Midstream, Message::Fin, S, false, false, State::Closing},
    }));
    const State from = std::get<0>(row);
    const Message m = std::get<1>(row);
    CAPTURE(static_cast<int>(from), tdsdiag::message_name(m), std::get<2>(row), std::get<3>(row), std::get<4>(row));
    CHECK(tdsdiag::next_state(from, m, std::get<2>(row), std::get<3>(row), std::get<4>(row)) == std::get<5>(row));
}

TEST_CASE("Each state maps to the step of its meaning", "[transitions]") {
    CHECK(!tdsdiag::step_of(State::Start));
    CHECK(!tdsdiag::step_of(State::Midstream));
    CHECK(tdsdiag::step_of(State::SynSent) == tdsdiag::Step::TcpHandshake);
    CHECK(tdsdiag::step_of(State::Established) == tdsdiag::Step::TcpHandshake);
    CHECK(tdsdiag::step_of(State::Prelogin) == tdsdiag::Step::Prelogin);
    CHECK(tdsdiag::step_of(State::TlsHandshake) == tdsdiag::Step::TlsHandshake);
    CHECK(tdsdiag::step_of(State::Login) == tdsdiag::Step::Login);
    CHECK(tdsdiag::step_of(State::LoginResponse) == tdsdiag::Step::LoginResponse);
    CHECK(tdsdiag::step_of(State::Commands) == tdsdiag::Step::Commands);
    CHECK(tdsdiag::step_of(State::Closing) == tdsdiag::Step::Close);
}

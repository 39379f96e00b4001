// Windows authentication inside the login (MS-TDS: SSPI data of the Login7, the server's SSPI token
// 0xED, the client's SSPI packet 0x11): which mechanism the blobs carry (NTLMSSP, Kerberos, SPNEGO),
// and what the NTLM AUTHENTICATE says. Wireshark 4.0 flags the 0xED token as malformed and leaves
// SPNEGO in 0x11 packets undissected, so the plugin hands the bytes here. Every read is bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tdsdiag {

enum class Mech : uint8_t { Unknown, Ntlm, Kerberos };

struct AuthToken {
    bool valid = false;     // a blob this reader recognises
    bool spnego = false;    // wrapped in SPNEGO (RFC 4178)
    Mech mech = Mech::Unknown;  // the mechanism of the token it carries (the inner token for SPNEGO)
    // SPNEGO NegTokenInit: the mechanisms the client offers; NegTokenResp: the one the server selects.
    bool offers_kerberos = false, offers_ntlm = false;
    Mech selected = Mech::Unknown;
    // NTLMSSP message type (1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE), 0 if not NTLM.
    uint32_t ntlm_type = 0;
    // AUTHENTICATE: user and domain (UTF-16LE turned to UTF-8 when the NEGOTIATE_UNICODE flag is set).
    std::string ntlm_user, ntlm_domain;
    bool ntlm_fields_read = false;  // the user and domain fields lay within the blob
};

// Reads one SSPI blob.
AuthToken parse_auth_token(const uint8_t* data, size_t len);

// The SSPI data of a Login7 (its bytes after the 8-byte TDS header). `integrated` tells whether
// fIntSecurity is set; the returned offset/length locate the SSPI blob (length 0 if none).
bool login7_sspi(const uint8_t* login7, size_t len, bool& integrated, size_t& offset, size_t& length);

// The length in characters of a Login7's password field (cchPassword), -1 if the fixed part is cut
// short. 0 with Windows authentication (the SSPI data stands for the password), whatever the option
// flags say.
int login7_password_chars(const uint8_t* login7, size_t len);

// A Login7's PacketSize (bytes 8-11 after the TDS header, MS-TDS 2.2.6.4), 0 if cut short.
uint32_t login7_packet_size(const uint8_t* login7, size_t len);

// A server response (TDS type 4, bytes after the header) that starts with an SSPI token (0xED):
// the blob's place, whether other tokens follow it, and whether one of them is a LOGINACK.
struct SspiResponse {
    bool sspi_first = false;
    size_t offset = 0, length = 0;
    bool more_tokens = false;
    bool login_ack = false;
};
SspiResponse scan_sspi_response(const uint8_t* payload, size_t len);

}  // namespace tdsdiag

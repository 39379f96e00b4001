#include "tdsdiag/auth.hpp"

#include "tdsdiag/text.hpp"

#include <algorithm>
#include <cstring>

namespace tdsdiag {
namespace {

// DER encodings of the object identifiers that name the mechanisms (tag 0x06, length, value).
const uint8_t kOidKrb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};    // 1.2.840.113554.1.2.2
const uint8_t kOidMsKrb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};  // 1.2.840.48018.1.2.2
const uint8_t kOidNtlm[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};  // 1.3.6.1.4.1.311.2.2.10
const uint8_t kOidSpnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};                     // 1.3.6.1.5.5.2
const uint8_t kNtlmSignature[] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

// Offset of `needle` in data[from, len), or len if absent.
size_t find(const uint8_t* data, size_t len, const uint8_t* needle, size_t n, size_t from = 0) {
    if (n == 0 || len < n) return len;
    for (size_t i = from; i + n <= len; ++i)
        if (data[i] == needle[0] && std::memcmp(data + i, needle, n) == 0) return i;
    return len;
}

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}

// An NTLMSSP message starting at `p` (MS-NLMP 2.2.1): its type, and for AUTHENTICATE the user and domain.
void read_ntlm(const uint8_t* p, size_t len, AuthToken& t) {
    if (len < 12) return;
    t.mech = Mech::Ntlm;
    t.ntlm_type = le32(p + 8);
    if (t.ntlm_type != 3 || len < 64) return;
    const uint32_t flags = le32(p + 60);
    const bool unicode = flags & 0x00000001;
    auto field = [&](size_t at, std::string& out) {
        const size_t n = le16(p + at), off = le32(p + at + 4);
        if (off > len || n > len - off) return false;
        out = unicode ? utf16le_to_utf8(p + off, n) : std::string(reinterpret_cast<const char*>(p + off), n);
        return true;
    };
    t.ntlm_fields_read = field(28, t.ntlm_domain) && field(36, t.ntlm_user);
}

}  // namespace

AuthToken parse_auth_token(const uint8_t* data, size_t len) {
    AuthToken t;
    if (data == nullptr || len < 8) return t;
    if (std::memcmp(data, kNtlmSignature, sizeof kNtlmSignature) == 0) {
        read_ntlm(data, len, t);
        t.valid = t.mech == Mech::Ntlm;
        return t;
    }
    const bool init = data[0] == 0x60;  // GSS-API InitialContextToken (SPNEGO init or raw Kerberos)
    const bool resp = data[0] == 0xa1;  // SPNEGO NegTokenResp
    if (!init && !resp) {
        // A raw Kerberos AP-REP (APPLICATION 15) as some servers answer with mutual authentication.
        if (data[0] == 0x6f) {
            t.valid = true;
            t.mech = Mech::Kerberos;
        }
        return t;
    }
    // The OID right after the InitialContextToken header names the mechanism: look only near the start.
    const size_t head = std::min<size_t>(len, 8 + sizeof kOidSpnego);
    if (init && find(data, head, kOidSpnego, sizeof kOidSpnego) < head) {
        t.spnego = true;
        const size_t krb = std::min(find(data, len, kOidKrb5, sizeof kOidKrb5), find(data, len, kOidMsKrb5, sizeof kOidMsKrb5));
        const size_t ntlm_oid = find(data, len, kOidNtlm, sizeof kOidNtlm);
        const size_t ntlm_msg = find(data, len, kNtlmSignature, sizeof kNtlmSignature);
        t.offers_kerberos = krb < len && krb < ntlm_msg;
        t.offers_ntlm = ntlm_oid < len;
        if (ntlm_msg < len) {
            read_ntlm(data + ntlm_msg, len - ntlm_msg, t);
        } else if (t.offers_kerberos && (krb < ntlm_oid || ntlm_oid == len)) {
            t.mech = Mech::Kerberos;  // an optimistic Kerberos token for the first (preferred) mechanism
        }
        t.valid = true;
        return t;
    }
    if (init) {
        const size_t near = std::min(len, head + 4);  // never past the token's end
        const size_t krb = std::min(find(data, near, kOidKrb5, sizeof kOidKrb5), find(data, near, kOidMsKrb5, sizeof kOidMsKrb5));
        if (krb < near) {
            t.valid = true;
            t.mech = Mech::Kerberos;
            t.offers_kerberos = true;
        }
        return t;
    }
    // NegTokenResp: its only OID is the supportedMech (the server's choice, in its first answer).
    t.spnego = true;
    t.valid = true;
    const size_t at_ntlm = find(data, len, kOidNtlm, sizeof kOidNtlm);
    const size_t at_krb = std::min(find(data, len, kOidKrb5, sizeof kOidKrb5), find(data, len, kOidMsKrb5, sizeof kOidMsKrb5));
    if (at_ntlm < at_krb) t.selected = Mech::Ntlm;
    else if (at_krb < at_ntlm) t.selected = Mech::Kerberos;
    const size_t ntlm_msg = find(data, len, kNtlmSignature, sizeof kNtlmSignature);
    if (ntlm_msg < len) read_ntlm(data + ntlm_msg, len - ntlm_msg, t);
    else if (t.selected == Mech::Kerberos) t.mech = Mech::Kerberos;
    return t;
}

bool login7_sspi(const uint8_t* p, size_t len, bool& integrated, size_t& offset, size_t& length) {
    integrated = false;
    offset = length = 0;
    if (p == nullptr || len < 82) return false;
    integrated = (p[25] & 0x80) != 0;  // OptionFlags2.fIntSecurity
    const size_t ib = le16(p + 78), cb = le16(p + 80);
    if (integrated && cb > 0 && ib <= len && cb <= len - ib) {
        offset = ib;
        length = cb;
    }
    return true;
}

int login7_password_chars(const uint8_t* p, size_t len) {
    if (p == nullptr || len < 48) return -1;
    return le16(p + 46);  // ibPassword at 44, cchPassword at 46 (MS-TDS 2.2.6.4)
}

uint32_t login7_packet_size(const uint8_t* p, size_t len) {
    if (p == nullptr || len < 12) return 0;
    return le32(p + 8);
}

SspiResponse scan_sspi_response(const uint8_t* p, size_t len) {
    SspiResponse r;
    if (p == nullptr || len < 3 || p[0] != 0xed) return r;
    const size_t n = le16(p + 1);
    if (n > len - 3) return r;
    r.sspi_first = true;
    r.offset = 3;
    r.length = n;
    size_t pos = 3 + n;
    r.more_tokens = pos < len;
    // Walk the tokens that follow (those of a login response) far enough to see a LOGINACK.
    while (pos < len) {
        const uint8_t tok = p[pos];
        if (tok == 0xad) r.login_ack = true;
        if (tok == 0xad || tok == 0xe3 || tok == 0xab || tok == 0xaa || tok == 0xed) {
            if (len - pos < 3) break;
            pos += 3 + le16(p + pos + 1);
        } else if (tok == 0xfd || tok == 0xfe || tok == 0xff) {
            pos += 13;  // DONE: status, curcmd, 8-byte row count (TDS 7.2+)
        } else {
            break;  // a token this walk does not size: stop
        }
    }
    return r;
}

}  // namespace tdsdiag

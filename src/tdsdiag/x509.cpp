#include "tdsdiag/x509.hpp"

#include <algorithm>
#include <cstdio>

namespace tdsdiag {
namespace {

// One DER element: tag, and the bounds of its contents.
struct Tlv {
    uint8_t tag = 0;
    const uint8_t* body = nullptr;
    size_t len = 0;
    const uint8_t* end() const { return body + len; }
};

// Reads the element at p (before end); advances p past it. Short forms and long forms up to 4 bytes.
bool read_tlv(const uint8_t*& p, const uint8_t* end, Tlv& out) {
    if (p >= end || end - p < 2) return false;
    out.tag = *p++;
    size_t len = *p++;
    if (len & 0x80) {
        const size_t n = len & 0x7f;
        if (n == 0 || n > 4 || static_cast<size_t>(end - p) < n) return false;
        len = 0;
        for (size_t i = 0; i < n; ++i) len = (len << 8) | *p++;
    }
    if (static_cast<size_t>(end - p) < len) return false;
    out.body = p;
    out.len = len;
    p += len;
    return true;
}

std::string oid_to_string(const uint8_t* b, size_t len) {
    if (len == 0) return {};
    std::string s = std::to_string(b[0] / 40) + "." + std::to_string(b[0] % 40);
    uint64_t v = 0;
    for (size_t i = 1; i < len; ++i) {
        if (v > (UINT64_MAX >> 7)) return {};
        v = (v << 7) | (b[i] & 0x7f);
        if (!(b[i] & 0x80)) {
            s += "." + std::to_string(v);
            v = 0;
        }
    }
    return s;
}

// The commonName (2.5.4.3) of a Name (SEQUENCE OF SET OF AttributeTypeAndValue).
std::string common_name(const Tlv& name) {
    const uint8_t* p = name.body;
    Tlv set, atv, type, value;
    std::string cn;
    while (p < name.end() && read_tlv(p, name.end(), set)) {
        const uint8_t* q = set.body;
        while (q < set.end() && read_tlv(q, set.end(), atv)) {
            const uint8_t* r = atv.body;
            if (!read_tlv(r, atv.end(), type) || type.tag != 0x06) continue;
            if (!read_tlv(r, atv.end(), value)) continue;
            if (oid_to_string(type.body, type.len) == "2.5.4.3") cn.assign(reinterpret_cast<const char*>(value.body), value.len);
        }
    }
    return cn;
}

int digits(const uint8_t* b, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (b[i] < '0' || b[i] > '9') return -1;
        v = v * 10 + (b[i] - '0');
    }
    return v;
}

// Days from 1970-01-01 to a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ).
std::optional<int64_t> read_time(const Tlv& t) {
    size_t year_len;
    if (t.tag == 0x17)
        year_len = 2;
    else if (t.tag == 0x18)
        year_len = 4;
    else
        return std::nullopt;
    if (t.len < year_len + 10) return std::nullopt;
    const uint8_t* b = t.body;
    int year = digits(b, year_len);
    if (year < 0) return std::nullopt;
    if (year_len == 2) year += year < 50 ? 2000 : 1900;
    const int mon = digits(b + year_len, 2), day = digits(b + year_len + 2, 2);
    const int hh = digits(b + year_len + 4, 2), mm = digits(b + year_len + 6, 2), ss = digits(b + year_len + 8, 2);
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh < 0 || mm < 0 || ss < 0) return std::nullopt;
    return days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
}

// The modulus size of an RSA SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { rsaEncryption, NULL },
// BIT STRING { SEQUENCE { INTEGER modulus, INTEGER exponent } } }; 0 for any other key.
int rsa_modulus_bits(const Tlv& spki) {
    static const uint8_t kRsaEncryption[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
    const uint8_t* p = spki.body;
    Tlv alg, oid, bits, key, modulus;
    if (!read_tlv(p, spki.end(), alg) || alg.tag != 0x30 || !read_tlv(p, spki.end(), bits) || bits.tag != 0x03)
        return 0;
    const uint8_t* q = alg.body;
    if (!read_tlv(q, alg.end(), oid) || oid.tag != 0x06 || oid.len != sizeof kRsaEncryption ||
        !std::equal(oid.body, oid.end(), kRsaEncryption))
        return 0;
    if (bits.len < 1 || bits.body[0] != 0) return 0;  // unused-bits byte
    q = bits.body + 1;
    if (!read_tlv(q, bits.end(), key) || key.tag != 0x30) return 0;
    q = key.body;
    if (!read_tlv(q, key.end(), modulus) || modulus.tag != 0x02) return 0;
    return bit_length(modulus.body, modulus.len);
}

}  // namespace

int bit_length(const uint8_t* b, size_t len) {
    size_t i = 0;
    while (i < len && b[i] == 0) ++i;
    if (i == len) return 0;
    int top = 0;
    for (uint8_t v = b[i]; v != 0; v >>= 1) ++top;
    return static_cast<int>((len - i - 1) * 8) + top;
}

std::optional<CertInfo> parse_certificate(const uint8_t* der, size_t len) {
    if (der == nullptr) return std::nullopt;
    const uint8_t* p = der;
    Tlv cert, tbs, el;
    if (!read_tlv(p, der + len, cert) || cert.tag != 0x30) return std::nullopt;
    p = cert.body;
    if (!read_tlv(p, cert.end(), tbs) || tbs.tag != 0x30) return std::nullopt;
    p = tbs.body;
    if (!read_tlv(p, tbs.end(), el)) return std::nullopt;
    if (el.tag == 0xa0 && !read_tlv(p, tbs.end(), el)) return std::nullopt;  // [0] version, then serial
    if (el.tag != 0x02) return std::nullopt;
    Tlv sig, oid, issuer, validity, subject, nb, na;
    if (!read_tlv(p, tbs.end(), sig) || sig.tag != 0x30) return std::nullopt;
    const uint8_t* q = sig.body;
    if (!read_tlv(q, sig.end(), oid) || oid.tag != 0x06) return std::nullopt;
    if (!read_tlv(p, tbs.end(), issuer) || issuer.tag != 0x30) return std::nullopt;
    if (!read_tlv(p, tbs.end(), validity) || validity.tag != 0x30) return std::nullopt;
    if (!read_tlv(p, tbs.end(), subject) || subject.tag != 0x30) return std::nullopt;
    Tlv spki;
    const bool has_spki = read_tlv(p, tbs.end(), spki) && spki.tag == 0x30;
    q = validity.body;
    if (!read_tlv(q, validity.end(), nb) || !read_tlv(q, validity.end(), na)) return std::nullopt;

    CertInfo info;
    info.signature_oid = oid_to_string(oid.body, oid.len);
    info.issuer_cn = common_name(issuer);
    info.subject_cn = common_name(subject);
    info.self_issued = issuer.len == subject.len && std::equal(issuer.body, issuer.end(), subject.body);
    auto b = read_time(nb), a = read_time(na);
    if (!b || !a) return std::nullopt;
    info.not_before = *b;
    info.not_after = *a;
    if (has_spki) info.rsa_bits = rsa_modulus_bits(spki);
    return info;
}

namespace {
struct SigAlg {
    const char* oid;
    const char* name;
    const char* hash;
};
const SigAlg kSigAlgs[] = {
    {"1.2.840.113549.1.1.2", "md2WithRSAEncryption", "MD2"},
    {"1.2.840.113549.1.1.4", "md5WithRSAEncryption", "MD5"},
    {"1.2.840.113549.1.1.5", "sha1WithRSAEncryption", "SHA-1"},
    {"1.2.840.113549.1.1.14", "sha224WithRSAEncryption", "SHA-224"},
    {"1.2.840.113549.1.1.11", "sha256WithRSAEncryption", "SHA-256"},
    {"1.2.840.113549.1.1.12", "sha384WithRSAEncryption", "SHA-384"},
    {"1.2.840.113549.1.1.13", "sha512WithRSAEncryption", "SHA-512"},
    {"1.2.840.113549.1.1.10", "RSASSA-PSS", ""},
    {"1.2.840.10045.4.1", "ecdsa-with-SHA1", "SHA-1"},
    {"1.2.840.10045.4.3.1", "ecdsa-with-SHA224", "SHA-224"},
    {"1.2.840.10045.4.3.2", "ecdsa-with-SHA256", "SHA-256"},
    {"1.2.840.10045.4.3.3", "ecdsa-with-SHA384", "SHA-384"},
    {"1.2.840.10045.4.3.4", "ecdsa-with-SHA512", "SHA-512"},
    {"1.2.840.10040.4.3", "dsa-with-sha1", "SHA-1"},
    {"1.3.101.112", "Ed25519", ""},
};
}  // namespace

std::string signature_algorithm_name(const std::string& oid) {
    for (const auto& a : kSigAlgs)
        if (oid == a.oid) return a.name;
    return oid;
}

std::string signature_hash(const std::string& oid) {
    for (const auto& a : kSigAlgs)
        if (oid == a.oid) return a.hash;
    return {};
}

bool is_weak_certificate_hash(const std::string& hash) {
    return hash == "MD2" || hash == "MD5" || hash == "SHA-1" || hash == "SHA-224" || hash == "SHA-512";
}

std::string format_utc(int64_t seconds) {
    // By arithmetic rather than gmtime_r, which Windows lacks (its gmtime_s stops at the year 3000,
    // and certificates valid "forever" end in 9999). The inverse of days_from_civil: whole days since
    // 1970-01-01 to a date of the proleptic Gregorian calendar, through 400-year cycles of 146,097
    // days counted from 0000-03-01, so that a leap day is a cycle year's last.
    constexpr int64_t kDay = 86400;
    constexpr int64_t kFirst = -62167219200;  // 0000-01-01 00:00:00
    constexpr int64_t kLast = 253402300799;   // 9999-12-31 23:59:59
    if (seconds < kFirst || seconds > kLast) return "?";  // beyond what a certificate can hold
    const int64_t days = (seconds - kFirst) / kDay - 60;  // days since 0000-03-01 (0000 is a leap year)
    const int64_t secs = (seconds - kFirst) % kDay;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t doe = days - era * 146097;                                     // day of the cycle
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // year of the cycle
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 // from March 1st
    const int64_t mp = (5 * doy + 2) / 153;                                      // 0 for March
    const int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const int64_t year = era * 400 + yoe + (month <= 2 ? 1 : 0);
    char buf[48];
    // The year without leading zeros, as strftime's %Y (what this printed on Linux before).
    std::snprintf(buf, sizeof buf, "%d-%02d-%02d %02d:%02d:%02d UTC", static_cast<int>(year), static_cast<int>(month),
                  static_cast<int>(day), static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
    return buf;
}

}  // namespace tdsdiag

#include "tdsdiag/x509.hpp"

#include <algorithm>
#include <cctype>
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

// The subjectAltName (2.5.29.17) entries of the TBS's extensions ([3] EXPLICIT SEQUENCE OF Extension):
// dNSName [2] and iPAddress [7]; others are skipped. At most 64 of each are kept.
void read_alt_names(const Tlv& extensions, CertInfo& info) {
    const uint8_t* p = extensions.body;
    Tlv list, ext, oid, value, names, gn;
    if (!read_tlv(p, extensions.end(), list) || list.tag != 0x30) return;
    p = list.body;
    while (p < list.end() && read_tlv(p, list.end(), ext)) {
        const uint8_t* q = ext.body;
        if (ext.tag != 0x30 || !read_tlv(q, ext.end(), oid) || oid.tag != 0x06) continue;
        if (oid_to_string(oid.body, oid.len) != "2.5.29.17") continue;
        if (!read_tlv(q, ext.end(), value)) continue;
        if (value.tag == 0x01 && !read_tlv(q, ext.end(), value)) continue;  // critical
        if (value.tag != 0x04) continue;
        const uint8_t* r = value.body;
        if (!read_tlv(r, value.end(), names) || names.tag != 0x30) continue;
        r = names.body;
        while (r < names.end() && read_tlv(r, names.end(), gn)) {
            if (gn.tag == 0x82 && info.dns_names.size() < 64)
                info.dns_names.emplace_back(reinterpret_cast<const char*>(gn.body), gn.len);
            else if (gn.tag == 0x87 && (gn.len == 4 || gn.len == 16) && info.ip_addresses.size() < 64)
                info.ip_addresses.emplace_back(gn.body, gn.end());
        }
    }
}

std::string lower_host(std::string s) {
    for (char& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

// RFC 6125 6.4.3: a presented identifier (`pattern`, from the certificate) against the name asked for,
// both lower case. The wildcard may only be in the left-most label and matches one whole label or the
// rest of it around a fixed prefix and suffix; a wildcard label that is an A-label matches nothing.
bool host_matches(const std::string& pattern, const std::string& name) {
    if (pattern.empty() || name.empty()) return false;
    const size_t star = pattern.find('*');
    if (star == std::string::npos) return pattern == name;
    const size_t pdot = pattern.find('.');
    if (pdot == std::string::npos || star > pdot || pattern.find('*', star + 1) != std::string::npos) return false;
    if (pattern.compare(0, 4, "xn--") == 0) return false;  // no wildcard inside an internationalized label
    const size_t ndot = name.find('.');
    if (ndot == std::string::npos || ndot == 0) return false;
    if (pattern.compare(pdot, std::string::npos, name, ndot, std::string::npos) != 0) return false;  // the rest, exactly
    const std::string prefix = pattern.substr(0, star), suffix = pattern.substr(star + 1, pdot - star - 1);
    const std::string label = name.substr(0, ndot);
    if (label.size() < prefix.size() + suffix.size()) return false;
    if (!prefix.empty() || !suffix.empty()) {
        if (label.compare(0, 4, "xn--") == 0) return false;
    }
    return label.compare(0, prefix.size(), prefix) == 0 &&
           label.compare(label.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ip_text(const std::vector<uint8_t>& b) {
    char buf[48];
    if (b.size() == 4) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return buf;
    }
    std::string s;
    for (size_t i = 0; i + 1 < b.size(); i += 2) {
        std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", static_cast<unsigned>(b[i] << 8 | b[i + 1]));
        s += buf;
    }
    return s;
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

std::vector<uint8_t> ip_literal_bytes(const std::string& s) {
    std::vector<uint8_t> out;
    if (s.find(':') == std::string::npos) {  // IPv4: four decimal parts, each 0-255
        unsigned part = 0;
        int digits_in_part = 0;
        for (size_t i = 0; i <= s.size(); ++i) {
            if (i == s.size() || s[i] == '.') {
                if (digits_in_part == 0 || part > 255) return {};
                out.push_back(static_cast<uint8_t>(part));
                part = 0;
                digits_in_part = 0;
            } else if (s[i] >= '0' && s[i] <= '9' && digits_in_part < 3) {
                part = part * 10 + static_cast<unsigned>(s[i] - '0');
                ++digits_in_part;
            } else {
                return {};
            }
        }
        return out.size() == 4 ? out : std::vector<uint8_t>{};
    }
    // IPv6: hex groups separated by ':', one '::' at most (no embedded IPv4, no zone).
    std::vector<uint16_t> head, tail;
    bool gap = false;
    std::vector<uint16_t>* cur = &head;
    size_t i = 0;
    if (s.compare(0, 2, "::") == 0) {
        gap = true;
        cur = &tail;
        i = 2;
    }
    while (i < s.size()) {
        unsigned v = 0;
        int n = 0;
        while (i < s.size() && n < 5 && std::isxdigit(static_cast<unsigned char>(s[i]))) {
            const char ch = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
            v = v * 16 + static_cast<unsigned>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
            ++n;
            ++i;
        }
        if (n == 0 || n > 4) return {};
        cur->push_back(static_cast<uint16_t>(v));
        if (i == s.size()) break;
        if (s[i] != ':') return {};
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (gap) return {};
            gap = true;
            cur = &tail;
            ++i;
        } else if (i == s.size()) {
            return {};
        }
    }
    const size_t groups = head.size() + tail.size();
    if (gap ? groups > 7 : groups != 8) return {};
    head.resize(8 - tail.size(), 0);
    head.insert(head.end(), tail.begin(), tail.end());
    for (uint16_t g : head) {
        out.push_back(static_cast<uint8_t>(g >> 8));
        out.push_back(static_cast<uint8_t>(g & 0xff));
    }
    return out;
}

bool certificate_holds_name(const CertInfo& cert, const std::string& name) {
    const std::vector<uint8_t> ip = ip_literal_bytes(name);
    if (!ip.empty()) {
        for (const auto& a : cert.ip_addresses)
            if (a == ip) return true;
        return ip_literal_bytes(cert.subject_cn) == ip;
    }
    const std::string want = lower_host(name);
    for (const std::string& d : cert.dns_names)
        if (host_matches(lower_host(d), want)) return true;
    return host_matches(lower_host(cert.subject_cn), want);
}

std::string certificate_names(const CertInfo& cert) {
    std::string s;
    for (const std::string& d : cert.dns_names) s += (s.empty() ? "" : ", ") + d;
    for (const auto& a : cert.ip_addresses) s += (s.empty() ? "" : ", ") + ip_text(a);
    if (s.empty() || (!cert.subject_cn.empty() && std::find(cert.dns_names.begin(), cert.dns_names.end(),
                                                             cert.subject_cn) == cert.dns_names.end()))
        s = cert.subject_cn.empty() ? s : (s.empty() ? "CN " + cert.subject_cn : "CN " + cert.subject_cn + ", " + s);
    return s;
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
    if (has_spki) {
        info.rsa_bits = rsa_modulus_bits(spki);
        // after subjectPublicKeyInfo: [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions
        Tlv rest;
        while (p < tbs.end() && read_tlv(p, tbs.end(), rest))
            if (rest.tag == 0xa3) read_alt_names(rest, info);
    }
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

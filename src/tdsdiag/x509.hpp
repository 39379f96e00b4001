// The few facts of an X.509 certificate that the diagnoses need, read from its DER bytes.
// Every length is checked against the bytes that are there; malformed input gives nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tdsdiag {

struct CertInfo {
    std::string signature_oid;   // dotted OID of the TBS signature algorithm
    std::string subject_cn;      // commonName of the subject ("" if none)
    std::string issuer_cn;
    bool self_issued = false;    // issuer and subject names are identical
    int64_t not_before = 0;      // seconds since 1970 (UTC)
    int64_t not_after = 0;
    int rsa_bits = 0;            // the subject key's RSA modulus size in bits (0: not RSA, or unreadable)
    // subjectAltName entries: dNSName values as written, iPAddress values as bytes (4 or 16)
    std::vector<std::string> dns_names;
    std::vector<std::vector<uint8_t>> ip_addresses;
};

std::optional<CertInfo> parse_certificate(const uint8_t* der, size_t len);

// "sha256WithRSAEncryption" etc. for the OIDs of certificate signatures; the dotted OID otherwise.
std::string signature_algorithm_name(const std::string& oid);
// The hash of a signature algorithm: "MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512", or "".
std::string signature_hash(const std::string& oid);
// Hashes that SQL Server's scenario 4 names as unusable for TLS 1.2 server certificates.
bool is_weak_certificate_hash(const std::string& hash);
// The bit length of a big-endian unsigned integer (leading zero bytes and bits left out).
int bit_length(const uint8_t* b, size_t len);

// Whether the certificate holds `name`, a host name or an IP address literal, as the name a client
// asked for: an IP address against the iPAddress entries (and a commonName written as that address,
// which some clients accept); a host name, case-insensitively and without a final dot, against the
// dNSName entries and the commonName, a wildcard matching as RFC 6125 6.4.3 says: only as the whole
// left-most label or part of it ("*.example.com", "w*.example.com"), one label, never across a dot,
// never inside an internationalized (xn--) label. Lenient where clients differ (the commonName next to
// dNSNames): false only when no client would accept the name.
bool certificate_holds_name(const CertInfo& cert, const std::string& name);
// The certificate's names for a text: "labsql.tdsdiag.test, 10.10.10.121" (SAN entries, else the CN).
std::string certificate_names(const CertInfo& cert);
// An IPv4 (dotted quad) or IPv6 literal as its 4 or 16 bytes; empty if `s` is not one.
std::vector<uint8_t> ip_literal_bytes(const std::string& s);

// "2026-11-22 01:02:03 UTC"
std::string format_utc(int64_t seconds);

}  // namespace tdsdiag

// The PRELOGIN VERSION option (MS-TDS 2.2.6.5): in the server's answer, SQL Server's own version and
// build; in the client's request, whatever version its library chose to send. And what a server
// build can do: TLS 1.2 (Microsoft's KB3135244 table of the first builds per release) and TDS 8.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tdsdiag {

// UL_VERSION (major, minor, 2-byte build, big-endian) and US_SUBBUILD.
struct ProductVersion {
    uint8_t major = 0;
    uint8_t minor = 0;
    uint16_t build = 0;
    uint16_t subbuild = 0;
};

// The value a Packet and an Endpoint keep: the 6 bytes as one number, -1 for none.
int64_t pack_version(const ProductVersion& v);
ProductVersion unpack_version(int64_t packed);

// Reads a VERSION option's data: 4 bytes at least (major, minor, build), the sub-build if 6 are there.
// False for fewer than 4 bytes. Never reads past `len`.
bool parse_version_option(const uint8_t* data, size_t len, ProductVersion& out);

// "SQL Server 2019" for major 15, "SQL Server 2008 R2" for 10.50, "" for a major no release has.
const char* release_name(const ProductVersion& v);
// "SQL Server 2019 (15.0.4123)", or "SQL Server (5.1.2)" for a version no release has.
std::string server_version_text(const ProductVersion& v);
// "7.4.0", or "7.4.0.12" with a non-zero sub-build.
std::string version_number_text(const ProductVersion& v);

enum class Support : uint8_t { No, Yes, Unknown };
// Whether this SQL Server build accepts TLS 1.2: every build of 2016 and later; the 2008 to 2014 builds
// from the first update with it in their servicing branch (KB3135244); no build of 2005 or older.
// Unknown for a version no release has.
Support tls12_support(const ProductVersion& v);
// The first build of the same release and servicing branch with TLS 1.2 (x86/x64), for the texts; 0 if
// the branch has none for x86/x64 (then the next service pack brings it) or every build has it.
uint16_t first_tls12_build(const ProductVersion& v);
// TDS 8.0 (strict encryption, TLS before the prelogin) needs SQL Server 2022 (16.x) or later.
bool supports_tds8(const ProductVersion& v);

}  // namespace tdsdiag

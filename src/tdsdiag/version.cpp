#include "tdsdiag/version.hpp"

#include "tdsdiag/text.hpp"

namespace tdsdiag {

int64_t pack_version(const ProductVersion& v) {
    return static_cast<int64_t>(v.major) << 40 | static_cast<int64_t>(v.minor) << 32 |
           static_cast<int64_t>(v.build) << 16 | v.subbuild;
}

ProductVersion unpack_version(int64_t p) {
    if (p < 0) return {};
    return {static_cast<uint8_t>(p >> 40), static_cast<uint8_t>(p >> 32), static_cast<uint16_t>(p >> 16),
            static_cast<uint16_t>(p)};
}

bool parse_version_option(const uint8_t* d, size_t len, ProductVersion& out) {
    if (d == nullptr || len < 4) return false;
    out.major = d[0];
    out.minor = d[1];
    out.build = static_cast<uint16_t>(d[2] << 8 | d[3]);
    out.subbuild = len >= 6 ? static_cast<uint16_t>(d[4] << 8 | d[5]) : uint16_t{0};
    return true;
}

const char* release_name(const ProductVersion& v) {
    switch (v.major) {
    case 7: return "SQL Server 7.0";
    case 8: return "SQL Server 2000";
    case 9: return "SQL Server 2005";
    case 10: return v.minor >= 50 ? "SQL Server 2008 R2" : "SQL Server 2008";
    case 11: return "SQL Server 2012";
    case 12: return "SQL Server 2014";
    case 13: return "SQL Server 2016";
    case 14: return "SQL Server 2017";
    case 15: return "SQL Server 2019";
    case 16: return "SQL Server 2022";
    case 17: return "SQL Server 2025";
    default: return "";
    }
}

std::string version_number_text(const ProductVersion& v) {
    if (v.subbuild != 0) return format("%u.%u.%u.%u", v.major, v.minor, v.build, v.subbuild);
    return format("%u.%u.%u", v.major, v.minor, v.build);
}

std::string server_version_text(const ProductVersion& v) {
    const char* name = release_name(v);
    return std::string(*name ? name : "SQL Server") + " (" + format("%u.%u.%u", v.major, v.minor, v.build) + ")";
}

namespace {

// One servicing branch of a release: its builds from `from` to below `to`, and the first of them with
// TLS 1.2 (KB3135244; later builds have it too). Where the table names an update for IA-64 only,
// `ia64_only` is set: the x86/x64 builds of that branch never reach it, the next service pack does.
struct Branch {
    uint8_t major;
    bool r2;  // 10.50 (2008 R2) rather than 10.0 (2008)
    uint16_t from, to, first;
    bool ia64_only;
};

constexpr Branch kBranches[] = {
    {10, false, 5500, 5700, 5545, true},   // 2008 SP3 GDR: 10.0.5545 (IA-64)
    {10, false, 5700, 6000, 5896, true},   // 2008 SP3 CU: 10.0.5896 (IA-64)
    {10, false, 6000, 65535, 6547, false}, // 2008 SP4: 10.0.6547
    {10, true, 4000, 4300, 4047, true},    // 2008 R2 SP2 GDR: 10.50.4047 (IA-64)
    {10, true, 4300, 6000, 4344, true},    // 2008 R2 SP2 CU: 10.50.4344 (IA-64)
    {10, true, 6000, 65535, 6542, false},  // 2008 R2 SP3: 10.50.6542
    {11, false, 5058, 5500, 5352, false},  // 2012 SP2 GDR: 11.0.5352
    {11, false, 5500, 6000, 5644, false},  // 2012 SP2 CU10: 11.0.5644
    {11, false, 6000, 6500, 6216, false},  // 2012 SP3 GDR: 11.0.6216
    {11, false, 6500, 7000, 6518, false},  // 2012 SP3 CU1: 11.0.6518
    {12, false, 2000, 2300, 2271, false},  // 2014 RTM GDR: 12.0.2271
    {12, false, 2300, 4000, 2564, false},  // 2014 RTM CU12: 12.0.2564
    {12, false, 4000, 4400, 4219, false},  // 2014 SP1 GDR: 12.0.4219
    {12, false, 4400, 5000, 4439, false},  // 2014 SP1 CU5: 12.0.4439
};

const Branch* branch_of(const ProductVersion& v) {
    for (const Branch& b : kBranches)
        if (b.major == v.major && b.r2 == (v.minor >= 50) && v.build >= b.from && v.build < b.to) return &b;
    return nullptr;
}

}  // namespace

Support tls12_support(const ProductVersion& v) {
    if (v.major >= 7 && v.major <= 9) return Support::No;  // "only for SQL Server 2008 and later"
    if (v.major >= 13 && v.major <= 17) return Support::Yes;
    if (v.major == 12 && v.build >= 5000) return Support::Yes;  // 2014 SP2 and later
    if (v.major == 11 && v.build >= 7000) return Support::Yes;  // 2012 SP4
    if (v.major < 10 || v.major > 12) return Support::Unknown;
    const Branch* b = branch_of(v);
    if (b == nullptr) return Support::No;  // RTM and the early service packs: no update brought TLS 1.2
    return v.build >= b->first ? Support::Yes : Support::No;
}

uint16_t first_tls12_build(const ProductVersion& v) {
    const Branch* b = branch_of(v);
    return b != nullptr && !b->ia64_only ? b->first : 0;
}

bool supports_tds8(const ProductVersion& v) { return v.major >= 16; }

}  // namespace tdsdiag

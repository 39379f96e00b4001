#include "tdsdiag/model.hpp"

#include <cstdio>

namespace tdsdiag {

const char* step_name(Step s) {
    switch (s) {
    case Step::Browser: return "SQL Browser instance lookup";
    case Step::TcpHandshake: return "TCP handshake";
    case Step::Prelogin: return "Prelogin";
    case Step::TlsHandshake: return "TLS handshake";
    case Step::Login: return "Login";
    case Step::LoginResponse: return "Login response";
    case Step::Commands: return "Commands";
    case Step::Close: return "Close";
    }
    return "?";
}

const char* outcome_name(Outcome o) {
    switch (o) {
    case Outcome::Pending: return "";
    case Outcome::Connected: return "connected";
    case Outcome::LoginFailed: return "login_failed";
    case Outcome::Failed: return "failed";
    case Outcome::Open: return "open";
    case Outcome::Unknown: return "unknown";
    case Outcome::Abandoned: return "abandoned";
    }
    return "";
}

const char* encryption_name(Encryption e) {
    switch (e) {
    case Encryption::Unknown: return "";
    case Encryption::None: return "none";
    case Encryption::LoginOnly: return "login_only";
    case Encryption::Full: return "full";
    case Encryption::Strict: return "strict";
    }
    return "";
}

const char* side_name(Side s) {
    switch (s) {
    case Side::Unknown: return "";
    case Side::Client: return "client";
    case Side::Server: return "server";
    }
    return "";
}

const char* close_kind_name(CloseKind k) {
    switch (k) {
    case CloseKind::None: return "";
    case CloseKind::Fin: return "fin";
    case CloseKind::Rst: return "rst";
    }
    return "";
}

std::string tls_version_name(uint16_t v) {
    switch (v) {
    case 0x0300: return "SSL 3.0";
    case 0x0301: return "TLS 1.0";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: break;
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%04x", v);
    return buf;
}

std::string format_guid(const uint8_t* b, size_t len) {
    if (b == nullptr || len < 16) return {};
    // A Windows GUID stores its first three groups little-endian.
    static constexpr int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    static constexpr char kHex[] = "0123456789ABCDEF";
    char buf[40];
    size_t n = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) buf[n++] = '-';
        buf[n++] = kHex[b[kOrder[i]] >> 4];
        buf[n++] = kHex[b[kOrder[i]] & 0x0f];
    }
    buf[n] = '\0';
    return buf;
}

}  // namespace tdsdiag

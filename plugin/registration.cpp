// tdsdiag: SQL Server Connection Diagnostics, a post-dissector over Wireshark's TCP, TDS and TLS.
//
// Registration: the protocol, its fields (the connection summary's from one table), subtrees, expert
// entries (one per catalogue code) and preferences; the dissector, the TDS 8.0 and SQL Browser glue,
// the statistics and the per-file state's init and cleanup routines. What happens to each frame is
// in frames.cpp, the taps in statistics.cpp, the per-file state in file_state.hpp.

#include "registration.hpp"

#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/range.h>

#include "file_state.hpp"
#include "frames.hpp"
#include "ssrp.hpp"
#include "statistics.hpp"
#include "tds8.hpp"
#include "version_compat.hpp"
#include "wanted_fields.hpp"

extern "C" void proto_register_tdsdiag(void);
extern "C" void proto_reg_handoff_tdsdiag(void);

namespace tdsdiag_plugin {

int proto_tdsdiag = -1;

int hf_step = -1;
int hf_step_first = -1;
int hf_step_delta = -1;
int hf_conn = -1;
int hf_diagnosis = -1;
int hf_scenario = -1;
int hf_diagnosis_detail = -1;
int hf_attention_ack_frame = -1;
int hf_attention_ack_time = -1;
int hf_browser = -1;
int hf_browser_request_frame = -1;
int hf_browser_answer_frame = -1;
int hf_browser_delay = -1;
int hf_browser_conn_stream = -1;
int hf_browser_conn_frame = -1;
int hf_kerberos = -1;
int hf_kerberos_spn = -1;
int hf_kerberos_error = -1;
int hf_kerberos_request_frame = -1;
int hf_kerberos_conn_stream = -1;
int hf_kerberos_conn_frame = -1;

int ett_tdsdiag = -1;
int ett_conn = -1;
int ett_diagnosis = -1;
int ett_browser = -1;
int ett_kerberos = -1;


expert_field ei_step_begins = EI_INIT;
expert_field ei_code[tdsdiag::kCodeCount];
expert_field ei_code_alt[tdsdiag::kCodeCount];

value_string step_vals[9];

namespace {

dissector_handle_t tdsdiag_handle;
range_t* pref_sql_ports = nullptr;
tdsdiag_pref_bool pref_tds8 = TRUE;
guint pref_slow_accept_ms = 1000;
guint pref_slow_login_ms = 2000;
guint pref_login_timeout_min_ms = 1000;
guint pref_browser_slow_ms = 1000;
guint pref_idle_timeout_s = 240;
guint pref_kerberos_window_ms = 10000;
guint pref_zero_window_stall_ms = 1000;
guint pref_time_wait_s = 240;
guint pref_pmtu_min_segment = 1000;
guint pref_pmtu_copies = 4;
guint pref_parallel_window_ms = 300;
guint pref_dns_window_s = 10;
guint pref_dns_slow_ms = 1000;

ConnValue text(const char* s) { return {(s == nullptr || *s == '\0') ? nullptr : s, FALSE, 0, 0}; }
ConnValue text(const std::string& s) { return text(s.c_str()); }  // lives while the summary is kept (frames.cpp)
ConnValue number(guint32 n, bool shown = true) { return {nullptr, shown ? TRUE : FALSE, n, 0}; }
ConnValue duration(const std::optional<int64_t>& ns) { return {nullptr, ns ? TRUE : FALSE, 0, ns ? *ns : 0}; }
template <typename T>
ConnValue number(const std::optional<T>& n) { return number(n ? static_cast<guint32>(*n) : 0, n.has_value()); }

}  // namespace

ConnField conn_fields[] = {
    {"TCP stream", "tdsdiag.conn.stream", FT_UINT32, BASE_DEC, nullptr,
     "TCP stream index of the connection: tcp.stream of its first frame (a refused SYN sent again on the "
     "same ports continues the first attempt's connection, whatever its own tcp.stream)",
     &hf_conn,
     [](const ConnSource& c) { return number(c.stream); }},
    {"Last step", "tdsdiag.conn.last_step", FT_UINT8, BASE_DEC, VALS(step_vals),
     "Highest step the connection has reached", &hf_conn,
     [](const ConnSource& c) { return number(c.s.last_step); }},
    {"Failed in step", "tdsdiag.conn.failed_step", FT_UINT8, BASE_DEC, VALS(step_vals),
     "Step in progress when a failed connection ended (outcome failed or login_failed): the last step before "
     "the close (7), e.g. 1 for a refused SYN, 3 for a rejected certificate, 5 for a failed login; absent for "
     "the other outcomes",
     &hf_conn, [](const ConnSource& c) { return number(c.s.failed_step); }},
    {"Outcome", "tdsdiag.conn.outcome", FT_STRING, BASE_NONE, nullptr,
     "connected, login_failed, failed (ended before the login completed), open (capture ended "
     "before the login completed), unknown (the capture cannot show the login's result) or abandoned (a "
     "parallel attempt the client gave up because another address of the name answered: no failure)",
     &hf_conn, [](const ConnSource& c) { return text(c.t.outcome); }},
    {"Encryption", "tdsdiag.conn.encryption", FT_STRING, BASE_NONE, nullptr,
     "none, login_only, full, or strict (TDS 8.0)", &hf_conn,
     [](const ConnSource& c) { return text(c.t.encryption); }},
    {"TLS version", "tdsdiag.conn.tls_version", FT_STRING, BASE_NONE, nullptr,
     "TLS version chosen by the server's ServerHello", &hf_conn,
     [](const ConnSource& c) { return text(c.t.tls_version); }},
    {"Cipher suite", "tdsdiag.conn.cipher", FT_STRING, BASE_NONE, nullptr,
     "Cipher suite chosen by the server's ServerHello", &hf_conn,
     [](const ConnSource& c) { return text(c.t.cipher); }},
    {"Connection ID", "tdsdiag.conn.id", FT_STRING, BASE_NONE, nullptr,
     "Connection ID GUID from the prelogin TRACEID option, as SQL Server's own logs show it", &hf_conn,
     [](const ConnSource& c) { return text(c.s.conn_id); }},
    {"Closed by", "tdsdiag.conn.close_by", FT_STRING, BASE_NONE, nullptr,
     "Side that sent the first FIN or RST: client or server", &hf_conn,
     [](const ConnSource& c) { return text(c.t.close_by); }},
    {"Close kind", "tdsdiag.conn.close_kind", FT_STRING, BASE_NONE, nullptr,
     "How the connection began to close: fin or rst", &hf_conn,
     [](const ConnSource& c) { return text(c.t.close_kind); }},
    {"Capture point", "tdsdiag.conn.capture_point", FT_STRING, BASE_NONE, nullptr,
     "Side the capture was taken on (client or server), from checksum-offload marks on "
     "the packets that side sends",
     &hf_conn, [](const ConnSource& c) { return text(c.t.capture_point); }},
    {"User", "tdsdiag.conn.user", FT_STRING, BASE_NONE, nullptr,
     "User name of the Login7 (in clear, or decrypted with the TLS key log); never the password", &hf_conn,
     [](const ConnSource& c) { return text(c.s.user); }},
    {"Application", "tdsdiag.conn.app", FT_STRING, BASE_NONE, nullptr, "Application name of the Login7", &hf_conn,
     [](const ConnSource& c) { return text(c.s.app); }},
    {"Client host", "tdsdiag.conn.client_host", FT_STRING, BASE_NONE, nullptr, "Client host name of the Login7",
     &hf_conn, [](const ConnSource& c) { return text(c.s.client_host); }},
    {"Database", "tdsdiag.conn.database", FT_STRING, BASE_NONE, nullptr,
     "Database the Login7 asks for (empty: the login's default database)", &hf_conn,
     [](const ConnSource& c) { return text(c.s.database); }},
    {"SQL Browser answer", "tdsdiag.conn.browser_frame", FT_FRAMENUM, BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE),
     "Frame of the SQL Browser (SSRP) answer that gave the client this connection's port", &hf_diagnosis_detail,
     [](const ConnSource& c) { return number(c.s.browser_frame, c.s.browser_frame != 0); }},
    {"Kerberos refusal", "tdsdiag.conn.kerberos_frame", FT_FRAMENUM, BASE_NONE, nullptr,
     "Frame of the KDC's KRB-ERROR that refused the ticket this connection's client asked for "
     "(kerberos_spn_missing, kerberos_clock_skew, kerberos_preauth_failed)",
     &hf_diagnosis_detail, [](const ConnSource& c) { return number(c.s.kerberos_frame, c.s.kerberos_frame != 0); }},
    {"MARS", "tdsdiag.conn.mars", FT_STRING, BASE_NONE, nullptr,
     "on when both prelogins carry the MARS option set (multiple active result sets, SMP "
     "framing after the login), off otherwise",
     &hf_diagnosis_detail, [](const ConnSource& c) { return text(c.s.mars); }},
    {"Authentication", "tdsdiag.conn.auth", FT_STRING, BASE_NONE, nullptr,
     "sql (user and password in the Login7), ntlm or kerberos (Windows authentication, from the "
     "SSPI blobs), federated (Microsoft Entra token); empty where the capture cannot tell",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.auth); }},
    {"Redirected to", "tdsdiag.conn.redirect_to", FT_STRING, BASE_NONE, nullptr,
     "host:port the login response routes the client to (ENVCHANGE type 20)", &hf_attention_ack_time,
     [](const ConnSource& c) { return text(c.s.redirect_to); }},
    {"Redirect followed by", "tdsdiag.conn.redirect_stream", FT_UINT32, BASE_DEC, nullptr,
     "TCP stream of the connection that followed this one's redirect", &hf_attention_ack_time,
     [](const ConnSource& c) { return number(c.s.redirect_stream); }},
    {"Redirected from", "tdsdiag.conn.redirected_from", FT_UINT32, BASE_DEC, nullptr,
     "TCP stream of the connection whose redirect this connection follows", &hf_attention_ack_time,
     [](const ConnSource& c) { return number(c.s.redirected_from); }},
    {"Retransmissions", "tdsdiag.conn.retransmissions", FT_UINT32, BASE_DEC, nullptr,
     "TCP segments of the connection sent again (Wireshark's TCP analysis, spurious ones included)",
     &hf_attention_ack_time, [](const ConnSource& c) { return number(c.s.retransmissions); }},
    {"Duplicate ACKs", "tdsdiag.conn.dup_acks", FT_UINT32, BASE_DEC, nullptr,
     "Bare ACKs repeating their sender's previous ACK number and window (keepalive answers included)",
     &hf_attention_ack_time, [](const ConnSource& c) { return number(c.s.dup_acks); }},
    {"Zero windows", "tdsdiag.conn.zero_windows", FT_UINT32, BASE_DEC, nullptr,
     "Segments (not SYN, FIN or RST) advertising a receive window of 0", &hf_attention_ack_time,
     [](const ConnSource& c) { return number(c.s.zero_windows); }},
    {"Handshake round trip", "tdsdiag.conn.handshake_rtt", FT_RELATIVE_TIME, BASE_NONE, nullptr,
     "Last SYN before the SYN/ACK to the client's first ACK after it, as seen at the capture point "
     "(a capture on the server shows the client's side of the path)",
     &hf_attention_ack_time, [](const ConnSource& c) { return duration(c.s.handshake_rtt_ns); }},
    {"Server version", "tdsdiag.conn.server_version", FT_STRING, BASE_NONE, nullptr,
     "SQL Server release and build from the VERSION option of the server's prelogin answer, e.g. "
     "SQL Server 2019 (15.0.4123)",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.server_version); }},
    {"Client version", "tdsdiag.conn.client_version", FT_STRING, BASE_NONE, nullptr,
     "Library name of the client's Login7 (where readable) and the VERSION option of its prelogin, "
     "e.g. ODBC (17.10.1)",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.client_version); }},
    {"Packet size asked", "tdsdiag.conn.packet_size_asked", FT_UINT32, BASE_DEC, nullptr,
     "TDS packet size (bytes) the client's Login7 asks for (its PacketSize; 0 means the server's default), "
     "where the Login7 is in clear or decrypted with the TLS key log",
     &hf_attention_ack_time, [](const ConnSource& c) { return number(c.s.packet_size_asked); }},
    {"Packet size granted", "tdsdiag.conn.packet_size_granted", FT_UINT32, BASE_DEC, nullptr,
     "TDS packet size (bytes) the login response sets (ENVCHANGE type 4, packet size), where readable",
     &hf_attention_ack_time, [](const ConnSource& c) { return number(c.s.packet_size_granted); }},
    {"DNS name", "tdsdiag.conn.dns_name", FT_STRING, BASE_NONE, nullptr,
     "Name of the client's DNS lookup tied to the connection: its answer held the server's address, or it is the "
     "name of the ClientHello's SNI, or its first label is the ServerName of the SQL Browser answer that gave the "
     "connection its port (within tdsdiag.dns_window_s before the connection)",
     &hf_attention_ack_time, [](const ConnSource& c) { return text(c.s.dns_name); }},
    {"DNS time", "tdsdiag.conn.dns_time", FT_RELATIVE_TIME, BASE_NONE, nullptr,
     "Time the client spent resolving tdsdiag.conn.dns_name: from the name's first query (A or AAAA) to its last "
     "answer before the connection; absent when that answer lacks the server's address (dns_stale_address)",
     &hf_attention_ack_time, [](const ConnSource& c) { return duration(c.s.dns_time_ns); }},
};

const size_t kConnFieldCount = G_N_ELEMENTS(conn_fields);

namespace {

// The field's registration.
hf_register_info conn_field_hf(ConnField& f) {
    return {&f.hf, {f.name, f.abbrev, f.type, f.display, f.strings, 0x0, f.blurb, HFILL}};
}

}  // namespace

tdsdiag::Config make_config() {
    tdsdiag::Config c;
    c.sql_ports.clear();
    if (pref_sql_ports != nullptr) {
        for (guint i = 0; i < pref_sql_ports->nranges; ++i)
            for (guint32 port = pref_sql_ports->ranges[i].low; port <= pref_sql_ports->ranges[i].high && port <= 65535; ++port)
                c.sql_ports.push_back(static_cast<uint16_t>(port));
    }
    if (c.sql_ports.empty()) c.sql_ports.push_back(1433);
    c.slow_accept_ns = static_cast<int64_t>(pref_slow_accept_ms) * 1000000;
    c.slow_login_ns = static_cast<int64_t>(pref_slow_login_ms) * 1000000;
    c.login_timeout_min_ns = static_cast<int64_t>(pref_login_timeout_min_ms) * 1000000;
    c.browser_slow_ns = static_cast<int64_t>(pref_browser_slow_ms) * 1000000;
    c.idle_timeout_ns = static_cast<int64_t>(pref_idle_timeout_s) * 1000000000;
    c.kerberos_window_ns = static_cast<int64_t>(pref_kerberos_window_ms) * 1000000;
    c.zero_window_stall_ns = static_cast<int64_t>(pref_zero_window_stall_ms) * 1000000;
    c.pmtu_min_segment = pref_pmtu_min_segment;
    c.pmtu_copies = pref_pmtu_copies < 2 ? 2 : static_cast<int>(MIN(pref_pmtu_copies, 1000u));
    c.time_wait_ns = static_cast<int64_t>(pref_time_wait_s) * 1000000000;
    c.parallel_window_ns = static_cast<int64_t>(pref_parallel_window_ms) * 1000000;
    c.dns_window_ns = static_cast<int64_t>(pref_dns_window_s) * 1000000000;
    c.dns_slow_ns = static_cast<int64_t>(pref_dns_slow_ms) * 1000000;
    c.cipher_name = [](uint16_t suite) { return tdsdiag_plugin::cipher_suite_name(suite); };
    return c;
}

namespace {

int expert_severity(tdsdiag::Severity s) {
    switch (s) {
    case tdsdiag::Severity::Chat: return PI_CHAT;
    case tdsdiag::Severity::Note: return PI_NOTE;
    case tdsdiag::Severity::Warn: return PI_WARN;
    case tdsdiag::Severity::Error: return PI_ERROR;
    }
    return PI_NOTE;
}

// tdsdiag.analysis.<code> for every code, with the catalogue's severity and summary; a code whose
// catalogue row declares a second entry (catalogue.def) also gets tdsdiag.analysis.<code>.<qualifier>,
// used when a diagnosis has another severity than the catalogue's.
void register_code_experts(expert_module_t* em) {
    const auto expert_group = [](tdsdiag::ExpertGroup g) {
        return g == tdsdiag::ExpertGroup::ResponseCode ? PI_RESPONSE_CODE : PI_SEQUENCE;
    };
    static ei_register_info eis[2 * tdsdiag::kCodeCount];
    int n = 0;
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i) {
        const tdsdiag::CodeInfo& info = tdsdiag::code_info(static_cast<tdsdiag::Code>(i));
        eis[n++] = {&ei_code[i],
                    {g_strdup_printf("tdsdiag.analysis.%s", info.name), expert_group(info.group()),
                     expert_severity(info.severity), info.summary, EXPFILL}};
        if (info.has_alt())
            eis[n++] = {&ei_code_alt[i],
                        {g_strdup_printf("tdsdiag.analysis.%s.%s", info.name, info.alt_qualifier),
                         expert_group(info.alt_group), expert_severity(info.alt_severity), info.alt_summary,
                         EXPFILL}};
    }
    expert_register_field_array(em, eis, n);
    // Codes without a second entry share the first one.
    for (size_t i = 0; i < tdsdiag::kCodeCount; ++i)
        if (!tdsdiag::code_info(static_cast<tdsdiag::Code>(i)).has_alt()) ei_code_alt[i] = ei_code[i];
}

}  // namespace
}  // namespace tdsdiag_plugin

extern "C" void proto_register_tdsdiag(void) {
    using namespace tdsdiag_plugin;
    for (guint32 k = 0; k <= 7; ++k) step_vals[k] = {k, tdsdiag::step_name(static_cast<tdsdiag::Step>(k))};
    step_vals[8] = {0, nullptr};
    static hf_register_info hf[] = {
        {&hf_step, {"Step", "tdsdiag.step", FT_UINT8, BASE_DEC, VALS(step_vals), 0x0,
                    "Connection step of this frame: 1 TCP handshake, 2 Prelogin, 3 TLS handshake, 4 Login, "
                    "5 Login response, 6 Commands, 7 Close (0 SQL Browser lookup)", HFILL}},
        {&hf_step_first, {"Opens step", "tdsdiag.step.first", FT_BOOLEAN, BASE_NONE, nullptr, 0x0,
                          "This frame is the first of its step (filter on it for the outline of each connection)", HFILL}},
        {&hf_step_delta, {"Time since previous step", "tdsdiag.step.delta", FT_RELATIVE_TIME, BASE_NONE, nullptr, 0x0,
                          "Time from the opening of the previous step to the opening of this one", HFILL}},
        {&hf_conn, {"Connection", "tdsdiag.conn", FT_NONE, BASE_NONE, nullptr, 0x0,
                    "Summary of the SQL Server connection this frame belongs to", HFILL}},
        {&hf_diagnosis, {"Diagnosis", "tdsdiag.diagnosis", FT_STRING, BASE_NONE, nullptr, 0x0,
                         "Diagnosis code whose evidence became complete on this frame (see tdsdiag.analysis.*)",
                         HFILL}},
        {&hf_diagnosis_detail, {"Evidence", "tdsdiag.diagnosis.detail", FT_STRING, BASE_NONE, nullptr, 0x0,
                                "More evidence for the diagnosis: the suites offered, the certificate's subject, "
                                "issuer and validity, the server's error message", HFILL}},
        {&hf_attention_ack_frame, {"Attention acknowledged in", "tdsdiag.attention.ack_frame", FT_FRAMENUM,
                                   BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0,
                                   "Frame of the server's DONE with the attention bit that acknowledges this attention",
                                   HFILL}},
        {&hf_attention_ack_time, {"Attention acknowledged after", "tdsdiag.attention.ack_time", FT_RELATIVE_TIME,
                                  BASE_NONE, nullptr, 0x0, "Time from the attention to the server's acknowledgement",
                                  HFILL}},
        {&hf_browser, {"SQL Browser lookup", "tdsdiag.browser", FT_NONE, BASE_NONE, nullptr, 0x0,
                       "The SQL Browser (SSRP, UDP 1434) lookup this frame belongs to", HFILL}},
        {&hf_browser_request_frame, {"Request in", "tdsdiag.browser.request_frame", FT_FRAMENUM, BASE_NONE,
                                     FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0,
                                     "Frame of the lookup's (first) request", HFILL}},
        {&hf_browser_answer_frame, {"Answer in", "tdsdiag.browser.answer_frame", FT_FRAMENUM, BASE_NONE,
                                    FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0,
                                    "Frame of the SQL Browser's answer", HFILL}},
        {&hf_browser_delay, {"Answer time", "tdsdiag.browser.delay", FT_RELATIVE_TIME, BASE_NONE, nullptr, 0x0,
                             "Time from the lookup's first request to the SQL Browser's answer", HFILL}},
        {&hf_browser_conn_stream, {"Connection (TCP stream)", "tdsdiag.browser.conn_stream", FT_UINT32, BASE_DEC,
                                   nullptr, 0x0,
                                   "TCP stream of the connection that used the port of this lookup's answer", HFILL}},
        {&hf_browser_conn_frame, {"Connection starts in", "tdsdiag.browser.conn_frame", FT_FRAMENUM, BASE_NONE,
                                  nullptr, 0x0, "First frame of the connection that used this lookup's answer",
                                  HFILL}},
        {&hf_kerberos, {"Kerberos refusal", "tdsdiag.kerberos", FT_NONE, BASE_NONE, nullptr, 0x0,
                        "The KDC's refusal of a ticket a SQL connection needed (a SQL Server SPN MSSQLSvc/..., or "
                        "any principal on a clock skew or a failed pre-authentication) that this KRB-ERROR belongs "
                        "to",
                        HFILL}},
        {&hf_kerberos_spn, {"SPN", "tdsdiag.kerberos.spn", FT_STRING, BASE_NONE, nullptr, 0x0,
                            "The service principal name the KDC refused a ticket for (MSSQLSvc/... for SQL Server)",
                            HFILL}},
        {&hf_kerberos_error, {"KDC error code", "tdsdiag.kerberos.error_code", FT_INT32, BASE_DEC, nullptr, 0x0,
                              "7: KDC_ERR_S_PRINCIPAL_UNKNOWN (no account has the SPN), 9: "
                              "KDC_ERR_PRINCIPAL_NOT_UNIQUE (two accounts have it), 24: KDC_ERR_PREAUTH_FAILED (a "
                              "wrong password or key), 37: KRB_AP_ERR_SKEW (the client's clock is too far off the "
                              "KDC's)",
                              HFILL}},
        {&hf_kerberos_request_frame, {"Request in", "tdsdiag.kerberos.request_frame", FT_FRAMENUM, BASE_NONE,
                                      FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0,
                                      "Frame of the client's TGS-REQ (or AS-REQ) that this KRB-ERROR answers", HFILL}},
        {&hf_kerberos_conn_stream, {"Connection (TCP stream)", "tdsdiag.kerberos.conn_stream", FT_UINT32, BASE_DEC,
                                    nullptr, 0x0,
                                    "TCP stream of the client's SQL connection that needed the ticket (the one the "
                                    "error came during, or the nearest within tdsdiag.kerberos_window_ms)",
                                    HFILL}},
        {&hf_kerberos_conn_frame, {"Connection starts in", "tdsdiag.kerberos.conn_frame", FT_FRAMENUM, BASE_NONE,
                                   nullptr, 0x0, "First frame of the SQL connection tied to this refusal", HFILL}},
        {&hf_scenario, {"Scenario", "tdsdiag.scenario", FT_UINT8, BASE_DEC, nullptr, 0x0,
                        "Scenario 1-6 of Microsoft's error-10054 article that the diagnosis corresponds to", HFILL}},
    };
    static gint* ett[] = {&ett_tdsdiag, &ett_conn, &ett_diagnosis, &ett_browser, &ett_kerberos};
    static ei_register_info ei[] = {
        {&ei_step_begins, {"tdsdiag.step.begins", PI_SEQUENCE, PI_CHAT, "A connection step begins", EXPFILL}},
    };

    proto_tdsdiag = proto_register_protocol("SQL Server Connection Diagnostics", "tdsdiag", "tdsdiag");
    // The summary's fields go after the one each names (conn_fields), in the table's order.
    static hf_register_info all[G_N_ELEMENTS(hf) + G_N_ELEMENTS(conn_fields)];
    int n_hf = 0;
    for (const hf_register_info& h : hf) {
        all[n_hf++] = h;
        for (ConnField& f : conn_fields)
            if (f.registered_after == h.p_id) all[n_hf++] = conn_field_hf(f);
    }
    proto_register_field_array(proto_tdsdiag, all, n_hf);
    proto_register_subtree_array(ett, G_N_ELEMENTS(ett));
    expert_module_t* em = expert_register_protocol(proto_tdsdiag);
    expert_register_field_array(em, ei, G_N_ELEMENTS(ei));
    register_code_experts(em);

    module_t* module = prefs_register_protocol(proto_tdsdiag, proto_reg_handoff_tdsdiag);
    range_convert_str(wmem_epan_scope(), &pref_sql_ports, "1433", 65535);
    prefs_register_range_preference(module, "sql_ports", "SQL Server TCP ports",
                                    "TCP ports where SQL Server listens (1433 and any others); TDS on other ports "
                                    "is still found by its prelogin or login",
                                    &pref_sql_ports, 65535);
    prefs_register_bool_preference(module, "tds8", "Dissect TDS 8.0 (strict encryption)",
                                   "On the SQL Server TCP ports, dissect a connection whose first bytes are a TLS "
                                   "handshake as TLS (TDS 8.0), and TDS inside TLS as TDS when the TLS keys are "
                                   "known; other connections go to the TDS dissector as before",
                                   &pref_tds8);
    prefs_register_uint_preference(module, "slow_accept_ms", "Slow accept threshold (ms)",
                                   "A SYN answered later than this many milliseconds is diagnosed as slow_accept",
                                   10, &pref_slow_accept_ms);
    prefs_register_uint_preference(module, "browser_slow_ms", "Slow SQL Browser threshold (ms)",
                                   "An SQL Browser (SSRP) answer later than this many milliseconds after the request is "
                                   "diagnosed as browser_slow",
                                   10, &pref_browser_slow_ms);
    prefs_register_uint_preference(module, "slow_login_ms", "Slow login threshold (ms)",
                                   "A login answered later than this many milliseconds is diagnosed as slow_login",
                                   10, &pref_slow_login_ms);
    prefs_register_uint_preference(module, "login_timeout_min_ms", "Shortest login timeout (ms)",
                                   "A client that closes while waiting for the server is diagnosed as login_timeout "
                                   "after at least this many milliseconds, and as login_abandoned (it gave up on its "
                                   "own) after less",
                                   10, &pref_login_timeout_min_ms);
    prefs_register_uint_preference(module, "idle_timeout_s", "Idle timeout of devices on the path (s)",
                                   "A connection silent for longer than this many seconds whose next packet is reset "
                                   "or never acknowledged is diagnosed as idle_reset (240 s is a common load-balancer "
                                   "idle timeout)",
                                   10, &pref_idle_timeout_s);
    prefs_register_uint_preference(module, "kerberos_window_ms", "Kerberos window (ms)",
                                   "A KRB-ERROR refusing a SQL Server SPN (or a clock skew, or a failed "
                                   "pre-authentication) is tied to the SQL connection of the same client during which "
                                   "it came, or to the nearest one within this many milliseconds",
                                   10, &pref_kerberos_window_ms);
    prefs_register_uint_preference(module, "zero_window_stall_ms", "Zero-window stall threshold (ms)",
                                   "A receive window that stays at 0 for at least this many milliseconds is diagnosed "
                                   "as slow_network (the receiver stopped reading)",
                                   10, &pref_zero_window_stall_ms);
    prefs_register_uint_preference(module, "pmtu_min_segment", "Path-MTU black hole: smallest full-size segment (bytes)",
                                   "path_mtu_black_hole takes a segment for a full-size one lost on the path only "
                                   "from this many bytes of TCP payload on (smaller lost segments are ordinary loss)",
                                   10, &pref_pmtu_min_segment);
    prefs_register_uint_preference(module, "pmtu_copies", "Path-MTU black hole: copies that prove it",
                                   "path_mtu_black_hole needs a full-size segment sent this many times (the first copy "
                                   "and its retransmissions) with no acknowledgement; in its ICMP form, this many "
                                   "minus one too-large retransmissions after the ICMP fragmentation-needed / "
                                   "packet-too-big message (at least 2)",
                                   10, &pref_pmtu_copies);
    prefs_register_uint_preference(module, "time_wait_s", "TIME_WAIT of the server (s)",
                                   "A client SYN on the ports of a connection that ended less than this many seconds "
                                   "before, answered by an ACK or a reset instead of a SYN/ACK, is diagnosed as "
                                   "port_reuse (240 s is 2 MSL, the longest TIME_WAIT a stack keeps by default)",
                                   10, &pref_time_wait_s);
    prefs_register_uint_preference(module, "parallel_window_ms", "Parallel connection attempts window (ms)",
                                   "Connections of one client to one server port at different addresses whose SYNs "
                                   "came within this many milliseconds of each other are parallel attempts at the "
                                   "addresses of one name (MultiSubnetFailover, FreeTDS): the ones the client "
                                   "abandons are parallel_attempt notes, not failures",
                                   10, &pref_parallel_window_ms);
    prefs_register_uint_preference(module, "dns_window_s", "DNS window (s)",
                                   "A DNS answer (A or AAAA) is tied to a SQL connection of the same client that "
                                   "starts at most this many seconds after it, to its server address, its SNI name or "
                                   "the ServerName of the SQL Browser answer that gave it its port; "
                                   "the queries of one name within it are one lookup for dns_failed",
                                   10, &pref_dns_window_s);
    prefs_register_uint_preference(module, "dns_slow_ms", "Slow DNS threshold (ms)",
                                   "A DNS answer later than this many milliseconds after the first query of its name "
                                   "and type is diagnosed as dns_slow",
                                   10, &pref_dns_slow_ms);

    tdsdiag_handle = create_dissector_handle(dissect_tdsdiag, proto_tdsdiag);
    tdsdiag_plugin::register_tds8(proto_tdsdiag);
    tdsdiag_plugin::register_ssrp();
    register_postdissector(tdsdiag_handle);
    register_statistics();
    register_init_routine(file_init);
    register_cleanup_routine(file_cleanup);
}

extern "C" void proto_reg_handoff_tdsdiag(void) {
    using namespace tdsdiag_plugin;
    // Called at start-up and again when the preferences change.
    static gboolean initialized = FALSE;
    if (!initialized) {
        set_postdissector_wanted_hfids(tdsdiag_handle, tdsdiag_plugin::resolve_wanted_fields());
        tdsdiag_plugin::register_tds_heuristic(proto_tdsdiag);
        initialized = TRUE;
    }
    tdsdiag_plugin::handoff_tds8(pref_sql_ports, pref_tds8);
    tdsdiag_plugin::handoff_ssrp();
}

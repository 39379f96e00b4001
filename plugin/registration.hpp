// What registration.cpp registers with Wireshark and the other plugin files use: the protocol, its
// fields, subtrees and expert entries, the preferences (as a core Config), and the table of the
// connection summary's fields (tdsdiag.conn.*).
#pragma once

#include <epan/expert.h>
#include <epan/packet.h>

#include "tdsdiag/config.hpp"
#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"
#include "tdsdiag/report.hpp"

namespace tdsdiag_plugin {

extern int proto_tdsdiag;

extern int hf_step;
extern int hf_step_first;
extern int hf_step_delta;
extern int hf_conn;
extern int hf_diagnosis;
extern int hf_scenario;
extern int hf_diagnosis_detail;
extern int hf_attention_ack_frame;
extern int hf_attention_ack_time;
extern int hf_browser;
extern int hf_browser_request_frame;
extern int hf_browser_answer_frame;
extern int hf_browser_delay;
extern int hf_browser_conn_stream;
extern int hf_browser_conn_frame;
extern int hf_kerberos;
extern int hf_kerberos_spn;
extern int hf_kerberos_error;
extern int hf_kerberos_request_frame;
extern int hf_kerberos_conn_stream;
extern int hf_kerberos_conn_frame;

extern int ett_tdsdiag;
extern int ett_conn;
extern int ett_diagnosis;
extern int ett_browser;
extern int ett_kerberos;

extern expert_field ei_step_begins;
// One expert entry per diagnosis code (tdsdiag.analysis.<code>), and a second one for the codes
// whose catalogue row declares one (catalogue.def); codes without one share the first.
extern expert_field ei_code[tdsdiag::kCodeCount];
extern expert_field ei_code_alt[tdsdiag::kCodeCount];

// Step names from the core: the value_string of tdsdiag.step and tdsdiag.conn.last_step.
extern value_string step_vals[9];

// The analysis settings from the preferences as they are now.
tdsdiag::Config make_config();

// ---- the connection summary (tdsdiag.conn): one table of its fields -------------------------

// What one summary field shows: `text` for a string field (nullptr: no item), `number` for the
// others when `shown` (`ns`, nanoseconds, for a time field).
struct ConnValue {
    const char* text;
    gboolean shown;
    guint32 number;
    gint64 ns;
};

// What a field's value is made from: the connection's summary, its values as text (the core's one
// formatting of them, shared with the report's rows), and its stream.
struct ConnSource {
    const tdsdiag::Summary& s;
    const tdsdiag::SummaryText& t;
    guint32 stream;
};

// A field of the summary: its registration (hf_register_info), where tshark -G fields lists it, and
// its value. Rendered in this order, each where it has a value.
struct ConnField {
    const char* name;
    const char* abbrev;
    ftenum type;
    int display;
    const void* strings;
    const char* blurb;
    // Registered right after this field: the order of tshark -G fields, which predates this table.
    const int* registered_after;
    ConnValue (*value)(const ConnSource& c);
    int hf = -1;
};
extern ConnField conn_fields[];
extern const size_t kConnFieldCount;

}  // namespace tdsdiag_plugin

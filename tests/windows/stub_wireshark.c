/* The stand-ins of libwireshark.dll that record what tdsdiag.dll registers (struct stub_state, read
 * by tests/windows/loader.c). Compiled against the release's own headers, so that the structures the
 * plugin fills (hf_register_info, ei_register_info, stat_tap_ui, ...) are read as that release lays
 * them out. Exported under Wireshark's names by scripts/windows/make-stubs (ovr_NAME); every other
 * export of the release is a generated stand-in that returns 0. */
#include <stdint.h>
#include <string.h>

#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto.h>
#include <epan/stat_tap_ui.h>

#include "stub_common.h"
#include "stub_state.h"

__declspec(dllexport) struct stub_state stub_state;

/* Protocol ids are 1001, 1002, ...: a field or expert info must be named "<its protocol's filter name>.". */
static int named_after(int proto, const char *abbrev) {
    int i = proto - 1001;
    if (i < 0 || i >= 4 || i >= stub_state.protocols || !abbrev) return 0;
    size_t n = strlen(stub_state.filter_names[i]);
    return strncmp(abbrev, stub_state.filter_names[i], n) == 0 && abbrev[n] == '.';
}

void ovr_proto_register_plugin(const proto_plugin *plugin) {
    stub_state.plugin = plugin;
    ++stub_state.plugins;
}

int ovr_proto_register_protocol(const char *name, const char *short_name, const char *filter_name) {
    (void)name;
    (void)short_name;
    if (stub_state.protocols < 4)
        snprintf(stub_state.filter_names[stub_state.protocols], sizeof stub_state.filter_names[0], "%s",
                 filter_name ? filter_name : "");
    return 1000 + ++stub_state.protocols;
}

void ovr_proto_register_field_array(int parent, hf_register_info *hf, int n) {
    for (int i = 0; i < n; ++i) {
        ++stub_state.fields;
        if (!named_after(parent, hf[i].hfinfo.abbrev)) ++stub_state.fields_foreign;
        if (hf[i].p_id == NULL) ++stub_state.fields_unset_id;
        else *hf[i].p_id = 2000 + stub_state.fields;
    }
}

void ovr_proto_register_subtree_array(int *const *indices, int n) {
    for (int i = 0; i < n; ++i) *indices[i] = 3000 + stub_state.subtrees++;
}

static char prefs_module_token, handle_token;
static int expert_modules[4];  /* an expert module is its protocol's id */

void *ovr_expert_register_protocol(int id) {
    int i = id - 1001;
    if (i < 0 || i >= 4) return NULL;
    expert_modules[i] = id;
    return &expert_modules[i];
}

void ovr_expert_register_field_array(void *module, ei_register_info *ei, int n) {
    int proto = module ? *(int *)module : 0;
    for (int i = 0; i < n; ++i) {
        ++stub_state.experts;
        if (!named_after(proto, ei[i].eiinfo.name)) ++stub_state.experts_foreign;
    }
}

void *ovr_prefs_register_protocol(int id, void (*apply)(void)) {
    (void)id;
    (void)apply;
    return &prefs_module_token;
}
/* Only the module and the name are looked at; the rest of each release's signature is left alone. */
static void pref(void *module, const char *name) {
    if (module == &prefs_module_token && name && *name) ++stub_state.prefs;
}
void ovr_prefs_register_uint_preference(void *module, const char *name) { pref(module, name); }
void ovr_prefs_register_bool_preference(void *module, const char *name) { pref(module, name); }
void ovr_prefs_register_range_preference(void *module, const char *name) { pref(module, name); }

void *ovr_create_dissector_handle(void *dissector, int proto) {
    (void)dissector;
    (void)proto;
    ++stub_state.handles;
    return &handle_token;
}

void ovr_register_postdissector(void *handle) {
    ++stub_state.postdissectors;
    if (handle == &handle_token) ++stub_state.postdissector_is_ours;
}

void ovr_set_postdissector_wanted_hfids(void *handle, GArray *wanted) {
    (void)handle;
    ++stub_state.wanted_hfids;
    if (wanted == NULL) ++stub_state.wanted_hfids_null;
}

int ovr_register_tap(const char *name) {
    (void)name;
    return ++stub_state.taps;
}

void ovr_register_stat_tap_ui(stat_tap_ui *ui, void *userdata) {
    (void)userdata;
    if (stub_state.stat_uis < 4)
        snprintf(stub_state.stat_clis[stub_state.stat_uis], sizeof stub_state.stat_clis[0], "%s", ui->cli_string);
    ++stub_state.stat_uis;
}

void ovr_register_stat_tap_table_ui(stat_tap_table_ui *ui) {
    ++stub_state.stat_table_uis;
    stub_state.stat_table_fields = (int)ui->nfields;
}

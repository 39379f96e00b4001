/* What the stand-in libwireshark.dll saw tdsdiag.dll register (tests/windows/stub_wireshark.c), read by
 * tests/windows/loader.c through the stand-in's export stub_state. */
#pragma once

struct stub_state {
    const void *plugin;               /* the proto_plugin given to proto_register_plugin */
    int plugins;                      /* calls of proto_register_plugin */
    int protocols;                    /* calls of proto_register_protocol */
    char filter_names[4][32];         /* their filter names, in order */
    int fields, fields_foreign;       /* fields registered; those not named after their protocol */
    int fields_unset_id;              /* fields whose id variable is missing */
    int subtrees;
    int experts, experts_foreign;     /* expert infos; those not named after their protocol */
    int prefs;                        /* preferences registered (uint, bool, range) */
    int handles;                      /* dissector handles made */
    int postdissectors, postdissector_is_ours;
    int wanted_hfids, wanted_hfids_null;
    int stat_uis;                     /* register_stat_tap_ui */
    char stat_clis[4][32];            /* their -z names */
    int stat_table_uis, stat_table_fields;
    int taps;
    int other_calls;                  /* calls of any other stand-in function */
};

/* Loads tdsdiag.dll as Wireshark's plugin loader does (LoadLibrary, then its entry points by name)
 * among stand-in Wireshark and GLib DLLs (scripts/windows/make-stubs), registers it, and checks what
 * it registered (struct stub_state). Exits 0 only if every check passes; prints each.
 *
 * usage: loader.exe tdsdiag.dll MAJOR MINOR DESCRIBE(0|1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include <epan/proto.h>
#if __has_include(<wsutil/plugins.h>)  /* 4.4 and later install it: WS_PLUGIN_DESC_* */
#include <wsutil/plugins.h>
#endif

#include "stub_state.h"

__declspec(dllimport) extern struct stub_state stub_state;

static int failures;

/* Every import of the loaded module, checked against what the DLL it names exports: Windows refuses
 * to load a DLL with a missing import, but Wine loads it and points the import at a stub that fails
 * only when called, so the loader looks itself. Returns the number of missing imports. */
static int missing_imports(HMODULE mod) {
    const unsigned char *base = (const unsigned char *)mod;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(base + ((const IMAGE_DOS_HEADER *)base)->e_lfanew);
    const IMAGE_DATA_DIRECTORY *dir = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
    int missing = 0, checked = 0;
    for (const IMAGE_IMPORT_DESCRIPTOR *d = (const IMAGE_IMPORT_DESCRIPTOR *)(base + dir->VirtualAddress);
         dir->VirtualAddress && d->Name; ++d) {
        const char *dll = (const char *)(base + d->Name);
        HMODULE h = GetModuleHandleA(dll);
        const IMAGE_THUNK_DATA *names = (const IMAGE_THUNK_DATA *)(base + d->OriginalFirstThunk);
        const IMAGE_THUNK_DATA *iat = (const IMAGE_THUNK_DATA *)(base + d->FirstThunk);
        for (; names->u1.AddressOfData; ++names, ++iat) {
            if (IMAGE_SNAP_BY_ORDINAL(names->u1.Ordinal)) continue;
            const char *fn = (const char *)((const IMAGE_IMPORT_BY_NAME *)(base + names->u1.AddressOfData))->Name;
            FARPROC want = h ? GetProcAddress(h, fn) : NULL;
            ++checked;
            if (want == NULL || (ULONG_PTR)want != (ULONG_PTR)iat->u1.Function) {
                printf("      missing: %s!%s\n", dll, fn);
                ++missing;
            }
        }
    }
    printf("      %d imports checked\n", checked);
    return missing;
}
static void check(int ok, const char *what) {
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: loader.exe tdsdiag.dll MAJOR MINOR DESCRIBE\n");
        return 2;
    }
    int major = atoi(argv[2]), minor = atoi(argv[3]), describe = atoi(argv[4]);
    HMODULE h = LoadLibraryA(argv[1]);
    if (!h) {
        printf("FAIL: LoadLibrary(%s): error %lu\n", argv[1], (unsigned long)GetLastError());
        return 1;
    }
    check(missing_imports(h) == 0, "LoadLibrary: every import bound to an export of the DLL it names");
    const char *version = (const char *)GetProcAddress(h, "plugin_version");
    const int *want_major = (const int *)GetProcAddress(h, "plugin_want_major");
    const int *want_minor = (const int *)GetProcAddress(h, "plugin_want_minor");
    void (*reg)(void) = (void (*)(void))GetProcAddress(h, "plugin_register");
    unsigned (*desc)(void) = (unsigned (*)(void))GetProcAddress(h, "plugin_describe");
    check(version && *version, "plugin_version");
    check(want_major && *want_major == major, "plugin_want_major is the release's major");
    check(want_minor && *want_minor == minor, "plugin_want_minor is the release's minor");
    check(reg != NULL, "plugin_register");
    check((desc != NULL) == describe, describe ? "plugin_describe (this release asks for it)"
                                               : "no plugin_describe (this release does not ask for it)");
    if (failures) return 1;
#ifdef WS_PLUGIN_DESC_DISSECTOR
    if (desc) check(desc() == (WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER),
                    "plugin_describe: dissector and tap listener");
#endif

    reg();
    check(stub_state.plugins == 1 && stub_state.plugin != NULL, "plugin_register called proto_register_plugin once");
    if (failures) return 1;
    const proto_plugin *plug = (const proto_plugin *)stub_state.plugin;
    check(plug->register_protoinfo != NULL && plug->register_handoff != NULL, "both registration routines given");
    if (failures) return 1;
    plug->register_protoinfo();
    check(stub_state.protocols == 2 && strcmp(stub_state.filter_names[0], "tdsdiag") == 0 &&
              strcmp(stub_state.filter_names[1], "ssrp") == 0,
          "protocols tdsdiag and ssrp (SQL Browser) registered");
    printf("      %d fields, %d expert infos, %d preferences, %d subtrees\n", stub_state.fields,
           stub_state.experts, stub_state.prefs, stub_state.subtrees);
    check(stub_state.fields >= 20 && stub_state.fields_foreign == 0 && stub_state.fields_unset_id == 0,
          "fields registered, each named after its protocol and with its id variable");
    check(stub_state.experts >= 20 && stub_state.experts_foreign == 0, "expert infos registered, each named after its protocol");
    check(stub_state.prefs >= 5, "preferences registered in tdsdiag's module");
    check(stub_state.handles >= 1 && stub_state.postdissectors == 1 && stub_state.postdissector_is_ours == 1,
          "registered as a postdissector with its own handle");
    check(stub_state.taps == 1, "tap tdsdiag registered");
    check(stub_state.stat_uis == 3 && strcmp(stub_state.stat_clis[0], "tdsdiag,conv") == 0 &&
              strcmp(stub_state.stat_clis[1], "tdsdiag,csv") == 0 &&
              strcmp(stub_state.stat_clis[2], "tdsdiag,summary") == 0,
          "statistics -z tdsdiag,conv, tdsdiag,csv, tdsdiag,summary registered");
    check(stub_state.stat_table_uis == 1 && stub_state.stat_table_fields > 0, "connection table registered");
    plug->register_handoff();
    check(stub_state.wanted_hfids == 1 && stub_state.wanted_hfids_null == 0,
          "handoff: the fields it reads asked for (set_postdissector_wanted_hfids)");
    printf("%s: tdsdiag.dll %s for Wireshark %d.%d loaded and registered\n", failures ? "FAILED" : "passed",
           version, major, minor);
    return failures ? 1 : 0;
}

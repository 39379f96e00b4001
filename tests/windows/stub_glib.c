/* The stand-ins of glib-2.0-0.dll that must do their work for tdsdiag.dll's registration to go on:
 * memory, strings, GArray. Exported under GLib's names by scripts/windows/make-stubs (ovr_NAME). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "stub_common.h"

void *ovr_g_malloc(size_t n) { return malloc(n ? n : 1); }
void *ovr_g_malloc0(size_t n) { return calloc(1, n ? n : 1); }
void *ovr_g_malloc_n(size_t n, size_t m) { return malloc(n * m ? n * m : 1); }
void *ovr_g_malloc0_n(size_t n, size_t m) { return calloc(n ? n : 1, m ? m : 1); }
void *ovr_g_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void ovr_g_free(void *p) { free(p); }
char *ovr_g_strdup(const char *s) {
    if (!s) return NULL;
    char *d = malloc(strlen(s) + 1);
    return strcpy(d, s);
}
char *ovr_g_strdup_printf(const char *fmt, ...) {
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *d = malloc((size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, aq);
    va_end(aq);
    va_end(ap);
    return d;
}

/* A GArray: the public part first, as GLib's own GRealArray. */
struct stub_array { GArray pub; guint elt_size, alloc; gboolean zero_terminated, clear; };
GArray *ovr_g_array_new(gboolean zero_terminated, gboolean clear, guint elt_size) {
    struct stub_array *a = calloc(1, sizeof *a);
    a->elt_size = elt_size;
    a->zero_terminated = zero_terminated;
    a->clear = clear;
    return &a->pub;
}
GArray *ovr_g_array_append_vals(GArray *array, const void *data, guint len) {
    struct stub_array *a = (struct stub_array *)array;
    if (a->pub.len + len + 1 > a->alloc) {
        a->alloc = 2 * (a->pub.len + len + 1);
        a->pub.data = realloc(a->pub.data, (size_t)a->alloc * a->elt_size);
    }
    memcpy(a->pub.data + (size_t)a->pub.len * a->elt_size, data, (size_t)len * a->elt_size);
    a->pub.len += len;
    return array;
}

/* Shared by the stand-in DLLs (tests/windows/stub_*.c): the note every generated stand-in function
 * takes (scripts/windows/make-stubs). TDSDIAG_STUB_TRACE=1 prints each call's name on stderr. */
#pragma once
#include <stdio.h>
#include <stdlib.h>

int stub_other_calls;

void stub_note(const char *name) {
    ++stub_other_calls;
    if (getenv("TDSDIAG_STUB_TRACE")) fprintf(stderr, "stub: %s\n", name);
}

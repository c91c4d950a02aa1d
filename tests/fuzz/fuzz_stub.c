/* Fuzz target: stub JSON (esptool's format, from a file the user names or
 * the build fetched) must parse or be refused, never crash, and a parsed
 * stub's entry must lie in its text. */
#include <stdlib.h>

#include "flasher/flasher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_stub st;
    struct fl_error err;
    if (fl_stub_parse((const char *)data, size, &st, &err) == FL_OK) {
        if (st.text == NULL || st.entry < st.text_start ||
            st.entry - st.text_start >= st.text_len || (st.data_len > 0) != (st.data != NULL)) {
            abort();
        }
        fl_stub_release(&st);
    } else if (st.text != NULL || st.data != NULL || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}

/*
 * Fuzz target for what espprov does with text and files from outside before
 * a terminal or a host folder sees them: escaping (pv_escape), the device
 * file name rule (pv_devname_check) and the secret-file test that picks the
 * mode of an extracted file (pv_image_file_is_secret: PEM, DER and JSON
 * parsing). Input: one selector byte for the output size, then the bytes.
 * Invariants: escaped text is always plain and fits; an accepted name never
 * has an empty, "." or ".." part.
 */
#include <stdlib.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/image/image.h"

#define MAX_INPUT (64u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > MAX_INPUT) {
        return 0;
    }
    size_t cap = 1 + data[0] % 64;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    char *text = malloc(len + 1);
    char *out = malloc(cap);
    char *big = malloc(4 * len + 1);
    if (text == NULL || out == NULL || big == NULL) {
        abort();
    }
    memcpy(text, body, len);
    text[len] = '\0';

    pv_escape(text, out, cap);
    if (strlen(out) >= cap || !pv_text_is_plain(out)) {
        abort();
    }
    pv_escape(text, big, 4 * len + 1);
    if (!pv_text_is_plain(big) || (pv_text_is_plain(text) && strcmp(big, text) != 0)) {
        abort(); /* plain text passes unchanged, anything else comes out plain */
    }

    struct pv_error err;
    if (pv_devname_check(text, &err) == PV_OK) {
        if (text[0] != '/' || strstr(text, "//") != NULL || strstr(text, "/./") != NULL ||
            strstr(text, "/../") != NULL || text[strlen(text) - 1] == '/') {
            abort();
        }
    } else if (!pv_text_is_plain(err.msg)) {
        abort(); /* the message quotes the name escaped */
    }

    (void)pv_image_file_is_secret(text, body, len);
    free(big);
    free(out);
    free(text);
    return 0;
}

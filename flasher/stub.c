/*
 * The flasher stub (esp-protocol.md §7): parsed from esptool's JSON format,
 * uploaded with MEM_BEGIN/MEM_DATA, started with MEM_END, confirmed by its
 * "OHAI" greeting. No stub binary ships in this repository: the build fetches
 * the pinned ones (stub_find.c finds them), or the user names one.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

#define STUB_MAX_SEGMENT (512u * 1024)

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Strict base64 (padding optional, whitespace ignored). */
static int b64_decode(const char *in, uint8_t **out, size_t *out_len)
{
    size_t len = strlen(in);
    uint8_t *buf = malloc(len / 4 * 3 + 3);
    if (buf == NULL) {
        return FL_ERR_NOMEM;
    }
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    bool padding = false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        }
        if (c == '=') {
            padding = true;
            continue;
        }
        int v = b64_value((unsigned char)c);
        if (v < 0 || padding) {
            free(buf);
            return FL_ERR_INVALID;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6) {
        free(buf); /* a lone trailing character cannot be a whole byte */
        return FL_ERR_INVALID;
    }
    *out = buf;
    *out_len = o;
    return FL_OK;
}

static int get_u32(json_t *root, const char *key, bool required, uint32_t *out,
                   struct fl_error *err)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL) {
        if (required) {
            return fl_error_set(err, FL_ERR_INVALID, "use an esptool stub_flasher JSON file",
                                "stub JSON: \"%s\" is missing", key);
        }
        *out = 0;
        return FL_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xFFFFFFFFLL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL,
                            "stub JSON: \"%s\" must be an address (0..0xFFFFFFFF)", key);
    }
    *out = (uint32_t)json_integer_value(v);
    return FL_OK;
}

static int get_blob(json_t *root, const char *key, bool required, uint8_t **out, size_t *len,
                    struct fl_error *err)
{
    json_t *v = json_object_get(root, key);
    *out = NULL;
    *len = 0;
    if (v == NULL && !required) {
        return FL_OK;
    }
    if (!json_is_string(v)) {
        return fl_error_set(err, FL_ERR_INVALID, "use an esptool stub_flasher JSON file",
                            "stub JSON: \"%s\" must be a base64 string", key);
    }
    int rc = b64_decode(json_string_value(v), out, len);
    if (rc == FL_ERR_NOMEM) {
        return fl_error_set(err, rc, NULL, "out of memory decoding the stub");
    }
    if (rc != FL_OK) {
        return fl_error_set(err, rc, NULL, "stub JSON: \"%s\" is not valid base64", key);
    }
    if ((required && *len == 0) || *len > STUB_MAX_SEGMENT) {
        free(*out);
        *out = NULL;
        return fl_error_set(err, FL_ERR_INVALID, NULL, "stub JSON: \"%s\" has %zu bytes", key,
                            *len);
    }
    return FL_OK;
}

int fl_stub_parse(const char *json, size_t len, struct fl_stub *out, struct fl_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "stub JSON: %s (line %d)", jerr.text,
                            jerr.line);
    }
    int rc = FL_ERR_INVALID;
    if (!json_is_object(root)) {
        fl_error_set(err, rc, NULL, "stub JSON: not an object");
        goto out;
    }
    if ((rc = get_u32(root, "entry", true, &out->entry, err)) != FL_OK ||
        (rc = get_u32(root, "text_start", true, &out->text_start, err)) != FL_OK ||
        (rc = get_blob(root, "text", true, &out->text, &out->text_len, err)) != FL_OK ||
        (rc = get_blob(root, "data", false, &out->data, &out->data_len, err)) != FL_OK ||
        (rc = get_u32(root, "data_start", out->data_len > 0, &out->data_start, err)) != FL_OK) {
        goto out;
    }
    if (out->entry < out->text_start || out->entry >= out->text_start + out->text_len) {
        rc = fl_error_set(err, FL_ERR_INVALID, NULL,
                          "stub JSON: entry 0x%08x is outside its text (0x%08x, %zu bytes)",
                          (unsigned)out->entry, (unsigned)out->text_start, out->text_len);
        goto out;
    }
    rc = FL_OK;
out:
    json_decref(root);
    if (rc != FL_OK) {
        fl_stub_release(out);
    }
    return rc;
}

int fl_stub_load(const char *path, struct fl_stub *out, struct fl_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return fl_error_set(err, errno == ENOENT ? FL_ERR_NOT_FOUND : FL_ERR_IO, NULL,
                            "cannot open stub '%s': %s", path, strerror(errno));
    }
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    int rc = FL_OK;
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) {
            break;
        }
        if (cap >= 8u << 20) {
            rc = fl_error_set(err, FL_ERR_INVALID, NULL, "stub '%s' is too large", path);
            break;
        }
        char *n = realloc(buf, cap * 2);
        if (n == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = n;
        cap *= 2;
    }
    if (buf == NULL) {
        rc = fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory reading '%s'", path);
    } else if (rc == FL_OK && ferror(f)) {
        rc = fl_error_set(err, FL_ERR_IO, NULL, "cannot read stub '%s'", path);
    }
    fclose(f);
    if (rc == FL_OK) {
        rc = fl_stub_parse(buf, len, out, err);
        if (rc != FL_OK && err != NULL) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s: %s", path, err->msg);
            memcpy(err->msg, msg, sizeof msg);
        }
    }
    free(buf);
    return rc;
}

void fl_stub_release(struct fl_stub *stub)
{
    free(stub->text);
    free(stub->data);
    stub->text = stub->data = NULL;
    stub->text_len = stub->data_len = 0;
}

static int upload_segment(struct fl_session *s, uint32_t addr, const uint8_t *p, size_t len,
                          struct fl_error *err)
{
    uint32_t nblocks = (uint32_t)((len + FL_RAM_BLOCK - 1) / FL_RAM_BLOCK);
    const uint32_t begin[4] = {(uint32_t)len, nblocks, FL_RAM_BLOCK, addr};
    TRY(fl_command_words(s, FL_OP_MEM_BEGIN, begin, 4, FL_T_DEFAULT, err));
    for (uint32_t i = 0; i < nblocks; i++) {
        size_t off = (size_t)i * FL_RAM_BLOCK;
        size_t n = len - off < FL_RAM_BLOCK ? len - off : FL_RAM_BLOCK;
        int rc = fl_data_command(s, FL_OP_MEM_DATA, p + off, n, i, FL_T_DEFAULT, err);
        if (rc != FL_OK) {
            return rc;
        }
    }
    return FL_OK;
}

static int upload(struct fl_session *s, const struct fl_stub *stub, struct fl_error *err);

int fl_run_stub(struct fl_session *s, const struct fl_stub *stub, struct fl_error *err)
{
    if (s->state->target == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "not connected (call fl_connect first)");
    }
    if (s->state->stub) {
        return FL_OK;
    }
    int rc = upload(s, stub, err);
    if (rc == FL_ERR_ROM || rc == FL_ERR_TIMEOUT || rc == FL_ERR_PROTO) {
        /* A spoiled or lost block: MEM_BEGIN starts the upload over. */
        bool refused = err != NULL && err->status[0] == 1 &&
                       (err->status[1] == 0x0E || err->status[1] == 0x0F);
        if (!refused) {
            fl_log(s, FL_LOG_WARN, "stub upload failed (%s); trying once more",
                   err ? err->msg : fl_strerror(rc));
            s->stats.retries++;
            TRY(fl_flush_input(s, err));
            rc = upload(s, stub, err);
        }
    }
    return rc;
}

static void note_frame(struct fl_session *s, const uint8_t *p, size_t n)
{
    s->stats.frames_received++;
    if (s->hooks.frame != NULL && s->opt.log_level >= FL_LOG_TRACE) {
        s->hooks.frame(s->hooks.user, FL_FRAME_RECEIVED, p, n);
    }
}

/*
 * After MEM_END: the ROM may or may not answer before it jumps, and the stub
 * then greets with a bare "OHAI" frame, the protocol's only unsolicited one.
 * The greeting is looked for in the raw bytes (END O H A I END), not only as
 * a decoded frame: a stub that first switches its UART's clock (the
 * esp-flasher-stub raises the CPU/APB clock on the ESP32 before it sets the
 * divider back, main.c) garbles the tail of the ROM's MEM_END reply still
 * in the FIFO, and a frame decoder that lost that reply's closing END would
 * take the greeting's opening END as the close and the greeting as junk.
 */
static int wait_greeting(struct fl_session *s, struct fl_error *err)
{
    static const uint8_t hello[6] = {0xC0, 'O', 'H', 'A', 'I', 0xC0};
    struct fl_session_state *st = s->state;
    struct fl_port *port = st->port;
    int64_t deadline = port->ops->now_ms(port) + FL_T_STUB_HELLO;
    uint8_t win[sizeof hello] = {0};
    for (;;) {
        while (st->rx_pos < st->rx_len) {
            uint8_t b = st->rx[st->rx_pos++];
            memmove(win, win + 1, sizeof win - 1);
            win[sizeof win - 1] = b;
            if (memcmp(win, hello, sizeof hello) == 0) {
                note_frame(s, win + 1, 4);
                fl_slip_decoder_init(&st->dec, st->dec.buf, st->dec.cap);
                return FL_OK;
            }
            enum fl_slip_event ev;
            fl_slip_decode(&st->dec, &b, 1, &ev);
            if (ev == FL_SLIP_JUNK) {
                s->stats.junk_bytes++;
            } else if (ev == FL_SLIP_BAD) {
                s->stats.frames_bad++;
            } else if (ev == FL_SLIP_FRAME) {
                note_frame(s, st->dec.buf, st->dec.len);
                struct fl_reply r;
                if (fl_reply_parse(st->dec.buf, st->dec.len, 0, &r) == FL_OK &&
                    r.op == FL_OP_MEM_END && r.failed) {
                    return fl_error_set(
                        err, FL_ERR_ROM, "check that the stub file is for this chip",
                        "MEM_END failed: %s (status 0x%02x%02x)",
                        fl_status_text(r.stub_code, r.code), r.status[0], r.status[1]);
                }
                if (fl_reply_parse(st->dec.buf, st->dec.len, 0, &r) == FL_OK) {
                    s->stats.frames_skipped++;
                } else {
                    fl_log(s, FL_LOG_DEBUG, "a garbled %zu-byte frame before the stub's greeting",
                           st->dec.len);
                    s->stats.frames_bad++;
                }
            }
        }
        int64_t left = deadline - port->ops->now_ms(port);
        if (left <= 0) {
            return fl_error_set(err, FL_ERR_TIMEOUT,
                                "check that the stub is for this chip, try a lower --baud, "
                                "another --stub-family, or --no-stub",
                                "the flasher stub did not start on the %s (no OHAI greeting)",
                                st->target->name);
        }
        int r = port->ops->read(port, st->rx, sizeof st->rx, (int)left, err);
        if (r < 0) {
            return r;
        }
        st->rx_pos = 0;
        st->rx_len = (size_t)r;
        s->stats.bytes_received += (uint64_t)r;
    }
}

static int upload(struct fl_session *s, const struct fl_stub *stub, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    fl_log(s, FL_LOG_INFO, "uploading the flasher stub (%zu + %zu bytes)", stub->text_len,
           stub->data_len);
    TRY(upload_segment(s, stub->text_start, stub->text, stub->text_len, err));
    if (stub->data_len > 0) {
        TRY(upload_segment(s, stub->data_start, stub->data, stub->data_len, err));
    }
    uint8_t end[8];
    fl_put_le32(end, 0); /* 0 = jump to entry */
    fl_put_le32(end + 4, stub->entry);
    TRY(fl_send_command(s, FL_OP_MEM_END, end, sizeof end, 0, err));
    TRY(wait_greeting(s, err));
    st->stub = true;
    st->attached = false;
    st->params_size = 0;
    s->info.stub_running = true;
    fl_log(s, FL_LOG_INFO, "flasher stub running");
    return FL_OK;
}

/* What the chip's ROM loader cannot do of `needs` (NULL: it can do all). */
static const char *rom_lacks(const struct fl_target *t, unsigned needs)
{
    if ((needs & FL_NEED_VERIFY) && !(t->rom_caps & FL_ROM_MD5)) {
        return "verify flash by MD5";
    }
    if ((needs & FL_NEED_READ) && !(t->rom_caps & FL_ROM_READ_SLOW)) {
        return "read flash";
    }
    if (needs & FL_NEED_ERASE_CHIP) {
        return "erase the whole chip";
    }
    return NULL;
}

int fl_stub_start(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    const struct fl_stub *img = s->opt.stub;
    bool named = img != NULL;
    const struct fl_stub_set *set = s->opt.stubs;
    if (img == NULL && set != NULL) {
        img = fl_stub_set_get(set, st->target->chip);
        if (st->stub) {
            st->stub_img = img; /* running from an earlier session: restart this one */
            return FL_OK;
        }
        if (img == NULL) {
            fl_log(s, FL_LOG_INFO, "no %s flasher stub for the %s in %s: using the ROM loader",
                   fl_stub_family_name(set->family), st->target->name, set->dir);
        }
    }
    if (st->stub) {
        st->stub_img = img;
        return FL_OK;
    }
    if (img == NULL || st->stub_failed) {
        return FL_OK;
    }
    if (s->info.secure_download) {
        fl_log(s, FL_LOG_WARN, "Secure Download Mode: the stub cannot run, using the ROM");
        return FL_OK;
    }
    int rc = fl_run_stub(s, img, err);
    if (rc == FL_OK) {
        st->stub_img = img;
        return FL_OK;
    }
    if (named || (rc != FL_ERR_TIMEOUT && rc != FL_ERR_ROM && rc != FL_ERR_PROTO)) {
        return rc;
    }
    /* The default stub did not start. The ROM will do only if it can do all
     * the job asks for; otherwise say what would be lost. */
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err != NULL ? err->msg : fl_strerror(rc));
    const char *lack = rom_lacks(st->target, s->opt.needs);
    if (lack != NULL) {
        return fl_error_set(err, rc,
                            "try the other stub family (--stub-family), a lower --baud, or "
                            "--stub FILE",
                            "the %s flasher stub did not start (%s), and the %s ROM loader "
                            "cannot %s, which this job needs",
                            fl_stub_family_name(set->family), why, st->target->name, lack);
    }
    fl_log(s, FL_LOG_WARN, "the %s flasher stub did not start (%s); continuing with the ROM loader",
           fl_stub_family_name(set->family), why);
    st->stub_failed = true;
    s->stats.retries++;
    rc = fl_recover(s, err);
    if (rc != FL_OK && err != NULL) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "after the flasher stub failed to start: %s", err->msg);
        memcpy(err->msg, msg, sizeof msg);
        snprintf(err->hint, sizeof err->hint,
                 "reset the board into download mode and run again, or use --no-stub");
    }
    return rc;
}

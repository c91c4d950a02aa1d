/* Parameters and opening images for `espprov spiffs`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli.h"
#include "provision/cli/cli_spiffs.h"
#include "spiffsgen/spiffsgen.h"

bool cli_spiffs_explicit(const struct cli_spiffs_opts *o)
{
    for (int i = 0; i < 4; i++) {
        if (o->num_set[i] || (i < 3 && o->flag[i] >= 0)) {
            return true;
        }
    }
    return false;
}

int cli_spiffs_params(const struct cli_spiffs_opts *o, uint64_t size, struct sg_params *p)
{
    struct sg_error err = {0};
    if (sg_preset(o->preset ? o->preset : "esp-idf", size, p, &err) != SG_OK) {
        return cli_fail("use one of esp8266-arduino, esp32-arduino, esp-idf", "%s", err.msg);
    }
    uint32_t *num[4] = {&p->page_size, &p->block_size, &p->obj_name_len, &p->meta_len};
    for (int i = 0; i < 4; i++) {
        if (o->num_set[i]) {
            *num[i] = (uint32_t)o->num[i];
        }
    }
    bool *flag[3] = {&p->use_magic, &p->use_magic_len, &p->aligned_obj_ix_tables};
    for (int i = 0; i < 3; i++) {
        if (o->flag[i] >= 0) {
            *flag[i] = o->flag[i] == 1;
        }
    }
    if (!p->use_magic) {
        p->use_magic_len = false;
    }
    return CLI_OK;
}

int cli_spiffs_open_image(const char *path, const struct cli_spiffs_opts *o,
                          const struct cli_ctx *ctx, struct cli_spiffs_opened *x, bool as_problem)
{
    struct sg_error e = {0}, *serr = &e;
    struct pv_error perr = {0};
    memset(x, 0, sizeof *x);
    if (cli_spiffs_read_file(path, 256u << 20, &x->buf, &x->len, &perr) != PV_OK) {
        return cli_fail_err(&perr);
    }
    if (o->preset != NULL || cli_spiffs_explicit(o)) {
        if (cli_spiffs_params(o, x->len, &x->p) != CLI_OK) {
            return CLI_FAILED;
        }
        snprintf(x->preset, sizeof x->preset, "%s", o->preset ? o->preset : "custom");
    } else if (sg_detect(x->buf, x->len, &x->p, x->preset, sizeof x->preset, serr) != SG_OK) {
        return cli_fail("give the parameters: --preset NAME or the explicit flags", "'%s': %s",
                        path, serr->msg);
    } else {
        char desc[160];
        sg_params_describe(&x->p, desc, sizeof desc);
        cli_info(ctx, 1, "detected %s: %s", x->preset, desc);
    }
    if (sg_image_open(&x->p, x->buf, x->len, &x->im, serr) != SG_OK) {
        if (as_problem) {
            printf("%s\n", serr->msg);
        }
        return cli_fail("check the parameters (--preset, or none to detect them)", "'%s': %s", path,
                        serr->msg);
    }
    if (x->len % x->p.block_size != 0) {
        cli_warn("'%s': the last %zu bytes are not a whole %u-byte block; the device ignores "
                 "them too",
                 path, x->len % x->p.block_size, x->p.block_size);
    }
    uint16_t found, expected;
    long bad = sg_image_bad_block(x->im, &found, &expected);
    if (bad >= 0) {
        cli_warn("'%s': block %ld has magic 0x%04x, expected 0x%04x; the device erases that "
                 "block at mount and its files are not shown",
                 path, bad, found, expected);
    }
    return CLI_OK;
}

void cli_spiffs_close_image(struct cli_spiffs_opened *x)
{
    sg_image_close(x->im);
    free(x->buf);
}

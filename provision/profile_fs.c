/* Filesystem checks for the profile loader: presets, geometry, file names. */
#include <stdio.h>
#include <string.h>

#include "provision/profile_sections.h"
#include "spiffsgen/spiffsgen.h"

int pv_fs_preset_check(const char *preset)
{
    struct sg_params params;
    return sg_preset(preset, 0, &params, NULL) == SG_OK ? PV_OK : PV_ERR_INVALID;
}

const char *pv_fs_preset_list(void)
{
    return "esp8266-arduino, esp32-arduino, esp-idf";
}

int pv_fs_geometry_check(const struct pv_profile *p, struct pv_error *err)
{
    struct sg_params params;
    struct sg_error e;
    if (sg_preset(p->fs.preset, p->fs.size, &params, &e) != SG_OK ||
        sg_params_check(&params, p->fs.size, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%s", e.msg);
    }
    return PV_OK;
}

int pv_fs_name_check(struct pctx *c, const char *path, const char *name)
{
    size_t n = strlen(name);
    struct sg_params params;
    size_t max = 31; /* the contract's limit, and SPIFFS_OBJ_NAME_LEN - 1 on every preset */
    if (c->p->fs.preset != NULL &&
        sg_preset(c->p->fs.preset, c->p->fs.size, &params, NULL) == SG_OK &&
        sg_max_name_len(&params) < max) {
        max = sg_max_name_len(&params);
    }
    if (name[0] != '/' || n < 2 || n > max) {
        return perr(c, path, "\"%.40s\" is not a device file name (starts with '/', 2-%zu bytes)",
                    name, max);
    }
    for (const char *s = name; *s; s++) {
        if ((unsigned char)*s < 0x20) {
            return perr(c, path, "file name contains a control character");
        }
    }
    const struct pv_profile *p = c->p;
    const char *taken[] = {p->paths.ca, p->paths.cert, p->paths.key, p->paths.config};
    size_t uses = 0;
    for (size_t i = 0; i < 4; i++) {
        uses += taken[i] != NULL && strcmp(taken[i], name) == 0;
    }
    for (size_t i = 0; i < p->fs.file_count; i++) {
        uses += p->fs.files[i].name != NULL && strcmp(p->fs.files[i].name, name) == 0;
    }
    if (uses > 1) {
        return perr(c, path, "\"%s\" is used twice on the device filesystem", name);
    }
    return PV_OK;
}

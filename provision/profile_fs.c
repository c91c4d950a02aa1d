/* Filesystem checks for the profile loader: presets, geometry, file names. */
#include <stdio.h>
#include <string.h>

#include "provision/profile_sections.h"

static const char *const presets[] = {"esp8266-arduino", "esp32-arduino", "esp-idf", NULL};

/* SPIFFS_OBJ_NAME_LEN is 32 on every platform we build for (the NUL included). */
#define FS_NAME_MAX 31

int pv_fs_preset_check(const char *preset)
{
    for (size_t i = 0; presets[i] != NULL; i++) {
        if (strcmp(presets[i], preset) == 0) {
            return PV_OK;
        }
    }
    return PV_ERR_INVALID;
}

const char *pv_fs_preset_list(void)
{
    return "esp8266-arduino, esp32-arduino, esp-idf";
}

int pv_fs_geometry_check(const struct pv_profile *p, struct pv_error *err)
{
    /* Two blocks stay free for the device's garbage collection and at least
     * one more is needed for files: below 4 blocks SPIFFS cannot mount. */
    uint32_t block =
        (strcmp(p->fs.preset, "esp8266-arduino") == 0 && p->fs.size >= (512u << 10)) ? 8192 : 4096;
    if (p->fs.size % block != 0 || p->fs.size / block < 4) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "size 0x%x is not a whole number of at least 4 blocks of 0x%x bytes "
                            "(preset %s)",
                            p->fs.size, block, p->fs.preset);
    }
    return PV_OK;
}

int pv_fs_name_check(struct pctx *c, const char *path, const char *name)
{
    size_t n = strlen(name);
    if (name[0] != '/' || n < 2 || n > FS_NAME_MAX) {
        return perr(c, path, "\"%.40s\" is not a device file name (starts with '/', 2-%d bytes)",
                    name, FS_NAME_MAX);
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

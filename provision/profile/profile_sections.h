/*
 * Private to the profile loader: the per-section parsers (profile_sections.c),
 * filesystem checks (profile_fs.c) and the config size check, called in
 * order by profile.c.
 */
#ifndef ESPPROV_PROFILE_SECTIONS_H
#define ESPPROV_PROFILE_SECTIONS_H

#include "provision/profile/profile_json.h"

int pv_profile_parse_ca(struct pctx *c, json_t *root);
int pv_profile_parse_device(struct pctx *c, json_t *root);
int pv_profile_parse_wifi(struct pctx *c, json_t *root);
int pv_profile_parse_mqtt(struct pctx *c, json_t *root);
/* After device (the default names depend on device.format). */
int pv_profile_parse_paths(struct pctx *c, json_t *root);
/* The config file for the worst-case device fits the contract (2048 bytes). */
int pv_profile_check_config(struct pctx *c);

#define FIRMWARE_MAX 16
#define FS_FILES_MAX 256
#define FS_DIR_DEPTH 8

/* .filesystem placement and parameters, .partitions (after .flash). */
int pv_profile_parse_filesystem(struct pctx *c, json_t *root);
/* .filesystem.files and .filesystem.dir (after .paths). */
int pv_profile_parse_fs_files(struct pctx *c, json_t *root);
/* Firmware sizes and extra file contents from the host (last). */
int pv_profile_read_host_files(struct pctx *c);
/* Flash regions: no overlaps, within flash.size. */
int pv_profile_check_regions(struct pctx *c);

/* Template fields: known placeholders, worst case within max. */
int pv_profile_check_template(struct pctx *c, const char *path, const char *value, unsigned allowed,
                              size_t max, struct tmpl_info *info);

/* Filesystem checks against spiffsgen's presets and geometry. */
int pv_fs_preset_check(const char *preset);
const char *pv_fs_preset_list(void);
int pv_fs_geometry_check(const struct pv_profile *p, struct pv_error *err);
/* A SPIFFS file name the device can open, not used twice. */
int pv_fs_name_check(struct pctx *c, const char *path, const char *name);

#endif

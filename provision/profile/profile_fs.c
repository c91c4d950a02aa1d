/* Profile loader, filesystem side: presets, geometry, file names, host files, regions. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "provision/profile/profile_sections.h"
#include "lfsgen/lfsgen.h"
#include "spiffsgen/spiffsgen.h"

const char *pv_fs_type_name(enum pv_fs_type t)
{
    return t == PV_FS_LITTLEFS ? "littlefs" : "spiffs";
}

int pv_fs_preset_check(const char *preset)
{
    struct sg_params params;
    struct lg_params lparams;
    return sg_preset(preset, 0, &params, NULL) == SG_OK &&
                   lg_preset(preset, 0, &lparams, NULL) == LG_OK
               ? PV_OK
               : PV_ERR_INVALID;
}

const char *pv_fs_preset_list(void)
{
    return "esp8266-arduino, esp32-arduino, esp-idf";
}

/* LittleFS: the preset's values for the partition size, the layout's block. */
static int lfs_geometry_check(const struct pv_profile *p, struct pv_error *err)
{
    struct lg_params params;
    struct lg_error e;
    if (lg_preset(p->fs.preset, p->fs.size, &params, &e) != LG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%s", e.msg);
    }
    if (p->fs.block_size != 0 && p->fs.block_size != params.block_size) {
        params.block_size = p->fs.block_size;
        params.block_count = 0;
    }
    if (lg_params_check(&params, p->fs.size, &e) != LG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%s", e.msg);
    }
    return PV_OK;
}

int pv_fs_geometry_check(const struct pv_profile *p, struct pv_error *err)
{
    if (p->fs.type == PV_FS_LITTLEFS) {
        return lfs_geometry_check(p, err);
    }
    struct sg_params params;
    struct sg_error e;
    if (sg_preset(p->fs.preset, p->fs.size, &params, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%s", e.msg);
    }
    if (p->fs.block_size != 0) {
        params.block_size = p->fs.block_size;
    }
    if (sg_params_check(&params, p->fs.size, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%s", e.msg);
    }
    return PV_OK;
}

int pv_fs_name_check(struct pctx *c, const char *path, const char *name)
{
    size_t n = strlen(name);
    struct sg_params params;
    struct lg_params lparams;
    size_t max = 31; /* the contract's limit, and SPIFFS_OBJ_NAME_LEN - 1 on every preset */
    if (c->p->fs.type == PV_FS_LITTLEFS) {
        /* LittleFS limits each folder or file name, not the path */
        max = 255;
        size_t part = lg_preset(c->p->fs.preset, c->p->fs.size, &lparams, NULL) == LG_OK
                          ? lg_name_limit(&lparams)
                          : 31;
        for (const char *s = name + (name[0] == '/'); *s != '\0';) {
            size_t k = strcspn(s, "/");
            if (k > part) {
                return perr(c, path,
                            "\"%.40s\": a name part of %zu bytes, more than the %zu "
                            "the platform's LittleFS opens",
                            name, k, part);
            }
            s += k + (s[k] == '/');
        }
    } else if (c->p->fs.preset != NULL &&
               sg_preset(c->p->fs.preset, c->p->fs.size, &params, NULL) == SG_OK &&
               sg_max_name_len(&params) < max) {
        max = sg_max_name_len(&params);
    }
    if (name[0] != '/' || n < 2 || n > max) {
        return perr(c, path, "\"%.40s\" is not a device file name (starts with '/', 2-%zu bytes)",
                    name, max);
    }
    struct pv_error why;
    if (pv_devname_check(name, &why) != PV_OK) {
        return perr(c, path, "%s", why.msg);
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

/* ===== Extra files ==================================================== */

static int add_fs_file(struct pctx *c, const char *path, const char *name, char *abs)
{
    struct pv_profile *p = c->p;
    if (p->fs.file_count >= FS_FILES_MAX) {
        free(abs);
        return perr(c, path, "more than %d files", FS_FILES_MAX);
    }
    if (abs == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    struct pv_profile_file *grown =
        realloc(p->fs.files, (p->fs.file_count + 1) * sizeof *p->fs.files);
    if (grown == NULL) {
        free(abs);
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    p->fs.files = grown;
    struct pv_profile_file *f = &p->fs.files[p->fs.file_count++];
    memset(f, 0, sizeof *f);
    f->path = abs;
    f->name = strdup(name);
    if (f->name == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    return pv_fs_name_check(c, path, name);
}

struct walked {
    struct pctx *c;
    bool added_failed; /* its message already names the profile key */
};

static int add_walked(void *user, const char *host, const char *name, struct pv_error *err)
{
    (void)err; /* the same record as w->c->err */
    struct walked *w = user;
    int rc = add_fs_file(w->c, ".filesystem.dir", name, strdup(host));
    w->added_failed = rc != PV_OK;
    return rc;
}

int pv_profile_parse_fs_files(struct pctx *c, json_t *root)
{
    json_t *fs = json_object_get(root, "filesystem");
    json_t *files;
    if (json_get_object(c, fs, ".filesystem", "files", 0, &files) != PV_OK) {
        return c->err->code;
    }
    if (files != NULL) {
        const char *name;
        json_t *v;
        json_object_foreach(files, name, v)
        {
            char path[PATH_MAX_LEN];
            jpath(path, ".filesystem.files", name);
            char *rel = NULL;
            if (json_string_value_at(c, v, path, 0, 1, PATH_MAX, &rel) != PV_OK) {
                return c->err->code;
            }
            if (rel == NULL) {
                return pv_profile_missing(c->p, path, c->err);
            }
            char *abs = pctx_abs_path(c, rel);
            free(rel);
            if (add_fs_file(c, path, name, abs) != PV_OK) {
                return c->err->code;
            }
        }
    }
    char *dir = NULL;
    if (json_get_string(c, fs, ".filesystem", "dir", 0, 1, PATH_MAX, &dir) != PV_OK) {
        return c->err->code;
    }
    if (dir != NULL && !(c->flags & PV_PROFILE_NO_FILES)) {
        char *abs = pctx_abs_path(c, dir);
        /* Hidden files (.DS_Store, editor droppings) stay out, as documented. */
        struct walked w = {c, false};
        int rc = abs ? pv_dir_walk(abs, PV_WALK_SKIP_HIDDEN, FS_DIR_DEPTH, add_walked, &w, c->err)
                     : pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
        if (rc != PV_OK && !w.added_failed) {
            pv_error_prefix(c->err, ".filesystem.dir");
        }
        free(abs);
        if (rc != PV_OK) {
            free(dir);
            return rc;
        }
    }
    free(dir);
    return PV_OK;
}

/* ===== Host files and flash regions ================================== */

int pv_profile_read_host_files(struct pctx *c)
{
    struct pv_profile *p = c->p;
    for (size_t i = 0; i < p->firmware_count; i++) {
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof path, ".firmware[%zu].file", i);
        struct stat st;
        if (stat(p->firmware[i].file, &st) != 0) {
            return perr(c, path, "cannot read '%s': %s", p->firmware[i].file, strerror(errno));
        }
        if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size > UINT32_MAX) {
            return perr(c, path, "'%s' is not a non-empty regular file", p->firmware[i].file);
        }
        p->firmware[i].size = (uint32_t)st.st_size;
    }
    if (p->flash.stub != NULL) {
        struct stat st;
        if (stat(p->flash.stub, &st) != 0 || !S_ISREG(st.st_mode)) {
            return perr(c, ".flash.stub", "cannot read '%s': %s", p->flash.stub,
                        errno ? strerror(errno) : "not a regular file");
        }
    }
    uint64_t total = 0;
    uint32_t room = p->fs.size ? p->fs.size : UINT32_MAX; /* "device": checked per board */
    for (size_t i = 0; i < p->fs.file_count; i++) {
        struct pv_profile_file *f = &p->fs.files[i];
        char path[PATH_MAX_LEN];
        jpath(path, ".filesystem.files", f->name);
        if (pv_file_read(f->path, room, &f->data, &f->size, c->err) != PV_OK) {
            return pv_error_prefix(c->err, "%s", path);
        }
        total += f->size;
        if (total > room) {
            return perr(c, path, "the extra files add up to more than the filesystem (0x%x bytes)",
                        p->fs.size);
        }
    }
    return PV_OK;
}

struct region {
    char what[PATH_MAX_LEN];
    uint64_t start, end;
};

/* A firmware file past the partition table must sit inside one partition
 * that is not the filesystem's (an app at its app partition, an initial
 * otadata image ...). */
static int check_in_partitions(struct pctx *c, const struct region *fw)
{
    const struct pv_partition_table *t = c->p->partitions.table;
    if (t == NULL || fw->start < t->table_offset + 0x1000u) {
        return PV_OK; /* the bootloader, below the table */
    }
    for (size_t i = 0; i < t->count; i++) {
        const struct pv_partition *e = &t->entries[i];
        if (fw->start >= e->offset && fw->end <= (uint64_t)e->offset + e->size) {
            if (e->offset == c->p->fs.offset && c->p->fs.size != 0) {
                break; /* reported as an overlap with .filesystem */
            }
            return PV_OK;
        }
        if (fw->start >= e->offset && fw->start < (uint64_t)e->offset + e->size) {
            return perr(c, fw->what, "0x%llx-0x%llx does not fit partition '%s' (0x%x, 0x%x bytes)",
                        (unsigned long long)fw->start, (unsigned long long)fw->end, e->label,
                        e->offset, e->size);
        }
    }
    return PV_OK;
}

int pv_profile_check_regions(struct pctx *c)
{
    struct pv_profile *p = c->p;
    struct region r[FIRMWARE_MAX + 2];
    size_t n = 0;
    for (size_t i = 0; i < p->firmware_count; i++) {
        jpath_index(r[n].what, ".firmware", i);
        r[n].start = p->firmware[i].offset;
        r[n].end = r[n].start + p->firmware[i].size;
        if (check_in_partitions(c, &r[n]) != PV_OK) {
            return c->err->code;
        }
        n++;
    }
    if (p->fs.size != 0) {
        snprintf(r[n].what, sizeof r[n].what, ".filesystem");
        r[n].start = p->fs.offset;
        r[n].end = r[n].start + p->fs.size;
        n++;
    }
    if (p->partitions.table != NULL) {
        snprintf(r[n].what, sizeof r[n].what, ".partitions (the table itself)");
        r[n].start = p->partitions.table->table_offset;
        r[n].end = r[n].start + PV_PARTITION_SECTOR;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        if (p->flash.size != 0 && r[i].end > p->flash.size) {
            return perr(c, r[i].what, "0x%llx-0x%llx ends past the flash size (0x%x)",
                        (unsigned long long)r[i].start, (unsigned long long)r[i].end,
                        p->flash.size);
        }
        for (size_t j = 0; j < i; j++) {
            if (r[i].start < r[j].end && r[j].start < r[i].end) {
                return perr(c, r[i].what, "0x%llx-0x%llx overlaps %s (0x%llx-0x%llx)",
                            (unsigned long long)r[i].start, (unsigned long long)r[i].end, r[j].what,
                            (unsigned long long)r[j].start, (unsigned long long)r[j].end);
            }
        }
    }
    return PV_OK;
}

/*
 * Recognising the real flasher stubs (the ones tools/fetch-stubs.sh puts in
 * build/stubs) when a host uploads one, so that the simulated stub behaves
 * as that family does, and a jump that would crash a real chip hangs here.
 *
 * An image is recognised by where its segments were loaded and by their
 * bytes; its entry point must be the one recorded with it. An unknown image
 * (the tests' synthetic stubs) must at least jump into a segment loaded in
 * instruction RAM: code in data RAM cannot be fetched, the CPU faults.
 */
#include "sim.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t sim_hash(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

/* Decodes base64 `b64` and returns its hash and length; -1 if invalid. */
static int segment(const char *b64, uint32_t *len, uint64_t *hash)
{
    size_t n = strlen(b64);
    if (n % 4 != 0) {
        return -1;
    }
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (buf == NULL) {
        return -1;
    }
    int out = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
    if (out < 0) {
        free(buf);
        return -1;
    }
    while (n > 0 && b64[n - 1] == '=') { /* EVP_DecodeBlock counts padding as bytes */
        n--;
        out--;
    }
    *len = (uint32_t)out;
    *hash = sim_hash(SIM_HASH_INIT, buf, (size_t)out);
    free(buf);
    return 0;
}

static int load_one(struct sim_stub_image *im, const char *path, char *err, size_t n)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (root == NULL) {
        if (access(path, F_OK) != 0) {
            return 0; /* this family has no stub for the chip: fine */
        }
        snprintf(err, n, "%s: %s", path, je.text);
        return -1;
    }
    json_t *text = json_object_get(root, "text"), *data = json_object_get(root, "data");
    json_t *ts = json_object_get(root, "text_start"), *en = json_object_get(root, "entry");
    json_t *ds = json_object_get(root, "data_start");
    int rc = -1;
    if (!json_is_string(text) || !json_is_integer(ts) || !json_is_integer(en) ||
        segment(json_string_value(text), &im->text_len, &im->text_hash) != 0) {
        snprintf(err, n, "%s: not an esptool stub (entry, text, text_start)", path);
        goto out;
    }
    im->text_start = (uint32_t)json_integer_value(ts);
    im->entry = (uint32_t)json_integer_value(en);
    if (json_is_string(data)) {
        if (!json_is_integer(ds) ||
            segment(json_string_value(data), &im->data_len, &im->data_hash) != 0) {
            snprintf(err, n, "%s: bad data segment", path);
            goto out;
        }
        im->data_start = (uint32_t)json_integer_value(ds);
    }
    im->present = true;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int sim_stub_images_load(struct sim *s, char *err, size_t n)
{
    char dir[PATH_MAX];
    const char *env = getenv("ESPPROV_STUB_DIR");
    if (s->opt.stub_dir != NULL) {
        snprintf(dir, sizeof dir, "%s", s->opt.stub_dir);
    } else if (env != NULL && env[0] != '\0') {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        ssize_t len = readlink("/proc/self/exe", dir, sizeof dir - 8);
        if (len <= 0) {
            return 0;
        }
        dir[len] = '\0';
        char *slash = strrchr(dir, '/');
        snprintf(slash != NULL ? slash : dir, 8, "/stubs");
    }
    static const char *const family[SIM_STUB_IMAGES] = {
        [SIM_STUB_NEW] = "new", [SIM_STUB_LEGACY] = "legacy"};
    for (int f = 0; f < SIM_STUB_IMAGES; f++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s/%s.json", dir, family[f], s->chip->name);
        struct sim_stub_image *im = &s->images[f];
        memset(im, 0, sizeof *im);
        im->family = (enum sim_stub_flavour)f;
        if (load_one(im, path, err, n) != 0) {
            return -1;
        }
        if (im->present) {
            sim_log(s, "knows the %s stub for %s: text 0x%08x+%u, data 0x%08x+%u, entry 0x%08x",
                    family[f], s->chip->name, im->text_start, im->text_len, im->data_start,
                    im->data_len, im->entry);
        }
    }
    return 0;
}

static int loaded_at(const struct sim *s, uint32_t start, uint32_t len, uint64_t hash)
{
    for (int i = 0; i < s->ld.nloaded; i++) {
        const struct sim_range *r = &s->ld.loaded[i];
        if (r->start == start && r->end - r->start == len && s->ld.loaded_hash[i] == hash) {
            return i;
        }
    }
    return -1;
}

int sim_stub_identify(struct sim *s, uint32_t entry, enum sim_stub_flavour *flavour,
                      const struct sim_stub_image **image, char *why, size_t n)
{
    *image = NULL;
    for (int f = 0; f < SIM_STUB_IMAGES; f++) {
        const struct sim_stub_image *im = &s->images[f];
        if (!im->present || loaded_at(s, im->text_start, im->text_len, im->text_hash) < 0) {
            continue;
        }
        if (im->data_len > 0 && loaded_at(s, im->data_start, im->data_len, im->data_hash) < 0) {
            snprintf(why, n, "the %s stub's text was loaded without its data segment",
                     f == SIM_STUB_LEGACY ? "legacy" : "new");
            return -1;
        }
        if (entry != im->entry) {
            snprintf(why, n, "0x%08x is not the %s stub's entry point (0x%08x)", entry,
                     f == SIM_STUB_LEGACY ? "legacy" : "new", im->entry);
            return -1;
        }
        *flavour = im->family;
        *image = im;
        return 0;
    }
    const struct sim_range *iram = &s->chip->ram[0];
    for (int i = 0; i < s->ld.nloaded; i++) {
        const struct sim_range *r = &s->ld.loaded[i];
        if (entry < r->start || entry >= r->end) {
            continue;
        }
        if (r->start < iram->start || r->end > iram->end) {
            snprintf(why, n, "0x%08x is in a segment loaded to data RAM, not in the image's text",
                     entry);
            return -1;
        }
        *flavour = s->opt.stub_flavour;
        return 0;
    }
    snprintf(why, n, "nothing was loaded at 0x%08x", entry);
    return -1;
}

/*
 * Fuzz target: the profile loader (a profile is outside input). Host files
 * are never touched (PV_PROFILE_NO_FILES) and ${NAME} looks up a fixed table,
 * so a run depends on the input bytes only. A profile that loads is also
 * dumped, expanded for a device and turned into a config file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"
#include "provision/profile/profile.h"

static const char *lookup(void *user, const char *name)
{
    (void)user;
    if (strcmp(name, "WIFI_PASS") == 0) {
        return "fuzz-wifi-pass";
    }
    if (strcmp(name, "CA_PASS") == 0) {
        return "fuzz-ca-pass";
    }
    if (strcmp(name, "EMPTY") == 0) {
        return "";
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct pv_env env = {lookup, NULL};
    struct pv_profile *p = NULL;
    struct pv_error err;
    unsigned flags = PV_PROFILE_NO_FILES | (size > 0 && (data[0] & 1) ? PV_PROFILE_DEFER_ENV : 0);
    if (pv_profile_parse((const char *)data, size, "/nonexistent-fuzz-dir", "fuzz.json", flags,
                         &env, &p, &err) != PV_OK) {
        return 0;
    }
    char *dump = NULL;
    if (pv_profile_dump(p, &dump, &err) == PV_OK) {
        free(dump);
    }
    uint8_t mac[6] = {0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03};
    struct pv_device dev;
    if (pv_device_init(&dev, p, NULL, mac, 7, NULL, &err) == PV_OK) {
        char *cfg = NULL;
        size_t len = 0;
        if (pv_devconfig_build(p, &dev, &cfg, &len, &err) == PV_OK) {
            pv_secret_free(cfg, len);
        }
        char out[512];
        for (size_t i = 0; i < p->mqtt.topic_count; i++) {
            pv_template_expand(p->mqtt.topics[i].value, p, &dev, out, sizeof out, &err);
        }
    }
    char pass[128];
    bool found;
    pv_profile_ca_passphrase(p, pass, sizeof pass, &found, &err);
    if (p->partitions.from_device || p->partitions.file != NULL) {
        /* What a board's table then decides (a fixed table stands in). */
        static const char csv[] = "nvs, data, nvs, 0x9000, 0x5000\n"
                                  "app0, app, ota_0, 0x10000, 0x140000\n"
                                  "spiffs, data, spiffs, 0x290000, 0x160000\n";
        struct pv_partition_table t;
        uint32_t off, fs_size;
        if (pv_partitions_parse_csv(csv, sizeof csv - 1, 0, &t, &err) == PV_OK) {
            pv_profile_fs_from_table(p, &t, &off, &fs_size, &err);
        }
    }
    pv_profile_free(p);
    return 0;
}

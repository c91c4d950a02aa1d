/* espprov flash info: what the board is. */
#include <stdio.h>

#include "provision/cli/cli_flash.h"
#include "provision/profile/profile.h"

int flash_cmd_info(struct flash_cli *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        return cli_usage_error(c->usage, "flash info takes no arguments");
    }
    int rc = flash_connect(c);
    if (rc != CLI_OK) {
        return flash_done(c, rc);
    }
    const struct fl_chip_info *i = &c->s.info;
    char mac[18] = "unknown";
    if (i->mac_valid) {
        pv_format_mac(i->mac, mac);
    }
    const char *loader = i->stub_running ? "stub" : "rom";
    if (c->json) {
        printf("{\"chip\": ");
        cli_json_string(stdout, i->name);
        printf(", \"loader\": \"%s\", \"mac\": \"%s\", \"crystal_mhz\": %u, \"flash_size\": %u, "
               "\"flash_size_guessed\": %s, \"jedec_id\": \"0x%06x\", \"baud\": %u, "
               "\"secure_download\": %s}\n",
               loader, mac, (unsigned)i->crystal_mhz, (unsigned)i->flash_size,
               i->flash_size_guessed ? "true" : "false", (unsigned)i->jedec_id, (unsigned)i->baud,
               i->secure_download ? "true" : "false");
    } else {
        printf("chip:     %s (%s)\n", i->name, i->stub_running ? "flasher stub" : "ROM loader");
        printf("mac:      %s\n", mac);
        if (i->crystal_mhz) {
            printf("crystal:  %u MHz\n", (unsigned)i->crystal_mhz);
        }
        printf("flash:    %u KiB%s, JEDEC id 0x%06x (manufacturer 0x%02x, device 0x%04x)\n",
               (unsigned)(i->flash_size / 1024), i->flash_size_guessed ? " (assumed)" : "",
               (unsigned)i->jedec_id, (unsigned)(i->jedec_id & 0xFF),
               (unsigned)(((i->jedec_id >> 8) & 0xFF) << 8 | (i->jedec_id >> 16)));
        printf("baud:     %u\n", (unsigned)i->baud);
        if (i->has_security_info) {
            printf("security: flags 0x%08x%s\n", (unsigned)i->security_flags,
                   i->secure_download ? " (Secure Download Mode)" : "");
        }
    }
    return flash_done(c, CLI_OK);
}

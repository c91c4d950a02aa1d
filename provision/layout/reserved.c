/* The flash a chip's boot path and SDK own (layout.h, "Reserved areas"). */
#include <stdio.h>
#include <string.h>

#include "provision/layout/layout.h"

#define SECTOR 0x1000u

size_t pv_flash_reserved(const char *chip, uint32_t flash_size, uint32_t table_offset,
                         struct pv_flash_area out[PV_FLASH_AREAS_MAX])
{
    size_t n = 0;
    if (strcmp(chip, "esp8266") == 0) {
        out[n++] = (struct pv_flash_area){0, SECTOR, "the boot sector (eboot, boot_v1.x)"};
        if (flash_size >= 0x10000u) {
            uint32_t end = flash_size;
            out[n++] = (struct pv_flash_area){end - 0x5000u, SECTOR,
                                              "the EEPROM sector (Arduino; the NONOS SDK's RF "
                                              "calibration sector)"};
            out[n++] = (struct pv_flash_area){end - 0x4000u, SECTOR,
                                              "the RF calibration sector (Arduino; esp_init_data "
                                              "in the NONOS SDK)"};
            out[n++] = (struct pv_flash_area){end - 0x3000u, 3 * SECTOR,
                                              "the SDK's WiFi and system parameter sectors"};
        }
        return n;
    }
    uint32_t table = table_offset ? table_offset : PV_PARTITION_TABLE_OFFSET;
    bool at_4k = strcmp(chip, "esp32") == 0 || strcmp(chip, "esp32s2") == 0;
    uint32_t boot = at_4k ? 0x1000u : 0;
    if (table > boot) {
        out[n++] = (struct pv_flash_area){boot, table - boot, "the second-stage bootloader"};
    }
    out[n++] = (struct pv_flash_area){table, PV_PARTITION_SECTOR, "the partition table"};
    return n;
}

int pv_flash_check_reserved(const char *chip, uint32_t flash_size, uint32_t table_offset,
                            const char *what, uint32_t offset, uint32_t size, struct pv_error *err)
{
    struct pv_flash_area a[PV_FLASH_AREAS_MAX];
    size_t n = pv_flash_reserved(chip, flash_size, table_offset, a);
    uint64_t end = (uint64_t)offset + size;
    for (size_t i = 0; i < n; i++) {
        uint64_t a_end = (uint64_t)a[i].offset + a[i].size;
        if (offset < a_end && a[i].offset < end) {
            char hint[160];
            if (strcmp(chip, "esp8266") == 0) {
                snprintf(hint, sizeof hint,
                         "end it by 0x%x, 20 KB before the end of the flash, as the Arduino "
                         "layouts (e.g. \"4M2M\") do",
                         flash_size > 0x5000u ? flash_size - 0x5000u : 0);
            } else {
                snprintf(hint, sizeof hint, "place it after the partition table (from 0x%x)",
                         (table_offset ? table_offset : PV_PARTITION_TABLE_OFFSET) +
                             PV_PARTITION_SECTOR);
            }
            return pv_error_set(
                err, PV_ERR_INVALID, hint, "%s (0x%x-0x%llx) overlaps %s (0x%x-0x%llx)%s", what,
                offset, (unsigned long long)end, a[i].what, a[i].offset, (unsigned long long)a_end,
                flash_size ? "" : " (flash size not known)");
        }
    }
    return PV_OK;
}

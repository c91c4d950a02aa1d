/*
 * layout — where things sit in a board's flash: the ESP8266 Arduino core's
 * flash layouts (which region the filesystem gets) and ESP-IDF partition
 * tables (CSV and binary: parse, validate, build, find the filesystem).
 *
 * Owns: struct pv_esp8266_layout, struct pv_partition_table and their
 * functions. May call: core. Knows nothing of profiles, certificates or
 * boards; it never reads a board (jobs/ hands it the bytes it read).
 * Errors: the core contract; table errors name the CSV line.
 */
#ifndef ESPPROV_PROVISION_LAYOUT_H
#define ESPPROV_PROVISION_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/core/core.h"

/* ===== Flash layouts =================================================== */
/*
 * Where the filesystem sits in flash.
 *
 * ESP8266 (Arduino core): the "Flash Size" menu fixes the FS region. Each
 * menu entry is a row of one table, named like the core's linker scripts
 * (eagle.flash.4m2m.ld): the flash size with its unit, then the menu's FS
 * size, in KB without a unit below 1 MB and in MB with "M" from 1 MB:
 *     512K32 512K64 512K128, 1M64 1M128 1M144 1M160 1M192 1M256 1M512,
 *     2M64 2M128 2M256 2M512 2M1M, 4M1M 4M2M 4M3M, 8M6M 8M7M, 16M14M 16M15M
 * ("4M2M" = 4 MB flash with the 2 MB FS entry). Lookups ignore case and also
 * take "eagle.flash.4m2m.ld", "4M(2M)", "4MB-FS2MB", "4M (FS:2MB OTA:~1019KB)".
 * Above 1 MB the real FS is 20 or 24 KB smaller than the menu says (it ends
 * below the SDK's settings sectors, in whole blocks): fs_size is the truth.
 *
 * ESP32 family: an ESP-IDF partition table (CSV as gen_esp32part.py reads it,
 * or the 0xC00-byte binary at flash offset 0x8000). The filesystem is the
 * first data/spiffs partition or the one with a given label; build its image
 * for the partition size rounded down to 4 KB.
 */

struct pv_esp8266_layout {
    const char *name;    /* canonical name, e.g. "4M2M" */
    uint32_t flash_size; /* bytes */
    uint32_t fs_label;   /* the FS size the menu names, bytes */
    uint32_t fs_offset;  /* absolute flash offset of the FS, bytes */
    uint32_t fs_size;    /* FS length in bytes, a whole number of blocks */
    uint32_t block_size; /* FS block, bytes (4096 below 512 KB, else 8192) */
    uint32_t page_size;  /* SPIFFS page, bytes */
};

/* Finds a layout by name or alias (see above). *out points into a static
 * table. PV_ERR_NOT_FOUND (with the known names in the hint) if unknown. */
int pv_layout_find(const char *name, const struct pv_esp8266_layout **out, struct pv_error *err);
/* The i-th layout, ordered by flash size then FS size; NULL past the end. */
const struct pv_esp8266_layout *pv_layout_get(size_t i);

/* ===== Reserved areas ================================================ */
/*
 * What the chip's boot path or SDK owns, so that no filesystem lands on it.
 *
 * ESP8266, the last five 4 KB sectors of the flash (the Arduino core's
 * tools/boards.txt.py flash_map(): "... | spiffs | eeprom | rf-cal |
 * sdk-wifi-settings"; the NONOS SDK keeps its system parameter area in the
 * last sectors and the RF calibration sector at user_rf_cal_sector_set(),
 * five sectors from the end in Espressif's examples):
 *     end - 0x5000  4 KB  EEPROM (Arduino), RF calibration (NONOS examples)
 *     end - 0x4000  4 KB  RF calibration (Arduino), esp_init_data (NONOS)
 *     end - 0x3000 12 KB  the SDK's WiFi and system parameters
 * and sector 0 (the boot loader: eboot, boot_v1.x).
 * ESP32 family: the second-stage bootloader, from its offset (0x1000 on the
 * ESP32 and ESP32-S2, 0 on the others) up to the partition table, and the
 * table's own sector.
 */
struct pv_flash_area {
    uint32_t offset;
    uint32_t size;
    const char *what; /* "the SDK's WiFi and system parameters", ... */
};
#define PV_FLASH_AREAS_MAX 5

/* The reserved areas of a `chip` ("esp8266", "esp32", "esp32s3", ... as in
 * a profile) board with `flash_size` bytes (0: unknown; the ESP8266's
 * end-of-flash areas are then left out) and its partition table at
 * `table_offset` (0: 0x8000). Returns how many were written to `out`. */
size_t pv_flash_reserved(const char *chip, uint32_t flash_size, uint32_t table_offset,
                         struct pv_flash_area out[PV_FLASH_AREAS_MAX]);
/* PV_ERR_INVALID when `what` (offset, size) overlaps a reserved area; the
 * message names the area and its addresses. */
int pv_flash_check_reserved(const char *chip, uint32_t flash_size, uint32_t table_offset,
                            const char *what, uint32_t offset, uint32_t size, struct pv_error *err);

#define PV_PARTITION_TABLE_OFFSET 0x8000u /* default CONFIG_PARTITION_TABLE_OFFSET */
#define PV_PARTITION_TABLE_SIZE   0xC00u  /* bytes of the binary table */
#define PV_PARTITION_SECTOR       0x1000u /* flash the table owns */
#define PV_PARTITION_MAX          95      /* entries that fit (94 with the MD5 record) */
#define PV_PARTITION_LABEL_MAX    16

enum pv_partition_type {
    PV_PART_APP = 0x00,
    PV_PART_DATA = 0x01,
    PV_PART_BOOTLOADER = 0x02,
    PV_PART_PARTITION_TABLE = 0x03,
};
#define PV_PART_SUBTYPE_OTA      0x00 /* data/ota (otadata) */
#define PV_PART_SUBTYPE_SPIFFS   0x82 /* data/spiffs */
#define PV_PART_SUBTYPE_LITTLEFS 0x83 /* data/littlefs */

enum pv_partition_flags {
    PV_PART_ENCRYPTED = 1 << 0,
    PV_PART_READONLY = 1 << 1,
};

struct pv_partition {
    char label[PV_PARTITION_LABEL_MAX + 1]; /* NUL-terminated */
    uint8_t type;                           /* enum pv_partition_type or 0x40..0xFE */
    uint8_t subtype;
    uint32_t offset; /* absolute flash offset, bytes */
    uint32_t size;   /* bytes */
    uint32_t flags;  /* enum pv_partition_flags; unknown bits from a binary kept */
    int line;        /* CSV line (from 1), 0 when read from a binary */
};

struct pv_partition_table {
    uint32_t table_offset; /* where the table sits in flash */
    bool has_md5;          /* a binary carried the MD5 record */
    size_t count;
    struct pv_partition entries[PV_PARTITION_MAX];
};

/*
 * Parses a partition table CSV (`len` bytes of `text`, no NUL needed) the
 * way gen_esp32part.py does: '#' comment lines; Name, Type, SubType, Offset,
 * Size, Flags; type and subtype by keyword or number; offset and size decimal
 * or 0x hex with an optional K/M suffix; a negative size "-X" means "up to
 * address X"; an empty offset places the partition after the previous one
 * (64 KB aligned for app, 4 KB otherwise; the first free address is
 * `table_offset` + 0x1000); flags "encrypted" and "readonly", ':' separated.
 * `table_offset` 0 means 0x8000. The result is validated (flash size not
 * checked). Errors name the line: "line 4: ...".
 */
int pv_partitions_parse_csv(const char *text, size_t len, uint32_t table_offset,
                            struct pv_partition_table *out, struct pv_error *err);
/*
 * Parses a binary table as read from flash at `table_offset` (0 = 0x8000):
 * 32-byte entries with magic AA 50, an optional MD5 record (EB EB) that must
 * match, ending at an all-0xFF slot. `len` may be the 0xC00 table or the
 * whole sector. Validated like a CSV. PV_ERR_NOT_FOUND if the first slot is
 * erased (no table there).
 */
int pv_partitions_parse_binary(const uint8_t *data, size_t len, uint32_t table_offset,
                               struct pv_partition_table *out, struct pv_error *err);
/* Reads a CSV or binary table from a file (binary if it starts AA 50). */
int pv_partitions_load(const char *path, uint32_t table_offset, struct pv_partition_table *out,
                       struct pv_error *err);
/*
 * Checks a table: labels (1-16 bytes, unique), offsets aligned (app 64 KB,
 * others 4 KB), app sizes 4 KB multiples, no size 0, no overlap, nothing
 * inside or below the table's sector (bootloader and partition_table entries
 * excepted), everything below `flash_size` (bytes; 0 = not checked), at most
 * one otadata of 0x2000 bytes, readonly not on otadata/coredump, whole table
 * fits 0xC00 bytes.
 */
int pv_partitions_validate(const struct pv_partition_table *t, uint32_t flash_size,
                           struct pv_error *err);
/* Builds the 0xC00-byte binary: entries, the MD5 record when `md5`, 0xFF
 * fill. Validates first. */
int pv_partitions_to_binary(const struct pv_partition_table *t, bool md5,
                            uint8_t out[PV_PARTITION_TABLE_SIZE], struct pv_error *err);
/* The filesystem partition: the one labelled `label`, or with label NULL the
 * first data/spiffs. *out points into `t`. PV_ERR_NOT_FOUND otherwise, with
 * the data partitions in the hint. */
int pv_partitions_find_fs(const struct pv_partition_table *t, const char *label,
                          const struct pv_partition **out, struct pv_error *err);
/* Keyword for a type ("app", "data", ...) or subtype ("spiffs", "ota_0",
 * ...); NULL when the number has none. */
const char *pv_partition_type_name(uint8_t type);
const char *pv_partition_subtype_name(uint8_t type, uint8_t subtype);

#endif

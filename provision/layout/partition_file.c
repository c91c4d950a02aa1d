/* Loading a partition table from a file, CSV or binary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"

int pv_partitions_load(const char *path, uint32_t table_offset, struct pv_partition_table *out,
                       struct pv_error *err)
{
    /* A CSV of 95 partitions with comments is a few KB; anything far bigger
     * is not a partition table. */
    enum { LIMIT = 256 * 1024 };
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return pv_error_set(err, errno == ENOENT ? PV_ERR_NOT_FOUND : PV_ERR_IO, NULL,
                            "cannot open partition table '%s': %s", path, strerror(errno));
    }
    char *buf = malloc(LIMIT + 1);
    if (buf == NULL) {
        fclose(f);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    size_t n = fread(buf, 1, LIMIT + 1, f);
    int rc = PV_OK;
    if (ferror(f)) {
        rc = pv_error_set(err, PV_ERR_IO, NULL, "cannot read partition table '%s': %s", path,
                          strerror(errno));
    } else if (n > LIMIT) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "'%s' is over %d KB: not a partition table",
                          path, LIMIT / 1024);
    } else {
        if (n >= 2 && (uint8_t)buf[0] == 0xAA && (uint8_t)buf[1] == 0x50) {
            rc = pv_partitions_parse_binary((const uint8_t *)buf, n, table_offset, out, err);
        } else {
            rc = pv_partitions_parse_csv(buf, n, table_offset, out, err);
        }
        if (rc != PV_OK) {
            pv_error_prefix(err, "%s", path);
        }
    }
    free(buf);
    fclose(f);
    return rc;
}

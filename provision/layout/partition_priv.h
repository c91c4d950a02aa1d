/* Shared by provision/layout/partition*.c only. */
#ifndef ESPPROV_PARTITION_PRIV_H
#define ESPPROV_PARTITION_PRIV_H

#include "provision/layout/layout.h"

#define PART_MAGIC            0x50AAu /* bytes AA 50 */
#define PART_MAGIC_MD5        0xEBEBu /* bytes EB EB */
#define PART_ENTRY_SIZE       32u
#define PART_APP_ALIGN        0x10000u
#define PART_DATA_ALIGN       0x1000u
#define PART_OTADATA_SIZE     0x2000u
#define PART_NVS_MIN_RW       0x3000u
#define PART_SUBTYPE_PRIMARY  0x00u
#define PART_SUBTYPE_COREDUMP 0x03u
#define PART_SUBTYPE_NVS      0x02u

/* Looks up a type keyword (case-insensitive). */
bool part_type_from_name(const char *name, uint8_t *out);
/* Looks up a subtype keyword of `type` (case-insensitive). */
bool part_subtype_from_name(uint8_t type, const char *name, uint8_t *out);
/* Primary bootloader and primary partition_table entries describe regions
 * below the table; they are exempt from placement and the region check. */
bool part_is_fixed_region(const struct pv_partition *p);
/* "line 4: partition 'nvs'" or "partition 'nvs' (entry 1)". */
void part_where(const struct pv_partition *p, size_t index, char *buf, size_t cap);
/* Offset alignment the type needs. */
uint32_t part_alignment(uint8_t type);

#endif

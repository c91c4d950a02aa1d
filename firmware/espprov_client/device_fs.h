// The board's filesystem as espprov wrote it, read-only: SPIFFS, or LittleFS
// when built with -DESPPROV_FS_LITTLEFS (the profile's "type": "littlefs").
#ifndef ESPPROV_DEVICE_FS_H
#define ESPPROV_DEVICE_FS_H

#include <stddef.h>
#include <stdint.h>

enum devfs_result {
    DEVFS_OK,
    DEVFS_MISSING,    // no such file
    DEVFS_EMPTY,      // zero bytes
    DEVFS_TOO_BIG,    // larger than the caller allows
    DEVFS_READ_ERROR, // short read
    DEVFS_NO_MEMORY,  // heap exhausted
};

// Mounts the filesystem without ever formatting it. A mount failure means the flash
// layout the sketch was built with does not match where the image was
// written; formatting would wipe the provisioned files for good.
bool devfs_mount();

// Reads the whole file into buf (cap bytes, NUL-terminated, so at most
// cap - 1 bytes of content); *len gets the content size.
devfs_result devfs_read(const char *path, char *buf, size_t cap, size_t *len);

// Reads the whole file (at most max bytes) into a new heap block with a NUL
// after the content (PEM parsers want C strings). The caller owns *data and
// releases it with free().
devfs_result devfs_load(const char *path, size_t max, uint8_t **data, size_t *len);

// "not found", "empty", ...
const char *devfs_result_text(devfs_result r);

// Prints every file with its size (a wrong name in the config is then obvious).
void devfs_list();

#endif

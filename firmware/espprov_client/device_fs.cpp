#include "device_fs.h"

#include <Arduino.h>
#include <FS.h>
#include <stdlib.h>

// -DESPPROV_FS_LITTLEFS: the profile says "filesystem": {"type": "littlefs"}.
#if defined(ESPPROV_FS_LITTLEFS)
#include <LittleFS.h>
#define DEVFS LittleFS
#define DEVFS_CONFIG LittleFSConfig
// Arduino-ESP32's LittleFS.begin() looks for the partition labelled "spiffs"
// unless told otherwise; an ESP-IDF style table names it "littlefs".
#ifndef ESPPROV_FS_LABEL
#define ESPPROV_FS_LABEL "spiffs"
#endif
#else
#if defined(ESP32)
#include <SPIFFS.h>
#endif
#define DEVFS SPIFFS
#define DEVFS_CONFIG SPIFFSConfig
#endif

#include "console.h"

// The ESP8266 core marks its SPIFFS object deprecated in favour of LittleFS;
// a profile that provisions SPIFFS needs it all the same.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

bool devfs_mount()
{
#if defined(ESP8266)
    // The ESP8266 core formats on a failed mount unless told not to.
    DEVFS_CONFIG config;
    config.setAutoFormat(false);
    DEVFS.setConfig(config);
    return DEVFS.begin();
#elif defined(ESPPROV_FS_LITTLEFS)
    return DEVFS.begin(false, "/littlefs", 10, ESPPROV_FS_LABEL);
#else
    return DEVFS.begin(false);
#endif
}

static devfs_result read_all(File &f, uint8_t *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        size_t n = f.read(buf + got, size - got);
        if (n == 0) {
            return DEVFS_READ_ERROR;
        }
        got += n;
    }
    return DEVFS_OK;
}

// Opens path for reading; checks existence first because Arduino-ESP32 logs an
// error of its own for a missing file.
static bool open_file(const char *path, File &f)
{
    if (!DEVFS.exists(path)) {
        return false;
    }
    f = DEVFS.open(path, "r");
    return static_cast<bool>(f);
}

devfs_result devfs_read(const char *path, char *buf, size_t cap, size_t *len)
{
    File f;
    if (!open_file(path, f)) {
        return DEVFS_MISSING;
    }
    size_t size = f.size();
    *len = size;
    devfs_result r = size == 0     ? DEVFS_EMPTY
                     : size >= cap ? DEVFS_TOO_BIG
                                   : read_all(f, reinterpret_cast<uint8_t *>(buf), size);
    f.close();
    buf[r == DEVFS_OK ? size : 0] = '\0';
    return r;
}

devfs_result devfs_load(const char *path, size_t max, uint8_t **data, size_t *len)
{
    File f;
    *data = nullptr;
    *len = 0;
    if (!open_file(path, f)) {
        return DEVFS_MISSING;
    }
    size_t size = f.size();
    *len = size;
    devfs_result r = DEVFS_OK;
    uint8_t *buf = nullptr;
    if (size == 0) {
        r = DEVFS_EMPTY;
    } else if (size > max) {
        r = DEVFS_TOO_BIG;
    } else if ((buf = static_cast<uint8_t *>(malloc(size + 1))) == nullptr) {
        r = DEVFS_NO_MEMORY;
    } else {
        r = read_all(f, buf, size);
    }
    f.close();
    if (r != DEVFS_OK) {
        free(buf);
        return r;
    }
    buf[size] = '\0';
    *data = buf;
    return DEVFS_OK;
}

const char *devfs_result_text(devfs_result r)
{
    switch (r) {
    case DEVFS_OK:
        return "ok";
    case DEVFS_MISSING:
        return "not found on the filesystem";
    case DEVFS_EMPTY:
        return "is empty";
    case DEVFS_TOO_BIG:
        return "is too big";
    case DEVFS_READ_ERROR:
        return "could not be read completely";
    default:
        return "does not fit in free memory";
    }
}

void devfs_list()
{
#if defined(ESP8266)
    Dir dir = DEVFS.openDir("/");
    while (dir.next()) {
        console_info("  %-31s %6u bytes", dir.fileName().c_str(),
                     static_cast<unsigned>(dir.fileSize()));
    }
#else
    File root = DEVFS.open("/");
    File f = root.openNextFile();
    while (f) {
        console_info("  %-31s %6u bytes", f.name(), static_cast<unsigned>(f.size()));
        f = root.openNextFile();
    }
#endif
}

/*
 * Shared by the PKI unit tests: a throwaway folder with a profile whose CA
 * lives there, and a few X.509 inspection helpers built on OpenSSL itself.
 */
#ifndef ESPPROV_PKI_FIXTURE_H
#define ESPPROV_PKI_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "provision/core/core.h"
#include "provision/pki/pki.h"
#include "provision/profile/profile.h"

#define FIX_PASS "fixture-passphrase-1"

struct fixture {
    char dir[64];
    struct pv_profile *p;
};

/* A profile in a fresh folder; `device` is the JSON of the device section. */
static inline int fixture_open(struct fixture *f, const char *device, const char *ca_extra,
                               struct pv_error *err)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/espprov-pki-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return PV_ERR_IO;
    }
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\":\"fixture\",\"chip\":\"esp8266\","
             "\"filesystem\":{\"offset\":\"0x200000\",\"size\":\"0x1FA000\"},"
             "\"ca\":{\"cert\":\"ca/ca.crt.pem\",\"key\":\"ca/ca.key.pem\"%s},"
             "\"device\":%s,"
             "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"wifi-secret-9\"},"
             "\"mqtt\":{\"host\":\"127.0.0.1\",\"topics\":{\"status\":\"dev/{id}/status\"}}}",
             ca_extra ? ca_extra : "", device ? device : "{}");
    return pv_profile_parse(json, strlen(json), f->dir, "fixture.json", 0, NULL, &f->p, err);
}

/* fixture_open() with a new CA, opened (pv_ca_free it before fixture_close). */
static inline int fixture_with_ca(struct fixture *f, struct pv_ca **ca, struct pv_error *err)
{
    *ca = NULL;
    int rc = fixture_open(f, NULL, NULL, err);
    if (rc == PV_OK) {
        rc = pv_ca_create(f->p, FIX_PASS, err);
    }
    return rc == PV_OK ? pv_ca_open(f->p, FIX_PASS, ca, err) : rc;
}

static inline void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            char child[512];
            snprintf(child, sizeof child, "%s/%s", path, de->d_name);
            rm_tree(child);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static inline void fixture_close(struct fixture *f)
{
    pv_profile_free(f->p);
    f->p = NULL;
    rm_tree(f->dir);
}

static inline X509 *der_cert(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    return d2i_X509(NULL, &p, (long)len);
}

/* 0 when `leaf` chains to `ca` for `purpose` (X509_PURPOSE_SSL_CLIENT ...),
 * else the X509_V_ERR_* code. With crl non-NULL, revocation is checked. */
static inline int verify_chain(X509 *ca, X509 *leaf, int purpose, X509_CRL *crl)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, ca);
    if (crl != NULL) {
        X509_STORE_add_crl(store, crl);
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, purpose);
    int ok = X509_verify_cert(ctx);
    int code = ok == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return code;
}

/* Bytes of `needle` anywhere in the file? */
static inline bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct pv_error err;
    if (pv_file_read(path, 64u << 20, &data, &len, &err) != PV_OK) {
        return false;
    }
    bool found = false;
    for (size_t i = 0; !found && n > 0 && i + n <= len; i++) {
        found = memcmp(data + i, needle, n) == 0;
    }
    free(data);
    return found;
}

#endif

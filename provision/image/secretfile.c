/*
 * Which files of a device filesystem are secrets, for whoever writes them to
 * a host folder (`spiffs extract`): decided by what a file holds, and by the
 * names espprov gives its key and config files by default.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "provision/image/image.h"

/* Keys whose non-empty string value is a credential, in the device config
 * (wifi.password, mqtt.password, mqtt.token) or any similar JSON. */
static bool credential_key(const char *k)
{
    static const char *const names[] = {"password", "passphrase", "pass",        "psk",
                                        "token",    "secret",     "key_password"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(k, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool json_has_credential(const json_t *v, int depth)
{
    if (depth > 16) {
        return false;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)(uintptr_t)v, k, child)
        {
            if ((credential_key(k) && json_is_string(child) && json_string_length(child) > 0) ||
                json_has_credential(child, depth + 1)) {
                return true;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (json_has_credential(json_array_get(v, i), depth + 1)) {
                return true;
            }
        }
    }
    return false;
}

static bool holds_credential_json(const uint8_t *data, size_t len)
{
    if (len == 0 || len > 1 << 20 || (data[0] != '{' && data[0] != '[')) {
        return false;
    }
    json_error_t e;
    json_t *root = json_loadb((const char *)data, len, JSON_DISABLE_EOF_CHECK, &e);
    bool found = root != NULL && json_has_credential(root, 0);
    json_decref(root);
    return found;
}

static bool has(const uint8_t *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; len >= n && i <= len - n; i++) {
        if (data[i] == (uint8_t)needle[0] && memcmp(data + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* A private key in DER: PKCS#8 (plain or encrypted), SEC1 or PKCS#1. */
static bool is_der_private_key(const uint8_t *data, size_t len)
{
    if (len < 16 || len > 64 * 1024 || data[0] != 0x30) {
        return false;
    }
    const unsigned char *p = data;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)len);
    bool found = key != NULL;
    EVP_PKEY_free(key);
    if (!found) {
        p = data;
        X509_SIG *enc = d2i_X509_SIG(NULL, &p, (long)len);
        found = enc != NULL && p == data + len;
        X509_SIG_free(enc);
    }
    ERR_clear_error();
    return found;
}

bool pv_image_file_is_secret(const char *name, const uint8_t *data, size_t len)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strncmp(base, "client.key", 10) == 0 || strcmp(base, "config.json") == 0) {
        return true; /* espprov's own default names (profile paths.key, paths.config) */
    }
    if (has(data, len, "PRIVATE KEY-----")) {
        return true; /* PEM: PRIVATE, ENCRYPTED, RSA, EC or OPENSSH PRIVATE KEY */
    }
    return is_der_private_key(data, len) || holds_credential_json(data, len);
}

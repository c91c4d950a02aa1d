#include "tls_client.h"

#include <Arduino.h>
#include <stdlib.h>
#include <string.h>
#if defined(ESP8266)
#include <ESP8266WiFi.h>
#include <WiFiClientSecureBearSSL.h>
#else
#include <WiFiClientSecure.h>
#endif

#include "console.h"
#include "device_fs.h"

// Far above any certificate or key espprov writes (an RSA-2048 PEM key is
// about 1.7 KB); only bounds what a corrupt filesystem could make us allocate.
#define TLS_FILE_MAX 8192

#if defined(ESP8266)
static BearSSL::WiFiClientSecure client;
// BearSSL keeps pointers to these for every handshake: static storage.
static BearSSL::X509List trust_anchors;
static BearSSL::X509List client_chain;
static BearSSL::PrivateKey client_key;
#else
static WiFiClientSecure client;
// WiFiClientSecure stores these pointers, not copies: never freed.
static uint8_t *ca_pem, *cert_pem, *key_pem;
#endif

// Key material should not linger in freed heap blocks.
static void wipe_and_free(uint8_t *data, size_t len)
{
    volatile uint8_t *p = data;
    for (size_t k = 0; k < len; k++) {
        p[k] = 0;
    }
    free(data);
}

// Reads one file and checks it holds what tls.format promises.
static bool load(const char *what, const char *field, const char *path, bool want_pem, bool is_key,
                 uint8_t **data, size_t *len)
{
    devfs_result r = devfs_load(path, TLS_FILE_MAX, data, len);
    if (r != DEVFS_OK) {
        console_error("%s %s (%s) %s", what, path, field, devfs_result_text(r));
        if (r == DEVFS_MISSING) {
            console_hint("the config names it but the image lacks it; files present:");
            devfs_list();
        }
        return false;
    }
    fwc_blob kind = fwc_blob_kind(*data, *len);
    fwc_blob want = !want_pem ? FWC_BLOB_DER : is_key ? FWC_BLOB_PEM_KEY : FWC_BLOB_PEM_CERT;
    if (kind == want) {
        return true;
    }
    console_error("%s %s holds %s, but tls.format says %s", what, path, fwc_blob_name(kind),
                  want_pem ? "pem" : "der");
    if (kind == FWC_BLOB_PEM_ENCRYPTED) {
        console_hint("device TLS stacks need an unencrypted PKCS#8 key; re-provision the board");
    } else {
#if defined(ESP8266)
        console_hint("set the profile's tls format to match the files (ESP8266: der or pem)");
#else
        console_hint("Arduino-ESP32 needs pem: set the profile's tls format to pem");
#endif
    }
    wipe_and_free(*data, *len);
    *data = nullptr;
    return false;
}

#if defined(ESP8266)

bool tls_begin(const struct fwc_config &cfg)
{
    bool pem = cfg.tls.format == FWC_TLS_PEM;
    uint8_t *data;
    size_t len;
    bool ok;

    if (!load("CA certificate", "tls.ca", cfg.tls.ca, pem, false, &data, &len)) {
        return false;
    }
    ok = pem ? trust_anchors.append(reinterpret_cast<const char *>(data))
             : trust_anchors.append(data, len);
    free(data);
    if (!ok || trust_anchors.getCount() == 0) {
        console_error("CA certificate %s does not parse as X.509", cfg.tls.ca);
        return false;
    }

    if (!load("device certificate", "tls.cert", cfg.tls.cert, pem, false, &data, &len)) {
        return false;
    }
    ok = pem ? client_chain.append(reinterpret_cast<const char *>(data))
             : client_chain.append(data, len);
    free(data);
    if (!ok || client_chain.getCount() == 0) {
        console_error("device certificate %s does not parse as X.509", cfg.tls.cert);
        return false;
    }

    if (!load("device key", "tls.key", cfg.tls.key, pem, true, &data, &len)) {
        return false;
    }
    ok = pem ? client_key.parse(reinterpret_cast<const char *>(data)) : client_key.parse(data, len);
    wipe_and_free(data, len);
    if (!ok || !(client_key.isEC() || client_key.isRSA())) {
        console_error("device key %s is not a usable EC or RSA private key", cfg.tls.key);
        console_hint("BearSSL reads unencrypted PKCS#8, SEC1 or PKCS#1 keys");
        return false;
    }

    client.setTrustAnchors(&trust_anchors);
    if (client_key.isEC()) {
        // The issuer's key type only matters for static-ECDH suites, but BearSSL
        // wants it: the CA in tls.ca signed the device certificate.
        unsigned issuer = trust_anchors.getTrustAnchors()[0].pkey.key_type;
        client.setClientECCert(&client_chain, &client_key, BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN,
                               issuer);
        console_info("TLS: EC device key, CA key %s", issuer == BR_KEYTYPE_EC ? "EC" : "RSA");
    } else {
        client.setClientRSACert(&client_chain, &client_key);
        console_info("TLS: RSA device key");
    }
    return true;
}

void tls_set_time(time_t now)
{
    client.setX509Time(now);
}

void tls_tune_buffers(const char *host, uint16_t port)
{
    static bool probed;
    if (probed) {
        return;
    }
    probed = true;
    if (BearSSL::WiFiClientSecure::probeMaxFragmentLength(host, port, 1024)) {
        client.setBufferSizes(1024, 1024);
        console_info("TLS: broker accepts 1 KB fragments; using 2 KB of buffers");
    } else {
        console_info("TLS: broker does not negotiate fragment length; using 16 KB buffers");
    }
}

bool tls_report_error()
{
    char text[96];
    int code = client.getLastSSLError(text, sizeof text);
    if (code == 0) {
        return false;
    }
    console_error("TLS: %s (BearSSL error %d)", text, code);
    if (code == BR_ERR_X509_EXPIRED) {
        console_hint("broker certificate not valid at the board's time: clock wrong, or "
                     "certificate expired or not yet valid");
    } else if (code == BR_ERR_X509_NOT_TRUSTED) {
        console_hint("broker certificate is not signed by the CA in tls.ca");
    } else if (code == BR_ERR_X509_BAD_SERVER_NAME) {
        console_hint("no DNS name in the broker certificate equals mqtt.host (BearSSL compares "
                     "an IP address with DNS names too: add it with `espprov cert server --dns`)");
    } else if (code >= BR_ERR_RECV_FATAL_ALERT && code < BR_ERR_SEND_FATAL_ALERT) {
        console_hint("the broker refused the handshake (TLS alert %d): it did not accept this "
                     "device's certificate (other CA, revoked, or expired?)",
                     code - BR_ERR_RECV_FATAL_ALERT);
    }
    return true;
}

#else // ESP32

bool tls_begin(const struct fwc_config &cfg)
{
    size_t len;
    if (cfg.tls.format != FWC_TLS_PEM) {
        console_error("tls.format is der, but Arduino-ESP32's TLS client reads PEM only");
        console_hint("set the profile's tls format to pem and re-provision this board");
        return false;
    }
    if (!load("CA certificate", "tls.ca", cfg.tls.ca, true, false, &ca_pem, &len) ||
        !load("device certificate", "tls.cert", cfg.tls.cert, true, false, &cert_pem, &len) ||
        !load("device key", "tls.key", cfg.tls.key, true, true, &key_pem, &len)) {
        return false;
    }
    client.setCACert(reinterpret_cast<const char *>(ca_pem));
    client.setCertificate(reinterpret_cast<const char *>(cert_pem));
    client.setPrivateKey(reinterpret_cast<const char *>(key_pem));
    console_info("TLS: PEM files loaded (mbedTLS parses them at connect)");
    return true;
}

void tls_set_time(time_t now)
{
    // mbedTLS reads the system clock itself (when the core enables date checks).
    (void)now;
}

void tls_tune_buffers(const char *host, uint16_t port)
{
    (void)host;
    (void)port;
}

bool tls_report_error()
{
    char text[128];
    int code = client.lastError(text, sizeof text);
    if (code == 0) {
        return false;
    }
    console_error("TLS: %s (mbedTLS -0x%04x)", text, static_cast<unsigned>(-code));
#ifdef MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
    if (code == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        console_hint("broker certificate did not verify: not signed by the CA in tls.ca, or "
                     "mqtt.host is not among its names");
    }
#endif
#ifdef MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE
    if (code == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        console_hint("the broker refused the handshake: it did not accept this device's "
                     "certificate (other CA, revoked, or expired?)");
    }
#endif
#ifdef MBEDTLS_ERR_PK_KEY_INVALID_FORMAT
    if (code == MBEDTLS_ERR_PK_KEY_INVALID_FORMAT) {
        console_hint("the device key in tls.key does not parse");
    }
#endif
    return true;
}

#endif

Client &tls_client()
{
    return client;
}

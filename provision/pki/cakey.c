/*
 * The CA key at rest: encrypted PKCS#8 (PBES2, AES-256-CBC) whose key comes
 * from scrypt, so a stolen key file costs an attacker memory and time per
 * guess; reading the key back; naming the KDF of an existing file; and the
 * passphrase rule for new passphrases.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include "provision/pki/pki_priv.h"

/*
 * scrypt cost. N and r set the memory per guess: 128 * r * N = 28 MiB, just
 * under the 32 MiB OpenSSL allows when it decrypts a PKCS#8 file (N = 2^15
 * with r = 8 would be refused by `openssl pkey` and by us); p repeats the
 * work, adding time but no memory. About 0.35 s of CPU per decryption on
 * the development machine (measured with `openssl pkey`, see README).
 */
#define SCRYPT_N 32768
#define SCRYPT_R 7
#define SCRYPT_P 4
/* The least a key we did not write may have before we suggest re-encrypting
 * it (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
#define PBKDF2_MIN_ITER 600000

#define PASSPHRASE_MIN      12
#define PASSPHRASE_DISTINCT 6

int pv_ca_key_encrypt(EVP_PKEY *key, const char *pass, char **pem, size_t *len,
                      struct pv_error *err)
{
    *pem = NULL;
    *len = 0;
    unsigned char salt[16];
    X509_ALGOR *alg = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_SIG *enc = NULL;
    BIO *b = NULL;
    int ok = RAND_bytes(salt, sizeof salt) == 1 &&
             (alg = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt, sizeof salt, NULL, SCRYPT_N,
                                          SCRYPT_R, SCRYPT_P)) != NULL &&
             (p8 = EVP_PKEY2PKCS8(key)) != NULL &&
             (enc = PKCS8_set0_pbe(pass, (int)strlen(pass), p8, alg)) != NULL;
    if (ok) {
        alg = NULL; /* owned by enc now */
        ok = (b = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_PKCS8(b, enc);
    }
    char *data = NULL;
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (ok && n > 0 && (*pem = malloc((size_t)n)) != NULL) {
        memcpy(*pem, data, (size_t)n);
        *len = (size_t)n;
    }
    X509_ALGOR_free(alg);
    PKCS8_PRIV_KEY_INFO_free(p8); /* frees and wipes the clear key encoding */
    X509_SIG_free(enc);
    BIO_free(b);
    OPENSSL_cleanse(salt, sizeof salt);
    if (*pem == NULL) {
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encrypt the CA key");
    }
    return PV_OK;
}

static int pass_cb(char *buf, int size, int rwflag, void *user)
{
    (void)rwflag;
    const char *pass = user;
    /* Returning -1 also keeps OpenSSL from prompting on the terminal itself. */
    if (pass == NULL || (int)strlen(pass) >= size) {
        return -1;
    }
    size_t n = strlen(pass);
    memcpy(buf, pass, n);
    return (int)n;
}

int pv_ca_key_decrypt(const char *path, const uint8_t *data, size_t len, const char *pass,
                      EVP_PKEY **out, struct pv_error *err)
{
    bool encrypted = memmem(data, len, "ENCRYPTED", 9) != NULL;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    *out = b ? PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)(uintptr_t)pass) : NULL;
    BIO_free(b);
    if (*out != NULL) {
        return PV_OK;
    }
    ERR_clear_error();
    if (encrypted && pass == NULL) {
        return pv_error_set(err, PV_ERR_CRYPTO, "give the CA passphrase",
                            "the CA key '%s' is encrypted and no passphrase was given", path);
    }
    if (encrypted) {
        return pv_error_set(err, PV_ERR_CRYPTO,
                            "check the passphrase (if it is right, the key file is damaged)",
                            "could not decrypt the CA key: wrong passphrase");
    }
    return pv_error_set(err, PV_ERR_INVALID, "check .ca.key in the profile",
                        "'%s' is not a PEM private key", path);
}

static long asn1_long(const ASN1_INTEGER *i)
{
    int64_t v = -1;
    return i != NULL && ASN1_INTEGER_get_int64(&v, i) == 1 && v <= LONG_MAX ? (long)v : -1;
}

/* The key derivation of a PBES2 algorithm identifier. */
static bool describe_pbes2(const X509_ALGOR *alg, char *out, size_t cap)
{
    PBE2PARAM *pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
    bool weak = true;
    if (pbe2 == NULL) {
        snprintf(out, cap, "PBES2 with unreadable parameters");
        return true;
    }
    int kdf = OBJ_obj2nid(pbe2->keyfunc->algorithm);
    if (kdf == NID_id_scrypt) {
        SCRYPT_PARAMS *sp =
            ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter);
        long n = sp ? asn1_long(sp->costParameter) : -1;
        long r = sp ? asn1_long(sp->blockSize) : -1;
        long p = sp ? asn1_long(sp->parallelizationParameter) : -1;
        snprintf(out, cap, "scrypt (N=%ld, r=%ld, p=%ld)", n, r, p);
        weak = n < 0 || r < 0 || p < 0 ||
               (uint64_t)n * (uint64_t)r * (uint64_t)p < (uint64_t)SCRYPT_N * SCRYPT_R * SCRYPT_P;
        SCRYPT_PARAMS_free(sp);
    } else if (kdf == NID_id_pbkdf2) {
        PBKDF2PARAM *kp =
            ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
        long iter = kp ? asn1_long(kp->iter) : -1;
        int prf = kp && kp->prf ? OBJ_obj2nid(kp->prf->algorithm) : NID_hmacWithSHA1;
        snprintf(out, cap, "PBKDF2-%s, %ld iterations", OBJ_nid2sn(prf), iter);
        weak = iter < PBKDF2_MIN_ITER;
        PBKDF2PARAM_free(kp);
    } else {
        snprintf(out, cap, "PBES2 with %s", OBJ_nid2sn(kdf));
    }
    PBE2PARAM_free(pbe2);
    return weak;
}

bool pv_ca_key_kdf(const struct pv_profile *p, char *out, size_t cap)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct pv_error e;
    snprintf(out, cap, "unknown");
    if (pv_file_read(p->ca.key, 256 * 1024, &data, &len, &e) != PV_OK) {
        return false; /* opening it will report the real problem */
    }
    bool weak = true;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    X509_SIG *sig = b ? PEM_read_bio_PKCS8(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (sig != NULL) {
        const X509_ALGOR *alg = NULL;
        X509_SIG_get0(sig, &alg, NULL);
        int nid = OBJ_obj2nid(alg->algorithm);
        if (nid == NID_pbes2) {
            weak = describe_pbes2(alg, out, cap);
        } else {
            snprintf(out, cap, "PKCS#5 v1.5 (%s)", OBJ_nid2sn(nid));
        }
        X509_SIG_free(sig);
    } else if (memmem(data, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL) {
        snprintf(out, cap, "legacy PEM encryption (one MD5 round)");
    } else {
        snprintf(out, cap, "not encrypted");
    }
    pv_secret_free(data, len);
    return weak;
}

int pv_ca_passphrase_check(const char *pass, struct pv_error *err)
{
    static const char hint[] = "use a long passphrase, e.g. four or more random words";
    size_t n = pass ? strlen(pass) : 0;
    if (n < PASSPHRASE_MIN) {
        return pv_error_set(err, PV_ERR_INVALID, hint,
                            "the CA passphrase must have at least %d characters", PASSPHRASE_MIN);
    }
    bool seen[256] = {false};
    int distinct = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pass[i];
        distinct += !seen[c];
        seen[c] = true;
    }
    if (distinct < PASSPHRASE_DISTINCT) {
        return pv_error_set(err, PV_ERR_INVALID, hint,
                            "the CA passphrase repeats too few characters (at least %d different "
                            "ones)",
                            PASSPHRASE_DISTINCT);
    }
    return PV_OK;
}

/* sign.c - Standard Webhooks v1 signatures: whsec_ secret decoding,
 * HMAC-SHA256 with OpenSSL, base64. Called by webhook.c at render time, so
 * every attempt signs exactly the bytes it sends. */
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sign.h"

int sign_base64_encode(const unsigned char *p, size_t n, char *out,
                       size_t outlen)
{
    size_t need = 4 * ((n + 2) / 3) + 1;

    if (outlen < need || n > 0x3fffffff)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static int b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int sign_base64_decode(const char *s, size_t n, unsigned char *out,
                       size_t outlen)
{
    size_t pad = 0;
    int got;

    if (n == 0 || n % 4 != 0 || n > 0x3fffffff)
        return -1;
    /* EVP_DecodeBlock accepts whitespace and does not report padding, so
     * validate the alphabet ourselves and subtract the padding. */
    if (s[n - 1] == '=')
        pad++;
    if (s[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(s[i]))
            return -1;
    if (pad == 1 && s[n - 2] == '=')
        return -1;
    if (outlen < n / 4 * 3)
        return -1;
    got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (got < 0)
        return -1;
    return got - (int)pad;
}

/* The key of a secret: the base64 after the whsec_ prefix (or the whole
 * secret without it), its padding optional (generators differ in whether
 * they keep it). */
static int b64_key(const char *rest, unsigned char *out, size_t outlen)
{
    char padded[700];
    size_t n = strlen(rest);

    while (n > 0 && rest[n - 1] == '=')
        n--;
    if (n == 0 || n % 4 == 1 || n + 3 >= sizeof(padded))
        return -1;
    memcpy(padded, rest, n);
    while (n % 4 != 0)
        padded[n++] = '=';
    return sign_base64_decode(padded, n, out, outlen);
}

int sign_secret_key(const char *secret, unsigned char *out, size_t outlen)
{
    size_t len = strlen(secret);
    int k;

    if (strncmp(secret, "whsec_", 6) == 0) {
        k = b64_key(secret + 6, out, outlen);
        return k > 0 ? k : -1;
    }
    /* Decoded as the libraries decode it (the JavaScript one takes it
     * without padding too). */
    k = b64_key(secret, out, outlen);
    if (k > 0)
        return k;
    /* Not base64: use the secret as typed, so a plain shared password
     * still signs (receivers must then use the same raw bytes). */
    if (len > outlen)
        return -1;
    memcpy(out, secret, len);
    return (int)len;
}

/* HMAC fetched once: OpenSSL 3 looks it up in its provider tables on every
 * fetch. */
static EVP_MAC *mac_hmac;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void mac_fetch(void)
{
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int sign_standard_webhooks(const char *secret, const char *id, long ts,
                           const char *body, size_t len, char *out,
                           size_t outlen)
{
    unsigned char key[512];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char tsbuf[32];
    int klen, n;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t outl = 0;
    int rc = -1;

    klen = sign_secret_key(secret, key, sizeof(key));
    if (klen < 0)
        return -1;
    n = snprintf(tsbuf, sizeof(tsbuf), "%ld", ts);
    if (n < 0 || (size_t)n >= sizeof(tsbuf))
        return -1;
    pthread_once(&mac_once, mac_fetch);
    if (mac_hmac == NULL)
        goto out;
    ctx = EVP_MAC_CTX_new(mac_hmac);
    if (ctx == NULL)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(ctx, key, (size_t)klen, params) ||
        !EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) ||
        !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
        !EVP_MAC_update(ctx, (const unsigned char *)tsbuf, (size_t)n) ||
        !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
        !EVP_MAC_update(ctx, (const unsigned char *)body, len) ||
        !EVP_MAC_final(ctx, mac, &outl, sizeof(mac)))
        goto out;
    maclen = (unsigned int)outl;
    if (outlen < 4)
        goto out;
    memcpy(out, "v1,", 3);
    if (sign_base64_encode(mac, maclen, out + 3, outlen - 3) < 0)
        goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    memset(key, 0, sizeof(key));
    return rc;
}

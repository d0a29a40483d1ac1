/* sign.h - Standard Webhooks signing (webhook-signature: v1,<base64 HMAC>)
 * and the base64 helpers it needs. Used by the webhook notifier; the tests
 * check it against the specification's published test vector. */
#ifndef TOCSIN_SIGN_H
#define TOCSIN_SIGN_H

#include <stddef.h>

/* Encode n bytes as standard base64 with padding into out (NUL-terminated).
 * Returns the length written, or -1 if outlen is too small
 * (it needs 4 * ((n + 2) / 3) + 1 bytes). */
int sign_base64_encode(const unsigned char *p, size_t n, char *out,
                       size_t outlen);
/* Decode standard base64 (padding required when the length is not a
 * multiple of 4; no whitespace). Returns the number of bytes written to out,
 * or -1 when s is not valid base64 or out is too small. */
int sign_base64_decode(const char *s, size_t n, unsigned char *out,
                       size_t outlen);

/* The HMAC key of a Standard Webhooks secret, as the official libraries
 * derive it: strip a "whsec_" prefix and base64-decode the rest (padding
 * optional); -1 when that rest is not base64. A secret without the prefix
 * is base64-decoded too, or, when it is not base64, its raw bytes are the
 * key. Returns the key length, or -1 (also when it does not fit outlen). */
int sign_secret_key(const char *secret, unsigned char *out, size_t outlen);

/* Write "v1,<base64(HMAC-SHA256(key, id "." ts "." body))>" into out, key
 * derived from secret by sign_secret_key. body is len bytes, exactly the
 * bytes that are sent. Returns 0, or -1 (out too small: it needs 48 bytes,
 * or a crypto failure). */
int sign_standard_webhooks(const char *secret, const char *id, long ts,
                           const char *body, size_t len, char *out,
                           size_t outlen);

#endif

/* sha256.h - SHA-256 through OpenSSL's EVP interface with the
 * implementation fetched once per process: OpenSSL 3 looks EVP_sha256() up
 * in its provider tables on every EVP_DigestInit_ex (and SHA256() on every
 * call), which cost more than hashing a short string. Thread-safe. */
#ifndef TOCSIN_SHA256_H
#define TOCSIN_SHA256_H

#include <stddef.h>

#include <openssl/evp.h>

#define SHA256_LEN 32

/* A digest context started for SHA-256 (aborts when out of memory). */
EVP_MD_CTX *sha256_begin(void);
/* Finish ctx into md and free it. */
void sha256_end(EVP_MD_CTX *ctx, unsigned char md[SHA256_LEN]);
/* One-shot. */
void sha256(const void *p, size_t n, unsigned char md[SHA256_LEN]);

#endif

/* sha256.c - SHA-256 with the OpenSSL implementation fetched once. */
#include "sha256.h"

#include <pthread.h>
#include <stdlib.h>

static EVP_MD *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

EVP_MD_CTX *sha256_begin(void)
{
    EVP_MD_CTX *ctx;

    pthread_once(&md_once, fetch);
    ctx = EVP_MD_CTX_new();
    if (md_sha256 == NULL || ctx == NULL ||
        !EVP_DigestInit_ex(ctx, md_sha256, NULL))
        abort();
    return ctx;
}

void sha256_end(EVP_MD_CTX *ctx, unsigned char md[SHA256_LEN])
{
    unsigned int len = 0;

    if (!EVP_DigestFinal_ex(ctx, md, &len) || len != SHA256_LEN)
        abort();
    EVP_MD_CTX_free(ctx);
}

void sha256(const void *p, size_t n, unsigned char md[SHA256_LEN])
{
    EVP_MD_CTX *ctx = sha256_begin();

    EVP_DigestUpdate(ctx, p, n);
    sha256_end(ctx, md);
}

/* notifier.c - helpers shared by every notifier kind and the dispatcher:
 * the ca_file key, releasing a rendered request, and the default judgement
 * of an answer (used by dispatch.c when a kind has no check op). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "notifier.h"

int notifier_check_url(const struct cfg_node *n, const char *what,
                       const char *url, struct cfg_diag *d)
{
    CURLU *u = curl_url();
    CURLUcode rc;

    if (u == NULL)
        return 0; /* out of memory: the first delivery will tell */
    rc = curl_url_set(u, CURLUPART_URL, url, 0);
    curl_url_cleanup(u);
    if (rc == CURLUE_OK)
        return 0;
    /* the URL is not shown: its path may hold a token */
    cfg_error_at(d, n, "%s is not a valid URL (%s)", what,
                 curl_url_strerror(rc));
    return -1;
}

/* 0 if path is a readable file holding at least one PEM certificate, else
 * -1 and *why says what is wrong (a directory or an empty file would only
 * fail at the first TLS delivery). */
static int ca_file_bad(const char *path, const char **why)
{
    struct stat st;
    X509 *cert;
    /* O_NONBLOCK: a FIFO in its place must not hold check (or a reload)
     * until something writes to it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f;

    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (f = fdopen(fd, "r")) == NULL) {
        close(fd);
        *why = "not a regular file";
        return -1;
    }
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    if (cert == NULL) {
        *why = "holds no PEM certificate";
        return -1;
    }
    X509_free(cert);
    return 0;
}

int notifier_ca_file(const struct cfg_node *node, const char *dir, char **out,
                     struct cfg_diag *d)
{
    const struct cfg_node *n = cfg_get(node, "ca_file");
    const char *ca = NULL;
    const char *why;
    char *path;

    *out = NULL;
    if (n == NULL || cfg_str(n, "ca_file", &ca, d) != 0)
        return 0;
    if (*ca == '\0') {
        cfg_error_at(d, n, "ca_file is empty");
        return -1;
    }
    if (ca[0] == '/' || dir == NULL || *dir == '\0') {
        path = xstrdup(ca);
    } else {
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s/%s", dir, ca);
        path = buf_steal(&b);
    }
    if (ca_file_bad(path, &why) != 0) {
        cfg_error_at(d, n, "ca_file %s: %s", cfg_shown(n, path), why);
        free(path);
        return -1;
    }
    *out = path;
    return 0;
}

void request_cleanup(struct request *r)
{
    if (r == NULL)
        return;
    free(r->url);
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->mail_from);
    curl_slist_free_all(r->rcpt);
    free(r->username);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r->method);
    free(r->ca_file);
    memset(r, 0, sizeof(*r));
}

enum delivery_result notifier_default_check(enum request_kind kind, long code)
{
    if (kind == REQ_SMTP) {
        /* RFC 5321 4.2.1: 2yz done, 4yz transient, 5yz permanent. No reply
         * at all (0) is a connection problem: retry. */
        if (code >= 200 && code < 300)
            return DELIVERY_OK;
        if (code == 0 || (code >= 400 && code < 500))
            return DELIVERY_RETRY;
        return DELIVERY_FAIL;
    }
    if (kind == REQ_LOCAL)
        return DELIVERY_OK;
    if (code >= 200 && code < 300)
        return DELIVERY_OK;
    if (code == 0 || code == 408 || code == 429 || code >= 500)
        return DELIVERY_RETRY;
    return DELIVERY_FAIL;
}

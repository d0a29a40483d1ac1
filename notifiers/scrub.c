/* scrub.c - cut a request's secrets out of what its receiver answered (see
 * scrub.h). Receivers echo requests in their errors ("Cannot POST
 * /hooks/T0K3N", "bad key X", a decoded Basic login), raw, URL-decoded or
 * JSON-escaped; each secret is cut out in each of those forms. */
#include "scrub.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sign.h"

/* Path segments and query values shorter than this are words, not tokens
 * ("hooks", "v1"); header values too. */
#define SCRUB_TOKEN_MIN 6
/* Passwords are secrets whatever their length, but a very short one would
 * cut ordinary words out of the answer. */
#define SCRUB_PASSWORD_MIN 4
#define SCRUB_FORM_MAX 2048

/* Replace every occurrence of tok[0..n) in text with "...". Tokens under
 * SCRUB_PASSWORD_MIN bytes are left: "..." must never make the text
 * longer, and the search goes on after each "..." it wrote. */
static void cut(char *text, const char *tok, size_t n)
{
    char *p = text;

    if (n < SCRUB_PASSWORD_MIN)
        return;
    while ((p = memmem(p, strlen(p), tok, n)) != NULL) {
        memmove(p + 3, p + n, strlen(p + n) + 1);
        memcpy(p, "...", 3);
        p += 3;
    }
}

/* s[0..n) URL-decoded by libcurl ('+' read as a space first when plus)
 * into *out, to be freed with curl_free. Its length, or 0 (and *out NULL)
 * when out of memory. */
static size_t url_decode(const char *s, size_t n, bool plus, char **out)
{
    char *spaced = NULL;
    int len = 0;

    if (plus) {
        spaced = malloc(n + 1);
        if (spaced == NULL) {
            *out = NULL;
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            spaced[i] = s[i] == '+' ? ' ' : s[i];
        s = spaced;
    }
    *out = n <= INT_MAX ? curl_easy_unescape(NULL, s, (int)n, &len) : NULL;
    free(spaced);
    return *out != NULL ? (size_t)len : 0;
}

/* tok as written, as a JSON string writes it ("/" as "\/"), and in base64
 * when b64. */
static void cut_forms(char *text, const char *tok, size_t n, bool b64)
{
    char form[SCRUB_FORM_MAX];
    size_t k = 0;

    if (n == 0 || n >= sizeof(form) / 2)
        return;
    cut(text, tok, n);
    if (memchr(tok, '/', n) != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (tok[i] == '/')
                form[k++] = '\\';
            form[k++] = tok[i];
        }
        cut(text, form, k);
    }
    if (b64 && sign_base64_encode((const unsigned char *)tok, n, form,
                                  sizeof(form)) > 0)
        cut(text, form, strlen(form));
}

/* A URL part: as written, and URL-decoded ('+' as a space too in a
 * query). */
static void cut_url_part(char *text, const char *p, size_t n, bool query)
{
    char *dec;
    size_t k;

    if (n >= SCRUB_FORM_MAX)
        return;
    cut_forms(text, p, n, false);
    k = url_decode(p, n, false, &dec);
    if (k != n && k >= SCRUB_PASSWORD_MIN)
        cut_forms(text, dec, k, false);
    curl_free(dec);
    if (query) {
        k = url_decode(p, n, true, &dec);
        if (k >= SCRUB_PASSWORD_MIN)
            cut_forms(text, dec, k, false);
        curl_free(dec);
    }
}

/* Every path segment and query value of url long enough to be a token;
 * the user and password of its userinfo, each alone, as "user:pass" and
 * as the Basic credentials made of them. */
static void cut_url(char *text, const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    const char *host, *at, *slash;

    if (p == NULL)
        return;
    host = p + 3;
    slash = host + strcspn(host, "/?#");
    at = memchr(host, '@', (size_t)(slash - host));
    if (at != NULL) {
        char pair[SCRUB_FORM_MAX], *user, *pass = NULL;
        const char *colon = memchr(host, ':', (size_t)(at - host));
        size_t un = colon ? (size_t)(colon - host) : (size_t)(at - host);
        size_t pn = colon ? (size_t)(at - colon - 1) : 0;

        if (un < sizeof(pair) / 2 && pn < sizeof(pair) / 2) {
            un = url_decode(host, un, false, &user);
            if (colon != NULL)
                pn = url_decode(colon + 1, pn, false, &pass);
            /* "user:pass" and its base64 (a Basic header echoed or
             * decoded); a lone user is a token when it is long enough. */
            memcpy(pair, user ? user : "", un);
            pair[un] = ':';
            memcpy(pair + un + 1, pass ? pass : "", pn);
            if (pn > 0 || un >= SCRUB_TOKEN_MIN)
                cut_forms(text, pair, un + 1 + pn, true);
            if (pn >= SCRUB_PASSWORD_MIN)
                cut_forms(text, pass, pn, true);
            /* The user too: alone it is often the token itself, and
             * beside a password it says whose account that is. */
            if (un >= SCRUB_TOKEN_MIN)
                cut_forms(text, user, un, true);
            /* as written in the URL (percent-encoded) too */
            if (colon != NULL && (size_t)(at - colon - 1) >= SCRUB_PASSWORD_MIN)
                cut_forms(text, colon + 1, (size_t)(at - colon - 1), false);
            if ((size_t)((colon ? colon : at) - host) >= SCRUB_TOKEN_MIN)
                cut_forms(text, host, (size_t)((colon ? colon : at) - host),
                          false);
            curl_free(user);
            curl_free(pass);
        }
    }
    p = slash;
    bool query = false;
    while (*p && *p != '#') {
        const char *seg;
        size_t n;
        bool value = false;

        /* path segments and query values; a query's names are words */
        while (*p == '/' || *p == '?' || *p == '&' || *p == '=') {
            if (*p == '?')
                query = true;
            value = *p == '=';
            p++;
        }
        seg = p;
        while (*p && *p != '/' && *p != '?' && *p != '&' && *p != '=' &&
               *p != '#')
            p++;
        n = (size_t)(p - seg);
        if (n >= SCRUB_TOKEN_MIN && (!query || value))
            cut_url_part(text, seg, n, query);
    }
}

/* A header value: as configured, trimmed, its last word (the token of
 * "Bearer TOKEN") and, for Basic credentials, what they decode to. */
static void cut_header(char *text, const char *v)
{
    const char *w, *end;
    size_t n;

    while (*v == ' ' || *v == '\t')
        v++;
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - v);
    if (n >= SCRUB_TOKEN_MIN)
        cut_forms(text, v, n, false);
    for (w = end; w > v && w[-1] != ' '; w--)
        ;
    if (w > v && (size_t)(end - w) >= SCRUB_TOKEN_MIN)
        cut_forms(text, w, (size_t)(end - w), false);
    if (n > 6 && strncasecmp(v, "Basic ", 6) == 0) {
        unsigned char dec[SCRUB_FORM_MAX];
        int k = sign_base64_decode(v + 6, n - 6, dec, sizeof(dec) - 1);
        const char *colon;

        if (k >= SCRUB_PASSWORD_MIN) {
            dec[k] = '\0';
            cut_forms(text, (const char *)dec, (size_t)k, false);
            colon = strchr((const char *)dec, ':');
            if (colon != NULL && strlen(colon + 1) >= SCRUB_PASSWORD_MIN)
                cut_forms(text, colon + 1, strlen(colon + 1), false);
        }
    }
}

void scrub_secrets(char *text, const struct request *rq)
{
    static const char *const own[] = {"Content-Type",
                                      "Expect",
                                      "User-Agent",
                                      "webhook-id",
                                      "webhook-timestamp",
                                      "webhook-signature",
                                      NULL};

    if (text == NULL || rq == NULL)
        return;
    cut_url(text, rq->url);
    if (rq->password != NULL && strlen(rq->password) >= SCRUB_PASSWORD_MIN) {
        /* SMTP: the password, and AUTH PLAIN's "\0user\0pass" in base64 */
        char plain[SCRUB_FORM_MAX], b64[SCRUB_FORM_MAX * 2];
        const char *user = rq->username ? rq->username : "";
        size_t un = strlen(user), pn = strlen(rq->password);

        cut_forms(text, rq->password, pn, true);
        if (un + pn + 2 < sizeof(plain)) {
            plain[0] = '\0';
            memcpy(plain + 1, user, un);
            plain[un + 1] = '\0';
            memcpy(plain + un + 2, rq->password, pn);
            if (sign_base64_encode((const unsigned char *)plain, un + pn + 2,
                                   b64, sizeof(b64)) > 0)
                cut(text, b64, strlen(b64));
        }
    }
    for (const struct curl_slist *h = rq->headers; h; h = h->next) {
        const char *c = strchr(h->data, ':');
        size_t i;

        if (c == NULL)
            continue;
        for (i = 0; own[i]; i++)
            if (strlen(own[i]) == (size_t)(c - h->data) &&
                strncasecmp(h->data, own[i], strlen(own[i])) == 0)
                break;
        if (own[i] == NULL)
            cut_header(text, c + 1);
    }
}

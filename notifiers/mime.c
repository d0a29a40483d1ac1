/* mime.c - RFC 5322 dates and header folding, RFC 2047 B encoded-words,
 * quoted-printable bodies, HTML escaping: everything email.c needs to build a
 * message whose every line is CRLF-terminated and short (curl wraps
 * nothing, reference section 3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/util.h"
#include "mime.h"
#include "sign.h"

void mime_format_date(double ts, char *out, size_t outlen)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)floor(ts);
    struct tm tm;

    /* strftime's %a/%b follow the locale; RFC 5322 wants English. */
    gmtime_r(&t, &tm);
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool mime_needs_encoding(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* Column of the end of out: bytes since the last LF. */
static size_t cur_col(const struct buf *b)
{
    size_t i = b->len;

    while (i > 0 && b->data[i - 1] != '\n')
        i--;
    return b->len - i;
}

int mime_encode_words(struct buf *out, const char *s, size_t n)
{
    const size_t overhead = 12; /* "=?UTF-8?B?" + "?=" */
    size_t pos = 0;
    char b64[MIME_WORD_MAX + 1];

    while (pos < n || (pos == 0 && n == 0)) {
        size_t col = cur_col(out);
        size_t room = MIME_LINE_MAX > col ? MIME_LINE_MAX - col : 0;
        size_t wmax, take;

        if (room > MIME_WORD_MAX)
            room = MIME_WORD_MAX;
        if (room < overhead + 8) {
            if (buf_add(out, "\r\n ", 3) < 0)
                return -1;
            continue;
        }
        /* Raw bytes whose base64 fits: 4 chars per 3 bytes. */
        wmax = (room - overhead) / 4 * 3;
        take = n - pos < wmax ? n - pos : wmax;
        /* Never split a UTF-8 character across words (RFC 2047 5). */
        if (pos + take < n)
            take = util_utf8_cut(s + pos, take);
        if (take == 0 && n > 0)
            take = n - pos < wmax ? n - pos : wmax; /* invalid UTF-8 run */
        if (sign_base64_encode((const unsigned char *)s + pos, take, b64,
                               sizeof(b64)) < 0)
            return -1;
        if (buf_adds(out, "=?UTF-8?B?") < 0 || buf_adds(out, b64) < 0 ||
            buf_adds(out, "?=") < 0)
            return -1;
        pos += take;
        if (n == 0)
            break;
        if (pos < n && buf_add(out, "\r\n ", 3) < 0)
            return -1;
    }
    return 0;
}

/* Longest run without a space in s. */
static size_t longest_word(const char *s)
{
    size_t best = 0, cur = 0;

    for (; *s; s++) {
        if (*s == ' ') {
            cur = 0;
        } else if (++cur > best) {
            best = cur;
        }
    }
    return best;
}

/* Append ASCII text folded at spaces: a line is broken before a word that
 * would take it past 78 columns. */
static int add_folded(struct buf *out, const char *s)
{
    while (*s) {
        size_t sp = strcspn(s, " ");
        size_t col = cur_col(out);

        if (col > 1 && col + sp > 78 && out->data[out->len - 1] == ' ') {
            /* Replace the space we just wrote by CRLF SPACE. */
            out->len--;
            if (buf_add(out, "\r\n ", 3) < 0)
                return -1;
        }
        if (buf_add(out, s, sp) < 0)
            return -1;
        s += sp;
        if (*s == ' ') {
            if (buf_addc(out, ' ') < 0)
                return -1;
            s++;
        }
    }
    return 0;
}

int mime_add_header(struct buf *out, const char *name, const char *value)
{
    size_t n = strlen(value);

    if (buf_adds(out, name) < 0 || buf_add(out, ": ", 2) < 0)
        return -1;
    /* "=?" could read as the start of an encoded-word: a label value of
     * "=?UTF-8?B?...?=" must show as written, so encode the whole value. */
    if (mime_needs_encoding(value, n) || strstr(value, "=?") != NULL ||
        longest_word(value) > 900) {
        if (mime_encode_words(out, value, n) < 0)
            return -1;
    } else if (add_folded(out, value) < 0) {
        return -1;
    }
    return buf_add(out, "\r\n", 2);
}

int mime_mailbox_addr(const char *mailbox, char *addr, size_t addrlen)
{
    const char *lt = strrchr(mailbox, '<');
    const char *start = mailbox, *end;
    size_t len;

    /* A display name with CR/LF would inject headers. */
    for (const char *q = mailbox; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return -1;
    if (lt) {
        start = lt + 1;
        end = strchr(start, '>');
        if (end == NULL)
            return -1;
        for (const char *q = end + 1; *q; q++)
            if (*q != ' ' && *q != '\t')
                return -1;
    } else {
        while (*start == ' ' || *start == '\t')
            start++;
        end = start + strlen(start);
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
    }
    len = (size_t)(end - start);
    if (len == 0 || len >= addrlen)
        return -1;
    if (memchr(start, '@', len) == NULL || start[0] == '@' ||
        start[len - 1] == '@')
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)start[i];
        if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == 0x7f)
            return -1;
    }
    memcpy(addr, start, len);
    addr[len] = '\0';
    return 0;
}

/* Does the display name need quoting (RFC 5322 3.2.3: a phrase is atoms,
 * and these specials end an atom)? */
static bool has_specials(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr("()<>[]:;@\\,.\"", s[i]) != NULL)
            return true;
    return false;
}

/* Append one mailbox: a non-ASCII display name becomes encoded-words, one
 * with specials ("Ops, Team") a quoted string. */
#define MIME_NAME_MAX 900
static int add_mailbox(struct buf *out, const char *mb)
{
    const char *lt = strrchr(mb, '<');
    const char *name = mb, *name_end;
    bool quoted, encode;

    if (lt == NULL)
        return add_folded(out, mb);
    while (*name == ' ')
        name++;
    name_end = lt;
    while (name_end > name && name_end[-1] == ' ')
        name_end--;
    quoted = name_end - name >= 2 && *name == '"' && name_end[-1] == '"';
    /* A name too long for one line (a word is never folded, nor is a
     * quoted string here) becomes encoded-words, which fold anywhere. */
    encode = mime_needs_encoding(name, (size_t)(name_end - name)) ||
             name_end - name > MIME_NAME_MAX;
    if (!encode && (quoted || !has_specials(name, (size_t)(name_end - name))))
        return add_folded(out, mb);
    if (quoted) {
        name++;
        name_end--;
    }
    if (!encode) {
        /* ASCII with specials: a quoted string, \ and " escaped */
        buf_addc(out, '"');
        for (const char *c = name; c < name_end; c++) {
            if (*c == '"' || *c == '\\')
                buf_addc(out, '\\');
            buf_addc(out, *c);
        }
        buf_addc(out, '"');
    } else if (quoted) {
        /* Inside encoded-words a backslash is itself (RFC 2047 5): the
         * quoted string's \" and \\ are unescaped first. */
        char *plain = xmalloc((size_t)(name_end - name) + 1);
        size_t k = 0;
        int rc;

        for (const char *c = name; c < name_end; c++) {
            if (*c == '\\' && c + 1 < name_end)
                c++;
            plain[k++] = *c;
        }
        rc = mime_encode_words(out, plain, k);
        free(plain);
        if (rc < 0)
            return -1;
    } else if (mime_encode_words(out, name, (size_t)(name_end - name)) < 0) {
        return -1;
    }
    if (out->failed)
        return -1;
    if (cur_col(out) + 2 + strlen(lt) > 78 && buf_add(out, "\r\n", 2) < 0)
        return -1;
    return buf_addc(out, ' ') < 0 ? -1 : buf_adds(out, lt);
}

int mime_add_address_header(struct buf *out, const char *name,
                            const char *const *mailboxes, size_t n)
{
    if (buf_adds(out, name) < 0 || buf_add(out, ": ", 2) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            bool fold = cur_col(out) + 2 + strlen(mailboxes[i]) > 78;
            if (buf_adds(out, fold ? ",\r\n " : ", ") < 0)
                return -1;
        }
        if (add_mailbox(out, mailboxes[i]) < 0)
            return -1;
    }
    return buf_add(out, "\r\n", 2);
}

int mime_qp_encode(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;

    while (i < n) {
        size_t eol = i, next, col = 0;

        while (eol < n && s[eol] != '\n')
            eol++;
        next = eol < n ? eol + 1 : eol;
        if (eol > i && s[eol - 1] == '\r')
            eol--;
        for (size_t j = i; j < eol; j++) {
            unsigned char c = (unsigned char)s[j];
            bool last = j + 1 == eol;
            char tok[3];
            size_t tl;

            if ((c >= 33 && c <= 126 && c != '=') ||
                ((c == ' ' || c == '\t') && !last)) {
                tok[0] = (char)c;
                tl = 1;
            } else {
                tok[0] = '=';
                tok[1] = hex[c >> 4];
                tok[2] = hex[c & 15];
                tl = 3;
            }
            /* Keep room for the soft-break '=' within 76 columns. */
            if (col + tl > MIME_LINE_MAX - 1) {
                if (buf_add(out, "=\r\n", 3) < 0)
                    return -1;
                col = 0;
            }
            if (buf_add(out, tok, tl) < 0)
                return -1;
            col += tl;
        }
        if (buf_add(out, "\r\n", 2) < 0)
            return -1;
        i = next;
    }
    return 0;
}

int mime_html_escape(struct buf *out, const char *s)
{
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if ((rep ? buf_adds(out, rep) : buf_addc(out, *s)) < 0)
            return -1;
    }
    return 0;
}

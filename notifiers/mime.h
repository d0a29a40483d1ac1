/* mime.h - the pieces of an RFC 5322 / MIME message that curl does not
 * make: RFC 5322 dates, folded headers, RFC 2047 encoded-words for non-ASCII
 * header text, quoted-printable bodies, HTML escaping, mailbox parsing.
 * Used by the email notifier (email.c); every output line ends in CRLF. */
#ifndef TOCSIN_MIME_H
#define TOCSIN_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"

/* Longest encoded-word (RFC 2047 section 2) and longest line we produce
 * in headers that carry encoded-words. */
#define MIME_WORD_MAX 75
#define MIME_LINE_MAX 76

/* Format ts (Unix seconds) as an RFC 5322 date in UTC, locale-independent:
 * "Thu, 01 Jan 2026 00:00:00 +0000". out needs 32 bytes. */
void mime_format_date(double ts, char *out, size_t outlen);

/* True when s[0..n) needs RFC 2047 encoding in a header: a byte >= 0x80 or
 * a control character. */
bool mime_needs_encoding(const char *s, size_t n);

/* Append s[0..n) as RFC 2047 B encoded-words ("=?UTF-8?B?...?="), each at
 * most MIME_WORD_MAX chars and split only between UTF-8 characters,
 * separated by CRLF SPACE so no line passes MIME_LINE_MAX (the column of the
 * current line in out is taken into account). Returns 0 or -1 (buf full). */
int mime_encode_words(struct buf *out, const char *s, size_t n);

/* Append "Name: value CRLF". ASCII values are folded at spaces to lines of
 * at most 78 chars where possible; values with non-ASCII or control
 * characters (or an unbreakable run too long for one line) become encoded
 * words. Returns 0 or -1. */
int mime_add_header(struct buf *out, const char *name, const char *value);

/* Append "Name: a, b, c CRLF" for mailboxes (each "addr" or
 * "Display Name <addr>"), folding between mailboxes and encoding a
 * non-ASCII display name. Returns 0 or -1. */
int mime_add_address_header(struct buf *out, const char *name,
                            const char *const *mailboxes, size_t n);

/* Split a mailbox "Display Name <addr>" or "addr": copies the address into
 * addr (without brackets). Returns 0, or -1 when there is no plausible
 * address (no '@', spaces or brackets inside), a control character
 * (CR/LF) anywhere, or it does not fit. */
int mime_mailbox_addr(const char *mailbox, char *addr, size_t addrlen);

/* Append s[0..n) quoted-printable encoded (RFC 2045 6.7). Input lines may
 * end in LF or CRLF; output lines end in CRLF and are at most 76 chars,
 * using soft line breaks; trailing spaces/tabs are encoded. Returns 0/-1. */
int mime_qp_encode(struct buf *out, const char *s, size_t n);

/* Append s with & < > " ' replaced by HTML entities. Returns 0 or -1. */
int mime_html_escape(struct buf *out, const char *s);

#endif

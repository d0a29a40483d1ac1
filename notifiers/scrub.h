/* scrub.h - what a receiver answered, without the request's secrets. */
#ifndef TOCSIN_SCRUB_H
#define TOCSIN_SCRUB_H

#include "notifier.h"

/* Replace with "..." every secret of rq that text (NUL-terminated, changed
 * in place, never longer) holds: its URL's path segments and query values
 * of 6 characters or more (a token), its URL's user and password (also as
 * "user:pass" and as Basic credentials), its SMTP password (also in base64,
 * alone and as AUTH PLAIN), the values of its headers but tocsin's own
 * (trimmed, their last word, a Basic header's decoded login). Each as
 * written, URL-decoded where it is part of the URL, and JSON-escaped ("/"
 * as "\/"). Run it on the whole answer before cutting it short: a cut
 * secret is no longer found. */
void scrub_secrets(char *text, const struct request *rq);

#endif

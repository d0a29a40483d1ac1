/* format_markdown.c - the report as a GitHub-flavoured markdown table plus
 * the suggestions as a list (for wikis, tickets and the "markdown" field of
 * the report notification). */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "format_internal.h"

/* Escape what would break a table cell or start markup: | \ ` * _ < > [ ]
 * and newlines. */
static void md_escape(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("|\\`*_<>[]#", *s) != NULL) {
            buf_addc(out, '\\');
            buf_addc(out, *s);
        } else if (*s == '\n' || *s == '\r') {
            buf_addc(out, ' ');
        } else {
            buf_addc(out, *s);
        }
    }
}

int report_format_markdown(const struct report *r, struct buf *out)
{
    char title[128], shortd[32];
    char cells[REPORT_NCOLS][32];
    int nnoisy = 0;

    report_title(r, title, sizeof(title));
    util_format_duration(r->short_s, shortd, sizeof(shortd));
    buf_printf(out,
               "## %s\n\n%.1f days; short-lived and flapping mean within "
               "%s.\n\n",
               title, r->period_days, shortd);
    if (r->nrules == 0)
        return buf_adds(out, "No alert events in this period.\n");
    buf_adds(out, "|");
    for (size_t c = 0; c < REPORT_NCOLS; c++)
        buf_printf(out, " %s |", c == 12 ? "per day" : report_col_names[c]);
    buf_adds(out, "\n|---|");
    for (size_t c = 1; c < REPORT_NCOLS; c++)
        buf_adds(out, "---:|");
    buf_addc(out, '\n');
    for (size_t i = 0; i < r->nrules; i++) {
        const struct report_rule *rr = &r->rules[i];
        report_cells(rr, cells);
        buf_adds(out, "| ");
        if (rr->noisy)
            buf_adds(out, "**");
        md_escape(out, rr->rule);
        if (rr->noisy)
            buf_adds(out, "**");
        buf_adds(out, " |");
        for (size_t c = 1; c < REPORT_NCOLS; c++)
            buf_printf(out, " %s |", cells[c]);
        buf_addc(out, '\n');
        nnoisy += rr->noisy;
    }
    if (nnoisy > 0) {
        buf_adds(out, "\n### Suggestions\n\n");
        for (size_t i = 0; i < r->nrules; i++) {
            if (!r->rules[i].noisy)
                continue;
            buf_adds(out, "- **");
            md_escape(out, r->rules[i].rule);
            buf_adds(out, "**: ");
            buf_adds(out, r->rules[i].suggestion); /* ours: `code` on purpose */
            buf_addc(out, '\n');
        }
    } else {
        buf_adds(out, "\nNo noisy rules.\n");
    }
    return out->failed ? -1 : 0;
}

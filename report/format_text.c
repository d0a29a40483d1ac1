/* format_text.c - the report as an aligned table for terminals (the default
 * of `tocsin report`), with the suggestions for noisy rules below it. Also
 * holds the table cells shared with the markdown and HTML renderers. */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "format_internal.h"

const char *const report_col_names[REPORT_NCOLS] = {
    "RULE",     "FIRED",  "ESC", "RES",   "SERIES", "SENT", "FAILED",
    "SILENCED", "MEDIAN", "P90", "SHORT", "FLAP",   "/DAY", "SCORE",
};

void report_cells(const struct report_rule *rr, char cells[REPORT_NCOLS][32])
{
    snprintf(cells[0], 32, "%s", ""); /* the name is printed by the caller */
    snprintf(cells[1], 32, "%lld", (long long)rr->fired);
    snprintf(cells[2], 32, "%lld", (long long)rr->escalated);
    snprintf(cells[3], 32, "%lld", (long long)rr->resolved);
    snprintf(cells[4], 32, "%lld", (long long)rr->series);
    snprintf(cells[5], 32, "%lld", (long long)rr->sent);
    snprintf(cells[6], 32, "%lld", (long long)rr->failed);
    snprintf(cells[7], 32, "%lld", (long long)rr->silenced);
    report_dur_str(rr, rr->median_s, cells[8], 32);
    report_dur_str(rr, rr->p90_s, cells[9], 32);
    snprintf(cells[10], 32, "%lld", (long long)rr->short_lived);
    snprintf(cells[11], 32, "%lld", (long long)rr->flapping);
    snprintf(cells[12], 32, "%.2f", rr->fires_per_day);
    snprintf(cells[13], 32, "%.2f", rr->noise_score);
}

static int pad(struct buf *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf_addc(out, ' ') < 0)
            return -1;
    return 0;
}

int report_format_text(const struct report *r, struct buf *out)
{
    char title[128], shortd[32];
    size_t w[REPORT_NCOLS];
    char cells[REPORT_NCOLS][32];
    int nnoisy = 0;

    report_title(r, title, sizeof(title));
    util_format_duration(r->short_s, shortd, sizeof(shortd));
    buf_printf(out, "%s (%.1f days, short = %s)\n\n", title, r->period_days,
               shortd);
    if (r->nrules == 0)
        return buf_adds(out, "No alert events in this period.\n");
    for (size_t c = 0; c < REPORT_NCOLS; c++)
        w[c] = strlen(report_col_names[c]);
    for (size_t i = 0; i < r->nrules; i++) {
        size_t rw = util_utf8_len(r->rules[i].rule);
        if (rw > w[0])
            w[0] = rw;
        report_cells(&r->rules[i], cells);
        for (size_t c = 1; c < REPORT_NCOLS; c++)
            if (strlen(cells[c]) > w[c])
                w[c] = strlen(cells[c]);
    }
    /* Header: rule left-aligned, numbers right-aligned. */
    buf_adds(out, report_col_names[0]);
    pad(out, w[0] - strlen(report_col_names[0]));
    for (size_t c = 1; c < REPORT_NCOLS; c++) {
        pad(out, 2 + w[c] - strlen(report_col_names[c]));
        buf_adds(out, report_col_names[c]);
    }
    buf_addc(out, '\n');
    for (size_t i = 0; i < r->nrules; i++) {
        const struct report_rule *rr = &r->rules[i];
        report_cells(rr, cells);
        buf_adds(out, rr->rule);
        pad(out, w[0] - util_utf8_len(rr->rule));
        for (size_t c = 1; c < REPORT_NCOLS; c++) {
            pad(out, 2 + w[c] - strlen(cells[c]));
            buf_adds(out, cells[c]);
        }
        buf_addc(out, '\n');
        nnoisy += rr->noisy;
    }
    if (nnoisy > 0) {
        buf_adds(out, "\nSuggestions:\n");
        for (size_t i = 0; i < r->nrules; i++)
            if (r->rules[i].noisy)
                buf_printf(out, "  %s: %s\n", r->rules[i].rule,
                           r->rules[i].suggestion);
    } else {
        buf_adds(out, "\nNo noisy rules.\n");
    }
    return out->failed ? -1 : 0;
}

/* format_csv.c - the report as CSV for spreadsheets: a header row, then one
 * row per rule (noisiest first). RFC 4180: CRLF line ends, a field holding
 * a comma, quote, CR or LF is quoted and its quotes doubled. per_day is one
 * compact field "YYYY-MM-DD:n;YYYY-MM-DD:n". */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "format_internal.h"

static void csv_field(struct buf *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        buf_adds(out, s);
        return;
    }
    buf_addc(out, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_addc(out, '"');
        buf_addc(out, *s);
    }
    buf_addc(out, '"');
}

static void csv_int(struct buf *out, int64_t v)
{
    buf_printf(out, ",%lld", (long long)v);
}

static void csv_num(struct buf *out, double v)
{
    char b[64];
    util_format_double(report_round3(v), b, sizeof(b));
    buf_printf(out, ",%s", b);
}

int report_format_csv(const struct report *r, struct buf *out)
{
    char day[16];

    buf_adds(out, "rule,fired,escalated,resolved,series,sent,failed,silenced,"
                  "median_firing_seconds,p90_firing_seconds,short_lived,"
                  "flapping,fires_per_day,noise_score,noisy,suggestion,"
                  "per_day\r\n");
    for (size_t i = 0; i < r->nrules; i++) {
        const struct report_rule *rr = &r->rules[i];
        csv_field(out, rr->rule);
        csv_int(out, rr->fired);
        csv_int(out, rr->escalated);
        csv_int(out, rr->resolved);
        csv_int(out, rr->series);
        csv_int(out, rr->sent);
        csv_int(out, rr->failed);
        csv_int(out, rr->silenced);
        if (rr->nepisodes > 0) {
            csv_num(out, rr->median_s);
            csv_num(out, rr->p90_s);
        } else {
            buf_adds(out, ",,"); /* no episode: empty, not 0 */
        }
        csv_int(out, rr->short_lived);
        csv_int(out, rr->flapping);
        csv_num(out, rr->fires_per_day);
        csv_num(out, rr->noise_score);
        buf_adds(out, rr->noisy ? ",true," : ",false,");
        csv_field(out, rr->suggestion ? rr->suggestion : "");
        buf_addc(out, ',');
        for (size_t d = 0; d < rr->ndays; d++) {
            report_day_str(rr->days[d].day, day, sizeof(day));
            buf_printf(out, "%s%s:%lld", d ? ";" : "", day,
                       (long long)rr->days[d].n);
        }
        buf_adds(out, "\r\n");
    }
    return out->failed ? -1 : 0;
}

/* format_html.c - the report as one self-contained HTML page (no external
 * assets, inline CSS): an inline SVG line chart of firings per UTC day, one
 * series per rule with a legend and dated axis, then the table and the
 * suggestions. Mailed as the HTML part of the report email. Every piece of
 * text from the store is HTML-escaped. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "format_internal.h"

#define CHART_W 860
#define CHART_H 280
#define M_LEFT 56
#define M_RIGHT 20
#define M_TOP 16
#define M_BOTTOM 48
#define LEGEND_ROW 20
#define MAX_DAYS 400 /* longer periods chart the newest days with data */

static const char *const palette[] = {
    "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

static void html_escape(struct buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_adds(out, "&amp;");
            break;
        case '<':
            buf_adds(out, "&lt;");
            break;
        case '>':
            buf_adds(out, "&gt;");
            break;
        case '"':
            buf_adds(out, "&quot;");
            break;
        case '\'':
            buf_adds(out, "&#39;");
            break;
        default:
            buf_addc(out, *s);
        }
    }
}

static int64_t count_on(const struct report_rule *rr, int64_t day)
{
    for (size_t i = 0; i < rr->ndays; i++)
        if (rr->days[i].day == day)
            return rr->days[i].n;
    return 0;
}

static void chart(const struct report *r, struct buf *out)
{
    int64_t d0 = (int64_t)floor(r->since / 86400.0);
    int64_t d1 = (int64_t)ceil(r->until / 86400.0) - 1;
    int64_t ndays, ymax = 1, step;
    double pw = CHART_W - M_LEFT - M_RIGHT, ph = CHART_H - M_TOP - M_BOTTOM;
    size_t legend_rows = (r->nrules + 3) / 4;
    char day[16];

    /* An until at midnight ends the previous day: no empty last day,
     * unless a firing came at that very midnight (the period includes
     * until). */
    if (d1 < d0)
        d1 = d0;
    for (size_t i = 0; i < r->nrules; i++)
        for (size_t k = 0; k < r->rules[i].ndays; k++)
            if (r->rules[i].days[k].day > d1 &&
                r->rules[i].days[k].day <= (int64_t)floor(r->until / 86400.0))
                d1 = r->rules[i].days[k].day;
    if (d1 - d0 + 1 > MAX_DAYS) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < r->nrules; i++)
            if (r->rules[i].ndays > 0) {
                const struct report_rule *rr = &r->rules[i];
                if (rr->days[0].day < lo)
                    lo = rr->days[0].day;
                if (rr->days[rr->ndays - 1].day > hi)
                    hi = rr->days[rr->ndays - 1].day;
            }
        if (lo == INT64_MAX)
            lo = hi = d1;
        d0 = hi - lo + 1 > MAX_DAYS ? hi - MAX_DAYS + 1 : lo;
        d1 = hi;
    }
    ndays = d1 - d0 + 1;
    /* The scale of the days drawn, not of days left out. */
    for (size_t i = 0; i < r->nrules; i++)
        for (size_t k = 0; k < r->rules[i].ndays; k++)
            if (r->rules[i].days[k].day >= d0 &&
                r->rules[i].days[k].day <= d1 && r->rules[i].days[k].n > ymax)
                ymax = r->rules[i].days[k].n;

    buf_printf(out,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
               "role=\"img\" width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d "
               "%zu\" aria-label=\"firings per day per rule\">\n",
               CHART_W, CHART_H + legend_rows * LEGEND_ROW + 16, CHART_W,
               CHART_H + legend_rows * LEGEND_ROW + 16);
    buf_printf(out, "<title>firings per day per rule (UTC)</title>\n");
    /* Axes and horizontal grid: 0, half, max. */
    buf_printf(out,
               "<g class=\"axes\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
               "y2=\"%.1f\"/><line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
               "y2=\"%.1f\"/>\n",
               M_LEFT, M_TOP, M_LEFT, M_TOP + ph, M_LEFT, M_TOP + ph,
               M_LEFT + pw, M_TOP + ph);
    for (int k = 0; k <= 2; k++) {
        double v = (double)ymax * k / 2.0;
        double y = M_TOP + ph - ph * k / 2.0;
        buf_printf(out,
                   "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\"/><text class=\"ytick\" x=\"%d\" y=\"%.1f\" "
                   "text-anchor=\"end\">%g</text>\n",
                   M_LEFT, y, M_LEFT + pw, y, M_LEFT - 6, y + 4,
                   floor(v * 10 + 0.5) / 10);
    }
    /* Date labels: every day for short periods, else about 10. */
    step = ndays <= 14 ? 1 : (ndays + 9) / 10;
    for (int64_t d = 0; d < ndays; d += step) {
        double x = ndays == 1 ? M_LEFT + pw / 2
                              : M_LEFT + pw * (double)d / (double)(ndays - 1);
        report_day_str(d0 + d, day, sizeof(day));
        buf_printf(out,
                   "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\">%s</text>\n",
                   x, M_TOP + ph + 16, day);
    }
    buf_printf(out,
               "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" "
               "text-anchor=\"middle\">date (UTC)</text>\n",
               M_LEFT + pw / 2, M_TOP + ph + 36);
    buf_printf(out,
               "<text class=\"label\" transform=\"translate(14 %.1f) "
               "rotate(-90)\" text-anchor=\"middle\">firings per day</text>"
               "</g>\n",
               M_TOP + ph / 2);
    /* One series per rule: a polyline and a dot per day. */
    for (size_t i = 0; i < r->nrules; i++) {
        const struct report_rule *rr = &r->rules[i];
        const char *col = palette[i % NPALETTE];
        buf_adds(out, "<g class=\"series\" data-rule=\"");
        html_escape(out, rr->rule);
        buf_printf(out, "\" stroke=\"%s\" fill=\"%s\"><title>", col, col);
        html_escape(out, rr->rule);
        buf_adds(out, "</title><polyline fill=\"none\" points=\"");
        for (int64_t d = 0; d < ndays; d++) {
            double x = ndays == 1
                           ? M_LEFT + pw / 2
                           : M_LEFT + pw * (double)d / (double)(ndays - 1);
            double y =
                M_TOP + ph - ph * (double)count_on(rr, d0 + d) / (double)ymax;
            buf_printf(out, "%s%.1f,%.1f", d ? " " : "", x, y);
        }
        buf_adds(out, "\"/>");
        for (int64_t d = 0; d < ndays; d++) {
            int64_t n = count_on(rr, d0 + d);
            double x, y;
            if (n == 0)
                continue;
            x = ndays == 1 ? M_LEFT + pw / 2
                           : M_LEFT + pw * (double)d / (double)(ndays - 1);
            y = M_TOP + ph - ph * (double)n / (double)ymax;
            buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", x, y);
        }
        buf_adds(out, "</g>\n");
    }
    /* Legend, four entries per row under the plot. */
    buf_adds(out, "<g class=\"legend\">\n");
    for (size_t i = 0; i < r->nrules; i++) {
        double x = M_LEFT + (double)(i % 4) * (pw / 4);
        double y = CHART_H + 12 + (double)(i / 4) * LEGEND_ROW;
        buf_printf(out,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
                   "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
                   x, y - 10, palette[i % NPALETTE], x + 16, y);
        html_escape(out, r->rules[i].rule);
        buf_adds(out, "</text>\n");
    }
    buf_adds(out, "</g>\n</svg>\n");
}

int report_format_html(const struct report *r, struct buf *out)
{
    char title[128], shortd[32];
    char cells[REPORT_NCOLS][32];
    int nnoisy = 0;

    report_title(r, title, sizeof(title));
    util_format_duration(r->short_s, shortd, sizeof(shortd));
    buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                  "<meta charset=\"utf-8\">\n<title>");
    html_escape(out, title);
    buf_adds(out,
             "</title>\n<style>\n"
             "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,"
             "sans-serif;color:#222;margin:24px;}\n"
             "h1{font-size:20px;}h2{font-size:16px;margin-top:24px;}\n"
             "table{border-collapse:collapse;font-size:13px;}\n"
             "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;}\n"
             "th:first-child,td:first-child{text-align:left;}\n"
             "th{background:#f3f3f3;}\ntr.noisy td{background:#fff1f0;}\n"
             ".chart text{font-size:11px;fill:#444;stroke:none;}\n"
             ".chart .axes line{stroke:#888;}\n"
             ".chart line.grid{stroke:#e5e5e5;}\n"
             ".chart polyline{stroke-width:2;}\n"
             ".muted{color:#777;font-size:12px;}\n"
             "</style>\n</head>\n<body>\n<h1>");
    html_escape(out, title);
    buf_printf(out,
               "</h1>\n<p class=\"muted\">%.1f days (UTC). Short-lived: "
               "resolved within %s of firing; flapping: fired again within "
               "%s of resolving. Noise score = fires per day &times; "
               "(1 + 2 &times; short ratio + 3 &times; flap ratio).</p>\n",
               r->period_days, shortd, shortd);
    if (r->nrules == 0) {
        buf_adds(out, "<p>No alert events in this period.</p>\n"
                      "</body>\n</html>\n");
        return out->failed ? -1 : 0;
    }
    buf_adds(out, "<h2>Firings per day</h2>\n");
    chart(r, out);
    buf_adds(out, "<h2>Rules, noisiest first</h2>\n<table>\n<thead><tr>");
    for (size_t c = 0; c < REPORT_NCOLS; c++)
        buf_printf(out, "<th>%s</th>",
                   c == 12 ? "PER DAY" : report_col_names[c]);
    buf_adds(out, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->nrules; i++) {
        const struct report_rule *rr = &r->rules[i];
        report_cells(rr, cells);
        buf_adds(out, rr->noisy ? "<tr class=\"noisy\"><td>" : "<tr><td>");
        html_escape(out, rr->rule);
        buf_adds(out, "</td>");
        for (size_t c = 1; c < REPORT_NCOLS; c++) {
            buf_adds(out, "<td>");
            html_escape(out, cells[c]);
            buf_adds(out, "</td>");
        }
        buf_adds(out, "</tr>\n");
        nnoisy += rr->noisy;
    }
    buf_adds(out, "</tbody>\n</table>\n");
    if (nnoisy > 0) {
        buf_adds(out, "<h2>Suggestions</h2>\n<ul>\n");
        for (size_t i = 0; i < r->nrules; i++) {
            if (!r->rules[i].noisy)
                continue;
            buf_adds(out, "<li><b>");
            html_escape(out, r->rules[i].rule);
            buf_adds(out, "</b>: ");
            html_escape(out, r->rules[i].suggestion);
            buf_adds(out, "</li>\n");
        }
        buf_adds(out, "</ul>\n");
    } else {
        buf_adds(out, "<p>No noisy rules.</p>\n");
    }
    buf_adds(out, "</body>\n</html>\n");
    return out->failed ? -1 : 0;
}

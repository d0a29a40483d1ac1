/* format_internal.h - helpers shared by the report renderers (format_*.c)
 * and the payload builder; not part of the report's public interface. */
#ifndef TOCSIN_REPORT_FORMAT_INTERNAL_H
#define TOCSIN_REPORT_FORMAT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* "YYYY-MM-DD" of a day number (days since 1970-01-01 UTC). */
void report_day_str(int64_t day, char *out, size_t outlen);
/* "YYYY-MM-DD" of Unix seconds, UTC. */
void report_date_str(double ts, char *out, size_t outlen);
/* A duration for humans, rounded to the second ("4m30s"); "-" when the rule
 * has no episode. */
void report_dur_str(const struct report_rule *rr, double secs, char *out,
                    size_t outlen);
/* x rounded to 3 decimals (JSON figures stay readable). */
double report_round3(double x);
/* The table's columns (text, markdown, HTML): headers and one rule's
 * cells, each a short string. Column 0 (the rule name) is the caller's. */
#define REPORT_NCOLS 14
extern const char *const report_col_names[REPORT_NCOLS];
void report_cells(const struct report_rule *rr, char cells[REPORT_NCOLS][32]);

/* The SPEC report object {"since","until","rules":[...]}; NULL on OOM.
 * Free with cJSON_Delete. */
cJSON *report_json_object(const struct report *r);

#endif

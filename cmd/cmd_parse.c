/* cmd_parse.c - `tocsin parse [FILE...]`: print every sample a metric stream
 * yields as one JSON line {"metric","labels","value","ts"}; rejected lines
 * go to stderr as FILE:LINE: reason, with a summary at exit. Answers "why
 * does my rule not match?". Needs no config (-c is accepted and ignored). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../ingest/parse.h"
#include "cmd.h"
#include "stream.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tocsin parse [FILE...] [--format F] [--strict] [-c FILE]\n"
            "\n"
            "Print each sample a metric stream yields as a JSON line\n"
            "{\"metric\",\"labels\",\"value\",\"ts\"} (a line without a "
            "timestamp takes its arrival time).\n"
            "Reads the files, or stdin when none is given or for \"-\".\n"
            "Rejected lines go to stderr as FILE:LINE: reason.\n"
            "\n"
            "  --format F   json, influx, prom, graphite or statsd (default: "
            "guessed per line)\n"
            "  --strict     exit 1 at the first malformed line\n"
            "  -c FILE      accepted for symmetry; parse needs no config\n"
            "  --store PATH, --notify\n"
            "               accepted for symmetry with eval; ignored\n"
            "  --help       this text\n");
}

/* One sample as a JSON line on stdout (stdio buffers; the stream reader
 * flushes it before it reports a rejected line). Nonzero stops the run when
 * stdout went away (`tocsin parse | head`). */
static int print_sample(void *ctx, const struct sample *s)
{
    struct buf *b = ctx;
    char num[40];

    buf_reset(b);
    buf_adds(b, "{\"metric\":\"");
    buf_add_json_str(b, s->metric, strlen(s->metric));
    buf_adds(b, "\",\"labels\":{");
    for (size_t i = 0; i < s->nlabels; i++) {
        buf_adds(b, i ? ",\"" : "\"");
        buf_add_json_str(b, s->labels[i].name, strlen(s->labels[i].name));
        buf_adds(b, "\":\"");
        buf_add_json_str(b, s->labels[i].value, strlen(s->labels[i].value));
        buf_addc(b, '"');
    }
    util_format_double(s->value, num, sizeof(num));
    buf_printf(b, "},\"value\":%s,\"ts\":", num);
    /* SPEC: without a timestamp, a sample takes its arrival time. */
    util_format_double(isnan(s->ts) ? round(util_now() * 1000) / 1000 : s->ts,
                       num, sizeof(num));
    buf_adds(b, num);
    buf_adds(b, "}\n");
    return fwrite(b->data, 1, b->len, stdout) == b->len ? 0 : 1;
}

/* Between reads (`tail -f app.log | tocsin parse`): show what was read
 * so far, whether the pipe fell quiet or keeps going. Nonzero ends the run
 * when stdout went away. */
static int flush_tick(void *ctx, bool quiet)
{
    (void)ctx;
    (void)quiet;
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"strict", no_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 'S'},
        {"notify", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum ingest_format fmt = FMT_AUTO;
    struct stream_stats st;
    struct buf line;
    bool strict = false;
    int c, rc;

    optind = 0; /* GNU: full re-initialisation, permuting options */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (ingest_format_parse(optarg, &fmt) < 0)
                return cli_usage_error(
                    "parse",
                    "unknown format \"%s\" (want json, influx, prom, "
                    "graphite or statsd)",
                    optarg);
            break;
        case 's':
            strict = true;
            break;
        case 'c':
        case 'S':
        case 'n':
            break; /* parse needs no config, store or notifiers */
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return cli_usage_error("parse", "option %s needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("parse", "unknown option %s",
                                   argv[optind - 1]);
        }
    }
    memset(&st, 0, sizeof(st));
    buf_init(&line, 0);
    rc = stream_run(argc - optind, argv + optind, fmt, strict, print_sample,
                    flush_tick, &line, NULL, &st);
    buf_cleanup(&line);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A closed pipe (`tocsin parse | head`) is not worth a message. */
        if (errno != EPIPE)
            fprintf(stderr, "tocsin parse: cannot write the output: %s\n",
                    strerror(errno));
        return EXIT_WORK;
    }
    /* Also after an unreadable input (its error came first). */
    fprintf(stderr, "parse: %" PRIu64 " samples, %" PRIu64 " lines rejected",
            st.samples, st.rejected);
    stream_print_rejects(&st);
    stream_print_skipped(&st);
    fputc('\n', stderr);
    return rc == 0 ? 0 : EXIT_WORK;
}

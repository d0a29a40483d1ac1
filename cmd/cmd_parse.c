/* cmd_parse.c - `tocsin parse [FILE...]`: print every sample a metric stream
 * yields as one JSON line {"metric","labels","value","ts"}; rejected lines
 * go to stderr as FILE:LINE: reason, with a summary at exit. Answers "why
 * does my rule not match?". Needs no config (-c is accepted and ignored). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../ingest/parse.h"
#include "../ingest/reader.h"
#include "cmd.h"

#define SHOW_LINES 5

struct parse_run {
    struct ingest_parser *parser;
    struct buf out;
    unsigned long samples;
    unsigned long rejected;
    int multi; /* more than one input: name the file in the summary */
    char first_why[256];
    char shown[SHOW_LINES][300];
    int strict;
    int out_failed; /* stdout went away (EPIPE): stop reading */
};

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

static int print_sample(void *ctx, const struct sample *s)
{
    struct parse_run *run = ctx;
    struct buf *b = &run->out;
    char num[40];

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
    run->samples++;
    return 0;
}

static void flush_out(struct parse_run *run)
{
    if (run->out.len > 0 &&
        fwrite(run->out.data, 1, run->out.len, stdout) != run->out.len)
        run->out_failed = 1;
    buf_reset(&run->out);
}

static void note_rejection(struct parse_run *run, const char *name,
                           unsigned long lineno, const char *why)
{
    /* Keep stdout and stderr in line order for a reader of both. */
    flush_out(run);
    fflush(stdout);
    fprintf(stderr, "%s:%lu: %s\n", name, lineno, why);
    if (run->rejected < SHOW_LINES) {
        if (run->multi)
            snprintf(run->shown[run->rejected], sizeof(run->shown[0]), "%s:%lu",
                     name, lineno);
        else
            snprintf(run->shown[run->rejected], sizeof(run->shown[0]), "%lu",
                     lineno);
    }
    if (run->rejected == 0)
        snprintf(run->first_why, sizeof(run->first_why), "%s", why);
    run->rejected++;
}

/* Parse one input. Returns 0, 1 when --strict stopped at a bad line, or -1
 * on a read error (reported). */
static int parse_stream(struct parse_run *run, struct ingest_reader *rd,
                        const char *name)
{
    struct ingest_line ln;
    char why[256];
    int rc;

    while ((rc = ingest_reader_next(rd, &ln)) > 0) {
        int n = ingest_parse_line(run->parser, ln.text, ln.len, print_sample,
                                  run, why, sizeof(why));
        if (n < 0) {
            note_rejection(run, name, ln.lineno, why);
            if (run->strict)
                return 1;
        }
        if (run->out.len > 1 << 16)
            flush_out(run);
        if (run->out_failed)
            return -1;
    }
    if (rc == INGEST_READ_ERROR) {
        fprintf(stderr, "tocsin parse: %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

static int parse_path(struct parse_run *run, const char *path)
{
    struct ingest_reader *rd;
    struct stat st;
    int fd, rc;

    if (strcmp(path, "-") == 0) {
        rd = ingest_reader_new_file(stdin);
        rc = rd ? parse_stream(run, rd, "<stdin>") : -1;
        ingest_reader_free(rd);
        return rc;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "tocsin parse: cannot open %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tocsin parse: %s: is a directory\n", path);
        close(fd);
        return -1;
    }
    rd = ingest_reader_new_fd(fd);
    rc = rd ? parse_stream(run, rd, path) : -1;
    ingest_reader_free(rd);
    close(fd);
    return rc;
}

static void summary(const struct parse_run *run)
{
    fprintf(stderr, "parse: %lu samples, %lu lines rejected", run->samples,
            run->rejected);
    if (run->rejected > 0) {
        fprintf(stderr, " (line%s ", run->rejected > 1 ? "s" : "");
        for (unsigned long i = 0; i < run->rejected && i < SHOW_LINES; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", run->shown[i]);
        if (run->rejected > SHOW_LINES)
            fprintf(stderr, ", ...");
        fprintf(stderr, ": %s)", run->first_why);
    }
    fputc('\n', stderr);
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
    struct parse_run run;
    int c, rc = 0, nfiles;

    memset(&run, 0, sizeof(run));
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
            run.strict = 1;
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
    nfiles = argc - optind;
    run.multi = nfiles > 1;
    run.parser = ingest_parser_new(fmt);
    if (run.parser == NULL) {
        fprintf(stderr, "tocsin parse: out of memory\n");
        return EXIT_WORK;
    }
    buf_init(&run.out, 0);
    if (nfiles == 0) {
        rc = parse_path(&run, "-");
    } else {
        for (int i = optind; i < argc && rc == 0; i++)
            rc = parse_path(&run, argv[i]);
    }
    flush_out(&run);
    if (fflush(stdout) != 0)
        run.out_failed = 1;
    if (run.out_failed) {
        /* A closed pipe (`tocsin parse | head`) is not worth a message. */
        if (errno != EPIPE)
            fprintf(stderr, "tocsin parse: cannot write the output: %s\n",
                    strerror(errno));
        rc = -1;
    }
    if (rc >= 0)
        summary(&run);
    buf_cleanup(&run.out);
    ingest_parser_free(run.parser);
    return rc == 0 ? 0 : EXIT_WORK;
}

/* fuzz_restore.c - libFuzzer target for the series state a store holds
 * (rules/engine_persist.c, window_load): a damaged store must give an
 * error, never a crash. The first input byte picks one of the rules below
 * (each aggregate keeps a different window: samples, sums, sketches, per
 * source counters) or the sources blob; the rest is the blob after its
 * version byte and rule hash, which the target supplies so that the
 * fuzzer reaches the state and window decoders. A restored series is then
 * fed, ticked and saved again. Built by `make fuzz`; seeds are real blobs
 * (fuzz/seeds/fuzz_restore, written by `fuzz_restore --seeds DIR`). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../rules/config.h"
#include "../rules/engine.h"
#include "../rules/engine_int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cfg_text[] =
    "rules:\n"
    "  - {name: r_p90, metric: m, by: [k], window: 1m, aggregate: p90,\n"
    "     severity: {critical: {above: 5, clear: 3, for: 10s, clear_for: "
    "5s},\n"
    "                warning: {above: 2}},\n"
    "     nodata: {after: 1m, severity: warning}}\n"
    "  - {name: r_sketch, metric: m, by: [k], window: 1h, aggregate: p99.9,\n"
    "     severity: {critical: {above: 5}}}\n"
    "  - {name: r_stddev, metric: m, by: [k], window: 1m, aggregate: stddev,\n"
    "     severity: {info: {above: 1}}}\n"
    "  - {name: r_rate, metric: m, by: [k], window: 5m, aggregate: rate,\n"
    "     ratio: {s: \"~5..\"}, severity: {warning: {above: 0.1}}}\n"
    "  - {name: r_increase, metric: m, by: [k], window: 5m,\n"
    "     aggregate: increase, severity: {warning: {above: 3}}}\n"
    "  - {name: r_apdex, metric: m, by: [k], window: 5m,\n"
    "     aggregate: apdex(0.5), severity: {critical: {below: 0.5}}}\n"
    "  - {name: r_count, metric: m, by: [k], window: 5m, aggregate: count,\n"
    "     ratio: {s: \"~5..\"}, severity: {warning: {above: 0.5}}}\n"
    "  - {name: r_last, metric: m, by: [k, s],\n"
    "     severity: {critical: {above: 5}}}\n";

static const struct config *config_once(void)
{
    const struct config *cfg = fuzz_config_once(cfg_text, sizeof(cfg_text) - 1);

    if (cfg->nrules == 0)
        abort(); /* not the config the target was written for */
    return cfg;
}

static int on_event(void *ctx, const struct alert_event *ev)
{
    (void)ctx;
    (void)ev;
    return 0;
}

#ifdef FUZZ_RESTORE_SEEDS
/* --seeds: the blobs engine_save writes, as inputs of this target. */
struct seed_ctx {
    const char *dir;
    const struct config *cfg;
    int n;
};

static int put_seed(void *ctx, const char *key, const char *rule,
                    const char *fingerprint, const void *blob, size_t len)
{
    struct seed_ctx *sc = ctx;
    size_t skip = 1 + sizeof(uint64_t), ri = sc->cfg->nrules;
    unsigned char sel;
    char path[512];
    FILE *f;

    (void)fingerprint;
    if (strcmp(key, SOURCES_KEY) == 0) {
        sel = 0xff;
        skip = 1;
    } else {
        for (ri = 0; ri < sc->cfg->nrules; ri++)
            if (strcmp(sc->cfg->rules[ri].name, rule) == 0)
                break;
        sel = (unsigned char)ri;
    }
    if (len < skip)
        return 0;
    snprintf(path, sizeof(path), "%s/seed-%03d", sc->dir, sc->n++);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    fputc(sel, f);
    fwrite((const char *)blob + skip, 1, len - skip, f);
    return fclose(f) == 0 ? 0 : -1;
}

static int write_seeds(const char *dir)
{
    struct seed_ctx sc = {dir, config_once(), 0};
    struct engine *e = engine_new(sc.cfg);
    struct label lv[2] = {{"k", "a"}, {"s", "200"}};
    int rc;

    for (int i = 0; i < 1200; i++) {
        struct sample s = {"m", lv, 2, (double)(i % 17) * 0.7,
                           1767225600.0 + i * 0.5};
        lv[1].value = i % 5 == 0 ? "503" : "200";
        engine_feed(e, &s, on_event, NULL);
    }
    rc = engine_save(e, true, true, put_seed, &sc);
    engine_free(e);
    printf("%d seeds in %s\n", sc.n, dir);
    return rc == 0 ? 0 : 1;
}
#endif

static int put_none(void *ctx, const char *key, const char *rule,
                    const char *fingerprint, const void *blob, size_t len)
{
    (void)ctx;
    (void)key;
    (void)rule;
    (void)fingerprint;
    (void)blob;
    (void)len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct config *c = config_once();
    struct engine *e;
    struct err err = {0};
    struct buf blob, key;
    struct label lv[2] = {{"k", "a"}, {"s", "500"}};

    if (size < 1)
        return 0;
    buf_init(&blob, 0);
    buf_init(&key, 0);
    if (data[0] == 0xff) {
        buf_adds(&key, SOURCES_KEY);
        buf_addc(&blob, BLOB_VERSION);
    } else {
        const struct rule *r = &c->rules[data[0] % c->nrules];
        uint64_t h = engine_rule_hash(r);

        buf_printf(&key,
                   "%s\x1f"
                   "a",
                   r->name);
        buf_addc(&blob, BLOB_VERSION);
        buf_add(&blob, &h, sizeof(h));
    }
    buf_add(&blob, data + 1, size - 1);
    e = engine_new(c);
    engine_restore(e, buf_str(&key), blob.data, blob.len, &err);
    /* Whatever was restored must take samples, ticks and a save. */
    for (int i = 0; i < 4; i++) {
        struct sample s = {"m", lv, 2, i * 3.0, 1767225600.0 + i};
        engine_feed(e, &s, on_event, NULL);
    }
    engine_advance(e, 1767229200.0, on_event, NULL);
    engine_tick(e, 1767229300.0, on_event, NULL);
    engine_save(e, true, true, put_none, NULL);
    engine_free(e);
    buf_cleanup(&blob);
    buf_cleanup(&key);
    return 0;
}

#ifdef FUZZ_RESTORE_SEEDS
/* Built alone (cc -DFUZZ_RESTORE_SEEDS ... libtocsin.a) to write seeds. */
int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--seeds") != 0) {
        fprintf(stderr, "usage: %s --seeds DIR\n", argv[0]);
        return 2;
    }
    return write_seeds(argv[2]);
}
#endif

/* vgt bench scale [--json] [--seconds S] [--type T] [--guests N,N,...]
 *
 * How the mediated GPU holds up as guests are added (issue 18): for 1, 8,
 * 16, 32 and 64 guests of one type, every guest kept busy with the same
 * checked blit workload on a GPU whose cost model makes the engine the
 * bottleneck:
 *  - aggregate throughput, against 1 guest of the same size running the
 *    same workload in the same run (the goal: it does not fall as guests
 *    are added);
 *  - Jain's index of GPU time over weight, against the ideal 1.0: the
 *    time the scheduler charges (each workload's context timestamp);
 *    beside it, the same index over the workloads each guest completed
 *    (every workload costs the same, so this one does not depend on how
 *    time is charged) and over wall time on the engine (what charging
 *    used to be, host scheduling delays included);
 *  - vgtd's memory per vGPU: the growth of malloc'd bytes and of the
 *    resident set per vGPU added between the smallest and the largest
 *    platform of the run, and the PPGTT shadow bytes each vGPU's work
 *    left.
 * A type that does not fit N guests without graphics-memory sharing is
 * reported as such, and those N run with the largest custom size that
 * fits (reported with the figures). The GGTT switch-cost section is added
 * from `vgt bench ggtt-switch` (scale_ggtt_switch below). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_guests.h"
#include "vgt/bench.h"
#include "vgt/util.h"
#include "vgt_bench.h"

/* 128 x 128 fill + copy at 8 ns a byte: ~1.5 ms of engine per workload,
 * so the engine, not the guests' CPU loops, binds, and a turn of 64
 * guests (~100 ms) fits many times in a run. */
#define SCALE_NS_PER_BYTE 8.0
#define SCALE_BLIT 128
/* Every guest under way before the figures start (one turn of 64). */
#define SCALE_WARMUP_S 0.5
#define APERTURE (512ull << 20)

struct size_pick {
    struct vgt_vgpu_res res;
    bool fits;               /* the type itself fits */
    char why[192];           /* when not: which resource binds */
    uint64_t low_mb, high_mb;
    unsigned fences;
};

/* @type for @n guests, or the largest custom size that fits @n without
 * sharing: each of low GM, high GM and fences cut to its n-th of what the
 * host leaves, shrunk until the partition takes @n of them. */
static int pick_size(const char *type, unsigned n, struct size_pick *sp)
{
    struct vgt_vgpu_res t;
    const char *limit, *why = NULL;
    uint64_t low, high;
    unsigned fences;

    memset(sp, 0, sizeof(*sp));
    if (vgt_vgpu_res_from_type(type, &t))
        return -EINVAL;
    if (gp_fit(&t, APERTURE, &limit) >= n) {
        sp->res = t;
        sp->fits = true;
        return 0;
    }
    snprintf(sp->why, sizeof(sp->why), "%s", limit);
    low = VGT_MIN(t.low_size, (APERTURE - VGT_HOST_LOW_DEFAULT) / n) >> 20;
    high = VGT_MIN(t.high_size, ((4ull << 30) - APERTURE - VGT_HOST_HIGH_DEFAULT) / n) >> 20;
    fences = VGT_MIN(t.fences, (32 - VGT_HOST_FENCES_DEFAULT) / n);
    for (; low >= 1 && high >= 1; low--, high--) {
        if (vgt_vgpu_res_custom(low, high, fences, &sp->res, &why))
            continue;
        if (gp_fit(&sp->res, APERTURE, NULL) >= n) {
            sp->res.weight = t.weight; /* the same share as the type's */
            sp->low_mb = low;
            sp->high_mb = high;
            sp->fences = fences;
            return 0;
        }
    }
    return -ENOSPC;
}

static void emit(int json, const char *metric, double v, const char *unit, double base, const char *base_desc,
                 const char *target)
{
    struct vgt_bench_fig f = {"scale", metric, v, unit, base, base_desc, target};

    vgt_bench_emit(stdout, json, &f);
    fflush(stdout);
}

static void emit_size(int json, const char *type, unsigned n, const struct size_pick *sp)
{
    if (sp->fits) {
        if (json)
            printf("{\"bench\":\"scale\",\"guests\":%u,\"type\":\"%s\",\"fits\":true}\n", n, type);
        else
            printf("scale: %u guests of %s fit\n", n, type);
    } else if (json) {
        printf("{\"bench\":\"scale\",\"guests\":%u,\"type\":\"%s\",\"fits\":false,\"why\":\"%s\","
               "\"fallback\":{\"low_gm_mb\":%llu,\"high_gm_mb\":%llu,\"fences\":%u}}\n",
               n, type, sp->why, (unsigned long long)sp->low_mb, (unsigned long long)sp->high_mb, sp->fences);
    } else {
        printf("scale: %u guests of %s do not fit without sharing (%s); running custom %llu MiB low, "
               "%llu MiB high, %u fences\n",
               n, type, sp->why, (unsigned long long)sp->low_mb, (unsigned long long)sp->high_mb, sp->fences);
    }
    fflush(stdout);
}

/* The GGTT switch cost of graphics-memory sharing (per switch, with the
 * differential scheme and writing every entry, against a plain copy of the
 * same entries): the figures of `vgt bench ggtt-switch`, in this report. */
static int scale_ggtt_switch(int json, double seconds, struct vgt_log *log)
{
    char *argv[] = {"ggtt-switch", json ? "--json" : NULL, NULL};

    (void)seconds, (void)log;
    return vgt_bench_ggtt_switch(json ? 2 : 1, argv);
}

static int parse_guests(const char *s, unsigned *n, unsigned *nr)
{
    char *end;

    *nr = 0;
    while (*s && *nr < 8) {
        unsigned long v = strtoul(s, &end, 10);

        if (end == s || v == 0 || v > GP_MAX_GUESTS || (*end && *end != ','))
            return -EINVAL;
        n[(*nr)++] = (unsigned)v;
        s = *end ? end + 1 : end;
    }
    return *nr && !*s ? 0 : -EINVAL;
}

int vgt_bench_scale(int argc, char **argv)
{
    static const unsigned def_guests[] = {1, 8, 16, 32, 64};
    unsigned guests[8], nr = VGT_ARRAY_SIZE(def_guests);
    const char *type = "V5_8";
    static struct bench_result r[8];
    struct bench_result base;
    struct size_pick base_sp;
    struct vgt_log log;
    double s = 2.0;
    int json = 0, rc;
    unsigned nmax = 0;
    int64_t heap_max = 0, rss_max = 0, heap_min = 0, rss_min = 0;
    uint64_t shadow_max = 0;
    unsigned nmin = 0;

    memcpy(guests, def_guests, sizeof(def_guests));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            s = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
            type = argv[++i];
        } else if (!strcmp(argv[i], "--guests") && i + 1 < argc) {
            if (parse_guests(argv[++i], guests, &nr)) {
                fprintf(stderr, "vgt bench scale: --guests wants a comma list of 1..%d (at most 8)\n",
                        GP_MAX_GUESTS);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: vgt bench scale [--json] [--seconds S] [--type V5_8|V5_4|V5_2|V5_1] "
                            "[--guests 1,8,16,32,64]\n");
            return 2;
        }
    }
    if (s <= 0 || s > 60) {
        fprintf(stderr, "vgt bench scale: --seconds must be in (0, 60]\n");
        return 2;
    }
    if (vgt_vgpu_res_from_type(type, &base_sp.res)) {
        fprintf(stderr, "vgt bench scale: unknown type '%s' (V5_8, V5_4, V5_2, V5_1)\n", type);
        return 2;
    }
    vgt_log_init(&log, "bench", VGT_LOG_ERR);

    for (unsigned k = 0; k < nr; k++)
        nmax = VGT_MAX(nmax, guests[k]);
    for (unsigned k = 0; k < nr; k++) {
        unsigned n = guests[k];
        struct size_pick sp;

        rc = pick_size(type, n, &sp);
        if (rc) {
            fprintf(stderr, "vgt bench scale: no size of %s fits %u guests\n", type, n);
            return 1;
        }
        emit_size(json, type, n, &sp);
        rc = bench_run_guests(&(struct bench_run){.n = n, .res = &sp.res, .type = sp.fits ? type : "custom",
                                                  .wl = GG_WL_BLIT, .blit = SCALE_BLIT,
                                                  .ns_per_byte = SCALE_NS_PER_BYTE, .seconds = s,
                                                  .warmup_s = SCALE_WARMUP_S, .log = &log},
                              &r[k]);
        if (rc || r[k].failures) {
            fprintf(stderr, "vgt bench scale: %u guests failed: %s\n", n, rc ? strerror(-rc) : "wrong results");
            return 1;
        }
        if (getenv("VGT_BENCH_VERBOSE")) /* who got what: outliers show here */
            for (unsigned i = 0; i < n; i++)
                fprintf(stderr, "scale: %u guests: guest %u GPU %.1f ms, wall %.1f ms, %.0f workloads\n", n, i,
                        r[k].busy[i] / 1e6, r[k].wall[i] / 1e6, r[k].done[i]);
        if (!nmin || n < nmin) {
            nmin = n;
            heap_min = r[k].heap_bytes;
            rss_min = r[k].rss_bytes;
        }
        if (n == nmax) {
            heap_max = r[k].heap_bytes;
            rss_max = r[k].rss_bytes;
            shadow_max = r[k].shadow_bytes;
        }
    }
    /* The baseline, last (a warm process, as the runs it is compared
     * with): one guest of the size the largest run uses, the same
     * workload; each guest of every run moves the same bytes per
     * workload. */
    rc = pick_size(type, nmax, &base_sp);
    if (!rc)
        rc = bench_run_guests(&(struct bench_run){.n = 1, .res = &base_sp.res,
                                                  .type = base_sp.fits ? type : "custom", .wl = GG_WL_BLIT,
                                                  .blit = SCALE_BLIT, .ns_per_byte = SCALE_NS_PER_BYTE,
                                                  .seconds = s, .warmup_s = SCALE_WARMUP_S, .log = &log},
                              &base);
    if (rc || base.failures) {
        fprintf(stderr, "vgt bench scale: 1-guest baseline failed: %s\n", rc ? strerror(-rc) : "wrong results");
        return 1;
    }
    for (unsigned k = 0; k < nr; k++) {
        char m[64];

        snprintf(m, sizeof(m), "aggregate_blit_%u_guests", guests[k]);
        emit(json, m, r[k].per_s, "workloads/s", base.per_s, "1 guest, same workload, measured last in the same run",
             "ratio>=0.95");
        snprintf(m, sizeof(m), "jain_fairness_%u_guests", guests[k]);
        emit(json, m, vgt_sched_jain(r[k].busy, r[k].weight, guests[k]), "index", 1.0, "perfect fairness",
             "ratio>=0.99");
        snprintf(m, sizeof(m), "jain_workloads_%u_guests", guests[k]);
        emit(json, m, vgt_sched_jain(r[k].done, r[k].weight, guests[k]), "index", 1.0, "perfect fairness",
             "ratio>=0.99");
        snprintf(m, sizeof(m), "jain_wall_%u_guests", guests[k]);
        emit(json, m, vgt_sched_jain(r[k].wall, r[k].weight, guests[k]), "index", 1.0, "perfect fairness",
             NULL);
    }
    if (nmax > nmin) {
        emit(json, "vgtd_heap_per_vgpu", (double)(heap_max - heap_min) / (nmax - nmin), "B",
             (double)heap_min, "whole platform with the fewest guests, same run", NULL);
        emit(json, "vgtd_rss_per_vgpu", (double)(rss_max - rss_min) / (nmax - nmin), "B", (double)rss_min,
             "whole platform with the fewest guests, same run", NULL);
    }
    emit(json, "ppgtt_shadow_per_vgpu", (double)shadow_max / nmax, "B",
         base.shadow_bytes ? (double)base.shadow_bytes : 0, "1 guest, same workload, same run", NULL);
    return scale_ggtt_switch(json, s, &log) ? 1 : 0;
}

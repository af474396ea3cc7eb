/* vgt bench sched [--json] [--seconds S]
 *
 * Guests on one simulated GPU through the whole mediated path, against
 * baselines measured in the same run:
 *  - mediated vs native throughput, one guest, store workloads (native:
 *    the host driver on a GPU of its own, no mediator; blits: vgt bench
 *    gpu, like for like);
 *  - Jain's fairness index of GPU time over weight for 4 and 16 equal
 *    guests (16 with custom sizes: 16 MiB low, 128 MiB high, 1 fence),
 *    against the ideal 1.0;
 *  - weighted shares for weights 1:2:4, each against its weight share;
 *  - aggregate throughput of 16 guests against 1 guest;
 *  - the watchdog's cost: fairness and throughput of 4 guests with the
 *    watchdog on (the default budget) against off, in alternating rounds;
 *  - the watchdog's reaction: with a hostile guest's workload hung (a
 *    semaphore wait: preempted; a long fill: engine reset) beside three
 *    honest ones, the time from its budget running out to the next
 *    honest workload on that engine, against the budget.
 * Fairness runs use the GPU cost model (simulated GPU time per byte) so
 * the engine is the bottleneck, as on a loaded host. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_guests.h"
#include "gpu_platform.h"
#include "vgt/bench.h"
#include "vgt/cmd_audit.h"
#include "vgt/gpu_workload.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_native.h"
#include "vgt/util.h"
#include "vgt_bench.h"

#define BLIT BENCH_BLIT
#define FAIR_NS_PER_BYTE 8.0
static int run_guests(unsigned n, const struct vgt_vgpu_res *res, const char *type, const unsigned *weights,
                      enum gg_workload wl, double ns_per_byte, double seconds, struct vgt_log *log,
                      struct bench_result *out)
{
    struct bench_run br = {.n = n, .res = res, .type = type, .weights = weights, .wl = wl,
                           .ns_per_byte = ns_per_byte, .seconds = seconds, .log = log};

    return bench_run_guests(&br, out);
}

/* Three honest blit guests and a fourth whose one workload hangs (a
 * semaphore wait on a dword it never writes, or fills longer than its
 * budget); *resume_ns: budget exhausted -> next honest workload on BCS. */
static int hang_recovery(bool fill, unsigned budget_ms, struct vgt_log *log, double *resume_ns,
                         bool *was_reset)
{
    struct gp_cfg cfg;
    struct gp *p;
    struct bench_worker w[3];
    struct vgt_submit_watchdog_stats wd;
    uint32_t cs[8 * 7 + 2], ring[4];
    struct gg *d;
    struct gg_ctx *c;
    struct gg_bo bo, sem;
    size_t k = 0, n;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    memset(w, 0, sizeof(w));
    rc = vgt_vgpu_res_from_type("V5_8", &cfg.res);
    if (rc)
        return rc;
    cfg.guests = 4;
    cfg.type_name = "V5_8";
    cfg.guest_ram = 32ull << 20;
    cfg.ns_per_byte = FAIR_NS_PER_BYTE;
    cfg.cmd_budget = SIM_GPU_NO_LIMIT;
    cfg.semaphore_timeout_ms = SIM_GPU_NO_LIMIT;
    cfg.log = log;
    rc = gp_create(&cfg, &p);
    if (rc)
        return rc;
    for (unsigned i = 0; i < 3 && !rc; i++)
        rc = gg_run_init(&w[i].run, p->guest[i].drv, GG_WL_BLIT, BLIT, BLIT, 0x700 + i);
    d = p->guest[3].drv;
    rc = rc ?: gg_bo_create(d, 4u << 20, true, true, false, &bo);
    rc = rc ?: gg_bo_create(d, 4096, true, false, false, &sem);
    rc = rc ?: gg_ctx_create(d, VGT_ENGINE_BCS, &c);
    if (rc)
        goto out;
    vgt_submit_set_watchdog(p->guest[3].in.sv, budget_ms);
    if (fill) {
        for (unsigned f = 0; f < 8; f++) /* 8 x 4 MiB: ~270 ms at 8 ns/B */
            k += gwl_emit_color_blt(cs + k, bo.gm, 4096, 0, 0, 1024, 1024, 0x1234u + f);
    } else {
        k += gwl_emit_semaphore_wait_eq(cs + k, sem.gm, true, 1);
    }
    k += gwl_emit_bb_end(cs + k);
    /* The batch shares the page with the semaphore dword (at 0, never 1). */
    rc = gg_bo_write(d, &sem, 64, cs, k * 4);
    if (rc)
        goto out;
    for (unsigned i = 0; i < 3; i++) {
        w[i].stop = vgt_now_ns() + 1500000000ull;
        pthread_create(&w[i].thr, NULL, bench_worker_main, &w[i]);
    }
    {
        struct timespec ts = {0, 200000000}; /* the honest guests under way */

        nanosleep(&ts, NULL);
    }
    n = gwl_emit_bb_start(ring, sem.gm + 64, false, false);
    n += gwl_emit_noop(ring + n);
    rc = gg_submit(d, c, ring, n);
    for (unsigned i = 0; i < 3; i++)
        pthread_join(w[i].thr, NULL);
    vgt_submit_watchdog_stats(p->sub, &wd);
    for (unsigned i = 0; i < 3; i++)
        if (w[i].rc || w[i].run.failures || vgt_vgpu_in_failsafe(p->guest[i].in.vgpu))
            rc = rc ?: -EIO;
    if (!rc && (wd.hangs != 1 || !vgt_vgpu_in_failsafe(p->guest[3].in.vgpu) || !wd.last_resume_ns))
        rc = -EIO;
    *resume_ns = (double)wd.last_resume_ns;
    *was_reset = wd.resets == 1;
out:
    for (unsigned i = 0; i < 3; i++)
        gg_run_fini(&w[i].run);
    gp_destroy(p);
    return rc;
}

static int native_per_s(enum sim_native_workload wl, double seconds, struct vgt_log *log, double *per_s)
{
    struct sim_arena *a;
    struct sim_gpu *gpu;
    struct sim_native *n;
    struct sim_native_run_cfg rc = {.workload = wl, .seconds = seconds, .blit_w = BLIT, .blit_h = BLIT};
    struct sim_native_result res;
    int ret = sim_arena_create(256ull << 20, &a);

    if (ret)
        return ret;
    ret = sim_gpu_create(a, NULL, log, &gpu);
    if (!ret) {
        ret = sim_native_create(sim_gpu_hostgpu(gpu), log, NULL, &n);
        if (!ret) {
            ret = sim_native_run(n, &rc, &res);
            if (!ret && res.failures)
                ret = -EIO;
            if (!ret)
                *per_s = (double)(res.blits + res.stores) / res.elapsed_s;
            sim_native_destroy(n);
        }
        sim_gpu_destroy(gpu);
    }
    sim_arena_destroy(a);
    return ret;
}

/* Audit throughput on a realistic blitter stream (stores, flushes,
 * whitelisted LRIs, fills and copies with in-range GGTT addresses) against
 * a plain sequential read of the same buffer, both in bytes per second.
 * Each pass copies the stream (the auditor patches its copy; the read
 * side copies too) and then audits it, or reads it; the two kinds of
 * pass alternate for @seconds, and each side's figure is its fastest
 * pass. On a shared machine a pass either ran undisturbed or was slowed
 * by whatever else ran; the fastest is the undisturbed cost, so the ratio
 * no longer swings with the load (the older figures, averages over
 * consecutive quarter-runs of each side, moved by 2-5x). */
static int audit_rate(double seconds, double *audit_bps, double *read_bps)
{
    static const struct vgt_audit_range rg = {0x08000000ull, 64ull << 20};
    enum { NDW = 1 << 16 };
    struct vgt_auditor *a = malloc(sizeof(*a));
    struct vgt_audit_result *r = malloc(sizeof(*r));
    uint32_t *buf = malloc(NDW * 4), *copy = malloc(NDW * 4);
    volatile uint32_t sink = 0;
    size_t n = 0;
    uint64_t t0, best_audit = UINT64_MAX, best_read = UINT64_MAX;
    int rc = -ENOMEM;

    if (!a || !r || !buf || !copy)
        goto out;
    while (n + 32 < NDW - 1) {
        uint64_t gm = rg.base + (n * 64) % (rg.size / 2);

        n += gwl_emit_sdi(buf + n, gm, true, (uint32_t)n);
        n += gwl_emit_flush_dw(buf + n, gm + 8, true, 1);
        n += gwl_emit_lri(buf + n, 0x22200, 0x10001); /* BCS_SWCTRL */
        n += gwl_emit_color_blt(buf + n, gm, 1024, 0, 0, 64, 16, 0xff);
        n += gwl_emit_src_copy_blt(buf + n, gm + 0x100000, 1024, 0, 0, 64, 16, gm, 1024, 0, 0);
        n += gwl_emit_noop(buf + n);
    }
    n += gwl_emit_bb_end(buf + n);
    rc = vgt_audit_init(a, &rg, 1, NULL, NULL);
    if (rc)
        goto out;
    t0 = vgt_now_ns();
    do {
        struct vgt_audit_buf b = {.dw = copy, .ndw = n, .gma = rg.base};
        uint64_t t = vgt_now_ns();
        uint32_t x = 0;

        memcpy(copy, buf, n * 4); /* the copy the auditor may patch */
        rc = vgt_audit_batch(a, NULL, VGT_ENGINE_BCS, &b, r);
        if (rc)
            goto out;
        best_audit = VGT_MIN(best_audit, vgt_now_ns() - t);
        t = vgt_now_ns();
        memcpy(copy, buf, n * 4);
        for (size_t i = 0; i < n; i++)
            x += copy[i];
        sink += x;
        best_read = VGT_MIN(best_read, vgt_now_ns() - t);
    } while ((double)(vgt_now_ns() - t0) / 1e9 < seconds / 2);
    *audit_bps = (double)(n * 4) / ((double)VGT_MAX(best_audit, 1) / 1e9);
    *read_bps = (double)(n * 4) / ((double)VGT_MAX(best_read, 1) / 1e9);
    (void)sink;
out:
    free(copy);
    free(buf);
    free(r);
    free(a);
    return rc;
}

static void emit(int json, const char *metric, double v, const char *unit, double base,
                 const char *base_desc, const char *target)
{
    struct vgt_bench_fig f = {"sched", metric, v, unit, base, base_desc, target};

    vgt_bench_emit(stdout, json, &f);
    fflush(stdout);
}

int vgt_bench_sched(int argc, char **argv)
{
    struct vgt_log log;
    struct vgt_vgpu_res v58, small;
    struct bench_result r, r1;
    double s = 2.0, nat;
    int json = 0, rc;
    const char *why = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            s = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: vgt bench sched [--json] [--seconds S]\n");
            return 2;
        }
    }
    if (s <= 0 || s > 60) {
        fprintf(stderr, "vgt bench sched: --seconds must be in (0, 60]\n");
        return 2;
    }
    vgt_log_init(&log, "bench", VGT_LOG_ERR);
    if (vgt_vgpu_res_from_type("V5_8", &v58) || vgt_vgpu_res_custom(16, 128, 1, &small, &why)) {
        fprintf(stderr, "vgt bench sched: vGPU sizes refused: %s\n", why ? why : "V5_8");
        return 1;
    }
    small.weight = v58.weight;

    /* 0. audit throughput */
    {
        double ab, rb;

        rc = audit_rate(s, &ab, &rb);
        if (rc) {
            fprintf(stderr, "vgt bench sched: audit stream refused: %s\n", strerror(-rc));
            return 1;
        }
        emit(json, "command_audit_bytes_per_s", ab, "B/s", rb,
             "copy + sequential read of the same stream, fastest of alternating passes", "ratio>=0.3");
    }
    /* 1. mediated vs native, one guest */
    {
        /* The blit comparison is like for like in `vgt bench gpu` (the
         * guest loop here keeps two blits in flight and checks one; the
         * native loop keeps one and checks each). */
        static const struct { enum gg_workload g; enum sim_native_workload n; const char *m; } wls[] = {
            {GG_WL_STORE, SIM_WL_STORE, "mediated_vs_native_store_1guest"},
        };

        for (size_t i = 0; i < VGT_ARRAY_SIZE(wls); i++) {
            rc = native_per_s(wls[i].n, s, &log, &nat);
            if (!rc)
                rc = run_guests(1, &v58, "V5_8", NULL, wls[i].g, 0, s, &log, &r);
            if (rc || r.failures) {
                fprintf(stderr, "vgt bench sched: %s failed: %s\n", wls[i].m, rc ? strerror(-rc) : "wrong results");
                return 1;
            }
            emit(json, wls[i].m, r.per_s, "workloads/s", nat, "native driver, same workload, same run",
                 "ratio>=0.95");
        }
    }
    /* 2. fairness, equal weights */
    {
        static const unsigned ns[2] = {4, 16};

        for (unsigned i = 0; i < 2; i++) {
            const struct vgt_vgpu_res *res = ns[i] == 16 ? &small : &v58;
            char m[64];

            rc = run_guests(ns[i], res, ns[i] == 16 ? "custom" : "V5_8", NULL, GG_WL_BLIT, FAIR_NS_PER_BYTE, s * (ns[i] == 16 ? 1.5 : 1), &log, &r);
            if (rc || r.failures) {
                fprintf(stderr, "vgt bench sched: %u guests failed: %s\n", ns[i], rc ? strerror(-rc) : "wrong results");
                return 1;
            }
            snprintf(m, sizeof(m), "jain_fairness_%u_equal_guests", ns[i]);
            emit(json, m, vgt_sched_jain(r.busy, r.weight, ns[i]), "index", 1.0, "perfect fairness",
                 "ratio>=0.98");
        }
    }
    /* 3. weighted shares 1:2:4 */
    {
        static const unsigned wt[3] = {1, 2, 4};
        double tot = 0;

        rc = run_guests(3, &v58, "V5_8", wt, GG_WL_BLIT, FAIR_NS_PER_BYTE, s * 1.5, &log, &r);
        if (rc || r.failures) {
            fprintf(stderr, "vgt bench sched: weighted run failed: %s\n", rc ? strerror(-rc) : "wrong results");
            return 1;
        }
        for (unsigned i = 0; i < 3; i++)
            tot += r.busy[i];
        for (unsigned i = 0; i < 3; i++) {
            char m[64];

            snprintf(m, sizeof(m), "gpu_share_weight_%u_of_1_2_4", wt[i]);
            emit(json, m, tot ? r.busy[i] / tot : 0, "share", wt[i] / 7.0, "weight share",
                 "0.9<=ratio<=1.1");
        }
    }
    /* 4. aggregate throughput, 16 guests against 1 (CPU cost model) */
    rc = run_guests(1, &small, "custom", NULL, GG_WL_STORE, 0, s, &log, &r1);
    if (!rc)
        rc = run_guests(16, &small, "custom", NULL, GG_WL_STORE, 0, s, &log, &r);
    if (rc || r.failures || r1.failures) {
        fprintf(stderr, "vgt bench sched: aggregate runs failed: %s\n", rc ? strerror(-rc) : "wrong results");
        return 1;
    }
    emit(json, "aggregate_store_16_guests", r.per_s, "workloads/s", r1.per_s, "1 guest, same run", NULL);
    /* 5. the watchdog's cost: on (default budget) against off, in
     * alternating rounds (off, on, off, on, ...) so that the other
     * tenants' load falls on both alike; each side's throughput is the
     * mean of its rounds and its busy times their sum. */
    {
        enum { ROUNDS = 3 };
        struct vgt_vgpu_res off = v58;
        struct bench_result ron = {0}, roff = {0};

        off.watchdog_ms = VGT_SUBMIT_WATCHDOG_OFF;
        rc = 0;
        for (int k = 0; k < 2 * ROUNDS && !rc; k++) {
            struct bench_result one, *acc = k % 2 ? &ron : &roff;

            rc = run_guests(4, k % 2 ? &v58 : &off, "V5_8", NULL, GG_WL_BLIT, FAIR_NS_PER_BYTE, s / ROUNDS, &log,
                            &one);
            if (rc)
                break;
            acc->per_s += one.per_s / ROUNDS;
            acc->failures += one.failures;
            for (unsigned i = 0; i < 4; i++) {
                acc->busy[i] += one.busy[i];
                acc->weight[i] = one.weight[i];
            }
        }
        if (rc || ron.failures || roff.failures) {
            fprintf(stderr, "vgt bench sched: watchdog runs failed: %s\n", rc ? strerror(-rc) : "wrong results");
            return 1;
        }
        emit(json, "jain_fairness_4_guests_watchdog_on", vgt_sched_jain(ron.busy, ron.weight, 4), "index",
             vgt_sched_jain(roff.busy, roff.weight, 4), "watchdog off, same work, same run", "ratio>=0.99");
        emit(json, "blit_4_guests_watchdog_on", ron.per_s, "workloads/s", roff.per_s,
             "watchdog off, same work, same run", "ratio>=0.97");
    }
    /* 6. the watchdog's reaction, preemption and engine reset */
    {
        static const unsigned budget_ms = 50;

        for (int fill = 0; fill <= 1; fill++) {
            double ns = 0;
            bool reset = false;

            rc = hang_recovery(fill, budget_ms, &log, &ns, &reset);
            if (rc || reset != (fill == 1)) {
                fprintf(stderr, "vgt bench sched: hang recovery (%s) failed: %s\n", fill ? "fill" : "semaphore",
                        rc ? strerror(-rc) : "stopped the wrong way");
                return 1;
            }
            emit(json, fill ? "hang_to_others_running_reset_ms" : "hang_to_others_running_preempt_ms",
                 ns / 1e6, "ms", budget_ms, "the hung workload's budget, same run", "ratio<=0.5");
        }
    }
    return 0;
}

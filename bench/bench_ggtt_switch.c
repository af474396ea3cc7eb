/* vgt bench ggtt-switch [--json] [--iters N] [--mapped N]
 *
 * Cost of one graphics-memory residency switch between two V5_8 vGPUs on
 * the same range set (docs/vgpu.md "Sharing graphics memory"), each with
 * @mapped entries (default 2048: 8 MiB of buffers, contexts and rings)
 * mapped to its own guest memory and the rest of its 114,688 entries
 * unmapped, as a guest's are:
 *
 * 1. switch_differential_us: vgt_ggtt_make_resident as dispatch does it
 *    (blocks where neither side maps anything are taken over without a
 *    write, the others compared entry by entry);
 * 2. switch_full_us: the same switch writing every entry
 *    (VGT_GGTT_SWITCH_FULL), what a switch without the differential
 *    scheme costs;
 * baseline of both: a plain copy of the same 114,688 entries from a table
 *    into the physical GGTT through the host-GPU seam, no bookkeeping.
 * Both vGPUs alternate, so every measured call is a real switch.
 *
 * Then pre-copy (docs/vgpu.md "Pre-copy"), end to end on the simulated
 * platform: 4 V5_8 guests on a 256 MiB aperture (2 range sets, 2 guests
 * each), each with @mapped entries mapped, each running the same number
 * of checked blits on one engine whose cost model makes it the
 * bottleneck. Twice, the same work: pre-copy off, then on. Figures: the
 * time a dispatch that needed its set back spent on it, per such dispatch
 * (3. switch_on_path_no_precopy_us: every switch at dispatch;
 * 4. switch_on_path_precopy_us: switches left at dispatch plus the
 * residency check of the dispatches a pre-copy served), both against the
 * same plain copy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_platform.h"
#include "vgt/bench.h"
#include "vgt/ggtt.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_hv.h"
#include "vgt/util.h"
#include "vgt/vgpu.h"
#include "vgt_bench.h"

#define MIB (1ull << 20)

struct rig {
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_gpu *sgpu;
    struct sim_guest *guest[2];
    struct vgt_ggtt_phys *phys;
    struct vgt_ggtt *g[2];
};

static void rig_down(struct rig *r)
{
    for (unsigned i = 0; i < 2; i++) {
        vgt_ggtt_destroy(r->g[i]);
        if (r->guest[i])
            sim_guest_destroy(r->guest[i]);
    }
    vgt_ggtt_phys_destroy(r->phys);
    if (r->sgpu)
        sim_gpu_destroy(r->sgpu);
    if (r->hv)
        sim_hv_destroy(r->hv);
    if (r->arena)
        sim_arena_destroy(r->arena);
}

static int rig_up(struct rig *r, unsigned mapped)
{
    struct sim_hv_cfg hc = {0};
    struct vgt_ggtt_cfg c = {0};
    struct vgt_vgpu_res res;
    int ret;

    vgt_log_init(&r->log, "bench", VGT_LOG_ERR);
    vgt_vgpu_res_from_type("V5_8", &res);
    if ((ret = sim_arena_create(1ull << 30, &r->arena)))
        return ret;
    hc.arena = r->arena;
    hc.log = &r->log;
    if ((ret = sim_hv_create(&hc, &r->hv)) || (ret = sim_gpu_create(r->arena, NULL, &r->log, &r->sgpu)))
        return ret;
    c.gpu = sim_gpu_hostgpu(r->sgpu);
    if ((ret = vgt_ggtt_phys_create(c.gpu, &r->phys)))
        return ret;
    /* The first free range set of the default GPU, shared by both. */
    c.phys = r->phys;
    c.log = &r->log;
    c.low_base = VGT_HOST_LOW_DEFAULT;
    c.low_size = res.low_size;
    c.high_base = c.gpu->aperture_size + VGT_HOST_HIGH_DEFAULT;
    c.high_size = res.high_size;
    for (unsigned i = 0; i < 2; i++) {
        struct sim_guest_cfg gc = {.domid = (uint16_t)(i + 1), .ram_bytes = 64 * MIB, .nr_vcpus = 1};

        if ((ret = sim_guest_create(r->hv, &gc, &r->guest[i])))
            return ret;
        c.hv = sim_guest_hv(r->guest[i]);
        if ((ret = vgt_ggtt_create(&c, &r->g[i])))
            return ret;
        /* Half the buffers in each range, as the guest driver places them. */
        for (unsigned k = 0; k < mapped; k++) {
            uint64_t gm = (k % 2 ? c.high_base : c.low_base) + (uint64_t)(k / 2) * VGT_PAGE_SIZE;
            uint64_t pte = ((uint64_t)(k + 16) << 12) | 1;

            if ((ret = vgt_ggtt_guest_write(r->g[i], (gm >> 12) * 8, 8, pte)))
                return ret;
        }
    }
    return 0;
}

#define PC_GUESTS 4
#define PC_BLIT 128
#define PC_NS_PER_BYTE 8.0 /* ~1.5 ms of engine per workload, as bench scale */

struct pc_result {
    struct vgt_submit_gm_stats gm;
    uint64_t workloads, failures;
    double seconds;
};

struct pc_worker {
    struct gg_run run;
    unsigned rounds;
    int rc;
    pthread_t thr;
};

static void *pc_worker_main(void *arg)
{
    struct pc_worker *w = arg;

    for (unsigned i = 0; i < w->rounds && !w->rc; i++)
        w->rc = gg_run_step(&w->run, 10000);
    return NULL;
}

/* @rounds checked blits per guest, pre-copy @on or off; added to @out. */
static int precopy_run(bool on, unsigned rounds, unsigned mapped, struct pc_result *out)
{
    struct vgt_log log;
    struct gp_cfg cfg = {.guests = PC_GUESTS, .type_name = "V5_8", .guest_ram = 32 * MIB,
                         .aperture = 256 * MIB, .ns_per_byte = PC_NS_PER_BYTE, .log = &log};
    struct pc_worker w[PC_GUESTS] = {0};
    struct vgt_submit_gm_stats gm;
    struct gp *p = NULL;
    uint64_t t0;
    int rc;

    vgt_log_init(&log, "bench", VGT_LOG_ERR);
    vgt_vgpu_res_from_type("V5_8", &cfg.res);
    rc = gp_create(&cfg, &p);
    if (rc)
        return rc;
    vgt_submit_set_gm_precopy(p->sub, on);
    for (unsigned i = 0; i < PC_GUESTS && !rc; i++) {
        struct gg_bo lo, hi;

        /* Buffers the guest keeps mapped, half low, half high. */
        rc = gg_bo_create(p->guest[i].drv, (size_t)mapped / 2 * VGT_PAGE_SIZE, true, false, false, &lo);
        rc = rc ?: gg_bo_create(p->guest[i].drv, (size_t)mapped / 2 * VGT_PAGE_SIZE, true, true, false, &hi);
        rc = rc ?: gg_run_init(&w[i].run, p->guest[i].drv, GG_WL_BLIT, PC_BLIT, PC_BLIT, 0x77 + i);
        w[i].rounds = rounds;
    }
    if (rc)
        goto out;
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < PC_GUESTS; i++)
        if (pthread_create(&w[i].thr, NULL, pc_worker_main, &w[i]))
            w[i].rc = -EAGAIN, w[i].thr = 0;
    for (unsigned i = 0; i < PC_GUESTS; i++)
        if (w[i].thr)
            pthread_join(w[i].thr, NULL);
    out->seconds += (vgt_now_ns() - t0) / 1e9;
    vgt_submit_gm_stats(p->sub, &gm);
    out->gm.switches += gm.switches;
    out->gm.switch_ns += gm.switch_ns;
    out->gm.precopies += gm.precopies;
    out->gm.precopy_ns += gm.precopy_ns;
    out->gm.precopy_hits += gm.precopy_hits;
    out->gm.precopy_hit_ns += gm.precopy_hit_ns;
    out->gm.precopy_lost += gm.precopy_lost;
    for (unsigned i = 0; i < PC_GUESTS; i++) {
        rc = rc ?: w[i].rc;
        out->workloads += w[i].run.blits;
        out->failures += w[i].run.failures;
        gg_run_fini(&w[i].run);
    }
out:
    gp_destroy(p);
    return rc;
}

int vgt_bench_ggtt_switch(int argc, char **argv)
{
    struct rig r = {0};
    struct vgt_hostgpu *hw;
    struct vgt_ggtt_switch sw;
    unsigned iters = 200, mapped = 2048, rounds = 150;
    uint64_t *table, rows, low_first, high_first, low_n, t0, t_diff, t_full, t_copy, written = 0;
    int json = 0, ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
            iters = (unsigned)strtoul(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--mapped") && i + 1 < argc) {
            mapped = (unsigned)strtoul(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = (unsigned)strtoul(argv[++i], NULL, 0);
        } else {
            fprintf(stderr, "usage: vgt bench ggtt-switch [--json] [--iters N] [--mapped N] [--rounds N]\n");
            return 2;
        }
    }
    if (!iters || !rounds || mapped > 16384) {
        fprintf(stderr, "vgt bench ggtt-switch: --iters and --rounds must be >= 1, --mapped <= 16384\n");
        return 2;
    }
    ret = rig_up(&r, mapped);
    if (ret) {
        fprintf(stderr, "vgt bench ggtt-switch: set-up failed: %s\n", strerror(-ret));
        rig_down(&r);
        return 1;
    }
    hw = sim_gpu_hostgpu(r.sgpu);
    low_first = VGT_HOST_LOW_DEFAULT >> 12;
    low_n = (64 * MIB) >> 12;
    high_first = (hw->aperture_size + VGT_HOST_HIGH_DEFAULT) >> 12;
    rows = low_n + ((384 * MIB) >> 12);
    table = malloc(rows * sizeof(*table));
    if (!table) {
        rig_down(&r);
        return 1;
    }
    for (uint64_t k = 0; k < rows; k++)
        table[k] = ((k + 7) << 12) | 1;

    vgt_ggtt_make_resident(r.g[1], 0, NULL);
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < iters; i++) {
        vgt_ggtt_make_resident(r.g[i % 2], 0, &sw);
        written += sw.written;
    }
    t_diff = vgt_now_ns() - t0;
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < iters; i++)
        vgt_ggtt_make_resident(r.g[i % 2], VGT_GGTT_SWITCH_FULL, NULL);
    t_full = vgt_now_ns() - t0;
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < iters; i++)
        for (uint64_t k = 0; k < rows; k++)
            hw->ops->ggtt_write(hw, k < low_n ? low_first + k : high_first + k - low_n, table[k] + i);
    t_copy = vgt_now_ns() - t0;

    vgt_bench_emit(stdout, json,
                   &(struct vgt_bench_fig){"ggtt-switch", "switch_differential_us", t_diff / 1e3 / iters, "us",
                                           t_copy / 1e3 / iters,
                                           "plain copy of the V5_8's 114688 entries into the GGTT", "ratio<=0.1"});
    vgt_bench_emit(stdout, json,
                   &(struct vgt_bench_fig){"ggtt-switch", "switch_full_us", t_full / 1e3 / iters, "us",
                                           t_copy / 1e3 / iters,
                                           "plain copy of the V5_8's 114688 entries into the GGTT", NULL});
    if (!json)
        printf("entries written per differential switch: %.0f of %llu (%u mapped per vGPU)\n",
               (double)written / iters, (unsigned long long)rows, mapped);
    free(table);
    rig_down(&r);

    {
        struct pc_result off, on;
        double copy_us = t_copy / 1e3 / iters, off_us, on_us;
        uint64_t on_n;

        /* Alternated, twice each, and summed: the machine's load drifts. */
        memset(&off, 0, sizeof(off));
        memset(&on, 0, sizeof(on));
        ret = 0;
        for (unsigned k = 0; k < 4 && !ret; k++)
            ret = precopy_run(k % 2, rounds, mapped, k % 2 ? &on : &off);
        if (ret || off.failures || on.failures || !off.gm.switches) {
            fprintf(stderr, "vgt bench ggtt-switch: pre-copy runs failed: %s, %llu + %llu wrong results, %llu switches\n",
                    ret ? strerror(-ret) : "ok", (unsigned long long)off.failures,
                    (unsigned long long)on.failures, (unsigned long long)off.gm.switches);
            return 1;
        }
        off_us = off.gm.switch_ns / 1e3 / (double)off.gm.switches;
        on_n = on.gm.switches + on.gm.precopy_hits;
        on_us = on_n ? (on.gm.switch_ns + on.gm.precopy_hit_ns) / 1e3 / (double)on_n : 0;
        vgt_bench_emit(stdout, json,
                       &(struct vgt_bench_fig){"ggtt-switch", "switch_on_path_no_precopy_us", off_us, "us", copy_us,
                                               "plain copy of the V5_8's 114688 entries into the GGTT", "ratio<=0.1"});
        vgt_bench_emit(stdout, json,
                       &(struct vgt_bench_fig){"ggtt-switch", "switch_on_path_precopy_us", on_us, "us", copy_us,
                                               "plain copy of the V5_8's 114688 entries into the GGTT", "ratio<=0.1"});
        vgt_bench_emit(stdout, json,
                       &(struct vgt_bench_fig){"ggtt-switch", "precopy_served_share",
                                               on_n ? (double)on.gm.precopy_hits / (double)on_n : 0, "ratio", 1.0,
                                               "every switch served ahead of its dispatch", NULL});
        vgt_bench_emit(stdout, json,
                       &(struct vgt_bench_fig){"ggtt-switch", "precopy_blits_per_s",
                                               (double)on.workloads / on.seconds, "workloads/s",
                                               (double)off.workloads / off.seconds,
                                               "the same blits with pre-copy off, same run", NULL});
        if (!json)
            printf("pre-copy off: %llu switches at dispatch (%.1f us each); on: %llu at dispatch (%.1f us each), "
                   "%llu pre-copies (%.1f us each, off the path), %llu served a dispatch (%.2f us each: the "
                   "check), %llu lost to a sharer; %llu blits each side\n",
                   (unsigned long long)off.gm.switches, off_us, (unsigned long long)on.gm.switches,
                   on.gm.switches ? on.gm.switch_ns / 1e3 / (double)on.gm.switches : 0.0,
                   (unsigned long long)on.gm.precopies,
                   on.gm.precopies ? on.gm.precopy_ns / 1e3 / (double)on.gm.precopies : 0.0,
                   (unsigned long long)on.gm.precopy_hits,
                   on.gm.precopy_hits ? on.gm.precopy_hit_ns / 1e3 / (double)on.gm.precopy_hits : 0.0,
                   (unsigned long long)on.gm.precopy_lost, (unsigned long long)on.workloads);
    }
    return 0;
}

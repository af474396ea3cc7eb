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
 * Both vGPUs alternate, so every measured call is a real switch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int vgt_bench_ggtt_switch(int argc, char **argv)
{
    struct rig r = {0};
    struct vgt_hostgpu *hw;
    struct vgt_ggtt_switch sw;
    unsigned iters = 200, mapped = 2048;
    uint64_t *table, rows, low_first, high_first, low_n, t0, t_diff, t_full, t_copy, written = 0;
    int json = 0, ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
            iters = (unsigned)strtoul(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--mapped") && i + 1 < argc) {
            mapped = (unsigned)strtoul(argv[++i], NULL, 0);
        } else {
            fprintf(stderr, "usage: vgt bench ggtt-switch [--json] [--iters N] [--mapped N]\n");
            return 2;
        }
    }
    if (!iters || mapped > 16384) {
        fprintf(stderr, "vgt bench ggtt-switch: --iters must be >= 1, --mapped <= 16384\n");
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
    return 0;
}

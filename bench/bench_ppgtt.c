/* vgt-bench-ppgtt [--json] [--rounds N]: a bench program of its own (not
 * `vgt bench`), because it runs on the seam doubles of sim/fake, which
 * no shipped program may link (tests/tools: shipped_no_fake).
 *
 * - shadow build cost per PTE for a guest table mapping 1 GiB in 4 KiB
 *   pages (262144 PTEs in 512 page tables), against a plain walk of the
 *   same table (every table page read through the hv seam, every entry
 *   decoded and followed) in the same run;
 * - a remap-heavy workload (a guest rebinding buffers: each round remaps
 *   256 PTEs spread over a window of 16 page tables that slides over 96,
 *   more than the OOS pool holds, then submits, i.e. syncs; then the same
 *   over 48 tables, which fit the pool), with
 *   out-of-sync pages off (baseline) and on: write-protect traps, total
 *   time and their ratio (target: >= 5x fewer traps with OOS on);
 *   the time is given twice: CPU time of the in-process run, and that
 *   plus traps x the cost of an eventfd round trip between two threads
 *   measured in the same run (the floor of a trap on the simulated
 *   platform, where a trap is an ioreq);
 * - shadow memory per guest page-table page, against the 4 KiB the guest
 *   page itself takes.
 *
 * Times are the thread's CPU time. The guest here is a small in-process hv on the sim arena (scrambled p2m,
 * writes to protected gfns handed to the handler and not applied), so a
 * trap costs a function call: on Xen each trap is also a VM exit and an
 * ioreq round trip (see `vgt bench ioreq`), which only widens the time
 * gap in favour of OOS. */
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_hv.h"
#include "vgt/bench.h"
#include "vgt/gen8_gtt.h"
#include "vgt/ppgtt.h"
#include "vgt/sim_arena.h"
#include "vgt/util.h"

/* CPU time of this thread: the machines are shared, and wall time mostly
 * measures the other tenants. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The floor of one trap on the simulated platform: an eventfd round trip
 * to another thread and back (what an ioreq costs without the emulation
 * work), mean over @n round trips, wall time. */
struct pingpong {
    int to, from;
    unsigned n;
};

static void *pong(void *opaque)
{
    struct pingpong *pp = opaque;
    uint64_t v;

    for (unsigned i = 0; i < pp->n; i++) {
        if (read(pp->to, &v, 8) != 8 || write(pp->from, &v, 8) != 8)
            break;
    }
    return NULL;
}

static double trap_floor_ns(unsigned n)
{
    struct pingpong pp = {eventfd(0, 0), eventfd(0, 0), n};
    pthread_t t;
    uint64_t v = 1, t0, ns = 0;

    if (pp.to < 0 || pp.from < 0 || pthread_create(&t, NULL, pong, &pp))
        goto close_fds;
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < n; i++)
        if (write(pp.to, &v, 8) != 8 || read(pp.from, &v, 8) != 8)
            break;
    ns = vgt_now_ns() - t0;
    pthread_join(t, NULL);
close_fds:
    if (pp.to >= 0)
        close(pp.to);
    if (pp.from >= 0)
        close(pp.from);
    return n ? (double)ns / n : 0;
}

/* ---- the workloads ---- */

#define PTE(gfn) (((uint64_t)(gfn) << 12) | GEN8_PTE_PRESENT | GEN8_PTE_RW)
#define T_PML4 16
#define T_PDP 17
#define T_PD 18
#define T_PT0 32 /* 512 page tables from here */
#define DATA0 1024
#define NDATA 15000

/* 1 GiB at va 0 in 4 KiB pages, written by the guest before any shadow. */
static int build_1g(struct fake_hv *g)
{
    int ret = fake_hv_guest_write64(g, (uint64_t)T_PML4 << 12, PTE(T_PDP));

    ret = ret ? ret : fake_hv_guest_write64(g, (uint64_t)T_PDP << 12, PTE(T_PD));
    for (unsigned d = 0; d < 512 && !ret; d++) {
        ret = fake_hv_guest_write64(g, ((uint64_t)T_PD << 12) + d * 8, PTE(T_PT0 + d));
        for (unsigned i = 0; i < 512 && !ret; i++)
            ret = fake_hv_guest_write64(g, ((uint64_t)(T_PT0 + d) << 12) + i * 8,
                              PTE(DATA0 + (d * 512 + i) % NDATA));
    }
    return ret;
}

/* The baseline: visit every entry of the table once, the way the shadow
 * builder must, reading each page through the hv seam. */
static uint64_t plain_walk(struct vgt_hv *hv, uint64_t table, int level, uint64_t *sum)
{
    uint64_t buf[GEN8_PTES_PER_PAGE], n = 0;

    if (hv->ops->read_gpa(hv, table, buf, sizeof(buf)))
        return 0;
    for (unsigned i = 0; i < GEN8_PTES_PER_PAGE; i++) {
        uint64_t e = buf[i];

        if (!(e & GEN8_PTE_PRESENT))
            continue;
        if (level == GEN8_LVL_PT) {
            *sum += e & GEN8_PTE_ADDR_MASK;
            n++;
        } else {
            n += plain_walk(hv, e & GEN8_PTE_ADDR_MASK, level - 1, sum);
        }
    }
    return n;
}

struct remap_result {
    uint64_t traps;
    uint64_t ns;
    struct vgt_ppgtt_stats st;
};

static int remap_run(struct sim_arena *a, struct fake_hostgpu *gpu, bool oos, unsigned rounds,
                     unsigned nr_pt, struct remap_result *res)
{
    struct vgt_ppgtt_config cfg;
    struct vgt_ppgtt *p;
    struct fake_hv *g;
    uint64_t root, t0, s = 0x9e3779b97f4a7c15ull;
    int ret = fake_hv_create(a, 1, 32768ull << VGT_PAGE_SHIFT, FAKE_HV_SCRAMBLE_4K, 1, &g);

    if (ret)
        return ret;
    /* nr_pt page tables of buffers (2 MiB each). */
    ret = fake_hv_guest_write64(g, (uint64_t)T_PML4 << 12, PTE(T_PDP));
    ret = ret ? ret : fake_hv_guest_write64(g, (uint64_t)T_PDP << 12, PTE(T_PD));
    for (unsigned d = 0; d < nr_pt && !ret; d++)
        ret = fake_hv_guest_write64(g, ((uint64_t)T_PD << 12) + d * 8, PTE(T_PT0 + d));
    if (ret)
        goto destroy_guest;
    vgt_ppgtt_config_default(&cfg);
    cfg.oos = oos;
    ret = vgt_ppgtt_create(&g->hv, &gpu->gpu, &cfg, &p);
    if (ret)
        goto destroy_guest;
    ret = vgt_ppgtt_pin(p, (uint64_t)T_PML4 << 12, &root);
    if (ret)
        goto destroy_ppgtt;
    t0 = cpu_ns();
    for (unsigned r = 0; r < rounds && !ret; r++) {
        unsigned first = (r * 16) % nr_pt; /* a sliding window of 16 tables */

        for (unsigned k = 0; k < 256 && !ret; k++) {
            unsigned pt = (first + k % 16) % nr_pt;

            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            ret = fake_hv_guest_write64(g, ((uint64_t)(T_PT0 + pt) << 12) + (s % 512) * 8,
                              PTE(DATA0 + s % 20000));
        }
        ret = ret ? ret : vgt_ppgtt_sync(p, (uint64_t)T_PML4 << 12);
    }
    res->ns = cpu_ns() - t0;
    res->traps = g->wp_traps;
    vgt_ppgtt_get_stats(p, &res->st);
    vgt_ppgtt_unpin(p, (uint64_t)T_PML4 << 12);
destroy_ppgtt:
    vgt_ppgtt_destroy(p);
destroy_guest:
    fake_hv_destroy(g);
    return ret;
}

int main(int argc, char **argv)
{
    struct vgt_ppgtt_config cfg;
    struct vgt_ppgtt_stats st;
    struct remap_result off, on, off_fit, on_fit;
    struct sim_arena *a;
    struct vgt_ppgtt *p;
    struct fake_hv *g;
    struct fake_hostgpu *gpu;
    uint64_t root, build_ns = UINT64_MAX, walk_ns = UINT64_MAX, sum = 0, npte = 0;
    unsigned rounds = 400, reps = 3;
    double trap_ns;
    int json = 0, ret;

    for (int i = 1; i < argc; i++) {
        uint64_t v;

        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc && !vgt_parse_u64(argv[i + 1], &v) &&
                   v > 0 && v <= 1000000) {
            rounds = (unsigned)v;
            i++;
        } else {
            fprintf(stderr, "usage: vgt-bench-ppgtt [--json] [--rounds N (1..1000000)]\n");
            return 2;
        }
    }
    ret = sim_arena_create(512ull << 20, &a);
    if (ret) {
        fprintf(stderr, "vgt-bench-ppgtt: arena: %s\n", strerror(-ret));
        return 1;
    }
    /* Only device pages and the scratch page are used: a small GGTT. */
    ret = fake_hostgpu_create(a, 64ull << 20, 32ull << 20, 0, &gpu);
    if (ret)
        goto destroy_arena;

    /* 1: build cost per PTE, best of a few runs, against the plain walk. */
    ret = fake_hv_create(a, 1, 16384ull << VGT_PAGE_SHIFT, FAKE_HV_SCRAMBLE_4K, 2, &g);
    if (ret)
        goto destroy_gpu;
    ret = build_1g(g);
    vgt_ppgtt_config_default(&cfg);
    cfg.budget_bytes = 256ull << 20;
    ret = ret ? ret : vgt_ppgtt_create(&g->hv, &gpu->gpu, &cfg, &p);
    if (ret)
        goto destroy_guest;
    for (unsigned r = 0; r < reps && !ret; r++) {
        uint64_t t0 = cpu_ns(), n;

        n = plain_walk(&g->hv, (uint64_t)T_PML4 << 12, GEN8_LVL_PML4, &sum);
        walk_ns = VGT_MIN(walk_ns, cpu_ns() - t0);
        npte = n;
        t0 = cpu_ns();
        ret = vgt_ppgtt_pin(p, (uint64_t)T_PML4 << 12, &root);
        build_ns = VGT_MIN(build_ns, cpu_ns() - t0);
        vgt_ppgtt_get_stats(p, &st);
        vgt_ppgtt_reset(p);
    }
    vgt_ppgtt_destroy(p);
    if (ret || npte != 512u * 512u) {
        fprintf(stderr, "vgt-bench-ppgtt: build failed (%d, %llu PTEs)\n", ret,
                (unsigned long long)npte);
        ret = ret ? ret : -EIO;
        goto destroy_guest;
    }
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "shadow_build_per_pte_1g_4k",
        .value = (double)build_ns / npte, .unit = "ns",
        .baseline = (double)walk_ns / npte,
        .baseline_desc = "plain walk of the same table through the hv seam, per PTE"});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "shadow_bytes_per_guest_pt_page",
        .value = (double)st.shadow_bytes / (double)st.guest_pt_pages, .unit = "B",
        .baseline = (double)VGT_PAGE_SIZE,
        .baseline_desc = "the guest page-table page itself"});

    /* 2: remap-heavy, OOS off (baseline) and on. */
    /* 96 tables: more than the OOS pool (64) holds. */
    ret = remap_run(a, gpu, false, rounds, 96, &off);
    ret = ret ? ret : remap_run(a, gpu, true, rounds, 96, &on);
    ret = ret ? ret : remap_run(a, gpu, false, rounds, 48, &off_fit);
    ret = ret ? ret : remap_run(a, gpu, true, rounds, 48, &on_fit);
    if (ret) {
        fprintf(stderr, "vgt-bench-ppgtt: remap workload failed: %s\n", strerror(-ret));
        goto destroy_guest;
    }
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "remap_wp_traps_oos_on", .value = (double)on.traps,
        .unit = "traps", .baseline = (double)off.traps,
        .baseline_desc = "same workload, out-of-sync pages off", .target = "ratio<=0.2"});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "remap_time_oos_on", .value = (double)on.ns / 1e6,
        .unit = "ms", .baseline = (double)off.ns / 1e6,
        .baseline_desc = "same workload, out-of-sync pages off"});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "remap_wp_traps_oos_on_fits_pool",
        .value = (double)on_fit.traps, .unit = "traps", .baseline = (double)off_fit.traps,
        .baseline_desc = "48 tables (fits the pool), out-of-sync pages off"});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "remap_time_oos_on_fits_pool", .value = (double)on_fit.ns / 1e6,
        .unit = "ms", .baseline = (double)off_fit.ns / 1e6,
        .baseline_desc = "48 tables (fits the pool), out-of-sync pages off"});
    trap_ns = trap_floor_ns(20000);
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "remap_time_oos_on_with_trap_floor",
        .value = ((double)on.ns + trap_ns * on.traps) / 1e6, .unit = "ms",
        .baseline = ((double)off.ns + trap_ns * off.traps) / 1e6,
        .baseline_desc = "OOS off; both add traps x an eventfd round trip measured in this run"});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ppgtt", .metric = "remap_oos_sync_per_submit",
        .value = (double)on.st.oos_sync_ns / rounds / 1e3, .unit = "us",
        .baseline = (double)off.ns / rounds / 1e3,
        .baseline_desc = "one round (256 remaps + submit) with OOS off"});
    if (!json)
        printf("trap floor (eventfd round trip) %.0f ns\n"
               "remap: %u rounds; OOS off %llu traps; on %llu traps, %llu pages went OOS, "
               "%llu resyncs, %llu entries changed\n", trap_ns, rounds, (unsigned long long)off.traps,
               (unsigned long long)on.traps, (unsigned long long)on.st.oos_enter,
               (unsigned long long)on.st.oos_syncs, (unsigned long long)on.st.oos_sync_entries);

destroy_guest:
    fake_hv_destroy(g);
destroy_gpu:
    fake_hostgpu_destroy(gpu);
destroy_arena:
    sim_arena_destroy(a);
    (void)sum;
    return ret ? 1 : 0;
}

/* vgt bench ioreq [--json]
 *
 * (a) mmio_read_round_trip: one guest MMIO read through the simulated
 *     hypervisor and the ioreq engine (slot fill, eventfd to the server
 *     thread, dispatch, completion, eventfd back), against a bare eventfd
 *     ping-pong between two threads in the same run. Both sides block in
 *     read(2); neither spins, so the comparison is like for like.
 *     Paired runs (--runs N, default 9) of 20000 each, the baseline just
 *     before its round trip; reported: median, p10, p90 and max of each
 *     side, the worst per-run ratio against the median one, and each
 *     side's own max over its median (a slow mode of the round trip shows
 *     there even when the paired ping-pong was slow too). --per-run
 *     prints every pair on stderr, with the vCPU thread's own CPU time
 *     per round trip and the server's empty wake-ups.
 * (b) dispatch_256_ranges: the engine processing one MMIO read request in
 *     process (validation, O(log n) range lookup, handler call) with 256
 *     ranges registered, against the same with one range; batches of 100000
 *     alternating between the two, best batch of each. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vgt/bench.h"
#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_hv.h"
#include "vgt/util.h"
#include "vgt_bench.h"

#define BASE 0xfe000000ull
#define RT_ITERS 20000u
#define DISPATCH_ITERS 2000000u
#define BATCHES 20u

static int rd(void *o, const struct vgt_io_access *a, uint64_t *v)
{
    (void)o;
    *v = a->offset;
    return 0;
}

static const struct vgt_io_ops ops = {rd, NULL};

/* ---- baseline: eventfd ping-pong ---- */

struct pp {
    int a, b;
    unsigned n;
};

static void *pong(void *p)
{
    struct pp *pp = p;
    uint64_t v;

    for (unsigned i = 0; i < pp->n; i++) {
        if (read(pp->a, &v, 8) != 8 || write(pp->b, &v, 8) != 8)
            break;
    }
    return NULL;
}

static double ping_pong_ns(unsigned n)
{
    struct pp pp = {eventfd(0, 0), eventfd(0, 0), n};
    uint64_t one = 1, v, t0, t1;
    pthread_t t;

    pthread_create(&t, NULL, pong, &pp);
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < n; i++) {
        if (write(pp.a, &one, 8) != 8 || read(pp.b, &v, 8) != 8)
            break;
    }
    t1 = vgt_now_ns();
    pthread_join(t, NULL);
    close(pp.a);
    close(pp.b);
    return (double)(t1 - t0) / n;
}

/* ---- the ioreq round trip ---- */

struct rt {
    struct sim_guest *g;
    unsigned n;
    double ns;
    double cpu_ns;     /* the vCPU thread's own CPU time per round trip */
    uint64_t spurious; /* server wake-ups that found no request */
    int err;
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int reader(struct sim_guest *g, unsigned vcpu, void *o)
{
    struct rt *rt = o;
    uint64_t v, t0, c0;

    /* warm up, then measure */
    for (unsigned i = 0; i < 1000; i++)
        sim_guest_mmio_read(g, vcpu, BASE + 8, 4, &v);
    c0 = thread_cpu_ns();
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < rt->n; i++) {
        if (sim_guest_mmio_read(g, vcpu, BASE + 8, 4, &v) < 0 || v != 8)
            rt->err++;
    }
    rt->ns = (double)(vgt_now_ns() - t0) / rt->n;
    rt->cpu_ns = (double)(thread_cpu_ns() - c0) / rt->n;
    return 0;
}

static void *serve(void *p)
{
    vgt_ioreq_server_run(p);
    return NULL;
}

struct setup {
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_guest *g;
    struct vgt_ioreq_server *s;
};

static int setup_up(struct setup *su)
{
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = 1, .ram_bytes = 4ull << 20, .nr_vcpus = 1};
    struct vgt_ioreq_server_cfg cfg = {.domid = 1};
    struct vgt_ioreq_backend *be;
    int ret;

    vgt_log_init(&su->log, "bench", VGT_LOG_ERR);
    cfg.log = &su->log;
    ret = sim_arena_create(16ull << 20, &su->arena);
    if (ret < 0)
        return ret;
    hc.arena = su->arena;
    hc.log = &su->log;
    ret = sim_hv_create(&hc, &su->hv);
    if (ret < 0)
        goto destroy_arena;
    ret = sim_guest_create(su->hv, &gc, &su->g);
    if (ret < 0)
        goto destroy_hv;
    ret = sim_hv_ioreq_backend_create(su->g, &su->log, &be);
    if (ret < 0)
        goto destroy_guest;
    ret = vgt_ioreq_server_create(&cfg, be, &su->s);
    if (ret < 0)
        goto destroy_guest;
    return 0;

destroy_guest:
    sim_guest_destroy(su->g);
destroy_hv:
    sim_hv_destroy(su->hv);
destroy_arena:
    sim_arena_destroy(su->arena);
    return ret;
}

static void setup_down(struct setup *su)
{
    vgt_ioreq_server_destroy(su->s);
    sim_guest_destroy(su->g);
    sim_hv_destroy(su->hv);
    sim_arena_destroy(su->arena);
}

static int round_trip(double *ns, struct rt *out)
{
    struct setup su;
    struct vgt_ioreq_stats st;
    struct rt rt = {.n = RT_ITERS};
    pthread_t t;
    int ret = setup_up(&su);

    if (ret < 0)
        return ret;
    ret = vgt_ioreq_server_map_range(su.s, VGT_IO_MMIO, BASE, BASE + 0xfff, &ops, NULL, NULL);
    if (ret == 0)
        ret = vgt_ioreq_server_start(su.s);
    if (ret == 0) {
        pthread_create(&t, NULL, serve, su.s);
        rt.g = su.g;
        ret = sim_guest_run_vcpus(su.g, 1, reader, &rt);
        vgt_ioreq_server_get_stats(su.s, &st);
        rt.spurious = st.spurious;
        vgt_ioreq_server_stop(su.s);
        pthread_join(t, NULL);
    }
    setup_down(&su);
    *ns = rt.ns;
    *out = rt;
    return ret < 0 ? ret : (rt.err ? -EIO : 0);
}

/* ---- in-process dispatch ---- */

enum { NADDR = 1024 };

struct disp {
    struct setup su;
    uint64_t addrs[NADDR];
};

static int disp_up(struct disp *d, unsigned nranges)
{
    uint64_t x = 88172645463325252ull;
    int ret = setup_up(&d->su);

    for (unsigned i = 0; i < nranges && ret == 0; i++)
        ret = vgt_ioreq_server_map_range(d->su.s, VGT_IO_MMIO, BASE + i * 0x10000ull,
                                         BASE + i * 0x10000ull + 0xfff, &ops, NULL, NULL);
    for (unsigned i = 0; i < NADDR; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        d->addrs[i] = BASE + (x % nranges) * 0x10000ull + ((x >> 32) & 0xff8);
    }
    return ret;
}

/* One batch: ns per processed request; *sum collects the answers. */
static double disp_batch(struct disp *d, unsigned n, uint64_t *sum)
{
    uint64_t t0 = vgt_now_ns();

    for (unsigned i = 0; i < n; i++) {
        ioreq_t req = {.type = IOREQ_TYPE_COPY, .addr = d->addrs[i % NADDR], .size = 4,
                       .count = 1, .dir = IOREQ_READ};

        vgt_ioreq_server_process(d->su.s, 0, &req);
        *sum += req.data;
    }
    return (double)(vgt_now_ns() - t0) / n;
}

/* 256 ranges and 1 range, batches alternating, best batch of each: the
 * machines are shared, and a batch that lost the CPU measures the
 * neighbours, not the code. */
static int dispatch(double *ns256, double *ns1)
{
    static struct disp many, one;
    uint64_t sum = 0;
    int ret = disp_up(&many, 256);

    if (ret == 0)
        ret = disp_up(&one, 1);
    *ns256 = *ns1 = 1e18;
    for (unsigned b = 0; b < BATCHES && ret == 0; b++) {
        *ns256 = VGT_MIN(*ns256, disp_batch(&many, DISPATCH_ITERS / BATCHES, &sum));
        *ns1 = VGT_MIN(*ns1, disp_batch(&one, DISPATCH_ITERS / BATCHES, &sum));
    }
    setup_down(&many.su);
    setup_down(&one.su);
    if (ret == 0 && sum == 0)
        ret = -EIO; /* every read answers its offset; they cannot all be 0 */
    return ret;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n sorted values, nearest rank. */
static double quantile(const double *v, unsigned n, double q)
{
    unsigned i = (unsigned)(q * (n - 1) + 0.5);

    return v[i < n ? i : n - 1];
}

static void emit_spread(int json, const char *metric, double *rt, double *pp, unsigned n,
                        const char *target)
{
    static const struct { const char *suffix; double q; } qs[] = {
        {"", 0.5}, {"_p10", 0.1}, {"_p90", 0.9}, {"_max", 1.0},
    };
    char name[64];

    qsort(rt, n, sizeof(*rt), cmp_double);
    qsort(pp, n, sizeof(*pp), cmp_double);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(qs); i++) {
        snprintf(name, sizeof(name), "%s%s", metric, qs[i].suffix);
        vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
            .bench = "ioreq", .metric = name, .value = quantile(rt, n, qs[i].q), .unit = "ns",
            .baseline = quantile(pp, n, qs[i].q),
            .baseline_desc = i == 0 ? "eventfd ping-pong between two threads, median of "
                                      "the paired runs" : "the same quantile of the ping-pong",
            .target = i == 0 ? target : NULL});
    }
}

int vgt_bench_ioreq(int argc, char **argv)
{
    int json = 0, per_run = 0, ret;
    unsigned runs = 9;
    double *rt, *pp, *ratio, d256, d1;
    struct rt diag;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--per-run")) {
            per_run = 1;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);

            if (*end || v < 1 || v > 1000) {
                fprintf(stderr, "vgt bench ioreq: --runs takes 1..1000, not '%s'\n", argv[i]);
                return 2;
            }
            runs = (unsigned)v;
        } else {
            fprintf(stderr, "vgt bench ioreq: unknown argument '%s' (--json, --runs N, "
                    "--per-run)\n", argv[i]);
            return 2;
        }
    }
    rt = calloc(runs, sizeof(*rt));
    pp = calloc(runs, sizeof(*pp));
    ratio = calloc(runs, sizeof(*ratio));
    if (!rt || !pp || !ratio) {
        free(rt), free(pp), free(ratio);
        fprintf(stderr, "vgt bench ioreq: out of memory\n");
        return 1;
    }
    /* Paired runs, the baseline right before its round trip: the same
     * neighbours for both; the median and the spread over the runs say
     * whether there is a slow mode (best-of-N would hide it). */
    for (unsigned r = 0; r < runs; r++) {
        pp[r] = ping_pong_ns(RT_ITERS);
        ret = round_trip(&rt[r], &diag);
        if (ret < 0) {
            fprintf(stderr, "vgt bench ioreq: round trip: %s\n", strerror(-ret));
            free(rt), free(pp), free(ratio);
            return 1;
        }
        ratio[r] = rt[r] / pp[r];
        if (per_run)
            /* The vCPU's own CPU time per round trip and the server's
             * empty wake-ups tell a slow run that worked more from one
             * that waited more (descheduled, or woken for nothing). */
            fprintf(stderr, "run %3u: round trip %9.1f ns  ping-pong %9.1f ns  ratio %.2f"
                    "  vcpu cpu %7.1f ns  spurious %llu\n", r, rt[r], pp[r], ratio[r],
                    diag.cpu_ns, (unsigned long long)diag.spurious);
    }
    emit_spread(json, "mmio_read_round_trip", rt, pp, runs, "ratio<=2.5");
    /* A slow mode of the round trip shows in its own spread whatever the
     * ping-pong did in the same pair; the ping-pong's own spread says how
     * much of it the machine makes (both sorted by emit_spread). */
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ioreq", .metric = "round_trip_max_over_median",
        .value = rt[runs - 1] / quantile(rt, runs, 0.5), .unit = "x",
        .baseline = pp[runs - 1] / quantile(pp, runs, 0.5),
        .baseline_desc = "the ping-pong's own max over median"});
    qsort(ratio, runs, sizeof(*ratio), cmp_double);
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ioreq", .metric = "round_trip_ratio_max_over_median",
        .value = ratio[runs - 1], .unit = "x", .baseline = quantile(ratio, runs, 0.5),
        .baseline_desc = "median per-run ratio (round trip / ping-pong)",
        .target = "ratio<=2 (no slow mode)"});
    free(rt), free(pp), free(ratio);
    ret = dispatch(&d256, &d1);
    if (ret < 0) {
        fprintf(stderr, "vgt bench ioreq: dispatch: %s\n", strerror(-ret));
        return 1;
    }
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "ioreq", .metric = "dispatch_256_ranges", .value = d256, .unit = "ns",
        .baseline = d1, .baseline_desc = "the same dispatch with 1 range registered",
        .target = "value<=50ns"});
    return 0;
}

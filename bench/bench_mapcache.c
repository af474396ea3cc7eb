/* vgt bench mapcache [--json]
 *
 * The xen backend's guest-frame map cache (ioreq-server/mapcache.c), with
 * a stand-in for xenforeignmemory_map: guest RAM is a memfd, and mapping
 * one frame is mmap(MAP_SHARED|MAP_POPULATE) of its page, unmapping
 * munmap, which is the dom0 side of a privcmd foreign mapping without the
 * hypercall (on a real Xen, add the mmapbatch hypercall and the p2m
 * update to the miss cost). Identical work for value and baseline:
 * (a) map_new_frame: get+put of a frame not cached (a mapping), against
 *     get+put of a cached frame;
 * (b) read_64b_trace: 64-byte guest reads along one trace (80 % on a hot
 *     set of 256 frames: rings, contexts, page tables; 20 % uniform over
 *     64 MiB) through a 4096-frame cache, against the same trace mapping
 *     and unmapping each access (the backend before the cache);
 * (c) hit_rate of that trace, against the same trace through a cache of
 *     the hot set's size. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vgt/bench.h"
#include "vgt/log.h"
#include "vgt/mapcache.h"
#include "vgt/util.h"
#include "vgt_bench.h"

#define NR_FRAMES 16384u /* 64 MiB of guest RAM */
#define HOT 256u
#define TRACE 200000u
#define NEW_FRAMES 8192u

struct ram {
    int fd;
};

static void *fd_map(void *opaque, uint64_t gfn, int *err)
{
    struct ram *r = opaque;
    void *p = mmap(NULL, VGT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                   (off_t)(gfn << VGT_PAGE_SHIFT));

    if (p == MAP_FAILED) {
        *err = -errno;
        return NULL;
    }
    return p;
}

static void fd_unmap(void *opaque, void *page)
{
    (void)opaque;
    munmap(page, VGT_PAGE_SIZE);
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* xorshift: the same trace for every run */
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void make_trace(uint32_t *t)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;

    for (unsigned i = 0; i < TRACE; i++) {
        uint64_t r = next(&s);

        t[i] = (r % 100) < 80 ? (uint32_t)(r >> 8) % HOT : (uint32_t)(r >> 8) % NR_FRAMES;
    }
}

static int read_64(struct vgt_mapcache *c, uint64_t gfn, uint8_t *dst)
{
    struct vgt_mapcache_ent *e;
    uint8_t *p;
    int ret = vgt_mapcache_get(c, gfn, (void **)&p, &e);

    if (ret)
        return ret;
    memcpy(dst, p + (gfn & 63) * 64, 64);
    vgt_mapcache_put(c, e);
    return 0;
}

/* The trace through a cache of @cap frames: ns per read, hit rate. */
static int run_trace(struct ram *r, const uint32_t *t, unsigned cap, double *ns, double *hit)
{
    struct vgt_mapcache_mapper m = {.map = fd_map, .unmap = fd_unmap, .opaque = r};
    struct vgt_log quiet = {.level = VGT_LOG_OFF};
    struct vgt_mapcache_stats st;
    struct vgt_mapcache *c;
    uint8_t buf[64];
    double t0;
    int ret = vgt_mapcache_create(&m, NULL, cap, &quiet, &c);

    if (ret)
        return ret;
    t0 = now_ns();
    for (unsigned i = 0; i < TRACE && !ret; i++)
        ret = read_64(c, t[i], buf);
    *ns = (now_ns() - t0) / TRACE;
    vgt_mapcache_get_stats(c, &st);
    *hit = 100.0 * (double)st.hits / (double)(st.hits + st.misses);
    vgt_mapcache_destroy(c);
    return ret;
}

/* The same trace, one mapping per access (the backend before the cache). */
static int run_uncached(struct ram *r, const uint32_t *t, double *ns)
{
    uint8_t buf[64];
    double t0 = now_ns();

    for (unsigned i = 0; i < TRACE; i++) {
        int err = 0;
        uint8_t *p = fd_map(r, t[i], &err);

        if (!p)
            return err;
        memcpy(buf, p + (t[i] & 63) * 64, 64);
        fd_unmap(r, p);
    }
    *ns = (now_ns() - t0) / TRACE;
    return 0;
}

/* get+put of NEW_FRAMES frames never seen (each a mapping), then of the
 * same frames again (each a hit). */
static int run_new(struct ram *r, double *miss_ns, double *hit_ns)
{
    struct vgt_mapcache_mapper m = {.map = fd_map, .unmap = fd_unmap, .opaque = r};
    struct vgt_log quiet = {.level = VGT_LOG_OFF};
    struct vgt_mapcache *c;
    uint8_t buf[64];
    int ret = vgt_mapcache_create(&m, NULL, NEW_FRAMES, &quiet, &c);
    double t0;

    if (ret)
        return ret;
    for (int pass = 0; pass < 2 && !ret; pass++) {
        t0 = now_ns();
        for (unsigned g = 0; g < NEW_FRAMES && !ret; g++)
            ret = read_64(c, g, buf);
        *(pass ? hit_ns : miss_ns) = (now_ns() - t0) / NEW_FRAMES;
    }
    vgt_mapcache_destroy(c);
    return ret;
}

int vgt_bench_mapcache(int argc, char **argv)
{
    struct ram r;
    uint32_t *trace;
    double miss = 0, hitns = 0, cached = 0, uncached = 0, rate = 0, rate_hot = 0, ns_hot = 0;
    int json = 0, ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "vgt bench mapcache: unknown argument '%s' (--json)\n", argv[i]);
            return 2;
        }
    }
    r.fd = memfd_create("vgt-bench-guest-ram", MFD_CLOEXEC);
    /* Allocated up front: a guest's RAM exists before vgtd maps it, so a
     * miss costs the mapping, not the first touch of a page. */
    if (r.fd < 0 || fallocate(r.fd, 0, 0, (off_t)NR_FRAMES << VGT_PAGE_SHIFT) < 0) {
        fprintf(stderr, "vgt bench mapcache: guest RAM memfd: %s\n", strerror(errno));
        return 1;
    }
    trace = malloc(TRACE * sizeof(*trace));
    if (!trace) {
        close(r.fd);
        return 1;
    }
    make_trace(trace);
    ret = run_new(&r, &miss, &hitns);
    ret = ret ?: run_trace(&r, trace, 4096, &cached, &rate);
    ret = ret ?: run_uncached(&r, trace, &uncached);
    ret = ret ?: run_trace(&r, trace, HOT, &ns_hot, &rate_hot);
    free(trace);
    close(r.fd);
    if (ret) {
        fprintf(stderr, "vgt bench mapcache: %s\n", strerror(-ret));
        return 1;
    }
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "mapcache", .metric = "map_new_frame", .value = miss, .unit = "ns",
        .baseline = hitns, .baseline_desc = "get+put of the same frames once cached",
        .target = NULL});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "mapcache", .metric = "read_64b_trace", .value = cached, .unit = "ns",
        .baseline = uncached, .baseline_desc = "the same trace, one mapping per access (no cache)",
        .target = "ratio<1"});
    vgt_bench_emit(stdout, json, &(struct vgt_bench_fig){
        .bench = "mapcache", .metric = "hit_rate_4096_frames", .value = rate, .unit = "%",
        .baseline = rate_hot, .baseline_desc = "the same trace through a 256-frame cache",
        .target = NULL});
    return 0;
}

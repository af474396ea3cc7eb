/* vgt demo --workload testdev: one simulated guest whose vCPUs hammer the
 * ioreq test device through the whole ioreq path (guest access -> sync
 * page slot -> eventfd -> engine -> device -> completion), checking every
 * value read back. Prints requests per second per vCPU and the errors;
 * exits non-zero on any error. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_hv.h"
#include "vgt/testdev.h"
#include "vgt/util.h"
#include "vgt_cmds.h"

#define DEMO_BASE 0xfe000000ull /* inside the below-4G MMIO hole */
#define DEMO_MAX_VCPUS 16

struct vcpu_res {
    uint64_t requests;
    uint64_t errors;
    uint64_t ns;
};

struct demo {
    struct sim_guest *g;
    uint64_t duration_ns;
    atomic_int start;
    struct vcpu_res res[DEMO_MAX_VCPUS];
    const struct vgt_log *log;
};

static uint64_t lanes(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static void check(struct demo *d, unsigned vcpu, struct vcpu_res *r, const char *what,
                  uint64_t got, uint64_t want)
{
    if (got == want)
        return;
    if (r->errors++ < 5)
        vgt_err(d->log, "vcpu%u: %s read %#llx, expected %#llx", vcpu, what,
                (unsigned long long)got, (unsigned long long)want);
}

static int hammer(struct sim_guest *g, unsigned vcpu, void *opaque)
{
    struct demo *d = opaque;
    struct vcpu_res *r = &d->res[vcpu];
    uint64_t scratch = 0, prev_counter = 0, t0, v, x = 0x9e3779b97f4a7c15ull ^ vcpu;
    int ret = 0;

    while (!atomic_load(&d->start))
        ;
    t0 = vgt_now_ns();
    for (uint64_t i = 0; ret == 0; i++) {
        unsigned size = 1u << (i & 3), off = (unsigned)((i >> 2) & 7) & ~(size - 1);
        uint64_t val;

        if ((i & 255) == 0 && vgt_now_ns() - t0 >= d->duration_ns)
            break;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        val = x & lanes(size);
        /* SCRATCH: a write of some lanes, then the whole register back. */
        ret = sim_guest_mmio_write(g, vcpu, DEMO_BASE + VGT_TESTDEV_REG_SCRATCH + off, size, val);
        scratch = (scratch & ~(lanes(size) << (8 * off))) | (val << (8 * off));
        if (ret == 0)
            ret = sim_guest_mmio_read(g, vcpu, DEMO_BASE + VGT_TESTDEV_REG_SCRATCH, 8, &v);
        check(d, vcpu, r, "SCRATCH", v, scratch);
        if (ret == 0)
            ret = sim_guest_mmio_read(g, vcpu, DEMO_BASE + VGT_TESTDEV_REG_ID, 8, &v);
        check(d, vcpu, r, "ID", v, VGT_TESTDEV_ID);
        if (ret == 0)
            ret = sim_guest_mmio_read(g, vcpu, DEMO_BASE + VGT_TESTDEV_REG_SIZE + off, size, &v);
        check(d, vcpu, r, "SIZE", v, vgt_testdev_expect_size(size));
        if (ret == 0)
            ret = sim_guest_mmio_read(g, vcpu, DEMO_BASE + VGT_TESTDEV_REG_VCPU, 4, &v);
        check(d, vcpu, r, "VCPU", v, vcpu);
        /* COUNTER only grows: at least our own 5 accesses since the last. */
        if (ret == 0)
            ret = sim_guest_mmio_read(g, vcpu, DEMO_BASE + VGT_TESTDEV_REG_COUNTER, 8, &v);
        if (v < prev_counter + 6 && i > 0)
            check(d, vcpu, r, "COUNTER (too small)", v, prev_counter + 6);
        prev_counter = v;
        r->requests += 6;
    }
    r->ns = vgt_now_ns() - t0;
    if (ret < 0) {
        vgt_err(d->log, "vcpu%u: access failed: %s", vcpu, strerror(-ret));
        r->errors++;
    }
    return 0;
}

static void *serve(void *p)
{
    vgt_ioreq_server_run(p);
    return NULL;
}

static int parse(int argc, char **argv, unsigned *vcpus, double *seconds)
{
    for (int i = 1; i < argc; i++) {
        uint64_t n;

        if (!strcmp(argv[i], "--workload") && i + 1 < argc) {
            i++;
        } else if (!strncmp(argv[i], "--workload=", 11)) {
            continue;
        } else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc) {
            if (vgt_parse_u64(argv[++i], &n) < 0 || n == 0 || n > DEMO_MAX_VCPUS) {
                fprintf(stderr, "vgt demo: --vcpus: '%s' is not 1..%d\n", argv[i],
                        DEMO_MAX_VCPUS);
                return -EINVAL;
            }
            *vcpus = (unsigned)n;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            char *end;

            *seconds = strtod(argv[++i], &end);
            if (*end || *seconds <= 0 || *seconds > 3600) {
                fprintf(stderr, "vgt demo: --seconds: '%s' is not 0..3600\n", argv[i]);
                return -EINVAL;
            }
        } else {
            fprintf(stderr, "vgt demo testdev: unknown argument '%s' "
                            "(options: --vcpus N, --seconds S)\n", argv[i]);
            return -EINVAL;
        }
    }
    return 0;
}

int vgt_demo_testdev(int argc, char **argv)
{
    struct vgt_log log;
    struct demo d = {0};
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = 1, .ram_bytes = 16ull << 20};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    struct vgt_ioreq_server_cfg cfg = {.domid = 1};
    struct vgt_testdev *td;
    struct sim_vcpus *vc;
    struct vgt_ioreq_stats st;
    unsigned vcpus = 4;
    double seconds = 2.0;
    uint64_t total = 0, errors = 0;
    pthread_t tid;
    int ret, rc = 1;

    if (parse(argc, argv, &vcpus, &seconds) < 0)
        return 2;
    vgt_log_init(&log, "demo", VGT_LOG_WARN);
    d.log = &log;
    d.duration_ns = (uint64_t)(seconds * 1e9);
    gc.nr_vcpus = vcpus;
    cfg.log = &log;

    ret = sim_arena_create(64ull << 20, &arena);
    if (ret < 0)
        goto fail;
    hc.arena = arena;
    hc.log = &log;
    ret = sim_hv_create(&hc, &hv);
    if (ret < 0)
        goto destroy_arena;
    ret = sim_guest_create(hv, &gc, &d.g);
    if (ret < 0)
        goto destroy_hv;
    ret = sim_hv_ioreq_backend_create(d.g, &log, &be);
    if (ret < 0)
        goto destroy_guest;
    ret = vgt_ioreq_server_create(&cfg, be, &s);
    if (ret < 0)
        goto destroy_guest;
    ret = vgt_testdev_attach(s, DEMO_BASE, &log, &td);
    if (ret < 0)
        goto destroy_server;
    ret = vgt_ioreq_server_start(s);
    if (ret < 0)
        goto detach;
    ret = -pthread_create(&tid, NULL, serve, s);
    if (ret < 0)
        goto detach;
    ret = sim_guest_start_vcpus(d.g, vcpus, hammer, &d, &vc);
    if (ret == 0) {
        atomic_store(&d.start, 1);
        ret = sim_guest_join_vcpus(vc);
    }
    vgt_ioreq_server_stop(s);
    pthread_join(tid, NULL);
    if (ret < 0)
        goto detach;

    printf("vgt demo testdev: 1 guest, %u vCPUs, test device at %#llx, %.1f s\n", vcpus,
           DEMO_BASE, seconds);
    printf("  %-6s %12s %12s %8s\n", "vCPU", "requests", "req/s", "errors");
    for (unsigned i = 0; i < vcpus; i++) {
        struct vcpu_res *r = &d.res[i];

        printf("  %-6u %12llu %12.0f %8llu\n", i, (unsigned long long)r->requests,
               r->ns ? r->requests * 1e9 / r->ns : 0.0, (unsigned long long)r->errors);
        total += r->requests;
        errors += r->errors;
    }
    vgt_ioreq_server_get_stats(s, &st);
    printf("  %-6s %12llu %12s %8llu\n", "total", (unsigned long long)total, "",
           (unsigned long long)errors);
    /* Every request the guest made reached the device exactly once. */
    if (vgt_testdev_accesses(td) != total || st.served != total || st.bad) {
        printf("  MISMATCH: device saw %llu accesses, server served %llu (%llu bad), "
               "guest made %llu\n", (unsigned long long)vgt_testdev_accesses(td),
               (unsigned long long)st.served, (unsigned long long)st.bad,
               (unsigned long long)total);
        errors++;
    } else {
        printf("  device and server each saw all %llu requests exactly once\n",
               (unsigned long long)total);
    }
    printf("%s\n", errors ? "FAILED" : "OK");
    rc = errors ? 1 : 0;
detach:
    vgt_testdev_detach(td);
destroy_server:
    vgt_ioreq_server_destroy(s);
destroy_guest:
    sim_guest_destroy(d.g);
destroy_hv:
    sim_hv_destroy(hv);
destroy_arena:
    sim_arena_destroy(arena);
fail:
    if (ret < 0)
        fprintf(stderr, "vgt demo testdev: %s\n", strerror(-ret));
    return rc;
}

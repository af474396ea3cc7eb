/* 8 vCPUs, 1e6 requests in total through the whole ioreq path to the test
 * device: every read returns what that vCPU wrote last (its own scratch
 * bank and vCPU register), and the device, the server and the hypervisor
 * each count exactly 1e6: no lost and no duplicated completion. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_hv.h"
#include "vgt/testdev.h"

#define NVCPU 8
#define TOTAL 1000000u
#define BASE 0xfe000000ull

struct job {
    uint64_t bad[NVCPU];
};

static int hammer(struct sim_guest *g, unsigned vcpu, void *opaque)
{
    struct job *j = opaque;
    uint64_t v, last = 0;

    for (unsigned i = 0; i < TOTAL / NVCPU; i++) {
        int ret;

        if (i % 4 == 0) {
            last = ((uint64_t)vcpu << 56) | i;
            ret = sim_guest_mmio_write(g, vcpu, BASE + VGT_TESTDEV_REG_SCRATCH, 8, last);
        } else if (i % 4 == 3) {
            ret = sim_guest_mmio_read(g, vcpu, BASE + VGT_TESTDEV_REG_VCPU, 4, &v);
            j->bad[vcpu] += ret == 0 && v != vcpu;
        } else {
            ret = sim_guest_mmio_read(g, vcpu, BASE + VGT_TESTDEV_REG_SCRATCH, 8, &v);
            j->bad[vcpu] += ret == 0 && v != last;
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

static void *serve(void *p)
{
    return (void *)(intptr_t)vgt_ioreq_server_run(p);
}

static void test_concurrency(void **state)
{
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_hv_cfg hc = {0};
    struct sim_guest *g;
    struct sim_guest_cfg gc = {.domid = 2, .ram_bytes = 4ull << 20, .nr_vcpus = NVCPU};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    struct vgt_ioreq_server_cfg cfg = {.domid = 2};
    struct vgt_testdev *td;
    struct vgt_ioreq_stats st;
    struct sim_guest_stats gs;
    struct job j;
    pthread_t tid;
    void *res;

    (void)state;
    memset(&j, 0, sizeof(j));
    vgt_log_init(&log, "test", VGT_LOG_ERR);
    cfg.log = &log;
    assert_int_equal(sim_arena_create(16ull << 20, &arena), 0);
    hc.arena = arena;
    hc.log = &log;
    assert_int_equal(sim_hv_create(&hc, &hv), 0);
    assert_int_equal(sim_guest_create(hv, &gc, &g), 0);
    assert_int_equal(sim_hv_ioreq_backend_create(g, &log, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), 0);
    assert_int_equal(vgt_testdev_attach(s, BASE, &log, &td), 0);
    assert_int_equal(vgt_ioreq_server_start(s), 0);
    assert_int_equal(pthread_create(&tid, NULL, serve, s), 0);

    assert_int_equal(sim_guest_run_vcpus(g, NVCPU, hammer, &j), 0);

    vgt_ioreq_server_stop(s);
    pthread_join(tid, &res);
    assert_int_equal((intptr_t)res, 0);
    for (unsigned i = 0; i < NVCPU; i++)
        assert_int_equal(j.bad[i], 0);
    vgt_ioreq_server_get_stats(s, &st);
    sim_guest_get_stats(g, &gs);
    assert_int_equal(vgt_testdev_accesses(td), TOTAL);
    assert_int_equal(st.served, TOTAL);
    assert_int_equal(st.bad, 0);
    assert_int_equal(gs.ioreqs, TOTAL);
    assert_int_equal(gs.aborted, 0);
    vgt_testdev_detach(td);
    vgt_ioreq_server_destroy(s);
    assert_int_equal(sim_guest_destroy(g), 0);
    assert_int_equal(sim_hv_destroy(hv), 0);
    sim_arena_destroy(arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

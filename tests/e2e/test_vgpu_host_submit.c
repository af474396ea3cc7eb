/* vgtd's vGPU host runs guest GPU work through the submission path: a
 * guest's own driver submits and checks its results, a guest that writes a
 * bad ELSP descriptor goes to failsafe and the accounting records the
 * refusal and the failsafe event, and the other guest keeps working. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgpu_host.h"
#include "vgt/hostgpu.h"
#include "vgt/sim_gpu_guest.h"
#include "vgt/submit.h"

#define MIB (1ull << 20)

static void test_work_and_hostile_descriptor(void **state)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true};
    struct vgpu_guest_run_result r;
    struct vgt_submit_stats st;
    struct gg_cfg dc = {.dev = 2, .bar0_gpa = 0xF0000000ull, .ram_base = 16 * MIB,
                        .ram_size = 48 * MIB, .msi_data = 0x41};
    struct gg *d;
    struct gg_ctx *c;
    char err[256];

    (void)state;
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    for (uint16_t dom = 1; dom <= 2; dom++) {
        struct vgpu_add_req req = {.domid = dom, .type = "V5_4", .sim_ram = 64 * MIB};

        assert_int_equal(vgpu_host_add(h, &req, err, sizeof(err)), 0);
    }

    /* dom1: 3 store workloads, results checked by its driver. */
    assert_int_equal(vgpu_host_sim_guest_run(h, 1, "store", 3, &r, err, sizeof(err)), 0);
    assert_int_equal(r.stores, 3);
    assert_int_equal(r.failures, 0);
    assert_int_equal(vgpu_host_stats(h, 1, &st), 0);
    assert_int_equal(st.submitted, 3);
    assert_int_equal(st.sched.completed[VGT_ENGINE_RCS], 3);
    assert_true(st.sched.busy_ns[VGT_ENGINE_RCS] > 0);
    assert_int_equal(st.refused, 0);

    /* dom2's driver submits a context in 32-bit (3-level) mode. */
    dc.g = vgpu_host_sim_guest(h, 2);
    assert_non_null(dc.g);
    assert_int_equal(gg_probe(&dc, &d), 0);
    assert_int_equal(gg_ctx_create(d, VGT_ENGINE_RCS, &c), 0);
    assert_int_equal(gg_elsp(d, VGT_ENGINE_RCS, (gg_ctx_desc(c) & ~(3ull << 3)) | (1ull << 3), 0), 0);
    assert_true(vgt_vgpu_in_failsafe(vgpu_host_vgpu(h, 2)));
    assert_int_equal(vgpu_host_stats(h, 2, &st), 0);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.submitted, 0);
    assert_int_equal(st.sched.failsafe_events, 1);
    assert_non_null(strstr(st.last_refusal, "ELSP"));
    gg_destroy(d);

    /* dom1 is untouched and keeps running. */
    assert_false(vgt_vgpu_in_failsafe(vgpu_host_vgpu(h, 1)));
    assert_int_equal(vgpu_host_sim_guest_run(h, 1, "store", 2, &r, err, sizeof(err)), 0);
    assert_int_equal(r.failures, 0);
    assert_int_equal(vgpu_host_stats(h, 1, &st), 0);
    assert_int_equal(st.sched.completed[VGT_ENGINE_RCS], 5);
    assert_int_equal(st.sched.failsafe_events, 0);

    /* A reset takes dom2 out of failsafe; its history stays. */
    assert_int_equal(vgpu_host_reset(h, 2), 0);
    assert_false(vgt_vgpu_in_failsafe(vgpu_host_vgpu(h, 2)));
    assert_int_equal(vgpu_host_stats(h, 2, &st), 0);
    assert_int_equal(st.refused, 1);
    assert_int_equal(vgpu_host_sim_guest_run(h, 2, "blit", 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.failures, 0);
    assert_true(r.blits >= 1);

    assert_int_equal(vgpu_host_remove(h, 2), 0);
    assert_int_equal(vgpu_host_stats(h, 2, &st), -ENOENT);
    vgpu_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_and_hostile_descriptor),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

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

/* The driver in a guest whose OS placed the BARs and owns MSI (as
 * tests/xen/xen_gpu.c runs it in a real Xen guest): it leaves BARs and MSI
 * as they are and its work completes by polling the HWSP alone. */
static void test_driver_bars_placed(void **state)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true};
    struct vgpu_add_req req = {.domid = 1, .type = "V5_4", .sim_ram = 64 * MIB};
    struct gg_cfg dc = {.dev = 2, .bar0_gpa = 0xE0000000ull, .ram_base = 16 * MIB,
                        .ram_size = 48 * MIB, .bars_placed = true};
    struct gg_run run;
    struct gg *d;
    uint32_t bar0, bar2, msictl;
    char err[256];

    (void)state;
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    assert_int_equal(vgpu_host_add(h, &req, err, sizeof(err)), 0);
    dc.g = vgpu_host_sim_guest(h, 1);
    assert_non_null(dc.g);
    /* The OS's placement: BAR0 and BAR2 where the driver would not put them. */
    assert_int_equal(sim_guest_pci_write(dc.g, 0, 0, 2, 0, 0x10, 4, 0xE0000000u), 0);
    assert_int_equal(sim_guest_pci_write(dc.g, 0, 0, 2, 0, 0x14, 4, 0), 0);
    assert_int_equal(sim_guest_pci_write(dc.g, 0, 0, 2, 0, 0x18, 4, 0xC0000000u), 0);
    assert_int_equal(sim_guest_pci_write(dc.g, 0, 0, 2, 0, 0x1C, 4, 0), 0);
    assert_int_equal(gg_probe(&dc, &d), 0);
    assert_int_equal(sim_guest_pci_read(dc.g, 0, 0, 2, 0, 0x10, 4, &bar0), 0);
    assert_int_equal(sim_guest_pci_read(dc.g, 0, 0, 2, 0, 0x18, 4, &bar2), 0);
    assert_int_equal(sim_guest_pci_read(dc.g, 0, 0, 2, 0, 0xAC + 2, 2, &msictl), 0);
    assert_int_equal(bar0 & ~0xFu, 0xE0000000u);
    assert_int_equal(bar2 & ~0xFu, 0xC0000000u);
    assert_int_equal(msictl & 1, 0);
    for (enum gg_workload wl = GG_WL_BLIT; wl <= GG_WL_STORE; wl++) {
        assert_int_equal(gg_run_init(&run, d, wl, 64, 16, 0x5eed), 0);
        assert_int_equal(gg_run_step(&run, 10000), 0);
        assert_int_equal(gg_run_step(&run, 10000), 0);
        assert_int_equal(run.failures, 0);
        /* a blit-only run submits its blit twice a step */
        assert_int_equal(wl == GG_WL_BLIT ? run.blits : run.stores, wl == GG_WL_BLIT ? 4 : 2);
        gg_run_fini(&run);
    }
    assert_false(vgt_vgpu_in_failsafe(vgpu_host_vgpu(h, 1)));
    gg_destroy(d);
    vgpu_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_and_hostile_descriptor),
        cmocka_unit_test(test_driver_bars_placed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

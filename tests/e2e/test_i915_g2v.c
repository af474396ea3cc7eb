/* g2v as Linux 6.1 i915 sends it (gt/gen8_ppgtt.c gen8_ppgtt_notify_vgt):
 * PML4 address to PVINFO pdp[0].lo, then pdp[0].hi, then g2v_notify L4
 * create (the simulated guest driver's probe) and, on release, the same
 * fields then L4 destroy. Through the real submission path on the sim: no
 * failsafe, every notify understood, work still runs after the create. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vgpu_host.h"
#include "vgt/sim_gpu_guest.h"
#include "vgt/vgpu.h"

#define MIB (1ull << 20)

static void test_l4_create_destroy_as_i915(void **state)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true};
    struct vgpu_add_req req = {.domid = 1, .type = "V5_4", .sim_ram = 64 * MIB};
    struct gg_cfg dc = {.dev = 2, .bar0_gpa = 0xF0000000ull, .ram_base = 16 * MIB,
                        .ram_size = 48 * MIB, .msi_data = 0x41};
    struct vgt_vgpu_info info;
    struct gg *d;
    char err[256];

    (void)state;
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    assert_int_equal(vgpu_host_add(h, &req, err, sizeof(err)), 0);
    dc.g = vgpu_host_sim_guest(h, 1);
    assert_non_null(dc.g);
    assert_int_equal(gg_probe(&dc, &d), 0); /* pdp[0].lo, .hi, L4 create */
    vgt_vgpu_get_info(vgpu_host_vgpu(h, 1), &info);
    assert_false(info.failsafe);
    assert_int_equal(info.st.g2v_notify, 1);
    assert_int_equal(info.st.g2v_invalid, 0);
    assert_int_equal(gg_ppgtt_release(d), 0); /* pdp[0].lo, .hi, L4 destroy */
    vgt_vgpu_get_info(vgpu_host_vgpu(h, 1), &info);
    assert_false(info.failsafe);
    assert_int_equal(info.st.g2v_notify, 2);
    assert_int_equal(info.st.g2v_invalid, 0);
    gg_destroy(d);
    vgpu_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l4_create_destroy_as_i915),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

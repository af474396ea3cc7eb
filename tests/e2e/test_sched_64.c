/* Sixty-four guests on one simulated GPU (issue 18), each with the
 * a full-size V5_8 vGPU (64 of them share graphics memory: docs/vgpu.md,
 * "Sharing graphics memory"), every one keeping its blitter backlogged
 * with fills whose every pixel it checks:
 * - every result correct, nobody in failsafe;
 * - every guest served, and GPU time over weight fair: Jain's index
 *   >= JAIN_MIN;
 * - a guest that wakes while the 63 others keep the blitter busy is
 *   handed the blitter within one period.
 * JAIN_MIN is issue 18's 0.99, over the GPU time the scheduler charges
 * (each fill's context timestamp delta, docs/scheduler.md) and, so that
 * the figure does not rest on the accounting it checks, over the fills
 * each guest completed (every fill costs the same). When wall time from
 * dispatch to retire was charged, a host scheduling delay of ~100 ms on
 * this loaded 2-core machine landed on whichever guest's 1 ms fill was on
 * the engine, and Jain measured 0.941-0.997; the wall-time index is
 * printed beside for comparison.
 * The simulated blitter costs 16 ns a byte (a 128 x 128 fill ~1 ms), so
 * the engine, not the guests' CPU loops, is the bottleneck, and a turn of
 * all 64 guests takes less than a period. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu_harness.h"
#include "vgt/sched.h"
#include "vgt/util.h"

#define GUESTS 64
#define NS_PER_BYTE 16.0
#define RUN_S 8.0
#define JAIN_MIN 0.99

static struct gp *platform(void)
{
    static struct vgt_log log;
    struct gp_cfg cfg;
    struct gp *p = NULL;
    const char *why = NULL;

    memset(&cfg, 0, sizeof(cfg));
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    /* 64 full-size V5_8 vGPUs: more than the partition holds statically,
     * so they share graphics memory (docs/vgpu.md) and every switch
     * between range-sharing guests is part of what is measured. */
    (void)why;
    assert_int_equal(vgt_vgpu_res_from_type("V5_8", &cfg.res), 0);
    assert_true(gp_fit(&cfg.res, 512ull << 20, NULL) >= GUESTS);
    cfg.res.weight = (unsigned)vgt_sched_type_weight("V5_8");
    cfg.type_name = "V5_8";
    cfg.guests = GUESTS;
    cfg.guest_ram = 32ull << 20;
    cfg.ns_per_byte = NS_PER_BYTE;
    cfg.log = &log;
    assert_int_equal(gp_create(&cfg, &p), 0);
    return p;
}

static void test_64_guests(void **state)
{
    uint64_t tb = vgt_now_ns();
    struct gp *p = platform();
    struct hx_filler *f = calloc(GUESTS, sizeof(*f));
    double x[GUESTS], w[GUESTS], nf[GUESTS], wall[GUESTS], jain, jain_fills, jain_wall;
    unsigned last = GUESTS - 1;
    struct gg *d = p->guest[last].drv;
    struct gg_ctx *c;
    struct gg_bo bo;
    uint32_t cs[16], px[64];
    uint64_t t0, wake_ns;
    size_t k;

    (void)state;
    assert_non_null(f);
    print_message("bring-up of %u guests: %.1f s\n", GUESTS, (vgt_now_ns() - tb) / 1e9);
    /* The last guest's one fill, set up before the others start. */
    assert_int_equal(gg_ctx_create(d, VGT_ENGINE_BCS, &c), 0);
    assert_int_equal(gg_bo_create(d, HX_BLIT * HX_BLIT * 4, true, true, false, &bo), 0);
    k = gwl_emit_color_blt(cs, bo.gm, HX_BLIT * 4, 0, 0, HX_BLIT, HX_BLIT, 0x64646464u);
    k += gwl_emit_noop(cs + k);
    for (unsigned i = 0; i < last; i++)
        hx_fill_start(&f[i], p, i, RUN_S);
    {
        struct timespec ts = {1, 500000000}; /* all 63 under way */

        nanosleep(&ts, NULL);
    }
    /* It wakes: one fill, from the moment it is queued (the ELSP write
     * trapped and shadowed) to the scheduler handing it the blitter. */
    assert_int_equal(gg_submit(d, c, cs, k), 0);
    t0 = vgt_now_ns();
    for (;;) {
        struct vgt_submit_stats st;
        struct timespec ts = {0, 100000};

        assert_int_equal(vgt_submit_get_stats(p->guest[last].in.sv, &st), 0);
        if (st.sched.switches_in[VGT_ENGINE_BCS])
            break;
        assert_true(vgt_now_ns() - t0 < 10000000000ull);
        nanosleep(&ts, NULL);
    }
    wake_ns = vgt_now_ns() - t0;
    assert_int_equal(gg_wait(d, c, 10000), 0);
    assert_int_equal(gg_bo_read(d, &bo, 0, px, sizeof(px)), 0);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(px[i], 0x64646464u);
    for (unsigned i = 0; i < last; i++)
        hx_fill_finish(&f[i]); /* every pixel of every fill checked */
    for (unsigned i = 0; i < last; i++) {
        struct vgt_submit_stats st;

        assert_int_equal(vgt_submit_get_stats(p->guest[i].in.sv, &st), 0);
        x[i] = (double)st.sched.busy_ns[VGT_ENGINE_BCS];
        nf[i] = (double)st.sched.completed[VGT_ENGINE_BCS];
        wall[i] = (double)st.sched.wall_ns[VGT_ENGINE_BCS];
        w[i] = 2;
    }
    jain = vgt_sched_jain(x, w, last);
    jain_fills = vgt_sched_jain(nf, w, last);
    jain_wall = vgt_sched_jain(wall, w, last);
    print_message("63 busy guests: Jain %.4f over BCS GPU time/weight, %.4f over fills/weight (%.4f over wall "
                  "time); the 64th, woken, served in %.1f ms\n",
                  jain, jain_fills, jain_wall, wake_ns / 1e6);
    if (getenv("HX_VERBOSE"))
        for (unsigned i = 0; i < last; i++)
            print_message("guest %u: %llu fills, BCS %.1f ms\n", i, (unsigned long long)f[i].done, x[i] / 1e6);
    for (unsigned i = 0; i < last; i++) {
        assert_false(hx_failsafe(p, i));
        assert_true(f[i].done >= 2); /* both of its fills in flight completed */
    }
    assert_true(jain >= JAIN_MIN);
    assert_true(jain_fills >= JAIN_MIN);
    /* What a fill is charged is its GPU time: the blitter's modelled
     * cost of its bytes (the CPU does a 64 KiB fill far faster), however
     * long the host kept the fill on the engine in wall time. */
    for (unsigned i = 0; i < last; i++) {
        double per_fill = x[i] / nf[i], model = (double)HX_BLIT * HX_BLIT * 4 * NS_PER_BYTE;

        if (per_fill < model * 0.99 || per_fill > model * 1.2)
            fail_msg("guest %u charged %.0f ns a fill, the model says %.0f", i, per_fill, model);
    }
    assert_true(wake_ns <= VGT_SCHED_DEFAULT_PERIOD_NS);
    free(f);
    gp_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_64_guests),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

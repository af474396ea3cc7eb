/* End to end, hostile guests that try to hold an engine or read another
 * guest's engine registers, each beside three honest guests on one
 * simulated GPU whose engines behave like hardware (a semaphore wait or a
 * loop never gives up on its own: SIM_GPU_NO_LIMIT).
 *
 * Every test asserts the attacker's failsafe reason, the honest guests'
 * results (each worker checks every blit and store in its own memory) and
 * their shares of the blitter within 5 points of their (equal) weights. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gpu_platform.h"
#include "vgt/gpu_workload.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/util.h"

#define BLIT 128
/* The GPU's cost: a 128x128 honest blit step (fill and copy, 128 KiB)
 * takes ~26 ms of blitter time, so a guest whose threads wait for a CPU
 * for a while (2 cores shared by many processes) still has its next
 * workload queued before its turn comes. */
#define NS_PER_BYTE 200.0
/* ... and 20 us a command: a batch of N MI_NOOPs takes N x 20 us on any
 * engine (an honest step pays ~0.1 ms of it). */
#define NS_PER_CMD 20000.0
#define ATTACKER 3
#define VICTIM 4 /* honest too, but idle between its register reads */

struct worker {
    struct gg_run run;
    struct gp *p;
    unsigned idx;
    bool stop;
    uint64_t done;
    int rc;
    pthread_t thr;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        w->rc = gg_run_step(&w->run, 10000);
        if (w->rc)
            break;
        __atomic_add_fetch(&w->done, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

struct rig {
    struct gp *p;
    struct worker w[3];
    uint64_t t0;
    uint64_t busy0[3];
};

static uint64_t bcs_busy(struct gp *p, unsigned i)
{
    struct vgt_submit_stats st;

    assert_int_equal(vgt_submit_get_stats(p->guest[i].in.sv, &st), 0);
    return st.sched.busy_ns[VGT_ENGINE_BCS];
}

/* V5_8 guests on a GPU slow enough (NS_PER_BYTE) that the blitter, not
 * the guests' CPU loops, is what they share. Guests 0-2 run blits (each
 * checked in the guest's memory) until rig_end. */
static void rig_start(struct rig *r, unsigned guests)
{
    struct gp_cfg cfg;
    static struct vgt_log log;

    memset(r, 0, sizeof(*r));
    memset(&cfg, 0, sizeof(cfg));
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    assert_int_equal(vgt_vgpu_res_from_type("V5_8", &cfg.res), 0);
    cfg.type_name = "V5_8";
    cfg.guests = guests;
    cfg.guest_ram = 48ull << 20;
    cfg.ns_per_byte = NS_PER_BYTE;
    cfg.ns_per_cmd = NS_PER_CMD;
    cfg.cmd_budget = SIM_GPU_NO_LIMIT;
    cfg.semaphore_timeout_ms = SIM_GPU_NO_LIMIT;
    cfg.log = &log;
    assert_int_equal(gp_create(&cfg, &r->p), 0);
    for (unsigned i = 0; i < 3; i++) {
        struct worker *w = &r->w[i];

        w->p = r->p;
        w->idx = i;
        assert_int_equal(gg_run_init(&w->run, r->p->guest[i].drv, GG_WL_BLIT, BLIT, BLIT, 0x55 + i), 0);
        assert_int_equal(pthread_create(&w->thr, NULL, worker_main, w), 0);
    }
    /* Shares are counted from when every honest guest is under way. */
    for (unsigned i = 0; i < 3; i++)
        while (!__atomic_load_n(&r->w[i].done, __ATOMIC_RELAXED)) {
            struct timespec ts = {0, 1000000};

            nanosleep(&ts, NULL);
        }
    r->t0 = vgt_now_ns();
    for (unsigned i = 0; i < 3; i++)
        r->busy0[i] = bcs_busy(r->p, i);
}

/* Stop the honest guests; check their results and their shares. */
static void rig_end(struct rig *r)
{
    uint64_t b[3], total = 0;

    /* Shares over at least 2.5 s of honest work (~30 steps each). */
    while (vgt_now_ns() < r->t0 + 2500000000ull) {
        struct timespec ts = {0, 10000000};

        nanosleep(&ts, NULL);
    }
    for (unsigned i = 0; i < 3; i++) {
        struct worker *w = &r->w[i];

        __atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
        pthread_join(w->thr, NULL);
        if (w->rc || w->run.failures)
            fail_msg("honest guest %u: rc %d, %llu failures (%s)", i, w->rc,
                     (unsigned long long)w->run.failures, w->run.first_failure);
        assert_true(w->done >= 3); /* progress; the shares below say how much */
        assert_false(vgt_vgpu_in_failsafe(r->p->guest[i].in.vgpu));
        gg_run_fini(&w->run);
        b[i] = bcs_busy(r->p, i) - r->busy0[i];
        total += b[i];
    }
    for (unsigned i = 0; i < 3; i++)
        if (b[i] * 100 < total * 28 || b[i] * 100 > total * 39)
            fail_msg("honest guest %u had %.1f %% of the honest blitter time, not 33 +- 5",
                     i, 100.0 * (double)b[i] / (double)total);
    gp_destroy(r->p);
}

static void reprobe(struct gp *p, unsigned i)
{
    assert_int_equal(gp_reprobe(p, i), 0);
    assert_false(vgt_vgpu_in_failsafe(p->guest[i].in.vgpu));
}

/* Wait for the attacker's failsafe and check its reason. Returns how
 * long it took from submission. */
static uint64_t expect_reason(struct gp *p, const char *reason, uint64_t t0, unsigned max_ms)
{
    struct vgt_vgpu_info info;
    uint64_t end = t0 + max_ms * 1000000ull;

    while (!vgt_vgpu_in_failsafe(p->guest[ATTACKER].in.vgpu)) {
        struct timespec ts = {0, 1000000};

        if (vgt_now_ns() > end)
            fail_msg("attacker not in failsafe after %u ms (want %s)", max_ms, reason);
        nanosleep(&ts, NULL);
    }
    vgt_vgpu_get_info(p->guest[ATTACKER].in.vgpu, &info);
    if (strcmp(vgt_failsafe_reason_name(info.failsafe_reason), reason))
        fail_msg("attacker's failsafe reason %s (%s), want %s",
                 vgt_failsafe_reason_name(info.failsafe_reason), info.failsafe_detail, reason);
    return vgt_now_ns() - t0;
}

/* Run @batch (ndw dwords) from a fresh context of @engine. */
static uint64_t submit_batch(struct gp *p, unsigned engine, const uint32_t *batch, size_t ndw)
{
    struct gg *d = p->guest[ATTACKER].drv;
    struct gg_ctx *c;
    struct gg_bo bo;
    uint32_t ring[4];
    uint64_t t0;
    size_t k;

    assert_int_equal(gg_bo_create(d, (ndw * 4 + 4095) & ~4095ul, true, false, false, &bo), 0);
    assert_int_equal(gg_bo_write(d, &bo, 0, batch, ndw * 4), 0);
    assert_int_equal(gg_ctx_create(d, engine, &c), 0);
    k = gwl_emit_bb_start(ring, bo.gm, false, false);
    k += gwl_emit_noop(ring + k);
    t0 = vgt_now_ns(); /* the budget starts after this, at dispatch */
    assert_int_equal(gg_submit(d, c, ring, k), 0);
    return t0;
}

/* MI_SEMAPHORE_WAIT on a dword the guest never writes, on every engine:
 * the engine really waits (the GPU has no timeout), the watchdog
 * preempts it at its budget (the wait is an arbitration point), and the
 * guest enters failsafe gpu-hang. */
static void test_semaphore_never_changes(void **state)
{
    static const unsigned engines[3] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS};
    struct rig r;
    struct vgt_submit_watchdog_stats wd;

    (void)state;
    rig_start(&r, 4);
    for (unsigned i = 0; i < 3; i++) {
        struct gg *d = r.p->guest[ATTACKER].drv;
        struct gg_bo sem;
        uint32_t cs[16];
        size_t k;
        uint64_t t0, took;

        vgt_submit_set_watchdog(r.p->guest[ATTACKER].in.sv, 50);
        assert_int_equal(gg_bo_create(d, 4096, true, false, false, &sem), 0);
        k = gwl_emit_semaphore_wait_eq(cs, sem.gm, true, 1);
        k += gwl_emit_bb_end(cs + k);
        t0 = submit_batch(r.p, engines[i], cs, k);
        took = expect_reason(r.p, "gpu-hang", t0, 3000);
        /* Not before the budget; the honest guests' queue waits on the
         * blitter only for the budget plus the preemption. */
        assert_true(took >= 50000000ull);
        reprobe(r.p, ATTACKER);
    }
    vgt_submit_watchdog_stats(r.p->sub, &wd);
    /* Each was stopped: preempted at the wait, or, when the engine thread
     * did not get a CPU within the preemption timeout (a loaded machine),
     * reset. tests/sim/gpu_model.c shows the preemption itself. */
    assert_int_equal(wd.hangs, 3);
    assert_int_equal(wd.preempted + wd.resets + wd.late, 3);
    assert_true(wd.max_stop_ns < 1000000000ull);
    rig_end(&r);
}

/* Hung on two engines at once, then a device-model reset: the reset takes
 * both workloads off their engines itself, whether or not the watchdog got
 * to them first, and the vGPU comes out of it clean: no failsafe from a
 * hang found before the reset, then or later. (The reset used to wait,
 * holding the vGPU's lock, for the watchdog, which stopped the first
 * engine and then blocked on that lock to enter failsafe: the second
 * engine stayed hung and the reset never returned.) */
static void test_reset_while_hung_on_two_engines(void **state)
{
    static const unsigned engines[2] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS};
    struct rig r;
    struct vgt_submit_watchdog_stats wd;
    struct timespec ts = {0, 20000000};
    struct gg *d;
    struct gg_bo sem[2];

    (void)state;
    rig_start(&r, 4);
    d = r.p->guest[ATTACKER].drv;
    /* the default budget: both are on their engines well before it */
    vgt_submit_set_watchdog(r.p->guest[ATTACKER].in.sv, 0);
    for (unsigned i = 0; i < 2; i++) {
        uint32_t cs[16], zero[2] = {0, 0};
        size_t k;

        assert_int_equal(gg_bo_create(d, 4096, true, false, false, &sem[i]), 0);
        assert_int_equal(gg_bo_write(d, &sem[i], 0, zero, 8), 0);
        k = gwl_emit_sdi(cs, sem[i].gm + 4, true, 1); /* started */
        k += gwl_emit_semaphore_wait_eq(cs + k, sem[i].gm, true, 1);
        k += gwl_emit_bb_end(cs + k);
        submit_batch(r.p, engines[i], cs, k);
    }
    /* both on their engines (the blitter may first finish an honest step) */
    for (unsigned i = 0; i < 2; i++) {
        uint32_t started = 0;

        for (unsigned ms = 0; ms < 1500 && !started; ms++) {
            struct timespec one = {0, 1000000};

            assert_int_equal(gg_bo_read(d, &sem[i], 4, &started, 4), 0);
            if (!started)
                nanosleep(&one, NULL);
        }
        assert_int_equal(started, 1);
    }
    assert_int_equal(vgt_vgpu_reset(r.p->guest[ATTACKER].in.vgpu), 0);
    assert_int_equal(vgt_submit_outstanding(r.p->guest[ATTACKER].in.sv), 0);
    vgt_submit_watchdog_stats(r.p->sub, &wd);
    assert_int_equal(wd.hangs + wd.evicted, 2);
    nanosleep(&ts, NULL);
    assert_false(vgt_vgpu_in_failsafe(r.p->guest[ATTACKER].in.vgpu));
    reprobe(r.p, ATTACKER);
    rig_end(&r);
}

/* Blitter workloads of 10 ms, 1 s and 10 s (fills of a 4 KiB-pitch
 * surface at NS_PER_BYTE, ~0.82 ms a row, back to back in one batch: a
 * fill is not an arbitration point, so preemption does not take and the
 * engine is reset), cut at a budget of 5 ms, 100 ms and 100 ms. The attacker is
 * charged what it took, and the honest guests' shares hold. */
static void test_long_blits(void **state)
{
    static const unsigned budget_ms[3] = {5, 100, 100};
    static const uint64_t len_ms[3] = {10, 1000, 10000};
    struct rig r;
    struct vgt_submit_watchdog_stats wd;
    /* The longest: 10 s of rows, 1024 rows a fill, 7 dwords a fill. */
    const size_t max_dw = (size_t)(len_ms[2] * 1000000ull / (uint64_t)(4096 * NS_PER_BYTE) / 1024 + 1) * 7 + 1;
    uint32_t *cs = calloc(max_dw, 4);

    (void)state;
    assert_non_null(cs);
    rig_start(&r, 4);
    for (unsigned i = 0; i < 3; i++) {
        struct gg *d = r.p->guest[ATTACKER].drv;
        struct gg_bo dst;
        struct vgt_submit_stats st;
        uint64_t rows = len_ms[i] * 1000000ull / (uint64_t)(4096 * NS_PER_BYTE);
        size_t k = 0;
        uint64_t t0, took;

        vgt_submit_set_watchdog(r.p->guest[ATTACKER].in.sv, budget_ms[i]);
        assert_int_equal(gg_bo_create(d, 4u << 20, true, true, false, &dst), 0);
        for (uint32_t f = 0; rows; f++) {
            uint32_t h = (uint32_t)VGT_MIN(rows, 1024);

            k += gwl_emit_color_blt(cs + k, dst.gm, 4096, 0, 0, 1024, h, 0xa0a0a0a0u + f);
            rows -= h;
        }
        k += gwl_emit_bb_end(cs + k);
        assert_true(k <= max_dw);
        t0 = submit_batch(r.p, VGT_ENGINE_BCS, cs, k);
        took = expect_reason(r.p, "gpu-hang", t0, 5000);
        assert_true(took >= budget_ms[i] * 1000000ull);
        /* Charged in full: at least its budget of blitter time. */
        assert_int_equal(vgt_submit_get_stats(r.p->guest[ATTACKER].in.sv, &st), 0);
        assert_true(st.sched.busy_ns[VGT_ENGINE_BCS] >= budget_ms[i] * 1000000ull);
        assert_true(st.sched.cancelled[VGT_ENGINE_BCS] >= 1);
        reprobe(r.p, ATTACKER);
    }
    vgt_submit_watchdog_stats(r.p->sub, &wd);
    /* The 1 s and 10 s ones can only be reset; the 10 ms one may end its
     * single fill within the preemption timeout and be preempted at the
     * ring's next arbitration point, or, on a loaded machine, complete
     * before the watchdog's thread runs (a hang all the same: "late"). */
    assert_int_equal(wd.hangs, 3);
    assert_int_equal(wd.resets + wd.preempted + wd.late, 3);
    free(cs);
    rig_end(&r);
}

/* Render and video workloads of 10 ms and 1 s: MI_NOOPs at NS_PER_CMD in
 * one batch, no arbitration point inside it: reset at a budget of 5 ms and
 * 100 ms. 10 s of commands (the 1 s batch started ten times as a second
 * level) is more than the audit copies for one workload: refused at
 * submission (guest-error), so the 10 s case on these engines is the
 * semaphore wait of test_semaphore_never_changes. */
static void test_long_command_streams(void **state)
{
    static const unsigned engines[2] = {VGT_ENGINE_RCS, VGT_ENGINE_VCS};
    static const unsigned budget_ms[3] = {5, 100, 100};
    const size_t per_s = (size_t)(1e9 / NS_PER_CMD); /* MI_NOOPs in 1 s */
    uint32_t *noops = calloc(per_s + 1, 4);
    struct vgt_submit_watchdog_stats wd;
    struct rig r;

    (void)state;
    assert_non_null(noops);
    rig_start(&r, 4);
    for (unsigned ei = 0; ei < 2; ei++)
        for (unsigned i = 0; i < 3; i++) {
            struct gg *d = r.p->guest[ATTACKER].drv;
            uint32_t cs[64];
            struct vgt_submit_stats st;
            size_t k = 0;
            uint64_t t0, took;

            vgt_submit_set_watchdog(r.p->guest[ATTACKER].in.sv, budget_ms[i]);
            if (i < 2) {
                size_t n = i == 0 ? per_s / 100 : per_s;

                gwl_emit_bb_end(noops + n);
                t0 = submit_batch(r.p, engines[ei], noops, n + 1);
                gwl_emit_noop(noops + n);
            } else {
                struct gg_bo sec;

                gwl_emit_bb_end(noops + per_s);
                assert_int_equal(gg_bo_create(d, ((per_s + 1) * 4 + 4095) & ~4095ul, true, false, false, &sec), 0);
                assert_int_equal(gg_bo_write(d, &sec, 0, noops, (per_s + 1) * 4), 0);
                gwl_emit_noop(noops + per_s);
                for (unsigned s = 0; s < 10; s++)
                    k += gwl_emit_bb_start(cs + k, sec.gm, false, true);
                k += gwl_emit_bb_end(cs + k);
                t0 = submit_batch(r.p, engines[ei], cs, k);
            }
            if (i == 2) {
                (void)expect_reason(r.p, "guest-error", t0, 5000);
                reprobe(r.p, ATTACKER);
                continue;
            }
            took = expect_reason(r.p, "gpu-hang", t0, 5000);
            assert_true(took >= budget_ms[i] * 1000000ull);
            assert_int_equal(vgt_submit_get_stats(r.p->guest[ATTACKER].in.sv, &st), 0);
            assert_true(st.sched.busy_ns[engines[ei]] >= budget_ms[i] * 1000000ull);
            reprobe(r.p, ATTACKER);
        }
    vgt_submit_watchdog_stats(r.p->sub, &wd);
    /* Each was stopped; normally the 1 s ones by a reset (the 10 ms ones
     * may end within the preemption timeout and be preempted in the
     * ring), but a loaded machine can delay the watchdog's thread. */
    assert_int_equal(wd.hangs, 4);
    assert_int_equal(wd.resets + wd.preempted + wd.late, 4);
    free(noops);
    rig_end(&r);
}

/* A second-level batch that chains to itself, on every engine: the audit
 * sees the loop at submission and refuses it (failsafe guest-error)
 * before the GPU runs anything, so the watchdog never has to. */
static void test_self_loop_second_level(void **state)
{
    static const unsigned engines[3] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS};
    struct vgt_submit_watchdog_stats wd;
    struct rig r;

    (void)state;
    rig_start(&r, 4);
    for (unsigned e = 0; e < 3; e++) {
        struct gg *d = r.p->guest[ATTACKER].drv;
        struct vgt_vgpu_info info;
        struct gg_bo loop;
        uint32_t cs[8];
        size_t k;

        assert_int_equal(gg_bo_create(d, 4096, true, false, false, &loop), 0);
        k = gwl_emit_bb_start(cs, loop.gm, false, false); /* itself */
        assert_int_equal(gg_bo_write(d, &loop, 0, cs, k * 4), 0);
        k = gwl_emit_bb_start(cs, loop.gm, false, true);  /* second level */
        k += gwl_emit_bb_end(cs + k);
        (void)submit_batch(r.p, engines[e], cs, k);
        (void)expect_reason(r.p, "guest-error", vgt_now_ns(), 3000);
        vgt_vgpu_get_info(r.p->guest[ATTACKER].in.vgpu, &info);
        if (!strstr(info.failsafe_detail, "MI_BATCH_BUFFER_START at batch 2 +0x0: batch buffer jumps back"))
            fail_msg("engine %u: refused for %s, not the loop", engines[e], info.failsafe_detail);
        reprobe(r.p, ATTACKER);
    }
    vgt_submit_watchdog_stats(r.p->sub, &wd);
    assert_int_equal(wd.hangs, 0);
    rig_end(&r);
}

/* --- register isolation -------------------------------------------------- */

#define MI_LRR(src, dst) 0x15000001u, (src), (dst) /* MI_LOAD_REGISTER_REG */

/* RING_CTX_TIMESTAMP (base + 0x3a8, in the image) is not here: it is the
 * GPU time the scheduler charges, so the auditor refuses loading it
 * (test_ctx_timestamp_not_loadable below). */
enum reg_kind_t {
    REG_PLAIN,   /* holds what was loaded; the host's value is 0 */
    REG_RING_TS, /* RING_TIMESTAMP: read-only to commands, the GPU's clock */
    REG_MASKED,  /* masked (bits 31:16 select bits 15:0): holds 16 bits; the host's are 0 */
};

struct reg_class {
    unsigned engine;
    uint32_t reg;
    enum reg_kind_t kind;
};

/* Every class of register the whitelist lets a command write, on each
 * engine that may (cmd_audit.c reg_rows[], less the PDPs, which only an
 * LRI may load and which the auditor patches to the shadow root): the
 * context-image ones and those of mmio_context.c's switch list. */
static const struct reg_class reg_classes[] = {
    {VGT_ENGINE_RCS, 0x2290, REG_PLAIN},       /* GPGPU_THREADS_DISPATCHED */
    {VGT_ENGINE_RCS, 0x2300, REG_PLAIN},       /* pipeline statistics */
    {VGT_ENGINE_RCS, 0x2358, REG_RING_TS},     /* render RING_TIMESTAMP */
    {VGT_ENGINE_RCS, 0x2400, REG_PLAIN},       /* MI_PREDICATE_SRC0 */
    {VGT_ENGINE_RCS, 0x2420, REG_PLAIN},       /* 3DPRIM_END_OFFSET */
    {VGT_ENGINE_RCS, 0x2438, REG_PLAIN},       /* 3DPRIM */
    {VGT_ENGINE_RCS, 0x2504, REG_PLAIN},       /* GPGPU_DISPATCHDIMY */
    {VGT_ENGINE_RCS, 0x2600 + 4 * 3, REG_PLAIN}, /* CS GPR (image) */
    {VGT_ENGINE_RCS, 0x5200, REG_PLAIN},       /* SO_NUM_PRIMS_WRITTEN */
    {VGT_ENGINE_RCS, 0x5244, REG_PLAIN},       /* SO_PRIM_STORAGE_NEEDED */
    {VGT_ENGINE_RCS, 0x5284, REG_PLAIN},       /* SO_WRITE_OFFSET */
    {VGT_ENGINE_BCS, 0x2358, REG_RING_TS},     /* render RING_TIMESTAMP, read from BCS */
    {VGT_ENGINE_BCS, 0x22200, REG_PLAIN},      /* BCS_SWCTRL (image) */
    {VGT_ENGINE_BCS, 0x22358, REG_RING_TS},    /* BCS RING_TIMESTAMP */
    {VGT_ENGINE_BCS, 0x22600 + 4 * 7, REG_PLAIN}, /* BCS GPR (image) */
    {VGT_ENGINE_VCS, 0x12358, REG_RING_TS},    /* VCS RING_TIMESTAMP */
    /* gvt's F_CMD_ACCESS rows (i915's context workarounds among them). */
    {VGT_ENGINE_RCS, 0x7004, REG_MASKED},      /* CACHE_MODE_1 */
    {VGT_ENGINE_RCS, 0xe4f0, REG_MASKED},      /* GEN8_ROW_CHICKEN */
    {VGT_ENGINE_RCS, 0x9030, REG_PLAIN},       /* GEN7_SQ_CHICKEN_MBCUNIT_CONFIG */
    {VGT_ENGINE_BCS, 0x22028, REG_MASKED},     /* RING_EXCC(BCS) */
    {VGT_ENGINE_VCS, 0x120d4, REG_MASKED},     /* CSFE_CHICKEN1_REG(VCS) */
    {VGT_ENGINE_VCS, 0x12600 + 4 * 9, REG_PLAIN}, /* VCS GPR (image) */
};

static const uint32_t gpr0[VGT_ENGINE_NUM] = {
    [VGT_ENGINE_RCS] = 0x2600, [VGT_ENGINE_BCS] = 0x22600, [VGT_ENGINE_VCS] = 0x12600,
};

static const char *const how_name[3] = {"LRI", "LRR", "LRM"};

/* Guest 3 loads a value into each register by LRI, LRR and LRM in turn
 * and stores it back in the same batch (so the value really is in the
 * register); then guest 4, next on that engine, stores the register into
 * its own memory and finds the host's value (0) or its own context's,
 * never guest 3's. The three honest workers run throughout. */
static void test_registers_do_not_leak(void **state)
{
    struct rig r;
    struct gg *a, *v;
    struct gg_bo abo, vbo;
    struct gg_ctx *ca[VGT_ENGINE_NUM] = {0}, *cv[VGT_ENGINE_NUM] = {0};

    (void)state;
    rig_start(&r, 5);
    a = r.p->guest[ATTACKER].drv;
    v = r.p->guest[VICTIM].drv;
    assert_int_equal(gg_bo_create(a, 4096, true, false, false, &abo), 0);
    assert_int_equal(gg_bo_create(v, 4096, true, false, false, &vbo), 0);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(reg_classes); i++)
        for (int how = 0; how < 3; how++) {
            const struct reg_class *c = &reg_classes[i];
            uint32_t cs[32], val = 0xbad00000u + (uint32_t)(i * 4 + (size_t)how), got = 0, poison = ~0u;
            /* What the register holds after the load: a masked one takes
             * the bits its upper half selects. */
            uint32_t held = val;
            size_t k = 0;

            if (!ca[c->engine]) {
                assert_int_equal(gg_ctx_create(a, c->engine, &ca[c->engine]), 0);
                assert_int_equal(gg_ctx_create(v, c->engine, &cv[c->engine]), 0);
            }
            if (c->kind == REG_MASKED) {
                val = 0xffff0000u | (0xbad0u + (uint32_t)(i * 4 + (size_t)how));
                held = val & 0xffffu;
            }
            /* The attacker. */
            assert_int_equal(gg_bo_write(a, &abo, 0x100, &val, 4), 0);
            if (how == 0) {
                k += gwl_emit_lri(cs + k, c->reg, val);
            } else if (how == 1) {
                const uint32_t lrr[3] = {MI_LRR(gpr0[c->engine], c->reg)};

                k += gwl_emit_lri(cs + k, gpr0[c->engine], val);
                memcpy(cs + k, lrr, sizeof(lrr));
                k += 3;
            } else {
                k += gwl_emit_lrm(cs + k, c->reg, abo.gm + 0x100, true);
            }
            k += gwl_emit_srm(cs + k, c->reg, abo.gm + 0x200, true);
            k += gwl_emit_noop(cs + k);
            assert_int_equal(gg_submit(a, ca[c->engine], cs, k), 0);
            assert_int_equal(gg_wait(a, ca[c->engine], 5000), 0);
            assert_int_equal(gg_bo_read(a, &abo, 0x200, &got, 4), 0);
            if (c->kind != REG_RING_TS && got != held)
                fail_msg("register 0x%x by %s: the attacker read back 0x%x, not its 0x%x", c->reg,
                         how_name[how], got, held);
            assert_false(vgt_vgpu_in_failsafe(r.p->guest[ATTACKER].in.vgpu));

            /* The victim, next on that engine. */
            assert_int_equal(gg_bo_write(v, &vbo, 0x300, &poison, 4), 0);
            k = gwl_emit_srm(cs, c->reg, vbo.gm + 0x300, true);
            k += gwl_emit_noop(cs + k);
            assert_int_equal(gg_submit(v, cv[c->engine], cs, k), 0);
            assert_int_equal(gg_wait(v, cv[c->engine], 5000), 0);
            assert_int_equal(gg_bo_read(v, &vbo, 0x300, &got, 4), 0);
            if (got == held)
                fail_msg("register 0x%x by %s: guest 4 read guest 3's value 0x%x (loaded 0x%x)", c->reg,
                         how_name[how], got, val);
            if (c->kind != REG_RING_TS && got != 0)
                fail_msg("register 0x%x by %s: guest 4 read 0x%x, not the host's 0", c->reg, how_name[how], got);
        }
    assert_false(vgt_vgpu_in_failsafe(r.p->guest[VICTIM].in.vgpu));
    rig_end(&r);
}

/* RING_CTX_TIMESTAMP (image) is the GPU time the scheduler charges
 * (docs/scheduler.md): a guest may store it, never load it, on any engine
 * and by none of LRI, LRR and LRM. */
static void test_ctx_timestamp_not_loadable(void **state)
{
    static const unsigned engines[] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS};
    struct rig r;

    (void)state;
    rig_start(&r, 5);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(engines); i++)
        for (int how = 0; how < 3; how++) {
            unsigned e = engines[i];
            uint32_t reg = gpr0[e] - 0x600 + 0x3a8, cs[16];
            struct vgt_vgpu_info info;
            size_t k = 0;

            if (how == 0) {
                k += gwl_emit_lri(cs + k, reg, 0);
            } else if (how == 1) {
                const uint32_t lrr[3] = {MI_LRR(gpr0[e], reg)};

                memcpy(cs + k, lrr, sizeof(lrr));
                k += 3;
            } else {
                /* Any address: the register operand is refused first. */
                k += gwl_emit_lrm(cs + k, reg, 0, true);
            }
            cs[k++] = 0x05000000u; /* MI_BATCH_BUFFER_END */
            expect_reason(r.p, "guest-error", submit_batch(r.p, e, cs, k), 5000);
            vgt_vgpu_get_info(r.p->guest[ATTACKER].in.vgpu, &info);
            if (!strstr(info.failsafe_detail, "RING_CTX_TIMESTAMP"))
                fail_msg("engine %u, %s of 0x%x: refused for %s", e, how_name[how], reg, info.failsafe_detail);
            reprobe(r.p, ATTACKER);
        }
    assert_false(vgt_vgpu_in_failsafe(r.p->guest[VICTIM].in.vgpu));
    rig_end(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semaphore_never_changes),
        cmocka_unit_test(test_reset_while_hung_on_two_engines),
        cmocka_unit_test(test_long_blits),
        cmocka_unit_test(test_long_command_streams),
        cmocka_unit_test(test_self_loop_second_level),
        cmocka_unit_test(test_registers_do_not_leak),
        cmocka_unit_test(test_ctx_timestamp_not_loadable),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]); /* e.g. "test_registers_do_not_leak" */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

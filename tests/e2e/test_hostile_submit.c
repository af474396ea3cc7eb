/* Hostile guests on the submission path (issue 12), end to end on the
 * simulated platform: three honest guests run checked work beside one
 * attacker (guest 3). Every attack asserts
 *
 * - the attacker's failsafe REASON (or, where what it does is legal, that
 *   it changed nothing it may not),
 * - every honest guest's bytes in its own memory: its workload's results
 *   (checked by its worker) and a canary page the attacker aims at,
 * - the honest guests' GPU-time shares within +-5% of their weights. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gpu_harness.h"
#include "vgt/gen8_gtt.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/util.h"

#define ATTACKER 3
#define HONEST 3
#define CANARY 0xC0DE0000u
#define EVIL 0xA77AC4EDu
/* The largest batch copy one workload may hold (docs/submission.md: the
 * slot's 64-page batch area less the alignment slack of 64 batches). */
#define MAX_BATCH_DW (64u * 1024 - 64 * 16)
#define GGTT_WINDOW 0x800000u /* BAR0 + 8 MiB (i915 gen8_gmch_probe) */
/* A slow simulated GPU (a 128x128 blit takes ~6.5 ms): the engines, not
 * the guests' CPU loops on a shared machine, decide the shares. */
#define NS_PER_BYTE 100.0
#define TIME_TOL 0.05 /* see end_work() */

struct hostile {
    struct gp *p;
    struct hx_filler w[HONEST];
    struct gg_bo canary[HONEST];
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Three honest guests, each with a canary page, start their checked work
 * for @seconds, all stopping at the same time; the attackers are guests
 * 3 .. 3 + @attackers - 1. Shares count from when every honest guest has
 * had a fill done (the accounting is reset then), so the threads'
 * start-up on a loaded host is not in them. */
static void begin_n(struct hostile *h, double ns_per_byte, double seconds, unsigned attackers)
{
    uint64_t stop;

    memset(h, 0, sizeof(*h));
    h->p = hx_platform(HONEST + attackers, "V5_8", NULL, ns_per_byte, 2);
    for (unsigned i = 0; i < HONEST; i++) {
        uint32_t page[1024];

        for (unsigned k = 0; k < 1024; k++)
            page[k] = CANARY | (i << 12) | k;
        assert_int_equal(gg_bo_create(h->p->guest[i].drv, 4096, true, false, false, &h->canary[i]), 0);
        assert_int_equal(gg_bo_write(h->p->guest[i].drv, &h->canary[i], 0, page, sizeof(page)), 0);
    }
    stop = vgt_now_ns() + (uint64_t)(seconds * 1e9);
    for (unsigned i = 0; i < HONEST; i++)
        hx_fill_start_until(&h->w[i], h->p, i, stop);
    for (unsigned i = 0; i < HONEST; i++)
        while (!__atomic_load_n(&h->w[i].done, __ATOMIC_RELAXED) && vgt_now_ns() < stop)
            sleep_ms(1);
    vgt_sched_reset_stats(vgt_submit_sched(h->p->sub));
}

/* The honest guests finished with correct results, their canaries are
 * intact, nobody honest is in failsafe, and they shared the blitter by
 * their (equal) weights: GPU time within TIME_TOL (issue 12's +-5%) of a
 * third. GPU time is what the scheduler charges: each workload's context
 * timestamp delta (docs/scheduler.md), which the host's scheduling delays
 * on this shared 2-core machine do not inflate. Charged as wall time,
 * spreads of 0.5-10% were measured here and the bound had to be 15%;
 * in GPU time 0-2% (at load 17, with a core kept busy beside). */
static void end_work(struct hostile *h)
{
    static const unsigned idx[HONEST] = {0, 1, 2};
    static const double wt[HONEST] = {1, 1, 1};

    for (unsigned i = 0; i < HONEST; i++)
        hx_fill_finish(&h->w[i]);
    if (getenv("HX_VERBOSE"))
        for (unsigned i = 0; i <= HONEST && h->p->guest[i].in.sv; i++) { /* the attacker may be gone */
            struct vgt_submit_stats st;

            assert_int_equal(vgt_submit_get_stats(h->p->guest[i].in.sv, &st), 0);
            fprintf(stderr, "guest %u: %llu fills, BCS %.1f ms GPU time, %.1f ms on the engine (wall)\n", i,
                    i < HONEST ? (unsigned long long)h->w[i].done : 0ull,
                    st.sched.busy_ns[VGT_ENGINE_BCS] / 1e6, st.sched.wall_ns[VGT_ENGINE_BCS] / 1e6);
        }
    for (unsigned i = 0; i < HONEST; i++) {
        uint32_t page[1024];

        assert_false(hx_failsafe(h->p, i));
        assert_true(h->w[i].done > 3);
        assert_int_equal(gg_bo_read(h->p->guest[i].drv, &h->canary[i], 0, page, sizeof(page)), 0);
        for (unsigned k = 0; k < 1024; k++)
            if (page[k] != (CANARY | (i << 12) | k))
                fail_msg("guest %u canary dword %u = %#x: the attacker reached it", i, k, page[k]);
    }
    hx_assert_shares(h->p, idx, wt, HONEST, VGT_ENGINE_BCS, TIME_TOL);
}

/* ... with one attacker, guest 3. */
static void begin(struct hostile *h, double ns_per_byte, double seconds)
{
    begin_n(h, ns_per_byte, seconds, 1);
}

static void end(struct hostile *h)
{
    end_work(h);
    gp_destroy(h->p);
}

static struct gg *attacker(struct hostile *h)
{
    return h->p->guest[ATTACKER].drv;
}

/* Put @cmds (@n dwords) in a fresh GGTT batch of guest driver @d and
 * start it from the ring of a fresh context on @engine. */
static struct gg_ctx *start_batch(struct gg *d, unsigned engine, const uint32_t *cmds, size_t n)
{
    struct gg_bo bo;
    struct gg_ctx *c;
    uint32_t ring[4];
    size_t k;

    assert_int_equal(gg_bo_create(d, VGT_MAX(n * 4, (size_t)4096), true, n * 4 > 4096, false, &bo), 0);
    assert_int_equal(gg_bo_write(d, &bo, 0, cmds, n * 4), 0);
    assert_int_equal(gg_ctx_create(d, engine, &c), 0);
    k = gwl_emit_bb_start(ring, bo.gm, false, false);
    k += gwl_emit_noop(ring + k);
    assert_int_equal(gg_submit(d, c, ring, k), 0);
    return c;
}

/* ---- 1. long batches with a forbidden command ---- */

/* A batch of @ndw dwords (MI_NOOPs, MI_BATCH_BUFFER_END last) with, when
 * @at is not SIZE_MAX, an LRI of the blitter's status-page register (aimed
 * at guest 0's canary) at dword @at. Started from the ring on the
 * blitter. */
static void submit_batch(struct hostile *h, size_t ndw, size_t at, struct gg_ctx **ctx)
{
    uint32_t *b = calloc(ndw, 4);

    assert_non_null(b);
    b[ndw - 1] = 0x05000000u; /* MI_BATCH_BUFFER_END */
    if (at != SIZE_MAX)
        gwl_emit_lri(b + at, GEN9_BCS_BASE + RING_HWS_PGA, (uint32_t)h->canary[0].gm);
    *ctx = start_batch(attacker(h), VGT_ENGINE_BCS, b, ndw);
    free(b);
}

static void test_long_batches(void **state)
{
    const size_t sizes[] = {1025, 16 * 1024 + 8, MAX_BATCH_DW};
    struct hostile h;
    struct gg_ctx *c;
    char what[64];

    (void)state;
    begin(&h, NS_PER_BYTE, 3.0);
    for (size_t s = 0; s < VGT_ARRAY_SIZE(sizes); s++) {
        const size_t at[3] = {0, sizes[s] / 2, sizes[s] - 4}; /* the LRI is 3 dwords, BBE last */

        /* A clean batch of that size runs. */
        submit_batch(&h, sizes[s], SIZE_MAX, &c);
        assert_int_equal(gg_wait(attacker(&h), c, 10000), 0);
        assert_false(hx_failsafe(h.p, ATTACKER));
        for (unsigned k = 0; k < 3; k++) {
            submit_batch(&h, sizes[s], at[k], &c);
            snprintf(what, sizeof(what), "MI_LOAD_REGISTER_IMM at batch 1 +0x%zx: register", at[k] * 4);
            hx_assert_failsafe(h.p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR, what);
            hx_assert_failsafe(h.p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR, "register is not command-accessible");
            assert_int_equal(gg_wait(attacker(&h), c, 50), -ETIMEDOUT);
            hx_reprobe(h.p, ATTACKER);
        }
    }
    /* One dword past the maximum: refused for its size, never run in
     * parts. */
    submit_batch(&h, MAX_BATCH_DW + 1, SIZE_MAX, &c);
    hx_assert_failsafe(h.p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR, "command size limit");
    hx_reprobe(h.p, ATTACKER);
    end(&h);
}

/* ---- 2. a second vCPU rewriting what is being shadowed ---- */

struct racer {
    struct sim_guest *g;
    uint64_t gpa;          /* the dword to flip (0: pause) */
    uint32_t a, b;         /* its allowed and its hostile value */
    bool stop;
    uint64_t flips;
    pthread_t thr;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;

    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        uint64_t gpa = __atomic_load_n(&r->gpa, __ATOMIC_ACQUIRE);
        uint32_t v = (r->flips & 1) ? r->b : r->a;

        /* vCPU 1 of the attacker (the driver runs on vCPU 0); one aligned
         * dword, so every read sees one version or the other */
        if (gpa && sim_guest_ram_write(r->g, 1, gpa, &v, 4) == 0)
            __atomic_add_fetch(&r->flips, 1, __ATOMIC_RELAXED);
        /* a vCPU, not a CPU hog: the honest guests' share is the GPU's */
        sched_yield();
    }
    return NULL;
}

enum race_stage { RACE_BATCH, RACE_RING, RACE_CONTEXT };

/* The guest-physical address of register-state dword @idx of @c's image,
 * found through the guest's own GGTT entry (read back through MMIO) and
 * checked by a write that shows in the image. */
static uint64_t ctx_reg_gpa(struct gp_guest *ag, struct gg_ctx *c, unsigned idx)
{
    uint64_t lrca = gg_ctx_desc(c) & 0xfffff000ull, gpa;
    uint32_t lo = 0, hi = 0, orig = 0, probe = 0x5a5a5a58u, back = 0;
    uint32_t off = GGTT_WINDOW + (uint32_t)((lrca >> 12) + 1) * 8;

    assert_int_equal(gg_mmio_read32(ag->drv, off, &lo), 0);
    assert_int_equal(gg_mmio_read32(ag->drv, off + 4, &hi), 0);
    gpa = (((uint64_t)hi << 32 | lo) & 0x7ffffff000ull) + idx * 4;
    assert_int_equal(sim_guest_ram_read(ag->in.guest, 1, gpa, &orig, 4), 0);
    assert_int_equal(sim_guest_ram_write(ag->in.guest, 1, gpa, &probe, 4), 0);
    assert_int_equal(gg_ctx_reg(ag->drv, c, idx, &back, false), 0);
    assert_int_equal(back, probe);
    assert_int_equal(sim_guest_ram_write(ag->in.guest, 1, gpa, &orig, 4), 0);
    return gpa;
}

/* Submit again and again while vCPU 1 flips one dword of the stage
 * between an allowed value and one aimed at guest 0's canary: the batch's
 * store address, the ring's BB_START target, the context's RING_START.
 * Each submission either runs the allowed version (what was audited) or
 * is refused for @reason; the hostile one never reaches the GPU (end()
 * checks the canary). */
static void race_stage(struct hostile *h, enum race_stage st, const char *reason)
{
    struct gp_guest *ag = &h->p->guest[ATTACKER];
    struct gg *d = ag->drv;
    struct gg_ctx *c = NULL;
    struct gg_bo own, batch;
    struct racer r;
    uint32_t ring[4], *b, v = 0;
    const size_t bdw = 2048; /* past the first 1024-dword copy window */
    unsigned runs = 0;
    size_t k;

    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &own), 0);
    assert_int_equal(gg_bo_create(d, bdw * 4, true, true, false, &batch), 0);
    b = calloc(bdw, 4);
    assert_non_null(b);
    gwl_emit_sdi(b, own.gm, true, 0x600d);
    b[bdw - 1] = 0x05000000u; /* MI_BATCH_BUFFER_END */
    assert_int_equal(gg_bo_write(d, &batch, 0, b, bdw * 4), 0);
    free(b);
    k = gwl_emit_bb_start(ring, batch.gm, false, false);
    k += gwl_emit_noop(ring + k);
    memset(&r, 0, sizeof(r));
    r.g = ag->in.guest;
    switch (st) {
    case RACE_BATCH:
        assert_int_equal(gg_ctx_create(d, VGT_ENGINE_RCS, &c), 0);
        r.a = (uint32_t)own.gm;
        r.b = (uint32_t)h->canary[0].gm;
        r.gpa = batch.gpa + 4; /* MI_STORE_DATA_IMM dword 1: address */
        break;
    case RACE_RING:
        assert_int_equal(gg_ctx_create(d, VGT_ENGINE_RCS, &c), 0);
        r.a = (uint32_t)batch.gm;
        r.b = (uint32_t)h->canary[0].gm;
        break; /* where, below: it moves with the tail */
    case RACE_CONTEXT:
        assert_int_equal(gg_ctx_create(d, VGT_ENGINE_RCS, &c), 0);
        assert_int_equal(gg_ctx_reg(d, c, CTX_RING_START, &r.a, false), 0);
        r.b = (uint32_t)h->canary[0].gm;
        r.gpa = ctx_reg_gpa(ag, c, CTX_RING_START);
        break;
    }
    assert_int_equal(pthread_create(&r.thr, NULL, racer_main, &r), 0);
    /* at least 30 submissions and until the racer flipped 200 times */
    for (unsigned i = 0; i < 2000 && (i < 30 || __atomic_load_n(&r.flips, __ATOMIC_RELAXED) < 200) &&
                        !hx_failsafe(h->p, ATTACKER);
         i++) {
        if (st == RACE_RING) {
            /* gg_submit writes the BB_START where the last submission
             * ended (the image's RING_TAIL): flip its target there */
            struct gg_bo rb = gg_ctx_ring(c);
            uint32_t tail = 0;

            assert_int_equal(gg_ctx_reg(d, c, CTX_RING_TAIL, &tail, false), 0);
            if (tail + 64 > rb.size / 2)
                break; /* no wrap: the racer's dword must be the one submitted */
            __atomic_store_n(&r.gpa, rb.gpa + tail + 4, __ATOMIC_RELEASE);
        }
        {
            int rc = gg_submit(d, c, ring, k);

            if (rc)
                fail_msg("stage %d attempt %u: gg_submit %d", (int)st, i, rc);
        }
        if (!hx_failsafe(h->p, ATTACKER) && gg_wait(d, c, 5000) == 0)
            runs++;
    }
    __atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
    pthread_join(r.thr, NULL);
    assert_true(r.flips >= 20 || hx_failsafe(h->p, ATTACKER)); /* it really raced */
    if (hx_failsafe(h->p, ATTACKER)) {
        hx_assert_failsafe(h->p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR, reason);
        hx_reprobe(h->p, ATTACKER);
        return;
    }
    /* Never refused: every run was of the allowed version, which stored
     * into its own page. */
    assert_true(runs > 0);
    assert_int_equal(gg_bo_read(d, &own, 0, &v, 4), 0);
    assert_int_equal(v, 0x600d);
}

static void test_racing_vcpu(void **state)
{
    struct hostile h;

    (void)state;
    begin(&h, NS_PER_BYTE, 2.5);
    for (unsigned round = 0; round < 2; round++) {
        race_stage(&h, RACE_BATCH, "MI_STORE_DATA_IMM writes outside the vGPU");
        race_stage(&h, RACE_RING, "GGTT batch buffer outside the vGPU's graphics memory");
        race_stage(&h, RACE_CONTEXT, "ring not valid, outside the vGPU");
    }
    end(&h);
}

/* ---- 3. stores and blits into unmapped and refused entries ---- */

/* Make GGTT entry @gm of @d's own range point at a frame past its RAM:
 * the vGPU refuses it (scratch). */
static void refuse_entry(struct gg *d, uint64_t gm)
{
    uint32_t off = GGTT_WINDOW + (uint32_t)(gm >> 12) * 8;

    assert_int_equal(gg_mmio_write32(d, off, 1), 0);       /* present, gfn 0 ... */
    assert_int_equal(gg_mmio_write32(d, off + 4, 0x40), 0); /* ... | bit 38: past RAM */
}

/* Run @cmds from a GGTT batch on @engine of guest @i and wait. */
static int run_batch(struct gp *p, unsigned i, unsigned engine, const uint32_t *cmds, size_t n)
{
    struct gg *d = p->guest[i].drv;

    return gg_wait(d, start_batch(d, engine, cmds, n), 5000);
}

static void test_scratch_not_shared(void **state)
{
    struct hostile h;
    struct gg *d;
    uint64_t lb, ls, hb, hs, unmapped, refused;
    uint32_t cs[32];
    size_t k;

    (void)state;
    begin(&h, NS_PER_BYTE, 2.5);
    d = attacker(&h);
    gg_ranges(d, &lb, &ls, &hb, &hs);
    unmapped = hb + hs - 4096; /* never mapped: the allocator grows from the base */
    refused = hb + hs - 8192;
    refuse_entry(d, refused);
    /* Stores and a fill into its own unmapped and refused entries: legal
     * (the GPU writes the vGPU's scratch page), so no failsafe. */
    k = gwl_emit_sdi(cs, unmapped, true, EVIL);
    k += gwl_emit_sdi(cs + k, refused + 64, true, EVIL);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(h.p, ATTACKER, VGT_ENGINE_RCS, cs, k), 0);
    k = gwl_emit_color_blt(cs, unmapped, 1024, 0, 0, 256, 4, EVIL);
    k += gwl_emit_color_blt(cs + k, refused, 1024, 0, 0, 256, 4, EVIL);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(h.p, ATTACKER, VGT_ENGINE_BCS, cs, k), 0);
    assert_false(hx_failsafe(h.p, ATTACKER));
    end_work(&h);
    /* Each honest guest reads its own never-mapped and refused pages back
     * into a buffer: zeros, never the attacker's value. */
    for (unsigned i = 0; i < HONEST; i++) {
        struct gg *g = h.p->guest[i].drv;
        uint64_t glb, gls, ghb, ghs;
        struct gg_bo dst;
        uint32_t px[2048];

        gg_ranges(g, &glb, &gls, &ghb, &ghs);
        refuse_entry(g, ghb + ghs - 8192);
        assert_int_equal(gg_bo_create(g, 8192, true, false, false, &dst), 0);
        k = gwl_emit_src_copy_blt(cs, dst.gm, 1024, 0, 0, 256, 4, ghb + ghs - 4096, 1024, 0, 0);
        k += gwl_emit_src_copy_blt(cs + k, dst.gm + 4096, 1024, 0, 0, 256, 4, ghb + ghs - 8192, 1024, 0, 0);
        k += gwl_emit_bb_end(cs + k);
        assert_int_equal(run_batch(h.p, i, VGT_ENGINE_BCS, cs, k), 0);
        assert_int_equal(gg_bo_read(g, &dst, 0, px, sizeof(px)), 0);
        for (unsigned j = 0; j < 2048; j++)
            if (px[j] != 0)
                fail_msg("guest %u read %#x from its own unmapped page (dword %u)", i, px[j], j);
    }
    /* The attacker's PPGTT store through an entry it never mapped faults,
     * as hardware would, and only it goes to failsafe. */
    k = gwl_emit_sdi(cs, 0x0000700000000000ull, false, EVIL);
    k += gwl_emit_noop(cs + k);
    {
        struct gg_ctx *c;

        assert_int_equal(gg_ctx_create(d, VGT_ENGINE_RCS, &c), 0);
        assert_int_equal(gg_submit(d, c, cs, k), 0);
        assert_int_not_equal(gg_wait(d, c, 2000), 0);
    }
    hx_assert_failsafe(h.p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR, "GPU fault in a workload");
    for (unsigned i = 0; i < HONEST; i++)
        assert_false(hx_failsafe(h.p, i));
    gp_destroy(h.p);
}

/* ---- 4. reset, remove and failsafe while the attacker's work runs ---- */

/* Where the semaphore that holds the attacker's workload is. */
struct releaser {
    struct sim_guest *g;
    uint64_t gpa;
};

/* Attacker @who's workload on @engine stores "started", then waits (in
 * a batch) on a semaphore in its own memory (at rel->gpa, released by
 * the caller), then stores a marker. Returns once it runs on the engine. */
static void hold_engine_of(struct hostile *h, unsigned who, unsigned engine, struct releaser *rel,
                           struct gg_bo *marker)
{
    struct gp_guest *ag = &h->p->guest[who];
    struct gg *d = ag->drv;
    struct gg_bo sem;
    uint32_t cs[24], zero[2] = {0, 0}, started = 0;
    size_t k;

    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &sem), 0);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, marker), 0);
    assert_int_equal(gg_bo_write(d, &sem, 0, zero, 8), 0);
    assert_int_equal(gg_bo_write(d, marker, 0, zero, 4), 0);
    k = gwl_emit_sdi(cs, sem.gm + 4, true, 1); /* started */
    k += gwl_emit_semaphore_wait_eq(cs + k, sem.gm, true, 1);
    k += gwl_emit_sdi(cs + k, marker->gm, true, 0x5eaf00d);
    k += gwl_emit_bb_end(cs + k);
    start_batch(d, engine, cs, k);
    for (unsigned i = 0; i < 5000 && !started; i++) {
        assert_int_equal(sim_guest_ram_read(ag->in.guest, 1, sem.gpa + 4, &started, 4), 0);
        if (!started)
            sleep_ms(1);
    }
    assert_int_equal(started, 1);
    memset(rel, 0, sizeof(*rel));
    rel->g = ag->in.guest;
    rel->gpa = sem.gpa;
}

static void hold_engine(struct hostile *h, unsigned engine, struct releaser *rel, struct gg_bo *marker)
{
    hold_engine_of(h, ATTACKER, engine, rel, marker);
}

struct remover {
    struct gp *p;
    unsigned idx;
    uint64_t done_ns;
    pthread_t thr;
};

static void *remove_main(void *arg)
{
    struct remover *rm = arg;

    gp_remove_guest(rm->p, rm->idx);
    __atomic_store_n(&rm->done_ns, vgt_now_ns(), __ATOMIC_RELEASE);
    return NULL;
}

static uint32_t marker_of(struct hostile *h, const struct gg_bo *m)
{
    uint32_t v = 0;

    assert_int_equal(sim_guest_ram_read(h->p->guest[ATTACKER].in.guest, 1, m->gpa, &v, 4), 0);
    return v;
}

/* Reads through refused PPGTT entries (issue 12): each honest guest's
 * PPGTT maps one page to a frame past its RAM and one, with a reserved
 * bit set, to a page of its own RAM holding a secret; the vGPU refuses
 * both (its read-only scratch leaf). Its GPU then copies them, and a
 * normally mapped page, dword by dword through the PPGTT into a real
 * page (MI_LOAD_REGISTER_MEM then MI_STORE_REGISTER_MEM, both PPGTT: the
 * blitter's XY_* commands have no address-space selector, and the
 * auditor refuses them in PPGTT batches). Before that the attacker has
 * left its pattern in everything of its own the GPU can write outside
 * its mappings: its unmapped and refused GGTT entries (its scratch page)
 * and a page of its RAM. The copies of the refused pages must hold only
 * this vGPU's scratch content (zeros), never the attacker's pattern nor
 * the secret behind the reserved-bit entry; the mapped page is copied as
 * it is (the copy ran); the refusals are counted. */
#define PP_SECRET 0x5EC4E700u
#define PP_MAPPED 0x0A11D000u
#define PP_STALE 0x57A1E000u
#define PP_FRAME_PAST_RAM (1ull << 38)  /* a gfn no guest has (GEN8_PTE_ADDR_MASK's top bit) */
#define PP_RSVD_BIT (1ull << 40)        /* inside GEN8_PTE_RSVD_MASK */

static void test_ppgtt_refused_readback(void **state)
{
    const uint32_t gpr0 = GEN9_RCS_BASE + 0x600; /* GEN8_RING_CS_GPR(0): whitelisted */
    struct hostile h;
    struct gg *d;
    uint64_t lb, ls, hb, hs, unmapped, refused;
    uint32_t cs[32], *pattern = malloc(4096), *batch = malloc(3 * 1024 * 8 * 4 + 4), *px = malloc(3 * 4096);
    struct gg_bo evil_ram;
    size_t k;

    (void)state;
    assert_non_null(pattern);
    assert_non_null(batch);
    assert_non_null(px);
    begin(&h, NS_PER_BYTE, 2.0);
    d = attacker(&h);
    /* The attacker's pattern in its GGTT scratch (stores and fills
     * through entries it never mapped or that were refused: legal) and
     * in a page of its RAM. */
    gg_ranges(d, &lb, &ls, &hb, &hs);
    unmapped = hb + hs - 4096;
    refused = hb + hs - 8192;
    refuse_entry(d, refused);
    k = gwl_emit_color_blt(cs, unmapped, 1024, 0, 0, 256, 4, EVIL);
    k += gwl_emit_color_blt(cs + k, refused, 1024, 0, 0, 256, 4, EVIL);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(h.p, ATTACKER, VGT_ENGINE_BCS, cs, k), 0);
    for (unsigned j = 0; j < 1024; j++)
        pattern[j] = EVIL;
    assert_int_equal(gg_bo_create(d, 4096, false, false, true, &evil_ram), 0);
    assert_int_equal(gg_bo_write(d, &evil_ram, 0, pattern, 4096), 0);
    assert_false(hx_failsafe(h.p, ATTACKER));
    end_work(&h);

    for (unsigned i = 0; i < HONEST; i++) {
        struct gg *g = h.p->guest[i].drv;
        struct vgt_submit_pp_stats before, after;
        struct gg_bo src, dst;
        size_t n = 0;

        /* src: page 0 past RAM, page 1 a secret behind a reserved bit,
         * page 2 mapped; dst prefilled with stale values. */
        assert_int_equal(gg_bo_create(g, 3 * 4096, false, false, true, &src), 0);
        assert_int_equal(gg_bo_create(g, 3 * 4096, false, false, true, &dst), 0);
        for (unsigned j = 0; j < 3 * 1024; j++)
            px[j] = (j < 2048 ? PP_SECRET : PP_MAPPED) | j;
        assert_int_equal(gg_bo_write(g, &src, 0, px, 3 * 4096), 0);
        for (unsigned j = 0; j < 3 * 1024; j++)
            px[j] = PP_STALE | j;
        assert_int_equal(gg_bo_write(g, &dst, 0, px, 3 * 4096), 0);
        assert_int_equal(vgt_submit_pp_get_stats(h.p->guest[i].in.pp, &before), 0);
        assert_int_equal(gg_ppgtt_set_pte(g, src.va, PP_FRAME_PAST_RAM | GEN8_PTE_PRESENT | GEN8_PTE_RW), 0);
        assert_int_equal(gg_ppgtt_set_pte(g, src.va + 4096,
                                          (src.gpa + 4096) | PP_RSVD_BIT | GEN8_PTE_PRESENT | GEN8_PTE_RW), 0);
        for (unsigned j = 0; j < 3 * 1024; j++) {
            n += gwl_emit_lrm(batch + n, gpr0, src.va + j * 4, false);
            n += gwl_emit_srm(batch + n, gpr0, dst.va + j * 4, false);
        }
        n += gwl_emit_bb_end(batch + n);
        assert_int_equal(run_batch(h.p, i, VGT_ENGINE_RCS, batch, n), 0);
        assert_false(hx_failsafe(h.p, i));
        assert_int_equal(gg_bo_read(g, &dst, 0, px, 3 * 4096), 0);
        for (unsigned j = 0; j < 3 * 1024; j++) {
            uint32_t want = j < 2048 ? 0 : (PP_MAPPED | j);

            if (px[j] != want)
                fail_msg("guest %u read %#x through %s PPGTT page dword %u, want %#x%s", i, px[j],
                         j < 1024 ? "a past-RAM" : j < 2048 ? "a reserved-bit" : "its mapped", j % 1024, want,
                         px[j] == EVIL ? ": the attacker's pattern" : (px[j] & 0xfffff000u) == PP_SECRET
                                                                          ? ": the page behind the refused entry"
                                                                          : "");
        }
        assert_int_equal(vgt_submit_pp_get_stats(h.p->guest[i].in.pp, &after), 0);
        assert_true(after.refused >= before.refused + 2);
    }
    free(px);
    free(batch);
    free(pattern);
    gp_destroy(h.p);
}

/* The attacker's workload left the engine without running to its end:
 * released now, its semaphore lets nothing more of it run (the marker
 * stays 0), and the watchdog had no part in it. */
static void assert_evicted(struct hostile *h, struct releaser *rel, const struct gg_bo *marker,
                           uint64_t evicted_before)
{
    struct vgt_submit_watchdog_stats wd;
    uint32_t one = 1;

    vgt_submit_watchdog_stats(h->p->sub, &wd);
    assert_int_equal(wd.hangs, 0);
    assert_int_equal(wd.evicted, evicted_before + 1);
    assert_int_equal(sim_guest_ram_write(rel->g, 1, rel->gpa, &one, 4), 0);
    sleep_ms(20);
    assert_int_equal(marker_of(h, marker), 0);
}

static uint64_t evicted_now(struct hostile *h)
{
    struct vgt_submit_watchdog_stats wd;

    vgt_submit_watchdog_stats(h->p->sub, &wd);
    return wd.evicted;
}

static void test_reset_remove_failsafe_running(void **state)
{
    static const unsigned engines[VGT_ENGINE_NUM] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS,
                                                     VGT_ENGINE_VECS};
    struct hostile h;
    struct releaser rel;
    struct gg_bo marker;
    uint32_t cs[8];
    size_t k;

    (void)state;
    /* guest 3 for failsafe and reset on each engine, then guests 3..6
     * removed while running, one engine each */
    begin_n(&h, NS_PER_BYTE, 2.0, VGT_ENGINE_NUM);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        struct gg_ctx *c;
        uint64_t ev;

        /* Failsafe while it runs: queued work is cancelled and the running
         * workload's completion dropped; the others go on. */
        hold_engine(&h, engines[e], &rel, &marker);
        k = gwl_emit_lri(cs, GEN9_RCS_BASE + RING_HWS_PGA, (uint32_t)h.canary[1].gm);
        k += gwl_emit_noop(cs + k);
        assert_int_equal(gg_ctx_create(attacker(&h), VGT_ENGINE_RCS, &c), 0);
        assert_int_equal(gg_submit(attacker(&h), c, cs, k), 0);
        hx_assert_failsafe(h.p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR, "register is not command-accessible");
        /* Reset (the way out of failsafe) while the workload still runs:
         * the workload is taken off the engine (preempted, else the
         * engine reset) before its PPGTT shadows and slots are freed; the
         * reset does not wait for it to end, nor for the watchdog. */
        ev = evicted_now(&h);
        hx_reprobe(h.p, ATTACKER);
        assert_int_equal(vgt_submit_outstanding(h.p->guest[ATTACKER].in.sv), 0);
        assert_evicted(&h, &rel, &marker, ev);

        /* A device-model reset straight from running. */
        hold_engine(&h, engines[e], &rel, &marker);
        ev = evicted_now(&h);
        assert_int_equal(vgt_vgpu_reset(h.p->guest[ATTACKER].in.vgpu), 0);
        assert_false(hx_failsafe(h.p, ATTACKER));
        assert_evicted(&h, &rel, &marker, ev);
        /* the guest starts over: its GGTT was reset */
        vgt_vgpu_enter_failsafe(h.p->guest[ATTACKER].in.vgpu, VGT_FAILSAFE_ADMIN, "test: start over");
        hx_reprobe(h.p, ATTACKER);
    }
    /* Remove while it runs (vgtd's order: detach first), on each engine:
     * the vGPU goes once its work is off the engine, without the
     * semaphore ever being released (no thread may touch the guest once
     * it is gone). Under ASan this shows nothing of the removed vGPU is
     * used after it is freed. */
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        struct remover rm = {.p = h.p, .idx = ATTACKER + e};
        struct vgt_submit_watchdog_stats wd;
        uint64_t ev;

        hold_engine_of(&h, ATTACKER + e, engines[e], &rel, &marker);
        ev = evicted_now(&h);
        assert_int_equal(pthread_create(&rm.thr, NULL, remove_main, &rm), 0);
        for (unsigned ms = 0; ms < 5000 && !__atomic_load_n(&rm.done_ns, __ATOMIC_ACQUIRE); ms++)
            sleep_ms(1);
        if (!__atomic_load_n(&rm.done_ns, __ATOMIC_ACQUIRE)) {
            uint32_t one = 1;

            /* unblock it, so the failure is reported rather than hung */
            assert_int_equal(sim_guest_ram_write(rel.g, 1, rel.gpa, &one, 4), 0);
            pthread_join(rm.thr, NULL);
            fail_msg("the removal on engine %u waited for the workload to end", engines[e]);
        }
        pthread_join(rm.thr, NULL);
        vgt_submit_watchdog_stats(h.p->sub, &wd);
        assert_int_equal(wd.hangs, 0);
        assert_int_equal(wd.evicted, ev + 1);
    }
    end(&h);
}

/* ---- 5. a guest submitting as fast as it can ---- */

static void test_flood(void **state)
{
    struct hostile h;
    uint64_t t_end;
    unsigned refusals = 0, submitted = 0;

    (void)state;
    begin(&h, NS_PER_BYTE, 1.5);
    t_end = vgt_now_ns() + 1200000000ull;
    while (vgt_now_ns() < t_end) {
        struct gg *d = attacker(&h);
        struct gg_ctx *c;
        struct gg_bo own;
        uint32_t cs[8];
        size_t k;

        assert_int_equal(gg_ctx_create(d, VGT_ENGINE_BCS, &c), 0);
        assert_int_equal(gg_bo_create(d, 4096, true, false, false, &own), 0);
        k = gwl_emit_color_blt(cs, own.gm, 1024, 0, 0, 256, 4, 0x1234);
        k += gwl_emit_noop(cs + k);
        while (vgt_now_ns() < t_end && !hx_failsafe(h.p, ATTACKER)) {
            assert_int_equal(gg_submit(d, c, cs, k), 0); /* never waits */
            submitted++;
        }
        if (hx_failsafe(h.p, ATTACKER)) {
            hx_assert_failsafe(h.p, ATTACKER, VGT_FAILSAFE_GUEST_ERROR,
                               "too many submissions outstanding on this engine");
            refusals++;
            hx_reprobe(h.p, ATTACKER);
        }
    }
    assert_true(refusals > 0);
    assert_true(submitted > refusals * 16);
    end(&h);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_batches),
        cmocka_unit_test(test_racing_vcpu),
        cmocka_unit_test(test_scratch_not_shared),
        cmocka_unit_test(test_ppgtt_refused_readback),
        cmocka_unit_test(test_reset_remove_failsafe_running),
        cmocka_unit_test(test_flood),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]); /* e.g. "test_flood" */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

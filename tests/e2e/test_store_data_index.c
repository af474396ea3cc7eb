/* End to end (issue 16): store-data-index on the simulated GPU. i915 6.1
 * flushes with a store-data-index into its context's per-process HWSP
 * (page 0 of the context image). The GPU runs the vGPU's shadow context,
 * so it writes the workload's own shadow page 0, which completion copies
 * back into the guest's image: the value is in the guest's page 0, and
 * the host's engine status pages and another vGPU's context image keep
 * their bytes. A guest aiming the index out of the page is refused with
 * the offset named, and nobody else's bytes change.
 *
 * Encodings: i915 6.1 gt/intel_gpu_commands.h (PIPE_CONTROL flags,
 * MI_FLUSH_DW, MI_STORE_DWORD_INDEX, MI_STORE_DWORD_IMM_GEN4, MI_ARB_ON_OFF,
 * MI_SEMAPHORE_WAIT), gt/intel_lrc.h LRC_PPHWSP_SCRATCH_ADDR, genxml
 * gen9.xml MI_STORE_DATA_INDEX (Use Per-Process HWSP bit 21, Offset dword 1
 * bits 11:2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gpu_harness.h"
#include "vgt/hostgpu.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/util.h"

#define NOOP 0x00000000u
#define BBE 0x05000000u
#define USER_INT 0x01000000u
#define ARB_CHECK 0x02800000u                /* MI_INSTR(0x05, 0) */
#define ARB_ON_OFF 0x04000000u               /* MI_INSTR(0x08, 0); bit 0 enable */
#define SDI_GGTT (0x10000002u | (1u << 22))  /* MI_STORE_DWORD_IMM_GEN4 | MI_USE_GGTT */
#define BBS_GEN8 0x18800001u                 /* MI_BATCH_BUFFER_START_GEN8 */
#define SEM_WAIT_GGTT_POLL_EQ (0x0e000002u | (1u << 22) | (1u << 15) | (4u << 12))
#define PC 0x7a000004u                       /* GFX_OP_PIPE_CONTROL(6) */
#define PC_CS_STALL (1u << 20)
#define PC_SDI (1u << 21)
#define PC_QW_WRITE (1u << 14)
#define PC_GGTT (1u << 24)
/* gen8_emit_flush_rcs(EMIT_INVALIDATE) */
#define PC_INVALIDATE                                                                            \
    (PC_CS_STALL | (1u << 18) | (1u << 11) | (1u << 10) | (1u << 4) | (1u << 3) | (1u << 2) | \
     PC_QW_WRITE | PC_SDI)
/* gen8_emit_flush_rcs(EMIT_FLUSH): RT, depth, DC flush, FLUSH_ENABLE */
#define PC_FLUSH (PC_CS_STALL | (1u << 12) | (1u << 0) | (1u << 5) | (1u << 7))
/* gen8_emit_flush_xcs: MI_FLUSH_DW + 1 | STORE_INDEX | OP_STOREDW */
#define FLUSH_DW_SDI (0x13000002u | (1u << 21) | (1u << 14))
#define FLUSH_DW_TLB (1u << 18)
/* gen8_emit_ggtt_write: MI_FLUSH_DW + 1 | OP_STOREDW, address | USE_GTT */
#define FLUSH_DW_GGTT_WRITE (0x13000002u | (1u << 14))
#define FLUSH_DW_USE_GTT (1u << 2)
#define SDX(len) (0x10800000u | ((len) - 2u) | (1u << 21))
#define SCRATCH 0xd0u /* LRC_PPHWSP_SCRATCH_ADDR */

#define PATTERN(g, k) (0x5d100000u | ((uint32_t)(g) << 12) | (k))
/* i915 intel_engine.h: the CSB copy at dword 0x10, its write index at 0x1f */
#define CSB_FIRST 0x10u
#define CSB_END 0x20u

static struct gp *platform(unsigned n)
{
    return hx_platform(n, "V5_8", NULL, 1.0, 1);
}

/* The host status page of @engine, as the GPU reaches it (HWS_PGA through
 * the GGTT). */
static void host_hwsp(struct gp *p, unsigned engine, uint32_t out[1024])
{
    static const uint32_t base[] = {[VGT_ENGINE_RCS] = GEN9_RCS_BASE, [VGT_ENGINE_BCS] = GEN9_BCS_BASE,
                                    [VGT_ENGINE_VCS] = GEN9_VCS_BASE, [VGT_ENGINE_VECS] = GEN9_VECS_BASE};
    struct vgt_hostgpu *hg = sim_gpu_hostgpu(p->gpu);
    uint32_t hws = hg->ops->mmio_read32(hg, base[engine] + RING_HWS_PGA) & 0xfffff000u;
    uint64_t hpa;
    const uint32_t *pg;

    assert_int_not_equal(hws, 0);
    assert_int_equal(sim_gpu_ggtt_translate(p->gpu, hws, &hpa), 0);
    pg = sim_arena_ptr(p->arena, hpa, 4096);
    assert_non_null(pg);
    memcpy(out, pg, 4096);
}

struct host_pages {
    uint32_t rcs[1024], bcs[1024];
};

static void host_snap(struct gp *p, struct host_pages *h)
{
    host_hwsp(p, VGT_ENGINE_RCS, h->rcs);
    host_hwsp(p, VGT_ENGINE_BCS, h->bcs);
}

/* The host status pages kept every byte but the CSB the GPU's context
 * switches write. */
static void assert_host_same(struct gp *p, const struct host_pages *before)
{
    struct host_pages now;

    host_snap(p, &now);
    for (unsigned k = 0; k < 1024; k++) {
        if (k >= CSB_FIRST && k < CSB_END)
            continue;
        if (now.rcs[k] != before->rcs[k] || now.bcs[k] != before->bcs[k])
            fail_msg("host HWSP dword %#x changed: rcs %#x -> %#x, bcs %#x -> %#x", k, before->rcs[k],
                     now.rcs[k], before->bcs[k], now.bcs[k]);
    }
}

/* A context on @engine whose image page 0 holds PATTERN(@g, k), copied to
 * @img. */
static struct gg_ctx *ctx_with_pattern(struct gp *p, unsigned g, unsigned engine, uint32_t img[1024])
{
    struct gg *d = p->guest[g].drv;
    struct gg_ctx *c;
    struct gg_bo bo;

    assert_int_equal(gg_ctx_create(d, engine, &c), 0);
    bo = gg_ctx_img(c);
    for (unsigned k = 0; k < 1024; k++)
        img[k] = PATTERN(g, k);
    assert_int_equal(gg_bo_write(d, &bo, 0, img, 4096), 0);
    return c;
}

/* Guest @g's image page 0 of @c is @want, dword by dword. */
static void assert_img(struct gp *p, unsigned g, struct gg_ctx *c, const uint32_t want[1024])
{
    uint32_t got[1024];
    struct gg_bo bo = gg_ctx_img(c);

    assert_int_equal(gg_bo_read(p->guest[g].drv, &bo, 0, got, 4096), 0);
    for (unsigned k = 0; k < 1024; k++)
        if (got[k] != want[k])
            fail_msg("guest %u context page 0 dword %#x = %#x, wanted %#x", g, k, got[k], want[k]);
}

static size_t emit_pc(uint32_t *cs, uint32_t flags, uint32_t addr, uint32_t lo, uint32_t hi)
{
    const uint32_t c[6] = {PC, flags, addr, 0, lo, hi};

    memcpy(cs, c, sizeof(c));
    return 6;
}

/* i915's flushes write by store-data-index; the values land in the
 * guest's own image page 0 at the index, every other dword of it is
 * untouched; another guest doing the same at other indices gets its own
 * values only; the host's status pages keep their bytes. */
static void test_i915_flush_to_guest_pphwsp(void **state)
{
    struct gp *p = platform(2);
    uint32_t img0r[1024], img0b[1024], img1[1024], ring[64];
    struct gg_ctx *c0r, *c0b, *c1;
    struct host_pages host;
    size_t k = 0;

    (void)state;
    host_snap(p, &host);
    c0r = ctx_with_pattern(p, 0, VGT_ENGINE_RCS, img0r);
    c0b = ctx_with_pattern(p, 0, VGT_ENGINE_BCS, img0b);
    c1 = ctx_with_pattern(p, 1, VGT_ENGINE_RCS, img1);

    /* rcs: gen8_emit_flush_rcs(EMIT_INVALIDATE) on Gen9 exactly (a null
     * PIPE_CONTROL, then the flush: a qword of 0 at the scratch), the same
     * flush with a value at 0x100, MI_STORE_DATA_INDEX dword and qword
     * (the page's last qword). */
    k += emit_pc(ring + k, 0, 0, 0, 0);
    k += emit_pc(ring + k, PC_INVALIDATE, SCRATCH, 0, 0);
    k += emit_pc(ring + k, PC_INVALIDATE, 0x100, 0xa0000001u, 0xa0000002u);
    ring[k++] = SDX(3), ring[k++] = 0x200, ring[k++] = 0xa0000003u;
    ring[k++] = SDX(4), ring[k++] = 0xff8, ring[k++] = 0xa0000004u, ring[k++] = 0xa0000005u;
    ring[k++] = NOOP;
    assert_int_equal(gg_submit(p->guest[0].drv, c0r, ring, k), 0);
    img0r[0x34] = 0, img0r[0x35] = 0;
    img0r[0x40] = 0xa0000001u, img0r[0x41] = 0xa0000002u;
    img0r[0x80] = 0xa0000003u;
    img0r[0x3fe] = 0xa0000004u, img0r[0x3ff] = 0xa0000005u;

    /* bcs: gen8_emit_flush_xcs(EMIT_INVALIDATE) exactly (a dword of 0 at
     * the scratch), then with a value, and a qword (5 dwords) at 0x300 */
    k = 0;
    ring[k++] = FLUSH_DW_SDI | FLUSH_DW_TLB, ring[k++] = SCRATCH, ring[k++] = 0, ring[k++] = 0;
    ring[k++] = FLUSH_DW_SDI, ring[k++] = 0x108, ring[k++] = 0, ring[k++] = 0xb0000001u;
    ring[k++] = FLUSH_DW_SDI + 1, ring[k++] = 0x300, ring[k++] = 0, ring[k++] = 0xb0000002u,
    ring[k++] = 0xb0000003u;
    ring[k++] = NOOP;
    assert_int_equal(gg_submit(p->guest[0].drv, c0b, ring, k), 0);
    img0b[0x34] = 0;
    img0b[0x42] = 0xb0000001u;
    img0b[0xc0] = 0xb0000002u, img0b[0xc1] = 0xb0000003u;

    /* the other guest, same flush, its own values */
    k = 0;
    k += emit_pc(ring + k, PC_INVALIDATE, SCRATCH, 0xc0000001u, 0xc0000002u);
    ring[k++] = SDX(3), ring[k++] = 0x204, ring[k++] = 0xc0000003u;
    assert_int_equal(gg_submit(p->guest[1].drv, c1, ring, k), 0);
    img1[0x34] = 0xc0000001u, img1[0x35] = 0xc0000002u;
    img1[0x81] = 0xc0000003u;

    assert_int_equal(gg_wait(p->guest[0].drv, c0r, 5000), 0);
    assert_int_equal(gg_wait(p->guest[0].drv, c0b, 5000), 0);
    assert_int_equal(gg_wait(p->guest[1].drv, c1, 5000), 0);
    assert_false(hx_failsafe(p, 0));
    assert_false(hx_failsafe(p, 1));
    assert_img(p, 0, c0r, img0r);
    assert_img(p, 0, c0b, img0b);
    assert_img(p, 1, c1, img1);
    assert_host_same(p, &host);
    gp_destroy(p);
}

/* A hostile guest aims the index at the page's last dword with a qword,
 * and at the index field's maximum: refused with the offset named (its
 * vGPU in failsafe), the victim guest's image and the host's status pages
 * keep their bytes, and the victim still runs. */
static void test_hostile_index(void **state)
{
    static const struct {
        unsigned engine;
        uint32_t cmds[6];
        unsigned n;
        const char *what;
    } attacks[] = {
        {VGT_ENGINE_RCS, {PC, PC_INVALIDATE, 0xffc, 0, 1, 2}, 6, "offset 0xffc + 8 bytes"},
        {VGT_ENGINE_RCS, {PC, PC_INVALIDATE, 0xfffffffcu, 0xffff, 1, 2}, 6, "offset 0xfffffffffffc + 8"},
        {VGT_ENGINE_RCS, {SDX(4), 0xffc, 1, 2, NOOP, NOOP}, 6, "offset 0xffc + 8 bytes"},
        {VGT_ENGINE_BCS, {FLUSH_DW_SDI, 0xfffffff8u, 0xffff, 1, NOOP, NOOP}, 6, "offset 0xfffffffffff8 + 4"},
        {VGT_ENGINE_BCS, {SDX(3) & ~(1u << 21), 0x40, 1, NOOP}, 4, "host's hardware status page"},
    };
    struct gp *p = platform(2);
    uint32_t victim[1024], ring[16];
    struct gg_ctx *v;
    struct host_pages host;
    size_t k = 0;

    (void)state;
    v = ctx_with_pattern(p, 0, VGT_ENGINE_RCS, victim);
    host_snap(p, &host);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(attacks); i++)
        hx_expect_failsafe(p, 1, attacks[i].engine, attacks[i].cmds, attacks[i].n, attacks[i].what);
    assert_false(hx_failsafe(p, 0));
    assert_img(p, 0, v, victim);
    assert_host_same(p, &host);
    /* the victim's own flush still lands where it aims */
    k += emit_pc(ring + k, PC_INVALIDATE, SCRATCH, 0xd0d0d0d0u, 0);
    assert_int_equal(gg_submit(p->guest[0].drv, v, ring, k), 0);
    assert_int_equal(gg_wait(p->guest[0].drv, v, 5000), 0);
    victim[0x34] = 0xd0d0d0d0u, victim[0x35] = 0;
    assert_img(p, 0, v, victim);
    assert_host_same(p, &host);
    gp_destroy(p);
}

/* The failsafe the rig saw ("PIPE_CONTROL at ring 0 +0x18:
 * PIPE_CONTROL store-data-index writes the host's status page"), replayed:
 * a request as i915 6.1 builds it on rcs. execlists_request_alloc
 * emits gen8_emit_flush_rcs(EMIT_INVALIDATE) (Gen9: a null PIPE_CONTROL,
 * then the store-data-index one at +0x18), then gen8_emit_init_breadcrumb
 * (seqno - 1 to the timeline's HWSP by MI_STORE_DWORD_IMM, MI_NOOP,
 * MI_ARB_CHECK), gen8_emit_bb_start (ARB on, BB_START, ARB off, NOOP),
 * and gen8_emit_fini_breadcrumb_rcs (flush, the seqno by a GGTT qword
 * PIPE_CONTROL, MI_USER_INTERRUPT, ARB on, emit_preempt_busywait, and
 * gen8_emit_wa_tail). It runs without failsafe and its writes land. */
static void test_i915_first_request_rcs(void **state)
{
    struct gp *p = platform(1);
    struct gg *d = p->guest[0].drv;
    uint32_t img[1024], ring[64], seqno = 0;
    const uint32_t bb[2] = {BBE, NOOP}, seq = 2;
    struct gg_bo batch, tl, preempt;
    struct gg_ctx *c;
    size_t k = 0;

    (void)state;
    c = ctx_with_pattern(p, 0, VGT_ENGINE_RCS, img);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &batch), 0);
    assert_int_equal(gg_bo_write(d, &batch, 0, bb, sizeof(bb)), 0);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &tl), 0);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &preempt), 0);

    k += emit_pc(ring + k, 0, 0, 0, 0);
    assert_int_equal(k * 4, 0x18);
    k += emit_pc(ring + k, PC_INVALIDATE, SCRATCH, 0, 0);
    ring[k++] = SDI_GGTT, ring[k++] = (uint32_t)tl.gm, ring[k++] = 0, ring[k++] = seq - 1;
    ring[k++] = NOOP, ring[k++] = ARB_CHECK;
    ring[k++] = ARB_ON_OFF | 1, ring[k++] = BBS_GEN8, ring[k++] = (uint32_t)batch.gm, ring[k++] = 0;
    ring[k++] = ARB_ON_OFF, ring[k++] = NOOP;
    k += emit_pc(ring + k, (1u << 12) | (1u << 0) | (1u << 5), 0, 0, 0);
    k += emit_pc(ring + k, (1u << 7) | PC_CS_STALL | PC_QW_WRITE | PC_GGTT, (uint32_t)tl.gm, seq, 0);
    ring[k++] = USER_INT, ring[k++] = ARB_ON_OFF | 1;
    ring[k++] = ARB_CHECK, ring[k++] = SEM_WAIT_GGTT_POLL_EQ, ring[k++] = 0,
    ring[k++] = (uint32_t)preempt.gm, ring[k++] = 0, ring[k++] = NOOP;
    ring[k++] = ARB_CHECK, ring[k++] = NOOP;
    assert_int_equal(gg_submit(d, c, ring, k), 0);
    assert_int_equal(gg_wait(d, c, 5000), 0);
    assert_false(hx_failsafe(p, 0));
    assert_int_equal(gg_bo_read(d, &tl, 0, &seqno, 4), 0);
    assert_int_equal(seqno, seq);
    img[0x34] = 0, img[0x35] = 0;
    assert_img(p, 0, c, img);
    gp_destroy(p);
}

/* i915 6.1 intel_gt_init submits one request per engine
 * (__engines_record_defaults), VECS included on a Skylake GT2 (i915_pci.c
 * SKL platform_engine_mask). Its shape on VECS: gen8_emit_init_breadcrumb
 * (seqno - 1 to the timeline's GGTT HWSP, MI_NOOP, MI_ARB_CHECK),
 * gen8_emit_flush_xcs (MI_FLUSH_DW store-index to the PPHWSP scratch, with
 * TLB invalidate first), a batch (GGTT here, storing a dword), and
 * gen8_emit_fini_breadcrumb_xcs (the seqno by an MI_FLUSH_DW GGTT write,
 * MI_USER_INTERRUPT, ARB on, emit_preempt_busywait, gen8_emit_wa_tail).
 * It completes through VECS's CSB without failsafe, the guest takes VECS's
 * interrupts in GT bank 3, every write lands, the host's VECS status page
 * keeps its bytes (but the CSB), and the other engines saw nothing. */
static void test_i915_first_request_vecs(void **state)
{
    struct gp *p = platform(1);
    struct gg *d = p->guest[0].drv;
    uint32_t img[1024], ring[64], host_before[1024], host_after[1024], got[4] = {0};
    const uint32_t seq = 7;
    struct gg_bo batch, tl, preempt;
    struct gg_irq_counts irqs;
    struct gg_ctx *c;
    size_t k = 0;

    (void)state;
    c = ctx_with_pattern(p, 0, VGT_ENGINE_VECS, img);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &batch), 0);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &tl), 0);
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &preempt), 0);
    {
        const uint32_t bb[6] = {SDI_GGTT, (uint32_t)tl.gm + 16, 0, 0xb0b0cafeu, BBE, NOOP};

        assert_int_equal(gg_bo_write(d, &batch, 0, bb, sizeof(bb)), 0);
    }
    host_hwsp(p, VGT_ENGINE_VECS, host_before);

    ring[k++] = SDI_GGTT, ring[k++] = (uint32_t)tl.gm, ring[k++] = 0, ring[k++] = seq - 1;
    ring[k++] = NOOP, ring[k++] = ARB_CHECK;
    ring[k++] = FLUSH_DW_SDI | FLUSH_DW_TLB, ring[k++] = SCRATCH, ring[k++] = 0, ring[k++] = 0x11111111u;
    ring[k++] = ARB_ON_OFF | 1, ring[k++] = BBS_GEN8, ring[k++] = (uint32_t)batch.gm, ring[k++] = 0;
    ring[k++] = ARB_ON_OFF, ring[k++] = NOOP;
    ring[k++] = FLUSH_DW_SDI, ring[k++] = SCRATCH + 8, ring[k++] = 0, ring[k++] = 0x22222222u;
    ring[k++] = FLUSH_DW_GGTT_WRITE, ring[k++] = ((uint32_t)tl.gm + 8) | FLUSH_DW_USE_GTT, ring[k++] = 0,
    ring[k++] = seq;
    ring[k++] = USER_INT, ring[k++] = ARB_ON_OFF | 1;
    ring[k++] = ARB_CHECK, ring[k++] = SEM_WAIT_GGTT_POLL_EQ, ring[k++] = 0,
    ring[k++] = (uint32_t)preempt.gm, ring[k++] = 0, ring[k++] = NOOP;
    ring[k++] = ARB_CHECK, ring[k++] = NOOP;
    assert_int_equal(gg_submit(d, c, ring, k), 0);
    assert_int_equal(gg_wait(d, c, 5000), 0);
    assert_false(hx_failsafe(p, 0));

    assert_int_equal(gg_bo_read(d, &tl, 0, got, sizeof(got)), 0);
    assert_int_equal(got[0], seq - 1);
    assert_int_equal(got[2], seq);
    assert_int_equal(gg_bo_read(d, &tl, 16, got, 4), 0);
    assert_int_equal(got[0], 0xb0b0cafeu);
    /* MI_FLUSH_DW addresses are qword-aligned (genxml Address 47:3). */
    img[SCRATCH / 4] = 0x11111111u, img[SCRATCH / 4 + 2] = 0x22222222u;
    assert_img(p, 0, c, img);

    /* The user interrupt and the context switches came in bank 3. */
    for (unsigned i = 0; i < 100; i++) {
        gg_irq_counts(d, &irqs);
        if (irqs.user[VGT_ENGINE_VECS] && irqs.ctx_switch[VGT_ENGINE_VECS])
            break;
        gg_irq_poll(d, 10);
    }
    gg_irq_counts(d, &irqs);
    assert_true(irqs.user[VGT_ENGINE_VECS] >= 1);
    assert_true(irqs.ctx_switch[VGT_ENGINE_VECS] >= 1);
    for (unsigned e = VGT_ENGINE_RCS; e <= VGT_ENGINE_VCS; e++) {
        assert_int_equal(irqs.user[e], 0);
        assert_int_equal(irqs.ctx_switch[e], 0);
    }

    host_hwsp(p, VGT_ENGINE_VECS, host_after);
    for (unsigned i = 0; i < 1024; i++)
        if ((i < CSB_FIRST || i >= CSB_END) && host_after[i] != host_before[i])
            fail_msg("host VECS HWSP dword %#x changed: %#x -> %#x", i, host_before[i], host_after[i]);
    gp_destroy(p);
}

/* A hostile guest on VECS: a render-only command (PIPE_CONTROL), a
 * blitter-only one (XY_SRC_COPY_BLT), a VCS-only one (MFX) and a load of VCS's own register
 * (RING_EXCC, gvt's whitelist names it for VCS only) are refused with their
 * reasons, its vGPU in failsafe; a victim guest's VECS context image and
 * the host's VECS status page keep their bytes, and the victim still runs
 * on VECS. */
static void test_hostile_vecs(void **state)
{
    static const struct {
        uint32_t cmds[8];
        unsigned n;
        const char *what;
    } attacks[] = {
        {{PC, PC_INVALIDATE, SCRATCH, 0, 1, 2}, 6, "ring 0 +0x0: unknown command for this engine"},
        {{0x54c00008u, 0, 0, 0, 0, 0, 0, 0}, 8, "unknown command for this engine"}, /* XY_SRC_COPY_BLT */
        /* MFX_PIPE_MODE_SELECT: video decode, gvt R_VCS only */
        {{0x70000003u, 0, 0, 0, 0, NOOP}, 6, "unknown command for this engine"},
        {{0x11000001u, GEN9_VCS_BASE + 0x28, 0xffff0000u, NOOP}, 4, "MI_LOAD_REGISTER_IMM at ring 0 +0x0: register is not command-accessible"},
    };
    struct gp *p = platform(2);
    uint32_t victim[1024], before[1024], after[1024], ring[12];
    struct gg_ctx *v;
    size_t k = 0;

    (void)state;
    v = ctx_with_pattern(p, 0, VGT_ENGINE_VECS, victim);
    host_hwsp(p, VGT_ENGINE_VECS, before);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(attacks); i++)
        hx_expect_failsafe(p, 1, VGT_ENGINE_VECS, attacks[i].cmds, attacks[i].n, attacks[i].what);
    assert_false(hx_failsafe(p, 0));
    assert_img(p, 0, v, victim);
    host_hwsp(p, VGT_ENGINE_VECS, after);
    assert_memory_equal(before, after, 4096);
    /* VECS's own RING_EXCC is the victim's to load (gvt mmio_context.c). */
    ring[k++] = 0x11000001u, ring[k++] = GEN9_VECS_BASE + 0x28, ring[k++] = 0x00010001u;
    ring[k++] = FLUSH_DW_SDI, ring[k++] = SCRATCH, ring[k++] = 0, ring[k++] = 0xd0d0d0d0u;
    ring[k++] = NOOP;
    assert_int_equal(gg_submit(p->guest[0].drv, v, ring, k), 0);
    assert_int_equal(gg_wait(p->guest[0].drv, v, 5000), 0);
    assert_false(hx_failsafe(p, 0));
    victim[SCRATCH / 4] = 0xd0d0d0d0u;
    assert_img(p, 0, v, victim);
    gp_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i915_flush_to_guest_pphwsp),
        cmocka_unit_test(test_hostile_index),
        cmocka_unit_test(test_i915_first_request_rcs),
        cmocka_unit_test(test_i915_first_request_vecs),
        cmocka_unit_test(test_hostile_vecs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

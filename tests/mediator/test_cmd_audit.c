/* Command auditor tests.
 *
 * The oracle cases follow the rules of the Linux i915 command parser for
 * the Gen9 blitter (drivers/gpu/drm/i915/i915_cmd_parser.c: gen9_blt_cmds[],
 * gen9_blt_regs[], gen9_blt_get_cmd_length_mask, check_bbstart and the
 * "Got to the end of the buffer w/o a BBE" / "exceeds batch length"
 * rejections), restated as accept/reject expectations, plus the places
 * where vgt is stricter because it, not the hardware, enforces privilege
 * (docs/submission.md lists them). Encodings are written out from genxml
 * gen9.xml and i915 gt/intel_gpu_commands.h, independently of the auditor.
 *
 * Graphics memory is a page map from graphics address to scattered host
 * pages, so every batch copy goes through a page walk and commands can
 * straddle pages that are not adjacent in host memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/cmd_audit.h"

#define LOW_BASE 0x08000000ull
#define LOW_SIZE (64ull << 20)
#define HIGH_BASE 0x40000000ull
#define HIGH_SIZE (384ull << 20)
#define PPGTT_BASE 0x0000100000000000ull /* a PPGTT VA far outside any GGTT range */

/* ---- encodings (genxml gen9.xml opcodes and DWord Length biases) ---- */
#define NOOP 0x00000000u
#define BBE 0x05000000u
#define USER_INT 0x01000000u
#define ARB_CHECK 0x02800000u
#define ARB_ON 0x04000001u
#define SDI(ggtt) (0x10000000u | 2u | ((ggtt) ? 1u << 22 : 0))
#define SDI_QW(ggtt) (0x10000000u | 3u | (1u << 21) | ((ggtt) ? 1u << 22 : 0))
#define LRI(n) (0x11000000u | (2u * (n) - 1u))
#define SRM(ggtt) (0x12000000u | 2u | ((ggtt) ? 1u << 22 : 0))
#define LRM(ggtt) (0x14800000u | 2u | ((ggtt) ? 1u << 22 : 0))
#define LRR 0x15000001u
#define FLUSH_DW(post) (0x13000000u | 2u | ((post) << 14))
#define BBS(ppgtt, second) (0x18800001u | ((ppgtt) ? 1u << 8 : 0) | ((second) ? 1u << 22 : 0))
#define SEM_WAIT(ggtt) (0x0e000002u | ((ggtt) ? 1u << 22 : 0))
#define XY_COLOR 0x54000005u
#define XY_SRC_COPY 0x54c00008u
#define PIPE_CONTROL 0x7a000004u
#define BR13_32BPP (3u << 24)

#define BCS_SWCTRL 0x22200u
#define BCS_GPR0 0x22600u
#define RCS_GPR0 0x2600u
#define BCS_HWS_PGA 0x22080u
#define BCS_PDP0_LDW 0x22270u
#define RCS_TIMESTAMP 0x2358u

/* ---- fake graphics memory ---- */
#define NPAGES 64
struct gmem {
    uint64_t gma[NPAGES]; /* page address (GGTT or PPGTT space) */
    bool ppgtt[NPAGES];
    uint32_t *page[NPAGES];
    unsigned n;
    uint8_t *reads[NPAGES]; /* per dword: times the auditor read it */
    unsigned read_calls;
    /* a racing vCPU: on every read call after the first, dword 0 of
     * @race_gma becomes @race_dw (0: off) */
    uint64_t race_gma;
    uint32_t race_dw;
    unsigned pdp_calls;
};

static uint32_t *gmem_page(struct gmem *m, uint64_t gma, bool ppgtt)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->gma[i] == (gma & ~0xfffull) && m->ppgtt[i] == ppgtt)
            return m->page[i];
    return NULL;
}

/* Map @npages pages at @gma, in reverse host order (never adjacent). */
static uint32_t *gmem_map(struct gmem *m, uint64_t gma, bool ppgtt, unsigned npages)
{
    for (unsigned i = npages; i-- > 0;) {
        assert_true(m->n < NPAGES);
        m->gma[m->n] = gma + i * 4096ull;
        m->ppgtt[m->n] = ppgtt;
        m->page[m->n] = calloc(1024, 4);
        m->reads[m->n] = calloc(1024, 1);
        assert_non_null(m->page[m->n]);
        assert_non_null(m->reads[m->n]);
        m->n++;
    }
    return gmem_page(m, gma, ppgtt);
}

static void gmem_write(struct gmem *m, uint64_t gma, bool ppgtt, const uint32_t *dw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t *pg = gmem_page(m, gma + i * 4, ppgtt);

        assert_non_null(pg);
        pg[((gma + i * 4) & 0xfff) / 4] = dw[i];
    }
}

static void gmem_free(struct gmem *m)
{
    for (unsigned i = 0; i < m->n; i++) {
        free(m->page[i]);
        free(m->reads[i]);
    }
}

static uint8_t *gmem_reads(struct gmem *m, uint64_t gma, bool ppgtt)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->gma[i] == (gma & ~0xfffull) && m->ppgtt[i] == ppgtt)
            return &m->reads[i][(gma & 0xfff) / 4];
    return NULL;
}

static int gread(void *ctx, uint64_t gma, bool ppgtt, void *dst, size_t len, size_t *got)
{
    struct gmem *m = ctx;
    uint32_t *out = dst;
    size_t n = 0;

    assert_int_equal(gma & 3, 0);
    assert_int_equal(len & 3, 0);
    if (m->race_dw && m->read_calls > 0) {
        uint32_t *pg = gmem_page(m, m->race_gma, false);

        assert_non_null(pg);
        pg[(m->race_gma & 0xfff) / 4] = m->race_dw;
    }
    m->read_calls++;
    while (n < len / 4) {
        uint32_t *pg = gmem_page(m, gma + n * 4, ppgtt);

        if (!pg)
            break;
        out[n] = pg[((gma + n * 4) & 0xfff) / 4];
        (*gmem_reads(m, gma + n * 4, ppgtt))++;
        n++;
    }
    *got = n * 4;
    return n ? 0 : -EFAULT;
}

static int pdp(void *ctx, unsigned engine, unsigned idx, bool upper, uint32_t val, uint32_t *host)
{
    struct gmem *m = ctx;

    m->pdp_calls++;
    if (val == 0xdead0000u)
        return -ENOENT; /* no shadow for this table */
    *host = 0x80000000u | (engine << 8) | (idx << 4) | (upper ? 1 : 0);
    return 0;
}

static const struct vgt_audit_ops ops = {.read = gread, .pdp = pdp};

struct fx {
    struct gmem m;
    struct vgt_auditor a;
    struct vgt_audit_result r;
};

static int setup(void **state)
{
    static const struct vgt_audit_range ranges[2] = {
        {LOW_BASE, LOW_SIZE},
        {HIGH_BASE, HIGH_SIZE},
    };
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(vgt_audit_init(&f->a, ranges, 2, &ops, NULL), 0);
    *state = f;
    return 0;
}

static void free_bufs(struct fx *f)
{
    vgt_audit_release(&f->r);
}

static int teardown(void **state)
{
    struct fx *f = *state;

    free_bufs(f);
    gmem_free(&f->m);
    free(f);
    return 0;
}

/* Audit a ring copy of @n dwords on @engine. */
static int ring(struct fx *f, unsigned engine, uint32_t *dw, size_t n)
{
    free_bufs(f);
    return vgt_audit_ring(&f->a, &f->m, engine, dw, n, 0x1000000, &f->r);
}

/* Put @dw at a GGTT batch address and start it from a ring. */
static int batch_at(struct fx *f, unsigned engine, uint64_t gma, bool ppgtt, const uint32_t *dw, size_t n)
{
    uint32_t rb[4] = {BBS(ppgtt, 0), (uint32_t)gma, (uint32_t)(gma >> 32), NOOP};

    if (!gmem_page(&f->m, gma, ppgtt))
        gmem_map(&f->m, gma & ~0xfffull, ppgtt, (unsigned)(((gma & 0xfff) + n * 4 + 4095) / 4096));
    gmem_write(&f->m, gma, ppgtt, dw, n);
    return ring(f, engine, rb, 4);
}

static int bcs_batch(struct fx *f, const uint32_t *dw, size_t n)
{
    return batch_at(f, VGT_ENGINE_BCS, LOW_BASE + 0x10000, false, dw, n);
}

static void assert_reason(struct fx *f, const char *part)
{
    assert_non_null(f->r.viol.reason);
    if (!strstr(f->r.viol.reason, part) && !strstr(f->r.viol.cmd, part))
        fail_msg("reason '%s' (cmd %s) lacks '%s'", f->r.viol.reason, f->r.viol.cmd, part);
}

/* i915 gen9_blt_cmds[] lists these as allowed (S): the auditor accepts
 * them, the blits with in-range GGTT addresses included. */
static void test_blt_allowed(void **state)
{
    struct fx *f = *state;
    uint64_t dst = LOW_BASE + 0x200000, src = HIGH_BASE + 0x1000;
    uint32_t b[] = {
        NOOP, ARB_CHECK, ARB_ON, 0x05800001u /* MI_SUSPEND_FLUSH */,
        SDI(1), (uint32_t)(LOW_BASE + 0x100), 0, 42,
        FLUSH_DW(1), (uint32_t)(HIGH_BASE + 0x40) | 4u, 0, 7, 0,
        XY_COLOR, BR13_32BPP | 1024, (0u << 16) | 0, (16u << 16) | 256, (uint32_t)dst, 0, 0xff00ff00u,
        XY_SRC_COPY, BR13_32BPP | 1024, 0, (8u << 16) | 128, (uint32_t)dst, 0, 0, 512,
        (uint32_t)src, (uint32_t)(src >> 32),
        LRI(2), BCS_SWCTRL, 0x00030003u, BCS_GPR0 + 4, 5,
        SRM(1), RCS_TIMESTAMP, (uint32_t)(LOW_BASE + 0x300), 0,
        LRM(0), BCS_GPR0, 0x1000, 0x10,
        LRR, BCS_GPR0, BCS_GPR0 + 8,
        BBE,
    };

    assert_int_equal(bcs_batch(f, b, VGT_ARRAY_SIZE(b)), 0);
    assert_int_equal(f->r.batches, 1);
    assert_int_equal(f->r.dwords, VGT_ARRAY_SIZE(b) + 3 + 1);
}

/* Commands rejected with their reason, on the blitter (and on render for
 * the render-only ones). */
static void test_rejected_commands(void **state)
{
    static const struct {
        uint32_t hdr;
        unsigned len;
        const char *name;
    } cases[] = {
        {0x10800001u, 3, "MI_STORE_DATA_INDEX"}, /* without the per-process HWSP bit */
        {0x11800000u | 2, 4, "MI_UPDATE_GTT"},     /* MI_INSTR(0x23, ..) */
        {0x13800000u | 1, 3, "MI_CLFLUSH"},
        {0x14000000u | 2, 4, "MI_REPORT_PERF_COUNT"},
        {0x1b000000u | 2, 4, "MI_CONDITIONAL_BATCH_BUFFER_END"},
        {0x0a000001u, 3, "MI_DISPLAY_FLIP"},
        {0x0c000000u, 2, "MI_SET_CONTEXT"},
        {0x0d800000u, 2, "MI_SEMAPHORE_SIGNAL"},
        {0x03800000u, 1, "MI_REPORT_HEAD"},
    };
    struct fx *f = *state;

    for (size_t i = 0; i < VGT_ARRAY_SIZE(cases); i++) {
        for (unsigned e = VGT_ENGINE_RCS; e <= VGT_ENGINE_BCS; e++) {
            uint32_t b[8] = {NOOP, cases[i].hdr, 0, 0, 0, 0, 0, 0};

            b[1 + cases[i].len] = BBE;
            assert_int_equal(batch_at(f, e, LOW_BASE + 0x20000 + i * 0x100, false, b, 2 + cases[i].len),
                             -EACCES);
            assert_string_equal(f->r.viol.cmd, cases[i].name);
            assert_int_equal(f->r.viol.offset, 4);
            assert_int_equal(f->r.viol.buf, 1);
            assert_int_equal(f->r.viol.header, cases[i].hdr);
        }
    }
}

static void test_unknown_command(void **state)
{
    struct fx *f = *state;
    uint32_t b[] = {NOOP, NOOP, 0x3f000000u, BBE};  /* no such command */
    uint32_t r[] = {0xe0000000u};                   /* type 7: reserved */

    assert_int_equal(bcs_batch(f, b, 4), -EACCES);
    assert_reason(f, "unknown");
    assert_int_equal(f->r.viol.offset, 8);
    assert_int_equal(ring(f, VGT_ENGINE_RCS, r, 1), -EACCES);
}

/* gen9_blt_regs[]: BCS_SWCTRL, the timestamps and the blitter's own GPRs
 * are allowed; anything else (the render GPRs, the status page address,
 * ...) is not. LRI, LRM, SRM and LRR are all checked. */
static void test_register_whitelist(void **state)
{
    struct fx *f = *state;
    const uint32_t ok[] = {BCS_SWCTRL, BCS_GPR0, BCS_GPR0 + 0x7c, RCS_TIMESTAMP, RCS_TIMESTAMP + 4,
                           0x22358};
    const uint32_t bad[] = {RCS_GPR0, BCS_HWS_PGA, 0x22030 /* BCS TAIL */, 0x2080, 0x22680,
                            0x2229c /* BCS RING_MODE */, 0x00800000u | BCS_SWCTRL /* bit 23 */, 0x100000 /* fence */, 0x22201 /* unaligned */};

    for (size_t i = 0; i < VGT_ARRAY_SIZE(ok); i++) {
        uint32_t b[] = {LRI(1), ok[i], 1, SRM(0), ok[i], 0x100, 0, LRM(0), ok[i], 0x100, 0, BBE};

        assert_int_equal(bcs_batch(f, b, VGT_ARRAY_SIZE(b)), 0);
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(bad); i++) {
        uint32_t lri[] = {LRI(2), BCS_SWCTRL, 1, bad[i], 1, BBE};
        uint32_t srm[] = {SRM(0), bad[i], 0x100, 0, BBE};
        uint32_t lrm[] = {LRM(0), bad[i], 0x100, 0, BBE};
        uint32_t lrr1[] = {LRR, bad[i], BCS_GPR0, BBE};
        uint32_t lrr2[] = {LRR, BCS_GPR0, bad[i], BBE};

        assert_int_equal(bcs_batch(f, lri, 6), -EACCES);
        assert_string_equal(f->r.viol.cmd, "MI_LOAD_REGISTER_IMM");
        assert_int_equal(bcs_batch(f, srm, 5), -EACCES);
        assert_int_equal(bcs_batch(f, lrm, 5), -EACCES);
        assert_int_equal(bcs_batch(f, lrr1, 4), -EACCES);
        assert_int_equal(bcs_batch(f, lrr2, 4), -EACCES);
    }
    /* RING_CTX_TIMESTAMP is what the vGPU is charged (docs/scheduler.md):
     * stored, never loaded, by LRI, LRM or as LRR's destination. */
    {
        uint32_t srm[] = {SRM(0), 0x223a8, 0x100, 0, LRR, 0x223a8, BCS_GPR0, BBE};
        uint32_t lri[] = {LRI(1), 0x223a8, 0, BBE};
        uint32_t lrm[] = {LRM(0), 0x223a8, 0x100, 0, BBE};
        uint32_t lrr[] = {LRR, BCS_GPR0, 0x223a8, BBE};

        assert_int_equal(bcs_batch(f, srm, VGT_ARRAY_SIZE(srm)), 0);
        assert_int_equal(bcs_batch(f, lri, VGT_ARRAY_SIZE(lri)), -EACCES);
        assert_non_null(strstr(f->r.viol.reason, "RING_CTX_TIMESTAMP"));
        assert_int_equal(bcs_batch(f, lrm, VGT_ARRAY_SIZE(lrm)), -EACCES);
        assert_non_null(strstr(f->r.viol.reason, "RING_CTX_TIMESTAMP"));
        assert_int_equal(bcs_batch(f, lrr, VGT_ARRAY_SIZE(lrr)), -EACCES);
        assert_non_null(strstr(f->r.viol.reason, "RING_CTX_TIMESTAMP"));
    }
    /* The render GPRs are fine on the render engine. */
    {
        uint32_t b[] = {LRI(1), RCS_GPR0, 1, BBE};

        assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x30000, false, b, 4), 0);
        b[1] = BCS_GPR0;
        assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x30000, false, b, 4), -EACCES);
    }
}

/* PDP writes are patched to the shadow's value; only LRI may write them. */
static void test_pdp_patch(void **state)
{
    struct fx *f = *state;
    uint32_t b[] = {LRI(2), BCS_PDP0_LDW + 8 + 4, 0x1234, BCS_PDP0_LDW, 0x5000, BBE};
    uint32_t r[] = {LRI(1), BCS_PDP0_LDW, 0x6000, NOOP};
    uint32_t bad[] = {LRI(1), BCS_PDP0_LDW, 0xdead0000u, NOOP};
    uint32_t lrm[] = {LRM(0), BCS_PDP0_LDW, 0x100, 0, BBE};

    assert_int_equal(bcs_batch(f, b, VGT_ARRAY_SIZE(b)), 0);
    assert_int_equal(f->r.pdp_patches, 2);
    assert_int_equal(f->r.bufs[0].dw[2], 0x80000000u | (VGT_ENGINE_BCS << 8) | (1u << 4) | 1);
    assert_int_equal(f->r.bufs[0].dw[4], 0x80000000u | (VGT_ENGINE_BCS << 8));
    assert_int_equal(ring(f, VGT_ENGINE_BCS, r, 4), 0);
    assert_int_equal(r[2], 0x80000000u | (VGT_ENGINE_BCS << 8));
    assert_int_equal(ring(f, VGT_ENGINE_BCS, bad, 4), -EACCES);
    assert_int_equal(bcs_batch(f, lrm, 5), -EACCES);
    assert_reason(f, "PDP");
    /* Another engine's PDPs are not this engine's registers. */
    r[1] = 0x2270;
    assert_int_equal(ring(f, VGT_ENGINE_BCS, r, 4), -EACCES);
}

/* Bad lengths: fixed-length commands with another length (i915: F
 * entries), an LRI that is not 1 + 2n dwords, a command running past the
 * end of the ring or batch (i915: "exceeds batch length"). */
static void test_bad_lengths(void **state)
{
    struct fx *f = *state;
    uint32_t srm5[] = {SRM(0) + 1, BCS_GPR0, 0x100, 0, 0, BBE};
    uint32_t lri_even[] = {LRI(1) + 1, BCS_GPR0, 1, 2, BBE};
    uint32_t bbs4[] = {BBS(0, 0) + 1, (uint32_t)LOW_BASE, 0, 0};
    uint32_t sdi_qw4[] = {SDI(0) | (1u << 21), 0x100, 0, 1, BBE};
    uint32_t ring_trunc[] = {NOOP, SDI(1), (uint32_t)LOW_BASE};

    assert_int_equal(bcs_batch(f, srm5, 6), -EINVAL);
    assert_reason(f, "length");
    assert_int_equal(bcs_batch(f, lri_even, 5), -EINVAL);
    assert_int_equal(ring(f, VGT_ENGINE_BCS, bbs4, 4), -EINVAL);
    assert_int_equal(bcs_batch(f, sdi_qw4, 5), -EINVAL);
    assert_int_equal(ring(f, VGT_ENGINE_BCS, ring_trunc, 3), -EINVAL);
    assert_reason(f, "ring tail");
    assert_int_equal(f->r.viol.offset, 4);
}

/* A batch without MI_BATCH_BUFFER_END is rejected (i915: "Got to the end
 * of the buffer w/o a BBE cmd!"), also when it would run into unmapped
 * memory. */
static void test_unterminated(void **state)
{
    struct fx *f = *state;
    uint32_t *pg = gmem_map(&f->m, LOW_BASE + 0x40000, false, 1);

    for (unsigned i = 0; i < 1024; i++)
        pg[i] = NOOP;
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, LOW_BASE + 0x40000, false, pg, 0), -EINVAL);
    assert_reason(f, "unterminated");
    assert_int_equal(f->r.viol.offset, 4096);
    /* The report names the batch, not the ring that started it (a batch
     * of MI_NOOPs only was reported as buffer 0 before issue 12's walk). */
    assert_int_equal(f->r.viol.buf, 1);
    assert_int_equal(f->r.viol.gma, LOW_BASE + 0x40000 + 4096);
    /* The same at the very end of the vGPU's range: the copy may not run
     * past the range even though the next GGTT page belongs to someone. */
    {
        uint64_t end = LOW_BASE + LOW_SIZE - 4096;
        uint32_t *last = gmem_map(&f->m, end, false, 1);

        gmem_map(&f->m, LOW_BASE + LOW_SIZE, false, 1)[0] = BBE;
        for (unsigned i = 0; i < 1024; i++)
            last[i] = NOOP;
        assert_int_equal(batch_at(f, VGT_ENGINE_BCS, end, false, last, 0), -EINVAL);
        assert_reason(f, "unterminated");
    }
}

/* A command straddling two pages that are not adjacent in host memory is
 * copied whole and accepted; when the second page is not mapped, the
 * batch is cut there and the command is rejected as truncated. */
static void test_straddle_pages(void **state)
{
    struct fx *f = *state;
    uint64_t gma = LOW_BASE + 0x50000 + 4096 - 8; /* SDI's dword 2 on page 2 */
    uint32_t b[] = {SDI(1), (uint32_t)(LOW_BASE + 0x80), 0, 0x77, BBE};
    uint64_t gma2 = PPGTT_BASE + 4096 - 8;

    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, gma, false, b, 5), 0);
    assert_int_equal(f->r.bufs[0].ndw >= 5, 1);
    assert_int_equal(f->r.bufs[0].dw[3], 0x77);
    /* PPGTT batch whose second page is missing. */
    gmem_map(&f->m, PPGTT_BASE, true, 1);
    gmem_write(&f->m, gma2, true, b, 2);
    {
        uint32_t rb[] = {BBS(1, 0), (uint32_t)gma2, (uint32_t)(gma2 >> 32), NOOP};

        assert_int_equal(ring(f, VGT_ENGINE_BCS, rb, 4), -EINVAL);
        assert_reason(f, "past the end of the mapped batch");
        assert_int_equal(f->r.viol.buf, 1);
        assert_int_equal(f->r.viol.offset, 0);
    }
}

/* GGTT addresses of every address-carrying command must be the vGPU's;
 * PPGTT ones go through the shadow PPGTT and are not range-checked. */
static void test_ggtt_addresses(void **state)
{
    struct fx *f = *state;
    const uint64_t out = 0x20000000ull; /* between the two ranges */
    const uint64_t edge = LOW_BASE + LOW_SIZE - 4;
    struct {
        uint32_t dw[12];
        unsigned n;
        int rc;
    } cases[] = {
        {{SDI(1), (uint32_t)out, 0, 1, BBE}, 5, -EACCES},
        {{SDI(0), (uint32_t)out, 0, 1, BBE}, 5, 0},
        {{SDI(1), (uint32_t)edge, 0, 1, BBE}, 5, 0},
        {{SDI_QW(1), (uint32_t)edge, 0, 1, 2, BBE}, 6, -EACCES}, /* 8 bytes straddle the end */
        {{FLUSH_DW(1), (uint32_t)out | 4u, 0, 0, BBE}, 5, -EACCES},
        {{FLUSH_DW(1), (uint32_t)out, 0, 0, BBE}, 5, 0},         /* PPGTT */
        {{FLUSH_DW(0), (uint32_t)out | 4u, 0, 0, BBE}, 5, 0},    /* no post-sync write */
        {{SRM(1), BCS_GPR0, (uint32_t)out, 0, BBE}, 5, -EACCES},
        {{LRM(1), BCS_GPR0, (uint32_t)out, 0, BBE}, 5, -EACCES},
        {{LRM(1), BCS_GPR0, (uint32_t)HIGH_BASE, 0, BBE}, 5, 0},
        {{SEM_WAIT(1), 0, (uint32_t)out, 0, BBE}, 5, -EACCES},
        {{SEM_WAIT(0), 0, (uint32_t)out, 0, BBE}, 5, 0},
        {{BBS(0, 1), (uint32_t)out, 0, BBE}, 4, -EACCES},
    };

    for (size_t i = 0; i < VGT_ARRAY_SIZE(cases); i++) {
        int rc = bcs_batch(f, cases[i].dw, cases[i].n);

        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc,
                     f->r.viol.reason ? f->r.viol.reason : "-");
    }
    assert_int_equal(bcs_batch(f, cases[10].dw, cases[10].n), -EACCES);
    assert_reason(f, "MI_SEMAPHORE_WAIT on an address outside");
}

/* Blits are checked over their whole rectangle, source and destination. */
static void test_blit_extent(void **state)
{
    struct fx *f = *state;
    uint64_t near_end = LOW_BASE + LOW_SIZE - 64 * 1024;
    /* 16 rows of 1 KiB pitch fit, 128 rows do not. */
    uint32_t ok[] = {XY_COLOR, BR13_32BPP | 1024, 0, (16u << 16) | 256, (uint32_t)near_end, 0, 1, BBE};
    uint32_t over[] = {XY_COLOR, BR13_32BPP | 1024, 0, (128u << 16) | 256, (uint32_t)near_end, 0, 1, BBE};
    uint32_t neg[] = {XY_COLOR, BR13_32BPP | 0xfc00u /* -1024 */, 0, (16u << 16) | 256,
                      (uint32_t)(LOW_BASE + 4096), 0, 1, BBE};
    uint32_t src_over[] = {XY_SRC_COPY, BR13_32BPP | 1024, 0, (8u << 16) | 128, (uint32_t)LOW_BASE, 0,
                           0, 1024, (uint32_t)(near_end + 60 * 1024), 0, BBE};

    assert_int_equal(bcs_batch(f, ok, 8), 0);
    assert_int_equal(bcs_batch(f, over, 8), -EACCES);
    assert_int_equal(bcs_batch(f, neg, 8), -EACCES); /* reaches below the range */
    assert_int_equal(bcs_batch(f, src_over, 11), -EACCES);
    assert_reason(f, "reads outside");
    /* In a PPGTT batch the same addresses are PPGTT: safe by the shadow. */
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, PPGTT_BASE + 0x10000, true, over, 8), 0);
}

/* MI_USER_INTERRUPT becomes a virtual event; notify bits likewise. */
static void test_user_interrupt(void **state)
{
    struct fx *f = *state;
    uint32_t r[] = {USER_INT, NOOP, USER_INT, FLUSH_DW(0) | (1u << 8), 0, 0, 0};

    assert_int_equal(ring(f, VGT_ENGINE_BCS, r, 7), 0);
    assert_int_equal(f->r.user_interrupts, 2);
    assert_int_equal(f->r.notifies, 1);
    assert_int_equal(r[0], NOOP);
    assert_int_equal(r[2], NOOP);
    assert_int_equal(r[3], FLUSH_DW(0));
}

/* PIPE_CONTROL on render: post-sync writes checked, register and status
 * page writes refused. */
static void test_pipe_control(void **state)
{
    struct fx *f = *state;
    uint32_t ok[] = {PIPE_CONTROL, (1u << 14) | (1u << 24), (uint32_t)(LOW_BASE + 8), 0, 1, 0, BBE};
    uint32_t out[] = {PIPE_CONTROL, (1u << 14) | (1u << 24), 0x100, 0, 1, 0, BBE};
    uint32_t lri[] = {PIPE_CONTROL, (1u << 23), RCS_GPR0, 0, 1, 0, BBE};

    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x60000, false, ok, 7), 0);
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x60000, false, out, 7), -EACCES);
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x60000, false, lri, 7), -EACCES);
}

/* ---- store-data-index: offsets into the per-process HWSP ----
 * i915 6.1 gt/intel_gpu_commands.h: PIPE_CONTROL flags (dword 1)
 * CS_STALL 1<<20, TLB_INVALIDATE 1<<18, INSTRUCTION_CACHE_INVALIDATE
 * 1<<11, TEXTURE_CACHE_INVALIDATE 1<<10, VF_CACHE_INVALIDATE 1<<4,
 * CONST_CACHE_INVALIDATE 1<<3, STATE_CACHE_INVALIDATE 1<<2, QW_WRITE
 * 1<<14, STORE_DATA_INDEX 1<<21; MI_FLUSH_DW MI_INSTR(0x26, 1) with
 * STORE_INDEX 1<<21, OP_STOREDW 1<<14, INVALIDATE_TLB 1<<18;
 * MI_STORE_DWORD_INDEX MI_INSTR(0x21, 1). gt/intel_lrc.h
 * LRC_PPHWSP_SCRATCH_ADDR 0x34 * 4. genxml gen9.xml MI_STORE_DATA_INDEX:
 * Use Per-Process Hardware Status Page bit 21, Offset dword 1 bits 11:2. */
#define PC_INVALIDATE_SDI                                                                       \
    ((1u << 20) | (1u << 18) | (1u << 11) | (1u << 10) | (1u << 4) | (1u << 3) | (1u << 2) | \
     (1u << 14) | (1u << 21))
#define FLUSH_DW_SDI (0x13000002u | (1u << 21) | (1u << 14)) /* MI_FLUSH_DW + 1 */
#define SDX(len) (0x10800000u | ((len) - 2u) | (1u << 21))
#define PPHWSP_SCRATCH 0xd0u

/* PPHWSP dword @dw is in the workload's copy-back set. */
static bool dirty(const struct fx *f, unsigned dw)
{
    return f->r.pphwsp_dirty[dw / 32] & (1u << (dw % 32));
}

static unsigned dirty_count(const struct fx *f)
{
    unsigned n = 0;

    for (unsigned dw = 0; dw < 1024; dw++)
        n += dirty(f, dw);
    return n;
}

/* What i915 6.1 emits: gen8_emit_flush_rcs(EMIT_INVALIDATE) on Gen9 (a
 * null PIPE_CONTROL first, vf_flush_wa, then the flush with its
 * store-data-index at LRC_PPHWSP_SCRATCH_ADDR), gen8_emit_flush_xcs
 * (EMIT_INVALIDATE) on the blitter, and MI_STORE_DATA_INDEX. */
static void test_store_data_index_i915(void **state)
{
    struct fx *f = *state;
    uint32_t rcs[] = {PIPE_CONTROL, 0, 0, 0, 0, 0,
                      PIPE_CONTROL, PC_INVALIDATE_SDI, PPHWSP_SCRATCH, 0, 0, 0, NOOP, NOOP};
    uint32_t xcs[] = {FLUSH_DW_SDI | (1u << 18), PPHWSP_SCRATCH, 0, 0};
    uint32_t sdx[] = {SDX(3), 0x100, 0x5d1, SDX(4), 0xff8, 1, 2, NOOP};

    assert_int_equal(ring(f, VGT_ENGINE_RCS, rcs, VGT_ARRAY_SIZE(rcs)), 0);
    /* a qword at 0xd0: dwords 0x34 and 0x35, nothing else */
    assert_true(dirty(f, 0x34) && dirty(f, 0x35));
    assert_int_equal(dirty_count(f), 2);
    assert_int_equal(ring(f, VGT_ENGINE_BCS, xcs, VGT_ARRAY_SIZE(xcs)), 0);
    assert_true(dirty(f, 0x34));
    assert_int_equal(dirty_count(f), 1); /* 4 dwords: one data dword */
    for (unsigned e = VGT_ENGINE_RCS; e <= VGT_ENGINE_BCS; e++) {
        assert_int_equal(ring(f, e, sdx, VGT_ARRAY_SIZE(sdx)), 0);
        assert_true(dirty(f, 0x40) && dirty(f, 0x3fe) && dirty(f, 0x3ff));
        assert_int_equal(dirty_count(f), 3);
    }
    /* in a batch too */
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x61000, false,
                              (uint32_t[]){PIPE_CONTROL, PC_INVALIDATE_SDI, 0xff8, 0, 7, 0, BBE}, 7),
                     0);
    assert_true(dirty(f, 0x3fe) && dirty(f, 0x3ff));
}

/* Offsets leaving the 4 KiB page, and MI_STORE_DATA_INDEX into the
 * engine's global HWSP (the host's), are refused with the offset named. */
static void test_store_data_index_hostile(void **state)
{
    struct fx *f = *state;
    static const struct {
        unsigned engine;
        uint32_t dw[7];
        unsigned n;
        const char *reason;
    } cases[] = {
        /* a qword at the page's last dword */
        {VGT_ENGINE_RCS, {PIPE_CONTROL, PC_INVALIDATE_SDI, 0xffc, 0, 1, 0, NOOP}, 7, "offset 0xffc + 8 bytes"},
        /* the index field's maximum (address bits 47:2) */
        {VGT_ENGINE_RCS, {PIPE_CONTROL, PC_INVALIDATE_SDI, 0xfffffffcu, 0xffff, 1, 0, NOOP}, 7,
         "offset 0xfffffffffffc + 8 bytes"},
        {VGT_ENGINE_RCS, {PIPE_CONTROL, PC_INVALIDATE_SDI, 0x1000, 0, 1, 0, NOOP}, 7, "offset 0x1000 + 8"},
        /* MI_FLUSH_DW (address bits 47:3: bit 2 selects the GGTT) a
         * qword (5 dwords) and a dword past the page */
        {VGT_ENGINE_BCS, {FLUSH_DW_SDI + 1, 0x1ff8 | 4, 0, 1, 2, NOOP}, 6, "offset 0x1ff8 + 8"},
        {VGT_ENGINE_BCS, {FLUSH_DW_SDI, 0x1000, 0, 1, NOOP, NOOP}, 6, "offset 0x1000 + 4"},
        {VGT_ENGINE_BCS, {FLUSH_DW_SDI, 0xfffffff8u, 0xffff, 1, NOOP, NOOP}, 6, "offset 0xfffffffffff8 + 4"},
        /* MI_STORE_DATA_INDEX: a qword at 0xffc (the Offset field's maximum) */
        {VGT_ENGINE_BCS, {SDX(4), 0xffc, 1, 2, NOOP, NOOP}, 6, "offset 0xffc + 8"},
        {VGT_ENGINE_RCS, {SDX(3), 0x1000, 1, NOOP, NOOP, NOOP}, 6, "bits outside 11:2"},
        /* without the per-process bit: the engine's HWSP */
        {VGT_ENGINE_BCS, {SDX(3) & ~(1u << 21), 0x40, 1, NOOP, NOOP, NOOP}, 6, "host's hardware status page"},
    };

    for (size_t i = 0; i < VGT_ARRAY_SIZE(cases); i++) {
        uint32_t dw[8] = {NOOP};

        memcpy(dw + 1, cases[i].dw, cases[i].n * 4);
        if (ring(f, cases[i].engine, dw, cases[i].n + 1) != -EACCES)
            fail_msg("case %zu (%s) not refused", i, cases[i].reason);
        assert_reason(f, cases[i].reason);
        assert_int_equal(f->r.viol.offset, 4);
        assert_int_equal(f->r.viol.header, cases[i].dw[0]);
    }
    /* the last qword of the page is fine */
    assert_int_equal(ring(f, VGT_ENGINE_BCS, (uint32_t[]){SDX(4), 0xff8, 1, 2}, 4), 0);
    assert_int_equal(ring(f, VGT_ENGINE_BCS, (uint32_t[]){FLUSH_DW_SDI + 1, 0xff8 | 4, 0, 1, 2, NOOP}, 6), 0);
}

/* STATE_BASE_ADDRESS, laid out from genxml gen9.xml (dword: base pairs
 * 1-2 general, 4-5 surface, 6-7 dynamic, 8-9 indirect object, 10-11
 * instruction, 16-17 bindless surface, each with Modify Enable bit 0; Buffer
 * Sizes in dwords 12..15, bits 31:12 in 4 KiB pages, Modify Enable bit 0).
 * Gen9 is 19 dwords, Gen8 16 (DWord Length bias 2). */
#define SBA(len) (0x61010000u | ((len) - 2u))
#define SBA_SIZE(pages) (((uint32_t)(pages) << 12) | 1u)

/* As i915's null state (gen8/gen9_renderstate.c relocated by
 * render_state_setup): four bases at the batch object with 1-page buffers,
 * Indirect Object base 0 with buffer size 0 (modify set on both). */
static void sba_null_state(uint32_t *b, unsigned len, uint64_t obj)
{
    memset(b, 0, (len + 1) * 4);
    b[0] = SBA(len);
    b[1] = (uint32_t)obj | 1u;
    b[4] = (uint32_t)obj | 1u;
    b[6] = (uint32_t)obj | 1u;
    b[8] = 1u; /* indirect object: base 0, modify */
    b[10] = (uint32_t)obj | 1u;
    b[12] = SBA_SIZE(1);
    b[13] = SBA_SIZE(1);
    b[14] = SBA_SIZE(0);
    b[15] = SBA_SIZE(1);
    b[len] = BBE;
}

static int rcs_batch(struct fx *f, const uint32_t *dw, size_t n)
{
    return batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x70000, false, dw, n);
}

/* A zero base with a zero bound reaches nothing: i915's null state passes
 * in both layouts, and so does a base+bound proven inside the vGPU. */
static void test_state_base_address_null_state(void **state)
{
    struct fx *f = *state;
    const uint64_t obj = LOW_BASE + 0x70000;
    uint32_t b[20];

    sba_null_state(b, 19, obj);
    assert_int_equal(rcs_batch(f, b, 20), 0);
    sba_null_state(b, 16, obj);
    assert_int_equal(rcs_batch(f, b, 17), 0);
    /* The general state buffer running to the last byte of the range. */
    sba_null_state(b, 19, obj);
    b[1] = (uint32_t)(LOW_BASE + LOW_SIZE - 0x4000) | 1u;
    b[12] = SBA_SIZE(4);
    assert_int_equal(rcs_batch(f, b, 20), 0);
    /* Bases without Modify Enable are not taken: not checked. */
    sba_null_state(b, 19, obj);
    b[4] = 0x20000000u;
    b[16] = 0x20000000u;
    assert_int_equal(rcs_batch(f, b, 20), 0);
    /* In a PPGTT batch the bases are PPGTT addresses: safe by the shadow. */
    b[4] = 0x20000000u | 1u;
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, PPGTT_BASE + 0x10000, true, b, 20), 0);
}

/* A base+bound reaching outside the vGPU (here into the gap between its
 * two ranges, another guest's graphics memory) is refused by name. */
static void test_state_base_address_hostile(void **state)
{
    struct fx *f = *state;
    const uint64_t obj = LOW_BASE + 0x70000;
    const uint32_t other = 0x20000000u; /* between LOW and HIGH: not this vGPU's */
    uint32_t b[20];
    struct {
        unsigned dw;
        uint32_t val;
        const char *reason;
    } cases[] = {
        /* indirect object base 0 with a real bound: host/other GM */
        {14, SBA_SIZE(1), "indirect object buffer outside the vGPU"},
        /* general state inside, its bound one page past the range */
        {12, SBA_SIZE(0x4000 / 4096 + 1), "general state buffer outside the vGPU"},
        {6, other | 1u, "dynamic state buffer outside the vGPU"},
        {10, other | 1u, "instruction buffer outside the vGPU"},
        {4, other | 1u, "surface state base outside the vGPU"},
        {16, other | 1u, "bindless surface state base outside the vGPU"},
        /* a base without its size leaves the context's bound in force */
        {13, 0, "dynamic state base without its buffer size"},
        /* a size without its base applies to the context's base */
        {2, 0, "general state buffer size without its base"},
    };

    for (size_t i = 0; i < VGT_ARRAY_SIZE(cases); i++) {
        sba_null_state(b, 19, obj);
        b[1] = (uint32_t)(LOW_BASE + LOW_SIZE - 0x4000) | 1u;
        b[12] = SBA_SIZE(4);
        if (i == 7)
            b[1] &= ~1u; /* general base not modified, its size is */
        b[cases[i].dw] = cases[i].val;
        if (rcs_batch(f, b, 20) != -EACCES)
            fail_msg("case %zu (%s) not refused", i, cases[i].reason);
        assert_reason(f, cases[i].reason);
        assert_string_equal(f->r.viol.cmd, "STATE_BASE_ADDRESS");
    }
    /* Neither 16 nor 19 dwords. */
    sba_null_state(b, 18, obj);
    assert_int_equal(rcs_batch(f, b, 19), -EINVAL);
    assert_reason(f, "neither 16 (Gen8) nor 19 (Gen9)");
}

/* A Gen8-length command that is the last thing in the guest's ring: the
 * check must not look for the Gen9 bindless pair past it (ASan saw a read
 * of dwords 16-17 past the copy; fuzz_cmd_audit's
 * regress-sba-gen8-end-of-ring). The ring is on the heap at its exact size,
 * so check-asan catches a read past it. */
static void test_state_base_address_gen8_ends_ring(void **state)
{
    struct fx *f = *state;
    uint32_t b[17];
    uint32_t *r = malloc(16 * 4);

    assert_non_null(r);
    sba_null_state(b, 16, LOW_BASE + 0x70000);
    memcpy(r, b, 16 * 4);
    assert_int_equal(ring(f, VGT_ENGINE_RCS, r, 16), 0);
    r[1] = 0x20000000u | 1u; /* general state base outside: still checked */
    assert_int_equal(ring(f, VGT_ENGINE_RCS, r, 16), -EACCES);
    assert_reason(f, "general state buffer outside the vGPU");
    free(r);
}

/* 3DSTATE_INDEX_BUFFER (genxml gen9.xml: address dwords 2-3, Buffer Size
 * in bytes dword 4): size 0 reaches nothing (i915's null state: address 0,
 * size 0); otherwise the whole buffer must be the vGPU's. */
#define INDEX_BUFFER 0x780a0003u

static void test_index_buffer(void **state)
{
    struct fx *f = *state;
    const uint32_t end = (uint32_t)(LOW_BASE + LOW_SIZE);
    uint32_t null_state[] = {INDEX_BUFFER, 0, 0, 0, 0, BBE};
    uint32_t inside[] = {INDEX_BUFFER, 0, end - 0x1000, 0, 0x1000, BBE};
    uint32_t past[] = {INDEX_BUFFER, 0, end - 0x1000, 0, 0x1001, BBE};
    uint32_t at_zero[] = {INDEX_BUFFER, 0, 0, 0, 4, BBE};
    uint32_t short_ib[] = {0x780a0002u, 0, 0, 0, BBE};

    assert_int_equal(rcs_batch(f, null_state, 6), 0);
    assert_int_equal(rcs_batch(f, inside, 6), 0);
    assert_int_equal(rcs_batch(f, past, 6), -EACCES);
    assert_reason(f, "index buffer outside the vGPU");
    assert_int_equal(rcs_batch(f, at_zero, 6), -EACCES);
    assert_reason(f, "index buffer outside the vGPU");
    assert_int_equal(rcs_batch(f, short_ib, 5), -EINVAL);
    /* PPGTT batch: a PPGTT address, safe by the shadow. */
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, PPGTT_BASE + 0x10000, true, at_zero, 6), 0);
}

/* ---- depth, HiZ and stencil buffers (genxml gen9.xml layouts) ---- */
#define DEPTH_BUFFER 0x78050006u /* 8 dwords */
#define STENCIL_BUFFER 0x78060003u
#define HIER_DEPTH_BUFFER 0x78070003u
#define PRIM 0x7b000005u          /* 3DPRIMITIVE, 7 dwords */
#define WM_HZ_OP 0x78520003u
#define DB1_2D (1u << 29)
#define DB1_NULL (7u << 29)
#define DB1_DEPTH_WRITE (1u << 28)
#define DB1_STENCIL_WRITE (1u << 27)
#define DB1_HIZ (1u << 22)
#define SB1_ENABLE (1u << 31)
/* Another guest's graphics memory: past the end of this vGPU's low range. */
#define OTHER_GUEST (LOW_BASE + LOW_SIZE + 0x100000)
#define SURF (LOW_BASE + 0x100000) /* the vGPU's own */

/* A 64x64 2D depth buffer (pitch 512) at @addr with dword 1 bits @db1. */
static void depth_cmd(uint32_t *b, uint64_t addr, uint32_t db1)
{
    b[0] = DEPTH_BUFFER;
    b[1] = db1 | (512 - 1);
    b[2] = (uint32_t)addr;
    b[3] = (uint32_t)(addr >> 32);
    b[4] = (63u << 18) | (63u << 4);
    b[5] = b[6] = b[7] = 0;
}

/* HiZ (@hdr HIER_DEPTH_BUFFER) or stencil (STENCIL_BUFFER, @b1 its enable)
 * at @addr, pitch 128. */
static void buf5_cmd(uint32_t *b, uint32_t hdr, uint64_t addr, uint32_t b1)
{
    b[0] = hdr;
    b[1] = b1 | (128 - 1);
    b[2] = (uint32_t)addr;
    b[3] = (uint32_t)(addr >> 32);
    b[4] = 0;
}

/* @b: [depth 8][hiz 5][stencil 5][3DPRIMITIVE 7][BBE]: 26 dwords. */
#define DS_LEN 26
static void ds_batch(uint32_t *b, uint64_t depth, uint32_t db1, uint64_t hiz, uint64_t stencil, uint32_t sb1)
{
    depth_cmd(b, depth, db1);
    buf5_cmd(b + 8, HIER_DEPTH_BUFFER, hiz, 0);
    buf5_cmd(b + 13, STENCIL_BUFFER, stencil, sb1);
    memset(b + 18, 0, 7 * 4);
    b[18] = PRIM;
    b[25] = BBE;
}

/* The depth buffer dword 1 as it runs: the first batch's copy. */
static uint32_t ran_db1(struct fx *f)
{
    assert_true(f->r.batches >= 1);
    return f->r.bufs[0].dw[1];
}

/* i915's null state (gen8/gen9_renderstate.c): all-zero depth (1x1 1D at
 * address 0, writes and HiZ off), stencil and HiZ commands, then a draw.
 * The depth buffer, only read, runs as SURFTYPE_NULL; HiZ (off) and
 * stencil (disabled) are never reached. */
static void test_depth_null_state(void **state)
{
    struct fx *f = *state;
    uint32_t b[DS_LEN];

    ds_batch(b, 0, 0, 0, 0, 0);
    memset(b + 1, 0, 7 * 4);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    assert_int_equal(f->r.depth_nulled, 1);
    assert_int_equal(ran_db1(f), DB1_NULL);
    /* The guest's own memory is left as the guest wrote it: only the copy
     * runs, and it is the copy that changed. */
    assert_int_equal(gmem_page(&f->m, LOW_BASE + 0x70000, false)[1], 0);
    /* A depth buffer already null is left alone. */
    ds_batch(b, OTHER_GUEST, DB1_NULL | DB1_DEPTH_WRITE | DB1_HIZ, SURF, 0, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    assert_int_equal(f->r.depth_nulled, 0);
}

/* A hostile depth buffer cannot reach another guest: written ones are
 * refused, read-only ones run as SURFTYPE_NULL, over the whole extent. */
static void test_depth_hostile(void **state)
{
    struct fx *f = *state;
    const uint64_t end = LOW_BASE + LOW_SIZE;
    static const uint32_t writes[] = {DB1_DEPTH_WRITE, DB1_STENCIL_WRITE, DB1_HIZ};
    uint32_t b[DS_LEN];

    /* The vGPU's own: runs as written. */
    ds_batch(b, SURF, DB1_2D | DB1_DEPTH_WRITE | DB1_STENCIL_WRITE, SURF, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    assert_int_equal(f->r.depth_nulled, 0);
    assert_int_equal(ran_db1(f), DB1_2D | DB1_DEPTH_WRITE | DB1_STENCIL_WRITE | 511);
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        /* Another guest's memory, written (or through HiZ): refused. */
        ds_batch(b, OTHER_GUEST, DB1_2D | writes[i], SURF, SURF, 0);
        assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
        assert_reason(f, "depth buffer outside the vGPU with depth/stencil writes or HiZ enabled");
        /* Starting inside, its extent (64 rows of 512 bytes and more)
         * running past the end: refused all the same. */
        ds_batch(b, end - 0x4000, DB1_2D | writes[i], SURF, SURF, 0);
        assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
        assert_reason(f, "depth buffer outside the vGPU");
        /* A reserved surface type has no known extent. */
        ds_batch(b, SURF, (5u << 29) | writes[i], SURF, SURF, 0);
        assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
        assert_reason(f, "depth buffer outside the vGPU");
    }
    /* Only read (a depth test): it runs as SURFTYPE_NULL, which reads no
     * memory, so the other guest's depth values never reach a compare. */
    ds_batch(b, OTHER_GUEST, DB1_2D, SURF, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    assert_int_equal(f->r.depth_nulled, 1);
    assert_int_equal(ran_db1(f) >> 29, 7);
    ds_batch(b, end - 0x4000, DB1_2D, SURF, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    assert_int_equal(ran_db1(f) >> 29, 7);
    /* Low address bits do not move the checked start above the one used. */
    ds_batch(b, LOW_BASE - 0x1000 + 0xfff, DB1_2D | DB1_DEPTH_WRITE, SURF, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    /* Bad length. */
    b[0] = DEPTH_BUFFER - 1;
    b[7] = BBE;
    assert_int_equal(rcs_batch(f, b, 8), -EINVAL);
    assert_reason(f, "not 8 dwords");
    /* PPGTT batch: a PPGTT address, safe by the shadow. */
    ds_batch(b, OTHER_GUEST, DB1_2D | DB1_DEPTH_WRITE, SURF, SURF, 0);
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, PPGTT_BASE + 0x10000, true, b, DS_LEN), 0);
    assert_int_equal(f->r.depth_nulled, 0);
}

/* HiZ is reached by a draw or a WM_HZ_OP with the depth buffer's HiZ
 * Enable: there its buffer must be the vGPU's, whatever the order the
 * group was programmed in. */
static void test_hiz_hostile(void **state)
{
    struct fx *f = *state;
    const uint64_t end = LOW_BASE + LOW_SIZE;
    uint32_t b[DS_LEN + 8];

    memset(b, 0, sizeof(b));
    /* Mesa's order (depth, HiZ, stencil, draw), all the vGPU's. */
    ds_batch(b, SURF, DB1_2D | DB1_DEPTH_WRITE | DB1_HIZ, SURF + 0x80000, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    /* HiZ at another guest's memory, reached by the draw: refused. */
    ds_batch(b, SURF, DB1_2D | DB1_DEPTH_WRITE | DB1_HIZ, OTHER_GUEST, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "hierarchical depth buffer outside the vGPU");
    assert_string_equal(f->r.viol.cmd, "3DPRIMITIVE");
    /* ... or its extent over the depth buffer's 64 rows past the end. */
    ds_batch(b, SURF, DB1_2D | DB1_HIZ, end - 0x2000, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "hierarchical depth buffer outside the vGPU");
    /* ... by a WM_HZ_OP (a depth clear or resolve) instead of a draw. */
    ds_batch(b, SURF, DB1_2D | DB1_HIZ, OTHER_GUEST, SURF, 0);
    memset(b + 18, 0, 5 * 4);
    b[18] = WM_HZ_OP;
    b[19] = 1u << 30; /* Depth Buffer Clear Enable */
    b[23] = BBE;
    assert_int_equal(rcs_batch(f, b, 24), -EACCES);
    assert_reason(f, "hierarchical depth buffer outside the vGPU");
    /* HiZ at another guest's memory with HiZ off: never reached. */
    ds_batch(b, SURF, DB1_2D | DB1_DEPTH_WRITE, OTHER_GUEST, SURF, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    /* HiZ on with no HiZ buffer in the workload: the shadow context's
     * would be used, which is not the vGPU's. */
    ds_batch(b, SURF, DB1_2D | DB1_HIZ, SURF, SURF, 0);
    b[8] = NOOP, b[9] = NOOP, b[10] = NOOP, b[11] = NOOP, b[12] = NOOP;
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "no 3DSTATE_HIER_DEPTH_BUFFER");
    /* Moved away after a good draw: the next draw is refused. */
    ds_batch(b, SURF, DB1_2D | DB1_HIZ, SURF, SURF, 0);
    buf5_cmd(b + 25, HIER_DEPTH_BUFFER, OTHER_GUEST, 0);
    memset(b + 30, 0, 4);
    b[30] = PRIM; /* 3DPRIMITIVE's 7 dwords: b[30..36] */
    {
        uint32_t big[DS_LEN + 12];

        memcpy(big, b, 31 * 4);
        memset(big + 31, 0, 6 * 4);
        big[37] = BBE;
        assert_int_equal(rcs_batch(f, big, 38), -EACCES);
        assert_reason(f, "hierarchical depth buffer outside the vGPU");
        /* ... refused at the HiZ command itself: the draw before it may
         * still be in flight (non-pipelined state, no depth stall). */
        assert_int_equal(f->r.viol.offset, 25 * 4);
        assert_string_equal(f->r.viol.cmd, "3DSTATE_HIER_DEPTH_BUFFER");
        /* With no draw before it, nothing can reach it there yet: the
         * draw after it refuses. */
        memcpy(big, b, 25 * 4);
        big[18] = NOOP; /* no 3DPRIMITIVE at 18 */
        memset(big + 18, 0, 7 * 4);
        buf5_cmd(big + 25, HIER_DEPTH_BUFFER, OTHER_GUEST, 0);
        assert_int_equal(rcs_batch(f, big, 38), -EACCES);
        assert_int_equal(f->r.viol.offset, 30 * 4);
        assert_string_equal(f->r.viol.cmd, "3DPRIMITIVE");
        /* After a draw, a stencil buffer enabled outside, or a depth
         * buffer turning HiZ on over a HiZ buffer outside, likewise. */
        memcpy(big, b, 30 * 4);
        buf5_cmd(big + 25, STENCIL_BUFFER, OTHER_GUEST, SB1_ENABLE);
        assert_int_equal(rcs_batch(f, big, 38), -EACCES);
        assert_reason(f, "stencil buffer outside the vGPU");
        assert_int_equal(f->r.viol.offset, 25 * 4);
        ds_batch(big, SURF, DB1_2D, OTHER_GUEST, SURF, 0); /* HiZ off: the bad HiZ is unused */
        depth_cmd(big + 25, SURF, DB1_2D | DB1_HIZ);
        memset(big + 33, 0, 4 * 4);
        big[33] = BBE;
        assert_int_equal(rcs_batch(f, big, 34), -EACCES);
        assert_reason(f, "hierarchical depth buffer outside the vGPU");
        assert_int_equal(f->r.viol.offset, 25 * 4);
    }
}

/* The stencil buffer is reached with its enable, over the depth buffer's
 * dimensions. */
static void test_stencil_hostile(void **state)
{
    struct fx *f = *state;
    uint32_t b[DS_LEN];

    ds_batch(b, SURF, DB1_2D | DB1_STENCIL_WRITE, SURF, SURF + 0x80000, SB1_ENABLE);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    /* Enabled at another guest's memory: refused at the draw. */
    ds_batch(b, SURF, DB1_2D | DB1_STENCIL_WRITE, SURF, OTHER_GUEST, SB1_ENABLE);
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "stencil buffer outside the vGPU");
    /* ... beside a null depth buffer too (stencil-only rendering). */
    ds_batch(b, 0, DB1_NULL, SURF, OTHER_GUEST, SB1_ENABLE);
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "stencil buffer outside the vGPU");
    /* ... and beside a depth buffer this audit made null. */
    ds_batch(b, OTHER_GUEST, DB1_2D, SURF, OTHER_GUEST, SB1_ENABLE);
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "stencil buffer outside the vGPU");
    /* Disabled: never reached. */
    ds_batch(b, SURF, DB1_2D, SURF, OTHER_GUEST, 0);
    assert_int_equal(rcs_batch(f, b, DS_LEN), 0);
    /* Enabled with no depth buffer in the workload: its extent would come
     * from the shadow context's. */
    ds_batch(b, SURF, DB1_2D, SURF, SURF, SB1_ENABLE);
    for (unsigned i = 0; i < 8; i++)
        b[i] = NOOP;
    assert_int_equal(rcs_batch(f, b, DS_LEN), -EACCES);
    assert_reason(f, "no 3DSTATE_DEPTH_BUFFER");
    /* Bad length. */
    b[0] = STENCIL_BUFFER + 1;
    b[6] = BBE;
    assert_int_equal(rcs_batch(f, b, 7), -EINVAL);
    assert_reason(f, "not 5 dwords");
}

/* Chained batches: followed and scanned; a jump back into the chain (a
 * loop, including a self-jump) is refused. */
static void test_chained(void **state)
{
    struct fx *f = *state;
    uint64_t a = LOW_BASE + 0x70000, b = HIGH_BASE + 0x70000;
    uint32_t ba[] = {NOOP, BBS(0, 0), (uint32_t)b, (uint32_t)(b >> 32), USER_INT /* unreachable */};
    uint32_t bb[] = {USER_INT, BBE};
    uint32_t self[] = {NOOP, BBS(0, 0), (uint32_t)(a + 4), 0};
    uint32_t back[] = {BBS(0, 0), (uint32_t)a, 0};

    gmem_map(&f->m, b, false, 1);
    gmem_write(&f->m, b, false, bb, 2);
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, ba, 5), 0);
    assert_int_equal(f->r.batches, 2);
    assert_int_equal(f->r.user_interrupts, 1); /* only the reachable one */
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, self, 4), -EINVAL);
    assert_reason(f, "loop");
    gmem_write(&f->m, b, false, back, 3);
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, ba, 5), -EINVAL);
    assert_reason(f, "loop");
    assert_int_equal(f->r.viol.buf, 2);
}

/* Second-level batches return to the first level; a third level is
 * refused, and so is a second-level start in the ring. */
static void test_second_level(void **state)
{
    struct fx *f = *state;
    uint64_t a = LOW_BASE + 0x90000, s = PPGTT_BASE + 0x20000, t = PPGTT_BASE + 0x30000;
    uint32_t ba[] = {BBS(1, 1), (uint32_t)s, (uint32_t)(s >> 32), USER_INT, BBS(1, 1), (uint32_t)s,
                     (uint32_t)(s >> 32), BBE};
    uint32_t bs[] = {SDI(1), (uint32_t)LOW_BASE, 0, 9, BBE};
    uint32_t deep[] = {BBS(1, 1), (uint32_t)t, (uint32_t)(t >> 32), BBE};
    uint32_t rb[] = {BBS(1, 1), (uint32_t)s, (uint32_t)(s >> 32), NOOP};

    gmem_map(&f->m, s, true, 1);
    gmem_map(&f->m, t, true, 1);
    gmem_write(&f->m, s, true, bs, 5);
    gmem_write(&f->m, t, true, bs, 5);
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, ba, 8), 0);
    assert_int_equal(f->r.batches, 3); /* the same second-level batch twice */
    assert_int_equal(f->r.user_interrupts, 1);
    gmem_write(&f->m, s, true, deep, 4);
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, ba, 8), -EINVAL);
    assert_reason(f, "two levels");
    assert_int_equal(ring(f, VGT_ENGINE_BCS, rb, 4), -EINVAL);
    /* and the ring itself may not hold MI_BATCH_BUFFER_END */
    rb[0] = BBE;
    assert_int_equal(ring(f, VGT_ENGINE_BCS, rb, 1), -EINVAL);
}

/* Every BB_START is reported as a site for the caller to relocate to the
 * copy of its target once it knows where the copy lives; the auditor
 * leaves the address alone. */
static void test_bb_patch(void **state)
{
    struct fx *f = *state;
    uint64_t a = PPGTT_BASE + 0x50000;
    uint32_t b[] = {BBE};
    uint32_t rb[] = {NOOP, BBS(1, 0), (uint32_t)a, (uint32_t)(a >> 32)};

    gmem_map(&f->m, a, true, 1);
    gmem_write(&f->m, a, true, b, 1);
    assert_int_equal(ring(f, VGT_ENGINE_BCS, rb, 4), 0);
    assert_int_equal(f->r.nr_sites, 1);
    assert_int_equal(f->r.sites[0].buf, 0);
    assert_int_equal(f->r.sites[0].target, 0);
    assert_int_equal(f->r.sites[0].dw, 1);
    assert_int_equal(rb[2], (uint32_t)a);
    assert_true(f->r.bufs[0].ppgtt);
    assert_int_equal(f->r.bufs[0].gma, a);
}

/* A batch longer than the first copy window is copied further and found
 * terminated; the limits on batches and size hold. */
static void test_long_batch_and_limits(void **state)
{
    struct fx *f = *state;
    uint64_t a = HIGH_BASE + 0x100000;
    uint32_t *pg = gmem_map(&f->m, a, false, 3);
    uint64_t c = HIGH_BASE + 0x200000;
    uint32_t chain[4];

    (void)pg;
    for (unsigned i = 0; i < 3 * 1024 - 1; i++)
        gmem_write(&f->m, a + i * 4, false, &(uint32_t){NOOP}, 1);
    gmem_write(&f->m, a + (3 * 1024 - 1) * 4, false, &(uint32_t){BBE}, 1);
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, NULL, 0), 0);
    /* the copy is exactly what the walk reached: up to the end */
    assert_int_equal(f->r.bufs[0].ndw, 3 * 1024);
    /* A chain of 65 distinct batches exceeds the batch limit. */
    gmem_map(&f->m, c, false, 1);
    for (unsigned i = 0; i < 70; i++) {
        uint64_t nx = c + (i + 1) * 16;

        chain[0] = BBS(0, 0);
        chain[1] = (uint32_t)nx;
        chain[2] = 0;
        chain[3] = NOOP;
        gmem_write(&f->m, c + i * 16, false, chain, 4);
    }
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, c, false, NULL, 0), -E2BIG);
}

/* Read once (issue 12): a batch longer than the first copy window is
 * extended, never read again, so a vCPU that rewrites dword 0 between the
 * reads changes nothing that is walked or run; every guest dword is read
 * exactly once. Forbidden commands at dword 0, in the middle and at the
 * end of such a batch are all found. */
static void test_read_once(void **state)
{
    enum { N = 3 * 1024 + 8 };
    struct fx *f = *state;
    uint64_t a = HIGH_BASE + 0x300000;
    const uint32_t ok_lri[3] = {LRI(1), BCS_SWCTRL, 0x00010001u};
    const uint32_t bad_lri[3] = {LRI(1), 0x22080u /* BCS HWS_PGA */, 0x1000u};
    const size_t at[3] = {0, N / 2, N - 4};

    gmem_map(&f->m, a, false, 4);
    for (unsigned i = 0; i < N - 1; i++)
        gmem_write(&f->m, a + i * 4, false, &(uint32_t){NOOP}, 1);
    gmem_write(&f->m, a + (N - 1) * 4ull, false, &(uint32_t){BBE}, 1);
    gmem_write(&f->m, a, false, ok_lri, 3);
    /* The racing vCPU: from the second read on, the LRI at dword 0 names
     * a forbidden register (what the old refetch let through). */
    f->m.race_gma = a + 4;
    f->m.race_dw = 0x22080u;
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, NULL, 0), 0);
    assert_true(f->m.read_calls >= 2); /* the copy was extended */
    assert_memory_equal(f->r.bufs[0].dw, ok_lri, sizeof(ok_lri));
    assert_int_equal(f->r.bufs[0].ndw, N);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(*gmem_reads(&f->m, a + i * 4, false), 1);
    /* the guest did change its memory: a new submission sees that */
    f->m.race_dw = 0;
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, NULL, 0), -EACCES);
    assert_reason(f, "not command-accessible");
    gmem_write(&f->m, a, false, ok_lri, 3);
    for (unsigned k = 0; k < 3; k++) {
        gmem_write(&f->m, a + at[k] * 4, false, bad_lri, 3);
        assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, NULL, 0), -EACCES);
        assert_reason(f, "not command-accessible");
        assert_int_equal(f->r.viol.offset, at[k] * 4);
        for (unsigned i = 0; i < 3; i++)
            gmem_write(&f->m, a + (at[k] + i) * 4, false, &(uint32_t){NOOP}, 1);
    }
}

/* A workload whose batches need more than the size limit is refused with
 * that reason, never copied (or run) in parts. */
static void test_size_limit_refuses(void **state)
{
    struct fx *f = *state;
    uint64_t a = HIGH_BASE + 0x400000;

    gmem_map(&f->m, a, false, 3);
    for (unsigned i = 0; i < 3 * 1024 - 1; i++)
        gmem_write(&f->m, a + i * 4, false, &(uint32_t){NOOP}, 1);
    gmem_write(&f->m, a + (3 * 1024 - 1) * 4, false, &(uint32_t){BBE}, 1);
    f->a.max_dwords = 3 * 1024;
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, NULL, 0), 0);
    f->a.max_dwords = 3 * 1024 - 1;
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, a, false, NULL, 0), -E2BIG);
    assert_reason(f, "command size limit");
    assert_true(f->r.copied <= f->a.max_dwords);
}

/* gvt's F_CMD_ACCESS rows vgt does not follow: one register of each
 * class, by LRI, LRM and as LRR's destination, on the engine gvt lists it
 * for, each refused with its class. And i915's context workarounds
 * (gen9_ctx_workarounds_init) load. */
static void test_reg_refused_classes(void **state)
{
    struct fx *f = *state;
    static const struct {
        unsigned engine;
        uint32_t reg;
        const char *why;
    } cases[] = {
        {VGT_ENGINE_RCS, 0x2220, "address translation"},  /* PP_DIR_DCLV: a page directory */
        {VGT_ENGINE_BCS, 0x2229c, "address translation"}, /* RING_MODE_GEN7: PPGTT / execlists */
        {VGT_ENGINE_RCS, 0x4de0, "address translation"},  /* TRVATTL3PTRDW(0): TR-TT table */
        {VGT_ENGINE_RCS, 0x4df4, "address translation"},  /* TRTTE */
        {VGT_ENGINE_RCS, 0x4090, "address translation"},  /* GAM_ECOCHK */
        {VGT_ENGINE_RCS, 0x4030, "address translation"},  /* ARB_MODE (swizzle) */
        {VGT_ENGINE_VCS, 0x4180, "graphics address"},     /* BSD_HWS_PGA_GEN7 */
        {VGT_ENGINE_RCS, 0x2180, "graphics address"},     /* CCID */
        {VGT_ENGINE_RCS, 0x2038, "controls the engine"},  /* RING_START: the ring base */
        {VGT_ENGINE_VECS, 0x1a03c, "controls the engine"}, /* RING_CTL */
        {VGT_ENGINE_RCS, 0x209c, "controls the engine"},  /* RING_MI_MODE */
        {VGT_ENGINE_BCS, 0x220c0, "controls the engine"}, /* RING_INSTPM */
        {VGT_ENGINE_RCS, 0x2244, "controls the engine"},  /* RING_CONTEXT_CONTROL */
        {VGT_ENGINE_RCS, 0x24d0, "controls the engine"},  /* RING_FORCE_TO_NONPRIV(0) */
        {VGT_ENGINE_RCS, 0xc800, "GT-wide"},              /* GEN9_GFX_MOCS(0) */
        {VGT_ENGINE_RCS, 0xb020, "GT-wide"},              /* GEN9_LNCFCMOCS(0) */
        {VGT_ENGINE_RCS, 0xb118, "GT-wide"},              /* GEN8_L3SQCREG4 */
        {VGT_ENGINE_RCS, 0x940c, "GT-wide"},              /* GEN7_UCGCTL4 */
        {VGT_ENGINE_RCS, 0x2124, "no name in i915 6.1"},
        {VGT_ENGINE_RCS, 0xe230, "no name in i915 6.1"},
    };
    /* The LRI i915 6.1's intel_engine_emit_ctx_wa loads on a Skylake GT2
     * (gen9_ctx_workarounds_init, skl_tune_iz_hashing for a 7-EU
     * subslice 0), as tests/cmd/linux_i915.py skl_ctx_workarounds()
     * derives it from the i915 source (test i915-ctx-wa does so at test
     * time): sorted by offset, masked values. */
    uint32_t wa[] = {LRI(10),
                     0x2580, 0x00070004, 0x7004, 0x00420042, 0x7008, 0x003f0001,
                     0x7014, 0x20002000, 0x7300, 0x80308030, 0xe180, 0x20002000,
                     0xe184, 0x00020002, 0xe188, 0x00080000, 0xe194, 0x01140114,
                     0xe4f0, 0x81008100, NOOP, BBE};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t lri[] = {LRI(1), cases[i].reg, 0, NOOP, BBE};
        uint32_t lrm[] = {LRM(1), cases[i].reg, (uint32_t)(LOW_BASE + 0x3000), 0, BBE};
        uint32_t lrr[] = {LRR, 0x358u + (cases[i].engine == VGT_ENGINE_RCS ? 0x2000u
                                         : cases[i].engine == VGT_ENGINE_BCS ? 0x22000u
                                         : cases[i].engine == VGT_ENGINE_VCS ? 0x12000u : 0x1a000u),
                          cases[i].reg, BBE};
        const uint32_t *b[3] = {lri, lrm, lrr};
        const size_t n[3] = {5, 5, 4};

        for (unsigned k = 0; k < 3; k++) {
            if (batch_at(f, cases[i].engine, LOW_BASE + 0x10000, false, b[k], n[k]) != -EACCES)
                fail_msg("register %#x on engine %u (form %u) was not refused", cases[i].reg, cases[i].engine, k);
            assert_reason(f, "register is not command-accessible: it ");
            assert_reason(f, cases[i].why);
        }
    }
    assert_int_equal(batch_at(f, VGT_ENGINE_RCS, LOW_BASE + 0x10000, false, wa, sizeof(wa) / 4), 0);
    /* Only the render engine has them. */
    assert_int_equal(batch_at(f, VGT_ENGINE_BCS, LOW_BASE + 0x10000, false, wa, sizeof(wa) / 4), -EACCES);
    assert_reason(f, "not command-accessible");
}

static void test_reg_allowed_api(void **state)
{
    (void)state;
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_BCS, BCS_SWCTRL), 1);
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_RCS, BCS_SWCTRL), 0);
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_RCS, 0x2270 + 0x18 + 4), 2);
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_BCS, 0x22270 + 0x20), 0);
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_NUM, BCS_SWCTRL), 0);
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_VCS, 0x12600), 1);
}

/* The oracle: the whitelist as the i915 command parser's register lists
 * state it (gen9_blt_regs[], gen7_render_regs[], hsw_render_regs[] in
 * i915_cmd_parser.c; engine-relative ones from each engine's base, as
 * gt/intel_engine_regs.h defines them), plus the PDPs (base + 0x270).
 * Every dword offset up to past the last engine's registers must get the
 * same answer from the auditor's sorted table. */
static void test_reg_whitelist_oracle(void **state)
{
    static const uint32_t base[VGT_ENGINE_NUM] = {0x2000, 0x22000, 0x12000, 0x1A000};
    static const struct {
        uint32_t off, len;
        unsigned engines;
        bool rel;
        int kind;
    } rules[] = {
        {0x270, 32, 0xf, true, 2},   {0x358, 8, 0xf, true, 1},    {0x3a8, 4, 0xf, true, 1},
        {0x600, 128, 0xf, true, 1},  {0x2358, 8, 0xf, false, 1},  {0x22200, 4, 1u << VGT_ENGINE_BCS, false, 1},
        {0x2290, 8, 1, false, 1},    {0x2300, 0x58, 1, false, 1}, {0x2400, 16, 1, false, 1},
        {0x2420, 4, 1, false, 1},    {0x2430, 0x14, 1, false, 1}, {0x2500, 12, 1, false, 1},
        {0x5200, 32, 1, false, 1},   {0x5240, 32, 1, false, 1},   {0x5280, 16, 1, false, 1},
        /* Linux 6.1 gvt handlers.c F_CMD_ACCESS rows for Skylake that
         * vgt follows: RING_EXCC (+0x28) and CSFE_CHICKEN1_REG (+0xd4) per
         * engine; the render chicken and mode registers (offsets: i915
         * gt/intel_gt_regs.h): FF_SLICE_CHICKEN 0x2088, _3D_CHICKEN3
         * 0x2090, GEN7_FF_THREAD_MODE 0x20a0, GEN7_FF_SLICE_CS_CHICKEN1/2
         * 0x20e0/4, GEN9_CS_DEBUG_MODE1 0x20ec, CACHE_MODE_0 0x2120,
         * GEN8_CS_CHICKEN1 0x2580, GEN9_WM_CHICKEN3 0x5588,
         * CACHE_MODE_0_GEN7/CACHE_MODE_1/GEN7_GT_MODE 0x7000-0x7008,
         * GEN7_COMMON_SLICE_CHICKEN1/COMMON_SLICE_CHICKEN2/HIZ_CHICKEN
         * 0x7010-0x7018, HDC_CHICKEN0/GEN8_HDC_CHICKEN1 0x7300/4,
         * GEN7_SQ_CHICKEN_MBCUNIT_CONFIG 0x9030, GEN7_HALF_SLICE_CHICKEN1
         * 0xe100, HALF_SLICE_CHICKEN2/3/5 0xe180-0xe188,
         * GEN9_HALF_SLICE_CHICKEN7 0xe194, GEN8_ROW_CHICKEN/
         * GEN7_ROW_CHICKEN2 0xe4f0/4. */
        {0x28, 4, 0xf, true, 1},     {0xd4, 4, 0xf, true, 1},     {0x2088, 4, 1, false, 1},
        {0x2090, 4, 1, false, 1},    {0x20a0, 4, 1, false, 1},    {0x20e0, 8, 1, false, 1},
        {0x20ec, 4, 1, false, 1},    {0x2120, 4, 1, false, 1},    {0x2580, 4, 1, false, 1},
        {0x5588, 4, 1, false, 1},    {0x7000, 12, 1, false, 1},   {0x7010, 12, 1, false, 1},
        {0x7300, 8, 1, false, 1},    {0x9030, 4, 1, false, 1},    {0xe100, 4, 1, false, 1},
        {0xe180, 12, 1, false, 1},   {0xe194, 4, 1, false, 1},    {0xe4f0, 8, 1, false, 1},
    };
    static const struct vgt_audit_range rg = {LOW_BASE, LOW_SIZE};
    struct vgt_auditor a;
    unsigned allowed = 0;

    (void)state;
    assert_int_equal(vgt_audit_init(&a, &rg, 1, NULL, NULL), 0);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        for (uint32_t reg = 0; reg < 0x40000; reg += 4) {
            int want = 0;

            for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && !want; i++) {
                uint32_t off = rules[i].rel ? base[e] + rules[i].off : rules[i].off;

                if ((rules[i].engines & (1u << e)) && reg >= off && reg < off + rules[i].len)
                    want = rules[i].kind;
            }
            if (vgt_audit_reg_allowed(e, reg) != want)
                fail_msg("engine %u reg %#x: auditor says %d, the rules %d", e, reg,
                         vgt_audit_reg_allowed(e, reg), want);
            /* and the per-engine rows the walk uses agree */
            if (vgt_audit_reg_kind(&a, e, reg) != want)
                fail_msg("engine %u reg %#x: walk rows say %d, the rules %d", e, reg,
                         vgt_audit_reg_kind(&a, e, reg), want);
            allowed += want != 0;
        }
        /* Unaligned offsets never pass. */
        assert_int_equal(vgt_audit_reg_allowed(e, base[e] + 0x600 + 2), 0);
    }
    /* Not a vacuous comparison: per engine 8 PDP dwords + its timestamp
     * (2) + context timestamp (1) + 32 GPR dwords + the render timestamp
     * (2) = 45, BCS one more (BCS_SWCTRL); RCS' own timestamp is the
     * render one (43), plus its 57 counter and predicate dwords; then
     * two gvt rows per engine and 25 render chicken/mode dwords. */
    assert_int_equal(allowed, 100 + 46 + 45 + 45 + 4 * 2 + 25);
    assert_int_equal(vgt_audit_reg_allowed(VGT_ENGINE_RCS, 0xfffffffcu), 0);
}

/* The walk's one-load lookup (built at init) against the shared decoder,
 * for every opcode key of every engine and several length fields: a
 * command the decoder does not know is "unknown" at dword 0 (or refused
 * by name, for the MI commands the auditor rejects outright); one it
 * knows is never "unknown", and when the auditor lets it pass, the next
 * command it finds (an MI_BATCH_BUFFER_END placed there) is at the
 * decoder's length. */
static void test_lookup_matches_decoder(void **state)
{
    static const struct vgt_audit_range all = {0, 1ull << 47}; /* zero operands are in range */
    static const uint32_t lens[] = {0, 1, 5, 0xff};
    enum { NDW = 300 };
    struct vgt_auditor *a = malloc(sizeof(*a));
    struct vgt_audit_result *r = malloc(sizeof(*r));
    struct vgt_cmd_decoder *d = malloc(sizeof(*d));
    uint32_t *buf = malloc(NDW * 4);
    unsigned known = 0, passed = 0;

    (void)state;
    assert_non_null(a);
    assert_non_null(r);
    assert_non_null(d);
    assert_non_null(buf);
    assert_int_equal(vgt_audit_init(a, &all, 1, NULL, NULL), 0);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        assert_int_equal(vgt_cmd_decoder_init(d, vgt_cmd_table_for_engine(e)), 0);
        for (uint32_t key = 0; key < (1u << 16); key++) {
            /* bits 31:16: type and every opcode field of every type */
            for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
                uint32_t hdr = (key << 16) | lens[l];
                const struct vgt_cmd_desc *desc = NULL;
                struct vgt_audit_buf b = {.dw = buf, .ndw = NDW, .gma = 0x1000};
                int len, rc;

                if (hdr == 0)
                    continue; /* MI_NOOP: no lookup */
                memset(buf, 0, 300 * 4); /* the longest length field here is 0xff + 2 */
                buf[0] = hdr;
                len = vgt_cmd_decode_one(d, buf, NDW - 1, &desc);
                if (len > 0)
                    buf[len] = BBE;
                rc = vgt_audit_batch(a, NULL, e, &b, r);
                if (len == -VGT_CMD_E_UNKNOWN) {
                    if (rc != -EACCES || r->viol.offset != 0 ||
                        (strcmp(r->viol.reason, "unknown command for this engine") && (hdr >> 29) != 0))
                        fail_msg("engine %u header %#x: decoder: unknown; auditor: %d %s", e, hdr, rc,
                                 rc ? r->viol.reason : "accepted");
                    continue;
                }
                assert_true(len > 0);
                known++;
                if (rc && r->viol.offset == 0 && !strcmp(r->viol.reason, "unknown command for this engine"))
                    fail_msg("engine %u header %#x (%s): known to the decoder, unknown to the auditor", e, hdr,
                             desc->name);
                if (rc == 0) {
                    passed++;
                    if (r->dwords != (size_t)len + (desc->id == VGT_CMD_ID_BB_END ? 0 : 1))
                        fail_msg("engine %u header %#x (%s): decoder length %d, auditor walked %zu dwords", e,
                                 hdr, desc->name, len, r->dwords);
                }
                vgt_audit_release(r);
            }
        }
    }
    /* Not vacuous: the tables hold hundreds of commands, most pass with
     * zero operands. */
    assert_true(known > 10000);
    assert_true(passed > 1000);
    free(buf);
    free(d);
    free(r);
    free(a);
}

static void test_init_args(void **state)
{
    struct fx *f = *state;
    struct vgt_auditor a;
    struct vgt_audit_range bad = {LOW_BASE, 0};
    struct vgt_audit_range wrap = {~0ull - 10, 100};
    uint32_t r[] = {NOOP};

    assert_int_equal(vgt_audit_init(&a, &bad, 1, &ops, NULL), -EINVAL);
    assert_int_equal(vgt_audit_init(&a, &wrap, 1, &ops, NULL), -EINVAL);
    assert_int_equal(vgt_audit_init(&a, &bad, 0, &ops, NULL), -EINVAL);
    assert_int_equal(vgt_audit_ring(&f->a, &f->m, VGT_ENGINE_NUM, r, 1, 0, &f->r), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blt_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_whitelist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pdp_patch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_straddle_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ggtt_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blit_extent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipe_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_data_index_i915, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_data_index_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_base_address_null_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_base_address_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_base_address_gen8_ends_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_null_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hiz_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stencil_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bb_patch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_batch_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit_refuses, setup, teardown),
        cmocka_unit_test(test_reg_allowed_api),
        cmocka_unit_test_setup_teardown(test_reg_refused_classes, setup, teardown),
        cmocka_unit_test(test_reg_whitelist_oracle),
        cmocka_unit_test_setup_teardown(test_init_args, setup, teardown),
        cmocka_unit_test(test_lookup_matches_decoder),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

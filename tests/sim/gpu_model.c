/* The simulated Gen9 GPU, driven like a real one through the host GPU seam
 * (with the native driver for set-up): every executed command and its
 * effect in memory, GGTT and PPGTT translation with faults, ELSP/CSB
 * sequencing with two contexts and preemption, interrupts, bad streams,
 * display readback, the cost model, and the native workloads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vgt/gen8_gtt.h"
#include "vgt/gpu_workload.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/sim_native.h"
#include "vgt/util.h"

#define WAIT_MS 5000

struct fx {
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    struct vgt_hostgpu *hg;
    struct sim_native *n;
    struct sim_native_ctx *rcs, *bcs;
    struct sim_native_bo *data, *batch, *batch2;
};

static int setup_cfg(void **state, const struct sim_gpu_config *cfg)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    vgt_log_init(&f->log, "test", VGT_LOG_ERR);
    assert_int_equal(sim_arena_create(256ull << 20, &f->arena), 0);
    assert_int_equal(sim_gpu_create(f->arena, cfg, &f->log, &f->gpu), 0);
    f->hg = sim_gpu_hostgpu(f->gpu);
    assert_int_equal(sim_native_create(f->hg, &f->log, NULL, &f->n), 0);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 2, &f->rcs), 0);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_BCS, 2, &f->bcs), 0);
    assert_int_equal(sim_native_bo_create(f->n, 64 * 1024, &f->data), 0);
    assert_int_equal(sim_native_bo_create(f->n, 4096, &f->batch), 0);
    assert_int_equal(sim_native_bo_create(f->n, 4096, &f->batch2), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    /* A small command budget so the endless-batch test ends quickly. */
    const struct sim_gpu_config cfg = {.cmd_budget = 200000};

    return setup_cfg(state, &cfg);
}

static int teardown(void **state)
{
    struct fx *f = *state;

    sim_native_bo_destroy(f->n, f->batch2);
    sim_native_bo_destroy(f->n, f->batch);
    sim_native_bo_destroy(f->n, f->data);
    sim_native_destroy(f->n);
    sim_gpu_destroy(f->gpu);
    sim_arena_destroy(f->arena);
    free(f);
    return 0;
}

static uint32_t data32(struct fx *f, size_t off)
{
    uint32_t v;

    assert_int_equal(sim_native_bo_read(f->data, off, &v, 4), 0);
    return v;
}

static uint64_t data64(struct fx *f, size_t off)
{
    uint64_t v;

    assert_int_equal(sim_native_bo_read(f->data, off, &v, 8), 0);
    return v;
}

/* Put @cs (ending with MI_BATCH_BUFFER_END) in @bo, run it as a PPGTT batch
 * on @c, return what the wait returned. */
static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000l};

    nanosleep(&ts, NULL);
}

static int run_batch(struct fx *f, struct sim_native_ctx *c, struct sim_native_bo *bo,
                     const uint32_t *cs, size_t n)
{
    uint32_t ring[4];
    size_t k;

    assert_int_equal(sim_native_bo_write(bo, 0, cs, n * 4), 0);
    k = gwl_emit_bb_start(ring, bo->va, true, false);
    k += gwl_emit_noop(ring + k);
    assert_int_equal(sim_native_submit(f->n, c, ring, k), 0);
    return sim_native_wait(f->n, c, WAIT_MS);
}

static void test_mi_commands(void **state)
{
    struct fx *f = *state;
    uint32_t cs[128];
    size_t k = 0;
    uint64_t ts0 = 0, counts[3];
    const uint32_t scratch_reg = GEN9_RCS_BASE + 0x100; /* a plain register */

    (void)ts0;
    k += gwl_emit_noop(cs + k);
    k += gwl_emit_arb_check(cs + k);
    k += gwl_emit_sdi(cs + k, f->data->va + 0, false, 0x11111111);     /* PPGTT */
    k += gwl_emit_sdi(cs + k, f->data->gm + 4, true, 0x22222222);      /* GGTT */
    k += gwl_emit_lri(cs + k, scratch_reg, 0xabcd0123);
    k += gwl_emit_srm(cs + k, scratch_reg, f->data->va + 8, false);
    k += gwl_emit_sdi(cs + k, f->data->va + 12, false, 0x5a5a5a5a);
    k += gwl_emit_lrm(cs + k, scratch_reg + 4, f->data->va + 12, false);
    k += gwl_emit_srm(cs + k, scratch_reg + 4, f->data->gm + 16, true);
    k += gwl_emit_pipe_control(cs + k, f->data->va + 24, false, 0x0123456789abcdefull, false);
    k += gwl_emit_pipe_control(cs + k, f->data->gm + 32, true, 0, true);
    k += gwl_emit_user_interrupt(cs + k);
    /* A semaphore already satisfied: the value stored above. */
    k += gwl_emit_semaphore_wait_eq(cs + k, f->data->va + 0, false, 0x11111111);
    k += gwl_emit_sdi(cs + k, f->data->va + 40, false, 0x77);
    /* A genxml command the model does not execute: 3DSTATE_VF (2 dwords)
     * is length-decoded and skipped. */
    cs[k++] = (3u << 29) | (3u << 27) | (0u << 24) | (0x0cu << 16) | 0;
    cs[k++] = 0xffffffff;
    k += gwl_emit_sdi(cs + k, f->data->va + 44, false, 0x88);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), 0);

    assert_int_equal(data32(f, 0), 0x11111111);
    assert_int_equal(data32(f, 4), 0x22222222);
    assert_int_equal(data32(f, 8), 0xabcd0123);
    assert_int_equal(data32(f, 16), 0x5a5a5a5a);
    assert_int_equal(data64(f, 24), 0x0123456789abcdefull);
    assert_true(data64(f, 32) != 0); /* a timestamp */
    assert_int_equal(data32(f, 40), 0x77);
    assert_int_equal(data32(f, 44), 0x88);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, scratch_reg), 0xabcd0123);
    sim_native_irq_counts(f->n, counts);
    assert_true(counts[0] >= 1); /* user interrupt */
    assert_true(counts[1] >= 2); /* context switches: idle->active, complete */

    /* MI_FLUSH_DW with post-sync write on the blitter. */
    k = 0;
    k += gwl_emit_flush_dw(cs + k, f->data->va + 48, false, 0xf1f1);
    k += gwl_emit_flush_dw(cs + k, f->data->gm + 56, true, 0xf2f2); /* qword aligned */
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch2, cs, k), 0);
    assert_int_equal(data32(f, 48), 0xf1f1);
    assert_int_equal(data32(f, 56), 0xf2f2);
}

static void test_batch_levels(void **state)
{
    struct fx *f = *state;
    uint32_t cs[32], cs2[32];
    size_t k = 0, k2 = 0;

    /* Second-level batch (GGTT) stores, returns; first level continues. */
    k2 += gwl_emit_sdi(cs2 + k2, f->data->va + 0x100, false, 2);
    k2 += gwl_emit_bb_end(cs2 + k2);
    assert_int_equal(sim_native_bo_write(f->batch2, 0, cs2, k2 * 4), 0);
    k += gwl_emit_sdi(cs + k, f->data->va + 0x104, false, 1);
    k += gwl_emit_bb_start(cs + k, f->batch2->gm, false, true);
    k += gwl_emit_sdi(cs + k, f->data->va + 0x108, false, 3);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x100), 2);
    assert_int_equal(data32(f, 0x104), 1);
    assert_int_equal(data32(f, 0x108), 3);

    /* Chained batch (no second-level bit): no return. */
    k = k2 = 0;
    k2 += gwl_emit_sdi(cs2 + k2, f->data->va + 0x110, false, 5);
    k2 += gwl_emit_bb_end(cs2 + k2);
    assert_int_equal(sim_native_bo_write(f->batch2, 0, cs2, k2 * 4), 0);
    k += gwl_emit_bb_start(cs + k, f->batch2->va, true, false);
    k += gwl_emit_sdi(cs + k, f->data->va + 0x114, false, 6); /* never runs */
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x110), 5);
    assert_int_equal(data32(f, 0x114), 0);
}

static void test_blits(void **state)
{
    struct fx *f = *state;
    uint32_t cs[32];
    uint32_t px[64 * 64], bx, by;
    const uint32_t w = 64, h = 64, pitch = 64 * 4;
    size_t k = 0;
    /* data: 16 KiB src at 0, 16 KiB dst at 16 KiB (crossing pages) */
    uint64_t src = f->data->va, dst = f->data->va + 16384;

    gwl_fill_pattern(px, pitch, w, h, 42);
    assert_int_equal(sim_native_bo_write(f->data, 0, px, sizeof(px)), 0);
    k += gwl_emit_src_copy_blt(cs + k, dst, pitch, 0, 0, w, h, src, pitch, 0, 0);
    k += gwl_emit_flush_dw(cs + k, f->data->va + 40000, false, 1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    memset(px, 0, sizeof(px));
    assert_int_equal(sim_native_bo_read(f->data, 16384, px, sizeof(px)), 0);
    assert_int_equal(gwl_check_pattern(px, pitch, w, h, 42, &bx, &by), 0);

    /* Fill a sub-rectangle: only it changes. */
    k = 0;
    k += gwl_emit_color_blt(cs + k, dst, pitch, 8, 4, 40, 20, 0xff00ff00);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    assert_int_equal(sim_native_bo_read(f->data, 16384, px, sizeof(px)), 0);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            bool in = x >= 8 && x < 40 && y >= 4 && y < 20;

            assert_int_equal(px[y * w + x], in ? 0xff00ff00 : gwl_pattern(42, x, y));
        }
    /* Blits are not render commands: on RCS they are an unknown opcode. */
    k = 0;
    k += gwl_emit_color_blt(cs + k, dst, pitch, 0, 0, 1, 1, 0);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), -EIO);
}

/* The fault registers say what the engine, space and address were. */
static void expect_fault(struct fx *f, unsigned engine, bool ggtt, uint64_t addr)
{
    uint32_t reg = f->hg->ops->mmio_read32(f->hg, GEN8_RING_FAULT_REG);
    uint32_t d0 = f->hg->ops->mmio_read32(f->hg, GEN8_FAULT_TLB_DATA0);
    uint32_t d1 = f->hg->ops->mmio_read32(f->hg, GEN8_FAULT_TLB_DATA1);

    assert_true(reg & RING_FAULT_VALID);
    assert_int_equal((reg >> RING_FAULT_ENGINE_SHIFT) & 7, engine);
    assert_int_equal(!!(reg & RING_FAULT_GTTSEL), ggtt);
    assert_int_equal(((uint64_t)(d1 & FAULT_VA_HIGH_BITS) << 44) | ((uint64_t)d0 << 12),
                     addr & ~0xfffull);
    f->hg->ops->mmio_write32(f->hg, GEN8_RING_FAULT_REG, 0);
}

static void test_translation_and_faults(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *c;
    uint32_t cs[16];
    uint64_t counts[3], big, p64;
    size_t k;
    const uint64_t va2m = 0x0000400000000000ull, va64 = 0x0000500000010000ull;
    uint32_t *cpu;

    /* 2 MiB and 64 KiB pages: store at an offset inside each. */
    assert_int_equal(sim_arena_alloc(f->arena, 512, 512, &big), 0);
    assert_int_equal(sim_arena_alloc(f->arena, 16, 16, &p64), 0);
    assert_int_equal(sim_native_ppgtt_map(f->n, va2m, big, 2ull << 20), 0);
    assert_int_equal(sim_native_ppgtt_map(f->n, va64, p64, 64ull << 10), 0);
    k = 0;
    k += gwl_emit_sdi(cs + k, va2m + 0x1ff004, false, 0x2002);
    k += gwl_emit_sdi(cs + k, va64 + 0xf008, false, 0x6464);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), 0);
    cpu = sim_arena_ptr(f->arena, big + 0x1ff004, 4);
    assert_int_equal(*cpu, 0x2002);
    cpu = sim_arena_ptr(f->arena, p64 + 0xf008, 4);
    assert_int_equal(*cpu, 0x6464);

    /* Unmapped PPGTT address: fault, error in the CSB, interrupt. */
    sim_native_irq_counts(f->n, counts);
    k = 0;
    k += gwl_emit_sdi(cs + k, 0x0000600000000000ull, false, 1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), -EIO);
    expect_fault(f, VGT_ENGINE_RCS, false, 0x0000600000000000ull);
    {
        uint64_t after[3];

        /* The CSB is written before the interrupt is delivered (as on
         * hardware): wait for the interrupt, boundedly. */
        for (unsigned i = 0; i < 2000; i++) {
            sim_native_irq_counts(f->n, after);
            if (after[2] > counts[2])
                break;
            sleep_ms(1);
        }
        assert_true(after[2] > counts[2]);
    }
    /* The faulting context's ring stays on the fault: use fresh ones. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);

    /* An entry with reserved bits set is invalid. */
    assert_int_equal(sim_native_ppgtt_set_entry(f->n, 0x0000700000000000ull, GEN8_LVL_PT,
                                                big | GEN8_PTE_PRESENT | (1ull << 50)), 0);
    k = 0;
    k += gwl_emit_sdi(cs + k, 0x0000700000000000ull, false, 1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    expect_fault(f, VGT_ENGINE_RCS, false, 0x0000700000000000ull);
    sim_native_ctx_destroy(f->n, c);

    /* A read-only page is not writable. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    assert_int_equal(sim_native_ppgtt_set_entry(f->n, 0x0000700000001000ull, GEN8_LVL_PT,
                                                big | GEN8_PTE_PRESENT), 0);
    k = 0;
    k += gwl_emit_sdi(cs + k, 0x0000700000001000ull, false, 1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    expect_fault(f, VGT_ENGINE_RCS, false, 0x0000700000001000ull);
    sim_native_ctx_destroy(f->n, c);

    /* Unmapped GGTT address, and a GGTT entry pointing outside memory. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_BCS, 1, &c), 0);
    k = 0;
    k += gwl_emit_flush_dw(cs + k, 0xf0000000ull, true, 1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    expect_fault(f, VGT_ENGINE_BCS, true, 0xf0000000ull);
    sim_native_ctx_destroy(f->n, c);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_BCS, 1, &c), 0);
    assert_int_equal(f->hg->ops->ggtt_write(f->hg, 0xf0001000ull >> 12, 0x1000 | GEN8_PTE_PRESENT), 0);
    k = 0;
    k += gwl_emit_flush_dw(cs + k, 0xf0001000ull, true, 1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    expect_fault(f, VGT_ENGINE_BCS, true, 0xf0001000ull);
    sim_native_ctx_destroy(f->n, c);

    /* GGTT through MMIO (BAR0 + 8 MiB) is the same table. */
    f->hg->ops->mmio_write32(f->hg, GEN9_GGTT_OFFSET + 8 * 5, 0x12345001);
    f->hg->ops->mmio_write32(f->hg, GEN9_GGTT_OFFSET + 8 * 5 + 4, 0x7f);
    {
        uint64_t pte;

        assert_int_equal(f->hg->ops->ggtt_read(f->hg, 5, &pte), 0);
        assert_int_equal(pte, 0x7f12345001ull);
    }
    /* Other engines were not disturbed: the RCS context still works. */
    k = 0;
    k += gwl_emit_sdi(cs + k, f->data->va + 0x200, false, 9);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x200), 9);
    sim_native_ctx_destroy(f->n, c);
}

/* --- CSB sequencing ----------------------------------------------------- */

struct csb_reader {
    uint32_t base;
    unsigned head;
};

static void csb_start(struct fx *f, struct csb_reader *r, uint32_t base)
{
    r->base = base;
    r->head = f->hg->ops->mmio_read32(f->hg, base + RING_CONTEXT_STATUS_PTR) & 7;
}

/* Collect @want new CSB entries (polling the write pointer). */
static void csb_collect(struct fx *f, struct csb_reader *r, uint64_t *ent, unsigned want)
{
    unsigned got = 0;
    uint64_t t0 = vgt_now_ns();

    while (got < want) {
        unsigned wp = f->hg->ops->mmio_read32(f->hg, r->base + RING_CONTEXT_STATUS_PTR) & 7;

        while (r->head != wp && got < want) {
            r->head = (r->head + 1) % GEN8_CSB_ENTRIES;
            ent[got++] = (uint64_t)f->hg->ops->mmio_read32(f->hg, r->base + RING_CONTEXT_STATUS_BUF_HI(r->head)) << 32 |
                         f->hg->ops->mmio_read32(f->hg, r->base + RING_CONTEXT_STATUS_BUF_LO(r->head));
        }
        assert_true(vgt_now_ns() - t0 < 5000000000ull);
    }
}

static void elsp(struct fx *f, uint32_t base, uint64_t d0, uint64_t d1)
{
    f->hg->ops->mmio_write32(f->hg, base + RING_ELSP, (uint32_t)(d1 >> 32));
    f->hg->ops->mmio_write32(f->hg, base + RING_ELSP, (uint32_t)d1);
    f->hg->ops->mmio_write32(f->hg, base + RING_ELSP, (uint32_t)(d0 >> 32));
    f->hg->ops->mmio_write32(f->hg, base + RING_ELSP, (uint32_t)d0);
}

static void test_elsp_two_contexts(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *c2;
    struct csb_reader r;
    uint64_t ent[3];
    uint32_t ring[8];
    size_t k;
    uint32_t id0 = (uint32_t)(sim_native_ctx_desc(f->rcs) >> 32);
    uint32_t id1;

    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c2), 0);
    id1 = (uint32_t)(sim_native_ctx_desc(c2) >> 32);
    csb_start(f, &r, GEN9_RCS_BASE);
    k = gwl_emit_sdi(ring, f->data->gm + 0x300, true, 0xc0);
    assert_int_equal(sim_native_ring_append(f->n, f->rcs, ring, k), 0);
    k = gwl_emit_sdi(ring, f->data->gm + 0x304, true, 0xc1);
    assert_int_equal(sim_native_ring_append(f->n, c2, ring, k), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(f->rcs), sim_native_ctx_desc(c2));
    csb_collect(f, &r, ent, 3);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_IDLE_ACTIVE);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ELEMENT_SWITCH);
    assert_int_equal(ent[1] >> 32, id0);
    assert_int_equal((uint32_t)ent[2], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(ent[2] >> 32, id1);
    assert_int_equal(data32(f, 0x300), 0xc0);
    assert_int_equal(data32(f, 0x304), 0xc1);
    /* HEAD was saved into both images (= TAIL). */
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN9_RCS_BASE + RING_HEAD),
                     f->hg->ops->mmio_read32(f->hg, GEN9_RCS_BASE + RING_TAIL));
    /* The HWSP copy of the CSB matches the MMIO one. */
    {
        uint64_t hws_gm = f->hg->ops->mmio_read32(f->hg, GEN9_RCS_BASE + RING_HWS_PGA), hpa;
        uint32_t *hws;

        assert_int_equal(sim_gpu_ggtt_translate(f->gpu, hws_gm, &hpa), 0);
        hws = sim_arena_ptr(f->arena, hpa, 4096);
        assert_int_equal(hws[I915_HWS_CSB_WRITE_INDEX], r.head);
        assert_int_equal(hws[I915_HWS_CSB_BUF0_INDEX + 2 * r.head], (uint32_t)ent[2]);
    }

    /* Preemption: a context waiting on a semaphore in its ring yields to a
     * new submission, then resumes where it was when resubmitted. */
    k = 0;
    k += gwl_emit_semaphore_wait_eq(ring + k, f->data->gm + 0x310, true, 1);
    k += gwl_emit_sdi(ring + k, f->data->gm + 0x314, true, 0xaa);
    assert_int_equal(sim_native_ring_append(f->n, f->rcs, ring, k), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(f->rcs), 0);
    csb_collect(f, &r, ent, 1);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_IDLE_ACTIVE);
    k = gwl_emit_sdi(ring, f->data->gm + 0x318, true, 0xbb);
    assert_int_equal(sim_native_ring_append(f->n, c2, ring, k), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(c2), 0);
    csb_collect(f, &r, ent, 2);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_PREEMPTED);
    assert_int_equal(ent[0] >> 32, id0);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(ent[1] >> 32, id1);
    assert_int_equal(data32(f, 0x318), 0xbb);
    assert_int_equal(data32(f, 0x314), 0);
    {
        uint32_t one = 1;

        assert_int_equal(sim_native_bo_write(f->data, 0x310, &one, 4), 0);
    }
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(f->rcs), 0);
    csb_collect(f, &r, ent, 2);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_IDLE_ACTIVE);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(data32(f, 0x314), 0xaa);
    /* The CSB read pointer is software's: a masked write moves it. */
    f->hg->ops->mmio_write32(f->hg, GEN9_RCS_BASE + RING_CONTEXT_STATUS_PTR,
                             (GEN8_CSB_READ_PTR_MASK << 16) | (r.head << 8));
    assert_int_equal((f->hg->ops->mmio_read32(f->hg, GEN9_RCS_BASE + RING_CONTEXT_STATUS_PTR) >> 8) & 7,
                     r.head);
    sim_native_ctx_destroy(f->n, c2);
}

/* --- interrupts -------------------------------------------------------- */

/* Run a BCS batch while interrupts are off: poll for completion. */
static int run_batch_nowait_irq(struct fx *f, const uint32_t *cs, size_t n)
{
    uint32_t ring[4];
    size_t k;
    uint64_t t0 = vgt_now_ns();
    int ret;

    assert_int_equal(sim_native_bo_write(f->batch, 0, cs, n * 4), 0);
    k = gwl_emit_bb_start(ring, f->batch->va, true, false);
    k += gwl_emit_noop(ring + k);
    assert_int_equal(sim_native_submit(f->n, f->bcs, ring, k), 0);
    while ((ret = sim_native_wait(f->n, f->bcs, 0)) == -ETIMEDOUT) {
        struct timespec ts = {0, 100000};

        assert_true(vgt_now_ns() - t0 < 5000000000ull);
        nanosleep(&ts, NULL);
    }
    return ret;
}

static void test_interrupts(void **state)
{
    struct fx *f = *state;
    uint32_t cs[8];
    uint64_t before[3], after[3];
    size_t k = 0;

    k += gwl_emit_user_interrupt(cs + k);
    k += gwl_emit_bb_end(cs + k);
    /* Enabled (the native driver's set-up): delivered, IIR latched. */
    f->hg->ops->mmio_write32(f->hg, GEN8_GT_IIR(0), ~0u);
    sim_native_irq_counts(f->n, before);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    sim_native_irq_counts(f->n, after);
    assert_true(after[0] > before[0]);
    assert_true(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IIR(0)) &
                (GT_RENDER_USER_INTERRUPT << GEN8_BCS_IRQ_SHIFT));
    assert_true(f->hg->ops->mmio_read32(f->hg, GEN8_MASTER_IRQ) & GEN8_GT_BCS_IRQ);
    /* IIR is write-1-to-clear. */
    f->hg->ops->mmio_write32(f->hg, GEN8_GT_IIR(0), ~0u);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IIR(0)), 0);
    /* Masked user interrupt: latched in IIR, not delivered. */
    {
        uint32_t imr = f->hg->ops->mmio_read32(f->hg, GEN8_GT_IMR(0));

        f->hg->ops->mmio_write32(f->hg, GEN8_GT_IMR(0), imr | (GT_RENDER_USER_INTERRUPT << GEN8_BCS_IRQ_SHIFT));
        sim_native_irq_counts(f->n, before);
        assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
        sim_native_irq_counts(f->n, after);
        assert_int_equal(after[0], before[0]);
        assert_true(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IIR(0)) &
                    (GT_RENDER_USER_INTERRUPT << GEN8_BCS_IRQ_SHIFT));
        /* Unmasking the latched event delivers it (level-triggered). */
        f->hg->ops->mmio_write32(f->hg, GEN8_GT_IMR(0), imr);
        sim_native_irq_counts(f->n, after);
        assert_int_equal(after[0], before[0] + 1);
    }
    /* Master control off: nothing delivered; on again: the pending
     * events are. */
    f->hg->ops->mmio_write32(f->hg, GEN8_GT_IIR(0), ~0u);
    f->hg->ops->mmio_write32(f->hg, GEN8_MASTER_IRQ, 0);
    sim_native_irq_counts(f->n, before);
    assert_int_equal(run_batch_nowait_irq(f, cs, k), 0);
    sim_native_irq_counts(f->n, after);
    assert_int_equal(after[0], before[0]);
    f->hg->ops->mmio_write32(f->hg, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    sim_native_irq_counts(f->n, after);
    assert_int_equal(after[0], before[0] + 1);
}

/* --- bad streams ------------------------------------------------------- */

static void test_bad_streams(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *c;
    uint32_t cs[32], cs2[8];
    size_t k;

    /* Unknown opcode in a batch. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    k = 0;
    cs[k++] = 0x3fu << 23; /* MI opcode 0x3f: not defined */
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    sim_native_ctx_destroy(f->n, c);

    /* Recursion past the second level. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    k = 0;
    k += gwl_emit_bb_start(cs2 + k, f->batch2->va, true, true); /* itself, second level */
    k += gwl_emit_bb_end(cs2 + k);
    assert_int_equal(sim_native_bo_write(f->batch2, 0, cs2, k * 4), 0);
    k = 0;
    k += gwl_emit_bb_start(cs + k, f->batch2->va, true, true);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    sim_native_ctx_destroy(f->n, c);

    /* A batch that chains to itself for ever: the budget ends it. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    k = 0;
    k += gwl_emit_bb_start(cs + k, f->batch->va, true, false);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), -EIO);
    sim_native_ctx_destroy(f->n, c);

    /* Missing end: the batch (all MI_NOOP) runs off its page into the
     * next, unmapped, and faults. The buffer is the last one allocated, so
     * the GGTT page after it is empty. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    {
        struct sim_native_bo *last;
        uint32_t ring[4];

        assert_int_equal(sim_native_bo_create(f->n, 4096, &last), 0);
        k = gwl_emit_bb_start(ring, last->gm, false, false);
        k += gwl_emit_noop(ring + k);
        assert_int_equal(sim_native_submit(f->n, c, ring, k), 0);
        assert_int_equal(sim_native_wait(f->n, c, WAIT_MS), -EIO);
        expect_fault(f, VGT_ENGINE_RCS, true, last->gm + 4096);
        sim_native_bo_destroy(f->n, last);
    }
    sim_native_ctx_destroy(f->n, c);

    /* Truncated: a command whose length runs past the ring tail. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    {
        uint32_t ring[2] = {(0x20u << 23) | 2, 0}; /* SDI needs 4 dwords */

        assert_int_equal(sim_native_submit(f->n, c, ring, 2), 0);
        assert_int_equal(sim_native_wait(f->n, c, WAIT_MS), -EIO);
    }
    sim_native_ctx_destroy(f->n, c);

    /* A context with a bad descriptor (LRCA not mapped) errors, the engine
     * goes on. */
    {
        struct csb_reader r;
        uint64_t ent[2];

        csb_start(f, &r, GEN9_BCS_BASE);
        elsp(f, GEN9_BCS_BASE, GEN8_CTX_VALID | (3u << 3) | 0xe0000000ull | (77ull << 32), 0);
        csb_collect(f, &r, ent, 2);
        assert_true((uint32_t)ent[1] & VGT_CTX_STATUS_ERROR);
        assert_int_equal(ent[1] >> 32, 77);
    }
    /* The engines still work. */
    k = 0;
    k += gwl_emit_sdi(cs + k, f->data->va + 0x400, false, 0x600d);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    assert_int_equal(run_batch(f, c, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x400), 0x600d);
    sim_native_ctx_destroy(f->n, c);
}

static void test_display(void **state)
{
    struct fx *f = *state;
    uint32_t px[16 * 8], out[16 * 8], bx, by;
    unsigned w, h;

    gwl_fill_pattern(px, 16 * 4, 16, 8, 3);
    assert_int_equal(sim_native_bo_write(f->data, 0, px, sizeof(px)), 0);
    assert_int_equal(sim_gpu_plane_read(f->gpu, out, 64, 16, 8, &w, &h), -ENODEV);
    f->hg->ops->mmio_write32(f->hg, PLANE_SURF_1_A, (uint32_t)f->data->gm);
    f->hg->ops->mmio_write32(f->hg, PLANE_STRIDE_1_A, 1); /* 64 bytes */
    f->hg->ops->mmio_write32(f->hg, PLANE_SIZE_1_A, (7u << 16) | 15u);
    f->hg->ops->mmio_write32(f->hg, PLANE_CTL_1_A, PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888);
    assert_int_equal(sim_gpu_plane_read(f->gpu, out, 64, 16, 8, &w, &h), 0);
    assert_int_equal(w, 16);
    assert_int_equal(h, 8);
    assert_int_equal(gwl_check_pattern(out, 64, 16, 8, 3, &bx, &by), 0);
    f->hg->ops->mmio_write32(f->hg, PLANE_SURF_1_A, 0xf0000000u); /* unmapped */
    assert_int_equal(sim_gpu_plane_read(f->gpu, out, 64, 16, 8, &w, &h), -EFAULT);
}

static void test_cost_model(void **state)
{
    struct fx *f = *state;
    uint32_t cs[16];
    size_t k = 0;
    uint64_t t0, fast, slow;

    /* 64 KiB fill: at 2000 ns/byte it must take >= ~131 ms. */
    k += gwl_emit_color_blt(cs + k, f->data->va, 1024, 0, 0, 256, 64, 0x1);
    k += gwl_emit_bb_end(cs + k);
    t0 = vgt_now_ns();
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    fast = vgt_now_ns() - t0;
    sim_gpu_set_ns_per_byte(f->gpu, 2000);
    t0 = vgt_now_ns();
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    slow = vgt_now_ns() - t0;
    sim_gpu_set_ns_per_byte(f->gpu, 0);
    assert_true(slow >= 120000000ull);
    assert_true(slow > fast);
}

static void test_native_workloads(void **state)
{
    struct fx *f = *state;
    struct sim_native_result res;
    struct sim_native_run_cfg cfg = {.seconds = 10, .max_iters = 20, .blit_w = 100, .blit_h = 50};

    for (int w = SIM_WL_BLIT; w <= SIM_WL_MIXED; w++) {
        cfg.workload = (enum sim_native_workload)w;
        assert_int_equal(sim_native_run(f->n, &cfg, &res), 0);
        assert_int_equal(res.failures, 0);
        assert_true(res.submissions >= 20);
    }
}

/* sim_gpu_reset: refused while a driver holds the interrupt line; after
 * the driver is gone the GPU is as created (registers, GGTT, CSB pointer,
 * counters, leaked pages back in the arena) and runs a new driver's work. */
static void test_reset(void **state)
{
    struct fx *f = *state;
    const uint32_t scratch_reg = GEN9_RCS_BASE + 0x100;
    struct sim_gpu_engine_stats st;
    uint32_t cs[16];
    uint64_t pte, dma, free_before;
    static uint64_t run[1100];
    static uint32_t ref[GEN9_MMIO_SIZE / 4096];
    unsigned plain = 0;
    void *va;
    size_t k = 0;

    k += gwl_emit_lri(cs + k, scratch_reg, 0xabcd0123);
    k += gwl_emit_sdi(cs + k, f->data->va, false, 0x1234);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), 0);
    assert_int_equal(sim_gpu_reset(f->gpu), -EBUSY); /* the driver is up */

    sim_native_bo_destroy(f->n, f->batch2);
    sim_native_bo_destroy(f->n, f->batch);
    sim_native_bo_destroy(f->n, f->data);
    sim_native_destroy(f->n);
    f->n = NULL;
    f->batch = f->batch2 = f->data = NULL;
    /* A page its user never frees, and a GGTT entry nobody clears. */
    free_before = sim_arena_frames_free(f->arena);
    assert_int_equal(f->hg->ops->alloc_page(f->hg, &dma, &va), 0);
    assert_int_equal(f->hg->ops->ggtt_write(f->hg, 12345, dma | GEN8_PTE_PRESENT), 0);
    /* A run across a 512-entry GGTT page (the reset clears what the
     * dirty bits name: every page of the run must be named). */
    for (unsigned i = 0; i < 1100; i++)
        run[i] = dma | GEN8_PTE_PRESENT | ((uint64_t)i << 32);
    assert_int_equal(f->hg->ops->ggtt_write_run(f->hg, 40000, 1100, run), 0);
    for (unsigned i = 0; i < 1100; i += 77) {
        assert_int_equal(f->hg->ops->ggtt_read(f->hg, 40000 + i, &pte), 0);
        assert_int_equal(pte, run[i]);
    }
    assert_int_equal(f->hg->ops->ggtt_write_run(f->hg, (f->hg->gm_size >> 12) - 2, 3, run), -EINVAL);
    assert_int_equal(f->hg->ops->ggtt_read(f->hg, (f->hg->gm_size >> 12) - 2, &pte), 0);
    assert_int_equal(pte, 0); /* a refused run writes nothing */
    assert_int_equal(sim_gpu_reset(f->gpu), 0);
    for (unsigned i = 0; i < 1100; i++) {
        assert_int_equal(f->hg->ops->ggtt_read(f->hg, 40000 + i, &pte), 0);
        assert_int_equal(pte, 0);
    }

    assert_int_equal(sim_arena_frames_free(f->arena), free_before);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, scratch_reg), 0);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IMR(0)), ~0u);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN9_RCS_BASE + RING_IMR), ~0u);
    assert_int_equal(f->hg->ops->ggtt_read(f->hg, 12345, &pte), 0);
    assert_int_equal(pte, 0);
    sim_gpu_engine_stats(f->gpu, VGT_ENGINE_RCS, &st);
    assert_int_equal(st.contexts_done, 0);
    assert_int_equal(st.commands, 0);
    /* The register file's pages are dropped at reset (regs_zero): the last
     * dword of every 4 KiB page that holds what is written (no handler)
     * is back to its value after a reset. */
    for (uint32_t p = 0; p < GEN9_MMIO_SIZE / 4096; p++)
        ref[p] = f->hg->ops->mmio_read32(f->hg, p * 4096 + 0xffc);
    for (uint32_t p = 0; p < GEN9_MMIO_SIZE / 4096; p++) {
        f->hg->ops->mmio_write32(f->hg, p * 4096 + 0xffc, 0xa5a50000u | p);
        plain += f->hg->ops->mmio_read32(f->hg, p * 4096 + 0xffc) == (0xa5a50000u | p);
    }
    assert_true(plain > 400);
    assert_int_equal(sim_gpu_reset(f->gpu), 0);
    for (uint32_t p = 0; p < GEN9_MMIO_SIZE / 4096; p++)
        assert_int_equal(f->hg->ops->mmio_read32(f->hg, p * 4096 + 0xffc), ref[p]);

    /* A new driver brings the GPU up again and its work runs. */
    assert_int_equal(sim_native_create(f->hg, &f->log, NULL, &f->n), 0);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 2, &f->rcs), 0);
    assert_int_equal(sim_native_bo_create(f->n, 64 * 1024, &f->data), 0);
    assert_int_equal(sim_native_bo_create(f->n, 4096, &f->batch), 0);
    assert_int_equal(sim_native_bo_create(f->n, 4096, &f->batch2), 0);
    k = 0;
    k += gwl_emit_sdi(cs + k, f->data->va, false, 0x5678);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->rcs, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0), 0x5678);
}


/* --- long workloads, reset, preemption, context state ---------------------- */

static int setup_no_limit(void **state)
{
    /* Hardware behaviour: loops and semaphore waits never give up. */
    const struct sim_gpu_config cfg = {.cmd_budget = SIM_GPU_NO_LIMIT,
                                       .semaphore_timeout_ms = SIM_GPU_NO_LIMIT};

    return setup_cfg(state, &cfg);
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t rd(struct fx *f, uint32_t off)
{
    return f->hg->ops->mmio_read32(f->hg, off);
}

static void wr(struct fx *f, uint32_t off, uint32_t val)
{
    f->hg->ops->mmio_write32(f->hg, off, val);
}

/* Poll @off until (value & mask) == want; false after @ms. */
static bool poll_reg(struct fx *f, uint32_t off, uint32_t mask, uint32_t want, unsigned ms)
{
    uint64_t end = vgt_now_ns() + ms * 1000000ull;

    while ((rd(f, off) & mask) != want)
        if (vgt_now_ns() > end)
            return false;
    return true;
}

/* i915's Gen9 engine reset (intel_reset.c gen8_engine_reset_prepare,
 * gen6_hw_domain_reset, gen8_engine_reset_cancel), then execlists on
 * again (execlists_resume). Returns how long the engine took to become
 * ready, in ms. */
static uint64_t engine_reset(struct fx *f, uint32_t base, uint32_t domain)
{
    uint64_t t0 = vgt_now_ns(), ready;

    wr(f, base + RING_RESET_CTL, GEN9_MASKED_ENABLE(RESET_CTL_REQUEST_RESET));
    assert_true(poll_reg(f, base + RING_RESET_CTL, RESET_CTL_READY_TO_RESET,
                         RESET_CTL_READY_TO_RESET, 1000));
    ready = (vgt_now_ns() - t0) / 1000000ull;
    wr(f, GEN6_GDRST, domain);
    assert_true(poll_reg(f, GEN6_GDRST, domain, 0, 1000));
    wr(f, base + RING_RESET_CTL, GEN9_MASKED_DISABLE(RESET_CTL_REQUEST_RESET));
    assert_int_equal(rd(f, base + RING_MODE_GEN7) & GFX_RUN_LIST_ENABLE, 0);
    wr(f, base + RING_MODE_GEN7, GEN9_MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
    return ready;
}

static bool engine_busy(struct fx *f, uint32_t base)
{
    return rd(f, base + RING_EXECLIST_STATUS_LO) & (1u << 4);
}

/* A wait on memory that never changes and a batch that loops for ever
 * really hold their engine (asleep, not spinning a core) until an engine
 * reset stops them; a long fill stops mid-command; the engine then runs
 * new work. */
static void test_hang_and_engine_reset(void **state)
{
    struct fx *f = *state;
    struct sim_gpu_engine_stats st;
    struct csb_reader r;
    struct sim_native_ctx *c;
    uint32_t ring[16], cs[16];
    uint64_t ent[2], c0, w0;
    size_t k;

    /* RCS: MI_SEMAPHORE_WAIT on a dword nobody writes. */
    csb_start(f, &r, GEN9_RCS_BASE);
    k = gwl_emit_semaphore_wait_eq(ring, f->data->gm + 0x500, true, 1);
    assert_int_equal(sim_native_ring_append(f->n, f->rcs, ring, k), 0);
    c0 = cpu_ns();
    w0 = vgt_now_ns();
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(f->rcs), 0);
    csb_collect(f, &r, ent, 1);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_IDLE_ACTIVE);
    sleep_ms(300);
    assert_true(engine_busy(f, GEN9_RCS_BASE));
    assert_int_equal(rd(f, GEN9_RCS_BASE + RING_CONTEXT_STATUS_PTR) & 7, r.head);
    /* Asleep between polls: well under a tenth of a core. */
    assert_true((cpu_ns() - c0) * 10 < vgt_now_ns() - w0);
    engine_reset(f, GEN9_RCS_BASE, GEN6_GRDOM_RENDER);
    assert_false(engine_busy(f, GEN9_RCS_BASE));
    sim_gpu_engine_stats(f->gpu, VGT_ENGINE_RCS, &st);
    assert_int_equal(st.resets, 1);
    assert_int_equal(st.contexts_done, 0); /* no completion for it */
    /* The CSB pointers are back at reset (write pointer 5) and a fresh
     * context runs. */
    assert_int_equal(rd(f, GEN9_RCS_BASE + RING_CONTEXT_STATUS_PTR) & 7, GEN8_CSB_ENTRIES - 1);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c), 0);
    csb_start(f, &r, GEN9_RCS_BASE);
    k = gwl_emit_sdi(ring, f->data->gm + 0x504, true, 0x5a5a);
    assert_int_equal(sim_native_ring_append(f->n, c, ring, k), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(c), 0);
    csb_collect(f, &r, ent, 2);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(data32(f, 0x504), 0x5a5a);
    sim_native_ctx_destroy(f->n, c);

    /* BCS: a second-level batch that chains to itself with no arbitration
     * point. A new ELSP write cannot preempt it; a reset stops it. */
    k = 0;
    k += gwl_emit_bb_start(cs + k, f->batch2->va, true, false); /* itself */
    assert_int_equal(sim_native_bo_write(f->batch2, 0, cs, k * 4), 0);
    k = 0;
    k += gwl_emit_bb_start(cs + k, f->batch2->va, true, true);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(sim_native_bo_write(f->batch, 0, cs, k * 4), 0);
    csb_start(f, &r, GEN9_BCS_BASE);
    k = gwl_emit_bb_start(ring, f->batch->va, true, false);
    k += gwl_emit_noop(ring + k);
    assert_int_equal(sim_native_ring_append(f->n, f->bcs, ring, k), 0);
    c0 = cpu_ns();
    w0 = vgt_now_ns();
    elsp(f, GEN9_BCS_BASE, sim_native_ctx_desc(f->bcs), 0);
    csb_collect(f, &r, ent, 1);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_BCS, 1, &c), 0);
    k = gwl_emit_sdi(ring, f->data->gm + 0x508, true, 1);
    assert_int_equal(sim_native_ring_append(f->n, c, ring, k), 0);
    elsp(f, GEN9_BCS_BASE, sim_native_ctx_desc(c), 0);
    sleep_ms(200);
    assert_int_equal(rd(f, GEN9_BCS_BASE + RING_CONTEXT_STATUS_PTR) & 7, r.head); /* no preemption */
    assert_true(engine_busy(f, GEN9_BCS_BASE));
    /* 1 us per batch start, slept: well under half a core. */
    assert_true((cpu_ns() - c0) * 2 < vgt_now_ns() - w0);
    engine_reset(f, GEN9_BCS_BASE, GEN6_GRDOM_BLT);
    assert_false(engine_busy(f, GEN9_BCS_BASE));
    assert_int_equal(data32(f, 0x508), 0); /* the pending submission went with the reset */

    /* A fill that takes ~260 ms at 4000 ns/byte stops within the reset. */
    sim_gpu_set_ns_per_byte(f->gpu, 4000);
    k = gwl_emit_color_blt(cs, f->data->va, 1024, 0, 0, 256, 64, 0x77777777);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(sim_native_bo_write(f->batch, 0, cs, k * 4), 0);
    csb_start(f, &r, GEN9_BCS_BASE);
    k = gwl_emit_bb_start(ring, f->batch->va, true, false);
    k += gwl_emit_noop(ring + k);
    assert_int_equal(sim_native_ring_append(f->n, c, ring, k), 0);
    elsp(f, GEN9_BCS_BASE, sim_native_ctx_desc(c), 0);
    csb_collect(f, &r, ent, 1);
    sleep_ms(30);
    w0 = vgt_now_ns();
    engine_reset(f, GEN9_BCS_BASE, GEN6_GRDOM_BLT);
    assert_true(vgt_now_ns() - w0 < 50000000ull);
    sim_gpu_set_ns_per_byte(f->gpu, 0);
    assert_int_equal(data32(f, 0), 0x77777777);           /* it had started */
    assert_int_not_equal(data32(f, 63 * 1024), 0x77777777); /* and not finished */
    sim_gpu_engine_stats(f->gpu, VGT_ENGINE_BCS, &st);
    assert_int_equal(st.resets, 2);
    sim_native_ctx_destroy(f->n, c);
    /* Reset while idle completes at once; GRDOM_FULL resets every engine. */
    wr(f, GEN6_GDRST, GEN6_GRDOM_FULL);
    assert_true(poll_reg(f, GEN6_GDRST, 0x1f, 0, 1000));
    sim_gpu_engine_stats(f->gpu, VGT_ENGINE_VCS, &st);
    assert_int_equal(st.resets, 1);
}

/* ELSP preemption inside a batch: at MI_ARB_CHECK of a batch that loops
 * for ever, and in a semaphore wait inside a batch, which then resumes
 * where it was (not from the start of the batch) when resubmitted. */
static void test_preempt_in_batch(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *vcs, *vcs2, *c2;
    struct csb_reader r;
    uint32_t ring[16], cs[32];
    uint64_t ent[3];
    size_t k;
    uint32_t one = 1, zero = 0;

    /* VCS: MI_ARB_CHECK; MI_BATCH_BUFFER_START itself, for ever. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_VCS, 1, &vcs), 0);
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_VCS, 1, &vcs2), 0);
    k = gwl_emit_arb_check(cs);
    k += gwl_emit_bb_start(cs + k, f->batch2->va, true, false);
    assert_int_equal(sim_native_bo_write(f->batch2, 0, cs, k * 4), 0);
    csb_start(f, &r, GEN9_VCS_BASE);
    k = gwl_emit_bb_start(ring, f->batch2->va, true, false);
    k += gwl_emit_noop(ring + k);
    assert_int_equal(sim_native_ring_append(f->n, vcs, ring, k), 0);
    elsp(f, GEN9_VCS_BASE, sim_native_ctx_desc(vcs), 0);
    csb_collect(f, &r, ent, 1);
    sleep_ms(50);
    assert_true(engine_busy(f, GEN9_VCS_BASE));
    k = gwl_emit_sdi(ring, f->data->gm + 0x600, true, 0x77);
    assert_int_equal(sim_native_ring_append(f->n, vcs2, ring, k), 0);
    elsp(f, GEN9_VCS_BASE, sim_native_ctx_desc(vcs2), 0);
    csb_collect(f, &r, ent, 2);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_PREEMPTED);
    assert_int_equal(ent[0] >> 32, sim_native_ctx_desc(vcs) >> 32);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(data32(f, 0x600), 0x77);
    sim_native_ctx_destroy(f->n, vcs2);
    sim_native_ctx_destroy(f->n, vcs);

    /* RCS: store, wait (in the batch), store. Preempted in the wait. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_RCS, 1, &c2), 0);
    k = 0;
    k += gwl_emit_sdi(cs + k, f->data->va + 0x610, false, 0x11);
    k += gwl_emit_semaphore_wait_eq(cs + k, f->data->va + 0x614, false, 1);
    k += gwl_emit_sdi(cs + k, f->data->va + 0x618, false, 0x22);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(sim_native_bo_write(f->batch, 0, cs, k * 4), 0);
    csb_start(f, &r, GEN9_RCS_BASE);
    k = gwl_emit_bb_start(ring, f->batch->va, true, false);
    k += gwl_emit_sdi(ring + k, f->data->gm + 0x61c, true, 0x33);
    assert_int_equal(sim_native_ring_append(f->n, f->rcs, ring, k), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(f->rcs), 0);
    csb_collect(f, &r, ent, 1);
    /* Preempt only once the engine is in the wait (the first store has
     * landed): on a loaded machine the engine may not have got there yet. */
    for (unsigned i = 0; i < 5000 && data32(f, 0x610) != 0x11; i++)
        sleep_ms(1);
    assert_true(engine_busy(f, GEN9_RCS_BASE));
    k = gwl_emit_sdi(ring, f->data->gm + 0x620, true, 0x44);
    assert_int_equal(sim_native_ring_append(f->n, c2, ring, k), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(c2), 0);
    csb_collect(f, &r, ent, 2);
    assert_int_equal((uint32_t)ent[0], GEN8_CTX_STATUS_PREEMPTED);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(data32(f, 0x610), 0x11);
    assert_int_equal(data32(f, 0x618), 0);
    assert_int_equal(data32(f, 0x620), 0x44);
    /* Release the wait and clear the first store: the resumed batch must
     * not run it again. */
    assert_int_equal(sim_native_bo_write(f->data, 0x610, &zero, 4), 0);
    assert_int_equal(sim_native_bo_write(f->data, 0x614, &one, 4), 0);
    elsp(f, GEN9_RCS_BASE, sim_native_ctx_desc(f->rcs), 0);
    csb_collect(f, &r, ent, 2);
    assert_int_equal((uint32_t)ent[1], GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE);
    assert_int_equal(data32(f, 0x610), 0);
    assert_int_equal(data32(f, 0x618), 0x22);
    assert_int_equal(data32(f, 0x61c), 0x33);
    sim_native_ctx_destroy(f->n, c2);
}

/* The registers a context image holds are per context: another (fresh)
 * context reads their reset values, the first reads its own back. */
static void test_context_registers(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *b2;
    const uint32_t gpr = GEN9_BCS_BASE + 0x600 + 4 * 5, swctrl = GEN9_BCS_BASE + 0x200;
    uint32_t cs[32];
    size_t k;

    k = 0;
    k += gwl_emit_lri(cs + k, gpr, 0xa0a0a0a0);
    k += gwl_emit_lri(cs + k, swctrl, 0x5);
    k += gwl_emit_srm(cs + k, gpr, f->data->va + 0x700, false);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x700), 0xa0a0a0a0);

    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_BCS, 1, &b2), 0);
    k = 0;
    k += gwl_emit_srm(cs + k, gpr, f->data->va + 0x704, false);
    k += gwl_emit_srm(cs + k, swctrl, f->data->va + 0x708, false);
    k += gwl_emit_lri(cs + k, gpr, 0xb1b1b1b1);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(sim_native_bo_write(f->data, 0x704, (uint32_t[]){~0u, ~0u}, 8), 0);
    assert_int_equal(run_batch(f, b2, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x704), 0);
    assert_int_equal(data32(f, 0x708), 0);

    k = 0;
    k += gwl_emit_srm(cs + k, gpr, f->data->va + 0x70c, false);
    k += gwl_emit_srm(cs + k, swctrl, f->data->va + 0x710, false);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    assert_int_equal(data32(f, 0x70c), 0xa0a0a0a0);
    assert_int_equal(data32(f, 0x710), 0x5);
    sim_native_ctx_destroy(f->n, b2);
}

/* RING_CTX_TIMESTAMP (base + 0x3a8, 12 MHz) counts the time its context
 * held the engine, and only that: a 48 KiB fill at 200 ns a byte adds its
 * modelled 9.8 ms; the 50 ms the context spends switched out add nothing
 * (the value is saved into the image and restored with it); another
 * context counts its own time from its own image. */
static void test_context_timestamp(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *b2;
    const uint32_t ts = GEN9_BCS_BASE + 0x3a8;
    const uint64_t fill_ns = 256ull * 48 * 4 * 200, slack_ticks = 2 * 12000; /* 2 ms */
    const uint64_t fill_ticks = fill_ns * 12 / 1000;
    uint32_t cs[32], t0, t1, t2;
    size_t k = 0;

    sim_gpu_set_ns_per_byte(f->gpu, 200);
    k += gwl_emit_srm(cs + k, ts, f->data->va + 0x800, false);
    k += gwl_emit_color_blt(cs + k, f->data->va + 0x1000, 1024, 0, 0, 256, 48, 0x1);
    k += gwl_emit_srm(cs + k, ts, f->data->va + 0x804, false);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    t0 = data32(f, 0x800);
    t1 = data32(f, 0x804);
    if (t1 - t0 < fill_ticks * 99 / 100 || t1 - t0 > fill_ticks + slack_ticks)
        fail_msg("a %.1f ms fill moved CTX_TIMESTAMP by %u ticks, want %llu", fill_ns / 1e6, t1 - t0,
                 (unsigned long long)fill_ticks);
    sleep_ms(50);
    k = gwl_emit_srm(cs, ts, f->data->va + 0x808, false);
    k += gwl_emit_bb_end(cs + k);
    assert_int_equal(run_batch(f, f->bcs, f->batch, cs, k), 0);
    t2 = data32(f, 0x808);
    if (t2 - t1 > slack_ticks)
        fail_msg("switched out for 50 ms, CTX_TIMESTAMP moved %u ticks", t2 - t1);

    /* Another context: its own count, from its own (zeroed) image. */
    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_BCS, 1, &b2), 0);
    assert_int_equal(run_batch(f, b2, f->batch, cs, k), 0);
    assert_true(data32(f, 0x808) < slack_ticks);
    sim_native_ctx_destroy(f->n, b2);
    sim_gpu_set_ns_per_byte(f->gpu, 0);
}

/* ns_per_cmd: 2000 MI_NOOPs at 10 us each hold the engine >= 20 ms. */
static int setup_per_cmd(void **state)
{
    const struct sim_gpu_config cfg = {.ns_per_cmd = 10000};

    return setup_cfg(state, &cfg);
}

static void test_cost_per_command(void **state)
{
    struct fx *f = *state;
    uint32_t *cs = calloc(2001, 4);
    struct sim_native_bo *big;
    uint64_t t0;

    assert_non_null(cs);
    assert_int_equal(sim_native_bo_create(f->n, 3 * 4096, &big), 0);
    gwl_emit_bb_end(cs + 2000); /* 2000 MI_NOOP (zeros) then the end */
    t0 = vgt_now_ns();
    assert_int_equal(run_batch(f, f->rcs, big, cs, 2001), 0);
    assert_true(vgt_now_ns() - t0 >= 20000000ull);
    sim_native_bo_destroy(f->n, big);
    free(cs);
}

/* VECS (VEBOX_RING_BASE 0x1a000, i915 6.1 i915_reg.h) runs the MI commands
 * the other non-render engines run, skips a VEBOX command by its length
 * (not executed), and raises its interrupts in GT bank 3 at shift 0 with
 * master bit 6 (i915 6.1 gen8_gt_irq_handler: GEN8_GT_VECS_IRQ,
 * GEN8_VECS_IRQ_SHIFT), not in banks 0 and 1. */
static void test_vecs(void **state)
{
    struct fx *f = *state;
    struct sim_native_ctx *vecs;
    struct sim_gpu_engine_stats st;
    uint32_t cs[64];
    uint64_t before[3], after[3];
    const uint32_t gpr = GEN9_VECS_BASE + 0x600; /* its GPR 0 */
    size_t k = 0;

    assert_int_equal(sim_native_ctx_create(f->n, VGT_ENGINE_VECS, 1, &vecs), 0);
    for (unsigned b = 0; b < 4; b++)
        f->hg->ops->mmio_write32(f->hg, GEN8_GT_IIR(b), ~0u);
    k += gwl_emit_noop(cs + k);
    k += gwl_emit_arb_check(cs + k);
    k += gwl_emit_sdi(cs + k, f->data->va + 0, false, 0x1ec50001);
    k += gwl_emit_sdi(cs + k, f->data->gm + 4, true, 0x1ec50002);
    k += gwl_emit_lri(cs + k, gpr, 0x1ec50003);
    k += gwl_emit_srm(cs + k, gpr, f->data->va + 8, false);
    /* VEB_DI_IECP (gvt cmd_parser.c OP_VEB_DNDI_IECP_STATE, DWord Length
     * 11:0 + 2): 4 dwords whose operands would be a store if executed. */
    cs[k++] = 0x74030000u | 2, cs[k++] = 0x10000002u, cs[k++] = 0, cs[k++] = 0;
    k += gwl_emit_flush_dw(cs + k, f->data->va + 16, false, 0x1ec50004);
    k += gwl_emit_user_interrupt(cs + k);
    k += gwl_emit_bb_end(cs + k);
    sim_native_irq_counts(f->n, before);
    assert_int_equal(run_batch(f, vecs, f->batch, cs, k), 0);
    sim_native_irq_counts(f->n, after);

    assert_int_equal(data32(f, 0), 0x1ec50001);
    assert_int_equal(data32(f, 4), 0x1ec50002);
    assert_int_equal(data32(f, 8), 0x1ec50003);
    assert_int_equal(data32(f, 12), 0);
    assert_int_equal(data32(f, 16), 0x1ec50004);
    assert_true(after[0] > before[0]);      /* user interrupt */
    assert_true(after[1] >= before[1] + 2); /* context switches */
    assert_true(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IIR(3)) &
                ((GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT) << GEN8_VECS_IRQ_SHIFT));
    assert_true(f->hg->ops->mmio_read32(f->hg, GEN8_MASTER_IRQ) & GEN8_GT_VECS_IRQ);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IIR(0)), 0);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN8_GT_IIR(1)), 0);
    sim_gpu_engine_stats(f->gpu, VGT_ENGINE_VECS, &st);
    assert_true(st.commands >= 10); /* the batch's ten, VEB_DI_IECP skipped but counted */
    assert_true(st.contexts_done >= 1);
    f->hg->ops->mmio_write32(f->hg, GEN8_GT_IIR(3), ~0u);
    assert_int_equal(f->hg->ops->mmio_read32(f->hg, GEN8_MASTER_IRQ) & GEN8_GT_VECS_IRQ, 0);
    sim_native_ctx_destroy(f->n, vecs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mi_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_translation_and_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elsp_two_contexts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vecs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_display, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cost_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_workloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hang_and_engine_reset, setup_no_limit, teardown),
        cmocka_unit_test_setup_teardown(test_preempt_in_batch, setup_no_limit, teardown),
        cmocka_unit_test_setup_teardown(test_context_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cost_per_command, setup_per_cmd, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

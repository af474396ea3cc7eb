/* Submission path unit tests on the seam doubles: the guest side is
 * played with the vGPU's MMIO entry points and the fake hypervisor's guest
 * RAM, the physical GPU is the fake host GPU's register file and GGTT, so
 * what the mediator hands the hardware can be read back exactly: the
 * shadow context, the audited and relocated ring, and the completion it
 * reports to the guest (and in which order). */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_hv.h"
#include "vgt/gen8_gtt.h"
#include "vgt/submit.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#define MIB (1ull << 20)
#define GM_SIZE (4096 * MIB)
#define APERTURE (512 * MIB)

/* Guest layout: RAM gpa of each object, GGTT address inside the vGPU. */
#define G_CTX 0x100000ull   /* 2 pages */
#define G_RING 0x102000ull  /* 1 page */
#define G_BATCH 0x103000ull /* 1 page */
#define G_HWSP 0x104000ull
#define ROOT_DMA 0x2000777000ull

/* Context register state (i915 intel_lrc_reg.h, as the mediator uses). */
#define CTX_RING_HEAD 0x05
#define CTX_RING_TAIL 0x07
#define CTX_RING_START 0x09
#define CTX_RING_CTL 0x0b
#define CTX_PDP0_UDW 0x31
#define CTX_PDP0_LDW 0x33

struct fx {
    struct sim_arena *arena;
    struct fake_hv *hv;
    struct fake_hostgpu *hw;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v;
    struct vgt_submit *s;
    struct vgt_submit_vgpu *sv;
    struct vgt_vgpu_info info;
    uint64_t gm_ctx, gm_ring, gm_batch, gm_hwsp;
    unsigned pins, unpins, syncs;
    /* called from pp_sync, i.e. inside a shadowing, with v->lock held */
    void (*in_sync)(struct fx *f);
    bool irq_returned_in_sync;
    volatile bool irq_done;
};

static int pp_pin(void *o, uint64_t pml4, uint64_t *root)
{
    struct fx *f = o;

    if (pml4 != 0x200000)
        return -ENOENT;
    f->pins++;
    *root = ROOT_DMA;
    return 0;
}

static int pp_unpin(void *o, uint64_t pml4)
{
    (void)pml4;
    ((struct fx *)o)->unpins++;
    return 0;
}

static int pp_sync(void *o, uint64_t pml4)
{
    struct fx *f = o;

    (void)pml4;
    f->syncs++;
    if (f->in_sync) {
        void (*fn)(struct fx *) = f->in_sync;

        f->in_sync = NULL;
        fn(f);
    }
    return 0;
}

static const struct vgt_submit_ppgtt_ops pp = {.pin = pp_pin, .unpin = pp_unpin, .sync = pp_sync};

static void wr(struct fx *f, uint64_t off, unsigned size, uint64_t val)
{
    assert_int_equal(vgt_vgpu_mmio_write(f->v, off, size, val), 0);
}

static void map(struct fx *f, uint64_t gm, uint64_t gpa)
{
    wr(f, VGT_GGTT_OFFSET + (gm >> 12) * 8, 8, gpa | GEN8_PTE_PRESENT | GEN8_PTE_RW);
}

static void ctx_reg(struct fx *f, unsigned idx, uint32_t val)
{
    assert_int_equal(fake_hv_guest_write32(f->hv, G_CTX + 4096 + idx * 4, val), 0);
}

static uint32_t guest32(struct fx *f, uint64_t gpa)
{
    uint32_t v;

    assert_int_equal(fake_hv_guest_read(f->hv, gpa, &v, 4), 0);
    return v;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct vgt_gpu_cfg gc = {0};
    struct vgt_vgpu_cfg vc = {0};
    struct vgt_submit_cfg sc = {0};

    assert_int_equal(sim_arena_create(512 * MIB, &f->arena), 0);
    assert_int_equal(fake_hv_create(f->arena, 7, 64 * MIB, FAKE_HV_SCRAMBLE_4K, 5, &f->hv), 0);
    assert_int_equal(fake_hostgpu_create(f->arena, GM_SIZE, APERTURE, 32, &f->hw), 0);
    gc.hw = &f->hw->gpu;
    assert_int_equal(vgt_gpu_create(&gc, &f->gpu), 0);
    vc.domid = 7;
    vc.hv = &f->hv->hv;
    vc.type_name = "V5_8";
    assert_int_equal(vgt_vgpu_res_from_type("V5_8", &vc.res), 0);
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &f->v), 0);
    sc.hw = &f->hw->gpu;
    sc.shadow_gm_base = APERTURE;
    sc.shadow_gm_size = 64 * MIB;
    assert_int_equal(vgt_submit_create(&sc, &f->s), 0);
    assert_int_equal(vgt_submit_attach(f->s, f->v, 4, 0, &pp, f, &f->sv), 0);
    vgt_vgpu_get_info(f->v, &f->info);
    /* The guest's objects in its low range. */
    f->gm_ctx = f->info.low_base + 0x10000;
    f->gm_ring = f->gm_ctx + 0x2000;
    f->gm_batch = f->gm_ctx + 0x3000;
    f->gm_hwsp = f->gm_ctx + 0x4000;
    map(f, f->gm_ctx, G_CTX);
    map(f, f->gm_ctx + 0x1000, G_CTX + 0x1000);
    map(f, f->gm_ring, G_RING);
    map(f, f->gm_batch, G_BATCH);
    map(f, f->gm_hwsp, G_HWSP);
    wr(f, RING_HWS_PGA(BLT_RING_BASE), 4, f->gm_hwsp);
    ctx_reg(f, CTX_RING_START, (uint32_t)f->gm_ring);
    ctx_reg(f, CTX_RING_CTL, 0x1); /* one page, valid */
    ctx_reg(f, CTX_PDP0_LDW, 0x200000);
    ctx_reg(f, CTX_PDP0_UDW, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    vgt_submit_detach(f->sv);
    vgt_submit_destroy(f->s);
    vgt_vgpu_destroy(f->v);
    vgt_gpu_destroy(f->gpu);
    fake_hostgpu_destroy(f->hw);
    fake_hv_destroy(f->hv);
    sim_arena_destroy(f->arena);
    free(f);
    return 0;
}

static uint64_t desc(struct fx *f, unsigned mode, uint64_t lrca)
{
    (void)f;
    return 1u | (mode << 3) | (1u << 8) | lrca | (0x55ull << 32);
}

static void elsp(struct fx *f, uint64_t d0)
{
    uint32_t r = RING_ELSP(BLT_RING_BASE);

    wr(f, r, 4, 0);
    wr(f, r, 4, 0);
    wr(f, r, 4, d0 >> 32);
    wr(f, r, 4, (uint32_t)d0);
}

/* Host view of a host GGTT address (the shadow the GPU reads). */
static uint32_t *host_page(struct fx *f, uint64_t gm)
{
    return f->hw->gpu.ops->dma_to_va(&f->hw->gpu, f->hw->ggtt[gm >> 12] & GEN8_PTE_ADDR_MASK);
}

static void test_bad_descriptors(void **state)
{
    struct fx *f = *state;
    struct vgt_submit_stats st;
    struct vgt_vgpu_info info;

    elsp(f, desc(f, 1, f->gm_ctx)); /* 32-bit, 3-level */
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.failsafe);
    assert_non_null(strstr(info.failsafe_detail, "PPGTT"));
    assert_int_equal(vgt_vgpu_reset(f->v), 0); /* the hooks survive it */
    elsp(f, desc(f, 3, f->info.high_base + f->info.high_size)); /* outside */
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.failsafe);
    assert_int_equal(vgt_submit_get_stats(f->sv, &st), 0);
    assert_int_equal(st.refused, 2);
    assert_int_equal(f->pins, 0);
}

static void test_unmapped_context(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;

    elsp(f, desc(f, 3, f->info.low_base + 0x100000)); /* in range, no GGTT entry */
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.failsafe);
    assert_non_null(strstr(info.failsafe_detail, "not readable"));
}

/* A valid submission: what reaches the hardware is the shadow, the ring is
 * the audited copy with its BB_START relocated, PDP0 the shadow root; on
 * completion the guest sees its ring head, its HWSP CSB copy and its
 * virtual CSB, then the interrupt. */
static void test_submit_and_complete(void **state)
{
    struct fx *f = *state;
    uint32_t ring[] = {0x18800001u, (uint32_t)f->gm_batch, 0, 0x01000000u /* user irq */};
    uint32_t batch[] = {0x10400002u, (uint32_t)(f->gm_batch + 0x800), 0, 0x1234, 0x05000000u};
    uint32_t *sctx, *sring, *sbatch;
    uint64_t lrca, rstart;
    uint32_t d_lo, st;
    struct vgt_submit_stats stats;

    assert_int_equal(fake_hv_guest_write(f->hv, G_RING, ring, sizeof(ring)), 0);
    assert_int_equal(fake_hv_guest_write(f->hv, G_BATCH, batch, sizeof(batch)), 0);
    ctx_reg(f, CTX_RING_HEAD, 0);
    ctx_reg(f, CTX_RING_TAIL, sizeof(ring));
    /* master + RCS/BCS user/ctx-switch enabled, MSI not (no MSI needed) */
    wr(f, GEN8_GT_IER(0), 4, (GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT) << 16);
    wr(f, GEN8_GT_IMR(0), 4, ~((GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT) << 16));
    elsp(f, desc(f, 3, f->gm_ctx));
    assert_false(vgt_vgpu_in_failsafe(f->v));
    assert_int_equal(f->pins, 1);
    assert_int_equal(f->syncs, 1);
    /* the physical ELSP got the shadow's descriptor (last dword: lower) */
    d_lo = f->hw->regs[RING_ELSP(BLT_RING_BASE) / 4];
    assert_int_equal(d_lo & 0x19, 0x19); /* valid, 64-bit legacy mode */
    lrca = d_lo & 0xfffff000u;
    assert_true(lrca >= APERTURE && lrca < APERTURE + 64 * MIB);
    sctx = host_page(f, lrca + 4096);
    assert_non_null(sctx);
    assert_int_equal(sctx[CTX_PDP0_LDW], (uint32_t)ROOT_DMA);
    assert_int_equal(sctx[CTX_PDP0_UDW], (uint32_t)(ROOT_DMA >> 32));
    assert_int_equal(sctx[CTX_RING_HEAD], 0);
    assert_int_equal(sctx[CTX_RING_TAIL], sizeof(ring));
    rstart = sctx[CTX_RING_START];
    assert_true(rstart >= APERTURE && rstart < APERTURE + 64 * MIB);
    sring = host_page(f, rstart);
    /* BB_START relocated to the copy (GGTT), user interrupt turned to NOOP */
    assert_int_equal(sring[0], 0x18800001u);
    assert_true(sring[1] >= APERTURE && sring[1] < APERTURE + 64 * MIB);
    assert_int_equal(sring[3], 0);
    sbatch = host_page(f, sring[1]);
    assert_int_equal(sbatch[3], 0x1234);
    /* The guest rewrites its ring now: nothing changes in the copy. */
    assert_int_equal(fake_hv_guest_write32(f->hv, G_RING + 4, 0xdead000), 0);
    assert_true(sring[1] >= APERTURE);
    /* an IDLE_ACTIVE event reached the guest's HWSP copy at submission */
    assert_int_equal(guest32(f, G_HWSP + 0x1f * 4), 0);
    assert_int_equal(guest32(f, G_HWSP + 0x10 * 4) & 1, 1);
    /* The GPU completes: CSB entry 1 = COMPLETE | ACTIVE_IDLE for our ID. */
    f->hw->regs[RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 1) / 4] = (1u << 4) | (1u << 3);
    f->hw->regs[RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 1) / 4 + 1] = 1; /* slot 0: ID 1 */
    f->hw->regs[RING_CONTEXT_STATUS_PTR(BLT_RING_BASE) / 4] = 1;
    f->hw->irq_fn(f->hw->irq_opaque, VGT_ENGINE_BCS, VGT_GPU_EV_CTX_SWITCH);
    /* The guest: ring head moved to the tail, HWSP and virtual CSB entry 1
     * hold COMPLETE with its context ID, interrupts latched in IIR. */
    assert_int_equal(guest32(f, G_CTX + 4096 + CTX_RING_HEAD * 4), sizeof(ring));
    assert_int_equal(guest32(f, G_HWSP + 0x1f * 4), 1);
    st = guest32(f, G_HWSP + (0x10 + 2) * 4);
    assert_int_equal(st & (1u << 4), 1u << 4);
    assert_int_equal(guest32(f, G_HWSP + (0x10 + 3) * 4), 0x55);
    assert_int_equal(vgt_vgpu_vreg(f->v, RING_CONTEXT_STATUS_PTR(BLT_RING_BASE)) & 7, 1);
    assert_int_equal(vgt_vgpu_vreg(f->v, RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 1) + 4), 0x55);
    assert_int_equal(vgt_vgpu_vreg(f->v, GEN8_GT_IIR(0)),
                     (GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT) << 16);
    assert_int_equal(vgt_submit_get_stats(f->sv, &stats), 0);
    assert_int_equal(stats.sched.completed[VGT_ENGINE_BCS], 1);
    assert_int_equal(stats.user_interrupts, 1);
    assert_int_equal(f->unpins, 1);
    assert_int_equal(vgt_submit_outstanding(f->sv), 0);
    /* The guest resets the blitter (gen8_reset_engines): its CSB write
     * pointer reads where i915's reset_csb_pointers puts it, next event
     * at entry 0. */
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN6_GDRST, 4, GEN6_GRDOM_BLT), 0);
    assert_int_equal(vgt_vgpu_vreg(f->v, RING_CONTEXT_STATUS_PTR(BLT_RING_BASE)) & 7, VGT_CSB_PTR_RESET);
}

static void *gpu_irq_thread(void *arg)
{
    struct fx *f = arg;

    f->hw->irq_fn(f->hw->irq_opaque, VGT_ENGINE_BCS, VGT_GPU_EV_CTX_SWITCH);
    __atomic_store_n(&f->irq_done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* Inside the second submission's shadowing (v->lock held): the GPU
 * completes the first workload and calls back from its own thread. */
static void complete_while_shadowing(struct fx *f)
{
    pthread_t t;

    f->hw->regs[RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 1) / 4] = (1u << 4) | (1u << 3);
    f->hw->regs[RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 1) / 4 + 1] = 1; /* slot 0: ID 1 */
    f->hw->regs[RING_CONTEXT_STATUS_PTR(BLT_RING_BASE) / 4] = 1;
    assert_int_equal(pthread_create(&t, NULL, gpu_irq_thread, f), 0);
    for (unsigned i = 0; i < 500 && !__atomic_load_n(&f->irq_done, __ATOMIC_ACQUIRE); i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    f->irq_returned_in_sync = __atomic_load_n(&f->irq_done, __ATOMIC_ACQUIRE);
    pthread_join(t, NULL);
}

/* Issue 12: the GPU's completion callback never waits on the lock a
 * guest's submission holds across its shadowing. The first workload
 * completes while the second is being shadowed: the callback returns at
 * once (it retired the workload and freed the engine), and the guest is
 * told when its submission releases the lock, in order. */
static void test_completion_during_shadowing(void **state)
{
    struct fx *f = *state;
    uint32_t ring[] = {0x18800001u, (uint32_t)f->gm_batch, 0, 0, 0x18800001u, (uint32_t)f->gm_batch, 0, 0};
    uint32_t batch[] = {0x10400002u, (uint32_t)(f->gm_batch + 0x800), 0, 0x1234, 0x05000000u};
    uint32_t d_lo;

    assert_int_equal(fake_hv_guest_write(f->hv, G_RING, ring, sizeof(ring)), 0);
    assert_int_equal(fake_hv_guest_write(f->hv, G_BATCH, batch, sizeof(batch)), 0);
    ctx_reg(f, CTX_RING_HEAD, 0);
    ctx_reg(f, CTX_RING_TAIL, 16);
    elsp(f, desc(f, 3, f->gm_ctx));
    assert_int_equal((f->hw->regs[RING_ELSP(BLT_RING_BASE) / 4 - 0] & 0x19), 0x19);
    ctx_reg(f, CTX_RING_TAIL, 32);
    f->in_sync = complete_while_shadowing;
    elsp(f, desc(f, 3, f->gm_ctx));
    assert_false(vgt_vgpu_in_failsafe(f->v));
    if (!f->irq_returned_in_sync)
        fail_msg("the GPU's callback waited for the guest's shadowing to end");
    /* delivered by the submission on its way out: ring head at 16, one
     * COMPLETE in the guest's HWSP CSB */
    assert_int_equal(guest32(f, G_CTX + 4096 + CTX_RING_HEAD * 4), 16);
    assert_int_equal(guest32(f, G_HWSP + 0x1f * 4), 1);
    assert_int_equal(guest32(f, G_HWSP + (0x10 + 2) * 4) & (1u << 4), 1u << 4);
    /* and the second workload went to the freed engine (its slot's ID) */
    d_lo = f->hw->regs[RING_ELSP(BLT_RING_BASE) / 4];
    assert_int_equal(d_lo & 0x19, 0x19);
    assert_int_equal(vgt_submit_outstanding(f->sv), 1);
    /* it completes too (slot 1: ID 2; slot 0 was still held for the
     * delivery), so detach has nothing left on the engine to wait for */
    f->hw->regs[RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 2) / 4] = (1u << 4) | (1u << 3);
    f->hw->regs[RING_CONTEXT_STATUS_BUF_LO(BLT_RING_BASE, 2) / 4 + 1] = 2;
    f->hw->regs[RING_CONTEXT_STATUS_PTR(BLT_RING_BASE) / 4] = 2;
    f->hw->irq_fn(f->hw->irq_opaque, VGT_ENGINE_BCS, VGT_GPU_EV_CTX_SWITCH);
    assert_int_equal(vgt_submit_outstanding(f->sv), 0);
    assert_int_equal(guest32(f, G_CTX + 4096 + CTX_RING_HEAD * 4), 32);
}

/* A privileged command in the ring: refused before anything reaches the
 * hardware, the vGPU in failsafe with the command named. */
static void test_audit_refusal(void **state)
{
    struct fx *f = *state;
    uint32_t ring[] = {0x11000001u, RING_HWS_PGA(RENDER_RING_BASE), 0, 0};
    struct vgt_vgpu_info info;

    assert_int_equal(fake_hv_guest_write(f->hv, G_RING, ring, sizeof(ring)), 0);
    ctx_reg(f, CTX_RING_HEAD, 0);
    ctx_reg(f, CTX_RING_TAIL, sizeof(ring));
    f->hw->regs[RING_ELSP(BLT_RING_BASE) / 4] = 0;
    elsp(f, desc(f, 3, f->gm_ctx));
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.failsafe);
    assert_non_null(strstr(info.failsafe_detail, "MI_LOAD_REGISTER_IMM"));
    assert_int_equal(f->hw->regs[RING_ELSP(BLT_RING_BASE) / 4], 0);
    assert_int_equal(f->pins, f->unpins);
}

/* vgt set: weight and cap change live, a refusal changes nothing. */
static void test_set_share(void **state)
{
    struct fx *f = *state;
    struct vgt_submit_stats st;

    assert_int_equal(vgt_submit_set_share(f->sv, 9, 50), 0);
    assert_int_equal(vgt_submit_get_stats(f->sv, &st), 0);
    assert_int_equal(st.sched.weight, 9);
    assert_int_equal(st.sched.cap_pct, 50);
    assert_int_equal(vgt_submit_set_share(f->sv, 0, VGT_SUBMIT_KEEP), 0); /* both kept */
    assert_int_equal(vgt_submit_set_share(f->sv, 3, VGT_SUBMIT_KEEP), 0);
    assert_int_equal(vgt_submit_get_stats(f->sv, &st), 0);
    assert_int_equal(st.sched.weight, 3);
    assert_int_equal(st.sched.cap_pct, 50);
    assert_int_equal(vgt_submit_set_share(f->sv, 0, 0), 0); /* cap lifted */
    assert_int_equal(vgt_submit_set_share(f->sv, 1001, 10), -EINVAL);
    assert_int_equal(vgt_submit_set_share(f->sv, 5, 101), -EINVAL);
    assert_int_equal(vgt_submit_get_stats(f->sv, &st), 0);
    assert_int_equal(st.sched.weight, 3);
    assert_int_equal(st.sched.cap_pct, 0);
}

/* The watchdog's test. A workload dispatched by another thread after the
 * watchdog read the clock (while it waited for the path's lock) started
 * "after now": it is not over its budget. Unsigned arithmetic made it
 * ~2^64 ns old, and the watchdog preempted honest work that had just
 * started and failed its vGPU with gpu-hang, whatever the budget (issue
 * 12's stall under load). */
static void test_watchdog_expired(void **state)
{
    const uint64_t budget = 2000000000ull;

    (void)state;
    assert_false(vgt_submit_watchdog_expired(1000, 1001, budget));
    assert_false(vgt_submit_watchdog_expired(1000, 1000 + budget, budget));
    assert_false(vgt_submit_watchdog_expired(1000, 1000, budget));
    assert_false(vgt_submit_watchdog_expired(1000 + budget - 1, 1000, budget));
    assert_true(vgt_submit_watchdog_expired(1000 + budget, 1000, budget));
    assert_true(vgt_submit_watchdog_expired(1000 + 3 * budget, 1000, budget));
    assert_false(vgt_submit_watchdog_expired(UINT64_MAX, 0, UINT64_MAX)); /* off */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmapped_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_and_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion_during_shadowing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_share, setup, teardown),
        cmocka_unit_test(test_watchdog_expired),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

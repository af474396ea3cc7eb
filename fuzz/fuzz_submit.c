/* Fuzz the submission path: what the mediator reads from a guest when the
 * guest writes ELSP. The input is the execlist descriptor, the context
 * image's register state page (RING_HEAD/TAIL/START/CTL, PDPs, ...), the
 * guest's ring and one batch page. Shadowing, the audit and the
 * relocation run on it; refusals put the vGPU in failsafe. Sanitizers
 * catch memory errors. What passes the audit runs on the simulated GPU
 * (the fake PPGTT root is no real table: the GPU faults the context);
 * after the device-model reset every workload must retire, or the input
 * hung the path.
 *
 * The platform (fake hypervisor, simulated GPU, partition, vGPU, the
 * submission dispatcher) is made once per process; every input ends with
 * vgt_vgpu_reset, which cancels queued work, a wait for the running one,
 * and the guest's pages zeroed.
 *
 * Input: byte 0 engine (& 3), byte 1 flags, bytes 2..5 descriptor low
 * dword, then the register state (96 dwords), then the ring page, then
 * the batch page (each as long as the input lasts). Flag bit 0: keep the
 * descriptor's LRCA (else the guest's context), bit 1: keep RING_START
 * (else the guest's ring), bit 2: keep PDP0 (else the one table the
 * fake PPGTT pins), bit 3: no HWSP. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sched.h>
#include <time.h>

#include "fake_hv.h"
#include "vgt/gen8_gtt.h"
#include "vgt/sim_gpu.h"
#include "vgt/submit.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#include "fuzz_fresh.h"

#define MIB (1ull << 20)
#define APERTURE (256 * MIB)
#define G_CTX 0x100000ull /* 2 pages */
#define G_RING 0x102000ull
#define G_BATCH 0x103000ull
#define G_HWSP 0x104000ull
#define G_PAGES 5
#define PML4 0x200000ull
#define ROOT_DMA 0x2000777000ull
#define CTX_REG_DWORDS 0x60
#define CTX_RING_START (0x08 + 1)
#define CTX_PDP0_UDW (0x30 + 1)
#define CTX_PDP0_LDW (0x32 + 1)

struct fz {
    struct sim_arena *arena;
    struct fake_hv *hv;
    struct vgt_log log;
    struct sim_gpu *hwgpu;
    struct vgt_hostgpu *hw;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v;
    struct vgt_submit *s;
    struct vgt_submit_vgpu *sv;
    struct vgt_vgpu_info info;
    uint64_t gm_ctx, gm_ring, gm_batch, gm_hwsp;
};

/* The PPGTT double: one guest table can be pinned (fuzz_ppgtt covers the
 * real walk). */
static int pp_pin(void *o, uint64_t pml4, uint64_t *root)
{
    (void)o;
    if (pml4 != PML4)
        return -2;
    *root = ROOT_DMA;
    return 0;
}

static int pp_unpin(void *o, uint64_t pml4)
{
    (void)o;
    (void)pml4;
    return 0;
}

static const struct vgt_submit_ppgtt_ops pp = {.pin = pp_pin, .unpin = pp_unpin};

static void attach(struct fz *z)
{
    struct vgt_vgpu_cfg vc = {.domid = 7, .hv = &z->hv->hv};

    if (vgt_vgpu_res_custom(4, 4, 2, &vc.res, NULL) || vgt_vgpu_create(z->gpu, &vc, &z->v) ||
        vgt_submit_attach(z->s, z->v, 4, 0, &pp, z, &z->sv))
        abort();
    vgt_vgpu_get_info(z->v, &z->info);
    z->gm_ctx = z->info.low_base + 0x10000;
    z->gm_ring = z->gm_ctx + 0x2000;
    z->gm_batch = z->gm_ctx + 0x3000;
    z->gm_hwsp = z->gm_ctx + 0x4000;
}

static struct fz *setup(void)
{
    static struct fz z;
    struct vgt_gpu_cfg gc = {0};
    struct vgt_submit_cfg sc = {0};
    const struct sim_gpu_config cfg = {.aperture_size = APERTURE, .gm_size = 4 * APERTURE,
                                       .cmd_budget = 4096,
                                       .semaphore_timeout_ms = 5};

    if (z.v)
        return &z;
    vgt_log_init(&z.log, "fuzz", VGT_LOG_OFF);
    /* Harness set-up, not fuzz input: nothing to recover from. */
    if (sim_arena_create(64 * MIB, &z.arena) ||
        fake_hv_create(z.arena, 7, 4 * MIB, FAKE_HV_SCRAMBLE_4K, 5, &z.hv) ||
        sim_gpu_create(z.arena, &cfg, &z.log, &z.hwgpu))
        abort();
    z.hw = sim_gpu_hostgpu(z.hwgpu);
    gc.hw = z.hw;
    gc.log = &z.log;
    if (vgt_gpu_create(&gc, &z.gpu))
        abort();
    sc.hw = z.hw;
    sc.log = &z.log;
    sc.shadow_gm_base = APERTURE;
    sc.shadow_gm_size = 16 * MIB;
    if (vgt_submit_create(&sc, &z.s))
        abort();
    attach(&z);
    return &z;
}

static void wr(struct fz *z, uint64_t off, unsigned size, uint64_t val)
{
    (void)vgt_vgpu_mmio_write(z->v, off, size, val);
}

static void map(struct fz *z, uint64_t gm, uint64_t gpa)
{
    wr(z, VGT_GGTT_OFFSET + (gm >> 12) * 8, 8, gpa | GEN8_PTE_PRESENT | GEN8_PTE_RW);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t bases[] = {RENDER_RING_BASE, BLT_RING_BASE, GEN6_BSD_RING_BASE,
                                     VEBOX_RING_BASE};
    uint32_t regs[CTX_REG_DWORDS] = {0}, lo;
    uint8_t page[4096];
    struct fz *z;
    uint32_t base;
    uint8_t flags;
    size_t off = 6, n;

    if (size < 6)
        return 0;
    z = setup();
    base = bases[data[0] & 3];
    flags = data[1];
    memcpy(&lo, data + 2, 4);
    n = size - off < sizeof(regs) ? size - off : sizeof(regs);
    memcpy(regs, data + off, n);
    off += n;
    if (!(flags & 2))
        regs[CTX_RING_START] = (uint32_t)z->gm_ring;
    if (!(flags & 4)) {
        regs[CTX_PDP0_LDW] = (uint32_t)PML4;
        regs[CTX_PDP0_UDW] = 0;
    }
    fake_hv_guest_write(z->hv, G_CTX + 4096, regs, sizeof(regs));
    for (uint64_t g = G_RING; g <= G_BATCH; g += 4096) {
        memset(page, 0, sizeof(page));
        n = size - off < sizeof(page) ? size - off : sizeof(page);
        memcpy(page, data + off, n);
        off += n;
        fake_hv_guest_write(z->hv, g, page, sizeof(page));
    }
    map(z, z->gm_ctx, G_CTX);
    map(z, z->gm_ctx + 0x1000, G_CTX + 0x1000);
    map(z, z->gm_ring, G_RING);
    map(z, z->gm_batch, G_BATCH);
    map(z, z->gm_hwsp, G_HWSP);
    if (!(flags & 8))
        wr(z, RING_HWS_PGA(base), 4, z->gm_hwsp);
    if (!(flags & 1))
        lo = (lo & 0xfff) | (uint32_t)z->gm_ctx;
    /* ELSP: element 1 (upper, lower), then element 0 (upper, lower). */
    wr(z, RING_ELSP(base), 4, 0);
    wr(z, RING_ELSP(base), 4, 0);
    wr(z, RING_ELSP(base), 4, 0x55);
    wr(z, RING_ELSP(base), 4, lo);

    if (fuzz_fresh()) {
        vgt_submit_detach(z->sv);
        vgt_vgpu_destroy(z->v);
    } else {
        struct timespec t0, t;

        vgt_vgpu_reset(z->v);
        /* The running workload retires when the GPU is done with it. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (vgt_submit_outstanding(z->sv)) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if (t.tv_sec - t0.tv_sec > 5)
                abort(); /* the submission path hung */
            sched_yield();
        }
    }
    memset(fake_hv_gfn_ptr(z->hv, G_CTX >> 12), 0, 4096);
    for (unsigned i = 0; i < G_PAGES + 1; i++)
        memset(fake_hv_gfn_ptr(z->hv, (G_CTX >> 12) + i), 0, 4096);
    if (fuzz_fresh())
        attach(z);
    return 0;
}

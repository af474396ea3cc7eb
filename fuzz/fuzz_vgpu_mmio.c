/* Fuzz the vGPU's guest-facing surface: MMIO reads/writes anywhere in BAR0
 * (registers, PVINFO, fences, interrupts, reset, the GGTT window) and
 * config-space accesses, with a hostile guest's values. Invariants checked
 * after every input: no host GGTT entry outside the vGPU's ranges changed,
 * entries inside point at scratch or at a page of this guest, no host
 * fence outside its fences was written.
 *
 * Input: records of 14 bytes: op, offset (4, LE), size code, value (8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#define GM (128ull << 20)
#define APERTURE (64ull << 20)
#define NR_GGTT (GM >> 12)
#define GUEST_PAGES 4096ull
#define DMA_BASE 0x2000000000ull
#define SCRATCH (DMA_BASE - 0x1000)

struct fz_gpu {
    struct vgt_hostgpu hw;
    uint64_t ggtt[NR_GGTT];
    uint32_t regs[VGT_MMIO_SIZE / 4];
};

struct fz_hv {
    struct vgt_hv hv;
};

static struct fz_gpu *gpu_of(struct vgt_hostgpu *g)
{
    return (struct fz_gpu *)g;
}

static uint32_t g_rd(struct vgt_hostgpu *g, uint32_t off)
{
    return off < VGT_MMIO_SIZE && !(off & 3) ? gpu_of(g)->regs[off / 4] : ~0u;
}

static void g_wr(struct vgt_hostgpu *g, uint32_t off, uint32_t v)
{
    if (off < VGT_MMIO_SIZE && !(off & 3))
        gpu_of(g)->regs[off / 4] = v;
}

static int g_gw(struct vgt_hostgpu *g, uint64_t i, uint64_t pte)
{
    if (i >= NR_GGTT)
        abort(); /* the mediator must never index past the GGTT */
    gpu_of(g)->ggtt[i] = pte;
    return 0;
}

static int g_gr(struct vgt_hostgpu *g, uint64_t i, uint64_t *pte)
{
    if (i >= NR_GGTT)
        return -22;
    *pte = gpu_of(g)->ggtt[i];
    return 0;
}

static const struct vgt_hostgpu_ops gpu_ops = {.mmio_read32 = g_rd, .mmio_write32 = g_wr,
                                               .ggtt_write = g_gw, .ggtt_read = g_gr};

/* A reversed p2m: never the identity. */
static int h_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    if (gfn >= hv->max_gfn)
        return -14;
    *dma = DMA_BASE + ((GUEST_PAGES - 1 - gfn) << 12);
    return 0;
}

static int h_msi(struct vgt_hv *hv, uint64_t a, uint32_t d)
{
    (void)hv;
    (void)a;
    (void)d;
    return 0;
}

static const struct vgt_hv_ops hv_ops = {.gfn_to_dma = h_dma, .inject_msi = h_msi};

static struct fz_gpu *fg;
static uint64_t *initial;
static struct vgt_gpu *gpu; /* the partition outlives inputs; vGPUs do not */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_hv hv = {.hv = {.ops = &hv_ops, .domid = 1, .max_gfn = GUEST_PAGES}};
    struct vgt_gpu_cfg gc = {0};
    struct vgt_vgpu_cfg vc = {.domid = 1, .hv = &hv.hv};
    struct vgt_vgpu_info info;
    struct vgt_vgpu *v;
    uint32_t fences_before[64];

    if (!fg) {
        fg = calloc(1, sizeof(*fg));
        initial = malloc(sizeof(fg->ggtt));
        for (uint64_t i = 0; i < NR_GGTT; i++)
            initial[i] = (0x1234ull << 12) | 1;
        fg->hw = (struct vgt_hostgpu){.ops = &gpu_ops, .vendor = 0x8086, .device = 0x1912,
                                      .gm_size = GM, .aperture_size = APERTURE,
                                      .num_fences = 32, .scratch_dma = SCRATCH};
        gc.hw = &fg->hw;
        /* A small host reservation keeps the GGTT (and each input) small. */
        gc.host_low = 8ull << 20;
        gc.host_high = 8ull << 20;
        if (vgt_gpu_create(&gc, &gpu))
            abort();
    }
    memcpy(fg->ggtt, initial, sizeof(fg->ggtt));
    memset(fg->regs, 0, sizeof(fg->regs));
    /* Small ranges keep an input fast; the rules are the same. */
    if (vgt_vgpu_res_custom(16, 16, 2, &vc.res, NULL))
        abort();
    if (vgt_vgpu_create(gpu, &vc, &v))
        abort();
    vgt_vgpu_get_info(v, &info);
    for (unsigned i = 0; i < 32; i++)
        fences_before[i] = fg->regs[FENCE_REG_GEN6_LO(i) / 4];

    for (size_t p = 0; p + 14 <= size; p += 14) {
        uint8_t op = data[p];
        uint32_t off;
        uint64_t val, r;
        unsigned sz = 1u << (data[p + 5] & 3);

        memcpy(&off, data + p + 1, 4);
        memcpy(&val, data + p + 6, 8);
        switch (op & 7) {
        case 0: /* register window */
            vgt_vgpu_mmio_write(v, off % VGT_MMIO_SIZE, sz, val);
            break;
        case 1:
            vgt_vgpu_mmio_read(v, off % VGT_MMIO_SIZE, sz, &r);
            break;
        case 2: /* PVINFO, fences, interrupts: the interesting rows */
            vgt_vgpu_mmio_write(v, (op & 8 ? VGT_PVINFO_PAGE : (op & 16 ? 0x100000u : 0x44200u)) + (off & 0xfff), sz, val);
            break;
        case 3: /* GGTT window, entries near the vGPU's ranges */
            vgt_vgpu_mmio_write(v, VGT_GGTT_OFFSET + ((((op & 8 ? info.low_base : info.high_base) >> 9) +
                                                       (uint64_t)(int64_t)((int32_t)off % 4096)) % (8ull << 20)),
                                sz, val);
            break;
        case 4: /* anywhere in BAR0 and beyond */
            vgt_vgpu_mmio_write(v, ((uint64_t)off << 1) | (op >> 7), sz, val);
            break;
        case 5:
            vgt_vgpu_cfg_write(v, off & 0x1ff, sz, (uint32_t)val);
            break;
        case 6:
            vgt_vgpu_raise_event(v, off & 7, (uint32_t)val);
            break;
        case 7:
            if (op & 8)
                vgt_vgpu_reset(v);
            else
                vgt_vgpu_cfg_read(v, off & 0x1ff, sz, (uint32_t *)&r);
            break;
        }
    }

    for (uint64_t i = 0; i < NR_GGTT; i++) {
        uint64_t gm = i << 12, e = fg->ggtt[i];
        bool mine = (gm >= info.low_base && gm < info.low_base + info.low_size) ||
                    (gm >= info.high_base && gm < info.high_base + info.high_size);

        if (!mine && e != initial[i])
            abort();
        if (mine && e != (SCRATCH | 1) &&
            ((e & ~0xfffull) < DMA_BASE || (e & ~0xfffull) >= DMA_BASE + (GUEST_PAGES << 12)))
            abort();
    }
    for (unsigned i = 0; i < 32; i++)
        if ((i < info.fence_base || i >= info.fence_base + info.fence_num) &&
            fg->regs[FENCE_REG_GEN6_LO(i) / 4] != fences_before[i])
            abort();
    vgt_vgpu_destroy(v);
    return 0;
}

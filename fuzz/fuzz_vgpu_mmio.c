/* Fuzz the vGPU's guest-facing surface: MMIO reads/writes anywhere in BAR0
 * (registers, PVINFO, fences, interrupts, reset, the GGTT window) and
 * config-space accesses, with a hostile guest's values. Invariants checked
 * on every host access: no host GGTT entry outside the vGPU's ranges changed,
 * entries inside point at scratch or at a page of this guest, no host
 * fence outside its fences was written. After the input, the BARs the
 * vGPU reports (where its attach would map them) are 0 unless memory
 * decoding is on, and never the sizing pattern or an unaligned base.
 *
 * Input: records of 14 bytes: op, offset (4, LE), size code, value (8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#include "fuzz_fresh.h"
#include "fuzz_hv_sink.h"

#define GM (128ull << 20)
#define APERTURE (64ull << 20)
#define NR_GGTT (GM >> 12)
#define GUEST_PAGES 4096ull
#define DMA_BASE 0x2000000000ull
#define SCRATCH (DMA_BASE - 0x1000)
#define VGPU_SCRATCH (DMA_BASE - 0x2000) /* the one page alloc_page hands out: the vGPU's scratch */

/* The host side checks every access as it happens: a GGTT write outside
 * the vGPU's ranges, or pointing anywhere but scratch or this guest's
 * pages, and a fence write outside its fences abort on the spot. Register
 * writes are logged so that the next input starts from a clean host. */
#define WR_LOG 256
/* The host double is the harness, not code under test. */
#define HARNESS __attribute__((no_sanitize("coverage")))

struct fz_gpu {
    struct vgt_hostgpu hw;
    uint64_t ggtt[NR_GGTT];
    uint32_t regs[VGT_MMIO_SIZE / 4];
    bool checking;
    struct vgt_vgpu_info info;
    uint32_t wr_log[WR_LOG];
    unsigned wr_n; /* > WR_LOG: too many, clear the whole file */
    uint8_t page[4096];
    bool page_out;
};

struct fz_hv {
    struct vgt_hv hv;
};

static struct fz_gpu *gpu_of(struct vgt_hostgpu *g)
{
    return (struct fz_gpu *)g;
}

HARNESS static bool gm_mine(const struct vgt_vgpu_info *info, uint64_t gm)
{
    return (gm >= info->low_base && gm < info->low_base + info->low_size) ||
           (gm >= info->high_base && gm < info->high_base + info->high_size);
}

HARNESS static uint32_t g_rd(struct vgt_hostgpu *g, uint32_t off)
{
    return off < VGT_MMIO_SIZE && !(off & 3) ? gpu_of(g)->regs[off / 4] : ~0u;
}

HARNESS static void g_wr(struct vgt_hostgpu *g, uint32_t off, uint32_t v)
{
    struct fz_gpu *f = gpu_of(g);

    if (off >= VGT_MMIO_SIZE || (off & 3))
        return;
    if (f->checking && off >= FENCE_REG_GEN6_LO(0) && off < FENCE_REG_GEN6_LO(32)) {
        unsigned i = (off - FENCE_REG_GEN6_LO(0)) / 8;

        if (i < f->info.fence_base || i >= f->info.fence_base + f->info.fence_num)
            abort(); /* another vGPU's (or the host's) fence */
    }
    if (f->wr_n < WR_LOG)
        f->wr_log[f->wr_n] = off;
    if (f->wr_n <= WR_LOG)
        f->wr_n++;
    f->regs[off / 4] = v;
}

HARNESS static int g_gw(struct vgt_hostgpu *g, uint64_t i, uint64_t pte)
{
    struct fz_gpu *f = gpu_of(g);
    uint64_t pa = pte & ~0xfffull;

    if (i >= NR_GGTT)
        abort(); /* the mediator must never index past the GGTT */
    if (f->checking) {
        if (!gm_mine(&f->info, i << 12))
            abort(); /* outside the vGPU's ranges */
        if (pte != (VGPU_SCRATCH | 1) && pte != (SCRATCH | 1) &&
            (pa < DMA_BASE || pa >= DMA_BASE + (GUEST_PAGES << 12)))
            abort(); /* neither scratch nor a page of this guest */
    }
    f->ggtt[i] = pte;
    return 0;
}

HARNESS static int g_gr(struct vgt_hostgpu *g, uint64_t i, uint64_t *pte)
{
    if (i >= NR_GGTT)
        return -22;
    *pte = gpu_of(g)->ggtt[i];
    return 0;
}

/* One host page at a time: the vGPU's scratch page (its GGTT shadow
 * allocates it at create and frees it at destroy). */
HARNESS static int g_alloc(struct vgt_hostgpu *g, uint64_t *dma, void **va)
{
    struct fz_gpu *f = gpu_of(g);

    if (f->page_out)
        return -12;
    f->page_out = true;
    *dma = VGPU_SCRATCH;
    *va = f->page;
    return 0;
}

HARNESS static void g_free(struct vgt_hostgpu *g, uint64_t dma)
{
    struct fz_gpu *f = gpu_of(g);

    if (dma != VGPU_SCRATCH || !f->page_out)
        abort(); /* freeing a page it was not given */
    f->page_out = false;
}

static const struct vgt_hostgpu_ops gpu_ops = {.mmio_read32 = g_rd, .mmio_write32 = g_wr,
                                               .ggtt_write = g_gw, .ggtt_read = g_gr,
                                               .alloc_page = g_alloc, .free_page = g_free};

/* A reversed p2m: never the identity. */
static int h_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    if (gfn >= hv->max_gfn)
        return -14;
    *dma = DMA_BASE + ((GUEST_PAGES - 1 - gfn) << 12);
    return 0;
}

static const struct vgt_hv_ops hv_ops = {.read_gpa = fz_hv_read, .write_gpa = fz_hv_write, .gfn_to_dma = h_dma,
                                         .inject_msi = fz_hv_msi};

/* The partition and the vGPU are made once per process; every input
 * starts from a device-model reset (vgt_vgpu_reset: config space, GGTT,
 * fences, registers, interrupt and failsafe state as at creation). */
struct fz {
    struct fz_gpu *fg;
    struct fz_hv hv;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v;
};

static void vgpu_make(struct fz *z)
{
    struct vgt_vgpu_cfg vc = {.domid = 1, .hv = &z->hv.hv};

    z->fg->checking = false;
    /* Small ranges keep an input fast; the rules are the same. */
    if (vgt_vgpu_res_custom(4, 4, 2, &vc.res, NULL) || vgt_vgpu_create(z->gpu, &vc, &z->v))
        abort();
    vgt_vgpu_get_info(z->v, &z->fg->info);
    z->fg->checking = true;
}

static struct fz *setup(void)
{
    static struct fz z;
    struct vgt_gpu_cfg gc = {0};

    if (z.fg)
        return &z;
    /* Harness set-up, not fuzz input: nothing to recover from. */
    z.fg = calloc(1, sizeof(*z.fg));
    if (!z.fg)
        abort();
    for (uint64_t i = 0; i < NR_GGTT; i++)
        z.fg->ggtt[i] = (0x1234ull << 12) | 1;
    z.fg->hw = (struct vgt_hostgpu){.ops = &gpu_ops, .vendor = 0x8086, .device = 0x1912,
                                    .gm_size = GM, .aperture_size = APERTURE,
                                    .num_fences = 32, .scratch_dma = SCRATCH};
    z.hv.hv = (struct vgt_hv){.ops = &hv_ops, .domid = 1, .max_gfn = GUEST_PAGES};
    gc.hw = &z.fg->hw;
    /* A small host reservation keeps the GGTT (and each input) small. */
    gc.host_low = 8ull << 20;
    gc.host_high = 8ull << 20;
    if (vgt_gpu_create(&gc, &z.gpu))
        abort();
    vgpu_make(&z);
    return &z;
}

/* Back to the state right after creation, host side included. */
static void reset(struct fz *z)
{
    struct fz_gpu *f = z->fg;

    if (fuzz_fresh()) {
        vgt_vgpu_destroy(z->v);
        memset(f->regs, 0, sizeof(f->regs));
        f->wr_n = 0;
        vgpu_make(z);
        return;
    }
    vgt_vgpu_reset(z->v);
    if (f->wr_n > WR_LOG)
        memset(f->regs, 0, sizeof(f->regs));
    else
        for (unsigned i = 0; i < f->wr_n; i++)
            f->regs[f->wr_log[i] / 4] = 0;
    f->wr_n = 0;
}

/* What vgt_vgpu_get_info reports as BAR0 and BAR2 is what an attach maps
 * in the guest's physical space: never with memory decoding off, never
 * the all-ones sizing pattern, always aligned to the BAR's size. */
static void bars_check(struct vgt_vgpu *v)
{
    struct vgt_vgpu_info gi;
    uint32_t cmd = 0;

    vgt_vgpu_get_info(v, &gi);
    if (vgt_vgpu_cfg_read(v, VGT_CFG_COMMAND, 2, &cmd))
        abort();
    if (!(cmd & VGT_CMD_MEMORY) && (gi.bar0 || gi.bar2))
        abort();
    if ((gi.bar0 & (VGT_BAR0_SIZE - 1)) || (gi.bar2 & (APERTURE - 1)))
        abort();
    if (gi.bar0 == (~(VGT_BAR0_SIZE - 1) & ~0xfull) || gi.bar2 == (~(APERTURE - 1) & ~0xfull))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *z = setup();
    struct vgt_vgpu *v = z->v;
    const struct vgt_vgpu_info info = z->fg->info;

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
    bars_check(v);
    reset(z);
    return 0;
}

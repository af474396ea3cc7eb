/* Fuzz the vGPU's display engine with a hostile guest: register writes and
 * reads around the pipes, planes, ports, GMBUS and interrupts, whole DP
 * AUX messages (the AUX and I2C-over-AUX parser), GMBUS transactions,
 * the display clock jumping, vblank ticks, hotplug and resets.
 * Invariants after every step: the monitors' EDIDs are what the vGPU
 * was created with (valid, unchanged), the vGPU never goes to failsafe
 * for display input, frame counters never go backwards, and the display
 * never touches the host GPU (no host register or GGTT write).
 *
 * Input: records of 8 bytes: op, offset (2, LE), value (4, LE), extra;
 * an AUX record is followed by its 20 message bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/display.h"
#include "vgt/display_regs.h"
#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/vgpu.h"

#include "fuzz_fresh.h"
#include "fuzz_hv_sink.h"

#define GM (64ull << 20)
#define NR_GGTT (GM >> 12)
#define HARNESS __attribute__((no_sanitize("coverage")))

static const uint32_t bases[] = {0x60000, 0x61000, 0x62000, 0x63000, 0x64000, 0x70000,
                                 0x71000, 0x72000, 0x73000, 0x44000, 0xC4000, 0xC5000,
                                 0x45000, 0x46000, 0x6C000, 0x42000, 0x138000, 0xC2000};

struct fz {
    struct vgt_hostgpu hw;
    struct vgt_hv hv;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v;
    uint64_t ggtt[NR_GGTT];
    bool armed; /* the host must not be touched from here on */
    uint64_t now;
    uint8_t edid[VGT_MAX_HEADS][VGT_EDID_SIZE];
    uint32_t frames[VGT_MAX_PIPES];
    uint8_t scratch[4096]; /* the vGPU's scratch page */
    bool scratch_out;
};

#define FZ_SCRATCH_DMA 0x7f000000ull

HARNESS static uint32_t g_rd(struct vgt_hostgpu *g, uint32_t off)
{
    (void)g;
    (void)off;
    return 0;
}

HARNESS static void g_wr(struct vgt_hostgpu *g, uint32_t off, uint32_t v)
{
    (void)off;
    (void)v;
    if (((struct fz *)g)->armed)
        abort(); /* display emulation reached the host GPU */
}

HARNESS static int g_gw(struct vgt_hostgpu *g, uint64_t i, uint64_t pte)
{
    struct fz *z = (struct fz *)g;

    if (z->armed || i >= NR_GGTT)
        abort();
    z->ggtt[i] = pte;
    return 0;
}

HARNESS static int g_gr(struct vgt_hostgpu *g, uint64_t i, uint64_t *pte)
{
    if (i >= NR_GGTT)
        return -22;
    *pte = ((struct fz *)g)->ggtt[i];
    return 0;
}

/* One page: the vGPU's own scratch page (shadow-gtt allocates it at
 * create, before the host is armed). */
HARNESS static int g_alloc(struct vgt_hostgpu *g, uint64_t *dma, void **va)
{
    struct fz *z = (struct fz *)g;

    if (z->armed || z->scratch_out)
        return -12;
    z->scratch_out = true;
    *dma = FZ_SCRATCH_DMA;
    *va = z->scratch;
    return 0;
}

HARNESS static void g_free(struct vgt_hostgpu *g, uint64_t dma)
{
    struct fz *z = (struct fz *)g;

    if (dma != FZ_SCRATCH_DMA || !z->scratch_out)
        abort(); /* freeing a page it was not given */
    z->scratch_out = false;
}

static const struct vgt_hostgpu_ops gpu_ops = {.mmio_read32 = g_rd, .mmio_write32 = g_wr,
                                               .ggtt_write = g_gw, .ggtt_read = g_gr,
                                               .alloc_page = g_alloc, .free_page = g_free};

static int h_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    (void)hv;
    *dma = 0x100000000ull + (gfn << 12);
    return 0;
}

static const struct vgt_hv_ops hv_ops = {.read_gpa = fz_hv_read, .write_gpa = fz_hv_write, .gfn_to_dma = h_dma,
                                         .inject_msi = fz_hv_msi};

static uint64_t clock_of(void *opaque)
{
    return ((struct fz *)opaque)->now;
}

static void vgpu_make(struct fz *z)
{
    struct vgt_vgpu_cfg vc = {.domid = 1, .hv = &z->hv};

    z->armed = false;
    if (vgt_vgpu_res_custom(4, 4, 0, &vc.res, NULL) ||
        vgt_vgpu_res_display(&vc.res, VGT_MAX_HEADS, 1920, 1080, NULL) ||
        vgt_vgpu_create(z->gpu, &vc, &z->v))
        abort();
    for (unsigned h = 0; h < VGT_MAX_HEADS; h++)
        if (vgt_vgpu_edid(z->v, h, z->edid[h], VGT_EDID_SIZE) || !vgt_edid_valid(z->edid[h]))
            abort();
    memset(z->frames, 0, sizeof(z->frames));
    z->armed = true;
}

static struct fz *setup(void)
{
    static struct fz *z;
    struct vgt_gpu_cfg gc = {0};

    if (z)
        return z;
    z = calloc(1, sizeof(*z));
    if (!z)
        abort();
    z->hw = (struct vgt_hostgpu){.ops = &gpu_ops, .vendor = 0x8086, .device = 0x1912, .gm_size = GM,
                                 .aperture_size = GM / 2, .num_fences = 8, .scratch_dma = 0x1000};
    z->hv = (struct vgt_hv){.ops = &hv_ops, .domid = 1, .max_gfn = 1024};
    z->now = 1000000000ull;
    gc.hw = &z->hw;
    gc.host_low = 8ull << 20;
    gc.host_high = 8ull << 20;
    gc.host_fences = 1;
    gc.now_ns = clock_of; /* a clock the input drives: no vblank thread */
    gc.clock_opaque = z;
    if (vgt_gpu_create(&gc, &z->gpu))
        abort();
    vgpu_make(z);
    return z;
}

static void check(struct fz *z)
{
    uint8_t e[VGT_EDID_SIZE];
    uint64_t f;

    if (vgt_vgpu_in_failsafe(z->v))
        abort(); /* display input must be refused, not fatal */
    for (unsigned h = 0; h < VGT_MAX_HEADS; h++)
        if (vgt_vgpu_edid(z->v, h, e, sizeof(e)) || memcmp(e, z->edid[h], sizeof(e)))
            abort();
    for (unsigned p = 0; p < VGT_MAX_PIPES; p++) {
        if (vgt_vgpu_mmio_read(z->v, PIPE_FRMCOUNT(p), 4, &f))
            abort();
        if ((uint32_t)f < z->frames[p])
            abort(); /* a frame counter went backwards */
        z->frames[p] = (uint32_t)f;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *z = setup();
    size_t p = 0;

    while (p + 8 <= size) {
        uint8_t op = data[p], extra = data[p + 7];
        uint16_t o16;
        uint32_t off, val;
        uint64_t r;

        memcpy(&o16, data + p + 1, 2);
        memcpy(&val, data + p + 3, 4);
        off = bases[(op >> 3) % (sizeof(bases) / sizeof(bases[0]))] + (o16 & 0xffc);
        p += 8;
        switch (op & 7) {
        case 0:
            vgt_vgpu_mmio_write(z->v, off, 4, val);
            break;
        case 1:
            vgt_vgpu_mmio_read(z->v, off, 4, &r);
            break;
        case 2: { /* one AUX message on port A..D */
            unsigned port = val & 3;

            if (p + 20 > size)
                break;
            for (unsigned i = 0; i < 5; i++) {
                uint32_t w = (uint32_t)data[p + 4 * i] << 24 | (uint32_t)data[p + 4 * i + 1] << 16 |
                             (uint32_t)data[p + 4 * i + 2] << 8 | data[p + 4 * i + 3];

                vgt_vgpu_mmio_write(z->v, DP_AUX_CH_DATA(port, i), 4, w);
            }
            p += 20;
            vgt_vgpu_mmio_write(z->v, DP_AUX_CH_CTL(port), 4,
                                DP_AUX_CH_CTL_SEND_BUSY | (val & DP_AUX_CH_CTL_INTERRUPT) |
                                    (uint32_t)(extra & 31) << DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT);
            break;
        }
        case 3: /* a GMBUS transaction and some data reads */
            vgt_vgpu_mmio_write(z->v, PCH_GMBUS0, 4, extra & 7);
            vgt_vgpu_mmio_write(z->v, PCH_GMBUS1, 4, val);
            for (unsigned i = 0; i < (o16 & 63); i++)
                vgt_vgpu_mmio_read(z->v, PCH_GMBUS3, 4, &r);
            break;
        case 4: /* the clock moves: up to ~4 s */
            z->now += val;
            break;
        case 5:
            vgt_gpu_display_tick(z->gpu);
            break;
        case 6:
            vgt_vgpu_hotplug(z->v, val & 3, extra & 1);
            break;
        case 7:
            z->armed = false;
            vgt_vgpu_reset(z->v);
            memset(z->frames, 0, sizeof(z->frames));
            z->armed = true;
            break;
        }
        check(z);
    }
    z->armed = false;
    if (fuzz_fresh()) {
        vgt_vgpu_destroy(z->v);
        vgpu_make(z);
    } else {
        vgt_vgpu_reset(z->v);
        z->armed = true;
        memset(z->frames, 0, sizeof(z->frames));
    }
    return 0;
}

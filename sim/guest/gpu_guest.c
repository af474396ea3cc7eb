/* The guest GPU driver of the simulated platform (see vgt/sim_gpu_guest.h).
 *
 * Facts: PVINFO layout (i915_pvinfo.h, architecture document), PCI config
 * (PCI Local Bus 3.0: BARs 0x10/0x18, command 0x04; the vGPU's MSI cap at
 * 0xAC with control +2, address +4, data +8), execlists and the context
 * image (vgt/sim_gpu_regs.h, from i915 intel_lrc.c / intel_lrc_reg.h). */
#include "vgt/sim_gpu_guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/display_regs.h"
#include "vgt/gen8_gtt.h"
#include "vgt/gpu_workload.h"
#include "vgt/hostgpu.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/util.h"

#define PV_BASE 0x78000u
#define PV_MAGIC 0x4776544776544776ull
#define PV_CAPS 0x010u
#define PV_LOW_BASE 0x040u
#define PV_LOW_SIZE 0x044u
#define PV_HIGH_BASE 0x048u
#define PV_HIGH_SIZE 0x04Cu
#define PV_G2V 0x818u
#define PV_PDP0_LO 0x838u
#define PV_PDP0_HI 0x83Cu
#define CAP_FULL_PPGTT (1u << 2)
#define CAP_HWSP_EMU (1u << 3)
#define G2V_L4_CREATE 4u
#define G2V_L4_DESTROY 5u
#define MSI_CAP 0xACu
#define RING_PAGES 4
#define MAX_CTX 16

static const uint32_t engine_base[VGT_ENGINE_NUM] = {GEN9_RCS_BASE, GEN9_BCS_BASE, GEN9_VCS_BASE,
                                                     GEN9_VECS_BASE};

struct gg_ctx {
    unsigned engine;
    uint32_t id;
    struct gg_bo img, ring;
    uint32_t tail;
    uint64_t submitted, completed;
};

struct gg {
    struct gg_cfg cfg;
    uint64_t ram_next, ram_end;
    uint64_t low_base, low_size, high_base, high_size;
    uint64_t low_next, high_next;
    uint64_t va_next;
    uint64_t pml4;
    struct gg_bo hwsp[VGT_ENGINE_NUM];
    unsigned csb_rd[VGT_ENGINE_NUM];
    struct gg_ctx *ctx[MAX_CTX];
    unsigned nr_ctx;
    struct gg_stats st;
    struct gg_irq_counts irqs;
};

int gg_mmio_read32(struct gg *d, uint32_t off, uint32_t *val)
{
    uint64_t v;
    int rc = sim_guest_mmio_read(d->cfg.g, d->cfg.vcpu, d->cfg.bar0_gpa + off, 4, &v);

    *val = (uint32_t)v;
    return rc;
}

int gg_mmio_write32(struct gg *d, uint32_t off, uint32_t val)
{
    return sim_guest_mmio_write(d->cfg.g, d->cfg.vcpu, d->cfg.bar0_gpa + off, 4, val);
}

static int cfg_wr(struct gg *d, unsigned reg, unsigned size, uint32_t val)
{
    return sim_guest_pci_write(d->cfg.g, d->cfg.vcpu, 0, d->cfg.dev, 0, reg, size, val);
}

static int ram_alloc(struct gg *d, size_t bytes, uint64_t *gpa)
{
    bytes = (bytes + VGT_PAGE_SIZE - 1) & VGT_PAGE_MASK;
    if (d->ram_next + bytes > d->ram_end)
        return -ENOMEM;
    *gpa = d->ram_next;
    d->ram_next += bytes;
    return 0;
}

static int ram_w64(struct gg *d, uint64_t gpa, uint64_t v)
{
    return sim_guest_ram_write(d->cfg.g, d->cfg.vcpu, gpa, &v, 8);
}

static int ram_r64(struct gg *d, uint64_t gpa, uint64_t *v)
{
    return sim_guest_ram_read(d->cfg.g, d->cfg.vcpu, gpa, v, 8);
}

/* GGTT entry through the BAR0 window as i915 6.1 writes it: address |
 * present, no RW bit (gt/intel_ggtt.c gen8_ggtt_pte_encode). */
static int ggtt_map(struct gg *d, uint64_t gm, uint64_t gpa, size_t pages)
{
    for (size_t i = 0; i < pages; i++) {
        int rc = sim_guest_mmio_write(d->cfg.g, d->cfg.vcpu,
                                      d->cfg.bar0_gpa + GEN9_GGTT_OFFSET + ((gm >> 12) + i) * 8, 8,
                                      (gpa + i * VGT_PAGE_SIZE) | GEN8_PTE_PRESENT);
        if (rc)
            return rc;
    }
    return 0;
}

/* 4-level PPGTT in guest RAM: the guest-physical address of @va's leaf
 * entry, tables allocated on the way down. */
static int ppgtt_leaf(struct gg *d, uint64_t va, uint64_t *leaf)
{
    uint64_t table = d->pml4;

    for (int lvl = GEN8_LVL_PML4; lvl > GEN8_LVL_PT; lvl--) {
        uint64_t ent, e_gpa = table + gen8_pt_index(va, lvl) * 8;
        int rc = ram_r64(d, e_gpa, &ent);

        if (rc)
            return rc;
        if (!(ent & GEN8_PTE_PRESENT)) {
            uint64_t t;

            rc = ram_alloc(d, VGT_PAGE_SIZE, &t);
            if (!rc)
                rc = ram_w64(d, e_gpa, t | GEN8_PTE_PRESENT | GEN8_PTE_RW);
            if (rc)
                return rc;
            ent = t | GEN8_PTE_PRESENT;
        }
        table = ent & GEN8_PTE_ADDR_MASK;
    }
    *leaf = table + gen8_pt_index(va, GEN8_LVL_PT) * 8;
    return 0;
}

static int ppgtt_map(struct gg *d, uint64_t va, uint64_t gpa, size_t pages)
{
    for (size_t i = 0; i < pages; i++) {
        uint64_t leaf;
        int rc = ppgtt_leaf(d, va + i * VGT_PAGE_SIZE, &leaf);

        if (rc)
            return rc;
        if (ram_w64(d, leaf, (gpa + i * VGT_PAGE_SIZE) | GEN8_PTE_PRESENT | GEN8_PTE_RW))
            return -EFAULT;
    }
    return 0;
}

int gg_ppgtt_set_pte(struct gg *d, uint64_t va, uint64_t pte)
{
    uint64_t leaf;
    int rc = ppgtt_leaf(d, va & ~(uint64_t)(VGT_PAGE_SIZE - 1), &leaf);

    return rc ?: ram_w64(d, leaf, pte);
}

int gg_probe(const struct gg_cfg *cfg, struct gg **out)
{
    struct gg *d;
    uint32_t id, caps, v;
    uint64_t magic;
    int rc;

    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->cfg = *cfg;
    d->ram_next = (cfg->ram_base + VGT_PAGE_SIZE - 1) & VGT_PAGE_MASK;
    d->ram_end = cfg->ram_base + cfg->ram_size;
    rc = sim_guest_pci_read(cfg->g, cfg->vcpu, 0, cfg->dev, 0, 0, 4, &id);
    if (rc || id != (0x1912u << 16 | 0x8086u)) {
        rc = -ENODEV;
        goto free_d;
    }
    /* BAR0 (64-bit) where we want it, BAR2 out of the way above RAM, then
     * memory decoding and bus mastering. */
    rc = 0;
    if (!cfg->bars_placed) {
        rc = cfg_wr(d, 0x10, 4, (uint32_t)cfg->bar0_gpa);
        rc = rc ?: cfg_wr(d, 0x14, 4, (uint32_t)(cfg->bar0_gpa >> 32));
        rc = rc ?: cfg_wr(d, 0x18, 4, 0);
        rc = rc ?: cfg_wr(d, 0x1C, 4, 0x40u + cfg->dev);
    }
    rc = rc ?: cfg_wr(d, 0x04, 2, 0x6);
    /* MSI: address 0xFEE00000 (x86 LAPIC), our vector, enable. */
    if (!cfg->bars_placed) {
        rc = rc ?: cfg_wr(d, MSI_CAP + 4, 4, 0xFEE00000u);
        rc = rc ?: cfg_wr(d, MSI_CAP + 8, 2, cfg->msi_data);
        rc = rc ?: cfg_wr(d, MSI_CAP + 2, 2, 1);
    }
    if (rc)
        goto free_d;
    {
        uint64_t m;

        rc = sim_guest_mmio_read(cfg->g, cfg->vcpu, cfg->bar0_gpa + PV_BASE, 8, &m);
        magic = m;
    }
    rc = rc ?: gg_mmio_read32(d, PV_BASE + PV_CAPS, &caps);
    if (rc || magic != PV_MAGIC || (caps & (CAP_FULL_PPGTT | CAP_HWSP_EMU)) != (CAP_FULL_PPGTT | CAP_HWSP_EMU)) {
        rc = -EPROTO;
        goto free_d;
    }
    rc = gg_mmio_read32(d, PV_BASE + PV_LOW_BASE, &v);
    d->low_base = v;
    rc = rc ?: gg_mmio_read32(d, PV_BASE + PV_LOW_SIZE, &v);
    d->low_size = v;
    rc = rc ?: gg_mmio_read32(d, PV_BASE + PV_HIGH_BASE, &v);
    d->high_base = v;
    rc = rc ?: gg_mmio_read32(d, PV_BASE + PV_HIGH_SIZE, &v);
    d->high_size = v;
    if (rc || !d->low_size || !d->high_size) {
        rc = -EPROTO;
        goto free_d;
    }
    d->low_next = d->low_base;
    d->high_next = d->high_base;
    d->va_next = 0x0000100000000000ull; /* any canonical VA: PPGTT space is ours */
    /* Interrupts: user and context switch for RCS (bank 0, 15:0), BCS
     * (bank 0, 31:16), VCS (bank 1, 15:0) and VECS (bank 3, 15:0: i915
     * 6.1 gen8_gt_irq_postinstall), master on. */
    {
        uint32_t bits = GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT;

        rc = gg_mmio_write32(d, GEN8_GT_IER(0), bits | bits << 16);
        rc = rc ?: gg_mmio_write32(d, GEN8_GT_IMR(0), ~(bits | bits << 16));
        rc = rc ?: gg_mmio_write32(d, GEN8_GT_IER(1), bits);
        rc = rc ?: gg_mmio_write32(d, GEN8_GT_IMR(1), ~bits);
        rc = rc ?: gg_mmio_write32(d, GEN8_GT_IER(3), bits);
        rc = rc ?: gg_mmio_write32(d, GEN8_GT_IMR(3), ~bits);
        rc = rc ?: gg_mmio_write32(d, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    }
    /* The PPGTT: a PML4 in our RAM, announced with g2v L4 create. */
    rc = rc ?: ram_alloc(d, VGT_PAGE_SIZE, &d->pml4);
    rc = rc ?: gg_mmio_write32(d, PV_BASE + PV_PDP0_LO, (uint32_t)d->pml4);
    rc = rc ?: gg_mmio_write32(d, PV_BASE + PV_PDP0_HI, (uint32_t)(d->pml4 >> 32));
    rc = rc ?: gg_mmio_write32(d, PV_BASE + PV_G2V, G2V_L4_CREATE);
    if (rc)
        goto free_d;
    *out = d;
    return 0;

free_d:
    free(d);
    return rc;
}

/* As i915 6.1 gen8_ppgtt_notify_vgt(ppgtt, false) on the PPGTT's release:
 * the PML4 address in pdp[0] (lo, hi), then the notify. */
int gg_ppgtt_release(struct gg *d)
{
    int rc = gg_mmio_write32(d, PV_BASE + PV_PDP0_LO, (uint32_t)d->pml4);

    rc = rc ?: gg_mmio_write32(d, PV_BASE + PV_PDP0_HI, (uint32_t)(d->pml4 >> 32));
    return rc ?: gg_mmio_write32(d, PV_BASE + PV_G2V, G2V_L4_DESTROY);
}

void gg_destroy(struct gg *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->nr_ctx; i++)
        free(d->ctx[i]);
    free(d);
}

void gg_ranges(const struct gg *d, uint64_t *low_base, uint64_t *low_size, uint64_t *high_base,
               uint64_t *high_size)
{
    *low_base = d->low_base;
    *low_size = d->low_size;
    *high_base = d->high_base;
    *high_size = d->high_size;
}

int gg_bo_create(struct gg *d, size_t size, bool ggtt, bool high, bool ppgtt, struct gg_bo *out)
{
    size_t pages = (size + VGT_PAGE_SIZE - 1) / VGT_PAGE_SIZE;
    int rc;

    memset(out, 0, sizeof(*out));
    out->size = pages * VGT_PAGE_SIZE;
    rc = ram_alloc(d, out->size, &out->gpa);
    if (rc)
        return rc;
    if (ggtt) {
        uint64_t *next = high ? &d->high_next : &d->low_next;
        uint64_t end = high ? d->high_base + d->high_size : d->low_base + d->low_size;

        if (*next + out->size > end)
            return -ENOSPC;
        out->gm = *next;
        *next += out->size;
        rc = ggtt_map(d, out->gm, out->gpa, pages);
        if (rc)
            return rc;
    }
    if (ppgtt) {
        out->va = d->va_next;
        d->va_next += out->size + VGT_PAGE_SIZE; /* a guard page between buffers */
        rc = ppgtt_map(d, out->va, out->gpa, pages);
    }
    return rc;
}

int gg_bo_write(struct gg *d, const struct gg_bo *bo, size_t off, const void *src, size_t len)
{
    if (off > bo->size || len > bo->size - off)
        return -EINVAL;
    return sim_guest_ram_write(d->cfg.g, d->cfg.vcpu, bo->gpa + off, src, len);
}

int gg_bo_read(struct gg *d, const struct gg_bo *bo, size_t off, void *dst, size_t len)
{
    if (off > bo->size || len > bo->size - off)
        return -EINVAL;
    return sim_guest_ram_read(d->cfg.g, d->cfg.vcpu, bo->gpa + off, dst, len);
}

int gg_ctx_reg(struct gg *d, struct gg_ctx *c, unsigned idx, uint32_t *val, bool write)
{
    uint64_t gpa = c->img.gpa + LRC_STATE_PN * VGT_PAGE_SIZE + idx * 4ull;

    if (idx >= CTX_REG_STATE_DWORDS)
        return -EINVAL;
    return write ? sim_guest_ram_write(d->cfg.g, d->cfg.vcpu, gpa, val, 4)
                 : sim_guest_ram_read(d->cfg.g, d->cfg.vcpu, gpa, val, 4);
}

struct gg_bo gg_ctx_ring(const struct gg_ctx *c)
{
    return c->ring;
}

struct gg_bo gg_ctx_img(const struct gg_ctx *c)
{
    return c->img;
}

int gg_ctx_create(struct gg *d, unsigned engine, struct gg_ctx **out)
{
    struct gg_ctx *c;
    uint32_t b;
    int rc;

    if (engine >= VGT_ENGINE_NUM || d->nr_ctx >= MAX_CTX)
        return -EINVAL;
    b = engine_base[engine];
    if (!d->hwsp[engine].gpa) {
        uint32_t wp = GEN8_CSB_ENTRIES - 1;

        rc = gg_bo_create(d, VGT_PAGE_SIZE, true, false, false, &d->hwsp[engine]);
        /* Reset value of the CSB write index: the first event is entry 0. */
        rc = rc ?: gg_bo_write(d, &d->hwsp[engine], I915_HWS_CSB_WRITE_INDEX * 4, &wp, 4);
        rc = rc ?: gg_mmio_write32(d, b + RING_HWS_PGA, (uint32_t)d->hwsp[engine].gm);
        if (rc)
            return rc;
        d->csb_rd[engine] = GEN8_CSB_ENTRIES - 1;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->engine = engine;
    c->id = d->nr_ctx + 1;
    rc = gg_bo_create(d, 2 * VGT_PAGE_SIZE, true, false, false, &c->img);
    rc = rc ?: gg_bo_create(d, RING_PAGES * VGT_PAGE_SIZE, true, false, false, &c->ring);
    if (!rc) {
        const struct { unsigned idx; uint32_t reg, val; } regs[] = {
            {CTX_CONTEXT_CONTROL, b + RING_CONTEXT_CONTROL, 0},
            {CTX_RING_HEAD, b + RING_HEAD, 0},
            {CTX_RING_TAIL, b + RING_TAIL, 0},
            {CTX_RING_START, b + RING_START, (uint32_t)c->ring.gm},
            {CTX_RING_CTL, b + RING_CTL, RING_CTL_SIZE(RING_PAGES * 4096u) | RING_CTL_VALID},
            {CTX_PDP0_UDW, b + RING_PDP_UDW(0), (uint32_t)(d->pml4 >> 32)},
            {CTX_PDP0_LDW, b + RING_PDP_LDW(0), (uint32_t)d->pml4},
        };

        for (size_t i = 0; i < VGT_ARRAY_SIZE(regs) && !rc; i++) {
            uint32_t r = regs[i].reg;

            rc = gg_ctx_reg(d, c, regs[i].idx - 1, &r, true);
            rc = rc ?: gg_ctx_reg(d, c, regs[i].idx, (uint32_t *)&regs[i].val, true);
        }
    }
    if (rc) {
        free(c);
        return rc;
    }
    d->ctx[d->nr_ctx++] = c;
    *out = c;
    return 0;
}

uint64_t gg_ctx_desc(const struct gg_ctx *c)
{
    return GEN8_CTX_VALID | GEN8_CTX_PRIVILEGE |
           ((uint64_t)INTEL_LEGACY_64B_CONTEXT << GEN8_CTX_ADDRESSING_MODE_SHIFT) |
           (c->img.gm & GEN8_CTX_LRCA_MASK) | (uint64_t)c->id << 32;
}

int gg_elsp(struct gg *d, unsigned engine, uint64_t desc0, uint64_t desc1)
{
    uint32_t r = engine_base[engine] + RING_ELSP;
    int rc;

    /* element 1 (upper, lower), then element 0: the fourth write submits */
    rc = gg_mmio_write32(d, r, (uint32_t)(desc1 >> 32));
    rc = rc ?: gg_mmio_write32(d, r, (uint32_t)desc1);
    rc = rc ?: gg_mmio_write32(d, r, (uint32_t)(desc0 >> 32));
    rc = rc ?: gg_mmio_write32(d, r, (uint32_t)desc0);
    return rc;
}

/* Append @cmds to @c's ring and publish the tail in its image. */
static int ring_append(struct gg *d, struct gg_ctx *c, const uint32_t *cmds, size_t ndw)
{
    uint32_t size = RING_PAGES * 4096u;
    uint32_t bytes = (uint32_t)ndw * 4;
    uint32_t noop = 0;
    int rc;

    if (bytes + 8 > size / 2)
        return -EINVAL;
    if (c->tail + bytes + 8 > size) {
        /* pad to the end with MI_NOOPs and wrap */
        while (c->tail < size) {
            rc = gg_bo_write(d, &c->ring, c->tail, &noop, 4);
            if (rc)
                return rc;
            c->tail += 4;
        }
        c->tail = 0;
    }
    rc = gg_bo_write(d, &c->ring, c->tail, cmds, bytes);
    if (rc)
        return rc;
    c->tail += bytes;
    if (c->tail & 7) {
        rc = gg_bo_write(d, &c->ring, c->tail, &noop, 4);
        c->tail += 4;
    }
    c->tail %= size;
    rc = rc ?: gg_ctx_reg(d, c, CTX_RING_TAIL, &c->tail, true);
    if (rc)
        return rc;
    c->submitted++;
    d->st.submissions++;
    return 0;
}

int gg_submit(struct gg *d, struct gg_ctx *c, const uint32_t *cmds, size_t ndw)
{
    int rc = ring_append(d, c, cmds, ndw);

    return rc ?: gg_elsp(d, c->engine, gg_ctx_desc(c), 0);
}

int gg_submit2(struct gg *d, struct gg_ctx *c0, const uint32_t *cmds0, size_t ndw0, struct gg_ctx *c1,
               const uint32_t *cmds1, size_t ndw1)
{
    int rc;

    if (c0->engine != c1->engine || c0 == c1)
        return -EINVAL;
    rc = ring_append(d, c0, cmds0, ndw0);
    rc = rc ?: ring_append(d, c1, cmds1, ndw1);
    return rc ?: gg_elsp(d, c0->engine, gg_ctx_desc(c0), gg_ctx_desc(c1));
}

/* New CSB entries of @engine, from our HWSP copy. */
static void process_csb(struct gg *d, unsigned engine)
{
    uint32_t wp;

    if (!d->hwsp[engine].gpa || gg_bo_read(d, &d->hwsp[engine], I915_HWS_CSB_WRITE_INDEX * 4, &wp, 4) ||
        wp >= GEN8_CSB_ENTRIES)
        return;
    while (d->csb_rd[engine] != wp) {
        uint32_t e[2];

        d->csb_rd[engine] = (d->csb_rd[engine] + 1) % GEN8_CSB_ENTRIES;
        if (gg_bo_read(d, &d->hwsp[engine], (I915_HWS_CSB_BUF0_INDEX + 2 * d->csb_rd[engine]) * 4, e, 8))
            return;
        if ((e[0] & GEN8_CTX_STATUS_COMPLETE) && e[1] >= 1 && e[1] <= d->nr_ctx) {
            d->ctx[e[1] - 1]->completed++;
            d->st.completions++;
        }
    }
}

/* Display interrupts, as i915's gen8_de_irq_handler acks them: each
 * pipe's IIR, the port IIR (AUX done), the south IIR (hotplug, with the
 * sticky status in PCH_PORT_HOTPLUG). */
static void de_irq_ack(struct gg *d, uint32_t master)
{
    uint32_t iir;

    for (unsigned p = 0; p < VGT_MAX_PIPES; p++) {
        if (!(master & GEN8_DE_PIPE_IRQ(p)) || gg_mmio_read32(d, GEN8_DE_PIPE_IIR(p), &iir) || !iir)
            continue;
        gg_mmio_write32(d, GEN8_DE_PIPE_IIR(p), iir);
        if (iir & GEN8_PIPE_VBLANK)
            d->irqs.vblank[p]++;
        if (iir & GEN9_PIPE_PLANE1_FLIP_DONE)
            d->irqs.flip_done[p]++;
    }
    if ((master & GEN8_DE_PORT_IRQ) && !gg_mmio_read32(d, GEN8_DE_PORT_IIR, &iir) && iir) {
        gg_mmio_write32(d, GEN8_DE_PORT_IIR, iir);
        d->irqs.aux++;
    }
    if ((master & GEN8_DE_PCH_IRQ) && !gg_mmio_read32(d, SDEIIR, &iir) && iir) {
        uint32_t hp;

        if (!gg_mmio_read32(d, PCH_PORT_HOTPLUG, &hp))
            gg_mmio_write32(d, PCH_PORT_HOTPLUG, hp); /* clear the sticky status */
        gg_mmio_write32(d, SDEIIR, iir);
        d->irqs.hotplug++;
    }
}

/* The interrupt handler (i915 gen8_irq_handler, reduced): GT bank 0 as
 * before; display banks when the master says so, with the master off
 * meanwhile so that later events raise a new MSI. */
static void irq_handle(struct gg *d)
{
    uint32_t iir, master = 0;

    /* Where each engine's bits are (i915 6.1 gen8_gt_irq_handler):
     * bank, shift. */
    static const struct { unsigned bank, shift; } gt[VGT_ENGINE_NUM] = {
        [VGT_ENGINE_RCS] = {0, GEN8_RCS_IRQ_SHIFT},
        [VGT_ENGINE_BCS] = {0, GEN8_BCS_IRQ_SHIFT},
        [VGT_ENGINE_VCS] = {1, GEN8_VCS0_IRQ_SHIFT},
        [VGT_ENGINE_VECS] = {3, GEN8_VECS_IRQ_SHIFT},
    };
    uint32_t banks[4] = {0};

    /* Ack what fired in the GT banks (RCS/BCS, VCS, -, VECS;
     * write-one-to-clear). */
    for (unsigned bank = 0; bank < 4; bank++)
        if (!gg_mmio_read32(d, GEN8_GT_IIR(bank), &iir) && iir) {
            gg_mmio_write32(d, GEN8_GT_IIR(bank), iir);
            banks[bank] = iir;
        }
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        uint32_t bits = banks[gt[e].bank] >> gt[e].shift;

        d->irqs.user[e] += !!(bits & GT_RENDER_USER_INTERRUPT);
        d->irqs.ctx_switch[e] += !!(bits & GT_CONTEXT_SWITCH_INTERRUPT);
    }
    if (gg_mmio_read32(d, GEN8_MASTER_IRQ, &master) || !(master & 0x00ff0000u))
        return;
    gg_mmio_write32(d, GEN8_MASTER_IRQ, 0);
    de_irq_ack(d, master);
    gg_mmio_write32(d, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
}

void gg_irq_poll(struct gg *d, int wait_ms)
{
    struct sim_msi msi;

    if (wait_ms > 0 && sim_guest_wait_msi(d->cfg.g, wait_ms, &msi) == 0)
        d->st.interrupts++;
    irq_handle(d);
}

void gg_irq_counts(const struct gg *d, struct gg_irq_counts *c)
{
    *c = d->irqs;
}

int gg_wait(struct gg *d, struct gg_ctx *c, unsigned timeout_ms)
{
    uint64_t t0 = vgt_now_ns();

    for (;;) {
        struct sim_msi msi;

        process_csb(d, c->engine);
        if (c->completed >= c->submitted)
            return 0;
        if ((vgt_now_ns() - t0) / 1000000ull >= timeout_ms)
            return -ETIMEDOUT;
        if (sim_guest_wait_msi(d->cfg.g, 2, &msi) == 0) {
            d->st.interrupts++;
            irq_handle(d);
        }
    }
}

void gg_get_stats(const struct gg *d, struct gg_stats *st)
{
    *st = d->st;
}

/* --- workloads ---------------------------------------------------------- */

#define STORE_SLOTS 1024
#define BATCH_SLOT 64

int gg_run_init(struct gg_run *r, struct gg *d, enum gg_workload wl, uint32_t blit_w, uint32_t blit_h,
                uint32_t seed)
{
    size_t bytes = (size_t)blit_w * blit_h * 4;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->d = d;
    r->wl = wl;
    r->blit_w = blit_w;
    r->blit_h = blit_h;
    r->seed = seed;
    if (wl != GG_WL_STORE) {
        if (!blit_w || !blit_h || blit_w > 8191)
            return -EINVAL;
        r->staging = malloc(bytes);
        if (!r->staging)
            return -ENOMEM;
        rc = gg_ctx_create(d, VGT_ENGINE_BCS, &r->bcs);
        /* Blits run from GGTT batches on GGTT buffers in the high range. */
        rc = rc ?: gg_bo_create(d, bytes, true, true, false, &r->src);
        rc = rc ?: gg_bo_create(d, bytes, true, true, false, &r->dst);
        rc = rc ?: gg_bo_create(d, VGT_PAGE_SIZE, true, false, false, &r->bbatch);
    }
    if (!rc && wl != GG_WL_BLIT) {
        rc = gg_ctx_create(d, VGT_ENGINE_RCS, &r->rcs);
        /* Stores run from PPGTT batches into a PPGTT result page. */
        rc = rc ?: gg_bo_create(d, VGT_PAGE_SIZE, false, false, true, &r->sbatch);
        rc = rc ?: gg_bo_create(d, STORE_SLOTS * 4, false, false, true, &r->result);
    }
    if (rc)
        gg_run_fini(r);
    return rc;
}

void gg_run_fini(struct gg_run *r)
{
    free(r->staging);
    r->staging = NULL;
}

static void note_failure(struct gg_run *r, const char *what, uint32_t a, uint32_t b)
{
    r->failures++;
    if (!r->first_failure[0])
        snprintf(r->first_failure, sizeof(r->first_failure), "%s (%u, %u)", what, a, b);
}

static int blit_submit(struct gg_run *r, uint32_t color)
{
    uint32_t cs[GWL_COLOR_BLT_DW + GWL_SRC_COPY_BLT_DW + GWL_FLUSH_DW_DW + GWL_BB_END_DW];
    uint32_t ring[GWL_BB_START_DW + GWL_NOOP_DW];
    uint32_t pitch = r->blit_w * 4;
    size_t k = 0, n;
    int rc;

    k += gwl_emit_color_blt(cs + k, r->src.gm, pitch, 0, 0, r->blit_w, r->blit_h, color);
    k += gwl_emit_src_copy_blt(cs + k, r->dst.gm, pitch, 0, 0, r->blit_w, r->blit_h, r->src.gm, pitch, 0, 0);
    k += gwl_emit_flush_dw(cs + k, r->bbatch.gm + 2048, true, r->seq);
    k += gwl_emit_bb_end(cs + k);
    rc = gg_bo_write(r->d, &r->bbatch, 0, cs, k * 4);
    if (rc)
        return rc;
    n = gwl_emit_bb_start(ring, r->bbatch.gm, false, false);
    n += gwl_emit_noop(ring + n);
    return gg_submit(r->d, r->bcs, ring, n);
}

static int blit_check(struct gg_run *r, uint32_t color)
{
    uint32_t bx, by;
    int rc = gg_bo_read(r->d, &r->dst, 0, r->staging, (size_t)r->blit_w * r->blit_h * 4);

    if (rc)
        return rc;
    if (gwl_check_fill(r->staging, r->blit_w * 4, r->blit_w, r->blit_h, color, &bx, &by))
        note_failure(r, "blit pixel wrong at", bx, by);
    else
        r->blits++;
    r->blit_bytes += (uint64_t)r->blit_w * r->blit_h * 8;
    return 0;
}

static int store_submit(struct gg_run *r)
{
    uint32_t cs[GWL_SDI_DW + GWL_BB_END_DW], ring[GWL_BB_START_DW + GWL_NOOP_DW];
    size_t slot = (r->seq % (VGT_PAGE_SIZE / BATCH_SLOT)) * BATCH_SLOT;
    size_t k = 0;
    int rc;

    k += gwl_emit_sdi(cs + k, r->result.va + (r->seq % STORE_SLOTS) * 4, false, r->seq ^ r->seed);
    k += gwl_emit_bb_end(cs + k);
    rc = gg_bo_write(r->d, &r->sbatch, slot, cs, k * 4);
    if (rc)
        return rc;
    k = gwl_emit_bb_start(ring, r->sbatch.va + slot, true, false);
    k += gwl_emit_noop(ring + k);
    return gg_submit(r->d, r->rcs, ring, k);
}

static int store_check(struct gg_run *r)
{
    uint32_t got;
    int rc = gg_bo_read(r->d, &r->result, (r->seq % STORE_SLOTS) * 4, &got, 4);

    if (rc)
        return rc;
    if (got != (r->seq ^ r->seed))
        note_failure(r, "store slot holds the wrong value", r->seq % STORE_SLOTS, got);
    else
        r->stores++;
    return 0;
}

int gg_run_step(struct gg_run *r, unsigned timeout_ms)
{
    uint32_t color = gwl_pattern(r->seed, r->seq, 7) | 0xff000000u;
    bool blit = r->wl != GG_WL_STORE, store = r->wl != GG_WL_BLIT;
    int rc = 0;

    r->seq++;
    if (blit)
        rc = blit_submit(r, color);
    /* Blit-only guests keep two submissions in flight, as a busy driver
     * does, so the scheduler always has their next one queued. */
    if (!rc && blit && !store)
        rc = blit_submit(r, color);
    if (!rc && store)
        rc = store_submit(r);
    if (!rc && blit)
        rc = gg_wait(r->d, r->bcs, timeout_ms);
    if (!rc && store)
        rc = gg_wait(r->d, r->rcs, timeout_ms);
    if (!rc && blit)
        rc = blit_check(r, color);
    if (!rc && blit && !store && r->failures == 0) {
        r->blits++; /* the second, identical submission */
        r->blit_bytes += (uint64_t)r->blit_w * r->blit_h * 8;
    }
    if (!rc && store)
        rc = store_check(r);
    return rc;
}

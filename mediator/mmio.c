/* The vGPU register file: a const table, an O(1) index and the dispatch
 * rules documented in vgt/mmio_table.h. Offsets are from Linux i915
 * (i915_reg.h, gt/intel_gt_regs.h, gt/intel_engine_regs.h) and
 * i915_pvinfo.h, collected in vgt/vgpu_regs.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgpu_priv.h"
#include "vgt/util.h"

static bool in_failsafe(const struct vgt_vgpu *v)
{
    return v->failsafe;
}

static unsigned engine_of(uint32_t off)
{
    switch (off & ~0xfffu) {
    case BLT_RING_BASE:
        return VGT_ENGINE_BCS;
    case GEN6_BSD_RING_BASE:
        return VGT_ENGINE_VCS;
    case VEBOX_RING_BASE:
        return VGT_ENGINE_VECS;
    default:
        return VGT_ENGINE_RCS;
    }
}

/* ---- handlers ---- */

static int g2v_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    uint64_t pdp[4], desc;
    int ret;

    v->vreg[off / 4] = val;
    v->st.g2v_notify++;
    if (val < VGT_G2V_PPGTT_L3_PAGE_TABLE_CREATE || val > VGT_G2V_EXECLIST_CONTEXT_DESTROY) {
        v->st.g2v_invalid++;
        vgt_warn(v->log, "vgpu%u: unknown g2v_notify code %u ignored", v->id, val);
        return 0;
    }
    if (in_failsafe(v)) {
        v->st.failsafe_dropped++;
        return 0;
    }
    if (!v->hooks.g2v_notify)
        return 0;
    for (unsigned i = 0; i < 4; i++)
        pdp[i] = (uint64_t)v->vreg[(VGT_PVINFO_PAGE + VGT_PV_PDP(i, 1)) / 4] << 32 |
                 v->vreg[(VGT_PVINFO_PAGE + VGT_PV_PDP(i, 0)) / 4];
    desc = (uint64_t)v->vreg[(VGT_PVINFO_PAGE + VGT_PV_EXECLIST_DESC_HI) / 4] << 32 |
           v->vreg[(VGT_PVINFO_PAGE + VGT_PV_EXECLIST_DESC_LO) / 4];
    ret = v->hooks.g2v_notify(v->hooks.opaque, v, val, pdp, desc);
    if (ret)
        vgt_vgpu_enter_failsafe(v, VGT_FAILSAFE_GUEST_ERROR, "g2v_notify refused by the submission path");
    return 0;
}

/* GT interrupt group of a master bit, and the IIR half it summarises. */
static const struct {
    uint32_t master_bit;
    unsigned gt;
    uint32_t iir_mask;
} master_map[] = {
    {GEN8_GT_RCS_IRQ, 0, 0x0000ffffu},
    {GEN8_GT_BCS_IRQ, 0, 0xffff0000u},
    {GEN8_GT_VCS0_IRQ, 1, 0x0000ffffu},
    {GEN8_GT_VCS1_IRQ, 1, 0xffff0000u},
    {GEN8_GT_VECS_IRQ, 3, 0x0000ffffu},
};

static int master_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    uint32_t r;

    vgt_display_catch_up(v); /* vblanks up to now are in the DE IIRs */
    r = (v->vreg[off / 4] & GEN8_MASTER_IRQ_CONTROL) | vgt_display_master_bits(v);

    for (size_t i = 0; i < VGT_ARRAY_SIZE(master_map); i++)
        if (v->vreg[GEN8_GT_IIR(master_map[i].gt) / 4] & master_map[i].iir_mask)
            r |= master_map[i].master_bit;
    *val = r;
    return 0;
}

static int master_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] = val & GEN8_MASTER_IRQ_CONTROL;
    vgt_vgpu_update_irq(v);
    return 0;
}

/* IIR bits are write-one-to-clear. @val here went through ro_mask 0, so it
 * is the written value itself. */
static int iir_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] &= ~val;
    vgt_vgpu_update_irq(v);
    return 0;
}

static int irq_reg_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] = val;
    vgt_vgpu_update_irq(v);
    return 0;
}

/* Every domain i915 uses on Skylake (full, render, media, blitter, vebox,
 * GuC) completes at once: the bits read back clear, which
 * gen6_hw_domain_reset polls for. A GuC reset leaves the GuC's MIA core in
 * reset; the vGPU has no GuC, so GUC_STATUS always says so (its row). */
static int gdrst_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    vgt_vgpu_guest_reset(v, val);
    v->vreg[off / 4] = 0; /* the hardware clears the bits when done */
    return 0;
}

/* The guest's fence i is host fence fence_base + i. A valid fence must
 * cover graphics memory inside the vGPU's ranges; anything else is
 * refused and the host fence left disabled. */
static int fence_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    unsigned i = (off - FENCE_REG_GEN6_LO(0)) / 8;
    uint32_t lo, hi;

    v->vreg[off / 4] = val;
    if (i >= v->res.fences)
        return 0; /* not its fence: stays virtual */
    if (in_failsafe(v)) {
        v->st.failsafe_dropped++;
        return 0;
    }
    lo = v->vreg[FENCE_REG_GEN6_LO(i) / 4];
    hi = v->vreg[FENCE_REG_GEN6_HI(i) / 4];
    if (lo & I965_FENCE_REG_VALID) {
        uint64_t start = lo & 0xfffff000u, end = (uint64_t)(hi & 0xfffff000u) + VGT_FENCE_PAGE;

        if (end <= start || !vgt_ggtt_gm_valid(v->ggtt, start, end - start)) {
            v->st.fence_refused++;
            vgt_warn(v->log, "vgpu%u: fence %u [%#llx, %#llx) outside its graphics memory refused",
                     v->id, i, (unsigned long long)start, (unsigned long long)end);
            lo = 0;
            hi = 0;
        }
    }
    /* Kept with its GGTT entries: loaded now only where this vGPU owns
     * the host fence (it may share it, docs/vgpu.md). */
    return vgt_ggtt_set_fence(v->ggtt, i, lo, hi);
}

static uint32_t fw_ack_of(uint32_t off)
{
    switch (off) {
    case FORCEWAKE_MEDIA_GEN9:
        return FORCEWAKE_ACK_MEDIA_GEN9;
    case FORCEWAKE_BLITTER_GEN9:
        return FORCEWAKE_ACK_BLITTER_GEN9;
    default:
        return FORCEWAKE_ACK_RENDER_GEN9;
    }
}

/* A virtual GPU is always awake: the ack follows the request at once. */
static int forcewake_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] = val;
    v->vreg[fw_ack_of(off) / 4] = val & 0xffffu;
    return 0;
}

/* The vGPU's engines are always idle between the guest's submissions as
 * far as a reset is concerned (the mediator owns the real engine): ready to
 * reset as soon as asked, no longer once the request is withdrawn. */
static int reset_ctl_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] = (val & ~RESET_CTL_READY_TO_RESET) |
                       ((val & RESET_CTL_REQUEST_RESET) ? RESET_CTL_READY_TO_RESET : 0);
    return 0;
}

/* Engine error identity: write one to clear (i915 writes ~0 to clear). */
static int w1c_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] &= ~val;
    return 0;
}

/* A TLB invalidation request completes before it can be read back. */
static int tlb_inv_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    (void)val;
    v->vreg[off / 4] = 0;
    return 0;
}

static int elsp_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    /* ELSP is write-only on hardware: nothing is stored. */
    if (in_failsafe(v)) {
        v->st.failsafe_dropped++;
        return 0;
    }
    if (v->hooks.elsp_write && v->hooks.elsp_write(v->hooks.opaque, v, engine_of(off), val))
        vgt_vgpu_enter_failsafe(v, VGT_FAILSAFE_GUEST_ERROR, "execlist submission refused");
    return 0;
}

static int elsp_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    (void)v;
    (void)off;
    *val = 0;
    return 0;
}

static int execlist_write(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    v->vreg[off / 4] = val;
    if (in_failsafe(v) || !v->hooks.execlist_write)
        return 0;
    if (v->hooks.execlist_write(v->hooks.opaque, v, engine_of(off), off, val))
        vgt_vgpu_enter_failsafe(v, VGT_FAILSAFE_GUEST_ERROR, "execlist register write refused");
    return 0;
}

static int execlist_read(struct vgt_vgpu *v, uint32_t off, uint32_t *val)
{
    *val = v->vreg[off / 4];
    if (!in_failsafe(v) && v->hooks.execlist_read)
        return v->hooks.execlist_read(v->hooks.opaque, v, engine_of(off), off, val);
    return 0;
}

/* ---- the table ---- */

#define RO 0xffffffffu
#define ALL VGT_PLAT_GEN9
#define PV(o) (VGT_PVINFO_PAGE + (o))
#define PVF (VGT_REG_F_PVINFO | VGT_REG_F_BYTE)
#define EL VGT_REG_F_EXECLIST
#define MM VGT_REG_F_MODE_MASK

#define ENGINE_ROWS(b)                                                                      \
    {RING_TAIL(b), 4, 0, 0, 0, ALL, NULL, NULL},                                            \
    {RING_HEAD(b), 4, 0, 0, 0, ALL, NULL, NULL},                                            \
    {RING_START(b), 4, 0, 0, VGT_REG_F_GMADR, ALL, NULL, NULL},                             \
    {RING_CTL(b), 4, 0, 0, 0, ALL, NULL, NULL},                                             \
    {RING_HWS_PGA(b), 4, 0, 0, VGT_REG_F_GMADR | EL, ALL, execlist_read, execlist_write},   \
    /* The vGPU's engine is idle to the guest whenever it stops it (as    \
     * gvt's vreg keeps the idle snapshot): MODE_IDLE reads set. */        \
    {RING_MI_MODE(b), 4, MODE_IDLE, MODE_IDLE, MM | VGT_REG_F_CMD_ACCESS, ALL, NULL, NULL}, \
    {RING_HWSTAM(b), 4, 0, 0, 0, ALL, NULL, NULL},                                          \
    {RING_IMR(b), 4, 0xffffffffu, 0, 0, ALL, NULL, NULL},                                   \
    {RING_EIR(b), 4, 0, 0, 0, ALL, NULL, w1c_write},                                        \
    {RING_EMR(b), 4, 0, 0, 0, ALL, NULL, NULL},                                             \
    {RING_ESR(b), 4, 0, RO, 0, ALL, NULL, NULL}, /* no engine error */                     \
    {RING_ELSP(b), 4, 0, 0, EL, ALL, elsp_read, elsp_write},                                \
    {RING_EXECLIST_STATUS_LO(b), 8, 0, RO, EL, ALL, execlist_read, NULL},                   \
    {RING_CONTEXT_CONTROL(b), 4, 0, 0, MM | EL, ALL, execlist_read, execlist_write},        \
    {GEN8_RING_PDP_LDW(b, 0), 32, 0, 0, EL | VGT_REG_F_CMD_ACCESS, ALL, execlist_read,      \
     execlist_write},                                                                       \
    {RING_MODE_GEN7(b), 4, 0, 0, MM | EL, ALL, execlist_read, execlist_write},              \
    {RING_CONTEXT_STATUS_BUF_LO(b, 0), 48, 0, RO, EL, ALL, execlist_read, NULL},            \
    {RING_CONTEXT_STATUS_PTR(b), 4, VGT_CSB_PTR_RESET, 0, MM | EL, ALL, execlist_read,     \
     execlist_write},                                                                       \
    {RING_RESET_CTL(b), 4, 0, RESET_CTL_READY_TO_RESET, MM, ALL, NULL, reset_ctl_write}

static const struct vgt_mmio_reg mmio_table[] = {
    /* PVINFO: the whole page read-only, then the guest-writable fields
     * (i915_pvinfo.h struct vgt_if). */
    {VGT_PVINFO_PAGE, VGT_PVINFO_SIZE, 0, RO, PVF, ALL, NULL, NULL},
    {PV(VGT_PV_DISPLAY_READY), 4, 0, 0, PVF, ALL, NULL, NULL},
    {PV(VGT_PV_RSV5), 16, 0, 0, PVF, ALL, NULL, NULL},
    {PV(VGT_PV_G2V_NOTIFY), 4, 0, 0, PVF, ALL, NULL, g2v_write},
    {PV(VGT_PV_CURSOR_X_HOT), 8, 0, 0, PVF, ALL, NULL, NULL},
    {PV(VGT_PV_PDP(0, 0)), 32, 0, 0, PVF, ALL, NULL, NULL},
    {PV(VGT_PV_EXECLIST_DESC_LO), 8, 0, 0, PVF, ALL, NULL, NULL},

    /* Interrupts */
    {GEN8_MASTER_IRQ, 4, 0, 0, 0, ALL, master_read, master_write},
    VGT_IRQ_BANK_ROWS(GEN8_GT_ISR(0), ALL, irq_reg_write, iir_write),
    VGT_IRQ_BANK_ROWS(GEN8_GT_ISR(1), ALL, irq_reg_write, iir_write),
    VGT_IRQ_BANK_ROWS(GEN8_GT_ISR(2), ALL, irq_reg_write, iir_write),
    VGT_IRQ_BANK_ROWS(GEN8_GT_ISR(3), ALL, irq_reg_write, iir_write),

    /* Reset */
    {GEN6_GDRST, 4, 0, ~VGT_GDRST_DOMAINS, 0, ALL, NULL, gdrst_write},
    /* GuC: none on a vGPU (gvt presents none either). Its MIA core is
     * always in reset (__intel_uc_reset_hw checks it after intel_reset_guc;
     * gvt sets the bit at reset too), and WOPCM never locks, so
     * __uc_check_hw sees no earlier GuC load. */
    {GUC_STATUS, 4, GS_MIA_IN_RESET, RO, 0, ALL, NULL, NULL},
    {GUC_WOPCM_SIZE, 4, 0, RO, 0, ALL, NULL, NULL},
    {DMA_GUC_WOPCM_OFFSET, 4, 0, RO, 0, ALL, NULL, NULL},

    /* Per-class TLB invalidation (i915 6.1 intel_gt.c mmio_invalidate_full:
     * writes the engine's bit, waits 4 ms for it to clear; the rig's
     * "rcs'0 TLB invalidation did not complete in 4ms!"). The vGPU's GPU
     * addresses go through tables vgt shadows and keeps in step with the
     * guest's writes, so the guest's request is complete at once. */
    {GEN8_RTCR, 0x14, 0, 0, 0, ALL, NULL, tlb_inv_write},

    /* GT error and fault state (intel_gt_clear_error_registers,
     * gen8_check_faults): no error, no fault. (Its EIR and EMR are the
     * render engine's RING_EIR and RING_EMR rows.) */
    {PGTBL_ER, 4, 0, 0, 0, ALL, NULL, w1c_write},
    {IPEIR_I965, 4, 0, 0, 0, ALL, NULL, w1c_write},
    {GEN8_RING_FAULT_REG, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN8_FAULT_TLB_DATA0, 8, 0, RO, 0, ALL, NULL, NULL},

    /* GTT set-up (gtt_write_workarounds, bdw_setup_private_ppat): virtual,
     * as the workarounds below; the host's i915 programs the same Skylake
     * values. The GGTT flush completes at once (the shadow GGTT is
     * written through), so nothing is stored. */
    {HSW_GTT_CACHE_EN, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN8_GAMW_ECO_DEV_RW_IA, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN8_PRIVATE_PAT_LO, 8, 0, 0, 0, ALL, NULL, NULL},
    {GEN8_L3_LRA_1_GPGPU, 4, 0, 0, 0, ALL, NULL, NULL},
    {GFX_FLSH_CNTL_GEN6, 4, 0, RO, 0, ALL, NULL, NULL},
    {HSW_EDRAM_CAP, 4, 0, RO, 0, ALL, NULL, NULL}, /* no eDRAM (SKL GT2) */
    /* GT clock gating of skl_init_clock_gating: virtual. */
    {FBC_LLC_READ_CTRL, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN7_MISCCPCTL, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN8_UCGCTL6, 4, 0, 0, 0, ALL, NULL, NULL},

    /* Fences: 32 of 64 bits */
    {FENCE_REG_GEN6_LO(0), VGT_MAX_FENCES * 8, 0, 0, 0, ALL, NULL, fence_write},

    /* Forcewake requests (masked) and their acks */
    {FORCEWAKE_RENDER_GEN9, 4, 0, 0, MM, ALL, NULL, forcewake_write},
    {FORCEWAKE_MEDIA_GEN9, 4, 0, 0, MM, ALL, NULL, forcewake_write},
    {FORCEWAKE_BLITTER_GEN9, 4, 0, 0, MM, ALL, NULL, forcewake_write},
    {FORCEWAKE_ACK_RENDER_GEN9, 4, 0, RO, 0, ALL, NULL, NULL},
    {FORCEWAKE_ACK_MEDIA_GEN9, 4, 0, RO, 0, ALL, NULL, NULL},
    {FORCEWAKE_ACK_BLITTER_GEN9, 4, 0, RO, 0, ALL, NULL, NULL},

    /* GT and uncore registers i915 reads at probe (vgt/vgpu_regs.h): no
     * unclaimed access, a Skylake GT2's fuses, the timestamp clock, an RPS
     * range of 0 (RP0 = RPn: i915 leaves frequency control off; the host
     * owns the clocks), the PCU interrupt bank. */
    {FPGA_DBG, 4, 0, RO, 0, ALL, NULL, NULL},
    {GEN8_FUSE2, 4, VGT_SKL_GT2_FUSE2, RO, 0, ALL, NULL, NULL},
    {GEN9_EU_DISABLE(0), 12, 0, RO, 0, ALL, NULL, NULL},
    {CTC_MODE, 4, VGT_SKL_CTC_MODE, RO, 0, ALL, NULL, NULL},
    {GEN6_RP_STATE_CAP, 4, 0, RO, 0, ALL, NULL, NULL},
    {GEN6_PMINTRMSK, 4, 0, 0, 0, ALL, NULL, NULL},
    VGT_IRQ_BANK_ROWS(GEN8_PCU_ISR, ALL, NULL, w1c_write),
    /* GT workaround registers: virtual, never applied to the host (its
     * i915 applies its own). */
    {GEN8_MCR_SELECTOR, 4, 0, 0, 0, ALL, NULL, NULL},
    {GAM_ECOCHK, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN9_GAMT_ECO_REG_RW_IA, 4, 0, 0, 0, ALL, NULL, NULL},
    {MMCD_MISC_CTRL, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN7_UCGCTL4, 4, 0, 0, 0, ALL, NULL, NULL},
    {GEN9_CSFE_CHICKEN1_RCS, 4, 0, 0, MM, ALL, NULL, NULL},
    {GEN7_FF_SLICE_CS_CHICKEN1, 4, 0, 0, MM, ALL, NULL, NULL},
    {GEN8_GARBCNTL, 8, 0, 0, 0, ALL, NULL, NULL}, /* and GEN9_SCRATCH_LNCF1 */
    {GEN8_L3SQCREG4, 8, 0, 0, 0, ALL, NULL, NULL}, /* and BDW_SCRATCH1 */
    /* The render whitelist: virtual, so a guest's whitelisting never
     * opens a host register to its batches (the auditor's register rules
     * decide what commands may touch). */
    {RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, 0), 4 * RING_MAX_NONPRIV_SLOTS, 0, 0, 0, ALL, NULL, NULL},
    /* MOCS and L3 cache control tables: virtual, never applied to the
     * host (its i915 programs the same Skylake tables). */
    {GEN9_LNCFCMOCS(0), 4 * GEN9_LNCFCMOCS_REG_COUNT, 0, 0, 0, ALL, NULL, NULL},
    {GEN9_GFX_MOCS(0), 4 * GEN9_NUM_MOCS_ENTRIES, 0, 0, 0, ALL, NULL, NULL},
    {GEN9_MFX0_MOCS(0), 4 * GEN9_NUM_MOCS_ENTRIES, 0, 0, 0, ALL, NULL, NULL},
    {GEN9_VEBOX_MOCS(0), 4 * GEN9_NUM_MOCS_ENTRIES, 0, 0, 0, ALL, NULL, NULL},
    {GEN9_BLT_MOCS(0), 4 * GEN9_NUM_MOCS_ENTRIES, 0, 0, 0, ALL, NULL, NULL},

    /* Global mode (masked) and the render CS general purpose registers,
     * which batch buffers load and store (i915 CS_GPR, 16 x 64 bit). */
    {GFX_MODE, 4, 0, 0, MM, ALL, NULL, NULL},
    {RENDER_RING_BASE + 0x600, 128, 0, 0, VGT_REG_F_CMD_ACCESS, ALL, NULL, NULL},

    /* Engines */
    ENGINE_ROWS(RENDER_RING_BASE),
    ENGINE_ROWS(BLT_RING_BASE),
    ENGINE_ROWS(GEN6_BSD_RING_BASE),
    ENGINE_ROWS(VEBOX_RING_BASE),
};

/* The tables the index covers, in order: a later table's rows win over an
 * earlier one's, as later rows do inside one table. Rows are numbered
 * across them (index value = row + 1). */
static const struct {
    const struct vgt_mmio_reg *rows;
    const size_t *n;
} tables[] = {
    {mmio_table, &(const size_t){VGT_ARRAY_SIZE(mmio_table)}},
    {vgt_display_table, &vgt_display_table_size},
};

static const struct vgt_mmio_reg *row_at(size_t r)
{
    for (size_t t = 0; t < VGT_ARRAY_SIZE(tables); r -= *tables[t].n, t++)
        if (r < *tables[t].n)
            return &tables[t].rows[r];
    return NULL;
}

static size_t rows_total(void)
{
    size_t n = 0;

    for (size_t t = 0; t < VGT_ARRAY_SIZE(tables); t++)
        n += *tables[t].n;
    return n;
}

int vgt_mmio_build_index(struct vgt_gpu *g)
{
    size_t total = rows_total();

    if (total >= UINT16_MAX)
        return -EINVAL;
    g->reg_index = calloc(VGT_MMIO_SIZE / 4, sizeof(*g->reg_index));
    if (!g->reg_index)
        return -ENOMEM;
    for (size_t r = 0; r < total; r++) {
        const struct vgt_mmio_reg *e = row_at(r);

        if ((e->offset & 3) || (e->size & 3) || !e->size || e->offset >= VGT_MMIO_SIZE ||
            e->size > VGT_MMIO_SIZE - e->offset) {
            vgt_err(g->log, "mmio: bad table row %zu (%#x)", r, e->offset);
            free(g->reg_index);
            g->reg_index = NULL;
            return -EINVAL;
        }
        if (!(e->platforms & g->platform))
            continue;
        for (uint32_t d = e->offset / 4; d < (e->offset + e->size) / 4; d++)
            g->reg_index[d] = (uint16_t)(r + 1);
    }
    return 0;
}

const struct vgt_mmio_reg *vgt_mmio_lookup(const struct vgt_gpu *g, uint32_t off)
{
    uint16_t r;

    if (off >= VGT_MMIO_SIZE)
        return NULL;
    r = g->reg_index[off / 4];
    return r ? row_at(r - 1u) : NULL;
}

void vgt_mmio_init_vregs(struct vgt_vgpu *v, uint32_t from, uint32_t to)
{
    /* Zero, then the rows with a non-zero reset value (few): a loop over
     * every dword would cost more than the vGPU's whole bring-up. */
    vgt_vgpu_vregs_zero(v, from, to);
    vgt_mmio_set_reset_values(v, from, to);
}

void vgt_mmio_set_reset_values(struct vgt_vgpu *v, uint32_t from, uint32_t to)
{
    const uint16_t *idx = v->gpu->reg_index;
    size_t total = rows_total();

    for (size_t r = 0; r < total; r++) {
        const struct vgt_mmio_reg *e = row_at(r);

        if (!e->reset || e->offset >= to || e->offset + e->size <= from)
            continue;
        for (uint32_t d = VGT_MAX(e->offset, from) / 4; d < VGT_MIN(e->offset + e->size, to) / 4; d++)
            if (idx[d] == r + 1) /* a later row may own this dword */
                v->vreg[d] = e->reset;
    }
}

/* ---- dispatch ---- */

static int dword_read(struct vgt_vgpu *v, const struct vgt_mmio_reg *r, uint32_t off,
                      uint32_t *val)
{
    if (r && r->read)
        return r->read(v, off, val);
    *val = v->vreg[off / 4];
    return 0;
}

static int dword_write(struct vgt_vgpu *v, const struct vgt_mmio_reg *r, uint32_t off,
                       uint32_t val)
{
    uint32_t old = v->vreg[off / 4], nv;

    if (!r) {
        v->vreg[off / 4] = val;
        return 0;
    }
    if (r->flags & VGT_REG_F_MODE_MASK) {
        /* Bits 31:16 select which of bits 15:0 change (i915
         * _MASKED_FIELD); the mask half reads back as 0. */
        uint32_t m = (val >> 16) & ~r->ro_mask & 0xffffu;

        nv = ((old & ~m) | (val & m)) & 0xffffu;
    } else {
        nv = (old & r->ro_mask) | (val & ~r->ro_mask);
    }
    if (r->write) {
        int ret = r->write(v, off, nv);

        if (ret)
            vgt_vgpu_enter_failsafe(v, VGT_FAILSAFE_GUEST_ERROR, "register write handler failed");
        return 0;
    }
    v->vreg[off / 4] = nv;
    return 0;
}

/* An access to a register in no row: virtual storage (as gvt tracks the
 * registers it does not emulate), counted, and each offset logged once so
 * a guest driver's needs show up without flooding the log. */
static void note_unlisted(struct vgt_vgpu *v, uint32_t off)
{
    uint32_t dw = (off & (VGT_MMIO_SIZE - 1)) / 4;
    uint64_t bit = 1ull << (dw % 64);

    v->st.unlisted++;
    if (v->unlisted_seen[dw / 64] & bit)
        return;
    v->unlisted_seen[dw / 64] |= bit;
    v->st.unlisted_regs++;
    vgt_info(v->log, "vgpu%u: unlisted register %#x: virtual storage (logged once)", v->id,
             dw * 4);
}

static bool size_ok(uint64_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && !(off & (size - 1));
}

static int regs_read(struct vgt_vgpu *v, uint32_t off, unsigned size, uint64_t *val)
{
    const struct vgt_mmio_reg *r = vgt_mmio_lookup(v->gpu, off);
    uint32_t lo = ~0u, hi = ~0u; /* all ones if a half fails */
    int ret;

    if (size == 8) {
        const struct vgt_mmio_reg *r2 = vgt_mmio_lookup(v->gpu, off + 4);

        if (!r)
            note_unlisted(v, off);
        if (!r2)
            note_unlisted(v, off + 4);
        ret = dword_read(v, r, off, &lo);
        if (!ret)
            ret = dword_read(v, r2, off + 4, &hi);
        *val = (uint64_t)hi << 32 | lo;
        return ret;
    }
    if (size < 4 && r && !(r->flags & VGT_REG_F_BYTE)) {
        v->st.rejected++;
        *val = ~0ull;
        return -EINVAL;
    }
    if (!r)
        note_unlisted(v, off);
    ret = dword_read(v, r, off & ~3u, &lo);
    if (size < 4)
        lo = (lo >> (8 * (off & 3))) & ((1u << (8 * size)) - 1);
    *val = lo;
    return ret;
}

static int regs_write(struct vgt_vgpu *v, uint32_t off, unsigned size, uint64_t val)
{
    const struct vgt_mmio_reg *r = vgt_mmio_lookup(v->gpu, off);

    if (size == 8) {
        const struct vgt_mmio_reg *r2 = vgt_mmio_lookup(v->gpu, off + 4);

        if (!r)
            note_unlisted(v, off);
        if (!r2)
            note_unlisted(v, off + 4);
        dword_write(v, r, off, (uint32_t)val);
        return dword_write(v, r2, off + 4, (uint32_t)(val >> 32));
    }
    if (size < 4) {
        uint32_t shift = 8 * (off & 3), m = ((1u << (8 * size)) - 1) << shift, cur;

        if (r && !(r->flags & VGT_REG_F_BYTE)) {
            v->st.rejected++;
            return -EINVAL;
        }
        if (!r)
            note_unlisted(v, off);
        /* Merge into the stored dword (not a read handler's view). */
        cur = v->vreg[off / 4];
        return dword_write(v, r, off & ~3u, (cur & ~m) | (((uint32_t)val << shift) & m));
    }
    if (!r)
        note_unlisted(v, off);
    return dword_write(v, r, off, (uint32_t)val);
}

int vgt_mmio_read(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t *val)
{
    v->st.mmio_reads++;
    if (!size_ok(off, size) || off >= VGT_BAR0_SIZE) {
        v->st.rejected++;
        *val = ~0ull;
        return -EINVAL;
    }
    if (off < VGT_MMIO_SIZE)
        return regs_read(v, (uint32_t)off, size, val);
    if (off >= VGT_GGTT_OFFSET) {
        int ret;

        v->st.ggtt_reads++;
        ret = vgt_ggtt_guest_read(v->ggtt, off - VGT_GGTT_OFFSET, size, val);

        if (ret)
            v->st.rejected++;
        return ret;
    }
    *val = 0; /* reserved part of BAR0 */
    return 0;
}

int vgt_mmio_write(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t val)
{
    v->st.mmio_writes++;
    if (!size_ok(off, size) || off >= VGT_BAR0_SIZE) {
        v->st.rejected++;
        return -EINVAL;
    }
    if (off < VGT_MMIO_SIZE)
        return regs_write(v, (uint32_t)off, size, val);
    if (off >= VGT_GGTT_OFFSET) {
        int ret;

        v->st.ggtt_writes++;
        ret = vgt_ggtt_guest_write(v->ggtt, off - VGT_GGTT_OFFSET, size, val);

        if (ret)
            v->st.rejected++;
        return ret;
    }
    return 0;
}

/* Guest i915 probe of a GVT-g vGPU (see vgt/sim_i915.h).
 *
 * Facts used, as the guest driver knows them (it cannot include the
 * mediator): i915_pvinfo.h (VGT_PVINFO_PAGE 0x78000, struct vgt_if
 * offsets, VGT_MAGIC, VGT_CAPS_*), i915_vgpu.c (intel_vgpu_detect reads
 * the magic with readq and the version with readw; intel_vgt_balloon and
 * vgt_balloon_space), intel_ggtt.c (gen8_gmch_probe: GGTT at BAR0 + half
 * of its size, GGMS in GMCH control bits 7:6, mappable_end = BAR2 size;
 * gen8_set_pte is one 64-bit write; gen8_ggtt_pte_encode = addr |
 * GEN8_PAGE_PRESENT), and PCI 3.0 for discovery and BAR sizing. The GT
 * bring-up after it (gt_init) follows Linux 6.1's order and registers,
 * each step's source named at its row. */
#include "vgt/sim_i915.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/util.h"

#define PVINFO 0x78000u
#define PV_MAGIC 0x000u
#define PV_VERSION_MAJOR 0x008u
#define PV_VERSION_MINOR 0x00Au
#define PV_VGT_ID 0x00Cu
#define PV_CAPS 0x010u
#define PV_MAPPABLE_BASE 0x040u
#define PV_MAPPABLE_SIZE 0x044u
#define PV_UNMAPPABLE_BASE 0x048u
#define PV_UNMAPPABLE_SIZE 0x04Cu
#define PV_FENCE_NUM 0x050u
#define PV_DISPLAY_READY 0x804u
#define VGT_MAGIC 0x4776544776544776ull
#define VGT_VERSION_MAJOR 1
#define VGT_CAPS_FULL_PPGTT (1u << 2)
#define VGT_CAPS_HWSP_EMULATION (1u << 3)
#define VGT_DRV_DISPLAY_READY 1u
#define SNB_GMCH_CTRL 0x50u
#define BDW_GMCH_GGMS_SHIFT 6
#define BDW_GMCH_GGMS_MASK 0x3u
#define GEN8_PAGE_PRESENT 1ull
#define GEN8_MASTER_IRQ 0x44200u
#define GEN8_MASTER_IRQ_CONTROL (1u << 31)
#define GEN8_GT_IMR(n) (0x44304u + 0x10u * (n))
#define GEN8_GT_IER(n) (0x4430Cu + 0x10u * (n))
#define GT_RENDER_USER_INTERRUPT (1u << 0)
#define GT_CONTEXT_SWITCH_INTERRUPT (1u << 8)
#define PCI_COMMAND_MEMORY 0x2u
/* GT/uncore registers (i915_reg.h, gt/intel_gt_regs.h,
 * gt/intel_engine_regs.h) and bits. */
#define FPGA_DBG 0x42300u
#define FPGA_DBG_RM_NOCLAIM (1u << 31)
#define GEN8_FUSE2 0x9120u
#define GEN9_EU_DISABLE(s) (0x9134u + 4u * (s))
#define CTC_MODE 0xA26Cu
#define GEN6_RP_STATE_CAP 0x145998u
#define GEN6_PMINTRMSK 0xA168u
#define GEN8_PCU_IMR 0x444E4u
#define GEN8_PCU_IIR 0x444E8u
#define GEN8_PCU_IER 0x444ECu
#define GEN6_GDRST 0x941Cu
#define GEN6_GRDOM_FULL (1u << 0)
#define RING_HWS_PGA(b) ((b) + 0x80u)
#define RING_MI_MODE(b) ((b) + 0x9Cu)
#define RING_HWSTAM(b) ((b) + 0x98u)
#define RING_EIR(b) ((b) + 0xB0u)
#define RING_EMR(b) ((b) + 0xB4u)
#define RING_ESR(b) ((b) + 0xB8u)
#define RING_RESET_CTL(b) ((b) + 0xD0u)
#define RING_MODE_GEN7(b) ((b) + 0x29Cu)
#define MODE_IDLE (1u << 9)
#define STOP_RING (1u << 8)
#define RESET_CTL_REQUEST_RESET (1u << 0)
#define RESET_CTL_READY_TO_RESET (1u << 1)
#define GFX_RUN_LIST_ENABLE (1u << 15)
#define I915_ERROR_INSTRUCTION (1u << 0)
#define RING_FORCE_TO_NONPRIV(b, i) ((b) + 0x4D0u + 4u * (i))
#define RING_NOPID(b) ((b) + 0x94u)
#define RING_MAX_NONPRIV_SLOTS 12u
#define MASKED_ON(b) (((b) << 16) | (b))
#define MASKED_OFF(b) ((b) << 16)
/* GuC WOPCM (gt/uc/intel_guc_reg.h: bit 0 locked / valid), GT error and
 * fault registers (i915_reg.h, gt/intel_gt_regs.h), the GTT cache
 * (i915_reg.h HSW_GTT_CACHE_EN, GTT_CACHE_EN_ALL), GEN8_L3_LRA_1_GPGPU
 * and the PPAT (gt/intel_gt_regs.h; gt/intel_gtt.h GEN8_PPAT bytes). */
#define GUC_WOPCM_SIZE 0xC050u
#define DMA_GUC_WOPCM_OFFSET 0xC340u
#define PGTBL_ER 0x2024u
#define EIR 0x20B0u
#define GEN8_RING_FAULT_REG 0x4094u
#define RING_FAULT_VALID (1u << 0)
#define HSW_GTT_CACHE_EN 0x4024u
#define GEN8_GAMW_ECO_DEV_RW_IA 0x4080u
#define GTT_CACHE_EN_ALL 0xF0007FFFu
#define GEN8_L3_LRA_1_GPGPU 0x4DD4u
#define GEN9_L3_LRA_1_GPGPU_DEFAULT_VALUE_SKL 0x67F1427Fu
#define GEN8_PRIVATE_PAT_LO 0x40E0u
#define GEN8_PRIVATE_PAT_HI 0x40E4u
#define SKL_PPAT 0x3b2b1b0b000a0907ull /* bdw_setup_private_ppat, no eDRAM */
/* i915's waits give up after milliseconds of polling; a vGPU answers at
 * once, so a handful of reads is already a failure worth reporting. */
#define WAIT_TRIES 8
#define PCI_COMMAND_MASTER 0x4u
#define PAGE 4096ull

struct node {
    uint64_t start, end;
};

struct sim_i915 {
    struct sim_guest *g;
    unsigned vcpu;
    const struct vgt_log *log;
    struct sim_i915_info info;
    uint64_t bar0, bar2;
    uint64_t ggtt_off; /* GGTT inside BAR0 */
    /* GM allocator: reserved nodes (balloons and buffers), as drm_mm. */
    struct node *nodes;
    unsigned nr_nodes, cap_nodes;
    unsigned msi_cap;
};

static int cfg_rd(struct sim_i915 *d, unsigned reg, unsigned size, uint32_t *v)
{
    return sim_guest_pci_read(d->g, d->vcpu, d->info.bus, d->info.dev, d->info.fn, reg, size, v);
}

static int cfg_wr(struct sim_i915 *d, unsigned reg, unsigned size, uint32_t v)
{
    return sim_guest_pci_write(d->g, d->vcpu, d->info.bus, d->info.dev, d->info.fn, reg, size, v);
}

int sim_i915_mmio_read(struct sim_i915 *d, uint32_t off, unsigned size, uint64_t *val)
{
    return sim_guest_mmio_read(d->g, d->vcpu, d->bar0 + off, size, val);
}

int sim_i915_mmio_write(struct sim_i915 *d, uint32_t off, unsigned size, uint64_t val)
{
    return sim_guest_mmio_write(d->g, d->vcpu, d->bar0 + off, size, val);
}

static uint32_t rd32(struct sim_i915 *d, uint32_t off, int *err)
{
    uint64_t v = ~0ull;
    int ret = sim_i915_mmio_read(d, off, 4, &v);

    if (ret && !*err)
        *err = ret;
    return (uint32_t)v;
}

static void wr32(struct sim_i915 *d, uint32_t off, uint32_t val, int *err)
{
    int ret = sim_i915_mmio_write(d, off, 4, val);

    if (ret && !*err)
        *err = ret;
}

/* __intel_wait_for_register: poll until (reg & mask) == want. Reads past
 * the first are counted (a vGPU should answer at once). */
static int wait_for(struct sim_i915 *d, uint32_t off, uint32_t mask, uint32_t want, const char *what)
{
    int err = 0;

    for (unsigned i = 0; i < WAIT_TRIES; i++) {
        uint32_t v = rd32(d, off, &err);

        if (err)
            return err;
        if ((v & mask) == want)
            return 0;
        d->info.extra_polls++;
    }
    vgt_err(d->log, "i915: %s: register %#x timed out", what, off);
    return -ETIMEDOUT;
}

/* Find the first Intel display-class function on bus 0. */
static int find_device(struct sim_i915 *d)
{
    for (unsigned dev = 0; dev < 32; dev++) {
        uint32_t id, class;

        d->info.bus = 0;
        d->info.dev = (uint8_t)dev;
        d->info.fn = 0;
        if (cfg_rd(d, 0, 4, &id) || (id & 0xffff) != 0x8086)
            continue;
        if (cfg_rd(d, 0x08, 4, &class) || (class >> 24) != 0x03)
            continue;
        d->info.vendor = 0x8086;
        d->info.device = (uint16_t)(id >> 16);
        return 0;
    }
    return -ENODEV;
}

/* Size a 64-bit memory BAR with decoding off, then place it at @gpa. */
static int size_and_place(struct sim_i915 *d, unsigned bar, uint64_t gpa, uint64_t *size)
{
    uint32_t lo, hi, flo;
    uint64_t mask;
    int ret;

    ret = cfg_rd(d, bar, 4, &flo);
    if (ret)
        return ret;
    if ((flo & 0x7) != 0x4)
        return -ENXIO; /* i915 expects 64-bit memory BARs */
    if ((ret = cfg_wr(d, bar, 4, 0xffffffffu)) || (ret = cfg_wr(d, bar + 4, 4, 0xffffffffu)) ||
        (ret = cfg_rd(d, bar, 4, &lo)) || (ret = cfg_rd(d, bar + 4, 4, &hi)))
        return ret;
    mask = ((uint64_t)hi << 32) | (lo & ~0xfu);
    if (!mask)
        return -ENXIO;
    *size = ~mask + 1;
    if (gpa & (*size - 1))
        return -EINVAL;
    if ((ret = cfg_wr(d, bar, 4, (uint32_t)gpa)) || (ret = cfg_wr(d, bar + 4, 4, (uint32_t)(gpa >> 32))))
        return ret;
    return 0;
}

static int find_msi(struct sim_i915 *d)
{
    uint32_t p = 0, id;

    if (cfg_rd(d, 0x34, 1, &p))
        return -EIO;
    for (unsigned n = 0; p && n < 48; n++) {
        if (cfg_rd(d, p, 1, &id))
            return -EIO;
        if (id == 0x05) {
            d->msi_cap = p;
            return 0;
        }
        if (cfg_rd(d, p + 1, 1, &p))
            return -EIO;
    }
    return -ENOENT;
}

/* ---- GM nodes (i915_gem_gtt_reserve semantics: inside the GGTT, no
 * overlap with an existing node) ---- */

static int reserve(struct sim_i915 *d, uint64_t start, uint64_t end)
{
    if (start >= end || end > d->info.ggtt_total)
        return -EINVAL;
    for (unsigned i = 0; i < d->nr_nodes; i++)
        if (start < d->nodes[i].end && d->nodes[i].start < end)
            return -ENOSPC;
    if (d->nr_nodes == d->cap_nodes) {
        unsigned cap = d->cap_nodes ? 2 * d->cap_nodes : 16;
        struct node *n = realloc(d->nodes, cap * sizeof(*n));

        if (!n)
            return -ENOMEM;
        d->nodes = n;
        d->cap_nodes = cap;
    }
    d->nodes[d->nr_nodes++] = (struct node){start, end};
    return 0;
}

/* vgt_balloon_space: reserve [start, end) as unusable. */
static int balloon_space(struct sim_i915 *d, unsigned slot, uint64_t start, uint64_t end)
{
    int ret;

    if (start >= end)
        return -EINVAL;
    ret = reserve(d, start, end);
    if (ret)
        return ret;
    d->info.balloon_start[slot] = start;
    d->info.balloon_end[slot] = end;
    vgt_debug(d->log, "i915: balloon space: [%#llx, %#llx) %llu KiB", (unsigned long long)start,
              (unsigned long long)end, (unsigned long long)((end - start) >> 10));
    return 0;
}

/* intel_vgt_balloon, check for check, reservation for reservation. */
static int balloon(struct sim_i915 *d)
{
    uint64_t ggtt_end = d->info.ggtt_total, mappable_end = d->info.mappable_end;
    uint64_t mappable_base = d->info.mappable_base, mappable_size = d->info.mappable_size;
    uint64_t unmappable_base = d->info.unmappable_base, unmappable_size = d->info.unmappable_size;
    uint64_t m_end = mappable_base + mappable_size, u_end = unmappable_base + unmappable_size;
    int ret;

    vgt_info(d->log, "i915: VGT ballooning configuration: mappable [%#llx, %#llx) unmappable [%#llx, %#llx)",
             (unsigned long long)mappable_base, (unsigned long long)m_end,
             (unsigned long long)unmappable_base, (unsigned long long)u_end);
    if (m_end > mappable_end || unmappable_base < mappable_end || u_end > ggtt_end) {
        vgt_err(d->log, "i915: Invalid ballooning configuration!");
        return -EINVAL;
    }
    /* Unmappable graphic memory ballooning */
    if (unmappable_base > mappable_end && (ret = balloon_space(d, 2, mappable_end, unmappable_base)))
        goto err;
    if (u_end < ggtt_end && (ret = balloon_space(d, 3, u_end, ggtt_end)))
        goto err;
    /* Mappable graphic memory ballooning */
    if (mappable_base && (ret = balloon_space(d, 0, 0, mappable_base)))
        goto err;
    if (m_end < mappable_end && (ret = balloon_space(d, 1, m_end, mappable_end)))
        goto err;
    vgt_info(d->log, "i915: VGT balloon successfully");
    return 0;

err:
    vgt_err(d->log, "i915: VGT balloon fail");
    d->nr_nodes = 0;
    memset(d->info.balloon_start, 0, sizeof(d->info.balloon_start));
    memset(d->info.balloon_end, 0, sizeof(d->info.balloon_end));
    return ret;
}

/* intel_vgpu_detect + the checks i915_driver_hw_probe makes of a vGPU. */
static int detect(struct sim_i915 *d)
{
    uint64_t magic = 0, v = 0;
    int err = 0;

    if (sim_i915_mmio_read(d, PVINFO + PV_MAGIC, 8, &magic))
        return -EIO;
    d->info.magic = magic;
    if (magic != VGT_MAGIC) {
        vgt_err(d->log, "i915: no VGT magic (%#llx): not a vGPU", (unsigned long long)magic);
        return -ENXIO;
    }
    if (sim_i915_mmio_read(d, PVINFO + PV_VERSION_MAJOR, 2, &v))
        return -EIO;
    d->info.version_major = (uint16_t)v;
    if (sim_i915_mmio_read(d, PVINFO + PV_VERSION_MINOR, 2, &v))
        return -EIO;
    d->info.version_minor = (uint16_t)v;
    if (d->info.version_major < VGT_VERSION_MAJOR) {
        vgt_err(d->log, "i915: VGT interface version mismatch!");
        return -ENXIO;
    }
    d->info.caps = rd32(d, PVINFO + PV_CAPS, &err);
    d->info.vgt_id = rd32(d, PVINFO + PV_VGT_ID, &err);
    if (!(d->info.caps & VGT_CAPS_HWSP_EMULATION)) {
        vgt_err(d->log, "i915: old vGPU host found, support for HWSP emulation required");
        return -ENXIO;
    }
    if (!(d->info.caps & VGT_CAPS_FULL_PPGTT)) {
        vgt_err(d->log, "i915: incompatible vGPU found, support for isolated ppGTT required");
        return -ENXIO;
    }
    d->info.mappable_base = rd32(d, PVINFO + PV_MAPPABLE_BASE, &err);
    d->info.mappable_size = rd32(d, PVINFO + PV_MAPPABLE_SIZE, &err);
    d->info.unmappable_base = rd32(d, PVINFO + PV_UNMAPPABLE_BASE, &err);
    d->info.unmappable_size = rd32(d, PVINFO + PV_UNMAPPABLE_SIZE, &err);
    d->info.fence_num = rd32(d, PVINFO + PV_FENCE_NUM, &err);
    return err ? -EIO : 0;
}

/* intel_uncore_init_mmio (unclaimed-access check), gen9_sseu_info_init
 * (GT2: 3 subslices of 8 EUs at most), gen9_read_clock_frequency,
 * gen6_rps_get_freq_caps, gen8_irq_reset's PCU bank and
 * rps_disable_interrupts. */
static int uncore_init(struct sim_i915 *d)
{
    uint32_t fuse2, eu_dis, ctc, cap;
    unsigned ss_max = 4, eus = 0;
    int err = 0;

    if (rd32(d, FPGA_DBG, &err) & FPGA_DBG_RM_NOCLAIM)
        wr32(d, FPGA_DBG, FPGA_DBG_RM_NOCLAIM, &err);
    fuse2 = rd32(d, GEN8_FUSE2, &err);
    d->info.slice_mask = (uint8_t)((fuse2 >> 25) & 0x7);
    d->info.subslice_mask = (uint8_t)(((1u << ss_max) - 1) & ~((fuse2 >> 20) & 0xf));
    for (unsigned s = 0; s < 3; s++) {
        if (!(d->info.slice_mask & (1u << s)))
            continue;
        eu_dis = rd32(d, GEN9_EU_DISABLE(s), &err);
        for (unsigned ss = 0; ss < ss_max; ss++)
            if (d->info.subslice_mask & (1u << ss))
                eus += 8u - (unsigned)__builtin_popcount((eu_dis >> (8 * ss)) & 0xffu);
    }
    d->info.eu_total = eus;
    ctc = rd32(d, CTC_MODE, &err);
    /* The divide-logic source (bit 0) needs TIMESTAMP_OVERRIDE: not a
     * Skylake's default; reported as 0. */
    d->info.cs_timestamp_hz = (ctc & 1u) ? 0 : 24000000u >> (3 - ((ctc >> 1) & 3));
    cap = rd32(d, GEN6_RP_STATE_CAP, &err);
    d->info.rps_enabled = (cap & 0xffu) > ((cap >> 16) & 0xffu);
    wr32(d, GEN8_PCU_IMR, 0xffffffffu, &err);
    wr32(d, GEN8_PCU_IER, 0, &err);
    wr32(d, GEN8_PCU_IIR, 0xffffffffu, &err);
    wr32(d, GEN8_PCU_IIR, 0xffffffffu, &err);
    if (err)
        return err;
    if (rd32(d, GEN8_PCU_IIR, &err)) {
        vgt_err(d->log, "i915: Interrupt register %#x is not zero", GEN8_PCU_IIR);
        return -EIO;
    }
    wr32(d, GEN6_PMINTRMSK, 0xffffffffu, &err);
    return err;
}

/* Workarounds as wa_list_apply applies them: plain ones read, cleared,
 * ORed and written back, masked ones written with their mask; then
 * wa_verify reads each back. Skylake's GT list (skl_gt_workarounds_init,
 * gen9_gt_workarounds_init, with the A0..H0 stepping one: the vGPU's PCI
 * revision 6 is G0, intel_step.c skl_revids) and render engine list
 * (rcs_engine_wa_init), bits from
 * gt/intel_gt_regs.h, in the list's order (sorted by offset). */
struct wa {
    uint32_t reg, clr, set;
    bool masked;
};

static const struct wa gt_was[] = {
    /* GEN8_MCR_SELECTOR steered at the lowest enabled slice and subslice
     * (gen9_wa_init_mcr): 0 and 0 on the fuses above; mask bits 27:24. */
    {0x0FDCu, 0xFu << 24, 0, false},
    {0x4090u, 0, (1u << 8) | (1u << 25), false},  /* GAM_ECOCHK: DIS_TLB, BDW_DISABLE_HDC_INVALIDATION */
    {0x4AB0u, 0, 1u << 18, false},                /* GEN9_GAMT_ECO_REG_RW_IA: IN_PLACE_DECOMPRESS */
    {0x4DDCu, 0, (1u << 31) | (1u << 27), false}, /* MMCD_MISC_CTRL: PCLA, HOTSPOT_EN */
    {0x940Cu, 0, 1u << 14, false},                /* GEN7_UCGCTL4: EU_GAUNIT_CLOCK_GATE_DISABLE */
};

static const struct wa rcs_was[] = {
    {0x20D4u, 0, 1u << 2, true},   /* GEN9_CSFE_CHICKEN1_RCS: PREEMPT_GPGPU_SYNC_SWITCH_DISABLE */
    {0x20E0u, 0, 1u << 14, true},  /* GEN7_FF_SLICE_CS_CHICKEN1: FFSC_PERCTX_PREEMPT_CTRL */
    {0xB004u, 0, 1u << 7, false},  /* GEN8_GARBCNTL: GAPS_TSV_CREDIT_DISABLE */
    {0xB008u, 1u << 0, 0, false},  /* GEN9_SCRATCH_LNCF1: NONIA_COHERENT_ATOMICS off */
    {0xB118u, 1u << 22, 1u << 21, false}, /* GEN8_L3SQCREG4: FLUSH_COHERENT_LINES, atomics off */
    {0xB11Cu, 1u << 8, 1u << 2, false},   /* BDW_SCRATCH1: LBS_SLA_RETRY_TIMER_DECREMENT, EVICTION_PERF_FIX off */
};

/* The render whitelist (gen9_whitelist_build + skl_whitelist_build, sorted
 * by offset): GEN9_CTX_PREEMPT_REG, GEN8_CS_CHICKEN1, COMMON_SLICE_CHICKEN2,
 * GEN8_HDC_CHICKEN1, GEN8_L3SQCREG4. */
static const uint32_t rcs_whitelist[] = {0x2248u, 0x2580u, 0x7014u, 0x7304u, 0xB118u};

static int apply_was(struct sim_i915 *d, const struct wa *was, size_t n)
{
    int err = 0;

    for (size_t i = 0; i < n; i++) {
        const struct wa *w = &was[i];

        if (w->masked) {
            wr32(d, w->reg, MASKED_ON(w->set), &err);
        } else {
            uint32_t v = rd32(d, w->reg, &err);

            wr32(d, w->reg, (v & ~w->clr) | w->set, &err);
        }
    }
    for (size_t i = 0; i < n && !err; i++)
        if ((rd32(d, was[i].reg, &err) & (was[i].set | was[i].clr)) != was[i].set) {
            vgt_err(d->log, "i915: workaround on %#x lost", was[i].reg);
            return -EIO;
        }
    return err;
}

/* What intel_gt_init_hw and its callers do on a Skylake vGPU besides the
 * workarounds: gen8_check_faults and intel_gt_clear_error_registers (EIR
 * must read 0; i915 does these earlier, at GGTT init), gtt_write_workarounds (a GTT cache enable reading back 0
 * is a WARN), bdw_setup_private_ppat, and __uc_check_hw with the GuC off
 * (i915 6.1's default before gen12): a locked WOPCM fails the GT's init
 * with -EIO. */
static int gt_init_hw(struct sim_i915 *d)
{
    int err = 0;

    if (rd32(d, GEN8_RING_FAULT_REG, &err) & RING_FAULT_VALID)
        wr32(d, GEN8_RING_FAULT_REG, 0, &err);
    rd32(d, PGTBL_ER, &err);
    if (rd32(d, EIR, &err)) {
        vgt_err(d->log, "i915: EIR stuck");
        return -EIO;
    }
    wr32(d, GEN8_L3_LRA_1_GPGPU, GEN9_L3_LRA_1_GPGPU_DEFAULT_VALUE_SKL, &err);
    /* 64K pages kept (the vGPU has the huge-GTT cap), no 2M on gen9. */
    wr32(d, GEN8_GAMW_ECO_DEV_RW_IA, rd32(d, GEN8_GAMW_ECO_DEV_RW_IA, &err) | 0xFu, &err);
    wr32(d, HSW_GTT_CACHE_EN, GTT_CACHE_EN_ALL, &err);
    if (!err && !rd32(d, HSW_GTT_CACHE_EN, &err)) {
        vgt_err(d->log, "i915: GTT cache enable reads 0");
        return -EIO;
    }
    wr32(d, GEN8_PRIVATE_PAT_LO, (uint32_t)SKL_PPAT, &err);
    wr32(d, GEN8_PRIVATE_PAT_HI, (uint32_t)(SKL_PPAT >> 32), &err);
    if (err)
        return err;
    if ((rd32(d, GUC_WOPCM_SIZE, &err) & 1u) || (rd32(d, DMA_GUC_WOPCM_OFFSET, &err) & 1u)) {
        vgt_err(d->log, "i915: Enabling uc failed (-5)");
        return -EIO;
    }
    return err;
}

/* The engines in i915's order (rcs, bcs, vcs, vecs: intel_engines_init_mmio). */
static const uint32_t engine_bases[] = {0x2000u, 0x22000u, 0x12000u, 0x1A000u};

/* gt_sanitize at init: every engine stopped (execlists_reset_prepare ->
 * __intel_engine_stop_cs), reset together (gen8_reset_engines:
 * gen8_engine_reset_prepare each, GEN6_GRDOM_FULL, then
 * gen8_engine_reset_cancel), then resumed (execlists_resume ->
 * enable_execlists, enable_error_interrupt). */
static int engines_init(struct sim_i915 *d)
{
    int err = 0, ret;

    for (size_t i = 0; i < VGT_ARRAY_SIZE(engine_bases); i++) {
        uint32_t b = engine_bases[i];

        wr32(d, RING_MI_MODE(b), MASKED_ON(STOP_RING), &err);
        if (err || (ret = wait_for(d, RING_MI_MODE(b), MODE_IDLE, MODE_IDLE, "stop ring")))
            return err ? err : ret;
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(engine_bases); i++) {
        uint32_t b = engine_bases[i];

        wr32(d, RING_RESET_CTL(b), MASKED_ON(RESET_CTL_REQUEST_RESET), &err);
        if (err || (ret = wait_for(d, RING_RESET_CTL(b), RESET_CTL_READY_TO_RESET,
                                   RESET_CTL_READY_TO_RESET, "reset request")))
            return err ? err : ret;
    }
    wr32(d, GEN6_GDRST, GEN6_GRDOM_FULL, &err);
    if (err || (ret = wait_for(d, GEN6_GDRST, GEN6_GRDOM_FULL, 0, "GPU reset")))
        return err ? err : ret;
    for (size_t i = 0; i < VGT_ARRAY_SIZE(engine_bases); i++)
        wr32(d, RING_RESET_CTL(engine_bases[i]), MASKED_OFF(RESET_CTL_REQUEST_RESET), &err);
    /* intel_gt_init_hw / intel_gt_resume: GT and render workarounds, then
     * the render whitelist with RING_NOPID in the unused slots. (The MOCS
     * tables, intel_mocs_init_engine, are not replayed here.) */
    if (err || (ret = apply_was(d, gt_was, VGT_ARRAY_SIZE(gt_was))) ||
        (ret = apply_was(d, rcs_was, VGT_ARRAY_SIZE(rcs_was))) || (ret = gt_init_hw(d)))
        return err ? err : ret;
    for (unsigned i = 0; i < RING_MAX_NONPRIV_SLOTS; i++)
        wr32(d, RING_FORCE_TO_NONPRIV(engine_bases[0], i),
             i < VGT_ARRAY_SIZE(rcs_whitelist) ? rcs_whitelist[i] : RING_NOPID(engine_bases[0]), &err);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(engine_bases); i++) {
        uint32_t b = engine_bases[i];

        wr32(d, RING_HWSTAM(b), 0xffffffffu, &err);
        wr32(d, RING_MODE_GEN7(b), MASKED_ON(GFX_RUN_LIST_ENABLE), &err);
        wr32(d, RING_MI_MODE(b), MASKED_OFF(STOP_RING), &err);
        rd32(d, RING_HWS_PGA(b), &err); /* ENGINE_POSTING_READ */
        wr32(d, RING_EMR(b), 0xffffffffu, &err);
        wr32(d, RING_EIR(b), 0xffffffffu, &err);
        if (rd32(d, RING_ESR(b), &err)) {
            vgt_err(d->log, "i915: engine at %#x resumed still in error", b);
            return -EIO;
        }
        wr32(d, RING_EMR(b), ~I915_ERROR_INSTRUCTION, &err);
    }
    return err;
}

int sim_i915_probe(const struct sim_i915_cfg *cfg, struct sim_i915 **out)
{
    struct sim_i915 *d;
    uint32_t gmch = 0, cmd = 0;
    unsigned ggms;
    int ret;

    if (!cfg || !cfg->guest || !out)
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->g = cfg->guest;
    d->vcpu = cfg->vcpu;
    d->log = cfg->log;
    d->bar0 = cfg->bar0_gpa ? cfg->bar0_gpa : 0xF1000000ull;
    d->bar2 = cfg->bar2_gpa ? cfg->bar2_gpa : 1ull << 36;
    ret = find_device(d);
    if (ret)
        goto free_dev;
    /* Decoding off while sizing (as the PCI core does). */
    if ((ret = cfg_rd(d, 0x04, 2, &cmd)) || (ret = cfg_wr(d, 0x04, 2, cmd & ~PCI_COMMAND_MEMORY)))
        goto free_dev;
    if ((ret = size_and_place(d, 0x10, d->bar0, &d->info.bar0_size)) ||
        (ret = size_and_place(d, 0x18, d->bar2, &d->info.bar2_size)))
        goto free_dev;
    if ((ret = cfg_wr(d, 0x04, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)))
        goto free_dev;
    /* gen8_gmch_probe: GGTT size from GGMS; the GGTT is the top half of
     * BAR0; the mappable aperture is BAR2. */
    if ((ret = cfg_rd(d, SNB_GMCH_CTRL, 2, &gmch)))
        goto free_dev;
    ggms = (gmch >> BDW_GMCH_GGMS_SHIFT) & BDW_GMCH_GGMS_MASK;
    d->info.ggtt_total = ggms ? ((1ull << ggms) << 20) / 8 * PAGE : 0;
    d->info.mappable_end = d->info.bar2_size;
    d->ggtt_off = d->info.bar0_size / 2;
    ret = detect(d);
    if (ret)
        goto disable_decode;
    ret = uncore_init(d);
    if (ret)
        goto disable_decode;
    ret = balloon(d);
    if (ret)
        goto disable_decode;
    ret = engines_init(d);
    if (ret)
        goto disable_decode;
    find_msi(d);
    *out = d;
    return 0;

disable_decode:
    cfg_wr(d, 0x04, 2, cmd & ~PCI_COMMAND_MEMORY);
free_dev:
    free(d->nodes);
    free(d);
    return ret;
}

void sim_i915_remove(struct sim_i915 *d)
{
    if (!d)
        return;
    free(d->nodes);
    free(d);
}

void sim_i915_get_info(const struct sim_i915 *d, struct sim_i915_info *info)
{
    *info = d->info;
}

int sim_i915_ggtt_write(struct sim_i915 *d, uint64_t index, uint64_t pte)
{
    if (index >= d->ggtt_off / 8)
        return -EINVAL;
    return sim_guest_mmio_write(d->g, d->vcpu, d->bar0 + d->ggtt_off + index * 8, 8, pte);
}

int sim_i915_ggtt_read(struct sim_i915 *d, uint64_t index, uint64_t *pte)
{
    if (index >= d->ggtt_off / 8)
        return -EINVAL;
    return sim_guest_mmio_read(d->g, d->vcpu, d->bar0 + d->ggtt_off + index * 8, 8, pte);
}

/* First fit among the free GM (drm_mm's default). */
static int alloc_gm(struct sim_i915 *d, uint64_t size, uint64_t *start)
{
    uint64_t c = 0;

    while (c + size <= d->info.ggtt_total) {
        uint64_t next = c;

        for (unsigned i = 0; i < d->nr_nodes; i++)
            if (c < d->nodes[i].end && d->nodes[i].start < c + size && d->nodes[i].end > next)
                next = d->nodes[i].end;
        if (next == c) {
            *start = c;
            return reserve(d, c, c + size);
        }
        c = next;
    }
    return -ENOSPC;
}

int sim_i915_map_buffer(struct sim_i915 *d, uint64_t gpa, uint64_t npages, uint64_t *gm)
{
    uint64_t start;
    int ret;

    if (!npages || (gpa & (PAGE - 1)))
        return -EINVAL;
    ret = alloc_gm(d, npages * PAGE, &start);
    if (ret)
        return ret;
    for (uint64_t i = 0; i < npages; i++) {
        ret = sim_i915_ggtt_write(d, start / PAGE + i, (gpa + i * PAGE) | GEN8_PAGE_PRESENT);
        if (ret)
            return ret;
    }
    *gm = start;
    return 0;
}

int sim_i915_set_display_ready(struct sim_i915 *d)
{
    return sim_i915_mmio_write(d, PVINFO + PV_DISPLAY_READY, 4, VGT_DRV_DISPLAY_READY);
}

int sim_i915_enable_irq(struct sim_i915 *d, uint8_t vector)
{
    const uint32_t bits = (GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT) * 0x10001u;
    uint32_t ctrl = 0;
    int ret;

    if (!d->msi_cap)
        return -ENOENT;
    if ((ret = cfg_wr(d, d->msi_cap + 4, 4, 0xFEE00000u)) ||
        (ret = cfg_wr(d, d->msi_cap + 8, 2, vector)) ||
        (ret = cfg_rd(d, d->msi_cap + 2, 2, &ctrl)) ||
        (ret = cfg_wr(d, d->msi_cap + 2, 2, ctrl | 1)))
        return ret;
    if ((ret = sim_i915_mmio_write(d, GEN8_GT_IER(0), 4, bits)) ||
        (ret = sim_i915_mmio_write(d, GEN8_GT_IMR(0), 4, ~bits)) ||
        (ret = sim_i915_mmio_write(d, GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL)))
        return ret;
    return 0;
}

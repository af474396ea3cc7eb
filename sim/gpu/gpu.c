/* The simulated Gen9 GPU: BAR0 registers, GGTT, GT interrupts, display
 * plane readback, and the host GPU seam. The command streamers are in
 * engine.c. Register facts: sim/include/vgt/sim_gpu_regs.h (i915). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gpu_priv.h"
#include "vgt/util.h"

/* --- register table ---------------------------------------------------- */

#define REG_ENGINE 0x1  /* offset relative to each engine's base */
#define REG_MASKED 0x2  /* upper 16 bits select the lower bits written */
#define REG_RO 0x4      /* writes ignored */
#define REG_NO_CS 0x8   /* writes from a command streamer (LRI) ignored */

struct reg_desc {
    uint32_t off;
    uint32_t size;
    uint32_t flags;
    uint32_t (*read)(struct sim_gpu *g, struct sim_engine *e, uint32_t off);
    void (*write)(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val);
};

static uint32_t plain(struct sim_gpu *g, uint32_t off)
{
    return g->regs[off / 4];
}

static uint32_t rd_elsp(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    (void)g, (void)e, (void)off;
    return 0; /* ELSP is write-only */
}

static void wr_elsp(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)g, (void)off;
    sim_engine_elsp_write_locked(e, val);
}

static uint32_t rd_status(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    (void)g;
    return sim_engine_status_read_locked(e, off - e->base == RING_EXECLIST_STATUS_HI);
}

static uint32_t rd_csb(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    (void)g;
    return sim_engine_csb_read_locked(e, off - e->base);
}

static void wr_csb_ptr(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)g, (void)off;
    sim_engine_csb_ptr_write_locked(e, val);
}

static uint32_t rd_ring_mode(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    (void)g, (void)off;
    return e->ring_mode;
}

static void wr_ring_mode(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)g, (void)off;
    e->ring_mode = (e->ring_mode & ~(val >> 16)) | (val & (val >> 16) & 0xffff);
}

static uint32_t rd_reset_ctl(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    (void)g, (void)off;
    return sim_engine_reset_ctl_read_locked(e);
}

static void wr_reset_ctl(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)g, (void)off;
    sim_engine_reset_ctl_write_locked(e, val);
}

static void wr_gdrst(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)e, (void)off;
    sim_gpu_gdrst_write_locked(g, val);
}

static uint32_t rd_timestamp(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    uint64_t ts = sim_gpu_timestamp();

    (void)g;
    return off - e->base == RING_TIMESTAMP_UDW ? (uint32_t)(ts >> 32) : (uint32_t)ts;
}

/* GT IIR: write 1 to clear (i915 gen8_gt_irq_ack). */
static void wr_gt_iir(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)e;
    g->regs[off / 4] &= ~val;
}

static uint32_t rd_master(struct sim_gpu *g, struct sim_engine *e, uint32_t off)
{
    uint32_t v = g->regs[off / 4] & GEN8_MASTER_IRQ_CONTROL;

    (void)e;
    /* Which GT banks have an interrupt pending (i915 gen8_gt_irq_handler). */
    if (g->regs[GEN8_GT_IIR(0) / 4] & 0xffffu)
        v |= GEN8_GT_RCS_IRQ;
    if (g->regs[GEN8_GT_IIR(0) / 4] & 0xffff0000u)
        v |= GEN8_GT_BCS_IRQ;
    if (g->regs[GEN8_GT_IIR(1) / 4] & 0xffffu)
        v |= GEN8_GT_VCS0_IRQ;
    if (g->regs[GEN8_GT_IIR(3) / 4] & 0xffffu)
        v |= GEN8_GT_VECS_IRQ;
    return v;
}

static void wr_master(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    (void)e;
    g->regs[off / 4] = val & GEN8_MASTER_IRQ_CONTROL;
}

static void wr_flush(struct sim_gpu *g, struct sim_engine *e, uint32_t off, uint32_t val)
{
    /* GGTT entries are read on every access (no GGTT TLB): nothing to do. */
    (void)g, (void)e, (void)off, (void)val;
}

static const struct reg_desc engine_regs[] = {
    {RING_ELSP, 4, REG_ENGINE | REG_NO_CS, rd_elsp, wr_elsp},
    {RING_EXECLIST_STATUS_LO, 8, REG_ENGINE | REG_RO, rd_status, NULL},
    {RING_CONTEXT_STATUS_BUF_LO(0), 8 * GEN8_CSB_ENTRIES, REG_ENGINE | REG_RO, rd_csb, NULL},
    {RING_CONTEXT_STATUS_PTR, 4, REG_ENGINE | REG_NO_CS, rd_csb, wr_csb_ptr},
    {RING_MODE_GEN7, 4, REG_ENGINE, rd_ring_mode, wr_ring_mode},
    {RING_RESET_CTL, 4, REG_ENGINE | REG_NO_CS, rd_reset_ctl, wr_reset_ctl},
    {RING_TIMESTAMP, 8, REG_ENGINE | REG_RO, rd_timestamp, NULL},
    /* The ring registers mirror the running context; software programs
     * them through the context image, not here. */
    {RING_TAIL, 16, REG_ENGINE | REG_RO, NULL, NULL},
    /* RING_EXCC and CSFE_CHICKEN1 (i915 gt/intel_engine_regs.h,
     * intel_gt_regs.h): masked, as on Gen9. */
    {0x28, 4, REG_ENGINE | REG_MASKED, NULL, NULL},
    {0xd4, 4, REG_ENGINE | REG_MASKED, NULL, NULL},
};

static const struct reg_desc global_regs[] = {
    {GEN8_MASTER_IRQ, 4, 0, rd_master, wr_master},
    {GEN8_GT_ISR(0), 4, REG_RO, NULL, NULL},
    {GEN8_GT_ISR(1), 4, REG_RO, NULL, NULL},
    {GEN8_GT_ISR(2), 4, REG_RO, NULL, NULL},
    {GEN8_GT_ISR(3), 4, REG_RO, NULL, NULL},
    {GEN8_GT_IIR(0), 4, 0, NULL, wr_gt_iir},
    {GEN8_GT_IIR(1), 4, 0, NULL, wr_gt_iir},
    {GEN8_GT_IIR(2), 4, 0, NULL, wr_gt_iir},
    {GEN8_GT_IIR(3), 4, 0, NULL, wr_gt_iir},
    {GEN9_GFX_MODE, 4, REG_MASKED, NULL, NULL},
    {GFX_FLSH_CNTL_GEN6, 4, 0, NULL, wr_flush},
    {GEN8_FAULT_TLB_DATA0, 8, 0, NULL, NULL},
    {GEN6_GDRST, 4, REG_NO_CS, NULL, wr_gdrst},
    /* The render chicken and mode registers guests may load by LRI
     * (mediator/cmd_audit.c reg_rows[]): masked on Gen9 (i915 writes them
     * with _MASKED_BIT_ENABLE / _MASKED_FIELD, gvt handlers.c
     * F_MODE_MASK). */
    {0x2088, 4, REG_MASKED, NULL, NULL},  /* FF_SLICE_CHICKEN */
    {0x2090, 4, REG_MASKED, NULL, NULL},  /* _3D_CHICKEN3 */
    {0x20e0, 8, REG_MASKED, NULL, NULL},  /* GEN7_FF_SLICE_CS_CHICKEN1/2 */
    {0x20ec, 4, REG_MASKED, NULL, NULL},  /* GEN9_CS_DEBUG_MODE1 */
    {0x2120, 4, REG_MASKED, NULL, NULL},  /* CACHE_MODE_0 */
    {0x2580, 4, REG_MASKED, NULL, NULL},  /* GEN8_CS_CHICKEN1 */
    {0x5588, 4, REG_MASKED, NULL, NULL},  /* GEN9_WM_CHICKEN3 */
    {0x7000, 12, REG_MASKED, NULL, NULL}, /* CACHE_MODE_0_GEN7, CACHE_MODE_1, GEN7_GT_MODE */
    {0x7010, 12, REG_MASKED, NULL, NULL}, /* COMMON_SLICE_CHICKEN1/2, HIZ_CHICKEN */
    {0x7300, 8, REG_MASKED, NULL, NULL},  /* HDC_CHICKEN0, GEN8_HDC_CHICKEN1 */
    {0xe100, 4, REG_MASKED, NULL, NULL},  /* GEN7_HALF_SLICE_CHICKEN1 */
    {0xe180, 12, REG_MASKED, NULL, NULL}, /* HALF_SLICE_CHICKEN2/3/5 */
    {0xe194, 4, REG_MASKED, NULL, NULL},  /* GEN9_HALF_SLICE_CHICKEN7 */
    {0xe4f0, 8, REG_MASKED, NULL, NULL},  /* GEN8_ROW_CHICKEN, GEN7_ROW_CHICKEN2 */
};

static const struct reg_desc *find_reg(struct sim_gpu *g, uint32_t off, struct sim_engine **eng)
{
    *eng = NULL;
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++) {
        struct sim_engine *e = &g->eng[i];

        if (off < e->base || off >= e->base + 0x400)
            continue;
        for (size_t k = 0; k < VGT_ARRAY_SIZE(engine_regs); k++) {
            const struct reg_desc *r = &engine_regs[k];

            if (off - e->base >= r->off && off - e->base < r->off + r->size) {
                *eng = e;
                return r;
            }
        }
        break; /* not an engine register: a global one may sit in the window (0x2088) */
    }
    for (size_t k = 0; k < VGT_ARRAY_SIZE(global_regs); k++) {
        const struct reg_desc *r = &global_regs[k];

        if (off >= r->off && off < r->off + r->size)
            return r;
    }
    return NULL;
}

uint32_t sim_gpu_reg_read_locked(struct sim_gpu *g, uint32_t off)
{
    struct sim_engine *e;
    const struct reg_desc *r;

    off &= ~3u;
    if (off >= GEN9_MMIO_SIZE)
        return 0;
    r = find_reg(g, off, &e);
    if (r && r->read)
        return r->read(g, e, off);
    return plain(g, off);
}

void sim_gpu_reg_write_locked(struct sim_gpu *g, uint32_t off, uint32_t val, bool from_cs)
{
    struct sim_engine *e;
    const struct reg_desc *r;

    off &= ~3u;
    if (off >= GEN9_MMIO_SIZE)
        return;
    r = find_reg(g, off, &e);
    if (!r) {
        g->regs[off / 4] = val;
        return;
    }
    if ((r->flags & REG_RO) || (from_cs && (r->flags & REG_NO_CS)))
        return;
    if (r->write)
        r->write(g, e, off, val);
    else if (r->flags & REG_MASKED)
        g->regs[off / 4] = (g->regs[off / 4] & ~(val >> 16)) | (val & (val >> 16) & 0xffff);
    else
        g->regs[off / 4] = val;
}

/* --- interrupts -------------------------------------------------------- */

static void engine_irq_bank(unsigned engine, unsigned *bank, unsigned *shift)
{
    static const struct { unsigned bank, shift; } map[SIM_GPU_NUM_ENGINES] = {
        [VGT_ENGINE_RCS] = {0, GEN8_RCS_IRQ_SHIFT},
        [VGT_ENGINE_BCS] = {0, GEN8_BCS_IRQ_SHIFT},
        [VGT_ENGINE_VCS] = {1, GEN8_VCS0_IRQ_SHIFT},
        [VGT_ENGINE_VECS] = {3, GEN8_VECS_IRQ_SHIFT},
    };

    *bank = map[engine].bank;
    *shift = map[engine].shift;
}

uint32_t sim_gpu_raise_locked(struct sim_gpu *g, unsigned engine, uint32_t gt_bits)
{
    unsigned bank, shift;
    uint32_t bits, ier, imr, events = 0;

    engine_irq_bank(engine, &bank, &shift);
    bits = gt_bits << shift;
    ier = g->regs[GEN8_GT_IER(bank) / 4];
    imr = g->regs[GEN8_GT_IMR(bank) / 4];
    /* IIR latches enabled events; the CPU sees those not masked, when the
     * master control is on (i915 gen8 interrupt model). */
    g->regs[GEN8_GT_IIR(bank) / 4] |= bits & ier;
    bits &= ier & ~imr;
    if (!bits || !(g->regs[GEN8_MASTER_IRQ / 4] & GEN8_MASTER_IRQ_CONTROL))
        return 0;
    bits >>= shift;
    if (bits & GT_RENDER_USER_INTERRUPT)
        events |= VGT_GPU_EV_USER_INTERRUPT;
    if (bits & GT_CONTEXT_SWITCH_INTERRUPT)
        events |= VGT_GPU_EV_CTX_SWITCH;
    if (bits & GT_CS_MASTER_ERROR_INTERRUPT)
        events |= VGT_GPU_EV_FAULT;
    return events;
}

void sim_gpu_deliver(struct sim_gpu *g, unsigned engine, uint32_t events)
{
    vgt_hostgpu_irq_fn fn;
    void *opaque;

    if (!events)
        return;
    pthread_mutex_lock(&g->lock);
    fn = g->irq_fn;
    opaque = g->irq_opaque;
    if (fn)
        g->irq_busy++;
    pthread_mutex_unlock(&g->lock);
    if (!fn)
        return;
    fn(opaque, engine, events);
    pthread_mutex_lock(&g->lock);
    if (--g->irq_busy == 0)
        pthread_cond_broadcast(&g->irq_idle);
    pthread_mutex_unlock(&g->lock);
}

/* --- the host GPU seam ------------------------------------------------- */

static struct sim_gpu *to_gpu(struct vgt_hostgpu *hg)
{
    return (struct sim_gpu *)hg; /* hg is the first member */
}

static uint32_t op_mmio_read32(struct vgt_hostgpu *hg, uint32_t off)
{
    struct sim_gpu *g = to_gpu(hg);
    uint32_t v = 0;

    if (off >= GEN9_GGTT_OFFSET && off < GEN9_BAR0_SIZE) {
        uint64_t pte = sim_gpu_ggtt_pte(g, (off - GEN9_GGTT_OFFSET) / 8);

        return (off & 4) ? (uint32_t)(pte >> 32) : (uint32_t)pte;
    }
    pthread_mutex_lock(&g->lock);
    v = sim_gpu_reg_read_locked(g, off);
    pthread_mutex_unlock(&g->lock);
    return v;
}

/* Events of @engine latched in IIR and visible now (not masked, master
 * on). Under g->lock. */
static uint32_t visible_locked(struct sim_gpu *g, unsigned engine)
{
    unsigned bank, shift;
    uint32_t bits, events = 0;

    if (!(g->regs[GEN8_MASTER_IRQ / 4] & GEN8_MASTER_IRQ_CONTROL))
        return 0;
    engine_irq_bank(engine, &bank, &shift);
    bits = (g->regs[GEN8_GT_IIR(bank) / 4] & ~g->regs[GEN8_GT_IMR(bank) / 4]) >> shift;
    if (bits & GT_RENDER_USER_INTERRUPT)
        events |= VGT_GPU_EV_USER_INTERRUPT;
    if (bits & GT_CONTEXT_SWITCH_INTERRUPT)
        events |= VGT_GPU_EV_CTX_SWITCH;
    if (bits & GT_CS_MASTER_ERROR_INTERRUPT)
        events |= VGT_GPU_EV_FAULT;
    return events;
}

static bool irq_control_reg(uint32_t off)
{
    return off == GEN8_MASTER_IRQ || off == GEN8_GT_IMR(0) || off == GEN8_GT_IMR(1) ||
           off == GEN8_GT_IMR(3);
}

static void op_mmio_write32(struct vgt_hostgpu *hg, uint32_t off, uint32_t val)
{
    struct sim_gpu *g = to_gpu(hg);
    uint32_t before[SIM_GPU_NUM_ENGINES] = {0}, now[SIM_GPU_NUM_ENGINES] = {0};
    bool ctl = irq_control_reg(off);

    pthread_mutex_lock(&g->lock);
    if (ctl)
        for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
            before[i] = visible_locked(g, i);
    if (off >= GEN9_GGTT_OFFSET && off < GEN9_BAR0_SIZE) {
        uint64_t idx = (off - GEN9_GGTT_OFFSET) / 8;
        uint64_t pte = sim_gpu_ggtt_pte(g, idx);

        pte = (off & 4) ? (pte & 0xffffffffull) | (uint64_t)val << 32
                        : (pte & ~0xffffffffull) | val;
        __atomic_store_n(&g->ggtt[idx], pte, __ATOMIC_RELEASE);
    } else {
        sim_gpu_reg_write_locked(g, off, val, false);
    }
    if (ctl)
        for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
            now[i] = visible_locked(g, i);
    pthread_mutex_unlock(&g->lock);
    /* Interrupts are level-triggered: unmasking a latched event (or turning
     * the master control on with events in IIR) delivers it now. */
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
        sim_gpu_deliver(g, i, now[i] & ~before[i]);
}

static int op_ggtt_write(struct vgt_hostgpu *hg, uint64_t index, uint64_t pte)
{
    struct sim_gpu *g = to_gpu(hg);

    uint64_t blk = index / SIM_GPU_GGTT_BLOCK;

    if (index >= g->hg.gm_size >> 12)
        return -EINVAL;
    __atomic_store_n(&g->ggtt[index], pte, __ATOMIC_RELEASE);
    __atomic_fetch_or(&g->ggtt_dirty[blk / 64], 1ull << (blk % 64), __ATOMIC_RELAXED);
    return 0;
}

static int op_ggtt_write_run(struct vgt_hostgpu *hg, uint64_t index, uint64_t n,
                             const uint64_t *ptes)
{
    struct sim_gpu *g = to_gpu(hg);
    uint64_t nr = g->hg.gm_size >> 12;

    if (index >= nr || n > nr - index)
        return -EINVAL;
    for (uint64_t j = 0; j < n; j++)
        __atomic_store_n(&g->ggtt[index + j], ptes[j], __ATOMIC_RELEASE);
    for (uint64_t blk = index / SIM_GPU_GGTT_BLOCK; n && blk <= (index + n - 1) / SIM_GPU_GGTT_BLOCK;
         blk++)
        __atomic_fetch_or(&g->ggtt_dirty[blk / 64], 1ull << (blk % 64), __ATOMIC_RELAXED);
    return 0;
}

static int op_ggtt_read(struct vgt_hostgpu *hg, uint64_t index, uint64_t *pte)
{
    struct sim_gpu *g = to_gpu(hg);

    if (index >= g->hg.gm_size >> 12)
        return -EINVAL;
    *pte = sim_gpu_ggtt_pte(g, index);
    return 0;
}

static uint64_t frame_of(struct sim_gpu *g, uint64_t hpa)
{
    (void)g;
    return (hpa - SIM_ARENA_HPA_BASE) >> 12;
}

static int op_alloc_page(struct vgt_hostgpu *hg, uint64_t *dma, void **va)
{
    struct sim_gpu *g = to_gpu(hg);
    uint64_t hpa, f;
    int ret = sim_arena_alloc(g->arena, 1, 1, &hpa);

    if (ret)
        return ret;
    f = frame_of(g, hpa);
    pthread_mutex_lock(&g->lock);
    g->dma_owned[f / 8] |= (uint8_t)(1u << (f % 8));
    pthread_mutex_unlock(&g->lock);
    *dma = hpa;
    *va = sim_arena_ptr(g->arena, hpa, VGT_PAGE_SIZE);
    return 0;
}

static bool owned_locked(struct sim_gpu *g, uint64_t dma)
{
    uint64_t f;

    if ((dma & 0xfff) || !sim_arena_contains(g->arena, dma, VGT_PAGE_SIZE))
        return false;
    f = frame_of(g, dma);
    return f < g->arena_frames && (g->dma_owned[f / 8] & (1u << (f % 8)));
}

static void op_free_page(struct vgt_hostgpu *hg, uint64_t dma)
{
    struct sim_gpu *g = to_gpu(hg);
    bool ok;

    pthread_mutex_lock(&g->lock);
    ok = owned_locked(g, dma);
    if (ok) {
        uint64_t f = frame_of(g, dma);

        g->dma_owned[f / 8] &= (uint8_t)~(1u << (f % 8));
    }
    pthread_mutex_unlock(&g->lock);
    if (ok)
        sim_arena_free(g->arena, dma, 1);
    else
        vgt_warn(g->log, "gpu: free_page of 0x%llx, not a page of ours", (unsigned long long)dma);
}

static void *op_dma_to_va(struct vgt_hostgpu *hg, uint64_t dma)
{
    struct sim_gpu *g = to_gpu(hg);
    uint64_t page = dma & ~0xfffull;
    bool ok;

    pthread_mutex_lock(&g->lock);
    ok = page == g->scratch_hpa || owned_locked(g, page);
    pthread_mutex_unlock(&g->lock);
    return ok ? sim_arena_ptr(g->arena, dma, 1) : NULL;
}

static bool on_engine_thread(struct sim_gpu *g)
{
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
        if (g->eng[i].thread_started && pthread_equal(pthread_self(), g->eng[i].thread))
            return true;
    return false;
}

/* When this returns, no callback to the old handler is still running
 * (unless called from a callback itself), so its owner may free it. */
static int op_set_irq_handler(struct vgt_hostgpu *hg, vgt_hostgpu_irq_fn fn, void *opaque)
{
    struct sim_gpu *g = to_gpu(hg);
    bool wait = !on_engine_thread(g);

    pthread_mutex_lock(&g->lock);
    g->irq_fn = fn;
    g->irq_opaque = opaque;
    while (wait && g->irq_busy)
        pthread_cond_wait(&g->irq_idle, &g->lock);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

static const struct vgt_hostgpu_ops sim_gpu_ops = {
    .mmio_read32 = op_mmio_read32,
    .mmio_write32 = op_mmio_write32,
    .ggtt_write = op_ggtt_write,
    .ggtt_write_run = op_ggtt_write_run,
    .ggtt_read = op_ggtt_read,
    .alloc_page = op_alloc_page,
    .free_page = op_free_page,
    .dma_to_va = op_dma_to_va,
    .set_irq_handler = op_set_irq_handler,
};

/* --- lifecycle --------------------------------------------------------- */

static const struct {
    unsigned id;
    uint32_t base;
    const char *name;
} engine_info[SIM_GPU_NUM_ENGINES] = {
    {VGT_ENGINE_RCS, GEN9_RCS_BASE, "rcs"},
    {VGT_ENGINE_BCS, GEN9_BCS_BASE, "bcs"},
    {VGT_ENGINE_VCS, GEN9_VCS_BASE, "vcs"},
    {VGT_ENGINE_VECS, GEN9_VECS_BASE, "vecs"},
};

/* The execlist, CSB and counter state of an engine out of reset, and its
 * interrupt mask registers. */
static void engine_reset_locked(struct sim_gpu *g, struct sim_engine *e)
{
    sim_engine_execlist_reset_locked(e);
    e->reset_ctl = 0;
    e->reset_pending = false;
    e->cost_debt_ns = 0;
    memset(&e->stats, 0, sizeof(e->stats));
    g->regs[(e->base + RING_IMR) / 4] = ~0u;
    g->regs[(e->base + RING_HWSTAM) / 4] = ~0u;
}

static void regs_reset_locked(struct sim_gpu *g)
{
    /* Interrupts all masked (i915 expects IMR ~0 after reset). */
    for (unsigned b = 0; b < 4; b++)
        g->regs[GEN8_GT_IMR(b) / 4] = ~0u;
}

/* The register file is zero again: its pages (page-aligned memory of its
 * own) are dropped and the kernel refills them with zeroes at their next
 * touch (madvise(2), private anonymous memory). A run touches a few
 * pages; a memset wrote all 2 MiB at every reset. */
static void regs_zero(struct sim_gpu *g)
{
    if (madvise(g->regs, GEN9_MMIO_SIZE, MADV_DONTNEED))
        memset(g->regs, 0, GEN9_MMIO_SIZE);
}

int sim_gpu_reset(struct sim_gpu *g)
{
    pthread_mutex_lock(&g->lock);
    if (g->irq_fn || g->irq_busy)
        goto busy;
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
        if (g->eng[i].active || g->eng[i].has_submission)
            goto busy;
    regs_zero(g);
    regs_reset_locked(g);
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
        engine_reset_locked(g, &g->eng[i]);
    for (size_t w = 0; w < VGT_ARRAY_SIZE(g->ggtt_dirty); w++) {
        uint64_t bits = __atomic_exchange_n(&g->ggtt_dirty[w], 0, __ATOMIC_RELAXED);

        for (unsigned b = 0; bits; b++, bits >>= 1)
            if (bits & 1)
                memset(g->ggtt + (w * 64 + b) * SIM_GPU_GGTT_BLOCK, 0,
                       SIM_GPU_GGTT_BLOCK * sizeof(*g->ggtt));
    }
    /* Pages handed out through alloc_page that their users did not free
     * (eight bytes of the map at a time: it is mostly empty). */
    for (uint64_t i = 0, map = (g->arena_frames + 7) / 8; i < map; i += 8) {
        size_t len = (size_t)VGT_MIN(map - i, 8);
        uint64_t word = 0;

        memcpy(&word, g->dma_owned + i, len);
        if (!word)
            continue;
        for (uint64_t f = i * 8; f < (i + len) * 8; f++)
            if (g->dma_owned[f / 8] & (1u << (f % 8))) {
                g->dma_owned[f / 8] &= (uint8_t)~(1u << (f % 8));
                sim_arena_free(g->arena, SIM_ARENA_HPA_BASE + (f << 12), 1);
            }
    }
    memset(sim_arena_ptr(g->arena, g->scratch_hpa, VGT_PAGE_SIZE), 0, VGT_PAGE_SIZE);
    __atomic_store(&g->ns_per_byte, &g->cfg.ns_per_byte, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g->lock);
    return 0;

busy:
    pthread_mutex_unlock(&g->lock);
    return -EBUSY;
}

int sim_gpu_create(struct sim_arena *arena, const struct sim_gpu_config *cfg,
                   struct vgt_log *log, struct sim_gpu **out)
{
    struct sim_gpu *g;
    void *scratch;
    unsigned started = 0;
    int ret;

    if (!arena || !out)
        return -EINVAL;
    g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    if (cfg)
        g->cfg = *cfg;
    if (!g->cfg.aperture_size)
        g->cfg.aperture_size = 512ull << 20;
    if (!g->cfg.cmd_budget)
        g->cfg.cmd_budget = 1ull << 26;
    if (!g->cfg.semaphore_timeout_ms)
        g->cfg.semaphore_timeout_ms = 2000;
    if (!g->cfg.gm_size)
        g->cfg.gm_size = SIM_GPU_GM_SIZE;
    if (g->cfg.gm_size > SIM_GPU_GM_SIZE || (g->cfg.gm_size & 0xfffff) ||
        g->cfg.aperture_size > g->cfg.gm_size || (g->cfg.aperture_size & 0xfffff) ||
        g->cfg.ns_per_byte < 0) {
        ret = -EINVAL;
        goto free_gpu;
    }
    g->ns_per_byte = g->cfg.ns_per_byte;
    g->arena = arena;
    g->log = log;
    g->hg.ops = &sim_gpu_ops;
    g->hg.vendor = 0x8086;
    g->hg.device = 0x1912; /* Skylake GT2 (i915 INTEL_SKL_GT2_IDS) */
    g->hg.gm_size = g->cfg.gm_size;
    g->hg.aperture_size = g->cfg.aperture_size;
    g->hg.num_fences = GEN9_NUM_FENCES;
    ret = pthread_mutex_init(&g->lock, NULL);
    if (ret) {
        ret = -ret;
        goto free_gpu;
    }
    ret = pthread_cond_init(&g->irq_idle, NULL);
    if (ret) {
        ret = -ret;
        pthread_mutex_destroy(&g->lock);
        goto free_gpu;
    }
    g->regs = aligned_alloc(VGT_PAGE_SIZE, GEN9_MMIO_SIZE); /* for regs_zero */
    if (g->regs)
        regs_zero(g);
    g->ggtt = calloc(g->hg.gm_size >> 12, sizeof(uint64_t));
    g->arena_frames = sim_arena_size(arena) >> 12;
    g->dma_owned = calloc((g->arena_frames + 7) / 8, 1);
    if (!g->regs || !g->ggtt || !g->dma_owned) {
        ret = -ENOMEM;
        goto free_tables;
    }
    ret = sim_arena_alloc(arena, 1, 1, &g->scratch_hpa);
    if (ret)
        goto free_tables;
    scratch = sim_arena_ptr(arena, g->scratch_hpa, VGT_PAGE_SIZE);
    memset(scratch, 0, VGT_PAGE_SIZE);
    g->hg.scratch_dma = g->scratch_hpa;
    regs_reset_locked(g);

    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++) {
        struct sim_engine *e = &g->eng[i];

        e->gpu = g;
        e->id = engine_info[i].id;
        e->base = engine_info[i].base;
        e->name = engine_info[i].name;
        engine_reset_locked(g, e);
        ret = vgt_cmd_decoder_init(&e->dec, vgt_cmd_table_for_engine(e->id));
        if (ret)
            goto stop_engines;
    }
    for (; started < SIM_GPU_NUM_ENGINES; started++) {
        ret = sim_engine_start(&g->eng[started]);
        if (ret)
            goto stop_engines;
    }
    vgt_info(log, "gpu: Skylake GT2 model up: 4 GiB GGTT, aperture %llu MiB, %s cost model",
             (unsigned long long)(g->cfg.aperture_size >> 20),
             g->cfg.ns_per_byte > 0 ? "ns/byte" : "CPU");
    *out = g;
    return 0;

stop_engines:
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_mutex_unlock(&g->lock);
    while (started--)
        sim_engine_stop(&g->eng[started]);
    sim_arena_free(arena, g->scratch_hpa, 1);
free_tables:
    free(g->dma_owned);
    free(g->ggtt);
    free(g->regs);
    pthread_cond_destroy(&g->irq_idle);
    pthread_mutex_destroy(&g->lock);
free_gpu:
    free(g);
    return ret;
}

void sim_gpu_destroy(struct sim_gpu *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_mutex_unlock(&g->lock);
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
        sim_engine_stop(&g->eng[i]);
    /* Pages handed out through alloc_page that their users did not free. */
    for (uint64_t f = 0; f < g->arena_frames; f++)
        if (g->dma_owned[f / 8] & (1u << (f % 8)))
            sim_arena_free(g->arena, SIM_ARENA_HPA_BASE + (f << 12), 1);
    sim_arena_free(g->arena, g->scratch_hpa, 1);
    free(g->dma_owned);
    free(g->ggtt);
    free(g->regs);
    pthread_cond_destroy(&g->irq_idle);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

struct vgt_hostgpu *sim_gpu_hostgpu(struct sim_gpu *g)
{
    return &g->hg;
}

struct sim_gpu *sim_gpu_from_hostgpu(struct vgt_hostgpu *hg)
{
    return hg && hg->ops == &sim_gpu_ops ? to_gpu(hg) : NULL;
}

void sim_gpu_engine_stats(struct sim_gpu *g, unsigned engine, struct sim_gpu_engine_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (engine >= SIM_GPU_NUM_ENGINES)
        return;
    pthread_mutex_lock(&g->lock);
    *st = g->eng[engine].stats;
    pthread_mutex_unlock(&g->lock);
}

void sim_gpu_set_ns_per_byte(struct sim_gpu *g, double ns_per_byte)
{
    double v = ns_per_byte > 0 ? ns_per_byte : 0;

    __atomic_store(&g->ns_per_byte, &v, __ATOMIC_RELAXED);
}

int sim_gpu_ggtt_translate(struct sim_gpu *g, uint64_t gm_addr, uint64_t *hpa)
{
    uint64_t pte;

    if (gm_addr >= g->hg.gm_size)
        return -EFAULT;
    pte = sim_gpu_ggtt_pte(g, gm_addr >> 12);
    if (!(pte & GEN8_PTE_PRESENT))
        return -EFAULT;
    *hpa = (pte & GEN8_PTE_ADDR_MASK) | (gm_addr & 0xfff);
    if (!sim_arena_contains(g->arena, *hpa & ~0xfffull, VGT_PAGE_SIZE))
        return -EFAULT;
    return 0;
}

int sim_gpu_plane_read(struct sim_gpu *g, void *dst, size_t dst_pitch, unsigned max_w,
                       unsigned max_h, unsigned *w, unsigned *h)
{
    uint32_t ctl, stride, size, surf;
    uint64_t pitch;
    unsigned pw, ph;

    pthread_mutex_lock(&g->lock);
    ctl = g->regs[PLANE_CTL_1_A / 4];
    stride = g->regs[PLANE_STRIDE_1_A / 4];
    size = g->regs[PLANE_SIZE_1_A / 4];
    surf = g->regs[PLANE_SURF_1_A / 4];
    pthread_mutex_unlock(&g->lock);
    if (!(ctl & PLANE_CTL_ENABLE))
        return -ENODEV;
    if ((ctl & PLANE_CTL_FORMAT_MASK) != PLANE_CTL_FORMAT_XRGB_8888)
        return -EINVAL;
    pw = (size & 0x1fff) + 1;
    ph = ((size >> 16) & 0x1fff) + 1;
    pitch = (uint64_t)(stride & 0x3ff) * 64; /* linear: 64-byte units */
    if (pitch < (uint64_t)pw * 4)
        return -EINVAL;
    *w = pw;
    *h = ph;
    for (unsigned y = 0; y < VGT_MIN(ph, max_h); y++) {
        uint64_t ga = (surf & 0xfffff000u) + y * pitch;
        size_t left = (size_t)VGT_MIN(pw, max_w) * 4, done = 0;

        while (left) {
            uint64_t hpa;
            size_t chunk;
            void *src;

            if (sim_gpu_ggtt_translate(g, ga + done, &hpa))
                return -EFAULT;
            chunk = VGT_MIN(left, VGT_PAGE_SIZE - (hpa & 0xfff));
            src = sim_arena_ptr(g->arena, hpa, chunk);
            if (!src)
                return -EFAULT;
            memcpy((uint8_t *)dst + y * dst_pitch + done, src, chunk);
            done += chunk;
            left -= chunk;
        }
    }
    return 0;
}

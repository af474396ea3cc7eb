/* The native host driver: GGTT and PPGTT programming, LRC contexts,
 * ELSP submission, CSB/interrupt completion, all through the host GPU seam
 * (vgt/hostgpu.h). Register facts: vgt/sim_gpu_regs.h (i915). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgt/gen8_gtt.h"
#include "vgt/gpu_workload.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/sim_native.h"
#include "vgt/util.h"

#define NATIVE_MAX_CTX 64
/* PPGTT addresses are the GGTT address plus this, so a command that uses
 * the wrong address space misses (48-bit, PML4 slot 64). */
#define NATIVE_PPGTT_OFFSET (1ull << 45)

static const uint32_t engine_base[VGT_ENGINE_NUM] = {
    [VGT_ENGINE_RCS] = GEN9_RCS_BASE,
    [VGT_ENGINE_BCS] = GEN9_BCS_BASE,
    [VGT_ENGINE_VCS] = GEN9_VCS_BASE,
    [VGT_ENGINE_VECS] = GEN9_VECS_BASE,
};

struct sim_native_ctx {
    unsigned engine;
    uint32_t base;
    uint32_t id;
    uint64_t desc;
    struct sim_native_bo *img;  /* page 0 PPHWSP, page 1 register state */
    struct sim_native_bo *ring;
    uint32_t tail;
    uint64_t submitted, completed;
    bool error;
};

struct sim_native {
    struct vgt_hostgpu *hg;
    struct vgt_log *log;
    uint64_t ggtt_base, ggtt_size, ggtt_next;
    uint64_t pml4;            /* dma of the PPGTT root */
    uint64_t *tables;         /* dma of every page-table page */
    size_t ntables, cap_tables;
    struct sim_native_bo *hws[VGT_ENGINE_NUM];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t irq_seq;
    uint64_t irq_counts[3];
    unsigned csb_head[VGT_ENGINE_NUM];
    struct sim_native_ctx *ctx[NATIVE_MAX_CTX];
};

static uint32_t rd(struct sim_native *n, uint32_t off)
{
    return n->hg->ops->mmio_read32(n->hg, off);
}

static void wr(struct sim_native *n, uint32_t off, uint32_t v)
{
    n->hg->ops->mmio_write32(n->hg, off, v);
}

static void on_irq(void *opaque, unsigned engine, uint32_t events)
{
    struct sim_native *n = opaque;

    (void)engine;
    pthread_mutex_lock(&n->mu);
    for (unsigned i = 0; i < 3; i++)
        if (events & (1u << i))
            n->irq_counts[i]++;
    n->irq_seq++;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* --- PPGTT ------------------------------------------------------------- */

static int table_page(struct sim_native *n, uint64_t *dma)
{
    void *va;
    int ret;

    if (n->ntables == n->cap_tables) {
        size_t cap = n->cap_tables ? n->cap_tables * 2 : 64;
        uint64_t *t = realloc(n->tables, cap * sizeof(*t));

        if (!t)
            return -ENOMEM;
        n->tables = t;
        n->cap_tables = cap;
    }
    ret = n->hg->ops->alloc_page(n->hg, dma, &va);
    if (ret)
        return ret;
    memset(va, 0, VGT_PAGE_SIZE);
    n->tables[n->ntables++] = *dma;
    return 0;
}

/* The entry of @va at @level, allocating the tables above it. */
static int ppgtt_entry(struct sim_native *n, uint64_t va, int want, uint64_t **out)
{
    uint64_t table = n->pml4;

    for (int level = GEN8_LVL_PML4; level >= want; level--) {
        uint64_t *t = n->hg->ops->dma_to_va(n->hg, table);
        uint64_t *e;

        if (!t)
            return -EFAULT;
        e = &t[gen8_pt_index(va, level)];
        if (level == want) {
            *out = e;
            return 0;
        }
        if (!(*e & GEN8_PTE_PRESENT) || (level == GEN8_LVL_PD && (*e & GEN8_PDE_PS_2M))) {
            uint64_t next;
            int ret = table_page(n, &next);

            if (ret)
                return ret;
            *e = next | GEN8_PTE_PRESENT | GEN8_PTE_RW;
        }
        table = *e & GEN8_PTE_ADDR_MASK;
    }
    return -EINVAL;
}

/* Map one 4 KiB page at @va to @dma, allocating tables on the way. */
static int ppgtt_map(struct sim_native *n, uint64_t va, uint64_t dma)
{
    uint64_t *e;
    int ret = ppgtt_entry(n, va, GEN8_LVL_PT, &e);

    if (!ret)
        *e = dma | GEN8_PTE_PRESENT | GEN8_PTE_RW;
    return ret;
}

int sim_native_ppgtt_map(struct sim_native *n, uint64_t va, uint64_t dma, uint64_t page_size)
{
    uint64_t *e;
    int ret;

    if ((va | dma) & (page_size - 1) || va >> GEN8_PPGTT_VA_BITS)
        return -EINVAL;
    switch (page_size) {
    case 4096:
        return ppgtt_map(n, va, dma);
    case 2ull << 20:
        ret = ppgtt_entry(n, va, GEN8_LVL_PD, &e);
        if (!ret)
            *e = dma | GEN8_PTE_PRESENT | GEN8_PTE_RW | GEN8_PDE_PS_2M;
        return ret;
    case 64ull << 10:
        ret = ppgtt_entry(n, va, GEN8_LVL_PT, &e);
        if (ret)
            return ret;
        /* i915's 64 KiB layout: one entry every 16 slots. */
        e -= gen8_pt_index(va, GEN8_LVL_PT);
        e[((va >> 16) & 0x1f) * 16] = dma | GEN8_PTE_PRESENT | GEN8_PTE_RW;
        ret = ppgtt_entry(n, va, GEN8_LVL_PD, &e);
        if (!ret)
            *e |= GEN8_PDE_IPS_64K; /* the page table holds 64 KiB entries */
        return ret;
    default:
        return -EINVAL;
    }
}

int sim_native_ppgtt_set_entry(struct sim_native *n, uint64_t va, int level, uint64_t entry)
{
    uint64_t *e;
    int ret;

    if (level < GEN8_LVL_PT || level > GEN8_LVL_PML4)
        return -EINVAL;
    ret = ppgtt_entry(n, va, level, &e);
    if (!ret)
        *e = entry;
    return ret;
}

static void ppgtt_unmap(struct sim_native *n, uint64_t va)
{
    uint64_t table = n->pml4;

    for (int level = GEN8_LVL_PML4; level >= GEN8_LVL_PT; level--) {
        uint64_t *t = n->hg->ops->dma_to_va(n->hg, table);
        uint64_t *e;

        if (!t)
            return;
        e = &t[gen8_pt_index(va, level)];
        if (level == GEN8_LVL_PT) {
            *e = 0;
            return;
        }
        if (!(*e & GEN8_PTE_PRESENT))
            return;
        table = *e & GEN8_PTE_ADDR_MASK;
    }
}

/* --- buffers ----------------------------------------------------------- */

int sim_native_bo_create(struct sim_native *n, size_t size, struct sim_native_bo **out)
{
    struct sim_native_bo *bo;
    size_t i = 0;
    int ret;

    size = (size + VGT_PAGE_SIZE - 1) & ~(size_t)(VGT_PAGE_SIZE - 1);
    if (!size || size > n->ggtt_base + n->ggtt_size - n->ggtt_next)
        return -ENOSPC;
    bo = calloc(1, sizeof(*bo));
    if (!bo)
        return -ENOMEM;
    bo->size = size;
    bo->npages = size / VGT_PAGE_SIZE;
    bo->gm = n->ggtt_next;
    bo->va = bo->gm + NATIVE_PPGTT_OFFSET;
    bo->dma = calloc(bo->npages, sizeof(*bo->dma));
    bo->cpu = calloc(bo->npages, sizeof(*bo->cpu));
    if (!bo->dma || !bo->cpu) {
        ret = -ENOMEM;
        goto free_bo;
    }
    for (; i < bo->npages; i++) {
        void *va;

        ret = n->hg->ops->alloc_page(n->hg, &bo->dma[i], &va);
        if (ret)
            goto free_pages;
        bo->cpu[i] = va;
        memset(va, 0, VGT_PAGE_SIZE);
        ret = n->hg->ops->ggtt_write(n->hg, (bo->gm >> 12) + i, bo->dma[i] | GEN8_PTE_PRESENT);
        if (!ret)
            ret = ppgtt_map(n, bo->va + i * VGT_PAGE_SIZE, bo->dma[i]);
        if (ret) {
            i++;
            goto free_pages;
        }
    }
    n->ggtt_next += size;
    *out = bo;
    return 0;

free_pages:
    while (i--) {
        n->hg->ops->ggtt_write(n->hg, (bo->gm >> 12) + i, 0);
        ppgtt_unmap(n, bo->va + i * VGT_PAGE_SIZE);
        n->hg->ops->free_page(n->hg, bo->dma[i]);
    }
free_bo:
    free(bo->cpu);
    free(bo->dma);
    free(bo);
    return ret;
}

void sim_native_bo_destroy(struct sim_native *n, struct sim_native_bo *bo)
{
    if (!bo)
        return;
    for (size_t i = 0; i < bo->npages; i++) {
        n->hg->ops->ggtt_write(n->hg, (bo->gm >> 12) + i, 0);
        ppgtt_unmap(n, bo->va + i * VGT_PAGE_SIZE);
        n->hg->ops->free_page(n->hg, bo->dma[i]);
    }
    /* GGTT space is a bump allocator: released only with the driver. */
    free(bo->cpu);
    free(bo->dma);
    free(bo);
}

static int bo_copy(struct sim_native_bo *bo, size_t off, void *buf, size_t len, bool to_bo)
{
    uint8_t *b = buf;

    if (off > bo->size || len > bo->size - off)
        return -EINVAL;
    while (len) {
        size_t pg = off / VGT_PAGE_SIZE, in = off % VGT_PAGE_SIZE;
        size_t k = VGT_MIN(len, VGT_PAGE_SIZE - in);

        if (to_bo)
            memcpy(bo->cpu[pg] + in, b, k);
        else
            memcpy(b, bo->cpu[pg] + in, k);
        b += k;
        off += k;
        len -= k;
    }
    return 0;
}

int sim_native_bo_write(struct sim_native_bo *bo, size_t off, const void *src, size_t len)
{
    return bo_copy(bo, off, (void *)(uintptr_t)src, len, true);
}

int sim_native_bo_read(struct sim_native_bo *bo, size_t off, void *dst, size_t len)
{
    return bo_copy(bo, off, dst, len, false);
}

/* --- contexts ---------------------------------------------------------- */

static uint32_t lri_header(unsigned nregs)
{
    /* i915 MI_LOAD_REGISTER_IMM(n): MI_INSTR(0x22, 2n - 1). */
    return (0x22u << 23) | (2 * nregs - 1);
}

/* Fill the register state the way i915's execlists_init_reg_state lays it
 * out: register offset at index - 1, value at the CTX_* index. */
static void init_reg_state(struct sim_native *n, struct sim_native_ctx *c, uint32_t *r)
{
    uint32_t b = c->base;
    const struct { unsigned idx; uint32_t reg; uint32_t val; } regs[] = {
        {CTX_CONTEXT_CONTROL, b + RING_CONTEXT_CONTROL, GEN9_MASKED_DISABLE(0xffffu)},
        {CTX_RING_HEAD, b + RING_HEAD, 0},
        {CTX_RING_TAIL, b + RING_TAIL, 0},
        {CTX_RING_START, b + RING_START, (uint32_t)c->ring->gm},
        {CTX_RING_CTL, b + RING_CTL, RING_CTL_SIZE((uint32_t)c->ring->size) | RING_CTL_VALID},
        {CTX_BB_STATE, b + 0x110, 0},
        {CTX_TIMESTAMP, b + 0x3a8, 0},
        {CTX_PDP3_UDW, b + RING_PDP_UDW(3), 0},
        {CTX_PDP3_LDW, b + RING_PDP_LDW(3), 0},
        {CTX_PDP2_UDW, b + RING_PDP_UDW(2), 0},
        {CTX_PDP2_LDW, b + RING_PDP_LDW(2), 0},
        {CTX_PDP1_UDW, b + RING_PDP_UDW(1), 0},
        {CTX_PDP1_LDW, b + RING_PDP_LDW(1), 0},
        {CTX_PDP0_UDW, b + RING_PDP_UDW(0), (uint32_t)(n->pml4 >> 32)},
        {CTX_PDP0_LDW, b + RING_PDP_LDW(0), (uint32_t)n->pml4},
    };

    r[CTX_LRI_HEADER_0] = lri_header(14);
    r[CTX_LRI_HEADER_1] = lri_header(9);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(regs); i++) {
        r[regs[i].idx - 1] = regs[i].reg;
        r[regs[i].idx] = regs[i].val;
    }
}

int sim_native_ctx_create(struct sim_native *n, unsigned engine, unsigned ring_pages,
                          struct sim_native_ctx **out)
{
    struct sim_native_ctx *c;
    uint32_t id = 0;
    int ret;

    if (engine >= VGT_ENGINE_NUM || ring_pages == 0 || ring_pages > 512)
        return -EINVAL;
    pthread_mutex_lock(&n->mu);
    while (id < NATIVE_MAX_CTX && n->ctx[id])
        id++;
    pthread_mutex_unlock(&n->mu);
    if (id == NATIVE_MAX_CTX)
        return -ENOSPC;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->engine = engine;
    c->base = engine_base[engine];
    c->id = id + 1; /* context IDs in the CSB; 0 is never used */
    ret = sim_native_bo_create(n, 2 * VGT_PAGE_SIZE, &c->img);
    if (ret)
        goto free_ctx;
    ret = sim_native_bo_create(n, (size_t)ring_pages * VGT_PAGE_SIZE, &c->ring);
    if (ret)
        goto free_img;
    init_reg_state(n, c, (uint32_t *)c->img->cpu[LRC_STATE_PN]);
    c->desc = GEN8_CTX_VALID | (INTEL_LEGACY_64B_CONTEXT << GEN8_CTX_ADDRESSING_MODE_SHIFT) |
              GEN8_CTX_PRIVILEGE | (c->img->gm & GEN8_CTX_LRCA_MASK) | (uint64_t)c->id << 32;
    pthread_mutex_lock(&n->mu);
    n->ctx[id] = c;
    pthread_mutex_unlock(&n->mu);
    *out = c;
    return 0;

free_img:
    sim_native_bo_destroy(n, c->img);
free_ctx:
    free(c);
    return ret;
}

void sim_native_ctx_destroy(struct sim_native *n, struct sim_native_ctx *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&n->mu);
    n->ctx[c->id - 1] = NULL;
    pthread_mutex_unlock(&n->mu);
    sim_native_bo_destroy(n, c->ring);
    sim_native_bo_destroy(n, c->img);
    free(c);
}

uint64_t sim_native_ctx_lrca(const struct sim_native_ctx *c)
{
    return c->img->gm;
}

uint64_t sim_native_ctx_desc(const struct sim_native_ctx *c)
{
    return c->desc;
}

/* Append commands at the ring tail (MI_NOOP padding at the wrap) and
 * publish the new tail in the context image. */
static int ring_emit(struct sim_native_ctx *c, const uint32_t *cmds, size_t ndw)
{
    uint32_t size = (uint32_t)c->ring->size;
    uint32_t *reg = (uint32_t *)c->img->cpu[LRC_STATE_PN];
    uint32_t head = reg[CTX_RING_HEAD] & RING_HEAD_ADDR;
    size_t bytes = ndw * 4;
    size_t used = (c->tail + size - head) % size;

    if (!ndw || bytes + (bytes & 4) + 8 > size - used)
        return -ENOSPC;
    if (c->tail + bytes > size) {
        static const uint32_t noop = 0;

        while (c->tail < size) {
            sim_native_bo_write(c->ring, c->tail, &noop, 4);
            c->tail += 4;
        }
        c->tail = 0;
    }
    sim_native_bo_write(c->ring, c->tail, cmds, bytes);
    c->tail = (uint32_t)((c->tail + bytes) % size);
    if (c->tail & 4) { /* RING_TAIL is qword aligned (TAIL_ADDR bits 20:3) */
        static const uint32_t noop = 0;

        sim_native_bo_write(c->ring, c->tail, &noop, 4);
        c->tail = (c->tail + 4) % size;
    }
    __atomic_store_n(&reg[CTX_RING_TAIL], c->tail, __ATOMIC_RELEASE);
    return 0;
}

int sim_native_ring_append(struct sim_native *n, struct sim_native_ctx *c, const uint32_t *cmds,
                           size_t ndw)
{
    (void)n;
    return ring_emit(c, cmds, ndw);
}

static void elsp_submit(struct sim_native *n, uint32_t base, uint64_t d0, uint64_t d1)
{
    /* Element 1 then element 0, upper dword first (i915). */
    wr(n, base + RING_ELSP, (uint32_t)(d1 >> 32));
    wr(n, base + RING_ELSP, (uint32_t)d1);
    wr(n, base + RING_ELSP, (uint32_t)(d0 >> 32));
    wr(n, base + RING_ELSP, (uint32_t)d0);
}

int sim_native_submit(struct sim_native *n, struct sim_native_ctx *c, const uint32_t *cmds,
                      size_t ndw)
{
    int ret = ring_emit(c, cmds, ndw);

    if (ret)
        return ret;
    pthread_mutex_lock(&n->mu);
    c->submitted++;
    pthread_mutex_unlock(&n->mu);
    elsp_submit(n, c->base, c->desc, 0);
    return 0;
}

int sim_native_submit2(struct sim_native *n, struct sim_native_ctx *c0, const uint32_t *cmds0,
                       size_t ndw0, struct sim_native_ctx *c1, const uint32_t *cmds1,
                       size_t ndw1)
{
    int ret;

    if (c0->engine != c1->engine || c0 == c1)
        return -EINVAL;
    ret = ring_emit(c0, cmds0, ndw0);
    if (!ret)
        ret = ring_emit(c1, cmds1, ndw1);
    if (ret)
        return ret;
    pthread_mutex_lock(&n->mu);
    c0->submitted++;
    c1->submitted++;
    pthread_mutex_unlock(&n->mu);
    elsp_submit(n, c0->base, c0->desc, c1->desc);
    return 0;
}

/* Consume new CSB entries of @engine (under n->mu). */
static void process_csb(struct sim_native *n, unsigned engine)
{
    uint32_t base = engine_base[engine];
    uint32_t wp = rd(n, base + RING_CONTEXT_STATUS_PTR) & GEN8_CSB_WRITE_PTR_MASK;
    unsigned head = n->csb_head[engine];

    if (wp >= GEN8_CSB_ENTRIES)
        return;
    while (head != wp) {
        uint32_t status, id;

        head = (head + 1) % GEN8_CSB_ENTRIES;
        status = rd(n, base + RING_CONTEXT_STATUS_BUF_LO(head));
        id = rd(n, base + RING_CONTEXT_STATUS_BUF_HI(head));
        if ((status & GEN8_CTX_STATUS_COMPLETE) && id >= 1 && id <= NATIVE_MAX_CTX &&
            n->ctx[id - 1]) {
            struct sim_native_ctx *c = n->ctx[id - 1];

            c->completed++;
            if (status & VGT_CTX_STATUS_ERROR)
                c->error = true;
        }
    }
    n->csb_head[engine] = head;
    wr(n, base + RING_CONTEXT_STATUS_PTR,
       (GEN8_CSB_READ_PTR_MASK << 16) | (head << GEN8_CSB_READ_PTR_SHIFT));
}

int sim_native_wait(struct sim_native *n, struct sim_native_ctx *c, unsigned timeout_ms)
{
    struct timespec dl;
    int ret = 0;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&n->mu);
    for (;;) {
        uint64_t seq = n->irq_seq;

        process_csb(n, c->engine);
        if (c->completed >= c->submitted)
            break;
        if (timeout_ms == 0) {
            ret = -ETIMEDOUT;
            break;
        }
        if (seq == n->irq_seq && pthread_cond_timedwait(&n->cv, &n->mu, &dl) == ETIMEDOUT) {
            process_csb(n, c->engine);
            if (c->completed < c->submitted)
                ret = -ETIMEDOUT;
            break;
        }
    }
    if (!ret && c->error) {
        c->error = false;
        ret = -EIO;
    }
    pthread_mutex_unlock(&n->mu);
    return ret;
}

void sim_native_irq_counts(struct sim_native *n, uint64_t counts[3])
{
    pthread_mutex_lock(&n->mu);
    memcpy(counts, n->irq_counts, sizeof(n->irq_counts));
    pthread_mutex_unlock(&n->mu);
}

/* --- bring-up ---------------------------------------------------------- */

int sim_native_create(struct vgt_hostgpu *hg, struct vgt_log *log,
                      const struct sim_native_config *cfg, struct sim_native **out)
{
    static const struct { unsigned engine, bank, shift; } irqs[] = {
        {VGT_ENGINE_RCS, 0, GEN8_RCS_IRQ_SHIFT},
        {VGT_ENGINE_BCS, 0, GEN8_BCS_IRQ_SHIFT},
        {VGT_ENGINE_VCS, 1, GEN8_VCS0_IRQ_SHIFT},
        {VGT_ENGINE_VECS, 3, GEN8_VECS_IRQ_SHIFT},
    };
    const uint32_t bits = GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT |
                          GT_CS_MASTER_ERROR_INTERRUPT;
    uint32_t ier[4] = {0, 0, 0, 0};
    struct sim_native *n;
    int ret;

    if (!hg || !out)
        return -EINVAL;
    n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->hg = hg;
    n->log = log;
    n->ggtt_base = cfg ? cfg->ggtt_base : 0;
    n->ggtt_size = cfg && cfg->ggtt_size ? cfg->ggtt_size : 512ull << 20;
    if ((n->ggtt_base | n->ggtt_size) & 0xfff || n->ggtt_base + n->ggtt_size > hg->gm_size ||
        n->ggtt_base + n->ggtt_size < n->ggtt_base) {
        free(n);
        return -EINVAL;
    }
    /* Graphics address 0 stays unmapped: a zero address is a bug. */
    n->ggtt_next = n->ggtt_base ? n->ggtt_base : VGT_PAGE_SIZE;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    ret = table_page(n, &n->pml4);
    if (ret)
        goto free_native;
    ret = hg->ops->set_irq_handler(hg, on_irq, n);
    if (ret)
        goto free_tables;

    for (size_t i = 0; i < VGT_ARRAY_SIZE(irqs); i++) {
        uint32_t base = engine_base[irqs[i].engine];

        ret = sim_native_bo_create(n, VGT_PAGE_SIZE, &n->hws[i]);
        if (ret)
            goto free_hws;
        wr(n, base + RING_HWS_PGA, (uint32_t)n->hws[i]->gm);
        wr(n, base + RING_MODE_GEN7, GEN9_MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
        /* After reset the hardware writes CSB entry 0 first: start our
         * read pointer at the last entry (i915 reset_csb_pointers). */
        n->csb_head[irqs[i].engine] = rd(n, base + RING_CONTEXT_STATUS_PTR) & GEN8_CSB_WRITE_PTR_MASK;
        if (n->csb_head[irqs[i].engine] >= GEN8_CSB_ENTRIES)
            n->csb_head[irqs[i].engine] = GEN8_CSB_ENTRIES - 1;
        wr(n, base + RING_CONTEXT_STATUS_PTR, (GEN8_CSB_READ_PTR_MASK << 16) |
                                                  (n->csb_head[irqs[i].engine] << GEN8_CSB_READ_PTR_SHIFT));
        wr(n, base + RING_IMR, ~bits);
        ier[irqs[i].bank] |= bits << irqs[i].shift;
    }
    for (unsigned b = 0; b < 4; b++) {
        wr(n, GEN8_GT_IER(b), ier[b]);
        wr(n, GEN8_GT_IMR(b), ~ier[b]);
    }
    wr(n, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    *out = n;
    return 0;

free_hws:
    for (size_t i = 0; i < VGT_ARRAY_SIZE(n->hws); i++)
        sim_native_bo_destroy(n, n->hws[i]);
    hg->ops->set_irq_handler(hg, NULL, NULL);
free_tables:
    for (size_t i = 0; i < n->ntables; i++)
        hg->ops->free_page(hg, n->tables[i]);
free_native:
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n->tables);
    free(n);
    return ret;
}

void sim_native_destroy(struct sim_native *n)
{
    if (!n)
        return;
    wr(n, GEN8_MASTER_IRQ, 0);
    n->hg->ops->set_irq_handler(n->hg, NULL, NULL);
    for (size_t i = 0; i < NATIVE_MAX_CTX; i++)
        if (n->ctx[i])
            sim_native_ctx_destroy(n, n->ctx[i]);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(n->hws); i++)
        sim_native_bo_destroy(n, n->hws[i]);
    for (size_t i = 0; i < n->ntables; i++)
        n->hg->ops->free_page(n->hg, n->tables[i]);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n->tables);
    free(n);
}

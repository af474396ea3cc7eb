/* Workload submission (see vgt/submit.h and docs/submission.md).
 *
 * Locks: v->lock (the vGPU's, held by the device model around hooks) may be
 * taken before s->lock, never after it. The dispatcher thread takes s->lock
 * to pick and to retire, and drops it before delivering a completion to a
 * vGPU (which takes v->lock). The physical interrupt callback only sets
 * flags under s->irq_mu, because the GPU may call it from inside an MMIO
 * access the dispatcher makes. */
#include "vgt/submit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgt/cmd_audit.h"
#include "vgt/gen8_gtt.h"
#include "vgt/util.h"
#include "vgpu_priv.h"

/* ---- Gen9 execlist facts (Linux i915 gt/intel_lrc.c, intel_lrc_reg.h,
 * intel_engine_regs.h, intel_engine_types.h) ---- */
#define CTX_VALID (1u << 0)                   /* GEN8_CTX_VALID */
#define CTX_PRIVILEGE (1u << 8)               /* GEN8_CTX_PRIVILEGE */
#define CTX_MODE_SHIFT 3                      /* GEN8_CTX_ADDRESSING_MODE_SHIFT */
#define CTX_MODE_MASK (3u << 3)
#define CTX_MODE_LEGACY_64B 3u                /* INTEL_LEGACY_64B_CONTEXT */
#define CTX_LRCA_MASK 0xfffff000u
#define LRC_STATE_PN 1                        /* register state: page 1 */
#define CTX_LRI_HEADER_0 0x01
#define CTX_CONTEXT_CONTROL (0x02 + 1)
#define CTX_RING_HEAD (0x04 + 1)
#define CTX_RING_TAIL (0x06 + 1)
#define CTX_RING_START (0x08 + 1)
#define CTX_RING_CTL (0x0a + 1)
#define CTX_BB_STATE (0x10 + 1)
#define CTX_LRI_HEADER_1 0x21
#define CTX_TIMESTAMP (0x22 + 1)
#define CTX_PDP3_UDW (0x24 + 1)
#define CTX_PDP0_UDW (0x30 + 1)
#define CTX_PDP0_LDW (0x32 + 1)
#define CTX_REG_DWORDS 0x60
#define RING_VALID (1u << 0)                  /* RING_CTL */
#define RING_NR_PAGES 0x001ff000u
#define RING_HEAD_ADDR 0x001ffffcu
#define RING_TAIL_ADDR 0x001ffff8u
#define MI_LRI_FORCE_POSTED (1u << 12)
#define CSB_ENTRIES 6                         /* GEN8_CSB_ENTRIES */
#define CSB_WRITE_MASK 0x7u
#define CSB_READ_SHIFT 8
#define CSB_READ_MASK (0x7u << 8)
#define CSB_IDLE_ACTIVE (1u << 0)             /* GEN8_CTX_STATUS_* */
#define CSB_ELEMENT_SWITCH (1u << 2)
#define CSB_ACTIVE_IDLE (1u << 3)
#define CSB_COMPLETE (1u << 4)
#define CSB_ERROR (1u << 14)                  /* the simulated GPU's fault flag */
#define HWS_CSB_BUF0 0x10                     /* I915_HWS_CSB_BUF0_INDEX */
#define HWS_CSB_WRITE 0x1f                    /* I915_HWS_CSB_WRITE_INDEX */
#define GFX_RUN_LIST_ENABLE (1u << 15)        /* RING_MODE_GEN7 */
#define MASKED_ENABLE(b) (((b) << 16) | (b))
#define GT_USER (1u << 0)                     /* GT_RENDER_USER_INTERRUPT */
#define GT_ERROR (1u << 3)                    /* GT_CS_MASTER_ERROR_INTERRUPT */
#define GT_CTX_SWITCH (1u << 8)               /* GT_CONTEXT_SWITCH_INTERRUPT */
#define MI_NOOP 0u

static const uint32_t ring_base[VGT_ENGINE_NUM] = {
    RENDER_RING_BASE, BLT_RING_BASE, GEN6_BSD_RING_BASE, VEBOX_RING_BASE,
};

/* ---- shadow slots: one per workload, contiguous in the host GGTT ---- */
#define SLOT_CTX_PAGES 2
#define SLOT_RING_PAGES 8
#define SLOT_BATCH_PAGES 64
#define SLOT_PAGES (SLOT_CTX_PAGES + SLOT_RING_PAGES + SLOT_BATCH_PAGES)
#define MAX_SLOTS 1024
#define MAX_QUEUED 16 /* per vGPU and engine */

struct slot {
    unsigned idx;
    uint64_t gm;                   /* GGTT address of page 0 */
    uint64_t dma[SLOT_PAGES];
    uint8_t *va[SLOT_PAGES];
    struct slot *next_free;
};

enum wl_state { WL_QUEUED, WL_RUNNING, WL_DONE };

struct workload {
    struct vgt_submit_vgpu *sv;
    unsigned engine;
    enum wl_state state;
    bool cancelled;
    bool error;
    bool last;          /* last element of its ELSP pair */
    uint32_t guest_ctx_id;
    uint64_t pml4;
    bool pinned;
    uint32_t guest_tail;
    uint64_t head_gpa;  /* guest context image RING_HEAD dword */
    uint64_t hwsp_gpa;  /* guest HWSP page (0: none) */
    unsigned user_irqs;
    struct slot *slot;
    struct workload *next;
};

struct vengine {
    uint32_t elsp[4];
    unsigned elsp_n;
    unsigned csb_wp;          /* virtual CSB write index */
    struct workload *q_head, *q_tail; /* queued, in order */
    unsigned queued;
    unsigned outstanding;     /* queued + running */
    uint64_t last_lrca;       /* the newest submission's context */
    uint32_t last_tail;       /* and where its ring copy ended */
    bool active;              /* virtual engine active (between IDLE_ACTIVE and ACTIVE_IDLE) */
};

struct vgt_submit_vgpu {
    struct vgt_submit *s;
    struct vgt_vgpu *v;
    unsigned sched_id;
    const struct vgt_submit_ppgtt_ops *pp;
    void *pp_opaque;
    struct vgt_auditor audit;
    struct vengine eng[VGT_ENGINE_NUM];
    unsigned running;          /* workloads on an engine now */
    struct vgt_submit_stats st;
    bool detaching;
};

struct hw_engine {
    bool present;
    struct workload *running;
    unsigned csb_head;
    uint64_t hwsp_dma;
    uint64_t hwsp_gm;
};

struct vgt_submit {
    struct vgt_hostgpu *hw;
    struct vgt_log *log;
    struct vgt_sched *sched;
    pthread_mutex_t lock;
    pthread_cond_t done_cv;     /* a workload left an engine */
    struct hw_engine eng[VGT_ENGINE_NUM];
    struct vgt_submit_vgpu *by_sched[VGT_SCHED_MAX_VGPUS];
    uint64_t shadow_gm, shadow_size;
    struct slot *slots[MAX_SLOTS];
    unsigned nr_slots;
    struct slot *free_slots;
    /* dispatcher wake-ups */
    pthread_mutex_t irq_mu;
    pthread_cond_t irq_cv;
    unsigned irq_pending;       /* engine bits */
    bool kick;
    bool stop;
    unsigned in_irq;            /* interrupt callbacks running now */
    pthread_t thread;
};

static uint32_t rd(struct vgt_submit *s, uint32_t off)
{
    return s->hw->ops->mmio_read32(s->hw, off);
}

static void wr(struct vgt_submit *s, uint32_t off, uint32_t val)
{
    s->hw->ops->mmio_write32(s->hw, off, val);
}

static void kick(struct vgt_submit *s)
{
    pthread_mutex_lock(&s->irq_mu);
    s->kick = true;
    pthread_cond_signal(&s->irq_cv);
    pthread_mutex_unlock(&s->irq_mu);
}

static void service(struct vgt_submit *s, uint64_t *retry);
static void dispatch(struct vgt_submit *s, unsigned e, uint64_t *retry);

/* The GPU calls this from its engine thread with none of its locks held:
 * retire and deliver there, and start the next workload at once, so the
 * hot path has no extra thread hand-off. The dispatcher thread is the
 * safety net (coalesced interrupts, cap periods). */
static void on_irq(void *opaque, unsigned engine, uint32_t events)
{
    struct vgt_submit *s = opaque;
    uint64_t retry = UINT64_MAX;

    (void)events;
    if (engine >= VGT_ENGINE_NUM)
        return;
    __atomic_add_fetch(&s->in_irq, 1, __ATOMIC_ACQ_REL);
    if (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        service(s, &retry);
        if (retry != UINT64_MAX)
            kick(s);
    }
    __atomic_sub_fetch(&s->in_irq, 1, __ATOMIC_ACQ_REL);
}

/* ---- slots ---- */

static void slot_free_pages(struct vgt_submit *s, struct slot *sl)
{
    for (unsigned i = 0; i < SLOT_PAGES; i++) {
        if (!sl->dma[i])
            continue;
        s->hw->ops->ggtt_write(s->hw, (sl->gm >> 12) + i, s->hw->scratch_dma | GEN8_PTE_PRESENT);
        s->hw->ops->free_page(s->hw, sl->dma[i]);
    }
    free(sl);
}

/* Under s->lock. */
static struct slot *slot_get(struct vgt_submit *s)
{
    struct slot *sl = s->free_slots;
    unsigned idx;

    if (sl) {
        s->free_slots = sl->next_free;
        return sl;
    }
    idx = s->nr_slots;
    if (idx >= MAX_SLOTS || (uint64_t)(idx + 1) * SLOT_PAGES * VGT_PAGE_SIZE > s->shadow_size)
        return NULL;
    sl = calloc(1, sizeof(*sl));
    if (!sl)
        return NULL;
    sl->idx = idx;
    sl->gm = s->shadow_gm + (uint64_t)idx * SLOT_PAGES * VGT_PAGE_SIZE;
    for (unsigned i = 0; i < SLOT_PAGES; i++) {
        void *va;

        if (s->hw->ops->alloc_page(s->hw, &sl->dma[i], &va) ||
            s->hw->ops->ggtt_write(s->hw, (sl->gm >> 12) + i, sl->dma[i] | GEN8_PTE_PRESENT | GEN8_PTE_RW)) {
            slot_free_pages(s, sl);
            return NULL;
        }
        sl->va[i] = va;
    }
    s->slots[idx] = sl;
    s->nr_slots++;
    return sl;
}

static void slot_put(struct vgt_submit *s, struct slot *sl)
{
    if (!sl)
        return;
    sl->next_free = s->free_slots;
    s->free_slots = sl;
}

/* Copy @len bytes to slot page @first + byte @off. */
static void slot_write(struct slot *sl, unsigned first, size_t off, const void *src, size_t len)
{
    const uint8_t *p = src;

    while (len) {
        unsigned pg = first + (unsigned)(off / VGT_PAGE_SIZE);
        size_t in = off % VGT_PAGE_SIZE;
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - in);

        memcpy(sl->va[pg] + in, p, n);
        p += n;
        off += n;
        len -= n;
    }
}

/* ---- guest memory through its GGTT and PPGTT ---- */

static int gm_to_gpa(struct vgt_submit_vgpu *sv, uint64_t gm, uint64_t *gpa)
{
    uint64_t pte;

    if (!vgt_vgpu_gm_valid(sv->v, gm, 1))
        return -EFAULT;
    if (vgt_ggtt_guest_read(sv->v->ggtt, (gm >> 12) * 8, 8, &pte) || !(pte & GEN8_PTE_PRESENT))
        return -EFAULT;
    *gpa = (pte & GEN8_PTE_ADDR_MASK) | (gm & 0xfff);
    return 0;
}

static int gm_read(struct vgt_submit_vgpu *sv, uint64_t gm, void *buf, size_t len, size_t *got)
{
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        uint64_t gpa;
        size_t n = VGT_MIN(len - done, VGT_PAGE_SIZE - ((gm + done) & 0xfff));

        if (gm_to_gpa(sv, gm + done, &gpa) || vgt_hv_read(sv->v->hv, gpa, p + done, n))
            break;
        done += n;
    }
    if (got)
        *got = done;
    return done == len ? 0 : -EFAULT;
}

struct walk_ctx {
    struct vgt_hv *hv;
};

static int guest_rd64(void *opaque, uint64_t pa, uint64_t *val)
{
    struct walk_ctx *w = opaque;

    return vgt_hv_read(w->hv, pa, val, 8);
}

static int ppgtt_read(struct vgt_submit_vgpu *sv, uint64_t pml4, uint64_t va, void *buf, size_t len,
                      size_t *got)
{
    struct walk_ctx wc = {sv->v->hv};
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        struct gen8_walk w;
        size_t n = VGT_MIN(len - done, VGT_PAGE_SIZE - ((va + done) & 0xfff));

        if (gen8_ppgtt_walk(guest_rd64, &wc, pml4, va + done, &w) ||
            vgt_hv_read(sv->v->hv, w.pa, p + done, n))
            break;
        done += n;
    }
    *got = done;
    return done ? 0 : -EFAULT;
}

/* Auditor fetch: copy a batch from the guest, GGTT or PPGTT. */
struct fetch_ctx {
    struct vgt_submit_vgpu *sv;
    uint64_t pml4, root;
};

static int fetch(void *opaque, uint64_t gma, bool ppgtt, size_t max_dw, struct vgt_audit_buf *out)
{
    struct fetch_ctx *f = opaque;
    size_t got = 0;
    uint32_t *dw;

    free(out->priv);
    out->priv = out->dw = NULL;
    out->ndw = 0;
    dw = malloc(VGT_MAX(max_dw, 1) * 4);
    if (!dw)
        return -ENOMEM;
    if (ppgtt)
        ppgtt_read(f->sv, f->pml4, gma, dw, max_dw * 4, &got);
    else
        gm_read(f->sv, gma, dw, max_dw * 4, &got);
    if (got < 4) {
        free(dw);
        return -EFAULT;
    }
    out->dw = dw;
    out->priv = dw;
    out->ndw = got / 4;
    return 0;
}

/* PDP writes by LRI get the shadow root (the context's own PML4 is the
 * only table a 4-level context names: PDP0; PDP1..3 are unused). */
static int pdp_patch(void *opaque, unsigned engine, unsigned pdp, bool upper, uint32_t val,
                     uint32_t *host)
{
    struct fetch_ctx *f = opaque;
    uint32_t guest = upper ? (uint32_t)(f->pml4 >> 32) : (uint32_t)f->pml4;

    (void)engine;
    /* A 4-level context names one table, in PDP0: a write of its own
     * PML4 gets the shadow root; anything else is refused rather than
     * guessed (it would need a table nobody pinned). */
    if (pdp != 0 || (val & ~0xfffu) != (guest & ~0xfffu))
        return -ENOENT;
    *host = upper ? (uint32_t)(f->root >> 32) : (uint32_t)f->root | (val & 0xfffu);
    return 0;
}

static const struct vgt_audit_ops audit_ops = {.fetch = fetch, .pdp = pdp_patch};

/* ---- submission (ELSP hook; v->lock held) ---- */

static void refuse(struct vgt_submit_vgpu *sv, const char *what, uint64_t desc)
{
    char detail[160];

    snprintf(detail, sizeof(detail), "ELSP desc 0x%llx: %s", (unsigned long long)desc, what);
    sv->st.refused++;
    snprintf(sv->st.last_refusal, sizeof(sv->st.last_refusal), "%s", detail);
    vgt_warn(sv->s->log, "vgpu%u: %s", sv->v->id, detail);
    vgt_vgpu_enter_failsafe(sv->v, VGT_FAILSAFE_GUEST_ERROR, detail);
}

/* Unpin its page table: the PPGTT shadow belongs to the vGPU's thread, so
 * callers hold v->lock. */
static void unpin_workload(struct workload *wl)
{
    if (wl->pinned && wl->sv->pp && wl->sv->pp->unpin)
        wl->sv->pp->unpin(wl->sv->pp_opaque, wl->pml4);
    wl->pinned = false;
}

static void free_workload(struct vgt_submit *s, struct workload *wl)
{
    pthread_mutex_lock(&s->lock);
    slot_put(s, wl->slot);
    pthread_mutex_unlock(&s->lock);
    free(wl);
}

static void free_audit(struct vgt_audit_result *r)
{
    for (unsigned i = 0; i < r->batches; i++)
        free(r->bufs[i].priv);
}

/* Build one workload from descriptor @desc. Returns 0, or -EINVAL after
 * refusing (the vGPU is then in failsafe). */
static int shadow_workload(struct vgt_submit_vgpu *sv, unsigned engine, uint64_t desc,
                           struct workload **out)
{
    struct vgt_submit *s = sv->s;
    uint64_t lrca = desc & CTX_LRCA_MASK;
    uint32_t regs[CTX_REG_DWORDS];
    uint32_t head, tail, start, ctl, size, len, pad;
    uint64_t pml4, root, gpa, hws;
    struct vgt_audit_result *r = NULL;
    struct fetch_ctx fc;
    struct workload *wl;
    uint32_t *ring = NULL;
    uint32_t shadow[CTX_REG_DWORDS];
    uint64_t batch_off[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    size_t boff;
    int rc;

    if (((desc & CTX_MODE_MASK) >> CTX_MODE_SHIFT) != CTX_MODE_LEGACY_64B) {
        refuse(sv, "not a 64-bit legacy (4-level PPGTT) context", desc);
        return -EINVAL;
    }
    if (!vgt_vgpu_gm_valid(sv->v, lrca, (LRC_STATE_PN + 1) * VGT_PAGE_SIZE)) {
        refuse(sv, "context image outside the vGPU's graphics memory", desc);
        return -EINVAL;
    }
    if (gm_read(sv, lrca + LRC_STATE_PN * VGT_PAGE_SIZE, regs, sizeof(regs), NULL) ||
        gm_to_gpa(sv, lrca + LRC_STATE_PN * VGT_PAGE_SIZE + CTX_RING_HEAD * 4, &gpa)) {
        refuse(sv, "context image not readable (GGTT entry or guest page missing)", desc);
        return -EINVAL;
    }
    head = regs[CTX_RING_HEAD] & RING_HEAD_ADDR;
    tail = regs[CTX_RING_TAIL] & RING_TAIL_ADDR;
    /* The same context submitted again before its previous workload
     * completed: its RING_HEAD has not moved yet, so continue where the
     * previous copy ended (the hardware would have too). */
    if (sv->eng[engine].outstanding && sv->eng[engine].last_lrca == lrca)
        head = sv->eng[engine].last_tail;
    start = regs[CTX_RING_START] & 0xfffff000u;
    ctl = regs[CTX_RING_CTL];
    size = (ctl & RING_NR_PAGES) + (uint32_t)VGT_PAGE_SIZE;
    pml4 = ((uint64_t)regs[CTX_PDP0_UDW] << 32 | regs[CTX_PDP0_LDW]) & ~0xfffull;
    if (!(ctl & RING_VALID) || head >= size || tail >= size ||
        !vgt_vgpu_gm_valid(sv->v, start, size)) {
        refuse(sv, "ring not valid, outside the vGPU, or HEAD/TAIL outside it", desc);
        return -EINVAL;
    }
    len = tail >= head ? tail - head : size - head + tail;
    pad = (len & 7) ? 4 : 0; /* the shadow TAIL must be qword aligned */
    if (len + pad + 8 > SLOT_RING_PAGES * VGT_PAGE_SIZE) {
        refuse(sv, "ring contents larger than the shadow ring", desc);
        return -EINVAL;
    }
    if (!sv->pp || sv->pp->pin(sv->pp_opaque, pml4, &root)) {
        refuse(sv, "PDP0 names no page table vgt can shadow", desc);
        return -EINVAL;
    }
    if (sv->pp->sync && sv->pp->sync(sv->pp_opaque, pml4)) {
        sv->pp->unpin(sv->pp_opaque, pml4);
        refuse(sv, "page table shadow could not be synchronised", desc);
        return -EINVAL;
    }
    wl = calloc(1, sizeof(*wl));
    r = malloc(sizeof(*r));
    ring = malloc(len + pad + 8);
    if (!wl || !r || !ring) {
        rc = -ENOMEM;
        goto fail;
    }
    wl->sv = sv;
    wl->engine = engine;
    wl->guest_ctx_id = (uint32_t)(desc >> 32);
    wl->pml4 = pml4;
    wl->pinned = true;
    wl->guest_tail = tail;
    sv->eng[engine].last_lrca = lrca;
    sv->eng[engine].last_tail = tail;
    wl->head_gpa = gpa;
    hws = vgt_vgpu_vreg(sv->v, RING_HWS_PGA(ring_base[engine])) & 0xfffff000u;
    if (hws && !gm_to_gpa(sv, hws, &gpa))
        wl->hwsp_gpa = gpa;
    /* The ring copy, head to tail (wrapping), then audited. */
    if (tail >= head) {
        rc = gm_read(sv, start + head, ring, len, NULL);
    } else {
        rc = gm_read(sv, start + head, ring, size - head, NULL);
        if (!rc)
            rc = gm_read(sv, start, (uint8_t *)ring + (size - head), tail, NULL);
    }
    if (rc) {
        free(ring);
        free(r);
        wl->slot = NULL;
        unpin_workload(wl);
        free_workload(s, wl);
        refuse(sv, "ring not readable", desc);
        return -EINVAL;
    }
    if (pad)
        ring[len / 4] = MI_NOOP;
    fc.sv = sv;
    fc.pml4 = pml4;
    fc.root = root;
    sv->audit.opaque = &fc;
    rc = vgt_audit_ring(&sv->audit, engine, ring, (len + pad) / 4, start + head, r);
    sv->audit.opaque = NULL;
    sv->st.audited_dwords += r->dwords;
    sv->st.batches += r->batches;
    if (rc) {
        char why[160];

        snprintf(why, sizeof(why), "%s at %s %u +0x%x: %s", r->viol.cmd ? r->viol.cmd : "?",
                 r->viol.buf ? "batch" : "ring", r->viol.buf, r->viol.offset,
                 r->viol.reason ? r->viol.reason : "refused");
        free_audit(r);
        free(r);
        free(ring);
        unpin_workload(wl);
        free_workload(s, wl);
        refuse(sv, why, desc);
        return -EINVAL;
    }
    wl->user_irqs = r->user_interrupts + r->notifies;
    /* Lay the batches out in the slot and relocate the BB_STARTs. */
    boff = 0;
    for (unsigned i = 0; i < r->batches; i++) {
        batch_off[i] = boff;
        boff += (r->bufs[i].ndw * 4 + 63) & ~63ull;
    }
    if (boff > SLOT_BATCH_PAGES * VGT_PAGE_SIZE) {
        free_audit(r);
        free(r);
        free(ring);
        unpin_workload(wl);
        free_workload(s, wl);
        refuse(sv, "batch buffers larger than the shadow batch area", desc);
        return -EINVAL;
    }
    pthread_mutex_lock(&s->lock);
    wl->slot = slot_get(s);
    pthread_mutex_unlock(&s->lock);
    if (!wl->slot) {
        free_audit(r);
        free(r);
        free(ring);
        unpin_workload(wl);
        free_workload(s, wl);
        refuse(sv, "no shadow slot left on the host", desc);
        return -EINVAL;
    }
    for (unsigned i = 0; i < r->nr_sites; i++) {
        const struct vgt_audit_bb_site *st = &r->sites[i];
        uint32_t *p = st->buf ? &r->bufs[st->buf - 1].dw[st->dw] : &ring[st->dw];
        uint64_t gm = wl->slot->gm + (SLOT_CTX_PAGES + SLOT_RING_PAGES) * VGT_PAGE_SIZE +
                      batch_off[st->target];

        p[0] &= ~(1u << 8); /* ASI: GGTT, the copy */
        p[1] = (uint32_t)gm;
        p[2] = (uint32_t)(gm >> 32);
    }
    for (unsigned i = 0; i < r->batches; i++)
        slot_write(wl->slot, SLOT_CTX_PAGES + SLOT_RING_PAGES, batch_off[i], r->bufs[i].dw,
                   r->bufs[i].ndw * 4);
    slot_write(wl->slot, SLOT_CTX_PAGES, 0, ring, len + pad);
    /* The shadow context: only fields vgt models, the guest's others are
     * not carried over (masked). */
    memset(shadow, 0, sizeof(shadow));
    {
        const uint32_t b = ring_base[engine];
        const struct { unsigned idx; uint32_t reg, val; } rs[] = {
            {CTX_CONTEXT_CONTROL, b + 0x244, regs[CTX_CONTEXT_CONTROL] & 0xffff0000u},
            {CTX_RING_HEAD, b + 0x34, 0},
            {CTX_RING_TAIL, b + 0x30, len + pad},
            {CTX_RING_START, b + 0x38, (uint32_t)(wl->slot->gm + SLOT_CTX_PAGES * VGT_PAGE_SIZE)},
            {CTX_RING_CTL, b + 0x3c, ((SLOT_RING_PAGES - 1) << 12) | RING_VALID},
            {CTX_BB_STATE, b + 0x110, 0},
            {CTX_TIMESTAMP, b + 0x3a8, regs[CTX_TIMESTAMP]},
            {CTX_PDP0_UDW, b + 0x270 + 4, (uint32_t)(root >> 32)},
            {CTX_PDP0_LDW, b + 0x270, (uint32_t)root},
        };

        /* MI_LOAD_REGISTER_IMM(n) | MI_LRI_FORCE_POSTED, as i915 lays
         * the register state out. */
        shadow[CTX_LRI_HEADER_0] = 0x11000000u | (2 * 14 - 1) | MI_LRI_FORCE_POSTED;
        shadow[CTX_LRI_HEADER_1] = 0x11000000u | (2 * 9 - 1) | MI_LRI_FORCE_POSTED;
        for (unsigned i = 0; i < 4; i++)
            shadow[CTX_PDP3_UDW + 2 * i - 1] = b + 0x270 + 8 * (3 - i) + 4,
            shadow[CTX_PDP3_UDW + 2 * i + 1] = b + 0x270 + 8 * (3 - i);
        for (size_t i = 0; i < VGT_ARRAY_SIZE(rs); i++) {
            shadow[rs[i].idx - 1] = rs[i].reg;
            shadow[rs[i].idx] = rs[i].val;
        }
    }
    memset(wl->slot->va[0], 0, VGT_PAGE_SIZE);
    memset(wl->slot->va[1], 0, VGT_PAGE_SIZE);
    slot_write(wl->slot, LRC_STATE_PN, 0, shadow, sizeof(shadow));
    free_audit(r);
    free(r);
    free(ring);
    *out = wl;
    return 0;

fail:
    free(ring);
    free(r);
    free(wl);
    sv->pp->unpin(sv->pp_opaque, pml4);
    refuse(sv, "out of host memory", desc);
    return rc;
}

/* Virtual CSB event (v->lock held by the caller or taken here through the
 * vreg accessors): guest HWSP copy first, then the registers. */
static void vcsb_event(struct vgt_submit_vgpu *sv, unsigned engine, uint64_t hwsp_gpa, uint32_t status,
                       uint32_t ctx_id)
{
    struct vengine *ve = &sv->eng[engine];
    uint32_t b = ring_base[engine];
    uint32_t ptr;

    ve->csb_wp = (ve->csb_wp + 1) % CSB_ENTRIES;
    if (hwsp_gpa) {
        uint32_t e[2] = {status, ctx_id};
        uint32_t wp = ve->csb_wp;

        vgt_hv_write(sv->v->hv, hwsp_gpa + (HWS_CSB_BUF0 + 2 * ve->csb_wp) * 4, e, 8);
        vgt_hv_write(sv->v->hv, hwsp_gpa + HWS_CSB_WRITE * 4, &wp, 4);
    }
    vgt_vgpu_set_vreg(sv->v, RING_CONTEXT_STATUS_BUF_LO(b, ve->csb_wp), status);
    vgt_vgpu_set_vreg(sv->v, RING_CONTEXT_STATUS_BUF_LO(b, ve->csb_wp) + 4, ctx_id);
    ptr = vgt_vgpu_vreg(sv->v, RING_CONTEXT_STATUS_PTR(b));
    vgt_vgpu_set_vreg(sv->v, RING_CONTEXT_STATUS_PTR(b), (ptr & ~CSB_WRITE_MASK) | ve->csb_wp);
    sv->st.ctx_switch_events++;
}

static int elsp_write(void *opaque, struct vgt_vgpu *v, unsigned engine, uint32_t val)
{
    struct vgt_submit_vgpu *sv = opaque;
    struct vgt_submit *s = sv->s;
    struct vengine *ve;
    struct workload *wl[2] = {NULL, NULL};
    uint64_t desc[2];
    unsigned n = 0;

    (void)v;
    if (engine >= VGT_ENGINE_NUM || !s->eng[engine].present)
        return -EINVAL;
    ve = &sv->eng[engine];
    ve->elsp[ve->elsp_n++] = val;
    if (ve->elsp_n < 4)
        return 0;
    ve->elsp_n = 0;
    /* i915 writes element 1 (upper, lower) then element 0 (upper, lower);
     * the fourth dword submits (execlists_submit_ports). */
    desc[0] = (uint64_t)ve->elsp[2] << 32 | ve->elsp[3];
    desc[1] = (uint64_t)ve->elsp[0] << 32 | ve->elsp[1];
    if (!(desc[0] & CTX_VALID)) {
        refuse(sv, "element 0 not valid", desc[0]);
        return -EINVAL;
    }
    if (ve->queued + 2 > MAX_QUEUED) {
        refuse(sv, "too many submissions outstanding on this engine", desc[0]);
        return -EINVAL;
    }
    for (unsigned i = 0; i < 2; i++) {
        if (!(desc[i] & CTX_VALID))
            break;
        if (shadow_workload(sv, engine, desc[i], &wl[i])) {
            if (i == 1) {
                unpin_workload(wl[0]);
                free_workload(s, wl[0]);
            }
            return -EINVAL;
        }
        n++;
    }
    wl[n - 1]->last = true;
    if (!ve->active) {
        ve->active = true;
        vcsb_event(sv, engine, wl[0]->hwsp_gpa, CSB_IDLE_ACTIVE, wl[0]->guest_ctx_id);
    }
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < n; i++) {
        if (ve->q_tail)
            ve->q_tail->next = wl[i];
        else
            ve->q_head = wl[i];
        ve->q_tail = wl[i];
        ve->queued++;
        ve->outstanding++;
        sv->st.submitted++;
    }
    vgt_sched_set_pending(s->sched, sv->sched_id, engine, ve->queued);
    {
        /* Start it now if the engine is idle (no hand-off to the
         * dispatcher); only retiring needs the other vGPUs' locks. */
        uint64_t retry = UINT64_MAX;

        dispatch(s, engine, &retry);
        pthread_mutex_unlock(&s->lock);
        if (retry != UINT64_MAX)
            kick(s);
    }
    return 0;
}

/* Drop queued workloads of @sv on the engines in @mask; a running one is
 * marked so its completion is not delivered. Takes s->lock. */
static void cancel(struct vgt_submit_vgpu *sv, unsigned mask)
{
    struct vgt_submit *s = sv->s;
    struct workload *drop = NULL;

    pthread_mutex_lock(&s->lock);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        struct vengine *ve = &sv->eng[e];

        if (!(mask & (1u << e)))
            continue;
        while (ve->q_head) {
            struct workload *wl = ve->q_head;

            ve->q_head = wl->next;
            wl->next = drop;
            drop = wl;
        }
        ve->q_tail = NULL;
        ve->outstanding -= ve->queued;
        ve->queued = 0;
        ve->elsp_n = 0;
        ve->active = false;
        vgt_sched_set_pending(s->sched, sv->sched_id, e, 0);
        if (s->eng[e].running && s->eng[e].running->sv == sv)
            s->eng[e].running->cancelled = true;
    }
    pthread_mutex_unlock(&s->lock);
    while (drop) {
        struct workload *wl = drop;

        drop = wl->next;
        unpin_workload(wl);
        free_workload(s, wl);
    }
}

static void reset_hook(void *opaque, struct vgt_vgpu *v, unsigned engine_mask, bool dmlr)
{
    struct vgt_submit_vgpu *sv = opaque;

    (void)v;
    cancel(sv, dmlr ? 0xfu : engine_mask);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (dmlr || (engine_mask & (1u << e)))
            sv->eng[e].csb_wp = CSB_ENTRIES - 1;
    if (dmlr && sv->pp && sv->pp->reset)
        sv->pp->reset(sv->pp_opaque);
}

/* v->lock is held (vgt_vgpu_invalidate), so no submission pins or syncs
 * a PPGTT while its shadows are translated again. */
static void invalidate_hook(void *opaque, struct vgt_vgpu *v)
{
    struct vgt_submit_vgpu *sv = opaque;

    if (sv->pp && sv->pp->revalidate && sv->pp->revalidate(sv->pp_opaque))
        vgt_warn(v->log, "vgpu%u: PPGTT revalidation incomplete", v->id);
}

static void failsafe_hook(void *opaque, struct vgt_vgpu *v)
{
    struct vgt_submit_vgpu *sv = opaque;

    (void)v;
    vgt_sched_note_failsafe(sv->s->sched, sv->sched_id);
    cancel(sv, 0xfu);
}

static int g2v_hook(void *opaque, struct vgt_vgpu *v, unsigned code, const uint64_t pdp[4],
                    uint64_t ctx_desc)
{
    struct vgt_submit_vgpu *sv = opaque;

    (void)v;
    (void)ctx_desc;
    if (!sv->pp || !sv->pp->g2v)
        return 0;
    if (code == VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE)
        return sv->pp->g2v(sv->pp_opaque, true, pdp[0] & ~0xfffull);
    if (code == VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY)
        return sv->pp->g2v(sv->pp_opaque, false, pdp[0] & ~0xfffull);
    return 0;
}

/* ---- the dispatcher ---- */

/* Consume the physical CSB of @e; returns the finished workload (or NULL).
 * Under s->lock. */
static struct workload *hw_csb(struct vgt_submit *s, unsigned e)
{
    struct hw_engine *he = &s->eng[e];
    uint32_t b = ring_base[e];
    uint32_t wp = rd(s, RING_CONTEXT_STATUS_PTR(b)) & CSB_WRITE_MASK;
    struct workload *done = NULL;

    if (wp >= CSB_ENTRIES)
        return NULL;
    while (he->csb_head != wp) {
        uint32_t status, id;

        he->csb_head = (he->csb_head + 1) % CSB_ENTRIES;
        status = rd(s, RING_CONTEXT_STATUS_BUF_LO(b, he->csb_head));
        id = rd(s, RING_CONTEXT_STATUS_BUF_LO(b, he->csb_head) + 4);
        if (!(status & (CSB_COMPLETE | CSB_ERROR)) || !he->running)
            continue;
        if (id != he->running->slot->idx + 1)
            continue;
        he->running->error = (status & CSB_ERROR) != 0;
        done = he->running;
        he->running = NULL;
    }
    wr(s, RING_CONTEXT_STATUS_PTR(b), (CSB_READ_MASK << 16) | (he->csb_head << CSB_READ_SHIFT));
    return done;
}

/* Tell the guest (takes v->lock through the accessors). */
static void deliver(struct vgt_submit *s, struct workload *wl)
{
    struct vgt_submit_vgpu *sv = wl->sv;
    struct vengine *ve = &sv->eng[wl->engine];
    uint32_t status;

    vgt_sched_end(s->sched, sv->sched_id, wl->engine, !wl->cancelled && !wl->error);
    pthread_mutex_lock(&sv->v->lock);
    if (!wl->cancelled && !sv->v->failsafe) {
        /* Results are in guest memory already (the GPU wrote them through
         * the shadows); the guest's view of its ring moves first, then the
         * CSB, then the interrupts, user before context switch as the
         * hardware orders them. */
        uint32_t head;

        if (!vgt_hv_read(sv->v->hv, wl->head_gpa, &head, 4)) {
            /* The context-owned engine state the GPU saved into the shadow
             * image goes back to the guest's: the ring head (as the
             * guest's ring offset) and the context timestamp. */
            uint32_t ts = ((uint32_t *)wl->slot->va[LRC_STATE_PN])[CTX_TIMESTAMP];

            head = (head & ~RING_HEAD_ADDR) | (wl->guest_tail & RING_HEAD_ADDR);
            vgt_hv_write(sv->v->hv, wl->head_gpa, &head, 4);
            vgt_hv_write(sv->v->hv, wl->head_gpa + (CTX_TIMESTAMP - CTX_RING_HEAD) * 4, &ts, 4);
        }
        if (wl->error) {
            vgt_vgpu_enter_failsafe(sv->v, VGT_FAILSAFE_GUEST_ERROR, "GPU fault in a workload");
        } else {
            status = CSB_COMPLETE | (wl->last ? CSB_ACTIVE_IDLE : CSB_ELEMENT_SWITCH);
            if (wl->last)
                ve->active = false;
            vcsb_event(sv, wl->engine, wl->hwsp_gpa, status, wl->guest_ctx_id);
            if (wl->user_irqs) {
                vgt_vgpu_raise_event(sv->v, wl->engine, VGT_GPU_EV_USER_INTERRUPT);
                sv->st.user_interrupts += wl->user_irqs;
            }
            vgt_vgpu_raise_event(sv->v, wl->engine, VGT_GPU_EV_CTX_SWITCH);
        }
    }
    unpin_workload(wl);
    pthread_mutex_unlock(&sv->v->lock);
    pthread_mutex_lock(&s->lock);
    sv->running--;
    if (ve->outstanding)
        ve->outstanding--;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->lock);
    free_workload(s, wl);
}

/* Start the next workload on idle engine @e. Under s->lock. */
static void dispatch(struct vgt_submit *s, unsigned e, uint64_t *retry)
{
    struct hw_engine *he = &s->eng[e];
    struct vgt_submit_vgpu *sv;
    struct workload *wl;
    struct vengine *ve;
    unsigned id;
    uint64_t r;
    uint64_t desc;
    uint32_t b = ring_base[e];

    if (!he->present || he->running)
        return;
    if (vgt_sched_pick(s->sched, e, &id, &r)) {
        if (r < *retry)
            *retry = r;
        return;
    }
    sv = s->by_sched[id];
    if (!sv)
        return;
    ve = &sv->eng[e];
    wl = ve->q_head;
    if (!wl)
        return;
    ve->q_head = wl->next;
    if (!ve->q_head)
        ve->q_tail = NULL;
    ve->queued--;
    vgt_sched_set_pending(s->sched, id, e, ve->queued);
    wl->next = NULL;
    wl->state = WL_RUNNING;
    he->running = wl;
    sv->running++;
    vgt_sched_begin(s->sched, id, e);
    desc = CTX_VALID | CTX_PRIVILEGE | (CTX_MODE_LEGACY_64B << CTX_MODE_SHIFT) |
           (wl->slot->gm & CTX_LRCA_MASK) | (uint64_t)(wl->slot->idx + 1) << 32;
    /* Element 1 empty, then element 0: the fourth write submits. */
    wr(s, RING_ELSP(b), 0);
    wr(s, RING_ELSP(b), 0);
    wr(s, RING_ELSP(b), (uint32_t)(desc >> 32));
    wr(s, RING_ELSP(b), (uint32_t)desc);
}

/* Retire finished workloads, deliver them, and start the next ones.
 * Called with no lock held (it takes vGPU locks to deliver). */
static void service(struct vgt_submit *s, uint64_t *retry)
{
    struct workload *done[VGT_ENGINE_NUM];
    unsigned nd = 0;

    pthread_mutex_lock(&s->lock);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        if (s->eng[e].present && s->eng[e].running) {
            struct workload *wl = hw_csb(s, e);

            if (wl)
                done[nd++] = wl;
        }
    }
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < nd; i++)
        deliver(s, done[i]);
    pthread_mutex_lock(&s->lock);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        dispatch(s, e, retry);
    pthread_mutex_unlock(&s->lock);
}

static void *dispatcher(void *arg)
{
    struct vgt_submit *s = arg;

    for (;;) {
        uint64_t retry = UINT64_MAX;
        bool busy = false;

        pthread_mutex_lock(&s->irq_mu);
        s->irq_pending = 0;
        s->kick = false;
        if (s->stop) {
            pthread_mutex_unlock(&s->irq_mu);
            break;
        }
        pthread_mutex_unlock(&s->irq_mu);

        service(s, &retry);
        pthread_mutex_lock(&s->lock);
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            busy |= s->eng[e].running != NULL;
        pthread_mutex_unlock(&s->lock);

        pthread_mutex_lock(&s->irq_mu);
        if (!s->irq_pending && !s->kick && !s->stop) {
            struct timespec ts;
            /* A running workload is polled every 2 ms in case an interrupt
             * was coalesced; a capped vGPU is looked at again when its
             * period ends. */
            uint64_t wait_ns = busy ? 2000000ull : 50000000ull;

            if (retry != UINT64_MAX) {
                uint64_t now = vgt_now_ns();

                wait_ns = VGT_MIN(wait_ns, retry > now ? retry - now : 0);
            }
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(wait_ns % 1000000000ull);
            ts.tv_sec += (time_t)(wait_ns / 1000000000ull) + ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            if (wait_ns)
                pthread_cond_timedwait(&s->irq_cv, &s->irq_mu, &ts);
        }
        pthread_mutex_unlock(&s->irq_mu);
    }
    return NULL;
}

/* ---- bring-up ---- */

int vgt_submit_create(const struct vgt_submit_cfg *cfg, struct vgt_submit **out)
{
    struct vgt_submit *s;
    int rc;

    if (!cfg || !cfg->hw || !out)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->hw = cfg->hw;
    s->log = cfg->log;
    s->shadow_gm = cfg->shadow_gm_size ? cfg->shadow_gm_base : cfg->hw->aperture_size;
    s->shadow_size = cfg->shadow_gm_size ? cfg->shadow_gm_size : VGT_HOST_HIGH_DEFAULT;
    if ((s->shadow_gm | s->shadow_size) & 0xfff || s->shadow_gm + s->shadow_size > cfg->hw->gm_size) {
        free(s);
        return -EINVAL;
    }
    rc = vgt_sched_create(&cfg->sched, cfg->log, &s->sched);
    if (rc)
        goto free_s;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_init(&s->irq_mu, NULL);
    pthread_cond_init(&s->irq_cv, NULL);
    /* One host page for each engine's status page, at the top of the
     * shadow area (the slots grow from the bottom). */
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        uint32_t b = ring_base[e];
        void *va;

        if (e == VGT_ENGINE_VECS)
            continue; /* no VECS on the model; vgt does not mediate it */
        s->eng[e].hwsp_gm = s->shadow_gm + s->shadow_size - (e + 1) * VGT_PAGE_SIZE;
        if (s->hw->ops->alloc_page(s->hw, &s->eng[e].hwsp_dma, &va)) {
            rc = -ENOMEM;
            goto free_pages;
        }
        s->hw->ops->ggtt_write(s->hw, s->eng[e].hwsp_gm >> 12, s->eng[e].hwsp_dma | GEN8_PTE_PRESENT);
        s->eng[e].present = true;
        wr(s, RING_HWS_PGA(b), (uint32_t)s->eng[e].hwsp_gm);
        wr(s, RING_MODE_GEN7(b), MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
        /* After reset the next CSB entry is 0: start behind it (i915
         * reset_csb_pointers). */
        s->eng[e].csb_head = rd(s, RING_CONTEXT_STATUS_PTR(b)) & CSB_WRITE_MASK;
        if (s->eng[e].csb_head >= CSB_ENTRIES)
            s->eng[e].csb_head = CSB_ENTRIES - 1;
        wr(s, RING_CONTEXT_STATUS_PTR(b), (CSB_READ_MASK << 16) | (s->eng[e].csb_head << CSB_READ_SHIFT));
        wr(s, RING_IMR(b), ~(GT_USER | GT_CTX_SWITCH | GT_ERROR));
    }
    s->shadow_size -= VGT_ENGINE_NUM * VGT_PAGE_SIZE;
    /* GT interrupt banks: bank 0 RCS bits 15:0 and BCS 31:16, bank 1 VCS0
     * (i915 GEN8_RCS/BCS/VCS0_IRQ_SHIFT). */
    {
        uint32_t bits = GT_USER | GT_CTX_SWITCH | GT_ERROR;

        wr(s, GEN8_GT_IER(0), bits | bits << 16);
        wr(s, GEN8_GT_IMR(0), ~(bits | bits << 16));
        wr(s, GEN8_GT_IER(1), bits);
        wr(s, GEN8_GT_IMR(1), ~bits);
        wr(s, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    }
    rc = s->hw->ops->set_irq_handler(s->hw, on_irq, s);
    if (rc)
        goto free_pages;
    if (pthread_create(&s->thread, NULL, dispatcher, s)) {
        rc = -EAGAIN;
        goto unset_irq;
    }
    *out = s;
    return 0;

unset_irq:
    s->hw->ops->set_irq_handler(s->hw, NULL, NULL);
free_pages:
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (s->eng[e].hwsp_dma)
            s->hw->ops->free_page(s->hw, s->eng[e].hwsp_dma);
    vgt_sched_destroy(s->sched);
free_s:
    free(s);
    return rc;
}

void vgt_submit_destroy(struct vgt_submit *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->irq_mu);
    __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
    pthread_cond_signal(&s->irq_cv);
    pthread_mutex_unlock(&s->irq_mu);
    pthread_join(s->thread, NULL);
    s->hw->ops->set_irq_handler(s->hw, NULL, NULL);
    /* A callback the GPU started before the handler went away. */
    while (__atomic_load_n(&s->in_irq, __ATOMIC_ACQUIRE)) {
        struct timespec ts = {0, 100000};

        nanosleep(&ts, NULL);
    }
    wr(s, GEN8_MASTER_IRQ, 0);
    for (unsigned i = 0; i < s->nr_slots; i++)
        slot_free_pages(s, s->slots[i]);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (s->eng[e].hwsp_dma) {
            s->hw->ops->ggtt_write(s->hw, s->eng[e].hwsp_gm >> 12, s->hw->scratch_dma | GEN8_PTE_PRESENT);
            s->hw->ops->free_page(s->hw, s->eng[e].hwsp_dma);
        }
    vgt_sched_destroy(s->sched);
    pthread_cond_destroy(&s->irq_cv);
    pthread_mutex_destroy(&s->irq_mu);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct vgt_sched *vgt_submit_sched(struct vgt_submit *s)
{
    return s->sched;
}

int vgt_submit_attach(struct vgt_submit *s, struct vgt_vgpu *v, unsigned weight, unsigned cap_pct,
                      const struct vgt_submit_ppgtt_ops *ppgtt, void *ppgtt_opaque,
                      struct vgt_submit_vgpu **out)
{
    struct vgt_audit_range rg[2];
    struct vgt_submit_vgpu *sv;
    struct vgt_vgpu_hooks h;
    int rc;

    if (!s || !v || !out)
        return -EINVAL;
    sv = calloc(1, sizeof(*sv));
    if (!sv)
        return -ENOMEM;
    sv->s = s;
    sv->v = v;
    sv->pp = ppgtt;
    sv->pp_opaque = ppgtt_opaque;
    rg[0].base = v->low_base;
    rg[0].size = v->res.low_size;
    rg[1].base = v->high_base;
    rg[1].size = v->res.high_size;
    rc = vgt_audit_init(&sv->audit, rg, 2, &audit_ops, NULL, s->log);
    if (rc)
        goto free_sv;
    sv->audit.refuse_ppgtt_selectorless = true;
    /* The shadow batch area bounds a workload (alignment slack kept). */
    sv->audit.max_dwords = SLOT_BATCH_PAGES * 1024 - VGT_AUDIT_DEFAULT_MAX_BATCHES * 16;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        sv->eng[e].csb_wp = CSB_ENTRIES - 1;
        vgt_vgpu_set_vreg(v, RING_CONTEXT_STATUS_PTR(ring_base[e]), CSB_ENTRIES - 1);
    }
    rc = vgt_sched_add(s->sched, weight, cap_pct, &sv->sched_id);
    if (rc)
        goto free_sv;
    pthread_mutex_lock(&s->lock);
    s->by_sched[sv->sched_id] = sv;
    pthread_mutex_unlock(&s->lock);
    memset(&h, 0, sizeof(h));
    h.opaque = sv;
    h.elsp_write = elsp_write;
    h.reset = reset_hook;
    h.failsafe = failsafe_hook;
    h.invalidate = invalidate_hook;
    h.g2v_notify = g2v_hook;
    vgt_vgpu_set_hooks(v, &h);
    *out = sv;
    return 0;

free_sv:
    free(sv);
    return rc;
}

void vgt_submit_detach(struct vgt_submit_vgpu *sv)
{
    struct vgt_submit *s;
    struct vgt_vgpu_hooks none;

    if (!sv)
        return;
    s = sv->s;
    memset(&none, 0, sizeof(none));
    pthread_mutex_lock(&sv->v->lock);
    vgt_vgpu_set_hooks(sv->v, &none);
    cancel(sv, 0xfu);
    pthread_mutex_unlock(&sv->v->lock);
    pthread_mutex_lock(&s->lock);
    while (sv->running)
        pthread_cond_wait(&s->done_cv, &s->lock);
    s->by_sched[sv->sched_id] = NULL;
    pthread_mutex_unlock(&s->lock);
    vgt_sched_remove(s->sched, sv->sched_id);
    free(sv);
}

int vgt_submit_get_stats(struct vgt_submit_vgpu *sv, struct vgt_submit_stats *st)
{
    int rc;

    pthread_mutex_lock(&sv->s->lock);
    *st = sv->st;
    pthread_mutex_unlock(&sv->s->lock);
    rc = vgt_sched_get_stats(sv->s->sched, sv->sched_id, &st->sched);
    return rc;
}

int vgt_submit_set_share(struct vgt_submit_vgpu *sv, unsigned weight, unsigned cap_pct)
{
    int rc;

    /* Both checked before either changes, so a refusal changes nothing. */
    if (weight > VGT_SCHED_MAX_WEIGHT || (cap_pct > 100 && cap_pct != VGT_SUBMIT_KEEP))
        return -EINVAL;
    rc = weight ? vgt_sched_set_weight(sv->s->sched, sv->sched_id, weight) : 0;
    if (!rc && cap_pct != VGT_SUBMIT_KEEP)
        rc = vgt_sched_set_cap(sv->s->sched, sv->sched_id, cap_pct);
    /* A lifted cap may make queued work eligible now. */
    kick(sv->s);
    return rc;
}

unsigned vgt_submit_outstanding(struct vgt_submit_vgpu *sv)
{
    unsigned n;

    pthread_mutex_lock(&sv->s->lock);
    n = sv->running;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        n += sv->eng[e].queued;
    pthread_mutex_unlock(&sv->s->lock);
    return n;
}

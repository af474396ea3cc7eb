/* Workload shadowing: one guest context submitted through the virtual ELSP
 * becomes a host slot the GPU can run (see docs/submission.md). The steps
 * are named after what they do and unwind in reverse with labels named
 * after what they undo. Called from the ELSP hook with v->lock held. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "submit_priv.h"
#include "vgt/gen8_gtt.h"
#include "vgt/util.h"

/* ---- slots ---- */

void vgt_slot_free_pages(struct vgt_submit *s, struct slot *sl)
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
            vgt_slot_free_pages(s, sl);
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

/* The host-side GGTT lookup (committed, present, owned entries only),
 * not the guest's MMIO view of its table. */
static int gm_to_gpa(struct vgt_submit_vgpu *sv, uint64_t gm, uint64_t *gpa)
{
    return vgt_ggtt_lookup(sv->v->ggtt, gm, gpa);
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

/* The auditor's context for one workload, passed per call. */
struct fetch_ctx {
    struct vgt_submit_vgpu *sv;
    uint64_t pml4, root;
};

/* Auditor read: guest graphics memory, GGTT or PPGTT, into the auditor's
 * copy. The auditor asks for each byte once. */
static int guest_read(void *ctx, uint64_t gma, bool ppgtt, void *dst, size_t len, size_t *got)
{
    struct fetch_ctx *f = ctx;

    *got = 0;
    if (ppgtt)
        ppgtt_read(f->sv, f->pml4, gma, dst, len, got);
    else
        gm_read(f->sv, gma, dst, len, got);
    return *got ? 0 : -EFAULT;
}

/* PDP writes by LRI get the shadow root (the context's own PML4 is the
 * only table a 4-level context names: PDP0; PDP1..3 are unused). */
static int pdp_patch(void *ctx, unsigned engine, unsigned pdp, bool upper, uint32_t val,
                     uint32_t *host)
{
    struct fetch_ctx *f = ctx;
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

static const struct vgt_audit_ops audit_ops = {.read = guest_read, .pdp = pdp_patch};

int vgt_workload_audit_init(struct vgt_submit_vgpu *sv)
{
    struct vgt_audit_range rg[2];
    int rc;

    rg[0].base = sv->v->low_base;
    rg[0].size = sv->v->res.low_size;
    rg[1].base = sv->v->high_base;
    rg[1].size = sv->v->res.high_size;
    rc = vgt_audit_init(&sv->audit, rg, 2, &audit_ops, sv->s->log);
    if (rc)
        return rc;
    sv->audit.refuse_ppgtt_selectorless = true;
    /* The shadow batch area bounds a workload's batch copies (alignment
     * slack kept): past it the workload is refused, never copied in parts. */
    sv->audit.max_dwords = SLOT_BATCH_PAGES * 1024 - VGT_AUDIT_DEFAULT_MAX_BATCHES * 16;
    return 0;
}

/* ---- workload lifetime ---- */

/* Unpin its page table: the PPGTT shadow belongs to the vGPU's thread, so
 * callers hold v->lock. */
void vgt_workload_unpin(struct workload *wl)
{
    if (wl->pinned && wl->sv->pp && wl->sv->pp->unpin)
        wl->sv->pp->unpin(wl->sv->pp_opaque, wl->pml4);
    wl->pinned = false;
}

void vgt_workload_free(struct vgt_submit *s, struct workload *wl)
{
    pthread_mutex_lock(&s->lock);
    slot_put(s, wl->slot);
    pthread_mutex_unlock(&s->lock);
    free(wl);
}

/* ---- shadowing, step by step ---- */

/* What one shadowing works on; each step fills its part or names why it
 * refused in @why. */
struct shadow_job {
    struct vgt_submit_vgpu *sv;
    unsigned engine;
    uint64_t desc, lrca;
    uint32_t regs[CTX_REG_DWORDS]; /* the guest's register state */
    uint32_t head, tail, start, size, len, pad;
    uint64_t pml4, root, head_gpa, pphwsp_gpa;
    uint32_t *ring;                /* host copy of head..tail (+ pad) */
    struct vgt_audit_result *r;
    uint64_t batch_off[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    struct workload *wl;
    char why[160];
};

static int refuse_step(struct shadow_job *j, const char *why)
{
    snprintf(j->why, sizeof(j->why), "%s", why);
    return -EINVAL;
}

/* Step 1: the descriptor and the guest's register state. */
static int read_context(struct shadow_job *j)
{
    struct vgt_submit_vgpu *sv = j->sv;
    uint32_t ctl;

    j->lrca = j->desc & CTX_LRCA_MASK;
    if (((j->desc & CTX_MODE_MASK) >> CTX_MODE_SHIFT) != CTX_MODE_LEGACY_64B)
        return refuse_step(j, "not a 64-bit legacy (4-level PPGTT) context");
    if (!vgt_vgpu_gm_valid(sv->v, j->lrca, (LRC_STATE_PN + 1) * VGT_PAGE_SIZE))
        return refuse_step(j, "context image outside the vGPU's graphics memory");
    if (gm_read(sv, j->lrca + LRC_STATE_PN * VGT_PAGE_SIZE, j->regs, sizeof(j->regs), NULL) ||
        gm_to_gpa(sv, j->lrca + LRC_STATE_PN * VGT_PAGE_SIZE + CTX_RING_HEAD * 4, &j->head_gpa))
        return refuse_step(j, "context image not readable (GGTT entry or guest page missing)");
    /* Page 0 only receives store-data-index results: unmapped, they stay
     * in the shadow (pphwsp_gpa 0: nothing is copied back). */
    if (gm_to_gpa(sv, j->lrca, &j->pphwsp_gpa))
        j->pphwsp_gpa = 0;
    j->head = j->regs[CTX_RING_HEAD] & RING_HEAD_ADDR;
    j->tail = j->regs[CTX_RING_TAIL] & RING_TAIL_ADDR;
    /* The same context submitted again before its previous workload
     * completed: its RING_HEAD has not moved yet, so continue where the
     * previous copy ended (the hardware would have too). */
    if (sv->eng[j->engine].outstanding && sv->eng[j->engine].last_lrca == j->lrca)
        j->head = sv->eng[j->engine].last_tail;
    j->start = j->regs[CTX_RING_START] & 0xfffff000u;
    ctl = j->regs[CTX_RING_CTL];
    j->size = (ctl & RING_NR_PAGES) + (uint32_t)VGT_PAGE_SIZE;
    j->pml4 = ((uint64_t)j->regs[CTX_PDP0_UDW] << 32 | j->regs[CTX_PDP0_LDW]) & ~0xfffull;
    if (!(ctl & RING_VALID) || j->head >= j->size || j->tail >= j->size ||
        !vgt_vgpu_gm_valid(sv->v, j->start, j->size))
        return refuse_step(j, "ring not valid, outside the vGPU, or HEAD/TAIL outside it");
    j->len = j->tail >= j->head ? j->tail - j->head : j->size - j->head + j->tail;
    j->pad = (j->len & 7) ? 4 : 0; /* the shadow TAIL must be qword aligned */
    if (j->len + j->pad + 8 > SLOT_RING_PAGES * VGT_PAGE_SIZE)
        return refuse_step(j, "ring contents larger than the shadow ring");
    return 0;
}

/* Step 2: the host buffers of the job: the workload, the audit result and
 * the ring copy. */
static int alloc_buffers(struct shadow_job *j)
{
    j->wl = calloc(1, sizeof(*j->wl));
    j->r = calloc(1, sizeof(*j->r));
    j->ring = malloc(j->len + j->pad + 8);
    if (!j->wl || !j->r || !j->ring) {
        snprintf(j->why, sizeof(j->why), "out of host memory");
        return -ENOMEM;
    }
    return 0;
}

/* Step 3: pin and sync the PPGTT shadow of PDP0; the workload holds the
 * pin from here. */
static int pin_ppgtt(struct shadow_job *j)
{
    struct vgt_submit_vgpu *sv = j->sv;

    if (!sv->pp || sv->pp->pin(sv->pp_opaque, j->pml4, &j->root))
        return refuse_step(j, "PDP0 names no page table vgt can shadow");
    if (sv->pp->sync && sv->pp->sync(sv->pp_opaque, j->pml4)) {
        sv->pp->unpin(sv->pp_opaque, j->pml4);
        return refuse_step(j, "page table shadow could not be synchronised");
    }
    j->wl->sv = sv;
    j->wl->pml4 = j->pml4;
    j->wl->pinned = true;
    return 0;
}

/* Step 4: the workload's guest-side facts and the ring copy, head to tail
 * (wrapping). */
static int copy_ring(struct shadow_job *j)
{
    struct vgt_submit_vgpu *sv = j->sv;
    struct workload *wl = j->wl;
    uint64_t hws, gpa;
    int rc;

    wl->engine = j->engine;
    wl->guest_ctx_id = (uint32_t)(j->desc >> 32);
    wl->guest_tail = j->tail;
    sv->eng[j->engine].last_lrca = j->lrca;
    sv->eng[j->engine].last_tail = j->tail;
    wl->head_gpa = j->head_gpa;
    wl->pphwsp_gpa = j->pphwsp_gpa;
    hws = vgt_vgpu_vreg(sv->v, RING_HWS_PGA(vgt_submit_ring_base[j->engine])) & 0xfffff000u;
    if (hws && !gm_to_gpa(sv, hws, &gpa))
        wl->hwsp_gpa = gpa;
    if (j->tail >= j->head) {
        rc = gm_read(sv, j->start + j->head, j->ring, j->len, NULL);
    } else {
        rc = gm_read(sv, j->start + j->head, j->ring, j->size - j->head, NULL);
        if (!rc)
            rc = gm_read(sv, j->start, (uint8_t *)j->ring + (j->size - j->head), j->tail, NULL);
    }
    if (rc)
        return refuse_step(j, "ring not readable");
    if (j->pad)
        j->ring[j->len / 4] = MI_NOOP;
    return 0;
}

/* Step 5: audit the ring copy and every batch it reaches. */
static int audit(struct shadow_job *j)
{
    struct vgt_submit_vgpu *sv = j->sv;
    struct vgt_audit_result *r = j->r;
    struct fetch_ctx fc = {sv, j->pml4, j->root};
    int rc;

    rc = vgt_audit_ring(&sv->audit, &fc, j->engine, j->ring, (j->len + j->pad) / 4, j->start + j->head, r);
    sv->st.audited_dwords += r->dwords;
    sv->st.batches += r->batches;
    if (rc) {
        snprintf(j->why, sizeof(j->why), "%s at %s %u +0x%x: %s", r->viol.cmd ? r->viol.cmd : "?",
                 r->viol.buf ? "batch" : "ring", r->viol.buf, r->viol.offset,
                 r->viol.reason ? r->viol.reason : "refused");
        return -EINVAL;
    }
    j->wl->user_irqs = r->user_interrupts + r->notifies;
    memcpy(j->wl->pphwsp_dirty, r->pphwsp_dirty, sizeof(j->wl->pphwsp_dirty));
    return 0;
}

/* Step 6: lay the batches out in the slot's batch area and take a slot. */
static int take_slot(struct shadow_job *j)
{
    struct vgt_submit *s = j->sv->s;
    size_t boff = 0;

    for (unsigned i = 0; i < j->r->batches; i++) {
        j->batch_off[i] = boff;
        boff += (j->r->bufs[i].ndw * 4 + 63) & ~63ull;
    }
    if (boff > SLOT_BATCH_PAGES * VGT_PAGE_SIZE)
        return refuse_step(j, "batch buffers larger than the shadow batch area");
    pthread_mutex_lock(&s->lock);
    j->wl->slot = slot_get(s);
    pthread_mutex_unlock(&s->lock);
    if (!j->wl->slot)
        return refuse_step(j, "no shadow slot left on the host");
    return 0;
}

/* Step 7: relocate every BB_START to its copy, then write the copies. */
static void fill_slot(struct shadow_job *j)
{
    struct vgt_audit_result *r = j->r;
    struct slot *sl = j->wl->slot;

    for (unsigned i = 0; i < r->nr_sites; i++) {
        const struct vgt_audit_bb_site *st = &r->sites[i];
        uint32_t *p = st->buf ? &r->bufs[st->buf - 1].dw[st->dw] : &j->ring[st->dw];
        uint64_t gm = sl->gm + (SLOT_CTX_PAGES + SLOT_RING_PAGES) * VGT_PAGE_SIZE + j->batch_off[st->target];

        p[0] &= ~(1u << 8); /* ASI: GGTT, the copy */
        p[1] = (uint32_t)gm;
        p[2] = (uint32_t)(gm >> 32);
    }
    for (unsigned i = 0; i < r->batches; i++)
        slot_write(sl, SLOT_CTX_PAGES + SLOT_RING_PAGES, j->batch_off[i], r->bufs[i].dw,
                   r->bufs[i].ndw * 4);
    slot_write(sl, SLOT_CTX_PAGES, 0, j->ring, j->len + j->pad);
}

/* The dwords of the shadow PPHWSP (slot page 0) the workload may write by
 * store-data-index start as the guest's, so the copy-back at completion
 * (execlist.c) gives the guest back its own value where a command did not
 * run. Only those dwords: the rest of the page is never copied back. The
 * bytes are data, never executed: reading them here is no second read of
 * anything audited. A dword that cannot be read stays 0: the guest's own
 * page, at its own risk. */
static void pphwsp_fill(struct shadow_job *j)
{
    uint32_t *page = (uint32_t *)j->wl->slot->va[LRC_PPHWSP_PN];
    unsigned dw = 0, n;

    if (!j->pphwsp_gpa)
        return;
    while (vgt_pphwsp_next_run(j->wl->pphwsp_dirty, &dw, &n)) {
        vgt_hv_read(j->sv->v->hv, j->pphwsp_gpa + dw * 4, page + dw, n * 4);
        dw += n;
    }
}

/* Step 8: the shadow context, from the fields vgt models only; the guest's
 * others are not carried over (masked). */
static void build_context(struct shadow_job *j)
{
    struct slot *sl = j->wl->slot;
    const uint32_t b = vgt_submit_ring_base[j->engine];
    const struct { unsigned idx; uint32_t reg, val; } rs[] = {
        {CTX_CONTEXT_CONTROL, b + 0x244, j->regs[CTX_CONTEXT_CONTROL] & 0xffff0000u},
        {CTX_RING_HEAD, b + 0x34, 0},
        {CTX_RING_TAIL, b + 0x30, j->len + j->pad},
        {CTX_RING_START, b + 0x38, (uint32_t)(sl->gm + SLOT_CTX_PAGES * VGT_PAGE_SIZE)},
        {CTX_RING_CTL, b + 0x3c, ((SLOT_RING_PAGES - 1) << 12) | RING_VALID},
        {CTX_BB_STATE, b + 0x110, 0},
        {CTX_TIMESTAMP, b + 0x3a8, j->regs[CTX_TIMESTAMP]},
        {CTX_PDP0_UDW, b + 0x270 + 4, (uint32_t)(j->root >> 32)},
        {CTX_PDP0_LDW, b + 0x270, (uint32_t)j->root},
    };
    uint32_t shadow[CTX_REG_DWORDS];

    memset(shadow, 0, sizeof(shadow));
    /* MI_LOAD_REGISTER_IMM(n) | MI_LRI_FORCE_POSTED, as i915 lays the
     * register state out. */
    shadow[CTX_LRI_HEADER_0] = 0x11000000u | (2 * 14 - 1) | MI_LRI_FORCE_POSTED;
    shadow[CTX_LRI_HEADER_1] = 0x11000000u | (2 * 9 - 1) | MI_LRI_FORCE_POSTED;
    for (unsigned i = 0; i < 4; i++) {
        shadow[CTX_PDP3_UDW + 2 * i - 1] = b + 0x270 + 8 * (3 - i) + 4;
        shadow[CTX_PDP3_UDW + 2 * i + 1] = b + 0x270 + 8 * (3 - i);
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(rs); i++) {
        shadow[rs[i].idx - 1] = rs[i].reg;
        shadow[rs[i].idx] = rs[i].val;
    }
    memset(sl->va[0], 0, VGT_PAGE_SIZE);
    memset(sl->va[1], 0, VGT_PAGE_SIZE);
    slot_write(sl, LRC_STATE_PN, 0, shadow, sizeof(shadow));
    pphwsp_fill(j);
}

/* Build one workload from descriptor @desc. Returns 0, or -EINVAL (or
 * -ENOMEM) after refusing: the vGPU is then in failsafe. */
int vgt_workload_shadow(struct vgt_submit_vgpu *sv, unsigned engine, uint64_t desc,
                        struct workload **out)
{
    struct shadow_job *j = calloc(1, sizeof(*j));
    int rc;

    if (!j) {
        vgt_execlist_refuse(sv, "out of host memory", desc);
        return -ENOMEM;
    }
    j->sv = sv;
    j->engine = engine;
    j->desc = desc;
    rc = read_context(j);
    if (rc)
        goto refuse;
    rc = alloc_buffers(j);
    if (rc)
        goto free_buffers;
    rc = pin_ppgtt(j);
    if (rc)
        goto free_buffers;
    rc = copy_ring(j);
    if (rc)
        goto unpin;
    rc = audit(j);
    if (rc)
        goto free_copies;
    rc = take_slot(j);
    if (rc)
        goto free_copies;
    fill_slot(j);
    build_context(j);
    vgt_audit_release(j->r);
    free(j->r);
    free(j->ring);
    *out = j->wl;
    free(j);
    return 0;

free_copies:
    vgt_audit_release(j->r);
unpin:
    vgt_workload_unpin(j->wl);
free_buffers:
    free(j->ring);
    free(j->r);
    free(j->wl); /* no slot yet: take_slot is the last step that fails */
refuse:
    vgt_execlist_refuse(sv, j->why, desc);
    free(j);
    return rc;
}

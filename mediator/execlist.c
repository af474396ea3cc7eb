/* The guest's view of execlists: the virtual ELSP and CSB, and the device
 * model's hooks (reset, failsafe, invalidate, g2v). See
 * docs/submission.md. The hooks run with v->lock held. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "submit_priv.h"

void vgt_execlist_refuse(struct vgt_submit_vgpu *sv, const char *what, uint64_t desc)
{
    char detail[160];

    snprintf(detail, sizeof(detail), "ELSP desc 0x%llx: %s", (unsigned long long)desc, what);
    sv->st.refused++;
    snprintf(sv->st.last_refusal, sizeof(sv->st.last_refusal), "%s", detail);
    vgt_warn(sv->s->log, "vgpu%u: %s", sv->v->id, detail);
    vgt_vgpu_enter_failsafe(sv->v, VGT_FAILSAFE_GUEST_ERROR, detail);
}

/* Virtual CSB event (v->lock held by the caller or taken here through the
 * vreg accessors): guest HWSP copy first, then the registers. */
static void vcsb_event(struct vgt_submit_vgpu *sv, unsigned engine, uint64_t hwsp_gpa, uint32_t status,
                       uint32_t ctx_id)
{
    struct vengine *ve = &sv->eng[engine];
    uint32_t b = vgt_submit_ring_base[engine];
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

/* The store-data-index results in the shadow PPHWSP (slot page 0) go to
 * the guest's image page 0, as the GPU would have written them there (gvt
 * scheduler.c update_guest_context copies other shadow pages back): only
 * the dwords the audit let a command write (wl->pphwsp_dirty), never the
 * rest of the page, through the guest-memory path the other write-backs
 * take (a write-protected page is handled there, as for the HWSP's CSB). */
static void pphwsp_write_back(struct vgt_submit_vgpu *sv, const struct workload *wl)
{
    const uint32_t *page = (const uint32_t *)wl->slot->va[LRC_PPHWSP_PN];
    unsigned dw = 0, n;

    if (!wl->pphwsp_gpa)
        return;
    while (vgt_pphwsp_next_run(wl->pphwsp_dirty, &dw, &n)) {
        vgt_hv_write(sv->v->hv, wl->pphwsp_gpa + dw * 4, page + dw, n * 4);
        dw += n;
    }
}

/* A workload left the GPU: tell the guest. v->lock held. Results are in
 * guest memory already (the GPU wrote them through the shadows); the
 * guest's view of its ring moves first, then the CSB, then the interrupts,
 * user before context switch as the hardware orders them. */
void vgt_execlist_complete(struct vgt_submit_vgpu *sv, struct workload *wl)
{
    struct vengine *ve = &sv->eng[wl->engine];
    uint32_t head, status;

    if (wl->cancelled || sv->v->failsafe)
        return;
    if (!vgt_hv_read(sv->v->hv, wl->head_gpa, &head, 4)) {
        /* The context-owned engine state the GPU saved into the shadow
         * image goes back to the guest's: the ring head (as the guest's
         * ring offset) and the context timestamp. */
        uint32_t ts = ((uint32_t *)wl->slot->va[LRC_STATE_PN])[CTX_TIMESTAMP];

        head = (head & ~RING_HEAD_ADDR) | (wl->guest_tail & RING_HEAD_ADDR);
        vgt_hv_write(sv->v->hv, wl->head_gpa, &head, 4);
        vgt_hv_write(sv->v->hv, wl->head_gpa + (CTX_TIMESTAMP - CTX_RING_HEAD) * 4, &ts, 4);
    }
    pphwsp_write_back(sv, wl);
    if (wl->error) {
        vgt_vgpu_enter_failsafe(sv->v, VGT_FAILSAFE_GUEST_ERROR, "GPU fault in a workload");
        return;
    }
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

static int elsp_write(void *opaque, struct vgt_vgpu *v, unsigned engine, uint32_t val)
{
    struct vgt_submit_vgpu *sv = opaque;
    struct vgt_submit *s = sv->s;
    struct vengine *ve;
    struct workload *wl[2] = {NULL, NULL};
    uint64_t desc[2];
    unsigned n = 0;

    static const char *const engine_name[VGT_ENGINE_NUM] = {"RCS", "BCS", "VCS", "VECS"};

    (void)v;
    if (engine >= VGT_ENGINE_NUM || !s->eng[engine].present) {
        char why[80];

        snprintf(why, sizeof(why), "ELSP on engine %s, which the vGPU does not have",
                 engine < VGT_ENGINE_NUM ? engine_name[engine] : "?");
        vgt_execlist_refuse(sv, why, val);
        return -EINVAL;
    }
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
        vgt_execlist_refuse(sv, "element 0 not valid", desc[0]);
        return -EINVAL;
    }
    if (ve->queued + 2 > MAX_QUEUED) {
        vgt_execlist_refuse(sv, "too many submissions outstanding on this engine", desc[0]);
        return -EINVAL;
    }
    for (unsigned i = 0; i < 2; i++) {
        if (!(desc[i] & CTX_VALID))
            break;
        if (vgt_workload_shadow(sv, engine, desc[i], &wl[i])) {
            if (i == 1) {
                vgt_workload_unpin(wl[0]);
                vgt_workload_free(s, wl[0]);
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

        vgt_dispatch_engine(s, engine, &retry);
        /* It waits for the engine: its entries may go in now, on this
         * guest's own submission path, not at its dispatch. */
        if (ve->queued && !vgt_ggtt_is_resident(sv->v->ggtt))
            vgt_dispatch_precopy_for(s, sv);
        pthread_mutex_unlock(&s->lock);
        if (retry != UINT64_MAX)
            vgt_dispatch_kick(s);
    }
    /* Completions that arrived while this submission held v->lock. */
    vgt_dispatch_deliver_locked(sv);
    return 0;
}

/* Drop queued workloads of @sv on the engines in @mask; a running one is
 * marked so its completion is not delivered. Takes s->lock. */
void vgt_execlist_cancel(struct vgt_submit_vgpu *sv, unsigned mask)
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
        vgt_workload_unpin(wl);
        vgt_workload_free(s, wl);
    }
}

static void reset_hook(void *opaque, struct vgt_vgpu *v, unsigned engine_mask, bool dmlr)
{
    struct vgt_submit_vgpu *sv = opaque;
    unsigned mask = dmlr ? 0xfu : engine_mask;

    vgt_execlist_cancel(sv, mask);
    /* The register shows the reset pointer too (a full reset's register
     * reset does the same through its row). */
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (mask & (1u << e)) {
            sv->eng[e].csb_wp = CSB_ENTRIES - 1;
            vgt_vgpu_set_vreg(v, RING_CONTEXT_STATUS_PTR(vgt_submit_ring_base[e]), CSB_ENTRIES - 1);
        }
    /* Its running work is stopped on the engine now (preempted, else the
     * engine reset), not left to run to its end or to the watchdog's
     * budget, holding the engine from the others meanwhile. */
    vgt_dispatch_quiesce(sv, mask);
    /* Its workloads are retired (PPGTT pins and slots released; the
     * cancelled ones tell the guest nothing). */
    vgt_dispatch_deliver_locked(sv);
    if (!dmlr)
        return; /* an engine reset frees no shadow */
    /* A hang the watchdog found before the reset is not carried into the
     * vGPU after it (a guest's own engine reset keeps it: it cannot talk
     * itself out of failsafe). */
    pthread_mutex_lock(&sv->s->lock);
    sv->hang_mask = 0;
    pthread_mutex_unlock(&sv->s->lock);
    /* The shadows go: the vGPU's work has left the hardware (nothing
     * freed while the GPU can reach it). */
    if (sv->pp && sv->pp->reset)
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
    vgt_execlist_cancel(sv, 0xfu);
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

/* The virtual CSB starts behind entry 0, as after a reset. */
void vgt_execlist_init(struct vgt_submit_vgpu *sv)
{
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        sv->eng[e].csb_wp = CSB_ENTRIES - 1;
        vgt_vgpu_set_vreg(sv->v, RING_CONTEXT_STATUS_PTR(vgt_submit_ring_base[e]), CSB_ENTRIES - 1);
    }
}

void vgt_execlist_hooks(struct vgt_submit_vgpu *sv, struct vgt_vgpu_hooks *h)
{
    memset(h, 0, sizeof(*h));
    h->opaque = sv;
    h->elsp_write = elsp_write;
    h->reset = reset_hook;
    h->failsafe = failsafe_hook;
    h->invalidate = invalidate_hook;
    h->g2v_notify = g2v_hook;
}

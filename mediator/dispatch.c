/* The host's side of submission: the physical engines' execlist ports and
 * status pages, the physical CSB, completion and the dispatcher thread.
 * See docs/submission.md. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "submit_priv.h"
#include "vgt/gen8_gtt.h"
#include "vgt/util.h"

void vgt_dispatch_kick(struct vgt_submit *s)
{
    pthread_mutex_lock(&s->irq_mu);
    s->kick = true;
    pthread_cond_signal(&s->irq_cv);
    pthread_mutex_unlock(&s->irq_mu);
}

static bool service(struct vgt_submit *s, uint64_t *retry);

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
        /* A vGPU busy shadowing is told by the dispatcher, shortly. */
        if (service(s, &retry) || retry != UINT64_MAX)
            vgt_dispatch_kick(s);
    }
    __atomic_sub_fetch(&s->in_irq, 1, __ATOMIC_ACQ_REL);
}

/* Consume the physical CSB of @e; returns the finished workload (or NULL).
 * Under s->lock. */
static struct workload *hw_csb(struct vgt_submit *s, unsigned e)
{
    struct hw_engine *he = &s->eng[e];
    uint32_t b = vgt_submit_ring_base[e];
    uint32_t wp = vgt_submit_rd(s, RING_CONTEXT_STATUS_PTR(b)) & CSB_WRITE_MASK;
    struct workload *done = NULL;

    if (wp >= CSB_ENTRIES)
        return NULL;
    while (he->csb_head != wp) {
        uint32_t status, id;

        he->csb_head = (he->csb_head + 1) % CSB_ENTRIES;
        status = vgt_submit_rd(s, RING_CONTEXT_STATUS_BUF_LO(b, he->csb_head));
        id = vgt_submit_rd(s, RING_CONTEXT_STATUS_BUF_LO(b, he->csb_head) + 4);
        if (!(status & (CSB_COMPLETE | CSB_ERROR)) || !he->running)
            continue;
        if (id != he->running->slot->idx + 1)
            continue;
        he->running->error = (status & CSB_ERROR) != 0;
        done = he->running;
        he->running = NULL;
    }
    vgt_submit_wr(s, RING_CONTEXT_STATUS_PTR(b), (CSB_READ_MASK << 16) | (he->csb_head << CSB_READ_SHIFT));
    return done;
}

/* The workload left its engine: charge it, and queue it for its vGPU's
 * delivery. Under s->lock. */
static void retire(struct vgt_submit *s, struct workload *wl)
{
    struct vgt_submit_vgpu *sv = wl->sv;

    vgt_sched_end(s->sched, sv->sched_id, wl->engine, !wl->cancelled && !wl->error);
    wl->state = WL_DONE;
    sv->on_hw--;
    wl->next = NULL;
    if (sv->done_tail)
        sv->done_tail->next = wl;
    else
        sv->done_head = wl;
    sv->done_tail = wl;
    s->pend_mask[sv->sched_id / 64] |= 1ull << (sv->sched_id % 64);
    pthread_cond_broadcast(&s->done_cv);
}

void vgt_dispatch_deliver_locked(struct vgt_submit_vgpu *sv)
{
    struct vgt_submit *s = sv->s;

    for (;;) {
        struct workload *wl;

        pthread_mutex_lock(&s->lock);
        wl = sv->done_head;
        if (wl) {
            sv->done_head = wl->next;
            if (!sv->done_head)
                sv->done_tail = NULL;
        } else {
            s->pend_mask[sv->sched_id / 64] &= ~(1ull << (sv->sched_id % 64));
        }
        pthread_mutex_unlock(&s->lock);
        if (!wl)
            return;
        vgt_execlist_complete(sv, wl);
        vgt_workload_unpin(wl);
        pthread_mutex_lock(&s->lock);
        sv->running--;
        if (sv->eng[wl->engine].outstanding)
            sv->eng[wl->engine].outstanding--;
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->lock);
        vgt_workload_free(s, wl);
    }
}

/* A vGPU's lock is held for microseconds by its MMIO handlers and for as
 * long as a submission's shadowing takes by its ELSP path: wait out the
 * former (a bounded 20 us), never the latter. */
static int lock_briefly(pthread_mutex_t *mu)
{
    struct timespec ts;

    if (pthread_mutex_trylock(mu) == 0)
        return 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(mu, &ts);
}

/* Deliver what can be delivered without waiting on any vGPU's lock
 * longer than lock_briefly does.
 * Returns true when some vGPU was busy (retry later). */
static bool deliver_pending(struct vgt_submit *s)
{
    bool busy = false;

    for (unsigned w = 0; w < VGT_SCHED_MAX_VGPUS / 64; w++) {
        uint64_t m;

        pthread_mutex_lock(&s->lock);
        m = s->pend_mask[w];
        pthread_mutex_unlock(&s->lock);
        while (m) {
            unsigned id = w * 64 + (unsigned)__builtin_ctzll(m);
            struct vgt_submit_vgpu *sv;

            m &= m - 1;
            pthread_mutex_lock(&s->lock);
            sv = s->by_sched[id];
            if (sv)
                sv->delivering++; /* keeps sv alive: detach waits for it */
            pthread_mutex_unlock(&s->lock);
            if (!sv)
                continue;
            if (lock_briefly(&sv->v->lock) == 0) {
                vgt_dispatch_deliver_locked(sv);
                pthread_mutex_unlock(&sv->v->lock);
            } else {
                busy = true;
            }
            pthread_mutex_lock(&s->lock);
            sv->delivering--;
            pthread_cond_broadcast(&s->done_cv);
            pthread_mutex_unlock(&s->lock);
        }
    }
    return busy;
}

void vgt_dispatch_quiesce(struct vgt_submit_vgpu *sv)
{
    struct vgt_submit *s = sv->s;

    pthread_mutex_lock(&s->lock);
    while (sv->on_hw)
        pthread_cond_wait(&s->done_cv, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void vgt_dispatch_engine(struct vgt_submit *s, unsigned e, uint64_t *retry)
{
    struct hw_engine *he = &s->eng[e];
    struct vgt_submit_vgpu *sv;
    struct workload *wl;
    struct vengine *ve;
    unsigned id;
    uint64_t r;
    uint64_t desc;
    uint32_t b = vgt_submit_ring_base[e];

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
    sv->on_hw++;
    vgt_sched_begin(s->sched, id, e);
    desc = CTX_VALID | CTX_PRIVILEGE | (CTX_MODE_LEGACY_64B << CTX_MODE_SHIFT) |
           (wl->slot->gm & CTX_LRCA_MASK) | (uint64_t)(wl->slot->idx + 1) << 32;
    /* Element 1 empty, then element 0: the fourth write submits. */
    vgt_submit_wr(s, RING_ELSP(b), 0);
    vgt_submit_wr(s, RING_ELSP(b), 0);
    vgt_submit_wr(s, RING_ELSP(b), (uint32_t)(desc >> 32));
    vgt_submit_wr(s, RING_ELSP(b), (uint32_t)desc);
}

/* Retire finished workloads, start the next ones, then tell the guests
 * whose locks are free now. Called with no lock held; never waits on a
 * vGPU's lock. Returns true when a delivery must be retried. */
static bool service(struct vgt_submit *s, uint64_t *retry)
{
    pthread_mutex_lock(&s->lock);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        if (s->eng[e].present && s->eng[e].running) {
            struct workload *wl = hw_csb(s, e);

            if (wl)
                retire(s, wl);
        }
    }
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        vgt_dispatch_engine(s, e, retry);
    pthread_mutex_unlock(&s->lock);
    return deliver_pending(s);
}

static void *dispatcher(void *arg)
{
    struct vgt_submit *s = arg;

    for (;;) {
        uint64_t retry = UINT64_MAX;
        bool busy = false, undelivered;

        pthread_mutex_lock(&s->irq_mu);
        s->irq_pending = 0;
        s->kick = false;
        if (s->stop) {
            pthread_mutex_unlock(&s->irq_mu);
            break;
        }
        pthread_mutex_unlock(&s->irq_mu);

        undelivered = service(s, &retry);
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

            /* A guest whose lock was busy is tried again soon (its own
             * next ELSP write delivers too). */
            if (undelivered)
                wait_ns = 1000000ull;

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

/* After vgt_dispatch_stop: the status pages go back to the scratch page. */
void vgt_dispatch_free_status_pages(struct vgt_submit *s)
{
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (s->eng[e].hwsp_dma) {
            s->hw->ops->ggtt_write(s->hw, s->eng[e].hwsp_gm >> 12, s->hw->scratch_dma | GEN8_PTE_PRESENT);
            s->hw->ops->free_page(s->hw, s->eng[e].hwsp_dma);
            s->eng[e].hwsp_dma = 0;
        }
}

/* Bring the physical engines up in execlist mode with a host status page
 * each (at the top of the shadow area: the slots grow from the bottom),
 * unmask their interrupts and start the dispatcher. */
int vgt_dispatch_start(struct vgt_submit *s)
{
    uint32_t bits = GT_USER | GT_CTX_SWITCH | GT_ERROR;
    int rc;

    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        uint32_t b = vgt_submit_ring_base[e];
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
        vgt_submit_wr(s, RING_HWS_PGA(b), (uint32_t)s->eng[e].hwsp_gm);
        vgt_submit_wr(s, RING_MODE_GEN7(b), MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
        /* After reset the next CSB entry is 0: start behind it (i915
         * reset_csb_pointers). */
        s->eng[e].csb_head = vgt_submit_rd(s, RING_CONTEXT_STATUS_PTR(b)) & CSB_WRITE_MASK;
        if (s->eng[e].csb_head >= CSB_ENTRIES)
            s->eng[e].csb_head = CSB_ENTRIES - 1;
        vgt_submit_wr(s, RING_CONTEXT_STATUS_PTR(b),
                      (CSB_READ_MASK << 16) | (s->eng[e].csb_head << CSB_READ_SHIFT));
        vgt_submit_wr(s, RING_IMR(b), ~(GT_USER | GT_CTX_SWITCH | GT_ERROR));
    }
    s->shadow_size -= VGT_ENGINE_NUM * VGT_PAGE_SIZE;
    /* GT interrupt banks: bank 0 RCS bits 15:0 and BCS 31:16, bank 1 VCS0
     * (i915 GEN8_RCS/BCS/VCS0_IRQ_SHIFT). */
    vgt_submit_wr(s, GEN8_GT_IER(0), bits | bits << 16);
    vgt_submit_wr(s, GEN8_GT_IMR(0), ~(bits | bits << 16));
    vgt_submit_wr(s, GEN8_GT_IER(1), bits);
    vgt_submit_wr(s, GEN8_GT_IMR(1), ~bits);
    vgt_submit_wr(s, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    rc = s->hw->ops->set_irq_handler(s->hw, on_irq, s);
    if (rc)
        goto free_pages;
    if (pthread_create(&s->thread, NULL, dispatcher, s)) {
        rc = -EAGAIN;
        goto unset_irq;
    }
    return 0;

unset_irq:
    s->hw->ops->set_irq_handler(s->hw, NULL, NULL);
free_pages:
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (s->eng[e].hwsp_dma)
            s->hw->ops->free_page(s->hw, s->eng[e].hwsp_dma);
    return rc;
}

/* Stop the dispatcher and the interrupt callback, mask the GPU's
 * interrupts and release the status pages. */
void vgt_dispatch_stop(struct vgt_submit *s)
{
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
    vgt_submit_wr(s, GEN8_MASTER_IRQ, 0);
}

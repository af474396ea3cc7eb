/* The host's side of submission: the physical engines' execlist ports and
 * status pages, the physical CSB, completion and the dispatcher thread.
 * See docs/submission.md. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
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

/* The GPU time @wl held its engine: the difference of its shadow
 * context's CTX_TIMESTAMP, which the GPU saved into the host's copy of
 * the image when it switched the context out (the guest never writes
 * that copy; the auditor keeps commands from loading the register). At
 * most @wall: the context cannot have held the engine longer than it was
 * there, whatever the register says. */
static uint64_t gpu_time_ns(const struct workload *wl, uint64_t wall)
{
    uint32_t ticks = __atomic_load_n(&((const uint32_t *)wl->slot->va[LRC_STATE_PN])[CTX_TIMESTAMP],
                            __ATOMIC_ACQUIRE) - wl->ctx_ts0;
    return VGT_MIN((uint64_t)ticks * 1000000000ull / CTX_TIMESTAMP_HZ, wall);
}

/* The workload left its engine: charge it its GPU time, and queue it for
 * its vGPU's delivery. A cancelled one (the watchdog's preemption, an
 * engine reset: no image saved) is charged the wall time it held the
 * engine, in full. Under s->lock. */
static void retire(struct vgt_submit *s, struct workload *wl)
{
    struct vgt_submit_vgpu *sv = wl->sv;
    uint64_t now = vgt_now_ns();
    uint64_t wall = now > s->eng[wl->engine].started_ns ? now - s->eng[wl->engine].started_ns : 0;

    if (wl->cancelled)
        vgt_sched_end(s->sched, sv->sched_id, wl->engine, false);
    else
        vgt_sched_end_gpu(s->sched, sv->sched_id, wl->engine, !wl->error, gpu_time_ns(wl, wall));
    wl->state = WL_DONE;
    sv->on_hw--;
    /* Its set may be idle on the GPU now: a sharer waiting for an engine
     * gets its entries ahead of its dispatch (vgt_dispatch_precopy, once
     * the engines have their next work). */
    if (!sv->on_hw && s->gm_precopy && s->nr_precopy_for < VGT_ENGINE_NUM)
        s->precopy_for[s->nr_precopy_for++] = sv->sched_id;
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

bool vgt_dispatch_gm_eligible(void *opaque, unsigned id, unsigned engine)
{
    struct vgt_submit *s = opaque;
    struct vgt_submit_vgpu *sv = s->by_sched[id];

    (void)engine;
    /* Called from vgt_sched_pick, which dispatch calls under s->lock. A
     * resident vGPU can run: nothing overlapping it is on an engine (that
     * one would own the entries). Otherwise it must wait while a vGPU
     * that shares its graphics memory has work on any engine: only the
     * running workloads can be such vGPUs. */
    if (!sv || vgt_ggtt_is_resident(sv->v->ggtt))
        return true;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        struct workload *wl = s->eng[e].running;

        if (wl && wl->sv != sv && vgt_ggtt_conflicts(sv->v->ggtt, wl->sv->v->ggtt)) {
            s->gm.blocked++;
            return false;
        }
    }
    return true;
}

/* ---- graphics-memory pre-copy (docs/vgpu.md, "Pre-copy") ----
 *
 * The entries of a range set may be rewritten only while no vGPU of the
 * set has a workload on an engine: the GPU reaches them through the
 * physical GGTT. When a set is idle on the GPU and one of its vGPUs has
 * queued work (it waits for an engine busy with another set's work), its
 * entries are written now, by the dispatcher thread, so that its dispatch
 * finds it resident and starts at once. Everything happens under s->lock,
 * as a dispatch does, so no vGPU of the set can be dispatched meanwhile;
 * a guest rewriting its GGTT at any time is covered by the write-through
 * rule of vgt/ggtt.h (an entry written after the copy goes straight to the
 * physical GGTT because the vGPU owns its block then). */

static bool conflicts_running(struct vgt_submit *s, struct vgt_submit_vgpu *sv)
{
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        struct workload *wl = s->eng[e].running;

        if (wl && (wl->sv == sv || vgt_ggtt_conflicts(sv->v->ggtt, wl->sv->v->ggtt)))
            return true;
    }
    return false;
}

/* How far @sv is behind its engines' fair clocks where it has work
 * queued (the scheduler's pick order), and on which engine; false when it
 * has nothing queued. */
static bool queued_credit(struct vgt_submit *s, struct vgt_submit_vgpu *sv, int64_t *credit, unsigned *engine)
{
    struct vgt_sched_stats st;
    bool queued = false;

    *credit = INT64_MIN;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        queued |= sv->eng[e].queued != 0;
    if (!queued || vgt_sched_get_stats(s->sched, sv->sched_id, &st))
        return false;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (sv->eng[e].queued && st.credit_ns[e] >= *credit) {
            *credit = st.credit_ns[e];
            *engine = e;
        }
    return true;
}

/* Under s->lock: pre-copy for the group of vGPUs sharing @sv's graphics
 * memory (@sv included). Of those with work queued, the set goes to the
 * one the scheduler favours (furthest behind), and only when no vGPU of
 * the set is on an engine and no earlier pre-copy of it still waits for
 * its dispatch (sets would change hands back and forth as vGPUs wake).
 * One pass over the vGPUs: it runs on the submission and completion
 * paths. */
static void precopy_group(struct vgt_submit *s, struct vgt_submit_vgpu *sv)
{
    struct vgt_submit_vgpu *best = NULL;
    int64_t best_credit = INT64_MIN, credit;
    unsigned best_engine = 0, engine = 0;
    struct vgt_ggtt_switch sw;
    uint64_t cpu0;

    for (unsigned id = 0; id < VGT_SCHED_MAX_VGPUS; id++) {
        struct vgt_submit_vgpu *o = s->by_sched[id];

        if (!o || (o != sv && !vgt_ggtt_conflicts(sv->v->ggtt, o->v->ggtt)) ||
            !queued_credit(s, o, &credit, &engine))
            continue;
        if (o->precopied)
            return;
        if (!best || credit > best_credit) {
            best = o;
            best_credit = credit;
            best_engine = engine;
        }
    }
    if (!best || conflicts_running(s, best) || vgt_ggtt_is_resident(best->v->ggtt))
        return;
    cpu0 = vgt_thread_cpu_ns();
    if (vgt_ggtt_make_resident(best->v->ggtt, 0, &sw) || !sw.switched)
        return;
    /* Its switch all the same, charged to it as at dispatch (gm_switch):
     * the CPU time spent, at most the wall time. */
    vgt_sched_charge(s->sched, best->sched_id, best_engine, VGT_MIN(vgt_thread_cpu_ns() - cpu0, sw.ns));
    best->precopied = true;
    s->gm.precopies++;
    s->gm.precopy_written += sw.written;
    s->gm.precopy_ns += sw.ns;
}

void vgt_dispatch_precopy_for(struct vgt_submit *s, struct vgt_submit_vgpu *sv)
{
    if (s->gm_precopy)
        precopy_group(s, sv);
}

void vgt_dispatch_precopy(struct vgt_submit *s)
{
    for (unsigned i = 0; i < s->nr_precopy_for; i++) {
        struct vgt_submit_vgpu *sv = s->by_sched[s->precopy_for[i]];

        if (sv)
            vgt_dispatch_precopy_for(s, sv);
    }
    s->nr_precopy_for = 0;
}

/* Under s->lock: make @sv's graphics memory resident before its workload
 * goes to @e, charging the switch to it: the CPU time this thread spent
 * writing the entries (at most the switch's wall time), so that a host
 * scheduling delay in the middle of a switch is not charged as if the
 * switch had cost it (the same reason workloads are charged GPU time). */
static void gm_switch(struct vgt_submit *s, struct vgt_submit_vgpu *sv, unsigned e)
{
    struct vgt_ggtt_switch sw;
    uint64_t t0 = sv->precopied ? vgt_now_ns() : 0;
    uint64_t cpu0 = vgt_thread_cpu_ns(), cpu;

    if (vgt_ggtt_make_resident(sv->v->ggtt, 0, &sw))
        return;
    if (sv->precopied) {
        /* Its pre-copy held until now (what is left on the path is the
         * residency check), or the set went to another. */
        sv->precopied = false;
        if (sw.switched) {
            s->gm.precopy_lost++;
        } else {
            s->gm.precopy_hits++;
            s->gm.precopy_hit_ns += vgt_now_ns() - t0;
        }
    }
    if (!sw.switched)
        return;
    cpu = vgt_thread_cpu_ns() - cpu0;
    vgt_sched_charge(s->sched, sv->sched_id, e, VGT_MIN(cpu, sw.ns));
    s->gm.switches++;
    s->gm.entries_written += sw.written;
    s->gm.entries_skipped += sw.skipped;
    s->gm.switch_ns += sw.ns;
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

    if (!he->present || he->running || he->stalled)
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
    he->started_ns = vgt_now_ns();
    wl->ctx_ts0 = ((const uint32_t *)wl->slot->va[LRC_STATE_PN])[CTX_TIMESTAMP];
    sv->running++;
    sv->on_hw++;
    gm_switch(s, sv, e);
    vgt_sched_begin(s->sched, id, e);
    /* Another vGPU ran here last: the host's values of the registers its
     * commands may have changed and the context image does not hold. */
    vgt_mmio_context_switch(&s->mmio_ctx, s->hw, e, sv);
    /* The LRCA is the slot's, so the per-process HWSP that store-data-
     * index writes is the slot's page 0, this workload's alone (never the
     * host's engine status page nor another vGPU's page; issue 16). */
    desc = CTX_VALID | CTX_PRIVILEGE | (CTX_MODE_LEGACY_64B << CTX_MODE_SHIFT) |
           (wl->slot->gm & CTX_LRCA_MASK) | (uint64_t)(wl->slot->idx + 1) << 32;
    /* Element 1 empty, then element 0: the fourth write submits. */
    vgt_submit_wr(s, RING_ELSP(b), 0);
    vgt_submit_wr(s, RING_ELSP(b), 0);
    vgt_submit_wr(s, RING_ELSP(b), (uint32_t)(desc >> 32));
    vgt_submit_wr(s, RING_ELSP(b), (uint32_t)desc);
}

/* @sv's workload on engine @e ran past its budget: its vGPU enters
 * failsafe gpu-hang from the dispatcher thread (hang_failsafes), never
 * from here. Under s->lock. */
static void note_hang_locked(struct vgt_submit *s, struct vgt_submit_vgpu *sv, unsigned e, const char *why)
{
    if (!sv->hang_mask)
        snprintf(sv->hang_why, sizeof(sv->hang_why), "%s", why);
    sv->hang_mask |= 1u << e;
    s->hangs_pending = true;
}

bool vgt_submit_watchdog_expired(uint64_t now, uint64_t started_ns, uint64_t budget_ns)
{
    /* The callers read the clock under s->lock, after the dispatch. A
     * reading taken before it (the watchdog did, then waited for s->lock
     * while another thread dispatched) is earlier than started_ns, and
     * unsigned now - started_ns is ~2^64: a "hang" of a workload that has
     * just started, whatever the budget (issue 12's stall under load). */
    return budget_ns != UINT64_MAX && now > started_ns && now - started_ns >= budget_ns;
}

/* Retire finished workloads, start the next ones, then tell the guests
 * whose locks are free now. Called with no lock held; never waits on a
 * vGPU's lock. Returns true when a delivery must be retried. */
static bool service(struct vgt_submit *s, uint64_t *retry)
{
    bool late = false;

    pthread_mutex_lock(&s->lock);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        if (s->eng[e].present && s->eng[e].running && !s->eng[e].stalled) {
            struct workload *wl = hw_csb(s, e);

            if (!wl)
                continue;
            /* Past its budget before the watchdog got to it (its thread
             * ran late): a hang all the same, whatever the machine's
             * load. The dispatcher thread puts the vGPU in failsafe (this
             * path never takes a vGPU's lock). */
            if (vgt_submit_watchdog_expired(vgt_now_ns(), s->eng[e].started_ns, wl->sv->watchdog_ns)) {
                char why[96];

                snprintf(why, sizeof(why), "engine %u: workload ran past its %llu ms budget", e,
                         (unsigned long long)(wl->sv->watchdog_ns / 1000000ull));
                wl->cancelled = true;
                note_hang_locked(s, wl->sv, e, why);
                s->wd.hangs++;
                s->wd.late++;
                late = true;
            }
            retire(s, wl);
        }
    }
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        vgt_dispatch_engine(s, e, retry);
    /* After the engines have their next work: off its path. */
    vgt_dispatch_precopy(s);
    pthread_mutex_unlock(&s->lock);
    if (late)
        vgt_dispatch_kick(s);
    return deliver_pending(s);
}

/* Failsafe gpu-hang for the vGPUs noted by note_hang_locked, each only
 * while its lock is free (lock_briefly), as delivery does: the dispatcher
 * never waits on a vGPU's lock (a reset holding it may be waiting for this
 * thread to stop that vGPU's work on another engine). Dispatcher thread,
 * no lock held. Returns true when a vGPU was busy (retry shortly). */
static bool hang_failsafes(struct vgt_submit *s)
{
    bool busy = false;

    pthread_mutex_lock(&s->lock);
    if (!s->hangs_pending) {
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    s->hangs_pending = false;
    for (unsigned id = 0; id < VGT_SCHED_MAX_VGPUS; id++) {
        struct vgt_submit_vgpu *sv = s->by_sched[id];
        char why[sizeof(sv->hang_why)];
        unsigned mask = 0;

        if (!sv || !sv->hang_mask)
            continue;
        sv->delivering++; /* keeps sv alive: detach waits */
        pthread_mutex_unlock(&s->lock);
        if (lock_briefly(&sv->v->lock) == 0) {
            /* Taken again under v->lock: a device-model reset in between
             * dropped it (the reset is the way out of failsafe). */
            pthread_mutex_lock(&s->lock);
            mask = sv->hang_mask;
            sv->hang_mask = 0;
            memcpy(why, sv->hang_why, sizeof(why));
            pthread_mutex_unlock(&s->lock);
            if (mask) {
                vgt_warn(s->log, "vgpu%u: %s", sv->v->id, why);
                vgt_vgpu_enter_failsafe(sv->v, VGT_FAILSAFE_GPU_HANG, why);
            }
            pthread_mutex_unlock(&sv->v->lock);
        } else {
            busy = true;
        }
        pthread_mutex_lock(&s->lock);
        if (sv->hang_mask)
            s->hangs_pending = true;
        sv->delivering--;
        pthread_cond_broadcast(&s->done_cv);
    }
    pthread_mutex_unlock(&s->lock);
    return busy;
}

/* ---- the watchdog ----
 *
 * The dispatcher looks at every running workload at least every 2 ms.
 * One past its vGPU's budget is stopped the way i915 stops a hung
 * request on Gen9: first preemption (an ELSP write of an idle host
 * context with an empty ring; the engine switches at its next arbitration
 * point), then, when the workload is still on the engine after
 * VGT_SUBMIT_PREEMPT_TIMEOUT_MS, a per-engine reset (intel_reset.c
 * gen8_engine_reset_prepare: RING_RESET_CTL request, wait for
 * READY_TO_RESET; GEN6_GDRST with the engine's domain, wait for it to
 * clear; cancel the request; execlists_resume: status page and execlist
 * mode again). The engine is marked stalled meanwhile so neither the
 * completion path nor the dispatcher touch it; no lock is held while the
 * GPU is waited for (the GPU's interrupt callback takes s->lock). */

#define PREEMPT_CTX_ID 0xfffff000u            /* CSB id of the idle context: no slot's */

static const uint32_t reset_domain[VGT_ENGINE_NUM] = {
    [VGT_ENGINE_RCS] = GEN6_GRDOM_RENDER,
    [VGT_ENGINE_BCS] = GEN6_GRDOM_BLT,
    [VGT_ENGINE_VCS] = GEN6_GRDOM_MEDIA,
    [VGT_ENGINE_VECS] = GEN6_GRDOM_VECS,
};

/* Poll @off until (value & mask) == want, for at most @ms. */
static bool poll_reg(struct vgt_submit *s, uint32_t off, uint32_t mask, uint32_t want, unsigned ms)
{
    uint64_t end = vgt_now_ns() + ms * 1000000ull;

    for (;;) {
        struct timespec ts = {0, 20000};

        if ((vgt_submit_rd(s, off) & mask) == want)
            return true;
        if (vgt_now_ns() > end)
            return false;
        nanosleep(&ts, NULL);
    }
}

/* The idle host context of engine @e: its image (page 0 HWSP, page 1
 * register state with an empty ring) and the ring page. */
static int preempt_ctx_init(struct vgt_submit *s, unsigned e, uint64_t gm)
{
    struct hw_engine *he = &s->eng[e];
    const uint32_t b = vgt_submit_ring_base[e];
    void *va[3];

    for (unsigned i = 0; i < 3; i++) {
        if (s->hw->ops->alloc_page(s->hw, &he->preempt_dma[i], &va[i]))
            return -ENOMEM;
        memset(va[i], 0, VGT_PAGE_SIZE);
        s->hw->ops->ggtt_write(s->hw, (gm >> 12) + i, he->preempt_dma[i] | GEN8_PTE_PRESENT);
    }
    he->preempt_gm = gm;
    {
        uint32_t *r = va[LRC_STATE_PN];

        r[CTX_LRI_HEADER_0] = 0x11000000u | (2 * 14 - 1) | MI_LRI_FORCE_POSTED;
        r[CTX_RING_HEAD - 1] = RING_HEAD(b);
        r[CTX_RING_TAIL - 1] = RING_TAIL(b);
        r[CTX_RING_START - 1] = RING_START(b);
        r[CTX_RING_START] = (uint32_t)(gm + 2 * VGT_PAGE_SIZE);
        r[CTX_RING_CTL - 1] = RING_CTL(b);
        r[CTX_RING_CTL] = RING_VALID; /* one page */
        r[CTX_LRI_HEADER_1] = 0x11000000u | (2 * 9 - 1) | MI_LRI_FORCE_POSTED;
    }
    return 0;
}

static void preempt_ctx_fini(struct vgt_submit *s, unsigned e)
{
    struct hw_engine *he = &s->eng[e];

    for (unsigned i = 0; i < 3; i++)
        if (he->preempt_dma[i]) {
            s->hw->ops->ggtt_write(s->hw, (he->preempt_gm >> 12) + i,
                                   s->hw->scratch_dma | GEN8_PTE_PRESENT);
            s->hw->ops->free_page(s->hw, he->preempt_dma[i]);
            he->preempt_dma[i] = 0;
        }
}

/* Try to preempt the context with CSB id @id off engine @e: true when
 * it left the engine within the preemption timeout. */
static bool preempt(struct vgt_submit *s, unsigned e, uint32_t id)
{
    const uint32_t b = vgt_submit_ring_base[e];
    uint64_t desc = CTX_VALID | CTX_PRIVILEGE | (CTX_MODE_LEGACY_64B << CTX_MODE_SHIFT) |
                    (s->eng[e].preempt_gm & CTX_LRCA_MASK) | (uint64_t)(PREEMPT_CTX_ID + e) << 32;
    uint64_t end = vgt_now_ns() + VGT_SUBMIT_PREEMPT_TIMEOUT_MS * 1000000ull;

    vgt_submit_wr(s, RING_ELSP(b), 0);
    vgt_submit_wr(s, RING_ELSP(b), 0);
    vgt_submit_wr(s, RING_ELSP(b), (uint32_t)(desc >> 32));
    vgt_submit_wr(s, RING_ELSP(b), (uint32_t)desc);
    while (vgt_submit_rd(s, RING_EXECLIST_STATUS_HI(b)) == id) {
        struct timespec ts = {0, 50000};

        if (vgt_now_ns() > end)
            return false;
        nanosleep(&ts, NULL);
    }
    /* The idle context has an empty ring: the engine is idle next. */
    return poll_reg(s, RING_EXECLIST_STATUS_HI(b), ~0u, 0, VGT_SUBMIT_PREEMPT_TIMEOUT_MS);
}

/* Per-engine reset and execlists on again. False when the engine did
 * not come out of reset (it stays stalled: nothing more runs on it). */
static bool engine_reset(struct vgt_submit *s, unsigned e)
{
    const uint32_t b = vgt_submit_ring_base[e];

    vgt_submit_wr(s, RING_RESET_CTL(b), MASKED_ENABLE(RESET_CTL_REQUEST_RESET));
    /* i915 resets anyway when the engine never says it is ready. */
    if (!poll_reg(s, RING_RESET_CTL(b), RESET_CTL_READY_TO_RESET, RESET_CTL_READY_TO_RESET, 10))
        vgt_warn(s->log, "watchdog: engine %u not ready to reset, resetting anyway", e);
    vgt_submit_wr(s, GEN6_GDRST, reset_domain[e]);
    if (!poll_reg(s, GEN6_GDRST, reset_domain[e], 0, 500)) {
        vgt_err(s->log, "watchdog: engine %u did not come out of reset", e);
        return false;
    }
    vgt_submit_wr(s, RING_RESET_CTL(b), RESET_CTL_REQUEST_RESET << 16);
    vgt_submit_wr(s, RING_HWS_PGA(b), (uint32_t)s->eng[e].hwsp_gm);
    vgt_submit_wr(s, RING_MODE_GEN7(b), MASKED_ENABLE(GFX_RUN_LIST_ENABLE));
    return true;
}

/* Stop the hung workload @wl on engine @e (stalled, no lock held). */
static bool stop_hung(struct vgt_submit *s, unsigned e, struct workload *wl, bool *was_reset)
{
    const uint32_t b = vgt_submit_ring_base[e];
    uint32_t wp;

    *was_reset = false;
    if (!preempt(s, e, wl->slot->idx + 1)) {
        *was_reset = true;
        if (!engine_reset(s, e))
            return false;
    }
    /* Whatever the CSB says about the hung context or the idle one is
     * consumed here: the workload is retired as cancelled. */
    wp = vgt_submit_rd(s, RING_CONTEXT_STATUS_PTR(b)) & CSB_WRITE_MASK;
    pthread_mutex_lock(&s->lock);
    s->eng[e].csb_head = wp < CSB_ENTRIES ? wp : CSB_ENTRIES - 1;
    vgt_submit_wr(s, RING_CONTEXT_STATUS_PTR(b),
                  (CSB_READ_MASK << 16) | (s->eng[e].csb_head << CSB_READ_SHIFT));
    if (*was_reset)
        vgt_mmio_context_forget(&s->mmio_ctx, e);
    pthread_mutex_unlock(&s->lock);
    return true;
}

/* Take workload @wl off engine @e before it ends: the caller marked the
 * engine stalled and holds no lock. Preempted, else the engine is reset
 * (stop_hung); then, under s->lock, the workload is retired as cancelled
 * (charged in full, its completion dropped) and the engine starts its next
 * workload at once. Returns with s->lock held; false when the engine did
 * not come out of reset (it keeps the workload, stalled, and runs nothing
 * more: the GPU may still reach that workload's pages). */
static bool evict_locked(struct vgt_submit *s, unsigned e, struct workload *wl, bool *was_reset)
{
    struct hw_engine *he = &s->eng[e];
    bool ok = stop_hung(s, e, wl, was_reset);
    uint64_t retry = UINT64_MAX;

    pthread_mutex_lock(&s->lock);
    wl->cancelled = true;
    if (!ok)
        return false;
    he->running = NULL;
    he->stalled = false;
    retire(s, wl);
    vgt_dispatch_engine(s, e, &retry);
    if (retry != UINT64_MAX)
        vgt_dispatch_kick(s);
    return true;
}

void vgt_dispatch_quiesce(struct vgt_submit_vgpu *sv, unsigned mask)
{
    struct vgt_submit *s = sv->s;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct workload *wl = NULL;
        bool mine = false, was_reset;
        unsigned e;

        for (e = 0; e < VGT_ENGINE_NUM; e++) {
            struct hw_engine *he = &s->eng[e];

            if (!(mask & (1u << e)) || !he->running || he->running->sv != sv)
                continue;
            mine = true;
            if (!he->stalled) {
                wl = he->running;
                break;
            }
        }
        if (!mine)
            break;
        if (!wl) {
            /* The watchdog is stopping it already. */
            pthread_cond_wait(&s->done_cv, &s->lock);
            continue;
        }
        s->eng[e].stalled = true;
        pthread_mutex_unlock(&s->lock);
        if (evict_locked(s, e, wl, &was_reset))
            s->wd.evicted++;
        else
            vgt_err(s->log, "vgpu%u: engine %u stuck with its workload", sv->v->id, e);
    }
    pthread_mutex_unlock(&s->lock);
}

bool vgt_watchdog_check(struct vgt_submit *s)
{
    bool acted = false, busy;

    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        struct hw_engine *he = &s->eng[e];
        struct vgt_submit_vgpu *sv;
        struct workload *wl;
        uint64_t over, t0, budget_ms;
        bool was_reset, ok, hang;
        unsigned id;
        char why[96];

        pthread_mutex_lock(&s->lock);
        wl = he->running;
        hang = wl && vgt_submit_watchdog_expired(vgt_now_ns(), he->started_ns, wl->sv->watchdog_ns);
        if (!hang || he->stalled) {
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        he->stalled = true;
        sv = wl->sv; /* alive while its workload is on the engine */
        t0 = he->started_ns + sv->watchdog_ns;
        budget_ms = sv->watchdog_ns / 1000000ull;
        id = sv->v->id;
        pthread_mutex_unlock(&s->lock);

        ok = evict_locked(s, e, wl, &was_reset);
        over = vgt_now_ns() - t0;
        snprintf(why, sizeof(why), "engine %u: workload over its %llu ms budget, %s", e,
                 (unsigned long long)budget_ms, was_reset ? "engine reset" : "preempted");
        s->wd.hangs++;
        s->wd.preempted += !was_reset;
        s->wd.resets += was_reset;
        s->wd.last_stop_ns = over;
        s->wd.max_stop_ns = VGT_MAX(s->wd.max_stop_ns, over);
        if (ok)
            s->wd.last_resume_ns = he->running ? vgt_now_ns() - t0 : 0;
        /* Still under s->lock since the retire: a detach of sv waits for
         * it, so sv is alive here. */
        note_hang_locked(s, sv, e, why);
        pthread_mutex_unlock(&s->lock);
        vgt_warn(s->log, "vgpu%u: %s", id, why);
        acted = true;
    }
    /* Hangs found here and late ones found by service; both run. */
    busy = hang_failsafes(s);
    if (acted && deliver_pending(s))
        busy = true;
    return busy;
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
        undelivered |= vgt_watchdog_check(s);
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
        preempt_ctx_fini(s, e);
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

    vgt_mmio_context_init(&s->mmio_ctx, s->hw);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        uint32_t b = vgt_submit_ring_base[e];
        void *va;

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
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        if (!s->eng[e].present)
            continue;
        rc = preempt_ctx_init(s, e, s->shadow_gm + s->shadow_size - (e + 1) * 3 * VGT_PAGE_SIZE);
        if (rc)
            goto free_pages;
    }
    s->shadow_size -= VGT_ENGINE_NUM * 3 * VGT_PAGE_SIZE;
    /* GT interrupt banks: bank 0 RCS bits 15:0 and BCS 31:16, bank 1 VCS0,
     * bank 3 VECS (i915 6.1 GEN8_RCS/BCS/VCS0/VECS_IRQ_SHIFT,
     * gen8_gt_irq_postinstall). */
    vgt_submit_wr(s, GEN8_GT_IER(0), bits | bits << 16);
    vgt_submit_wr(s, GEN8_GT_IMR(0), ~(bits | bits << 16));
    vgt_submit_wr(s, GEN8_GT_IER(1), bits);
    vgt_submit_wr(s, GEN8_GT_IMR(1), ~bits);
    vgt_submit_wr(s, GEN8_GT_IER(3), bits);
    vgt_submit_wr(s, GEN8_GT_IMR(3), ~bits);
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
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        preempt_ctx_fini(s, e);
        if (s->eng[e].hwsp_dma)
            s->hw->ops->free_page(s->hw, s->eng[e].hwsp_dma);
    }
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

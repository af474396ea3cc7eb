/* Workload submission (see vgt/submit.h and docs/submission.md): bring-up,
 * attaching vGPUs and the public accessors. The path itself is in
 * execlist.c (the guest's view), workload.c (shadowing) and dispatch.c
 * (the host's side); submit_priv.h states the lock order. */
#include "vgt/submit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "submit_priv.h"
#include "vgt/util.h"

const uint32_t vgt_submit_ring_base[VGT_ENGINE_NUM] = {
    RENDER_RING_BASE, BLT_RING_BASE, GEN6_BSD_RING_BASE, VEBOX_RING_BASE,
};

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
    vgt_sched_set_eligible(s->sched, vgt_dispatch_gm_eligible, s);
    s->gm_precopy = true;
    rc = vgt_dispatch_start(s);
    if (rc)
        goto destroy_sched;
    *out = s;
    return 0;

destroy_sched:
    pthread_cond_destroy(&s->irq_cv);
    pthread_mutex_destroy(&s->irq_mu);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->lock);
    vgt_sched_destroy(s->sched);
free_s:
    free(s);
    return rc;
}

void vgt_submit_gm_stats(struct vgt_submit *s, struct vgt_submit_gm_stats *st)
{
    pthread_mutex_lock(&s->lock);
    *st = s->gm;
    pthread_mutex_unlock(&s->lock);
}

void vgt_submit_set_gm_precopy(struct vgt_submit *s, bool on)
{
    pthread_mutex_lock(&s->lock);
    s->gm_precopy = on;
    pthread_mutex_unlock(&s->lock);
}

void vgt_submit_destroy(struct vgt_submit *s)
{
    if (!s)
        return;
    vgt_dispatch_stop(s);
    for (unsigned i = 0; i < s->nr_slots; i++)
        vgt_slot_free_pages(s, s->slots[i]);
    vgt_dispatch_free_status_pages(s);
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
    struct vgt_submit_vgpu *sv;
    struct vgt_vgpu_hooks h;
    int rc;

    if (!s || !v || !out)
        return -EINVAL;
    sv = calloc(1, sizeof(*sv));
    if (!sv)
        return -ENOMEM;
    sv->watchdog_ns = VGT_SUBMIT_WATCHDOG_DEFAULT_MS * 1000000ull;
    sv->s = s;
    sv->v = v;
    sv->pp = ppgtt;
    sv->pp_opaque = ppgtt_opaque;
    rc = vgt_workload_audit_init(sv);
    if (rc)
        goto free_sv;
    vgt_execlist_init(sv);
    rc = vgt_sched_add(s->sched, weight, cap_pct, &sv->sched_id);
    if (rc)
        goto free_sv;
    pthread_mutex_lock(&s->lock);
    s->by_sched[sv->sched_id] = sv;
    pthread_mutex_unlock(&s->lock);
    vgt_execlist_hooks(sv, &h);
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
    /* Its work leaves the hardware and is retired before anything of it
     * is freed (the caller destroys the PPGTT shadow after this). */
    pthread_mutex_lock(&sv->v->lock);
    vgt_vgpu_set_hooks(sv->v, &none);
    vgt_execlist_cancel(sv, 0xfu);
    vgt_dispatch_quiesce(sv, 0xfu);
    vgt_dispatch_deliver_locked(sv);
    pthread_mutex_unlock(&sv->v->lock);
    pthread_mutex_lock(&s->lock);
    while (sv->running || sv->delivering)
        pthread_cond_wait(&s->done_cv, &s->lock);
    s->by_sched[sv->sched_id] = NULL;
    /* A vGPU created later at this address is another vGPU. */
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (s->mmio_ctx.owner[e] == sv)
            vgt_mmio_context_forget(&s->mmio_ctx, e);
    s->pend_mask[sv->sched_id / 64] &= ~(1ull << (sv->sched_id % 64));
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

int vgt_submit_set_watchdog(struct vgt_submit_vgpu *sv, unsigned budget_ms)
{
    uint64_t ns = budget_ms == VGT_SUBMIT_WATCHDOG_OFF ? UINT64_MAX
                  : (uint64_t)(budget_ms ? budget_ms : VGT_SUBMIT_WATCHDOG_DEFAULT_MS) * 1000000ull;

    pthread_mutex_lock(&sv->s->lock);
    sv->watchdog_ns = ns;
    pthread_mutex_unlock(&sv->s->lock);
    return 0;
}

void vgt_submit_watchdog_stats(struct vgt_submit *s, struct vgt_submit_watchdog_stats *st)
{
    pthread_mutex_lock(&s->lock);
    *st = s->wd;
    pthread_mutex_unlock(&s->lock);
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
    vgt_dispatch_kick(sv->s);
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

/* PPGTT shadow adapter for the submission path (see vgt/submit_ppgtt.h). */
#include "vgt/submit_ppgtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#if __has_include("vgt/ppgtt.h")
#include "vgt/ppgtt.h"

struct vgt_submit_pp {
    pthread_mutex_t mu;
    struct vgt_ppgtt *p;
};

static int pp_pin(void *o, uint64_t pml4, uint64_t *root)
{
    struct vgt_submit_pp *a = o;
    int rc;

    pthread_mutex_lock(&a->mu);
    rc = vgt_ppgtt_pin(a->p, pml4, root);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static int pp_unpin(void *o, uint64_t pml4)
{
    struct vgt_submit_pp *a = o;
    int rc;

    pthread_mutex_lock(&a->mu);
    rc = vgt_ppgtt_unpin(a->p, pml4);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static int pp_sync(void *o, uint64_t pml4)
{
    struct vgt_submit_pp *a = o;
    int rc;

    pthread_mutex_lock(&a->mu);
    rc = vgt_ppgtt_sync(a->p, pml4);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static int pp_g2v(void *o, bool create, uint64_t pml4)
{
    struct vgt_submit_pp *a = o;
    int rc;

    pthread_mutex_lock(&a->mu);
    rc = create ? vgt_ppgtt_g2v_create(a->p, pml4) : vgt_ppgtt_g2v_destroy(a->p, pml4);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static void pp_reset(void *o)
{
    struct vgt_submit_pp *a = o;

    pthread_mutex_lock(&a->mu);
    vgt_ppgtt_reset(a->p);
    pthread_mutex_unlock(&a->mu);
}

static int pp_wp(void *o, uint64_t gpa, unsigned size, uint64_t val)
{
    struct vgt_submit_pp *a = o;
    int rc;

    pthread_mutex_lock(&a->mu);
    rc = vgt_ppgtt_wp_write(a->p, gpa, size, val);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static int pp_revalidate(void *o)
{
    struct vgt_submit_pp *a = o;
    int rc;

    pthread_mutex_lock(&a->mu);
    rc = vgt_ppgtt_revalidate(a->p);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

const struct vgt_submit_ppgtt_ops vgt_submit_pp_ops = {
    .pin = pp_pin, .unpin = pp_unpin, .sync = pp_sync, .g2v = pp_g2v, .reset = pp_reset,
    .revalidate = pp_revalidate,
};

int vgt_submit_pp_create(struct vgt_hv *hv, struct vgt_hostgpu *hw, struct vgt_log *log,
                         struct vgt_submit_pp **out)
{
    struct vgt_ppgtt_config pc;
    struct vgt_submit_pp *a = calloc(1, sizeof(*a));
    int rc;

    if (!a)
        return -ENOMEM;
    pthread_mutex_init(&a->mu, NULL);
    vgt_ppgtt_config_default(&pc);
    /* The trapped writes come through pp_wp so that they take the same
     * lock as the submission path. */
    pc.no_wp_handler = true;
    pc.log = log;
    rc = vgt_ppgtt_create(hv, hw, &pc, &a->p);
    if (rc)
        goto free_adapter;
    rc = hv->ops->set_wp_handler(hv, pp_wp, a);
    if (rc)
        goto destroy_ppgtt;
    *out = a;
    return 0;

destroy_ppgtt:
    vgt_ppgtt_destroy(a->p);
free_adapter:
    pthread_mutex_destroy(&a->mu);
    free(a);
    return rc;
}

int vgt_submit_pp_get_stats(struct vgt_submit_pp *a, struct vgt_submit_pp_stats *st)
{
    struct vgt_ppgtt_stats ps;

    pthread_mutex_lock(&a->mu);
    vgt_ppgtt_get_stats(a->p, &ps);
    pthread_mutex_unlock(&a->mu);
    *st = (struct vgt_submit_pp_stats){.shadow_pages = ps.shadow_pages,
                                       .shadow_bytes = ps.shadow_bytes,
                                       .guest_pt_pages = ps.guest_pt_pages,
                                       .wp_pages = ps.wp_pages,
                                       .oos_pages = ps.oos_pages,
                                       .roots = ps.roots,
                                       .traps = ps.traps};
    return 0;
}

void vgt_submit_pp_destroy(struct vgt_submit_pp *a)
{
    if (!a)
        return;
    vgt_ppgtt_destroy(a->p);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

#else /* no shadow-gtt in this build */

const struct vgt_submit_ppgtt_ops vgt_submit_pp_ops = {0};

int vgt_submit_pp_create(struct vgt_hv *hv, struct vgt_hostgpu *hw, struct vgt_log *log,
                         struct vgt_submit_pp **out)
{
    (void)hv;
    (void)hw;
    (void)log;
    (void)out;
    return -ENOTSUP;
}

int vgt_submit_pp_get_stats(struct vgt_submit_pp *a, struct vgt_submit_pp_stats *st)
{
    (void)a;
    *st = (struct vgt_submit_pp_stats){0};
    return -ENOTSUP;
}

void vgt_submit_pp_destroy(struct vgt_submit_pp *a)
{
    (void)a;
}

#endif

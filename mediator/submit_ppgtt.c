/* PPGTT shadow adapter for the submission path (see vgt/submit_ppgtt.h). */
#include "vgt/submit_ppgtt.h"

#include <errno.h>
#include <stdlib.h>

#if __has_include("vgt/ppgtt.h")
#include "vgt/ppgtt.h"

/* One lock per object: every vgt_ppgtt_* entry point takes the manager's
 * own lock, so the adapter adds none (a second lock around the pin only
 * lengthened what the write-protect handler waits for). */
struct vgt_submit_pp {
    struct vgt_ppgtt *p;
};

uint64_t vgt_submit_pp_scratch_leaf(struct vgt_submit_pp *a)
{
    return vgt_ppgtt_scratch_leaf(a->p);
}

static int pp_pin(void *o, uint64_t pml4, uint64_t *root)
{
    return vgt_ppgtt_pin(((struct vgt_submit_pp *)o)->p, pml4, root);
}

static int pp_unpin(void *o, uint64_t pml4)
{
    return vgt_ppgtt_unpin(((struct vgt_submit_pp *)o)->p, pml4);
}

static int pp_sync(void *o, uint64_t pml4)
{
    return vgt_ppgtt_sync(((struct vgt_submit_pp *)o)->p, pml4);
}

static int pp_g2v(void *o, bool create, uint64_t pml4)
{
    struct vgt_submit_pp *a = o;

    return create ? vgt_ppgtt_g2v_create(a->p, pml4) : vgt_ppgtt_g2v_destroy(a->p, pml4);
}

static void pp_reset(void *o)
{
    vgt_ppgtt_reset(((struct vgt_submit_pp *)o)->p);
}

static int pp_revalidate(void *o)
{
    return vgt_ppgtt_revalidate(((struct vgt_submit_pp *)o)->p);
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
    vgt_ppgtt_config_default(&pc);
    /* The manager installs its own write-protect handler: trapped writes
     * take its lock, as pins and syncs do. */
    pc.log = log;
    rc = vgt_ppgtt_create(hv, hw, &pc, &a->p);
    if (rc)
        goto free_adapter;
    *out = a;
    return 0;

free_adapter:
    free(a);
    return rc;
}

int vgt_submit_pp_get_stats(struct vgt_submit_pp *a, struct vgt_submit_pp_stats *st)
{
    struct vgt_ppgtt_stats ps;

    vgt_ppgtt_get_stats(a->p, &ps);
    *st = (struct vgt_submit_pp_stats){.shadow_pages = ps.shadow_pages,
                                       .shadow_bytes = ps.shadow_bytes,
                                       .guest_pt_pages = ps.guest_pt_pages,
                                       .wp_pages = ps.wp_pages,
                                       .oos_pages = ps.oos_pages,
                                       .roots = ps.roots,
                                       .traps = ps.traps,
                                       .refused = ps.scratch_entries};
    return 0;
}

void vgt_submit_pp_destroy(struct vgt_submit_pp *a)
{
    if (!a)
        return;
    vgt_ppgtt_destroy(a->p);
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

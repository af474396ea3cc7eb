#include "ppgtt_fixture.h"

#include <errno.h>
#include <string.h>

int fx_init(struct fx *x, uint64_t ram_mb, enum fake_hv_layout layout, unsigned seed,
            const struct vgt_ppgtt_config *cfg)
{
    struct vgt_ppgtt_config c;
    int ret;

    memset(x, 0, sizeof(*x));
    /* Room for the guest, a second guest, shadows and the GGTT's pages. */
    ret = sim_arena_create((ram_mb * 2 + 96) << 20, &x->a);
    if (ret)
        return ret;
    ret = fake_hv_create(x->a, 1, ram_mb << 20, layout, seed, &x->f);
    if (ret)
        goto destroy_arena;
    ret = fake_hostgpu_create(x->a, 16ull << 20, 4ull << 20, 4, &x->g);
    if (ret)
        goto destroy_hv;
    vgt_log_init(&x->log, "ppgtt-test", VGT_LOG_ERR);
    if (cfg)
        c = *cfg;
    else
        vgt_ppgtt_config_default(&c);
    c.log = &x->log;
    ret = vgt_ppgtt_create(&x->f->hv, &x->g->gpu, &c, &x->p);
    if (ret)
        goto destroy_gpu;
    x->o.hv = &x->f->hv;
    x->o.arena = x->a;
    x->o.scratch_dma = vgt_ppgtt_scratch_leaf(x->p);
    x->o.digest_base = x->f->backing;
    return 0;

destroy_gpu:
    fake_hostgpu_destroy(x->g);
destroy_hv:
    fake_hv_destroy(x->f);
destroy_arena:
    sim_arena_destroy(x->a);
    return ret;
}

void fx_fini(struct fx *x)
{
    vgt_ppgtt_destroy(x->p);
    fake_hostgpu_destroy(x->g);
    fake_hv_destroy(x->f);
    sim_arena_destroy(x->a);
}

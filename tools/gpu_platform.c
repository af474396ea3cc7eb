/* The simulated GPU platform (see gpu_platform.h). */
#include "gpu_platform.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/hostgpu.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/util.h"

#define GP_RAM_DRIVER_BASE (16ull << 20)

static void *srv_main(void *arg)
{
    struct gp_guest *gg = arg;

    vgt_ioreq_server_run(gg->srv);
    return NULL;
}

unsigned gp_fit(const struct vgt_vgpu_res *res, uint64_t aperture, const char **limit)
{
    /* The partition arithmetic of a fresh GPU: the host keeps its share,
     * every vGPU takes its low range out of the aperture, its high range
     * out of the rest of the 4 GiB, and its fences out of Gen9's 32
     * (vgt_gpu_avail does the same first-fit). */
    uint64_t gm = 4ull << 30;
    uint64_t low = aperture - VGT_HOST_LOW_DEFAULT;
    uint64_t high = gm - aperture - VGT_HOST_HIGH_DEFAULT;
    unsigned fences = 32 - VGT_HOST_FENCES_DEFAULT;
    unsigned n_low = (unsigned)(low / res->low_size), n_high = (unsigned)(high / res->high_size);
    unsigned n_fen = res->fences ? fences / res->fences : ~0u;
    unsigned n = VGT_MIN(n_low, VGT_MIN(n_high, n_fen));
    static char why[256];

    /* Past the free ranges, vGPUs share whole range sets up to the
     * default limit each (vgt_gpu_avail places the same way). */
    if (n && (uint64_t)n * VGT_SHARE_LIMIT_DEFAULT < GP_MAX_GUESTS) {
        if (limit) {
            snprintf(why, sizeof(why), "%u range sets of %llu MiB low / %llu MiB high fit, each shared by at most %u vGPUs "
                     "(the graphics memory overcommit limit)", n, (unsigned long long)(res->low_size >> 20),
                     (unsigned long long)(res->high_size >> 20), VGT_SHARE_LIMIT_DEFAULT);
            *limit = why;
        }
        return n * VGT_SHARE_LIMIT_DEFAULT;
    }
    if (n)
        return GP_MAX_GUESTS;
    if (limit) {
        if (n == n_low)
            snprintf(why, sizeof(why), "the %llu MiB aperture less the host's %llu MiB holds %u x %llu MiB low",
                     (unsigned long long)(aperture >> 20), (unsigned long long)(VGT_HOST_LOW_DEFAULT >> 20),
                     n, (unsigned long long)(res->low_size >> 20));
        else if (n == n_high)
            snprintf(why, sizeof(why),
                     "4 GiB of graphics memory less the aperture and the host's %llu MiB high holds %u x %llu MiB high",
                     (unsigned long long)(VGT_HOST_HIGH_DEFAULT >> 20), n,
                     (unsigned long long)(res->high_size >> 20));
        else
            snprintf(why, sizeof(why), "32 fences less the host's %u hold %u x %u", VGT_HOST_FENCES_DEFAULT, n,
                     res->fences);
        *limit = why;
    }
    return n;
}

/* cfg.aperture_mmio: BAR2 placed, moved or disabled by the guest. */
static int map_aperture(void *opaque, struct vgt_vgpu *v, uint64_t gpa, uint64_t host_gm, uint64_t size,
                        bool map)
{
    struct gp_guest *gg = opaque;

    return vgt_aperture_mmio_map(&gg->ap, v, gg->srv, gpa, host_gm, size, map);
}

static void guest_down(struct gp *p, struct gp_guest *gg)
{
    gg_destroy(gg->drv);
    gg->drv = NULL;
    vgt_submit_detach(gg->sv);
    gg->sv = NULL;
    if (gg->srv_running) {
        vgt_ioreq_server_stop(gg->srv);
        pthread_join(gg->srv_thread, NULL);
        gg->srv_running = false;
    }
    vgt_vgpu_destroy(gg->v);
    gg->v = NULL;
    vgt_submit_pp_destroy(gg->pp);
    gg->pp = NULL;
    vgt_ioreq_server_destroy(gg->srv);
    gg->srv = NULL;
    if (gg->g)
        sim_guest_destroy(gg->g);
    gg->g = NULL;
    (void)p;
}

/* The guest's driver, probing its vGPU (as at boot). */
static int probe_driver(struct gp *p, unsigned i)
{
    struct gp_guest *gg = &p->guest[i];
    struct gg_cfg dc;
    uint64_t ram = p->cfg.guest_ram ? p->cfg.guest_ram : 64ull << 20;

    memset(&dc, 0, sizeof(dc));
    dc.g = gg->g;
    dc.vcpu = 0;
    dc.dev = GP_DEV;
    dc.bar0_gpa = GP_BAR0;
    dc.ram_base = GP_RAM_DRIVER_BASE;
    dc.ram_size = ram - GP_RAM_DRIVER_BASE;
    dc.msi_data = 0x40 + i;
    return gg_probe(&dc, &gg->drv);
}

static int guest_up(struct gp *p, unsigned i)
{
    struct gp_guest *gg = &p->guest[i];
    struct sim_guest_cfg gc = {.domid = (uint16_t)(i + 1), .nr_vcpus = p->cfg.vcpus ? p->cfg.vcpus : 1};
    struct vgt_ioreq_server_cfg sc = {.domid = (uint16_t)(i + 1), .log = p->cfg.log};
    struct vgt_vgpu_cfg vc;
    struct vgt_ioreq_backend *be;
    unsigned weight = p->cfg.weights[i] ? p->cfg.weights[i] : p->cfg.res.weight;
    int rc;

    gg->idx = i;
    gc.ram_bytes = p->cfg.guest_ram ? p->cfg.guest_ram : 64ull << 20;
    rc = sim_guest_create(p->hv, &gc, &gg->g);
    if (rc)
        return rc;
    rc = sim_hv_ioreq_backend_create(gg->g, p->cfg.log, &be);
    if (rc)
        return rc;
    rc = vgt_ioreq_server_create(&sc, be, &gg->srv);
    if (rc)
        return rc;
    memset(&vc, 0, sizeof(vc));
    vc.domid = gc.domid;
    vc.hv = vgt_ioreq_server_hv(gg->srv);
    vc.res = p->cfg.res;
    vc.type_name = p->cfg.type_name;
    rc = vgt_vgpu_create(p->vg, &vc, &gg->v);
    if (rc)
        return rc;
    rc = vgt_submit_pp_create(vc.hv, sim_gpu_hostgpu(p->gpu), p->cfg.log, &gg->pp);
    if (rc)
        return rc;
    rc = vgt_submit_attach(p->sub, gg->v, weight, 0, &vgt_submit_pp_ops, gg->pp, &gg->sv);
    if (rc)
        return rc;
    vgt_submit_set_watchdog(gg->sv, p->cfg.res.watchdog_ms);
    gg->ap.range = -1;
    rc = vgt_vgpu_attach(gg->v, gg->srv, VGT_SBDF(0, 0, GP_DEV, 0),
                         p->cfg.aperture_mmio ? &(struct vgt_vgpu_platform){gg, map_aperture} : NULL);
    if (rc)
        return rc;
    rc = vgt_ioreq_server_start(gg->srv);
    if (rc)
        return rc;
    if (pthread_create(&gg->srv_thread, NULL, srv_main, gg))
        return -EAGAIN;
    gg->srv_running = true;
    return probe_driver(p, i);
}

int gp_reprobe(struct gp *p, unsigned i)
{
    int rc;

    if (i >= p->nr)
        return -EINVAL;
    rc = vgt_vgpu_reset(p->guest[i].v);
    if (rc)
        return rc;
    gg_destroy(p->guest[i].drv);
    p->guest[i].drv = NULL;
    return probe_driver(p, i);
}

int gp_create(const struct gp_cfg *cfg, struct gp **out)
{
    struct sim_hv_cfg hc = {0};
    struct sim_gpu_config gcfg = {0};
    struct vgt_gpu_cfg vcfg = {0};
    struct vgt_submit_cfg scfg = {0};
    struct gp *p;
    uint64_t ram = cfg->guest_ram ? cfg->guest_ram : 64ull << 20;
    int rc;

    if (!cfg->guests || cfg->guests > GP_MAX_GUESTS)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    /* Guest RAM, shadow pages and GPU structures all come from one arena. */
    rc = sim_arena_create(cfg->guests * ram + (512ull << 20), &p->arena);
    if (rc)
        goto free_p;
    hc.arena = p->arena;
    hc.log = cfg->log;
    rc = sim_hv_create(&hc, &p->hv);
    if (rc)
        goto free_arena;
    gcfg.aperture_size = cfg->aperture;
    gcfg.ns_per_byte = cfg->ns_per_byte;
    gcfg.ns_per_cmd = cfg->ns_per_cmd;
    gcfg.cmd_budget = cfg->cmd_budget;
    gcfg.semaphore_timeout_ms = cfg->semaphore_timeout_ms;
    rc = sim_gpu_create(p->arena, &gcfg, cfg->log, &p->gpu);
    if (rc)
        goto free_hv;
    vcfg.hw = sim_gpu_hostgpu(p->gpu);
    vcfg.log = cfg->log;
    rc = vgt_gpu_create(&vcfg, &p->vg);
    if (rc)
        goto free_gpu;
    if (vgt_gpu_avail(p->vg, &cfg->res) < cfg->guests) {
        rc = -ENOSPC;
        goto free_vg;
    }
    scfg.hw = vcfg.hw;
    scfg.log = cfg->log;
    rc = vgt_submit_create(&scfg, &p->sub);
    if (rc)
        goto free_vg;
    for (unsigned i = 0; i < cfg->guests; i++) {
        p->nr = i + 1;
        rc = guest_up(p, i);
        if (rc)
            goto down_guests;
    }
    *out = p;
    return 0;

down_guests:
    for (unsigned i = p->nr; i-- > 0;)
        if (p->guest[i].g) /* not removed already */
            guest_down(p, &p->guest[i]);
    vgt_submit_destroy(p->sub);
free_vg:
    vgt_gpu_destroy(p->vg);
free_gpu:
    sim_gpu_destroy(p->gpu);
free_hv:
    sim_hv_destroy(p->hv);
free_arena:
    sim_arena_destroy(p->arena);
free_p:
    free(p);
    return rc;
}

void gp_remove_guest(struct gp *p, unsigned i)
{
    if (i < p->nr && p->guest[i].g)
        guest_down(p, &p->guest[i]);
}

void gp_destroy(struct gp *p)
{
    if (!p)
        return;
    for (unsigned i = p->nr; i-- > 0;)
        if (p->guest[i].g) /* not removed already */
            guest_down(p, &p->guest[i]);
    vgt_submit_destroy(p->sub);
    vgt_gpu_destroy(p->vg);
    sim_gpu_destroy(p->gpu);
    sim_hv_destroy(p->hv);
    sim_arena_destroy(p->arena);
    free(p);
}

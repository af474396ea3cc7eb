/* The simulated GPU platform (see gpu_platform.h). */
#include "gpu_platform.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/hostgpu.h"
#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/stages.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/util.h"
#include "platform.h"
#include "vgpu_host.h"

#define GP_RAM_DRIVER_BASE (16ull << 20)

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

    return vgt_aperture_mmio_map(&gg->ap, v, gg->in.srv, gpa, host_gm, size, map);
}

/* The guest's driver, probing its vGPU (as at boot). */
static int probe_driver(struct gp *p, unsigned i)
{
    struct gp_guest *gg = &p->guest[i];
    struct gg_cfg dc;
    uint64_t ram = p->cfg.guest_ram ? p->cfg.guest_ram : 64ull << 20;

    memset(&dc, 0, sizeof(dc));
    dc.g = gg->in.guest;
    dc.vcpu = 0;
    dc.dev = GP_DEV;
    dc.bar0_gpa = GP_BAR0;
    dc.ram_base = GP_RAM_DRIVER_BASE;
    dc.ram_size = ram - GP_RAM_DRIVER_BASE;
    dc.msi_data = 0x40 + i;
    return gg_probe(&dc, &gg->drv);
}

/* One guest's stages, in bring-up order (guest_stages below): the vGPU
 * instance as vgtd assembles one (vgpu_inst.c: the guest on the simulated
 * hypervisor, its ioreq server and thread, PPGTT shadow, vGPU, submission
 * attach), then its driver. Removal undoes them in reverse. */
static int g_inst_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp_guest *gg = obj;
    struct gp *p = gg->p;
    uint16_t domid = (uint16_t)(gg->idx + 1);
    /* the simulated platform's guest_create: 0 RAM is 64 MiB, 0 vCPUs 1 */
    struct vgpu_add_req req = {.domid = domid, .sim_ram = p->cfg.guest_ram,
                               .sim_vcpus = p->cfg.vcpus};

    (void)arg;
    gg->in = (struct vgpu_inst){
        .hv = vgt_platform_sim.hv,
        .plat = &p->plat,
        .domid = domid,
        .gpu = p->vg,
        .sub = p->sub,
        .vc = {.domid = domid, .res = p->cfg.res, .type_name = p->cfg.type_name},
        .weight = p->cfg.weights[gg->idx], /* 0: res.weight */
        .sbdf = VGT_SBDF(0, 0, GP_DEV, 0),
        .vplat = p->cfg.aperture_mmio ? (struct vgt_vgpu_platform){gg, map_aperture}
                                      : (struct vgt_vgpu_platform){0},
    };
    gg->ap.range = -1;
    return vgpu_inst_up(&gg->in, &req, NULL, NULL, err, errlen);
}

static void g_inst_down(void *obj)
{
    struct gp_guest *gg = obj;

    vgpu_inst_down(&gg->in, NULL);
}

static int g_driver_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp_guest *gg = obj;

    (void)arg, (void)err, (void)errlen;
    return probe_driver(gg->p, gg->idx);
}

static void g_driver_down(void *obj)
{
    struct gp_guest *gg = obj;

    gg_destroy(gg->drv);
    gg->drv = NULL;
}

static const struct vgt_stage guest_stages[] = {
    {"vGPU instance", g_inst_up, g_inst_down},
    {"driver", g_driver_up, g_driver_down},
};

static void guest_down(struct gp_guest *gg)
{
    vgt_stages_down(guest_stages, &gg->up, 0, gg, NULL);
}

int gp_reprobe(struct gp *p, unsigned i)
{
    int rc;

    if (i >= p->nr)
        return -EINVAL;
    rc = vgt_vgpu_reset(p->guest[i].in.vgpu);
    if (rc)
        return rc;
    gg_destroy(p->guest[i].drv);
    p->guest[i].drv = NULL;
    return probe_driver(p, i);
}

/* The platform's stages (gp_stages below), undone in reverse by
 * gp_destroy whether gp_create finished or not. */
static int gp_arena_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp *p = obj;
    uint64_t ram = p->cfg.guest_ram ? p->cfg.guest_ram : 64ull << 20;

    (void)arg, (void)err, (void)errlen;
    /* Guest RAM, shadow pages and GPU structures all come from one arena. */
    return sim_arena_create(p->cfg.guests * ram + (512ull << 20), &p->arena);
}

static void gp_arena_down(void *obj)
{
    sim_arena_destroy(((struct gp *)obj)->arena);
}

static int gp_hv_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp *p = obj;
    struct sim_hv_cfg hc = {.arena = p->arena, .log = p->cfg.log};

    (void)arg, (void)err, (void)errlen;
    return sim_hv_create(&hc, &p->hv);
}

static void gp_hv_down(void *obj)
{
    sim_hv_destroy(((struct gp *)obj)->hv);
}

static int gp_gpu_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp *p = obj;
    struct sim_gpu_config gcfg = {.aperture_size = p->cfg.aperture,
                                  .ns_per_byte = p->cfg.ns_per_byte,
                                  .ns_per_cmd = p->cfg.ns_per_cmd,
                                  .cmd_budget = p->cfg.cmd_budget,
                                  .semaphore_timeout_ms = p->cfg.semaphore_timeout_ms};

    (void)arg, (void)err, (void)errlen;
    return sim_gpu_create(p->arena, &gcfg, p->cfg.log, &p->gpu);
}

static void gp_gpu_down(void *obj)
{
    sim_gpu_destroy(((struct gp *)obj)->gpu);
}

static int gp_vg_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp *p = obj;
    struct vgt_gpu_cfg vcfg = {.hw = sim_gpu_hostgpu(p->gpu), .log = p->cfg.log};
    int rc = vgt_gpu_create(&vcfg, &p->vg);

    (void)arg, (void)err, (void)errlen;
    if (rc)
        return rc;
    if (vgt_gpu_avail(p->vg, &p->cfg.res) < p->cfg.guests) {
        vgt_gpu_destroy(p->vg);
        return -ENOSPC;
    }
    return 0;
}

static void gp_vg_down(void *obj)
{
    vgt_gpu_destroy(((struct gp *)obj)->vg);
}

static int gp_sub_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp *p = obj;
    struct vgt_submit_cfg scfg = {.hw = sim_gpu_hostgpu(p->gpu), .log = p->cfg.log};

    (void)arg, (void)err, (void)errlen;
    return vgt_submit_create(&scfg, &p->sub);
}

static void gp_sub_down(void *obj)
{
    vgt_submit_destroy(((struct gp *)obj)->sub);
}

/* Every guest, each all its stages or none. */
static int gp_guests_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct gp *p = obj;

    (void)arg;
    /* What the simulated platform's hv ops and the stages use. */
    p->plat = (struct vgt_plat){.log = p->cfg.log, .gpu_log = p->cfg.log, .arena = p->arena,
                                .hv = p->hv, .sim_gpu = p->gpu, .hw = sim_gpu_hostgpu(p->gpu)};
    for (unsigned i = 0; i < p->cfg.guests; i++) {
        struct gp_guest *gg = &p->guest[i];
        int rc;

        gg->idx = i;
        gg->p = p;
        p->nr = i + 1;
        rc = vgt_stages_up(guest_stages, VGT_ARRAY_SIZE(guest_stages), &gg->up, gg, NULL, NULL,
                           NULL, err, errlen);
        if (rc) {
            for (unsigned j = i; j-- > 0;)
                guest_down(&p->guest[j]);
            return rc;
        }
    }
    return 0;
}

static void gp_guests_down(void *obj)
{
    struct gp *p = obj;

    for (unsigned i = p->nr; i-- > 0;)
        guest_down(&p->guest[i]); /* nothing left of one removed already */
}

static const struct vgt_stage gp_stages[] = {
    {"arena", gp_arena_up, gp_arena_down},
    {"hypervisor", gp_hv_up, gp_hv_down},
    {"GPU", gp_gpu_up, gp_gpu_down},
    {"vGPU partition", gp_vg_up, gp_vg_down},
    {"submission path", gp_sub_up, gp_sub_down},
    {"guests", gp_guests_up, gp_guests_down},
};

int gp_create(const struct gp_cfg *cfg, struct gp **out)
{
    struct gp *p;
    char err[256] = "";
    int rc;

    if (!cfg->guests || cfg->guests > GP_MAX_GUESTS)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    rc = vgt_stages_up(gp_stages, VGT_ARRAY_SIZE(gp_stages), &p->up, p, NULL, NULL, NULL, err,
                       sizeof(err));
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void gp_remove_guest(struct gp *p, unsigned i)
{
    if (i < p->nr)
        guest_down(&p->guest[i]);
}

void gp_destroy(struct gp *p)
{
    if (!p)
        return;
    vgt_stages_down(gp_stages, &p->up, 0, p, NULL);
    free(p);
}

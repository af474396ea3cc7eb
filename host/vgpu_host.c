/* The vGPU daemon core (see vgpu_host.h). */
#include "vgpu_host.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vgt/ggtt.h"
#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/mapcache.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_hv.h"
#include "vgt/submit.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/util.h"
#include "vgt/stages.h"
#include "vgt_xenctrl.h"
#include "platform.h"
#include "vgpu_inst.h"

#include "display_guest.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_gpu_guest.h"

/* Where guest-run's driver puts BAR0 (the MMIO hole below 4 GiB) and which
 * guest RAM it takes (above the first 16 MiB, as the demo's). */
#define GUEST_RUN_BAR0 0xF0000000ull
#define GUEST_RUN_RAM_BASE (16ull << 20)
#define GUEST_RUN_BLIT 64 /* 64x64 32-bit pixels a blit */

#define MAX_DOMS 64

struct vgpu_dom {
    uint16_t domid;
    bool dead; /* sim: the toolstack destroyed the domain */
    bool running;
    /* Its guest (sim), ioreq server and thread, event-channel ports,
     * PPGTT shadow, vGPU and place on the submission path: the staged
     * per-vGPU assembly (vgpu_inst.h), with its configuration (resources
     * resolved, the scheduler share as asked). */
    struct vgpu_inst in;
    struct vgpu_host *host;
    struct vgpu_aperture_map ap; /* the aperture slice mapped into the guest */
    /* cfg.aperture_mmio: the aperture served as an ioreq MMIO range */
    struct vgt_aperture_mmio ap_mmio; /* cfg.aperture_mmio */
    /* sim only: the guest's driver and workload of guest-run */
    struct gg *drv;
    struct gg_run *run;
    struct dg *disp; /* its display side (display_guest.h) */
};

struct vgpu_host {
    struct vgpu_host_cfg cfg;
    const struct vgt_platform *platform;
    const struct vgt_platform_aperture *aperture; /* the platform's or emulated */
    unsigned up; /* stages up (host_stages) */
    const struct vgt_log *log;
    struct vgt_log gpu_log;
    pthread_mutex_t lock;
    pthread_mutex_t ap_lock; /* every vgpu_dom.ap (written from ioreq threads) */
    struct vgt_plat plat; /* what the platform opened */
    struct vgt_gpu *gpu;
    struct vgt_submit *sub; /* ELSP, shadowing, audit, scheduler, completion */
    struct vgt_mapcache_dma dma; /* how the GPU reaches a mapped Xen guest frame */
    struct vgpu_dom *doms[MAX_DOMS];
    unsigned evtchn_ports; /* bound by all vGPUs' ioreq servers */
    unsigned evtchn_limit; /* cfg.max_evtchn_ports or the default */
};

static int map_aperture(void *opaque, struct vgt_vgpu *v, uint64_t gpa, uint64_t host_gm,
                        uint64_t size, bool map);

static bool gpu_is_sim(const struct vgpu_host *h)
{
    return h->platform->gpu->sim;
}

/* The simulated hypervisor: its guests are ours (guest-run, kill). */
static bool hv_is_sim(const struct vgpu_host *h)
{
    return h->platform->hv->sim;
}

int vgpu_parse_bdf(const char *s, uint32_t *sbdf)
{
    unsigned bus, dev, fn;
    char tail;

    if (!s || sscanf(s, "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3 || bus > 0xff || dev > 0x1f ||
        fn > 7)
        return -EINVAL;
    *sbdf = VGT_SBDF(0, bus, dev, fn);
    return 0;
}

/* ---- the host's staged bring-up (one teardown: vgt_stages_down) ---- */

static int host_locks_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_host *h = obj;

    (void)arg, (void)err, (void)errlen;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->ap_lock, NULL);
    return 0;
}

static void host_locks_down(void *obj)
{
    struct vgpu_host *h = obj;

    pthread_mutex_destroy(&h->ap_lock);
    pthread_mutex_destroy(&h->lock);
}

/* The simulated GPU's host memory (and the simulated hypervisor's). */
static int host_arena_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_host *h = obj;
    int ret;

    (void)arg;
    if (!gpu_is_sim(h))
        return 0;
    ret = sim_arena_create(h->plat.arena_bytes ? h->plat.arena_bytes : 1ull << 30, &h->plat.arena);
    if (ret)
        snprintf(err, errlen, "simulated host memory: %s", strerror(-ret));
    return ret;
}

static void host_arena_down(void *obj)
{
    struct vgpu_host *h = obj;

    sim_arena_destroy(h->plat.arena);
    h->plat.arena = NULL;
}

static int host_hv_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_host *h = obj;

    (void)arg;
    return h->platform->hv->open ? h->platform->hv->open(&h->plat, err, errlen) : 0;
}

static void host_hv_down(void *obj)
{
    struct vgpu_host *h = obj;

    if (h->platform->hv->close)
        h->platform->hv->close(&h->plat);
}

static int host_gpu_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_host *h = obj;

    (void)arg;
    return h->platform->gpu->open(&h->plat, err, errlen);
}

static void host_gpu_down(void *obj)
{
    struct vgpu_host *h = obj;

    h->platform->gpu->close(&h->plat);
}

static int host_vgt_gpu_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_host *h = obj;
    const struct vgpu_host_cfg *cfg = arg;
    struct vgt_gpu_cfg gc = {.hw = h->plat.hw, .log = h->log, .share_limit = cfg->gm_share_limit};
    int ret;

    /* A directly mapped aperture shows the physical GGTT, which holds
     * another guest's entries while a vGPU sharing its range is switched
     * out: share only where the aperture is emulated through the private
     * table (docs/vgpu.md, "Sharing graphics memory"). */
    if (h->aperture != &vgt_aperture_emulated) {
        if (cfg->gm_share_limit > 1)
            vgt_warn(h->log, "--gm-share-limit %u needs the emulated aperture (--aperture emulated): static partitioning",
                     cfg->gm_share_limit);
        gc.share_limit = 1;
    }
    ret = vgt_gpu_create(&gc, &h->gpu);
    if (ret)
        snprintf(err, errlen, "vGPU partition of the GPU: %s", strerror(-ret));
    return ret;
}

static void host_vgt_gpu_down(void *obj)
{
    struct vgpu_host *h = obj;

    vgt_gpu_destroy(h->gpu);
    h->gpu = NULL;
}

static int host_submit_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_host *h = obj;
    struct vgt_submit_cfg sc = {.hw = h->plat.hw, .log = &h->gpu_log};
    int ret = vgt_submit_create(&sc, &h->sub);

    (void)arg;
    if (ret)
        snprintf(err, errlen, "submission path: %s", strerror(-ret));
    return ret;
}

static void host_submit_down(void *obj)
{
    struct vgpu_host *h = obj;

    vgt_submit_destroy(h->sub);
    h->sub = NULL;
}

static const struct vgt_stage host_stages[] = {
    {"locks", host_locks_up, host_locks_down},
    {"arena", host_arena_up, host_arena_down},
    {"hypervisor", host_hv_up, host_hv_down},
    {"host GPU", host_gpu_up, host_gpu_down},
    {"vGPU partition", host_vgt_gpu_up, host_vgt_gpu_down},
    {"submission path", host_submit_up, host_submit_down},
};

const struct vgt_platform *vgpu_host_pick_platform(const struct vgpu_host_cfg *cfg)
{
    if (cfg->platform)
        return cfg->platform;
    if (cfg->sim)
        return &vgt_platform_sim;
    return cfg->gpu_sim ? &vgt_platform_xen_sim : &vgt_platform_xen;
}

int vgpu_host_create(const struct vgpu_host_cfg *cfg, struct vgpu_host **out)
{
    struct vgpu_host *h = calloc(1, sizeof(*h));
    const char *stage = NULL;
    char err[256] = "";
    int ret;

    if (!h)
        return -ENOMEM;
    h->cfg = *cfg;
    h->platform = vgpu_host_pick_platform(cfg);
    h->log = cfg->log;
    h->evtchn_limit = cfg->max_evtchn_ports ? cfg->max_evtchn_ports : VGPU_HOST_DEFAULT_EVTCHN_PORTS;
    h->gpu_log = cfg->log ? *cfg->log : (struct vgt_log){.level = VGT_LOG_ERR};
    h->plat = (struct vgt_plat){.log = cfg->log, .gpu_log = &h->gpu_log,
                                .arena_bytes = cfg->sim_arena_bytes, .gpu_sbdf = cfg->gpu_sbdf};
    /* With a real GPU the operator chooses (vgtd --aperture): mapped
     * (fast CPU access, static partitioning) or emulated (every access
     * trapped and translated through the private table, which is what lets
     * vGPUs share graphics memory). The emulated path never touches the
     * host aperture, so it is the same code for both GPUs. */
    h->aperture = cfg->aperture_mmio ? &vgt_aperture_emulated : h->platform->aperture;
    h->cfg.aperture_mmio = h->aperture == &vgt_aperture_emulated;
    if (h->cfg.aperture_mmio && !gpu_is_sim(h))
        vgt_info(h->log, "the host GPU's aperture is emulated: guests' BAR2 accesses are trapped");
    h->dma = (struct vgt_mapcache_dma){.get = h->platform->dma->get, .put = h->platform->dma->put,
                                       .opaque = &h->plat};
    ret = vgt_stages_up(host_stages, VGT_ARRAY_SIZE(host_stages), &h->up, h, cfg, &cfg->stage_hook,
                        &stage, err, sizeof(err));
    if (ret) {
        vgt_err(h->log, "%s: %s", stage, err[0] ? err : strerror(-ret));
        free(h);
        return ret;
    }
    *out = h;
    return 0;
}

/* guest-run's driver: gone with a reset (the device forgot everything)
 * and before the vGPU goes. */
static void sim_guest_driver_destroy(struct vgpu_dom *d)
{
    if (d->disp) {
        dg_fini(d->disp);
        free(d->disp);
        d->disp = NULL;
    }
    if (d->run) {
        gg_run_fini(d->run);
        free(d->run);
        d->run = NULL;
    }
    gg_destroy(d->drv);
    d->drv = NULL;
}

static void dom_destroy(struct vgpu_host *h, struct vgpu_dom *d)
{
    /* users of the vGPU on other threads (the display) let go first */
    if (h->cfg.dom_gone)
        h->cfg.dom_gone(h->cfg.dom_gone_opaque, d->domid);
    sim_guest_driver_destroy(d);
    vgpu_inst_down(&d->in, &h->cfg.stage_hook);
    vgt_info(h->log, "dom%u: vGPU removed", d->domid);
    free(d);
}

void vgpu_host_destroy(struct vgpu_host *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < MAX_DOMS; i++)
        if (h->doms[i])
            dom_destroy(h, h->doms[i]);
    vgt_stages_down(host_stages, &h->up, 0, h, &h->cfg.stage_hook);
    free(h);
}

static struct vgpu_dom **find_slot(struct vgpu_host *h, uint16_t domid)
{
    for (unsigned i = 0; i < MAX_DOMS; i++)
        if (h->doms[i] && h->doms[i]->domid == domid)
            return &h->doms[i];
    return NULL;
}

static int resolve_res(const struct vgpu_add_req *req, struct vgt_vgpu_res *res, char *err,
                       size_t errlen)
{
    const char *why = NULL;

    if (req->type) {
        if (req->display_set) {
            snprintf(err, errlen, "max_heads and resolution go with custom sizes: type %s has its own",
                     req->type);
            return -EINVAL;
        }
        if (vgt_vgpu_res_from_type(req->type, res) == 0)
            return 0;
        snprintf(err, errlen, "unknown vGPU type '%s' (V5_1, V5_2, V5_4, V5_8)", req->type);
        return -EINVAL;
    }
    if (vgt_vgpu_res_custom(req->low_gm_mb, req->high_gm_mb, req->fences, res, &why) ||
        (req->display_set && vgt_vgpu_res_display(res, req->heads, req->res_w, req->res_h, &why))) {
        snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    return 0;
}

/* The vGPU's aperture slice (host GM [host_gm, +size), i.e. host BAR2 +
 * host_gm) appears at guest-physical @gpa, as the host's aperture ops
 * say (platform.h): emulated, an ioreq MMIO range (always with the
 * simulated GPU behind Xen: never xc_domain_memory_mapping with simulated
 * frame numbers); mapped, the privileged step maps the host frames (Xen
 * with the real GPU); recorded, the simulated platform only notes it. */
static int ap_emulated_map(struct vgpu_dom *d, uint64_t gpa, uint64_t host_gm, uint64_t size,
                           bool map)
{
    /* Translated through the vGPU's private GGTT table
     * (vgt_vgpu_aperture_access): with graphics-memory sharing the
     * physical entries may be another guest's (docs/vgpu.md). */
    int ret = vgt_aperture_mmio_map(&d->ap_mmio, d->in.vgpu, d->in.srv, gpa, host_gm, size, map);

    if (ret)
        vgt_err(d->host->log, "dom%u: aperture at %#llx as MMIO: %s", d->domid,
                (unsigned long long)gpa, strerror(-ret));
    return ret;
}

static int ap_mapped_map(struct vgpu_dom *d, uint64_t gpa, uint64_t host_gm, uint64_t size,
                         bool map)
{
    char err[256] = "";
    int ret = vgt_xc_map_aperture(d->domid, gpa >> VGT_PAGE_SHIFT,
                                  d->host->platform->gpu->aperture_mfn(&d->host->plat, host_gm),
                                  size >> VGT_PAGE_SHIFT, map, err, sizeof(err));

    if (ret)
        vgt_err(d->host->log, "dom%u: %s", d->domid, err);
    return ret;
}

static int ap_recorded_map(struct vgpu_dom *d, uint64_t gpa, uint64_t host_gm, uint64_t size,
                           bool map)
{
    (void)d, (void)gpa, (void)host_gm, (void)size, (void)map;
    return 0;
}

const struct vgt_platform_aperture vgt_aperture_emulated = {.name = "emulated", .map = ap_emulated_map};
const struct vgt_platform_aperture vgt_aperture_mapped = {.name = "mapped", .map = ap_mapped_map};
const struct vgt_platform_aperture vgt_aperture_recorded = {.name = "recorded", .map = ap_recorded_map};

/* The vGPU's populate step on Xen (vgt/vgpu.h: the OpRegion hvmloader
 * leaves in the MMIO hole for the device model). */
static int populate_hole(void *opaque, uint64_t gfn, uint64_t nr)
{
    struct vgpu_dom *d = opaque;
    char err[256] = "";
    int ret = vgt_xc_populate(d->domid, gfn, nr, err, sizeof(err));

    if (ret)
        vgt_err(d->host->log, "dom%u: %s", d->domid, err);
    else
        vgt_info(d->host->log, "dom%u: guest frames %#llx..+%llu populated (a hole the guest left to us)",
                 d->domid, (unsigned long long)gfn, (unsigned long long)nr);
    return ret;
}

static int map_aperture(void *opaque, struct vgt_vgpu *v, uint64_t gpa, uint64_t host_gm,
                        uint64_t size, bool map)
{
    struct vgpu_dom *d = opaque;
    struct vgpu_aperture_map m = {
        .gfn = gpa >> VGT_PAGE_SHIFT,
        .mfn = d->host->platform->gpu->aperture_mfn(&d->host->plat, host_gm),
        .nr = size >> VGT_PAGE_SHIFT};
    int ret = d->host->aperture->map(d, gpa, host_gm, size, map);

    (void)v;
    if (ret)
        return ret;
    pthread_mutex_lock(&d->host->ap_lock);
    d->ap = map ? m : (struct vgpu_aperture_map){0};
    pthread_mutex_unlock(&d->host->ap_lock);
    return 0;
}

/* Room for one more vGPU's file descriptors under RLIMIT_NOFILE, so that
 * a full vgtd refuses by name instead of failing in whichever open call
 * hits EMFILE first. -EMFILE with *err set when not. */
static int fds_check(char *err, size_t errlen)
{
    struct rlimit rl;
    struct dirent *de;
    unsigned long long open_fds = 0;
    DIR *dir;

    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    dir = opendir("/proc/self/fd");
    if (!dir)
        return 0; /* cannot count: the open calls will name the problem */
    while ((de = readdir(dir)))
        if (de->d_name[0] != '.')
            open_fds++;
    closedir(dir);
    if (open_fds + VGPU_HOST_FDS_PER_VGPU > rl.rlim_cur) {
        snprintf(err, errlen,
                 "file descriptors: vgtd has %llu of its RLIMIT_NOFILE %llu open and a vGPU needs up to %u "
                 "(raise LimitNOFILE= of vgtd.service; docs/operator-guide.md)",
                 open_fds, (unsigned long long)rl.rlim_cur, VGPU_HOST_FDS_PER_VGPU);
        return -EMFILE;
    }
    return 0;
}

int vgpu_host_add(struct vgpu_host *h, const struct vgpu_add_req *req, char *err, size_t errlen)
{
    struct vgt_vgpu_cfg vc = {.domid = req->domid, .type_name = req->type, .log = h->log};
    const char *stage = NULL;
    struct vgpu_dom *d;
    unsigned slot;
    int ret;

    err[0] = 0;
    ret = resolve_res(req, &vc.res, err, errlen);
    if (ret)
        return ret;
    pthread_mutex_lock(&h->lock);
    if (find_slot(h, req->domid)) {
        snprintf(err, errlen, "domain %u already has a vGPU", req->domid);
        ret = -EEXIST;
        goto unlock;
    }
    for (slot = 0; slot < MAX_DOMS && h->doms[slot]; slot++)
        ;
    if (slot == MAX_DOMS || vgt_gpu_avail(h->gpu, &vc.res) == 0) {
        struct vgt_gpu_free fr;
        char what[96] = "";
        size_t l;

        /* Host admission: a fleet scheduler (docs/fleet.md) placed this
         * guest from an inventory that no longer holds. Say so, with the
         * numbers, so the operator knows to refresh it. */
        if (req->type)
            snprintf(what, sizeof(what), " for a %s (0 of %u left; the placement is stale, see vgt inventory)",
                     req->type, VGT_MIN(vgt_gpu_capacity(h->gpu, &vc.res), (unsigned)MAX_DOMS));
        vgt_gpu_get_free(h->gpu, &fr);
        snprintf(err, errlen, "no room on the GPU%s: ", what);
        l = strlen(err);
        if (slot < MAX_DOMS && vgt_gpu_place_error(h->gpu, &vc.res) == -EDQUOT)
            snprintf(err + l, errlen - l,
                     "graphics memory overcommit limit %u reached: every range that fits is shared by %u "
                     "vGPUs already (vgtd --gm-share-limit, or the control request set-gm-share-limit)",
                     vgt_gpu_share_limit(h->gpu), vgt_gpu_share_limit(h->gpu));
        else if (vc.res.low_size > fr.low)
            snprintf(err + l, errlen - l, "vgt_low_gm_sz %llu MiB asked, largest free low GM run %llu MiB",
                     (unsigned long long)(vc.res.low_size >> 20), (unsigned long long)(fr.low >> 20));
        else if (vc.res.high_size > fr.high)
            snprintf(err + l, errlen - l, "vgt_high_gm_sz %llu MiB asked, largest free high GM run %llu MiB",
                     (unsigned long long)(vc.res.high_size >> 20), (unsigned long long)(fr.high >> 20));
        else if (vc.res.fences > fr.fences)
            snprintf(err + l, errlen - l, "vgt_fence_sz %u asked, %u free in a row", vc.res.fences,
                     fr.fences);
        else
            snprintf(err + l, errlen - l, "%u vGPUs at most", MAX_DOMS);
        ret = -ENOSPC;
        goto unlock;
    }
    ret = fds_check(err, errlen);
    if (ret)
        goto unlock;
    d = calloc(1, sizeof(*d));
    if (!d) {
        ret = -ENOMEM;
        goto unlock;
    }
    d->host = h;
    d->domid = req->domid;
    d->ap_mmio.range = -1;
    d->in = (struct vgpu_inst){
        .hv = h->platform->hv,
        .plat = &h->plat,
        .dma = &h->dma,
        .domid = req->domid,
        .gpu = h->gpu,
        .sub = h->sub,
        .vc = vc,
        .weight = req->weight,
        .cap_pct = req->cap_pct,
        .sbdf = req->sbdf ? req->sbdf : VGT_SBDF(0, 0, 2, 0),
        .vplat = {.opaque = d, .map_aperture = map_aperture},
        .ports_bound = &h->evtchn_ports,
        .ports_limit = h->evtchn_limit,
    };
    if (!hv_is_sim(h)) { /* the simulated hypervisor has no hvmloader */
        d->in.vc.populate = populate_hole;
        d->in.vc.populate_opaque = d;
    }
    ret = vgpu_inst_up(&d->in, req, &h->cfg.stage_hook, &stage, err, errlen);
    if (ret) {
        if (!err[0])
            snprintf(err, errlen, "%s of domain %u: %s", stage, req->domid, strerror(-ret));
        free(d);
        goto unlock;
    }
    h->doms[slot] = d;
    pthread_mutex_unlock(&h->lock);
    vgt_info(h->log, "dom%u: vGPU %u attached", d->domid, vgt_vgpu_id(d->in.vgpu));
    return 0;

unlock:
    pthread_mutex_unlock(&h->lock);
    return ret;
}

int vgpu_host_remove(struct vgpu_host *h, uint16_t domid)
{
    struct vgpu_dom **p, *d;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (!p) {
        pthread_mutex_unlock(&h->lock);
        return -ENOENT;
    }
    d = *p;
    *p = NULL;
    pthread_mutex_unlock(&h->lock);
    dom_destroy(h, d);
    return 0;
}

int vgpu_host_reset(struct vgpu_host *h, uint16_t domid)
{
    struct vgpu_dom **p;
    int ret = -ENOENT;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p) {
        sim_guest_driver_destroy(*p);
        ret = vgt_vgpu_reset((*p)->in.vgpu);
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

int vgpu_host_stats(struct vgpu_host *h, uint16_t domid, struct vgt_submit_stats *st)
{
    struct vgpu_dom **p;
    int ret = -ENOENT;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p)
        ret = vgt_submit_get_stats((*p)->in.sv, st);
    pthread_mutex_unlock(&h->lock);
    return ret;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vgpu_host_snapshot(struct vgpu_host *h, struct vgpu_host_snap *s)
{
    const struct vgt_vgpu_type *t;
    size_t nt;

    memset(s, 0, sizeof(*s));
    s->sim = gpu_is_sim(h);
    s->gpu_sbdf = gpu_is_sim(h) ? VGT_SBDF(0, 0, 2, 0) : h->cfg.gpu_sbdf;
    s->vendor = h->plat.hw->vendor;
    s->device = h->plat.hw->device;
    pthread_mutex_lock(&h->lock);
    s->time_ns = mono_ns();
    vgt_gpu_get_free(h->gpu, &s->free);
    t = vgt_vgpu_types(&nt);
    for (size_t k = 0; k < nt && k < VGPU_HOST_MAX_TYPES; k++) {
        struct vgpu_host_type_snap *ts = &s->types[s->ntypes++];
        struct vgt_vgpu_res r;

        vgt_vgpu_res_from_type(t[k].name, &r);
        snprintf(ts->name, sizeof(ts->name), "%s", t[k].name);
        ts->low_mb = t[k].low_mb;
        ts->high_mb = t[k].high_mb;
        ts->fences = t[k].fences;
        ts->weight = t[k].weight;
        ts->heads = t[k].max_heads;
        ts->res_w = t[k].res_w;
        ts->res_h = t[k].res_h;
        ts->total = VGT_MIN(vgt_gpu_capacity(h->gpu, &r), (unsigned)MAX_DOMS);
        ts->available = vgt_gpu_avail(h->gpu, &r);
    }
    for (unsigned i = 0; i < MAX_DOMS; i++) {
        struct vgpu_dom *d = h->doms[i];
        struct vgpu_host_vgpu_snap *v;

        if (!d)
            continue;
        v = &s->v[s->n++];
        vgt_vgpu_get_info(d->in.vgpu, &v->info);
        vgt_submit_get_stats(d->in.sv, &v->sub);
        vgt_ioreq_server_get_stats(d->in.srv, &v->io);
        v->have_pp = vgt_submit_pp_get_stats(d->in.pp, &v->pp) == 0;
    }
    /* The host's slot limit bounds every type too. */
    for (unsigned k = 0; k < s->ntypes; k++)
        s->types[k].available = VGT_MIN(s->types[k].available, (unsigned)MAX_DOMS - s->n);
    pthread_mutex_unlock(&h->lock);
}

int vgpu_host_set_share(struct vgpu_host *h, uint16_t domid, unsigned weight, unsigned cap_pct,
                        char *err, size_t errlen)
{
    struct vgpu_dom **p;
    int ret;

    if (weight > VGT_SCHED_MAX_WEIGHT) {
        snprintf(err, errlen, "weight %u: must be 1..%u", weight, VGT_SCHED_MAX_WEIGHT);
        return -EINVAL;
    }
    if (cap_pct > 100 && cap_pct != VGT_SUBMIT_KEEP) {
        snprintf(err, errlen, "cap %u %%: must be 0 (none) ..100", cap_pct);
        return -EINVAL;
    }
    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (!p) {
        snprintf(err, errlen, "domain %u has no vGPU", domid);
        ret = -ENOENT;
        goto unlock;
    }
    ret = vgt_submit_set_share((*p)->in.sv, weight, cap_pct);
    if (ret)
        snprintf(err, errlen, "domain %u: %s", domid, strerror(-ret));
    else
        vgt_info(h->log, "dom%u: scheduler share set (weight %u, cap %u %%)", domid, weight,
                 cap_pct);
unlock:
    pthread_mutex_unlock(&h->lock);
    return ret;
}

int vgpu_host_sim_failsafe(struct vgpu_host *h, uint16_t domid, const char *detail)
{
    struct vgpu_dom **p;
    int ret = -ENOENT;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p && hv_is_sim(h)) {
        vgt_vgpu_enter_failsafe((*p)->in.vgpu, VGT_FAILSAFE_ADMIN, detail);
        ret = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

/* The guest's driver, probed on first use and kept until a reset. */
static int guest_driver(struct vgpu_dom *d, char *err, size_t errlen)
{
    uint64_t ram = sim_guest_ram_bytes(d->in.guest);
    struct gg_cfg dc = {.g = d->in.guest,
                        .dev = (uint8_t)((d->in.sbdf >> 3) & 0x1f),
                        .bar0_gpa = GUEST_RUN_BAR0,
                        .ram_base = GUEST_RUN_RAM_BASE,
                        .msi_data = 0x40};
    int ret;

    /* SBDF layout of ioreq_server.h: bus 15..8, dev 7..3, fn 2..0. */
    if ((d->in.sbdf & 0xffffff07u) != 0) {
        snprintf(err, errlen, "domain %u: the guest driver finds a vGPU at 00:DD.0 only", d->domid);
        return -EOPNOTSUPP;
    }
    if (ram < 2 * GUEST_RUN_RAM_BASE) {
        snprintf(err, errlen, "domain %u: the guest driver needs 32 MiB of guest RAM", d->domid);
        return -ENOMEM;
    }
    dc.ram_size = ram - GUEST_RUN_RAM_BASE;
    if (d->drv)
        return 0;
    ret = gg_probe(&dc, &d->drv);
    if (ret)
        snprintf(err, errlen, "domain %u: the guest driver's probe failed: %s", d->domid, strerror(-ret));
    return ret;
}

static int guest_run_start(struct vgpu_dom *d, enum gg_workload wl, char *err, size_t errlen)
{
    int ret = guest_driver(d, err, errlen);

    if (ret)
        return ret;
    d->run = calloc(1, sizeof(*d->run));
    if (!d->run)
        return -ENOMEM;
    ret = gg_run_init(d->run, d->drv, wl, GUEST_RUN_BLIT, GUEST_RUN_BLIT, d->domid);
    if (ret) {
        snprintf(err, errlen, "domain %u: setting up the workload in the guest: %s", d->domid,
                 strerror(-ret));
        goto free_run;
    }
    return 0;

free_run:
    free(d->run);
    d->run = NULL;
    return ret;
}

/* The domain's guest display side, its driver probed first. Host lock held. */
static int guest_display(struct vgpu_host *h, uint16_t domid, struct vgpu_dom **out, char *err,
                         size_t errlen)
{
    struct vgpu_dom **p = find_slot(h, domid);
    int ret;

    if (!p || !hv_is_sim(h)) {
        snprintf(err, errlen, "domain %u has no simulated vGPU", domid);
        return -ENOENT;
    }
    ret = guest_driver(*p, err, errlen);
    if (ret)
        return ret;
    if (!(*p)->disp) {
        (*p)->disp = malloc(sizeof(*(*p)->disp));
        if (!(*p)->disp)
            return -ENOMEM;
        dg_init((*p)->disp, (*p)->drv);
    }
    *out = *p;
    return 0;
}

/* One step of the guest's display side, under the host lock: @fn on the
 * domain's driver and display state; its failure is named with @what.
 * Declared in every build so that the calls below look the same where the
 * sim guest's display side is not built (cross builds). */
struct guest_op {
    int (*fn)(struct vgpu_dom *d, struct guest_op *op);
    const char *what;
    unsigned pipe;
    const struct dg_fb *fb;
    bool cursor, flip_only, connect;
    int cx, cy;
    uint32_t off, val;
    uint64_t *gm;
    void *ev;
    unsigned max, *n;
};

static int guest_op(struct vgpu_host *h, uint16_t domid, struct guest_op *op, char *err,
                    size_t errlen)
{
    struct vgpu_dom *d;
    int ret;

    pthread_mutex_lock(&h->lock);
    ret = guest_display(h, domid, &d, err, errlen);
    if (!ret && (ret = op->fn(d, op)))
        snprintf(err, errlen, "domain %u: %s: %s", domid, op->what,
                 ret == -ENOTCONN ? "not connected" : strerror(-ret));
    pthread_mutex_unlock(&h->lock);
    return ret;
}

static int op_show(struct vgpu_dom *d, struct guest_op *op)
{
    return op->flip_only ? dg_redraw(d->disp, op->pipe, op->fb)
                         : dg_show(d->disp, op->pipe, op->fb, op->cursor, op->cx, op->cy);
}

static int op_mmio(struct vgpu_dom *d, struct guest_op *op)
{
    return gg_mmio_write32(d->drv, op->off, op->val);
}

static int op_back(struct vgpu_dom *d, struct guest_op *op)
{
    return dg_render_back(d->disp, op->pipe, op->fb, op->gm);
}

static int op_kbd(struct vgpu_dom *d, struct guest_op *op)
{
    return op->connect ? dg_kbd_connect(d->disp, op->gm) : dg_kbd_read(d->disp, op->ev, op->max, op->n);
}
#define GUEST_OP(h, domid, err, errlen, ...)                                                   \
    guest_op((h), (domid), &(struct guest_op){__VA_ARGS__}, (err), (errlen))

int vgpu_host_sim_guest_show(struct vgpu_host *h, uint16_t domid, unsigned pipe,
                             const struct dg_fb *fb, bool cursor, int cx, int cy, bool flip_only,
                             char *err, size_t errlen)
{
    return GUEST_OP(h, domid, err, errlen, .fn = op_show, .what = "the guest could not draw",
                    .pipe = pipe, .fb = fb, .cursor = cursor, .cx = cx, .cy = cy,
                    .flip_only = flip_only);
}

struct gg *vgpu_host_sim_driver(struct vgpu_host *h, uint16_t domid, char *err, size_t errlen)
{
    struct vgpu_dom *d;
    struct gg *drv = NULL;

    pthread_mutex_lock(&h->lock);
    if (!guest_display(h, domid, &d, err, errlen))
        drv = d->drv;
    pthread_mutex_unlock(&h->lock);
    return drv;
}

int vgpu_host_sim_guest_mmio_write(struct vgpu_host *h, uint16_t domid, uint32_t off, uint32_t val,
                                   char *err, size_t errlen)
{
    return GUEST_OP(h, domid, err, errlen, .fn = op_mmio, .what = "guest MMIO write", .off = off,
                    .val = val);
}

int vgpu_host_sim_guest_back(struct vgpu_host *h, uint16_t domid, unsigned pipe,
                             const struct dg_fb *fb, uint64_t *gm, char *err, size_t errlen)
{
    return GUEST_OP(h, domid, err, errlen, .fn = op_back,
                    .what = "the guest could not draw its back buffer", .pipe = pipe, .fb = fb,
                    .gm = gm);
}

int vgpu_host_sim_guest_kbd(struct vgpu_host *h, uint16_t domid, bool connect, uint64_t *gfn,
                            void *ev, unsigned max, unsigned *n, char *err, size_t errlen)
{
    return GUEST_OP(h, domid, err, errlen, .fn = op_kbd, .what = "the guest's PV keyboard",
                    .connect = connect, .gm = gfn, .ev = ev, .max = max, .n = n);
}

int vgpu_host_sim_guest_fb(struct vgpu_host *h, uint16_t domid, unsigned pipe, bool cursor,
                           uint64_t *gm, uint64_t *gpa)
{
    struct vgpu_dom **p;
    int ret = -ENOENT;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p && (*p)->disp && pipe < DG_MAX_PIPES) {
        struct dg_buf *b = cursor ? &(*p)->disp->cur[pipe] : &(*p)->disp->fb[pipe];

        *gm = b->gm;
        *gpa = b->gpa;
        ret = b->size ? 0 : -ENOENT;
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

int vgpu_host_sim_guest_run(struct vgpu_host *h, uint16_t domid, const char *workload,
                            unsigned iterations, struct vgpu_guest_run_result *res, char *err,
                            size_t errlen)
{
    static const struct {
        const char *name;
        enum gg_workload wl;
    } wls[] = {{"blit", GG_WL_BLIT}, {"store", GG_WL_STORE}, {"mixed", GG_WL_MIXED}};
    struct vgpu_dom **p, *d;
    int wl = -1, ret = 0;

    memset(res, 0, sizeof(*res));
    err[0] = 0;
    for (size_t i = 0; i < VGT_ARRAY_SIZE(wls); i++)
        if (workload && !strcmp(workload, wls[i].name))
            wl = (int)wls[i].wl;
    if (wl < 0) {
        snprintf(err, errlen, "unknown workload '%s' (blit, store, mixed)", workload ? workload : "");
        return -EINVAL;
    }
    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (!p || !hv_is_sim(h)) {
        snprintf(err, errlen, "domain %u has no simulated vGPU", domid);
        ret = -ENOENT;
        goto unlock;
    }
    d = *p;
    if (d->run && d->run->wl != (enum gg_workload)wl) {
        snprintf(err, errlen, "domain %u's driver runs another workload until the vGPU is reset", domid);
        ret = -EBUSY;
        goto unlock;
    }
    if (!d->run) {
        ret = guest_run_start(d, (enum gg_workload)wl, err, errlen);
        if (ret)
            goto unlock;
    }
    {
        uint64_t blits = d->run->blits, stores = d->run->stores, failures = d->run->failures;

        for (unsigned i = 0; i < iterations && !ret; i++) {
            ret = gg_run_step(d->run, 5000);
            if (!ret)
                res->steps++;
        }
        res->blits = d->run->blits - blits;
        res->stores = d->run->stores - stores;
        res->failures = d->run->failures - failures;
        snprintf(res->first_failure, sizeof(res->first_failure), "%s", d->run->first_failure);
    }
    if (ret)
        snprintf(err, errlen, "domain %u: the guest's workload stopped after %llu steps: %s", domid,
                 (unsigned long long)res->steps,
                 ret == -EIO ? "the vGPU stopped answering (failsafe?)" : strerror(-ret));
unlock:
    pthread_mutex_unlock(&h->lock);
    return ret;
}

int vgpu_host_sim_kill_domain(struct vgpu_host *h, uint16_t domid)
{
    struct vgpu_dom **p;
    int ret = -ENOENT;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p && hv_is_sim(h)) {
        (*p)->dead = true;
        ret = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

static bool domain_gone(struct vgpu_host *h, const struct vgpu_dom *d)
{
    return !h->platform->hv->domain_alive(d->domid, d->dead);
}

int vgpu_host_reap(struct vgpu_host *h)
{
    struct vgpu_dom *gone[MAX_DOMS];
    int n = 0;

    pthread_mutex_lock(&h->lock);
    for (unsigned i = 0; i < MAX_DOMS; i++)
        if (h->doms[i] && domain_gone(h, h->doms[i])) {
            gone[n++] = h->doms[i];
            h->doms[i] = NULL;
        }
    pthread_mutex_unlock(&h->lock);
    for (int i = 0; i < n; i++) {
        uint16_t domid = gone[i]->domid;
        uint64_t t0 = vgt_now_ns();

        vgt_info(h->log, "dom%u: domain gone, tearing its vGPU down", domid);
        dom_destroy(h, gone[i]);
        /* the rig's check-xen reads this figure (tests/xen/dom0-checks.sh) */
        vgt_info(h->log, "dom%u: torn down %" PRIu64 " ms after its death was seen", domid,
                 (vgt_now_ns() - t0) / 1000000u);
    }
    return n;
}

struct vgt_gpu *vgpu_host_gpu(struct vgpu_host *h)
{
    return h->gpu;
}

struct vgt_hostgpu *vgpu_host_hostgpu(struct vgpu_host *h)
{
    return h->plat.hw;
}

void *vgpu_host_sim_gpu(struct vgpu_host *h)
{
    return h->plat.sim_gpu;
}

struct sim_guest *vgpu_host_sim_guest(struct vgpu_host *h, uint16_t domid)
{
    struct vgpu_dom **p;
    struct sim_guest *g = NULL;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p)
        g = (*p)->in.guest;
    pthread_mutex_unlock(&h->lock);
    return g;
}

struct vgt_vgpu *vgpu_host_vgpu(struct vgpu_host *h, uint16_t domid)
{
    struct vgpu_dom **p;
    struct vgt_vgpu *v = NULL;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p)
        v = (*p)->in.vgpu;
    pthread_mutex_unlock(&h->lock);
    return v;
}

int vgpu_host_aperture(struct vgpu_host *h, uint16_t domid, struct vgpu_aperture_map *m)
{
    struct vgpu_dom **p;
    int ret = -ENOENT;

    pthread_mutex_lock(&h->lock);
    p = find_slot(h, domid);
    if (p) {
        pthread_mutex_lock(&h->ap_lock);
        *m = (*p)->ap;
        pthread_mutex_unlock(&h->ap_lock);
        ret = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

/* One vGPU instance: the per-vGPU assembly that vgtd's core (vgpu_host.c)
 * and the simulated GPU platform of the demo, benchmarks and e2e tests
 * (gpu_platform.c) share. Its stages, in bring-up order: guest, ioreq
 * backend, ioreq server, event channels, PPGTT shadow, vGPU, submission
 * attach, vGPU attach, server start, event loop (vgt/stages.h). One
 * function undoes them in reverse, whether the instance is whole or
 * failed half-way: stop the loop, take the vGPU off the submission path
 * (its work cancelled), destroy the vGPU (detach, GGTT to scratch,
 * resources back), its PPGTT shadow, the server (which owns the backend
 * once created), give back the ports, destroy the guest (sim). */
#ifndef VGT_HOST_VGPU_INST_H
#define VGT_HOST_VGPU_INST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/mapcache.h"
#include "vgt/stages.h"
#include "vgt/submit.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/vgpu.h"

#include "platform.h"

struct vgpu_add_req;

struct vgpu_inst {
    /* Set by the owner before vgpu_inst_up. */
    const struct vgt_platform_hv *hv; /* makes the guest (sim) and the backend */
    struct vgt_plat *plat;            /* its log serves the server, gpu_log the shadow */
    const struct vgt_mapcache_dma *dma; /* for the backend (Xen's map cache) */
    uint16_t domid;
    struct vgt_gpu *gpu;              /* the partition the vGPU takes its share of */
    struct vgt_submit *sub;
    struct vgt_vgpu_cfg vc;           /* resources resolved; the stages set .hv */
    unsigned weight, cap_pct;         /* weight 0: vc.res.weight */
    uint32_t sbdf;
    struct vgt_vgpu_platform vplat;   /* .map_aperture NULL: no aperture hook */
    /* Event-channel ports bound by all the owner's servers, counted
     * against @ports_limit (vgtd --max-evtchn-ports); NULL: no limit. */
    unsigned *ports_bound;
    unsigned ports_limit;

    /* What the stages made. */
    unsigned up;                      /* stages up */
    struct sim_guest *guest;          /* sim only */
    struct vgt_ioreq_backend *be;     /* until the server owns it */
    struct vgt_ioreq_server *srv;
    pthread_t thread;
    unsigned ports;                   /* counted in *ports_bound */
    struct vgt_submit_pp *pp;         /* the PPGTT shadow, for the submission path */
    struct vgt_vgpu *vgpu;
    struct vgt_submit_vgpu *sv;       /* its execlists on the submission path */
};

/* Brings the instance up from where it is (in->up) to whole; @req goes to
 * the platform's guest_create. On failure the stages it brought up are
 * undone, *failed (may be NULL) names the failing stage, and @err has a
 * sentence when the stage had one. @hook as in vgt_stages_up (NULL in
 * the programs). 0 or -errno. */
int vgpu_inst_up(struct vgpu_inst *in, const struct vgpu_add_req *req,
                 const struct vgt_stage_hook *hook, const char **failed, char *err, size_t errlen);
/* Undoes every stage that is up, in reverse. */
void vgpu_inst_down(struct vgpu_inst *in, const struct vgt_stage_hook *hook);

#endif

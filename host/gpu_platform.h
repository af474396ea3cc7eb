/* The simulated platform for the GPU demo, benchmark and end-to-end tests:
 * one simulated GPU, N guests, each with an ioreq server (its own thread),
 * a vGPU, a PPGTT shadow and the submission path, and a guest driver that
 * reaches its vGPU only through MMIO, config space, its RAM and MSIs.
 * This is what vgtd does on a real host, assembled in one process. */
#ifndef VGT_GPU_PLATFORM_H
#define VGT_GPU_PLATFORM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vgt/log.h"
#include "vgt/sim_gpu_guest.h"
#include "vgt/sim_hv.h"
#include "vgt/submit.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/vgpu.h"

#include "vgpu_inst.h"

#define GP_MAX_GUESTS 64

struct gp_cfg {
    unsigned guests;
    struct vgt_vgpu_res res;       /* per guest */
    const char *type_name;         /* "V5_4", or "custom" */
    unsigned weights[GP_MAX_GUESTS]; /* 0: res.weight */
    uint64_t guest_ram;            /* bytes per guest (0: 64 MiB) */
    uint64_t aperture;             /* simulated GPU aperture (0: 512 MiB) */
    double ns_per_byte;            /* GPU cost model (0: CPU cost) */
    double ns_per_cmd;             /* GPU cost per command (0: none) */
    /* The GPU's own hang limits (sim_gpu_config; 0: its defaults,
     * SIM_GPU_NO_LIMIT: none, as on hardware). */
    uint64_t cmd_budget;
    unsigned semaphore_timeout_ms;
    unsigned vcpus;                /* per guest (0: 1); vCPU 0 runs the driver */
    /* Serve each guest's aperture (BAR2, placed by its driver at
     * GP_BAR2(GP_DEV)) as an ioreq MMIO range translated through its
     * private GGTT table, as vgtd --aperture emulated does. */
    bool aperture_mmio;
    struct vgt_log *log;
};

struct gp;

#define GP_DEV 2                /* 00:02.0, where an Intel iGPU sits */
#define GP_BAR0 0xF0000000ull   /* where the driver places BAR0: the MMIO hole below 4 GiB */
/* Where the guest driver places BAR2 (sim_gpu_guest.c gg_probe): guest
 * graphics address gm is at GP_BAR2(GP_DEV) + gm. */
#define GP_BAR2(dev) ((0x40ull + (dev)) << 32)

struct gp_guest {
    unsigned idx;
    struct gp *p;
    unsigned up;                   /* stages up (gpu_platform.c) */
    /* Its guest, ioreq server and thread, PPGTT shadow, vGPU and place on
     * the submission path: the same assembly as vgtd's (vgpu_inst.h). */
    struct vgpu_inst in;
    struct gg *drv;
    struct vgt_aperture_mmio ap;   /* cfg.aperture_mmio */
};

struct gp {
    struct gp_cfg cfg;
    unsigned up;                   /* stages up (gpu_platform.c) */
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_gpu *gpu;
    struct vgt_plat plat;          /* hv, GPU seam and logs for the guests' stages */
    struct vgt_gpu *vg;
    struct vgt_submit *sub;
    struct gp_guest guest[GP_MAX_GUESTS];
    unsigned nr;
};

/* How many guests of @res fit on a fresh simulated GPU with @aperture
 * bytes of aperture (the answer vgt_gpu_avail gives), and in *limit (may be
 * NULL; a static string) which resource binds. */
unsigned gp_fit(const struct vgt_vgpu_res *res, uint64_t aperture, const char **limit);

/* Brings everything up and probes every guest's driver. -ENOSPC when the
 * guests do not fit, -ENOTSUP when PPGTT shadowing is not built. */
int gp_create(const struct gp_cfg *cfg, struct gp **out);
void gp_destroy(struct gp *p);
/* Device-model reset of guest @i's vGPU (the way out of failsafe), then
 * its driver probes again from scratch. */
int gp_reprobe(struct gp *p, unsigned i);
/* Take guest @i down as vgtd's remove does (detach from the submission
 * path first: its work leaves the GPU), the others running on. */
void gp_remove_guest(struct gp *p, unsigned i);

#endif

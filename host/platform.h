/* The platform a vgpu_host runs on, picked at create time (as libvfio-user
 * picks its transport): which hypervisor backend serves the guests (xen,
 * sim), which host GPU the mediator drives (pci, sim), how a vGPU's
 * aperture slice reaches its guest, and how the host GPU reaches a guest
 * frame mapped into vgtd. Each is a const ops table; struct vgt_platform
 * names one of each. docs/architecture.md, "The host library".
 *
 *   vgtd --sim           hv sim, gpu sim, aperture recorded (or emulated)
 *   vgtd --gpu sim       hv xen, gpu sim, aperture emulated, dma arena import
 *   vgtd                 hv xen, gpu pci, aperture mapped (or emulated),
 *                        dma pagemap */
#ifndef VGT_HOST_PLATFORM_H
#define VGT_HOST_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/ioreq_backend.h"
#include "vgt/log.h"
#include "vgt/mapcache.h"

struct sim_arena;
struct sim_hv;
struct sim_gpu;
struct sim_guest;
struct hostgpu_pci;
struct vgt_hostgpu;
struct vgpu_add_req;

/* What the platform opened, owned by the host (one per vgpu_host). */
struct vgt_plat {
    const struct vgt_log *log;
    struct vgt_log *gpu_log;  /* the GPU model's (quieter) log */
    uint64_t arena_bytes;     /* 0: 1 GiB (lazily backed) */
    uint32_t gpu_sbdf;        /* gpu pci: the Intel GPU */
    struct sim_arena *arena;  /* gpu sim: host memory */
    struct sim_hv *hv;        /* hv sim */
    struct sim_gpu *sim_gpu;  /* gpu sim */
    struct hostgpu_pci *pci;  /* gpu pci */
    struct vgt_hostgpu *hw;   /* the seam the mediator drives */
};

struct vgt_platform_hv {
    const char *name; /* "xen", "sim" */
    bool sim;         /* its guests are ours: created here, driven by tests */
    int (*open)(struct vgt_plat *p, char *err, size_t errlen);
    void (*close)(struct vgt_plat *p);
    /* The guest domain of a new vGPU: the simulated platform creates it
     * (*guest), Xen checks the existing one later (backend). */
    int (*guest_create)(struct vgt_plat *p, const struct vgpu_add_req *req,
                        struct sim_guest **guest, char *err, size_t errlen);
    void (*guest_destroy)(struct sim_guest *guest);
    /* Its ioreq backend; frames mapped into vgtd reach the GPU via @dma. */
    int (*backend_create)(struct vgt_plat *p, uint16_t domid, struct sim_guest *guest,
                          const struct vgt_mapcache_dma *dma, struct vgt_ioreq_backend **be,
                          char *err, size_t errlen);
    /* Is the domain still there (@dead: the sim toolstack destroyed it)? */
    bool (*domain_alive)(uint16_t domid, bool dead);
};

struct vgt_platform_gpu {
    const char *name; /* "pci", "sim" */
    bool sim;         /* a model: no host frames behind its aperture */
    int (*open)(struct vgt_plat *p, char *err, size_t errlen);
    void (*close)(struct vgt_plat *p);
    /* Host frame of graphics address @host_gm in the aperture (BAR2). */
    uint64_t (*aperture_mfn)(struct vgt_plat *p, uint64_t host_gm);
};

/* How a vGPU's aperture slice appears at guest frames (vgpu_host.c, which
 * owns the per-domain state they work on). */
struct vgpu_dom;
struct vgt_platform_aperture {
    const char *name; /* "mapped", "emulated", "recorded" */
    int (*map)(struct vgpu_dom *d, uint64_t gpa, uint64_t host_gm, uint64_t size, bool map);
};
extern const struct vgt_platform_aperture vgt_aperture_mapped;   /* xc_domain_memory_mapping */
extern const struct vgt_platform_aperture vgt_aperture_emulated; /* an ioreq MMIO range */
extern const struct vgt_platform_aperture vgt_aperture_recorded; /* the sim: bookkeeping only */

/* How the host GPU reaches a guest frame mapped into vgtd (the Xen map
 * cache's struct vgt_mapcache_dma, with the plat as opaque). */
struct vgt_platform_dma {
    const char *name; /* "pagemap", "arena" */
    int (*get)(void *plat, void *page, uint64_t *dma);
    void (*put)(void *plat, void *page, uint64_t dma);
};

struct vgt_platform {
    const char *name;
    const struct vgt_platform_hv *hv;
    const struct vgt_platform_gpu *gpu;
    const struct vgt_platform_aperture *aperture; /* default; --aperture emulated overrides */
    const struct vgt_platform_dma *dma;
};

/* The three platforms vgtd runs on. */
extern const struct vgt_platform vgt_platform_sim;     /* vgtd --sim */
extern const struct vgt_platform vgt_platform_xen_sim; /* vgtd --gpu sim */
extern const struct vgt_platform vgt_platform_xen;     /* vgtd (the host's GPU) */

#endif

/* The vGPU daemon core shared by vgtd, vgt inspect and the end-to-end
 * tests: one physical GPU (struct vgt_gpu) and, per guest domain, an ioreq
 * server with its event-loop thread and one vGPU attached to it.
 *
 * On the simulated platform (sim = true) it also owns the machine: the
 * host-memory arena, the simulated hypervisor and GPU, and each guest
 * domain (created on add, with @sim_ram bytes of RAM). On Xen the domain
 * must exist (HVM, paused) and the privileged checks run first
 * (vgt_xenctrl.h).
 *
 * Thread-safe: add/remove/reset/list are serialised by the host lock. */
#ifndef VGT_TOOLS_VGPU_HOST_H
#define VGT_TOOLS_VGPU_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/ioreq_server.h"
#include "vgt/log.h"
#include "vgt/stages.h"
#include "vgt/submit.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/vgpu.h"

struct vgpu_host;
struct sim_guest;

struct vgpu_host_cfg {
    bool sim;     /* the simulated platform: hypervisor and GPU */
    bool gpu_sim; /* the simulated GPU behind a real Xen (vgtd --gpu sim) */
    /* Serve each guest's aperture (BAR2) as an ioreq MMIO range, every
     * access translated through the GGTT (slow, correct). Always on with
     * gpu_sim, whose frames are not host frames to map into a guest; on
     * the simulated platform, so that tests cover that mode. */
    bool aperture_mmio;
    const struct vgt_log *log;
    uint64_t sim_arena_bytes; /* 0: 1 GiB (lazily backed) */
    uint32_t gpu_sbdf;        /* real host: the Intel GPU (vgtd: 0000:00:02.0) */
    /* vGPUs that may share one graphics-memory range (vgtd
     * --gm-share-limit; 0: VGT_SHARE_LIMIT_DEFAULT, docs/vgpu.md). */
    unsigned gm_share_limit;
    /* Called before a domain's vGPU is destroyed (remove, reap, host
     * destroy), host lock not held: drop every use of it. May be NULL. */
    void (*dom_gone)(void *opaque, uint16_t domid);
    void *dom_gone_opaque;
    /* Event-channel ports all vGPUs together may bind in vgtd's domain
     * (one per guest vCPU, plus one per buffered ring); a vGPU that would
     * go past it is refused by name. 0: VGPU_HOST_DEFAULT_EVTCHN_PORTS. */
    unsigned max_evtchn_ports;
    /* NULL: picked from the flags above (vgpu_host_pick_platform); tests
     * may bring their own (platform.h). */
    const struct vgt_platform *platform;
    /* Tests only: called before each bring-up stage (non-zero fails it)
     * and after each teardown stage, of the host and of every vGPU
     * (vgt/stages.h). Zero in the programs. */
    struct vgt_stage_hook stage_hook;
};

/* Xen gives a domain 4096 ports under the 2-level ABI (64-bit:
 * EVTCHN_2L_NR_CHANNELS, xen/include/public/event_channel.h) and 2^17
 * under FIFO (EVTCHN_FIFO_NR_CHANNELS), less for a domU whose xl config
 * sets max_event_channels (default 1023). vgtd does not know which ABI
 * its kernel chose, and the same domain's backends (netback, blkback,
 * consoles) need ports too, so by default it takes at most half of the
 * 2-level space: 256 guests of 4 vCPUs, 64 of 32. docs/operator-guide.md. */
#define VGPU_HOST_DEFAULT_EVTCHN_PORTS 2048u
#define VGPU_HOST_MAX_EVTCHN_PORTS (1u << 17)
/* File descriptors one vGPU holds in vgtd on Xen: its ioreq server's
 * eventfd, xendevicemodel and xenforeignmemory (privcmd) handles and its
 * own libxenevtchn handle; with room for a VNC head or two. */
#define VGPU_HOST_FDS_PER_VGPU 8u

struct vgpu_add_req {
    uint16_t domid;
    const char *type;       /* V5_x, or NULL for custom sizes below */
    uint64_t low_gm_mb, high_gm_mb;
    unsigned fences;
    bool display_set;       /* custom only: heads/resolution below, else 1 x 1920x1080 */
    unsigned heads;
    uint32_t res_w, res_h;
    uint32_t sbdf;          /* 0: 00:02.0 */
    unsigned weight;        /* scheduler weight 1..1000 (0: the type's) */
    unsigned cap_pct;       /* GPU time cap per engine, 1..100 % (0: none) */
    uint64_t sim_ram;       /* sim only: guest RAM bytes (0: 64 MiB) */
    unsigned sim_vcpus;     /* sim only: 0 -> 1 */
};

struct vgt_platform;
/* The platform @cfg asks for: cfg->platform, else sim (hypervisor and GPU
 * simulated), gpu_sim (Xen with the simulated GPU) or Xen with the host's
 * GPU. */
const struct vgt_platform *vgpu_host_pick_platform(const struct vgpu_host_cfg *cfg);
/* Staged bring-up: locks, arena (simulated GPU), hypervisor, host GPU,
 * vGPU partition, submission path; each vGPU added has its own stages
 * (docs/architecture.md, "The host library"). A failure undoes exactly
 * the stages already up, in reverse. */
int vgpu_host_create(const struct vgpu_host_cfg *cfg, struct vgpu_host **out);
void vgpu_host_destroy(struct vgpu_host *h);

/* Returns 0 or -errno with a sentence naming the problem in @err. */
int vgpu_host_add(struct vgpu_host *h, const struct vgpu_add_req *req, char *err, size_t errlen);
int vgpu_host_remove(struct vgpu_host *h, uint16_t domid);
int vgpu_host_reset(struct vgpu_host *h, uint16_t domid);
/* Sim only: the toolstack destroyed the domain. Its vGPU is torn down by
 * vgpu_host_reap() like a real domain that went away. */
int vgpu_host_sim_kill_domain(struct vgpu_host *h, uint16_t domid);
/* Tear down vGPUs whose domain no longer exists; returns how many. */
int vgpu_host_reap(struct vgpu_host *h);

/* The submission path's accounting of @domid's vGPU (docs/scheduler.md):
 * busy time, completed and cancelled workloads per engine, failsafe
 * events, submissions accepted and refused. -ENOENT without a vGPU. */
int vgpu_host_stats(struct vgpu_host *h, uint16_t domid, struct vgt_submit_stats *st);

/* A consistent picture of the host for metrics, vgt top and inventory:
 * taken under the host lock (no vGPU comes or goes meanwhile), each
 * vGPU's part under its own locks. */
#define VGPU_HOST_MAX_VGPUS 64
#define VGPU_HOST_MAX_TYPES 8
struct vgpu_host_vgpu_snap {
    struct vgt_vgpu_info info;
    struct vgt_submit_stats sub;
    struct vgt_ioreq_stats io;
    struct vgt_submit_pp_stats pp;
    bool have_pp; /* PPGTT shadowing built */
};
struct vgpu_host_type_snap {
    char name[16];
    uint32_t low_mb, high_mb;
    unsigned fences, weight;
    unsigned heads;     /* virtual monitors and their resolution */
    uint32_t res_w, res_h;
    unsigned total;     /* instances the empty GPU holds */
    unsigned available; /* instances that still fit now */
};
struct vgpu_host_snap {
    uint64_t time_ns;   /* CLOCK_MONOTONIC when taken */
    bool sim;
    uint32_t gpu_sbdf;  /* the physical GPU */
    uint16_t vendor, device;
    struct vgt_gpu_free free;
    unsigned ntypes;
    struct vgpu_host_type_snap types[VGPU_HOST_MAX_TYPES];
    unsigned n;
    struct vgpu_host_vgpu_snap v[VGPU_HOST_MAX_VGPUS];
};
/* Fills *s (large: allocate it). */
void vgpu_host_snapshot(struct vgpu_host *h, struct vgpu_host_snap *s);

/* Live scheduler share of @domid's vGPU: @weight 1..1000 (0: keep),
 * @cap_pct 0..100 (VGT_SUBMIT_KEEP: keep). -ENOENT / -EINVAL with a
 * sentence in @err. */
int vgpu_host_set_share(struct vgpu_host *h, uint16_t domid, unsigned weight, unsigned cap_pct,
                        char *err, size_t errlen);

/* Sim only: put @domid's vGPU in failsafe (reason admin), as a guest
 * fault would; for tests of the way out (reset). */
int vgpu_host_sim_failsafe(struct vgpu_host *h, uint16_t domid, const char *detail);

/* Sim only: the guest's own GPU driver (vgt/sim_gpu_guest.h, reaching the
 * vGPU through MMIO, config space, its RAM and MSIs) runs @iterations
 * steps of @workload ("blit", "store" or "mixed"), checking every result
 * in guest memory. The driver is probed on first use and kept (with its
 * workload) until the vGPU is reset or removed. 0 when every step
 * completed (wrong results are counted in *failures), else -errno with
 * a sentence in @err. */
struct vgpu_guest_run_result {
    uint64_t steps, blits, stores, failures;
    char first_failure[128];
};
int vgpu_host_sim_guest_run(struct vgpu_host *h, uint16_t domid, const char *workload,
                            unsigned iterations, struct vgpu_guest_run_result *res, char *err,
                            size_t errlen);

/* Sim only: the guest's display side (display_guest.h) draws @fb on head
 * @pipe with its MMIO, as a modeset and flip (@flip_only: a new frame into
 * the same framebuffer, then a flip), with a 64x64 cursor at (cx, cy) when
 * @cursor. 0 or -errno with a sentence in @err. */
struct dg_fb;
int vgpu_host_sim_guest_show(struct vgpu_host *h, uint16_t domid, unsigned pipe,
                             const struct dg_fb *fb, bool cursor, int cx, int cy, bool flip_only,
                             char *err, size_t errlen);
/* Sim only: @domid's guest driver (vgt/sim_gpu_guest.h), probed on first
 * use, for a caller that drives the guest itself (vgt demo --display with
 * the driver's display half). Valid until the vGPU is reset or removed;
 * the caller is the guest's only user meanwhile. NULL with @err. */
struct gg;
struct gg *vgpu_host_sim_driver(struct vgpu_host *h, uint16_t domid, char *err, size_t errlen);
/* Sim only: the guest writes a 32-bit register of its vGPU through MMIO
 * (hostile-guest tests program planes with it). */
int vgpu_host_sim_guest_mmio_write(struct vgpu_host *h, uint16_t domid, uint32_t off, uint32_t val,
                                   char *err, size_t errlen);
/* Sim only: the guest renders @fb into head @pipe's back buffer (no
 * flip); *gm is its graphics address (flip: PLANE_SURF through
 * vgpu_host_sim_guest_mmio_write). */
int vgpu_host_sim_guest_back(struct vgpu_host *h, uint16_t domid, unsigned pipe,
                             const struct dg_fb *fb, uint64_t *gm, char *err, size_t errlen);
/* Sim only: the guest's PV keyboard frontend (display_guest.h):
 * @connect: set up its shared page, *gfn; else consume up to @max raw
 * events into @ev (*n of them). */
int vgpu_host_sim_guest_kbd(struct vgpu_host *h, uint16_t domid, bool connect, uint64_t *gfn,
                            void *ev, unsigned max, unsigned *n, char *err, size_t errlen);
/* Sim only: where the guest's framebuffer (or cursor) of @pipe is: its
 * graphics and guest-physical address. -ENOENT before the first show. */
int vgpu_host_sim_guest_fb(struct vgpu_host *h, uint16_t domid, unsigned pipe, bool cursor,
                           uint64_t *gm, uint64_t *gpa);

/* Where @domid's aperture slice is mapped: guest frames [gfn, gfn+nr) on
 * host frames [mfn, mfn+nr) (host BAR2 + the slice; on the simulated
 * platform frames of the model's aperture, recorded only). nr 0: not
 * mapped (BAR2 unplaced or memory decoding off). -ENOENT without a vGPU. */
struct vgpu_aperture_map {
    uint64_t gfn, mfn, nr;
};
int vgpu_host_aperture(struct vgpu_host *h, uint16_t domid, struct vgpu_aperture_map *m);

struct vgt_gpu *vgpu_host_gpu(struct vgpu_host *h);
struct sim_guest *vgpu_host_sim_guest(struct vgpu_host *h, uint16_t domid);
struct vgt_vgpu *vgpu_host_vgpu(struct vgpu_host *h, uint16_t domid);
struct vgt_hostgpu *vgpu_host_hostgpu(struct vgpu_host *h);
/* The simulated GPU (struct sim_gpu *), NULL on Xen. */
void *vgpu_host_sim_gpu(struct vgpu_host *h);

/* Parse "BB:DD.F" (bus:device.function, hex) into an SBDF (segment 0). */
int vgpu_parse_bdf(const char *s, uint32_t *sbdf);

#endif

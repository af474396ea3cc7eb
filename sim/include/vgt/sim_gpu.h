/* The simulated Intel Gen9 GPU (Skylake GT2, PCI 8086:1912).
 *
 * Users drive it only through the host GPU seam (sim_gpu_hostgpu(): MMIO,
 * GGTT entries, device-reachable pages, the interrupt callback), exactly as
 * they would a real device; the rest of this header is for setting the
 * model up and for tests and benchmarks to observe it.
 *
 * The model: BAR0 registers (first 2 MiB) and GGTT (+8 MiB, 8-byte gen8
 * PTEs, 4 GiB of graphics memory); RCS, BCS, VCS and VECS command
 * streamers, each on its own thread, with execlist submission (ELSP,
 * CSB, LRC context images); GGTT and 48-bit 4-level PPGTT translation
 * into the host arena, faults instead of host crashes; the GT interrupt
 * registers; pipe A plane 1. See docs/gpu-model.md for what is and is
 * not modelled. */
#ifndef VGT_SIM_GPU_H
#define VGT_SIM_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/log.h"
#include "vgt/sim_arena.h"

struct sim_gpu;

struct sim_gpu_config {
    uint64_t aperture_size;      /* BAR2, default 512 MiB (0 = default) */
    /* Graphics memory the GGTT covers, MiB multiple up to the default
     * 4 GiB (0 = default). Smaller only for harnesses that reset vGPUs
     * often: every GGTT-sized table shrinks with it. */
    uint64_t gm_size;
    /* Cost model: simulated GPU time per byte a command moves (fills,
     * copies, stores). 0: commands cost what their work costs on the CPU. */
    double ns_per_byte;
    /* Cost model: simulated GPU time per command executed (0: none). Every
     * MI_BATCH_BUFFER_START costs at least SIM_GPU_BB_START_NS besides, so
     * a batch that loops on itself sleeps instead of spinning a core. */
    double ns_per_cmd;
    /* A context that runs this many commands without completing is
     * declared hung and faulted (0 = default 1 << 26), so a looping batch
     * cannot take the engine thread for ever. SIM_GPU_NO_LIMIT: never, as
     * on hardware (a watchdog must preempt or reset the engine). */
    uint64_t cmd_budget;
    /* MI_SEMAPHORE_WAIT gives up (hang fault) after this long
     * (0 = default 2000 ms; SIM_GPU_NO_LIMIT: waits for ever, as on
     * hardware). */
    unsigned semaphore_timeout_ms;
};

#define SIM_GPU_NO_LIMIT (~0u)
/* Engine time of one MI_BATCH_BUFFER_START (a fetch from memory). */
#define SIM_GPU_BB_START_NS 1000.0

/* Per-engine counters, for tests and benchmarks. */
struct sim_gpu_engine_stats {
    uint64_t commands;      /* commands executed (skipped ones included) */
    uint64_t bytes;         /* bytes written to memory by commands */
    uint64_t contexts_done; /* context elements completed */
    uint64_t faults;        /* contexts stopped by a GPU fault */
    uint64_t preemptions;   /* contexts preempted by a new ELSP write */
    uint64_t resets;        /* engine resets (GEN6_GDRST) */
};

/* Create the GPU on @arena (shared with the hypervisor). @cfg may be NULL.
 * Engine threads are started; the GPU is in its reset state (execlists
 * off, interrupts masked). @log must outlive the GPU. */
int sim_gpu_create(struct sim_arena *arena, const struct sim_gpu_config *cfg,
                   struct vgt_log *log, struct sim_gpu **out);
/* Back to the state sim_gpu_create left it in: registers, GGTT, execlist
 * and CSB state, counters; pages handed out through the seam and not freed
 * go back to the arena. For harnesses that run many independent inputs on
 * one GPU without new threads. Every engine must be idle and no interrupt
 * handler installed (the driver is gone): -EBUSY otherwise. */
int sim_gpu_reset(struct sim_gpu *g);
/* Stops the engine threads and frees everything. */
void sim_gpu_destroy(struct sim_gpu *g);

/* The host GPU seam of this GPU (valid until sim_gpu_destroy). */
struct vgt_hostgpu *sim_gpu_hostgpu(struct sim_gpu *g);
/* The GPU behind a seam obtained from sim_gpu_hostgpu, or NULL. */
struct sim_gpu *sim_gpu_from_hostgpu(struct vgt_hostgpu *hg);

void sim_gpu_engine_stats(struct sim_gpu *g, unsigned engine, struct sim_gpu_engine_stats *st);

/* Cost model at run time (see sim_gpu_config.ns_per_byte). */
void sim_gpu_set_ns_per_byte(struct sim_gpu *g, double ns_per_byte);

/* Translate a graphics address through the GGTT as the GPU would: 0 and
 * the host-physical address, or -EFAULT. */
int sim_gpu_ggtt_translate(struct sim_gpu *g, uint64_t gm_addr, uint64_t *hpa);

/* Display: read the framebuffer pipe A plane 1 scans out (PLANE_SURF,
 * PLANE_STRIDE, PLANE_SIZE, XRGB8888 linear) through the GGTT, row by row
 * into @dst (@dst_pitch bytes per row, at most @max_w x @max_h pixels).
 * *w and *h get the plane size. -ENODEV when the plane is off, -EINVAL for
 * a format the model does not scan out, -EFAULT for an unmapped page. */
int sim_gpu_plane_read(struct sim_gpu *g, void *dst, size_t dst_pitch, unsigned max_w,
                       unsigned max_h, unsigned *w, unsigned *h);

#endif

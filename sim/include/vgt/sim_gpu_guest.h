/* A guest GPU driver for the simulated platform: what an i915 guest does
 * with its vGPU, reduced to what the workloads need.
 *
 * It reaches the device only as guest code would (sim_guest_* of
 * vgt/sim_hv.h): PCI config through 0xCF8/0xCFC, BAR0 MMIO (registers,
 * PVINFO, the GGTT window), its own RAM, and MSIs. It probes and checks
 * PVINFO, maps its buffers in the GGTT inside its own ranges, builds a
 * 4-level PPGTT in its RAM (announced with g2v L4 create), creates
 * execlist contexts (image, ring, status page in its GGTT), submits through
 * ELSP and waits for completion on its HWSP copy of the CSB, acking
 * interrupts through IIR.
 *
 * One driver per guest, used by one vCPU thread at a time. */
#ifndef VGT_SIM_GPU_GUEST_H
#define VGT_SIM_GPU_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/sim_hv.h"

struct gg;
struct gg_ctx;

struct gg_bo {
    uint64_t gpa;   /* guest-physical, contiguous in guest RAM */
    uint64_t gm;    /* GGTT address (0: not in the GGTT) */
    uint64_t va;    /* PPGTT address (0: not in the PPGTT) */
    size_t size;
};

struct gg_cfg {
    struct sim_guest *g;
    unsigned vcpu;
    uint8_t dev;            /* PCI device number on bus 0 (function 0) */
    uint64_t bar0_gpa;      /* where to place BAR0 (16 MiB aligned, in the MMIO hole) */
    uint64_t ram_base;      /* guest RAM the driver may use: [ram_base, +ram_size) */
    uint64_t ram_size;
    uint32_t msi_data;      /* vector the driver expects */
    /* The guest's OS already placed the BARs at bar0_gpa and owns the
     * interrupt setup (a program in a real guest, tests/xen/xen_gpu.c):
     * program neither the BARs nor MSI; completions are polled. */
    bool bars_placed;
};

/* Probe: -ENODEV when no vGPU answers, -EPROTO when PVINFO is wrong. */
int gg_probe(const struct gg_cfg *cfg, struct gg **out);
void gg_destroy(struct gg *d);
/* Announce the PPGTT's release (g2v L4 destroy, in i915's order). */
int gg_ppgtt_release(struct gg *d);

/* A buffer of @size bytes in guest RAM, mapped in the GGTT (@ggtt, in the
 * high range when @high) and/or the PPGTT (@ppgtt). */
int gg_bo_create(struct gg *d, size_t size, bool ggtt, bool high, bool ppgtt, struct gg_bo *out);
int gg_bo_write(struct gg *d, const struct gg_bo *bo, size_t off, const void *src, size_t len);
/* Write @pte, raw, as the PPGTT leaf entry of @va (tables allocated on
 * the way down): for tests of entries the vGPU must refuse. */
int gg_ppgtt_set_pte(struct gg *d, uint64_t va, uint64_t pte);
int gg_bo_read(struct gg *d, const struct gg_bo *bo, size_t off, void *dst, size_t len);

/* An execlist context on @engine (VGT_ENGINE_RCS/BCS) with a 4-page ring. */
int gg_ctx_create(struct gg *d, unsigned engine, struct gg_ctx **out);
uint64_t gg_ctx_desc(const struct gg_ctx *c);
/* Append @ndw dwords to the ring and submit the context through ELSP. */
int gg_submit(struct gg *d, struct gg_ctx *c, const uint32_t *cmds, size_t ndw);
/* Both contexts (one engine, not the same) in one ELSP write, element 0
 * then 1, each with its own ring commands: as sim_native_submit2. */
int gg_submit2(struct gg *d, struct gg_ctx *c0, const uint32_t *cmds0, size_t ndw0, struct gg_ctx *c1,
               const uint32_t *cmds1, size_t ndw1);
/* Raw ELSP write of two descriptors (element 1 may be 0): for tests. */
int gg_elsp(struct gg *d, unsigned engine, uint64_t desc0, uint64_t desc1);
/* Wait until every submission of @c completed: 0, -ETIMEDOUT, or -EIO
 * when the vGPU stopped answering (failsafe: no more completions). */
int gg_wait(struct gg *d, struct gg_ctx *c, unsigned timeout_ms);
/* Context image register-state dword @idx (ring registers live there). */
int gg_ctx_reg(struct gg *d, struct gg_ctx *c, unsigned idx, uint32_t *val, bool write);
struct gg_bo gg_ctx_ring(const struct gg_ctx *c);
/* The context image (2 pages: the per-process HWSP, the register state). */
struct gg_bo gg_ctx_img(const struct gg_ctx *c);

/* MMIO of the vGPU (BAR0 offset). */
int gg_mmio_read32(struct gg *d, uint32_t off, uint32_t *val);
int gg_mmio_write32(struct gg *d, uint32_t off, uint32_t val);

/* What PVINFO said. */
void gg_ranges(const struct gg *d, uint64_t *low_base, uint64_t *low_size, uint64_t *high_base,
               uint64_t *high_size);

struct gg_stats {
    uint64_t submissions, completions, interrupts;
};
void gg_get_stats(const struct gg *d, struct gg_stats *st);

/* Display interrupts the handler acknowledged (pipes A..C), and the GT
 * ones per engine (VGT_ENGINE_* order): user interrupts and context
 * switches, from the bank and shift the engine's bits live in. */
struct gg_irq_counts {
    uint64_t vblank[3], flip_done[3];
    uint64_t aux, hotplug;
    uint64_t user[4], ctx_switch[4];
};
void gg_irq_counts(const struct gg *d, struct gg_irq_counts *c);
/* Wait up to @wait_ms for an MSI (0: do not wait), then run the interrupt
 * handler, which reads the IIRs whether or not an MSI came. */
void gg_irq_poll(struct gg *d, int wait_ms);

/* --- the workloads, as the native driver runs them ---------------------- */

enum gg_workload { GG_WL_BLIT, GG_WL_STORE, GG_WL_MIXED };

struct gg_run {
    struct gg *d;
    enum gg_workload wl;
    uint32_t blit_w, blit_h;
    uint32_t seed;
    struct gg_ctx *rcs, *bcs;
    struct gg_bo src, dst, bbatch, sbatch, result;
    uint8_t *staging;
    uint32_t seq;
    /* results */
    uint64_t blits, stores, failures, blit_bytes;
    char first_failure[128];
};

int gg_run_init(struct gg_run *r, struct gg *d, enum gg_workload wl, uint32_t blit_w, uint32_t blit_h,
                uint32_t seed);
/* One iteration (mixed: a blit on BCS and a store on RCS in flight at
 * once), results checked. 0, or a negative errno when a submission could
 * not complete (the vGPU is in failsafe or gone); wrong results are
 * counted in r->failures. */
int gg_run_step(struct gg_run *r, unsigned timeout_ms);
void gg_run_fini(struct gg_run *r);

#endif

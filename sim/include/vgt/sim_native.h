/* The native (unmediated) host driver for the Gen9 GPU, and the native
 * workloads: the "native" side of every mediated-vs-native figure.
 *
 * It uses only the host GPU seam (struct vgt_hostgpu): MMIO, GGTT entries,
 * device-reachable pages and the interrupt callback, the same interface the
 * mediator drives. It programs the GGTT, builds a 4-level PPGTT, creates
 * LRC contexts with rings, submits through ELSP and waits for completion
 * through the CSB and interrupts. */
#ifndef VGT_SIM_NATIVE_H
#define VGT_SIM_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/log.h"

struct sim_native;
struct sim_native_ctx;

/* A buffer: pages mapped at gm (GGTT) and at va (the driver's PPGTT). */
struct sim_native_bo {
    uint64_t gm;       /* GGTT address */
    uint64_t va;       /* PPGTT address */
    size_t size;       /* bytes, a multiple of 4 KiB */
    size_t npages;
    uint64_t *dma;     /* per page */
    uint8_t **cpu;     /* per page, CPU view */
};

struct sim_native_config {
    /* The GGTT window the driver owns: [ggtt_base, ggtt_base + ggtt_size).
     * 0/0: the first 512 MiB. */
    uint64_t ggtt_base, ggtt_size;
};

int sim_native_create(struct vgt_hostgpu *hg, struct vgt_log *log,
                      const struct sim_native_config *cfg, struct sim_native **out);
void sim_native_destroy(struct sim_native *n);

int sim_native_bo_create(struct sim_native *n, size_t size, struct sim_native_bo **out);
void sim_native_bo_destroy(struct sim_native *n, struct sim_native_bo *bo);
/* CPU copies in and out of a buffer; -EINVAL past its end. */
int sim_native_bo_write(struct sim_native_bo *bo, size_t off, const void *src, size_t len);
int sim_native_bo_read(struct sim_native_bo *bo, size_t off, void *dst, size_t len);

/* A context on @engine (VGT_ENGINE_RCS/BCS/VCS/VECS) with a ring of
 * @ring_pages pages, sharing the driver's PPGTT. */
int sim_native_ctx_create(struct sim_native *n, unsigned engine, unsigned ring_pages,
                          struct sim_native_ctx **out);
void sim_native_ctx_destroy(struct sim_native *n, struct sim_native_ctx *c);
uint64_t sim_native_ctx_lrca(const struct sim_native_ctx *c);
/* The execlist descriptor (context ID in the upper dword). */
uint64_t sim_native_ctx_desc(const struct sim_native_ctx *c);
/* Append to the ring and publish the tail, without submitting (for
 * callers that write ELSP themselves). */
int sim_native_ring_append(struct sim_native *n, struct sim_native_ctx *c, const uint32_t *cmds,
                           size_t ndw);

/* Map @va to @dma in the driver's PPGTT with a page of @page_size (4 KiB,
 * 64 KiB or 2 MiB; @va and @dma aligned to it). A 64 KiB page turns its
 * page table into a 64 KiB table (i915's layout); a 2 MiB page replaces a
 * page directory entry. For tests of the GPU's translation. */
int sim_native_ppgtt_map(struct sim_native *n, uint64_t va, uint64_t dma, uint64_t page_size);
/* Write a raw entry at @level (enum gen8_level) on the walk of @va,
 * allocating the tables above it; for tests of bad entries. */
int sim_native_ppgtt_set_entry(struct sim_native *n, uint64_t va, int level, uint64_t entry);

/* Copy @ndw dwords into the context's ring and submit it through ELSP.
 * One submission per engine may be in flight (wait before the next). */
int sim_native_submit(struct sim_native *n, struct sim_native_ctx *c, const uint32_t *cmds,
                      size_t ndw);
/* Submit two contexts of one engine in one ELSP write (element 0 then 1),
 * each with its own ring commands. */
int sim_native_submit2(struct sim_native *n, struct sim_native_ctx *c0, const uint32_t *cmds0,
                       size_t ndw0, struct sim_native_ctx *c1, const uint32_t *cmds1,
                       size_t ndw1);
/* Wait until @c's submission completes (its CSB COMPLETE event). 0,
 * -EIO when the context completed with an error (GPU fault), -ETIMEDOUT
 * (with @timeout_ms 0: not complete yet). */
int sim_native_wait(struct sim_native *n, struct sim_native_ctx *c, unsigned timeout_ms);
/* Number of interrupts of each kind seen (VGT_GPU_EV_* bit index). */
void sim_native_irq_counts(struct sim_native *n, uint64_t counts[3]);

/* --- workloads ---------------------------------------------------------- */

enum sim_native_workload { SIM_WL_BLIT, SIM_WL_STORE, SIM_WL_MIXED };

struct sim_native_run_cfg {
    enum sim_native_workload workload;
    double seconds;        /* run at least one iteration, then until this long */
    uint64_t max_iters;    /* 0: no limit */
    uint32_t blit_w, blit_h; /* blit rectangle in pixels (default 1024 x 1024) */
};

struct sim_native_result {
    uint64_t blits;        /* fill + copy pairs completed and verified */
    uint64_t blit_bytes;   /* bytes written by the blitter */
    uint64_t submissions;  /* ELSP submissions completed */
    uint64_t stores;       /* store-dword batches completed and verified */
    uint64_t failures;     /* verification failures (0 on success) */
    double elapsed_s;      /* wall time, CPU checks included */
    double gpu_s;          /* time from submission to completion only */
};

/* Run a workload; results verified on the CPU. 0, or a negative errno
 * when the run could not be set up or a submission failed; verification
 * failures are counted in res->failures. */
int sim_native_run(struct sim_native *n, const struct sim_native_run_cfg *cfg,
                   struct sim_native_result *res);

#endif

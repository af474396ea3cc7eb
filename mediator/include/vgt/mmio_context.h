/* The engine registers the mediator switches between vGPUs.
 *
 * A guest's commands may change the registers the command audit's
 * LRI/LRR/LRM whitelist allows (vgt/cmd_audit.h). Those a Gen9 logical
 * ring context image holds (CS GPRs, PDPs, RING_CTX_TIMESTAMP, BCS_SWCTRL:
 * i915 gt/intel_lrc.c gen9_rcs_offsets / gen9_xcs_offsets) travel with the
 * context: the GPU saves and restores them on every context switch, and a
 * shadow context starts from their reset values. Every other one is in
 * the switch list here (Linux gvt mmio_context.c is the model): before an
 * engine runs a workload of a different vGPU than the last one, the
 * mediator writes the host's values of that engine's registers back, so a
 * guest never observes another guest's values.
 *
 * The list is const data, checked against the whitelist by
 * tests/mediator/test_mmio_context.c register by register. */
#ifndef VGT_MMIO_CONTEXT_H
#define VGT_MMIO_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/hostgpu.h"

struct vgt_mmio_ctx_reg {
    uint32_t off;     /* absolute MMIO offset */
    uint32_t len;     /* bytes, multiple of 4 */
    unsigned engine;  /* VGT_ENGINE_* whose workloads may change it */
    const char *name;
    /* Masked (bits 31:16 select the bits 15:0 written, i915
     * _MASKED_FIELD): restored as 0xffff0000 | the host's value. */
    bool masked;
};

/* The switch list (*n rows). */
const struct vgt_mmio_ctx_reg *vgt_mmio_context_list(size_t *n);
/* True when @reg is one the context image of @engine holds, or one the
 * GPU never lets a command write (RING_TIMESTAMP): no switch needed. */
bool vgt_mmio_context_in_image(unsigned engine, uint32_t reg);

#define VGT_MMIO_CTX_MAX_DWORDS 128

/* The host's values of the switch list and, per engine, the vGPU whose
 * workload ran last (NULL: the host's values are in place). */
struct vgt_mmio_ctx {
    uint32_t host[VGT_MMIO_CTX_MAX_DWORDS];
    const void *owner[VGT_ENGINE_NUM];
};

/* Read the host's values (at bring-up, before any guest work ran). */
void vgt_mmio_context_init(struct vgt_mmio_ctx *mc, struct vgt_hostgpu *hw);
/* @next's workload is about to run on idle @engine: when the last one was
 * another vGPU's, write the host's values of the engine's registers.
 * Returns how many registers were written. */
unsigned vgt_mmio_context_switch(struct vgt_mmio_ctx *mc, struct vgt_hostgpu *hw,
                                 unsigned engine, const void *next);
/* The engine was reset or its owner went away: restore at the next
 * workload, whoever it belongs to. */
void vgt_mmio_context_forget(struct vgt_mmio_ctx *mc, unsigned engine);

#endif

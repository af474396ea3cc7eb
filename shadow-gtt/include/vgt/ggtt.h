/* The global GTT shadow of ONE vGPU.
 *
 * The guest writes GGTT entries into its BAR0 window at +8 MiB (8 bytes per
 * entry, entry i maps graphics address i * 4 KiB; Linux i915
 * gt/intel_ggtt.c gen8_ggtt_pte_encode, GEN8_PAGE_PRESENT bit 0). The
 * mediator traps those writes and hands them here:
 *
 * - the guest's own value is kept in a virtual table; reads return it;
 * - an entry inside the vGPU's graphics-memory ranges (low = mappable,
 *   high = non-mappable; guest and host graphics addresses are equal there
 *   because the guest balloons everything else) is translated: its gfn goes
 *   through the hv seam to a host DMA address, and the physical GGTT entry
 *   is written;
 * - an entry outside the ranges never reaches the physical GGTT; an entry
 *   whose gfn is outside guest RAM, or with reserved bits set, makes the
 *   physical entry point at the vGPU's own scratch page (one per vGPU, so
 *   what the GPU stores there no other guest can read). Both are counted
 *   as refusals;
 * - a 4-byte half is held (physical entry unchanged) until the other half
 *   of the same entry arrives;
 * - in failsafe only the virtual table changes;
 * - reset/destroy point every entry of the ranges back at scratch.
 *
 * Not thread-safe: the owner (one vGPU, one ioreq loop) serialises calls. */
#ifndef VGT_GGTT_H
#define VGT_GGTT_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/log.h"

#define VGT_GGTT_WINDOW_OFFSET 0x800000ull /* BAR0 + 8 MiB (i915 gen8_gmch_probe) */
#define VGT_GGTT_WINDOW_SIZE 0x800000ull   /* up to 1M entries = 4 GiB of GM */

struct vgt_ggtt_cfg {
    struct vgt_hostgpu *gpu;
    struct vgt_hv *hv;
    const struct vgt_log *log;
    /* Graphics-memory byte ranges of this vGPU (4 KiB aligned). */
    uint64_t low_base, low_size;   /* mappable (aperture) */
    uint64_t high_base, high_size; /* non-mappable */
};

struct vgt_ggtt_stats {
    uint64_t accepted;     /* entries written to the physical GGTT */
    uint64_t refused;      /* out of range, bad gfn or reserved bits */
    uint64_t partial_held; /* 4-byte halves held for their partner */
    uint64_t failsafe;     /* writes kept virtual because of failsafe */
    uint64_t revalidated;  /* entries changed by revalidation */
};

struct vgt_ggtt;

/* -EINVAL for ranges that are unaligned or outside the host GGTT. The
 * physical entries of the ranges are pointed at scratch. */
int vgt_ggtt_create(const struct vgt_ggtt_cfg *cfg, struct vgt_ggtt **out);
/* Points the ranges back at scratch, then frees. NULL is fine. */
void vgt_ggtt_destroy(struct vgt_ggtt *g);

/* A guest access to the GGTT window: @off is the offset inside the window
 * (BAR0 offset - 8 MiB), @size 4 or 8, naturally aligned. Returns 0 when
 * the access was handled (including a counted refusal), -EINVAL for an
 * access the window does not allow (odd size, unaligned, past the end):
 * nothing changes then and reads get all ones. */
int vgt_ggtt_guest_write(struct vgt_ggtt *g, uint64_t off, unsigned size, uint64_t val);
int vgt_ggtt_guest_read(struct vgt_ggtt *g, uint64_t off, unsigned size, uint64_t *val);

/* Every physical entry of the ranges to scratch, virtual table cleared,
 * held halves dropped (device-model reset). */
void vgt_ggtt_reset(struct vgt_ggtt *g);
/* In failsafe writes change only the virtual table. */
void vgt_ggtt_set_failsafe(struct vgt_ggtt *g, bool on);

/* Host-side lookup of graphics address @gm (for the submission path,
 * which copies guest commands): the guest-physical address of that byte
 * as the committed entry maps it. -EFAULT when the entry is outside the
 * vGPU's ranges, not present, refused (reserved bits) or half written. */
int vgt_ggtt_lookup(const struct vgt_ggtt *g, uint64_t gm, uint64_t *gpa);
/* This vGPU's scratch page (host DMA address). */
uint64_t vgt_ggtt_scratch_dma(const struct vgt_ggtt *g);

/* Is [gm, gm+len) inside one of the vGPU's ranges? */
bool vgt_ggtt_gm_valid(const struct vgt_ggtt *g, uint64_t gm, uint64_t len);
uint64_t vgt_ggtt_nr_entries(const struct vgt_ggtt *g);
void vgt_ggtt_get_stats(const struct vgt_ggtt *g, struct vgt_ggtt_stats *st);
/* The guest's p2m changed (IOREQ_TYPE_INVALIDATE): every present entry is
 * translated again from the guest's value; a gfn that is gone becomes
 * scratch (counted as refused). Returns how many entries changed. */
uint64_t vgt_ggtt_revalidate(struct vgt_ggtt *g);

#endif

/* The global GTT shadow of ONE vGPU.
 *
 * The guest writes GGTT entries into its BAR0 window at +8 MiB (8 bytes per
 * entry, entry i maps graphics address i * 4 KiB; Linux i915
 * gt/intel_ggtt.c gen8_ggtt_pte_encode, GEN8_PAGE_PRESENT bit 0). The
 * mediator traps those writes and hands them here:
 *
 * - the vGPU's private table holds, for its own ranges only, the guest's
 *   value and the translated host entry (reads return the guest's value;
 *   outside the ranges a write is refused and not kept, a read gives 0);
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
 * - in failsafe only the guest's values change;
 * - reset/destroy point every entry of the ranges back at scratch.
 *
 * Sharing (docs/shadow-gtt.md): vGPUs of one GPU may be placed on ranges
 * that overlap. The physical GGTT then holds, per entry, the value of the
 * vGPU that owns it now (struct vgt_ggtt_phys, one per GPU, records owner
 * and value). A write reaches the physical GGTT only where the vGPU owns
 * the entry; vgt_ggtt_make_resident claims all of a vGPU's entries (and
 * fences), writing only those whose physical value differs. The caller
 * (dispatch) guarantees that no vGPU whose ranges overlap is on an engine
 * then. Unmapped entries of vGPUs starting at the same range share one
 * scratch page, cleared whenever another of them becomes resident, so the
 * differential switch skips them and nothing leaks through it.
 *
 * One vGPU's calls are serialised by its owner; the physical record has
 * its own lock, so vGPUs sharing it may call from different threads. */
#ifndef VGT_GGTT_H
#define VGT_GGTT_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/log.h"

#define VGT_GGTT_WINDOW_OFFSET 0x800000ull /* BAR0 + 8 MiB (i915 gen8_gmch_probe) */
#define VGT_GGTT_WINDOW_SIZE 0x800000ull   /* up to 1M entries = 4 GiB of GM */

struct vgt_ggtt_phys;

/* Loads one host fence register pair (the caller knows the registers). */
typedef void (*vgt_ggtt_fence_fn)(void *opaque, unsigned host_fence, uint32_t lo, uint32_t hi);

struct vgt_ggtt_cfg {
    struct vgt_hostgpu *gpu;
    /* The GPU's physical record, shared by its vGPUs; NULL: a private one
     * (this vGPU shares with nobody and is resident from the start). */
    struct vgt_ggtt_phys *phys;
    struct vgt_hv *hv;
    const struct vgt_log *log;
    /* Graphics-memory byte ranges of this vGPU (4 KiB aligned). */
    uint64_t low_base, low_size;   /* mappable (aperture) */
    uint64_t high_base, high_size; /* non-mappable */
    /* Host fences [fence_base, +fences): switched with the entries. */
    unsigned fence_base, fences;
    vgt_ggtt_fence_fn fence_load; /* NULL: fences are not tracked */
    void *fence_opaque;
};

struct vgt_ggtt_stats {
    uint64_t accepted;     /* entries written to the physical GGTT */
    uint64_t refused;      /* out of range, bad gfn or reserved bits */
    uint64_t partial_held; /* 4-byte halves held for their partner */
    uint64_t failsafe;     /* writes kept virtual because of failsafe */
    uint64_t revalidated;  /* entries changed by revalidation */
    uint64_t switches_in;  /* times it was made resident over another vGPU */
    uint64_t switch_written; /* physical entries written by those switches */
    uint64_t switch_skipped; /* entries a switch found already right */
    uint64_t switch_ns;    /* time spent in those switches */
};

/* The physical GGTT's record: per host entry its owner and value, per host
 * fence its owner. The scratch pages of sharing vGPUs live here. */
int vgt_ggtt_phys_create(struct vgt_hostgpu *gpu, struct vgt_ggtt_phys **out);
/* Every vGPU using it is destroyed first. NULL is fine. */
void vgt_ggtt_phys_destroy(struct vgt_ggtt_phys *p);

/* What one vgt_ggtt_make_resident did. */
struct vgt_ggtt_switch {
    bool switched;    /* it was not resident before */
    uint64_t written; /* physical entries written */
    uint64_t skipped; /* entries already holding its value */
    uint64_t ns;
};
/* Write every entry, not only the differing ones (the benchmark's
 * baseline). */
#define VGT_GGTT_SWITCH_FULL 1u

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

/* Do @a and @b share any graphics-memory entry or host fence? */
bool vgt_ggtt_conflicts(const struct vgt_ggtt *a, const struct vgt_ggtt *b);
/* Does the physical GGTT hold all of this vGPU's entries and fences? */
bool vgt_ggtt_is_resident(struct vgt_ggtt *g);
/* Claim every entry and fence of this vGPU in the physical GGTT, writing
 * only what differs (@flags VGT_GGTT_SWITCH_FULL: everything). The caller
 * guarantees no vGPU that conflicts with it has work on an engine. @sw
 * may be NULL. */
int vgt_ggtt_make_resident(struct vgt_ggtt *g, unsigned flags, struct vgt_ggtt_switch *sw);
/* The host values of guest fence @i (already validated by the caller):
 * kept, and loaded now if this vGPU owns that host fence. */
int vgt_ggtt_set_fence(struct vgt_ggtt *g, unsigned i, uint32_t lo, uint32_t hi);
/* Bytes of memory this vGPU's private table takes (for the accounting). */
uint64_t vgt_ggtt_mem_bytes(const struct vgt_ggtt *g);

/* Is [gm, gm+len) inside one of the vGPU's ranges? */
bool vgt_ggtt_gm_valid(const struct vgt_ggtt *g, uint64_t gm, uint64_t len);
uint64_t vgt_ggtt_nr_entries(const struct vgt_ggtt *g);
void vgt_ggtt_get_stats(const struct vgt_ggtt *g, struct vgt_ggtt_stats *st);
/* The guest's p2m changed (IOREQ_TYPE_INVALIDATE): every present entry is
 * translated again from the guest's value; a gfn that is gone becomes
 * scratch (counted as refused). Returns how many entries changed. */
uint64_t vgt_ggtt_revalidate(struct vgt_ggtt *g);

#endif

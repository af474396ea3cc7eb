/* PPGTT shadowing: per-process GPU page tables of one vGPU.
 *
 * A guest builds 4-level gen8 PPGTTs in its own RAM; they hold
 * guest-physical addresses, so the GPU is given a shadow instead: host
 * pages holding host DMA addresses, built on demand from the guest PML4
 * and kept in sync by write-protecting every guest page-table page through
 * the hv seam (HVMMEM_ioreq_server semantics: trapped writes are applied
 * here). Design, invariants and tunables: docs/shadow-gtt.md.
 *
 * One manager per vGPU. Thread-safe: one internal lock serialises the
 * write-protect handler (ioreq thread) and the submission path's calls.
 * Nothing in here calls back into the caller, so the caller may hold its
 * own locks around these calls. Every function returns 0 or a negative
 * errno. A "pml4" is the guest-physical address of
 * a 4 KiB aligned guest PML4 page, as found in PVINFO pdp[0] (g2v L4
 * create/destroy) or in a context's PDP0 register. */
#ifndef VGT_PPGTT_H
#define VGT_PPGTT_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/log.h"

struct vgt_ppgtt;

struct vgt_ppgtt_config {
    bool oos;               /* out-of-sync pages (gHyvi) on/off */
    unsigned oos_threshold; /* trapped writes before a PT page goes OOS (default 2) */
    unsigned oos_pool;      /* at most this many pages out of sync (default 64) */
    /* An out-of-sync page whose resyncs found no change this many times in
     * a row is protected again (default 4 from config_default; 0 never). */
    unsigned oos_cold;
    /* Shadow memory budget (bytes). Above it the LRU reclaims unpinned
     * shadows at pin/unpin/g2v time; allocation fails beyond twice the
     * budget. 0 means the default (64 MiB). */
    uint64_t budget_bytes;
    unsigned max_roots;     /* distinct PML4s tracked (default 256) */
    /* true: do not install the wp handler; the caller forwards trapped
     * writes with vgt_ppgtt_wp_write (e.g. when it chains handlers). */
    bool no_wp_handler;
    struct vgt_log *log;    /* may be NULL */
};

struct vgt_ppgtt_stats {
    uint64_t traps;            /* trapped guest writes handled */
    uint64_t traps_partial;    /* of which smaller than one entry */
    uint64_t entries_shadowed; /* shadow entries computed (build + sync) */
    uint64_t scratch_entries;  /* entries refused and pointed at scratch */
    uint64_t rejected_1g;      /* 1 GiB entries refused */
    uint64_t huge_2m_kept;     /* 2 MiB entries shadowed as 2 MiB */
    uint64_t huge_2m_split;    /* 2 MiB entries split into 4 KiB */
    uint64_t oos_enter;        /* pages that went out of sync */
    uint64_t oos_evict;        /* forced back in sync (pool full/retype) */
    uint64_t oos_cold;         /* back in sync because not written any more */
    uint64_t oos_syncs;        /* page resyncs */
    uint64_t oos_sync_entries; /* entries found changed by a resync */
    uint64_t oos_sync_ns;      /* CPU time spent resyncing (sync + evictions) */
    uint64_t half_reconciled;  /* half-written entries fixed at sync */
    uint64_t reclaims;         /* root shadows reclaimed by the LRU */
    uint64_t alloc_failures;
    /* Root builds refused at once: the same PML4 was refused by the
     * budget before and nothing it depends on changed since. */
    uint64_t refusals_cached;
    /* Current state. */
    uint64_t shadow_pages;     /* host pages holding shadow entries */
    uint64_t guest_pt_pages;   /* guest pages tracked as page tables */
    uint64_t oos_pages;        /* currently out of sync */
    uint64_t wp_pages;         /* currently write-protected */
    uint64_t shadow_bytes;     /* shadow pages + metadata */
    uint64_t roots;
};

void vgt_ppgtt_config_default(struct vgt_ppgtt_config *cfg);

int vgt_ppgtt_create(struct vgt_hv *hv, struct vgt_hostgpu *gpu,
                     const struct vgt_ppgtt_config *cfg, struct vgt_ppgtt **out);
void vgt_ppgtt_destroy(struct vgt_ppgtt *p);

/* Get (building on demand) and pin the shadow of the PPGTT rooted at
 * @pml4; *root_dma is what goes into the shadow context's PDP0. A pinned
 * shadow is never reclaimed. -EINVAL misaligned, -EFAULT outside guest
 * RAM, -ENOSPC too many roots, -ENOMEM out of shadow memory. */
int vgt_ppgtt_pin(struct vgt_ppgtt *p, uint64_t pml4, uint64_t *root_dma);
int vgt_ppgtt_unpin(struct vgt_ppgtt *p, uint64_t pml4);

/* Before a submission that uses @pml4: reconcile half-written entries and
 * resync out-of-sync pages, so the shadow equals the guest's tables.
 * -ENOENT if @pml4 has no shadow (pin it first). */
int vgt_ppgtt_sync(struct vgt_ppgtt *p, uint64_t pml4);

/* g2v notifications (PVINFO g2v_notify 4/5, L4 PPGTT create/destroy with
 * the PML4 address from pdp[0]). Create builds the shadow now; destroy
 * drops it (at the last unpin if it is still pinned). */
int vgt_ppgtt_g2v_create(struct vgt_ppgtt *p, uint64_t pml4);
int vgt_ppgtt_g2v_destroy(struct vgt_ppgtt *p, uint64_t pml4);

/* The guest's p2m changed (Xen: an IOREQ_TYPE_INVALIDATE): recompute
 * every shadow entry from the guest's tables and the current gfn_to_dma,
 * so no entry keeps a frame that is no longer the guest's. Roots and pins
 * stay; root DMA addresses do not change. */
int vgt_ppgtt_revalidate(struct vgt_ppgtt *p);

/* vGPU reset: drop every shadow and pin, unprotect every page. */
void vgt_ppgtt_reset(struct vgt_ppgtt *p);

/* The write-protect handler (a vgt_hv_wp_fn; opaque is the manager). */
int vgt_ppgtt_wp_write(void *opaque, uint64_t gpa, unsigned size, uint64_t val);

void vgt_ppgtt_get_stats(struct vgt_ppgtt *p, struct vgt_ppgtt_stats *st);

/* The zeroed host page that refused table pointers point at (a walk
 * through it ends "not present"). */
uint64_t vgt_ppgtt_scratch_table(const struct vgt_ppgtt *p);
/* The page refused leaves point at, read-only: this vGPU's own, never
 * the host's shared scratch page. */
uint64_t vgt_ppgtt_scratch_leaf(const struct vgt_ppgtt *p);

#endif

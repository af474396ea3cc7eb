/* A bounded cache of guest frames mapped into this process (on Xen with
 * xenforeignmemory_map), for the xen backend's hv seam: guest-memory
 * copies, and gfn_to_dma, which must hand the host GPU an address for a
 * guest frame.
 *
 * An entry is PINNED while someone uses its page: a copy in progress
 * (vgt_mapcache_get/put) or a translation handed out by gfn_to_dma (held:
 * the shadows keep the address in GPU page tables, and release a
 * translation only by revalidating after an INVALIDATE or with the
 * guest's death). A pinned entry is never evicted nor unmapped. The
 * others are evicted least recently used first when the cache is full;
 * a full cache of pinned entries refuses new frames (-ENOSPC) rather than
 * grow: the bound holds whatever the guest does.
 *
 * INVALIDATE (the guest's p2m changed) takes every entry out of the
 * lookup: unpinned ones are unmapped at once, pinned ones stay mapped
 * (the GPU may still reach them): a copy's until its put, a held
 * translation's until destroy (the shadows have no per-entry release
 * yet). The next lookup of the gfn maps it afresh. Destroy (the guest's death, vgtd
 * stopping) unmaps everything. Thread-safe. */
#ifndef VGT_MAPCACHE_H
#define VGT_MAPCACHE_H

#include <stdbool.h>
#include <stdint.h>

struct vgt_log;
struct vgt_mapcache;
struct vgt_mapcache_ent;

/* Maps and unmaps one guest frame (xenforeignmemory_map in the backend).
 * map returns the page, or NULL with -EFAULT in *err for a frame that is
 * not guest RAM and another -errno for a failed call. */
struct vgt_mapcache_mapper {
    void *(*map)(void *opaque, uint64_t gfn, int *err);
    void (*unmap)(void *opaque, void *page);
    void *opaque;
};

/* The address the host GPU uses for a page mapped into this process:
 * the frame from /proc/self/pagemap (real GPU in a PVH dom0), or the
 * simulated GPU's arena importing the page. put undoes get. */
struct vgt_mapcache_dma {
    int (*get)(void *opaque, void *page, uint64_t *dma);
    void (*put)(void *opaque, void *page, uint64_t dma);
    void *opaque;
};

struct vgt_mapcache_stats {
    uint64_t hits, misses;  /* lookups found mapped / mapped afresh */
    uint64_t evictions;     /* unpinned entries unmapped to make room */
    uint64_t full;          /* lookups refused: every entry pinned */
    uint64_t invalidations; /* INVALIDATEs */
    uint64_t map_ns;        /* time spent in the mapper's map (misses) */
    unsigned mapped;        /* pages mapped now (stale pinned ones too) */
    unsigned pinned;        /* of those, pinned */
    unsigned capacity;
};

/* 1 GiB of guest memory: a whole Gen9 GGTT (448 MiB of a V5_1) of
 * distinct frames fits, with room for copies. */
#define VGT_MAPCACHE_DEFAULT_FRAMES 262144u

/* @capacity frames (0: the default); @dma may be NULL (no gfn_to_dma). */
int vgt_mapcache_create(const struct vgt_mapcache_mapper *m, const struct vgt_mapcache_dma *dma,
                        unsigned capacity, const struct vgt_log *log, struct vgt_mapcache **out);
/* Unmaps every page, pinned or not: their users are gone. */
void vgt_mapcache_destroy(struct vgt_mapcache *c);

/* The page of @gfn, pinned until vgt_mapcache_put(*ent). */
int vgt_mapcache_get(struct vgt_mapcache *c, uint64_t gfn, void **page,
                     struct vgt_mapcache_ent **ent);
void vgt_mapcache_put(struct vgt_mapcache *c, struct vgt_mapcache_ent *ent);
/* The host GPU's address of @gfn's page; the entry stays held (pinned)
 * until an INVALIDATE or destroy. -EOPNOTSUPP without dma ops. */
int vgt_mapcache_dma(struct vgt_mapcache *c, uint64_t gfn, uint64_t *dma);
void vgt_mapcache_invalidate(struct vgt_mapcache *c);
void vgt_mapcache_get_stats(struct vgt_mapcache *c, struct vgt_mapcache_stats *st);

#endif

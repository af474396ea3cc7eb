/* PPGTT shadowing. See vgt/ppgtt.h and docs/shadow-gtt.md.
 *
 * Objects:
 *  - gpage: one guest page that is used as a page table (hashed by gfn).
 *    It is write-protected while any shadow uses it and it is not out of
 *    sync. It can carry up to one shadow per interpretation (PML4, PDP,
 *    PD, 4 KiB PT, 64 KiB PT): the same guest page used at two levels gets
 *    two independent shadows.
 *  - spt: one shadow page. Non-leaf shadows hold a reference on each child
 *    shadow they point at; children are always one level lower, so
 *    references never form cycles even when the guest's tables do.
 *  - root: one guest PML4 named by a g2v create or a pin; holds one
 *    reference on its PML4 shadow; unpinned roots are reclaimable (LRU).
 *
 * Entry formats: common/include/vgt/gen8_gtt.h (i915 gt/intel_gtt.h). */
#include "vgt/ppgtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgt/gen8_gtt.h"
#include "vgt/util.h"

#define NENT GEN8_PTES_PER_PAGE
/* PWT bit 3, PCD bit 4 (i915 gen8 PPAT index bits; PAT is bit 7 in a
 * 4 KiB PTE, where a PDE has PS). Kept on shadow entries as written. */
#define PTE_CACHE_BITS (VGT_BIT(3) | VGT_BIT(4))
#define NONLEAF_FLAGS (GEN8_PTE_PRESENT | GEN8_PTE_RW | PTE_CACHE_BITS)
#define LEAF_FLAGS (NONLEAF_FLAGS | VGT_BIT(7))
#define SZ_2M (2ull << 20)
#define SZ_64K (64ull << 10)

enum spt_type {
    SPT_PT = 0,   /* 4 KiB page table */
    SPT_PT64 = 1, /* page table under an IPS PDE: one entry per 16 slots */
    SPT_PD = 2,
    SPT_PDP = 3,
    SPT_PML4 = 4,
    SPT_NR_GUEST = 5,
    SPT_SPLIT = 5, /* private 4 KiB table standing for a split 2 MiB entry */
};

struct gpage;

struct spt {
    struct gpage *gp; /* NULL for SPT_SPLIT */
    int type;
    unsigned refs;
    uint64_t dma;
    uint64_t *va;
    struct spt **child;   /* NENT, non-leaf types only */
    uint64_t split_base;  /* SPT_SPLIT: first gfn and the PDE flags */
    uint64_t split_flags;
};

struct gpage {
    uint64_t gfn;
    struct gpage *hnext;
    struct spt *spt[SPT_NR_GUEST];
    unsigned nspt;
    unsigned hold; /* callers on the stack using it */
    bool wp;
    unsigned writes; /* trapped writes, for the OOS threshold */
    bool oos;
    uint64_t *snap;  /* OOS: guest entries the shadows reflect */
    unsigned clean;  /* OOS: resyncs in a row that found nothing */
    struct gpage *oos_prev, *oos_next;
    bool dirty;      /* on the pending list */
    struct gpage *dirty_next;
    uint64_t pend[NENT / 64];    /* entries written partially */
    uint64_t half_lo[NENT / 64]; /* low dword written since */
    uint64_t half_hi[NENT / 64];
    /* Read by the build of the refused root (p->refused_head list); kept
     * protected so that a guest write to it drops the refusal. parked: it
     * has no shadow left and is kept only for that, so it is not counted
     * in the budget (a refusal must not change what fits). */
    bool refused, parked;
    struct gpage *refused_next;
};

struct root {
    uint64_t gfn;
    struct spt *l4; /* NULL when reclaimed */
    unsigned pins;
    bool g2v;
    uint64_t stamp; /* LRU clock at last use */
    struct root *next;
};

struct vgt_ppgtt {
    struct vgt_hv *hv;
    struct vgt_hostgpu *gpu;
    struct vgt_log *log;
    struct vgt_ppgtt_config cfg;
    uint64_t scratch_table_dma;
    /* This vGPU's own scratch leaf: refused leaves point at it, so no
     * other guest's work can read what lands there. */
    uint64_t scratch_leaf_dma;
    struct gpage **hash;
    size_t hash_size; /* power of two */
    size_t nr_gpages;
    struct gpage *oos_head, *oos_tail;
    unsigned nr_oos;
    struct gpage *dirty_head;
    struct gpage *dirty_syncing; /* the pending list a sync is working on */
    struct root *roots;
    unsigned nr_roots;
    uint64_t clock;
    bool revalidating; /* split tables are rebuilt, not reused */
    /* The last refused root build, when only the shadow budget refused it
     * (deterministic for this vGPU): a later build of the same PML4 fails
     * at once while nothing it depends on changed. gen counts the changes
     * that could make it fit (shadow pages allocated or freed, pages
     * entering or leaving OOS); guest writes to the pages it read drop it
     * (they stay protected), so does a p2m change (revalidate). */
    uint64_t gen;
    bool recording;        /* a root build in progress lists what it reads */
    bool refused_valid;
    uint64_t refused_gfn, refused_gen;
    int refused_err;
    struct gpage *refused_head;
    uint64_t nondet;       /* failures that may not recur: host, malloc, set_wp */
    /* Snapshot buffers of pages that left the pool, kept for the next
     * page that enters (at most oos_pool of them exist at once). */
    void *snap_free;
    struct vgt_ppgtt_stats st;
    /* Every public entry point takes it: the write-protect handler runs on
     * the ioreq thread, pins and syncs on whichever thread submits. */
    pthread_mutex_t lock;
};

static const uint64_t gpage_bytes = sizeof(struct gpage);

static int spt_level(int type)
{
    static const int level[] = {
        [SPT_PT] = GEN8_LVL_PT, [SPT_PT64] = GEN8_LVL_PT, [SPT_PD] = GEN8_LVL_PD,
        [SPT_PDP] = GEN8_LVL_PDP, [SPT_PML4] = GEN8_LVL_PML4,
    };
    return type == SPT_SPLIT ? GEN8_LVL_PT : level[type];
}

static bool spt_is_leaf(int type)
{
    return spt_level(type) == GEN8_LVL_PT;
}

/* ---------------------------------------------------------------- gpages */

static size_t hash_gfn(const struct vgt_ppgtt *p, uint64_t gfn)
{
    return (size_t)((gfn * 0x9e3779b97f4a7c15ull) >> 20) & (p->hash_size - 1);
}

static struct gpage *gpage_find(struct vgt_ppgtt *p, uint64_t gfn)
{
    for (struct gpage *g = p->hash[hash_gfn(p, gfn)]; g; g = g->hnext)
        if (g->gfn == gfn)
            return g;
    return NULL;
}

static void hash_grow(struct vgt_ppgtt *p)
{
    size_t nsize = p->hash_size * 2;
    struct gpage **nh = calloc(nsize, sizeof(*nh));
    struct gpage **old = p->hash;
    size_t osize = p->hash_size;

    if (!nh)
        return; /* keep the old table: longer chains, still correct */
    p->hash = nh;
    p->hash_size = nsize;
    for (size_t i = 0; i < osize; i++) {
        while (old[i]) {
            struct gpage *g = old[i];
            size_t h = hash_gfn(p, g->gfn);

            old[i] = g->hnext;
            g->hnext = nh[h];
            nh[h] = g;
        }
    }
    free(old);
}

static struct gpage *gpage_get(struct vgt_ppgtt *p, uint64_t gfn)
{
    struct gpage *g = gpage_find(p, gfn);
    size_t h;

    if (g) {
        if (g->parked) { /* used again: counted again, as a new one would be */
            g->parked = false;
            p->st.guest_pt_pages++;
            p->st.shadow_bytes += gpage_bytes;
        }
        return g;
    }
    g = calloc(1, sizeof(*g));
    if (!g) {
        p->nondet++;
        return NULL;
    }
    if (p->nr_gpages >= p->hash_size)
        hash_grow(p);
    g->gfn = gfn;
    h = hash_gfn(p, gfn);
    g->hnext = p->hash[h];
    p->hash[h] = g;
    p->nr_gpages++;
    p->st.guest_pt_pages++;
    p->st.shadow_bytes += gpage_bytes;
    return g;
}

static int gpage_protect(struct vgt_ppgtt *p, struct gpage *g, bool on)
{
    int ret;

    if (g->wp == on)
        return 0;
    ret = p->hv->ops->set_wp(p->hv, g->gfn, 1, on);
    if (ret) {
        p->nondet++;
        vgt_err(p->log, "ppgtt: set_wp(gfn 0x%llx, %d) failed: %d",
                (unsigned long long)g->gfn, on, ret);
        return ret;
    }
    g->wp = on;
    if (on)
        p->st.wp_pages++;
    else
        p->st.wp_pages--;
    return 0;
}

static uint64_t *snap_get(struct vgt_ppgtt *p)
{
    void *b = p->snap_free;

    if (!b)
        return malloc(VGT_PAGE_SIZE);
    memcpy(&p->snap_free, b, sizeof(void *));
    return b;
}

static void snap_put(struct vgt_ppgtt *p, uint64_t *b)
{
    if (!b)
        return;
    memcpy(b, &p->snap_free, sizeof(void *));
    p->snap_free = b;
}

static void oos_unlink(struct vgt_ppgtt *p, struct gpage *g)
{
    if (g->oos_prev)
        g->oos_prev->oos_next = g->oos_next;
    else
        p->oos_head = g->oos_next;
    if (g->oos_next)
        g->oos_next->oos_prev = g->oos_prev;
    else
        p->oos_tail = g->oos_prev;
    g->oos_prev = g->oos_next = NULL;
    snap_put(p, g->snap);
    g->snap = NULL;
    g->oos = false;
    p->nr_oos--;
    p->gen++;
    p->st.oos_pages--;
    p->st.shadow_bytes -= VGT_PAGE_SIZE;
}

static bool list_remove(struct gpage **pp, struct gpage *g)
{
    while (*pp && *pp != g)
        pp = &(*pp)->dirty_next;
    if (!*pp)
        return false;
    *pp = g->dirty_next;
    return true;
}

static void dirty_unlink(struct vgt_ppgtt *p, struct gpage *g)
{
    if (!list_remove(&p->dirty_head, g))
        list_remove(&p->dirty_syncing, g);
    g->dirty_next = NULL;
    g->dirty = false;
    memset(g->pend, 0, sizeof(g->pend));
    memset(g->half_lo, 0, sizeof(g->half_lo));
    memset(g->half_hi, 0, sizeof(g->half_hi));
}

/* Entry @i of @g is to be re-shadowed at the next sync. */
static void entry_pend(struct vgt_ppgtt *p, struct gpage *g, unsigned i)
{
    g->pend[i / 64] |= VGT_BIT(i % 64);
    if (!g->dirty) {
        g->dirty = true;
        g->dirty_next = p->dirty_head;
        p->dirty_head = g;
    }
}

/* A page a refused build read, left without shadows: kept (protected)
 * for the refusal, but no longer counted, as if it had been freed. */
static void gpage_park(struct vgt_ppgtt *p, struct gpage *g)
{
    if (g->parked)
        return;
    if (g->oos)
        oos_unlink(p, g);
    if (g->dirty)
        dirty_unlink(p, g);
    g->parked = true;
    p->st.guest_pt_pages--;
    p->st.shadow_bytes -= gpage_bytes;
}

/* Free a gpage nobody uses: no shadow and nobody holding it. */
static void gpage_maybe_free(struct vgt_ppgtt *p, struct gpage *g)
{
    struct gpage **pp;

    if (g->nspt || g->hold)
        return;
    if (g->refused) {
        gpage_park(p, g);
        return;
    }
    if (g->oos)
        oos_unlink(p, g);
    if (g->dirty)
        dirty_unlink(p, g);
    /* Unprotect pages no shadow uses any more; a failure leaves a stale
     * protection whose writes the handler still applies. */
    gpage_protect(p, g, false);
    for (pp = &p->hash[hash_gfn(p, g->gfn)]; *pp != g; pp = &(*pp)->hnext)
        ;
    *pp = g->hnext;
    p->nr_gpages--;
    p->st.guest_pt_pages--;
    p->st.shadow_bytes -= gpage_bytes;
    free(g);
}

static void gpage_unhold(struct vgt_ppgtt *p, struct gpage *g)
{
    g->hold--;
    gpage_maybe_free(p, g);
}

/* ------------------------------------------------------ refused builds */

/* Forget the cached refusal (or the list of a build in progress): the
 * pages it kept go back to what their shadows need (freed and unprotected
 * when they have none). */
static void refusal_drop(struct vgt_ppgtt *p)
{
    struct gpage *g = p->refused_head, *next;

    p->refused_head = NULL;
    p->refused_valid = false;
    for (; g; g = next) {
        next = g->refused_next;
        g->refused_next = NULL;
        g->refused = false;
        if (g->parked) {
            g->parked = false;
            p->st.guest_pt_pages++;
            p->st.shadow_bytes += gpage_bytes;
        }
        gpage_maybe_free(p, g);
    }
}

/* The build of root @gfn was refused with @err after the partial shadow
 * was freed. Keep the refusal only when the same build is bound to fail
 * again: only the budget refused it (no host page, malloc or set_wp
 * failure, which may not recur; no out-of-sync page brought back, which
 * changed the budget after the build began) and every page it read is
 * protected, so a guest write to any of them is seen. */
static void refusal_record(struct vgt_ppgtt *p, uint64_t gfn, int err, bool deterministic)
{
    if (err != -ENOMEM || !deterministic)
        goto drop;
    /* Pages left without shadows were parked as the partial build was
     * freed (gpage_maybe_free). */
    for (struct gpage *g = p->refused_head; g; g = g->refused_next)
        if (!g->wp || g->oos)
            goto drop;
    p->refused_valid = true;
    p->refused_gfn = gfn;
    p->refused_err = err;
    p->refused_gen = p->gen;
    return;
drop:
    refusal_drop(p);
}

/* Whether a build of root @gfn now would fail as the recorded one did. */
static bool refusal_holds(struct vgt_ppgtt *p, uint64_t gfn)
{
    return p->refused_valid && p->refused_gfn == gfn && p->refused_gen == p->gen;
}

/* ------------------------------------------------------- shadow entries */

static uint64_t budget_hard(const struct vgt_ppgtt *p)
{
    return p->cfg.budget_bytes > UINT64_MAX / 2 ? UINT64_MAX : p->cfg.budget_bytes * 2;
}

static int spt_alloc(struct vgt_ppgtt *p, int type, struct spt **out)
{
    struct spt *s;
    void *va;
    uint64_t bytes = VGT_PAGE_SIZE + sizeof(*s) + (spt_is_leaf(type) ? 0 : NENT * sizeof(void *));
    uint64_t dma;
    int ret;

    if (p->st.shadow_bytes + bytes > budget_hard(p)) {
        p->st.alloc_failures++;
        return -ENOMEM;
    }
    /* The host page first: when the host is out of pages, every entry
     * the guest writes under a sprayed table retries a build, and a
     * refusal must not cost two zeroed allocations freed again. */
    ret = p->gpu->ops->alloc_page(p->gpu, &dma, &va);
    if (ret) {
        p->nondet++; /* the host's memory, which others free too */
        goto fail;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        goto free_page;
    if (!spt_is_leaf(type)) {
        s->child = calloc(NENT, sizeof(*s->child));
        if (!s->child)
            goto free_spt;
    }
    s->dma = dma;
    s->va = va;
    memset(s->va, 0, VGT_PAGE_SIZE);
    s->type = type;
    s->refs = 1;
    p->gen++;
    p->st.shadow_pages++;
    p->st.shadow_bytes += bytes;
    *out = s;
    return 0;

free_spt:
    free(s);
free_page:
    p->gpu->ops->free_page(p->gpu, dma);
    p->nondet++;
fail:
    p->st.alloc_failures++;
    return -ENOMEM;
}

static void spt_put(struct vgt_ppgtt *p, struct spt *s);

static void spt_free(struct vgt_ppgtt *p, struct spt *s)
{
    uint64_t bytes = VGT_PAGE_SIZE + sizeof(*s) + (s->child ? NENT * sizeof(void *) : 0);

    if (s->child) {
        for (unsigned i = 0; i < NENT; i++) {
            struct spt *c = s->child[i];

            if (c) {
                s->child[i] = NULL;
                s->va[i] = 0;
                spt_put(p, c);
            }
        }
    }
    /* Clear before the page goes back: no stale host entries survive. */
    memset(s->va, 0, VGT_PAGE_SIZE);
    p->gpu->ops->free_page(p->gpu, s->dma);
    p->gen++;
    p->st.shadow_pages--;
    p->st.shadow_bytes -= bytes;
    if (s->gp) {
        struct gpage *g = s->gp;

        g->spt[s->type] = NULL;
        g->nspt--;
        free(s->child);
        free(s);
        gpage_maybe_free(p, g);
        return;
    }
    free(s->child);
    free(s);
}

static void spt_put(struct vgt_ppgtt *p, struct spt *s)
{
    if (--s->refs == 0)
        spt_free(p, s);
}

/* Host address of a guest frame the guest may let the GPU reach: inside
 * its RAM and translated by the hypervisor. */
static bool guest_frame(struct vgt_ppgtt *p, uint64_t gfn, uint64_t *dma)
{
    return vgt_hv_gfn_to_dma(p->hv, gfn, dma) == 0;
}

static uint64_t scratch_leaf(struct vgt_ppgtt *p)
{
    /* Present but read-only, and this vGPU's own page: a guest can leave
     * nothing in it, and nothing another guest left is there. */
    p->st.scratch_entries++;
    return (p->scratch_leaf_dma & GEN8_PTE_ADDR_MASK) | GEN8_PTE_PRESENT;
}

static uint64_t scratch_table(struct vgt_ppgtt *p)
{
    p->st.scratch_entries++;
    return p->scratch_table_dma | GEN8_PTE_PRESENT | GEN8_PTE_RW;
}

/* Shadow of a leaf mapping guest frame @gfn with the flags of @g. */
static uint64_t leaf_entry(struct vgt_ppgtt *p, uint64_t gfn, uint64_t g)
{
    uint64_t dma;

    if (!guest_frame(p, gfn, &dma) || (dma & ~GEN8_PTE_ADDR_MASK))
        return scratch_leaf(p);
    return dma | (g & LEAF_FLAGS);
}

static void shadow_pt(struct vgt_ppgtt *p, struct spt *s, unsigned i, uint64_t g)
{
    p->st.entries_shadowed++;
    if (!(g & GEN8_PTE_PRESENT))
        s->va[i] = 0;
    else if (g & GEN8_PTE_RSVD_MASK)
        s->va[i] = scratch_leaf(p);
    else
        s->va[i] = leaf_entry(p, (g & GEN8_PTE_ADDR_MASK) >> VGT_PAGE_SHIFT, g);
}

/* A 64 KiB table is expanded into a 4 KiB shadow table: the walker reads
 * slot 16*va[20:16] (gen8_gtt.h), so guest slot 16k covers shadow slots
 * 16k..16k+15. Other guest slots are never read by the GPU. */
static void shadow_pt64(struct vgt_ppgtt *p, struct spt *s, unsigned i, uint64_t g)
{
    uint64_t base;

    if (i % 16)
        return;
    p->st.entries_shadowed++;
    base = (g & GEN8_PTE_ADDR_MASK & ~(SZ_64K - 1)) >> VGT_PAGE_SHIFT;
    for (unsigned j = 0; j < 16; j++) {
        if (!(g & GEN8_PTE_PRESENT))
            s->va[i + j] = 0;
        else if (g & GEN8_PTE_RSVD_MASK)
            s->va[i + j] = scratch_leaf(p);
        else
            s->va[i + j] = leaf_entry(p, base + j, g);
    }
}

/* 512 frames host-contiguous from a 2 MiB aligned host address. */
static bool contiguous_2m(struct vgt_ppgtt *p, uint64_t base_gfn, uint64_t *host)
{
    uint64_t first, dma;

    if (!guest_frame(p, base_gfn, &first) || (first & (SZ_2M - 1)) ||
        (first & ~GEN8_PTE_ADDR_MASK))
        return false;
    for (unsigned k = 1; k < NENT; k++)
        if (!guest_frame(p, base_gfn + k, &dma) || dma != first + ((uint64_t)k << VGT_PAGE_SHIFT))
            return false;
    *host = first;
    return true;
}

static int split_get(struct vgt_ppgtt *p, struct spt *old, uint64_t base_gfn, uint64_t flags,
                     struct spt **out)
{
    struct spt *s;
    int ret;

    if (old && old->type == SPT_SPLIT && old->split_base == base_gfn && old->split_flags == flags &&
        !p->revalidating) {
        old->refs++;
        *out = old;
        return 0;
    }
    ret = spt_alloc(p, SPT_SPLIT, &s);
    if (ret)
        return ret;
    s->split_base = base_gfn;
    s->split_flags = flags;
    for (unsigned k = 0; k < NENT; k++)
        s->va[k] = leaf_entry(p, base_gfn + k, flags | GEN8_PTE_PRESENT);
    *out = s;
    return 0;
}

static int spt_get(struct vgt_ppgtt *p, uint64_t gfn, int type, struct spt **out);

/* Non-leaf entry @i of @s from guest entry @g. The new child reference is
 * taken before the old one is dropped, so a child both used to and still
 * does stay alive. Returns an error only for allocation failures (the
 * entry then points at the scratch table). */
static int shadow_nonleaf(struct vgt_ppgtt *p, struct spt *s, unsigned i, uint64_t g)
{
    struct spt *old = s->child[i], *c = NULL;
    uint64_t e = 0, host;
    int ret = 0;

    p->st.entries_shadowed++;
    if (!(g & GEN8_PTE_PRESENT)) {
        e = 0;
    } else if (g & GEN8_PTE_RSVD_MASK) {
        e = scratch_table(p);
    } else if (s->type == SPT_PDP && (g & GEN8_PDPE_PS_1G)) {
        p->st.rejected_1g++;
        e = scratch_table(p);
    } else if (s->type == SPT_PD && (g & GEN8_PDE_PS_2M)) {
        /* The walker ignores address bits 20..12 of a 2 MiB PDE. */
        uint64_t base = (g & GEN8_PTE_ADDR_MASK & ~(SZ_2M - 1)) >> VGT_PAGE_SHIFT;

        if (contiguous_2m(p, base, &host)) {
            p->st.huge_2m_kept++;
            e = host | (g & LEAF_FLAGS);
        } else {
            ret = split_get(p, old, base, g & NONLEAF_FLAGS, &c);
            if (ret) {
                e = scratch_table(p);
            } else {
                if (c != old)
                    p->st.huge_2m_split++;
                e = c->dma | (g & NONLEAF_FLAGS);
            }
        }
    } else {
        uint64_t gfn = (g & GEN8_PTE_ADDR_MASK) >> VGT_PAGE_SHIFT;
        int ctype = s->type - 1;
        uint64_t dma;

        if (s->type == SPT_PD)
            ctype = (g & GEN8_PDE_IPS_64K) ? SPT_PT64 : SPT_PT;
        if (!guest_frame(p, gfn, &dma)) {
            e = scratch_table(p);
        } else {
            ret = spt_get(p, gfn, ctype, &c);
            if (ret && !c)
                e = scratch_table(p);
            else
                e = c->dma | (g & NONLEAF_FLAGS);
        }
    }
    /* This entry went to scratch because its shadow could not be built:
     * it stays pending, where it failed, so the next sync retries it and
     * fails until it is built. Retrying the entry that started the build
     * would not do: it finds this table already there (found by
     * fuzz_ppgtt, regress-pend-where-it-failed). */
    if (ret && !c)
        entry_pend(p, s->gp, i);
    s->va[i] = e;
    s->child[i] = c;
    if (old)
        spt_put(p, old);
    return ret;
}

static int shadow_entry(struct vgt_ppgtt *p, struct spt *s, unsigned i, uint64_t g)
{
    switch (s->type) {
    case SPT_PT:
        shadow_pt(p, s, i, g);
        return 0;
    case SPT_PT64:
        shadow_pt64(p, s, i, g);
        return 0;
    default:
        return shadow_nonleaf(p, s, i, g);
    }
}

static void oos_leave(struct vgt_ppgtt *p, struct gpage *g);

/* Get a reference on the shadow of guest page @gfn read as @type, building
 * it (and what it points at) if needed. On a partial failure *out is still
 * set (failed entries point at scratch) and the error is returned. */
static int spt_get(struct vgt_ppgtt *p, uint64_t gfn, int type, struct spt **out)
{
    /* On the stack (4 levels deep at most, as oos_resync's): a heap
     * buffer per shadowed page was a malloc and free per page built. */
    uint64_t buf[NENT];
    struct gpage *g;
    struct spt *s;
    int ret, err = 0;

    *out = NULL;
    /* A new page over the budget: refused as spt_alloc would refuse it
     * after gpage_get, without allocating and freeing the gpage (a
     * sprayed table retries hundreds of these at every sync). */
    if (!gpage_find(p, gfn) &&
        p->st.shadow_bytes + gpage_bytes + VGT_PAGE_SIZE + sizeof(*s) +
                (spt_is_leaf(type) ? 0 : NENT * sizeof(void *)) >
            budget_hard(p)) {
        p->st.alloc_failures++;
        return -ENOMEM;
    }
    g = gpage_get(p, gfn);
    if (!g) {
        p->st.alloc_failures++;
        return -ENOMEM;
    }
    if (g->spt[type]) {
        g->spt[type]->refs++;
        *out = g->spt[type];
        return 0;
    }
    g->hold++;
    /* A new reader of an out-of-sync page: bring it back in sync first so
     * every shadow of the page is built from the same guest content. */
    if (g->oos)
        oos_leave(p, g);
    ret = spt_alloc(p, type, &s);
    if (ret)
        goto unhold;
    s->gp = g;
    g->spt[type] = s;
    g->nspt++;
    /* Protect before reading, so no guest write falls between the two. */
    ret = gpage_protect(p, g, true);
    if (ret)
        goto free_spt;
    if (vgt_hv_read(p->hv, gfn << VGT_PAGE_SHIFT, buf, sizeof(buf)))
        memset(buf, 0, sizeof(buf)); /* a hole: nothing present */
    if (p->recording && !g->refused) {
        g->refused = true;
        g->refused_next = p->refused_head;
        p->refused_head = g;
    }
    for (unsigned i = 0; i < NENT; i++) {
        if (!buf[i])
            continue;
        ret = shadow_entry(p, s, i, buf[i]);
        if (ret && !err)
            err = ret;
    }
    *out = s;
    gpage_unhold(p, g);
    return err;

free_spt:
    s->refs = 0;
    spt_free(p, s);
unhold:
    gpage_unhold(p, g);
    return ret;
}

/* Re-shadow entry @i of every shadow of @g from the guest's current value. */
static int gpage_update_entry(struct vgt_ppgtt *p, struct gpage *g, unsigned i, uint64_t val)
{
    int err = 0;

    /* Highest level first; a shadow dropped by an earlier update (the same
     * page used at two levels) is simply no longer there. */
    for (int t = SPT_PML4; t >= SPT_PT; t--) {
        struct spt *s = g->spt[t];
        int ret;

        if (!s)
            continue;
        ret = shadow_entry(p, s, i, val);
        if (ret && !err)
            err = ret;
    }
    return err;
}

static int read_entry(struct vgt_ppgtt *p, struct gpage *g, unsigned i, uint64_t *val)
{
    return vgt_hv_read(p->hv, (g->gfn << VGT_PAGE_SHIFT) + (uint64_t)i * 8, val, 8);
}

/* ------------------------------------------------------ out-of-sync pages */

/* Thread CPU time: sync cost is accounted as work done, not as time the
 * vGPU thread spent descheduled. Read once per sync or eviction. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int oos_resync(struct vgt_ppgtt *p, struct gpage *g)
{
    uint64_t buf[NENT];
    int err = 0;

    if (vgt_hv_read(p->hv, g->gfn << VGT_PAGE_SHIFT, buf, sizeof(buf)))
        memset(buf, 0, sizeof(buf));
    unsigned changed = 0;

    for (unsigned i = 0; i < NENT; i++) {
        if (buf[i] == g->snap[i])
            continue;
        g->snap[i] = buf[i];
        changed++;
        int ret = gpage_update_entry(p, g, i, buf[i]);

        if (ret && !err)
            err = ret;
    }
    g->clean = changed ? 0 : g->clean + 1;
    p->st.oos_sync_entries += changed;
    p->st.oos_syncs++;
    return err;
}

/* Back in sync: protect, then diff, so no write is missed in between. */
static void oos_back_in_sync(struct vgt_ppgtt *p, struct gpage *g)
{
    gpage_protect(p, g, true);
    oos_resync(p, g); /* even if still unprotected: reflect it now */
    if (g->wp) {
        oos_unlink(p, g);
        g->writes = 0;
        g->clean = 0;
    }
}

/* Forced back in sync (pool full, a new interpretation of the page). */
static void oos_leave(struct vgt_ppgtt *p, struct gpage *g)
{
    uint64_t t0 = cpu_ns();

    oos_back_in_sync(p, g);
    p->st.oos_evict++;
    p->st.oos_sync_ns += cpu_ns() - t0;
}

static int reconcile_pending(struct vgt_ppgtt *p, struct gpage *g);

static void oos_maybe_enter(struct vgt_ppgtt *p, struct gpage *g)
{
    if (!p->cfg.oos || g->oos || g->writes < p->cfg.oos_threshold)
        return;
    /* Only leaf tables go out of sync: a stale non-leaf entry could keep
     * a child table the guest already reused as data. */
    for (int t = SPT_PD; t <= SPT_PML4; t++)
        if (g->spt[t])
            return;
    if (!g->nspt)
        return;
    if (p->st.shadow_bytes + VGT_PAGE_SIZE > budget_hard(p))
        return;
    if (p->nr_oos >= p->cfg.oos_pool) {
        if (!p->oos_head)
            return;
        oos_leave(p, p->oos_head); /* the oldest out-of-sync page */
        if (p->nr_oos >= p->cfg.oos_pool)
            return;
    }
    /* Settle pending halves first; a page whose shadows are not yet
     * equal to it does not go out of sync. */
    if (g->dirty) {
        if (reconcile_pending(p, g))
            return;
        dirty_unlink(p, g);
    }
    g->snap = snap_get(p);
    if (!g->snap)
        return;
    /* Shadows equal the guest page now (pending halves reconciled): read
     * the snapshot while still protected, then unprotect. A write that
     * races with us either traps (and is applied) or lands after the
     * unprotect; either way the next diff sees it. */
    if (vgt_hv_read(p->hv, g->gfn << VGT_PAGE_SHIFT, g->snap, VGT_PAGE_SIZE) ||
        gpage_protect(p, g, false)) {
        snap_put(p, g->snap);
        g->snap = NULL;
        return;
    }
    g->oos = true;
    g->oos_prev = p->oos_tail;
    g->oos_next = NULL;
    if (p->oos_tail)
        p->oos_tail->oos_next = g;
    else
        p->oos_head = g;
    p->oos_tail = g;
    p->nr_oos++;
    p->gen++;
    p->st.oos_pages++;
    p->st.oos_enter++;
    p->st.shadow_bytes += VGT_PAGE_SIZE;
}

/* ----------------------------------------------------- write protection */

static int reconcile_pending(struct vgt_ppgtt *p, struct gpage *g)
{
    int err = 0;

    for (unsigned w = 0; w < NENT / 64; w++) {
        /* Taken as a set first: an entry that fails again is pending
         * again (shadow_nonleaf) for the next sync, not for this loop. */
        uint64_t taken = g->pend[w];

        g->pend[w] = 0;
        g->half_lo[w] &= ~taken;
        g->half_hi[w] &= ~taken;
        while (taken) {
            unsigned b = (unsigned)__builtin_ctzll(taken);
            unsigned i = w * 64 + b;
            uint64_t val;
            int ret;

            taken &= ~VGT_BIT(b);
            p->st.half_reconciled++;
            ret = read_entry(p, g, i, &val);
            if (!ret)
                ret = gpage_update_entry(p, g, i, val);
            if (ret && !err)
                err = ret;
        }
    }
    return err;
}

static int wp_write_locked(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    struct vgt_ppgtt *p = opaque;
    uint64_t gfn = gpa >> VGT_PAGE_SHIFT;
    unsigned off = gpa & (VGT_PAGE_SIZE - 1), i = off / 8, w = i / 64;
    uint64_t bit = VGT_BIT(i % 64), entry;
    struct gpage *g;
    int ret;

    if ((size != 1 && size != 2 && size != 4 && size != 8) || (off & (size - 1)))
        return -EINVAL;
    /* Apply first: the hypervisor did not, and the guest's write must not
     * be lost whatever happens to the shadow. */
    ret = vgt_hv_write(p->hv, gpa, &val, size);
    if (ret)
        return ret;
    g = gpage_find(p, gfn);
    if (g && g->refused) {
        /* A table the refused build read changed: it may fit now. */
        refusal_drop(p);
        g = gpage_find(p, gfn);
    }
    if (!g || !g->nspt)
        return 0; /* a protection we no longer need: nothing to reflect */
    p->st.traps++;
    g->hold++;
    g->writes++;
    if (size == 8) {
        if (g->pend[w] & bit) {
            g->pend[w] &= ~bit;
            g->half_lo[w] &= ~bit;
            g->half_hi[w] &= ~bit;
        }
        ret = read_entry(p, g, i, &entry);
        if (!ret)
            ret = gpage_update_entry(p, g, i, entry);
    } else {
        /* Half an entry is held until the other half arrives (or the next
         * sync): a 32-bit guest writes PTEs as two dwords. */
        p->st.traps_partial++;
        g->pend[w] |= bit;
        if (size == 4)
            *((off & 4) ? &g->half_hi[w] : &g->half_lo[w]) |= bit;
        if ((g->half_lo[w] & bit) && (g->half_hi[w] & bit)) {
            g->pend[w] &= ~bit;
            g->half_lo[w] &= ~bit;
            g->half_hi[w] &= ~bit;
            ret = read_entry(p, g, i, &entry);
            if (!ret)
                ret = gpage_update_entry(p, g, i, entry);
        } else {
            entry_pend(p, g, i);
        }
    }
    /* Out of shadow memory: every entry that could not be built (here or
     * in a table built below it) stays at scratch and pending where it
     * failed, so the next sync builds it or fails the submission
     * (regress-alloc-fail-in-trap, regress-pend-where-it-failed). */
    if (g->nspt)
        oos_maybe_enter(p, g);
    gpage_unhold(p, g);
    if (ret)
        vgt_warn(p->log, "ppgtt: write 0x%llx/%u: shadow update failed: %d",
                 (unsigned long long)gpa, size, ret);
    return ret;
}

/* ----------------------------------------------------------------- roots */

static struct root *root_find(struct vgt_ppgtt *p, uint64_t gfn)
{
    for (struct root *r = p->roots; r; r = r->next)
        if (r->gfn == gfn)
            return r;
    return NULL;
}

static void root_remove(struct vgt_ppgtt *p, struct root *r)
{
    struct root **pp = &p->roots;

    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    if (r->l4)
        spt_put(p, r->l4);
    free(r);
    p->nr_roots--;
    p->st.roots--;
}

static void lru_reclaim(struct vgt_ppgtt *p)
{
    while (p->st.shadow_bytes > p->cfg.budget_bytes) {
        struct root *victim = NULL;

        for (struct root *r = p->roots; r; r = r->next)
            if (!r->pins && r->l4 && (!victim || r->stamp < victim->stamp))
                victim = r;
        if (!victim)
            return;
        p->st.reclaims++;
        if (!victim->g2v) {
            root_remove(p, victim);
        } else {
            struct spt *l4 = victim->l4;

            victim->l4 = NULL; /* rebuilt at the next pin */
            spt_put(p, l4);
        }
    }
}

static int pml4_gfn(struct vgt_ppgtt *p, uint64_t pml4, uint64_t *gfn)
{
    uint64_t dma;

    if (pml4 & (VGT_PAGE_SIZE - 1))
        return -EINVAL;
    if (!guest_frame(p, pml4 >> VGT_PAGE_SHIFT, &dma))
        return -EFAULT;
    *gfn = pml4 >> VGT_PAGE_SHIFT;
    return 0;
}

static int root_get(struct vgt_ppgtt *p, uint64_t pml4, struct root **out)
{
    struct root *r;
    uint64_t gfn;
    int ret = pml4_gfn(p, pml4, &gfn);

    if (ret)
        return ret;
    r = root_find(p, gfn);
    if (!r) {
        if (p->nr_roots >= p->cfg.max_roots) {
            vgt_warn(p->log, "ppgtt: more than %u PPGTT roots", p->cfg.max_roots);
            return -ENOSPC;
        }
        r = calloc(1, sizeof(*r));
        if (!r)
            return -ENOMEM;
        r->gfn = gfn;
        r->next = p->roots;
        p->roots = r;
        p->nr_roots++;
        p->st.roots++;
    }
    r->stamp = ++p->clock;
    if (!r->l4) {
        uint64_t nondet, evict;

        lru_reclaim(p);
        if (refusal_holds(p, gfn)) {
            /* Same tables, same budget use: it would fail the same way
             * after rebuilding hundreds of pages. */
            p->st.refusals_cached++;
            ret = p->refused_err;
            goto refused;
        }
        refusal_drop(p);
        nondet = p->nondet;
        evict = p->st.oos_evict;
        p->recording = true;
        ret = spt_get(p, gfn, SPT_PML4, &r->l4);
        p->recording = false;
        if (ret) {
            vgt_err(p->log, "ppgtt: shadow of PML4 0x%llx failed: %d",
                    (unsigned long long)pml4, ret);
            if (r->l4) {
                spt_put(p, r->l4);
                r->l4 = NULL;
            }
            refusal_record(p, gfn, ret, nondet == p->nondet && evict == p->st.oos_evict);
            goto refused;
        }
        refusal_drop(p); /* built: the pages are its shadows' now */
    }
    *out = r;
    return 0;

refused:
    if (!r->pins && !r->g2v)
        root_remove(p, r);
    return ret;
}

static int pin_locked(struct vgt_ppgtt *p, uint64_t pml4, uint64_t *root_dma)
{
    struct root *r;
    int ret = root_get(p, pml4, &r);

    if (ret)
        return ret;
    r->pins++;
    *root_dma = r->l4->dma;
    return 0;
}

static int unpin_locked(struct vgt_ppgtt *p, uint64_t pml4)
{
    struct root *r = (pml4 & (VGT_PAGE_SIZE - 1)) ? NULL : root_find(p, pml4 >> VGT_PAGE_SHIFT);

    if (!r || !r->pins)
        return -ENOENT;
    r->pins--;
    r->stamp = ++p->clock;
    lru_reclaim(p);
    return 0;
}

static int sync_locked(struct vgt_ppgtt *p, uint64_t pml4)
{
    struct root *r = (pml4 & (VGT_PAGE_SIZE - 1)) ? NULL : root_find(p, pml4 >> VGT_PAGE_SHIFT);
    int err = 0, ret;

    if (!r || !r->l4)
        return -ENOENT;
    /* Every pending and out-of-sync page of the vGPU, not only the ones
     * under this root: both sets are bounded and a superset is safe. */
    /* Entries that fail again go back on dirty_head, for the next sync;
     * dirty_unlink finds a page freed meanwhile on either list. */
    p->dirty_syncing = p->dirty_head;
    p->dirty_head = NULL;
    while (p->dirty_syncing) {
        struct gpage *g = p->dirty_syncing;

        p->dirty_syncing = g->dirty_next;
        g->dirty_next = NULL;
        g->dirty = false;
        g->hold++;
        ret = reconcile_pending(p, g);
        if (ret && !err)
            err = ret;
        gpage_unhold(p, g);
    }
    if (p->oos_head) {
        uint64_t t0 = cpu_ns();

        for (struct gpage *g = p->oos_head, *next; g; g = next) {
            next = g->oos_next;
            /* A page the guest stopped writing costs a diff per
             * submission for nothing: protect it again and free its slot. */
            if (p->cfg.oos_cold && g->clean >= p->cfg.oos_cold) {
                oos_back_in_sync(p, g);
                p->st.oos_cold++;
                continue;
            }
            ret = oos_resync(p, g);
            if (ret && !err)
                err = ret;
        }
        p->st.oos_sync_ns += cpu_ns() - t0;
    }
    r->stamp = ++p->clock;
    return err;
}

static int g2v_create_locked(struct vgt_ppgtt *p, uint64_t pml4)
{
    struct root *r;
    int ret = root_get(p, pml4, &r);

    if (ret)
        return ret;
    r->g2v = true;
    lru_reclaim(p);
    return 0;
}

static int g2v_destroy_locked(struct vgt_ppgtt *p, uint64_t pml4)
{
    struct root *r = (pml4 & (VGT_PAGE_SIZE - 1)) ? NULL : root_find(p, pml4 >> VGT_PAGE_SHIFT);

    if (!r)
        return -ENOENT;
    r->g2v = false;
    /* Still pinned by a running workload: it goes with the LRU later. */
    if (!r->pins)
        root_remove(p, r);
    return 0;
}

static int revalidate_locked(struct vgt_ppgtt *p)
{
    uint64_t *gfns, *buf, n = 0;
    int err = 0;

    /* The p2m changed: a refused build may fit now (or fail elsewhere). */
    refusal_drop(p);
    gfns = malloc((p->nr_gpages + 1) * sizeof(*gfns));
    buf = malloc(VGT_PAGE_SIZE);
    if (!gfns || !buf) {
        free(gfns);
        free(buf);
        return -ENOMEM;
    }
    /* The pages tracked now; pages shadowed while we go are built fresh
     * and pages freed while we go are skipped. */
    for (size_t h = 0; h < p->hash_size; h++)
        for (struct gpage *g = p->hash[h]; g; g = g->hnext)
            gfns[n++] = g->gfn;
    p->revalidating = true;
    for (uint64_t k = 0; k < n; k++) {
        struct gpage *g = gpage_find(p, gfns[k]);

        if (!g)
            continue;
        g->hold++;
        if (vgt_hv_read(p->hv, g->gfn << VGT_PAGE_SHIFT, buf, VGT_PAGE_SIZE))
            memset(buf, 0, VGT_PAGE_SIZE);
        /* Every entry from the current guest value and the current p2m;
         * pending halves and snapshots are thereby settled too. */
        if (g->dirty)
            dirty_unlink(p, g);
        if (g->oos)
            memcpy(g->snap, buf, VGT_PAGE_SIZE);
        for (unsigned i = 0; i < NENT; i++) {
            int ret = gpage_update_entry(p, g, i, buf[i]);

            if (ret && !err)
                err = ret;
        }
        gpage_unhold(p, g);
    }
    p->revalidating = false;
    free(gfns);
    free(buf);
    return err;
}

static void reset_locked(struct vgt_ppgtt *p)
{
    refusal_drop(p);
    while (p->roots)
        root_remove(p, p->roots);
}

/* ------------------------------------------------------------- lifetime */

void vgt_ppgtt_config_default(struct vgt_ppgtt_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->oos = true;
    cfg->oos_threshold = 2;
    cfg->oos_pool = 64;
    cfg->oos_cold = 4;
    cfg->budget_bytes = 64ull << 20;
    cfg->max_roots = 256;
}

int vgt_ppgtt_create(struct vgt_hv *hv, struct vgt_hostgpu *gpu,
                     const struct vgt_ppgtt_config *cfg, struct vgt_ppgtt **out)
{
    struct vgt_ppgtt *p;
    void *va;
    int ret;

    if (!hv || !gpu || !out)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (cfg)
        p->cfg = *cfg;
    else
        vgt_ppgtt_config_default(&p->cfg);
    if (!p->cfg.oos_threshold)
        p->cfg.oos_threshold = 2;
    if (!p->cfg.oos_pool)
        p->cfg.oos_pool = 64;
    if (!p->cfg.budget_bytes)
        p->cfg.budget_bytes = 64ull << 20;
    if (!p->cfg.max_roots)
        p->cfg.max_roots = 256;
    p->hv = hv;
    p->gpu = gpu;
    p->log = p->cfg.log;
    pthread_mutex_init(&p->lock, NULL);
    p->hash_size = 256;
    p->hash = calloc(p->hash_size, sizeof(*p->hash));
    if (!p->hash) {
        ret = -ENOMEM;
        goto free_p;
    }
    ret = gpu->ops->alloc_page(gpu, &p->scratch_table_dma, &va);
    if (ret)
        goto free_hash;
    memset(va, 0, VGT_PAGE_SIZE);
    ret = gpu->ops->alloc_page(gpu, &p->scratch_leaf_dma, &va);
    if (ret)
        goto free_scratch_table;
    memset(va, 0, VGT_PAGE_SIZE);
    if (!p->cfg.no_wp_handler) {
        ret = hv->ops->set_wp_handler(hv, vgt_ppgtt_wp_write, p);
        if (ret)
            goto free_scratch_leaf;
    }
    *out = p;
    return 0;

free_scratch_leaf:
    gpu->ops->free_page(gpu, p->scratch_leaf_dma);
free_scratch_table:
    gpu->ops->free_page(gpu, p->scratch_table_dma);
free_hash:
    free(p->hash);
free_p:
    pthread_mutex_destroy(&p->lock);
    free(p);
    return ret;
}

void vgt_ppgtt_destroy(struct vgt_ppgtt *p)
{
    if (!p)
        return;
    reset_locked(p);
    if (!p->cfg.no_wp_handler)
        p->hv->ops->set_wp_handler(p->hv, NULL, NULL);
    p->gpu->ops->free_page(p->gpu, p->scratch_table_dma);
    p->gpu->ops->free_page(p->gpu, p->scratch_leaf_dma);
    while (p->snap_free) {
        void *b = p->snap_free;

        memcpy(&p->snap_free, b, sizeof(void *));
        free(b);
    }
    free(p->hash);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void vgt_ppgtt_get_stats(struct vgt_ppgtt *p, struct vgt_ppgtt_stats *st)
{
    pthread_mutex_lock(&p->lock);
    *st = p->st;
    pthread_mutex_unlock(&p->lock);
}

#define LOCKED(p, call)                 \
    do {                                \
        int ret_;                       \
        pthread_mutex_lock(&(p)->lock); \
        ret_ = (call);                  \
        pthread_mutex_unlock(&(p)->lock); \
        return ret_;                    \
    } while (0)

int vgt_ppgtt_wp_write(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    struct vgt_ppgtt *p = opaque;

    LOCKED(p, wp_write_locked(p, gpa, size, val));
}

int vgt_ppgtt_pin(struct vgt_ppgtt *p, uint64_t pml4, uint64_t *root_dma)
{
    LOCKED(p, pin_locked(p, pml4, root_dma));
}

int vgt_ppgtt_unpin(struct vgt_ppgtt *p, uint64_t pml4)
{
    LOCKED(p, unpin_locked(p, pml4));
}

int vgt_ppgtt_sync(struct vgt_ppgtt *p, uint64_t pml4)
{
    LOCKED(p, sync_locked(p, pml4));
}

int vgt_ppgtt_g2v_create(struct vgt_ppgtt *p, uint64_t pml4)
{
    LOCKED(p, g2v_create_locked(p, pml4));
}

int vgt_ppgtt_g2v_destroy(struct vgt_ppgtt *p, uint64_t pml4)
{
    LOCKED(p, g2v_destroy_locked(p, pml4));
}

int vgt_ppgtt_revalidate(struct vgt_ppgtt *p)
{
    LOCKED(p, revalidate_locked(p));
}

void vgt_ppgtt_reset(struct vgt_ppgtt *p)
{
    pthread_mutex_lock(&p->lock);
    reset_locked(p);
    pthread_mutex_unlock(&p->lock);
}

uint64_t vgt_ppgtt_scratch_table(const struct vgt_ppgtt *p)
{
    return p->scratch_table_dma;
}

uint64_t vgt_ppgtt_scratch_leaf(const struct vgt_ppgtt *p)
{
    return p->scratch_leaf_dma;
}

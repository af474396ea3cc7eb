/* GGTT shadow of one vGPU and the physical GGTT's record (see vgt/ggtt.h,
 * docs/shadow-gtt.md). */
#include "vgt/ggtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/gen8_gtt.h"
#include "vgt/util.h"

#define HALF_LO 1u
#define HALF_HI 2u
#define MAX_FENCES 32u     /* Gen9 has 32 fence registers */
#define MAX_MEMBERS 1024u  /* vGPU shadows alive on one GPU at once */
/* Ownership is kept per block of 256 entries (1 MiB of GM; ranges are
 * whole MiB, as PVINFO gives them): a switch looks at blocks, and at the
 * entries of only those blocks where either side maps something. */
#define BLOCK_SHIFT 8u
#define BLOCK (1u << BLOCK_SHIFT)

/* A scratch page shared by the vGPUs whose first range starts at @key:
 * any two of them overlap, so they never run at the same time, and the
 * page is cleared whenever it changes hands. */
struct scratch_grp {
    uint64_t key;
    uint64_t dma;
    void *va;
    unsigned refs;
    const struct vgt_ggtt *last; /* resident user; NULL: cleared */
    struct scratch_grp *next;
};

struct vgt_ggtt_phys {
    struct vgt_hostgpu *gpu;
    pthread_mutex_t lock; /* everything below, and every member's host[] */
    uint64_t nr;          /* host entries */
    uint64_t *val;        /* physical value, valid in owned blocks */
    /* Member id owning each block, 0: none. Invariant: every entry of a
     * block owned by g holds g's translated value. */
    uint16_t *owner;
    uint16_t fence_owner[MAX_FENCES];
    struct vgt_ggtt *members[MAX_MEMBERS]; /* by id; [0] unused */
    struct scratch_grp *grps;
};

struct range {
    uint64_t first, end; /* host entry indices [first, end) */
    uint64_t slot0;      /* its first row in the private table */
};

struct vgt_ggtt {
    struct vgt_hostgpu *gpu;
    struct vgt_hv *hv;
    const struct vgt_log *log;
    struct vgt_ggtt_phys *phys;
    bool own_phys;
    uint16_t id;
    struct range r[2];     /* low, high */
    uint64_t n;            /* rows of the private table */
    uint64_t nr_entries;   /* host GGTT entries */
    uint64_t *virt;        /* the guest's own values (owner thread) */
    uint64_t *host;        /* translated entries (phys->lock) */
    uint8_t *halves;       /* HALF_* received since last commit */
    uint16_t *mapped;      /* per block of rows: entries not at scratch (phys->lock) */
    uint64_t nblocks;
    struct scratch_grp *grp;
    uint64_t scratch_pte;
    unsigned fence_base, fences;
    vgt_ggtt_fence_fn fence_load;
    void *fence_opaque;
    uint32_t fence[MAX_FENCES][2]; /* host values (phys->lock) */
    uint64_t owned;        /* blocks + fences it owns now (phys->lock) */
    bool failsafe;
    struct vgt_ggtt_stats st;
};

/* ---- the physical record ---- */

int vgt_ggtt_phys_create(struct vgt_hostgpu *gpu, struct vgt_ggtt_phys **out)
{
    struct vgt_ggtt_phys *p;
    int ret;

    if (!gpu || !out)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->gpu = gpu;
    p->nr = gpu->gm_size >> VGT_PAGE_SHIFT;
    /* Lazily backed: only the entries vGPUs use are ever touched. */
    p->val = calloc(p->nr, sizeof(*p->val));
    p->owner = calloc((p->nr + BLOCK - 1) >> BLOCK_SHIFT, sizeof(*p->owner));
    if (!p->val || !p->owner) {
        ret = -ENOMEM;
        goto free_tables;
    }
    ret = -pthread_mutex_init(&p->lock, NULL);
    if (ret)
        goto free_tables;
    *out = p;
    return 0;

free_tables:
    free(p->val);
    free(p->owner);
    free(p);
    return ret;
}

void vgt_ggtt_phys_destroy(struct vgt_ggtt_phys *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->val);
    free(p->owner);
    free(p);
}

static inline uint64_t nr_owned_max(const struct vgt_ggtt *g)
{
    return g->nblocks + (g->fence_load ? g->fences : 0);
}

/* Row of host entry @i in the private table, or -1 outside the ranges. */
static inline int64_t row_of(const struct vgt_ggtt *g, uint64_t i)
{
    for (unsigned k = 0; k < 2; k++)
        if (i >= g->r[k].first && i < g->r[k].end)
            return (int64_t)(g->r[k].slot0 + i - g->r[k].first);
    return -1;
}

/* Under phys->lock: physical entry @i (in a block @g owns) holds @pte. */
static void phys_put(struct vgt_ggtt *g, uint64_t i, uint64_t pte)
{
    g->gpu->ops->ggtt_write(g->gpu, i, pte);
    g->phys->val[i] = pte;
}

/* Under phys->lock: physical entries [i, i + n) (in blocks @g owns) hold
 * @ptes: one call for the run where the GPU takes runs (a V5_8 vGPU's
 * creation writes 114,688 entries). */
static void phys_put_run(struct vgt_ggtt *g, uint64_t i, uint64_t n, const uint64_t *ptes)
{
    const struct vgt_hostgpu_ops *ops = g->gpu->ops;

    if (ops->ggtt_write_run)
        ops->ggtt_write_run(g->gpu, i, n, ptes);
    else
        for (uint64_t j = 0; j < n; j++)
            ops->ggtt_write(g->gpu, i + j, ptes[j]);
    memcpy(&g->phys->val[i], ptes, n * sizeof(*ptes));
}

/* Under phys->lock: block @b becomes @g's (its entries are written by the
 * caller). */
static void take_block(struct vgt_ggtt *g, uint64_t b)
{
    struct vgt_ggtt_phys *p = g->phys;
    uint16_t o = p->owner[b];

    if (o == g->id)
        return;
    if (o && p->members[o])
        p->members[o]->owned--;
    p->owner[b] = g->id;
    g->owned++;
}

static void phys_put_fence(struct vgt_ggtt *g, unsigned f)
{
    struct vgt_ggtt_phys *p = g->phys;
    unsigned hf = g->fence_base + f;
    uint16_t o = p->fence_owner[hf];

    if (o != g->id) {
        if (o && p->members[o])
            p->members[o]->owned--;
        p->fence_owner[hf] = g->id;
        g->owned++;
    }
    g->fence_load(g->fence_opaque, hf, g->fence[f][0], g->fence[f][1]);
}

static bool ranges_meet(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    return a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1;
}

bool vgt_ggtt_conflicts(const struct vgt_ggtt *a, const struct vgt_ggtt *b)
{
    if (a == b)
        return false;
    for (unsigned i = 0; i < 2; i++)
        for (unsigned j = 0; j < 2; j++)
            if (ranges_meet(a->r[i].first, a->r[i].end, b->r[j].first, b->r[j].end))
                return true;
    return a->fence_load && b->fence_load &&
           ranges_meet(a->fence_base, a->fence_base + a->fences, b->fence_base, b->fence_base + b->fences);
}

/* Under phys->lock: the group scratch page of the first range of @g. */
static int grp_get(struct vgt_ggtt *g)
{
    struct vgt_ggtt_phys *p = g->phys;
    uint64_t key = g->r[0].end > g->r[0].first ? g->r[0].first : g->r[1].first;
    struct scratch_grp *s;
    int ret;

    for (s = p->grps; s; s = s->next)
        if (s->key == key)
            break;
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -ENOMEM;
        ret = g->gpu->ops->alloc_page(g->gpu, &s->dma, &s->va);
        if (ret) {
            free(s);
            return ret;
        }
        memset(s->va, 0, VGT_PAGE_SIZE);
        s->key = key;
        s->next = p->grps;
        p->grps = s;
    }
    s->refs++;
    g->grp = s;
    g->scratch_pte = (s->dma & GEN8_PTE_ADDR_MASK) | GEN8_PTE_PRESENT;
    return 0;
}

static void grp_put(struct vgt_ggtt *g)
{
    struct vgt_ggtt_phys *p = g->phys;
    struct scratch_grp **pp, *s = g->grp;

    if (s->last == g)
        s->last = NULL;
    if (--s->refs)
        return;
    for (pp = &p->grps; *pp != s; pp = &(*pp)->next)
        ;
    *pp = s->next;
    g->gpu->ops->free_page(g->gpu, s->dma);
    free(s);
}

/* Under phys->lock: @g is about to use its scratch page on the GPU. */
static void grp_take(struct vgt_ggtt *g)
{
    if (g->grp->last != g) {
        memset(g->grp->va, 0, VGT_PAGE_SIZE);
        g->grp->last = g;
    }
}

/* ---- the private table ---- */

static void free_tables(struct vgt_ggtt *g)
{
    free(g->virt);
    free(g->host);
    free(g->halves);
    free(g->mapped);
}

static int alloc_tables(struct vgt_ggtt *g)
{
    g->virt = calloc(g->n, sizeof(*g->virt));
    g->host = calloc(g->n, sizeof(*g->host));
    g->halves = calloc(g->n, 1);
    g->mapped = calloc(g->nblocks, sizeof(*g->mapped));
    if (!g->virt || !g->host || !g->halves || !g->mapped) {
        free_tables(g);
        return -ENOMEM;
    }
    return 0;
}

static bool alone(const struct vgt_ggtt *g)
{
    for (unsigned m = 1; m < MAX_MEMBERS; m++)
        if (g->phys->members[m] && vgt_ggtt_conflicts(g, g->phys->members[m]))
            return false;
    return true;
}

/* Under phys->lock: claim everything, writing what differs. A block
 * whose owner and @g both map nothing in it and share @g's scratch page
 * already holds @g's values; other blocks are compared entry by entry. */
static void claim(struct vgt_ggtt *g, bool full, struct vgt_ggtt_switch *sw)
{
    struct vgt_ggtt_phys *p = g->phys;

    grp_take(g);
    for (unsigned k = 0; k < 2; k++)
        for (uint64_t i0 = g->r[k].first; i0 < g->r[k].end; i0 += BLOCK) {
            uint64_t b = i0 >> BLOCK_SHIFT, row0 = g->r[k].slot0 + i0 - g->r[k].first;
            uint16_t o = p->owner[b];
            const struct vgt_ggtt *u = o ? p->members[o] : NULL;

            if (!full && o == g->id) {
                sw->skipped += BLOCK; /* its writes went through */
                continue;
            }
            if (!full && u && u->grp == g->grp && !g->mapped[row0 >> BLOCK_SHIFT] &&
                !u->mapped[(uint64_t)row_of(u, i0) >> BLOCK_SHIFT]) {
                take_block(g, b);
                sw->skipped += BLOCK;
                continue;
            }
            take_block(g, b);
            if (full || !o) { /* every entry is written */
                phys_put_run(g, i0, BLOCK, &g->host[row0]);
                sw->written += BLOCK;
                continue;
            }
            for (uint64_t j = 0; j < BLOCK; j++) {
                uint64_t h = g->host[row0 + j];

                if (!full && o && p->val[i0 + j] == h) {
                    sw->skipped++;
                    continue;
                }
                phys_put(g, i0 + j, h);
                sw->written++;
            }
        }
    if (g->fence_load)
        for (unsigned f = 0; f < g->fences; f++)
            if (full || p->fence_owner[g->fence_base + f] != g->id)
                phys_put_fence(g, f);
}

int vgt_ggtt_create(const struct vgt_ggtt_cfg *cfg, struct vgt_ggtt **out)
{
    struct vgt_ggtt *g;
    uint64_t gm_size;
    unsigned id;
    int ret;

    if (!cfg || !cfg->gpu || !cfg->hv || !out)
        return -EINVAL;
    gm_size = cfg->gpu->gm_size;
    /* Whole MiB (ownership blocks), as PVINFO gives ranges. */
    if ((cfg->low_base | cfg->low_size | cfg->high_base | cfg->high_size) &
        ((VGT_PAGE_SIZE << BLOCK_SHIFT) - 1))
        return -EINVAL;
    if (gm_size > (VGT_GGTT_WINDOW_SIZE / GEN8_GGTT_PTE_SIZE) << VGT_PAGE_SHIFT)
        return -EINVAL;
    if ((cfg->low_size && !vgt_range_within(cfg->low_base, cfg->low_size, 0, gm_size)) ||
        (cfg->high_size && !vgt_range_within(cfg->high_base, cfg->high_size, 0, gm_size)) ||
        (!cfg->low_size && !cfg->high_size) ||
        ranges_meet(cfg->low_base, cfg->low_base + cfg->low_size, cfg->high_base,
                    cfg->high_base + cfg->high_size))
        return -EINVAL;
    if (cfg->fence_load && (cfg->fences > MAX_FENCES || cfg->fence_base > MAX_FENCES - cfg->fences))
        return -EINVAL;
    if (cfg->phys && cfg->phys->gpu != cfg->gpu)
        return -EINVAL;
    g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->gpu = cfg->gpu;
    g->hv = cfg->hv;
    g->log = cfg->log;
    g->nr_entries = gm_size >> VGT_PAGE_SHIFT;
    g->r[0].first = cfg->low_base >> VGT_PAGE_SHIFT;
    g->r[0].end = g->r[0].first + (cfg->low_size >> VGT_PAGE_SHIFT);
    g->r[1].first = cfg->high_base >> VGT_PAGE_SHIFT;
    g->r[1].end = g->r[1].first + (cfg->high_size >> VGT_PAGE_SHIFT);
    g->r[1].slot0 = g->r[0].end - g->r[0].first;
    g->n = g->r[1].slot0 + g->r[1].end - g->r[1].first;
    g->nblocks = g->n >> BLOCK_SHIFT;
    g->fence_base = cfg->fence_base;
    g->fences = cfg->fences;
    g->fence_load = cfg->fence_load;
    g->fence_opaque = cfg->fence_opaque;
    g->phys = cfg->phys;
    if (!g->phys) {
        ret = vgt_ggtt_phys_create(cfg->gpu, &g->phys);
        if (ret)
            goto free_ggtt;
        g->own_phys = true;
    }
    ret = alloc_tables(g);
    if (ret)
        goto free_phys;
    pthread_mutex_lock(&g->phys->lock);
    for (id = 1; id < MAX_MEMBERS && g->phys->members[id]; id++)
        ;
    if (id == MAX_MEMBERS) {
        ret = -ENOSPC;
        goto unlock;
    }
    ret = grp_get(g);
    if (ret)
        goto unlock;
    g->id = (uint16_t)id;
    for (uint64_t k = 0; k < g->n; k++)
        g->host[k] = g->scratch_pte;
    /* Sharing with nobody: resident from the start, as without sharing.
     * Otherwise the physical entries stay the resident vGPU's. */
    if (alone(g)) {
        struct vgt_ggtt_switch sw = {0};

        claim(g, true, &sw);
    }
    g->phys->members[id] = g;
    pthread_mutex_unlock(&g->phys->lock);
    *out = g;
    return 0;

unlock:
    pthread_mutex_unlock(&g->phys->lock);
    free_tables(g);
free_phys:
    if (g->own_phys)
        vgt_ggtt_phys_destroy(g->phys);
free_ggtt:
    free(g);
    return ret;
}

void vgt_ggtt_destroy(struct vgt_ggtt *g)
{
    struct vgt_ggtt_phys *p;
    uint64_t host_scratch, fill[BLOCK];

    if (!g)
        return;
    p = g->phys;
    /* What it owns goes back to the host's scratch page (no guest owns
     * it now), then its scratch page may be freed. The caller has stopped
     * this vGPU's work on the GPU first (docs/submission.md). */
    host_scratch = (g->gpu->scratch_dma & GEN8_PTE_ADDR_MASK) | GEN8_PTE_PRESENT;
    for (uint64_t j = 0; j < BLOCK; j++)
        fill[j] = host_scratch;
    pthread_mutex_lock(&p->lock);
    for (unsigned k = 0; k < 2; k++)
        for (uint64_t i0 = g->r[k].first; i0 < g->r[k].end; i0 += BLOCK)
            if (p->owner[i0 >> BLOCK_SHIFT] == g->id) {
                phys_put_run(g, i0, BLOCK, fill);
                p->owner[i0 >> BLOCK_SHIFT] = 0;
            }
    if (g->fence_load)
        for (unsigned f = 0; f < g->fences; f++)
            if (p->fence_owner[g->fence_base + f] == g->id) {
                g->fence_load(g->fence_opaque, g->fence_base + f, 0, 0);
                p->fence_owner[g->fence_base + f] = 0;
            }
    p->members[g->id] = NULL;
    grp_put(g);
    pthread_mutex_unlock(&p->lock);
    if (g->own_phys)
        vgt_ggtt_phys_destroy(p);
    free_tables(g);
    free(g);
}

void vgt_ggtt_reset(struct vgt_ggtt *g)
{
    struct vgt_ggtt_phys *p = g->phys;

    pthread_mutex_lock(&p->lock);
    /* Per block: ranges are whole blocks (vgt_ggtt_create). */
    for (unsigned k = 0; k < 2; k++)
        for (uint64_t i0 = g->r[k].first; i0 < g->r[k].end; i0 += BLOCK) {
            uint64_t *row = &g->host[g->r[k].slot0 + i0 - g->r[k].first];

            for (uint64_t j = 0; j < BLOCK; j++)
                row[j] = g->scratch_pte;
            if (p->owner[i0 >> BLOCK_SHIFT] == g->id)
                phys_put_run(g, i0, BLOCK, row);
        }
    memset(g->mapped, 0, g->nblocks * sizeof(*g->mapped));
    /* Its scratch page: cleared now if it uses it, else when it next
     * becomes resident. */
    if (g->grp->last == g)
        memset(g->grp->va, 0, VGT_PAGE_SIZE);
    pthread_mutex_unlock(&p->lock);
    memset(g->virt, 0, g->n * sizeof(*g->virt));
    memset(g->halves, 0, g->n);
}

void vgt_ggtt_set_failsafe(struct vgt_ggtt *g, bool on)
{
    g->failsafe = on;
}

/* The physical entry for the guest's value @pte at host index @i. */
static uint64_t translate(struct vgt_ggtt *g, uint64_t i, uint64_t pte)
{
    uint64_t host = g->scratch_pte, dma;

    if (pte & GEN8_PTE_PRESENT) {
        /* Bit 63 and bits 62..39 are not address bits on Gen9 (i915
         * gen8_ggtt_pte_encode writes only address | PRESENT). */
        if ((pte & (GEN8_PTE_RSVD_MASK | (1ull << 63))) ||
            vgt_hv_gfn_to_dma(g->hv, (pte & GEN8_PTE_ADDR_MASK) >> VGT_PAGE_SHIFT, &dma)) {
            g->st.refused++;
            vgt_debug(g->log, "ggtt: entry %#llx = %#llx refused (bad gfn)",
                      (unsigned long long)i, (unsigned long long)pte);
        } else {
            host = (dma & GEN8_PTE_ADDR_MASK) | GEN8_PTE_PRESENT;
            g->st.accepted++;
        }
    }
    return host;
}

/* Under phys->lock: the private row @k (host index @i) becomes @host;
 * the physical entry follows where this vGPU owns its block. */
static void set_host(struct vgt_ggtt *g, uint64_t i, uint64_t k, uint64_t host)
{
    uint64_t old = g->host[k];

    g->host[k] = host;
    if (old != host && (old == g->scratch_pte || host == g->scratch_pte)) {
        if (host == g->scratch_pte)
            g->mapped[k >> BLOCK_SHIFT]--;
        else
            g->mapped[k >> BLOCK_SHIFT]++;
    }
    if (g->phys->owner[i >> BLOCK_SHIFT] == g->id && g->phys->val[i] != host)
        phys_put(g, i, host);
}

static uint64_t revalidate_range(struct vgt_ggtt *g, const struct range *r)
{
    uint64_t changed = 0;

    for (uint64_t i = r->first; i < r->end; i++) {
        uint64_t k = r->slot0 + i - r->first, host;

        if (!(g->virt[k] & GEN8_PTE_PRESENT) || g->halves[k])
            continue; /* scratch already, or not committed yet */
        host = translate(g, i, g->virt[k]);
        if (host == g->host[k])
            continue;
        set_host(g, i, k, host);
        changed++;
    }
    return changed;
}

uint64_t vgt_ggtt_revalidate(struct vgt_ggtt *g)
{
    uint64_t n;

    if (!g || g->failsafe)
        return 0;
    pthread_mutex_lock(&g->phys->lock);
    n = revalidate_range(g, &g->r[0]) + revalidate_range(g, &g->r[1]);
    g->st.revalidated += n;
    pthread_mutex_unlock(&g->phys->lock);
    return n;
}

int vgt_ggtt_guest_write(struct vgt_ggtt *g, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t i = off / GEN8_GGTT_PTE_SIZE, host;
    int64_t k;
    uint8_t got;

    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= VGT_GGTT_WINDOW_SIZE)
        return -EINVAL;
    k = i < g->nr_entries ? row_of(g, i) : -1;
    if (k < 0) {
        /* Outside its ranges (ballooned by the guest): nothing to keep. */
        g->st.refused++;
        vgt_debug(g->log, "ggtt: entry %#llx outside the vGPU's ranges refused",
                  (unsigned long long)i);
        return 0;
    }
    if (size == 8) {
        g->virt[k] = val;
        got = HALF_LO | HALF_HI;
    } else {
        unsigned shift = (off & 4) ? 32 : 0;

        g->virt[k] = (g->virt[k] & ~(0xffffffffull << shift)) | ((val & 0xffffffffull) << shift);
        got = g->halves[k] | (shift ? HALF_HI : HALF_LO);
    }
    if (got != (HALF_LO | HALF_HI)) {
        g->halves[k] = got;
        g->st.partial_held++;
        return 0;
    }
    g->halves[k] = 0;
    if (g->failsafe) {
        g->st.failsafe++;
        return 0;
    }
    host = translate(g, i, g->virt[k]);
    pthread_mutex_lock(&g->phys->lock);
    set_host(g, i, (uint64_t)k, host);
    pthread_mutex_unlock(&g->phys->lock);
    return 0;
}

int vgt_ggtt_guest_read(struct vgt_ggtt *g, uint64_t off, unsigned size, uint64_t *val)
{
    uint64_t i = off / GEN8_GGTT_PTE_SIZE, v = 0;
    int64_t k;

    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= VGT_GGTT_WINDOW_SIZE) {
        *val = ~0ull;
        return -EINVAL;
    }
    k = i < g->nr_entries ? row_of(g, i) : -1;
    if (k >= 0)
        v = g->virt[k];
    if (size == 4)
        v = (off & 4) ? v >> 32 : v & 0xffffffffull;
    *val = v;
    return 0;
}

int vgt_ggtt_lookup(const struct vgt_ggtt *g, uint64_t gm, uint64_t *gpa)
{
    uint64_t i = gm >> VGT_PAGE_SHIFT, pte;
    int64_t k = i < g->nr_entries ? row_of(g, i) : -1;

    if (k < 0 || g->halves[k])
        return -EFAULT;
    pte = g->virt[k];
    /* The same rules as translate(): what the GPU does not map, the host
     * does not read either. */
    if (!(pte & GEN8_PTE_PRESENT) || (pte & (GEN8_PTE_RSVD_MASK | (1ull << 63))))
        return -EFAULT;
    *gpa = (pte & GEN8_PTE_ADDR_MASK) | (gm & (VGT_PAGE_SIZE - 1));
    return 0;
}

uint64_t vgt_ggtt_scratch_dma(const struct vgt_ggtt *g)
{
    return g->grp->dma;
}

bool vgt_ggtt_is_resident(struct vgt_ggtt *g)
{
    bool r;

    pthread_mutex_lock(&g->phys->lock);
    r = g->owned == nr_owned_max(g);
    pthread_mutex_unlock(&g->phys->lock);
    return r;
}

int vgt_ggtt_make_resident(struct vgt_ggtt *g, unsigned flags, struct vgt_ggtt_switch *sw)
{
    struct vgt_ggtt_switch dummy;
    uint64_t t0 = vgt_now_ns();

    if (!g)
        return -EINVAL;
    if (!sw)
        sw = &dummy;
    memset(sw, 0, sizeof(*sw));
    pthread_mutex_lock(&g->phys->lock);
    if (g->owned == nr_owned_max(g) && !(flags & VGT_GGTT_SWITCH_FULL)) {
        grp_take(g);
        pthread_mutex_unlock(&g->phys->lock);
        return 0;
    }
    sw->switched = g->owned != nr_owned_max(g);
    claim(g, flags & VGT_GGTT_SWITCH_FULL, sw);
    sw->ns = vgt_now_ns() - t0;
    g->st.switches_in += sw->switched;
    g->st.switch_written += sw->written;
    g->st.switch_skipped += sw->skipped;
    g->st.switch_ns += sw->ns;
    pthread_mutex_unlock(&g->phys->lock);
    return 0;
}

int vgt_ggtt_set_fence(struct vgt_ggtt *g, unsigned i, uint32_t lo, uint32_t hi)
{
    if (!g->fence_load || i >= g->fences)
        return -EINVAL;
    pthread_mutex_lock(&g->phys->lock);
    g->fence[i][0] = lo;
    g->fence[i][1] = hi;
    if (g->phys->fence_owner[g->fence_base + i] == g->id)
        g->fence_load(g->fence_opaque, g->fence_base + i, lo, hi);
    pthread_mutex_unlock(&g->phys->lock);
    return 0;
}

uint64_t vgt_ggtt_mem_bytes(const struct vgt_ggtt *g)
{
    return sizeof(*g) + g->n * (2 * sizeof(uint64_t) + 1) + g->nblocks * sizeof(*g->mapped);
}

bool vgt_ggtt_gm_valid(const struct vgt_ggtt *g, uint64_t gm, uint64_t len)
{
    for (unsigned k = 0; k < 2; k++)
        if (vgt_range_within(gm, len, g->r[k].first << VGT_PAGE_SHIFT,
                             (g->r[k].end - g->r[k].first) << VGT_PAGE_SHIFT))
            return true;
    return false;
}

uint64_t vgt_ggtt_nr_entries(const struct vgt_ggtt *g)
{
    return g->nr_entries;
}

void vgt_ggtt_get_stats(const struct vgt_ggtt *g, struct vgt_ggtt_stats *st)
{
    pthread_mutex_lock(&g->phys->lock);
    *st = g->st;
    pthread_mutex_unlock(&g->phys->lock);
}

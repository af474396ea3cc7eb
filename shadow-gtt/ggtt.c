/* GGTT shadow of one vGPU (see vgt/ggtt.h). */
#include "vgt/ggtt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/gen8_gtt.h"
#include "vgt/util.h"

#define HALF_LO 1u
#define HALF_HI 2u

struct vgt_ggtt {
    struct vgt_hostgpu *gpu;
    struct vgt_hv *hv;
    const struct vgt_log *log;
    uint64_t low_first, low_end;   /* entry indices [first, end) */
    uint64_t high_first, high_end;
    uint64_t nr_entries;           /* host GGTT entries */
    /* This vGPU's own scratch page: unmapped and refused entries point at
     * it, so what the GPU writes there only this vGPU can read back. */
    uint64_t scratch_dma;
    void *scratch_va;
    uint64_t scratch_pte;
    uint64_t *virt;                /* the guest's own values */
    uint8_t *halves;               /* HALF_* received since last commit */
    bool failsafe;
    struct vgt_ggtt_stats st;
};

static inline bool index_owned(const struct vgt_ggtt *g, uint64_t i)
{
    return (i >= g->low_first && i < g->low_end) || (i >= g->high_first && i < g->high_end);
}

static void range_to_scratch(struct vgt_ggtt *g, uint64_t first, uint64_t end)
{
    for (uint64_t i = first; i < end; i++)
        g->gpu->ops->ggtt_write(g->gpu, i, g->scratch_pte);
}

static void all_to_scratch(struct vgt_ggtt *g)
{
    range_to_scratch(g, g->low_first, g->low_end);
    range_to_scratch(g, g->high_first, g->high_end);
}

static int alloc_tables(struct vgt_ggtt *g)
{
    /* calloc of this size is lazily backed: untouched entries cost nothing. */
    g->virt = calloc(g->nr_entries, sizeof(*g->virt));
    g->halves = calloc(g->nr_entries, 1);
    if (!g->virt || !g->halves) {
        free(g->virt);
        free(g->halves);
        g->virt = NULL;
        g->halves = NULL;
        return -ENOMEM;
    }
    return 0;
}

int vgt_ggtt_create(const struct vgt_ggtt_cfg *cfg, struct vgt_ggtt **out)
{
    struct vgt_ggtt *g;
    uint64_t gm_size;
    int ret;

    if (!cfg || !cfg->gpu || !cfg->hv || !out)
        return -EINVAL;
    gm_size = cfg->gpu->gm_size;
    if ((cfg->low_base | cfg->low_size | cfg->high_base | cfg->high_size) & (VGT_PAGE_SIZE - 1))
        return -EINVAL;
    if (gm_size > (VGT_GGTT_WINDOW_SIZE / GEN8_GGTT_PTE_SIZE) << VGT_PAGE_SHIFT)
        return -EINVAL;
    if ((cfg->low_size && !vgt_range_within(cfg->low_base, cfg->low_size, 0, gm_size)) ||
        (cfg->high_size && !vgt_range_within(cfg->high_base, cfg->high_size, 0, gm_size)))
        return -EINVAL;
    g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->gpu = cfg->gpu;
    g->hv = cfg->hv;
    g->log = cfg->log;
    g->nr_entries = gm_size >> VGT_PAGE_SHIFT;
    g->low_first = cfg->low_base >> VGT_PAGE_SHIFT;
    g->low_end = g->low_first + (cfg->low_size >> VGT_PAGE_SHIFT);
    g->high_first = cfg->high_base >> VGT_PAGE_SHIFT;
    g->high_end = g->high_first + (cfg->high_size >> VGT_PAGE_SHIFT);
    ret = cfg->gpu->ops->alloc_page(cfg->gpu, &g->scratch_dma, &g->scratch_va);
    if (ret)
        goto free_ggtt;
    memset(g->scratch_va, 0, VGT_PAGE_SIZE);
    g->scratch_pte = (g->scratch_dma & GEN8_PTE_ADDR_MASK) | GEN8_PTE_PRESENT;
    ret = alloc_tables(g);
    if (ret)
        goto free_scratch;
    all_to_scratch(g);
    *out = g;
    return 0;

free_scratch:
    cfg->gpu->ops->free_page(cfg->gpu, g->scratch_dma);
free_ggtt:
    free(g);
    return ret;
}

void vgt_ggtt_destroy(struct vgt_ggtt *g)
{
    if (!g)
        return;
    /* The ranges go back to the host's scratch page (no guest owns them
     * now), then this vGPU's own page is freed. The caller has stopped
     * this vGPU's work on the GPU first (docs/submission.md). */
    g->scratch_pte = (g->gpu->scratch_dma & GEN8_PTE_ADDR_MASK) | GEN8_PTE_PRESENT;
    all_to_scratch(g);
    g->gpu->ops->free_page(g->gpu, g->scratch_dma);
    free(g->virt);
    free(g->halves);
    free(g);
}

void vgt_ggtt_reset(struct vgt_ggtt *g)
{
    uint64_t *virt = g->virt;
    uint8_t *halves = g->halves;

    all_to_scratch(g);
    memset(g->scratch_va, 0, VGT_PAGE_SIZE);
    /* Fresh lazily backed tables instead of touching every page. */
    if (alloc_tables(g) == 0) {
        free(virt);
        free(halves);
    } else {
        g->virt = virt;
        g->halves = halves;
        memset(virt, 0, g->nr_entries * sizeof(*virt));
        memset(halves, 0, g->nr_entries);
    }
}

void vgt_ggtt_set_failsafe(struct vgt_ggtt *g, bool on)
{
    g->failsafe = on;
}

/* The physical entry for the guest's value @pte at owned index @i. */
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

static void commit(struct vgt_ggtt *g, uint64_t i, uint64_t pte)
{
    g->gpu->ops->ggtt_write(g->gpu, i, translate(g, i, pte));
}

static uint64_t revalidate_range(struct vgt_ggtt *g, uint64_t first, uint64_t end)
{
    uint64_t changed = 0, cur, host;

    for (uint64_t i = first; i < end; i++) {
        if (!(g->virt[i] & GEN8_PTE_PRESENT) || g->halves[i])
            continue; /* scratch already, or not committed yet */
        host = translate(g, i, g->virt[i]);
        if (g->gpu->ops->ggtt_read(g->gpu, i, &cur) == 0 && cur == host)
            continue;
        g->gpu->ops->ggtt_write(g->gpu, i, host);
        changed++;
    }
    return changed;
}

uint64_t vgt_ggtt_revalidate(struct vgt_ggtt *g)
{
    uint64_t n;

    if (!g || g->failsafe)
        return 0;
    n = revalidate_range(g, g->low_first, g->low_end) +
        revalidate_range(g, g->high_first, g->high_end);
    g->st.revalidated += n;
    return n;
}

int vgt_ggtt_guest_write(struct vgt_ggtt *g, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t i = off / GEN8_GGTT_PTE_SIZE;
    uint8_t got;

    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= VGT_GGTT_WINDOW_SIZE)
        return -EINVAL;
    if (i >= g->nr_entries) {
        g->st.refused++; /* past the host GGTT: nothing to keep */
        return 0;
    }
    if (size == 8) {
        g->virt[i] = val;
        got = HALF_LO | HALF_HI;
    } else {
        unsigned shift = (off & 4) ? 32 : 0;

        g->virt[i] = (g->virt[i] & ~(0xffffffffull << shift)) | ((val & 0xffffffffull) << shift);
        got = g->halves[i] | (shift ? HALF_HI : HALF_LO);
    }
    if (got != (HALF_LO | HALF_HI)) {
        g->halves[i] = got;
        g->st.partial_held++;
        return 0;
    }
    g->halves[i] = 0;
    if (g->failsafe) {
        g->st.failsafe++;
        return 0;
    }
    if (!index_owned(g, i)) {
        g->st.refused++;
        vgt_debug(g->log, "ggtt: entry %#llx outside the vGPU's ranges refused",
                  (unsigned long long)i);
        return 0;
    }
    commit(g, i, g->virt[i]);
    return 0;
}

int vgt_ggtt_guest_read(struct vgt_ggtt *g, uint64_t off, unsigned size, uint64_t *val)
{
    uint64_t i = off / GEN8_GGTT_PTE_SIZE, v;

    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= VGT_GGTT_WINDOW_SIZE) {
        *val = ~0ull;
        return -EINVAL;
    }
    v = i < g->nr_entries ? g->virt[i] : 0;
    if (size == 4)
        v = (off & 4) ? v >> 32 : v & 0xffffffffull;
    *val = v;
    return 0;
}

int vgt_ggtt_lookup(const struct vgt_ggtt *g, uint64_t gm, uint64_t *gpa)
{
    uint64_t i = gm >> VGT_PAGE_SHIFT, pte;

    if (i >= g->nr_entries || !index_owned(g, i) || g->halves[i])
        return -EFAULT;
    pte = g->virt[i];
    /* The same rules as translate(): what the GPU does not map, the host
     * does not read either. */
    if (!(pte & GEN8_PTE_PRESENT) || (pte & (GEN8_PTE_RSVD_MASK | (1ull << 63))))
        return -EFAULT;
    *gpa = (pte & GEN8_PTE_ADDR_MASK) | (gm & (VGT_PAGE_SIZE - 1));
    return 0;
}

uint64_t vgt_ggtt_scratch_dma(const struct vgt_ggtt *g)
{
    return g->scratch_dma;
}

bool vgt_ggtt_gm_valid(const struct vgt_ggtt *g, uint64_t gm, uint64_t len)
{
    uint64_t lo = g->low_first << VGT_PAGE_SHIFT, hi = g->high_first << VGT_PAGE_SHIFT;

    return vgt_range_within(gm, len, lo, (g->low_end - g->low_first) << VGT_PAGE_SHIFT) ||
           vgt_range_within(gm, len, hi, (g->high_end - g->high_first) << VGT_PAGE_SHIFT);
}

uint64_t vgt_ggtt_nr_entries(const struct vgt_ggtt *g)
{
    return g->nr_entries;
}

void vgt_ggtt_get_stats(const struct vgt_ggtt *g, struct vgt_ggtt_stats *st)
{
    *st = g->st;
}

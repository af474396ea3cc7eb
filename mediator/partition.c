/* vGPU types and the partition of one physical GPU.
 *
 * Graphics memory (GM) is split the way GVT-g splits it (gvt/aperture_gm.c):
 * the low part [0, aperture) is CPU-mappable through BAR2, the high part
 * [aperture, gm_size) is not. The host keeps the bottom of each part and
 * the first fences; each vGPU gets one contiguous run of low GM, one of
 * high GM and one of fences, first fit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgpu_priv.h"
#include "vgt/util.h"

#define MIB (1ull << 20)

/* GVT-g's types (gvt/vgpu.c vgpu_types[]) as the architecture document
 * lists them: low GM, high GM, fences, weight; then heads and resolution
 * (docs/vgpu.md): the small types one 1080p head, the large ones 4K heads,
 * as many as their graphics memory holds double-buffered with room to
 * spare (a 4K XRGB8888 frame is 32 MiB); and vgt's watchdog budget per
 * workload (docs/scheduler.md: 2 s, far above any normal workload,
 * whatever the share). */
static const struct vgt_vgpu_type types[] = {
    {"V5_8", 64, 384, 4, 2, 1, 1920, 1080, 2000},
    {"V5_4", 128, 512, 4, 4, 1, 1920, 1080, 2000},
    {"V5_2", 256, 1024, 4, 8, 2, 3840, 2160, 2000},
    {"V5_1", 512, 2048, 4, 16, 3, 3840, 2160, 2000},
};

const struct vgt_vgpu_type *vgt_vgpu_types(size_t *n)
{
    *n = VGT_ARRAY_SIZE(types);
    return types;
}

const struct vgt_vgpu_type *vgt_vgpu_type_find(const char *name)
{
    for (size_t i = 0; name && i < VGT_ARRAY_SIZE(types); i++)
        if (!strcmp(types[i].name, name))
            return &types[i];
    return NULL;
}

int vgt_vgpu_res_from_type(const char *name, struct vgt_vgpu_res *res)
{
    const struct vgt_vgpu_type *t = vgt_vgpu_type_find(name);

    if (!t)
        return -EINVAL;
    res->low_size = (uint64_t)t->low_mb * MIB;
    res->high_size = (uint64_t)t->high_mb * MIB;
    res->fences = t->fences;
    res->weight = t->weight;
    res->heads = t->max_heads;
    res->res_w = t->res_w;
    res->res_h = t->res_h;
    res->watchdog_ms = t->watchdog_ms;
    return 0;
}

int vgt_vgpu_res_display(struct vgt_vgpu_res *res, unsigned heads, uint32_t w, uint32_t h,
                         const char **why)
{
    struct vgt_mode m;
    const char *dummy;

    if (!why)
        why = &dummy;
    if (heads > VGT_MAX_HEADS) {
        *why = "max_heads must be 0..3 (Skylake has three pipes)";
        return -EINVAL;
    }
    if (heads && vgt_display_mode(w, h, &m)) {
        *why = "resolution must be 640x480..4095x4095";
        return -EINVAL;
    }
    res->heads = heads;
    res->res_w = heads ? w : 0;
    res->res_h = heads ? h : 0;
    return 0;
}

int vgt_vgpu_res_custom(uint64_t low_mb, uint64_t high_mb, unsigned fences,
                        struct vgt_vgpu_res *res, const char **why)
{
    const char *dummy;

    if (!why)
        why = &dummy;
    /* i915's intel_vgt_balloon refuses a non-mappable range that starts
     * below the end of the aperture, which an empty one at 0 does: both
     * ranges must be non-empty. 4 GiB is all a Gen9 GGTT covers. */
    if (low_mb == 0 || low_mb > 4096) {
        *why = "vgt_low_gm_sz must be 1..4096 MiB";
        return -EINVAL;
    }
    if (high_mb == 0 || high_mb > 4096) {
        *why = "vgt_high_gm_sz must be 1..4096 MiB";
        return -EINVAL;
    }
    if (fences > VGT_MAX_FENCES) {
        *why = "vgt_fence_sz must be 0..32";
        return -EINVAL;
    }
    res->low_size = low_mb * MIB;
    res->high_size = high_mb * MIB;
    res->fences = fences;
    /* Weight in proportion to low GM, as the types do (64 MiB -> 2). */
    res->weight = (unsigned)VGT_MAX(1, VGT_MIN(low_mb / 32, 1000));
    /* One 1080p monitor, as the small types; vgt_vgpu_res_display changes it. */
    res->heads = 1;
    res->res_w = 1920;
    res->res_h = 1080;
    res->watchdog_ms = 0; /* the default */
    return 0;
}

/* ---- first-fit allocation ---- */

struct span {
    uint64_t start, len;
};

static bool overlaps(const struct span *s, unsigned n, uint64_t start, uint64_t len)
{
    for (unsigned i = 0; i < n; i++)
        if (s[i].len && start < s[i].start + s[i].len && s[i].start < start + len)
            return true;
    return false;
}

/* Lowest start in [lo, hi) where @len fits between the used spans. The
 * candidates are lo and the end of every used span. */
static int first_fit(const struct span *used, unsigned n, uint64_t lo, uint64_t hi,
                     uint64_t len, uint64_t *out)
{
    uint64_t best = UINT64_MAX;

    if (len == 0) {
        *out = lo;
        return 0;
    }
    for (unsigned i = 0; i <= n; i++) {
        uint64_t c = i == n ? lo : used[i].start + used[i].len;

        if (i < n && !used[i].len)
            continue;
        if (c < lo || c >= hi || len > hi - c || c >= best)
            continue;
        if (!overlaps(used, n, c, len))
            best = c;
    }
    if (best == UINT64_MAX)
        return -ENOSPC;
    *out = best;
    return 0;
}

struct used_sets {
    struct span low[VGT_MAX_VGPUS + 64], high[VGT_MAX_VGPUS + 64], fence[VGT_MAX_VGPUS + 64];
    unsigned n;
};

static void collect(const struct vgt_gpu *g, struct used_sets *u)
{
    u->n = 0;
    for (unsigned i = 0; i < VGT_MAX_VGPUS; i++) {
        const struct vgt_vgpu *v = g->vgpus[i];

        if (!v)
            continue;
        u->low[u->n] = (struct span){v->low_base, v->res.low_size};
        u->high[u->n] = (struct span){v->high_base, v->res.high_size};
        u->fence[u->n] = (struct span){v->fence_base, v->res.fences};
        u->n++;
    }
}

struct placement {
    uint64_t low, high, fence;
};

static bool meets(const struct span *s, uint64_t start, uint64_t len)
{
    return s->len && len && start < s->start + s->len && s->start < start + len;
}

/* How many placed vGPUs share a range with @p: the most on any one of
 * its ranges, and in *any how many share at least one. */
static unsigned sharers(const struct used_sets *u, const struct vgt_vgpu_res *res,
                        const struct placement *p, unsigned *any)
{
    unsigned nl = 0, nh = 0, nf = 0;

    *any = 0;
    for (unsigned i = 0; i < u->n; i++) {
        bool l = meets(&u->low[i], p->low, res->low_size);
        bool h = meets(&u->high[i], p->high, res->high_size);
        bool f = meets(&u->fence[i], p->fence, res->fences);

        nl += l;
        nh += h;
        nf += f;
        *any += l || h || f;
    }
    return VGT_MAX(nl, VGT_MAX(nh, nf));
}

/* First fit where every range is free. When one is full, the new vGPU
 * shares the ranges of a placed one: of every placed vGPU's range set
 * (taken whole, so that sharers form groups and the rest run
 * concurrently), the one that the fewest vGPUs share, lowest first; and
 * only while no range would be shared by more than the limit. -EDQUOT
 * when only that limit stands in the way. */
static int place(const struct vgt_gpu *g, const struct used_sets *u,
                 const struct vgt_vgpu_res *res, struct placement *p)
{
    unsigned best_any = UINT32_MAX;
    bool too_many = false;

    if (!first_fit(u->low, u->n, g->low_start, g->low_end, res->low_size, &p->low) &&
        !first_fit(u->high, u->n, g->high_start, g->high_end, res->high_size, &p->high) &&
        !first_fit(u->fence, u->n, g->fence_start, g->fence_end, res->fences, &p->fence))
        return 0;
    if (g->share_limit <= 1)
        return -ENOSPC; /* static partitioning: a range is full */
    for (unsigned i = 0; i < u->n; i++) {
        struct placement c = {u->low[i].start, u->high[i].start, u->fence[i].start};
        unsigned any, most;

        if (!res->fences)
            c.fence = g->fence_start;
        if (!vgt_range_within(c.low, res->low_size, g->low_start, g->low_end - g->low_start) ||
            !vgt_range_within(c.high, res->high_size, g->high_start, g->high_end - g->high_start) ||
            (res->fences && !vgt_range_within(c.fence, res->fences, g->fence_start,
                                               g->fence_end - g->fence_start)))
            continue;
        most = sharers(u, res, &c, &any);
        if (most + 1 > g->share_limit) {
            too_many = true;
            continue;
        }
        if (any < best_any || (any == best_any && (c.low < p->low || (c.low == p->low && c.high < p->high)))) {
            best_any = any;
            *p = c;
        }
    }
    if (best_any != UINT32_MAX)
        return 0;
    return too_many ? -EDQUOT : -ENOSPC;
}

/* Called with g->lock held. */
int vgt_gpu_place_locked(struct vgt_gpu *g, const struct vgt_vgpu_res *res, uint64_t *low,
                         uint64_t *high, unsigned *fence)
{
    struct used_sets *u = malloc(sizeof(*u));
    struct placement p;
    int ret;

    if (!u)
        return -ENOMEM;
    collect(g, u);
    ret = place(g, u, res, &p);
    free(u);
    if (ret)
        return ret;
    *low = p.low;
    *high = p.high;
    *fence = (unsigned)p.fence;
    return 0;
}

int vgt_gpu_place_error(struct vgt_gpu *g, const struct vgt_vgpu_res *res)
{
    struct used_sets *u = malloc(sizeof(*u));
    struct placement p;
    int ret;

    if (!u)
        return -ENOMEM;
    pthread_mutex_lock(&g->lock);
    collect(g, u);
    ret = g->nr_vgpus >= VGT_MAX_VGPUS ? -ENOSPC : place(g, u, res, &p);
    pthread_mutex_unlock(&g->lock);
    free(u);
    return ret;
}

int vgt_gpu_set_share_limit(struct vgt_gpu *g, unsigned limit)
{
    if (!g || limit < 1 || limit > VGT_SHARE_LIMIT_MAX)
        return -EINVAL;
    pthread_mutex_lock(&g->lock);
    g->share_limit = limit;
    pthread_mutex_unlock(&g->lock);
    return 0;
}

unsigned vgt_gpu_share_limit(struct vgt_gpu *g)
{
    unsigned l;

    pthread_mutex_lock(&g->lock);
    l = g->share_limit;
    pthread_mutex_unlock(&g->lock);
    return l;
}

struct vgt_ggtt_phys *vgt_gpu_ggtt_phys(struct vgt_gpu *g)
{
    return g->phys;
}

static unsigned avail_locked(struct vgt_gpu *g, struct used_sets *u, const struct vgt_vgpu_res *res)
{
    struct placement p;
    unsigned count = 0;

    while (u->n < VGT_ARRAY_SIZE(u->low) && u->n < VGT_MAX_VGPUS &&
           place(g, u, res, &p) == 0) {
        u->low[u->n] = (struct span){p.low, res->low_size};
        u->high[u->n] = (struct span){p.high, res->high_size};
        u->fence[u->n] = (struct span){p.fence, res->fences};
        u->n++;
        count++;
        if (!res->low_size && !res->high_size && !res->fences)
            break; /* an empty request would fit forever */
    }
    return count;
}

unsigned vgt_gpu_avail(struct vgt_gpu *g, const struct vgt_vgpu_res *res)
{
    struct used_sets *u = malloc(sizeof(*u));
    unsigned count;

    if (!u)
        return 0;
    pthread_mutex_lock(&g->lock);
    collect(g, u);
    count = avail_locked(g, u, res);
    pthread_mutex_unlock(&g->lock);
    free(u);
    return count;
}

unsigned vgt_gpu_capacity(struct vgt_gpu *g, const struct vgt_vgpu_res *res)
{
    struct used_sets *u = malloc(sizeof(*u));
    unsigned n;

    if (!u)
        return 0;
    /* What an empty GPU holds: the same placement run from nothing. */
    pthread_mutex_lock(&g->lock);
    u->n = 0;
    n = avail_locked(g, u, res);
    pthread_mutex_unlock(&g->lock);
    free(u);
    return n;
}

static uint64_t largest_gap(const struct span *s, unsigned n, uint64_t lo, uint64_t hi,
                            uint64_t *total)
{
    uint64_t best = 0, c = lo;

    *total = 0;
    /* Walk upwards: next used span at or after c. */
    while (c < hi) {
        uint64_t next = hi, next_end = hi;

        for (unsigned i = 0; i < n; i++) {
            if (!s[i].len)
                continue;
            if (s[i].start <= c && c < s[i].start + s[i].len) {
                next = c;
                next_end = s[i].start + s[i].len;
                break;
            }
            if (s[i].start > c && s[i].start < next) {
                next = s[i].start;
                next_end = s[i].start + s[i].len;
            }
        }
        best = VGT_MAX(best, next - c);
        *total += next - c;
        c = next_end;
    }
    return best;
}

void vgt_gpu_get_free(struct vgt_gpu *g, struct vgt_gpu_free *f)
{
    struct used_sets *u = malloc(sizeof(*u));
    uint64_t t;

    memset(f, 0, sizeof(*f));
    if (!u)
        return;
    pthread_mutex_lock(&g->lock);
    collect(g, u);
    f->low = largest_gap(u->low, u->n, g->low_start, g->low_end, &f->low_total);
    f->high = largest_gap(u->high, u->n, g->high_start, g->high_end, &f->high_total);
    f->fences = (unsigned)largest_gap(u->fence, u->n, g->fence_start, g->fence_end, &t);
    pthread_mutex_unlock(&g->lock);
    free(u);
}

/* ---- the physical GPU object ---- */

int vgt_gpu_create(const struct vgt_gpu_cfg *cfg, struct vgt_gpu **out)
{
    struct vgt_hostgpu *hw;
    struct vgt_gpu *g;
    uint64_t host_low, host_high;
    unsigned host_fences;
    int ret;

    if (!cfg || !cfg->hw || !out)
        return -EINVAL;
    hw = cfg->hw;
    host_low = cfg->host_low ? cfg->host_low : VGT_HOST_LOW_DEFAULT;
    host_high = cfg->host_high ? cfg->host_high : VGT_HOST_HIGH_DEFAULT;
    host_fences = cfg->host_fences ? cfg->host_fences : VGT_HOST_FENCES_DEFAULT;
    if (hw->aperture_size > hw->gm_size || host_low > hw->aperture_size ||
        host_high > hw->gm_size - hw->aperture_size || host_fences > hw->num_fences ||
        hw->num_fences > VGT_MAX_FENCES || (hw->gm_size & (VGT_PAGE_SIZE - 1)) ||
        hw->gm_size > (VGT_GGTT_WINDOW_SIZE / 8) << VGT_PAGE_SHIFT) {
        vgt_err(cfg->log, "gpu: host reservation or GM layout does not fit the GPU");
        return -EINVAL;
    }
    g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->hw = hw;
    g->log = cfg->log;
    g->platform = VGT_PLAT_SKL; /* 8086:1912 and the sim model are Skylake GT2 */
    g->low_start = host_low;
    g->low_end = hw->aperture_size;
    g->high_start = hw->aperture_size + host_high;
    g->high_end = hw->gm_size;
    g->fence_start = host_fences;
    g->fence_end = hw->num_fences;
    g->share_limit = cfg->share_limit ? cfg->share_limit : VGT_SHARE_LIMIT_DEFAULT;
    if (g->share_limit > VGT_SHARE_LIMIT_MAX) {
        vgt_err(cfg->log, "gpu: graphics-memory share limit must be 1..%u", VGT_SHARE_LIMIT_MAX);
        ret = -EINVAL;
        goto free_gpu;
    }
    ret = vgt_ggtt_phys_create(hw, &g->phys);
    if (ret)
        goto free_gpu;
    ret = pthread_mutex_init(&g->lock, NULL);
    if (ret) {
        ret = -ret;
        goto free_phys;
    }
    g->now_ns = cfg->now_ns;
    g->clock_opaque = cfg->clock_opaque;
    g->manual_vblank = cfg->now_ns != NULL;
    ret = vgt_mmio_build_index(g);
    if (ret)
        goto destroy_lock;
    ret = vgt_vblank_timer_init(g);
    if (ret)
        goto free_index;
    *out = g;
    return 0;

free_index:
    free(g->reg_index);
destroy_lock:
    pthread_mutex_destroy(&g->lock);
free_phys:
    vgt_ggtt_phys_destroy(g->phys);
free_gpu:
    free(g);
    return ret;
}

void vgt_gpu_destroy(struct vgt_gpu *g)
{
    if (!g)
        return;
    /* The vblank thread first: it walks the vGPUs. */
    vgt_vblank_timer_fini(g);
    for (unsigned i = 0; i < VGT_MAX_VGPUS; i++)
        if (g->vgpus[i])
            vgt_vgpu_destroy(g->vgpus[i]);
    free(g->reg_index);
    pthread_mutex_destroy(&g->lock);
    vgt_ggtt_phys_destroy(g->phys);
    free(g);
}

struct vgt_hostgpu *vgt_gpu_hw(struct vgt_gpu *g)
{
    return g->hw;
}

unsigned vgt_gpu_list(struct vgt_gpu *g, struct vgt_vgpu **out, unsigned max)
{
    unsigned n = 0;

    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < VGT_MAX_VGPUS && n < max; i++)
        if (g->vgpus[i])
            out[n++] = g->vgpus[i];
    pthread_mutex_unlock(&g->lock);
    return n;
}

struct vgt_vgpu *vgt_gpu_find_domid(struct vgt_gpu *g, uint16_t domid)
{
    struct vgt_vgpu *v = NULL;

    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < VGT_MAX_VGPUS && !v; i++)
        if (g->vgpus[i] && g->vgpus[i]->domid == domid)
            v = g->vgpus[i];
    pthread_mutex_unlock(&g->lock);
    return v;
}

struct vgt_vgpu *vgt_gpu_find_id(struct vgt_gpu *g, unsigned id)
{
    struct vgt_vgpu *v = NULL;

    pthread_mutex_lock(&g->lock);
    if (id >= 1 && id <= VGT_MAX_VGPUS)
        v = g->vgpus[id - 1];
    pthread_mutex_unlock(&g->lock);
    return v;
}

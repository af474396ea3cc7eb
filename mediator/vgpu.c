/* vGPU lifecycle, PVINFO, virtual interrupts, failsafe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vgpu_priv.h"
#include "vgt/util.h"

/* GVT-g resets only the registers below the interrupt block on a guest
 * GT reset, keeping interrupts, display and PVINFO (gvt/mmio.c,
 * GVT_GEN8_MMIO_RESET_OFFSET). */
#define GUEST_RESET_END 0x44200u

/* Zero register-file bytes [from, to) (dwords). The file is page-aligned
 * memory of its own (vgt_vgpu_create), so its whole pages are dropped with
 * MADV_DONTNEED and the kernel refills them with zeroes at their next
 * touch (madvise(2), private anonymous memory): a reset costs the pages
 * written since, not a 2 MiB memset that faults in every page. */
void vgt_vgpu_vregs_zero(struct vgt_vgpu *v, uint32_t from, uint32_t to)
{
    uint8_t *base = (uint8_t *)v->vreg;
    uint32_t a = (uint32_t)((from + VGT_PAGE_SIZE - 1) & VGT_PAGE_MASK);
    uint32_t b = to & ~(uint32_t)(VGT_PAGE_SIZE - 1);

    if (a >= b || madvise(base + a, b - a, MADV_DONTNEED)) {
        memset(base + from, 0, to - from);
        return;
    }
    memset(base + from, 0, a - from);
    memset(base + b, 0, to - b);
}

static void pvinfo_init(struct vgt_vgpu *v)
{
    uint32_t *p = v->vreg + VGT_PVINFO_PAGE / 4;

    memset(p, 0, VGT_PVINFO_SIZE);
    p[VGT_PV_MAGIC / 4] = (uint32_t)VGT_MAGIC;
    p[VGT_PV_MAGIC / 4 + 1] = (uint32_t)(VGT_MAGIC >> 32);
    p[VGT_PV_VERSION_MAJOR / 4] = VGT_VERSION_MAJOR | (uint32_t)VGT_VERSION_MINOR << 16;
    p[VGT_PV_VGT_ID / 4] = v->id;
    p[VGT_PV_CAPS / 4] = VGT_CAPS_FULL_PPGTT | VGT_CAPS_HWSP_EMULATION | VGT_CAPS_HUGE_GTT;
    p[VGT_PV_MAPPABLE_BASE / 4] = (uint32_t)v->low_base;
    p[VGT_PV_MAPPABLE_SIZE / 4] = (uint32_t)v->res.low_size;
    p[VGT_PV_NONMAPPABLE_BASE / 4] = (uint32_t)v->high_base;
    p[VGT_PV_NONMAPPABLE_SIZE / 4] = (uint32_t)v->res.high_size;
    p[VGT_PV_FENCE_NUM / 4] = v->res.fences;
}

/* Loads host fence @hf (the GGTT shadow calls it when this vGPU owns
 * the fence: at a write, a residency switch or teardown). Disable first,
 * enable last (i915 i965_write_fence_reg's order). */
static void fence_load(void *opaque, unsigned hf, uint32_t lo, uint32_t hi)
{
    struct vgt_hostgpu *hw = opaque;

    hw->ops->mmio_write32(hw, FENCE_REG_GEN6_LO(hf), 0);
    hw->ops->mmio_write32(hw, FENCE_REG_GEN6_HI(hf), hi);
    hw->ops->mmio_write32(hw, FENCE_REG_GEN6_LO(hf), lo);
}

static void host_fences_clear(struct vgt_vgpu *v)
{
    for (unsigned i = 0; i < v->res.fences; i++)
        vgt_ggtt_set_fence(v->ggtt, i, 0, 0);
}

/* @zeroed: the file is fresh from calloc, so only the rows with a reset
 * value are written (touching all 2 MiB would fault in every page). */
static void vregs_init(struct vgt_vgpu *v, bool zeroed)
{
    if (zeroed)
        vgt_mmio_set_reset_values(v, 0, VGT_MMIO_SIZE);
    else
        vgt_mmio_init_vregs(v, 0, VGT_MMIO_SIZE);
    pvinfo_init(v);
    vgt_display_init(v);
}

static int res_ok(const struct vgt_vgpu_res *r)
{
    const uint64_t mib = 1ull << 20;

    struct vgt_mode m;

    if (!r->low_size || !r->high_size || (r->low_size % mib) || (r->high_size % mib) ||
        r->low_size > UINT32_MAX || r->high_size > UINT32_MAX || r->fences > VGT_MAX_FENCES)
        return -EINVAL;
    if (r->heads > VGT_MAX_HEADS || (r->heads && vgt_display_mode(r->res_w, r->res_h, &m)))
        return -EINVAL;
    return 0;
}

int vgt_vgpu_create(struct vgt_gpu *g, const struct vgt_vgpu_cfg *cfg, struct vgt_vgpu **out)
{
    struct vgt_ggtt_cfg gc;
    pthread_mutexattr_t ma;
    struct vgt_vgpu *v;
    unsigned slot;
    int ret;

    if (!g || !cfg || !cfg->hv || !out || res_ok(&cfg->res))
        return -EINVAL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    /* Page-aligned for vgt_vgpu_vregs_zero; zeroed without a write. */
    v->vreg = aligned_alloc(VGT_PAGE_SIZE, VGT_MMIO_SIZE);
    if (!v->vreg) {
        ret = -ENOMEM;
        goto free_vgpu;
    }
    vgt_vgpu_vregs_zero(v, 0, VGT_MMIO_SIZE);
    v->unlisted_seen = calloc(VGT_MMIO_SIZE / 4 / 64, sizeof(*v->unlisted_seen));
    if (!v->unlisted_seen) {
        ret = -ENOMEM;
        goto free_vreg;
    }
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    ret = -pthread_mutex_init(&v->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    if (ret)
        goto free_seen;
    v->gpu = g;
    v->hv = cfg->hv;
    v->log = cfg->log ? cfg->log : g->log;
    v->domid = cfg->domid;
    v->res = cfg->res;
    v->populate = cfg->populate;
    v->populate_opaque = cfg->populate_opaque;
    v->pci_range = -1;
    v->bar0_range = -1;
    snprintf(v->type, sizeof(v->type), "%s", cfg->type_name ? cfg->type_name : "custom");

    pthread_mutex_lock(&g->lock);
    for (slot = 0; slot < VGT_MAX_VGPUS; slot++)
        if (g->vgpus[slot] && g->vgpus[slot]->domid == cfg->domid) {
            ret = -EEXIST;
            goto unlock_gpu;
        }
    for (slot = 0; slot < VGT_MAX_VGPUS && g->vgpus[slot]; slot++)
        ;
    if (slot == VGT_MAX_VGPUS) {
        ret = -ENOSPC;
        goto unlock_gpu;
    }
    ret = vgt_gpu_place_locked(g, &v->res, &v->low_base, &v->high_base, &v->fence_base);
    if (ret)
        goto unlock_gpu;
    v->id = slot + 1;
    gc = (struct vgt_ggtt_cfg){.gpu = g->hw, .hv = v->hv, .log = v->log,
                               .low_base = v->low_base, .low_size = v->res.low_size,
                               .high_base = v->high_base, .high_size = v->res.high_size,
                               .phys = g->phys, .fence_base = v->fence_base,
                               .fences = v->res.fences, .fence_load = fence_load,
                               .fence_opaque = g->hw};
    /* A vGPU sharing nobody's ranges is resident (entries and cleared
     * fences loaded) from here; one that shares loads at its first
     * dispatch. */
    ret = vgt_ggtt_create(&gc, &v->ggtt);
    if (ret)
        goto unlock_gpu;
    vgt_cfg_init(v);
    vregs_init(v, true);
    g->vgpus[slot] = v;
    g->nr_vgpus++;
    pthread_mutex_unlock(&g->lock);
    VGT_LOG_F(v->log, VGT_LOG_INFO, &(struct vgt_log_fields){.vgpu = (int)v->id, .domid = v->domid},
              "vgpu%u: domain %u type %s: low GM [%#llx,+%#llx) high GM [%#llx,+%#llx) fences %u+%u",
              v->id, v->domid, v->type, (unsigned long long)v->low_base,
              (unsigned long long)v->res.low_size, (unsigned long long)v->high_base,
              (unsigned long long)v->res.high_size, v->fence_base, v->res.fences);
    *out = v;
    return 0;

unlock_gpu:
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_destroy(&v->lock);
free_seen:
    free(v->unlisted_seen);
free_vreg:
    free(v->vreg);
free_vgpu:
    free(v);
    return ret;
}

void vgt_vgpu_destroy(struct vgt_vgpu *v)
{
    struct vgt_gpu *g;

    if (!v)
        return;
    g = v->gpu;
    vgt_vgpu_detach(v);
    pthread_mutex_lock(&g->lock);
    g->vgpus[v->id - 1] = NULL;
    g->nr_vgpus--;
    pthread_mutex_unlock(&g->lock);
    /* Nothing of it may stay reachable by the GPU (the fences it owns
     * are cleared too). */
    vgt_ggtt_destroy(v->ggtt);
    VGT_LOG_F(v->log, VGT_LOG_INFO, &(struct vgt_log_fields){.vgpu = (int)v->id, .domid = v->domid},
              "vgpu%u: destroyed, resources returned", v->id);
    pthread_mutex_destroy(&v->lock);
    free(v->unlisted_seen);
    free(v->vreg);
    free(v);
}

void vgt_vgpu_set_hooks(struct vgt_vgpu *v, const struct vgt_vgpu_hooks *h)
{
    pthread_mutex_lock(&v->lock);
    if (h)
        v->hooks = *h;
    else
        memset(&v->hooks, 0, sizeof(v->hooks));
    pthread_mutex_unlock(&v->lock);
}

/* ---- guest accesses ---- */

int vgt_vgpu_cfg_read(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t *val)
{
    int ret;

    pthread_mutex_lock(&v->lock);
    v->st.cfg_reads++;
    ret = vgt_cfg_read(v, off, size, val);
    pthread_mutex_unlock(&v->lock);
    return ret;
}

int vgt_vgpu_cfg_write(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t val)
{
    int ret;

    pthread_mutex_lock(&v->lock);
    v->st.cfg_writes++;
    ret = vgt_cfg_write(v, off, size, val);
    pthread_mutex_unlock(&v->lock);
    return ret;
}

int vgt_vgpu_mmio_read(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t *val)
{
    int ret;

    pthread_mutex_lock(&v->lock);
    ret = vgt_mmio_read(v, off, size, val);
    pthread_mutex_unlock(&v->lock);
    return ret;
}

int vgt_vgpu_mmio_write(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t val)
{
    int ret;

    pthread_mutex_lock(&v->lock);
    ret = vgt_mmio_write(v, off, size, val);
    pthread_mutex_unlock(&v->lock);
    return ret;
}

/* ---- interrupts ---- */

/* GT interrupt register group and bit shift per engine (i915
 * GEN8_RCS_IRQ_SHIFT 0 / GEN8_BCS_IRQ_SHIFT 16 in GT0, VCS0 in GT1, VECS
 * in GT3). */
static const struct {
    unsigned gt, shift;
} engine_irq[VGT_ENGINE_NUM] = {
    [VGT_ENGINE_RCS] = {0, 0},
    [VGT_ENGINE_BCS] = {0, 16},
    [VGT_ENGINE_VCS] = {1, 0},
    [VGT_ENGINE_VECS] = {3, 0},
};

static bool irq_pending(const struct vgt_vgpu *v)
{
    if (!(v->vreg[GEN8_MASTER_IRQ / 4] & GEN8_MASTER_IRQ_CONTROL))
        return false;
    for (unsigned n = 0; n < 4; n++)
        if (v->vreg[GEN8_GT_IIR(n) / 4])
            return true;
    return vgt_display_master_bits(v) != 0;
}

/* Edge semantics of an MSI: one message when the summary goes from idle
 * to pending; the guest's handler clears the master bit, acknowledges IIR
 * and sets the master bit again, which raises a new message if events
 * arrived in between. */
void vgt_vgpu_update_irq(struct vgt_vgpu *v)
{
    uint64_t addr;
    uint32_t data;

    if (!irq_pending(v)) {
        v->irq_line = false;
        return;
    }
    if (v->irq_line || !vgt_cfg_msi(v, &addr, &data))
        return;
    if (v->hv->ops->inject_msi(v->hv, addr, data) == 0) {
        v->irq_line = true;
        v->st.msi_injected++;
    }
}

int vgt_vgpu_raise_event(struct vgt_vgpu *v, unsigned engine, uint32_t events)
{
    uint32_t bits = 0, latch;
    uint64_t before;
    unsigned gt;

    if (engine >= VGT_ENGINE_NUM)
        return -EINVAL;
    if (events & VGT_GPU_EV_USER_INTERRUPT)
        bits |= GT_RENDER_USER_INTERRUPT;
    if (events & VGT_GPU_EV_CTX_SWITCH)
        bits |= GT_CONTEXT_SWITCH_INTERRUPT;
    bits <<= engine_irq[engine].shift;
    gt = engine_irq[engine].gt;
    pthread_mutex_lock(&v->lock);
    before = v->st.msi_injected;
    /* Only events the guest enabled and did not mask are latched. */
    latch = bits & v->vreg[GEN8_GT_IER(gt) / 4] & ~v->vreg[GEN8_GT_IMR(gt) / 4];
    v->vreg[GEN8_GT_IIR(gt) / 4] |= latch;
    vgt_vgpu_update_irq(v);
    before = v->st.msi_injected - before;
    pthread_mutex_unlock(&v->lock);
    return before ? 1 : 0;
}

/* ---- reset and failsafe ---- */

static const char *const reason_names[] = {
    [VGT_FAILSAFE_NONE] = "none",
    [VGT_FAILSAFE_GUEST_ERROR] = "guest-error",
    [VGT_FAILSAFE_UNSUPPORTED_GUEST] = "unsupported-guest",
    [VGT_FAILSAFE_INSUFFICIENT_RESOURCE] = "insufficient-resource",
    [VGT_FAILSAFE_ADMIN] = "admin",
    [VGT_FAILSAFE_GPU_HANG] = "gpu-hang",
};

const char *vgt_failsafe_reason_name(enum vgt_failsafe_reason r)
{
    return (unsigned)r < VGT_ARRAY_SIZE(reason_names) ? reason_names[r] : "unknown";
}

void vgt_vgpu_enter_failsafe(struct vgt_vgpu *v, enum vgt_failsafe_reason r, const char *detail)
{
    pthread_mutex_lock(&v->lock);
    if (!v->failsafe) {
        v->failsafe = true;
        v->fs_reason = r;
        if ((unsigned)r < VGT_FAILSAFE_NR_REASONS)
            v->st.failsafe_by_reason[r]++;
        snprintf(v->fs_detail, sizeof(v->fs_detail), "%s", detail ? detail : "");
        vgt_ggtt_set_failsafe(v->ggtt, true);
        /* The reason is a field of its own so that journalctl VGT_REASON=
         * finds every failsafe of one kind. */
        VGT_LOG_F(v->log, VGT_LOG_ERR,
                  &(struct vgt_log_fields){.vgpu = (int)v->id, .domid = v->domid,
                                           .reason = vgt_failsafe_reason_name(r)},
                  "vgpu%u: failsafe (%s%s%s): only its virtual state changes until reset",
                  v->id, vgt_failsafe_reason_name(r), detail ? ": " : "", detail ? detail : "");
        if (v->hooks.failsafe)
            v->hooks.failsafe(v->hooks.opaque, v);
    }
    pthread_mutex_unlock(&v->lock);
}

bool vgt_vgpu_in_failsafe(struct vgt_vgpu *v)
{
    bool f;

    pthread_mutex_lock(&v->lock);
    f = v->failsafe;
    pthread_mutex_unlock(&v->lock);
    return f;
}

/* The guest's own reset through GDRST: engines (or everything) restart,
 * but a guest cannot talk itself out of failsafe. */
void vgt_vgpu_guest_reset(struct vgt_vgpu *v, uint32_t grdom)
{
    unsigned mask = 0;

    if (grdom & GEN6_GRDOM_FULL)
        mask = (1u << VGT_ENGINE_NUM) - 1;
    if (grdom & GEN6_GRDOM_RENDER)
        mask |= 1u << VGT_ENGINE_RCS;
    if (grdom & GEN6_GRDOM_MEDIA)
        mask |= 1u << VGT_ENGINE_VCS;
    if (grdom & GEN6_GRDOM_BLT)
        mask |= 1u << VGT_ENGINE_BCS;
    if (grdom & GEN6_GRDOM_VECS)
        mask |= 1u << VGT_ENGINE_VECS;
    if (!mask)
        return;
    v->st.resets++;
    if (v->hooks.reset)
        v->hooks.reset(v->hooks.opaque, v, mask, false);
    if (grdom & GEN6_GRDOM_FULL)
        vgt_mmio_init_vregs(v, 0, GUEST_RESET_END);
}

void vgt_vgpu_invalidate(struct vgt_vgpu *v)
{
    if (!v)
        return;
    /* Under the vGPU lock: no submission (it takes this lock) picks up a
     * stale translation while the shadows change. */
    pthread_mutex_lock(&v->lock);
    v->st.invalidates++;
    v->st.ggtt_revalidated += vgt_ggtt_revalidate(v->ggtt);
    if (v->hooks.invalidate)
        v->hooks.invalidate(v->hooks.opaque, v);
    pthread_mutex_unlock(&v->lock);
    vgt_info(v->log, "vgpu%u: guest p2m changed: shadows revalidated", v->id);
}

int vgt_vgpu_reset(struct vgt_vgpu *v)
{
    pthread_mutex_lock(&v->lock);
    if (v->hooks.reset)
        v->hooks.reset(v->hooks.opaque, v, (1u << VGT_ENGINE_NUM) - 1, true);
    vgt_cfg_init(v);
    vgt_ggtt_reset(v->ggtt);
    vgt_ggtt_set_failsafe(v->ggtt, false);
    host_fences_clear(v);
    vregs_init(v, false);
    v->irq_line = false;
    v->failsafe = false;
    v->fs_reason = VGT_FAILSAFE_NONE;
    v->fs_detail[0] = 0;
    v->st.resets++;
    pthread_mutex_unlock(&v->lock);
    /* Decoding is off again: BAR0 unmapped. Outside the vGPU lock, since
     * the ioreq loop takes its registry lock before the vGPU's. */
    vgt_vgpu_remap_bars(v);
    VGT_LOG_F(v->log, VGT_LOG_INFO, &(struct vgt_log_fields){.vgpu = (int)v->id, .domid = v->domid},
              "vgpu%u: device-model reset", v->id);
    return 0;
}

/* ---- reports and accessors ---- */

void vgt_vgpu_get_info(struct vgt_vgpu *v, struct vgt_vgpu_info *info)
{
    memset(info, 0, sizeof(*info));
    pthread_mutex_lock(&v->lock);
    info->id = v->id;
    info->domid = v->domid;
    snprintf(info->type, sizeof(info->type), "%s", v->type);
    info->low_base = v->low_base;
    info->low_size = v->res.low_size;
    info->high_base = v->high_base;
    info->high_size = v->res.high_size;
    info->fence_base = v->fence_base;
    info->fence_num = v->res.fences;
    info->attached = v->srv != NULL;
    info->display_ready = v->vreg[(VGT_PVINFO_PAGE + VGT_PV_DISPLAY_READY) / 4] == VGT_DRV_DISPLAY_READY;
    info->failsafe = v->failsafe;
    info->failsafe_reason = v->fs_reason;
    snprintf(info->failsafe_detail, sizeof(info->failsafe_detail), "%s", v->fs_detail);
    info->bar0 = vgt_cfg_bar(v, VGT_CFG_BAR0, VGT_BAR0_SIZE);
    info->bar2 = vgt_cfg_bar(v, VGT_CFG_BAR2, vgt_bar2_size(v));
    info->heads = v->dpy.heads;
    info->res_w = v->dpy.heads ? v->dpy.mode.w : 0;
    info->res_h = v->dpy.heads ? v->dpy.mode.h : 0;
    info->pipes_on = __atomic_load_n(&v->dpy_pipes_on, __ATOMIC_ACQUIRE);
    info->st = v->st;
    pthread_mutex_unlock(&v->lock);
}

const char *vgt_vgpu_state_name(const struct vgt_vgpu_info *info)
{
    if (info->failsafe)
        return "failsafe";
    if (info->display_ready)
        return "running";
    return info->attached ? "attached" : "created";
}

unsigned vgt_vgpu_id(const struct vgt_vgpu *v)
{
    return v->id;
}

struct vgt_hv *vgt_vgpu_hv(struct vgt_vgpu *v)
{
    return v->hv;
}

struct vgt_gpu *vgt_vgpu_gpu(struct vgt_vgpu *v)
{
    return v->gpu;
}

struct vgt_ggtt *vgt_vgpu_ggtt(struct vgt_vgpu *v)
{
    return v->ggtt;
}

bool vgt_vgpu_gm_valid(struct vgt_vgpu *v, uint64_t gm, uint64_t len)
{
    return vgt_ggtt_gm_valid(v->ggtt, gm, len);
}

uint32_t vgt_vgpu_vreg(struct vgt_vgpu *v, uint32_t off)
{
    uint32_t r = 0;

    pthread_mutex_lock(&v->lock);
    if (off < VGT_MMIO_SIZE && !(off & 3))
        r = v->vreg[off / 4];
    pthread_mutex_unlock(&v->lock);
    return r;
}

void vgt_vgpu_set_vreg(struct vgt_vgpu *v, uint32_t off, uint32_t val)
{
    pthread_mutex_lock(&v->lock);
    if (off < VGT_MMIO_SIZE && !(off & 3))
        v->vreg[off / 4] = val;
    pthread_mutex_unlock(&v->lock);
}

int vgt_vgpu_gm_to_gpa(struct vgt_vgpu *v, uint64_t gm, uint64_t *gpa)
{
    int ret;

    pthread_mutex_lock(&v->lock);
    ret = vgt_ggtt_lookup(v->ggtt, gm, gpa);
    pthread_mutex_unlock(&v->lock);
    return ret;
}

int vgt_vgpu_aperture_access(struct vgt_vgpu *v, uint64_t gm, unsigned size, uint64_t *val, bool write)
{
    uint64_t gpa;

    if (!size || size > sizeof(*val) || ((gm & (VGT_PAGE_SIZE - 1)) + size) > VGT_PAGE_SIZE ||
        !vgt_range_within(gm, size, v->low_base, v->res.low_size) || vgt_vgpu_gm_to_gpa(v, gm, &gpa) ||
        (write ? vgt_hv_write(v->hv, gpa, val, size) : (*val = 0, vgt_hv_read(v->hv, gpa, val, size)))) {
        if (!write)
            *val = ~0ull;
        return -EFAULT;
    }
    return 0;
}

int vgt_vgpu_ggtt_guest_entries(struct vgt_vgpu *v, uint64_t gm, unsigned n, uint64_t *pte)
{
    int ret = 0;

    if (!n || !vgt_ggtt_gm_valid(v->ggtt, gm & VGT_PAGE_MASK, (uint64_t)n << VGT_PAGE_SHIFT))
        return -EFAULT;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < n && !ret; i++)
        ret = vgt_ggtt_guest_read(v->ggtt, ((gm >> VGT_PAGE_SHIFT) + i) * 8, 8, &pte[i]);
    pthread_mutex_unlock(&v->lock);
    return ret;
}

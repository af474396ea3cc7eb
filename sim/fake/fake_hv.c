#include "fake_hv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/util.h"

static struct fake_hv *to_fake(struct vgt_hv *hv)
{
    return (struct fake_hv *)hv;
}

void *fake_hv_gfn_ptr(struct fake_hv *f, uint64_t gfn)
{
    if (gfn >= f->hv.max_gfn)
        return NULL;
    return sim_arena_ptr(f->arena, f->p2m[gfn], VGT_PAGE_SIZE);
}

bool fake_hv_is_wp(const struct fake_hv *f, uint64_t gfn)
{
    return gfn < f->hv.max_gfn && f->wp[gfn];
}

static int check_span(struct fake_hv *f, uint64_t gpa, size_t len)
{
    uint64_t ram = f->hv.max_gfn << VGT_PAGE_SHIFT;

    return vgt_range_within(gpa, len, 0, ram) ? 0 : -EFAULT;
}

/* Emulator-side copies (foreign mapping): never trapped. */
static int copy(struct fake_hv *f, uint64_t gpa, void *buf, size_t len, bool write)
{
    if (len == 0)
        return 0;
    if (check_span(f, gpa, len))
        return -EFAULT;
    while (len) {
        size_t off = gpa & (VGT_PAGE_SIZE - 1);
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - off);
        uint8_t *p = fake_hv_gfn_ptr(f, gpa >> VGT_PAGE_SHIFT);

        if (write)
            memcpy(p + off, buf, n);
        else
            memcpy(buf, p + off, n);
        buf = (uint8_t *)buf + n;
        gpa += n;
        len -= n;
    }
    return 0;
}

static int op_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    return copy(to_fake(hv), gpa, buf, len, false);
}

static int op_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    return copy(to_fake(hv), gpa, (void *)buf, len, true);
}

static int op_gfn_to_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    struct fake_hv *f = to_fake(hv);

    if (gfn >= hv->max_gfn)
        return -EFAULT;
    *dma = f->p2m[gfn];
    return 0;
}

static int op_set_wp(struct vgt_hv *hv, uint64_t gfn, uint64_t nr, bool protect)
{
    struct fake_hv *f = to_fake(hv);

    if (gfn >= hv->max_gfn || nr > hv->max_gfn - gfn)
        return -EFAULT;
    f->wp_calls++;
    memset(f->wp + gfn, protect ? 1 : 0, nr);
    return 0;
}

static int op_set_wp_handler(struct vgt_hv *hv, vgt_hv_wp_fn fn, void *opaque)
{
    struct fake_hv *f = to_fake(hv);

    f->wp_fn = fn;
    f->wp_opaque = opaque;
    return 0;
}

static int op_inject_msi(struct vgt_hv *hv, uint64_t addr, uint32_t data)
{
    struct fake_hv *f = to_fake(hv);

    f->nr_msi++;
    f->last_msi_addr = addr;
    f->last_msi_data = data;
    return 0;
}

static int op_mark_dirty(struct vgt_hv *hv, uint64_t gfn, uint64_t nr)
{
    if (gfn >= hv->max_gfn || nr > hv->max_gfn - gfn)
        return -EFAULT;
    to_fake(hv)->dirty_pages += nr;
    return 0;
}

static int op_cmpxchg(struct vgt_hv *hv, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    struct fake_hv *f = to_fake(hv);
    uint64_t *p;

    if (gpa & 7)
        return -EINVAL;
    if (check_span(f, gpa, 8))
        return -EFAULT;
    p = (uint64_t *)((uint8_t *)fake_hv_gfn_ptr(f, gpa >> VGT_PAGE_SHIFT) + (gpa & (VGT_PAGE_SIZE - 1)));
    if (__atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 0;
    return -EAGAIN;
}

static const struct vgt_hv_ops fake_hv_ops = {
    .read_gpa = op_read,
    .write_gpa = op_write,
    .gfn_to_dma = op_gfn_to_dma,
    .set_wp = op_set_wp,
    .set_wp_handler = op_set_wp_handler,
    .inject_msi = op_inject_msi,
    .mark_dirty = op_mark_dirty,
    .cmpxchg_gpa = op_cmpxchg,
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Fisher-Yates over @n units of @unit frames each. */
static void scramble(uint64_t *p2m, uint64_t base, uint64_t n, uint64_t unit, unsigned seed)
{
    uint64_t *perm = malloc(n * sizeof(*perm));
    uint64_t s = 0x9e3779b97f4a7c15ull ^ seed;

    for (uint64_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = xorshift(&s) % (i + 1);
        uint64_t t = perm[i];

        perm[i] = perm[j];
        perm[j] = t;
    }
    /* Guarantee a non-identity map even for tiny guests. */
    if (n > 1 && perm[0] == 0) {
        perm[0] = perm[1];
        perm[1] = 0;
    }
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < unit; k++)
            p2m[i * unit + k] = base + ((perm[i] * unit + k) << VGT_PAGE_SHIFT);
    free(perm);
}

int fake_hv_create(struct sim_arena *a, uint16_t domid, uint64_t ram_bytes,
                   enum fake_hv_layout layout, unsigned seed, struct fake_hv **out)
{
    const uint64_t unit = layout == FAKE_HV_SCRAMBLE_2M ? 512 : 1;
    struct fake_hv *f;
    uint64_t nr = ram_bytes >> VGT_PAGE_SHIFT;
    int ret;

    if (nr == 0 || nr % unit)
        return -EINVAL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->p2m = calloc(nr, sizeof(*f->p2m));
    f->wp = calloc(nr, 1);
    if (!f->p2m || !f->wp) {
        ret = -ENOMEM;
        goto free_tables;
    }
    ret = sim_arena_alloc(a, nr, unit, &f->backing);
    if (ret)
        goto free_tables;
    f->nr_backing = nr;
    f->arena = a;
    scramble(f->p2m, f->backing, nr / unit, unit, seed);
    f->hv.ops = &fake_hv_ops;
    f->hv.domid = domid;
    f->hv.max_gfn = nr;
    *out = f;
    return 0;

free_tables:
    free(f->p2m);
    free(f->wp);
    free(f);
    return ret;
}

void fake_hv_destroy(struct fake_hv *f)
{
    if (!f)
        return;
    sim_arena_free(f->arena, f->backing, f->nr_backing);
    free(f->p2m);
    free(f->wp);
    free(f);
}

int fake_hv_guest_read(struct fake_hv *f, uint64_t gpa, void *buf, size_t len)
{
    return copy(f, gpa, buf, len, false);
}

/* Largest aligned power-of-two piece (<= 8) at gpa that fits in len. */
static unsigned piece(uint64_t gpa, size_t len)
{
    unsigned sz = 8;

    while (sz > 1 && ((gpa & (sz - 1)) || sz > len))
        sz >>= 1;
    return sz;
}

int fake_hv_guest_write(struct fake_hv *f, uint64_t gpa, const void *buf, size_t len)
{
    const uint8_t *src = buf;

    if (check_span(f, gpa, len))
        return -EFAULT;
    while (len) {
        uint64_t gfn = gpa >> VGT_PAGE_SHIFT;
        unsigned sz = piece(gpa, len);
        uint64_t val = 0;
        int ret;

        if (!f->wp[gfn]) {
            ret = copy(f, gpa, (void *)src, sz, true);
        } else if (f->wp_fn) {
            memcpy(&val, src, sz);
            f->wp_traps++;
            ret = f->wp_fn(f->wp_opaque, gpa, sz, val);
        } else {
            ret = -EPERM; /* protected with nobody to forward to */
        }
        if (ret)
            return ret;
        src += sz;
        gpa += sz;
        len -= sz;
    }
    return 0;
}

int fake_hv_guest_write64(struct fake_hv *f, uint64_t gpa, uint64_t val)
{
    return fake_hv_guest_write(f, gpa, &val, 8);
}

int fake_hv_guest_write32(struct fake_hv *f, uint64_t gpa, uint32_t val)
{
    return fake_hv_guest_write(f, gpa, &val, 4);
}

/* ---- fake host GPU ---- */

#define FAKE_REGS_BYTES (2u << 20)

static struct fake_hostgpu *to_gpu(struct vgt_hostgpu *g)
{
    return (struct fake_hostgpu *)g;
}

static uint32_t g_read32(struct vgt_hostgpu *g, uint32_t off)
{
    if (off >= FAKE_REGS_BYTES || (off & 3))
        return 0xffffffffu;
    return to_gpu(g)->regs[off / 4];
}

static void g_write32(struct vgt_hostgpu *g, uint32_t off, uint32_t val)
{
    if (off < FAKE_REGS_BYTES && !(off & 3))
        to_gpu(g)->regs[off / 4] = val;
}

static int g_ggtt_write(struct vgt_hostgpu *g, uint64_t index, uint64_t pte)
{
    struct fake_hostgpu *f = to_gpu(g);

    if (index >= f->nr_ggtt)
        return -EINVAL;
    f->ggtt[index] = pte;
    return 0;
}

static int g_ggtt_read(struct vgt_hostgpu *g, uint64_t index, uint64_t *pte)
{
    struct fake_hostgpu *f = to_gpu(g);

    if (index >= f->nr_ggtt)
        return -EINVAL;
    *pte = f->ggtt[index];
    return 0;
}

static int g_alloc_page(struct vgt_hostgpu *g, uint64_t *dma, void **va)
{
    struct fake_hostgpu *f = to_gpu(g);
    int ret = sim_arena_alloc(f->arena, 1, 1, dma);

    if (ret)
        return ret;
    *va = sim_arena_ptr(f->arena, *dma, VGT_PAGE_SIZE);
    f->pages_live++;
    return 0;
}

static void g_free_page(struct vgt_hostgpu *g, uint64_t dma)
{
    struct fake_hostgpu *f = to_gpu(g);

    if (sim_arena_free(f->arena, dma, 1) == 0)
        f->pages_live--;
}

static void *g_dma_to_va(struct vgt_hostgpu *g, uint64_t dma)
{
    return sim_arena_ptr(to_gpu(g)->arena, dma & VGT_PAGE_MASK, VGT_PAGE_SIZE);
}

static int g_set_irq(struct vgt_hostgpu *g, vgt_hostgpu_irq_fn fn, void *opaque)
{
    to_gpu(g)->irq_fn = fn;
    to_gpu(g)->irq_opaque = opaque;
    return 0;
}

static const struct vgt_hostgpu_ops fake_gpu_ops = {
    .mmio_read32 = g_read32,
    .mmio_write32 = g_write32,
    .ggtt_write = g_ggtt_write,
    .ggtt_read = g_ggtt_read,
    .alloc_page = g_alloc_page,
    .free_page = g_free_page,
    .dma_to_va = g_dma_to_va,
    .set_irq_handler = g_set_irq,
};

int fake_hostgpu_create(struct sim_arena *a, uint64_t gm_size, uint64_t aperture_size,
                        unsigned fences, struct fake_hostgpu **out)
{
    struct fake_hostgpu *g = calloc(1, sizeof(*g));
    int ret;

    if (!g)
        return -ENOMEM;
    g->arena = a;
    g->nr_ggtt = gm_size >> VGT_PAGE_SHIFT;
    g->regs = calloc(FAKE_REGS_BYTES / 4, 4);
    g->ggtt = calloc(g->nr_ggtt, 8);
    if (!g->regs || !g->ggtt) {
        ret = -ENOMEM;
        goto free_tables;
    }
    ret = sim_arena_alloc(a, 1, 1, &g->gpu.scratch_dma);
    if (ret)
        goto free_tables;
    g->gpu.ops = &fake_gpu_ops;
    g->gpu.vendor = 0x8086;
    g->gpu.device = 0x1912;
    g->gpu.gm_size = gm_size;
    g->gpu.aperture_size = aperture_size;
    g->gpu.num_fences = fences;
    *out = g;
    return 0;

free_tables:
    free(g->regs);
    free(g->ggtt);
    free(g);
    return ret;
}

void fake_hostgpu_destroy(struct fake_hostgpu *g)
{
    if (!g)
        return;
    sim_arena_free(g->arena, g->gpu.scratch_dma, 1);
    free(g->regs);
    free(g->ggtt);
    free(g);
}

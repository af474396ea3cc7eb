/* The hv seam on Xen: guest memory through foreign mappings kept in a
 * bounded map cache (vgt/mapcache.h), MSIs and dirty tracking through
 * DMOPs. Write protection is implemented by the engine on the backend's
 * claim_wp/set_wp. gfn_to_dma hands the host GPU the address of the
 * cached mapping, as the platform's dma ops say (pagemap frame, or the
 * simulated GPU's arena import). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "xen_internal.h"
#include "vgt/util.h"


static struct xen_be *hv_be(struct vgt_hv *hv)
{
    return (struct xen_be *)((char *)hv - offsetof(struct xen_be, hv));
}

/* The cache's mapper: one guest frame, read-write. */
static void *fmem_map(void *opaque, uint64_t gfn, int *ret)
{
    struct xen_be *be = opaque;
    xen_pfn_t pfn = gfn;
    int err = 0;
    void *p = xenforeignmemory_map(be->fmem, be->domid, PROT_READ | PROT_WRITE, 1, &pfn, &err);

    if (!p) {
        /* The guest died under us: not an error of ours (debug). */
        *ret = vgt_xen_teardown_fail(be, "xenforeignmemory_map");
        return NULL;
    }
    if (err) {
        xenforeignmemory_unmap(be->fmem, p, 1);
        *ret = -EFAULT; /* not guest RAM */
        return NULL;
    }
    return p;
}

static void fmem_unmap(void *opaque, void *page)
{
    struct xen_be *be = opaque;

    if (xenforeignmemory_unmap(be->fmem, page, 1) < 0)
        vgt_xen_teardown_fail(be, "xenforeignmemory_unmap");
}

static int copy_gpa(struct xen_be *be, uint64_t gpa, void *buf, size_t len, bool write)
{
    uint8_t *b = buf;

    if (len && (gpa + len - 1 < gpa || ((gpa + len - 1) >> VGT_PAGE_SHIFT) >= be->hv.max_gfn))
        return -EFAULT;
    while (len) {
        size_t off = gpa & (VGT_PAGE_SIZE - 1);
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - off);
        struct vgt_mapcache_ent *ent;
        uint8_t *p;
        int ret = vgt_mapcache_get(be->mc, gpa >> VGT_PAGE_SHIFT, (void **)&p, &ent);

        if (ret)
            return ret;
        if (write)
            memcpy(p + off, b, n);
        else
            memcpy(b, p + off, n);
        vgt_mapcache_put(be->mc, ent);
        gpa += n;
        b += n;
        len -= n;
    }
    return 0;
}

static int xhv_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    return copy_gpa(hv_be(hv), gpa, buf, len, false);
}

static int xhv_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    return copy_gpa(hv_be(hv), gpa, (void *)buf, len, true);
}

/* The mapping stays held (never evicted) while the shadows may have the
 * address in GPU page tables: until an INVALIDATE or the guest's death. */
static int xhv_gfn_to_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    struct xen_be *be = hv_be(hv);

    if (gfn >= be->hv.max_gfn)
        return -EFAULT;
    return vgt_mapcache_dma(be->mc, gfn, dma);
}

static int xhv_set_wp(struct vgt_hv *hv, uint64_t gfn, uint64_t nr, bool protect)
{
    (void)hv, (void)gfn, (void)nr, (void)protect;
    return -EOPNOTSUPP;
}

static int xhv_set_wp_handler(struct vgt_hv *hv, vgt_hv_wp_fn fn, void *opaque)
{
    (void)hv, (void)fn, (void)opaque;
    return -EOPNOTSUPP;
}

static int xhv_inject_msi(struct vgt_hv *hv, uint64_t addr, uint32_t data)
{
    struct xen_be *be = hv_be(hv);

    if (xendevicemodel_inject_msi(be->dmod, be->domid, addr, data) < 0)
        return vgt_xen_fail(be, "xendevicemodel_inject_msi");
    return 0;
}

static int xhv_mark_dirty(struct vgt_hv *hv, uint64_t gfn, uint64_t nr)
{
    struct xen_be *be = hv_be(hv);

    if (gfn >= be->hv.max_gfn || nr > be->hv.max_gfn - gfn)
        return -EFAULT;
    while (nr) {
        uint32_t n = (uint32_t)VGT_MIN(nr, (uint64_t)UINT32_MAX);

        if (xendevicemodel_modified_memory(be->dmod, be->domid, gfn, n) < 0)
            return vgt_xen_fail(be, "xendevicemodel_modified_memory");
        gfn += n;
        nr -= n;
    }
    return 0;
}

/* A locked compare-exchange on the foreign mapping: the mapping is the
 * guest's own frame, so this is atomic against the guest's vCPUs too. */
static int xhv_cmpxchg(struct vgt_hv *hv, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    struct xen_be *be = hv_be(hv);
    struct vgt_mapcache_ent *ent;
    uint8_t *page;
    uint64_t *p;
    int ret;

    if (gpa & 7)
        return -EINVAL;
    if ((gpa >> VGT_PAGE_SHIFT) >= be->hv.max_gfn)
        return -EFAULT;
    ret = vgt_mapcache_get(be->mc, gpa >> VGT_PAGE_SHIFT, (void **)&page, &ent);
    if (ret)
        return ret;
    p = (uint64_t *)(page + (gpa & (VGT_PAGE_SIZE - 1)));
    ret = __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST) ? 0 : -EAGAIN;
    vgt_mapcache_put(be->mc, ent);
    return ret;
}

static const struct vgt_hv_ops xen_hv_ops = {
    .read_gpa = xhv_read,
    .write_gpa = xhv_write,
    .gfn_to_dma = xhv_gfn_to_dma,
    .set_wp = xhv_set_wp,
    .set_wp_handler = xhv_set_wp_handler,
    .inject_msi = xhv_inject_msi,
    .mark_dirty = xhv_mark_dirty,
    .cmpxchg_gpa = xhv_cmpxchg,
};

int vgt_xen_hv_init(struct xen_be *be, uint64_t max_gfn, const struct vgt_mapcache_dma *dma,
                    unsigned cache_frames)
{
    struct vgt_mapcache_mapper m = {.map = fmem_map, .unmap = fmem_unmap, .opaque = be};

    be->hv.ops = &xen_hv_ops;
    be->hv.domid = be->domid;
    be->hv.max_gfn = max_gfn ? max_gfn : VGT_XEN_MAX_GFN;
    return vgt_mapcache_create(&m, dma, cache_frames, be->log, &be->mc);
}

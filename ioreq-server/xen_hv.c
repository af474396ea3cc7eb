/* The hv seam on Xen: guest memory through foreign mappings, MSIs and
 * dirty tracking through DMOPs. Write protection is implemented by the
 * engine on the backend's claim_wp/set_wp. gfn_to_dma needs the p2m's
 * machine frames, which the stable API does not give: it belongs to the
 * privileged helper, so it is refused here. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "xen_internal.h"
#include "vgt/util.h"


static struct xen_be *hv_be(struct vgt_hv *hv)
{
    return (struct xen_be *)((char *)hv - offsetof(struct xen_be, hv));
}

static int copy_gpa(struct xen_be *be, uint64_t gpa, void *buf, size_t len, bool write)
{
    uint8_t *b = buf;

    if (len && (gpa + len - 1 < gpa || ((gpa + len - 1) >> VGT_PAGE_SHIFT) >= be->hv.max_gfn))
        return -EFAULT;
    while (len) {
        size_t off = gpa & (VGT_PAGE_SIZE - 1);
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - off);
        xen_pfn_t gfn = gpa >> VGT_PAGE_SHIFT;
        int err = 0;
        uint8_t *p = xenforeignmemory_map(be->fmem, be->domid, PROT_READ | PROT_WRITE, 1, &gfn,
                                          &err);

        if (!p)
            return vgt_xen_fail(be, "xenforeignmemory_map");
        if (err) {
            xenforeignmemory_unmap(be->fmem, p, 1);
            return -EFAULT; /* not guest RAM */
        }
        if (write)
            memcpy(p + off, b, n);
        else
            memcpy(b, p + off, n);
        xenforeignmemory_unmap(be->fmem, p, 1);
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

static int xhv_gfn_to_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    (void)hv, (void)gfn, (void)dma;
    return -EOPNOTSUPP;
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
    xen_pfn_t gfn = gpa >> VGT_PAGE_SHIFT;
    uint64_t *p;
    uint8_t *page;
    int err = 0, ret;

    if (gpa & 7)
        return -EINVAL;
    if (gfn >= be->hv.max_gfn)
        return -EFAULT;
    page = xenforeignmemory_map(be->fmem, be->domid, PROT_READ | PROT_WRITE, 1, &gfn, &err);
    if (!page)
        return vgt_xen_fail(be, "xenforeignmemory_map");
    if (err) {
        xenforeignmemory_unmap(be->fmem, page, 1);
        return -EFAULT;
    }
    p = (uint64_t *)(page + (gpa & (VGT_PAGE_SIZE - 1)));
    ret = __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST) ? 0 : -EAGAIN;
    xenforeignmemory_unmap(be->fmem, page, 1);
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

void vgt_xen_hv_init(struct xen_be *be, uint64_t max_gfn)
{
    be->hv.ops = &xen_hv_ops;
    be->hv.domid = be->domid;
    be->hv.max_gfn = max_gfn ? max_gfn : VGT_XEN_MAX_GFN;
}

/* The hv seam: hypervisor services for ONE guest domain.
 *
 * mediator/, shadow-gtt/ and svm/ see the hypervisor only through this
 * struct. Two implementations exist: the Xen backend (ioreq-server/xen,
 * on libxendevicemodel and libxenforeignmemory) and the simulated
 * hypervisor (sim/hv). Neither the mediator nor the shadows can tell them
 * apart.
 *
 * Addresses: a "gpa" is a guest-physical address, a "gfn" a guest frame
 * number (gpa >> 12). A "dma" address is what the physical device must be
 * given to reach that guest page (a host-physical/IOVA address). The p2m is
 * never the identity on the simulated platform, so code that forgets to
 * translate fails loudly there.
 *
 * Every op returns 0 or a negative errno. Ops that take a guest-controlled
 * gfn/gpa validate it and return -EFAULT when it is outside guest RAM; they
 * never touch memory outside the guest. */
#ifndef VGT_HV_H
#define VGT_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vgt_hv;

/* A write the guest made to a write-protected gfn (HVMMEM_ioreq_server
 * semantics). The hypervisor did NOT apply it: the handler must apply it
 * (normally with write_gpa) after looking at it. @size is 1, 2, 4 or 8 and
 * the access never crosses a page. Return 0 or a negative errno (an error
 * is logged by the caller; the vCPU is completed either way). */
typedef int (*vgt_hv_wp_fn)(void *opaque, uint64_t gpa, unsigned size, uint64_t val);

struct vgt_hv_ops {
    /* Copy to/from guest RAM. May cross pages; fails with -EFAULT if any
     * byte is outside guest RAM (nothing is copied then). */
    int (*read_gpa)(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len);
    int (*write_gpa)(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len);

    /* Translate a guest frame to the address the physical device uses. */
    int (*gfn_to_dma)(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma);

    /* Start or stop trapping writes to [gfn, gfn+nr). Trapped writes go to
     * the handler set with set_wp_handler. Reads are never trapped. */
    int (*set_wp)(struct vgt_hv *hv, uint64_t gfn, uint64_t nr, bool protect);
    int (*set_wp_handler)(struct vgt_hv *hv, vgt_hv_wp_fn fn, void *opaque);

    /* Deliver an MSI (address/data as programmed in the device's MSI cap). */
    int (*inject_msi)(struct vgt_hv *hv, uint64_t addr, uint32_t data);

    /* Tell the hypervisor the device wrote guest pages (live migration). */
    int (*mark_dirty)(struct vgt_hv *hv, uint64_t gfn, uint64_t nr);

    /* OPTIONAL (may be NULL): atomic compare-exchange of the naturally
     * aligned 8 bytes at @gpa, as a device's locked read-modify-write (the
     * emulated IOMMU sets accessed/dirty bits with it). If the value equals
     * *expected it becomes @desired and 0 is returned; otherwise *expected
     * gets the current value and -EAGAIN is returned. -EFAULT outside guest
     * RAM, -EINVAL when @gpa is not 8-byte aligned. */
    int (*cmpxchg_gpa)(struct vgt_hv *hv, uint64_t gpa, uint64_t *expected, uint64_t desired);
};

struct vgt_hv {
    const struct vgt_hv_ops *ops;
    uint16_t domid;
    /* Guest RAM spans gfns [0, max_gfn); holes inside are reported by the
     * ops as -EFAULT. Used for cheap early bounds checks. */
    uint64_t max_gfn;
};

static inline int vgt_hv_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    return hv->ops->read_gpa(hv, gpa, buf, len);
}

static inline int vgt_hv_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    return hv->ops->write_gpa(hv, gpa, buf, len);
}

static inline int vgt_hv_gfn_to_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    if (gfn >= hv->max_gfn)
        return -14; /* -EFAULT, without dragging errno.h into every user */
    return hv->ops->gfn_to_dma(hv, gfn, dma);
}

#endif

/* The privileged steps of the vGPU daemon: the only code that uses
 * libxenctrl domctls (everything else stays on the stable DMOP API).
 * Each failure names the call that failed in @err. Built without
 * libxenctrl, every function fails with -EOPNOTSUPP. */
#ifndef VGT_TOOLS_XENCTRL_H
#define VGT_TOOLS_XENCTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vgt_ioreq_backend;
struct vgt_log;
struct vgt_mapcache_dma;

struct vgt_xc_domain {
    bool hvm, paused, dying;
    uint64_t mem_bytes; /* current allocation (nr_pages * 4 KiB) */
    uint64_t max_bytes; /* max_memkb * 1 KiB */
    /* One past the highest guest frame (xc_domain_maximum_gpfn + 1): the
     * bound for guest frame numbers. The memory size is not one: HVM RAM
     * above the MMIO hole is relocated above 4 GiB. */
    uint64_t max_gfn;
};

/* The domain exists, is HVM and paused; fills *info (max_gfn only on
 * success). -ENOENT: no such domain; -EINVAL: not HVM / not paused /
 * dying; otherwise -errno of the failed call (named in @err). Nothing is
 * left open on any path. */
int vgt_xc_domain_check(uint16_t domid, struct vgt_xc_domain *info, char *err, size_t errlen);
/* 1 when the domain exists (and is not dying), 0 when gone, -errno. */
int vgt_xc_domain_exists(uint16_t domid);
/* The Xen side of adding a vGPU: the checks above, then the DMOP-only
 * ioreq backend for the domain with its guest frames bounded by
 * info.max_gfn, so that no guest-controlled gfn at or above the domain's
 * highest frame is accepted (the engine's hv, which the vGPU uses,
 * inherits the bound). -EOPNOTSUPP without libxenctrl or the xen
 * backend. */
/* @dma: how the host GPU reaches a guest frame mapped into vgtd (the
 * backend's gfn_to_dma; NULL: refused). */
int vgt_xc_backend_create(uint16_t domid, const struct vgt_log *log,
                          const struct vgt_mapcache_dma *dma, struct vgt_ioreq_backend **out,
                          char *err, size_t errlen);
/* Map (or unmap) host frames [mfn, mfn+nr) at guest frames [gfn, gfn+nr):
 * the vGPU's aperture slice (xc_domain_memory_mapping). -EINVAL for an
 * empty or out-of-range run. Called by the vGPU daemon whenever a guest
 * places, moves or disables its BAR2 (vgpu_host.c, host frames from the
 * real GPU's BAR2, host/hostgpu_pci.h). */
int vgt_xc_map_aperture(uint16_t domid, uint64_t gfn, uint64_t mfn, uint64_t nr, bool map,
                        char *err, size_t errlen);
/* Back guest frames [gfn, gfn+nr) in a hole with new guest RAM
 * (xc_domain_populate_physmap_exact): the device model's own pages in the
 * guest's map, e.g. the OpRegion hvmloader leaves to it. -EINVAL for an
 * empty or out-of-range run (at most 16 frames). */
int vgt_xc_populate(uint16_t domid, uint64_t gfn, uint64_t nr, char *err, size_t errlen);

#endif

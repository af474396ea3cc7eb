/* The privileged steps of the vGPU daemon: the only code that uses
 * libxenctrl domctls (everything else stays on the stable DMOP API).
 * Each failure names the call that failed in @err. Built without
 * libxenctrl, every function fails with -EOPNOTSUPP. */
#ifndef VGT_TOOLS_XENCTRL_H
#define VGT_TOOLS_XENCTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vgt_xc_domain {
    bool hvm, paused, dying;
    uint64_t mem_bytes; /* current allocation (nr_pages * 4 KiB) */
    uint64_t max_bytes; /* max_memkb * 1 KiB: bounds guest frame numbers */
};

/* The domain exists, is HVM and paused; fills *info. -ENOENT: no such
 * domain; -EINVAL: not HVM / not paused / dying (named in @err). */
int vgt_xc_domain_check(uint16_t domid, struct vgt_xc_domain *info, char *err, size_t errlen);
/* 1 when the domain exists (and is not dying), 0 when gone, -errno. */
int vgt_xc_domain_exists(uint16_t domid);
/* Map (or unmap) host frames [mfn, mfn+nr) at guest frames [gfn, gfn+nr):
 * the vGPU's aperture slice (xc_domain_memory_mapping). */
int vgt_xc_map_aperture(uint16_t domid, uint64_t gfn, uint64_t mfn, uint64_t nr, bool map,
                        char *err, size_t errlen);

#endif

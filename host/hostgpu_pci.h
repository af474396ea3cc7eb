/* The host GPU seam on a real machine: a Skylake iGPU that no kernel
 * driver holds, reached through libpciaccess (the i915 host driver must
 * release it first; vgtd then owns it, as the one process per GPU).
 *
 *  - BAR0 (GTTMMADR, 16 MiB) is mapped: registers below 8 MiB, GGTT
 *    entries from +8 MiB (8 bytes each). The GGTT size comes from the
 *    graphics control register (GGC) in config space.
 *  - All three forcewake domains (render, blitter, media) are held while
 *    open, so GT registers stay powered (i915 takes them per access).
 *  - BAR2 (GMADR) is the aperture; its host-physical base is what the
 *    Xen step maps into each guest (xc_domain_memory_mapping).
 *  - Device-reachable pages are locked anonymous pages whose frame is read
 *    from /proc/self/pagemap (needs CAP_SYS_ADMIN). That frame is the DMA
 *    address only where the GPU sees dom0's physical addresses: a PVH dom0
 *    (its IOMMU context is dom0's p2m) or bare metal. A PV dom0 is refused.
 *  - Physical interrupts are polled from the GT IIR banks by a thread,
 *    since a user process does not own the GPU's MSI.
 *
 * No machine this is built on has an Intel GPU: the unit tests replace the
 * libpciaccess calls at link time (tests/tools/test_hostgpu_pci.c). */
#ifndef VGT_TOOLS_HOSTGPU_PCI_H
#define VGT_TOOLS_HOSTGPU_PCI_H

#include <stddef.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/log.h"

struct hostgpu_pci;

struct hostgpu_pci_cfg {
    uint32_t sbdf;               /* the host GPU (usually 0000:00:02.0) */
    const struct vgt_log *log;
    const char *pagemap;         /* NULL: /proc/self/pagemap */
    const char *guest_type;      /* NULL: /sys/hypervisor/guest_type */
    unsigned irq_poll_us;        /* 0: 100 */
};

/* 0, or -errno with a sentence naming the problem in @err: no such
 * device, not a Skylake GPU, held by a kernel driver, unexpected BARs,
 * a PV dom0, no access to its BARs, a forcewake domain that does not
 * wake. */
int hostgpu_pci_open(const struct hostgpu_pci_cfg *cfg, struct hostgpu_pci **out, char *err,
                     size_t errlen);
void hostgpu_pci_close(struct hostgpu_pci *p);
struct vgt_hostgpu *hostgpu_pci_hostgpu(struct hostgpu_pci *p);
/* Host-physical address of BAR2 (the aperture). */
uint64_t hostgpu_pci_aperture_base(const struct hostgpu_pci *p);
/* The frame behind a page of this process, from /proc/self/pagemap (a
 * guest frame mapped with xenforeignmemory_map: in a PVH dom0 the dom0
 * frame the IOMMU maps for the GPU, docs/architecture.md). -EFAULT not
 * present, -EPERM without CAP_SYS_ADMIN (the kernel reports frame 0). */
int hostgpu_pci_va_to_dma(struct hostgpu_pci *p, void *va, uint64_t *dma);

/* 1 when @device_id is a Skylake graphics device (Linux i915_pciids.h). */
int hostgpu_pci_is_skl(uint16_t device_id);

#endif

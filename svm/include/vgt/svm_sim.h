/* svm on the simulated platform: the glue that connects the emulated
 * VT-d unit (vgt/iommu.h) and the simulated accelerator (vgt/sim_accel.h)
 * and serves both to a simulated guest through its ioreq server.
 *
 * - The IOMMU register block is an MMIO range of the server.
 * - The accelerator: its type-0 config space (256 bytes, 0xCF8/0xCFC) as
 *   a PCI range, its whole 4 KiB config space through an emulated ECAM
 *   window (an MMIO range: i440FX has no ECAM, so the platform adds one,
 *   as the extended capabilities PASID/ATS/PRI live above 0x100), and
 *   BAR0 at the address the platform assigns.
 * - The accelerator's DMA port: ATS translation and untranslated DMA go
 *   to vgt_iommu_translate with the device's requester id; page requests
 *   to vgt_iommu_page_request; memory transactions on the translated
 *   guest-physical address go through the guest's p2m (the hv seam); the
 *   IOMMU's page responses and device-TLB invalidations go back to the
 *   device.
 *
 * libvgt_svm_sim is built only with the simulated platform; the IOMMU
 * library itself never depends on sim/. */
#ifndef VGT_SVM_SIM_H
#define VGT_SVM_SIM_H

#include <stdint.h>

#include "vgt/iommu.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_accel.h"
#include "vgt/sim_hv.h"

/* Platform addresses used by the demo, tests and bench. */
#define VGT_SVM_SIM_IOMMU_BASE 0xFED90000ull /* where firmware puts a DRHD */
#define VGT_SVM_SIM_ECAM_BASE 0xF8000000ull  /* MMCONFIG-style window, bus 0..63 */
#define VGT_SVM_SIM_BAR0 0xF4000000ull
#define VGT_SVM_SIM_BUS 0
#define VGT_SVM_SIM_DEV 5
#define VGT_SVM_SIM_FN 0

struct vgt_svm_sim_cfg {
    struct sim_guest *g;
    struct vgt_ioreq_server *srv; /* created, ranges are added before start */
    uint64_t iommu_base, ecam_base, bar0;
    uint8_t bus, dev, fn;
    const struct vgt_log *log;
    unsigned iotlb_entries;       /* 0: default */
    unsigned wq_depth;            /* 0: default */
    unsigned response_timeout_ms; /* 0: default */
};

struct vgt_svm_sim {
    struct vgt_hv *hv;
    struct vgt_iommu *mmu;
    struct sim_accel *acc;
    struct vgt_ioreq_server *srv;
    int ranges[4];
    unsigned nranges;
};

int vgt_svm_sim_create(const struct vgt_svm_sim_cfg *cfg, struct vgt_svm_sim **out);
void vgt_svm_sim_destroy(struct vgt_svm_sim *s);

/* A whole simulated machine for one guest: arena, hypervisor, guest with
 * @vcpus vCPUs and @ram bytes, ioreq server served on its own thread,
 * and the IOMMU + accelerator at the default addresses. */
struct vgt_svm_machine {
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_guest *g;
    struct vgt_ioreq_server *srv;
    struct vgt_svm_sim *svm;
    void *thread; /* the server's thread */
    unsigned up;  /* stages up (sim_port.c) */
};

int vgt_svm_machine_create(uint16_t domid, uint64_t ram, unsigned vcpus, const struct vgt_log *log,
                           struct vgt_svm_machine **out);
void vgt_svm_machine_destroy(struct vgt_svm_machine *m);

#endif

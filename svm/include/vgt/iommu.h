/* svm: an emulated Intel VT-d remapping unit (scalable mode) for ONE guest.
 *
 * The guest programs it through a 4 KiB register block that the owner maps
 * as an MMIO range of the guest's ioreq server (vgt_iommu_io_ops()). All
 * tables and queues live in guest RAM and are reached only through the hv
 * seam (guest-physical addresses, i.e. through the guest's p2m), so the
 * model never touches memory outside the guest.
 *
 * Devices behind the unit (the simulated accelerator, assigned to the
 * guest) call vgt_iommu_translate() for each DMA (or ATS translation
 * request) and vgt_iommu_page_request() for a PRI page request. The unit
 * calls back into the device (struct vgt_iommu_dev_ops) for page group
 * responses and device-TLB invalidations.
 *
 * Threading: every entry point takes the unit's lock; device callbacks are
 * called with it held, so they must not call back into the unit and must
 * not block (signal a condition variable instead).
 *
 * Register layout, table formats and fault reasons: vgt/vtd.h. */
#ifndef VGT_IOMMU_H
#define VGT_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hv.h"
#include "vgt/ioreq_server.h"
#include "vgt/log.h"
#include "vgt/vtd.h"

struct vgt_iommu;

struct vgt_iommu_cfg {
    struct vgt_hv *hv;          /* the guest's memory and MSI delivery */
    const struct vgt_log *log;
    unsigned iotlb_entries;     /* 0: default 1024 (rounded to a power of 2) */
    bool no_cmpxchg;            /* tests: force the non-atomic A/D fallback */
};

/* What a device asks. Requests without PASID use the context's RID_PASID
 * (scalable mode). */
struct vgt_iommu_req {
    uint16_t rid;      /* bus << 8 | devfn */
    bool has_pasid;
    uint32_t pasid;
    bool priv;         /* supervisor request */
    bool exec;
    bool write;        /* else read */
    bool ats;          /* ATS translation request: page-walk faults are not
                        * recorded (the device answers them with PRI) */
    uint64_t addr;     /* IOVA or process virtual address */
};

struct vgt_iommu_result {
    uint64_t gpa;        /* guest-physical address of req.addr */
    uint64_t page_size;  /* size of the mapping that produced it */
    bool writable;       /* the mapping allows writes */
    bool user;           /* the mapping allows user requests */
    uint8_t fault;       /* enum vtd_fault_reason on failure, else 0 */
    bool recoverable;    /* failure a page request may fix (not present,
                          * permission) */
};

/* Page request message from a device (PCIe PRI; SVM.md). */
struct vgt_iommu_prq {
    uint16_t rid;
    bool has_pasid;
    uint32_t pasid;
    bool exec, priv;
    bool read, write;
    bool lpig;          /* last page in group */
    uint16_t grp;       /* page request group index, 9 bits */
    uint64_t addr;      /* page address */
    bool has_priv_data;
    uint64_t priv_data[2];
};

/* Callbacks into a device behind the unit (called with the unit's lock). */
struct vgt_iommu_dev_ops {
    /* A page group response reached the device (matched or not). */
    void (*page_response)(void *opaque, bool has_pasid, uint32_t pasid,
                          uint16_t grp, unsigned code);
    /* Device-TLB (ATC) invalidation. all: every address of the PASID (or
     * of the device when !has_pasid && all). Otherwise [addr, addr+size). */
    void (*devtlb_invalidate)(void *opaque, bool has_pasid, uint32_t pasid,
                              bool all, uint64_t addr, uint64_t size);
};

struct vgt_iommu_stats {
    uint64_t translations, iotlb_hits, iotlb_misses;
    uint64_t ctx_hits, ctx_misses, pasid_hits, pasid_misses;
    uint64_t walks, faults_recorded, faults_dropped;
    uint64_t inv_desc[16];       /* processed descriptors by type */
    uint64_t iq_errors;
    uint64_t prq_queued, prq_dropped, prq_overflows, prq_responses;
    uint64_t prq_unmatched_responses, prq_failure_resets;
    uint64_t msi_fault, msi_inv, msi_prq;
};

int vgt_iommu_create(const struct vgt_iommu_cfg *cfg, struct vgt_iommu **out);
void vgt_iommu_destroy(struct vgt_iommu *mmu);

/* The register block (VTD_REG_BLOCK_SIZE bytes) as ioreq handlers; the
 * opaque is the struct vgt_iommu. 4- and 8-byte accesses. */
extern const struct vgt_io_ops vgt_iommu_io_ops;
int vgt_iommu_mmio_read(struct vgt_iommu *mmu, uint64_t off, unsigned size, uint64_t *val);
int vgt_iommu_mmio_write(struct vgt_iommu *mmu, uint64_t off, unsigned size, uint64_t val);

/* Register a device (requester id) for responses and device-TLB
 * invalidations; NULL ops detaches. -EBUSY past the device limit. */
int vgt_iommu_attach_device(struct vgt_iommu *mmu, uint16_t rid,
                            const struct vgt_iommu_dev_ops *ops, void *opaque);

/* Translate one access. 0 with *res filled, or -EFAULT with res->fault set
 * (recorded in the fault registers unless it is an ATS page-walk fault or
 * fault processing is disabled), or -EPERM when DMA is blocked. */
int vgt_iommu_translate(struct vgt_iommu *mmu, const struct vgt_iommu_req *req,
                        struct vgt_iommu_result *res);

/* A page request from a device. 0: written to the page request queue (a
 * response comes through page_response when lpig or private data is set).
 * Dropped requests (queue overflow, PRE clear) are answered at once
 * through page_response: success on overflow (the device retries),
 * invalid when the context does not enable page requests (fault 0x47
 * recorded). Returns 0 in those cases too; -EINVAL for a bad message. */
int vgt_iommu_page_request(struct vgt_iommu *mmu, const struct vgt_iommu_prq *prq);

void vgt_iommu_get_stats(struct vgt_iommu *mmu, struct vgt_iommu_stats *st);
/* Outstanding page groups (sent, not yet answered). */
unsigned vgt_iommu_prq_outstanding(struct vgt_iommu *mmu);

#endif

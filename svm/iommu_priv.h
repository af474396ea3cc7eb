/* Internal state of the emulated VT-d unit (svm/). */
#ifndef VGT_SVM_IOMMU_PRIV_H
#define VGT_SVM_IOMMU_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vgt/iommu.h"

#define VTD_CTX_CACHE 64
#define VTD_PASID_CACHE 256
#define VTD_MAX_DEVS 8
#define VTD_MAX_PRG 1024   /* outstanding page groups tracked (all devices) */
#define VTD_HAW 48         /* output (guest-physical) address width */
#define VTD_PASID_BITS 20
#define VTD_MAMV 9         /* CAP.MAMV: page-selective masks up to 2^9 pages */

/* IOTLB entry perms */
#define VTD_TLB_W 1u
#define VTD_TLB_U 2u
#define VTD_TLB_X 4u
#define VTD_TLB_D 8u       /* first-stage dirty bit already set */
#define VTD_TLB_FS 16u     /* produced by a first-stage walk */

struct vtd_ctx_ent {
    bool valid;
    uint16_t rid;
    uint64_t ce[4]; /* legacy: ce[0..1] */
};

struct vtd_pasid_ent {
    bool valid;
    uint16_t rid;
    uint32_t pasid;
    bool fpd;       /* FPD of the directory entry (the entry's own is in pe) */
    uint64_t pe[8];
};

struct vtd_tlb_ent {
    bool valid;
    uint16_t did;
    uint32_t pasid;
    uint64_t vpn;       /* input address >> 12 */
    uint64_t gfn;       /* output frame */
    uint64_t page_size; /* size of the mapping the walk found */
    uint8_t perm;
};

struct vtd_dev {
    bool used;
    uint16_t rid;
    const struct vgt_iommu_dev_ops *ops;
    void *opaque;
};

struct vtd_prg {
    bool used;
    uint16_t rid;
    bool has_pasid;
    uint32_t pasid;
    uint16_t grp;
};

struct vgt_iommu {
    struct vgt_hv *hv;
    const struct vgt_log *log;
    pthread_mutex_t lock;
    bool no_cmpxchg;

    uint8_t regs[VTD_REG_BLOCK_SIZE]; /* little-endian register file */
    uint64_t rta_active;              /* RTADDR latched by SRTP */
    unsigned fri_next;                /* next fault record to write */

    struct vtd_ctx_ent ctx[VTD_CTX_CACHE];
    struct vtd_pasid_ent pc[VTD_PASID_CACHE];
    struct vtd_tlb_ent *tlb;
    unsigned tlb_n; /* power of two */

    struct vtd_dev devs[VTD_MAX_DEVS];
    struct vtd_prg prg[VTD_MAX_PRG];
    struct vgt_iommu_stats st;
};

/* Register file accessors (offsets are trusted: model constants). */
uint32_t vtd_get32(const struct vgt_iommu *m, unsigned off);
uint64_t vtd_get64(const struct vgt_iommu *m, unsigned off);
void vtd_set32(struct vgt_iommu *m, unsigned off, uint32_t v);
void vtd_set64(struct vgt_iommu *m, unsigned off, uint64_t v);

/* Events (iommu.c). */
void vtd_raise_fault_event(struct vgt_iommu *m);
void vtd_raise_event(struct vgt_iommu *m, unsigned ctl, unsigned data, unsigned addr,
                     unsigned uaddr, uint64_t *counter);
uint32_t vtd_fsts_pending(const struct vgt_iommu *m);
void vtd_record_fault(struct vgt_iommu *m, uint16_t sid, bool has_pasid, uint32_t pasid,
                      uint64_t addr, uint8_t reason, bool is_write);

/* Caches (xlate.c). */
void vtd_flush_ctx(struct vgt_iommu *m, bool all, uint16_t sid, uint16_t sid_mask);
void vtd_flush_pasid(struct vgt_iommu *m, bool all, bool by_did, uint16_t did, bool by_pasid,
                     uint32_t pasid);
void vtd_flush_iotlb(struct vgt_iommu *m, bool all, uint16_t did, bool by_pasid, uint32_t pasid,
                     bool by_addr, uint64_t addr, unsigned am);
int vtd_lookup_context(struct vgt_iommu *m, uint16_t rid, uint64_t ce[4], uint8_t *fault);

/* Queues (qi.c). */
void vtd_iq_process(struct vgt_iommu *m);
struct vtd_dev *vtd_find_dev(struct vgt_iommu *m, uint16_t rid);

#endif

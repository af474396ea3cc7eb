/* The simulated SVA accelerator: a PCIe data-streaming engine (modelled on
 * Intel DSA) assigned to a guest.
 *
 * - Config space (4 KiB): a PCI Express endpoint with the extended
 *   capabilities PASID (0x1B), ATS (0x0F) and PRI (0x13) at 0x100, 0x108
 *   and 0x110 (PCIe base spec 7.8.x/10.x). HVM guests on i440FX reach only
 *   the first 256 bytes through 0xCF8/0xCFC, so the owner also serves the
 *   whole 4 KiB through an emulated ECAM window (MMIO); both take the same
 *   handlers (sim_accel_cfg_ops: the access offset is the config offset).
 * - BAR0 (16 KiB, 64-bit memory): registers and, at 0x1000, the work
 *   portal. The platform places it (as hvmloader does) and the owner maps
 *   that range; the device answers it only while memory decode is on. A descriptor is 64 bytes; an ioreq carries at most 8, so the
 *   MOVDIR64B-style write arrives as 8 qword writes and the one to the
 *   last qword submits.
 * - Descriptors name a PASID and guest virtual addresses (with the PASID
 *   capability disabled, requests carry no PASID: IOVAs); the device
 *   translates them with ATS through its DMA port (the IOMMU), caches
 *   translations in its ATC, and on a translation fault sends a PRI page
 *   request and waits for the page group response, then retries or
 *   completes with an error. Completion records are written by DMA through
 *   the same translation; an MSI signals completion.
 *
 * The device reaches the IOMMU and guest memory only through the port
 * (struct sim_accel_port_ops), which the owner connects (svm/ is built
 * after sim/, so the accelerator knows nothing of it).
 *
 * Threading: one worker thread executes descriptors. MMIO/config handlers
 * (ioreq thread), sim_accel_page_response and sim_accel_atc_invalidate
 * (called by the IOMMU) never block. The worker never holds the device
 * lock while it calls the port. */
#ifndef VGT_SIM_ACCEL_H
#define VGT_SIM_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/ioreq_server.h"
#include "vgt/log.h"

#define SIM_ACCEL_VENDOR 0x8086
#define SIM_ACCEL_DEVICE 0x0b25  /* Intel DSA's device id (the model it follows) */
#define SIM_ACCEL_CLASS 0x088000 /* system peripheral, other */
#define SIM_ACCEL_BAR0_SIZE 0x4000
#define SIM_ACCEL_CFG_SIZE 0x1000

/* Config space layout. */
#define SIM_ACCEL_CAP_PCIE 0x40  /* PCI Express capability (id 0x10) */
#define SIM_ACCEL_ECAP_PASID 0x100
#define SIM_ACCEL_ECAP_ATS 0x108
#define SIM_ACCEL_ECAP_PRI 0x110
#define PCI_ECAP_ID_ATS 0x0F   /* PCIe extended capability ids (SVM.md) */
#define PCI_ECAP_ID_PRI 0x13
#define PCI_ECAP_ID_PASID 0x1B
/* PASID: cap at +4 (exec 1, priv 2, max width 8-12), control at +6
 * (enable 0, exec enable 1, priv enable 2). */
#define PCI_PASID_CAP 4
#define PCI_PASID_CTRL 6
#define PCI_PASID_CTRL_ENABLE 0x1
#define PCI_PASID_CTRL_PRIV 0x4
/* ATS: cap at +4 (invalidate queue depth 0-4), control at +6 (STU 0-4,
 * enable 15). */
#define PCI_ATS_CAP 4
#define PCI_ATS_CTRL 6
#define PCI_ATS_CTRL_ENABLE 0x8000
/* PRI: control at +4 (enable 0, reset 1), status at +6 (response failure
 * 0, unexpected PRG index 1, stopped 8, PRG response PASID required 15),
 * outstanding request capacity at +8, allocation at +0xC. */
#define PCI_PRI_CTRL 4
#define PCI_PRI_CTRL_ENABLE 0x1
#define PCI_PRI_CTRL_RESET 0x2
#define PCI_PRI_STATUS 6
#define PCI_PRI_STATUS_RF 0x1
#define PCI_PRI_STATUS_UPRGI 0x2
#define PCI_PRI_STATUS_STOPPED 0x100
#define PCI_PRI_STATUS_PASID 0x8000
#define PCI_PRI_MAX_REQ 8
#define PCI_PRI_ALLOC_REQ 0xC

/* BAR0 registers. */
#define SIM_ACCEL_REG_VERSION 0x00  /* 32, RO */
#define SIM_ACCEL_REG_CAP 0x08      /* 64, RO: wq depth 0-15, opcode bitmap 16-31 */
#define SIM_ACCEL_REG_CTRL 0x10     /* 32: enable 0 */
#define SIM_ACCEL_REG_STATUS 0x14   /* 32, RO: enabled 0 */
#define SIM_ACCEL_REG_WQ_OCC 0x18   /* 32, RO: descriptors queued or running */
#define SIM_ACCEL_REG_SWERR 0x1C    /* 32, RO: submissions dropped */
#define SIM_ACCEL_REG_INT_ADDR 0x20 /* 64: completion MSI address */
#define SIM_ACCEL_REG_INT_DATA 0x28 /* 32 */
#define SIM_ACCEL_REG_INT_CTRL 0x2C /* 32: enable 0 */
#define SIM_ACCEL_REG_OPS 0x30      /* 64, RO: descriptors completed */
#define SIM_ACCEL_REG_PRQS 0x38     /* 64, RO: page requests sent */
#define SIM_ACCEL_PORTAL 0x1000     /* 64 bytes: the work portal */
#define SIM_ACCEL_CTRL_ENABLE 0x1

/* Descriptor (64 bytes). qw0: PASID 0-19, priv 31, opcode 32-39, flags
 * 40-63; qw1 completion record address (32-byte aligned); qw2 source (or
 * fill pattern); qw3 destination (or second source for compare); qw4
 * transfer size (bytes, at most SIM_ACCEL_MAX_XFER); qw5-7 zero. Opcodes
 * as DSA's: no-op 0, memmove 3, fill 4, compare 5. */
#define SIM_ACCEL_OP_NOOP 0x00
#define SIM_ACCEL_OP_MEMMOVE 0x03
#define SIM_ACCEL_OP_FILL 0x04
#define SIM_ACCEL_OP_COMPARE 0x05
#define SIM_ACCEL_DESC_PRIV (1ull << 31)
#define SIM_ACCEL_FLAG_RCR (1ull << 40) /* write a completion record */
#define SIM_ACCEL_FLAG_RCI (1ull << 41) /* interrupt on completion */
#define SIM_ACCEL_FLAG_BOF (1ull << 42) /* block on fault: resolve faults with PRI */
#define SIM_ACCEL_MAX_XFER (1u << 20)
/* Completion record (32 bytes): byte 0 status, byte 1 result (compare:
 * 0 equal, 1 different), bytes 4-7 bytes completed, qw1 fault address. */
#define SIM_ACCEL_ST_NONE 0x00
#define SIM_ACCEL_ST_SUCCESS 0x01
#define SIM_ACCEL_ST_PAGE_FAULT 0x03  /* unresolved translation fault */
#define SIM_ACCEL_ST_BAD_DESC 0x10
#define SIM_ACCEL_ST_DMA_ERROR 0x11   /* blocked / not translatable */
#define SIM_ACCEL_ST_PRI_STOPPED 0x12 /* PRI disabled or failed */

/* ---- the DMA / translation port ---- */

struct sim_accel_xlate {
    uint16_t rid;
    bool has_pasid;
    uint32_t pasid;
    bool priv, exec, write;
    bool ats;       /* translation request (ATS on) vs untranslated access */
    uint64_t addr;
};

struct sim_accel_xlate_res {
    uint64_t gpa;
    uint64_t page_size;
    bool writable;
    bool recoverable; /* a page request may resolve the fault */
};

struct sim_accel_prq {
    uint16_t rid;
    bool has_pasid;
    uint32_t pasid;
    bool priv, exec, read, write;
    bool lpig;
    uint16_t grp; /* 9 bits */
    uint64_t addr;
};

struct sim_accel_port_ops {
    /* 0, -EFAULT (translation fault; res->recoverable), -EPERM (blocked). */
    int (*translate)(void *opaque, const struct sim_accel_xlate *x, struct sim_accel_xlate_res *res);
    /* Send a PRI page request. The response comes through
     * sim_accel_page_response(), possibly before this returns. */
    int (*page_request)(void *opaque, const struct sim_accel_prq *p);
    /* Memory transactions on translated (guest-physical) addresses. */
    int (*dma_read)(void *opaque, uint64_t gpa, void *buf, size_t len);
    int (*dma_write)(void *opaque, uint64_t gpa, const void *buf, size_t len);
    int (*msi)(void *opaque, uint64_t addr, uint32_t data);
};

struct sim_accel_cfg {
    uint16_t rid;  /* bus << 8 | devfn */
    const struct sim_accel_port_ops *port;
    void *port_opaque;
    const struct vgt_log *log;
    unsigned wq_depth;            /* 0: 32 */
    unsigned response_timeout_ms; /* 0: 2000 */
};

struct sim_accel_stats {
    uint64_t submitted, dropped, completed, failed;
    uint64_t page_requests, resp_success, resp_invalid, resp_failure, resp_timeout;
    uint64_t atc_hits, atc_misses, atc_invalidations, retries;
    uint64_t bytes;
};

struct sim_accel;

int sim_accel_create(const struct sim_accel_cfg *cfg, struct sim_accel **out);
void sim_accel_destroy(struct sim_accel *acc);

/* BAR0 and config-space handlers (opaque: the struct sim_accel). */
extern const struct vgt_io_ops sim_accel_mmio_ops;
extern const struct vgt_io_ops sim_accel_cfg_ops;
int sim_accel_mmio_read(struct sim_accel *acc, uint64_t off, unsigned size, uint64_t *val);
int sim_accel_mmio_write(struct sim_accel *acc, uint64_t off, unsigned size, uint64_t val);
int sim_accel_cfg_read(struct sim_accel *acc, unsigned off, unsigned size, uint32_t *val);
int sim_accel_cfg_write(struct sim_accel *acc, unsigned off, unsigned size, uint32_t val);

/* From the IOMMU: a page group response / an ATC invalidation. */
void sim_accel_page_response(struct sim_accel *acc, bool has_pasid, uint32_t pasid, uint16_t grp,
                             unsigned code);
void sim_accel_atc_invalidate(struct sim_accel *acc, bool has_pasid, uint32_t pasid, bool all,
                              uint64_t addr, uint64_t size);

/* Wait until no descriptor is queued or running: -ETIMEDOUT. */
int sim_accel_wait_idle(struct sim_accel *acc, int timeout_ms);
void sim_accel_get_stats(struct sim_accel *acc, struct sim_accel_stats *st);
uint16_t sim_accel_rid(const struct sim_accel *acc);

#endif

/* The guest-side SVA driver on the simulated platform: what a guest kernel
 * (Linux intel-iommu in scalable mode + an idxd-like accelerator driver +
 * the mm's I/O page-fault handler) does, reduced to what the demo and the
 * tests need.
 *
 * It runs on guest vCPUs and touches the hardware only as a guest can:
 * loads/stores to the VT-d register block and the accelerator's BAR (each
 * an ioreq), PCI config through 0xCF8/0xCFC and the ECAM window, and its
 * own RAM (tables, queues, process page tables and pages).
 *
 * - probe: checks CAP/ECAP, builds the scalable root/context tables and
 *   the PASID directory, sets up the invalidation and page request queues
 *   and the fault/page-request/invalidation MSIs, enables translation,
 *   then enables PASID, ATS and PRI on the device and the device itself.
 * - processes (struct sim_sva_mm): x86-64 4-level page tables in guest
 *   RAM, a PASID each; regions can be populated now or reserved (valid,
 *   populated on the first fault: the device's page request).
 * - page requests are answered by mapping the page (success) when the
 *   address is in a reserved region with the right access, else refused
 *   (invalid). Unmapping invalidates PASID-based IOTLB and device TLB and
 *   waits for completion.
 *
 * Functions take the vCPU they run on; a driver-wide lock serialises
 * queue and table updates between vCPUs (the kernel's locks). Return 0 or
 * a negative errno. */
#ifndef VGT_SIM_SVA_H
#define VGT_SIM_SVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/log.h"
#include "vgt/sim_hv.h"

struct sim_sva;
struct sim_sva_mm;

struct sim_sva_cfg {
    struct sim_guest *g;
    unsigned vcpu;          /* vCPU the probe runs on */
    uint64_t iommu_base;    /* VT-d register block (guest-physical) */
    uint64_t ecam_base;     /* ECAM window (extended config space) */
    uint8_t bus, dev, fn;   /* the accelerator */
    uint64_t bar0;          /* where the driver places BAR0 */
    uint64_t mem_base;      /* guest RAM the driver owns: tables, queues, */
    uint64_t mem_size;      /*   page tables and process pages */
    uint64_t msi_addr;      /* e.g. 0xFEE00000 */
    uint32_t fault_vec, prq_vec, inv_vec, dev_vec;
    const struct vgt_log *log;
};

struct sim_sva_stats {
    uint64_t submitted, completed, failed;
    uint64_t prq_seen, prq_served, prq_refused, prq_overflows;
    uint64_t faults_seen;    /* VT-d fault records read and cleared */
    uint64_t invalidations;  /* invalidation descriptors queued */
    uint64_t pages_mapped, pages_unmapped;
    uint64_t msi_seen;
};

int sim_sva_probe(const struct sim_sva_cfg *cfg, struct sim_sva **out);
/* Unbinds nothing (processes must be destroyed first); disables the
 * device and translation. */
void sim_sva_remove(struct sim_sva *drv, unsigned vcpu);

int sim_sva_mm_create(struct sim_sva *drv, unsigned vcpu, struct sim_sva_mm **out);
void sim_sva_mm_destroy(struct sim_sva_mm *mm, unsigned vcpu);
/* Allocate a PASID and write a first-stage PASID entry (the bind). */
int sim_sva_bind(struct sim_sva_mm *mm, unsigned vcpu);
int sim_sva_unbind(struct sim_sva_mm *mm, unsigned vcpu);
uint32_t sim_sva_pasid(const struct sim_sva_mm *mm);

/* Map fresh zeroed pages for [va, va+len) now. */
int sim_sva_mm_populate(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, uint64_t len,
                        bool writable);
/* Make [va, va+len) valid without mapping it (faults populate it). */
int sim_sva_mm_reserve(struct sim_sva_mm *mm, uint64_t va, uint64_t len, bool writable);
/* Unmap (and forget) [va, va+len), then invalidate IOTLB and device TLB. */
int sim_sva_mm_unmap(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, uint64_t len);
/* The process's own CPU accesses (populating reserved pages on demand). */
int sim_sva_mm_write(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, const void *buf,
                     size_t len);
int sim_sva_mm_read(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, void *buf, size_t len);
/* Whether va is mapped now (software walk). */
bool sim_sva_mm_mapped(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va);

/* Submit one descriptor to the portal. op: SIM_ACCEL_OP_*. For fill, src
 * is the 8-byte pattern. The completion record (32 bytes, 32-aligned)
 * lives at comp_va in the process. -EBUSY when the work queue is full. */
int sim_sva_submit(struct sim_sva_mm *mm, unsigned vcpu, unsigned op, uint64_t src, uint64_t dst,
                   uint32_t size, uint64_t comp_va);
/* Wait for the completion record at comp_va, answering page requests and
 * reading faults meanwhile. *status gets the record's status, *result its
 * result byte. -ETIMEDOUT after timeout_ms. */
int sim_sva_wait(struct sim_sva_mm *mm, unsigned vcpu, uint64_t comp_va, int timeout_ms,
                 uint8_t *status, uint8_t *result);
/* Drain the page request queue once (also done by sim_sva_wait). */
int sim_sva_service(struct sim_sva *drv, unsigned vcpu);

void sim_sva_get_stats(struct sim_sva *drv, struct sim_sva_stats *st);

#endif

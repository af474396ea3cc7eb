/* The SVA workload on the simulated platform (`vgt demo --workload sva`,
 * the end-to-end tests and the benchmark share it).
 *
 * One guest with the emulated IOMMU and the accelerator; N guest
 * processes, each on its own vCPU, bound to its own PASID. Each process:
 *   - fills a source buffer (present) through its own virtual addresses;
 *   - has the accelerator copy it into a destination buffer whose pages
 *     are all absent (every first touch is a page request the guest's
 *     fault handler serves), fill a half-present buffer with a pattern,
 *     and compare buffers (equal and different);
 *   - asks for a copy to an address it never mapped: the guest refuses
 *     the page request and the operation completes with a page fault;
 *   - unmaps part of the destination (with invalidation) and copies
 *     again: the device must fault again and write the new pages;
 *   - verifies every byte with its own CPU reads. */
#ifndef VGT_SVM_WORKLOAD_H
#define VGT_SVM_WORKLOAD_H

#include <stdint.h>

#include "vgt/log.h"

struct vgt_sva_opts {
    unsigned procs;   /* 1..8, default 2 */
    unsigned pages;   /* pages per buffer, default 16 */
    unsigned rounds;  /* default 2 */
    const struct vgt_log *log;
};

struct vgt_sva_report {
    uint64_t ops, ops_ok, ops_expected_fault, ops_bad;
    uint64_t bytes_verified, mismatches;
    uint64_t page_requests, prq_served, prq_refused;
    uint64_t faults_recorded;   /* VT-d fault records the guest read */
    uint64_t iotlb_hits, iotlb_misses, invalidations;
    uint64_t atc_hits, atc_misses, atc_invalidations;
    uint64_t ioreqs;
    uint64_t msis;              /* interrupts the guest took (device + IOMMU) */
    double seconds;
};

/* 0 when every operation did what it should and every byte verified. */
int vgt_sva_run(const struct vgt_sva_opts *o, struct vgt_sva_report *r);

#endif

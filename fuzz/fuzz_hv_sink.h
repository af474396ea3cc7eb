/* SPDX-License-Identifier: MIT */
/* The hypervisor side of the harnesses that check the vGPU's MMIO and
 * display paths only: guest RAM is bounds-checked as the hypervisor would
 * check it (the vGPU writes its OpRegion there at the ASLS address), reads
 * give zeros, writes go nowhere, and MSIs are dropped. */
#ifndef VGT_FUZZ_HV_SINK_H
#define VGT_FUZZ_HV_SINK_H

#include <stdint.h>
#include <string.h>

#include "vgt/hv.h"

static inline int fz_hv_rw_check(const struct vgt_hv *hv, uint64_t gpa, size_t len)
{
    uint64_t end = hv->max_gfn << 12;

    return gpa > end || len > end - gpa ? -14 : 0; /* -EFAULT */
}

static inline int fz_hv_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    int rc = fz_hv_rw_check(hv, gpa, len);

    if (!rc)
        memset(buf, 0, len);
    return rc;
}

static inline int fz_hv_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    (void)buf;
    return fz_hv_rw_check(hv, gpa, len);
}

static inline int fz_hv_msi(struct vgt_hv *hv, uint64_t addr, uint32_t data)
{
    (void)hv, (void)addr, (void)data;
    return 0;
}

#endif

/* The ioreq test device: a small MMIO device to check an ioreq path end to
 * end (vgt demo on the simulated platform, vgtd --device testdev on a real
 * Xen domain, where a guest checks it with devmem).
 *
 * A 4 KiB MMIO window at BASE; registers are 8 bytes wide, little endian.
 * An access of 1, 2, 4 or 8 bytes may hit any byte lanes inside one
 * register (offset k within the register, k + size <= 8); it reads or
 * writes those lanes only. Documented in docs/user-guide.md.
 *
 *   0x00 ID       RO  VGT_TESTDEV_ID
 *   0x08 SCRATCH  RW  reads back what was written; one per vCPU (banked
 *                     by the vCPU making the access, like a per-CPU
 *                     register), so concurrent vCPUs can each check theirs
 *   0x10 COUNTER  RO  accesses the device served, this one included;
 *                     a write of any value resets it to 0
 *   0x18 SIZE     RO  depends on the access size: each byte read equals
 *                     the size (1 -> 0x01, 2 -> 0x0202, 4 -> 0x04040404,
 *                     8 -> 0x0808080808080808)
 *   0x20 VCPU     RO  the index of the vCPU making the access
 *   other offsets read 0; writes to RO registers are ignored. */
#ifndef VGT_TESTDEV_H
#define VGT_TESTDEV_H

#include <stdint.h>

#include "vgt/ioreq_server.h"
#include "vgt/log.h"

#define VGT_TESTDEV_ID 0x3156454454544756ull /* "VGTTDEV1" in memory order */
#define VGT_TESTDEV_SIZE 0x1000u
#define VGT_TESTDEV_REG_ID 0x00u
#define VGT_TESTDEV_REG_SCRATCH 0x08u
#define VGT_TESTDEV_REG_COUNTER 0x10u
#define VGT_TESTDEV_REG_SIZE 0x18u
#define VGT_TESTDEV_REG_VCPU 0x20u
#define VGT_TESTDEV_MAX_VCPUS 128u

struct vgt_testdev;

/* Map the device at [base, base + 4 KiB) on server @s. */
int vgt_testdev_attach(struct vgt_ioreq_server *s, uint64_t base, const struct vgt_log *log,
                       struct vgt_testdev **out);
/* Unmap and free. NULL is fine. */
void vgt_testdev_detach(struct vgt_testdev *d);
uint64_t vgt_testdev_accesses(const struct vgt_testdev *d);

/* The value the SIZE register gives an access of @size bytes at its start. */
uint64_t vgt_testdev_expect_size(unsigned size);

#endif

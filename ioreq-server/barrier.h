/* Memory barriers of the ioreq protocol.
 *
 * ARCHITECTURE.md (observed on Xen 4.17 arm64): use xen_rmb/xen_wmb/xen_mb
 * from xenctrl.h, which are real fences on Arm. xenctrl.h needs GNU C
 * (anonymous unions), so the files that include this one are compiled with
 * -std=gnu11 (see meson.build). */
#ifndef VGT_IOREQ_BARRIER_H
#define VGT_IOREQ_BARRIER_H

#include <xenctrl.h>

#define vgt_ioreq_rmb() xen_rmb()
#define vgt_ioreq_wmb() xen_wmb()
#define vgt_ioreq_mb() xen_mb()

#endif

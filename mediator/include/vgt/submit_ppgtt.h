/* The PPGTT shadow of one vGPU (vgt/ppgtt.h) bound to the submission
 * path (vgt_submit_ppgtt_ops of vgt/submit.h). Shared by everything that
 * attaches vGPUs to vgt_submit: vgtd's vGPU host and the GPU demo
 * platform.
 *
 * The shadow belongs to one thread at a time: the adapter serialises the
 * submission path (ioreq thread, dispatcher) and the write-protect handler
 * (ioreq thread, installed on @hv by create) on one lock. */
#ifndef VGT_SUBMIT_PPGTT_H
#define VGT_SUBMIT_PPGTT_H

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/log.h"
#include "vgt/submit.h"

struct vgt_submit_pp;

/* The ops to hand vgt_submit_attach together with the adapter. */
extern const struct vgt_submit_ppgtt_ops vgt_submit_pp_ops;

/* -ENOTSUP when PPGTT shadowing (shadow-gtt/) is not built. */
int vgt_submit_pp_create(struct vgt_hv *hv, struct vgt_hostgpu *hw, struct vgt_log *log,
                         struct vgt_submit_pp **out);
/* After vgt_submit_detach of the vGPU it served. NULL is fine. */
void vgt_submit_pp_destroy(struct vgt_submit_pp *a);

#endif

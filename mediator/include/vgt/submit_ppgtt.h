/* The PPGTT shadow of one vGPU (vgt/ppgtt.h) bound to the submission
 * path (vgt_submit_ppgtt_ops of vgt/submit.h). Shared by everything that
 * attaches vGPUs to vgt_submit: vgtd's vGPU host and the GPU demo
 * platform.
 *
 * One lock per object: the PPGTT manager's own lock serialises the
 * submission path (pins, syncs, unpins at delivery) and its write-protect
 * handler (installed on @hv by the manager); the adapter adds none. */
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
/* The shadow's current size (vgt/ppgtt.h vgt_ppgtt_stats), for metrics.
 * -ENOTSUP without shadow-gtt/. */
struct vgt_submit_pp_stats {
    uint64_t shadow_pages;   /* host pages holding shadow entries */
    uint64_t shadow_bytes;   /* shadow pages + metadata */
    uint64_t guest_pt_pages; /* guest pages tracked as page tables */
    uint64_t wp_pages;       /* write-protected now */
    uint64_t oos_pages;      /* out of sync now */
    uint64_t roots;
    uint64_t traps;          /* trapped guest page-table writes (total) */
    uint64_t refused;        /* guest entries refused and pointed at scratch (total) */
};
int vgt_submit_pp_get_stats(struct vgt_submit_pp *a, struct vgt_submit_pp_stats *st);
/* This vGPU's PPGTT scratch leaf (host DMA address): where refused leaves
 * point (tests compare shadows with it). */
uint64_t vgt_submit_pp_scratch_leaf(struct vgt_submit_pp *a);
/* After vgt_submit_detach of the vGPU it served. NULL is fine. */
void vgt_submit_pp_destroy(struct vgt_submit_pp *a);

#endif

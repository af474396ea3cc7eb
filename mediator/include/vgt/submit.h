/* Workload submission: virtual execlists, workload shadowing, audit,
 * scheduling and completion for every vGPU on one physical GPU.
 *
 * One struct vgt_submit per physical GPU owns the engines' execlist ports,
 * the scheduler and a dispatcher thread. Each vGPU is attached with
 * vgt_submit_attach, which installs the device model's hooks:
 *
 * - ELSP: the fourth dword of a submission submits. Each valid descriptor
 *   must be 64-bit legacy (4-level PPGTT) mode with its context image
 *   inside the vGPU's graphics memory and readable; otherwise the vGPU goes
 *   to failsafe with the reason.
 * - Shadowing, at submission: the guest context's register state is read
 *   and a host-owned shadow context is built from the fields vgt models
 *   (ring registers pointing at the shadow ring, PDP0 at the PPGTT
 *   shadow); the ring (head..tail) and every batch it reaches are copied
 *   into host pages and audited (vgt/cmd_audit.h); the copies are what the
 *   GPU runs. A violation drops the workload and puts the vGPU in failsafe.
 * - Scheduling: workloads queue per vGPU and engine; the dispatcher gives
 *   each engine to the vGPU vgt/sched.h picks.
 * - Completion: the physical CSB is consumed; the guest's context image
 *   (RING_HEAD), its HWSP CSB copy and its virtual CSB registers are
 *   updated, then its user interrupt and context-switch interrupt are
 *   raised, in that order.
 * - Reset / failsafe: a guest engine reset or vGPU reset cancels its
 *   queued workloads and drops the completion of a running one; other
 *   vGPUs are untouched.
 *
 * docs/submission.md describes the whole path. */
#ifndef VGT_SUBMIT_H
#define VGT_SUBMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/log.h"
#include "vgt/sched.h"

struct vgt_vgpu;
struct vgt_submit;
struct vgt_submit_vgpu;

/* The PPGTT shadow of one vGPU, as the submission path needs it (an
 * adapter over vgt/ppgtt.h). */
struct vgt_submit_ppgtt_ops {
    /* Pin the shadow of the PPGTT rooted at guest-physical @pml4; *root is
     * the host DMA address that goes into the shadow context's PDP0. */
    int (*pin)(void *opaque, uint64_t pml4, uint64_t *root);
    int (*unpin)(void *opaque, uint64_t pml4);
    /* Reconcile pending partial PTE writes and out-of-sync pages. */
    int (*sync)(void *opaque, uint64_t pml4);
    /* g2v L4 create (true) / destroy (false). May be NULL. */
    int (*g2v)(void *opaque, bool create, uint64_t pml4);
    /* vGPU reset: drop every shadow. May be NULL. */
    void (*reset)(void *opaque);
    /* The guest's p2m changed: translate every shadow again. May be NULL. */
    int (*revalidate)(void *opaque);
};

struct vgt_submit_cfg {
    struct vgt_hostgpu *hw;
    struct vgt_log *log;
    /* Host graphics memory for shadow contexts, rings and batches; it must
     * be outside every vGPU's ranges. 0/0: the host's high reservation
     * [aperture, aperture + 384 MiB). */
    uint64_t shadow_gm_base, shadow_gm_size;
    struct vgt_sched_config sched; /* zero: defaults */
};

int vgt_submit_create(const struct vgt_submit_cfg *cfg, struct vgt_submit **out);
/* Stops the dispatcher; every vGPU must be detached. NULL is fine. */
void vgt_submit_destroy(struct vgt_submit *s);
struct vgt_sched *vgt_submit_sched(struct vgt_submit *s);

/* Serve @v: weight 1..1000, cap 0 (none) or 1..100 %. @ppgtt may be NULL
 * (then every submission is refused: vgt runs PPGTT contexts only). */
int vgt_submit_attach(struct vgt_submit *s, struct vgt_vgpu *v, unsigned weight, unsigned cap_pct,
                      const struct vgt_submit_ppgtt_ops *ppgtt, void *ppgtt_opaque,
                      struct vgt_submit_vgpu **out);
/* Cancels its work, waits for a running workload to leave the engine,
 * removes the hooks. NULL is fine. */
void vgt_submit_detach(struct vgt_submit_vgpu *sv);

struct vgt_submit_stats {
    struct vgt_sched_stats sched;  /* busy time, completed, cancelled per engine */
    uint64_t submitted;            /* workloads accepted */
    uint64_t refused;              /* submissions refused (each put the vGPU in failsafe) */
    uint64_t user_interrupts;      /* virtual user interrupts delivered */
    uint64_t ctx_switch_events;    /* virtual CSB events written */
    uint64_t audited_dwords;
    uint64_t batches;              /* batch buffers copied and audited */
    char last_refusal[160];        /* the reason of the last refusal */
};
int vgt_submit_get_stats(struct vgt_submit_vgpu *sv, struct vgt_submit_stats *st);
/* Change the scheduler share live: @weight 1..1000 (0: keep), @cap_pct
 * 0 (none) ..100, or VGT_SUBMIT_KEEP. -EINVAL for values out of range. */
#define VGT_SUBMIT_KEEP 0xffffffffu
int vgt_submit_set_share(struct vgt_submit_vgpu *sv, unsigned weight, unsigned cap_pct);
/* Watchdog: the most engine time one workload of this vGPU may take, on
 * any engine, in ms (VGT_SUBMIT_WATCHDOG_DEFAULT_MS when 0;
 * VGT_SUBMIT_WATCHDOG_OFF: none). When it runs out the dispatcher preempts
 * the workload (an ELSP write of an idle host context) or, when that does
 * not take within VGT_SUBMIT_PREEMPT_TIMEOUT_MS, resets the engine
 * (RING_RESET_CTL, GEN6_GDRST); the vGPU enters failsafe "gpu-hang" and the
 * scheduler charges it the whole time. The vGPU type gives the value
 * (vgt_vgpu_res.watchdog_ms). */
#define VGT_SUBMIT_WATCHDOG_DEFAULT_MS 2000u
#define VGT_SUBMIT_WATCHDOG_OFF 0xffffffffu
#define VGT_SUBMIT_PREEMPT_TIMEOUT_MS 20u
int vgt_submit_set_watchdog(struct vgt_submit_vgpu *sv, unsigned budget_ms);

struct vgt_submit_watchdog_stats {
    uint64_t hangs;          /* budgets that ran out */
    uint64_t preempted;      /* ... and the workload was preempted */
    uint64_t resets;         /* ... and the engine had to be reset */
    uint64_t late;           /* ... and it completed before the watchdog
                              * thread got to it (a loaded host) */
    uint64_t last_stop_ns;   /* budget exhausted -> engine free, last hang */
    uint64_t max_stop_ns;
    /* budget exhausted -> the next vGPU's workload submitted on that
     * engine (0 when nothing was queued), last hang */
    uint64_t last_resume_ns;
    /* Workloads a reset or removal of their vGPU took off an engine
     * before they ended (not hangs: no budget involved) */
    uint64_t evicted;
};
void vgt_submit_watchdog_stats(struct vgt_submit *s, struct vgt_submit_watchdog_stats *st);
/* The watchdog's test: a workload dispatched at @started_ns is past its
 * budget @budget_ns (UINT64_MAX: none) at @now. False for a clock read
 * before the dispatch (now < started_ns), which another thread's dispatch
 * makes possible while the watchdog waits for the path's lock. */
bool vgt_submit_watchdog_expired(uint64_t now, uint64_t started_ns, uint64_t budget_ns);

/* Graphics-memory residency switches made before dispatch (all vGPUs;
 * docs/vgpu.md "Sharing graphics memory"). */
struct vgt_submit_gm_stats {
    uint64_t switches;       /* a vGPU made resident over another */
    uint64_t entries_written;
    uint64_t entries_skipped; /* already right: the differential part */
    uint64_t switch_ns;      /* total, charged to the vGPUs that needed them */
    uint64_t blocked;        /* picks passed over: overlapping work on an engine */
    /* Pre-copy: switches made while the vGPU waited for an engine, off
     * its dispatch's path (not counted in switches above). */
    uint64_t precopies;
    uint64_t precopy_written;
    uint64_t precopy_ns;     /* also charged to the vGPUs they were for */
    uint64_t precopy_hits;   /* dispatches that found the pre-copy still in place */
    uint64_t precopy_hit_ns; /* what those dispatches spent on it (the check) */
    uint64_t precopy_lost;   /* pre-copied, but the set went to another vGPU first */
};
void vgt_submit_gm_stats(struct vgt_submit *s, struct vgt_submit_gm_stats *st);
/* Graphics-memory pre-copy on (the default) or off (every switch is made
 * at dispatch, on the path; the benchmark's comparison). */
void vgt_submit_set_gm_precopy(struct vgt_submit *s, bool on);

/* Workloads queued or running for this vGPU (all engines). */
unsigned vgt_submit_outstanding(struct vgt_submit_vgpu *sv);

#endif

/* Internal state of the submission path (not a public header).
 *
 * The path is split as Linux gvt splits it:
 * - execlist.c: the guest's view, virtual ELSP and virtual CSB, and the
 *   device model's hooks (reset, failsafe, g2v);
 * - workload.c: shadowing one guest context into a host slot (copy, audit,
 *   relocate, shadow context), in named steps;
 * - dispatch.c: the host's side, physical ELSP and CSB, completion and the
 *   dispatcher thread;
 * - submit.c: bring-up, attach/detach and the public accessors.
 *
 * Lock order (take only in this order; never the other way):
 *
 *   v->lock (the vGPU's, recursive; the device model holds it around every
 *   hook, so the ELSP path and shadowing run under it)
 *     -> the PPGTT manager's own lock (inside vgt_ppgtt_*)
 *       -> s->lock (queues, engines, slots, the delivery lists)
 *         -> the scheduler's lock (inside vgt_sched_*)
 *   s->irq_mu is a leaf: only the dispatcher's wake-up flags.
 *
 * The GPU's path (the interrupt callback and the dispatcher thread) never
 * waits on v->lock, which a guest's submission holds for as long as its
 * shadowing takes: it retires the workload from the engine, charges it
 * and starts the next one under s->lock alone, queues the finished
 * workload on its vGPU's delivery list, and only *tries* v->lock (for at
 * most 20 us, what an MMIO handler holds it) to tell the guest, or to put
 * it in failsafe gpu-hang. When the vGPU is busy, the dispatcher retries
 * shortly (and the vGPU's own next ELSP write delivers first); either way
 * in order. So a vGPU whose lock is held for long (a flood of
 * submissions, a reset) delays only its own notifications: the watchdog,
 * retiring and the other vGPUs' deliveries go on.
 * Whoever frees a vGPU's shadows (device-model reset, detach) first waits
 * for its work to leave the hardware (vgt_dispatch_quiesce). */
#ifndef VGT_SUBMIT_PRIV_H
#define VGT_SUBMIT_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vgt/cmd_audit.h"
#include "vgt/mmio_context.h"
#include "vgt/submit.h"
#include "vgpu_priv.h"

/* ---- Gen9 execlist facts (Linux i915 gt/intel_lrc.c, intel_lrc_reg.h,
 * intel_engine_regs.h, intel_engine_types.h) ---- */
#define CTX_VALID (1u << 0)                   /* GEN8_CTX_VALID */
#define CTX_PRIVILEGE (1u << 8)               /* GEN8_CTX_PRIVILEGE */
#define CTX_MODE_SHIFT 3                      /* GEN8_CTX_ADDRESSING_MODE_SHIFT */
#define CTX_MODE_MASK (3u << 3)
#define CTX_MODE_LEGACY_64B 3u                /* INTEL_LEGACY_64B_CONTEXT */
#define CTX_LRCA_MASK 0xfffff000u
#define LRC_PPHWSP_PN 0                       /* per-process HWSP: page 0 (i915 gt/intel_lrc.h) */
#define LRC_STATE_PN 1                        /* register state: page 1 */
#define CTX_LRI_HEADER_0 0x01
#define CTX_CONTEXT_CONTROL (0x02 + 1)
#define CTX_RING_HEAD (0x04 + 1)
#define CTX_RING_TAIL (0x06 + 1)
#define CTX_RING_START (0x08 + 1)
#define CTX_RING_CTL (0x0a + 1)
#define CTX_BB_STATE (0x10 + 1)
#define CTX_LRI_HEADER_1 0x21
#define CTX_TIMESTAMP (0x22 + 1)
#define CTX_PDP3_UDW (0x24 + 1)
#define CTX_PDP0_UDW (0x30 + 1)
#define CTX_PDP0_LDW (0x32 + 1)
#define CTX_REG_DWORDS 0x60
/* RING_CTX_TIMESTAMP ticks at the CS timestamp frequency: 12 MHz on
 * Skylake GT2 (i915 gt/intel_gt_clock_utils.c gen9_read_clock_frequency:
 * the 24 MHz crystal >> (3 - CTC_MODE shift 2); the vGPU's CTC_MODE in
 * vgpu_regs.h and the simulated GPU's GEN9_CS_TIMESTAMP_HZ agree). */
#define CTX_TIMESTAMP_HZ 12000000ull
#define RING_VALID (1u << 0)                  /* RING_CTL */
#define RING_NR_PAGES 0x001ff000u
#define RING_HEAD_ADDR 0x001ffffcu
#define RING_TAIL_ADDR 0x001ffff8u
#define MI_LRI_FORCE_POSTED (1u << 12)
#define CSB_ENTRIES 6                         /* GEN8_CSB_ENTRIES */
#define CSB_WRITE_MASK 0x7u
#define CSB_READ_SHIFT 8
#define CSB_READ_MASK (0x7u << 8)
#define CSB_IDLE_ACTIVE (1u << 0)             /* GEN8_CTX_STATUS_* */
#define CSB_ELEMENT_SWITCH (1u << 2)
#define CSB_ACTIVE_IDLE (1u << 3)
#define CSB_COMPLETE (1u << 4)
#define CSB_ERROR (1u << 14)                  /* the simulated GPU's fault flag */
#define HWS_CSB_BUF0 0x10                     /* I915_HWS_CSB_BUF0_INDEX */
#define HWS_CSB_WRITE 0x1f                    /* I915_HWS_CSB_WRITE_INDEX */
#define GFX_RUN_LIST_ENABLE (1u << 15)        /* RING_MODE_GEN7 */
#define MASKED_ENABLE(b) (((b) << 16) | (b))
#define GT_USER (1u << 0)                     /* GT_RENDER_USER_INTERRUPT */
#define GT_ERROR (1u << 3)                    /* GT_CS_MASTER_ERROR_INTERRUPT */
#define GT_CTX_SWITCH (1u << 8)               /* GT_CONTEXT_SWITCH_INTERRUPT */
#define MI_NOOP 0u

extern const uint32_t vgt_submit_ring_base[VGT_ENGINE_NUM];

/* ---- shadow slots: one per workload, contiguous in the host GGTT ---- */
#define SLOT_CTX_PAGES 2
#define SLOT_RING_PAGES 8
#define SLOT_BATCH_PAGES 64
#define SLOT_PAGES (SLOT_CTX_PAGES + SLOT_RING_PAGES + SLOT_BATCH_PAGES)
#define MAX_SLOTS 1024
#define MAX_QUEUED 16 /* per vGPU and engine */

struct slot {
    unsigned idx;
    uint64_t gm;                   /* GGTT address of page 0 */
    uint64_t dma[SLOT_PAGES];
    uint8_t *va[SLOT_PAGES];
    struct slot *next_free;
};

enum wl_state { WL_QUEUED, WL_RUNNING, WL_DONE };

struct workload {
    struct vgt_submit_vgpu *sv;
    unsigned engine;
    enum wl_state state;
    bool cancelled;
    bool error;
    bool last;          /* last element of its ELSP pair */
    uint32_t guest_ctx_id;
    uint64_t pml4;
    bool pinned;
    uint32_t guest_tail;
    uint64_t head_gpa;  /* guest context image RING_HEAD dword */
    uint64_t hwsp_gpa;  /* guest HWSP page (0: none) */
    /* The guest context image's page 0 (its per-process HWSP) and the
     * dwords of it the workload's store-data-index commands may write:
     * the shadow's are copied back there at completion. */
    uint64_t pphwsp_gpa;
    uint32_t pphwsp_dirty[1024 / 32];
    unsigned user_irqs;
    struct slot *slot;
    uint32_t ctx_ts0;   /* the shadow image's CTX_TIMESTAMP at dispatch */
    struct workload *next;
};

/* The next run of set bits in @dirty (1024 bits, dwords of the PPHWSP)
 * at or after *dw: true with its first dword in *dw and its length in *n. */
static inline bool vgt_pphwsp_next_run(const uint32_t *dirty, unsigned *dw, unsigned *n)
{
    unsigned d = *dw, e;

    while (d < 1024 && !(dirty[d / 32] & (1u << (d % 32))))
        d++;
    for (e = d; e < 1024 && (dirty[e / 32] & (1u << (e % 32))); e++)
        ;
    *dw = d;
    *n = e - d;
    return e > d;
}

struct vengine {
    uint32_t elsp[4];
    unsigned elsp_n;
    unsigned csb_wp;          /* virtual CSB write index */
    struct workload *q_head, *q_tail; /* queued, in order */
    unsigned queued;
    unsigned outstanding;     /* queued + running */
    uint64_t last_lrca;       /* the newest submission's context */
    uint32_t last_tail;       /* and where its ring copy ended */
    bool active;              /* virtual engine active (between IDLE_ACTIVE and ACTIVE_IDLE) */
};

struct vgt_submit_vgpu {
    struct vgt_submit *s;
    struct vgt_vgpu *v;
    unsigned sched_id;
    const struct vgt_submit_ppgtt_ops *pp;
    void *pp_opaque;
    struct vgt_auditor audit;
    struct vengine eng[VGT_ENGINE_NUM];
    unsigned running;          /* dispatched and not yet delivered */
    unsigned on_hw;            /* on an engine now (s->lock) */
    bool precopied;            /* made resident by a pre-copy, not yet dispatched (s->lock) */
    /* Finished on the GPU, to tell the guest in order (s->lock). */
    struct workload *done_head, *done_tail;
    unsigned delivering;       /* threads trying to deliver now (s->lock) */
    struct vgt_submit_stats st;
    bool detaching;
    uint64_t watchdog_ns;      /* per-workload budget; UINT64_MAX: off */
    /* Engines where a workload ran past it, and why: failsafe gpu-hang
     * still to enter (dispatch.c hang_failsafes; s->lock). */
    unsigned hang_mask;
    char hang_why[96];
};

struct hw_engine {
    bool present;
    struct workload *running;
    uint64_t started_ns;       /* when running was submitted */
    /* The watchdog is stopping running: completion and dispatch leave
     * the engine alone until it is done. */
    bool stalled;
    /* The idle host context the watchdog preempts with: image (2 pages)
     * and an empty ring (1 page), at the top of the shadow area. */
    uint64_t preempt_dma[3];
    uint64_t preempt_gm;
    unsigned csb_head;
    uint64_t hwsp_dma;
    uint64_t hwsp_gm;
};

struct vgt_submit {
    struct vgt_hostgpu *hw;
    struct vgt_log *log;
    struct vgt_sched *sched;
    pthread_mutex_t lock;
    pthread_cond_t done_cv;     /* a workload left an engine or was delivered */
    struct hw_engine eng[VGT_ENGINE_NUM];
    struct vgt_submit_vgpu *by_sched[VGT_SCHED_MAX_VGPUS];
    uint64_t pend_mask[VGT_SCHED_MAX_VGPUS / 64]; /* vGPUs with undelivered work */
    uint64_t shadow_gm, shadow_size;
    struct slot *slots[MAX_SLOTS];
    unsigned nr_slots;
    struct slot *free_slots;
    /* Registers switched between vGPUs (under lock; dispatch.c). */
    struct vgt_mmio_ctx mmio_ctx;
    struct vgt_submit_watchdog_stats wd; /* under lock */
    struct vgt_submit_gm_stats gm;       /* under lock */
    bool gm_precopy;            /* pre-copy on (under lock; default on) */
    /* Scheduler ids of vGPUs whose last workload on an engine retired:
     * their sets' pre-copy, once the engines have their next work (under
     * lock). */
    unsigned precopy_for[VGT_ENGINE_NUM];
    unsigned nr_precopy_for;
    bool hangs_pending;         /* some sv->hang_mask is set (under lock) */
    /* dispatcher wake-ups */
    pthread_mutex_t irq_mu;
    pthread_cond_t irq_cv;
    unsigned irq_pending;       /* engine bits */
    bool kick;
    bool stop;
    unsigned in_irq;            /* interrupt callbacks running now */
    pthread_t thread;
};

static inline uint32_t vgt_submit_rd(struct vgt_submit *s, uint32_t off)
{
    return s->hw->ops->mmio_read32(s->hw, off);
}

static inline void vgt_submit_wr(struct vgt_submit *s, uint32_t off, uint32_t val)
{
    s->hw->ops->mmio_write32(s->hw, off, val);
}

/* execlist.c: the guest's view */
void vgt_execlist_refuse(struct vgt_submit_vgpu *sv, const char *what, uint64_t desc);
void vgt_execlist_complete(struct vgt_submit_vgpu *sv, struct workload *wl);
void vgt_execlist_cancel(struct vgt_submit_vgpu *sv, unsigned mask);
void vgt_execlist_init(struct vgt_submit_vgpu *sv);
void vgt_execlist_hooks(struct vgt_submit_vgpu *sv, struct vgt_vgpu_hooks *h);

/* workload.c: shadowing */
int vgt_workload_audit_init(struct vgt_submit_vgpu *sv);
int vgt_workload_shadow(struct vgt_submit_vgpu *sv, unsigned engine, uint64_t desc,
                        struct workload **out);
void vgt_workload_unpin(struct workload *wl);
void vgt_workload_free(struct vgt_submit *s, struct workload *wl);
void vgt_slot_free_pages(struct vgt_submit *s, struct slot *sl);

/* dispatch.c: the host's side */
int vgt_dispatch_start(struct vgt_submit *s);
void vgt_dispatch_stop(struct vgt_submit *s);
void vgt_dispatch_free_status_pages(struct vgt_submit *s);
void vgt_dispatch_kick(struct vgt_submit *s);
/* The scheduler's eligibility filter (vgt_sched_set_eligible): a vGPU
 * whose graphics memory is not resident waits while a vGPU sharing it
 * has work on an engine. Under s->lock. */
bool vgt_dispatch_gm_eligible(void *opaque, unsigned id, unsigned engine);
/* Graphics-memory pre-copy (docs/vgpu.md, "Pre-copy"), under s->lock:
 * for the vGPUs sharing @sv's ranges (@sv queued work that waits), and
 * for the sets of the vGPUs retire() noted (after the engines got their
 * next work). */
void vgt_dispatch_precopy_for(struct vgt_submit *s, struct vgt_submit_vgpu *sv);
void vgt_dispatch_precopy(struct vgt_submit *s);
/* Start the next workload on idle engine @e. Under s->lock. */
void vgt_dispatch_engine(struct vgt_submit *s, unsigned e, uint64_t *retry);
/* The per-engine watchdog (dispatcher thread, no lock held): stops the
 * workloads past their budget. True when a delivery must be retried. */
bool vgt_watchdog_check(struct vgt_submit *s);
/* v->lock held: tell the guest about its finished workloads, in order,
 * and free them. */
void vgt_dispatch_deliver_locked(struct vgt_submit_vgpu *sv);
/* Take @sv's running work off the engines in @mask (its queued work must
 * be cancelled first): preempted, else the engine is reset, as the
 * watchdog does, instead of waiting for it to end or for its budget.
 * Returns when none of it is on those engines. Takes s->lock; the caller
 * may hold v->lock (the GPU path never waits for it). */
void vgt_dispatch_quiesce(struct vgt_submit_vgpu *sv, unsigned mask);

#endif

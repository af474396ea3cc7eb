/* The vGPU scheduler policy: weighted time slices per engine.
 *
 * One scheduler serves every vGPU of one physical GPU. It decides, per
 * engine, which vGPU's workload goes to the engine next; the submission path
 * asks it (vgt_sched_pick), tells it when a workload starts and ends
 * (vgt_sched_begin / vgt_sched_end) and how much work each vGPU has queued
 * (vgt_sched_set_pending). It never touches hardware, so it is tested with
 * an injected clock.
 *
 * Policy (docs/scheduler.md has the full story):
 * - Virtual time per vGPU per engine: running charges busy_ns / weight,
 *   in full, so a workload longer than the period is paid back before its
 *   vGPU runs again (up to VGT_SCHED_MAX_DEBT_NS per workload).
 * - The engine goes to the pending vGPU furthest behind (ties: the one
 *   that ran least recently) and stays with it for one slice (default
 *   1 ms) while it has work. Work-conserving: a vGPU ahead still runs when
 *   no one else wants the engine, unless it is capped.
 * - A vGPU that queues work after having none is placed no further than
 *   one slice behind the engine's fair clock (the smallest virtual time of
 *   the active vGPUs): idle time is not banked, and it is served as soon
 *   as the current slice ends. A vGPU in debt keeps it while idle.
 * - Cap (optional, percent): a vGPU gets at most cap% of each balance period
 *   on each engine, even when the engine is otherwise idle.
 *
 * Thread-safe: every call takes the scheduler's lock. */
#ifndef VGT_SCHED_H
#define VGT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/log.h"

#define VGT_SCHED_MAX_VGPUS 256
#define VGT_SCHED_MAX_WEIGHT 1000
#define VGT_SCHED_DEFAULT_SLICE_NS 1000000ull     /* 1 ms, as GVT-g's slice */
#define VGT_SCHED_DEFAULT_PERIOD_NS 100000000ull  /* 100 ms balance period */
/* The slice may be at most period / this (a cap window holds turns). */
#define VGT_SCHED_MIN_SLICES_PER_PERIOD 10
/* Most debt one vGPU can owe on an engine (a minute of engine time). */
#define VGT_SCHED_MAX_DEBT_NS (60ull * 1000000000ull)

typedef uint64_t (*vgt_sched_clock_fn)(void *opaque);

struct vgt_sched_config {
    uint64_t slice_ns;   /* 0: default */
    uint64_t period_ns;  /* 0: default */
    vgt_sched_clock_fn clock; /* NULL: CLOCK_MONOTONIC */
    void *clock_opaque;
};

struct vgt_sched_stats {
    unsigned weight;
    unsigned cap_pct;                        /* 0: no cap */
    /* engine time its workloads were charged: GPU time (the context
     * timestamp) when the submission path reports it, else wall time */
    uint64_t busy_ns[VGT_ENGINE_NUM];
    uint64_t wall_ns[VGT_ENGINE_NUM];        /* wall time from begin to end */
    uint64_t completed[VGT_ENGINE_NUM];      /* workloads that ended normally */
    uint64_t cancelled[VGT_ENGINE_NUM];      /* workloads ended by reset/failsafe */
    uint64_t switches_in[VGT_ENGINE_NUM];    /* times the engine was handed to it */
    uint64_t failsafe_events;
    /* ns of its own time it is behind the engine's fair clock (negative:
     * ahead, i.e. in debt); diagnostics */
    int64_t credit_ns[VGT_ENGINE_NUM];
    unsigned pending[VGT_ENGINE_NUM];        /* queued workloads */
    uint64_t switch_ns[VGT_ENGINE_NUM];      /* graphics-memory switches charged */
};

struct vgt_sched;

/* cfg may be NULL (all defaults). -EINVAL for a slice longer than
 * period / VGT_SCHED_MIN_SLICES_PER_PERIOD or a period over ~9 s. */
int vgt_sched_create(const struct vgt_sched_config *cfg, struct vgt_log *log,
                     struct vgt_sched **out);
void vgt_sched_destroy(struct vgt_sched *s);

/* The configuration in effect (defaults filled in). */
void vgt_sched_get_config(const struct vgt_sched *s, struct vgt_sched_config *cfg);

/* Weight of a GVT-g type name (V5_8 2, V5_4 4, V5_2 8, V5_1 16), or
 * -EINVAL for an unknown name. */
int vgt_sched_type_weight(const char *type);

/* Register a vGPU. weight 1..VGT_SCHED_MAX_WEIGHT, cap_pct 0 (none) or
 * 1..100. *id is the handle for every other call. -ENOSPC when full. */
int vgt_sched_add(struct vgt_sched *s, unsigned weight, unsigned cap_pct, unsigned *id);
/* Forget a vGPU (it must have no workload running: -EBUSY otherwise). */
int vgt_sched_remove(struct vgt_sched *s, unsigned id);
int vgt_sched_set_weight(struct vgt_sched *s, unsigned id, unsigned weight);
int vgt_sched_set_cap(struct vgt_sched *s, unsigned id, unsigned cap_pct);

/* How many workloads @id has queued for @engine (0: idle there). */
int vgt_sched_set_pending(struct vgt_sched *s, unsigned id, unsigned engine, unsigned nr);

/* Who should get @engine now. 0 and *id when some vGPU should run;
 * -EAGAIN when nobody is eligible (no work, or only capped vGPUs), with
 * *retry_ns the clock value at which a capped vGPU becomes eligible again
 * (UINT64_MAX when nobody waits). -EBUSY while a workload is running on
 * the engine. */
int vgt_sched_pick(struct vgt_sched *s, unsigned engine, unsigned *id, uint64_t *retry_ns);

/* A workload of @id starts on / leaves @engine. end charges the time since
 * begin; @completed false means it was cancelled (reset, failsafe).
 * end_gpu charges @gpu_ns instead: the GPU time the context really held
 * the engine (its context timestamp), which the host's scheduling delays
 * do not inflate (docs/scheduler.md, "Charging in GPU time"). */
int vgt_sched_begin(struct vgt_sched *s, unsigned id, unsigned engine);
int vgt_sched_end(struct vgt_sched *s, unsigned id, unsigned engine, bool completed);
int vgt_sched_end_gpu(struct vgt_sched *s, unsigned id, unsigned engine, bool completed,
                      uint64_t gpu_ns);

/* Whether @id may have @engine now (graphics memory it shares with a vGPU
 * that has work on an engine is not resident, docs/vgpu.md). Called
 * under the scheduler's lock from vgt_sched_pick: it must not call into
 * the scheduler. An ineligible vGPU is skipped; the caller picks again
 * when that changes. */
typedef bool (*vgt_sched_eligible_fn)(void *opaque, unsigned id, unsigned engine);
void vgt_sched_set_eligible(struct vgt_sched *s, vgt_sched_eligible_fn fn, void *opaque);
/* Charge @ns of engine time that @id needed before its workload (its
 * graphics-memory switch) to it, as if it ran that long on @engine. */
int vgt_sched_charge(struct vgt_sched *s, unsigned id, unsigned engine, uint64_t ns);

int vgt_sched_note_failsafe(struct vgt_sched *s, unsigned id);
int vgt_sched_get_stats(struct vgt_sched *s, unsigned id, struct vgt_sched_stats *st);
/* Zero the accounting counters of every vGPU (not the credits). */
void vgt_sched_reset_stats(struct vgt_sched *s);

/* Jain's fairness index of x[i]/w[i] over n entries: 1.0 is perfectly fair,
 * 1/n is one entry taking everything. 0 for n == 0 or all-zero input. */
double vgt_sched_jain(const double *x, const double *w, unsigned n);

#endif

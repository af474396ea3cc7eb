/* The vGPU scheduler policy (see vgt/sched.h and docs/scheduler.md). */
#include "vgt/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/util.h"

struct sched_eng {
    /* Virtual time: engine time used, scaled by VT_SCALE / weight. The
     * pending vGPU furthest behind runs next, so over any span in which a
     * set of vGPUs stays queued each gets time in proportion to its
     * weight, however many there are. */
    uint64_t vt;
    unsigned pending;    /* queued workloads */
    bool running;
    uint64_t run_start;
    uint64_t last_run;   /* clock at the last begin: LRU tie-break */
    uint64_t period_busy; /* busy time in the current period (cap) */
};

struct sched_vgpu {
    bool used;
    unsigned weight;
    unsigned cap_pct;
    struct sched_eng e[VGT_ENGINE_NUM];
    struct vgt_sched_stats st;
};

struct sched_engine_state {
    int owner;           /* vGPU holding the engine's slice, or -1 */
    uint64_t slice_end;
    bool busy;           /* a workload is running */
    /* The engine's fair clock: never decreases, follows the smallest
     * virtual time of the vGPUs active here (CFS's min_vruntime). A vGPU
     * that wakes is placed relative to it. */
    uint64_t floor_vt;
};

struct vgt_sched {
    pthread_mutex_t lock;
    struct vgt_sched_config cfg;
    struct vgt_log *log;
    uint64_t period_start;  /* start of the current cap window */
    struct sched_engine_state eng[VGT_ENGINE_NUM];
    unsigned nr_used;
    struct sched_vgpu v[VGT_SCHED_MAX_VGPUS];
    vgt_sched_eligible_fn eligible; /* NULL: everyone */
    void *eligible_opaque;
};

/* Virtual time advances busy_ns * VT_SCALE / weight: exact for every
 * weight that divides 1000, and 2^64 / 1000 ns is months of engine time at
 * weight 1 before VT_REBASE folds every clock back. */
#define VT_SCALE ((uint64_t)VGT_SCHED_MAX_WEIGHT)
#define VT_REBASE (1ull << 62)

/* GVT-g's types and weights (architecture document, vGPU types table;
 * Linux drivers/gpu/drm/i915/gvt/vgpu.c vgpu_types[] .weight). */
static const struct {
    const char *name;
    unsigned weight;
} type_weights[] = {
    {"V5_8", 2},
    {"V5_4", 4},
    {"V5_2", 8},
    {"V5_1", 16},
};

static uint64_t default_clock(void *opaque)
{
    (void)opaque;
    return vgt_now_ns();
}

static uint64_t now_of(const struct vgt_sched *s)
{
    return s->cfg.clock(s->cfg.clock_opaque);
}

int vgt_sched_type_weight(const char *type)
{
    if (!type)
        return -EINVAL;
    for (size_t i = 0; i < VGT_ARRAY_SIZE(type_weights); i++)
        if (!strcmp(type, type_weights[i].name))
            return (int)type_weights[i].weight;
    return -EINVAL;
}

int vgt_sched_create(const struct vgt_sched_config *cfg, struct vgt_log *log,
                     struct vgt_sched **out)
{
    struct vgt_sched *s;

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (cfg)
        s->cfg = *cfg;
    if (!s->cfg.slice_ns)
        s->cfg.slice_ns = VGT_SCHED_DEFAULT_SLICE_NS;
    if (!s->cfg.period_ns)
        s->cfg.period_ns = VGT_SCHED_DEFAULT_PERIOD_NS;
    if (!s->cfg.clock) {
        s->cfg.clock = default_clock;
        s->cfg.clock_opaque = NULL;
    }
    /* Ten slices at least per period, so a cap window holds several
     * turns; the period is kept below ~9 s so virtual times stay far
     * from overflow. */
    if (s->cfg.slice_ns > s->cfg.period_ns / VGT_SCHED_MIN_SLICES_PER_PERIOD ||
        s->cfg.period_ns > (1ull << 62) / VGT_SCHED_MAX_WEIGHT) {
        vgt_err(log, "sched: bad config: slice %llu ns, period %llu ns (at least %u slices a period)",
                (unsigned long long)s->cfg.slice_ns, (unsigned long long)s->cfg.period_ns,
                VGT_SCHED_MIN_SLICES_PER_PERIOD);
        free(s);
        return -EINVAL;
    }
    if (pthread_mutex_init(&s->lock, NULL)) {
        free(s);
        return -ENOMEM;
    }
    s->log = log;
    s->period_start = now_of(s);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        s->eng[e].owner = -1;
    *out = s;
    return 0;
}

void vgt_sched_destroy(struct vgt_sched *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void vgt_sched_get_config(const struct vgt_sched *s, struct vgt_sched_config *cfg)
{
    *cfg = s->cfg;
}

static bool active(const struct sched_eng *se)
{
    return se->pending > 0 || se->running;
}

static uint64_t vt_of_ns(uint64_t ns, unsigned weight)
{
    return ns * VT_SCALE / weight;
}

/* Start a new cap window when the period is over (whole idle periods are
 * skipped in one step, staying period-aligned). */
static void advance(struct vgt_sched *s, uint64_t now)
{
    uint64_t n;

    if (now < s->period_start + s->cfg.period_ns)
        return;
    n = (now - s->period_start) / s->cfg.period_ns;
    s->period_start += n * s->cfg.period_ns;
    for (unsigned i = 0; i < VGT_SCHED_MAX_VGPUS; i++)
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            s->v[i].e[e].period_busy = 0;
}

/* Move @engine's fair clock up to the smallest virtual time of the vGPUs
 * active there; fold every clock back long before it could overflow. */
static void update_floor(struct vgt_sched *s, unsigned engine)
{
    struct sched_engine_state *es = &s->eng[engine];
    uint64_t min = UINT64_MAX;

    for (unsigned i = 0; i < VGT_SCHED_MAX_VGPUS; i++)
        if (s->v[i].used && active(&s->v[i].e[engine]) && s->v[i].e[engine].vt < min)
            min = s->v[i].e[engine].vt;
    if (min != UINT64_MAX && min > es->floor_vt)
        es->floor_vt = min;
    if (es->floor_vt >= VT_REBASE) {
        for (unsigned i = 0; i < VGT_SCHED_MAX_VGPUS; i++) {
            struct sched_eng *se = &s->v[i].e[engine];

            se->vt = se->vt > VT_REBASE / 2 ? se->vt - VT_REBASE / 2 : 0;
        }
        es->floor_vt -= VT_REBASE / 2;
    }
}

/* @v queues work on @engine after having none. It goes back in the race
 * no earlier than one slice of its own time behind the engine's fair
 * clock: idle time is not banked (it cannot come back and hold the engine
 * for the time it did not use), yet a short absence costs it nothing, and
 * it is served as soon as the engine's current slice ends. Debt is kept:
 * a vGPU whose last workload overran its share waits, queued or not,
 * until the others have had that time. Forgiving it on wake hands the
 * most time to the guests whose drivers lag most: with 64 guests whose
 * queues run empty now and then (test_64_think_fair), forgiving debt down
 * to one slice (the credit policy) gave Jain 0.989, forgiving what the
 * others would not get back within half a period 0.89, keeping it 0.9999. */
static void wake(struct vgt_sched *s, struct sched_vgpu *v, unsigned engine)
{
    struct sched_eng *se = &v->e[engine];
    uint64_t floor, lo;

    update_floor(s, engine);
    floor = s->eng[engine].floor_vt;
    lo = vt_of_ns(s->cfg.slice_ns, v->weight);
    lo = floor > lo ? floor - lo : 0;
    if (se->vt < lo)
        se->vt = lo;
}

/* Charge @ns of @engine to @v (a workload's busy time; in full, up to
 * VGT_SCHED_MAX_DEBT_NS). The one place a vGPU's virtual time grows. */
static void charge(struct vgt_sched *s, struct sched_vgpu *v, unsigned engine, uint64_t ns)
{
    v->e[engine].vt += vt_of_ns(VGT_MIN(ns, VGT_SCHED_MAX_DEBT_NS), v->weight);
    update_floor(s, engine);
}

static struct sched_vgpu *lookup(struct vgt_sched *s, unsigned id)
{
    if (id >= VGT_SCHED_MAX_VGPUS || !s->v[id].used)
        return NULL;
    return &s->v[id];
}

static int check_weight_cap(unsigned weight, unsigned cap_pct)
{
    if (weight == 0 || weight > VGT_SCHED_MAX_WEIGHT || cap_pct > 100)
        return -EINVAL;
    return 0;
}

int vgt_sched_add(struct vgt_sched *s, unsigned weight, unsigned cap_pct, unsigned *id)
{
    int rc = check_weight_cap(weight, cap_pct);

    if (rc) {
        vgt_err(s->log, "sched: weight %u (1..%u) or cap %u%% (0..100) out of range",
                weight, VGT_SCHED_MAX_WEIGHT, cap_pct);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    rc = -ENOSPC;
    for (unsigned i = 0; i < VGT_SCHED_MAX_VGPUS; i++) {
        if (s->v[i].used)
            continue;
        memset(&s->v[i], 0, sizeof(s->v[i]));
        s->v[i].used = true;
        s->v[i].weight = weight;
        s->v[i].cap_pct = cap_pct;
        s->nr_used++;
        *id = i;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vgt_sched_remove(struct vgt_sched *s, unsigned id)
{
    struct sched_vgpu *v;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    v = lookup(s, id);
    if (!v) {
        rc = -ENOENT;
        goto unlock;
    }
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (v->e[e].running) {
            rc = -EBUSY;
            goto unlock;
        }
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (s->eng[e].owner == (int)id)
            s->eng[e].owner = -1;
    v->used = false;
    s->nr_used--;
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vgt_sched_set_weight(struct vgt_sched *s, unsigned id, unsigned weight)
{
    struct sched_vgpu *v;
    int rc = check_weight_cap(weight, 0);

    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    v = lookup(s, id);
    if (v)
        v->weight = weight;
    pthread_mutex_unlock(&s->lock);
    return v ? 0 : -ENOENT;
}

int vgt_sched_set_cap(struct vgt_sched *s, unsigned id, unsigned cap_pct)
{
    struct sched_vgpu *v;
    int rc = check_weight_cap(1, cap_pct);

    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    v = lookup(s, id);
    if (v)
        v->cap_pct = cap_pct;
    pthread_mutex_unlock(&s->lock);
    return v ? 0 : -ENOENT;
}

int vgt_sched_set_pending(struct vgt_sched *s, unsigned id, unsigned engine, unsigned nr)
{
    struct sched_vgpu *v;
    int rc = 0;

    if (engine >= VGT_ENGINE_NUM)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    advance(s, now_of(s));
    v = lookup(s, id);
    if (!v) {
        rc = -ENOENT;
        goto unlock;
    }
    if (nr > 0 && !active(&v->e[engine]))
        wake(s, v, engine);
    v->e[engine].pending = nr;
    v->st.pending[engine] = nr;
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static bool capped(const struct vgt_sched *s, const struct sched_vgpu *v, unsigned engine)
{
    if (!v->cap_pct)
        return false;
    return v->e[engine].period_busy * 100 >= s->cfg.period_ns * v->cap_pct;
}

int vgt_sched_pick(struct vgt_sched *s, unsigned engine, unsigned *id, uint64_t *retry_ns)
{
    struct sched_engine_state *es;
    uint64_t now;
    int best = -1;
    bool any_capped = false;
    int rc = 0;

    if (engine >= VGT_ENGINE_NUM)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    now = now_of(s);
    advance(s, now);
    es = &s->eng[engine];
    *retry_ns = UINT64_MAX;
    if (es->busy) {
        rc = -EBUSY;
        goto unlock;
    }
    /* The slice owner keeps the engine while it has work. */
    if (es->owner >= 0 && now < es->slice_end) {
        struct sched_vgpu *o = &s->v[es->owner];

        if (o->used && o->e[engine].pending > 0 && !capped(s, o, engine) &&
            (!s->eligible || s->eligible(s->eligible_opaque, (unsigned)es->owner, engine))) {
            *id = (unsigned)es->owner;
            goto unlock;
        }
    }
    for (unsigned i = 0; i < VGT_SCHED_MAX_VGPUS; i++) {
        struct sched_vgpu *v = &s->v[i];
        struct sched_vgpu *b;

        if (!v->used || v->e[engine].pending == 0)
            continue;
        if (capped(s, v, engine)) {
            any_capped = true;
            continue;
        }
        if (s->eligible && !s->eligible(s->eligible_opaque, i, engine))
            continue; /* the caller retries when that changes */
        if (best < 0) {
            best = (int)i;
            continue;
        }
        b = &s->v[best];
        /* Furthest behind first; ties: least recently run. */
        if (v->e[engine].vt < b->e[engine].vt ||
            (v->e[engine].vt == b->e[engine].vt &&
             v->e[engine].last_run < b->e[engine].last_run))
            best = (int)i;
    }
    if (best < 0) {
        if (any_capped)
            *retry_ns = s->period_start + s->cfg.period_ns;
        rc = -EAGAIN;
        goto unlock;
    }
    if (es->owner != best) {
        s->v[best].st.switches_in[engine]++;
        es->owner = best;
    }
    es->slice_end = now + s->cfg.slice_ns;
    *id = (unsigned)best;
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vgt_sched_begin(struct vgt_sched *s, unsigned id, unsigned engine)
{
    struct sched_vgpu *v;
    uint64_t now;
    int rc = 0;

    if (engine >= VGT_ENGINE_NUM)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    now = now_of(s);
    advance(s, now);
    v = lookup(s, id);
    if (!v) {
        rc = -ENOENT;
        goto unlock;
    }
    if (s->eng[engine].busy) {
        rc = -EBUSY;
        goto unlock;
    }
    s->eng[engine].busy = true;
    if (s->eng[engine].owner != (int)id) {
        v->st.switches_in[engine]++;
        s->eng[engine].owner = (int)id;
        s->eng[engine].slice_end = now + s->cfg.slice_ns;
    }
    v->e[engine].running = true;
    v->e[engine].run_start = now;
    v->e[engine].last_run = now;
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* @gpu_ns UINT64_MAX: charge the wall time since begin. */
static int end_workload(struct vgt_sched *s, unsigned id, unsigned engine, bool completed,
                        uint64_t gpu_ns)
{
    struct sched_vgpu *v;
    uint64_t now, busy, wall;
    int rc = 0;

    if (engine >= VGT_ENGINE_NUM)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    now = now_of(s);
    v = lookup(s, id);
    if (!v || !v->e[engine].running) {
        rc = v ? -EINVAL : -ENOENT;
        goto unlock;
    }
    wall = now >= v->e[engine].run_start ? now - v->e[engine].run_start : 0;
    busy = gpu_ns == UINT64_MAX ? wall : gpu_ns;
    v->e[engine].running = false;
    charge(s, v, engine, busy);
    v->e[engine].period_busy += busy;
    v->st.busy_ns[engine] += busy;
    v->st.wall_ns[engine] += wall;
    if (completed)
        v->st.completed[engine]++;
    else
        v->st.cancelled[engine]++;
    s->eng[engine].busy = false;
    advance(s, now);
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vgt_sched_end(struct vgt_sched *s, unsigned id, unsigned engine, bool completed)
{
    return end_workload(s, id, engine, completed, UINT64_MAX);
}

int vgt_sched_end_gpu(struct vgt_sched *s, unsigned id, unsigned engine, bool completed,
                      uint64_t gpu_ns)
{
    return end_workload(s, id, engine, completed, VGT_MIN(gpu_ns, VGT_SCHED_MAX_DEBT_NS));
}

void vgt_sched_set_eligible(struct vgt_sched *s, vgt_sched_eligible_fn fn, void *opaque)
{
    pthread_mutex_lock(&s->lock);
    s->eligible = fn;
    s->eligible_opaque = opaque;
    pthread_mutex_unlock(&s->lock);
}

int vgt_sched_charge(struct vgt_sched *s, unsigned id, unsigned engine, uint64_t ns)
{
    struct sched_vgpu *v;
    int rc = 0;

    if (engine >= VGT_ENGINE_NUM)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    v = lookup(s, id);
    if (!v) {
        rc = -ENOENT;
        goto unlock;
    }
    ns = VGT_MIN(ns, s->cfg.period_ns);
    /* As engine time: its virtual time moves on as if it had run. */
    charge(s, v, engine, ns);
    v->e[engine].period_busy += ns;
    v->st.switch_ns[engine] += ns;
unlock:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vgt_sched_note_failsafe(struct vgt_sched *s, unsigned id)
{
    struct sched_vgpu *v;

    pthread_mutex_lock(&s->lock);
    v = lookup(s, id);
    if (v)
        v->st.failsafe_events++;
    pthread_mutex_unlock(&s->lock);
    return v ? 0 : -ENOENT;
}

int vgt_sched_get_stats(struct vgt_sched *s, unsigned id, struct vgt_sched_stats *st)
{
    struct sched_vgpu *v;

    pthread_mutex_lock(&s->lock);
    v = lookup(s, id);
    if (v) {
        *st = v->st;
        st->weight = v->weight;
        st->cap_pct = v->cap_pct;
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
            /* Lag behind the fair clock in ns of its own time. */
            int64_t lag = (int64_t)(s->eng[e].floor_vt - v->e[e].vt);

            st->credit_ns[e] = lag * (int64_t)v->weight / (int64_t)VT_SCALE;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return v ? 0 : -ENOENT;
}

void vgt_sched_reset_stats(struct vgt_sched *s)
{
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < VGT_SCHED_MAX_VGPUS; i++) {
        struct vgt_sched_stats *st = &s->v[i].st;

        /* Per element: gcc 12 with -fsanitize=address misreads memset of
         * these arrays as out of bounds (-Warray-bounds). */
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
            st->busy_ns[e] = 0;
            st->wall_ns[e] = 0;
            st->completed[e] = 0;
            st->cancelled[e] = 0;
            st->switches_in[e] = 0;
        }
        st->failsafe_events = 0;
    }
    pthread_mutex_unlock(&s->lock);
}

double vgt_sched_jain(const double *x, const double *w, unsigned n)
{
    double sum = 0, sq = 0;

    for (unsigned i = 0; i < n; i++) {
        double r = w && w[i] > 0 ? x[i] / w[i] : x[i];

        sum += r;
        sq += r * r;
    }
    if (n == 0 || sq == 0)
        return 0;
    return sum * sum / (n * sq);
}

/* The simulated command streamers: execlist submission (ELSP, CSB), LRC
 * context load and save, GGTT/PPGTT translation, and execution of the
 * commands decoded by the shared decoder (common/cmd_decoder.c).
 *
 * Each engine runs on its own thread. Hardware facts (register offsets,
 * descriptor and CSB formats, context image layout) are in
 * sim/include/vgt/sim_gpu_regs.h with their i915 sources; command layouts
 * are genxml gen9.xml's (bit numbers below are genxml's, counted from
 * dword 0) and, for the blitter, i915 gt/intel_gpu_commands.h and the PRM
 * vol 2a. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gpu_priv.h"
#include "vgt/util.h"

/* Why a context stopped early. */
enum run_result {
    RUN_DONE = 0,       /* HEAD reached TAIL */
    RUN_PREEMPTED = 1,  /* a new ELSP write arrived */
    RUN_FAULT = 2,      /* GPU fault: context errored */
    RUN_STOPPING = 3,   /* the GPU is being destroyed */
    RUN_RESET = 4,      /* an engine reset (GEN6_GDRST) abandoned it */
};

#define MAX_BATCH_DEPTH 2 /* first and second level (PRM: no third level) */

uint64_t sim_gpu_timestamp(void)
{
    /* CS timestamp ticks at 12 MHz on SKL (GEN9_CS_TIMESTAMP_HZ). */
    return vgt_now_ns() * (GEN9_CS_TIMESTAMP_HZ / 1000000ull) / 1000ull;
}

/* --- faults ------------------------------------------------------------- */

/* Record a fault in GEN8_RING_FAULT_REG / GEN8_FAULT_TLB_DATA0/1 and mark the
 * context as stopped. Interrupt and CSB follow when the run ends. */
static int gpu_fault(struct sim_engine *e, int space, uint64_t addr, unsigned type, const char *why)
{
    struct sim_gpu *g = e->gpu;

    pthread_mutex_lock(&g->lock);
    g->regs[GEN8_RING_FAULT_REG / 4] = RING_FAULT_VALID | (type << RING_FAULT_TYPE_SHIFT) |
                                       (space == SPACE_GGTT ? RING_FAULT_GTTSEL : 0) |
                                       ((e->id & 7u) << RING_FAULT_ENGINE_SHIFT);
    g->regs[GEN8_FAULT_TLB_DATA0 / 4] = (uint32_t)(addr >> 12);
    g->regs[GEN8_FAULT_TLB_DATA1 / 4] = (uint32_t)((addr >> 44) & FAULT_VA_HIGH_BITS) |
                                        (space == SPACE_GGTT ? FAULT_GTT_SEL : 0);
    pthread_mutex_unlock(&g->lock);
    vgt_info(g->log, "gpu %s: fault in context 0x%x: %s at %s 0x%llx", e->name, e->ctx.id, why,
             space == SPACE_GGTT ? "ggtt" : "ppgtt", (unsigned long long)addr);
    e->faulted = true;
    return -EFAULT;
}

/* --- translation ------------------------------------------------------- */

static int rd64_arena(void *opaque, uint64_t pa, uint64_t *val)
{
    struct sim_gpu *g = opaque;
    const uint64_t *p = sim_arena_ptr(g->arena, pa, 8);

    if (!p)
        return -EFAULT;
    *val = __atomic_load_n(p, __ATOMIC_RELAXED);
    return 0;
}

static void tlb_flush(struct sim_engine *e)
{
    memset(e->tlb, 0, sizeof(e->tlb));
}

/* Host pointer for @ga and how many bytes follow it in the same page.
 * Faults (and returns NULL) for unmapped, invalid or read-only-written
 * entries and for entries pointing outside host memory. */
static uint8_t *xlate(struct sim_engine *e, int space, uint64_t ga, bool write, size_t *avail)
{
    struct sim_gpu *g = e->gpu;
    uint64_t page_hpa;
    uint8_t *p;

    if (space == SPACE_GGTT) {
        uint64_t pte;

        if (ga >= e->gpu->hg.gm_size) {
            gpu_fault(e, space, ga, VGT_FAULT_NOT_PRESENT, "beyond the GGTT");
            return NULL;
        }
        pte = sim_gpu_ggtt_pte(g, ga >> 12);
        if (!(pte & GEN8_PTE_PRESENT)) {
            gpu_fault(e, space, ga, VGT_FAULT_NOT_PRESENT, "GGTT entry not present");
            return NULL;
        }
        page_hpa = pte & GEN8_PTE_ADDR_MASK;
    } else {
        struct sim_tlb_entry *t = &e->tlb[(ga >> 12) % SIM_GPU_TLB_SIZE];
        uint64_t tag = (ga >> 12) + 1;

        if (t->tag != tag) {
            struct gen8_walk w;

            if (gen8_ppgtt_walk(rd64_arena, g, e->ctx.pml4, ga, &w)) {
                gpu_fault(e, space, ga, VGT_FAULT_NOT_PRESENT,
                          w.fault == GEN8_WALK_RESERVED ? "PPGTT entry invalid"
                                                        : "PPGTT entry not present");
                return NULL;
            }
            t->tag = tag;
            t->hpa = w.pa & ~0xfffull;
            t->writable = w.writable;
        }
        if (write && !t->writable) {
            gpu_fault(e, space, ga, VGT_FAULT_WRITE_RO, "write to a read-only PPGTT page");
            return NULL;
        }
        page_hpa = t->hpa;
    }
    p = sim_arena_ptr(g->arena, page_hpa, VGT_PAGE_SIZE);
    if (!p) {
        gpu_fault(e, space, ga, VGT_FAULT_NOT_PRESENT, "entry points outside host memory");
        return NULL;
    }
    *avail = VGT_PAGE_SIZE - (ga & 0xfff);
    return p + (ga & 0xfff);
}

static int mem_write(struct sim_engine *e, int space, uint64_t ga, const void *src, size_t len)
{
    const uint8_t *s = src;

    while (len) {
        size_t avail, n;
        uint8_t *d = xlate(e, space, ga, true, &avail);

        if (!d)
            return -EFAULT;
        n = VGT_MIN(len, avail);
        memcpy(d, s, n);
        s += n;
        ga += n;
        len -= n;
    }
    return 0;
}

static int mem_read(struct sim_engine *e, int space, uint64_t ga, void *dst, size_t len)
{
    uint8_t *d = dst;

    while (len) {
        size_t avail, n;
        const uint8_t *s = xlate(e, space, ga, false, &avail);

        if (!s)
            return -EFAULT;
        n = VGT_MIN(len, avail);
        memcpy(d, s, n);
        d += n;
        ga += n;
        len -= n;
    }
    return 0;
}

/* --- arbitration, reset and the cost model ---------------------------- */

static bool submission_pending(struct sim_engine *e)
{
    return __atomic_load_n(&e->has_submission, __ATOMIC_ACQUIRE);
}

static bool reset_requested(struct sim_engine *e)
{
    return __atomic_load_n(&e->reset_pending, __ATOMIC_ACQUIRE) ||
           (__atomic_load_n(&e->reset_ctl, __ATOMIC_ACQUIRE) & RESET_CTL_REQUEST_RESET);
}

/* A point where the command streamer looks at requests from software:
 * between commands, inside waits and long commands. A reset request
 * (RING_RESET_CTL) parks the engine here, ready to reset, until the reset
 * (GEN6_GDRST) comes or the request is withdrawn. 0 to go on, -EAGAIN to
 * yield to a new ELSP submission (only where @preemptible), -ECANCELED
 * when the engine is reset, -EINTR when the GPU is stopping. */
static int cs_check(struct sim_engine *e, bool preemptible)
{
    struct sim_gpu *g = e->gpu;

    if (__atomic_load_n(&g->stopping, __ATOMIC_RELAXED))
        return -EINTR;
    if (reset_requested(e)) {
        int ret;

        pthread_mutex_lock(&g->lock);
        while ((e->reset_ctl & RESET_CTL_REQUEST_RESET) && !e->reset_pending && !g->stopping) {
            e->parked = true;
            pthread_cond_wait(&e->wake, &g->lock);
        }
        e->parked = false;
        ret = g->stopping ? -EINTR : e->reset_pending ? -ECANCELED : 0;
        pthread_mutex_unlock(&g->lock);
        if (ret)
            return ret;
    }
    if (preemptible && submission_pending(e))
        return -EAGAIN;
    return 0;
}

/* Spend @ns of engine time asleep; a reset or stop request wakes the
 * engine at once (a preemption waits for the command to end, as on
 * hardware). Returns what cs_check returns, never -EAGAIN. */
static int engine_sleep(struct sim_engine *e, uint64_t ns)
{
    struct sim_gpu *g = e->gpu;
    uint64_t end = vgt_now_ns() + ns;

    for (;;) {
        uint64_t now = vgt_now_ns();
        struct timespec ts;
        int ret;

        if (now >= end)
            return cs_check(e, false);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)((end - now) / 1000000000ull);
        ts.tv_nsec += (long)((end - now) % 1000000000ull);
        if (ts.tv_nsec >= 1000000000l) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000l;
        }
        pthread_mutex_lock(&g->lock);
        if (!g->stopping && !reset_requested(e))
            pthread_cond_timedwait(&e->wake, &g->lock, &ts);
        pthread_mutex_unlock(&g->lock);
        ret = cs_check(e, false);
        if (ret)
            return ret;
    }
}

/* Cost model: commands add the engine time they take (bytes moved x
 * ns_per_byte, ns_per_cmd each, SIM_GPU_BB_START_NS per batch start);
 * the engine sleeps off whatever the CPU did faster (in steps of >= 20 us,
 * so short commands do not each pay a sleep). */
static void cost_add(struct sim_engine *e, double ns)
{
    e->cost_debt_ns += ns;
    e->run_model_ns += ns;
}

/* --- context time (RING_CTX_TIMESTAMP) -------------------------------- */

/* RING_CTX_TIMESTAMP is base + 0x3a8 (Linux i915 gt/intel_engine_regs.h)
 * and its value sits at dword CTX_TIMESTAMP (0x22 + 1) of the register
 * state (i915 gt/intel_lrc_reg.h), where hardware saves it when the
 * context is switched out; it counts at the CS timestamp frequency only
 * while the context is on the engine (i915 lrc_update_runtime charges a
 * context the difference). */
#define RING_CTX_TIMESTAMP_REL 0x3a8

/* A context is loaded: its run starts owing no context time. */
static void ctx_time_start(struct sim_engine *e)
{
    e->run_model_ns = 0;
    e->run_wait_ns = 0;
    e->run_cpu0 = vgt_thread_cpu_ns();
    e->run_ticks = 0;
}

/* The time the loaded context has occupied the engine in this run: what
 * its commands cost in the model, or the CPU time the engine thread
 * really spent on them when that is more (the default model charges
 * blits nothing), plus the time it waited on semaphores (the engine is
 * held). Never the wall time the host left the thread descheduled: that
 * is no engine's time, and charging it lands a loaded host's delays on
 * whichever context happens to be running. */
static uint64_t ctx_time_ns(const struct sim_engine *e)
{
    uint64_t cpu = vgt_thread_cpu_ns() - e->run_cpu0;
    uint64_t model = (uint64_t)e->run_model_ns;

    return VGT_MAX(cpu, model) + e->run_wait_ns;
}

/* Bring the register up to date (before a command reads or writes it and
 * before the save): add the ticks of the time occupied since the last
 * update. Counted from the run's start so rounding never accumulates.
 * Under gpu->lock. */
static void ctx_time_sync_locked(struct sim_engine *e)
{
    uint64_t ticks = ctx_time_ns(e) * (GEN9_CS_TIMESTAMP_HZ / 1000000ull) / 1000ull;
    uint32_t *reg = &e->gpu->regs[(e->base + RING_CTX_TIMESTAMP_REL) / 4];

    *reg += (uint32_t)(ticks - e->run_ticks);
    e->run_ticks = ticks;
}

static int cost_pay(struct sim_engine *e)
{
    uint64_t now = vgt_now_ns();
    int ret = 0;

    e->cost_debt_ns -= (double)(now - e->cost_clock);
    e->cost_clock = now;
    if (e->cost_debt_ns > 20000) {
        ret = engine_sleep(e, (uint64_t)e->cost_debt_ns);
        now = vgt_now_ns();
        e->cost_debt_ns -= (double)(now - e->cost_clock);
        e->cost_clock = now;
    } else if (e->cost_debt_ns < -1e6) {
        e->cost_debt_ns = -1e6; /* do not bank unbounded credit */
    }
    return ret ? ret : cs_check(e, false);
}

/* A command moved @bytes: count them and owe their engine time. */
static void charge(struct sim_engine *e, uint64_t bytes)
{
    double nspb;

    __atomic_load(&e->gpu->ns_per_byte, &nspb, __ATOMIC_RELAXED);
    e->stats.bytes += bytes; /* engine-thread counter, read under lock: torn reads harmless */
    if (nspb > 0)
        cost_add(e, (double)bytes * nspb);
}

/* --- command fetch ----------------------------------------------------- */

static int stream_read(struct sim_engine *e, struct cs_stream *s, uint32_t *dst, size_t n)
{
    while (n) {
        uint64_t tag = (s->ga >> 12) + 1;
        size_t avail, k;

        if (s->page_tag != tag) {
            const uint8_t *p = xlate(e, s->space, s->ga & ~0xfffull, false, &avail);

            if (!p)
                return -EFAULT;
            s->page = p;
            s->page_tag = tag;
        }
        avail = (VGT_PAGE_SIZE - (s->ga & 0xfff)) / 4;
        k = VGT_MIN(n, avail);
        memcpy(dst, s->page + (s->ga & 0xfff), k * 4);
        dst += k;
        n -= k;
        s->ga += k * 4;
        if (s->ring && s->ga >= s->ring_start + s->ring_size)
            s->ga = s->ring_start;
    }
    return 0;
}

/* --- command execution -------------------------------------------------- */

typedef int (*cmd_fn)(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len);

/* Address space of commands that have no selector (the blitter's): the
 * space of the buffer they are in (the ring and GGTT batches: GGTT). */
static int cur_space(const struct cs_state *cs)
{
    return cs->st[cs->depth].space;
}

static uint64_t addr64(const uint32_t *c, unsigned dw, unsigned lo_bit)
{
    /* Graphics addresses are 48 bits (genxml address fields end at bit 47
     * or 63); bits below lo_bit are flags or must be zero. */
    uint64_t a = (uint64_t)c[dw] | (uint64_t)c[dw + 1] << 32;

    return a & 0x0000ffffffffffffull & ~((1ull << lo_bit) - 1);
}

/* An interrupt raised by a command of the running context. The driver's
 * handler runs here, on the engine's thread; on hardware it runs on a
 * CPU while the engine goes on, so the CPU time it takes is taken out of
 * the context's time (ctx_time_ns). */
static int raise_events(struct sim_engine *e, uint32_t gt_bits)
{
    uint32_t ev;
    uint64_t cpu0;

    pthread_mutex_lock(&e->gpu->lock);
    ev = sim_gpu_raise_locked(e->gpu, e->id, gt_bits);
    pthread_mutex_unlock(&e->gpu->lock);
    cpu0 = vgt_thread_cpu_ns();
    sim_gpu_deliver(e->gpu, e->id, ev);
    e->run_cpu0 += vgt_thread_cpu_ns() - cpu0;
    return 0;
}

static int cmd_user_interrupt(struct sim_engine *e, struct cs_state *cs, const uint32_t *c,
                              uint32_t len)
{
    (void)cs, (void)c, (void)len;
    return raise_events(e, GT_RENDER_USER_INTERRUPT);
}

/* MI_STORE_DATA_IMM: Use Global GTT bit 22, Store Qword bit 21, address
 * bits 47:2 in dwords 1-2, data from dword 3 (more than one dword when
 * DWord Length is larger). */
static int cmd_sdi(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    int space = (c[0] & (1u << 22)) ? SPACE_GGTT : SPACE_PPGTT;
    uint64_t ga;
    size_t n;

    (void)cs;
    if (len < 4)
        return gpu_fault(e, space, 0, VGT_FAULT_BAD_COMMAND, "MI_STORE_DATA_IMM too short");
    ga = addr64(c, 1, 2);
    n = (size_t)(len - 3) * 4;
    if (mem_write(e, space, ga, c + 3, n))
        return -EFAULT;
    charge(e, n);
    return 0;
}

/* MI_STORE_DATA_INDEX (genxml gen9.xml): Use Per-Process Hardware Status
 * Page bit 21, Offset dword 1 bits 11:2, data from dword 2 (a qword when
 * DWord Length is 2). With bit 21 the offset is in the running context's
 * per-process HWSP (page 0 of its image, LRCA); without it, in the
 * engine's global HWSP (RING_HWS_PGA). Both are reached through the GGTT. */
static int cmd_sdi_index(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    uint64_t page;
    size_t n;

    (void)cs;
    if (len < 3)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, "MI_STORE_DATA_INDEX too short");
    if (c[0] & (1u << 21)) {
        page = e->ctx.lrca;
    } else {
        pthread_mutex_lock(&e->gpu->lock);
        page = e->gpu->regs[(e->base + RING_HWS_PGA) / 4] & 0xfffff000u;
        pthread_mutex_unlock(&e->gpu->lock);
    }
    n = len >= 4 ? 8 : 4;
    if (mem_write(e, SPACE_GGTT, page + (c[1] & 0xffcu), c + 2, n))
        return -EFAULT;
    charge(e, n);
    return 0;
}

/* MI_LOAD_REGISTER_IMM: (offset bits 22:2, value) pairs from dword 1. */
static int cmd_lri(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    struct sim_gpu *g = e->gpu;

    (void)cs;
    pthread_mutex_lock(&g->lock);
    ctx_time_sync_locked(e);
    for (uint32_t i = 1; i + 1 < len; i += 2)
        sim_gpu_reg_write_locked(g, c[i] & 0x7ffffcu, c[i + 1], true);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

/* MI_STORE_REGISTER_MEM: Use Global GTT bit 22, register dword 1 bits
 * 22:2, address dwords 2-3 bits 63:2. */
static int cmd_srm(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    int space = (c[0] & (1u << 22)) ? SPACE_GGTT : SPACE_PPGTT;
    uint32_t v;

    (void)cs;
    if (len < 4)
        return gpu_fault(e, space, 0, VGT_FAULT_BAD_COMMAND, "MI_STORE_REGISTER_MEM too short");
    pthread_mutex_lock(&e->gpu->lock);
    ctx_time_sync_locked(e);
    v = sim_gpu_reg_read_locked(e->gpu, c[1] & 0x7ffffcu);
    pthread_mutex_unlock(&e->gpu->lock);
    return mem_write(e, space, addr64(c, 2, 2), &v, 4);
}

/* MI_LOAD_REGISTER_MEM: same layout as MI_STORE_REGISTER_MEM. */
static int cmd_lrm(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    int space = (c[0] & (1u << 22)) ? SPACE_GGTT : SPACE_PPGTT;
    uint32_t v;

    (void)cs;
    if (len < 4)
        return gpu_fault(e, space, 0, VGT_FAULT_BAD_COMMAND, "MI_LOAD_REGISTER_MEM too short");
    if (mem_read(e, space, addr64(c, 2, 2), &v, 4))
        return -EFAULT;
    pthread_mutex_lock(&e->gpu->lock);
    ctx_time_sync_locked(e);
    sim_gpu_reg_write_locked(e->gpu, c[1] & 0x7ffffcu, v, true);
    pthread_mutex_unlock(&e->gpu->lock);
    return 0;
}

/* MI_LOAD_REGISTER_REG: source dword 1, destination dword 2. */
static int cmd_lrr(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    (void)cs;
    if (len < 3)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, "MI_LOAD_REGISTER_REG too short");
    pthread_mutex_lock(&e->gpu->lock);
    ctx_time_sync_locked(e);
    sim_gpu_reg_write_locked(e->gpu, c[2] & 0x7ffffcu,
                             sim_gpu_reg_read_locked(e->gpu, c[1] & 0x7ffffcu), true);
    pthread_mutex_unlock(&e->gpu->lock);
    return 0;
}

/* Post-sync write shared by MI_FLUSH_DW and PIPE_CONTROL: op 1 writes the
 * immediate data, 3 the timestamp (2, PS depth count, writes 0: there is
 * no 3D pipeline). Store Data Index: the address is an offset in the
 * per-process HWSP (context page 0, in the GGTT). */
static int post_sync(struct sim_engine *e, unsigned op, int space, uint64_t ga, bool index,
                     const uint32_t *data, unsigned data_dw)
{
    uint64_t v = 0;
    size_t n = data_dw >= 2 ? 8 : 4;

    if (op == 0)
        return 0;
    if (index) {
        space = SPACE_GGTT;
        ga = e->ctx.lrca + (ga & 0xfff);
    }
    if (op == 1) {
        v = data_dw ? data[0] : 0;
        if (data_dw >= 2)
            v |= (uint64_t)data[1] << 32;
    } else if (op == 3) {
        v = sim_gpu_timestamp();
        n = 8;
    }
    if (mem_write(e, space, ga, &v, n))
        return -EFAULT;
    e->stats.bytes += n;
    return 0;
}

/* MI_FLUSH_DW: post-sync op bits 15:14, TLB invalidate bit 18, store data
 * index bit 21; dword 1 bit 2 GGTT, address bits 47:3; data from dword 3. */
static int cmd_flush_dw(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    unsigned op = (c[0] >> 14) & 3;

    (void)cs;
    if (c[0] & (1u << 18))
        tlb_flush(e);
    if (op && len < 4)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, "MI_FLUSH_DW too short");
    if (!op)
        return 0;
    return post_sync(e, op, (c[1] & 4) ? SPACE_GGTT : SPACE_PPGTT, addr64(c, 1, 3),
                     c[0] & (1u << 21), c + 3, len - 3);
}

/* PIPE_CONTROL: dword 1: post-sync op bits 15:14, TLB invalidate bit 18,
 * store data index bit 21, destination GGTT bit 24; address dwords 2-3
 * bits 47:2; immediate data dwords 4-5. */
static int cmd_pipe_control(struct sim_engine *e, struct cs_state *cs, const uint32_t *c,
                            uint32_t len)
{
    unsigned op;

    (void)cs;
    if (len < 2)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, "PIPE_CONTROL too short");
    op = (c[1] >> 14) & 3;
    if (c[1] & (1u << 18))
        tlb_flush(e);
    if (!op)
        return 0;
    if (len < 5)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, "PIPE_CONTROL too short");
    return post_sync(e, op, (c[1] & (1u << 24)) ? SPACE_GGTT : SPACE_PPGTT, addr64(c, 2, 2),
                     c[1] & (1u << 21), c + 4, len - 4);
}

/* MI_SEMAPHORE_WAIT: compare op bits 14:12, memory type bit 22 (GGTT);
 * data dword 1, address dwords 2-3. Polls until the condition holds,
 * asleep between polls (20 us growing to 500 us). A waiting context
 * yields to a new ELSP submission, in the ring or in a batch (-EAGAIN:
 * preempted, left on the wait so it runs again on resubmission), and
 * stops for a reset. */
static int cmd_semaphore_wait(struct sim_engine *e, struct cs_state *cs, const uint32_t *c,
                              uint32_t len)
{
    int space = (c[0] & (1u << 22)) ? SPACE_GGTT : SPACE_PPGTT;
    unsigned op = (c[0] >> 12) & 7;
    unsigned tmo = e->gpu->cfg.semaphore_timeout_ms;
    uint64_t deadline = vgt_now_ns() + (uint64_t)tmo * 1000000ull;
    uint64_t ga, nap = 20000;
    unsigned spins = 0;

    if (len < 4 || op > 5)
        return gpu_fault(e, space, 0, VGT_FAULT_BAD_COMMAND, "bad MI_SEMAPHORE_WAIT");
    ga = addr64(c, 2, 2);
    for (;;) {
        uint32_t sad;
        bool ok;
        int ret;

        if (mem_read(e, space, ga, &sad, 4))
            return -EFAULT;
        switch (op) { /* genxml COMPARE_* values 0..5 */
        case 0: ok = sad > c[1]; break;
        case 1: ok = sad >= c[1]; break;
        case 2: ok = sad < c[1]; break;
        case 3: ok = sad <= c[1]; break;
        case 4: ok = sad == c[1]; break;
        default: ok = sad != c[1]; break;
        }
        if (ok)
            return 0;
        (void)cs;
        ret = cs_check(e, true);
        if (ret)
            return ret;
        if (tmo != SIM_GPU_NO_LIMIT && vgt_now_ns() > deadline)
            return gpu_fault(e, space, ga, VGT_FAULT_BAD_COMMAND, "semaphore wait timed out (hang)");
        if (++spins > 64) {
            uint64_t t0 = vgt_now_ns();

            ret = engine_sleep(e, nap);
            /* The context holds the engine while it waits. */
            e->run_wait_ns += vgt_now_ns() - t0;
            if (ret)
                return ret;
            nap = VGT_MIN(nap * 2, 500000ull);
        }
    }
}

/* MI_BATCH_BUFFER_START: address space bit 8 (1 = PPGTT), second level bit
 * 22; address dwords 1-2 bits 47:2. From the ring: first level. From a
 * first-level batch: second level when bit 22 is set, else a chain (jump).
 * A second-level batch may chain but not nest deeper. */
static int cmd_bb_start(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    struct cs_stream *s;
    unsigned depth;

    if (len < 3)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, "MI_BATCH_BUFFER_START too short");
    if (cs->depth == 0)
        depth = 1;
    else if (c[0] & (1u << 22))
        depth = cs->depth + 1;
    else
        depth = cs->depth; /* chain */
    if (depth > MAX_BATCH_DEPTH)
        return gpu_fault(e, cur_space(cs), addr64(c, 1, 2), VGT_FAULT_BAD_COMMAND,
                         "batch buffer nesting past the second level");
    s = &cs->st[depth];
    memset(s, 0, sizeof(*s));
    s->space = (c[0] & (1u << 8)) ? SPACE_PPGTT : SPACE_GGTT;
    s->ga = addr64(c, 1, 2);
    cs->depth = depth;
    cost_add(e, SIM_GPU_BB_START_NS);
    return 0;
}

/* MI_ARB_CHECK: an arbitration point, in the ring or in a batch: a
 * pending ELSP submission preempts here. */
static int cmd_arb_check(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    (void)cs, (void)c, (void)len;
    return cs_check(e, true);
}

static int cmd_bb_end(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    (void)e, (void)c, (void)len;
    if (cs->depth > 0)
        cs->depth--; /* back to the buffer that started this one */
    /* In the ring itself MI_BATCH_BUFFER_END ends nothing: ignored. */
    return 0;
}

/* Blitter surface: BR13 (dword 1) bits 25:24 colour depth (3 = 32 bpp),
 * bits 15:0 pitch in bytes (signed 16-bit; the model takes positive
 * pitches only). Rectangles: y << 16 | x, bottom-right exclusive. */
struct blt_rect {
    uint32_t x1, y1, x2, y2;
};

static int blt_common(struct sim_engine *e, const uint32_t *c, struct blt_rect *r, uint32_t *pitch,
                      const char *name)
{
    uint32_t br13 = c[1];

    r->x1 = c[2] & 0xffff;
    r->y1 = c[2] >> 16;
    r->x2 = c[3] & 0xffff;
    r->y2 = c[3] >> 16;
    *pitch = br13 & 0xffff;
    if (((br13 >> 24) & 3) != 3 || (*pitch & 0x8000))
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, name);
    if (r->x2 < r->x1 || r->y2 < r->y1 || (uint64_t)r->x2 * 4 > *pitch)
        return gpu_fault(e, SPACE_GGTT, 0, VGT_FAULT_BAD_COMMAND, name);
    return 0;
}

/* XY_COLOR_BLT (i915 XY_COLOR_BLT_CMD, 7 dwords on gen8+): dst tiled bit
 * 11 (not modelled: fault), BR13, dst rectangle, dst address dwords 4-5,
 * colour dword 6. The fill goes through the GTT page by page. */
static int cmd_color_blt(struct sim_engine *e, struct cs_state *cs, const uint32_t *c, uint32_t len)
{
    struct blt_rect r;
    uint32_t pitch;
    uint64_t dst;
    int space = cur_space(cs), ret;

    if (len < 7 || (c[0] & (1u << 11)))
        return gpu_fault(e, space, 0, VGT_FAULT_BAD_COMMAND, "XY_COLOR_BLT: not 7 dwords or tiled");
    if (blt_common(e, c, &r, &pitch, "XY_COLOR_BLT: not 32 bpp linear"))
        return -EFAULT;
    dst = addr64(c, 4, 0);
    for (uint32_t y = r.y1; y < r.y2; y++) {
        uint64_t ga = dst + (uint64_t)y * pitch + (uint64_t)r.x1 * 4;
        size_t left = (size_t)(r.x2 - r.x1) * 4;

        while (left) {
            size_t avail, n;
            uint8_t *d = xlate(e, space, ga, true, &avail);

            if (!d)
                return -EFAULT;
            n = VGT_MIN(left, avail) & ~(size_t)3;
            if (!n)
                return gpu_fault(e, space, ga, VGT_FAULT_BAD_COMMAND, "XY_COLOR_BLT: unaligned");
            for (size_t i = 0; i < n; i += 4)
                memcpy(d + i, &c[6], 4);
            ga += n;
            left -= n;
            charge(e, n);
        }
        /* Row by row: a long fill takes its time and stops for a reset. */
        ret = cost_pay(e);
        if (ret)
            return ret;
    }
    return 0;
}

/* XY_SRC_COPY_BLT (i915 XY_SRC_COPY_BLT_CMD, 10 dwords on gen8+): src tiled
 * bit 15, dst tiled bit 11 (not modelled: fault), BR13 dst pitch, dst
 * rectangle, dst address dwords 4-5, src top-left dword 6, src pitch dword
 * 7 bits 15:0, src address dwords 8-9. */
static int cmd_src_copy_blt(struct sim_engine *e, struct cs_state *cs, const uint32_t *c,
                            uint32_t len)
{
    struct blt_rect r;
    uint32_t dpitch, spitch, sx, sy;
    uint64_t dst, src;
    int space = cur_space(cs), ret;

    if (len < 10 || (c[0] & ((1u << 11) | (1u << 15))))
        return gpu_fault(e, space, 0, VGT_FAULT_BAD_COMMAND, "XY_SRC_COPY_BLT: not 10 dwords or tiled");
    if (blt_common(e, c, &r, &dpitch, "XY_SRC_COPY_BLT: not 32 bpp linear"))
        return -EFAULT;
    dst = addr64(c, 4, 0);
    sx = c[6] & 0xffff;
    sy = c[6] >> 16;
    spitch = c[7] & 0xffff;
    src = addr64(c, 8, 0);
    if ((spitch & 0x8000) || (uint64_t)(sx + (r.x2 - r.x1)) * 4 > spitch)
        return gpu_fault(e, space, src, VGT_FAULT_BAD_COMMAND, "XY_SRC_COPY_BLT: bad source pitch");
    for (uint32_t y = 0; y < r.y2 - r.y1; y++) {
        uint64_t dga = dst + (uint64_t)(r.y1 + y) * dpitch + (uint64_t)r.x1 * 4;
        uint64_t sga = src + (uint64_t)(sy + y) * spitch + (uint64_t)sx * 4;
        size_t left = (size_t)(r.x2 - r.x1) * 4;

        while (left) {
            size_t da, sa, n;
            uint8_t *d = xlate(e, space, dga, true, &da);
            const uint8_t *s;

            if (!d)
                return -EFAULT;
            s = xlate(e, space, sga, false, &sa);
            if (!s)
                return -EFAULT;
            n = VGT_MIN(left, VGT_MIN(da, sa));
            memmove(d, s, n);
            dga += n;
            sga += n;
            left -= n;
            charge(e, n);
        }
        ret = cost_pay(e);
        if (ret)
            return ret;
    }
    return 0;
}

/* What the model executes; every other decoded command is skipped. */
static const cmd_fn cmd_handlers[VGT_CMD_ID_NUM] = {
    [VGT_CMD_ID_BB_START] = cmd_bb_start,
    [VGT_CMD_ID_BB_END] = cmd_bb_end,
    [VGT_CMD_ID_STORE_DATA_IMM] = cmd_sdi,
    [VGT_CMD_ID_STORE_DATA_INDEX] = cmd_sdi_index,
    [VGT_CMD_ID_LRI] = cmd_lri,
    [VGT_CMD_ID_SRM] = cmd_srm,
    [VGT_CMD_ID_LRM] = cmd_lrm,
    [VGT_CMD_ID_LRR] = cmd_lrr,
    [VGT_CMD_ID_FLUSH_DW] = cmd_flush_dw,
    [VGT_CMD_ID_USER_INTERRUPT] = cmd_user_interrupt,
    [VGT_CMD_ID_ARB_CHECK] = cmd_arb_check,
    [VGT_CMD_ID_PIPE_CONTROL] = cmd_pipe_control,
    [VGT_CMD_ID_SEMAPHORE_WAIT] = cmd_semaphore_wait,
    [VGT_CMD_ID_XY_COLOR_BLT] = cmd_color_blt,
    [VGT_CMD_ID_XY_SRC_COPY_BLT] = cmd_src_copy_blt,
};

static enum run_result run_result_of(int ret)
{
    switch (ret) {
    case 0: return RUN_DONE;
    case -EINTR: return RUN_STOPPING;
    case -EAGAIN: return RUN_PREEMPTED;
    case -ECANCELED: return RUN_RESET;
    default: return RUN_FAULT;
    }
}

/* Run the loaded context from HEAD (or the batches it was preempted in)
 * to TAIL. On preemption inside a batch, HEAD is left after the ring's
 * MI_BATCH_BUFFER_START and e->cs holds where each batch level was. */
static enum run_result run_context(struct sim_engine *e)
{
    struct sim_ctx *x = &e->ctx;
    struct cs_state *cs = &e->cs;
    uint64_t budget = e->gpu->cfg.cmd_budget;
    double nspc = e->gpu->cfg.ns_per_cmd;

    memset(cs, 0, sizeof(*cs));
    cs->st[0].space = SPACE_GGTT;
    cs->st[0].ring = true;
    cs->st[0].ring_start = x->start;
    cs->st[0].ring_size = x->ring_size;
    cs->st[0].ga = x->start + x->head;
    for (unsigned i = 0; i < x->bb_depth; i++) {
        cs->st[i + 1].space = x->bb_space[i];
        cs->st[i + 1].ga = x->bb_ga[i];
    }
    cs->depth = x->bb_depth;
    e->cmds_this_run = 0;
    /* A context owes nothing for the one before it (a preempted, faulted
     * or reset context may leave engine time unpaid) and gets no credit
     * for the time the engine was idle. */
    e->cost_clock = vgt_now_ns();
    e->cost_debt_ns = 0;
    for (;;) {
        struct cs_stream *s = &cs->st[cs->depth];
        const struct vgt_cmd_desc *d;
        uint32_t len;
        cmd_fn fn;
        int ret;

        if (cs->depth == 0) {
            x->head = (uint32_t)(s->ga - x->start);
            if (x->head == x->tail)
                return RUN_DONE;
        }
        /* Requests from software between commands; arbitration (a new
         * ELSP write preempts) between ring commands only: inside a
         * batch at MI_ARB_CHECK and semaphore waits. */
        ret = cs_check(e, cs->depth == 0);
        if (ret)
            return run_result_of(ret);
        if (budget != SIM_GPU_NO_LIMIT && ++e->cmds_this_run > budget) {
            gpu_fault(e, s->space, s->ga, VGT_FAULT_BAD_COMMAND, "command budget exhausted (hang)");
            return RUN_FAULT;
        }
        {
            uint64_t at = s->ga;

            if (stream_read(e, s, e->cmd, 1))
                return RUN_FAULT;
            d = vgt_cmd_lookup(&e->dec, e->cmd[0]);
            if (!d) {
                gpu_fault(e, s->space, at, VGT_FAULT_BAD_COMMAND, "unknown command");
                return RUN_FAULT;
            }
            len = vgt_cmd_len(d, e->cmd[0]);
            if (len > SIM_GPU_MAX_CMD_DWORDS) {
                gpu_fault(e, s->space, at, VGT_FAULT_BAD_COMMAND, "command longer than the model fetches");
                return RUN_FAULT;
            }
            if (cs->depth == 0) {
                uint64_t left = (x->tail + x->ring_size - x->head) % x->ring_size / 4;

                if (len > left) {
                    gpu_fault(e, s->space, at, VGT_FAULT_BAD_COMMAND, "command runs past the ring tail");
                    return RUN_FAULT;
                }
            }
            if (len > 1 && stream_read(e, s, e->cmd + 1, len - 1))
                return RUN_FAULT;
            if (nspc > 0)
                cost_add(e, nspc);
            fn = cmd_handlers[d->id];
            ret = fn ? fn(e, cs, e->cmd, len) : 0;
            if (ret == -EAGAIN || ret == -ECANCELED || ret == -EINTR) {
                /* Stopped inside the command: it runs again from its
                 * start when the context is resubmitted. */
                s->ga = at;
                s->page_tag = 0;
                if (cs->depth == 0)
                    x->head = (uint32_t)(at - x->start);
            }
        }
        e->stats.commands++;
        if (!ret && e->cost_debt_ns > 20000)
            ret = cost_pay(e);
        if (ret)
            return run_result_of(ret);
    }
}

/* --- execlists ---------------------------------------------------------- */

static uint32_t *ctx_regs(struct sim_engine *e)
{
    return sim_arena_ptr(e->gpu->arena, e->ctx.regs_hpa, VGT_PAGE_SIZE);
}

/* The registers a Gen9 context image holds besides the ring (i915
 * gt/intel_lrc.c gen9_rcs_offsets / gen9_xcs_offsets, see
 * CTX_LRI_HEADER_3): dword index of the register's offset in the image
 * (the value follows it), offset from the engine base, engines. */
#define CTX_RCS (1u << VGT_ENGINE_RCS)
#define CTX_XCS ((1u << VGT_ENGINE_BCS) | (1u << VGT_ENGINE_VCS) | (1u << VGT_ENGINE_VECS))
#define CTX_ALL (CTX_RCS | CTX_XCS)

struct ctx_reg {
    uint16_t idx;
    uint16_t off;
    uint8_t engines;
};

#define CTX_GPR(i) {0x68 + 2 * (i), 0x600 + 4 * (i), CTX_ALL}
static const struct ctx_reg ctx_state_regs[] = {
    {CTX_TIMESTAMP - 1, 0x3a8, CTX_ALL},
    {CTX_PDP3_UDW - 1, 0x28c, CTX_ALL}, {CTX_PDP3_LDW - 1, 0x288, CTX_ALL},
    {CTX_PDP2_UDW - 1, 0x284, CTX_ALL}, {CTX_PDP2_LDW - 1, 0x280, CTX_ALL},
    {CTX_PDP1_UDW - 1, 0x27c, CTX_ALL}, {CTX_PDP1_LDW - 1, 0x278, CTX_ALL},
    {CTX_PDP0_UDW - 1, 0x274, CTX_ALL}, {CTX_PDP0_LDW - 1, 0x270, CTX_ALL},
    {0x42, 0x0c8, CTX_RCS},   /* R_PWR_CLK_STATE */
    {0x42, 0x200, CTX_XCS},   /* BCS_SWCTRL on the blitter */
    {0x52, 0x028, CTX_ALL}, {0x54, 0x09c, CTX_ALL}, {0x56, 0x0c0, CTX_ALL},
    {0x58, 0x178, CTX_ALL}, {0x5a, 0x17c, CTX_ALL},
    /* 0x5c: RING_TIMESTAMP (base+0x358), derived from the clock here:
     * not restored. */
    {0x5e, 0x170, CTX_ALL}, {0x60, 0x150, CTX_ALL}, {0x62, 0x154, CTX_ALL},
    {0x64, 0x158, CTX_ALL}, {0x66, 0x41c, CTX_ALL},
    CTX_GPR(0), CTX_GPR(1), CTX_GPR(2), CTX_GPR(3), CTX_GPR(4), CTX_GPR(5), CTX_GPR(6),
    CTX_GPR(7), CTX_GPR(8), CTX_GPR(9), CTX_GPR(10), CTX_GPR(11), CTX_GPR(12), CTX_GPR(13),
    CTX_GPR(14), CTX_GPR(15), CTX_GPR(16), CTX_GPR(17), CTX_GPR(18), CTX_GPR(19), CTX_GPR(20),
    CTX_GPR(21), CTX_GPR(22), CTX_GPR(23), CTX_GPR(24), CTX_GPR(25), CTX_GPR(26), CTX_GPR(27),
    CTX_GPR(28), CTX_GPR(29), CTX_GPR(30), CTX_GPR(31),
    {0xa8, 0x068, CTX_ALL},
};

/* Context restore: every register the image holds is loaded. A slot
 * whose offset dword does not name its register (an image software never
 * laid out there, e.g. a zeroed page) loads the register's reset value, as
 * i915's default context image (recorded from the hardware after reset)
 * would: a context never starts with the previous context's values.
 * Under gpu->lock. */
static void ctx_state_restore_locked(struct sim_engine *e, const uint32_t *r)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(ctx_state_regs); i++) {
        const struct ctx_reg *c = &ctx_state_regs[i];
        uint32_t reg = e->base + c->off;

        if (!(c->engines & (1u << e->id)))
            continue;
        e->gpu->regs[reg / 4] = r[c->idx] == reg ? r[c->idx + 1] : 0;
    }
}

/* Context save: the same registers back into the image, with the LRI
 * headers hardware writes (MI_LOAD_REGISTER_IMM(n) | force posted). */
static void ctx_state_save_locked(struct sim_engine *e, uint32_t *r)
{
    r[CTX_LRI_HEADER_2] = 0x11000000u | (2 * 1 - 1) | (1u << 12);
    r[CTX_LRI_HEADER_3] = 0x11000000u | (2 * 44 - 1) | (1u << 12);
    r[0x5c] = e->base + RING_TIMESTAMP;
    r[0x5d] = (uint32_t)sim_gpu_timestamp();
    for (size_t i = 0; i < VGT_ARRAY_SIZE(ctx_state_regs); i++) {
        const struct ctx_reg *c = &ctx_state_regs[i];
        uint32_t reg = e->base + c->off;

        if (!(c->engines & (1u << e->id)))
            continue;
        r[c->idx] = reg;
        r[c->idx + 1] = e->gpu->regs[reg / 4];
    }
}

/* Load the context of descriptor @desc: its register state page, through
 * the GGTT. Returns 0, or -EFAULT after recording a fault. */
static int load_context(struct sim_engine *e, uint64_t desc)
{
    struct sim_ctx *x = &e->ctx;
    uint64_t hpa;
    uint32_t *r;
    unsigned mode;

    memset(x, 0, sizeof(*x));
    e->faulted = false;
    x->desc = desc;
    x->id = (uint32_t)(desc >> 32);
    x->lrca = desc & GEN8_CTX_LRCA_MASK;
    tlb_flush(e);
    if (sim_gpu_ggtt_translate(e->gpu, x->lrca + LRC_STATE_PN * VGT_PAGE_SIZE, &hpa))
        return gpu_fault(e, SPACE_GGTT, x->lrca + LRC_STATE_PN * VGT_PAGE_SIZE,
                         VGT_FAULT_NOT_PRESENT, "context image not mapped");
    x->regs_hpa = hpa & ~0xfffull;
    r = ctx_regs(e);
    if (!r)
        return gpu_fault(e, SPACE_GGTT, x->lrca, VGT_FAULT_NOT_PRESENT, "context image");
    mode = (desc & GEN8_CTX_ADDRESSING_MODE_MASK) >> GEN8_CTX_ADDRESSING_MODE_SHIFT;
    if (mode != INTEL_LEGACY_64B_CONTEXT)
        return gpu_fault(e, SPACE_GGTT, x->lrca, VGT_FAULT_BAD_COMMAND,
                         "context addressing mode not 64-bit (4-level PPGTT)");
    x->head = r[CTX_RING_HEAD] & RING_HEAD_ADDR;
    x->tail = r[CTX_RING_TAIL] & RING_TAIL_ADDR;
    x->start = r[CTX_RING_START] & 0xfffff000u;
    x->ctl = r[CTX_RING_CTL];
    x->ring_size = (uint64_t)(x->ctl & RING_CTL_NR_PAGES) + VGT_PAGE_SIZE;
    x->pml4 = ((uint64_t)r[CTX_PDP0_UDW] << 32 | r[CTX_PDP0_LDW]) & ~0xfffull;
    if (!(x->ctl & RING_CTL_VALID) || x->head >= x->ring_size || x->tail >= x->ring_size)
        return gpu_fault(e, SPACE_GGTT, x->start, VGT_FAULT_BAD_COMMAND,
                         "ring not valid, or HEAD/TAIL outside it");
    /* Batches the context was preempted in. */
    if (r[CTX_BB_STATE] & VGT_BB_STATE_ACTIVE) {
        const unsigned st[2] = {CTX_BB_STATE, CTX_SECOND_BB_STATE};
        const unsigned hu[2] = {CTX_BB_HEAD_U, CTX_SECOND_BB_HEAD_U};
        const unsigned hl[2] = {CTX_BB_HEAD_L, CTX_SECOND_BB_HEAD_L};

        for (unsigned i = 0; i < 2 && (r[st[i]] & VGT_BB_STATE_ACTIVE); i++) {
            x->bb_space[i] = (r[st[i]] & RING_BB_PPGTT) ? SPACE_PPGTT : SPACE_GGTT;
            x->bb_ga[i] = ((uint64_t)(r[hu[i]] & 0xffff) << 32 | r[hl[i]]) & ~3ull;
            x->bb_depth = i + 1;
        }
    }
    pthread_mutex_lock(&e->gpu->lock);
    e->gpu->regs[(e->base + RING_HEAD) / 4] = x->head;
    e->gpu->regs[(e->base + RING_TAIL) / 4] = x->tail;
    e->gpu->regs[(e->base + RING_START) / 4] = x->start;
    e->gpu->regs[(e->base + RING_CTL) / 4] = x->ctl;
    ctx_state_restore_locked(e, r);
    pthread_mutex_unlock(&e->gpu->lock);
    return 0;
}

/* Save HEAD, the batches in progress (when preempted inside one), the
 * timestamp and the engine registers back into the context image, as the
 * hardware does on a context switch. */
static void save_context(struct sim_engine *e, enum run_result res)
{
    const unsigned st[2] = {CTX_BB_STATE, CTX_SECOND_BB_STATE};
    const unsigned hu[2] = {CTX_BB_HEAD_U, CTX_SECOND_BB_HEAD_U};
    const unsigned hl[2] = {CTX_BB_HEAD_L, CTX_SECOND_BB_HEAD_L};
    unsigned depth = res == RUN_PREEMPTED ? e->cs.depth : 0;
    uint32_t *r;

    if (!e->ctx.regs_hpa)
        return;
    r = ctx_regs(e);
    if (!r)
        return;
    r[CTX_RING_HEAD] = (r[CTX_RING_HEAD] & ~RING_HEAD_ADDR) | (e->ctx.head & RING_HEAD_ADDR);
    if (depth)
        r[CTX_RING_HEAD] = (r[CTX_RING_HEAD] & ~RING_HEAD_ADDR) |
                           ((uint32_t)(e->cs.st[0].ga - e->ctx.start) & RING_HEAD_ADDR);
    for (unsigned i = 0; i < 2; i++) {
        const struct cs_stream *s = &e->cs.st[i + 1];

        r[st[i] - 1] = e->base + (i ? 0x118 : 0x110);
        r[hu[i] - 1] = e->base + (i ? 0x11c : 0x168);
        r[hl[i] - 1] = e->base + (i ? 0x114 : 0x140);
        if (i < depth) {
            r[st[i]] = VGT_BB_STATE_ACTIVE | (s->space == SPACE_PPGTT ? RING_BB_PPGTT : 0);
            r[hu[i]] = (uint32_t)(s->ga >> 32);
            r[hl[i]] = (uint32_t)s->ga;
        } else {
            r[st[i]] &= ~VGT_BB_STATE_ACTIVE;
        }
    }
    pthread_mutex_lock(&e->gpu->lock);
    e->gpu->regs[(e->base + RING_HEAD) / 4] = r[CTX_RING_HEAD] & RING_HEAD_ADDR;
    ctx_time_sync_locked(e);
    ctx_state_save_locked(e, r);
    pthread_mutex_unlock(&e->gpu->lock);
}

/* Write one CSB entry (MMIO copy and, when HWS_PGA is set, the HWSP copy)
 * and return the interrupt events to deliver. Under gpu->lock. */
static uint32_t csb_event_locked(struct sim_engine *e, uint32_t status, uint32_t ctx_id)
{
    struct sim_gpu *g = e->gpu;
    uint32_t hws = g->regs[(e->base + RING_HWS_PGA) / 4] & 0xfffff000u;

    e->csb_wp = (e->csb_wp + 1) % GEN8_CSB_ENTRIES;
    e->csb[e->csb_wp] = (uint64_t)ctx_id << 32 | status;
    if (hws) {
        uint64_t hpa;

        if (!sim_gpu_ggtt_translate(g, hws, &hpa)) {
            uint32_t *p = sim_arena_ptr(g->arena, hpa, VGT_PAGE_SIZE);

            if (p) {
                p[I915_HWS_CSB_BUF0_INDEX + 2 * e->csb_wp] = status;
                p[I915_HWS_CSB_BUF0_INDEX + 2 * e->csb_wp + 1] = ctx_id;
                __atomic_store_n(&p[I915_HWS_CSB_WRITE_INDEX], e->csb_wp, __ATOMIC_RELEASE);
            }
        }
    }
    return sim_gpu_raise_locked(g, e->id, GT_CONTEXT_SWITCH_INTERRUPT);
}

static bool desc_valid(uint64_t d)
{
    return d & GEN8_CTX_VALID;
}

static const uint32_t engine_domain[SIM_GPU_NUM_ENGINES] = {
    [VGT_ENGINE_RCS] = GEN6_GRDOM_RENDER,
    [VGT_ENGINE_BCS] = GEN6_GRDOM_BLT,
    [VGT_ENGINE_VCS] = GEN6_GRDOM_MEDIA,
    [VGT_ENGINE_VECS] = GEN6_GRDOM_VECS,
};

/* The engine reset itself (GEN6_GDRST): whatever ran is abandoned without
 * a CSB event or a context save, the execlist ports, the ELSP latch and
 * the CSB pointers go back to their reset state and execlists are off
 * until software turns them on again (i915 re-enables them after an
 * engine reset: execlists_resume). The GDRST bit clears when done. Under
 * gpu->lock. */
void sim_engine_execlist_reset_locked(struct sim_engine *e)
{
    memset(e->elsp, 0, sizeof(e->elsp));
    e->elsp_n = 0;
    memset(e->submitted, 0, sizeof(e->submitted));
    __atomic_store_n(&e->has_submission, false, __ATOMIC_RELEASE);
    memset(e->port, 0, sizeof(e->port));
    e->port_idx = 0;
    e->active = false;
    e->csb_wp = GEN8_CSB_ENTRIES - 1;
    e->csb_rp = GEN8_CSB_ENTRIES - 1;
    memset(e->csb, 0, sizeof(e->csb));
    e->ring_mode = 0;
    e->cost_debt_ns = 0;
}

static void engine_reset_done_locked(struct sim_engine *e)
{
    struct sim_gpu *g = e->gpu;
    bool any = false;

    sim_engine_execlist_reset_locked(e);
    e->stats.resets++;
    __atomic_store_n(&e->reset_pending, false, __ATOMIC_RELEASE);
    g->regs[GEN6_GDRST / 4] &= ~engine_domain[e->id];
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++)
        any |= g->eng[i].reset_pending;
    if (!any)
        g->regs[GEN6_GDRST / 4] &= ~GEN6_GRDOM_FULL;
    vgt_info(g->log, "gpu %s: engine reset", e->name);
}

void sim_gpu_gdrst_write_locked(struct sim_gpu *g, uint32_t domains)
{
    for (unsigned i = 0; i < SIM_GPU_NUM_ENGINES; i++) {
        struct sim_engine *e = &g->eng[i];

        if (!(domains & (engine_domain[i] | GEN6_GRDOM_FULL)))
            continue;
        g->regs[GEN6_GDRST / 4] |= engine_domain[i] | (domains & GEN6_GRDOM_FULL);
        __atomic_store_n(&e->reset_pending, true, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&e->wake);
    }
}

/* RING_RESET_CTL: the request bit is software's (masked); READY_TO_RESET
 * shows while it is set and the engine is parked or has nothing to run. */
uint32_t sim_engine_reset_ctl_read_locked(struct sim_engine *e)
{
    uint32_t v = e->reset_ctl & RESET_CTL_REQUEST_RESET;

    if (v && (e->parked || !e->active))
        v |= RESET_CTL_READY_TO_RESET;
    return v;
}

void sim_engine_reset_ctl_write_locked(struct sim_engine *e, uint32_t val)
{
    uint32_t mask = (val >> 16) & RESET_CTL_REQUEST_RESET;

    __atomic_store_n(&e->reset_ctl, (e->reset_ctl & ~mask) | (val & mask), __ATOMIC_RELEASE);
    pthread_cond_broadcast(&e->wake);
}

/* The engine thread: take submissions, run contexts, report in the CSB. */
static void *engine_main(void *arg)
{
    struct sim_engine *e = arg;
    struct sim_gpu *g = e->gpu;

    pthread_mutex_lock(&g->lock);
    for (;;) {
        uint32_t ev = 0;
        enum run_result res;
        uint64_t desc;

        if (g->stopping)
            break;
        if (e->reset_pending) {
            engine_reset_done_locked(e); /* nothing running: at once */
            continue;
        }
        if (e->has_submission) {
            uint64_t first = e->submitted[0];

            __atomic_store_n(&e->has_submission, false, __ATOMIC_RELEASE);
            if (e->active) {
                /* Preemption at an arbitration point; a resubmission of
                 * the running context is a lite restore. */
                uint64_t cur = e->port[e->port_idx];
                uint32_t st = GEN8_CTX_STATUS_PREEMPTED;

                if ((first & GEN8_CTX_LRCA_MASK) == (cur & GEN8_CTX_LRCA_MASK))
                    st |= GEN8_CTX_STATUS_LITE_RESTORE;
                ev |= csb_event_locked(e, st, (uint32_t)(cur >> 32));
                e->stats.preemptions++;
                e->active = false;
            } else {
                ev |= csb_event_locked(e, GEN8_CTX_STATUS_IDLE_ACTIVE, (uint32_t)(first >> 32));
            }
            e->port[0] = e->submitted[0];
            e->port[1] = e->submitted[1];
            e->port_idx = 0;
            e->active = desc_valid(e->port[0]);
        }
        if (!e->active) {
            if (ev) {
                pthread_mutex_unlock(&g->lock);
                sim_gpu_deliver(g, e->id, ev);
                pthread_mutex_lock(&g->lock);
                continue;
            }
            pthread_cond_wait(&e->wake, &g->lock);
            continue; /* stopping and submissions are re-checked above */
        }
        desc = e->port[e->port_idx];
        pthread_mutex_unlock(&g->lock);
        sim_gpu_deliver(g, e->id, ev);
        ev = 0;

        ctx_time_start(e);
        res = load_context(e, desc) ? RUN_FAULT : run_context(e);
        if (res != RUN_RESET && res != RUN_STOPPING)
            save_context(e, res);

        pthread_mutex_lock(&g->lock);
        if (res == RUN_STOPPING)
            break;
        if (res == RUN_RESET) {
            engine_reset_done_locked(e);
            continue;
        }
        if (res == RUN_PREEMPTED)
            continue; /* handled with the submission above */
        {
            bool next = e->port_idx == 0 && desc_valid(e->port[1]);
            uint32_t st = GEN8_CTX_STATUS_COMPLETE |
                          (next ? GEN8_CTX_STATUS_ELEMENT_SWITCH : GEN8_CTX_STATUS_ACTIVE_IDLE);

            if (res == RUN_FAULT) {
                st |= VGT_CTX_STATUS_ERROR;
                e->stats.faults++;
                ev |= sim_gpu_raise_locked(g, e->id, GT_CS_MASTER_ERROR_INTERRUPT);
            }
            e->stats.contexts_done++;
            ev |= csb_event_locked(e, st, e->ctx.id);
            if (next)
                e->port_idx = 1;
            else
                e->active = false;
        }
        pthread_mutex_unlock(&g->lock);
        sim_gpu_deliver(g, e->id, ev);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* ELSP: four dword writes, element 1 high, element 1 low, element 0 high,
 * element 0 low (i915 execlists_submit_ports writes the ports from the
 * last down, upper dword first). The fourth write submits. Ignored unless
 * execlists are on (RING_MODE_GEN7 GFX_RUN_LIST_ENABLE). */
void sim_engine_elsp_write_locked(struct sim_engine *e, uint32_t val)
{
    if (!(e->ring_mode & GFX_RUN_LIST_ENABLE)) {
        vgt_debug(e->gpu->log, "gpu %s: ELSP write with execlists off, ignored", e->name);
        return;
    }
    e->elsp[e->elsp_n++] = val;
    if (e->elsp_n < 4)
        return;
    e->elsp_n = 0;
    e->submitted[1] = (uint64_t)e->elsp[0] << 32 | e->elsp[1];
    e->submitted[0] = (uint64_t)e->elsp[2] << 32 | e->elsp[3];
    __atomic_store_n(&e->has_submission, true, __ATOMIC_RELEASE);
    pthread_cond_signal(&e->wake);
}

uint32_t sim_engine_csb_read_locked(struct sim_engine *e, uint32_t rel)
{
    if (rel == RING_CONTEXT_STATUS_PTR)
        return (e->csb_rp << GEN8_CSB_READ_PTR_SHIFT) | e->csb_wp;
    if (rel >= RING_CONTEXT_STATUS_BUF_LO(0) && rel < RING_CONTEXT_STATUS_BUF_LO(GEN8_CSB_ENTRIES)) {
        unsigned i = (rel - RING_CONTEXT_STATUS_BUF_LO(0)) / 8;

        return (rel & 4) ? (uint32_t)(e->csb[i] >> 32) : (uint32_t)e->csb[i];
    }
    return 0;
}

/* Masked write: software moves its read pointer (bits 10:8); the write
 * pointer belongs to the hardware. */
void sim_engine_csb_ptr_write_locked(struct sim_engine *e, uint32_t val)
{
    uint32_t mask = val >> 16;

    if (mask & GEN8_CSB_READ_PTR_MASK) {
        uint32_t rp = (val & GEN8_CSB_READ_PTR_MASK) >> GEN8_CSB_READ_PTR_SHIFT;

        if (rp < GEN8_CSB_ENTRIES)
            e->csb_rp = rp;
    }
}

/* EXECLIST_STATUS (GVT's execlist_status_format): lo bit 4 element 0
 * valid, bit 3 element 1 valid, bit 18/17 element 0/1 active, bit 0 the
 * current element; hi: the running context ID. */
uint32_t sim_engine_status_read_locked(struct sim_engine *e, bool hi)
{
    uint32_t v = 0;

    if (hi)
        return e->active ? (uint32_t)(e->port[e->port_idx] >> 32) : 0;
    if (e->active) {
        v |= desc_valid(e->port[0]) ? (1u << 4) : 0;
        v |= desc_valid(e->port[1]) ? (1u << 3) : 0;
        v |= e->port_idx ? (1u << 17) | 1u : (1u << 18);
    }
    return v;
}

int sim_engine_start(struct sim_engine *e)
{
    pthread_condattr_t ca;
    int ret;

    /* Monotonic: the engine sleeps on it for its cost model. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    ret = pthread_cond_init(&e->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (ret)
        return -ret;
    ret = pthread_create(&e->thread, NULL, engine_main, e);
    if (ret) {
        pthread_cond_destroy(&e->wake);
        return -ret;
    }
    e->thread_started = true;
    return 0;
}

void sim_engine_stop(struct sim_engine *e)
{
    if (!e->thread_started)
        return;
    pthread_mutex_lock(&e->gpu->lock);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->gpu->lock);
    pthread_join(e->thread, NULL);
    pthread_cond_destroy(&e->wake);
    e->thread_started = false;
}

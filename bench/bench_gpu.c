/* vgt bench gpu [--json] [--seconds S]
 *
 * - decoder throughput on a realistic mixed RCS stream (3D state, draws,
 *   pipe controls, register loads, stores), against a plain sequential
 *   read of the same buffer in the same run (target: ratio >= 0.2);
 * - the same walk also extracting every graphics address (what an
 *   auditor does);
 * - native blit throughput (fill + copy through the GTT, checked),
 *   against CPU memcpy of the same size in the same run;
 * - native store-dword submissions per second, against a bare two-thread
 *   condition-variable ping-pong (the floor of any cross-thread
 *   submit/complete round trip);
 * - mediated_vs_native_blit_1guest, like for like: one guest's blits
 *   through the whole mediated path (ioreq, audit, shadow, scheduler)
 *   against the native driver on a GPU of its own, with the same
 *   submission pattern, queue depth and checks on both sides (lfl_*). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/bench.h"
#include "vgt/cmd_decoder.h"
#include "vgt/gpu_workload.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_native.h"
#include "vgt/util.h"
#include "vgt_bench.h"
#include "gpu_platform.h"

#define STREAM_DW (4u << 20) /* 16 MiB of commands */

static const struct vgt_cmd_desc *find(const struct vgt_cmd_table *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->cmds[i].name, name))
            return &t->cmds[i];
    return NULL;
}

/* One draw's worth of commands, in the proportions a Mesa 3D batch has:
 * mostly short 3DSTATE packets, pointers, a primitive, a pipe control,
 * the odd register load and store. Lengths are genxml's nominal ones. */
static size_t build_stream(uint32_t *buf, size_t cap)
{
    static const char *const draw[] = {
        "3DSTATE_VIEWPORT_STATE_POINTERS_CC", "3DSTATE_VIEWPORT_STATE_POINTERS_SF_CLIP",
        "3DSTATE_SCISSOR_STATE_POINTERS", "3DSTATE_BLEND_STATE_POINTERS",
        "3DSTATE_CC_STATE_POINTERS", "3DSTATE_BINDING_TABLE_POINTERS_VS",
        "3DSTATE_BINDING_TABLE_POINTERS_PS", "3DSTATE_SAMPLER_STATE_POINTERS_PS",
        "3DSTATE_VS", "3DSTATE_HS", "3DSTATE_DS", "3DSTATE_GS", "3DSTATE_PS",
        "3DSTATE_PS_EXTRA", "3DSTATE_PS_BLEND", "3DSTATE_WM", "3DSTATE_SF", "3DSTATE_CLIP",
        "3DSTATE_RASTER", "3DSTATE_SBE", "3DSTATE_SBE_SWIZ", "3DSTATE_CONSTANT_VS",
        "3DSTATE_CONSTANT_PS", "3DSTATE_VF_TOPOLOGY", "3DSTATE_INDEX_BUFFER",
        "3DSTATE_VF", "3DSTATE_URB_VS", "3DSTATE_DEPTH_BUFFER", "3DPRIMITIVE",
        "PIPE_CONTROL", "MI_LOAD_REGISTER_IMM", "MI_STORE_REGISTER_MEM",
        "MI_STORE_DATA_IMM", "MI_NOOP", "MI_ARB_CHECK", "MI_BATCH_BUFFER_START",
    };
    const struct vgt_cmd_table *t = &vgt_cmd_gen9_rcs;
    size_t n = 0;

    while (n + 64 < cap) {
        for (size_t i = 0; i < VGT_ARRAY_SIZE(draw) && n + 64 < cap; i++) {
            const struct vgt_cmd_desc *c = find(t, draw[i]);
            uint32_t len;

            if (!c)
                continue;
            len = c->len_bits ? (c->nominal_len ? c->nominal_len : c->bias) : c->bias;
            buf[n] = c->value | (c->len_bits ? len - c->bias : 0);
            for (uint32_t k = 1; k < len; k++)
                buf[n + k] = (uint32_t)(n + k) * 2654435761u; /* payload */
            n += len;
        }
    }
    return n;
}

static int bench_decoder(int json, double seconds)
{
    struct vgt_cmd_decoder *d = malloc(sizeof(*d));
    uint32_t *buf = malloc(STREAM_DW * sizeof(uint32_t));
    size_t n;
    uint64_t reps_read = 0, reps_dec = 0, reps_addr = 0, t0, ns_read, ns_dec, ns_addr;
    volatile uint64_t sink = 0;
    int ret = 1;

    if (!d || !buf || vgt_cmd_decoder_init(d, &vgt_cmd_gen9_rcs))
        goto out;
    n = build_stream(buf, STREAM_DW);

    /* Baseline: a plain sequential read of the same buffer. */
    t0 = vgt_now_ns();
    do {
        uint64_t s = 0;

        for (size_t i = 0; i < n; i++)
            s += buf[i];
        sink += s;
        reps_read++;
    } while ((ns_read = vgt_now_ns() - t0) < seconds * 1e9);

    /* The decoder: lookup and length of every command. */
    t0 = vgt_now_ns();
    do {
        size_t i = 0;
        uint64_t s = 0;

        while (i < n) {
            const struct vgt_cmd_desc *c;
            int len = vgt_cmd_decode_one(d, buf + i, n - i, &c);

            if (len < 0) {
                fprintf(stderr, "bench gpu: decoder failed at %zu: %s\n", i, vgt_cmd_strerror(len));
                goto out;
            }
            s += c->id;
            i += (size_t)len;
        }
        sink += s;
        reps_dec++;
    } while ((ns_dec = vgt_now_ns() - t0) < seconds * 1e9);

    /* Decoder plus every graphics address (an auditor's walk). */
    t0 = vgt_now_ns();
    do {
        size_t i = 0;
        uint64_t s = 0;

        while (i < n) {
            const struct vgt_cmd_desc *c;
            int len = vgt_cmd_decode_one(d, buf + i, n - i, &c);

            if (len < 0)
                goto out;
            for (unsigned a = 0; a < c->addr_count; a++) {
                uint64_t ga;

                if (!vgt_cmd_addr_get(&d->t->addrs[c->addr_first + a], buf + i, (uint32_t)len, &ga))
                    s += ga;
            }
            i += (size_t)len;
        }
        sink += s;
        reps_addr++;
    } while ((ns_addr = vgt_now_ns() - t0) < seconds * 1e9);
    (void)sink; /* the sums exist only so the loops cannot be elided */

    {
        double bytes = (double)n * 4;
        double read_bps = bytes * reps_read / (ns_read / 1e9);
        struct vgt_bench_fig f1 = {"gpu", "decoder_throughput", bytes * reps_dec / (ns_dec / 1e9),
                                   "B/s", read_bps, "plain sequential read of the same stream",
                                   "ratio>=0.2"};
        struct vgt_bench_fig f2 = {"gpu", "decoder_with_addresses_throughput",
                                   bytes * reps_addr / (ns_addr / 1e9), "B/s", read_bps,
                                   "plain sequential read of the same stream", NULL};

        vgt_bench_emit(stdout, json, &f1);
        vgt_bench_emit(stdout, json, &f2);
    }
    ret = 0;
out:
    free(buf);
    free(d);
    return ret;
}

/* --- native figures ---------------------------------------------------- */

struct pingpong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t req, done;
    bool stop;
};

static void *pong(void *arg)
{
    struct pingpong *p = arg;

    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        if (p->done < p->req) {
            p->done = p->req;
            pthread_cond_broadcast(&p->cv);
        } else {
            pthread_cond_wait(&p->cv, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static double pingpong_rate(double seconds)
{
    struct pingpong p = {.req = 0};
    pthread_t th;
    uint64_t t0, n = 0, ns;

    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if (pthread_create(&th, NULL, pong, &p))
        return 0;
    t0 = vgt_now_ns();
    do {
        pthread_mutex_lock(&p.mu);
        p.req++;
        pthread_cond_broadcast(&p.cv);
        while (p.done < p.req)
            pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        n++;
    } while ((ns = vgt_now_ns() - t0) < seconds * 1e9);
    pthread_mutex_lock(&p.mu);
    p.stop = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(th, NULL);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    return n / (ns / 1e9);
}

static double memcpy_rate(size_t bytes, double seconds)
{
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    uint64_t t0, n = 0, ns;

    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    t0 = vgt_now_ns();
    do {
        memcpy(n & 1 ? a : b, n & 1 ? b : a, bytes);
        n++;
    } while ((ns = vgt_now_ns() - t0) < seconds * 1e9);
    free(a);
    free(b);
    return (double)bytes * n / (ns / 1e9);
}

static int bench_native(int json, double seconds)
{
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    struct sim_native *n;
    struct sim_native_result res;
    struct sim_native_run_cfg rc = {.seconds = seconds, .blit_w = 1024, .blit_h = 1024};
    int ret;

    vgt_log_init(&log, "bench", VGT_LOG_WARN);
    ret = sim_arena_create(1ull << 30, &arena);
    if (ret)
        return 1;
    ret = sim_gpu_create(arena, NULL, &log, &gpu);
    if (ret)
        goto destroy_arena;
    ret = sim_native_create(sim_gpu_hostgpu(gpu), &log, NULL, &n);
    if (ret)
        goto destroy_gpu;

    rc.workload = SIM_WL_BLIT;
    ret = sim_native_run(n, &rc, &res);
    if (ret || res.failures) {
        fprintf(stderr, "bench gpu: blit workload failed (%d, %llu wrong)\n", ret,
                (unsigned long long)res.failures);
        ret = 1;
        goto destroy_native;
    }
    {
        /* Each blit writes 4 MiB twice (fill, copy): compare with copying
         * 4 MiB on the CPU. */
        struct vgt_bench_fig f = {"gpu", "native_blit_throughput", res.blit_bytes / res.gpu_s,
                                  "B/s", memcpy_rate(4u << 20, seconds),
                                  "CPU memcpy of 4 MiB buffers", NULL};

        vgt_bench_emit(stdout, json, &f);
    }
    rc.workload = SIM_WL_STORE;
    ret = sim_native_run(n, &rc, &res);
    if (ret || res.failures) {
        fprintf(stderr, "bench gpu: store workload failed (%d, %llu wrong)\n", ret,
                (unsigned long long)res.failures);
        ret = 1;
        goto destroy_native;
    }
    {
        struct vgt_bench_fig f = {"gpu", "native_store_submissions", res.submissions / res.elapsed_s,
                                  "1/s", pingpong_rate(seconds),
                                  "two-thread condvar ping-pong round trips", NULL};

        vgt_bench_emit(stdout, json, &f);
    }
destroy_native:
    sim_native_destroy(n);
destroy_gpu:
    sim_gpu_destroy(gpu);
destroy_arena:
    sim_arena_destroy(arena);
    return ret ? 1 : 0;
}

/* ---- like for like: mediated against native blits ----
 *
 * Both sides run the same steps: two contexts on the blitter, one ELSP
 * write of both (two blits in flight: queue depth 2), each blit a fill of
 * its own source with a new colour, a copy to its own destination and a
 * flush whose post-sync write stores a new sequence number, all GGTT
 * (batches too: the mediator refuses selectorless blits in PPGTT
 * batches). When both have completed, both sequence numbers and both
 * whole destinations are read back and checked on the CPU. */
#define LFL_W 256
#define LFL_H 256
#define LFL_BYTES ((size_t)LFL_W * LFL_H * 4)
#define LFL_STATUS 2048 /* the sequence dword, in the batch's page */
#define LFL_WAIT_MS 10000

/* One blit's batch and the ring commands that start it. */
static size_t lfl_batch(uint32_t *cs, uint64_t src, uint64_t dst, uint64_t batch, uint32_t color, uint32_t seq)
{
    size_t k = 0;

    k += gwl_emit_color_blt(cs + k, src, LFL_W * 4, 0, 0, LFL_W, LFL_H, color);
    k += gwl_emit_src_copy_blt(cs + k, dst, LFL_W * 4, 0, 0, LFL_W, LFL_H, src, LFL_W * 4, 0, 0);
    k += gwl_emit_flush_dw(cs + k, batch + LFL_STATUS, true, seq);
    k += gwl_emit_bb_end(cs + k);
    return k;
}

static size_t lfl_ring(uint32_t *ring, uint64_t batch)
{
    size_t n = gwl_emit_bb_start(ring, batch, false, false);

    return n + gwl_emit_noop(ring + n);
}

static uint32_t lfl_color(uint64_t step, unsigned i)
{
    return gwl_pattern((uint32_t)step, i, 5) | 0xff000000u;
}

/* One side of the comparison: its buffers' GGTT addresses and how it
 * writes a batch, submits both contexts, waits for one, reads results. */
struct lfl_side {
    uint64_t src[2], dst[2], batch[2];
    void *priv;
    int (*write)(void *priv, unsigned i, const uint32_t *cs, size_t n);
    int (*submit2)(void *priv, const uint32_t *r0, size_t n0, const uint32_t *r1, size_t n1);
    int (*wait)(void *priv, unsigned i);
    int (*read)(void *priv, unsigned i, uint32_t *seq, uint8_t *px);
};

/* One side's running totals: steps run, their time, where its sequence
 * numbers are. */
struct lfl_run {
    const struct lfl_side *s;
    uint8_t *px;
    uint64_t step, ns;
    uint32_t seq;
};

/* Steps of @r for about @seconds, the same on both sides; 0, or -EIO on
 * the first wrong result. */
static int lfl_slice(struct lfl_run *r, double seconds)
{
    const struct lfl_side *s = r->s;
    uint64_t t0 = vgt_now_ns();
    int ret = 0;

    do {
        uint32_t cs[2][32], ring[2][4];
        size_t n[2];

        for (unsigned i = 0; i < 2; i++) {
            size_t k = lfl_batch(cs[i], s->src[i], s->dst[i], s->batch[i], lfl_color(r->step, i), r->seq + 1 + i);

            ret = ret ?: s->write(s->priv, i, cs[i], k);
            n[i] = lfl_ring(ring[i], s->batch[i]);
        }
        ret = ret ?: s->submit2(s->priv, ring[0], n[0], ring[1], n[1]);
        for (unsigned i = 0; i < 2; i++)
            ret = ret ?: s->wait(s->priv, i);
        for (unsigned i = 0; i < 2 && !ret; i++) {
            uint32_t got = 0, bx, by;

            ret = s->read(s->priv, i, &got, r->px);
            if (!ret && (got != r->seq + 1 + i ||
                         gwl_check_fill(r->px, LFL_W * 4, LFL_W, LFL_H, lfl_color(r->step, i), &bx, &by)))
                ret = -EIO;
        }
        r->seq += 2;
        r->step++;
    } while (!ret && (double)(vgt_now_ns() - t0) / 1e9 < seconds);
    r->ns += vgt_now_ns() - t0;
    return ret;
}

struct lfl_native {
    struct sim_native *n;
    struct sim_native_ctx *ctx[2];
    struct sim_native_bo *src[2], *dst[2], *batch[2];
};

static int lfl_native_write(void *priv, unsigned i, const uint32_t *cs, size_t n)
{
    return sim_native_bo_write(((struct lfl_native *)priv)->batch[i], 0, cs, n * 4);
}

static int lfl_native_submit2(void *priv, const uint32_t *r0, size_t n0, const uint32_t *r1, size_t n1)
{
    struct lfl_native *l = priv;

    return sim_native_submit2(l->n, l->ctx[0], r0, n0, l->ctx[1], r1, n1);
}

static int lfl_native_wait(void *priv, unsigned i)
{
    struct lfl_native *l = priv;

    return sim_native_wait(l->n, l->ctx[i], LFL_WAIT_MS);
}

static int lfl_native_read(void *priv, unsigned i, uint32_t *seq, uint8_t *px)
{
    struct lfl_native *l = priv;

    return sim_native_bo_read(l->batch[i], LFL_STATUS, seq, 4) ?: sim_native_bo_read(l->dst[i], 0, px, LFL_BYTES);
}

struct lfl_native_rig {
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    struct lfl_native l;
    struct lfl_side s;
};

static void lfl_native_down(struct lfl_native_rig *n)
{
    for (unsigned i = 0; i < 2; i++) {
        sim_native_bo_destroy(n->l.n, n->l.batch[i]);
        sim_native_bo_destroy(n->l.n, n->l.dst[i]);
        sim_native_bo_destroy(n->l.n, n->l.src[i]);
        sim_native_ctx_destroy(n->l.n, n->l.ctx[i]);
    }
    sim_native_destroy(n->l.n);
    sim_gpu_destroy(n->gpu);
    sim_arena_destroy(n->arena);
}

static int lfl_native_up(struct lfl_native_rig *n, struct vgt_log *log)
{
    int ret;

    memset(n, 0, sizeof(*n));
    n->s = (struct lfl_side){.priv = &n->l, .write = lfl_native_write, .submit2 = lfl_native_submit2,
                             .wait = lfl_native_wait, .read = lfl_native_read};
    ret = sim_arena_create(256ull << 20, &n->arena);
    if (ret)
        return ret;
    ret = sim_gpu_create(n->arena, NULL, log, &n->gpu);
    if (ret)
        goto destroy_arena;
    ret = sim_native_create(sim_gpu_hostgpu(n->gpu), log, NULL, &n->l.n);
    if (ret)
        goto destroy_gpu;
    for (unsigned i = 0; i < 2 && !ret; i++) {
        ret = sim_native_ctx_create(n->l.n, VGT_ENGINE_BCS, 4, &n->l.ctx[i]);
        ret = ret ?: sim_native_bo_create(n->l.n, LFL_BYTES, &n->l.src[i]);
        ret = ret ?: sim_native_bo_create(n->l.n, LFL_BYTES, &n->l.dst[i]);
        ret = ret ?: sim_native_bo_create(n->l.n, VGT_PAGE_SIZE, &n->l.batch[i]);
        if (!ret) {
            n->s.src[i] = n->l.src[i]->gm;
            n->s.dst[i] = n->l.dst[i]->gm;
            n->s.batch[i] = n->l.batch[i]->gm;
        }
    }
    if (ret)
        lfl_native_down(n); /* it takes what was made */
    return ret;
destroy_gpu:
    sim_gpu_destroy(n->gpu);
destroy_arena:
    sim_arena_destroy(n->arena);
    return ret;
}

struct lfl_guest {
    struct gg *d;
    struct gg_ctx *ctx[2];
    struct gg_bo dst[2], batch[2];
};

static int lfl_guest_write(void *priv, unsigned i, const uint32_t *cs, size_t n)
{
    struct lfl_guest *l = priv;

    return gg_bo_write(l->d, &l->batch[i], 0, cs, n * 4);
}

static int lfl_guest_submit2(void *priv, const uint32_t *r0, size_t n0, const uint32_t *r1, size_t n1)
{
    struct lfl_guest *l = priv;

    return gg_submit2(l->d, l->ctx[0], r0, n0, l->ctx[1], r1, n1);
}

static int lfl_guest_wait(void *priv, unsigned i)
{
    struct lfl_guest *l = priv;

    return gg_wait(l->d, l->ctx[i], LFL_WAIT_MS);
}

static int lfl_guest_read(void *priv, unsigned i, uint32_t *seq, uint8_t *px)
{
    struct lfl_guest *l = priv;

    return gg_bo_read(l->d, &l->batch[i], LFL_STATUS, seq, 4) ?: gg_bo_read(l->d, &l->dst[i], 0, px, LFL_BYTES);
}

struct lfl_mediated_rig {
    struct gp *p;
    struct lfl_guest l;
    struct lfl_side s;
};

static int lfl_mediated_up(struct lfl_mediated_rig *m, struct vgt_log *log)
{
    struct gp_cfg cfg;
    int ret;

    memset(&cfg, 0, sizeof(cfg));
    memset(m, 0, sizeof(*m));
    m->s = (struct lfl_side){.priv = &m->l, .write = lfl_guest_write, .submit2 = lfl_guest_submit2,
                             .wait = lfl_guest_wait, .read = lfl_guest_read};
    ret = vgt_vgpu_res_from_type("V5_8", &cfg.res);
    if (ret)
        return ret;
    cfg.guests = 1;
    cfg.type_name = "V5_8";
    cfg.guest_ram = 32ull << 20;
    cfg.log = log;
    ret = gp_create(&cfg, &m->p);
    if (ret)
        return ret;
    m->l.d = m->p->guest[0].drv;
    for (unsigned i = 0; i < 2 && !ret; i++) {
        struct gg_bo src;

        ret = gg_ctx_create(m->l.d, VGT_ENGINE_BCS, &m->l.ctx[i]);
        ret = ret ?: gg_bo_create(m->l.d, LFL_BYTES, true, true, false, &src);
        ret = ret ?: gg_bo_create(m->l.d, LFL_BYTES, true, true, false, &m->l.dst[i]);
        ret = ret ?: gg_bo_create(m->l.d, VGT_PAGE_SIZE, true, false, false, &m->l.batch[i]);
        m->s.src[i] = src.gm;
        m->s.dst[i] = m->l.dst[i].gm;
        m->s.batch[i] = m->l.batch[i].gm;
    }
    if (ret)
        gp_destroy(m->p);
    return ret;
}

/* Both sides set up side by side, then run in alternating slices of
 * LFL_SLICE_S until each has run @seconds: whatever else the machine
 * runs meanwhile slows both alike (run one after the other, as before,
 * the ratio moved between 0.1 and 1.0 with the load). */
#define LFL_SLICE_S 0.05

static int bench_like_for_like(int json, double seconds)
{
    struct vgt_log log;
    struct lfl_native_rig *n = malloc(sizeof(*n));
    struct lfl_mediated_rig *m = malloc(sizeof(*m));
    struct lfl_run rn = {0}, rm = {0};
    double med, nat;
    int ret = -ENOMEM;

    vgt_log_init(&log, "bench", VGT_LOG_ERR);
    rn.px = malloc(LFL_BYTES);
    rm.px = malloc(LFL_BYTES);
    if (!n || !m || !rn.px || !rm.px)
        goto free_mem;
    ret = lfl_native_up(n, &log);
    if (ret)
        goto free_mem;
    ret = lfl_mediated_up(m, &log);
    if (ret)
        goto native_down;
    rn.s = &n->s;
    rm.s = &m->s;
    while (!ret && (rn.ns < seconds * 1e9 || rm.ns < seconds * 1e9)) {
        ret = lfl_slice(&rn, LFL_SLICE_S);
        ret = ret ?: lfl_slice(&rm, LFL_SLICE_S);
    }
    if (!ret && vgt_vgpu_in_failsafe(m->p->guest[0].in.vgpu))
        ret = -EIO;
    gp_destroy(m->p);
native_down:
    lfl_native_down(n);
free_mem:
    free(rm.px);
    free(rn.px);
    free(m);
    free(n);
    if (ret) {
        fprintf(stderr, "vgt bench gpu: like-for-like blits failed: %s\n",
                ret == -EIO ? "wrong results" : strerror(-ret));
        return 1;
    }
    med = (double)(rm.step * 2) / ((double)rm.ns / 1e9);
    nat = (double)(rn.step * 2) / ((double)rn.ns / 1e9);
    {
        struct vgt_bench_fig f = {"gpu", "mediated_vs_native_blit_1guest", med, "blits/s", nat,
                                  "native driver, same blits, queue depth 2, every result checked, "
                                  "alternating slices of the same run",
                                  "ratio>=0.95"};

        vgt_bench_emit(stdout, json, &f);
    }
    return 0;
}

int vgt_bench_gpu(int argc, char **argv)
{
    int json = 0;
    double seconds = 1.0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            char *end;

            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0 && seconds <= 60)) {
                fprintf(stderr, "vgt bench gpu: --seconds wants 0..60\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: vgt bench gpu [--json] [--seconds S]\n");
            return 2;
        }
    }
    if (bench_decoder(json, seconds))
        return 1;
    if (bench_native(json, seconds))
        return 1;
    return bench_like_for_like(json, seconds);
}

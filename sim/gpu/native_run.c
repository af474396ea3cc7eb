/* The native workloads: blit (fill + copy, checked), store (many small
 * batches, checked), mixed (both engines at once). Built from the pure
 * command builders of vgt/gpu_workload.h so the guest-side driver can run
 * the very same streams through a vGPU. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/gpu_workload.h"
#include "vgt/sim_native.h"
#include "vgt/util.h"

#define WAIT_MS 10000
#define STORE_SLOTS 1024   /* result dwords in one page */
#define BATCH_SLOT 64      /* bytes per store batch */

struct blit_job {
    struct sim_native_ctx *ctx;
    struct sim_native_bo *src, *dst, *batch, *status;
    uint32_t w, h, pitch;
    uint8_t *staging;      /* CPU copy for checks */
};

struct store_job {
    struct sim_native_ctx *ctx;
    struct sim_native_bo *batch, *result;
};

static void blit_fini(struct sim_native *n, struct blit_job *b)
{
    sim_native_bo_destroy(n, b->status);
    sim_native_bo_destroy(n, b->batch);
    sim_native_bo_destroy(n, b->dst);
    sim_native_bo_destroy(n, b->src);
    sim_native_ctx_destroy(n, b->ctx);
    free(b->staging);
}

static int blit_init(struct sim_native *n, struct blit_job *b, uint32_t w, uint32_t h)
{
    size_t bytes;
    int ret;

    memset(b, 0, sizeof(*b));
    /* BR13 pitch is a signed 16-bit byte count. */
    if (w == 0 || h == 0 || w > 8191 || h > 32767)
        return -EINVAL;
    b->w = w;
    b->h = h;
    b->pitch = w * 4;
    bytes = (size_t)b->pitch * h;
    b->staging = malloc(bytes);
    if (!b->staging)
        return -ENOMEM;
    ret = sim_native_ctx_create(n, VGT_ENGINE_BCS, 4, &b->ctx);
    if (!ret)
        ret = sim_native_bo_create(n, bytes, &b->src);
    if (!ret)
        ret = sim_native_bo_create(n, bytes, &b->dst);
    if (!ret)
        ret = sim_native_bo_create(n, VGT_PAGE_SIZE, &b->batch);
    if (!ret)
        ret = sim_native_bo_create(n, VGT_PAGE_SIZE, &b->status);
    if (ret)
        blit_fini(n, b);
    return ret;
}

/* Submit one blit batch: optionally fill src with @color, then copy src to
 * dst, then a flush with a post-sync write of @seq. */
static int blit_submit(struct sim_native *n, struct blit_job *b, bool fill, uint32_t color,
                       uint32_t seq)
{
    uint32_t cs[64], ring[8];
    size_t k = 0, r = 0;

    if (fill)
        k += gwl_emit_color_blt(cs + k, b->src->va, b->pitch, 0, 0, b->w, b->h, color);
    k += gwl_emit_src_copy_blt(cs + k, b->dst->va, b->pitch, 0, 0, b->w, b->h, b->src->va,
                               b->pitch, 0, 0);
    k += gwl_emit_flush_dw(cs + k, b->status->va, false, seq);
    k += gwl_emit_bb_end(cs + k);
    sim_native_bo_write(b->batch, 0, cs, k * 4);
    r += gwl_emit_bb_start(ring + r, b->batch->va, true, false);
    r += gwl_emit_user_interrupt(ring + r);
    return sim_native_submit(n, b->ctx, ring, r);
}

/* Check dst (and the flush's seq): a fill of @color, or the pattern. */
static int blit_check(struct blit_job *b, bool fill, uint32_t color, uint32_t seed, uint32_t seq)
{
    uint32_t got, bx, by;

    sim_native_bo_read(b->status, 0, &got, 4);
    if (got != seq)
        return -1;
    sim_native_bo_read(b->dst, 0, b->staging, (size_t)b->pitch * b->h);
    if (fill)
        return gwl_check_fill(b->staging, b->pitch, b->w, b->h, color, &bx, &by);
    return gwl_check_pattern(b->staging, b->pitch, b->w, b->h, seed, &bx, &by);
}

static void store_fini(struct sim_native *n, struct store_job *s)
{
    sim_native_bo_destroy(n, s->result);
    sim_native_bo_destroy(n, s->batch);
    sim_native_ctx_destroy(n, s->ctx);
}

static int store_init(struct sim_native *n, struct store_job *s)
{
    int ret;

    memset(s, 0, sizeof(*s));
    ret = sim_native_ctx_create(n, VGT_ENGINE_RCS, 4, &s->ctx);
    if (!ret)
        ret = sim_native_bo_create(n, VGT_PAGE_SIZE, &s->batch);
    if (!ret)
        ret = sim_native_bo_create(n, STORE_SLOTS * 4, &s->result);
    if (ret)
        store_fini(n, s);
    return ret;
}

/* One small batch: store @seq in result slot seq % STORE_SLOTS. */
static int store_submit(struct sim_native *n, struct store_job *s, uint32_t seq)
{
    uint32_t cs[8], ring[4];
    size_t k = 0;
    size_t slot = (seq % (VGT_PAGE_SIZE / BATCH_SLOT)) * BATCH_SLOT;

    k += gwl_emit_sdi(cs + k, s->result->va + (seq % STORE_SLOTS) * 4, false, seq);
    k += gwl_emit_bb_end(cs + k);
    sim_native_bo_write(s->batch, slot, cs, k * 4);
    k = gwl_emit_bb_start(ring, s->batch->va + slot, true, false);
    k += gwl_emit_noop(ring + k);
    return sim_native_submit(n, s->ctx, ring, k);
}

static int store_check(struct store_job *s, uint32_t seq)
{
    uint32_t got;

    sim_native_bo_read(s->result, (seq % STORE_SLOTS) * 4, &got, 4);
    return got == seq ? 0 : -1;
}

static bool time_left(uint64_t t0, const struct sim_native_run_cfg *cfg, uint64_t iters)
{
    if (iters == 0)
        return true;
    if (cfg->max_iters && iters >= cfg->max_iters)
        return false;
    return (double)(vgt_now_ns() - t0) / 1e9 < cfg->seconds;
}

static int run_blit(struct sim_native *n, const struct sim_native_run_cfg *cfg,
                    struct sim_native_result *res, uint64_t t0)
{
    struct blit_job b;
    uint64_t frame = (uint64_t)cfg->blit_w * cfg->blit_h * 4;
    uint32_t seq = 1;
    int ret = blit_init(n, &b, cfg->blit_w, cfg->blit_h);

    if (ret)
        return ret;
    /* A copy of real data first: the CPU writes a pattern, the GPU copies. */
    gwl_fill_pattern(b.staging, b.pitch, b.w, b.h, 7);
    sim_native_bo_write(b.src, 0, b.staging, (size_t)b.pitch * b.h);
    {
        uint64_t g0 = vgt_now_ns();

        ret = blit_submit(n, &b, false, 0, seq);
        if (!ret)
            ret = sim_native_wait(n, b.ctx, WAIT_MS);
        res->gpu_s += (double)(vgt_now_ns() - g0) / 1e9;
    }
    if (ret)
        goto fini;
    res->submissions++;
    res->blit_bytes += frame;
    if (blit_check(&b, false, 0, 7, seq))
        res->failures++;
    for (uint64_t i = 0; time_left(t0, cfg, i); i++) {
        uint32_t color = gwl_pattern((uint32_t)i, 1, 2) | 0xff000000u;
        uint64_t g0 = vgt_now_ns();

        seq++;
        ret = blit_submit(n, &b, true, color, seq);
        if (!ret)
            ret = sim_native_wait(n, b.ctx, WAIT_MS);
        res->gpu_s += (double)(vgt_now_ns() - g0) / 1e9;
        if (ret)
            break;
        res->submissions++;
        res->blits++;
        res->blit_bytes += 2 * frame;
        if (blit_check(&b, true, color, 0, seq))
            res->failures++;
    }
fini:
    blit_fini(n, &b);
    return ret;
}

static int run_store(struct sim_native *n, const struct sim_native_run_cfg *cfg,
                     struct sim_native_result *res, uint64_t t0)
{
    struct store_job s;
    int ret = store_init(n, &s);

    if (ret)
        return ret;
    for (uint64_t i = 0; time_left(t0, cfg, i); i++) {
        uint32_t seq = (uint32_t)i + 1;
        uint64_t g0 = vgt_now_ns();

        ret = store_submit(n, &s, seq);
        if (!ret)
            ret = sim_native_wait(n, s.ctx, WAIT_MS);
        res->gpu_s += (double)(vgt_now_ns() - g0) / 1e9;
        if (ret)
            break;
        res->submissions++;
        res->stores++;
        if (store_check(&s, seq))
            res->failures++;
    }
    store_fini(n, &s);
    return ret;
}

/* Both engines busy at once: a blit in flight on BCS while RCS runs store
 * batches, then both checked. */
static int run_mixed(struct sim_native *n, const struct sim_native_run_cfg *cfg,
                     struct sim_native_result *res, uint64_t t0)
{
    struct blit_job b;
    struct store_job s;
    uint32_t bseq = 0, sseq = 0;
    int ret = blit_init(n, &b, cfg->blit_w, cfg->blit_h);
    uint64_t frame = (uint64_t)cfg->blit_w * cfg->blit_h * 4;

    if (ret)
        return ret;
    ret = store_init(n, &s);
    if (ret) {
        blit_fini(n, &b);
        return ret;
    }
    for (uint64_t i = 0; !ret && time_left(t0, cfg, i); i++) {
        uint32_t color = gwl_pattern((uint32_t)i, 3, 4) | 0xff000000u;
        uint64_t g0 = vgt_now_ns();
        int done;

        ret = blit_submit(n, &b, true, color, ++bseq);
        if (ret)
            break;
        do {
            ret = store_submit(n, &s, ++sseq);
            if (!ret)
                ret = sim_native_wait(n, s.ctx, WAIT_MS);
            if (ret)
                break;
            res->submissions++;
            res->stores++;
            if (store_check(&s, sseq))
                res->failures++;
            done = sim_native_wait(n, b.ctx, 0);
        } while (done == -ETIMEDOUT);
        if (!ret && done)
            ret = done;
        res->gpu_s += (double)(vgt_now_ns() - g0) / 1e9;
        if (ret)
            break;
        res->submissions++;
        res->blits++;
        res->blit_bytes += 2 * frame;
        if (blit_check(&b, true, color, 0, bseq))
            res->failures++;
    }
    store_fini(n, &s);
    blit_fini(n, &b);
    return ret;
}

int sim_native_run(struct sim_native *n, const struct sim_native_run_cfg *cfg_in,
                   struct sim_native_result *res)
{
    struct sim_native_run_cfg cfg = *cfg_in;
    uint64_t t0;
    int ret;

    memset(res, 0, sizeof(*res));
    if (!cfg.blit_w)
        cfg.blit_w = 1024;
    if (!cfg.blit_h)
        cfg.blit_h = 1024;
    if (cfg.seconds < 0)
        return -EINVAL;
    t0 = vgt_now_ns();
    switch (cfg.workload) {
    case SIM_WL_BLIT: ret = run_blit(n, &cfg, res, t0); break;
    case SIM_WL_STORE: ret = run_store(n, &cfg, res, t0); break;
    case SIM_WL_MIXED: ret = run_mixed(n, &cfg, res, t0); break;
    default: return -EINVAL;
    }
    res->elapsed_s = (double)(vgt_now_ns() - t0) / 1e9;
    return ret;
}

/* Shared harness of the end-to-end GPU tests (see gpu_harness.h). */
#include "gpu_harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/util.h"

static void *worker_main(void *arg)
{
    struct hx_worker *w = arg;

    while (vgt_now_ns() < w->stop_ns) {
        w->rc = gg_run_step(&w->run, 10000);
        if (w->rc)
            break;
        __atomic_add_fetch(&w->done, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Fills in flight per guest: enough that a driver thread the loaded host
 * leaves descheduled for tens of ms still has work queued (a guest with
 * nothing queued gets nothing, and its share would measure the host). */
#define FILL_SLOTS 8

static int fill_submit(struct gg *d, struct gg_ctx *c, const struct gg_bo *dst, uint32_t color)
{
    uint32_t cs[16];
    size_t k = gwl_emit_color_blt(cs, dst->gm, HX_BLIT * 4, 0, 0, HX_BLIT, HX_BLIT, color);

    k += gwl_emit_noop(cs + k);
    return gg_submit(d, c, cs, k);
}

static void *filler_main(void *arg)
{
    struct hx_filler *f = arg;
    struct gg *d = f->p->guest[f->idx].drv;
    struct gg_ctx *c[FILL_SLOTS] = {NULL};
    struct gg_bo dst[FILL_SLOTS];
    uint32_t color[FILL_SLOTS], *px = malloc(HX_BLIT * HX_BLIT * 4);
    uint32_t seq = 0;

    f->rc = px ? 0 : -ENOMEM;
    for (unsigned s = 0; s < FILL_SLOTS && !f->rc; s++) {
        f->rc = gg_ctx_create(d, VGT_ENGINE_BCS, &c[s]);
        if (!f->rc)
            f->rc = gg_bo_create(d, HX_BLIT * HX_BLIT * 4, true, true, false, &dst[s]);
        color[s] = 0x01000000u * (f->idx + 1) + seq++;
        if (!f->rc)
            f->rc = fill_submit(d, c[s], &dst[s], color[s]);
    }
    /* Each fill is resubmitted as soon as it is checked, until the stop
     * time; then the ones in flight drain (the driver is used again only
     * after). So fillers sharing a stop time stop submitting together,
     * with the same number in flight, rather than each finishing a
     * round of its slots (up to FILL_SLOTS fills more than another). */
    for (unsigned s = 0, live = f->rc ? 0 : FILL_SLOTS; live && !f->rc; s = (s + 1) % FILL_SLOTS) {
        if (!c[s])
            continue;
        f->rc = gg_wait(d, c[s], 10000);
        if (!f->rc)
            f->rc = gg_bo_read(d, &dst[s], 0, px, HX_BLIT * HX_BLIT * 4);
        for (unsigned i = 0; !f->rc && i < HX_BLIT * HX_BLIT; i++)
            if (px[i] != color[s]) {
                if (!f->failures++)
                    snprintf(f->first_failure, sizeof(f->first_failure), "pixel %u = %#x, want %#x", i, px[i],
                             color[s]);
                break;
            }
        __atomic_add_fetch(&f->done, 1, __ATOMIC_RELAXED);
        color[s] = 0x01000000u * (f->idx + 1) + seq++;
        if (!f->rc && vgt_now_ns() < f->stop_ns) {
            f->rc = fill_submit(d, c[s], &dst[s], color[s]);
        } else {
            c[s] = NULL; /* drained */
            live--;
        }
    }
    free(px);
    return NULL;
}

void hx_fill_start_until(struct hx_filler *f, struct gp *p, unsigned idx, uint64_t stop_ns)
{
    memset(f, 0, sizeof(*f));
    f->p = p;
    f->idx = idx;
    f->stop_ns = stop_ns;
    assert_int_equal(pthread_create(&f->thr, NULL, filler_main, f), 0);
}

void hx_fill_start(struct hx_filler *f, struct gp *p, unsigned idx, double seconds)
{
    hx_fill_start_until(f, p, idx, vgt_now_ns() + (uint64_t)(seconds * 1e9));
}

void hx_fill_finish(struct hx_filler *f)
{
    pthread_join(f->thr, NULL);
    if (f->rc || f->failures)
        fail_msg("guest %u: rc %d, %llu wrong fills (%s)", f->idx, f->rc, (unsigned long long)f->failures,
                 f->first_failure);
}

struct gp *hx_platform_cfg(unsigned n, const char *type, struct gp_cfg *cfg)
{
    struct gp *p = NULL;
    static struct vgt_log log;

    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    assert_int_equal(vgt_vgpu_res_from_type(type, &cfg->res), 0);
    cfg->type_name = type;
    cfg->guests = n;
    cfg->log = &log;
    assert_int_equal(gp_create(cfg, &p), 0);
    return p;
}

struct gp *hx_platform_ram(unsigned n, const char *type, const unsigned *weights, double ns_per_byte,
                           unsigned vcpus, uint64_t guest_ram)
{
    struct gp_cfg cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.guest_ram = guest_ram;
    cfg.ns_per_byte = ns_per_byte;
    cfg.vcpus = vcpus;
    if (weights)
        memcpy(cfg.weights, weights, n * sizeof(*weights));
    return hx_platform_cfg(n, type, &cfg);
}

struct gp *hx_platform(unsigned n, const char *type, const unsigned *weights, double ns_per_byte,
                       unsigned vcpus)
{
    return hx_platform_ram(n, type, weights, ns_per_byte, vcpus, 48ull << 20);
}

void hx_start(struct hx_worker *w, struct gp *p, unsigned idx, enum gg_workload wl, double seconds)
{
    memset(w, 0, sizeof(*w));
    w->p = p;
    w->idx = idx;
    w->wl = wl;
    assert_int_equal(gg_run_init(&w->run, p->guest[idx].drv, wl, HX_BLIT, HX_BLIT, 0x77 + idx), 0);
    w->stop_ns = vgt_now_ns() + (uint64_t)(seconds * 1e9);
    assert_int_equal(pthread_create(&w->thr, NULL, worker_main, w), 0);
}

void hx_finish(struct hx_worker *w)
{
    pthread_join(w->thr, NULL);
    if (w->rc || w->run.failures)
        fail_msg("guest %u: rc %d, %llu failures (%s)", w->idx, w->rc,
                 (unsigned long long)w->run.failures, w->run.first_failure);
    gg_run_fini(&w->run);
}

double hx_busy(struct gp *p, unsigned i, int engine)
{
    struct vgt_submit_stats st;
    double b = 0;

    assert_int_equal(vgt_submit_get_stats(p->guest[i].in.sv, &st), 0);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        if (engine < 0 || (unsigned)engine == e)
            b += (double)st.sched.busy_ns[e];
    return b;
}

bool hx_failsafe(struct gp *p, unsigned i)
{
    return vgt_vgpu_in_failsafe(p->guest[i].in.vgpu);
}

void hx_assert_failsafe(struct gp *p, unsigned i, int reason, const char *what)
{
    struct vgt_vgpu_info info;
    struct vgt_submit_stats st;

    vgt_vgpu_get_info(p->guest[i].in.vgpu, &info);
    assert_int_equal(vgt_submit_get_stats(p->guest[i].in.sv, &st), 0);
    if (!info.failsafe)
        fail_msg("guest %u: not in failsafe (wanted: %s)", i, what);
    if ((int)info.failsafe_reason != reason)
        fail_msg("guest %u: failsafe reason %d, wanted %d (%s)", i, (int)info.failsafe_reason, reason,
                 info.failsafe_detail);
    if (!strstr(info.failsafe_detail, what) && !strstr(st.last_refusal, what))
        fail_msg("guest %u: failsafe for '%s' / last refusal '%s', wanted '%s'", i, info.failsafe_detail,
                 st.last_refusal, what);
}

void hx_reprobe(struct gp *p, unsigned i)
{
    struct gg_cfg dc;

    assert_true(hx_failsafe(p, i));
    assert_int_equal(vgt_vgpu_reset(p->guest[i].in.vgpu), 0);
    assert_false(hx_failsafe(p, i));
    gg_destroy(p->guest[i].drv);
    memset(&dc, 0, sizeof(dc));
    dc.g = p->guest[i].in.guest;
    dc.dev = 2;
    dc.bar0_gpa = 0xF0000000ull;
    dc.ram_base = 16ull << 20;
    dc.ram_size = (48ull << 20) - dc.ram_base;
    dc.msi_data = 0x40 + i;
    assert_int_equal(gg_probe(&dc, &p->guest[i].drv), 0);
}

void hx_expect_failsafe(struct gp *p, unsigned i, unsigned engine, const uint32_t *cmds, size_t n,
                        const char *what)
{
    struct gg *d = p->guest[i].drv;
    struct gg_ctx *c;

    assert_int_equal(gg_ctx_create(d, engine, &c), 0);
    assert_int_equal(gg_submit(d, c, cmds, n), 0);
    hx_assert_failsafe(p, i, VGT_FAILSAFE_GUEST_ERROR, what);
    assert_int_equal(gg_wait(d, c, 50), -ETIMEDOUT);
    hx_reprobe(p, i);
}

void hx_assert_shares(struct gp *p, const unsigned *idx, const double *wt, unsigned n, int engine,
                      double tol)
{
    double b[GP_MAX_GUESTS], tb = 0, tw = 0;

    for (unsigned k = 0; k < n; k++) {
        tb += b[k] = hx_busy(p, idx[k], engine);
        tw += wt[k];
    }
    assert_true(tb > 0);
    for (unsigned k = 0; k < n; k++) {
        double share = b[k] / tb, want = wt[k] / tw;

        if (share < want * (1 - tol) || share > want * (1 + tol))
            fail_msg("guest %u: share %.3f of the honest guests' time (%.0f of %.0f ms), weight share "
                     "%.3f (+-%.0f%%)",
                     idx[k], share, b[k] / 1e6, tb / 1e6, want, tol * 100);
    }
}

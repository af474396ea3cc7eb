/* vgt bench display [--json] [--secs S] [--guests N]
 *
 * The guest's screen on the host (docs/display.md), on the simulated
 * platform:
 *  - decode: ms per 1080p frame for every format and tiling, against a
 *    plain memcpy of the same bytes in the same run; 4K XRGB8888 X-tiled;
 *  - VNC: frames per second a VNC client (libvncclient, Unix socket, raw
 *    encoding) receives while the guest flips a full-screen animation
 *    (double-buffered, every pixel changes), against the guest's flip
 *    rate; CPU time of the display thread per frame; 1080p60, 4K30 and
 *    N guests (default 16) at 1080p30 together;
 *  - flip-to-first-update latency, against one frame at the cap. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "vgt/bench.h"
#include "vgt/display_host.h"
#include "vgt/util.h"
#include "vgt_bench.h"

#ifdef VGT_HAVE_VNC
#include <rfb/rfbclient.h>
#endif

#include "display_guest.h"
#include "vgpu_host.h"
#include "vgtd_display.h"

#define MIB (1ull << 20)
#define MAX_GUESTS 16

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgtd_display *disp;
    char dir[64];
    int json;
    double secs;
};

static int host_up(struct bench *b, unsigned nguests, uint64_t high_mb, uint64_t ram_mb,
                   unsigned fps)
{
    struct vgpu_host_cfg hc = {.sim = true, .sim_arena_bytes = 4096 * MIB};
    struct vgtd_display_cfg dc = {.sim = true, .vnc_fps = fps};
    char err[256];
    int ret;

    vgt_log_init(&b->log, "bench display", VGT_LOG_ERR);
    dc.log = &b->log;
    if (fps) {
        snprintf(b->dir, sizeof(b->dir), "/tmp/vgt-bench-display-XXXXXX");
        if (!mkdtemp(b->dir))
            return -errno;
        dc.vnc_unix_dir = b->dir;
    }
    ret = vgtd_display_create(&dc, &b->disp);
    if (ret)
        return ret;
    hc.log = &b->log;
    hc.dom_gone = vgtd_display_dom_gone;
    hc.dom_gone_opaque = b->disp;
    ret = vgpu_host_create(&hc, &b->h);
    if (ret)
        return ret;
    vgtd_display_set_host(b->disp, b->h);
    for (unsigned i = 0; i < nguests; i++) {
        struct vgpu_add_req req = {.domid = (uint16_t)(i + 1), .low_gm_mb = 16,
                                   .high_gm_mb = high_mb, .fences = 1, .sim_ram = ram_mb * MIB};

        ret = vgpu_host_add(b->h, &req, err, sizeof(err));
        if (!ret)
            ret = vgtd_display_dom_added(b->disp, req.domid, err, sizeof(err));
        if (ret) {
            fprintf(stderr, "bench display: %s\n", err);
            return ret;
        }
    }
    return 0;
}

static void host_down(struct bench *b)
{
    vgpu_host_destroy(b->h);
    vgtd_display_destroy(b->disp);
    b->h = NULL;
    b->disp = NULL;
    if (b->dir[0])
        rmdir(b->dir);
    b->dir[0] = 0;
}

/* ---- decode throughput ---- */

/* @update_ms (may be NULL): the same head captured incrementally with
 * nothing changed (the guest's bytes read and hashed, nothing converted),
 * as vgtd's VNC thread does between a guest's redraws. */
static int bench_decode(struct bench *b, uint32_t fourcc, uint64_t mod, unsigned w, unsigned h,
                        double *decode_ms, double *memcpy_ms, double *update_ms)
{
    struct dg_fb fb = {.fourcc = fourcc, .modifier = mod, .w = w, .h = h, .seed = 1};
    struct vgt_display_frame f = {0};
    struct vgt_display_head hi;
    struct vgt_display_src src;
    struct vgt_display *d;
    size_t bytes = dg_fb_bytes(&fb);
    uint8_t *a = malloc(bytes), *c = malloc(bytes);
    unsigned n = 0;
    char err[256];
    double t0;
    int ret;

    if (!a || !c) {
        free(a);
        free(c);
        return -ENOMEM;
    }
    ret = vgpu_host_sim_guest_show(b->h, 1, 0, &fb, false, 0, 0, false, err, sizeof(err));
    if (ret) {
        fprintf(stderr, "bench display: %s\n", err);
        goto out;
    }
    vgt_display_src_vgpu(vgpu_host_vgpu(b->h, 1), &src);
    ret = vgt_display_create(&src, &d);
    if (ret)
        goto out;
    ret = vgt_display_capture(d, 0, &f, &hi); /* warm */
    if (!ret && hi.plane.refusal != VGT_DISP_OK)
        ret = -EINVAL;
    t0 = now_s();
    while (!ret && (now_s() - t0 < 0.3 || n < 3)) {
        ret = vgt_display_capture(d, 0, &f, &hi);
        n++;
    }
    *decode_ms = (now_s() - t0) * 1e3 / n;
    if (!ret && update_ms) {
        struct vgt_display_frame fu = {0};
        struct vgt_display_damage dmg;
        unsigned nu = 0;

        ret = vgt_display_capture_update(d, 0, &fu, &hi, &dmg); /* the first: all of it */
        t0 = now_s();
        while (!ret && (now_s() - t0 < 0.3 || nu < 3)) {
            ret = vgt_display_capture_update(d, 0, &fu, &hi, &dmg);
            if (!ret && dmg.y1 != dmg.y0)
                ret = -EPROTO; /* nothing changed: nothing may be damaged */
            nu++;
        }
        *update_ms = (now_s() - t0) * 1e3 / nu;
        vgt_display_frame_fini(&fu);
    }
    /* the baseline: the same bytes copied once, as many times */
    memset(a, 1, bytes);
    t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        memcpy(c, a, bytes);
        a[i % bytes] = c[(i * 7) % bytes]; /* keep the copies */
    }
    *memcpy_ms = (now_s() - t0) * 1e3 / n;
    vgt_display_frame_fini(&f);
    vgt_display_destroy(d);
out:
    free(a);
    free(c);
    return ret;
}

/* ---- VNC ---- */

#ifdef VGT_HAVE_VNC
struct client {
    rfbClient *cl;
    atomic_uint_fast64_t updates;
};

static void on_finished(rfbClient *cl)
{
    struct client *c = rfbClientGetClientData(cl, on_finished);

    atomic_fetch_add(&c->updates, 1);
}

static void quiet(const char *fmt, ...)
{
    (void)fmt;
}

/* libvncclient leaves the frame buffer it allocated to its user. */
static void client_free(rfbClient *cl)
{
    free(cl->frameBuffer);
    cl->frameBuffer = NULL;
    rfbClientCleanup(cl);
}

static rfbClient *client_connect(struct client *c, const char *addr)
{
    rfbClient *cl = rfbGetClient(8, 3, 4);

    cl->format.redShift = 16;
    cl->format.greenShift = 8;
    cl->format.blueShift = 0;
    free(cl->serverHost); /* rfbGetClient's default */
    cl->serverHost = strdup(addr + 5); /* "unix:PATH" */
    cl->appData.encodingsString = "raw";
    cl->FinishedFrameBufferUpdate = on_finished;
    rfbClientSetClientData(cl, on_finished, c);
    rfbClientLog = rfbClientErr = quiet;
    if (!rfbInitClient(cl, NULL, NULL))
        return NULL;
    return cl;
}

struct flipper {
    struct vgpu_host *h;
    unsigned n;
    uint64_t gm[MAX_GUESTS][2];
    double period;
    atomic_bool stop;
    atomic_uint_fast64_t flips;
};

/* The guests' compositors: flip between their two buffers at the rate. */
static void *flip_thread(void *p)
{
    struct flipper *f = p;
    double next = now_s();
    char err[128];

    for (unsigned k = 0; !atomic_load(&f->stop); k++) {
        for (unsigned g = 0; g < f->n; g++)
            vgpu_host_sim_guest_mmio_write(f->h, (uint16_t)(g + 1), PLANE_SURF(0),
                                           (uint32_t)f->gm[g][k & 1], err, sizeof(err));
        atomic_fetch_add(&f->flips, 1);
        next += f->period;
        while (now_s() < next && !atomic_load(&f->stop))
            usleep(500);
    }
    return NULL;
}

/* Set up the guests' double buffers: the front shown, the back rendered. */
static int guests_draw(struct bench *b, unsigned n, unsigned w, unsigned h,
                       uint64_t gm[][2])
{
    char err[256];

    for (unsigned g = 0; g < n; g++) {
        struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = I915_FORMAT_MOD_X_TILED,
                           .w = w, .h = h, .seed = 1};
        uint64_t gpa;
        int ret = vgpu_host_sim_guest_show(b->h, (uint16_t)(g + 1), 0, &fb, false, 0, 0, false, err,
                                           sizeof(err));

        fb.seed = 2;
        if (!ret)
            ret = vgpu_host_sim_guest_fb(b->h, (uint16_t)(g + 1), 0, false, &gm[g][0], &gpa);
        if (!ret)
            ret = vgpu_host_sim_guest_back(b->h, (uint16_t)(g + 1), 0, &fb, &gm[g][1], err,
                                           sizeof(err));
        if (ret) {
            fprintf(stderr, "bench display: guest %u: %s\n", g + 1, err);
            return ret;
        }
    }
    return 0;
}

static void pump(struct client *c, unsigned n, double until)
{
    while (now_s() < until)
        for (unsigned g = 0; g < n; g++) {
            rfbClient *cl = c[g].cl;

            if (WaitForMessage(cl, n > 1 ? 200 : 5000) > 0) {
                if (!HandleRFBServerMessage(cl))
                    return;
                SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height, TRUE);
            }
        }
}

struct vnc_result {
    double client_fps;  /* per guest, mean */
    double flip_fps;    /* the guests' flip rate */
    double cpu_ms;      /* display-thread CPU per frame sent */
};

static int bench_vnc(struct bench *b, unsigned n, unsigned w, unsigned h, unsigned fps,
                     struct vnc_result *r)
{
    struct client c[MAX_GUESTS] = {0};
    struct flipper fl = {.n = n, .period = 1.0 / fps};
    struct vgtd_display_stats s0[MAX_GUESTS], s1;
    uint64_t u0[MAX_GUESTS];
    pthread_t tid;
    double t0, t1, cpu = 0, sent = 0;
    int ret;

    ret = host_up(b, n, 2 * (((uint64_t)w * h * 4 + MIB - 1) / MIB) + 4,
                  2 * (((uint64_t)w * h * 4) >> 20) + 40, fps);
    if (!ret)
        ret = guests_draw(b, n, w, h, fl.gm);
    for (unsigned g = 0; g < n && !ret; g++) {
        c[g].cl = client_connect(&c[g], vgtd_display_addr(b->disp, (uint16_t)(g + 1), 0));
        if (!c[g].cl)
            ret = -ECONNREFUSED;
        else
            SendFramebufferUpdateRequest(c[g].cl, 0, 0, (int)w, (int)h, FALSE);
    }
    if (ret)
        goto down;
    fl.h = b->h;
    pump(c, n, now_s() + 0.5); /* the first full frames */
    for (unsigned g = 0; g < n; g++) {
        vgtd_display_stats(b->disp, (uint16_t)(g + 1), &s0[g]);
        u0[g] = atomic_load(&c[g].updates);
    }
    if (pthread_create(&tid, NULL, flip_thread, &fl)) {
        ret = -EAGAIN;
        goto down;
    }
    t0 = now_s();
    pump(c, n, t0 + b->secs);
    t1 = now_s();
    atomic_store(&fl.stop, true);
    pthread_join(tid, NULL);
    r->client_fps = 0;
    for (unsigned g = 0; g < n; g++) {
        vgtd_display_stats(b->disp, (uint16_t)(g + 1), &s1);
        r->client_fps += (double)(atomic_load(&c[g].updates) - u0[g]) / (t1 - t0) / n;
        cpu += (double)(s1.cpu_ns - s0[g].cpu_ns);
        sent += (double)(s1.updates - s0[g].updates);
    }
    r->flip_fps = (double)atomic_load(&fl.flips) / (t1 - t0);
    r->cpu_ms = sent > 0 ? cpu / sent / 1e6 : 0;
down:
    for (unsigned g = 0; g < n; g++)
        if (c[g].cl)
            client_free(c[g].cl);
    host_down(b);
    return ret;
}

/* Flip, then wait for the first update whose first pixel is the new
 * frame's. Median of the samples, ms. */
static int bench_latency(struct bench *b, unsigned fps, double *median_ms)
{
    struct client c = {0};
    uint64_t gm[1][2];
    double lat[15];
    char err[128];
    int ret;

    ret = host_up(b, 1, 24, 64, fps);
    if (!ret)
        ret = guests_draw(b, 1, 1920, 1080, gm);
    if (!ret) {
        c.cl = client_connect(&c, vgtd_display_addr(b->disp, 1, 0));
        ret = c.cl ? 0 : -ECONNREFUSED;
    }
    if (ret)
        goto down;
    SendFramebufferUpdateRequest(c.cl, 0, 0, 1920, 1080, FALSE);
    pump(&c, 1, now_s() + 0.3);
    for (unsigned i = 0; i < VGT_ARRAY_SIZE(lat) && !ret; i++) {
        uint32_t want = dg_pattern(DRM_FORMAT_XRGB8888, 0, 0, 1 + (i + 1) % 2) & 0xffffff;
        double t0 = now_s(), t = t0;

        ret = vgpu_host_sim_guest_mmio_write(b->h, 1, PLANE_SURF(0),
                                             (uint32_t)gm[0][(i + 1) % 2], err, sizeof(err));
        while (!ret && (*(uint32_t *)c.cl->frameBuffer & 0xffffff) != want && t - t0 < 2) {
            if (WaitForMessage(c.cl, 1000) > 0) {
                if (!HandleRFBServerMessage(c.cl))
                    ret = -EIO;
                SendFramebufferUpdateRequest(c.cl, 0, 0, 1920, 1080, TRUE);
            }
            t = now_s();
        }
        lat[i] = (t - t0) * 1e3;
        usleep(50000);
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(lat); i++)
        for (size_t j = i + 1; j < VGT_ARRAY_SIZE(lat); j++)
            if (lat[j] < lat[i]) {
                double x = lat[i];

                lat[i] = lat[j];
                lat[j] = x;
            }
    *median_ms = lat[VGT_ARRAY_SIZE(lat) / 2];
down:
    if (c.cl)
        client_free(c.cl);
    host_down(b);
    return ret;
}
#endif

int vgt_bench_display(int argc, char **argv)
{
    static const struct {
        uint32_t fourcc;
        const char *name;
    } fmts[] = {{DRM_FORMAT_XRGB8888, "xrgb8888"}, {DRM_FORMAT_ARGB8888, "argb8888"},
                {DRM_FORMAT_XBGR8888, "xbgr8888"}, {DRM_FORMAT_RGB565, "rgb565"},
                {DRM_FORMAT_XRGB2101010, "xrgb2101010"}};
    static const struct {
        uint64_t mod;
        const char *name;
    } mods[] = {{DRM_FORMAT_MOD_LINEAR, "linear"}, {I915_FORMAT_MOD_X_TILED, "x"},
                {I915_FORMAT_MOD_Y_TILED, "y"}};
    struct bench b = {.secs = 3};
    unsigned guests = MAX_GUESTS;
    bool decode_only = false;
    char metric[64];
    double dms, mms, ums;
    uint64_t n;
    int ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            b.json = 1;
        else if (!strcmp(argv[i], "--decode-only"))
            decode_only = true;
        else if (!strcmp(argv[i], "--secs") && i + 1 < argc && !vgt_parse_u64(argv[i + 1], &n) &&
                 n >= 1 && n <= 60)
            b.secs = (double)n, i++;
        else if (!strcmp(argv[i], "--guests") && i + 1 < argc && !vgt_parse_u64(argv[i + 1], &n) &&
                 n >= 1 && n <= MAX_GUESTS)
            guests = (unsigned)n, i++;
        else {
            fprintf(stderr, "usage: vgt bench display [--json] [--decode-only] [--secs 1..60] [--guests 1..%u]\n",
                    MAX_GUESTS);
            return 2;
        }
    }
    /* decode: every format and tiling at 1080p, then 4K */
    ret = host_up(&b, 1, 80, 96, 0);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(fmts) && !ret; i++)
        for (size_t j = 0; j < VGT_ARRAY_SIZE(mods) && !ret; j++) {
            ret = bench_decode(&b, fmts[i].fourcc, mods[j].mod, 1920, 1080, &dms, &mms, NULL);
            if (ret)
                break;
            snprintf(metric, sizeof(metric), "decode_1080p_%s_%s", fmts[i].name, mods[j].name);
            vgt_bench_emit(stdout, b.json, &(struct vgt_bench_fig){
                "display", metric, dms, "ms/frame", mms, "memcpy of the same frame", NULL});
        }
    if (!ret && !(ret = bench_decode(&b, DRM_FORMAT_XRGB8888, I915_FORMAT_MOD_X_TILED, 1920, 1080,
                                     &dms, &mms, &ums)))
        vgt_bench_emit(stdout, b.json, &(struct vgt_bench_fig){
            "display", "decode_update_1080p_xrgb8888_x_unchanged", ums, "ms/frame", dms,
            "full decode of the same frame", NULL});
    if (!ret && !(ret = bench_decode(&b, DRM_FORMAT_XRGB8888, I915_FORMAT_MOD_X_TILED, 3840, 2160,
                                     &dms, &mms, NULL)))
        vgt_bench_emit(stdout, b.json, &(struct vgt_bench_fig){
            "display", "decode_4k_xrgb8888_x", dms, "ms/frame", mms, "memcpy of the same frame",
            "value<=33.3"});
    host_down(&b);
    if (ret) {
        fprintf(stderr, "bench display: decode: %s\n", strerror(-ret));
        return 1;
    }
    if (decode_only)
        return 0;
#ifdef VGT_HAVE_VNC
    {
        static const struct {
            const char *name;
            unsigned guests, w, h, fps;
            const char *target;
        } runs[] = {{"vnc_1080p60", 1, 1920, 1080, 60, "value>=60"},
                    {"vnc_4k30", 1, 3840, 2160, 30, "value>=30"},
                    {"vnc_1080p30_per_guest_x", 0, 1920, 1080, 30, "value>=30"}};
        struct vnc_result r = {0};
        double lat = 0;

        for (size_t i = 0; i < VGT_ARRAY_SIZE(runs) && !ret; i++) {
            unsigned ng = runs[i].guests ? runs[i].guests : guests;

            ret = bench_vnc(&b, ng, runs[i].w, runs[i].h, runs[i].fps, &r);
            if (ret)
                break;
            if (runs[i].guests)
                snprintf(metric, sizeof(metric), "%s", runs[i].name);
            else
                snprintf(metric, sizeof(metric), "vnc_1080p30_per_guest_x%u", ng);
            vgt_bench_emit(stdout, b.json, &(struct vgt_bench_fig){
                "display", metric, r.client_fps, "fps", r.flip_fps, "the guests' flip rate",
                runs[i].target});
            snprintf(metric, sizeof(metric), "%s_cpu", runs[i].guests ? runs[i].name : "vnc_1080p30_multi");
            vgt_bench_emit(stdout, b.json, &(struct vgt_bench_fig){
                "display", metric, r.cpu_ms, "ms/frame", 1000.0 / runs[i].fps,
                "one frame period at the cap", NULL});
        }
        if (!ret && !(ret = bench_latency(&b, 60, &lat)))
            vgt_bench_emit(stdout, b.json, &(struct vgt_bench_fig){
                "display", "flip_to_update_1080p60", lat, "ms", 1000.0 / 60,
                "one frame at 60 fps", "ratio<=1"});
        if (ret) {
            fprintf(stderr, "bench display: VNC: %s\n", strerror(-ret));
            return 1;
        }
    }
#else
    (void)guests;
    fprintf(stderr, "bench display: built without libvncserver: VNC figures skipped\n");
#endif
    return 0;
}

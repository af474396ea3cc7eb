/* vgt demo --display: guests' screens on the host. N simulated guests
 * (default 2) each modeset their head to the monitor's preferred mode,
 * draw an animated pattern in another format and tiling, flip and move
 * their cursor, with the guest driver's display half (sim_gg_display.h);
 * the host decodes them through each vGPU's GGTT.
 *
 *   vgt demo --display [--guests N] [--out DIR]      screenshots DIR/domN.png
 *   vgt demo --display --vnc-unix-dir DIR [--seconds S]
 *   vgt demo --display --vnc-listen ADDR --vnc-password-file F [--vnc-port P]
 *
 * With a VNC option the screens are served (and animated at 30 fps) for
 * S seconds, or until Ctrl-C. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "display_guest.h"
#include "vgpu_host.h"
#include "vgt/display_host.h"
#include "vgt/sim_gg_display.h"
#include "vgt/util.h"
#include "vgt_cmds.h"
#include "vgtd_display.h"

#define MIB (1ull << 20)
#define DEMO_MAX 8

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Each guest's look: format and tiling of its framebuffers. */
static const struct {
    enum gg_fmt fmt;
    enum gg_tiling tiling;
} looks[] = {
    {GG_FMT_XRGB8888, GG_TILING_X}, {GG_FMT_RGB565, GG_TILING_Y},
    {GG_FMT_XBGR8888, GG_TILING_LINEAR}, {GG_FMT_XRGB2101010, GG_TILING_X},
};

struct demo_guest {
    struct gg_display *dp;
    uint32_t w, h;
    uint32_t *img; /* w x h ARGB, the next frame */
    uint32_t cursor[64 * 64];
};

/* The guest's compositor: modeset head 0 to its monitor's preferred mode
 * (the type's resolution, from the EDID) on first use; then each frame
 * drawn into the back buffer, flipped, the cursor moved. */
static int draw(struct vgpu_host *h, struct demo_guest *gs, unsigned n, unsigned frame)
{
    char err[256];

    for (unsigned g = 0; g < n; g++) {
        struct demo_guest *dg = &gs[g];
        unsigned seed = frame + g * 31;
        int ret = 0;

        if (!dg->dp) {
            struct gg *drv = vgpu_host_sim_driver(h, (uint16_t)(g + 1), err, sizeof(err));
            struct gg_mode_info mi;

            if (!drv) {
                fprintf(stderr, "vgt demo --display: %s\n", err);
                return -EIO;
            }
            ret = gg_display_init(drv, &dg->dp);
            if (!ret)
                ret = gg_display_modeset(dg->dp, 0, 0, 0, looks[g % VGT_ARRAY_SIZE(looks)].fmt,
                                         looks[g % VGT_ARRAY_SIZE(looks)].tiling);
            if (!ret)
                ret = gg_display_mode(dg->dp, 0, &mi);
            if (!ret) {
                dg->w = mi.w;
                dg->h = mi.h;
                dg->img = malloc((size_t)mi.w * mi.h * 4);
                ret = dg->img ? 0 : -ENOMEM;
            }
        }
        for (unsigned y = 0; y < dg->h && !ret; y++)
            for (unsigned x = 0; x < dg->w; x++)
                dg->img[(size_t)y * dg->w + x] =
                    0xff000000u | (dg_pattern(DRM_FORMAT_XRGB8888, x, y, seed) & 0xffffffu);
        for (unsigned y = 0; y < 64; y++)
            for (unsigned x = 0; x < 64; x++)
                dg->cursor[y * 64 + x] = dg_cursor_pattern(x, y, seed);
        if (!ret)
            ret = gg_display_draw(dg->dp, 0, true, 0, 0, dg->w, dg->h, dg->img, dg->w);
        if (!ret)
            ret = gg_display_flip(dg->dp, 0, 1000);
        if (!ret)
            ret = gg_display_cursor(dg->dp, 0, true, (int32_t)((frame * 7) % (dg->w - 64)),
                                    (int32_t)((frame * 3) % (dg->h - 64)), dg->cursor);
        if (ret) {
            fprintf(stderr, "vgt demo --display: dom%u's display: %s\n", g + 1, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static void guests_fini(struct demo_guest *gs, unsigned n)
{
    for (unsigned g = 0; g < n; g++) {
        gg_display_fini(gs[g].dp);
        free(gs[g].img);
    }
}

int vgt_demo_display(int argc, char **argv)
{
    struct vgtd_display_cfg dc = {.sim = true, .vnc_fps = 30};
    struct vgpu_host_cfg hc = {.sim = true};
    const char *out = ".";
    unsigned n = 2, secs = 0;
    struct vgtd_display *disp = NULL;
    struct vgpu_host *h = NULL;
    struct demo_guest gs[DEMO_MAX] = {0};
    struct vgt_log log;
    char err[256];
    uint64_t v;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--display") || !strcmp(a, "demo"))
            continue;
        if (!val)
            goto usage;
        i++;
        if (!strcmp(a, "--guests") && !vgt_parse_u64(val, &v) && v >= 1 && v <= DEMO_MAX)
            n = (unsigned)v;
        else if (!strcmp(a, "--out"))
            out = val;
        else if (!strcmp(a, "--seconds") && !vgt_parse_u64(val, &v) && v >= 1 && v <= 86400)
            secs = (unsigned)v;
        else if (!strcmp(a, "--vnc-unix-dir"))
            dc.vnc_unix_dir = val;
        else if (!strcmp(a, "--vnc-listen"))
            dc.vnc_listen = val;
        else if (!strcmp(a, "--vnc-password-file"))
            dc.vnc_password = val;
        else if (!strcmp(a, "--vnc-port") && !vgt_parse_u64(val, &v) && v >= 1 && v <= 65000)
            dc.vnc_port = (unsigned)v;
        else
            goto usage;
    }
    vgt_log_init(&log, "vgt demo", VGT_LOG_WARN);
    dc.log = &log;
    hc.log = &log;
    if (vgtd_display_create(&dc, &disp))
        return 1;
    hc.dom_gone = vgtd_display_dom_gone;
    hc.dom_gone_opaque = disp;
    if (vgpu_host_create(&hc, &h))
        goto destroy_display;
    vgtd_display_set_host(disp, h);
    for (unsigned g = 0; g < n; g++) {
        struct vgpu_add_req req = {.domid = (uint16_t)(g + 1), .type = "V5_8", .sim_ram = 64 * MIB};

        if (vgpu_host_add(h, &req, err, sizeof(err)) ||
            vgtd_display_dom_added(disp, req.domid, err, sizeof(err))) {
            fprintf(stderr, "vgt demo --display: %s\n", err);
            goto destroy_host;
        }
    }
    if (draw(h, gs, n, 0))
        goto destroy_host;
    if (!dc.vnc_unix_dir && !dc.vnc_listen) {
        /* screenshots through the same decode vgtd uses */
        for (unsigned g = 0; g < n; g++) {
            struct vgt_display_frame f = {0};
            struct vgt_display_head hi;
            struct vgt_display_src src;
            struct vgt_display *d;
            char path[512];
            int ret;

            vgt_display_src_vgpu(vgpu_host_vgpu(h, (uint16_t)(g + 1)), &src);
            if (vgt_display_create(&src, &d))
                goto destroy_host;
            snprintf(path, sizeof(path), "%s/dom%u.png", out, g + 1);
            ret = vgt_display_capture(d, 0, &f, &hi);
            if (!ret)
                ret = vgt_display_png_write(&f, path);
            vgt_display_destroy(d);
            vgt_display_frame_fini(&f);
            if (ret) {
                fprintf(stderr, "vgt demo --display: dom%u: %s\n", g + 1, strerror(-ret));
                goto destroy_host;
            }
            printf("dom%u head 0: %ux%u %s %s, cursor %s -> %s\n", g + 1, hi.w, hi.h,
                   vgt_display_format_name(hi.plane.fourcc),
                   vgt_display_modifier_name(hi.plane.modifier),
                   vgt_display_refusal_name(hi.cursor.refusal), path);
        }
        rc = 0;
        goto destroy_host;
    }
    for (unsigned g = 0; g < n; g++)
        printf("dom%u head 0: VNC %s\n", g + 1, vgtd_display_addr(disp, (uint16_t)(g + 1), 0));
    printf("serving %s; Ctrl-C stops\n", secs ? "for the given seconds" : "until stopped");
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    {
        struct timespec ts = {0, 33 * 1000 * 1000};
        unsigned frames = secs * 30;

        for (unsigned f = 1; !stop && (!secs || f < frames); f++) {
            if (draw(h, gs, n, f))
                goto destroy_host;
            nanosleep(&ts, NULL);
        }
    }
    rc = 0;
destroy_host:
    guests_fini(gs, n);
    vgpu_host_destroy(h);
destroy_display:
    vgtd_display_destroy(disp);
    return rc;
usage:
    fprintf(stderr, "usage: vgt demo --display [--guests 1..%u] [--out DIR] [--seconds S]\n"
                    "          [--vnc-unix-dir DIR | --vnc-listen ADDR --vnc-password-file F "
                    "[--vnc-port P]]\n", DEMO_MAX);
    return 2;
}

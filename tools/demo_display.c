/* vgt demo --display: guests' screens on the host. N simulated guests
 * (default 2) each draw an animated pattern in another format and tiling
 * with a moving cursor, through their own driver and MMIO; the host
 * decodes them through each vGPU's GGTT.
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

static const struct {
    uint32_t fourcc;
    uint64_t mod;
} looks[] = {
    {DRM_FORMAT_XRGB8888, I915_FORMAT_MOD_X_TILED}, {DRM_FORMAT_RGB565, I915_FORMAT_MOD_Y_TILED},
    {DRM_FORMAT_XBGR8888, DRM_FORMAT_MOD_LINEAR},   {DRM_FORMAT_XRGB2101010, I915_FORMAT_MOD_X_TILED},
};

static int draw(struct vgpu_host *h, unsigned n, unsigned frame)
{
    char err[256];

    for (unsigned g = 0; g < n; g++) {
        struct dg_fb fb = {.fourcc = looks[g % VGT_ARRAY_SIZE(looks)].fourcc,
                           .modifier = looks[g % VGT_ARRAY_SIZE(looks)].mod,
                           .w = 640, .h = 400, .seed = frame + g * 31};
        int cx = (int)((frame * 7) % 600), cy = (int)((frame * 3) % 360);

        if (vgpu_host_sim_guest_show(h, (uint16_t)(g + 1), 0, &fb, true, cx, cy,
                                     false, err, sizeof(err))) {
            fprintf(stderr, "vgt demo --display: %s\n", err);
            return -EIO;
        }
    }
    return 0;
}

int vgt_demo_display(int argc, char **argv)
{
    struct vgtd_display_cfg dc = {.sim = true, .vnc_fps = 30};
    struct vgpu_host_cfg hc = {.sim = true};
    const char *out = ".";
    unsigned n = 2, secs = 0;
    struct vgtd_display *disp = NULL;
    struct vgpu_host *h = NULL;
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
    if (draw(h, n, 0))
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
            if (draw(h, n, f))
                goto destroy_host;
            nanosleep(&ts, NULL);
        }
    }
    rc = 0;
destroy_host:
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

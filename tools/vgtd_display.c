/* vgtd's display side (vgtd_display.h, docs/display.md). */
#include "vgtd_display.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

#include "display_guest.h"
#include "vgpu_host.h"
#include "vgt/display.h"
#include "vgt/util.h"

struct vgtd_display {
    struct vgtd_display_cfg cfg;
    struct vgpu_host *host;
};

int vgtd_display_create(const struct vgtd_display_cfg *cfg, struct vgtd_display **out)
{
    struct vgtd_display *d = calloc(1, sizeof(*d));

    if (!d)
        return -ENOMEM;
    d->cfg = *cfg;
    *out = d;
    return 0;
}

void vgtd_display_set_host(struct vgtd_display *d, struct vgpu_host *h)
{
    d->host = h;
}

void vgtd_display_destroy(struct vgtd_display *d)
{
    free(d);
}

void vgtd_display_dom_gone(void *opaque, uint16_t domid)
{
    (void)opaque;
    (void)domid;
}

int vgtd_display_dom_added(struct vgtd_display *d, uint16_t domid, char *err, size_t errlen)
{
    (void)d;
    (void)domid;
    (void)err;
    (void)errlen;
    return 0;
}

void vgtd_display_list_json(struct vgtd_display *d, uint16_t domid, FILE *o)
{
    (void)d;
    (void)domid;
    (void)o;
}

/* ---- answers ---- */

static void answer_err(FILE *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer_err(FILE *o, const char *fmt, ...)
{
    char msg[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fputs("{\"ok\":false,\"error\":\"", o);
    for (const char *p = msg; *p; p++)
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if ((unsigned char)*p >= 0x20)
            fputc(*p, o);
    fputs("\"}\n", o);
}

static int get_head(const struct vgt_ctl_msg *m, unsigned *head, FILE *o)
{
    uint64_t n = 0;

    if (vgt_ctl_get(m, "head") && (vgt_ctl_num(m, "head", &n) || n >= VGT_DISPLAY_MAX_HEADS)) {
        answer_err(o, "bad request: \"head\" must be 0..%u", VGT_DISPLAY_MAX_HEADS - 1);
        return -EINVAL;
    }
    *head = (unsigned)n;
    return 0;
}

static void plane_json(FILE *o, const char *key, const struct vgt_display_plane *p)
{
    fprintf(o, ",\"%s\":\"%s\"", key, vgt_display_refusal_name(p->refusal));
    if (p->refusal == VGT_DISP_OK)
        fprintf(o, ",\"%s_format\":\"%s\",\"%s_modifier\":\"%s\"", key,
                vgt_display_format_name(p->fourcc), key, vgt_display_modifier_name(p->modifier));
}

/* {"cmd":"screenshot","domid":N,"head":H,"out":"/abs/file.png"}: vgtd
 * (root) writes the PNG; the answer says what was on the head. */
static void screenshot(struct vgtd_display *d, const struct vgt_ctl_msg *m, uint16_t domid, FILE *o)
{
    struct vgt_vgpu *v = vgpu_host_vgpu(d->host, domid);
    const char *out = vgt_ctl_str(m, "out");
    struct vgt_display_frame f = {0};
    struct vgt_display_head hi;
    struct vgt_display_src src;
    struct vgt_display *disp;
    unsigned head;
    int ret;

    if (get_head(m, &head, o))
        return;
    if (!out || out[0] != '/') {
        answer_err(o, "bad request: \"out\" must be an absolute path for the PNG");
        return;
    }
    if (!v) {
        answer_err(o, "domain %u has no vGPU", domid);
        return;
    }
    vgt_display_src_vgpu(v, &src);
    ret = vgt_display_create(&src, &disp);
    if (ret) {
        answer_err(o, "out of memory");
        return;
    }
    ret = vgt_display_capture(disp, head, &f, &hi);
    if (ret == -ENODEV)
        answer_err(o, "domain %u: head %u is off (pipe and plane 1 disabled)", domid, head);
    else if (ret == -EINVAL)
        answer_err(o, "domain %u: head %u has no usable mode (pipe size 0 or past %ux%u)", domid,
                   head, VGT_DISPLAY_MAX_W, VGT_DISPLAY_MAX_H);
    else if (ret)
        answer_err(o, "domain %u: head %u: %s", domid, head, strerror(-ret));
    else if ((ret = vgt_display_png_write(&f, out)))
        answer_err(o, "writing %s: %s", out, strerror(-ret));
    else {
        fprintf(o, "{\"ok\":true,\"domid\":%u,\"head\":%u,\"width\":%u,\"height\":%u", domid, head,
                hi.w, hi.h);
        plane_json(o, "plane", &hi.plane);
        plane_json(o, "cursor", &hi.cursor);
        fprintf(o, ",\"out\":\"%s\"}\n", out);
    }
    vgt_display_frame_fini(&f);
    vgt_display_destroy(disp);
}

/* ---- the simulated guest's side ---- */

static const struct {
    const char *name;
    uint32_t fourcc;
} fmt_names[] = {
    {"XRGB8888", DRM_FORMAT_XRGB8888}, {"ARGB8888", DRM_FORMAT_ARGB8888},
    {"XBGR8888", DRM_FORMAT_XBGR8888}, {"RGB565", DRM_FORMAT_RGB565},
    {"XRGB2101010", DRM_FORMAT_XRGB2101010},
};
static const struct {
    const char *name;
    uint64_t mod;
} mod_names[] = {
    {"linear", DRM_FORMAT_MOD_LINEAR}, {"X", I915_FORMAT_MOD_X_TILED}, {"Y", I915_FORMAT_MOD_Y_TILED},
};

/* {"cmd":"guest-show","domid":N,"head":H,"format":"XRGB8888","tiling":
 * "linear|X|Y","width":W,"height":H,"seed":S,"cursor_x":X,"cursor_y":Y,
 * "flip":true}: the guest draws the pattern and flips to it. */
static void guest_show(struct vgtd_display *d, const struct vgt_ctl_msg *m, uint16_t domid, FILE *o)
{
    const char *fmt = vgt_ctl_str(m, "format"), *til = vgt_ctl_str(m, "tiling");
    struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = DRM_FORMAT_MOD_LINEAR,
                       .w = 640, .h = 480, .alpha = VGT_PLANE_CTL_ALPHA_SW_PREMULTIPLY};
    const struct vgt_ctl_field *flip = vgt_ctl_get(m, "flip");
    uint64_t n, cx = 0, cy = 0;
    bool cursor = vgt_ctl_get(m, "cursor_x") || vgt_ctl_get(m, "cursor_y");
    unsigned head;
    char err[256];
    size_t i;

    if (get_head(m, &head, o))
        return;
    if (fmt) {
        for (i = 0; i < VGT_ARRAY_SIZE(fmt_names) && strcmp(fmt, fmt_names[i].name); i++)
            ;
        if (i == VGT_ARRAY_SIZE(fmt_names)) {
            answer_err(o, "unknown format '%s' (XRGB8888, ARGB8888, XBGR8888, RGB565, XRGB2101010)", fmt);
            return;
        }
        fb.fourcc = fmt_names[i].fourcc;
    }
    if (til) {
        for (i = 0; i < VGT_ARRAY_SIZE(mod_names) && strcmp(til, mod_names[i].name); i++)
            ;
        if (i == VGT_ARRAY_SIZE(mod_names)) {
            answer_err(o, "unknown tiling '%s' (linear, X, Y)", til);
            return;
        }
        fb.modifier = mod_names[i].mod;
    }
    if (!vgt_ctl_num(m, "width", &n))
        fb.w = n >= 1 && n <= VGT_DISPLAY_MAX_W ? (unsigned)n : 0;
    if (!vgt_ctl_num(m, "height", &n))
        fb.h = n >= 1 && n <= VGT_DISPLAY_MAX_H ? (unsigned)n : 0;
    if (!fb.w || !fb.h) {
        answer_err(o, "\"width\" and \"height\" must be 1..%u and 1..%u", VGT_DISPLAY_MAX_W,
                   VGT_DISPLAY_MAX_H);
        return;
    }
    if (!vgt_ctl_num(m, "seed", &n))
        fb.seed = (unsigned)n;
    if (vgt_ctl_num(m, "cursor_x", &cx) == -EINVAL || vgt_ctl_num(m, "cursor_y", &cy) == -EINVAL ||
        cx > VGT_DISPLAY_MAX_W || cy > VGT_DISPLAY_MAX_H) {
        answer_err(o, "\"cursor_x\"/\"cursor_y\" must be on the screen");
        return;
    }
    if (vgpu_host_sim_guest_show(d->host, domid, head, &fb, cursor, (int)cx, (int)cy,
                                 flip && flip->num, err, sizeof(err))) {
        answer_err(o, "%s", err);
        return;
    }
    fprintf(o, "{\"ok\":true}\n");
}

/* {"cmd":"guest-mmio","domid":N,"off":OFF,"val":V}: the guest writes one
 * of its vGPU registers (hostile-plane tests). */
static void guest_mmio(struct vgtd_display *d, const struct vgt_ctl_msg *m, uint16_t domid, FILE *o)
{
    uint64_t off, val;
    char err[256];

    if (vgt_ctl_num(m, "off", &off) || vgt_ctl_num(m, "val", &val) || off >= (16u << 20) ||
        (off & 3) || val > UINT32_MAX) {
        answer_err(o, "\"off\" (a dword-aligned BAR0 offset) and \"val\" (32 bits) are required");
        return;
    }
    if (vgpu_host_sim_guest_mmio_write(d->host, domid, (uint32_t)off, (uint32_t)val, err,
                                       sizeof(err))) {
        answer_err(o, "%s", err);
        return;
    }
    fprintf(o, "{\"ok\":true}\n");
}

bool vgtd_display_handle(struct vgtd_display *d, const char *cmd, const struct vgt_ctl_msg *m,
                         uint16_t domid, FILE *o)
{
    if (!strcmp(cmd, "screenshot"))
        screenshot(d, m, domid, o);
    else if (!strcmp(cmd, "guest-show") && d->cfg.sim)
        guest_show(d, m, domid, o);
    else if (!strcmp(cmd, "guest-mmio") && d->cfg.sim)
        guest_mmio(d, m, domid, o);
    else
        return false;
    return true;
}

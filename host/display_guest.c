/* The simulated guest's display side (display_guest.h). */
#include "display_guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drm_fourcc.h>

#include <xen/io/kbdif.h>

#include "vgt/display_host.h"
#include "vgt/sim_gpu_guest.h"
#include "vgt/util.h"

uint32_t dg_pattern(uint32_t fourcc, unsigned x, unsigned y, unsigned seed)
{
    uint32_t r = (x * 5 + y + seed * 17) & 0xff, g = (y * 3 + (x >> 2) + seed) & 0xff;
    uint32_t b = (x ^ (y * 7) ^ seed) & 0xff, a = (x + y * 11 + seed) & 0xff;

    switch (fourcc) {
    case DRM_FORMAT_XRGB8888:
        return 0xa5000000u | r << 16 | g << 8 | b; /* X bits must be ignored */
    case DRM_FORMAT_ARGB8888:
        return a << 24 | r << 16 | g << 8 | b;
    case DRM_FORMAT_XBGR8888:
        return 0x5a000000u | b << 16 | g << 8 | r;
    case DRM_FORMAT_RGB565:
        return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
    case DRM_FORMAT_XRGB2101010: {
        /* 10-bit channels with low bits that scan-out drops */
        uint32_t r10 = r << 2 | (x & 3), g10 = g << 2 | (y & 3), b10 = b << 2 | (seed & 3);

        return 2u << 30 | r10 << 20 | g10 << 10 | b10;
    }
    default:
        return 0;
    }
}

uint32_t dg_cursor_pattern(unsigned x, unsigned y, unsigned seed)
{
    uint32_t a = ((x * 4) ^ (y * 4) ^ seed) & 0xff;

    /* premultiplied: no channel above alpha */
    return a << 24 | ((x * 3) % (a + 1)) << 16 | ((y * 5) % (a + 1)) << 8 | ((x + y) % (a + 1));
}

unsigned dg_cpp(uint32_t fourcc)
{
    return fourcc == DRM_FORMAT_RGB565 ? 2 : 4;
}

static unsigned tile_w(uint64_t mod)
{
    return mod == I915_FORMAT_MOD_X_TILED ? 512 : mod == I915_FORMAT_MOD_Y_TILED ? 128 : 0;
}

static unsigned tile_h(uint64_t mod)
{
    return mod == I915_FORMAT_MOD_X_TILED ? 8 : mod == I915_FORMAT_MOD_Y_TILED ? 32 : 1;
}

uint32_t dg_pitch(const struct dg_fb *fb)
{
    unsigned unit = tile_w(fb->modifier) ? tile_w(fb->modifier) : 64;
    uint32_t row = fb->w * dg_cpp(fb->fourcc);

    return (row + unit - 1) / unit * unit;
}

size_t dg_fb_bytes(const struct dg_fb *fb)
{
    unsigned th = tile_h(fb->modifier);

    return (size_t)dg_pitch(fb) * ((fb->h + th - 1) / th * th);
}

/* Where byte @xb of row @y lives (PRM "Tiling": X tiles are 8 rows of
 * 512 B; Y tiles 8 columns of 16 B x 32 rows; 4 KiB each, row-major). */
static size_t fb_addr(const struct dg_fb *fb, uint32_t pitch, unsigned xb, unsigned y)
{
    switch (fb->modifier) {
    case I915_FORMAT_MOD_X_TILED:
        return (size_t)(y / 8) * pitch * 8 + (size_t)(xb / 512) * 4096 + (y % 8) * 512 + xb % 512;
    case I915_FORMAT_MOD_Y_TILED:
        return (size_t)(y / 32) * pitch * 32 + (size_t)(xb / 128) * 4096 +
               ((xb % 128) / 16) * 512 + (y % 32) * 16 + xb % 16;
    default:
        return (size_t)y * pitch + xb;
    }
}

void dg_fb_render(const struct dg_fb *fb, uint8_t *buf)
{
    uint32_t pitch = dg_pitch(fb);
    unsigned cpp = dg_cpp(fb->fourcc);

    memset(buf, 0, dg_fb_bytes(fb));
    for (unsigned y = 0; y < fb->h; y++)
        for (unsigned x = 0; x < fb->w; x++) {
            uint32_t v = dg_pattern(fb->fourcc, x, y, fb->seed);

            memcpy(buf + fb_addr(fb, pitch, x * cpp, y), &v, cpp);
        }
}

uint32_t dg_plane_ctl(const struct dg_fb *fb)
{
    uint32_t ctl = VGT_PLANE_CTL_ENABLE;

    switch (fb->fourcc) {
    case DRM_FORMAT_XRGB8888:
        ctl |= VGT_PLANE_CTL_FORMAT_XRGB_8888 << VGT_PLANE_CTL_FORMAT_SHIFT;
        break;
    case DRM_FORMAT_ARGB8888:
        ctl |= VGT_PLANE_CTL_FORMAT_XRGB_8888 << VGT_PLANE_CTL_FORMAT_SHIFT |
               fb->alpha << VGT_PLANE_CTL_ALPHA_SHIFT;
        break;
    case DRM_FORMAT_XBGR8888:
        ctl |= VGT_PLANE_CTL_FORMAT_XRGB_8888 << VGT_PLANE_CTL_FORMAT_SHIFT |
               VGT_PLANE_CTL_ORDER_RGBX;
        break;
    case DRM_FORMAT_RGB565:
        ctl |= VGT_PLANE_CTL_FORMAT_RGB_565 << VGT_PLANE_CTL_FORMAT_SHIFT;
        break;
    case DRM_FORMAT_XRGB2101010:
        ctl |= VGT_PLANE_CTL_FORMAT_XRGB_2101010 << VGT_PLANE_CTL_FORMAT_SHIFT;
        break;
    default:
        return 0;
    }
    if (fb->modifier == I915_FORMAT_MOD_X_TILED)
        ctl |= VGT_PLANE_CTL_TILED_X << VGT_PLANE_CTL_TILED_SHIFT;
    else if (fb->modifier == I915_FORMAT_MOD_Y_TILED)
        ctl |= VGT_PLANE_CTL_TILED_Y << VGT_PLANE_CTL_TILED_SHIFT;
    else if (fb->modifier != DRM_FORMAT_MOD_LINEAR)
        return 0;
    return ctl;
}

uint32_t dg_plane_stride(const struct dg_fb *fb)
{
    unsigned unit = tile_w(fb->modifier) ? tile_w(fb->modifier) : 64;

    return dg_pitch(fb) / unit;
}

void dg_init(struct dg *s, struct gg *drv)
{
    memset(s, 0, sizeof(*s));
    s->drv = drv;
}

void dg_fini(struct dg *s)
{
    free(s->scratch);
    memset(s, 0, sizeof(*s));
}

static int buf_get(struct dg *s, struct dg_buf *b, size_t size)
{
    struct gg_bo bo;
    int ret;

    if (b->size >= size)
        return 0;
    ret = gg_bo_create(s->drv, size, true, true, false, &bo);
    if (ret)
        return ret;
    *b = (struct dg_buf){.gpa = bo.gpa, .gm = bo.gm, .size = bo.size};
    return 0;
}

static int buf_write(struct dg *s, const struct dg_buf *b, const void *src, size_t len)
{
    struct gg_bo bo = {.gpa = b->gpa, .gm = b->gm, .size = b->size};

    return gg_bo_write(s->drv, &bo, 0, src, len);
}

static int scratch_get(struct dg *s, size_t len)
{
    if (len > s->scratch_size) {
        uint8_t *p = realloc(s->scratch, len);

        if (!p)
            return -ENOMEM;
        s->scratch = p;
        s->scratch_size = len;
    }
    return 0;
}

static int wr(struct dg *s, unsigned pipe, uint32_t off_a, uint32_t val)
{
    return gg_mmio_write32(s->drv, off_a + pipe * VGT_PIPE_STRIDE, val);
}

/* Wait for an armed address to be live (the flip latched at vblank), as
 * i915 waits for flip-done: reading the live register brings the vGPU's
 * display up to its clock. */
static int wait_live(struct dg *s, unsigned pipe, uint32_t live_a, uint32_t want)
{
    struct timespec ts = {0, 500 * 1000};
    uint32_t v = 0;

    for (unsigned i = 0; i < 400; i++) {
        int ret = gg_mmio_read32(s->drv, live_a + pipe * VGT_PIPE_STRIDE, &v);

        if (ret || v == want)
            return ret;
        nanosleep(&ts, NULL);
    }
    return -ETIMEDOUT;
}

/* Render @fb into buffer @b (allocated on first use). */
static int render_into(struct dg *s, struct dg_buf *b, unsigned pipe, const struct dg_fb *fb)
{
    size_t len = dg_fb_bytes(fb);
    int ret;

    if (pipe >= DG_MAX_PIPES || !dg_plane_ctl(fb) || !fb->w || !fb->h)
        return -EINVAL;
    ret = buf_get(s, b, len);
    if (!ret)
        ret = scratch_get(s, len);
    if (ret)
        return ret;
    dg_fb_render(fb, s->scratch);
    return buf_write(s, b, s->scratch, len);
}

int dg_redraw(struct dg *s, unsigned pipe, const struct dg_fb *fb)
{
    int ret = render_into(s, &s->fb[pipe % DG_MAX_PIPES], pipe, fb);

    if (!ret)
        ret = wr(s, pipe, PLANE_SURF(0), (uint32_t)s->fb[pipe].gm);
    if (!ret)
        ret = wait_live(s, pipe, PLANE_SURFLIVE(0), (uint32_t)s->fb[pipe].gm);
    return ret;
}

int dg_render_back(struct dg *s, unsigned pipe, const struct dg_fb *fb, uint64_t *gm)
{
    int ret = render_into(s, &s->back[pipe % DG_MAX_PIPES], pipe, fb);

    if (!ret)
        *gm = s->back[pipe].gm;
    return ret;
}

int dg_show(struct dg *s, unsigned pipe, const struct dg_fb *fb, bool cursor, int cx, int cy)
{
    int ret;

    if (pipe >= DG_MAX_PIPES || !dg_plane_ctl(fb) || !fb->w || !fb->h)
        return -EINVAL;
    if (cursor) {
        uint32_t px[64 * 64], pos;

        ret = buf_get(s, &s->cur[pipe], sizeof(px));
        if (ret)
            return ret;
        for (unsigned y = 0; y < 64; y++)
            for (unsigned x = 0; x < 64; x++)
                px[y * 64 + x] = dg_cursor_pattern(x, y, fb->seed);
        ret = buf_write(s, &s->cur[pipe], px, sizeof(px));
        if (ret)
            return ret;
        pos = (cx < 0 ? CURSOR_POS_X_SIGN | (uint32_t)-cx : (uint32_t)cx) |
              (cy < 0 ? CURSOR_POS_Y_SIGN | (uint32_t)-cy << 16 : (uint32_t)cy << 16);
        ret = wr(s, pipe, CUR_POS(0), pos);
        if (!ret)
            ret = wr(s, pipe, CUR_CTL(0), MCURSOR_MODE_64_ARGB_AX);
        if (!ret)
            ret = wr(s, pipe, CUR_BASE(0), (uint32_t)s->cur[pipe].gm);
        if (!ret)
            ret = wait_live(s, pipe, CUR_SURFLIVE(0), (uint32_t)s->cur[pipe].gm);
    } else {
        ret = wr(s, pipe, CUR_CTL(0), 0);
    }
    if (!ret)
        ret = wr(s, pipe, PIPESRC(0), (fb->w - 1) << 16 | (fb->h - 1));
    if (!ret)
        ret = wr(s, pipe, PIPECONF(0), PIPECONF_ENABLE);
    if (!ret)
        ret = wr(s, pipe, PLANE_POS(0), 0);
    if (!ret)
        ret = wr(s, pipe, PLANE_OFFSET(0), 0);
    if (!ret)
        ret = wr(s, pipe, PLANE_SIZE(0), (fb->h - 1) << 16 | (fb->w - 1));
    if (!ret)
        ret = wr(s, pipe, PLANE_STRIDE(0), dg_plane_stride(fb));
    if (!ret)
        ret = wr(s, pipe, PLANE_CTL(0), dg_plane_ctl(fb));
    if (!ret)
        ret = dg_redraw(s, pipe, fb);
    return ret;
}

int dg_kbd_connect(struct dg *s, uint64_t *gfn)
{
    static const uint8_t zero[4096];
    struct gg_bo bo;
    int ret;

    if (!s->kbd.size) {
        ret = gg_bo_create(s->drv, sizeof(zero), false, false, false, &bo);
        if (ret)
            return ret;
        s->kbd = (struct dg_buf){.gpa = bo.gpa, .size = bo.size};
    }
    ret = buf_write(s, &s->kbd, zero, sizeof(zero));
    if (!ret)
        *gfn = s->kbd.gpa >> 12;
    return ret;
}

int dg_kbd_read(struct dg *s, void *ev, unsigned max, unsigned *n)
{
    struct gg_bo bo = {.gpa = s->kbd.gpa, .size = s->kbd.size};
    struct xenkbd_page pg;
    uint32_t cons;
    int ret;

    *n = 0;
    if (!s->kbd.size)
        return -ENOTCONN;
    ret = gg_bo_read(s->drv, &bo, 0, &pg, sizeof(pg));
    if (ret)
        return ret;
    /* xen-kbdfront: events [in_cons, in_prod) */
    for (cons = pg.in_cons; cons != pg.in_prod && *n < max; cons++, (*n)++) {
        size_t off = XENKBD_IN_RING_OFFS + (cons % XENKBD_IN_RING_LEN) * XENKBD_IN_EVENT_SIZE;

        ret = gg_bo_read(s->drv, &bo, off, (uint8_t *)ev + (size_t)*n * XENKBD_IN_EVENT_SIZE,
                         XENKBD_IN_EVENT_SIZE);
        if (ret)
            return ret;
    }
    return gg_bo_write(s->drv, &bo, offsetof(struct xenkbd_page, in_cons), &cons, sizeof(cons));
}

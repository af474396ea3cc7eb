/* Plane decode: registers to a checked description, surface bands to the
 * host frame, the cursor on top (see vgt/display_host.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>
#include <xxhash.h>

#include "vgt/display_host.h"
#include "vgt/util.h"

static const char *const refusal_names[VGT_DISP_NR_REFUSALS] = {
    [VGT_DISP_OK] = "shown",
    [VGT_DISP_OFF] = "disabled",
    [VGT_DISP_FORMAT] = "unsupported pixel format",
    [VGT_DISP_TILING] = "unsupported tiling",
    [VGT_DISP_ROTATION] = "unsupported rotation (only 0)",
    [VGT_DISP_ALPHA] = "reserved alpha mode",
    [VGT_DISP_SIZE] = "size past the maximum",
    [VGT_DISP_STRIDE_LARGE] = "stride past the maximum",
    [VGT_DISP_STRIDE_SMALL] = "stride smaller than the visible row",
    [VGT_DISP_OUTSIDE] = "surface outside the vGPU's graphics memory",
    [VGT_DISP_UNMAPPED] = "surface page not mapped to guest RAM",
    [VGT_DISP_CURSOR_MODE] = "unsupported cursor mode (only ARGB 64/128/256)",
};

const char *vgt_display_refusal_name(enum vgt_display_refusal r)
{
    return (unsigned)r < VGT_DISP_NR_REFUSALS ? refusal_names[r] : "unknown";
}

/* ---- pixel formats: PLANE_CTL format and order to fourcc and converter ---- */

typedef void conv_fn(const uint8_t *src, uint32_t *dst, unsigned n, unsigned alpha);

static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* The plane multiplies colour by alpha (HW premultiply); otherwise the
 * colour is shown as stored over the black pipe background. */
static inline uint32_t mul_alpha(uint32_t rgb, unsigned a)
{
    uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;

    r = (r * a + 127) / 255;
    g = (g * a + 127) / 255;
    b = (b * a + 127) / 255;
    return r << 16 | g << 8 | b;
}

static void conv_xrgb8888(const uint8_t *s, uint32_t *d, unsigned n, unsigned alpha)
{
    if (alpha != VGT_PLANE_CTL_ALPHA_HW_PREMULTIPLY) {
        for (unsigned i = 0; i < n; i++)
            d[i] = ld32(s + 4 * i) & 0xffffffu;
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = ld32(s + 4 * i);

        d[i] = mul_alpha(v & 0xffffffu, v >> 24);
    }
}

static void conv_xbgr8888(const uint8_t *s, uint32_t *d, unsigned n, unsigned alpha)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = ld32(s + 4 * i);
        uint32_t rgb = (v & 0xffu) << 16 | (v & 0xff00u) | ((v >> 16) & 0xffu);

        d[i] = alpha == VGT_PLANE_CTL_ALPHA_HW_PREMULTIPLY ? mul_alpha(rgb, v >> 24) : rgb;
    }
}

static void conv_rgb565(const uint8_t *s, uint32_t *d, unsigned n, unsigned alpha)
{
    (void)alpha;
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = (uint32_t)s[2 * i] | (uint32_t)s[2 * i + 1] << 8;
        uint32_t r = v >> 11, g = (v >> 5) & 0x3f, b = v & 0x1f;

        /* replicate the top bits into the low ones, as scan-out expands */
        d[i] = ((r << 3 | r >> 2) << 16) | ((g << 2 | g >> 4) << 8) | (b << 3 | b >> 2);
    }
}

static void conv_xrgb2101010(const uint8_t *s, uint32_t *d, unsigned n, unsigned alpha)
{
    (void)alpha;
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = ld32(s + 4 * i);

        d[i] = ((v >> 22) & 0xff) << 16 | ((v >> 12) & 0xff) << 8 | ((v >> 2) & 0xff);
    }
}

static void conv_xbgr2101010(const uint8_t *s, uint32_t *d, unsigned n, unsigned alpha)
{
    (void)alpha;
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = ld32(s + 4 * i);

        d[i] = ((v >> 2) & 0xff) << 16 | ((v >> 12) & 0xff) << 8 | ((v >> 22) & 0xff);
    }
}

struct plane_format {
    unsigned ctl_format;
    bool rgbx;
    bool alpha; /* an alpha mode other than disable names the A variant */
    uint32_t fourcc;
    unsigned cpp;
    conv_fn *conv;
};

/* i915 skl_plane_ctl_format / skl_format_to_fourcc. */
static const struct plane_format formats[] = {
    {VGT_PLANE_CTL_FORMAT_XRGB_8888, false, false, DRM_FORMAT_XRGB8888, 4, conv_xrgb8888},
    {VGT_PLANE_CTL_FORMAT_XRGB_8888, false, true, DRM_FORMAT_ARGB8888, 4, conv_xrgb8888},
    {VGT_PLANE_CTL_FORMAT_XRGB_8888, true, false, DRM_FORMAT_XBGR8888, 4, conv_xbgr8888},
    {VGT_PLANE_CTL_FORMAT_XRGB_8888, true, true, DRM_FORMAT_ABGR8888, 4, conv_xbgr8888},
    {VGT_PLANE_CTL_FORMAT_RGB_565, false, false, DRM_FORMAT_RGB565, 2, conv_rgb565},
    {VGT_PLANE_CTL_FORMAT_XRGB_2101010, false, false, DRM_FORMAT_XRGB2101010, 4,
     conv_xrgb2101010},
    {VGT_PLANE_CTL_FORMAT_XRGB_2101010, true, false, DRM_FORMAT_XBGR2101010, 4,
     conv_xbgr2101010},
};

static const struct plane_format *format_of(uint32_t fourcc)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(formats); i++)
        if (formats[i].fourcc == fourcc)
            return &formats[i];
    return NULL;
}

const char *vgt_display_format_name(uint32_t fourcc)
{
    static const struct {
        uint32_t fourcc;
        const char *name;
    } names[] = {
        {DRM_FORMAT_XRGB8888, "XRGB8888"},       {DRM_FORMAT_ARGB8888, "ARGB8888"},
        {DRM_FORMAT_XBGR8888, "XBGR8888"},       {DRM_FORMAT_ABGR8888, "ABGR8888"},
        {DRM_FORMAT_RGB565, "RGB565"},           {DRM_FORMAT_XRGB2101010, "XRGB2101010"},
        {DRM_FORMAT_XBGR2101010, "XBGR2101010"},
    };

    for (size_t i = 0; i < VGT_ARRAY_SIZE(names); i++)
        if (names[i].fourcc == fourcc)
            return names[i].name;
    return "none";
}

/* ---- tilings: stride unit and the address of a byte run ---- */

struct tiling {
    unsigned ctl;
    uint64_t modifier;
    const char *name;
    unsigned stride_unit; /* PLANE_STRIDE unit: 64 B linear, the tile width tiled */
    unsigned tile_w;      /* bytes a tile row spans; 0 linear */
    unsigned tile_h;      /* rows; 1 linear */
    unsigned run;         /* longest run of contiguous bytes within a row */
};

/* Gen9 legacy tiles, 4 KiB each (PRM vol 5 "Memory Views", i915
 * intel_tile_width_bytes): X 512 B x 8 rows, row-major inside; Y 128 B x
 * 32 rows, columns of 16 B x 32 rows (OWords) one after the other. No bit-6
 * swizzling on Gen9 (i915_gem_detect_bit_6_swizzle). */
static const struct tiling tilings[] = {
    {VGT_PLANE_CTL_TILED_LINEAR, DRM_FORMAT_MOD_LINEAR, "linear", 64, 0, 1, 0},
    {VGT_PLANE_CTL_TILED_X, I915_FORMAT_MOD_X_TILED, "X-tiled", 512, 512, 8, 512},
    {VGT_PLANE_CTL_TILED_Y, I915_FORMAT_MOD_Y_TILED, "Y-tiled", 128, 128, 32, 16},
};

static const struct tiling *tiling_of(uint64_t modifier)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(tilings); i++)
        if (tilings[i].modifier == modifier)
            return &tilings[i];
    return NULL;
}

const char *vgt_display_modifier_name(uint64_t modifier)
{
    const struct tiling *t = tiling_of(modifier);

    return t ? t->name : "unknown";
}

/* A band of one tile row to linear rows, reading the tiles in order
 * (sequential reads; the runs land where the rows want them). */
static void detile_band(const struct tiling *t, uint32_t pitch, const uint8_t *band, uint8_t *lin)
{
    for (unsigned tile = 0; tile < pitch / t->tile_w; tile++) {
        const uint8_t *src = band + (size_t)tile * 4096;
        uint8_t *dst = lin + (size_t)tile * t->tile_w;

        if (t->ctl == VGT_PLANE_CTL_TILED_X) {
            for (unsigned r = 0; r < 8; r++)
                memcpy(dst + (size_t)r * pitch, src + r * 512, 512);
            continue;
        }
        /* Y: eight 16-byte columns of 32 rows */
        for (unsigned c = 0; c < 8; c++)
            for (unsigned r = 0; r < 32; r++)
                memcpy(dst + (size_t)r * pitch + c * 16, src + c * 512 + r * 16, 16);
    }
}

/* ---- registers ---- */

void vgt_display_read_regs(const struct vgt_display_src *src, unsigned pipe,
                           struct vgt_display_regs *r)
{
    uint32_t b = pipe * VGT_PIPE_STRIDE;

    r->pipeconf = src->reg(src->opaque, PIPECONF(0) + b);
    r->pipesrc = src->reg(src->opaque, PIPESRC(0) + b);
    r->ctl = src->reg(src->opaque, PLANE_CTL(0) + b);
    r->stride = src->reg(src->opaque, PLANE_STRIDE(0) + b);
    r->pos = src->reg(src->opaque, PLANE_POS(0) + b);
    r->size = src->reg(src->opaque, PLANE_SIZE(0) + b);
    r->surf = src->reg(src->opaque, PLANE_SURFLIVE(0) + b);
    r->offset = src->reg(src->opaque, PLANE_OFFSET(0) + b);
    r->curcntr = src->reg(src->opaque, CUR_CTL(0) + b);
    r->curbase = src->reg(src->opaque, CUR_SURFLIVE(0) + b);
    r->curpos = src->reg(src->opaque, CUR_POS(0) + b);
}

static enum vgt_display_refusal refuse(struct vgt_display_plane *p, enum vgt_display_refusal r)
{
    p->refusal = r;
    return r;
}

void vgt_display_plane_decode(const struct vgt_display_src *src, const struct vgt_display_regs *r,
                              struct vgt_display_plane *p)
{
    unsigned fmt = (r->ctl >> VGT_PLANE_CTL_FORMAT_SHIFT) & 0xf;
    unsigned tiled = (r->ctl >> VGT_PLANE_CTL_TILED_SHIFT) & 0x7;
    bool rgbx = r->ctl & VGT_PLANE_CTL_ORDER_RGBX;
    const struct plane_format *pf = NULL;
    const struct tiling *t = NULL;
    uint64_t rows, xbytes;

    memset(p, 0, sizeof(*p));
    if (!(r->ctl & VGT_PLANE_CTL_ENABLE)) {
        refuse(p, VGT_DISP_OFF);
        return;
    }
    p->alpha = (r->ctl >> VGT_PLANE_CTL_ALPHA_SHIFT) & 0x3;
    if (p->alpha == 1) {
        refuse(p, VGT_DISP_ALPHA);
        return;
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(formats); i++)
        if (formats[i].ctl_format == fmt && formats[i].rgbx == rgbx &&
            (formats[i].alpha == (p->alpha != VGT_PLANE_CTL_ALPHA_DISABLE) ||
             fmt != VGT_PLANE_CTL_FORMAT_XRGB_8888))
            pf = &formats[i];
    if (!pf) {
        refuse(p, VGT_DISP_FORMAT);
        return;
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(tilings); i++)
        if (tilings[i].ctl == tiled)
            t = &tilings[i];
    if (!t) {
        refuse(p, VGT_DISP_TILING);
        return;
    }
    if (r->ctl & VGT_PLANE_CTL_ROTATE_MASK) {
        refuse(p, VGT_DISP_ROTATION);
        return;
    }
    p->fourcc = pf->fourcc;
    p->modifier = t->modifier;
    p->cpp = pf->cpp;
    /* PLANE_SIZE (h-1) << 16 | (w-1), PLANE_OFFSET y << 16 | x,
     * PLANE_POS y << 16 | x: 13-bit fields; PLANE_STRIDE bits 9:0. */
    p->w = (r->size & 0x1fff) + 1;
    p->h = ((r->size >> 16) & 0x1fff) + 1;
    p->ox = r->offset & 0x1fff;
    p->oy = (r->offset >> 16) & 0x1fff;
    p->x = (int)(r->pos & 0x1fff);
    p->y = (int)((r->pos >> 16) & 0x1fff);
    p->pitch = (r->stride & 0x3ff) * t->stride_unit;
    p->surf = r->surf & 0xfffff000u;
    if (p->w > VGT_DISPLAY_MAX_W || p->h > VGT_DISPLAY_MAX_H || p->oy + p->h > VGT_DISPLAY_MAX_W) {
        refuse(p, VGT_DISP_SIZE);
        return;
    }
    if (p->pitch > VGT_DISPLAY_MAX_STRIDE) {
        refuse(p, VGT_DISP_STRIDE_LARGE);
        return;
    }
    xbytes = (uint64_t)(p->ox + p->w) * p->cpp;
    if (p->pitch == 0 || xbytes > p->pitch) {
        refuse(p, VGT_DISP_STRIDE_SMALL);
        return;
    }
    /* Whole tile rows are read: from the tile row holding oy to the one
     * holding the last visible row. */
    rows = (uint64_t)(p->oy + p->h + t->tile_h - 1) / t->tile_h * t->tile_h;
    rows -= p->oy / t->tile_h * t->tile_h;
    p->span = rows * p->pitch;
    if (!src->gm_valid(src->opaque, p->surf + (uint64_t)(p->oy / t->tile_h * t->tile_h) * p->pitch,
                       p->span)) {
        refuse(p, VGT_DISP_OUTSIDE);
        return;
    }
    p->refusal = VGT_DISP_OK;
}

void vgt_display_cursor_decode(const struct vgt_display_src *src,
                               const struct vgt_display_regs *r, struct vgt_display_plane *c)
{
    unsigned mode = r->curcntr & MCURSOR_MODE_MASK, side;
    unsigned mx = r->curpos & 0x7fff, my = (r->curpos >> 16) & 0x7fff;

    memset(c, 0, sizeof(*c));
    if (mode == 0) {
        refuse(c, VGT_DISP_OFF);
        return;
    }
    if (mode == MCURSOR_MODE_64_ARGB_AX)
        side = 64;
    else if (mode == MCURSOR_MODE_128_ARGB_AX)
        side = 128;
    else if (mode == MCURSOR_MODE_256_ARGB_AX)
        side = 256;
    else {
        refuse(c, VGT_DISP_CURSOR_MODE);
        return;
    }
    if (r->curcntr & VGT_CUR_ROTATE_180) {
        refuse(c, VGT_DISP_ROTATION);
        return;
    }
    c->fourcc = DRM_FORMAT_ARGB8888;
    c->modifier = DRM_FORMAT_MOD_LINEAR;
    c->cpp = 4;
    c->alpha = VGT_PLANE_CTL_ALPHA_SW_PREMULTIPLY;
    c->w = c->h = side;
    c->pitch = side * 4;
    c->span = (uint64_t)c->pitch * side;
    c->surf = r->curbase & 0xfffff000u;
    /* CURPOS: sign-magnitude, X bits 14:0 sign 15, Y bits 30:16 sign 31. */
    c->x = r->curpos & CURSOR_POS_X_SIGN ? -(int)mx : (int)mx;
    c->y = r->curpos & CURSOR_POS_Y_SIGN ? -(int)my : (int)my;
    if (!src->gm_valid(src->opaque, c->surf, c->span)) {
        refuse(c, VGT_DISP_OUTSIDE);
        return;
    }
    c->refusal = VGT_DISP_OK;
}

/* ---- capture ---- */

/* What an incremental capture of one pipe left in its caller's frame: the
 * plane it decoded, the hash of each band's guest bytes, the rows the
 * cursor was blended into. */
struct pipe_cache {
    bool valid;
    struct vgt_display_plane plane;
    unsigned fw, fh;
    int cur_y0, cur_y1;
    uint64_t *hash;
    size_t nhash;
};

struct vgt_display {
    struct vgt_display_src src;
    struct pipe_cache pc[VGT_DISPLAY_MAX_HEADS];
    uint8_t *band;
    size_t band_cap;
    uint8_t *lin; /* the band de-tiled: rows one after the other */
    size_t lin_cap;
};

int vgt_display_create(const struct vgt_display_src *src, struct vgt_display **out)
{
    struct vgt_display *d = calloc(1, sizeof(*d));

    if (!d)
        return -ENOMEM;
    d->src = *src;
    *out = d;
    return 0;
}

void vgt_display_destroy(struct vgt_display *d)
{
    if (!d)
        return;
    free(d->band);
    free(d->lin);
    for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS; i++)
        free(d->pc[i].hash);
    free(d);
}

void vgt_display_frame_fini(struct vgt_display_frame *f)
{
    free(f->px);
    memset(f, 0, sizeof(*f));
}

static int frame_size(struct vgt_display_frame *f, unsigned w, unsigned h, bool clear)
{
    size_t need = (size_t)w * h;

    if (need > f->cap) {
        uint32_t *px = realloc(f->px, need * sizeof(*px));

        if (!px)
            return -ENOMEM;
        f->px = px;
        f->cap = need;
    }
    f->w = w;
    f->h = h;
    f->pitch = w;
    if (clear)
        memset(f->px, 0, need * sizeof(*f->px));
    return 0;
}

static int band_reserve(struct vgt_display *d, size_t len)
{
    if (len > d->band_cap) {
        uint8_t *b = realloc(d->band, len);

        if (!b)
            return -ENOMEM;
        d->band = b;
        d->band_cap = len;
    }
    return 0;
}

/* Clip [x, x+w) to [0, fw): first visible column in *c0 and the count. */
static unsigned clip(int x, unsigned w, unsigned fw, unsigned *c0)
{
    int64_t a = VGT_MAX((int64_t)x, 0), b = VGT_MIN((int64_t)x + w, (int64_t)fw);

    *c0 = (unsigned)(a - x);
    return b > a ? (unsigned)(b - a) : 0;
}

/* Same plane geometry, format and surface as the cached one? */
static bool same_plane(const struct vgt_display_plane *a, const struct vgt_display_plane *b)
{
    return a->fourcc == b->fourcc && a->modifier == b->modifier && a->alpha == b->alpha &&
           a->w == b->w && a->h == b->h && a->x == b->x && a->y == b->y && a->ox == b->ox &&
           a->oy == b->oy && a->pitch == b->pitch && a->surf == b->surf;
}

/* [y0, y1) clipped to [0, fh): false when nothing is left. */
static bool clip_rows(int y0, int y1, unsigned fh, unsigned *a, unsigned *b)
{
    int64_t lo = VGT_MAX((int64_t)y0, 0), hi = VGT_MIN((int64_t)y1, (int64_t)fh);

    if (lo >= hi)
        return false;
    *a = (unsigned)lo;
    *b = (unsigned)hi;
    return true;
}

static void damage_rows(struct vgt_display_damage *dmg, int y0, int y1, unsigned fh)
{
    unsigned a, b;

    if (!clip_rows(y0, y1, fh, &a, &b))
        return;
    if (dmg->y0 == dmg->y1) {
        dmg->y0 = a;
        dmg->y1 = b;
        return;
    }
    dmg->y0 = VGT_MIN(dmg->y0, a);
    dmg->y1 = VGT_MAX(dmg->y1, b);
}

/* Plane 1 onto the frame, a tile row (a row, linear) at a time. With a
 * pipe cache (@pc, @dmg), a band whose guest bytes hash as at the last
 * capture is not de-tiled nor converted again (its pixels are in @f
 * still) unless a cursor was or will be blended into its rows
 * [keep_y0, keep_y1) excluded: the band is redrawn there. */
static int draw_plane(struct vgt_display *d, struct vgt_display_plane *p,
                      struct vgt_display_frame *f, struct pipe_cache *pc, bool reuse,
                      const int cur[4], struct vgt_display_damage *dmg)
{
    const struct tiling *t = tiling_of(p->modifier);
    const struct plane_format *pf = format_of(p->fourcc);
    unsigned c0, r0, ncols = clip(p->x, p->w, f->w, &c0), nrows = clip(p->y, p->h, f->h, &r0);
    unsigned th = t->tile_h, band_rows = t->tile_w ? th : 16;
    unsigned first = p->oy + r0, end = p->oy + r0 + nrows;
    int ret;

    if (!ncols || !nrows)
        return 0;
    ret = band_reserve(d, (size_t)p->pitch * band_rows);
    if (ret)
        return ret;
    if (t->tile_w && (size_t)p->pitch * band_rows > d->lin_cap) {
        uint8_t *l = realloc(d->lin, (size_t)p->pitch * band_rows);

        if (!l)
            return -ENOMEM;
        d->lin = l;
        d->lin_cap = (size_t)p->pitch * band_rows;
    }
    if (pc) {
        size_t nb = (end - first / band_rows * band_rows + band_rows - 1) / band_rows;

        if (nb > pc->nhash) {
            uint64_t *h = realloc(pc->hash, nb * sizeof(*h));

            if (!h)
                return -ENOMEM;
            pc->hash = h;
            pc->nhash = nb;
        }
    }
    for (unsigned br = first / band_rows * band_rows, bi = 0; br < end; br += band_rows, bi++) {
        unsigned lo = VGT_MAX(br, first), hi = VGT_MIN(br + band_rows, end);
        int fy0 = p->y + (int)(lo - p->oy), fy1 = p->y + (int)(hi - p->oy);
        uint64_t gm = p->surf + (uint64_t)br * p->pitch;
        size_t len = (size_t)p->pitch * band_rows;

        if (!t->tile_w) {
            /* linear: only the visible rows, each from its first byte */
            gm += (uint64_t)(lo - br) * p->pitch;
            len = (size_t)(hi - lo - 1) * p->pitch + (size_t)(p->ox + c0 + ncols) * p->cpp;
        }
        if (d->src.read_gm(d->src.opaque, gm, d->band, len))
            return -EFAULT;
        if (pc) {
            uint64_t h = XXH3_64bits(d->band, len);
            bool under_cursor = (fy0 < cur[1] && fy1 > cur[0]) || (fy0 < cur[3] && fy1 > cur[2]);

            if (reuse && pc->hash[bi] == h && !under_cursor)
                continue;
            pc->hash[bi] = h;
            damage_rows(dmg, fy0, fy1, f->h);
        }
        if (t->tile_w)
            detile_band(t, p->pitch, d->band, d->lin);
        for (unsigned sy = lo; sy < hi; sy++) {
            uint32_t *dst = f->px + (size_t)(p->y + (int)(sy - p->oy)) * f->pitch + p->x + c0;
            unsigned xb = (p->ox + c0) * p->cpp;

            if (!t->tile_w)
                pf->conv(d->band + (size_t)(sy - lo) * p->pitch + xb, dst, ncols, p->alpha);
            else
                pf->conv(d->lin + (size_t)(sy - br) * p->pitch + xb, dst, ncols, p->alpha);
        }
    }
    return 0;
}

/* The cursor: premultiplied ARGB over what is below. */
static int draw_cursor(struct vgt_display *d, struct vgt_display_plane *c,
                       struct vgt_display_frame *f)
{
    unsigned c0, r0, ncols = clip(c->x, c->w, f->w, &c0), nrows = clip(c->y, c->h, f->h, &r0);
    int ret;

    if (!ncols || !nrows)
        return 0;
    ret = band_reserve(d, c->span);
    if (ret)
        return ret;
    if (d->src.read_gm(d->src.opaque, c->surf, d->band, c->span))
        return -EFAULT;
    for (unsigned r = r0; r < r0 + nrows; r++) {
        uint32_t *dst = f->px + (size_t)(c->y + (int)r) * f->pitch + c->x + c0;
        const uint8_t *s = d->band + (size_t)r * c->pitch + (size_t)c0 * 4;

        for (unsigned i = 0; i < ncols; i++) {
            uint32_t v = ld32(s + 4 * i), a = v >> 24, o = dst[i], px = 0;

            for (unsigned sh = 0; sh < 24; sh += 8) {
                uint32_t cs = (v >> sh) & 0xff, cd = (o >> sh) & 0xff;
                uint32_t out = cs + (cd * (255 - a) + 127) / 255;

                px |= VGT_MIN(out, 255u) << sh;
            }
            dst[i] = px;
        }
    }
    return 0;
}

/* A capture; with @dmg, incremental through the pipe's cache. */
static int capture(struct vgt_display *d, unsigned pipe, struct vgt_display_frame *f,
                   struct vgt_display_head *info, struct vgt_display_damage *dmg)
{
    struct vgt_display_regs r;
    struct pipe_cache *pc = NULL;
    bool reuse = false, clear;
    int cur[4] = {0, 0, 0, 0}; /* the cursor's frame rows: last capture's, this one's */
    unsigned w, h;
    int ret;

    memset(info, 0, sizeof(*info));
    if (pipe >= VGT_DISPLAY_MAX_HEADS)
        return -EINVAL;
    info->pipe = pipe;
    if (d->src.sync)
        d->src.sync(d->src.opaque);
    vgt_display_read_regs(&d->src, pipe, &r);
    vgt_display_plane_decode(&d->src, &r, &info->plane);
    vgt_display_cursor_decode(&d->src, &r, &info->cursor);
    /* the engine's state bit: set only while the pipe really runs */
    if (!(r.pipeconf & PIPECONF_STATE_ENABLE))
        return -ENODEV;
    /* PIPESRC: (w-1) << 16 | (h-1); unset, the plane's extent. */
    if (r.pipesrc) {
        w = ((r.pipesrc >> 16) & 0x1fff) + 1;
        h = (r.pipesrc & 0xfff) + 1;
    } else if (info->plane.refusal == VGT_DISP_OK) {
        w = (unsigned)info->plane.x + info->plane.w;
        h = (unsigned)info->plane.y + info->plane.h;
    } else {
        w = h = 0;
    }
    if (!w || !h || w > VGT_DISPLAY_MAX_W || h > VGT_DISPLAY_MAX_H)
        return -EINVAL;
    info->w = w;
    info->h = h;
    if (dmg) {
        pc = &d->pc[pipe];
        /* the frame still holds the last capture of the same plane: only
         * changed bands are drawn, and the black around the plane stays */
        reuse = pc->valid && info->plane.refusal == VGT_DISP_OK && pc->fw == w && pc->fh == h &&
                f->w == w && f->h == h && same_plane(&pc->plane, &info->plane);
        pc->valid = false;
        cur[0] = pc->cur_y0;
        cur[1] = pc->cur_y1;
        if (info->cursor.refusal == VGT_DISP_OK) {
            cur[2] = info->cursor.y;
            cur[3] = info->cursor.y + (int)info->cursor.h;
        }
        *dmg = reuse ? (struct vgt_display_damage){0, 0} : (struct vgt_display_damage){0, h};
        if (reuse) {
            damage_rows(dmg, cur[0], cur[1], h);
            damage_rows(dmg, cur[2], cur[3], h);
        }
    }
    /* black where plane 1 does not cover the pipe (or is not shown) */
    clear = info->plane.refusal != VGT_DISP_OK || info->plane.x || info->plane.y ||
            info->plane.w < w || info->plane.h < h;
    ret = frame_size(f, w, h, clear && !reuse);
    if (ret)
        return ret;
    /* kept black beside the plane: where a cursor was or will be blended,
     * black again (the bands under it are redrawn) */
    for (unsigned i = 0; reuse && clear && i < 4; i += 2) {
        unsigned y0, y1;

        if (clip_rows(cur[i], cur[i + 1], h, &y0, &y1))
            memset(f->px + (size_t)y0 * f->pitch, 0, (size_t)(y1 - y0) * f->pitch * sizeof(*f->px));
    }
    if (info->plane.refusal == VGT_DISP_OK) {
        ret = draw_plane(d, &info->plane, f, pc, reuse, cur, dmg);
        if (ret == -EFAULT) {
            /* shown absent: nothing of it stays on the frame */
            info->plane.refusal = VGT_DISP_UNMAPPED;
            memset(f->px, 0, (size_t)w * h * sizeof(*f->px));
            if (dmg)
                *dmg = (struct vgt_display_damage){0, h};
            pc = NULL; /* not valid: the next capture draws it all */
        } else if (ret) {
            return ret;
        }
    }
    if (info->cursor.refusal == VGT_DISP_OK) {
        ret = draw_cursor(d, &info->cursor, f);
        if (ret == -EFAULT)
            info->cursor.refusal = VGT_DISP_UNMAPPED;
        else if (ret)
            return ret;
    }
    if (pc) {
        pc->valid = true;
        pc->plane = info->plane;
        pc->fw = w;
        pc->fh = h;
        pc->cur_y0 = cur[2];
        pc->cur_y1 = cur[3];
    }
    return 0;
}

int vgt_display_capture(struct vgt_display *d, unsigned pipe, struct vgt_display_frame *f,
                        struct vgt_display_head *info)
{
    return capture(d, pipe, f, info, NULL);
}

int vgt_display_capture_update(struct vgt_display *d, unsigned pipe, struct vgt_display_frame *f,
                               struct vgt_display_head *info, struct vgt_display_damage *dmg)
{
    int ret = capture(d, pipe, f, info, dmg);

    if (ret && pipe < VGT_DISPLAY_MAX_HEADS)
        d->pc[pipe].valid = false;
    return ret;
}

/* Expected screens of the simulated guest's pattern (display_guest.h),
 * written out from the formats' definitions (PRM, drm_fourcc.h), not
 * from the decoder: shared by the display tests. */
#ifndef VGT_TESTS_DISPLAY_EXPECT_H
#define VGT_TESTS_DISPLAY_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

#include <drm_fourcc.h>

#include "display_guest.h"
#include "vgt/display_host.h"

/* What the screen shows for the pattern pixel (PRM / drm_fourcc.h
 * definitions; 565 channels widened by bit replication, 10-bit ones cut
 * to their top 8 bits). */
static inline uint32_t expect_pixel(const struct dg_fb *fb, unsigned x, unsigned y)
{
    uint32_t v = dg_pattern(fb->fourcc, x, y, fb->seed);

    switch (fb->fourcc) {
    case DRM_FORMAT_XRGB8888:
        return v & 0xffffff;
    case DRM_FORMAT_ARGB8888:
        if (fb->alpha == VGT_PLANE_CTL_ALPHA_HW_PREMULTIPLY) {
            uint32_t a = v >> 24, r = (v >> 16) & 0xff, g = (v >> 8) & 0xff, b = v & 0xff;

            return ((r * a + 127) / 255) << 16 | ((g * a + 127) / 255) << 8 | (b * a + 127) / 255;
        }
        return v & 0xffffff;
    case DRM_FORMAT_XBGR8888:
        return (v & 0xff) << 16 | (v & 0xff00) | ((v >> 16) & 0xff);
    case DRM_FORMAT_RGB565: {
        uint32_t r = (v >> 11) & 31, g = (v >> 5) & 63, b = v & 31;

        return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
    }
    case DRM_FORMAT_XRGB2101010:
        return ((v >> 22) & 0xff) << 16 | ((v >> 12) & 0xff) << 8 | ((v >> 2) & 0xff);
    }
    return 0xdeadbeef;
}

static inline uint32_t over(uint32_t src, uint32_t dst)
{
    uint32_t a = src >> 24, out = 0;

    for (unsigned sh = 0; sh < 24; sh += 8) {
        uint32_t c = ((src >> sh) & 0xff) + ((((dst >> sh) & 0xff) * (255 - a) + 127) / 255);

        out |= (c > 255 ? 255 : c) << sh;
    }
    return out;
}

static inline uint32_t expect_screen(const struct dg_fb *fb, bool cursor, int cx, int cy, unsigned x,
                              unsigned y)
{
    uint32_t px = expect_pixel(fb, x, y);
    int u = (int)x - cx, v = (int)y - cy;

    if (cursor && u >= 0 && u < 64 && v >= 0 && v < 64)
        px = over(dg_cursor_pattern((unsigned)u, (unsigned)v, fb->seed), px);
    return px;
}

static inline unsigned mismatches(const struct vgt_display_frame *f, const struct dg_fb *fb, bool cursor,
                           int cx, int cy)
{
    unsigned bad = 0;

    for (unsigned y = 0; y < fb->h; y++)
        for (unsigned x = 0; x < fb->w; x++) {
            uint32_t want = expect_screen(fb, cursor, cx, cy, x, y);
            uint32_t got = f->px[(size_t)y * f->pitch + x];

            if (got != want && bad++ < 3)
                print_message("  (%u,%u): got %06x want %06x\n", x, y, got, want);
        }
    return bad;
}

#endif

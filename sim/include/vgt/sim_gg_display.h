/* The display half of the simulated guest driver: what i915 and a
 * compositor do with a vGPU's display engine (docs/display.md).
 *
 * It reaches the vGPU only as guest code would (MMIO through the guest's
 * BAR0, its own RAM, MSIs): it powers the display up (power wells, DBUF),
 * reads each head's EDID over DP AUX or GMBUS, trains the DP link,
 * programs the DPLL, transcoder timings, pipe and plane 1 with a
 * framebuffer it allocates in its graphics memory, enables the pipe and
 * waits for a vblank; it draws into its framebuffers (guest RAM mapped
 * through its GGTT) in the plane's format and tiling, page-flips by
 * writing PLANE_SURF and waiting for flip-done, and sets the cursor.
 *
 * Heads are pipes: head N is pipe N on DDI port B+N. One user thread per
 * gg (the vCPU). */
#ifndef VGT_SIM_GG_DISPLAY_H
#define VGT_SIM_GG_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/sim_gpu_guest.h"

struct gg_display;

/* Formats of plane 1 (DRM fourcc names in comments). */
enum gg_fmt {
    GG_FMT_XRGB8888,    /* DRM_FORMAT_XRGB8888 */
    GG_FMT_ARGB8888,    /* DRM_FORMAT_ARGB8888 (premultiplied) */
    GG_FMT_XBGR8888,    /* DRM_FORMAT_XBGR8888 */
    GG_FMT_RGB565,      /* DRM_FORMAT_RGB565 */
    GG_FMT_XRGB2101010, /* DRM_FORMAT_XRGB2101010 */
};

/* Surface layouts (I915_FORMAT_MOD_X_TILED / _Y_TILED: legacy tiles). */
enum gg_tiling { GG_TILING_LINEAR, GG_TILING_X, GG_TILING_Y };

/* How to read an EDID. */
enum gg_ddc { GG_DDC_AUX, GG_DDC_GMBUS };

struct gg_fb {
    struct gg_bo bo;   /* bo.gm is what PLANE_SURF gets */
    uint32_t w, h;
    uint32_t stride;   /* bytes */
    enum gg_fmt fmt;
    enum gg_tiling tiling;
    unsigned cpp;      /* bytes per pixel */
};

struct gg_mode_info {
    uint32_t w, h;             /* what the plane shows */
    uint32_t htotal, vtotal;   /* what the transcoder runs */
    uint32_t clock_khz;
    uint32_t refresh_mhz;
};

/* Power wells, DBUF, display interrupts and hotplug detection on. */
int gg_display_init(struct gg *d, struct gg_display **out);
/* Turns every head off. NULL is fine. */
void gg_display_fini(struct gg_display *dp);

/* The monitor of @head is there (the port strap and its live status). */
bool gg_display_connected(struct gg_display *dp, unsigned head);
/* 128 bytes of EDID of @head through @via. -ENODEV no monitor, -EIO when
 * the transfer failed, -EPROTO when the checksum is wrong. */
int gg_display_read_edid(struct gg_display *dp, unsigned head, enum gg_ddc via, uint8_t edid[128]);

/* Modeset @head to @w x @h (0 x 0: the EDID's preferred mode; smaller
 * sizes keep its blanking and clock) with two framebuffers in @fmt and
 * @tiling; shows the first, cleared to black, and waits for one vblank.
 * -EINVAL for a size past the monitor's, -ENODEV with no monitor,
 * -ENOSPC when graphics memory is short, -ETIMEDOUT when no vblank came. */
int gg_display_modeset(struct gg_display *dp, unsigned head, uint32_t w, uint32_t h,
                       enum gg_fmt fmt, enum gg_tiling tiling);
/* Disable the pipe of @head (its framebuffers stay allocated for reuse). */
int gg_display_disable(struct gg_display *dp, unsigned head);
int gg_display_mode(struct gg_display *dp, unsigned head, struct gg_mode_info *m);

/* The framebuffer on screen (@back false) or the one to draw the next
 * frame into (@back true); NULL when @head is off. */
const struct gg_fb *gg_display_fb(struct gg_display *dp, unsigned head, bool back);
/* Draw @w x @h pixels of @argb (0xAARRGGBB, @pitch pixels per row) at
 * (@x, @y) of a framebuffer, converted to its format and tiling. */
int gg_display_draw(struct gg_display *dp, unsigned head, bool back, uint32_t x, uint32_t y,
                    uint32_t w, uint32_t h, const uint32_t *argb, size_t pitch);
int gg_display_fill(struct gg_display *dp, unsigned head, bool back, uint32_t x, uint32_t y,
                    uint32_t w, uint32_t h, uint32_t argb);
/* The test pattern, as 0xAARRGGBB at (@x, @y) of a @w x @h screen in
 * frame @frame: eight colour bars over the top half, a grey ramp and a
 * red/green/blue ramp in the bottom half, and a 64x64 white square that
 * moves with the frame. A pure function: tests compute expected images
 * with it. */
uint32_t gg_display_pattern_pixel(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t frame);
/* Draw the whole pattern of @frame into a framebuffer. */
int gg_display_draw_pattern(struct gg_display *dp, unsigned head, bool back, uint32_t frame);

/* What a framebuffer holds at (@x, @y), back in 0xAARRGGBB (from guest
 * RAM, through its tiling). */
int gg_display_peek(struct gg_display *dp, unsigned head, bool back, uint32_t x, uint32_t y,
                    uint32_t *argb);

/* Page flip: PLANE_SURF = the back buffer, then wait for flip-done (with
 * @timeout_ms 0: return at once, the flip completes at the next vblank;
 * the buffers swap either way). -ETIMEDOUT when flip-done did not come. */
int gg_display_flip(struct gg_display *dp, unsigned head, unsigned timeout_ms);
/* Wait for the next vblank of @head. */
int gg_display_wait_vblank(struct gg_display *dp, unsigned head, unsigned timeout_ms);
/* Frame counter (PIPE_FRMCOUNT) and flip counter (PIPE_FLIPCOUNT). */
int gg_display_counters(struct gg_display *dp, unsigned head, uint32_t *frames, uint32_t *flips);

/* The 64x64 ARGB cursor of @head: @image (64*64 0xAARRGGBB, may be NULL to
 * keep the last one) at (@x, @y) of the screen, or off. */
int gg_display_cursor(struct gg_display *dp, unsigned head, bool on, int32_t x, int32_t y,
                      const uint32_t *image);

#endif

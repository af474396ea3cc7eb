/* The guest's screen on the host (docs/display.md).
 *
 * A head is one pipe (A, B, C) of the vGPU's Skylake display engine. The
 * decoder reads the guest's plane 1 and cursor registers of that pipe
 * (virtual registers at their i915 offsets) and the surfaces they point at
 * through a source (struct vgt_display_src): on a host, the vGPU's own
 * GGTT entries and the guest's RAM, never the guest's MMIO path. Every
 * register value is the guest's and is checked: a plane whose surface
 * does not lie inside the vGPU's graphics memory, or that asks for what
 * the decoder does not do, is refused by name and shown absent (black),
 * its memory never read. Each byte of a surface is read from the guest
 * once per capture, in bands of one tile row, and converted from there.
 *
 * The output is a host XRGB8888 frame (0x00RRGGBB per pixel, host order).
 * Formats and modifiers are named with libdrm's drm_fourcc.h constants.
 *
 * One struct vgt_display per consumer thread; it keeps a band buffer. */
#ifndef VGT_DISPLAY_HOST_H
#define VGT_DISPLAY_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/display_regs.h"

#define VGT_DISPLAY_MAX_HEADS VGT_MAX_HEADS /* Skylake pipes A-C */
/* Skylake limits (i915 intel_display.c intel_mode_valid: 8192x4096 for
 * display version 9; skl_plane_max_stride: 32 KiB). */
#define VGT_DISPLAY_MAX_W 8192u
#define VGT_DISPLAY_MAX_H 4096u
#define VGT_DISPLAY_MAX_STRIDE 32768u

/* Register offsets and the cursor's fields: vgt/display_regs.h (shared
 * with the mediator's display engine). The decoder reads what is scanned
 * out: PLANE_SURFLIVE / CUR_SURFLIVE, the addresses latched at vblank. */
/* PLANE_CTL fields (i915_reg.h, pre-ICL layout). */
#define VGT_PLANE_CTL_ENABLE (1u << 31)
#define VGT_PLANE_CTL_FORMAT_SHIFT 24 /* bits 27:24 */
#define VGT_PLANE_CTL_FORMAT_XRGB_2101010 2u
#define VGT_PLANE_CTL_FORMAT_XRGB_8888 4u
#define VGT_PLANE_CTL_FORMAT_RGB_565 14u
#define VGT_PLANE_CTL_ORDER_RGBX (1u << 20)
#define VGT_PLANE_CTL_TILED_SHIFT 10 /* bits 12:10 */
#define VGT_PLANE_CTL_TILED_LINEAR 0u
#define VGT_PLANE_CTL_TILED_X 1u
#define VGT_PLANE_CTL_TILED_Y 4u
#define VGT_PLANE_CTL_TILED_YF 5u
#define VGT_PLANE_CTL_ALPHA_SHIFT 4 /* bits 5:4 */
#define VGT_PLANE_CTL_ALPHA_DISABLE 0u
#define VGT_PLANE_CTL_ALPHA_SW_PREMULTIPLY 2u /* pixels are premultiplied */
#define VGT_PLANE_CTL_ALPHA_HW_PREMULTIPLY 3u /* the plane multiplies */
#define VGT_PLANE_CTL_ROTATE_MASK 0x3u
#define VGT_CUR_ROTATE_180 (1u << 15) /* CURCNTR, i915_reg.h MCURSOR_ROTATE_180 */

/* Why a plane is not shown. */
enum vgt_display_refusal {
    VGT_DISP_OK = 0,
    VGT_DISP_OFF,            /* the guest disabled it */
    VGT_DISP_FORMAT,         /* a pixel format the decoder does not do */
    VGT_DISP_TILING,         /* a tiling the decoder does not do (Yf, reserved) */
    VGT_DISP_ROTATION,       /* rotation 90/180/270 */
    VGT_DISP_ALPHA,          /* a reserved alpha mode */
    VGT_DISP_SIZE,           /* plane or cursor larger than the maximum */
    VGT_DISP_STRIDE_LARGE,   /* stride past the maximum */
    VGT_DISP_STRIDE_SMALL,   /* stride smaller than the visible row */
    VGT_DISP_OUTSIDE,        /* surface not inside the vGPU's graphics memory */
    VGT_DISP_UNMAPPED,       /* a surface page the guest did not map (or not RAM) */
    VGT_DISP_CURSOR_MODE,    /* a cursor mode other than ARGB 64/128/256 */
    VGT_DISP_NR_REFUSALS,
};
const char *vgt_display_refusal_name(enum vgt_display_refusal r);

/* Where the decoder gets the guest's registers and memory. */
struct vgt_display_src {
    void *opaque;
    /* The guest's virtual register at BAR0 offset @off. */
    uint32_t (*reg)(void *opaque, uint32_t off);
    /* Is [gm, gm+len) inside the vGPU's graphics memory? */
    bool (*gm_valid)(void *opaque, uint64_t gm, uint64_t len);
    /* Copy [gm, gm+len) of the guest's graphics memory (only asked for
     * ranges gm_valid accepted): 0, or -EFAULT for a page not mapped to
     * guest RAM. */
    int (*read_gm)(void *opaque, uint64_t gm, void *buf, size_t len);
    /* Bring the display up to its clock (latched flips) before the
     * registers are read. May be NULL. */
    void (*sync)(void *opaque);
};

/* A plane as decoded from its registers (guest values, checked). */
struct vgt_display_plane {
    enum vgt_display_refusal refusal;
    uint32_t fourcc;   /* DRM_FORMAT_* */
    uint64_t modifier; /* DRM_FORMAT_MOD_LINEAR, I915_FORMAT_MOD_X/Y_TILED */
    unsigned cpp;
    unsigned alpha;    /* VGT_PLANE_CTL_ALPHA_* */
    unsigned w, h;     /* visible size */
    int x, y;          /* position on the pipe */
    unsigned ox, oy;   /* first visible pixel inside the surface */
    uint32_t pitch;    /* bytes */
    uint64_t surf;     /* graphics address */
    uint64_t span;     /* bytes of the surface the visible part covers */
};

/* The registers of one pipe's plane 1 and cursor, as the guest left them. */
struct vgt_display_regs {
    uint32_t pipeconf, pipesrc;
    uint32_t ctl, stride, pos, size, surf, offset;
    uint32_t curcntr, curbase, curpos;
};
void vgt_display_read_regs(const struct vgt_display_src *src, unsigned pipe,
                           struct vgt_display_regs *r);

/* Plane 1 and the cursor from their registers: no memory is read, but the
 * surface's bounds are checked with src->gm_valid. */
void vgt_display_plane_decode(const struct vgt_display_src *src, const struct vgt_display_regs *r,
                              struct vgt_display_plane *p);
void vgt_display_cursor_decode(const struct vgt_display_src *src,
                               const struct vgt_display_regs *r, struct vgt_display_plane *c);

/* A host frame: XRGB8888, @pitch pixels a row. */
struct vgt_display_frame {
    uint32_t *px;
    unsigned w, h, pitch;
    size_t cap; /* pixels allocated */
};
void vgt_display_frame_fini(struct vgt_display_frame *f);

/* What a capture found on a head. */
struct vgt_display_head {
    unsigned pipe;
    unsigned w, h;
    struct vgt_display_plane plane, cursor;
};

struct vgt_display;
int vgt_display_create(const struct vgt_display_src *src, struct vgt_display **out);
void vgt_display_destroy(struct vgt_display *d);

/* The head as shown: pipe size (PIPESRC, else plane 1's extent), plane 1
 * decoded (black where refused or absent), the cursor composited on top.
 * @f is grown as needed. 0 (refusals are in *info, by name), -ENODEV when
 * the pipe is off (PIPECONF state bit clear), -EINVAL for a pipe > 2 or a pipe
 * size past the maximum, -ENOMEM. */
int vgt_display_capture(struct vgt_display *d, unsigned pipe, struct vgt_display_frame *f,
                        struct vgt_display_head *info);

/* Frame rows [y0, y1) that may differ from the previous capture (y0 ==
 * y1: none). */
struct vgt_display_damage {
    unsigned y0, y1;
};

/* As vgt_display_capture, for a consumer that keeps one frame per head
 * (a VNC server): @f must hold this pipe's previous capture by @d,
 * untouched (a new frame is fine: it is drawn whole). Bands of plane 1
 * (a tile row; 16 rows linear) whose guest bytes hash (XXH3-64) as at the
 * last capture are read but not de-tiled nor converted again, except
 * under the cursor's old and new rows; *dmg bounds the rows that changed.
 * A guest can only make its own picture stale, by a hash collision. */
int vgt_display_capture_update(struct vgt_display *d, unsigned pipe, struct vgt_display_frame *f,
                               struct vgt_display_head *info, struct vgt_display_damage *dmg);

/* Human names ("XR24", "linear", "X-tiled", "Y-tiled"). */
const char *vgt_display_format_name(uint32_t fourcc);
const char *vgt_display_modifier_name(uint64_t modifier);

/* PNG of a frame through libpng (RGB, 8 bits). 0 or -errno. */
int vgt_display_png_write(const struct vgt_display_frame *f, const char *path);
/* Read a PNG into an XRGB8888 frame (tests, tools). */
int vgt_display_png_read(const char *path, struct vgt_display_frame *f);

/* A source on a vGPU (struct vgt_vgpu of vgt/vgpu.h): its virtual
 * registers, its own GGTT entries and the guest's RAM through the hv
 * seam. Valid while the vGPU lives. */
struct vgt_vgpu;
void vgt_display_src_vgpu(struct vgt_vgpu *v, struct vgt_display_src *src);

#endif

/* The simulated guest's side of the display, as vgtd --sim, the tests,
 * the benchmark and the demo need it: a guest that draws a known pattern
 * into framebuffers in its own memory (laid out linear, X- or Y-tiled as
 * the GPU would) and programs its pipe, plane 1 and cursor registers
 * through MMIO, like i915's skl_program_plane. Guest code: it reaches the
 * vGPU only through the sim guest driver (vgt/sim_gpu_guest.h). */
#ifndef VGT_TOOLS_DISPLAY_GUEST_H
#define VGT_TOOLS_DISPLAY_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DG_MAX_PIPES 3

struct gg;

/* A framebuffer as the guest lays it out. */
struct dg_fb {
    uint32_t fourcc;   /* DRM_FORMAT_* the plane supports */
    uint64_t modifier; /* DRM_FORMAT_MOD_LINEAR, I915_FORMAT_MOD_X/Y_TILED */
    unsigned alpha;    /* VGT_PLANE_CTL_ALPHA_* (ARGB/ABGR only) */
    unsigned w, h;     /* surface size in pixels */
    unsigned seed;     /* pattern variant (animation frame) */
};

/* The pattern's pixel (x, y) in the format's own encoding (the low cpp
 * bytes). Every channel bit varies across a small image. */
uint32_t dg_pattern(uint32_t fourcc, unsigned x, unsigned y, unsigned seed);
/* The ARGB cursor pattern (premultiplied, alpha varying). */
uint32_t dg_cursor_pattern(unsigned x, unsigned y, unsigned seed);
unsigned dg_cpp(uint32_t fourcc);
/* Pitch the guest gives the plane: the row rounded up to the tiling's
 * stride unit (64 B linear, 512 B X, 128 B Y). */
uint32_t dg_pitch(const struct dg_fb *fb);
/* Bytes of the surface: pitch x rows rounded up to whole tiles. */
size_t dg_fb_bytes(const struct dg_fb *fb);
/* The surface image in the guest's layout. @buf has dg_fb_bytes(). */
void dg_fb_render(const struct dg_fb *fb, uint8_t *buf);
/* PLANE_CTL / PLANE_STRIDE values for @fb (enabled). 0 for a format or
 * modifier the pattern does not do. */
uint32_t dg_plane_ctl(const struct dg_fb *fb);
uint32_t dg_plane_stride(const struct dg_fb *fb);

/* Per-guest display state (framebuffers allocated once, reused). */
struct dg_buf {
    uint64_t gpa, gm;
    size_t size;
};
struct dg {
    struct gg *drv;
    struct dg_buf fb[DG_MAX_PIPES], cur[DG_MAX_PIPES], back[DG_MAX_PIPES];
    struct dg_buf kbd; /* the PV keyboard's shared page (xen/io/kbdif.h) */
    uint8_t *scratch;
    size_t scratch_size;
};
void dg_init(struct dg *s, struct gg *drv);
void dg_fini(struct dg *s);

/* Modeset-and-flip, guest style: render @fb into the pipe's framebuffer
 * (allocated in the high graphics memory on first use), then PIPESRC,
 * PIPECONF, plane 1 (SURF last: it arms the flip). @cursor: a 64x64 ARGB
 * cursor at (cx, cy) (negative: partly off the top/left), else off. */
int dg_show(struct dg *s, unsigned pipe, const struct dg_fb *fb, bool cursor, int cx, int cy);
/* Flip only: a new pattern seed into the same framebuffer, then SURF. */
int dg_redraw(struct dg *s, unsigned pipe, const struct dg_fb *fb);

/* Double buffering: render @fb into the pipe's back buffer (allocated on
 * first use) without flipping; *gm is where it is, for a later flip (a
 * PLANE_SURF write). */
int dg_render_back(struct dg *s, unsigned pipe, const struct dg_fb *fb, uint64_t *gm);

/* PV keyboard frontend, as Linux xen-kbdfront: a zeroed shared page in
 * guest RAM (struct xenkbd_page, in-ring at XENKBD_IN_RING_OFFS). *gfn is
 * what the frontend would publish as page-ref in xenstore. */
int dg_kbd_connect(struct dg *s, uint64_t *gfn);
/* Consume up to @max events of the in-ring (advancing in_cons), copied
 * raw (union xenkbd_in_event, XENKBD_IN_EVENT_SIZE bytes each) into
 * @ev. *n gets how many. -ENOTCONN before dg_kbd_connect. */
int dg_kbd_read(struct dg *s, void *ev, unsigned max, unsigned *n);

#endif

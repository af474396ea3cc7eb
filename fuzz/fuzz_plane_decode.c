/* fuzz_plane_decode: the host's plane decoder (display/): a hostile guest's pipe, plane 1 and
 * cursor registers and the bytes of its graphics memory. The source is a
 * 256 KiB window of graphics memory at GM_BASE with pages the input may
 * leave unmapped. Invariants: the decoder reads only ranges inside the
 * window that gm_valid accepted, the frame it returns has the size it
 * reports, and every pixel is XRGB (no bits above 23). An incremental
 * capture (vgt_display_capture_update, its cache and frame carried from
 * input to input) gives the same frame as the full one, its damage
 * inside the frame.
 *
 * Input: 12 register dwords (LE: pipeconf, pipesrc, ctl, stride, pos,
 * size, surf, offset, curcntr, curbase, curpos, and a 32-bit map of
 * unmapped 8 KiB chunks), a pipe byte, then the window's first bytes.
 * The harness caps PIPESRC and PLANE_POS at 256 so that one input stays
 * cheap (the decoder's own limits are checked by the tests). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/display_host.h"

#define GM_BASE 0x00400000ull
#define GM_SIZE (256ull << 10)
#define HARNESS __attribute__((no_sanitize("coverage")))

struct fz {
    uint32_t regs[VGT_DISPLAY_MAX_HEADS][16];
    uint32_t unmapped; /* bit i: [i * 8 KiB, +8 KiB) not mapped */
    uint8_t mem[GM_SIZE];
};

static struct fz fz;

HARNESS static uint32_t fz_reg(void *opaque, uint32_t off)
{
    static const uint32_t offs[] = {PIPECONF(0), PIPESRC(0),
                                    PLANE_CTL(0), PLANE_STRIDE(0),
                                    PLANE_POS(0), PLANE_SIZE(0),
                                    PLANE_SURFLIVE(0), PLANE_OFFSET(0),
                                    CUR_CTL(0), CUR_SURFLIVE(0), CUR_POS(0)};
    struct fz *f = opaque;

    for (unsigned p = 0; p < VGT_DISPLAY_MAX_HEADS; p++)
        for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
            if (off == offs[i] + p * VGT_PIPE_STRIDE)
                return f->regs[p][i];
    return 0;
}

HARNESS static bool fz_gm_valid(void *opaque, uint64_t gm, uint64_t len)
{
    (void)opaque;
    return len && gm >= GM_BASE && len <= GM_SIZE && gm - GM_BASE <= GM_SIZE - len;
}

HARNESS static int fz_read_gm(void *opaque, uint64_t gm, void *buf, size_t len)
{
    struct fz *f = opaque;

    if (!fz_gm_valid(opaque, gm, len))
        abort(); /* asked for memory the bounds check did not pass */
    for (uint64_t c = (gm - GM_BASE) >> 13; c <= (gm - GM_BASE + len - 1) >> 13; c++)
        if (f->unmapped & (1u << c))
            return -14; /* -EFAULT */
    memcpy(buf, f->mem + (gm - GM_BASE), len);
    return 0;
}

static struct vgt_display *disp, *udisp;
static size_t prev_size;
static struct vgt_display_frame frame, uframe[VGT_DISPLAY_MAX_HEADS + 1]; /* one per pipe */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgt_display_head hi;
    unsigned pipe;
    int ret;

    if (!disp) {
        struct vgt_display_src src = {.opaque = &fz, .reg = fz_reg, .gm_valid = fz_gm_valid,
                                      .read_gm = fz_read_gm};

        if (vgt_display_create(&src, &disp) || vgt_display_create(&src, &udisp))
            abort();
    }
    if (size < 12 * 4 + 1)
        return 0;
    memset(fz.regs, 0, sizeof(fz.regs));
    pipe = data[48] % 4; /* 3: an invalid pipe */
    for (unsigned i = 0; i < 11; i++)
        memcpy(&fz.regs[pipe % 3][i], data + 4 * i, 4);
    memcpy(&fz.unmapped, data + 44, 4);
    fz.regs[pipe % 3][1] &= 0x00ff00ffu; /* PIPESRC */
    fz.regs[pipe % 3][4] &= 0x00ff00ffu; /* PLANE_POS */
    size = size - 49 < GM_SIZE ? size - 49 : GM_SIZE;
    memcpy(fz.mem, data + 49, size);
    if (prev_size > size) /* what the last input left: zero again */
        memset(fz.mem + size, 0, prev_size - size);
    prev_size = size;
    ret = vgt_display_capture(disp, pipe, &frame, &hi);
    if (ret == 0) {
        if (!frame.px || frame.w != hi.w || frame.h != hi.h || (size_t)hi.w * hi.h > frame.cap)
            abort();
        for (size_t i = 0; i < (size_t)frame.w * frame.h; i++)
            if (frame.px[i] >> 24)
                abort();
        if (!vgt_display_refusal_name(hi.plane.refusal) || !vgt_display_refusal_name(hi.cursor.refusal))
            abort();
    }
    /* incremental: on pipes of the harness's size (a plane-sized pipe can
     * be 8192x4096; four more such frames would only cost memory) */
    if (ret || (size_t)frame.w * frame.h <= 256u * 256u) {
        struct vgt_display_head uhi;
        struct vgt_display_damage dmg;
        struct vgt_display_frame *uf = &uframe[pipe];
        int uret = vgt_display_capture_update(udisp, pipe, uf, &uhi, &dmg);

        if (uret != ret)
            abort();
        if (!uret && (uf->w != frame.w || uf->h != frame.h || dmg.y0 > dmg.y1 || dmg.y1 > uf->h ||
                      memcmp(uf->px, frame.px, (size_t)frame.w * frame.h * 4)))
            abort();
    }
    return 0;
}

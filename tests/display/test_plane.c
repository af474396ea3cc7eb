/* The plane decoder on a fake source (registers and graphics memory in
 * arrays): a plane that shows a window of its surface (PLANE_OFFSET) at a
 * position on the pipe (PLANE_POS), in every tiling; a 128x128 cursor
 * hanging off the left and bottom edges; a surface page that is not
 * mapped. Surfaces are laid out by the sim guest's writer
 * (display_guest.h), the expected pixels come from its pattern. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "display_expect.h"
#include "vgt/util.h"

#define GM_BASE 0x100000ull
#define GM_SIZE (1ull << 20)

struct fake {
    uint32_t regs[0x80000 / 4];
    uint8_t mem[GM_SIZE];
    uint64_t hole; /* a page that is not mapped (0: none) */
};

static uint32_t f_reg(void *o, uint32_t off)
{
    return off < sizeof(((struct fake *)o)->regs) ? ((struct fake *)o)->regs[off / 4] : 0;
}

static bool f_valid(void *o, uint64_t gm, uint64_t len)
{
    (void)o;
    return len && gm >= GM_BASE && len <= GM_SIZE && gm - GM_BASE <= GM_SIZE - len;
}

static int f_read(void *o, uint64_t gm, void *buf, size_t len)
{
    struct fake *f = o;

    assert_true(f_valid(o, gm, len)); /* only what the bounds check passed */
    if (f->hole && gm < f->hole + 4096 && gm + len > f->hole)
        return -EFAULT;
    memcpy(buf, f->mem + (gm - GM_BASE), len);
    return 0;
}

static void test_window_position_and_tilings(void **state)
{
    static const uint64_t mods[] = {DRM_FORMAT_MOD_LINEAR, I915_FORMAT_MOD_X_TILED,
                                    I915_FORMAT_MOD_Y_TILED};
    struct fake *f = calloc(1, sizeof(*f));
    struct vgt_display_src src = {.opaque = f, .reg = f_reg, .gm_valid = f_valid, .read_gm = f_read};
    struct vgt_display_frame fr = {0};
    struct vgt_display *d;

    (void)state;
    assert_int_equal(vgt_display_create(&src, &d), 0);
    for (size_t m = 0; m < VGT_ARRAY_SIZE(mods); m++) {
        struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = mods[m], .w = 300, .h = 70,
                           .seed = (unsigned)m};
        const unsigned ox = 37, oy = 33, w = 150, h = 30, px = 5, py = 3, pw = 200, ph = 40;
        struct vgt_display_head hi;
        unsigned bad = 0;

        memset(f->mem, 0, sizeof(f->mem));
        dg_fb_render(&fb, f->mem);
        f->regs[PIPECONF(1) / 4] = PIPECONF_ENABLE | PIPECONF_STATE_ENABLE;
        f->regs[PIPESRC(1) / 4] = (pw - 1) << 16 | (ph - 1);
        f->regs[PLANE_CTL(1) / 4] = dg_plane_ctl(&fb);
        f->regs[PLANE_STRIDE(1) / 4] = dg_plane_stride(&fb);
        f->regs[PLANE_SIZE(1) / 4] = (h - 1) << 16 | (w - 1);
        f->regs[PLANE_OFFSET(1) / 4] = oy << 16 | ox;
        f->regs[PLANE_POS(1) / 4] = py << 16 | px;
        f->regs[PLANE_SURFLIVE(1) / 4] = (uint32_t)GM_BASE;
        assert_int_equal(vgt_display_capture(d, 1, &fr, &hi), 0);
        assert_int_equal(hi.plane.refusal, VGT_DISP_OK);
        assert_int_equal(fr.w, pw);
        assert_int_equal(fr.h, ph);
        for (unsigned y = 0; y < ph; y++)
            for (unsigned x = 0; x < pw; x++) {
                bool in = x >= px && x < px + w && y >= py && y < py + h;
                uint32_t want = in ? expect_pixel(&fb, ox + x - px, oy + y - py) : 0;

                bad += fr.px[(size_t)y * fr.pitch + x] != want;
            }
        print_message("%s: %u wrong pixels\n", vgt_display_modifier_name(fb.modifier), bad);
        assert_int_equal(bad, 0);
        /* the page holding the window's first row goes: nothing shown */
        f->hole = (GM_BASE + (uint64_t)oy * dg_pitch(&fb)) & ~0xfffull;
        assert_int_equal(vgt_display_capture(d, 1, &fr, &hi), 0);
        assert_int_equal(hi.plane.refusal, VGT_DISP_UNMAPPED);
        for (size_t i = 0; i < (size_t)pw * ph; i++)
            assert_int_equal(fr.px[i], 0);
        f->hole = 0;
    }
    vgt_display_frame_fini(&fr);
    vgt_display_destroy(d);
    free(f);
}

static void test_cursor_128_off_two_edges(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    struct vgt_display_src src = {.opaque = f, .reg = f_reg, .gm_valid = f_valid, .read_gm = f_read};
    struct vgt_display_frame fr = {0};
    struct vgt_display_head hi;
    struct vgt_display *d;
    const int cx = -40, cy = 50;
    uint32_t *cur = (uint32_t *)(f->mem + 0x10000);

    (void)state;
    for (unsigned y = 0; y < 128; y++)
        for (unsigned x = 0; x < 128; x++)
            cur[y * 128 + x] = dg_cursor_pattern(x, y, 9);
    f->regs[PIPECONF(0) / 4] = PIPECONF_ENABLE | PIPECONF_STATE_ENABLE;
    f->regs[PIPESRC(0) / 4] = (99u << 16) | 99u; /* 100x100, plane 1 off */
    f->regs[CUR_CTL(0) / 4] = MCURSOR_MODE_128_ARGB_AX;
    f->regs[CUR_SURFLIVE(0) / 4] = (uint32_t)GM_BASE + 0x10000;
    f->regs[CUR_POS(0) / 4] = CURSOR_POS_X_SIGN | 40u | (uint32_t)cy << 16;
    assert_int_equal(vgt_display_create(&src, &d), 0);
    assert_int_equal(vgt_display_capture(d, 0, &fr, &hi), 0);
    assert_int_equal(hi.plane.refusal, VGT_DISP_OFF);
    assert_int_equal(hi.cursor.refusal, VGT_DISP_OK);
    assert_int_equal(hi.cursor.x, cx);
    for (unsigned y = 0; y < 100; y++)
        for (unsigned x = 0; x < 100; x++) {
            int u = (int)x - cx, v = (int)y - cy;
            uint32_t want = u >= 0 && u < 128 && v >= 0 && v < 128
                                ? dg_cursor_pattern((unsigned)u, (unsigned)v, 9) & 0xffffff
                                : 0; /* over black: the premultiplied colour */

            assert_int_equal(fr.px[y * fr.pitch + x], want);
        }
    vgt_display_frame_fini(&fr);
    vgt_display_destroy(d);
    free(f);
}

/* The incremental capture equals a full one after each change, and its
 * damage bounds what changed: nothing but the cursor's rows when the
 * guest's bytes are the same (the cursor blended once, not twice), one
 * band for a changed byte, the old and new rows for a cursor move, all
 * for a new surface address. */
static void test_capture_update_damage(void **state)
{
    static const uint64_t mods[] = {DRM_FORMAT_MOD_LINEAR, I915_FORMAT_MOD_X_TILED,
                                    I915_FORMAT_MOD_Y_TILED};
    struct fake *f = calloc(1, sizeof(*f));
    struct vgt_display_src src = {.opaque = f, .reg = f_reg, .gm_valid = f_valid, .read_gm = f_read};
    struct vgt_display_frame fr = {0}, fu = {0};
    struct vgt_display_damage dmg;
    struct vgt_display_head hi;
    struct vgt_display *d, *du;
    uint32_t *cur = (uint32_t *)(f->mem + 0x80000);

    (void)state;
    for (unsigned y = 0; y < 64; y++)
        for (unsigned x = 0; x < 64; x++)
            cur[y * 64 + x] = dg_cursor_pattern(x, y, 3);
    assert_int_equal(vgt_display_create(&src, &d), 0);
    assert_int_equal(vgt_display_create(&src, &du), 0);
    for (size_t m = 0; m < VGT_ARRAY_SIZE(mods); m++) {
        struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = mods[m], .w = 256, .h = 128,
                           .seed = 5 + (unsigned)m};
        const unsigned band = m == 0 ? 16 : m == 1 ? 8 : 32;
        /* damage is whole bands: [y0, y1) widened to them */
#define DOWN(y) ((y) / band * band)
#define UP(y) VGT_MIN(((y) + band - 1) / band * band, 128u)

        memset(f->mem, 0, 0x80000);
        dg_fb_render(&fb, f->mem);
        f->regs[PIPECONF(0) / 4] = PIPECONF_ENABLE | PIPECONF_STATE_ENABLE;
        f->regs[PIPESRC(0) / 4] = (255u << 16) | 127u;
        f->regs[PLANE_CTL(0) / 4] = dg_plane_ctl(&fb);
        f->regs[PLANE_STRIDE(0) / 4] = dg_plane_stride(&fb);
        f->regs[PLANE_SIZE(0) / 4] = (127u << 16) | 255u;
        f->regs[PLANE_SURFLIVE(0) / 4] = (uint32_t)GM_BASE;
        f->regs[CUR_CTL(0) / 4] = MCURSOR_MODE_64_ARGB_AX;
        f->regs[CUR_SURFLIVE(0) / 4] = (uint32_t)GM_BASE + 0x80000;
        f->regs[CUR_POS(0) / 4] = 20u << 16 | 10u;
#define SAME_AS_FULL()                                                                    \
    do {                                                                                  \
        assert_int_equal(vgt_display_capture(d, 0, &fr, &hi), 0);                         \
        assert_int_equal(fu.w, fr.w);                                                     \
        assert_int_equal(fu.h, fr.h);                                                     \
        assert_memory_equal(fu.px, fr.px, (size_t)fr.w * fr.h * 4);                       \
    } while (0)
        /* first: all of it (the frame from the previous tiling is stale) */
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(hi.plane.refusal, VGT_DISP_OK);
        assert_int_equal(dmg.y0, 0);
        assert_int_equal(dmg.y1, 128);
        SAME_AS_FULL();
        /* nothing changed: only the bands under the cursor */
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(dmg.y0, DOWN(20));
        assert_int_equal(dmg.y1, UP(84));
        SAME_AS_FULL();
        /* a byte of row 100 (its band's bytes: pitch * rows, tiled or not) */
        f->mem[(size_t)dg_pitch(&fb) * 100 + 8] ^= 0x5a;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(dmg.y0, DOWN(20));
        assert_int_equal(dmg.y1, UP(101));
        SAME_AS_FULL();
        /* the cursor moves: its old rows are repainted */
        f->regs[CUR_POS(0) / 4] = 50u << 16 | 100u;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(dmg.y0, DOWN(20));
        assert_int_equal(dmg.y1, UP(114));
        SAME_AS_FULL();
        /* another surface address (a flip): all of it */
        memmove(f->mem + 0x40000, f->mem, (size_t)dg_pitch(&fb) * 128);
        f->mem[(size_t)dg_pitch(&fb) * 3 + 0x40000] ^= 0xff;
        f->regs[PLANE_SURFLIVE(0) / 4] = (uint32_t)GM_BASE + 0x40000;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(dmg.y0, 0);
        assert_int_equal(dmg.y1, 128);
        SAME_AS_FULL();
        /* a page the guest unmapped: black, all damaged, then all again */
        f->hole = GM_BASE + 0x40000;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(hi.plane.refusal, VGT_DISP_UNMAPPED);
        assert_int_equal(dmg.y1, 128);
        f->hole = 0;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(dmg.y0, 0);
        assert_int_equal(dmg.y1, 128);
        SAME_AS_FULL();
        /* a pipe wider than the plane: a cursor over the black beside it
         * and one half off the top are blended once each capture */
        f->regs[PIPESRC(0) / 4] = (299u << 16) | 127u;
        f->regs[CUR_POS(0) / 4] = 20u << 16 | 260u;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        SAME_AS_FULL();
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        SAME_AS_FULL();
        f->regs[CUR_POS(0) / 4] = CURSOR_POS_Y_SIGN | 30u << 16 | 250u;
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        SAME_AS_FULL();
        assert_int_equal(vgt_display_capture_update(du, 0, &fu, &hi, &dmg), 0);
        assert_int_equal(dmg.y0, 0);
        assert_int_equal(dmg.y1, UP(34));
        SAME_AS_FULL();
#undef SAME_AS_FULL
#undef DOWN
#undef UP
    }
    vgt_display_frame_fini(&fr);
    vgt_display_frame_fini(&fu);
    vgt_display_destroy(d);
    vgt_display_destroy(du);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_position_and_tilings),
        cmocka_unit_test(test_cursor_128_off_two_edges),
        cmocka_unit_test(test_capture_update_damage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

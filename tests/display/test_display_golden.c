/* Golden images and hostile planes on the simulated platform: a guest's
 * own driver draws a known pattern in every format and tiling into its
 * memory and programs its pipe, plane 1 and cursor through MMIO; the host
 * decodes through the vGPU's GGTT and the guest's RAM. The expected pixels
 * come from the pattern function and the formats' definitions written out
 * here, not from the decoder. Hostile planes of one guest are refused by
 * name while the other guest's screen stays exact. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <drm_fourcc.h>

#include "display_expect.h"
#include "vgpu_host.h"
#include "vgt/display_host.h"
#include "vgt/util.h"

#define MIB (1ull << 20)

struct fx {
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgt_display *d[2];
    struct vgt_display_frame f;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    struct vgpu_host_cfg hc = {.sim = true, .sim_arena_bytes = 512 * MIB};
    char err[256];

    vgt_log_init(&x->log, "display", VGT_LOG_OFF);
    hc.log = &x->log;
    assert_int_equal(vgpu_host_create(&hc, &x->h), 0);
    for (uint16_t dom = 1; dom <= 2; dom++) {
        /* guest 1: two heads (V5_2), guest 2: one (V5_8) */
        struct vgpu_add_req req = {.domid = dom, .type = dom == 1 ? "V5_2" : "V5_8",
                                   .sim_ram = 64 * MIB};
        struct vgt_display_src src;

        assert_int_equal(vgpu_host_add(x->h, &req, err, sizeof(err)), 0);
        vgt_display_src_vgpu(vgpu_host_vgpu(x->h, dom), &src);
        assert_int_equal(vgt_display_create(&src, &x->d[dom - 1]), 0);
    }
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    vgt_display_destroy(x->d[0]);
    vgt_display_destroy(x->d[1]);
    vgt_display_frame_fini(&x->f);
    vgpu_host_destroy(x->h);
    free(x);
    return 0;
}

static const uint32_t formats[] = {DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888,
                                   DRM_FORMAT_RGB565, DRM_FORMAT_XRGB2101010};
static const uint64_t mods[] = {DRM_FORMAT_MOD_LINEAR, I915_FORMAT_MOD_X_TILED,
                                I915_FORMAT_MOD_Y_TILED};

/* Every format in every tiling, on all three heads, cursor partly off the
 * top edge (negative Y through the sign bit); the other head untouched. */
static void test_golden_every_format_and_tiling(void **state)
{
    struct fx *x = *state;
    char err[256];
    unsigned n = 0;

    for (size_t i = 0; i < VGT_ARRAY_SIZE(formats); i++)
        for (size_t j = 0; j < VGT_ARRAY_SIZE(mods); j++, n++) {
            /* odd sizes: neither a whole tile across nor down */
            struct dg_fb fb = {.fourcc = formats[i], .modifier = mods[j], .w = 203 + (unsigned)j * 37,
                               .h = 45 + (unsigned)i * 7, .seed = n,
                               .alpha = n % 2 ? VGT_PLANE_CTL_ALPHA_HW_PREMULTIPLY
                                              : VGT_PLANE_CTL_ALPHA_SW_PREMULTIPLY};
            unsigned pipe = n % 2;
            int cx = (int)fb.w - 40, cy = -(int)(n % 20);
            struct vgt_display_head hi;

            assert_int_equal(vgpu_host_sim_guest_show(x->h, 1, pipe, &fb, true, cx, cy, false, err,
                                                      sizeof(err)),
                             0);
            assert_int_equal(vgt_display_capture(x->d[0], pipe, &x->f, &hi), 0);
            print_message("%s %s head %u: %s\n", vgt_display_format_name(fb.fourcc),
                          vgt_display_modifier_name(fb.modifier), pipe,
                          vgt_display_refusal_name(hi.plane.refusal));
            assert_int_equal(hi.plane.refusal, VGT_DISP_OK);
            assert_int_equal(hi.cursor.refusal, VGT_DISP_OK);
            assert_true(hi.plane.fourcc == fb.fourcc);
            assert_true(hi.plane.modifier == fb.modifier);
            assert_int_equal(hi.w, fb.w);
            assert_int_equal(hi.h, fb.h);
            assert_int_equal(mismatches(&x->f, &fb, true, cx, cy), 0);
        }
}

/* The PNG holds exactly the frame (read back through libpng). */
static void test_png_round_trip(void **state)
{
    struct fx *x = *state;
    struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = I915_FORMAT_MOD_Y_TILED,
                       .w = 130, .h = 33, .seed = 7};
    struct vgt_display_frame back = {0};
    struct vgt_display_head hi;
    char err[256], path[] = "/tmp/vgt-golden-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(vgpu_host_sim_guest_show(x->h, 2, 0, &fb, false, 0, 0, false, err, sizeof(err)),
                     0);
    assert_int_equal(vgt_display_capture(x->d[1], 0, &x->f, &hi), 0);
    assert_int_equal(vgt_display_png_write(&x->f, path), 0);
    assert_int_equal(vgt_display_png_read(path, &back), 0);
    unlink(path);
    assert_int_equal(back.w, fb.w);
    assert_int_equal(back.h, fb.h);
    assert_int_equal(mismatches(&back, &fb, false, 0, 0), 0);
    vgt_display_frame_fini(&back);
}

struct hostile {
    const char *what;
    uint32_t off; /* pipe A register */
    uint32_t val; /* 0: computed in the test */
    enum vgt_display_refusal want;
    bool cursor;
};

static void test_hostile_planes_refused_by_name(void **state)
{
    struct fx *x = *state;
    struct dg_fb honest = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = I915_FORMAT_MOD_X_TILED,
                           .w = 320, .h = 40, .seed = 3};
    struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = DRM_FORMAT_MOD_LINEAR,
                       .w = 256, .h = 32, .seed = 5};
    struct vgt_vgpu_info vi;
    uint64_t gm, gpa;
    char err[256];
    const uint32_t ctl = VGT_PLANE_CTL_ENABLE |
                         VGT_PLANE_CTL_FORMAT_XRGB_8888 << VGT_PLANE_CTL_FORMAT_SHIFT;
    struct hostile cases[] = {
        {"surface in another vGPU's memory", PLANE_SURF(0), 0, VGT_DISP_OUTSIDE, false},
        {"surface past the end of graphics memory", PLANE_SURF(0), 0xfffff000u,
         VGT_DISP_OUTSIDE, false},
        {"giant stride", PLANE_STRIDE(0), 0x3ff, VGT_DISP_STRIDE_LARGE, false},
        {"stride below the row", PLANE_STRIDE(0), 1, VGT_DISP_STRIDE_SMALL, false},
        {"plane larger than the maximum", PLANE_SIZE(0), 0x1fff1fff, VGT_DISP_SIZE, false},
        {"Yf tiling", PLANE_CTL(0), ctl | VGT_PLANE_CTL_TILED_YF << VGT_PLANE_CTL_TILED_SHIFT,
         VGT_DISP_TILING, false},
        {"YUV 4:2:2 format", PLANE_CTL(0), VGT_PLANE_CTL_ENABLE, VGT_DISP_FORMAT, false},
        {"rotation 90", PLANE_CTL(0), ctl | 1, VGT_DISP_ROTATION, false},
        {"reserved alpha mode", PLANE_CTL(0), ctl | 1u << VGT_PLANE_CTL_ALPHA_SHIFT,
         VGT_DISP_ALPHA, false},
        {"cursor AND/XOR mode", CUR_CTL(0), 0x07, VGT_DISP_CURSOR_MODE, true},
        {"cursor in another vGPU's memory", CUR_BASE(0), 0, VGT_DISP_OUTSIDE, true},
    };

    /* the honest guest 2 on head 0, the hostile guest 1 on head 0 too */
    assert_int_equal(vgpu_host_sim_guest_show(x->h, 2, 0, &honest, true, 10, 5, false, err,
                                              sizeof(err)), 0);
    vgt_vgpu_get_info(vgpu_host_vgpu(x->h, 2), &vi);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(cases); i++) {
        struct hostile *c = &cases[i];
        struct vgt_display_head hi;
        uint32_t val = c->val;

        assert_int_equal(vgpu_host_sim_guest_show(x->h, 1, 0, &fb, true, 0, 0, false, err,
                                                  sizeof(err)), 0);
        if (!val)
            val = (uint32_t)vi.high_base; /* guest 2's framebuffers live there */
        assert_int_equal(vgpu_host_sim_guest_mmio_write(x->h, 1, c->off, val, err, sizeof(err)), 0);
        /* surface addresses latch at the next vblank (60 Hz) */
        for (int t = 0; t < 100; t++) {
            assert_int_equal(vgt_display_capture(x->d[0], 0, &x->f, &hi), 0);
            if ((c->cursor ? hi.cursor.refusal : hi.plane.refusal) == c->want)
                break;
            usleep(2000);
        }
        print_message("%-42s -> %s\n", c->what,
                      vgt_display_refusal_name(c->cursor ? hi.cursor.refusal : hi.plane.refusal));
        if (c->cursor) {
            assert_int_equal(hi.cursor.refusal, c->want);
            assert_int_equal(hi.plane.refusal, VGT_DISP_OK);
            /* the plane is shown without the cursor */
            assert_int_equal(mismatches(&x->f, &fb, false, 0, 0), 0);
        } else {
            assert_int_equal(hi.plane.refusal, c->want);
            /* absent: the pipe is black, not guest 2's pixels */
            for (size_t p = 0; p < (size_t)x->f.w * x->f.h; p++)
                if (x->f.px[p] != 0) {
                    /* only the cursor may be there */
                    unsigned px = (unsigned)(p % x->f.w), py = (unsigned)(p / x->f.w);

                    assert_true(px < 64 && py < 64);
                }
        }
        assert_string_not_equal(vgt_display_refusal_name(hi.plane.refusal), "unknown");
        /* the honest guest's screen is intact */
        assert_int_equal(vgt_display_capture(x->d[1], 0, &x->f, &hi), 0);
        assert_int_equal(hi.plane.refusal, VGT_DISP_OK);
        assert_int_equal(mismatches(&x->f, &honest, true, 10, 5), 0);
    }
    /* a head past the type's (V5_8: one): its pipe stays off, nothing shown */
    {
        struct vgt_display_head hi;

        assert_int_equal(vgpu_host_sim_guest_show(x->h, 2, 1, &honest, false, 0, 0, false, err,
                                                  sizeof(err)), 0);
        assert_int_equal(vgt_display_capture(x->d[1], 1, &x->f, &hi), -ENODEV);
    }
    /* an unmapped page: the guest points a GGTT entry of its surface away */
    assert_int_equal(vgpu_host_sim_guest_show(x->h, 1, 0, &fb, false, 0, 0, false, err, sizeof(err)),
                     0);
    assert_int_equal(vgpu_host_sim_guest_fb(x->h, 1, 0, false, &gm, &gpa), 0);
    {
        struct vgt_display_head hi;
        char e2[64];

        /* GGTT window at BAR0 + 8 MiB, entry gm >> 12 + 1: not present */
        assert_int_equal(vgpu_host_sim_guest_mmio_write(x->h, 1, 0x800000 + (uint32_t)(((gm >> 12) + 1) * 8),
                                                        0, e2, sizeof(e2)), 0);
        assert_int_equal(vgpu_host_sim_guest_mmio_write(x->h, 1, 0x800000 + (uint32_t)(((gm >> 12) + 1) * 8) + 4,
                                                        0, e2, sizeof(e2)), 0);
        assert_int_equal(vgt_display_capture(x->d[0], 0, &x->f, &hi), 0);
        assert_int_equal(hi.plane.refusal, VGT_DISP_UNMAPPED);
        for (size_t p = 0; p < (size_t)x->f.w * x->f.h; p++)
            assert_int_equal(x->f.px[p], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_every_format_and_tiling),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_hostile_planes_refused_by_name),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

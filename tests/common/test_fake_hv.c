/* The test doubles must themselves behave like the platform they stand in
 * for: a non-identity p2m, writes to protected gfns forwarded (not
 * applied) in aligned pieces, bounds enforced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_hv.h"

struct trap {
    uint64_t gpa[16];
    unsigned size[16];
    unsigned n;
};

static int on_wp(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    struct trap *t = opaque;

    (void)val;
    if (t->n < 16) {
        t->gpa[t->n] = gpa;
        t->size[t->n] = size;
    }
    t->n++;
    return 0;
}

static void test_p2m_and_wp(void **state)
{
    struct sim_arena *a;
    struct fake_hv *f;
    struct trap t = {0};
    uint64_t dma0, dma1, v = 0;
    uint8_t buf[13];
    unsigned identity = 0;

    (void)state;
    assert_int_equal(sim_arena_create(64ull << 20, &a), 0);
    assert_int_equal(fake_hv_create(a, 1, 16ull << 20, FAKE_HV_SCRAMBLE_4K, 7, &f), 0);
    for (uint64_t g = 0; g + 1 < f->hv.max_gfn; g++) {
        assert_int_equal(vgt_hv_gfn_to_dma(&f->hv, g, &dma0), 0);
        assert_int_equal(vgt_hv_gfn_to_dma(&f->hv, g + 1, &dma1), 0);
        identity += dma1 == dma0 + 4096;
    }
    assert_true(identity < f->hv.max_gfn / 4); /* scrambled, not linear */
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv, f->hv.max_gfn, &dma0), -14);

    assert_int_equal(fake_hv_guest_write64(f, 0x3008, 0x1122334455667788ull), 0);
    assert_int_equal(vgt_hv_read(&f->hv, 0x3008, &v, 8), 0);
    assert_int_equal(v, 0x1122334455667788ull);

    f->hv.ops->set_wp_handler(&f->hv, on_wp, &t);
    assert_int_equal(f->hv.ops->set_wp(&f->hv, 3, 1, true), 0);
    memset(buf, 0xab, sizeof(buf));
    assert_int_equal(fake_hv_guest_write(f, 0x3003, buf, sizeof(buf)), 0);
    /* 0x3003:1, 0x3004:4, 0x3008:8 -> aligned pieces, none applied. */
    assert_int_equal(t.n, 3);
    assert_int_equal(t.gpa[0], 0x3003);
    assert_int_equal(t.size[0], 1);
    assert_int_equal(t.size[1], 4);
    assert_int_equal(t.size[2], 8);
    assert_int_equal(vgt_hv_read(&f->hv, 0x3008, &v, 8), 0);
    assert_int_equal(v, 0x1122334455667788ull);

    /* Out of RAM and wrapping spans fail without touching anything. */
    assert_int_equal(vgt_hv_read(&f->hv, (16ull << 20) - 4, &v, 8), -14);
    assert_int_equal(fake_hv_guest_write(f, UINT64_MAX - 3, buf, 8), -14);
    fake_hv_destroy(f);
    sim_arena_destroy(a);
}

static void test_2m_layout(void **state)
{
    struct sim_arena *a;
    struct fake_hv *f;
    uint64_t d0, d;

    (void)state;
    assert_int_equal(sim_arena_create(64ull << 20, &a), 0);
    assert_int_equal(fake_hv_create(a, 2, 8ull << 20, FAKE_HV_SCRAMBLE_2M, 3, &f), 0);
    for (uint64_t blk = 0; blk < 4; blk++) {
        assert_int_equal(vgt_hv_gfn_to_dma(&f->hv, blk * 512, &d0), 0);
        assert_int_equal((d0 - SIM_ARENA_HPA_BASE) % (2u << 20), 0);
        for (uint64_t i = 1; i < 512; i++) {
            assert_int_equal(vgt_hv_gfn_to_dma(&f->hv, blk * 512 + i, &d), 0);
            assert_int_equal(d, d0 + i * 4096);
        }
    }
    fake_hv_destroy(f);
    sim_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2m_and_wp),
        cmocka_unit_test(test_2m_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

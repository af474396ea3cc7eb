/* GGTT shadow: accepted entries translate gfn -> dma through the hv seam,
 * refused ones never leave the vGPU's ranges, 4-byte halves are held, the
 * guest reads its own values, teardown returns entries to scratch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "fake_hv.h"
#include "vgt/gen8_gtt.h"
#include "vgt/ggtt.h"

#define MIB (1ull << 20)

struct fx {
    struct sim_arena *arena;
    struct fake_hv *hv;
    struct fake_hostgpu *gpu;
    struct vgt_ggtt *g;
    struct vgt_ggtt_cfg cfg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_int_equal(sim_arena_create(128 * MIB, &f->arena), 0);
    assert_int_equal(fake_hv_create(f->arena, 1, 32 * MIB, FAKE_HV_SCRAMBLE_4K, 3, &f->hv), 0);
    assert_int_equal(fake_hostgpu_create(f->arena, 1024 * MIB, 256 * MIB, 32, &f->gpu), 0);
    /* Poison the host GGTT so that "unchanged" is observable. */
    for (uint64_t i = 0; i < f->gpu->nr_ggtt; i++)
        f->gpu->ggtt[i] = 0xdead000ull | (i << 12);
    f->cfg = (struct vgt_ggtt_cfg){.gpu = &f->gpu->gpu, .hv = &f->hv->hv,
                                   .low_base = 128 * MIB, .low_size = 64 * MIB,
                                   .high_base = 512 * MIB, .high_size = 128 * MIB};
    assert_int_equal(vgt_ggtt_create(&f->cfg, &f->g), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    vgt_ggtt_destroy(f->g);
    fake_hostgpu_destroy(f->gpu);
    fake_hv_destroy(f->hv);
    sim_arena_destroy(f->arena);
    free(f);
    return 0;
}

/* This vGPU's own scratch page, never the host's shared one. */
static uint64_t scratch(struct fx *f)
{
    return vgt_ggtt_scratch_dma(f->g) | GEN8_PTE_PRESENT;
}

static void test_create_points_ranges_at_scratch(void **state)
{
    struct fx *f = *state;
    uint64_t lo = f->cfg.low_base >> 12, hi = f->cfg.high_base >> 12;

    assert_int_equal(f->gpu->ggtt[lo], scratch(f));
    assert_int_equal(f->gpu->ggtt[lo + (f->cfg.low_size >> 12) - 1], scratch(f));
    assert_int_equal(f->gpu->ggtt[hi + (f->cfg.high_size >> 12) - 1], scratch(f));
    /* Just outside: untouched. */
    assert_int_equal(f->gpu->ggtt[lo - 1], 0xdead000ull | ((lo - 1) << 12));
    assert_int_equal(f->gpu->ggtt[lo + (f->cfg.low_size >> 12)],
                     0xdead000ull | ((lo + (f->cfg.low_size >> 12)) << 12));
}

static void test_accept(void **state)
{
    struct fx *f = *state;
    uint64_t i = (f->cfg.high_base >> 12) + 7, gfn = 1234, dma, v;
    struct vgt_ggtt_stats st;

    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, (gfn << 12) | GEN8_PTE_PRESENT), 0);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, gfn, &dma), 0);
    assert_true(dma != gfn << 12);
    assert_int_equal(f->gpu->ggtt[i], dma | GEN8_PTE_PRESENT);
    assert_int_equal(vgt_ggtt_guest_read(f->g, i * 8, 8, &v), 0);
    assert_int_equal(v, (gfn << 12) | GEN8_PTE_PRESENT);
    /* A non-present entry points at scratch, not refused. */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, gfn << 12), 0);
    assert_int_equal(f->gpu->ggtt[i], scratch(f));
    vgt_ggtt_get_stats(f->g, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.refused, 0);
}

static void test_refuse(void **state)
{
    struct fx *f = *state;
    uint64_t out = (f->cfg.low_base >> 12) - 1; /* host's / another vGPU's */
    uint64_t in = f->cfg.low_base >> 12, v;
    struct vgt_ggtt_stats st;

    assert_int_equal(vgt_ggtt_guest_write(f->g, out * 8, 8, (5ull << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[out], 0xdead000ull | (out << 12));
    /* Not kept either: the private table covers the ranges only (the
     * guest ballooned the rest), so a read gives 0. */
    assert_int_equal(vgt_ggtt_guest_read(f->g, out * 8, 8, &v), 0);
    assert_int_equal(v, 0);
    /* gfn outside guest RAM -> scratch */
    assert_int_equal(vgt_ggtt_guest_write(f->g, in * 8, 8, (f->hv->hv.max_gfn << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[in], scratch(f));
    /* reserved bits -> scratch */
    assert_int_equal(vgt_ggtt_guest_write(f->g, in * 8, 8, (1ull << 62) | (3ull << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[in], scratch(f));
    vgt_ggtt_get_stats(f->g, &st);
    assert_int_equal(st.refused, 3);
    assert_int_equal(st.accepted, 0);
    /* Accesses the window does not allow */
    assert_int_equal(vgt_ggtt_guest_write(f->g, 3, 4, 0), -EINVAL);
    assert_int_equal(vgt_ggtt_guest_write(f->g, 8, 2, 0), -EINVAL);
    assert_int_equal(vgt_ggtt_guest_write(f->g, VGT_GGTT_WINDOW_SIZE, 8, 0), -EINVAL);
    assert_int_equal(vgt_ggtt_guest_read(f->g, 4, 8, &v), -EINVAL);
    assert_int_equal(v, ~0ull);
}

static void test_partial(void **state)
{
    struct fx *f = *state;
    uint64_t i = (f->cfg.low_base >> 12) + 3, gfn = 0x1ff, dma, v;
    uint64_t pte = (gfn << 12) | GEN8_PTE_PRESENT;
    struct vgt_ggtt_stats st;

    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, gfn, &dma), 0);
    /* High half first: held. */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8 + 4, 4, pte >> 32), 0);
    assert_int_equal(f->gpu->ggtt[i], scratch(f));
    /* Same half again: still held. */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8 + 4, 4, pte >> 32), 0);
    assert_int_equal(f->gpu->ggtt[i], scratch(f));
    assert_int_equal(vgt_ggtt_guest_read(f->g, i * 8 + 4, 4, &v), 0);
    assert_int_equal(v, pte >> 32);
    /* Another entry's half does not complete it. */
    assert_int_equal(vgt_ggtt_guest_write(f->g, (i + 1) * 8, 4, (uint32_t)pte), 0);
    assert_int_equal(f->gpu->ggtt[i], scratch(f));
    assert_int_equal(f->gpu->ggtt[i + 1], scratch(f));
    /* Low half: committed. */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 4, (uint32_t)pte), 0);
    assert_int_equal(f->gpu->ggtt[i], dma | GEN8_PTE_PRESENT);
    assert_int_equal(vgt_ggtt_guest_read(f->g, i * 8, 8, &v), 0);
    assert_int_equal(v, pte);
    vgt_ggtt_get_stats(f->g, &st);
    assert_int_equal(st.partial_held, 3);
    assert_int_equal(st.accepted, 1);
}

static void test_failsafe_and_reset(void **state)
{
    struct fx *f = *state;
    uint64_t i = (f->cfg.low_base >> 12) + 9, v, dma;

    vgt_ggtt_set_failsafe(f->g, true);
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, (77ull << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[i], scratch(f));
    assert_int_equal(vgt_ggtt_guest_read(f->g, i * 8, 8, &v), 0);
    assert_int_equal(v, (77ull << 12) | 1);
    vgt_ggtt_set_failsafe(f->g, false);
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, (77ull << 12) | 1), 0);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 77, &dma), 0);
    assert_int_equal(f->gpu->ggtt[i], dma | 1);
    vgt_ggtt_reset(f->g);
    assert_int_equal(f->gpu->ggtt[i], scratch(f));
    assert_int_equal(vgt_ggtt_guest_read(f->g, i * 8, 8, &v), 0);
    assert_int_equal(v, 0);
}

static void test_destroy_to_scratch_and_bad_cfg(void **state)
{
    struct fx *f = *state;
    uint64_t i = (f->cfg.high_base >> 12) + 1;
    struct vgt_ggtt_cfg bad = f->cfg;
    struct vgt_ggtt *g2;

    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, (9ull << 12) | 1), 0);
    assert_int_not_equal(f->gpu->ggtt[i], scratch(f));
    vgt_ggtt_destroy(f->g);
    /* back to the host's scratch page: the vGPU's own one is freed */
    assert_int_equal(f->gpu->ggtt[i], f->gpu->gpu.scratch_dma | GEN8_PTE_PRESENT);
    f->g = NULL;
    bad.high_base = 1024 * MIB - 4096; /* runs past the GGTT */
    assert_int_equal(vgt_ggtt_create(&bad, &g2), -EINVAL);
    bad = f->cfg;
    bad.low_base += 1; /* unaligned */
    assert_int_equal(vgt_ggtt_create(&bad, &g2), -EINVAL);
    assert_int_equal(vgt_ggtt_create(&f->cfg, &f->g), 0);
}

/* Issue 12: two vGPUs' unmapped entries never share a page the GPU can
 * write; neither is the host's scratch page. */
static void test_scratch_per_vgpu(void **state)
{
    struct fx *f = *state;
    struct vgt_ggtt_cfg c2 = f->cfg;
    struct vgt_ggtt *g2;
    uint64_t i1 = f->cfg.low_base >> 12, i2;

    c2.low_base = 256 * MIB;
    c2.high_base = 768 * MIB;
    assert_int_equal(vgt_ggtt_create(&c2, &g2), 0);
    i2 = c2.low_base >> 12;
    assert_int_not_equal(vgt_ggtt_scratch_dma(f->g), vgt_ggtt_scratch_dma(g2));
    assert_int_not_equal(vgt_ggtt_scratch_dma(f->g), f->gpu->gpu.scratch_dma);
    assert_int_not_equal(vgt_ggtt_scratch_dma(g2), f->gpu->gpu.scratch_dma);
    assert_int_equal(f->gpu->ggtt[i1], vgt_ggtt_scratch_dma(f->g) | GEN8_PTE_PRESENT);
    assert_int_equal(f->gpu->ggtt[i2], vgt_ggtt_scratch_dma(g2) | GEN8_PTE_PRESENT);
    /* a refused entry of vGPU 2 lands on its own page too */
    assert_int_equal(vgt_ggtt_guest_write(g2, (i2 + 1) * 8, 8, (1ull << 62) | (3ull << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[i2 + 1], vgt_ggtt_scratch_dma(g2) | GEN8_PTE_PRESENT);
    vgt_ggtt_destroy(g2);
}

/* The host-side lookup the submission path uses: committed, present,
 * owned entries only. */
static void test_lookup(void **state)
{
    struct fx *f = *state;
    uint64_t i = (f->cfg.high_base >> 12) + 5, gpa;
    uint64_t pte = (0x321ull << 12) | GEN8_PTE_PRESENT;

    assert_int_equal(vgt_ggtt_lookup(f->g, i << 12, &gpa), -EFAULT); /* not present */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, pte), 0);
    assert_int_equal(vgt_ggtt_lookup(f->g, (i << 12) + 0x44, &gpa), 0);
    assert_int_equal(gpa, (0x321ull << 12) + 0x44);
    /* a half written entry is not what the GPU maps: refused */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 4, 0x777000u | 1), 0);
    assert_int_equal(vgt_ggtt_lookup(f->g, i << 12, &gpa), -EFAULT);
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8 + 4, 4, 0), 0);
    assert_int_equal(vgt_ggtt_lookup(f->g, i << 12, &gpa), 0);
    assert_int_equal(gpa, 0x777000u);
    /* reserved bits: refused, as the physical entry is scratch */
    assert_int_equal(vgt_ggtt_guest_write(f->g, i * 8, 8, (1ull << 62) | pte), 0);
    assert_int_equal(vgt_ggtt_lookup(f->g, i << 12, &gpa), -EFAULT);
    /* outside the vGPU's ranges, even with a value written */
    assert_int_equal(vgt_ggtt_guest_write(f->g, ((f->cfg.low_base >> 12) - 1) * 8, 8, pte), 0);
    assert_int_equal(vgt_ggtt_lookup(f->g, f->cfg.low_base - 4096, &gpa), -EFAULT);
    assert_int_equal(vgt_ggtt_lookup(f->g, ~0ull, &gpa), -EFAULT);
}

/* Issue 18: the private table covers the ranges only. */
static void test_private_table_size(void **state)
{
    struct fx *f = *state;
    uint64_t rows = (f->cfg.low_size + f->cfg.high_size) >> 12;

    /* guest value + host entry + a half byte per row of its ranges, not
     * the whole 1M-entry GGTT */
    assert_true(vgt_ggtt_mem_bytes(f->g) <= rows * 17 + 4096);
    assert_true(vgt_ggtt_mem_bytes(f->g) < (f->gpu->nr_ggtt * 9) / 2); /* the old whole tables */
}

struct fence_log {
    unsigned n;
    unsigned hf[16];
    uint32_t lo[16], hi[16];
};

static void fence_rec(void *opaque, unsigned hf, uint32_t lo, uint32_t hi)
{
    struct fence_log *l = opaque;

    if (l->n < 16) {
        l->hf[l->n] = hf;
        l->lo[l->n] = lo;
        l->hi[l->n] = hi;
    }
    l->n++;
}

/* Two vGPUs on the same ranges: the physical GGTT holds the resident
 * one's entries; the other's writes stay private until it is made
 * resident, and then only the entries that differ are written. */
static void test_shared_residency(void **state)
{
    struct fx *f = *state;
    struct vgt_ggtt_phys *phys;
    struct vgt_ggtt *a, *b;
    struct vgt_ggtt_cfg c = f->cfg;
    struct vgt_ggtt_switch sw;
    struct vgt_ggtt_stats st;
    struct fence_log fl = {0};
    uint64_t i = (c.high_base >> 12) + 7, j = (c.low_base >> 12) + 2, da, db, gpa, sa;
    uint64_t rows = (c.low_size + c.high_size) >> 12;

    vgt_ggtt_destroy(f->g);
    f->g = NULL;
    assert_int_equal(vgt_ggtt_phys_create(&f->gpu->gpu, &phys), 0);
    c.phys = phys;
    c.fence_base = 4;
    c.fences = 2;
    c.fence_load = fence_rec;
    c.fence_opaque = &fl;
    assert_int_equal(vgt_ggtt_create(&c, &a), 0);
    assert_true(vgt_ggtt_is_resident(a));
    assert_int_equal(fl.n, 2); /* its fences cleared as it took them */
    assert_int_equal(vgt_ggtt_create(&c, &b), 0);
    assert_true(vgt_ggtt_conflicts(a, b));
    assert_false(vgt_ggtt_is_resident(b));
    /* The same first range: one scratch page, so unmapped entries match. */
    assert_int_equal(vgt_ggtt_scratch_dma(a), vgt_ggtt_scratch_dma(b));
    sa = vgt_ggtt_scratch_dma(a) | GEN8_PTE_PRESENT;

    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 0x10, &da), 0);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 0x20, &db), 0);
    assert_int_equal(vgt_ggtt_guest_write(a, i * 8, 8, (0x10ull << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[i], da | 1);
    /* b is switched out: its entry and fence stay private. */
    assert_int_equal(vgt_ggtt_guest_write(b, i * 8, 8, (0x20ull << 12) | 1), 0);
    assert_int_equal(vgt_ggtt_set_fence(b, 1, 0x1001, 0x2000), 0);
    assert_int_equal(f->gpu->ggtt[i], da | 1);
    assert_int_equal(fl.n, 2);
    /* ... yet the host-side lookup works from its private table. */
    assert_int_equal(vgt_ggtt_lookup(b, (i << 12) + 4, &gpa), 0);
    assert_int_equal(gpa, (0x20ull << 12) + 4);

    /* a's GPU work leaves something on the shared scratch page. */
    memset(f->gpu->gpu.ops->dma_to_va(&f->gpu->gpu, vgt_ggtt_scratch_dma(a)), 0x5a, 4096);
    assert_int_equal(vgt_ggtt_make_resident(b, 0, &sw), 0);
    assert_true(sw.switched);
    assert_int_equal(sw.written, 1);          /* entry i only */
    assert_int_equal(sw.skipped, rows - 1);   /* scratch on both sides */
    assert_int_equal(f->gpu->ggtt[i], db | 1);
    assert_int_equal(f->gpu->ggtt[j], sa);
    assert_true(vgt_ggtt_is_resident(b));
    assert_false(vgt_ggtt_is_resident(a));
    /* b's fences loaded, and the scratch page cleared for b */
    assert_int_equal(fl.n, 4);
    assert_int_equal(fl.hf[3], 5);
    assert_int_equal(fl.lo[3], 0x1001);
    assert_int_equal(fl.hi[3], 0x2000);
    assert_int_equal(((uint8_t *)f->gpu->gpu.ops->dma_to_va(&f->gpu->gpu, vgt_ggtt_scratch_dma(b)))[77], 0);

    /* a rewrites its GGTT while switched out: nothing reaches the GPU ... */
    assert_int_equal(vgt_ggtt_guest_write(a, j * 8, 8, (0x11ull << 12) | 1), 0);
    assert_int_equal(f->gpu->ggtt[j], sa);
    /* ... until it is resident again, with both of its entries. */
    assert_int_equal(vgt_ggtt_make_resident(a, 0, &sw), 0);
    assert_int_equal(sw.written, 2);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 0x11, &gpa), 0);
    assert_int_equal(f->gpu->ggtt[j], gpa | 1);
    assert_int_equal(f->gpu->ggtt[i], da | 1);
    /* Resident already: nothing to do. The full mode writes everything. */
    assert_int_equal(vgt_ggtt_make_resident(a, 0, &sw), 0);
    assert_false(sw.switched);
    assert_int_equal(sw.written, 0);
    assert_int_equal(vgt_ggtt_make_resident(a, VGT_GGTT_SWITCH_FULL, &sw), 0);
    assert_int_equal(sw.written, rows);
    vgt_ggtt_get_stats(a, &st);
    assert_int_equal(st.switches_in, 1);
    assert_int_equal(st.switch_written, 2 + rows);

    /* Destroying the switched-out one leaves the resident one's entries. */
    vgt_ggtt_destroy(b);
    assert_int_equal(f->gpu->ggtt[i], da | 1);
    assert_true(vgt_ggtt_is_resident(a));
    vgt_ggtt_destroy(a);
    assert_int_equal(f->gpu->ggtt[i], f->gpu->gpu.scratch_dma | GEN8_PTE_PRESENT);
    vgt_ggtt_phys_destroy(phys);
    assert_int_equal(vgt_ggtt_create(&f->cfg, &f->g), 0);
}

/* Partly overlapping vGPUs conflict; disjoint ones do not and are both
 * resident from the start. */
static void test_conflicts(void **state)
{
    struct fx *f = *state;
    struct vgt_ggtt_phys *phys;
    struct vgt_ggtt *a, *b, *c;
    struct vgt_ggtt_cfg ca = f->cfg, cb = f->cfg, cc = f->cfg;

    assert_int_equal(vgt_ggtt_phys_create(&f->gpu->gpu, &phys), 0);
    ca.phys = cb.phys = cc.phys = phys;
    cb.low_base = 256 * MIB;
    cb.high_base = 768 * MIB;          /* disjoint from a */
    cc.low_base = 256 * MIB;
    cc.high_base = 512 * MIB + 64 * MIB; /* meets a's high range only */
    assert_int_equal(vgt_ggtt_create(&ca, &a), 0);
    assert_int_equal(vgt_ggtt_create(&cb, &b), 0);
    assert_int_equal(vgt_ggtt_create(&cc, &c), 0);
    assert_false(vgt_ggtt_conflicts(a, b));
    assert_true(vgt_ggtt_conflicts(a, c));
    assert_true(vgt_ggtt_conflicts(b, c)); /* same low range */
    assert_true(vgt_ggtt_is_resident(a));
    assert_true(vgt_ggtt_is_resident(b));
    assert_false(vgt_ggtt_is_resident(c));
    assert_int_equal(vgt_ggtt_make_resident(c, 0, NULL), 0);
    assert_false(vgt_ggtt_is_resident(a));
    assert_false(vgt_ggtt_is_resident(b));
    vgt_ggtt_destroy(c);
    vgt_ggtt_destroy(b);
    vgt_ggtt_destroy(a);
    vgt_ggtt_phys_destroy(phys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_points_ranges_at_scratch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failsafe_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_to_scratch_and_bad_cfg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_per_vgpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_table_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_residency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

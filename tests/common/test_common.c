/* Tests of the shared pieces: the gen8 PPGTT walk (the oracle every GPU and
 * shadow test relies on), the sim arena, and small utilities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/gen8_gtt.h"
#include "vgt/sim_arena.h"
#include "vgt/util.h"

struct mem {
    struct sim_arena *a;
};

static int rd64(void *opaque, uint64_t pa, uint64_t *val)
{
    struct mem *m = opaque;
    uint64_t *p = sim_arena_ptr(m->a, pa, 8);

    if (!p)
        return -1;
    *val = *p;
    return 0;
}

static uint64_t *entry(struct mem *m, uint64_t table, unsigned idx)
{
    return sim_arena_ptr(m->a, table + idx * 8ull, 8);
}

static uint64_t page(struct mem *m)
{
    uint64_t hpa;

    assert_int_equal(sim_arena_alloc(m->a, 1, 1, &hpa), 0);
    return hpa;
}

static void test_walk_4k_2m_64k(void **state)
{
    struct mem m;
    struct gen8_walk w;
    uint64_t pml4, pdp, pd, pt, pt64, data, big;
    const uint64_t va = 0x0000123456789000ull;
    const uint64_t p = GEN8_PTE_PRESENT | GEN8_PTE_RW;

    (void)state;
    assert_int_equal(sim_arena_create(64ull << 20, &m.a), 0);
    pml4 = page(&m);
    pdp = page(&m);
    pd = page(&m);
    pt = page(&m);
    pt64 = page(&m);
    data = page(&m);
    assert_int_equal(sim_arena_alloc(m.a, 512, 512, &big), 0);

    *entry(&m, pml4, gen8_pt_index(va, 3)) = pdp | p;
    *entry(&m, pdp, gen8_pt_index(va, 2)) = pd | p;
    *entry(&m, pd, gen8_pt_index(va, 1)) = pt | p;
    *entry(&m, pt, gen8_pt_index(va, 0)) = data | GEN8_PTE_PRESENT; /* read-only */

    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va + 0x10, &w), 0);
    assert_int_equal(w.pa, data + 0x10);
    assert_int_equal(w.page_size, 4096);
    assert_false(w.writable);

    /* The neighbouring PT slot is empty: not present at level PT. */
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va + 0x1000, &w), -14);
    assert_int_equal(w.fault, GEN8_WALK_NOT_PRESENT);
    assert_int_equal(w.fault_level, GEN8_LVL_PT);

    /* 2 MiB page in the next PD slot. */
    uint64_t va2 = (va & ~((2ull << 20) - 1)) + (2ull << 20);
    *entry(&m, pd, gen8_pt_index(va2, 1)) = big | p | GEN8_PDE_PS_2M;
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va2 + 0x12345, &w), 0);
    assert_int_equal(w.pa, big + 0x12345);
    assert_int_equal(w.page_size, 2u << 20);

    /* 64 KiB table: PTE every 16 slots. */
    uint64_t va3 = va2 + (2ull << 20);
    *entry(&m, pd, gen8_pt_index(va3, 1)) = pt64 | p | GEN8_PDE_IPS_64K;
    *entry(&m, pt64, 16 * 3) = (big + (64u << 10)) | p;
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va3 + 3 * (64u << 10) + 0x4321, &w), 0);
    assert_int_equal(w.pa, big + (64u << 10) + 0x4321);
    assert_int_equal(w.page_size, 64u << 10);

    /* Reserved bits and 1 GiB pages fault; so does a VA past 48 bits. */
    *entry(&m, pt, gen8_pt_index(va, 0)) = data | p | (1ull << 45);
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va, &w), -14);
    assert_int_equal(w.fault, GEN8_WALK_RESERVED);
    *entry(&m, pdp, gen8_pt_index(va, 2)) = pd | p | GEN8_PDPE_PS_1G;
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va, &w), -14);
    assert_int_equal(w.fault, GEN8_WALK_RESERVED);
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, 1ull << 48, &w), -14);
    assert_int_equal(w.fault, GEN8_WALK_NON_CANONICAL);

    /* A table pointer outside memory is a read fault, not a crash. */
    *entry(&m, pml4, gen8_pt_index(va, 3)) = 0x1000 | p;
    assert_int_equal(gen8_ppgtt_walk(rd64, &m, pml4, va, &w), -14);
    assert_int_equal(w.fault, GEN8_WALK_READ_FAILED);
    sim_arena_destroy(m.a);
}

static void test_arena(void **state)
{
    struct sim_arena *a;
    uint64_t h1, h2, h3;

    (void)state;
    assert_int_equal(sim_arena_create(4ull << 20, &a), 0);
    assert_int_equal(sim_arena_frames_free(a), 1024);
    assert_int_equal(sim_arena_alloc(a, 3, 1, &h1), 0);
    assert_true(h1 >= SIM_ARENA_HPA_BASE);
    assert_int_equal(sim_arena_alloc(a, 16, 16, &h2), 0);
    assert_int_equal((h2 - SIM_ARENA_HPA_BASE) % (16 * 4096), 0);
    assert_non_null(sim_arena_ptr(a, h2, 16 * 4096));
    assert_null(sim_arena_ptr(a, 0x1000, 8));                     /* below */
    assert_null(sim_arena_ptr(a, SIM_ARENA_HPA_BASE + (4ull << 20) - 4, 8)); /* straddles end */
    assert_null(sim_arena_ptr(a, UINT64_MAX - 2, 8));              /* wraps */
    assert_int_equal(sim_arena_alloc(a, 2000, 1, &h3), -12);
    assert_int_equal(sim_arena_free(a, h1, 3), 0);
    assert_int_equal(sim_arena_free(a, h1, 3), -22); /* double free refused */
    assert_int_equal(sim_arena_free(a, h2, 16), 0);
    assert_int_equal(sim_arena_frames_free(a), 1024);
    sim_arena_destroy(a);
}

/* A page from outside the arena (a real guest's frame mapped into vgtd)
 * gets a host-physical address of its own: reachable within its page,
 * never straddling into the next slot, gone after unimport. */
static void test_arena_import(void **state)
{
    struct sim_arena *a;
    uint8_t *p1 = aligned_alloc(4096, 4096), *p2 = aligned_alloc(4096, 4096);
    uint64_t h1, h2, h3;

    (void)state;
    assert_non_null(p1);
    assert_non_null(p2);
    memset(p1, 0x11, 4096);
    memset(p2, 0x22, 4096);
    assert_int_equal(sim_arena_create(2ull << 20, &a), 0); /* 512 slots */
    assert_int_equal(sim_arena_import(a, p1 + 8, &h1), -22); /* not a page */
    assert_int_equal(sim_arena_import(a, p1, &h1), 0);
    assert_int_equal(sim_arena_import(a, p2, &h2), 0);
    assert_true(h1 >= SIM_ARENA_EXT_BASE && h2 >= SIM_ARENA_EXT_BASE && h1 != h2);
    assert_false(vgt_range_within(h1, 4096, SIM_ARENA_HPA_BASE, sim_arena_size(a)));
    assert_ptr_equal(sim_arena_ptr(a, h1 + 100, 8), p1 + 100);
    assert_ptr_equal(sim_arena_ptr(a, h2, 4096), p2);
    assert_true(sim_arena_contains(a, h2, 4096));
    assert_null(sim_arena_ptr(a, h1 + 4092, 8)); /* straddles into the next slot */
    assert_null(sim_arena_ptr(a, h1, 0));
    assert_int_equal(sim_arena_unimport(a, h1), 0);
    assert_null(sim_arena_ptr(a, h1, 8));
    assert_false(sim_arena_contains(a, h1, 4096));
    assert_int_equal(sim_arena_unimport(a, h1), -22); /* twice */
    assert_int_equal(sim_arena_unimport(a, SIM_ARENA_HPA_BASE), -22);
    assert_int_equal(sim_arena_unimport(a, UINT64_MAX & ~0xfffull), -22);
    /* Every slot taken: refused, not wrapped onto a live one. */
    for (unsigned i = 0; i < 511; i++)
        assert_int_equal(sim_arena_import(a, p1, &h3), 0);
    assert_int_equal(sim_arena_import(a, p1, &h3), -28);
    assert_ptr_equal(sim_arena_ptr(a, h2, 1), p2);
    sim_arena_destroy(a);
    free(p1);
    free(p2);
}

static void test_util(void **state)
{
    uint64_t v;

    (void)state;
    assert_true(vgt_range_within(10, 5, 10, 5));
    assert_false(vgt_range_within(10, 6, 10, 5));
    assert_false(vgt_range_within(9, 1, 10, 5));
    assert_false(vgt_range_within(UINT64_MAX, 2, 0, UINT64_MAX));
    assert_int_equal(vgt_parse_u64("0x78000", &v), 0);
    assert_int_equal(v, 0x78000);
    assert_int_equal(vgt_parse_u64("12z", &v), -22);
    assert_int_equal(vgt_parse_u64("-1", &v), -22);
    assert_int_equal(VGT_GENMASK(38, 12), GEN8_PTE_ADDR_MASK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_4k_2m_64k),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_arena_import),
        cmocka_unit_test(test_util),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

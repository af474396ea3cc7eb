/* PPGTT shadowing, directed cases: building, write-protect sync, huge and
 * 64 KiB pages, refusals, sharing, half writes, retyping, hostile tables,
 * out-of-sync pages, LRU, reset. Every case ends with the oracle. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ppgtt_fixture.h"
#include "vgt/util.h"

#define ROOT 100
#define PDP 101
#define PD 102
#define PT 103

static void gw64(struct fx *x, uint64_t gpa, uint64_t v)
{
    assert_int_equal(fake_hv_guest_write64(x->f, gpa, v), 0);
}

static void oracle_ok(struct fx *x, uint64_t pml4_gfn, uint64_t root)
{
    if (ppgtt_oracle_check(&x->o, pml4_gfn << 12, root)) {
        print_error("oracle: %s\n", x->o.why);
        fail();
    }
    assert_false(x->o.truncated);
}

static struct vgt_ppgtt_stats stats(struct fx *x)
{
    struct vgt_ppgtt_stats st;

    vgt_ppgtt_get_stats(x->p, &st);
    return st;
}

/* PML4[0] -> PDP[0] -> PD[0] -> PT, va 0..: the guest driver's setup. */
static void build_chain(struct fx *x)
{
    gw64(x, fx_gpa(ROOT, 0), fx_pte(PDP, PTE_PRW));
    gw64(x, fx_gpa(PDP, 0), fx_pte(PD, PTE_PRW));
    gw64(x, fx_gpa(PD, 0), fx_pte(PT, PTE_PRW));
    gw64(x, fx_gpa(PT, 0), fx_pte(500, PTE_PRW));
    gw64(x, fx_gpa(PT, 1), fx_pte(501, PTE_P)); /* read-only */
}

static void test_build_and_wp(void **state)
{
    struct fx x;
    uint64_t root, t0;

    (void)state;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 1, NULL), 0);
    build_chain(&x);
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    oracle_ok(&x, ROOT, root);
    assert_true(x.o.checked >= 2);
    for (uint64_t g = ROOT; g <= PT; g++)
        assert_true(fake_hv_is_wp(x.f, g));
    assert_false(fake_hv_is_wp(x.f, 500));
    assert_int_equal(stats(&x).shadow_pages, 4);

    /* 8-byte writes are reflected at once, no sync needed. */
    t0 = x.f->wp_traps;
    gw64(&x, fx_gpa(PT, 2), fx_pte(502, PTE_PRW));
    gw64(&x, fx_gpa(PT, 0), 0);
    assert_int_equal(x.f->wp_traps - t0, 2);
    oracle_ok(&x, ROOT, root);
    /* The write reached guest memory (the handler applies it). */
    assert_int_equal(*(uint64_t *)((uint8_t *)fake_hv_gfn_ptr(x.f, PT) + 16), fx_pte(502, PTE_PRW));

    /* A new table linked by a trapped write is shadowed and protected. */
    gw64(&x, fx_gpa(104, 7), fx_pte(600, PTE_PRW));
    gw64(&x, fx_gpa(PD, 1), fx_pte(104, PTE_PRW));
    assert_true(fake_hv_is_wp(x.f, 104));
    oracle_ok(&x, ROOT, root);

    /* Unlinked: unprotected, its writes no longer trap. */
    gw64(&x, fx_gpa(PD, 1), 0);
    assert_false(fake_hv_is_wp(x.f, 104));
    t0 = x.f->wp_traps;
    gw64(&x, fx_gpa(104, 7), 0x1234);
    assert_int_equal(x.f->wp_traps, t0);
    oracle_ok(&x, ROOT, root);

    assert_int_equal(vgt_ppgtt_unpin(x.p, ROOT << 12), 0);
    assert_int_equal(vgt_ppgtt_unpin(x.p, ROOT << 12), -ENOENT);
    vgt_ppgtt_destroy(x.p);
    x.p = NULL;
    assert_int_equal(x.g->pages_live, 0);
    for (uint64_t g = ROOT; g <= PT; g++)
        assert_false(fake_hv_is_wp(x.f, g));
    fx_fini(&x);
}

static void test_bad_args(void **state)
{
    struct fx x;
    uint64_t root;

    (void)state;
    assert_int_equal(fx_init(&x, 8, FAKE_HV_SCRAMBLE_4K, 2, NULL), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, (ROOT << 12) | 8, &root), -EINVAL);
    assert_int_equal(vgt_ppgtt_pin(x.p, x.f->hv.max_gfn << 12, &root), -EFAULT);
    assert_int_equal(vgt_ppgtt_pin(x.p, ~0ull << 12, &root), -EFAULT);
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), -ENOENT);
    assert_int_equal(vgt_ppgtt_g2v_destroy(x.p, ROOT << 12), -ENOENT);
    /* A handler call with a malformed access is refused. */
    assert_int_equal(vgt_ppgtt_wp_write(x.p, 0x1003, 4, 0), -EINVAL);
    assert_int_equal(vgt_ppgtt_wp_write(x.p, 0x1000, 3, 0), -EINVAL);
    fx_fini(&x);
}

static void test_huge_2m(void **state)
{
    struct fx x;
    uint64_t root;

    (void)state;
    /* Contiguous host backing: the 2 MiB entry stays 2 MiB. */
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_2M, 3, NULL), 0);
    build_chain(&x);
    gw64(&x, fx_gpa(PD, 1), fx_pte(1024, PTE_PRW | GEN8_PDE_PS_2M));
    /* Address bits 20..12 of a 2 MiB PDE are ignored by the walker. */
    gw64(&x, fx_gpa(PD, 2), fx_pte(2048 + 5, PTE_P | GEN8_PDE_PS_2M));
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).huge_2m_kept, 2);
    assert_int_equal(stats(&x).huge_2m_split, 0);
    /* Out of guest RAM: refused. */
    gw64(&x, fx_gpa(PD, 3), fx_pte(x.f->hv.max_gfn, PTE_PRW | GEN8_PDE_PS_2M));
    oracle_ok(&x, ROOT, root);
    fx_fini(&x);

    /* Scrambled 4 KiB backing: split into a private 4 KiB table. */
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 3, NULL), 0);
    build_chain(&x);
    gw64(&x, fx_gpa(PD, 1), fx_pte(1024, PTE_PRW | GEN8_PDE_PS_2M));
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).huge_2m_kept, 0);
    assert_int_equal(stats(&x).huge_2m_split, 1);
    assert_int_equal(stats(&x).shadow_pages, 5);
    /* Remapped to another 2 MiB, then to a 4 KiB table: the split goes. */
    gw64(&x, fx_gpa(PD, 1), fx_pte(1536, PTE_P | GEN8_PDE_PS_2M));
    oracle_ok(&x, ROOT, root);
    gw64(&x, fx_gpa(PD, 1), fx_pte(PT, PTE_PRW));
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).shadow_pages, 4);
    fx_fini(&x);
}

static void test_ips_64k(void **state)
{
    struct fx x;
    uint64_t root;

    (void)state;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 4, NULL), 0);
    build_chain(&x);
    gw64(&x, fx_gpa(110, 0), fx_pte(4096, PTE_PRW));
    gw64(&x, fx_gpa(110, 16), fx_pte(4112 + 3, PTE_P)); /* low bits ignored */
    gw64(&x, fx_gpa(110, 17), fx_pte(4200, PTE_PRW));   /* never read by the GPU */
    gw64(&x, fx_gpa(110, 496), fx_pte(x.f->hv.max_gfn - 8, PTE_PRW)); /* half outside */
    gw64(&x, fx_gpa(PD, 1), fx_pte(110, PTE_PRW | GEN8_PDE_IPS_64K));
    /* The same page also used as a plain 4 KiB table elsewhere. */
    gw64(&x, fx_gpa(PD, 2), fx_pte(110, PTE_PRW));
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    oracle_ok(&x, ROOT, root);
    gw64(&x, fx_gpa(110, 32), fx_pte(4128, PTE_PRW));
    gw64(&x, fx_gpa(110, 0), 0);
    oracle_ok(&x, ROOT, root);
    fx_fini(&x);
}

static void test_refusals(void **state)
{
    struct fx x, other;
    uint64_t root;
    struct vgt_ppgtt_stats st;

    (void)state;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 5, NULL), 0);
    /* Another guest on the same machine. */
    assert_int_equal(fake_hv_create(x.a, 2, 16ull << 20, FAKE_HV_SCRAMBLE_4K, 9, &other.f), 0);
    build_chain(&x);
    gw64(&x, fx_gpa(PDP, 1), fx_pte(1000, PTE_PRW | GEN8_PDPE_PS_1G));
    gw64(&x, fx_gpa(PT, 3), fx_pte(600, PTE_PRW) | (1ull << 50));          /* reserved */
    gw64(&x, fx_gpa(PT, 4), fx_pte(x.f->hv.max_gfn + 5, PTE_PRW));         /* outside */
    gw64(&x, fx_gpa(PT, 5), (other.f->p2m[3]) | PTE_PRW);                   /* other guest's host page */
    gw64(&x, fx_gpa(PD, 5), fx_pte(x.f->hv.max_gfn + 1, PTE_PRW));         /* table outside */
    gw64(&x, fx_gpa(PDP, 2), fx_pte(PD, PTE_PRW) | (1ull << 40));           /* reserved table */
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    oracle_ok(&x, ROOT, root);
    st = stats(&x);
    assert_int_equal(st.rejected_1g, 1);
    assert_true(st.scratch_entries >= 5);
    /* Nothing of the other guest is reachable through the shadow. */
    for (uint64_t va = 0; va < (8u << 12); va += 4096) {
        struct gen8_walk w;

        (void)w;
        assert_int_equal(ppgtt_oracle_check_va(&x.o, ROOT << 12, root, va), 0);
    }
    fake_hv_destroy(other.f);
    fx_fini(&x);
}

static void test_sharing(void **state)
{
    struct fx x;
    uint64_t ra, rb;

    (void)state;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 6, NULL), 0);
    build_chain(&x);
    gw64(&x, fx_gpa(200, 0), fx_pte(PDP, PTE_PRW));  /* second context, same PDP */
    gw64(&x, fx_gpa(200, 3), fx_pte(PDP, PTE_P));
    gw64(&x, fx_gpa(PDP, 1), fx_pte(PD, PTE_PRW));   /* same PD twice */
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &ra), 0);
    assert_int_equal(vgt_ppgtt_g2v_create(x.p, 200ull << 12), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, 200ull << 12, &rb), 0);
    assert_int_not_equal(ra, rb);
    /* Two roots, one PDP, one PD, one PT. */
    assert_int_equal(stats(&x).shadow_pages, 5);
    oracle_ok(&x, ROOT, ra);
    oracle_ok(&x, 200, rb);
    /* A write under the shared tables shows in both. */
    gw64(&x, fx_gpa(PT, 9), fx_pte(777, PTE_PRW));
    oracle_ok(&x, ROOT, ra);
    oracle_ok(&x, 200, rb);
    assert_int_equal(vgt_ppgtt_unpin(x.p, 200ull << 12), 0);
    assert_int_equal(vgt_ppgtt_g2v_destroy(x.p, 200ull << 12), 0);
    assert_int_equal(stats(&x).shadow_pages, 4);
    assert_false(fake_hv_is_wp(x.f, 200));
    assert_true(fake_hv_is_wp(x.f, PDP));
    oracle_ok(&x, ROOT, ra);
    fx_fini(&x);
}

static void test_half_writes(void **state)
{
    struct vgt_ppgtt_config c;
    struct fx x;
    uint64_t root, gpa = fx_gpa(PT, 6), v = fx_pte(0x1234, PTE_PRW) | (1ull << 50);
    struct gen8_walk w;

    (void)state;
    vgt_ppgtt_config_default(&c);
    c.oos = false;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 7, &c), 0);
    build_chain(&x);
    gw64(&x, gpa, fx_pte(0x900, PTE_PRW));
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    /* Low half only: the shadow keeps the last consistent entry. */
    assert_int_equal(fake_hv_guest_write32(x.f, gpa, (uint32_t)fx_pte(0x1234, PTE_PRW)), 0);
    assert_int_equal(ppgtt_oracle_check_va(&x.o, ROOT << 12, root, 6 << 12), -1);
    {
        uint64_t dma;

        assert_int_equal(vgt_hv_gfn_to_dma(&x.f->hv, 0x900, &dma), 0);
        assert_int_equal(ppgtt_oracle_shadow_walk(&x.o, root, 6 << 12, &w), 0);
        assert_int_equal(w.pa, dma);
    }
    /* Sync reconciles it. */
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).half_reconciled, 1);
    /* Both halves, high first: consistent at the second, applied at once
     * (here the reserved bit makes it a scratch entry). */
    assert_int_equal(fake_hv_guest_write32(x.f, gpa + 4, (uint32_t)(v >> 32)), 0);
    assert_int_equal(fake_hv_guest_write32(x.f, gpa, (uint32_t)v), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).half_reconciled, 1);
    /* Byte writes are held for the sync too. */
    assert_int_equal(fake_hv_guest_write(x.f, gpa + 6, "\0", 1), 0);
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).traps_partial, 4);
    fx_fini(&x);
}

/* The host runs out of pages while a trapped write builds a new shadow
 * table: that entry stays out of the shadow (not present: safe) until the
 * next sync builds it; it must not stay out for good (fuzz_ppgtt's
 * regress-alloc-fail-in-trap). */
static const struct vgt_hostgpu_ops *real_gpu_ops;
static unsigned fail_allocs, allow_allocs;

/* The next allow_allocs calls work, then fail_allocs calls fail. */
static int failing_alloc_page(struct vgt_hostgpu *g, uint64_t *dma, void **va)
{
    if (allow_allocs) {
        allow_allocs--;
        return real_gpu_ops->alloc_page(g, dma, va);
    }
    if (fail_allocs) {
        fail_allocs--;
        return -ENOMEM;
    }
    return real_gpu_ops->alloc_page(g, dma, va);
}

/* The chain built but not reachable from the pinned root yet, and the
 * host GPU's page allocation going through failing_alloc_page. */
static void alloc_fail_setup(struct fx *x, struct vgt_hostgpu_ops *failing, uint64_t *root)
{
    struct vgt_ppgtt_config c;

    vgt_ppgtt_config_default(&c);
    c.oos = false;
    assert_int_equal(fx_init(x, 32, FAKE_HV_SCRAMBLE_4K, 7, &c), 0);
    build_chain(x);
    gw64(x, fx_gpa(ROOT, 0), 0);
    assert_int_equal(vgt_ppgtt_pin(x->p, ROOT << 12, root), 0);
    real_gpu_ops = x->g->gpu.ops;
    *failing = *real_gpu_ops;
    failing->alloc_page = failing_alloc_page;
    x->g->gpu.ops = failing;
}

static void test_alloc_fail_in_trap(void **state)
{
    struct vgt_hostgpu_ops failing;
    struct fx x;
    uint64_t root;

    (void)state;
    alloc_fail_setup(&x, &failing, &root);
    fail_allocs = 100;
    /* The trap cannot build PDP's shadow; the guest's write still lands
     * (the handler's -ENOMEM goes back to the write's issuer). */
    fake_hv_guest_write64(x.f, fx_gpa(ROOT, 0), fx_pte(PDP, PTE_PRW));
    assert_true(stats(&x).alloc_failures >= 1);
    assert_int_equal(ppgtt_oracle_check_va(&x.o, ROOT << 12, root, 0), -1);
    /* Memory back, no new write: the next sync builds the pending entry. */
    fail_allocs = 0;
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    x.g->gpu.ops = real_gpu_ops;
    fx_fini(&x);
}

/* The trapped write's own table is built, but one below it is not: the
 * failed entry is the PDP's, not the PML4's the guest wrote. It must stay
 * pending where it failed, so a sync fails (and keeps failing) until it
 * is built; retrying the PML4 entry finds the PDP shadow already there and
 * built nothing (fuzz_ppgtt's regress-pend-where-it-failed, where the
 * budget refused the table). */
static void test_alloc_fail_below_trap(void **state)
{
    struct vgt_hostgpu_ops failing;
    struct fx x;
    uint64_t root;

    (void)state;
    alloc_fail_setup(&x, &failing, &root);
    allow_allocs = 1; /* PDP's shadow */
    fail_allocs = 100; /* PD's, at every try */
    fake_hv_guest_write64(x.f, fx_gpa(ROOT, 0), fx_pte(PDP, PTE_PRW));
    assert_true(stats(&x).alloc_failures >= 1);
    assert_int_equal(ppgtt_oracle_check_va(&x.o, ROOT << 12, root, 0), -1);
    /* Still no memory: every sync refuses the submission. */
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), -ENOMEM);
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), -ENOMEM);
    assert_int_equal(ppgtt_oracle_check_va(&x.o, ROOT << 12, root, 0), -1);
    /* Memory back, no new write: the next sync builds PD and PT. */
    fail_allocs = 0;
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    x.g->gpu.ops = real_gpu_ops;
    fx_fini(&x);
}

/* A root the shadow budget refused is refused again at once while nothing
 * it depends on changed (no rebuild of its tables), and built again when
 * something did: a guest write to a table it read, a p2m change, or
 * shadow memory given back. What is accepted or refused stays the same. */
static void test_refusal_cached(void **state)
{
    struct vgt_ppgtt_config c;
    struct vgt_ppgtt_stats st;
    struct fx x;
    uint64_t q, r, shadowed;

    (void)state;
    vgt_ppgtt_config_default(&c);
    c.budget_bytes = 64u << 10; /* allocation fails at 128 KiB: ~15 tables */
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 11, &c), 0);
    /* Q: a PML4 and 5 PDPs; R: a PML4 and 10 PDPs. Each fits alone,
     * both do not. Written before any pin: nothing is protected yet. */
    for (unsigned i = 0; i < 5; i++)
        gw64(&x, fx_gpa(3000, i), fx_pte(3001 + i, PTE_PRW));
    for (unsigned i = 0; i < 10; i++)
        gw64(&x, fx_gpa(2000, i), fx_pte(2001 + i, PTE_PRW));
    assert_int_equal(vgt_ppgtt_pin(x.p, 3000ull << 12, &q), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    st = stats(&x);
    assert_int_equal(st.refusals_cached, 0);
    assert_int_equal(st.roots, 1);
    assert_int_equal(st.shadow_pages, 6); /* Q's only: R's partial build is gone */
    assert_true(fake_hv_is_wp(x.f, 2000)); /* kept protected to see writes */

    /* Nothing changed: refused without building anything. */
    shadowed = st.entries_shadowed;
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    assert_int_equal(vgt_ppgtt_g2v_create(x.p, 2000ull << 12), -ENOMEM);
    st = stats(&x);
    assert_int_equal(st.refusals_cached, 2);
    assert_int_equal(st.entries_shadowed, shadowed);
    assert_int_equal(st.roots, 1);
    /* A write to a page no shadow and no refusal read changes nothing. */
    gw64(&x, fx_gpa(5000, 0), fx_pte(5001, PTE_PRW));
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    assert_int_equal(stats(&x).refusals_cached, 3);

    /* A write to a table the build read (even of the same value): built
     * again, and refused again by the budget. */
    gw64(&x, fx_gpa(2005, 7), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    st = stats(&x);
    assert_int_equal(st.refusals_cached, 3);
    assert_true(st.entries_shadowed > shadowed);
    /* The p2m changed (INVALIDATE): built again. */
    shadowed = st.entries_shadowed;
    assert_int_equal(vgt_ppgtt_revalidate(x.p), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    st = stats(&x);
    assert_int_equal(st.refusals_cached, 3);
    assert_true(st.entries_shadowed > shadowed);
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    assert_int_equal(stats(&x).refusals_cached, 4);

    /* Q's guest drops its PDPs: their shadows are freed, so R now fits
     * although none of R's tables changed. */
    for (unsigned i = 0; i < 5; i++)
        gw64(&x, fx_gpa(3000, i), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), 0);
    assert_int_equal(stats(&x).refusals_cached, 4);
    oracle_ok(&x, 2000, r);
    oracle_ok(&x, 3000, q);
    /* Its pages are the shadows' now: a write is reflected as usual. */
    gw64(&x, fx_gpa(2003, 0), fx_pte(2500, PTE_PRW));
    assert_int_equal(vgt_ppgtt_sync(x.p, 2000ull << 12), 0);
    oracle_ok(&x, 2000, r);

    vgt_ppgtt_reset(x.p);
    st = stats(&x);
    assert_int_equal(st.wp_pages, 0);
    assert_int_equal(st.guest_pt_pages, 0);
    assert_int_equal(st.shadow_bytes, 0);
    for (uint64_t g = 0; g < x.f->hv.max_gfn; g++)
        assert_false(fake_hv_is_wp(x.f, g));
    fx_fini(&x);
}

/* A refusal whose pages are then written and whose vGPU is destroyed
 * leaves no protection behind (the refusal's pages are its own). */
static void test_refusal_destroy(void **state)
{
    struct vgt_ppgtt_config c;
    struct fx x;
    uint64_t r;

    (void)state;
    vgt_ppgtt_config_default(&c);
    c.budget_bytes = 16u << 10;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 12, &c), 0);
    for (unsigned i = 0; i < 10; i++)
        gw64(&x, fx_gpa(2000, i), fx_pte(2001 + i, PTE_PRW));
    assert_int_equal(vgt_ppgtt_pin(x.p, 2000ull << 12, &r), -ENOMEM);
    assert_true(fake_hv_is_wp(x.f, 2001));
    vgt_ppgtt_destroy(x.p);
    x.p = NULL;
    for (uint64_t g = 0; g < x.f->hv.max_gfn; g++)
        assert_false(fake_hv_is_wp(x.f, g));
    assert_int_equal(x.g->pages_live, 0);
    fx_fini(&x);
}

/* The host out of pages is not cached: its memory is not this vGPU's, it
 * may come back without anything here changing. */
static void test_host_refusal_not_cached(void **state)
{
    struct vgt_hostgpu_ops failing;
    struct fx x;
    uint64_t root, r;

    (void)state;
    alloc_fail_setup(&x, &failing, &root);
    gw64(&x, fx_gpa(600, 0), fx_pte(PDP, PTE_PRW));
    fail_allocs = 100;
    assert_int_equal(vgt_ppgtt_pin(x.p, 600ull << 12, &r), -ENOMEM);
    assert_false(fake_hv_is_wp(x.f, 600)); /* nothing kept */
    fail_allocs = 0;
    assert_int_equal(vgt_ppgtt_pin(x.p, 600ull << 12, &r), 0);
    assert_int_equal(stats(&x).refusals_cached, 0);
    oracle_ok(&x, 600, r);
    x.g->gpu.ops = real_gpu_ops;
    fx_fini(&x);
}

static void test_hostile_tables(void **state)
{
    struct fx x;
    uint64_t root, pages;

    (void)state;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 8, NULL), 0);
    build_chain(&x);
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    pages = stats(&x).shadow_pages;

    /* A PML4 pointing at itself: the page is a PML4, PDP, PD and PT. */
    gw64(&x, fx_gpa(ROOT, 5), fx_pte(ROOT, PTE_PRW));
    oracle_ok(&x, ROOT, root);
    /* ROOT read as PDP, PD, PT; PDP read as PD and PT; PD read as PT. */
    assert_int_equal(stats(&x).shadow_pages, pages + 6);
    gw64(&x, fx_gpa(ROOT, 7), fx_pte(600, PTE_PRW)); /* updates all four */
    oracle_ok(&x, ROOT, root);
    gw64(&x, fx_gpa(ROOT, 5), 0);
    oracle_ok(&x, ROOT, root);
    gw64(&x, fx_gpa(ROOT, 7), 0);
    assert_int_equal(stats(&x).shadow_pages, pages);

    /* A cycle: PDP -> PD -> the PDP page read as a PT. */
    gw64(&x, fx_gpa(PD, 3), fx_pte(PDP, PTE_PRW));
    oracle_ok(&x, ROOT, root);
    /* The PT page also used as a PD (same page at two levels). */
    gw64(&x, fx_gpa(PDP, 4), fx_pte(PT, PTE_PRW));
    oracle_ok(&x, ROOT, root);
    gw64(&x, fx_gpa(PT, 8), fx_pte(PD, PTE_PRW));
    oracle_ok(&x, ROOT, root);

    /* The PT freed and reused as data while still referenced: every word
     * the guest writes is reflected (and refused where it must be). */
    for (unsigned i = 0; i < 512; i++)
        gw64(&x, fx_gpa(PT, i), 0x0123456789abcdefull * (i + 1) ^ ((uint64_t)i << 12));
    oracle_ok(&x, ROOT, root);
    /* Then dropped by both parents: its shadows go, protection too. */
    gw64(&x, fx_gpa(PDP, 4), 0);
    gw64(&x, fx_gpa(PD, 0), 0);
    oracle_ok(&x, ROOT, root);
    assert_false(fake_hv_is_wp(x.f, PT));
    fx_fini(&x);
}

static void test_oos(void **state)
{
    struct vgt_ppgtt_config c;
    struct fx x;
    uint64_t root, t0;
    struct vgt_ppgtt_stats st;

    (void)state;
    vgt_ppgtt_config_default(&c);
    c.oos_pool = 2;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 9, &c), 0);
    build_chain(&x);
    for (unsigned k = 1; k < 4; k++)
        gw64(&x, fx_gpa(PD, k), fx_pte(PT + k, PTE_PRW));
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    /* Two trapped writes (the threshold), then the page is out of sync. */
    t0 = x.f->wp_traps;
    for (unsigned i = 0; i < 100; i++)
        gw64(&x, fx_gpa(PT, i % 20), fx_pte(1000 + i, PTE_PRW));
    assert_int_equal(x.f->wp_traps - t0, 2);
    assert_false(fake_hv_is_wp(x.f, PT));
    st = stats(&x);
    assert_int_equal(st.oos_pages, 1);
    /* Before the sync the shadow is stale; after it, exact. */
    assert_int_equal(ppgtt_oracle_check(&x.o, ROOT << 12, root), -1);
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    st = stats(&x);
    assert_int_equal(st.oos_syncs, 1);
    assert_int_equal(st.oos_sync_entries, 20);
    /* The pool is bounded: the oldest page goes back in sync. */
    for (unsigned k = 1; k < 4; k++)
        for (unsigned i = 0; i < 3; i++)
            gw64(&x, fx_gpa(PT + k, i), fx_pte(2000 + i + k, PTE_PRW));
    st = stats(&x);
    assert_int_equal(st.oos_pages, 2);
    assert_true(st.oos_evict >= 2);
    assert_true(fake_hv_is_wp(x.f, PT));
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    /* An out-of-sync PT linked as a PD: back in sync and protected. */
    assert_false(fake_hv_is_wp(x.f, PT + 3));
    gw64(&x, fx_gpa(PT + 3, 9), fx_pte(PT, PTE_PRW));
    gw64(&x, fx_gpa(PDP, 1), fx_pte(PT + 3, PTE_PRW));
    assert_true(fake_hv_is_wp(x.f, PT + 3));
    assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    oracle_ok(&x, ROOT, root);
    /* Pages the guest stopped writing go back in sync after oos_cold
     * resyncs that found nothing. */
    assert_true(stats(&x).oos_pages > 0);
    for (unsigned i = 0; i <= c.oos_cold; i++)
        assert_int_equal(vgt_ppgtt_sync(x.p, ROOT << 12), 0);
    st = stats(&x);
    assert_int_equal(st.oos_pages, 0);
    assert_true(st.oos_cold > 0);
    for (unsigned k = 0; k < 4; k++)
        assert_true(fake_hv_is_wp(x.f, PT + k));
    t0 = x.f->wp_traps;
    gw64(&x, fx_gpa(PT, 1), fx_pte(3001, PTE_PRW));
    assert_int_equal(x.f->wp_traps - t0, 1);
    oracle_ok(&x, ROOT, root);
    fx_fini(&x);
}

/* The hypervisor moves guest frames (ballooning, p2m change): after a
 * revalidate no shadow entry keeps the old host frame. */
static void test_p2m_change(void **state)
{
    struct fx x;
    uint64_t root, t;

    (void)state;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_2M, 12, NULL), 0);
    build_chain(&x);
    gw64(&x, fx_gpa(PD, 1), fx_pte(1024, PTE_PRW | GEN8_PDE_PS_2M));
    gw64(&x, fx_gpa(PD, 2), fx_pte(1536, PTE_PRW | GEN8_PDE_PS_2M));
    assert_int_equal(vgt_ppgtt_pin(x.p, ROOT << 12, &root), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).huge_2m_kept, 2);
    /* Swap two 4 KiB frames (breaking one 2 MiB run) and two more. */
    t = x.f->p2m[500], x.f->p2m[500] = x.f->p2m[1100], x.f->p2m[1100] = t;
    t = x.f->p2m[501], x.f->p2m[501] = x.f->p2m[2000], x.f->p2m[2000] = t;
    assert_int_equal(ppgtt_oracle_check(&x.o, ROOT << 12, root), -1);
    assert_int_equal(vgt_ppgtt_revalidate(x.p), 0);
    oracle_ok(&x, ROOT, root);
    assert_int_equal(stats(&x).huge_2m_split, 2); /* both runs broken */
    fx_fini(&x);
}

static void build_small(struct fx *x, uint64_t base)
{
    gw64(x, fx_gpa(base, 0), fx_pte(base + 1, PTE_PRW));
    gw64(x, fx_gpa(base + 1, 0), fx_pte(base + 2, PTE_PRW));
    gw64(x, fx_gpa(base + 2, 0), fx_pte(base + 3, PTE_PRW));
    gw64(x, fx_gpa(base + 3, 0), fx_pte(base + 500, PTE_PRW));
}

static void test_lru_reset(void **state)
{
    struct vgt_ppgtt_config c;
    struct fx x;
    uint64_t root0, root;
    struct vgt_ppgtt_stats st;

    (void)state;
    vgt_ppgtt_config_default(&c);
    c.budget_bytes = 96u << 10; /* about three small trees */
    c.max_roots = 16;
    assert_int_equal(fx_init(&x, 32, FAKE_HV_SCRAMBLE_4K, 10, &c), 0);
    for (unsigned r = 0; r < 16; r++)
        build_small(&x, 1000 + 8 * r);
    assert_int_equal(vgt_ppgtt_pin(x.p, 1000ull << 12, &root0), 0);
    for (unsigned r = 1; r < 16; r++)
        assert_int_equal(vgt_ppgtt_g2v_create(x.p, (1000ull + 8 * r) << 12), 0);
    st = stats(&x);
    assert_true(st.reclaims >= 10);
    assert_true(st.shadow_bytes <= c.budget_bytes);
    assert_int_equal(st.roots, 16);
    /* The pinned root survived. */
    oracle_ok(&x, 1000, root0);
    assert_true(fake_hv_is_wp(x.f, 1003));
    assert_false(fake_hv_is_wp(x.f, 1000 + 8 + 3)); /* reclaimed: unprotected */
    /* A reclaimed root is rebuilt on pin. */
    assert_int_equal(vgt_ppgtt_pin(x.p, (1000ull + 8) << 12, &root), 0);
    gw64(&x, fx_gpa(1008 + 3, 1), fx_pte(3000, PTE_PRW));
    oracle_ok(&x, 1008, root);
    assert_int_equal(vgt_ppgtt_g2v_create(x.p, 4000ull << 12), -ENOSPC);

    /* Reset drops everything. */
    vgt_ppgtt_reset(x.p);
    st = stats(&x);
    assert_int_equal(st.shadow_pages, 0);
    assert_int_equal(st.wp_pages, 0);
    assert_int_equal(st.roots, 0);
    assert_int_equal(st.guest_pt_pages, 0);
    assert_int_equal(st.shadow_bytes, 0);
    assert_int_equal(x.g->pages_live, 2); /* the scratch table and scratch leaf */
    for (uint64_t g = 0; g < x.f->hv.max_gfn; g++)
        assert_false(fake_hv_is_wp(x.f, g));
    assert_int_equal(vgt_ppgtt_sync(x.p, 1000ull << 12), -ENOENT);
    fx_fini(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_wp),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_huge_2m),
        cmocka_unit_test(test_ips_64k),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_sharing),
        cmocka_unit_test(test_half_writes),
        cmocka_unit_test(test_alloc_fail_in_trap),
        cmocka_unit_test(test_alloc_fail_below_trap),
        cmocka_unit_test(test_refusal_cached),
        cmocka_unit_test(test_refusal_destroy),
        cmocka_unit_test(test_host_refusal_not_cached),
        cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_oos),
        cmocka_unit_test(test_lru_reset),
        cmocka_unit_test(test_p2m_change),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

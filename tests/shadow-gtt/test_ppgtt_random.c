/* PPGTT shadowing, randomized: a guest driver model builds and mutates
 * page tables (map, unmap, remap, retype, 2 MiB and 64 KiB pages, partial
 * 4-byte writes, hostile entries, a second context sharing tables) and
 * after every step the oracle compares the shadow with the guest's own
 * walk. The same run with out-of-sync pages on and off must give the same
 * GPU-visible translation at every step.
 *
 * Steps per run: VGT_PPGTT_STEPS, else 2000 (800 under ASan); 2.5 runs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ppgtt_fixture.h"
#include "vgt/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PPGTT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PPGTT_ASAN 1
#endif
#endif
#ifdef PPGTT_ASAN
#define DEFAULT_STEPS 800
#else
#define DEFAULT_STEPS 2000
#endif

#define POOL_FIRST 16
#define POOL_SIZE 600
#define MAX_TABLES POOL_SIZE

struct gtable {
    uint64_t gfn;
    int level;
};

struct model {
    struct fx *x;
    uint64_t rs;
    uint64_t pool[POOL_SIZE];
    unsigned npool;
    struct gtable t[MAX_TABLES];
    unsigned nt;
    uint64_t root[2], rdma[2];
    bool live2;
    unsigned steps;
};

static uint64_t rnd(struct model *m)
{
    m->rs ^= m->rs >> 12;
    m->rs ^= m->rs << 25;
    m->rs ^= m->rs >> 27;
    return m->rs * 0x2545f4914f6cdd1dull;
}

static unsigned rn(struct model *m, unsigned n)
{
    return (unsigned)(rnd(m) % n);
}

static uint64_t gread(struct model *m, uint64_t gpa)
{
    uint64_t v = 0;

    assert_int_equal(fake_hv_guest_read(m->x->f, gpa, &v, 8), 0);
    return v;
}

/* A guest entry write: whole, as two halves in either order, or (left
 * pending for the next sync) only one half. */
static void gwrite(struct model *m, uint64_t gpa, uint64_t v)
{
    struct fake_hv *f = m->x->f;
    unsigned mode = rn(m, 100);

    if (mode < 80) {
        assert_int_equal(fake_hv_guest_write64(f, gpa, v), 0);
    } else if (mode < 90) {
        assert_int_equal(fake_hv_guest_write32(f, gpa, (uint32_t)v), 0);
        assert_int_equal(fake_hv_guest_write32(f, gpa + 4, (uint32_t)(v >> 32)), 0);
    } else if (mode < 97) {
        assert_int_equal(fake_hv_guest_write32(f, gpa + 4, (uint32_t)(v >> 32)), 0);
        assert_int_equal(fake_hv_guest_write32(f, gpa, (uint32_t)v), 0);
    } else {
        unsigned hi = rn(m, 2);

        assert_int_equal(fake_hv_guest_write32(f, gpa + 4 * hi, (uint32_t)(v >> (32 * hi))), 0);
    }
}

static int table_level(struct model *m, uint64_t gfn)
{
    for (unsigned i = 0; i < m->nt; i++)
        if (m->t[i].gfn == gfn)
            return m->t[i].level;
    return -1;
}

static uint64_t new_table(struct model *m, int level)
{
    uint64_t gfn;
    static const uint8_t zero[VGT_PAGE_SIZE];

    if (!m->npool || m->nt >= MAX_TABLES)
        return 0;
    gfn = m->pool[--m->npool];
    /* A reused page may still be protected (hostile reuse): the guest
     * clears it through its CPU like any other write. */
    assert_int_equal(fake_hv_guest_write(m->x->f, gfn << 12, zero, sizeof(zero)), 0);
    m->t[m->nt].gfn = gfn;
    m->t[m->nt].level = level;
    m->nt++;
    return gfn;
}

static void drop_table(struct model *m, uint64_t gfn)
{
    for (unsigned i = 0; i < m->nt; i++) {
        if (m->t[i].gfn == gfn && gfn != m->root[0] && gfn != m->root[1]) {
            m->t[i] = m->t[--m->nt];
            m->pool[m->npool++] = gfn;
            return;
        }
    }
}

static uint64_t leaf_flags(struct model *m)
{
    return GEN8_PTE_PRESENT | (rn(m, 10) < 7 ? GEN8_PTE_RW : 0) | (rn(m, 4) == 0 ? 0x18 : 0);
}

static uint64_t data_gfn(struct model *m)
{
    uint64_t max = m->x->f->hv.max_gfn;

    return rn(m, 50) == 0 ? max + rn(m, 64) : rnd(m) % max;
}

/* Walk (and build) the tables for va down to @stop level; returns the
 * table gfn at that level, or 0 if the pool ran dry. */
static uint64_t path(struct model *m, uint64_t va, int stop)
{
    uint64_t table = m->root[0];

    for (int level = GEN8_LVL_PML4; level > stop; level--) {
        uint64_t gpa = fx_gpa(table, gen8_pt_index(va, level));
        uint64_t e = gread(m, gpa), child = (e & GEN8_PTE_ADDR_MASK) >> 12;

        if ((e & GEN8_PTE_PRESENT) && !(e & GEN8_PTE_RSVD_MASK) && !(e & (1ull << 7)) &&
            !(e & GEN8_PDE_IPS_64K) && table_level(m, child) == level - 1) {
            table = child;
            continue;
        }
        child = new_table(m, level - 1);
        if (!child)
            return 0;
        gwrite(m, gpa, fx_pte(child, GEN8_PTE_PRESENT | GEN8_PTE_RW));
        /* A half write leaves the guest's entry half old: finish it so the
         * model's view of its own tables is right. */
        assert_int_equal(fake_hv_guest_write64(m->x->f, gpa, fx_pte(child, PTE_PRW)), 0);
        table = child;
    }
    return table;
}

static uint64_t rand_va(struct model *m)
{
    static const unsigned l4[] = {0, 1, 511};

    return ((uint64_t)l4[rn(m, 3)] << 39) | ((uint64_t)rn(m, 3) << 30) |
           ((uint64_t)rn(m, 4) << 21) | ((uint64_t)rn(m, 64) << 12);
}

static uint64_t hostile_entry(struct model *m)
{
    uint64_t tgt = m->nt ? m->t[rn(m, m->nt)].gfn : m->root[0];

    switch (rn(m, 7)) {
    case 0: return rnd(m);                                              /* random word */
    case 1: return fx_pte(tgt, PTE_PRW);                                /* any table: cycles, two levels */
    case 2: return fx_pte(m->root[0], PTE_PRW);                         /* back to the root */
    case 3: return fx_pte(data_gfn(m), PTE_PRW) | (1ull << (39 + rn(m, 24))); /* reserved */
    case 4: return fx_pte(m->x->f->hv.max_gfn + rn(m, 1000), PTE_PRW);  /* outside RAM */
    case 5: return fx_pte(data_gfn(m), PTE_PRW | GEN8_PDPE_PS_1G); /* 1 GiB at a PDP */
    default: return fx_pte(data_gfn(m), leaf_flags(m));
    }
}

static void step(struct model *m)
{
    struct fx *x = m->x;
    unsigned op = rn(m, 100);
    uint64_t va = rand_va(m), t;

    if (op < 35 || op >= 90) {                      /* map / remap 4 KiB */
        t = path(m, va, GEN8_LVL_PT);
        if (t)
            gwrite(m, fx_gpa(t, gen8_pt_index(va, 0)), fx_pte(data_gfn(m), leaf_flags(m)));
    } else if (op < 45) {                           /* unmap anywhere */
        if (m->nt) {
            struct gtable *g = &m->t[rn(m, m->nt)];
            unsigned n = g->level ? 4 : 64, start = rn(m, n), i = start;

            /* The first present entry from a random slot, if any. */
            for (unsigned k = 0; k < n; k++, i = (start + k) % n)
                if (gread(m, fx_gpa(g->gfn, i)) & GEN8_PTE_PRESENT)
                    break;
            gwrite(m, fx_gpa(g->gfn, i), 0);
        }
    } else if (op < 50) {                           /* 2 MiB page */
        t = path(m, va, GEN8_LVL_PD);
        if (t) {
            uint64_t base = (rnd(m) % (x->f->hv.max_gfn / 512 + 1)) * 512;

            if (rn(m, 4) == 0)
                base += rn(m, 512); /* ignored low bits */
            gwrite(m, fx_gpa(t, gen8_pt_index(va, 1)),
                   fx_pte(base, leaf_flags(m) | GEN8_PDE_PS_2M));
        }
    } else if (op < 55) {                           /* 64 KiB table */
        t = path(m, va, GEN8_LVL_PD);
        if (t) {
            uint64_t pt = new_table(m, GEN8_LVL_PT);

            if (pt) {
                for (unsigned k = 0; k < 4; k++)
                    gwrite(m, fx_gpa(pt, 16 * rn(m, 32)), fx_pte(data_gfn(m) & ~15ull, leaf_flags(m)));
                gwrite(m, fx_gpa(t, gen8_pt_index(va, 1)), fx_pte(pt, PTE_PRW | GEN8_PDE_IPS_64K));
                drop_table(m, pt); /* the model does not descend IPS tables */
            }
        }
    } else if (op < 60) {                           /* unlink a table, reuse as data */
        int level = 1 + rn(m, 3);

        t = path(m, va, level);
        if (t) {
            uint64_t gpa = fx_gpa(t, gen8_pt_index(va, level));
            uint64_t child = (gread(m, gpa) & GEN8_PTE_ADDR_MASK) >> 12;

            gwrite(m, gpa, 0);
            if (table_level(m, child) == level - 1) {
                drop_table(m, child);
                for (unsigned k = 0; k < 3; k++)
                    assert_int_equal(fake_hv_guest_write64(x->f, fx_gpa(child, rn(m, 512)), rnd(m)), 0);
            }
        }
    } else if (op < 66) {                           /* hostile entry in a table */
        if (rn(m, 5) == 0 && (t = path(m, va, GEN8_LVL_PDP)) != 0) {
            gwrite(m, fx_gpa(t, gen8_pt_index(va, GEN8_LVL_PDP)),
                   fx_pte(data_gfn(m), PTE_PRW | GEN8_PDPE_PS_1G));
        } else if (m->nt) {
            struct gtable *g = &m->t[rn(m, m->nt)];

            gwrite(m, fx_gpa(g->gfn, rn(m, 8)), hostile_entry(m));
        }
    } else if (op < 74) {                           /* remap burst in one PT */
        t = path(m, va, GEN8_LVL_PT);
        for (unsigned k = 0; t && k < 8; k++)
            gwrite(m, fx_gpa(t, rn(m, 64)), fx_pte(data_gfn(m), leaf_flags(m)));
    } else if (op < 80) {                           /* second context shares tables */
        unsigned i = rn(m, 2) ? 0 : 511;

        gwrite(m, fx_gpa(m->root[1], i), gread(m, fx_gpa(m->root[0], i)));
        if (!m->live2) {
            assert_int_equal(vgt_ppgtt_g2v_create(x->p, m->root[1] << 12), 0);
            assert_int_equal(vgt_ppgtt_pin(x->p, m->root[1] << 12, &m->rdma[1]), 0);
            m->live2 = true;
        }
    } else if (op < 83) {                           /* second context goes away */
        if (m->live2) {
            assert_int_equal(vgt_ppgtt_unpin(x->p, m->root[1] << 12), 0);
            assert_int_equal(vgt_ppgtt_g2v_destroy(x->p, m->root[1] << 12), 0);
            m->live2 = false;
        }
    } else {                                        /* a lone half write */
        if (m->nt) {
            struct gtable *g = &m->t[rn(m, m->nt)];
            uint64_t v = fx_pte(data_gfn(m), leaf_flags(m));
            unsigned hi = rn(m, 2);

            assert_int_equal(fake_hv_guest_write32(x->f, fx_gpa(g->gfn, rn(m, 64)) + 4 * hi,
                                                   (uint32_t)(v >> (32 * hi))), 0);
        }
    }
}

static void check(struct model *m, unsigned i)
{
    struct fx *x = m->x;

    for (unsigned r = 0; r < (m->live2 ? 2u : 1u); r++) {
        assert_int_equal(vgt_ppgtt_sync(x->p, m->root[r] << 12), 0);
        if (ppgtt_oracle_check(&x->o, m->root[r] << 12, m->rdma[r])) {
            print_error("step %u root %u: %s\n", i, r, x->o.why);
            fail();
        }
    }
}

/* One run; digests[i] is the GPU-visible translation after step i. */
static void run(unsigned seed, enum fake_hv_layout layout, bool oos, unsigned steps,
                uint64_t *digests, struct vgt_ppgtt_stats *out, uint64_t *traps)
{
    struct vgt_ppgtt_config c;
    struct model *m = calloc(1, sizeof(*m));
    struct fx x;

    assert_non_null(m);
    vgt_ppgtt_config_default(&c);
    c.oos = oos;
    c.oos_pool = 8; /* small, so evictions happen */
    assert_int_equal(fx_init(&x, 64, layout, seed, &c), 0);
    x.o.max_frames = 1u << 18;
    m->x = &x;
    m->rs = 0x1234567ull * (seed + 1);
    for (unsigned i = 0; i < POOL_SIZE; i++)
        m->pool[m->npool++] = POOL_FIRST + POOL_SIZE - 1 - i;
    m->root[0] = new_table(m, GEN8_LVL_PML4);
    m->root[1] = new_table(m, GEN8_LVL_PML4);
    assert_int_equal(vgt_ppgtt_g2v_create(x.p, m->root[0] << 12), 0);
    assert_int_equal(vgt_ppgtt_pin(x.p, m->root[0] << 12, &m->rdma[0]), 0);
    for (unsigned i = 0; i < steps; i++) {
        step(m);
        check(m, i);
        assert_false(x.o.truncated);
        if (digests)
            digests[i] = x.o.digest;
    }
    vgt_ppgtt_get_stats(x.p, out);
    *traps = x.f->wp_traps;
    /* Everything goes at the end: no page left, nothing protected. */
    vgt_ppgtt_reset(x.p);
    assert_int_equal(x.g->pages_live, 2); /* the scratch table and scratch leaf */
    for (uint64_t g = 0; g < x.f->hv.max_gfn; g++)
        assert_false(fake_hv_is_wp(x.f, g));
    fx_fini(&x);
    free(m);
}

static unsigned nsteps(void)
{
    const char *s = getenv("VGT_PPGTT_STEPS");
    uint64_t v;

    if (s && vgt_parse_u64(s, &v) == 0 && v > 0 && v < 10000000)
        return (unsigned)v;
    return DEFAULT_STEPS;
}

static void test_random_oos_on_off(void **state)
{
    unsigned steps = nsteps();
    uint64_t *d_on = calloc(steps, 8), *d_off = calloc(steps, 8), t_on, t_off;
    struct vgt_ppgtt_stats on, off;

    (void)state;
    assert_non_null(d_on);
    assert_non_null(d_off);
    run(11, FAKE_HV_SCRAMBLE_4K, true, steps, d_on, &on, &t_on);
    run(11, FAKE_HV_SCRAMBLE_4K, false, steps, d_off, &off, &t_off);
    for (unsigned i = 0; i < steps; i++)
        if (d_on[i] != d_off[i]) {
            print_error("step %u: OOS on and off differ\n", i);
            fail();
        }
    /* The model must have exercised what it claims to (with the default
     * step counts; a short run set by VGT_PPGTT_STEPS may not get there). */
    assert_int_equal(off.oos_enter, 0);
    if (steps >= 500) {
        assert_true(on.oos_enter > 0 && on.oos_evict > 0 && on.oos_sync_entries > 0 &&
                    on.oos_cold > 0);
        assert_true(off.huge_2m_split > 0 && off.scratch_entries > 0 && off.rejected_1g > 0);
        assert_true(off.half_reconciled > 0 && off.traps_partial > 0);
        assert_true(t_on < t_off);
    }
    print_message("%u steps: traps OOS off %llu, on %llu; oos syncs %llu\n", steps,
                  (unsigned long long)t_off, (unsigned long long)t_on,
                  (unsigned long long)on.oos_syncs);
    free(d_on);
    free(d_off);
}

static void test_random_2m_backing(void **state)
{
    struct vgt_ppgtt_stats st;
    uint64_t traps;

    (void)state;
    run(12, FAKE_HV_SCRAMBLE_2M, true, nsteps() / 2, NULL, &st, &traps);
    if (nsteps() >= 500)
        assert_true(st.huge_2m_kept > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_oos_on_off),
        cmocka_unit_test(test_random_2m_backing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

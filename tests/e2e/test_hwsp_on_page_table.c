/* End to end: a guest points its hardware status page (where the mediator
 * writes the virtual CSB events) at one of its own PPGTT page-table pages,
 * one that is shadowed and write-protected. The mediator's writes must go
 * through the write-protection rule like the guest's own stores: the
 * shadow follows the table (checked with the PPGTT oracle), nothing is
 * written behind the shadow's back, and only the guest's own mappings are
 * affected. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gpu_platform.h"
#include "oracle.h"
#include "vgt/gen8_gtt.h"
#include "vgt/gpu_workload.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_gpu_regs.h"
#include "vgt/submit_ppgtt.h"
#include "vgt/util.h"

#define PT_SLOT 8        /* the PTE index HWSP dword 0x10 (CSB entry 0) lands on */
#define PAGES (512 + 40) /* enough for a page with PTE index PT_SLOT and one 12 later */

static struct gp *platform(void)
{
    static struct vgt_log log;
    struct gp_cfg cfg;
    struct gp *p = NULL;

    memset(&cfg, 0, sizeof(cfg));
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    assert_int_equal(vgt_vgpu_res_from_type("V5_8", &cfg.res), 0);
    cfg.type_name = "V5_8";
    cfg.guests = 1;
    cfg.guest_ram = 48ull << 20;
    cfg.log = &log;
    assert_int_equal(gp_create(&cfg, &p), 0);
    return p;
}

/* The guest's own walk down to the page table holding @va's entry. */
static uint64_t guest_pt_of(struct sim_guest *g, uint64_t pml4, uint64_t va)
{
    uint64_t table = pml4;

    for (int lvl = GEN8_LVL_PML4; lvl > GEN8_LVL_PT; lvl--) {
        uint64_t e;

        assert_int_equal(sim_guest_ram_read(g, 0, table + gen8_pt_index(va, lvl) * 8, &e, 8), 0);
        assert_true(e & GEN8_PTE_PRESENT);
        table = e & GEN8_PTE_ADDR_MASK;
    }
    return table;
}

/* Store @val at PPGTT @va and wait until the vCSB has both events of the
 * submission (the guest's HWSP is not where its driver reads, so the
 * driver's own wait would not see them). */
static void store_and_wait(struct gp_guest *gg, struct gg_ctx *c, uint64_t va, uint32_t val)
{
    struct vgt_submit_stats st;
    uint32_t ring[8];
    uint64_t before, t0 = vgt_now_ns();
    size_t n;

    assert_int_equal(vgt_submit_get_stats(gg->in.sv, &st), 0);
    before = st.ctx_switch_events;
    n = gwl_emit_sdi(ring, va, false, val);
    n += gwl_emit_noop(ring + n);
    assert_int_equal(gg_submit(gg->drv, c, ring, n), 0);
    do {
        assert_int_equal(vgt_submit_get_stats(gg->in.sv, &st), 0);
        assert_true(vgt_now_ns() - t0 < 10000000000ull);
    } while (st.ctx_switch_events < before + 2);
}

static void test_hwsp_on_shadowed_page_table(void **state)
{
    struct gp *p = platform();
    struct gp_guest *gg = &p->guest[0];
    struct gg *d = gg->drv;
    struct sim_guest *g = gg->in.guest;
    struct ppgtt_oracle o = {.hv = sim_guest_hv(g), .arena = p->arena,
                             .scratch_dma = vgt_submit_pp_scratch_leaf(gg->in.pp)};
    struct vgt_ioreq_stats is0, is1;
    struct vgt_submit_pp_stats ps0, ps1;
    struct gg_ctx *c;
    struct gg_bo dst, hws;
    uint32_t lo, hi, v;
    uint64_t pml4, va8, pt, root, pte[16], want;
    unsigned k;

    (void)state;
    assert_int_equal(gg_ctx_create(d, VGT_ENGINE_BCS, &c), 0);
    assert_int_equal(gg_bo_create(d, PAGES * 4096ull, false, false, true, &dst), 0);
    /* The page of dst whose PTE has index PT_SLOT in its page table. */
    k = (PT_SLOT - (unsigned)((dst.va >> 12) & 511)) & 511;
    va8 = dst.va + k * 4096ull;
    assert_true(k + 12 < PAGES);
    /* The shadow was built at the driver's g2v create, so mapping dst
     * trapped and its tables went out of sync; submissions that find them
     * unchanged protect them again (oos_cold). */
    for (unsigned i = 0; i < 8; i++) {
        store_and_wait(gg, c, va8 + 64, 0x5eed0001u);
        assert_int_equal(gg_wait(d, c, 10000), 0);
    }
    assert_int_equal(vgt_submit_pp_get_stats(gg->in.pp, &ps0), 0);
    assert_int_equal(ps0.oos_pages, 0);
    assert_int_equal(gg_bo_read(d, &dst, k * 4096ull + 64, &v, 4), 0);
    assert_int_equal(v, 0x5eed0001u);

    assert_int_equal(gg_ctx_reg(d, c, CTX_PDP0_LDW, &lo, false), 0);
    assert_int_equal(gg_ctx_reg(d, c, CTX_PDP0_UDW, &hi, false), 0);
    pml4 = (uint64_t)hi << 32 | lo;
    pt = guest_pt_of(g, pml4, va8);

    /* The guest points BCS's HWSP at that page table through a GGTT page
     * of its own (32-bit halves, as a driver writes them). */
    assert_int_equal(gg_bo_create(d, 4096, true, false, false, &hws), 0);
    assert_int_equal(gg_mmio_write32(d, GEN9_GGTT_OFFSET + (uint32_t)(hws.gm >> 12) * 8,
                                     (uint32_t)pt | GEN8_PTE_PRESENT | GEN8_PTE_RW), 0);
    assert_int_equal(gg_mmio_write32(d, GEN9_GGTT_OFFSET + (uint32_t)(hws.gm >> 12) * 8 + 4,
                                     (uint32_t)(pt >> 32)), 0);
    assert_int_equal(gg_mmio_write32(d, GEN9_BCS_BASE + RING_HWS_PGA, (uint32_t)hws.gm), 0);

    vgt_ioreq_server_get_stats(gg->in.srv, &is0);
    assert_int_equal(vgt_submit_pp_get_stats(gg->in.pp, &ps0), 0);
    /* A store through an entry the CSB events do not touch (index 20). */
    store_and_wait(gg, c, va8 + 12 * 4096ull + 64, 0x5eed0002u);
    vgt_ioreq_server_get_stats(gg->in.srv, &is1);
    assert_int_equal(vgt_submit_pp_get_stats(gg->in.pp, &ps1), 0);

    /* The events reached the table in guest memory ... */
    assert_int_equal(sim_guest_ram_read(g, 0, pt, pte, sizeof(pte)), 0);
    want = 0; /* CSB entries: status dword, then the context id dword */
    for (unsigned i = PT_SLOT; i < PT_SLOT + 6; i++)
        want += pte[i] >> 32 == gg_ctx_desc(c) >> 32;
    assert_true(want >= 2);
    /* ... through the write-protection rule: the first event's two writes
     * (CSB entry, write pointer) were fed to the PPGTT's handler as the
     * guest's own stores would be, none refused; those two traps took
     * the page out of sync (oos_threshold), so later ones go to RAM and
     * the page is resynced before the GPU uses the table again. */
    assert_true(is1.emul_wp >= is0.emul_wp + 2);
    assert_int_equal(is1.emul_wp_refused, is0.emul_wp_refused);
    assert_true(ps1.traps >= ps0.traps + 2);
    /* The shadow, as the GPU will use it, matches the guest's tables
     * everywhere, including the entries the events overwrote. */
    assert_int_equal(vgt_submit_pp_ops.pin(gg->in.pp, pml4, &root), 0);
    assert_int_equal(vgt_submit_pp_ops.sync(gg->in.pp, pml4), 0);
    if (ppgtt_oracle_check(&o, pml4, root))
        fail_msg("shadow differs from the guest's table: %s", o.why);
    assert_true(o.checked >= PAGES);
    assert_int_equal(vgt_submit_pp_ops.unpin(gg->in.pp, pml4), 0);
    /* The guest's own work still runs; it hurt only its own tables. */
    assert_int_equal(gg_bo_read(d, &dst, (k + 12) * 4096ull + 64, &v, 4), 0);
    assert_int_equal(v, 0x5eed0002u);
    assert_false(vgt_vgpu_in_failsafe(gg->in.vgpu));
    gp_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hwsp_on_shadowed_page_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

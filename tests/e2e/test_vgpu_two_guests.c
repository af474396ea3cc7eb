/* End to end on the simulated platform: two guests, each with a V5_4 vGPU
 * on one simulated GPU, probe and balloon as i915 does, map buffers of
 * their own RAM into the GGTT; their host GGTT ranges are disjoint; a
 * hostile guest's GGTT writes outside its ranges, or to gfns outside its
 * RAM, change nothing outside its own ranges; the other guest is
 * unaffected. Interrupts reach the guest as MSIs. Every guest access goes
 * through config space / MMIO ioreqs / guest RAM. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgpu_host.h"
#include "vgt/ggtt.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_hv.h"
#include "vgt/sim_i915.h"
#include "vgt/vgpu.h"

#define MIB (1ull << 20)
#define BUF_GPA 0x400000ull
#define BUF_PAGES 16

struct guest {
    uint16_t domid;
    struct sim_guest *g;
    struct sim_i915 *drv;
    struct sim_i915_info info;
    struct vgt_vgpu_info vinfo;
    uint64_t buf_gm;
};

struct env {
    struct vgt_log log;
    struct vgpu_host *h;
    struct guest gs[2];
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct vgpu_host_cfg hc = {.sim = true};
    char err[256];

    vgt_log_init(&e->log, "e2e", VGT_LOG_ERR);
    hc.log = &e->log;
    assert_int_equal(vgpu_host_create(&hc, &e->h), 0);
    for (unsigned i = 0; i < 2; i++) {
        struct vgpu_add_req req = {.domid = (uint16_t)(i + 1), .type = "V5_4", .sim_ram = 64 * MIB};
        struct sim_i915_cfg dc = {.log = &e->log};

        assert_int_equal(vgpu_host_add(e->h, &req, err, sizeof(err)), 0);
        e->gs[i].domid = req.domid;
        e->gs[i].g = vgpu_host_sim_guest(e->h, req.domid);
        dc.guest = e->gs[i].g;
        assert_int_equal(sim_i915_probe(&dc, &e->gs[i].drv), 0);
        sim_i915_get_info(e->gs[i].drv, &e->gs[i].info);
        vgt_vgpu_get_info(vgpu_host_vgpu(e->h, req.domid), &e->gs[i].vinfo);
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    for (unsigned i = 0; i < 2; i++)
        sim_i915_remove(e->gs[i].drv);
    vgpu_host_destroy(e->h);
    free(e);
    return 0;
}

static uint64_t host_pte(struct env *e, uint64_t index)
{
    struct vgt_hostgpu *hw = vgpu_host_hostgpu(e->h);
    uint64_t pte = 0;

    assert_int_equal(hw->ops->ggtt_read(hw, index, &pte), 0);
    return pte;
}

static void map_buffer(struct env *e, struct guest *g, uint8_t fill)
{
    uint8_t page[4096];

    for (unsigned p = 0; p < BUF_PAGES; p++) {
        memset(page, fill + p, sizeof(page));
        assert_int_equal(sim_guest_ram_write(g->g, 0, BUF_GPA + p * 4096ull, page, sizeof(page)), 0);
    }
    assert_int_equal(sim_i915_map_buffer(g->drv, BUF_GPA, BUF_PAGES, &g->buf_gm), 0);
    (void)e;
}

/* The GPU's view of the buffer is the guest's RAM page by page. */
static void check_buffer(struct env *e, struct guest *g)
{
    struct sim_gpu *gpu = vgpu_host_sim_gpu(e->h);
    struct vgt_hv *hv = sim_guest_hv(g->g);

    for (unsigned p = 0; p < BUF_PAGES; p++) {
        uint64_t hpa = 0, dma = 0;

        assert_int_equal(sim_gpu_ggtt_translate(gpu, g->buf_gm + p * 4096ull, &hpa), 0);
        assert_int_equal(vgt_hv_gfn_to_dma(hv, (BUF_GPA >> 12) + p, &dma), 0);
        assert_int_equal(hpa & ~0xfffull, dma);
        assert_true(hpa != BUF_GPA + p * 4096ull); /* p2m is not the identity */
    }
}

static void test_probe_and_balloon(void **state)
{
    struct env *e = *state;

    for (unsigned i = 0; i < 2; i++) {
        struct sim_i915_info *in = &e->gs[i].info;
        struct vgt_vgpu_info *v = &e->gs[i].vinfo;

        assert_int_equal(in->vendor, 0x8086);
        assert_int_equal(in->device, 0x1912);
        assert_int_equal(in->bar0_size, 16 * MIB);
        assert_int_equal(in->magic, 0x4776544776544776ull);
        assert_int_equal(in->version_major, 1);
        assert_int_equal(in->version_minor, 0);
        assert_int_equal(in->caps & 0x1c, 0x1c);
        assert_int_equal(in->vgt_id, v->id);
        assert_int_equal(in->mappable_base, v->low_base);
        assert_int_equal(in->mappable_size, 128 * MIB);
        assert_int_equal(in->unmappable_base, v->high_base);
        assert_int_equal(in->unmappable_size, 512 * MIB);
        assert_int_equal(in->fence_num, 4);
        /* Everything outside avail_rs is ballooned, in i915's order. */
        assert_int_equal(in->balloon_start[0], 0);
        assert_int_equal(in->balloon_end[0], v->low_base);
        assert_int_equal(in->balloon_start[1], v->low_base + v->low_size);
        assert_int_equal(in->balloon_end[1], in->mappable_end);
        assert_int_equal(in->balloon_start[2], in->mappable_end);
        assert_int_equal(in->balloon_end[2], v->high_base);
        assert_int_equal(in->balloon_start[3], v->high_base + v->high_size);
        assert_int_equal(in->balloon_end[3], in->ggtt_total);
        assert_true(v->attached);
        /* The GT bring-up as i915 6.1 does it on a Skylake GT2 (fuses,
         * timestamp clock, RPS caps, stop/reset/resume of every engine):
         * the GT i915 expects of a 0x1912, every wait satisfied on its
         * first read, no register unlisted and nothing refused. */
        assert_int_equal(in->slice_mask, 0x1);
        assert_int_equal(in->subslice_mask, 0x7);
        assert_int_equal(in->eu_total, 24);
        assert_int_equal(in->cs_timestamp_hz, 12000000);
        assert_false(in->rps_enabled);
        assert_int_equal(in->extra_polls, 0);
        assert_int_equal(v->st.unlisted, 0);
        assert_int_equal(v->st.rejected, 0);
        assert_false(v->failsafe);
    }
    /* Host GGTT ranges and fences of the two vGPUs are disjoint. */
    {
        struct vgt_vgpu_info *a = &e->gs[0].vinfo, *b = &e->gs[1].vinfo;

        assert_true(a->low_base + a->low_size <= b->low_base || b->low_base + b->low_size <= a->low_base);
        assert_true(a->high_base + a->high_size <= b->high_base || b->high_base + b->high_size <= a->high_base);
        assert_true(a->fence_base + a->fence_num <= b->fence_base || b->fence_base + b->fence_num <= a->fence_base);
    }
}

static void test_map_buffers_and_display_ready(void **state)
{
    struct env *e = *state;

    for (unsigned i = 0; i < 2; i++) {
        struct guest *g = &e->gs[i];
        struct vgt_vgpu_info v;

        map_buffer(e, g, (uint8_t)(0x10 * (i + 1)));
        /* The buffer lands in the guest's own (unballooned) GM. */
        assert_true(g->buf_gm >= g->vinfo.low_base && g->buf_gm < g->vinfo.low_base + g->vinfo.low_size);
        check_buffer(e, g);
        assert_int_equal(sim_i915_set_display_ready(g->drv), 0);
        vgt_vgpu_get_info(vgpu_host_vgpu(e->h, g->domid), &v);
        assert_true(v.display_ready);
        assert_string_equal(vgt_vgpu_state_name(&v), "running");
    }
}

static void test_hostile_ggtt(void **state)
{
    struct env *e = *state;
    struct guest *bad = &e->gs[0], *good = &e->gs[1];
    struct vgt_hostgpu *hw = vgpu_host_hostgpu(e->h);
    uint64_t victims[6], before[6], pte, own;
    struct vgt_vgpu_info v;

    map_buffer(e, good, 0x40);
    map_buffer(e, bad, 0x80);
    victims[0] = good->buf_gm >> 12;                          /* the other guest's buffer */
    victims[1] = (good->vinfo.high_base >> 12) + 5;           /* the other guest's high GM */
    victims[2] = 0;                                           /* the host's */
    victims[3] = (bad->vinfo.low_base >> 12) - 1;             /* just below its own range */
    victims[4] = (bad->vinfo.high_base + bad->vinfo.high_size) >> 12; /* just above */
    victims[5] = (hw->gm_size >> 12) - 1;                     /* the top */
    for (unsigned i = 0; i < 6; i++)
        before[i] = host_pte(e, victims[i]);
    /* Writes outside its ranges: refused, nothing outside changes. */
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(sim_i915_ggtt_write(bad->drv, victims[i], (BUF_GPA) | 1), 0);
    /* Inside its range with a gfn outside its RAM: scratch. */
    own = (bad->buf_gm >> 12) + 1;
    assert_int_equal(sim_i915_ggtt_write(bad->drv, own, (1ull << 38) | 1), 0);
    /* Partial writes (4-byte halves) outside its range too. */
    assert_int_equal(sim_i915_mmio_write(bad->drv, (uint32_t)(8 * MIB + victims[0] * 8), 4, 0x1001), 0);
    assert_int_equal(sim_i915_mmio_write(bad->drv, (uint32_t)(8 * MIB + victims[0] * 8 + 4), 4, 0), 0);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(host_pte(e, victims[i]), before[i]);
    /* the hostile vGPU's own scratch page, not the shared one */
    assert_int_equal(host_pte(e, own),
                     vgt_ggtt_scratch_dma(vgt_vgpu_ggtt(vgpu_host_vgpu(e->h, bad->domid))) | 1);
    assert_int_not_equal(host_pte(e, own), hw->scratch_dma | 1);
    /* Outside its ranges nothing was kept (the private table covers its
     * ranges only): the hostile guest reads 0 there. */
    assert_int_equal(sim_i915_ggtt_read(bad->drv, victims[2], &pte), 0);
    assert_int_equal(pte, 0);
    /* The other guest is unaffected: same mapping, same view, no failsafe. */
    check_buffer(e, good);
    assert_int_equal(sim_i915_ggtt_read(good->drv, good->buf_gm >> 12, &pte), 0);
    assert_int_equal(pte, BUF_GPA | 1);
    vgt_vgpu_get_info(vgpu_host_vgpu(e->h, good->domid), &v);
    assert_false(v.failsafe);
    vgt_vgpu_get_info(vgpu_host_vgpu(e->h, bad->domid), &v);
    assert_true(v.st.mmio_writes > 0);
    /* Removing the hostile guest's vGPU scratches its entries only. */
    before[0] = host_pte(e, good->buf_gm >> 12);
    assert_int_equal(vgpu_host_remove(e->h, bad->domid), 0);
    sim_i915_remove(bad->drv);
    bad->drv = NULL;
    assert_int_equal(host_pte(e, bad->buf_gm >> 12), hw->scratch_dma | 1);
    assert_int_equal(host_pte(e, good->buf_gm >> 12), before[0]);
    check_buffer(e, good);
}

static void test_interrupt_reaches_guest(void **state)
{
    struct env *e = *state;
    struct guest *g = &e->gs[1];
    struct sim_msi msi;

    assert_int_equal(sim_i915_enable_irq(g->drv, 0x5b), 0);
    assert_int_equal(vgt_vgpu_raise_event(vgpu_host_vgpu(e->h, g->domid), 0, 1), 1);
    assert_int_equal(sim_guest_wait_msi(g->g, 2000, &msi), 0);
    assert_int_equal(msi.addr, 0xFEE00000u);
    assert_int_equal(msi.data & 0xff, 0x5b);
    /* The other guest got nothing. */
    assert_int_equal(sim_guest_wait_msi(e->gs[0].g, 0, &msi), -ETIMEDOUT);
}

/* The guest moves BAR0: the ioreq range follows, the old place is
 * unclaimed (reads all ones). Decoding off unmaps it. */
static void test_bar0_move(void **state)
{
    struct env *e = *state;
    struct sim_guest *g = e->gs[0].g;
    const uint64_t old = 0xF1000000ull, moved = 0xE2000000ull;
    uint64_t v = 0;

    assert_int_equal(sim_guest_mmio_read(g, 0, old + 0x78000, 8, &v), 0);
    assert_int_equal(v, 0x4776544776544776ull);
    assert_int_equal(sim_guest_pci_write(g, 0, 0, 2, 0, 0x10, 4, (uint32_t)moved), 0);
    assert_int_equal(sim_guest_mmio_read(g, 0, moved + 0x78000, 8, &v), 0);
    assert_int_equal(v, 0x4776544776544776ull);
    assert_int_equal(sim_guest_mmio_read(g, 0, old + 0x78000, 8, &v), 0);
    assert_int_equal(v, ~0ull);
    assert_int_equal(sim_guest_pci_write(g, 0, 0, 2, 0, 0x04, 2, 0), 0);
    assert_int_equal(sim_guest_mmio_read(g, 0, moved + 0x78000, 8, &v), 0);
    assert_int_equal(v, ~0ull);
}

/* Xen's ballooning: frames mapped in the GGTT leave the guest; the
 * INVALIDATE broadcast makes the vGPU translate its GGTT shadow again, so
 * their entries go to scratch and nothing of the host reaches the old
 * frames (poisoned by the sim hypervisor, never reused); the other guest
 * keeps its mappings. Populated again, the same gfns map the new frames. */
static void test_balloon_invalidates_ggtt(void **state)
{
    struct env *e = *state;
    struct guest *g = &e->gs[0];
    struct vgt_hv *hv = sim_guest_hv(g->g);
    struct vgt_vgpu *v = vgpu_host_vgpu(e->h, g->domid);
    const uint64_t gfn0 = BUF_GPA >> 12, first = 2, nr = 4;
    uint64_t old_hpa[BUF_PAGES], before_other[BUF_PAGES];
    struct vgt_vgpu_info vi;

    map_buffer(e, g, 0x10);
    map_buffer(e, &e->gs[1], 0x80);
    for (unsigned p = 0; p < BUF_PAGES; p++) {
        assert_int_equal(vgt_hv_gfn_to_dma(hv, gfn0 + p, &old_hpa[p]), 0);
        before_other[p] = host_pte(e, (e->gs[1].buf_gm >> 12) + p);
    }
    assert_int_equal(sim_guest_balloon_out(g->g, 0, gfn0 + first, nr), 0);
    vgt_vgpu_get_info(v, &vi);
    assert_int_equal(vi.st.invalidates, 1);
    assert_int_equal(vi.st.ggtt_revalidated, nr);
    for (unsigned p = 0; p < BUF_PAGES; p++) {
        uint64_t pte = host_pte(e, (g->buf_gm >> 12) + p);

        if (p >= first && p < first + nr) {
            assert_int_equal(pte & ~0xfffull, vgt_ggtt_scratch_dma(vgt_vgpu_ggtt(v)) & ~0xfffull);
            assert_true(sim_guest_ballooned_intact(g->g, old_hpa[p]));
        } else {
            assert_int_equal(pte & ~0xfffull, old_hpa[p]);
        }
        /* No entry of the guest names a frame that left it. */
        for (unsigned q = first; q < first + nr; q++)
            assert_int_not_equal(pte & ~0xfffull, old_hpa[q]);
        assert_int_equal(host_pte(e, (e->gs[1].buf_gm >> 12) + p), before_other[p]);
    }
    /* The guest's GPU reads through its GGTT now see scratch, not the
     * old frames: the simulated GPU translates as the hardware would. */
    {
        struct sim_gpu *gpu = vgpu_host_sim_gpu(e->h);
        uint64_t hpa = 0;

        assert_int_equal(sim_gpu_ggtt_translate(gpu, g->buf_gm + first * 4096ull, &hpa), 0);
        assert_int_equal(hpa & ~0xfffull, vgt_ggtt_scratch_dma(vgt_vgpu_ggtt(v)) & ~0xfffull);
    }
    /* Balloon them in again: fresh frames, the same gfns, mapped again. */
    assert_int_equal(sim_guest_balloon_in(g->g, 0, gfn0 + first, nr), 0);
    for (unsigned p = first; p < first + nr; p++) {
        uint64_t dma = 0;

        assert_int_equal(vgt_hv_gfn_to_dma(hv, gfn0 + p, &dma), 0);
        assert_int_not_equal(dma, old_hpa[p]);
        assert_int_equal(host_pte(e, (g->buf_gm >> 12) + p) & ~0xfffull, dma);
        assert_true(sim_guest_ballooned_intact(g->g, old_hpa[p]));
    }
    /* Bad requests: holes, the MMIO hole, RAM that is RAM already. */
    assert_int_equal(sim_guest_balloon_out(g->g, 0, 0xA0, 1), -EINVAL);
    assert_int_equal(sim_guest_balloon_in(g->g, 0, gfn0, 1), -EINVAL);
    assert_int_equal(sim_guest_balloon_in(g->g, 0, 0xF0000, 1), -EINVAL);
}

/* A guest placing its BARs while the device model is reset (vgt's control
 * socket) from another thread: whatever order they land in, the ranges
 * the guest reaches are exactly what its config space says afterwards
 * (no stale BAR0 range answering, none missing, the aperture where BAR2
 * is). */
struct bar_race {
    struct sim_guest *g;
    struct vgt_vgpu *v;
    pthread_barrier_t go;
    uint64_t bar0, bar2;
};

static void *bar_race_guest(void *o)
{
    struct bar_race *r = o;

    pthread_barrier_wait(&r->go);
    sim_guest_pci_write(r->g, 0, 0, 2, 0, 0x10, 4, (uint32_t)r->bar0 | 0x4);
    sim_guest_pci_write(r->g, 0, 0, 2, 0, 0x14, 4, 0);
    sim_guest_pci_write(r->g, 0, 0, 2, 0, 0x18, 4, (uint32_t)r->bar2 | 0xC);
    sim_guest_pci_write(r->g, 0, 0, 2, 0, 0x1C, 4, (uint32_t)(r->bar2 >> 32));
    sim_guest_pci_write(r->g, 0, 0, 2, 0, 0x04, 2, 0x6);
    return NULL;
}

static void test_bar_move_races_reset(void **state)
{
    struct env *e = *state;
    struct guest *gs = &e->gs[0];
    static const uint64_t bar0s[2] = {0xF1000000ull, 0xE2000000ull};
    static const uint64_t bar2s[2] = {0x800000000ull, 0xC00000000ull};
    struct bar_race r = {.g = gs->g, .v = vgpu_host_vgpu(e->h, gs->domid)};
    unsigned mismatches = 0;

    pthread_barrier_init(&r.go, NULL, 2);
    for (unsigned round = 0; round < 300; round++) {
        struct vgt_vgpu_info vi;
        struct vgpu_aperture_map m;
        pthread_t t;

        r.bar0 = bar0s[round & 1];
        r.bar2 = bar2s[round & 1];
        assert_int_equal(pthread_create(&t, NULL, bar_race_guest, &r), 0);
        pthread_barrier_wait(&r.go);
        assert_int_equal(vgt_vgpu_reset(r.v), 0);
        pthread_join(t, NULL);

        vgt_vgpu_get_info(r.v, &vi);
        for (unsigned i = 0; i < 2; i++) {
            uint64_t val = 0;

            assert_int_equal(sim_guest_mmio_read(gs->g, 0, bar0s[i] + 0x78000, 8, &val), 0);
            if (val != (bar0s[i] == vi.bar0 ? 0x4776544776544776ull : ~0ull))
                mismatches++;
        }
        assert_int_equal(vgpu_host_aperture(e->h, gs->domid, &m), 0);
        if (vi.bar2 ? m.gfn != (vi.bar2 + vi.low_base) >> 12 || m.nr == 0 : m.nr != 0)
            mismatches++;
    }
    pthread_barrier_destroy(&r.go);
    assert_int_equal(mismatches, 0);
}

/* BAR2 placed with memory decoding on: the vGPU's own aperture slice
 * (host GM [low_base, +low_size)) is mapped at BAR2 + low_base, since
 * guest and host graphics addresses are equal; it follows BAR2 and goes
 * when decoding goes. (On Xen the same frames reach
 * xc_domain_memory_mapping.) */
static void test_aperture_follows_bar2(void **state)
{
    struct env *e = *state;
    struct guest *g = &e->gs[1];
    const uint64_t moved = 0x800000000ull; /* 32 GiB */
    struct vgt_vgpu_info vi;
    struct vgpu_aperture_map m;

    vgt_vgpu_get_info(vgpu_host_vgpu(e->h, g->domid), &vi);
    assert_int_not_equal(vi.low_base, 0);
    assert_int_equal(vgpu_host_aperture(e->h, g->domid, &m), 0);
    assert_int_equal(m.gfn, ((1ull << 36) + vi.low_base) >> 12); /* the driver's BAR2 */
    assert_int_equal(m.mfn, vi.low_base >> 12);
    assert_int_equal(m.nr, vi.low_size >> 12);
    /* The other guest's slice is elsewhere in the aperture. */
    {
        struct vgpu_aperture_map o;

        assert_int_equal(vgpu_host_aperture(e->h, e->gs[0].domid, &o), 0);
        assert_true(o.mfn + o.nr <= m.mfn || m.mfn + m.nr <= o.mfn);
    }
    assert_int_equal(sim_guest_pci_write(g->g, 0, 0, 2, 0, 0x18, 4, (uint32_t)moved | 0xC), 0);
    assert_int_equal(sim_guest_pci_write(g->g, 0, 0, 2, 0, 0x1C, 4, (uint32_t)(moved >> 32)), 0);
    assert_int_equal(vgpu_host_aperture(e->h, g->domid, &m), 0);
    assert_int_equal(m.gfn, (moved + vi.low_base) >> 12);
    assert_int_equal(m.nr, vi.low_size >> 12);
    assert_int_equal(sim_guest_pci_write(g->g, 0, 0, 2, 0, 0x04, 2, 0), 0);
    assert_int_equal(vgpu_host_aperture(e->h, g->domid, &m), 0);
    assert_int_equal(m.nr, 0);
    assert_int_equal(vgpu_host_aperture(e->h, 99, &m), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe_and_balloon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_buffers_and_display_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_ggtt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_reaches_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar0_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aperture_follows_bar2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_move_races_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_balloon_invalidates_ggtt, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

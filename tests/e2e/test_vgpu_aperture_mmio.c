/* The aperture (BAR2) served as an ioreq MMIO range (vgpu_host_cfg
 * .aperture_mmio, always on for vgtd --gpu sim on Xen), on the simulated
 * platform so that CI covers the mode: a guest CPU access to its aperture
 * reaches, through its own GGTT entries, its own RAM; an aperture page the
 * guest never mapped reads all ones and drops writes; nothing is mapped
 * into the guest's p2m for it; another guest's aperture shows its own
 * pages only. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgpu_host.h"
#include "vgt/ggtt.h"
#include "vgt/vgpu.h"
#include "vgt/sim_gpu_guest.h"

#define MIB (1ull << 20)
#define BAR2(dev) ((0x40ull + (dev)) << 32) /* where gg_probe puts it */

static struct gg *probe(struct vgpu_host *h, uint16_t dom)
{
    struct gg_cfg dc = {.dev = 2, .bar0_gpa = 0xF0000000ull, .ram_base = 16 * MIB,
                        .ram_size = 48 * MIB, .msi_data = 0x41};
    struct gg *d;

    dc.g = vgpu_host_sim_guest(h, dom);
    assert_non_null(dc.g);
    assert_int_equal(gg_probe(&dc, &d), 0);
    return d;
}

static void run(bool aperture_mmio)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true, .aperture_mmio = aperture_mmio};
    struct vgpu_aperture_map m;
    struct gg_bo bo, bo2;
    struct gg *d1, *d2;
    struct sim_guest *g1;
    uint64_t v = 0, ap;
    uint8_t ram[16];
    char err[256];

    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    for (uint16_t dom = 1; dom <= 2; dom++) {
        struct vgpu_add_req req = {.domid = dom, .type = "V5_4", .sim_ram = 64 * MIB};

        assert_int_equal(vgpu_host_add(h, &req, err, sizeof(err)), 0);
    }
    d1 = probe(h, 1);
    d2 = probe(h, 2);
    g1 = vgpu_host_sim_guest(h, 1);
    assert_int_equal(vgpu_host_aperture(h, 1, &m), 0);
    assert_int_equal(m.gfn << 12, BAR2(2) + (m.mfn << 12)); /* BAR2 + low GM base */

    /* Two pages of guest RAM in the low GGTT range (the aperture). */
    assert_int_equal(gg_bo_create(d1, 8192, true, false, false, &bo), 0);
    assert_int_equal(gg_bo_create(d2, 4096, true, false, false, &bo2), 0);
    assert_int_equal(gg_bo_write(d2, &bo2, 0, "dom2's own page!", 16), 0);
    ap = BAR2(2) + bo.gm;

    /* Written through the aperture: lands in dom1's RAM behind the GGTT
     * entry, the second page included. */
    assert_int_equal(sim_guest_mmio_write(g1, 0, ap + 8, 8, 0x1122334455667788ull), 0);
    assert_int_equal(sim_guest_mmio_write(g1, 0, ap + 4096 + 4, 4, 0xcafef00d), 0);
    assert_int_equal(sim_guest_ram_read(g1, 0, bo.gpa + 8, ram, 8), 0);
    if (!aperture_mmio) {
        /* Without the mode nothing serves the aperture on the sim. */
        assert_int_not_equal(memcmp(ram, &(uint64_t){0x1122334455667788ull}, 8), 0);
        goto out;
    }
    assert_int_equal(memcmp(ram, &(uint64_t){0x1122334455667788ull}, 8), 0);
    assert_int_equal(sim_guest_ram_read(g1, 0, bo.gpa + 4096 + 4, ram, 4), 0);
    assert_int_equal(memcmp(ram, &(uint32_t){0xcafef00d}, 4), 0);
    /* Read back, byte and word, after the guest wrote its RAM directly. */
    assert_int_equal(sim_guest_ram_write(g1, 0, bo.gpa + 100, "abcd", 4), 0);
    assert_int_equal(sim_guest_mmio_read(g1, 0, ap + 100, 4, &v), 0);
    assert_int_equal(v, 0x64636261);
    assert_int_equal(sim_guest_mmio_read(g1, 0, ap + 101, 1, &v), 0);
    assert_int_equal(v, 'b');

    /* A page of the aperture the guest never mapped: all ones, writes
     * dropped (its entry points at the vGPU's scratch page). */
    {
        uint64_t unmapped = ap + 64 * 4096;

        assert_int_equal(sim_guest_mmio_write(g1, 0, unmapped, 8, 0x5555555555555555ull), 0);
        assert_int_equal(sim_guest_mmio_read(g1, 0, unmapped, 8, &v), 0);
        assert_int_equal(v, ~0ull);
    }
    /* dom2's aperture slice at the same guest address shows dom2's page,
     * never dom1's, and dom1 cannot reach dom2's slice: its GM is outside
     * dom1's aperture. */
    {
        struct sim_guest *g2 = vgpu_host_sim_guest(h, 2);
        char got[17] = "";

        for (unsigned i = 0; i < 16; i += 8)
            assert_int_equal(sim_guest_mmio_read(g2, 0, BAR2(2) + bo2.gm + i, 8,
                                                 (uint64_t *)(got + i)), 0);
        assert_string_equal(got, "dom2's own page!");
        assert_true(bo2.gm != bo.gm);
        assert_int_equal(sim_guest_mmio_read(g1, 0, BAR2(2) + bo2.gm, 8, &v), 0);
        assert_int_not_equal(memcmp(&v, "dom2's o", 8), 0);
    }
out:
    gg_destroy(d1);
    gg_destroy(d2);
    vgpu_host_destroy(h);
}

static void test_aperture_as_mmio(void **state)
{
    (void)state;
    run(true);
}

/* The control: the same accesses with the mode off do not reach RAM, so
 * the test above cannot pass by accident. */
static void test_aperture_off(void **state)
{
    (void)state;
    run(false);
}

struct flipper {
    struct vgt_ggtt *a, *b;
    volatile bool stop;
    unsigned switches;
};

static void *flip_main(void *arg)
{
    struct flipper *f = arg;

    while (!f->stop) {
        vgt_ggtt_make_resident(f->switches % 2 ? f->b : f->a, 0, NULL);
        f->switches++;
    }
    return NULL;
}

/* Issue 18: dom1 and dom4 share a range set (3 V5_4 fit the aperture
 * unshared). Each one's aperture reaches its own RAM through its private
 * GGTT table, whichever of them the physical GGTT holds now, while another
 * thread switches residency between them all along. */
static void test_aperture_shared_ranges(void **state)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true, .aperture_mmio = true};
    struct gg *d1, *d4;
    struct gg_bo b1, b4;
    struct sim_guest *g1, *g4;
    struct vgt_vgpu_info i1, i4;
    struct flipper f = {0};
    pthread_t thr;
    char err[256];
    uint64_t v;

    (void)state;
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    for (uint16_t dom = 1; dom <= 4; dom++) {
        struct vgpu_add_req req = {.domid = dom, .type = "V5_4", .sim_ram = 64 * MIB};

        assert_int_equal(vgpu_host_add(h, &req, err, sizeof(err)), 0);
    }
    vgt_vgpu_get_info(vgpu_host_vgpu(h, 1), &i1);
    vgt_vgpu_get_info(vgpu_host_vgpu(h, 4), &i4);
    assert_int_equal(i1.low_base, i4.low_base);
    d1 = probe(h, 1);
    d4 = probe(h, 4);
    g1 = vgpu_host_sim_guest(h, 1);
    g4 = vgpu_host_sim_guest(h, 4);
    assert_int_equal(gg_bo_create(d1, 4096, true, false, false, &b1), 0);
    assert_int_equal(gg_bo_create(d4, 4096, true, false, false, &b4), 0);
    assert_int_equal(b1.gm, b4.gm); /* the same graphics address */
    f.a = vgt_vgpu_ggtt(vgpu_host_vgpu(h, 1));
    f.b = vgt_vgpu_ggtt(vgpu_host_vgpu(h, 4));
    assert_int_equal(pthread_create(&thr, NULL, flip_main, &f), 0);
    for (uint64_t k = 0; k < 2000; k++) {
        uint64_t w1 = 0x1100000000000000ull | k, w4 = 0x4400000000000000ull | k;
        uint64_t off = (k % 512) * 8;

        assert_int_equal(sim_guest_mmio_write(g1, 0, BAR2(2) + b1.gm + off, 8, w1), 0);
        assert_int_equal(sim_guest_mmio_write(g4, 0, BAR2(2) + b4.gm + off, 8, w4), 0);
        assert_int_equal(sim_guest_mmio_read(g1, 0, BAR2(2) + b1.gm + off, 8, &v), 0);
        assert_int_equal(v, w1);
        assert_int_equal(sim_guest_mmio_read(g4, 0, BAR2(2) + b4.gm + off, 8, &v), 0);
        assert_int_equal(v, w4);
        /* and in each one's own RAM, never the other's */
        assert_int_equal(sim_guest_ram_read(g1, 0, b1.gpa + off, &v, 8), 0);
        assert_int_equal(v, w1);
        assert_int_equal(sim_guest_ram_read(g4, 0, b4.gpa + off, &v, 8), 0);
        assert_int_equal(v, w4);
    }
    f.stop = true;
    pthread_join(thr, NULL);
    assert_true(f.switches > 2);
    gg_destroy(d1);
    gg_destroy(d4);
    vgpu_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aperture_as_mmio),
        cmocka_unit_test(test_aperture_off),
        cmocka_unit_test(test_aperture_shared_ranges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

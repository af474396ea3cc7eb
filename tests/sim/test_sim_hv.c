/* The simulated hypervisor with the ioreq engine on top: RAM and p2m,
 * MMIO/PIO/PCI routing with Xen's rules, write protection, MSIs,
 * INVALIDATE, rep I/O. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/sim_hv.h"
#include "vgt/util.h"

struct env {
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_guest *g;
    struct vgt_log log;
};

struct srv {
    struct vgt_ioreq_server *s;
    pthread_t thread;
    bool running;
};

/* A device whose registers echo their own address: reads give
 * tag | offset, writes are recorded. */
struct echo {
    uint64_t tag;
    uint64_t last_addr, last_val;
    unsigned last_size, last_vcpu, writes, reads;
    uint32_t last_sbdf;
};

static int echo_read(void *opaque, const struct vgt_io_access *a, uint64_t *val)
{
    struct echo *e = opaque;

    e->reads++;
    e->last_addr = a->addr;
    e->last_size = a->size;
    e->last_vcpu = a->vcpu;
    e->last_sbdf = a->sbdf;
    *val = e->tag | a->offset;
    return 0;
}

static int echo_write(void *opaque, const struct vgt_io_access *a, uint64_t val)
{
    struct echo *e = opaque;

    e->writes++;
    e->last_addr = a->addr;
    e->last_val = val;
    e->last_size = a->size;
    e->last_vcpu = a->vcpu;
    e->last_sbdf = a->sbdf;
    return 0;
}

static const struct vgt_io_ops echo_ops = {echo_read, echo_write};

static int setup(void **state)
{
    static struct env e;
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = 3, .ram_bytes = 8ull << 20, .nr_vcpus = 4};

    memset(&e, 0, sizeof(e));
    vgt_log_init(&e.log, "test", VGT_LOG_OFF);
    assert_int_equal(sim_arena_create(64ull << 20, &e.arena), 0);
    hc.arena = e.arena;
    hc.log = &e.log;
    assert_int_equal(sim_hv_create(&hc, &e.hv), 0);
    assert_int_equal(sim_guest_create(e.hv, &gc, &e.g), 0);
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    assert_int_equal(sim_guest_destroy(e->g), 0);
    assert_int_equal(sim_hv_destroy(e->hv), 0);
    sim_arena_destroy(e->arena);
    return 0;
}

static void *serve(void *p)
{
    vgt_ioreq_server_run(p);
    return NULL;
}

static void srv_create(struct env *e, struct srv *sv, bool buf)
{
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server_cfg cfg = {.domid = 3, .bufioreq = buf, .log = &e->log};

    assert_int_equal(sim_hv_ioreq_backend_create(e->g, &e->log, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &sv->s), 0);
    sv->running = false;
}

static void srv_start(struct srv *sv)
{
    assert_int_equal(vgt_ioreq_server_start(sv->s), 0);
    assert_int_equal(pthread_create(&sv->thread, NULL, serve, sv->s), 0);
    sv->running = true;
}

static void srv_destroy(struct srv *sv)
{
    if (sv->running) {
        vgt_ioreq_server_stop(sv->s);
        pthread_join(sv->thread, NULL);
    }
    vgt_ioreq_server_destroy(sv->s);
}

static void test_p2m_scrambled(void **state)
{
    struct env *e = *state;
    struct vgt_hv *hv = sim_guest_hv(e->g);
    uint64_t dma, prev = 0, identity = 0, contiguous = 0;
    uint64_t pages = sim_guest_ram_bytes(e->g) >> VGT_PAGE_SHIFT;
    uint8_t buf[64], back[64];

    for (uint64_t gfn = 0; gfn < 0x200; gfn++) {
        if (!sim_guest_gfn_is_ram(e->g, gfn)) {
            assert_true(gfn >= 0xa0 && gfn <= 0xbf);
            assert_int_equal(vgt_hv_gfn_to_dma(hv, gfn, &dma), -EFAULT);
            continue;
        }
        assert_int_equal(vgt_hv_gfn_to_dma(hv, gfn, &dma), 0);
        assert_true(sim_arena_contains(e->arena, dma, VGT_PAGE_SIZE));
        identity += dma == (gfn << 12);
        contiguous += dma == prev + VGT_PAGE_SIZE;
        prev = dma;
    }
    assert_int_equal(identity, 0);
    assert_true(contiguous < 16);
    assert_true(sim_guest_max_gfn(e->g) >= pages);
    /* The guest's stores and the emulator's view agree through the p2m. */
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(sim_guest_ram_write(e->g, 0, 0x9ffe0, buf, sizeof(buf)), -EFAULT);
    assert_int_equal(sim_guest_ram_write(e->g, 0, 0x12ff0, buf, sizeof(buf)), 0);
    assert_int_equal(vgt_hv_read(hv, 0x12ff0, back, sizeof(back)), 0);
    assert_memory_equal(buf, back, sizeof(buf));
    assert_int_equal(vgt_hv_gfn_to_dma(hv, 0x13, &dma), 0);
    assert_memory_equal((uint8_t *)sim_arena_ptr(e->arena, dma, 16), buf + 16, 16);
    assert_int_equal(vgt_hv_read(hv, sim_guest_max_gfn(e->g) << 12, back, 1), -EFAULT);
}

static void test_mmio_round_trip(void **state)
{
    struct env *e = *state;
    struct echo dev = {.tag = 0xabcd0000};
    struct srv sv;
    uint64_t v;
    int id;

    srv_create(e, &sv, false);
    assert_int_equal(vgt_ioreq_server_map_range(sv.s, VGT_IO_MMIO, 0xfe000000, 0xfe000fff,
                                                &echo_ops, &dev, &id), 0);
    srv_start(&sv);
    for (unsigned size = 1; size <= 8; size *= 2) {
        assert_int_equal(sim_guest_mmio_read(e->g, 2, 0xfe000010, size, &v), 0);
        assert_int_equal(v, (0xabcd0010ull) & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1));
        assert_int_equal(dev.last_size, size);
        assert_int_equal(dev.last_vcpu, 2);
        assert_int_equal(sim_guest_mmio_write(e->g, 1, 0xfe000020, size, 0x1122334455667788ull),
                         0);
        assert_int_equal(dev.last_val,
                         0x1122334455667788ull & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1));
        assert_int_equal(dev.last_vcpu, 1);
    }
    /* Unclaimed: all ones. Straddling the end of the range: unclaimed too. */
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xfe001000, 4, &v), 0);
    assert_int_equal(v, 0xffffffffull);
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xfe000ffc, 8, &v), -EINVAL);
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xfe000ff8, 8, &v), 0);
    assert_int_equal(v, 0xabcd0ff8ull);
    assert_int_equal(sim_guest_mmio_read(e->g, 9, 0xfe000000, 4, &v), -EINVAL);
    srv_destroy(&sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2m_scrambled),
        cmocka_unit_test(test_mmio_round_trip),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

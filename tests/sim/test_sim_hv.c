/* The simulated hypervisor with the ioreq engine on top: RAM and p2m,
 * MMIO/PIO/PCI routing with Xen's rules, write protection, MSIs,
 * INVALIDATE, rep I/O. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

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


/* Xen's rules: highest id wins on overlap, disabled servers are skipped,
 * at most 8 servers. */
static void test_server_selection(void **state)
{
    struct env *e = *state;
    struct echo d0 = {.tag = 0x1000000}, d1 = {.tag = 0x2000000};
    struct srv s0, s1, more[6], extra;
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server_cfg cfg = {.domid = 3, .log = &e->log};
    uint64_t v;

    srv_create(e, &s0, false);
    srv_create(e, &s1, false);
    assert_int_equal(vgt_ioreq_server_map_range(s0.s, VGT_IO_MMIO, 0xe0000000, 0xe0001fff,
                                                &echo_ops, &d0, NULL), 0);
    assert_int_equal(vgt_ioreq_server_map_range(s1.s, VGT_IO_MMIO, 0xe0001000, 0xe0001fff,
                                                &echo_ops, &d1, NULL), 0);
    srv_start(&s0);
    /* s1 is not enabled yet: s0 answers. */
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xe0001004, 4, &v), 0);
    assert_int_equal(v, 0x1001004);
    srv_start(&s1);
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xe0001004, 4, &v), 0);
    assert_int_equal(v, 0x2000004);
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xe0000004, 4, &v), 0);
    assert_int_equal(v, 0x1000004);
    for (unsigned i = 0; i < 6; i++)
        srv_create(e, &more[i], false);
    assert_int_equal(sim_hv_ioreq_backend_create(e->g, &e->log, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &extra.s), -ENOSPC);
    for (unsigned i = 0; i < 6; i++)
        srv_destroy(&more[i]);
    srv_destroy(&s1);
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xe0001004, 4, &v), 0);
    assert_int_equal(v, 0x1001004);
    srv_destroy(&s0);
    assert_int_equal(sim_guest_mmio_read(e->g, 0, 0xe0001004, 4, &v), 0);
    assert_int_equal(v, 0xffffffff);
}

static void test_pio_and_pci(void **state)
{
    struct env *e = *state;
    struct echo port = {.tag = 0x500}, cfg = {.tag = 0xc0de0000};
    struct srv sv;
    uint32_t v;

    srv_create(e, &sv, false);
    assert_int_equal(vgt_ioreq_server_map_range(sv.s, VGT_IO_PORT, 0x3f8, 0x3ff, &echo_ops,
                                                &port, NULL), 0);
    assert_int_equal(vgt_ioreq_server_map_range(sv.s, VGT_IO_PCI, VGT_SBDF(0, 0, 3, 0),
                                                VGT_SBDF(0, 0, 3, 0), &echo_ops, &cfg, NULL), 0);
    srv_start(&sv);
    assert_int_equal(sim_guest_pio_read(e->g, 1, 0x3fa, 1, &v), 0);
    assert_int_equal(v, 0x02);
    assert_int_equal(sim_guest_pio_write(e->g, 1, 0x3f9, 2, 0xbeef), 0);
    assert_int_equal(port.last_val, 0xbeef);
    assert_int_equal(port.last_addr, 0x3f9);
    assert_int_equal(sim_guest_pio_read(e->g, 1, 0x400, 1, &v), 0);
    assert_int_equal(v, 0xff);
    /* Config space through 0xCF8/0xCFC reaches the server as PCI_CONFIG. */
    assert_int_equal(sim_guest_pci_read(e->g, 2, 0, 3, 0, 0x12, 2, &v), 0);
    assert_int_equal(v, 0x0012);
    assert_int_equal(cfg.last_sbdf, VGT_SBDF(0, 0, 3, 0));
    assert_int_equal(cfg.last_addr, 0x12);
    assert_int_equal(cfg.last_size, 2);
    assert_int_equal(sim_guest_pci_write(e->g, 2, 0, 3, 0, 0x3c, 1, 0x0b), 0);
    assert_int_equal(cfg.last_addr, 0x3c);
    assert_int_equal(cfg.last_val, 0x0b);
    /* Another device reads all ones; the host bridge is an i440FX. */
    assert_int_equal(sim_guest_pci_read(e->g, 2, 0, 4, 0, 0, 4, &v), 0);
    assert_int_equal(v, 0xffffffff);
    assert_int_equal(sim_guest_pci_read(e->g, 2, 0, 0, 0, 0, 4, &v), 0);
    assert_int_equal(v, 0x12378086);
    /* i440FX: 256 bytes of config space. */
    assert_int_equal(sim_guest_pci_read(e->g, 2, 0, 3, 0, 0x100, 4, &v), -EINVAL);
    srv_destroy(&sv);
}

static int wp_drop(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    (void)opaque, (void)gpa, (void)size, (void)val;
    return 0;
}

static uint64_t wp_gpa_seen[64];
static unsigned wp_n;

static int wp_apply(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    struct vgt_hv *hv = opaque;

    if (wp_n < 64)
        wp_gpa_seen[wp_n++] = gpa | ((uint64_t)size << 56);
    return vgt_hv_write(hv, gpa, &val, size);
}

static void test_write_protect(void **state)
{
    struct env *e = *state;
    struct srv sv;
    struct vgt_hv *hv;
    uint8_t buf[16], back[16];
    struct sim_guest_stats st;

    srv_create(e, &sv, false);
    hv = vgt_ioreq_server_hv(sv.s);
    srv_start(&sv);
    assert_int_equal(hv->ops->set_wp_handler(hv, wp_apply, hv), 0);
    assert_int_equal(hv->ops->set_wp(hv, 0x40, 1, true), 0);
    assert_true(sim_guest_gfn_is_wp(e->g, 0x40));
    /* A 16-byte store from 0x40ffb: 0x40ffb..0x40fff forwarded as 1+4 bytes
     * (aligned pieces), the rest applied directly on the next page. */
    for (unsigned i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0xa0 + i);
    wp_n = 0;
    assert_int_equal(sim_guest_ram_write(e->g, 1, 0x40ffb, buf, 16), 0);
    assert_int_equal(wp_n, 2);
    assert_int_equal(wp_gpa_seen[0], 0x40ffb | (1ull << 56));
    assert_int_equal(wp_gpa_seen[1], 0x40ffc | (4ull << 56));
    assert_int_equal(sim_guest_ram_read(e->g, 1, 0x40ffb, back, 16), 0);
    assert_memory_equal(buf, back, 16); /* the handler applied it */
    /* Without the handler applying, the store is lost: not applied by hv. */
    assert_int_equal(hv->ops->set_wp_handler(hv, wp_drop, NULL), 0);
    assert_int_equal(sim_guest_mmio_write(e->g, 0, 0x40010, 8, 0x1122334455667788ull), 0);
    assert_int_equal(vgt_hv_read(hv, 0x40010, back, 8), 0);
    assert_int_equal(back[0], 0);
    sim_guest_get_stats(e->g, &st);
    assert_int_equal(st.wp_forwarded, 3);
    assert_int_equal(hv->ops->set_wp(hv, 0x40, 1, false), 0);
    assert_int_equal(sim_guest_mmio_write(e->g, 0, 0x40010, 1, 0x99), 0);
    assert_int_equal(vgt_hv_read(hv, 0x40010, back, 1), 0);
    assert_int_equal(back[0], 0x99);
    srv_destroy(&sv);
}

/* rep movsq into a write-protected page reaches the handler item by item
 * (through the engine), in store order, and lands once applied. */
static void test_wp_rep_movs(void **state)
{
    struct env *e = *state;
    struct srv sv;
    struct vgt_hv *hv;
    uint64_t src[8], back[8];
    struct sim_rep_io rep = {.mmio = true, .size = 8, .count = 8};

    srv_create(e, &sv, false);
    hv = vgt_ioreq_server_hv(sv.s);
    srv_start(&sv);
    assert_int_equal(hv->ops->set_wp_handler(hv, wp_apply, hv), 0);
    assert_int_equal(hv->ops->set_wp(hv, 0x41, 1, true), 0);
    for (unsigned i = 0; i < 8; i++)
        src[i] = 0x0101010101010101ull * (i + 1);
    assert_int_equal(sim_guest_ram_write(e->g, 0, 0x30000, src, sizeof(src)), 0);
    /* Forwards, from the page before into the protected one. */
    wp_n = 0;
    rep.addr = 0x40fe0;
    rep.buf_gpa = 0x30000;
    assert_int_equal(sim_guest_rep_io(e->g, 0, &rep), 0);
    assert_int_equal(wp_n, 8);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(wp_gpa_seen[i], (0x40fe0 + 8 * i) | (8ull << 56));
    assert_int_equal(sim_guest_ram_read(e->g, 0, 0x40fe0, back, sizeof(back)), 0);
    assert_memory_equal(back, src, sizeof(src));
    /* Backwards (df): the destination steps down from its first item. */
    wp_n = 0;
    rep.df = true;
    rep.addr = 0x41138;
    rep.buf_gpa = 0x30038;
    assert_int_equal(sim_guest_rep_io(e->g, 0, &rep), 0);
    assert_int_equal(wp_n, 8);
    assert_int_equal(wp_gpa_seen[0], 0x41138 | (8ull << 56));
    assert_int_equal(wp_gpa_seen[7], 0x41100 | (8ull << 56));
    assert_int_equal(sim_guest_ram_read(e->g, 0, 0x41100, back, sizeof(back)), 0);
    assert_memory_equal(back, src, sizeof(src));
    /* Plain RAM is copied by the hypervisor, nothing forwarded. */
    wp_n = 0;
    rep.df = false;
    rep.addr = 0x50000;
    rep.buf_gpa = 0x30000;
    assert_int_equal(sim_guest_rep_io(e->g, 0, &rep), 0);
    assert_int_equal(wp_n, 0);
    assert_int_equal(sim_guest_ram_read(e->g, 0, 0x50000, back, sizeof(back)), 0);
    assert_memory_equal(back, src, sizeof(src));
    srv_destroy(&sv);
}

static void test_msi_and_dirty(void **state)
{
    struct env *e = *state;
    struct vgt_hv *hv = sim_guest_hv(e->g);
    struct sim_msi m;

    assert_int_equal(sim_guest_wait_msi(e->g, 0, &m), -ETIMEDOUT);
    assert_int_equal(hv->ops->inject_msi(hv, 0xfee00000, 0x4041), 0);
    assert_int_equal(sim_guest_wait_msi(e->g, 100, &m), 0);
    assert_int_equal(m.addr, 0xfee00000);
    assert_int_equal(m.data, 0x4041);
    assert_int_equal(sim_guest_wait_msi(e->g, 10, &m), -ETIMEDOUT);
    assert_int_equal(hv->ops->mark_dirty(hv, 5, 2), 0);
    assert_true(sim_guest_test_and_clear_dirty(e->g, 6));
    assert_false(sim_guest_test_and_clear_dirty(e->g, 6));
    assert_false(sim_guest_test_and_clear_dirty(e->g, 7));
    assert_int_equal(hv->ops->mark_dirty(hv, sim_guest_max_gfn(e->g), 1), -EFAULT);
}

static void test_invalidate_rep_buffered(void **state)
{
    struct env *e = *state;
    struct echo dev = {.tag = 0x7000}, vga = {.tag = 0};
    struct srv a, b;
    struct vgt_ioreq_stats sa, sb;
    struct sim_rep_io r = {.mmio = true, .read = false, .addr = 0xfe000100, .size = 4,
                           .count = 4, .buf_gpa = 0x20000};
    uint32_t words[4] = {1, 2, 3, 4}, got[4];

    srv_create(e, &a, false);
    srv_create(e, &b, true);
    assert_int_equal(vgt_ioreq_server_map_range(a.s, VGT_IO_MMIO, 0xfe000000, 0xfe000fff,
                                                &echo_ops, &dev, NULL), 0);
    assert_int_equal(vgt_ioreq_server_map_range(b.s, VGT_IO_MMIO, SIM_HV_VGA_START,
                                                SIM_HV_VGA_END, &echo_ops, &vga, NULL), 0);
    srv_start(&a);
    srv_start(&b);
    assert_int_equal(sim_guest_invalidate(e->g, 3), 0);
    vgt_ioreq_server_get_stats(a.s, &sa);
    vgt_ioreq_server_get_stats(b.s, &sb);
    assert_int_equal(sa.invalidate, 1);
    assert_int_equal(sb.invalidate, 1);
    assert_int_equal(sa.bad + sb.bad, 0);
    /* rep outsd from RAM, then rep insd into RAM. */
    assert_int_equal(sim_guest_ram_write(e->g, 0, 0x20000, words, sizeof(words)), 0);
    assert_int_equal(sim_guest_rep_io(e->g, 0, &r), 0);
    assert_int_equal(dev.writes, 4);
    assert_int_equal(dev.last_val, 4);
    assert_int_equal(dev.last_addr, 0xfe00010c);
    r.read = true;
    r.buf_gpa = 0x21000;
    assert_int_equal(sim_guest_rep_io(e->g, 0, &r), 0);
    assert_int_equal(sim_guest_ram_read(e->g, 0, 0x21000, got, sizeof(got)), 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(got[i], 0x7100 + 4 * i);
    /* 2000 writes to the VGA window go through b's buffered ring (it wraps
     * a few times); a read after them sees them all done, in order. */
    for (unsigned i = 0; i < 2000; i++)
        assert_int_equal(sim_guest_mmio_write(e->g, 1, SIM_HV_VGA_START + (i % 64) * 8,
                                              (i & 1) ? 8 : 2, i), 0);
    assert_int_equal(sim_guest_set_timeoffset(e->g, -7200), 0);
    for (int spin = 0; spin < 2000; spin++) {
        vgt_ioreq_server_get_stats(b.s, &sb);
        if (sb.buffered == 2001)
            break;
        usleep(1000);
    }
    assert_int_equal(sb.buffered, 2001);
    assert_int_equal(vga.writes, 2000);
    assert_int_equal(vga.last_val, 1999);
    assert_int_equal(vga.last_size, 8);
    vgt_ioreq_server_get_stats(a.s, &sa);
    assert_int_equal(sa.buffered, 0);
    srv_destroy(&b);
    srv_destroy(&a);
}

/* Right after the binds every port has an event while its slot is NONE
 * (as on Xen): they are counted as spurious and nothing is answered. */
static void test_spurious_after_bind(void **state)
{
    struct env *e = *state;
    struct srv sv;
    struct vgt_ioreq_stats st;

    srv_create(e, &sv, false);
    assert_int_equal(vgt_ioreq_server_start(sv.s), 0);
    assert_int_equal(vgt_ioreq_server_poll(sv.s, 100), 0);
    vgt_ioreq_server_get_stats(sv.s, &st);
    assert_int_equal(st.spurious, sim_guest_nr_vcpus(e->g));
    assert_int_equal(st.served, 0);
    vgt_ioreq_server_destroy(sv.s);
}

/* A guest made on frames another guest wrote reads zero everywhere: the
 * arena drops large runs with MADV_DONTNEED instead of a memset, so a
 * frame it failed to drop would show here. The old guest's frames are
 * written by every writer there is: the guest's own stores, the
 * emulator's (vgt_hv_write: the mediator's and the device model's) and
 * the host-physical pointer the simulated GPU's DMA uses. */
static void test_ram_zero_on_reuse(void **state)
{
    struct env *e = *state;
    struct vgt_hv *hv = sim_guest_hv(e->g);
    uint64_t pages = sim_guest_ram_bytes(e->g) >> VGT_PAGE_SHIFT, n = 0, reused = 0, dirty = 0;
    uint64_t *old = calloc(pages, sizeof(*old)), dma;
    struct sim_guest_cfg gc = {.domid = 3, .nr_vcpus = 1};
    uint8_t pat[VGT_PAGE_SIZE], page[VGT_PAGE_SIZE], zero[VGT_PAGE_SIZE] = {0};

    assert_non_null(old);
    memset(pat, 0xa5, sizeof(pat));
    for (uint64_t gfn = 0; gfn < sim_guest_max_gfn(e->g); gfn++) {
        if (!sim_guest_gfn_is_ram(e->g, gfn))
            continue;
        assert_int_equal(vgt_hv_gfn_to_dma(hv, gfn, &dma), 0);
        if (n % 3 == 0)
            assert_int_equal(sim_guest_ram_write(e->g, 0, gfn << 12, pat, sizeof(pat)), 0);
        else if (n % 3 == 1)
            assert_int_equal(vgt_hv_write(hv, gfn << 12, pat, sizeof(pat)), 0);
        else
            memset(sim_arena_ptr(e->arena, dma, VGT_PAGE_SIZE), 0xa5, VGT_PAGE_SIZE);
        old[n++] = dma;
    }
    assert_int_equal(n, pages);
    assert_int_equal(sim_guest_destroy(e->g), 0);
    /* All the free RAM but a little for the guest's own pages: most of
     * the frames just freed come back in it. */
    gc.ram_bytes = (sim_arena_frames_free(e->arena) - 64) << VGT_PAGE_SHIFT;
    assert_int_equal(sim_guest_create(e->hv, &gc, &e->g), 0);
    hv = sim_guest_hv(e->g);
    for (uint64_t gfn = 0; gfn < sim_guest_max_gfn(e->g); gfn++) {
        if (!sim_guest_gfn_is_ram(e->g, gfn))
            continue;
        assert_int_equal(vgt_hv_gfn_to_dma(hv, gfn, &dma), 0);
        assert_int_equal(vgt_hv_read(hv, gfn << 12, page, sizeof(page)), 0);
        dirty += memcmp(page, zero, sizeof(page)) != 0;
        for (uint64_t i = 0; i < pages; i++)
            if (old[i] == dma) {
                reused++;
                break;
            }
    }
    assert_int_equal(dirty, 0);
    assert_true(reused >= pages - 64);
    free(old);
    /* Back to the group's guest for teardown. */
    assert_int_equal(sim_guest_destroy(e->g), 0);
    gc.ram_bytes = 8ull << 20;
    gc.nr_vcpus = 4;
    assert_int_equal(sim_guest_create(e->hv, &gc, &e->g), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2m_scrambled),
        cmocka_unit_test(test_mmio_round_trip),
        cmocka_unit_test(test_server_selection),
        cmocka_unit_test(test_pio_and_pci),
        cmocka_unit_test(test_write_protect),
        cmocka_unit_test(test_wp_rep_movs),
        cmocka_unit_test(test_msi_and_dirty),
        cmocka_unit_test(test_invalidate_rep_buffered),
        cmocka_unit_test(test_spurious_after_bind),
        cmocka_unit_test(test_ram_zero_on_reuse), /* last: it replaces the guest */
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

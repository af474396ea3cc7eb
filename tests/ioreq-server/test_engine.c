/* The ioreq engine against a scripted hypervisor: the test writes slots
 * and ring entries the way Xen would (or the way a broken one would) and
 * fires ports, then checks the state machine, the answers, the handlers
 * and the counters. Covers every request kind and every bad request. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/util.h"

#define NVCPU 4
#define REMOTE(i) (10u + (i))
#define LOCAL(i) (100u + (i))
#define BUF_REMOTE 50u
#define BUF_LOCAL 150u
#define RAM_SIZE 0x10000u

struct mem_be {
    struct vgt_ioreq_backend base;
    struct vgt_hv hv;
    shared_iopage_t *sync;
    buffered_iopage_t *buf;
    uint8_t ram[RAM_SIZE];
    char calls[64][32];
    unsigned ncalls;
    int ports[16];
    unsigned nports;
    unsigned notified[256], unmasked[1024];
    bool wp_claimed;
    uint64_t wp_gfn, wp_nr;
    unsigned ram_reads; /* read_gpa calls: guest memory is read once */
};

static struct mem_be *B(struct vgt_ioreq_backend *b)
{
    return (struct mem_be *)b;
}

static void rec(struct mem_be *m, const char *c)
{
    if (m->ncalls < 64)
        snprintf(m->calls[m->ncalls++], 32, "%s", c);
}

static int m_create(struct vgt_ioreq_backend *b, bool buf, unsigned *n)
{
    struct mem_be *m = B(b);

    rec(m, "create");
    m->sync = aligned_alloc(4096, 4096);
    memset(m->sync, 0, 4096);
    if (buf) {
        m->buf = aligned_alloc(4096, 4096);
        memset(m->buf, 0, 4096);
    }
    *n = NVCPU;
    return 0;
}

static int m_map_pages(struct vgt_ioreq_backend *b, shared_iopage_t **s, buffered_iopage_t **bu)
{
    rec(B(b), "map_pages");
    *s = B(b)->sync;
    *bu = B(b)->buf;
    return 0;
}

static int m_map_range(struct vgt_ioreq_backend *b, enum vgt_io_type t, uint64_t s, uint64_t e)
{
    (void)t, (void)s, (void)e;
    rec(B(b), "map_range");
    return 0;
}

static int m_unmap_range(struct vgt_ioreq_backend *b, enum vgt_io_type t, uint64_t s,
                         uint64_t e)
{
    (void)t, (void)s, (void)e;
    rec(B(b), "unmap_range");
    return 0;
}

static int m_enable(struct vgt_ioreq_backend *b, bool on)
{
    struct mem_be *m = B(b);

    rec(m, on ? "enable" : "disable");
    for (unsigned i = 0; on && i < NVCPU; i++)
        m->sync->vcpu_ioreq[i].vp_eport = REMOTE(i);
    return 0;
}

static int m_buf_port(struct vgt_ioreq_backend *b, uint32_t *r)
{
    rec(B(b), "buf_port");
    *r = BUF_REMOTE;
    return 0;
}

static int m_bind(struct vgt_ioreq_backend *b, uint32_t r, uint32_t *l)
{
    rec(B(b), "bind");
    *l = r == BUF_REMOTE ? BUF_LOCAL : r - 10 + 100;
    return 0;
}

static int m_unbind(struct vgt_ioreq_backend *b, uint32_t l)
{
    (void)l;
    rec(B(b), "unbind");
    return 0;
}

static int m_restrict(struct vgt_ioreq_backend *b)
{
    rec(B(b), "restrict");
    return 0;
}

static int m_fd(struct vgt_ioreq_backend *b)
{
    (void)b;
    return -1;
}

static int m_wait(struct vgt_ioreq_backend *b, int t)
{
    (void)t;
    return B(b)->nports ? 0 : -ETIMEDOUT;
}

static int m_pending(struct vgt_ioreq_backend *b)
{
    struct mem_be *m = B(b);
    int p;

    if (!m->nports)
        return -EAGAIN;
    p = m->ports[0];
    memmove(m->ports, m->ports + 1, --m->nports * sizeof(int));
    return p;
}

static int m_unmask(struct vgt_ioreq_backend *b, uint32_t l)
{
    B(b)->unmasked[l % 1024]++;
    return 0;
}

static int m_notify(struct vgt_ioreq_backend *b, uint32_t l)
{
    B(b)->notified[l % 256]++;
    return 0;
}

static void m_kick(struct vgt_ioreq_backend *b)
{
    (void)b;
}

static int m_claim_wp(struct vgt_ioreq_backend *b)
{
    B(b)->wp_claimed = true;
    return 0;
}

static int m_set_wp(struct vgt_ioreq_backend *b, uint64_t gfn, uint64_t nr, bool p)
{
    (void)p;
    B(b)->wp_gfn = gfn;
    B(b)->wp_nr = nr;
    return 0;
}

static void m_unmap_pages(struct vgt_ioreq_backend *b)
{
    rec(B(b), "unmap_pages");
}

static void m_destroy(struct vgt_ioreq_backend *b)
{
    free(B(b)->sync);
    free(B(b)->buf);
    free(b);
}

/* The backend's cached guest mappings go first (the xen backend's map
 * cache), so the device's revalidation maps afresh. */
static void m_invalidate(struct vgt_ioreq_backend *b)
{
    rec(B(b), "invalidate");
}

static const struct vgt_ioreq_backend_ops mem_ops = {
    "mem", m_create, m_map_pages, m_map_range, m_unmap_range, m_enable, m_buf_port,
    m_bind, m_unbind, m_restrict, m_fd, m_wait, m_pending, m_unmask, m_notify, m_kick,
    m_claim_wp, m_set_wp, m_unmap_pages, m_destroy, m_invalidate,
};

static struct mem_be *hv_mem(struct vgt_hv *hv)
{
    return (struct mem_be *)((char *)hv - offsetof(struct mem_be, hv));
}

static int h_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
        return -EFAULT;
    hv_mem(hv)->ram_reads++;
    memcpy(buf, hv_mem(hv)->ram + gpa, len);
    return 0;
}

static int h_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
        return -EFAULT;
    memcpy(hv_mem(hv)->ram + gpa, buf, len);
    return 0;
}

static const struct vgt_hv_ops mem_hv_ops = {.read_gpa = h_read, .write_gpa = h_write};

/* ---- a device that records what it sees ---- */

struct rec_dev {
    unsigned reads, writes;
    struct vgt_io_access last;
    uint64_t wvals[64];
    unsigned nw;
    uint64_t next_read;
};

static int d_read(void *o, const struct vgt_io_access *a, uint64_t *v)
{
    struct rec_dev *d = o;

    d->reads++;
    d->last = *a;
    *v = d->next_read++;
    return 0;
}

static int d_write(void *o, const struct vgt_io_access *a, uint64_t v)
{
    struct rec_dev *d = o;

    d->writes++;
    d->last = *a;
    if (d->nw < 64)
        d->wvals[d->nw++] = v;
    return 0;
}

static const struct vgt_io_ops rec_ops = {d_read, d_write};

struct t {
    struct mem_be *m;
    struct vgt_ioreq_server *s;
    struct rec_dev pio, mmio, pci;
    struct vgt_log log;
};

static int make(void **state, bool buf)
{
    struct t *t = calloc(1, sizeof(*t));
    struct vgt_ioreq_server_cfg cfg = {.domid = 7, .bufioreq = buf, .log = &t->log};

    vgt_log_init(&t->log, "test", VGT_LOG_OFF);
    t->m = calloc(1, sizeof(*t->m));
    t->m->base.ops = &mem_ops;
    t->m->base.hv = &t->m->hv;
    t->m->hv.ops = &mem_hv_ops;
    t->m->hv.max_gfn = RAM_SIZE >> 12;
    assert_int_equal(vgt_ioreq_server_create(&cfg, &t->m->base, &t->s), 0);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_PORT, 0x3f8, 0x3ff, &rec_ops,
                                                &t->pio, NULL), 0);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0xfe000000, 0xfe000fff,
                                                &rec_ops, &t->mmio, NULL), 0);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_PCI, VGT_SBDF(0, 0, 2, 0),
                                                VGT_SBDF(0, 0, 2, 0), &rec_ops, &t->pci, NULL),
                     0);
    assert_int_equal(vgt_ioreq_server_start(t->s), 0);
    /* Xen leaves an event pending on every freshly bound port. */
    *state = t;
    return 0;
}

static int setup(void **state)
{
    return make(state, false);
}

static int setup_buf(void **state)
{
    return make(state, true);
}

static int teardown(void **state)
{
    struct t *t = *state;

    vgt_ioreq_server_destroy(t->s);
    free(t);
    return 0;
}

/* Put @r in vCPU @v's slot as READY and fire its port; serve. */
static volatile ioreq_t *fire(struct t *t, unsigned v, ioreq_t r)
{
    volatile ioreq_t *slot = &t->m->sync->vcpu_ioreq[v];

    r.vp_eport = slot->vp_eport;
    r.state = STATE_IOREQ_READY;
    memcpy((void *)slot, &r, sizeof(r));
    t->m->ports[t->m->nports++] = (int)LOCAL(v);
    assert_true(vgt_ioreq_server_poll(t->s, 0) >= 1);
    assert_int_equal(slot->state, STATE_IORESP_READY);
    slot->state = STATE_IOREQ_NONE; /* the hypervisor takes the answer */
    return slot;
}

static void test_start_order(void **state)
{
    struct t *t = *state;
    static const char *const want[] = {"create", "map_pages", "map_range", "map_range",
                                       "map_range", "enable", "bind", "bind", "bind", "bind",
                                       "restrict"};

    assert_int_equal(t->m->ncalls, VGT_ARRAY_SIZE(want));
    for (size_t i = 0; i < VGT_ARRAY_SIZE(want); i++)
        assert_string_equal(t->m->calls[i], want[i]);
}

static void test_pio(void **state)
{
    struct t *t = *state;
    volatile ioreq_t *s;

    t->pio.next_read = 0x1234;
    s = fire(t, 1, (ioreq_t){.type = IOREQ_TYPE_PIO, .addr = 0x3fa, .size = 2, .count = 1,
                             .dir = IOREQ_READ});
    assert_int_equal(s->data, 0x1234);
    assert_int_equal(t->pio.last.offset, 2);
    assert_int_equal(t->pio.last.vcpu, 1);
    assert_int_equal(t->m->notified[LOCAL(1)], 1);
    fire(t, 2, (ioreq_t){.type = IOREQ_TYPE_PIO, .addr = 0x3f8, .size = 1, .count = 1,
                         .dir = IOREQ_WRITE, .data = 0x1ff});
    assert_int_equal(t->pio.wvals[0], 0xff); /* masked to the size */
    /* Both synchronous requests are in the service-time histogram, whose
     * buckets add up to its count and whose sum is their time. */
    {
        struct vgt_ioreq_stats st;
        uint64_t n = 0;

        vgt_ioreq_server_get_stats(t->s, &st);
        for (unsigned b = 0; b <= VGT_IOREQ_LAT_BUCKETS; b++)
            n += st.lat_bucket[b];
        assert_int_equal(st.lat_count, 2);
        assert_int_equal(n, 2);
        assert_true(st.lat_sum_ns > 0);
    }
}

static void test_copy_sizes(void **state)
{
    struct t *t = *state;

    for (unsigned size = 1; size <= 8; size *= 2) {
        uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        volatile ioreq_t *s;

        t->mmio.next_read = 0x8877665544332211ull;
        s = fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe000100, .size = size,
                                 .count = 1, .dir = IOREQ_READ});
        assert_int_equal(s->data, 0x8877665544332211ull & mask);
        assert_int_equal(t->mmio.last.size, size);
        fire(t, 3, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe000ff8, .size = size,
                             .count = 1, .dir = IOREQ_WRITE, .data = 0xa1b2c3d4e5f60718ull});
        assert_int_equal(t->mmio.wvals[t->mmio.nw - 1], 0xa1b2c3d4e5f60718ull & mask);
        assert_int_equal(t->mmio.last.offset, 0xff8);
    }
}

static void test_copy_data_is_ptr(void **state)
{
    struct t *t = *state;
    uint32_t src[4] = {0x11, 0x22, 0x33, 0x44}, dst[4];

    /* rep movsd to the device, forwards then backwards (df). */
    memcpy(t->m->ram + 0x2000, src, sizeof(src));
    fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe000010, .size = 4, .count = 4,
                         .dir = IOREQ_WRITE, .data_is_ptr = 1, .data = 0x2000});
    assert_int_equal(t->mmio.nw, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(t->mmio.wvals[i], src[i]);
    assert_int_equal(t->mmio.last.addr, 0xfe00001c);
    t->mmio.nw = 0;
    fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe00001c, .size = 4, .count = 4,
                         .dir = IOREQ_WRITE, .data_is_ptr = 1, .df = 1, .data = 0x200c});
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(t->mmio.wvals[i], src[3 - i]);
    assert_int_equal(t->mmio.last.addr, 0xfe000010);
    /* rep insd from the device into RAM. */
    t->mmio.next_read = 100;
    fire(t, 1, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe000020, .size = 4, .count = 4,
                         .dir = IOREQ_READ, .data_is_ptr = 1, .data = 0x3000});
    memcpy(dst, t->m->ram + 0x3000, sizeof(dst));
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(dst[i], 100 + i);
    /* A port rep keeps the port. */
    fire(t, 1, (ioreq_t){.type = IOREQ_TYPE_PIO, .addr = 0x3f8, .size = 1, .count = 3,
                         .dir = IOREQ_WRITE, .data_is_ptr = 1, .data = 0x2000});
    assert_int_equal(t->pio.last.addr, 0x3f8);
    assert_int_equal(t->pio.nw, 3);
}

static void test_pci_config(void **state)
{
    struct t *t = *state;
    volatile ioreq_t *s;

    t->pci.next_read = 0x12345678;
    s = fire(t, 2, (ioreq_t){.type = IOREQ_TYPE_PCI_CONFIG,
                             .addr = ((uint64_t)VGT_SBDF(0, 0, 2, 0) << 32) | 0x10, .size = 4,
                             .count = 1, .dir = IOREQ_READ});
    assert_int_equal(s->data, 0x12345678);
    assert_int_equal(t->pci.last.sbdf, VGT_SBDF(0, 0, 2, 0));
    assert_int_equal(t->pci.last.offset, 0x10);
    /* Another function: not ours, all ones, nobody sees it. */
    t->pci.reads = 0;
    s = fire(t, 2, (ioreq_t){.type = IOREQ_TYPE_PCI_CONFIG,
                             .addr = ((uint64_t)VGT_SBDF(0, 0, 2, 1) << 32), .size = 4,
                             .count = 1, .dir = IOREQ_READ});
    assert_int_equal(s->data, ~0ull);
    assert_int_equal(t->pci.reads, 0);
}

static void dev_invalidate(void *opaque)
{
    rec(opaque, "device invalidate");
}

static void test_invalidate_and_timeoffset(void **state)
{
    struct t *t = *state;
    struct vgt_ioreq_stats st;
    volatile ioreq_t *s;
    unsigned first = t->m->ncalls;

    assert_int_equal(vgt_ioreq_server_on_invalidate(t->s, dev_invalidate, t->m), 0);
    /* As observed on Xen: size 4, write, count 0, data all ones. */
    s = fire(t, 3, (ioreq_t){.type = IOREQ_TYPE_INVALIDATE, .size = 4, .count = 0,
                             .dir = IOREQ_WRITE, .data = ~0ull});
    (void)s;
    fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_TIMEOFFSET, .size = 8, .count = 1,
                         .dir = IOREQ_WRITE, .data = (uint64_t)-3600});
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.invalidate, 1);
    assert_int_equal(st.bad, 0);
    /* The backend's cache first, then the device. */
    assert_int_equal(t->m->ncalls, first + 2);
    assert_string_equal(t->m->calls[first], "invalidate");
    assert_string_equal(t->m->calls[first + 1], "device invalidate");
    vgt_ioreq_server_on_invalidate(t->s, NULL, NULL);
    assert_int_equal(t->mmio.reads + t->mmio.writes + t->pio.reads + t->pci.reads, 0);
}

static void test_bad_requests(void **state)
{
    struct t *t = *state;
    static const ioreq_t bad[] = {
        {.type = 5, .addr = 0xfe000000, .size = 4, .count = 1, .dir = IOREQ_READ},
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000000, .size = 3, .count = 1, .dir = IOREQ_READ},
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000000, .size = 16, .count = 1, .dir = IOREQ_READ},
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000000, .size = 4, .count = 0, .dir = IOREQ_READ},
        {.type = IOREQ_TYPE_PIO, .addr = 0x3f8, .size = 0, .count = 1, .dir = IOREQ_READ},
        /* count 0 is valid for INVALIDATE only */
        {.type = IOREQ_TYPE_TIMEOFFSET, .size = 8, .count = 0, .dir = IOREQ_WRITE},
        {.type = IOREQ_TYPE_PCI_CONFIG, .addr = (uint64_t)VGT_SBDF(0, 0, 2, 0) << 32, .size = 4,
         .count = 0, .dir = IOREQ_READ},
        /* span leaves the range */
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000ffc, .size = 8, .count = 1, .dir = IOREQ_READ},
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000ff0, .size = 4, .count = 8, .dir = IOREQ_READ,
         .data_is_ptr = 1, .data = 0x1000},
        /* span overflows */
        {.type = IOREQ_TYPE_COPY, .addr = ~0ull - 4, .size = 8, .count = 2, .dir = IOREQ_READ,
         .data_is_ptr = 1, .data = 0x1000},
        {.type = IOREQ_TYPE_COPY, .addr = 0x8, .size = 8, .count = 4, .dir = IOREQ_READ,
         .data_is_ptr = 1, .df = 1, .data = 0x1000},
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000000, .size = 4, .count = 0xffffffff,
         .dir = IOREQ_READ, .data_is_ptr = 1, .data = 0x1000},
        /* count without a pointer, PCI offsets past config space */
        {.type = IOREQ_TYPE_COPY, .addr = 0xfe000000, .size = 4, .count = 2, .dir = IOREQ_READ},
        {.type = IOREQ_TYPE_PCI_CONFIG, .addr = ((uint64_t)VGT_SBDF(0, 0, 2, 0) << 32) | 0xffe,
         .size = 4, .count = 1, .dir = IOREQ_READ},
    };
    struct vgt_ioreq_stats st;
    uint8_t before[RAM_SIZE];

    memcpy(before, t->m->ram, RAM_SIZE);
    for (size_t i = 0; i < VGT_ARRAY_SIZE(bad); i++) {
        volatile ioreq_t *s = fire(t, (unsigned)i % NVCPU, bad[i]);

        if (!bad[i].data_is_ptr)
            assert_int_equal(s->data, ~0ull);
        else
            assert_int_equal(s->data, bad[i].data);
        assert_int_equal(t->m->notified[LOCAL(i % NVCPU)] > 0, 1);
    }
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.bad, VGT_ARRAY_SIZE(bad));
    assert_int_equal(t->mmio.reads + t->mmio.writes + t->pio.reads + t->pci.reads, 0);
    assert_memory_equal(before, t->m->ram, RAM_SIZE);
}

static void test_spurious(void **state)
{
    struct t *t = *state;
    volatile ioreq_t *slot = &t->m->sync->vcpu_ioreq[1];
    struct vgt_ioreq_stats st;

    /* The pending events left by the binds, then a stray port. */
    for (unsigned i = 0; i < NVCPU; i++)
        t->m->ports[t->m->nports++] = (int)LOCAL(i);
    t->m->ports[t->m->nports++] = 999;
    slot->state = STATE_IOREQ_INPROCESS; /* not READY: never touched */
    assert_int_equal(vgt_ioreq_server_poll(t->s, 0), 0);
    assert_int_equal(slot->state, STATE_IOREQ_INPROCESS);
    slot->state = STATE_IOREQ_NONE;
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.spurious, NVCPU + 1);
    assert_int_equal(st.served, 0);
    assert_int_equal(t->m->unmasked[999], 1);
    for (unsigned i = 0; i < NVCPU; i++) {
        assert_int_equal(t->m->unmasked[LOCAL(i)], 1);
        assert_int_equal(t->m->notified[LOCAL(i)], 0);
        assert_int_equal(t->m->sync->vcpu_ioreq[i].state, STATE_IOREQ_NONE);
    }
}

static void test_ranges(void **state)
{
    struct t *t = *state;
    struct rec_dev d = {0};
    int id, ids[VGT_IOREQ_MAX_RANGES];
    volatile ioreq_t *s;
    unsigned n = 0;

    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0x2000, 0x1fff, &rec_ops, &d,
                                                &id), -EINVAL);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, 3, 0, 1, &rec_ops, &d, &id), -EINVAL);
    /* Inclusive ends: touching the end overlaps, one past does not. */
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0xfe000fff, 0xfe001fff,
                                                &rec_ops, &d, &id), -EEXIST);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0xfdfff000, 0xfe000000,
                                                &rec_ops, &d, &id), -EEXIST);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0xfe001000, 0xfe001fff,
                                                &rec_ops, &d, &id), 0);
    d.next_read = 77;
    s = fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe001fff, .size = 1,
                             .count = 1, .dir = IOREQ_READ});
    assert_int_equal(s->data, 77);
    /* An access across two ranges lies inside neither. */
    s = fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe000ffc, .size = 8,
                             .count = 1, .dir = IOREQ_READ});
    assert_int_equal(s->data, ~0ull);
    /* Move it, then the old place is unclaimed. */
    assert_int_equal(vgt_ioreq_server_move_range(t->s, id, 0xd0000000, 0xd0000fff), 0);
    s = fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xd0000004, .size = 4,
                             .count = 1, .dir = IOREQ_READ});
    assert_int_equal(s->data, 78);
    assert_int_equal(d.last.offset, 4);
    s = fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe001004, .size = 4,
                             .count = 1, .dir = IOREQ_READ});
    assert_int_equal(s->data, ~0ull);
    assert_int_equal(vgt_ioreq_server_move_range(t->s, id, 0xfe000800, 0xfe000fff), -EEXIST);
    assert_int_equal(vgt_ioreq_server_unmap_range(t->s, id), 0);
    assert_int_equal(vgt_ioreq_server_unmap_range(t->s, id), -ENOENT);
    /* 256 per type: the port type already has one. */
    for (n = 0; n < VGT_IOREQ_MAX_RANGES - 1; n++)
        assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_PORT, 0x1000 + 16 * n,
                                                    0x1000 + 16 * n + 7, &rec_ops, &d,
                                                    &ids[n]), 0);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_PORT, 0x10, 0x10, &rec_ops, &d,
                                                &id), -ENOSPC);
    /* The other types are counted apart. */
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0x10000000, 0x10000000,
                                                &rec_ops, &d, &id), 0);
    /* Every one of the 256 still dispatches to the right offset. */
    for (n = 0; n < VGT_IOREQ_MAX_RANGES - 1; n += 37) {
        fire(t, 1, (ioreq_t){.type = IOREQ_TYPE_PIO, .addr = 0x1000 + 16 * n + 7, .size = 1,
                             .count = 1, .dir = IOREQ_WRITE, .data = n});
        assert_int_equal(d.last.offset, 7);
        assert_int_equal(d.wvals[d.nw - 1], n & 0xff);
    }
}

static uint64_t wp_seen_gpa, wp_seen_val;
static unsigned wp_seen_size, wp_calls;

static int wp_fn(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    (void)opaque;
    wp_seen_gpa = gpa;
    wp_seen_size = size;
    wp_seen_val = val;
    wp_calls++;
    return 0;
}

static void test_wp_writes(void **state)
{
    struct t *t = *state;
    struct vgt_hv *hv = vgt_ioreq_server_hv(t->s);
    struct vgt_ioreq_stats st;

    assert_false(t->m->wp_claimed);
    assert_int_equal(hv->ops->set_wp_handler(hv, wp_fn, NULL), 0);
    assert_true(t->m->wp_claimed);
    assert_int_equal(hv->ops->set_wp(hv, 2, 1, true), 0);
    assert_int_equal(t->m->wp_gfn, 2);
    assert_int_equal(hv->ops->set_wp(hv, RAM_SIZE >> 12, 1, true), -EFAULT);
    wp_calls = 0;
    fire(t, 2, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0x2008, .size = 8, .count = 1,
                         .dir = IOREQ_WRITE, .data = 0x0102030405060708ull});
    assert_int_equal(wp_calls, 1);
    assert_int_equal(wp_seen_gpa, 0x2008);
    assert_int_equal(wp_seen_size, 8);
    assert_int_equal(wp_seen_val, 0x0102030405060708ull);
    /* A page-crossing one is split so no handler call crosses a page. */
    fire(t, 2, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0x2ffe, .size = 4, .count = 1,
                         .dir = IOREQ_WRITE, .data = 0xaabbccdd});
    assert_int_equal(wp_calls, 5);
    assert_int_equal(wp_seen_gpa, 0x3001);
    assert_int_equal(wp_seen_val, 0xaa);
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.wp_writes, 2);
}

/* A handler that records every call and applies it, as a real one does. */
struct wp_log {
    struct vgt_hv *hv;
    unsigned n;
    uint64_t gpa[64], val[64];
    unsigned size[64];
};

static int wp_rec(void *opaque, uint64_t gpa, unsigned size, uint64_t val)
{
    struct wp_log *l = opaque;

    if (l->n < 64) {
        l->gpa[l->n] = gpa;
        l->size[l->n] = size;
        l->val[l->n] = val;
        l->n++;
    }
    return vgt_hv_write(l->hv, gpa, &val, size);
}

static void fire_rep(struct t *t, uint64_t dst, uint64_t src, unsigned size, uint32_t count,
                     bool df)
{
    fire(t, 3, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = dst, .data = src, .size = size,
                         .count = count, .dir = IOREQ_WRITE, .data_is_ptr = 1, .df = df});
}

/* rep movs into a write-protected page arrives as one data_is_ptr COPY
 * write: the handler sees each item, in store order, as a single write. */
static void test_wp_rep_movs(void **state)
{
    struct t *t = *state;
    struct vgt_hv *hv = vgt_ioreq_server_hv(t->s);
    struct wp_log l = {.hv = hv};
    struct vgt_ioreq_stats st;
    uint64_t src[4] = {0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull,
                       0x4444444444444444ull}, got;
    unsigned reads;

    assert_int_equal(hv->ops->set_wp_handler(hv, wp_rec, &l), 0);
    assert_int_equal(hv->ops->set_wp(hv, 2, 1, true), 0);
    memcpy(t->m->ram + 0x1000, src, sizeof(src));

    /* Forwards: 4 qwords into page 2, sources read once each. */
    reads = t->m->ram_reads;
    fire_rep(t, 0x2100, 0x1000, 8, 4, false);
    assert_int_equal(t->m->ram_reads - reads, 4);
    assert_int_equal(l.n, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(l.gpa[i], 0x2100 + 8 * i);
        assert_int_equal(l.size[i], 8);
        assert_int_equal(l.val[i], src[i]);
    }
    assert_memory_equal(t->m->ram + 0x2100, src, sizeof(src));

    /* Backwards (df = 1): both sides step down from the first item. */
    l.n = 0;
    fire_rep(t, 0x2218, 0x1018, 8, 4, true);
    assert_int_equal(l.n, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(l.gpa[i], 0x2218 - 8 * i);
        assert_int_equal(l.val[i], src[3 - i]);
    }
    assert_memory_equal(t->m->ram + 0x2200, src, sizeof(src));

    /* Out of the protected page into the next one, dword items. */
    l.n = 0;
    fire_rep(t, 0x2ff8, 0x1000, 4, 4, false);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.gpa[0], 0x2ff8);
    assert_int_equal(l.gpa[3], 0x3004);
    memcpy(&got, t->m->ram + 0x3000, 8);
    assert_int_equal(got, src[1]);

    /* Into the protected page from below, backwards. */
    l.n = 0;
    fire_rep(t, 0x2008, 0x1018, 8, 4, true);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.gpa[0], 0x2008);
    assert_int_equal(l.gpa[1], 0x2000);
    assert_int_equal(l.gpa[2], 0x1ff8);
    assert_int_equal(l.gpa[3], 0x1ff0);
    assert_int_equal(l.val[3], src[0]);

    /* An item straddling the page end is split, never crossing a page. */
    l.n = 0;
    fire_rep(t, 0x2ffe, 0x1000, 4, 1, false);
    assert_int_equal(l.n, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(l.size[i], 1);
    assert_int_equal(l.gpa[2], 0x3000);

    /* An unreadable source stops the rep where the CPU would fault. */
    l.n = 0;
    fire_rep(t, 0x2000, RAM_SIZE - 16, 8, 4, false);
    assert_int_equal(l.n, 2);

    /* Huge counts and wrapping spans are refused before any item. */
    vgt_ioreq_server_get_stats(t->s, &st);
    uint64_t bad = st.bad;
    l.n = 0;
    reads = t->m->ram_reads;
    fire_rep(t, 0x2000, 0x1000, 8, 0xffffffffu, false);
    fire_rep(t, 0x2000, 0x1000, 8, (4096 / 8) + 1, false);
    fire_rep(t, 0x2000, 0x1000, 1, 4097, false);
    fire_rep(t, 0x2018, 0x8, 8, 4, true);            /* source wraps below 0 */
    fire_rep(t, 0x10, 0x1018, 8, 4, true);           /* destination wraps */
    fire_rep(t, 0x2000, ~0ull - 8, 8, 4, false);     /* source wraps above */
    assert_int_equal(l.n, 0);
    assert_int_equal(t->m->ram_reads, reads);
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.bad - bad, 6);

    /* A whole page in one rep is still fine (the Xen clamp). */
    l.n = 0;
    fire_rep(t, 0x2000, 0x1000, 8, 4096 / 8, false);
    assert_int_equal(t->m->ram_reads - reads, 4096 / 8);

    /* Without a handler nothing is applied and the request is bad. */
    assert_int_equal(hv->ops->set_wp_handler(hv, NULL, NULL), 0);
    memset(t->m->ram + 0x2000, 0, 8);
    fire_rep(t, 0x2000, 0x1000, 8, 1, false);
    memcpy(&got, t->m->ram + 0x2000, 8);
    assert_int_equal(got, 0);
}

/* The emulator's own writes (vCSB, HWSP copy, context write-back) through
 * the server's hv seam follow the guest's rule: a protected page takes
 * them through the handler (so its shadow follows), in aligned pieces;
 * the handler's own writes apply; with no handler they are refused. */
static void test_emulator_writes_follow_wp(void **state)
{
    struct t *t = *state;
    struct vgt_hv *hv = vgt_ioreq_server_hv(t->s);
    struct wp_log l = {.hv = hv};
    struct vgt_ioreq_stats st;
    uint8_t buf[24], back[24];

    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(0x40 + i);
    /* Nothing protected yet: a plain write, no handler call. */
    assert_int_equal(hv->ops->set_wp_handler(hv, wp_rec, &l), 0);
    assert_int_equal(vgt_hv_write(hv, 0x2ff4, buf, sizeof(buf)), 0);
    assert_int_equal(l.n, 0);
    memset(t->m->ram + 0x2ff0, 0, 32);

    /* 0x2ff4..0x300b over protected page 2 and plain page 3: 4 + 8 bytes
     * go to the handler as aligned pieces, the rest is written. */
    assert_int_equal(hv->ops->set_wp(hv, 2, 1, true), 0);
    assert_int_equal(vgt_hv_write(hv, 0x2ff4, buf, sizeof(buf)), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.gpa[0], 0x2ff4);
    assert_int_equal(l.size[0], 4);
    assert_int_equal(l.gpa[1], 0x2ff8);
    assert_int_equal(l.size[1], 8);
    assert_memory_equal(t->m->ram + 0x2ff4, buf, sizeof(buf)); /* applied once */
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.emul_wp, 1);

    /* Unprotected again: straight to RAM. */
    assert_int_equal(hv->ops->set_wp(hv, 2, 1, false), 0);
    l.n = 0;
    assert_int_equal(vgt_hv_write(hv, 0x2000, buf, 8), 0);
    assert_int_equal(l.n, 0);

    /* Protected with no handler: refused whole, nothing written. */
    assert_int_equal(hv->ops->set_wp(hv, 4, 1, true), 0);
    assert_int_equal(hv->ops->set_wp_handler(hv, NULL, NULL), 0);
    memset(t->m->ram + 0x3ff8, 0, 16);
    assert_int_equal(vgt_hv_write(hv, 0x3ff8, buf, 16), -EACCES);
    memset(back, 0, sizeof(back));
    assert_memory_equal(t->m->ram + 0x3ff8, back, 16);
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.emul_wp_refused, 1);
    /* Outside RAM is -EFAULT before anything else. */
    assert_int_equal(vgt_hv_write(hv, 0x5ff8, buf, 16), 0);
    assert_int_equal(vgt_hv_write(hv, RAM_SIZE - 8, buf, 16), -EFAULT);
}

/* ---- buffered ring ---- */

static void push(buffered_iopage_t *pg, uint8_t type, unsigned size_code, uint32_t addr,
                 uint64_t data)
{
    uint32_t wr = pg->write_pointer;
    buf_ioreq_t b = {.type = type, .dir = IOREQ_WRITE, .size = size_code, .addr = addr,
                     .data = (uint32_t)data};

    pg->buf_ioreq[wr % IOREQ_BUFFER_SLOT_NUM] = b;
    if (size_code == 3) {
        b.data = (uint32_t)(data >> 32);
        pg->buf_ioreq[(wr + 1) % IOREQ_BUFFER_SLOT_NUM] = b;
    }
    pg->write_pointer = wr + 1 + (size_code == 3);
}

static void test_buffered_ring(void **state)
{
    struct t *t = *state;
    buffered_iopage_t *pg = t->m->buf;
    struct rec_dev vga = {0};
    struct vgt_ioreq_stats st;
    unsigned want = 0;

    assert_non_null(pg);
    assert_int_equal(vgt_ioreq_server_map_range(t->s, VGT_IO_MMIO, 0xa0000, 0xbffff, &rec_ops,
                                                &vga, NULL), 0);
    /* Start near the end so the ring wraps, the 8-byte entry across it. */
    pg->read_pointer = pg->write_pointer = IOREQ_BUFFER_SLOT_NUM - 3;
    push(pg, IOREQ_TYPE_COPY, 0, 0xa0000, 0x11);
    push(pg, IOREQ_TYPE_COPY, 1, 0xa0002, 0x2222);
    push(pg, IOREQ_TYPE_COPY, 3, 0xa0008, 0x8877665544332211ull);
    push(pg, IOREQ_TYPE_COPY, 2, 0xa0010, 0x44444444);
    t->m->ports[t->m->nports++] = (int)BUF_LOCAL;
    assert_int_equal(vgt_ioreq_server_poll(t->s, 0), 4);
    assert_int_equal(pg->read_pointer, pg->write_pointer);
    assert_int_equal(vga.nw, 4);
    assert_int_equal(vga.wvals[0], 0x11);
    assert_int_equal(vga.wvals[1], 0x2222);
    assert_int_equal(vga.wvals[2], 0x8877665544332211ull);
    assert_int_equal(vga.wvals[3], 0x44444444);
    assert_int_equal(vga.last.size, 4);
    assert_int_equal(t->m->unmasked[BUF_LOCAL], 1);
    /* Many laps, drained along with a sync request (buffered first). */
    for (unsigned lap = 0; lap < 3; lap++) {
        for (unsigned i = 0; i < 400; i++)
            push(pg, IOREQ_TYPE_COPY, 0, 0xa0000 + (i & 0xff), i & 0xff);
        want += 400;
        fire(t, 0, (ioreq_t){.type = IOREQ_TYPE_COPY, .addr = 0xfe000000, .size = 4, .count = 1,
                             .dir = IOREQ_WRITE, .data = 1});
        assert_int_equal(pg->read_pointer, pg->write_pointer);
    }
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.buffered, 4 + want);
    assert_int_equal(st.bad, 0);
    /* A TIMEOFFSET through the ring; a read in it is bad; a corrupt ring
     * (more entries than slots) is dropped, not walked. */
    push(pg, IOREQ_TYPE_TIMEOFFSET, 3, 0, 3600);
    pg->buf_ioreq[pg->write_pointer % IOREQ_BUFFER_SLOT_NUM] =
        (buf_ioreq_t){.type = IOREQ_TYPE_COPY, .dir = IOREQ_READ, .addr = 0xa0000};
    pg->write_pointer++;
    t->m->ports[t->m->nports++] = (int)BUF_LOCAL;
    vgt_ioreq_server_poll(t->s, 0);
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.bad, 1);
    pg->write_pointer = pg->read_pointer + 600;
    t->m->ports[t->m->nports++] = (int)BUF_LOCAL;
    vgt_ioreq_server_poll(t->s, 0);
    assert_int_equal(pg->read_pointer, pg->write_pointer);
    vgt_ioreq_server_get_stats(t->s, &st);
    assert_int_equal(st.bad, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_data_is_ptr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_and_timeoffset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wp_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wp_rep_movs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emulator_writes_follow_wp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffered_ring, setup_buf, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The xen backend's sequencing and unwinding, with every Xen library call
 * replaced at link time (-Wl,--wrap=..., see meson.build): each wrapper
 * records the call and fails on demand with a chosen errno. Checks the
 * Xen start-up order (ARCHITECTURE.md), that a failure at any stage
 * leaves nothing behind (everything opened is closed, created destroyed,
 * mapped unmapped, bound unbound), and that the error names the call. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"

#define NVCPU 3
#define DOMID 5

/* The fake library's state: test-local, reset by each test. */
static struct {
    char calls[128][64];
    unsigned n;
    const char *fail; /* name of the call to fail */
    unsigned fail_nth;
    unsigned seen;
    int err;
    void *pages;
    unsigned long frame, nr_frames;
    bool enabled;
    int evfd;            /* the event channel fd the engine polls (-1: none) */
    int fire;            /* local port xenevtchn_pending reports once, or -1 */
    bool gone; /* the domain died: teardown calls fail with ESRCH/ENOENT */
} fx;

static int handle_token;

static bool call(const char *name, const char *detail)
{
    if (fx.n < 128)
        snprintf(fx.calls[fx.n++], 64, "%s%s%s", name, detail ? " " : "", detail ? detail : "");
    if (fx.fail && !strcmp(fx.fail, name) && fx.seen++ == fx.fail_nth) {
        errno = fx.err;
        return false;
    }
    return true;
}

/* A teardown call on a domain that is gone: Xen freed the server with it. */
#define GONE_FAILS(name, e)     \
    do {                        \
        if (fx.gone) {          \
            call(name, "gone"); \
            errno = (e);        \
            return -1;          \
        }                       \
    } while (0)

#define OK_OR_FAIL(name, detail) \
    do {                         \
        if (!call(name, detail)) \
            return -1;           \
    } while (0)

xendevicemodel_handle *__wrap_xendevicemodel_open(struct xentoollog_logger *l, unsigned f);
xendevicemodel_handle *__wrap_xendevicemodel_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    return call("xendevicemodel_open", NULL) ? (void *)&handle_token : NULL;
}

int __wrap_xendevicemodel_close(xendevicemodel_handle *h);
int __wrap_xendevicemodel_close(xendevicemodel_handle *h)
{
    (void)h;
    call("xendevicemodel_close", NULL);
    return 0;
}

int __wrap_xendevicemodel_nr_vcpus(xendevicemodel_handle *h, domid_t d, unsigned *n);
int __wrap_xendevicemodel_nr_vcpus(xendevicemodel_handle *h, domid_t d, unsigned *n)
{
    (void)h;
    assert_int_equal(d, DOMID);
    OK_OR_FAIL("xendevicemodel_nr_vcpus", NULL);
    *n = NVCPU;
    return 0;
}

int __wrap_xendevicemodel_create_ioreq_server(xendevicemodel_handle *h, domid_t d, int buf,
                                              ioservid_t *id);
int __wrap_xendevicemodel_create_ioreq_server(xendevicemodel_handle *h, domid_t d, int buf,
                                              ioservid_t *id)
{
    (void)h;
    assert_int_equal(d, DOMID);
    OK_OR_FAIL("xendevicemodel_create_ioreq_server",
               buf == HVM_IOREQSRV_BUFIOREQ_OFF ? "bufoff" : "bufatomic");
    assert_true(buf == HVM_IOREQSRV_BUFIOREQ_OFF || buf == HVM_IOREQSRV_BUFIOREQ_ATOMIC);
    *id = 4;
    return 0;
}

int __wrap_xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                               ioservid_t id);
int __wrap_xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                               ioservid_t id)
{
    (void)h, (void)d;
    assert_int_equal(id, 4);
    GONE_FAILS("xendevicemodel_destroy_ioreq_server", ESRCH);
    call("xendevicemodel_destroy_ioreq_server", NULL);
    return 0;
}

int __wrap_xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *h, domid_t d,
                                                ioservid_t id, xen_pfn_t *g, xen_pfn_t *bg,
                                                evtchn_port_t *bp);
int __wrap_xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *h, domid_t d,
                                                ioservid_t id, xen_pfn_t *g, xen_pfn_t *bg,
                                                evtchn_port_t *bp)
{
    (void)h, (void)d, (void)id;
    /* gfn pointers stay NULL: EOPNOTSUPP on Arm otherwise. */
    assert_null(g);
    assert_null(bg);
    OK_OR_FAIL("xendevicemodel_get_ioreq_server_info", NULL);
    *bp = 90;
    return 0;
}

int __wrap_xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                       ioservid_t id, int mmio, uint64_t s,
                                                       uint64_t e);
int __wrap_xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                       ioservid_t id, int mmio, uint64_t s,
                                                       uint64_t e)
{
    (void)h, (void)d, (void)id, (void)s, (void)e;
    assert_false(fx.enabled); /* ranges before enable */
    OK_OR_FAIL("xendevicemodel_map_io_range_to_ioreq_server", mmio ? "mmio" : "port");
    return 0;
}

int __wrap_xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                           ioservid_t id, int mmio, uint64_t s,
                                                           uint64_t e);
int __wrap_xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                           ioservid_t id, int mmio, uint64_t s,
                                                           uint64_t e)
{
    (void)h, (void)d, (void)id, (void)mmio, (void)s, (void)e;
    GONE_FAILS("xendevicemodel_unmap_io_range_from_ioreq_server", ENOENT);
    OK_OR_FAIL("xendevicemodel_unmap_io_range_from_ioreq_server", NULL);
    return 0;
}

int __wrap_xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                     ioservid_t id, uint16_t s, uint8_t b,
                                                     uint8_t dv, uint8_t f);
int __wrap_xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                     ioservid_t id, uint16_t s, uint8_t b,
                                                     uint8_t dv, uint8_t f)
{
    char bdf[32];

    (void)h, (void)d, (void)id;
    snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", s, b, dv, f);
    OK_OR_FAIL("xendevicemodel_map_pcidev_to_ioreq_server", bdf);
    return 0;
}

int __wrap_xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                         ioservid_t id, uint16_t s, uint8_t b,
                                                         uint8_t dv, uint8_t f);
int __wrap_xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                         ioservid_t id, uint16_t s, uint8_t b,
                                                         uint8_t dv, uint8_t f)
{
    char bdf[32];

    (void)h, (void)d, (void)id;
    snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", s, b, dv, f);
    GONE_FAILS("xendevicemodel_unmap_pcidev_from_ioreq_server", ESRCH);
    OK_OR_FAIL("xendevicemodel_unmap_pcidev_from_ioreq_server", bdf);
    return 0;
}

int __wrap_xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *h, domid_t d,
                                                 ioservid_t id, int en);
int __wrap_xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *h, domid_t d,
                                                 ioservid_t id, int en)
{
    (void)h, (void)d, (void)id;
    if (!en && fx.gone)
        fx.enabled = false; /* Xen dropped it with the domain */
    if (!en)
        GONE_FAILS("xendevicemodel_set_ioreq_server_state", ESRCH);
    OK_OR_FAIL("xendevicemodel_set_ioreq_server_state", en ? "1" : "0");
    fx.enabled = en;
    /* Xen fills each slot's vp_eport once enabled (pages mapped before). */
    if (en && fx.pages) {
        shared_iopage_t *sp = (shared_iopage_t *)((char *)fx.pages +
                                                  (fx.nr_frames == 2 ? 4096 : 0));

        for (unsigned i = 0; i < NVCPU; i++)
            sp->vcpu_ioreq[i].vp_eport = 40 + i;
    }
    return 0;
}

int __wrap_xendevicemodel_restrict(xendevicemodel_handle *h, domid_t d);
int __wrap_xendevicemodel_restrict(xendevicemodel_handle *h, domid_t d)
{
    (void)h;
    assert_int_equal(d, DOMID);
    OK_OR_FAIL("xendevicemodel_restrict", NULL);
    return 0;
}

int __wrap_xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                       ioservid_t id, uint16_t t, uint32_t f);
int __wrap_xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *h, domid_t d,
                                                       ioservid_t id, uint16_t t, uint32_t f)
{
    (void)h, (void)d, (void)id;
    assert_int_equal(t, HVMMEM_ioreq_server);
    assert_int_equal(f, XEN_DMOP_IOREQ_MEM_ACCESS_WRITE);
    OK_OR_FAIL("xendevicemodel_map_mem_type_to_ioreq_server", NULL);
    return 0;
}

int __wrap_xendevicemodel_set_mem_type(xendevicemodel_handle *h, domid_t d, hvmmem_type_t t,
                                       uint64_t first, uint32_t nr);
int __wrap_xendevicemodel_set_mem_type(xendevicemodel_handle *h, domid_t d, hvmmem_type_t t,
                                       uint64_t first, uint32_t nr)
{
    (void)h, (void)d, (void)first, (void)nr;
    OK_OR_FAIL("xendevicemodel_set_mem_type", t == HVMMEM_ioreq_server ? "wp" : "rw");
    return 0;
}

int __wrap_xendevicemodel_inject_msi(xendevicemodel_handle *h, domid_t d, uint64_t a,
                                     uint32_t v);
int __wrap_xendevicemodel_inject_msi(xendevicemodel_handle *h, domid_t d, uint64_t a,
                                     uint32_t v)
{
    (void)h, (void)d, (void)a, (void)v;
    OK_OR_FAIL("xendevicemodel_inject_msi", NULL);
    return 0;
}

int __wrap_xendevicemodel_modified_memory(xendevicemodel_handle *h, domid_t d, uint64_t f,
                                          uint32_t n);
int __wrap_xendevicemodel_modified_memory(xendevicemodel_handle *h, domid_t d, uint64_t f,
                                          uint32_t n)
{
    (void)h, (void)d, (void)f, (void)n;
    OK_OR_FAIL("xendevicemodel_modified_memory", NULL);
    return 0;
}

xenforeignmemory_handle *__wrap_xenforeignmemory_open(struct xentoollog_logger *l, unsigned f);
xenforeignmemory_handle *__wrap_xenforeignmemory_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    return call("xenforeignmemory_open", NULL) ? (void *)&handle_token : NULL;
}

int __wrap_xenforeignmemory_close(xenforeignmemory_handle *h);
int __wrap_xenforeignmemory_close(xenforeignmemory_handle *h)
{
    (void)h;
    call("xenforeignmemory_close", NULL);
    return 0;
}

xenforeignmemory_resource_handle *__wrap_xenforeignmemory_map_resource(
    xenforeignmemory_handle *h, domid_t d, unsigned type, unsigned id, unsigned long frame,
    unsigned long nr, void **addr, int prot, int flags);
xenforeignmemory_resource_handle *__wrap_xenforeignmemory_map_resource(
    xenforeignmemory_handle *h, domid_t d, unsigned type, unsigned id, unsigned long frame,
    unsigned long nr, void **addr, int prot, int flags)
{
    char det[32];

    (void)h, (void)prot, (void)flags;
    assert_int_equal(d, DOMID);
    assert_int_equal(type, XENMEM_resource_ioreq_server);
    assert_int_equal(id, 4);
    assert_false(fx.enabled); /* mapped before enable, or vp_eport stays 0 */
    snprintf(det, sizeof(det), "frame%lu nr%lu", frame, nr);
    if (!call("xenforeignmemory_map_resource", det))
        return NULL;
    fx.frame = frame;
    fx.nr_frames = nr;
    fx.pages = aligned_alloc(4096, nr * 4096);
    memset(fx.pages, 0, nr * 4096);
    *addr = fx.pages;
    return (void *)&handle_token;
}

int __wrap_xenforeignmemory_unmap_resource(xenforeignmemory_handle *h,
                                           xenforeignmemory_resource_handle *r);
int __wrap_xenforeignmemory_unmap_resource(xenforeignmemory_handle *h,
                                           xenforeignmemory_resource_handle *r)
{
    (void)h, (void)r;
    free(fx.pages);
    fx.pages = NULL;
    GONE_FAILS("xenforeignmemory_unmap_resource", ENOENT);
    call("xenforeignmemory_unmap_resource", NULL);
    return 0;
}

int __wrap_xenforeignmemory_restrict(xenforeignmemory_handle *h, domid_t d);
int __wrap_xenforeignmemory_restrict(xenforeignmemory_handle *h, domid_t d)
{
    (void)h, (void)d;
    OK_OR_FAIL("xenforeignmemory_restrict", NULL);
    return 0;
}

void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t d, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[]);
void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t d, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[])
{
    (void)h, (void)d, (void)prot, (void)n, (void)arr, (void)err;
    call("xenforeignmemory_map", NULL);
    errno = EPERM;
    return NULL;
}

int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *a, size_t n);
int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *a, size_t n)
{
    (void)h, (void)a, (void)n;
    call("xenforeignmemory_unmap", NULL);
    return 0;
}

xenevtchn_handle *__wrap_xenevtchn_open(struct xentoollog_logger *l, unsigned f);
xenevtchn_handle *__wrap_xenevtchn_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    return call("xenevtchn_open", NULL) ? (void *)&handle_token : NULL;
}

int __wrap_xenevtchn_close(xenevtchn_handle *h);
int __wrap_xenevtchn_close(xenevtchn_handle *h)
{
    (void)h;
    call("xenevtchn_close", NULL);
    return 0;
}

int __wrap_xenevtchn_fd(xenevtchn_handle *h);
int __wrap_xenevtchn_fd(xenevtchn_handle *h)
{
    (void)h;
    return fx.evfd;
}

xenevtchn_port_or_error_t __wrap_xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t d,
                                                            evtchn_port_t r);
xenevtchn_port_or_error_t __wrap_xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t d,
                                                            evtchn_port_t r)
{
    char det[16];

    (void)h;
    assert_int_equal(d, DOMID);
    assert_true(fx.enabled); /* vp_eport is only valid after enable */
    snprintf(det, sizeof(det), "%u", r);
    OK_OR_FAIL("xenevtchn_bind_interdomain", det);
    return (xenevtchn_port_or_error_t)(r + 100);
}

int __wrap_xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t p);
int __wrap_xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t p)
{
    char det[16];

    (void)h;
    snprintf(det, sizeof(det), "%u", p - 100);
    call("xenevtchn_unbind", det);
    return 0;
}

xenevtchn_port_or_error_t __wrap_xenevtchn_pending(xenevtchn_handle *h);
xenevtchn_port_or_error_t __wrap_xenevtchn_pending(xenevtchn_handle *h)
{
    uint64_t cnt;
    int p = fx.fire;

    (void)h;
    if (p < 0) {
        errno = EAGAIN;
        return -1;
    }
    /* The last pending port: the fd is no longer readable. */
    fx.fire = -1;
    if (read(fx.evfd, &cnt, sizeof(cnt)) != sizeof(cnt))
        return -1;
    return p;
}

int __wrap_xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t p);
int __wrap_xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t p)
{
    (void)h, (void)p;
    return 0;
}

int __wrap_xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t p);
int __wrap_xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t p)
{
    char det[16];

    (void)h;
    snprintf(det, sizeof(det), "%u", p - 100);
    OK_OR_FAIL("xenevtchn_notify", det);
    return 0;
}

int __wrap_xenevtchn_restrict(xenevtchn_handle *h, domid_t d);
int __wrap_xenevtchn_restrict(xenevtchn_handle *h, domid_t d)
{
    (void)h, (void)d;
    OK_OR_FAIL("xenevtchn_restrict", NULL);
    return 0;
}

/* ---- helpers ---- */

static char logbuf[4096];

static void reset(const char *fail, unsigned nth, int err)
{
    memset(&fx, 0, sizeof(fx));
    fx.evfd = -1;
    fx.fire = -1;
    fx.fail = fail;
    fx.fail_nth = nth;
    fx.err = err;
    memset(logbuf, 0, sizeof(logbuf));
}

static unsigned count(const char *prefix)
{
    unsigned n = 0;

    for (unsigned i = 0; i < fx.n; i++)
        n += !strncmp(fx.calls[i], prefix, strlen(prefix));
    return n;
}

static int find(const char *c)
{
    for (unsigned i = 0; i < fx.n; i++)
        if (!strcmp(fx.calls[i], c))
            return (int)i;
    return -1;
}

static const struct vgt_io_ops nop_ops;

/* The vgtd sequence: backend, server, one MMIO range and one PCI device,
 * start, then teardown. Returns the first error. */
static int bring_up_and_down(bool buf, FILE *logf)
{
    struct vgt_log log = {.level = VGT_LOG_ERR, .out = logf, .prefix = "t"};
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &log, .arch = VGT_XEN_ARCH_X86};
    struct vgt_ioreq_server_cfg cfg = {.domid = DOMID, .bufioreq = buf, .log = &log};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    int ret;

    ret = vgt_ioreq_xen_backend_create(&xc, &be);
    if (ret < 0)
        return ret;
    ret = vgt_ioreq_server_create(&cfg, be, &s);
    if (ret < 0)
        return ret;
    ret = vgt_ioreq_server_map_range(s, VGT_IO_MMIO, 0xfe000000, 0xfe000fff, &nop_ops, NULL,
                                     NULL);
    if (ret == 0)
        ret = vgt_ioreq_server_map_range(s, VGT_IO_PCI, VGT_SBDF(0, 0, 3, 0),
                                         VGT_SBDF(0, 0, 3, 1), &nop_ops, NULL, NULL);
    if (ret == 0)
        ret = vgt_ioreq_server_start(s);
    vgt_ioreq_server_destroy(s);
    return ret;
}

/* Nothing left behind: every open closed, the server destroyed, the
 * pages unmapped, every port unbound, the server disabled last. */
/* Successful calls of @name (the failed one acquired nothing). */
static unsigned done(const char *name)
{
    return count(name) - (fx.fail && !strcmp(fx.fail, name) && fx.seen > fx.fail_nth);
}

static void assert_balanced(void)
{
    assert_int_equal(done("xendevicemodel_open"), count("xendevicemodel_close"));
    assert_int_equal(done("xenforeignmemory_open"), count("xenforeignmemory_close"));
    assert_int_equal(done("xenevtchn_open"), count("xenevtchn_close"));
    assert_int_equal(done("xendevicemodel_create_ioreq_server"),
                     count("xendevicemodel_destroy_ioreq_server"));
    assert_int_equal(done("xenforeignmemory_map_resource"),
                     count("xenforeignmemory_unmap_resource"));
    assert_int_equal(done("xenevtchn_bind_interdomain"), count("xenevtchn_unbind"));
    assert_false(fx.enabled);
    assert_null(fx.pages);
}

static void test_start_order(void **state)
{
    static const char *const want[] = {
        "xendevicemodel_open", "xenforeignmemory_open", "xenevtchn_open",
        "xendevicemodel_nr_vcpus", "xendevicemodel_create_ioreq_server bufoff",
        "xenforeignmemory_map_resource frame1 nr1",
        "xendevicemodel_map_io_range_to_ioreq_server mmio",
        "xendevicemodel_map_pcidev_to_ioreq_server 0000:00:03.0",
        "xendevicemodel_map_pcidev_to_ioreq_server 0000:00:03.1",
        "xendevicemodel_set_ioreq_server_state 1",
        "xenevtchn_bind_interdomain 40", "xenevtchn_bind_interdomain 41",
        "xenevtchn_bind_interdomain 42",
        "xendevicemodel_restrict", "xenforeignmemory_restrict", "xenevtchn_restrict",
        /* teardown: disable, unbind, unmap, destroy, close */
        "xendevicemodel_set_ioreq_server_state 0",
        "xenevtchn_unbind 40", "xenevtchn_unbind 41", "xenevtchn_unbind 42",
        "xenforeignmemory_unmap_resource", "xendevicemodel_destroy_ioreq_server",
        "xenevtchn_close", "xenforeignmemory_close", "xendevicemodel_close",
    };

    (void)state;
    reset(NULL, 0, 0);
    assert_int_equal(bring_up_and_down(false, NULL), 0);
    for (unsigned i = 0; i < fx.n; i++)
        print_message("  %s\n", fx.calls[i]);
    assert_int_equal(fx.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_string_equal(fx.calls[i], want[i]);
    assert_balanced();
}

static void test_start_buffered(void **state)
{
    (void)state;
    reset(NULL, 0, 0);
    assert_int_equal(bring_up_and_down(true, NULL), 0);
    assert_true(find("xendevicemodel_create_ioreq_server bufatomic") >= 0);
    /* Frame 0 is the buffered page, then the sync page. */
    assert_true(find("xenforeignmemory_map_resource frame0 nr2") >= 0);
    assert_true(find("xendevicemodel_get_ioreq_server_info") >
                find("xendevicemodel_set_ioreq_server_state 1"));
    assert_true(find("xenevtchn_bind_interdomain 90") > find("xenevtchn_bind_interdomain 42"));
    assert_true(find("xenevtchn_unbind 90") >= 0);
    assert_balanced();
}

/* Fail each call of the start-up in turn: the error names it and its
 * errno, and everything done before it is undone. */
static void test_fail_each_stage(void **state)
{
    static const struct {
        const char *call;
        unsigned nth;
    } stages[] = {
        {"xendevicemodel_open", 0}, {"xenforeignmemory_open", 0}, {"xenevtchn_open", 0},
        {"xendevicemodel_nr_vcpus", 0}, {"xendevicemodel_create_ioreq_server", 0},
        {"xenforeignmemory_map_resource", 0},
        {"xendevicemodel_map_io_range_to_ioreq_server", 0},
        {"xendevicemodel_map_pcidev_to_ioreq_server", 1},
        {"xendevicemodel_set_ioreq_server_state", 0}, {"xenevtchn_bind_interdomain", 0},
        {"xenevtchn_bind_interdomain", 2}, {"xendevicemodel_restrict", 0},
        {"xenforeignmemory_restrict", 0}, {"xenevtchn_restrict", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        FILE *logf;
        int ret;
        char want[128];

        reset(stages[i].call, stages[i].nth, EPERM);
        logf = fmemopen(logbuf, sizeof(logbuf) - 1, "w");
        ret = bring_up_and_down(false, logf);
        fclose(logf);
        print_message("  fail %s #%u -> %d: %s", stages[i].call, stages[i].nth, ret, logbuf);
        assert_int_equal(ret, -EPERM);
        snprintf(want, sizeof(want), "%s(dom%u): Operation not permitted (errno %d)",
                 stages[i].call, DOMID, EPERM);
        assert_non_null(strstr(logbuf, want));
        /* One line: the failure, nothing else logged on the way out. */
        assert_int_equal(strchr(logbuf, '\n') - logbuf + 1, (long)strlen(logbuf));
        assert_balanced();
        /* A failed PCI range undoes the devices it had mapped. */
        if (!strcmp(stages[i].call, "xendevicemodel_map_pcidev_to_ioreq_server"))
            assert_true(find("xendevicemodel_unmap_pcidev_from_ioreq_server 0000:00:03.0") >= 0);
    }
}

static void test_hv_seam(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &log, .arch = VGT_XEN_ARCH_X86};
    struct vgt_ioreq_server_cfg cfg = {.domid = DOMID, .log = &log};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    struct vgt_hv *hv;
    uint64_t dma, v;

    (void)state;
    reset(NULL, 0, 0);
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), 0);
    hv = vgt_ioreq_server_hv(s);
    assert_int_equal(hv->ops->inject_msi(hv, 0xfee00000, 0x41), 0);
    assert_int_equal(hv->ops->mark_dirty(hv, 0x100, 2), 0);
    assert_int_equal(vgt_hv_gfn_to_dma(hv, 1, &dma), -EOPNOTSUPP);
    assert_int_equal(vgt_hv_read(hv, 0x1000, &v, 8), -EPERM); /* the fake map refuses */
    assert_int_equal(hv->ops->set_wp_handler(hv, (vgt_hv_wp_fn)1, NULL), 0);
    assert_int_equal(hv->ops->set_wp(hv, 0x10, 1, true), 0);
    assert_true(find("xendevicemodel_map_mem_type_to_ioreq_server") >= 0);
    assert_true(find("xendevicemodel_set_mem_type wp") >= 0);
    assert_true(find("xendevicemodel_inject_msi") >= 0);
    assert_true(find("xendevicemodel_modified_memory") >= 0);
    vgt_ioreq_server_destroy(s);
    assert_balanced();
}

/* The domain's bound (cfg.max_gfn, from the privileged part) is what the
 * engine's hv, the one the vGPU uses, enforces: frames at or above it are
 * refused before any foreign mapping is tried. */
static void test_gfn_bound(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &log, .arch = VGT_XEN_ARCH_X86,
                                   .max_gfn = 0x140000};
    struct vgt_ioreq_server_cfg cfg = {.domid = DOMID, .log = &log};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    struct vgt_hv *hv;
    uint64_t v = 0;
    unsigned n_map;

    (void)state;
    reset(NULL, 0, 0);
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), 0);
    hv = vgt_ioreq_server_hv(s);
    assert_int_equal(hv->max_gfn, 0x140000);
    n_map = count("xenforeignmemory_map"); /* _resource, by the server */
    assert_int_equal(vgt_hv_read(hv, 0x140000ull << 12, &v, 8), -EFAULT);
    assert_int_equal(vgt_hv_write(hv, (0x140000ull << 12) - 4, &v, 8), -EFAULT);
    assert_int_equal(vgt_hv_gfn_to_dma(hv, 0x140000, &v), -EFAULT);
    assert_int_equal(hv->ops->set_wp(hv, 0x13ffff, 2, true), -EFAULT);
    assert_int_equal(hv->ops->mark_dirty(hv, 0x140000, 1), -EFAULT);
    assert_int_equal(count("xenforeignmemory_map"), n_map);
    assert_int_equal(count("xendevicemodel_modified_memory"), 0);
    assert_int_equal(count("xendevicemodel_set_mem_type"), 0);
    /* Below it, the call reaches the library (whose fake refuses maps). */
    assert_int_equal(vgt_hv_read(hv, 0x13ffffull << 12, &v, 8), -EPERM);
    assert_int_equal(count("xenforeignmemory_map"), n_map + 1);
    vgt_ioreq_server_destroy(s);
    assert_balanced();

    /* Beyond the 52-bit guest-physical space: refused, nothing opened. */
    reset(NULL, 0, 0);
    xc.max_gfn = (1ull << 40) + 1;
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), -EINVAL);
    assert_int_equal(fx.n, 0);
}

/* Xen on Arm (as observed on 4.17 arm64): MMIO only, no buffering, frame
 * 1 alone, get_ioreq_server_info never needed, no HVMMEM_ioreq_server. */
static void test_arm_rules(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &log, .arch = VGT_XEN_ARCH_ARM};
    struct vgt_ioreq_server_cfg cfg = {.domid = DOMID, .bufioreq = true, .log = &log};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    struct vgt_hv *hv;

    (void)state;
    reset(NULL, 0, 0);
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), -EOPNOTSUPP);
    assert_int_equal(count("xendevicemodel_create_ioreq_server"), 0);
    assert_balanced();

    reset(NULL, 0, 0);
    cfg.bufioreq = false;
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), 0);
    assert_true(find("xenforeignmemory_map_resource frame1 nr1") >= 0);
    assert_int_equal(vgt_ioreq_server_map_range(s, VGT_IO_PORT, 0x3f8, 0x3ff, &nop_ops, NULL,
                                                NULL), -EOPNOTSUPP);
    assert_int_equal(vgt_ioreq_server_map_range(s, VGT_IO_PCI, 8, 8, &nop_ops, NULL, NULL),
                     -EOPNOTSUPP);
    assert_int_equal(vgt_ioreq_server_map_range(s, VGT_IO_MMIO, 0x10000000, 0x10000fff,
                                                &nop_ops, NULL, NULL), 0);
    hv = vgt_ioreq_server_hv(s);
    assert_int_equal(hv->ops->set_wp_handler(hv, (vgt_hv_wp_fn)1, NULL), -EOPNOTSUPP);
    assert_int_equal(vgt_ioreq_server_start(s), 0);
    assert_int_equal(count("xendevicemodel_get_ioreq_server_info"), 0);
    assert_int_equal(count("xendevicemodel_map_io_range_to_ioreq_server"), 1);
    vgt_ioreq_server_destroy(s);
    assert_balanced();
}

/* The guest died under a running server (xl destroy): every teardown
 * call then fails with ESRCH or ENOENT. That is not an error: nothing at
 * error level, one debug line per call naming it, and everything the
 * process holds (handles, ports) still released. */
static void test_teardown_domain_gone(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_ERR, .prefix = "t"};
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &log, .arch = VGT_XEN_ARCH_X86};
    struct vgt_ioreq_server_cfg cfg = {.domid = DOMID, .log = &log};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    FILE *logf;

    (void)state;
    for (int level = VGT_LOG_ERR; level <= VGT_LOG_DEBUG; level += VGT_LOG_DEBUG - VGT_LOG_ERR) {
        reset(NULL, 0, 0);
        logf = fmemopen(logbuf, sizeof(logbuf) - 1, "w");
        log.out = logf;
        log.level = level;
        assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
        assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), 0);
        assert_int_equal(vgt_ioreq_server_map_range(s, VGT_IO_MMIO, 0xfe000000, 0xfe000fff,
                                                    &nop_ops, NULL, NULL), 0);
        assert_int_equal(vgt_ioreq_server_map_range(s, VGT_IO_PCI, VGT_SBDF(0, 0, 3, 0),
                                                    VGT_SBDF(0, 0, 3, 0), &nop_ops, NULL, NULL),
                         0);
        assert_int_equal(vgt_ioreq_server_start(s), 0);
        fx.gone = true;
        vgt_ioreq_server_destroy(s);
        fclose(logf);
        print_message("  level %d: %s", level, logbuf);
        assert_null(strstr(logbuf, "t: err"));
        if (level == VGT_LOG_ERR) {
            assert_string_equal(logbuf, "");
        } else {
            assert_non_null(strstr(logbuf, "xendevicemodel_destroy_ioreq_server(dom5): domain already gone"));
            assert_non_null(strstr(logbuf, "xendevicemodel_set_ioreq_server_state(dom5): domain already gone"));
            assert_non_null(strstr(logbuf, "xenforeignmemory_unmap_resource(dom5): domain already gone"));
        }
        assert_int_equal(count("xenevtchn_unbind"), NVCPU);
        assert_int_equal(count("xendevicemodel_close"), 1);
        assert_int_equal(count("xenforeignmemory_close"), 1);
        assert_int_equal(count("xenevtchn_close"), 1);
    }
}

/* Only "gone" is quiet: another errno in teardown stays an error. */
static void test_teardown_other_errno_is_error(void **state)
{
    FILE *logf;

    (void)state;
    reset("xendevicemodel_set_ioreq_server_state", 1, EPERM); /* the disable */
    logf = fmemopen(logbuf, sizeof(logbuf) - 1, "w");
    assert_int_equal(bring_up_and_down(false, logf), 0);
    fclose(logf);
    print_message("  %s", logbuf);
    assert_non_null(strstr(logbuf, "t: err"));
    assert_non_null(strstr(logbuf, "xendevicemodel_set_ioreq_server_state(dom5): "));
    assert_non_null(strstr(logbuf, "errno 1"));
}

static void count_invalidate(void *opaque)
{
    (*(unsigned *)opaque)++;
}

/* Xen's send_invalidate_req after a p2m change (ballooning, decrease
 * reservation, grant unmap): a synchronous ioreq on the vCPU's slot with
 * type INVALIDATE, write, size 4, count 0 and data all ones. Through the
 * Xen backend's event channel it must reach the device's invalidate hook
 * (not be refused for its count of 0, unlike a PIO or COPY) and be
 * completed: IORESP_READY in the slot and a notify on that vCPU's port. */
static void test_invalidate_broadcast(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &log, .arch = VGT_XEN_ARCH_X86};
    struct vgt_ioreq_server_cfg cfg = {.domid = DOMID, .log = &log};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server *s;
    struct vgt_ioreq_stats st;
    volatile ioreq_t *slot;
    unsigned hits = 0;
    uint64_t one = 1;

    (void)state;
    reset(NULL, 0, 0);
    fx.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(fx.evfd >= 0);
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
    assert_int_equal(vgt_ioreq_server_create(&cfg, be, &s), 0);
    assert_int_equal(vgt_ioreq_server_map_range(s, VGT_IO_MMIO, 0xfe000000, 0xfe000fff,
                                                &nop_ops, NULL, NULL), 0);
    assert_int_equal(vgt_ioreq_server_on_invalidate(s, count_invalidate, &hits), 0);
    assert_int_equal(vgt_ioreq_server_start(s), 0);

    /* What Xen writes into vCPU 1's slot, then the event on its port. */
    slot = &((shared_iopage_t *)fx.pages)->vcpu_ioreq[1];
    slot->type = IOREQ_TYPE_INVALIDATE;
    slot->dir = IOREQ_WRITE;
    slot->size = 4;
    slot->count = 0;
    slot->addr = 0;
    slot->data = ~0ull;
    slot->data_is_ptr = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    slot->state = STATE_IOREQ_READY;
    fx.fire = 141; /* local port of vCPU 1 (remote 41) */
    assert_int_equal(write(fx.evfd, &one, sizeof(one)), sizeof(one));

    assert_int_equal(vgt_ioreq_server_poll(s, 1000), 1);
    assert_int_equal(hits, 1);
    assert_int_equal(slot->state, STATE_IORESP_READY);
    assert_true(find("xenevtchn_notify 41") >= 0);
    assert_int_equal(count("xenevtchn_notify"), 1);
    vgt_ioreq_server_get_stats(s, &st);
    assert_int_equal(st.invalidate, 1);
    assert_int_equal(st.bad, 0);

    vgt_ioreq_server_destroy(s);
    assert_balanced();
    close(fx.evfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_order),
        cmocka_unit_test(test_start_buffered),
        cmocka_unit_test(test_fail_each_stage),
        cmocka_unit_test(test_hv_seam),
        cmocka_unit_test(test_gfn_bound),
        cmocka_unit_test(test_arm_rules),
        cmocka_unit_test(test_invalidate_broadcast),
        cmocka_unit_test(test_teardown_domain_gone),
        cmocka_unit_test(test_teardown_other_errno_is_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The privileged libxenctrl steps of vgtd (host/vgt_xenctrl.c) with every
 * libxenctrl call replaced at link time (-Wl,--wrap=..., see meson.build),
 * the way tests/ioreq-server/test_xen_backend.c replaces libxendevicemodel:
 * each wrapper records the call, answers from a small domain table and
 * fails on demand with a chosen errno. Checks the domain checks (exists,
 * HVM, paused, not dying), the guest-frame bound, the aperture mapping,
 * that each failure names the call and its errno, and that the interface
 * opened is closed on every path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>

#include "vgt/hv.h"
#include "vgt/ioreq_backend.h"
#include "vgt/log.h"
#include "vgt/sim_arena.h"
#include "vgt_domwatch.h"
#include "vgt_xenctrl.h"

#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define DOMID 5

struct fake_dom {
    uint32_t domid;
    unsigned hvm, paused, dying;
    unsigned long nr_pages, max_memkb;
    xen_pfn_t max_gpfn;
};

/* The fake library's state: test-local, reset by each test. */
static struct {
    char calls[32][96];
    unsigned n;
    const char *fail; /* name of the call to fail */
    int err;          /* errno it fails with (0: the library forgot) */
    struct fake_dom doms[4];
    unsigned ndoms;
    unsigned opened, closed;
    unsigned lib_opened, lib_closed; /* the ioreq backend's three handles */
    unsigned mapped, unmapped;
    _Alignas(4096) uint8_t page[4096]; /* foreign mappings are page aligned */
    /* libxenstore: the watch's pipe (xenstored firing = a byte written) */
    int xs_pipe[2];
    unsigned xs_watches, xs_unwatches, xs_opens, xs_closes;
    int dead; /* atomic: DOMID is gone (set by the test thread) */
} fx;

static int xch_token, lib_token;

static bool call(const char *name, const char *detail)
{
    if (fx.n < 32)
        snprintf(fx.calls[fx.n++], 96, "%s%s%s", name, detail ? " " : "", detail ? detail : "");
    if (fx.fail && !strcmp(fx.fail, name)) {
        errno = fx.err;
        return false;
    }
    return true;
}

xc_interface *__wrap_xc_interface_open(xentoollog_logger *l, xentoollog_logger *dl, unsigned f);
xc_interface *__wrap_xc_interface_open(xentoollog_logger *l, xentoollog_logger *dl, unsigned f)
{
    (void)f;
    /* vgtd's own logger, so that libxenctrl prints nothing of its own. */
    assert_non_null(l);
    assert_non_null(l->vmessage);
    assert_ptr_equal(dl, l);
    if (!call("xc_interface_open", NULL))
        return NULL;
    fx.opened++;
    return (xc_interface *)&xch_token;
}

int __wrap_xc_interface_close(xc_interface *xch);
int __wrap_xc_interface_close(xc_interface *xch)
{
    assert_ptr_equal(xch, &xch_token);
    call("xc_interface_close", NULL);
    fx.closed++;
    return 0;
}

/* Like the real call: the first domain whose id is >= first_domid. */
int __wrap_xc_domain_getinfo(xc_interface *xch, uint32_t first, unsigned max, xc_dominfo_t *info);
int __wrap_xc_domain_getinfo(xc_interface *xch, uint32_t first, unsigned max, xc_dominfo_t *info)
{
    char d[16];

    assert_ptr_equal(xch, &xch_token);
    assert_int_equal(max, 1);
    snprintf(d, sizeof(d), "%u", first);
    if (!call("xc_domain_getinfo", d))
        return -1;
    for (unsigned i = 0; i < fx.ndoms; i++) {
        const struct fake_dom *f = &fx.doms[i];

        if (f->domid < first || (f->domid == DOMID && __atomic_load_n(&fx.dead, __ATOMIC_SEQ_CST)))
            continue;
        memset(info, 0, sizeof(*info));
        info->domid = f->domid;
        info->hvm = f->hvm;
        info->paused = f->paused;
        info->dying = f->dying;
        info->nr_pages = f->nr_pages;
        info->max_memkb = f->max_memkb;
        return 1;
    }
    return 0;
}

int __wrap_xc_domain_maximum_gpfn(xc_interface *xch, uint32_t domid, xen_pfn_t *gpfns);
int __wrap_xc_domain_maximum_gpfn(xc_interface *xch, uint32_t domid, xen_pfn_t *gpfns)
{
    char d[16];

    assert_ptr_equal(xch, &xch_token);
    snprintf(d, sizeof(d), "%u", domid);
    if (!call("xc_domain_maximum_gpfn", d))
        return -1;
    for (unsigned i = 0; i < fx.ndoms; i++)
        if (fx.doms[i].domid == domid) {
            *gpfns = fx.doms[i].max_gpfn;
            return 0;
        }
    errno = ESRCH;
    return -1;
}

int __wrap_xc_domain_memory_mapping(xc_interface *xch, uint32_t domid, unsigned long gfn,
                                    unsigned long mfn, unsigned long nr, uint32_t add);
int __wrap_xc_domain_memory_mapping(xc_interface *xch, uint32_t domid, unsigned long gfn,
                                    unsigned long mfn, unsigned long nr, uint32_t add)
{
    char d[80];

    assert_ptr_equal(xch, &xch_token);
    snprintf(d, sizeof(d), "%u %#lx %#lx %lu %s", domid, gfn, mfn, nr,
             add == DPCI_ADD_MAPPING ? "add" : add == DPCI_REMOVE_MAPPING ? "remove" : "?");
    return call("xc_domain_memory_mapping", d) ? 0 : -1;
}

/* The ioreq backend's handles: opened and closed, nothing else. */
#define LIB_OPEN_CLOSE(lib, handle)                                               \
    handle *__wrap_##lib##_open(xentoollog_logger *l, unsigned f);                \
    handle *__wrap_##lib##_open(xentoollog_logger *l, unsigned f)                 \
    {                                                                             \
        (void)l, (void)f;                                                         \
        if (!call(#lib "_open", NULL))                                            \
            return NULL;                                                          \
        fx.lib_opened++;                                                          \
        return (handle *)&lib_token;                                              \
    }                                                                             \
    int __wrap_##lib##_close(handle *h);                                          \
    int __wrap_##lib##_close(handle *h)                                           \
    {                                                                             \
        assert_ptr_equal(h, &lib_token);                                          \
        call(#lib "_close", NULL);                                                \
        fx.lib_closed++;                                                          \
        return 0;                                                                 \
    }
LIB_OPEN_CLOSE(xendevicemodel, xendevicemodel_handle)
LIB_OPEN_CLOSE(xenforeignmemory, xenforeignmemory_handle)
LIB_OPEN_CLOSE(xenevtchn, xenevtchn_handle)

/* A foreign mapping of one guest frame: a local page. */
void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t d, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[]);
void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t d, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[])
{
    char det[32];

    (void)h, (void)prot;
    assert_int_equal(d, DOMID);
    assert_int_equal(n, 1);
    snprintf(det, sizeof(det), "%#llx", (unsigned long long)arr[0]);
    if (!call("xenforeignmemory_map", det))
        return NULL;
    err[0] = 0;
    fx.mapped++;
    return fx.page;
}

int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *a, size_t n);
int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *a, size_t n)
{
    (void)h, (void)n;
    assert_ptr_equal(a, fx.page);
    fx.unmapped++;
    return 0;
}

/* libxenstore: one connection, the @releaseDomain watch on a pipe. */
static int xs_token;

struct xs_handle *__wrap_xs_open(unsigned long flags);
struct xs_handle *__wrap_xs_open(unsigned long flags)
{
    assert_int_equal(flags, 0);
    if (!call("xs_open", NULL))
        return NULL;
    fx.xs_opens++;
    return (struct xs_handle *)&xs_token;
}

void __wrap_xs_close(struct xs_handle *h);
void __wrap_xs_close(struct xs_handle *h)
{
    assert_ptr_equal(h, &xs_token);
    fx.xs_closes++;
}

bool __wrap_xs_watch(struct xs_handle *h, const char *path, const char *token);
bool __wrap_xs_watch(struct xs_handle *h, const char *path, const char *token)
{
    assert_ptr_equal(h, &xs_token);
    assert_non_null(token);
    if (!call("xs_watch", path))
        return false;
    fx.xs_watches++;
    return true;
}

bool __wrap_xs_unwatch(struct xs_handle *h, const char *path, const char *token);
bool __wrap_xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
    assert_ptr_equal(h, &xs_token);
    assert_string_equal(path, "@releaseDomain");
    assert_non_null(token);
    fx.xs_unwatches++;
    return true;
}

int __wrap_xs_fileno(struct xs_handle *h);
int __wrap_xs_fileno(struct xs_handle *h)
{
    assert_ptr_equal(h, &xs_token);
    return fx.xs_pipe[0];
}

/* One event per byte in the pipe; NULL + EAGAIN when drained. */
char **__wrap_xs_check_watch(struct xs_handle *h);
char **__wrap_xs_check_watch(struct xs_handle *h)
{
    struct pollfd p = {.fd = fx.xs_pipe[0], .events = POLLIN};
    char b, **ev;

    assert_ptr_equal(h, &xs_token);
    if (poll(&p, 1, 0) != 1 || read(fx.xs_pipe[0], &b, 1) != 1) {
        errno = EAGAIN;
        return NULL;
    }
    ev = malloc(2 * sizeof(char *) + 32);
    assert_non_null(ev);
    ev[0] = (char *)(ev + 2);
    strcpy(ev[0], "@releaseDomain");
    ev[1] = ev[0] + 15;
    strcpy(ev[1], "tok");
    return ev;
}

/* dom0 (PV), the paused HVM guest DOMID with 4 GiB of RAM (3 GiB below a
 * 1 GiB MMIO hole, 1 GiB relocated above 4 GiB: highest frame at 5 GiB),
 * and a running HVM guest 9. */
static void reset(const char *fail, int err)
{
    memset(&fx, 0, sizeof(fx));
    fx.fail = fail;
    fx.err = err;
    fx.doms[0] = (struct fake_dom){.domid = 0, .hvm = 0, .paused = 0};
    fx.doms[1] = (struct fake_dom){.domid = DOMID, .hvm = 1, .paused = 1,
                                   .nr_pages = 0x100000, .max_memkb = 4u << 20,
                                   .max_gpfn = 0x13ffff};
    fx.doms[2] = (struct fake_dom){.domid = 9, .hvm = 1, .paused = 0};
    fx.ndoms = 3;
    fx.xs_pipe[0] = fx.xs_pipe[1] = -1;
}

static void assert_balanced(void)
{
    assert_int_equal(fx.opened, fx.closed);
    assert_int_equal(fx.lib_opened, fx.lib_closed);
    assert_int_equal(fx.mapped, fx.unmapped);
}

static unsigned count(const char *prefix)
{
    unsigned n = 0;

    for (unsigned i = 0; i < fx.n; i++)
        n += !strncmp(fx.calls[i], prefix, strlen(prefix));
    return n;
}

static void assert_calls(const char *const *want, unsigned n)
{
    assert_int_equal(fx.n, n);
    for (unsigned i = 0; i < n; i++)
        assert_string_equal(fx.calls[i], want[i]);
}

static void test_check_ok(void **state)
{
    static const char *const want[] = {"xc_interface_open", "xc_domain_getinfo 5",
                                       "xc_domain_maximum_gpfn 5", "xc_interface_close"};
    struct vgt_xc_domain xd;
    char err[256] = "";

    (void)state;
    reset(NULL, 0);
    fx.doms[1].max_gpfn = 0x13ffff; /* 5 GiB - 4 KiB: RAM relocated above 4 GiB */
    assert_int_equal(vgt_xc_domain_check(DOMID, &xd, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_true(xd.hvm && xd.paused && !xd.dying);
    assert_int_equal(xd.mem_bytes, 0x100000ull << 12);
    assert_int_equal(xd.max_bytes, 4ull << 30);
    /* The bound is the highest frame + 1, not the memory size. */
    assert_int_equal(xd.max_gfn, 0x140000);
    assert_true(xd.max_gfn > xd.mem_bytes >> 12);
    assert_calls(want, 4);
    assert_balanced();
}

/* Each libxenctrl call failing: the error names it with its errno, and
 * what was opened is closed. */
static void test_check_call_fails(void **state)
{
    static const struct {
        const char *call;
        int err, ret;
        const char *msg;
    } cases[] = {
        {"xc_interface_open", EACCES, -EACCES, "xc_interface_open: Permission denied (errno 13)"},
        {"xc_domain_getinfo", EPERM, -EPERM, "xc_domain_getinfo(5): Operation not permitted (errno 1)"},
        {"xc_domain_maximum_gpfn", ESRCH, -ESRCH, "xc_domain_maximum_gpfn(5): No such process (errno 3)"},
        /* A library that fails without setting errno still gives an errno. */
        {"xc_domain_getinfo", 0, -EIO, "xc_domain_getinfo(5): Input/output error (errno 5)"},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vgt_xc_domain xd;
        char err[256] = "";

        reset(cases[i].call, cases[i].err);
        assert_int_equal(vgt_xc_domain_check(DOMID, &xd, err, sizeof(err)), cases[i].ret);
        assert_string_equal(err, cases[i].msg);
        assert_int_equal(xd.max_gfn, 0);
        assert_balanced();
        /* The failed open acquired nothing; every other path closed it. */
        assert_int_equal(fx.closed, strcmp(cases[i].call, "xc_interface_open") ? 1 : 0);
    }
}

/* The domain's state refuses it before its frames are looked at. */
static void test_check_bad_domain(void **state)
{
    static const struct {
        uint16_t domid;
        unsigned hvm, paused, dying;
        int ret;
        const char *msg;
    } cases[] = {
        {DOMID, 0, 1, 0, -EINVAL, "xc_domain_getinfo(5): domain is not HVM"},
        {DOMID, 1, 0, 0, -EINVAL,
         "xc_domain_getinfo(5): domain is running (create it with xl create -p)"},
        {DOMID, 1, 1, 1, -EINVAL, "xc_domain_getinfo(5): domain is dying"},
        /* getinfo answers with the next domain (9): 7 does not exist. */
        {7, 1, 1, 0, -ENOENT, "xc_domain_getinfo(7): no such domain"},
        /* Nothing at or above 10. */
        {10, 1, 1, 0, -ENOENT, "xc_domain_getinfo(10): no such domain"},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vgt_xc_domain xd;
        char err[256] = "";

        reset(NULL, 0);
        fx.doms[1].hvm = cases[i].hvm;
        fx.doms[1].paused = cases[i].paused;
        fx.doms[1].dying = cases[i].dying;
        assert_int_equal(vgt_xc_domain_check(cases[i].domid, &xd, err, sizeof(err)),
                         cases[i].ret);
        assert_string_equal(err, cases[i].msg);
        assert_int_equal(xd.max_gfn, 0);
        for (unsigned c = 0; c < fx.n; c++)
            assert_null(strstr(fx.calls[c], "maximum_gpfn"));
        assert_int_equal(fx.closed, 1);
        assert_balanced();
    }
}

/* A frame number beyond the 52-bit guest-physical space is not trusted. */
static void test_check_gfn_limit(void **state)
{
    struct vgt_xc_domain xd;
    char err[256] = "";

    (void)state;
    reset(NULL, 0);
    fx.doms[1].max_gpfn = (xen_pfn_t)1 << 40;
    assert_int_equal(vgt_xc_domain_check(DOMID, &xd, err, sizeof(err)), -ERANGE);
    assert_non_null(strstr(err, "xc_domain_maximum_gpfn(5)"));
    assert_int_equal(xd.max_gfn, 0);
    assert_balanced();
    reset(NULL, 0);
    fx.doms[1].max_gpfn = ((xen_pfn_t)1 << 40) - 1; /* the last 52-bit frame */
    assert_int_equal(vgt_xc_domain_check(DOMID, &xd, err, sizeof(err)), 0);
    assert_int_equal(xd.max_gfn, 1ull << 40);
    assert_balanced();
}

static void test_exists(void **state)
{
    (void)state;
    reset(NULL, 0);
    assert_int_equal(vgt_xc_domain_exists(DOMID), 1);
    assert_balanced();
    assert_int_equal(vgt_xc_domain_exists(9), 1); /* running is fine here */
    assert_int_equal(vgt_xc_domain_exists(7), 0); /* next one is 9 */
    assert_int_equal(vgt_xc_domain_exists(12), 0);
    fx.doms[1].dying = 1;
    assert_int_equal(vgt_xc_domain_exists(DOMID), 0);
    assert_int_equal(fx.opened, 5);
    assert_balanced();

    /* An error is not "gone": the reaper must not tear a live vGPU down. */
    reset("xc_domain_getinfo", EPERM);
    assert_int_equal(vgt_xc_domain_exists(DOMID), -EPERM);
    assert_balanced();
    reset("xc_interface_open", EACCES);
    assert_int_equal(vgt_xc_domain_exists(DOMID), -EACCES);
    assert_int_equal(fx.closed, 0);
}

static void test_map_aperture(void **state)
{
    char err[256] = "";

    (void)state;
    reset(NULL, 0);
    assert_int_equal(vgt_xc_map_aperture(DOMID, 0xc0000, 0x4010000, 0x400, true, err, sizeof(err)),
                     0);
    assert_int_equal(vgt_xc_map_aperture(DOMID, 0xc0000, 0x4010000, 0x400, false, err, sizeof(err)),
                     0);
    assert_string_equal(fx.calls[1], "xc_domain_memory_mapping 5 0xc0000 0x4010000 1024 add");
    assert_string_equal(fx.calls[4], "xc_domain_memory_mapping 5 0xc0000 0x4010000 1024 remove");
    assert_int_equal(fx.n, 6);
    assert_balanced();

    reset("xc_domain_memory_mapping", EPERM);
    assert_int_equal(vgt_xc_map_aperture(DOMID, 0xc0000, 0x4010000, 16, true, err, sizeof(err)),
                     -EPERM);
    assert_string_equal(err, "xc_domain_memory_mapping(5, gfn 0xc0000, mfn 0x4010000, 16, add): "
                             "Operation not permitted (errno 1)");
    assert_int_equal(fx.closed, 1);
    assert_balanced();

    reset("xc_interface_open", EACCES);
    assert_int_equal(vgt_xc_map_aperture(DOMID, 0xc0000, 0x4010000, 16, false, err, sizeof(err)),
                     -EACCES);
    assert_string_equal(err, "xc_interface_open: Permission denied (errno 13)");
    assert_balanced();

    /* Empty or wrapping runs never reach the hypervisor. */
    reset(NULL, 0);
    assert_int_equal(vgt_xc_map_aperture(DOMID, 0xc0000, 0x4010000, 0, true, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(vgt_xc_map_aperture(DOMID, UINT64_MAX - 1, 0x4010000, 4, true, err,
                                         sizeof(err)), -EINVAL);
    assert_int_equal(vgt_xc_map_aperture(DOMID, 0xc0000, (1ull << 40) - 2, 4, true, err,
                                         sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(fx.n, 0);
}

/* The bound reaches the backend the vGPU's hv sits on: a guest frame at
 * or above the domain's highest frame is refused before any mapping. */
static void test_backend_bound(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_backend *be = NULL;
    struct vgt_hv *hv;
    char err[256] = "";
    uint64_t v = 0, exp = 0;

    (void)state;
    reset(NULL, 0);
    fx.doms[1].max_gpfn = 0x13ffff;
    assert_int_equal(vgt_xc_backend_create(DOMID, &log, NULL, &be, err, sizeof(err)), 0);
    assert_non_null(be);
    hv = be->hv;
    assert_int_equal(hv->max_gfn, 0x140000);
    /* The xenctrl interface is closed before the backend opens its own. */
    assert_int_equal(fx.closed, 1);
    assert_true(count("xc_interface_close") == 1 && count("xendevicemodel_open") == 1);

    assert_int_equal(vgt_hv_read(hv, 0x140000ull << 12, &v, 8), -EFAULT);
    assert_int_equal(vgt_hv_write(hv, 0x7fffffull << 12, &v, 8), -EFAULT);
    assert_int_equal(vgt_hv_read(hv, (0x140000ull << 12) - 4, &v, 8), -EFAULT); /* straddles */
    assert_int_equal(hv->ops->cmpxchg_gpa(hv, 0x140000ull << 12, &exp, 1), -EFAULT);
    assert_int_equal(hv->ops->mark_dirty(hv, 0x13ffff, 2), -EFAULT);
    assert_int_equal(vgt_hv_gfn_to_dma(hv, 0x140000, &v), -EFAULT);
    assert_int_equal(count("xenforeignmemory_map"), 0);

    /* The highest frame itself (RAM relocated above 4 GiB) is guest RAM. */
    memcpy(fx.page + 0xff8, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    assert_int_equal(vgt_hv_read(hv, (0x13ffffull << 12) + 0xff8, &v, 8), 0);
    assert_int_equal(v, 0x8877665544332211ull);
    assert_int_equal(count("xenforeignmemory_map 0x13ffff"), 1);

    be->ops->destroy(be);
    assert_balanced();
}

/* vgtd --gpu sim on Xen: the simulated GPU's arena imports the foreign
 * mapping of a guest frame, so what the GPU writes at the translated
 * address is in the guest's own page; destroy unimports and unmaps. */
static int imp(void *opaque, void *page, uint64_t *dma)
{
    return sim_arena_import(opaque, page, dma);
}

static void unimp(void *opaque, void *page, uint64_t dma)
{
    (void)page;
    assert_int_equal(sim_arena_unimport(opaque, dma), 0);
}

static void test_backend_sim_gpu_dma(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_backend *be = NULL;
    struct sim_arena *arena;
    struct vgt_mapcache_dma dma = {.get = imp, .put = unimp};
    char err[256] = "";
    uint64_t hpa = 0, again = 0, v = 0;
    uint8_t *gpu;

    (void)state;
    reset(NULL, 0);
    assert_int_equal(sim_arena_create(4ull << 20, &arena), 0);
    dma.opaque = arena;
    assert_int_equal(vgt_xc_backend_create(DOMID, &log, &dma, &be, err, sizeof(err)), 0);
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 0x1234, &hpa), 0);
    assert_true(hpa >= SIM_ARENA_EXT_BASE);
    assert_int_equal(count("xenforeignmemory_map 0x1234"), 1);
    gpu = sim_arena_ptr(arena, hpa, 4096);
    assert_ptr_equal(gpu, fx.page);
    /* The GPU stores; the guest's page has it. */
    memcpy(gpu + 0x40, "", 8);
    assert_int_equal(vgt_hv_read(be->hv, (0x1234ull << 12) + 0x40, &v, 8), 0);
    assert_int_equal(v, 0x0807060504030201ull);
    /* Translated again: the same held mapping, no second map. */
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 0x1234, &again), 0);
    assert_int_equal(again, hpa);
    assert_int_equal(count("xenforeignmemory_map 0x1234"), 1);
    be->ops->destroy(be);
    assert_null(sim_arena_ptr(arena, hpa, 8));
    assert_balanced();
    sim_arena_destroy(arena);
}

/* A refused domain never gets a backend; a backend that cannot open its
 * handles names the failure; nothing is left open either way. */
static void test_backend_fails(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_ioreq_backend *be = NULL;
    char err[256] = "";

    (void)state;
    reset(NULL, 0);
    fx.doms[1].paused = 0;
    assert_int_equal(vgt_xc_backend_create(DOMID, &log, NULL, &be, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "xc_domain_getinfo(5): domain is running (create it with xl create -p)");
    assert_null(be);
    assert_int_equal(fx.lib_opened, 0);
    assert_balanced();

    reset("xc_domain_maximum_gpfn", EFAULT);
    assert_int_equal(vgt_xc_backend_create(DOMID, &log, NULL, &be, err, sizeof(err)), -EFAULT);
    assert_string_equal(err, "xc_domain_maximum_gpfn(5): Bad address (errno 14)");
    assert_int_equal(fx.lib_opened, 0);
    assert_balanced();

    reset("xenevtchn_open", EACCES);
    assert_true(vgt_xc_backend_create(DOMID, &log, NULL, &be, err, sizeof(err)) < 0);
    assert_null(be);
    assert_non_null(strstr(err, "ioreq backend for domain 5"));
    assert_int_equal(fx.lib_opened, 2);
    assert_balanced();
}

/* ---- the domain-death watch (host/vgt_domwatch.c) ---- */

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct waiter {
    struct vgt_domwatch *w;
    int stop[2];
    int ret;
    double done_ms;
};

static void *wait_thread(void *p)
{
    struct waiter *wt = p;

    wt->ret = vgt_domwatch_wait_gone(wt->w, DOMID, wt->stop[0]);
    wt->done_ms = mono_ms();
    return NULL;
}

/* Starts a waiter on DOMID, lets it sit @idle_ms, kills the domain (and
 * fires the watch when @fire), returns the ms from the death to the
 * waiter's return. */
static double death_to_notice(struct waiter *wt, unsigned idle_ms, bool fire)
{
    pthread_t t;
    double t0;

    assert_int_equal(pipe(wt->stop), 0);
    assert_int_equal(pthread_create(&t, NULL, wait_thread, wt), 0);
    usleep(idle_ms * 1000);
    t0 = mono_ms();
    __atomic_store_n(&fx.dead, 1, __ATOMIC_SEQ_CST);
    if (fire)
        assert_int_equal(write(fx.xs_pipe[1], "x", 1), 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    close(wt->stop[0]);
    close(wt->stop[1]);
    return wt->done_ms - t0;
}

/* With xenstored: the @releaseDomain watch wakes the waiter, which
 * confirms with one getinfo; nothing is polled while nothing happens. */
static void test_domwatch_release_event(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct waiter wt = {0};
    double ms;

    (void)state;
    reset(NULL, 0);
    assert_int_equal(pipe(fx.xs_pipe), 0);
    assert_int_equal(vgt_domwatch_open(&log, &wt.w), 0);
    assert_int_equal(fx.xs_watches, 1);
    assert_string_equal(fx.calls[1], "xs_watch @releaseDomain");
    assert_int_equal(vgt_domwatch_fd(wt.w), fx.xs_pipe[0]);
    ms = death_to_notice(&wt, 300, true);
    print_message("  watch: noticed %.1f ms after the death\n", ms);
    assert_int_equal(wt.ret, 0);
    assert_true(ms < 200);
    /* 300 ms idle: a backstop check at most every 100 ms, and the
     * event's; never a busy loop. */
    print_message("  watch: %d getinfo in 300 ms idle\n", count("xc_domain_getinfo"));
    assert_true(count("xc_domain_getinfo") >= 1);
    assert_true(count("xc_domain_getinfo") <= 300 / VGT_DOMWATCH_BACKSTOP_MS + 2);
    vgt_domwatch_close(wt.w);
    assert_int_equal(fx.xs_unwatches, 1);
    assert_int_equal(fx.xs_closes, fx.xs_opens);
    assert_balanced();
    close(fx.xs_pipe[0]);
    close(fx.xs_pipe[1]);
}

/* xenstored alive but the watch never fires (a domain it was never told
 * about, a slow xenstored): the backstop still notices within 200 ms. */
static void test_domwatch_silent_watch(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct waiter wt = {0};
    double ms;

    (void)state;
    reset(NULL, 0);
    assert_int_equal(pipe(fx.xs_pipe), 0);
    assert_int_equal(vgt_domwatch_open(&log, &wt.w), 0);
    assert_int_equal(vgt_domwatch_fd(wt.w), fx.xs_pipe[0]);
    ms = death_to_notice(&wt, 150, false);
    print_message("  silent watch: noticed %.1f ms after the death\n", ms);
    assert_int_equal(wt.ret, 0);
    assert_true(ms < 200);
    vgt_domwatch_close(wt.w);
    assert_balanced();
    close(fx.xs_pipe[0]);
    close(fx.xs_pipe[1]);
}

/* A watch event for another domain (the path does not say which): the
 * check finds DOMID alive and the waiter goes on waiting. */
static void test_domwatch_other_domain(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_domwatch *w;
    double t0;

    (void)state;
    reset(NULL, 0);
    assert_int_equal(pipe(fx.xs_pipe), 0);
    t0 = mono_ms();
    assert_int_equal(vgt_domwatch_open(&log, &w), 0);
    /* no event: due only once the backstop came round */
    assert_true(!vgt_domwatch_due(w) || mono_ms() - t0 >= VGT_DOMWATCH_BACKSTOP_MS);
    assert_int_equal(write(fx.xs_pipe[1], "xx", 2), 2);
    t0 = mono_ms();
    assert_true(vgt_domwatch_due(w));
    /* both events drained: not due again before the next backstop */
    assert_true(!vgt_domwatch_due(w) || mono_ms() - t0 >= VGT_DOMWATCH_BACKSTOP_MS);
    assert_int_equal(vgt_xc_domain_exists(DOMID), 1);
    vgt_domwatch_close(w);
    close(fx.xs_pipe[0]);
    close(fx.xs_pipe[1]);
}

/* Without xenstored (xs_open fails, or the watch is refused): bounded
 * polling still notices within 200 ms; nothing is left open. */
static void test_domwatch_polling_fallback(void **state)
{
    static const char *const fails[] = {"xs_open", "xs_watch"};
    struct vgt_log log = {.level = VGT_LOG_OFF};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct waiter wt = {0};
        double ms;

        reset(fails[i], ECONNREFUSED);
        assert_int_equal(vgt_domwatch_open(&log, &wt.w), 0);
        assert_int_equal(vgt_domwatch_fd(wt.w), -1);
        assert_int_equal(vgt_domwatch_timeout_ms(wt.w), VGT_DOMWATCH_POLL_MS);
        assert_int_equal(fx.xs_closes, fx.xs_opens);
        ms = death_to_notice(&wt, 150, false);
        print_message("  %s refused: noticed %.1f ms after the death\n", fails[i], ms);
        assert_int_equal(wt.ret, 0);
        assert_true(ms < 200);
        vgt_domwatch_close(wt.w);
        assert_balanced();
    }
}

/* The stop fd ends the wait at once; a failing check is reported. */
static void test_domwatch_stop_and_error(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_OFF};
    struct vgt_domwatch *w;
    int stop[2];

    (void)state;
    reset("xs_open", ENOENT);
    assert_int_equal(vgt_domwatch_open(&log, &w), 0);
    assert_int_equal(pipe(stop), 0);
    assert_int_equal(write(stop[1], "s", 1), 1);
    assert_int_equal(vgt_domwatch_wait_gone(w, DOMID, stop[0]), -ECANCELED);
    close(stop[0]);
    close(stop[1]);
    assert_int_equal(pipe(stop), 0);
    fx.fail = "xc_interface_open";
    fx.err = EACCES;
    assert_int_equal(vgt_domwatch_wait_gone(w, DOMID, stop[0]), -EACCES);
    close(stop[0]);
    close(stop[1]);
    vgt_domwatch_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_ok),
        cmocka_unit_test(test_check_call_fails),
        cmocka_unit_test(test_check_bad_domain),
        cmocka_unit_test(test_check_gfn_limit),
        cmocka_unit_test(test_exists),
        cmocka_unit_test(test_map_aperture),
        cmocka_unit_test(test_backend_bound),
        cmocka_unit_test(test_backend_fails),
        cmocka_unit_test(test_backend_sim_gpu_dma),
        cmocka_unit_test(test_domwatch_release_event),
        cmocka_unit_test(test_domwatch_silent_watch),
        cmocka_unit_test(test_domwatch_other_domain),
        cmocka_unit_test(test_domwatch_polling_fallback),
        cmocka_unit_test(test_domwatch_stop_and_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

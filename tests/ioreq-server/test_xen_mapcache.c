/* The xen backend's guest-frame map cache (ioreq-server/mapcache.c behind
 * xen_hv.c) with libxenforeignmemory replaced at link time: a fake guest
 * of NR_GFN frames whose mappings are counted per frame. Checks hits and
 * misses, LRU eviction, that pinned entries (held translations, copies in
 * progress) are never evicted nor unmapped, INVALIDATE, the bound, holes
 * and the domain's frame bound, and that destroy unmaps everything. */
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

#include "vgt/ioreq_backend.h"
#include "vgt/mapcache.h"

#define DOMID 6
#define NR_GFN 64
#define HOLE 40 /* gfn 40 is not guest RAM (an MMIO hole) */
#define DMA_BASE 0xd0000000ull

static struct {
    uint8_t (*ram)[4096];
    unsigned live[NR_GFN]; /* mappings of each frame alive */
    unsigned maps, unmaps;
    int fail_errno; /* the next map fails so (0: no) */
    unsigned dma_gets, dma_puts;
} fx;

static int token;

#define OPEN_CLOSE(lib, handle)                                              \
    handle *__wrap_##lib##_open(struct xentoollog_logger *l, unsigned f);    \
    handle *__wrap_##lib##_open(struct xentoollog_logger *l, unsigned f)     \
    {                                                                        \
        (void)l, (void)f;                                                    \
        return (handle *)&token;                                             \
    }                                                                        \
    int __wrap_##lib##_close(handle *h);                                     \
    int __wrap_##lib##_close(handle *h)                                      \
    {                                                                        \
        assert_ptr_equal(h, &token);                                         \
        return 0;                                                            \
    }
OPEN_CLOSE(xendevicemodel, xendevicemodel_handle)
OPEN_CLOSE(xenforeignmemory, xenforeignmemory_handle)
OPEN_CLOSE(xenevtchn, xenevtchn_handle)

void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t d, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[]);
void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t d, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[])
{
    (void)h, (void)prot;
    assert_int_equal(d, DOMID);
    assert_int_equal(n, 1);
    assert_true(arr[0] < NR_GFN); /* the bound is checked before */
    if (fx.fail_errno) {
        errno = fx.fail_errno;
        return NULL;
    }
    fx.maps++;
    fx.live[arr[0]]++;
    /* Like Xen: the mapping succeeds, the per-frame error says "hole". */
    err[0] = arr[0] == HOLE ? -EINVAL : 0;
    return fx.ram[arr[0]];
}

int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *a, size_t n);
int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *a, size_t n)
{
    size_t gfn = (size_t)((uint8_t(*)[4096])a - fx.ram);

    (void)h;
    assert_int_equal(n, 1);
    assert_true(gfn < NR_GFN);
    assert_true(fx.live[gfn] > 0);
    fx.live[gfn]--;
    fx.unmaps++;
    return 0;
}

/* The platform's dma ops: the frame's index above DMA_BASE. */
static int dma_get(void *opaque, void *page, uint64_t *dma)
{
    (void)opaque;
    fx.dma_gets++;
    *dma = DMA_BASE + (uint64_t)((uint8_t(*)[4096])page - fx.ram) * 4096;
    return 0;
}

static void dma_put(void *opaque, void *page, uint64_t dma)
{
    (void)opaque;
    assert_int_equal(dma, DMA_BASE + (uint64_t)((uint8_t(*)[4096])page - fx.ram) * 4096);
    fx.dma_puts++;
}

static const struct vgt_mapcache_dma dma_ops = {.get = dma_get, .put = dma_put};

static struct vgt_log quiet = {.level = VGT_LOG_OFF};

static struct vgt_ioreq_backend *be_create(unsigned frames, bool with_dma)
{
    struct vgt_ioreq_xen_cfg xc = {.domid = DOMID, .log = &quiet, .arch = VGT_XEN_ARCH_X86,
                                   .max_gfn = NR_GFN, .dma = with_dma ? &dma_ops : NULL,
                                   .map_cache_frames = frames};
    struct vgt_ioreq_backend *be;

    free(fx.ram);
    memset(&fx, 0, sizeof(fx));
    fx.ram = aligned_alloc(4096, NR_GFN * 4096);
    assert_non_null(fx.ram);
    for (unsigned i = 0; i < NR_GFN; i++)
        memset(fx.ram[i], (int)i, 4096);
    assert_int_equal(vgt_ioreq_xen_backend_create(&xc, &be), 0);
    return be;
}

static void be_destroy(struct vgt_ioreq_backend *be)
{
    be->ops->destroy(be);
    /* Everything unmapped, every dma address given back. */
    assert_int_equal(fx.maps, fx.unmaps);
    for (unsigned i = 0; i < NR_GFN; i++)
        assert_int_equal(fx.live[i], 0);
    assert_int_equal(fx.dma_gets, fx.dma_puts);
    free(fx.ram);
    fx.ram = NULL;
}

static struct vgt_mapcache_stats stats(struct vgt_ioreq_backend *be)
{
    struct vgt_mapcache_stats st;

    vgt_ioreq_xen_map_cache_stats(be, &st);
    return st;
}

static uint8_t rd(struct vgt_ioreq_backend *be, uint64_t gfn)
{
    uint8_t b = 0xee;

    assert_int_equal(vgt_hv_read(be->hv, gfn * 4096 + 7, &b, 1), 0);
    return b;
}

/* A second access to a frame is a hit: one foreign mapping, not one per
 * access as before the cache; writes reach the guest's page. */
static void test_hit_miss(void **state)
{
    struct vgt_ioreq_backend *be = be_create(8, false);
    uint32_t v = 0x11223344, back = 0;

    (void)state;
    assert_int_equal(rd(be, 3), 3);
    assert_int_equal(rd(be, 3), 3);
    assert_int_equal(vgt_hv_write(be->hv, 3 * 4096 + 100, &v, 4), 0);
    assert_int_equal(memcmp(fx.ram[3] + 100, &v, 4), 0);
    assert_int_equal(vgt_hv_read(be->hv, 3 * 4096 + 100, &back, 4), 0);
    assert_int_equal(back, v);
    assert_int_equal(fx.maps, 1);
    assert_int_equal(stats(be).misses, 1);
    assert_int_equal(stats(be).hits, 3);
    /* A copy across two frames maps both. */
    assert_int_equal(vgt_hv_read(be->hv, 4 * 4096 - 2, &back, 4), 0);
    assert_int_equal(back, 0x04040303u);
    assert_int_equal(fx.maps, 2);
    be_destroy(be);
}

/* Full: the least recently used frame goes, not the one just touched. */
static void test_lru_eviction(void **state)
{
    struct vgt_ioreq_backend *be = be_create(4, false);

    (void)state;
    for (unsigned g = 1; g <= 4; g++)
        rd(be, g);
    rd(be, 1); /* 2 is now the oldest */
    rd(be, 5);
    assert_int_equal(fx.live[2], 0);
    assert_int_equal(fx.live[1], 1);
    assert_int_equal(fx.live[5], 1);
    assert_int_equal(stats(be).evictions, 1);
    assert_int_equal(stats(be).mapped, 4);
    rd(be, 6); /* then 3 */
    assert_int_equal(fx.live[3], 0);
    assert_int_equal(stats(be).mapped, 4);
    be_destroy(be);
}

/* Held translations (gfn_to_dma) are never evicted; a cache full of them
 * refuses new frames instead of growing past its bound. */
static void test_pinned_never_evicted(void **state)
{
    struct vgt_ioreq_backend *be = be_create(4, true);
    uint64_t dma, again;

    (void)state;
    for (unsigned g = 1; g <= 3; g++) {
        assert_int_equal(vgt_hv_gfn_to_dma(be->hv, g, &dma), 0);
        assert_int_equal(dma, DMA_BASE + g * 4096);
    }
    for (unsigned g = 10; g < 30; g++) /* churn through the one free slot */
        assert_int_equal(rd(be, g), g);
    for (unsigned g = 1; g <= 3; g++)
        assert_int_equal(fx.live[g], 1);
    assert_int_equal(stats(be).evictions, 19);
    /* The same translation again: a hit, the same address, one dma get. */
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 2, &again), 0);
    assert_int_equal(again, DMA_BASE + 2 * 4096);
    assert_int_equal(fx.dma_gets, 3);
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 4, &dma), 0);
    assert_int_equal(stats(be).pinned, 4);
    /* Four held of four: a fifth frame is refused, nothing is dropped. */
    {
        uint8_t b;

        assert_int_equal(vgt_hv_read(be->hv, 9 * 4096, &b, 1), -ENOSPC);
    }
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 9, &dma), -ENOSPC);
    assert_int_equal(stats(be).full, 2);
    assert_int_equal(stats(be).mapped, 4);
    for (unsigned g = 1; g <= 4; g++)
        assert_int_equal(fx.live[g], 1);
    assert_int_equal(fx.dma_puts, 0);
    be_destroy(be);
}

/* A test mapper for the public API: frames of fx.ram, counted. */
static void *t_map(void *opaque, uint64_t gfn, int *err)
{
    (void)opaque;
    if (gfn == HOLE) {
        *err = -EFAULT;
        return NULL;
    }
    fx.maps++;
    fx.live[gfn]++;
    return fx.ram[gfn];
}

static void t_unmap(void *opaque, void *page)
{
    size_t gfn = (size_t)((uint8_t(*)[4096])page - fx.ram);

    (void)opaque;
    assert_true(fx.live[gfn] > 0);
    fx.live[gfn]--;
    fx.unmaps++;
}

/* A copy in progress pins its frame: a full cache refuses rather than
 * unmap the page under the memcpy, and an INVALIDATE during the copy
 * unmaps it only at the copy's put. */
static void test_copy_pins(void **state)
{
    struct vgt_mapcache_mapper m = {.map = t_map, .unmap = t_unmap};
    struct vgt_mapcache_ent *e1, *e2;
    struct vgt_mapcache *c;
    void *p1, *p2;

    (void)state;
    be_destroy(be_create(1, false)); /* fresh fx */
    fx.ram = aligned_alloc(4096, NR_GFN * 4096);
    assert_non_null(fx.ram);
    assert_int_equal(vgt_mapcache_create(&m, NULL, 1, &quiet, &c), 0);
    assert_int_equal(vgt_mapcache_get(c, 1, &p1, &e1), 0);
    assert_ptr_equal(p1, fx.ram[1]);
    assert_int_equal(vgt_mapcache_get(c, 2, &p2, &e2), -ENOSPC);
    assert_int_equal(fx.live[1], 1);
    vgt_mapcache_put(c, e1);
    assert_int_equal(vgt_mapcache_get(c, 2, &p2, &e2), 0); /* 1 evicted now */
    assert_int_equal(fx.live[1], 0);
    vgt_mapcache_invalidate(c);
    assert_int_equal(fx.live[2], 1); /* still copying */
    vgt_mapcache_put(c, e2);
    assert_int_equal(fx.live[2], 0);
    assert_int_equal(vgt_mapcache_get(c, HOLE, &p1, &e1), -EFAULT);
    assert_int_equal(vgt_mapcache_dma(c, 3, &(uint64_t){0}), -EOPNOTSUPP);
    vgt_mapcache_destroy(c);
    assert_int_equal(fx.maps, fx.unmaps);
    free(fx.ram);
    fx.ram = NULL;
}

/* INVALIDATE: nothing is found any more; unheld frames are unmapped at
 * once, held ones stay mapped (the GPU may reach them) until destroy, and
 * the next translation maps the frame afresh. */
static void test_invalidate(void **state)
{
    struct vgt_ioreq_backend *be = be_create(8, true);
    uint64_t dma;

    (void)state;
    rd(be, 1);
    rd(be, 2);
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 3, &dma), 0);
    be->ops->invalidate(be);
    assert_int_equal(fx.live[1], 0);
    assert_int_equal(fx.live[2], 0);
    assert_int_equal(fx.live[3], 1);
    assert_int_equal(fx.dma_puts, 0);
    assert_int_equal(stats(be).invalidations, 1);
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 3, &dma), 0);
    assert_int_equal(fx.live[3], 2); /* a fresh mapping beside the old */
    assert_int_equal(stats(be).misses, 4);
    rd(be, 1);
    assert_int_equal(fx.live[1], 1);
    be_destroy(be);
}

/* Frames at or beyond the domain's bound never reach the library; a hole
 * is -EFAULT and leaves nothing mapped; a dead domain is quiet. */
static void test_bounds_and_holes(void **state)
{
    struct vgt_ioreq_backend *be = be_create(8, true);
    uint64_t dma, v;

    (void)state;
    assert_int_equal(vgt_hv_read(be->hv, (uint64_t)NR_GFN * 4096, &v, 1), -EFAULT);
    assert_int_equal(vgt_hv_read(be->hv, (uint64_t)NR_GFN * 4096 - 4, &v, 8), -EFAULT);
    assert_int_equal(be->hv->ops->gfn_to_dma(be->hv, NR_GFN, &dma), -EFAULT);
    assert_int_equal(be->hv->ops->gfn_to_dma(be->hv, UINT64_MAX, &dma), -EFAULT);
    assert_int_equal(fx.maps, 0);
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, HOLE, &dma), -EFAULT);
    assert_int_equal(vgt_hv_read(be->hv, HOLE * 4096ull - 4, &v, 8), -EFAULT);
    assert_int_equal(fx.live[HOLE], 0);
    assert_int_equal(stats(be).mapped, 1); /* HOLE - 1 only */
    fx.fail_errno = ESRCH;
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 5, &dma), -ESRCH);
    fx.fail_errno = 0;
    be_destroy(be);
}

/* Without the platform's dma ops the backend refuses translations, as
 * before: a device model with no GPU behind it. Copies still work. */
static void test_no_dma_ops(void **state)
{
    struct vgt_ioreq_backend *be = be_create(0, false);
    uint64_t dma;

    (void)state;
    assert_int_equal(vgt_hv_gfn_to_dma(be->hv, 1, &dma), -EOPNOTSUPP);
    assert_int_equal(rd(be, 1), 1);
    assert_int_equal(stats(be).capacity, VGT_MAPCACHE_DEFAULT_FRAMES);
    be_destroy(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_pinned_never_evicted),
        cmocka_unit_test(test_copy_pins),
        cmocka_unit_test(test_invalidate),
        cmocka_unit_test(test_bounds_and_holes),
        cmocka_unit_test(test_no_dma_ops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

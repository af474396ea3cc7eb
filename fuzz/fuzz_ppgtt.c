/* Fuzz target: a stream of guest page-table writes against the PPGTT
 * shadow. The guest owns 2 MiB; 32 of its pages are candidate tables and
 * entry values are steered towards them so that cycles, self-references
 * and pages used at several levels come up often. After every sync and at
 * the end the oracle must hold; any host fault or oracle miss aborts.
 *
 * Input: byte 0 = config (bit 0 OOS, bits 2..1 threshold-1, bit 3 2 MiB
 * host backing, bits 5..4 OOS pool 1..4, bit 6 a tight shadow budget and
 * two roots at most (reclaim, -ENOSPC), bit 7 the defaults from a zeroed
 * config and oos_cold 1; the budget is BUDGET_BYTES unless bit 6), then
 * 12-byte records:
 *   op, page, index lo, index hi, value (8 bytes little endian).
 * Op 6 with the top bit of byte 3 pins (and unpins) the raw value as a
 * PML4 address (misaligned, outside RAM); op 7 with page 0xfe revalidates
 * every shadow (the Xen INVALIDATE path), with 0xfd fills a candidate
 * page with entries to 512 distinct pages (many tracked pages), with
 * 0xfc arms failures: the host's page allocation fails byte 2 calls from
 * now, Xen refuses a protection byte 3 calls from now (0: never). They
 * are disarmed before each oracle check: whatever failed, the shadow must
 * still be right and destroy must still give everything back. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test doubles and the oracle are compiled in: fuzz targets link only
 * the component libraries. The oracle is the harness, not code under
 * test: no coverage instrumentation, so its full-tree walks neither cost
 * comparison tracing nor count as new coverage. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#include "../tests/shadow-gtt/oracle.c"
#pragma clang attribute pop
#include "fake_hv.h"
#include "vgt/ppgtt.h"

#define NPAGES 32
#define REC 12
/* Guest RAM (2 MiB) plus 1 MiB of host pages for shadows. A sprayed
 * table builds shadows until the host runs out, and a root whose build
 * failed is thrown away and rebuilt at the next pin: with an 8 MiB arena
 * that was ~1,500 pages per attempt and ~90 ms per input. 1 MiB still
 * holds more than 256 tracked tables (the hash grows). */
#define ARENA_BYTES (3ull << 20)
/* The shadow budget (allocation fails at twice it, 192 KiB: ~22 non-leaf
 * or ~45 leaf shadows): far below the host's 256 pages, so a sprayed
 * table is refused by the budget, a refusal the PPGTT caches until the
 * tables change (fast refusals at later pins), not by the host running
 * out, which it must retry every time (the host's memory is not the
 * vGPU's own); host failures come from the injection (op 7/0xfc). It
 * also bounds what one input builds: at 448 KiB the harness ran ~530
 * inputs per CPU-second from its corpus, at 192 KiB ~700, at 96 KiB
 * ~1,050 (2026-12-07). Every path is still reached (trees four levels
 * deep, 2 MiB splits, reclaim, refusals); what is lost is hundreds of
 * live shadows at once. */
#define BUDGET_BYTES (96ull << 10)
/* Bit 6: the tight budget the regression inputs were found with (24
 * pages, the same size now) and two roots at most. */
#define TIGHT_BUDGET_BYTES (24 * 4096)

struct fz {
    struct sim_arena *a;
    struct fake_hv *f;
    struct fake_hostgpu *g;
    struct vgt_ppgtt *p;
    struct ppgtt_oracle o;
    uint64_t root_dma[2];
    int pinned[2];
};

/* Failure injection around the doubles' ops (harness, not under test). */
static const struct vgt_hostgpu_ops *real_gpu_ops;
static const struct vgt_hv_ops *real_hv_ops;
static struct vgt_hostgpu_ops failing_gpu_ops;
static struct vgt_hv_ops failing_hv_ops;
static unsigned fail_alloc_in, fail_wp_in;

static int failing_alloc_page(struct vgt_hostgpu *g, uint64_t *dma, void **va)
{
    if (fail_alloc_in && --fail_alloc_in == 0)
        return -ENOMEM;
    return real_gpu_ops->alloc_page(g, dma, va);
}

/* Only protecting fails: an unprotect that failed would leave the page
 * protected after destroy, which the harness counts as a leak. */
static int failing_set_wp(struct vgt_hv *hv, uint64_t gfn, uint64_t nr, bool protect)
{
    if (protect && fail_wp_in && --fail_wp_in == 0)
        return -EIO;
    return real_hv_ops->set_wp(hv, gfn, nr, protect);
}

static uint64_t page_gfn(unsigned i)
{
    return 16 + (i % NPAGES) * 3; /* spread out, not adjacent */
}

/* Steer a raw value: keep the flag bits, point the address at one of the
 * candidate pages unless the top bit asks for the raw value. */
static uint64_t steer(uint64_t v)
{
    if (v >> 63)
        return v & ~(1ull << 63);
    return (page_gfn((unsigned)(v >> 12)) << 12) | (v & 0xfff);
}

static void check(struct fz *z, int r)
{
    int ret;

    fail_alloc_in = fail_wp_in = 0;
    if (!z->pinned[r])
        return;
    ret = vgt_ppgtt_sync(z->p, page_gfn(r) << 12);
    /* The host out of pages (a sprayed table needs hundreds of shadow
     * pages, the harness's arena is ARENA_BYTES): the submission is refused,
     * an honest outcome; the shadow is checked at the next sync. */
    if (ret == -ENOMEM)
        return;
    if (ret) {
        fprintf(stderr, "fuzz_ppgtt: sync of root %d: %d\n", r, ret);
        abort();
    }
    z->o.max_frames = 1u << 12; /* the guest can map a lot through cycles */
    if (ppgtt_oracle_check(&z->o, page_gfn(r) << 12, z->root_dma[r]) < 0) {
        fprintf(stderr, "fuzz_ppgtt: oracle: %s\n", z->o.why);
        abort();
    }
}

/* The platform (arena, guest, host GPU) is made once per process for each
 * guest layout and put back to its initial state after every input: guest
 * RAM zeroed, counters cleared. A PPGTT is made per input because its
 * configuration comes from the input; destroying it must hand back every
 * page and every write protection, which is checked. */
struct fz_platform {
    struct sim_arena *a;
    struct fake_hv *f;
    struct fake_hostgpu *g;
    uint64_t frames_free;
};

static struct fz_platform *platform(int layout_2m)
{
    static struct fz_platform plat[2];
    struct fz_platform *p = &plat[layout_2m];

    if (p->a)
        return p;
    /* Harness set-up, not fuzz input: nothing to recover from. */
    if (sim_arena_create(ARENA_BYTES, &p->a) ||
        fake_hv_create(p->a, 1, 2ull << 20, layout_2m ? FAKE_HV_SCRAMBLE_2M : FAKE_HV_SCRAMBLE_4K, 7,
                       &p->f) ||
        fake_hostgpu_create(p->a, 1ull << 20, 1ull << 20, 4, &p->g))
        abort();
    p->frames_free = sim_arena_frames_free(p->a);
    real_gpu_ops = p->g->gpu.ops;
    real_hv_ops = p->f->hv.ops;
    failing_gpu_ops = *real_gpu_ops;
    failing_gpu_ops.alloc_page = failing_alloc_page;
    failing_hv_ops = *real_hv_ops;
    failing_hv_ops.set_wp = failing_set_wp;
    p->g->gpu.ops = &failing_gpu_ops;
    p->f->hv.ops = &failing_hv_ops;
    return p;
}

static void platform_reset(struct fz_platform *p)
{
    struct fake_hv *f = p->f;

    /* Only the candidate pages are ever written (every write's address
     * is page_gfn()'s): zeroing the whole 2 MiB was a tenth of an input. */
    for (unsigned i = 0; i < NPAGES; i++) {
        memset(sim_arena_ptr(p->a, f->p2m[page_gfn(i)], 4096), 0, 4096);
    }
    memset(sim_arena_ptr(p->a, p->g->gpu.scratch_dma, 4096), 0, 4096);
    memset(p->g->ggtt, 0, p->g->nr_ggtt * 8);
    f->wp_traps = f->wp_calls = f->nr_msi = f->dirty_pages = 0;
    f->last_msi_addr = 0;
    f->last_msi_data = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgt_ppgtt_config c;
    struct fz_platform *p;
    struct fz z;

    if (size < 1)
        return 0;
    p = platform(!!(data[0] & 8));
    platform_reset(p);
    fail_alloc_in = fail_wp_in = 0;
    memset(&z, 0, sizeof(z));
    z.a = p->a;
    z.f = p->f;
    z.g = p->g;
    vgt_ppgtt_config_default(&c);
    if (data[0] & 0x80) {
        memset(&c, 0, sizeof(c)); /* create fills in the defaults */
        c.oos_cold = 1;
    }
    c.oos = data[0] & 1;
    c.oos_threshold = 1 + ((data[0] >> 1) & 3);
    c.oos_pool = 1 + ((data[0] >> 4) & 3);
    c.budget_bytes = BUDGET_BYTES;
    if (data[0] & 0x40) {
        c.budget_bytes = TIGHT_BUDGET_BYTES;
        c.max_roots = 2;
    }
    if (vgt_ppgtt_create(&z.f->hv, &z.g->gpu, &c, &z.p))
        return 0;
    z.o.hv = &z.f->hv;
    z.o.arena = z.a;
    z.o.scratch_dma = vgt_ppgtt_scratch_leaf(z.p); /* the vGPU's own read-only page */
    if (vgt_ppgtt_pin(z.p, page_gfn(0) << 12, &z.root_dma[0]) == 0)
        z.pinned[0] = 1;

    for (size_t off = 1; off + REC <= size; off += REC) {
        const uint8_t *r = data + off;
        uint64_t v, gpa = (page_gfn(r[1]) << 12) | (((unsigned)r[2] | (unsigned)r[3] << 8) & 0xff8);

        memcpy(&v, r + 4, 8);
        switch (r[0] % 8) {
        case 0: case 1: case 2: case 3:
            fake_hv_guest_write64(z.f, gpa, steer(v));
            break;
        case 4:
            fake_hv_guest_write32(z.f, gpa + (r[2] & 4), (uint32_t)steer(v));
            break;
        case 5:
            check(&z, r[1] & 1);
            break;
        case 6: {
            int k = r[1] & 1;
            uint64_t root;

            if (r[3] & 0x80) {
                uint64_t raw = v & ~(1ull << 63);

                if (vgt_ppgtt_pin(z.p, raw, &root) == 0 && vgt_ppgtt_unpin(z.p, raw))
                    abort(); /* a pin that worked must unpin */
                break;
            }
            if (z.pinned[k]) {
                vgt_ppgtt_unpin(z.p, page_gfn(k) << 12);
                z.pinned[k] = 0;
            } else if (vgt_ppgtt_pin(z.p, page_gfn(k) << 12, &z.root_dma[k]) == 0) {
                z.pinned[k] = 1;
            }
            break;
        }
        default:
            if (r[1] == 0xff) {
                vgt_ppgtt_reset(z.p);
                z.pinned[0] = z.pinned[1] = 0;
            } else if (r[1] == 0xfe) {
                vgt_ppgtt_revalidate(z.p);
                check(&z, 0);
                check(&z, 1);
            } else if (r[1] == 0xfc) {
                fail_alloc_in = r[2];
                fail_wp_in = r[3];
            } else if (r[1] == 0xfd) {
                for (unsigned i = 0; i < 512; i++)
                    fake_hv_guest_write64(z.f, (page_gfn(r[2]) << 12) + i * 8ull,
                                          ((uint64_t)(i & 511) << 12) | (v & 0xfff) | 1);
            } else if (r[1] & 1) {
                vgt_ppgtt_g2v_create(z.p, page_gfn(r[2]) << 12);
            } else {
                vgt_ppgtt_g2v_destroy(z.p, page_gfn(r[2]) << 12);
            }
            break;
        }
    }
    check(&z, 0);
    check(&z, 1);
    vgt_ppgtt_destroy(z.p);
    /* Every shadow page went back, no page stays write-protected and no
     * handler stays installed: the next input starts from scratch. */
    if (z.g->pages_live || z.f->wp_fn || sim_arena_frames_free(p->a) != p->frames_free)
        abort();
    for (uint64_t gfn = 0; gfn < z.f->nr_backing; gfn++)
        if (z.f->wp[gfn])
            abort();
    return 0;
}

/* Fuzz the command auditor. Input: byte 0 picks the engine (bits 1..0)
 * and the mode (bits 7..2, below), byte 1 the ring length in dwords; the
 * rest is one image of graphics memory that both the ring and every batch
 * buffer come from: GGTT addresses [MEM_GGTT, +image) and PPGTT addresses
 * [MEM_PPGTT, +image) map to it. The vGPU owns the first half of the GGTT
 * window, so both in-range and out-of-range addresses are reachable. The
 * auditor sizes its copies itself; ASan sees any read past them.
 *
 * Modes: bit 2 audits the ring's dwords as a batch buffer already copied
 * (vgt_audit_batch), at a PPGTT address with bit 3; bit 4 sets tight
 * limits (64 dwords, 2 batches); bit 5 makes reads stop at the next 4 KiB
 * page, as a reader that maps page by page does (the auditor extends its
 * copy); bit 6 gives the vGPU a second GGTT range high up. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/cmd_audit.h"

#define MEM_GGTT 0x00100000ull
#define MEM_PPGTT 0x0000700000000000ull

struct img {
    const uint8_t *p;
    size_t n; /* bytes */
    bool by_page;
};

/* The auditor reads graphics memory as it needs it; only the image's
 * bytes exist. */
static int gread(void *ctx, uint64_t gma, bool ppgtt, void *dst, size_t len, size_t *got)
{
    struct img *m = ctx;
    uint64_t base = ppgtt ? MEM_PPGTT : MEM_GGTT;
    size_t off, n;

    *got = 0;
    if (gma < base || gma - base >= m->n)
        return -14;
    off = (size_t)(gma - base);
    n = VGT_MIN(m->n - off, len);
    if (m->by_page)
        n = VGT_MIN(n, 4096 - (size_t)(gma & 4095));
    memcpy(dst, m->p + off, n);
    *got = n;
    return 0;
}

static int pdp(void *ctx, unsigned engine, unsigned idx, bool upper, uint32_t val, uint32_t *host)
{
    (void)ctx;
    if (val & 1)
        return -2;
    *host = val ^ (engine << 4) ^ idx ^ (upper ? 0x80000000u : 0);
    return 0;
}

static const struct vgt_audit_ops ops = {.read = gread, .pdp = pdp};

/* The auditor's lookup tables (147 KiB of keys and register rows) depend
 * on nothing the input gives: built once per process, as a vGPU builds
 * them once. Building them per input (an allocation the sanitizers map,
 * zero and unmap, and the table walk) was two thirds of an input. What the
 * input sets, the ranges and the limits, is set per input below exactly
 * as vgt_audit_init sets them; the walk never writes the auditor. */
static struct vgt_auditor *auditor(void)
{
    static const struct vgt_audit_range any = {MEM_GGTT, 4096};
    static struct vgt_auditor *a;

    if (!a) {
        a = malloc(sizeof(*a));
        if (!a || vgt_audit_init(a, &any, 1, &ops, NULL))
            abort(); /* harness set-up, not input */
    }
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgt_auditor *a = auditor();
    struct vgt_audit_result *r;
    struct img m;
    struct vgt_audit_range rg[2];
    uint32_t *ring;
    size_t nring;
    uint8_t mode;
    int rc;

    if (size < 2)
        return 0;
    mode = data[0];
    m.p = data + 2;
    m.n = size - 2;
    m.by_page = mode & 0x20;
    rg[0].base = MEM_GGTT;
    rg[0].size = m.n / 2 ? (m.n / 2 + 4095) & ~4095ull : 4096;
    rg[1].base = 0xfff00000ull;
    rg[1].size = 0x100000;
    nring = VGT_MIN((size_t)data[1], m.n / 4);
    r = malloc(sizeof(*r));
    ring = malloc(nring ? nring * 4 : 4);
    if (!r || !ring)
        goto out;
    memcpy(ring, m.p, nring * 4);
    memcpy(a->ranges, rg, sizeof(rg));
    a->nr_ranges = (mode & 0x40) ? 2 : 1;
    a->max_batches = VGT_AUDIT_DEFAULT_MAX_BATCHES;
    a->max_dwords = VGT_AUDIT_DEFAULT_MAX_DWORDS;
    if (mode & 0x10) {
        a->max_dwords = 64;
        a->max_batches = 2;
    }
    if (mode & 4) {
        struct vgt_audit_buf b = {.dw = ring, .ndw = nring, .ppgtt = mode & 8,
                                  .gma = (mode & 8) ? MEM_PPGTT : MEM_GGTT};

        rc = vgt_audit_batch(a, &m, mode & 3, &b, r);
        if (rc && rc != -EINVAL && (!r->viol.reason || !r->viol.cmd))
            abort();
    } else {
        rc = vgt_audit_ring(a, &m, mode & 3, ring, nring, MEM_GGTT, r);
        if (rc && (!r->viol.reason || !r->viol.cmd))
            abort(); /* every refusal names its reason */
    }
    if (rc == 0 && r->viol.reason)
        abort();
    vgt_audit_release(r);
out:
    free(ring);
    free(r);
    return 0;
}

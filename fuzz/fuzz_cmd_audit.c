/* Fuzz the command auditor. Input: byte 0 picks the engine, byte 1 the
 * ring length in dwords; the rest is one image of graphics memory that
 * both the ring and every batch buffer come from: GGTT addresses
 * [MEM_GGTT, +image) and PPGTT addresses [MEM_PPGTT, +image) map to it.
 * The vGPU owns the first half of the GGTT window, so both in-range and
 * out-of-range addresses are reachable. The auditor sizes its copies
 * itself; ASan sees any read past them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/cmd_audit.h"

#define MEM_GGTT 0x00100000ull
#define MEM_PPGTT 0x0000700000000000ull

struct img {
    const uint8_t *p;
    size_t n; /* bytes */
};

/* The auditor reads graphics memory as it needs it; only the image's
 * bytes exist. */
static int gread(void *ctx, uint64_t gma, bool ppgtt, void *dst, size_t len, size_t *got)
{
    struct img *m = ctx;
    uint64_t base = ppgtt ? MEM_PPGTT : MEM_GGTT;
    size_t off;

    *got = 0;
    if (gma < base || gma - base >= m->n)
        return -14;
    off = (size_t)(gma - base);
    *got = VGT_MIN(m->n - off, len);
    memcpy(dst, m->p + off, *got);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgt_auditor *a;
    struct vgt_audit_result *r;
    struct img m;
    struct vgt_audit_range rg;
    uint32_t *ring;
    size_t nring;
    int rc;

    if (size < 2)
        return 0;
    m.p = data + 2;
    m.n = size - 2;
    rg.base = MEM_GGTT;
    rg.size = m.n / 2 ? (m.n / 2 + 4095) & ~4095ull : 4096;
    nring = VGT_MIN((size_t)data[1], m.n / 4);
    a = malloc(sizeof(*a));
    r = malloc(sizeof(*r));
    ring = malloc(nring ? nring * 4 : 4);
    if (!a || !r || !ring)
        goto out;
    memcpy(ring, m.p, nring * 4);
    if (vgt_audit_init(a, &rg, 1, &ops, NULL))
        goto out;
    rc = vgt_audit_ring(a, &m, data[0] % VGT_ENGINE_NUM, ring, nring, MEM_GGTT, r);
    if (rc && (!r->viol.reason || !r->viol.cmd))
        abort(); /* every refusal names its reason */
    if (rc == 0 && r->viol.reason)
        abort();
    vgt_audit_release(r);
out:
    free(ring);
    free(r);
    free(a);
    return 0;
}

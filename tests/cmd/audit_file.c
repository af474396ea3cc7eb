/* audit_file ENGINE BASE SIZE FILE: audit FILE (little-endian dwords, a
 * first-level batch at GGTT address BASE) with the mediator's auditor, the
 * vGPU owning [BASE, BASE + SIZE). Prints the result; exit 0 when the batch
 * may run, 1 with the violation otherwise, 2 on bad usage. Used by
 * tests/cmd/i915-corpus.py on i915's null-state batches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/cmd_audit.h"
#include "vgt/hostgpu.h"

/* Nested batches are not part of a single-file corpus: refuse them. */
static int no_read(void *ctx, uint64_t gma, bool ppgtt, void *dst, size_t len, size_t *got)
{
    (void)ctx, (void)gma, (void)ppgtt, (void)dst, (void)len;
    *got = 0;
    return -EFAULT;
}

static int no_pdp(void *opaque, unsigned engine, unsigned pdp, bool upper, uint32_t val, uint32_t *host)
{
    (void)opaque, (void)engine, (void)pdp, (void)upper, (void)val, (void)host;
    return -ENOENT;
}

static const struct vgt_audit_ops ops = {.read = no_read, .pdp = no_pdp};

int main(int argc, char **argv)
{
    static const char *const names[] = {"rcs", "bcs", "vcs", "vecs"};
    static uint32_t dw[1u << 16];
    struct vgt_audit_range range;
    struct vgt_audit_result *r;
    struct vgt_auditor *a;
    struct vgt_audit_buf b = {0};
    unsigned engine = VGT_ENGINE_NUM;
    unsigned char q[4];
    size_t n = 0;
    FILE *f;
    int ret;

    if (argc != 5)
        goto usage;
    for (unsigned i = 0; i < VGT_ENGINE_NUM; i++)
        if (!strcmp(argv[1], names[i]))
            engine = i;
    if (engine == VGT_ENGINE_NUM)
        goto usage;
    range.base = strtoull(argv[2], NULL, 0);
    range.size = strtoull(argv[3], NULL, 0);
    f = fopen(argv[4], "rb");
    if (!f) {
        fprintf(stderr, "audit_file: %s: %s\n", argv[4], strerror(errno));
        return 2;
    }
    while (n < sizeof(dw) / 4 && fread(q, 1, 4, f) == 4)
        dw[n++] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    fclose(f);
    a = calloc(1, sizeof(*a));
    r = calloc(1, sizeof(*r));
    if (!a || !r || vgt_audit_init(a, &range, 1, &ops, NULL)) {
        fprintf(stderr, "audit_file: cannot set up the auditor\n");
        free(a);
        free(r);
        return 2;
    }
    b.dw = dw;
    b.ndw = n;
    b.gma = range.base;
    ret = vgt_audit_batch(a, NULL, engine, &b, r);
    if (ret)
        printf("audit: %s: REFUSED (%d) at byte %u, %s (0x%08x): %s\n", argv[4], ret, r->viol.offset,
               r->viol.cmd ? r->viol.cmd : "?", r->viol.header, r->viol.reason ? r->viol.reason : "?");
    else
        printf("audit: %s: ok, %zu dwords scanned, %u depth buffers made SURFTYPE_NULL\n", argv[4],
               r->dwords, r->depth_nulled);
    vgt_audit_release(r);
    free(a);
    free(r);
    return ret ? 1 : 0;
usage:
    fprintf(stderr, "usage: audit_file rcs|bcs|vcs|vecs BASE SIZE FILE\n");
    return 2;
}

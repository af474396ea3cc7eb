/* libFuzzer target: a host device tree through `vgt assign dt`: blob
 * checks, node analysis (ranges, interrupts, IOMMU, dependencies,
 * sharing), guest tree build and the DTS/xl/JSON writers. The first
 * input byte picks the options; the nodes are the first few with reg or
 * interrupts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "vgt/dt_assign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once per process (libFuzzer persistent mode) and reused: the
 * result is cleared by vgt_dt_analyse, the sink is /dev/null. */
struct fuzz_dt_ctx {
    struct vgt_dt_result *res;
    FILE *null;
};
static struct fuzz_dt_ctx fuzz_ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_ctx.res = calloc(1, sizeof(*fuzz_ctx.res));
    fuzz_ctx.null = fopen("/dev/null", "w");
    if (!fuzz_ctx.res || !fuzz_ctx.null) {
        fprintf(stderr, "fuzz_dt: set-up failed\n");
        return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char paths[4][VGT_DT_PATH_LEN];
    const char *nodes[4];
    struct vgt_dt_opts o = {0};
    struct vgt_dt_result *r = fuzz_ctx.res;
    void *blob = NULL, *g = NULL;
    size_t glen;
    char err[256];
    FILE *null = fuzz_ctx.null;
    unsigned n = 0;
    int off, depth = 0;

    if (size < 2)
        return 0;
    o.allow_shared = data[0] & 1;
    o.allow_unaligned = data[0] & 2;
    o.force_no_iommu = data[0] & 4;
    if (data[0] & 8) {
        o.have_guest_base = true;
        o.guest_base = (uint64_t)(data[0] & 0xf0) << 24;
    }
    if (!r || !null)
        return 0;
    blob = malloc(size - 1);
    if (!blob)
        goto out;
    memcpy(blob, data + 1, size - 1);
    if (vgt_dt_check_blob(blob, size - 1, err, sizeof(err)))
        goto out;
    for (off = fdt_next_node(blob, -1, &depth); off >= 0 && n < 4; off = fdt_next_node(blob, off, &depth)) {
        if (!vgt_dt_getprop(blob, off, "reg", NULL) && !vgt_dt_getprop(blob, off, "interrupts", NULL) &&
            !vgt_dt_getprop(blob, off, "interrupts-extended", NULL))
            continue;
        if (fdt_get_path(blob, off, paths[n], sizeof(paths[n])) < 0)
            continue;
        nodes[n] = paths[n];
        n++;
    }
    o.nodes = nodes;
    o.nnodes = n;
    vgt_dt_analyse(NULL, blob, &o, r);
    vgt_dt_print_text(null, r);
    vgt_dt_print_json(null, r);
    if (r->nerrors == 0 && vgt_dt_build_guest(blob, r, &o, data[0] & 0x10, &g, &glen) == 0) {
        vgt_dt_write_xl(null, r, "guest.dtb");
        vgt_dt_write_dts(null, g, r);
    }
out:
    free(g);
    free(blob);
    return 0;
}

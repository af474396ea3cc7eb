/* libFuzzer target: a host device tree through `vgt assign dt`: blob
 * checks, node analysis (ranges, interrupts, IOMMU, dependencies,
 * sharing), interrupt resolution through interrupt-map nexus chains,
 * fixed-clock copying, guest tree build and the DTS/xl/JSON writers.
 * The first input byte picks the options; then the tree, read through
 * vgt_dt_load from a memfd as `--dtb FILE` is; bytes after it pick which
 * nodes (with reg, interrupts or clocks) are selected, then (when
 * present) the rest of what a user types: a --node that is no device
 * (empty, the root, missing, an alias, a repeat), too many --node, and
 * any --guest-base. Inputs that end after the node bytes mean what they
 * meant before those options existed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include <libfdt.h>

#include "vgt/dt_assign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Built once per process (libFuzzer persistent mode) and reused: the
 * result is cleared by vgt_dt_analyse, the sink is /dev/null. */
struct fuzz_dt_ctx {
    struct vgt_dt_result *res;
    FILE *null;
    int fd;            /* memfd: the --dtb file */
    char path[64];
};
static struct fuzz_dt_ctx fuzz_ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_ctx.res = calloc(1, sizeof(*fuzz_ctx.res));
    fuzz_ctx.null = fopen("/dev/null", "w");
    fuzz_ctx.fd = memfd_create("vgt-fuzz-dtb", 0);
    snprintf(fuzz_ctx.path, sizeof(fuzz_ctx.path), "/proc/self/fd/%d", fuzz_ctx.fd);
    if (!fuzz_ctx.res || !fuzz_ctx.null || fuzz_ctx.fd < 0) {
        fprintf(stderr, "fuzz_dt: set-up failed\n");
        return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const odd[8] = {NULL, "", "/", "/no-such-node", "serial0", "ethernet0",
                                       "no-such-alias", NULL /* the first node again */};
    char paths[4][VGT_DT_PATH_LEN];
    const char *nodes[VGT_DT_MAX_NODES + 1];
    struct vgt_dt_opts o = {0};
    struct vgt_dt_result *r = fuzz_ctx.res;
    void *blob = NULL, *g = NULL;
    size_t glen, blen;
    char err[256] = "";
    FILE *null = fuzz_ctx.null;
    unsigned n = 0, seen = 0, skip, stride;
    size_t tail;
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
    if (ftruncate(fuzz_ctx.fd, 0) || pwrite(fuzz_ctx.fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
        abort(); /* the harness's own file */
    if (vgt_dt_load(fuzz_ctx.path, &blob, &blen, err, sizeof(err))) {
        if (!err[0])
            abort(); /* every refusal says why */
        goto out;
    }
    if (blen != size - 1 || fdt_totalsize(blob) > blen)
        abort(); /* the checks passed a tree larger than its file */
    /* Bytes after the tree (its header's totalsize) pick the nodes: the
     * first skips that many candidates, the second sets the stride, so
     * the corpus can aim at devices deep behind a nexus. */
    tail = size - 1 - fdt_totalsize(blob);
    skip = tail > 0 ? data[1 + fdt_totalsize(blob)] : 0;
    stride = tail > 1 ? 1 + data[2 + fdt_totalsize(blob)] % 4 : 1;
    for (off = fdt_next_node(blob, -1, &depth); off >= 0 && n < 4; off = fdt_next_node(blob, off, &depth)) {
        if (!vgt_dt_getprop(blob, off, "reg", NULL) && !vgt_dt_getprop(blob, off, "interrupts", NULL) &&
            !vgt_dt_getprop(blob, off, "interrupts-extended", NULL) && !vgt_dt_getprop(blob, off, "clocks", NULL))
            continue;
        if (seen++ < skip || (seen - 1 - skip) % stride)
            continue;
        if (fdt_get_path(blob, off, paths[n], sizeof(paths[n])) < 0)
            continue;
        nodes[n] = paths[n];
        n++;
    }
    /* tail[2]: bits 2..0 add one odd --node, bit 3 selects one more
     * node than allowed, bit 4 takes --guest-base from the next 8 bytes
     * (any value, as typed). */
    if (tail > 2) {
        const uint8_t *t = data + 1 + fdt_totalsize(blob);
        unsigned k = t[2] & 7;

        if (k == 7 && n)
            nodes[n++] = nodes[0];
        else if (odd[k])
            nodes[n++] = odd[k];
        if (t[2] & 8)
            while (n <= VGT_DT_MAX_NODES)
                nodes[n++] = "/no-such-node";
        if ((t[2] & 0x10) && tail >= 11) {
            o.have_guest_base = true;
            memcpy(&o.guest_base, t + 3, 8);
        }
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

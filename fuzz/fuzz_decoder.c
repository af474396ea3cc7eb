/* Fuzz the command decoder: the first byte picks the engine (bits 1..0)
 * and the mode (bits 7..2), the rest is a stream of little-endian dwords
 * walked to its end, with every address and address-space selector read
 * back for each decoded command.
 *
 * Modes: bit 2 finds the table by engine name as `vgt decode --engine`
 * does (name and generation from the input); bit 3 walks without a
 * visitor and without count/offset; bit 4 lets the visitor stop the walk
 * after a few commands; bit 5 builds a table from the input's first
 * dwords (mask, value, length field) that init must validate: a table
 * init accepts must decode without reading outside the stream.
 * Invariants: no crash, no read past the stream (exact-size buffer and
 * ASan), the walk's offset within the stream, every result has an error
 * string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/cmd_decoder.h"

#define MAX_FUZZ_CMDS 8

struct fuzz_ctx {
    const struct vgt_cmd_table *t;
    uint64_t sink;
    unsigned stop_after; /* 0: never */
    unsigned seen;
};

static int visit(void *opaque, size_t off, const struct vgt_cmd_desc *c, const uint32_t *p,
                 uint32_t len)
{
    struct fuzz_ctx *f = opaque;

    (void)off;
    for (unsigned i = 0; i < c->addr_count; i++) {
        uint64_t ga;

        if (!vgt_cmd_addr_get(&f->t->addrs[c->addr_first + i], p, len, &ga))
            f->sink += ga;
    }
    f->sink += (uint64_t)vgt_cmd_uses_ggtt(c, p, len);
    return f->stop_after && ++f->seen >= f->stop_after ? 1 : 0;
}

/* A table from the input: n commands of (mask, value, len_bits|bias). */
static const struct vgt_cmd_table *input_table(struct vgt_cmd_table *t,
                                               struct vgt_cmd_desc *cmds,
                                               const uint32_t *w, size_t nw, size_t *used)
{
    size_t n = (nw - 1) / 3 < MAX_FUZZ_CMDS ? (nw - 1) / 3 : MAX_FUZZ_CMDS; /* nw >= 1 */

    n = n < (w[0] & 7) ? n : (w[0] & 7);
    memset(cmds, 0, MAX_FUZZ_CMDS * sizeof(*cmds));
    for (size_t i = 0; i < n; i++) {
        cmds[i].name = "FUZZ";
        cmds[i].mask = w[1 + 3 * i];
        cmds[i].value = w[2 + 3 * i];
        cmds[i].len_bits = (uint8_t)(w[3 + 3 * i] & 15);
        cmds[i].bias = (uint8_t)((w[3 + 3 * i] >> 8) & 7);
        cmds[i].id = (uint8_t)((w[3 + 3 * i] >> 16) % VGT_CMD_ID_NUM);
    }
    *t = (struct vgt_cmd_table){.engine_name = "fuzz", .engine = VGT_ENGINE_RCS, .cmds = cmds,
                                .count = n, .addrs = NULL};
    *used = 1 + 3 * n;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned engines[] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS,
                                       VGT_ENGINE_NUM};
    static const char *const names[] = {"rcs", "bcs", "vcs", "vecs"};
    struct vgt_cmd_desc cmds[MAX_FUZZ_CMDS];
    struct vgt_cmd_table own;
    struct vgt_cmd_decoder *d;
    struct fuzz_ctx f = {0};
    uint32_t *buf;
    size_t n, count = 0, off = 0, skip = 0;
    uint8_t mode;
    int ret;

    if (size < 1)
        return 0;
    mode = data[0];
    n = (size - 1) / 4;
    if (mode & 4)
        f.t = vgt_cmd_table_find((mode & 0x40) ? 8 : 9, names[mode & 3]);
    else
        f.t = vgt_cmd_table_for_engine(engines[mode & 3]);
    d = malloc(sizeof(*d));
    buf = malloc(n ? n * 4 : 4); /* exact size: ASan sees any overread */
    if (!d || !buf)
        goto out;
    memcpy(buf, data + 1, n * 4);
    if ((mode & 0x20) && n) {
        f.t = input_table(&own, cmds, buf, n, &skip);
        if (vgt_cmd_decoder_init(d, f.t) == 0) {
            /* Only fixed-length walks: the table has no addresses. */
            (void)vgt_cmd_walk(d, buf + skip, n - skip, NULL, NULL, &count, &off);
            if (off > n - skip)
                abort();
        }
        goto out;
    }
    if (vgt_cmd_decoder_init(d, f.t))
        goto out; /* no table for that engine or generation */
    f.stop_after = (mode & 0x10) ? 1 + (mode >> 6) : 0;
    if (mode & 8)
        ret = vgt_cmd_walk(d, buf, n, NULL, NULL, NULL, NULL);
    else
        ret = vgt_cmd_walk(d, buf, n, visit, &f, &count, &off);
    if (off > n)
        abort(); /* the walk must never report an offset past the stream */
    if (!vgt_cmd_strerror(ret) || !vgt_cmd_strerror(-ret))
        abort();
out:
    free(buf);
    free(d);
    return 0;
}

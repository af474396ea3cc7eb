/* Fuzz the command decoder: the first byte picks the engine, the rest is a
 * stream of little-endian dwords walked to its end, with every address and
 * address-space selector read back for each decoded command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/cmd_decoder.h"

struct fuzz_ctx {
    const struct vgt_cmd_table *t;
    uint64_t sink;
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
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned engines[] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS};
    struct vgt_cmd_decoder *d;
    struct fuzz_ctx f = {0};
    uint32_t *buf;
    size_t n, count, off;

    if (size < 1)
        return 0;
    f.t = vgt_cmd_table_for_engine(engines[data[0] % 3]);
    n = (size - 1) / 4;
    d = malloc(sizeof(*d));
    buf = malloc(n ? n * 4 : 4); /* exact size: ASan sees any overread */
    if (d && buf && vgt_cmd_decoder_init(d, f.t) == 0) {
        memcpy(buf, data + 1, n * 4);
        (void)vgt_cmd_walk(d, buf, n, visit, &f, &count, &off);
        if (off > n)
            abort(); /* the walk must never report an offset past the stream */
    }
    free(buf);
    free(d);
    return 0;
}

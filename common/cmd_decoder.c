/* The command decoder's lookup index and table registry. The tables
 * themselves are const data in cmd_gen9.c (generated from genxml). */
#include "vgt/cmd_decoder.h"

#include <errno.h>
#include <string.h>

static uint16_t *index_of(struct vgt_cmd_decoder *d, unsigned type, size_t *n, unsigned *shift)
{
    switch (type) {
    case 0: *n = VGT_ARRAY_SIZE(d->mi); *shift = 23; return d->mi;
    case 2: *n = VGT_ARRAY_SIZE(d->blt); *shift = 22; return d->blt;
    case 3: *n = VGT_ARRAY_SIZE(d->gfx); *shift = 16; return d->gfx;
    default: return NULL;
    }
}

int vgt_cmd_decoder_init(struct vgt_cmd_decoder *d, const struct vgt_cmd_table *t)
{
    memset(d, 0, sizeof(*d));
    if (!t || t->count >= VGT_CMD_IDX_AMBIG)
        return -EINVAL;
    d->t = t;
    for (size_t i = 0; i < t->count; i++) {
        const struct vgt_cmd_desc *c = &t->cmds[i];
        unsigned type = c->value >> 29, shift;
        size_t n;
        uint16_t *idx;
        uint32_t kmask, kval, free_bits;

        if ((c->mask >> 29) != 7 || (c->value & ~c->mask))
            return -EINVAL; /* the type must be part of every match */
        /* A length of 0 would stall every walk, fixed or from a length
         * field of 0, so the bias is at least 1; a length field is inside
         * dword 0 (found by fuzz_decoder with tables of its own). */
        if (!c->bias || c->len_bits > 29)
            return -EINVAL;
        idx = index_of(d, type, &n, &shift);
        if (!idx)
            return -EINVAL;
        /* Fill every slot whose key bits agree with the match; bits the
         * match ignores inside the key are don't-care. */
        kmask = (c->mask >> shift) & (uint32_t)(n - 1);
        kval = (c->value >> shift) & (uint32_t)(n - 1);
        free_bits = (uint32_t)(n - 1) & ~kmask;
        for (uint32_t s = free_bits;; s = (s - 1) & free_bits) { /* every subset */
            uint16_t *slot = &idx[kval | s];

            *slot = *slot ? VGT_CMD_IDX_AMBIG : (uint16_t)(i + 1);
            if (!s)
                break;
        }
    }
    return 0;
}

const struct vgt_cmd_desc *vgt_cmd_lookup_scan(const struct vgt_cmd_decoder *d, uint32_t dw0)
{
    for (size_t i = 0; i < d->t->count; i++) {
        const struct vgt_cmd_desc *c = &d->t->cmds[i];

        if ((dw0 & c->mask) == c->value)
            return c;
    }
    return NULL;
}

const struct vgt_cmd_table *vgt_cmd_table_for_engine(unsigned engine)
{
    switch (engine) {
    case VGT_ENGINE_RCS: return &vgt_cmd_gen9_rcs;
    case VGT_ENGINE_BCS: return &vgt_cmd_gen9_bcs;
    case VGT_ENGINE_VCS: return &vgt_cmd_gen9_vcs;
    case VGT_ENGINE_VECS: return &vgt_cmd_gen9_vecs;
    default: return NULL;
    }
}

const struct vgt_cmd_table *vgt_cmd_table_find(unsigned gen, const char *engine)
{
    static const struct vgt_cmd_table *const all[] = {
        &vgt_cmd_gen9_rcs, &vgt_cmd_gen9_bcs, &vgt_cmd_gen9_vcs, &vgt_cmd_gen9_vecs,
    };

    if (gen != 9 || !engine)
        return NULL;
    for (size_t i = 0; i < VGT_ARRAY_SIZE(all); i++)
        if (!strcmp(all[i]->engine_name, engine))
            return all[i];
    return NULL;
}

const char *vgt_cmd_strerror(int err)
{
    switch (err < 0 ? -err : err) {
    case VGT_CMD_E_UNKNOWN: return "unknown opcode";
    case VGT_CMD_E_TRUNCATED: return "command length past the end";
    case VGT_CMD_E_EMPTY: return "no command (end of buffer)";
    case VGT_CMD_E_NO_END: return "missing MI_BATCH_BUFFER_END";
    default: return "unknown error";
    }
}

int vgt_cmd_walk(const struct vgt_cmd_decoder *d, const uint32_t *buf, size_t n,
                 vgt_cmd_walk_fn fn, void *opaque, size_t *count, size_t *off)
{
    size_t i = 0, cnt = 0;
    int ret = -VGT_CMD_E_NO_END;

    while (i < n) {
        const struct vgt_cmd_desc *c;
        int len = vgt_cmd_decode_one(d, buf + i, n - i, &c);

        if (len < 0) {
            ret = len;
            break;
        }
        cnt++;
        if (fn) {
            int r = fn(opaque, i, c, buf + i, (uint32_t)len);
            if (r) {
                ret = r;
                break;
            }
        }
        if (c->id == VGT_CMD_ID_BB_END) {
            ret = 0;
            break;
        }
        i += (size_t)len;
    }
    if (count)
        *count = cnt;
    if (off)
        *off = i;
    return ret;
}

/* vgt decode --gen 9 --engine rcs|bcs|vcs|vecs [--json] FILE
 *
 * Decodes a file of little-endian dwords with the shared command decoder
 * (common/include/vgt/cmd_decoder.h): one line per command up to the
 * top-level MI_BATCH_BUFFER_END, then a summary line. Exits 1 naming the
 * offset and the reason on an unknown opcode, a length past the end of the
 * file or a missing end; 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/cmd_decoder.h"
#include "vgt_cmds.h"

/* Largest file accepted: 64 MiB of commands is far beyond any ring or
 * batch buffer, and bounds what a bad argument can make us allocate. */
#define DECODE_MAX_BYTES (64u << 20)

struct decode_out {
    const struct vgt_cmd_table *t;
    int json;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vgt decode --gen 9 --engine rcs|bcs|vcs|vecs [--json] FILE\n");
}

static int read_file(const char *path, uint32_t **buf, size_t *ndw)
{
    FILE *f = fopen(path, "rb");
    unsigned char *bytes = NULL;
    size_t cap = 0, len = 0;
    int ret = 0;

    if (!f) {
        fprintf(stderr, "vgt decode: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    for (;;) {
        size_t got;

        if (len == cap) {
            unsigned char *nb;

            if (cap >= DECODE_MAX_BYTES) {
                fprintf(stderr, "vgt decode: %s: larger than %u bytes\n", path, DECODE_MAX_BYTES);
                ret = -EFBIG;
                goto free_bytes;
            }
            cap = cap ? cap * 2 : 4096;
            nb = realloc(bytes, cap);
            if (!nb) {
                ret = -ENOMEM;
                goto free_bytes;
            }
            bytes = nb;
        }
        got = fread(bytes + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "vgt decode: %s: read error\n", path);
        ret = -EIO;
        goto free_bytes;
    }
    if (len % 4)
        fprintf(stderr, "vgt decode: %s: %zu trailing bytes ignored (not a whole dword)\n",
                path, len % 4);
    *ndw = len / 4;
    *buf = calloc(*ndw ? *ndw : 1, sizeof(uint32_t));
    if (!*buf) {
        ret = -ENOMEM;
        goto free_bytes;
    }
    /* Little-endian on disk, whatever the host. */
    for (size_t i = 0; i < *ndw; i++)
        (*buf)[i] = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                    (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
free_bytes:
    free(bytes);
    fclose(f);
    return ret;
}

static const char *space_of(const struct vgt_cmd_desc *c, const uint32_t *p, uint32_t len)
{
    int g = vgt_cmd_uses_ggtt(c, p, len);

    return g < 0 ? "?" : g ? "ggtt" : "ppgtt";
}

static const char *access_of(uint8_t flags)
{
    return (flags & VGT_CMD_ADDR_R) && (flags & VGT_CMD_ADDR_W) ? "rw"
           : (flags & VGT_CMD_ADDR_W)                          ? "w"
                                                               : "r";
}

static int print_cmd(void *opaque, size_t off, const struct vgt_cmd_desc *c, const uint32_t *p,
                     uint32_t len)
{
    const struct decode_out *o = opaque;
    int first = 1;

    if (o->json)
        printf("{\"offset\":%zu,\"name\":\"%s\",\"len\":%u,\"addrs\":[", off, c->name, len);
    else
        printf("%6zu  %-40s len %-4u", off, c->name, len);
    for (unsigned i = 0; i < c->addr_count; i++) {
        const struct vgt_cmd_addr *a = &o->t->addrs[c->addr_first + i];
        uint64_t ga;

        if (vgt_cmd_addr_get(a, p, len, &ga))
            continue; /* command shorter than its nominal form: no address */
        if (o->json)
            printf("%s{\"dw\":%u,\"addr\":\"0x%llx\",\"access\":\"%s\",\"space\":\"%s\"}",
                   first ? "" : ",", a->dw, (unsigned long long)ga, access_of(a->flags),
                   space_of(c, p, len));
        else
            printf(" dw%u=0x%llx(%s,%s)", a->dw, (unsigned long long)ga, access_of(a->flags),
                   space_of(c, p, len));
        first = 0;
    }
    printf(o->json ? "]}\n" : "\n");
    return 0;
}

int vgt_cmd_decode(int argc, char **argv)
{
    const char *gen = NULL, *engine = NULL, *path = NULL;
    struct vgt_cmd_decoder *d;
    struct decode_out o = {0};
    uint32_t *buf = NULL;
    size_t ndw = 0, count = 0, off = 0;
    uint64_t genv;
    int ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--gen") && i + 1 < argc) {
            gen = argv[++i];
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            engine = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            o.json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vgt decode: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "vgt decode: more than one FILE ('%s')\n", argv[i]);
            return 2;
        }
    }
    if (!gen || !engine || !path) {
        usage(stderr);
        return 2;
    }
    if (vgt_parse_u64(gen, &genv) || genv != 9) {
        fprintf(stderr, "vgt decode: --gen '%s' not supported (only 9)\n", gen);
        return 2;
    }
    o.t = vgt_cmd_table_find((unsigned)genv, engine);
    if (!o.t) {
        fprintf(stderr, "vgt decode: --engine '%s' unknown (rcs, bcs or vcs)\n", engine);
        return 2;
    }
    d = malloc(sizeof(*d));
    if (!d)
        return 1;
    if (vgt_cmd_decoder_init(d, o.t)) {
        fprintf(stderr, "vgt decode: internal: bad %s table\n", engine);
        ret = 1;
        goto free_decoder;
    }
    if (read_file(path, &buf, &ndw)) {
        ret = 1;
        goto free_decoder;
    }
    ret = vgt_cmd_walk(d, buf, ndw, print_cmd, &o, &count, &off);
    if (ret == 0) {
        if (o.json)
            printf("{\"summary\":{\"commands\":%zu,\"end\":%zu}}\n", count, off);
        else
            printf("decoded %zu commands, MI_BATCH_BUFFER_END at dword %zu\n", count, off);
    } else {
        const char *why = vgt_cmd_strerror(ret);

        if (o.json)
            printf("{\"error\":{\"offset\":%zu,\"reason\":\"%s\",\"dword\":\"0x%08x\","
                   "\"commands\":%zu}}\n",
                   off, why, off < ndw ? buf[off] : 0, count);
        fprintf(stderr, "vgt decode: %s: dword %zu: %s", path, off, why);
        if (off < ndw)
            fprintf(stderr, " (0x%08x)", buf[off]);
        fprintf(stderr, " after %zu commands\n", count);
        ret = 1;
    }
    free(buf);
free_decoder:
    free(d);
    return ret;
}

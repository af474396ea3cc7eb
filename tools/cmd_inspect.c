/* vgt inspect: create a vGPU on a fresh simulated platform and make
 * guest-side accesses to it through the full ioreq path, printing each
 * result. Accesses run in the order given.
 *
 *   vgt inspect [--type V5_4] [--read-mmio OFF[:SIZE]]... [--write-mmio OFF:SIZE=VAL]...
 *               [--read-cfg OFF[:SIZE]]... [--write-cfg OFF:SIZE=VAL]... [--json] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/sim_hv.h"
#include "vgt/util.h"
#include "vgt/vgpu.h"
#include "vgt_cmds.h"

#include "vgpu_host.h"

#define INSPECT_DOMID 1
#define INSPECT_BAR0 0xF1000000ull
#define INSPECT_BAR2 (1ull << 36)

enum op_kind { OP_READ_MMIO, OP_WRITE_MMIO, OP_READ_CFG, OP_WRITE_CFG };

static const char *const op_names[] = {"read-mmio", "write-mmio", "read-cfg", "write-cfg"};

struct op {
    enum op_kind kind;
    uint64_t off, val;
    unsigned size;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vgt inspect [--type V5_1|V5_2|V5_4|V5_8] [--json]\n"
                 "                   [--read-mmio OFF[:SIZE]]... [--write-mmio OFF:SIZE=VAL]...\n"
                 "                   [--read-cfg OFF[:SIZE]]... [--write-cfg OFF:SIZE=VAL]...\n"
                 "Creates a vGPU on a fresh simulated platform and accesses it from the guest\n"
                 "through the ioreq path, in the order given. OFF is a BAR0 offset (mmio) or a\n"
                 "config-space offset (cfg); SIZE is 1, 2, 4 or 8 (cfg: 1, 2, 4; default 4).\n");
}

/* OFF[:SIZE][=VAL] */
static int parse_op(enum op_kind k, const char *arg, struct op *op)
{
    char buf[128], *colon, *eq;
    uint64_t size = 4;
    bool write = k == OP_WRITE_MMIO || k == OP_WRITE_CFG;

    if (strlen(arg) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, arg);
    eq = strchr(buf, '=');
    if (eq)
        *eq++ = 0;
    if (write != (eq != NULL))
        return -EINVAL;
    colon = strchr(buf, ':');
    if (colon) {
        *colon++ = 0;
        if (vgt_parse_u64(colon, &size))
            return -EINVAL;
    } else if (write) {
        return -EINVAL; /* writes name their size */
    }
    if (vgt_parse_u64(buf, &op->off) || (eq && vgt_parse_u64(eq, &op->val)))
        return -EINVAL;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return -EINVAL;
    if ((k == OP_READ_CFG || k == OP_WRITE_CFG) && (size == 8 || op->off >= 4096))
        return -EINVAL;
    if (k == OP_READ_MMIO || k == OP_WRITE_MMIO) {
        if (op->off >= (16ull << 20) || (op->off & (size - 1)))
            return -EINVAL;
    }
    if (size < 8 && op->val >> (8 * size))
        return -ERANGE;
    op->kind = k;
    op->size = (unsigned)size;
    return 0;
}

/* Place the BARs and turn memory decoding on, as firmware would. */
static int place_bars(struct sim_guest *g)
{
    uint32_t cmd = 0;
    int ret;

    if ((ret = sim_guest_pci_write(g, 0, 0, 2, 0, 0x10, 4, (uint32_t)INSPECT_BAR0)) ||
        (ret = sim_guest_pci_write(g, 0, 0, 2, 0, 0x14, 4, (uint32_t)(INSPECT_BAR0 >> 32))) ||
        (ret = sim_guest_pci_write(g, 0, 0, 2, 0, 0x18, 4, (uint32_t)INSPECT_BAR2)) ||
        (ret = sim_guest_pci_write(g, 0, 0, 2, 0, 0x1C, 4, (uint32_t)(INSPECT_BAR2 >> 32))) ||
        (ret = sim_guest_pci_read(g, 0, 0, 2, 0, 0x04, 2, &cmd)) ||
        (ret = sim_guest_pci_write(g, 0, 0, 2, 0, 0x04, 2, cmd | 0x6)))
        return ret;
    return 0;
}

static int run_op(struct sim_guest *g, const struct op *op, uint64_t *val)
{
    uint32_t v32 = 0;
    int ret;

    switch (op->kind) {
    case OP_READ_MMIO:
        return sim_guest_mmio_read(g, 0, INSPECT_BAR0 + op->off, op->size, val);
    case OP_WRITE_MMIO:
        *val = op->val;
        return sim_guest_mmio_write(g, 0, INSPECT_BAR0 + op->off, op->size, op->val);
    case OP_READ_CFG:
        if (op->off >= 256) { /* no extended space on i440FX */
            *val = op->size == 4 ? 0xffffffffu : (1u << (8 * op->size)) - 1;
            return 0;
        }
        ret = sim_guest_pci_read(g, 0, 0, 2, 0, (unsigned)op->off, op->size, &v32);
        *val = v32;
        return ret;
    case OP_WRITE_CFG:
        *val = op->val;
        if (op->off >= 256)
            return 0;
        return sim_guest_pci_write(g, 0, 0, 2, 0, (unsigned)op->off, op->size, (uint32_t)op->val);
    }
    return -EINVAL;
}

int vgt_cmd_inspect(int argc, char **argv)
{
    struct vgpu_host_cfg hc = {.sim = true};
    struct vgpu_add_req req = {.domid = INSPECT_DOMID, .type = "V5_4"};
    struct vgt_vgpu_info info;
    struct vgpu_host *h = NULL;
    struct vgt_log log;
    struct sim_guest *g;
    struct op *ops;
    unsigned nops = 0;
    bool json = false;
    char err[256];
    int ret, rc = 1;

    vgt_log_init(&log, "inspect", VGT_LOG_ERR);
    ops = calloc((size_t)argc + 1, sizeof(*ops));
    if (!ops)
        return 1;
    for (int i = 1; i < argc; i++) {
        static const char *const opts[] = {"--read-mmio", "--write-mmio", "--read-cfg", "--write-cfg"};
        bool matched = false;

        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            free(ops);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(argv[i], "--type") && i + 1 < argc) {
            req.type = argv[++i];
            if (!vgt_vgpu_type_find(req.type)) {
                fprintf(stderr, "vgt inspect: unknown vGPU type '%s' (V5_1, V5_2, V5_4, V5_8)\n", req.type);
                free(ops);
                return 2;
            }
            continue;
        }
        for (unsigned k = 0; k < 4 && !matched; k++) {
            if (strcmp(argv[i], opts[k]))
                continue;
            matched = true;
            if (i + 1 >= argc || (ret = parse_op((enum op_kind)k, argv[i + 1], &ops[nops]))) {
                fprintf(stderr, "vgt inspect: %s: '%s' is not %s\n", opts[k], i + 1 < argc ? argv[i + 1] : "",
                        k & 1 ? "OFF:SIZE=VAL (size 1/2/4/8, aligned, value fits)" : "OFF[:SIZE] (size 1/2/4/8, aligned)");
                free(ops);
                return 2;
            }
            nops++;
            i++;
        }
        if (!matched) {
            fprintf(stderr, "vgt inspect: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            free(ops);
            return 2;
        }
    }

    hc.log = &log;
    hc.sim_arena_bytes = 1ull << 30;
    ret = vgpu_host_create(&hc, &h);
    if (ret) {
        fprintf(stderr, "vgt inspect: simulated platform: %s\n", strerror(-ret));
        goto free_ops;
    }
    ret = vgpu_host_add(h, &req, err, sizeof(err));
    if (ret) {
        fprintf(stderr, "vgt inspect: %s\n", err);
        goto destroy_host;
    }
    g = vgpu_host_sim_guest(h, INSPECT_DOMID);
    ret = place_bars(g);
    if (ret) {
        fprintf(stderr, "vgt inspect: placing the BARs: %s\n", strerror(-ret));
        goto destroy_host;
    }
    vgt_vgpu_get_info(vgpu_host_vgpu(h, INSPECT_DOMID), &info);
    if (json)
        printf("{\"vgpu\":%u,\"type\":\"%s\",\"domid\":%u,\"bdf\":\"00:02.0\",\"bar0\":\"%#" PRIx64
               "\",\"bar2\":\"%#" PRIx64 "\",\"low_gm\":[\"%#" PRIx64 "\",\"%#" PRIx64
               "\"],\"high_gm\":[\"%#" PRIx64 "\",\"%#" PRIx64 "\"],\"fences\":[%u,%u]}\n",
               info.id, info.type, info.domid, info.bar0, info.bar2, info.low_base, info.low_size,
               info.high_base, info.high_size, info.fence_base, info.fence_num);
    else
        printf("vGPU %u (%s) of simulated dom%u at 00:02.0: BAR0 %#" PRIx64 ", BAR2 %#" PRIx64
               ", low GM [%#" PRIx64 ", +%#" PRIx64 "), high GM [%#" PRIx64 ", +%#" PRIx64
               "), fences %u..%u\n",
               info.id, info.type, info.domid, info.bar0, info.bar2, info.low_base, info.low_size,
               info.high_base, info.high_size, info.fence_base, info.fence_base + info.fence_num - 1);
    rc = 0;
    for (unsigned i = 0; i < nops; i++) {
        uint64_t val = 0;

        ret = run_op(g, &ops[i], &val);
        if (json)
            printf("{\"op\":\"%s\",\"offset\":\"%#" PRIx64 "\",\"size\":%u,\"value\":\"%#0*" PRIx64
                   "\",\"ok\":%s}\n",
                   op_names[ops[i].kind], ops[i].off, ops[i].size, (int)ops[i].size * 2 + 2, val,
                   ret ? "false" : "true");
        else if (ret)
            printf("%-10s %#8" PRIx64 ":%u failed: %s\n", op_names[ops[i].kind], ops[i].off,
                   ops[i].size, strerror(-ret));
        else
            printf("%-10s %#8" PRIx64 ":%u %s %#0*" PRIx64 "\n", op_names[ops[i].kind], ops[i].off,
                   ops[i].size, ops[i].kind == OP_WRITE_MMIO || ops[i].kind == OP_WRITE_CFG ? "<-" : "=",
                   (int)ops[i].size * 2 + 2, val);
        if (ret)
            rc = 1;
    }
    fflush(stdout);
destroy_host:
    vgpu_host_destroy(h);
free_ops:
    free(ops);
    return rc;
}


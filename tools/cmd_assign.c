/* vgt assign pci|dt: device assignment checks and configuration. The
 * work is in passthrough/; this file parses arguments and prints. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/dt_assign.h"
#include "vgt/log.h"
#include "vgt/pci_assign.h"
#include "vgt/util.h"
#include "vgt_cmds.h"

static void pci_usage(FILE *out)
{
    fprintf(out,
            "usage: vgt assign pci [--json] [--xl] [--config-file FILE] [--sysfs-root DIR]\n"
            "                      [--prepare BDF] [BDF...]\n"
            "  Reports whether each PCI device can be given to a Xen guest. Changes nothing.\n"
            "  --json              machine-readable report\n"
            "  --xl                print pci = [...] and gfx_passthru lines for the assignable ones\n"
            "  --config-file FILE  analyse a saved config space (raw binary, or `lspci -xxxx` text)\n"
            "                      instead of the live bus; for a raw dump the first BDF names it\n"
            "  --sysfs-root DIR    read driver, iommu_groups, reset_method, DRM from DIR, not /sys\n"
            "  --prepare BDF       print the steps that would hand BDF to pciback (runs nothing)\n"
            "  BDF                 limit the report to these devices (DDDD:BB:DD.F or BB:DD.F)\n");
}

static int cmd_pci(int argc, char **argv, struct vgt_log *log)
{
    struct vgt_pci_ctx ctx = {.log = log};
    const char **filter = calloc((size_t)argc + 1, sizeof(*filter));
    const char *config = NULL, *prepare = NULL;
    struct vgt_pci_dev *devs = NULL;
    bool json = false, xl = false;
    unsigned nfilter = 0;
    char err[512] = "";
    int n, rc = 0;

    if (!filter)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            pci_usage(stdout);
            goto free_filter;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--xl")) {
            xl = true;
        } else if ((!strcmp(a, "--config-file") || !strcmp(a, "--sysfs-root") || !strcmp(a, "--prepare")) &&
                   i + 1 < argc) {
            if (!strcmp(a, "--config-file"))
                config = argv[++i];
            else if (!strcmp(a, "--sysfs-root"))
                ctx.sysfs_root = argv[++i];
            else
                prepare = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "vgt assign pci: unknown or incomplete option '%s'\n", a);
            pci_usage(stderr);
            rc = 2;
            goto free_filter;
        } else {
            uint32_t x;

            if (vgt_pci_parse_bdf(a, &x, &x, &x, &x)) {
                fprintf(stderr, "vgt assign pci: '%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)\n", a);
                rc = 2;
                goto free_filter;
            }
            filter[nfilter++] = a;
        }
    }
    if (prepare) {
        uint32_t x;

        if (vgt_pci_parse_bdf(prepare, &x, &x, &x, &x)) {
            fprintf(stderr, "vgt assign pci: --prepare '%s' is not a PCI address\n", prepare);
            rc = 2;
            goto free_filter;
        }
        filter[nfilter++] = prepare;
    }
    /* libdrm's enumeration looks at the real /sys: only with it. */
    ctx.use_libdrm = ctx.sysfs_root == NULL;
    if (config)
        n = vgt_pci_scan_file(&ctx, config, nfilter ? filter[0] : NULL, filter, nfilter, &devs, err,
                              sizeof(err));
    else
        n = vgt_pci_scan_live(&ctx, filter, nfilter, &devs);
    if (n < 0) {
        if (err[0])
            fprintf(stderr, "vgt assign pci: %s\n", err);
        rc = 1;
        goto free_filter;
    }
    if (json)
        vgt_pci_print_json(stdout, devs, (unsigned)n);
    else if (!xl && !prepare)
        vgt_pci_print_text(stdout, devs, (unsigned)n);
    if (xl)
        vgt_pci_print_xl(stdout, devs, (unsigned)n);
    if (prepare) {
        for (int i = 0; i < n; i++) {
            char bdf[32];
            uint32_t dom, bus, dev, fn;

            vgt_pci_parse_bdf(prepare, &dom, &bus, &dev, &fn);
            vgt_pci_format_bdf(&devs[i], bdf, sizeof(bdf));
            if (devs[i].have_bdf && devs[i].domain == dom && devs[i].bus == bus && devs[i].dev == dev &&
                devs[i].func == fn) {
                if (!json)
                    vgt_pci_print_text(stdout, &devs[i], 1);
                vgt_pci_print_prepare(stdout, &devs[i]);
            }
        }
    }
    free(devs);
free_filter:
    free(filter);
    return rc;
}

static void dt_usage(FILE *out)
{
    fprintf(out,
            "usage: vgt assign dt [--dtb HOST.dtb] --node PATH|ALIAS [--node ...]\n"
            "                     --out-dtb GUEST.dtb --out-cfg SNIPPET.cfg [--dom0less OUT.dtsi]\n"
            "                     [--json] [--guest-base ADDR] [--allow-unaligned] [--allow-shared]\n"
            "                     [--force-no-iommu]\n"
            "  Reads the host device tree (default /sys/firmware/fdt) and writes the guest's\n"
            "  partial device tree and the xl lines (device_tree, dtdev, iomem, irqs).\n"
            "  --dom0less OUT.dtsi  write the dom0less form (xen,reg, xen,path) instead;\n"
            "                       --out-dtb/--out-cfg are then optional\n"
            "  --guest-base ADDR    place the regions from ADDR instead of 1:1\n"
            "  --allow-unaligned    accept regions that are not 4 KiB aligned (warning)\n"
            "  --allow-shared       accept regions/SPIs shared with other nodes (warning)\n"
            "  --force-no-iommu     add xen,force-assign-without-iommu (dom0less) when no IOMMU\n");
}

static int write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        fprintf(stderr, "vgt assign dt: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    if (fwrite(buf, 1, len, f) != len || fclose(f)) {
        fprintf(stderr, "vgt assign dt: %s: write failed\n", path);
        return -EIO;
    }
    return 0;
}

static int cmd_dt(int argc, char **argv, struct vgt_log *log)
{
    const char **nodes = calloc((size_t)argc + 1, sizeof(*nodes));
    const char *dtb = NULL, *out_dtb = NULL, *out_cfg = NULL, *dom0less = NULL;
    struct vgt_dt_opts opts = {0};
    struct vgt_dt_result *res = NULL;
    void *blob = NULL, *guest = NULL;
    size_t len = 0, glen = 0;
    bool json = false;
    char err[512];
    int rc = 2;

    if (!nodes)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            dt_usage(stdout);
            rc = 0;
            goto free_nodes;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--allow-unaligned")) {
            opts.allow_unaligned = true;
        } else if (!strcmp(a, "--allow-shared")) {
            opts.allow_shared = true;
        } else if (!strcmp(a, "--force-no-iommu")) {
            opts.force_no_iommu = true;
        } else if (!strcmp(a, "--dtb") && more) {
            dtb = argv[++i];
        } else if (!strcmp(a, "--node") && more) {
            nodes[opts.nnodes++] = argv[++i];
        } else if (!strcmp(a, "--out-dtb") && more) {
            out_dtb = argv[++i];
        } else if (!strcmp(a, "--out-cfg") && more) {
            out_cfg = argv[++i];
        } else if (!strcmp(a, "--dom0less") && more) {
            dom0less = argv[++i];
        } else if (!strcmp(a, "--guest-base") && more) {
            if (vgt_parse_u64(argv[++i], &opts.guest_base)) {
                fprintf(stderr, "vgt assign dt: --guest-base '%s' is not a number\n", argv[i]);
                goto free_nodes;
            }
            opts.have_guest_base = true;
        } else {
            fprintf(stderr, "vgt assign dt: unknown or incomplete option '%s'\n", a);
            dt_usage(stderr);
            goto free_nodes;
        }
    }
    if (!opts.nnodes || (!dom0less && (!out_dtb || !out_cfg))) {
        fprintf(stderr, "vgt assign dt: need --node and --out-dtb/--out-cfg (or --dom0less)\n");
        dt_usage(stderr);
        goto free_nodes;
    }
    opts.nodes = nodes;
    rc = 1;
    if (vgt_dt_load(dtb, &blob, &len, err, sizeof(err))) {
        fprintf(stderr, "vgt assign dt: %s\n", err);
        goto free_nodes;
    }
    res = calloc(1, sizeof(*res));
    if (!res)
        goto free_blob;
    if (vgt_dt_analyse(log, blob, &opts, res)) {
        if (json)
            vgt_dt_print_json(stdout, res);
        else
            vgt_dt_print_text(stderr, res);
        fprintf(stderr, "vgt assign dt: %u error(s): nothing written\n", res->nerrors);
        goto free_res;
    }
    if (json)
        vgt_dt_print_json(stdout, res);
    else
        vgt_dt_print_text(stdout, res);
    if (vgt_dt_build_guest(blob, res, &opts, dom0less != NULL, &guest, &glen)) {
        fprintf(stderr, "vgt assign dt: cannot build the guest device tree\n");
        goto free_res;
    }
    if (out_dtb && write_file(out_dtb, guest, glen))
        goto free_guest;
    if (out_cfg) {
        FILE *f = fopen(out_cfg, "w");

        if (!f) {
            fprintf(stderr, "vgt assign dt: %s: %s\n", out_cfg, strerror(errno));
            goto free_guest;
        }
        vgt_dt_write_xl(f, res, out_dtb ? out_dtb : "partial.dtb");
        if (fclose(f))
            goto free_guest;
    }
    if (dom0less) {
        FILE *f = fopen(dom0less, "w");

        if (!f) {
            fprintf(stderr, "vgt assign dt: %s: %s\n", dom0less, strerror(errno));
            goto free_guest;
        }
        vgt_dt_write_dts(f, guest, res);
        if (fclose(f))
            goto free_guest;
    }
    rc = 0;
free_guest:
    free(guest);
free_res:
    free(res);
free_blob:
    free(blob);
free_nodes:
    free(nodes);
    return rc;
}

int vgt_cmd_assign(int argc, char **argv)
{
    struct vgt_log log;

    vgt_log_init(&log, "vgt assign", VGT_LOG_WARN);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *out = argc < 2 ? stderr : stdout;

        fprintf(out, "usage: vgt assign pci|dt [ARGS]   (vgt assign pci --help, vgt assign dt --help)\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "pci"))
        return cmd_pci(argc - 1, argv + 1, &log);
    if (!strcmp(argv[1], "dt"))
        return cmd_dt(argc - 1, argv + 1, &log);
    fprintf(stderr, "vgt assign: unknown target '%s' (pci or dt)\n", argv[1]);
    return 2;
}

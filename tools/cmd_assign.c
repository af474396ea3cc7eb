/* vgt assign pci|dt: device assignment checks and configuration. The
 * work is in passthrough/; this file parses arguments and prints. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/log.h"
#include "vgt/pci_assign.h"
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

#ifdef VGT_HAVE_DT_ASSIGN
int vgt_assign_dt_main(int argc, char **argv, struct vgt_log *log);
#endif

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
    fprintf(stderr, "vgt assign: unknown target '%s' (pci or dt)\n", argv[1]);
    return 2;
}

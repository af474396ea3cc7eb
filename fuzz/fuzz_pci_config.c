/* libFuzzer target: the PCI config-space parser and the dump reader
 * (raw and `lspci -xxxx` text), then the verdict and every printer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/pci_assign.h"
#include "vgt/pci_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgt_pci_dump_dev *devs = calloc(8, sizeof(*devs));
    struct vgt_pci_ctx ctx = {.sysfs_root = "/nonexistent-vgt-fuzz"};
    struct vgt_pci_dev *d = calloc(1, sizeof(*d));
    char err[256];
    FILE *null = fopen("/dev/null", "w");
    int n;

    if (!d || !null || !devs)
        goto out;
    /* The bytes as config space directly. */
    vgt_pci_analyse(&ctx, d, data, size);
    vgt_pci_print_text(null, d, 1);
    vgt_pci_print_json(null, d, 1);
    /* The bytes as a dump file. */
    n = vgt_pci_dump_parse((const char *)data, size, devs, 8, err, sizeof(err));
    for (int i = 0; i < n; i++) {
        memset(d, 0, sizeof(*d));
        d->have_bdf = devs[i].have_bdf;
        d->bus = devs[i].bus;
        d->dev = devs[i].dev;
        d->func = devs[i].func;
        vgt_pci_analyse(&ctx, d, devs[i].cfg, devs[i].len);
        vgt_pci_print_text(null, d, 1);
        vgt_pci_print_xl(null, d, 1);
        vgt_pci_print_prepare(null, d);
    }
out:
    if (null)
        fclose(null);
    free(d);
    free(devs);
    return 0;
}

/* libFuzzer target: the PCI config-space parser and the dump reader
 * (raw and `lspci -xxxx` text), then the verdict and every printer, as
 * `vgt assign pci` runs them.
 *
 * Input: byte 0 picks the host the analysis sees (bits 2..0: one of the
 * fake sysfs trees below, 7 = none), which address the config space is
 * read for (bits 5..3), the libpciaccess source (bit 6) and libdrm's
 * device list (bit 7, this machine's); byte 1 picks the filters of the dump scan and
 * whether BAR sizes from the kernel follow (bit 7); the rest is the
 * config space, the dump file, and (when asked) the BAR sizes.
 *
 * The sysfs trees stand for hosts an operator runs the tool on (IOMMU
 * groups, Xen, firmware-only IOMMU, none; drivers, peers, DRM nodes and
 * connectors, odd group names): built once per process in a temporary
 * directory, read through `--sysfs-root` as the tool does. The dump goes
 * through `vgt_pci_scan_file` from a memfd, so the file path, size
 * limits, filters and the "no device" checks run too. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgt/pci_assign.h"
#include "vgt/pci_cfg.h"

#define NROOTS 7

/* Harness set-up, not under test. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)

static char base_dir[64];
static char roots[NROOTS][256];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_roots(void)
{
    nftw(base_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *root, const char *rel, const char *text)
{
    char p[512], dir[512], *slash;
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    snprintf(dir, sizeof(dir), "%s", p);
    for (slash = strchr(dir + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = 0;
        mkdir(dir, 0755);
        *slash = '/';
    }
    if (!text) {
        mkdir(p, 0755); /* a directory only */
        return;
    }
    f = fopen(p, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void link_to(const char *root, const char *rel, const char *target)
{
    char p[512], *slash;

    snprintf(p, sizeof(p), "%s", rel);
    slash = strrchr(p, '/');
    *slash = 0;
    put(root, p, NULL);
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    if (symlink(target, p))
        abort();
}

#define DEV "bus/pci/devices/0000:00:02.0"
#define DEV2 "bus/pci/devices/0000:01:00.0"

/* The trees: which root, a file (F), a directory (D) or a symlink (L),
 * its path under the root, and its content or target. */
static const struct sysfs_node {
    int root;
    char kind;
    const char *rel, *val;
} nodes[] = {
    /* 0: a Linux host with IOMMU groups; the GPU bound to i915 driving a
     * connected display, sharing its group; a second device at pciback. */
    {0, 'F', "kernel/iommu_groups/7/devices/0000:00:02.0", ""},
    {0, 'F', "kernel/iommu_groups/7/devices/0000:00:1f.3", ""},
    {0, 'F', "kernel/iommu_groups/7/devices/0000:00:1f.4", ""},
    {0, 'L', DEV "/driver", "../../../bus/pci/drivers/i915"},
    {0, 'F', DEV "/reset_method", "flr bus\n"},
    {0, 'L', DEV "/iommu_group", "../../../kernel/iommu_groups/7"},
    {0, 'D', DEV "/drm/card0", NULL},
    {0, 'D', DEV "/drm/renderD128", NULL},
    {0, 'F', "class/drm/card0-DP-1/status", "connected\n"},
    {0, 'F', "class/drm/card0-DP-1/enabled", "enabled\n"},
    {0, 'F', "class/drm/card0-HDMI-A-1/status", "disconnected\n"},
    {0, 'F', "class/drm/card0-eDP-1/status", "connected\n"},
    {0, 'F', "class/drm/card0-eDP-1/enabled", "disabled\n"},
    {0, 'F', "class/drm/card1-DP-2/status", "connected\n"},
    {0, 'F', "class/drm/version", "1.1\n"},
    {0, 'L', DEV2 "/driver", "../../../bus/pci/drivers/pciback"},
    {0, 'F', DEV2 "/reset_method", "\n"},
    {0, 'L', DEV2 "/iommu_group", "../../../kernel/iommu_groups/12"},
    /* 1: under Xen (dom0): no groups, the hypervisor type says xen; the
     * GPU bound to i915 with DRM nodes, no connector connected. */
    {1, 'F', "hypervisor/type", "xen\n"},
    {1, 'L', DEV "/driver", "../../../bus/pci/drivers/i915"},
    {1, 'D', DEV "/drm/card1", NULL},
    {1, 'D', DEV "/drm/controlD64", NULL},
    {1, 'F', "class/drm/card1-DP-1/status", "disconnected\n"},
    {1, 'L', DEV2 "/driver", "../../../bus/pci/drivers/xen-pciback"},
    /* 2 and 3: the firmware describes an IOMMU the kernel does not use. */
    {2, 'F', "firmware/acpi/tables/DMAR", ""},
    {2, 'F', "hypervisor/type", "kvm\n"},
    {2, 'F', DEV "/reset_method", "pm\n"},
    {3, 'F', "firmware/acpi/tables/IVRS", ""},
    {3, 'F', DEV2 "/reset_method", "bus\n"},
    /* 4: no IOMMU at all. */
    {4, 'D', DEV, NULL},
    /* 5: groups, but the device's group link is no number, and another
     * device is in none. */
    {5, 'F', "kernel/iommu_groups/0/devices/0000:00:00.0", ""},
    {5, 'L', DEV "/iommu_group", "../../../kernel/iommu_groups/not-a-group"},
    {5, 'D', DEV2, NULL},
    /* 6: groups; the device's group directory lists no devices. */
    {6, 'F', "kernel/iommu_groups/3/x", ""},
    {6, 'L', DEV "/iommu_group", "../../../kernel/iommu_groups/3"},
    {6, 'L', DEV2 "/iommu_group", "../../../kernel/iommu_groups/99999999"},
};

static void build_roots(void)
{
    char *base;

    snprintf(base_dir, sizeof(base_dir), "%s", "/tmp/vgt-fuzz-pci-XXXXXX");
    base = mkdtemp(base_dir);
    if (!base)
        abort();
    atexit(remove_roots);
    for (int i = 0; i < NROOTS; i++) {
        snprintf(roots[i], sizeof(roots[i]), "%s/r%d", base, i);
        mkdir(roots[i], 0755);
    }
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        const struct sysfs_node *n = &nodes[i];

        if (n->kind == 'L')
            link_to(roots[n->root], n->rel, n->val);
        else
            put(roots[n->root], n->rel, n->kind == 'F' ? n->val : NULL);
    }
}

#pragma clang attribute pop

static const struct {
    bool have;
    uint32_t bus, dev, func;
} bdfs[8] = {
    {false, 0, 0, 0}, {true, 0, 2, 0}, {true, 1, 0, 0}, {true, 0, 2, 1},
    {true, 0, 2, 0},  {true, 1, 0, 0}, {true, 0, 0x1f, 3}, {false, 0, 0, 0},
};

static const char *const filters[8] = {
    "0000:00:02.0", "01:00.0", "00:02.0", "not-a-bdf", "0000:00:1f.3", "ffff:ff:1f.7", "02.0", "00:02.8",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgt_pci_dump_dev *devs = NULL;
    struct vgt_pci_ctx ctx = {.sysfs_root = "/nonexistent-vgt-fuzz"};
    struct vgt_pci_dev *d = NULL, *scanned = NULL;
    const char *flt[3];
    unsigned nflt = 0;
    static FILE *null;
    static int fd = -1;
    char err[256], path[64];
    int n;
    uint8_t sel, fsel;

    if (!roots[0][0]) {
        /* A live scan's filter check, once: the scan itself reads this
         * machine's bus (libpciaccess), which is no input. */
        const char *bad = "not-a-bdf";

        build_roots();
        /* Opened once: a file per input costs more syscalls than the
         * parsers take. */
        null = fopen("/dev/null", "w");
        fd = memfd_create("vgt-fuzz-dump", 0);
        if (!null || fd < 0)
            abort();
        if (vgt_pci_scan_live(&ctx, &bad, 1, &scanned) != -EINVAL)
            abort();
    }
    if (size < 2)
        return 0;
    sel = data[0];
    fsel = data[1];
    data += 2;
    size -= 2;
    devs = calloc(8, sizeof(*devs));
    d = calloc(1, sizeof(*d));
    if (!d || !devs)
        goto out;
    if ((sel & 7) < NROOTS)
        ctx.sysfs_root = roots[sel & 7];
    else
        ctx.sysfs_root = NULL; /* offline analysis: no sysfs read */
    ctx.use_libdrm = sel & 0x80;

    /* The bytes as config space directly, for an address with or without
     * a sysfs entry. */
    d->have_bdf = bdfs[(sel >> 3) & 7].have;
    d->bus = bdfs[(sel >> 3) & 7].bus;
    d->dev = bdfs[(sel >> 3) & 7].dev;
    d->func = bdfs[(sel >> 3) & 7].func;
    if (sel & 0x40)
        snprintf(d->source, sizeof(d->source), "libpciaccess");
    vgt_pci_analyse(&ctx, d, data, size);
    if ((fsel & 0x80) && size >= 6 * 8) {
        /* BAR sizes as libpciaccess reports them, then judged again. */
        uint64_t base[6], sz[6];
        bool is64[6], pf[6], io[6];

        for (int i = 0; i < 6; i++) {
            memcpy(&sz[i], data + size - 8 * (i + 1), 8);
            base[i] = sz[i] * 3;
            sz[i] = i == 5 ? sz[i] : sz[i] >> (sz[i] & 63);
            is64[i] = sz[i] & 1;
            pf[i] = sz[i] & 2;
            io[i] = sz[i] & 4;
        }
        vgt_pci_set_bar_sizes(d, base, sz, is64, pf, io);
        vgt_pci_judge(d);
    }
    vgt_pci_print_text(null, d, 1);
    vgt_pci_print_json(null, d, 1);
    vgt_pci_print_xl(null, d, 1);
    vgt_pci_print_prepare(null, d);

    /* The bytes as a dump file, parsed in memory. */
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

    /* The bytes as the file of `vgt assign pci --config-file`. */
    for (unsigned i = 0; i < 3; i++)
        if (fsel & (1u << i))
            flt[nflt++] = filters[(fsel >> (3 + i)) & 7];
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        goto out;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    err[0] = 0;
    n = vgt_pci_scan_file(&ctx, path, (fsel & 0x40) ? filters[fsel & 7] : NULL, flt, nflt, &scanned,
                          err, sizeof(err));
    if (n > 0) {
        vgt_pci_print_text(null, scanned, (unsigned)n);
        vgt_pci_print_json(null, scanned, (unsigned)n);
        vgt_pci_print_xl(null, scanned, (unsigned)n);
        free(scanned);
    } else if (n != -ENOMEM && !err[0]) {
        abort(); /* every refusal names its problem for the user */
    }
out:
    free(d);
    free(devs);
    return 0;
}

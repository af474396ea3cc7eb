/* PCI assignability: sysfs facts, libdrm, libpciaccess, and the verdict.
 * Reads only; nothing on the machine is changed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pciaccess.h>
#include <xf86drm.h>

#include "vgt/pci_assign.h"
#include "vgt/util.h"

#define GiB (1ull << 30)

static const char *root_of(const struct vgt_pci_ctx *ctx)
{
    return ctx && ctx->sysfs_root ? ctx->sysfs_root : "/sys";
}

void vgt_pci_format_bdf(const struct vgt_pci_dev *d, char *buf, size_t len)
{
    if (d->have_bdf)
        snprintf(buf, len, "%04x:%02x:%02x.%x", d->domain, d->bus, d->dev, d->func);
    else
        snprintf(buf, len, "(unknown address)");
}

const char *vgt_pci_verdict_name(enum vgt_pci_verdict v)
{
    switch (v) {
    case VGT_PCI_ASSIGNABLE: return "assignable";
    case VGT_PCI_ASSIGNABLE_CAVEATS: return "assignable with caveats";
    default: return "not assignable";
    }
}

static void reason(struct vgt_pci_dev *d, enum vgt_pci_sev sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reason(struct vgt_pci_dev *d, enum vgt_pci_sev sev, const char *fmt, ...)
{
    va_list ap;

    if (d->nreasons >= VGT_PCI_MAX_REASONS)
        return;
    d->reasons[d->nreasons].sev = sev;
    va_start(ap, fmt);
    vsnprintf(d->reasons[d->nreasons].text, VGT_PCI_REASON_LEN, fmt, ap);
    va_end(ap);
    d->nreasons++;
}

/* Read a small sysfs attribute into @buf, trailing newline removed.
 * Returns its length or a negative errno. */
static int read_attr(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return (int)n;
}

/* Bounded copy that always terminates (snprintf "%s" trips
 * -Wformat-truncation for paths). */
static void copy_str(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);

    if (!len)
        return;
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* basename of the target of symlink @path, or -errno. */
static int link_base(const char *path, char *buf, size_t len)
{
    char tgt[512];
    ssize_t n = readlink(path, tgt, sizeof(tgt) - 1);
    const char *b;

    if (n < 0)
        return -errno;
    tgt[n] = 0;
    b = strrchr(tgt, '/');
    copy_str(buf, len, b ? b + 1 : tgt);
    return 0;
}

static bool dir_nonempty(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *e;
    bool any = false;

    if (!dir)
        return false;
    while (!any && (e = readdir(dir)))
        any = e->d_name[0] != '.';
    closedir(dir);
    return any;
}

static bool exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static enum vgt_iommu_state iommu_state(const char *root)
{
    char p[512], t[32];

    snprintf(p, sizeof(p), "%s/kernel/iommu_groups", root);
    if (dir_nonempty(p))
        return VGT_IOMMU_PRESENT;
    snprintf(p, sizeof(p), "%s/hypervisor/type", root);
    if (read_attr(p, t, sizeof(t)) > 0 && !strcmp(t, "xen"))
        return VGT_IOMMU_XEN;
    /* ACPI DMAR (VT-d) and IVRS (AMD-Vi) describe IOMMUs the firmware
     * has; Xen uses them even when the Linux kernel does not. */
    snprintf(p, sizeof(p), "%s/firmware/acpi/tables/DMAR", root);
    if (exists(p))
        return VGT_IOMMU_FIRMWARE;
    snprintf(p, sizeof(p), "%s/firmware/acpi/tables/IVRS", root);
    if (exists(p))
        return VGT_IOMMU_FIRMWARE;
    return VGT_IOMMU_ABSENT;
}

static void add_drm_node(struct vgt_pci_dev *d, const char *path)
{
    for (unsigned i = 0; i < d->ndrm; i++)
        if (!strcmp(d->drm[i].path, path))
            return;
    if (d->ndrm < VGT_PCI_MAX_DRM)
        snprintf(d->drm[d->ndrm++].path, sizeof(d->drm[0].path), "%s", path);
}

/* DRM nodes from libdrm's device list, matched by PCI address. */
static void drm_from_libdrm(struct vgt_pci_dev *d)
{
    drmDevicePtr devs[64];
    int n = drmGetDevices2(0, devs, (int)VGT_ARRAY_SIZE(devs));

    if (n <= 0)
        return;
    for (int i = 0; i < n; i++) {
        drmDevicePtr x = devs[i];

        if (x->bustype != DRM_BUS_PCI || !x->businfo.pci)
            continue;
        if (x->businfo.pci->domain != d->domain || x->businfo.pci->bus != d->bus ||
            x->businfo.pci->dev != d->dev || x->businfo.pci->func != d->func)
            continue;
        for (int t = 0; t < DRM_NODE_MAX; t++)
            if ((x->available_nodes & (1 << t)) && x->nodes[t])
                add_drm_node(d, x->nodes[t]);
    }
    drmFreeDevices(devs, n);
}

/* DRM nodes the sysfs tree lists under the device, and the connectors of
 * its cardN driving a display (class/drm/cardN-CONN/status|enabled). */
static void drm_from_sysfs(const struct vgt_pci_ctx *ctx, struct vgt_pci_dev *d, const char *devdir)
{
    char p[512], st[32];
    DIR *dir;
    struct dirent *e;

    snprintf(p, sizeof(p), "%s/drm", devdir);
    dir = opendir(p);
    if (dir) {
        while ((e = readdir(dir))) {
            if (!strncmp(e->d_name, "card", 4) || !strncmp(e->d_name, "renderD", 7)) {
                char node[64];

                snprintf(node, sizeof(node), "/dev/dri/%.40s", e->d_name);
                add_drm_node(d, node);
            }
        }
        closedir(dir);
    }
    snprintf(p, sizeof(p), "%s/class/drm", root_of(ctx));
    dir = opendir(p);
    if (!dir)
        return;
    while ((e = readdir(dir))) {
        const char *dash = strchr(e->d_name, '-');
        char card[64];
        bool ours = false;

        if (strncmp(e->d_name, "card", 4) || !dash || (size_t)(dash - e->d_name) >= 40)
            continue;
        snprintf(card, sizeof(card), "/dev/dri/%.*s", (int)(dash - e->d_name), e->d_name);
        for (unsigned i = 0; i < d->ndrm; i++)
            ours |= !strcmp(d->drm[i].path, card);
        if (!ours)
            continue;
        snprintf(p, sizeof(p), "%s/class/drm/%.200s/status", root_of(ctx), e->d_name);
        if (read_attr(p, st, sizeof(st)) <= 0 || strcmp(st, "connected"))
            continue;
        snprintf(p, sizeof(p), "%s/class/drm/%.200s/enabled", root_of(ctx), e->d_name);
        if (read_attr(p, st, sizeof(st)) > 0 && strcmp(st, "enabled"))
            continue;
        d->nconnected++;
        if (strlen(d->connectors) + strlen(e->d_name) + 2 < sizeof(d->connectors)) {
            if (d->connectors[0])
                strcat(d->connectors, " ");
            strcat(d->connectors, e->d_name);
        }
    }
    closedir(dir);
}

static void read_sysfs(const struct vgt_pci_ctx *ctx, struct vgt_pci_dev *d)
{
    char devdir[400], p[512], name[64];
    char sbdf[16];

    d->iommu_group = -1;
    d->iommu = iommu_state(root_of(ctx));
    vgt_pci_format_bdf(d, sbdf, sizeof(sbdf));
    snprintf(devdir, sizeof(devdir), "%s/bus/pci/devices/%s", root_of(ctx), sbdf);
    if (!exists(devdir))
        return;
    d->sysfs = true;
    snprintf(p, sizeof(p), "%s/driver", devdir);
    if (link_base(p, d->driver, sizeof(d->driver)))
        d->driver[0] = 0;
    snprintf(p, sizeof(p), "%s/reset_method", devdir);
    d->reset_file = read_attr(p, d->reset_methods, sizeof(d->reset_methods)) >= 0;
    snprintf(p, sizeof(p), "%s/iommu_group", devdir);
    if (!link_base(p, name, sizeof(name))) {
        char *end;
        long g = strtol(name, &end, 10);

        if (*end == 0 && g >= 0 && g < 1 << 20) {
            DIR *dir;
            struct dirent *e;

            d->iommu_group = (int)g;
            snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%ld/devices", root_of(ctx), g);
            dir = opendir(p);
            while (dir && (e = readdir(dir))) {
                if (e->d_name[0] == '.' || !strcmp(e->d_name, sbdf))
                    continue;
                if (d->npeers < VGT_PCI_MAX_PEERS)
                    snprintf(d->peers[d->npeers++], sizeof(d->peers[0]), "%.15s", e->d_name);
            }
            if (dir)
                closedir(dir);
        }
    }
    if ((d->cfg.class_code >> 16) == 0x03) {
        if (ctx->use_libdrm)
            drm_from_libdrm(d);
        drm_from_sysfs(ctx, d, devdir);
    }
}

static bool is_igd(const struct vgt_pci_dev *d)
{
    /* Intel integrated graphics sits at 00:02.0 (i915, and Xen's libxl
     * libxl__is_igd_vga_passthru checks vendor 0x8086 + display class). */
    return d->cfg.igd.present && d->have_bdf && d->domain == 0 && d->bus == 0 && d->dev == 2 &&
           d->func == 0;
}

static void judge_bars(struct vgt_pci_dev *d)
{
    const struct vgt_pci_cfg_info *c = &d->cfg;

    for (unsigned i = 0; i < c->nbars; i++) {
        const struct vgt_pci_bar *b = &c->bars[i];

        if (!b->present || !b->size_known || b->io)
            continue;
        /* hvmloader grows the low MMIO hole to at most 2 GiB below 4 GiB
         * and moves 64-bit BARs that do not fit above 4 GiB
         * (tools/firmware/hvmloader/pci.c, bar64_relocate). */
        if (b->size > GiB && b->is64)
            reason(d, VGT_PCI_NOTE, "BAR %u is %llu MiB: hvmloader will place it above 4 GiB", i,
                   (unsigned long long)(b->size >> 20));
        else if (b->size > GiB)
            reason(d, VGT_PCI_CAVEAT, "BAR %u is a 32-bit BAR of %llu MiB: it may not fit the guest's"
                   " low MMIO hole (at most 2 GiB); set mmio_hole in the xl config", i,
                   (unsigned long long)(b->size >> 20));
        /* Xen maps guest BARs in whole pages. */
        if (b->size < VGT_PAGE_SIZE)
            reason(d, VGT_PCI_CAVEAT, "BAR %u is %llu bytes, smaller than a page: the guest can reach"
                   " whatever else shares that page", i, (unsigned long long)b->size);
    }
}

static void judge_msix(struct vgt_pci_dev *d)
{
    const struct vgt_pci_cfg_info *c = &d->cfg;
    uint64_t tend, tpage0, tpage1, ppage0;

    if (!c->msix.present || c->msix.table_bir > 5 || c->msix.pba_bir > 5)
        return;
    /* Xen traps the pages holding the MSI-X table and PBA (xen/arch/x86/
     * msi.c); other registers on those pages are emulated, not mapped. */
    tend = (uint64_t)c->msix.table_offset + 16ull * c->msix.table_size;
    tpage0 = c->msix.table_offset & VGT_PAGE_MASK;
    tpage1 = (tend - 1) & VGT_PAGE_MASK;
    ppage0 = c->msix.pba_offset & VGT_PAGE_MASK;
    /* A table starting mid-page shares that page with registers before
     * it; the tail of the last page is usually reserved space. */
    if (c->msix.table_offset & (VGT_PAGE_SIZE - 1))
        reason(d, VGT_PCI_CAVEAT, "MSI-X table (BAR %u +0x%x, %u entries) starts inside a page shared"
               " with other registers: Xen traps that page, so those registers are emulated (slower)",
               c->msix.table_bir, c->msix.table_offset, c->msix.table_size);
    else
        reason(d, VGT_PCI_NOTE, "MSI-X table in BAR %u at 0x%x (%u entries), PBA in BAR %u at 0x%x",
               c->msix.table_bir, c->msix.table_offset, c->msix.table_size, c->msix.pba_bir,
               c->msix.pba_offset);
    if (c->msix.table_bir == c->msix.pba_bir && ppage0 >= tpage0 && ppage0 <= tpage1)
        reason(d, VGT_PCI_CAVEAT, "MSI-X PBA shares a page with the MSI-X table");
    if (c->msix.table_bir < c->nbars && c->bars[c->msix.table_bir].size_known &&
        tend > c->bars[c->msix.table_bir].size)
        reason(d, VGT_PCI_BLOCKER, "MSI-X table (0x%x + %u entries) runs past the end of BAR %u",
               c->msix.table_offset, c->msix.table_size, c->msix.table_bir);
}

static void judge_reset(struct vgt_pci_dev *d)
{
    const struct vgt_pci_cfg_info *c = &d->cfg;
    bool flr = c->pcie.flr || c->af.flr;
    bool pm = c->pm.present && !c->pm.no_soft_reset;

    if (!d->reset_file && c->cfg_len < VGT_PCI_CFG_LEN) {
        reason(d, VGT_PCI_CAVEAT, "reset methods unknown: the kernel lists none and the capabilities"
               " are not readable");
        return;
    }
    if (d->reset_file) {
        if (!d->reset_methods[0])
            reason(d, VGT_PCI_CAVEAT, "the kernel offers no reset method: device state may leak"
                   " from one guest to the next");
        return;
    }
    /* Without the reset_method attribute, what the capabilities allow
     * (Linux pci_reset_fn_methods: flr, af_flr, pm). */
    if (!flr && !pm)
        reason(d, VGT_PCI_CAVEAT, "no function-level reset (no PCIe/AF FLR, %s): device state"
               " may leak between guests; only a bus reset could help",
               c->pm.present ? "PM reset disabled by No_Soft_Reset" : "no PM capability");
}

static void judge_igd(struct vgt_pci_dev *d)
{
    const struct vgt_pci_cfg_info *c = &d->cfg;

    if (!is_igd(d))
        return;
    reason(d, VGT_PCI_CAVEAT, "Intel integrated GPU: needs gfx_passthru=\"igd\" in the xl config"
           " (legacy VGA and OpRegion passthrough by QEMU)");
    if (c->igd.asls)
        reason(d, VGT_PCI_NOTE, "OpRegion at 0x%08x (ASLS, config 0xfc): QEMU maps it into the guest",
               c->igd.asls);
    else
        reason(d, VGT_PCI_CAVEAT, "ASLS (config 0xfc) is 0: the firmware set up no OpRegion, the"
               " guest driver will find no VBT");
    if (c->igd.bdsm)
        reason(d, VGT_PCI_NOTE, "stolen memory at 0x%08llx (BDSM, config %s)",
               (unsigned long long)c->igd.bdsm, c->igd.bdsm_gen11 ? "0xc0, gen11+" : "0x5c");
    reason(d, VGT_PCI_CAVEAT, "the IGD is covered by an RMRR (reserved memory region) that Xen must"
           " identity-map in the guest: add rdm = \"strategy=host,policy=relaxed\" if the domain fails"
           " to start with an RMRR conflict");
}

void vgt_pci_judge(struct vgt_pci_dev *d)
{
    const struct vgt_pci_cfg_info *c = &d->cfg;
    bool problems_blocker = false;

    d->nreasons = 0;
    for (unsigned i = 0; i < c->nproblems; i++) {
        bool nodev = !strncmp(c->problems[i], "no device", 9) ||
                     !strncmp(c->problems[i], "config space truncated", 22);

        problems_blocker |= nodev;
        reason(d, nodev ? VGT_PCI_BLOCKER : VGT_PCI_CAVEAT, "config space: %s", c->problems[i]);
    }
    if (d->dump_note[0])
        reason(d, VGT_PCI_CAVEAT, "dump: %s", d->dump_note);
    if (problems_blocker)
        goto decide;
    if (c->header_type == 1 || c->header_type == 2)
        reason(d, VGT_PCI_BLOCKER, "PCI bridge (header type %u): Xen assigns endpoints, not bridges",
               c->header_type);
    else if ((c->class_code >> 8) == 0x0600)
        reason(d, VGT_PCI_BLOCKER, "host bridge: part of the platform, cannot be given to a guest");
    if (c->pcie.present && c->pcie.type != 0 && c->pcie.type != 1 && c->pcie.type != 9)
        reason(d, VGT_PCI_BLOCKER, "PCIe %s: only endpoints can be assigned",
               vgt_pcie_type_name(c->pcie.type));

    switch (d->iommu) {
    case VGT_IOMMU_ABSENT:
        reason(d, VGT_PCI_BLOCKER, "no IOMMU: no iommu_groups and no ACPI DMAR/IVRS table; Xen needs"
               " VT-d or AMD-Vi to assign a device (enable it in the firmware)");
        break;
    case VGT_IOMMU_FIRMWARE:
        reason(d, VGT_PCI_CAVEAT, "the firmware describes an IOMMU (ACPI DMAR/IVRS) but this kernel"
               " does not use it: IOMMU groups unknown; Xen will use the IOMMU");
        break;
    case VGT_IOMMU_XEN:
        reason(d, VGT_PCI_NOTE, "running under Xen: the IOMMU belongs to Xen (check `xl info`"
               " virt_caps for hvm_directio)");
        break;
    case VGT_IOMMU_UNKNOWN:
        reason(d, VGT_PCI_CAVEAT, "IOMMU not checked (offline analysis): run on the host or pass"
               " --sysfs-root");
        break;
    case VGT_IOMMU_PRESENT:
        if (d->sysfs && d->iommu_group < 0)
            reason(d, VGT_PCI_BLOCKER, "the device is in no IOMMU group: the IOMMU does not cover it");
        break;
    }
    if (d->npeers) {
        char list[VGT_PCI_REASON_LEN / 2] = "";

        for (unsigned i = 0; i < d->npeers; i++) {
            if (strlen(list) + strlen(d->peers[i]) + 2 >= sizeof(list))
                break;
            if (i)
                strcat(list, " ");
            strcat(list, d->peers[i]);
        }
        reason(d, VGT_PCI_CAVEAT, "IOMMU group %d also holds %s: they are not isolated from each"
               " other; assign them to the same guest or leave them unused", d->iommu_group, list);
    }
    if (d->have_bdf && !d->sysfs && d->iommu != VGT_IOMMU_UNKNOWN)
        reason(d, VGT_PCI_NOTE, "no sysfs entry for the device: driver, group and reset not checked");
    if (d->driver[0]) {
        if (!strcmp(d->driver, "pciback") || !strcmp(d->driver, "xen-pciback"))
            reason(d, VGT_PCI_NOTE, "bound to %s: ready for xl", d->driver);
        else
            reason(d, VGT_PCI_CAVEAT, "bound to host driver %s: it must be released first (--prepare)",
                   d->driver);
    }
    judge_reset(d);
    judge_bars(d);
    judge_msix(d);
    judge_igd(d);
    if ((c->class_code >> 16) == 0x03) {
        if (d->nconnected)
            reason(d, VGT_PCI_BLOCKER, "driving an active display (%s): the host display stack must"
                   " release the GPU first (stop the display manager, unbind the driver)", d->connectors);
        else if (d->ndrm)
            reason(d, VGT_PCI_CAVEAT, "DRM nodes %s%s%s are open to the host: close them before"
                   " unbinding", d->drm[0].path, d->ndrm > 1 ? " " : "", d->ndrm > 1 ? d->drm[1].path : "");
    }
    if (c->ats.present || c->pasid.present || c->pri.present)
        reason(d, VGT_PCI_NOTE, "ATS/PASID/PRI are not exposed to an HVM guest by Xen's device model");
    if (c->sriov.present && c->sriov.total_vfs)
        reason(d, VGT_PCI_NOTE, "SR-IOV physical function (%u VFs possible, %u enabled): the VFs can"
               " be assigned one by one", c->sriov.total_vfs, c->sriov.num_vfs);

decide:
    d->verdict = VGT_PCI_ASSIGNABLE;
    for (unsigned i = 0; i < d->nreasons; i++) {
        if (d->reasons[i].sev == VGT_PCI_BLOCKER)
            d->verdict = VGT_PCI_NOT_ASSIGNABLE;
        else if (d->reasons[i].sev == VGT_PCI_CAVEAT && d->verdict == VGT_PCI_ASSIGNABLE)
            d->verdict = VGT_PCI_ASSIGNABLE_CAVEATS;
    }
}

int vgt_pci_analyse(const struct vgt_pci_ctx *ctx, struct vgt_pci_dev *d, const uint8_t *cfg, size_t len)
{
    int rc = vgt_pci_cfg_parse(cfg, len, &d->cfg);

    d->iommu_group = -1;
    if (rc == 0 && d->have_bdf && (ctx->sysfs_root || !strcmp(d->source, "libpciaccess")))
        read_sysfs(ctx, d);
    else if (!d->have_bdf || !ctx->sysfs_root)
        d->iommu = VGT_IOMMU_UNKNOWN;
    vgt_pci_judge(d);
    return rc;
}

void vgt_pci_set_bar_sizes(struct vgt_pci_dev *d, const uint64_t base[6], const uint64_t size[6],
                           const bool is64[6], const bool prefetch[6], const bool io[6])
{
    for (unsigned i = 0; i < 6; i++) {
        struct vgt_pci_bar *b = &d->cfg.bars[i];

        if (!size[i]) {
            /* The kernel sized nothing there: not implemented, or the
             * upper half of a 64-bit BAR. */
            if (!(i > 0 && d->cfg.bars[i - 1].is64 && d->cfg.bars[i - 1].present))
                memset(b, 0, sizeof(*b));
            continue;
        }
        b->present = true;
        b->size_known = true;
        b->base = base[i];
        b->size = size[i];
        b->is64 = is64[i];
        b->prefetch = prefetch[i];
        b->io = io[i];
    }
    if (d->cfg.nbars == 0)
        d->cfg.nbars = 6;
}

static bool filtered_in(const struct vgt_pci_dev *d, const char *const *filter, unsigned nfilter)
{
    for (unsigned i = 0; i < nfilter; i++) {
        uint32_t dom, bus, dev, fn;

        if (vgt_pci_parse_bdf(filter[i], &dom, &bus, &dev, &fn))
            continue;
        if (d->have_bdf && dom == d->domain && bus == d->bus && dev == d->dev && fn == d->func)
            return true;
    }
    return nfilter == 0;
}

int vgt_pci_scan_live(const struct vgt_pci_ctx *ctx, const char *const *filter, unsigned nfilter,
                      struct vgt_pci_dev **out)
{
    struct pci_slot_match match = {PCI_MATCH_ANY, PCI_MATCH_ANY, PCI_MATCH_ANY, PCI_MATCH_ANY, 0};
    struct pci_device_iterator *it;
    struct pci_device *pdev;
    struct vgt_pci_dev *devs = NULL;
    uint8_t *cfg = NULL;
    unsigned n = 0, cap = 0;
    int rc;

    for (unsigned i = 0; i < nfilter; i++) {
        uint32_t a, b, c, f;

        if (vgt_pci_parse_bdf(filter[i], &a, &b, &c, &f)) {
            vgt_err(ctx->log, "'%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)", filter[i]);
            return -EINVAL;
        }
    }
    rc = pci_system_init();
    if (rc) {
        vgt_err(ctx->log, "libpciaccess: cannot open the PCI bus: %s", strerror(rc));
        return -rc;
    }
    cfg = malloc(VGT_PCI_CFG_EXT_LEN);
    it = pci_slot_match_iterator_create(&match);
    if (!cfg || !it) {
        rc = -ENOMEM;
        goto cleanup_system;
    }
    while ((pdev = pci_device_next(it))) {
        struct vgt_pci_dev *d;
        pciaddr_t got = 0;
        uint64_t base[6], size[6];
        bool is64[6], pf[6], io[6];

        if (n == cap) {
            struct vgt_pci_dev *nd = realloc(devs, sizeof(*devs) * (cap ? cap * 2 : 8));

            if (!nd) {
                rc = -ENOMEM;
                goto free_devs;
            }
            devs = nd;
            cap = cap ? cap * 2 : 8;
        }
        d = &devs[n];
        memset(d, 0, sizeof(*d));
        d->have_bdf = true;
        d->domain = pdev->domain;
        d->bus = pdev->bus;
        d->dev = pdev->dev;
        d->func = pdev->func;
        if (!filtered_in(d, filter, nfilter))
            continue;
        snprintf(d->source, sizeof(d->source), "libpciaccess");
        /* The kernel returns 64 bytes to non-root readers and 256 for
         * conventional devices: parse whatever came back. */
        memset(cfg, 0xff, VGT_PCI_CFG_EXT_LEN);
        rc = pci_device_cfg_read(pdev, cfg, 0, VGT_PCI_CFG_EXT_LEN, &got);
        if (rc && got == 0) {
            snprintf(d->dump_note, sizeof(d->dump_note), "config space not readable: %s", strerror(rc));
            got = 0;
        }
        /* A short read (64 bytes for non-root) is reported by the parser. */
        vgt_pci_analyse(ctx, d, cfg, (size_t)got);
        if (pci_device_probe(pdev) == 0) {
            for (unsigned i = 0; i < 6; i++) {
                base[i] = pdev->regions[i].base_addr;
                size[i] = pdev->regions[i].size;
                is64[i] = pdev->regions[i].is_64;
                pf[i] = pdev->regions[i].is_prefetchable;
                io[i] = pdev->regions[i].is_IO;
            }
            vgt_pci_set_bar_sizes(d, base, size, is64, pf, io);
            vgt_pci_judge(d);
        }
        n++;
    }
    rc = 0;
    for (unsigned i = 0; i < nfilter; i++) {
        bool found = false;
        uint32_t a, b, c, f;

        vgt_pci_parse_bdf(filter[i], &a, &b, &c, &f);
        for (unsigned k = 0; k < n; k++)
            found |= devs[k].domain == a && devs[k].bus == b && devs[k].dev == c && devs[k].func == f;
        if (!found) {
            vgt_err(ctx->log, "no PCI device %s on this machine", filter[i]);
            rc = -ENODEV;
        }
    }
    if (rc)
        goto free_devs;
    pci_iterator_destroy(it);
    free(cfg);
    pci_system_cleanup();
    *out = devs;
    return (int)n;

free_devs:
    free(devs);
cleanup_system:
    if (it)
        pci_iterator_destroy(it);
    free(cfg);
    pci_system_cleanup();
    return rc;
}

#define MAX_DUMP_DEVS 64u
/* Dumps hold one or two devices: parsed into this many first, and again
 * into MAX_DUMP_DEVS only when there are more. 64 slots are 274 KiB, an
 * allocation the sanitizers map and unmap each time (fuzz_pci_config). */
#define FEW_DUMP_DEVS 8u
#define MAX_DUMP_FILE (4u << 20)

int vgt_pci_scan_file(const struct vgt_pci_ctx *ctx, const char *path, const char *bdf,
                      const char *const *filter, unsigned nfilter, struct vgt_pci_dev **out,
                      char *err, size_t errlen)
{
    struct vgt_pci_dump_dev *dumps = NULL;
    struct vgt_pci_dev *devs = NULL;
    char *buf = NULL;
    struct stat st = {0};
    FILE *f;
    size_t len = 0, cap = MAX_DUMP_FILE + 1;
    int n, rc, kept = 0;

    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a config-space dump", path);
        rc = -EISDIR;
        goto close_file;
    }
    /* A regular file's size is known: a dump is a few KiB, so do not
     * allocate (and have the sanitizers poison) the 4 MiB limit for it.
     * One byte more than expected tells a file that grew meanwhile. */
    if (S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size <= MAX_DUMP_FILE)
        cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto close_file;
    }
    len = fread(buf, 1, cap, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -EIO;
        goto free_buf;
    }
    if (len > MAX_DUMP_FILE) {
        snprintf(err, errlen, "%s: larger than %u bytes: not a config-space dump", path, MAX_DUMP_FILE);
        rc = -EFBIG;
        goto free_buf;
    }
    if (len == cap) {
        snprintf(err, errlen, "%s: changed while being read", path);
        rc = -EAGAIN;
        goto free_buf;
    }
    dumps = calloc(FEW_DUMP_DEVS, sizeof(*dumps));
    if (!dumps) {
        rc = -ENOMEM;
        goto free_buf;
    }
    n = vgt_pci_dump_parse(buf, len, dumps, FEW_DUMP_DEVS, err, errlen);
    if (n == -E2BIG) {
        /* The parse is a function of the bytes: the same result as a
         * single parse into MAX_DUMP_DEVS slots. */
        free(dumps);
        dumps = calloc(MAX_DUMP_DEVS, sizeof(*dumps));
        if (!dumps) {
            rc = -ENOMEM;
            goto free_buf;
        }
        if (err && errlen)
            err[0] = 0;
        n = vgt_pci_dump_parse(buf, len, dumps, MAX_DUMP_DEVS, err, errlen);
    }
    if (n < 0) {
        char tmp[256];

        snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
        snprintf(err, errlen, "%s", tmp);
        rc = n;
        goto free_dumps;
    }
    if (!dumps[0].have_bdf && bdf && n == 1) {
        if (vgt_pci_parse_bdf(bdf, &dumps[0].domain, &dumps[0].bus, &dumps[0].dev, &dumps[0].func)) {
            snprintf(err, errlen, "'%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)", bdf);
            rc = -EINVAL;
            goto free_dumps;
        }
        dumps[0].have_bdf = true;
    }
    devs = calloc((size_t)n, sizeof(*devs));
    if (!devs) {
        rc = -ENOMEM;
        goto free_dumps;
    }
    for (int i = 0; i < n; i++) {
        struct vgt_pci_dev *d = &devs[kept];
        unsigned vendor = dumps[i].cfg[0] | (unsigned)dumps[i].cfg[1] << 8;

        /* An empty slot reads all ones; zero is no vendor either (PCI
         * Local Bus 3.0, 6.2.1): garbage, not a device to analyse. */
        if (vendor == 0xffff || vendor == 0) {
            snprintf(err, errlen, "%s: device %d of the dump has vendor ID 0x%04x: no device there",
                     path, i + 1, vendor);
            rc = -ENODEV;
            free(devs);
            goto free_dumps;
        }

        d->have_bdf = dumps[i].have_bdf;
        d->domain = dumps[i].domain;
        d->bus = dumps[i].bus;
        d->dev = dumps[i].dev;
        d->func = dumps[i].func;
        if (d->have_bdf && !filtered_in(d, filter, nfilter))
            continue;
        snprintf(d->source, sizeof(d->source), "config-file");
        snprintf(d->dump_note, sizeof(d->dump_note), "%s", dumps[i].note);
        vgt_pci_analyse(ctx, d, dumps[i].cfg, dumps[i].len);
        kept++;
    }
    if (kept == 0) {
        snprintf(err, errlen, "%s: none of the requested devices is in the dump", path);
        rc = -ENODEV;
        free(devs);
        goto free_dumps;
    }
    *out = devs;
    rc = kept;
free_dumps:
    free(dumps);
free_buf:
    free(buf);
close_file:
    fclose(f);
    return rc;
}

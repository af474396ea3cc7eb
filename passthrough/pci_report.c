/* Output of `vgt assign pci`: text, JSON, xl lines, and --prepare. */
#include <string.h>

#include "vgt/pci_assign.h"

static const char *sev_name(enum vgt_pci_sev s)
{
    return s == VGT_PCI_BLOCKER ? "blocker" : s == VGT_PCI_CAVEAT ? "caveat" : "note";
}

static void human_size(char *buf, size_t len, uint64_t sz)
{
    static const char units[] = "KMGT";
    int u = -1;

    while (sz >= 1024 && (sz & 1023) == 0 && u < 3) {
        sz >>= 10;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu", (unsigned long long)sz);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)sz, units[u]);
}

static const char *iommu_name(enum vgt_iommu_state s)
{
    switch (s) {
    case VGT_IOMMU_PRESENT: return "present";
    case VGT_IOMMU_ABSENT: return "absent";
    case VGT_IOMMU_FIRMWARE: return "firmware-only";
    case VGT_IOMMU_XEN: return "xen";
    default: return "unknown";
    }
}

static void print_cap_detail(FILE *out, const struct vgt_pci_dev *d, const struct vgt_pci_cap *cp)
{
    const struct vgt_pci_cfg_info *c = &d->cfg;

    if (!cp->ext) {
        switch (cp->id) {
        case 0x01:
            if (c->pm.present)
                fprintf(out, ": version %u, No_Soft_Reset%c", c->pm.version, c->pm.no_soft_reset ? '+' : '-');
            return;
        case 0x05:
            if (c->msi.present)
                fprintf(out, ": %u vector%s, %s, masking%c", c->msi.vectors, c->msi.vectors > 1 ? "s" : "",
                        c->msi.is64 ? "64-bit" : "32-bit", c->msi.maskable ? '+' : '-');
            return;
        case 0x10:
            if (c->pcie.present)
                fprintf(out, ": v%u %s, FLR%c", c->pcie.version, vgt_pcie_type_name(c->pcie.type),
                        c->pcie.flr ? '+' : '-');
            return;
        case 0x11:
            if (c->msix.present)
                fprintf(out, ": %u entries, table BAR %u +0x%x, PBA BAR %u +0x%x", c->msix.table_size,
                        c->msix.table_bir, c->msix.table_offset, c->msix.pba_bir, c->msix.pba_offset);
            return;
        case 0x13:
            if (c->af.present)
                fprintf(out, ": FLR%c TP%c", c->af.flr ? '+' : '-', c->af.tp ? '+' : '-');
            return;
        default:
            return;
        }
    }
    switch (cp->id) {
    case 0x0d:
        if (c->acs.present)
            fprintf(out, ": cap 0x%04x (SrcValid%c ReqRedir%c CmpltRedir%c UpstreamFwd%c), ctrl 0x%04x",
                    c->acs.cap, c->acs.cap & 1 ? '+' : '-', c->acs.cap & 4 ? '+' : '-',
                    c->acs.cap & 8 ? '+' : '-', c->acs.cap & 0x10 ? '+' : '-', c->acs.ctrl);
        return;
    case 0x0f:
        if (c->ats.present)
            fprintf(out, ": invalidate queue depth %u, enabled%c", c->ats.inv_queue_depth,
                    c->ats.enabled ? '+' : '-');
        return;
    case 0x10:
        if (c->sriov.present)
            fprintf(out, ": %u/%u VFs enabled, VF device 0x%04x, offset %u stride %u", c->sriov.num_vfs,
                    c->sriov.total_vfs, c->sriov.vf_device, c->sriov.vf_offset, c->sriov.vf_stride);
        return;
    case 0x13:
        if (c->pri.present)
            fprintf(out, ": %u outstanding page requests", c->pri.max_requests);
        return;
    case 0x1b:
        if (c->pasid.present)
            fprintf(out, ": %u-bit PASIDs, exec%c priv%c", c->pasid.max_width, c->pasid.exec ? '+' : '-',
                    c->pasid.priv ? '+' : '-');
        return;
    default:
        return;
    }
}

void vgt_pci_print_text(FILE *out, const struct vgt_pci_dev *devs, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        const struct vgt_pci_dev *d = &devs[k];
        const struct vgt_pci_cfg_info *c = &d->cfg;
        char bdf[32], sz[32];

        vgt_pci_format_bdf(d, bdf, sizeof(bdf));
        fprintf(out, "%s  %04x:%04x  class %06x  rev %02x  (%s)\n", bdf, c->vendor, c->device,
                c->class_code, c->revision, d->source);
        if (c->header_type == 0)
            fprintf(out, "  subsystem %04x:%04x\n", c->subsys_vendor, c->subsys_device);
        fprintf(out, "  driver: %s\n", d->driver[0] ? d->driver : d->sysfs ? "(none)" : "(not checked)");
        for (unsigned i = 0; i < c->nbars; i++) {
            const struct vgt_pci_bar *b = &c->bars[i];

            if (!b->present)
                continue;
            if (b->size_known)
                human_size(sz, sizeof(sz), b->size);
            else
                snprintf(sz, sizeof(sz), "unknown");
            fprintf(out, "  BAR %u: %s at 0x%llx, size %s%s%s\n", i, b->io ? "I/O" : "memory",
                    (unsigned long long)b->base, sz, b->io ? "" : b->is64 ? ", 64-bit" : ", 32-bit",
                    b->io ? "" : b->prefetch ? ", prefetchable" : ", non-prefetchable");
        }
        fprintf(out, "  config space: %zu bytes\n", c->cfg_len);
        for (unsigned i = 0; i < c->ncaps; i++) {
            const struct vgt_pci_cap *cp = &c->caps[i];

            fprintf(out, "  cap [%0*x] %s (0x%02x)", cp->ext ? 3 : 2, cp->offset, cp->name, cp->id);
            print_cap_detail(out, d, cp);
            fputc('\n', out);
        }
        if (d->sysfs)
            fprintf(out, "  reset methods: %s\n",
                    d->reset_file ? (d->reset_methods[0] ? d->reset_methods : "(none)") : "(not listed by the kernel)");
        fprintf(out, "  IOMMU: %s", iommu_name(d->iommu));
        if (d->iommu_group >= 0)
            fprintf(out, ", group %d (%u other device%s)", d->iommu_group, d->npeers, d->npeers == 1 ? "" : "s");
        fputc('\n', out);
        for (unsigned i = 0; i < d->ndrm; i++)
            fprintf(out, "  DRM node: %s\n", d->drm[i].path);
        if (d->nconnected)
            fprintf(out, "  active display: %s\n", d->connectors);
        fprintf(out, "  verdict: %s\n", vgt_pci_verdict_name(d->verdict));
        for (unsigned i = 0; i < d->nreasons; i++)
            fprintf(out, "    %-7s %s\n", sev_name(d->reasons[i].sev), d->reasons[i].text);
        fputc('\n', out);
    }
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

void vgt_pci_print_json(FILE *out, const struct vgt_pci_dev *devs, unsigned n)
{
    fprintf(out, "{\"devices\": [");
    for (unsigned k = 0; k < n; k++) {
        const struct vgt_pci_dev *d = &devs[k];
        const struct vgt_pci_cfg_info *c = &d->cfg;
        char bdf[32];
        bool first = true;

        vgt_pci_format_bdf(d, bdf, sizeof(bdf));
        fprintf(out, "%s\n {\"bdf\": ", k ? "," : "");
        if (d->have_bdf)
            json_str(out, bdf);
        else
            fprintf(out, "null");
        fprintf(out, ", \"source\": \"%s\", \"vendor\": \"0x%04x\", \"device\": \"0x%04x\", \"class\": \"0x%06x\","
                " \"revision\": %u, \"header_type\": %u, \"config_bytes\": %zu, \"driver\": ",
                d->source, c->vendor, c->device, c->class_code, c->revision, c->header_type, c->cfg_len);
        if (d->driver[0])
            json_str(out, d->driver);
        else
            fprintf(out, "null");
        fprintf(out, ",\n  \"bars\": [");
        for (unsigned i = 0; i < c->nbars; i++) {
            const struct vgt_pci_bar *b = &c->bars[i];

            if (!b->present)
                continue;
            fprintf(out, "%s{\"index\": %u, \"type\": \"%s\", \"base\": \"0x%llx\", \"size\": ", first ? "" : ", ",
                    i, b->io ? "io" : "memory", (unsigned long long)b->base);
            if (b->size_known)
                fprintf(out, "%llu", (unsigned long long)b->size);
            else
                fprintf(out, "null");
            fprintf(out, ", \"64bit\": %s, \"prefetchable\": %s}", b->is64 ? "true" : "false",
                    b->prefetch ? "true" : "false");
            first = false;
        }
        fprintf(out, "],\n  \"capabilities\": [");
        for (unsigned i = 0; i < c->ncaps; i++)
            fprintf(out, "%s{\"offset\": \"0x%03x\", \"id\": \"0x%02x\", \"extended\": %s, \"name\": \"%s\"}",
                    i ? ", " : "", c->caps[i].offset, c->caps[i].id, c->caps[i].ext ? "true" : "false",
                    c->caps[i].name);
        fprintf(out, "],\n  \"msi\": ");
        if (c->msi.present)
            fprintf(out, "{\"vectors\": %u, \"64bit\": %s, \"masking\": %s}", c->msi.vectors,
                    c->msi.is64 ? "true" : "false", c->msi.maskable ? "true" : "false");
        else
            fprintf(out, "null");
        fprintf(out, ", \"msix\": ");
        if (c->msix.present)
            fprintf(out, "{\"entries\": %u, \"table_bar\": %u, \"table_offset\": \"0x%x\", \"pba_bar\": %u,"
                    " \"pba_offset\": \"0x%x\"}", c->msix.table_size, c->msix.table_bir, c->msix.table_offset,
                    c->msix.pba_bir, c->msix.pba_offset);
        else
            fprintf(out, "null");
        fprintf(out, ", \"pcie\": ");
        if (c->pcie.present)
            fprintf(out, "{\"type\": \"%s\", \"flr\": %s}", vgt_pcie_type_name(c->pcie.type),
                    c->pcie.flr ? "true" : "false");
        else
            fprintf(out, "null");
        fprintf(out, ", \"pm_no_soft_reset\": %s, \"af_flr\": %s",
                c->pm.present ? (c->pm.no_soft_reset ? "true" : "false") : "null",
                c->af.present ? (c->af.flr ? "true" : "false") : "null");
        fprintf(out, ", \"sriov\": ");
        if (c->sriov.present)
            fprintf(out, "{\"total_vfs\": %u, \"num_vfs\": %u}", c->sriov.total_vfs, c->sriov.num_vfs);
        else
            fprintf(out, "null");
        if (c->igd.present)
            fprintf(out, ", \"igd\": {\"asls\": \"0x%08x\", \"bdsm\": \"0x%08llx\"}", c->igd.asls,
                    (unsigned long long)c->igd.bdsm);
        fprintf(out, ",\n  \"reset_methods\": ");
        if (d->reset_file)
            json_str(out, d->reset_methods);
        else
            fprintf(out, "null");
        fprintf(out, ", \"iommu\": \"%s\", \"iommu_group\": ", iommu_name(d->iommu));
        if (d->iommu_group >= 0)
            fprintf(out, "%d", d->iommu_group);
        else
            fprintf(out, "null");
        fprintf(out, ", \"group_peers\": [");
        for (unsigned i = 0; i < d->npeers; i++) {
            fprintf(out, "%s", i ? ", " : "");
            json_str(out, d->peers[i]);
        }
        fprintf(out, "], \"drm_nodes\": [");
        for (unsigned i = 0; i < d->ndrm; i++) {
            fprintf(out, "%s", i ? ", " : "");
            json_str(out, d->drm[i].path);
        }
        fprintf(out, "], \"active_display\": %s,\n  \"verdict\": \"%s\", \"reasons\": [",
                d->nconnected ? "true" : "false", vgt_pci_verdict_name(d->verdict));
        for (unsigned i = 0; i < d->nreasons; i++) {
            fprintf(out, "%s{\"severity\": \"%s\", \"text\": ", i ? ", " : "", sev_name(d->reasons[i].sev));
            json_str(out, d->reasons[i].text);
            fputc('}', out);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n]}\n");
}

unsigned vgt_pci_print_xl(FILE *out, const struct vgt_pci_dev *devs, unsigned n)
{
    unsigned count = 0;
    bool igd = false;

    for (unsigned k = 0; k < n; k++) {
        char bdf[32];

        if (devs[k].verdict == VGT_PCI_NOT_ASSIGNABLE || !devs[k].have_bdf)
            continue;
        vgt_pci_format_bdf(&devs[k], bdf, sizeof(bdf));
        fprintf(out, "%s\"%s\"", count ? ", " : "pci = [ ", bdf);
        count++;
        igd |= devs[k].cfg.igd.present && devs[k].bus == 0 && devs[k].dev == 2 && devs[k].func == 0 &&
               devs[k].domain == 0;
    }
    if (count)
        fprintf(out, " ]\n");
    else
        fprintf(out, "# no assignable device: no pci = [...] line\n");
    if (igd)
        fprintf(out, "gfx_passthru = \"igd\"\n");
    return count;
}

void vgt_pci_print_prepare(FILE *out, const struct vgt_pci_dev *d)
{
    char bdf[32];

    vgt_pci_format_bdf(d, bdf, sizeof(bdf));
    fprintf(out, "# Steps to make %s assignable (vgt runs none of them):\n", bdf);
    if (d->verdict == VGT_PCI_NOT_ASSIGNABLE)
        fprintf(out, "# warning: the device is NOT assignable; see the reasons above\n");
    if (d->nconnected)
        fprintf(out, "# first stop what drives the display (%s), e.g.: systemctl stop display-manager\n",
                d->connectors);
    fprintf(out, "modprobe xen-pciback\n");
    fprintf(out, "# either let xl do the unbind and the bind to pciback:\n");
    fprintf(out, "xl pci-assignable-add %s\n", bdf);
    fprintf(out, "# or by hand through sysfs:\n");
    if (d->driver[0] && strcmp(d->driver, "pciback"))
        fprintf(out, "echo %s > /sys/bus/pci/devices/%s/driver/unbind\n", bdf, bdf);
    fprintf(out, "echo %s > /sys/bus/pci/drivers/pciback/new_slot\n", bdf);
    fprintf(out, "echo %s > /sys/bus/pci/drivers/pciback/bind\n", bdf);
    fprintf(out, "# check: xl pci-assignable-list\n");
}

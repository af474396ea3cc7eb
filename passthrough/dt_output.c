/* Arm device-tree passthrough: what `vgt assign dt` writes. The guest's
 * partial device tree follows Xen's docs/misc/arm/passthrough.txt: a root
 * with #address-cells = #size-cells = 2 and a /passthrough simple-bus
 * holding the devices, their interrupts routed to the guest GIC (phandle
 * 65000, GUEST_PHANDLE_GIC). dom0less adds xen,reg and xen,path
 * (docs/misc/arm/device-tree/booting.txt). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "vgt/dt_assign.h"
#include "vgt/util.h"

#define DT_MAX_DEPTH 64

static bool dropped(const struct vgt_dt_dev *d, const char *name)
{
    for (unsigned i = 0; i < d->ndropped; i++)
        if (!strcmp(d->dropped[i], name))
            return true;
    return false;
}

static int put_u64_pair(fdt32_t *cells, uint64_t v)
{
    cells[0] = cpu_to_fdt32((uint32_t)(v >> 32));
    cells[1] = cpu_to_fdt32((uint32_t)v);
    return 2;
}

/* Copy the properties of host @node; @top is the device node itself. */
static int copy_node(void *out, const void *fdt, const struct vgt_dt_dev *d, int node, bool top, int depth)
{
    int off, rc, child;

    fdt_for_each_property_offset(off, fdt, node) {
        const char *name;
        int len;
        const void *val = vgt_dt_getprop_by_offset(fdt, off, &name, &len);

        if (!val || !name)
            return -FDT_ERR_BADSTRUCTURE; /* a length libfdt did not check */
        if (dropped(d, name) || !strcmp(name, "iommus") || !strcmp(name, "interrupt-parent") ||
            !strcmp(name, "xen,passthrough"))
            continue;
        if (top && (!strcmp(name, "reg") || !strcmp(name, "interrupts") || !strcmp(name, "interrupts-extended")))
            continue;
        if (top && (!strcmp(name, "phandle") || !strcmp(name, "linux,phandle"))) {
            rc = fdt_property_u32(out, name, d->guest_phandle);
        } else {
            rc = fdt_property(out, name, val, len);
        }
        if (rc)
            return rc;
    }
    if (top && d->nregs) {
        fdt32_t cells[VGT_DT_MAX_REGS * 4];
        int n = 0;

        for (unsigned i = 0; i < d->nregs; i++) {
            n += put_u64_pair(cells + n, d->regs[i].guest);
            n += put_u64_pair(cells + n, d->regs[i].size);
        }
        rc = fdt_property(out, "reg", cells, n * 4);
        if (rc)
            return rc;
    }
    if (top && d->nirqs) {
        fdt32_t cells[VGT_DT_MAX_IRQS * 3];

        for (unsigned i = 0; i < d->nirqs; i++) {
            /* Xen's guest GIC takes the 3-cell GIC specifier. */
            cells[3 * i] = cpu_to_fdt32(0);
            cells[3 * i + 1] = cpu_to_fdt32(d->irqs[i].num);
            cells[3 * i + 2] = cpu_to_fdt32(d->irqs[i].flags);
        }
        rc = fdt_property(out, "interrupts", cells, (int)(d->nirqs * 3 * 4));
        if (!rc)
            rc = fdt_property_u32(out, "interrupt-parent", VGT_DT_GUEST_GIC_PHANDLE);
        if (rc)
            return rc;
    }
    if (depth >= DT_MAX_DEPTH)
        return 0;
    fdt_for_each_subnode(child, fdt, node) {
        const char *cname = fdt_get_name(fdt, child, NULL);

        rc = fdt_begin_node(out, cname ? cname : "node");
        if (!rc)
            rc = copy_node(out, fdt, d, child, false, depth + 1);
        if (!rc)
            rc = fdt_end_node(out);
        if (rc)
            return rc;
    }
    return 0;
}

/* A fixed clock, whole: its properties reference nothing but other
 * copied clocks, under the same phandles. */
static int copy_clock(void *out, const void *fdt, const struct vgt_dt_clock *k)
{
    int off, rc = fdt_begin_node(out, k->guest_name);

    fdt_for_each_property_offset(off, fdt, k->offset) {
        const char *name;
        int len;
        const void *val = vgt_dt_getprop_by_offset(fdt, off, &name, &len);

        if (rc)
            break;
        if (!val || !name)
            return -FDT_ERR_BADSTRUCTURE;
        rc = fdt_property(out, name, val, len);
    }
    if (!rc)
        rc = fdt_end_node(out);
    return rc;
}

static int build(void *buf, int size, const void *fdt, const struct vgt_dt_result *res,
                 const struct vgt_dt_opts *opts, bool dom0less)
{
    int rc;

    rc = fdt_create(buf, size);
    if (!rc)
        rc = fdt_finish_reservemap(buf);
    if (!rc)
        rc = fdt_begin_node(buf, "");
    if (!rc)
        rc = fdt_property_u32(buf, "#address-cells", 2);
    if (!rc)
        rc = fdt_property_u32(buf, "#size-cells", 2);
    if (!rc)
        rc = fdt_begin_node(buf, "passthrough");
    if (!rc)
        rc = fdt_property_string(buf, "compatible", "simple-bus");
    if (!rc)
        rc = fdt_property(buf, "ranges", NULL, 0);
    if (!rc)
        rc = fdt_property_u32(buf, "#address-cells", 2);
    if (!rc)
        rc = fdt_property_u32(buf, "#size-cells", 2);
    for (unsigned i = 0; !rc && i < res->ndevs; i++) {
        const struct vgt_dt_dev *d = &res->devs[i];

        rc = fdt_begin_node(buf, d->guest_name);
        if (!rc)
            rc = copy_node(buf, fdt, d, d->offset, true, 0);
        if (!rc && dom0less && d->nregs) {
            fdt32_t cells[VGT_DT_MAX_REGS * 6];
            int n = 0;

            /* xen,reg = <phys size guest>, in the partial tree's 2/2 cells. */
            for (unsigned k = 0; k < d->nregs; k++) {
                n += put_u64_pair(cells + n, d->regs[k].phys);
                n += put_u64_pair(cells + n, d->regs[k].size);
                n += put_u64_pair(cells + n, d->regs[k].guest);
            }
            rc = fdt_property(buf, "xen,reg", cells, n * 4);
        }
        if (!rc && dom0less)
            rc = fdt_property_string(buf, "xen,path", d->path);
        if (!rc && dom0less && !d->iommu && opts && opts->force_no_iommu)
            rc = fdt_property(buf, "xen,force-assign-without-iommu", NULL, 0);
        if (!rc)
            rc = fdt_end_node(buf);
    }
    for (unsigned i = 0; !rc && i < res->nclocks; i++)
        rc = copy_clock(buf, fdt, &res->clocks[i]);
    if (!rc)
        rc = fdt_end_node(buf);
    if (!rc)
        rc = fdt_end_node(buf);
    if (!rc)
        rc = fdt_finish(buf);
    return rc;
}

int vgt_dt_build_guest(const void *fdt, const struct vgt_dt_result *res, const struct vgt_dt_opts *opts,
                       bool dom0less, void **out, size_t *outlen)
{
    int size = (int)VGT_MIN(fdt_totalsize(fdt), 16u << 20) + 16384;

    if (res->nerrors || !res->ndevs)
        return -EINVAL;
    for (int attempt = 0; attempt < 4; attempt++, size *= 2) {
        void *buf = malloc((size_t)size);
        int rc;

        if (!buf)
            return -ENOMEM;
        rc = build(buf, size, fdt, res, opts, dom0less);
        if (rc == 0 && fdt_check_full(buf, (size_t)fdt_totalsize(buf)) == 0) {
            *out = buf;
            *outlen = fdt_totalsize(buf);
            return 0;
        }
        free(buf);
        if (rc != -FDT_ERR_NOSPACE)
            return -EINVAL;
    }
    return -ENOSPC;
}

void vgt_dt_write_xl(FILE *f, const struct vgt_dt_result *res, const char *guest_dtb)
{
    unsigned ndt = 0, nirq = 0;

    fprintf(f, "# Generated by vgt assign dt for:");
    for (unsigned i = 0; i < res->ndevs; i++)
        fprintf(f, " %s", res->devs[i].path);
    fprintf(f, "\n# Xen docs/misc/arm/passthrough.txt; iomem is \"MFN,NR@GFN\" in hex pages.\n");
    fprintf(f, "device_tree = \"%s\"\n", guest_dtb);
    for (unsigned i = 0; i < res->ndevs; i++)
        if (res->devs[i].iommu)
            fprintf(f, "%s\"%s\"", ndt++ ? ", " : "dtdev = [ ", res->devs[i].path);
    if (ndt)
        fprintf(f, " ]\n");
    if (res->nspans) {
        fprintf(f, "iomem = [ ");
        for (unsigned i = 0; i < res->nspans; i++)
            fprintf(f, "%s\"0x%llx,0x%llx@0x%llx\"", i ? ", " : "",
                    (unsigned long long)(res->spans[i].host >> VGT_PAGE_SHIFT),
                    (unsigned long long)(res->spans[i].size >> VGT_PAGE_SHIFT),
                    (unsigned long long)(res->spans[i].guest >> VGT_PAGE_SHIFT));
        fprintf(f, " ]\n");
    }
    for (unsigned i = 0; i < res->ndevs; i++)
        for (unsigned k = 0; k < res->devs[i].nirqs; k++) {
            uint32_t irq = res->devs[i].irqs[k].irq;
            bool seen = false;

            /* An SPI shared by two passed-through devices is listed once. */
            for (unsigned j = 0; j <= i && !seen; j++)
                for (unsigned m = 0; m < (j == i ? k : res->devs[j].nirqs) && !seen; m++)
                    seen = res->devs[j].irqs[m].irq == irq;
            if (!seen)
                fprintf(f, "%s%u", nirq++ ? ", " : "irqs = [ ", irq);
        }
    if (nirq)
        fprintf(f, " ]\n");
}

/* ---- DTS text ---- */

static bool is_string_list(const char *v, int len)
{
    if (len <= 0 || v[len - 1] != 0 || v[0] == 0)
        return false;
    for (int i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];

        if (ch == 0) {
            if (i + 1 < len && v[i + 1] == 0)
                return false;
            continue;
        }
        if (ch < 0x20 || ch > 0x7e)
            return false;
    }
    return true;
}

static void print_prop(FILE *f, const char *name, const void *val, int len, int indent)
{
    const char *v = val;

    fprintf(f, "%*s%s", indent * 4, "", name);
    if (len <= 0) {
        fprintf(f, ";\n");
        return;
    }
    fprintf(f, " = ");
    if (is_string_list(v, len) && (len % 4 || strstr(name, "compatible") || strstr(name, "names") ||
                                   strstr(name, "path") || len > 4 || isalpha((unsigned char)v[0]))) {
        for (int i = 0; i < len;) {
            size_t sl = strlen(v + i);

            fprintf(f, "%s\"", i ? ", " : "");
            for (size_t k = 0; k < sl; k++) {
                char ch = v[i + (int)k];

                if (ch == '"' || ch == '\\')
                    fputc('\\', f);
                fputc(ch, f);
            }
            fputc('"', f);
            i += (int)sl + 1;
        }
    } else if (len % 4 == 0) {
        fputc('<', f);
        for (int i = 0; i < len / 4; i++) {
            fdt32_t c;

            memcpy(&c, v + 4 * i, 4);
            fprintf(f, "%s0x%x", i ? " " : "", fdt32_to_cpu(c));
        }
        fputc('>', f);
    } else {
        fputc('[', f);
        for (int i = 0; i < len; i++)
            fprintf(f, "%s%02x", i ? " " : "", (unsigned char)v[i]);
        fputc(']', f);
    }
    fprintf(f, ";\n");
}

static void print_node(FILE *f, const void *fdt, int node, int indent)
{
    const char *name = fdt_get_name(fdt, node, NULL);
    int off, child;

    fprintf(f, "%*s%s {\n", indent * 4, "", node == 0 ? "/" : name ? name : "?");
    fdt_for_each_property_offset(off, fdt, node) {
        const char *pname;
        int len;
        const void *val = vgt_dt_getprop_by_offset(fdt, off, &pname, &len);

        if (val && pname)
            print_prop(f, pname, val, len, indent + 1);
    }
    if (indent < DT_MAX_DEPTH)
        fdt_for_each_subnode(child, fdt, node)
            print_node(f, fdt, child, indent + 1);
    fprintf(f, "%*s};\n", indent * 4, "");
}

int vgt_dt_write_dts(FILE *f, const void *fdt, const struct vgt_dt_result *res)
{
    if (fdt_check_header(fdt))
        return -EINVAL;
    fprintf(f, "/dts-v1/;\n\n");
    if (res) {
        fprintf(f, "/*\n * dom0less partial device tree generated by vgt assign dt.\n"
                   " * Compile with: dtc -I dts -O dtb -o partial.dtb THIS_FILE\n"
                   " * and load it as the domU's multiboot,device-tree module.\n *\n"
                   " * In the HOST device tree, mark each device for passthrough:\n");
        for (unsigned i = 0; i < res->ndevs; i++)
            fprintf(f, " *   &{%s} { xen,passthrough; };\n", res->devs[i].path);
        fprintf(f, " */\n\n");
    }
    print_node(f, fdt, 0, 0);
    return 0;
}

/* ---- reports ---- */

static const char *sev_name(enum vgt_dt_sev s)
{
    return s == VGT_DT_ERR ? "error" : s == VGT_DT_WARN ? "warning" : "note";
}

static const char *trigger(uint32_t flags)
{
    /* Bits 3:0 of the GIC specifier's third cell (arm,gic.yaml). */
    switch (flags & 0xf) {
    case 1: return "edge rising";
    case 2: return "edge falling";
    case 4: return "level high";
    case 8: return "level low";
    default: return "unspecified";
    }
}

void vgt_dt_print_text(FILE *f, const struct vgt_dt_result *res)
{
    for (unsigned i = 0; i < res->ndevs; i++) {
        const struct vgt_dt_dev *d = &res->devs[i];

        if (d->guest_name[0])
            fprintf(f, "%s  (guest node /passthrough/%s)\n", d->path, d->guest_name);
        else
            fprintf(f, "%s\n", d->path);
        for (unsigned k = 0; k < d->nregs; k++)
            fprintf(f, "  reg: 0x%llx+0x%llx -> guest 0x%llx\n", (unsigned long long)d->regs[k].phys,
                    (unsigned long long)d->regs[k].size, (unsigned long long)d->regs[k].guest);
        for (unsigned k = 0; k < d->nirqs; k++)
            fprintf(f, "  interrupt: SPI %u (%s) -> IRQ %u, GICv%d %s\n    route: %s\n", d->irqs[k].num,
                    trigger(d->irqs[k].flags), d->irqs[k].irq, d->gic_version, d->gic, d->irqs[k].route);
        if (d->iommu) {
            fprintf(f, "  IOMMU: %s%s, stream IDs", d->iommu_node, d->iommu_legacy ? " (mmu-masters)" : "");
            for (unsigned k = 0; k < d->nsids; k++)
                fprintf(f, " 0x%x", d->sids[k]);
            fputc('\n', f);
        } else {
            fprintf(f, "  IOMMU: none\n");
        }
        for (unsigned k = 0; k < d->ndeps; k++)
            fprintf(f, "  depends: %s -> %s%s\n", d->deps[k].prop, d->deps[k].provider,
                    d->deps[k].copied ? " (fixed clock, copied)" : d->deps[k].kept ? " (passed through too)" : "");
        if (d->ndropped) {
            fprintf(f, "  dropped:");
            for (unsigned k = 0; k < d->ndropped; k++)
                fprintf(f, " %s", d->dropped[k]);
            fputc('\n', f);
        }
    }
    for (unsigned i = 0; i < res->nclocks; i++)
        fprintf(f, "%s  (fixed clock, copied as guest node /passthrough/%s)\n", res->clocks[i].path,
                res->clocks[i].guest_name);
    for (unsigned i = 0; i < res->nmsgs; i++)
        fprintf(f, "%s: %s\n", sev_name(res->msgs[i].sev), res->msgs[i].text);
    if (res->nmsgs < res->nerrors + res->nwarnings)
        fprintf(f, "(%u more messages not shown)\n", res->nerrors + res->nwarnings - res->nmsgs);
    fprintf(f, "%u error(s), %u warning(s)\n", res->nerrors, res->nwarnings);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch > 0x7e)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void vgt_dt_print_json(FILE *f, const struct vgt_dt_result *res)
{
    fprintf(f, "{\"devices\": [");
    for (unsigned i = 0; i < res->ndevs; i++) {
        const struct vgt_dt_dev *d = &res->devs[i];

        fprintf(f, "%s\n {\"path\": ", i ? "," : "");
        json_str(f, d->path);
        fprintf(f, ", \"guest_node\": ");
        json_str(f, d->guest_name);
        fprintf(f, ", \"regs\": [");
        for (unsigned k = 0; k < d->nregs; k++)
            fprintf(f, "%s{\"phys\": \"0x%llx\", \"size\": \"0x%llx\", \"guest\": \"0x%llx\"}", k ? ", " : "",
                    (unsigned long long)d->regs[k].phys, (unsigned long long)d->regs[k].size,
                    (unsigned long long)d->regs[k].guest);
        fprintf(f, "], \"gic\": ");
        json_str(f, d->gic);
        fprintf(f, ", \"gic_version\": %d, \"interrupts\": [", d->gic_version);
        for (unsigned k = 0; k < d->nirqs; k++)
        {
            fprintf(f, "%s{\"spi\": %u, \"irq\": %u, \"flags\": %u, \"trigger\": \"%s\", \"route\": ", k ? ", " : "",
                    d->irqs[k].num, d->irqs[k].irq, d->irqs[k].flags, trigger(d->irqs[k].flags));
            json_str(f, d->irqs[k].route);
            fputc('}', f);
        }
        fprintf(f, "], \"iommu\": ");
        if (d->iommu) {
            fprintf(f, "{\"node\": ");
            json_str(f, d->iommu_node);
            fprintf(f, ", \"legacy\": %s, \"stream_ids\": [", d->iommu_legacy ? "true" : "false");
            for (unsigned k = 0; k < d->nsids; k++)
                fprintf(f, "%s%u", k ? ", " : "", d->sids[k]);
            fprintf(f, "]}");
        } else {
            fprintf(f, "null");
        }
        fprintf(f, ", \"dependencies\": [");
        for (unsigned k = 0; k < d->ndeps; k++) {
            fprintf(f, "%s{\"property\": ", k ? ", " : "");
            json_str(f, d->deps[k].prop);
            fprintf(f, ", \"provider\": ");
            json_str(f, d->deps[k].provider);
            fprintf(f, ", \"kept\": %s, \"copied\": %s}", d->deps[k].kept ? "true" : "false",
                    d->deps[k].copied ? "true" : "false");
        }
        fprintf(f, "], \"dropped\": [");
        for (unsigned k = 0; k < d->ndropped; k++) {
            fprintf(f, "%s", k ? ", " : "");
            json_str(f, d->dropped[k]);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "\n], \"iomem\": [");
    for (unsigned i = 0; i < res->nspans; i++)
        fprintf(f, "%s{\"mfn\": \"0x%llx\", \"pages\": %llu, \"gfn\": \"0x%llx\"}", i ? ", " : "",
                (unsigned long long)(res->spans[i].host >> VGT_PAGE_SHIFT),
                (unsigned long long)(res->spans[i].size >> VGT_PAGE_SHIFT),
                (unsigned long long)(res->spans[i].guest >> VGT_PAGE_SHIFT));
    fprintf(f, "], \"clocks\": [");
    for (unsigned i = 0; i < res->nclocks; i++) {
        fprintf(f, "%s{\"path\": ", i ? ", " : "");
        json_str(f, res->clocks[i].path);
        fprintf(f, ", \"guest_node\": ");
        json_str(f, res->clocks[i].guest_name);
        fputc('}', f);
    }
    fprintf(f, "], \"messages\": [");
    for (unsigned i = 0; i < res->nmsgs; i++) {
        fprintf(f, "%s\n {\"severity\": \"%s\", \"text\": ", i ? "," : "", sev_name(res->msgs[i].sev));
        json_str(f, res->msgs[i].text);
        fputc('}', f);
    }
    fprintf(f, "], \"errors\": %u, \"warnings\": %u}\n", res->nerrors, res->nwarnings);
}

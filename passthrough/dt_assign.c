/* Arm device-tree passthrough: reading the host tree (see vgt/dt_assign.h).
 *
 * Binding facts: the Devicetree Specification v0.4 (2.3.5 #address-cells
 * and #size-cells, 2.3.8 ranges, 2.4 interrupts, interrupt-parent,
 * interrupts-extended), Linux bindings interrupt-controller/arm,gic.yaml
 * and arm,gic-v3.yaml (3-cell specifier: type, number, flags), iommu/
 * iommu.txt (iommus = <&iommu ID...>, #iommu-cells) and the legacy
 * iommu/arm,smmu.yaml mmu-masters (<&master SID...>, #stream-id-cells in
 * the master). Xen's Arm guest memory map: xen/include/public/arch-arm.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include "vgt/dt_assign.h"
#include "vgt/util.h"

#define DT_MAX_BLOB (64u << 20)
#define DT_MAX_DEPTH 64

/* Xen's Arm guest physical memory map, from /usr/include/xen/arch-arm.h
 * (Debian 12 libxen-dev, Xen 4.17): the GUEST_* constants. A passthrough
 * region placed on any of these would collide with an emulated device,
 * guest RAM, or a Xen-reserved window. */
struct xen_guest_region {
    const char *name;
    uint64_t base, size;
};

static const struct xen_guest_region xen_guest_map[] = {
    {"GUEST_VIRTIO_MMIO", 0x02000000ull, 0x00100000ull},
    {"GUEST_GICD (v2)", 0x03001000ull, 0x00001000ull},
    {"GUEST_GICC (v2)", 0x03002000ull, 0x00002000ull},
    {"GUEST_GICV3_GICD", 0x03001000ull, 0x00010000ull},
    {"GUEST_GICV3_GICR0", 0x03020000ull, 0x01000000ull},
    {"GUEST_VPCI_ECAM", 0x10000000ull, 0x10000000ull},
    {"GUEST_ACPI", 0x20000000ull, 0x02000000ull},
    {"GUEST_PL011", 0x22000000ull, 0x00001000ull},
    {"GUEST_VPCI_MEM", 0x23000000ull, 0x10000000ull},
    {"GUEST_GNTTAB", 0x38000000ull, 0x01000000ull},
    {"GUEST_MAGIC", 0x39000000ull, 0x01000000ull},
    {"GUEST_RAM0", 0x40000000ull, 0xc0000000ull},
    {"GUEST_VPCI_PREFETCH_MEM", 0x100000000ull, 0x100000000ull},
    {"GUEST_RAM1", 0x0200000000ull, 0xfe00000000ull},
};
/* Guest SPIs Xen uses itself (arch-arm.h GUEST_VPL011_SPI,
 * GUEST_VIRTIO_MMIO_SPI_FIRST..LAST), as INTIDs. */
#define XEN_GUEST_VPL011_SPI 32u
#define XEN_GUEST_VIRTIO_SPI_FIRST 33u
#define XEN_GUEST_VIRTIO_SPI_LAST 43u
/* Highest SPI INTID of a GIC (GICv2/v3 architecture: INTIDs 32..1019). */
#define GIC_MAX_SPI_INTID 1019u

/* GIC compatibles (arm,gic.yaml and arm,gic-v3.yaml). */
static const char *const gicv2_compat[] = {
    "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic", "arm,cortex-a7-gic",
    "arm,arm11mp-gic", "arm,arm1176jzf-devchip-gic", "arm,eb11mp-gic", "arm,pl390",
    "arm,tc11mp-gic", "qcom,msm-8660-qgic", "qcom,msm-qgic2",
};
static const char *const gicv3_compat[] = {"arm,gic-v3"};

/* Properties that tie a device to a provider node in the host, with the
 * provider's cell-count property (NULL: a plain list of phandles). The
 * "-names"/companion properties go with them. */
enum match_kind { M_EXACT, M_PREFIX, M_SUFFIX };
struct dep_prop {
    const char *name;
    enum match_kind kind;
    const char *cells;
    const char *what;
    bool cells_optional; /* a missing cell-count property means 0 */
};

static const struct dep_prop dep_props[] = {
    {"clocks", M_EXACT, "#clock-cells", "clock", false},
    {"assigned-clocks", M_EXACT, "#clock-cells", "clock", false},
    {"assigned-clock-parents", M_EXACT, "#clock-cells", "clock", false},
    {"resets", M_EXACT, "#reset-cells", "reset controller", false},
    {"power-domains", M_EXACT, "#power-domain-cells", "power domain", false},
    {"phys", M_EXACT, "#phy-cells", "PHY", false},
    {"dmas", M_EXACT, "#dma-cells", "DMA controller", false},
    {"gpios", M_EXACT, "#gpio-cells", "GPIO controller", false},
    {"-gpios", M_SUFFIX, "#gpio-cells", "GPIO controller", false},
    {"-gpio", M_SUFFIX, "#gpio-cells", "GPIO controller", false},
    {"pinctrl-", M_PREFIX, NULL, "pin configuration", false},
    {"mboxes", M_EXACT, "#mbox-cells", "mailbox", false},
    {"pwms", M_EXACT, "#pwm-cells", "PWM controller", false},
    {"interconnects", M_EXACT, "#interconnect-cells", "interconnect", false},
    {"io-channels", M_EXACT, "#io-channel-cells", "ADC", false},
    {"msi-parent", M_EXACT, "#msi-cells", "MSI controller", true},
    {"phy-handle", M_EXACT, NULL, "PHY", false},
    {"memory-region", M_EXACT, NULL, "reserved memory", false},
    {"nvmem-cells", M_EXACT, NULL, "NVMEM cell", false},
    {"sram", M_EXACT, NULL, "SRAM", false},
};

static const struct {
    const char *name, *main;
} dep_companions[] = {
    {"clock-names", "clocks"}, {"assigned-clock-rates", "assigned-clocks"}, {"reset-names", "resets"},
    {"power-domain-names", "power-domains"}, {"phy-names", "phys"}, {"dma-names", "dmas"},
    {"pinctrl-names", "pinctrl-0"},
};

struct dt_ctx {
    struct vgt_log *log;
    const void *fdt;
    const struct vgt_dt_opts *opts;
    struct vgt_dt_result *res;
};

static void msg(struct dt_ctx *c, enum vgt_dt_sev sev, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg(struct dt_ctx *c, enum vgt_dt_sev sev, const char *fmt, ...)
{
    struct vgt_dt_result *r = c->res;
    va_list ap;

    if (sev == VGT_DT_ERR)
        r->nerrors++;
    else if (sev == VGT_DT_WARN)
        r->nwarnings++;
    if (r->nmsgs >= VGT_DT_MAX_MSGS)
        return;
    r->msgs[r->nmsgs].sev = sev;
    va_start(ap, fmt);
    vsnprintf(r->msgs[r->nmsgs].text, VGT_DT_MSG_LEN, fmt, ap);
    va_end(ap);
    /* The report carries the messages; the log sees them at debug. */
    vgt_debug(c->log, "%s", r->msgs[r->nmsgs].text);
    r->nmsgs++;
}

/* A property value must lie inside the blob, after libfdt's own checks. */
static const void *prop_checked(const void *fdt, const void *val, int *len)
{
    const char *b = fdt, *v = val;

    if (!val || *len < 0 || v < b || (size_t)(v - b) > fdt_totalsize(fdt) ||
        (size_t)*len > fdt_totalsize(fdt) - (size_t)(v - b)) {
        *len = -FDT_ERR_BADSTRUCTURE;
        return NULL;
    }
    return val;
}

const void *vgt_dt_getprop(const void *fdt, int node, const char *name, int *len)
{
    int l = 0;
    const void *v = fdt_getprop(fdt, node, name, &l);

    v = v ? prop_checked(fdt, v, &l) : NULL;
    if (len)
        *len = l;
    return v;
}

const void *vgt_dt_getprop_by_offset(const void *fdt, int off, const char **name, int *len)
{
    int l = 0;
    const void *v = fdt_getprop_by_offset(fdt, off, name, &l);

    v = v ? prop_checked(fdt, v, &l) : NULL;
    if (len)
        *len = l;
    return v;
}

static uint32_t cell(const void *p, unsigned i)
{
    fdt32_t v;

    memcpy(&v, (const char *)p + 4 * i, 4);
    return fdt32_to_cpu(v);
}

static void node_path(const void *fdt, int off, char *buf, size_t len)
{
    if (fdt_get_path(fdt, off, buf, (int)len) < 0)
        snprintf(buf, len, "<node at offset %d>", off);
}

/* Read an @n-cell number; numbers wider than 64 bits are refused. */
static int read_num(const void *p, int n, uint64_t *out)
{
    uint64_t v = 0;

    if (n < 0 || n > 4)
        return -EINVAL;
    for (int i = 0; i < n; i++) {
        if (i < n - 2 && cell(p, (unsigned)i))
            return -ERANGE;
        v = v << 32 | cell(p, (unsigned)i);
    }
    *out = v;
    return 0;
}

/* Cell counts a node gives its children, checked (libfdt returns
 * -FDT_ERR_BADNCELLS for values over 4). */
static int cells_of(struct dt_ctx *c, int bus, int *ac, int *sc, bool quiet)
{
    char p[VGT_DT_PATH_LEN];

    *ac = fdt_address_cells(c->fdt, bus);
    *sc = fdt_size_cells(c->fdt, bus);
    if (*ac >= 1 && *sc >= 0)
        return 0;
    if (!quiet) {
        node_path(c->fdt, bus, p, sizeof(p));
        msg(c, VGT_DT_ERR, "%s: invalid #address-cells/#size-cells (%s)", p,
            fdt_strerror(*ac < 1 ? (*ac < 0 ? *ac : -FDT_ERR_BADNCELLS) : *sc));
    }
    return -EINVAL;
}

/* Translate [*addr, +size) of a child of @bus up to the CPU's address
 * space, through the `ranges` of @bus and of every ancestor. */
static int translate(struct dt_ctx *c, int node, int bus, uint64_t *addr, uint64_t size, bool quiet)
{
    char np[VGT_DT_PATH_LEN], bp[VGT_DT_PATH_LEN];

    for (int depth = 0; bus > 0; depth++) {
        int parent = fdt_parent_offset(c->fdt, bus);
        int cac, csc, pac, psc, len, entry;
        const void *rng;
        bool found = false;

        if (depth > DT_MAX_DEPTH || parent < 0)
            return -EINVAL;
        if (cells_of(c, bus, &cac, &csc, quiet) || cells_of(c, parent, &pac, &psc, quiet))
            return -EINVAL;
        rng = vgt_dt_getprop(c->fdt, bus, "ranges", &len);
        if (!rng) {
            if (!quiet) {
                node_path(c->fdt, node, np, sizeof(np));
                node_path(c->fdt, bus, bp, sizeof(bp));
                msg(c, VGT_DT_ERR, "%s: parent bus %s has no ranges: its registers are not reachable"
                    " from the CPU", np, bp);
            }
            return -EINVAL;
        }
        entry = (cac + pac + csc) * 4;
        if (len == 0) { /* empty ranges: identity */
            bus = parent;
            continue;
        }
        if (len % entry) {
            if (!quiet) {
                node_path(c->fdt, bus, bp, sizeof(bp));
                msg(c, VGT_DT_ERR, "%s: ranges is %d bytes, not a multiple of %d (%d+%d+%d cells)", bp, len,
                    entry, cac, pac, csc);
            }
            return -EINVAL;
        }
        for (int i = 0; i < len / entry; i++) {
            const char *e = (const char *)rng + i * entry;
            uint64_t child, par, rsz;

            if (read_num(e, cac, &child) || read_num(e + cac * 4, pac, &par) ||
                read_num(e + (cac + pac) * 4, csc, &rsz)) {
                if (!quiet) {
                    node_path(c->fdt, bus, bp, sizeof(bp));
                    msg(c, VGT_DT_ERR, "%s: ranges entry %d does not fit in 64 bits", bp, i);
                }
                return -ERANGE;
            }
            if (vgt_range_within(*addr, size ? size : 1, child, rsz)) {
                if (par + (*addr - child) < par) /* wraps */
                    break;
                *addr = par + (*addr - child);
                found = true;
                break;
            }
        }
        if (!found) {
            if (!quiet) {
                node_path(c->fdt, node, np, sizeof(np));
                node_path(c->fdt, bus, bp, sizeof(bp));
                msg(c, VGT_DT_ERR, "%s: 0x%llx+0x%llx is outside every ranges window of %s", np,
                    (unsigned long long)*addr, (unsigned long long)size, bp);
            }
            return -ERANGE;
        }
        bus = parent;
    }
    return 0;
}

/* The node's reg entries, translated to CPU addresses. Returns the count
 * or a negative errno (with messages unless @quiet). */
static int read_regs(struct dt_ctx *c, int node, struct vgt_dt_region *out, unsigned max, bool quiet)
{
    char np[VGT_DT_PATH_LEN];
    int bus = fdt_parent_offset(c->fdt, node), ac, sc, len, n;
    const void *reg = vgt_dt_getprop(c->fdt, node, "reg", &len);

    if (!reg)
        return 0;
    if (bus < 0 || cells_of(c, bus, &ac, &sc, quiet))
        return -EINVAL;
    if (!quiet)
        node_path(c->fdt, node, np, sizeof(np));
    if (sc == 0) {
        if (!quiet)
            msg(c, VGT_DT_ERR, "%s: reg has no size cells (#size-cells = 0): not a memory-mapped device", np);
        return -EINVAL;
    }
    if (len % ((ac + sc) * 4)) {
        if (!quiet)
            msg(c, VGT_DT_ERR, "%s: reg is %d bytes, not a multiple of %d (#address-cells %d + #size-cells %d)",
                np, len, (ac + sc) * 4, ac, sc);
        return -EINVAL;
    }
    n = len / ((ac + sc) * 4);
    if ((unsigned)n > max) {
        if (!quiet)
            msg(c, VGT_DT_ERR, "%s: %d reg entries, more than the %u supported", np, n, max);
        return -E2BIG;
    }
    for (int i = 0; i < n; i++) {
        const char *e = (const char *)reg + i * (ac + sc) * 4;
        uint64_t a, s;

        if (read_num(e, ac, &a) || read_num(e + ac * 4, sc, &s)) {
            if (!quiet)
                msg(c, VGT_DT_ERR, "%s: reg entry %d does not fit in 64 bits", np, i);
            return -ERANGE;
        }
        if (s == 0 || a + s - 1 < a) {
            if (!quiet)
                msg(c, VGT_DT_ERR, "%s: reg entry %d (0x%llx+0x%llx) is empty or wraps", np, i,
                    (unsigned long long)a, (unsigned long long)s);
            return -EINVAL;
        }
        if (translate(c, node, bus, &a, s, quiet))
            return -EINVAL;
        if (a + s - 1 < a)
            return -ERANGE;
        out[i].phys = a;
        out[i].size = s;
        out[i].guest = a;
    }
    return n;
}

static int gic_version(const void *fdt, int off)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(gicv3_compat); i++)
        if (!fdt_node_check_compatible(fdt, off, gicv3_compat[i]))
            return 3;
    for (size_t i = 0; i < VGT_ARRAY_SIZE(gicv2_compat); i++)
        if (!fdt_node_check_compatible(fdt, off, gicv2_compat[i]))
            return 2;
    return 0;
}

/* ---- Interrupt resolution, as Linux's of_irq_parse_one/of_irq_parse_raw
 * (drivers/of/irq.c, 6.1) walk it: the interrupt parent is the node's or
 * an ancestor's interrupt-parent, else the nearest parent, until a node
 * with #interrupt-cells; a nexus (interrupt-map) translates <unit address,
 * specifier> masked by interrupt-map-mask into its parent's <unit
 * address, specifier>, where the first #address-cells come from the
 * nexus (or its ancestors, default 2) and the parent's own #address-cells
 * (default 0); the walk ends at an interrupt-controller without a map. */

#define IRQ_MAX_ARGS 16 /* MAX_PHANDLE_ARGS, include/linux/of.h */
#define IRQ_MAX_HOPS 16

/* Controllers whose interrupt-map Linux ignores (of_irq_imap_abusers). */
static const char *const imap_abusers[] = {
    "CBEA,platform-spider-pic", "sti,platform-spider-pic", "realtek,rtl-intc", "fsl,ls1021a-extirq",
    "fsl,ls1043a-extirq", "fsl,ls1088a-extirq", "renesas,rza1-irqc", "pasemi,rootbus",
};

struct irq_spec {
    int gic;
    int version;
    uint32_t type, num, flags;
    char route[VGT_DT_ROUTE_LEN];
};

/* Why resolving failed, for the caller's message. */
struct irq_walk {
    struct dt_ctx *c;
    char why[VGT_DT_MSG_LEN - 64];
};

static void why(struct irq_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(struct irq_walk *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
}

static bool prop_u32(const void *fdt, int node, const char *name, uint32_t *v)
{
    int len;
    const void *p = vgt_dt_getprop(fdt, node, name, &len);

    if (!p || len != 4)
        return false;
    *v = cell(p, 0);
    return true;
}

static bool available(const void *fdt, int node)
{
    int len;
    const char *s = vgt_dt_getprop(fdt, node, "status", &len);

    if (!s)
        return true;
    return len > 0 && memchr(s, 0, (size_t)len) && (!strcmp(s, "okay") || !strcmp(s, "ok"));
}

/* of_irq_find_parent: the first node with #interrupt-cells, following
 * interrupt-parent where present and the tree's parent otherwise. */
static int find_irq_parent(struct irq_walk *w, int node)
{
    const void *fdt = w->c->fdt;
    char np[VGT_DT_PATH_LEN];

    for (int depth = 0, n = node; depth <= DT_MAX_DEPTH; depth++) {
        int len, p;
        const void *ph = vgt_dt_getprop(fdt, n, "interrupt-parent", &len);

        if (ph) {
            if (len != 4) {
                node_path(fdt, n, np, sizeof(np));
                why(w, "%s: interrupt-parent is %d bytes, not one phandle", np, len);
                return -EINVAL;
            }
            p = fdt_node_offset_by_phandle(fdt, cell(ph, 0));
            if (p < 0) {
                node_path(fdt, n, np, sizeof(np));
                why(w, "%s: interrupt-parent phandle 0x%x does not resolve to a node", np, cell(ph, 0));
                return -ENOENT;
            }
        } else {
            p = fdt_parent_offset(fdt, n);
        }
        if (p < 0)
            break;
        if (vgt_dt_getprop(fdt, p, "#interrupt-cells", NULL))
            return p;
        n = p;
    }
    node_path(fdt, node, np, sizeof(np));
    why(w, "%s: no interrupt parent (no interrupt-parent with #interrupt-cells in it or its parents)", np);
    return -ENOENT;
}

static void route_add(char *route, int node, const void *fdt, const uint32_t *args, unsigned n)
{
    size_t used = strlen(route);
    char p[VGT_DT_PATH_LEN];

    node_path(fdt, node, p, sizeof(p));
    if (used)
        used += (size_t)snprintf(route + used, used < VGT_DT_ROUTE_LEN ? VGT_DT_ROUTE_LEN - used : 0, " -> ");
    if (used < VGT_DT_ROUTE_LEN)
        used += (size_t)snprintf(route + used, VGT_DT_ROUTE_LEN - used, "%s <", p);
    for (unsigned i = 0; i < n && used < VGT_DT_ROUTE_LEN; i++)
        used += (size_t)snprintf(route + used, VGT_DT_ROUTE_LEN - used, "%s%u", i ? " " : "", args[i]);
    if (used < VGT_DT_ROUTE_LEN)
        snprintf(route + used, VGT_DT_ROUTE_LEN - used, ">");
}

static bool is_imap_abuser(const void *fdt, int node)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(imap_abusers); i++)
        if (!fdt_node_check_compatible(fdt, node, imap_abusers[i]))
            return true;
    return false;
}

/* One specifier @args (@intsize cells, for controller/nexus @ipar) of
 * @node, walked to its controller (of_irq_parse_raw). */
static int resolve_irq(struct irq_walk *w, int node, int ipar, const uint32_t *args, uint32_t intsize,
                       struct irq_spec *out)
{
    const void *fdt = w->c->fdt;
    uint32_t match[IRQ_MAX_ARGS], addrsize = 2;
    const void *addr;
    int alen = 0, len;
    char ip[VGT_DT_PATH_LEN];

    out->route[0] = 0;
    addr = vgt_dt_getprop(fdt, node, "reg", &alen);
    /* #address-cells of the parent or the nearest ancestor with one
     * ("the old linux trick"), 2 when none has it. */
    for (int n = ipar, depth = 0; n >= 0 && depth <= DT_MAX_DEPTH; n = fdt_parent_offset(fdt, n), depth++)
        if (prop_u32(fdt, n, "#address-cells", &addrsize))
            break;
    if (addrsize > IRQ_MAX_ARGS || intsize > IRQ_MAX_ARGS || addrsize + intsize > IRQ_MAX_ARGS) {
        node_path(fdt, ipar, ip, sizeof(ip));
        why(w, "%s: #address-cells %u + #interrupt-cells %u is more than %u cells", ip, addrsize, intsize,
            IRQ_MAX_ARGS);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < addrsize; i++)
        match[i] = addr && (int)(4 * (i + 1)) <= alen ? cell(addr, i) : 0;
    memcpy(match + addrsize, args, intsize * 4);
    route_add(out->route, ipar, fdt, args, intsize);
    for (int hop = 0; hop < IRQ_MAX_HOPS; hop++) {
        const void *imap = vgt_dt_getprop(fdt, ipar, "interrupt-map", &len);
        const void *imask;
        bool intc = vgt_dt_getprop(fdt, ipar, "interrupt-controller", NULL) != NULL;
        int mlen, pos, ncells, newpar = -1;
        uint32_t nas = 0, nis = 0;
        bool matched = false;

        if (intc && (!imap || is_imap_abuser(fdt, ipar))) {
            out->gic = ipar;
            out->version = gic_version(fdt, ipar);
            if (!out->version) {
                const char *compat = vgt_dt_getprop(fdt, ipar, "compatible", &mlen);

                node_path(fdt, ipar, ip, sizeof(ip));
                why(w, "interrupt controller %s (%s) is not a GIC: its interrupts cannot be routed to a guest"
                    " (route: %s)", ip, compat && mlen > 0 && memchr(compat, 0, (size_t)mlen) ? compat
                    : "no compatible", out->route);
                return -EINVAL;
            }
            if (intsize < 3 || intsize > 4) {
                node_path(fdt, ipar, ip, sizeof(ip));
                why(w, "#interrupt-cells of GIC %s is missing or not 3/4", ip);
                return -EINVAL;
            }
            out->type = match[addrsize];
            out->num = match[addrsize + 1];
            out->flags = match[addrsize + 2];
            return 0;
        }
        node_path(fdt, ipar, ip, sizeof(ip));
        if (!imap) { /* neither controller nor nexus: on to its parent */
            if (!vgt_dt_getprop(fdt, ipar, "#interrupt-cells", NULL) && hop == 0) {
                why(w, "%s: no #interrupt-cells", ip);
                return -EINVAL;
            }
            ipar = find_irq_parent(w, ipar);
            if (ipar < 0)
                return ipar;
            route_add(out->route, ipar, fdt, match + addrsize, intsize);
            continue;
        }
        if (addrsize && !addr) {
            why(w, "%s has an interrupt-map keyed by a %u-cell unit address, but the device has no reg", ip,
                addrsize);
            return -EINVAL;
        }
        if (addrsize && alen < (int)(addrsize * 4)) {
            why(w, "reg is %d bytes, shorter than the %u-cell unit address that %s's interrupt-map needs", alen,
                addrsize, ip);
            return -EINVAL;
        }
        if (len % 4) {
            why(w, "%s: interrupt-map is %d bytes, not whole cells", ip, len);
            return -EINVAL;
        }
        imask = vgt_dt_getprop(fdt, ipar, "interrupt-map-mask", &mlen);
        if (imask && mlen != (int)((addrsize + intsize) * 4)) {
            why(w, "%s: interrupt-map-mask is %d bytes, not %u (#address-cells %u + #interrupt-cells %u)", ip,
                mlen, (addrsize + intsize) * 4, addrsize, intsize);
            return -EINVAL;
        }
        ncells = len / 4;
        /* Entries: child unit address, child specifier, parent phandle,
         * parent unit address (#address-cells of the parent, default 0),
         * parent specifier (#interrupt-cells of the parent). */
        for (pos = 0; ncells - pos > (int)(addrsize + intsize + 1);) {
            bool m = true;
            int ent = pos, par;

            for (uint32_t i = 0; i < addrsize + intsize; i++) {
                uint32_t k = imask ? cell(imask, i) : 0xffffffffu;

                m = m && !((match[i] ^ cell(imap, (unsigned)pos + i)) & k);
            }
            pos += (int)(addrsize + intsize);
            par = fdt_node_offset_by_phandle(fdt, cell(imap, (unsigned)pos));
            if (par < 0) {
                why(w, "%s: interrupt-map entry at cell %d names phandle 0x%x, which no node has", ip, ent,
                    cell(imap, (unsigned)pos));
                return -ENOENT;
            }
            pos++;
            if (!prop_u32(fdt, par, "#interrupt-cells", &nis)) {
                node_path(fdt, par, ip, sizeof(ip));
                why(w, "interrupt-map parent %s has no valid #interrupt-cells", ip);
                return -EINVAL;
            }
            if (!prop_u32(fdt, par, "#address-cells", &nas))
                nas = 0;
            if (nas > IRQ_MAX_ARGS || nis > IRQ_MAX_ARGS || nas + nis > IRQ_MAX_ARGS ||
                ncells - pos < (int)(nas + nis)) {
                why(w, "%s: interrupt-map entry at cell %d is truncated or too wide", ip, ent);
                return -EINVAL;
            }
            if (m && available(fdt, par)) {
                for (uint32_t i = 0; i < nas + nis; i++)
                    match[i] = cell(imap, (unsigned)pos + i);
                newpar = par;
                matched = true;
                break;
            }
            pos += (int)(nas + nis);
        }
        if (!matched) {
            char spec[96];
            size_t u = 0;

            for (uint32_t i = 0; i < addrsize + intsize && u < sizeof(spec); i++)
                u += (size_t)snprintf(spec + u, sizeof(spec) - u, "%s0x%x", i ? " " : "", match[i]);
            why(w, "no interrupt-map entry of %s matches <%s> (unit address and specifier, after the mask)", ip,
                spec);
            return -ENOENT;
        }
        addrsize = nas;
        intsize = nis;
        route_add(out->route, newpar, fdt, match + addrsize, intsize);
        if (newpar == ipar) { /* a map entry to itself ends the walk (Linux) */
            out->gic = ipar;
            out->version = gic_version(fdt, ipar);
            if (!out->version || intsize < 3) {
                why(w, "interrupt-map of %s maps to itself, which is not a GIC", ip);
                return -EINVAL;
            }
            out->type = match[addrsize];
            out->num = match[addrsize + 1];
            out->flags = match[addrsize + 2];
            return 0;
        }
        ipar = newpar;
    }
    why(w, "more than %d interrupt-map hops (a loop?): %s", IRQ_MAX_HOPS, out->route);
    return -ELOOP;
}

/* All interrupts of @node (interrupts-extended, else interrupts), each
 * resolved to its GIC. */
static int collect_irqs(struct dt_ctx *c, int node, struct irq_spec *out, unsigned max, bool quiet)
{
    struct irq_walk w = {.c = c};
    char np[VGT_DT_PATH_LEN];
    uint32_t args[IRQ_MAX_ARGS];
    int len, n = 0, rc = 0;
    const void *ext = vgt_dt_getprop(c->fdt, node, "interrupts-extended", &len);
    const void *p;

    if (ext) {
        int pos = 0, ncells = len / 4;

        if (len % 4) {
            why(&w, "interrupts-extended is %d bytes, not whole cells", len);
            rc = -EINVAL;
            goto report;
        }
        while (pos < ncells) {
            int ctl = fdt_node_offset_by_phandle(c->fdt, cell(ext, (unsigned)pos));
            uint32_t nc;

            if (ctl < 0) {
                why(&w, "interrupts-extended phandle 0x%x (cell %d) does not resolve to a node",
                    cell(ext, (unsigned)pos), pos);
                rc = -ENOENT;
                goto report;
            }
            if (!prop_u32(c->fdt, ctl, "#interrupt-cells", &nc) || nc > IRQ_MAX_ARGS) {
                node_path(c->fdt, ctl, np, sizeof(np));
                why(&w, "interrupts-extended: %s has no valid #interrupt-cells", np);
                rc = -EINVAL;
                goto report;
            }
            if (pos + 1 + (int)nc > ncells) {
                why(&w, "interrupts-extended is truncated at cell %d", pos);
                rc = -EINVAL;
                goto report;
            }
            if ((unsigned)n >= max) {
                why(&w, "more than %u interrupts", max);
                rc = -E2BIG;
                goto report;
            }
            for (uint32_t i = 0; i < nc; i++)
                args[i] = cell(ext, (unsigned)pos + 1 + i);
            rc = resolve_irq(&w, node, ctl, args, nc, &out[n]);
            if (rc)
                goto report;
            n++;
            pos += 1 + (int)nc;
        }
        return n;
    }
    p = vgt_dt_getprop(c->fdt, node, "interrupts", &len);
    if (!p)
        return 0;
    {
        int ipar = find_irq_parent(&w, node);
        uint32_t nc;

        if (ipar < 0) {
            rc = ipar;
            goto report;
        }
        if (!prop_u32(c->fdt, ipar, "#interrupt-cells", &nc) || nc == 0 || nc > IRQ_MAX_ARGS) {
            node_path(c->fdt, ipar, np, sizeof(np));
            why(&w, "#interrupt-cells of interrupt parent %s is missing or invalid", np);
            rc = -EINVAL;
            goto report;
        }
        if (len % (int)(nc * 4)) {
            why(&w, "interrupts is %d bytes, not a multiple of %u-cell specifiers (#interrupt-cells of %s)", len,
                nc, (node_path(c->fdt, ipar, np, sizeof(np)), np));
            rc = -EINVAL;
            goto report;
        }
        if ((unsigned)(len / (int)(nc * 4)) > max) {
            why(&w, "more than %u interrupts", max);
            rc = -E2BIG;
            goto report;
        }
        for (int i = 0; i < len / (int)(nc * 4); i++) {
            for (uint32_t k = 0; k < nc; k++)
                args[k] = cell(p, (unsigned)i * nc + k);
            rc = resolve_irq(&w, node, ipar, args, nc, &out[n]);
            if (rc)
                goto report;
            n++;
        }
    }
    return n;

report:
    if (!quiet) {
        node_path(c->fdt, node, np, sizeof(np));
        msg(c, VGT_DT_ERR, "%s: interrupt %d: %s", np, n, w.why);
    }
    return rc;
}

static bool in_selected(const struct vgt_dt_result *r, const void *fdt, int off)
{
    /* @off is a selected node or inside one. */
    for (int n = off, depth = 0; n >= 0 && depth <= DT_MAX_DEPTH; n = fdt_parent_offset(fdt, n), depth++)
        for (unsigned i = 0; i < r->ndevs; i++)
            if (r->devs[i].offset == n)
                return true;
    return false;
}

static bool is_ancestor(const void *fdt, int anc, int node)
{
    for (int n = fdt_parent_offset(fdt, node), depth = 0; n >= 0 && depth <= DT_MAX_DEPTH;
         n = fdt_parent_offset(fdt, n), depth++)
        if (n == anc)
            return true;
    return false;
}

static const struct dep_prop *dep_match(const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < VGT_ARRAY_SIZE(dep_props); i++) {
        const struct dep_prop *d = &dep_props[i];
        size_t dl = strlen(d->name);

        if ((d->kind == M_EXACT && !strcmp(name, d->name)) ||
            (d->kind == M_PREFIX && nl > dl && !strncmp(name, d->name, dl) &&
             strspn(name + dl, "0123456789") == nl - dl) ||
            (d->kind == M_SUFFIX && nl > dl && !strcmp(name + nl - dl, d->name)))
            return d;
    }
    return NULL;
}

/* The dependency property a companion belongs to, or NULL. */
static const char *companion_of(const char *name)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(dep_companions); i++)
        if (!strcmp(name, dep_companions[i].name))
            return dep_companions[i].main;
    return NULL;
}

/* Walk a phandle list with arguments: for each entry call @fn with the
 * provider offset. Returns 0 or a negative errno (with a message). */
typedef void (*phandle_fn)(struct dt_ctx *c, struct vgt_dt_dev *d, const char *prop, const struct dep_prop *dp,
                           int provider);

static int walk_phandles(struct dt_ctx *c, struct vgt_dt_dev *d, int node, const char *prop, const void *val,
                         int len, const struct dep_prop *dp, phandle_fn fn)
{
    char np[VGT_DT_PATH_LEN];
    int ncells = len / 4, pos = 0;

    node_path(c->fdt, node, np, sizeof(np));
    if (len % 4) {
        msg(c, VGT_DT_ERR, "%s: %s is %d bytes, not whole cells", np, prop, len);
        return -EINVAL;
    }
    while (pos < ncells) {
        uint32_t ph = cell(val, (unsigned)pos);
        int prov, nargs = 0;

        if (ph == 0) { /* an empty slot (e.g. a GPIO hole) */
            pos++;
            continue;
        }
        prov = fdt_node_offset_by_phandle(c->fdt, ph);
        if (prov < 0) {
            msg(c, VGT_DT_ERR, "%s: %s refers to phandle 0x%x (cell %d), which no node has", np, prop, ph, pos);
            return -ENOENT;
        }
        if (dp && dp->cells) {
            int cl;
            const void *cp = vgt_dt_getprop(c->fdt, prov, dp->cells, &cl);
            char pp[VGT_DT_PATH_LEN];

            if (!cp && dp->cells_optional) {
                nargs = 0;
            } else if (!cp || cl != 4 || cell(cp, 0) > 16) {
                node_path(c->fdt, prov, pp, sizeof(pp));
                msg(c, VGT_DT_ERR, "%s: %s provider %s has no valid %s", np, prop, pp, dp->cells);
                return -EINVAL;
            } else {
                nargs = (int)cell(cp, 0);
            }
        }
        if (pos + 1 + nargs > ncells) {
            msg(c, VGT_DT_ERR, "%s: %s is truncated at cell %d", np, prop, pos);
            return -EINVAL;
        }
        fn(c, d, prop, dp, prov);
        pos += 1 + nargs;
    }
    return 0;
}

/* The clock rule: a fixed-clock, or a fixed-factor-clock whose single
 * parent is fixed (recursively), needs nothing from the host, so it is
 * copied into the guest (bindings clock/fixed-clock.yaml and
 * fixed-factor-clock.yaml). Returns the parent's offset through @parent. */
static bool fixed_clock(const void *fdt, int off, int depth, int *parent)
{
    int len, prov;
    const void *p;
    uint32_t nc;

    *parent = -1;
    if (!fdt_node_check_compatible(fdt, off, "fixed-clock"))
        return true;
    if (depth >= 8 || fdt_node_check_compatible(fdt, off, "fixed-factor-clock"))
        return false;
    p = vgt_dt_getprop(fdt, off, "clocks", &len);
    if (!p || len != 4)
        return false;
    prov = fdt_node_offset_by_phandle(fdt, cell(p, 0));
    if (prov < 0 || prov == off || !prop_u32(fdt, prov, "#clock-cells", &nc) || nc != 0)
        return false;
    if (!fixed_clock(fdt, prov, depth + 1, &len))
        return false;
    *parent = prov;
    return true;
}

/* Add fixed clock @off (and its parents) to the copy list. */
static bool add_clock(struct dt_ctx *c, int off, int depth)
{
    struct vgt_dt_result *r = c->res;
    struct vgt_dt_clock *k;
    int parent;
    uint32_t ph = fdt_get_phandle(c->fdt, off);

    for (unsigned i = 0; i < r->nclocks; i++)
        if (r->clocks[i].offset == off)
            return true;
    /* 65000 is the guest GIC's phandle; a clock without one cannot be
     * referred to. */
    if (!fixed_clock(c->fdt, off, 0, &parent) || !ph || ph == VGT_DT_GUEST_GIC_PHANDLE ||
        r->nclocks >= VGT_DT_MAX_CLOCKS || depth > 8)
        return false;
    if (parent >= 0 && !in_selected(r, c->fdt, parent) && !add_clock(c, parent, depth + 1))
        return false;
    k = &r->clocks[r->nclocks++];
    k->offset = off;
    k->parent = parent;
    k->phandle = ph;
    node_path(c->fdt, off, k->path, sizeof(k->path));
    return true;
}

static void add_dep(struct dt_ctx *c, struct vgt_dt_dev *d, const char *prop, const struct dep_prop *dp, int prov)
{
    struct vgt_dt_dep *e;
    char pp[VGT_DT_PATH_LEN];

    (void)dp;
    /* For pinctrl-N the provider is the pin configuration node, whose
     * path names its pin controller. */
    node_path(c->fdt, prov, pp, sizeof(pp));
    for (unsigned i = 0; i < d->ndeps; i++)
        if (!strcmp(d->deps[i].prop, prop) && !strcmp(d->deps[i].provider, pp))
            return;
    if (d->ndeps >= VGT_DT_MAX_DEPS)
        return;
    e = &d->deps[d->ndeps++];
    snprintf(e->prop, sizeof(e->prop), "%s", prop);
    memcpy(e->provider, pp, sizeof(pp));
    e->kept = in_selected(c->res, c->fdt, prov);
    if (!e->kept && dp && dp->cells && !strcmp(dp->cells, "#clock-cells") && add_clock(c, prov, 0))
        e->kept = e->copied = true;
}

static void add_dropped(struct vgt_dt_dev *d, const char *prop)
{
    for (unsigned i = 0; i < d->ndropped; i++)
        if (!strcmp(d->dropped[i], prop))
            return;
    if (d->ndropped < VGT_DT_MAX_DROPPED)
        snprintf(d->dropped[d->ndropped++], sizeof(d->dropped[0]), "%s", prop);
}

/* Dependencies of @node (and its subnodes, which are copied with it). */
static int scan_deps(struct dt_ctx *c, struct vgt_dt_dev *d, int node, int depth)
{
    int off, rc = 0;

    fdt_for_each_property_offset(off, c->fdt, node) {
        const char *name;
        int len;
        const void *val = vgt_dt_getprop_by_offset(c->fdt, off, &name, &len);
        const struct dep_prop *dp;

        if (!val) {
            char np[VGT_DT_PATH_LEN];

            /* Copied to the guest as is: refuse it here, by name. */
            node_path(c->fdt, node, np, sizeof(np));
            msg(c, VGT_DT_ERR, "%s: a property%s%s has an invalid length (%d): malformed device tree", np,
                name ? " " : "", name ? name : "", len);
            rc = -EINVAL;
            continue;
        }
        if (!name)
            continue;
        dp = dep_match(name);
        if (dp)
            rc |= walk_phandles(c, d, node, name, val, len, dp, add_dep);
    }
    if (depth < DT_MAX_DEPTH) {
        int child;

        fdt_for_each_subnode(child, c->fdt, node)
            rc |= scan_deps(c, d, child, depth + 1);
    }
    return rc ? -EINVAL : 0;
}

static bool dep_kept(const struct vgt_dt_dev *d, const char *prop)
{
    bool any = false;

    for (unsigned i = 0; i < d->ndeps; i++) {
        if (strcmp(d->deps[i].prop, prop))
            continue;
        if (!d->deps[i].kept)
            return false;
        any = true;
    }
    return any;
}

/* The properties of @node and its subnodes that do not go to the guest:
 * dependencies on host-only providers and their companions. */
static void mark_dropped(struct dt_ctx *c, struct vgt_dt_dev *d, int node, int depth)
{
    int off, child;

    fdt_for_each_property_offset(off, c->fdt, node) {
        const char *name, *main;
        int len;

        if (!vgt_dt_getprop_by_offset(c->fdt, off, &name, &len) || !name)
            continue;
        if (dep_match(name) && !dep_kept(d, name))
            add_dropped(d, name);
        main = companion_of(name);
        if (main && !dep_kept(d, main))
            add_dropped(d, name);
    }
    if (depth < DT_MAX_DEPTH)
        fdt_for_each_subnode(child, c->fdt, node)
            mark_dropped(c, d, child, depth + 1);
}

static void set_iommu(struct dt_ctx *c, struct vgt_dt_dev *d, const char *prop, const struct dep_prop *dp, int prov)
{
    (void)prop, (void)dp;
    d->iommu = true;
    node_path(c->fdt, prov, d->iommu_node, sizeof(d->iommu_node));
}

static int scan_iommu(struct dt_ctx *c, struct vgt_dt_dev *d)
{
    static const struct dep_prop iommu_prop = {"iommus", M_EXACT, "#iommu-cells", "IOMMU", false};
    int len, off, depth = 0;
    const void *p = vgt_dt_getprop(c->fdt, d->offset, "iommus", &len);

    if (p) {
        int pos = 0;

        if (walk_phandles(c, d, d->offset, "iommus", p, len, &iommu_prop, set_iommu))
            return -EINVAL;
        /* Stream IDs: the argument cells after each phandle. */
        while (pos < len / 4) {
            int prov = fdt_node_offset_by_phandle(c->fdt, cell(p, (unsigned)pos));
            int cl, nargs;
            const void *cp = prov >= 0 ? vgt_dt_getprop(c->fdt, prov, "#iommu-cells", &cl) : NULL;

            if (!cp)
                break;
            nargs = (int)cell(cp, 0);
            for (int k = 0; k < nargs && pos + 1 + k < len / 4 && d->nsids < VGT_DT_MAX_SIDS; k++)
                d->sids[d->nsids++] = cell(p, (unsigned)(pos + 1 + k));
            pos += 1 + nargs;
        }
        add_dropped(d, "iommus");
        return 0;
    }
    if (!d->phandle)
        return 0;
    /* Legacy SMMU binding: mmu-masters = <&master sid...> in the SMMU. */
    for (off = fdt_next_node(c->fdt, -1, &depth); off >= 0; off = fdt_next_node(c->fdt, off, &depth)) {
        const void *mm = vgt_dt_getprop(c->fdt, off, "mmu-masters", &len);
        int pos = 0;

        if (!mm || len % 4)
            continue;
        while (pos < len / 4) {
            int master = fdt_node_offset_by_phandle(c->fdt, cell(mm, (unsigned)pos));
            int cl, n = 0;
            const void *cp = master >= 0 ? vgt_dt_getprop(c->fdt, master, "#stream-id-cells", &cl) : NULL;

            if (!cp || cl != 4 || cell(cp, 0) > 16)
                break;
            n = (int)cell(cp, 0);
            if (cell(mm, (unsigned)pos) == d->phandle) {
                d->iommu = d->iommu_legacy = true;
                add_dropped(d, "#stream-id-cells");
                node_path(c->fdt, off, d->iommu_node, sizeof(d->iommu_node));
                for (int k = 0; k < n && pos + 1 + k < len / 4 && d->nsids < VGT_DT_MAX_SIDS; k++)
                    d->sids[d->nsids++] = cell(mm, (unsigned)(pos + 1 + k));
            }
            pos += 1 + n;
        }
    }
    return 0;
}

static int analyse_irqs(struct dt_ctx *c, struct vgt_dt_dev *d)
{
    struct irq_spec specs[VGT_DT_MAX_IRQS];
    int n = collect_irqs(c, d->offset, specs, VGT_DT_MAX_IRQS, false);
    int rc = 0;

    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        struct vgt_dt_irq *q = &d->irqs[d->nirqs];

        if (!d->gic_version) {
            d->gic_version = specs[i].version;
            node_path(c->fdt, specs[i].gic, d->gic, sizeof(d->gic));
        }
        if (specs[i].type != 0) {
            static const char *const kinds[] = {"SPI", "PPI", "extended SPI", "extended PPI"};

            msg(c, VGT_DT_ERR, "%s: interrupt %d is a %s (%u): only SPIs can be passed through (route: %s)",
                d->path, i, specs[i].type < 4 ? kinds[specs[i].type] : "reserved type", specs[i].num,
                specs[i].route);
            rc = -EINVAL;
            continue;
        }
        if (specs[i].num + 32 > GIC_MAX_SPI_INTID) {
            msg(c, VGT_DT_ERR, "%s: interrupt %d: SPI %u is beyond the GIC's range (INTID %u > %u)", d->path, i,
                specs[i].num, specs[i].num + 32, GIC_MAX_SPI_INTID);
            rc = -EINVAL;
            continue;
        }
        q->type = specs[i].type;
        q->num = specs[i].num;
        q->flags = specs[i].flags;
        memcpy(q->route, specs[i].route, sizeof(q->route));
        q->irq = specs[i].num + 32;
        d->nirqs++;
        if (q->irq == XEN_GUEST_VPL011_SPI)
            msg(c, VGT_DT_WARN, "%s: IRQ %u is the SPI Xen gives the emulated PL011 (GUEST_VPL011_SPI):"
                " do not set vuart in this guest's config", d->path, q->irq);
        else if (q->irq >= XEN_GUEST_VIRTIO_SPI_FIRST && q->irq <= XEN_GUEST_VIRTIO_SPI_LAST)
            msg(c, VGT_DT_WARN, "%s: IRQ %u is in the range Xen uses for virtio-mmio (%u-%u): do not"
                " configure virtio devices in this guest", d->path, q->irq, XEN_GUEST_VIRTIO_SPI_FIRST,
                XEN_GUEST_VIRTIO_SPI_LAST);
    }
    return rc;
}

/* Regions and SPIs of every other node, for the sharing check. */
static void check_sharing(struct dt_ctx *c)
{
    struct vgt_dt_result *r = c->res;
    enum vgt_dt_sev sev = c->opts->allow_shared ? VGT_DT_WARN : VGT_DT_ERR;
    const char *hint = c->opts->allow_shared ? " (allowed by --allow-shared)" : " (--allow-shared to override)";
    int off, depth = 0;

    for (off = fdt_next_node(c->fdt, -1, &depth); off >= 0; off = fdt_next_node(c->fdt, off, &depth)) {
        struct vgt_dt_region regs[VGT_DT_MAX_REGS];
        struct irq_spec irqs[VGT_DT_MAX_IRQS];
        char op[VGT_DT_PATH_LEN];
        int nr, ni;
        bool skip = false;

        for (unsigned i = 0; i < r->ndevs && !skip; i++)
            skip = off == r->devs[i].offset || is_ancestor(c->fdt, r->devs[i].offset, off) ||
                   is_ancestor(c->fdt, off, r->devs[i].offset);
        if (skip)
            continue;
        nr = read_regs(c, off, regs, VGT_DT_MAX_REGS, true);
        ni = collect_irqs(c, off, irqs, VGT_DT_MAX_IRQS, true);
        if (nr <= 0 && ni <= 0)
            continue;
        node_path(c->fdt, off, op, sizeof(op));
        for (unsigned i = 0; i < r->ndevs; i++) {
            struct vgt_dt_dev *d = &r->devs[i];

            for (unsigned k = 0; k < d->nregs; k++) {
                uint64_t p0 = d->regs[k].phys & VGT_PAGE_MASK;
                uint64_t p1 = (d->regs[k].phys + d->regs[k].size - 1) | (VGT_PAGE_SIZE - 1);

                for (int j = 0; j < nr; j++) {
                    uint64_t o0 = regs[j].phys, o1 = regs[j].phys + regs[j].size - 1;

                    if (o0 <= p1 && o1 >= p0)
                        msg(c, sev, "%s: reg 0x%llx+0x%llx shares page(s) 0x%llx-0x%llx with %s (0x%llx+0x%llx):"
                            " the guest would reach that device too%s", d->path,
                            (unsigned long long)d->regs[k].phys, (unsigned long long)d->regs[k].size,
                            (unsigned long long)p0, (unsigned long long)p1, op, (unsigned long long)regs[j].phys,
                            (unsigned long long)regs[j].size, hint);
                }
            }
            for (unsigned k = 0; k < d->nirqs; k++)
                for (int j = 0; j < ni; j++) {
                    char gp[VGT_DT_PATH_LEN];

                    if (irqs[j].type != 0 || irqs[j].num != d->irqs[k].num)
                        continue;
                    node_path(c->fdt, irqs[j].gic, gp, sizeof(gp));
                    if (strcmp(gp, d->gic))
                        continue;
                    msg(c, sev, "%s: SPI %u (IRQ %u) is also used by %s%s", d->path, d->irqs[k].num,
                        d->irqs[k].irq, op, hint);
                }
        }
    }
}

static bool collides(uint64_t base, uint64_t size, const char **what)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(xen_guest_map); i++) {
        const struct xen_guest_region *x = &xen_guest_map[i];

        if (base < x->base + x->size && base + size > x->base) {
            if (what)
                *what = x->name;
            return true;
        }
    }
    return false;
}

static bool overlaps_spans(const struct vgt_dt_result *r, unsigned upto, uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < upto; i++)
        if (r->spans[i].guest != UINT64_MAX && base < r->spans[i].guest + r->spans[i].size &&
            base + size > r->spans[i].guest)
            return true;
    return false;
}

/* First fit above @from, clear of Xen's map and of placed spans. */
static int alloc_guest(const struct vgt_dt_result *r, uint64_t size, uint64_t from, uint64_t *out)
{
    uint64_t a = (from + VGT_PAGE_SIZE - 1) & VGT_PAGE_MASK;

    for (int guard = 0; guard < 4096; guard++) {
        bool moved = false;

        if (a + size < a || a + size > (1ull << 48))
            return -ENOSPC;
        for (size_t i = 0; i < VGT_ARRAY_SIZE(xen_guest_map); i++) {
            const struct xen_guest_region *x = &xen_guest_map[i];

            if (a < x->base + x->size && a + size > x->base) {
                a = x->base + x->size;
                moved = true;
            }
        }
        for (unsigned i = 0; i < r->nspans; i++) {
            const struct vgt_dt_span *s = &r->spans[i];

            if (s->guest != UINT64_MAX && a < s->guest + s->size && a + size > s->guest) {
                a = (s->guest + s->size + VGT_PAGE_SIZE - 1) & VGT_PAGE_MASK;
                moved = true;
            }
        }
        if (!moved) {
            *out = a;
            return 0;
        }
    }
    return -ENOSPC;
}

/* Lowest address the allocator hands out: above the GICv3
 * redistributors, the last of Xen's low fixed windows below the vPCI ECAM
 * (arch-arm.h GUEST_GICV3_GICR0_BASE + SIZE). */
#define DT_ALLOC_FROM 0x04020000ull

static int place_regions(struct dt_ctx *c)
{
    struct vgt_dt_result *r = c->res;
    uint64_t cursor = c->opts->guest_base;

    /* Page spans of every region, merged where they overlap. */
    r->nspans = 0;
    for (unsigned i = 0; i < r->ndevs; i++)
        for (unsigned k = 0; k < r->devs[i].nregs; k++) {
            const struct vgt_dt_region *g = &r->devs[i].regs[k];
            uint64_t s0 = g->phys & VGT_PAGE_MASK;
            uint64_t s1 = ((g->phys + g->size - 1) | (VGT_PAGE_SIZE - 1)) + 1;
            bool merged = false;

            for (unsigned j = 0; j < r->nspans && !merged; j++) {
                struct vgt_dt_span *s = &r->spans[j];

                if (s0 < s->host + s->size && s1 > s->host) {
                    uint64_t lo = VGT_MIN(s0, s->host), hi = VGT_MAX(s1, s->host + s->size);

                    s->host = lo;
                    s->size = hi - lo;
                    merged = true;
                }
            }
            if (!merged && r->nspans < VGT_DT_MAX_SPANS)
                r->spans[r->nspans++] = (struct vgt_dt_span){s0, s1 - s0, UINT64_MAX};
        }
    /* Merging may have made earlier spans overlap: merge until stable. */
    for (bool again = true; again;) {
        again = false;
        for (unsigned i = 0; i < r->nspans && !again; i++)
            for (unsigned j = i + 1; j < r->nspans && !again; j++) {
                struct vgt_dt_span *a = &r->spans[i], *b = &r->spans[j];

                if (a->host < b->host + b->size && b->host < a->host + a->size) {
                    uint64_t lo = VGT_MIN(a->host, b->host), hi = VGT_MAX(a->host + a->size, b->host + b->size);

                    a->host = lo;
                    a->size = hi - lo;
                    *b = r->spans[--r->nspans];
                    again = true;
                }
            }
    }
    /* Sort by host address so the output is stable. */
    for (unsigned i = 1; i < r->nspans; i++)
        for (unsigned j = i; j > 0 && r->spans[j - 1].host > r->spans[j].host; j--) {
            struct vgt_dt_span t = r->spans[j];

            r->spans[j] = r->spans[j - 1];
            r->spans[j - 1] = t;
        }
    if (c->opts->have_guest_base) {
        if (cursor & (VGT_PAGE_SIZE - 1)) {
            msg(c, VGT_DT_ERR, "--guest-base 0x%llx is not page aligned", (unsigned long long)cursor);
            return -EINVAL;
        }
        for (unsigned i = 0; i < r->nspans; i++) {
            const char *what = NULL;

            if (cursor + r->spans[i].size < cursor || collides(cursor, r->spans[i].size, &what)) {
                msg(c, VGT_DT_ERR, "--guest-base: guest window 0x%llx+0x%llx collides with Xen's %s"
                    " (xen/include/public/arch-arm.h)", (unsigned long long)cursor,
                    (unsigned long long)r->spans[i].size, what ? what : "address limit");
                return -EINVAL;
            }
            r->spans[i].guest = cursor;
            cursor += r->spans[i].size;
        }
    } else {
        /* 1:1 where that is clear of Xen's map, then the others. */
        for (unsigned i = 0; i < r->nspans; i++)
            if (!collides(r->spans[i].host, r->spans[i].size, NULL) &&
                !overlaps_spans(r, r->nspans, r->spans[i].host, r->spans[i].size))
                r->spans[i].guest = r->spans[i].host;
        for (unsigned i = 0; i < r->nspans; i++) {
            const char *what = NULL;

            if (r->spans[i].guest != UINT64_MAX)
                continue;
            collides(r->spans[i].host, r->spans[i].size, &what);
            if (alloc_guest(r, r->spans[i].size, DT_ALLOC_FROM, &r->spans[i].guest)) {
                msg(c, VGT_DT_ERR, "no room in the guest address space for 0x%llx bytes",
                    (unsigned long long)r->spans[i].size);
                return -ENOSPC;
            }
            msg(c, VGT_DT_NOTE, "host 0x%llx+0x%llx would collide with Xen's %s in the guest: placed at 0x%llx",
                (unsigned long long)r->spans[i].host, (unsigned long long)r->spans[i].size,
                what ? what : "another region", (unsigned long long)r->spans[i].guest);
        }
    }
    /* Each region's guest address follows its span. */
    for (unsigned i = 0; i < r->ndevs; i++)
        for (unsigned k = 0; k < r->devs[i].nregs; k++) {
            struct vgt_dt_region *g = &r->devs[i].regs[k];

            for (unsigned j = 0; j < r->nspans; j++)
                if (g->phys >= r->spans[j].host && g->phys - r->spans[j].host < r->spans[j].size)
                    g->guest = r->spans[j].guest + (g->phys - r->spans[j].host);
        }
    return 0;
}

static void guest_name(const void *fdt, struct vgt_dt_dev *d)
{
    int len;
    const char *name = fdt_get_name(fdt, d->offset, &len);
    const char *at;
    int base;

    if (!name || len <= 0) {
        snprintf(d->guest_name, sizeof(d->guest_name), "device");
        return;
    }
    at = memchr(name, '@', (size_t)len);
    base = at ? (int)(at - name) : len;
    if (base > 60)
        base = 60;
    if (d->nregs)
        snprintf(d->guest_name, sizeof(d->guest_name), "%.*s@%llx", base, name,
                 (unsigned long long)d->regs[0].guest);
    else
        snprintf(d->guest_name, sizeof(d->guest_name), "%.*s", base, name);
}

/* AMBA PrimeCell devices: Linux's AMBA bus enables the "apb_pclk" clock
 * to read the peripheral ID before any driver binds (drivers/amba/bus.c),
 * so without it the device stays unbound, silently. */
static void check_primecell(struct dt_ctx *c, const struct vgt_dt_dev *d)
{
    int len, idx;

    if (fdt_node_check_compatible(c->fdt, d->offset, "arm,primecell"))
        return;
    idx = vgt_dt_getprop(c->fdt, d->offset, "clock-names", &len) ?
          fdt_stringlist_search(c->fdt, d->offset, "clock-names", "apb_pclk") : -1;
    if (idx < 0)
        msg(c, VGT_DT_WARN, "%s: arm,primecell device without an apb_pclk clock: the guest's AMBA bus cannot"
            " read its ID and no driver will bind", d->path);
    else if (!dep_kept(d, "clocks"))
        msg(c, VGT_DT_WARN, "%s: arm,primecell device whose apb_pclk stays with the host: the guest's AMBA bus"
            " cannot read its ID and no driver will bind", d->path);
}

/* Keep only the clocks some kept property refers to, and their parents. */
static void drop_unused_clocks(struct dt_ctx *c)
{
    struct vgt_dt_result *r = c->res;
    bool need[VGT_DT_MAX_CLOCKS] = {false};
    unsigned n = 0;

    for (unsigned i = 0; i < r->nclocks; i++)
        for (unsigned j = 0; j < r->ndevs && !need[i]; j++)
            for (unsigned k = 0; k < r->devs[j].ndeps && !need[i]; k++)
                need[i] = r->devs[j].deps[k].copied && !strcmp(r->devs[j].deps[k].provider, r->clocks[i].path) &&
                          dep_kept(&r->devs[j], r->devs[j].deps[k].prop);
    for (bool again = true; again;) {
        again = false;
        for (unsigned i = 0; i < r->nclocks; i++)
            for (unsigned j = 0; j < r->nclocks; j++)
                if (need[i] && !need[j] && r->clocks[i].parent == r->clocks[j].offset)
                    need[j] = again = true;
    }
    for (unsigned i = 0; i < r->nclocks; i++)
        if (need[i])
            r->clocks[n++] = r->clocks[i];
    r->nclocks = n;
    /* Guest node names: the host's, made unique within /passthrough. */
    for (unsigned i = 0; i < n; i++) {
        int len;
        const char *name = fdt_get_name(c->fdt, r->clocks[i].offset, &len);
        bool clash = false;

        snprintf(r->clocks[i].guest_name, sizeof(r->clocks[i].guest_name), "%.*s",
                 name && len > 0 ? (len > 80 ? 80 : len) : 5, name && len > 0 ? name : "clock");
        for (unsigned j = 0; j < i; j++)
            clash |= !strcmp(r->clocks[j].guest_name, r->clocks[i].guest_name);
        if (clash) {
            size_t l = strlen(r->clocks[i].guest_name);

            snprintf(r->clocks[i].guest_name + l, sizeof(r->clocks[i].guest_name) - l, "-%u", i);
        }
    }
}

int vgt_dt_analyse(struct vgt_log *log, const void *fdt, const struct vgt_dt_opts *opts, struct vgt_dt_result *res)
{
    struct dt_ctx c = {.log = log, .fdt = fdt, .opts = opts, .res = res};
    uint32_t max_ph = 0;

    memset(res, 0, sizeof(*res));
    if (!opts->nnodes) {
        msg(&c, VGT_DT_ERR, "no node selected (--node PATH|ALIAS)");
        return -EINVAL;
    }
    if (opts->nnodes > VGT_DT_MAX_NODES) {
        msg(&c, VGT_DT_ERR, "%u nodes selected, at most %u", opts->nnodes, VGT_DT_MAX_NODES);
        return -EINVAL;
    }
    fdt_find_max_phandle(fdt, &max_ph);
    /* Stage 1: find every node, so dependencies between selected nodes
     * are recognised. */
    for (unsigned i = 0; i < opts->nnodes; i++) {
        const char *name = opts->nodes[i];
        int off = name && name[0] ? fdt_path_offset(fdt, name) : -FDT_ERR_BADPATH;
        struct vgt_dt_dev *d;

        if (off < 0) {
            msg(&c, VGT_DT_ERR, "node '%s' not found in the host device tree (%s)", name ? name : "",
                off == -FDT_ERR_NOTFOUND ? "no such path or alias" : fdt_strerror(off));
            continue;
        }
        if (off == 0) {
            msg(&c, VGT_DT_ERR, "node '%s' is the root: pass through devices, not the whole tree", name);
            continue;
        }
        for (unsigned k = 0; k < res->ndevs; k++)
            if (res->devs[k].offset == off || is_ancestor(fdt, res->devs[k].offset, off) ||
                is_ancestor(fdt, off, res->devs[k].offset)) {
                msg(&c, VGT_DT_ERR, "node '%s' is selected twice or nested in another selected node", name);
                off = -1;
                break;
            }
        if (off < 0)
            continue;
        d = &res->devs[res->ndevs++];
        d->offset = off;
        node_path(fdt, off, d->path, sizeof(d->path));
        d->phandle = fdt_get_phandle(fdt, off);
        d->guest_phandle = d->phandle;
        /* The guest's GIC owns phandle 65000: move a clash out of the way. */
        if (d->phandle == VGT_DT_GUEST_GIC_PHANDLE)
            d->guest_phandle = (max_ph > VGT_DT_GUEST_GIC_PHANDLE ? max_ph : VGT_DT_GUEST_GIC_PHANDLE) + 1 + i;
    }
    if (res->nerrors)
        return -EINVAL;
    /* Stage 2: each node. */
    for (unsigned i = 0; i < res->ndevs; i++) {
        struct vgt_dt_dev *d = &res->devs[i];
        int n, len;
        const char *status = vgt_dt_getprop(fdt, d->offset, "status", &len);

        if (status && len > 0 && memchr(status, 0, (size_t)len) && strcmp(status, "okay") && strcmp(status, "ok"))
            msg(&c, VGT_DT_WARN, "%s: status is \"%s\" in the host tree", d->path, status);
        n = read_regs(&c, d->offset, d->regs, VGT_DT_MAX_REGS, false);
        if (n < 0)
            continue;
        d->nregs = (unsigned)n;
        if (!n)
            msg(&c, VGT_DT_WARN, "%s: no reg: nothing to map", d->path);
        for (unsigned k = 0; k < d->nregs; k++) {
            const struct vgt_dt_region *g = &d->regs[k];

            if ((g->phys | g->size) & (VGT_PAGE_SIZE - 1))
                msg(&c, opts->allow_unaligned ? VGT_DT_WARN : VGT_DT_ERR,
                    "%s: reg 0x%llx+0x%llx is not page aligned: Xen maps whole 4 KiB pages, so the guest gets"
                    " 0x%llx-0x%llx%s", d->path, (unsigned long long)g->phys, (unsigned long long)g->size,
                    (unsigned long long)(g->phys & VGT_PAGE_MASK),
                    (unsigned long long)((g->phys + g->size - 1) | (VGT_PAGE_SIZE - 1)),
                    opts->allow_unaligned ? " (allowed by --allow-unaligned)" : " (--allow-unaligned to override)");
        }
        analyse_irqs(&c, d);
        if (scan_iommu(&c, d))
            continue;
        if (!d->iommu)
            msg(&c, VGT_DT_WARN, "%s: no IOMMU protects this device: DMA it starts can reach any host memory%s",
                d->path, opts->force_no_iommu ? " (--force-no-iommu: xen,force-assign-without-iommu added)"
                                              : "; without DMA it is harmless (--force-no-iommu for dom0less)");
        scan_deps(&c, d, d->offset, 0);
        mark_dropped(&c, d, d->offset, 0);
        for (unsigned k = 0; k < d->ndeps; k++) {
            const struct dep_prop *dp = dep_match(d->deps[k].prop);

            if (d->deps[k].copied && dep_kept(d, d->deps[k].prop)) {
                msg(&c, VGT_DT_NOTE, "%s: %s -> %s is a fixed clock: copied into the guest tree", d->path,
                    d->deps[k].prop, d->deps[k].provider);
                continue;
            }
            if (d->deps[k].kept && dep_kept(d, d->deps[k].prop)) {
                msg(&c, VGT_DT_NOTE, "%s: %s -> %s is passed through too: reference kept", d->path,
                    d->deps[k].prop, d->deps[k].provider);
                continue;
            }
            if (d->deps[k].kept) /* dropped with the real providers it shares the property with */
                continue;
            if (dp && dp->cells && !strcmp(dp->cells, "#clock-cells"))
                msg(&c, VGT_DT_WARN, "%s: %s depends on clock controller %s, which stays with the host (property"
                    " dropped): the guest will have no %s, so its driver cannot enable that clock or read its"
                    " rate", d->path, d->deps[k].prop, d->deps[k].provider, d->deps[k].provider);
            else
                msg(&c, VGT_DT_WARN, "%s: %s depends on %s %s, which stays with the host (property dropped)",
                    d->path, d->deps[k].prop, dp ? dp->what : "provider", d->deps[k].provider);
        }
        check_primecell(&c, d);
    }
    drop_unused_clocks(&c);
    /* Sharing is checked even after other errors, so that one run lists
     * every problem. */
    check_sharing(&c);
    if (res->nerrors)
        return -EINVAL;
    if (place_regions(&c))
        return -EINVAL;
    for (unsigned i = 0; i < res->ndevs; i++)
        guest_name(fdt, &res->devs[i]);
    return res->nerrors ? -EINVAL : 0;
}

int vgt_dt_check_blob(const void *blob, size_t len, char *err, size_t errlen)
{
    int rc;

    if (!blob || len < sizeof(struct fdt_header)) {
        snprintf(err, errlen, "truncated device tree: %zu bytes, a header is %zu", len, sizeof(struct fdt_header));
        return -EINVAL;
    }
    rc = fdt_check_header(blob);
    if (rc) {
        snprintf(err, errlen, "not a valid device tree blob: %s", fdt_strerror(rc));
        return -EINVAL;
    }
    if (fdt_totalsize(blob) > len) {
        snprintf(err, errlen, "truncated device tree: header says %u bytes, only %zu present", fdt_totalsize(blob),
                 len);
        return -EINVAL;
    }
    /* Before v16 node names were full paths; libfdt 1.6.1 (Debian 12)
     * dereferences NULL checking such a tree (found by fuzz_dt). dtc and
     * every firmware since 2008 write v17. */
    if (fdt_version(blob) < 16) {
        snprintf(err, errlen, "device tree version %u is too old: vgt reads version 16 or later (dtc writes 17)",
                 fdt_version(blob));
        return -EINVAL;
    }
    rc = fdt_check_full(blob, len);
    if (rc) {
        snprintf(err, errlen, "malformed device tree structure: %s", fdt_strerror(rc));
        return -EINVAL;
    }
    return 0;
}

int vgt_dt_load(const char *path, void **blob, size_t *len, char *err, size_t errlen)
{
    const char *p = path ? path : "/sys/firmware/fdt";
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    size_t cap = 1 << 16, n = 0;
    char *buf;
    int rc;

    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", p, strerror(errno));
        return rc;
    }
    buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto close_fd;
    }
    for (;;) {
        ssize_t got;

        if (n == cap) {
            char *nb;

            if (cap >= DT_MAX_BLOB) {
                snprintf(err, errlen, "%s: larger than %u MiB: not a device tree", p, DT_MAX_BLOB >> 20);
                rc = -EFBIG;
                goto free_buf;
            }
            nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = -ENOMEM;
                goto free_buf;
            }
            buf = nb;
            cap *= 2;
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0) {
            rc = -errno;
            snprintf(err, errlen, "%s: %s", p, strerror(errno));
            goto free_buf;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    rc = vgt_dt_check_blob(buf, n, err, errlen);
    if (rc) {
        char tmp[256];

        snprintf(tmp, sizeof(tmp), "%s", err);
        snprintf(err, errlen, "%s: %s", p, tmp);
        goto free_buf;
    }
    close(fd);
    *blob = buf;
    *len = n;
    return 0;

free_buf:
    free(buf);
close_fd:
    close(fd);
    return rc;
}

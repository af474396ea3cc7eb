/* PCI configuration-space parser (see vgt/pci_cfg.h). Offsets and bits:
 * PCI Local Bus Spec 3.0 ch. 6, PCI Express Base Spec 4.0 ch. 7, PCI PM
 * 1.2, and Linux include/uapi/linux/pci_regs.h for the same names. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/pci_cfg.h"

/* Type 0/1 header (PCI 3.0 6.1, pci_regs.h). */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_STATUS_CAP_LIST 0x10
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09
#define CFG_HEADER_TYPE 0x0e
#define CFG_BAR0 0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID 0x2e
#define CFG_CAP_PTR 0x34
#define CFG_CB_CAP_PTR 0x14 /* CardBus bridge (type 2) */
#define EXT_CAP_START 0x100

/* Linux's PCI_FIND_CAP_TTL bounds a standard list at 48 entries; the
 * extended space has room for (4096 - 256) / 8 headers. */
#define STD_CAP_TTL 48
#define EXT_CAP_TTL ((VGT_PCI_CFG_EXT_LEN - EXT_CAP_START) / 8)

/* Intel graphics: ASLS (OpRegion address) at 0xfc, i915 intel_opregion.c
 * "#define ASLS 0xfc"; stolen-memory base BDSM at 0x5c (gen6..gen10) and
 * 0xc0 (64-bit, gen11+), include/drm/i915_drm.h INTEL_BSM /
 * INTEL_GEN11_BSM_DW0. */
#define IGD_ASLS 0xfc
#define IGD_BSM 0x5c
#define IGD_GEN11_BSM_DW0 0xc0
#define IGD_GEN11_BSM_DW1 0xc4
#define IGD_BSM_MASK 0xfff00000u

struct parse {
    const uint8_t *cfg;
    size_t len;
    struct vgt_pci_cfg_info *info;
};

static void problem(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct parse *p, const char *fmt, ...)
{
    va_list ap;

    if (p->info->nproblems >= VGT_PCI_MAX_PROBLEMS)
        return;
    va_start(ap, fmt);
    vsnprintf(p->info->problems[p->info->nproblems++], VGT_PCI_PROBLEM_LEN, fmt, ap);
    va_end(ap);
}

static bool have(const struct parse *p, size_t off, size_t n)
{
    return off <= p->len && n <= p->len - off;
}

static uint8_t rd8(const struct parse *p, size_t off)
{
    return have(p, off, 1) ? p->cfg[off] : 0;
}

static uint16_t rd16(const struct parse *p, size_t off)
{
    return have(p, off, 2) ? (uint16_t)(p->cfg[off] | p->cfg[off + 1] << 8) : 0;
}

static uint32_t rd32(const struct parse *p, size_t off)
{
    if (!have(p, off, 4))
        return 0;
    return (uint32_t)p->cfg[off] | (uint32_t)p->cfg[off + 1] << 8 |
           (uint32_t)p->cfg[off + 2] << 16 | (uint32_t)p->cfg[off + 3] << 24;
}

/* Each decoder may assume @min_len bytes from @off are present (checked
 * by the walker against the buffer). */
typedef void (*cap_decode_fn)(struct parse *p, unsigned off);

struct cap_desc {
    uint16_t id;
    const char *name;
    uint16_t min_len;
    cap_decode_fn decode;
};

/* PM (PCI PM 1.2 3.2): PMC at +2 (version 2:0), PMCSR at +4, bit 3
 * No_Soft_Reset (pci_regs.h PCI_PM_CTRL_NO_SOFT_RESET). */
static void dec_pm(struct parse *p, unsigned off)
{
    p->info->pm.present = true;
    p->info->pm.version = rd16(p, off + 2) & 0x7;
    p->info->pm.no_soft_reset = rd16(p, off + 4) & 0x0008;
}

/* MSI (PCI 3.0 6.8.1): control at +2: bit 0 enable, 3:1 multiple message
 * capable (log2), bit 7 64-bit, bit 8 per-vector masking. */
static void dec_msi(struct parse *p, unsigned off)
{
    uint16_t ctl = rd16(p, off + 2);
    unsigned mmc = (ctl >> 1) & 7;

    p->info->msi.present = true;
    p->info->msi.enabled = ctl & 1;
    p->info->msi.is64 = ctl & 0x80;
    p->info->msi.maskable = ctl & 0x100;
    if (mmc > 5) {
        problem(p, "MSI at 0x%02x: reserved Multiple Message Capable value %u", off, mmc);
        mmc = 5;
    }
    p->info->msi.vectors = 1u << mmc;
}

/* MSI-X (PCI 3.0 6.8.2): control at +2 (10:0 table size - 1, 14 mask,
 * 15 enable), table at +4 and PBA at +8 (BIR 2:0, offset 31:3). */
static void dec_msix(struct parse *p, unsigned off)
{
    uint16_t ctl = rd16(p, off + 2);
    uint32_t t = rd32(p, off + 4), pba = rd32(p, off + 8);

    p->info->msix.present = true;
    p->info->msix.enabled = ctl & 0x8000;
    p->info->msix.table_size = (ctl & 0x7ff) + 1u;
    p->info->msix.table_bir = t & 7;
    p->info->msix.table_offset = t & ~7u;
    p->info->msix.pba_bir = pba & 7;
    p->info->msix.pba_offset = pba & ~7u;
    if (p->info->msix.table_bir > 5)
        problem(p, "MSI-X at 0x%02x: table BIR %u names no BAR", off, p->info->msix.table_bir);
    if (p->info->msix.pba_bir > 5)
        problem(p, "MSI-X at 0x%02x: PBA BIR %u names no BAR", off, p->info->msix.pba_bir);
}

/* PCI Express (PCIe 4.0 7.5.3): capabilities register at +2 (3:0
 * version, 7:4 device/port type), Device Capabilities at +4, bit 28
 * Function Level Reset (pci_regs.h PCI_EXP_DEVCAP_FLR). */
static void dec_pcie(struct parse *p, unsigned off)
{
    uint16_t flags = rd16(p, off + 2);

    p->info->pcie.present = true;
    p->info->pcie.version = flags & 0xf;
    p->info->pcie.type = (flags >> 4) & 0xf;
    p->info->pcie.flr = rd32(p, off + 4) & (1u << 28);
}

/* Advanced Features (ECN, pci_regs.h PCI_AF_CAP): capabilities at +3,
 * bit 0 transactions pending, bit 1 FLR. */
static void dec_af(struct parse *p, unsigned off)
{
    uint8_t cap = rd8(p, off + 3);

    p->info->af.present = true;
    p->info->af.tp = cap & 1;
    p->info->af.flr = cap & 2;
}

/* ACS (PCIe 4.0 7.7.8): capability at +4, control at +6. */
static void dec_acs(struct parse *p, unsigned off)
{
    p->info->acs.present = true;
    p->info->acs.cap = rd16(p, off + 4);
    p->info->acs.ctrl = rd16(p, off + 6);
}

/* ATS (PCIe 4.0 10.5.1): capability at +4 (4:0 invalidate queue depth,
 * 5 page aligned request), control at +6 (15 enable). */
static void dec_ats(struct parse *p, unsigned off)
{
    uint16_t cap = rd16(p, off + 4);

    p->info->ats.present = true;
    p->info->ats.inv_queue_depth = cap & 0x1f;
    p->info->ats.page_aligned = cap & 0x20;
    p->info->ats.enabled = rd16(p, off + 6) & 0x8000;
}

/* PASID (PCIe 4.0 7.8.8): capability at +4 (1 execute, 2 privileged,
 * 12:8 max PASID width). */
static void dec_pasid(struct parse *p, unsigned off)
{
    uint16_t cap = rd16(p, off + 4);

    p->info->pasid.present = true;
    p->info->pasid.exec = cap & 2;
    p->info->pasid.priv = cap & 4;
    p->info->pasid.max_width = (cap >> 8) & 0x1f;
}

/* PRI (PCIe 4.0 10.5.2): outstanding page request capacity at +8. */
static void dec_pri(struct parse *p, unsigned off)
{
    p->info->pri.present = true;
    p->info->pri.max_requests = rd32(p, off + 8);
}

/* SR-IOV (PCIe 4.0 9.3.3): InitialVFs +0x0c, TotalVFs +0x0e, NumVFs
 * +0x10, First VF Offset +0x14, VF Stride +0x16, VF Device ID +0x1a. */
static void dec_sriov(struct parse *p, unsigned off)
{
    p->info->sriov.present = true;
    p->info->sriov.initial_vfs = rd16(p, off + 0x0c);
    p->info->sriov.total_vfs = rd16(p, off + 0x0e);
    p->info->sriov.num_vfs = rd16(p, off + 0x10);
    p->info->sriov.vf_offset = rd16(p, off + 0x14);
    p->info->sriov.vf_stride = rd16(p, off + 0x16);
    p->info->sriov.vf_device = rd16(p, off + 0x1a);
}

/* Standard capability ids: PCI Code and ID Assignment Spec 1.11, 2. */
static const struct cap_desc std_caps[] = {
    {0x01, "Power Management", 8, dec_pm},
    {0x02, "AGP", 4, NULL},
    {0x03, "Vital Product Data", 8, NULL},
    {0x04, "Slot Identification", 4, NULL},
    {0x05, "MSI", 10, dec_msi},
    {0x06, "CompactPCI Hot Swap", 4, NULL},
    {0x07, "PCI-X", 4, NULL},
    {0x08, "HyperTransport", 4, NULL},
    {0x09, "Vendor Specific", 3, NULL},
    {0x0a, "Debug Port", 4, NULL},
    {0x0b, "CompactPCI Central Resource Control", 4, NULL},
    {0x0c, "PCI Hot-Plug", 4, NULL},
    {0x0d, "Bridge Subsystem Vendor ID", 8, NULL},
    {0x0e, "AGP 8x", 4, NULL},
    {0x0f, "Secure Device", 4, NULL},
    {0x10, "PCI Express", 12, dec_pcie},
    {0x11, "MSI-X", 12, dec_msix},
    {0x12, "SATA Data/Index Configuration", 4, NULL},
    {0x13, "Advanced Features", 6, dec_af},
    {0x14, "Enhanced Allocation", 4, NULL},
    {0x15, "Flattening Portal Bridge", 4, NULL},
};

/* Extended capability ids: PCI Code and ID Assignment Spec 1.11, 3. */
static const struct cap_desc ext_caps[] = {
    {0x0001, "Advanced Error Reporting", 4, NULL},
    {0x0002, "Virtual Channel", 4, NULL},
    {0x0003, "Device Serial Number", 12, NULL},
    {0x0004, "Power Budgeting", 4, NULL},
    {0x0005, "Root Complex Link Declaration", 4, NULL},
    {0x0006, "Root Complex Internal Link Control", 4, NULL},
    {0x0007, "Root Complex Event Collector Endpoint Association", 4, NULL},
    {0x0008, "Multi-Function Virtual Channel", 4, NULL},
    {0x0009, "Virtual Channel (MFVC)", 4, NULL},
    {0x000a, "Root Complex Register Block", 4, NULL},
    {0x000b, "Vendor Specific", 8, NULL},
    {0x000c, "Configuration Access Correlation", 4, NULL},
    {0x000d, "Access Control Services", 8, dec_acs},
    {0x000e, "Alternative Routing-ID Interpretation", 8, NULL},
    {0x000f, "Address Translation Services", 8, dec_ats},
    {0x0010, "SR-IOV", 0x40, dec_sriov},
    {0x0011, "MR-IOV", 4, NULL},
    {0x0012, "Multicast", 4, NULL},
    {0x0013, "Page Request Interface", 16, dec_pri},
    {0x0015, "Resizable BAR", 4, NULL},
    {0x0016, "Dynamic Power Allocation", 4, NULL},
    {0x0017, "TPH Requester", 4, NULL},
    {0x0018, "Latency Tolerance Reporting", 8, NULL},
    {0x0019, "Secondary PCI Express", 4, NULL},
    {0x001a, "Protocol Multiplexing", 4, NULL},
    {0x001b, "Process Address Space ID", 8, dec_pasid},
    {0x001c, "LN Requester", 4, NULL},
    {0x001d, "Downstream Port Containment", 4, NULL},
    {0x001e, "L1 PM Substates", 4, NULL},
    {0x001f, "Precision Time Measurement", 4, NULL},
    {0x0020, "PCI Express over M-PHY", 4, NULL},
    {0x0021, "FRS Queueing", 4, NULL},
    {0x0022, "Readiness Time Reporting", 4, NULL},
    {0x0023, "Designated Vendor-Specific", 4, NULL},
    {0x0024, "VF Resizable BAR", 4, NULL},
    {0x0025, "Data Link Feature", 4, NULL},
    {0x0026, "Physical Layer 16.0 GT/s", 4, NULL},
    {0x0027, "Lane Margining at the Receiver", 4, NULL},
};

static const struct cap_desc *find_desc(bool ext, uint16_t id)
{
    const struct cap_desc *t = ext ? ext_caps : std_caps;
    size_t n = ext ? sizeof(ext_caps) / sizeof(ext_caps[0]) : sizeof(std_caps) / sizeof(std_caps[0]);

    for (size_t i = 0; i < n; i++)
        if (t[i].id == id)
            return &t[i];
    return NULL;
}

const char *vgt_pci_cap_name(bool ext, uint16_t id)
{
    const struct cap_desc *d = find_desc(ext, id);

    return d ? d->name : "unknown";
}

const char *vgt_pcie_type_name(uint8_t type)
{
    /* PCIe 4.0 7.5.3.2 Device/Port Type. */
    static const char *const names[16] = {
        [0x0] = "Endpoint", [0x1] = "Legacy Endpoint", [0x4] = "Root Port",
        [0x5] = "Upstream Port", [0x6] = "Downstream Port",
        [0x7] = "PCIe-to-PCI Bridge", [0x8] = "PCI-to-PCIe Bridge",
        [0x9] = "Root Complex Integrated Endpoint",
        [0xa] = "Root Complex Event Collector",
    };

    return type < 16 && names[type] ? names[type] : "reserved";
}

const struct vgt_pci_cap *vgt_pci_cfg_find_cap(const struct vgt_pci_cfg_info *info, bool ext,
                                               uint16_t id)
{
    for (unsigned i = 0; i < info->ncaps; i++)
        if (info->caps[i].ext == ext && info->caps[i].id == id)
            return &info->caps[i];
    return NULL;
}

static void add_cap(struct parse *p, bool ext, uint16_t id, uint8_t ver, unsigned off)
{
    const struct cap_desc *d = find_desc(ext, id);
    struct vgt_pci_cap *c;

    if (p->info->ncaps >= VGT_PCI_MAX_CAPS) {
        problem(p, "more than %u capabilities: list cut at 0x%03x", VGT_PCI_MAX_CAPS, off);
        return;
    }
    c = &p->info->caps[p->info->ncaps++];
    c->offset = (uint16_t)off;
    c->id = id;
    c->ext = ext;
    c->version = ver;
    c->name = d ? d->name : "unknown";
    if (!d || !d->decode)
        return;
    if (!have(p, off, d->min_len)) {
        problem(p, "%s capability at 0x%03x is truncated: needs %u bytes, dump ends at 0x%zx",
                d->name, off, d->min_len, p->len);
        return;
    }
    if (!ext && off + d->min_len > VGT_PCI_CFG_LEN) {
        problem(p, "%s capability at 0x%02x runs past the 256-byte standard space", d->name, off);
        return;
    }
    d->decode(p, off);
}

static void walk_std(struct parse *p)
{
    uint8_t seen[VGT_PCI_CFG_LEN / 4] = {0};
    unsigned ptr_reg = p->info->header_type == 2 ? CFG_CB_CAP_PTR : CFG_CAP_PTR;
    unsigned off = rd8(p, ptr_reg) & 0xfc; /* low 2 bits reserved */

    for (unsigned ttl = 0; off; ttl++) {
        if (ttl >= STD_CAP_TTL) {
            problem(p, "capability list longer than %u entries: stopped at 0x%02x", STD_CAP_TTL, off);
            return;
        }
        if (off < VGT_PCI_CFG_HDR_LEN) {
            problem(p, "capability pointer 0x%02x points into the header (below 0x40)", off);
            return;
        }
        if (!have(p, off, 2)) {
            problem(p, "capability pointer 0x%02x is beyond the end of the dump (0x%zx bytes)",
                    off, p->len);
            return;
        }
        if (seen[off / 4]) {
            problem(p, "capability list loops back to 0x%02x", off);
            return;
        }
        seen[off / 4] = 1;
        add_cap(p, false, rd8(p, off), 0, off);
        off = rd8(p, off + 1) & 0xfc;
    }
}

static void walk_ext(struct parse *p)
{
    uint8_t seen[VGT_PCI_CFG_EXT_LEN / 4] = {0};
    unsigned off = EXT_CAP_START;

    if (!have(p, EXT_CAP_START, 4))
        return; /* only the 256-byte space is known */
    for (unsigned ttl = 0; off; ttl++) {
        uint32_t hdr;

        if (ttl >= EXT_CAP_TTL) {
            problem(p, "extended capability list longer than %u entries", (unsigned)EXT_CAP_TTL);
            return;
        }
        if (off < EXT_CAP_START) {
            problem(p, "extended capability pointer 0x%03x points below 0x100", off);
            return;
        }
        if (!have(p, off, 4)) {
            problem(p, "extended capability pointer 0x%03x is beyond the end of the dump (0x%zx bytes)",
                    off, p->len);
            return;
        }
        hdr = rd32(p, off);
        /* All-zero or all-ones at 0x100 means no extended capabilities
         * (PCIe 4.0 7.6.3; a conventional device reads ~0 there). */
        if (hdr == 0 || hdr == 0xffffffffu) {
            if (off != EXT_CAP_START)
                problem(p, "extended capability at 0x%03x has an empty header", off);
            return;
        }
        if (seen[off / 4]) {
            problem(p, "extended capability list loops back to 0x%03x", off);
            return;
        }
        seen[off / 4] = 1;
        add_cap(p, true, hdr & 0xffff, (hdr >> 16) & 0xf, off);
        off = (hdr >> 20) & 0xffc;
    }
}

static void decode_bars(struct parse *p)
{
    struct vgt_pci_cfg_info *info = p->info;

    info->nbars = info->header_type == 0 ? 6 : info->header_type == 1 ? 2 : 0;
    for (unsigned i = 0; i < info->nbars; i++) {
        uint32_t v = rd32(p, CFG_BAR0 + 4 * i);
        struct vgt_pci_bar *b = &info->bars[i];

        if (v & 1) { /* I/O BAR: bits 31:2 address */
            b->io = true;
            b->base = v & ~3u;
            b->present = b->base != 0;
            continue;
        }
        /* Memory BAR: 2:1 type (0 = 32-bit, 2 = 64-bit), 3 prefetchable. */
        b->prefetch = v & 8;
        b->base = v & ~0xfu;
        if (((v >> 1) & 3) == 2) {
            b->is64 = true;
            if (i + 1 >= info->nbars) {
                problem(p, "BAR %u is 64-bit but has no upper half", i);
                b->present = b->base != 0;
                continue;
            }
            b->base |= (uint64_t)rd32(p, CFG_BAR0 + 4 * (i + 1)) << 32;
            b->present = b->base != 0 || b->prefetch;
            i++; /* the upper half is not a BAR of its own */
            continue;
        }
        if (((v >> 1) & 3) != 0)
            problem(p, "BAR %u has reserved memory type %u", i, (v >> 1) & 3);
        b->present = b->base != 0;
    }
}

int vgt_pci_cfg_parse(const uint8_t *cfg, size_t len, struct vgt_pci_cfg_info *info)
{
    struct parse p = {.cfg = cfg, .len = len, .info = info};

    memset(info, 0, sizeof(*info));
    if (len > VGT_PCI_CFG_EXT_LEN)
        len = p.len = VGT_PCI_CFG_EXT_LEN;
    info->cfg_len = len;
    if (!cfg || len < VGT_PCI_CFG_HDR_LEN) {
        problem(&p, "config space truncated: %zu bytes, the header alone is 64", cfg ? len : 0);
        return -EINVAL;
    }
    info->vendor = rd16(&p, CFG_VENDOR);
    info->device = rd16(&p, CFG_DEVICE);
    info->command = rd16(&p, CFG_COMMAND);
    info->status = rd16(&p, CFG_STATUS);
    info->revision = rd8(&p, CFG_REVISION);
    info->class_code = rd32(&p, CFG_REVISION) >> 8;
    info->header_type = rd8(&p, CFG_HEADER_TYPE) & 0x7f;
    info->multifunction = rd8(&p, CFG_HEADER_TYPE) & 0x80;
    if (info->header_type == 0) {
        info->subsys_vendor = rd16(&p, CFG_SUBSYS_VENDOR);
        info->subsys_device = rd16(&p, CFG_SUBSYS_ID);
    } else if (info->header_type > 2) {
        problem(&p, "unknown header type %u", info->header_type);
    }
    if (info->vendor == 0xffff || info->vendor == 0) {
        problem(&p, "no device: vendor id 0x%04x", info->vendor);
        return 0;
    }
    decode_bars(&p);
    if (info->status & CFG_STATUS_CAP_LIST) {
        if (len < VGT_PCI_CFG_LEN && len <= rd8(&p, CFG_CAP_PTR))
            problem(&p, "only %zu bytes of config space: capabilities not readable"
                        " (the kernel shows 64 bytes to non-root users)", len);
        else
            walk_std(&p);
    }
    walk_ext(&p);

    /* Intel integrated graphics: vendor 0x8086, display class 0x03. */
    if (info->vendor == 0x8086 && (info->class_code >> 16) == 0x03 && have(&p, IGD_ASLS, 4)) {
        info->igd.present = true;
        info->igd.asls = rd32(&p, IGD_ASLS);
        info->igd.bdsm = rd32(&p, IGD_BSM) & IGD_BSM_MASK;
        /* gen11+ moved BDSM to a 64-bit register at 0xc0; older parts
         * read 0 there. */
        if (rd32(&p, IGD_GEN11_BSM_DW0) & IGD_BSM_MASK || rd32(&p, IGD_GEN11_BSM_DW1)) {
            info->igd.bdsm = (uint64_t)rd32(&p, IGD_GEN11_BSM_DW1) << 32 |
                             (rd32(&p, IGD_GEN11_BSM_DW0) & IGD_BSM_MASK);
            info->igd.bdsm_gen11 = true;
        }
        info->igd.bdsm_known = true;
    }
    return 0;
}

int vgt_pci_parse_bdf(const char *s, uint32_t *domain, uint32_t *bus, uint32_t *dev,
                      uint32_t *func)
{
    unsigned d = 0, b, v, f;
    int n = 0;

    if (!s)
        return -EINVAL;
    if (sscanf(s, "%x:%x:%x.%x%n", &d, &b, &v, &f, &n) == 4 && (size_t)n == strlen(s)) {
        /* full form */
    } else if (d = 0, n = 0, sscanf(s, "%x:%x.%x%n", &b, &v, &f, &n) == 3 && (size_t)n == strlen(s)) {
        /* short form */
    } else {
        return -EINVAL;
    }
    if (d > 0xffff || b > 0xff || v > 0x1f || f > 7 || !isxdigit((unsigned char)s[0]))
        return -EINVAL;
    *domain = d;
    *bus = b;
    *dev = v;
    *func = f;
    return 0;
}

/* ---- dumps ---- */

static bool is_text_dump(const char *buf, size_t len)
{
    size_t n = len < 512 ? len : 512;

    if (len == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e))
            return false;
    }
    return true;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* One hex-dump line "OFF: b0 b1 ... b15". Returns bytes parsed (16 for a
 * complete line), -1 when the line is not a dump line. */
static int parse_hex_line(const char *line, size_t n, unsigned *off, uint8_t out[16])
{
    size_t i = 0;
    unsigned o = 0;
    int nd = 0, cnt = 0;

    while (i < n && isxdigit((unsigned char)line[i]) && nd < 4) {
        char c = line[i++];

        o = o * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10));
        nd++;
    }
    if (nd < 2 || i >= n || line[i] != ':')
        return -1;
    i++;
    while (cnt < 16) {
        unsigned hi, lo;

        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i + 1 >= n + 0 || !isxdigit((unsigned char)line[i]) || i + 1 >= n ||
            !isxdigit((unsigned char)line[i + 1]))
            break;
        hi = (unsigned)(isdigit((unsigned char)line[i]) ? line[i] - '0' : tolower((unsigned char)line[i]) - 'a' + 10);
        lo = (unsigned)(isdigit((unsigned char)line[i + 1]) ? line[i + 1] - '0' : tolower((unsigned char)line[i + 1]) - 'a' + 10);
        out[cnt++] = (uint8_t)(hi << 4 | lo);
        i += 2;
        if (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            return -1;
    }
    *off = o;
    return cnt;
}

/* A device header line: "BB:DD.F ..." or "DDDD:BB:DD.F ...". */
/* The first token of a dump's device line ("00:02.0 VGA ..."), as
 * vgt_pci_parse_bdf reads it. */
static int vgt_pci_parse_bdf_token(const char *line, size_t n, uint32_t *domain, uint32_t *bus,
                                   uint32_t *dev, uint32_t *func)
{
    char tok[32];
    size_t k = 0;

    while (k < n && k < sizeof(tok) - 1 && line[k] != ' ' && line[k] != '\t')
        tok[k] = line[k], k++;
    tok[k] = 0;
    return vgt_pci_parse_bdf(tok, domain, bus, dev, func);
}

int vgt_pci_dump_parse(const char *buf, size_t len, struct vgt_pci_dump_dev *devs, unsigned max,
                       char *err, size_t errlen)
{
    unsigned ndev = 0, lineno = 0;
    struct vgt_pci_dump_dev *cur = NULL;
    bool stopped = false;

    if (!buf || !devs || !max)
        return -EINVAL;
    if (!is_text_dump(buf, len)) {
        /* A raw binary image of one device. */
        memset(&devs[0], 0, sizeof(devs[0]));
        if (len < VGT_PCI_CFG_HDR_LEN) {
            set_err(err, errlen, "raw config dump is truncated: %zu bytes, the header alone is 64", len);
            return -EINVAL;
        }
        devs[0].len = len > VGT_PCI_CFG_EXT_LEN ? VGT_PCI_CFG_EXT_LEN : len;
        memcpy(devs[0].cfg, buf, devs[0].len);
        if (len > VGT_PCI_CFG_EXT_LEN)
            snprintf(devs[0].note, sizeof(devs[0].note), "raw dump is %zu bytes: only the first 4096 are config space", len);
        return 1;
    }
    for (size_t pos = 0; pos < len;) {
        const char *line = buf + pos;
        size_t n = 0;
        unsigned off;
        uint8_t bytes[16];
        int cnt;

        while (pos + n < len && line[n] != '\n')
            n++;
        pos += n + 1;
        lineno++;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n == 0)
            continue;
        cnt = parse_hex_line(line, n, &off, bytes);
        if (cnt < 0) {
            /* Only the address is parsed here: zeroing a whole device
             * (4 KiB) for every text line was most of a long dump's
             * parse (fuzz_pci_config). */
            struct vgt_pci_dump_dev *d;
            uint32_t bdf[4];

            if (vgt_pci_parse_bdf_token(line, n, &bdf[0], &bdf[1], &bdf[2], &bdf[3]))
                continue; /* lspci -v text lines and the like */
            if (ndev >= max) {
                set_err(err, errlen, "line %u: more than %u devices in the dump", lineno, max);
                return -E2BIG;
            }
            cur = d = &devs[ndev++];
            memset(d, 0, sizeof(*d));
            d->have_bdf = true;
            d->domain = bdf[0];
            d->bus = bdf[1];
            d->dev = bdf[2];
            d->func = bdf[3];
            stopped = false;
            continue;
        }
        if (!cur) {
            if (ndev >= max)
                return -E2BIG;
            cur = &devs[ndev++];
            memset(cur, 0, sizeof(*cur));
            stopped = false;
        }
        if (stopped)
            continue;
        if (off != cur->len) {
            snprintf(cur->note, sizeof(cur->note), "line %u: expected offset 0x%zx, found 0x%x: dump stops at 0x%zx",
                     lineno, cur->len, off, cur->len);
            stopped = true;
            continue;
        }
        if (off + (unsigned)cnt > VGT_PCI_CFG_EXT_LEN) {
            snprintf(cur->note, sizeof(cur->note), "line %u: offset 0x%x is beyond the 4096-byte config space",
                     lineno, off);
            stopped = true;
            continue;
        }
        memcpy(cur->cfg + off, bytes, (size_t)cnt);
        cur->len += (size_t)cnt;
        if (cnt < 16) {
            snprintf(cur->note, sizeof(cur->note), "line %u: only %d of 16 bytes at 0x%x: dump truncated at 0x%zx",
                     lineno, cnt, off, cur->len);
            stopped = true;
        }
    }
    if (ndev == 0) {
        set_err(err, errlen, "no config-space lines (\"00: xx xx ...\") found in the dump");
        return -EINVAL;
    }
    for (unsigned i = 0; i < ndev; i++) {
        if (devs[i].len < VGT_PCI_CFG_HDR_LEN) {
            if (devs[i].have_bdf)
                set_err(err, errlen, "device %02x:%02x.%x: dump is truncated at 0x%zx, the header alone is 64 bytes",
                        devs[i].bus, devs[i].dev, devs[i].func, devs[i].len);
            else
                set_err(err, errlen, "dump is truncated at 0x%zx, the header alone is 64 bytes", devs[i].len);
            return -EINVAL;
        }
    }
    return (int)ndev;
}

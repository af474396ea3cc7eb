/* PCI configuration-space parser for device assignment checks.
 *
 * The parser takes a byte buffer (the live config space read through
 * libpciaccess, a raw dump, or an `lspci -xxxx` hex dump) and decodes the
 * header, the BAR types and every standard and extended capability. It
 * treats the bytes as hostile: capability loops, pointers outside the
 * buffer and truncated dumps become entries in `problems`, never a read
 * past the end.
 *
 * Register offsets and bits come from the PCI Local Bus Specification 3.0,
 * the PCI Express Base Specification 4.0 and Linux
 * include/uapi/linux/pci_regs.h (which names the same fields). */
#ifndef VGT_PCI_CFG_H
#define VGT_PCI_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VGT_PCI_CFG_HDR_LEN 64u
#define VGT_PCI_CFG_LEN 256u
#define VGT_PCI_CFG_EXT_LEN 4096u
#define VGT_PCI_MAX_CAPS 64u
#define VGT_PCI_MAX_PROBLEMS 16u
#define VGT_PCI_PROBLEM_LEN 160u

struct vgt_pci_bar {
    bool present;       /* implemented (non-zero type bits or size) */
    bool io;
    bool is64;
    bool prefetch;
    bool size_known;    /* live bus: sized by the kernel; dumps: unknown */
    uint64_t base;
    uint64_t size;
};

struct vgt_pci_cap {
    uint16_t offset;
    uint16_t id;
    uint8_t version;    /* extended capabilities only */
    bool ext;
    const char *name;   /* static string */
};

struct vgt_pci_cfg_info {
    size_t cfg_len;     /* bytes of config space that were available */
    uint16_t vendor, device, subsys_vendor, subsys_device;
    uint16_t command, status;
    uint32_t class_code; /* base << 16 | sub << 8 | prog-if */
    uint8_t revision;
    uint8_t header_type; /* bits 6:0 */
    bool multifunction;
    unsigned nbars;      /* 6 for type 0, 2 for type 1, 0 otherwise */
    struct vgt_pci_bar bars[6];

    unsigned ncaps;
    struct vgt_pci_cap caps[VGT_PCI_MAX_CAPS];

    struct { bool present; unsigned vectors; bool is64, maskable, enabled; } msi;
    struct {
        bool present, enabled;
        unsigned table_size;   /* entries */
        uint8_t table_bir, pba_bir;
        uint32_t table_offset, pba_offset;
    } msix;
    struct { bool present; uint8_t version, type; bool flr; } pcie;
    struct { bool present; uint8_t version; bool no_soft_reset; } pm;
    struct { bool present; bool flr, tp; } af;
    struct { bool present; uint16_t cap, ctrl; } acs;
    struct { bool present, enabled, page_aligned; uint8_t inv_queue_depth; } ats;
    struct { bool present, exec, priv; uint8_t max_width; } pasid;
    struct { bool present; uint32_t max_requests; } pri;
    struct {
        bool present;
        uint16_t initial_vfs, total_vfs, num_vfs, vf_offset, vf_stride, vf_device;
    } sriov;
    /* Intel graphics (vendor 0x8086, display class) only. */
    struct { bool present; uint32_t asls; uint64_t bdsm; bool bdsm_known, bdsm_gen11; } igd;

    unsigned nproblems;
    char problems[VGT_PCI_MAX_PROBLEMS][VGT_PCI_PROBLEM_LEN];
};

/* Decode @len bytes of config space. Returns 0 (problems, if any, are in
 * info->problems) or -EINVAL when fewer than 64 bytes (no header) were
 * given; info is filled as far as the bytes allowed in both cases. */
int vgt_pci_cfg_parse(const uint8_t *cfg, size_t len, struct vgt_pci_cfg_info *info);

/* The capability named @name ("MSI-X", "PASID", ...) or NULL. */
const struct vgt_pci_cap *vgt_pci_cfg_find_cap(const struct vgt_pci_cfg_info *info,
                                               bool ext, uint16_t id);

/* Static name for a capability id; "unknown" for ids not in the tables. */
const char *vgt_pci_cap_name(bool ext, uint16_t id);

/* PCIe device/port type name (PCIe Base Spec 4.0, 7.5.3.2). */
const char *vgt_pcie_type_name(uint8_t type);

/* Config-space dumps: an `lspci -x/-xxx/-xxxx` text dump (one or more
 * devices) or a raw binary image of one device. */
struct vgt_pci_dump_dev {
    bool have_bdf;
    uint32_t domain, bus, dev, func;
    size_t len;                 /* bytes present, contiguous from 0 */
    uint8_t cfg[VGT_PCI_CFG_EXT_LEN];
    char note[VGT_PCI_PROBLEM_LEN]; /* why the dump stopped early, or "" */
};

/* Parse @buf (@len bytes) into up to @max devices. Returns the number of
 * devices found (>= 1) or a negative errno; @err (may be NULL) receives a
 * message naming the line or offset on failure. */
int vgt_pci_dump_parse(const char *buf, size_t len, struct vgt_pci_dump_dev *devs,
                       unsigned max, char *err, size_t errlen);

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0). 0 or -EINVAL. */
int vgt_pci_parse_bdf(const char *s, uint32_t *domain, uint32_t *bus, uint32_t *dev,
                      uint32_t *func);

#endif

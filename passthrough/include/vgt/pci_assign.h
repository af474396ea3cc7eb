/* PCI device assignability report (`vgt assign pci`).
 *
 * For each device: what the config space says (vgt/pci_cfg.h), what the
 * host kernel says through sysfs (driver, IOMMU group, reset methods, DRM
 * connectors) and, for display devices, the DRM nodes libdrm finds. The
 * verdict is assignable, assignable with caveats, or not assignable, with
 * every reason. Nothing on the machine is changed.
 *
 * Every sysfs read goes through ctx->sysfs_root (default "/sys") so tests
 * can point it at a prepared tree. */
#ifndef VGT_PCI_ASSIGN_H
#define VGT_PCI_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vgt/log.h"
#include "vgt/pci_cfg.h"

#define VGT_PCI_MAX_REASONS 24u
#define VGT_PCI_REASON_LEN 200u
#define VGT_PCI_MAX_PEERS 16u
#define VGT_PCI_MAX_DRM 8u

enum vgt_pci_verdict {
    VGT_PCI_ASSIGNABLE = 0,
    VGT_PCI_ASSIGNABLE_CAVEATS = 1,
    VGT_PCI_NOT_ASSIGNABLE = 2,
};

enum vgt_pci_sev { VGT_PCI_NOTE = 0, VGT_PCI_CAVEAT = 1, VGT_PCI_BLOCKER = 2 };

enum vgt_iommu_state {
    VGT_IOMMU_UNKNOWN = 0, /* offline analysis without --sysfs-root */
    VGT_IOMMU_ABSENT,
    VGT_IOMMU_PRESENT,     /* the host kernel uses it (iommu_groups) */
    VGT_IOMMU_FIRMWARE,    /* DMAR/IVRS table present, kernel not using it */
    VGT_IOMMU_XEN,         /* running as a Xen domain: Xen owns the IOMMU */
};

struct vgt_pci_reason {
    enum vgt_pci_sev sev;
    char text[VGT_PCI_REASON_LEN];
};

struct vgt_pci_drm_node {
    char path[64];      /* /dev/dri/card0, /dev/dri/renderD128 */
};

struct vgt_pci_dev {
    bool have_bdf;
    uint32_t domain, bus, dev, func;
    char source[32];    /* "libpciaccess" or "config-file" */
    char dump_note[VGT_PCI_PROBLEM_LEN];
    struct vgt_pci_cfg_info cfg;

    bool sysfs;         /* sysfs facts below were looked up */
    char driver[64];    /* "" when unbound */
    int iommu_group;    /* -1 when none */
    unsigned npeers;
    char peers[VGT_PCI_MAX_PEERS][16];
    char reset_methods[128]; /* kernel's list, "" when not offered */
    bool reset_file;         /* reset_method attribute exists */
    enum vgt_iommu_state iommu;

    unsigned ndrm;
    struct vgt_pci_drm_node drm[VGT_PCI_MAX_DRM];
    unsigned nconnected;  /* DRM connectors with status "connected" */
    char connectors[128]; /* their names */

    enum vgt_pci_verdict verdict;
    unsigned nreasons;
    struct vgt_pci_reason reasons[VGT_PCI_MAX_REASONS];
};

struct vgt_pci_ctx {
    struct vgt_log *log;
    const char *sysfs_root;  /* NULL means "/sys" */
    bool use_libdrm;         /* enumerate DRM nodes with drmGetDevices2 */
};

/* Analyse a parsed config space (@cfg, @len bytes) for the device at the
 * given address (have_bdf false for an anonymous dump: sysfs skipped). */
int vgt_pci_analyse(const struct vgt_pci_ctx *ctx, struct vgt_pci_dev *d, const uint8_t *cfg,
                    size_t len);

/* Fill the BAR sizes of @d from the live kernel/libpciaccess view. */
void vgt_pci_set_bar_sizes(struct vgt_pci_dev *d, const uint64_t base[6], const uint64_t size[6],
                           const bool is64[6], const bool prefetch[6], const bool io[6]);

/* Decide the verdict from everything gathered; called by vgt_pci_analyse
 * and again after vgt_pci_set_bar_sizes. */
void vgt_pci_judge(struct vgt_pci_dev *d);

/* Enumerate the live bus with libpciaccess. @filter (nfilter entries, may
 * be 0) limits to those addresses. Returns the number of devices in
 * *out (caller frees) or a negative errno. */
int vgt_pci_scan_live(const struct vgt_pci_ctx *ctx, const char *const *filter, unsigned nfilter,
                      struct vgt_pci_dev **out);

/* Analyse a saved config space: raw binary or `lspci -xxxx` text. For a
 * raw dump the address comes from @bdf (may be NULL). */
int vgt_pci_scan_file(const struct vgt_pci_ctx *ctx, const char *path, const char *bdf,
                      const char *const *filter, unsigned nfilter, struct vgt_pci_dev **out,
                      char *err, size_t errlen);

const char *vgt_pci_verdict_name(enum vgt_pci_verdict v);
void vgt_pci_format_bdf(const struct vgt_pci_dev *d, char *buf, size_t len);

/* Output. */
void vgt_pci_print_text(FILE *out, const struct vgt_pci_dev *devs, unsigned n);
void vgt_pci_print_json(FILE *out, const struct vgt_pci_dev *devs, unsigned n);
/* xl lines for the assignable ones; returns how many were included. */
unsigned vgt_pci_print_xl(FILE *out, const struct vgt_pci_dev *devs, unsigned n);
/* The steps a user would run to hand @d to pciback; prints, runs nothing. */
void vgt_pci_print_prepare(FILE *out, const struct vgt_pci_dev *d);

#endif

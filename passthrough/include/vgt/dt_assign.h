/* Arm device-tree passthrough (`vgt assign dt`), with libfdt.
 *
 * From the host device tree and a list of nodes: translate each `reg`
 * through every parent's `ranges`, resolve `interrupts` /
 * `interrupts-extended` through any `interrupt-map` nexus to a GICv2/GICv3
 * SPI (as Linux's of_irq_parse_raw), find the IOMMU (`iommus` or the
 * legacy `mmu-masters`), copy fixed clocks along, list the dependencies
 * that stay with the host (clock controllers, resets, power domains,
 * pinctrl, PHYs, GPIOs, DMA), check page
 * alignment and sharing, and place the regions in the guest clear of
 * Xen's Arm guest memory map. Then write the guest's partial device tree,
 * the xl snippet, or the dom0less form (Xen docs/misc/arm/passthrough.txt
 * and docs/misc/arm/device-tree/booting.txt).
 *
 * Every problem in the input (malformed blob, missing node, unresolvable
 * phandle, bad cell counts) becomes a message naming the node; nothing
 * in the input can make the code read outside the blob. */
#ifndef VGT_DT_ASSIGN_H
#define VGT_DT_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vgt/log.h"

#define VGT_DT_PATH_LEN 256u
#define VGT_DT_MAX_NODES 16u
#define VGT_DT_MAX_REGS 16u
#define VGT_DT_MAX_IRQS 32u
#define VGT_DT_MAX_DEPS 24u
#define VGT_DT_MAX_SIDS 8u
#define VGT_DT_MAX_DROPPED 24u
#define VGT_DT_MAX_SPANS (VGT_DT_MAX_NODES * VGT_DT_MAX_REGS)
#define VGT_DT_MAX_MSGS 96u
#define VGT_DT_MSG_LEN 640u
#define VGT_DT_ROUTE_LEN 384u

/* GUEST_PHANDLE_GIC in xen/include/public/arch-arm.h: the phandle of the
 * virtual GIC in every Arm guest's device tree. */
#define VGT_DT_GUEST_GIC_PHANDLE 65000u

struct vgt_dt_region {
    uint64_t phys, size, guest;
};

/* GIC interrupt specifier (arm,gic.yaml / arm,gic-v3.yaml bindings):
 * type 0 SPI, 1 PPI, 2 extended SPI, 3 extended PPI; flags 3:0 trigger. */
struct vgt_dt_irq {
    uint32_t type, num, flags;
    uint32_t irq; /* INTID: SPI n is n + 32, what xl's irqs = [...] takes */
    /* The nodes the specifier went through, each with the cells it had
     * there: "/bus <0 0 5> -> /gic <0 37 4>". */
    char route[VGT_DT_ROUTE_LEN];
};

struct vgt_dt_dep {
    char prop[48];
    char provider[VGT_DT_PATH_LEN];
    bool kept; /* the provider is passed through too: reference kept */
    bool copied; /* ... as a fixed clock copied into the guest tree */
};

/* A fixed-clock (or fixed-factor-clock of a fixed one) provider that is
 * copied into the guest's /passthrough with its host phandle. */
#define VGT_DT_MAX_CLOCKS 16u
struct vgt_dt_clock {
    int offset;
    int parent; /* offset of a fixed-factor clock's parent, or -1 */
    char path[VGT_DT_PATH_LEN];
    char guest_name[96];
    uint32_t phandle;
};

struct vgt_dt_dev {
    int offset;
    char path[VGT_DT_PATH_LEN];
    char guest_name[96];
    uint32_t phandle, guest_phandle; /* 0 when the node has none */
    unsigned nregs;
    struct vgt_dt_region regs[VGT_DT_MAX_REGS];
    unsigned nirqs;
    struct vgt_dt_irq irqs[VGT_DT_MAX_IRQS];
    char gic[VGT_DT_PATH_LEN];
    int gic_version; /* 2, 3, or 0 when the node has no interrupts */
    bool iommu, iommu_legacy;
    char iommu_node[VGT_DT_PATH_LEN];
    unsigned nsids;
    uint32_t sids[VGT_DT_MAX_SIDS];
    unsigned ndeps;
    struct vgt_dt_dep deps[VGT_DT_MAX_DEPS];
    unsigned ndropped;
    char dropped[VGT_DT_MAX_DROPPED][48];
};

/* A page-granular window for xl's iomem = ["MFN,NR@GFN"]. */
struct vgt_dt_span {
    uint64_t host, size, guest;
};

enum vgt_dt_sev { VGT_DT_NOTE = 0, VGT_DT_WARN = 1, VGT_DT_ERR = 2 };

struct vgt_dt_msg {
    enum vgt_dt_sev sev;
    char text[VGT_DT_MSG_LEN];
};

struct vgt_dt_opts {
    const char *const *nodes; /* paths or aliases */
    unsigned nnodes;
    bool have_guest_base;
    uint64_t guest_base;
    bool allow_unaligned;  /* non-page-aligned regions become warnings */
    bool allow_shared;     /* regions/SPIs shared with other nodes too */
    bool force_no_iommu;   /* add xen,force-assign-without-iommu */
};

struct vgt_dt_result {
    unsigned ndevs;
    struct vgt_dt_dev devs[VGT_DT_MAX_NODES];
    unsigned nspans;
    struct vgt_dt_span spans[VGT_DT_MAX_SPANS];
    unsigned nclocks;
    struct vgt_dt_clock clocks[VGT_DT_MAX_CLOCKS];
    unsigned nmsgs, nerrors, nwarnings;
    struct vgt_dt_msg msgs[VGT_DT_MAX_MSGS];
};

/* Read a DTB (path NULL means /sys/firmware/fdt) and check it with
 * libfdt. On success *blob (caller frees) and *len. */
int vgt_dt_load(const char *path, void **blob, size_t *len, char *err, size_t errlen);

/* Check a blob in memory: header, size, structure. 0 or -EINVAL. */
int vgt_dt_check_blob(const void *blob, size_t len, char *err, size_t errlen);

/* Analyse the selected nodes. Returns 0, or -EINVAL when res holds at
 * least one error message. @log may be NULL. */
int vgt_dt_analyse(struct vgt_log *log, const void *fdt, const struct vgt_dt_opts *opts,
                   struct vgt_dt_result *res);

/* Build the guest's partial device tree (libfdt sequential write). With
 * @dom0less each device node also carries xen,reg and xen,path. */
int vgt_dt_build_guest(const void *fdt, const struct vgt_dt_result *res, const struct vgt_dt_opts *opts,
                       bool dom0less, void **out, size_t *outlen);

/* xl snippet: device_tree, dtdev (IOMMU-protected devices), iomem, irqs. */
void vgt_dt_write_xl(FILE *f, const struct vgt_dt_result *res, const char *guest_dtb);

/* A device tree (any blob) as DTS source; with @res, a closing comment
 * naming the host nodes that need xen,passthrough (dom0less). */
int vgt_dt_write_dts(FILE *f, const void *fdt, const struct vgt_dt_result *res);

/* fdt_getprop / fdt_getprop_by_offset that also refuse a length libfdt
 * passes through unchecked: negative, or running past the blob (libfdt
 * 1.6.1 returns such lengths for crafted trees; found by fuzz_dt). */
const void *vgt_dt_getprop(const void *fdt, int node, const char *name, int *len);
const void *vgt_dt_getprop_by_offset(const void *fdt, int off, const char **name, int *len);

void vgt_dt_print_text(FILE *f, const struct vgt_dt_result *res);
void vgt_dt_print_json(FILE *f, const struct vgt_dt_result *res);

#endif

/* The vGPU device model.
 *
 * struct vgt_gpu owns one physical GPU: its graphics-memory partition and
 * fences, the O(1) register index, and the list of vGPUs on it (shared by
 * all of them). struct vgt_vgpu is one guest's virtual GPU: PCI config
 * space, virtual registers and PVINFO page, GGTT shadow, fences, virtual
 * interrupts, state and failsafe.
 *
 * Threading: vgt_gpu calls are locked by the gpu. Every vgt_vgpu call
 * takes that vGPU's (recursive) lock, so guest accesses from its ioreq loop,
 * events from the GPU thread and control requests may come from different
 * threads. Hooks run with the vGPU lock held and may call back into
 * vgt_vgpu_* functions of the same vGPU. */
#ifndef VGT_VGPU_H
#define VGT_VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/log.h"

struct vgt_gpu;
struct vgt_vgpu;
struct vgt_ggtt;
struct vgt_ioreq_server;

/* ---- types and resources ---- */

struct vgt_vgpu_type {
    const char *name;
    uint32_t low_mb;  /* mappable (aperture) graphics memory */
    uint32_t high_mb; /* non-mappable graphics memory */
    unsigned fences;
    unsigned weight;  /* scheduler weight */
    unsigned max_heads;        /* virtual monitors (XAPI max_heads=) */
    uint32_t res_w, res_h;     /* their resolution (XAPI resolution=WxH) */
    unsigned watchdog_ms; /* per-workload engine time budget (vgt/submit.h) */
};

/* The four GVT-g types (V5_8, V5_4, V5_2, V5_1). */
const struct vgt_vgpu_type *vgt_vgpu_types(size_t *n);
const struct vgt_vgpu_type *vgt_vgpu_type_find(const char *name);

struct vgt_vgpu_res {
    uint64_t low_size;  /* bytes, multiple of 1 MiB, > 0 */
    uint64_t high_size; /* bytes, multiple of 1 MiB, > 0 */
    unsigned fences;    /* 0..VGT_MAX_FENCES */
    unsigned weight;
    unsigned heads;     /* virtual monitors, 0 (headless)..3 */
    uint32_t res_w, res_h; /* their resolution, when heads > 0 */
    /* Watchdog budget per workload, ms (0: VGT_SUBMIT_WATCHDOG_DEFAULT_MS;
     * VGT_SUBMIT_WATCHDOG_OFF: none); vgt_submit_set_watchdog. */
    unsigned watchdog_ms;
};

/* Resources of a named type; -EINVAL for an unknown name. */
int vgt_vgpu_res_from_type(const char *name, struct vgt_vgpu_res *res);
/* Custom sizes as the xl keys give them (MiB, MiB, count). -EINVAL with a
 * reason in *why for sizes that can never work. */
int vgt_vgpu_res_custom(uint64_t low_mb, uint64_t high_mb, unsigned fences,
                        struct vgt_vgpu_res *res, const char **why);

/* Heads and resolution of a custom vGPU (vgt_vgpu_res_custom gives 1 head
 * at 1920x1080): 0..3 heads, 640x480..4095x4095. -EINVAL with a reason in
 * *why otherwise. */
int vgt_vgpu_res_display(struct vgt_vgpu_res *res, unsigned heads, uint32_t w, uint32_t h,
                         const char **why);

/* ---- the physical GPU ---- */

#define VGT_HOST_LOW_DEFAULT (128ull << 20)
#define VGT_HOST_HIGH_DEFAULT (384ull << 20)
#define VGT_HOST_FENCES_DEFAULT 4u
/* Graphics-memory sharing (docs/vgpu.md): how many vGPUs may be placed on
 * one range (low GM, high GM or fences) at most. 1 is static partitioning;
 * the default fits 64 V5_8 on a 512 MiB aperture (6 free slots, 11 each). */
#define VGT_SHARE_LIMIT_DEFAULT 16u
#define VGT_SHARE_LIMIT_MAX 64u

struct vgt_gpu_cfg {
    struct vgt_hostgpu *hw;
    const struct vgt_log *log;
    /* What the host keeps for itself; 0 means the defaults (128 MiB low,
     * 384 MiB high, 4 fences). */
    uint64_t host_low, host_high;
    unsigned host_fences;
    /* The display clock (ns, monotonic). NULL: CLOCK_MONOTONIC, and a
     * vblank thread delivers display interrupts. Set (tests): nothing
     * ticks unless vgt_gpu_display_tick() is called. */
    uint64_t (*now_ns)(void *opaque);
    void *clock_opaque;
    unsigned share_limit; /* 0: VGT_SHARE_LIMIT_DEFAULT */
};

int vgt_gpu_create(const struct vgt_gpu_cfg *cfg, struct vgt_gpu **out);
/* Destroys every vGPU still on it. NULL is fine. */
void vgt_gpu_destroy(struct vgt_gpu *g);

struct vgt_gpu_free {
    uint64_t low, high; /* largest free runs, bytes */
    uint64_t low_total, high_total;
    unsigned fences;    /* largest free run of fences */
};
void vgt_gpu_get_free(struct vgt_gpu *g, struct vgt_gpu_free *f);
/* How many more vGPUs with @res fit (placement as creation does it:
 * first fit, then sharing up to the limit). */
unsigned vgt_gpu_avail(struct vgt_gpu *g, const struct vgt_vgpu_res *res);
/* How many vGPUs with @res the GPU holds when empty (with sharing). */
unsigned vgt_gpu_capacity(struct vgt_gpu *g, const struct vgt_vgpu_res *res);
/* Why one more @res does not fit: 0 (it does), -EDQUOT (only by sharing a
 * range past the limit), -ENOSPC (a range it needs is too small, or the
 * vGPU table is full). vgt_vgpu_create fails with the same code. */
int vgt_gpu_place_error(struct vgt_gpu *g, const struct vgt_vgpu_res *res);
/* The sharing limit: 1..VGT_SHARE_LIMIT_MAX (-EINVAL otherwise). Placed
 * vGPUs stay where they are; it applies to the next placements. */
int vgt_gpu_set_share_limit(struct vgt_gpu *g, unsigned limit);
unsigned vgt_gpu_share_limit(struct vgt_gpu *g);
/* Graphics-memory switches of the physical GGTT (all vGPUs). */
struct vgt_ggtt_phys *vgt_gpu_ggtt_phys(struct vgt_gpu *g);
struct vgt_hostgpu *vgt_gpu_hw(struct vgt_gpu *g);

/* Snapshot of the vGPUs: fills up to @max pointers, returns the count. The
 * pointers stay valid until the vGPU is destroyed (the caller serialises
 * destruction). */
unsigned vgt_gpu_list(struct vgt_gpu *g, struct vgt_vgpu **out, unsigned max);
struct vgt_vgpu *vgt_gpu_find_domid(struct vgt_gpu *g, uint16_t domid);
struct vgt_vgpu *vgt_gpu_find_id(struct vgt_gpu *g, unsigned id);

/* Bring every vGPU's display up to the clock: vblanks, frame counters,
 * latched flips and their interrupts. Returns the clock time of the next
 * vblank a guest waits for (UINT64_MAX: none). The vblank thread calls
 * it; tests with their own clock call it by hand. */
uint64_t vgt_gpu_display_tick(struct vgt_gpu *g);

/* ---- hooks for the submission path (filled in by it) ---- */

struct vgt_vgpu_hooks {
    void *opaque;
    /* PVINFO g2v_notify with a create/destroy code (VGT_G2V_*): the PDPs
     * (pdp[i] = hi << 32 | lo) and the execlist context descriptor as the
     * guest stored them in PVINFO. */
    int (*g2v_notify)(void *opaque, struct vgt_vgpu *v, unsigned code,
                      const uint64_t pdp[4], uint64_t ctx_desc);
    /* A guest write to an engine's ELSP (not stored in a virtual reg). */
    int (*elsp_write)(void *opaque, struct vgt_vgpu *v, unsigned engine, uint32_t val);
    /* Any other execlist register (VGT_REG_F_EXECLIST): called after the
     * virtual register was updated. May be NULL. */
    int (*execlist_write)(void *opaque, struct vgt_vgpu *v, unsigned engine,
                          uint32_t off, uint32_t val);
    /* Reads of execlist registers: may replace *val (the virtual value). */
    int (*execlist_read)(void *opaque, struct vgt_vgpu *v, unsigned engine,
                         uint32_t off, uint32_t *val);
    /* Engines reset (VGT_ENGINE_* bit mask); @dmlr for a device-model
     * reset. Drop queued work. */
    void (*reset)(void *opaque, struct vgt_vgpu *v, unsigned engine_mask, bool dmlr);
    /* The vGPU entered failsafe: stop submitting for it. */
    void (*failsafe)(void *opaque, struct vgt_vgpu *v);
    /* The guest's p2m changed: revalidate the PPGTT shadows. May be NULL. */
    void (*invalidate)(void *opaque, struct vgt_vgpu *v);
};

/* ---- one vGPU ---- */

struct vgt_vgpu_cfg {
    uint16_t domid;
    struct vgt_hv *hv;          /* the guest's hv seam */
    struct vgt_vgpu_res res;
    const char *type_name;      /* for reports; "custom" when NULL */
    const struct vgt_log *log;  /* NULL: the gpu's */
    /* Back guest frames [gfn, gfn+nr) that are a hole with new guest RAM
     * (Xen: xc_domain_populate_physmap_exact, as QEMU backs its video
     * RAM). hvmloader takes the OpRegion's pages from the MMIO hole and
     * leaves them to the device model (tools/firmware/hvmloader/pci.c).
     * May be NULL: an OpRegion outside RAM is then not served. */
    int (*populate)(void *opaque, uint64_t gfn, uint64_t nr);
    void *populate_opaque;
};

/* Carves the ranges and fences. -ENOSPC when the GPU has no room, -EEXIST
 * when the domain has a vGPU already, -EINVAL for a bad cfg. */
int vgt_vgpu_create(struct vgt_gpu *g, const struct vgt_vgpu_cfg *cfg, struct vgt_vgpu **out);
/* Detaches, points GGTT entries at scratch, clears its fences, returns
 * its resources. NULL is fine. */
void vgt_vgpu_destroy(struct vgt_vgpu *v);

void vgt_vgpu_set_hooks(struct vgt_vgpu *v, const struct vgt_vgpu_hooks *h);

/* Guest accesses. Config space: @off < 256 + size 1/2/4 (else reads give
 * all ones). MMIO: @off is a BAR0 offset, size 1/2/4/8. Both return 0, or
 * -EINVAL for a rejected access (already counted; reads give all ones). */
int vgt_vgpu_cfg_read(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t *val);
int vgt_vgpu_cfg_write(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t val);
int vgt_vgpu_mmio_read(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t *val);
int vgt_vgpu_mmio_write(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t val);

/* Platform steps around the BARs. map_aperture is called when BAR2 is
 * placed/moved/disabled: map the vGPU's aperture slice (host GM
 * [low_base, low_base+low_size)) at guest-physical @gpa (Xen:
 * xc_domain_memory_mapping in the privileged part). May be NULL. */
struct vgt_vgpu_platform {
    void *opaque;
    int (*map_aperture)(void *opaque, struct vgt_vgpu *v, uint64_t gpa, uint64_t host_gm,
                        uint64_t size, bool map);
};

/* Serve the vGPU through @s: PCI config for @sbdf now, BAR0 whenever the
 * guest places it with memory decoding on (moved with the BAR). */
int vgt_vgpu_attach(struct vgt_vgpu *v, struct vgt_ioreq_server *s, uint32_t sbdf,
                    const struct vgt_vgpu_platform *plat);
void vgt_vgpu_detach(struct vgt_vgpu *v);
/* The guest's p2m changed (IOREQ_TYPE_INVALIDATE; attach registers it with
 * the server): the GGTT shadow and, through the hooks, every PPGTT shadow
 * translate again before the GPU is given more work; frames that are gone
 * map to this vGPU's scratch. */
void vgt_vgpu_invalidate(struct vgt_vgpu *v);

/* ---- lifecycle, failsafe, interrupts ---- */

enum vgt_failsafe_reason {
    VGT_FAILSAFE_NONE = 0,
    VGT_FAILSAFE_GUEST_ERROR,       /* the guest programmed something invalid */
    VGT_FAILSAFE_UNSUPPORTED_GUEST, /* the guest driver is not PV-aware */
    VGT_FAILSAFE_INSUFFICIENT_RESOURCE,
    VGT_FAILSAFE_ADMIN,             /* requested by the operator / tests */
    VGT_FAILSAFE_GPU_HANG,          /* a workload ran past its watchdog budget */
    VGT_FAILSAFE_NR_REASONS,
};
const char *vgt_failsafe_reason_name(enum vgt_failsafe_reason r);

/* Device-model reset: registers, PVINFO, config space, GGTT (to scratch),
 * fences; clears failsafe. The only way out of failsafe. */
int vgt_vgpu_reset(struct vgt_vgpu *v);
/* Enter failsafe (idempotent; the first reason is kept). @detail may be
 * NULL; it is copied. */
void vgt_vgpu_enter_failsafe(struct vgt_vgpu *v, enum vgt_failsafe_reason r, const char *detail);
bool vgt_vgpu_in_failsafe(struct vgt_vgpu *v);

/* Plug (@connected) or unplug the monitor of @head: the port's live
 * status, its hotplug status and interrupt (SDE), DPCD sink count.
 * -EINVAL for a head the vGPU does not have. */
int vgt_vgpu_hotplug(struct vgt_vgpu *v, unsigned head, bool connected);
/* The EDID of @head (128 bytes). -EINVAL for a head it does not have. */
int vgt_vgpu_edid(struct vgt_vgpu *v, unsigned head, uint8_t *out, size_t len);

/* An event of @engine (VGT_ENGINE_*), @events a VGT_GPU_EV_* mask: sets
 * the virtual IIR bits the guest has unmasked and injects the guest's MSI
 * when enabled. Returns 1 if an MSI was injected, 0 if not, or -errno. */
int vgt_vgpu_raise_event(struct vgt_vgpu *v, unsigned engine, uint32_t events);

struct vgt_vgpu_stats {
    uint64_t mmio_reads, mmio_writes; /* all of BAR0, GGTT window included */
    uint64_t ggtt_reads, ggtt_writes; /* ... of which the GGTT window */
    uint64_t cfg_reads, cfg_writes;   /* PCI config space */
    uint64_t unlisted;   /* accesses to registers in no row */
    uint64_t unlisted_regs; /* distinct such register dwords (each logged once) */
    uint64_t rejected;   /* accesses the table does not allow */
    uint64_t failsafe_dropped; /* hardware effects suppressed by failsafe */
    uint64_t fence_refused;
    uint64_t g2v_notify, g2v_invalid;
    uint64_t msi_injected;
    uint64_t resets;
    /* Times the vGPU entered failsafe, by reason (index NONE unused). */
    uint64_t failsafe_by_reason[VGT_FAILSAFE_NR_REASONS];
    uint64_t invalidates;      /* p2m changes revalidated */
    uint64_t ggtt_revalidated; /* GGTT entries they changed */
    /* display (docs/display.md) */
    uint64_t vblanks;          /* vblanks of enabled pipes */
    uint64_t flips;            /* plane 1 flips latched at a vblank */
    uint64_t pipe_refused;     /* pipe enables past the type's heads, pipe D access */
    uint64_t gmbus_refused;    /* GMBUS transactions to another slave or no monitor */
    uint64_t aux_refused;      /* malformed AUX messages (size, length, command) */
    uint64_t aux_nak;          /* I2C-over-AUX to another slave */
    uint64_t aux_timeouts;     /* AUX on a port with no monitor */
    uint64_t hotplugs;
    uint64_t pcode_refused;    /* PCU mailbox requests answered ILLEGAL_CMD/DATA */
};

struct vgt_vgpu_info {
    unsigned id;
    uint16_t domid;
    char type[16];
    uint64_t low_base, low_size, high_base, high_size;
    unsigned fence_base, fence_num;
    bool attached;
    bool display_ready;
    bool failsafe;
    enum vgt_failsafe_reason failsafe_reason;
    char failsafe_detail[96];
    uint64_t bar0, bar2; /* guest-physical, 0 when not placed */
    unsigned heads;
    uint32_t res_w, res_h;
    unsigned pipes_on;   /* bit per enabled pipe */
    struct vgt_vgpu_stats st;
};
void vgt_vgpu_get_info(struct vgt_vgpu *v, struct vgt_vgpu_info *info);
const char *vgt_vgpu_state_name(const struct vgt_vgpu_info *info);

/* For the submission path and the command parser. */
unsigned vgt_vgpu_id(const struct vgt_vgpu *v);
struct vgt_hv *vgt_vgpu_hv(struct vgt_vgpu *v);
struct vgt_gpu *vgt_vgpu_gpu(struct vgt_vgpu *v);
struct vgt_ggtt *vgt_vgpu_ggtt(struct vgt_vgpu *v);
bool vgt_vgpu_gm_valid(struct vgt_vgpu *v, uint64_t gm, uint64_t len);
/* Virtual register file (dword aligned offsets < 2 MiB; others read 0). */
uint32_t vgt_vgpu_vreg(struct vgt_vgpu *v, uint32_t off);
void vgt_vgpu_set_vreg(struct vgt_vgpu *v, uint32_t off, uint32_t val);
/* The guest's own GGTT entries (its values, not the shadow's) for @n pages
 * from graphics address @gm, read under the vGPU lock: for host-side
 * readers on other threads (display). -EFAULT unless [gm, +n pages) is
 * inside the vGPU's graphics memory. */
int vgt_vgpu_ggtt_guest_entries(struct vgt_vgpu *v, uint64_t gm, unsigned n, uint64_t *pte);
/* The guest-physical address graphics address @gm maps in this vGPU's
 * private GGTT table, resident or not (vgt_ggtt_lookup under its lock):
 * the emulated aperture translates through it. -EFAULT when unmapped. */
int vgt_vgpu_gm_to_gpa(struct vgt_vgpu *v, uint64_t gm, uint64_t *gpa);
/* One guest CPU access of the emulated aperture: @size bytes (1..8, not
 * crossing a page) at graphics address @gm of the vGPU's low range, read
 * or written in its own RAM through its private GGTT table (resident or
 * not: with sharing the physical entries may be another guest's). 0, or
 * -EFAULT when the entry is unmapped, refused or outside the low range:
 * a read then gives all ones and a write is dropped (the caller counts
 * it), as the scratch page behind such an entry would. */
int vgt_vgpu_aperture_access(struct vgt_vgpu *v, uint64_t gm, unsigned size, uint64_t *val, bool write);

/* The aperture slice served as an ioreq MMIO range (vgtd --aperture
 * emulated, the simulated platforms), every access through
 * vgt_vgpu_aperture_access. One per vGPU, kept by its platform code;
 * range is -1 before the first map. */
struct vgt_aperture_mmio {
    struct vgt_vgpu *v;
    struct vgt_ioreq_server *srv;
    int range;         /* -1: not mapped */
    uint64_t gm, size; /* the slice: host GM [gm, +size) */
    uint64_t dropped;  /* writes to unmapped entries, dropped (atomic) */
};
/* A platform's map_aperture step: the slice (host GM [host_gm, +size))
 * at guest-physical @gpa through @srv, moved there or unmapped (!map). */
int vgt_aperture_mmio_map(struct vgt_aperture_mmio *ap, struct vgt_vgpu *v, struct vgt_ioreq_server *srv,
                          uint64_t gpa, uint64_t host_gm, uint64_t size, bool map);

#endif

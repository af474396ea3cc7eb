/* A guest-side driver fragment that probes a vGPU the way the Linux i915
 * driver does in a GVT-g guest (i915_vgpu.c intel_vgpu_detect,
 * intel_vgt_balloon; intel_ggtt.c gen8_gmch_probe). It runs on a simulated
 * guest's vCPU and touches the device only through PCI config space
 * (0xCF8/0xCFC), MMIO and guest RAM: never by calling the mediator.
 *
 * Probe: find the Intel display device on bus 0, size BAR0 and BAR2 with
 * the all-ones protocol, place them, enable memory decoding, check the
 * PVINFO magic, version and caps (FULL_PPGTT and HWSP_EMULATION required,
 * as i915 refuses a vGPU without them), read avail_rs and balloon out
 * everything outside it with i915's sanity checks. Then buffers in guest
 * RAM get GGTT entries inside the guest's own graphics memory. */
#ifndef VGT_SIM_I915_H
#define VGT_SIM_I915_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/log.h"
#include "vgt/sim_hv.h"

struct sim_i915;

struct sim_i915_cfg {
    struct sim_guest *guest;
    unsigned vcpu;
    uint64_t bar0_gpa; /* where to place BAR0; 0: 0xF1000000 */
    uint64_t bar2_gpa; /* where to place BAR2; 0: 64 GiB */
    const struct vgt_log *log;
};

/* What the probe found (for tests and vgt inspect). */
struct sim_i915_info {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint64_t bar0_size, bar2_size;
    uint64_t magic;
    uint16_t version_major, version_minor;
    uint32_t vgt_id, caps;
    uint32_t mappable_base, mappable_size, unmappable_base, unmappable_size, fence_num;
    uint64_t ggtt_total;   /* graphics memory the GGTT covers */
    uint64_t mappable_end; /* BAR2 size */
    /* The balloons i915 reserved: [start, end), 0/0 when not needed
     * (bl_info.space[0..3] order). */
    uint64_t balloon_start[4], balloon_end[4];
    /* The GT as i915 reads it at init (gen9_sseu_info_init,
     * gen9_read_clock_frequency, gen6_rps_get_freq_caps). */
    uint8_t slice_mask, subslice_mask;
    unsigned eu_total;
    uint32_t cs_timestamp_hz;
    bool rps_enabled;      /* RP0 > RPn: i915 would run frequency control */
    unsigned extra_polls;  /* reads beyond the first in i915's wait loops */
};

/* -ENODEV: no Intel display device; -ENXIO: not a vGPU i915 accepts;
 * -EINVAL: invalid ballooning configuration (i915's message). */
int sim_i915_probe(const struct sim_i915_cfg *cfg, struct sim_i915 **out);
void sim_i915_remove(struct sim_i915 *d);
void sim_i915_get_info(const struct sim_i915 *d, struct sim_i915_info *info);

/* Map @npages guest pages starting at guest-physical @gpa (RAM) into the
 * GGTT at a free graphics address of the guest's own (unballooned) space:
 * one 8-byte write per entry, as i915's gen8_set_pte. *gm gets the
 * graphics address. -ENOSPC when no free run is large enough. */
int sim_i915_map_buffer(struct sim_i915 *d, uint64_t gpa, uint64_t npages, uint64_t *gm);

/* Raw GGTT entry write/read through the BAR (tests of hostile guests). */
int sim_i915_ggtt_write(struct sim_i915 *d, uint64_t index, uint64_t pte);
int sim_i915_ggtt_read(struct sim_i915 *d, uint64_t index, uint64_t *pte);
int sim_i915_mmio_read(struct sim_i915 *d, uint32_t off, unsigned size, uint64_t *val);
int sim_i915_mmio_write(struct sim_i915 *d, uint32_t off, unsigned size, uint64_t val);

/* PVINFO display_ready = VGT_DRV_DISPLAY_READY. */
int sim_i915_set_display_ready(struct sim_i915 *d);
/* MSI at 0xFEE00000 with @vector, GT interrupts of RCS/BCS enabled and
 * the master control on (i915 gen8_gt_irq_postinstall, simplified). */
int sim_i915_enable_irq(struct sim_i915 *d, uint8_t vector);

#endif

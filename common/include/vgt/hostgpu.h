/* The host GPU seam: the physical Intel GPU the mediator drives.
 *
 * On the simulated platform this is sim/gpu (a Gen9 model); on a real host it
 * would be the i915-released device mapped through its BARs. The mediator
 * never includes anything from sim/.
 *
 * Offsets are BAR0 (GTTMMADR) register offsets. GGTT entries are 64-bit
 * gen8 PTEs (present bit 0, address bits 12..38). Host DMA memory (for
 * shadow page tables, shadow contexts, ring and batch copies) is allocated
 * here because only the GPU backend knows what memory the device can reach.
 * Every op returns 0 or a negative errno. */
#ifndef VGT_HOSTGPU_H
#define VGT_HOSTGPU_H

#include <stdint.h>

struct vgt_hostgpu;

/* Physical interrupt delivery: @engine is a VGT_ENGINE_*, @events a mask
 * of VGT_GPU_EV_*. Called from the GPU's own thread. */
typedef void (*vgt_hostgpu_irq_fn)(void *opaque, unsigned engine, uint32_t events);

enum vgt_engine_id {
    VGT_ENGINE_RCS = 0,
    VGT_ENGINE_BCS = 1,
    VGT_ENGINE_VCS = 2,
    VGT_ENGINE_VECS = 3,
    VGT_ENGINE_NUM = 4,
};

#define VGT_GPU_EV_USER_INTERRUPT (1u << 0)
#define VGT_GPU_EV_CTX_SWITCH (1u << 1)
#define VGT_GPU_EV_FAULT (1u << 2)

struct vgt_hostgpu_ops {
    uint32_t (*mmio_read32)(struct vgt_hostgpu *g, uint32_t off);
    void (*mmio_write32)(struct vgt_hostgpu *g, uint32_t off, uint32_t val);
    int (*ggtt_write)(struct vgt_hostgpu *g, uint64_t index, uint64_t pte);
    int (*ggtt_read)(struct vgt_hostgpu *g, uint64_t index, uint64_t *pte);
    /* Optional: entries [index, index + n) get @ptes, as n ggtt_write
     * calls would (the GGTT shadow writes whole 1 MiB blocks when a vGPU
     * is created, reset or destroyed). NULL: ggtt_write per entry. */
    int (*ggtt_write_run)(struct vgt_hostgpu *g, uint64_t index, uint64_t n, const uint64_t *ptes);
    /* One 4 KiB page of device-reachable host memory: *dma for the GPU,
     * *va for the CPU. */
    int (*alloc_page)(struct vgt_hostgpu *g, uint64_t *dma, void **va);
    void (*free_page)(struct vgt_hostgpu *g, uint64_t dma);
    /* CPU view of a device-reachable page previously allocated here, or of
     * the scratch page; NULL if @dma is not one of them. */
    void *(*dma_to_va)(struct vgt_hostgpu *g, uint64_t dma);
    int (*set_irq_handler)(struct vgt_hostgpu *g, vgt_hostgpu_irq_fn fn, void *opaque);
};

struct vgt_hostgpu {
    const struct vgt_hostgpu_ops *ops;
    uint16_t vendor, device;  /* 8086:1912 for the Skylake GT2 model */
    uint64_t gm_size;         /* graphics memory the GGTT covers (bytes) */
    uint64_t aperture_size;   /* mappable part, BAR2 (bytes) */
    unsigned num_fences;
    uint64_t scratch_dma;     /* a page that refused entries point at */
};

#endif

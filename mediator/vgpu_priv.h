/* Internal state of the device model (not a public header). */
#ifndef VGT_VGPU_PRIV_H
#define VGT_VGPU_PRIV_H

#include <pthread.h>

#include "vgt/ggtt.h"
#include "vgt/mmio_table.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#define VGT_MAX_VGPUS 64

struct vgt_gpu {
    struct vgt_hostgpu *hw;
    const struct vgt_log *log;
    pthread_mutex_t lock; /* partition and list */
    uint16_t platform;    /* VGT_PLAT_* */
    uint64_t low_start, low_end;   /* GM bytes open to vGPUs */
    uint64_t high_start, high_end;
    unsigned fence_start, fence_end;
    uint16_t *reg_index; /* per dword of the 2 MiB window: row + 1, 0 = none */
    struct vgt_vgpu *vgpus[VGT_MAX_VGPUS];
    unsigned nr_vgpus;
};

struct vgt_vgpu {
    struct vgt_gpu *gpu;
    struct vgt_hv *hv;
    const struct vgt_log *log;
    pthread_mutex_t lock; /* recursive */
    unsigned id;
    uint16_t domid;
    char type[16];
    struct vgt_vgpu_res res;
    uint64_t low_base, high_base;
    unsigned fence_base;

    uint32_t *vreg; /* VGT_MMIO_SIZE / 4 */
    uint8_t cfg[VGT_CFG_SIZE];
    struct vgt_ggtt *ggtt;

    struct vgt_vgpu_hooks hooks;

    /* ioreq attachment */
    struct vgt_ioreq_server *srv;
    struct vgt_vgpu_platform plat;
    int pci_range;
    int bar0_range;       /* -1 when not mapped */
    uint64_t bar0_mapped; /* where it is mapped */
    uint64_t bar2_mapped; /* where the aperture slice is mapped, 0 none */

    bool irq_line; /* an interrupt is pending and was signalled */
    bool failsafe;
    enum vgt_failsafe_reason fs_reason;
    char fs_detail[96];
    struct vgt_vgpu_stats st;
};

/* cfg_space.c */
void vgt_cfg_init(struct vgt_vgpu *v);
int vgt_cfg_read(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t *val);
int vgt_cfg_write(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t val);
uint64_t vgt_cfg_bar(const struct vgt_vgpu *v, unsigned bar_off, uint64_t size);
bool vgt_cfg_msi(const struct vgt_vgpu *v, uint64_t *addr, uint32_t *data);
uint64_t vgt_bar2_size(const struct vgt_vgpu *v);

/* partition.c */
int vgt_gpu_place_locked(struct vgt_gpu *g, const struct vgt_vgpu_res *res, uint64_t *low,
                         uint64_t *high, unsigned *fence);

/* mmio.c */
int vgt_mmio_build_index(struct vgt_gpu *g);
void vgt_mmio_init_vregs(struct vgt_vgpu *v, uint32_t from, uint32_t to);
int vgt_mmio_read(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t *val);
int vgt_mmio_write(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t val);

/* vgpu.c */
void vgt_vgpu_update_irq(struct vgt_vgpu *v);
void vgt_vgpu_remap_bars(struct vgt_vgpu *v);
void vgt_vgpu_guest_reset(struct vgt_vgpu *v, uint32_t grdom);

#endif

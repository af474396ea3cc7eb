/* Internal state of the device model (not a public header). */
#ifndef VGT_VGPU_PRIV_H
#define VGT_VGPU_PRIV_H

#include <pthread.h>

#include "vgt/display.h"
#include "vgt/display_regs.h"
#include "vgt/ggtt.h"
#include "vgt/mmio_table.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#define VGT_MAX_VGPUS 64
#define VGT_DPCD_SIZE 0x800u /* DPCD 0x000..0x7ff: caps, link config/status, power */

/* The vblank timer of one physical GPU: a thread that ticks every vGPU
 * whose guest waits for display interrupts (display.c). */
struct vgt_vblank_timer {
    pthread_mutex_t lock; /* started, stop, kicked; never held with another lock */
    pthread_cond_t cond;
    pthread_t thread;
    bool started, stop, kicked;
};

/* One pipe of a vGPU (display.c). Vblanks happen at epoch + k * period;
 * everything is computed from the clock on demand, O(1) per event. */
struct vgt_dpy_pipe {
    bool enabled;
    bool flip_pending; /* PLANE_SURF written since the last vblank */
    bool cur_pending;  /* CUR_BASE written since the last vblank */
    uint64_t period_ns;
    uint64_t next_vblank; /* clock ns */
};

enum vgt_gmbus_state { GMBUS_IDLE, GMBUS_READ, GMBUS_WRITE, GMBUS_WAIT, GMBUS_NAK };

struct vgt_display {
    unsigned heads;
    struct vgt_mode mode; /* the type's resolution */
    uint8_t connected;    /* bit per head */
    uint8_t edid[VGT_MAX_HEADS][VGT_EDID_SIZE];
    uint8_t dpcd[VGT_MAX_HEADS][VGT_DPCD_SIZE];
    uint8_t aux_i2c_off[VGT_MAX_HEADS]; /* EDID offset of I2C-over-AUX */
    struct vgt_dpy_pipe pipe[VGT_MAX_PIPES];
    uint32_t prec_pal[VGT_MAX_PIPES][PAL_PREC_ENTRIES]; /* gamma, behind PREC_PAL_DATA */
    /* GMBUS transaction */
    enum vgt_gmbus_state gmbus;
    int gmbus_head; /* head on the selected pin, -1 none */
    uint32_t gmbus_left;
    uint8_t gmbus_off;
    bool gmbus_inuse;
};

struct vgt_gpu {
    struct vgt_hostgpu *hw;
    const struct vgt_log *log;
    pthread_mutex_t lock; /* partition and list */
    uint16_t platform;    /* VGT_PLAT_* */
    uint64_t low_start, low_end;   /* GM bytes open to vGPUs */
    uint64_t high_start, high_end;
    unsigned fence_start, fence_end;
    uint16_t *reg_index; /* per dword of the 2 MiB window: row + 1, 0 = none */
    uint64_t (*now_ns)(void *opaque); /* display clock */
    void *clock_opaque;
    bool manual_vblank; /* tests tick the display themselves */
    struct vgt_vblank_timer vbl;
    struct vgt_vgpu *vgpus[VGT_MAX_VGPUS];
    unsigned nr_vgpus;
    unsigned share_limit;        /* vGPUs per range at most (lock) */
    struct vgt_ggtt_phys *phys;  /* what the physical GGTT holds */
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
    /* One bit per register dword of the window: an unlisted offset was
     * already logged (once per offset, 64 KiB whatever the guest does). */
    uint64_t *unlisted_seen;
    int (*populate)(void *opaque, uint64_t gfn, uint64_t nr); /* cfg's */
    void *populate_opaque;
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

    struct vgt_display dpy;
    /* Bit per enabled pipe, atomic: the vblank thread skips a vGPU with
     * none without taking its lock. */
    uint8_t dpy_pipes_on;

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

/* vgpu.c: zero register-file bytes [from, to), dword-aligned. */
void vgt_vgpu_vregs_zero(struct vgt_vgpu *v, uint32_t from, uint32_t to);

/* mmio.c */
int vgt_mmio_build_index(struct vgt_gpu *g);
void vgt_mmio_init_vregs(struct vgt_vgpu *v, uint32_t from, uint32_t to);
/* Only the rows with a reset value, over a file already zero. */
void vgt_mmio_set_reset_values(struct vgt_vgpu *v, uint32_t from, uint32_t to);
int vgt_mmio_read(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t *val);
int vgt_mmio_write(struct vgt_vgpu *v, uint64_t off, unsigned size, uint64_t val);

/* display.c */
extern const struct vgt_mmio_reg vgt_display_table[];
extern const size_t vgt_display_table_size;
void vgt_display_init(struct vgt_vgpu *v);
uint32_t vgt_display_master_bits(const struct vgt_vgpu *v);
void vgt_display_catch_up(struct vgt_vgpu *v);
int vgt_vblank_timer_init(struct vgt_gpu *g);
void vgt_vblank_timer_fini(struct vgt_gpu *g);

/* vgpu.c */
void vgt_vgpu_update_irq(struct vgt_vgpu *v);
void vgt_vgpu_remap_bars(struct vgt_vgpu *v);
void vgt_vgpu_guest_reset(struct vgt_vgpu *v, uint32_t grdom);

#endif

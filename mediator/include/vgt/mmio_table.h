/* The vGPU register table: const data, one row per register (or block).
 *
 * Each row names an offset and size in BAR0, the reset value, the bits the
 * guest cannot change (ro_mask), flags and optional handlers. The physical
 * GPU object builds an O(1) index over the table once (one 16-bit slot per
 * dword of the 2 MiB register window); when rows overlap, the later row
 * wins for the dwords it covers (so a block row can be refined).
 *
 * Default policy for a register that is in no row (docs/vgpu.md): it is
 * plain virtual storage of the vGPU. Naturally aligned 1/2/4/8-byte
 * accesses read what the guest last wrote (0 after reset); nothing reaches
 * the hardware; the access is counted (stats.unlisted).
 *
 * Access rules for rows: the access must be naturally aligned; 8-byte
 * accesses are two dword accesses; 1- and 2-byte accesses only on rows with
 * VGT_REG_F_BYTE. Anything else is rejected: reads return all ones, writes
 * change nothing, stats.rejected counts it. */
#ifndef VGT_MMIO_TABLE_H
#define VGT_MMIO_TABLE_H

#include <stdint.h>

struct vgt_vgpu;
struct vgt_gpu;

/* Flags (GVT-g's F_* vocabulary, gvt/mmio.h) */
#define VGT_REG_F_MODE_MASK (1u << 0)  /* high 16 bits enable writes of the low 16 */
#define VGT_REG_F_CMD_ACCESS (1u << 1) /* a command (LRI/SRM/LRM) may access it */
#define VGT_REG_F_GMADR (1u << 2)      /* value is a graphics-memory address */
#define VGT_REG_F_BYTE (1u << 3)       /* 1- and 2-byte accesses allowed */
#define VGT_REG_F_EXECLIST (1u << 4)   /* execlist register: submission hooks see it */
#define VGT_REG_F_PVINFO (1u << 5)     /* inside the PVINFO page */

/* Platform mask */
#define VGT_PLAT_SKL (1u << 0)
#define VGT_PLAT_KBL (1u << 1)
#define VGT_PLAT_GEN9 (VGT_PLAT_SKL | VGT_PLAT_KBL)

/* Handlers see one dword: @off is dword aligned. A read handler fills *val;
 * a write handler gets the value after ro/mode masks (old value in the
 * virtual register) and stores what it wants. Return 0 or a negative
 * errno; an error from a write puts the vGPU in failsafe. */
typedef int (*vgt_reg_read_fn)(struct vgt_vgpu *v, uint32_t off, uint32_t *val);
typedef int (*vgt_reg_write_fn)(struct vgt_vgpu *v, uint32_t off, uint32_t val);

struct vgt_mmio_reg {
    uint32_t offset;
    uint32_t size; /* bytes, multiple of 4 */
    uint32_t reset;
    uint32_t ro_mask;
    uint16_t flags;
    uint16_t platforms;
    vgt_reg_read_fn read;
    vgt_reg_write_fn write;
};

/* The four rows of an interrupt bank laid out as i915's GEN3_IRQ_RESET
 * expects (ISR, IMR, IIR, IER at +0, +4, +8, +0xC; i915_reg.h): ISR
 * read-only, IMR resetting to all masked, @mask_fn on IMR/IER writes,
 * @iir_fn on IIR writes (write-one-to-clear). */
#define VGT_IRQ_BANK_ROWS(isr, plat, mask_fn, iir_fn)                \
    {(isr), 4, 0, 0xffffffffu, 0, (plat), NULL, NULL},               \
    {(isr) + 0x4u, 4, 0xffffffffu, 0, 0, (plat), NULL, (mask_fn)},   \
    {(isr) + 0x8u, 4, 0, 0, 0, (plat), NULL, (iir_fn)},              \
    {(isr) + 0xCu, 4, 0, 0, 0, (plat), NULL, (mask_fn)}

/* The row covering BAR0 offset @off on this GPU's platform, or NULL when
 * the offset is unlisted (or outside the register window). O(1). */
const struct vgt_mmio_reg *vgt_mmio_lookup(const struct vgt_gpu *g, uint32_t off);

#endif

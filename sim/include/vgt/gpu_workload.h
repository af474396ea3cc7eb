/* GPU workload building blocks, shared by the native driver (sim/gpu) and
 * the guest-side driver that submits the same work through a vGPU.
 *
 * Command builders are pure: they write dwords into @cs (which must have
 * room for the GWL_*_DW count given) for graphics addresses the caller
 * already mapped, and return the number of dwords written. Checks take a
 * CPU copy of the memory and report the first wrong pixel or slot.
 * Encodings: genxml gen9.xml (MI_*, PIPE_CONTROL) and i915
 * gt/intel_gpu_commands.h + PRM vol 2a (XY_* blits, 32 bpp linear). */
#ifndef VGT_GPU_WORKLOAD_H
#define VGT_GPU_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GWL_NOOP_DW 1
#define GWL_BB_END_DW 1
#define GWL_BB_START_DW 3
#define GWL_SDI_DW 4
#define GWL_FLUSH_DW_DW 4
#define GWL_PIPE_CONTROL_DW 6
#define GWL_USER_INTERRUPT_DW 1
#define GWL_ARB_CHECK_DW 1
#define GWL_LRI_DW 3
#define GWL_SRM_DW 4
#define GWL_LRM_DW 4
#define GWL_SEMAPHORE_WAIT_DW 4
#define GWL_COLOR_BLT_DW 7
#define GWL_SRC_COPY_BLT_DW 10

size_t gwl_emit_noop(uint32_t *cs);
size_t gwl_emit_bb_end(uint32_t *cs);
/* @ppgtt: address space of the batch; @second_level: a second-level batch
 * (returns to the caller's batch at its end). */
size_t gwl_emit_bb_start(uint32_t *cs, uint64_t addr, bool ppgtt, bool second_level);
/* Store one dword at @addr (GGTT when @ggtt, else PPGTT). */
size_t gwl_emit_sdi(uint32_t *cs, uint64_t addr, bool ggtt, uint32_t value);
/* MI_FLUSH_DW with a post-sync write of @value (dword) at @addr. */
size_t gwl_emit_flush_dw(uint32_t *cs, uint64_t addr, bool ggtt, uint32_t value);
/* PIPE_CONTROL with a post-sync write: the 64-bit @value, or the 64-bit
 * timestamp when @timestamp. */
size_t gwl_emit_pipe_control(uint32_t *cs, uint64_t addr, bool ggtt, uint64_t value, bool timestamp);
size_t gwl_emit_user_interrupt(uint32_t *cs);
size_t gwl_emit_arb_check(uint32_t *cs);
size_t gwl_emit_lri(uint32_t *cs, uint32_t reg, uint32_t value);
size_t gwl_emit_srm(uint32_t *cs, uint32_t reg, uint64_t addr, bool ggtt);
size_t gwl_emit_lrm(uint32_t *cs, uint32_t reg, uint64_t addr, bool ggtt);
/* Wait until the dword at @addr equals @value (polling mode). */
size_t gwl_emit_semaphore_wait_eq(uint32_t *cs, uint64_t addr, bool ggtt, uint32_t value);

/* Blits, 32 bpp linear; @pitch in bytes (< 32768); rectangles in pixels,
 * [x1, x2) x [y1, y2). */
size_t gwl_emit_color_blt(uint32_t *cs, uint64_t dst, uint32_t pitch, uint32_t x1, uint32_t y1,
                          uint32_t x2, uint32_t y2, uint32_t color);
size_t gwl_emit_src_copy_blt(uint32_t *cs, uint64_t dst, uint32_t dst_pitch, uint32_t x1,
                             uint32_t y1, uint32_t x2, uint32_t y2, uint64_t src,
                             uint32_t src_pitch, uint32_t sx, uint32_t sy);

/* A deterministic pixel pattern for copy checks. */
static inline uint32_t gwl_pattern(uint32_t seed, uint32_t x, uint32_t y)
{
    uint32_t v = seed * 0x9e3779b1u ^ (x * 0x85ebca6bu) ^ (y * 0xc2b2ae35u);

    return v ^ (v >> 15);
}

/* Every pixel of the w x h rectangle at @px (@pitch bytes per row) is
 * @color. 0, or -1 with *bad_x, *bad_y at the first wrong pixel. */
int gwl_check_fill(const void *px, size_t pitch, uint32_t w, uint32_t h, uint32_t color,
                   uint32_t *bad_x, uint32_t *bad_y);
/* Every pixel equals gwl_pattern(seed, x, y). */
int gwl_check_pattern(const void *px, size_t pitch, uint32_t w, uint32_t h, uint32_t seed,
                      uint32_t *bad_x, uint32_t *bad_y);
void gwl_fill_pattern(void *px, size_t pitch, uint32_t w, uint32_t h, uint32_t seed);

#endif

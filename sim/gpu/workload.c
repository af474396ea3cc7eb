/* Command builders and result checks of the GPU workloads (see
 * vgt/gpu_workload.h). Bit positions are genxml gen9.xml's unless noted. */
#include <string.h>

#include "vgt/gpu_workload.h"

#define MI(op) ((uint32_t)(op) << 23)                    /* type 0, opcode 28:23 */
#define MI_GGTT (1u << 22)                               /* "Use Global GTT" */
#define BLT(op) ((2u << 29) | ((uint32_t)(op) << 22))    /* type 2, opcode 28:22 */
#define BLT_WRITE_RGBA (3u << 20)                        /* i915 BLT_WRITE_ALPHA|RGB */
#define BR13_32BPP (3u << 24)                            /* i915 BLT_DEPTH_32 */
#define BR13_ROP_COPY (0xccu << 16)                      /* i915 BLT_ROP_SRC_COPY */
#define BR13_ROP_FILL (0xf0u << 16)                      /* i915 BLT_ROP_COLOR_COPY */

size_t gwl_emit_noop(uint32_t *cs)
{
    cs[0] = 0;
    return GWL_NOOP_DW;
}

size_t gwl_emit_bb_end(uint32_t *cs)
{
    cs[0] = MI(0x0a);
    return GWL_BB_END_DW;
}

size_t gwl_emit_bb_start(uint32_t *cs, uint64_t addr, bool ppgtt, bool second_level)
{
    cs[0] = MI(0x31) | (second_level ? 1u << 22 : 0) | (ppgtt ? 1u << 8 : 0) | (3 - 2);
    cs[1] = (uint32_t)addr & ~3u;
    cs[2] = (uint32_t)(addr >> 32);
    return GWL_BB_START_DW;
}

size_t gwl_emit_sdi(uint32_t *cs, uint64_t addr, bool ggtt, uint32_t value)
{
    cs[0] = MI(0x20) | (ggtt ? MI_GGTT : 0) | (4 - 2);
    cs[1] = (uint32_t)addr & ~3u;
    cs[2] = (uint32_t)(addr >> 32);
    cs[3] = value;
    return GWL_SDI_DW;
}

size_t gwl_emit_flush_dw(uint32_t *cs, uint64_t addr, bool ggtt, uint32_t value)
{
    /* Post-Sync Operation bits 15:14 = 1 (write immediate data); dword 1
     * bit 2 Destination Address Type (1 = GGTT). */
    cs[0] = MI(0x26) | (1u << 14) | (4 - 2);
    cs[1] = ((uint32_t)addr & ~7u) | (ggtt ? 4u : 0);
    cs[2] = (uint32_t)(addr >> 32);
    cs[3] = value;
    return GWL_FLUSH_DW_DW;
}

size_t gwl_emit_pipe_control(uint32_t *cs, uint64_t addr, bool ggtt, uint64_t value, bool timestamp)
{
    /* 3D: type 3, subtype 3, opcode 2, sub-opcode 0; dword 1: CS stall
     * bit 20, post-sync op bits 15:14, Destination Address Type bit 24. */
    cs[0] = (3u << 29) | (3u << 27) | (2u << 24) | (6 - 2);
    cs[1] = (1u << 20) | ((timestamp ? 3u : 1u) << 14) | (ggtt ? 1u << 24 : 0);
    cs[2] = (uint32_t)addr & ~7u;
    cs[3] = (uint32_t)(addr >> 32);
    cs[4] = (uint32_t)value;
    cs[5] = (uint32_t)(value >> 32);
    return GWL_PIPE_CONTROL_DW;
}

size_t gwl_emit_user_interrupt(uint32_t *cs)
{
    cs[0] = MI(0x02);
    return GWL_USER_INTERRUPT_DW;
}

size_t gwl_emit_arb_check(uint32_t *cs)
{
    cs[0] = MI(0x05);
    return GWL_ARB_CHECK_DW;
}

size_t gwl_emit_lri(uint32_t *cs, uint32_t reg, uint32_t value)
{
    cs[0] = MI(0x22) | (3 - 2);
    cs[1] = reg & 0x7ffffcu;
    cs[2] = value;
    return GWL_LRI_DW;
}

size_t gwl_emit_srm(uint32_t *cs, uint32_t reg, uint64_t addr, bool ggtt)
{
    cs[0] = MI(0x24) | (ggtt ? MI_GGTT : 0) | (4 - 2);
    cs[1] = reg & 0x7ffffcu;
    cs[2] = (uint32_t)addr & ~3u;
    cs[3] = (uint32_t)(addr >> 32);
    return GWL_SRM_DW;
}

size_t gwl_emit_lrm(uint32_t *cs, uint32_t reg, uint64_t addr, bool ggtt)
{
    cs[0] = MI(0x29) | (ggtt ? MI_GGTT : 0) | (4 - 2);
    cs[1] = reg & 0x7ffffcu;
    cs[2] = (uint32_t)addr & ~3u;
    cs[3] = (uint32_t)(addr >> 32);
    return GWL_LRM_DW;
}

size_t gwl_emit_semaphore_wait_eq(uint32_t *cs, uint64_t addr, bool ggtt, uint32_t value)
{
    /* Wait Mode bit 15 = polling, Compare Operation 14:12 = 4 (SAD == SDD),
     * Memory Type bit 22 = GGTT. */
    cs[0] = MI(0x1c) | (ggtt ? 1u << 22 : 0) | (1u << 15) | (4u << 12) | (4 - 2);
    cs[1] = value;
    cs[2] = (uint32_t)addr & ~3u;
    cs[3] = (uint32_t)(addr >> 32);
    return GWL_SEMAPHORE_WAIT_DW;
}

size_t gwl_emit_color_blt(uint32_t *cs, uint64_t dst, uint32_t pitch, uint32_t x1, uint32_t y1,
                          uint32_t x2, uint32_t y2, uint32_t color)
{
    cs[0] = BLT(0x50) | BLT_WRITE_RGBA | (7 - 2);
    cs[1] = BR13_32BPP | BR13_ROP_FILL | (pitch & 0xffff);
    cs[2] = y1 << 16 | (x1 & 0xffff);
    cs[3] = y2 << 16 | (x2 & 0xffff);
    cs[4] = (uint32_t)dst;
    cs[5] = (uint32_t)(dst >> 32);
    cs[6] = color;
    return GWL_COLOR_BLT_DW;
}

size_t gwl_emit_src_copy_blt(uint32_t *cs, uint64_t dst, uint32_t dst_pitch, uint32_t x1,
                             uint32_t y1, uint32_t x2, uint32_t y2, uint64_t src,
                             uint32_t src_pitch, uint32_t sx, uint32_t sy)
{
    cs[0] = BLT(0x53) | BLT_WRITE_RGBA | (10 - 2);
    cs[1] = BR13_32BPP | BR13_ROP_COPY | (dst_pitch & 0xffff);
    cs[2] = y1 << 16 | (x1 & 0xffff);
    cs[3] = y2 << 16 | (x2 & 0xffff);
    cs[4] = (uint32_t)dst;
    cs[5] = (uint32_t)(dst >> 32);
    cs[6] = sy << 16 | (sx & 0xffff);
    cs[7] = src_pitch & 0xffff;
    cs[8] = (uint32_t)src;
    cs[9] = (uint32_t)(src >> 32);
    return GWL_SRC_COPY_BLT_DW;
}

static uint32_t px_at(const void *px, size_t pitch, uint32_t x, uint32_t y)
{
    uint32_t v;

    memcpy(&v, (const uint8_t *)px + y * pitch + (size_t)x * 4, 4);
    return v;
}

int gwl_check_fill(const void *px, size_t pitch, uint32_t w, uint32_t h, uint32_t color,
                   uint32_t *bad_x, uint32_t *bad_y)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (px_at(px, pitch, x, y) != color) {
                *bad_x = x;
                *bad_y = y;
                return -1;
            }
    return 0;
}

int gwl_check_pattern(const void *px, size_t pitch, uint32_t w, uint32_t h, uint32_t seed,
                      uint32_t *bad_x, uint32_t *bad_y)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (px_at(px, pitch, x, y) != gwl_pattern(seed, x, y)) {
                *bad_x = x;
                *bad_y = y;
                return -1;
            }
    return 0;
}

void gwl_fill_pattern(void *px, size_t pitch, uint32_t w, uint32_t h, uint32_t seed)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t v = gwl_pattern(seed, x, y);

            memcpy((uint8_t *)px + y * pitch + (size_t)x * 4, &v, 4);
        }
}

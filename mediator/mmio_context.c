/* The engine registers switched between vGPUs (see vgt/mmio_context.h). */
#include "vgt/mmio_context.h"

#include "vgt/util.h"

/* The whitelisted registers a Gen9 context image does not hold: the
 * render engine's pipeline statistics, predicate, 3DPRIM, GPGPU dispatch
 * and stream-output registers (offsets: i915 i915_reg.h, the same rows as
 * mediator/cmd_audit.c reg_rows[]), and the chicken and mode registers
 * gvt lets commands write (handlers.c F_CMD_ACCESS; gvt's mmio_context.c
 * gen9_engine_mmio_list switches most of them the same way, masked with
 * mask 0xffff). */
#define M true /* masked */
static const struct vgt_mmio_ctx_reg switch_list[] = {
    {0x2290, 8, VGT_ENGINE_RCS, "GPGPU_THREADS_DISPATCHED", false},
    {0x2300, 0x58, VGT_ENGINE_RCS, "HS_INVOCATION_COUNT..PS_DEPTH_COUNT", false},
    {0x2400, 16, VGT_ENGINE_RCS, "MI_PREDICATE_SRC0/1", false},
    {0x2420, 4, VGT_ENGINE_RCS, "GEN7_3DPRIM_END_OFFSET", false},
    {0x2430, 0x14, VGT_ENGINE_RCS, "GEN7_3DPRIM_START_VERTEX..BASE_VERTEX", false},
    {0x2500, 12, VGT_ENGINE_RCS, "GPGPU_DISPATCHDIMX/Y/Z", false},
    {0x5200, 32, VGT_ENGINE_RCS, "GEN7_SO_NUM_PRIMS_WRITTEN(0..3)", false},
    {0x5240, 32, VGT_ENGINE_RCS, "GEN7_SO_PRIM_STORAGE_NEEDED(0..3)", false},
    {0x5280, 16, VGT_ENGINE_RCS, "GEN7_SO_WRITE_OFFSET(0..3)", false},
    {0x2028, 4, VGT_ENGINE_RCS, "RING_EXCC(RCS)", M},
    {0x2088, 4, VGT_ENGINE_RCS, "FF_SLICE_CHICKEN", M},
    {0x2090, 4, VGT_ENGINE_RCS, "_3D_CHICKEN3", M},
    {0x20a0, 4, VGT_ENGINE_RCS, "GEN7_FF_THREAD_MODE", false},
    {0x20d4, 4, VGT_ENGINE_RCS, "CSFE_CHICKEN1_REG(RCS)", M},
    {0x20e0, 8, VGT_ENGINE_RCS, "GEN7_FF_SLICE_CS_CHICKEN1, FF_SLICE_CS_CHICKEN2", M},
    {0x20ec, 4, VGT_ENGINE_RCS, "GEN9_CS_DEBUG_MODE1", M},
    {0x2120, 4, VGT_ENGINE_RCS, "CACHE_MODE_0", M},
    {0x2580, 4, VGT_ENGINE_RCS, "GEN8_CS_CHICKEN1", M},
    {0x5588, 4, VGT_ENGINE_RCS, "GEN9_WM_CHICKEN3", M},
    {0x7000, 12, VGT_ENGINE_RCS, "CACHE_MODE_0_GEN7, CACHE_MODE_1, GEN7_GT_MODE", M},
    {0x7010, 12, VGT_ENGINE_RCS, "GEN7_COMMON_SLICE_CHICKEN1, COMMON_SLICE_CHICKEN2, HIZ_CHICKEN", M},
    {0x7300, 8, VGT_ENGINE_RCS, "HDC_CHICKEN0, GEN8_HDC_CHICKEN1", M},
    {0x9030, 4, VGT_ENGINE_RCS, "GEN7_SQ_CHICKEN_MBCUNIT_CONFIG", false},
    {0xe100, 4, VGT_ENGINE_RCS, "GEN7_HALF_SLICE_CHICKEN1", M},
    {0xe180, 12, VGT_ENGINE_RCS, "HALF_SLICE_CHICKEN2/3, GEN9_HALF_SLICE_CHICKEN5", M},
    {0xe194, 4, VGT_ENGINE_RCS, "GEN9_HALF_SLICE_CHICKEN7", M},
    {0xe4f0, 8, VGT_ENGINE_RCS, "GEN8_ROW_CHICKEN, GEN7_ROW_CHICKEN2", M},
    {0x12028, 4, VGT_ENGINE_VCS, "RING_EXCC(VCS)", M},
    {0x120d4, 4, VGT_ENGINE_VCS, "CSFE_CHICKEN1_REG(VCS)", M},
    {0x1a028, 4, VGT_ENGINE_VECS, "RING_EXCC(VECS)", M},
    {0x1a0d4, 4, VGT_ENGINE_VECS, "CSFE_CHICKEN1_REG(VECS)", M},
    {0x22028, 4, VGT_ENGINE_BCS, "RING_EXCC(BCS)", M},
    {0x220d4, 4, VGT_ENGINE_BCS, "CSFE_CHICKEN1_REG(BCS)", M},
};

static const uint32_t engine_base[VGT_ENGINE_NUM] = {
    [VGT_ENGINE_RCS] = 0x2000,
    [VGT_ENGINE_BCS] = 0x22000,
    [VGT_ENGINE_VCS] = 0x12000,
    [VGT_ENGINE_VECS] = 0x1a000,
};

const struct vgt_mmio_ctx_reg *vgt_mmio_context_list(size_t *n)
{
    *n = VGT_ARRAY_SIZE(switch_list);
    return switch_list;
}

bool vgt_mmio_context_in_image(unsigned engine, uint32_t reg)
{
    uint32_t rel;

    if (engine >= VGT_ENGINE_NUM)
        return false;
    /* The render RING_TIMESTAMP: read-only to commands. */
    if (reg == 0x2358 || reg == 0x235c)
        return true;
    if (reg < engine_base[engine])
        return false;
    rel = reg - engine_base[engine];
    /* i915 gen9_*_offsets: PDP0..3 +0x270..0x28c, RING_CTX_TIMESTAMP
     * +0x3a8, CS GPRs +0x600..0x67c, +0x200 (BCS_SWCTRL) on the other
     * engines; RING_TIMESTAMP +0x358 (and its upper dword) is the
     * engine's clock, read-only to commands. */
    return (rel >= 0x270 && rel < 0x290) || rel == 0x3a8 || (rel >= 0x600 && rel < 0x680) ||
           (engine != VGT_ENGINE_RCS && rel == 0x200) || rel == 0x358 || rel == 0x35c;
}

void vgt_mmio_context_init(struct vgt_mmio_ctx *mc, struct vgt_hostgpu *hw)
{
    unsigned k = 0;

    for (size_t i = 0; i < VGT_ARRAY_SIZE(switch_list); i++)
        for (uint32_t o = 0; o < switch_list[i].len && k < VGT_MMIO_CTX_MAX_DWORDS; o += 4)
            mc->host[k++] = hw->ops->mmio_read32(hw, switch_list[i].off + o);
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        mc->owner[e] = NULL;
}

unsigned vgt_mmio_context_switch(struct vgt_mmio_ctx *mc, struct vgt_hostgpu *hw,
                                 unsigned engine, const void *next)
{
    const void *prev;
    unsigned k = 0, written = 0;

    if (engine >= VGT_ENGINE_NUM)
        return 0;
    prev = mc->owner[engine];
    mc->owner[engine] = next;
    if (prev == next)
        return 0;
    for (size_t i = 0; i < VGT_ARRAY_SIZE(switch_list); i++) {
        const struct vgt_mmio_ctx_reg *r = &switch_list[i];

        for (uint32_t o = 0; o < r->len && k < VGT_MMIO_CTX_MAX_DWORDS; o += 4, k++) {
            if (r->engine != engine)
                continue;
            hw->ops->mmio_write32(hw, r->off + o, r->masked ? 0xffff0000u | (mc->host[k] & 0xffffu)
                                                            : mc->host[k]);
            written++;
        }
    }
    return written;
}

void vgt_mmio_context_forget(struct vgt_mmio_ctx *mc, unsigned engine)
{
    /* An owner no vGPU can be: the next workload restores. */
    static const char nobody;

    if (engine < VGT_ENGINE_NUM)
        mc->owner[engine] = &nobody;
}

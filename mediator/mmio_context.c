/* The engine registers switched between vGPUs (see vgt/mmio_context.h). */
#include "vgt/mmio_context.h"

#include "vgt/util.h"

/* The whitelisted registers a Gen9 context image does not hold: the
 * render engine's pipeline statistics, predicate, 3DPRIM, GPGPU dispatch
 * and stream-output registers (offsets: i915 i915_reg.h, the same rows as
 * mediator/cmd_audit.c reg_rows[]). */
static const struct vgt_mmio_ctx_reg switch_list[] = {
    {0x2290, 8, VGT_ENGINE_RCS, "GPGPU_THREADS_DISPATCHED"},
    {0x2300, 0x58, VGT_ENGINE_RCS, "HS_INVOCATION_COUNT..PS_DEPTH_COUNT"},
    {0x2400, 16, VGT_ENGINE_RCS, "MI_PREDICATE_SRC0/1"},
    {0x2420, 4, VGT_ENGINE_RCS, "GEN7_3DPRIM_END_OFFSET"},
    {0x2430, 0x14, VGT_ENGINE_RCS, "GEN7_3DPRIM_START_VERTEX..BASE_VERTEX"},
    {0x2500, 12, VGT_ENGINE_RCS, "GPGPU_DISPATCHDIMX/Y/Z"},
    {0x5200, 32, VGT_ENGINE_RCS, "GEN7_SO_NUM_PRIMS_WRITTEN(0..3)"},
    {0x5240, 32, VGT_ENGINE_RCS, "GEN7_SO_PRIM_STORAGE_NEEDED(0..3)"},
    {0x5280, 16, VGT_ENGINE_RCS, "GEN7_SO_WRITE_OFFSET(0..3)"},
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
            hw->ops->mmio_write32(hw, r->off + o, mc->host[k]);
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

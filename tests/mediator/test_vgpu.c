/* The vGPU device model against the seam doubles: config space, PVINFO at
 * its byte offsets, register-table semantics, partitioning, GGTT through
 * BAR0, fences, interrupts -> MSI, failsafe and reset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_hv.h"
#include "vgt/display_regs.h"
#include "vgt/gen8_gtt.h"
#include "vgt/opregion.h"
#include "vgt/ggtt.h"
#include "vgt/mmio_table.h"
#include "vgt/util.h"
#include "vgt/vgpu.h"
#include "vgt/vgpu_regs.h"

#define MIB (1ull << 20)
#define GM_SIZE (4096 * MIB)
#define APERTURE (1024 * MIB)
#define FENCES 32u

struct fx {
    struct sim_arena *arena;
    struct fake_hv *hv;
    struct fake_hostgpu *hw;
    struct vgt_gpu *gpu;
    struct vgt_vgpu *v;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct vgt_gpu_cfg gc = {0};
    struct vgt_vgpu_cfg vc = {0};

    assert_int_equal(sim_arena_create(256 * MIB, &f->arena), 0);
    assert_int_equal(fake_hv_create(f->arena, 7, 64 * MIB, FAKE_HV_SCRAMBLE_4K, 11, &f->hv), 0);
    assert_int_equal(fake_hostgpu_create(f->arena, GM_SIZE, APERTURE, FENCES, &f->hw), 0);
    gc.hw = &f->hw->gpu;
    assert_int_equal(vgt_gpu_create(&gc, &f->gpu), 0);
    vc.domid = 7;
    vc.hv = &f->hv->hv;
    vc.type_name = "V5_4";
    assert_int_equal(vgt_vgpu_res_from_type("V5_4", &vc.res), 0);
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &f->v), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    vgt_gpu_destroy(f->gpu);
    fake_hostgpu_destroy(f->hw);
    fake_hv_destroy(f->hv);
    sim_arena_destroy(f->arena);
    free(f);
    return 0;
}

static uint32_t cfg(struct fx *f, uint32_t off, unsigned size)
{
    uint32_t v = 0;

    assert_int_equal(vgt_vgpu_cfg_read(f->v, off, size, &v), 0);
    return v;
}

static uint64_t rd(struct fx *f, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    assert_int_equal(vgt_vgpu_mmio_read(f->v, off, size, &v), 0);
    return v;
}

static void wr(struct fx *f, uint64_t off, unsigned size, uint64_t val)
{
    assert_int_equal(vgt_vgpu_mmio_write(f->v, off, size, val), 0);
}

/* ---- config space ---- */

static void test_cfg_layout(void **state)
{
    struct fx *f = *state;
    unsigned caps[8], n = 0;
    uint8_t p;

    assert_int_equal(cfg(f, 0, 2), 0x8086);
    assert_int_equal(cfg(f, 2, 2), 0x1912);
    assert_int_equal(cfg(f, 0x0B, 1), 0x03); /* display controller */
    assert_int_equal(cfg(f, 0x0A, 1), 0x00); /* VGA */
    assert_int_equal(cfg(f, 0x06, 2) & 0x10, 0x10);
    /* Walk the capability chain as a guest kernel does. */
    for (p = (uint8_t)cfg(f, 0x34, 1); p && n < 8; p = (uint8_t)cfg(f, p + 1, 1))
        caps[n++] = p | cfg(f, p, 1) << 8;
    assert_int_equal(n, 4);
    assert_int_equal(caps[0], 0x40 | 0x09 << 8);
    assert_int_equal(cfg(f, 0x42, 1), 0x0C);
    assert_int_equal(caps[1], 0x70 | 0x10 << 8);
    assert_int_equal((cfg(f, 0x72, 2) >> 4) & 0xf, 9); /* RC integrated endpoint */
    assert_int_equal(caps[2], 0xAC | 0x05 << 8);
    assert_int_equal(caps[3], 0xD0 | 0x01 << 8);
    /* Unimplemented space reads zero; past 256 all ones. */
    assert_int_equal(cfg(f, 0xE0, 4), 0);
    assert_int_equal(cfg(f, 0x100, 4), 0xffffffffu);
    /* GGTT size in GMCH control: 4 GiB of GM -> 8 MiB -> GGMS 3 */
    assert_int_equal((cfg(f, 0x50, 2) >> 6) & 3, 3);
}

static void test_cfg_bar_sizing_and_ro(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;

    /* Read-only fields ignore writes. */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0, 4, 0x12345678), 0);
    assert_int_equal(cfg(f, 0, 4), 0x19128086);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x34, 1, 0x99), 0);
    assert_int_equal(cfg(f, 0x34, 1), 0x40);
    /* BAR0: 16 MiB, 64-bit, non-prefetchable */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x10, 4, 0xffffffff), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x14, 4, 0xffffffff), 0);
    assert_int_equal(cfg(f, 0x10, 4), (uint32_t)~(VGT_BAR0_SIZE - 1) | 0x4);
    assert_int_equal(cfg(f, 0x14, 4), 0xffffffff);
    /* BAR2: aperture, 64-bit, prefetchable */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x18, 4, 0xffffffff), 0);
    assert_int_equal(cfg(f, 0x18, 4), (uint32_t)~(APERTURE - 1) | 0xC);
    /* Program them; enable memory decoding. */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x10, 4, 0xe1000000u), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x14, 4, 0), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x18, 4, 0x40000000u | 0x123), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x1C, 4, 1), 0);
    assert_int_equal(cfg(f, 0x18, 4), 0x4000000c);
    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(info.bar0, 0); /* decoding still off */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0x04, 2, 0xffff), 0);
    assert_int_equal(cfg(f, 0x04, 2), 0x0406);
    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(info.bar0, 0xe1000000ull);
    assert_int_equal(info.bar2, 0x140000000ull);
    /* OpRegion address is stored. */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0xFC, 4, 0xfed0c000u), 0);
    assert_int_equal(cfg(f, 0xFC, 4), 0xfed0c000u);
    /* Unaligned access rejected */
    uint32_t v;
    assert_int_equal(vgt_vgpu_cfg_read(f->v, 0x11, 2, &v), -EINVAL);
}

/* ---- PVINFO ---- */

static void test_pvinfo_fields(void **state)
{
    struct fx *f = *state;
    const uint64_t pv = VGT_PVINFO_PAGE;
    struct vgt_vgpu_info info;

    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(rd(f, pv + 0x000, 8), 0x4776544776544776ull);
    assert_int_equal(rd(f, pv + 0x000, 4), 0x76544776u);
    assert_int_equal(rd(f, pv + 0x000, 1), 0x76);
    assert_int_equal(rd(f, pv + 0x008, 2), 1);
    assert_int_equal(rd(f, pv + 0x00A, 2), 0);
    assert_int_equal(rd(f, pv + 0x00C, 4), info.id);
    assert_int_equal(rd(f, pv + 0x010, 4), (1u << 2) | (1u << 3) | (1u << 4));
    assert_int_equal(rd(f, pv + 0x040, 4), info.low_base);
    assert_int_equal(rd(f, pv + 0x044, 4), 128 * MIB);
    assert_int_equal(rd(f, pv + 0x048, 4), info.high_base);
    assert_int_equal(rd(f, pv + 0x04C, 4), 512 * MIB);
    assert_int_equal(rd(f, pv + 0x050, 4), 4);
    /* Read-only: magic and caps ignore writes */
    wr(f, pv + 0x000, 8, 0);
    wr(f, pv + 0x010, 4, 0);
    wr(f, pv + 0x044, 4, 1);
    assert_int_equal(rd(f, pv + 0x000, 8), VGT_MAGIC);
    assert_int_equal(rd(f, pv + 0x010, 4), 0x1c);
    assert_int_equal(rd(f, pv + 0x044, 4), 128 * MIB);
    /* Writable: display_ready, rsv5, cursor, pdps, execlist descriptor */
    assert_int_equal(rd(f, pv + 0x804, 4), 0);
    wr(f, pv + 0x804, 4, 1);
    assert_int_equal(rd(f, pv + 0x804, 4), 1);
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.display_ready);
    wr(f, pv + 0x808, 4, 0xa1);
    wr(f, pv + 0x814, 4, 0xa4);
    wr(f, pv + 0x830, 4, 0x33);
    wr(f, pv + 0x834, 4, 0x44);
    for (unsigned i = 0; i < 8; i++)
        wr(f, pv + 0x838 + 4 * i, 4, 0x1000u * (i + 1));
    wr(f, pv + 0x858, 4, 0x55);
    wr(f, pv + 0x85C, 4, 0x66);
    assert_int_equal(rd(f, pv + 0x808, 4), 0xa1);
    assert_int_equal(rd(f, pv + 0x814, 4), 0xa4);
    assert_int_equal(rd(f, pv + 0x830, 4), 0x33);
    assert_int_equal(rd(f, pv + 0x834, 4), 0x44);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rd(f, pv + 0x838 + 4 * i, 4), 0x1000u * (i + 1));
    assert_int_equal(rd(f, pv + 0x858, 8), 0x6600000055ull);
    /* Reserved space between fields stays zero. */
    wr(f, pv + 0x100, 4, 0xffff);
    assert_int_equal(rd(f, pv + 0x100, 4), 0);
    wr(f, pv + 0x81C, 4, 0xffff);
    assert_int_equal(rd(f, pv + 0x81C, 4), 0);
}

struct hook_log {
    unsigned calls, code;
    uint64_t pdp[4], desc;
    int ret;
    unsigned elsp, resets, failsafe;
};

static int on_g2v(void *opaque, struct vgt_vgpu *v, unsigned code, const uint64_t pdp[4],
                  uint64_t desc)
{
    struct hook_log *h = opaque;

    (void)v;
    h->calls++;
    h->code = code;
    memcpy(h->pdp, pdp, sizeof(h->pdp));
    h->desc = desc;
    return h->ret;
}

static int on_elsp(void *opaque, struct vgt_vgpu *v, unsigned engine, uint32_t val)
{
    struct hook_log *h = opaque;

    (void)v;
    (void)val;
    h->elsp += engine == VGT_ENGINE_BCS ? 100 : 1;
    return 0;
}

static void on_reset(void *opaque, struct vgt_vgpu *v, unsigned mask, bool dmlr)
{
    (void)v;
    (void)mask;
    ((struct hook_log *)opaque)->resets += dmlr ? 10 : 1;
}

static void on_failsafe(void *opaque, struct vgt_vgpu *v)
{
    (void)v;
    ((struct hook_log *)opaque)->failsafe++;
}

static void test_g2v_notify(void **state)
{
    struct fx *f = *state;
    struct hook_log h = {0};
    struct vgt_vgpu_hooks hooks = {.opaque = &h, .g2v_notify = on_g2v, .elsp_write = on_elsp};
    const uint64_t pv = VGT_PVINFO_PAGE;
    struct vgt_vgpu_info info;

    vgt_vgpu_set_hooks(f->v, &hooks);
    wr(f, pv + VGT_PV_PDP(0, 0), 4, 0x11000);
    wr(f, pv + VGT_PV_PDP(0, 1), 4, 0x2);
    wr(f, pv + VGT_PV_PDP(3, 0), 4, 0x44000);
    wr(f, pv + 0x818, 4, VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.code, 4);
    assert_int_equal(h.pdp[0], 0x200011000ull);
    assert_int_equal(h.pdp[3], 0x44000);
    wr(f, pv + 0x818, 4, 99); /* unknown: ignored */
    assert_int_equal(h.calls, 1);
    /* ELSP reaches the hook with the engine, and reads as 0. */
    wr(f, RING_ELSP(BLT_RING_BASE), 4, 0xabc);
    assert_int_equal(h.elsp, 100);
    assert_int_equal(rd(f, RING_ELSP(BLT_RING_BASE), 4), 0);
    /* A hook refusing puts the vGPU in failsafe. */
    h.ret = -EINVAL;
    wr(f, pv + 0x818, 4, VGT_G2V_EXECLIST_CONTEXT_CREATE);
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.failsafe);
    assert_int_equal(info.failsafe_reason, VGT_FAILSAFE_GUEST_ERROR);
    assert_int_equal(info.st.g2v_invalid, 1);
    /* In failsafe the hooks are not called. */
    wr(f, pv + 0x818, 4, VGT_G2V_EXECLIST_CONTEXT_CREATE);
    wr(f, RING_ELSP(RENDER_RING_BASE), 4, 1);
    assert_int_equal(h.calls, 2);
    assert_int_equal(h.elsp, 100);
}

/* ---- register table ---- */

/* A replay of what i915 6.1 does on a Skylake vGPU, in its order: W writes
 * the value, R reads and checks (value & mask) == want, as i915 waits for
 * (sources: i915_vgpu.c intel_vgpu_detect, intel_uncore.c forcewake
 * fw_domain_get/wait_ack, intel_reset.c gen8_engine_reset_prepare,
 * gen6_hw_domain_reset, gen8_engine_reset_cancel). */
enum { W, R };
struct replay_op {
    int op;
    uint32_t off;
    unsigned size;
    uint64_t val, mask, want; /* W: val; R: mask and want */
};
#define MASKED_ON(b) (((uint64_t)(b) << 16) | (b))
#define MASKED_OFF(b) ((uint64_t)(b) << 16)
#define FW_KERNEL (1u << 0) /* i915 FORCEWAKE_KERNEL */
#define RESET_ENGINE(base, grdom)                                                                   \
    {R, RING_RESET_CTL(base), 4, 0, RESET_CTL_READY_TO_RESET | (1u << 2), 0},                  \
    {W, RING_RESET_CTL(base), 4, MASKED_ON(RESET_CTL_REQUEST_RESET), 0, 0},                    \
    {R, RING_RESET_CTL(base), 4, 0, RESET_CTL_READY_TO_RESET, RESET_CTL_READY_TO_RESET},       \
    {W, GEN6_GDRST, 4, (grdom), 0, 0},                                                          \
    {R, GEN6_GDRST, 4, 0, (grdom), 0},                                                          \
    {W, RING_RESET_CTL(base), 4, MASKED_OFF(RESET_CTL_REQUEST_RESET), 0, 0},                   \
    {R, RING_RESET_CTL(base), 4, 0, RESET_CTL_READY_TO_RESET | RESET_CTL_REQUEST_RESET, 0}
/* __intel_engine_stop_cs: STOP_RING, wait for MODE_IDLE (i915 gives up
 * after 100 ms per engine otherwise). */
#define STOP_ENGINE(base)                                                                          \
    {W, RING_MI_MODE(base), 4, MASKED_ON(STOP_RING), 0, 0},                                    \
    {R, RING_MI_MODE(base), 4, 0, MODE_IDLE, MODE_IDLE}
/* enable_execlists + enable_error_interrupt: HWSTAM, run list on, ring
 * running, errors cleared and masked; a non-zero ESR makes i915 log
 * "resumed still in error" and reset the engine. */
#define GFX_RUN_LIST_ENABLE (1u << 15)
#define I915_ERROR_INSTRUCTION (1u << 0)
#define RESUME_ENGINE(base)                                                                        \
    {W, RING_HWSTAM(base), 4, 0xffffffffu, 0, 0},                                              \
    {W, RING_MODE_GEN7(base), 4, MASKED_ON(GFX_RUN_LIST_ENABLE), 0, 0},                        \
    {W, RING_MI_MODE(base), 4, MASKED_OFF(STOP_RING), 0, 0},                                   \
    {R, RING_MI_MODE(base), 4, 0, STOP_RING, 0},                                               \
    {W, RING_EMR(base), 4, 0xffffffffu, 0, 0},                                                 \
    {W, RING_EIR(base), 4, 0xffffffffu, 0, 0},                                                 \
    {R, RING_ESR(base), 4, 0, 0xffffffffu, 0},                                                 \
    {R, RING_EIR(base), 4, 0, 0xffffffffu, 0},                                                 \
    {W, RING_EMR(base), 4, ~I915_ERROR_INSTRUCTION, 0, 0}
/* A GT workaround as wa_list_apply does it: read, OR in, write, verify. */
#define WA_OR(reg, bits) {R, (reg), 4, 0, 0, 0}, {W, (reg), 4, (bits), 0, 0}, {R, (reg), 4, 0, (bits), (bits)}

static const struct replay_op i915_skl_init[] = {
    /* intel_vgpu_detect: the magic, then the version (1.0). */
    {R, VGT_PVINFO_PAGE, 8, 0, ~0ull, VGT_MAGIC},
    {R, VGT_PVINFO_PAGE + 0x8, 2, 0, 0xffff, 1},
    {R, VGT_PVINFO_PAGE + 0xa, 2, 0, 0xffff, 0},
    /* Forcewake: request each domain, wait for its ack; release. (i915 6.1
     * itself skips forcewake on a vGPU: intel_uncore_init_mmio sets
     * UNCORE_HAS_FORCEWAKE only when !intel_vgpu_active; an older or
     * other guest driver may not.) */
    {W, FORCEWAKE_RENDER_GEN9, 4, MASKED_ON(FW_KERNEL), 0, 0},
    {R, FORCEWAKE_ACK_RENDER_GEN9, 4, 0, FW_KERNEL, FW_KERNEL},
    {W, FORCEWAKE_BLITTER_GEN9, 4, MASKED_ON(FW_KERNEL), 0, 0},
    {R, FORCEWAKE_ACK_BLITTER_GEN9, 4, 0, FW_KERNEL, FW_KERNEL},
    {W, FORCEWAKE_MEDIA_GEN9, 4, MASKED_ON(FW_KERNEL), 0, 0},
    {R, FORCEWAKE_ACK_MEDIA_GEN9, 4, 0, FW_KERNEL, FW_KERNEL},
    /* intel_uncore_init_mmio: no unclaimed access (FPGA_DBG bit 31). */
    {R, FPGA_DBG, 4, 0, 1u << 31, 0},
    /* gen9_sseu_info_init on a GT2: slice 0 only (FUSE2 bits 27:25),
     * subslice 3 of 4 fused off (bits 23:20), no EU of slice 0 disabled in
     * subslices 0..2 (GEN9_EU_DISABLE(0), 8 bits each): 24 EUs. */
    {R, GEN8_FUSE2, 4, 0, 0x7u << 25, 1u << 25},
    {R, GEN8_FUSE2, 4, 0, 0xfu << 20, 0x8u << 20},
    {R, GEN9_EU_DISABLE(0), 4, 0, 0x00ffffffu, 0},
    /* gen9_read_clock_frequency: crystal (bit 0 clear), shift 2 (bits
     * 2:1): 24 MHz >> 1 = the 12 MHz SKL CS timestamp. */
    {R, CTC_MODE, 4, 0, 0x7u, 0x4u},
    /* gen6_rps_get_freq_caps: RP0 (7:0) = RPn (23:16) = 0, so
     * intel_rps_enable finds "no room for dynamic reclocking". */
    {R, GEN6_RP_STATE_CAP, 4, 0, 0x00ff00ffu, 0},
    /* gen8_irq_reset: the PCU bank, then the IIR must read zero. */
    {W, GEN8_PCU_IMR, 4, 0xffffffffu, 0, 0},
    {W, GEN8_PCU_IER, 4, 0, 0, 0},
    {W, GEN8_PCU_IIR, 4, 0xffffffffu, 0, 0},
    {R, GEN8_PCU_IIR, 4, 0, 0xffffffffu, 0},
    {W, GEN6_PMINTRMSK, 4, 0xffffffffu, 0, 0},
    /* skl_gt_workarounds_init (GAM_ECOCHK ECOCHK_DIS_TLB bit 8 |
     * BDW_DISABLE_HDC_INVALIDATION bit 25; MMCD_PCLA 31 | HOTSPOT_EN 27;
     * GEN8_EU_GAUNIT_CLOCK_GATE_DISABLE bit 14). */
    WA_OR(GAM_ECOCHK, (1u << 8) | (1u << 25)),
    WA_OR(MMCD_MISC_CTRL, (1u << 31) | (1u << 27)),
    WA_OR(GEN7_UCGCTL4, 1u << 14),
    /* rcs_engine_wa_init on Skylake: masked CHICKEN bits read back set
     * (the mask half reads 0), plain ones as above. */
    {W, GEN9_CSFE_CHICKEN1_RCS, 4, MASKED_ON(1u << 2), 0, 0},
    {R, GEN9_CSFE_CHICKEN1_RCS, 4, 0, 0xffffffffu, 1u << 2},
    {W, GEN7_FF_SLICE_CS_CHICKEN1, 4, MASKED_ON(1u << 14), 0, 0},
    {R, GEN7_FF_SLICE_CS_CHICKEN1, 4, 0, 0xffffffffu, 1u << 14},
    WA_OR(GEN8_GARBCNTL, 1u << 7),
    WA_OR(GEN8_L3SQCREG4, 1u << 21),
    WA_OR(BDW_SCRATCH1, 1u << 2),
    {W, GEN9_SCRATCH_LNCF1, 4, 0, 0, 0},
    /* intel_engine_apply_whitelist: the slots hold what i915 wrote. */
    {W, RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, 0), 4, 0x2248, 0, 0},
    {W, RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, 11), 4, RENDER_RING_BASE + 0x94, 0, 0},
    {R, RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, 0), 4, 0, 0xffffffffu, 0x2248},
    {R, RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, 11), 4, 0, 0xffffffffu, RENDER_RING_BASE + 0x94},
    /* intel_mocs_init_engine: each engine's table and the L3CC table
     * (first and last entries; the values are arbitrary here: the vGPU
     * only stores them). */
    {W, GEN9_GFX_MOCS(0), 4, 0x9, 0, 0},
    {W, GEN9_GFX_MOCS(63), 4, 0x38, 0, 0},
    {W, GEN9_MFX0_MOCS(63), 4, 0x38, 0, 0},
    {W, GEN9_VEBOX_MOCS(63), 4, 0x38, 0, 0},
    {W, GEN9_BLT_MOCS(63), 4, 0x38, 0, 0},
    {W, GEN9_LNCFCMOCS(0), 4, 0x00100010, 0, 0},
    {W, GEN9_LNCFCMOCS(31), 4, 0x00300030, 0, 0},
    {R, GEN9_GFX_MOCS(63), 4, 0, 0xffffffffu, 0x38},
    {R, GEN9_LNCFCMOCS(31), 4, 0, 0xffffffffu, 0x00300030},
    /* execlists_reset_prepare stops each engine before the reset. */
    STOP_ENGINE(RENDER_RING_BASE),
    STOP_ENGINE(BLT_RING_BASE),
    STOP_ENGINE(GEN6_BSD_RING_BASE),
    STOP_ENGINE(VEBOX_RING_BASE),
    /* Per-engine reset at init (intel_gt_reset_all_engines / sanitize). */
    RESET_ENGINE(RENDER_RING_BASE, GEN6_GRDOM_RENDER),
    RESET_ENGINE(BLT_RING_BASE, GEN6_GRDOM_BLT),
    RESET_ENGINE(GEN6_BSD_RING_BASE, GEN6_GRDOM_MEDIA),
    RESET_ENGINE(VEBOX_RING_BASE, GEN6_GRDOM_VECS),
    RESUME_ENGINE(RENDER_RING_BASE),
    RESUME_ENGINE(BLT_RING_BASE),
    RESUME_ENGINE(GEN6_BSD_RING_BASE),
    RESUME_ENGINE(VEBOX_RING_BASE),
    {W, FORCEWAKE_RENDER_GEN9, 4, MASKED_OFF(FW_KERNEL), 0, 0},
    {R, FORCEWAKE_ACK_RENDER_GEN9, 4, 0, FW_KERNEL, 0},
};

/* The display side of i915 6.1's Skylake probe (issue 16), in its order:
 * gen8_display_irq_reset then gen8_de_irq_postinstall's
 * gen3_assert_iir_is_zero on EDP_PSR_IIR; skl_wm_init (skl_sagv_disable
 * through skl_pcode_request, skl_read_wm_latency's two sets);
 * skl_sanitize_cdclk (SWF18) and skl_set_cdclk's pcode handshake; the
 * readout of plane 2 of each pipe (skl_plane_get_hw_state,
 * skl_ddb_get_hw_plane_state, skl_pipe_wm_get_hw_state) and its disable
 * (skl_plane_disable_arm). A pcode request is __snb_pcode_rw: not busy,
 * DATA, DATA1, command | READY, READY clear with status 0, DATA. */
#define PCODE_RW(mbox, data, reply_mask, reply)                                                    \
    {R, GEN6_PCODE_MAILBOX, 4, 0, GEN6_PCODE_READY, 0},                                        \
    {W, GEN6_PCODE_DATA, 4, (data), 0, 0},                                                     \
    {W, GEN6_PCODE_DATA1, 4, 0, 0, 0},                                                         \
    {W, GEN6_PCODE_MAILBOX, 4, GEN6_PCODE_READY | (mbox), 0, 0},                               \
    {R, GEN6_PCODE_MAILBOX, 4, 0, GEN6_PCODE_READY | GEN6_PCODE_ERROR_MASK, GEN6_PCODE_SUCCESS}, \
    {R, GEN6_PCODE_DATA, 4, 0, (reply_mask), (reply)}
/* skl_plane_get_hw_state / skl_ddb_get_hw_plane_state /
 * skl_pipe_wm_get_hw_state for plane @i of pipe @p: off, no DDB, no WM;
 * then skl_plane_disable_arm. */
#define PLANE_READOUT(p, i)                                                                        \
    {R, PLANE_N(PLANE_CTL(p), i), 4, 0, PLANE_CTL_ENABLE, 0},                                  \
    {R, PLANE_N(PLANE_BUF_CFG(p), i), 4, 0, 0xffffffffu, 0},                                   \
    {R, PLANE_N(PLANE_NV12_BUF_CFG(p), i), 4, 0, 0xffffffffu, 0},                              \
    {R, PLANE_N(PLANE_WM(p, 0), i), 4, 0, PLANE_WM_EN, 0},                                     \
    {R, PLANE_N(PLANE_WM(p, 7), i), 4, 0, PLANE_WM_EN, 0},                                     \
    {R, PLANE_N(PLANE_WM_TRANS(p), i), 4, 0, PLANE_WM_EN, 0},                                  \
    {W, PLANE_N(PLANE_CTL(p), i), 4, 0, 0, 0},                                                 \
    {W, PLANE_N(PLANE_SURF(p), i), 4, 0, 0, 0}
/* skl_program_plane_noarm/_arm for plane 2 (an XRGB8888 sprite), then
 * what skl_plane_get_hw_state and the DDB readout read back. */
#define PLANE_PROGRAM(p, i)                                                                        \
    {W, PLANE_N(PLANE_STRIDE(p), i), 4, 1024 * 4 / 64, 0, 0},                                  \
    {W, PLANE_N(PLANE_POS(p), i), 4, 0, 0, 0},                                                 \
    {W, PLANE_N(PLANE_SIZE(p), i), 4, (767u << 16) | 1023u, 0, 0},                             \
    {W, PLANE_N(PLANE_AUX_DIST(p), i), 4, 0, 0, 0},                                            \
    {W, PLANE_N(PLANE_AUX_OFFSET(p), i), 4, 0, 0, 0},                                          \
    {W, PLANE_N(PLANE_KEYVAL(p), i), 4, 0, 0, 0},                                              \
    {W, PLANE_N(PLANE_KEYMSK(p), i), 4, 0, 0, 0},                                              \
    {W, PLANE_N(PLANE_KEYMAX(p), i), 4, 0, 0, 0},                                              \
    {W, PLANE_N(PLANE_OFFSET(p), i), 4, 0, 0, 0},                                              \
    {W, PLANE_N(PLANE_BUF_CFG(p), i), 4, (159u << 16) | 80u, 0, 0},                            \
    {W, PLANE_N(PLANE_WM(p, 0), i), 4, PLANE_WM_EN | (1u << PLANE_WM_LINES_SHIFT) | 20u, 0, 0}, \
    {W, PLANE_N(PLANE_CTL(p), i), 4, PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888, 0, 0},     \
    {W, PLANE_N(PLANE_SURF(p), i), 4, 0x00400000u, 0, 0},                                      \
    {R, PLANE_N(PLANE_CTL(p), i), 4, 0, 0xffffffffu, PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888}, \
    {R, PLANE_N(PLANE_SIZE(p), i), 4, 0, 0xffffffffu, (767u << 16) | 1023u},                   \
    {R, PLANE_N(PLANE_SURF(p), i), 4, 0, PLANE_SURF_ADDR_MASK, 0x00400000u},                   \
    {R, PLANE_N(PLANE_BUF_CFG(p), i), 4, 0, 0xffffffffu, (159u << 16) | 80u}

/* A read-modify-write that must read back what was set. */
#define RMW_OR(reg, bits) {R, (reg), 4, 0, 0, 0}, {W, (reg), 4, (bits), 0, 0}, {R, (reg), 4, 0, (bits), (bits)}

static const struct replay_op i915_skl_display[] = {
    /* The rig's second run: intel_dram_detect (skl_get_dram_type: DDR4;
     * skl_dram_get_channels_info: both channels populated, rank 2, x8),
     * gen6_update_ring_freq's DCLK, pch_rawclk (24 MHz) and
     * intel_ddi_sanitize_encoder_pll_mapping (DDI clocks gated). */
    {R, SKL_MAD_INTER_CHANNEL, 4, 0, 0x3, SKL_DRAM_DDR_TYPE_DDR4},
    {R, SKL_MAD_DIMM_CH0, 4, 0, 0x7ff, 8 | SKL_DRAM_RANK_2},
    {R, SKL_MAD_DIMM_CH1, 4, 0, 0x7ff, 8 | SKL_DRAM_RANK_2},
    {R, SKL_MC_BIOS_DATA, 4, 0, 0xf, 8},
    {R, PCH_RAWCLK_FREQ, 4, 0, 0x3ff, 24},
    {R, DPLL_CTRL2, 4, 0, DPLL_CTRL2_DDI_CLK_OFF(1) | DPLL_CTRL2_DDI_CLK_OFF(2) | DPLL_CTRL2_DDI_CLK_OFF(3),
     DPLL_CTRL2_DDI_CLK_OFF(1) | DPLL_CTRL2_DDI_CLK_OFF(2) | DPLL_CTRL2_DDI_CLK_OFF(3)},
    /* intel_device_info_runtime_init: no pipe fused off (SKL_DFSM bits
     * 30-28); intel_update_max_cdclk: CDCLK limit 675 MHz (bits 24:23 0) */
    {R, SKL_DFSM, 4, 0, (7u << 28) | (3u << 23), 0},
    /* skl_display_core_init: intel_pch_reset_handshake (bit 4),
     * gen9_set_dc_state(DC_STATE_DISABLE) re-reads until it matches,
     * gen9_dbuf_enable waits for the power state */
    RMW_OR(HSW_NDE_RSTWRN_OPT, 1u << 4),
    {R, DC_STATE_EN, 4, 0, 0, 0},
    {W, DC_STATE_EN, 4, 0, 0, 0},
    {R, DC_STATE_EN, 4, 0, 0xffffffffu, 0},
    {W, DBUF_CTL, 4, DBUF_POWER_REQUEST, 0, 0},
    {R, DBUF_CTL, 4, 0, DBUF_POWER_STATE, DBUF_POWER_STATE},
    /* intel_modeset_init_nogem: intel_vga_disable returns at once when
     * the VGA plane is already disabled (no legacy VGA I/O) */
    {R, CPU_VGACNTRL, 4, 0, VGA_DISP_DISABLE, VGA_DISP_DISABLE},
    /* hsw_enabled_transcoders, per pipe: transcoder EDP is off */
    {R, TRANS_DDI_FUNC_CTL_EDP, 4, 0, TRANS_DDI_FUNC_ENABLE, 0},
    /* spt_hpd_detection_setup: ports B-D (bits 4, 12, 20), then port E */
    {R, PCH_PORT_HOTPLUG, 4, 0, 0, 0},
    {W, PCH_PORT_HOTPLUG, 4, PORT_HOTPLUG_ENABLE(1) | PORT_HOTPLUG_ENABLE(2) | PORT_HOTPLUG_ENABLE(3), 0, 0},
    {R, PCH_PORT_HOTPLUG2, 4, 0, 0xffffffffu, 0},
    {W, PCH_PORT_HOTPLUG2, 4, 0, 0, 0},
    /* gen9/skl_init_clock_gating: SKL_EDP_PSR_FIX_RDWRAP, MASK_WAKEMEM,
     * DISP_FBC_WM_DIS, DPFC_NUKE_ON_ANY_MODIFICATION | DPFC_DISABLE_DUMMY0 */
    RMW_OR(CHICKEN_PAR1_1, 1u << 3),
    RMW_OR(GEN8_CHICKEN_DCPR_1, 1u << 13),
    RMW_OR(DISP_ARB_CTL, 1u << 15),
    RMW_OR(ILK_DPFC_CHICKEN_A, (1u << 23) | (1u << 8)),
    /* skl_watermark_ipc_init: IPC stays off on Skylake (WA #0477), a
     * read-modify-write clearing DISP_IPC_ENABLE */
    {R, DISP_ARB_CTL2, 4, 0, 0, 0},
    {W, DISP_ARB_CTL2, 4, 0, 0, 0},
    {R, DISP_ARB_CTL2, 4, 0, DISP_IPC_ENABLE, 0},
    /* i915_audio_component_init (display 9+) */
    {R, AUD_FREQ_CNTRL, 4, 0, 0, 0},
    /* gen8_display_irq_reset, gen8_de_irq_postinstall */
    {W, EDP_PSR_IMR, 4, 0xffffffffu, 0, 0},
    {W, EDP_PSR_IIR, 4, 0xffffffffu, 0, 0},
    {R, EDP_PSR_IIR, 4, 0, 0xffffffffu, 0},
    /* skl_sagv_disable: DATA & IS_DISABLED == IS_DISABLED on the first try */
    PCODE_RW(GEN9_PCODE_SAGV_CONTROL, GEN9_SAGV_DISABLE, GEN9_SAGV_IS_DISABLED, GEN9_SAGV_IS_DISABLED),
    /* skl_read_wm_latency: levels 0-3, then 4-7 (all but level 0 non-zero,
     * or adjust_wm_latency turns the levels above off) */
    PCODE_RW(GEN9_PCODE_READ_MEM_LATENCY, 0, 0xffffffffu, 0x1e1a1100u),
    PCODE_RW(GEN9_PCODE_READ_MEM_LATENCY, 1, 0xffffffffu, 0x61514b3du),
    /* skl_sanitize_cdclk: SWF18's low 24 bits 0 = no pre-OS display */
    {R, SWF_ILK(0x18), 4, 0, 0x00ffffffu, 0},
    /* skl_set_cdclk: PREPARE_FOR_CHANGE until READY_FOR_CHANGE, CDCLK_CTL,
     * then the voltage level (a write: the status only) */
    PCODE_RW(SKL_PCODE_CDCLK_CONTROL, SKL_CDCLK_PREPARE_FOR_CHANGE, SKL_CDCLK_READY_FOR_CHANGE,
             SKL_CDCLK_READY_FOR_CHANGE),
    {W, CDCLK_CTL, 4, 0x1c2u, 0, 0},
    PCODE_RW(SKL_PCODE_CDCLK_CONTROL, 0, 0, 0),
    /* the hw state readout of plane 2 on each pipe */
    PLANE_READOUT(0, 1),
    PLANE_READOUT(1, 1),
    PLANE_READOUT(2, 1),
    PLANE_PROGRAM(0, 1),
    /* fbdev's first modeset, pipe A on DDI B at HBR2 through DPLL1
     * (hsw_crtc_enable and its encoder hooks): skl_ddi_pll_enable,
     * skl_ddi_enable_clock, hsw_prepare_dp_ddi_buffers (SKL DP entry 0),
     * skl_ddi_set_iboost, intel_ddi_enable_pipe_clock (port B = 2 << 29),
     * link training to idle, pipe setup, skl_detach_scalers, the color
     * commit, the cursor's FBC control; then what hsw_get_pipe_config
     * reads back for the state checker. */
    {W, DPLL_CTRL1, 4, DPLL_CTRL1_OVERRIDE(1) | DPLL_CTRL1_LINK_RATE(DPLL_CTRL1_LINK_RATE_2700, 1), 0, 0},
    {W, DPLL_CFGCR1(1), 4, 0, 0, 0},
    {W, DPLL_CFGCR2(1), 4, 0, 0, 0},
    {W, LCPLL2_CTL, 4, LCPLL_PLL_ENABLE, 0, 0},
    {R, DPLL_STATUS, 4, 0, DPLL_LOCK(1), DPLL_LOCK(1)},
    {W, DPLL_CTRL2, 4, DPLL_CTRL2_DDI_CLK_SEL(1, 1) | DPLL_CTRL2_DDI_SEL_OVERRIDE(1), 0, 0},
    {W, DDI_BUF_TRANS_LO(1, 0), 4, 0x00002016u, 0, 0},
    {W, DDI_BUF_TRANS_LO(1, 0) + 4, 4, 0x000000A0u, 0, 0},
    {W, DDI_BUF_TRANS_LO(1, 9) + 4, 4, 0x000000A0u, 0, 0},
    RMW_OR(DISPIO_CR_TX_BMU_CR0, 1u << 23),
    {W, TRANS_CLK_SEL(0), 4, 2u << 29, 0, 0},
    {W, DDI_BUF_CTL(1), 4, DDI_BUF_CTL_ENABLE | DDI_PORT_WIDTH(4), 0, 0},
    {W, DP_TP_CTL(1), 4, DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_PAT1, 0, 0},
    {W, DP_TP_CTL(1), 4, DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_PAT2, 0, 0},
    {W, DP_TP_CTL(1), 4, DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_IDLE, 0, 0},
    {R, DP_TP_STATUS(1), 4, 0, DP_TP_STATUS_IDLE_DONE, DP_TP_STATUS_IDLE_DONE},
    {W, PIPEMISC(0), 4, 1u << 4, 0, 0},
    RMW_OR(CHICKEN_TRANS(0), 1u << 27),
    {W, SKL_PS_CTRL(0, 0), 4, 0, 0, 0},
    {W, SKL_PS_CTRL(0, 0) - 0x10, 4, 0, 0, 0},
    {W, SKL_PS_CTRL(0, 0) - 0x0c, 4, 0, 0, 0},
    {W, SKL_PS_CTRL(0, 1), 4, 0, 0, 0},
    {W, SKL_BOTTOM_COLOR(0), 4, 0, 0, 0},
    {W, GAMMA_MODE(0), 4, 0, 0, 0},
    /* a 10-bit gamma LUT's first entries (bdw_load_lut_10), read back as
     * bdw_read_lut_10 does for the state checker */
    {W, PREC_PAL_INDEX(0), 4, PAL_PREC_AUTO_INCREMENT, 0, 0},
    {W, PREC_PAL_DATA(0), 4, 0, 0, 0},
    {W, PREC_PAL_DATA(0), 4, 0x00100401u, 0, 0},
    {W, PREC_PAL_INDEX(0), 4, 0, 0, 0},
    {W, PREC_PAL_EXT_GC_MAX(0, 0), 4, 1u << 16, 0, 0},
    {W, PREC_PAL_INDEX(0), 4, PAL_PREC_AUTO_INCREMENT, 0, 0},
    {R, PREC_PAL_DATA(0), 4, 0, 0xffffffffu, 0},
    {R, PREC_PAL_DATA(0), 4, 0, 0xffffffffu, 0x00100401u},
    {W, PREC_PAL_INDEX(0), 4, 0, 0, 0},
    {W, PIPE_CSC_MODE(0), 4, 0, 0, 0},
    {W, CUR_FBC_CTL(0), 4, 0, 0, 0},
    {W, PIPECONF(0), 4, PIPECONF_ENABLE, 0, 0},
    {R, PIPECONF(0), 4, 0, PIPECONF_STATE_ENABLE, PIPECONF_STATE_ENABLE},
    {R, TRANS_CLK_SEL(0), 4, 0, 0xffffffffu, 2u << 29},
    {R, PIPEMISC(0), 4, 0, 0xffffffffu, 1u << 4},
    {R, GAMMA_MODE(0), 4, 0, 0xffffffffu, 0},
    {R, SKL_PS_CTRL(0, 0), 4, 0, 1u << 31, 0},
    {R, DDI_BUF_TRANS_LO(1, 0), 4, 0, 0xffffffffu, 0x00002016u},
    {W, DP_TP_CTL(1), 4, DP_TP_CTL_ENABLE | DP_TP_CTL_LINK_TRAIN_NORMAL, 0, 0},
    {W, PIPECONF(0), 4, 0, 0, 0},
    /* gen8_de_irq_postinstall after a driver reload: the clear again */
    {W, EDP_PSR_IIR, 4, 0xffffffffu, 0, 0},
    {R, EDP_PSR_IIR, 4, 0, 0xffffffffu, 0},
};

static void replay(struct fx *f, const struct replay_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct replay_op *o = &ops[i];

        if (o->op == W) {
            assert_int_equal(vgt_vgpu_mmio_write(f->v, o->off, o->size, o->val), 0);
        } else {
            uint64_t v = rd(f, o->off, o->size);

            if ((v & o->mask) != o->want)
                fail_msg("step %zu: %#x reads %#llx, i915 waits for %#llx under %#llx", i,
                         o->off, (unsigned long long)v, (unsigned long long)o->want,
                         (unsigned long long)o->mask);
        }
    }
}

static void test_i915_init_replay(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;

    replay(f, i915_skl_init, sizeof(i915_skl_init) / sizeof(i915_skl_init[0]));
    vgt_vgpu_get_info(f->v, &info);
    assert_false(info.failsafe);
    assert_int_equal(info.st.rejected, 0);
    assert_int_equal(info.st.unlisted_regs, 0); /* every register it used has a row */
}

static void test_i915_display_replay(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;

    replay(f, i915_skl_display, VGT_ARRAY_SIZE(i915_skl_display));
    vgt_vgpu_get_info(f->v, &info);
    assert_false(info.failsafe);
    assert_int_equal(info.st.rejected, 0);
    assert_int_equal(info.st.unlisted_regs, 0); /* every register it used has a row */
}

/* i915 6.1's GT bring-up on Skylake from intel_gt_sanitize to the engines'
 * resume, in its order: the full reset, the GuC reset __uc_sanitize does
 * (the rig's three WARNs at intel_uc.c:73 when GUC_STATUS read 0), the
 * error registers, the GTT set-up, clock gating and execlists_resume.
 * The workarounds and the fuses follow as C, the way i915 computes them. */
#define PREPARE_ENGINE(base)                                                                       \
    {W, RING_RESET_CTL(base), 4, MASKED_ON(RESET_CTL_REQUEST_RESET), 0, 0},                    \
    {R, RING_RESET_CTL(base), 4, 0, RESET_CTL_READY_TO_RESET, RESET_CTL_READY_TO_RESET}
#define CANCEL_ENGINE(base) {W, RING_RESET_CTL(base), 4, MASKED_OFF(RESET_CTL_REQUEST_RESET), 0, 0}
/* gen6_hw_domain_reset: write the domains, wait for them to clear; twice. */
#define DOMAIN_RESET(grdom)                                                                        \
    {W, GEN6_GDRST, 4, (grdom), 0, 0}, {R, GEN6_GDRST, 4, 0, (grdom), 0},                      \
    {W, GEN6_GDRST, 4, (grdom), 0, 0}, {R, GEN6_GDRST, 4, 0, (grdom), 0}
/* reset_csb_pointers (6 CSB entries on gen9: reset value 5, masked) and
 * enable_execlists' status page address with its posting read. */
#define CSB_RESET 0xffff0505u
#define EXECLISTS_RESUME(base, hws)                                                                \
    {W, RING_CONTEXT_STATUS_PTR(base), 4, CSB_RESET, 0, 0},                                    \
    {R, RING_CONTEXT_STATUS_PTR(base), 4, 0, 0xffffffffu, 0x0505},                              \
    {W, RING_HWSTAM(base), 4, 0xffffffffu, 0, 0},                                              \
    {W, RING_MODE_GEN7(base), 4, MASKED_ON(GFX_RUN_LIST_ENABLE), 0, 0},                        \
    {R, RING_MODE_GEN7(base), 4, 0, 0xffffffffu, GFX_RUN_LIST_ENABLE},                          \
    {W, RING_MI_MODE(base), 4, MASKED_OFF(STOP_RING), 0, 0},                                   \
    {W, RING_HWS_PGA(base), 4, (hws), 0, 0},                                                   \
    {R, RING_HWS_PGA(base), 4, 0, 0xffffffffu, (hws)}
#define GEN7_DOP_CLOCK_GATE_ENABLE (1u << 0)
#define FBC_LLC_FULLY_OPEN (1u << 30)
#define SKL_PPAT 0x3b2b1b0b000a0907ull /* bdw_setup_private_ppat, no eDRAM */

static const struct replay_op i915_skl_gt_init[] = {
    /* intel_dram_edram_detect: no eDRAM (the PPAT below assumes none). */
    {R, HSW_EDRAM_CAP, 4, 0, 1u << 0, 0},
    /* intel_gt_sanitize -> __intel_gt_reset(ALL_ENGINES) ->
     * gen8_reset_engines: each engine's request acked, GEN6_GRDOM_FULL
     * (gen6_reset_engines), the requests withdrawn. */
    PREPARE_ENGINE(RENDER_RING_BASE),
    PREPARE_ENGINE(BLT_RING_BASE),
    PREPARE_ENGINE(GEN6_BSD_RING_BASE),
    PREPARE_ENGINE(VEBOX_RING_BASE),
    DOMAIN_RESET(GEN6_GRDOM_FULL),
    /* The CSB write pointer where reset_csb_pointers will put it. */
    {R, RING_CONTEXT_STATUS_PTR(RENDER_RING_BASE), 4, 0, 0x7u, VGT_CSB_PTR_RESET},
    CANCEL_ENGINE(RENDER_RING_BASE),
    CANCEL_ENGINE(BLT_RING_BASE),
    CANCEL_ENGINE(GEN6_BSD_RING_BASE),
    CANCEL_ENGINE(VEBOX_RING_BASE),
    /* __uc_check_hw (GuC off): no GuC loaded before, or -EIO. */
    {R, GUC_WOPCM_SIZE, 4, 0, 1u << 0, 0},
    {R, DMA_GUC_WOPCM_OFFSET, 4, 0, 1u << 0, 0},
    /* __uc_sanitize -> __intel_uc_reset_hw: intel_reset_guc, then the
     * MIA core must be in reset. */
    DOMAIN_RESET(GEN9_GRDOM_GUC),
    {R, GUC_STATUS, 4, 0, GS_MIA_IN_RESET, GS_MIA_IN_RESET},
    /* gen8_check_faults, intel_gt_clear_error_registers (rmw with
     * nothing to change writes nothing; EIR must read 0 after). */
    {R, GEN8_RING_FAULT_REG, 4, 0, RING_FAULT_VALID, 0},
    {R, PGTBL_ER, 4, 0, 0, 0},
    {R, IPEIR_I965, 4, 0, 0, 0},
    {R, RING_EIR(RENDER_RING_BASE), 4, 0, 0, 0}, /* i915's EIR */
    {R, RING_EIR(RENDER_RING_BASE), 4, 0, 0xffffffffu, 0},
    {R, GEN8_RING_FAULT_REG, 4, 0, 0, 0},
    /* gtt_write_workarounds; HSW_GTT_CACHE_EN must not read 0. */
    {W, GEN8_L3_LRA_1_GPGPU, 4, GEN9_L3_LRA_1_GPGPU_DEFAULT_VALUE_SKL, 0, 0},
    {R, GEN8_GAMW_ECO_DEV_RW_IA, 4, 0, 0, 0},
    {W, GEN8_GAMW_ECO_DEV_RW_IA, 4, GAMW_ECO_ENABLE_64K_IPS_FIELD, 0, 0},
    {R, GEN8_GAMW_ECO_DEV_RW_IA, 4, 0, 0xffffffffu, GAMW_ECO_ENABLE_64K_IPS_FIELD},
    {W, HSW_GTT_CACHE_EN, 4, GTT_CACHE_EN_ALL, 0, 0}, /* no 2M pages on gen9 */
    {R, HSW_GTT_CACHE_EN, 4, 0, 0xffffffffu, GTT_CACHE_EN_ALL},
    /* bdw_setup_private_ppat: two dword writes. */
    {W, GEN8_PRIVATE_PAT_LO, 4, (uint32_t)SKL_PPAT, 0, 0},
    {W, GEN8_PRIVATE_PAT_LO + 4, 4, SKL_PPAT >> 32, 0, 0},
    {R, GEN8_PRIVATE_PAT_LO, 8, 0, ~0ull, SKL_PPAT},
    /* gen9_init_clock_gating / skl_init_clock_gating (GT side). */
    {R, GEN7_MISCCPCTL, 4, 0, 0, 0},
    {W, GEN7_MISCCPCTL, 4, 0, 0, 0},
    {R, FBC_LLC_READ_CTRL, 4, 0, 0, 0},
    {W, FBC_LLC_READ_CTRL, 4, FBC_LLC_FULLY_OPEN, 0, 0},
    {R, FBC_LLC_READ_CTRL, 4, 0, FBC_LLC_FULLY_OPEN, FBC_LLC_FULLY_OPEN},
    {R, GEN8_UCGCTL6, 4, 0, 0, 0},
    /* execlists_resume on each engine (status pages in the vGPU's
     * low graphics memory). */
    EXECLISTS_RESUME(RENDER_RING_BASE, 0x10000),
    EXECLISTS_RESUME(BLT_RING_BASE, 0x11000),
    EXECLISTS_RESUME(GEN6_BSD_RING_BASE, 0x12000),
    EXECLISTS_RESUME(VEBOX_RING_BASE, 0x13000),
    /* gen8_ggtt_invalidate after GGTT updates: nothing to wait for. */
    {W, GFX_FLSH_CNTL_GEN6, 4, 1u << 0, 0, 0},
    {R, GFX_FLSH_CNTL_GEN6, 4, 0, 0xffffffffu, 0},
    /* mmio_invalidate_full after a GGTT or PPGTT unbind, for rcs, vcs,
     * vecs and bcs (the rig's third run: "rcs'0 TLB invalidation did not
     * complete in 4ms!"): the engine's bit, then a wait for it to clear. */
    {W, GEN8_RTCR, 4, 1, 0, 0},
    {R, GEN8_RTCR, 4, 0, 1, 0},
    {W, GEN8_RTCR + 4, 4, 1, 0, 0},
    {R, GEN8_RTCR + 4, 4, 0, 1, 0},
    {W, GEN8_RTCR + 0x10, 4, 1, 0, 0},
    {R, GEN8_RTCR + 0x10, 4, 0, 1, 0},
    {W, GEN8_RTCR + 0xc, 4, 1, 0, 0},
    {R, GEN8_RTCR + 0xc, 4, 0, 1, 0},
};

/* A workaround as i915 6.1 keeps it (struct i915_wa: wa_add's clear,
 * set, read mask; masked registers carry the mask in set). */
struct wa {
    uint32_t reg, clr, set, read;
};
#define WA_SET(r, bits) {(r), (bits), (bits), (bits)}
#define WA_CLR(r, bits) {(r), (bits), 0, (bits)}
#define WA_MASKED(r, bit) {(r), 0, ((bit) << 16) | (bit), (bit)}
#define GEN8_MCR_MASK (0xfu << 24) /* GEN8_MCR_SLICE_MASK | GEN8_MCR_SUBSLICE_MASK */

/* gen9_gt_workarounds_init + skl_gt_workarounds_init (the GT list
 * intel_gt_verify_workarounds checks at "init"), rcs_engine_wa_init on
 * SKL, after _wa_add merged the entries of one register. */
static const struct wa skl_was[] = {
    {GEN8_MCR_SELECTOR, GEN8_MCR_MASK, 0, GEN8_MCR_MASK}, /* slice 0, subslice 0 */
    WA_SET(GAM_ECOCHK, (1u << 8) | (1u << 25)),
    /* WaInPlaceDecompressionHang (SKL A0..H0): PCI revision 6 is G0
     * (intel_step.c skl_revids). */
    WA_SET(GEN9_GAMT_ECO_REG_RW_IA, 1u << 18),
    WA_SET(MMCD_MISC_CTRL, (1u << 31) | (1u << 27)),
    WA_SET(GEN7_UCGCTL4, 1u << 14),
    WA_MASKED(GEN7_FF_SLICE_CS_CHICKEN1, 1u << 14),
    WA_SET(GEN8_GARBCNTL, 1u << 7),
    WA_MASKED(GEN9_CSFE_CHICKEN1_RCS, 1u << 2),
    {BDW_SCRATCH1, (1u << 2) | (1u << 8), 1u << 2, (1u << 2) | (1u << 8)},
    {GEN8_L3SQCREG4, (1u << 21) | (1u << 22), 1u << 21, (1u << 21) | (1u << 22)},
    WA_CLR(GEN9_SCRATCH_LNCF1, 1u << 0),
};

static uint32_t rd32(struct fx *f, uint32_t off)
{
    return (uint32_t)rd(f, off, 4);
}

/* wa_list_apply: read only when something is cleared, write when the
 * value changes or nothing is cleared. */
static void wa_apply(struct fx *f, const struct wa *w)
{
    uint32_t old = w->clr ? rd32(f, w->reg) : 0, val = (old & ~w->clr) | w->set;

    if (val != old || !w->clr)
        assert_int_equal(vgt_vgpu_mmio_write(f->v, w->reg, 4, val), 0);
}

/* wa_verify: the read bits that do not match ("workaround lost on load"
 * when non-zero). */
static uint32_t wa_lost(struct fx *f, const struct wa *w)
{
    return (rd32(f, w->reg) ^ w->set) & w->read;
}

static void test_i915_gt_init_replay(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;
    const size_t nwa = sizeof(skl_was) / sizeof(skl_was[0]);
    const struct wa *ffs = &skl_was[5]; /* the masked FF_SLICE_CS_CHICKEN1 one */
    uint32_t fuse2, eu_dis, ss_mask, ctc, hz, eus = 0;
    unsigned subslices = 0;

    /* Garbage in the workaround registers first: the apply must fix it. */
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN8_MCR_SELECTOR, 4, 0x0f000000u), 0);
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN9_SCRATCH_LNCF1, 4, 0x1u), 0);
    assert_int_equal(vgt_vgpu_mmio_write(f->v, RING_CONTEXT_STATUS_PTR(RENDER_RING_BASE), 4, 0xffff0202u), 0);
    replay(f, i915_skl_gt_init, sizeof(i915_skl_gt_init) / sizeof(i915_skl_gt_init[0]));
    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(info.st.resets, 2); /* the full reset, twice; the GuC's resets no engine */
    /* The full reset restored the reset values of what came before. */
    assert_int_equal(rd32(f, GEN8_MCR_SELECTOR), 0);

    /* intel_gt_apply_workarounds, then intel_gt_verify_workarounds. */
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN8_MCR_SELECTOR, 4, 0x0f000000u), 0);
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN9_SCRATCH_LNCF1, 4, 0x1u), 0);
    for (size_t i = 0; i < nwa; i++)
        wa_apply(f, &skl_was[i]);
    for (size_t i = 0; i < nwa; i++)
        if (wa_lost(f, &skl_was[i]))
            fail_msg("workaround lost on load: %#x reads %#x, bits %#x differ", skl_was[i].reg,
                     rd32(f, skl_was[i].reg), wa_lost(f, &skl_was[i]));
    /* A masked write to other bits (ctx and engine code does them)
     * leaves the workaround's bit alone. */
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN7_FF_SLICE_CS_CHICKEN1, 4, MASKED_ON(1u << 1)), 0);
    assert_int_equal(rd32(f, GEN7_FF_SLICE_CS_CHICKEN1), (1u << 14) | (1u << 1));
    assert_int_equal(ffs->reg, GEN7_FF_SLICE_CS_CHICKEN1);
    assert_int_equal(wa_lost(f, ffs), 0);
    /* ...and a masked disable of it is seen as lost, as on hardware. */
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GEN7_FF_SLICE_CS_CHICKEN1, 4, MASKED_OFF(1u << 14)), 0);
    assert_int_equal(wa_lost(f, ffs), 1u << 14);

    /* gen9_sseu_info_init: slices from FUSE2, subslices of 4 minus the
     * disabled, each subslice's 8 EUs minus its GEN9_EU_DISABLE byte. */
    fuse2 = rd32(f, GEN8_FUSE2);
    assert_int_equal((fuse2 >> GEN8_F2_S_ENA_SHIFT) & 0x7u, 0x1u); /* one slice */
    ss_mask = 0xfu & ~((fuse2 >> GEN9_F2_SS_DIS_SHIFT) & 0xfu);
    eu_dis = rd32(f, GEN9_EU_DISABLE(0));
    for (unsigned ss = 0; ss < 4; ss++) {
        if (!(ss_mask & (1u << ss)))
            continue;
        subslices++;
        assert_int_equal(8 - __builtin_popcount((eu_dis >> (8 * ss)) & 0xffu), 8);
        eus += 8 - (uint32_t)__builtin_popcount((eu_dis >> (8 * ss)) & 0xffu);
    }
    assert_int_equal(subslices, 3);
    assert_int_equal(eus, 24);

    /* gen9_read_clock_frequency: the crystal (24 MHz on SKL) shifted by
     * 3 - CTC_SHIFT_PARAMETER: the 12 MHz CS timestamp. */
    ctc = rd32(f, CTC_MODE);
    assert_int_equal(ctc & 1u, 0); /* not the divide logic */
    hz = 24000000u >> (3 - ((ctc >> CTC_SHIFT_PARAMETER_SHIFT) & 0x3u));
    assert_int_equal(hz, 12000000u);

    /* intel_engine_apply_whitelist: skl's five registers, the rest of the
     * twelve slots RING_NOPID; read back as written. */
    {
        const uint32_t wl[RING_MAX_NONPRIV_SLOTS] = {
            0x2248, 0x2580, 0x7304, 0x7014, GEN8_L3SQCREG4,
        };

        for (unsigned i = 0; i < RING_MAX_NONPRIV_SLOTS; i++)
            assert_int_equal(vgt_vgpu_mmio_write(f->v, RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, i), 4,
                                                 wl[i] ? wl[i] : RENDER_RING_BASE + 0x94),
                             0);
        for (unsigned i = 0; i < RING_MAX_NONPRIV_SLOTS; i++)
            assert_int_equal(rd32(f, RING_FORCE_TO_NONPRIV(RENDER_RING_BASE, i)),
                             wl[i] ? wl[i] : RENDER_RING_BASE + 0x94);
    }

    vgt_vgpu_get_info(f->v, &info);
    assert_false(info.failsafe);
    assert_int_equal(info.st.rejected, 0);
    assert_int_equal(info.st.unlisted_regs, 0); /* every register it used has a row */
}

/* The OpRegion at ASLS, read back and checked as i915 6.1 does
 * (intel_opregion_setup, intel_bios_is_valid_vbt, parse_general_definitions). */
static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static void test_opregion_at_asls(void **state)
{
    struct fx *f = *state;
    static uint8_t op[VGT_OPREGION_SIZE];
    const uint64_t gpa = 0x1000000; /* page aligned guest RAM, as hvmloader's */
    const uint8_t *vbt = op + VGT_OPREGION_VBT_OFFSET, *bdb, *p, *end;
    struct vgt_vgpu_info info;
    uint32_t vbt_size, bdb_off, mboxes, limit, children = 0;
    uint8_t sum = 0;

    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, VGT_CFG_OPREGION, 4, (uint32_t)gpa), 0);
    assert_int_equal(cfg(f, VGT_CFG_OPREGION, 4), gpa);
    assert_int_equal(vgt_hv_read(&f->hv->hv, gpa, op, sizeof(op)), 0);
    assert_memory_equal(op, "IntelGraphicsMem", 16);
    assert_int_equal(op[0x17], 2); /* over.major */
    mboxes = le16(op + 0x58) | le16(op + 0x5a) << 16;
    limit = ((mboxes & (1u << 4)) ? 0x1C00u : VGT_OPREGION_SIZE) - VGT_OPREGION_VBT_OFFSET;
    assert_memory_equal(vbt, "$VBT SKYLAKE", 12);
    vbt_size = le16(vbt + 24);
    bdb_off = le16(vbt + 28) | le16(vbt + 30) << 16;
    assert_true(vbt_size <= limit);
    assert_true(bdb_off + 22 <= vbt_size);
    for (uint32_t i = 0; i < vbt_size; i++)
        sum = (uint8_t)(sum + vbt[i]);
    assert_int_equal(sum, 0);
    bdb = vbt + bdb_off;
    assert_memory_equal(bdb, "BIOS_DATA_BLOCK", 15);
    assert_true(bdb_off + le16(bdb + 20) <= vbt_size);
    assert_true(le16(bdb + 16) >= 196 && le16(bdb + 16) <= 215); /* 38-byte children */
    /* Blocks: id, size, data; the general definitions list the outputs. */
    end = bdb + le16(bdb + 20);
    for (p = bdb + le16(bdb + 18); p + 3 <= end; p += 3 + le16(p + 1)) {
        if (p[0] != 2)
            continue;
        assert_int_equal(p[3 + 4], 38);
        for (const uint8_t *c = p + 3 + 5; c + 38 <= p + 3 + le16(p + 1); c += 38, children++) {
            assert_int_equal(le16(c + 2), 0x68C6);    /* DEVICE_TYPE_DP */
            assert_int_equal(c[16], 7 + children);    /* DVO_PORT_DPB, C, D */
        }
    }
    assert_int_equal(children, info.heads);
    assert_true(children >= 1);

    /* An unaligned address is not served, and the vGPU goes on. */
    memset(op, 0, sizeof(op));
    assert_int_equal(vgt_hv_write(&f->hv->hv, 0x2000000, op, sizeof(op)), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, VGT_CFG_OPREGION, 4, 0x2000010), 0);
    assert_int_equal(vgt_hv_read(&f->hv->hv, 0x2000000, op, 32), 0);
    assert_int_equal(op[0x10], 0);
    vgt_vgpu_get_info(f->v, &info);
    assert_false(info.failsafe);
}

/* hvmloader takes the OpRegion's pages from the MMIO hole, not RAM
 * (tools/firmware/hvmloader/pci.c mem_hole_alloc): seen on the real-Xen
 * rig as "OpRegion at 0xfdffc000 not written (-14)". The vGPU has the
 * platform populate them, then writes. Here the fake hypervisor's top 4
 * frames are the hole, and populating them makes them RAM again. */
struct hole {
    struct fake_hv *hv;
    uint64_t ram_gfns, gfn, nr;
    unsigned calls;
};

static int fill_hole(void *opaque, uint64_t gfn, uint64_t nr)
{
    struct hole *h = opaque;

    h->calls++;
    h->gfn = gfn;
    h->nr = nr;
    if (gfn < h->hv->hv.max_gfn || gfn + nr > h->ram_gfns)
        return -EINVAL;
    h->hv->hv.max_gfn = h->ram_gfns;
    return 0;
}

static void test_opregion_in_mmio_hole(void **state)
{
    struct fx *f = *state;
    struct hole h = {.hv = f->hv, .ram_gfns = f->hv->hv.max_gfn};
    struct vgt_vgpu_cfg vc = {.domid = 8, .hv = &f->hv->hv, .populate = fill_hole, .populate_opaque = &h};
    const uint64_t gfn = h.ram_gfns - 3; /* hvmloader's 3 pages at the hole's top */
    static uint8_t op[VGT_OPREGION_SIZE];
    struct vgt_vgpu *v;

    f->hv->hv.max_gfn = h.ram_gfns - 4;
    /* Without a populate step it stays unserved (and the vGPU goes on). */
    assert_int_equal(vgt_vgpu_cfg_write(f->v, VGT_CFG_OPREGION, 4, (uint32_t)(gfn << 12)), 0);
    assert_int_equal(vgt_hv_read(&f->hv->hv, gfn << 12, op, 16), -EFAULT);
    /* With one, the frames are populated, then the OpRegion written. */
    assert_int_equal(vgt_vgpu_res_from_type("V5_4", &vc.res), 0);
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &v), 0);
    assert_int_equal(vgt_vgpu_cfg_write(v, VGT_CFG_OPREGION, 4, (uint32_t)(gfn << 12)), 0);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.gfn, gfn);
    assert_int_equal(h.nr, VGT_OPREGION_GUEST_PAGES);
    assert_int_equal(vgt_hv_read(&f->hv->hv, gfn << 12, op, sizeof(op)), 0);
    assert_memory_equal(op, "IntelGraphicsMem", 16);
    assert_memory_equal(op + VGT_OPREGION_VBT_OFFSET, "$VBT SKYLAKE", 12);
    vgt_vgpu_destroy(v);
}

struct line_count {
    const char *needle;
    unsigned hits, lines;
};

static void count_sink(void *opaque, const struct vgt_log *log, int level,
                       const struct vgt_log_fields *fl, const char *msg)
{
    struct line_count *c = opaque;

    (void)log, (void)level, (void)fl;
    c->lines++;
    if (strstr(msg, c->needle))
        c->hits++;
}

/* Unlisted registers: virtual storage, every access counted, each offset
 * logged once however often the guest touches it, and the distinct count
 * kept (vgt list shows it). */
static void test_unlisted_logged_once(void **state)
{
    struct fx *f = *state;
    struct line_count c = {"unlisted register 0x9f00:", 0, 0};
    struct vgt_log log = {.level = VGT_LOG_INFO, .sink = count_sink, .sink_opaque = &c};
    struct vgt_vgpu_cfg vc = {.domid = 9, .hv = &f->hv->hv, .type_name = "V5_4", .log = &log};
    struct vgt_vgpu_info info;
    struct vgt_vgpu *v;
    uint64_t val;

    assert_int_equal(vgt_vgpu_res_from_type("V5_4", &vc.res), 0);
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &v), 0);
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(vgt_vgpu_mmio_write(v, 0x9f00, 4, i), 0);
        assert_int_equal(vgt_vgpu_mmio_read(v, 0x9f00, 4, &val), 0);
        assert_int_equal(val, i);
    }
    assert_int_equal(vgt_vgpu_mmio_write(v, 0x9f08, 8, 0x1122334455667788ull), 0);
    assert_int_equal(vgt_vgpu_mmio_read(v, 0x9f08, 8, &val), 0);
    assert_int_equal(val, 0x1122334455667788ull);
    vgt_vgpu_get_info(v, &info);
    assert_int_equal(c.hits, 1);
    assert_int_equal(info.st.unlisted_regs, 3); /* 0x9f00, 0x9f08, 0x9f0c */
    assert_true(info.st.unlisted >= 2002);
    vgt_vgpu_destroy(v);
}

static void test_register_semantics(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;
    uint64_t v;

    /* O(1) lookup finds rows, and not unlisted offsets. */
    assert_non_null(vgt_mmio_lookup(f->gpu, GFX_MODE));
    assert_true(vgt_mmio_lookup(f->gpu, GFX_MODE)->flags & VGT_REG_F_MODE_MASK);
    assert_true(vgt_mmio_lookup(f->gpu, RING_START(RENDER_RING_BASE))->flags & VGT_REG_F_GMADR);
    assert_ptr_equal(vgt_mmio_lookup(f->gpu, VGT_PVINFO_PAGE + 0x804),
                     vgt_mmio_lookup(f->gpu, VGT_PVINFO_PAGE + 0x804));
    assert_null(vgt_mmio_lookup(f->gpu, 0x4000));
    assert_null(vgt_mmio_lookup(f->gpu, VGT_MMIO_SIZE));

    /* Mode mask: only bits whose mask bit is set change; mask reads 0. */
    wr(f, GFX_MODE, 4, 0x00050005);
    assert_int_equal(rd(f, GFX_MODE, 4), 0x0005);
    wr(f, GFX_MODE, 4, 0x0001ffff); /* only bit 0 enabled, set to 1 */
    assert_int_equal(rd(f, GFX_MODE, 4), 0x0005);
    wr(f, GFX_MODE, 4, 0x00040000); /* clear bit 2 */
    assert_int_equal(rd(f, GFX_MODE, 4), 0x0001);
    wr(f, GFX_MODE, 4, 0x0000ffff); /* no mask bits: nothing changes */
    assert_int_equal(rd(f, GFX_MODE, 4), 0x0001);

    /* Read-only mask: GDRST's upper bits, ISR fully. */
    wr(f, GEN8_GT_ISR(0), 4, 0xffffffff);
    assert_int_equal(rd(f, GEN8_GT_ISR(0), 4), 0);

    /* Unaligned and sub-dword on a non-byte register are rejected. */
    assert_int_equal(vgt_vgpu_mmio_write(f->v, GFX_MODE + 2, 2, 0xffff), -EINVAL);
    assert_int_equal(vgt_vgpu_mmio_read(f->v, GFX_MODE, 1, &v), -EINVAL);
    assert_int_equal(v, ~0ull);
    assert_int_equal(vgt_vgpu_mmio_write(f->v, 0x4002, 4, 1), -EINVAL);
    assert_int_equal(vgt_vgpu_mmio_write(f->v, 0x4004, 8, 1), -EINVAL);
    assert_int_equal(vgt_vgpu_mmio_write(f->v, 0x4000, 3, 1), -EINVAL);
    assert_int_equal(rd(f, GFX_MODE, 4), 0x0001);

    /* Unlisted: plain virtual storage, any aligned size, never hardware. */
    wr(f, 0x4000, 4, 0xa1b2c3d4);
    wr(f, 0x4001, 1, 0xee);
    assert_int_equal(rd(f, 0x4000, 4), 0xa1b2eed4);
    assert_int_equal(rd(f, 0x4002, 2), 0xa1b2);
    wr(f, 0x4008, 8, 0x1122334455667788ull);
    assert_int_equal(rd(f, 0x4008, 8), 0x1122334455667788ull);
    assert_int_equal(f->hw->regs[0x4000 / 4], 0);
    /* Between the register window and the GGTT: reads zero. */
    assert_int_equal(rd(f, 0x400000, 4), 0);
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.st.unlisted >= 5);
    assert_int_equal(info.st.rejected, 5);

    /* Forcewake ack follows the masked request. */
    wr(f, FORCEWAKE_RENDER_GEN9, 4, 0x00010001);
    assert_int_equal(rd(f, FORCEWAKE_ACK_RENDER_GEN9, 4) & 1, 1);
}

/* ---- partitioning ---- */

static unsigned expect_fit(const struct vgt_vgpu_res *r, unsigned used_low_mb, unsigned used_high_mb,
                           unsigned used_fences)
{
    uint64_t low = (APERTURE - VGT_HOST_LOW_DEFAULT) / MIB - used_low_mb;
    uint64_t high = (GM_SIZE - APERTURE - VGT_HOST_HIGH_DEFAULT) / MIB - used_high_mb;
    uint64_t fences = FENCES - VGT_HOST_FENCES_DEFAULT - used_fences;
    uint64_t n = low / (r->low_size / MIB);

    n = VGT_MIN(n, high / (r->high_size / MIB));
    if (r->fences)
        n = VGT_MIN(n, fences / r->fences);
    return (unsigned)n;
}

static bool disjoint(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
    return a + al <= b || b + bl <= a;
}

static void test_partition_types(void **state)
{
    struct fx *f = *state;
    size_t nt;
    const struct vgt_vgpu_type *t = vgt_vgpu_types(&nt);

    assert_int_equal(nt, 4);
    vgt_vgpu_destroy(f->v);
    f->v = NULL;
    /* Static partitioning: no range shared (test_partition_sharing
     * covers the default). */
    assert_int_equal(vgt_gpu_set_share_limit(f->gpu, 1), 0);
    for (size_t k = 0; k < nt; k++) {
        struct vgt_vgpu_res r;
        struct vgt_vgpu *made[64];
        struct vgt_vgpu_info info[64];
        struct fake_hv *hvs[64];
        unsigned fit, n = 0;
        int ret;

        assert_int_equal(vgt_vgpu_res_from_type(t[k].name, &r), 0);
        fit = vgt_gpu_avail(f->gpu, &r);
        assert_int_equal(fit, expect_fit(&r, 0, 0, 0));
        assert_true(fit >= 1);
        /* The empty GPU's capacity is what fits now (it is empty). */
        assert_int_equal(vgt_gpu_capacity(f->gpu, &r), fit);
        for (;;) {
            struct vgt_vgpu_cfg vc = {.domid = (uint16_t)(10 + n), .res = r, .type_name = t[k].name};

            assert_int_equal(fake_hv_create(f->arena, vc.domid, 4 * MIB, FAKE_HV_SCRAMBLE_4K, n, &hvs[n]), 0);
            vc.hv = &hvs[n]->hv;
            ret = vgt_vgpu_create(f->gpu, &vc, &made[n]);
            if (ret) {
                fake_hv_destroy(hvs[n]);
                break;
            }
            vgt_vgpu_get_info(made[n], &info[n]);
            n++;
            assert_int_equal(vgt_gpu_avail(f->gpu, &r),
                             expect_fit(&r, (unsigned)(n * r.low_size / MIB),
                                        (unsigned)(n * r.high_size / MIB), n * r.fences));
        }
        assert_int_equal(ret, -ENOSPC);
        assert_int_equal(n, fit);
        assert_int_equal(vgt_gpu_capacity(f->gpu, &r), fit); /* full: unchanged */
        for (unsigned i = 0; i < n; i++) {
            /* Outside the host's reservation and inside the GM parts. */
            assert_true(info[i].low_base >= VGT_HOST_LOW_DEFAULT);
            assert_true(info[i].low_base + info[i].low_size <= APERTURE);
            assert_true(info[i].high_base >= APERTURE + VGT_HOST_HIGH_DEFAULT);
            assert_true(info[i].high_base + info[i].high_size <= GM_SIZE);
            assert_true(info[i].fence_base >= VGT_HOST_FENCES_DEFAULT);
            for (unsigned j = 0; j < i; j++) {
                assert_true(disjoint(info[i].low_base, info[i].low_size, info[j].low_base, info[j].low_size));
                assert_true(disjoint(info[i].high_base, info[i].high_size, info[j].high_base, info[j].high_size));
                assert_true(disjoint(info[i].fence_base, info[i].fence_num, info[j].fence_base, info[j].fence_num));
            }
        }
        /* Freeing one makes room for exactly one again, in its place. */
        vgt_vgpu_destroy(made[0]);
        assert_int_equal(vgt_gpu_avail(f->gpu, &r), 1);
        {
            struct vgt_vgpu_cfg vc = {.domid = 10, .hv = &hvs[0]->hv, .res = r};
            struct vgt_vgpu_info again;

            assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &made[0]), 0);
            vgt_vgpu_get_info(made[0], &again);
            assert_int_equal(again.low_base, info[0].low_base);
        }
        for (unsigned i = 0; i < n; i++) {
            vgt_vgpu_destroy(made[i]);
            fake_hv_destroy(hvs[i]);
        }
        assert_int_equal(vgt_gpu_avail(f->gpu, &r), fit);
    }
}

/* Issue 18: past the free ranges, vGPUs share whole range sets, least
 * shared first, up to the limit; past it the refusal is its own code. */
static void test_partition_sharing(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_res r;
    struct vgt_vgpu *made[64];
    struct fake_hv *hvs[64];
    struct vgt_vgpu_info info[64];
    unsigned free_sets, n = 0, per_set[16] = {0};

    vgt_vgpu_destroy(f->v);
    f->v = NULL;
    assert_int_equal(vgt_vgpu_res_from_type("V5_8", &r), 0);
    free_sets = expect_fit(&r, 0, 0, 0);
    assert_int_equal(vgt_gpu_share_limit(f->gpu), VGT_SHARE_LIMIT_DEFAULT);
    assert_int_equal(vgt_gpu_set_share_limit(f->gpu, 0), -EINVAL);
    assert_int_equal(vgt_gpu_set_share_limit(f->gpu, VGT_SHARE_LIMIT_MAX + 1), -EINVAL);
    assert_int_equal(vgt_gpu_set_share_limit(f->gpu, 3), 0);
    assert_int_equal(vgt_gpu_avail(f->gpu, &r), free_sets * 3);
    assert_int_equal(vgt_gpu_capacity(f->gpu, &r), free_sets * 3);
    for (;;) {
        struct vgt_vgpu_cfg vc = {.domid = (uint16_t)(10 + n), .res = r, .type_name = "V5_8"};
        int ret;

        assert_int_equal(fake_hv_create(f->arena, vc.domid, 4 * MIB, FAKE_HV_SCRAMBLE_4K, n, &hvs[n]), 0);
        vc.hv = &hvs[n]->hv;
        ret = vgt_vgpu_create(f->gpu, &vc, &made[n]);
        if (ret) {
            /* Refused by the limit, not by a lack of room. */
            assert_int_equal(ret, -EDQUOT);
            assert_int_equal(vgt_gpu_place_error(f->gpu, &r), -EDQUOT);
            fake_hv_destroy(hvs[n]);
            break;
        }
        vgt_vgpu_get_info(made[n], &info[n]);
        /* The guest sees its full size. */
        assert_int_equal(info[n].low_size, r.low_size);
        assert_int_equal(info[n].high_size, r.high_size);
        n++;
        assert_int_equal(vgt_gpu_avail(f->gpu, &r), free_sets * 3 - n);
    }
    assert_int_equal(n, free_sets * 3);
    /* Whole sets, spread evenly: the first free_sets are disjoint, then
     * each set is shared by exactly 3 (the least shared first). */
    for (unsigned i = 0; i < n; i++) {
        unsigned set = UINT32_MAX;

        for (unsigned k = 0; k < free_sets; k++)
            if (info[i].low_base == info[k].low_base) {
                set = k;
                assert_int_equal(info[i].high_base, info[k].high_base);
                assert_int_equal(info[i].fence_base, info[k].fence_base);
            }
        assert_true(set < free_sets);
        per_set[set]++;
        if (i < free_sets)
            assert_int_equal(set, i);
    }
    for (unsigned k = 0; k < free_sets; k++)
        assert_int_equal(per_set[k], 3);
    /* A higher limit admits more, on the same sets. */
    assert_int_equal(vgt_gpu_set_share_limit(f->gpu, 4), 0);
    assert_int_equal(vgt_gpu_avail(f->gpu, &r), free_sets);
    assert_int_equal(vgt_gpu_place_error(f->gpu, &r), 0);
    for (unsigned i = 0; i < n; i++) {
        vgt_vgpu_destroy(made[i]);
        fake_hv_destroy(hvs[i]);
    }
    /* 64 V5_8 fit under the default limit. */
    assert_int_equal(vgt_gpu_set_share_limit(f->gpu, VGT_SHARE_LIMIT_DEFAULT), 0);
    assert_int_equal(vgt_gpu_avail(f->gpu, &r), 64);
}

static void test_partition_custom_and_errors(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_res r;
    const char *why = NULL;
    struct vgt_vgpu_cfg vc = {.domid = 7, .hv = &f->hv->hv};
    struct vgt_vgpu *v2;

    assert_int_equal(vgt_vgpu_res_custom(0, 512, 4, &r, &why), -EINVAL);
    assert_non_null(why);
    assert_int_equal(vgt_vgpu_res_custom(64, 0, 4, &r, &why), -EINVAL);
    assert_int_equal(vgt_vgpu_res_custom(64, 64, 33, &r, &why), -EINVAL);
    assert_int_equal(vgt_vgpu_res_from_type("V9_9", &r), -EINVAL);
    assert_int_equal(vgt_vgpu_res_custom(32, 96, 2, &r, &why), 0);
    /* One vGPU per domain. */
    vc.res = r;
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &v2), -EEXIST);
    vc.domid = 8;
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &v2), 0);
    assert_ptr_equal(vgt_gpu_find_domid(f->gpu, 8), v2);
    assert_ptr_equal(vgt_gpu_find_id(f->gpu, vgt_vgpu_id(v2)), v2);
    /* Too big for what is left. */
    assert_int_equal(vgt_vgpu_res_custom(1024, 64, 0, &r, &why), 0);
    vc.res = r;
    vc.domid = 9;
    assert_int_equal(vgt_vgpu_create(f->gpu, &vc, &v2), -ENOSPC);
}

/* ---- GGTT through BAR0 ---- */

static void test_ggtt_via_bar0(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;
    uint64_t lo, hi, outside, dma;

    vgt_vgpu_get_info(f->v, &info);
    lo = info.low_base >> 12;
    hi = info.high_base >> 12;
    outside = (info.high_base + info.high_size) >> 12;
    f->hw->ggtt[outside] = 0x5555000ull;
    wr(f, VGT_GGTT_OFFSET + lo * 8, 8, (100ull << 12) | 1);
    wr(f, VGT_GGTT_OFFSET + hi * 8 + 4, 4, 0);
    wr(f, VGT_GGTT_OFFSET + hi * 8, 4, (101u << 12) | 1);
    wr(f, VGT_GGTT_OFFSET + outside * 8, 8, (102ull << 12) | 1);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 100, &dma), 0);
    assert_int_equal(f->hw->ggtt[lo], dma | 1);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 101, &dma), 0);
    assert_int_equal(f->hw->ggtt[hi], dma | 1);
    assert_int_equal(f->hw->ggtt[outside], 0x5555000ull);
    /* Outside its ranges nothing is kept (the private table covers them
     * only). */
    assert_int_equal(rd(f, VGT_GGTT_OFFSET + outside * 8, 8), 0);
    /* The GGTT window's traps are counted apart from the registers' (the
     * trap count of issue 16): four writes, one read, none of them
     * registers. */
    {
        struct vgt_vgpu_info after;

        vgt_vgpu_get_info(f->v, &after);
        assert_int_equal(after.st.ggtt_writes - info.st.ggtt_writes, 4);
        assert_int_equal(after.st.ggtt_reads - info.st.ggtt_reads, 1);
        assert_int_equal(after.st.mmio_writes - info.st.mmio_writes, 4);
        assert_int_equal(after.st.unlisted, info.st.unlisted);
    }
    /* Destroy returns the entries to scratch. */
    vgt_vgpu_destroy(f->v);
    f->v = NULL;
    assert_int_equal(f->hw->ggtt[lo], f->hw->gpu.scratch_dma | 1);
    assert_int_equal(f->hw->ggtt[hi], f->hw->gpu.scratch_dma | 1);
}

/* ---- fences ---- */

static void test_fences(void **state)
{
    struct fx *f = *state;
    struct vgt_vgpu_info info;
    uint32_t lo, hi;
    unsigned host;

    vgt_vgpu_get_info(f->v, &info);
    host = info.fence_base + 1;
    /* i915's order: disable, high, then low with valid. */
    lo = (uint32_t)info.low_base | I965_FENCE_REG_VALID;
    hi = (uint32_t)(info.low_base + 16 * 4096 - 4096);
    wr(f, FENCE_REG_GEN6_LO(1), 4, 0);
    wr(f, FENCE_REG_GEN6_HI(1), 4, hi);
    wr(f, FENCE_REG_GEN6_LO(1), 4, lo);
    assert_int_equal(f->hw->regs[FENCE_REG_GEN6_LO(host) / 4], lo);
    assert_int_equal(f->hw->regs[FENCE_REG_GEN6_HI(host) / 4], hi);
    assert_int_equal(rd(f, FENCE_REG_GEN6_LO(1), 4), lo);
    /* Covering graphics memory of the host: refused, host fence off. */
    wr(f, FENCE_REG_GEN6_LO(1), 4, 0);
    wr(f, FENCE_REG_GEN6_HI(1), 4, 0x1000);
    wr(f, FENCE_REG_GEN6_LO(1), 4, 0x0 | I965_FENCE_REG_VALID);
    assert_int_equal(f->hw->regs[FENCE_REG_GEN6_LO(host) / 4], 0);
    assert_int_equal(f->hw->regs[FENCE_REG_GEN6_HI(host) / 4], 0);
    /* Fence beyond its count: virtual only, no host fence touched. */
    wr(f, FENCE_REG_GEN6_LO(info.fence_num), 4, lo);
    assert_int_equal(f->hw->regs[FENCE_REG_GEN6_LO(info.fence_base + info.fence_num) / 4], 0);
    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(info.st.fence_refused, 1);
}

/* ---- interrupts ---- */

static void enable_msi(struct fx *f, uint32_t addr, uint16_t data)
{
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0xB0, 4, addr), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0xB4, 2, data), 0);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0xAE, 2, 1), 0);
}

static void test_irq_to_msi(void **state)
{
    struct fx *f = *state;

    /* Nothing enabled: the event is not latched. */
    assert_int_equal(vgt_vgpu_raise_event(f->v, VGT_ENGINE_RCS, VGT_GPU_EV_USER_INTERRUPT), 0);
    assert_int_equal(rd(f, GEN8_GT_IIR(0), 4), 0);
    enable_msi(f, 0xfee00000u, 0x41);
    wr(f, GEN8_GT_IER(0), 4, 0x01010101);
    wr(f, GEN8_GT_IMR(0), 4, ~0x01010101u);
    wr(f, GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL);
    assert_int_equal(f->hv->nr_msi, 0);
    assert_int_equal(vgt_vgpu_raise_event(f->v, VGT_ENGINE_BCS, VGT_GPU_EV_USER_INTERRUPT), 1);
    assert_int_equal(f->hv->nr_msi, 1);
    assert_int_equal(f->hv->last_msi_addr, 0xfee00000u);
    assert_int_equal(f->hv->last_msi_data, 0x41);
    assert_int_equal(rd(f, GEN8_GT_IIR(0), 4), 1u << 16);
    assert_int_equal(rd(f, GEN8_MASTER_IRQ, 4), GEN8_MASTER_IRQ_CONTROL | GEN8_GT_BCS_IRQ);
    /* Still pending: no second message. */
    assert_int_equal(vgt_vgpu_raise_event(f->v, VGT_ENGINE_RCS, VGT_GPU_EV_USER_INTERRUPT), 0);
    assert_int_equal(f->hv->nr_msi, 1);
    /* The guest's handler: master off, ack IIR (W1C), master on. */
    wr(f, GEN8_MASTER_IRQ, 4, 0);
    wr(f, GEN8_GT_IIR(0), 4, 1u << 16);
    assert_int_equal(rd(f, GEN8_GT_IIR(0), 4), 1); /* RCS still pending */
    wr(f, GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL);
    assert_int_equal(f->hv->nr_msi, 2); /* re-enable with pending raises again */
    wr(f, GEN8_GT_IIR(0), 4, 0xffffffff);
    assert_int_equal(rd(f, GEN8_MASTER_IRQ, 4), GEN8_MASTER_IRQ_CONTROL);
    /* Masked events are not latched. */
    wr(f, GEN8_GT_IMR(0), 4, 0xffffffff);
    assert_int_equal(vgt_vgpu_raise_event(f->v, VGT_ENGINE_RCS, VGT_GPU_EV_USER_INTERRUPT), 0);
    assert_int_equal(rd(f, GEN8_GT_IIR(0), 4), 0);
    /* VECS lands in GT3, context switch on bit 8. */
    wr(f, GEN8_GT_IER(3), 4, 0x100);
    wr(f, GEN8_GT_IMR(3), 4, 0);
    assert_int_equal(vgt_vgpu_raise_event(f->v, VGT_ENGINE_VECS, VGT_GPU_EV_CTX_SWITCH), 1);
    assert_int_equal(rd(f, GEN8_GT_IIR(3), 4), 0x100);
    assert_int_equal(rd(f, GEN8_MASTER_IRQ, 4) & GEN8_GT_VECS_IRQ, GEN8_GT_VECS_IRQ);
    /* MSI disabled: latched but no message. */
    wr(f, GEN8_GT_IIR(3), 4, 0x100);
    assert_int_equal(vgt_vgpu_cfg_write(f->v, 0xAE, 2, 0), 0);
    assert_int_equal(vgt_vgpu_raise_event(f->v, VGT_ENGINE_VECS, VGT_GPU_EV_CTX_SWITCH), 0);
    assert_int_equal(f->hv->nr_msi, 3);
    assert_int_equal(vgt_vgpu_raise_event(f->v, 9, 1), -EINVAL);
}

/* ---- failsafe and reset ---- */

static void test_failsafe_and_reset(void **state)
{
    struct fx *f = *state;
    struct hook_log h = {0};
    struct vgt_vgpu_hooks hooks = {.opaque = &h, .reset = on_reset, .failsafe = on_failsafe};
    struct vgt_vgpu_info info;
    uint64_t lo_idx, dma;
    uint32_t flo;

    vgt_vgpu_set_hooks(f->v, &hooks);
    vgt_vgpu_get_info(f->v, &info);
    lo_idx = info.low_base >> 12;
    wr(f, VGT_PVINFO_PAGE + 0x804, 4, 1);
    vgt_vgpu_enter_failsafe(f->v, VGT_FAILSAFE_ADMIN, "test");
    vgt_vgpu_enter_failsafe(f->v, VGT_FAILSAFE_GUEST_ERROR, "second"); /* first kept */
    assert_int_equal(h.failsafe, 1);
    vgt_vgpu_get_info(f->v, &info);
    assert_true(info.failsafe);
    assert_int_equal(info.failsafe_reason, VGT_FAILSAFE_ADMIN);
    assert_string_equal(info.failsafe_detail, "test");
    assert_string_equal(vgt_vgpu_state_name(&info), "failsafe");
    /* Counted once, under the reason kept (metrics: failsafe events). */
    assert_int_equal(info.st.failsafe_by_reason[VGT_FAILSAFE_ADMIN], 1);
    assert_int_equal(info.st.failsafe_by_reason[VGT_FAILSAFE_GUEST_ERROR], 0);
    /* GGTT writes stay virtual, fences never reach the host. */
    wr(f, VGT_GGTT_OFFSET + lo_idx * 8, 8, (3ull << 12) | 1);
    assert_int_equal(f->hw->ggtt[lo_idx], vgt_ggtt_scratch_dma(vgt_vgpu_ggtt(f->v)) | 1);
    assert_int_equal(rd(f, VGT_GGTT_OFFSET + lo_idx * 8, 8), (3ull << 12) | 1);
    flo = (uint32_t)info.low_base | 1;
    wr(f, FENCE_REG_GEN6_HI(0), 4, (uint32_t)info.low_base);
    wr(f, FENCE_REG_GEN6_LO(0), 4, flo);
    assert_int_equal(f->hw->regs[FENCE_REG_GEN6_LO(info.fence_base) / 4], 0);
    /* The guest's own full reset does not clear failsafe. */
    wr(f, GFX_MODE, 4, 0x00010001);
    wr(f, GEN6_GDRST, 4, GEN6_GRDOM_FULL);
    assert_int_equal(rd(f, GEN6_GDRST, 4), 0);
    assert_int_equal(rd(f, GFX_MODE, 4), 0); /* engine-side registers reset */
    assert_int_equal(rd(f, VGT_PVINFO_PAGE + 0x804, 4), 1); /* PVINFO kept */
    assert_int_equal(h.resets, 1);
    assert_true(vgt_vgpu_in_failsafe(f->v));
    /* Device-model reset clears it and everything goes back to scratch. */
    assert_int_equal(vgt_vgpu_reset(f->v), 0);
    assert_int_equal(h.resets, 11);
    vgt_vgpu_get_info(f->v, &info);
    assert_false(info.failsafe);
    assert_int_equal(info.failsafe_reason, VGT_FAILSAFE_NONE);
    assert_false(info.display_ready);
    /* The history survives the reset; a new entry counts again. */
    assert_int_equal(info.st.failsafe_by_reason[VGT_FAILSAFE_ADMIN], 1);
    vgt_vgpu_enter_failsafe(f->v, VGT_FAILSAFE_GUEST_ERROR, "again");
    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(info.st.failsafe_by_reason[VGT_FAILSAFE_GUEST_ERROR], 1);
    assert_int_equal(vgt_vgpu_reset(f->v), 0);
    vgt_vgpu_get_info(f->v, &info);
    assert_int_equal(rd(f, VGT_GGTT_OFFSET + lo_idx * 8, 8), 0);
    assert_int_equal(rd(f, VGT_PVINFO_PAGE, 8), VGT_MAGIC);
    wr(f, VGT_GGTT_OFFSET + lo_idx * 8, 8, (3ull << 12) | 1);
    assert_int_equal(vgt_hv_gfn_to_dma(&f->hv->hv, 3, &dma), 0);
    assert_int_equal(f->hw->ggtt[lo_idx], dma | 1);
    vgt_vgpu_reset(f->v);
    assert_int_equal(f->hw->ggtt[lo_idx], vgt_ggtt_scratch_dma(vgt_vgpu_ggtt(f->v)) | 1);
}

/* A reset after writes everywhere gives back exactly the reset values:
 * every dword of the register file (the mediator's own writes reach every
 * page, the guest's MMIO writes go through the handlers), the guest's
 * GGTT view and the host entries. The register file is zeroed by dropping
 * its pages (vgt_vgpu_vregs_zero), so a page or an edge the zeroing
 * missed shows here. The guest's GT reset restores [0, 0x44200) only: its
 * end is inside a page (the memset edge). */
static void test_reset_restores_everything(void **state)
{
    struct fx *f = *state;
    const uint32_t n = VGT_MMIO_SIZE / 4, gdrst_end = 0x44200u;
    uint32_t *img = malloc(n * sizeof(*img));
    static const uint32_t mmio[] = {GFX_MODE, FENCE_REG_GEN6_HI(1), VGT_PVINFO_PAGE + 0x804,
                                    GEN8_GT_IER(0), GEN8_GT_IMR(0), GEN8_MASTER_IRQ};
    struct vgt_vgpu_info info;
    uint64_t lo_idx, scratch, bad = 0;

    assert_non_null(img);
    assert_int_equal(vgt_vgpu_reset(f->v), 0);
    for (uint32_t d = 0; d < n; d++)
        img[d] = vgt_vgpu_vreg(f->v, d * 4);
    /* The values a new vGPU starts with are the reset values. */
    assert_int_equal(img[(VGT_PVINFO_PAGE) / 4], (uint32_t)VGT_MAGIC);
    vgt_vgpu_get_info(f->v, &info);
    lo_idx = info.low_base >> 12;
    scratch = vgt_ggtt_scratch_dma(vgt_vgpu_ggtt(f->v)) | 1;
    for (uint32_t d = 0; d < n; d++)
        vgt_vgpu_set_vreg(f->v, d * 4, ~img[d] ^ d);
    for (unsigned i = 0; i < sizeof(mmio) / sizeof(mmio[0]); i++)
        wr(f, mmio[i], 4, 0x5a5a0001u + i);
    for (uint64_t i = 0; i < 512; i++)
        wr(f, VGT_GGTT_OFFSET + (lo_idx + i) * 8, 8, ((3ull + i) << 12) | 1);
    assert_int_not_equal(f->hw->ggtt[lo_idx + 7], scratch);

    /* The guest's full GT reset: below its end only. */
    wr(f, GEN6_GDRST, 4, GEN6_GRDOM_FULL);
    for (uint32_t d = 0; d < gdrst_end / 4; d++)
        bad += vgt_vgpu_vreg(f->v, d * 4) != img[d];
    assert_int_equal(bad, 0);
    /* Kept above it (GEN8_MASTER_IRQ at its end was written by MMIO). */
    for (uint32_t d = gdrst_end / 4 + 1; d < n; d++)
        bad += vgt_vgpu_vreg(f->v, d * 4) != (~img[d] ^ d);
    assert_true(bad < 64); /* the MMIO-written ones, at most */
    bad = 0;

    assert_int_equal(vgt_vgpu_reset(f->v), 0);
    for (uint32_t d = 0; d < n; d++)
        bad += vgt_vgpu_vreg(f->v, d * 4) != img[d];
    assert_int_equal(bad, 0);
    for (uint64_t i = 0; i < 512; i++) {
        assert_int_equal(rd(f, VGT_GGTT_OFFSET + (lo_idx + i) * 8, 8), 0);
        assert_int_equal(f->hw->ggtt[lo_idx + i], scratch);
    }
    assert_false(vgt_vgpu_in_failsafe(f->v));
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cfg_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlisted_logged_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opregion_in_mmio_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_i915_init_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_i915_gt_init_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_i915_display_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opregion_at_asls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cfg_bar_sizing_and_ro, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pvinfo_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_g2v_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_sharing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_custom_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ggtt_via_bar0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq_to_msi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failsafe_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_restores_everything, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Hardware and guest-contract facts the vGPU device model presents.
 *
 * Sources (cited per group): Linux i915 i915_pvinfo.h (struct vgt_if,
 * VGT_MAGIC, VGT_CAPS_*, enum vgt_g2v_type), i915_reg.h /
 * gt/intel_gt_regs.h / gt/intel_engine_regs.h (register offsets), PCI Local
 * Bus spec 3.0 (config header), and the architecture document. */
#ifndef VGT_VGPU_REGS_H
#define VGT_VGPU_REGS_H

/* ---- PVINFO page (i915_pvinfo.h: VGT_PVINFO_PAGE, struct vgt_if) ---- */
#define VGT_PVINFO_PAGE 0x78000u
#define VGT_PVINFO_SIZE 0x1000u
#define VGT_MAGIC 0x4776544776544776ull
#define VGT_VERSION_MAJOR 1
#define VGT_VERSION_MINOR 0
#define VGT_CAPS_FULL_PPGTT (1u << 2)
#define VGT_CAPS_HWSP_EMULATION (1u << 3)
#define VGT_CAPS_HUGE_GTT (1u << 4)
/* Offsets inside the page (struct vgt_if field offsets). */
#define VGT_PV_MAGIC 0x000u
#define VGT_PV_VERSION_MAJOR 0x008u
#define VGT_PV_VERSION_MINOR 0x00Au
#define VGT_PV_VGT_ID 0x00Cu
#define VGT_PV_CAPS 0x010u
#define VGT_PV_MAPPABLE_BASE 0x040u
#define VGT_PV_MAPPABLE_SIZE 0x044u
#define VGT_PV_NONMAPPABLE_BASE 0x048u
#define VGT_PV_NONMAPPABLE_SIZE 0x04Cu
#define VGT_PV_FENCE_NUM 0x050u
#define VGT_PV_DISPLAY_READY 0x804u
#define VGT_PV_RSV5 0x808u          /* 4 dwords */
#define VGT_PV_G2V_NOTIFY 0x818u
#define VGT_PV_CURSOR_X_HOT 0x830u
#define VGT_PV_CURSOR_Y_HOT 0x834u
#define VGT_PV_PDP(i, hi) (0x838u + 8u * (i) + ((hi) ? 4u : 0u))
#define VGT_PV_EXECLIST_DESC_LO 0x858u
#define VGT_PV_EXECLIST_DESC_HI 0x85Cu
/* i915_pvinfo.h VGT_DRV_DISPLAY_NOT_READY / VGT_DRV_DISPLAY_READY */
#define VGT_DRV_DISPLAY_READY 1u
/* enum vgt_g2v_type */
#define VGT_G2V_PPGTT_L3_PAGE_TABLE_CREATE 2u
#define VGT_G2V_PPGTT_L3_PAGE_TABLE_DESTROY 3u
#define VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE 4u
#define VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY 5u
#define VGT_G2V_EXECLIST_CONTEXT_CREATE 6u
#define VGT_G2V_EXECLIST_CONTEXT_DESTROY 7u

/* ---- BAR0 (GTTMMADR) layout: i915 gen8_gmch_probe maps the GGTT at
 * half of BAR0 (16 MiB BAR, registers in the first 2 MiB). ---- */
#define VGT_BAR0_SIZE 0x1000000ull
#define VGT_MMIO_SIZE 0x200000u
#define VGT_GGTT_OFFSET 0x800000ull

/* ---- Interrupts (i915_reg.h GEN8_MASTER_IRQ, GEN8_GT_ISR/IMR/IIR/IER) ---- */
#define GEN8_MASTER_IRQ 0x44200u
#define GEN8_MASTER_IRQ_CONTROL (1u << 31)
#define GEN8_GT_RCS_IRQ (1u << 0)
#define GEN8_GT_BCS_IRQ (1u << 1)
#define GEN8_GT_VCS0_IRQ (1u << 2)
#define GEN8_GT_VCS1_IRQ (1u << 3)
#define GEN8_GT_VECS_IRQ (1u << 6)
#define GEN8_GT_ISR(n) (0x44300u + 0x10u * (n))
#define GEN8_GT_IMR(n) (0x44304u + 0x10u * (n))
#define GEN8_GT_IIR(n) (0x44308u + 0x10u * (n))
#define GEN8_GT_IER(n) (0x4430Cu + 0x10u * (n))
/* Bit positions inside GT0..GT3 (GEN8_RCS_IRQ_SHIFT 0, GEN8_BCS_IRQ_SHIFT
 * 16, GEN8_VCS0_IRQ_SHIFT 0 in GT1, GEN8_VECS_IRQ_SHIFT 0 in GT3). */
#define GT_RENDER_USER_INTERRUPT (1u << 0)
#define GT_CONTEXT_SWITCH_INTERRUPT (1u << 8)

/* ---- Reset (i915_reg.h GEN6_GDRST, GEN6_GRDOM_*) ---- */
#define GEN6_GDRST 0x941Cu
#define GEN6_GRDOM_FULL (1u << 0)
#define GEN6_GRDOM_RENDER (1u << 1)
#define GEN6_GRDOM_MEDIA (1u << 2)
#define GEN6_GRDOM_BLT (1u << 3)
#define GEN6_GRDOM_VECS (1u << 4)
#define GEN9_GRDOM_GUC (1u << 5)    /* gt/intel_gt_regs.h; intel_reset_guc */
#define GEN8_GRDOM_MEDIA2 (1u << 7) /* the second VCS: none on a GT2 */
#define VGT_GDRST_DOMAINS                                                                          \
    (GEN6_GRDOM_FULL | GEN6_GRDOM_RENDER | GEN6_GRDOM_MEDIA | GEN6_GRDOM_BLT | GEN6_GRDOM_VECS |  \
     GEN9_GRDOM_GUC | GEN8_GRDOM_MEDIA2)

/* ---- GuC (gt/uc/intel_guc_reg.h) ----
 * GUC_STATUS: GS_MIA_IN_RESET bit 0, which __intel_uc_reset_hw requires
 * after the GuC domain reset. GUC_WOPCM_SIZE bit 0 (locked) and
 * DMA_GUC_WOPCM_OFFSET bit 0 (valid): __uc_check_hw fails the GT's init
 * with -EIO if either is set (a GuC loaded before). */
#define GUC_STATUS 0xC000u
#define GS_MIA_IN_RESET (1u << 0)
#define GUC_WOPCM_SIZE 0xC050u
#define DMA_GUC_WOPCM_OFFSET 0xC340u

/* ---- GT error and fault registers (i915_reg.h PGTBL_ER, EIR, EMR;
 * gt/intel_gt_regs.h IPEIR_I965, GEN8_RING_FAULT_REG bit 0 RING_FAULT_VALID,
 * GEN8_FAULT_TLB_DATA0/1): intel_gt_clear_error_registers and
 * gen8_check_faults at probe, reset and GGTT resume. EIR and EMR are
 * RING_EIR/RING_EMR of the render engine. ---- */
#define PGTBL_ER 0x2024u
/* TLB invalidation control, one per engine class (i915 intel_gt_regs.h):
 * RTCR, M1TCR, M2TCR, BTCR, VTCR. */
#define GEN8_RTCR 0x4260u
#define IPEIR_I965 0x2064u
#define GEN8_RING_FAULT_REG 0x4094u
#define RING_FAULT_VALID (1u << 0)
#define GEN8_FAULT_TLB_DATA0 0x4B10u

/* ---- GTT and clock-gating registers i915 6.1 programs on Skylake ----
 * gtt_write_workarounds (gt/intel_gtt.c): HSW_GTT_CACHE_EN (i915_reg.h,
 * GTT_CACHE_EN_ALL, WARNs if it reads back 0), GEN8_L3_LRA_1_GPGPU
 * (gt/intel_gt_regs.h, the SKL default), GEN8_GAMW_ECO_DEV_RW_IA
 * (GAMW_ECO_ENABLE_64K_IPS_FIELD 0xF: gen9 has 64K pages and i915 keeps
 * them because the vGPU announces VGT_CAPS_HUGE_GTT, i915_gem_init).
 * bdw_setup_private_ppat (gt/intel_gtt.c): GEN8_PRIVATE_PAT_LO/HI.
 * gfx flush after GGTT updates (gen8_ggtt_invalidate): GFX_FLSH_CNTL_GEN6.
 * skl_init_clock_gating / gen9_init_clock_gating (intel_pm.c): the GT
 * side: FBC_LLC_READ_CTRL, GEN7_MISCCPCTL, GEN8_UCGCTL6. */
#define HSW_GTT_CACHE_EN 0x4024u
#define GTT_CACHE_EN_ALL 0xF0007FFFu
#define GEN8_GAMW_ECO_DEV_RW_IA 0x4080u
#define GAMW_ECO_ENABLE_64K_IPS_FIELD 0xFu
#define GEN8_PRIVATE_PAT_LO 0x40E0u
#define GEN8_L3_LRA_1_GPGPU 0x4DD4u
#define GEN9_L3_LRA_1_GPGPU_DEFAULT_VALUE_SKL 0x67F1427Fu
#define FBC_LLC_READ_CTRL 0x9044u
#define GEN7_MISCCPCTL 0x9424u
#define GEN8_UCGCTL6 0x9430u
#define GFX_FLSH_CNTL_GEN6 0x101008u
/* i915_reg.h HSW_EDRAM_CAP, bit 0 EDRAM_ENABLED (intel_dram.c
 * intel_dram_edram_detect, before the GGTT probe): a GT2 has no eDRAM. */
#define HSW_EDRAM_CAP 0x120010u

/* ---- Fences (i915_reg.h FENCE_REG_GEN6_LO/HI; i915 gt/intel_ggtt_fencing.c
 * i965_write_fence_reg: start bits 31:12 of LO, end page bits 31:12 of HI,
 * valid bit 0 of LO) ---- */
#define FENCE_REG_GEN6_LO(i) (0x100000u + 8u * (i))
#define FENCE_REG_GEN6_HI(i) (0x100004u + 8u * (i))
#define VGT_MAX_FENCES 32u /* Gen9: I915_MAX_NUM_FENCES */
#define I965_FENCE_REG_VALID (1u << 0)
#define VGT_FENCE_PAGE 4096u

/* ---- Engines (gt/intel_engine_regs.h) ---- */
#define RENDER_RING_BASE 0x02000u
#define BLT_RING_BASE 0x22000u
#define GEN6_BSD_RING_BASE 0x12000u
#define VEBOX_RING_BASE 0x1A000u
#define RING_TAIL(b) ((b) + 0x30u)
#define RING_HEAD(b) ((b) + 0x34u)
#define RING_START(b) ((b) + 0x38u)
#define RING_CTL(b) ((b) + 0x3Cu)
#define RING_HWS_PGA(b) ((b) + 0x80u)
#define RING_MI_MODE(b) ((b) + 0x9Cu)
#define RING_IMR(b) ((b) + 0xA8u)
#define RING_ELSP(b) ((b) + 0x230u)
#define RING_EXECLIST_STATUS_LO(b) ((b) + 0x234u)
#define RING_EXECLIST_STATUS_HI(b) ((b) + 0x238u)
#define RING_CONTEXT_CONTROL(b) ((b) + 0x244u)
#define GEN8_RING_PDP_UDW(b, n) ((b) + 0x270u + 8u * (n) + 4u)
#define GEN8_RING_PDP_LDW(b, n) ((b) + 0x270u + 8u * (n))
#define RING_MODE_GEN7(b) ((b) + 0x29Cu)
#define RING_CONTEXT_STATUS_BUF_LO(b, i) ((b) + 0x370u + 8u * (i))
#define RING_CONTEXT_STATUS_PTR(b) ((b) + 0x3A0u)
/* Its write pointer (bits 2:0) after a reset: the last of the 6 entries
 * (GEN8_CSB_ENTRIES), so the next event is entry 0 (i915 6.1
 * reset_csb_pointers writes the same; the virtual CSB starts there). */
#define VGT_CSB_PTR_RESET 5u
/* Per-engine reset handshake (i915 gt/intel_engine_regs.h RING_RESET_CTL,
 * masked): the driver sets REQUEST_RESET and waits for READY_TO_RESET
 * before it writes the engine's GEN6_GDRST bit (gen8_engine_reset_prepare). */
#define RING_RESET_CTL(b) ((b) + 0xD0u)
#define RESET_CTL_REQUEST_RESET (1u << 0)
#define RESET_CTL_READY_TO_RESET (1u << 1)
#define GFX_MODE 0x2520u
/* RING_MI_MODE bits (gt/intel_engine_regs.h): i915 sets STOP_RING and
 * waits for MODE_IDLE before a reset (__intel_engine_stop_cs). */
#define MODE_IDLE (1u << 9)
#define STOP_RING (1u << 8)
/* Per-engine status page mask and error registers (gt/intel_engine_regs.h;
 * i915 enable_execlists / enable_error_interrupt write HWSTAM, EMR, EIR
 * and read ESR, resetting the engine if it is non-zero). */
#define RING_HWSTAM(b) ((b) + 0x98u)
#define RING_EIR(b) ((b) + 0xB0u)
#define RING_EMR(b) ((b) + 0xB4u)
#define RING_ESR(b) ((b) + 0xB8u)

/* ---- GT and uncore registers i915 6.1 reads at probe on Skylake ----
 * FPGA_DBG (i915_reg.h; intel_uncore_init_mmio -> check_for_unclaimed_mmio,
 * bit 31 RM_NOCLAIM: 0, no unclaimed access). GEN8_FUSE2 and
 * GEN9_EU_DISABLE(s) (gt/intel_gt_regs.h; gen9_sseu_info_init: slice
 * enable bits 27:25, subslice disable bits 23:20). CTC_MODE
 * (gt/intel_gt_regs.h; gen9_read_clock_frequency: bit 0 source, 0 the
 * crystal; bits 2:1 shift, CS timestamp = 24 MHz >> (3 - shift)).
 * GEN6_RP_STATE_CAP (i915_reg.h MCHBAR_MIRROR_BASE_SNB 0x140000 + 0x5998;
 * gen6_rps_get_freq_caps: RP0 bits 7:0, RP1 15:8, RPn 23:16). GEN6_PMINTRMSK
 * (gt/intel_gt_regs.h; rps_disable_interrupts writes it). GEN8_PCU_*
 * (i915_reg.h; gen8_irq_reset resets the PCU interrupt bank). */
#define FPGA_DBG 0x42300u
#define GEN8_FUSE2 0x9120u
#define GEN8_F2_S_ENA_SHIFT 25
#define GEN9_F2_SS_DIS_SHIFT 20
#define GEN9_EU_DISABLE(s) (0x9134u + 4u * (s))
#define CTC_MODE 0xA26Cu
#define CTC_SHIFT_PARAMETER_SHIFT 1
#define GEN6_RP_STATE_CAP 0x145998u
#define GEN6_PMINTRMSK 0xA168u
#define GEN8_PCU_ISR 0x444E0u
#define GEN8_PCU_IMR 0x444E4u
#define GEN8_PCU_IIR 0x444E8u
#define GEN8_PCU_IER 0x444ECu
/* GT workaround registers of skl_gt_workarounds_init / gen9_wa_init_mcr
 * (gt/intel_workarounds.c; offsets gt/intel_gt_regs.h), which i915 reads,
 * ORs and writes back at init: tracked virtually, as gvt does. */
#define GEN8_MCR_SELECTOR 0x0FDCu
#define GAM_ECOCHK 0x4090u
#define GEN9_GAMT_ECO_REG_RW_IA 0x4AB0u
#define MMCD_MISC_CTRL 0x4DDCu
#define GEN7_UCGCTL4 0x940Cu
/* Render engine workarounds of rcs_engine_wa_init on Skylake
 * (gt/intel_workarounds.c; offsets gt/intel_gt_regs.h; the CHICKEN ones
 * are masked), the render whitelist slots intel_engine_apply_whitelist
 * fills (RING_FORCE_TO_NONPRIV(base, i) = base + 0x4D0 + 4i,
 * RING_MAX_NONPRIV_SLOTS 12, gt/intel_engine_regs.h), and the MOCS tables
 * intel_mocs_init_engine writes (GEN9_GFX/MFX0/VEBOX/BLT_MOCS(i),
 * 64 entries each; GEN9_LNCFCMOCS(i), 32 registers). */
#define GEN9_CSFE_CHICKEN1_RCS 0x20D4u
#define GEN7_FF_SLICE_CS_CHICKEN1 0x20E0u
#define GEN8_GARBCNTL 0xB004u
#define GEN9_SCRATCH_LNCF1 0xB008u
#define GEN8_L3SQCREG4 0xB118u
#define BDW_SCRATCH1 0xB11Cu
#define RING_FORCE_TO_NONPRIV(b, i) ((b) + 0x4D0u + 4u * (i))
#define RING_MAX_NONPRIV_SLOTS 12u
#define GEN9_LNCFCMOCS(i) (0xB020u + 4u * (i))
#define GEN9_LNCFCMOCS_REG_COUNT 32u
#define GEN9_GFX_MOCS(i) (0xC800u + 4u * (i))
#define GEN9_MFX0_MOCS(i) (0xC900u + 4u * (i))
#define GEN9_VEBOX_MOCS(i) (0xCB00u + 4u * (i))
#define GEN9_BLT_MOCS(i) (0xCC00u + 4u * (i))
#define GEN9_NUM_MOCS_ENTRIES 64u
/* The vGPU's GT: a Skylake GT2 (PCI 0x1912): one slice, three of four
 * subslices, eight EUs each (24 EUs); the CS timestamp at 12 MHz, as the
 * simulated GPU's (sim/gpu/engine.c GEN9_CS_TIMESTAMP_HZ). */
#define VGT_SKL_GT2_FUSE2 ((1u << GEN8_F2_S_ENA_SHIFT) | (0x8u << GEN9_F2_SS_DIS_SHIFT))
#define VGT_SKL_CTC_MODE (2u << CTC_SHIFT_PARAMETER_SHIFT)

/* ---- Forcewake (gt/intel_gt_regs.h) ---- */
#define FORCEWAKE_MEDIA_GEN9 0xA270u
#define FORCEWAKE_RENDER_GEN9 0xA278u
#define FORCEWAKE_BLITTER_GEN9 0xA188u
#define FORCEWAKE_ACK_MEDIA_GEN9 0x0D88u
#define FORCEWAKE_ACK_RENDER_GEN9 0x0D84u
#define FORCEWAKE_ACK_BLITTER_GEN9 0x130044u

/* ---- PCI config space (PCI 3.0; the SKL iGPU's own layout) ---- */
#define VGT_PCI_VENDOR_INTEL 0x8086u
#define VGT_PCI_DEVICE_SKL_GT2 0x1912u
#define VGT_CFG_SIZE 256u
#define VGT_CFG_COMMAND 0x04u
#define VGT_CFG_STATUS 0x06u
#define VGT_CFG_BAR0 0x10u
#define VGT_CFG_BAR2 0x18u
#define VGT_CFG_CAP_PTR 0x34u
#define VGT_CFG_GMCH_CTRL 0x50u /* i915 intel_gtt SNB_GMCH_CTRL */
#define VGT_CFG_CAP_VNDR 0x40u
#define VGT_CFG_CAP_PCIE 0x70u
#define VGT_CFG_CAP_MSI 0xACu
#define VGT_CFG_CAP_PM 0xD0u
#define VGT_CFG_OPREGION 0xFCu /* ASLS: hvmloader writes the OpRegion address */
#define VGT_CMD_MEMORY (1u << 1)
#define VGT_MSI_ENABLE (1u << 0)

#endif

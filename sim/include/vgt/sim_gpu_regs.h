/* Gen9 (Skylake GT2) register offsets and bit layouts the simulated GPU
 * implements, for the drivers that program it (the native driver here, the
 * guest-side driver of the simulated platform).
 *
 * Sources: Linux i915 i915_reg.h, gt/intel_engine_regs.h,
 * gt/intel_gt_regs.h, gt/intel_lrc.c and gt/intel_lrc_reg.h,
 * gt/intel_engine_types.h, and the architecture document
 * (../shared/design/ARCHITECTURE.md, "Gen9 hardware facts"). */
#ifndef VGT_SIM_GPU_REGS_H
#define VGT_SIM_GPU_REGS_H

#include <stdint.h>

/* BAR0 (GTTMMADR): registers in the first 2 MiB, GGTT from +8 MiB. */
#define GEN9_BAR0_SIZE (16u << 20)
#define GEN9_MMIO_SIZE (2u << 20)
#define GEN9_GGTT_OFFSET (8u << 20)

/* Engine MMIO bases (i915 intel_engine_cs.c: RENDER_RING_BASE 0x2000,
 * BLT_RING_BASE 0x22000, GEN6_BSD_RING_BASE 0x12000, VEBOX_RING_BASE
 * 0x1a000). */
#define GEN9_RCS_BASE 0x02000u
#define GEN9_BCS_BASE 0x22000u
#define GEN9_VCS_BASE 0x12000u
#define GEN9_VECS_BASE 0x1a000u

/* Per-engine registers, offsets from the engine base (i915
 * intel_engine_regs.h). */
#define RING_TAIL 0x30
#define RING_HEAD 0x34
#define RING_START 0x38
#define RING_CTL 0x3c
#define RING_ACTHD 0x74
/* Per-engine reset handshake (i915 gt/intel_engine_regs.h RING_RESET_CTL,
 * masked): software sets REQUEST_RESET, the engine stops at a safe point
 * and shows READY_TO_RESET; intel_reset.c gen8_engine_reset_prepare. */
#define RING_RESET_CTL 0xd0
#define RESET_CTL_REQUEST_RESET (1u << 0)
#define RESET_CTL_READY_TO_RESET (1u << 1)
#define RING_HWSTAM 0x98
#define RING_IMR 0xa8
#define RING_HWS_PGA 0x80
#define RING_BBADDR 0x140
#define RING_BBADDR_UDW 0x168
#define RING_ELSP 0x230
#define RING_EXECLIST_STATUS_LO 0x234
#define RING_EXECLIST_STATUS_HI 0x238
#define RING_CONTEXT_CONTROL 0x244
#define RING_PDP_UDW(n) (0x270 + (n) * 8 + 4)
#define RING_PDP_LDW(n) (0x270 + (n) * 8)
#define RING_MODE_GEN7 0x29c
#define RING_TIMESTAMP 0x358
#define RING_TIMESTAMP_UDW 0x35c
#define RING_CONTEXT_STATUS_BUF_LO(i) (0x370 + (i) * 8)
#define RING_CONTEXT_STATUS_BUF_HI(i) (0x370 + (i) * 8 + 4)
#define RING_CONTEXT_STATUS_PTR 0x3a0

/* RING_CTL: RING_VALID bit 0, RING_NR_PAGES bits 20:12 = pages - 1. */
#define RING_CTL_VALID (1u << 0)
#define RING_CTL_NR_PAGES 0x001ff000u
#define RING_CTL_SIZE(bytes) ((((bytes) >> 12) - 1) << 12)
/* RING_HEAD: HEAD_ADDR bits 20:2; RING_TAIL: TAIL_ADDR bits 20:3. */
#define RING_HEAD_ADDR 0x001ffffcu
#define RING_TAIL_ADDR 0x001ffff8u

/* RING_MODE_GEN7 is a masked register (upper 16 bits select the bits
 * written); GFX_RUN_LIST_ENABLE bit 15 turns execlists on. */
#define GFX_RUN_LIST_ENABLE (1u << 15)
#define GEN9_MASKED_ENABLE(b) (((b) << 16) | (b))
#define GEN9_MASKED_DISABLE(b) ((b) << 16)

/* RING_CONTEXT_STATUS_PTR (masked): write pointer bits 2:0 (hardware),
 * read pointer bits 10:8 (software). i915 GEN8_CSB_WRITE_PTR_MASK,
 * GEN8_CSB_READ_PTR_MASK; 6 entries (GEN8_CSB_ENTRIES). After reset the
 * write pointer is 5 (the last entry): the first event lands in entry 0. */
#define GEN8_CSB_ENTRIES 6
#define GEN8_CSB_WRITE_PTR_MASK 0x7u
#define GEN8_CSB_READ_PTR_SHIFT 8
#define GEN8_CSB_READ_PTR_MASK (0x7u << 8)

/* Context status (CSB) entry, low dword (i915 intel_lrc.c GEN8_CTX_STATUS_*);
 * the high dword is the context ID (upper dword of the descriptor). */
#define GEN8_CTX_STATUS_IDLE_ACTIVE (1u << 0)
#define GEN8_CTX_STATUS_PREEMPTED (1u << 1)
#define GEN8_CTX_STATUS_ELEMENT_SWITCH (1u << 2)
#define GEN8_CTX_STATUS_ACTIVE_IDLE (1u << 3)
#define GEN8_CTX_STATUS_COMPLETE (1u << 4)
#define GEN8_CTX_STATUS_LITE_RESTORE (1u << 15)
/* vgt model only: the context stopped on a GPU fault (bit 14 is reserved
 * in the gen8/9 CSB format; real hardware hangs and reports the fault
 * through GEN8_RING_FAULT_REG). */
#define VGT_CTX_STATUS_ERROR (1u << 14)

/* Hardware status page (HWS_PGA, a GGTT address): the CSB is mirrored at
 * dword I915_HWS_CSB_BUF0_INDEX 0x10, its write pointer at dword
 * I915_HWS_CSB_WRITE_INDEX 0x1f (i915 intel_engine_types.h). */
#define I915_HWS_CSB_BUF0_INDEX 0x10
#define I915_HWS_CSB_WRITE_INDEX 0x1f

/* Execlist context descriptor (i915 intel_lrc.c): bit 0 valid, bits 4:3
 * addressing mode (3 = 64-bit legacy, 4-level PPGTT: the only mode the
 * model runs), bit 8 privilege, bits 31:12 the LRCA (GGTT address of the
 * context), bits 63:32 the context ID reported in the CSB. */
#define GEN8_CTX_VALID (1u << 0)
#define GEN8_CTX_FORCE_PD_RESTORE (1u << 1)
#define GEN8_CTX_FORCE_RESTORE (1u << 2)
#define GEN8_CTX_ADDRESSING_MODE_SHIFT 3
#define GEN8_CTX_ADDRESSING_MODE_MASK (3u << 3)
#define INTEL_LEGACY_32B_CONTEXT 1
#define INTEL_LEGACY_64B_CONTEXT 3
#define GEN8_CTX_PRIVILEGE (1u << 8)
#define GEN8_CTX_LRCA_MASK 0xfffff000u

/* Logical ring context image: page 0 is the per-process HWSP, the register
 * state starts at page 1 (i915 LRC_STATE_PN). Dword indices of the values
 * in the register state (i915 gt/intel_lrc_reg.h, gen8 to gen11): each is
 * preceded by the register's offset, inside MI_LOAD_REGISTER_IMM lists. */
#define LRC_STATE_PN 1
#define CTX_LRI_HEADER_0 0x01
#define CTX_CONTEXT_CONTROL (0x02 + 1)
#define CTX_RING_HEAD (0x04 + 1)
#define CTX_RING_TAIL (0x06 + 1)
#define CTX_RING_START (0x08 + 1)
#define CTX_RING_CTL (0x0a + 1)
#define CTX_BB_HEAD_U (0x0c + 1)
#define CTX_BB_HEAD_L (0x0e + 1)
#define CTX_BB_STATE (0x10 + 1)
#define CTX_SECOND_BB_HEAD_U (0x12 + 1)
#define CTX_SECOND_BB_HEAD_L (0x14 + 1)
#define CTX_SECOND_BB_STATE (0x16 + 1)
#define CTX_LRI_HEADER_1 0x21
#define CTX_TIMESTAMP (0x22 + 1)
#define CTX_PDP3_UDW (0x24 + 1)
#define CTX_PDP3_LDW (0x26 + 1)
#define CTX_PDP2_UDW (0x28 + 1)
#define CTX_PDP2_LDW (0x2a + 1)
#define CTX_PDP1_UDW (0x2c + 1)
#define CTX_PDP1_LDW (0x2e + 1)
#define CTX_PDP0_UDW (0x30 + 1)
#define CTX_PDP0_LDW (0x32 + 1)
#define CTX_LRI_HEADER_2 0x41
#define CTX_REG_STATE_DWORDS 0x60 /* what the model reads and writes */
/* Engine state further in the image (i915 gt/intel_lrc.c
 * gen9_rcs_offsets / gen9_xcs_offsets): LRI(1) at 0x41 with RCS
 * R_PWR_CLK_STATE (base+0xc8) or, on the other engines, base+0x200
 * (BCS_SWCTRL on the blitter); after 13 NOOPs, LRI(44) at 0x51 with
 * base+0x28, 0x9c, 0xc0, 0x178, 0x17c, 0x358, 0x170, 0x150, 0x154, 0x158,
 * 0x41c, the 32 dwords of the CS GPRs (base+0x600..0x67c) and base+0x68. */
#define CTX_LRI_HEADER_3 0x51
#define CTX_ENGINE_STATE_DWORDS 0xaa
/* BB_STATE (RING_BBSTATE): bit 5 the batch is in the PPGTT (i915
 * RING_BB_PPGTT). vgt model: bit 0 says a batch at that level was in
 * progress when the context was preempted, so a restore resumes it at
 * BB_HEAD (reserved on hardware, which keeps this in hidden state). */
#define RING_BB_PPGTT (1u << 5)
#define VGT_BB_STATE_ACTIVE (1u << 0)

/* GT interrupts (i915 i915_reg.h, gen8+): master control and four GT
 * banks of ISR/IMR/IIR/IER. Bank 0: RCS bits 15:0, BCS bits 31:16;
 * bank 1: VCS0 bits 15:0; bank 3: VECS. */
#define GEN8_MASTER_IRQ 0x44200u
#define GEN8_MASTER_IRQ_CONTROL (1u << 31)
#define GEN8_GT_RCS_IRQ (1u << 0)
#define GEN8_GT_BCS_IRQ (1u << 1)
#define GEN8_GT_VCS0_IRQ (1u << 2)
#define GEN8_GT_VECS_IRQ (1u << 6)
#define GEN8_GT_ISR(which) (0x44300u + 0x10u * (which))
#define GEN8_GT_IMR(which) (0x44304u + 0x10u * (which))
#define GEN8_GT_IIR(which) (0x44308u + 0x10u * (which))
#define GEN8_GT_IER(which) (0x4430cu + 0x10u * (which))
#define GEN8_RCS_IRQ_SHIFT 0
#define GEN8_BCS_IRQ_SHIFT 16
#define GEN8_VCS0_IRQ_SHIFT 0
#define GEN8_VECS_IRQ_SHIFT 0 /* in bank 3 (i915 6.1 i915_reg.h, gen8_gt_irq_handler) */
/* Per-engine bits (i915 GT_RENDER_USER_INTERRUPT, GT_CS_MASTER_ERROR_INTERRUPT,
 * GT_CONTEXT_SWITCH_INTERRUPT). The model raises the master-error bit for
 * GPU page faults and bad commands. */
#define GT_RENDER_USER_INTERRUPT (1u << 0)
#define GT_CS_MASTER_ERROR_INTERRUPT (1u << 3)
#define GT_CONTEXT_SWITCH_INTERRUPT (1u << 8)

/* GPU fault reporting (i915 i915_reg.h / intel_gt_regs.h):
 * GEN8_RING_FAULT_REG: bit 0 valid, bits 2:1 fault type, bit 11 GTT
 * select (1 = GGTT), bits 14:12 engine id. The faulting address is in
 * GEN8_FAULT_TLB_DATA0 (VA bits 43:12) and GEN8_FAULT_TLB_DATA1 bits 3:0
 * (VA bits 47:44), bit 4 GGTT. */
#define GEN8_RING_FAULT_REG 0x4094u
#define RING_FAULT_VALID (1u << 0)
#define RING_FAULT_TYPE_SHIFT 1
#define RING_FAULT_GTTSEL (1u << 11)
#define RING_FAULT_ENGINE_SHIFT 12
#define GEN8_FAULT_TLB_DATA0 0x4b10u
#define GEN8_FAULT_TLB_DATA1 0x4b14u
#define FAULT_VA_HIGH_BITS 0xfu
#define FAULT_GTT_SEL (1u << 4)
/* Fault types the model reports in RING_FAULT_REG bits 2:1 (PRM: 0 page
 * not present, 1 write to read-only, 2 ... ; vgt uses 3 for a bad command). */
#define VGT_FAULT_NOT_PRESENT 0
#define VGT_FAULT_WRITE_RO 1
#define VGT_FAULT_BAD_COMMAND 3

/* Whole-GT and per-engine domain reset (i915 i915_reg.h / intel_gt_regs.h
 * GEN6_GDRST, GEN6_GRDOM_*): software writes the domain bits, the
 * hardware clears each when that domain's reset is done
 * (intel_reset.c gen6_hw_domain_reset polls for it). */
#define GEN6_GDRST 0x941cu
#define GEN6_GRDOM_FULL (1u << 0)
#define GEN6_GRDOM_RENDER (1u << 1)
#define GEN6_GRDOM_MEDIA (1u << 2)
#define GEN6_GRDOM_BLT (1u << 3)
#define GEN6_GRDOM_VECS (1u << 4)

/* Render control (i915): GFX_MODE 0x2520 (RCS RING_MODE is 0x229c). */
#define GEN9_GFX_MODE 0x2520u
/* GGTT TLB flush (i915 GFX_FLSH_CNTL_GEN6). */
#define GFX_FLSH_CNTL_GEN6 0x101008u
/* Fence registers (i915 FENCE_REG_GEN6_LO(i) 0x100000 + 8i), 32 on gen9. */
#define GEN9_FENCE_BASE 0x100000u
#define GEN9_NUM_FENCES 32

/* Display, pipe A plane 1 (i915 _PLANE_CTL_1_A etc.). PLANE_CTL bit 31
 * enable, bits 27:24 format (4 = XRGB 8888); PLANE_STRIDE in 64-byte units
 * for linear surfaces; PLANE_SIZE (height-1) << 16 | (width-1);
 * PLANE_SURF a GGTT address, bits 31:12. */
#define PLANE_CTL_1_A 0x70180u
#define PLANE_STRIDE_1_A 0x70188u
#define PLANE_POS_1_A 0x7018cu
#define PLANE_SIZE_1_A 0x70190u
#define PLANE_SURF_1_A 0x7019cu
#define PLANE_OFFSET_1_A 0x701a4u
#define PLANE_CTL_ENABLE (1u << 31)
#define PLANE_CTL_FORMAT_MASK (0xfu << 24)
#define PLANE_CTL_FORMAT_XRGB_8888 (4u << 24)

/* Command streamer timestamp: 12 MHz on SKL GT2 (i915 gen9
 * cs_timestamp_frequency for non-LP parts). */
#define GEN9_CS_TIMESTAMP_HZ 12000000ull

#endif

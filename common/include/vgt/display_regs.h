/* Skylake display engine registers, as i915 programs them.
 *
 * Shared by the vGPU's display emulation (mediator/display.c), the
 * simulated guest driver (sim/guest/display.c) and the host-side plane
 * reader. Offsets and bits are from Linux i915: i915_reg.h,
 * display/intel_display_reg_defs.h, display/skl_universal_plane_regs.h,
 * display/intel_dp_aux_regs.h, display/intel_gmbus_regs.h,
 * display/intel_dpll_mgr.c (SKL DPLLs) and display/intel_display_power
 * (power wells); DP AUX and DPCD from the DisplayPort 1.2 spec as
 * include/drm/display/drm_dp.h names them. Pipe, transcoder and port
 * numbers follow i915: pipe A=0..C=2, port A=0..E=4. */
#ifndef VGT_DISPLAY_REGS_H
#define VGT_DISPLAY_REGS_H

#define VGT_MAX_PIPES 3u  /* Skylake: pipes A, B, C */
#define VGT_MAX_HEADS 3u  /* one head per pipe */
#define VGT_PIPE_STRIDE 0x1000u

/* ---- transcoder (i915_reg.h _HTOTAL_A..., TRANS_DDI_FUNC_CTL) ---- */
#define TRANS_HTOTAL(p) (0x60000u + VGT_PIPE_STRIDE * (p))
#define TRANS_HBLANK(p) (0x60004u + VGT_PIPE_STRIDE * (p))
#define TRANS_HSYNC(p) (0x60008u + VGT_PIPE_STRIDE * (p))
#define TRANS_VTOTAL(p) (0x6000Cu + VGT_PIPE_STRIDE * (p))
#define TRANS_VBLANK(p) (0x60010u + VGT_PIPE_STRIDE * (p))
#define TRANS_VSYNC(p) (0x60014u + VGT_PIPE_STRIDE * (p))
#define PIPESRC(p) (0x6001Cu + VGT_PIPE_STRIDE * (p))
#define TRANS_VSYNCSHIFT(p) (0x60028u + VGT_PIPE_STRIDE * (p))
#define PIPE_DATA_M1(p) (0x60030u + VGT_PIPE_STRIDE * (p))
#define PIPE_DATA_N1(p) (0x60034u + VGT_PIPE_STRIDE * (p))
#define PIPE_LINK_M1(p) (0x60040u + VGT_PIPE_STRIDE * (p))
#define PIPE_LINK_N1(p) (0x60044u + VGT_PIPE_STRIDE * (p))
#define TRANS_DDI_FUNC_CTL(p) (0x60400u + VGT_PIPE_STRIDE * (p))
#define TRANS_MSA_MISC(p) (0x60410u + VGT_PIPE_STRIDE * (p))
/* HTOTAL/VTOTAL: total-1 in 28:16, active-1 in 12:0; PIPESRC: (w-1) << 16
 * | (h-1). The 0x1fff masks are i915's. */
#define TRANS_TOTAL(v) ((((v) >> 16) & 0x1fffu) + 1u)
#define TRANS_ACTIVE(v) (((v) & 0x1fffu) + 1u)
#define TRANS_DDI_FUNC_ENABLE (1u << 31)
#define TRANS_DDI_PORT_SHIFT 28
#define TRANS_DDI_PORT_MASK (7u << 28)
#define TRANS_DDI_MODE_SELECT_DP_SST (2u << 24)
#define PIPE_LINK_MN_MASK 0xffffffu

/* ---- pipe (PIPECONF, frame/flip counters, scanline) ---- */
#define PIPEDSL(p) (0x70000u + VGT_PIPE_STRIDE * (p))
#define PIPECONF(p) (0x70008u + VGT_PIPE_STRIDE * (p))
#define PIPE_FRMCOUNT(p) (0x70040u + VGT_PIPE_STRIDE * (p)) /* PIPE_FRMCOUNT_G4X */
#define PIPE_FLIPCOUNT(p) (0x70044u + VGT_PIPE_STRIDE * (p)) /* PIPE_FLIPCOUNT_G4X */
#define PIPECONF_ENABLE (1u << 31)
#define PIPECONF_STATE_ENABLE (1u << 30)

/* ---- cursor (i915_reg.h CURCNTR/CURBASE/CURPOS/CURSURFLIVE, IVB+) ---- */
#define CUR_CTL(p) (0x70080u + VGT_PIPE_STRIDE * (p))
#define CUR_BASE(p) (0x70084u + VGT_PIPE_STRIDE * (p))
#define CUR_POS(p) (0x70088u + VGT_PIPE_STRIDE * (p))
#define CUR_SURFLIVE(p) (0x700ACu + VGT_PIPE_STRIDE * (p))
#define CUR_WM(p, l) (0x70140u + VGT_PIPE_STRIDE * (p) + 4u * (l))
#define CUR_WM_TRANS(p) (0x70168u + VGT_PIPE_STRIDE * (p))
#define CUR_BUF_CFG(p) (0x7017Cu + VGT_PIPE_STRIDE * (p))
#define MCURSOR_MODE_MASK 0x27u
#define MCURSOR_MODE_DISABLE 0x00u
#define MCURSOR_MODE_64_ARGB_AX 0x27u
#define MCURSOR_MODE_128_ARGB_AX 0x22u
#define MCURSOR_MODE_256_ARGB_AX 0x23u
#define CURSOR_POS_Y_SIGN (1u << 31)
#define CURSOR_POS_X_SIGN (1u << 15)

/* ---- plane 1 (skl_universal_plane_regs.h _PLANE_*_1_A) ---- */
#define PLANE_CTL(p) (0x70180u + VGT_PIPE_STRIDE * (p))
#define PLANE_STRIDE(p) (0x70188u + VGT_PIPE_STRIDE * (p))
#define PLANE_POS(p) (0x7018Cu + VGT_PIPE_STRIDE * (p))
#define PLANE_SIZE(p) (0x70190u + VGT_PIPE_STRIDE * (p))
#define PLANE_KEYVAL(p) (0x70194u + VGT_PIPE_STRIDE * (p))
#define PLANE_KEYMSK(p) (0x70198u + VGT_PIPE_STRIDE * (p))
#define PLANE_SURF(p) (0x7019Cu + VGT_PIPE_STRIDE * (p))
#define PLANE_KEYMAX(p) (0x701A0u + VGT_PIPE_STRIDE * (p))
#define PLANE_OFFSET(p) (0x701A4u + VGT_PIPE_STRIDE * (p))
#define PLANE_SURFLIVE(p) (0x701ACu + VGT_PIPE_STRIDE * (p))
#define PLANE_AUX_DIST(p) (0x701C0u + VGT_PIPE_STRIDE * (p))
#define PLANE_AUX_OFFSET(p) (0x701C4u + VGT_PIPE_STRIDE * (p))
#define PLANE_WM(p, l) (0x70240u + VGT_PIPE_STRIDE * (p) + 4u * (l))
#define PLANE_WM_TRANS(p) (0x70268u + VGT_PIPE_STRIDE * (p))
#define PLANE_NV12_BUF_CFG(p) (0x70278u + VGT_PIPE_STRIDE * (p))
#define PLANE_BUF_CFG(p) (0x7027Cu + VGT_PIPE_STRIDE * (p))
#define PLANE_CTL_ENABLE (1u << 31)
#define PLANE_CTL_FORMAT_MASK (0xfu << 24)
#define PLANE_CTL_FORMAT_XRGB_2101010 (2u << 24)
#define PLANE_CTL_FORMAT_XRGB_8888 (4u << 24)
#define PLANE_CTL_FORMAT_RGB_565 (14u << 24)
#define PLANE_CTL_ORDER_RGBX (1u << 20)
#define PLANE_CTL_TILED_MASK (7u << 10)
#define PLANE_CTL_TILED_LINEAR (0u << 10)
#define PLANE_CTL_TILED_X (1u << 10)
#define PLANE_CTL_TILED_Y (4u << 10)
#define PLANE_CTL_ALPHA_MASK (3u << 4)
#define PLANE_CTL_ALPHA_SW_PREMULTIPLY (2u << 4)
#define PLANE_CTL_ALPHA_HW_PREMULTIPLY (3u << 4)
#define PLANE_CTL_ROTATE_MASK 3u
#define PLANE_SURF_ADDR_MASK 0xfffff000u
/* PLANE_STRIDE units: 64 bytes linear, one tile row (512 bytes X, 128
 * bytes Y) tiled (i915 skl_plane_stride / intel_fb_stride_alignment). */
#define PLANE_STRIDE_MASK 0x7ffu
/* The same register of universal plane @i (0 = plane 1, 1 = plane 2 ...):
 * planes are 0x100 apart (i915_reg.h _PLANE_CTL_1_A 0x70180, _2_A
 * 0x70280, _3_A 0x70380). Skylake has planes 1-3 on pipes A and B and
 * planes 1-2 on pipe C; i915 6.1 drives planes 1-2 on each pipe
 * (intel_device_info.c runtime num_sprites = 1: the topmost plane is
 * left unexposed, as it is shared with the cursor). */
#define VGT_PLANE_STRIDE 0x100u
#define PLANE_N(reg, i) ((reg) + VGT_PLANE_STRIDE * (i))

/* ---- watermarks and DBUF (i915_reg.h) ---- */
#define WM_LINETIME(p) (0x45270u + 4u * (p))
#define DBUF_CTL 0x45008u
#define DBUF_POWER_REQUEST (1u << 31)
#define DBUF_POWER_STATE (1u << 30)

/* ---- power wells, fuses, clocks, DPLLs (SKL) ---- */
#define SKL_FUSE_STATUS 0x42000u
#define SKL_FUSE_DOWNLOAD_STATUS (1u << 31)
#define SKL_FUSE_PG_DIST_STATUS(pg) (1u << (27 - (pg)))
#define HSW_PWR_WELL_CTL1 0x45400u /* BIOS */
#define HSW_PWR_WELL_CTL2 0x45404u /* driver */
#define HSW_PWR_WELL_CTL3 0x45408u /* KVMR */
#define HSW_PWR_WELL_CTL4 0x4540Cu /* debug */
/* HSW_PWR_WELL_CTL_REQ(i) = 2 << 2i, _STATE(i) = 1 << 2i */
#define PWR_WELL_REQ_BITS 0xaaaaaaaau
#define CDCLK_CTL 0x46000u
#define LCPLL1_CTL 0x46010u
#define LCPLL2_CTL 0x46014u
#define WRPLL_CTL1 0x46040u
#define WRPLL_CTL2 0x46060u
#define LCPLL_PLL_ENABLE (1u << 31)
#define LCPLL_PLL_LOCK (1u << 30)
#define DPLL_CTRL1 0x6C058u
#define DPLL_CTRL2 0x6C05Cu
#define PCH_RAWCLK_FREQ 0xC6204u /* i915_reg.h */
/* MCHBAR mirror (MCHBAR_MIRROR_BASE_SNB 0x140000, i915 intel_mchbar_regs.h) */
#define SKL_MAD_INTER_CHANNEL 0x145000u
#define SKL_MAD_DIMM_CH0 0x14500Cu
#define SKL_MAD_DIMM_CH1 0x145010u
#define SKL_MC_BIOS_DATA 0x145E04u /* also DCLK */
#define SKL_DRAM_DDR_TYPE_DDR4 0u
#define SKL_DRAM_RANK_2 (1u << 10)
#define DPLL_STATUS 0x6C060u
#define DPLL_LOCK(id) (1u << ((id) * 8))

/* ---- display init: fuses, DC states, chicken bits, VGA, audio ----
 * (i915_reg.h; display/intel_audio_regs.h for AUD_FREQ_CNTRL) */
#define SKL_DFSM 0x51000u             /* display fuses: pipes, CDCLK limit, HDCP, PM */
#define DC_STATE_EN 0x45504u          /* gen9_set_dc_state, gen9_sanitize_dc_state */
#define HSW_NDE_RSTWRN_OPT 0x46408u   /* intel_pch_reset_handshake */
#define CHICKEN_PAR1_1 0x42080u       /* gen9/skl_init_clock_gating */
#define ILK_DPFC_CHICKEN_A 0x43224u   /* skl_init_clock_gating (FBC A) */
#define DISP_ARB_CTL 0x45000u         /* skl_init_clock_gating */
#define DISP_ARB_CTL2 0x45004u        /* skl_watermark_ipc_update (IPC off on SKL) */
#define DISP_IPC_ENABLE (1u << 3)
#define GEN8_CHICKEN_DCPR_1 0x46430u  /* gen9_init_clock_gating */
#define CPU_VGACNTRL 0x41000u         /* intel_vga_disable / intel_vga_redisable */
#define VGA_DISP_DISABLE (1u << 31)
#define AUD_FREQ_CNTRL 0x65900u       /* i915_audio_component_init (display 9+) */
/* Transcoder EDP (i915_reg.h TRANSCODER_EDP_OFFSET 0x6f000): its
 * TRANS_DDI_FUNC_CTL is read for every pipe by hsw_enabled_transcoders. */
#define TRANS_DDI_FUNC_CTL_EDP 0x6F400u
#define PIPECONF_EDP 0x7F008u
/* SHOTPLUG_CTL2 (SPT+): port E enable bit 4, sticky status bits 1:0
 * (spt_hpd_detection_setup). */
#define PCH_PORT_HOTPLUG2 0xC403Cu
#define PORTE_HOTPLUG_STATUS_MASK 3u

/* ---- a modeset's pipe, color, scaler and port registers (i915_reg.h;
 * hsw_crtc_enable and the encoder hooks it calls, read back by
 * hsw_get_pipe_config for the state checker) ---- */
#define PIPEMISC(p) (0x70030u + VGT_PIPE_STRIDE * (p))         /* bdw_set_pipemisc */
#define SKL_BOTTOM_COLOR(p) (0x70034u + VGT_PIPE_STRIDE * (p)) /* skl_color_commit_arm */
#define CUR_FBC_CTL(p) (0x700A0u + VGT_PIPE_STRIDE * (p))      /* i9xx_cursor_update_arm */
#define GAMMA_MODE(p) (0x4A480u + 0x800u * (p))
/* Gamma: the legacy 256-entry palette, and the precision palette, 1024
 * 10:10:10 entries reached through an index (bits 9:0) that DATA
 * accesses advance when AUTO_INCREMENT is set (i915_reg.h
 * _LGC_PALETTE_A, _PAL_PREC_*; intel_color.c bdw_load_lut_10,
 * bdw_read_lut_10). */
#define LGC_PALETTE(p, i) (0x4A000u + 0x800u * (p) + 4u * (i))
#define PREC_PAL_INDEX(p) (0x4A400u + 0x800u * (p))
#define PREC_PAL_DATA(p) (0x4A404u + 0x800u * (p))
#define PREC_PAL_GC_MAX(p, i) (0x4A410u + 0x800u * (p) + 4u * (i))
#define PREC_PAL_EXT_GC_MAX(p, i) (0x4A420u + 0x800u * (p) + 4u * (i))
#define PAL_PREC_SPLIT_MODE (1u << 31)
#define PAL_PREC_AUTO_INCREMENT (1u << 15)
#define PAL_PREC_INDEX_VALUE_MASK 0x3ffu
#define PAL_PREC_ENTRIES 1024u
#define PAL_PREC_DATA_MASK 0x3fffffffu
#define PIPE_CSC_COEFF_RY_GY(p) (0x49010u + 0x100u * (p)) /* .. CSC_MODE 0x28 .. POSTOFF_LO 0x48 */
#define PIPE_CSC_BLOCK 0x40u
#define PIPE_CSC_MODE(p) (0x49028u + 0x100u * (p))
/* SKL pipe scalers: two on pipes A and B, one on C (intel_device_info.c
 * num_scalers); PS_PWR_GATE at +0x00 .. PS_ECC_STAT at +0x70 of each. */
#define SKL_PS_BASE(p, s) (0x68160u + 0x800u * (p) + 0x100u * (s))
#define SKL_PS_CTRL(p, s) (SKL_PS_BASE(p, s) + 0x20u)
#define SKL_PS_BLOCK 0x80u
#define CHICKEN_TRANS(t) (0x420C0u + 4u * (t)) /* A, B, C, EDP: hsw_set_frame_start_delay */
#define TRANS_CLK_SEL(t) (0x46140u + 4u * (t)) /* A..C: intel_ddi_enable_pipe_clock */
/* DDI buffer translations, ports A..E, 0x60 apart, up to 10 LO/HI pairs
 * (intel_ddi_buf_trans.c, hsw_prepare_dp_ddi_buffers). */
#define DDI_BUF_TRANS_LO(port, i) (0x64E00u + 0x60u * (port) + 8u * (i))
#define DDI_BUF_TRANS_BLOCK (0x60u * 5u)
#define DISPIO_CR_TX_BMU_CR0 0x6C00Cu /* skl_ddi_set_iboost */
/* DPLL1..3 configuration (skl_ddi_pll_enable writes both of each). */
#define DPLL_CFGCR1(id) (0x6C040u + 8u * ((id) - 1u))
#define DPLL_CFGCR2(id) (0x6C044u + 8u * ((id) - 1u))

/* ---- DDI ports (port A=0 .. E=4) ---- */
#define VGT_MAX_PORTS 5u
#define DDI_BUF_CTL(port) (0x64000u + 0x100u * (port))
#define DP_AUX_CH_CTL(port) (0x64010u + 0x100u * (port))
#define DP_AUX_CH_DATA(port, i) (0x64014u + 0x100u * (port) + 4u * (i))
#define DP_TP_CTL(port) (0x64040u + 0x100u * (port))
#define DP_TP_STATUS(port) (0x64044u + 0x100u * (port))
#define DDI_BUF_CTL_ENABLE (1u << 31)
#define DDI_BUF_IS_IDLE (1u << 7)
#define DDI_PORT_WIDTH(lanes) (((lanes) - 1u) << 1)
#define DP_TP_CTL_ENABLE (1u << 31)
#define DP_TP_CTL_ENHANCED_FRAME_ENABLE (1u << 18)
#define DP_TP_CTL_LINK_TRAIN_PAT1 (0u << 8)
#define DP_TP_CTL_LINK_TRAIN_PAT2 (1u << 8)
#define DP_TP_CTL_LINK_TRAIN_IDLE (2u << 8)
#define DP_TP_CTL_LINK_TRAIN_NORMAL (3u << 8)
#define DP_TP_CTL_LINK_TRAIN_MASK (7u << 8)
#define TRANS_DDI_PORT_WIDTH(lanes) (((lanes) - 1u) << 1)
#define TU_SIZE(t) (((t) - 1u) << 25)
/* DPLL_CTRL1/2 (SKL, i915_reg.h): per DPLL id a 6-bit field; per port a
 * 3-bit field. Link rate code 0 = 2700 MHz (DP HBR2). */
#define DPLL_CTRL1_OVERRIDE(id) (1u << ((id) * 6))
#define DPLL_CTRL1_LINK_RATE(rate, id) ((rate) << ((id) * 6 + 1))
#define DPLL_CTRL1_LINK_RATE_2700 0u
#define DPLL_CTRL2_DDI_CLK_OFF(port) (1u << ((port) + 15))
#define DPLL_CTRL2_DDI_CLK_SEL(clk, port) ((clk) << ((port) * 3 + 1))
#define DPLL_CTRL2_DDI_SEL_OVERRIDE(port) (1u << ((port) * 3))
/* SKL power well indices (i915 SKL_PW_CTL_IDX_*): misc IO 1, DDI A/E 2,
 * DDI B..D 3..5, PW1 14, PW2 15. */
#define SKL_PW_CTL_IDX_MISC_IO 1u
#define SKL_PW_CTL_IDX_DDI_A_E 2u
#define SKL_PW_CTL_IDX_DDI_B 3u
#define SKL_PW_CTL_IDX_PW_1 14u
#define SKL_PW_CTL_IDX_PW_2 15u
#define HSW_PWR_WELL_CTL_REQ(i) (2u << ((i) * 2))
#define HSW_PWR_WELL_CTL_STATE(i) (1u << ((i) * 2))
/* PLANE_BUF_CFG / CUR_BUF_CFG: DDB end << 16 | start (blocks);
 * PLANE_WM level: enable, lines << 14, blocks. */
#define PLANE_WM_EN (1u << 31)
#define PLANE_WM_LINES_SHIFT 14
#define DP_TP_STATUS_IDLE_DONE (1u << 25)
/* A head's port: heads 0..2 are DDI B..D (GVT-g puts its monitors there
 * too). */
#define VGT_HEAD_PORT(h) ((h) + 1u)

/* ---- DP AUX channel (intel_dp_aux_regs.h; messages per DP 1.2 2.7) ---- */
#define DP_AUX_CH_CTL_SEND_BUSY (1u << 31)
#define DP_AUX_CH_CTL_DONE (1u << 30)
#define DP_AUX_CH_CTL_INTERRUPT (1u << 29)
#define DP_AUX_CH_CTL_TIME_OUT_ERROR (1u << 28)
#define DP_AUX_CH_CTL_RECEIVE_ERROR (1u << 25)
#define DP_AUX_CH_CTL_MESSAGE_SIZE_SHIFT 20
#define DP_AUX_CH_CTL_MESSAGE_SIZE_MASK (0x1fu << 20)
#define DP_AUX_MAX_MSG 20u
#define DP_AUX_I2C_WRITE 0x0u
#define DP_AUX_I2C_READ 0x1u
#define DP_AUX_I2C_WRITE_STATUS_UPDATE 0x2u
#define DP_AUX_I2C_MOT 0x4u
#define DP_AUX_NATIVE_WRITE 0x8u
#define DP_AUX_NATIVE_READ 0x9u
#define DP_AUX_NATIVE_REPLY_ACK 0x00u
#define DP_AUX_NATIVE_REPLY_NACK 0x10u
#define DP_AUX_I2C_REPLY_ACK 0x00u
#define DP_AUX_I2C_REPLY_NACK 0x40u
/* DPCD addresses (drm_dp.h) */
#define DP_DPCD_REV 0x000u
#define DP_MAX_LINK_RATE 0x001u
#define DP_MAX_LANE_COUNT 0x002u
#define DP_LINK_BW_SET 0x100u
#define DP_LANE_COUNT_SET 0x101u
#define DP_TRAINING_PATTERN_SET 0x102u
#define DP_SINK_COUNT 0x200u
#define DP_LANE0_1_STATUS 0x202u
#define DP_LANE2_3_STATUS 0x203u
#define DP_LANE_ALIGN_STATUS_UPDATED 0x204u
#define DP_SET_POWER 0x600u
#define DP_LINK_BW_SYMBOL_KHZ 27000u /* LINK_BW_SET unit: 0.27 Gbps = 27 MHz symbols */
#define DDC_ADDR 0x50u               /* EDID EEPROM (VESA E-DDC) */
#define DDC_SEGMENT_ADDR 0x30u

/* ---- GMBUS (intel_gmbus_regs.h; PCH display base 0xc0000) ---- */
#define PCH_GMBUS0 0xC5100u
#define PCH_GMBUS1 0xC5104u
#define PCH_GMBUS2 0xC5108u
#define PCH_GMBUS3 0xC510Cu
#define PCH_GMBUS4 0xC5110u
#define PCH_GMBUS5 0xC5120u
#define GMBUS_PIN_MASK 7u
#define GMBUS_PIN_DPC 4u /* gmbus_pins_skl */
#define GMBUS_PIN_DPB 5u
#define GMBUS_PIN_DPD 6u
#define GMBUS_SW_CLR_INT (1u << 31)
#define GMBUS_SW_RDY (1u << 30)
#define GMBUS_ENT (1u << 29)
#define GMBUS_CYCLE_MASK (7u << 25)
#define GMBUS_CYCLE_WAIT (1u << 25)
#define GMBUS_CYCLE_INDEX (2u << 25)
#define GMBUS_CYCLE_STOP (4u << 25)
#define GMBUS_BYTE_COUNT_SHIFT 16
#define GMBUS_BYTE_COUNT_MASK 0x1ffu
#define GMBUS_SLAVE_INDEX_SHIFT 8
#define GMBUS_SLAVE_ADDR_SHIFT 1
#define GMBUS_SLAVE_READ (1u << 0)
#define GMBUS_INUSE (1u << 15)
#define GMBUS_HW_WAIT_PHASE (1u << 14)
#define GMBUS_STALL_TIMEOUT (1u << 13)
#define GMBUS_INT (1u << 12)
#define GMBUS_HW_RDY (1u << 11)
#define GMBUS_SATOER (1u << 10)
#define GMBUS_ACTIVE (1u << 9)

/* ---- display interrupts (i915_reg.h GEN8_DE_*, SDE*) ---- */
#define GEN8_DE_PIPE_ISR(p) (0x44400u + 0x10u * (p))
#define GEN8_DE_PIPE_IMR(p) (0x44404u + 0x10u * (p))
#define GEN8_DE_PIPE_IIR(p) (0x44408u + 0x10u * (p))
#define GEN8_DE_PIPE_IER(p) (0x4440Cu + 0x10u * (p))
#define GEN8_PIPE_VBLANK (1u << 0)
#define GEN9_PIPE_PLANE1_FLIP_DONE (1u << 3)
#define GEN8_DE_PORT_ISR 0x44440u
#define GEN8_DE_PORT_IMR 0x44444u
#define GEN8_DE_PORT_IIR 0x44448u
#define GEN8_DE_PORT_IER 0x4444Cu
#define GEN9_AUX_CHANNEL_B (1u << 25) /* C: 26, D: 27 */
#define GEN9_AUX_CHANNEL_BIT(port) (1u << (24 + (port)))
#define GEN8_DE_MISC_ISR 0x44460u
#define GEN8_DE_MISC_IMR 0x44464u
#define GEN8_DE_MISC_IIR 0x44468u
#define GEN8_DE_MISC_IER 0x4446Cu
#define GEN8_DE_PIPE_IRQ(p) (1u << (16 + (p))) /* in GEN8_MASTER_IRQ */
#define GEN8_DE_PORT_IRQ (1u << 20)
#define GEN8_DE_MISC_IRQ (1u << 22)
#define GEN8_DE_PCH_IRQ (1u << 23)
#define SDEISR 0xC4000u
#define SDEIMR 0xC4004u
#define SDEIIR 0xC4008u
#define SDEIER 0xC400Cu
#define SDE_GMBUS_CPT (1u << 17)
#define SDE_PORT_HOTPLUG_CPT(port) (1u << (20 + (port))) /* B: 21, C: 22, D: 23 */
#define PCH_PORT_HOTPLUG 0xC4030u /* SHOTPLUG_CTL */
/* Port B..D: enable at 4 + 8(port-1), status (2 bits) at 8(port-1);
 * PORTx_HOTPLUG_LONG_DETECT is status 2. Status bits are sticky, write
 * one to clear. */
#define PORT_HOTPLUG_ENABLE(port) (1u << (4 + 8 * ((port) - 1)))
#define PORT_HOTPLUG_STATUS_MASK(port) (3u << (8 * ((port) - 1)))
#define PORT_HOTPLUG_LONG_DETECT(port) (2u << (8 * ((port) - 1)))
/* PSR interrupts (i915_reg.h EDP_PSR_IMR/IIR): reset by
 * gen8_display_irq_reset, IIR must then read 0 (gen3_assert_iir_is_zero
 * in gen8_de_irq_postinstall). */
#define EDP_PSR_IMR 0x64834u
#define EDP_PSR_IIR 0x64838u
/* Software flag scratch registers SWF0..35 (i915_reg.h SWF_ILK(i),
 * 0x4F000 + 4i; gvt intel_gvt_mmio_table.c keeps 0x4f000..0x4f08f).
 * SWF18 (0x4F060) is set by a pre-OS that lit the display:
 * skl_sanitize_cdclk reads it. */
#define SWF_ILK(i) (0x4F000u + 4u * (i))
#define SWF_ILK_COUNT 36u
#define SFUSE_STRAP 0xC2014u
#define SFUSE_STRAP_DDI_DETECTED(port) (1u << (3 - (port))) /* B: 2, C: 1, D: 0 */

/* ---- pcode mailbox (i915_reg.h GEN6_PCODE_*; skl_set_cdclk) ---- */
#define GEN6_PCODE_MAILBOX 0x138124u
#define GEN6_PCODE_DATA 0x138128u
#define GEN6_PCODE_DATA1 0x13812Cu
#define GEN6_PCODE_READY (1u << 31)
#define GEN6_PCODE_ERROR_MASK 0xffu
#define GEN6_PCODE_MB_COMMAND 0xffu /* on the request; the status on completion */
#define GEN6_PCODE_SUCCESS 0x0u
#define GEN6_PCODE_ILLEGAL_CMD 0x1u  /* i915 gen7_check_mailbox_status: -ENXIO */
#define GEN7_PCODE_ILLEGAL_DATA 0x3u /* -EINVAL */
#define GEN9_PCODE_READ_MEM_LATENCY 0x6u
#define SKL_PCODE_CDCLK_CONTROL 0x7u
#define SKL_CDCLK_PREPARE_FOR_CHANGE 0x3u
#define SKL_CDCLK_READY_FOR_CHANGE 0x1u
#define GEN6_PCODE_WRITE_MIN_FREQ_TABLE 0x8u
#define HSW_PCODE_DYNAMIC_DUTY_CYCLE_CONTROL 0x1Au
#define GEN9_PCODE_SAGV_CONTROL 0x21u
#define GEN9_SAGV_DISABLE 0x0u
#define GEN9_SAGV_IS_DISABLED 0x1u
#define GEN9_SAGV_ENABLE 0x3u

#endif

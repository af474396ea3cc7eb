/* Intel VT-d (scalable mode) hardware definitions: registers, table entry
 * and descriptor layouts, fault reasons.
 *
 * Shared, like gen8_gtt.h, by the model (svm/) and by the guest-side
 * driver on the simulated platform (sim/guest/sva*.c), which stands for a
 * guest kernel with its own copy of these facts.
 *
 * Sources: ../shared/design/SVM.md (the facts the project models), the
 * Intel VT-d specification rev. 3.x/4.x ch. 9 (tables), 6.5 (invalidation),
 * 7.5 (page requests), 11 (registers); field positions cross-checked with
 * Linux include/linux/intel-iommu.h / drivers/iommu/intel/iommu.h and
 * QEMU hw/i386/intel_iommu_internal.h (facts only, no code). */
#ifndef VGT_VTD_H
#define VGT_VTD_H

#include <stdint.h>

/* ---- Register offsets (VT-d spec ch. 11; SVM.md) ---- */
#define VTD_REG_VER 0x00     /* 32 */
#define VTD_REG_CAP 0x08     /* 64 */
#define VTD_REG_ECAP 0x10    /* 64 */
#define VTD_REG_GCMD 0x18    /* 32 */
#define VTD_REG_GSTS 0x1C    /* 32 */
#define VTD_REG_RTADDR 0x20  /* 64 */
#define VTD_REG_CCMD 0x28    /* 64 */
#define VTD_REG_FSTS 0x34    /* 32 */
#define VTD_REG_FECTL 0x38   /* 32 */
#define VTD_REG_FEDATA 0x3C  /* 32 */
#define VTD_REG_FEADDR 0x40  /* 32 */
#define VTD_REG_FEUADDR 0x44 /* 32 */
#define VTD_REG_AFLOG 0x58   /* 64 */
#define VTD_REG_PMEN 0x64    /* 32 */
#define VTD_REG_IQH 0x80     /* 64 */
#define VTD_REG_IQT 0x88     /* 64 */
#define VTD_REG_IQA 0x90     /* 64 */
#define VTD_REG_ICS 0x9C     /* 32 */
#define VTD_REG_IECTL 0xA0   /* 32 */
#define VTD_REG_IEDATA 0xA4  /* 32 */
#define VTD_REG_IEADDR 0xA8  /* 32 */
#define VTD_REG_IEUADDR 0xAC /* 32 */
#define VTD_REG_IQERCD 0xB0  /* 64 */
#define VTD_REG_PQH 0xC0     /* 64 */
#define VTD_REG_PQT 0xC8     /* 64 */
#define VTD_REG_PQA 0xD0     /* 64 */
#define VTD_REG_PRS 0xDC     /* 32 */
#define VTD_REG_PECTL 0xE0   /* 32 */
#define VTD_REG_PEDATA 0xE4  /* 32 */
#define VTD_REG_PEADDR 0xE8  /* 32 */
#define VTD_REG_PEUADDR 0xEC /* 32 */

/* The model places the fault recording registers at CAP.FRO*16 = 0x400
 * and the IOTLB registers at ECAP.IRO*16 = 0x500 (IVA +0, IOTLB +8). */
#define VTD_MODEL_FRO 0x400
#define VTD_MODEL_NFR 8
#define VTD_MODEL_IRO 0x500
#define VTD_REG_BLOCK_SIZE 0x1000

/* CAP (VT-d 11.4.2) */
#define VTD_CAP_ND(x) ((uint64_t)(x) & 7)            /* 6: 64K domains */
#define VTD_CAP_CM (1ull << 7)
#define VTD_CAP_SAGAW(x) ((uint64_t)(x) << 8)        /* bit 2: 4-level, bit 3: 5-level */
#define VTD_CAP_MGAW(x) (((uint64_t)(x) - 1) << 16)
#define VTD_CAP_FRO(off) ((uint64_t)((off) / 16) << 24)
#define VTD_CAP_SLLPS(x) ((uint64_t)(x) << 34)       /* bit 0: 2M, bit 1: 1G */
#define VTD_CAP_PSI (1ull << 39)
#define VTD_CAP_NFR(n) ((uint64_t)((n) - 1) << 40)
#define VTD_CAP_MAMV(x) ((uint64_t)(x) << 48)
#define VTD_CAP_DWD (1ull << 54)
#define VTD_CAP_DRD (1ull << 55)
#define VTD_CAP_FL1GP (1ull << 56)
#define VTD_CAP_FL5LP (1ull << 60)
#define VTD_CAP_GET_FRO(c) ((((c) >> 24) & 0x3ff) * 16)
#define VTD_CAP_GET_NFR(c) ((((c) >> 40) & 0xff) + 1)

/* ECAP (VT-d 11.4.3; SVM.md lists the bits to advertise) */
#define VTD_ECAP_C (1ull << 0)
#define VTD_ECAP_QI (1ull << 1)
#define VTD_ECAP_DT (1ull << 2)
#define VTD_ECAP_PT (1ull << 6)
#define VTD_ECAP_SC (1ull << 7)
#define VTD_ECAP_IRO(off) ((uint64_t)((off) / 16) << 8)
#define VTD_ECAP_MHMV(x) ((uint64_t)(x) << 20)
#define VTD_ECAP_NEST (1ull << 26)
#define VTD_ECAP_PRS (1ull << 29)
#define VTD_ECAP_ERS (1ull << 30)
#define VTD_ECAP_SRS (1ull << 31)
#define VTD_ECAP_PSS(w) ((uint64_t)((w) - 1) << 35) /* PASID width - 1 */
#define VTD_ECAP_PASID (1ull << 40)
#define VTD_ECAP_PDS (1ull << 42)
#define VTD_ECAP_SMTS (1ull << 43)
#define VTD_ECAP_SLTS (1ull << 46)
#define VTD_ECAP_FLTS (1ull << 47)
#define VTD_ECAP_SMPWCS (1ull << 48)
#define VTD_ECAP_GET_IRO(e) ((((e) >> 8) & 0x3ff) * 16)
#define VTD_ECAP_GET_PSS(e) (((e) >> 35) & 0x1f)

/* GCMD / GSTS (11.4.4, 11.4.5): same bit positions in both. */
#define VTD_GCMD_TE (1u << 31)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_SFL (1u << 29)
#define VTD_GCMD_EAFL (1u << 28)
#define VTD_GCMD_WBF (1u << 27)
#define VTD_GCMD_QIE (1u << 26)
#define VTD_GCMD_IRE (1u << 25)
#define VTD_GCMD_SIRTP (1u << 24)
#define VTD_GCMD_CFI (1u << 23)
#define VTD_GSTS_TES VTD_GCMD_TE
#define VTD_GSTS_RTPS VTD_GCMD_SRTP
#define VTD_GSTS_QIES VTD_GCMD_QIE

/* RTADDR: table address 12-63; TTM 10-11 (00 legacy, 01 scalable; SVM.md:
 * bit 10 selects a scalable-mode root table). */
#define VTD_RTADDR_ADDR_MASK 0xfffffffffffff000ull
#define VTD_RTADDR_TTM_SHIFT 10
#define VTD_RTADDR_TTM_MASK (3ull << 10)
#define VTD_RTADDR_SMT (1ull << 10)

/* CCMD (11.4.6): ICC 63, CIRG 61-62, CAIG 59-60. */
#define VTD_CCMD_ICC (1ull << 63)
#define VTD_CCMD_CIRG_SHIFT 61
#define VTD_CCMD_CAIG_SHIFT 59
/* IOTLB register (11.4.8.1): IVT 63, IIRG 60-61, IAIG 57-58. */
#define VTD_IOTLB_IVT (1ull << 63)
#define VTD_IOTLB_IIRG_SHIFT 60
#define VTD_IOTLB_IAIG_SHIFT 57

/* FSTS (11.4.7.1) */
#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_AFO (1u << 2)
#define VTD_FSTS_APF (1u << 3)
#define VTD_FSTS_IQE (1u << 4)
#define VTD_FSTS_ICE (1u << 5)
#define VTD_FSTS_ITE (1u << 6)
#define VTD_FSTS_FRI_SHIFT 8
#define VTD_FSTS_FRI_MASK (0xffu << 8)
/* FECTL / IECTL / PECTL: interrupt mask 31, interrupt pending 30. */
#define VTD_ECTL_IM (1u << 31)
#define VTD_ECTL_IP (1u << 30)
/* ICS: invalidation wait descriptor complete. */
#define VTD_ICS_IWC (1u << 0)
/* PRS (SVM.md): pending page request 0, overflow 1. */
#define VTD_PRS_PPR (1u << 0)
#define VTD_PRS_PRO (1u << 1)

/* Fault recording register, 128 bits (11.4.14; Linux dma_frcd_*):
 * lo: fault info (page address) 12-63; hi: SID 0-15, PASID present 31,
 * fault reason 32-39, PASID 40-59, type (1 = read) 62, F (fault) 63. */
#define VTD_FRCD_HI_SID(x) ((uint64_t)(x) & 0xffff)
#define VTD_FRCD_HI_PP (1ull << 31)
#define VTD_FRCD_HI_FR(x) (((uint64_t)(x) & 0xff) << 32)
#define VTD_FRCD_HI_PV(x) (((uint64_t)(x) & 0xfffff) << 40)
#define VTD_FRCD_HI_T_READ (1ull << 62)
#define VTD_FRCD_HI_F (1ull << 63)

/* IQA (SVM.md): queue size 0-2 (2^QS pages), DW bit 11 (256-bit
 * descriptors), base 12-63. IQH/IQT hold byte offsets (bits 4-18). */
#define VTD_IQA_QS_MASK 7ull
#define VTD_IQA_DW (1ull << 11)
#define VTD_IQA_ADDR_MASK 0xfffffffffffff000ull
#define VTD_IQ_OFF_MASK 0x7fff0ull
/* PQA: size 0-2, base 12-63; PQH/PQT byte offsets of 32-byte entries. */
#define VTD_PQA_QS_MASK 7ull
#define VTD_PQA_ADDR_MASK 0xfffffffffffff000ull
#define VTD_PQ_OFF_MASK 0x7ffe0ull
#define VTD_PRQ_DESC_SIZE 32
/* IQERCD: IQEI 0-3 (info about the invalidation queue error). The model
 * reports 1 for a tail pointer outside the queue or misaligned, 2 for a
 * descriptor it could not fetch, 3 for a descriptor of unknown type or
 * with reserved fields set (Linux only checks FSTS.IQE). */
#define VTD_IQEI_TAIL 1
#define VTD_IQEI_FETCH 2
#define VTD_IQEI_DESC 3

/* ---- Root and context entries (ch. 9; SVM.md) ---- */
#define VTD_ROOT_P (1ull << 0)              /* legacy: P; scalable: LP/UP */
#define VTD_ADDR_MASK 0xfffffffffffff000ull

/* Legacy context entry (128 bits): lo P 0, FPD 1, TT 2-3, SLPTPTR 12-63;
 * hi AW 0-2, DID 8-23. */
#define VTD_CE_P (1ull << 0)
#define VTD_CE_FPD (1ull << 1)
#define VTD_CE_TT_SHIFT 2
#define VTD_CE_TT_MASK (3ull << 2)
#define VTD_CE_TT_MULTI 0  /* second stage only, no device TLB */
#define VTD_CE_TT_DEVTLB 1 /* second stage, device TLB allowed */
#define VTD_CE_TT_PT 2     /* pass-through */
#define VTD_CE_HI_AW(hi) ((hi)&7)
#define VTD_CE_HI_DID(hi) (((hi) >> 8) & 0xffff)

/* Scalable context entry (256 bits): qw0 P 0, FPD 1, DTE 2, PASIDE 3,
 * PRE 4, PDTS 9-11, PASID dir pointer 12-63; qw1 RID_PASID 0-19. */
#define VTD_SCE_P (1ull << 0)
#define VTD_SCE_FPD (1ull << 1)
#define VTD_SCE_DTE (1ull << 2)
#define VTD_SCE_PASIDE (1ull << 3)
#define VTD_SCE_PRE (1ull << 4)
#define VTD_SCE_PDTS_SHIFT 9
#define VTD_SCE_PDTS_MASK (7ull << 9)
#define VTD_SCE_RSVD0 0x1e0ull /* bits 5-8 (other features, not modelled) */
#define VTD_SCE_RID_PASID(qw1) ((uint32_t)((qw1)&0xfffff))

/* PASID directory entry (8 bytes): P 0, FPD 1, table pointer 12-63.
 * Directory index PASID[19:6]; table index PASID[5:0]; 64-byte entries. */
#define VTD_PDE_P (1ull << 0)
#define VTD_PDE_FPD (1ull << 1)
#define VTD_PASID_ENTRY_SIZE 64

/* PASID entry (512 bits), by qword: qw0 P 0, FPD 1, AW 2-4, PGTT 6-8,
 * SSPTPTR 12-63; qw1 DID 0-15 (bits 64-79); qw2 SRE 0 (128), FLPM 2-3
 * (130-131), WPE 4 (132), FSPTPTR 12-63 (140-191). */
#define VTD_PE0_P (1ull << 0)
#define VTD_PE0_FPD (1ull << 1)
#define VTD_PE0_AW(q) (((q) >> 2) & 7)
#define VTD_PE0_PGTT(q) (((q) >> 6) & 7)
#define VTD_PE0_PGTT_SHIFT 6
#define VTD_PE1_DID(q) ((uint16_t)((q)&0xffff))
#define VTD_PE2_SRE (1ull << 0)
#define VTD_PE2_FLPM(q) (((q) >> 2) & 3)
#define VTD_PE2_FLPM_SHIFT 2
#define VTD_PE2_WPE (1ull << 4)
#define VTD_PGTT_FS 1
#define VTD_PGTT_SS 2
#define VTD_PGTT_NESTED 3
#define VTD_PGTT_PT 4

/* First-stage entries: the x86-64 page-table format. */
#define VTD_FS_P (1ull << 0)
#define VTD_FS_RW (1ull << 1)
#define VTD_FS_US (1ull << 2)
#define VTD_FS_A (1ull << 5)
#define VTD_FS_D (1ull << 6)
#define VTD_FS_PS (1ull << 7)
#define VTD_FS_XD (1ull << 63)

/* Second-stage entries (VT-d 9.8): R 0, W 1, X 2, PS 7, address 12-51. */
#define VTD_SS_R (1ull << 0)
#define VTD_SS_W (1ull << 1)
#define VTD_SS_X (1ull << 2)
#define VTD_SS_PS (1ull << 7)

/* ---- Invalidation descriptors (6.5.2; SVM.md: type in bits 0-3) ---- */
#define VTD_INV_CC 1       /* context-cache */
#define VTD_INV_IOTLB 2
#define VTD_INV_DEVTLB 3
#define VTD_INV_IEC 4      /* interrupt entry cache */
#define VTD_INV_WAIT 5
#define VTD_INV_PIOTLB 6   /* PASID-based IOTLB */
#define VTD_INV_PC 7       /* PASID-cache */
#define VTD_INV_PDEVTLB 8  /* PASID-based device-TLB */
#define VTD_INV_PGRP_RESP 9 /* page group response */
#define VTD_INV_TYPE(qw0) ((unsigned)((qw0)&0xf))
#define VTD_INV_G(qw0) ((unsigned)(((qw0) >> 4) & 3))
#define VTD_INV_DID(qw0) ((uint16_t)(((qw0) >> 16) & 0xffff))
#define VTD_INV_PASID(qw0) ((uint32_t)(((qw0) >> 32) & 0xfffff))

/* Context-cache (type 1): G 4-5 (1 global, 2 domain, 3 device), DID
 * 16-31, SID 32-47, FM 48-49. */
#define VTD_CC_G_GLOBAL 1
#define VTD_CC_G_DOMAIN 2
#define VTD_CC_G_DEVICE 3
#define VTD_CC_SID(qw0) ((uint16_t)(((qw0) >> 32) & 0xffff))
#define VTD_CC_FM(qw0) ((unsigned)(((qw0) >> 48) & 3))
/* IOTLB (type 2): G 4-5 (1 global, 2 domain, 3 page), DR 7, DW 6, DID
 * 16-31; qw1 AM 0-5, IH 6, ADDR 12-63. */
#define VTD_IOTLB_G_GLOBAL 1
#define VTD_IOTLB_G_DOMAIN 2
#define VTD_IOTLB_G_PAGE 3
#define VTD_INV_AM(qw1) ((unsigned)((qw1)&0x3f))
#define VTD_INV_ADDR(qw1) ((qw1)&VTD_ADDR_MASK)
/* Device-TLB (type 3): SID 32-47; qw1 S 0 (size encoded in address),
 * ADDR 12-63. */
#define VTD_DEVTLB_SID(qw0) ((uint16_t)(((qw0) >> 32) & 0xffff))
#define VTD_DEVTLB_S (1ull << 0)
/* Wait (type 5): IF 4, SW 5, FN 6, PD 7 (page-request drain), status
 * data 32-63; qw1 status address 2-63. */
#define VTD_WAIT_IF (1ull << 4)
#define VTD_WAIT_SW (1ull << 5)
#define VTD_WAIT_FN (1ull << 6)
#define VTD_WAIT_PD (1ull << 7)
#define VTD_WAIT_DATA(qw0) ((uint32_t)((qw0) >> 32))
#define VTD_WAIT_ADDR(qw1) ((qw1) & ~3ull)
/* PASID-based IOTLB (type 6): G 4-5 (2 all in PASID, 3 page in PASID),
 * DID 16-31, PASID 32-51; qw1 AM 0-5, IH 6, ADDR 12-63. */
#define VTD_PIOTLB_G_PASID 2
#define VTD_PIOTLB_G_PAGE 3
/* PASID-cache (type 7): G 4-5 (0 domain, 1 PASID, 3 global). */
#define VTD_PC_G_DOMAIN 0
#define VTD_PC_G_PASID 1
#define VTD_PC_G_GLOBAL 3
/* PASID-based device-TLB (type 8): SID 16-31, PASID 32-51; qw1 G 0
 * (all addresses), S 11, ADDR 12-63 (Linux QI_DEV_EIOTLB_*). */
#define VTD_PDEVTLB_SID(qw0) ((uint16_t)(((qw0) >> 16) & 0xffff))
#define VTD_PDEVTLB_G (1ull << 0)
#define VTD_PDEVTLB_S (1ull << 11)
/* Page group response (type 9; SVM.md): PASID present 4, private data
 * present 5, response code 12-15, RID 16-31, PASID 32-51; qw1 LPIG 2,
 * group index 3-11; private data qw2-3. */
#define VTD_PGRP_PP (1ull << 4)
#define VTD_PGRP_PDP (1ull << 5)
#define VTD_PGRP_CODE(qw0) ((unsigned)(((qw0) >> 12) & 0xf))
#define VTD_PGRP_RID(qw0) ((uint16_t)(((qw0) >> 16) & 0xffff))
#define VTD_PGRP_LPIG (1ull << 2)
#define VTD_PGRP_IDX(qw1) ((unsigned)(((qw1) >> 3) & 0x1ff))
#define VTD_PRESP_SUCCESS 0x0
#define VTD_PRESP_INVALID 0x1
#define VTD_PRESP_FAILURE 0xf

/* Page request descriptor (SVM.md): qw0 type 1 (0-7), PASID present 8,
 * private data present 9, RID 16-31, PASID 32-51, exec 52, priv 53;
 * qw1 read 0, write 1, LPIG 2, group index 3-11, address 12-63. */
#define VTD_PRQ_TYPE_PAGE_REQ 1
#define VTD_PRQ0_PP (1ull << 8)
#define VTD_PRQ0_PDP (1ull << 9)
#define VTD_PRQ0_RID(q) ((uint16_t)(((q) >> 16) & 0xffff))
#define VTD_PRQ0_PASID(q) ((uint32_t)(((q) >> 32) & 0xfffff))
#define VTD_PRQ0_EXE (1ull << 52)
#define VTD_PRQ0_PRIV (1ull << 53)
#define VTD_PRQ1_RD (1ull << 0)
#define VTD_PRQ1_WR (1ull << 1)
#define VTD_PRQ1_LPIG (1ull << 2)
#define VTD_PRQ1_IDX(q) ((unsigned)(((q) >> 3) & 0x1ff))

/* ---- Fault reasons ----
 * SVM.md gives 0x47, 0x59, 0x5B, 0x70-0x72, 0x80, 0x81, 0x91. The others
 * are the codes QEMU's model reports for the same conditions
 * (intel_iommu_internal.h VTDFaultReason): the legacy root/context and
 * second-stage codes are used in scalable mode too. 0x86 (execute to an
 * XD page) is the scalable-mode SGN code as read from the VT-d table; it
 * is not in SVM.md. */
enum vtd_fault_reason {
    VTD_FR_NONE = 0x00,
    VTD_FR_ROOT_ENTRY_P = 0x01,
    VTD_FR_CONTEXT_ENTRY_P = 0x02,
    VTD_FR_CONTEXT_ENTRY_INV = 0x03,
    VTD_FR_ADDR_BEYOND_MGAW = 0x04,
    VTD_FR_WRITE = 0x05,
    VTD_FR_READ = 0x06,
    VTD_FR_PAGING_ENTRY_INV = 0x07,
    VTD_FR_ROOT_TABLE_INV = 0x08,
    VTD_FR_CONTEXT_TABLE_INV = 0x09,
    VTD_FR_ROOT_ENTRY_RSVD = 0x0a,
    VTD_FR_CONTEXT_ENTRY_RSVD = 0x0b,
    VTD_FR_PAGING_ENTRY_RSVD = 0x0c,
    VTD_FR_CONTEXT_ENTRY_TT = 0x0d,
    VTD_FR_RTADDR_INV_TTM = 0x31,
    VTD_FR_SM_PRE_ABS = 0x47,       /* page request without PRE */
    VTD_FR_PASID_DIR_ACCESS = 0x50,
    VTD_FR_PASID_DIR_ENTRY_P = 0x51,
    VTD_FR_PASID_TABLE_ACCESS = 0x58,
    VTD_FR_PASID_ENTRY_P = 0x59,
    VTD_FR_PASID_ENTRY_INV = 0x5b,
    VTD_FR_FS_ENTRY_INV = 0x70,     /* first-stage entry could not be read */
    VTD_FR_FS_ENTRY_P = 0x71,
    VTD_FR_FS_ENTRY_RSVD = 0x72,
    VTD_FR_FS_PTPTR_INV = 0x73,
    VTD_FR_FS_NON_CANONICAL = 0x80,
    VTD_FR_FS_US = 0x81,
    VTD_FR_FS_WRITE = 0x85,
    VTD_FR_FS_EXEC = 0x86,
    VTD_FR_FS_AD_UPDATE = 0x91,
};

#endif

/* Unit tests of the VT-d model (svm/) against a fake guest: registers,
 * every table format and PGTT mode, first-stage permission checks and A/D
 * bits, faults with their exact reasons, hostile tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/util.h"
#include "vtd_env.h"

#define RID 0x0108 /* 01:01.0 */
#define MB (1ull << 20)

static int setup(void **state)
{
    static struct vtd_env env;

    vtd_env_init(&env, 64 * MB, 3);
    *state = &env;
    return 0;
}

static int teardown(void **state)
{
    vtd_env_fini(*state);
    return 0;
}

/* First-stage PASID entry for a 4- or 5-level table. */
static uint64_t pe_fs(struct vtd_env *e, uint64_t dir, uint32_t pasid, uint64_t fsroot,
                      unsigned levels, uint16_t did, uint64_t extra2)
{
    return vtd_pasid_entry(e, dir, pasid, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), did,
                           fsroot | (levels == 5 ? 1ull << VTD_PE2_FLPM_SHIFT : 0) | extra2);
}

static uint8_t frcd_reason(struct vtd_env *e, unsigned i)
{
    return (uint8_t)(vtd_mr(e, VTD_MODEL_FRO + 16 * i + 8, 8) >> 32);
}

static void clear_faults(struct vtd_env *e)
{
    for (unsigned i = 0; i < VTD_MODEL_NFR; i++)
        vtd_mw(e, VTD_MODEL_FRO + 16 * i + 12, 4, 1u << 31);
    vtd_mw(e, VTD_REG_FSTS, 4, 0x7d);
}

/* ---- registers ---- */

static void test_registers(void **state)
{
    struct vtd_env *e = *state;
    uint64_t cap = vtd_mr(e, VTD_REG_CAP, 8), ecap = vtd_mr(e, VTD_REG_ECAP, 8);

    /* What SVM.md says to advertise. */
    assert_true(ecap & VTD_ECAP_QI);
    assert_true(ecap & VTD_ECAP_DT);
    assert_true(ecap & VTD_ECAP_PT);
    assert_true(ecap & VTD_ECAP_SC);
    assert_true(ecap & VTD_ECAP_NEST);
    assert_true(ecap & VTD_ECAP_PRS);
    assert_true(ecap & VTD_ECAP_PASID);
    assert_int_equal(VTD_ECAP_GET_PSS(ecap), 19);
    assert_true(ecap & VTD_ECAP_SMTS);
    assert_true(ecap & VTD_ECAP_FLTS);
    assert_int_equal(VTD_CAP_GET_FRO(cap), VTD_MODEL_FRO);
    assert_int_equal(VTD_CAP_GET_NFR(cap), VTD_MODEL_NFR);
    assert_int_equal(VTD_ECAP_GET_IRO(ecap), VTD_MODEL_IRO);
    /* 32-bit halves of a 64-bit register. */
    assert_int_equal(vtd_mr(e, VTD_REG_CAP, 4) | vtd_mr(e, VTD_REG_CAP + 4, 4) << 32, cap);
    /* RO registers ignore writes; reserved space reads 0. */
    vtd_mw(e, VTD_REG_CAP, 8, 0);
    assert_int_equal(vtd_mr(e, VTD_REG_CAP, 8), cap);
    assert_int_equal(vtd_mr(e, 0x300, 4), 0);
    vtd_mw(e, 0x300, 4, 0xdead);
    /* RTADDR in halves, latched by SRTP only. */
    vtd_mw(e, VTD_REG_RTADDR, 4, 0x123400 | VTD_RTADDR_SMT);
    vtd_mw(e, VTD_REG_RTADDR + 4, 4, 0);
    assert_int_equal(vtd_mr(e, VTD_REG_RTADDR, 8), 0x123400 | VTD_RTADDR_SMT);
    assert_false(vtd_mr(e, VTD_REG_GSTS, 4) & VTD_GSTS_RTPS);
    vtd_mw(e, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
    assert_true(vtd_mr(e, VTD_REG_GSTS, 4) & VTD_GSTS_RTPS);
    assert_false(vtd_mr(e, VTD_REG_GSTS, 4) & VTD_GSTS_TES);
    /* Interrupt masks reset to 1; bad sizes are dropped. */
    assert_true(vtd_mr(e, VTD_REG_FECTL, 4) & VTD_ECTL_IM);
    vtd_mw(e, VTD_REG_FEDATA, 2, 0x55);
    assert_int_equal(vtd_mr(e, VTD_REG_FEDATA, 4), 0);
    /* Register-based invalidation completes at once, globally. */
    vtd_mw(e, VTD_REG_CCMD, 8, VTD_CCMD_ICC | (3ull << VTD_CCMD_CIRG_SHIFT));
    assert_false(vtd_mr(e, VTD_REG_CCMD, 8) & VTD_CCMD_ICC);
    assert_int_equal((vtd_mr(e, VTD_REG_CCMD, 8) >> VTD_CCMD_CAIG_SHIFT) & 3, 1);
    vtd_mw(e, VTD_MODEL_IRO + 8, 8, VTD_IOTLB_IVT | (1ull << VTD_IOTLB_IIRG_SHIFT));
    assert_false(vtd_mr(e, VTD_MODEL_IRO + 8, 8) & VTD_IOTLB_IVT);
}

/* ---- first stage ---- */

static void test_fs_4level(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t dir, pml4 = 0, leaf, data, v;
    struct vgt_iommu_stats st;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE | VTD_SCE_DTE | VTD_SCE_PRE, 0);
    pml4 = vtd_alloc(e);
    data = vtd_alloc(e);
    leaf = vtd_fs_map(e, pml4, 4, 0x7f0000401000ull, data, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    pe_fs(e, dir, 5, pml4, 4, 9, 0);

    assert_int_equal(vtd_xlate(e, RID, true, 5, 0x7f0000401234ull, false, false, &r), 0);
    assert_int_equal(r.gpa, data + 0x234);
    assert_true(r.writable);
    /* A set on the leaf, D not yet. */
    v = vtd_r64(e, leaf);
    assert_true(v & VTD_FS_A);
    assert_false(v & VTD_FS_D);
    /* A write sets D (through a fresh walk: the cached entry lacks D). */
    assert_int_equal(vtd_xlate(e, RID, true, 5, 0x7f0000401000ull, true, false, &r), 0);
    assert_true(vtd_r64(e, leaf) & VTD_FS_D);
    assert_true(vtd_r64(e, pml4 + 8 * 0xfe) & VTD_FS_A);
    /* Now it hits. */
    vgt_iommu_get_stats(e->m, &st);
    assert_int_equal(vtd_xlate(e, RID, true, 5, 0x7f0000401008ull, true, false, &r), 0);
    {
        struct vgt_iommu_stats st2;

        vgt_iommu_get_stats(e->m, &st2);
        assert_int_equal(st2.iotlb_hits, st.iotlb_hits + 1);
    }
    /* Not present: 0x71, recorded with PASID and address. */
    assert_int_equal(vtd_xlate(e, RID, true, 5, 0x7f0000402000ull, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_ENTRY_P);
    assert_true(r.recoverable);
    assert_int_equal(frcd_reason(e, 0), 0x71);
    v = vtd_mr(e, VTD_MODEL_FRO + 8, 8);
    assert_true(v & VTD_FRCD_HI_F);
    assert_true(v & VTD_FRCD_HI_PP);
    assert_int_equal((v >> 40) & 0xfffff, 5);
    assert_int_equal(v & 0xffff, RID);
    assert_int_equal(vtd_mr(e, VTD_MODEL_FRO, 8), 0x7f0000402000ull);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_PPF);
    assert_int_equal(e->f->nr_msi, 1);
    assert_int_equal(e->f->last_msi_data, 0x41);
    /* Non-canonical: 0x80. */
    assert_int_equal(vtd_xlate(e, RID, true, 5, 0x0000900000000000ull, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_NON_CANONICAL);
    assert_int_equal(frcd_reason(e, 1), 0x80);
    /* Only one event while faults are pending. */
    assert_int_equal(e->f->nr_msi, 1);
    clear_faults(e);
    assert_false(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_PPF);
}

static void test_fs_permissions(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t dir, pml4, ro, ks, nx;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE, 0);
    pml4 = vtd_alloc(e);
    ro = vtd_alloc(e);
    ks = vtd_alloc(e);
    nx = vtd_alloc(e);
    vtd_fs_map(e, pml4, 4, 0x1000, ro, 4096, VTD_FS_P | VTD_FS_US);
    vtd_fs_map(e, pml4, 4, 0x2000, ks, 4096, VTD_FS_P | VTD_FS_RW);
    vtd_fs_map(e, pml4, 4, 0x3000, nx, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US | VTD_FS_XD);
    /* PASID 1: SRE clear. PASID 2: SRE set, WPE set. PASID 3: SRE, no WPE. */
    pe_fs(e, dir, 1, pml4, 4, 1, 0);
    pe_fs(e, dir, 2, pml4, 4, 1, VTD_PE2_SRE | VTD_PE2_WPE);
    pe_fs(e, dir, 3, pml4, 4, 1, VTD_PE2_SRE);

    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x1000, false, false, &r), 0);
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x1000, true, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_WRITE);
    /* User request to a supervisor page: 0x81. */
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x2000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_US);
    /* Supervisor request without SRE: 0x81 as well. */
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x2000, false, true, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_US);
    assert_int_equal(vtd_xlate(e, RID, true, 2, 0x2000, true, true, &r), 0);
    assert_int_equal(r.gpa, ks);
    /* Supervisor write to read-only: faults with WPE, allowed without. */
    assert_int_equal(vtd_xlate(e, RID, true, 2, 0x1000, true, true, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_WRITE);
    assert_int_equal(vtd_xlate(e, RID, true, 3, 0x1000, true, true, &r), 0);
    /* Execute to an XD page. */
    {
        struct vgt_iommu_req q = {.rid = RID, .has_pasid = true, .pasid = 1, .addr = 0x3000,
                                  .exec = true};

        assert_int_equal(vgt_iommu_translate(e->m, &q, &r), -EFAULT);
        assert_int_equal(r.fault, VTD_FR_FS_EXEC);
        q.addr = 0x1000;
        assert_int_equal(vgt_iommu_translate(e->m, &q, &r), 0);
    }
    /* A cached entry does not bypass the checks. */
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x1000, true, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_WRITE);
}

static void test_fs_large_and_5level(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t dir, pml5, pml4, leaf;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE, 0);
    pml5 = vtd_alloc(e);
    pml4 = vtd_alloc(e);
    /* 2 MiB page at va 0x40000000 -> gpa 0x800000 (4 levels). */
    vtd_fs_map(e, pml4, 4, 0x40000000, 0x800000, 2 * MB, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    /* 1 GiB page (gpa 0: guest RAM starts there). */
    vtd_fs_map(e, pml4, 4, 0x8000000000ull, 0, 1ull << 30, VTD_FS_P | VTD_FS_US);
    pe_fs(e, dir, 7, pml4, 4, 2, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 7, 0x40012345, true, false, &r), 0);
    assert_int_equal(r.gpa, 0x812345);
    assert_int_equal(r.page_size, 2 * MB);
    assert_int_equal(vtd_xlate(e, RID, true, 7, 0x8000123456ull, false, false, &r), 0);
    assert_int_equal(r.gpa, 0x123456);
    assert_int_equal(r.page_size, 1ull << 30);
    /* 5 levels: an address above 2^47 is canonical. */
    leaf = vtd_fs_map(e, pml5, 5, 0x00f0000000001000ull, 0x900000, 4096,
                      VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    pe_fs(e, dir, 8, pml5, 5, 2, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 8, 0x00f0000000001abcull, false, false, &r), 0);
    assert_int_equal(r.gpa, 0x900abc);
    assert_int_equal(vtd_xlate(e, RID, true, 7, 0x00f0000000001abcull, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_NON_CANONICAL);
    /* Reserved bits: address above the model's 48-bit width; PS in PML4E. */
    vtd_w64(e, leaf, vtd_r64(e, leaf) | (1ull << 50));
    /* The old translation is cached until the guest invalidates it. */
    assert_int_equal(vtd_xlate(e, RID, true, 8, 0x00f0000000001000ull, false, false, &r), 0);
    vtd_qi(e, VTD_INV_PIOTLB | (VTD_PIOTLB_G_PASID << 4) | (2ull << 16) | (8ull << 32), 0, 0, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 8, 0x00f0000000001000ull, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_ENTRY_RSVD);
    vtd_w64(e, pml4 + 8, 0x200000 | VTD_FS_P | VTD_FS_PS);
    assert_int_equal(vtd_xlate(e, RID, true, 7, 0x8000000000ull, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_ENTRY_RSVD);
    /* 2 MiB entry with a misaligned address: reserved bits 20:13. */
    vtd_w64(e, vtd_fs_map(e, pml4, 4, 0x80000000, 0xa00000, 2 * MB, VTD_FS_P | VTD_FS_US),
            0xa00000 | 0x2000 | VTD_FS_P | VTD_FS_US | VTD_FS_PS);
    assert_int_equal(vtd_xlate(e, RID, true, 7, 0x80000000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_ENTRY_RSVD);
}

/* ---- second stage, nested, pass-through, legacy ---- */

static void test_ss_nested_pt(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t dir, ss, fs, data, data2;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE, 3);
    ss = vtd_alloc(e);
    data = vtd_alloc(e);
    data2 = vtd_alloc(e);
    /* Second stage: IOVA 0x10000000 -> data (R only), 0x10001000 -> data2 RW. */
    vtd_ss_map(e, ss, 4, 0x10000000, data, 4096, VTD_SS_R);
    vtd_ss_map(e, ss, 4, 0x10001000, data2, 4096, VTD_SS_R | VTD_SS_W);
    /* PASID 3 is RID_PASID: second stage only, AW=2 (4 levels). */
    vtd_pasid_entry(e, dir, 3, VTD_PE0_P | (2 << 2) | ((uint64_t)VTD_PGTT_SS << 6) | ss, 4, 0);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 0x10000010, false, false, &r), 0);
    assert_int_equal(r.gpa, data + 0x10);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 0x10000010, true, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_WRITE);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 0x10002000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_READ);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 1ull << 50, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_ADDR_BEYOND_MGAW);

    /* Nested, PASID 9: the first-stage tables live at IOVAs that the
     * second stage maps; the final address goes through it too. */
    {
        uint64_t pml4_iova = 0x20000000, pdpt_iova = 0x20001000, pd_iova = 0x20002000,
                 pt_iova = 0x20003000;
        uint64_t pml4 = vtd_alloc(e), pdpt = vtd_alloc(e), pd = vtd_alloc(e), pt = vtd_alloc(e);
        uint64_t va = 0x7000200000ull;

        fs = pml4;
        vtd_ss_map(e, ss, 4, pml4_iova, pml4, 4096, VTD_SS_R | VTD_SS_W);
        vtd_ss_map(e, ss, 4, pdpt_iova, pdpt, 4096, VTD_SS_R | VTD_SS_W);
        vtd_ss_map(e, ss, 4, pd_iova, pd, 4096, VTD_SS_R | VTD_SS_W);
        vtd_ss_map(e, ss, 4, pt_iova, pt, 4096, VTD_SS_R); /* A/D update must fail */
        vtd_w64(e, pml4 + 8 * ((va >> 39) & 511), pdpt_iova | 7);
        vtd_w64(e, pdpt + 8 * ((va >> 30) & 511), pd_iova | 7);
        vtd_w64(e, pd + 8 * ((va >> 21) & 511), pt_iova | 7);
        /* Leaf points at IOVA 0x10001000 (-> data2), already A. */
        vtd_w64(e, pt + 8 * ((va >> 12) & 511), 0x10001000 | 7 | VTD_FS_A);
        vtd_pasid_entry(e, dir, 9,
                        VTD_PE0_P | (2 << 2) | ((uint64_t)VTD_PGTT_NESTED << 6) | ss, 4, pml4_iova);
        assert_int_equal(vtd_xlate(e, RID, true, 9, va + 0x18, false, false, &r), 0);
        assert_int_equal(r.gpa, data2 + 0x18);
        /* A write needs D on the leaf, whose table the SS maps read-only. */
        assert_int_equal(vtd_xlate(e, RID, true, 9, va + 0x18, true, false, &r), -EFAULT);
        assert_int_equal(r.fault, VTD_FR_FS_AD_UPDATE);
        vtd_ss_map(e, ss, 4, pt_iova, pt, 4096, VTD_SS_R | VTD_SS_W);
        vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_DOMAIN << 4) | (4ull << 16), 0, 0, 0);
        assert_int_equal(vtd_xlate(e, RID, true, 9, va + 0x18, true, false, &r), 0);
        assert_true(vtd_r64(e, pt + 8 * ((va >> 12) & 511)) & VTD_FS_D);
        /* A first-stage pointer the second stage does not map. */
        vtd_w64(e, pd + 8 * (((va >> 21) + 1) & 511), 0x30000000 | 7);
        assert_int_equal(vtd_xlate(e, RID, true, 9, va + 2 * MB, false, false, &r), -EFAULT);
        assert_int_equal(r.fault, VTD_FR_READ);
    }
    (void)fs;
    /* Pass-through PASID 11. */
    vtd_pasid_entry(e, dir, 11, VTD_PE0_P | ((uint64_t)VTD_PGTT_PT << 6), 5, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 11, 0x345678, true, false, &r), 0);
    assert_int_equal(r.gpa, 0x345678);
    /* PGTT 5..7 and an unsupported AW: 0x5B; absent entry: 0x59. */
    vtd_pasid_entry(e, dir, 12, VTD_PE0_P | (5ull << 6), 5, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 12, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_ENTRY_INV);
    vtd_pasid_entry(e, dir, 13, VTD_PE0_P | (1 << 2) | ((uint64_t)VTD_PGTT_SS << 6) | ss, 5, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 13, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_ENTRY_INV);
    assert_int_equal(vtd_xlate(e, RID, true, 14, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_ENTRY_P);
    /* Beyond the directory (PDTS 0: 128 entries -> PASIDs < 8192). */
    assert_int_equal(vtd_xlate(e, RID, true, 9000, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_DIR_ENTRY_P);
    /* Directory entry absent. */
    assert_int_equal(vtd_xlate(e, RID, true, 64 * 5, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_DIR_ENTRY_P);
    /* Unknown device: context not present. */
    assert_int_equal(vtd_xlate(e, 0x0110, false, 0, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_CONTEXT_ENTRY_P);
    assert_int_equal(vtd_xlate(e, 0x0308, false, 0, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_ROOT_ENTRY_P);
}

static void test_legacy(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t ss, data;

    vtd_enable(e, false);
    /* 00:03.0 pass-through, 00:04.0 second stage (TT=01, AW=2, DID 7). */
    vtd_legacy_context(e, 0x18, VTD_CE_P | (VTD_CE_TT_PT << VTD_CE_TT_SHIFT), 2 | (1 << 8));
    ss = vtd_alloc(e);
    data = vtd_alloc(e);
    vtd_ss_map(e, ss, 4, 0xfeed000, data, 4096, VTD_SS_R | VTD_SS_W);
    vtd_legacy_context(e, 0x20, VTD_CE_P | (VTD_CE_TT_DEVTLB << VTD_CE_TT_SHIFT) | ss,
                       2 | (7 << 8));
    assert_int_equal(vtd_xlate(e, 0x18, false, 0, 0x123000, true, false, &r), 0);
    assert_int_equal(r.gpa, 0x123000);
    assert_int_equal(vtd_xlate(e, 0x20, false, 0, 0xfeed044, true, false, &r), 0);
    assert_int_equal(r.gpa, data + 0x44);
    /* Requests with PASID do not exist in legacy mode. */
    assert_int_equal(vtd_xlate(e, 0x20, true, 1, 0xfeed044, true, false, &r), -EFAULT);
    assert_int_equal(vtd_xlate(e, 0x20, false, 0, 0xfeee000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_READ);
    /* TT=11 is reserved. */
    vtd_legacy_context(e, 0x28, VTD_CE_P | (3 << VTD_CE_TT_SHIFT), 2);
    assert_int_equal(vtd_xlate(e, 0x28, false, 0, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_CONTEXT_ENTRY_TT);
}

/* ---- faults: FPD, overflow, masked events ---- */

static void test_fault_recording(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t dir;
    struct vgt_iommu_stats st;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE, 0);
    vtd_sm_context(e, 0x0110, 0, VTD_SCE_PASIDE | VTD_SCE_FPD, 0);
    (void)dir;
    /* FPD in the context: nothing recorded. */
    assert_int_equal(vtd_xlate(e, 0x0110, true, 1, 0x1000, false, false, &r), -EFAULT);
    assert_false(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_PPF);
    /* Mask the event: IP instead of an MSI, sent when unmasked. */
    vtd_mw(e, VTD_REG_FECTL, 4, VTD_ECTL_IM);
    for (unsigned i = 0; i < VTD_MODEL_NFR + 3; i++)
        assert_int_equal(vtd_xlate(e, RID, true, 1, 0x1000 * i, false, false, &r), -EFAULT);
    assert_int_equal(e->f->nr_msi, 0);
    assert_true(vtd_mr(e, VTD_REG_FECTL, 4) & VTD_ECTL_IP);
    /* Eight records, then primary fault overflow. */
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_PFO);
    vgt_iommu_get_stats(e->m, &st);
    assert_int_equal(st.faults_recorded, VTD_MODEL_NFR);
    assert_int_equal(st.faults_dropped, 3);
    for (unsigned i = 0; i < VTD_MODEL_NFR; i++)
        assert_int_equal(frcd_reason(e, i), VTD_FR_PASID_DIR_ENTRY_P);
    vtd_mw(e, VTD_REG_FECTL, 4, 0);
    assert_int_equal(e->f->nr_msi, 1);
    /* FRI points at the oldest pending record; W1C clears. */
    assert_int_equal((vtd_mr(e, VTD_REG_FSTS, 4) >> 8) & 0xff, 0);
    vtd_mw(e, VTD_MODEL_FRO + 12, 4, 1u << 31);
    assert_int_equal((vtd_mr(e, VTD_REG_FSTS, 4) >> 8) & 0xff, 1);
    clear_faults(e);
    assert_int_equal(vtd_mr(e, VTD_REG_FSTS, 4) & 0xff, 0);
}

/* ---- hostile tables ---- */

static void test_hostile_tables(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_result r;
    uint64_t dir, pml4, bogus = 1ull << 40; /* far outside guest RAM */

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE, 0);
    /* PASID table pointer outside RAM: 0x58. */
    vtd_w64(e, dir + 8, bogus | VTD_PDE_P);
    assert_int_equal(vtd_xlate(e, RID, true, 64, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_TABLE_ACCESS);
    /* First-stage root outside RAM: 0x73; a lower table: 0x70. */
    pe_fs(e, dir, 1, bogus, 4, 1, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_PTPTR_INV);
    pml4 = vtd_alloc(e);
    vtd_w64(e, pml4, (e->ram + 0x1000) | 7);
    pe_fs(e, dir, 2, pml4, 4, 1, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 2, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_ENTRY_INV);
    /* A loop: the PML4 maps itself at every level. The walk ends after
     * four levels; the "page" is the table itself, inside the guest. */
    vtd_w64(e, pml4, pml4 | 7);
    assert_int_equal(vtd_xlate(e, RID, true, 2, 0x18, true, false, &r), 0);
    assert_int_equal(r.gpa, pml4 + 0x18);
    /* Context table pointer outside RAM. */
    vtd_w64(e, e->root + 16 * 2, bogus | 1);
    assert_int_equal(vtd_xlate(e, 0x0200, false, 0, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_CONTEXT_TABLE_INV);
    /* PASID directory outside RAM. */
    {
        uint64_t ct = vtd_r64(e, e->root + 16 * (RID >> 8)) & VTD_ADDR_MASK;

        vtd_w64(e, ct + 32 * 0x09, bogus | VTD_SCE_PASIDE | VTD_SCE_P);
        assert_int_equal(vtd_xlate(e, 0x0109, true, 1, 0x1000, false, false, &r), -EFAULT);
        assert_int_equal(r.fault, VTD_FR_PASID_DIR_ACCESS);
        /* Reserved bits in a context entry. */
        vtd_w64(e, ct + 32 * 0x0a + 16, 1);
        vtd_w64(e, ct + 32 * 0x0a, dir | VTD_SCE_P);
        assert_int_equal(vtd_xlate(e, 0x010a, false, 0, 0x1000, false, false, &r), -EFAULT);
        assert_int_equal(r.fault, VTD_FR_CONTEXT_ENTRY_RSVD);
    }
    /* Root table outside RAM and a reserved TTM. */
    vtd_mw(e, VTD_REG_RTADDR, 8, bogus | VTD_RTADDR_SMT);
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd | VTD_GCMD_SRTP);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_ROOT_TABLE_INV);
    vtd_mw(e, VTD_REG_RTADDR, 8, e->root | (2ull << 10));
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd | VTD_GCMD_SRTP);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_RTADDR_INV_TTM);
    /* Translation off: PASID requests blocked, others untranslated. */
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd & ~VTD_GCMD_TE);
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x1000, false, false, &r), -EPERM);
    assert_int_equal(vtd_xlate(e, RID, false, 0, 0x5000, false, false, &r), 0);
    assert_int_equal(r.gpa, 0x5000);
}

/* The non-atomic A/D fallback (an hv without cmpxchg) sets bits too. */
static void test_ad_fallback(void **state)
{
    struct vtd_env *e = *state;
    struct vgt_iommu_cfg cfg = {.hv = &e->f->hv, .no_cmpxchg = true};
    struct vgt_iommu_result r;
    uint64_t dir, pml4, leaf;

    vgt_iommu_destroy(e->m);
    assert_int_equal(vgt_iommu_create(&cfg, &e->m), 0);
    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE, 0);
    pml4 = vtd_alloc(e);
    leaf = vtd_fs_map(e, pml4, 4, 0x5000, vtd_alloc(e), 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    pe_fs(e, dir, 1, pml4, 4, 1, 0);
    assert_int_equal(vtd_xlate(e, RID, true, 1, 0x5000, true, false, &r), 0);
    assert_int_equal(vtd_r64(e, leaf) & (VTD_FS_A | VTD_FS_D), VTD_FS_A | VTD_FS_D);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_4level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_large_and_5level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ss_nested_pt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_recording, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ad_fallback, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

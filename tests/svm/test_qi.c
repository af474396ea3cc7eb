/* Unit tests of the VT-d model's queues: every invalidation descriptor type
 * and granularity with stale-entry checks (change a mapping, invalidate,
 * the old translation is never seen again), wait descriptors, queue
 * errors, and the page request queue (grouping, overflow, drain, success /
 * invalid / failure responses). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/util.h"
#include "vtd_env.h"

#define RID 0x0108
#define DID 9ull
#define PASID 5ull
#define VA 0x7f0000401000ull

struct dev_log {
    unsigned responses;
    bool pp;
    uint32_t pasid;
    uint16_t grp;
    unsigned code;
    unsigned inval;
    bool inv_pasid, inv_all;
    uint32_t inv_pasid_val;
    uint64_t inv_addr, inv_size;
};

static void on_resp(void *opaque, bool pp, uint32_t pasid, uint16_t grp, unsigned code)
{
    struct dev_log *l = opaque;

    l->responses++;
    l->pp = pp;
    l->pasid = pasid;
    l->grp = grp;
    l->code = code;
}

static void on_inval(void *opaque, bool has_pasid, uint32_t pasid, bool all, uint64_t addr,
                     uint64_t size)
{
    struct dev_log *l = opaque;

    l->inval++;
    l->inv_pasid = has_pasid;
    l->inv_pasid_val = pasid;
    l->inv_all = all;
    l->inv_addr = addr;
    l->inv_size = size;
}

static const struct vgt_iommu_dev_ops dev_ops = {on_resp, on_inval};

struct fixture {
    struct vtd_env e;
    struct dev_log log;
    uint64_t dir, pml4, pml4b, leaf, a, b, c;
};

static int setup(void **state)
{
    static struct fixture fx;
    struct vtd_env *e = &fx.e;

    memset(&fx.log, 0, sizeof(fx.log));
    vtd_env_init(e, 32ull << 20, 5);
    vtd_enable(e, true);
    fx.dir = vtd_sm_context(e, RID, 0, VTD_SCE_PASIDE | VTD_SCE_DTE | VTD_SCE_PRE, 0);
    fx.pml4 = vtd_alloc(e);
    fx.pml4b = vtd_alloc(e);
    fx.a = vtd_alloc(e);
    fx.b = vtd_alloc(e);
    fx.c = vtd_alloc(e);
    fx.leaf = vtd_fs_map(e, fx.pml4, 4, VA, fx.a, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_fs_map(e, fx.pml4b, 4, VA, fx.c, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_pasid_entry(e, fx.dir, PASID, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, fx.pml4);
    assert_int_equal(vgt_iommu_attach_device(e->m, RID, &dev_ops, &fx.log), 0);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    vtd_env_fini(&fx->e);
    return 0;
}

static uint64_t xl(struct fixture *fx, uint64_t va)
{
    struct vgt_iommu_result r;

    assert_int_equal(vtd_xlate(&fx->e, RID, true, PASID, va, false, false, &r), 0);
    return r.gpa & VGT_PAGE_MASK;
}

/* Point the leaf at B; the cached translation (A) is still served. */
static void remap_to_b(struct fixture *fx)
{
    assert_int_equal(xl(fx, VA), fx->a);
    vtd_w64(&fx->e, fx->leaf, fx->b | VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    assert_int_equal(xl(fx, VA), fx->a);
}

static uint64_t piotlb(unsigned g, uint64_t did, uint64_t pasid)
{
    return VTD_INV_PIOTLB | ((uint64_t)g << 4) | (did << 16) | (pasid << 32);
}

static void test_piotlb_page(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;

    remap_to_b(fx);
    /* Another page, another PASID, another domain: not covered. */
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PAGE, DID, PASID), VA + 0x1000, 0, 0);
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PAGE, DID, PASID + 1), VA, 0, 0);
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PAGE, DID + 1, PASID), VA, 0, 0);
    assert_true(vtd_qi_wait(e));
    assert_int_equal(xl(fx, VA), fx->a);
    /* AM=1 at VA-0x1000 covers two pages including VA. */
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PAGE, DID, PASID), VA - 0x1000, 0, 0);
    assert_int_equal(xl(fx, VA), fx->a); /* AM=0: VA - 4K only */
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PAGE, DID, PASID), (VA - 0x1000) | 1, 0, 0);
    assert_true(vtd_qi_wait(e));
    for (int i = 0; i < 3; i++)
        assert_int_equal(xl(fx, VA), fx->b);
}

static void test_piotlb_pasid(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;

    remap_to_b(fx);
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID + 1), 0, 0, 0);
    assert_int_equal(xl(fx, VA), fx->a);
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID), 0, 0, 0);
    assert_true(vtd_qi_wait(e));
    assert_int_equal(xl(fx, VA), fx->b);
    /* G=0 and G=1 are not PASID-based IOTLB granularities: IQE. */
    vtd_qi(e, piotlb(0, DID, PASID), 0, 0, 0);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
}

static void test_iotlb_granularities(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;

    /* Domain-selective. */
    remap_to_b(fx);
    vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_DOMAIN << 4) | ((DID + 1) << 16), 0, 0, 0);
    assert_int_equal(xl(fx, VA), fx->a);
    vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_DOMAIN << 4) | (DID << 16), 0, 0, 0);
    assert_int_equal(xl(fx, VA), fx->b);
    /* Page-selective with AM=9: the 2 MiB region holding VA. */
    vtd_w64(e, fx->leaf, fx->a | VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    assert_int_equal(xl(fx, VA), fx->b);
    vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_PAGE << 4) | (DID << 16), (VA & ~0x1fffffull) | 9, 0, 0);
    assert_int_equal(xl(fx, VA), fx->a);
    /* AM above CAP.MAMV: IQE. */
    vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_PAGE << 4) | (DID << 16), VA | 20, 0, 0);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    vtd_mw(e, VTD_REG_FSTS, 4, VTD_FSTS_IQE); /* resumes at the bad one: IQE again */
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
}

static void test_iotlb_global(void **state)
{
    struct fixture *fx = *state;

    remap_to_b(fx);
    vtd_qi(&fx->e, VTD_INV_IOTLB | (VTD_IOTLB_G_GLOBAL << 4), 0, 0, 0);
    assert_int_equal(xl(fx, VA), fx->b);
}

/* Switch the PASID entry to another first-stage table (mapping VA -> C). */
static void swap_pasid_entry(struct fixture *fx)
{
    assert_int_equal(xl(fx, VA), fx->a);
    vtd_pasid_entry(&fx->e, fx->dir, PASID, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, fx->pml4b);
}

static void test_pasid_cache(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    struct vgt_iommu_result r;

    for (unsigned g = 0; g < 3; g++) {
        static const unsigned gran[3] = {VTD_PC_G_PASID, VTD_PC_G_DOMAIN, VTD_PC_G_GLOBAL};

        /* Restore A, flush everything, then swap. */
        vtd_pasid_entry(e, fx->dir, PASID, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, fx->pml4);
        vtd_qi(e, VTD_INV_PC | (VTD_PC_G_GLOBAL << 4), 0, 0, 0);
        vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_GLOBAL << 4), 0, 0, 0);
        swap_pasid_entry(fx);
        /* The IOTLB alone would still give A: SVM.md order is PASID-cache
         * then PASID-based IOTLB. A PASID-cache flush of another PASID
         * leaves the entry cached. */
        vtd_qi(e, VTD_INV_PC | (VTD_PC_G_PASID << 4) | (DID << 16) | ((PASID + 1) << 32), 0, 0, 0);
        vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID), 0, 0, 0);
        assert_int_equal(xl(fx, VA), fx->a);
        vtd_qi(e, VTD_INV_PC | ((uint64_t)gran[g] << 4) | (DID << 16) | (PASID << 32), 0, 0, 0);
        vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID), 0, 0, 0);
        assert_true(vtd_qi_wait(e));
        assert_int_equal(xl(fx, VA), fx->c);
    }
    /* Clearing P then invalidating: 0x59 from now on. */
    vtd_w64(e, vtd_pasid_entry(e, fx->dir, PASID, 0, DID, fx->pml4b), 0);
    vtd_qi(e, VTD_INV_PC | (VTD_PC_G_PASID << 4) | (DID << 16) | (PASID << 32), 0, 0, 0);
    vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID), 0, 0, 0);
    assert_int_equal(vtd_xlate(e, RID, true, PASID, VA, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_PASID_ENTRY_P);
    /* G=2 is reserved. */
    vtd_qi(e, VTD_INV_PC | (2 << 4), 0, 0, 0);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
}

/* Context-cache G=0 does not exist: IQE. */
static void test_context_cache_bad_granularity(void **state)
{
    struct fixture *fx = *state;

    vtd_qi(&fx->e, VTD_INV_CC, 0, 0, 0);
    assert_true(vtd_mr(&fx->e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    assert_int_equal(vtd_mr(&fx->e, VTD_REG_IQERCD, 8) & 0xf, VTD_IQEI_DESC);
}

static void test_context_cache(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    uint64_t ct = vtd_r64(e, e->root + 16 * (RID >> 8)) & VTD_ADDR_MASK;
    uint64_t ce = ct + 32 * (RID & 0x7f), dir2 = vtd_alloc(e), old = vtd_r64(e, ce);
    static const uint64_t cc[4] = {
        /* device-selective with FM=3 (any function of 01:01), exact SID,
         * domain-selective (scalable entries have no DID: all), global */
        VTD_INV_CC | (VTD_CC_G_DEVICE << 4) | ((uint64_t)(RID | 7) << 32) | (3ull << 48),
        VTD_INV_CC | (VTD_CC_G_DEVICE << 4) | ((uint64_t)RID << 32),
        VTD_INV_CC | (VTD_CC_G_DOMAIN << 4) | (DID << 16),
        VTD_INV_CC | (VTD_CC_G_GLOBAL << 4),
    };

    /* A second directory whose PASID 5 maps VA -> C. */
    vtd_pasid_entry(e, dir2, PASID, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, fx->pml4b);
    for (unsigned i = 0; i < 4; i++) {
        vtd_w64(e, ce, old);
        vtd_qi(e, VTD_INV_CC | (VTD_CC_G_GLOBAL << 4), 0, 0, 0);
        vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_GLOBAL << 4), 0, 0, 0);
        assert_int_equal(xl(fx, VA), fx->a);
        vtd_w64(e, ce, (old & ~VTD_ADDR_MASK) | dir2);
        /* Another device's SID: nothing. */
        vtd_qi(e, VTD_INV_CC | (VTD_CC_G_DEVICE << 4) | (0x0200ull << 32), 0, 0, 0);
        vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID), 0, 0, 0);
        assert_int_equal(xl(fx, VA), fx->a);
        vtd_qi(e, cc[i], 0, 0, 0);
        vtd_qi(e, piotlb(VTD_PIOTLB_G_PASID, DID, PASID), 0, 0, 0);
        assert_true(vtd_qi_wait(e));
        assert_int_equal(xl(fx, VA), fx->c);
    }
}

static void test_devtlb(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;

    /* Device-TLB (type 3), 4 KiB. */
    vtd_qi(e, VTD_INV_DEVTLB | ((uint64_t)RID << 32), VA, 0, 0);
    assert_int_equal(fx->log.inval, 1);
    assert_false(fx->log.inv_pasid);
    assert_int_equal(fx->log.inv_addr, VA);
    assert_int_equal(fx->log.inv_size, 4096);
    /* S=1 with address bits 12..13 set: 2^(12+3) = 32 KiB. */
    vtd_qi(e, VTD_INV_DEVTLB | ((uint64_t)RID << 32), 0x40000000 | 0x3000 | VTD_DEVTLB_S, 0, 0);
    assert_int_equal(fx->log.inv_addr, 0x40000000);
    assert_int_equal(fx->log.inv_size, 0x8000);
    /* PASID-based (type 8): global bit, then a 2 MiB range. */
    vtd_qi(e, VTD_INV_PDEVTLB | ((uint64_t)RID << 16) | (PASID << 32), VTD_PDEVTLB_G, 0, 0);
    assert_true(fx->log.inv_pasid);
    assert_true(fx->log.inv_all);
    assert_int_equal(fx->log.inv_pasid_val, PASID);
    vtd_qi(e, VTD_INV_PDEVTLB | ((uint64_t)RID << 16) | (PASID << 32),
           0x200000 | 0xff000 | VTD_PDEVTLB_S, 0, 0);
    assert_false(fx->log.inv_all);
    assert_int_equal(fx->log.inv_addr, 0x200000);
    assert_int_equal(fx->log.inv_size, 0x200000);
    /* A SID nobody owns completes quietly; the IEC is accepted. */
    vtd_qi(e, VTD_INV_DEVTLB | (0x0300ull << 32), VA, 0, 0);
    vtd_qi(e, VTD_INV_IEC, 0, 0, 0);
    assert_int_equal(fx->log.inval, 4);
    assert_true(vtd_qi_wait(e));
}

static void test_wait_and_errors(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    uint64_t msi0 = e->f->nr_msi, bad;
    struct vgt_iommu_stats st;

    /* Interrupt flag: ICS.IWC and one MSI until software clears IWC. */
    vtd_qi(e, VTD_INV_WAIT | VTD_WAIT_IF | VTD_WAIT_FN, 0, 0, 0);
    assert_true(vtd_mr(e, VTD_REG_ICS, 4) & VTD_ICS_IWC);
    assert_int_equal(e->f->nr_msi, msi0 + 1);
    assert_int_equal(e->f->last_msi_data, 0x43);
    vtd_qi(e, VTD_INV_WAIT | VTD_WAIT_IF, 0, 0, 0);
    assert_int_equal(e->f->nr_msi, msi0 + 1);
    vtd_mw(e, VTD_REG_ICS, 4, VTD_ICS_IWC);
    vtd_qi(e, VTD_INV_WAIT | VTD_WAIT_IF | VTD_WAIT_PD, 0, 0, 0);
    assert_int_equal(e->f->nr_msi, msi0 + 2);

    /* Unknown type: IQE, IQH stays on it, later descriptors wait. */
    bad = e->iq_tail;
    vtd_qi(e, 0xa, 0, 0, 0);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    assert_int_equal(vtd_mr(e, VTD_REG_IQH, 8), bad);
    assert_int_equal(vtd_mr(e, VTD_REG_IQERCD, 8) & 0xf, VTD_IQEI_DESC);
    assert_false(vtd_qi_wait(e));
    /* Software replaces it with a wait descriptor (as Linux does), clears
     * IQE: the queue resumes and the status lands. */
    vtd_w64(e, e->iq + bad, VTD_INV_IEC);
    vtd_mw(e, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
    assert_false(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    assert_int_equal(vtd_mr(e, VTD_REG_IQH, 8), e->iq_tail);
    assert_true(vtd_qi_wait(e));
    /* Reserved upper half on a 128-bit-content descriptor. */
    vtd_qi(e, VTD_INV_IOTLB | (VTD_IOTLB_G_GLOBAL << 4), 0, 1, 0);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    vtd_w64(e, e->iq + (e->iq_tail + 4096 - 32) % 4096 + 16, 0);
    vtd_mw(e, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
    assert_true(vtd_qi_wait(e));
    /* Status address outside guest RAM. */
    vtd_qi(e, VTD_INV_WAIT | VTD_WAIT_SW, 1ull << 40, 0, 0);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    assert_int_equal(vtd_mr(e, VTD_REG_IQERCD, 8) & 0xf, VTD_IQEI_FETCH);
    vtd_w64(e, e->iq + (e->iq_tail + 4096 - 32) % 4096, VTD_INV_IEC);
    vtd_mw(e, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
    /* A tail beyond the queue (QS=0: 4 KiB) or not 32-byte aligned. */
    vtd_mw(e, VTD_REG_IQT, 8, 0x1000);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    assert_int_equal(vtd_mr(e, VTD_REG_IQERCD, 8) & 0xf, VTD_IQEI_TAIL);
    vtd_mw(e, VTD_REG_IQT, 8, e->iq_tail + 16);
    vtd_mw(e, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    vtd_mw(e, VTD_REG_IQT, 8, e->iq_tail);
    vtd_mw(e, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
    assert_true(vtd_qi_wait(e));
    /* A queue base outside guest RAM: fetch error, never a host access. */
    vtd_mw(e, VTD_REG_IQA, 8, (1ull << 40) | VTD_IQA_DW);
    vtd_mw(e, VTD_REG_IQT, 8, (e->iq_tail + 32) % 4096);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
    assert_int_equal(vtd_mr(e, VTD_REG_IQERCD, 8) & 0xf, VTD_IQEI_FETCH);
    vgt_iommu_get_stats(e->m, &st);
    assert_true(st.iq_errors >= 6);
}

/* 128-bit descriptors (IQA.DW = 0) work too. */
static void test_narrow_queue(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;

    remap_to_b(fx);
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd & ~VTD_GCMD_QIE);
    vtd_mw(e, VTD_REG_IQT, 8, 0);
    vtd_mw(e, VTD_REG_IQA, 8, e->iq);
    vtd_mw(e, VTD_REG_GCMD, 4, e->gcmd);
    vtd_w64(e, e->iq, piotlb(VTD_PIOTLB_G_PASID, DID, PASID));
    vtd_w64(e, e->iq + 8, 0);
    vtd_mw(e, VTD_REG_IQT, 8, 16);
    assert_int_equal(vtd_mr(e, VTD_REG_IQH, 8), 16);
    assert_int_equal(xl(fx, VA), fx->b);
}

/* ---- page requests ---- */

static int prq(struct fixture *fx, uint16_t rid, uint64_t addr, uint16_t grp, bool lpig, bool wr)
{
    struct vgt_iommu_prq p = {
        .rid = rid, .has_pasid = true, .pasid = PASID, .read = !wr, .write = wr,
        .lpig = lpig, .grp = grp, .addr = addr,
    };

    return vgt_iommu_page_request(fx->e.m, &p);
}

static void respond(struct fixture *fx, uint16_t grp, unsigned code, uint32_t pasid)
{
    vtd_qi(&fx->e, VTD_INV_PGRP_RESP | VTD_PGRP_PP | ((uint64_t)code << 12) | ((uint64_t)RID << 16) |
                       ((uint64_t)pasid << 32),
           VTD_PGRP_LPIG | ((uint64_t)grp << 3), 0, 0);
}

static void test_prq_basic(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    uint64_t msi0 = e->f->nr_msi, d0, d1;

    assert_int_equal(prq(fx, RID, VA + 0x123, 1, false, true), 0);
    assert_int_equal(prq(fx, RID, VA + 0x1000, 1, true, false), 0);
    assert_int_equal(vtd_mr(e, VTD_REG_PQT, 8), 64);
    /* One event for both (PPR was set by the first). */
    assert_int_equal(e->f->nr_msi, msi0 + 1);
    assert_int_equal(e->f->last_msi_data, 0x42);
    assert_true(vtd_mr(e, VTD_REG_PRS, 4) & VTD_PRS_PPR);
    d0 = vtd_r64(e, e->pq);
    d1 = vtd_r64(e, e->pq + 8);
    assert_int_equal(d0 & 0xff, VTD_PRQ_TYPE_PAGE_REQ);
    assert_true(d0 & VTD_PRQ0_PP);
    assert_int_equal(VTD_PRQ0_RID(d0), RID);
    assert_int_equal(VTD_PRQ0_PASID(d0), PASID);
    assert_true(d1 & VTD_PRQ1_WR);
    assert_false(d1 & VTD_PRQ1_LPIG);
    assert_int_equal(VTD_PRQ1_IDX(d1), 1);
    assert_int_equal(d1 & VTD_ADDR_MASK, VA);
    d1 = vtd_r64(e, e->pq + 32 + 8);
    assert_true(d1 & VTD_PRQ1_LPIG);
    assert_true(d1 & VTD_PRQ1_RD);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 1);
    /* Guest: clear PPR, drain, answer. */
    vtd_mw(e, VTD_REG_PRS, 4, VTD_PRS_PPR);
    vtd_mw(e, VTD_REG_PQH, 8, 64);
    respond(fx, 1, VTD_PRESP_SUCCESS, PASID);
    assert_int_equal(fx->log.responses, 1);
    assert_int_equal(fx->log.grp, 1);
    assert_int_equal(fx->log.code, VTD_PRESP_SUCCESS);
    assert_int_equal(fx->log.pasid, PASID);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 0);
    /* Next request raises a new event. */
    assert_int_equal(prq(fx, RID, VA, 2, true, false), 0);
    assert_int_equal(e->f->nr_msi, msi0 + 2);
    /* An answer for a group nobody asked about: forwarded, counted. */
    respond(fx, 77, VTD_PRESP_INVALID, PASID);
    assert_int_equal(fx->log.code, VTD_PRESP_INVALID);
    {
        struct vgt_iommu_stats st;

        vgt_iommu_get_stats(e->m, &st);
        assert_int_equal(st.prq_unmatched_responses, 1);
    }
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 1);
    respond(fx, 2, VTD_PRESP_INVALID, PASID);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 0);
    /* A response code that does not exist: IQE. */
    respond(fx, 2, 5, PASID);
    assert_true(vtd_mr(e, VTD_REG_FSTS, 4) & VTD_FSTS_IQE);
}

static void test_prq_private_data(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    struct vgt_iommu_prq p = {
        .rid = RID, .has_pasid = true, .pasid = PASID, .read = true, .grp = 3,
        .addr = VA, .has_priv_data = true, .priv_data = {0x1111, 0x2222},
    };

    assert_int_equal(vgt_iommu_page_request(e->m, &p), 0);
    assert_true(vtd_r64(e, e->pq) & VTD_PRQ0_PDP);
    assert_int_equal(vtd_r64(e, e->pq + 16), 0x1111);
    assert_int_equal(vtd_r64(e, e->pq + 24), 0x2222);
    /* Needs a response even without LPIG. */
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 1);
    vtd_qi(e, VTD_INV_PGRP_RESP | VTD_PGRP_PP | VTD_PGRP_PDP | ((uint64_t)RID << 16) |
                  (PASID << 32),
           3ull << 3, 0x1111, 0x2222);
    assert_int_equal(fx->log.responses, 1);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 0);
}

static void test_prq_failure_resets(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;

    for (uint16_t g = 0; g < 4; g++)
        assert_int_equal(prq(fx, RID, VA + g * 4096ull, g, true, false), 0);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 4);
    respond(fx, 0, VTD_PRESP_FAILURE, PASID);
    assert_int_equal(fx->log.code, VTD_PRESP_FAILURE);
    /* The whole function's page-request state is gone. */
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 0);
}

static void test_prq_overflow(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    struct vgt_iommu_stats st;
    uint64_t msi0 = e->f->nr_msi;

    /* 4 KiB holds 128 slots; one stays empty, so 127 fit. */
    for (unsigned i = 0; i < 127; i++)
        assert_int_equal(prq(fx, RID, VA + i * 4096ull, i & 511, false, false), 0);
    assert_false(vtd_mr(e, VTD_REG_PRS, 4) & VTD_PRS_PRO);
    assert_int_equal(e->f->nr_msi, msi0 + 1);
    /* The 128th overflows: PRO, an event, dropped, auto-answered. */
    assert_int_equal(prq(fx, RID, VA, 200, true, false), 0);
    assert_true(vtd_mr(e, VTD_REG_PRS, 4) & VTD_PRS_PRO);
    assert_int_equal(e->f->nr_msi, msi0 + 2);
    assert_int_equal(fx->log.responses, 1);
    assert_int_equal(fx->log.grp, 200);
    assert_int_equal(fx->log.code, VTD_PRESP_SUCCESS);
    /* Dropped while PRO is set, even with room. */
    vtd_mw(e, VTD_REG_PQH, 8, vtd_mr(e, VTD_REG_PQT, 8));
    assert_int_equal(prq(fx, RID, VA, 201, true, false), 0);
    assert_int_equal(fx->log.grp, 201);
    vgt_iommu_get_stats(e->m, &st);
    assert_int_equal(st.prq_dropped, 2);
    assert_int_equal(st.prq_overflows, 1);
    assert_int_equal(st.prq_queued, 127);
    /* Software clears PPR and PRO: accepted again. */
    vtd_mw(e, VTD_REG_PRS, 4, VTD_PRS_PPR | VTD_PRS_PRO);
    assert_int_equal(prq(fx, RID, VA, 202, true, false), 0);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 1);
    /* Drain: a wait with PD completes after what was queued. */
    vtd_qi(e, VTD_INV_WAIT | VTD_WAIT_PD | VTD_WAIT_SW | (7ull << 32), e->status, 0, 0);
    assert_int_equal(vtd_r64(e, e->status) & 0xffffffff, 7);
    /* A head the guest put outside the queue counts as full. */
    vtd_mw(e, VTD_REG_PRS, 4, VTD_PRS_PPR | VTD_PRS_PRO);
    vtd_mw(e, VTD_REG_PQA, 8, e->pq); /* QS=0 */
    vtd_mw(e, VTD_REG_PQH, 8, 0x4000);
    assert_int_equal(prq(fx, RID, VA, 203, true, false), 0);
    assert_true(vtd_mr(e, VTD_REG_PRS, 4) & VTD_PRS_PRO);
}

static void test_prq_without_pre(void **state)
{
    struct fixture *fx = *state;
    struct vtd_env *e = &fx->e;
    uint16_t rid2 = 0x0110;
    struct vgt_iommu_prq p = {.rid = rid2, .has_pasid = true, .pasid = 1, .read = true,
                              .lpig = true, .grp = 4, .addr = VA};
    struct dev_log l2 = {0};

    vtd_sm_context(e, rid2, 0, VTD_SCE_PASIDE | VTD_SCE_DTE, 0);
    assert_int_equal(vgt_iommu_attach_device(e->m, rid2, &dev_ops, &l2), 0);
    assert_int_equal(vgt_iommu_page_request(e->m, &p), 0);
    /* Fault 0x47 recorded, the device told "invalid", nothing queued. */
    assert_int_equal((vtd_mr(e, VTD_MODEL_FRO + 8, 8) >> 32) & 0xff, VTD_FR_SM_PRE_ABS);
    assert_int_equal(l2.responses, 1);
    assert_int_equal(l2.code, VTD_PRESP_INVALID);
    assert_int_equal(vtd_mr(e, VTD_REG_PQT, 8), 0);
    /* Bad messages. */
    p.grp = 512;
    assert_int_equal(vgt_iommu_page_request(e->m, &p), -EINVAL);
    /* Queue outside guest RAM: dropped, answered "invalid". */
    vtd_mw(e, VTD_REG_PQA, 8, 1ull << 40);
    assert_int_equal(prq(fx, RID, VA, 9, true, false), 0);
    assert_int_equal(fx->log.code, VTD_PRESP_INVALID);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_piotlb_page), T(test_piotlb_pasid), T(test_iotlb_granularities),
        T(test_iotlb_global), T(test_pasid_cache), T(test_context_cache),
        T(test_context_cache_bad_granularity), T(test_devtlb),
        T(test_wait_and_errors), T(test_narrow_queue), T(test_prq_basic),
        T(test_prq_private_data), T(test_prq_failure_resets), T(test_prq_overflow),
        T(test_prq_without_pre),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

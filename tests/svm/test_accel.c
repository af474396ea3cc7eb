/* The scenarios of QEMU's iommu-testdev qtests (legacy pass-through,
 * scalable pass-through, second-stage only, first-stage only, nested),
 * run against the VT-d model with the simulated accelerator driving the
 * DMA; plus page requests with success / invalid / failure responses, the
 * device TLB, and PASID isolation. The "guest" here builds tables in fake
 * guest RAM and calls the device's and the IOMMU's handlers directly; the
 * full ioreq path is covered by test_sva_e2e. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vgt/sim_accel.h"
#include "vgt/util.h"
#include "vtd_env.h"

#define RID 0x0028 /* 00:05.0 */
#define DID 3ull

struct fx {
    struct vtd_env e;
    struct sim_accel *acc;
    uint64_t comp; /* completion record page */
    unsigned served, refused;
    bool refuse_all, fail_next;
    uint64_t lazy_pml4; /* map faults into this FS table */
    unsigned ops;
};

/* ---- the port: the accelerator wired straight to the model ---- */

static int p_translate(void *o, const struct sim_accel_xlate *x, struct sim_accel_xlate_res *res)
{
    struct fx *f = o;
    struct vgt_iommu_req r = {.rid = x->rid, .has_pasid = x->has_pasid, .pasid = x->pasid,
                              .priv = x->priv, .exec = x->exec, .write = x->write,
                              .ats = x->ats, .addr = x->addr};
    struct vgt_iommu_result out;
    int ret = vgt_iommu_translate(f->e.m, &r, &out);

    res->gpa = out.gpa;
    res->writable = out.writable;
    res->page_size = out.page_size;
    res->recoverable = out.recoverable;
    return ret;
}

static int p_prq(void *o, const struct sim_accel_prq *p)
{
    struct fx *f = o;
    struct vgt_iommu_prq q = {.rid = p->rid, .has_pasid = p->has_pasid, .pasid = p->pasid,
                              .read = p->read, .write = p->write, .lpig = p->lpig,
                              .grp = p->grp, .addr = p->addr, .priv = p->priv};

    return vgt_iommu_page_request(f->e.m, &q);
}

static int p_read(void *o, uint64_t gpa, void *buf, size_t len)
{
    return vgt_hv_read(&((struct fx *)o)->e.f->hv, gpa, buf, len);
}

static int p_write(void *o, uint64_t gpa, const void *buf, size_t len)
{
    return vgt_hv_write(&((struct fx *)o)->e.f->hv, gpa, buf, len);
}

static int p_msi(void *o, uint64_t addr, uint32_t data)
{
    struct vgt_hv *hv = &((struct fx *)o)->e.f->hv;

    return hv->ops->inject_msi(hv, addr, data);
}

static const struct sim_accel_port_ops port = {p_translate, p_prq, p_read, p_write, p_msi};

static void d_resp(void *o, bool pp, uint32_t pasid, uint16_t grp, unsigned code)
{
    sim_accel_page_response(o, pp, pasid, grp, code);
}

static void d_inval(void *o, bool pp, uint32_t pasid, bool all, uint64_t addr, uint64_t size)
{
    sim_accel_atc_invalidate(o, pp, pasid, all, addr, size);
}

static const struct vgt_iommu_dev_ops devops = {d_resp, d_inval};

static int setup(void **state)
{
    static struct fx f;
    struct sim_accel_cfg c = {.rid = RID, .port = &port, .port_opaque = &f,
                              .response_timeout_ms = 3000};

    memset(&f, 0, sizeof(f));
    vtd_env_init(&f.e, 32ull << 20, 9);
    assert_int_equal(sim_accel_create(&c, &f.acc), 0);
    assert_int_equal(vgt_iommu_attach_device(f.e.m, RID, &devops, f.acc), 0);
    f.comp = vtd_alloc(&f.e);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    sim_accel_destroy(f->acc);
    vtd_env_fini(&f->e);
    return 0;
}

static void dev_enable(struct fx *f, bool pasid, bool ats, bool pri)
{
    uint32_t v;

    assert_int_equal(sim_accel_cfg_read(f->acc, 0, 4, &v), 0);
    assert_int_equal(v, SIM_ACCEL_VENDOR | SIM_ACCEL_DEVICE << 16);
    sim_accel_cfg_write(f->acc, 0x04, 2, 0x6);
    sim_accel_cfg_write(f->acc, SIM_ACCEL_ECAP_PASID + PCI_PASID_CTRL, 2, pasid ? 1 : 0);
    sim_accel_cfg_write(f->acc, SIM_ACCEL_ECAP_ATS + PCI_ATS_CTRL, 2, ats ? PCI_ATS_CTRL_ENABLE : 0);
    sim_accel_cfg_write(f->acc, SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL, 2, pri ? PCI_PRI_CTRL_ENABLE : 0);
    sim_accel_mmio_write(f->acc, SIM_ACCEL_REG_INT_ADDR, 8, 0xfee00000);
    sim_accel_mmio_write(f->acc, SIM_ACCEL_REG_INT_DATA, 8, 0x55 | (1ull << 32));
    sim_accel_mmio_write(f->acc, SIM_ACCEL_REG_CTRL, 4, SIM_ACCEL_CTRL_ENABLE);
}

/* The guest's page-fault handler: map into lazy_pml4, or refuse. */
static void service(struct fx *f)
{
    struct vtd_env *e = &f->e;
    uint64_t head, tail;

    if (!(vtd_mr(e, VTD_REG_PRS, 4) & VTD_PRS_PPR))
        return;
    vtd_mw(e, VTD_REG_PRS, 4, VTD_PRS_PPR);
    head = vtd_mr(e, VTD_REG_PQH, 8);
    tail = vtd_mr(e, VTD_REG_PQT, 8);
    while (head != tail) {
        uint64_t q0 = vtd_r64(e, e->pq + head), q1 = vtd_r64(e, e->pq + head + 8);
        unsigned code = VTD_PRESP_SUCCESS;

        if (f->fail_next) {
            code = VTD_PRESP_FAILURE;
            f->fail_next = false;
        } else if (f->refuse_all || !f->lazy_pml4) {
            code = VTD_PRESP_INVALID;
        } else {
            vtd_fs_map(e, f->lazy_pml4, 4, q1 & VTD_ADDR_MASK, vtd_alloc(e), 4096,
                       VTD_FS_P | VTD_FS_RW | VTD_FS_US);
        }
        if (code == VTD_PRESP_SUCCESS)
            f->served++;
        else
            f->refused++;
        head = (head + 32) % 4096;
        vtd_mw(e, VTD_REG_PQH, 8, head);
        vtd_qi(e, VTD_INV_PGRP_RESP | (q0 & VTD_PRQ0_PP ? VTD_PGRP_PP : 0) | ((uint64_t)code << 12) |
                      ((uint64_t)VTD_PRQ0_RID(q0) << 16) | ((uint64_t)VTD_PRQ0_PASID(q0) << 32),
               (q1 & VTD_PRQ1_LPIG) | ((uint64_t)VTD_PRQ1_IDX(q1) << 3), 0, 0);
    }
}

/* Submit and wait (servicing page requests) until the device is done. */
static void run(struct fx *f, uint32_t pasid, unsigned op, uint64_t src, uint64_t dst,
                   uint32_t size, uint64_t comp_addr, uint8_t *result)
{
    uint64_t d[8] = {pasid | ((uint64_t)op << 32) | SIM_ACCEL_FLAG_RCR | SIM_ACCEL_FLAG_RCI |
                         SIM_ACCEL_FLAG_BOF,
                     comp_addr, src, dst, size, 0, 0, 0};
    uint64_t start = vgt_now_ns();
    struct sim_accel_stats st;
    uint64_t before;

    sim_accel_get_stats(f->acc, &st);
    before = st.completed + st.failed;
    for (unsigned i = 0; i < 8; i++)
        sim_accel_mmio_write(f->acc, SIM_ACCEL_PORTAL + 8 * i, 8, d[i]);
    for (;;) {
        sim_accel_get_stats(f->acc, &st);
        if (st.completed + st.failed > before)
            break;
        service(f);
        assert_true(vgt_now_ns() - start < 5000000000ull);
    }
    f->ops++;
    (void)result;
}

/* The completion record, read as the guest would (at a guest-physical
 * address: the tests map the record at the same page everywhere). */
static uint8_t record(struct fx *f, uint64_t gpa, uint8_t *result)
{
    uint8_t rec[2];

    assert_int_equal(fake_hv_guest_read(f->e.f, gpa, rec, 2), 0);
    if (result)
        *result = rec[1];
    return rec[0];
}

static void fill_gpa(struct fx *f, uint64_t gpa, uint8_t seed)
{
    uint8_t b[4096];

    for (unsigned i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(seed + i * 7);
    assert_int_equal(fake_hv_guest_write(f->e.f, gpa, b, sizeof(b)), 0);
}

static void check_gpa(struct fx *f, uint64_t gpa, uint8_t seed)
{
    uint8_t b[4096];

    assert_int_equal(fake_hv_guest_read(f->e.f, gpa, b, sizeof(b)), 0);
    for (unsigned i = 0; i < sizeof(b); i++)
        assert_int_equal(b[i], (uint8_t)(seed + i * 7));
}

/* ---- scenarios ---- */

static void test_legacy_passthrough(void **state)
{
    struct fx *f = *state;
    uint64_t src = vtd_alloc(&f->e), dst = vtd_alloc(&f->e);

    vtd_enable(&f->e, false);
    vtd_legacy_context(&f->e, RID, VTD_CE_P | (VTD_CE_TT_PT << VTD_CE_TT_SHIFT), 2 | (DID << 8));
    dev_enable(f, false, false, false);
    fill_gpa(f, src, 1);
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, src, dst, 4096, f->comp, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    check_gpa(f, dst, 1);
    /* Outside guest RAM: the device's DMA fails, nothing else happens. */
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, src, f->e.ram + 4096, 4096, f->comp, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_DMA_ERROR);
}

static void test_scalable_passthrough(void **state)
{
    struct fx *f = *state;
    uint64_t src = vtd_alloc(&f->e), dst = vtd_alloc(&f->e), dir;

    vtd_enable(&f->e, true);
    dir = vtd_sm_context(&f->e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 0);
    vtd_pasid_entry(&f->e, dir, 0, VTD_PE0_P | ((uint64_t)VTD_PGTT_PT << 6), DID, 0);
    vtd_pasid_entry(&f->e, dir, 7, VTD_PE0_P | ((uint64_t)VTD_PGTT_PT << 6), DID, 0);
    /* Without PASID (RID_PASID 0), through ATS. */
    dev_enable(f, false, true, false);
    fill_gpa(f, src, 2);
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, src, dst, 4096, f->comp, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    check_gpa(f, dst, 2);
    /* With PASID 7. */
    dev_enable(f, true, true, false);
    fill_gpa(f, src, 3);
    run(f, 7, SIM_ACCEL_OP_MEMMOVE, src, dst, 4096, f->comp, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    check_gpa(f, dst, 3);
    /* PASID 8 has no entry: the ATS request fails, not recoverable; the
     * completion record cannot be written either (same PASID). */
    run(f, 8, SIM_ACCEL_OP_MEMMOVE, src, dst, 4096, f->comp, NULL);
    assert_int_equal((vtd_mr(&f->e, VTD_MODEL_FRO + 8, 8) >> 32) & 0xff, VTD_FR_PASID_ENTRY_P);
}

static void test_second_stage(void **state)
{
    struct fx *f = *state;
    struct vtd_env *e = &f->e;
    uint64_t ss = vtd_alloc(e), dir, src = vtd_alloc(e), dst = vtd_alloc(e), comp = vtd_alloc(e);

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 0);
    vtd_ss_map(e, ss, 4, 0x80000000, src, 4096, VTD_SS_R);
    vtd_ss_map(e, ss, 4, 0x80001000, dst, 4096, VTD_SS_R | VTD_SS_W);
    vtd_ss_map(e, ss, 4, 0x8000f000, comp, 4096, VTD_SS_R | VTD_SS_W);
    vtd_pasid_entry(e, dir, 0, VTD_PE0_P | (2 << 2) | ((uint64_t)VTD_PGTT_SS << 6) | ss, DID, 0);
    dev_enable(f, false, true, false);
    fill_gpa(f, src, 4);
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, 0x80000000, 0x80001000, 4096, 0x8000f000, NULL);
    assert_int_equal(record(f, comp, NULL), SIM_ACCEL_ST_SUCCESS);
    check_gpa(f, dst, 4);
    /* A read-only IOVA as destination: no PRI, so a page fault. */
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, 0x80001000, 0x80000000, 4096, 0x8000f000, NULL);
    assert_int_equal(record(f, comp, NULL), SIM_ACCEL_ST_PAGE_FAULT);
    check_gpa(f, src, 4);
    /* Untranslated requests (ATS off) record the fault. */
    dev_enable(f, false, false, false);
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, 0x80001000, 0x80000000, 4096, 0x8000f000, NULL);
    assert_int_equal(record(f, comp, NULL), SIM_ACCEL_ST_DMA_ERROR);
    assert_int_equal((vtd_mr(e, VTD_MODEL_FRO + 8, 8) >> 32) & 0xff, VTD_FR_WRITE);
}

static void test_first_stage_with_faults(void **state)
{
    struct fx *f = *state;
    struct vtd_env *e = &f->e;
    uint64_t pml4 = vtd_alloc(e), dir, src = vtd_alloc(e);
    uint64_t va = 0x7f0000000000ull;
    uint8_t buf[4096];
    struct sim_accel_stats st;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 0);
    vtd_fs_map(e, pml4, 4, va, src, 4096, VTD_FS_P | VTD_FS_US);
    vtd_fs_map(e, pml4, 4, va + 0x100000, f->comp, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_pasid_entry(e, dir, 4, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, pml4);
    dev_enable(f, true, true, true);
    fill_gpa(f, src, 5);
    /* Destination absent: two page requests, the guest maps them. */
    f->lazy_pml4 = pml4;
    run(f, 4, SIM_ACCEL_OP_MEMMOVE, va, va + 0x10000, 4096, va + 0x100000, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    run(f, 4, SIM_ACCEL_OP_MEMMOVE, va, va + 0x10800, 4096, va + 0x100020, NULL);
    assert_int_equal(record(f, f->comp + 32, NULL), SIM_ACCEL_ST_SUCCESS);
    assert_int_equal(f->served, 2);
    sim_accel_get_stats(f->acc, &st);
    assert_int_equal(st.resp_success, 2);
    /* Read the destination back through the device (compare). */
    run(f, 4, SIM_ACCEL_OP_COMPARE, va, va + 0x10800, 0x800, va + 0x100040, NULL);
    {
        uint8_t res;

        assert_int_equal(record(f, f->comp + 64, &res), SIM_ACCEL_ST_SUCCESS);
        assert_int_equal(res, 0);
    }
    (void)buf;
    /* Refused: invalid response, the op fails with a page fault. */
    f->refuse_all = true;
    run(f, 4, SIM_ACCEL_OP_FILL, 0x1111, va + 0x40000, 64, va + 0x100060, NULL);
    assert_int_equal(record(f, f->comp + 96, NULL), SIM_ACCEL_ST_PAGE_FAULT);
    sim_accel_get_stats(f->acc, &st);
    assert_int_equal(st.resp_invalid, 1);
    /* Failure: the function's PRI stops (RF) until software resets it. */
    f->refuse_all = false;
    f->fail_next = true;
    run(f, 4, SIM_ACCEL_OP_FILL, 0x2222, va + 0x50000, 64, va + 0x100080, NULL);
    assert_int_equal(record(f, f->comp + 128, NULL), SIM_ACCEL_ST_PRI_STOPPED);
    {
        uint32_t s;

        sim_accel_cfg_read(f->acc, SIM_ACCEL_ECAP_PRI + PCI_PRI_STATUS, 2, &s);
        assert_true(s & PCI_PRI_STATUS_RF);
        run(f, 4, SIM_ACCEL_OP_FILL, 0x2222, va + 0x50000, 64, va + 0x1000a0, NULL);
        assert_int_equal(record(f, f->comp + 160, NULL), SIM_ACCEL_ST_PRI_STOPPED);
        sim_accel_cfg_write(f->acc, SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_RESET);
        sim_accel_cfg_write(f->acc, SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE);
        sim_accel_cfg_read(f->acc, SIM_ACCEL_ECAP_PRI + PCI_PRI_STATUS, 2, &s);
        assert_false(s & PCI_PRI_STATUS_RF);
    }
    run(f, 4, SIM_ACCEL_OP_FILL, 0x2222, va + 0x50000, 64, va + 0x1000c0, NULL);
    assert_int_equal(record(f, f->comp + 192, NULL), SIM_ACCEL_ST_SUCCESS);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 0);
}

/* Requests without PASID use RID_PASID; their page requests carry no
 * PASID and the response matches on the group alone. */
static void test_rid_pasid_page_requests(void **state)
{
    struct fx *f = *state;
    struct vtd_env *e = &f->e;
    uint64_t pml4 = vtd_alloc(e), dir, src = vtd_alloc(e), q0;
    uint64_t va = 0x3000000;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 9);
    vtd_fs_map(e, pml4, 4, va, src, 4096, VTD_FS_P | VTD_FS_US);
    vtd_fs_map(e, pml4, 4, va + 0x100000, f->comp, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_pasid_entry(e, dir, 9, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, pml4);
    dev_enable(f, false, true, true);
    fill_gpa(f, src, 8);
    f->lazy_pml4 = pml4;
    run(f, 0, SIM_ACCEL_OP_MEMMOVE, va, va + 0x8000, 4096, va + 0x100000, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    assert_int_equal(f->served, 1);
    q0 = vtd_r64(e, e->pq);
    assert_false(q0 & VTD_PRQ0_PP);
    assert_int_equal(VTD_PRQ0_PASID(q0), 0);
    assert_int_equal(VTD_PRQ0_RID(q0), RID);
    assert_int_equal(vgt_iommu_prq_outstanding(e->m), 0);
}

static void test_nested(void **state)
{
    struct fx *f = *state;
    struct vtd_env *e = &f->e;
    uint64_t ss = vtd_alloc(e), dir, src = vtd_alloc(e), dst = vtd_alloc(e);
    uint64_t pml4 = vtd_alloc(e), pdpt = vtd_alloc(e), pd = vtd_alloc(e), pt = vtd_alloc(e);
    uint64_t va = 0x400000000ull; /* 16 GiB */
    uint64_t base = 0x40000000;   /* second-stage IOVAs of everything */

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 0);
    /* The second stage maps the FS tables, the data and the record. */
    vtd_ss_map(e, ss, 4, base + 0x0000, pml4, 4096, VTD_SS_R | VTD_SS_W);
    vtd_ss_map(e, ss, 4, base + 0x1000, pdpt, 4096, VTD_SS_R | VTD_SS_W);
    vtd_ss_map(e, ss, 4, base + 0x2000, pd, 4096, VTD_SS_R | VTD_SS_W);
    vtd_ss_map(e, ss, 4, base + 0x3000, pt, 4096, VTD_SS_R | VTD_SS_W);
    vtd_ss_map(e, ss, 4, base + 0x4000, src, 4096, VTD_SS_R);
    vtd_ss_map(e, ss, 4, base + 0x5000, dst, 4096, VTD_SS_R | VTD_SS_W);
    vtd_ss_map(e, ss, 4, base + 0x6000, f->comp, 4096, VTD_SS_R | VTD_SS_W);
    vtd_w64(e, pml4 + 8 * ((va >> 39) & 511), (base + 0x1000) | 7);
    vtd_w64(e, pdpt + 8 * ((va >> 30) & 511), (base + 0x2000) | 7);
    vtd_w64(e, pd + 8 * ((va >> 21) & 511), (base + 0x3000) | 7);
    vtd_w64(e, pt + 0, (base + 0x4000) | 5);  /* va: src, read-only */
    vtd_w64(e, pt + 8, (base + 0x5000) | 7);  /* va+4K: dst */
    vtd_w64(e, pt + 16, (base + 0x6000) | 7); /* va+8K: record */
    vtd_pasid_entry(e, dir, 2, VTD_PE0_P | (2 << 2) | ((uint64_t)VTD_PGTT_NESTED << 6) | ss, DID,
                    base);
    dev_enable(f, true, true, true);
    fill_gpa(f, src, 6);
    run(f, 2, SIM_ACCEL_OP_MEMMOVE, va, va + 0x1000, 4096, va + 0x2000, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    check_gpa(f, dst, 6);
    assert_true(vtd_r64(e, pt + 8) & VTD_FS_D);
    assert_true(vtd_r64(e, pt) & VTD_FS_A);
    assert_false(vtd_r64(e, pt) & VTD_FS_D);
}

/* A device-TLB entry outlives an IOTLB-only invalidation; the device-TLB
 * invalidation removes it (SVM.md: PASID cache, IOTLB, then device TLB). */
static void test_device_tlb(void **state)
{
    struct fx *f = *state;
    struct vtd_env *e = &f->e;
    uint64_t pml4 = vtd_alloc(e), dir, a = vtd_alloc(e), b = vtd_alloc(e), leaf;
    uint64_t va = 0x5000000ull;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 0);
    leaf = vtd_fs_map(e, pml4, 4, va, a, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_fs_map(e, pml4, 4, va + 0x100000, f->comp, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_pasid_entry(e, dir, 6, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), DID, pml4);
    dev_enable(f, true, true, true);
    run(f, 6, SIM_ACCEL_OP_FILL, 0xaaaaaaaaaaaaaaaaull, va, 4096, va + 0x100000, NULL);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    /* The guest moves the page to B and invalidates only the IOTLB. */
    vtd_w64(e, leaf, b | VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_qi(e, VTD_INV_PIOTLB | (VTD_PIOTLB_G_PAGE << 4) | (DID << 16) | (6ull << 32), va, 0, 0);
    run(f, 6, SIM_ACCEL_OP_FILL, 0xbbbbbbbbbbbbbbbbull, va, 4096, va + 0x100020, NULL);
    /* The device still wrote A (its ATC): the bug a missing device-TLB
     * invalidation causes. */
    assert_int_equal(vtd_r64(e, a), 0xbbbbbbbbbbbbbbbbull);
    assert_int_equal(vtd_r64(e, b), 0);
    vtd_qi(e, VTD_INV_PDEVTLB | ((uint64_t)RID << 16) | (6ull << 32), va, 0, 0);
    assert_true(vtd_qi_wait(e));
    run(f, 6, SIM_ACCEL_OP_FILL, 0xccccccccccccccccull, va, 4096, va + 0x100040, NULL);
    assert_int_equal(vtd_r64(e, b), 0xccccccccccccccccull);
    assert_int_equal(vtd_r64(e, a), 0xbbbbbbbbbbbbbbbbull);
}

/* Two PASIDs map the same VA to different pages; each op reaches only
 * its own; unbinding one leaves the other working. */
static void test_pasid_isolation(void **state)
{
    struct fx *f = *state;
    struct vtd_env *e = &f->e;
    uint64_t p1 = vtd_alloc(e), p2 = vtd_alloc(e), dir, pa = vtd_alloc(e), pb = vtd_alloc(e);
    uint64_t comp2 = vtd_alloc(e), va = 0x600000;

    vtd_enable(e, true);
    dir = vtd_sm_context(e, RID, 0, VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE, 0);
    vtd_fs_map(e, p1, 4, va, pa, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_fs_map(e, p2, 4, va, pb, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_fs_map(e, p1, 4, va + 0x10000, f->comp, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_fs_map(e, p2, 4, va + 0x10000, comp2, 4096, VTD_FS_P | VTD_FS_RW | VTD_FS_US);
    vtd_pasid_entry(e, dir, 10, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), 10, p1);
    vtd_pasid_entry(e, dir, 11, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), 11, p2);
    dev_enable(f, true, true, true);
    run(f, 10, SIM_ACCEL_OP_FILL, 0x1010101010101010ull, va, 4096, va + 0x10000, NULL);
    run(f, 11, SIM_ACCEL_OP_FILL, 0x2020202020202020ull, va, 4096, va + 0x10000, NULL);
    assert_int_equal(vtd_r64(e, pa + 4088), 0x1010101010101010ull);
    assert_int_equal(vtd_r64(e, pb + 4088), 0x2020202020202020ull);
    assert_int_equal(record(f, f->comp, NULL), SIM_ACCEL_ST_SUCCESS);
    assert_int_equal(record(f, comp2, NULL), SIM_ACCEL_ST_SUCCESS);
    /* Unbind PASID 10 (entry cleared, caches and device TLB flushed). */
    vtd_w64(e, vtd_pasid_entry(e, dir, 10, 0, 10, p1), 0);
    vtd_qi(e, VTD_INV_PC | (VTD_PC_G_PASID << 4) | (10ull << 16) | (10ull << 32), 0, 0, 0);
    vtd_qi(e, VTD_INV_PIOTLB | (VTD_PIOTLB_G_PASID << 4) | (10ull << 16) | (10ull << 32), 0, 0, 0);
    vtd_qi(e, VTD_INV_PDEVTLB | ((uint64_t)RID << 16) | (10ull << 32), VTD_PDEVTLB_G, 0, 0);
    run(f, 10, SIM_ACCEL_OP_FILL, 0x3030303030303030ull, va, 4096, va + 0x10000, NULL);
    assert_int_equal(vtd_r64(e, pa + 4088), 0x1010101010101010ull);
    run(f, 11, SIM_ACCEL_OP_FILL, 0x4040404040404040ull, va, 4096, va + 0x10000, NULL);
    assert_int_equal(vtd_r64(e, pb), 0x4040404040404040ull);
}

/* Two guests: the same tables in each reach only that guest's memory;
 * a pointer to where the other guest's RAM would be is just a fault. */
static void test_guest_isolation(void **state)
{
    struct fx *f = *state;
    struct vtd_env e2;
    struct vgt_iommu_result r;
    uint64_t dir1, dir2, pml1, pml2, d1, d2;

    (void)f;
    vtd_env_init(&e2, 16ull << 20, 77);
    vtd_enable(&f->e, true);
    vtd_enable(&e2, true);
    dir1 = vtd_sm_context(&f->e, RID, 0, VTD_SCE_PASIDE, 0);
    dir2 = vtd_sm_context(&e2, RID, 0, VTD_SCE_PASIDE, 0);
    pml1 = vtd_alloc(&f->e);
    pml2 = vtd_alloc(&e2);
    d1 = vtd_alloc(&f->e);
    d2 = vtd_alloc(&e2);
    vtd_fs_map(&f->e, pml1, 4, 0x1000, d1, 4096, VTD_FS_P | VTD_FS_US);
    vtd_fs_map(&e2, pml2, 4, 0x1000, d2, 4096, VTD_FS_P | VTD_FS_US);
    vtd_pasid_entry(&f->e, dir1, 1, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), 1, pml1);
    vtd_pasid_entry(&e2, dir2, 1, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), 1, pml2);
    assert_int_equal(vtd_xlate(&f->e, RID, true, 1, 0x1000, false, false, &r), 0);
    assert_int_equal(r.gpa, d1);
    assert_int_equal(vtd_xlate(&e2, RID, true, 1, 0x1000, false, false, &r), 0);
    assert_int_equal(r.gpa, d2);
    /* Guest 2 points a table past its 16 MiB (guest 1 has 32 MiB). */
    vtd_fs_map(&e2, pml2, 4, 0x2000, (20ull << 20), 4096, VTD_FS_P | VTD_FS_US);
    assert_int_equal(vtd_xlate(&e2, RID, true, 1, 0x2000, false, false, &r), 0);
    {
        uint8_t b[8];

        /* The translation is only a number: the DMA through guest 2's
         * p2m fails. */
        assert_int_equal(vgt_hv_read(&e2.f->hv, r.gpa, b, 8), -EFAULT);
    }
    vtd_w64(&e2, pml2, (20ull << 20) | 7);
    vtd_qi(&e2, VTD_INV_PIOTLB | (VTD_PIOTLB_G_PASID << 4) | (1ull << 16) | (1ull << 32), 0, 0, 0);
    assert_int_equal(vtd_xlate(&e2, RID, true, 1, 0x1000, false, false, &r), -EFAULT);
    assert_int_equal(r.fault, VTD_FR_FS_ENTRY_INV);
    vtd_env_fini(&e2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_legacy_passthrough), T(test_scalable_passthrough), T(test_second_stage),
        T(test_first_stage_with_faults), T(test_rid_pasid_page_requests), T(test_nested), T(test_device_tlb),
        T(test_pasid_isolation), T(test_guest_isolation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

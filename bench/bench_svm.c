/* vgt bench svm [--json]: the emulated VT-d IOMMU and the SVA accelerator.
 *
 * 1. Translation cost on an IOTLB hit and on a miss (a full nested walk:
 *    four first-stage levels, each table and the result through a
 *    four-level second stage), against a plain read of the same 8 bytes
 *    of guest memory through the hv seam.
 * 2. Accelerator copy throughput on a process's virtual addresses (first
 *    stage, all pages present), against the same copy through pinned
 *    second-stage-only mappings (PGTT 2: what a non-SVA assignment uses).
 * 3. The page-fault round trip on the full path (device page request ->
 *    IOMMU page request queue -> guest fault handler through ioreqs ->
 *    page group response -> device retry), per faulting page, against the
 *    same copy with the pages present.
 * Parts 1 and 2 drive the model and the device directly (no guest); part
 * 3 runs the guest driver on the simulated machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/bench.h"
#include "vgt/iommu.h"
#include "vgt/sim_accel.h"
#include "vgt/sim_hv.h"
#include "vgt/sim_sva.h"
#include "vgt/svm_sim.h"
#include "vgt/util.h"
#include "vgt_bench.h"

#define RID 0x0028
#define PG 4096ull

struct rig {
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_guest *g;
    struct vgt_hv *seam;
    struct vgt_iommu *mmu;
    struct sim_accel *acc;
    uint64_t next, root, dir, iq;
};

static uint64_t ralloc(struct rig *r)
{
    static const uint8_t zero[PG];
    uint64_t p = r->next;

    r->next += PG;
    vgt_hv_write(r->seam, p, zero, PG);
    return p;
}

static void w64(struct rig *r, uint64_t gpa, uint64_t v)
{
    vgt_hv_write(r->seam, gpa, &v, 8);
}

static uint64_t r64(struct rig *r, uint64_t gpa)
{
    uint64_t v = 0;

    vgt_hv_read(r->seam, gpa, &v, 8);
    return v;
}

/* Map va -> pa (4 KiB) in a 4-level table; intermediate bits tb. */
static void map(struct rig *r, uint64_t root, uint64_t va, uint64_t pa, uint64_t leaf, uint64_t tb)
{
    uint64_t t = root;

    for (unsigned l = 4; l > 1; l--) {
        uint64_t ea = t + 8 * ((va >> (12 + 9 * (l - 1))) & 511), e = r64(r, ea);

        if (!e) {
            e = ralloc(r) | tb;
            w64(r, ea, e);
        }
        t = e & VGT_GENMASK(47, 12);
    }
    w64(r, t + 8 * ((va >> 12) & 511), pa | leaf);
}

/* ---- the device's port, wired straight to the model ---- */

static int p_xl(void *o, const struct sim_accel_xlate *x, struct sim_accel_xlate_res *res)
{
    struct rig *r = o;
    struct vgt_iommu_req q = {.rid = x->rid, .has_pasid = x->has_pasid, .pasid = x->pasid,
                              .write = x->write, .ats = x->ats, .addr = x->addr};
    struct vgt_iommu_result out;
    int ret = vgt_iommu_translate(r->mmu, &q, &out);

    res->gpa = out.gpa;
    res->writable = out.writable;
    res->recoverable = out.recoverable;
    return ret;
}

static int p_prq(void *o, const struct sim_accel_prq *p)
{
    (void)o;
    (void)p;
    return -EIO; /* parts 1-2 have every page present */
}

static int p_rd(void *o, uint64_t gpa, void *b, size_t n)
{
    return vgt_hv_read(((struct rig *)o)->seam, gpa, b, n);
}

static int p_wr(void *o, uint64_t gpa, const void *b, size_t n)
{
    return vgt_hv_write(((struct rig *)o)->seam, gpa, b, n);
}

static int p_msi(void *o, uint64_t a, uint32_t d)
{
    (void)o, (void)a, (void)d;
    return 0;
}

static const struct sim_accel_port_ops port = {p_xl, p_prq, p_rd, p_wr, p_msi};

static void d_inval(void *o, bool pp, uint32_t pasid, bool all, uint64_t a, uint64_t s)
{
    sim_accel_atc_invalidate(o, pp, pasid, all, a, s);
}

static const struct vgt_iommu_dev_ops devops = {NULL, d_inval};

static int rig_create(struct rig *r, unsigned iotlb)
{
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = 1, .ram_bytes = 256ull << 20, .nr_vcpus = 1};
    struct vgt_iommu_cfg mc = {0};
    struct sim_accel_cfg ac = {.rid = RID, .port = &port};
    uint64_t ct;
    int ret;

    memset(r, 0, sizeof(*r));
    if ((ret = sim_arena_create(320ull << 20, &r->arena)))
        return ret;
    hc.arena = r->arena;
    if ((ret = sim_hv_create(&hc, &r->hv)) || (ret = sim_guest_create(r->hv, &gc, &r->g)))
        return ret;
    r->seam = sim_guest_hv(r->g);
    mc.hv = r->seam;
    mc.iotlb_entries = iotlb;
    if ((ret = vgt_iommu_create(&mc, &r->mmu)))
        return ret;
    ac.port_opaque = r;
    if ((ret = sim_accel_create(&ac, &r->acc)))
        return ret;
    vgt_iommu_attach_device(r->mmu, RID, &devops, r->acc);
    r->next = 0x100000;
    r->root = ralloc(r);
    ct = ralloc(r);
    r->dir = ralloc(r);
    r->iq = ralloc(r);
    w64(r, r->root, ct | 1);
    w64(r, ct + 32 * (RID & 0x7f), r->dir | VTD_SCE_P | VTD_SCE_DTE | VTD_SCE_PASIDE);
    vgt_iommu_mmio_write(r->mmu, VTD_REG_RTADDR, 8, r->root | VTD_RTADDR_SMT);
    vgt_iommu_mmio_write(r->mmu, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
    vgt_iommu_mmio_write(r->mmu, VTD_REG_IQA, 8, r->iq | VTD_IQA_DW);
    vgt_iommu_mmio_write(r->mmu, VTD_REG_GCMD, 4, VTD_GCMD_QIE | VTD_GCMD_TE);
    sim_accel_cfg_write(r->acc, 0x04, 2, 6);
    sim_accel_cfg_write(r->acc, SIM_ACCEL_ECAP_PASID + PCI_PASID_CTRL, 2, 1);
    sim_accel_cfg_write(r->acc, SIM_ACCEL_ECAP_ATS + PCI_ATS_CTRL, 2, PCI_ATS_CTRL_ENABLE);
    sim_accel_mmio_write(r->acc, SIM_ACCEL_REG_CTRL, 4, 1);
    return 0;
}

static void rig_destroy(struct rig *r)
{
    sim_accel_destroy(r->acc);
    vgt_iommu_destroy(r->mmu);
    if (r->g)
        sim_guest_destroy(r->g);
    if (r->hv)
        sim_hv_destroy(r->hv);
    sim_arena_destroy(r->arena);
}

static uint64_t pasid_entry(struct rig *r, uint32_t pasid, uint64_t q0, uint64_t q1, uint64_t q2)
{
    uint64_t de = r->dir + 8 * (pasid >> 6), t = r64(r, de), pe;

    if (!t) {
        t = ralloc(r) | 1;
        w64(r, de, t);
    }
    pe = (t & VTD_ADDR_MASK) + 64 * (pasid & 63);
    w64(r, pe + 8, q1);
    w64(r, pe + 16, q2);
    w64(r, pe, q0);
    return pe;
}

/* Nested PASID 1: FS tables at IOVAs the SS maps 1:1 (IOVA == GPA). */
static void build_nested(struct rig *r, uint64_t va, uint64_t data)
{
    uint64_t ss = ralloc(r), pml4 = ralloc(r), pdpt = ralloc(r), pd = ralloc(r), pt = ralloc(r);

    w64(r, pml4 + 8 * ((va >> 39) & 511), pdpt | 7);
    w64(r, pdpt + 8 * ((va >> 30) & 511), pd | 7);
    w64(r, pd + 8 * ((va >> 21) & 511), pt | 7);
    w64(r, pt + 8 * ((va >> 12) & 511), data | 7 | VTD_FS_A | VTD_FS_D);
    w64(r, pt + 8 * (((va >> 12) + 1) & 511), (data + PG) | 7 | VTD_FS_A | VTD_FS_D);
    for (uint64_t p = 0x100000; p < r->next + 16 * PG; p += PG)
        map(r, ss, p, p, VTD_SS_R | VTD_SS_W, 7);
    pasid_entry(r, 1, VTD_PE0_P | (2 << 2) | ((uint64_t)VTD_PGTT_NESTED << 6) | ss, 1, pml4);
}

static double per_op_ns(uint64_t t0, uint64_t n)
{
    return (double)(vgt_now_ns() - t0) / (double)n;
}

static int bench_translate(int json)
{
    struct rig hit, miss;
    uint64_t va = 0x7f0000000000ull, data, v, t0, n = 200000;
    struct vgt_iommu_req q = {.rid = RID, .has_pasid = true, .pasid = 1, .addr = va};
    struct vgt_iommu_result res;
    double t_hit, t_miss, t_read;
    int ret;

    if ((ret = rig_create(&hit, 0)) || (ret = rig_create(&miss, 1)))
        return ret;
    data = ralloc(&hit);
    ralloc(&hit);
    build_nested(&hit, va, data);
    data = ralloc(&miss);
    ralloc(&miss);
    build_nested(&miss, va, data);

    if (vgt_iommu_translate(hit.mmu, &q, &res)) {
        fprintf(stderr, "bench svm: translation failed (fault %#x)\n", res.fault);
        return -EIO;
    }
    t0 = vgt_now_ns();
    for (uint64_t i = 0; i < n; i++)
        vgt_iommu_translate(hit.mmu, &q, &res);
    t_hit = per_op_ns(t0, n);
    /* One-entry IOTLB, two pages alternately: every lookup misses. */
    t0 = vgt_now_ns();
    for (uint64_t i = 0; i < n / 4; i++) {
        q.addr = va + (i & 1) * PG;
        vgt_iommu_translate(miss.mmu, &q, &res);
    }
    t_miss = per_op_ns(t0, n / 4);
    t0 = vgt_now_ns();
    for (uint64_t i = 0; i < n; i++)
        vgt_hv_read(hit.seam, data + (i & 7) * 8, &v, 8);
    t_read = per_op_ns(t0, n);
    {
        struct vgt_bench_fig f1 = {"svm", "translate_iotlb_hit", t_hit, "ns", t_read,
                                   "plain 8-byte guest read (hv seam)", NULL};
        struct vgt_bench_fig f2 = {"svm", "translate_iotlb_miss_nested_walk", t_miss, "ns", t_read,
                                   "plain 8-byte guest read (hv seam)", NULL};

        vgt_bench_emit(stdout, json, &f1);
        vgt_bench_emit(stdout, json, &f2);
    }
    rig_destroy(&hit);
    rig_destroy(&miss);
    return 0;
}

/* Copy @bytes with the device @reps times on PASID @pasid. MB/s. */
static double copy_rate(struct rig *r, uint32_t pasid, uint64_t src, uint64_t dst, uint64_t comp,
                        uint32_t bytes, unsigned reps)
{
    uint64_t t0 = vgt_now_ns();

    for (unsigned i = 0; i < reps; i++) {
        uint64_t d[8] = {pasid | ((uint64_t)SIM_ACCEL_OP_MEMMOVE << 32) | SIM_ACCEL_FLAG_RCR,
                         comp, src, dst, bytes, 0, 0, 0};

        while (1) {
            uint64_t occ;

            sim_accel_mmio_read(r->acc, SIM_ACCEL_REG_WQ_OCC, 4, &occ);
            if (occ < 16)
                break;
            sim_accel_wait_idle(r->acc, 1);
        }
        for (unsigned k = 0; k < 8; k++)
            sim_accel_mmio_write(r->acc, SIM_ACCEL_PORTAL + 8 * k, 8, d[k]);
    }
    sim_accel_wait_idle(r->acc, 60000);
    return (double)bytes * reps / ((double)(vgt_now_ns() - t0) / 1e9) / 1e6;
}

static int bench_throughput(int json)
{
    struct rig r;
    const uint32_t bytes = 256 << 10;
    const unsigned pages = bytes / PG, reps = 64;
    uint64_t pml4, ss, src, dst, comp, va = 0x10000000, iova = 0x40000000;
    struct sim_accel_stats st;
    double fs, pinned;
    int ret;

    if ((ret = rig_create(&r, 0)))
        return ret;
    pml4 = ralloc(&r);
    ss = ralloc(&r);
    comp = ralloc(&r);
    src = r.next;
    for (unsigned i = 0; i < 2 * pages; i++)
        ralloc(&r);
    dst = src + (uint64_t)pages * PG;
    for (unsigned i = 0; i < pages; i++) {
        map(&r, pml4, va + i * PG, src + i * PG, 7 | VTD_FS_A, 7);
        map(&r, pml4, va + (pages + i) * PG, dst + i * PG, 7 | VTD_FS_A | VTD_FS_D, 7);
        map(&r, ss, iova + i * PG, src + i * PG, VTD_SS_R | VTD_SS_W, 7);
        map(&r, ss, iova + (pages + i) * PG, dst + i * PG, VTD_SS_R | VTD_SS_W, 7);
    }
    map(&r, pml4, va - PG, comp, 7 | VTD_FS_A | VTD_FS_D, 7);
    map(&r, ss, iova - PG, comp, VTD_SS_R | VTD_SS_W, 7);
    pasid_entry(&r, 2, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6), 2, pml4);
    pasid_entry(&r, 3, VTD_PE0_P | (2 << 2) | ((uint64_t)VTD_PGTT_SS << 6) | ss, 3, 0);
    copy_rate(&r, 2, va, va + pages * PG, va - PG, bytes, 2); /* warm */
    fs = copy_rate(&r, 2, va, va + pages * PG, va - PG, bytes, reps);
    copy_rate(&r, 3, iova, iova + pages * PG, iova - PG, bytes, 2);
    pinned = copy_rate(&r, 3, iova, iova + pages * PG, iova - PG, bytes, reps);
    sim_accel_get_stats(r.acc, &st);
    if (st.failed) {
        fprintf(stderr, "bench svm: %llu copies failed\n", (unsigned long long)st.failed);
        rig_destroy(&r);
        return -EIO;
    }
    {
        struct vgt_bench_fig f = {"svm", "accel_copy_sva_first_stage", fs, "MB/s", pinned,
                                  "same copy through pinned second-stage-only mappings",
                                  "ratio>=0.9"};

        vgt_bench_emit(stdout, json, &f);
    }
    rig_destroy(&r);
    return 0;
}

/* ---- part 3: the full path ---- */

static int bench_fault_round_trip(int json)
{
    struct vgt_svm_machine *m;
    struct sim_sva_cfg dc = {0};
    struct sim_sva *drv;
    struct sim_sva_mm *mm;
    const unsigned pages = 64;
    uint64_t src = 0x10000000, dst = 0x20000000, comp = 0x30000000, t0;
    double t_fault = 0, t_present = 0;
    uint8_t st;
    int ret;

    if ((ret = vgt_svm_machine_create(1, 128ull << 20, 1, NULL, &m)))
        return ret;
    dc.g = m->g;
    dc.iommu_base = VGT_SVM_SIM_IOMMU_BASE;
    dc.ecam_base = VGT_SVM_SIM_ECAM_BASE;
    dc.bus = VGT_SVM_SIM_BUS;
    dc.dev = VGT_SVM_SIM_DEV;
    dc.fn = VGT_SVM_SIM_FN;
    dc.bar0 = VGT_SVM_SIM_BAR0;
    dc.mem_base = 16ull << 20;
    dc.mem_size = 96ull << 20;
    dc.msi_addr = 0xfee00000;
    dc.fault_vec = 0x40;
    dc.prq_vec = 0x41;
    dc.inv_vec = 0x42;
    dc.dev_vec = 0x43;
    if ((ret = sim_sva_probe(&dc, &drv)))
        goto destroy_machine;
    if ((ret = sim_sva_mm_create(drv, 0, &mm)) || (ret = sim_sva_bind(mm, 0)) ||
        (ret = sim_sva_mm_populate(mm, 0, src, pages * PG, true)) ||
        (ret = sim_sva_mm_populate(mm, 0, comp, PG, true)) ||
        (ret = sim_sva_mm_reserve(mm, dst, pages * PG, true)))
        goto remove;
    for (unsigned round = 0; round < 4 && !ret; round++) {
        /* absent destination: one page request per page */
        t0 = vgt_now_ns();
        ret = sim_sva_submit(mm, 0, SIM_ACCEL_OP_MEMMOVE, src, dst, pages * PG, comp);
        if (!ret)
            ret = sim_sva_wait(mm, 0, comp, 20000, &st, NULL);
        if (!ret && st != SIM_ACCEL_ST_SUCCESS)
            ret = -EIO;
        t_fault += (double)(vgt_now_ns() - t0);
        /* same copy, pages present now */
        t0 = vgt_now_ns();
        if (!ret)
            ret = sim_sva_submit(mm, 0, SIM_ACCEL_OP_MEMMOVE, src, dst, pages * PG, comp);
        if (!ret)
            ret = sim_sva_wait(mm, 0, comp, 20000, &st, NULL);
        if (!ret && st != SIM_ACCEL_ST_SUCCESS)
            ret = -EIO;
        t_present += (double)(vgt_now_ns() - t0);
        if (!ret)
            ret = sim_sva_mm_unmap(mm, 0, dst, pages * PG);
        if (!ret)
            ret = sim_sva_mm_reserve(mm, dst, pages * PG, true);
    }
    if (!ret) {
        struct vgt_bench_fig f = {"svm", "page_fault_round_trip_per_page",
                                  t_fault / (4.0 * pages) / 1000.0, "us",
                                  t_present / (4.0 * pages) / 1000.0,
                                  "same copy per page with the pages present", NULL};

        vgt_bench_emit(stdout, json, &f);
    }
remove:
    sim_sva_mm_destroy(mm, 0);
    sim_sva_remove(drv, 0);
destroy_machine:
    vgt_svm_machine_destroy(m);
    return ret;
}

int vgt_bench_svm(int argc, char **argv)
{
    int json = 0, ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "usage: vgt bench svm [--json]\n");
            return 2;
        }
    }
    if ((ret = bench_translate(json)) || (ret = bench_throughput(json)) ||
        (ret = bench_fault_round_trip(json))) {
        fprintf(stderr, "vgt bench svm: %s\n", strerror(-ret));
        return 1;
    }
    return 0;
}

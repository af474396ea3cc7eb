/* The SVA workload (see vgt/svm_workload.h). Everything the "guest" does
 * goes through sim/guest/sva.c, i.e. through MMIO ioreqs, config space,
 * its RAM and interrupts. */
#include "vgt/svm_workload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/sim_accel.h"
#include "vgt/sim_sva.h"
#include "vgt/svm_sim.h"
#include "vgt/util.h"

#define VA_SRC 0x10000000ull
#define VA_DST 0x20000000ull
#define VA_FIL 0x30000000ull
#define VA_COMP 0x40000000ull
#define VA_BAD 0x50000000ull
#define PG 4096ull
#define DRV_MEM_BASE 0x1000000ull /* the driver's pool starts at 16 MiB */

struct proc {
    struct sim_sva *drv;
    const struct vgt_sva_opts *o;
    unsigned id;
    unsigned nop;
    struct vgt_sva_report r; /* this process's part */
    pthread_mutex_t *lock;
};

static uint8_t pat(unsigned proc, unsigned round, uint64_t i)
{
    return (uint8_t)(proc * 131 + round * 7 + i * 13 + (i >> 12) * 3 + 1);
}

static int op(struct proc *p, struct sim_sva_mm *mm, unsigned vcpu, unsigned opc, uint64_t src,
              uint64_t dst, uint32_t size, uint8_t want_status, int want_result)
{
    uint64_t comp = VA_COMP + 32ull * (p->nop++ % 128);
    uint8_t st = 0, res = 0;
    int ret;

    for (int tries = 0;; tries++) {
        ret = sim_sva_submit(mm, vcpu, opc, src, dst, size, comp);
        if (ret != -EBUSY || tries > 1000)
            break;
        sim_sva_service(p->drv, vcpu);
    }
    if (ret)
        return ret;
    p->r.ops++;
    ret = sim_sva_wait(mm, vcpu, comp, 10000, &st, &res);
    if (ret)
        return ret;
    if (st != want_status || (want_result >= 0 && res != want_result)) {
        vgt_err(p->o->log, "sva: proc %u op %u: status %#x result %u, expected %#x/%d", p->id,
                opc, st, res, want_status, want_result);
        p->r.ops_bad++;
        return 0;
    }
    if (st == SIM_ACCEL_ST_SUCCESS)
        p->r.ops_ok++;
    else
        p->r.ops_expected_fault++;
    return 0;
}

static int verify(struct proc *p, struct sim_sva_mm *mm, unsigned vcpu, uint64_t va,
                  uint64_t len, unsigned round, bool fill, uint64_t fillpat)
{
    uint8_t buf[PG];

    for (uint64_t off = 0; off < len; off += PG) {
        int ret = sim_sva_mm_read(mm, vcpu, va + off, buf, PG);

        if (ret)
            return ret;
        for (uint64_t i = 0; i < PG; i++) {
            uint8_t want = fill ? (uint8_t)(fillpat >> (8 * ((off + i) & 7)))
                                : pat(p->id, round, off + i);

            if (buf[i] != want)
                p->r.mismatches++;
        }
        p->r.bytes_verified += PG;
    }
    return 0;
}

static int run_proc(struct sim_guest *g, unsigned vcpu, void *opaque)
{
    struct proc *p = (struct proc *)opaque + vcpu;
    struct sim_sva_mm *mm;
    uint64_t len = (uint64_t)p->o->pages * PG;
    uint8_t *buf = malloc(len);
    int ret;

    (void)g;
    if (!buf)
        return -ENOMEM;
    ret = sim_sva_mm_create(p->drv, vcpu, &mm);
    if (ret)
        goto free_buf;
    if ((ret = sim_sva_bind(mm, vcpu)) ||
        (ret = sim_sva_mm_populate(mm, vcpu, VA_SRC, len, true)) ||
        (ret = sim_sva_mm_reserve(mm, VA_DST, len, true)) ||
        (ret = sim_sva_mm_populate(mm, vcpu, VA_FIL, len / 2, true)) ||
        (ret = sim_sva_mm_reserve(mm, VA_FIL + len / 2, len - len / 2, true)) ||
        (ret = sim_sva_mm_populate(mm, vcpu, VA_COMP, PG, true)))
        goto destroy_mm;
    for (unsigned round = 0; round < p->o->rounds; round++) {
        uint64_t fillpat = 0x0123456789abcdefull ^ ((uint64_t)p->id << 56) ^ round;

        for (uint64_t i = 0; i < len; i++)
            buf[i] = pat(p->id, round, i);
        if ((ret = sim_sva_mm_write(mm, vcpu, VA_SRC, buf, len)))
            goto destroy_mm;
        /* copy into absent pages (round 0) or partly re-absent ones */
        if ((ret = op(p, mm, vcpu, SIM_ACCEL_OP_MEMMOVE, VA_SRC, VA_DST, (uint32_t)len,
                      SIM_ACCEL_ST_SUCCESS, -1)) ||
            (ret = verify(p, mm, vcpu, VA_DST, len, round, false, 0)))
            goto destroy_mm;
        if ((ret = op(p, mm, vcpu, SIM_ACCEL_OP_FILL, fillpat, VA_FIL, (uint32_t)len,
                      SIM_ACCEL_ST_SUCCESS, -1)) ||
            (ret = verify(p, mm, vcpu, VA_FIL, len, round, true, fillpat)))
            goto destroy_mm;
        if ((ret = op(p, mm, vcpu, SIM_ACCEL_OP_COMPARE, VA_SRC, VA_DST, (uint32_t)len,
                      SIM_ACCEL_ST_SUCCESS, 0)) ||
            (ret = op(p, mm, vcpu, SIM_ACCEL_OP_COMPARE, VA_SRC, VA_FIL, (uint32_t)len,
                      SIM_ACCEL_ST_SUCCESS, 1)))
            goto destroy_mm;
        /* never mapped: the guest refuses the page request */
        if ((ret = op(p, mm, vcpu, SIM_ACCEL_OP_MEMMOVE, VA_SRC, VA_BAD, (uint32_t)PG,
                      SIM_ACCEL_ST_PAGE_FAULT, -1)))
            goto destroy_mm;
        /* give back half the destination: the next copy faults again */
        if ((ret = sim_sva_mm_unmap(mm, vcpu, VA_DST, len / 2)))
            goto destroy_mm;
    }
    ret = sim_sva_unbind(mm, vcpu);
destroy_mm:
    sim_sva_mm_destroy(mm, vcpu);
free_buf:
    free(buf);
    if (ret)
        vgt_err(p->o->log, "sva: process %u failed: %s", p->id, strerror(-ret));
    return ret;
}

int vgt_sva_run(const struct vgt_sva_opts *oin, struct vgt_sva_report *r)
{
    struct vgt_sva_opts o = *oin;
    struct vgt_svm_machine *m;
    struct sim_sva_cfg dc = {0};
    struct sim_sva *drv;
    struct proc *p;
    struct sim_sva_stats ds;
    struct sim_accel_stats as;
    struct vgt_iommu_stats is;
    struct sim_guest_stats gs;
    uint64_t t0;
    int ret;

    memset(r, 0, sizeof(*r));
    if (!o.procs)
        o.procs = 2;
    if (!o.pages)
        o.pages = 16;
    if (!o.rounds)
        o.rounds = 2;
    if (o.procs > 8 || o.pages > 256 || o.rounds > 1000)
        return -EINVAL;
    p = calloc(o.procs, sizeof(*p));
    if (!p)
        return -ENOMEM;
    ret = vgt_svm_machine_create(1, 128ull << 20, o.procs, o.log, &m);
    if (ret)
        goto free_p;
    dc.g = m->g;
    dc.vcpu = 0;
    dc.iommu_base = VGT_SVM_SIM_IOMMU_BASE;
    dc.ecam_base = VGT_SVM_SIM_ECAM_BASE;
    dc.bus = VGT_SVM_SIM_BUS;
    dc.dev = VGT_SVM_SIM_DEV;
    dc.fn = VGT_SVM_SIM_FN;
    dc.bar0 = VGT_SVM_SIM_BAR0;
    dc.mem_base = DRV_MEM_BASE;
    dc.mem_size = 96ull << 20;
    dc.msi_addr = 0xfee00000;
    dc.fault_vec = 0x40;
    dc.prq_vec = 0x41;
    dc.inv_vec = 0x42;
    dc.dev_vec = 0x43;
    dc.log = o.log;
    t0 = vgt_now_ns();
    ret = sim_sva_probe(&dc, &drv);
    if (ret) {
        vgt_err(o.log, "sva: probe failed: %s", strerror(-ret));
        goto destroy_machine;
    }
    for (unsigned i = 0; i < o.procs; i++) {
        p[i].drv = drv;
        p[i].o = &o;
        p[i].id = i;
    }
    ret = sim_guest_run_vcpus(m->g, o.procs, run_proc, p);
    r->seconds = (double)(vgt_now_ns() - t0) / 1e9;
    for (unsigned i = 0; i < o.procs; i++) {
        r->ops += p[i].r.ops;
        r->ops_ok += p[i].r.ops_ok;
        r->ops_expected_fault += p[i].r.ops_expected_fault;
        r->ops_bad += p[i].r.ops_bad;
        r->bytes_verified += p[i].r.bytes_verified;
        r->mismatches += p[i].r.mismatches;
    }
    sim_sva_get_stats(drv, &ds);
    sim_accel_get_stats(m->svm->acc, &as);
    vgt_iommu_get_stats(m->svm->mmu, &is);
    sim_guest_get_stats(m->g, &gs);
    r->page_requests = as.page_requests;
    r->prq_served = ds.prq_served;
    r->prq_refused = ds.prq_refused;
    r->faults_recorded = ds.faults_seen;
    r->iotlb_hits = is.iotlb_hits;
    r->iotlb_misses = is.iotlb_misses;
    r->invalidations = ds.invalidations;
    r->atc_hits = as.atc_hits;
    r->atc_misses = as.atc_misses;
    r->atc_invalidations = as.atc_invalidations;
    r->ioreqs = gs.ioreqs;
    r->msis = ds.msi_seen;
    sim_sva_remove(drv, 0);
    if (!ret && (r->ops_bad || r->mismatches || r->ops == 0))
        ret = -EIO;
destroy_machine:
    vgt_svm_machine_destroy(m);
free_p:
    free(p);
    return ret;
}

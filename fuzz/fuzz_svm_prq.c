/* Fuzz the VT-d model's page request path: PRI page requests from the
 * devices behind the unit, the guest's page request queue registers (PQH,
 * PQA, PRS, the event registers), and the page group responses it queues
 * on the invalidation queue, interleaved as the input says.
 *
 * Input: byte 0 picks the queue size and whether the queue lies outside
 * guest RAM; then 8-byte operations (see run_op()).
 * Invariants: no crash, no access outside guest RAM (ASan); every page
 * request that needs a response (last in group or private data) from an
 * attached device is answered at once or tracked as outstanding, never
 * both and never neither; and a "failure" response (a PRI reset) from the guest forgets every group of
 * that function, so after one per device nothing is outstanding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/iommu.h"
#include "fuzz_guest.h"
#include "vgt/sim_hv.h"

#define RID_A 0x0028 /* context with PRE */
#define RID_B 0x0030 /* context without PRE (FPD from the input) */
#define RID_X 0x0040 /* no device attached, no context */
#define BASE 0x100000ull
#define ROOT (BASE)
#define CTX (BASE + 0x1000)
#define DIR (BASE + 0x2000)
#define IQ (BASE + 0x3000)
#define STATUS (BASE + 0x4000)
#define PQ (BASE + 0x8000) /* up to 8 pages */
#define OUTSIDE 0xfff00000ull
#define IQ_SIZE 0x1000ull
#define NDESC 8 /* 256-bit descriptors per QI submission at most */

struct prq_fuzz {
    struct vgt_hv *hv;
    struct vgt_iommu *m;
    uint64_t responses; /* page_response callbacks for RID_A and RID_B */
    uint64_t pq_base, pq_size;
    unsigned outstanding; /* vgt_iommu_prq_outstanding(), if known */
    bool known;           /* no response went in since it was counted */
};

static void w64(struct vgt_hv *hv, uint64_t gpa, uint64_t v)
{
    if (vgt_hv_write(hv, gpa, &v, 8))
        abort(); /* harness set-up inside guest RAM */
}

static void dev_resp(void *o, bool pp, uint32_t pasid, uint16_t grp, unsigned code)
{
    struct prq_fuzz *f = o;

    (void)pp, (void)pasid, (void)grp, (void)code;
    f->responses++;
}

static void dev_inval(void *o, bool pp, uint32_t pasid, bool all, uint64_t a, uint64_t s)
{
    (void)o, (void)pp, (void)pasid, (void)all, (void)a, (void)s;
}

static const struct vgt_iommu_dev_ops devops = {dev_resp, dev_inval};

static void context(struct vgt_hv *hv, uint16_t rid, uint64_t lo)
{
    uint64_t e = CTX + 32 * (rid & 0x7f);

    w64(hv, e, lo);
    w64(hv, e + 8, 0);
    w64(hv, e + 16, 0);
    w64(hv, e + 24, 0);
}

/* Restart the invalidation queue after an error (the bad descriptor would
 * stop it again at IQH), the way a guest driver recovers. */
static void qi_restart(struct prq_fuzz *f)
{
    vgt_iommu_mmio_write(f->m, VTD_REG_GCMD, 4, VTD_GCMD_TE);
    vgt_iommu_mmio_write(f->m, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
    vgt_iommu_mmio_write(f->m, VTD_REG_IQT, 8, 0);
    vgt_iommu_mmio_write(f->m, VTD_REG_IQA, 8, IQ | VTD_IQA_DW);
    vgt_iommu_mmio_write(f->m, VTD_REG_GCMD, 4, VTD_GCMD_QIE | VTD_GCMD_TE);
}

/* Queue n 256-bit descriptors at IQT and move the tail. */
static void qi_submit(struct prq_fuzz *f, const uint64_t (*d)[4], unsigned n)
{
    uint64_t tail = 0, fsts = 0;

    vgt_iommu_mmio_read(f->m, VTD_REG_FSTS, 4, &fsts);
    if (fsts & VTD_FSTS_IQE)
        qi_restart(f);
    vgt_iommu_mmio_read(f->m, VTD_REG_IQT, 8, &tail);
    for (unsigned i = 0; i < n; i++) {
        vgt_hv_write(f->hv, IQ + tail, d[i], 32);
        tail = (tail + 32) % IQ_SIZE;
    }
    vgt_iommu_mmio_write(f->m, VTD_REG_IQT, 8, tail);
    f->known = false; /* responses may have matched groups */
}

static uint64_t resp_desc0(uint16_t rid, bool pp, uint32_t pasid, unsigned code)
{
    return VTD_INV_PGRP_RESP | (pp ? VTD_PGRP_PP : 0) | ((uint64_t)(code & 0xf) << 12) |
           ((uint64_t)rid << 16) | ((uint64_t)(pasid & 0xfffff) << 32);
}

/* The guest's page request handler: every request between PQH and PQT
 * that needs a response gets one (code from the input), PQH moves to PQT,
 * PPR is cleared. */
static void guest_drain(struct prq_fuzz *f, uint8_t code_sel)
{
    static const unsigned codes[4] = {VTD_PRESP_SUCCESS, VTD_PRESP_INVALID, VTD_PRESP_FAILURE, 0x3};
    uint64_t head = 0, tail = 0, d[NDESC][4];
    unsigned n = 0, steps = 0;

    vgt_iommu_mmio_read(f->m, VTD_REG_PQH, 8, &head);
    vgt_iommu_mmio_read(f->m, VTD_REG_PQT, 8, &tail);
    while (head != tail && head < f->pq_size && steps++ < 4096) {
        uint64_t r[4];

        if (vgt_hv_read(f->hv, f->pq_base + head, r, sizeof(r)))
            break;
        if ((r[1] & VTD_PRQ1_LPIG) || (r[0] & VTD_PRQ0_PDP)) {
            memset(d[n], 0, sizeof(d[n]));
            d[n][0] = resp_desc0(VTD_PRQ0_RID(r[0]), r[0] & VTD_PRQ0_PP, VTD_PRQ0_PASID(r[0]),
                                 codes[(code_sel + n) & 3]);
            d[n][1] = (uint64_t)VTD_PRQ1_IDX(r[1]) << 3;
            if (++n == NDESC) {
                qi_submit(f, (const uint64_t(*)[4])d, n);
                n = 0;
            }
        }
        head = (head + VTD_PRQ_DESC_SIZE) % f->pq_size;
    }
    if (n)
        qi_submit(f, (const uint64_t(*)[4])d, n);
    vgt_iommu_mmio_write(f->m, VTD_REG_PQH, 8, tail);
    vgt_iommu_mmio_write(f->m, VTD_REG_PRS, 4, VTD_PRS_PPR);
}

static void device_request(struct prq_fuzz *f, const uint8_t *b)
{
    static const uint16_t rids[4] = {RID_A, RID_B, RID_X, RID_A};
    struct vgt_iommu_prq p = {
        .rid = rids[b[1] & 3],
        .has_pasid = b[1] & 4,
        .pasid = (uint32_t)b[2] | (uint32_t)b[3] << 8 | ((b[1] & 8) ? 1u << 20 : 0),
        .exec = b[4] & 1,
        .priv = b[4] & 2,
        .read = b[4] & 4,
        .write = b[4] & 8,
        .lpig = b[4] & 0x10,
        .has_priv_data = b[4] & 0x20,
        .grp = (uint16_t)(b[5] | (b[1] & 0x30) << 4), /* up to 1023: >= 512 is refused */
        .addr = (uint64_t)b[6] << 12 | (uint64_t)b[7] << 40,
        .priv_data = {0x1111, 0x2222},
    };
    bool answer = (p.lpig || p.has_priv_data) && p.rid != RID_X;
    uint64_t resp = f->responses;
    unsigned before;
    int ret;

    /* Counting walks every group slot: only where the answer matters. */
    if (answer && !f->known) {
        f->outstanding = vgt_iommu_prq_outstanding(f->m);
        f->known = true;
    }
    before = f->outstanding;
    ret = vgt_iommu_page_request(f->m, &p);
    if (ret || !answer) {
        if (f->responses != resp)
            abort(); /* a refused message, or one without a group, needs no answer */
        return;
    }
    f->outstanding = vgt_iommu_prq_outstanding(f->m);
    if ((f->responses - resp) + (f->outstanding - before) != 1)
        abort(); /* answered twice, or left hanging untracked */
}

static void run_op(struct prq_fuzz *f, const uint8_t *b)
{
    uint64_t v;

    memcpy(&v, b + 2, 6); /* low 48 bits: a register value */
    v &= 0xffffffffffffull;
    switch (b[0] & 7) {
    case 0:
    case 1:
        device_request(f, b);
        break;
    case 2:
        guest_drain(f, b[1]);
        break;
    case 3: {
        /* A register of the page request side, any value. */
        static const struct {
            uint16_t off;
            uint8_t size;
        } regs[8] = {{VTD_REG_PQH, 8}, {VTD_REG_PQT, 8}, {VTD_REG_PQA, 8}, {VTD_REG_PRS, 4},
                     {VTD_REG_PECTL, 4}, {VTD_REG_PEDATA, 4}, {VTD_REG_PEADDR, 4},
                     {VTD_REG_GCMD, 4}};
        unsigned r = b[1] & 7;

        if (regs[r].off == VTD_REG_PQA)
            v = (v & 7) | ((v & 8) ? OUTSIDE : f->pq_base);
        if (regs[r].off == VTD_REG_GCMD) /* keep queued invalidation on */
            v = (v & VTD_GCMD_TE) | VTD_GCMD_QIE;
        vgt_iommu_mmio_write(f->m, regs[r].off, regs[r].size, v);
        if (regs[r].off == VTD_REG_PQA && !vgt_iommu_mmio_read(f->m, VTD_REG_PQA, 8, &v)) {
            f->pq_base = v & VTD_PQA_ADDR_MASK;
            f->pq_size = 4096ull << (v & VTD_PQA_QS_MASK);
        }
        break;
    }
    case 4: {
        /* A page group response with fields from the input. */
        uint64_t d[1][4] = {{resp_desc0(b[1] & 1 ? RID_B : RID_A, b[1] & 2,
                                        (uint32_t)b[2] | (uint32_t)b[3] << 8, b[4]),
                             (uint64_t)(b[5] | (b[1] & 0x30) << 4) << 3 | (b[6] & 3), 0, 0}};

        if (b[1] & 0x40)
            d[0][0] |= VTD_PGRP_PDP | VTD_PGRP_LPIG;
        if (b[1] & 0x80)
            d[0][0] |= (uint64_t)b[7] << 56; /* reserved bits */
        qi_submit(f, (const uint64_t(*)[4])d, 1);
        break;
    }
    case 5: {
        /* The guest changes RID_A's context (PRE, FPD) and invalidates
         * the context cache. */
        uint64_t d[2][4] = {{VTD_INV_CC | (VTD_CC_G_GLOBAL << 4), 0, 0, 0},
                            {VTD_INV_WAIT | VTD_WAIT_PD, 0, 0, 0}};
        uint64_t lo = DIR | VTD_SCE_P | VTD_SCE_PASIDE | VTD_SCE_DTE;

        if (b[1] & 1)
            lo |= VTD_SCE_PRE;
        if (b[1] & 2)
            lo |= VTD_SCE_FPD;
        context(f->hv, (b[1] & 4) ? RID_B : RID_A, lo);
        qi_submit(f, (const uint64_t(*)[4])d, 2);
        break;
    }
    case 6:
        /* Translation off and on: page requests need TE. */
        vgt_iommu_mmio_write(f->m, VTD_REG_GCMD, 4, VTD_GCMD_QIE | ((b[1] & 1) ? VTD_GCMD_TE : 0));
        break;
    default: {
        uint64_t r;

        vgt_iommu_mmio_read(f->m, (b[1] & 0x1f) * 8 + 0xc0, (b[1] & 0x20) ? 4 : 8, &r);
        /* The overflow bit is write-1-to-clear. */
        vgt_iommu_mmio_write(f->m, VTD_REG_PRS, 4, b[2] & (VTD_PRS_PPR | VTD_PRS_PRO));
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_guest *g = fuzz_sim_guest();
    struct prq_fuzz f = {.hv = sim_guest_hv(g)};
    struct vgt_iommu_cfg cfg = {.hv = f.hv};
    static uint8_t zero[0x10000];
    uint64_t fail[2][4] = {{resp_desc0(RID_A, false, 0, VTD_PRESP_FAILURE), 0, 0, 0},
                           {resp_desc0(RID_B, false, 0, VTD_PRESP_FAILURE), 0, 0, 0}};

    if (size < 1)
        return 0;
    vgt_hv_write(f.hv, BASE, zero, sizeof(zero));
    if (vgt_iommu_create(&cfg, &f.m))
        abort();
    vgt_iommu_attach_device(f.m, RID_A, &devops, &f);
    vgt_iommu_attach_device(f.m, RID_B, &devops, &f);
    w64(f.hv, ROOT, CTX | 1);
    context(f.hv, RID_A, DIR | VTD_SCE_P | VTD_SCE_PASIDE | VTD_SCE_PRE | VTD_SCE_DTE);
    context(f.hv, RID_B, DIR | VTD_SCE_P | VTD_SCE_PASIDE | VTD_SCE_DTE |
                              ((data[0] & 0x40) ? VTD_SCE_FPD : 0));
    vgt_iommu_mmio_write(f.m, VTD_REG_RTADDR, 8, ROOT | VTD_RTADDR_SMT);
    vgt_iommu_mmio_write(f.m, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
    vgt_iommu_mmio_write(f.m, VTD_REG_IQA, 8, IQ | VTD_IQA_DW);
    f.pq_base = (data[0] & 0x80) ? OUTSIDE : PQ;
    f.pq_size = 4096ull << (data[0] & 3);
    vgt_iommu_mmio_write(f.m, VTD_REG_PQA, 8, f.pq_base | (data[0] & 3));
    vgt_iommu_mmio_write(f.m, VTD_REG_PECTL, 4, (data[0] & 4) ? (1u << 31) : 0);
    vgt_iommu_mmio_write(f.m, VTD_REG_GCMD, 4, VTD_GCMD_QIE | VTD_GCMD_TE);
    for (size_t i = 1; i + 8 <= size; i += 8)
        run_op(&f, data + i);
    /* A PRI reset of both functions forgets every group. */
    qi_submit(&f, (const uint64_t(*)[4])fail, 2);
    if (vgt_iommu_prq_outstanding(f.m))
        abort();
    vgt_iommu_destroy(f.m);
    return 0;
}

/* Fuzz the VT-d model's invalidation queue: the input is a run of 32-byte
 * descriptors the guest queued (any type, any fields), then the tail it
 * writes. Invariants: no crash, no access outside guest RAM (ASan), and
 * after the harness changes a mapping and queues a correct invalidation
 * sequence (clearing any queue error first), the new translation is seen
 * (nothing stale survives). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/iommu.h"
#include "fuzz_guest.h"
#include "vgt/sim_hv.h"

#define RID 0x0028
#define BASE 0x100000ull
#define ROOT (BASE)
#define CTX (BASE + 0x1000)
#define DIR (BASE + 0x2000)
#define PT_TABLE (BASE + 0x3000)
#define IQ (BASE + 0x4000)
#define PQ (BASE + 0x5000)
#define FS (BASE + 0x6000) /* 4 pages: pml4, pdpt, pd, pt */
#define PAGE_A (BASE + 0xa000)
#define PAGE_B (BASE + 0xb000)
#define STATUS (BASE + 0xc000)

static void w64(struct vgt_hv *hv, uint64_t gpa, uint64_t v)
{
    if (vgt_hv_write(hv, gpa, &v, 8))
        abort();
}

static void dev_resp(void *o, bool pp, uint32_t pasid, uint16_t grp, unsigned code)
{
    (void)o, (void)pp, (void)pasid, (void)grp, (void)code;
}

static void dev_inval(void *o, bool pp, uint32_t pasid, bool all, uint64_t a, uint64_t s)
{
    (void)o, (void)pp, (void)pasid, (void)all, (void)a, (void)s;
}

static const struct vgt_iommu_dev_ops devops = {dev_resp, dev_inval};

/* A scalable context, PASID 1 first-stage, VA 0x1000 -> page. */
static void tables(struct vgt_hv *hv, uint64_t page)
{
    w64(hv, ROOT, CTX | 1);
    w64(hv, CTX + 32 * (RID & 0x7f), DIR | VTD_SCE_P | VTD_SCE_PASIDE | VTD_SCE_PRE | VTD_SCE_DTE);
    w64(hv, CTX + 32 * (RID & 0x7f) + 8, 0);
    w64(hv, CTX + 32 * (RID & 0x7f) + 16, 0);
    w64(hv, CTX + 32 * (RID & 0x7f) + 24, 0);
    w64(hv, DIR, PT_TABLE | 1);
    w64(hv, PT_TABLE + 64 + 8, 1);
    w64(hv, PT_TABLE + 64 + 16, FS);
    for (unsigned i = 3; i < 8; i++)
        w64(hv, PT_TABLE + 64 + 8 * i, 0);
    w64(hv, PT_TABLE + 64, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << 6));
    w64(hv, FS, (FS + 0x1000) | 7);
    w64(hv, FS + 0x1000, (FS + 0x2000) | 7);
    w64(hv, FS + 0x2000, (FS + 0x3000) | 7);
    w64(hv, FS + 0x3000 + 8, page | 7);
}

static uint64_t xlate(struct vgt_iommu *m)
{
    struct vgt_iommu_req r = {.rid = RID, .has_pasid = true, .pasid = 1, .addr = 0x1000};
    struct vgt_iommu_result res;

    return vgt_iommu_translate(m, &r, &res) ? ~0ull : res.gpa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_guest *g = fuzz_sim_guest();
    struct vgt_hv *hv = sim_guest_hv(g);
    struct vgt_iommu_cfg cfg = {.hv = hv};
    struct vgt_iommu *m;
    static uint8_t zero[0x10000];
    size_t n = size / 32;
    uint64_t tail, iqa;

    if (size < 2)
        return 0;
    vgt_hv_write(hv, BASE, zero, sizeof(zero));
    if (vgt_iommu_create(&cfg, &m))
        abort();
    vgt_iommu_attach_device(m, RID, &devops, NULL);
    tables(hv, PAGE_A);
    vgt_iommu_mmio_write(m, VTD_REG_RTADDR, 8, ROOT | VTD_RTADDR_SMT);
    vgt_iommu_mmio_write(m, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
    /* Width and size from the first byte; the queue holds the input. */
    iqa = IQ | ((data[0] & 1) ? VTD_IQA_DW : 0);
    vgt_iommu_mmio_write(m, VTD_REG_IQA, 8, iqa);
    vgt_iommu_mmio_write(m, VTD_REG_PQA, 8, PQ);
    vgt_iommu_mmio_write(m, VTD_REG_GCMD, 4, VTD_GCMD_QIE | VTD_GCMD_TE);
    if (xlate(m) != PAGE_A)
        abort();
    /* The guest's descriptors; the mapping changes meanwhile. */
    if (n > 127)
        n = 127;
    if (n)
        vgt_hv_write(hv, IQ, data + (size - n * 32), n * 32);
    w64(hv, FS + 0x3000 + 8, PAGE_B | 7);
    tail = (data[1] & 0x80) ? ((uint64_t)data[1] << 4) : n * ((data[0] & 1) ? 32 : 16);
    vgt_iommu_mmio_write(m, VTD_REG_IQT, 8, tail);
    xlate(m);
    {
        struct vgt_iommu_prq p = {.rid = RID, .has_pasid = true, .pasid = 1, .read = true,
                                  .lpig = true, .grp = data[1], .addr = 0x2000};

        vgt_iommu_page_request(m, &p);
    }
    /* The descriptors may have written guest memory (status writes):
     * rebuild the tables, restart the queue, and invalidate everything. */
    tables(hv, PAGE_B);
    vgt_iommu_mmio_write(m, VTD_REG_GCMD, 4, VTD_GCMD_TE);
    vgt_iommu_mmio_write(m, VTD_REG_FSTS, 4, 0x7d);
    vgt_iommu_mmio_write(m, VTD_REG_IQT, 8, 0);
    vgt_iommu_mmio_write(m, VTD_REG_IQA, 8, IQ | VTD_IQA_DW);
    vgt_iommu_mmio_write(m, VTD_REG_GCMD, 4, VTD_GCMD_QIE | VTD_GCMD_TE);
    {
        uint64_t d[4][4] = {
            {VTD_INV_CC | (VTD_CC_G_GLOBAL << 4), 0, 0, 0},
            {VTD_INV_PC | (VTD_PC_G_GLOBAL << 4), 0, 0, 0},
            {VTD_INV_PIOTLB | (VTD_PIOTLB_G_PASID << 4) | (1ull << 16) | (1ull << 32), 0, 0, 0},
            {VTD_INV_WAIT | VTD_WAIT_SW | (0x5eedull << 32), STATUS, 0, 0},
        };
        uint32_t st = 0;

        vgt_hv_write(hv, STATUS, &st, 4);
        vgt_hv_write(hv, IQ, d, sizeof(d));
        vgt_iommu_mmio_write(m, VTD_REG_IQT, 8, sizeof(d));
        vgt_hv_read(hv, STATUS, &st, 4);
        if (st != 0x5eed)
            abort();
    }
    if (xlate(m) != PAGE_B)
        abort(); /* a stale translation survived its invalidation */
    vgt_iommu_destroy(m);
    return 0;
}

/* The guest-side SVA driver (see vgt/sim_sva.h). It plays the guest
 * kernel: VT-d facts come from vgt/vtd.h (the guest's copy of the
 * hardware header), accelerator facts from vgt/sim_accel.h. */
#include "vgt/sim_sva.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/sim_accel.h"
#include "vgt/util.h"
#include "vgt/vtd.h"

#define MAX_MMS 16
#define MAX_REGIONS 16
#define PAGE 4096ull
#define IQ_BYTES 4096ull  /* one page of 256-bit descriptors: 128 */
#define PQ_BYTES 4096ull  /* one page of page requests: 128 */
#define FS_TABLE (VTD_FS_P | VTD_FS_RW | VTD_FS_US)

struct region {
    uint64_t va, len;
    bool writable;
};

struct sim_sva_mm {
    struct sim_sva *drv;
    uint64_t pml4;
    uint32_t pasid; /* 0: not bound */
    struct region reg[MAX_REGIONS];
    unsigned nreg;
};

struct sim_sva {
    struct sim_sva_cfg cfg;
    pthread_mutex_t lock;
    struct sim_guest *g;
    uint16_t rid;
    uint64_t root, ctx, dir, iq, pq, status;
    uint64_t iq_tail;
    uint32_t seq;
    uint64_t gcmd;
    unsigned wq_depth;
    uint64_t next_page, end_page;
    uint64_t *free_pages;
    size_t nfree, free_cap;
    struct sim_sva_mm *mms[MAX_MMS];
    uint32_t next_pasid;
    struct sim_sva_stats st;
};

/* ---- guest CPU accesses ---- */

static int mr(struct sim_sva *d, unsigned vcpu, uint64_t off, unsigned size, uint64_t *v)
{
    return sim_guest_mmio_read(d->g, vcpu, d->cfg.iommu_base + off, size, v);
}

static int mw(struct sim_sva *d, unsigned vcpu, uint64_t off, unsigned size, uint64_t v)
{
    return sim_guest_mmio_write(d->g, vcpu, d->cfg.iommu_base + off, size, v);
}

static int rd64(struct sim_sva *d, unsigned vcpu, uint64_t gpa, uint64_t *v)
{
    return sim_guest_ram_read(d->g, vcpu, gpa, v, 8);
}

static int wr64(struct sim_sva *d, unsigned vcpu, uint64_t gpa, uint64_t v)
{
    return sim_guest_ram_write(d->g, vcpu, gpa, &v, 8);
}

static uint64_t ecam(struct sim_sva *d, unsigned off)
{
    return d->cfg.ecam_base + ((uint64_t)d->cfg.bus << 20) + ((uint64_t)d->cfg.dev << 15) +
           ((uint64_t)d->cfg.fn << 12) + off;
}

static int ecam_read(struct sim_sva *d, unsigned vcpu, unsigned off, unsigned size, uint64_t *v)
{
    return sim_guest_mmio_read(d->g, vcpu, ecam(d, off), size, v);
}

static int ecam_write(struct sim_sva *d, unsigned vcpu, unsigned off, unsigned size, uint64_t v)
{
    return sim_guest_mmio_write(d->g, vcpu, ecam(d, off), size, v);
}

/* ---- page allocator over the driver's RAM (lock held) ---- */

static int page_alloc(struct sim_sva *d, unsigned vcpu, uint64_t *gpa)
{
    static const uint8_t zero[PAGE];

    if (d->nfree) {
        *gpa = d->free_pages[--d->nfree];
    } else {
        if (d->next_page + PAGE > d->end_page)
            return -ENOMEM;
        *gpa = d->next_page;
        d->next_page += PAGE;
    }
    return sim_guest_ram_write(d->g, vcpu, *gpa, zero, PAGE);
}

static void page_free(struct sim_sva *d, uint64_t gpa)
{
    if (d->nfree == d->free_cap) {
        size_t cap = d->free_cap ? 2 * d->free_cap : 256;
        uint64_t *p = realloc(d->free_pages, cap * sizeof(*p));

        if (!p)
            return; /* leaked to the guest: harmless */
        d->free_pages = p;
        d->free_cap = cap;
    }
    d->free_pages[d->nfree++] = gpa;
}

/* ---- invalidation queue (lock held) ---- */

/* Queue @n descriptors plus a wait with status write, move IQT, and poll
 * the status as the kernel's qi_submit_sync does. */
static int qi_submit(struct sim_sva *d, unsigned vcpu, const uint64_t (*desc)[4], unsigned n)
{
    uint64_t wait[4], fsts = 0;
    uint32_t st = 0;
    int ret;

    for (unsigned i = 0; i <= n; i++) {
        const uint64_t *q = desc[i];

        if (i == n) {
            d->seq++;
            wait[0] = VTD_INV_WAIT | VTD_WAIT_SW | VTD_WAIT_FN | ((uint64_t)d->seq << 32);
            wait[1] = d->status;
            wait[2] = wait[3] = 0;
            q = wait;
        }
        ret = sim_guest_ram_write(d->g, vcpu, d->iq + d->iq_tail, q, 32);
        if (ret)
            return ret;
        d->iq_tail = (d->iq_tail + 32) % IQ_BYTES;
    }
    d->st.invalidations += n;
    ret = mw(d, vcpu, VTD_REG_IQT, 8, d->iq_tail);
    if (ret)
        return ret;
    for (int tries = 0; tries < 1000; tries++) {
        ret = sim_guest_ram_read(d->g, vcpu, d->status, &st, 4);
        if (ret)
            return ret;
        if (st == d->seq)
            return 0;
        mr(d, vcpu, VTD_REG_FSTS, 4, &fsts);
        if (fsts & VTD_FSTS_IQE) {
            vgt_err(d->cfg.log, "sva: invalidation queue error");
            return -EIO;
        }
    }
    return -ETIMEDOUT;
}

static int qi_one(struct sim_sva *d, unsigned vcpu, uint64_t q0, uint64_t q1)
{
    const uint64_t desc[1][4] = {{q0, q1, 0, 0}};

    return qi_submit(d, vcpu, desc, 1);
}

/* ---- probe ---- */

static int find_ecap(struct sim_sva *d, unsigned vcpu, unsigned id, unsigned *at)
{
    unsigned off = 0x100;

    for (int n = 0; n < 64 && off >= 0x100 && off < SIM_ACCEL_CFG_SIZE; n++) {
        uint64_t h;
        int ret = ecam_read(d, vcpu, off, 4, &h);

        if (ret)
            return ret;
        if ((h & 0xffff) == id) {
            *at = off;
            return 0;
        }
        off = (unsigned)(h >> 20) & 0xffc;
        if (!off)
            break;
    }
    return -ENODEV;
}

static int setup_iommu(struct sim_sva *d, unsigned vcpu)
{
    const uint64_t need = VTD_ECAP_SMTS | VTD_ECAP_PASID | VTD_ECAP_FLTS | VTD_ECAP_PRS |
                          VTD_ECAP_QI | VTD_ECAP_DT;
    uint64_t ecap, cap, sts, ce[4] = {0};
    int ret;

    if ((ret = mr(d, vcpu, VTD_REG_ECAP, 8, &ecap)) || (ret = mr(d, vcpu, VTD_REG_CAP, 8, &cap)))
        return ret;
    if ((ecap & need) != need) {
        vgt_err(d->cfg.log, "sva: IOMMU lacks scalable mode / PASID / PRS (ECAP %#llx)",
                (unsigned long long)ecap);
        return -ENODEV;
    }
    if ((ret = page_alloc(d, vcpu, &d->root)) || (ret = page_alloc(d, vcpu, &d->ctx)) ||
        (ret = page_alloc(d, vcpu, &d->dir)) || (ret = page_alloc(d, vcpu, &d->iq)) ||
        (ret = page_alloc(d, vcpu, &d->pq)) || (ret = page_alloc(d, vcpu, &d->status)))
        return ret;
    /* Root entry: the lower context table covers devfn 0-127. */
    if ((ret = wr64(d, vcpu, d->root + 16ull * d->cfg.bus + ((d->rid & 0x80) ? 8 : 0),
                    d->ctx | VTD_ROOT_P)))
        return ret;
    /* Context: PASID directory of 128 entries (PDTS 0), PASIDs enabled,
     * device TLB and page requests on; RID_PASID 0 is never bound. */
    ce[0] = d->dir | VTD_SCE_P | VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE;
    if ((ret = sim_guest_ram_write(d->g, vcpu, d->ctx + 32ull * (d->rid & 0x7f), ce, 32)))
        return ret;
    if ((ret = mw(d, vcpu, VTD_REG_RTADDR, 8, d->root | VTD_RTADDR_SMT)) ||
        (ret = mw(d, vcpu, VTD_REG_GCMD, 4, d->gcmd | VTD_GCMD_SRTP)) ||
        (ret = mr(d, vcpu, VTD_REG_GSTS, 4, &sts)))
        return ret;
    if (!(sts & VTD_GSTS_RTPS))
        return -EIO;
    /* Invalidation queue: IQT 0, 256-bit descriptors, then QIE. */
    d->iq_tail = 0;
    if ((ret = mw(d, vcpu, VTD_REG_IQT, 8, 0)) ||
        (ret = mw(d, vcpu, VTD_REG_IQA, 8, d->iq | VTD_IQA_DW)))
        return ret;
    d->gcmd |= VTD_GCMD_QIE;
    if ((ret = mw(d, vcpu, VTD_REG_GCMD, 4, d->gcmd)) || (ret = mr(d, vcpu, VTD_REG_GSTS, 4, &sts)))
        return ret;
    if (!(sts & VTD_GSTS_QIES))
        return -EIO;
    /* Page request queue and the three event interrupts. */
    if ((ret = mw(d, vcpu, VTD_REG_PQH, 8, 0)) || (ret = mw(d, vcpu, VTD_REG_PQA, 8, d->pq)) ||
        (ret = mw(d, vcpu, VTD_REG_FEDATA, 4, d->cfg.fault_vec)) ||
        (ret = mw(d, vcpu, VTD_REG_FEADDR, 4, d->cfg.msi_addr)) ||
        (ret = mw(d, vcpu, VTD_REG_FECTL, 4, 0)) ||
        (ret = mw(d, vcpu, VTD_REG_PEDATA, 4, d->cfg.prq_vec)) ||
        (ret = mw(d, vcpu, VTD_REG_PEADDR, 4, d->cfg.msi_addr)) ||
        (ret = mw(d, vcpu, VTD_REG_PECTL, 4, 0)) ||
        (ret = mw(d, vcpu, VTD_REG_IEDATA, 4, d->cfg.inv_vec)) ||
        (ret = mw(d, vcpu, VTD_REG_IEADDR, 4, d->cfg.msi_addr)) ||
        (ret = mw(d, vcpu, VTD_REG_IECTL, 4, 0)))
        return ret;
    /* Caches hold nothing yet, but the kernel flushes after SRTP. */
    {
        const uint64_t inv[3][4] = {
            {VTD_INV_CC | (VTD_CC_G_GLOBAL << 4), 0, 0, 0},
            {VTD_INV_PC | (VTD_PC_G_GLOBAL << 4), 0, 0, 0},
            {VTD_INV_IOTLB | (VTD_IOTLB_G_GLOBAL << 4), 0, 0, 0},
        };

        if ((ret = qi_submit(d, vcpu, inv, 3)))
            return ret;
    }
    d->gcmd |= VTD_GCMD_TE;
    if ((ret = mw(d, vcpu, VTD_REG_GCMD, 4, d->gcmd)) || (ret = mr(d, vcpu, VTD_REG_GSTS, 4, &sts)))
        return ret;
    return (sts & VTD_GSTS_TES) ? 0 : -EIO;
}

static int setup_device(struct sim_sva *d, unsigned vcpu)
{
    const struct sim_sva_cfg *c = &d->cfg;
    uint32_t id = 0;
    uint64_t v;
    unsigned pasid, ats, pri;
    int ret;

    if ((ret = sim_guest_pci_read(d->g, vcpu, c->bus, c->dev, c->fn, 0, 4, &id)))
        return ret;
    if (id != (SIM_ACCEL_VENDOR | (uint32_t)SIM_ACCEL_DEVICE << 16)) {
        vgt_err(c->log, "sva: no accelerator at %02x:%02x.%u (id %08x)", c->bus, c->dev, c->fn, id);
        return -ENODEV;
    }
    /* Extended capabilities are beyond the 256 bytes of 0xCF8/0xCFC. */
    if ((ret = find_ecap(d, vcpu, PCI_ECAP_ID_PASID, &pasid)) ||
        (ret = find_ecap(d, vcpu, PCI_ECAP_ID_ATS, &ats)) ||
        (ret = find_ecap(d, vcpu, PCI_ECAP_ID_PRI, &pri))) {
        vgt_err(c->log, "sva: accelerator lacks PASID/ATS/PRI");
        return ret;
    }
    /* PRI: reset, allocate what the device can have outstanding, enable. */
    if ((ret = ecam_write(d, vcpu, pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_RESET)) ||
        (ret = ecam_read(d, vcpu, pri + PCI_PRI_MAX_REQ, 4, &v)) ||
        (ret = ecam_write(d, vcpu, pri + PCI_PRI_ALLOC_REQ, 4, v)) ||
        (ret = ecam_write(d, vcpu, pasid + PCI_PASID_CTRL, 2, PCI_PASID_CTRL_ENABLE)) ||
        (ret = ecam_write(d, vcpu, ats + PCI_ATS_CTRL, 2, PCI_ATS_CTRL_ENABLE)) ||
        (ret = ecam_write(d, vcpu, pri + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE)))
        return ret;
    /* BAR0 where the platform expects it, memory decode and bus master. */
    if ((ret = sim_guest_pci_write(d->g, vcpu, c->bus, c->dev, c->fn, 0x10, 4,
                                   (uint32_t)c->bar0 | 0x4)) ||
        (ret = sim_guest_pci_write(d->g, vcpu, c->bus, c->dev, c->fn, 0x14, 4,
                                   (uint32_t)(c->bar0 >> 32))) ||
        (ret = sim_guest_pci_write(d->g, vcpu, c->bus, c->dev, c->fn, 0x04, 2, 0x6)))
        return ret;
    if ((ret = sim_guest_mmio_read(d->g, vcpu, c->bar0 + SIM_ACCEL_REG_CAP, 8, &v)))
        return ret;
    d->wq_depth = (unsigned)(v & 0xffff);
    if (!d->wq_depth)
        return -ENODEV;
    if ((ret = sim_guest_mmio_write(d->g, vcpu, c->bar0 + SIM_ACCEL_REG_INT_ADDR, 8, c->msi_addr)) ||
        (ret = sim_guest_mmio_write(d->g, vcpu, c->bar0 + SIM_ACCEL_REG_INT_DATA, 8,
                                    c->dev_vec | (1ull << 32))) ||
        (ret = sim_guest_mmio_write(d->g, vcpu, c->bar0 + SIM_ACCEL_REG_CTRL, 4,
                                    SIM_ACCEL_CTRL_ENABLE)))
        return ret;
    return 0;
}

int sim_sva_probe(const struct sim_sva_cfg *cfg, struct sim_sva **out)
{
    struct sim_sva *d;
    int ret;

    if (!cfg->g || cfg->mem_size < 64 * PAGE || (cfg->mem_base & (PAGE - 1)))
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->cfg = *cfg;
    d->g = cfg->g;
    d->rid = (uint16_t)(cfg->bus << 8 | cfg->dev << 3 | cfg->fn);
    d->next_page = cfg->mem_base;
    d->end_page = cfg->mem_base + (cfg->mem_size & ~(PAGE - 1));
    d->next_pasid = 1;
    ret = -pthread_mutex_init(&d->lock, NULL);
    if (ret)
        goto free_drv;
    ret = setup_iommu(d, cfg->vcpu);
    if (ret)
        goto destroy_lock;
    ret = setup_device(d, cfg->vcpu);
    if (ret)
        goto destroy_lock;
    *out = d;
    return 0;

destroy_lock:
    pthread_mutex_destroy(&d->lock);
free_drv:
    free(d->free_pages);
    free(d);
    return ret;
}

void sim_sva_remove(struct sim_sva *d, unsigned vcpu)
{
    if (!d)
        return;
    sim_guest_mmio_write(d->g, vcpu, d->cfg.bar0 + SIM_ACCEL_REG_CTRL, 4, 0);
    mw(d, vcpu, VTD_REG_GCMD, 4, d->gcmd & ~VTD_GCMD_TE);
    pthread_mutex_destroy(&d->lock);
    free(d->free_pages);
    free(d);
}

/* ---- processes ---- */

int sim_sva_mm_create(struct sim_sva *d, unsigned vcpu, struct sim_sva_mm **out)
{
    struct sim_sva_mm *mm = calloc(1, sizeof(*mm));
    int ret;

    if (!mm)
        return -ENOMEM;
    mm->drv = d;
    pthread_mutex_lock(&d->lock);
    ret = page_alloc(d, vcpu, &mm->pml4);
    pthread_mutex_unlock(&d->lock);
    if (ret) {
        free(mm);
        return ret;
    }
    *out = mm;
    return 0;
}

uint32_t sim_sva_pasid(const struct sim_sva_mm *mm)
{
    return mm->pasid;
}

static int pasid_entry_gpa(struct sim_sva *d, unsigned vcpu, uint32_t pasid, uint64_t *pe)
{
    uint64_t de = d->dir + 8ull * (pasid >> 6), v;
    int ret = rd64(d, vcpu, de, &v);

    if (ret)
        return ret;
    if (!(v & VTD_PDE_P)) {
        uint64_t t;

        if ((ret = page_alloc(d, vcpu, &t)) || (ret = wr64(d, vcpu, de, t | VTD_PDE_P)))
            return ret;
        v = t | VTD_PDE_P;
    }
    *pe = (v & VTD_ADDR_MASK) + VTD_PASID_ENTRY_SIZE * (pasid & 63);
    return 0;
}

int sim_sva_bind(struct sim_sva_mm *mm, unsigned vcpu)
{
    struct sim_sva *d = mm->drv;
    uint64_t pe, e[8] = {0};
    unsigned slot = MAX_MMS;
    int ret;

    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < MAX_MMS && slot == MAX_MMS; i++)
        if (!d->mms[i])
            slot = i;
    if (mm->pasid || slot == MAX_MMS || d->next_pasid >= 128 * 64) {
        ret = mm->pasid ? -EBUSY : -ENOSPC;
        goto unlock;
    }
    ret = pasid_entry_gpa(d, vcpu, d->next_pasid, &pe);
    if (ret)
        goto unlock;
    /* First stage, 4 levels, user requests only (SRE 0), DID = PASID. */
    e[1] = d->next_pasid & 0xffff;
    e[2] = mm->pml4;
    ret = sim_guest_ram_write(d->g, vcpu, pe + 8, &e[1], 56);
    if (!ret)
        ret = wr64(d, vcpu, pe, VTD_PE0_P | ((uint64_t)VTD_PGTT_FS << VTD_PE0_PGTT_SHIFT));
    if (ret)
        goto unlock;
    mm->pasid = d->next_pasid++;
    d->mms[slot] = mm;
    /* A PASID entry went from not present to present: PASID-cache
     * invalidation (caching mode 0 would allow skipping it; be strict). */
    ret = qi_one(d, vcpu,
                 VTD_INV_PC | (VTD_PC_G_PASID << 4) | ((uint64_t)(mm->pasid & 0xffff) << 16) |
                     ((uint64_t)mm->pasid << 32),
                 0);
unlock:
    pthread_mutex_unlock(&d->lock);
    return ret;
}

int sim_sva_unbind(struct sim_sva_mm *mm, unsigned vcpu)
{
    struct sim_sva *d = mm->drv;
    uint64_t pe, did = mm->pasid & 0xffff;
    int ret;

    pthread_mutex_lock(&d->lock);
    if (!mm->pasid) {
        ret = -EINVAL;
        goto unlock;
    }
    ret = pasid_entry_gpa(d, vcpu, mm->pasid, &pe);
    if (!ret)
        ret = wr64(d, vcpu, pe, 0);
    if (!ret) {
        /* SVM.md order: PASID cache, PASID-based IOTLB, device TLB. */
        const uint64_t inv[3][4] = {
            {VTD_INV_PC | (VTD_PC_G_PASID << 4) | (did << 16) | ((uint64_t)mm->pasid << 32), 0, 0, 0},
            {VTD_INV_PIOTLB | (VTD_PIOTLB_G_PASID << 4) | (did << 16) |
                 ((uint64_t)mm->pasid << 32), 0, 0, 0},
            {VTD_INV_PDEVTLB | ((uint64_t)d->rid << 16) | ((uint64_t)mm->pasid << 32),
             VTD_PDEVTLB_G, 0, 0},
        };

        ret = qi_submit(d, vcpu, inv, 3);
    }
    for (unsigned i = 0; i < MAX_MMS; i++)
        if (d->mms[i] == mm)
            d->mms[i] = NULL;
    mm->pasid = 0;
unlock:
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* The leaf PTE address for va, building tables when @create. Lock held.
 * *pte_gpa = 0 when absent and !create. */
static int walk(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, bool create, uint64_t *pte_gpa)
{
    struct sim_sva *d = mm->drv;
    uint64_t table = mm->pml4;
    int ret;

    *pte_gpa = 0;
    for (unsigned lvl = 4; lvl > 1; lvl--) {
        uint64_t ea = table + 8 * ((va >> (12 + 9 * (lvl - 1))) & 511), e;

        if ((ret = rd64(d, vcpu, ea, &e)))
            return ret;
        if (!(e & VTD_FS_P)) {
            uint64_t t;

            if (!create)
                return 0;
            if ((ret = page_alloc(d, vcpu, &t)) || (ret = wr64(d, vcpu, ea, t | FS_TABLE)))
                return ret;
            e = t | FS_TABLE;
        }
        table = e & VGT_GENMASK(51, 12);
    }
    *pte_gpa = table + 8 * ((va >> 12) & 511);
    return 0;
}

static const struct region *find_region(const struct sim_sva_mm *mm, uint64_t va)
{
    for (unsigned i = 0; i < mm->nreg; i++)
        if (va >= mm->reg[i].va && va - mm->reg[i].va < mm->reg[i].len)
            return &mm->reg[i];
    return NULL;
}

/* Map a fresh page at va (lock held). */
static int map_new(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, bool writable)
{
    struct sim_sva *d = mm->drv;
    uint64_t pte, page, v;
    int ret;

    if ((ret = walk(mm, vcpu, va, true, &pte)) || (ret = rd64(d, vcpu, pte, &v)))
        return ret;
    if (v & VTD_FS_P)
        return 0;
    if ((ret = page_alloc(d, vcpu, &page)))
        return ret;
    /* Not present -> present needs no invalidation (nothing cached). */
    ret = wr64(d, vcpu, pte, page | VTD_FS_P | VTD_FS_US | (writable ? VTD_FS_RW : 0));
    if (!ret)
        d->st.pages_mapped++;
    return ret;
}

int sim_sva_mm_reserve(struct sim_sva_mm *mm, uint64_t va, uint64_t len, bool writable)
{
    int ret = 0;

    if (!len || va + len < va)
        return -EINVAL;
    pthread_mutex_lock(&mm->drv->lock);
    if (mm->nreg == MAX_REGIONS) {
        ret = -ENOSPC;
    } else {
        mm->reg[mm->nreg].va = va & VGT_PAGE_MASK;
        mm->reg[mm->nreg].len = ((va + len + PAGE - 1) & VGT_PAGE_MASK) - (va & VGT_PAGE_MASK);
        mm->reg[mm->nreg].writable = writable;
        mm->nreg++;
    }
    pthread_mutex_unlock(&mm->drv->lock);
    return ret;
}

int sim_sva_mm_populate(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, uint64_t len,
                        bool writable)
{
    int ret = sim_sva_mm_reserve(mm, va, len, writable);

    pthread_mutex_lock(&mm->drv->lock);
    for (uint64_t p = va & VGT_PAGE_MASK; !ret && p < va + len; p += PAGE)
        ret = map_new(mm, vcpu, p, writable);
    pthread_mutex_unlock(&mm->drv->lock);
    return ret;
}

int sim_sva_mm_unmap(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, uint64_t len)
{
    struct sim_sva *d = mm->drv;
    uint64_t first = va & VGT_PAGE_MASK, did = mm->pasid & 0xffff;
    int ret = 0;

    pthread_mutex_lock(&d->lock);
    for (uint64_t p = first; !ret && p < va + len; p += PAGE) {
        uint64_t pte, v;

        ret = walk(mm, vcpu, p, false, &pte);
        if (ret || !pte)
            continue;
        if ((ret = rd64(d, vcpu, pte, &v)) || !(v & VTD_FS_P))
            continue;
        if ((ret = wr64(d, vcpu, pte, 0)))
            break;
        /* Invalidate before the page can be reused: IOTLB, then the
         * device's ATC (SVM.md), and wait. */
        if (mm->pasid) {
            const uint64_t inv[2][4] = {
                {VTD_INV_PIOTLB | (VTD_PIOTLB_G_PAGE << 4) | (did << 16) |
                     ((uint64_t)mm->pasid << 32), p, 0, 0},
                {VTD_INV_PDEVTLB | ((uint64_t)d->rid << 16) | ((uint64_t)mm->pasid << 32), p, 0, 0},
            };

            ret = qi_submit(d, vcpu, inv, 2);
        }
        page_free(d, v & VGT_GENMASK(51, 12));
        d->st.pages_unmapped++;
    }
    /* Forget regions inside the range (the mapping is gone for good). */
    for (unsigned i = 0; i < mm->nreg;) {
        if (mm->reg[i].va >= first && mm->reg[i].va + mm->reg[i].len <= va + len)
            mm->reg[i] = mm->reg[--mm->nreg];
        else
            i++;
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

bool sim_sva_mm_mapped(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va)
{
    uint64_t pte, v = 0;

    pthread_mutex_lock(&mm->drv->lock);
    if (!walk(mm, vcpu, va, false, &pte) && pte)
        rd64(mm->drv, vcpu, pte, &v);
    pthread_mutex_unlock(&mm->drv->lock);
    return v & VTD_FS_P;
}

/* CPU access to process memory: a page fault in a reserved region maps
 * it, as the kernel's fault handler would. */
static int cpu_access(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, void *buf, size_t len,
                      bool write)
{
    struct sim_sva *d = mm->drv;
    uint8_t *b = buf;
    int ret = 0;

    pthread_mutex_lock(&d->lock);
    while (len && !ret) {
        uint64_t pte, v = 0;
        size_t n = VGT_MIN(len, PAGE - (va & (PAGE - 1)));
        const struct region *r;

        ret = walk(mm, vcpu, va, false, &pte);
        if (!ret && pte)
            ret = rd64(d, vcpu, pte, &v);
        if (ret)
            break;
        if (!(v & VTD_FS_P)) {
            r = find_region(mm, va);
            if (!r || (write && !r->writable)) {
                ret = -EFAULT; /* SIGSEGV */
                break;
            }
            if ((ret = map_new(mm, vcpu, va & VGT_PAGE_MASK, r->writable)))
                break;
            continue;
        }
        if (write && !(v & VTD_FS_RW)) {
            ret = -EFAULT;
            break;
        }
        {
            uint64_t gpa = (v & VGT_GENMASK(51, 12)) | (va & (PAGE - 1));

            ret = write ? sim_guest_ram_write(d->g, vcpu, gpa, b, n)
                        : sim_guest_ram_read(d->g, vcpu, gpa, b, n);
        }
        va += n;
        b += n;
        len -= n;
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

int sim_sva_mm_write(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, const void *buf, size_t len)
{
    return cpu_access(mm, vcpu, va, (void *)buf, len, true);
}

int sim_sva_mm_read(struct sim_sva_mm *mm, unsigned vcpu, uint64_t va, void *buf, size_t len)
{
    return cpu_access(mm, vcpu, va, buf, len, false);
}

void sim_sva_mm_destroy(struct sim_sva_mm *mm, unsigned vcpu)
{
    if (!mm)
        return;
    if (mm->pasid)
        sim_sva_unbind(mm, vcpu);
    /* Pages and tables stay with the guest's driver pool (not reused). */
    free(mm);
}

/* ---- work ---- */

int sim_sva_submit(struct sim_sva_mm *mm, unsigned vcpu, unsigned op, uint64_t src, uint64_t dst,
                   uint32_t size, uint64_t comp_va)
{
    struct sim_sva *d = mm->drv;
    uint64_t desc[8] = {0}, occ;
    static const uint8_t zero[32];
    int ret;

    if (!mm->pasid || (comp_va & 31))
        return -EINVAL;
    ret = sim_sva_mm_write(mm, vcpu, comp_va, zero, sizeof(zero));
    if (ret)
        return ret;
    desc[0] = mm->pasid | ((uint64_t)op << 32) | SIM_ACCEL_FLAG_RCR | SIM_ACCEL_FLAG_RCI |
              SIM_ACCEL_FLAG_BOF;
    desc[1] = comp_va;
    desc[2] = src;
    desc[3] = dst;
    desc[4] = size;
    pthread_mutex_lock(&d->lock);
    ret = sim_guest_mmio_read(d->g, vcpu, d->cfg.bar0 + SIM_ACCEL_REG_WQ_OCC, 4, &occ);
    if (!ret && occ >= d->wq_depth)
        ret = -EBUSY;
    for (unsigned i = 0; i < 8 && !ret; i++)
        ret = sim_guest_mmio_write(d->g, vcpu, d->cfg.bar0 + SIM_ACCEL_PORTAL + 8 * i, 8, desc[i]);
    if (!ret)
        d->st.submitted++;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* Read and clear the fault records (lock held). */
static void read_faults(struct sim_sva *d, unsigned vcpu)
{
    uint64_t fsts, cap;

    if (mr(d, vcpu, VTD_REG_FSTS, 4, &fsts) || mr(d, vcpu, VTD_REG_CAP, 8, &cap))
        return;
    if (fsts & VTD_FSTS_PPF) {
        unsigned fro = (unsigned)VTD_CAP_GET_FRO(cap), nfr = (unsigned)VTD_CAP_GET_NFR(cap);
        unsigned i = (unsigned)((fsts & VTD_FSTS_FRI_MASK) >> VTD_FSTS_FRI_SHIFT);

        for (unsigned k = 0; k < nfr; k++, i = (i + 1) % nfr) {
            uint64_t hi;

            if (mr(d, vcpu, fro + 16 * i + 8, 8, &hi) || !(hi & VTD_FRCD_HI_F))
                break;
            vgt_info(d->cfg.log, "sva: DMA fault reason %#x sid %04x pasid %u",
                     (unsigned)((hi >> 32) & 0xff), (unsigned)(hi & 0xffff),
                     (unsigned)((hi >> 40) & 0xfffff));
            d->st.faults_seen++;
            mw(d, vcpu, fro + 16 * i + 12, 4, 1u << 31);
        }
    }
    if (fsts & (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE))
        mw(d, vcpu, VTD_REG_FSTS, 4, fsts & (VTD_FSTS_PFO | VTD_FSTS_ICE | VTD_FSTS_ITE));
}

static struct sim_sva_mm *mm_by_pasid(struct sim_sva *d, uint32_t pasid)
{
    for (unsigned i = 0; i < MAX_MMS; i++)
        if (d->mms[i] && d->mms[i]->pasid == pasid)
            return d->mms[i];
    return NULL;
}

/* The I/O page-fault handler: drain the page request queue and answer. */
static int service_locked(struct sim_sva *d, unsigned vcpu)
{
    uint64_t prs, head, tail;
    uint64_t resp[32][4];
    unsigned nresp = 0;
    int ret;

    read_faults(d, vcpu);
    if ((ret = mr(d, vcpu, VTD_REG_PRS, 4, &prs)))
        return ret;
    if (!(prs & (VTD_PRS_PPR | VTD_PRS_PRO)))
        return 0;
    /* Clear PPR before draining (SVM.md), so a request that lands while
     * we drain raises a new event. */
    if ((ret = mw(d, vcpu, VTD_REG_PRS, 4, VTD_PRS_PPR)) ||
        (ret = mr(d, vcpu, VTD_REG_PQH, 8, &head)) || (ret = mr(d, vcpu, VTD_REG_PQT, 8, &tail)))
        return ret;
    head &= VTD_PQ_OFF_MASK;
    tail &= VTD_PQ_OFF_MASK;
    while (head != tail && head < PQ_BYTES) {
        uint64_t q[4];
        uint32_t pasid;
        uint16_t rid;
        unsigned code = VTD_PRESP_INVALID;
        struct sim_sva_mm *mm;

        if ((ret = sim_guest_ram_read(d->g, vcpu, d->pq + head, q, sizeof(q))))
            return ret;
        head = (head + 32) % PQ_BYTES;
        d->st.prq_seen++;
        pasid = VTD_PRQ0_PASID(q[0]);
        rid = VTD_PRQ0_RID(q[0]);
        mm = (q[0] & VTD_PRQ0_PP) ? mm_by_pasid(d, pasid) : NULL;
        if (mm && !(q[0] & VTD_PRQ0_PRIV)) {
            uint64_t va = q[1] & VTD_ADDR_MASK;
            const struct region *r = find_region(mm, va);
            bool wr = q[1] & VTD_PRQ1_WR;

            if (r && (!wr || r->writable) && !map_new(mm, vcpu, va, r->writable))
                code = VTD_PRESP_SUCCESS;
        }
        if (code == VTD_PRESP_SUCCESS)
            d->st.prq_served++;
        else
            d->st.prq_refused++;
        if ((q[1] & VTD_PRQ1_LPIG) || (q[0] & VTD_PRQ0_PDP)) {
            resp[nresp][0] = VTD_INV_PGRP_RESP | ((uint64_t)code << 12) | ((uint64_t)rid << 16) |
                             ((uint64_t)pasid << 32) | ((q[0] & VTD_PRQ0_PP) ? VTD_PGRP_PP : 0) |
                             ((q[0] & VTD_PRQ0_PDP) ? VTD_PGRP_PDP : 0);
            resp[nresp][1] = (q[1] & VTD_PRQ1_LPIG) | ((uint64_t)VTD_PRQ1_IDX(q[1]) << 3);
            resp[nresp][2] = (q[0] & VTD_PRQ0_PDP) ? q[2] : 0;
            resp[nresp][3] = (q[0] & VTD_PRQ0_PDP) ? q[3] : 0;
            if (++nresp == VGT_ARRAY_SIZE(resp)) {
                if ((ret = qi_submit(d, vcpu, (const uint64_t(*)[4])resp, nresp)))
                    return ret;
                nresp = 0;
            }
        }
    }
    if ((ret = mw(d, vcpu, VTD_REG_PQH, 8, head)))
        return ret;
    if (nresp && (ret = qi_submit(d, vcpu, (const uint64_t(*)[4])resp, nresp)))
        return ret;
    if (prs & VTD_PRS_PRO) {
        d->st.prq_overflows++;
        ret = mw(d, vcpu, VTD_REG_PRS, 4, VTD_PRS_PRO);
    }
    return ret;
}

int sim_sva_service(struct sim_sva *d, unsigned vcpu)
{
    int ret;

    pthread_mutex_lock(&d->lock);
    ret = service_locked(d, vcpu);
    pthread_mutex_unlock(&d->lock);
    return ret;
}

int sim_sva_wait(struct sim_sva_mm *mm, unsigned vcpu, uint64_t comp_va, int timeout_ms,
                 uint8_t *status, uint8_t *result)
{
    struct sim_sva *d = mm->drv;
    uint64_t end = vgt_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    uint8_t rec[2];
    int ret;

    for (;;) {
        struct sim_msi msi;

        if ((ret = sim_sva_mm_read(mm, vcpu, comp_va, rec, 2)))
            return ret;
        if (rec[0] != SIM_ACCEL_ST_NONE)
            break;
        if ((ret = sim_sva_service(d, vcpu)))
            return ret;
        if (vgt_now_ns() > end)
            return -ETIMEDOUT;
        /* Sleep until an interrupt (ours or the IOMMU's), briefly. */
        if (!sim_guest_wait_msi(d->g, 1, &msi)) {
            pthread_mutex_lock(&d->lock);
            d->st.msi_seen++;
            pthread_mutex_unlock(&d->lock);
        }
    }
    pthread_mutex_lock(&d->lock);
    if (rec[0] == SIM_ACCEL_ST_SUCCESS)
        d->st.completed++;
    else
        d->st.failed++;
    pthread_mutex_unlock(&d->lock);
    *status = rec[0];
    if (result)
        *result = rec[1];
    return 0;
}

void sim_sva_get_stats(struct sim_sva *d, struct sim_sva_stats *st)
{
    pthread_mutex_lock(&d->lock);
    *st = d->st;
    pthread_mutex_unlock(&d->lock);
}

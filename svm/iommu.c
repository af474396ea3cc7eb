/* The VT-d register file: a const table of registers (offset, size,
 * writable and write-1-to-clear masks, write hook), fault recording and the
 * three event interrupts (fault, invalidation completion, page request).
 *
 * Register offsets and bits: vgt/vtd.h (VT-d spec ch. 11, SVM.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_priv.h"
#include "vgt/util.h"

uint32_t vtd_get32(const struct vgt_iommu *m, unsigned off)
{
    uint32_t v;

    memcpy(&v, m->regs + off, 4);
    return v;
}

uint64_t vtd_get64(const struct vgt_iommu *m, unsigned off)
{
    uint64_t v;

    memcpy(&v, m->regs + off, 8);
    return v;
}

void vtd_set32(struct vgt_iommu *m, unsigned off, uint32_t v)
{
    memcpy(m->regs + off, &v, 4);
}

void vtd_set64(struct vgt_iommu *m, unsigned off, uint64_t v)
{
    memcpy(m->regs + off, &v, 8);
}

/* ---- events ---- */

/* Send the MSI programmed in (data, addr, uaddr) unless masked; masked
 * events set IP and are sent when software clears IM (VT-d 11.4.7.2). */
void vtd_raise_event(struct vgt_iommu *m, unsigned ctl, unsigned data, unsigned addr,
                     unsigned uaddr, uint64_t *counter)
{
    uint32_t c = vtd_get32(m, ctl);
    uint64_t a;

    if (c & VTD_ECTL_IM) {
        vtd_set32(m, ctl, c | VTD_ECTL_IP);
        return;
    }
    vtd_set32(m, ctl, c & ~VTD_ECTL_IP);
    a = ((uint64_t)vtd_get32(m, uaddr) << 32) | vtd_get32(m, addr);
    (*counter)++;
    if (m->hv->ops->inject_msi)
        m->hv->ops->inject_msi(m->hv, a, vtd_get32(m, data));
}

void vtd_raise_fault_event(struct vgt_iommu *m)
{
    vtd_raise_event(m, VTD_REG_FECTL, VTD_REG_FEDATA, VTD_REG_FEADDR, VTD_REG_FEUADDR,
                    &m->st.msi_fault);
}

static unsigned frcd_off(unsigned i)
{
    return VTD_MODEL_FRO + 16 * i;
}

/* Fault conditions that generate a fault event: PPF (any F set), PFO,
 * IQE, ICE, ITE (VT-d 7.3). */
uint32_t vtd_fsts_pending(const struct vgt_iommu *m)
{
    uint32_t v = vtd_get32(m, VTD_REG_FSTS) &
                 (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE);

    for (unsigned i = 0; i < VTD_MODEL_NFR; i++)
        if (vtd_get64(m, frcd_off(i) + 8) & VTD_FRCD_HI_F)
            v |= VTD_FSTS_PPF;
    return v;
}

void vtd_record_fault(struct vgt_iommu *m, uint16_t sid, bool has_pasid, uint32_t pasid,
                      uint64_t addr, uint8_t reason, bool is_write)
{
    unsigned i = m->fri_next;
    uint32_t before = vtd_fsts_pending(m);
    uint64_t hi;

    if (vtd_get64(m, frcd_off(i) + 8) & VTD_FRCD_HI_F) {
        /* Primary fault overflow: the record is still pending. */
        m->st.faults_dropped++;
        vtd_set32(m, VTD_REG_FSTS, vtd_get32(m, VTD_REG_FSTS) | VTD_FSTS_PFO);
    } else {
        hi = VTD_FRCD_HI_F | VTD_FRCD_HI_SID(sid) | VTD_FRCD_HI_FR(reason);
        if (has_pasid)
            hi |= VTD_FRCD_HI_PP | VTD_FRCD_HI_PV(pasid);
        if (!is_write)
            hi |= VTD_FRCD_HI_T_READ;
        vtd_set64(m, frcd_off(i), addr & VGT_PAGE_MASK);
        vtd_set64(m, frcd_off(i) + 8, hi);
        m->fri_next = (i + 1) % VTD_MODEL_NFR;
        m->st.faults_recorded++;
        vgt_debug(m->log, "vtd: fault 0x%02x sid %04x pasid %s%u addr 0x%llx", reason, sid,
                  has_pasid ? "" : "-", pasid, (unsigned long long)addr);
    }
    if (!before)
        vtd_raise_fault_event(m);
}

/* ---- register table ---- */

struct vtd_reg {
    uint16_t off;
    uint8_t size;
    const char *name;
    uint64_t wmask;  /* bits stored on write */
    uint64_t w1c;    /* write-1-to-clear bits */
    /* after the store; raw is the value the guest wrote, merged over old
     * for a partial (4-byte) access to an 8-byte register */
    void (*hook)(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw);
};

static void gcmd_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw)
{
    uint32_t sts = vtd_get32(m, VTD_REG_GSTS);

    (void)r;
    (void)old;
    /* SRTP is a one-shot: latch RTADDR. Software invalidates the caches
     * afterwards; the model flushes them too, which is never less safe. */
    if (raw & VTD_GCMD_SRTP) {
        m->rta_active = vtd_get64(m, VTD_REG_RTADDR);
        sts |= VTD_GSTS_RTPS;
        vtd_flush_ctx(m, true, 0, 0);
        vtd_flush_pasid(m, true, false, 0, false, 0);
        vtd_flush_iotlb(m, true, 0, false, 0, false, 0, 0);
    }
    if ((raw & VTD_GCMD_QIE) && !(sts & VTD_GSTS_QIES)) {
        sts |= VTD_GSTS_QIES;
        vtd_set64(m, VTD_REG_IQH, 0); /* VT-d 6.5.2: IQH reset on enable */
    } else if (!(raw & VTD_GCMD_QIE) && (sts & VTD_GSTS_QIES)) {
        sts &= ~VTD_GSTS_QIES;
    }
    if (raw & VTD_GCMD_TE)
        sts |= VTD_GSTS_TES;
    else
        sts &= ~VTD_GSTS_TES;
    vtd_set32(m, VTD_REG_GSTS, sts);
    if (sts & VTD_GSTS_QIES)
        vtd_iq_process(m);
}

/* Register-based invalidation: performed globally whatever was asked,
 * and reported as such in CAIG/IAIG. */
static void ccmd_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw)
{
    (void)r;
    (void)old;
    if (!(raw & VTD_CCMD_ICC))
        return;
    vtd_flush_ctx(m, true, 0, 0);
    vtd_flush_pasid(m, true, false, 0, false, 0);
    vtd_set64(m, VTD_REG_CCMD, (raw & ~(VTD_CCMD_ICC | (3ull << VTD_CCMD_CAIG_SHIFT))) |
                                   (1ull << VTD_CCMD_CAIG_SHIFT));
}

static void iotlb_reg_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw)
{
    (void)old;
    if (!(raw & VTD_IOTLB_IVT))
        return;
    vtd_flush_iotlb(m, true, 0, false, 0, false, 0, 0);
    vtd_set64(m, r->off, (raw & ~(VTD_IOTLB_IVT | (3ull << VTD_IOTLB_IAIG_SHIFT))) |
                             (1ull << VTD_IOTLB_IAIG_SHIFT));
}

static void fsts_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw)
{
    (void)r;
    /* Clearing IQE lets the queue resume at IQH (VT-d 6.5.2.10). */
    if ((old & VTD_FSTS_IQE) && (raw & VTD_FSTS_IQE))
        vtd_iq_process(m);
}

/* Clearing IM sends a pending interrupt. */
static void ectl_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw)
{
    uint32_t c = vtd_get32(m, r->off);

    (void)old;
    (void)raw;
    if ((c & VTD_ECTL_IP) && !(c & VTD_ECTL_IM)) {
        unsigned base = r->off;
        uint64_t *ctr = base == VTD_REG_FECTL ? &m->st.msi_fault :
                        base == VTD_REG_IECTL ? &m->st.msi_inv : &m->st.msi_prq;

        vtd_raise_event(m, base, base + 4, base + 8, base + 12, ctr);
    }
}

static void iqt_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t old, uint64_t raw)
{
    (void)r;
    (void)old;
    (void)raw;
    vtd_iq_process(m);
}

#define FR_HI(i) {VTD_MODEL_FRO + 16 * (i), 8, "FRCD_LO", 0, 0, NULL}, \
                 {VTD_MODEL_FRO + 16 * (i) + 8, 8, "FRCD_HI", 0, VTD_FRCD_HI_F, NULL}

static const struct vtd_reg vtd_regs[] = {
    {VTD_REG_VER, 4, "VER", 0, 0, NULL},
    {VTD_REG_CAP, 8, "CAP", 0, 0, NULL},
    {VTD_REG_ECAP, 8, "ECAP", 0, 0, NULL},
    {VTD_REG_GCMD, 4, "GCMD", 0, 0, gcmd_write},
    {VTD_REG_GSTS, 4, "GSTS", 0, 0, NULL},
    {VTD_REG_RTADDR, 8, "RTADDR", VTD_RTADDR_ADDR_MASK | VTD_RTADDR_TTM_MASK, 0, NULL},
    {VTD_REG_CCMD, 8, "CCMD", ~0ull, 0, ccmd_write},
    {VTD_REG_FSTS, 4, "FSTS", 0,
     VTD_FSTS_PFO | VTD_FSTS_AFO | VTD_FSTS_APF | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE,
     fsts_write},
    {VTD_REG_FECTL, 4, "FECTL", VTD_ECTL_IM, 0, ectl_write},
    {VTD_REG_FEDATA, 4, "FEDATA", 0xffffffffu, 0, NULL},
    {VTD_REG_FEADDR, 4, "FEADDR", 0xfffffffcu, 0, NULL},
    {VTD_REG_FEUADDR, 4, "FEUADDR", 0xffffffffu, 0, NULL},
    {VTD_REG_AFLOG, 8, "AFLOG", 0, 0, NULL},
    {VTD_REG_PMEN, 4, "PMEN", 0, 0, NULL},
    {VTD_REG_IQH, 8, "IQH", 0, 0, NULL},
    {VTD_REG_IQT, 8, "IQT", VTD_IQ_OFF_MASK, 0, iqt_write},
    {VTD_REG_IQA, 8, "IQA", VTD_IQA_ADDR_MASK | VTD_IQA_DW | VTD_IQA_QS_MASK, 0, NULL},
    {VTD_REG_ICS, 4, "ICS", 0, VTD_ICS_IWC, NULL},
    {VTD_REG_IECTL, 4, "IECTL", VTD_ECTL_IM, 0, ectl_write},
    {VTD_REG_IEDATA, 4, "IEDATA", 0xffffffffu, 0, NULL},
    {VTD_REG_IEADDR, 4, "IEADDR", 0xfffffffcu, 0, NULL},
    {VTD_REG_IEUADDR, 4, "IEUADDR", 0xffffffffu, 0, NULL},
    {VTD_REG_IQERCD, 8, "IQERCD", 0, 0, NULL},
    {VTD_REG_PQH, 8, "PQH", VTD_PQ_OFF_MASK, 0, NULL},
    {VTD_REG_PQT, 8, "PQT", 0, 0, NULL},
    {VTD_REG_PQA, 8, "PQA", VTD_PQA_ADDR_MASK | VTD_PQA_QS_MASK, 0, NULL},
    {VTD_REG_PRS, 4, "PRS", 0, VTD_PRS_PPR | VTD_PRS_PRO, NULL},
    {VTD_REG_PECTL, 4, "PECTL", VTD_ECTL_IM, 0, ectl_write},
    {VTD_REG_PEDATA, 4, "PEDATA", 0xffffffffu, 0, NULL},
    {VTD_REG_PEADDR, 4, "PEADDR", 0xfffffffcu, 0, NULL},
    {VTD_REG_PEUADDR, 4, "PEUADDR", 0xffffffffu, 0, NULL},
    FR_HI(0), FR_HI(1), FR_HI(2), FR_HI(3), FR_HI(4), FR_HI(5), FR_HI(6), FR_HI(7),
    {VTD_MODEL_IRO, 8, "IVA", VTD_ADDR_MASK | 0x7f, 0, NULL},
    {VTD_MODEL_IRO + 8, 8, "IOTLB", ~0ull, 0, iotlb_reg_write},
};
_Static_assert(VTD_MODEL_NFR == 8, "FR_HI entries above");

static const struct vtd_reg *find_reg(unsigned off)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(vtd_regs); i++)
        if (off >= vtd_regs[i].off && off < vtd_regs[i].off + vtd_regs[i].size)
            return &vtd_regs[i];
    return NULL;
}

static uint64_t reg_value(const struct vgt_iommu *m, const struct vtd_reg *r)
{
    uint64_t v = r->size == 8 ? vtd_get64(m, r->off) : vtd_get32(m, r->off);

    if (r->off == VTD_REG_FSTS) {
        uint32_t pend = vtd_fsts_pending(m);
        unsigned fri = m->fri_next;

        /* FRI: the oldest pending record. */
        for (unsigned k = 0; k < VTD_MODEL_NFR; k++) {
            unsigned i = (m->fri_next + k) % VTD_MODEL_NFR;

            if (vtd_get64(m, frcd_off(i) + 8) & VTD_FRCD_HI_F) {
                fri = i;
                break;
            }
        }
        v = (v & ~(uint64_t)(VTD_FSTS_PPF | VTD_FSTS_FRI_MASK)) | (pend & VTD_FSTS_PPF) |
            ((uint64_t)fri << VTD_FSTS_FRI_SHIFT);
    }
    return v;
}

/* One access to one register: @mask selects the bytes accessed. */
static void reg_write(struct vgt_iommu *m, const struct vtd_reg *r, uint64_t mask, uint64_t val)
{
    uint64_t old = r->size == 8 ? vtd_get64(m, r->off) : vtd_get32(m, r->off);
    uint64_t raw = (old & ~mask) | (val & mask);
    uint64_t nv = (old & ~(r->wmask & mask)) | (raw & r->wmask & mask);

    nv &= ~(val & mask & r->w1c);
    if (r->size == 8)
        vtd_set64(m, r->off, nv);
    else
        vtd_set32(m, r->off, (uint32_t)nv);
    if (r->hook)
        r->hook(m, r, old, raw);
}

int vgt_iommu_mmio_read(struct vgt_iommu *m, uint64_t off, unsigned size, uint64_t *val)
{
    const struct vtd_reg *r;
    uint64_t v;

    *val = 0;
    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= VTD_REG_BLOCK_SIZE)
        return 0; /* reserved: reads as zero */
    pthread_mutex_lock(&m->lock);
    if (size == 8 && (r = find_reg((unsigned)off)) && r->size == 8 && r->off == off) {
        *val = reg_value(m, r);
    } else {
        for (unsigned k = 0; k < size; k += 4) {
            r = find_reg((unsigned)off + k);
            if (!r)
                continue;
            v = reg_value(m, r) >> (8 * (off + k - r->off));
            *val |= (v & 0xffffffffull) << (8 * k);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int vgt_iommu_mmio_write(struct vgt_iommu *m, uint64_t off, unsigned size, uint64_t val)
{
    const struct vtd_reg *r;

    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= VTD_REG_BLOCK_SIZE) {
        vgt_warn(m->log, "vtd: dropped %u-byte write at 0x%llx", size, (unsigned long long)off);
        return 0;
    }
    pthread_mutex_lock(&m->lock);
    if (size == 8 && (r = find_reg((unsigned)off)) && r->size == 8 && r->off == off) {
        reg_write(m, r, ~0ull, val);
    } else {
        for (unsigned k = 0; k < size; k += 4) {
            unsigned o = (unsigned)off + k;
            unsigned sh;

            r = find_reg(o);
            if (!r)
                continue;
            sh = 8 * (o - r->off);
            reg_write(m, r, 0xffffffffull << sh, ((val >> (8 * k)) & 0xffffffffull) << sh);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int io_read(void *opaque, const struct vgt_io_access *a, uint64_t *val)
{
    return vgt_iommu_mmio_read(opaque, a->offset, a->size, val);
}

static int io_write(void *opaque, const struct vgt_io_access *a, uint64_t val)
{
    return vgt_iommu_mmio_write(opaque, a->offset, a->size, val);
}

const struct vgt_io_ops vgt_iommu_io_ops = {
    .read = io_read,
    .write = io_write,
};

/* ---- lifecycle ---- */

static void reset_regs(struct vgt_iommu *m)
{
    memset(m->regs, 0, sizeof(m->regs));
    /* Version 3.0: the scalable-mode spec revision. */
    vtd_set32(m, VTD_REG_VER, 0x30);
    vtd_set64(m, VTD_REG_CAP,
              VTD_CAP_ND(6) | VTD_CAP_SAGAW(0xc) | VTD_CAP_MGAW(VTD_HAW) |
                  VTD_CAP_FRO(VTD_MODEL_FRO) | VTD_CAP_SLLPS(3) | VTD_CAP_PSI |
                  VTD_CAP_NFR(VTD_MODEL_NFR) | VTD_CAP_MAMV(VTD_MAMV) | VTD_CAP_DWD |
                  VTD_CAP_DRD | VTD_CAP_FL1GP | VTD_CAP_FL5LP);
    vtd_set64(m, VTD_REG_ECAP,
              VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_DT | VTD_ECAP_PT | VTD_ECAP_SC |
                  VTD_ECAP_IRO(VTD_MODEL_IRO) | VTD_ECAP_MHMV(0xf) | VTD_ECAP_NEST |
                  VTD_ECAP_PRS | VTD_ECAP_ERS | VTD_ECAP_SRS | VTD_ECAP_PSS(VTD_PASID_BITS) |
                  VTD_ECAP_PASID | VTD_ECAP_PDS | VTD_ECAP_SMTS | VTD_ECAP_SLTS |
                  VTD_ECAP_FLTS | VTD_ECAP_SMPWCS);
    /* Interrupts start masked (VT-d: IM resets to 1). */
    vtd_set32(m, VTD_REG_FECTL, VTD_ECTL_IM);
    vtd_set32(m, VTD_REG_IECTL, VTD_ECTL_IM);
    vtd_set32(m, VTD_REG_PECTL, VTD_ECTL_IM);
}

int vgt_iommu_create(const struct vgt_iommu_cfg *cfg, struct vgt_iommu **out)
{
    struct vgt_iommu *m;
    unsigned n = cfg->iotlb_entries ? cfg->iotlb_entries : 1024;
    int ret;

    if (!cfg->hv || !cfg->hv->ops || !cfg->hv->ops->read_gpa || !cfg->hv->ops->write_gpa)
        return -EINVAL;
    if (n > (1u << 20))
        return -EINVAL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->tlb_n = 1;
    while (m->tlb_n < n)
        m->tlb_n <<= 1;
    m->tlb = calloc(m->tlb_n, sizeof(*m->tlb));
    if (!m->tlb) {
        ret = -ENOMEM;
        goto free_m;
    }
    ret = -pthread_mutex_init(&m->lock, NULL);
    if (ret)
        goto free_tlb;
    m->hv = cfg->hv;
    m->log = cfg->log;
    m->no_cmpxchg = cfg->no_cmpxchg || !cfg->hv->ops->cmpxchg_gpa;
    reset_regs(m);
    *out = m;
    return 0;

free_tlb:
    free(m->tlb);
free_m:
    free(m);
    return ret;
}

void vgt_iommu_destroy(struct vgt_iommu *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->tlb);
    free(m);
}

int vgt_iommu_attach_device(struct vgt_iommu *m, uint16_t rid,
                            const struct vgt_iommu_dev_ops *ops, void *opaque)
{
    struct vtd_dev *free_slot = NULL;
    int ret = 0;

    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < VTD_MAX_DEVS; i++) {
        struct vtd_dev *d = &m->devs[i];

        if (d->used && d->rid == rid) {
            if (ops) {
                d->ops = ops;
                d->opaque = opaque;
            } else {
                memset(d, 0, sizeof(*d));
            }
            goto unlock;
        }
        if (!d->used && !free_slot)
            free_slot = d;
    }
    if (!ops)
        goto unlock;
    if (!free_slot) {
        ret = -EBUSY;
        goto unlock;
    }
    free_slot->used = true;
    free_slot->rid = rid;
    free_slot->ops = ops;
    free_slot->opaque = opaque;
unlock:
    pthread_mutex_unlock(&m->lock);
    return ret;
}

struct vtd_dev *vtd_find_dev(struct vgt_iommu *m, uint16_t rid)
{
    for (unsigned i = 0; i < VTD_MAX_DEVS; i++)
        if (m->devs[i].used && m->devs[i].rid == rid)
            return &m->devs[i];
    return NULL;
}

void vgt_iommu_get_stats(struct vgt_iommu *m, struct vgt_iommu_stats *st)
{
    pthread_mutex_lock(&m->lock);
    *st = m->st;
    pthread_mutex_unlock(&m->lock);
}

unsigned vgt_iommu_prq_outstanding(struct vgt_iommu *m)
{
    unsigned n = 0;

    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < VTD_MAX_PRG; i++)
        n += m->prg[i].used;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* The invalidation queue (VT-d 6.5.2) and the page request queue (7.5).
 *
 * Invalidation descriptors are processed synchronously when the guest
 * moves IQT: when the write that moved the tail completes, every cache
 * entry a descriptor covers is gone, so a later wait descriptor's status
 * write is an honest "done". Device-TLB invalidations are forwarded to the
 * device inside the same step. A bad descriptor stops the queue at IQH
 * with FSTS.IQE set until software clears it.
 *
 * Page requests are written at PQT by the calling device's thread under
 * the unit's lock, so they are always in the queue before any later wait
 * descriptor completes: page-request drain (wait PD=1) needs no extra work.
 *
 * Layouts: vgt/vtd.h (SVM.md). */
#include <errno.h>
#include <string.h>

#include "iommu_priv.h"
#include "vgt/util.h"

static void iq_error(struct vgt_iommu *m, unsigned iqei)
{
    uint32_t before = vtd_fsts_pending(m);

    m->st.iq_errors++;
    vtd_set64(m, VTD_REG_IQERCD, (vtd_get64(m, VTD_REG_IQERCD) & ~0xfull) | iqei);
    vtd_set32(m, VTD_REG_FSTS, vtd_get32(m, VTD_REG_FSTS) | VTD_FSTS_IQE);
    vgt_debug(m->log, "vtd: invalidation queue error %u at IQH 0x%llx", iqei,
              (unsigned long long)vtd_get64(m, VTD_REG_IQH));
    if (!before)
        vtd_raise_fault_event(m);
}

/* Size in bytes of an invalidation covering 2^n pages encoded with the
 * S bit: the address's low clear bit marks the size (PCIe ATS 10.3.1). */
static void ats_range(uint64_t addr, bool s, uint64_t *base, uint64_t *size, bool *all)
{
    unsigned n = 0;

    *all = false;
    if (!s) {
        *base = addr & VGT_PAGE_MASK;
        *size = VGT_PAGE_SIZE;
        return;
    }
    /* Count the 1s above bit 11: size = 2^(12 + ones + 1). */
    while (n < 52 && (addr >> (12 + n)) & 1)
        n++;
    if (n >= 51) {
        *all = true;
        *base = 0;
        *size = 0;
        return;
    }
    *size = 1ull << (12 + n + 1);
    *base = addr & ~(*size - 1);
}

static int desc_devtlb(struct vgt_iommu *m, const uint64_t d[4], bool pasid_based)
{
    uint16_t sid = pasid_based ? VTD_PDEVTLB_SID(d[0]) : VTD_DEVTLB_SID(d[0]);
    struct vtd_dev *dev = vtd_find_dev(m, sid);
    uint64_t base, size;
    bool all;

    if (pasid_based && (d[1] & VTD_PDEVTLB_G)) {
        all = true;
        base = size = 0;
    } else {
        ats_range(VTD_INV_ADDR(d[1]),
                  pasid_based ? (d[1] & VTD_PDEVTLB_S) : (d[1] & VTD_DEVTLB_S), &base, &size, &all);
    }
    /* No device at this SID: nothing to invalidate (a real ATS message to
     * nobody would time out; the model completes it). */
    if (dev && dev->ops->devtlb_invalidate)
        dev->ops->devtlb_invalidate(dev->opaque, pasid_based, VTD_INV_PASID(d[0]), all, base, size);
    return 0;
}

static int desc_wait(struct vgt_iommu *m, const uint64_t d[4])
{
    if (d[0] & VTD_WAIT_SW) {
        uint32_t data = VTD_WAIT_DATA(d[0]);

        if (m->hv->ops->write_gpa(m->hv, VTD_WAIT_ADDR(d[1]), &data, 4))
            return -EFAULT;
    }
    if (d[0] & VTD_WAIT_IF) {
        uint32_t ics = vtd_get32(m, VTD_REG_ICS);

        vtd_set32(m, VTD_REG_ICS, ics | VTD_ICS_IWC);
        if (!(ics & VTD_ICS_IWC))
            vtd_raise_event(m, VTD_REG_IECTL, VTD_REG_IEDATA, VTD_REG_IEADDR, VTD_REG_IEUADDR,
                            &m->st.msi_inv);
    }
    /* FN (fence) and PD (page-request drain): processing is synchronous
     * and page requests are queued under the lock (see the top). */
    return 0;
}

static void prg_forget_rid(struct vgt_iommu *m, uint16_t rid)
{
    for (unsigned i = 0; i < VTD_MAX_PRG; i++)
        if (m->prg[i].used && m->prg[i].rid == rid)
            memset(&m->prg[i], 0, sizeof(m->prg[i]));
}

static int desc_page_response(struct vgt_iommu *m, const uint64_t d[4])
{
    uint16_t rid = VTD_PGRP_RID(d[0]);
    bool pp = d[0] & VTD_PGRP_PP;
    uint32_t pasid = VTD_INV_PASID(d[0]);
    uint16_t grp = (uint16_t)VTD_PGRP_IDX(d[1]);
    unsigned code = VTD_PGRP_CODE(d[0]);
    struct vtd_dev *dev = vtd_find_dev(m, rid);
    bool matched = false;

    /* Response codes: 0 success, 1 invalid, 0xF failure (SVM.md). */
    if (code != VTD_PRESP_SUCCESS && code != VTD_PRESP_INVALID && code != VTD_PRESP_FAILURE)
        return -EINVAL;
    for (unsigned i = 0; i < VTD_MAX_PRG; i++) {
        struct vtd_prg *g = &m->prg[i];

        if (g->used && g->rid == rid && g->grp == grp && g->has_pasid == pp &&
            (!pp || g->pasid == pasid)) {
            memset(g, 0, sizeof(*g));
            matched = true;
            break;
        }
    }
    m->st.prq_responses++;
    if (!matched)
        m->st.prq_unmatched_responses++;
    if (code == VTD_PRESP_FAILURE) {
        /* A failure resets page requests of the whole function. */
        prg_forget_rid(m, rid);
        m->st.prq_failure_resets++;
    }
    if (dev && dev->ops->page_response)
        dev->ops->page_response(dev->opaque, pp, pasid, grp, code);
    return 0;
}

static int desc_cc(struct vgt_iommu *m, const uint64_t d[4])
{
    /* FM masks 0, 1, 2 or 3 low function bits. */
    static const uint16_t fm_mask[4] = {0, 4, 6, 7};
    unsigned g = VTD_INV_G(d[0]);

    if (g == VTD_CC_G_GLOBAL || g == VTD_CC_G_DOMAIN)
        /* Domain-selective: scalable context entries carry no DID, so
         * the model invalidates them all (over-invalidation). */
        vtd_flush_ctx(m, true, 0, 0);
    else if (g == VTD_CC_G_DEVICE)
        vtd_flush_ctx(m, false, VTD_CC_SID(d[0]), fm_mask[VTD_CC_FM(d[0])]);
    else
        return -EINVAL;
    return 0;
}

static int desc_iotlb(struct vgt_iommu *m, const uint64_t d[4])
{
    unsigned g = VTD_INV_G(d[0]), am = VTD_INV_AM(d[1]);
    uint16_t did = VTD_INV_DID(d[0]);

    if (g == VTD_IOTLB_G_GLOBAL)
        vtd_flush_iotlb(m, true, 0, false, 0, false, 0, 0);
    else if (g == VTD_IOTLB_G_DOMAIN)
        vtd_flush_iotlb(m, false, did, false, 0, false, 0, 0);
    else if (g == VTD_IOTLB_G_PAGE && am <= VTD_MAMV)
        vtd_flush_iotlb(m, false, did, false, 0, true, VTD_INV_ADDR(d[1]), am);
    else
        return -EINVAL;
    return 0;
}

static int desc_piotlb(struct vgt_iommu *m, const uint64_t d[4])
{
    unsigned g = VTD_INV_G(d[0]), am = VTD_INV_AM(d[1]);
    uint16_t did = VTD_INV_DID(d[0]);
    uint32_t pasid = VTD_INV_PASID(d[0]);

    if (g == VTD_PIOTLB_G_PASID)
        vtd_flush_iotlb(m, false, did, true, pasid, false, 0, 0);
    else if (g == VTD_PIOTLB_G_PAGE && am <= VTD_MAMV)
        vtd_flush_iotlb(m, false, did, true, pasid, true, VTD_INV_ADDR(d[1]), am);
    else
        return -EINVAL;
    return 0;
}

static int desc_pc(struct vgt_iommu *m, const uint64_t d[4])
{
    unsigned g = VTD_INV_G(d[0]);
    uint16_t did = VTD_INV_DID(d[0]);

    if (g == VTD_PC_G_GLOBAL)
        vtd_flush_pasid(m, true, false, 0, false, 0);
    else if (g == VTD_PC_G_DOMAIN)
        vtd_flush_pasid(m, false, true, did, false, 0);
    else if (g == VTD_PC_G_PASID)
        vtd_flush_pasid(m, false, true, did, true, VTD_INV_PASID(d[0]));
    else
        return -EINVAL;
    return 0;
}

static int desc_iec(struct vgt_iommu *m, const uint64_t d[4])
{
    (void)m;
    (void)d;
    return 0; /* no interrupt remapping: nothing cached */
}

static int desc_dev(struct vgt_iommu *m, const uint64_t d[4])
{
    return desc_devtlb(m, d, false);
}

static int desc_pdev(struct vgt_iommu *m, const uint64_t d[4])
{
    return desc_devtlb(m, d, true);
}

static int desc_wait_fn(struct vgt_iommu *m, const uint64_t d[4])
{
    return desc_wait(m, d) ? -EFAULT : 0;
}

/* Descriptor types (SVM.md: type in bits 0-3), indexed by type. */
static const struct vtd_desc_type {
    const char *name;
    bool wide_data; /* uses qw2-3 */
    int (*exec)(struct vgt_iommu *m, const uint64_t d[4]);
} vtd_desc_types[16] = {
    [VTD_INV_CC] = {"context-cache", false, desc_cc},
    [VTD_INV_IOTLB] = {"iotlb", false, desc_iotlb},
    [VTD_INV_DEVTLB] = {"device-tlb", false, desc_dev},
    [VTD_INV_IEC] = {"iec", false, desc_iec},
    [VTD_INV_WAIT] = {"wait", false, desc_wait_fn},
    [VTD_INV_PIOTLB] = {"pasid-iotlb", false, desc_piotlb},
    [VTD_INV_PC] = {"pasid-cache", false, desc_pc},
    [VTD_INV_PDEVTLB] = {"pasid-device-tlb", false, desc_pdev},
    [VTD_INV_PGRP_RESP] = {"page-group-response", true, desc_page_response},
};

/* 0, -EINVAL for a descriptor the unit rejects, -EFAULT for a status
 * write outside guest RAM (both: IQE). */
static int exec_desc(struct vgt_iommu *m, const uint64_t d[4], bool wide)
{
    const struct vtd_desc_type *t = &vtd_desc_types[VTD_INV_TYPE(d[0])];

    /* Bits 9-11 of qw0 extend the type in VT-d 3.x: none we know. */
    if (!t->exec || (d[0] & VGT_GENMASK(11, 9)))
        return -EINVAL;
    if (wide && !t->wide_data && (d[2] || d[3]))
        return -EINVAL;
    vgt_debug(m->log, "vtd: %s %016llx %016llx", t->name, (unsigned long long)d[0],
              (unsigned long long)d[1]);
    return t->exec(m, d);
}

void vtd_iq_process(struct vgt_iommu *m)
{
    uint64_t iqa = vtd_get64(m, VTD_REG_IQA);
    bool wide = iqa & VTD_IQA_DW;
    uint64_t dsize = wide ? 32 : 16;
    uint64_t qsize = VGT_PAGE_SIZE << (iqa & VTD_IQA_QS_MASK);
    uint64_t base = iqa & VTD_IQA_ADDR_MASK;
    uint64_t head = vtd_get64(m, VTD_REG_IQH);
    uint64_t tail = vtd_get64(m, VTD_REG_IQT) & VTD_IQ_OFF_MASK;

    if (!(vtd_get32(m, VTD_REG_GSTS) & VTD_GSTS_QIES) ||
        (vtd_get32(m, VTD_REG_FSTS) & VTD_FSTS_IQE))
        return;
    /* A tail outside the queue or not on a descriptor boundary. */
    if (tail >= qsize || (tail & (dsize - 1))) {
        iq_error(m, VTD_IQEI_TAIL);
        return;
    }
    if (head >= qsize || (head & (dsize - 1)))
        head = 0; /* only the model writes IQH; defensive */
    while (head != tail) {
        uint64_t d[4] = {0};
        unsigned type;
        int ret;

        if (m->hv->ops->read_gpa(m->hv, base + head, d, dsize)) {
            iq_error(m, VTD_IQEI_FETCH);
            return;
        }
        type = VTD_INV_TYPE(d[0]);
        ret = exec_desc(m, d, wide);
        if (ret) {
            iq_error(m, ret == -EFAULT ? VTD_IQEI_FETCH : VTD_IQEI_DESC);
            return;
        }
        m->st.inv_desc[type]++;
        head = (head + dsize) % qsize;
        vtd_set64(m, VTD_REG_IQH, head);
    }
}

/* ---- page requests ---- */

static void respond_now(struct vgt_iommu *m, const struct vgt_iommu_prq *r, unsigned code)
{
    struct vtd_dev *dev = vtd_find_dev(m, r->rid);

    if ((r->lpig || r->has_priv_data) && dev && dev->ops->page_response)
        dev->ops->page_response(dev->opaque, r->has_pasid, r->pasid, r->grp, code);
}

int vgt_iommu_page_request(struct vgt_iommu *m, const struct vgt_iommu_prq *r)
{
    uint64_t ce[4] = {0}, pqa, qsize, head, tail, desc[4];
    uint32_t prs;
    uint8_t f = 0;
    struct vtd_prg *slot = NULL;

    if (r->grp >= 512 || r->pasid >= (1u << VTD_PASID_BITS))
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    /* Page requests need a scalable context entry with PRE = 1. */
    if (!(vtd_get32(m, VTD_REG_GSTS) & VTD_GSTS_TES) ||
        (m->rta_active & VTD_RTADDR_TTM_MASK) != VTD_RTADDR_SMT ||
        vtd_lookup_context(m, r->rid, ce, &f) || !(ce[0] & VTD_SCE_PRE)) {
        if (!(ce[0] & VTD_SCE_FPD) || f)
            vtd_record_fault(m, r->rid, r->has_pasid, r->pasid, r->addr, VTD_FR_SM_PRE_ABS,
                             r->write);
        m->st.prq_dropped++;
        respond_now(m, r, VTD_PRESP_INVALID);
        goto unlock;
    }
    prs = vtd_get32(m, VTD_REG_PRS);
    if (prs & VTD_PRS_PRO) {
        /* Overflowed: dropped until software clears PRO. The unit answers
         * a request that needs a response with success, so the device
         * retries (and faults again) instead of hanging. */
        m->st.prq_dropped++;
        respond_now(m, r, VTD_PRESP_SUCCESS);
        goto unlock;
    }
    pqa = vtd_get64(m, VTD_REG_PQA);
    qsize = VGT_PAGE_SIZE << (pqa & VTD_PQA_QS_MASK);
    head = vtd_get64(m, VTD_REG_PQH) & VTD_PQ_OFF_MASK;
    tail = vtd_get64(m, VTD_REG_PQT) & VTD_PQ_OFF_MASK;
    if ((r->lpig || r->has_priv_data)) {
        for (unsigned i = 0; i < VTD_MAX_PRG && !slot; i++)
            if (!m->prg[i].used)
                slot = &m->prg[i];
    }
    /* Full (or a head the guest put outside the queue, or no room to
     * track the group): overflow. */
    if (head >= qsize || tail >= qsize || (tail + VTD_PRQ_DESC_SIZE) % qsize == head ||
        ((r->lpig || r->has_priv_data) && !slot)) {
        vtd_set32(m, VTD_REG_PRS, prs | VTD_PRS_PRO);
        m->st.prq_overflows++;
        m->st.prq_dropped++;
        vtd_raise_event(m, VTD_REG_PECTL, VTD_REG_PEDATA, VTD_REG_PEADDR, VTD_REG_PEUADDR,
                        &m->st.msi_prq);
        respond_now(m, r, VTD_PRESP_SUCCESS);
        goto unlock;
    }
    desc[0] = VTD_PRQ_TYPE_PAGE_REQ | ((uint64_t)r->rid << 16);
    if (r->has_pasid)
        desc[0] |= VTD_PRQ0_PP | ((uint64_t)r->pasid << 32);
    if (r->has_priv_data)
        desc[0] |= VTD_PRQ0_PDP;
    if (r->exec)
        desc[0] |= VTD_PRQ0_EXE;
    if (r->priv)
        desc[0] |= VTD_PRQ0_PRIV;
    desc[1] = (r->addr & VTD_ADDR_MASK) | ((uint64_t)r->grp << 3);
    if (r->read)
        desc[1] |= VTD_PRQ1_RD;
    if (r->write)
        desc[1] |= VTD_PRQ1_WR;
    if (r->lpig)
        desc[1] |= VTD_PRQ1_LPIG;
    desc[2] = r->has_priv_data ? r->priv_data[0] : 0;
    desc[3] = r->has_priv_data ? r->priv_data[1] : 0;
    if (m->hv->ops->write_gpa(m->hv, (pqa & VTD_PQA_ADDR_MASK) + tail, desc, sizeof(desc))) {
        /* The queue is outside guest RAM: nothing can be delivered. */
        m->st.prq_dropped++;
        respond_now(m, r, VTD_PRESP_INVALID);
        goto unlock;
    }
    vtd_set64(m, VTD_REG_PQT, (tail + VTD_PRQ_DESC_SIZE) % qsize);
    m->st.prq_queued++;
    if (slot) {
        slot->used = true;
        slot->rid = r->rid;
        slot->has_pasid = r->has_pasid;
        slot->pasid = r->pasid;
        slot->grp = r->grp;
    }
    /* An event only when PPR and PRO were both clear (SVM.md). */
    if (!(prs & (VTD_PRS_PPR | VTD_PRS_PRO))) {
        vtd_set32(m, VTD_REG_PRS, prs | VTD_PRS_PPR);
        vtd_raise_event(m, VTD_REG_PECTL, VTD_REG_PEDATA, VTD_REG_PEADDR, VTD_REG_PEUADDR,
                        &m->st.msi_prq);
    }
unlock:
    pthread_mutex_unlock(&m->lock);
    return 0;
}

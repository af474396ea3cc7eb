/* Translation: root/context entries (legacy and scalable), the PASID
 * directory and table, first-stage (x86-64 4/5-level) and second-stage
 * walks, nesting, and the three caches (context, PASID, IOTLB).
 *
 * Every table access is a guest-physical read through the hv seam, which
 * is the guest's p2m: a pointer outside guest RAM fails the read and
 * becomes a recorded fault, never a host access. Walks have a fixed number
 * of levels, so a loop in the tables cannot make them spin.
 *
 * Formats: vgt/vtd.h (VT-d ch. 9, SVM.md). */
#include <errno.h>
#include <string.h>

#include "iommu_priv.h"
#include "vgt/util.h"

#define ADDR_HAW_MASK (VGT_GENMASK(VTD_HAW - 1, 12))  /* entry address bits */
#define FS_RSVD_HAW VGT_GENMASK(51, VTD_HAW)            /* must be zero */
#define SS_RSVD (VGT_GENMASK(61, 52) | VGT_GENMASK(51, VTD_HAW))

static int rd64(struct vgt_iommu *m, uint64_t gpa, uint64_t *v)
{
    return m->hv->ops->read_gpa(m->hv, gpa, v, 8);
}

/* ---- caches ---- */

static unsigned ctx_slot(uint16_t rid)
{
    return (rid ^ (rid >> 6)) % VTD_CTX_CACHE;
}

static unsigned pc_slot(uint16_t rid, uint32_t pasid)
{
    uint32_t h = pasid * 2654435761u ^ rid * 40503u;

    return (h >> 8) % VTD_PASID_CACHE;
}

static unsigned tlb_slot(const struct vgt_iommu *m, uint16_t did, uint32_t pasid, uint64_t vpn)
{
    uint64_t h = vpn * 0x9e3779b97f4a7c15ull ^ ((uint64_t)pasid << 20) ^ did;

    h ^= h >> 29;
    return (unsigned)(h & (m->tlb_n - 1));
}

void vtd_flush_ctx(struct vgt_iommu *m, bool all, uint16_t sid, uint16_t sid_mask)
{
    for (unsigned i = 0; i < VTD_CTX_CACHE; i++) {
        struct vtd_ctx_ent *c = &m->ctx[i];

        if (c->valid && (all || (c->rid & ~sid_mask) == (sid & ~sid_mask)))
            c->valid = false;
    }
    /* A context change invalidates what was derived from it. */
    for (unsigned i = 0; i < VTD_PASID_CACHE; i++) {
        struct vtd_pasid_ent *p = &m->pc[i];

        if (p->valid && (all || (p->rid & ~sid_mask) == (sid & ~sid_mask)))
            p->valid = false;
    }
}

void vtd_flush_pasid(struct vgt_iommu *m, bool all, bool by_did, uint16_t did, bool by_pasid,
                     uint32_t pasid)
{
    for (unsigned i = 0; i < VTD_PASID_CACHE; i++) {
        struct vtd_pasid_ent *p = &m->pc[i];

        if (!p->valid)
            continue;
        if (all || ((!by_did || VTD_PE1_DID(p->pe[1]) == did) && (!by_pasid || p->pasid == pasid)))
            p->valid = false;
    }
}

/* by_addr: the 2^am pages at addr (aligned down to that size). */
void vtd_flush_iotlb(struct vgt_iommu *m, bool all, uint16_t did, bool by_pasid, uint32_t pasid,
                     bool by_addr, uint64_t addr, unsigned am)
{
    uint64_t first = 0, last = 0;

    if (by_addr) {
        first = (addr >> 12) & ~((1ull << am) - 1);
        last = first + (1ull << am) - 1;
    }
    for (unsigned i = 0; i < m->tlb_n; i++) {
        struct vtd_tlb_ent *t = &m->tlb[i];

        if (!t->valid)
            continue;
        if (!all) {
            if (t->did != did || (by_pasid && t->pasid != pasid))
                continue;
            if (by_addr) {
                /* An entry from a large page covers more than its vpn:
                 * drop it when the ranges meet. */
                uint64_t pages = t->page_size >> 12;
                uint64_t lo = t->vpn & ~(pages - 1), hi = lo + pages - 1;

                if (hi < first || lo > last)
                    continue;
            }
        }
        t->valid = false;
    }
}

/* ---- root / context ---- */

int vtd_lookup_context(struct vgt_iommu *m, uint16_t rid, uint64_t ce[4], uint8_t *fault)
{
    struct vtd_ctx_ent *c = &m->ctx[ctx_slot(rid)];
    bool scalable = (m->rta_active & VTD_RTADDR_TTM_MASK) == VTD_RTADDR_SMT;
    uint64_t rta = m->rta_active & VTD_RTADDR_ADDR_MASK;
    uint8_t bus = rid >> 8, devfn = rid & 0xff;
    uint64_t root[2], ctp;

    if (c->valid && c->rid == rid) {
        m->st.ctx_hits++;
        memcpy(ce, c->ce, sizeof(c->ce));
        return 0;
    }
    m->st.ctx_misses++;
    if ((m->rta_active & VTD_RTADDR_TTM_MASK) >> VTD_RTADDR_TTM_SHIFT >= 2) {
        *fault = VTD_FR_RTADDR_INV_TTM;
        return -EFAULT;
    }
    if (m->hv->ops->read_gpa(m->hv, rta + 16ull * bus, root, 16)) {
        *fault = VTD_FR_ROOT_TABLE_INV;
        return -EFAULT;
    }
    memset(ce, 0, 4 * sizeof(*ce));
    if (scalable) {
        /* devfn bit 7 picks the lower or upper context-table pointer. */
        uint64_t e = root[devfn >> 7];

        if (!(e & VTD_ROOT_P)) {
            *fault = VTD_FR_ROOT_ENTRY_P;
            return -EFAULT;
        }
        if (e & VGT_GENMASK(11, 1) || e & FS_RSVD_HAW) {
            *fault = VTD_FR_ROOT_ENTRY_RSVD;
            return -EFAULT;
        }
        ctp = (e & VTD_ADDR_MASK) + 32ull * (devfn & 0x7f);
        if (m->hv->ops->read_gpa(m->hv, ctp, ce, 32)) {
            *fault = VTD_FR_CONTEXT_TABLE_INV;
            return -EFAULT;
        }
        if (!(ce[0] & VTD_SCE_P)) {
            *fault = VTD_FR_CONTEXT_ENTRY_P;
            return -EFAULT;
        }
        if ((ce[0] & FS_RSVD_HAW) || (ce[1] & VGT_GENMASK(63, 21)) || ce[2] || ce[3]) {
            *fault = VTD_FR_CONTEXT_ENTRY_RSVD;
            return -EFAULT;
        }
    } else {
        if (!(root[0] & VTD_ROOT_P)) {
            *fault = VTD_FR_ROOT_ENTRY_P;
            return -EFAULT;
        }
        ctp = (root[0] & VTD_ADDR_MASK) + 16ull * devfn;
        if (m->hv->ops->read_gpa(m->hv, ctp, ce, 16)) {
            *fault = VTD_FR_CONTEXT_TABLE_INV;
            return -EFAULT;
        }
        if (!(ce[0] & VTD_CE_P)) {
            *fault = VTD_FR_CONTEXT_ENTRY_P;
            return -EFAULT;
        }
        if ((ce[0] & VGT_GENMASK(11, 4)) || (ce[1] & ~(VGT_GENMASK(2, 0) | VGT_GENMASK(23, 8)))) {
            *fault = VTD_FR_CONTEXT_ENTRY_RSVD;
            return -EFAULT;
        }
    }
    c->valid = true;
    c->rid = rid;
    memcpy(c->ce, ce, sizeof(c->ce));
    return 0;
}

static bool scalable_mode(const struct vgt_iommu *m)
{
    return (m->rta_active & VTD_RTADDR_TTM_MASK) == VTD_RTADDR_SMT;
}

/* ---- PASID directory / table ---- */

static int lookup_pasid(struct vgt_iommu *m, uint16_t rid, const uint64_t ce[4], uint32_t pasid,
                        struct vtd_pasid_ent **out, uint8_t *fault, bool *fpd)
{
    struct vtd_pasid_ent *p = &m->pc[pc_slot(rid, pasid)];
    unsigned pdts = (unsigned)((ce[0] & VTD_SCE_PDTS_MASK) >> VTD_SCE_PDTS_SHIFT);
    uint64_t dir = ce[0] & VTD_ADDR_MASK, de, pe[8];
    uint64_t di = pasid >> 6;
    unsigned pgtt, aw, flpm;

    if (p->valid && p->rid == rid && p->pasid == pasid) {
        m->st.pasid_hits++;
        *out = p;
        *fpd = p->fpd;
        return 0;
    }
    m->st.pasid_misses++;
    if (pasid >= (1u << VTD_PASID_BITS)) {
        *fault = VTD_FR_PASID_ENTRY_INV;
        return -EFAULT;
    }
    /* The directory has 2^(PDTS+7) entries (SVM.md). */
    if (di >= (1ull << (pdts + 7))) {
        *fault = VTD_FR_PASID_DIR_ENTRY_P;
        return -EFAULT;
    }
    if (rd64(m, dir + 8 * di, &de)) {
        *fault = VTD_FR_PASID_DIR_ACCESS;
        return -EFAULT;
    }
    *fpd = de & VTD_PDE_FPD;
    if (!(de & VTD_PDE_P)) {
        *fault = VTD_FR_PASID_DIR_ENTRY_P;
        return -EFAULT;
    }
    if (m->hv->ops->read_gpa(m->hv, (de & VTD_ADDR_MASK) + VTD_PASID_ENTRY_SIZE * (pasid & 63), pe,
                             sizeof(pe))) {
        *fault = VTD_FR_PASID_TABLE_ACCESS;
        return -EFAULT;
    }
    *fpd |= pe[0] & VTD_PE0_FPD;
    if (!(pe[0] & VTD_PE0_P)) {
        *fault = VTD_FR_PASID_ENTRY_P;
        return -EFAULT;
    }
    pgtt = VTD_PE0_PGTT(pe[0]);
    aw = VTD_PE0_AW(pe[0]);
    flpm = VTD_PE2_FLPM(pe[2]);
    /* A valid PGTT, supported AW (SAGAW: 4 or 5 levels) and FLPM, and
     * address bits within the model's width (SVM.md: 0x5B for an invalid
     * entry). Other fields Linux may set (snoop, SSADE) are accepted and
     * have no effect in the model. */
    if (pgtt < VTD_PGTT_FS || pgtt > VTD_PGTT_PT ||
        ((pgtt == VTD_PGTT_SS || pgtt == VTD_PGTT_NESTED) && aw != 2 && aw != 3) ||
        ((pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED) && flpm > 1) ||
        (pe[0] & (VGT_GENMASK(11, 10) | FS_RSVD_HAW)) || (pe[2] & FS_RSVD_HAW)) {
        *fault = VTD_FR_PASID_ENTRY_INV;
        return -EFAULT;
    }
    p->valid = true;
    p->rid = rid;
    p->pasid = pasid;
    p->fpd = *fpd;
    memcpy(p->pe, pe, sizeof(pe));
    *out = p;
    return 0;
}

/* ---- second stage (VT-d 9.8: R 0, W 1, X 2, PS 7) ---- */

struct ss_walk {
    uint64_t root;
    unsigned levels; /* 3, 4 or 5 */
};

/* 0 or a fault reason. */
static int ss_translate(struct vgt_iommu *m, const struct ss_walk *w, uint64_t in, bool write,
                        uint64_t *out, uint64_t *psize, bool *writable)
{
    uint64_t table = w->root, e = 0;
    unsigned perm = VTD_SS_R | VTD_SS_W;
    unsigned lvl;

    if (in >> (12 + 9 * w->levels))
        return VTD_FR_ADDR_BEYOND_MGAW;
    for (lvl = w->levels; lvl >= 1; lvl--) {
        unsigned shift = 12 + 9 * (lvl - 1);

        if (rd64(m, table + 8 * ((in >> shift) & 511), &e))
            return VTD_FR_PAGING_ENTRY_INV;
        if (!(e & (VTD_SS_R | VTD_SS_W)))
            return write ? VTD_FR_WRITE : VTD_FR_READ;
        if (e & (SS_RSVD))
            return VTD_FR_PAGING_ENTRY_RSVD;
        perm &= (unsigned)e;
        if (e & VTD_SS_PS) {
            uint64_t size = 1ull << shift;

            /* SLLPS: 2M (level 2) and 1G (level 3) pages only. */
            if (lvl > 3 || lvl == 1 || (e & (size - 1) & VTD_ADDR_MASK))
                return VTD_FR_PAGING_ENTRY_RSVD;
            *psize = size;
            *out = (e & ADDR_HAW_MASK & ~(size - 1)) | (in & (size - 1));
            break;
        }
        if (lvl == 1) {
            *psize = VGT_PAGE_SIZE;
            *out = (e & ADDR_HAW_MASK) | (in & 0xfff);
            break;
        }
        table = e & ADDR_HAW_MASK;
    }
    if (write && !(perm & VTD_SS_W))
        return VTD_FR_WRITE;
    if (!write && !(perm & VTD_SS_R))
        return VTD_FR_READ;
    *writable = perm & VTD_SS_W;
    return 0;
}

/* ---- first stage (x86-64 paging) ---- */

struct fs_walk {
    uint64_t root;
    unsigned levels; /* 4 or 5 */
    bool sre, wpe;
    const struct ss_walk *nest; /* NULL unless PGTT = nested */
};

struct fs_out {
    uint64_t gpa, psize;
    bool writable, user, exec, dirty;
};

static int ad_update(struct vgt_iommu *m, uint64_t gpa, uint64_t old, uint64_t nv)
{
    uint64_t exp = old;
    int ret;

    if (!m->no_cmpxchg) {
        ret = m->hv->ops->cmpxchg_gpa(m->hv, gpa, &exp, nv);
        if (ret != -EOPNOTSUPP)
            return ret;
        m->no_cmpxchg = true; /* a forwarding hv whose backend lacks it */
    }
    /* Fallback for an hv without cmpxchg (not atomic against the guest's
     * CPUs): re-read, then write. */
    if (rd64(m, gpa, &exp))
        return -EFAULT;
    if (exp != old)
        return -EAGAIN;
    return m->hv->ops->write_gpa(m->hv, gpa, &nv, 8);
}

/* Canonical: bits 63..(width-1) all equal (width 48 or 57). */
static bool canonical(uint64_t a, unsigned width)
{
    int64_t s = (int64_t)(a << (64 - width)) >> (64 - width);

    return (uint64_t)s == a;
}

/* The checks a walk result must pass for this request. 0 or a reason. */
static int fs_perm(const struct fs_walk *w, const struct vgt_iommu_req *r, bool writable, bool user,
                   bool exec)
{
    /* A supervisor request needs SRE; a user request a U/S=1 path. */
    if (r->priv ? !w->sre : !user)
        return VTD_FR_FS_US;
    /* Supervisor writes to read-only pages are allowed unless WPE. */
    if (r->write && !writable && (!r->priv || w->wpe))
        return VTD_FR_FS_WRITE;
    if (r->exec && !exec)
        return VTD_FR_FS_EXEC;
    return 0;
}

static int fs_translate(struct vgt_iommu *m, const struct fs_walk *w, const struct vgt_iommu_req *r,
                        struct fs_out *o)
{
    uint64_t loc[5], loc_in[5], val[5];
    unsigned n, lvl, tries;
    int f;

    if (!canonical(r->addr, w->levels == 5 ? 57 : 48))
        return VTD_FR_FS_NON_CANONICAL;
    for (tries = 0; tries < 4; tries++) {
        uint64_t table = w->root, e = 0, size = VGT_PAGE_SIZE, out = 0;
        bool rw = true, us = true, xd = false, retry = false;

        n = 0;
        m->st.walks++;
        for (lvl = w->levels; lvl >= 1; lvl--) {
            unsigned shift = 12 + 9 * (lvl - 1);
            uint64_t ea = table + 8 * ((r->addr >> shift) & 511);

            loc_in[n] = ea;
            if (w->nest) {
                uint64_t ps;
                bool wr;

                /* Nested: the table address is translated by the
                 * second stage before it is read. */
                f = ss_translate(m, w->nest, ea, false, &ea, &ps, &wr);
                if (f)
                    return f;
            }
            if (rd64(m, ea, &e))
                return lvl == w->levels ? VTD_FR_FS_PTPTR_INV : VTD_FR_FS_ENTRY_INV;
            if (!(e & VTD_FS_P))
                return VTD_FR_FS_ENTRY_P;
            if (e & FS_RSVD_HAW)
                return VTD_FR_FS_ENTRY_RSVD;
            loc[n] = ea;
            val[n] = e;
            n++;
            rw &= !!(e & VTD_FS_RW);
            us &= !!(e & VTD_FS_US);
            xd |= !!(e & VTD_FS_XD);
            if (e & VTD_FS_PS) {
                /* PS is reserved in PML5E/PML4E; 1G needs FL1GP (set). */
                if (lvl > 3 || lvl == 1)
                    return VTD_FR_FS_ENTRY_RSVD;
                size = 1ull << shift;
                /* Bits 12 (PAT) and up to the page size must be clear
                 * except PAT. */
                if (e & (size - 1) & VGT_GENMASK(63, 13) & ADDR_HAW_MASK)
                    return VTD_FR_FS_ENTRY_RSVD;
                out = (e & ADDR_HAW_MASK & ~(size - 1)) | (r->addr & (size - 1));
                break;
            }
            if (lvl == 1) {
                out = (e & ADDR_HAW_MASK) | (r->addr & 0xfff);
                break;
            }
            table = e & ADDR_HAW_MASK;
        }
        f = fs_perm(w, r, rw, us, !xd);
        if (f)
            return f;
        o->psize = size;
        o->writable = rw;
        o->user = us;
        o->exec = !xd;
        if (w->nest) {
            bool wr;
            uint64_t ps;

            f = ss_translate(m, w->nest, out, r->write, &out, &ps, &wr);
            if (f)
                return f;
            o->psize = VGT_MIN(o->psize, ps);
            o->writable &= wr;
        }
        o->gpa = out;
        /* Accessed on every level, dirty on the leaf for a write: set
         * atomically; if the entry changed under us, walk again. */
        for (unsigned i = 0; i < n && !retry; i++) {
            uint64_t nv = val[i] | VTD_FS_A;
            int ret;

            if (i == n - 1 && r->write)
                nv |= VTD_FS_D;
            if (nv == val[i])
                continue;
            if (w->nest) {
                /* The update is a write through the second stage. */
                uint64_t ps, gpa;
                bool wr;

                if (ss_translate(m, w->nest, loc_in[i], true, &gpa, &ps, &wr))
                    return VTD_FR_FS_AD_UPDATE;
            }
            ret = ad_update(m, loc[i], val[i], nv);
            if (ret == -EAGAIN)
                retry = true;
            else if (ret)
                return VTD_FR_FS_AD_UPDATE;
        }
        if (!retry) {
            o->dirty = r->write || (val[n - 1] & VTD_FS_D);
            return 0;
        }
    }
    return VTD_FR_FS_AD_UPDATE;
}

/* ---- the request path ---- */

static bool walk_fault_recoverable(uint8_t f)
{
    return f == VTD_FR_FS_ENTRY_P || f == VTD_FR_FS_WRITE || f == VTD_FR_FS_US ||
           f == VTD_FR_FS_EXEC || f == VTD_FR_READ || f == VTD_FR_WRITE;
}

static void fill_from_tlb(const struct vtd_tlb_ent *t, uint64_t addr, struct vgt_iommu_result *res)
{
    res->gpa = (t->gfn << 12) | (addr & 0xfff);
    res->page_size = t->page_size;
    res->writable = t->perm & VTD_TLB_W;
    res->user = t->perm & VTD_TLB_U;
}

static int translate_locked(struct vgt_iommu *m, const struct vgt_iommu_req *r,
                            struct vgt_iommu_result *res, bool *fpd)
{
    uint64_t ce[4];
    uint8_t f = 0;
    struct vtd_pasid_ent *p;
    uint32_t pasid = r->pasid;
    uint16_t did;
    unsigned pgtt;
    struct ss_walk ss;
    struct fs_walk fs;
    struct vtd_tlb_ent *t;
    uint64_t vpn = r->addr >> 12;
    struct fs_out o = {0};
    int rc;

    if (vtd_lookup_context(m, r->rid, ce, &f)) {
        res->fault = f;
        return -EFAULT;
    }
    if (!scalable_mode(m)) {
        unsigned tt = (unsigned)((ce[0] & VTD_CE_TT_MASK) >> VTD_CE_TT_SHIFT);
        unsigned aw = VTD_CE_HI_AW(ce[1]);
        bool wr = true;

        *fpd = ce[0] & VTD_CE_FPD;
        if (r->has_pasid) {
            res->fault = VTD_FR_CONTEXT_ENTRY_INV; /* no PASID in legacy mode */
            return -EFAULT;
        }
        if (tt == 3 || (tt == VTD_CE_TT_PT && !(vtd_get64(m, VTD_REG_ECAP) & VTD_ECAP_PT))) {
            res->fault = VTD_FR_CONTEXT_ENTRY_TT;
            return -EFAULT;
        }
        if (r->ats && tt != VTD_CE_TT_DEVTLB)
            return -EPERM; /* ATS only with TT=01 */
        if (tt == VTD_CE_TT_PT) {
            res->gpa = r->addr;
            res->page_size = VGT_PAGE_SIZE;
            res->writable = res->user = true;
            return 0;
        }
        if (aw != 2 && aw != 3) {
            res->fault = VTD_FR_CONTEXT_ENTRY_INV;
            return -EFAULT;
        }
        did = VTD_CE_HI_DID(ce[1]);
        pasid = 0;
        t = &m->tlb[tlb_slot(m, did, 0, vpn)];
        if (t->valid && t->did == did && t->pasid == 0 && t->vpn == vpn && !(t->perm & VTD_TLB_FS) &&
            (!r->write || (t->perm & VTD_TLB_W))) {
            m->st.iotlb_hits++;
            fill_from_tlb(t, r->addr, res);
            res->user = true;
            return 0;
        }
        m->st.iotlb_misses++;
        ss.root = ce[0] & ADDR_HAW_MASK;
        ss.levels = aw + 2;
        m->st.walks++;
        rc = ss_translate(m, &ss, r->addr, r->write, &o.gpa, &o.psize, &wr);
        if (rc) {
            res->fault = (uint8_t)rc;
            res->recoverable = walk_fault_recoverable((uint8_t)rc);
            return -EFAULT;
        }
        o.writable = wr;
        o.user = true;
        goto insert;
    }

    /* Scalable mode. */
    *fpd = ce[0] & VTD_SCE_FPD;
    if (r->has_pasid && !(ce[0] & VTD_SCE_PASIDE)) {
        res->fault = VTD_FR_CONTEXT_ENTRY_INV;
        return -EFAULT;
    }
    if (r->ats && !(ce[0] & VTD_SCE_DTE))
        return -EPERM;
    if (!r->has_pasid)
        pasid = VTD_SCE_RID_PASID(ce[1]);
    {
        bool pfpd = false;

        rc = lookup_pasid(m, r->rid, ce, pasid, &p, &f, &pfpd);
        *fpd |= pfpd;
    }
    if (rc) {
        res->fault = f;
        return -EFAULT;
    }
    pgtt = VTD_PE0_PGTT(p->pe[0]);
    did = VTD_PE1_DID(p->pe[1]);
    if (pgtt == VTD_PGTT_PT) {
        res->gpa = r->addr;
        res->page_size = VGT_PAGE_SIZE;
        res->writable = res->user = true;
        return 0;
    }
    fs.sre = p->pe[2] & VTD_PE2_SRE;
    fs.wpe = p->pe[2] & VTD_PE2_WPE;
    fs.levels = VTD_PE2_FLPM(p->pe[2]) ? 5 : 4;
    fs.root = p->pe[2] & ADDR_HAW_MASK;
    ss.root = p->pe[0] & ADDR_HAW_MASK;
    ss.levels = VTD_PE0_AW(p->pe[0]) + 2;
    fs.nest = pgtt == VTD_PGTT_NESTED ? &ss : NULL;

    t = &m->tlb[tlb_slot(m, did, pasid, vpn)];
    if (t->valid && t->did == did && t->pasid == pasid && t->vpn == vpn) {
        bool ok;

        if (t->perm & VTD_TLB_FS)
            ok = !fs_perm(&fs, r, t->perm & VTD_TLB_W, t->perm & VTD_TLB_U, t->perm & VTD_TLB_X) &&
                 (!r->write || (t->perm & VTD_TLB_D));
        else
            ok = !r->write || (t->perm & VTD_TLB_W);
        if (ok) {
            m->st.iotlb_hits++;
            fill_from_tlb(t, r->addr, res);
            return 0;
        }
    }
    m->st.iotlb_misses++;
    if (pgtt == VTD_PGTT_SS) {
        bool wr = false;

        m->st.walks++;
        rc = ss_translate(m, &ss, r->addr, r->write, &o.gpa, &o.psize, &wr);
        o.writable = wr;
        o.user = true;
    } else {
        rc = fs_translate(m, &fs, r, &o);
    }
    if (rc) {
        res->fault = (uint8_t)rc;
        res->recoverable = walk_fault_recoverable((uint8_t)rc);
        return -EFAULT;
    }
    if (pgtt != VTD_PGTT_SS) {
        t->perm = VTD_TLB_FS | (o.writable ? VTD_TLB_W : 0) | (o.user ? VTD_TLB_U : 0) |
                  (o.exec ? VTD_TLB_X : 0) | (o.dirty ? VTD_TLB_D : 0);
        goto fill;
    }
insert:
    t = &m->tlb[tlb_slot(m, did, pasid, vpn)];
    t->perm = o.writable ? VTD_TLB_W : 0;
fill:
    t->valid = true;
    t->did = did;
    t->pasid = pasid;
    t->vpn = vpn;
    t->gfn = o.gpa >> 12;
    t->page_size = o.psize;
    res->gpa = o.gpa;
    res->page_size = o.psize;
    res->writable = o.writable;
    res->user = o.user;
    return 0;
}

int vgt_iommu_translate(struct vgt_iommu *m, const struct vgt_iommu_req *r,
                        struct vgt_iommu_result *res)
{
    bool fpd = false;
    int ret;

    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&m->lock);
    m->st.translations++;
    if (!(vtd_get32(m, VTD_REG_GSTS) & VTD_GSTS_TES)) {
        /* Remapping off: untranslated DMA is guest-physical; nothing
         * answers a request with PASID or an ATS translation request. */
        if (r->has_pasid || r->ats) {
            ret = -EPERM;
        } else {
            res->gpa = r->addr;
            res->page_size = VGT_PAGE_SIZE;
            res->writable = res->user = true;
            ret = 0;
        }
        goto unlock;
    }
    ret = translate_locked(m, r, res, &fpd);
    if (ret == -EFAULT) {
        /* An ATS translation request answers page-walk faults to the
         * device (which may then issue a page request): not recorded. */
        bool silent = r->ats && res->recoverable;

        if (!silent && !fpd)
            vtd_record_fault(m, r->rid, r->has_pasid, r->pasid, r->addr, res->fault, r->write);
    }
unlock:
    pthread_mutex_unlock(&m->lock);
    return ret;
}

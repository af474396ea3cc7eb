/* The simulated SVA accelerator (see vgt/sim_accel.h). */
#include "vgt/sim_accel.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgt/util.h"

#define ATC_SIZE 256 /* power of two */
#define DESC_QWORDS 8
#define PRI_CAPACITY 32 /* outstanding page requests the function can have */
#define MAX_PRQ_PER_PAGE 8

struct atc_ent {
    bool valid;
    bool has_pasid;
    uint32_t pasid;
    uint64_t vpn, gfn;
    bool writable;
};

struct desc {
    uint64_t q[DESC_QWORDS];
};

struct sim_accel {
    const struct sim_accel_port_ops *port;
    void *port_opaque;
    const struct vgt_log *log;
    uint16_t rid;
    unsigned timeout_ms;

    pthread_mutex_t lock;
    pthread_cond_t cond;       /* work queued / response arrived / idle */
    pthread_t worker;
    bool stop;

    /* config space and its write masks (byte granular) */
    uint8_t cfg[SIM_ACCEL_CFG_SIZE];
    uint8_t wmask[SIM_ACCEL_CFG_SIZE];
    uint8_t w1c[SIM_ACCEL_CFG_SIZE];

    /* BAR0 registers */
    uint32_t ctrl;
    uint64_t int_addr;
    uint32_t int_data, int_ctrl;
    uint64_t portal[DESC_QWORDS];
    uint8_t portal_written; /* bitmap of qwords written */

    /* work queue */
    struct desc *wq;
    unsigned wq_depth, wq_head, wq_count;
    bool busy;

    /* the one page request in flight */
    bool prq_waiting, prq_done;
    uint16_t prq_grp;
    unsigned prq_code;
    uint16_t next_grp;

    struct atc_ent atc[ATC_SIZE];
    uint64_t atc_gen; /* bumped by every invalidation */

    struct sim_accel_stats st;
};

/* ---- config space ---- */

static void cfg_put(struct sim_accel *a, unsigned off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        a->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t cfg_get(const struct sim_accel *a, unsigned off, unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)a->cfg[off + i] << (8 * i);
    return v;
}

static void mask_put(uint8_t *m, unsigned off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        m[off + i] = (uint8_t)(v >> (8 * i));
}

static void cfg_init(struct sim_accel *a)
{
    /* Type 0 header (PCI local bus spec 6.1). */
    cfg_put(a, 0x00, 2, SIM_ACCEL_VENDOR);
    cfg_put(a, 0x02, 2, SIM_ACCEL_DEVICE);
    cfg_put(a, 0x06, 2, 0x0010);                 /* status: capability list */
    cfg_put(a, 0x08, 4, (SIM_ACCEL_CLASS << 8) | 1);
    cfg_put(a, 0x10, 4, 0x4);                    /* BAR0: 64-bit memory */
    cfg_put(a, 0x2C, 2, SIM_ACCEL_VENDOR);
    cfg_put(a, 0x2E, 2, SIM_ACCEL_DEVICE);
    cfg_put(a, 0x34, 1, SIM_ACCEL_CAP_PCIE);
    mask_put(a->wmask, 0x04, 2, 0x0006);         /* memory space, bus master */
    mask_put(a->wmask, 0x10, 4, ~(SIM_ACCEL_BAR0_SIZE - 1u));
    mask_put(a->wmask, 0x14, 4, 0xffffffffu);
    mask_put(a->wmask, 0x3C, 1, 0xff);           /* interrupt line */
    /* PCI Express capability: version 2, endpoint. */
    cfg_put(a, SIM_ACCEL_CAP_PCIE, 1, 0x10);
    cfg_put(a, SIM_ACCEL_CAP_PCIE + 2, 2, 0x0002);
    /* Extended capabilities: header = id | version << 16 | next << 20. */
    cfg_put(a, SIM_ACCEL_ECAP_PASID, 4, PCI_ECAP_ID_PASID | 1u << 16 | SIM_ACCEL_ECAP_ATS << 20);
    cfg_put(a, SIM_ACCEL_ECAP_PASID + PCI_PASID_CAP, 2, 0x4 | (20u << 8)); /* priv, 20 bits */
    mask_put(a->wmask, SIM_ACCEL_ECAP_PASID + PCI_PASID_CTRL, 2, 0x7);
    cfg_put(a, SIM_ACCEL_ECAP_ATS, 4, PCI_ECAP_ID_ATS | 1u << 16 | SIM_ACCEL_ECAP_PRI << 20);
    cfg_put(a, SIM_ACCEL_ECAP_ATS + PCI_ATS_CAP, 2, 0x20); /* page aligned requests */
    mask_put(a->wmask, SIM_ACCEL_ECAP_ATS + PCI_ATS_CTRL, 2, 0x801f);
    cfg_put(a, SIM_ACCEL_ECAP_PRI, 4, PCI_ECAP_ID_PRI | 1u << 16);
    mask_put(a->wmask, SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL, 2, PCI_PRI_CTRL_ENABLE);
    cfg_put(a, SIM_ACCEL_ECAP_PRI + PCI_PRI_STATUS, 2,
            PCI_PRI_STATUS_STOPPED | PCI_PRI_STATUS_PASID);
    mask_put(a->w1c, SIM_ACCEL_ECAP_PRI + PCI_PRI_STATUS, 2,
             PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
    cfg_put(a, SIM_ACCEL_ECAP_PRI + PCI_PRI_MAX_REQ, 4, PRI_CAPACITY);
    mask_put(a->wmask, SIM_ACCEL_ECAP_PRI + PCI_PRI_ALLOC_REQ, 4, 0xffffffffu);
}

static uint16_t pri_status(const struct sim_accel *a)
{
    return (uint16_t)cfg_get(a, SIM_ACCEL_ECAP_PRI + PCI_PRI_STATUS, 2);
}

static void pri_status_set(struct sim_accel *a, uint16_t set, uint16_t clear)
{
    cfg_put(a, SIM_ACCEL_ECAP_PRI + PCI_PRI_STATUS, 2, (pri_status(a) | set) & ~clear);
}

int sim_accel_cfg_read(struct sim_accel *a, unsigned off, unsigned size, uint32_t *val)
{
    if ((size != 1 && size != 2 && size != 4) || off >= SIM_ACCEL_CFG_SIZE ||
        size > SIM_ACCEL_CFG_SIZE - off) {
        *val = 0xffffffffu;
        return 0;
    }
    pthread_mutex_lock(&a->lock);
    *val = cfg_get(a, off, size);
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int sim_accel_cfg_write(struct sim_accel *a, unsigned off, unsigned size, uint32_t val)
{

    if ((size != 1 && size != 2 && size != 4) || off >= SIM_ACCEL_CFG_SIZE ||
        size > SIM_ACCEL_CFG_SIZE - off)
        return 0;
    pthread_mutex_lock(&a->lock);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i));
        unsigned o = off + i;

        a->cfg[o] = (uint8_t)((a->cfg[o] & ~a->wmask[o]) | (b & a->wmask[o]));
        a->cfg[o] &= (uint8_t)~(b & a->w1c[o]);
    }
    /* PRI control: reset (with enable clear) forgets outstanding
     * requests and the failure state; enable clears "stopped". */
    if (off <= SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL && off + size > SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL) {
        uint16_t ctl = (uint16_t)(val >> (8 * (SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL - off)));

        if ((ctl & PCI_PRI_CTRL_RESET) && !(ctl & PCI_PRI_CTRL_ENABLE))
            pri_status_set(a, PCI_PRI_STATUS_STOPPED, PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI);
        if (ctl & PCI_PRI_CTRL_ENABLE)
            pri_status_set(a, 0, PCI_PRI_STATUS_STOPPED);
        else if (!a->prq_waiting)
            pri_status_set(a, PCI_PRI_STATUS_STOPPED, 0);
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

static int io_cfg_read(void *opaque, const struct vgt_io_access *ac, uint64_t *val)
{
    uint32_t v;

    sim_accel_cfg_read(opaque, (unsigned)ac->offset, ac->size, &v);
    *val = v;
    return 0;
}

static int io_cfg_write(void *opaque, const struct vgt_io_access *ac, uint64_t val)
{
    return sim_accel_cfg_write(opaque, (unsigned)ac->offset, ac->size, (uint32_t)val);
}

const struct vgt_io_ops sim_accel_cfg_ops = {io_cfg_read, io_cfg_write};

/* ---- BAR0 ---- */

/* BAR0 registers read as qwords (the 32-bit registers pair up:
 * CTRL/STATUS, WQ_OCC/SWERR, INT_DATA/INT_CTRL). Lock held. */
static uint64_t r_version(const struct sim_accel *a)
{
    (void)a;
    return 0x100;
}

static uint64_t r_cap(const struct sim_accel *a)
{
    return a->wq_depth | (1ull << (16 + SIM_ACCEL_OP_NOOP)) | (1ull << (16 + SIM_ACCEL_OP_MEMMOVE)) |
           (1ull << (16 + SIM_ACCEL_OP_FILL)) | (1ull << (16 + SIM_ACCEL_OP_COMPARE));
}

static uint64_t r_ctrl(const struct sim_accel *a)
{
    return a->ctrl | (uint64_t)(a->ctrl & SIM_ACCEL_CTRL_ENABLE) << 32;
}

static uint64_t r_wq(const struct sim_accel *a)
{
    return (a->wq_count + a->busy) | (a->st.dropped & 0xffffffffull) << 32;
}

static uint64_t r_int_addr(const struct sim_accel *a)
{
    return a->int_addr;
}

static uint64_t r_int_data(const struct sim_accel *a)
{
    return a->int_data | (uint64_t)a->int_ctrl << 32;
}

static uint64_t r_ops(const struct sim_accel *a)
{
    return a->st.completed;
}

static uint64_t r_prqs(const struct sim_accel *a)
{
    return a->st.page_requests;
}

static const struct accel_reg {
    uint16_t off;
    const char *name;
    uint64_t (*read)(const struct sim_accel *a);
} accel_regs[] = {
    {SIM_ACCEL_REG_VERSION, "VERSION", r_version},
    {SIM_ACCEL_REG_CAP, "CAP", r_cap},
    {SIM_ACCEL_REG_CTRL, "CTRL/STATUS", r_ctrl},
    {SIM_ACCEL_REG_WQ_OCC, "WQ_OCC/SWERR", r_wq},
    {SIM_ACCEL_REG_INT_ADDR, "INT_ADDR", r_int_addr},
    {SIM_ACCEL_REG_INT_DATA, "INT_DATA/INT_CTRL", r_int_data},
    {SIM_ACCEL_REG_OPS, "OPS", r_ops},
    {SIM_ACCEL_REG_PRQS, "PRQS", r_prqs},
};

int sim_accel_mmio_read(struct sim_accel *a, uint64_t off, unsigned size, uint64_t *val)
{
    uint64_t v = 0;

    *val = 0;
    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= SIM_ACCEL_BAR0_SIZE)
        return 0;
    pthread_mutex_lock(&a->lock);
    if (!(cfg_get(a, 0x04, 2) & 2)) { /* memory decode off */
        pthread_mutex_unlock(&a->lock);
        *val = size == 8 ? ~0ull : 0xffffffffu;
        return 0;
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(accel_regs); i++)
        if (accel_regs[i].off == (off & ~7ull))
            v = accel_regs[i].read(a);
    pthread_mutex_unlock(&a->lock);
    *val = size == 8 ? v : (v >> (8 * (off & 4))) & 0xffffffffu;
    return 0;
}

/* Queue the portal's descriptor (lock held). */
static void submit(struct sim_accel *a)
{
    if (!(a->ctrl & SIM_ACCEL_CTRL_ENABLE) || a->wq_count == a->wq_depth ||
        a->portal_written != 0xff) {
        a->st.dropped++;
    } else {
        memcpy(a->wq[(a->wq_head + a->wq_count) % a->wq_depth].q, a->portal, sizeof(a->portal));
        a->wq_count++;
        a->st.submitted++;
        pthread_cond_broadcast(&a->cond);
    }
    a->portal_written = 0;
}

int sim_accel_mmio_write(struct sim_accel *a, uint64_t off, unsigned size, uint64_t val)
{
    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= SIM_ACCEL_BAR0_SIZE)
        return 0;
    pthread_mutex_lock(&a->lock);
    if (!(cfg_get(a, 0x04, 2) & 2)) {
        /* memory decode off: dropped */
    } else if (off >= SIM_ACCEL_PORTAL && off < SIM_ACCEL_PORTAL + 8 * DESC_QWORDS) {
        unsigned q = (unsigned)(off - SIM_ACCEL_PORTAL) / 8;

        /* qword writes only: a torn descriptor is refused on submit */
        if (size == 8) {
            a->portal[q] = val;
            a->portal_written |= (uint8_t)(1u << q);
        }
        if (q == DESC_QWORDS - 1)
            submit(a);
    } else if (off == SIM_ACCEL_REG_CTRL) {
        a->ctrl = (uint32_t)val & SIM_ACCEL_CTRL_ENABLE;
    } else if (off == SIM_ACCEL_REG_INT_ADDR) {
        a->int_addr = size == 8 ? val : (a->int_addr & ~0xffffffffull) | (uint32_t)val;
    } else if (off == SIM_ACCEL_REG_INT_ADDR + 4) {
        a->int_addr = (a->int_addr & 0xffffffffull) | (val << 32);
    } else if (off == SIM_ACCEL_REG_INT_DATA) {
        a->int_data = (uint32_t)val;
        if (size == 8)
            a->int_ctrl = (uint32_t)(val >> 32) & 1;
    } else if (off == SIM_ACCEL_REG_INT_CTRL) {
        a->int_ctrl = (uint32_t)val & 1;
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

static int io_mmio_read(void *opaque, const struct vgt_io_access *ac, uint64_t *val)
{
    return sim_accel_mmio_read(opaque, ac->offset, ac->size, val);
}

static int io_mmio_write(void *opaque, const struct vgt_io_access *ac, uint64_t val)
{
    return sim_accel_mmio_write(opaque, ac->offset, ac->size, val);
}

const struct vgt_io_ops sim_accel_mmio_ops = {io_mmio_read, io_mmio_write};

/* ---- from the IOMMU ---- */

void sim_accel_page_response(struct sim_accel *a, bool has_pasid, uint32_t pasid, uint16_t grp,
                             unsigned code)
{
    (void)has_pasid;
    (void)pasid;
    pthread_mutex_lock(&a->lock);
    if (!a->prq_waiting || a->prq_done || grp != a->prq_grp) {
        /* PCIe PRI: a response for a group not outstanding. */
        pri_status_set(a, PCI_PRI_STATUS_UPRGI, 0);
    } else {
        a->prq_done = true;
        a->prq_code = code;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
}

void sim_accel_atc_invalidate(struct sim_accel *a, bool has_pasid, uint32_t pasid, bool all,
                              uint64_t addr, uint64_t size)
{
    uint64_t first = addr >> 12, last = size ? (addr + size - 1) >> 12 : first;

    pthread_mutex_lock(&a->lock);
    a->atc_gen++;
    a->st.atc_invalidations++;
    for (unsigned i = 0; i < ATC_SIZE; i++) {
        struct atc_ent *e = &a->atc[i];

        if (!e->valid)
            continue;
        /* Without PASID: every translation in the range (over-invalidates
         * PASID entries, which is safe). */
        if (has_pasid && (!e->has_pasid || e->pasid != pasid))
            continue;
        if (!all && (e->vpn < first || e->vpn > last))
            continue;
        e->valid = false;
    }
    pthread_mutex_unlock(&a->lock);
}

/* ---- the worker ---- */

static unsigned atc_slot(uint32_t pasid, uint64_t vpn)
{
    uint64_t h = (vpn ^ ((uint64_t)pasid << 40)) * 0x9e3779b97f4a7c15ull;

    return (unsigned)(h >> 56) & (ATC_SIZE - 1);
}

struct op_ctx {
    uint32_t pasid;
    bool priv, bof;
    uint64_t fault_addr;
    uint8_t status;
};

/* Wait for the response to the page request in flight (lock held). */
static int wait_response(struct sim_accel *a, unsigned *code)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += a->timeout_ms / 1000;
    ts.tv_nsec += (long)(a->timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!a->prq_done && !a->stop)
        if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT)
            break;
    *code = a->prq_code;
    return a->prq_done ? 0 : -ETIMEDOUT;
}

/* Translate one page of the operation: ATC, then ATS, then PRI. Returns
 * 0 with *gpa, or sets o->status. */
static int xlate(struct sim_accel *a, struct op_ctx *o, uint64_t va, bool write, uint64_t *gpa)
{
    uint64_t vpn = va >> 12;
    unsigned nreq = 0;

    for (;;) {
        struct sim_accel_xlate x = {
            .rid = a->rid, .pasid = o->pasid, .priv = o->priv,
            .write = write, .addr = va & VGT_PAGE_MASK,
        };
        struct sim_accel_xlate_res r = {0};
        struct atc_ent *e;
        uint64_t gen;
        bool ats, pasid_on, pri_on, pri_failed;
        int ret;

        pthread_mutex_lock(&a->lock);
        ats = cfg_get(a, SIM_ACCEL_ECAP_ATS + PCI_ATS_CTRL, 2) & PCI_ATS_CTRL_ENABLE;
        pasid_on = cfg_get(a, SIM_ACCEL_ECAP_PASID + PCI_PASID_CTRL, 2) & PCI_PASID_CTRL_ENABLE;
        pri_on = cfg_get(a, SIM_ACCEL_ECAP_PRI + PCI_PRI_CTRL, 2) & PCI_PRI_CTRL_ENABLE;
        pri_failed = pri_status(a) & PCI_PRI_STATUS_RF;
        /* Without the PASID capability enabled, requests carry no PASID
         * (the descriptor's PASID field is ignored). */
        x.has_pasid = pasid_on;
        if (!pasid_on)
            o->pasid = 0;
        e = &a->atc[atc_slot(o->pasid, vpn)];
        if (ats && e->valid && e->has_pasid == pasid_on && e->pasid == o->pasid && e->vpn == vpn &&
            (!write || e->writable)) {
            *gpa = (e->gfn << 12) | (va & 0xfff);
            a->st.atc_hits++;
            pthread_mutex_unlock(&a->lock);
            return 0;
        }
        gen = a->atc_gen;
        if (ats)
            a->st.atc_misses++;
        pthread_mutex_unlock(&a->lock);

        x.ats = ats;
        ret = a->port->translate(a->port_opaque, &x, &r);
        if (ret == 0 && (!write || r.writable)) {
            *gpa = (r.gpa & VGT_PAGE_MASK) | (va & 0xfff);
            if (ats) {
                pthread_mutex_lock(&a->lock);
                /* An invalidation since the request: do not cache. */
                if (gen == a->atc_gen) {
                    e->valid = true;
                    e->has_pasid = pasid_on;
                    e->pasid = o->pasid;
                    e->vpn = vpn;
                    e->gfn = r.gpa >> 12;
                    e->writable = r.writable;
                }
                pthread_mutex_unlock(&a->lock);
            }
            return 0;
        }
        if (ret == -EPERM || (ret && !r.recoverable) || !ats) {
            o->status = SIM_ACCEL_ST_DMA_ERROR;
            o->fault_addr = va;
            return -EFAULT;
        }
        /* A recoverable fault: ask the guest through PRI. */
        if (!o->bof || !pri_on || pri_failed || nreq >= MAX_PRQ_PER_PAGE) {
            o->status = pri_failed && o->bof ? SIM_ACCEL_ST_PRI_STOPPED : SIM_ACCEL_ST_PAGE_FAULT;
            o->fault_addr = va;
            return -EFAULT;
        }
        {
            struct sim_accel_prq p = {
                .rid = a->rid, .has_pasid = pasid_on, .pasid = o->pasid, .priv = o->priv,
                .read = !write, .write = write, .lpig = true, .addr = va & VGT_PAGE_MASK,
            };
            unsigned code = 0;
            int w;

            pthread_mutex_lock(&a->lock);
            p.grp = a->next_grp;
            a->next_grp = (a->next_grp + 1) & 511;
            a->prq_waiting = true;
            a->prq_done = false;
            a->prq_grp = p.grp;
            a->st.page_requests++;
            pthread_mutex_unlock(&a->lock);
            nreq++;
            ret = a->port->page_request(a->port_opaque, &p);
            pthread_mutex_lock(&a->lock);
            w = ret ? ret : wait_response(a, &code);
            a->prq_waiting = false;
            if (w) {
                a->st.resp_timeout++;
            } else if (code == 0) {
                a->st.resp_success++;
            } else if (code == 1) {
                a->st.resp_invalid++;
            } else {
                /* Response failure: PRI stops until software resets it. */
                a->st.resp_failure++;
                pri_status_set(a, PCI_PRI_STATUS_RF, 0);
            }
            pthread_mutex_unlock(&a->lock);
            if (w || code != 0) {
                o->status = code == 0xf ? SIM_ACCEL_ST_PRI_STOPPED : SIM_ACCEL_ST_PAGE_FAULT;
                o->fault_addr = va;
                return -EFAULT;
            }
            a->st.retries++;
        }
    }
}

#define CHUNK 4096

static uint32_t run_desc(struct sim_accel *a, const struct desc *d, struct op_ctx *o,
                         uint8_t *result)
{
    unsigned op = (unsigned)(d->q[0] >> 32) & 0xff;
    uint64_t size = d->q[4], src = d->q[2], dst = d->q[3];
    uint8_t b1[CHUNK], b2[CHUNK];
    uint64_t done = 0;

    *result = 0;
    if (size > SIM_ACCEL_MAX_XFER || d->q[5] || d->q[6] || d->q[7] ||
        (op != SIM_ACCEL_OP_NOOP && op != SIM_ACCEL_OP_MEMMOVE && op != SIM_ACCEL_OP_FILL &&
         op != SIM_ACCEL_OP_COMPARE)) {
        o->status = SIM_ACCEL_ST_BAD_DESC;
        return 0;
    }
    if (op == SIM_ACCEL_OP_NOOP)
        size = 0;
    while (done < size) {
        uint64_t s = src + done, t = dst + done, n = size - done, ga, gb;

        /* A chunk never crosses a page of either address. */
        n = VGT_MIN(n, VGT_PAGE_SIZE - (t & 0xfff));
        if (op != SIM_ACCEL_OP_FILL)
            n = VGT_MIN(n, VGT_PAGE_SIZE - (s & 0xfff));
        if (op == SIM_ACCEL_OP_FILL) {
            for (uint64_t i = 0; i < n; i++)
                b1[i] = (uint8_t)(src >> (8 * ((done + i) & 7)));
            if (xlate(a, o, t, true, &gb) || a->port->dma_write(a->port_opaque, gb, b1, n))
                goto fail;
        } else if (op == SIM_ACCEL_OP_MEMMOVE) {
            if (xlate(a, o, s, false, &ga) || a->port->dma_read(a->port_opaque, ga, b1, n))
                goto fail;
            if (xlate(a, o, t, true, &gb) || a->port->dma_write(a->port_opaque, gb, b1, n))
                goto fail;
        } else {
            if (xlate(a, o, s, false, &ga) || a->port->dma_read(a->port_opaque, ga, b1, n))
                goto fail;
            if (xlate(a, o, t, false, &gb) || a->port->dma_read(a->port_opaque, gb, b2, n))
                goto fail;
            if (memcmp(b1, b2, n)) {
                *result = 1;
                done += n;
                break;
            }
        }
        done += n;
        pthread_mutex_lock(&a->lock);
        a->st.bytes += n;
        pthread_mutex_unlock(&a->lock);
    }
    o->status = SIM_ACCEL_ST_SUCCESS;
    return (uint32_t)done;
fail:
    if (o->status == SIM_ACCEL_ST_NONE || o->status == SIM_ACCEL_ST_SUCCESS)
        o->status = SIM_ACCEL_ST_DMA_ERROR;
    return (uint32_t)done;
}

static void complete(struct sim_accel *a, const struct desc *d, struct op_ctx *o, uint32_t done,
                     uint8_t result)
{
    uint64_t flags = d->q[0];
    uint64_t cr = d->q[1];
    uint8_t rec[32] = {0};
    uint64_t gpa, msi_addr;
    uint32_t msi_data;
    bool irq;

    if ((flags & SIM_ACCEL_FLAG_RCR) && !(cr & 31)) {
        struct op_ctx wo = *o;

        rec[0] = o->status;
        rec[1] = result;
        memcpy(rec + 4, &done, 4);
        memcpy(rec + 8, &o->fault_addr, 8);
        /* The record is DMA through the same PASID; written with status
         * last so a polling guest never sees a half record. */
        wo.bof = true;
        if (!xlate(a, &wo, cr, true, &gpa)) {
            a->port->dma_write(a->port_opaque, gpa + 1, rec + 1, 31);
            a->port->dma_write(a->port_opaque, gpa, rec, 1);
        }
    }
    pthread_mutex_lock(&a->lock);
    if (o->status == SIM_ACCEL_ST_SUCCESS)
        a->st.completed++;
    else
        a->st.failed++;
    irq = (flags & SIM_ACCEL_FLAG_RCI) && (a->int_ctrl & 1);
    msi_addr = a->int_addr;
    msi_data = a->int_data;
    pthread_mutex_unlock(&a->lock);
    if (irq)
        a->port->msi(a->port_opaque, msi_addr, msi_data);
}

static void *worker(void *arg)
{
    struct sim_accel *a = arg;

    pthread_mutex_lock(&a->lock);
    for (;;) {
        struct desc d;
        struct op_ctx o = {0};
        uint8_t result;
        uint32_t done;

        while (!a->stop && a->wq_count == 0)
            pthread_cond_wait(&a->cond, &a->lock);
        if (a->stop)
            break;
        d = a->wq[a->wq_head];
        a->wq_head = (a->wq_head + 1) % a->wq_depth;
        a->wq_count--;
        a->busy = true;
        pthread_mutex_unlock(&a->lock);

        o.pasid = (uint32_t)(d.q[0] & 0xfffff);
        o.priv = d.q[0] & SIM_ACCEL_DESC_PRIV;
        o.bof = d.q[0] & SIM_ACCEL_FLAG_BOF;
        done = run_desc(a, &d, &o, &result);
        complete(a, &d, &o, done, result);

        pthread_mutex_lock(&a->lock);
        a->busy = false;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

int sim_accel_wait_idle(struct sim_accel *a, int timeout_ms)
{
    uint64_t end = vgt_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    int ret = 0;

    pthread_mutex_lock(&a->lock);
    while (a->wq_count || a->busy) {
        struct timespec ts;

        if (vgt_now_ns() >= end) {
            ret = -ETIMEDOUT;
            break;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->cond, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    return ret;
}

void sim_accel_get_stats(struct sim_accel *a, struct sim_accel_stats *st)
{
    pthread_mutex_lock(&a->lock);
    *st = a->st;
    pthread_mutex_unlock(&a->lock);
}

uint16_t sim_accel_rid(const struct sim_accel *a)
{
    return a->rid;
}

int sim_accel_create(const struct sim_accel_cfg *cfg, struct sim_accel **out)
{
    struct sim_accel *a;
    int ret;

    if (!cfg->port || !cfg->port->translate || !cfg->port->page_request || !cfg->port->dma_read ||
        !cfg->port->dma_write || !cfg->port->msi)
        return -EINVAL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->port = cfg->port;
    a->port_opaque = cfg->port_opaque;
    a->log = cfg->log;
    a->rid = cfg->rid;
    a->timeout_ms = cfg->response_timeout_ms ? cfg->response_timeout_ms : 2000;
    a->wq_depth = cfg->wq_depth ? VGT_MIN(cfg->wq_depth, 1024u) : 32;
    a->wq = calloc(a->wq_depth, sizeof(*a->wq));
    if (!a->wq) {
        ret = -ENOMEM;
        goto free_acc;
    }
    cfg_init(a);
    ret = -pthread_mutex_init(&a->lock, NULL);
    if (ret)
        goto free_wq;
    ret = -pthread_cond_init(&a->cond, NULL);
    if (ret)
        goto destroy_lock;
    ret = -pthread_create(&a->worker, NULL, worker, a);
    if (ret)
        goto destroy_cond;
    *out = a;
    return 0;

destroy_cond:
    pthread_cond_destroy(&a->cond);
destroy_lock:
    pthread_mutex_destroy(&a->lock);
free_wq:
    free(a->wq);
free_acc:
    free(a);
    return ret;
}

void sim_accel_destroy(struct sim_accel *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->worker, NULL);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a->wq);
    free(a);
}

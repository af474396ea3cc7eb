/* Glue between the VT-d model, the simulated accelerator and a simulated
 * guest (see vgt/svm_sim.h). */
#include "vgt/svm_sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/util.h"

/* ---- the accelerator's DMA port ---- */

static int port_translate(void *opaque, const struct sim_accel_xlate *x,
                          struct sim_accel_xlate_res *res)
{
    struct vgt_svm_sim *s = opaque;
    struct vgt_iommu_req r = {
        .rid = x->rid, .has_pasid = x->has_pasid, .pasid = x->pasid, .priv = x->priv,
        .exec = x->exec, .write = x->write, .ats = x->ats, .addr = x->addr,
    };
    struct vgt_iommu_result o;
    int ret = vgt_iommu_translate(s->mmu, &r, &o);

    res->gpa = o.gpa;
    res->page_size = o.page_size;
    res->writable = o.writable;
    res->recoverable = o.recoverable;
    return ret;
}

static int port_page_request(void *opaque, const struct sim_accel_prq *p)
{
    struct vgt_svm_sim *s = opaque;
    struct vgt_iommu_prq q = {
        .rid = p->rid, .has_pasid = p->has_pasid, .pasid = p->pasid, .exec = p->exec,
        .priv = p->priv, .read = p->read, .write = p->write, .lpig = p->lpig, .grp = p->grp,
        .addr = p->addr,
    };

    return vgt_iommu_page_request(s->mmu, &q);
}

/* The device is assigned to the guest: its DMA to a guest-physical
 * address goes through the guest's p2m (on Xen: the host IOMMU). */
static int port_dma_read(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    struct vgt_svm_sim *s = opaque;

    return vgt_hv_read(s->hv, gpa, buf, len);
}

static int port_dma_write(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    struct vgt_svm_sim *s = opaque;
    int ret = vgt_hv_write(s->hv, gpa, buf, len);

    if (!ret && s->hv->ops->mark_dirty)
        s->hv->ops->mark_dirty(s->hv, gpa >> 12, ((gpa + len - 1) >> 12) - (gpa >> 12) + 1);
    return ret;
}

static int port_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct vgt_svm_sim *s = opaque;

    return s->hv->ops->inject_msi ? s->hv->ops->inject_msi(s->hv, addr, data) : -ENOTSUP;
}

static const struct sim_accel_port_ops port_ops = {
    .translate = port_translate,
    .page_request = port_page_request,
    .dma_read = port_dma_read,
    .dma_write = port_dma_write,
    .msi = port_msi,
};

/* ---- the IOMMU's calls into the device ---- */

static void dev_page_response(void *opaque, bool has_pasid, uint32_t pasid, uint16_t grp,
                              unsigned code)
{
    sim_accel_page_response(opaque, has_pasid, pasid, grp, code);
}

static void dev_devtlb_inval(void *opaque, bool has_pasid, uint32_t pasid, bool all, uint64_t addr,
                             uint64_t size)
{
    sim_accel_atc_invalidate(opaque, has_pasid, pasid, all, addr, size);
}

static const struct vgt_iommu_dev_ops dev_ops = {
    .page_response = dev_page_response,
    .devtlb_invalidate = dev_devtlb_inval,
};

int vgt_svm_sim_create(const struct vgt_svm_sim_cfg *c, struct vgt_svm_sim **out)
{
    struct vgt_svm_sim *s;
    struct vgt_iommu_cfg mc = {0};
    struct sim_accel_cfg ac = {0};
    uint16_t rid = (uint16_t)(c->bus << 8 | (c->dev & 0x1f) << 3 | (c->fn & 7));
    uint64_t ecam = c->ecam_base + ((uint64_t)c->bus << 20) + ((uint64_t)(c->dev & 0x1f) << 15) +
                    ((uint64_t)(c->fn & 7) << 12);
    int ret;

    if (!c->g || !c->srv)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->srv = c->srv;
    /* The guest's seam without server: RAM through the p2m, MSIs, and
     * the atomic compare-exchange for A/D bits. */
    s->hv = sim_guest_hv(c->g);
    mc.hv = s->hv;
    mc.log = c->log;
    mc.iotlb_entries = c->iotlb_entries;
    ret = vgt_iommu_create(&mc, &s->mmu);
    if (ret)
        goto free_s;
    ac.rid = rid;
    ac.port = &port_ops;
    ac.port_opaque = s;
    ac.log = c->log;
    ac.wq_depth = c->wq_depth;
    ac.response_timeout_ms = c->response_timeout_ms;
    ret = sim_accel_create(&ac, &s->acc);
    if (ret)
        goto destroy_mmu;
    ret = vgt_iommu_attach_device(s->mmu, rid, &dev_ops, s->acc);
    if (ret)
        goto destroy_acc;
    ret = vgt_ioreq_server_map_range(c->srv, VGT_IO_MMIO, c->iommu_base,
                                     c->iommu_base + VTD_REG_BLOCK_SIZE - 1, &vgt_iommu_io_ops,
                                     s->mmu, &s->ranges[s->nranges]);
    if (ret)
        goto unmap_ranges;
    s->nranges++;
    ret = vgt_ioreq_server_map_range(c->srv, VGT_IO_PCI, VGT_SBDF(0, c->bus, c->dev, c->fn),
                                     VGT_SBDF(0, c->bus, c->dev, c->fn), &sim_accel_cfg_ops, s->acc,
                                     &s->ranges[s->nranges]);
    if (ret)
        goto unmap_ranges;
    s->nranges++;
    ret = vgt_ioreq_server_map_range(c->srv, VGT_IO_MMIO, ecam, ecam + SIM_ACCEL_CFG_SIZE - 1,
                                     &sim_accel_cfg_ops, s->acc, &s->ranges[s->nranges]);
    if (ret)
        goto unmap_ranges;
    s->nranges++;
    ret = vgt_ioreq_server_map_range(c->srv, VGT_IO_MMIO, c->bar0, c->bar0 + SIM_ACCEL_BAR0_SIZE - 1,
                                     &sim_accel_mmio_ops, s->acc, &s->ranges[s->nranges]);
    if (ret)
        goto unmap_ranges;
    s->nranges++;
    *out = s;
    return 0;

unmap_ranges:
    while (s->nranges)
        vgt_ioreq_server_unmap_range(c->srv, s->ranges[--s->nranges]);
    vgt_iommu_attach_device(s->mmu, rid, NULL, NULL);
destroy_acc:
    sim_accel_destroy(s->acc);
destroy_mmu:
    vgt_iommu_destroy(s->mmu);
free_s:
    free(s);
    return ret;
}

void vgt_svm_sim_destroy(struct vgt_svm_sim *s)
{
    if (!s)
        return;
    while (s->nranges)
        vgt_ioreq_server_unmap_range(s->srv, s->ranges[--s->nranges]);
    /* The device stops before the unit it calls goes away. */
    sim_accel_destroy(s->acc);
    vgt_iommu_destroy(s->mmu);
    free(s);
}

/* ---- a whole machine ---- */

static void *serve(void *arg)
{
    vgt_ioreq_server_run(arg);
    return NULL;
}

int vgt_svm_machine_create(uint16_t domid, uint64_t ram, unsigned vcpus, const struct vgt_log *log,
                           struct vgt_svm_machine **out)
{
    struct vgt_svm_machine *m = calloc(1, sizeof(*m));
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = domid, .ram_bytes = ram, .nr_vcpus = vcpus};
    struct vgt_ioreq_server_cfg sc = {.domid = domid, .log = log};
    struct vgt_svm_sim_cfg vc = {
        .iommu_base = VGT_SVM_SIM_IOMMU_BASE, .ecam_base = VGT_SVM_SIM_ECAM_BASE,
        .bar0 = VGT_SVM_SIM_BAR0, .bus = VGT_SVM_SIM_BUS, .dev = VGT_SVM_SIM_DEV,
        .fn = VGT_SVM_SIM_FN, .log = log,
    };
    struct vgt_ioreq_backend *be;
    pthread_t *tid;
    int ret;

    if (!m)
        return -ENOMEM;
    tid = calloc(1, sizeof(*tid));
    if (!tid) {
        ret = -ENOMEM;
        goto free_m;
    }
    ret = sim_arena_create(ram + (64ull << 20), &m->arena);
    if (ret)
        goto free_tid;
    hc.arena = m->arena;
    hc.log = log;
    hc.seed = domid;
    ret = sim_hv_create(&hc, &m->hv);
    if (ret)
        goto destroy_arena;
    ret = sim_guest_create(m->hv, &gc, &m->g);
    if (ret)
        goto destroy_hv;
    ret = sim_hv_ioreq_backend_create(m->g, log, &be);
    if (ret)
        goto destroy_guest;
    ret = vgt_ioreq_server_create(&sc, be, &m->srv);
    if (ret)
        goto destroy_guest;
    vc.g = m->g;
    vc.srv = m->srv;
    ret = vgt_svm_sim_create(&vc, &m->svm);
    if (ret)
        goto destroy_srv;
    ret = vgt_ioreq_server_start(m->srv);
    if (ret)
        goto destroy_svm;
    ret = -pthread_create(tid, NULL, serve, m->srv);
    if (ret)
        goto destroy_svm;
    m->thread = tid;
    *out = m;
    return 0;

destroy_svm:
    vgt_svm_sim_destroy(m->svm);
destroy_srv:
    vgt_ioreq_server_destroy(m->srv);
destroy_guest:
    sim_guest_destroy(m->g);
destroy_hv:
    sim_hv_destroy(m->hv);
destroy_arena:
    sim_arena_destroy(m->arena);
free_tid:
    free(tid);
free_m:
    free(m);
    return ret;
}

void vgt_svm_machine_destroy(struct vgt_svm_machine *m)
{
    if (!m)
        return;
    vgt_ioreq_server_stop(m->srv);
    pthread_join(*(pthread_t *)m->thread, NULL);
    free(m->thread);
    /* The device may still be working: stop it before the server goes. */
    vgt_svm_sim_destroy(m->svm);
    vgt_ioreq_server_destroy(m->srv);
    sim_guest_destroy(m->g);
    sim_hv_destroy(m->hv);
    sim_arena_destroy(m->arena);
    free(m);
}

/* Glue between the VT-d model, the simulated accelerator and a simulated
 * guest (see vgt/svm_sim.h). */
#include "vgt/svm_sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/ioreq_backend.h"
#include "vgt/stages.h"
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

/* The machine's stages, in bring-up order; vgt_svm_machine_destroy undoes
 * them in reverse (the loop stops, then the device, before the server). */
struct machine_arg {
    uint16_t domid;
    uint64_t ram;
    unsigned vcpus;
    const struct vgt_log *log;
};

static int m_arena_up(void *obj, const void *arg, char *err, size_t errlen)
{
    const struct machine_arg *a = arg;

    (void)err, (void)errlen;
    return sim_arena_create(a->ram + (64ull << 20), &((struct vgt_svm_machine *)obj)->arena);
}

static void m_arena_down(void *obj)
{
    sim_arena_destroy(((struct vgt_svm_machine *)obj)->arena);
}

static int m_hv_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgt_svm_machine *m = obj;
    const struct machine_arg *a = arg;
    struct sim_hv_cfg hc = {.arena = m->arena, .log = a->log, .seed = a->domid};

    (void)err, (void)errlen;
    return sim_hv_create(&hc, &m->hv);
}

static void m_hv_down(void *obj)
{
    sim_hv_destroy(((struct vgt_svm_machine *)obj)->hv);
}

static int m_guest_up(void *obj, const void *arg, char *err, size_t errlen)
{
    const struct machine_arg *a = arg;
    struct sim_guest_cfg gc = {.domid = a->domid, .ram_bytes = a->ram, .nr_vcpus = a->vcpus};

    (void)err, (void)errlen;
    return sim_guest_create(((struct vgt_svm_machine *)obj)->hv, &gc, &((struct vgt_svm_machine *)obj)->g);
}

static void m_guest_down(void *obj)
{
    sim_guest_destroy(((struct vgt_svm_machine *)obj)->g);
}

/* The server owns the backend from its create call on, even on failure. */
static int m_server_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgt_svm_machine *m = obj;
    const struct machine_arg *a = arg;
    struct vgt_ioreq_server_cfg sc = {.domid = a->domid, .log = a->log};
    struct vgt_ioreq_backend *be;
    int ret = sim_hv_ioreq_backend_create(m->g, a->log, &be);

    (void)err, (void)errlen;
    return ret ? ret : vgt_ioreq_server_create(&sc, be, &m->srv);
}

static void m_server_down(void *obj)
{
    vgt_ioreq_server_destroy(((struct vgt_svm_machine *)obj)->srv);
}

static int m_svm_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgt_svm_machine *m = obj;
    const struct machine_arg *a = arg;
    struct vgt_svm_sim_cfg vc = {
        .iommu_base = VGT_SVM_SIM_IOMMU_BASE, .ecam_base = VGT_SVM_SIM_ECAM_BASE,
        .bar0 = VGT_SVM_SIM_BAR0, .bus = VGT_SVM_SIM_BUS, .dev = VGT_SVM_SIM_DEV,
        .fn = VGT_SVM_SIM_FN, .log = a->log, .g = m->g, .srv = m->srv,
    };

    (void)err, (void)errlen;
    return vgt_svm_sim_create(&vc, &m->svm);
}

/* The device may still be working: it stops before the server goes. */
static void m_svm_down(void *obj)
{
    vgt_svm_sim_destroy(((struct vgt_svm_machine *)obj)->svm);
}

static int m_start_up(void *obj, const void *arg, char *err, size_t errlen)
{
    (void)arg, (void)err, (void)errlen;
    return vgt_ioreq_server_start(((struct vgt_svm_machine *)obj)->srv);
}

static int m_thread_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgt_svm_machine *m = obj;
    pthread_t *tid = calloc(1, sizeof(*tid));
    int ret;

    (void)arg, (void)err, (void)errlen;
    if (!tid)
        return -ENOMEM;
    ret = -pthread_create(tid, NULL, serve, m->srv);
    if (ret) {
        free(tid);
        return ret;
    }
    m->thread = tid;
    return 0;
}

static void m_thread_down(void *obj)
{
    struct vgt_svm_machine *m = obj;

    vgt_ioreq_server_stop(m->srv);
    pthread_join(*(pthread_t *)m->thread, NULL);
    free(m->thread);
    m->thread = NULL;
}

static const struct vgt_stage machine_stages[] = {
    {"arena", m_arena_up, m_arena_down},
    {"hypervisor", m_hv_up, m_hv_down},
    {"guest", m_guest_up, m_guest_down},
    {"ioreq server", m_server_up, m_server_down},
    {"IOMMU and accelerator", m_svm_up, m_svm_down},
    {"server start", m_start_up, NULL}, /* undone by the server's destroy */
    {"event loop", m_thread_up, m_thread_down},
};

int vgt_svm_machine_create(uint16_t domid, uint64_t ram, unsigned vcpus, const struct vgt_log *log,
                           struct vgt_svm_machine **out)
{
    struct vgt_svm_machine *m = calloc(1, sizeof(*m));
    const struct machine_arg a = {.domid = domid, .ram = ram, .vcpus = vcpus, .log = log};
    char err[128] = "";
    int ret;

    if (!m)
        return -ENOMEM;
    ret = vgt_stages_up(machine_stages, VGT_ARRAY_SIZE(machine_stages), &m->up, m, &a, NULL, NULL,
                        err, sizeof(err));
    if (ret) {
        free(m);
        return ret;
    }
    *out = m;
    return 0;
}

void vgt_svm_machine_destroy(struct vgt_svm_machine *m)
{
    if (!m)
        return;
    vgt_stages_down(machine_stages, &m->up, 0, m, NULL);
    free(m);
}

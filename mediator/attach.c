/* Serving a vGPU through an ioreq server: PCI config for its SBDF, and
 * BAR0 (registers + GGTT window) wherever the guest places it.
 *
 * Lock order: the ioreq loop holds its registry lock while a handler runs
 * and the handler takes the vGPU lock; so code here takes the registry
 * lock (vgt_ioreq_server_lock) before the vGPU lock, never after. */
#include <errno.h>

#include "vgpu_priv.h"
#include "vgt/ioreq_server.h"

static int cfg_io_read(void *opaque, const struct vgt_io_access *a, uint64_t *val)
{
    uint32_t v32 = 0;
    int ret = vgt_vgpu_cfg_read(opaque, (uint32_t)a->offset, a->size, &v32);

    *val = v32;
    return ret;
}

static int cfg_io_write(void *opaque, const struct vgt_io_access *a, uint64_t val)
{
    return vgt_vgpu_cfg_write(opaque, (uint32_t)a->offset, a->size, (uint32_t)val);
}

static int bar0_io_read(void *opaque, const struct vgt_io_access *a, uint64_t *val)
{
    return vgt_vgpu_mmio_read(opaque, a->offset, a->size, val);
}

static int bar0_io_write(void *opaque, const struct vgt_io_access *a, uint64_t val)
{
    return vgt_vgpu_mmio_write(opaque, a->offset, a->size, val);
}

static void on_invalidate(void *opaque)
{
    vgt_vgpu_invalidate(opaque);
}

static const struct vgt_io_ops cfg_io_ops = {.read = cfg_io_read, .write = cfg_io_write};
static const struct vgt_io_ops bar0_io_ops = {.read = bar0_io_read, .write = bar0_io_write};

/* Make the ioreq ranges and the aperture match config space. One step:
 * the registry lock, then the vGPU lock (the loop's order), held from
 * reading the BARs to recording what was mapped, so a guest BAR write on
 * the ioreq thread and a reset on another cannot interleave and leave a
 * stale or missing range. */
static void remap_locked(struct vgt_vgpu *v, struct vgt_ioreq_server *srv)
{
    uint64_t bar0 = vgt_cfg_bar(v, VGT_CFG_BAR0, VGT_BAR0_SIZE);
    uint64_t bar2 = vgt_cfg_bar(v, VGT_CFG_BAR2, vgt_bar2_size(v));
    uint64_t old0 = v->bar0_range >= 0 ? v->bar0_mapped : 0, old2 = v->bar2_mapped;
    int id = v->bar0_range, ret = 0;

    if (bar0 != old0) {
        if (!bar0) {
            ret = vgt_ioreq_server_unmap_range(srv, id);
            id = -1;
        } else if (id >= 0) {
            ret = vgt_ioreq_server_move_range(srv, id, bar0, bar0 + VGT_BAR0_SIZE - 1);
        } else {
            ret = vgt_ioreq_server_map_range(srv, VGT_IO_MMIO, bar0, bar0 + VGT_BAR0_SIZE - 1,
                                             &bar0_io_ops, v, &id);
            if (ret)
                id = -1;
        }
        if (ret)
            vgt_warn(v->log, "vgpu%u: BAR0 at %#llx: ioreq range: %d", v->id,
                     (unsigned long long)bar0, ret);
        v->bar0_range = id;
        /* A failed move leaves the range where it was. */
        v->bar0_mapped = id < 0 ? 0 : ret ? old0 : bar0;
    }

    if (bar2 != old2 && v->plat.map_aperture) {
        /* The guest reaches only its own slice: at BAR2 + low_base, as
         * guest and host graphics addresses are equal. */
        if (old2)
            v->plat.map_aperture(v->plat.opaque, v, old2 + v->low_base, v->low_base,
                                 v->res.low_size, false);
        if (bar2 && v->plat.map_aperture(v->plat.opaque, v, bar2 + v->low_base, v->low_base,
                                         v->res.low_size, true)) {
            vgt_warn(v->log, "vgpu%u: aperture mapping at %#llx failed", v->id,
                     (unsigned long long)bar2);
            bar2 = 0;
        }
        v->bar2_mapped = bar2;
    }
}

void vgt_vgpu_remap_bars(struct vgt_vgpu *v)
{
    struct vgt_ioreq_server *srv;

    pthread_mutex_lock(&v->lock);
    srv = v->srv;
    pthread_mutex_unlock(&v->lock);
    if (!srv)
        return;
    vgt_ioreq_server_lock(srv);
    pthread_mutex_lock(&v->lock);
    if (v->srv == srv)
        remap_locked(v, srv);
    pthread_mutex_unlock(&v->lock);
    vgt_ioreq_server_unlock(srv);
}

int vgt_vgpu_attach(struct vgt_vgpu *v, struct vgt_ioreq_server *s, uint32_t sbdf,
                    const struct vgt_vgpu_platform *plat)
{
    int id, ret;

    if (!v || !s)
        return -EINVAL;
    if (v->srv)
        return -EBUSY;
    ret = vgt_ioreq_server_on_invalidate(s, on_invalidate, v);
    if (ret) {
        vgt_err(v->log, "vgpu%u: the ioreq server serves another device's invalidations",
                v->id);
        return ret;
    }
    ret = vgt_ioreq_server_map_range(s, VGT_IO_PCI, sbdf, sbdf, &cfg_io_ops, v, &id);
    if (ret) {
        vgt_err(v->log, "vgpu%u: PCI config range for %#x: %d", v->id, sbdf, ret);
        vgt_ioreq_server_on_invalidate(s, NULL, NULL);
        return ret;
    }
    pthread_mutex_lock(&v->lock);
    v->srv = s;
    v->pci_range = id;
    if (plat)
        v->plat = *plat;
    pthread_mutex_unlock(&v->lock);
    vgt_vgpu_remap_bars(v);
    return 0;
}

void vgt_vgpu_detach(struct vgt_vgpu *v)
{
    struct vgt_ioreq_server *srv;

    if (!v || !v->srv)
        return;
    srv = v->srv;
    if (v->bar0_range >= 0)
        vgt_ioreq_server_unmap_range(srv, v->bar0_range);
    if (v->bar2_mapped && v->plat.map_aperture)
        v->plat.map_aperture(v->plat.opaque, v, v->bar2_mapped + v->low_base, v->low_base,
                             v->res.low_size, false);
    vgt_ioreq_server_unmap_range(srv, v->pci_range);
    vgt_ioreq_server_on_invalidate(srv, NULL, NULL);
    pthread_mutex_lock(&v->lock);
    v->srv = NULL;
    v->bar0_range = -1;
    v->bar0_mapped = 0;
    v->bar2_mapped = 0;
    v->pci_range = -1;
    pthread_mutex_unlock(&v->lock);
}

static int ap_access(struct vgt_aperture_mmio *ap, const struct vgt_io_access *a, uint64_t *val, bool write)
{
    if (a->offset + a->size > ap->size ||
        vgt_vgpu_aperture_access(ap->v, ap->gm + a->offset, a->size, val, write)) {
        if (write)
            __atomic_add_fetch(&ap->dropped, 1, __ATOMIC_RELAXED);
        else
            *val = ~0ull;
    }
    return 0;
}

static int ap_read(void *opaque, const struct vgt_io_access *a, uint64_t *val)
{
    return ap_access(opaque, a, val, false);
}

static int ap_write(void *opaque, const struct vgt_io_access *a, uint64_t val)
{
    return ap_access(opaque, a, &val, true);
}

static const struct vgt_io_ops ap_io_ops = {.read = ap_read, .write = ap_write};

int vgt_aperture_mmio_map(struct vgt_aperture_mmio *ap, struct vgt_vgpu *v, struct vgt_ioreq_server *srv,
                          uint64_t gpa, uint64_t host_gm, uint64_t size, bool map)
{
    if (ap->range >= 0) {
        vgt_ioreq_server_unmap_range(ap->srv, ap->range);
        ap->range = -1;
    }
    if (!map)
        return 0;
    ap->v = v;
    ap->srv = srv;
    ap->gm = host_gm;
    ap->size = size;
    return vgt_ioreq_server_map_range(srv, VGT_IO_MMIO, gpa, gpa + size - 1, &ap_io_ops, ap, &ap->range);
}

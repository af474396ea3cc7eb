/* The platforms of the host library (see platform.h): const ops tables
 * for the hypervisor backends (xen, sim), the host GPUs (pci, sim) and
 * the guest-frame DMA mappings; the aperture tables live in vgpu_host.c. */
#include "platform.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostgpu_pci.h"
#include "vgpu_host.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_hv.h"
#include "vgt/util.h"
#include "vgt_xenctrl.h"

/* ---- hypervisor: the simulated one ---- */

static int sim_hv_open(struct vgt_plat *p, char *err, size_t errlen)
{
    struct sim_hv_cfg hc = {.arena = p->arena, .log = p->log};
    int ret;

    if (!p->arena) {
        snprintf(err, errlen, "the simulated hypervisor needs the simulated GPU's memory");
        return -EINVAL;
    }
    ret = sim_hv_create(&hc, &p->hv);
    if (ret)
        snprintf(err, errlen, "simulated hypervisor: %s", strerror(-ret));
    return ret;
}

static void sim_hv_close(struct vgt_plat *p)
{
    sim_hv_destroy(p->hv);
    p->hv = NULL;
}

static int sim_guest_make(struct vgt_plat *p, const struct vgpu_add_req *req,
                          struct sim_guest **guest, char *err, size_t errlen)
{
    struct sim_guest_cfg gc = {.domid = req->domid,
                               .ram_bytes = req->sim_ram ? req->sim_ram : 64ull << 20,
                               .nr_vcpus = req->sim_vcpus ? req->sim_vcpus : 1};
    int ret = sim_guest_create(p->hv, &gc, guest);

    if (ret)
        snprintf(err, errlen, "simulated domain %u: %s", req->domid, strerror(-ret));
    return ret;
}

static int sim_backend_create(struct vgt_plat *p, uint16_t domid, struct sim_guest *guest,
                              const struct vgt_mapcache_dma *dma, struct vgt_ioreq_backend **be,
                              char *err, size_t errlen)
{
    int ret = sim_hv_ioreq_backend_create(guest, p->log, be);

    (void)dma;
    if (ret)
        snprintf(err, errlen, "ioreq backend for domain %u: %s", domid, strerror(-ret));
    return ret;
}

static void sim_guest_unmake(struct sim_guest *guest)
{
    sim_guest_destroy(guest);
}

static bool sim_domain_alive(uint16_t domid, bool dead)
{
    (void)domid;
    return !dead;
}

static const struct vgt_platform_hv hv_sim = {
    .name = "sim",
    .sim = true,
    .open = sim_hv_open,
    .close = sim_hv_close,
    .guest_create = sim_guest_make,
    .guest_destroy = sim_guest_unmake,
    .backend_create = sim_backend_create,
    .domain_alive = sim_domain_alive,
};

/* ---- hypervisor: Xen ---- */

static int xen_guest_none(struct vgt_plat *p, const struct vgpu_add_req *req,
                          struct sim_guest **guest, char *err, size_t errlen)
{
    (void)p, (void)req, (void)err, (void)errlen;
    *guest = NULL; /* the domain exists already: the backend checks it */
    return 0;
}

/* Privileged checks first (exists, HVM, paused), each failure naming its
 * call; then the DMOP-only backend, its guest frames bounded by the
 * domain's highest frame before the vGPU exists. */
static int xen_backend_create(struct vgt_plat *p, uint16_t domid, struct sim_guest *guest,
                              const struct vgt_mapcache_dma *dma, struct vgt_ioreq_backend **be,
                              char *err, size_t errlen)
{
    int ret = vgt_xc_backend_create(domid, p->log, dma, be, err, errlen);

    (void)guest;
    if (ret && !err[0])
        snprintf(err, errlen, "ioreq backend for domain %u: %s", domid, strerror(-ret));
    return ret;
}

static bool xen_domain_alive(uint16_t domid, bool dead)
{
    (void)dead;
    return vgt_xc_domain_exists(domid) != 0;
}

static const struct vgt_platform_hv hv_xen = {
    .name = "xen",
    .guest_create = xen_guest_none,
    .backend_create = xen_backend_create,
    .domain_alive = xen_domain_alive,
};

/* ---- host GPU: the simulated Skylake GT2 ---- */

static int sim_gpu_open(struct vgt_plat *p, char *err, size_t errlen)
{
    int ret = sim_gpu_create(p->arena, NULL, p->gpu_log, &p->sim_gpu);

    if (ret) {
        snprintf(err, errlen, "simulated GPU: %s", strerror(-ret));
        return ret;
    }
    p->hw = sim_gpu_hostgpu(p->sim_gpu);
    return 0;
}

static void sim_gpu_close(struct vgt_plat *p)
{
    sim_gpu_destroy(p->sim_gpu);
    p->sim_gpu = NULL;
    p->hw = NULL;
}

/* The model's aperture frames are graphics addresses, recorded only. */
static uint64_t sim_aperture_mfn(struct vgt_plat *p, uint64_t host_gm)
{
    (void)p;
    return host_gm >> VGT_PAGE_SHIFT;
}

static const struct vgt_platform_gpu gpu_sim = {
    .name = "sim",
    .sim = true,
    .open = sim_gpu_open,
    .close = sim_gpu_close,
    .aperture_mfn = sim_aperture_mfn,
};

/* ---- host GPU: a real Skylake iGPU over libpciaccess ---- */

static int pci_gpu_open(struct vgt_plat *p, char *err, size_t errlen)
{
    struct hostgpu_pci_cfg pc = {.sbdf = p->gpu_sbdf, .log = p->log};
    int ret = hostgpu_pci_open(&pc, &p->pci, err, errlen);

    if (ret)
        return ret;
    p->hw = hostgpu_pci_hostgpu(p->pci);
    return 0;
}

static void pci_gpu_close(struct vgt_plat *p)
{
    hostgpu_pci_close(p->pci);
    p->pci = NULL;
    p->hw = NULL;
}

static uint64_t pci_aperture_mfn(struct vgt_plat *p, uint64_t host_gm)
{
    return (hostgpu_pci_aperture_base(p->pci) + host_gm) >> VGT_PAGE_SHIFT;
}

static const struct vgt_platform_gpu gpu_pci = {
    .name = "pci",
    .open = pci_gpu_open,
    .close = pci_gpu_close,
    .aperture_mfn = pci_aperture_mfn,
};

/* ---- guest frames for the GPU (docs/architecture.md, gfn_to_dma) ---- */

/* The simulated GPU reaches a real guest's frame, mapped into vgtd, by
 * importing the page into its arena. */
static int arena_dma_get(void *plat, void *page, uint64_t *dma)
{
    return sim_arena_import(((struct vgt_plat *)plat)->arena, page, dma);
}

static void arena_dma_put(void *plat, void *page, uint64_t dma)
{
    (void)page;
    sim_arena_unimport(((struct vgt_plat *)plat)->arena, dma);
}

static const struct vgt_platform_dma dma_arena = {
    .name = "arena", .get = arena_dma_get, .put = arena_dma_put};

/* The real GPU in a PVH dom0: the dom0 frame of the mapping. */
static int pagemap_dma_get(void *plat, void *page, uint64_t *dma)
{
    return hostgpu_pci_va_to_dma(((struct vgt_plat *)plat)->pci, page, dma);
}

static void pagemap_dma_put(void *plat, void *page, uint64_t dma)
{
    (void)plat, (void)page, (void)dma; /* the unmap gives the frame back */
}

static const struct vgt_platform_dma dma_pagemap = {
    .name = "pagemap", .get = pagemap_dma_get, .put = pagemap_dma_put};

/* ---- the platforms ---- */

const struct vgt_platform vgt_platform_sim = {
    .name = "sim", .hv = &hv_sim, .gpu = &gpu_sim, .aperture = &vgt_aperture_recorded,
    .dma = &dma_arena};
/* The simulated GPU's frames are not host frames a guest could map: the
 * aperture is always emulated (never xc_domain_memory_mapping with
 * simulated frame numbers). */
const struct vgt_platform vgt_platform_xen_sim = {
    .name = "xen, gpu sim", .hv = &hv_xen, .gpu = &gpu_sim, .aperture = &vgt_aperture_emulated,
    .dma = &dma_arena};
const struct vgt_platform vgt_platform_xen = {
    .name = "xen", .hv = &hv_xen, .gpu = &gpu_pci, .aperture = &vgt_aperture_mapped,
    .dma = &dma_pagemap};

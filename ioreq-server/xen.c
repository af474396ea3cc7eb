/* The xen backend: the stable DMOP API only (libxendevicemodel,
 * libxenforeignmemory's map_resource, libxenevtchn). Start-up order and the
 * facts observed on a real Xen 4.17 are in ARCHITECTURE.md, "Xen ioreq
 * protocol"; the engine drives the order, this file makes the calls. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen_internal.h"
#include "vgt/util.h"

#if defined(__aarch64__) || defined(__arm__)
/* Xen on Arm: ioreq servers emulate MMIO only; no buffered ring, no port
 * I/O, no PCI config forwarding, no HVMMEM_ioreq_server. */
#define XEN_NATIVE_ARM true
#else
#define XEN_NATIVE_ARM false
#endif

static struct xen_be *to_be(struct vgt_ioreq_backend *b)
{
    return (struct xen_be *)b;
}

int vgt_xen_fail(struct xen_be *be, const char *call)
{
    int e = errno ? errno : EIO;

    vgt_err(be->log, "%s(dom%u): %s (errno %d)", call, be->domid, strerror(e), e);
    return -e;
}

/* A teardown call after the guest died: the hypervisor freed the server
 * with the domain, so ENOENT/ESRCH mean "already gone", not a failure, and
 * are logged at debug level only. Any other errno is an error. */
int vgt_xen_teardown_fail(struct xen_be *be, const char *call)
{
    int e = errno ? errno : EIO;

    if (e != ENOENT && e != ESRCH)
        return vgt_xen_fail(be, call);
    vgt_debug(be->log, "%s(dom%u): domain already gone (errno %d)", call, be->domid, e);
    return -e;
}

static void xtl_vmessage(struct xentoollog_logger *xtl, xentoollog_level level, int errnoval,
                         const char *context, const char *format, va_list al)
{
    struct xen_be *be = (struct xen_be *)((char *)xtl - offsetof(struct xen_be, xtl));
    char msg[512];

    (void)level;
    (void)errnoval;
    if (!vgt_log_enabled(be->log, VGT_LOG_DEBUG))
        return;
    vsnprintf(msg, sizeof(msg), format, al);
    vgt_debug(be->log, "%s: %s", context ? context : "xen", msg);
}

static void xtl_destroy(struct xentoollog_logger *xtl)
{
    (void)xtl;
}

static int xen_create(struct vgt_ioreq_backend *b, bool bufioreq, unsigned *nr_vcpus)
{
    struct xen_be *be = to_be(b);

    if (be->arm && bufioreq) {
        vgt_err(be->log, "dom%u: buffered ioreqs do not exist on Xen on Arm", be->domid);
        return -EOPNOTSUPP;
    }
    if (xendevicemodel_nr_vcpus(be->dmod, be->domid, nr_vcpus) < 0)
        return vgt_xen_fail(be, "xendevicemodel_nr_vcpus");
    if (xendevicemodel_create_ioreq_server(be->dmod, be->domid,
                                           bufioreq ? HVM_IOREQSRV_BUFIOREQ_ATOMIC
                                                    : HVM_IOREQSRV_BUFIOREQ_OFF,
                                           &be->id) < 0)
        return vgt_xen_fail(be, "xendevicemodel_create_ioreq_server");
    be->created = true;
    be->bufioreq = bufioreq;
    vgt_debug(be->log, "dom%u: ioreq server %u created, %u vCPUs", be->domid, be->id,
              *nr_vcpus);
    return 0;
}

/* Frame 0 is the buffered page and exists only with buffering (ENOENT
 * otherwise, observed on Arm); frame 1 is the sync page. Mapped before
 * enable: mapped after, every vp_eport stays 0 (observed). */
static int xen_map_pages(struct vgt_ioreq_backend *b, shared_iopage_t **sync,
                         buffered_iopage_t **buf)
{
    struct xen_be *be = to_be(b);
    unsigned long frame = be->bufioreq ? XENMEM_resource_ioreq_server_frame_bufioreq
                                       : XENMEM_resource_ioreq_server_frame_ioreq(0);
    unsigned long nr = be->bufioreq ? 2 : 1;
    void *addr = NULL;

    be->res = xenforeignmemory_map_resource(be->fmem, be->domid, XENMEM_resource_ioreq_server,
                                            be->id, frame, nr, &addr, PROT_READ | PROT_WRITE, 0);
    if (!be->res)
        return vgt_xen_fail(be, "xenforeignmemory_map_resource");
    be->pages = addr;
    *buf = be->bufioreq ? addr : NULL;
    *sync = be->bufioreq ? (shared_iopage_t *)((char *)addr + VGT_PAGE_SIZE) : addr;
    return 0;
}

static int pci_each(struct xen_be *be, uint64_t start, uint64_t end, bool map)
{
    for (uint64_t sbdf = start; sbdf <= end; sbdf++) {
        uint16_t seg = (uint16_t)(sbdf >> 16);
        uint8_t bus = (uint8_t)(sbdf >> 8), dev = (sbdf >> 3) & 0x1f, fn = sbdf & 7;
        int r = map ? xendevicemodel_map_pcidev_to_ioreq_server(be->dmod, be->domid, be->id,
                                                                 seg, bus, dev, fn)
                    : xendevicemodel_unmap_pcidev_from_ioreq_server(be->dmod, be->domid,
                                                                     be->id, seg, bus, dev, fn);

        if (r < 0) {
            int ret = map ? vgt_xen_fail(be, "xendevicemodel_map_pcidev_to_ioreq_server")
                          : vgt_xen_teardown_fail(be, "xendevicemodel_unmap_pcidev_from_ioreq_server");

            /* Undo the devices mapped so far. */
            while (map && sbdf-- > start)
                xendevicemodel_unmap_pcidev_from_ioreq_server(
                    be->dmod, be->domid, be->id, (uint16_t)(sbdf >> 16), (uint8_t)(sbdf >> 8),
                    (sbdf >> 3) & 0x1f, sbdf & 7);
            return ret;
        }
    }
    return 0;
}

static int xen_map_range(struct vgt_ioreq_backend *b, enum vgt_io_type type, uint64_t start,
                         uint64_t end)
{
    struct xen_be *be = to_be(b);

    if (be->arm && type != VGT_IO_MMIO) {
        vgt_err(be->log, "dom%u: Xen on Arm forwards MMIO only", be->domid);
        return -EOPNOTSUPP;
    }
    if (type == VGT_IO_PCI)
        return pci_each(be, start, end, true);
    if (xendevicemodel_map_io_range_to_ioreq_server(be->dmod, be->domid, be->id,
                                                    type == VGT_IO_MMIO, start, end) < 0)
        return vgt_xen_fail(be, "xendevicemodel_map_io_range_to_ioreq_server");
    return 0;
}

static int xen_unmap_range(struct vgt_ioreq_backend *b, enum vgt_io_type type, uint64_t start,
                           uint64_t end)
{
    struct xen_be *be = to_be(b);

    if (type == VGT_IO_PCI)
        return pci_each(be, start, end, false);
    if (xendevicemodel_unmap_io_range_from_ioreq_server(be->dmod, be->domid, be->id,
                                                        type == VGT_IO_MMIO, start, end) < 0)
        return vgt_xen_teardown_fail(be, "xendevicemodel_unmap_io_range_from_ioreq_server");
    return 0;
}

static int xen_enable(struct vgt_ioreq_backend *b, bool on)
{
    struct xen_be *be = to_be(b);

    if (xendevicemodel_set_ioreq_server_state(be->dmod, be->domid, be->id, on) < 0)
        return on ? vgt_xen_fail(be, "xendevicemodel_set_ioreq_server_state")
                  : vgt_xen_teardown_fail(be, "xendevicemodel_set_ioreq_server_state");
    return 0;
}

/* The gfn pointers stay NULL: with them the call fails with EOPNOTSUPP on
 * Arm (observed), and the pages come from map_resource anyway. */
static int xen_buf_port(struct vgt_ioreq_backend *b, uint32_t *remote)
{
    struct xen_be *be = to_be(b);
    evtchn_port_t port;

    if (xendevicemodel_get_ioreq_server_info(be->dmod, be->domid, be->id, NULL, NULL, &port) < 0)
        return vgt_xen_fail(be, "xendevicemodel_get_ioreq_server_info");
    *remote = port;
    return 0;
}

static int xen_bind_port(struct vgt_ioreq_backend *b, uint32_t remote, uint32_t *local)
{
    struct xen_be *be = to_be(b);
    xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(be->xce, be->domid, remote);

    if (p < 0)
        return vgt_xen_fail(be, "xenevtchn_bind_interdomain");
    *local = (uint32_t)p;
    return 0;
}

static int xen_unbind_port(struct vgt_ioreq_backend *b, uint32_t local)
{
    struct xen_be *be = to_be(b);

    if (xenevtchn_unbind(be->xce, local) < 0)
        return vgt_xen_teardown_fail(be, "xenevtchn_unbind");
    return 0;
}

/* After restriction the handles only reach this domain: a compromised
 * emulator cannot touch other guests. */
static int xen_restrict(struct vgt_ioreq_backend *b)
{
    struct xen_be *be = to_be(b);

    if (xendevicemodel_restrict(be->dmod, be->domid) < 0)
        return vgt_xen_fail(be, "xendevicemodel_restrict");
    if (xenforeignmemory_restrict(be->fmem, be->domid) < 0)
        return vgt_xen_fail(be, "xenforeignmemory_restrict");
    if (xenevtchn_restrict(be->xce, be->domid) < 0)
        return vgt_xen_fail(be, "xenevtchn_restrict");
    return 0;
}

static int xen_fd(struct vgt_ioreq_backend *b)
{
    return xenevtchn_fd(to_be(b)->xce);
}

static int xen_wait(struct vgt_ioreq_backend *b, int timeout_ms)
{
    struct xen_be *be = to_be(b);
    struct pollfd pfd[2] = {{.fd = xenevtchn_fd(be->xce), .events = POLLIN},
                            {.fd = be->kick_fd, .events = POLLIN}};
    uint64_t cnt;
    int r = poll(pfd, 2, timeout_ms);

    if (r < 0)
        return errno == EINTR ? -EINTR : -errno;
    if (r == 0)
        return -ETIMEDOUT;
    if ((pfd[1].revents & POLLIN) && read(be->kick_fd, &cnt, sizeof(cnt)) < 0)
        return -errno;
    return 0;
}

static int xen_pending(struct vgt_ioreq_backend *b)
{
    struct xen_be *be = to_be(b);
    struct pollfd pfd = {.fd = xenevtchn_fd(be->xce), .events = POLLIN};
    xenevtchn_port_or_error_t p;

    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
        return -EAGAIN;
    p = xenevtchn_pending(be->xce);
    if (p < 0)
        return errno == EAGAIN ? -EAGAIN : vgt_xen_fail(be, "xenevtchn_pending");
    return (int)p;
}

static int xen_unmask(struct vgt_ioreq_backend *b, uint32_t local)
{
    struct xen_be *be = to_be(b);

    if (xenevtchn_unmask(be->xce, local) < 0)
        return vgt_xen_fail(be, "xenevtchn_unmask");
    return 0;
}

static int xen_notify(struct vgt_ioreq_backend *b, uint32_t local)
{
    struct xen_be *be = to_be(b);

    if (xenevtchn_notify(be->xce, local) < 0)
        return vgt_xen_fail(be, "xenevtchn_notify");
    return 0;
}

static void xen_kick(struct vgt_ioreq_backend *b)
{
    uint64_t one = 1;

    if (write(to_be(b)->kick_fd, &one, sizeof(one)) < 0)
        return; /* the counter is saturated: a wake-up is pending anyway */
}

static int xen_claim_wp(struct vgt_ioreq_backend *b)
{
    struct xen_be *be = to_be(b);

    if (be->arm) {
        vgt_err(be->log, "dom%u: Xen on Arm has no HVMMEM_ioreq_server", be->domid);
        return -EOPNOTSUPP;
    }
    if (xendevicemodel_map_mem_type_to_ioreq_server(be->dmod, be->domid, be->id,
                                                    HVMMEM_ioreq_server,
                                                    XEN_DMOP_IOREQ_MEM_ACCESS_WRITE) < 0)
        return vgt_xen_fail(be, "xendevicemodel_map_mem_type_to_ioreq_server");
    return 0;
}

static int xen_set_wp(struct vgt_ioreq_backend *b, uint64_t gfn, uint64_t nr, bool protect)
{
    struct xen_be *be = to_be(b);

    while (nr) {
        uint32_t n = (uint32_t)VGT_MIN(nr, (uint64_t)UINT32_MAX);

        if (xendevicemodel_set_mem_type(be->dmod, be->domid,
                                        protect ? HVMMEM_ioreq_server : HVMMEM_ram_rw, gfn,
                                        n) < 0)
            return vgt_xen_fail(be, "xendevicemodel_set_mem_type");
        gfn += n;
        nr -= n;
    }
    return 0;
}

static void xen_unmap_pages(struct vgt_ioreq_backend *b)
{
    struct xen_be *be = to_be(b);

    if (be->res && xenforeignmemory_unmap_resource(be->fmem, be->res) < 0)
        vgt_xen_teardown_fail(be, "xenforeignmemory_unmap_resource");
    be->res = NULL;
    be->pages = NULL;
}

/* Staged teardown: what was created goes, in reverse order. */
static void xen_destroy(struct vgt_ioreq_backend *b)
{
    struct xen_be *be = to_be(b);

    if (be->res)
        xen_unmap_pages(b);
    if (be->created &&
        xendevicemodel_destroy_ioreq_server(be->dmod, be->domid, be->id) < 0)
        vgt_xen_teardown_fail(be, "xendevicemodel_destroy_ioreq_server");
    if (be->mc) {
        struct vgt_mapcache_stats st;

        /* The guest's whole life in one line (docs/performance.md). */
        vgt_mapcache_get_stats(be->mc, &st);
        if (st.hits + st.misses)
            vgt_info(be->log,
                     "dom%u: map cache: %llu hits, %llu misses (%.1f %% hits), %llu evicted, "
                     "%llu refused (full), %.1f us per mapping",
                     be->domid, (unsigned long long)st.hits, (unsigned long long)st.misses,
                     100.0 * (double)st.hits / (double)(st.hits + st.misses),
                     (unsigned long long)st.evictions, (unsigned long long)st.full,
                     st.misses ? (double)st.map_ns / 1e3 / (double)st.misses : 0.0);
    }
    vgt_mapcache_destroy(be->mc); /* the vGPU and its shadows went first */
    xenevtchn_close(be->xce);
    xenforeignmemory_close(be->fmem);
    xendevicemodel_close(be->dmod);
    close(be->kick_fd);
    free(be);
}

/* The guest's p2m changed: no cached mapping may be found any more. */
static void xen_invalidate(struct vgt_ioreq_backend *b)
{
    vgt_mapcache_invalidate(to_be(b)->mc);
}

void vgt_ioreq_xen_map_cache_stats(struct vgt_ioreq_backend *b, struct vgt_mapcache_stats *st)
{
    vgt_mapcache_get_stats(to_be(b)->mc, st);
}

static const struct vgt_ioreq_backend_ops xen_be_ops = {
    .name = "xen",
    .create = xen_create,
    .map_pages = xen_map_pages,
    .map_range = xen_map_range,
    .unmap_range = xen_unmap_range,
    .enable = xen_enable,
    .buf_port = xen_buf_port,
    .bind_port = xen_bind_port,
    .unbind_port = xen_unbind_port,
    .restrict_handles = xen_restrict,
    .fd = xen_fd,
    .wait = xen_wait,
    .pending = xen_pending,
    .unmask = xen_unmask,
    .notify = xen_notify,
    .kick = xen_kick,
    .claim_wp = xen_claim_wp,
    .set_wp = xen_set_wp,
    .invalidate = xen_invalidate,
    .unmap_pages = xen_unmap_pages,
    .destroy = xen_destroy,
};

int vgt_ioreq_xen_backend_create(const struct vgt_ioreq_xen_cfg *cfg,
                                 struct vgt_ioreq_backend **out)
{
    struct xen_be *be;
    int ret;

    if (!cfg || !out || cfg->domid == 0 || cfg->arch > VGT_XEN_ARCH_ARM ||
        cfg->max_gfn > VGT_XEN_MAX_GFN)
        return -EINVAL;
    be = calloc(1, sizeof(*be));
    if (!be)
        return -ENOMEM;
    be->log = cfg->log;
    be->domid = cfg->domid;
    be->arm = cfg->arch == VGT_XEN_ARCH_ARM ||
              (cfg->arch == VGT_XEN_ARCH_NATIVE && XEN_NATIVE_ARM);
    be->xtl.vmessage = xtl_vmessage;
    be->xtl.destroy = xtl_destroy;
    be->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (be->kick_fd < 0) {
        ret = vgt_xen_fail(be, "eventfd");
        goto free_be;
    }
    be->dmod = xendevicemodel_open(&be->xtl, 0);
    if (!be->dmod) {
        ret = vgt_xen_fail(be, "xendevicemodel_open");
        goto close_kick;
    }
    be->fmem = xenforeignmemory_open(&be->xtl, 0);
    if (!be->fmem) {
        ret = vgt_xen_fail(be, "xenforeignmemory_open");
        goto close_dmod;
    }
    be->xce = xenevtchn_open(&be->xtl, 0);
    if (!be->xce) {
        ret = vgt_xen_fail(be, "xenevtchn_open");
        goto close_fmem;
    }
    ret = vgt_xen_hv_init(be, cfg->max_gfn, cfg->dma, cfg->map_cache_frames);
    if (ret)
        goto close_xce;
    be->base.ops = &xen_be_ops;
    be->base.domid = cfg->domid;
    be->base.hv = &be->hv;
    *out = &be->base;
    return 0;

close_xce:
    xenevtchn_close(be->xce);
close_fmem:
    xenforeignmemory_close(be->fmem);
close_dmod:
    xendevicemodel_close(be->dmod);
close_kick:
    close(be->kick_fd);
free_be:
    free(be);
    return ret;
}

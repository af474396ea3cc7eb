/* The xen backend's context, shared by xen.c (ioreq server, event
 * channels) and xen_hv.c (the hv seam: guest memory, MSIs, dirty pages). */
#ifndef VGT_IOREQ_XEN_INTERNAL_H
#define VGT_IOREQ_XEN_INTERNAL_H

/* xenctrl.h first: it defines __XEN_TOOLS__, which dm_op.h and the
 * HVM_IOREQSRV_BUFIOREQ_* constants need with Debian's headers. */
#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>

#include "vgt/ioreq_backend.h"

struct xen_be {
    struct vgt_ioreq_backend base;
    struct xentoollog_logger xtl; /* library messages go to our log, debug */
    const struct vgt_log *log;
    uint16_t domid;
    bool arm; /* Xen on Arm rules */
    xendevicemodel_handle *dmod;
    xenforeignmemory_handle *fmem;
    xenevtchn_handle *xce;
    int kick_fd;
    bool created;
    ioservid_t id;
    bool bufioreq;
    xenforeignmemory_resource_handle *res;
    void *pages;
    struct vgt_hv hv;
    struct vgt_mapcache *mc; /* guest frames mapped into this process */
};

/* Log "CALL(domN): strerror (errno E)" and return -E. */
int vgt_xen_fail(struct xen_be *be, const char *call);
/* The same for a teardown call, but ENOENT/ESRCH (the domain is already
 * gone) are logged at debug level, not as errors. */
int vgt_xen_teardown_fail(struct xen_be *be, const char *call);
/* 52-bit guest-physical addresses (x86 and Arm LPAE stage 2 at most). */
#define VGT_XEN_MAX_GFN (1ull << (52 - VGT_PAGE_SHIFT))
/* @max_gfn: the domain's bound (0: VGT_XEN_MAX_GFN); @dma: how the host
 * GPU reaches a mapped frame (NULL: gfn_to_dma refused). Creates the map
 * cache (-ENOMEM). */
int vgt_xen_hv_init(struct xen_be *be, uint64_t max_gfn, const struct vgt_mapcache_dma *dma,
                    unsigned cache_frames);

#endif

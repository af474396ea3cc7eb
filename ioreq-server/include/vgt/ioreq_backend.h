/* ioreq-server backends: what the protocol engine needs from a hypervisor.
 *
 * The engine (ioreq-server/engine.c) owns the Xen protocol: the state
 * machine of the sync page, the buffered ring, ranges and dispatch. A
 * backend only makes the hypervisor calls, in the order the engine asks
 * for them (the Xen start-up order, ARCHITECTURE.md "Xen ioreq protocol"):
 *
 *   create -> map_pages -> map_range* -> enable -> bind_port* -> restrict
 *   ... serve (wait / pending / unmask / notify) ...
 *   enable(false) -> unbind_port* -> unmap_pages -> destroy
 *
 * Two backends exist: xen (ioreq-server/xen.c, libxendevicemodel,
 * libxenforeignmemory, libxenevtchn) and sim (sim/hv, the simulated
 * hypervisor; eventfds stand in for event channels).
 *
 * Ports: a "remote" port is the guest-side event channel the hypervisor
 * allocated (a slot's vp_eport, or the buffered port); bind_port turns it
 * into a "local" port of the emulator's event-channel handle. Events name
 * local ports. A port that fires is masked until unmask() (Linux evtchn
 * semantics); events may be spurious.
 *
 * Every op returns 0 or a negative errno and logs its own failure (naming
 * the library call and errno). */
#ifndef VGT_IOREQ_BACKEND_H
#define VGT_IOREQ_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/hvm/ioreq.h>

#include "vgt/hv.h"
#include "vgt/mapcache.h"
#include "vgt/ioreq_server.h"

struct vgt_ioreq_backend;

struct vgt_ioreq_backend_ops {
    const char *name;
    /* Create the ioreq server (buffering as asked) and report how many
     * vCPUs (sync-page slots) the domain has. */
    int (*create)(struct vgt_ioreq_backend *be, bool bufioreq, unsigned *nr_vcpus);
    /* Map the sync page, and the buffered page when buffering is on
     * (*buf is NULL otherwise). */
    int (*map_pages)(struct vgt_ioreq_backend *be, shared_iopage_t **sync,
                     buffered_iopage_t **buf);
    int (*map_range)(struct vgt_ioreq_backend *be, enum vgt_io_type type,
                     uint64_t start, uint64_t end);
    int (*unmap_range)(struct vgt_ioreq_backend *be, enum vgt_io_type type,
                       uint64_t start, uint64_t end);
    int (*enable)(struct vgt_ioreq_backend *be, bool on);
    /* The remote port of the buffered ring (only called with buffering). */
    int (*buf_port)(struct vgt_ioreq_backend *be, uint32_t *remote);
    int (*bind_port)(struct vgt_ioreq_backend *be, uint32_t remote, uint32_t *local);
    int (*unbind_port)(struct vgt_ioreq_backend *be, uint32_t local);
    /* Restrict the handles to the domain (NULL: nothing to restrict). */
    int (*restrict_handles)(struct vgt_ioreq_backend *be);

    /* Event loop. fd is pollable for readability. wait() blocks up to
     * timeout_ms (-1 forever) until an event may be pending; returns 0, or
     * -ETIMEDOUT, or -EINTR. pending() returns the next fired local port
     * (>= 0) without blocking, or -EAGAIN. */
    int (*fd)(struct vgt_ioreq_backend *be);
    int (*wait)(struct vgt_ioreq_backend *be, int timeout_ms);
    int (*pending)(struct vgt_ioreq_backend *be);
    int (*unmask)(struct vgt_ioreq_backend *be, uint32_t local);
    int (*notify)(struct vgt_ioreq_backend *be, uint32_t local);
    /* Wake a wait() from another thread or a signal handler (async-signal
     * safe). */
    void (*kick)(struct vgt_ioreq_backend *be);

    /* Claim HVMMEM_ioreq_server for this server (writes only) and change
     * the type of [gfn, gfn+nr): write-protected or plain RAM. */
    int (*claim_wp)(struct vgt_ioreq_backend *be);
    int (*set_wp)(struct vgt_ioreq_backend *be, uint64_t gfn, uint64_t nr, bool protect);

    void (*unmap_pages)(struct vgt_ioreq_backend *be);
    /* Destroys the server (when created) and frees the backend. */
    void (*destroy)(struct vgt_ioreq_backend *be);
    /* OPTIONAL: IOREQ_TYPE_INVALIDATE arrived; drop cached guest-frame
     * mappings (called before the device's own invalidate callback, so
     * that its revalidation maps afresh). */
    void (*invalidate)(struct vgt_ioreq_backend *be);
};

struct vgt_ioreq_backend {
    const struct vgt_ioreq_backend_ops *ops;
    /* Guest memory, DMA translation, MSI and dirty tracking of the domain.
     * set_wp/set_wp_handler of this struct are not used: the engine
     * implements them on top of claim_wp/set_wp. */
    struct vgt_hv *hv;
    uint16_t domid;
};

/* Process one request as the event loop does once a slot is INPROCESS:
 * validate, dispatch (splitting rep/data_is_ptr requests), and for reads
 * leave the result in req->data. No state change, no notification. Bad
 * requests are logged, counted and answered with all ones. Exposed for
 * benchmarks and fuzzing. */
void vgt_ioreq_server_process(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req);

#ifdef VGT_HAVE_XEN_BACKEND
/* Which Xen the backend talks to. NATIVE is the build's architecture;
 * the others exist so that both flavours' rules are tested on one host.
 * Xen on Arm forwards MMIO only: no port I/O, no PCI config, no buffered
 * ring, no HVMMEM_ioreq_server. */
enum vgt_xen_arch {
    VGT_XEN_ARCH_NATIVE = 0,
    VGT_XEN_ARCH_X86 = 1,
    VGT_XEN_ARCH_ARM = 2,
};

struct vgt_ioreq_xen_cfg {
    uint16_t domid;
    const struct vgt_log *log;
    enum vgt_xen_arch arch;
    /* One past the domain's highest guest frame (xc_domain_maximum_gpfn
     * + 1, read by the privileged part): guest frames at or above it are
     * refused (-EFAULT) before any mapping is attempted. 0: the 52-bit
     * guest-physical limit; above that limit, create fails (-EINVAL). */
    uint64_t max_gfn;
    /* How the host GPU reaches a guest frame once mapped into this process
     * (gfn_to_dma; vgt/mapcache.h). NULL: gfn_to_dma is refused
     * (-EOPNOTSUPP), as with no GPU behind the device. */
    const struct vgt_mapcache_dma *dma;
    /* Bound of the guest-frame map cache (0: VGT_MAPCACHE_DEFAULT_FRAMES). */
    unsigned map_cache_frames;
};
/* The xen backend: opens the three library handles. Nothing is created in
 * the hypervisor until the engine calls create. */
int vgt_ioreq_xen_backend_create(const struct vgt_ioreq_xen_cfg *cfg,
                                 struct vgt_ioreq_backend **out);
/* The backend's map cache figures (for benchmarks, tests and metrics). */
void vgt_ioreq_xen_map_cache_stats(struct vgt_ioreq_backend *be, struct vgt_mapcache_stats *st);
#endif

#endif

/* ioreq-server: the Xen ioreq protocol engine for ONE guest domain.
 *
 * The engine owns the sync page (shared_iopage_t) and the buffered ring,
 * the range registry and dispatch; a backend (xen or sim) supplies the
 * hypervisor calls. Users register port, MMIO and PCI-device ranges, each
 * with a handler table, then start the server and either call
 * vgt_ioreq_server_poll() from their own loop (on vgt_ioreq_server_fd()) or
 * let vgt_ioreq_server_run() serve until stopped.
 *
 * Threading: one event loop thread serves every vCPU of the domain; range
 * handlers run on that thread, one request at a time. Registering or
 * unregistering ranges from another thread while the loop runs is allowed
 * (the registry is locked); handlers must not block on the guest.
 *
 * Errors: functions return 0 or a negative errno. */
#ifndef VGT_IOREQ_SERVER_H
#define VGT_IOREQ_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/hv.h"
#include "vgt/log.h"

struct vgt_ioreq_server;
struct vgt_ioreq_backend; /* see vgt/ioreq_backend.h */

enum vgt_io_type {
    VGT_IO_PORT = 0, /* XEN_DMOP_IO_RANGE_PORT */
    VGT_IO_MMIO = 1, /* XEN_DMOP_IO_RANGE_MEMORY */
    VGT_IO_PCI = 2,  /* XEN_DMOP_IO_RANGE_PCI: start/end are SBDFs */
};

#define VGT_IOREQ_MAX_RANGES 256 /* per type per server, as Xen */
#define VGT_IOREQ_MAX_SERVERS 8  /* per domain, as Xen */

/* SBDF as Xen encodes it (XEN_DMOP_PCI_SBDF): seg 31..16, bus 15..8,
 * dev 7..3, fn 2..0. */
#define VGT_SBDF(seg, bus, dev, fn) \
    ((((uint32_t)(seg)&0xffff) << 16) | (((uint32_t)(bus)&0xff) << 8) | (((uint32_t)(dev)&0x1f) << 3) | ((uint32_t)(fn)&7))

/* One access as a handler sees it. A rep/data_is_ptr request is split into
 * @count single accesses before handlers see it. */
struct vgt_io_access {
    enum vgt_io_type type;
    uint64_t addr;   /* port, guest-physical address, or config offset */
    uint64_t offset; /* addr - range start (PCI: config register offset) */
    uint32_t size;   /* 1, 2, 4 or 8 */
    uint32_t sbdf;   /* PCI only */
    unsigned vcpu;
};

struct vgt_io_ops {
    /* Either may be NULL: reads then return all ones, writes are dropped. */
    int (*read)(void *opaque, const struct vgt_io_access *a, uint64_t *val);
    int (*write)(void *opaque, const struct vgt_io_access *a, uint64_t val);
};

/* Upper bounds (ns) of the service-time histogram buckets of synchronous
 * requests: from taking the READY slot to notifying the vCPU. The last
 * bucket (index VGT_IOREQ_LAT_BUCKETS) counts everything slower. */
#define VGT_IOREQ_LAT_BUCKETS 8
#define VGT_IOREQ_LAT_BOUNDS_NS \
    {1000, 4000, 16000, 64000, 256000, 1000000, 4000000, 16000000}

struct vgt_ioreq_stats {
    uint64_t served;      /* requests completed */
    uint64_t bad;         /* bad requests completed with all ones */
    uint64_t spurious;    /* events with no READY slot */
    uint64_t invalidate;  /* INVALIDATE broadcasts completed */
    uint64_t buffered;    /* buffered-ring entries consumed */
    uint64_t wp_writes;   /* writes to write-protected gfns */
    /* Service time of synchronous requests (not cumulative per bucket). */
    uint64_t lat_bucket[VGT_IOREQ_LAT_BUCKETS + 1];
    uint64_t lat_count, lat_sum_ns;
    uint64_t emul_wp;     /* emulator writes into them, fed to the handler */
    uint64_t emul_wp_refused; /* ... refused: no handler to keep a shadow */
};

struct vgt_ioreq_server_cfg {
    uint16_t domid;
    bool bufioreq;            /* off by default, as Xen */
    const struct vgt_log *log;
};

/* Create the server on @be (ownership of @be passes to the server, which
 * destroys it). Staged bring-up per the Xen start-up order: create server,
 * map pages, (ranges may then be mapped), then vgt_ioreq_server_start(). */
int vgt_ioreq_server_create(const struct vgt_ioreq_server_cfg *cfg,
                            struct vgt_ioreq_backend *be,
                            struct vgt_ioreq_server **out);

/* Register [start, end] (inclusive end, as Xen) with a handler table.
 * -EINVAL for end < start or a bad type, -EEXIST for an overlap within this
 * server, -ENOSPC past 256 ranges of the type. *id identifies the range. */
int vgt_ioreq_server_map_range(struct vgt_ioreq_server *s, enum vgt_io_type type,
                               uint64_t start, uint64_t end,
                               const struct vgt_io_ops *ops, void *opaque, int *id);
int vgt_ioreq_server_unmap_range(struct vgt_ioreq_server *s, int id);
/* Move a registered range (a guest re-programmed a BAR). */
int vgt_ioreq_server_move_range(struct vgt_ioreq_server *s, int id, uint64_t start, uint64_t end);
/* Hold the range registry across several calls so that no request is
 * dispatched between them (recursive; handlers run with it held). Take it
 * BEFORE any lock a handler takes: the loop holds it while handlers run. */
void vgt_ioreq_server_lock(struct vgt_ioreq_server *s);
/* IOREQ_TYPE_INVALIDATE (the guest's p2m changed: ballooning, decrease
 * reservation, grant unmap) calls @fn on the loop thread before the vCPU
 * is completed: the device must revalidate every cached gfn translation.
 * One callback per server (-EBUSY for a second); NULL removes it. */
int vgt_ioreq_server_on_invalidate(struct vgt_ioreq_server *s, void (*fn)(void *opaque),
                                   void *opaque);
void vgt_ioreq_server_unlock(struct vgt_ioreq_server *s);

/* Enable the server, read each vCPU's vp_eport and bind the event
 * channels, then restrict the handle (when the backend supports it). */
int vgt_ioreq_server_start(struct vgt_ioreq_server *s);

/* fd to poll for readability; then call vgt_ioreq_server_poll(). */
int vgt_ioreq_server_fd(struct vgt_ioreq_server *s);
/* Serve everything pending; waits up to @timeout_ms (-1 forever, 0 never).
 * Returns the number of requests served, or a negative errno. */
int vgt_ioreq_server_poll(struct vgt_ioreq_server *s, int timeout_ms);
/* Serve until vgt_ioreq_server_stop() (callable from any thread/signal). */
int vgt_ioreq_server_run(struct vgt_ioreq_server *s);
void vgt_ioreq_server_stop(struct vgt_ioreq_server *s);

/* The hv seam for this server's guest (guest memory, dma, wp, MSI). */
struct vgt_hv *vgt_ioreq_server_hv(struct vgt_ioreq_server *s);

/* Event-channel ports vgt_ioreq_server_start will bind in the caller's
 * domain: one per guest vCPU, plus one for the buffered ring. Known once
 * the server is created, before anything is bound. */
unsigned vgt_ioreq_server_nr_ports(const struct vgt_ioreq_server *s);

void vgt_ioreq_server_get_stats(const struct vgt_ioreq_server *s, struct vgt_ioreq_stats *st);

/* Staged teardown: disable, unbind, unmap, destroy. NULL is fine. */
void vgt_ioreq_server_destroy(struct vgt_ioreq_server *s);

#endif

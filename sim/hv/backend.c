/* The sim backend of the ioreq engine: an ioreq server of the simulated
 * hypervisor plus the emulator's event-channel handle.
 *
 * Event channels are modelled on Linux's /dev/xen/evtchn: a port that
 * fires is masked and queued; the emulator reads ports from the queue
 * (pending), unmasks them when done, and an event that arrives while a
 * port is masked stays pending until the unmask.
 *
 * The vCPU's side (deliver) takes no lock the emulator holds: a per-port
 * state word (fired / fired again while masked) changed by CAS, a bitmap
 * of queued ports, and a "sleeping" flag the emulator raises before it
 * blocks. The eventfd is written only by the one that clears that flag,
 * and read only by the emulator that raised it, so every write has
 * exactly one read: no stale counts (spurious wake-ups) and no lock
 * hand-off between the two threads (a vCPU woken just as the emulator
 * took a shared lock used to sleep on it, and a run could settle in that
 * phase: the bimodal round trip of "vgt bench ioreq"). One event costs one
 * write and one read, as the bare eventfd ping-pong it is measured
 * against. The fd is therefore readable only while wait() sleeps. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv_internal.h"
#include "vgt/ioreq_backend.h"

#define PORT_FIRED 1u /* queued or being served: masked */
#define PORT_AGAIN 2u /* fired again while masked */

struct lport {
    atomic_bool used;
    unsigned which; /* vCPU index, or nr_vcpus for the buffered port */
};

struct sim_be {
    struct vgt_ioreq_backend base;
    struct sim_guest *g;
    struct sim_srv *srv;
    const struct vgt_log *log;
    int efd;
    pthread_mutex_t lock; /* bind and unbind */
    /* Local port p (1..nr_vcpus+1) is lports[p]; bound[which] is the local
     * port a remote one is bound to (0: unbound). */
    struct lport *lports;
    _Atomic uint32_t *bound;
    _Atomic uint8_t *st;     /* PORT_* per local port */
    _Atomic uint64_t *ready; /* queued local ports */
    unsigned nports, nwords;
    unsigned scan;           /* emulator thread only: where pending() looks first */
    atomic_bool sleeping;
};

static struct sim_be *to_be(struct vgt_ioreq_backend *b)
{
    return (struct sim_be *)b;
}

static void signal_efd(struct sim_be *be)
{
    uint64_t one = 1;

    if (write(be->efd, &one, sizeof(one)) < 0)
        vgt_err(be->log, "dom%u: eventfd write: %s", be->g->domid, strerror(errno));
}

static void enqueue(struct sim_be *be, uint32_t local)
{
    atomic_fetch_or(&be->ready[local / 64], 1ull << (local % 64));
    if (atomic_exchange(&be->sleeping, false))
        signal_efd(be);
}

/* Mask and queue, or remember it for the unmask. */
static void fire(struct sim_be *be, uint32_t local)
{
    uint8_t old = atomic_load(&be->st[local]), nw;

    do
        nw = (old & PORT_FIRED) ? (uint8_t)(old | PORT_AGAIN) : (uint8_t)(old | PORT_FIRED);
    while (!atomic_compare_exchange_weak(&be->st[local], &old, nw));
    if (!(old & PORT_FIRED))
        enqueue(be, local);
}

static bool any_ready(struct sim_be *be)
{
    for (unsigned w = 0; w < be->nwords; w++)
        if (atomic_load(&be->ready[w]))
            return true;
    return false;
}

void sim_be_deliver(struct sim_be *be, unsigned which)
{
    uint32_t local = atomic_load(&be->bound[which]);

    /* An unbound port: the event is lost, as for an unbound channel. */
    if (local)
        fire(be, local);
}

static int be_create(struct vgt_ioreq_backend *b, bool bufioreq, unsigned *nr_vcpus)
{
    struct sim_be *be = to_be(b);
    int ret = sim_hv_srv_create(be->g, be, bufioreq, &be->srv);

    if (ret < 0) {
        vgt_err(be->log, "dom%u: sim create_ioreq_server: %s", be->g->domid, strerror(-ret));
        return ret;
    }
    *nr_vcpus = be->g->nr_vcpus;
    return 0;
}

static int be_map_pages(struct vgt_ioreq_backend *b, shared_iopage_t **sync,
                        buffered_iopage_t **buf)
{
    struct sim_be *be = to_be(b);

    *sync = be->srv->sync;
    *buf = be->srv->buf;
    return 0;
}

static int be_map_range(struct vgt_ioreq_backend *b, enum vgt_io_type type, uint64_t start,
                        uint64_t end)
{
    struct sim_be *be = to_be(b);
    int ret = sim_hv_srv_map(be->srv, (int)type, start, end);

    if (ret < 0)
        vgt_err(be->log, "dom%u: sim map_io_range [%#llx, %#llx]: %s", be->g->domid,
                (unsigned long long)start, (unsigned long long)end, strerror(-ret));
    return ret;
}

static int be_unmap_range(struct vgt_ioreq_backend *b, enum vgt_io_type type, uint64_t start,
                          uint64_t end)
{
    return sim_hv_srv_unmap(to_be(b)->srv, (int)type, start, end);
}

static int be_enable(struct vgt_ioreq_backend *b, bool on)
{
    return sim_hv_srv_enable(to_be(b)->srv, on);
}

static int be_buf_port(struct vgt_ioreq_backend *b, uint32_t *remote)
{
    struct sim_be *be = to_be(b);

    if (!be->srv->buf)
        return -ENOENT;
    *remote = be->srv->remote_base + be->g->nr_vcpus;
    return 0;
}

/* Remote ports of this server only (an interdomain bind to another
 * server's port would be another emulator's business). As on Xen, every
 * port has an event pending right after the bind. */
static int be_bind_port(struct vgt_ioreq_backend *b, uint32_t remote, uint32_t *local)
{
    struct sim_be *be = to_be(b);
    unsigned which;

    if (remote < be->srv->remote_base || remote - be->srv->remote_base > be->g->nr_vcpus) {
        vgt_err(be->log, "dom%u: sim bind_interdomain(%u): %s", be->g->domid, remote,
                strerror(EINVAL));
        return -EINVAL;
    }
    which = remote - be->srv->remote_base;
    pthread_mutex_lock(&be->lock);
    if (atomic_load(&be->bound[which])) {
        pthread_mutex_unlock(&be->lock);
        return -EBUSY;
    }
    *local = which + 1;
    be->lports[*local].which = which;
    atomic_store(&be->st[*local], 0);
    atomic_store(&be->lports[*local].used, true);
    atomic_store(&be->bound[which], *local);
    pthread_mutex_unlock(&be->lock);
    fire(be, *local);
    return 0;
}

static int be_unbind_port(struct vgt_ioreq_backend *b, uint32_t local)
{
    struct sim_be *be = to_be(b);
    int ret = 0;

    pthread_mutex_lock(&be->lock);
    if (local == 0 || local >= be->nports || !atomic_load(&be->lports[local].used)) {
        ret = -EINVAL;
    } else {
        atomic_store(&be->bound[be->lports[local].which], 0);
        atomic_store(&be->lports[local].used, false);
        atomic_fetch_and(&be->ready[local / 64], ~(1ull << (local % 64)));
        atomic_store(&be->st[local], 0);
    }
    pthread_mutex_unlock(&be->lock);
    return ret;
}

static int be_fd(struct vgt_ioreq_backend *b)
{
    return to_be(b)->efd;
}

static int be_wait(struct vgt_ioreq_backend *b, int timeout_ms)
{
    struct sim_be *be = to_be(b);
    uint64_t cnt;

    if (any_ready(be))
        return 0;
    atomic_store(&be->sleeping, true);
    /* Re-check after raising the flag: an enqueue between the two either
     * sees the flag (and writes) or is seen here. */
    if (any_ready(be) && atomic_exchange(&be->sleeping, false))
        return 0;
    if (atomic_load(&be->sleeping) && timeout_ms >= 0) {
        struct pollfd pfd = {.fd = be->efd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);

        if (r < 0 && atomic_exchange(&be->sleeping, false))
            return -errno;
        if (r == 0 && atomic_exchange(&be->sleeping, false))
            return -ETIMEDOUT;
        /* Otherwise an enqueue took the flag: its write is here or coming. */
    }
    if (read(be->efd, &cnt, sizeof(cnt)) < 0) {
        atomic_store(&be->sleeping, false);
        return errno == EINTR ? -EINTR : -errno;
    }
    atomic_store(&be->sleeping, false); /* woken by a kick */
    return 0;
}

/* The next queued port, starting after the last one taken (fair among
 * vCPUs). */
static int be_pending(struct vgt_ioreq_backend *b)
{
    struct sim_be *be = to_be(b);

    for (unsigned k = 0; k < be->nports; k++) {
        unsigned p = (be->scan + k) % be->nports;
        uint64_t bit = 1ull << (p % 64);

        if (!(atomic_load_explicit(&be->ready[p / 64], memory_order_relaxed) & bit))
            continue;
        if (atomic_fetch_and(&be->ready[p / 64], ~bit) & bit) {
            be->scan = p + 1;
            return (int)p;
        }
    }
    return -EAGAIN;
}

static int be_unmask(struct vgt_ioreq_backend *b, uint32_t local)
{
    struct sim_be *be = to_be(b);
    uint8_t old, nw;

    if (local == 0 || local >= be->nports || !atomic_load(&be->lports[local].used))
        return -EINVAL;
    old = atomic_load(&be->st[local]);
    do
        nw = (old & PORT_AGAIN) ? PORT_FIRED : 0;
    while (!atomic_compare_exchange_weak(&be->st[local], &old, nw));
    if (old & PORT_AGAIN)
        enqueue(be, local);
    return 0;
}

static int be_notify(struct vgt_ioreq_backend *b, uint32_t local)
{
    struct sim_be *be = to_be(b);
    unsigned which;

    if (local == 0 || local >= be->nports)
        return -EINVAL;
    which = local - 1; /* ports never move: local = which + 1 */
    if (which < be->g->nr_vcpus)
        sim_hv_wake_vcpu(be->g, which);
    return 0;
}

static void be_kick(struct vgt_ioreq_backend *b)
{
    uint64_t one = 1;

    /* async-signal-safe: one write(2) */
    if (write(to_be(b)->efd, &one, sizeof(one)) < 0)
        return;
}

static int be_claim_wp(struct vgt_ioreq_backend *b)
{
    struct sim_be *be = to_be(b);
    int ret = sim_hv_srv_claim_wp(be->srv);

    if (ret < 0)
        vgt_err(be->log, "dom%u: sim map_mem_type_to_ioreq_server: %s", be->g->domid,
                strerror(-ret));
    return ret;
}

static int be_set_wp(struct vgt_ioreq_backend *b, uint64_t gfn, uint64_t nr, bool protect)
{
    return sim_hv_set_wp(to_be(b)->g, gfn, nr, protect);
}

static void be_unmap_pages(struct vgt_ioreq_backend *b)
{
    (void)b; /* the pages belong to the hypervisor's server */
}

static void be_destroy(struct vgt_ioreq_backend *b)
{
    struct sim_be *be = to_be(b);

    if (be->srv)
        sim_hv_srv_destroy(be->srv);
    close(be->efd);
    pthread_mutex_destroy(&be->lock);
    free(be->lports);
    free((void *)be->bound);
    free((void *)be->st);
    free((void *)be->ready);
    free(be);
}

static const struct vgt_ioreq_backend_ops sim_be_ops = {
    .name = "sim",
    .create = be_create,
    .map_pages = be_map_pages,
    .map_range = be_map_range,
    .unmap_range = be_unmap_range,
    .enable = be_enable,
    .buf_port = be_buf_port,
    .bind_port = be_bind_port,
    .unbind_port = be_unbind_port,
    .restrict_handles = NULL,
    .fd = be_fd,
    .wait = be_wait,
    .pending = be_pending,
    .unmask = be_unmask,
    .notify = be_notify,
    .kick = be_kick,
    .claim_wp = be_claim_wp,
    .set_wp = be_set_wp,
    .unmap_pages = be_unmap_pages,
    .destroy = be_destroy,
};

int sim_hv_ioreq_backend_create(struct sim_guest *g, const struct vgt_log *log,
                                struct vgt_ioreq_backend **out)
{
    struct sim_be *be;
    int ret;

    if (!g || !out)
        return -EINVAL;
    be = calloc(1, sizeof(*be));
    if (!be)
        return -ENOMEM;
    be->g = g;
    be->log = log;
    be->nports = g->nr_vcpus + 2; /* port 0 is never valid */
    be->nwords = (be->nports + 63) / 64;
    be->lports = calloc(be->nports, sizeof(*be->lports));
    be->bound = calloc(g->nr_vcpus + 1, sizeof(*be->bound));
    be->st = calloc(be->nports, sizeof(*be->st));
    be->ready = calloc(be->nwords, sizeof(*be->ready));
    if (!be->lports || !be->bound || !be->st || !be->ready) {
        ret = -ENOMEM;
        goto free_be;
    }
    be->efd = eventfd(0, EFD_CLOEXEC);
    if (be->efd < 0) {
        ret = -errno;
        goto free_be;
    }
    pthread_mutex_init(&be->lock, NULL);
    be->base.ops = &sim_be_ops;
    be->base.hv = sim_guest_hv(g);
    be->base.domid = g->domid;
    *out = &be->base;
    return 0;

free_be:
    free(be->lports);
    free((void *)be->bound);
    free((void *)be->st);
    free((void *)be->ready);
    free(be);
    return ret;
}

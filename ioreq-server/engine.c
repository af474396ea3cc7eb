/* The ioreq protocol engine: sync page state machine, buffered ring, range
 * registry and dispatch. Protocol facts from <xen/hvm/ioreq.h> and the
 * "Xen ioreq protocol" section of ARCHITECTURE.md. */
#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/ioreq_slot.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "barrier.h"
#include "vgt/util.h"

/* shared_iopage_t is one page holding one ioreq_t per vCPU. */
#define SYNC_PAGE_SLOTS (VGT_PAGE_SIZE / sizeof(ioreq_t))
/* The guest-memory side of a rep request stays inside one page: Xen
 * clamps the repeat count so (hvmemul_rep_* in xen/arch/x86/hvm/emulate.c). */
#define REP_MAX_BYTES VGT_PAGE_SIZE
#define NR_TYPES 3
/* PCI config offsets: 4 KiB of extended config space at most. */
#define PCI_CFG_SPACE 0x1000u

struct range {
    uint64_t start, end; /* inclusive */
    const struct vgt_io_ops *ops;
    void *opaque;
    int id;
};

enum stage {
    STAGE_MAPPED = 0,  /* server created and pages mapped */
    STAGE_STARTED = 1, /* enabled, ports bound, restricted */
};

struct vgt_ioreq_server {
    const struct vgt_log *log;
    struct vgt_ioreq_backend *be;
    uint16_t domid;
    bool bufioreq;
    enum stage stage;
    unsigned nr_vcpus;
    shared_iopage_t *sync;
    buffered_iopage_t *buf;
    uint32_t *vcpu_port; /* local port per vCPU */
    bool *vcpu_bound;
    uint32_t buf_port;
    bool buf_bound;
    unsigned last_vcpu; /* port lookup cache */

    /* Registry: per type, sorted by start, never overlapping. Recursive so
     * that a handler may move or unmap ranges (a guest writes a BAR). */
    pthread_mutex_t lock;
    struct range ranges[NR_TYPES][VGT_IOREQ_MAX_RANGES];
    unsigned nr_ranges[NR_TYPES];
    int next_id;

    /* The handler and its calls; apart from the registry lock because
     * the emulator's own writes reach the handler with device locks held
     * (ARCHITECTURE: registry -> vGPU -> wp -> shadow). */
    pthread_mutex_t wp_lock;
    vgt_hv_wp_fn wp_fn;
    void *wp_opaque;
    atomic_bool wp_claimed;
    /* Which gfns are write-protected: a bit per gfn in leaves of
     * WP_LEAF_GFNS, allocated on first protection. */
    pthread_mutex_t wp_map_lock;
    _Atomic(_Atomic uint64_t *) *wp_map;
    size_t wp_leaves;
    struct vgt_hv hv; /* the seam handed out: wraps the backend's */
    pthread_mutex_t inval_lock;
    void (*inval_fn)(void *opaque);
    void *inval_opaque;
    int64_t timeoffset;

    atomic_bool stop;
    /* Written by the loop thread only; read from anywhere. */
    _Atomic uint64_t st_served, st_bad, st_spurious, st_invalidate, st_buffered, st_wp,
        st_emul_wp, st_emul_refused;
    _Atomic uint64_t st_lat[VGT_IOREQ_LAT_BUCKETS + 1], st_lat_sum;
};

#define WP_LEAF_GFNS (VGT_PAGE_SIZE * 8ull) /* one page of bits: 128 MiB */

/* The server whose write-protection handler runs on this thread: its
 * writes apply the guest's write and must not be trapped again. */
static _Thread_local const struct vgt_ioreq_server *wp_applying;

#define STAT_INC(s, f) \
    atomic_store_explicit(&(s)->f, atomic_load_explicit(&(s)->f, memory_order_relaxed) + 1, \
                          memory_order_relaxed)

static const uint64_t lat_bounds[VGT_IOREQ_LAT_BUCKETS] = VGT_IOREQ_LAT_BOUNDS_NS;

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Loop thread only, like every STAT_INC: relaxed stores, no lock. */
static void note_latency(struct vgt_ioreq_server *s, uint64_t ns)
{
    unsigned b = 0;

    while (b < VGT_IOREQ_LAT_BUCKETS && ns > lat_bounds[b])
        b++;
    STAT_INC(s, st_lat[b]);
    atomic_store_explicit(&s->st_lat_sum,
                          atomic_load_explicit(&s->st_lat_sum, memory_order_relaxed) + ns,
                          memory_order_relaxed);
}

static const char *const type_names[NR_TYPES] = {"port", "mmio", "pci"};

static uint64_t size_mask(uint32_t size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static bool size_ok(uint32_t size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* ---- range registry ---- */

/* Index of the range containing @addr, or -1. Binary search over the
 * sorted starts, branch-free (cmov) because guest addresses are not
 * predictable: O(log n), 8 steps for 256 ranges. */
static int find_range(const struct vgt_ioreq_server *s, int t, uint64_t addr)
{
    const struct range *r = s->ranges[t];
    const struct range *base = r;
    unsigned n = s->nr_ranges[t];

    if (n == 0)
        return -1;
    while (n > 1) {
        unsigned half = n / 2;

        base = base[half].start <= addr ? base + half : base;
        n -= half;
    }
    if (base->start <= addr && addr <= base->end)
        return (int)(base - r);
    return -1;
}

/* Where [start, end] would go; -EEXIST when it overlaps a neighbour. */
static int insert_pos(const struct vgt_ioreq_server *s, int t, uint64_t start, uint64_t end,
                      int skip_id)
{
    const struct range *r = s->ranges[t];
    unsigned n = s->nr_ranges[t];
    unsigned pos = 0;

    for (unsigned i = 0; i < n; i++) {
        if (r[i].id == skip_id)
            continue;
        if (start <= r[i].end && r[i].start <= end)
            return -EEXIST;
        if (r[i].start < start)
            pos = i + 1;
    }
    return (int)pos;
}

static int find_id(const struct vgt_ioreq_server *s, int id, int *type, unsigned *idx)
{
    for (int t = 0; t < NR_TYPES; t++)
        for (unsigned i = 0; i < s->nr_ranges[t]; i++)
            if (s->ranges[t][i].id == id) {
                *type = t;
                *idx = i;
                return 0;
            }
    return -ENOENT;
}

static void remove_at(struct vgt_ioreq_server *s, int t, unsigned i)
{
    memmove(&s->ranges[t][i], &s->ranges[t][i + 1],
            (s->nr_ranges[t] - i - 1) * sizeof(struct range));
    s->nr_ranges[t]--;
}

static void insert_at(struct vgt_ioreq_server *s, int t, unsigned pos, const struct range *r)
{
    memmove(&s->ranges[t][pos + 1], &s->ranges[t][pos],
            (s->nr_ranges[t] - pos) * sizeof(struct range));
    s->ranges[t][pos] = *r;
    s->nr_ranges[t]++;
}

int vgt_ioreq_server_map_range(struct vgt_ioreq_server *s, enum vgt_io_type type,
                               uint64_t start, uint64_t end,
                               const struct vgt_io_ops *ops, void *opaque, int *id)
{
    struct range r;
    int t = (int)type, pos, ret;

    if (!s || !ops || t < 0 || t >= NR_TYPES || end < start)
        return -EINVAL;
    if (type == VGT_IO_PCI && end > 0xffffffffull)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    if (s->nr_ranges[t] >= VGT_IOREQ_MAX_RANGES) {
        ret = -ENOSPC;
        goto unlock;
    }
    pos = insert_pos(s, t, start, end, -1);
    if (pos < 0) {
        ret = pos;
        goto unlock;
    }
    ret = s->be->ops->map_range(s->be, type, start, end);
    if (ret < 0)
        goto unlock;
    r = (struct range){.start = start, .end = end, .ops = ops, .opaque = opaque,
                       .id = s->next_id++};
    insert_at(s, t, (unsigned)pos, &r);
    if (id)
        *id = r.id;
    vgt_debug(s->log, "dom%u: %s range [%#llx, %#llx] mapped (id %d)", s->domid,
              type_names[t], (unsigned long long)start, (unsigned long long)end, r.id);
unlock:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int vgt_ioreq_server_unmap_range(struct vgt_ioreq_server *s, int id)
{
    unsigned i;
    int t, ret;

    if (!s)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    ret = find_id(s, id, &t, &i);
    if (ret == 0) {
        ret = s->be->ops->unmap_range(s->be, (enum vgt_io_type)t, s->ranges[t][i].start,
                                      s->ranges[t][i].end);
        /* The local entry goes either way: a failed unmap leaves the
         * hypervisor sending requests nobody claims, which are answered. */
        remove_at(s, t, i);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int vgt_ioreq_server_move_range(struct vgt_ioreq_server *s, int id, uint64_t start, uint64_t end)
{
    struct range r;
    unsigned i;
    int t, pos, ret;

    if (!s || end < start)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    ret = find_id(s, id, &t, &i);
    if (ret < 0)
        goto unlock;
    if (t == VGT_IO_PCI && end > 0xffffffffull) {
        ret = -EINVAL;
        goto unlock;
    }
    pos = insert_pos(s, t, start, end, id);
    if (pos < 0) {
        ret = pos;
        goto unlock;
    }
    r = s->ranges[t][i];
    ret = s->be->ops->map_range(s->be, (enum vgt_io_type)t, start, end);
    if (ret < 0)
        goto unlock;
    s->be->ops->unmap_range(s->be, (enum vgt_io_type)t, r.start, r.end);
    remove_at(s, t, i);
    r.start = start;
    r.end = end;
    pos = insert_pos(s, t, start, end, -1);
    insert_at(s, t, (unsigned)pos, &r);
unlock:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

void vgt_ioreq_server_lock(struct vgt_ioreq_server *s)
{
    pthread_mutex_lock(&s->lock);
}

void vgt_ioreq_server_unlock(struct vgt_ioreq_server *s)
{
    pthread_mutex_unlock(&s->lock);
}

/* ---- the hv seam handed to users: the backend's, plus write protection ---- */

static struct vgt_ioreq_server *hv_server(struct vgt_hv *hv)
{
    return (struct vgt_ioreq_server *)((char *)hv - offsetof(struct vgt_ioreq_server, hv));
}

static int hv_read_gpa(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    struct vgt_hv *b = hv_server(hv)->be->hv;

    return b ? b->ops->read_gpa(b, gpa, buf, len) : -EOPNOTSUPP;
}

/* ---- which gfns are write-protected ---- */

static bool gfn_is_wp(const struct vgt_ioreq_server *s, uint64_t gfn)
{
    _Atomic uint64_t *leaf;
    uint64_t bit;

    if (!s->wp_map || gfn / WP_LEAF_GFNS >= s->wp_leaves)
        return false;
    leaf = atomic_load_explicit(&s->wp_map[gfn / WP_LEAF_GFNS], memory_order_acquire);
    bit = gfn % WP_LEAF_GFNS;
    return leaf && (atomic_load_explicit(&leaf[bit / 64], memory_order_relaxed) >> (bit % 64)) & 1;
}

/* Called with the map lock held (one writer at a time); readers are
 * lock-free. */
static int wp_map_set(struct vgt_ioreq_server *s, uint64_t gfn, uint64_t nr, bool protect)
{
    if (!s->wp_map) {
        if (!protect)
            return 0;
        s->wp_leaves = (size_t)((s->hv.max_gfn + WP_LEAF_GFNS - 1) / WP_LEAF_GFNS);
        s->wp_map = calloc(s->wp_leaves, sizeof(*s->wp_map));
        if (!s->wp_map)
            return -ENOMEM;
    }
    for (uint64_t f = gfn; f < gfn + nr; f++) {
        _Atomic uint64_t *leaf = atomic_load(&s->wp_map[f / WP_LEAF_GFNS]);
        uint64_t bit = f % WP_LEAF_GFNS;

        if (!leaf) {
            if (!protect)
                continue;
            leaf = calloc(WP_LEAF_GFNS / 64, sizeof(*leaf));
            if (!leaf)
                return -ENOMEM;
            atomic_store_explicit(&s->wp_map[f / WP_LEAF_GFNS], leaf, memory_order_release);
        }
        if (protect)
            atomic_fetch_or(&leaf[bit / 64], 1ull << (bit % 64));
        else
            atomic_fetch_and(&leaf[bit / 64], ~(1ull << (bit % 64)));
    }
    return 0;
}

static bool span_has_wp(const struct vgt_ioreq_server *s, uint64_t gpa, size_t len)
{
    if (!s->wp_map || len == 0 || gpa + len - 1 < gpa)
        return false;
    for (uint64_t f = gpa >> VGT_PAGE_SHIFT; f <= (gpa + len - 1) >> VGT_PAGE_SHIFT; f++)
        if (gfn_is_wp(s, f))
            return true;
    return false;
}

static int call_wp(struct vgt_ioreq_server *s, uint64_t gpa, unsigned size, uint64_t val)
{
    const struct vgt_ioreq_server *outer = wp_applying;
    int ret;

    wp_applying = s;
    ret = s->wp_fn(s->wp_opaque, gpa, size, val);
    wp_applying = outer;
    return ret;
}

/* The emulator's own write into guest RAM (vCSB, HWSP copy, context image
 * write-back, IOMMU status...). It follows the guest's rule: a protected
 * page takes it through the handler, in naturally aligned pieces as the
 * CPU stores them, so a shadow of that page follows; with no handler to
 * keep the shadow it is refused whole (-EACCES). Writes the handler makes
 * to apply a trapped write go straight to RAM. */
static int hv_write_gpa(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    struct vgt_ioreq_server *s = hv_server(hv);
    struct vgt_hv *b = s->be->hv;
    const uint8_t *p = buf;
    int ret = 0;

    if (!b)
        return -EOPNOTSUPP;
    if (wp_applying == s || !span_has_wp(s, gpa, len))
        return b->ops->write_gpa(b, gpa, buf, len);
    /* All or nothing, as write_gpa: every byte must be RAM first. */
    for (size_t done = 0; done < len;) {
        uint8_t tmp[256];
        size_t n = VGT_MIN(len - done, sizeof(tmp));

        ret = b->ops->read_gpa(b, gpa + done, tmp, n);
        if (ret < 0)
            return ret;
        done += n;
    }
    pthread_mutex_lock(&s->wp_lock);
    if (!s->wp_fn) {
        pthread_mutex_unlock(&s->wp_lock);
        STAT_INC(s, st_emul_refused);
        vgt_warn(s->log, "dom%u: emulator write of %zu bytes at %#llx refused: the page is "
                 "write-protected and has no handler", s->domid, len, (unsigned long long)gpa);
        return -EACCES;
    }
    while (len) {
        size_t off = gpa & (VGT_PAGE_SIZE - 1);
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - off);

        if (!gfn_is_wp(s, gpa >> VGT_PAGE_SHIFT)) {
            ret = b->ops->write_gpa(b, gpa, p, n);
        } else {
            STAT_INC(s, st_emul_wp);
            for (size_t d = 0; d < n && ret == 0;) {
                unsigned sz = 8;
                uint64_t v = 0;

                while (sz > 1 && (((gpa + d) & (sz - 1)) || n - d < sz))
                    sz /= 2;
                memcpy(&v, p + d, sz); /* little endian, as x86 */
                ret = call_wp(s, gpa + d, sz, v);
                d += sz;
            }
        }
        if (ret < 0)
            break;
        gpa += n;
        p += n;
        len -= n;
    }
    pthread_mutex_unlock(&s->wp_lock);
    return ret;
}

static int hv_gfn_to_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    struct vgt_hv *b = hv_server(hv)->be->hv;

    return b ? b->ops->gfn_to_dma(b, gfn, dma) : -EOPNOTSUPP;
}

/* Once claimed no lock is taken: set_wp is called by shadows with device
 * locks held, which must not be followed by the registry lock. */
static int claim_wp(struct vgt_ioreq_server *s)
{
    int ret = 0;

    if (atomic_load(&s->wp_claimed))
        return 0;
    pthread_mutex_lock(&s->lock);
    if (!atomic_load(&s->wp_claimed)) {
        ret = s->be->ops->claim_wp(s->be);
        if (ret == 0)
            atomic_store(&s->wp_claimed, true);
    }
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* Protecting pages claims HVMMEM_ioreq_server for this server if that was
 * not done yet: trapped writes then reach this server, and are dropped
 * (not applied, logged) until a handler is set. */
static int hv_set_wp(struct vgt_hv *hv, uint64_t gfn, uint64_t nr, bool protect)
{
    struct vgt_ioreq_server *s = hv_server(hv);
    int ret;

    if (nr == 0 || gfn >= s->hv.max_gfn || nr > s->hv.max_gfn - gfn)
        return -EFAULT;
    ret = claim_wp(s);
    if (ret < 0)
        return ret;
    /* Not under the wp lock: the shadows protect pages with their own
     * locks held, which the handler takes inside the wp lock. */
    pthread_mutex_lock(&s->wp_map_lock);
    ret = wp_map_set(s, gfn, nr, protect);
    pthread_mutex_unlock(&s->wp_map_lock);
    if (ret == 0)
        ret = s->be->ops->set_wp(s->be, gfn, nr, protect);
    return ret;
}

static int hv_set_wp_handler(struct vgt_hv *hv, vgt_hv_wp_fn fn, void *opaque)
{
    struct vgt_ioreq_server *s = hv_server(hv);
    int ret = fn ? claim_wp(s) : 0;

    if (ret < 0)
        return ret;
    pthread_mutex_lock(&s->wp_lock);
    s->wp_fn = fn;
    s->wp_opaque = opaque;
    pthread_mutex_unlock(&s->wp_lock);
    return 0;
}

static int hv_inject_msi(struct vgt_hv *hv, uint64_t addr, uint32_t data)
{
    struct vgt_hv *b = hv_server(hv)->be->hv;

    return b ? b->ops->inject_msi(b, addr, data) : -EOPNOTSUPP;
}

static int hv_mark_dirty(struct vgt_hv *hv, uint64_t gfn, uint64_t nr)
{
    struct vgt_hv *b = hv_server(hv)->be->hv;

    return b ? b->ops->mark_dirty(b, gfn, nr) : -EOPNOTSUPP;
}

/* Forwarded so the IOMMU's A/D updates stay atomic against guest vCPUs;
 * without it users fall back to read-then-write (hv.h: optional op). */
static int hv_cmpxchg_gpa(struct vgt_hv *hv, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    struct vgt_hv *b = hv_server(hv)->be->hv;

    if (!b || !b->ops->cmpxchg_gpa)
        return -EOPNOTSUPP;
    return b->ops->cmpxchg_gpa(b, gpa, expected, desired);
}

static const struct vgt_hv_ops server_hv_ops = {
    .read_gpa = hv_read_gpa,
    .write_gpa = hv_write_gpa,
    .gfn_to_dma = hv_gfn_to_dma,
    .set_wp = hv_set_wp,
    .set_wp_handler = hv_set_wp_handler,
    .inject_msi = hv_inject_msi,
    .mark_dirty = hv_mark_dirty,
    .cmpxchg_gpa = hv_cmpxchg_gpa,
};

struct vgt_hv *vgt_ioreq_server_hv(struct vgt_ioreq_server *s)
{
    return s ? &s->hv : NULL;
}

unsigned vgt_ioreq_server_nr_ports(const struct vgt_ioreq_server *s)
{
    return s ? s->nr_vcpus + (s->buf ? 1 : 0) : 0;
}

/* ---- dispatch ---- */

static void bad(struct vgt_ioreq_server *s, unsigned vcpu, const ioreq_t *req, const char *why)
{
    STAT_INC(s, st_bad);
    vgt_err(s->log, "dom%u vcpu%u: bad ioreq (%s): type %u addr %#llx size %u count %u "
            "dir %u ptr %u df %u", s->domid, vcpu, why, req->type,
            (unsigned long long)req->addr, req->size, req->count, req->dir,
            req->data_is_ptr, req->df);
}

/* A bad request is still completed: reads give all ones, nobody sees it. */
static void reject(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req, const char *why)
{
    bad(s, vcpu, req, why);
    if (!req->data_is_ptr)
        req->data = ~0ull;
}

/* One single access to a range (or to a write-protected page). Called with
 * the registry locked. Reads return all ones when nobody answers. */
static void access_one(struct vgt_ioreq_server *s, int t, const struct range *r,
                       struct vgt_io_access *a, bool read, uint64_t *val)
{
    int ret = 0;

    if (read) {
        *val = ~0ull;
        if (r->ops->read)
            ret = r->ops->read(r->opaque, a, val);
        *val = ret < 0 ? size_mask(a->size) : (*val & size_mask(a->size));
    } else if (r->ops->write) {
        ret = r->ops->write(r->opaque, a, *val & size_mask(a->size));
    }
    if (ret < 0)
        vgt_warn(s->log, "dom%u vcpu%u: %s %s of %u bytes at %#llx failed: %s", s->domid,
                 a->vcpu, type_names[t], read ? "read" : "write", a->size,
                 (unsigned long long)a->addr, strerror(-ret));
    else
        vgt_debug(s->log, "dom%u vcpu%u: %s %s%u %#llx %s %#llx", s->domid, a->vcpu,
                  type_names[t], read ? "rd" : "wr", a->size * 8,
                  (unsigned long long)a->addr, read ? "->" : "<-", (unsigned long long)*val);
}

/* A COPY write nobody's range claims: the hypervisor forwards writes to
 * write-protected gfns to the server owning HVMMEM_ioreq_server. */
static bool wp_write(struct vgt_ioreq_server *s, unsigned vcpu, uint64_t gpa, uint32_t size,
                     uint64_t val)
{
    int ret;

    /* Held across the handler: a handler change from another thread
     * waits for the running call. */
    pthread_mutex_lock(&s->wp_lock);
    if (!s->wp_fn) {
        pthread_mutex_unlock(&s->wp_lock);
        return false;
    }
    STAT_INC(s, st_wp);
    if ((gpa & (VGT_PAGE_SIZE - 1)) + size > VGT_PAGE_SIZE) {
        /* Split at the page boundary, byte by byte (the seam promises
         * accesses that never cross a page). */
        for (uint32_t i = 0; i < size; i++) {
            ret = call_wp(s, gpa + i, 1, (val >> (8 * i)) & 0xff);
            if (ret < 0)
                vgt_warn(s->log, "dom%u vcpu%u: wp write at %#llx: %s", s->domid, vcpu,
                         (unsigned long long)(gpa + i), strerror(-ret));
        }
    } else {
        ret = call_wp(s, gpa, size, val & size_mask(size));
        if (ret < 0)
            vgt_warn(s->log, "dom%u vcpu%u: wp write of %u bytes at %#llx: %s", s->domid, vcpu,
                     size, (unsigned long long)gpa, strerror(-ret));
    }
    pthread_mutex_unlock(&s->wp_lock);
    return true;
}

/* A rep movs into a write-protected page (Xen: hvmemul_rep_movs sends a
 * p2m_ioreq_server destination as one COPY write with data_is_ptr): the
 * items go to the handler one by one, in the order the CPU stores them
 * (df steps both sides backwards), each source item read from guest RAM
 * once, exactly as single trapped writes. The span was bounded by the
 * caller (count * size <= REP_MAX_BYTES, no wrap on either side). Items
 * that land in a page that is not protected go to the handler too: it
 * applies every write it is given (hv.h). */
static bool wp_rep_write(struct vgt_ioreq_server *s, unsigned vcpu, const ioreq_t *req)
{
    const uint64_t size = req->size;

    for (uint64_t i = 0; i < req->count; i++) {
        uint64_t off = i * size;
        uint64_t dst = req->df ? req->addr - off : req->addr + off;
        uint64_t src = req->df ? req->data - off : req->data + off;
        uint64_t val = 0;
        int ret = vgt_hv_read(&s->hv, src, &val, req->size);

        if (ret < 0) {
            /* The CPU would fault here: the items before it are done. */
            vgt_err(s->log, "dom%u vcpu%u: rep source %#llx unreadable: %s", s->domid, vcpu,
                    (unsigned long long)src, strerror(-ret));
            return true;
        }
        if (!wp_write(s, vcpu, dst, req->size, val))
            return i > 0;
    }
    return true;
}

/* PIO and COPY: ranges of ports / guest-physical addresses. */
static void handle_io(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req, int t)
{
    const bool read = req->dir == IOREQ_READ;
    const uint64_t size = req->size;
    const uint64_t count = req->count;
    /* Ports stay put during a rep; memory addresses step. */
    const uint64_t step = t == VGT_IO_PORT ? 0 : size;
    uint64_t lo, hi; /* device-side span, inclusive */
    struct range r;
    int idx;

    if (!req->data_is_ptr && count != 1) {
        reject(s, vcpu, req, "count without data_is_ptr");
        return;
    }
    if (count * size > REP_MAX_BYTES) {
        reject(s, vcpu, req, "count span too large");
        return;
    }
    if (req->df && step) {
        if (req->addr < (count - 1) * step) {
            reject(s, vcpu, req, "count span wraps");
            return;
        }
        lo = req->addr - (count - 1) * step;
        hi = req->addr + size - 1;
    } else {
        lo = req->addr;
        hi = req->addr + (count - 1) * step + size - 1;
    }
    if (hi < lo || (t == VGT_IO_PORT && hi > 0xffff)) {
        reject(s, vcpu, req, "count span overflows");
        return;
    }
    if (req->data_is_ptr) {
        /* The guest-memory side steps the same way. */
        uint64_t span = count * size;

        if (req->df ? req->data < span - size : req->data > ~0ull - span) {
            reject(s, vcpu, req, "data pointer span wraps");
            return;
        }
    }

    pthread_mutex_lock(&s->lock);
    idx = find_range(s, t, lo);
    if (idx < 0 || hi > s->ranges[t][idx].end) {
        bool handled = false;
        bool nowhere = idx < 0 && find_range(s, t, hi) < 0;

        pthread_mutex_unlock(&s->lock);
        if (t == VGT_IO_MMIO && !read && !req->data_is_ptr)
            handled = wp_write(s, vcpu, req->addr, req->size, req->data);
        else if (t == VGT_IO_MMIO && !read)
            handled = wp_rep_write(s, vcpu, req);
        if (!handled) {
            if (nowhere) {
                STAT_INC(s, st_bad);
                vgt_warn(s->log, "dom%u vcpu%u: %s %s at %#llx: no range", s->domid, vcpu,
                         type_names[t], read ? "read" : "write",
                         (unsigned long long)req->addr);
            } else {
                bad(s, vcpu, req, "count span leaves the range");
            }
            if (!req->data_is_ptr)
                req->data = ~0ull;
        }
        return;
    }
    r = s->ranges[t][idx];
    for (uint64_t i = 0; i < count; i++) {
        uint64_t off = i * size;
        uint64_t dev = req->df ? req->addr - i * step : req->addr + i * step;
        uint64_t mem = req->df ? req->data - off : req->data + off;
        struct vgt_io_access a = {.type = (enum vgt_io_type)t, .addr = dev,
                                  .offset = dev - r.start, .size = req->size, .vcpu = vcpu};
        uint64_t val = 0;
        int ret;

        if (!req->data_is_ptr) {
            val = req->data;
            access_one(s, t, &r, &a, read, &val);
            if (read)
                req->data = val;
            break;
        }
        if (!read) {
            ret = vgt_hv_read(&s->hv, mem, &val, req->size);
            if (ret < 0) {
                vgt_err(s->log, "dom%u vcpu%u: rep source %#llx unreadable: %s", s->domid, vcpu,
                        (unsigned long long)mem, strerror(-ret));
                break;
            }
        }
        access_one(s, t, &r, &a, read, &val);
        if (read) {
            ret = vgt_hv_write(&s->hv, mem, &val, req->size);
            if (ret < 0) {
                vgt_err(s->log, "dom%u vcpu%u: rep target %#llx unwritable: %s", s->domid, vcpu,
                        (unsigned long long)mem, strerror(-ret));
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void handle_pio(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req)
{
    handle_io(s, vcpu, req, VGT_IO_PORT);
}

static void handle_copy(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req)
{
    handle_io(s, vcpu, req, VGT_IO_MMIO);
}

/* addr: SBDF in bits 63..32, register in 31..0 (<xen/hvm/ioreq.h>). */
static void handle_pci(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req)
{
    const bool read = req->dir == IOREQ_READ;
    uint32_t sbdf = (uint32_t)(req->addr >> 32);
    uint32_t reg = (uint32_t)req->addr;
    struct vgt_io_access a;
    struct range r;
    uint64_t val = req->data;
    int idx;

    if (req->data_is_ptr || req->count != 1) {
        reject(s, vcpu, req, "PCI config with a count");
        return;
    }
    if (reg >= PCI_CFG_SPACE || reg + req->size > PCI_CFG_SPACE) {
        reject(s, vcpu, req, "PCI config offset");
        return;
    }
    pthread_mutex_lock(&s->lock);
    idx = find_range(s, VGT_IO_PCI, sbdf);
    if (idx < 0) {
        pthread_mutex_unlock(&s->lock);
        STAT_INC(s, st_bad);
        vgt_warn(s->log, "dom%u vcpu%u: config %s of %04x:%02x:%02x.%u: not ours", s->domid,
                 vcpu, read ? "read" : "write", sbdf >> 16, (sbdf >> 8) & 0xff,
                 (sbdf >> 3) & 0x1f, sbdf & 7);
        req->data = ~0ull;
        return;
    }
    r = s->ranges[VGT_IO_PCI][idx];
    a = (struct vgt_io_access){.type = VGT_IO_PCI, .addr = reg, .offset = reg,
                               .size = req->size, .sbdf = sbdf, .vcpu = vcpu};
    access_one(s, VGT_IO_PCI, &r, &a, read, &val);
    pthread_mutex_unlock(&s->lock);
    if (read)
        req->data = val;
}

/* The guest's p2m changed: the device revalidates what it cached before
 * the vCPU goes on (Xen's send_invalidate_req waits for every server).
 * Xen sends size 4, write, count 0, data all ones. The registry is not
 * held: the device takes its own locks, as for emulator writes. */
static void handle_invalidate(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req)
{
    (void)req;
    STAT_INC(s, st_invalidate);
    vgt_debug(s->log, "dom%u vcpu%u: invalidate", s->domid, vcpu);
    /* The backend's cached mappings first, so the device's revalidation
     * maps the frames afresh. */
    if (s->be->ops->invalidate)
        s->be->ops->invalidate(s->be);
    pthread_mutex_lock(&s->inval_lock);
    if (s->inval_fn)
        s->inval_fn(s->inval_opaque);
    pthread_mutex_unlock(&s->inval_lock);
}

int vgt_ioreq_server_on_invalidate(struct vgt_ioreq_server *s, void (*fn)(void *opaque),
                                   void *opaque)
{
    int ret = 0;

    if (!s)
        return -EINVAL;
    pthread_mutex_lock(&s->inval_lock);
    if (fn && s->inval_fn && (s->inval_fn != fn || s->inval_opaque != opaque))
        ret = -EBUSY;
    else {
        s->inval_fn = fn;
        s->inval_opaque = opaque;
    }
    pthread_mutex_unlock(&s->inval_lock);
    return ret;
}

/* The guest moved its RTC: data is the new offset in seconds. */
static void handle_timeoffset(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req)
{
    s->timeoffset = (int64_t)req->data;
    vgt_info(s->log, "dom%u vcpu%u: time offset %lld s", s->domid, vcpu,
             (long long)s->timeoffset);
}

struct req_kind {
    uint8_t type;
    bool checks_size;  /* size must be 1/2/4/8 and count non-zero */
    void (*handle)(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req);
};

/* Indexed by the ioreq type (<xen/hvm/ioreq.h>); holes are unknown types. */
static const struct req_kind req_kinds[] = {
    [IOREQ_TYPE_PIO] = {IOREQ_TYPE_PIO, true, handle_pio},
    [IOREQ_TYPE_COPY] = {IOREQ_TYPE_COPY, true, handle_copy},
    [IOREQ_TYPE_PCI_CONFIG] = {IOREQ_TYPE_PCI_CONFIG, true, handle_pci},
    [IOREQ_TYPE_TIMEOFFSET] = {IOREQ_TYPE_TIMEOFFSET, true, handle_timeoffset},
    [IOREQ_TYPE_INVALIDATE] = {IOREQ_TYPE_INVALIDATE, false, handle_invalidate},
};

void vgt_ioreq_server_process(struct vgt_ioreq_server *s, unsigned vcpu, ioreq_t *req)
{
    const struct req_kind *k = NULL;

    if (req->type < VGT_ARRAY_SIZE(req_kinds) && req_kinds[req->type].handle)
        k = &req_kinds[req->type];
    STAT_INC(s, st_served);
    if (!k) {
        reject(s, vcpu, req, "unknown type");
        return;
    }
    if (k->checks_size) {
        if (!size_ok(req->size)) {
            reject(s, vcpu, req, "size");
            return;
        }
        if (req->count == 0) {
            reject(s, vcpu, req, "count 0");
            return;
        }
    }
    k->handle(s, vcpu, req);
}

/* ---- buffered ring ---- */

/* Each slot is 8 bytes; an 8-byte write takes two, the second carrying the
 * high half (<xen/hvm/ioreq.h>, buf_ioreq). read_pointer is advanced
 * atomically (HVM_IOREQSRV_BUFIOREQ_ATOMIC); Xen may rebase both pointers
 * by a multiple of the slot count, so a snapshot is taken only when the
 * read pointer did not move under it. */
static int drain_buffered(struct vgt_ioreq_server *s)
{
    buffered_iopage_t *pg = s->buf;
    int n = 0;

    for (;;) {
        uint32_t rd, wr, qw, avail;
        buf_ioreq_t b;
        ioreq_t req;

        rd = __atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE);
        wr = __atomic_load_n(&pg->write_pointer, __ATOMIC_ACQUIRE);
        vgt_ioreq_rmb();
        if (__atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE) != rd)
            continue;
        avail = wr - rd;
        if (avail == 0)
            break;
        if (avail > IOREQ_BUFFER_SLOT_NUM) {
            vgt_err(s->log, "dom%u: buffered ring corrupt (read %u write %u): dropped",
                    s->domid, rd, wr);
            STAT_INC(s, st_bad);
            __atomic_store_n(&pg->read_pointer, wr, __ATOMIC_RELEASE);
            break;
        }
        memcpy(&b, (const void *)&pg->buf_ioreq[rd % IOREQ_BUFFER_SLOT_NUM], sizeof(b));
        memset(&req, 0, sizeof(req));
        req.type = b.type;
        req.dir = b.dir;
        req.size = 1u << b.size;
        req.addr = b.addr;
        req.data = b.data;
        req.count = 1;
        qw = req.size == 8;
        if (qw) {
            if (avail < 2) {
                vgt_err(s->log, "dom%u: buffered 8-byte write without its high half",
                        s->domid);
                STAT_INC(s, st_bad);
                __atomic_store_n(&pg->read_pointer, wr, __ATOMIC_RELEASE);
                break;
            }
            req.data |= (uint64_t)pg->buf_ioreq[(rd + 1) % IOREQ_BUFFER_SLOT_NUM].data << 32;
        }
        if (req.dir != IOREQ_WRITE) {
            bad(s, 0, &req, "buffered read");
        } else {
            vgt_ioreq_server_process(s, 0, &req);
        }
        STAT_INC(s, st_buffered);
        n++;
        vgt_ioreq_mb();
        __atomic_fetch_add(&pg->read_pointer, qw + 1, __ATOMIC_SEQ_CST);
    }
    return n;
}

/* ---- the sync page ---- */

static int port_vcpu(struct vgt_ioreq_server *s, uint32_t port)
{
    if (s->last_vcpu < s->nr_vcpus && s->vcpu_bound[s->last_vcpu] &&
        s->vcpu_port[s->last_vcpu] == port)
        return (int)s->last_vcpu;
    for (unsigned i = 0; i < s->nr_vcpus; i++)
        if (s->vcpu_bound[i] && s->vcpu_port[i] == port) {
            s->last_vcpu = i;
            return (int)i;
        }
    return -1;
}

/* One fired port: the buffered ring first (it holds writes the vCPU made
 * before this request), then the vCPU's slot. READY -> rmb -> INPROCESS ->
 * handle -> wmb -> IORESP_READY -> notify; never backwards. */
static int handle_port(struct vgt_ioreq_server *s, uint32_t port)
{
    volatile ioreq_t *slot;
    ioreq_t req;
    uint64_t t0;
    int n = 0, vcpu;

    if (s->buf)
        n += drain_buffered(s);
    if (s->buf_bound && port == s->buf_port) {
        s->be->ops->unmask(s->be, port);
        return n;
    }
    vcpu = port_vcpu(s, port);
    if (vcpu < 0) {
        /* Not a port of ours: normal right after binding on real Xen. */
        STAT_INC(s, st_spurious);
        s->be->ops->unmask(s->be, port);
        return n;
    }
    slot = &s->sync->vcpu_ioreq[vcpu];
    if (vgt_ioreq_state(slot) != STATE_IOREQ_READY) { /* acquire: the fields are there */
        STAT_INC(s, st_spurious);
        s->be->ops->unmask(s->be, port);
        return n;
    }
    vgt_ioreq_rmb();
    t0 = mono_ns();
    memcpy(&req, (const void *)slot, sizeof(req));
    vgt_ioreq_set_state(slot, STATE_IOREQ_INPROCESS);
    s->be->ops->unmask(s->be, port);

    vgt_ioreq_server_process(s, (unsigned)vcpu, &req);

    slot->data = req.data;
    vgt_ioreq_wmb();
    vgt_ioreq_set_state(slot, STATE_IORESP_READY);
    s->be->ops->notify(s->be, port);
    note_latency(s, mono_ns() - t0);
    return n + 1;
}

int vgt_ioreq_server_fd(struct vgt_ioreq_server *s)
{
    return s ? s->be->ops->fd(s->be) : -EINVAL;
}

int vgt_ioreq_server_poll(struct vgt_ioreq_server *s, int timeout_ms)
{
    int ret, port, served = 0;

    if (!s || s->stage != STAGE_STARTED)
        return -EINVAL;
    ret = s->be->ops->wait(s->be, timeout_ms);
    if (ret == -ETIMEDOUT || ret == -EINTR)
        return 0;
    if (ret < 0)
        return ret;
    while ((port = s->be->ops->pending(s->be)) >= 0)
        served += handle_port(s, (uint32_t)port);
    if (port != -EAGAIN)
        return port;
    return served;
}

int vgt_ioreq_server_run(struct vgt_ioreq_server *s)
{
    int ret;

    if (!s)
        return -EINVAL;
    while (!atomic_load(&s->stop)) {
        ret = vgt_ioreq_server_poll(s, -1);
        if (ret < 0)
            return ret;
    }
    return 0;
}

void vgt_ioreq_server_stop(struct vgt_ioreq_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    s->be->ops->kick(s->be);
}

void vgt_ioreq_server_get_stats(const struct vgt_ioreq_server *s, struct vgt_ioreq_stats *st)
{
    struct vgt_ioreq_server *w = (struct vgt_ioreq_server *)s; /* atomics are read-only here */

    st->served = atomic_load(&w->st_served);
    st->bad = atomic_load(&w->st_bad);
    st->spurious = atomic_load(&w->st_spurious);
    st->invalidate = atomic_load(&w->st_invalidate);
    st->buffered = atomic_load(&w->st_buffered);
    st->wp_writes = atomic_load(&w->st_wp);
    st->lat_count = 0;
    for (unsigned b = 0; b <= VGT_IOREQ_LAT_BUCKETS; b++) {
        st->lat_bucket[b] = atomic_load(&w->st_lat[b]);
        st->lat_count += st->lat_bucket[b];
    }
    st->lat_sum_ns = atomic_load(&w->st_lat_sum);
    st->emul_wp = atomic_load(&w->st_emul_wp);
    st->emul_wp_refused = atomic_load(&w->st_emul_refused);
}

/* ---- bring-up and teardown ---- */

int vgt_ioreq_server_create(const struct vgt_ioreq_server_cfg *cfg,
                            struct vgt_ioreq_backend *be,
                            struct vgt_ioreq_server **out)
{
    struct vgt_ioreq_server *s;
    pthread_mutexattr_t attr;
    int ret;

    if (!cfg || !be || !out) {
        if (be)
            be->ops->destroy(be);
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        ret = -ENOMEM;
        goto destroy_backend;
    }
    s->log = cfg->log;
    s->be = be;
    s->domid = cfg->domid;
    s->bufioreq = cfg->bufioreq;
    s->next_id = 1;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_mutex_init(&s->wp_lock, NULL);
    pthread_mutex_init(&s->wp_map_lock, NULL);
    pthread_mutex_init(&s->inval_lock, NULL);
    s->hv.ops = &server_hv_ops;
    s->hv.domid = cfg->domid;
    s->hv.max_gfn = be->hv ? be->hv->max_gfn : 0;

    ret = be->ops->create(be, cfg->bufioreq, &s->nr_vcpus);
    if (ret < 0)
        goto free_server;
    if (s->nr_vcpus == 0 || s->nr_vcpus > SYNC_PAGE_SLOTS) {
        vgt_err(s->log, "dom%u: %u vCPUs do not fit one sync page (1..%zu)", s->domid,
                s->nr_vcpus, (size_t)SYNC_PAGE_SLOTS);
        ret = -ERANGE;
        goto free_server;
    }
    s->vcpu_port = calloc(s->nr_vcpus, sizeof(*s->vcpu_port));
    s->vcpu_bound = calloc(s->nr_vcpus, sizeof(*s->vcpu_bound));
    if (!s->vcpu_port || !s->vcpu_bound) {
        ret = -ENOMEM;
        goto free_ports;
    }
    ret = be->ops->map_pages(be, &s->sync, &s->buf);
    if (ret < 0)
        goto free_ports;
    if (cfg->bufioreq && !s->buf) {
        vgt_err(s->log, "dom%u: backend %s mapped no buffered page", s->domid, be->ops->name);
        ret = -EIO;
        goto unmap_pages;
    }
    s->stage = STAGE_MAPPED;
    *out = s;
    return 0;

unmap_pages:
    be->ops->unmap_pages(be);
free_ports:
    free(s->vcpu_port);
    free(s->vcpu_bound);
free_server:
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->wp_lock);
    pthread_mutex_destroy(&s->wp_map_lock);
    pthread_mutex_destroy(&s->inval_lock);
    free(s);
destroy_backend:
    be->ops->destroy(be);
    return ret;
}

static void unbind_all(struct vgt_ioreq_server *s)
{
    if (s->buf_bound) {
        s->be->ops->unbind_port(s->be, s->buf_port);
        s->buf_bound = false;
    }
    for (unsigned i = 0; i < s->nr_vcpus; i++)
        if (s->vcpu_bound[i]) {
            s->be->ops->unbind_port(s->be, s->vcpu_port[i]);
            s->vcpu_bound[i] = false;
        }
}

int vgt_ioreq_server_start(struct vgt_ioreq_server *s)
{
    const struct vgt_ioreq_backend_ops *ops;
    uint32_t remote;
    int ret;

    if (!s || s->stage != STAGE_MAPPED)
        return -EINVAL;
    ops = s->be->ops;
    ret = ops->enable(s->be, true);
    if (ret < 0)
        return ret;
    /* vp_eport is only meaningful once the server is enabled. */
    vgt_ioreq_rmb();
    for (unsigned i = 0; i < s->nr_vcpus; i++) {
        remote = s->sync->vcpu_ioreq[i].vp_eport;
        if (remote == 0) {
            vgt_err(s->log, "dom%u: vCPU %u has no event channel (vp_eport 0)", s->domid, i);
            ret = -ENXIO;
            goto unbind_ports;
        }
        ret = ops->bind_port(s->be, remote, &s->vcpu_port[i]);
        if (ret < 0)
            goto unbind_ports;
        s->vcpu_bound[i] = true;
    }
    if (s->buf) {
        ret = ops->buf_port(s->be, &remote);
        if (ret < 0)
            goto unbind_ports;
        ret = ops->bind_port(s->be, remote, &s->buf_port);
        if (ret < 0)
            goto unbind_ports;
        s->buf_bound = true;
    }
    if (ops->restrict_handles) {
        ret = ops->restrict_handles(s->be);
        if (ret < 0)
            goto unbind_ports;
    }
    s->stage = STAGE_STARTED;
    vgt_info(s->log, "dom%u: ioreq server started on %s, %u vCPUs%s", s->domid, ops->name,
             s->nr_vcpus, s->buf ? ", buffered ring on" : "");
    return 0;

unbind_ports:
    unbind_all(s);
    ops->enable(s->be, false);
    return ret;
}

void vgt_ioreq_server_destroy(struct vgt_ioreq_server *s)
{
    if (!s)
        return;
    if (s->stage == STAGE_STARTED) {
        s->be->ops->enable(s->be, false);
        unbind_all(s);
    }
    s->be->ops->unmap_pages(s->be);
    s->be->ops->destroy(s->be);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->wp_lock);
    pthread_mutex_destroy(&s->wp_map_lock);
    pthread_mutex_destroy(&s->inval_lock);
    for (size_t i = 0; s->wp_map && i < s->wp_leaves; i++)
        free((void *)s->wp_map[i]);
    free((void *)s->wp_map);
    free(s->vcpu_port);
    free(s->vcpu_bound);
    free(s);
}

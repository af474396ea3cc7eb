/* The simulated hypervisor: guest RAM behind a scrambled p2m, vCPU
 * accesses turned into ioreqs with Xen's routing rules, write protection,
 * MSIs. See vgt/sim_hv.h for the rules it follows and where they come
 * from. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hv_internal.h"
#include "vgt/ioreq_slot.h"
#include "vgt/util.h"

#define VGA_GFN_FIRST (SIM_HV_VGA_START >> VGT_PAGE_SHIFT)
#define VGA_GFN_LAST (SIM_HV_VGA_END >> VGT_PAGE_SHIFT)
#define LOW_RAM_END_GFN (SIM_HV_LOW_RAM_END >> VGT_PAGE_SHIFT)
#define HIGH_RAM_GFN (SIM_HV_HIGH_RAM_START >> VGT_PAGE_SHIFT)
#define CHUNK_FRAMES 512u

/* PCI configuration mechanism #1 (PCI Local Bus spec 3.0, 3.2.2.3.2):
 * 0xCF8 address (enable bit 31, bus 23..16, device 15..11, function
 * 10..8, register 7..2), 0xCFC..0xCFF data. */
#define PCI_CF8 0xCF8
#define PCI_CFC 0xCFC
#define CF8_ENABLE 0x80000000u
#define PCI_CFG_SIZE 256 /* i440FX: no extended config space */

/* The i440FX host bridge at 00:00.0: 8086:1237 (pci.ids "440FX - 82441FX
 * PMC [Natoma]"), revision 2, class 06.00.00 host bridge, header type 0. */
struct cfg_field {
    uint8_t off, size;
    uint32_t val;
};
static const struct cfg_field i440fx_cfg[] = {
    {0x00, 2, 0x8086}, {0x02, 2, 0x1237}, {0x04, 2, 0x0006}, {0x06, 2, 0x0280},
    {0x08, 1, 0x02},   {0x09, 1, 0x00},   {0x0a, 1, 0x00},   {0x0b, 1, 0x06},
};

#define STAT_ADD(g, f) atomic_fetch_add_explicit(&(g)->f, 1, memory_order_relaxed)

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* ---- hypervisor ---- */

int sim_hv_create(const struct sim_hv_cfg *cfg, struct sim_hv **out)
{
    struct sim_hv *hv;

    if (!cfg || !cfg->arena || !out)
        return -EINVAL;
    hv = calloc(1, sizeof(*hv));
    if (!hv)
        return -ENOMEM;
    hv->arena = cfg->arena;
    hv->log = cfg->log;
    hv->seed = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ull;
    pthread_mutex_init(&hv->lock, NULL);
    *out = hv;
    return 0;
}

int sim_hv_destroy(struct sim_hv *hv)
{
    if (!hv)
        return 0;
    if (hv->nr_guests)
        return -EBUSY;
    pthread_mutex_destroy(&hv->lock);
    free(hv);
    return 0;
}

/* ---- guest RAM ---- */

bool sim_guest_gfn_is_ram(const struct sim_guest *g, uint64_t gfn)
{
    return gfn < g->max_gfn && g->p2m[gfn] != INVALID_HPA;
}

static void *gfn_ptr(const struct sim_guest *g, uint64_t gfn)
{
    return sim_arena_ptr(g->hv->arena, g->p2m[gfn], VGT_PAGE_SIZE);
}

/* Every page of [gpa, gpa+len) is RAM. */
static bool span_is_ram(const struct sim_guest *g, uint64_t gpa, size_t len)
{
    uint64_t first, last;

    if (len == 0 || gpa + len - 1 < gpa)
        return false;
    first = gpa >> VGT_PAGE_SHIFT;
    last = (gpa + len - 1) >> VGT_PAGE_SHIFT;
    for (uint64_t f = first; f <= last; f++)
        if (!sim_guest_gfn_is_ram(g, f))
            return false;
    return true;
}

static void ram_copy(const struct sim_guest *g, uint64_t gpa, void *buf, size_t len, bool to_ram)
{
    uint8_t *b = buf;

    while (len) {
        size_t off = gpa & (VGT_PAGE_SIZE - 1);
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - off);
        uint8_t *p = (uint8_t *)gfn_ptr(g, gpa >> VGT_PAGE_SHIFT) + off;

        if (to_ram)
            memcpy(p, b, n);
        else
            memcpy(b, p, n);
        gpa += n;
        b += n;
        len -= n;
    }
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void free_frames(struct sim_guest *g)
{
    for (uint64_t gfn = 0; gfn < g->max_gfn; gfn++)
        if (g->p2m[gfn] != INVALID_HPA)
            sim_arena_free(g->hv->arena, g->p2m[gfn], 1);
}

/* RAM gfns in order: low RAM around the VGA hole, then above 4 GiB. */
static int build_p2m(struct sim_guest *g)
{
    uint64_t pages = g->ram_bytes >> VGT_PAGE_SHIFT;
    uint64_t low = VGT_MIN(pages + (VGA_GFN_LAST - VGA_GFN_FIRST + 1), LOW_RAM_END_GFN);
    uint64_t *frames, n = 0, rnd;
    uint64_t low_ram = low - (VGA_GFN_LAST - VGA_GFN_FIRST + 1);
    int ret = 0;

    g->max_gfn = pages > low_ram ? HIGH_RAM_GFN + (pages - low_ram) : low;
    g->p2m = malloc(g->max_gfn * sizeof(*g->p2m));
    frames = malloc(pages * sizeof(*frames));
    if (!g->p2m || !frames) {
        ret = -ENOMEM;
        goto free_lists;
    }
    for (uint64_t i = 0; i < g->max_gfn; i++)
        g->p2m[i] = INVALID_HPA;
    /* Chunks of up to 2 MiB, smaller when the arena is fragmented. */
    while (n < pages) {
        uint64_t want = VGT_MIN((uint64_t)CHUNK_FRAMES, pages - n), hpa;

        while (sim_arena_alloc(g->hv->arena, want, 1, &hpa) < 0) {
            if (want == 1) {
                ret = -ENOMEM;
                goto free_frames;
            }
            want /= 2;
        }
        for (uint64_t i = 0; i < want; i++)
            frames[n++] = hpa + (i << VGT_PAGE_SHIFT);
    }
    /* Fisher-Yates: the p2m must not be the identity nor a plain offset. */
    rnd = g->hv->seed ^ ((uint64_t)g->domid << 32) ^ 0x2545f4914f6cdd1dull;
    for (uint64_t i = pages - 1; i > 0; i--) {
        uint64_t j = xorshift(&rnd) % (i + 1), t = frames[i];

        frames[i] = frames[j];
        frames[j] = t;
    }
    n = 0;
    for (uint64_t gfn = 0; gfn < g->max_gfn && n < pages; gfn++) {
        if ((gfn >= VGA_GFN_FIRST && gfn <= VGA_GFN_LAST) ||
            (gfn >= LOW_RAM_END_GFN && gfn < HIGH_RAM_GFN))
            continue;
        g->p2m[gfn] = frames[n++];
    }
    free(frames);
    return 0;

free_frames:
    for (uint64_t i = 0; i < n; i++)
        sim_arena_free(g->hv->arena, frames[i], 1);
free_lists:
    free(frames);
    free(g->p2m);
    g->p2m = NULL;
    return ret;
}

/* ---- the emulator-side hv seam of a guest ---- */

static struct sim_guest *seam_guest(struct vgt_hv *hv)
{
    return (struct sim_guest *)((char *)hv - offsetof(struct sim_guest, seam));
}

static int seam_read(struct vgt_hv *hv, uint64_t gpa, void *buf, size_t len)
{
    struct sim_guest *g = seam_guest(hv);

    if (len == 0)
        return 0;
    if (!span_is_ram(g, gpa, len))
        return -EFAULT;
    ram_copy(g, gpa, buf, len, false);
    return 0;
}

/* The emulator's writes are applied even to write-protected gfns (it
 * writes through its own mapping, as a foreign mapping on Xen). */
static int seam_write(struct vgt_hv *hv, uint64_t gpa, const void *buf, size_t len)
{
    struct sim_guest *g = seam_guest(hv);

    if (len == 0)
        return 0;
    if (!span_is_ram(g, gpa, len))
        return -EFAULT;
    ram_copy(g, gpa, (void *)buf, len, true);
    return 0;
}

static int seam_gfn_to_dma(struct vgt_hv *hv, uint64_t gfn, uint64_t *dma)
{
    struct sim_guest *g = seam_guest(hv);

    if (!sim_guest_gfn_is_ram(g, gfn))
        return -EFAULT;
    *dma = g->p2m[gfn];
    return 0;
}

static int seam_set_wp(struct vgt_hv *hv, uint64_t gfn, uint64_t nr, bool protect)
{
    (void)hv, (void)gfn, (void)nr, (void)protect;
    return -EOPNOTSUPP;
}

static int seam_set_wp_handler(struct vgt_hv *hv, vgt_hv_wp_fn fn, void *opaque)
{
    (void)hv, (void)fn, (void)opaque;
    return -EOPNOTSUPP;
}

static int seam_inject_msi(struct vgt_hv *hv, uint64_t addr, uint32_t data)
{
    struct sim_guest *g = seam_guest(hv);
    struct sim_msi m = {.addr = addr, .data = data};
    sim_msi_fn fn;
    void *opaque;

    pthread_mutex_lock(&g->msi_lock);
    fn = g->msi_fn;
    opaque = g->msi_opaque;
    if (!fn) {
        if (g->msi_count == SIM_HV_MSI_QUEUE) {
            pthread_mutex_unlock(&g->msi_lock);
            STAT_ADD(g, st_msi_drop);
            return 0; /* an edge lost, as on a saturated LAPIC */
        }
        g->msi_q[(g->msi_head + g->msi_count) % SIM_HV_MSI_QUEUE] = m;
        g->msi_count++;
        pthread_cond_signal(&g->msi_cond);
    }
    pthread_mutex_unlock(&g->msi_lock);
    STAT_ADD(g, st_msi);
    if (fn)
        fn(opaque, &m);
    return 0;
}

static int seam_mark_dirty(struct vgt_hv *hv, uint64_t gfn, uint64_t nr)
{
    struct sim_guest *g = seam_guest(hv);

    if (nr == 0 || gfn >= g->max_gfn || nr > g->max_gfn - gfn)
        return -EFAULT;
    for (uint64_t f = gfn; f < gfn + nr; f++)
        atomic_fetch_or(&g->dirty[f / 64], 1ull << (f % 64));
    return 0;
}

/* A device's locked read-modify-write of 8 aligned bytes of guest RAM
 * (hv.h cmpxchg_gpa; the emulated IOMMU sets A/D bits with it). */
static int seam_cmpxchg(struct vgt_hv *hv, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    struct sim_guest *g = seam_guest(hv);
    uint64_t *p;

    if (gpa & 7)
        return -EINVAL;
    if (!span_is_ram(g, gpa, 8))
        return -EFAULT;
    p = (uint64_t *)((uint8_t *)gfn_ptr(g, gpa >> VGT_PAGE_SHIFT) + (gpa & (VGT_PAGE_SIZE - 1)));
    if (__atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        return 0;
    return -EAGAIN;
}

static const struct vgt_hv_ops seam_ops = {
    .read_gpa = seam_read,
    .write_gpa = seam_write,
    .gfn_to_dma = seam_gfn_to_dma,
    .set_wp = seam_set_wp,
    .set_wp_handler = seam_set_wp_handler,
    .inject_msi = seam_inject_msi,
    .mark_dirty = seam_mark_dirty,
    .cmpxchg_gpa = seam_cmpxchg,
};

struct vgt_hv *sim_guest_hv(struct sim_guest *g)
{
    return g ? &g->seam : NULL;
}

/* ---- guest life cycle ---- */

int sim_guest_create(struct sim_hv *hv, const struct sim_guest_cfg *cfg, struct sim_guest **out)
{
    struct sim_guest *g;
    int ret;

    if (!hv || !cfg || !out || cfg->domid == 0 || cfg->nr_vcpus == 0 ||
        cfg->nr_vcpus > SIM_HV_MAX_VCPUS || cfg->ram_bytes < (2ull << 20) ||
        cfg->ram_bytes > SIM_HV_MAX_RAM || (cfg->ram_bytes & (VGT_PAGE_SIZE - 1)))
        return -EINVAL;
    pthread_mutex_lock(&hv->lock);
    for (unsigned i = 0; i < hv->nr_guests; i++)
        if (hv->domids[i] == cfg->domid) {
            pthread_mutex_unlock(&hv->lock);
            return -EEXIST;
        }
    if (hv->nr_guests == VGT_ARRAY_SIZE(hv->domids)) {
        pthread_mutex_unlock(&hv->lock);
        return -ENOSPC;
    }
    hv->domids[hv->nr_guests++] = cfg->domid;
    pthread_mutex_unlock(&hv->lock);

    g = calloc(1, sizeof(*g));
    if (!g) {
        ret = -ENOMEM;
        goto drop_domid;
    }
    g->hv = hv;
    g->log = hv->log;
    g->domid = cfg->domid;
    g->nr_vcpus = cfg->nr_vcpus;
    g->ram_bytes = cfg->ram_bytes;
    ret = build_p2m(g);
    if (ret < 0)
        goto free_guest;
    g->wp = calloc(g->max_gfn, sizeof(*g->wp));
    g->dirty = calloc((g->max_gfn + 63) / 64, sizeof(*g->dirty));
    g->msi_q = calloc(SIM_HV_MSI_QUEUE, sizeof(*g->msi_q));
    g->vcpus = calloc(g->nr_vcpus, sizeof(*g->vcpus));
    if (!g->wp || !g->dirty || !g->msi_q || !g->vcpus) {
        ret = -ENOMEM;
        goto free_tables;
    }
    for (unsigned i = 0; i < g->nr_vcpus; i++) {
        g->vcpus[i].efd = eventfd(0, EFD_CLOEXEC);
        if (g->vcpus[i].efd < 0) {
            ret = -errno;
            while (i--)
                close(g->vcpus[i].efd);
            goto free_tables;
        }
    }
    pthread_rwlock_init(&g->route, NULL);
    pthread_mutex_init(&g->pci_lock, NULL);
    pthread_mutex_init(&g->balloon_lock, NULL);
    pthread_mutex_init(&g->msi_lock, NULL);
    pthread_cond_init(&g->msi_cond, NULL);
    g->seam.ops = &seam_ops;
    g->seam.domid = g->domid;
    g->seam.max_gfn = g->max_gfn;
    *out = g;
    return 0;

free_tables:
    free(g->wp);
    free((void *)g->dirty);
    free(g->msi_q);
    free(g->vcpus);
    free_frames(g);
    free(g->p2m);
free_guest:
    free(g);
drop_domid:
    pthread_mutex_lock(&hv->lock);
    for (unsigned i = 0; i < hv->nr_guests; i++)
        if (hv->domids[i] == cfg->domid)
            hv->domids[i] = hv->domids[--hv->nr_guests];
    pthread_mutex_unlock(&hv->lock);
    return ret;
}

int sim_guest_destroy(struct sim_guest *g)
{
    struct sim_hv *hv;

    if (!g)
        return 0;
    for (unsigned i = 0; i < VGT_IOREQ_MAX_SERVERS; i++)
        if (g->srv[i])
            return -EBUSY;
    hv = g->hv;
    for (unsigned i = 0; i < g->nr_vcpus; i++)
        close(g->vcpus[i].efd);
    pthread_rwlock_destroy(&g->route);
    pthread_mutex_destroy(&g->pci_lock);
    pthread_mutex_destroy(&g->msi_lock);
    pthread_cond_destroy(&g->msi_cond);
    pthread_mutex_destroy(&g->balloon_lock);
    for (size_t i = 0; i < g->nr_ballooned; i++)
        sim_arena_free(hv->arena, g->ballooned[i], 1);
    free(g->ballooned);
    free_frames(g);
    free(g->p2m);
    free((void *)g->wp);
    free((void *)g->dirty);
    free(g->msi_q);
    free(g->vcpus);
    pthread_mutex_lock(&hv->lock);
    for (unsigned i = 0; i < hv->nr_guests; i++)
        if (hv->domids[i] == g->domid)
            hv->domids[i] = hv->domids[--hv->nr_guests];
    pthread_mutex_unlock(&hv->lock);
    free(g);
    return 0;
}

uint16_t sim_guest_domid(const struct sim_guest *g)
{
    return g->domid;
}

unsigned sim_guest_nr_vcpus(const struct sim_guest *g)
{
    return g->nr_vcpus;
}

uint64_t sim_guest_ram_bytes(const struct sim_guest *g)
{
    return g->ram_bytes;
}

uint64_t sim_guest_max_gfn(const struct sim_guest *g)
{
    return g->max_gfn;
}

struct sim_arena *sim_guest_arena(const struct sim_guest *g)
{
    return g->hv->arena;
}

bool sim_guest_gfn_is_wp(const struct sim_guest *g, uint64_t gfn)
{
    return gfn < g->max_gfn && atomic_load(&g->wp[gfn]);
}

bool sim_guest_test_and_clear_dirty(struct sim_guest *g, uint64_t gfn)
{
    uint64_t bit = 1ull << (gfn % 64);

    if (gfn >= g->max_gfn)
        return false;
    return atomic_fetch_and(&g->dirty[gfn / 64], ~bit) & bit;
}

void sim_guest_get_stats(struct sim_guest *g, struct sim_guest_stats *st)
{
    st->ioreqs = atomic_load(&g->st_ioreqs);
    st->buffered = atomic_load(&g->st_buffered);
    st->unclaimed = atomic_load(&g->st_unclaimed);
    st->wp_forwarded = atomic_load(&g->st_wp_fwd);
    st->wp_dropped = atomic_load(&g->st_wp_drop);
    st->msi = atomic_load(&g->st_msi);
    st->msi_dropped = atomic_load(&g->st_msi_drop);
    st->aborted = atomic_load(&g->st_aborted);
}

/* ---- servers (called by the backend) ---- */

int sim_hv_srv_create(struct sim_guest *g, struct sim_be *be, bool bufioreq,
                      struct sim_srv **out)
{
    struct sim_srv *srv;
    unsigned id;
    int ret;

    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->g = g;
    srv->be = be;
    pthread_mutex_init(&srv->buf_lock, NULL);
    ret = sim_arena_alloc(g->hv->arena, 1, 1, &srv->sync_hpa);
    if (ret < 0)
        goto free_srv;
    srv->sync = sim_arena_ptr(g->hv->arena, srv->sync_hpa, VGT_PAGE_SIZE);
    if (bufioreq) {
        ret = sim_arena_alloc(g->hv->arena, 1, 1, &srv->buf_hpa);
        if (ret < 0)
            goto free_sync;
        srv->buf = sim_arena_ptr(g->hv->arena, srv->buf_hpa, VGT_PAGE_SIZE);
    }
    pthread_rwlock_wrlock(&g->route);
    /* Lowest free id first, as Xen's hvm_create_ioreq_server. */
    for (id = 0; id < VGT_IOREQ_MAX_SERVERS && g->srv[id]; id++)
        ;
    if (id == VGT_IOREQ_MAX_SERVERS) {
        pthread_rwlock_unlock(&g->route);
        ret = -ENOSPC;
        goto free_buf;
    }
    srv->id = id;
    srv->remote_base = 1 + id * (g->nr_vcpus + 1);
    g->srv[id] = srv;
    pthread_rwlock_unlock(&g->route);
    *out = srv;
    return 0;

free_buf:
    if (srv->buf)
        sim_arena_free(g->hv->arena, srv->buf_hpa, 1);
free_sync:
    sim_arena_free(g->hv->arena, srv->sync_hpa, 1);
free_srv:
    pthread_mutex_destroy(&srv->buf_lock);
    free(srv);
    return ret;
}

void sim_hv_srv_destroy(struct sim_srv *srv)
{
    struct sim_guest *g = srv->g;

    pthread_rwlock_wrlock(&g->route);
    g->srv[srv->id] = NULL;
    if (g->wp_owner == srv)
        g->wp_owner = NULL;
    srv->enabled = false;
    pthread_rwlock_unlock(&g->route);
    atomic_store(&srv->dead, true);
    /* vCPUs still waiting on this server give up with all ones. */
    while (atomic_load(&srv->in_flight) > 0) {
        struct timespec ts = {0, 100000};

        for (unsigned i = 0; i < g->nr_vcpus; i++)
            sim_hv_wake_vcpu(g, i);
        nanosleep(&ts, NULL);
    }
    if (srv->buf)
        sim_arena_free(g->hv->arena, srv->buf_hpa, 1);
    sim_arena_free(g->hv->arena, srv->sync_hpa, 1);
    pthread_mutex_destroy(&srv->buf_lock);
    free(srv);
}

int sim_hv_srv_map(struct sim_srv *srv, int type, uint64_t start, uint64_t end)
{
    struct sim_guest *g = srv->g;
    struct sim_range *r = srv->ranges[type];
    unsigned n, pos = 0;
    int ret = 0;

    if (type < 0 || type >= NR_IO_TYPES || end < start)
        return -EINVAL;
    pthread_rwlock_wrlock(&g->route);
    n = srv->nr_ranges[type];
    if (n == VGT_IOREQ_MAX_RANGES) {
        ret = -ENOSPC;
        goto unlock;
    }
    for (unsigned i = 0; i < n; i++) {
        if (start <= r[i].end && r[i].start <= end) {
            ret = -EEXIST;
            goto unlock;
        }
        if (r[i].start < start)
            pos = i + 1;
    }
    memmove(&r[pos + 1], &r[pos], (n - pos) * sizeof(*r));
    r[pos] = (struct sim_range){start, end};
    srv->nr_ranges[type]++;
unlock:
    pthread_rwlock_unlock(&g->route);
    return ret;
}

int sim_hv_srv_unmap(struct sim_srv *srv, int type, uint64_t start, uint64_t end)
{
    struct sim_guest *g = srv->g;
    struct sim_range *r = srv->ranges[type];
    int ret = -ENOENT;

    if (type < 0 || type >= NR_IO_TYPES)
        return -EINVAL;
    pthread_rwlock_wrlock(&g->route);
    for (unsigned i = 0; i < srv->nr_ranges[type]; i++)
        if (r[i].start == start && r[i].end == end) {
            memmove(&r[i], &r[i + 1], (srv->nr_ranges[type] - i - 1) * sizeof(*r));
            srv->nr_ranges[type]--;
            ret = 0;
            break;
        }
    pthread_rwlock_unlock(&g->route);
    return ret;
}

/* vp_eport is written on enable: before it a slot's port reads 0, as on
 * Xen (ARCHITECTURE.md, observed facts). */
int sim_hv_srv_enable(struct sim_srv *srv, bool on)
{
    struct sim_guest *g = srv->g;

    pthread_rwlock_wrlock(&g->route);
    if (on)
        for (unsigned i = 0; i < g->nr_vcpus; i++)
            srv->sync->vcpu_ioreq[i].vp_eport = srv->remote_base + i;
    atomic_thread_fence(memory_order_release);
    srv->enabled = on;
    pthread_rwlock_unlock(&g->route);
    return 0;
}

/* One server per domain owns HVMMEM_ioreq_server (writes only). */
int sim_hv_srv_claim_wp(struct sim_srv *srv)
{
    struct sim_guest *g = srv->g;
    int ret = 0;

    pthread_rwlock_wrlock(&g->route);
    if (g->wp_owner && g->wp_owner != srv)
        ret = -EBUSY;
    else
        g->wp_owner = srv;
    pthread_rwlock_unlock(&g->route);
    return ret;
}

int sim_hv_set_wp(struct sim_guest *g, uint64_t gfn, uint64_t nr, bool protect)
{
    if (nr == 0 || gfn >= g->max_gfn || nr > g->max_gfn - gfn)
        return -EINVAL;
    /* Only RAM can change type (Xen: HVMMEM_ram_rw <-> HVMMEM_ioreq_server). */
    for (uint64_t f = gfn; f < gfn + nr; f++)
        if (!sim_guest_gfn_is_ram(g, f))
            return -EINVAL;
    for (uint64_t f = gfn; f < gfn + nr; f++)
        atomic_store(&g->wp[f], protect);
    return 0;
}

void sim_hv_wake_vcpu(struct sim_guest *g, unsigned vcpu)
{
    uint64_t one = 1;

    if (vcpu < g->nr_vcpus && write(g->vcpus[vcpu].efd, &one, sizeof(one)) < 0)
        vgt_err(g->log, "dom%u: waking vCPU %u: %s", g->domid, vcpu, strerror(errno));
}

/* ---- routing ---- */

static bool srv_claims(const struct sim_srv *srv, int type, uint64_t lo, uint64_t hi)
{
    const struct sim_range *r = srv->ranges[type];
    unsigned a = 0, b = srv->nr_ranges[type];

    while (a < b) {
        unsigned m = a + (b - a) / 2;

        if (lo < r[m].start)
            b = m;
        else if (lo > r[m].end)
            a = m + 1;
        else
            return hi <= r[m].end;
    }
    return false;
}

/* The highest-id enabled server with one range holding [lo, hi]; pinned by
 * in_flight so it outlives the request. */
static struct sim_srv *select_srv(struct sim_guest *g, int type, uint64_t lo, uint64_t hi)
{
    struct sim_srv *found = NULL;

    pthread_rwlock_rdlock(&g->route);
    for (int id = VGT_IOREQ_MAX_SERVERS - 1; id >= 0 && !found; id--) {
        struct sim_srv *srv = g->srv[id];

        if (srv && srv->enabled && srv_claims(srv, type, lo, hi))
            found = srv;
    }
    if (found)
        atomic_fetch_add(&found->in_flight, 1);
    pthread_rwlock_unlock(&g->route);
    return found;
}

static struct sim_srv *select_wp_owner(struct sim_guest *g)
{
    struct sim_srv *srv;

    pthread_rwlock_rdlock(&g->route);
    srv = g->wp_owner;
    if (srv && !srv->enabled)
        srv = NULL;
    if (srv)
        atomic_fetch_add(&srv->in_flight, 1);
    pthread_rwlock_unlock(&g->route);
    return srv;
}

/* Hand @p to @srv on @vcpu's slot and wait for the emulator: NONE ->
 * READY (after a write barrier) -> notify -> wait IORESP_READY -> read
 * barrier -> take data -> NONE. Drops the in_flight pin. */
static void send_sync(struct sim_guest *g, unsigned vcpu, struct sim_srv *srv, ioreq_t *p)
{
    volatile ioreq_t *slot = &srv->sync->vcpu_ioreq[vcpu];
    uint64_t cnt;

    STAT_ADD(g, st_ioreqs);
    if (vgt_ioreq_state(slot) != STATE_IOREQ_NONE) {
        /* Only the emulator could have put it there: a broken emulator. */
        vgt_err(g->log, "dom%u vcpu%u: slot of server %u busy (state %u)", g->domid, vcpu,
                srv->id, vgt_ioreq_state(slot));
        p->data = ~0ull;
        goto unpin;
    }
    vgt_ioreq_publish(slot, p);
    sim_be_deliver(srv->be, vcpu);
    /* The emulator notifies once per completion: read it even when the
     * state is already there, so no stale count makes the next wait
     * return early (only a dying server wakes more often). */
    do {
        if (read(g->vcpus[vcpu].efd, &cnt, sizeof(cnt)) < 0 && errno != EINTR) {
            vgt_err(g->log, "dom%u vcpu%u: wait: %s", g->domid, vcpu, strerror(errno));
            p->data = ~0ull;
            goto unpin;
        }
        if (vgt_ioreq_state(slot) != STATE_IORESP_READY && atomic_load(&srv->dead)) {
            STAT_ADD(g, st_aborted);
            p->data = ~0ull;
            goto unpin;
        }
    } while (vgt_ioreq_state(slot) != STATE_IORESP_READY); /* acquire: data is there */
    p->data = slot->data;
    vgt_ioreq_set_state(slot, STATE_IOREQ_NONE);
unpin:
    atomic_fetch_sub(&srv->in_flight, 1);
}

typedef uint64_t __attribute__((may_alias)) u64_alias;

/* Xen's hvm_send_buffered_ioreq: 8-byte slots, an 8-byte write in two
 * with the high half in the second, the 20-bit address field, pointers
 * rebased by a multiple of the slot count once the reader passed it. The
 * vCPU does not wait for the emulator, only for room. Drops the pin. */
static void send_buffered(struct sim_guest *g, struct sim_srv *srv, const ioreq_t *p)
{
    buffered_iopage_t *pg = srv->buf;
    static const uint8_t size_code[9] = {[1] = 0, [2] = 1, [4] = 2, [8] = 3};
    unsigned qw = p->size == 8;
    buf_ioreq_t b = {.type = p->type, .dir = IOREQ_WRITE, .size = size_code[p->size],
                     .addr = (uint32_t)(p->addr & 0xfffff), .data = (uint32_t)p->data};
    uint32_t rd, wr;

    _Static_assert(offsetof(buffered_iopage_t, read_pointer) == 0 &&
                   offsetof(buffered_iopage_t, write_pointer) == 4, "ring pointers");
    STAT_ADD(g, st_buffered);
    pthread_mutex_lock(&srv->buf_lock);
    for (;;) {
        rd = __atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE);
        wr = pg->write_pointer;
        if (wr - rd < IOREQ_BUFFER_SLOT_NUM - qw)
            break;
        pthread_mutex_unlock(&srv->buf_lock);
        if (atomic_load(&srv->dead)) {
            STAT_ADD(g, st_aborted);
            goto unpin;
        }
        sim_be_deliver(srv->be, g->nr_vcpus); /* full: make sure it drains */
        sched_yield();
        pthread_mutex_lock(&srv->buf_lock);
    }
    pg->buf_ioreq[wr % IOREQ_BUFFER_SLOT_NUM] = b;
    if (qw) {
        b.data = (uint32_t)(p->data >> 32);
        pg->buf_ioreq[(wr + 1) % IOREQ_BUFFER_SLOT_NUM] = b;
    }
    atomic_thread_fence(memory_order_release);
    __atomic_store_n(&pg->write_pointer, wr + qw + 1, __ATOMIC_RELEASE);
    /* Rebase both pointers together while the reader may move its own. */
    for (;;) {
        u64_alias *both = (u64_alias *)(void *)pg;
        uint64_t old = __atomic_load_n(both, __ATOMIC_ACQUIRE), nw;
        uint32_t r = (uint32_t)old, w = (uint32_t)(old >> 32);
        uint32_t k = r / IOREQ_BUFFER_SLOT_NUM * IOREQ_BUFFER_SLOT_NUM;

        if (r < IOREQ_BUFFER_SLOT_NUM)
            break;
        nw = (uint64_t)(r - k) | ((uint64_t)(w - k) << 32);
        if (__atomic_compare_exchange_n(both, &old, nw, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            break;
    }
    pthread_mutex_unlock(&srv->buf_lock);
    sim_be_deliver(srv->be, g->nr_vcpus);
unpin:
    atomic_fetch_sub(&srv->in_flight, 1);
}

static bool in_vga(uint64_t addr, unsigned size)
{
    return addr >= SIM_HV_VGA_START && addr + size - 1 <= SIM_HV_VGA_END;
}

/* One PIO or MMIO access nobody on the RAM path handles. */
static int route_io(struct sim_guest *g, unsigned vcpu, int type, uint64_t addr, unsigned size,
                    bool read, uint64_t *val)
{
    struct sim_srv *srv = select_srv(g, type, addr, addr + size - 1);
    ioreq_t p = {.addr = addr, .data = read ? 0 : (*val & size_mask(size)), .count = 1,
                 .size = size, .dir = read ? IOREQ_READ : IOREQ_WRITE,
                 .type = type == VGT_IO_PORT ? IOREQ_TYPE_PIO : IOREQ_TYPE_COPY};

    if (!srv) {
        STAT_ADD(g, st_unclaimed);
        if (read)
            *val = size_mask(size);
        return -ENODEV; /* callers turn this into all ones / dropped */
    }
    if (!read && type == VGT_IO_MMIO && srv->buf && in_vga(addr, size)) {
        send_buffered(g, srv, &p);
        return 0;
    }
    send_sync(g, vcpu, srv, &p);
    if (read)
        *val = p.data & size_mask(size);
    return 0;
}

static int vcpu_enter(struct sim_guest *g, unsigned vcpu)
{
    if (!g || vcpu >= g->nr_vcpus)
        return -EINVAL;
    if (atomic_exchange(&g->vcpus[vcpu].busy, true))
        return -EBUSY;
    return 0;
}

static void vcpu_exit(struct sim_guest *g, unsigned vcpu)
{
    atomic_store(&g->vcpus[vcpu].busy, false);
}

/* A store to RAM: forwarded in naturally aligned pieces when the page is
 * write-protected (never applied then), copied otherwise. */
static void ram_store(struct sim_guest *g, unsigned vcpu, uint64_t gpa, const uint8_t *b,
                      size_t len)
{
    while (len) {
        size_t off = gpa & (VGT_PAGE_SIZE - 1);
        size_t n = VGT_MIN(len, VGT_PAGE_SIZE - off);
        uint64_t gfn = gpa >> VGT_PAGE_SHIFT;

        if (!atomic_load(&g->wp[gfn])) {
            memcpy((uint8_t *)gfn_ptr(g, gfn) + off, b, n);
        } else {
            for (size_t done = 0; done < n;) {
                unsigned sz = 8;
                uint64_t a = gpa + done, v = 0;
                struct sim_srv *srv;

                while (sz > 1 && ((a & (sz - 1)) || n - done < sz))
                    sz /= 2;
                memcpy(&v, b + done, sz); /* little endian, as x86 */
                srv = select_wp_owner(g);
                if (srv) {
                    ioreq_t p = {.addr = a, .data = v, .count = 1, .size = sz,
                                 .dir = IOREQ_WRITE, .type = IOREQ_TYPE_COPY};

                    STAT_ADD(g, st_wp_fwd);
                    send_sync(g, vcpu, srv, &p);
                } else {
                    STAT_ADD(g, st_wp_drop);
                }
                done += sz;
            }
        }
        gpa += n;
        b += n;
        len -= n;
    }
}

int sim_guest_mmio_read(struct sim_guest *g, unsigned vcpu, uint64_t gpa, unsigned size,
                        uint64_t *val)
{
    int ret;

    if (!val || !size_ok(size) || (gpa & (VGT_PAGE_SIZE - 1)) + size > VGT_PAGE_SIZE)
        return -EINVAL;
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    if (sim_guest_gfn_is_ram(g, gpa >> VGT_PAGE_SHIFT)) {
        *val = 0;
        ram_copy(g, gpa, val, size, false);
    } else {
        route_io(g, vcpu, VGT_IO_MMIO, gpa, size, true, val);
    }
    vcpu_exit(g, vcpu);
    return 0;
}

int sim_guest_mmio_write(struct sim_guest *g, unsigned vcpu, uint64_t gpa, unsigned size,
                         uint64_t val)
{
    int ret;

    if (!size_ok(size) || (gpa & (VGT_PAGE_SIZE - 1)) + size > VGT_PAGE_SIZE)
        return -EINVAL;
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    if (sim_guest_gfn_is_ram(g, gpa >> VGT_PAGE_SHIFT))
        ram_store(g, vcpu, gpa, (const uint8_t *)&val, size);
    else
        route_io(g, vcpu, VGT_IO_MMIO, gpa, size, false, &val);
    vcpu_exit(g, vcpu);
    return 0;
}

static uint32_t host_bridge_read(unsigned reg, unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++)
        for (size_t f = 0; f < VGT_ARRAY_SIZE(i440fx_cfg); f++) {
            const struct cfg_field *c = &i440fx_cfg[f];

            if (reg + i >= c->off && reg + i < c->off + c->size)
                v |= ((c->val >> (8 * (reg + i - c->off))) & 0xff) << (8 * i);
        }
    return v;
}

/* Port I/O with Xen's config-space decoding: 0xCF8 dword writes are
 * latched (and still go to whoever claims the port); 0xCFC..0xCFF with
 * the enable bit become IOREQ_TYPE_PCI_CONFIG for the server that claims
 * the SBDF (addr = SBDF << 32 | register), and fall back to plain port I/O
 * when none does. */
static int pio(struct sim_guest *g, unsigned vcpu, uint16_t port, unsigned size, bool read,
               uint32_t *val)
{
    uint64_t v = read ? 0 : *val;
    uint32_t cf8 = __atomic_load_n(&g->cf8, __ATOMIC_RELAXED);

    if (port == PCI_CF8 && size == 4 && !read)
        __atomic_store_n(&g->cf8, *val, __ATOMIC_RELAXED);
    if (port >= PCI_CFC && port <= PCI_CFC + 3 && (cf8 & CF8_ENABLE) &&
        (port & 3) + size <= 4) {
        uint32_t sbdf = (cf8 >> 8) & 0xffff; /* bus, device, function */
        unsigned reg = (cf8 & 0xfc) | (port & 3);
        struct sim_srv *srv = select_srv(g, VGT_IO_PCI, sbdf, sbdf);

        if (srv) {
            ioreq_t p = {.addr = ((uint64_t)sbdf << 32) | reg, .data = v, .count = 1,
                         .size = size, .dir = read ? IOREQ_READ : IOREQ_WRITE,
                         .type = IOREQ_TYPE_PCI_CONFIG};

            send_sync(g, vcpu, srv, &p);
            if (read)
                *val = (uint32_t)(p.data & size_mask(size));
            return 0;
        }
        if (route_io(g, vcpu, VGT_IO_PORT, port, size, read, &v) == 0) {
            if (read)
                *val = (uint32_t)v;
            return 0;
        }
        if (read)
            *val = sbdf == 0 ? host_bridge_read(reg, size) : (uint32_t)size_mask(size);
        return 0;
    }
    if (route_io(g, vcpu, VGT_IO_PORT, port, size, read, &v) < 0 && read && port == PCI_CF8 &&
        size == 4)
        v = cf8; /* the default device model's 0xCF8 reads back */
    if (read)
        *val = (uint32_t)v;
    return 0;
}

int sim_guest_pio_read(struct sim_guest *g, unsigned vcpu, uint16_t port, unsigned size,
                       uint32_t *val)
{
    int ret;

    if (!val || (size != 1 && size != 2 && size != 4) || (uint32_t)port + size > 0x10000)
        return -EINVAL;
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    pio(g, vcpu, port, size, true, val);
    vcpu_exit(g, vcpu);
    return 0;
}

int sim_guest_pio_write(struct sim_guest *g, unsigned vcpu, uint16_t port, unsigned size,
                        uint32_t val)
{
    int ret;

    if ((size != 1 && size != 2 && size != 4) || (uint32_t)port + size > 0x10000)
        return -EINVAL;
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    pio(g, vcpu, port, size, false, &val);
    vcpu_exit(g, vcpu);
    return 0;
}

static int pci_access(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev, uint8_t fn,
                      unsigned reg, unsigned size, bool read, uint32_t *val)
{
    uint32_t addr;
    int ret;

    if ((size != 1 && size != 2 && size != 4) || dev > 31 || fn > 7 ||
        reg + size > PCI_CFG_SIZE || (reg & 3) + size > 4)
        return -EINVAL;
    addr = CF8_ENABLE | ((uint32_t)bus << 16) | ((uint32_t)dev << 11) | ((uint32_t)fn << 8) |
           (reg & 0xfc);
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&g->pci_lock);
    pio(g, vcpu, PCI_CF8, 4, false, &addr);
    pio(g, vcpu, (uint16_t)(PCI_CFC + (reg & 3)), size, read, val);
    pthread_mutex_unlock(&g->pci_lock);
    vcpu_exit(g, vcpu);
    return 0;
}

int sim_guest_pci_read(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev,
                       uint8_t fn, unsigned reg, unsigned size, uint32_t *val)
{
    if (!val)
        return -EINVAL;
    return pci_access(g, vcpu, bus, dev, fn, reg, size, true, val);
}

int sim_guest_pci_write(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev,
                        uint8_t fn, unsigned reg, unsigned size, uint32_t val)
{
    return pci_access(g, vcpu, bus, dev, fn, reg, size, false, &val);
}

/* rep movs from RAM to RAM [lo, lo + span). Xen (hvmemul_rep_movs):
 * a p2m_ioreq_server destination goes to the server owning that type as
 * ONE COPY write with data_is_ptr (the source pointer), nothing applied;
 * plain RAM is copied item by item as the CPU stores (overlap included). */
static void rep_movs_ram(struct sim_guest *g, unsigned vcpu, const struct sim_rep_io *r,
                         uint64_t lo, uint64_t span)
{
    bool wp = false;
    struct sim_srv *srv;

    for (uint64_t f = lo >> VGT_PAGE_SHIFT; f <= (lo + span - 1) >> VGT_PAGE_SHIFT; f++)
        wp |= atomic_load(&g->wp[f]);
    if (!wp) {
        for (uint32_t i = 0; i < r->count; i++) {
            uint64_t off = (uint64_t)i * r->size, v = 0;
            uint64_t d = r->df ? r->addr - off : r->addr + off;
            uint64_t src = r->df ? r->buf_gpa - off : r->buf_gpa + off;

            ram_copy(g, src, &v, r->size, false);
            ram_copy(g, d, &v, r->size, true);
        }
        return;
    }
    srv = select_wp_owner(g);
    if (!srv) {
        STAT_ADD(g, st_wp_drop);
        return;
    }
    ioreq_t p = {.addr = r->addr, .data = r->buf_gpa, .count = r->count, .size = r->size,
                 .dir = IOREQ_WRITE, .df = r->df, .data_is_ptr = 1, .type = IOREQ_TYPE_COPY};

    STAT_ADD(g, st_wp_fwd);
    send_sync(g, vcpu, srv, &p);
}

int sim_guest_rep_io(struct sim_guest *g, unsigned vcpu, const struct sim_rep_io *r)
{
    uint64_t span, lo, hi, blo;
    bool dst_ram = false;
    struct sim_srv *srv;
    int ret;

    if (!r || !size_ok(r->size) || r->count == 0 || (!r->mmio && r->size == 8))
        return -EINVAL;
    span = (uint64_t)r->count * r->size;
    /* Guest RAM side: [buf - (count-1)*size, buf + size) with df. */
    if (r->df && r->buf_gpa < span - r->size)
        return -EINVAL;
    blo = r->df ? r->buf_gpa - (span - r->size) : r->buf_gpa;
    if (!span_is_ram(g, blo, span))
        return -EFAULT;
    if (r->mmio) {
        if (r->df && r->addr < span - r->size)
            return -EINVAL;
        lo = r->df ? r->addr - (span - r->size) : r->addr;
        hi = lo + span - 1;
        if (hi < lo)
            return -EINVAL;
        /* rep movs RAM -> RAM: only a store, and only all RAM. */
        dst_ram = span_is_ram(g, lo, 1);
        if (dst_ram && (r->read || !span_is_ram(g, lo, span)))
            return -EINVAL;
    } else {
        if (r->addr + r->size > 0x10000)
            return -EINVAL;
        lo = r->addr;
        hi = r->addr + r->size - 1;
    }
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    if (dst_ram) {
        rep_movs_ram(g, vcpu, r, lo, span);
        vcpu_exit(g, vcpu);
        return 0;
    }
    srv = select_srv(g, r->mmio ? VGT_IO_MMIO : VGT_IO_PORT, lo, hi);
    if (!srv) {
        STAT_ADD(g, st_unclaimed);
        if (r->read) {
            uint8_t ones[256];

            memset(ones, 0xff, sizeof(ones));
            for (uint64_t done = 0; done < span; done += VGT_MIN(span - done, sizeof(ones)))
                ram_store(g, vcpu, blo + done, ones, VGT_MIN(span - done, sizeof(ones)));
        }
    } else {
        ioreq_t p = {.addr = r->addr, .data = r->buf_gpa, .count = r->count, .size = r->size,
                     .dir = r->read ? IOREQ_READ : IOREQ_WRITE, .df = r->df, .data_is_ptr = 1,
                     .type = r->mmio ? IOREQ_TYPE_COPY : IOREQ_TYPE_PIO};

        send_sync(g, vcpu, srv, &p);
    }
    vcpu_exit(g, vcpu);
    return 0;
}

/* The guest's own CPU access to its RAM: a read copies, a write is a
 * store (write-protected pages forward to their server). */
static int ram_access(struct sim_guest *g, unsigned vcpu, uint64_t gpa, void *rbuf,
                      const void *wbuf, size_t len)
{
    int ret;

    if (!rbuf && !wbuf && len)
        return -EINVAL;
    if (len == 0)
        return 0;
    if (!span_is_ram(g, gpa, len))
        return -EFAULT;
    ret = vcpu_enter(g, vcpu);
    if (ret < 0)
        return ret;
    if (wbuf)
        ram_store(g, vcpu, gpa, wbuf, len);
    else
        ram_copy(g, gpa, rbuf, len, false);
    vcpu_exit(g, vcpu);
    return 0;
}

int sim_guest_ram_read(struct sim_guest *g, unsigned vcpu, uint64_t gpa, void *buf, size_t len)
{
    return ram_access(g, vcpu, gpa, buf, NULL, len);
}

int sim_guest_ram_write(struct sim_guest *g, unsigned vcpu, uint64_t gpa, const void *buf,
                        size_t len)
{
    return ram_access(g, vcpu, gpa, NULL, buf, len);
}

/* Xen's send_invalidate_req: a broadcast on the vCPU that changed the p2m,
 * to every enabled server. */
int sim_guest_invalidate(struct sim_guest *g, unsigned vcpu)
{
    struct sim_srv *list[VGT_IOREQ_MAX_SERVERS];
    unsigned n = 0;
    int ret = vcpu_enter(g, vcpu);

    if (ret < 0)
        return ret;
    pthread_rwlock_rdlock(&g->route);
    for (int id = VGT_IOREQ_MAX_SERVERS - 1; id >= 0; id--)
        if (g->srv[id] && g->srv[id]->enabled) {
            atomic_fetch_add(&g->srv[id]->in_flight, 1);
            list[n++] = g->srv[id];
        }
    pthread_rwlock_unlock(&g->route);
    for (unsigned i = 0; i < n; i++) {
        ioreq_t p = {.addr = 0, .data = ~0ull, .count = 0, .size = 4, .dir = IOREQ_WRITE,
                     .type = IOREQ_TYPE_INVALIDATE};

        send_sync(g, vcpu, list[i], &p);
    }
    vcpu_exit(g, vcpu);
    return 0;
}

static bool gfn_in_ram_layout(const struct sim_guest *g, uint64_t gfn)
{
    return gfn < g->max_gfn && !(gfn >= VGA_GFN_FIRST && gfn <= VGA_GFN_LAST) &&
           !(gfn >= LOW_RAM_END_GFN && gfn < HIGH_RAM_GFN);
}

int sim_guest_balloon_out(struct sim_guest *g, unsigned vcpu, uint64_t gfn, uint64_t nr)
{
    if (!g || vcpu >= g->nr_vcpus || nr == 0 || gfn >= g->max_gfn || nr > g->max_gfn - gfn)
        return -EINVAL;
    pthread_mutex_lock(&g->balloon_lock);
    for (uint64_t f = gfn; f < gfn + nr; f++)
        if (!sim_guest_gfn_is_ram(g, f)) {
            pthread_mutex_unlock(&g->balloon_lock);
            return -EINVAL;
        }
    if (g->nr_ballooned + nr > g->cap_ballooned) {
        size_t cap = VGT_MAX(g->cap_ballooned * 2, g->nr_ballooned + nr);
        uint64_t *b = realloc(g->ballooned, cap * sizeof(*b));

        if (!b) {
            pthread_mutex_unlock(&g->balloon_lock);
            return -ENOMEM;
        }
        g->ballooned = b;
        g->cap_ballooned = cap;
    }
    for (uint64_t f = gfn; f < gfn + nr; f++) {
        uint64_t hpa = g->p2m[f];

        __atomic_store_n(&g->p2m[f], INVALID_HPA, __ATOMIC_RELEASE);
        atomic_store(&g->wp[f], 0);
        memset(sim_arena_ptr(g->hv->arena, hpa, VGT_PAGE_SIZE), SIM_HV_BALLOON_POISON,
               VGT_PAGE_SIZE);
        g->ballooned[g->nr_ballooned++] = hpa;
    }
    pthread_mutex_unlock(&g->balloon_lock);
    return sim_guest_invalidate(g, vcpu);
}

int sim_guest_balloon_in(struct sim_guest *g, unsigned vcpu, uint64_t gfn, uint64_t nr)
{
    uint64_t done = 0;
    int ret = 0;

    if (!g || vcpu >= g->nr_vcpus || nr == 0 || gfn >= g->max_gfn || nr > g->max_gfn - gfn)
        return -EINVAL;
    pthread_mutex_lock(&g->balloon_lock);
    for (uint64_t f = gfn; f < gfn + nr; f++)
        if (!gfn_in_ram_layout(g, f) || g->p2m[f] != INVALID_HPA) {
            pthread_mutex_unlock(&g->balloon_lock);
            return -EINVAL;
        }
    for (; done < nr; done++) {
        uint64_t hpa;

        ret = sim_arena_alloc(g->hv->arena, 1, 1, &hpa);
        if (ret < 0)
            break;
        memset(sim_arena_ptr(g->hv->arena, hpa, VGT_PAGE_SIZE), 0, VGT_PAGE_SIZE);
        __atomic_store_n(&g->p2m[gfn + done], hpa, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g->balloon_lock);
    /* What was populated is the guest's now either way: tell the servers. */
    if (done) {
        int r = sim_guest_invalidate(g, vcpu);

        if (ret == 0)
            ret = r;
    }
    return ret;
}

bool sim_guest_ballooned_intact(struct sim_guest *g, uint64_t hpa)
{
    bool found = false, intact = true;

    pthread_mutex_lock(&g->balloon_lock);
    for (size_t i = 0; i < g->nr_ballooned && !found; i++)
        found = g->ballooned[i] == (hpa & ~(VGT_PAGE_SIZE - 1));
    if (found) {
        const uint8_t *p = sim_arena_ptr(g->hv->arena, hpa & ~(VGT_PAGE_SIZE - 1), VGT_PAGE_SIZE);

        for (size_t i = 0; i < VGT_PAGE_SIZE; i++)
            intact &= p[i] == SIM_HV_BALLOON_POISON;
    }
    pthread_mutex_unlock(&g->balloon_lock);
    return found && intact;
}

int sim_guest_set_timeoffset(struct sim_guest *g, int64_t seconds)
{
    struct sim_srv *list[VGT_IOREQ_MAX_SERVERS];
    unsigned n = 0;

    if (!g)
        return -EINVAL;
    pthread_rwlock_rdlock(&g->route);
    for (int id = VGT_IOREQ_MAX_SERVERS - 1; id >= 0; id--)
        if (g->srv[id] && g->srv[id]->enabled && g->srv[id]->buf) {
            atomic_fetch_add(&g->srv[id]->in_flight, 1);
            list[n++] = g->srv[id];
        }
    pthread_rwlock_unlock(&g->route);
    for (unsigned i = 0; i < n; i++) {
        ioreq_t p = {.data = (uint64_t)seconds, .count = 1, .size = 8, .dir = IOREQ_WRITE,
                     .type = IOREQ_TYPE_TIMEOFFSET};

        send_buffered(g, list[i], &p);
    }
    return 0;
}

/* ---- interrupts ---- */

int sim_guest_set_msi_handler(struct sim_guest *g, sim_msi_fn fn, void *opaque)
{
    if (!g)
        return -EINVAL;
    pthread_mutex_lock(&g->msi_lock);
    g->msi_fn = fn;
    g->msi_opaque = opaque;
    pthread_mutex_unlock(&g->msi_lock);
    return 0;
}

int sim_guest_wait_msi(struct sim_guest *g, int timeout_ms, struct sim_msi *msi)
{
    struct timespec dl;
    int ret = 0;

    if (!g || !msi)
        return -EINVAL;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (dl.tv_nsec >= 1000000000) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&g->msi_lock);
    while (g->msi_count == 0 && ret == 0) {
        if (timeout_ms == 0)
            ret = ETIMEDOUT;
        else if (timeout_ms < 0)
            ret = pthread_cond_wait(&g->msi_cond, &g->msi_lock);
        else
            ret = pthread_cond_timedwait(&g->msi_cond, &g->msi_lock, &dl);
    }
    if (g->msi_count) {
        *msi = g->msi_q[g->msi_head];
        g->msi_head = (g->msi_head + 1) % SIM_HV_MSI_QUEUE;
        g->msi_count--;
        ret = 0;
    }
    pthread_mutex_unlock(&g->msi_lock);
    return -ret;
}

/* ---- vCPU threads ---- */

struct vcpu_arg {
    struct sim_guest *g;
    unsigned vcpu;
    sim_vcpu_fn fn;
    void *opaque;
    int ret;
};

struct sim_vcpus {
    unsigned n;
    pthread_t *threads;
    struct vcpu_arg *args;
};

static void *vcpu_thread(void *p)
{
    struct vcpu_arg *a = p;

    a->ret = a->fn(a->g, a->vcpu, a->opaque);
    return NULL;
}

int sim_guest_start_vcpus(struct sim_guest *g, unsigned n, sim_vcpu_fn fn, void *opaque,
                          struct sim_vcpus **out)
{
    struct sim_vcpus *v;
    int ret;

    if (!g || !fn || !out || n == 0 || n > g->nr_vcpus)
        return -EINVAL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->threads = calloc(n, sizeof(*v->threads));
    v->args = calloc(n, sizeof(*v->args));
    if (!v->threads || !v->args) {
        ret = -ENOMEM;
        goto free_v;
    }
    for (unsigned i = 0; i < n; i++) {
        v->args[i] = (struct vcpu_arg){.g = g, .vcpu = i, .fn = fn, .opaque = opaque};
        ret = pthread_create(&v->threads[i], NULL, vcpu_thread, &v->args[i]);
        if (ret) {
            ret = -ret;
            while (i--)
                pthread_join(v->threads[i], NULL);
            goto free_v;
        }
        v->n = i + 1;
    }
    *out = v;
    return 0;

free_v:
    free(v->threads);
    free(v->args);
    free(v);
    return ret;
}

int sim_guest_join_vcpus(struct sim_vcpus *v)
{
    int ret = 0;

    if (!v)
        return -EINVAL;
    for (unsigned i = 0; i < v->n; i++) {
        pthread_join(v->threads[i], NULL);
        if (ret == 0 && v->args[i].ret)
            ret = v->args[i].ret;
    }
    free(v->threads);
    free(v->args);
    free(v);
    return ret;
}

int sim_guest_run_vcpus(struct sim_guest *g, unsigned n, sim_vcpu_fn fn, void *opaque)
{
    struct sim_vcpus *v;
    int ret = sim_guest_start_vcpus(g, n, fn, opaque, &v);

    return ret < 0 ? ret : sim_guest_join_vcpus(v);
}

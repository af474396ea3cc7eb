/* Bounded guest-frame map cache (see vgt/mapcache.h): a hash on gfn, an
 * LRU list of the unpinned entries, one lock. */
#include "vgt/mapcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "vgt/log.h"
#include "vgt/util.h"

struct vgt_mapcache_ent {
    uint64_t gfn;
    void *page;
    uint64_t dma;
    bool have_dma;
    bool held;   /* a translation was handed out (gfn_to_dma) */
    bool hashed; /* findable; false once invalidated */
    unsigned refs; /* copies in progress */
    struct vgt_mapcache_ent *hnext;
    struct vgt_mapcache_ent *lru_prev, *lru_next; /* unpinned only */
};

struct vgt_mapcache {
    struct vgt_mapcache_mapper m;
    struct vgt_mapcache_dma dma;
    bool have_dma;
    const struct vgt_log *log;
    pthread_mutex_t lock;
    struct vgt_mapcache_ent **hash;
    unsigned nbuckets; /* a power of two */
    struct vgt_mapcache_ent lru; /* head: next = most recent */
    struct vgt_mapcache_ent *stale; /* invalidated, still pinned (hnext chain) */
    struct vgt_mapcache_stats st;
};

static bool pinned(const struct vgt_mapcache_ent *e)
{
    return e->held || e->refs;
}

static unsigned bucket(const struct vgt_mapcache *c, uint64_t gfn)
{
    return (unsigned)((gfn * 0x9e3779b97f4a7c15ull) >> 40) & (c->nbuckets - 1);
}

static void lru_del(struct vgt_mapcache_ent *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct vgt_mapcache *c, struct vgt_mapcache_ent *e)
{
    e->lru_next = c->lru.lru_next;
    e->lru_prev = &c->lru;
    c->lru.lru_next->lru_prev = e;
    c->lru.lru_next = e;
}

static void hash_del(struct vgt_mapcache *c, struct vgt_mapcache_ent *e)
{
    struct vgt_mapcache_ent **p = &c->hash[bucket(c, e->gfn)];

    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    e->hnext = NULL;
    e->hashed = false;
}

/* Unmap and free an entry nobody uses any more (lock held). */
static void ent_free(struct vgt_mapcache *c, struct vgt_mapcache_ent *e)
{
    if (e->have_dma)
        c->dma.put(c->dma.opaque, e->page, e->dma);
    c->m.unmap(c->m.opaque, e->page);
    c->st.mapped--;
    free(e);
}

int vgt_mapcache_create(const struct vgt_mapcache_mapper *m, const struct vgt_mapcache_dma *dma,
                        unsigned capacity, const struct vgt_log *log, struct vgt_mapcache **out)
{
    struct vgt_mapcache *c;

    if (!m || !m->map || !m->unmap || (dma && (!dma->get || !dma->put)) || !out)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->st.capacity = capacity ? capacity : VGT_MAPCACHE_DEFAULT_FRAMES;
    for (c->nbuckets = 64; c->nbuckets < c->st.capacity && c->nbuckets < (1u << 20);)
        c->nbuckets <<= 1;
    c->hash = calloc(c->nbuckets, sizeof(*c->hash));
    if (!c->hash) {
        free(c);
        return -ENOMEM;
    }
    c->m = *m;
    if (dma) {
        c->dma = *dma;
        c->have_dma = true;
    }
    c->log = log;
    c->lru.lru_next = c->lru.lru_prev = &c->lru;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void vgt_mapcache_destroy(struct vgt_mapcache *c)
{
    struct vgt_mapcache_ent *e, *n;

    if (!c)
        return;
    for (unsigned b = 0; b < c->nbuckets; b++)
        for (e = c->hash[b]; e; e = n) {
            n = e->hnext;
            ent_free(c, e);
        }
    for (e = c->stale; e; e = n) {
        n = e->hnext;
        ent_free(c, e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c->hash);
    free(c);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The entry of @gfn, mapped now if need be (lock held). Not yet pinned:
 * the caller pins it before dropping the lock. */
static int lookup_locked(struct vgt_mapcache *c, uint64_t gfn, struct vgt_mapcache_ent **out)
{
    struct vgt_mapcache_ent *e;
    unsigned b = bucket(c, gfn);
    uint64_t t0;
    int err = 0;

    for (e = c->hash[b]; e; e = e->hnext)
        if (e->gfn == gfn) {
            c->st.hits++;
            if (!pinned(e)) { /* most recent first */
                lru_del(e);
                lru_push(c, e);
            }
            *out = e;
            return 0;
        }
    if (c->st.mapped >= c->st.capacity) {
        struct vgt_mapcache_ent *old = c->lru.lru_prev;

        if (old == &c->lru) {
            c->st.full++;
            return -ENOSPC;
        }
        lru_del(old);
        hash_del(c, old);
        ent_free(c, old);
        c->st.evictions++;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    t0 = mono_ns();
    e->page = c->m.map(c->m.opaque, gfn, &err);
    c->st.map_ns += mono_ns() - t0;
    if (!e->page) {
        free(e);
        return err ? err : -EFAULT;
    }
    c->st.misses++;
    c->st.mapped++;
    e->gfn = gfn;
    e->hashed = true;
    e->hnext = c->hash[b];
    c->hash[b] = e;
    lru_push(c, e);
    *out = e;
    return 0;
}

static void pin_locked(struct vgt_mapcache *c, struct vgt_mapcache_ent *e, bool hold)
{
    if (!pinned(e)) {
        lru_del(e);
        c->st.pinned++;
    }
    if (hold)
        e->held = true;
    else
        e->refs++;
}

int vgt_mapcache_get(struct vgt_mapcache *c, uint64_t gfn, void **page,
                     struct vgt_mapcache_ent **ent)
{
    struct vgt_mapcache_ent *e;
    int ret;

    pthread_mutex_lock(&c->lock);
    ret = lookup_locked(c, gfn, &e);
    if (!ret) {
        pin_locked(c, e, false);
        *page = e->page;
        *ent = e;
    }
    pthread_mutex_unlock(&c->lock);
    return ret;
}

/* Unlink a stale entry from the stale chain (lock held). */
static void stale_del(struct vgt_mapcache *c, struct vgt_mapcache_ent *e)
{
    struct vgt_mapcache_ent **p = &c->stale;

    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
}

void vgt_mapcache_put(struct vgt_mapcache *c, struct vgt_mapcache_ent *e)
{
    pthread_mutex_lock(&c->lock);
    if (--e->refs == 0 && !e->held) {
        c->st.pinned--;
        if (e->hashed) {
            lru_push(c, e);
        } else {
            stale_del(c, e);
            ent_free(c, e);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

int vgt_mapcache_dma(struct vgt_mapcache *c, uint64_t gfn, uint64_t *dma)
{
    struct vgt_mapcache_ent *e;
    int ret;

    if (!c->have_dma)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&c->lock);
    ret = lookup_locked(c, gfn, &e);
    if (ret)
        goto unlock;
    if (!e->have_dma) {
        ret = c->dma.get(c->dma.opaque, e->page, &e->dma);
        if (ret)
            goto unlock; /* stays an unpinned, evictable entry */
        e->have_dma = true;
    }
    pin_locked(c, e, true);
    *dma = e->dma;
unlock:
    pthread_mutex_unlock(&c->lock);
    return ret;
}

void vgt_mapcache_invalidate(struct vgt_mapcache *c)
{
    pthread_mutex_lock(&c->lock);
    c->st.invalidations++;
    for (unsigned b = 0; b < c->nbuckets; b++) {
        struct vgt_mapcache_ent *e = c->hash[b], *n;

        c->hash[b] = NULL;
        for (; e; e = n) {
            n = e->hnext;
            e->hashed = false;
            if (pinned(e)) {
                /* A copy in progress: freed by its last put. A held
                 * translation: the GPU may reach it until the shadows'
                 * revalidation rewrites their entries, and nothing says
                 * when it stopped, so it stays mapped until destroy,
                 * counted against the bound. */
                e->hnext = c->stale;
                c->stale = e;
            } else {
                lru_del(e);
                ent_free(c, e);
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    vgt_debug(c->log, "map cache: invalidated, %u pages still mapped (pinned)", c->st.mapped);
}

void vgt_mapcache_get_stats(struct vgt_mapcache *c, struct vgt_mapcache_stats *st)
{
    pthread_mutex_lock(&c->lock);
    *st = c->st;
    pthread_mutex_unlock(&c->lock);
}

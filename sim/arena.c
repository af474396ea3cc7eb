#include "vgt/sim_arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vgt/util.h"

struct sim_arena {
    uint8_t *base;
    uint64_t nr_frames;
    uint64_t free_frames;
    uint64_t *used; /* bitmap, one bit per frame */
    uint64_t hint;  /* where the last search ended */
    pthread_mutex_t lock;
    /* Imported pages (sim_arena_import): slot i is host-physical
     * SIM_ARENA_EXT_BASE + i * 4 KiB; read without the lock (atomic). */
    void **ext;
    uint64_t ext_nr, ext_hint;
};

static bool frame_used(const struct sim_arena *a, uint64_t f)
{
    return a->used[f / 64] & (1ull << (f % 64));
}

static void mark(struct sim_arena *a, uint64_t f, uint64_t nr, bool used)
{
    for (uint64_t i = f; i < f + nr; i++) {
        if (used)
            a->used[i / 64] |= 1ull << (i % 64);
        else
            a->used[i / 64] &= ~(1ull << (i % 64));
    }
}

int sim_arena_create(uint64_t bytes, struct sim_arena **out)
{
    const uint64_t two_mb = 2ull << 20;
    struct sim_arena *a;

    if (bytes == 0 || bytes > (64ull << 30))
        return -EINVAL;
    bytes = (bytes + two_mb - 1) & ~(two_mb - 1);
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->nr_frames = bytes >> VGT_PAGE_SHIFT;
    a->free_frames = a->nr_frames;
    a->used = calloc((a->nr_frames + 63) / 64, sizeof(uint64_t));
    if (!a->used)
        goto free_arena;
    a->base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a->base == MAP_FAILED)
        goto free_bitmap;
    /* As many import slots as RAM frames: a GPU reaching more guest
     * frames than the machine has RAM is not a platform we model. */
    a->ext_nr = a->nr_frames;
    a->ext = calloc(a->ext_nr, sizeof(*a->ext));
    if (!a->ext)
        goto unmap_base;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return 0;

unmap_base:
    munmap(a->base, bytes);
free_bitmap:
    free(a->used);
free_arena:
    free(a);
    return -ENOMEM;
}

void sim_arena_destroy(struct sim_arena *a)
{
    if (!a)
        return;
    munmap(a->base, a->nr_frames << VGT_PAGE_SHIFT);
    free(a->ext);
    pthread_mutex_destroy(&a->lock);
    free(a->used);
    free(a);
}

/* First fit from the hint, wrapping once. */
static int find_run(struct sim_arena *a, uint64_t nr, uint64_t align, uint64_t *first)
{
    for (int pass = 0; pass < 2; pass++) {
        uint64_t f = pass == 0 ? a->hint : 0;
        uint64_t stop = pass == 0 ? a->nr_frames : a->hint + nr;

        if (stop > a->nr_frames)
            stop = a->nr_frames;
        f = (f + align - 1) / align * align;
        while (f + nr <= stop) {
            uint64_t i;

            for (i = 0; i < nr && !frame_used(a, f + i); i++)
                ;
            if (i == nr) {
                *first = f;
                return 0;
            }
            f = (f + i + 1 + align - 1) / align * align;
        }
    }
    return -ENOMEM;
}

/* Below this many frames a memset is cheaper than the madvise call and
 * the page faults that follow it. */
#define ZERO_BY_MADVISE_MIN 16

/* Frames [first, first+nr) read as zero. A large run is dropped with
 * MADV_DONTNEED instead of written: the kernel refills a private
 * anonymous page with zeroes at its next touch (madvise(2)), so a
 * simulated guest's RAM costs only the pages it uses, not a memset (and a
 * page fault) for every frame. Whatever was in the frames is gone either
 * way, a stale write by anyone included. */
static void zero_frames(struct sim_arena *a, uint64_t first, uint64_t nr)
{
    uint8_t *p = a->base + (first << VGT_PAGE_SHIFT);
    size_t len = nr << VGT_PAGE_SHIFT;

    if (nr < ZERO_BY_MADVISE_MIN || madvise(p, len, MADV_DONTNEED))
        memset(p, 0, len);
}

int sim_arena_alloc(struct sim_arena *a, uint64_t nr, uint64_t align_frames, uint64_t *hpa)
{
    uint64_t first;
    int ret;

    if (nr == 0 || align_frames == 0)
        return -EINVAL;
    pthread_mutex_lock(&a->lock);
    if (nr > a->free_frames) {
        ret = -ENOMEM;
        goto unlock;
    }
    ret = find_run(a, nr, align_frames, &first);
    if (ret)
        goto unlock;
    mark(a, first, nr, true);
    a->free_frames -= nr;
    a->hint = first + nr;
    if (a->hint >= a->nr_frames)
        a->hint = 0;
    zero_frames(a, first, nr);
    *hpa = SIM_ARENA_HPA_BASE + (first << VGT_PAGE_SHIFT);
unlock:
    pthread_mutex_unlock(&a->lock);
    return ret;
}

int sim_arena_free(struct sim_arena *a, uint64_t hpa, uint64_t nr)
{
    uint64_t first;
    int ret = 0;

    if (hpa < SIM_ARENA_HPA_BASE || (hpa & (VGT_PAGE_SIZE - 1)))
        return -EINVAL;
    first = (hpa - SIM_ARENA_HPA_BASE) >> VGT_PAGE_SHIFT;
    if (first >= a->nr_frames || nr > a->nr_frames - first)
        return -EINVAL;
    pthread_mutex_lock(&a->lock);
    for (uint64_t i = first; i < first + nr; i++) {
        if (!frame_used(a, i)) {
            ret = -EINVAL; /* double free: refuse the whole call */
            goto unlock;
        }
    }
    mark(a, first, nr, false);
    a->free_frames += nr;
unlock:
    pthread_mutex_unlock(&a->lock);
    return ret;
}

/* The imported page behind [hpa, hpa+len), or NULL (one page at most:
 * imported pages are not contiguous). */
static void *ext_page(const struct sim_arena *a, uint64_t hpa, size_t len)
{
    uint64_t slot;

    if (hpa < SIM_ARENA_EXT_BASE || len == 0 || len > VGT_PAGE_SIZE ||
        (hpa & (VGT_PAGE_SIZE - 1)) + len > VGT_PAGE_SIZE)
        return NULL;
    slot = (hpa - SIM_ARENA_EXT_BASE) >> VGT_PAGE_SHIFT;
    return slot < a->ext_nr ? __atomic_load_n(&a->ext[slot], __ATOMIC_ACQUIRE) : NULL;
}

bool sim_arena_contains(const struct sim_arena *a, uint64_t hpa, size_t len)
{
    return vgt_range_within(hpa, len, SIM_ARENA_HPA_BASE, a->nr_frames << VGT_PAGE_SHIFT) ||
           ext_page(a, hpa, len) != NULL;
}

void *sim_arena_ptr(struct sim_arena *a, uint64_t hpa, size_t len)
{
    uint8_t *p;

    if (vgt_range_within(hpa, len, SIM_ARENA_HPA_BASE, a->nr_frames << VGT_PAGE_SHIFT))
        return a->base + (hpa - SIM_ARENA_HPA_BASE);
    p = ext_page(a, hpa, len);
    return p ? p + (hpa & (VGT_PAGE_SIZE - 1)) : NULL;
}

int sim_arena_import(struct sim_arena *a, void *page, uint64_t *hpa)
{
    int ret = -ENOSPC;

    if (!page || ((uintptr_t)page & (VGT_PAGE_SIZE - 1)))
        return -EINVAL;
    pthread_mutex_lock(&a->lock);
    for (uint64_t n = 0; n < a->ext_nr; n++) {
        uint64_t slot = (a->ext_hint + n) % a->ext_nr;

        if (!a->ext[slot]) {
            __atomic_store_n(&a->ext[slot], page, __ATOMIC_RELEASE);
            a->ext_hint = slot + 1;
            *hpa = SIM_ARENA_EXT_BASE + (slot << VGT_PAGE_SHIFT);
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return ret;
}

int sim_arena_unimport(struct sim_arena *a, uint64_t hpa)
{
    uint64_t slot = (hpa - SIM_ARENA_EXT_BASE) >> VGT_PAGE_SHIFT;
    int ret = 0;

    if (hpa < SIM_ARENA_EXT_BASE || (hpa & (VGT_PAGE_SIZE - 1)) || slot >= a->ext_nr)
        return -EINVAL;
    pthread_mutex_lock(&a->lock);
    if (!a->ext[slot])
        ret = -EINVAL; /* not imported: refuse, as a double free */
    else
        __atomic_store_n(&a->ext[slot], NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&a->lock);
    return ret;
}

uint64_t sim_arena_frames_free(struct sim_arena *a)
{
    uint64_t n;

    pthread_mutex_lock(&a->lock);
    n = a->free_frames;
    pthread_mutex_unlock(&a->lock);
    return n;
}

uint64_t sim_arena_size(const struct sim_arena *a)
{
    return a->nr_frames << VGT_PAGE_SHIFT;
}

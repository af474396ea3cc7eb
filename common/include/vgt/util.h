/* Small helpers shared by every component. */
#ifndef VGT_UTIL_H
#define VGT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VGT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VGT_PAGE_SHIFT 12
#define VGT_PAGE_SIZE (1ull << VGT_PAGE_SHIFT)
#define VGT_PAGE_MASK (~(VGT_PAGE_SIZE - 1))
#define VGT_BIT(n) (1ull << (n))
/* Bits hi..lo inclusive, as in the PRMs. */
#define VGT_GENMASK(hi, lo) ((~0ull >> (63 - (hi))) & (~0ull << (lo)))

#define VGT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VGT_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline uint64_t vgt_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time the calling thread has run, ns: unlike vgt_now_ns, time the
 * host leaves the thread descheduled is not in it. */
static inline uint64_t vgt_thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* [start, start+len) fits inside [lo, lo+size) without wrapping. */
static inline int vgt_range_within(uint64_t start, uint64_t len, uint64_t lo, uint64_t size)
{
    if (len == 0 || start < lo)
        return 0;
    if (start - lo > size)
        return 0;
    return len <= size - (start - lo);
}

/* Parse an unsigned number in C notation (0x.., decimal); whole string. */
int vgt_parse_u64(const char *s, uint64_t *out);

#endif

/* A guest program of make check-xen (static, x86-64 and aarch64): checks
 * the ioreq test device (ioreq-server/testdev.c) through /dev/mem and
 * times ioreq round trips, one load instruction per access (a volatile
 * 64-bit read: one mov on x86-64, one ldr on aarch64), each of which traps
 * to Xen and is served by vgtd.
 *
 *   xen-trap BASE [N]     N reads (default 2000), or as many as fit in 30 s
 *
 * Prints "GUEST td-id ...", "GUEST td-scratch ..." and "GUEST td-trap ok
 * N reads, X ns/trap ..." (or "GUEST td-trap fail ..."), the lines
 * dom0's checks look for on the guest's console. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TD_ID 0x00u      /* read-only: "VGTTDEV1" */
#define TD_SCRATCH 0x08u /* per-vCPU scratch */
#define TD_ID_VALUE 0x3156454454544756ull
#define TD_WINDOW 0x1000u
#define TIME_BUDGET_NS (30ull * 1000000000ull)

static uint64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
    volatile uint8_t *m;
    unsigned long long base;
    unsigned long n = 2000, done;
    uint64_t id, t0, t1, bad = 0;
    uint32_t scr;
    char *end;
    int fd;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: xen-trap BASE [N]\n");
        return 2;
    }
    errno = 0;
    base = strtoull(argv[1], &end, 0);
    if (errno || *end || (base & (TD_WINDOW - 1))) {
        fprintf(stderr, "xen-trap: bad base '%s' (a page-aligned address)\n", argv[1]);
        return 2;
    }
    if (argc == 3) {
        n = strtoul(argv[2], &end, 0);
        if (*end || n == 0 || n > 1000000) {
            fprintf(stderr, "xen-trap: bad count '%s' (1..1000000)\n", argv[2]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        printf("GUEST td-trap fail open /dev/mem: %s\n", strerror(errno));
        return 1;
    }
    m = mmap(NULL, TD_WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);
    close(fd);
    if (m == MAP_FAILED) {
        printf("GUEST td-trap fail mmap /dev/mem at %#llx: %s\n", base, strerror(errno));
        return 1;
    }
    id = *(volatile uint64_t *)(m + TD_ID);
    printf("GUEST td-id 0x%016" PRIx64 "\n", id);
    *(volatile uint32_t *)(m + TD_SCRATCH) = 0x1234;
    scr = *(volatile uint32_t *)(m + TD_SCRATCH);
    printf("GUEST td-scratch 0x%08" PRIx32 "\n", scr);
    /* The timed loop: every read is a trap and a full ioreq round trip
     * (Xen -> event channel -> vgtd -> back); each value is checked. */
    /* At most TIME_BUDGET_NS: an emulated machine under load may take
     * tens of ms a trap, and the guest's run is bounded. */
    t0 = now_ns();
    t1 = t0;
    for (done = 0; done < n && t1 - t0 < TIME_BUDGET_NS; done++) {
        bad += *(volatile uint64_t *)(m + TD_ID) != TD_ID_VALUE;
        if ((done & 15) == 15)
            t1 = now_ns();
    }
    t1 = now_ns();
    if (bad)
        printf("GUEST td-trap fail %" PRIu64 " of %lu reads returned a wrong ID\n", bad, done);
    else
        printf("GUEST td-trap ok %lu reads, %" PRIu64 " ns/trap (an emulated machine)\n", done,
               (t1 - t0) / done);
    munmap((void *)m, TD_WINDOW);
    return bad ? 1 : 0;
}

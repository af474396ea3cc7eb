/* A guest program of make check-xen (static, x86-64): uses the vGPU at
 * 00:02.0 of a real Xen HVM guest like a driver, from user space, and
 * checks the GPU's results in guest memory.
 *
 * It is the simulated platform's guest driver (sim/guest/gpu_guest.c: the
 * same PVINFO probe, GGTT entries through BAR0, 4-level PPGTT announced
 * with g2v, execlist contexts, ELSP, CSB in the HWSP), linked with the
 * sim_guest_* calls below that reach the real device instead of the
 * simulated one:
 *   - PCI config space: the device's sysfs "config" file;
 *   - MMIO: BAR0 mapped from sysfs "resource0", one load or store
 *     instruction per access (each traps to Xen, then vgtd);
 *   - guest RAM: one 2 MiB huge page, locked, physically contiguous; its
 *     guest-physical address read from /proc/self/pagemap (every 4 KiB
 *     frame checked to follow the previous one);
 *   - interrupts: none (the kernel owns MSI setup): completions polled.
 *
 *   xen-gpu [STEPS]
 *
 * Prints "GUEST gpu-<check> ok|fail ..." lines for dom0's checks. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vgt/sim_gpu_guest.h"

#define DEV_DIR "/sys/bus/pci/devices/0000:00:02.0"
#define BAR0_SIZE (16u << 20)
#define HUGE_SIZE (2u << 20)
#define PAGE 4096u
#define PM_PRESENT (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)

/* The real guest, as the driver sees it through the sim_guest_* calls. */
struct sim_guest {
    int cfg_fd;
    volatile uint8_t *bar0;
    uint64_t bar0_gpa;
    uint8_t *ram;
    uint64_t ram_gpa;
};

/* BAR0 access of @size bytes at @gpa: inside BAR0 and naturally aligned. */
static int bar0_ptr(struct sim_guest *g, uint64_t gpa, unsigned size, volatile uint8_t **p)
{
    uint64_t off = gpa - g->bar0_gpa;

    if (size != 4 && size != 8)
        return -EINVAL;
    if (gpa < g->bar0_gpa || off > BAR0_SIZE - size || (off & (size - 1)))
        return -EFAULT;
    *p = g->bar0 + off;
    return 0;
}

int sim_guest_mmio_read(struct sim_guest *g, unsigned vcpu, uint64_t gpa, unsigned size, uint64_t *val)
{
    volatile uint8_t *p;
    int rc = bar0_ptr(g, gpa, size, &p);

    (void)vcpu;
    if (!rc)
        *val = size == 4 ? *(volatile uint32_t *)p : *(volatile uint64_t *)p;
    return rc;
}

int sim_guest_mmio_write(struct sim_guest *g, unsigned vcpu, uint64_t gpa, unsigned size, uint64_t val)
{
    volatile uint8_t *p;
    int rc = bar0_ptr(g, gpa, size, &p);

    (void)vcpu;
    if (rc)
        return rc;
    if (size == 4)
        *(volatile uint32_t *)p = (uint32_t)val;
    else
        *(volatile uint64_t *)p = val;
    return 0;
}

int sim_guest_pci_read(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev, uint8_t fn,
                       unsigned reg, unsigned size, uint32_t *val)
{
    uint32_t v = 0;

    (void)vcpu;
    if (bus || dev != 2 || fn || size > 4 || reg > 256 - size)
        return -ENODEV;
    if (pread(g->cfg_fd, &v, size, reg) != (ssize_t)size)
        return -EIO;
    *val = v; /* little endian, as config space */
    return 0;
}

int sim_guest_pci_write(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev, uint8_t fn,
                        unsigned reg, unsigned size, uint32_t val)
{
    (void)vcpu;
    if (bus || dev != 2 || fn || size > 4 || reg > 256 - size)
        return -ENODEV;
    return pwrite(g->cfg_fd, &val, size, reg) == (ssize_t)size ? 0 : -EIO;
}

static int ram_ptr(struct sim_guest *g, uint64_t gpa, size_t len, uint8_t **p)
{
    if (gpa < g->ram_gpa || gpa - g->ram_gpa > HUGE_SIZE || len > HUGE_SIZE - (gpa - g->ram_gpa))
        return -EFAULT;
    *p = g->ram + (gpa - g->ram_gpa);
    return 0;
}

int sim_guest_ram_read(struct sim_guest *g, unsigned vcpu, uint64_t gpa, void *buf, size_t len)
{
    uint8_t *p;
    int rc = ram_ptr(g, gpa, len, &p);

    (void)vcpu;
    if (!rc) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the GPU wrote it from another CPU */
        memcpy(buf, p, len);
    }
    return rc;
}

int sim_guest_ram_write(struct sim_guest *g, unsigned vcpu, uint64_t gpa, const void *buf, size_t len)
{
    uint8_t *p;
    int rc = ram_ptr(g, gpa, len, &p);

    (void)vcpu;
    if (!rc) {
        memcpy(p, buf, len);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
    return rc;
}

/* No MSI here: the driver polls its HWSP, a millisecond at a time. */
int sim_guest_wait_msi(struct sim_guest *g, int timeout_ms, struct sim_msi *msi)
{
    struct timespec t = {0, 1000000};

    (void)g;
    (void)msi;
    if (timeout_ms > 0)
        nanosleep(&t, NULL);
    return -ETIMEDOUT;
}

/* BAR0's guest-physical base, from the first line of sysfs "resource". */
static int bar0_base(uint64_t *base)
{
    unsigned long long start, end, flags;
    FILE *f = fopen(DEV_DIR "/resource", "r");
    int n;

    if (!f)
        return -errno;
    n = fscanf(f, "%llx %llx %llx", &start, &end, &flags);
    fclose(f);
    if (n != 3 || !start || end - start + 1 != BAR0_SIZE)
        return -ENXIO;
    *base = start;
    return 0;
}

/* A locked 2 MiB huge page and its guest-physical address; every 4 KiB
 * frame in it must follow the previous one (the driver's buffers are
 * contiguous in guest-physical space). */
static int ram_setup(struct sim_guest *g, char *why, size_t whylen)
{
    uint64_t pm[HUGE_SIZE / PAGE];
    void *p;
    int fd;

    p = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | MAP_LOCKED, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(why, whylen, "no 2 MiB huge page (vm.nr_hugepages): %s", strerror(errno));
        return -ENOMEM;
    }
    memset(p, 0, HUGE_SIZE);
    fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0 || pread(fd, pm, sizeof(pm), (off_t)((uintptr_t)p / PAGE * 8)) != (ssize_t)sizeof(pm)) {
        snprintf(why, whylen, "reading /proc/self/pagemap: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        munmap(p, HUGE_SIZE);
        return -EIO;
    }
    close(fd);
    for (size_t i = 0; i < HUGE_SIZE / PAGE; i++) {
        if (!(pm[i] & PM_PRESENT) || (pm[i] & PM_PFN_MASK) == 0 ||
            (pm[i] & PM_PFN_MASK) != (pm[0] & PM_PFN_MASK) + i) {
            snprintf(why, whylen, "frame %zu of the huge page is not contiguous (pagemap %#" PRIx64 ")", i,
                     pm[i]);
            munmap(p, HUGE_SIZE);
            return -EIO;
        }
    }
    g->ram = p;
    g->ram_gpa = (pm[0] & PM_PFN_MASK) * PAGE;
    return 0;
}

/* STEPS iterations of one workload; prints its result line. */
static int run(struct gg *d, enum gg_workload wl, const char *name, unsigned steps)
{
    struct gg_run r;
    int rc = gg_run_init(&r, d, wl, 64, 16, 0x5eed0000u + (unsigned)wl);

    if (rc) {
        printf("GUEST gpu-%s fail setting up (%s)\n", name, strerror(-rc));
        return rc;
    }
    for (unsigned i = 0; i < steps && !rc; i++)
        rc = gg_run_step(&r, 60000);
    if (rc)
        printf("GUEST gpu-%s fail after %" PRIu64 " checked: %s\n", name, wl == GG_WL_BLIT ? r.blits : r.stores,
               rc == -ETIMEDOUT ? "no completion within 60 s" : strerror(-rc));
    else if (r.failures)
        printf("GUEST gpu-%s fail %" PRIu64 " wrong results, first: %s\n", name, r.failures, r.first_failure);
    else if (wl == GG_WL_BLIT)
        printf("GUEST gpu-%s ok %" PRIu64 " blits (color fill + copy, 64x16) checked in guest memory\n", name,
               r.blits);
    else
        printf("GUEST gpu-%s ok %" PRIu64 " stores (MI_STORE_DATA_IMM through the PPGTT) checked in guest memory\n",
               name, r.stores);
    gg_run_fini(&r);
    return rc ? rc : r.failures ? -EIO : 0;
}

int main(int argc, char **argv)
{
    struct sim_guest g = {.cfg_fd = -1};
    struct gg_cfg dc = {.g = &g, .dev = 2, .bars_placed = true};
    struct gg *d = NULL;
    unsigned steps = 2;
    char why[160] = "";
    int fd, rc;

    if (argc > 2 || (argc == 2 && (sscanf(argv[1], "%u", &steps) != 1 || !steps || steps > 1000))) {
        fprintf(stderr, "usage: xen-gpu [STEPS (1..1000)]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    rc = bar0_base(&g.bar0_gpa);
    if (rc) {
        printf("GUEST gpu-probe fail no 16 MiB BAR0 at " DEV_DIR " (%s)\n", strerror(-rc));
        return 1;
    }
    g.cfg_fd = open(DEV_DIR "/config", O_RDWR);
    fd = open(DEV_DIR "/resource0", O_RDWR | O_SYNC);
    if (g.cfg_fd < 0 || fd < 0) {
        printf("GUEST gpu-probe fail opening config/resource0: %s\n", strerror(errno));
        return 1;
    }
    g.bar0 = mmap(NULL, BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (g.bar0 == MAP_FAILED) {
        printf("GUEST gpu-probe fail mapping BAR0: %s\n", strerror(errno));
        return 1;
    }
    rc = ram_setup(&g, why, sizeof(why));
    if (rc) {
        printf("GUEST gpu-probe fail %s\n", why);
        return 1;
    }
    dc.bar0_gpa = g.bar0_gpa;
    dc.ram_base = g.ram_gpa;
    dc.ram_size = HUGE_SIZE;
    rc = gg_probe(&dc, &d);
    if (rc) {
        printf("GUEST gpu-probe fail gg_probe: %s\n", rc == -EPROTO ? "PVINFO wrong (magic, caps or ranges)"
                                                                    : strerror(-rc));
        return 1;
    }
    {
        uint64_t lb, ls, hb, hs;

        gg_ranges(d, &lb, &ls, &hb, &hs);
        printf("GUEST gpu-probe ok BAR0 %#" PRIx64 ", RAM at %#" PRIx64 ", GGTT low %#" PRIx64 "+%" PRIu64
               " MiB, high %#" PRIx64 "+%" PRIu64 " MiB\n",
               g.bar0_gpa, g.ram_gpa, lb, ls >> 20, hb, hs >> 20);
    }
    rc = run(d, GG_WL_BLIT, "blit", steps);
    rc = run(d, GG_WL_STORE, "store", steps) ?: rc;
    gg_destroy(d);
    return rc ? 1 : 0;
}

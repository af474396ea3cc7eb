/* The host GPU seam on a real Skylake iGPU (see hostgpu_pci.h). */
#include "hostgpu_pci.h"

#include <errno.h>
#include <fcntl.h>
#include <pciaccess.h>
#include <pthread.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vgt/util.h"

/* Facts from Linux i915 (i915_reg.h, intel_gtt.h, intel_gt_regs.h). */
#define PCI_CMD 0x04
#define PCI_CMD_MEM (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define SNB_GMCH_CTRL 0x50      /* GGC: graphics control */
#define BDW_GMCH_GGMS_SHIFT 6   /* GTT size: 1 << GGMS MiB (0: none) */
#define BDW_GMCH_GGMS_MASK 0x3u
#define GTTMMADR_SIZE (16ull << 20)
#define GGTT_OFFSET (8ull << 20) /* gen8+: the GGTT is the top half of BAR0 */
#define GEN9_NUM_FENCES 32
#define GEN8_GT_IIR(n) (0x44308u + 0x10u * (n))
#define GT_USER (1u << 0)       /* GT_RENDER_USER_INTERRUPT */
#define GT_ERROR (1u << 3)      /* GT_CS_MASTER_ERROR_INTERRUPT */
#define GT_CTX_SWITCH (1u << 8) /* GT_CONTEXT_SWITCH_INTERRUPT */
/* Gen9 forcewake: GT registers read 0 and drop writes while their power
 * well sleeps (RC6). i915 takes a domain around each access; vgtd, the only
 * driver, holds all three for its lifetime. A masked write of
 * FORCEWAKE_KERNEL (bit 0), then bit 0 of the ack register within 50 ms
 * (i915 intel_gt_regs.h, intel_uncore.c FORCEWAKE_ACK_TIMEOUT_MS). */
#define FORCEWAKE_KERNEL 1u
#define FORCEWAKE_ACK_TIMEOUT_MS 50
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)

#define SBDF_SEG(s) ((s) >> 16)
#define SBDF_BUS(s) (((s) >> 8) & 0xff)
#define SBDF_DEV(s) (((s) >> 3) & 0x1f)
#define SBDF_FN(s) ((s) & 7)

/* Skylake graphics device IDs (Linux include/drm/i915_pciids.h,
 * INTEL_SKL_IDS). Sorted for bsearch. */
static const uint16_t skl_ids[] = {
    0x1902, 0x1906, 0x190A, 0x190B, 0x190E, 0x1912, 0x1913, 0x1915, 0x1916,
    0x1917, 0x191A, 0x191B, 0x191D, 0x191E, 0x1921, 0x1923, 0x1926, 0x1927,
    0x192A, 0x192B, 0x192D, 0x1932, 0x193A, 0x193B, 0x193D,
};

static const struct forcewake_domain {
    const char *name;
    uint32_t req, ack;
} forcewake_domains[] = {
    {"render", 0xA278u, 0x0D84u}, /* FORCEWAKE_RENDER_GEN9, FORCEWAKE_ACK_RENDER_GEN9 */
    {"blitter", 0xA188u, 0x130044u}, /* FORCEWAKE_GT_GEN9, FORCEWAKE_ACK_GT_GEN9 */
    {"media", 0xA270u, 0x0D88u}, /* FORCEWAKE_MEDIA_GEN9, FORCEWAKE_ACK_MEDIA_GEN9 */
};

struct dma_page {
    uint64_t dma;
    void *va;
};

struct hostgpu_pci {
    struct vgt_hostgpu hw; /* first: the seam's ops get it back by cast */
    struct hostgpu_pci_cfg cfg;
    const struct vgt_log *log;
    struct pci_device *dev;
    volatile uint8_t *bar0;
    uint64_t ggtt_entries;
    uint64_t aperture_base;
    int pagemap_fd;
    pthread_mutex_t lock; /* the page tree */
    void *pages;          /* tsearch tree of struct dma_page, by dma */
    void *scratch_va;
    /* interrupt polling */
    pthread_mutex_t irq_lock;
    pthread_t irq_thread;
    bool irq_running, irq_stop;
    vgt_hostgpu_irq_fn irq_fn;
    void *irq_opaque;
};

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int hostgpu_pci_is_skl(uint16_t device_id)
{
    return bsearch(&device_id, skl_ids, VGT_ARRAY_SIZE(skl_ids), sizeof(skl_ids[0]), cmp_u16) != NULL;
}

static struct hostgpu_pci *P(struct vgt_hostgpu *g)
{
    return (struct hostgpu_pci *)g;
}

/* ---- registers and GGTT through the BAR0 mapping ---- */

static uint32_t mmio_read32(struct vgt_hostgpu *g, uint32_t off)
{
    if (off > GGTT_OFFSET - 4 || (off & 3))
        return ~0u;
    return *(volatile uint32_t *)(P(g)->bar0 + off);
}

static void mmio_write32(struct vgt_hostgpu *g, uint32_t off, uint32_t val)
{
    if (off > GGTT_OFFSET - 4 || (off & 3))
        return;
    *(volatile uint32_t *)(P(g)->bar0 + off) = val;
}

static int ggtt_write(struct vgt_hostgpu *g, uint64_t index, uint64_t pte)
{
    if (index >= P(g)->ggtt_entries)
        return -ERANGE;
    *(volatile uint64_t *)(P(g)->bar0 + GGTT_OFFSET + index * 8) = pte;
    return 0;
}

static int ggtt_read(struct vgt_hostgpu *g, uint64_t index, uint64_t *pte)
{
    if (index >= P(g)->ggtt_entries)
        return -ERANGE;
    *pte = *(volatile uint64_t *)(P(g)->bar0 + GGTT_OFFSET + index * 8);
    return 0;
}

/* ---- device-reachable pages ---- */

static int cmp_page(const void *a, const void *b)
{
    uint64_t x = ((const struct dma_page *)a)->dma, y = ((const struct dma_page *)b)->dma;

    return x < y ? -1 : x > y;
}

/* The frame behind @va (locked, so it stays put). */
static int va_to_dma(struct hostgpu_pci *p, void *va, uint64_t *dma)
{
    uint64_t e;
    off_t off = (off_t)((uintptr_t)va / VGT_PAGE_SIZE * sizeof(e));

    if (pread(p->pagemap_fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
        return -EIO;
    if (!(e & PAGEMAP_PRESENT))
        return -EFAULT;
    /* Without CAP_SYS_ADMIN the kernel reports frame 0. */
    if (!(e & PAGEMAP_PFN_MASK))
        return -EPERM;
    *dma = (e & PAGEMAP_PFN_MASK) * VGT_PAGE_SIZE;
    return 0;
}

int hostgpu_pci_va_to_dma(struct hostgpu_pci *p, void *va, uint64_t *dma)
{
    return va_to_dma(p, va, dma);
}

static int alloc_page(struct vgt_hostgpu *g, uint64_t *dma, void **va)
{
    struct hostgpu_pci *p = P(g);
    struct dma_page *pg = malloc(sizeof(*pg));
    void *node;
    int ret;

    if (!pg)
        return -ENOMEM;
    pg->va = mmap(NULL, VGT_PAGE_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (pg->va == MAP_FAILED) {
        ret = -errno;
        goto free_pg;
    }
    if (mlock(pg->va, VGT_PAGE_SIZE)) {
        ret = -errno;
        goto unmap;
    }
    memset(pg->va, 0, VGT_PAGE_SIZE);
    ret = va_to_dma(p, pg->va, &pg->dma);
    if (ret)
        goto unmap;
    pthread_mutex_lock(&p->lock);
    node = tsearch(pg, &p->pages, cmp_page);
    pthread_mutex_unlock(&p->lock);
    if (!node || *(struct dma_page **)node != pg) {
        /* Out of memory, or a frame handed out twice: never alias. */
        ret = node ? -EIO : -ENOMEM;
        goto unmap;
    }
    *dma = pg->dma;
    *va = pg->va;
    return 0;

unmap:
    munmap(pg->va, VGT_PAGE_SIZE);
free_pg:
    free(pg);
    return ret;
}

static struct dma_page *find_page(struct hostgpu_pci *p, uint64_t dma)
{
    struct dma_page key = {.dma = dma & ~(uint64_t)(VGT_PAGE_SIZE - 1)};
    void *n = tfind(&key, &p->pages, cmp_page);

    return n ? *(struct dma_page **)n : NULL;
}

static void free_page(struct vgt_hostgpu *g, uint64_t dma)
{
    struct hostgpu_pci *p = P(g);
    struct dma_page *pg;

    pthread_mutex_lock(&p->lock);
    pg = find_page(p, dma);
    if (pg && pg->va != p->scratch_va)
        tdelete(pg, &p->pages, cmp_page);
    else
        pg = NULL;
    pthread_mutex_unlock(&p->lock);
    if (pg) {
        munmap(pg->va, VGT_PAGE_SIZE);
        free(pg);
    }
}

static void *dma_to_va(struct vgt_hostgpu *g, uint64_t dma)
{
    struct hostgpu_pci *p = P(g);
    struct dma_page *pg;

    pthread_mutex_lock(&p->lock);
    pg = find_page(p, dma);
    pthread_mutex_unlock(&p->lock);
    return pg ? (uint8_t *)pg->va + (dma & (VGT_PAGE_SIZE - 1)) : NULL;
}

/* ---- interrupts: polled GT IIR banks ---- */

static uint32_t events_of(uint32_t bits)
{
    return (bits & GT_USER ? VGT_GPU_EV_USER_INTERRUPT : 0) |
           (bits & GT_CTX_SWITCH ? VGT_GPU_EV_CTX_SWITCH : 0) |
           (bits & GT_ERROR ? VGT_GPU_EV_FAULT : 0);
}

/* One pass: bank 0 holds RCS (15:0) and BCS (31:16), bank 1 VCS0 (15:0),
 * bank 3 VECS (15:0) (i915 6.1 GEN8_RCS/BCS/VCS0/VECS_IRQ_SHIFT,
 * gen8_gt_irq_handler). Bits are write-one-to-clear. */
static void irq_poll_once(struct hostgpu_pci *p, vgt_hostgpu_irq_fn fn, void *opaque)
{
    uint32_t iir0 = mmio_read32(&p->hw, GEN8_GT_IIR(0));
    uint32_t iir1 = mmio_read32(&p->hw, GEN8_GT_IIR(1));
    uint32_t iir3 = mmio_read32(&p->hw, GEN8_GT_IIR(3));

    if (iir0 == ~0u || iir1 == ~0u || iir3 == ~0u)
        return; /* the device fell off the bus */
    if (iir0)
        mmio_write32(&p->hw, GEN8_GT_IIR(0), iir0);
    if (iir1)
        mmio_write32(&p->hw, GEN8_GT_IIR(1), iir1);
    if (iir3)
        mmio_write32(&p->hw, GEN8_GT_IIR(3), iir3);
    if (events_of(iir0 & 0xffff))
        fn(opaque, VGT_ENGINE_RCS, events_of(iir0 & 0xffff));
    if (events_of(iir0 >> 16))
        fn(opaque, VGT_ENGINE_BCS, events_of(iir0 >> 16));
    if (events_of(iir1 & 0xffff))
        fn(opaque, VGT_ENGINE_VCS, events_of(iir1 & 0xffff));
    if (events_of(iir3 & 0xffff))
        fn(opaque, VGT_ENGINE_VECS, events_of(iir3 & 0xffff));
}

static void *irq_thread(void *arg)
{
    struct hostgpu_pci *p = arg;
    struct timespec ts = {0, (long)(p->cfg.irq_poll_us ? p->cfg.irq_poll_us : 100) * 1000};

    for (;;) {
        vgt_hostgpu_irq_fn fn;
        void *opaque;
        bool stop;

        pthread_mutex_lock(&p->irq_lock);
        stop = p->irq_stop;
        fn = p->irq_fn;
        opaque = p->irq_opaque;
        pthread_mutex_unlock(&p->irq_lock);
        if (stop)
            break;
        irq_poll_once(p, fn, opaque);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void irq_thread_stop(struct hostgpu_pci *p)
{
    if (!p->irq_running)
        return;
    pthread_mutex_lock(&p->irq_lock);
    p->irq_stop = true;
    pthread_mutex_unlock(&p->irq_lock);
    pthread_join(p->irq_thread, NULL);
    p->irq_running = false;
    p->irq_stop = false;
}

/* Not from inside the handler: clearing it joins the polling thread, so no
 * callback runs after it returns. */
static int set_irq_handler(struct vgt_hostgpu *g, vgt_hostgpu_irq_fn fn, void *opaque)
{
    struct hostgpu_pci *p = P(g);

    if (!fn) {
        irq_thread_stop(p);
        p->irq_fn = NULL;
        p->irq_opaque = NULL;
        return 0;
    }
    pthread_mutex_lock(&p->irq_lock);
    p->irq_fn = fn;
    p->irq_opaque = opaque;
    pthread_mutex_unlock(&p->irq_lock);
    if (!p->irq_running) {
        int ret = -pthread_create(&p->irq_thread, NULL, irq_thread, p);

        if (ret)
            return ret;
        p->irq_running = true;
    }
    return 0;
}

static const struct vgt_hostgpu_ops pci_ops = {
    .mmio_read32 = mmio_read32,
    .mmio_write32 = mmio_write32,
    .ggtt_write = ggtt_write,
    .ggtt_read = ggtt_read,
    .alloc_page = alloc_page,
    .free_page = free_page,
    .dma_to_va = dma_to_va,
    .set_irq_handler = set_irq_handler,
};

/* ---- forcewake ---- */

static void forcewake_put(struct hostgpu_pci *p, size_t n)
{
    while (n--)
        mmio_write32(&p->hw, forcewake_domains[n].req, FORCEWAKE_KERNEL << 16);
}

/* All domains awake, or the name of the one that did not answer. */
static int forcewake_get(struct hostgpu_pci *p, const char **stuck)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(forcewake_domains); i++) {
        const struct forcewake_domain *d = &forcewake_domains[i];
        struct timespec ts = {0, 10000};
        unsigned waited_us = 0;

        mmio_write32(&p->hw, d->req, FORCEWAKE_KERNEL << 16 | FORCEWAKE_KERNEL);
        while (!(mmio_read32(&p->hw, d->ack) & FORCEWAKE_KERNEL)) {
            if (waited_us >= FORCEWAKE_ACK_TIMEOUT_MS * 1000) {
                *stuck = d->name;
                forcewake_put(p, i + 1);
                return -ETIMEDOUT;
            }
            nanosleep(&ts, NULL);
            waited_us += 10;
        }
    }
    return 0;
}

/* ---- bring-up ---- */

static bool pv_dom0(const struct hostgpu_pci_cfg *cfg)
{
    char buf[16] = {0};
    FILE *f = fopen(cfg->guest_type ? cfg->guest_type : "/sys/hypervisor/guest_type", "r");

    if (!f)
        return false; /* not under Xen, or an old kernel: bare metal rules */
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = 0;
    fclose(f);
    return !strncmp(buf, "PV", 2) && (buf[2] == '\n' || !buf[2]);
}

static void free_node(void *n)
{
    struct dma_page *pg = n;

    munmap(pg->va, VGT_PAGE_SIZE);
    free(pg);
}

int hostgpu_pci_open(const struct hostgpu_pci_cfg *cfg, struct hostgpu_pci **out, char *err,
                     size_t errlen)
{
    struct hostgpu_pci *p = calloc(1, sizeof(*p));
    uint32_t sbdf = cfg->sbdf;
    char name[16];
    uint16_t ggc, cmd;
    unsigned ggms;
    struct pci_mem_region *r0, *r2;
    void *bar0;
    int ret;

    if (!p)
        return -ENOMEM;
    snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", SBDF_SEG(sbdf), SBDF_BUS(sbdf),
             SBDF_DEV(sbdf), SBDF_FN(sbdf));
    p->cfg = *cfg;
    p->log = cfg->log;
    p->pagemap_fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->irq_lock, NULL);
    if (pv_dom0(cfg)) {
        snprintf(err, errlen, "host GPU %s: a PV dom0 hands the GPU machine frames vgtd cannot "
                              "learn; run vgtd in a PVH dom0", name);
        ret = -EOPNOTSUPP;
        goto free_p;
    }
    ret = pci_system_init();
    if (ret) {
        snprintf(err, errlen, "pci_system_init: %s", strerror(ret));
        ret = -ret;
        goto free_p;
    }
    p->dev = pci_device_find_by_slot(SBDF_SEG(sbdf), SBDF_BUS(sbdf), SBDF_DEV(sbdf),
                                     SBDF_FN(sbdf));
    if (!p->dev) {
        snprintf(err, errlen, "host GPU %s: no such PCI device (use --gpu BDF)", name);
        ret = -ENODEV;
        goto cleanup_pci;
    }
    ret = pci_device_probe(p->dev);
    if (ret) {
        snprintf(err, errlen, "host GPU %s: pci_device_probe: %s", name, strerror(ret));
        ret = -ret;
        goto cleanup_pci;
    }
    if (p->dev->vendor_id != 0x8086 || (p->dev->device_class >> 8) != 0x0300 ||
        !hostgpu_pci_is_skl(p->dev->device_id)) {
        snprintf(err, errlen, "host GPU %s: %04x:%04x class %06x is not a Skylake Intel GPU "
                              "(vgt mediates Gen9 Skylake only)", name, p->dev->vendor_id,
                 p->dev->device_id, p->dev->device_class);
        ret = -ENODEV;
        goto cleanup_pci;
    }
    if (pci_device_has_kernel_driver(p->dev)) {
        snprintf(err, errlen, "host GPU %s is held by a kernel driver: unbind it first "
                              "(echo %s > /sys/bus/pci/devices/%s/driver/unbind)", name, name, name);
        ret = -EBUSY;
        goto cleanup_pci;
    }
    r0 = &p->dev->regions[0];
    r2 = &p->dev->regions[2];
    if (r0->is_IO || r0->size != GTTMMADR_SIZE || r2->is_IO || !r2->size || !r2->base_addr ||
        (r2->size & (r2->size - 1))) {
        snprintf(err, errlen, "host GPU %s: unexpected BARs (BAR0 %#llx bytes, BAR2 %#llx bytes "
                              "at %#llx): want a 16 MiB BAR0 and a power-of-two aperture", name,
                 (unsigned long long)r0->size, (unsigned long long)r2->size,
                 (unsigned long long)r2->base_addr);
        ret = -ENODEV;
        goto cleanup_pci;
    }
    if ((ret = pci_device_cfg_read_u16(p->dev, &ggc, SNB_GMCH_CTRL)) ||
        (ret = pci_device_cfg_read_u16(p->dev, &cmd, PCI_CMD))) {
        snprintf(err, errlen, "host GPU %s: config space: %s", name, strerror(ret));
        ret = -ret;
        goto cleanup_pci;
    }
    ggms = (ggc >> BDW_GMCH_GGMS_SHIFT) & BDW_GMCH_GGMS_MASK;
    if (!ggms) {
        snprintf(err, errlen, "host GPU %s: the firmware gave it no GTT (GGC %#x)", name, ggc);
        ret = -ENODEV;
        goto cleanup_pci;
    }
    /* 1 << GGMS MiB of 8-byte entries, each mapping 4 KiB. */
    p->ggtt_entries = (1ull << ggms << 20) / 8;
    p->aperture_base = r2->base_addr;
    p->hw.ops = &pci_ops;
    p->hw.vendor = p->dev->vendor_id;
    p->hw.device = p->dev->device_id;
    p->hw.gm_size = p->ggtt_entries * VGT_PAGE_SIZE;
    p->hw.aperture_size = r2->size;
    p->hw.num_fences = GEN9_NUM_FENCES;
    if (p->hw.aperture_size > p->hw.gm_size) {
        snprintf(err, errlen, "host GPU %s: aperture (%llu MiB) larger than its graphics memory "
                              "(%llu MiB)", name, (unsigned long long)(r2->size >> 20),
                 (unsigned long long)(p->hw.gm_size >> 20));
        ret = -ENODEV;
        goto cleanup_pci;
    }
    /* Decode memory and master DMA: no driver enabled it. */
    if ((cmd & (PCI_CMD_MEM | PCI_CMD_MASTER)) != (PCI_CMD_MEM | PCI_CMD_MASTER) &&
        (ret = pci_device_cfg_write_u16(p->dev, cmd | PCI_CMD_MEM | PCI_CMD_MASTER, PCI_CMD))) {
        snprintf(err, errlen, "host GPU %s: enabling memory and bus mastering: %s", name,
                 strerror(ret));
        ret = -ret;
        goto cleanup_pci;
    }
    ret = pci_device_map_range(p->dev, r0->base_addr, GTTMMADR_SIZE, PCI_DEV_MAP_FLAG_WRITABLE,
                               &bar0);
    if (ret) {
        snprintf(err, errlen, "host GPU %s: mapping BAR0: %s%s", name, strerror(ret),
                 ret == EACCES || ret == EPERM ? " (vgtd must run as root)" : "");
        ret = -ret;
        goto cleanup_pci;
    }
    p->bar0 = bar0;
    {
        const char *stuck = NULL;

        ret = forcewake_get(p, &stuck);
        if (ret) {
            snprintf(err, errlen, "host GPU %s: forcewake %s not acknowledged within %d ms",
                     name, stuck, FORCEWAKE_ACK_TIMEOUT_MS);
            goto unmap_bar0;
        }
    }
    p->pagemap_fd = open(cfg->pagemap ? cfg->pagemap : "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (p->pagemap_fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "host GPU %s: /proc/self/pagemap: %s", name, strerror(-ret));
        goto put_forcewake;
    }
    ret = alloc_page(&p->hw, &p->hw.scratch_dma, &p->scratch_va);
    if (ret) {
        snprintf(err, errlen, "host GPU %s: no device-reachable page for scratch: %s%s", name,
                 strerror(-ret), ret == -EPERM ? " (reading frames needs CAP_SYS_ADMIN)" : "");
        goto close_pagemap;
    }
    vgt_info(p->log, "host GPU %s: %04x:%04x, %llu MiB graphics memory, %llu MiB aperture at %#llx",
             name, p->hw.vendor, p->hw.device, (unsigned long long)(p->hw.gm_size >> 20),
             (unsigned long long)(p->hw.aperture_size >> 20), (unsigned long long)p->aperture_base);
    *out = p;
    return 0;

close_pagemap:
    close(p->pagemap_fd);
put_forcewake:
    forcewake_put(p, VGT_ARRAY_SIZE(forcewake_domains));
unmap_bar0:
    pci_device_unmap_range(p->dev, bar0, GTTMMADR_SIZE);
cleanup_pci:
    pci_system_cleanup();
free_p:
    pthread_mutex_destroy(&p->irq_lock);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return ret;
}

void hostgpu_pci_close(struct hostgpu_pci *p)
{
    if (!p)
        return;
    irq_thread_stop(p);
    tdestroy(p->pages, free_node);
    close(p->pagemap_fd);
    forcewake_put(p, VGT_ARRAY_SIZE(forcewake_domains));
    pci_device_unmap_range(p->dev, (void *)p->bar0, GTTMMADR_SIZE);
    pci_system_cleanup();
    pthread_mutex_destroy(&p->irq_lock);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

struct vgt_hostgpu *hostgpu_pci_hostgpu(struct hostgpu_pci *p)
{
    return &p->hw;
}

uint64_t hostgpu_pci_aperture_base(const struct hostgpu_pci *p)
{
    return p->aperture_base;
}

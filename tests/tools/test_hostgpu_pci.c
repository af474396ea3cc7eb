/* The host GPU seam on a real Skylake iGPU (host/hostgpu_pci.c) with the
 * libpciaccess calls replaced at link time (-Wl,--wrap=..., meson.build):
 * a fake device whose BAR0 is a buffer. Checks the identity and driver
 * checks, the GTT size from GGC, memory/bus-master enabling, that each
 * refusal names its problem and that libpciaccess is cleaned up on every
 * path; registers and GGTT entries land at their BAR0 offsets; pages are
 * real locked pages found again by their frame; polled GT IIR bits reach
 * the handler per engine and stop with it. */
#include <errno.h>
#include <pciaccess.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostgpu_pci.h"

#define MIB (1ull << 20)
#define BAR0_SIZE (16 * MIB)
#define BAR2_BASE 0xC0000000ull
#define SBDF_GPU 0x10u /* 0000:00:02.0 */

static struct {
    struct pci_device dev;
    bool present, driver;
    int init_err, probe_err, map_err, cfg_err;
    uint16_t ggc, cmd, cmd_written;
    unsigned inits, cleanups, maps, unmaps;
    uint8_t *bar0;
    char guest_type[64];
} fx;

int __wrap_pci_system_init(void);
int __wrap_pci_system_init(void)
{
    if (fx.init_err)
        return fx.init_err;
    fx.inits++;
    return 0;
}

void __wrap_pci_system_cleanup(void);
void __wrap_pci_system_cleanup(void)
{
    fx.cleanups++;
}

struct pci_device *__wrap_pci_device_find_by_slot(uint32_t dom, uint32_t bus, uint32_t dev,
                                                  uint32_t fn);
struct pci_device *__wrap_pci_device_find_by_slot(uint32_t dom, uint32_t bus, uint32_t dev,
                                                  uint32_t fn)
{
    if (!fx.present || dom != 0 || bus != 0 || dev != 2 || fn != 0)
        return NULL;
    return &fx.dev;
}

int __wrap_pci_device_probe(struct pci_device *d);
int __wrap_pci_device_probe(struct pci_device *d)
{
    assert_ptr_equal(d, &fx.dev);
    return fx.probe_err;
}

int __wrap_pci_device_has_kernel_driver(struct pci_device *d);
int __wrap_pci_device_has_kernel_driver(struct pci_device *d)
{
    (void)d;
    return fx.driver;
}

int __wrap_pci_device_cfg_read_u16(struct pci_device *d, uint16_t *v, pciaddr_t off);
int __wrap_pci_device_cfg_read_u16(struct pci_device *d, uint16_t *v, pciaddr_t off)
{
    (void)d;
    if (fx.cfg_err)
        return fx.cfg_err;
    *v = off == 0x50 ? fx.ggc : off == 0x04 ? fx.cmd : 0xffff;
    return 0;
}

int __wrap_pci_device_cfg_write_u16(struct pci_device *d, uint16_t v, pciaddr_t off);
int __wrap_pci_device_cfg_write_u16(struct pci_device *d, uint16_t v, pciaddr_t off)
{
    (void)d;
    assert_int_equal(off, 0x04); /* only the command register */
    fx.cmd_written = v;
    return 0;
}

int __wrap_pci_device_map_range(struct pci_device *d, pciaddr_t base, pciaddr_t size,
                                unsigned flags, void **addr);
int __wrap_pci_device_map_range(struct pci_device *d, pciaddr_t base, pciaddr_t size,
                                unsigned flags, void **addr)
{
    (void)d;
    if (fx.map_err)
        return fx.map_err;
    assert_int_equal(base, fx.dev.regions[0].base_addr);
    assert_int_equal(size, BAR0_SIZE);
    assert_true(flags & PCI_DEV_MAP_FLAG_WRITABLE);
    fx.maps++;
    *addr = fx.bar0;
    return 0;
}

int __wrap_pci_device_unmap_range(struct pci_device *d, void *mem, pciaddr_t size);
int __wrap_pci_device_unmap_range(struct pci_device *d, void *mem, pciaddr_t size)
{
    (void)d;
    assert_ptr_equal(mem, fx.bar0);
    assert_int_equal(size, BAR0_SIZE);
    fx.unmaps++;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    free(fx.bar0);
    memset(&fx, 0, sizeof(fx));
    fx.present = true;
    fx.dev.vendor_id = 0x8086;
    fx.dev.device_id = 0x1912;
    fx.dev.device_class = 0x030000;
    fx.dev.regions[0].base_addr = 0xF0000000ull;
    fx.dev.regions[0].size = BAR0_SIZE;
    fx.dev.regions[2].base_addr = BAR2_BASE;
    fx.dev.regions[2].size = 256 * MIB;
    fx.ggc = 3u << 6; /* GGMS 3: 8 MiB of GTT */
    fx.cmd = 0x0000;
    fx.bar0 = aligned_alloc(4096, BAR0_SIZE);
    assert_non_null(fx.bar0);
    memset(fx.bar0, 0, BAR0_SIZE);
    /* The GT answers forcewake (acks: render, blitter, media). */
    *(uint32_t *)(fx.bar0 + 0x0D84) = 1;
    *(uint32_t *)(fx.bar0 + 0x130044) = 1;
    *(uint32_t *)(fx.bar0 + 0x0D88) = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fx.bar0);
    fx.bar0 = NULL;
    return 0;
}

static bool is_root(void)
{
    return geteuid() == 0;
}

/* Opens the fake device; as non-root, frames are hidden (pagemap reads 0)
 * and the open must say so. */
static struct hostgpu_pci *open_ok(void)
{
    struct hostgpu_pci_cfg cfg = {.sbdf = SBDF_GPU, .guest_type = "/nonexistent", .irq_poll_us = 50};
    struct hostgpu_pci *p = NULL;
    char err[256] = "";
    int ret = hostgpu_pci_open(&cfg, &p, err, sizeof(err));

    if (!is_root()) {
        assert_int_equal(ret, -EPERM);
        assert_non_null(strstr(err, "CAP_SYS_ADMIN"));
        assert_int_equal(fx.cleanups, fx.inits);
        assert_int_equal(fx.unmaps, fx.maps);
        skip();
    }
    assert_int_equal(ret, 0);
    assert_non_null(p);
    return p;
}

static void test_skl_ids(void **state)
{
    (void)state;
    assert_true(hostgpu_pci_is_skl(0x1912));
    assert_true(hostgpu_pci_is_skl(0x1902));
    assert_true(hostgpu_pci_is_skl(0x193D));
    assert_false(hostgpu_pci_is_skl(0x5912)); /* Kaby Lake */
    assert_false(hostgpu_pci_is_skl(0x1900));
    assert_false(hostgpu_pci_is_skl(0x0000));
}

static void test_open_geometry(void **state)
{
    struct hostgpu_pci *p;
    struct vgt_hostgpu *hw;

    (void)state;
    p = open_ok();
    hw = hostgpu_pci_hostgpu(p);
    assert_int_equal(hw->vendor, 0x8086);
    assert_int_equal(hw->device, 0x1912);
    assert_int_equal(hw->gm_size, 4096 * MIB); /* 1M entries of 4 KiB */
    assert_int_equal(hw->aperture_size, 256 * MIB);
    assert_int_equal(hw->num_fences, 32);
    assert_int_equal(hostgpu_pci_aperture_base(p), BAR2_BASE);
    assert_int_not_equal(hw->scratch_dma, 0);
    assert_int_equal(hw->scratch_dma & 0xfff, 0);
    assert_int_equal(fx.cmd_written, 0x0006); /* memory decoding + bus master */
    /* Every forcewake domain held while open (masked write of bit 0)... */
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA278), 0x00010001);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA188), 0x00010001);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA270), 0x00010001);
    hostgpu_pci_close(p);
    /* ...and released on close. */
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA278), 0x00010000);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA188), 0x00010000);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA270), 0x00010000);
    assert_int_equal(fx.cleanups, 1);
    assert_int_equal(fx.unmaps, 1);

    /* GGMS 1: 2 MiB of GTT, 1 GiB of graphics memory. */
    fx.ggc = 1u << 6;
    fx.cmd = 0x0006; /* already enabled: nothing written */
    fx.cmd_written = 0;
    p = open_ok();
    assert_int_equal(hostgpu_pci_hostgpu(p)->gm_size, 1024 * MIB);
    assert_int_equal(fx.cmd_written, 0);
    hostgpu_pci_close(p);
}

static void test_registers_and_ggtt(void **state)
{
    struct hostgpu_pci *p;
    struct vgt_hostgpu *hw;
    uint64_t pte = 0;

    (void)state;
    p = open_ok();
    hw = hostgpu_pci_hostgpu(p);
    hw->ops->mmio_write32(hw, 0x2030, 0x12345678);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0x2030), 0x12345678);
    *(uint32_t *)(fx.bar0 + 0x44200) = 0x80000000u;
    assert_int_equal(hw->ops->mmio_read32(hw, 0x44200), 0x80000000u);
    /* Unaligned or in the GGTT half: not a register. */
    assert_int_equal(hw->ops->mmio_read32(hw, 0x2031), ~0u);
    assert_int_equal(hw->ops->mmio_read32(hw, 8 * MIB), ~0u);
    hw->ops->mmio_write32(hw, 8 * MIB, 1);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 8 * MIB), 0);

    assert_int_equal(hw->ops->ggtt_write(hw, 5, 0xABCDE001ull), 0);
    assert_int_equal(*(uint64_t *)(fx.bar0 + 8 * MIB + 5 * 8), 0xABCDE001ull);
    assert_int_equal(hw->ops->ggtt_read(hw, 5, &pte), 0);
    assert_int_equal(pte, 0xABCDE001ull);
    assert_int_equal(hw->ops->ggtt_write(hw, (1u << 20) - 1, 3), 0);
    assert_int_equal(*(uint64_t *)(fx.bar0 + BAR0_SIZE - 8), 3);
    assert_int_equal(hw->ops->ggtt_write(hw, 1u << 20, 1), -ERANGE);
    assert_int_equal(hw->ops->ggtt_read(hw, 1u << 20, &pte), -ERANGE);
    hostgpu_pci_close(p);
}

static void test_pages(void **state)
{
    struct hostgpu_pci *p;
    struct vgt_hostgpu *hw;
    uint64_t a, b;
    void *va, *vb;

    (void)state;
    p = open_ok();
    hw = hostgpu_pci_hostgpu(p);
    assert_int_equal(hw->ops->alloc_page(hw, &a, &va), 0);
    assert_int_equal(hw->ops->alloc_page(hw, &b, &vb), 0);
    assert_int_not_equal(a, b);
    assert_int_equal(a & 0xfff, 0);
    assert_int_equal(((uint8_t *)va)[100], 0); /* handed out zeroed */
    assert_ptr_equal(hw->ops->dma_to_va(hw, a + 0x10), (uint8_t *)va + 0x10);
    assert_ptr_equal(hw->ops->dma_to_va(hw, b), vb);
    assert_non_null(hw->ops->dma_to_va(hw, hw->scratch_dma));
    hw->ops->free_page(hw, a);
    assert_null(hw->ops->dma_to_va(hw, a));
    assert_ptr_equal(hw->ops->dma_to_va(hw, b), vb);
    /* The scratch page is not the caller's to free. */
    hw->ops->free_page(hw, hw->scratch_dma);
    assert_non_null(hw->ops->dma_to_va(hw, hw->scratch_dma));
    hostgpu_pci_close(p); /* frees b too (ASan checks) */
}

static struct {
    pthread_mutex_t mu;
    unsigned calls;
    uint32_t ev[4];
} irq = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void on_irq(void *opaque, unsigned engine, uint32_t events)
{
    (void)opaque;
    pthread_mutex_lock(&irq.mu);
    irq.calls++;
    if (engine < 4)
        irq.ev[engine] |= events;
    pthread_mutex_unlock(&irq.mu);
}

static unsigned irq_calls(void)
{
    unsigned n;

    pthread_mutex_lock(&irq.mu);
    n = irq.calls;
    pthread_mutex_unlock(&irq.mu);
    return n;
}

static void test_irq_polling(void **state)
{
    struct hostgpu_pci *p;
    struct vgt_hostgpu *hw;
    struct timespec ts = {0, 1000000};
    unsigned n;

    (void)state;
    p = open_ok();
    hw = hostgpu_pci_hostgpu(p);
    memset(irq.ev, 0, sizeof(irq.ev));
    irq.calls = 0;
    /* RCS user interrupt, BCS context switch, VCS error (GT IIR 0 and 1),
     * VECS user interrupt and context switch (GT IIR 3, i915 6.1
     * gen8_gt_irq_handler). */
    __atomic_store_n((uint32_t *)(fx.bar0 + 0x44308), (1u << 0) | (1u << 24), __ATOMIC_RELEASE);
    __atomic_store_n((uint32_t *)(fx.bar0 + 0x44318), 1u << 3, __ATOMIC_RELEASE);
    __atomic_store_n((uint32_t *)(fx.bar0 + 0x44338), (1u << 0) | (1u << 8), __ATOMIC_RELEASE);
    assert_int_equal(hw->ops->set_irq_handler(hw, on_irq, NULL), 0);
    for (int i = 0; i < 2000 && irq_calls() < 4; i++)
        nanosleep(&ts, NULL);
    assert_true(irq_calls() >= 4);
    pthread_mutex_lock(&irq.mu);
    assert_int_equal(irq.ev[VGT_ENGINE_RCS], VGT_GPU_EV_USER_INTERRUPT);
    assert_int_equal(irq.ev[VGT_ENGINE_BCS], VGT_GPU_EV_CTX_SWITCH);
    assert_int_equal(irq.ev[VGT_ENGINE_VCS], VGT_GPU_EV_FAULT);
    assert_int_equal(irq.ev[VGT_ENGINE_VECS], VGT_GPU_EV_USER_INTERRUPT | VGT_GPU_EV_CTX_SWITCH);
    pthread_mutex_unlock(&irq.mu);
    /* Once the handler is gone nothing more is delivered (the fake BAR
     * does not clear on write-one, so the bits are still set). */
    assert_int_equal(hw->ops->set_irq_handler(hw, NULL, NULL), 0);
    n = irq_calls();
    for (int i = 0; i < 5; i++)
        nanosleep(&ts, NULL);
    assert_int_equal(irq_calls(), n);
    hostgpu_pci_close(p);
}

/* Each refusal: its errno, a message naming the problem, and libpciaccess
 * cleaned up. */
static void expect_refusal(int want, const char *needle, const char *guest_type)
{
    struct hostgpu_pci_cfg cfg = {.sbdf = SBDF_GPU, .guest_type = guest_type};
    struct hostgpu_pci *p = NULL;
    char err[256] = "";

    fx.inits = fx.cleanups = fx.maps = fx.unmaps = 0;
    assert_int_equal(hostgpu_pci_open(&cfg, &p, err, sizeof(err)), want);
    assert_null(p);
    if (!strstr(err, needle))
        fail_msg("'%s' does not say '%s'", err, needle);
    assert_int_equal(fx.cleanups, fx.inits);
    assert_int_equal(fx.unmaps, fx.maps);
}

static void test_refusals(void **state)
{
    char path[] = "/tmp/vgt-guest-type-XXXXXX";
    int fd;

    (void)state;
    fx.present = false;
    expect_refusal(-ENODEV, "no such PCI device", NULL);
    fx.present = true;

    /* A libpciaccess call failing: its errno, and the call named. */
    {
        const struct {
            int *knob, err;
            const char *needle;
        } fails[] = {
            {&fx.init_err, EACCES, "pci_system_init"},
            {&fx.probe_err, EIO, "pci_device_probe"},
            {&fx.cfg_err, EIO, "config space"},
            {&fx.map_err, EACCES, "mapping BAR0: Permission denied (vgtd must run as root)"},
        };

        for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
            *fails[i].knob = fails[i].err;
            expect_refusal(-fails[i].err, fails[i].needle, NULL);
            *fails[i].knob = 0;
        }
    }

    fx.dev.vendor_id = 0x1af4;
    expect_refusal(-ENODEV, "1af4:1912 class 030000 is not a Skylake", NULL);
    fx.dev.vendor_id = 0x8086;
    fx.dev.device_id = 0x5912;
    expect_refusal(-ENODEV, "8086:5912", NULL);
    fx.dev.device_id = 0x1912;
    fx.dev.device_class = 0x038000;
    expect_refusal(-ENODEV, "class 038000", NULL);
    fx.dev.device_class = 0x030000;

    fx.driver = true;
    expect_refusal(-EBUSY, "unbind it first", NULL);
    fx.driver = false;

    fx.dev.regions[0].size = 4 * MIB;
    expect_refusal(-ENODEV, "unexpected BARs", NULL);
    fx.dev.regions[0].size = BAR0_SIZE;
    fx.dev.regions[2].size = 0;
    expect_refusal(-ENODEV, "unexpected BARs", NULL);
    fx.dev.regions[2].size = 384 * MIB; /* not a power of two */
    expect_refusal(-ENODEV, "unexpected BARs", NULL);
    fx.dev.regions[2].size = 256 * MIB;

    fx.ggc = 0;
    expect_refusal(-ENODEV, "no GTT", NULL);
    fx.ggc = 1u << 6; /* 1 GiB of GM, smaller than the aperture */
    fx.dev.regions[2].size = 2048 * MIB;
    expect_refusal(-ENODEV, "larger than its graphics memory", NULL);
    fx.ggc = 3u << 6;
    fx.dev.regions[2].size = 256 * MIB;

    /* The blitter well never wakes: refused after 50 ms, and the render
     * domain already taken is given back. */
    *(uint32_t *)(fx.bar0 + 0x130044) = 0;
    expect_refusal(-ETIMEDOUT, "forcewake blitter not acknowledged", NULL);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA278), 0x00010000);
    assert_int_equal(*(uint32_t *)(fx.bar0 + 0xA188), 0x00010000);
    *(uint32_t *)(fx.bar0 + 0x130044) = 1;

    /* A PV dom0 is refused before anything is touched; PVH is fine. */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "PV\n", 3), 3);
    close(fd);
    expect_refusal(-EOPNOTSUPP, "PVH dom0", path);
    assert_int_equal(fx.inits, 0);
    unlink(path);
}

static void test_pvh_dom0_accepted(void **state)
{
    char path[] = "/tmp/vgt-guest-type-XXXXXX";
    struct hostgpu_pci_cfg cfg = {.sbdf = SBDF_GPU};
    struct hostgpu_pci *p = NULL;
    char err[256] = "";
    int fd, ret;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "PVH\n", 4), 4);
    close(fd);
    cfg.guest_type = path;
    ret = hostgpu_pci_open(&cfg, &p, err, sizeof(err));
    unlink(path);
    /* Past the dom0 check: as root it opens, otherwise it stops at the
     * frames (pagemap), which comes after. */
    assert_int_equal(ret, is_root() ? 0 : -EPERM);
    hostgpu_pci_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skl_ids),
        cmocka_unit_test_setup_teardown(test_open_geometry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registers_and_ggtt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pvh_dom0_accepted, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The host GPU seam against this machine's real PCI devices, through the
 * real libpciaccess: no device here is a Skylake GPU, so opening each of
 * the first few must be refused with the identity sysfs reports (the way
 * vgtd answers an operator whose --gpu names the wrong device), and a
 * slot with no device must be named as such. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostgpu_pci.h"

static unsigned sysfs_hex(const char *dev, const char *attr)
{
    char path[300];
    unsigned v = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%x", &v), 1);
    fclose(f);
    return v;
}

static void test_real_devices_refused(void **state)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    unsigned seen = 0;

    (void)state;
    if (!d)
        skip(); /* no PCI bus visible (a container) */
    while ((e = readdir(d)) && seen < 4) {
        unsigned seg, bus, dev, fn, vendor, device, class;
        struct hostgpu_pci_cfg cfg = {0};
        struct hostgpu_pci *p = NULL;
        char err[256] = "", want[320];

        if (sscanf(e->d_name, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) != 4)
            continue;
        vendor = sysfs_hex(e->d_name, "vendor");
        device = sysfs_hex(e->d_name, "device");
        class = sysfs_hex(e->d_name, "class");
        if (vendor == 0x8086 && hostgpu_pci_is_skl((uint16_t)device))
            continue; /* a real Skylake GPU: not this test's business */
        cfg.sbdf = (seg << 16) | (bus << 8) | (dev << 3) | fn;
        cfg.guest_type = "/nonexistent";
        assert_int_equal(hostgpu_pci_open(&cfg, &p, err, sizeof(err)), -ENODEV);
        assert_null(p);
        snprintf(want, sizeof(want), "%s: %04x:%04x class %06x is not a Skylake", e->d_name, vendor,
                 device, class);
        if (!strstr(err, want))
            fail_msg("'%s' does not say '%s'", err, want);
        seen++;
    }
    closedir(d);
    if (!seen)
        skip();
}

static void test_empty_slot(void **state)
{
    struct hostgpu_pci_cfg cfg = {.sbdf = (0xfe << 8) | (0x1f << 3) | 7, .guest_type = "/nonexistent"};
    struct hostgpu_pci *p = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(hostgpu_pci_open(&cfg, &p, err, sizeof(err)), -ENODEV);
    assert_non_null(strstr(err, "0000:fe:1f.7: no such PCI device"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_devices_refused),
        cmocka_unit_test(test_empty_slot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

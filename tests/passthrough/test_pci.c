/* vgt assign pci: config-space parser on crafted dumps, the lspci dump
 * format, the sysfs facts through a prepared --sysfs-root tree, the
 * verdict, and a live run compared with `lspci -vvv`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgt/pci_assign.h"
#include "vgt/pci_cfg.h"

/* ---- crafting config spaces ---- */

static void put8(uint8_t *c, unsigned off, uint8_t v) { c[off] = v; }
static void put16(uint8_t *c, unsigned off, uint16_t v) { c[off] = v & 0xff; c[off + 1] = v >> 8; }
static void put32(uint8_t *c, unsigned off, uint32_t v)
{
    put16(c, off, v & 0xffff);
    put16(c, off + 2, v >> 16);
}

/* Type-0 header with the capability list bit and pointer set. */
static void header(uint8_t *c, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t cap_ptr)
{
    memset(c, 0, 4096);
    put16(c, 0x00, vendor);
    put16(c, 0x02, device);
    put8(c, 0x08, 0x02);               /* revision */
    put8(c, 0x09, class_code & 0xff);
    put16(c, 0x0a, (uint16_t)(class_code >> 8));
    put16(c, 0x2c, 0x8086);
    put16(c, 0x2e, 0x1234);
    if (cap_ptr) {
        put16(c, 0x06, 0x0010);
        put8(c, 0x34, cap_ptr);
    }
}

static void std_cap(uint8_t *c, unsigned off, uint8_t id, uint8_t next)
{
    put8(c, off, id);
    put8(c, off + 1, next);
}

static void ext_cap(uint8_t *c, unsigned off, uint16_t id, uint8_t ver, unsigned next)
{
    put32(c, off, id | (uint32_t)ver << 16 | (uint32_t)next << 20);
}

/* A PCIe endpoint NIC with every capability kind the report decodes. */
static void craft_full(uint8_t *c)
{
    header(c, 0x8086, 0x1572, 0x020000, 0x40);
    put32(c, 0x10, 0x0000000c); /* BAR0: 64-bit prefetchable memory */
    put32(c, 0x14, 0x00000060);
    put32(c, 0x18, 0xfe000000); /* BAR2: 32-bit memory */
    put32(c, 0x20, 0x0000e001); /* BAR4: I/O */
    std_cap(c, 0x40, 0x01, 0x50);         /* PM */
    put16(c, 0x42, 0x0003);               /* version 3 */
    put16(c, 0x44, 0x0008);               /* No_Soft_Reset */
    std_cap(c, 0x50, 0x05, 0x70);         /* MSI */
    put16(c, 0x52, 0x0180 | (3 << 1));    /* 64-bit, masking, 8 vectors */
    std_cap(c, 0x70, 0x11, 0xa0);         /* MSI-X */
    put16(c, 0x72, 0x003f);               /* 64 entries */
    put32(c, 0x74, 0x00002000 | 2);       /* table BAR2 +0x2000 */
    put32(c, 0x78, 0x00003000 | 2);       /* PBA BAR2 +0x3000 */
    std_cap(c, 0xa0, 0x10, 0xe0);         /* PCIe */
    put16(c, 0xa2, 0x0002);               /* v2 endpoint */
    put32(c, 0xa4, 1u << 28);             /* FLR */
    std_cap(c, 0xe0, 0x13, 0x00);         /* AF */
    put8(c, 0xe2, 6);
    put8(c, 0xe3, 0x03);                  /* TP, FLR */
    ext_cap(c, 0x100, 0x0001, 2, 0x140);  /* AER */
    ext_cap(c, 0x140, 0x000d, 1, 0x150);  /* ACS */
    put16(c, 0x144, 0x001f);
    put16(c, 0x146, 0x001d);
    ext_cap(c, 0x150, 0x000f, 1, 0x160);  /* ATS */
    put16(c, 0x154, 0x0020 | 5);
    put16(c, 0x156, 0x8000);
    ext_cap(c, 0x160, 0x001b, 1, 0x170);  /* PASID */
    put16(c, 0x164, (20 << 8) | 0x6);
    ext_cap(c, 0x170, 0x0013, 1, 0x180);  /* PRI */
    put32(c, 0x178, 512);
    ext_cap(c, 0x180, 0x0010, 1, 0x000);  /* SR-IOV */
    put16(c, 0x18c, 64);
    put16(c, 0x18e, 64);
    put16(c, 0x190, 4);
    put16(c, 0x194, 0x80);
    put16(c, 0x196, 1);
    put16(c, 0x19a, 0x154c);
}

static bool has_problem(const struct vgt_pci_cfg_info *info, const char *needle)
{
    for (unsigned i = 0; i < info->nproblems; i++)
        if (strstr(info->problems[i], needle))
            return true;
    return false;
}

static bool has_reason(const struct vgt_pci_dev *d, enum vgt_pci_sev sev, const char *needle)
{
    for (unsigned i = 0; i < d->nreasons; i++)
        if (d->reasons[i].sev == sev && strstr(d->reasons[i].text, needle))
            return true;
    return false;
}

static void test_every_capability(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_cfg_info info;
    static const struct { uint16_t off, id; bool ext; } want[] = {
        {0x40, 0x01, false}, {0x50, 0x05, false}, {0x70, 0x11, false}, {0xa0, 0x10, false},
        {0xe0, 0x13, false}, {0x100, 0x01, true}, {0x140, 0x0d, true}, {0x150, 0x0f, true},
        {0x160, 0x1b, true}, {0x170, 0x13, true}, {0x180, 0x10, true},
    };

    (void)state;
    craft_full(c);
    assert_int_equal(vgt_pci_cfg_parse(c, sizeof(c), &info), 0);
    assert_int_equal(info.nproblems, 0);
    assert_int_equal(info.vendor, 0x8086);
    assert_int_equal(info.class_code, 0x020000);
    assert_int_equal(info.ncaps, sizeof(want) / sizeof(want[0]));
    for (unsigned i = 0; i < info.ncaps; i++) {
        assert_int_equal(info.caps[i].offset, want[i].off);
        assert_int_equal(info.caps[i].id, want[i].id);
        assert_int_equal(info.caps[i].ext, want[i].ext);
    }
    assert_string_equal(info.caps[0].name, "Power Management");
    assert_int_equal(info.caps[5].version, 2);
    /* BARs */
    assert_true(info.bars[0].present && info.bars[0].is64 && info.bars[0].prefetch);
    assert_int_equal(info.bars[0].base, 0x6000000000ull);
    assert_false(info.bars[1].present);
    assert_true(info.bars[2].present && !info.bars[2].is64 && !info.bars[2].prefetch);
    assert_true(info.bars[4].present && info.bars[4].io);
    assert_int_equal(info.bars[4].base, 0xe000);
    /* each decoder */
    assert_true(info.pm.present && info.pm.no_soft_reset);
    assert_int_equal(info.pm.version, 3);
    assert_true(info.msi.present && info.msi.is64 && info.msi.maskable);
    assert_int_equal(info.msi.vectors, 8);
    assert_int_equal(info.msix.table_size, 64);
    assert_int_equal(info.msix.table_bir, 2);
    assert_int_equal(info.msix.table_offset, 0x2000);
    assert_int_equal(info.msix.pba_offset, 0x3000);
    assert_true(info.pcie.present && info.pcie.flr);
    assert_int_equal(info.pcie.type, 0);
    assert_int_equal(info.pcie.version, 2);
    assert_true(info.af.present && info.af.flr && info.af.tp);
    assert_int_equal(info.acs.cap, 0x1f);
    assert_int_equal(info.acs.ctrl, 0x1d);
    assert_true(info.ats.present && info.ats.enabled && info.ats.page_aligned);
    assert_int_equal(info.ats.inv_queue_depth, 5);
    assert_true(info.pasid.exec && info.pasid.priv);
    assert_int_equal(info.pasid.max_width, 20);
    assert_int_equal(info.pri.max_requests, 512);
    assert_int_equal(info.sriov.total_vfs, 64);
    assert_int_equal(info.sriov.num_vfs, 4);
    assert_int_equal(info.sriov.vf_offset, 0x80);
    assert_int_equal(info.sriov.vf_device, 0x154c);
    assert_non_null(vgt_pci_cfg_find_cap(&info, true, 0x1b));
    assert_null(vgt_pci_cfg_find_cap(&info, true, 0x1e));
}

static void test_cap_loops(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_cfg_info info;

    (void)state;
    header(c, 0x1234, 0x5678, 0x020000, 0x40);
    std_cap(c, 0x40, 0x01, 0x50);
    std_cap(c, 0x50, 0x05, 0x40); /* back to the first */
    assert_int_equal(vgt_pci_cfg_parse(c, 256, &info), 0);
    assert_int_equal(info.ncaps, 2);
    assert_true(has_problem(&info, "loops back to 0x40"));

    /* A self loop in the extended list. */
    header(c, 0x1234, 0x5678, 0x020000, 0);
    ext_cap(c, 0x100, 0x0001, 1, 0x200);
    ext_cap(c, 0x200, 0x000d, 1, 0x200);
    assert_int_equal(vgt_pci_cfg_parse(c, 4096, &info), 0);
    assert_int_equal(info.ncaps, 2);
    assert_true(has_problem(&info, "extended capability list loops back to 0x200"));
}

static void test_bad_pointers(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_cfg_info info;

    (void)state;
    header(c, 0x1234, 0x5678, 0x020000, 0x10); /* into the header */
    assert_int_equal(vgt_pci_cfg_parse(c, 256, &info), 0);
    assert_int_equal(info.ncaps, 0);
    assert_true(has_problem(&info, "points into the header"));

    header(c, 0x1234, 0x5678, 0x020000, 0xc0); /* past a 128-byte dump */
    assert_int_equal(vgt_pci_cfg_parse(c, 128, &info), 0);
    assert_true(has_problem(&info, "only 128 bytes of config space"));
    header(c, 0x1234, 0x5678, 0x020000, 0x40); /* the next one is */
    std_cap(c, 0x40, 0x01, 0xf0);
    assert_int_equal(vgt_pci_cfg_parse(c, 200, &info), 0);
    assert_int_equal(info.ncaps, 1);
    assert_true(has_problem(&info, "capability pointer 0xf0 is beyond the end of the dump (0xc8 bytes)"));

    header(c, 0x1234, 0x5678, 0x020000, 0);
    ext_cap(c, 0x100, 0x0001, 1, 0x0fc);   /* next below 0x100 */
    assert_int_equal(vgt_pci_cfg_parse(c, 4096, &info), 0);
    assert_true(has_problem(&info, "points below 0x100"));

    ext_cap(c, 0x100, 0x0001, 1, 0x800);   /* next past a 1 KiB dump */
    assert_int_equal(vgt_pci_cfg_parse(c, 1024, &info), 0);
    assert_true(has_problem(&info, "0x800 is beyond the end of the dump"));

    /* MSI-X at 0xf8 needs 12 bytes: runs past the standard space. */
    header(c, 0x1234, 0x5678, 0x020000, 0xf8);
    std_cap(c, 0xf8, 0x11, 0);
    assert_int_equal(vgt_pci_cfg_parse(c, 4096, &info), 0);
    assert_false(info.msix.present);
    assert_true(has_problem(&info, "runs past the 256-byte standard space"));

    /* MSI-X naming BAR 7. */
    header(c, 0x1234, 0x5678, 0x020000, 0x40);
    std_cap(c, 0x40, 0x11, 0);
    put32(c, 0x44, 7);
    assert_int_equal(vgt_pci_cfg_parse(c, 256, &info), 0);
    assert_true(has_problem(&info, "table BIR 7 names no BAR"));

    /* 64-bit BAR in the last slot. */
    header(c, 0x1234, 0x5678, 0x020000, 0);
    put32(c, 0x24, 0x4);
    assert_int_equal(vgt_pci_cfg_parse(c, 64, &info), 0);
    assert_true(has_problem(&info, "BAR 5 is 64-bit but has no upper half"));
}

static void test_truncated(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_cfg_info info;
    static struct vgt_pci_dev d;
    struct vgt_pci_ctx ctx = {0};

    (void)state;
    craft_full(c);
    assert_int_equal(vgt_pci_cfg_parse(c, 63, &info), -EINVAL);
    assert_true(has_problem(&info, "truncated: 63 bytes"));
    assert_int_equal(vgt_pci_cfg_parse(NULL, 0, &info), -EINVAL);
    /* 64 bytes (what non-root gets): header only, capabilities unknown. */
    assert_int_equal(vgt_pci_cfg_parse(c, 64, &info), 0);
    assert_int_equal(info.ncaps, 0);
    assert_true(has_problem(&info, "only 64 bytes of config space"));
    /* A dump cut inside the extended list keeps what it has. */
    assert_int_equal(vgt_pci_cfg_parse(c, 0x166, &info), 0);
    assert_true(info.ats.present);
    assert_false(info.pasid.present);
    assert_true(has_problem(&info, "Process Address Space ID capability at 0x160 is truncated"));
    assert_true(has_problem(&info, "0x170 is beyond the end"));

    memset(&d, 0, sizeof(d));
    assert_int_equal(vgt_pci_analyse(&ctx, &d, c, 40), -EINVAL);
    assert_int_equal(d.verdict, VGT_PCI_NOT_ASSIGNABLE);
}

/* ---- dumps ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static const char *data_path(const char *rel)
{
    static char buf[1024];
    const char *base = getenv("VGT_TEST_DATA");

    snprintf(buf, sizeof(buf), "%s/%s", base ? base : "tests/data", rel);
    return buf;
}

/* Write @c (len bytes) as `lspci -xxxx` prints it. */
static void write_lspci(FILE *f, const char *bdf_line, const uint8_t *c, size_t len)
{
    fprintf(f, "%s\n", bdf_line);
    for (size_t off = 0; off < len; off += 16) {
        fprintf(f, "%02zx:", off);
        for (size_t i = 0; i < 16 && off + i < len; i++)
            fprintf(f, " %02x", c[off + i]);
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
}

static void test_lspci_fixture(void **state)
{
    size_t len;
    char *buf = slurp(data_path("pci/lspci-xxxx-firecracker.txt"), &len);
    struct vgt_pci_dump_dev *devs = calloc(16, sizeof(*devs));
    static struct vgt_pci_cfg_info info;
    char err[256];
    int n;

    (void)state;
    n = vgt_pci_dump_parse(buf, len, devs, 16, err, sizeof(err));
    assert_int_equal(n, 6);
    /* 00:00.0 is the host bridge with 4096 bytes; 00:01.0 the balloon. */
    assert_true(devs[0].have_bdf);
    assert_int_equal(devs[0].len, 4096);
    assert_int_equal(devs[0].cfg[0], 0x86);
    assert_int_equal(devs[1].dev, 1);
    assert_int_equal(devs[1].len, 256);
    assert_string_equal(devs[1].note, "");
    assert_int_equal(vgt_pci_cfg_parse(devs[1].cfg, devs[1].len, &info), 0);
    assert_int_equal(info.vendor, 0x1af4);
    assert_int_equal(info.ncaps, 6);
    assert_int_equal(info.caps[5].id, 0x11);
    assert_int_equal(info.caps[5].offset, 0x98);
    assert_int_equal(info.msix.table_size, 5);
    free(devs);
    free(buf);
}

static void test_lspci_format(void **state)
{
    static uint8_t c[4096];
    struct vgt_pci_dump_dev *devs = calloc(4, sizeof(*devs));
    char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    FILE *f;
    int n;

    (void)state;
    craft_full(c);
    f = open_memstream(&buf, &len);
    write_lspci(f, "0000:3b:00.0 Ethernet controller: Intel Corporation Ethernet Controller X710", c, 4096);
    write_lspci(f, "3b:00.1 Ethernet controller: Intel Corporation", c, 256);
    fclose(f);
    n = vgt_pci_dump_parse(buf, len, devs, 4, err, sizeof(err));
    assert_int_equal(n, 2);
    assert_int_equal(devs[0].bus, 0x3b);
    assert_int_equal(devs[1].func, 1);
    assert_int_equal(devs[0].len, 4096);
    assert_memory_equal(devs[0].cfg, c, 4096);
    assert_int_equal(devs[1].len, 256);
    free(buf);

    /* A line cut short: the dump stops there, with a note. */
    f = open_memstream(&buf, &len);
    fprintf(f, "00:02.0 VGA compatible controller: Intel\n00: 86 80 12 34 00 00 10 00 00 00 00 03 00 00 00 00\n");
    fprintf(f, "10: 00 00 00 00\n20: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n");
    fclose(f);
    n = vgt_pci_dump_parse(buf, len, devs, 4, err, sizeof(err));
    assert_int_equal(n, -EINVAL);
    assert_non_null(strstr(err, "truncated at 0x14"));
    free(buf);

    /* A gap in the offsets. */
    f = open_memstream(&buf, &len);
    write_lspci(f, "00:03.0 Foo", c, 64);
    fprintf(f, "50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n");
    fclose(f);
    /* the blank line ended device 00:03.0 but the next line continues it */
    n = vgt_pci_dump_parse(buf, len, devs, 4, err, sizeof(err));
    assert_int_equal(n, 1);
    assert_int_equal(devs[0].len, 64);
    assert_non_null(strstr(devs[0].note, "expected offset 0x40, found 0x50"));
    free(buf);

    /* No dump lines at all. */
    n = vgt_pci_dump_parse("hello world\n", 12, devs, 4, err, sizeof(err));
    assert_int_equal(n, -EINVAL);
    assert_non_null(strstr(err, "no config-space lines"));

    /* Raw binary: too short, then fine. */
    n = vgt_pci_dump_parse((const char *)"\x86\x80\x00\x01", 4, devs, 4, err, sizeof(err));
    assert_int_equal(n, -EINVAL);
    assert_non_null(strstr(err, "truncated: 4 bytes"));
    n = vgt_pci_dump_parse((const char *)c, 256, devs, 4, err, sizeof(err));
    assert_int_equal(n, 1);
    assert_false(devs[0].have_bdf);
    assert_int_equal(devs[0].len, 256);
    free(devs);
}

/* ---- a prepared sysfs tree ---- */

static char tree[256];

static void mk(const char *rel)
{
    char p[512];

    snprintf(p, sizeof(p), "%s/%s", tree, rel);
    for (char *s = p + strlen(tree) + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
}

static void wr(const char *rel, const char *text)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", tree, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void ln(const char *target, const char *rel)
{
    char p[512];

    snprintf(p, sizeof(p), "%s/%s", tree, rel);
    unlink(p);
    assert_int_equal(symlink(target, p), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* The layout of Linux sysfs: bus/pci/devices/SBDF/{driver,iommu_group,
 * reset_method,drm/}, kernel/iommu_groups/N/devices/, class/drm/. */
static int tree_setup(void **state)
{
    (void)state;
    snprintf(tree, sizeof(tree), "/tmp/vgt-sysfs-XXXXXX");
    assert_non_null(mkdtemp(tree));
    mk("bus/pci/drivers/i915");
    mk("bus/pci/drivers/pciback");
    mk("bus/pci/devices/0000:00:02.0/drm/card0");
    mk("bus/pci/devices/0000:00:02.0/drm/renderD128");
    mk("bus/pci/devices/0000:00:1f.3");
    mk("bus/pci/devices/0000:3b:00.0");
    ln("../../../bus/pci/drivers/i915", "bus/pci/devices/0000:00:02.0/driver");
    ln("../../../kernel/iommu_groups/1", "bus/pci/devices/0000:00:02.0/iommu_group");
    ln("../../../kernel/iommu_groups/1", "bus/pci/devices/0000:00:1f.3/iommu_group");
    ln("../../../bus/pci/drivers/pciback", "bus/pci/devices/0000:3b:00.0/driver");
    ln("../../../kernel/iommu_groups/7", "bus/pci/devices/0000:3b:00.0/iommu_group");
    wr("bus/pci/devices/0000:00:02.0/reset_method", "flr bus\n");
    wr("bus/pci/devices/0000:3b:00.0/reset_method", "flr\n");
    mk("kernel/iommu_groups/1/devices/0000:00:02.0");
    mk("kernel/iommu_groups/1/devices/0000:00:1f.3");
    mk("kernel/iommu_groups/7/devices/0000:3b:00.0");
    mk("class/drm/card0-eDP-1");
    mk("class/drm/card0-HDMI-A-1");
    wr("class/drm/card0-eDP-1/status", "connected\n");
    wr("class/drm/card0-eDP-1/enabled", "enabled\n");
    wr("class/drm/card0-HDMI-A-1/status", "disconnected\n");
    return 0;
}

static int tree_teardown(void **state)
{
    (void)state;
    nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void craft_igd(uint8_t *c)
{
    header(c, 0x8086, 0x3e92, 0x030000, 0x40);
    put32(c, 0x10, 0x4);                  /* GTTMMADR 64-bit */
    put32(c, 0x18, 0xc);                  /* GMADR 64-bit prefetchable */
    put32(c, 0x5c, 0x7b800001);           /* BDSM */
    put32(c, 0xfc, 0x7a6e8018);           /* ASLS */
    std_cap(c, 0x40, 0x09, 0x70);         /* vendor specific */
    put8(c, 0x42, 0x0c);
    std_cap(c, 0x70, 0x10, 0xac);         /* PCIe RC integrated endpoint */
    put16(c, 0x72, 0x0092);
    put32(c, 0x74, 1u << 28);
    std_cap(c, 0xac, 0x05, 0xd0);         /* MSI */
    std_cap(c, 0xd0, 0x01, 0x00);         /* PM */
}

/* `--config-file` with more devices than the first, small parse holds
 * (8): parsed again into 64 slots, the same result as one parse; more
 * than 64 is refused with the line that overflowed. */
static void test_scan_file_many(void **state)
{
    static uint8_t c[4096];
    struct vgt_pci_ctx ctx = {.sysfs_root = "/nonexistent-vgt-test"};
    struct vgt_pci_dev *devs = NULL;
    char path[] = "/tmp/vgt-test-pci-XXXXXX", err[256] = "", name[64];
    FILE *f;
    int fd, n;

    (void)state;
    craft_full(c);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    for (unsigned i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "00:%02x.0 Foo", i + 1);
        write_lspci(f, name, c, 64);
    }
    fclose(f);
    n = vgt_pci_scan_file(&ctx, path, NULL, NULL, 0, &devs, err, sizeof(err));
    assert_int_equal(n, 10);
    assert_int_equal(devs[9].dev, 10);
    assert_string_equal(err, "");
    free(devs);

    f = fopen(path, "w");
    for (unsigned i = 0; i < 65; i++) {
        snprintf(name, sizeof(name), "%02x:00.0 Foo", i);
        write_lspci(f, name, c, 64);
    }
    fclose(f);
    devs = NULL;
    n = vgt_pci_scan_file(&ctx, path, NULL, NULL, 0, &devs, err, sizeof(err));
    assert_int_equal(n, -E2BIG);
    assert_null(devs);
    assert_non_null(strstr(err, "more than 64 devices"));
    unlink(path);
}

static void test_sysfs_igd(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_dev d;
    struct vgt_pci_ctx ctx = {.sysfs_root = tree};

    (void)state;
    craft_igd(c);
    memset(&d, 0, sizeof(d));
    d.have_bdf = true;
    d.dev = 2;
    assert_int_equal(vgt_pci_analyse(&ctx, &d, c, 256), 0);
    assert_true(d.sysfs);
    assert_string_equal(d.driver, "i915");
    assert_int_equal(d.iommu_group, 1);
    assert_int_equal(d.npeers, 1);
    assert_string_equal(d.peers[0], "0000:00:1f.3");
    assert_string_equal(d.reset_methods, "flr bus");
    assert_int_equal(d.iommu, VGT_IOMMU_PRESENT);
    assert_int_equal(d.ndrm, 2);
    assert_int_equal(d.nconnected, 1);
    assert_string_equal(d.connectors, "card0-eDP-1");
    assert_true(d.cfg.igd.present);
    assert_int_equal(d.cfg.igd.asls, 0x7a6e8018);
    assert_int_equal(d.cfg.igd.bdsm, 0x7b800000);
    assert_int_equal(d.verdict, VGT_PCI_NOT_ASSIGNABLE);
    assert_true(has_reason(&d, VGT_PCI_BLOCKER, "driving an active display (card0-eDP-1)"));
    assert_true(has_reason(&d, VGT_PCI_CAVEAT, "gfx_passthru=\"igd\""));
    assert_true(has_reason(&d, VGT_PCI_CAVEAT, "RMRR"));
    assert_true(has_reason(&d, VGT_PCI_NOTE, "OpRegion at 0x7a6e8018"));
    assert_true(has_reason(&d, VGT_PCI_NOTE, "stolen memory at 0x7b800000 (BDSM, config 0x5c)"));
    assert_true(has_reason(&d, VGT_PCI_CAVEAT, "also holds 0000:00:1f.3"));
    assert_true(has_reason(&d, VGT_PCI_CAVEAT, "bound to host driver i915"));

    /* The display switched off: no longer a blocker. */
    wr("class/drm/card0-eDP-1/status", "disconnected\n");
    memset(&d, 0, sizeof(d));
    d.have_bdf = true;
    d.dev = 2;
    assert_int_equal(vgt_pci_analyse(&ctx, &d, c, 256), 0);
    assert_int_equal(d.nconnected, 0);
    assert_int_equal(d.verdict, VGT_PCI_ASSIGNABLE_CAVEATS);
    assert_true(has_reason(&d, VGT_PCI_CAVEAT, "DRM nodes /dev/dri/"));
    wr("class/drm/card0-eDP-1/status", "connected\n");
}

/* gen11+ parts report BDSM as a 64-bit register at 0xc0. */
static void test_igd_gen11_bdsm(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_cfg_info info;

    (void)state;
    craft_igd(c);
    put32(c, 0x5c, 0);
    put32(c, 0xc0, 0x80000001);
    put32(c, 0xc4, 0x1);
    assert_int_equal(vgt_pci_cfg_parse(c, 256, &info), 0);
    assert_true(info.igd.bdsm_gen11);
    assert_int_equal(info.igd.bdsm, 0x180000000ull);
}

static void test_sysfs_clean_device(void **state)
{
    static uint8_t c[4096];
    static struct vgt_pci_dev d;
    struct vgt_pci_ctx ctx = {.sysfs_root = tree};

    (void)state;
    craft_full(c);
    memset(&d, 0, sizeof(d));
    d.have_bdf = true;
    d.bus = 0x3b;
    assert_int_equal(vgt_pci_analyse(&ctx, &d, c, 4096), 0);
    assert_string_equal(d.driver, "pciback");
    assert_int_equal(d.iommu_group, 7);
    assert_int_equal(d.npeers, 0);
    /* Only notes: ready for xl; SR-IOV and ATS/PASID notes. */
    for (unsigned i = 0; i < d.nreasons; i++)
        assert_int_equal(d.reasons[i].sev, VGT_PCI_NOTE);
    assert_int_equal(d.verdict, VGT_PCI_ASSIGNABLE);
    assert_true(has_reason(&d, VGT_PCI_NOTE, "64 VFs possible, 4 enabled"));

    /* Sizes as the kernel would report them: a 2 GiB 64-bit BAR is
     * placed high; a 2 KiB BAR shares its page; the MSI-X table runs
     * past its 8 KiB BAR. */
    {
        uint64_t base[6] = {0x6000000000ull, 0, 0xfe000000, 0, 0xe000, 0};
        uint64_t size[6] = {2ull << 30, 0, 0x2000, 0, 0x20, 0};
        bool is64[6] = {true}, pf[6] = {true}, io[6] = {false, false, false, false, true, false};

        vgt_pci_set_bar_sizes(&d, base, size, is64, pf, io);
        vgt_pci_judge(&d);
        assert_true(has_reason(&d, VGT_PCI_NOTE, "BAR 0 is 2048 MiB: hvmloader will place it above 4 GiB"));
        assert_true(has_reason(&d, VGT_PCI_BLOCKER, "runs past the end of BAR 2"));
        assert_int_equal(d.verdict, VGT_PCI_NOT_ASSIGNABLE);
    }

    /* No IOMMU at all: an empty tree. */
    {
        char saved[256];

        memcpy(saved, tree, sizeof(tree));
        ctx.sysfs_root = "/nonexistent-vgt-root";
        memset(&d, 0, sizeof(d));
        d.have_bdf = true;
        assert_int_equal(vgt_pci_analyse(&ctx, &d, c, 4096), 0);
        assert_int_equal(d.iommu, VGT_IOMMU_ABSENT);
        assert_true(has_reason(&d, VGT_PCI_BLOCKER, "no IOMMU"));
        memcpy(tree, saved, sizeof(tree));
    }
}

/* The command line end to end: --config-file + --sysfs-root + --json,
 * --xl and --prepare. */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char *out = malloc(1 << 16);
    size_t n;

    assert_non_null(p);
    assert_non_null(out);
    n = fread(out, 1, (1 << 16) - 1, p);
    out[n] = 0;
    pclose(p);
    return out;
}

static const char *vgt_bin(void)
{
    static char buf[512];

    snprintf(buf, sizeof(buf), "%s/tools/vgt", getenv("VGT_BUILD_ROOT") ? getenv("VGT_BUILD_ROOT") : "build");
    return buf;
}

static void test_cli(void **state)
{
    static uint8_t c[4096];
    char dump[300], cmd[2048];
    FILE *f;
    char *out;

    (void)state;
    snprintf(dump, sizeof(dump), "%s/dump.txt", tree);
    f = fopen(dump, "w");
    assert_non_null(f);
    craft_igd(c);
    write_lspci(f, "00:02.0 VGA compatible controller: Intel Corporation", c, 256);
    craft_full(c);
    write_lspci(f, "3b:00.0 Ethernet controller: Intel Corporation", c, 4096);
    fclose(f);

    snprintf(cmd, sizeof(cmd), "%s assign pci --json --config-file %s --sysfs-root %s", vgt_bin(), dump, tree);
    out = run(cmd);
    assert_non_null(strstr(out, "\"bdf\": \"0000:00:02.0\""));
    assert_non_null(strstr(out, "\"drm_nodes\": [\"/dev/dri/"));
    assert_non_null(strstr(out, "\"active_display\": true"));
    assert_non_null(strstr(out, "\"bdf\": \"0000:3b:00.0\""));
    assert_non_null(strstr(out, "\"name\": \"Process Address Space ID\""));
    assert_non_null(strstr(out, "\"verdict\": \"assignable\""));
    free(out);

    snprintf(cmd, sizeof(cmd), "%s assign pci --xl --config-file %s --sysfs-root %s", vgt_bin(), dump, tree);
    out = run(cmd);
    assert_string_equal(out, "pci = [ \"0000:3b:00.0\" ]\n");
    free(out);

    /* With the display off the IGD is assignable with caveats. */
    wr("class/drm/card0-eDP-1/status", "disconnected\n");
    out = run(cmd);
    assert_string_equal(out, "pci = [ \"0000:00:02.0\", \"0000:3b:00.0\" ]\ngfx_passthru = \"igd\"\n");
    free(out);
    wr("class/drm/card0-eDP-1/status", "connected\n");

    snprintf(cmd, sizeof(cmd), "%s assign pci --prepare 00:02.0 --config-file %s --sysfs-root %s",
             vgt_bin(), dump, tree);
    out = run(cmd);
    assert_non_null(strstr(out, "xl pci-assignable-add 0000:00:02.0"));
    assert_non_null(strstr(out, "echo 0000:00:02.0 > /sys/bus/pci/devices/0000:00:02.0/driver/unbind"));
    assert_non_null(strstr(out, "stop what drives the display (card0-eDP-1)"));
    assert_null(strstr(out, "3b:00.0"));
    free(out);

    /* Errors name the problem. */
    snprintf(cmd, sizeof(cmd), "%s assign pci --config-file %s/none 2>&1", vgt_bin(), tree);
    out = run(cmd);
    assert_non_null(strstr(out, "No such file or directory"));
    free(out);
    snprintf(cmd, sizeof(cmd), "%s assign pci 2>&1 zz:00", vgt_bin());
    out = run(cmd);
    assert_non_null(strstr(out, "'zz:00' is not a PCI address"));
    free(out);
}

/* ---- live: libpciaccess against lspci -vvv ---- */

struct lspci_dev {
    unsigned ncaps;
    struct { unsigned off; bool ext; char name[64]; } caps[64];
    unsigned nbars;
    struct { unsigned idx; bool io, is64, pf, have_base; uint64_t base, size; } bars[6];
    bool denied;
};

static uint64_t parse_size(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 10);

    switch (*end) {
    case 'K': return v << 10;
    case 'M': return v << 20;
    case 'G': return v << 30;
    case 'T': return v << 40;
    default: return v;
    }
}

/* One device's `lspci -vvv` block from @p: stops at the blank line. */
static void lspci_parse(FILE *p, struct lspci_dev *ld)
{
    char line[512];
    bool seen = false;

    memset(ld, 0, sizeof(*ld));
    while (fgets(line, sizeof(line), p)) {
        const char *s = line;
        unsigned off, ver, idx;
        int n = 0;

        if (line[0] == '\n') {
            if (seen)
                break;
            continue;
        }
        seen = true;
        while (*s == '\t' || *s == ' ')
            s++;
        if (strstr(s, "<access denied>"))
            ld->denied = true;
        if (sscanf(s, "Capabilities: [%x v%u]%n", &off, &ver, &n) == 2 && n) {
            ld->caps[ld->ncaps].off = off;
            ld->caps[ld->ncaps].ext = true;
            snprintf(ld->caps[ld->ncaps++].name, 64, "%s", s + n + 1);
        } else if (n = 0, sscanf(s, "Capabilities: [%x]%n", &off, &n) == 1 && n) {
            ld->caps[ld->ncaps].off = off;
            snprintf(ld->caps[ld->ncaps++].name, 64, "%s", s + n + 1);
        } else if (sscanf(s, "Region %u:%n", &idx, &n) == 1 && idx < 6 && ld->nbars < 6) {
            const char *sz = strstr(s, "[size=");
            const char *at = strstr(s, " at ");

            ld->bars[ld->nbars].idx = idx;
            ld->bars[ld->nbars].io = strstr(s, "I/O ports") != NULL;
            ld->bars[ld->nbars].is64 = strstr(s, "64-bit") != NULL;
            ld->bars[ld->nbars].pf = strstr(s, ", prefetchable") != NULL;
            if (at && at[4] != '<') {
                ld->bars[ld->nbars].have_base = true;
                ld->bars[ld->nbars].base = strtoull(at + 4, NULL, 16);
            }
            if (sz)
                ld->bars[ld->nbars].size = parse_size(sz + 6);
            ld->nbars++;
        }
        if (ld->ncaps >= 64)
            break;
    }
}

static void lspci_read(const char *bdf, struct lspci_dev *ld)
{
    char cmd[128];
    FILE *p;

    snprintf(cmd, sizeof(cmd), "lspci -vvv -s %s 2>/dev/null", bdf);
    p = popen(cmd, "r");
    assert_non_null(p);
    lspci_parse(p, ld);
    pclose(p);
}

/* lspci's capability names (pciutils ls-caps.c) for the ids we name. */
static const struct { const char *prefix; bool ext; uint16_t id; } lspci_names[] = {
    {"Power Management", false, 0x01}, {"MSI:", false, 0x05}, {"MSI-X:", false, 0x11},
    {"Express", false, 0x10}, {"Vendor Specific Information", false, 0x09},
    {"PCI Advanced Features", false, 0x13}, {"Subsystem", false, 0x0d},
    {"Advanced Error Reporting", true, 0x01}, {"Access Control Services", true, 0x0d},
    {"Address Translation Service", true, 0x0f}, {"Single Root I/O Virtualization", true, 0x10},
    {"Page Request Interface", true, 0x13}, {"Process Address Space ID", true, 0x1b},
    {"Device Serial Number", true, 0x03}, {"Alternative Routing-ID", true, 0x0e},
    {"Latency Tolerance Reporting", true, 0x18}, {"L1 PM Substates", true, 0x1e},
};

static void compare_caps(const char *bdf, const struct vgt_pci_cfg_info *c, const struct lspci_dev *ld)
{
    assert_int_equal(c->ncaps, ld->ncaps);
    for (unsigned i = 0; i < ld->ncaps; i++) {
        assert_int_equal(c->caps[i].offset, ld->caps[i].off);
        assert_int_equal(c->caps[i].ext, ld->caps[i].ext);
        for (size_t t = 0; t < sizeof(lspci_names) / sizeof(lspci_names[0]); t++) {
            if (strncmp(ld->caps[i].name, lspci_names[t].prefix, strlen(lspci_names[t].prefix)))
                continue;
            if (lspci_names[t].ext != c->caps[i].ext || lspci_names[t].id != c->caps[i].id)
                fail_msg("%s cap [%x]: lspci says '%s', vgt says %s (0x%x)", bdf, ld->caps[i].off,
                         ld->caps[i].name, c->caps[i].name, c->caps[i].id);
        }
    }
}

/* Offline: the saved `lspci -xxxx` and `lspci -vvv` of the same machine
 * (the Firecracker VM the project was built on) must agree. */
static void test_fixture_vs_lspci_vvv(void **state)
{
    size_t len;
    char *buf = slurp(data_path("pci/lspci-xxxx-firecracker.txt"), &len);
    struct vgt_pci_dump_dev *devs = calloc(16, sizeof(*devs));
    static struct vgt_pci_cfg_info info;
    static struct lspci_dev ld;
    FILE *vvv = fopen(data_path("pci/lspci-vvv-firecracker.txt"), "r");
    char err[256];
    int n;

    (void)state;
    assert_non_null(vvv);
    n = vgt_pci_dump_parse(buf, len, devs, 16, err, sizeof(err));
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++) {
        lspci_parse(vvv, &ld);
        assert_int_equal(vgt_pci_cfg_parse(devs[i].cfg, devs[i].len, &info), 0);
        compare_caps("fixture", &info, &ld);
        /* BAR types from config space; sizes need the live bus. */
        for (unsigned k = 0; k < ld.nbars; k++) {
            assert_true(info.bars[ld.bars[k].idx].present);
            assert_int_equal(info.bars[ld.bars[k].idx].is64, ld.bars[k].is64);
            assert_int_equal(info.bars[ld.bars[k].idx].base, ld.bars[k].base);
        }
    }
    fclose(vvv);
    free(devs);
    free(buf);
}

static void test_live_vs_lspci(void **state)
{
    struct vgt_log log = {.level = VGT_LOG_ERR};
    struct vgt_pci_ctx ctx = {.log = &log};
    struct vgt_pci_dev *devs = NULL;
    static struct lspci_dev ld;
    unsigned compared = 0;
    int n;

    (void)state;
    if (system("command -v lspci >/dev/null 2>&1") != 0) {
        printf("lspci (pciutils) not installed: live comparison skipped\n");
        skip();
    }
    n = vgt_pci_scan_live(&ctx, NULL, 0, &devs);
    if (n == -ENOENT || n == -EACCES || n == 0) {
        printf("no PCI bus visible here (%d): live comparison skipped\n", n);
        free(devs);
        skip();
    }
    assert_true(n > 0);
    for (int k = 0; k < n; k++) {
        const struct vgt_pci_dev *d = &devs[k];
        unsigned nb = 0;
        char bdf[32];

        vgt_pci_format_bdf(d, bdf, sizeof(bdf));
        lspci_read(bdf, &ld);
        if (!ld.denied && d->cfg.cfg_len >= 256)
            compare_caps(bdf, &d->cfg, &ld);
        for (unsigned i = 0; i < 6; i++) {
            const struct vgt_pci_bar *b = &d->cfg.bars[i];

            if (!b->present || !b->size_known)
                continue;
            assert_true(nb < ld.nbars);
            assert_int_equal(ld.bars[nb].idx, i);
            assert_int_equal(ld.bars[nb].io, b->io);
            assert_int_equal(ld.bars[nb].size, b->size);
            if (!b->io) {
                assert_int_equal(ld.bars[nb].is64, b->is64);
                assert_int_equal(ld.bars[nb].pf, b->prefetch);
            }
            if (ld.bars[nb].have_base)
                assert_int_equal(ld.bars[nb].base, b->base);
            nb++;
        }
        assert_int_equal(nb, ld.nbars);
        compared++;
    }
    printf("compared %u devices with lspci -vvv\n", compared);
    assert_int_equal(compared, (unsigned)n);
    free(devs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_capability),
        cmocka_unit_test(test_cap_loops),
        cmocka_unit_test(test_bad_pointers),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_lspci_fixture),
        cmocka_unit_test(test_lspci_format),
        cmocka_unit_test(test_scan_file_many),
        cmocka_unit_test(test_sysfs_igd),
        cmocka_unit_test(test_igd_gen11_bdsm),
        cmocka_unit_test(test_sysfs_clean_device),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_fixture_vs_lspci_vvv),
        cmocka_unit_test(test_live_vs_lspci),
    };

    return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}

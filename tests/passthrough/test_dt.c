/* vgt assign dt: the QEMU virt trees (PL011, virtio-mmio), crafted trees
 * for nested ranges, GICv2/GICv3, IOMMU present and absent, every error
 * case; outputs checked with dtc and fdtget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include "vgt/dt_assign.h"

static const char *build_dir = ".";
static char tmp[64];

static const char *data(const char *rel)
{
    static char buf[4][512];
    static int k;
    const char *base = getenv("VGT_TEST_DATA");

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/dt/%s", base ? base : "tests/data", rel);
    return buf[k];
}

static const char *built(const char *name)
{
    static char buf[512];

    snprintf(buf, sizeof(buf), "%s/%s", build_dir, name);
    return buf;
}

static const char *out(const char *name)
{
    static char buf[4][256];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, name);
    return buf[k];
}

static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    FILE *p;
    char *o = malloc(1 << 17);
    size_t n;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_non_null(o);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(o, 1, (1 << 17) - 1, p);
    o[n] = 0;
    pclose(p);
    while (n && o[n - 1] == '\n')
        o[--n] = 0;
    return o;
}

static void expect(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect(const char *want, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    char *got;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    got = run("%s", cmd);
    if (strcmp(got, want))
        fail_msg("%s\n  want: '%s'\n  got:  '%s'", cmd, want, got);
    free(got);
}

static const char *vgt(void)
{
    static char buf[512];

    snprintf(buf, sizeof(buf), "%s/tools/vgt", getenv("VGT_BUILD_ROOT") ? getenv("VGT_BUILD_ROOT") : "build");
    return buf;
}

static void *load(const char *path, size_t *len)
{
    void *blob = NULL;
    char err[256];

    if (vgt_dt_load(path, &blob, len, err, sizeof(err)))
        fail_msg("%s", err);
    return blob;
}

static bool has_msg(const struct vgt_dt_result *r, enum vgt_dt_sev sev, const char *needle)
{
    for (unsigned i = 0; i < r->nmsgs; i++)
        if (r->msgs[i].sev == sev && strstr(r->msgs[i].text, needle))
            return true;
    return false;
}

static struct vgt_dt_result *analyse(const char *dtb, const char *const *nodes, unsigned n,
                                     struct vgt_dt_opts *o, int want_rc)
{
    struct vgt_dt_result *r = calloc(1, sizeof(*r));
    size_t len;
    void *blob = load(dtb, &len);
    struct vgt_dt_opts def = {0};

    if (!o)
        o = &def;
    o->nodes = nodes;
    o->nnodes = n;
    assert_int_equal(vgt_dt_analyse(NULL, blob, o, r), want_rc);
    free(blob);
    return r;
}

static int have_tools(void)
{
    return system("command -v dtc >/dev/null 2>&1 && command -v fdtget >/dev/null 2>&1") == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/vgt-dt-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    return 0;
}

static int teardown(void **state)
{
    char *o;

    (void)state;
    o = run("rm -rf %s", tmp);
    free(o);
    return 0;
}

/* xl parses each iomem entry with "%" SCNx64 ",%" SCNx64 "%n@%" SCNx64
 * (tools/xl/xl_parse.c): check ours reads back the same way. */
static void check_iomem(const char *cfg, uint64_t mfn, uint64_t nr, uint64_t gfn)
{
    const char *p = strstr(cfg, "iomem = [ \"");
    uint64_t a = 0, b = 0, c = 0;

    assert_non_null(p);
    assert_int_equal(sscanf(p + 11, "%" SCNx64 ",%" SCNx64 "@%" SCNx64, &a, &b, &c), 3);
    assert_int_equal(a, mfn);
    assert_int_equal(b, nr);
    assert_int_equal(c, gfn);
}

static void test_qemu_pl011(void **state)
{
    static const char *const nodes[] = {"/pl011@9000000"};
    struct vgt_dt_result *r;
    const struct vgt_dt_dev *d;
    char *o, *cfg;

    (void)state;
    r = analyse(data("qemu-virt-gicv3-smmuv3.dtb"), nodes, 1, NULL, 0);
    d = &r->devs[0];
    assert_int_equal(d->nregs, 1);
    assert_int_equal(d->regs[0].phys, 0x9000000);
    assert_int_equal(d->regs[0].size, 0x1000);
    assert_int_equal(d->regs[0].guest, 0x9000000); /* 1:1 is clear of Xen's map */
    assert_int_equal(d->nirqs, 1);
    assert_int_equal(d->irqs[0].num, 1);
    assert_int_equal(d->irqs[0].irq, 33);
    assert_int_equal(d->irqs[0].flags, 4);
    assert_int_equal(d->gic_version, 3);
    assert_string_equal(d->gic, "/intc@8000000");
    assert_false(d->iommu);
    assert_int_equal(d->ndeps, 1);
    assert_string_equal(d->deps[0].prop, "clocks");
    assert_string_equal(d->deps[0].provider, "/apb-pclk");
    /* /apb-pclk is a fixed-clock: it goes along (PrimeCell needs it). */
    assert_true(d->deps[0].kept && d->deps[0].copied);
    assert_true(has_msg(r, VGT_DT_NOTE, "clocks -> /apb-pclk is a fixed clock: copied into the guest tree"));
    assert_int_equal(r->nclocks, 1);
    assert_string_equal(r->clocks[0].path, "/apb-pclk");
    assert_true(has_msg(r, VGT_DT_WARN, "no IOMMU protects this device"));
    assert_true(has_msg(r, VGT_DT_WARN, "IRQ 33 is in the range Xen uses for virtio-mmio"));
    free(r);

    if (!have_tools()) {
        printf("dtc/fdtget missing: output checks skipped\n");
        skip();
    }
    o = run("%s assign dt --dtb %s --node /pl011@9000000 --out-dtb %s --out-cfg %s; echo rc=$?", vgt(),
            data("qemu-virt-gicv3-smmuv3.dtb"), out("pl011.dtb"), out("pl011.cfg"));
    assert_non_null(strstr(o, "rc=0"));
    assert_null(strstr(o, "dropped:"));
    assert_non_null(strstr(o, "route: /intc@8000000 <0 1 4>"));
    free(o);
    expect("2", "fdtget %s / '#address-cells'", out("pl011.dtb"));
    expect("2", "fdtget %s / '#size-cells'", out("pl011.dtb"));
    expect("simple-bus", "fdtget %s /passthrough compatible", out("pl011.dtb"));
    expect("", "fdtget %s /passthrough ranges", out("pl011.dtb"));
    expect("2 2", "echo $(fdtget %s /passthrough '#address-cells') $(fdtget %s /passthrough '#size-cells')",
           out("pl011.dtb"), out("pl011.dtb"));
    expect("0 9000000 0 1000", "fdtget -t x %s /passthrough/pl011@9000000 reg", out("pl011.dtb"));
    expect("0 1 4", "fdtget -t x %s /passthrough/pl011@9000000 interrupts", out("pl011.dtb"));
    expect("65000", "fdtget %s /passthrough/pl011@9000000 interrupt-parent", out("pl011.dtb"));
    expect("arm,pl011 arm,primecell", "fdtget %s /passthrough/pl011@9000000 compatible", out("pl011.dtb"));
    expect("clock-names\nclocks\ncompatible\ninterrupt-parent\ninterrupts\nreg",
           "fdtget -p %s /passthrough/pl011@9000000 | sort", out("pl011.dtb"));
    expect("uartclk apb_pclk", "fdtget %s /passthrough/pl011@9000000 clock-names", out("pl011.dtb"));
    expect("fixed-clock", "fdtget %s /passthrough/apb-pclk compatible", out("pl011.dtb"));
    expect("yes", "test \"$(fdtget %s /passthrough/pl011@9000000 clocks)\" = \"$(fdtget %s /passthrough/apb-pclk phandle)"
           " $(fdtget %s /passthrough/apb-pclk phandle)\" && echo yes", out("pl011.dtb"), out("pl011.dtb"),
           out("pl011.dtb"));
    o = run("dtc -I dtb -O dts %s 2>/dev/null; echo rc=$?", out("pl011.dtb"));
    assert_non_null(strstr(o, "pl011@9000000 {"));
    assert_non_null(strstr(o, "rc=0"));
    free(o);
    cfg = run("cat %s", out("pl011.cfg"));
    assert_non_null(strstr(cfg, "device_tree = \""));
    assert_null(strstr(cfg, "dtdev"));
    assert_non_null(strstr(cfg, "irqs = [ 33 ]"));
    check_iomem(cfg, 0x9000, 1, 0x9000);
    free(cfg);
}

static void test_qemu_virtio_gicv2(void **state)
{
    static const char *const nodes[] = {"/virtio_mmio@a000000"};
    struct vgt_dt_opts o = {0};
    struct vgt_dt_result *r;
    char *s, *cfg;

    (void)state;
    /* 0x200 bytes on a page shared with the other virtio-mmio slots. */
    r = analyse(data("qemu-virt-gicv2.dtb"), nodes, 1, NULL, -EINVAL);
    assert_true(has_msg(r, VGT_DT_ERR, "reg 0xa000000+0x200 is not page aligned"));
    assert_true(has_msg(r, VGT_DT_ERR, "shares page(s) 0xa000000-0xa000fff with /virtio_mmio@a000200"));
    assert_true(has_msg(r, VGT_DT_ERR, "--allow-shared to override"));
    free(r);
    o.allow_unaligned = o.allow_shared = true;
    r = analyse(data("qemu-virt-gicv2.dtb"), nodes, 1, &o, 0);
    assert_int_equal(r->nerrors, 0);
    assert_true(has_msg(r, VGT_DT_WARN, "allowed by --allow-unaligned"));
    assert_int_equal(r->devs[0].gic_version, 2);
    assert_int_equal(r->devs[0].irqs[0].num, 16);
    assert_int_equal(r->devs[0].irqs[0].irq, 48);
    assert_int_equal(r->devs[0].irqs[0].flags, 1); /* edge rising */
    assert_int_equal(r->nspans, 1);
    assert_int_equal(r->spans[0].host, 0xa000000);
    assert_int_equal(r->spans[0].size, 0x1000);
    free(r);

    if (!have_tools())
        skip();
    s = run("%s assign dt --dtb %s --node /virtio_mmio@a000000 --out-dtb %s --out-cfg %s 2>&1; echo rc=$?", vgt(),
            data("qemu-virt-gicv2.dtb"), out("v.dtb"), out("v.cfg"));
    assert_non_null(strstr(s, "nothing written"));
    assert_non_null(strstr(s, "rc=1"));
    assert_int_equal(access(out("v.dtb"), F_OK), -1);
    free(s);
    s = run("%s assign dt --dtb %s --node /virtio_mmio@a000000 --out-dtb %s --out-cfg %s --allow-unaligned"
            " --allow-shared --dom0less %s >/dev/null 2>&1; echo rc=$?", vgt(), data("qemu-virt-gicv2.dtb"),
            out("v.dtb"), out("v.cfg"), out("v.dtsi"));
    assert_string_equal(s, "rc=0");
    free(s);
    expect("0 a000000 0 200", "fdtget -t x %s /passthrough/virtio_mmio@a000000 reg", out("v.dtb"));
    expect("0 10 1", "fdtget -t x %s /passthrough/virtio_mmio@a000000 interrupts", out("v.dtb"));
    expect("", "fdtget %s /passthrough/virtio_mmio@a000000 dma-coherent", out("v.dtb"));
    /* The dom0less source compiles, and carries xen,reg and xen,path. */
    s = run("dtc -q -I dts -O dtb -o %s %s; echo rc=$?", out("v0.dtb"), out("v.dtsi"));
    assert_string_equal(s, "rc=0");
    free(s);
    expect("0 a000000 0 200 0 a000000", "fdtget -t x %s /passthrough/virtio_mmio@a000000 xen,reg", out("v0.dtb"));
    expect("/virtio_mmio@a000000", "fdtget %s /passthrough/virtio_mmio@a000000 xen,path", out("v0.dtb"));
    expect("65000", "fdtget %s /passthrough/virtio_mmio@a000000 interrupt-parent", out("v0.dtb"));
    s = run("cat %s", out("v.dtsi"));
    assert_non_null(strstr(s, "&{/virtio_mmio@a000000} { xen,passthrough; };"));
    free(s);
    cfg = run("cat %s", out("v.cfg"));
    assert_non_null(strstr(cfg, "irqs = [ 48 ]"));
    check_iomem(cfg, 0xa000, 1, 0xa000);
    free(cfg);
}

static void test_nested_ranges_iommu(void **state)
{
    static const char *const nodes[] = {"serial7", "/ethernet@9400000", "/timer@22000000"};
    struct vgt_dt_result *r;
    const struct vgt_dt_dev *u, *e, *t;
    char *cfg, *s;

    (void)state;
    {
    struct vgt_dt_opts o = {.allow_shared = true};

    r = analyse(built("nested.dtb"), nodes, 3, &o, 0);
    /* ethernet's second SPI is also /dma@9500000's. */
    assert_true(has_msg(r, VGT_DT_WARN, "SPI 91 (IRQ 123) is also used by /dma@9500000 (allowed by --allow-shared)"));
    u = &r->devs[0];
    e = &r->devs[1];
    t = &r->devs[2];
    /* 0x2000 in bus@100000 -> 0x102000 in soc -> 0x4010_2000 at the CPU. */
    assert_string_equal(u->path, "/soc/bus@100000/uart@2000");
    assert_int_equal(u->regs[0].phys, 0x40102000);
    /* That is GUEST_RAM0 in the guest: moved above the GIC window. */
    assert_true(u->regs[0].guest < 0x10000000 && u->regs[0].guest >= 0x04020000);
    assert_true(has_msg(r, VGT_DT_NOTE, "collide with Xen's GUEST_RAM0"));
    /* GUEST_PL011 at 0x22000000 too. */
    assert_int_equal(t->regs[0].phys, 0x22000000);
    assert_true(t->regs[0].guest != 0x22000000 && t->regs[0].guest != u->regs[0].guest);
    assert_true(has_msg(r, VGT_DT_NOTE, "collide with Xen's GUEST_PL011"));
    assert_int_equal(e->regs[0].guest, 0x9400000);
    /* interrupts-extended to the GICv3. */
    assert_int_equal(u->nirqs, 1);
    assert_int_equal(u->irqs[0].irq, 92);
    assert_int_equal(u->gic_version, 3);
    /* iommus with a stream ID; legacy mmu-masters with two. */
    assert_true(u->iommu && !u->iommu_legacy);
    assert_string_equal(u->iommu_node, "/iommu@9200000");
    assert_int_equal(u->nsids, 1);
    assert_int_equal(u->sids[0], 0x42);
    assert_true(e->iommu && e->iommu_legacy);
    assert_string_equal(e->iommu_node, "/iommu@9300000");
    assert_int_equal(e->nsids, 2);
    assert_int_equal(e->sids[1], 0x101);
    assert_false(t->iommu);
    /* Every dependency kind, each naming its provider. */
    assert_true(has_msg(r, VGT_DT_WARN, "clocks depends on clock controller /clock-controller@9100000"));
    assert_true(has_msg(r, VGT_DT_WARN, "the guest will have no /clock-controller@9100000"));
    assert_true(has_msg(r, VGT_DT_WARN, "resets depends on reset controller /reset-controller@9101000"));
    assert_true(has_msg(r, VGT_DT_WARN, "power-domains depends on power domain /power-controller"));
    assert_true(has_msg(r, VGT_DT_WARN, "pinctrl-0 depends on pin configuration /soc/pinctrl@50000/uart-pins"));
    assert_true(has_msg(r, VGT_DT_WARN, "phys depends on PHY /phy@9102000"));
    assert_true(has_msg(r, VGT_DT_WARN, "enable-gpios depends on GPIO controller /gpio@9103000"));
    assert_true(has_msg(r, VGT_DT_WARN, "/timer@22000000: no IOMMU"));
    assert_false(has_msg(r, VGT_DT_WARN, "/ethernet@9400000: no IOMMU"));
    free(r);
    }

    if (!have_tools())
        skip();
    s = run("%s assign dt --dtb %s --node serial7 --node /ethernet@9400000 --node /timer@22000000"
            " --allow-shared --out-dtb %s --out-cfg %s >/dev/null; echo rc=$?", vgt(), built("nested.dtb"), out("n.dtb"),
            out("n.cfg"));
    assert_string_equal(s, "rc=0");
    free(s);
    cfg = run("cat %s", out("n.cfg"));
    assert_non_null(strstr(cfg, "dtdev = [ \"/soc/bus@100000/uart@2000\", \"/ethernet@9400000\" ]"));
    assert_non_null(strstr(cfg, "irqs = [ 92, 122, 123, 127 ]"));
    check_iomem(cfg, 0x9400, 0x10, 0x9400);
    free(cfg);
    /* Dropped properties are gone, kept ones and the subtree are there. */
    expect("compatible\ninterrupt-parent\ninterrupts\nreg\nstatus", "fdtget -p %s /passthrough/uart@4021000 | sort",
           out("n.dtb"));
    expect("1", "fdtget %s /passthrough/ethernet@9400000/mdio/ethernet-phy@1 reg", out("n.dtb"));
    /* phy-handle points at a node that came along: same phandle. */
    expect("yes", "test $(fdtget %s /passthrough/ethernet@9400000 phy-handle) = "
           "$(fdtget %s /passthrough/ethernet@9400000/mdio/ethernet-phy@1 phandle) && echo yes",
           out("n.dtb"), out("n.dtb"));
    expect("0 4020000 0 1000", "fdtget -t x %s /passthrough/timer@4020000 reg", out("n.dtb"));
}

static void test_kept_reference(void **state)
{
    static const char *const nodes[] = {"/keys", "/gpio@9103000"};
    struct vgt_dt_result *r;

    (void)state;
    r = analyse(built("nested.dtb"), nodes, 2, NULL, 0);
    assert_true(r->devs[0].deps[0].kept);
    assert_true(has_msg(r, VGT_DT_NOTE, "gpios -> /gpio@9103000 is passed through too"));
    free(r);
    if (!have_tools())
        skip();
    free(run("%s assign dt --dtb %s --node /keys --node /gpio@9103000 --out-dtb %s --out-cfg %s >/dev/null",
             vgt(), built("nested.dtb"), out("k.dtb"), out("k.cfg")));
    expect("yes", "test $(fdtget -t x %s /passthrough/keys/key gpios | cut -d' ' -f1) = "
           "$(fdtget -t x %s /passthrough/gpio@9103000 phandle) && echo yes", out("k.dtb"), out("k.dtb"));
}

static void test_gicv2_chain(void **state)
{
    static const char *const nodes[] = {"/bus@1000000000/inner@800000/serial@1,4000", "/watchdog@2a440000"};
    struct vgt_dt_result *r;

    (void)state;
    r = analyse(built("gicv2-ranges.dtb"), nodes, 2, NULL, 0);
    /* 0x1_0000_4000 -> 0x804000 in bus -> 0x10_0080_4000 at the CPU. */
    assert_int_equal(r->devs[0].regs[0].phys, 0x1000804000ull);
    assert_int_equal(r->devs[0].gic_version, 2);
    assert_int_equal(r->devs[0].irqs[0].flags, 8); /* level low */
    assert_int_equal(r->devs[0].irqs[0].irq, 69);
    assert_int_equal(r->devs[1].irqs[0].irq, 32);
    assert_true(has_msg(r, VGT_DT_WARN, "IRQ 32 is the SPI Xen gives the emulated PL011"));
    free(r);
}

static void test_guest_base(void **state)
{
    static const char *const nodes[] = {"/pl011@9000000", "/pl031@9010000"};
    struct vgt_dt_opts o = {.have_guest_base = true, .guest_base = 0x05000000};
    struct vgt_dt_result *r;

    (void)state;
    r = analyse(data("qemu-virt-gicv3-smmuv3.dtb"), nodes, 2, &o, 0);
    assert_int_equal(r->devs[0].regs[0].guest, 0x05000000);
    assert_int_equal(r->devs[1].regs[0].guest, 0x05001000);
    free(r);
    o.guest_base = 0x40000000; /* GUEST_RAM0 */
    r = analyse(data("qemu-virt-gicv3-smmuv3.dtb"), nodes, 2, &o, -EINVAL);
    assert_true(has_msg(r, VGT_DT_ERR, "collides with Xen's GUEST_RAM0"));
    free(r);
    o.guest_base = 0x05000800;
    r = analyse(data("qemu-virt-gicv3-smmuv3.dtb"), nodes, 2, &o, -EINVAL);
    assert_true(has_msg(r, VGT_DT_ERR, "not page aligned"));
    free(r);
}

static void test_force_no_iommu(void **state)
{
    static const char *const nodes[] = {"/pl011@9000000"};
    struct vgt_dt_opts o = {.force_no_iommu = true};
    struct vgt_dt_result *r;
    void *blob, *g = NULL;
    size_t len, glen;
    int off;

    (void)state;
    r = analyse(data("qemu-virt-gicv3-smmuv3.dtb"), nodes, 1, &o, 0);
    blob = load(data("qemu-virt-gicv3-smmuv3.dtb"), &len);
    assert_int_equal(vgt_dt_build_guest(blob, r, &o, true, &g, &glen), 0);
    off = fdt_path_offset(g, "/passthrough/pl011@9000000");
    assert_true(off > 0);
    assert_non_null(fdt_getprop(g, off, "xen,force-assign-without-iommu", NULL));
    free(g);
    o.force_no_iommu = false;
    assert_int_equal(vgt_dt_build_guest(blob, r, &o, true, &g, &glen), 0);
    off = fdt_path_offset(g, "/passthrough/pl011@9000000");
    assert_null(fdt_getprop(g, off, "xen,force-assign-without-iommu", NULL));
    free(g);
    free(blob);
    free(r);
}

static void test_errors(void **state)
{
    static const struct {
        const char *node, *msg;
    } cases[] = {
        {"/pmu", "/pmu: interrupt 0 is a PPI (7): only SPIs can be passed through"},
        {"/button@9600000", "interrupt controller /gpio@9103000 (vgt,test-gpio) is not a GIC"},
        {"/nobus/dev@0", "/nobus/dev@0: parent bus /nobus has no ranges"},
        {"/broken@9700000", "/broken@9700000: clocks refers to phandle 0x999 (cell 0), which no node has"},
        {"/dma@9500000", "/dma@9500000: SPI 91 (IRQ 123) is also used by /ethernet@9400000"},
        {"/nothere", "node '/nothere' not found in the host device tree"},
        {"noalias", "node 'noalias' not found"},
        {"/", "is the root"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *nodes[] = {cases[i].node};
        struct vgt_dt_result *r = analyse(built("nested.dtb"), nodes, 1, NULL, -EINVAL);

        if (!has_msg(r, VGT_DT_ERR, cases[i].msg))
            fail_msg("%s: expected error '%s', got '%s'", cases[i].node, cases[i].msg,
                     r->nmsgs ? r->msgs[0].text : "(none)");
        free(r);
    }
    {
        const char *nodes[] = {"/ethernet@9400000", "/ethernet@9400000"};
        struct vgt_dt_result *r = analyse(built("nested.dtb"), nodes, 2, NULL, -EINVAL);

        assert_true(has_msg(r, VGT_DT_ERR, "selected twice"));
        free(r);
    }
}

static void test_bad_blobs(void **state)
{
    size_t len;
    char *blob = load(data("qemu-virt-gicv2.dtb"), &len);
    char err[256];
    FILE *f;
    char *s;

    (void)state;
    assert_int_equal(vgt_dt_check_blob(blob, 20, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "truncated device tree: 20 bytes"));
    assert_int_equal(vgt_dt_check_blob(blob, len / 2, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "truncated device tree: header says"));
    blob[0] ^= 0xff;
    assert_int_equal(vgt_dt_check_blob(blob, len, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a valid device tree blob"));
    blob[0] ^= 0xff;
    /* A version-7 header (full-path node names) is refused before libfdt
     * walks it. */
    {
        struct fdt_header *h = (struct fdt_header *)blob;
        uint32_t v = h->version, lc = h->last_comp_version;

        h->version = cpu_to_fdt32(7);
        h->last_comp_version = cpu_to_fdt32(2);
        assert_int_equal(vgt_dt_check_blob(blob, len, err, sizeof(err)), -EINVAL);
        if (!strstr(err, "device tree version 7 is too old"))
            fail_msg("%s", err);
        h->version = v;
        h->last_comp_version = lc;
        assert_int_equal(vgt_dt_check_blob(blob, len, err, sizeof(err)), 0);
    }
    /* Corrupt the structure block: the first token after the root's
     * name becomes garbage. */
    {
        uint32_t off = fdt_off_dt_struct(blob);
        char *p = blob + off + 8;

        memset(p, 0x7f, 4);
        assert_int_equal(vgt_dt_check_blob(blob, len, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "malformed device tree structure"));
        /* The command ends with that one line too. */
        f = fopen(out("malformed.dtb"), "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(blob, 1, len, f), len);
        fclose(f);
        s = run("o=$(%s assign dt --dtb %s --node /pl011@9000000 --out-dtb %s --out-cfg %s 2>&1); r=$?;"
                " echo \"$o\" | grep -c .; echo \"$o\" | grep -c 'malformed device tree structure'; echo rc=$r",
                vgt(), out("malformed.dtb"), out("x.dtb"), out("x.cfg"));
        if (strcmp(s, "1\n1\nrc=1"))
            fail_msg("malformed structure: %s", s);
        free(s);
    }
    /* The command names the file. */
    f = fopen(out("trunc.dtb"), "wb");
    assert_non_null(f);
    fwrite(blob, 1, len / 3, f);
    fclose(f);
    s = run("%s assign dt --dtb %s --node /pl011@9000000 --out-dtb %s --out-cfg %s 2>&1; echo rc=$?", vgt(),
            out("trunc.dtb"), out("x.dtb"), out("x.cfg"));
    assert_non_null(strstr(s, "trunc.dtb: truncated device tree"));
    assert_non_null(strstr(s, "rc=1"));
    free(s);
    s = run("%s assign dt --dtb %s/none.dtb --node /a --out-dtb %s --out-cfg %s 2>&1; echo rc=$?", vgt(), tmp,
            out("x.dtb"), out("x.cfg"));
    assert_non_null(strstr(s, "none.dtb: No such file or directory"));
    free(s);
    /* Garbage, a tree cut at every 97th byte, and a property length
     * libfdt passes negative (fuzz_dt's memcpy crash): each run ends with
     * exactly one error line and status 1, never a signal. */
    f = fopen(out("garbage.dtb"), "wb");
    assert_non_null(f);
    for (unsigned i = 0; i < 4096; i++)
        fputc((int)((i * 2654435761u) >> 13) & 0xff, f);
    fclose(f);
    s = run("o=$(%s assign dt --dtb %s --node /pl011@9000000 --out-dtb %s --out-cfg %s 2>&1); r=$?;"
            " echo \"$o\"; echo \"$o\" | grep -c .; echo rc=$r", vgt(), out("garbage.dtb"), out("x.dtb"), out("x.cfg"));
    assert_non_null(strstr(s, "garbage.dtb: not a valid device tree blob"));
    assert_non_null(strstr(s, "\n1\nrc=1")); /* one line */
    free(s);
    for (size_t cut = 0; cut < len; cut += 97) {
        f = fopen(out("cut.dtb"), "wb");
        assert_non_null(f);
        fwrite(blob, 1, cut, f);
        fclose(f);
        s = run("o=$(%s assign dt --dtb %s --node /pl011@9000000 --out-dtb %s --out-cfg %s 2>&1); r=$?;"
                " echo \"$o\" | grep -c .; echo rc=$r", vgt(), out("cut.dtb"), out("x.dtb"), out("x.cfg"));
        if (strcmp(s, "1\nrc=1"))
            fail_msg("cut at %zu: %s", cut, s);
        free(s);
    }
    s = run("%s assign dt --dtb %s --node /interrupt-controller@8000000 --out-dtb %s --out-cfg %s 2>&1;"
            " echo rc=$?", vgt(), data("negative-prop-len.dtb"), out("x.dtb"), out("x.cfg"));
    if (!strstr(s, "error: /interrupt-controller@8000000: a property #interrupt-cells has an invalid length") ||
        !strstr(s, "rc=1"))
        fail_msg("%s", s);
    assert_int_equal(access(out("x.dtb"), F_OK), -1);
    free(s);
    s = run("%s assign dt --node /a 2>&1; echo rc=$?", vgt());
    assert_non_null(strstr(s, "need --node and --out-dtb/--out-cfg"));
    assert_non_null(strstr(s, "rc=2"));
    free(s);
    free(blob);
}

/* Byte flips all over a real tree: every one either loads and analyses
 * cleanly or is refused with a message; none crashes (ASan checks). */
static void test_mutations(void **state)
{
    static const char *const nodes[] = {"/pl011@9000000", "/virtio_mmio@a000000"};
    size_t len;
    char *orig = load(data("qemu-virt-gicv3-smmuv3.dtb"), &len);
    char *b = malloc(len);
    struct vgt_dt_result *r = malloc(sizeof(*r));
    struct vgt_dt_opts o = {.nodes = nodes, .nnodes = 2, .allow_shared = true, .allow_unaligned = true};
    unsigned loaded = 0;
    char err[256];

    (void)state;
    for (size_t pos = 0; pos < len; pos += 19) {
        void *g = NULL;
        size_t glen;

        memcpy(b, orig, len);
        b[pos] ^= (char)(0x5a + pos);
        if (vgt_dt_check_blob(b, len, err, sizeof(err)))
            continue;
        loaded++;
        if (vgt_dt_analyse(NULL, b, &o, r) == 0 && vgt_dt_build_guest(b, r, &o, true, &g, &glen) == 0) {
            FILE *f = fopen("/dev/null", "w");

            vgt_dt_write_dts(f, g, r);
            fclose(f);
            free(g);
        }
    }
    assert_true(loaded > 0);
    free(r);
    free(b);
    free(orig);
}

/* Interrupts behind interrupt-map nexus nodes (of_irq_parse_raw). */
static void test_nexus_irqs(void **state)
{
    static const char *const two[] = {"/bus@8000000/bridge@2,0/dev@1000", "/bus@8000000/bridge@2,0/dev@2000"};
    static const char *const ext[] = {"/ext@9a00000"};
    static const struct {
        const char *node, *msg;
    } bad[] = {
        /* The bridge's mask keeps address bits 15:12: 0x3000 has no entry. */
        {"/bus@8000000/bridge@2,0/dev@3000", "no interrupt-map entry of /bus@8000000/bridge@2,0 matches <0x3000 0x1>"},
        {"/bus@8000000/button@3,0", "interrupt controller /gpio@1c000000 (vgt,test-gpio) is not a GIC"},
        {"/bus@8000000/button@3,0", "route: /bus@8000000 <9> -> /gpio@1c000000 <3 0>"},
        {"/looped@9e00000", "more than 16 interrupt-map hops"},
    };
    struct vgt_dt_opts o = {.allow_shared = true};
    struct vgt_dt_result *r;
    char *s;

    (void)state;
    /* Depth 2: bridge (address-keyed) then motherboard bus (mask drops the
     * unit address) then the GIC, whose #address-cells is 1. */
    r = analyse(built("nexus.dtb"), two, 2, &o, 0);
    assert_int_equal(r->devs[0].nirqs, 1);
    assert_int_equal(r->devs[0].irqs[0].num, 80);
    assert_int_equal(r->devs[0].irqs[0].irq, 112);
    assert_int_equal(r->devs[0].irqs[0].flags, 4);
    assert_string_equal(r->devs[0].irqs[0].route,
                        "/bus@8000000/bridge@2,0 <1> -> /bus@8000000 <7> -> /interrupt-controller@2f000000 <0 80 4>");
    assert_int_equal(r->devs[1].irqs[0].num, 81);
    assert_int_equal(r->devs[1].irqs[0].flags, 1);
    assert_int_equal(r->devs[0].gic_version, 2);
    assert_string_equal(r->devs[0].gic, "/interrupt-controller@2f000000");
    /* Translated through two ranges: 0x1000 -> <2 0x1000> -> 0x08101000. */
    assert_int_equal(r->devs[0].regs[0].phys, 0x08101000);
    free(r);
    /* interrupts-extended: the GIC directly, and the nexus keyed by the
     * node's own reg. */
    r = analyse(built("nexus.dtb"), ext, 1, &o, 0);
    assert_int_equal(r->devs[0].nirqs, 2);
    assert_int_equal(r->devs[0].irqs[0].irq, 82);
    assert_int_equal(r->devs[0].irqs[1].num, 69);
    assert_string_equal(r->devs[0].irqs[1].route, "/bus@8000000 <5> -> /interrupt-controller@2f000000 <0 69 4>");
    /* The same SPI as the motherboard UART's. */
    assert_true(has_msg(r, VGT_DT_WARN, "SPI 69 (IRQ 101) is also used by /bus@8000000/uart@1,0"));
    free(r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *nodes[] = {bad[i].node};

        r = analyse(built("nexus.dtb"), nodes, 1, &o, -EINVAL);
        if (!has_msg(r, VGT_DT_ERR, bad[i].msg))
            fail_msg("%s: expected '%s', got '%s'", bad[i].node, bad[i].msg, r->nmsgs ? r->msgs[0].text : "");
        free(r);
    }
    /* The tool prints each interrupt's route and writes the GIC SPI. */
    s = run("%s assign dt --dtb %s --node /bus@8000000/bridge@2,0/dev@2000 --out-dtb %s --out-cfg %s; echo rc=$?",
            vgt(), built("nexus.dtb"), out("nx.dtb"), out("nx.cfg"));
    assert_non_null(strstr(s, "route: /bus@8000000/bridge@2,0 <1> -> /bus@8000000 <8> -> "
                              "/interrupt-controller@2f000000 <0 81 1>"));
    assert_non_null(strstr(s, "rc=0"));
    free(s);
    if (!have_tools())
        skip();
    expect("0 81 1", "fdtget %s /passthrough/dev@8102000 interrupts", out("nx.dtb"));
    expect("irqs = [ 113 ]", "grep irqs %s", out("nx.cfg"));
}

/* The clock rule: fixed clocks (and fixed-factor of fixed) go along,
 * real controllers are named in a warning; PrimeCells need apb_pclk. */
static void test_fixed_clocks(void **state)
{
    static const char *const prime[] = {"/serial@9b00000", "/rtc@9c00000"};
    static const char *const spi[] = {"/spi@9d00000"};
    static const char *const rtc[] = {"/rtc@9f00000"};
    struct vgt_dt_result *r;
    char *s;

    (void)state;
    r = analyse(built("nexus.dtb"), prime, 2, NULL, 0);
    /* The fixed-factor apb_pclk brings its fixed parent; each once. */
    assert_int_equal(r->nclocks, 2);
    assert_string_equal(r->clocks[0].path, "/clk24mhz");
    assert_string_equal(r->clocks[1].path, "/apb-pclk");
    assert_true(has_msg(r, VGT_DT_NOTE, "/rtc@9c00000: clocks -> /apb-pclk is a fixed clock: copied"));
    assert_false(has_msg(r, VGT_DT_WARN, "arm,primecell"));
    assert_int_equal(r->devs[0].ndropped, 0);
    free(r);
    /* A real controller, and a fixed-factor of it: both named. */
    r = analyse(built("nexus.dtb"), spi, 1, NULL, 0);
    assert_int_equal(r->nclocks, 0);
    assert_true(has_msg(r, VGT_DT_WARN, "the guest will have no /clock-controller@9100000"));
    assert_true(has_msg(r, VGT_DT_WARN, "the guest will have no /cc-factor"));
    free(r);
    r = analyse(built("nexus.dtb"), rtc, 1, NULL, 0);
    assert_true(has_msg(r, VGT_DT_WARN, "/rtc@9f00000: arm,primecell device whose apb_pclk stays with the host"));
    free(r);
    s = run("%s assign dt --dtb %s --node /serial@9b00000 --node /rtc@9c00000 --out-dtb %s --out-cfg %s; echo rc=$?",
            vgt(), built("nexus.dtb"), out("ck.dtb"), out("ck.cfg"));
    assert_non_null(strstr(s, "/apb-pclk  (fixed clock, copied as guest node /passthrough/apb-pclk)"));
    assert_non_null(strstr(s, "rc=0"));
    free(s);
    if (!have_tools())
        skip();
    expect("fixed-factor-clock", "fdtget %s /passthrough/apb-pclk compatible", out("ck.dtb"));
    expect("24000000", "fdtget %s /passthrough/clk24mhz clock-frequency", out("ck.dtb"));
    expect("apb_pclk", "fdtget %s /passthrough/rtc@9c00000 clock-names", out("ck.dtb"));
    /* References resolve inside the guest tree. */
    expect("yes", "test $(fdtget %s /passthrough/rtc@9c00000 clocks) = $(fdtget %s /passthrough/apb-pclk phandle)"
           " && test $(fdtget %s /passthrough/apb-pclk clocks) = $(fdtget %s /passthrough/clk24mhz phandle) && echo yes",
           out("ck.dtb"), out("ck.dtb"), out("ck.dtb"), out("ck.dtb"));
    s = run("dtc -I dtb -O dts %s >/dev/null 2>&1; echo rc=$?", out("ck.dtb"));
    assert_string_equal(s, "rc=0");
    free(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_pl011),
        cmocka_unit_test(test_qemu_virtio_gicv2),
        cmocka_unit_test(test_nested_ranges_iommu),
        cmocka_unit_test(test_kept_reference),
        cmocka_unit_test(test_gicv2_chain),
        cmocka_unit_test(test_guest_base),
        cmocka_unit_test(test_force_no_iommu),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_blobs),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_nexus_irqs),
        cmocka_unit_test(test_fixed_clocks),
    };

    if (argc > 1)
        build_dir = argv[1];
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Privileged libxenctrl steps (see vgt_xenctrl.h). */
#include "vgt_xenctrl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vgt/ioreq_backend.h"
#include "vgt/util.h"

#ifdef VGT_HAVE_XENCTRL
#include <xenctrl.h>

/* Guest-physical addresses are 52 bits at most (x86 and Arm LPAE stage 2);
 * a larger frame number from the hypervisor is treated as an error. */
#define XC_GFN_LIMIT (1ull << (52 - 12))

/* errno of the failed call, never 0 (a library that forgot to set it). */
static int fail_errno(void)
{
    return errno ? errno : EIO;
}

/* libxenctrl's default logger prints its own lines on stderr; vgtd says
 * what failed in one line of its own, so the library's go nowhere. Lives
 * on the caller's stack, which closes the interface before returning. */
static void quiet_vmessage(struct xentoollog_logger *l, xentoollog_level level, int errnoval,
                           const char *context, const char *format, va_list al)
{
    (void)l, (void)level, (void)errnoval, (void)context, (void)format, (void)al;
}

static void quiet_destroy(struct xentoollog_logger *l)
{
    (void)l;
}

static xc_interface *open_xc(xentoollog_logger *quiet, int *ret, char *err, size_t errlen)
{
    xc_interface *xch;

    *quiet = (xentoollog_logger){.vmessage = quiet_vmessage, .destroy = quiet_destroy};
    errno = 0;
    xch = xc_interface_open(quiet, quiet, 0);
    if (!xch) {
        *ret = -fail_errno();
        if (err)
            snprintf(err, errlen, "xc_interface_open: %s (errno %d)", strerror(-*ret), -*ret);
    }
    return xch;
}

static int getinfo(xc_interface *xch, uint16_t domid, xc_dominfo_t *di, char *err, size_t errlen)
{
    int n;

    errno = 0;
    n = xc_domain_getinfo(xch, domid, 1, di);
    if (n < 0) {
        int e = fail_errno();

        if (err)
            snprintf(err, errlen, "xc_domain_getinfo(%u): %s (errno %d)", domid, strerror(e), e);
        return -e;
    }
    /* It returns the first domain whose id is >= domid. */
    if (n == 0 || di->domid != domid) {
        if (err)
            snprintf(err, errlen, "xc_domain_getinfo(%u): no such domain", domid);
        return -ENOENT;
    }
    return 0;
}

/* One past the highest guest frame: on HVM, RAM above the MMIO hole is
 * relocated above 4 GiB, so the memory size alone does not bound gfns. */
static int max_gfn(xc_interface *xch, uint16_t domid, uint64_t *out, char *err, size_t errlen)
{
    xen_pfn_t gpfn = 0;

    errno = 0;
    if (xc_domain_maximum_gpfn(xch, domid, &gpfn) < 0) {
        int e = fail_errno();

        snprintf(err, errlen, "xc_domain_maximum_gpfn(%u): %s (errno %d)", domid, strerror(e), e);
        return -e;
    }
    if ((uint64_t)gpfn >= XC_GFN_LIMIT) {
        snprintf(err, errlen, "xc_domain_maximum_gpfn(%u): frame %#llx beyond 52-bit guest-physical space",
                 domid, (unsigned long long)gpfn);
        return -ERANGE;
    }
    *out = (uint64_t)gpfn + 1;
    return 0;
}

int vgt_xc_domain_check(uint16_t domid, struct vgt_xc_domain *info, char *err, size_t errlen)
{
    xc_dominfo_t di;
    xentoollog_logger quiet;
    xc_interface *xch;
    int ret = 0;

    memset(info, 0, sizeof(*info));
    xch = open_xc(&quiet, &ret, err, errlen);
    if (!xch)
        return ret;
    ret = getinfo(xch, domid, &di, err, errlen);
    if (ret)
        goto close_xc;
    info->hvm = di.hvm;
    info->paused = di.paused;
    info->dying = di.dying;
    info->mem_bytes = (uint64_t)di.nr_pages << 12;
    info->max_bytes = (uint64_t)di.max_memkb << 10;
    ret = -EINVAL;
    if (!di.hvm) {
        snprintf(err, errlen, "xc_domain_getinfo(%u): domain is not HVM", domid);
        goto close_xc;
    }
    if (di.dying) {
        snprintf(err, errlen, "xc_domain_getinfo(%u): domain is dying", domid);
        goto close_xc;
    }
    if (!di.paused) {
        snprintf(err, errlen, "xc_domain_getinfo(%u): domain is running (create it with xl create -p)",
                 domid);
        goto close_xc;
    }
    ret = max_gfn(xch, domid, &info->max_gfn, err, errlen);

close_xc:
    xc_interface_close(xch);
    return ret;
}

int vgt_xc_domain_exists(uint16_t domid)
{
    xc_dominfo_t di;
    xentoollog_logger quiet;
    xc_interface *xch;
    int ret = 0;

    xch = open_xc(&quiet, &ret, NULL, 0);
    if (!xch)
        return ret;
    ret = getinfo(xch, domid, &di, NULL, 0);
    xc_interface_close(xch);
    if (ret == -ENOENT)
        return 0;
    if (ret)
        return ret;
    return di.dying ? 0 : 1;
}

int vgt_xc_backend_create(uint16_t domid, const struct vgt_log *log,
                          const struct vgt_mapcache_dma *dma, struct vgt_ioreq_backend **out,
                          char *err, size_t errlen)
{
#ifdef VGT_HAVE_XEN_BACKEND
    struct vgt_ioreq_xen_cfg xc = {.domid = domid, .log = log, .dma = dma};
    struct vgt_xc_domain xd;
    int ret;

    ret = vgt_xc_domain_check(domid, &xd, err, errlen);
    if (ret)
        return ret;
    xc.max_gfn = xd.max_gfn;
    ret = vgt_ioreq_xen_backend_create(&xc, out);
    if (ret)
        snprintf(err, errlen, "ioreq backend for domain %u: %s", domid, strerror(-ret));
    return ret;
#else
    (void)log;
    (void)dma;
    (void)out;
    snprintf(err, errlen, "domain %u: built without the xen ioreq backend", domid);
    return -EOPNOTSUPP;
#endif
}

int vgt_xc_map_aperture(uint16_t domid, uint64_t gfn, uint64_t mfn, uint64_t nr, bool map,
                        char *err, size_t errlen)
{
    xentoollog_logger quiet;
    xc_interface *xch;
    int ret = 0;

    if (nr == 0 || gfn >= XC_GFN_LIMIT || nr > XC_GFN_LIMIT - gfn || mfn >= XC_GFN_LIMIT ||
        nr > XC_GFN_LIMIT - mfn) {
        snprintf(err, errlen, "domain %u: aperture mapping gfn %#llx mfn %#llx x %llu out of range",
                 domid, (unsigned long long)gfn, (unsigned long long)mfn, (unsigned long long)nr);
        return -EINVAL;
    }
    xch = open_xc(&quiet, &ret, err, errlen);
    if (!xch)
        return ret;
    errno = 0;
    if (xc_domain_memory_mapping(xch, domid, gfn, mfn, nr, map ? DPCI_ADD_MAPPING : DPCI_REMOVE_MAPPING)) {
        ret = -fail_errno();
        snprintf(err, errlen, "xc_domain_memory_mapping(%u, gfn %#llx, mfn %#llx, %llu, %s): %s (errno %d)", domid,
                 (unsigned long long)gfn, (unsigned long long)mfn, (unsigned long long)nr,
                 map ? "add" : "remove", strerror(-ret), -ret);
    }
    xc_interface_close(xch);
    return ret;
}

int vgt_xc_populate(uint16_t domid, uint64_t gfn, uint64_t nr, char *err, size_t errlen)
{
    xen_pfn_t gfns[16];
    xentoollog_logger quiet;
    xc_interface *xch;
    int ret = 0;

    if (nr == 0 || nr > VGT_ARRAY_SIZE(gfns) || gfn >= XC_GFN_LIMIT || nr > XC_GFN_LIMIT - gfn) {
        snprintf(err, errlen, "domain %u: populate gfn %#llx x %llu out of range", domid,
                 (unsigned long long)gfn, (unsigned long long)nr);
        return -EINVAL;
    }
    for (uint64_t i = 0; i < nr; i++)
        gfns[i] = (xen_pfn_t)(gfn + i);
    xch = open_xc(&quiet, &ret, err, errlen);
    if (!xch)
        return ret;
    errno = 0;
    if (xc_domain_populate_physmap_exact(xch, domid, (unsigned long)nr, 0, 0, gfns)) {
        ret = -fail_errno();
        snprintf(err, errlen, "xc_domain_populate_physmap_exact(%u, gfn %#llx, %llu): %s (errno %d)", domid,
                 (unsigned long long)gfn, (unsigned long long)nr, strerror(-ret), -ret);
    }
    xc_interface_close(xch);
    return ret;
}

#else

int vgt_xc_domain_check(uint16_t domid, struct vgt_xc_domain *info, char *err, size_t errlen)
{
    (void)info;
    snprintf(err, errlen, "domain %u: built without libxenctrl", domid);
    return -EOPNOTSUPP;
}

int vgt_xc_domain_exists(uint16_t domid)
{
    (void)domid;
    return -EOPNOTSUPP;
}

int vgt_xc_backend_create(uint16_t domid, const struct vgt_log *log,
                          struct vgt_ioreq_backend **out, char *err, size_t errlen)
{
    (void)log;
    (void)out;
    snprintf(err, errlen, "domain %u: built without libxenctrl", domid);
    return -EOPNOTSUPP;
}

int vgt_xc_map_aperture(uint16_t domid, uint64_t gfn, uint64_t mfn, uint64_t nr, bool map,
                        char *err, size_t errlen)
{
    (void)gfn;
    (void)mfn;
    (void)nr;
    (void)map;
    snprintf(err, errlen, "domain %u: built without libxenctrl", domid);
    return -EOPNOTSUPP;
}

int vgt_xc_populate(uint16_t domid, uint64_t gfn, uint64_t nr, char *err, size_t errlen)
{
    (void)gfn;
    (void)nr;
    snprintf(err, errlen, "domain %u: built without libxenctrl", domid);
    return -EOPNOTSUPP;
}

#endif

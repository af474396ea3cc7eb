/* Privileged libxenctrl steps (see vgt_xenctrl.h). */
#include "vgt_xenctrl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef VGT_HAVE_XENCTRL
#include <xenctrl.h>

static xc_interface *open_xc(char *err, size_t errlen)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);

    if (!xch && err)
        snprintf(err, errlen, "xc_interface_open: %s", strerror(errno));
    return xch;
}

static int getinfo(xc_interface *xch, uint16_t domid, xc_dominfo_t *di, char *err, size_t errlen)
{
    int n = xc_domain_getinfo(xch, domid, 1, di);

    if (n < 0) {
        int e = errno;

        if (err)
            snprintf(err, errlen, "xc_domain_getinfo(%u): %s", domid, strerror(e));
        return -e;
    }
    if (n == 0 || di->domid != domid) {
        if (err)
            snprintf(err, errlen, "xc_domain_getinfo(%u): no such domain", domid);
        return -ENOENT;
    }
    return 0;
}

int vgt_xc_domain_check(uint16_t domid, struct vgt_xc_domain *info, char *err, size_t errlen)
{
    xc_interface *xch = open_xc(err, errlen);
    xc_dominfo_t di;
    int ret;

    if (!xch)
        return -EACCES;
    ret = getinfo(xch, domid, &di, err, errlen);
    xc_interface_close(xch);
    if (ret)
        return ret;
    info->hvm = di.hvm;
    info->paused = di.paused;
    info->dying = di.dying;
    info->mem_bytes = (uint64_t)di.nr_pages << 12;
    info->max_bytes = (uint64_t)di.max_memkb << 10;
    if (!di.hvm) {
        snprintf(err, errlen, "xc_domain_getinfo(%u): domain is not HVM", domid);
        return -EINVAL;
    }
    if (di.dying) {
        snprintf(err, errlen, "xc_domain_getinfo(%u): domain is dying", domid);
        return -EINVAL;
    }
    if (!di.paused) {
        snprintf(err, errlen, "xc_domain_getinfo(%u): domain is running (create it with xl create -p)",
                 domid);
        return -EINVAL;
    }
    return 0;
}

int vgt_xc_domain_exists(uint16_t domid)
{
    xc_interface *xch = open_xc(NULL, 0);
    xc_dominfo_t di;
    int ret;

    if (!xch)
        return -EACCES;
    ret = getinfo(xch, domid, &di, NULL, 0);
    xc_interface_close(xch);
    if (ret == -ENOENT)
        return 0;
    if (ret)
        return ret;
    return di.dying ? 0 : 1;
}

int vgt_xc_map_aperture(uint16_t domid, uint64_t gfn, uint64_t mfn, uint64_t nr, bool map,
                        char *err, size_t errlen)
{
    xc_interface *xch = open_xc(err, errlen);
    int ret = 0;

    if (!xch)
        return -EACCES;
    if (xc_domain_memory_mapping(xch, domid, gfn, mfn, nr, map ? DPCI_ADD_MAPPING : DPCI_REMOVE_MAPPING)) {
        ret = -errno;
        snprintf(err, errlen, "xc_domain_memory_mapping(%u, gfn %#llx, mfn %#llx, %llu): %s", domid,
                 (unsigned long long)gfn, (unsigned long long)mfn, (unsigned long long)nr,
                 strerror(-ret));
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

#endif

/* PV keyboard backend on a real Xen (vkbd_xen.h). States and keys:
 * xen/io/xenbus.h and xen/io/kbdif.h; Linux xen-kbdfront is the guest. */
#include "vkbd_xen.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "vgt/util.h"

#define VKBD_TOKEN "vgt-vkbd"

struct vkbd_xen {
    uint16_t domid;
    const struct vgt_log *log;
    struct xs_handle *xs;
    xenforeignmemory_handle *fmem;
    xengnttab_handle *gnt;
    xenevtchn_handle *xce;
    char fe[64], be[64];     /* the frontend's and our directory */
    struct xenkbd_page *page; /* the shared page while connected */
    bool granted;            /* mapped by grant (else foreign) */
    evtchn_port_t port;      /* our end, while bound */
    bool bound;
    uint32_t prod;
};

/* A key under @dir, parsed as an unsigned number; -ENOENT when absent. */
static int read_uint(struct vkbd_xen *k, const char *dir, const char *key, unsigned long *v)
{
    char path[128], *s, *end;
    unsigned len;

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    s = xs_read(k->xs, XBT_NULL, path, &len);
    if (!s)
        return -ENOENT;
    errno = 0;
    *v = strtoul(s, &end, 10);
    if (errno || end == s || *end) {
        vgt_warn(k->log, "dom%u vkbd: %s is not a number", k->domid, path);
        free(s);
        return -EINVAL;
    }
    free(s);
    return 0;
}

static int write_key(struct vkbd_xen *k, const char *dir, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int write_key(struct vkbd_xen *k, const char *dir, const char *key, const char *fmt, ...)
{
    char path[128], val[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    if (!xs_write(k->xs, XBT_NULL, path, val, strlen(val))) {
        int e = errno ? errno : EIO;

        vgt_err(k->log, "dom%u vkbd: xenstore write %s: %s", k->domid, path, strerror(e));
        return -e;
    }
    return 0;
}

static int set_state(struct vkbd_xen *k, enum xenbus_state st)
{
    return write_key(k, k->be, "state", "%d", (int)st);
}

static void disconnect(struct vkbd_xen *k)
{
    if (k->bound) {
        xenevtchn_unbind(k->xce, k->port);
        k->bound = false;
    }
    if (k->page) {
        if (k->granted)
            xengnttab_unmap(k->gnt, k->page, 1);
        else
            xenforeignmemory_unmap(k->fmem, k->page, 1);
        k->page = NULL;
    }
}

/* The frontend published its page and channel: map, bind, Connected.
 * Every value is the guest's: a bad one leaves us in InitWait, named. */
static int connect_fe(struct vkbd_xen *k)
{
    unsigned long ref, chn;
    int ret = read_uint(k, k->fe, XENKBD_FIELD_RING_GREF, &ref);
    bool grant = ret == 0;
    xenevtchn_port_or_error_t p;

    if (ret == -EINVAL)
        return ret; /* a grant that is not a number: no falling back */
    if (!grant && (ret = read_uint(k, k->fe, XENKBD_FIELD_RING_REF, &ref))) {
        vgt_warn(k->log, "dom%u vkbd: the frontend gave neither page-gref nor page-ref", k->domid);
        return ret;
    }
    if ((ret = read_uint(k, k->fe, XENKBD_FIELD_EVT_CHANNEL, &chn)))
        return ret;
    if ((grant && ref > UINT32_MAX) || chn > UINT32_MAX) {
        vgt_warn(k->log, "dom%u vkbd: page %lu or channel %lu out of range", k->domid, ref, chn);
        return -EINVAL;
    }
    if (grant) {
        k->page = xengnttab_map_grant_ref(k->gnt, k->domid, (uint32_t)ref, PROT_READ | PROT_WRITE);
    } else {
        xen_pfn_t pfn = ref;
        int err = 0;

        k->page = xenforeignmemory_map(k->fmem, k->domid, PROT_READ | PROT_WRITE, 1, &pfn, &err);
        if (k->page && err) {
            xenforeignmemory_unmap(k->fmem, k->page, 1);
            k->page = NULL;
            errno = -err;
        }
    }
    k->granted = grant;
    if (!k->page) {
        ret = errno ? -errno : -EIO;
        vgt_warn(k->log, "dom%u vkbd: cannot map %s %lu: %s", k->domid,
                 grant ? "grant" : "frame", ref, strerror(-ret));
        return ret;
    }
    p = xenevtchn_bind_interdomain(k->xce, k->domid, (evtchn_port_t)chn);
    if (p < 0) {
        ret = errno ? -errno : -EIO;
        vgt_warn(k->log, "dom%u vkbd: cannot bind channel %lu: %s", k->domid, chn, strerror(-ret));
        goto unmap;
    }
    k->port = (evtchn_port_t)p;
    k->bound = true;
    /* our producer index starts where the guest's ring is */
    k->prod = __atomic_load_n(&k->page->in_prod, __ATOMIC_ACQUIRE);
    if ((ret = set_state(k, XenbusStateConnected)))
        goto unmap;
    vgt_info(k->log, "dom%u vkbd: connected (%s %lu, channel %lu)", k->domid,
             grant ? "grant" : "frame", ref, chn);
    return 0;
unmap:
    disconnect(k);
    return ret;
}

int vkbd_xen_step(struct vkbd_xen *k)
{
    char **w;
    unsigned long st;
    bool changed = false;

    while ((w = xs_check_watch(k->xs))) {
        changed = true;
        free(w);
    }
    if (!changed)
        return 0;
    if (read_uint(k, k->fe, "state", &st))
        return 0; /* not there yet (or gone) */
    switch (st) {
    case XenbusStateInitialised:
    case XenbusStateConnected:
        return k->page ? 0 : connect_fe(k);
    case XenbusStateClosing:
        disconnect(k);
        return set_state(k, XenbusStateClosing);
    case XenbusStateClosed:
        disconnect(k);
        /* ready for the next frontend (a guest reboot) */
        return set_state(k, XenbusStateInitWait);
    default:
        return 0;
    }
}

bool vkbd_xen_connected(const struct vkbd_xen *k)
{
    return k && k->page && k->bound;
}

int vkbd_xen_push(struct vkbd_xen *k, const union xenkbd_in_event *ev)
{
    uint32_t cons;

    if (!vkbd_xen_connected(k))
        return -ENOTCONN;
    /* the guest's index, read once, only bounds how far we write */
    cons = __atomic_load_n(&k->page->in_cons, __ATOMIC_ACQUIRE);
    if (k->prod - cons >= XENKBD_IN_RING_LEN)
        return -ENOSPC;
    memcpy((uint8_t *)k->page + XENKBD_IN_RING_OFFS +
               (k->prod % XENKBD_IN_RING_LEN) * XENKBD_IN_EVENT_SIZE,
           ev, XENKBD_IN_EVENT_SIZE);
    /* the event before the index (xen-kbdfront reads in_prod first) */
    k->prod++;
    __atomic_store_n(&k->page->in_prod, k->prod, __ATOMIC_RELEASE);
    xenevtchn_notify(k->xce, k->port);
    return 0;
}

/* The backend and frontend directories, each owned by its end with the
 * other allowed to read (xenstore's permissions: first entry is the
 * owner). The frontend's state starts at Initialising. */
static int write_nodes(struct vkbd_xen *k, unsigned w, unsigned h)
{
    struct xs_permissions be_perm[2] = {{.id = 0, .perms = XS_PERM_NONE},
                                        {.id = k->domid, .perms = XS_PERM_READ}};
    struct xs_permissions fe_perm[2] = {{.id = k->domid, .perms = XS_PERM_NONE},
                                        {.id = 0, .perms = XS_PERM_READ}};
    int ret;

    if ((ret = write_key(k, k->be, "frontend", "%s", k->fe)) ||
        (ret = write_key(k, k->be, "frontend-id", "%u", k->domid)) ||
        (ret = write_key(k, k->be, XENKBD_FIELD_FEAT_ABS_POINTER, "1")) ||
        (ret = write_key(k, k->be, XENKBD_FIELD_WIDTH, "%u", w)) ||
        (ret = write_key(k, k->be, XENKBD_FIELD_HEIGHT, "%u", h)) ||
        (ret = write_key(k, k->fe, "backend", "%s", k->be)) ||
        (ret = write_key(k, k->fe, "backend-id", "0")) ||
        (ret = write_key(k, k->fe, "state", "%d", XenbusStateInitialising)))
        return ret;
    if (!xs_set_permissions(k->xs, XBT_NULL, k->be, be_perm, 2) ||
        !xs_set_permissions(k->xs, XBT_NULL, k->fe, fe_perm, 2)) {
        ret = errno ? -errno : -EIO;
        vgt_err(k->log, "dom%u vkbd: xenstore permissions: %s", k->domid, strerror(-ret));
        return ret;
    }
    return set_state(k, XenbusStateInitWait);
}

int vkbd_xen_create(uint16_t domid, unsigned w, unsigned h, const struct vgt_log *log,
                    struct vkbd_xen **out)
{
    struct vkbd_xen *k = calloc(1, sizeof(*k));
    int ret;

    if (!k)
        return -ENOMEM;
    k->domid = domid;
    k->log = log;
    snprintf(k->fe, sizeof(k->fe), "/local/domain/%u/device/vkbd/0", domid);
    snprintf(k->be, sizeof(k->be), "/local/domain/0/backend/vkbd/%u/0", domid);
    k->xs = xs_open(0);
    if (!k->xs) {
        ret = errno ? -errno : -EIO;
        vgt_err(log, "dom%u vkbd: cannot open xenstore: %s", domid, strerror(-ret));
        goto free_k;
    }
    k->fmem = xenforeignmemory_open(NULL, 0);
    k->gnt = xengnttab_open(NULL, 0);
    k->xce = xenevtchn_open(NULL, 0);
    if (!k->fmem || !k->gnt || !k->xce) {
        ret = errno ? -errno : -EIO;
        vgt_err(log, "dom%u vkbd: cannot open %s: %s", domid,
                !k->fmem ? "xenforeignmemory" : !k->gnt ? "xengnttab" : "xenevtchn",
                strerror(-ret));
        goto close_libs;
    }
    if ((ret = write_nodes(k, w, h)))
        goto rm_nodes;
    if (!xs_watch(k->xs, k->fe, VKBD_TOKEN)) {
        ret = errno ? -errno : -EIO;
        vgt_err(log, "dom%u vkbd: cannot watch %s: %s", domid, k->fe, strerror(-ret));
        goto rm_nodes;
    }
    *out = k;
    return 0;
rm_nodes:
    xs_rm(k->xs, XBT_NULL, k->be);
    xs_rm(k->xs, XBT_NULL, k->fe);
close_libs:
    if (k->xce)
        xenevtchn_close(k->xce);
    if (k->gnt)
        xengnttab_close(k->gnt);
    if (k->fmem)
        xenforeignmemory_close(k->fmem);
    xs_close(k->xs);
free_k:
    free(k);
    return ret;
}

void vkbd_xen_destroy(struct vkbd_xen *k)
{
    if (!k)
        return;
    xs_unwatch(k->xs, k->fe, VKBD_TOKEN);
    disconnect(k);
    set_state(k, XenbusStateClosed);
    xs_rm(k->xs, XBT_NULL, k->be);
    xs_rm(k->xs, XBT_NULL, k->fe);
    xenevtchn_close(k->xce);
    xengnttab_close(k->gnt);
    xenforeignmemory_close(k->fmem);
    xs_close(k->xs);
    free(k);
}

/* The PV keyboard backend on a real Xen (host/vkbd_xen.c) with
 * libxenstore, libxengnttab, libxenforeignmemory and libxenevtchn
 * replaced at link time (-Wl,--wrap=..., see meson.build), as
 * test_xenctrl.c does for libxenctrl: a fake xenstore holds the keys, the
 * test plays xen-kbdfront (writes page-gref or page-ref, event-channel
 * and its state) and asserts the backend's nodes and states, the mapping
 * and binding it asks for, the events in the ring in kbdif's layout, the
 * notifications, and that a frontend's bad values are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/io/kbdif.h>
#include <xen/io/xenbus.h>

#include "vkbd_xen.h"

#define DOMID 7
#define FE "/local/domain/7/device/vkbd/0"
#define BE "/local/domain/0/backend/vkbd/7/0"

/* The fake libraries' state, reset by each test. */
static struct {
    char key[32][96], val[32][64];
    unsigned nkeys;
    unsigned watches, pending;
    struct xs_permissions perm[4][2];
    char perm_path[4][96];
    unsigned nperm;
    unsigned open[4], closed[4]; /* xs, fmem, gnt, xce */
    uint32_t gnt_ref, gnt_dom;
    xen_pfn_t pfn;
    unsigned mapped, unmapped;
    uint32_t remote_port;
    unsigned bound, unbound, notified;
    evtchn_port_t notified_port;
    _Alignas(4096) uint8_t page[4096]; /* the guest's shared page */
} fx;

static int token;

static int find(const char *path)
{
    for (unsigned i = 0; i < fx.nkeys; i++)
        if (!strcmp(fx.key[i], path))
            return (int)i;
    return -1;
}

static const char *get(const char *path)
{
    int i = find(path);

    return i < 0 ? NULL : fx.val[i];
}

/* The frontend (or the test) writes a key: a watch event on FE. */
static void put(const char *path, const char *val)
{
    int i = find(path);

    if (i < 0) {
        assert_true(fx.nkeys < 32);
        i = (int)fx.nkeys++;
        snprintf(fx.key[i], sizeof(fx.key[i]), "%s", path);
    }
    snprintf(fx.val[i], sizeof(fx.val[i]), "%s", val);
    if (!strncmp(path, FE, strlen(FE)) && fx.watches)
        fx.pending++;
}

struct xs_handle *__wrap_xs_open(unsigned long flags);
struct xs_handle *__wrap_xs_open(unsigned long flags)
{
    (void)flags;
    fx.open[0]++;
    return (struct xs_handle *)&token;
}

void __wrap_xs_close(struct xs_handle *h);
void __wrap_xs_close(struct xs_handle *h)
{
    assert_ptr_equal(h, &token);
    fx.closed[0]++;
}

void *__wrap_xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned *len);
void *__wrap_xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned *len)
{
    const char *v = get(path);

    (void)h, (void)t;
    if (!v) {
        errno = ENOENT;
        return NULL;
    }
    *len = (unsigned)strlen(v);
    return strdup(v);
}

bool __wrap_xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
                     unsigned len);
bool __wrap_xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
                     unsigned len)
{
    char v[64];

    (void)h, (void)t;
    assert_true(len < sizeof(v));
    memcpy(v, data, len);
    v[len] = 0;
    put(path, v);
    return true;
}

bool __wrap_xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
bool __wrap_xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    (void)h, (void)t;
    for (unsigned i = 0; i < fx.nkeys;)
        if (!strncmp(fx.key[i], path, strlen(path))) {
            fx.nkeys--;
            memcpy(fx.key[i], fx.key[fx.nkeys], sizeof(fx.key[i]));
            memcpy(fx.val[i], fx.val[fx.nkeys], sizeof(fx.val[i]));
        } else {
            i++;
        }
    return true;
}

bool __wrap_xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                               struct xs_permissions *perms, unsigned n);
bool __wrap_xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                               struct xs_permissions *perms, unsigned n)
{
    (void)h, (void)t;
    assert_int_equal(n, 2);
    assert_true(fx.nperm < 4);
    memcpy(fx.perm[fx.nperm], perms, sizeof(fx.perm[0]));
    snprintf(fx.perm_path[fx.nperm++], 96, "%s", path);
    return true;
}

bool __wrap_xs_watch(struct xs_handle *h, const char *path, const char *tok);
bool __wrap_xs_watch(struct xs_handle *h, const char *path, const char *tok)
{
    (void)h, (void)tok;
    assert_string_equal(path, FE);
    fx.watches++;
    fx.pending++; /* xenstored fires a new watch once */
    return true;
}

bool __wrap_xs_unwatch(struct xs_handle *h, const char *path, const char *tok);
bool __wrap_xs_unwatch(struct xs_handle *h, const char *path, const char *tok)
{
    (void)h, (void)tok;
    assert_string_equal(path, FE);
    fx.watches--;
    return true;
}

char **__wrap_xs_check_watch(struct xs_handle *h);
char **__wrap_xs_check_watch(struct xs_handle *h)
{
    char **w;

    (void)h;
    if (!fx.pending) {
        errno = EAGAIN;
        return NULL;
    }
    fx.pending--;
    /* one allocation, as libxenstore returns it */
    w = malloc(2 * sizeof(char *) + sizeof(FE) + 16);
    w[0] = (char *)(w + 2);
    strcpy(w[0], FE);
    w[1] = w[0] + sizeof(FE);
    strcpy(w[1], "vgt-vkbd");
    return w;
}

xenforeignmemory_handle *__wrap_xenforeignmemory_open(struct xentoollog_logger *l, unsigned f);
xenforeignmemory_handle *__wrap_xenforeignmemory_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    fx.open[1]++;
    return (xenforeignmemory_handle *)&token;
}

int __wrap_xenforeignmemory_close(xenforeignmemory_handle *h);
int __wrap_xenforeignmemory_close(xenforeignmemory_handle *h)
{
    (void)h;
    fx.closed[1]++;
    return 0;
}

void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[]);
void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom, int prot, size_t n,
                                  const xen_pfn_t arr[], int err[])
{
    (void)h, (void)prot;
    assert_int_equal(dom, DOMID);
    assert_int_equal(n, 1);
    fx.pfn = arr[0];
    err[0] = 0;
    fx.mapped++;
    return fx.page;
}

int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr, size_t n);
int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr, size_t n)
{
    (void)h;
    assert_ptr_equal(addr, fx.page);
    assert_int_equal(n, 1);
    fx.unmapped++;
    return 0;
}

xengnttab_handle *__wrap_xengnttab_open(struct xentoollog_logger *l, unsigned f);
xengnttab_handle *__wrap_xengnttab_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    fx.open[2]++;
    return (xengnttab_handle *)&token;
}

int __wrap_xengnttab_close(xengnttab_handle *h);
int __wrap_xengnttab_close(xengnttab_handle *h)
{
    (void)h;
    fx.closed[2]++;
    return 0;
}

void *__wrap_xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t dom, uint32_t ref, int prot);
void *__wrap_xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t dom, uint32_t ref, int prot)
{
    (void)h, (void)prot;
    fx.gnt_dom = dom;
    fx.gnt_ref = ref;
    fx.mapped++;
    return fx.page;
}

int __wrap_xengnttab_unmap(xengnttab_handle *h, void *addr, uint32_t n);
int __wrap_xengnttab_unmap(xengnttab_handle *h, void *addr, uint32_t n)
{
    (void)h;
    assert_ptr_equal(addr, fx.page);
    assert_int_equal(n, 1);
    fx.unmapped++;
    return 0;
}

xenevtchn_handle *__wrap_xenevtchn_open(struct xentoollog_logger *l, unsigned f);
xenevtchn_handle *__wrap_xenevtchn_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    fx.open[3]++;
    return (xenevtchn_handle *)&token;
}

int __wrap_xenevtchn_close(xenevtchn_handle *h);
int __wrap_xenevtchn_close(xenevtchn_handle *h)
{
    (void)h;
    fx.closed[3]++;
    return 0;
}

xenevtchn_port_or_error_t __wrap_xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t dom,
                                                            evtchn_port_t remote);
xenevtchn_port_or_error_t __wrap_xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t dom,
                                                            evtchn_port_t remote)
{
    (void)h;
    assert_int_equal(dom, DOMID);
    fx.remote_port = remote;
    fx.bound++;
    return 40; /* our end */
}

int __wrap_xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port);
int __wrap_xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
    (void)h;
    assert_int_equal(port, 40);
    fx.unbound++;
    return 0;
}

int __wrap_xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port);
int __wrap_xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
    (void)h;
    fx.notified++;
    fx.notified_port = port;
    return 0;
}

static int reset(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof(fx));
    return 0;
}

/* The backend's last warning, to check it names the problem. */
static char last_msg[256];

static void sink(void *opaque, const struct vgt_log *log, int level,
                 const struct vgt_log_fields *f, const char *msg)
{
    (void)opaque, (void)log, (void)level, (void)f;
    snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static const struct vgt_log *quiet_log(void)
{
    static struct vgt_log l;

    l = (struct vgt_log){.level = VGT_LOG_WARN, .sink = sink};
    return &l;
}

static struct xenkbd_page *page(void)
{
    return (struct xenkbd_page *)fx.page;
}

static const union xenkbd_in_event *ring(unsigned i)
{
    return (const union xenkbd_in_event *)(fx.page + XENKBD_IN_RING_OFFS +
                                           (i % XENKBD_IN_RING_LEN) * XENKBD_IN_EVENT_SIZE);
}

static struct vkbd_xen *up(void)
{
    struct vkbd_xen *k = NULL;

    assert_int_equal(vkbd_xen_create(DOMID, 1920, 1080, quiet_log(), &k), 0);
    assert_int_equal(vkbd_xen_step(k), 0); /* the watch's first event */
    return k;
}

static void fe_state(struct vkbd_xen *k, enum xenbus_state st)
{
    char v[8];

    snprintf(v, sizeof(v), "%d", (int)st);
    put(FE "/state", v);
    assert_int_equal(vkbd_xen_step(k), 0);
}

/* Both directories, their owners, InitWait, and the watch. */
static void test_nodes_and_initwait(void **state)
{
    struct vkbd_xen *k = up();
    char st[8];

    (void)state;
    snprintf(st, sizeof(st), "%d", XenbusStateInitWait);
    assert_string_equal(get(BE "/state"), st);
    assert_string_equal(get(BE "/frontend"), FE);
    assert_string_equal(get(BE "/frontend-id"), "7");
    assert_string_equal(get(BE "/" XENKBD_FIELD_FEAT_ABS_POINTER), "1");
    assert_string_equal(get(BE "/" XENKBD_FIELD_WIDTH), "1920");
    assert_string_equal(get(BE "/" XENKBD_FIELD_HEIGHT), "1080");
    assert_string_equal(get(FE "/backend"), BE);
    assert_string_equal(get(FE "/backend-id"), "0");
    snprintf(st, sizeof(st), "%d", XenbusStateInitialising);
    assert_string_equal(get(FE "/state"), st);
    /* backend dir owned by dom0, the guest reads; the frontend's the
     * other way round */
    assert_int_equal(fx.nperm, 2);
    assert_string_equal(fx.perm_path[0], BE);
    assert_int_equal(fx.perm[0][0].id, 0);
    assert_int_equal(fx.perm[0][1].id, DOMID);
    assert_int_equal(fx.perm[0][1].perms, XS_PERM_READ);
    assert_string_equal(fx.perm_path[1], FE);
    assert_int_equal(fx.perm[1][0].id, DOMID);
    assert_int_equal(fx.watches, 1);
    assert_false(vkbd_xen_connected(k));
    assert_int_equal(fx.mapped, 0);
    vkbd_xen_destroy(k);
    /* nodes gone, every handle closed, the watch removed */
    assert_null(get(BE "/state"));
    assert_null(get(FE "/backend"));
    assert_int_equal(fx.watches, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(fx.closed[i], fx.open[i]);
}

/* xen-kbdfront's handshake with a grant: mapped, bound, Connected; key
 * and absolute pointer events land in the ring as kbdif lays them out,
 * each with a notification on our end of the channel. */
static void test_grant_connect_and_events(void **state)
{
    struct vkbd_xen *k = up();
    union xenkbd_in_event ev = {0};
    char st[8];

    (void)state;
    union xenkbd_in_event junk;

    memset(&junk, 0xee, sizeof(junk));
    assert_int_equal(vkbd_xen_push(k, &junk), -ENOTCONN);
    put(FE "/" XENKBD_FIELD_RING_GREF, "77");
    put(FE "/" XENKBD_FIELD_EVT_CHANNEL, "13");
    fe_state(k, XenbusStateInitialised);
    assert_true(vkbd_xen_connected(k));
    assert_int_equal(fx.gnt_dom, DOMID);
    assert_int_equal(fx.gnt_ref, 77);
    assert_int_equal(fx.remote_port, 13);
    snprintf(st, sizeof(st), "%d", XenbusStateConnected);
    assert_string_equal(get(BE "/state"), st);
    fe_state(k, XenbusStateConnected); /* no second mapping */
    assert_int_equal(fx.mapped, 1);

    ev.type = XENKBD_TYPE_KEY;
    ev.key.pressed = 1;
    ev.key.keycode = 30; /* KEY_A */
    assert_int_equal(vkbd_xen_push(k, &ev), 0);
    ev = (union xenkbd_in_event){0};
    ev.type = XENKBD_TYPE_POS;
    ev.pos.abs_x = 100;
    ev.pos.abs_y = 50;
    assert_int_equal(vkbd_xen_push(k, &ev), 0);
    assert_int_equal(page()->in_prod, 2);
    assert_int_equal(ring(0)->type, XENKBD_TYPE_KEY);
    assert_int_equal(ring(0)->key.pressed, 1);
    assert_int_equal(ring(0)->key.keycode, 30);
    assert_int_equal(ring(1)->type, XENKBD_TYPE_POS);
    assert_int_equal(ring(1)->pos.abs_x, 100);
    assert_int_equal(ring(1)->pos.abs_y, 50);
    assert_int_equal(fx.notified, 2);
    assert_int_equal(fx.notified_port, 40);
    vkbd_xen_destroy(k);
    assert_int_equal(fx.unmapped, 1);
    assert_int_equal(fx.unbound, 1);
}

/* page-ref (a frame, no grant): mapped through xenforeignmemory. The
 * ring bounded by the guest's in_cons: full is refused without a
 * notification; once the guest consumed, events flow again and wrap. */
static void test_page_ref_and_full_ring(void **state)
{
    struct vkbd_xen *k = up();
    union xenkbd_in_event ev = {.type = XENKBD_TYPE_KEY};

    (void)state;
    put(FE "/" XENKBD_FIELD_RING_REF, "4660");
    put(FE "/" XENKBD_FIELD_EVT_CHANNEL, "9");
    fe_state(k, XenbusStateInitialised);
    assert_true(vkbd_xen_connected(k));
    assert_int_equal(fx.pfn, 4660);
    assert_int_equal(fx.gnt_ref, 0);
    for (unsigned i = 0; i < XENKBD_IN_RING_LEN; i++) {
        ev.key.keycode = i;
        assert_int_equal(vkbd_xen_push(k, &ev), 0);
    }
    assert_int_equal(vkbd_xen_push(k, &ev), -ENOSPC);
    assert_int_equal(fx.notified, XENKBD_IN_RING_LEN);
    page()->in_cons = 3;
    ev.key.keycode = 500;
    assert_int_equal(vkbd_xen_push(k, &ev), 0);
    assert_int_equal(ring(XENKBD_IN_RING_LEN)->key.keycode, 500); /* wrapped to slot 0 */
    assert_int_equal(ring(1)->key.keycode, 1);
    vkbd_xen_destroy(k);
}

/* A frontend's nonsense is refused, we stay in InitWait, nothing mapped;
 * its later honest values connect. */
static void test_bad_frontend_values(void **state)
{
    struct vkbd_xen *k = up();
    char st[8];

    (void)state;
    snprintf(st, sizeof(st), "%d", XenbusStateInitWait);
    put(FE "/" XENKBD_FIELD_EVT_CHANNEL, "5");
    put(FE "/state", "3");
    assert_int_equal(vkbd_xen_step(k), -ENOENT); /* no page at all */
    assert_string_equal(last_msg, "dom7 vkbd: the frontend gave neither page-gref nor page-ref");
    assert_false(vkbd_xen_connected(k));
    put(FE "/" XENKBD_FIELD_RING_REF, "12");
    put(FE "/" XENKBD_FIELD_RING_GREF, "12x"); /* a bad grant: no falling back to page-ref */
    assert_int_equal(vkbd_xen_step(k), -EINVAL);
    assert_string_equal(last_msg, "dom7 vkbd: " FE "/page-gref is not a number");
    put(FE "/" XENKBD_FIELD_RING_GREF, "99999999999");
    assert_int_equal(vkbd_xen_step(k), -EINVAL);
    assert_string_equal(last_msg, "dom7 vkbd: page 99999999999 or channel 5 out of range");
    put(FE "/" XENKBD_FIELD_RING_GREF, "8");
    put(FE "/" XENKBD_FIELD_EVT_CHANNEL, "-1");
    assert_int_equal(vkbd_xen_step(k), -EINVAL);
    assert_int_equal(fx.mapped, 0);
    assert_int_equal(fx.bound, 0);
    assert_string_equal(get(BE "/state"), st);
    put(FE "/" XENKBD_FIELD_EVT_CHANNEL, "6");
    assert_int_equal(vkbd_xen_step(k), 0);
    assert_true(vkbd_xen_connected(k));
    vkbd_xen_destroy(k);
}

/* The guest closes (or reboots): unmapped and unbound at Closing, back
 * to InitWait at Closed, and a new frontend connects again. */
static void test_close_and_reconnect(void **state)
{
    struct vkbd_xen *k = up();
    union xenkbd_in_event ev = {.type = XENKBD_TYPE_KEY};
    char st[8];

    (void)state;
    put(FE "/" XENKBD_FIELD_RING_GREF, "3");
    put(FE "/" XENKBD_FIELD_EVT_CHANNEL, "4");
    fe_state(k, XenbusStateInitialised);
    assert_true(vkbd_xen_connected(k));
    fe_state(k, XenbusStateClosing);
    assert_false(vkbd_xen_connected(k));
    assert_int_equal(fx.unmapped, 1);
    assert_int_equal(fx.unbound, 1);
    snprintf(st, sizeof(st), "%d", XenbusStateClosing);
    assert_string_equal(get(BE "/state"), st);
    assert_int_equal(vkbd_xen_push(k, &ev), -ENOTCONN);
    fe_state(k, XenbusStateClosed);
    snprintf(st, sizeof(st), "%d", XenbusStateInitWait);
    assert_string_equal(get(BE "/state"), st);
    /* the rebooted guest's page starts at its own index */
    page()->in_prod = page()->in_cons = 17;
    put(FE "/" XENKBD_FIELD_RING_GREF, "5");
    fe_state(k, XenbusStateInitialised);
    assert_true(vkbd_xen_connected(k));
    assert_int_equal(fx.gnt_ref, 5);
    assert_int_equal(vkbd_xen_push(k, &ev), 0);
    assert_int_equal(page()->in_prod, 18);
    vkbd_xen_destroy(k);
    assert_int_equal(fx.unmapped, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_nodes_and_initwait, reset),
        cmocka_unit_test_setup(test_grant_connect_and_events, reset),
        cmocka_unit_test_setup(test_page_ref_and_full_ring, reset),
        cmocka_unit_test_setup(test_bad_frontend_values, reset),
        cmocka_unit_test_setup(test_close_and_reconnect, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* vgtd's display side (vgtd_display.h, docs/display.md). */
#include "vgtd_display.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

#include "display_guest.h"
#include "host_report.h"
#include "vgpu_host.h"
#include "vgt/display_host.h"
#include "vgt/util.h"

#ifdef VGT_HAVE_VNC
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/keysym.h>
#include <rfb/rfb.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/kbdif.h>

#include "vgt/hv.h"
#include "vgt/vgpu.h"
#ifdef VGT_HAVE_VKBD_XEN
#include "vkbd_xen.h"
#endif

#define VNC_MAX_DOMS 64
#define VNC_TILE 64

/* One head served over VNC: its screen, what the client was last shown. */
struct vnc_head {
    struct vnc_dom *dom;
    unsigned pipe;
    rfbScreenInfoPtr scr;
    uint32_t *fb; /* the screen's frame buffer (libvncserver reads it) */
    struct vgt_display_frame cap; /* the last capture (incremental: kept per head) */
    unsigned w, h;
    int ufd;      /* Unix listening socket, -1 on TCP */
    char addr[160];
    int last_buttons;
    int last_x, last_y;
    uint32_t shown_surf; /* PLANE_SURFLIVE at the last capture */
};

/* PV keyboard backend of one guest (xen/io/kbdif.h): the shared page
 * the frontend published, our own producer index. */
struct vnc_kbd {
#ifdef VGT_HAVE_VKBD_XEN
    struct vkbd_xen *xen; /* on a real Xen: the xenstore-connected backend */
#endif
    unsigned abs_w, abs_h; /* the pointer range the frontend was told; 0: head pixels */
    bool connected;
    uint64_t gpa;
    uint32_t prod;
    uint64_t sent, dropped;
};

struct vnc_dom {
    struct vgtd_display *owner;
    uint16_t domid;
    unsigned slot;
    struct vgt_vgpu *v;
    struct vgt_display *disp;
    struct vnc_head heads[VGT_DISPLAY_MAX_HEADS];
    unsigned fps;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t kbd_lock;
    struct vnc_kbd kbd;
    atomic_uint_fast64_t frames, updates, cpu_ns;
};
#endif

struct vgtd_display {
    struct vgtd_display_cfg cfg;
    struct vgpu_host *host;
#ifdef VGT_HAVE_VNC
    pthread_mutex_t lock; /* doms[] */
    struct vnc_dom *doms[VNC_MAX_DOMS];
    char password[64];
    char *passwords[2];
#endif
};

#ifdef VGT_HAVE_VNC
static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- keyboard and pointer to the guest (PV keyboard backend) ---- */

/* One event into the guest's in-ring: the event first, then in_prod
 * (xen-kbdfront reads in_prod, then the events before it). The guest's
 * in_cons is read once per event and only bounds how far we may go. */
static void kbd_push(struct vnc_dom *dm, const union xenkbd_in_event *ev)
{
    struct vgt_hv *hv = vgt_vgpu_hv(dm->v);
    struct vnc_kbd *k = &dm->kbd;
    uint32_t cons;

    pthread_mutex_lock(&dm->kbd_lock);
#ifdef VGT_HAVE_VKBD_XEN
    if (k->xen) {
        if (vkbd_xen_push(k->xen, ev))
            k->dropped++; /* not connected yet, or the guest's ring is full */
        else
            k->sent++;
        goto unlock;
    }
#endif
    if (!k->connected)
        goto unlock;
    if (vgt_hv_read(hv, k->gpa + offsetof(struct xenkbd_page, in_cons), &cons, sizeof(cons)) ||
        k->prod - cons >= XENKBD_IN_RING_LEN) {
        k->dropped++; /* ring full (or the guest's index is nonsense) */
        goto unlock;
    }
    if (vgt_hv_write(hv, k->gpa + XENKBD_IN_RING_OFFS +
                             (k->prod % XENKBD_IN_RING_LEN) * XENKBD_IN_EVENT_SIZE,
                     ev, XENKBD_IN_EVENT_SIZE)) {
        k->dropped++;
        goto unlock;
    }
    atomic_thread_fence(memory_order_release);
    k->prod++;
    vgt_hv_write(hv, k->gpa + offsetof(struct xenkbd_page, in_prod), &k->prod, sizeof(k->prod));
    k->sent++;
unlock:
    pthread_mutex_unlock(&dm->kbd_lock);
}

/* X keysyms (rfb/keysym.h) to Linux input codes, as xen-kbdfront reports
 * them to the guest's input layer. */
static const struct {
    uint32_t lo, hi; /* keysym range */
    const uint16_t *codes;
    uint16_t code; /* single key when codes is NULL */
} keymap[] = {
    {XK_a, XK_z, (const uint16_t[]){KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I,
                                     KEY_J, KEY_K, KEY_L, KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R,
                                     KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z}, 0},
    {XK_A, XK_Z, (const uint16_t[]){KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I,
                                     KEY_J, KEY_K, KEY_L, KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R,
                                     KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z}, 0},
    {XK_1, XK_9, (const uint16_t[]){KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9}, 0},
    {XK_0, XK_0, NULL, KEY_0},
    {XK_Return, XK_Return, NULL, KEY_ENTER},
    {XK_Escape, XK_Escape, NULL, KEY_ESC},
    {XK_BackSpace, XK_BackSpace, NULL, KEY_BACKSPACE},
    {XK_Tab, XK_Tab, NULL, KEY_TAB},
    {XK_space, XK_space, NULL, KEY_SPACE},
    {XK_Left, XK_Left, NULL, KEY_LEFT},
    {XK_Up, XK_Up, NULL, KEY_UP},
    {XK_Right, XK_Right, NULL, KEY_RIGHT},
    {XK_Down, XK_Down, NULL, KEY_DOWN},
    {XK_Shift_L, XK_Shift_L, NULL, KEY_LEFTSHIFT},
    {XK_Shift_R, XK_Shift_R, NULL, KEY_RIGHTSHIFT},
    {XK_Control_L, XK_Control_L, NULL, KEY_LEFTCTRL},
    {XK_Control_R, XK_Control_R, NULL, KEY_RIGHTCTRL},
    {XK_Alt_L, XK_Alt_L, NULL, KEY_LEFTALT},
    {XK_Delete, XK_Delete, NULL, KEY_DELETE},
};

static void on_key(rfbBool down, rfbKeySym sym, rfbClientPtr cl)
{
    struct vnc_head *hd = cl->screen->screenData;
    union xenkbd_in_event ev = {0};

    for (size_t i = 0; i < VGT_ARRAY_SIZE(keymap); i++)
        if (sym >= keymap[i].lo && sym <= keymap[i].hi) {
            ev.key.type = XENKBD_TYPE_KEY;
            ev.key.pressed = down ? 1 : 0;
            ev.key.keycode = keymap[i].codes ? keymap[i].codes[sym - keymap[i].lo] : keymap[i].code;
            kbd_push(hd->dom, &ev);
            return;
        }
}

static void on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
    static const uint16_t btn[3] = {BTN_LEFT, BTN_MIDDLE, BTN_RIGHT};
    struct vnc_head *hd = cl->screen->screenData;
    union xenkbd_in_event ev = {0};

    if (x != hd->last_x || y != hd->last_y) {
        ev.pos.type = XENKBD_TYPE_POS;
        /* xen-kbdfront's range is fixed at connect (the type's resolution),
         * the head's mode is not: scale */
        ev.pos.abs_x = hd->dom->kbd.abs_w ? (int32_t)((uint64_t)x * hd->dom->kbd.abs_w / hd->w) : x;
        ev.pos.abs_y = hd->dom->kbd.abs_h ? (int32_t)((uint64_t)y * hd->dom->kbd.abs_h / hd->h) : y;
        kbd_push(hd->dom, &ev);
        hd->last_x = x;
        hd->last_y = y;
    }
    for (unsigned b = 0; b < 3; b++)
        if ((buttons ^ hd->last_buttons) & (1 << b)) {
            memset(&ev, 0, sizeof(ev));
            ev.key.type = XENKBD_TYPE_KEY;
            ev.key.pressed = (buttons >> b) & 1;
            ev.key.keycode = btn[b];
            kbd_push(hd->dom, &ev);
        }
    hd->last_buttons = buttons;
    rfbDefaultPtrAddEvent(buttons, x, y, cl);
}

/* ---- screens ---- */

static void set_format(rfbScreenInfoPtr scr)
{
    /* the host frame is 0x00RRGGBB in host order */
    scr->serverFormat.redShift = 16;
    scr->serverFormat.greenShift = 8;
    scr->serverFormat.blueShift = 0;
}

static int head_up(struct vgtd_display *d, struct vnc_dom *dm, unsigned pipe, char *err,
                   size_t errlen)
{
    struct vnc_head *hd = &dm->heads[pipe];
    int argc = 0;

    hd->dom = dm;
    hd->pipe = pipe;
    hd->ufd = -1;
    hd->w = 640;
    hd->h = 480;
    hd->last_x = hd->last_y = -1;
    hd->fb = calloc((size_t)hd->w * hd->h, 4);
    hd->scr = hd->fb ? rfbGetScreen(&argc, NULL, (int)hd->w, (int)hd->h, 8, 3, 4) : NULL;
    if (!hd->scr) {
        snprintf(err, errlen, "domain %u: VNC screen of head %u: out of memory", dm->domid, pipe);
        return -ENOMEM;
    }
    set_format(hd->scr);
    /* the guest's cursor is in the frame already: no server-drawn one */
    hd->scr->cursor = NULL;
    hd->scr->frameBuffer = (char *)hd->fb;
    hd->scr->screenData = hd;
    hd->scr->kbdAddEvent = on_key;
    hd->scr->ptrAddEvent = on_pointer;
    hd->scr->alwaysShared = TRUE;
    /* the frame-rate cap paces updates already: send them at once */
    hd->scr->deferUpdateTime = 0;
    hd->scr->desktopName = "vgt";
    hd->scr->autoPort = FALSE;
    hd->scr->ipv6port = 0;
    hd->scr->httpPort = 0;
    if (d->cfg.vnc_unix_dir) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        hd->scr->port = 0; /* no TCP: clients come from our Unix socket */
        if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom%u-head%u.sock",
                             d->cfg.vnc_unix_dir, dm->domid, pipe) >= sizeof(sa.sun_path)) {
            snprintf(err, errlen, "VNC socket path under %s too long", d->cfg.vnc_unix_dir);
            return -ENAMETOOLONG;
        }
        hd->ufd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        unlink(sa.sun_path);
        if (hd->ufd < 0 || bind(hd->ufd, (struct sockaddr *)&sa, sizeof(sa)) ||
            chmod(sa.sun_path, 0600) || listen(hd->ufd, 4)) {
            int e = errno;

            snprintf(err, errlen, "VNC socket %s: %s", sa.sun_path, strerror(e));
            return -e;
        }
        snprintf(hd->addr, sizeof(hd->addr), "unix:%s", sa.sun_path);
    } else {
        hd->scr->port = (int)(d->cfg.vnc_port + 3 * dm->slot + pipe);
        hd->scr->listenInterface = inet_addr(d->cfg.vnc_listen);
        hd->scr->authPasswdData = d->passwords;
        hd->scr->passwordCheck = rfbCheckPasswordByList;
        snprintf(hd->addr, sizeof(hd->addr), "%s:%d", d->cfg.vnc_listen, hd->scr->port);
    }
    rfbInitServer(hd->scr);
    if (!d->cfg.vnc_unix_dir && hd->scr->listenSock == RFB_INVALID_SOCKET) {
        snprintf(err, errlen, "VNC port %s: cannot listen (in use?)", hd->addr);
        return -EADDRINUSE;
    }
    return 0;
}

static void head_down(struct vnc_head *hd)
{
    if (hd->scr) {
        rfbShutdownServer(hd->scr, TRUE);
        rfbScreenCleanup(hd->scr);
        hd->scr = NULL;
    }
    if (hd->ufd >= 0) {
        close(hd->ufd);
        unlink(hd->addr + 5);
        hd->ufd = -1;
    }
    free(hd->fb);
    hd->fb = NULL;
    vgt_display_frame_fini(&hd->cap);
}

/* New frame of a head: the capture redraws only the bands whose guest
 * bytes changed and bounds the changed rows; of those rows only the 64x64
 * tiles that changed are copied and marked; a new size is a new frame
 * buffer (the client is told). */
static void head_update(struct vnc_dom *dm, struct vnc_head *hd)
{
    struct vgt_display_head hi;
    struct vgt_display_frame *f = &hd->cap;
    struct vgt_display_damage dmg;
    bool dirty = false;

    if (vgt_display_capture_update(dm->disp, hd->pipe, f, &hi, &dmg))
        return; /* head off: the client keeps the last picture */
    if (f->w != hd->w || f->h != hd->h) {
        uint32_t *nfb = malloc((size_t)f->w * f->h * 4);

        if (!nfb)
            return;
        memcpy(nfb, f->px, (size_t)f->w * f->h * 4);
        rfbNewFramebuffer(hd->scr, (char *)nfb, (int)f->w, (int)f->h, 8, 3, 4);
        set_format(hd->scr);
        /* rfbNewFramebuffer set the clients' translation for its default
         * format: again for ours */
        {
            rfbClientIteratorPtr it = rfbGetClientIterator(hd->scr);
            rfbClientPtr cl;

            while ((cl = rfbClientIteratorNext(it)))
                rfbSetTranslateFunction(cl);
            rfbReleaseClientIterator(it);
        }
        free(hd->fb);
        hd->fb = nfb;
        hd->w = f->w;
        hd->h = f->h;
        atomic_fetch_add(&dm->updates, 1);
        return;
    }
    /* Changed tiles merge into rectangles (runs along a tile row, then
     * rows with the same single run stacked): libvncserver's region
     * union costs per rectangle, a full-screen change is one. */
    int px0 = 0, px1 = 0, py0 = 0, py1 = 0; /* the pending rectangle, empty when px1 == 0 */

    for (unsigned ty = dmg.y0 / VNC_TILE * VNC_TILE; ty < dmg.y1; ty += VNC_TILE) {
        unsigned th = VGT_MIN(VNC_TILE, f->h - ty), runs = 0;
        int r0 = -1, rx0 = 0, rx1 = 0;

        for (unsigned tx = 0, end = 0; !end; tx += VNC_TILE) {
            unsigned tw = tx < f->w ? VGT_MIN(VNC_TILE, f->w - tx) : 0;

            end = !tw; /* one step past the last tile closes a run */
            bool diff = false;

            for (unsigned y = ty; tw && y < ty + th && !diff; y++)
                diff = memcmp(hd->fb + (size_t)y * hd->w + tx, f->px + (size_t)y * f->pitch + tx,
                              tw * 4) != 0;
            if (diff) {
                for (unsigned y = ty; y < ty + th; y++)
                    memcpy(hd->fb + (size_t)y * hd->w + tx, f->px + (size_t)y * f->pitch + tx,
                           tw * 4);
                if (r0 < 0)
                    r0 = (int)tx;
                continue;
            }
            if (r0 < 0)
                continue;
            /* a run [r0, tx) of this tile row ended */
            runs++;
            if (runs == 1) {
                rx0 = r0;
                rx1 = (int)VGT_MIN(tx, f->w);
            } else {
                if (runs == 2)
                    rfbMarkRectAsModified(hd->scr, rx0, (int)ty, rx1, (int)(ty + th));
                rfbMarkRectAsModified(hd->scr, r0, (int)ty, (int)VGT_MIN(tx, f->w), (int)(ty + th));
            }
            r0 = -1;
        }
        if (runs == 1 && px1 && rx0 == px0 && rx1 == px1 && py1 == (int)ty) {
            py1 = (int)(ty + th);
            continue;
        }
        if (px1)
            rfbMarkRectAsModified(hd->scr, px0, py0, px1, py1);
        px1 = 0;
        if (runs == 1) {
            px0 = rx0;
            px1 = rx1;
            py0 = (int)ty;
            py1 = (int)(ty + th);
        }
        dirty |= runs > 0;
    }
    if (px1)
        rfbMarkRectAsModified(hd->scr, px0, py0, px1, py1);
    if (dirty)
        atomic_fetch_add(&dm->updates, 1);
}

/* The vGPU's display thread: capture, compare and encode at most @fps
 * times a second; serve the clients in between. Never an ioreq thread. */
/* Did a head flip since its last capture? (The display brought up to its
 * clock first, as a capture does: a register read, not a decode.) */
static bool flipped(struct vnc_dom *dm)
{
    vgt_gpu_display_tick(vgt_vgpu_gpu(dm->v));
    for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS; i++)
        if (vgt_vgpu_vreg(dm->v, PLANE_SURFLIVE(i)) != dm->heads[i].shown_surf)
            return true;
    return false;
}

/* The vGPU's display thread: capture, compare and encode at most @fps
 * times a second; serve the clients in between. Never an ioreq thread.
 * A flip is captured as soon as the cap allows (no waiting for a tick
 * that is out of phase with the guest's vblank); without flips (a guest
 * drawing into its front buffer) a capture comes every period, or every
 * two periods right after a flip's. */
static void *vnc_thread(void *p)
{
    struct vnc_dom *dm = p;
    uint64_t period = 1000000000ull / dm->fps, last, next, now;
    bool by_flip = false;

    while (!atomic_load(&dm->stop)) {
        for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS; i++) {
            struct vnc_head *hd = &dm->heads[i];
            int c;

            while (hd->ufd >= 0 && (c = accept4(hd->ufd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                rfbNewClient(hd->scr, c);
            hd->shown_surf = vgt_vgpu_vreg(dm->v, PLANE_SURFLIVE(i));
            head_update(dm, hd);
        }
        last = now_ns();
        atomic_fetch_add(&dm->frames, 1);
        {
            struct timespec ts;

            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
            atomic_store(&dm->cpu_ns, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
        }
#ifdef VGT_HAVE_VKBD_XEN
        if (dm->kbd.xen) {
            pthread_mutex_lock(&dm->kbd_lock);
            vkbd_xen_step(dm->kbd.xen); /* the guest's keyboard frontend came or went */
            pthread_mutex_unlock(&dm->kbd_lock);
        }
#endif
        next = last + (by_flip ? 2 : 1) * period;
        by_flip = false;
        do {
            /* serve the clients until the next frame is due */
            for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS; i++)
                rfbProcessEvents(dm->heads[i].scr, 1000);
            now = now_ns();
            if (now >= last + period && flipped(dm)) {
                by_flip = true;
                break;
            }
        } while (now < next && !atomic_load(&dm->stop));
    }
    return NULL;
}

/* Frame-rate caps per vGPU type (the larger types are the desktops that
 * play video); --vnc-fps overrides them all. */
static unsigned type_fps(const char *type)
{
    static const struct {
        const char *type;
        unsigned fps;
    } caps[] = {{"V5_1", 60}, {"V5_2", 60}, {"V5_4", 30}, {"V5_8", 30}};

    for (size_t i = 0; i < VGT_ARRAY_SIZE(caps); i++)
        if (!strcmp(type, caps[i].type))
            return caps[i].fps;
    return 30;
}

static void dom_free(struct vnc_dom *dm)
{
    for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS; i++)
        head_down(&dm->heads[i]);
    vgt_display_destroy(dm->disp);
#ifdef VGT_HAVE_VKBD_XEN
    vkbd_xen_destroy(dm->kbd.xen);
#endif
    pthread_mutex_destroy(&dm->kbd_lock);
    free(dm);
}

static bool vnc_on(const struct vgtd_display *d)
{
    return d->cfg.vnc_listen || d->cfg.vnc_unix_dir;
}
#endif

int vgtd_display_create(const struct vgtd_display_cfg *cfg, struct vgtd_display **out)
{
    struct vgtd_display *d = calloc(1, sizeof(*d));

    if (!d)
        return -ENOMEM;
    d->cfg = *cfg;
#ifdef VGT_HAVE_VNC
    if (cfg->vnc_listen && cfg->vnc_unix_dir) {
        vgt_err(cfg->log, "VNC: give --vnc-listen or --vnc-unix-dir, not both");
        goto einval;
    }
    if (cfg->vnc_listen) {
        struct in_addr a;
        FILE *f;

        if (inet_pton(AF_INET, cfg->vnc_listen, &a) != 1) {
            vgt_err(cfg->log, "VNC: --vnc-listen '%s' is not an IPv4 address", cfg->vnc_listen);
            goto einval;
        }
        if (!cfg->vnc_password) {
            vgt_err(cfg->log, "VNC on TCP needs --vnc-password-file (or serve Unix sockets "
                              "with --vnc-unix-dir)");
            goto einval;
        }
        f = fopen(cfg->vnc_password, "r");
        if (!f || !fgets(d->password, sizeof(d->password), f)) {
            vgt_err(cfg->log, "VNC: cannot read a password from %s", cfg->vnc_password);
            if (f)
                fclose(f);
            goto einval;
        }
        fclose(f);
        d->password[strcspn(d->password, "\r\n")] = 0;
        if (!d->password[0]) {
            vgt_err(cfg->log, "VNC: the password in %s is empty", cfg->vnc_password);
            goto einval;
        }
        d->passwords[0] = d->password;
        if (!d->cfg.vnc_port)
            d->cfg.vnc_port = 5900;
    }
    if (!d->cfg.vnc_fps)
        d->cfg.vnc_fps = 0; /* per type */
    pthread_mutex_init(&d->lock, NULL);
    rfbLogEnable(0);
#else
    if (cfg->vnc_listen || cfg->vnc_unix_dir) {
        vgt_err(cfg->log, "VNC: built without libvncserver");
        free(d);
        return -EOPNOTSUPP;
    }
#endif
    *out = d;
    return 0;
#ifdef VGT_HAVE_VNC
einval:
    free(d);
    return -EINVAL;
#endif
}

void vgtd_display_set_host(struct vgtd_display *d, struct vgpu_host *h)
{
    d->host = h;
}

void vgtd_display_dom_gone(void *opaque, uint16_t domid)
{
#ifdef VGT_HAVE_VNC
    struct vgtd_display *d = opaque;
    struct vnc_dom *dm = NULL;

    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < VNC_MAX_DOMS; i++)
        if (d->doms[i] && d->doms[i]->domid == domid) {
            dm = d->doms[i];
            d->doms[i] = NULL;
        }
    pthread_mutex_unlock(&d->lock);
    if (!dm)
        return;
    atomic_store(&dm->stop, true);
    pthread_join(dm->thread, NULL);
    dom_free(dm);
#else
    (void)opaque;
    (void)domid;
#endif
}

void vgtd_display_destroy(struct vgtd_display *d)
{
    if (!d)
        return;
#ifdef VGT_HAVE_VNC
    for (unsigned i = 0; i < VNC_MAX_DOMS; i++)
        if (d->doms[i])
            vgtd_display_dom_gone(d, d->doms[i]->domid);
    pthread_mutex_destroy(&d->lock);
#endif
    free(d);
}

int vgtd_display_dom_added(struct vgtd_display *d, uint16_t domid, char *err, size_t errlen)
{
#ifdef VGT_HAVE_VNC
    struct vgt_vgpu *v = vgpu_host_vgpu(d->host, domid);
    struct vgt_display_src src;
    struct vgt_vgpu_info vi;
    struct vnc_dom *dm;
    unsigned slot;
    int ret;

    if (!vnc_on(d) || !v)
        return 0;
    pthread_mutex_lock(&d->lock);
    for (slot = 0; slot < VNC_MAX_DOMS && d->doms[slot]; slot++)
        ;
    pthread_mutex_unlock(&d->lock);
    if (slot == VNC_MAX_DOMS) {
        snprintf(err, errlen, "domain %u: no VNC slot left (%u vGPUs served)", domid, VNC_MAX_DOMS);
        return -ENOSPC;
    }
    dm = calloc(1, sizeof(*dm));
    if (!dm)
        return -ENOMEM;
    dm->owner = d;
    dm->domid = domid;
    dm->slot = slot;
    dm->v = v;
    pthread_mutex_init(&dm->kbd_lock, NULL);
    vgt_vgpu_get_info(v, &vi);
    dm->fps = d->cfg.vnc_fps ? d->cfg.vnc_fps : type_fps(vi.type);
    vgt_display_src_vgpu(v, &src);
    ret = vgt_display_create(&src, &dm->disp);
    for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS && !ret; i++)
        ret = head_up(d, dm, i, err, errlen);
#ifdef VGT_HAVE_VKBD_XEN
    /* On a real Xen the keyboard is a xenstore device of our own (the
     * guest's xl config has no vkb= for it); without xenstore the screen
     * is still served, without input. */
    if (!ret && !d->cfg.sim) {
        dm->kbd.abs_w = vi.res_w ? vi.res_w : 1920;
        dm->kbd.abs_h = vi.res_h ? vi.res_h : 1080;
        if (vkbd_xen_create(domid, dm->kbd.abs_w, dm->kbd.abs_h, d->cfg.log, &dm->kbd.xen))
            vgt_warn(d->cfg.log, "dom%u: no PV keyboard (xenstore): VNC input is dropped", domid);
    }
#endif
    if (!ret && pthread_create(&dm->thread, NULL, vnc_thread, dm)) {
        snprintf(err, errlen, "domain %u: VNC thread: %s", domid, strerror(errno));
        ret = -EAGAIN;
    }
    if (ret) {
        dom_free(dm);
        return ret;
    }
    pthread_mutex_lock(&d->lock);
    d->doms[slot] = dm;
    pthread_mutex_unlock(&d->lock);
    vgt_info(d->cfg.log, "dom%u: VNC on %s, %s, %s at most %u fps", domid, dm->heads[0].addr,
             dm->heads[1].addr, dm->heads[2].addr, dm->fps);
    return 0;
#else
    (void)d;
    (void)domid;
    (void)err;
    (void)errlen;
    return 0;
#endif
}

#ifdef VGT_HAVE_VNC
/* Control thread: the dom stays while the control thread uses it (only
 * the control thread removes vGPUs). */
static struct vnc_dom *dom_find(struct vgtd_display *d, uint16_t domid)
{
    struct vnc_dom *dm = NULL;

    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < VNC_MAX_DOMS; i++)
        if (d->doms[i] && d->doms[i]->domid == domid)
            dm = d->doms[i];
    pthread_mutex_unlock(&d->lock);
    return dm;
}
#endif

int vgtd_display_stats(struct vgtd_display *d, uint16_t domid, struct vgtd_display_stats *st)
{
#ifdef VGT_HAVE_VNC
    struct vnc_dom *dm = dom_find(d, domid);

    if (!dm)
        return -ENOENT;
    st->frames = atomic_load(&dm->frames);
    st->updates = atomic_load(&dm->updates);
    st->cpu_ns = atomic_load(&dm->cpu_ns);
    st->fps = dm->fps;
    return 0;
#else
    (void)d, (void)domid, (void)st;
    return -ENOENT;
#endif
}

const char *vgtd_display_addr(struct vgtd_display *d, uint16_t domid, unsigned head)
{
#ifdef VGT_HAVE_VNC
    struct vnc_dom *dm = dom_find(d, domid);

    return dm && head < VGT_DISPLAY_MAX_HEADS ? dm->heads[head].addr : NULL;
#else
    (void)d, (void)domid, (void)head;
    return NULL;
#endif
}

void vgtd_display_list_json(struct vgtd_display *d, uint16_t domid, FILE *o)
{
#ifdef VGT_HAVE_VNC
    struct vnc_dom *dm = dom_find(d, domid);

    if (!dm)
        return;
    fprintf(o, ",\"vnc_fps\":%u,\"vnc_frames\":%" PRIu64 ",\"vnc_updates\":%" PRIu64, dm->fps,
            (uint64_t)atomic_load(&dm->frames), (uint64_t)atomic_load(&dm->updates));
    for (unsigned i = 0; i < VGT_DISPLAY_MAX_HEADS; i++)
        fprintf(o, ",\"vnc_head%u\":\"%s\"", i, dm->heads[i].addr);
#else
    (void)d;
    (void)domid;
    (void)o;
#endif
}

/* ---- answers ---- */

static void answer_err(FILE *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer_err(FILE *o, const char *fmt, ...)
{
    char msg[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    host_report_json_error(o, msg);
}

static int get_head(const struct vgt_ctl_msg *m, unsigned *head, FILE *o)
{
    uint64_t n = 0;

    if (vgt_ctl_get(m, "head") && (vgt_ctl_num(m, "head", &n) || n >= VGT_DISPLAY_MAX_HEADS)) {
        answer_err(o, "bad request: \"head\" must be 0..%u", VGT_DISPLAY_MAX_HEADS - 1);
        return -EINVAL;
    }
    *head = (unsigned)n;
    return 0;
}

static void plane_json(FILE *o, const char *key, const struct vgt_display_plane *p)
{
    fprintf(o, ",\"%s\":\"%s\"", key, vgt_display_refusal_name(p->refusal));
    if (p->refusal == VGT_DISP_OK)
        fprintf(o, ",\"%s_format\":\"%s\",\"%s_modifier\":\"%s\"", key,
                vgt_display_format_name(p->fourcc), key, vgt_display_modifier_name(p->modifier));
}

/* {"cmd":"screenshot","domid":N,"head":H,"out":"/abs/file.png"}: vgtd
 * (root) writes the PNG; the answer says what was on the head. */
static void screenshot(struct vgtd_display *d, const struct vgt_ctl_msg *m, uint16_t domid, FILE *o)
{
    struct vgt_vgpu *v = vgpu_host_vgpu(d->host, domid);
    const char *out = vgt_ctl_str(m, "out");
    struct vgt_display_frame f = {0};
    struct vgt_display_head hi;
    struct vgt_display_src src;
    struct vgt_display *disp;
    unsigned head;
    int ret;

    if (get_head(m, &head, o))
        return;
    if (!out || out[0] != '/') {
        answer_err(o, "bad request: \"out\" must be an absolute path for the PNG");
        return;
    }
    if (!v) {
        answer_err(o, "domain %u has no vGPU", domid);
        return;
    }
    vgt_display_src_vgpu(v, &src);
    ret = vgt_display_create(&src, &disp);
    if (ret) {
        answer_err(o, "out of memory");
        return;
    }
    ret = vgt_display_capture(disp, head, &f, &hi);
    if (ret == -ENODEV)
        answer_err(o, "domain %u: head %u is off (its pipe is disabled)", domid, head);
    else if (ret == -EINVAL)
        answer_err(o, "domain %u: head %u has no usable mode (pipe size 0 or past %ux%u)", domid,
                   head, VGT_DISPLAY_MAX_W, VGT_DISPLAY_MAX_H);
    else if (ret)
        answer_err(o, "domain %u: head %u: %s", domid, head, strerror(-ret));
    else if ((ret = vgt_display_png_write(&f, out)))
        answer_err(o, "writing %s: %s", out, strerror(-ret));
    else {
        fprintf(o, "{\"ok\":true,\"domid\":%u,\"head\":%u,\"width\":%u,\"height\":%u", domid, head,
                hi.w, hi.h);
        plane_json(o, "plane", &hi.plane);
        plane_json(o, "cursor", &hi.cursor);
        fprintf(o, ",\"out\":\"%s\"}\n", out);
    }
    vgt_display_frame_fini(&f);
    vgt_display_destroy(disp);
}

/* ---- the simulated guest's side ---- */

static const struct {
    const char *name;
    uint32_t fourcc;
} fmt_names[] = {
    {"XRGB8888", DRM_FORMAT_XRGB8888}, {"ARGB8888", DRM_FORMAT_ARGB8888},
    {"XBGR8888", DRM_FORMAT_XBGR8888}, {"RGB565", DRM_FORMAT_RGB565},
    {"XRGB2101010", DRM_FORMAT_XRGB2101010},
};
static const struct {
    const char *name;
    uint64_t mod;
} mod_names[] = {
    {"linear", DRM_FORMAT_MOD_LINEAR}, {"X", I915_FORMAT_MOD_X_TILED}, {"Y", I915_FORMAT_MOD_Y_TILED},
};

/* {"cmd":"guest-show","domid":N,"head":H,"format":"XRGB8888","tiling":
 * "linear|X|Y","width":W,"height":H,"seed":S,"cursor_x":X,"cursor_y":Y,
 * "flip":true}: the guest draws the pattern and flips to it. */
static void guest_show(struct vgtd_display *d, const struct vgt_ctl_msg *m, uint16_t domid, FILE *o)
{
    const char *fmt = vgt_ctl_str(m, "format"), *til = vgt_ctl_str(m, "tiling");
    struct dg_fb fb = {.fourcc = DRM_FORMAT_XRGB8888, .modifier = DRM_FORMAT_MOD_LINEAR,
                       .w = 640, .h = 480, .alpha = VGT_PLANE_CTL_ALPHA_SW_PREMULTIPLY};
    const struct vgt_ctl_field *flip = vgt_ctl_get(m, "flip");
    uint64_t n, cx = 0, cy = 0;
    bool cursor = vgt_ctl_get(m, "cursor_x") || vgt_ctl_get(m, "cursor_y");
    unsigned head;
    char err[256];
    size_t i;

    if (get_head(m, &head, o))
        return;
    if (fmt) {
        for (i = 0; i < VGT_ARRAY_SIZE(fmt_names) && strcmp(fmt, fmt_names[i].name); i++)
            ;
        if (i == VGT_ARRAY_SIZE(fmt_names)) {
            answer_err(o, "unknown format '%s' (XRGB8888, ARGB8888, XBGR8888, RGB565, XRGB2101010)", fmt);
            return;
        }
        fb.fourcc = fmt_names[i].fourcc;
    }
    if (til) {
        for (i = 0; i < VGT_ARRAY_SIZE(mod_names) && strcmp(til, mod_names[i].name); i++)
            ;
        if (i == VGT_ARRAY_SIZE(mod_names)) {
            answer_err(o, "unknown tiling '%s' (linear, X, Y)", til);
            return;
        }
        fb.modifier = mod_names[i].mod;
    }
    if (!vgt_ctl_num(m, "width", &n))
        fb.w = n >= 1 && n <= VGT_DISPLAY_MAX_W ? (unsigned)n : 0;
    if (!vgt_ctl_num(m, "height", &n))
        fb.h = n >= 1 && n <= VGT_DISPLAY_MAX_H ? (unsigned)n : 0;
    if (!fb.w || !fb.h) {
        answer_err(o, "\"width\" and \"height\" must be 1..%u and 1..%u", VGT_DISPLAY_MAX_W,
                   VGT_DISPLAY_MAX_H);
        return;
    }
    if (!vgt_ctl_num(m, "seed", &n))
        fb.seed = (unsigned)n;
    if (vgt_ctl_num(m, "cursor_x", &cx) == -EINVAL || vgt_ctl_num(m, "cursor_y", &cy) == -EINVAL ||
        cx > VGT_DISPLAY_MAX_W || cy > VGT_DISPLAY_MAX_H) {
        answer_err(o, "\"cursor_x\"/\"cursor_y\" must be on the screen");
        return;
    }
    if (vgpu_host_sim_guest_show(d->host, domid, head, &fb, cursor, (int)cx, (int)cy,
                                 flip && flip->num, err, sizeof(err))) {
        answer_err(o, "%s", err);
        return;
    }
    fprintf(o, "{\"ok\":true}\n");
}

/* {"cmd":"guest-mmio","domid":N,"off":OFF,"val":V}: the guest writes one
 * of its vGPU registers (hostile-plane tests). */
static void guest_mmio(struct vgtd_display *d, const struct vgt_ctl_msg *m, uint16_t domid, FILE *o)
{
    uint64_t off, val;
    char err[256];

    if (vgt_ctl_num(m, "off", &off) || vgt_ctl_num(m, "val", &val) || off >= (16u << 20) ||
        (off & 3) || val > UINT32_MAX) {
        answer_err(o, "\"off\" (a dword-aligned BAR0 offset) and \"val\" (32 bits) are required");
        return;
    }
    if (vgpu_host_sim_guest_mmio_write(d->host, domid, (uint32_t)off, (uint32_t)val, err,
                                       sizeof(err))) {
        answer_err(o, "%s", err);
        return;
    }
    fprintf(o, "{\"ok\":true}\n");
}

/* {"cmd":"guest-kbd-connect","domid":N}: the guest's PV keyboard
 * frontend sets up its shared page and publishes it (on Xen: page-ref in
 * xenstore); the backend takes it. {"cmd":"guest-kbd-read","domid":N}:
 * the guest consumes its events; the answer lists them. */
static void guest_kbd(struct vgtd_display *d, bool connect, uint16_t domid, FILE *o)
{
#ifdef VGT_HAVE_VNC
    struct vnc_dom *dm = dom_find(d, domid);
    union xenkbd_in_event ev[XENKBD_IN_RING_LEN];
    uint64_t gfn = 0;
    unsigned n = 0;
    char err[256];

    if (!dm) {
        answer_err(o, "domain %u: no VNC server (vgtd --vnc-listen or --vnc-unix-dir)", domid);
        return;
    }
    if (vgpu_host_sim_guest_kbd(d->host, domid, connect, &gfn, ev, XENKBD_IN_RING_LEN, &n, err,
                                sizeof(err))) {
        answer_err(o, "%s", err);
        return;
    }
    if (connect) {
        /* the backend checks what the frontend published */
        if (gfn >= vgt_vgpu_hv(dm->v)->max_gfn) {
            answer_err(o, "domain %u: PV keyboard page-ref %#" PRIx64 " is outside guest RAM",
                       domid, gfn);
            return;
        }
        pthread_mutex_lock(&dm->kbd_lock);
        dm->kbd = (struct vnc_kbd){.connected = true, .gpa = gfn << 12};
        pthread_mutex_unlock(&dm->kbd_lock);
        fprintf(o, "{\"ok\":true,\"page_ref\":%" PRIu64 "}\n", gfn);
        return;
    }
    fprintf(o, "{\"ok\":true,\"count\":%u,\"events\":\"", n);
    for (unsigned i = 0; i < n; i++) {
        if (ev[i].type == XENKBD_TYPE_KEY)
            fprintf(o, "%skey:%u:%s", i ? " " : "", ev[i].key.keycode,
                    ev[i].key.pressed ? "down" : "up");
        else if (ev[i].type == XENKBD_TYPE_POS)
            fprintf(o, "%spos:%d,%d", i ? " " : "", ev[i].pos.abs_x, ev[i].pos.abs_y);
        else
            fprintf(o, "%stype:%u", i ? " " : "", ev[i].type);
    }
    fprintf(o, "\"}\n");
#else
    (void)d, (void)connect;
    answer_err(o, "domain %u: built without libvncserver", domid);
#endif
}

bool vgtd_display_handle(struct vgtd_display *d, const char *cmd, const struct vgt_ctl_msg *m,
                         uint16_t domid, FILE *o)
{
    if (!strcmp(cmd, "screenshot"))
        screenshot(d, m, domid, o);
    else if (!strcmp(cmd, "guest-show") && d->cfg.sim)
        guest_show(d, m, domid, o);
    else if (!strcmp(cmd, "guest-mmio") && d->cfg.sim)
        guest_mmio(d, m, domid, o);
    else if (!strcmp(cmd, "guest-kbd-connect") && d->cfg.sim)
        guest_kbd(d, true, domid, o);
    else if (!strcmp(cmd, "guest-kbd-read") && d->cfg.sim)
        guest_kbd(d, false, domid, o);
    else
        return false;
    return true;
}

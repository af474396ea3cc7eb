/* Domain-death watch (see vgt_domwatch.h). */
#include "vgt_domwatch.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgt/log.h"
#include "vgt_xenctrl.h"

#ifdef VGT_HAVE_XENSTORE
#include <xenstore.h>
#endif

/* xenstored's special path, fired on any domain's shutdown or death
 * (docs/misc/xenstore.txt, "@releaseDomain"). */
#define RELEASE_PATH "@releaseDomain"
#define WATCH_TOKEN "vgtd-domwatch"

struct vgt_domwatch {
    const struct vgt_log *log;
#ifdef VGT_HAVE_XENSTORE
    struct xs_handle *xs;
#endif
    int fd;           /* the watch's fd, -1 when polling */
    uint64_t last_ns; /* the last check */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vgt_domwatch_open(const struct vgt_log *log, struct vgt_domwatch **out)
{
    struct vgt_domwatch *w = calloc(1, sizeof(*w));

    if (!w)
        return -ENOMEM;
    w->log = log;
    w->fd = -1;
    w->last_ns = now_ns();
#ifdef VGT_HAVE_XENSTORE
    w->xs = xs_open(0);
    if (!w->xs) {
        vgt_info(log, "xenstore unreachable (%s): checking domains every %d ms",
                 strerror(errno ? errno : EIO), VGT_DOMWATCH_POLL_MS);
        goto out;
    }
    if (!xs_watch(w->xs, RELEASE_PATH, WATCH_TOKEN)) {
        vgt_info(log, "xs_watch(%s): %s: checking domains every %d ms", RELEASE_PATH,
                 strerror(errno ? errno : EIO), VGT_DOMWATCH_POLL_MS);
        goto close_xs;
    }
    w->fd = xs_fileno(w->xs);
    if (w->fd < 0) {
        vgt_info(log, "xs_fileno: no fd: checking domains every %d ms", VGT_DOMWATCH_POLL_MS);
        goto unwatch;
    }
    vgt_debug(log, "watching %s for dying domains", RELEASE_PATH);
    goto out;

unwatch:
    xs_unwatch(w->xs, RELEASE_PATH, WATCH_TOKEN);
close_xs:
    xs_close(w->xs);
    w->xs = NULL;
    w->fd = -1;
out:
#else
    vgt_info(log, "built without libxenstore: checking domains every %d ms", VGT_DOMWATCH_POLL_MS);
#endif
    *out = w;
    return 0;
}

void vgt_domwatch_close(struct vgt_domwatch *w)
{
    if (!w)
        return;
#ifdef VGT_HAVE_XENSTORE
    if (w->xs) {
        xs_unwatch(w->xs, RELEASE_PATH, WATCH_TOKEN);
        xs_close(w->xs);
    }
#endif
    free(w);
}

int vgt_domwatch_fd(const struct vgt_domwatch *w)
{
    return w->fd;
}

int vgt_domwatch_timeout_ms(const struct vgt_domwatch *w)
{
    return w->fd >= 0 ? VGT_DOMWATCH_BACKSTOP_MS : VGT_DOMWATCH_POLL_MS;
}

bool vgt_domwatch_due(struct vgt_domwatch *w)
{
    bool fired = false;
    uint64_t t = now_ns();

#ifdef VGT_HAVE_XENSTORE
    if (w->xs) {
        char **ev;

        /* Until EAGAIN, as xenstore.h asks: the fd may stop showing
         * readable while events are queued. Any path counts: the watch
         * is on one path only, and a check is cheap. */
        while ((ev = xs_check_watch(w->xs)) != NULL) {
            fired = true;
            free(ev);
        }
    }
#endif
    if (fired || t - w->last_ns >= (uint64_t)vgt_domwatch_timeout_ms(w) * 1000000ull) {
        w->last_ns = t;
        return true;
    }
    return false;
}

int vgt_domwatch_wait_gone(struct vgt_domwatch *w, uint16_t domid, int stop_fd)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = stop_fd, .events = POLLIN}, {.fd = w->fd, .events = POLLIN}};
        int r = poll(p, w->fd >= 0 ? 2 : 1, vgt_domwatch_timeout_ms(w));

        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0 && (p[0].revents & POLLIN))
            return -ECANCELED;
        if (!vgt_domwatch_due(w))
            continue;
        r = vgt_xc_domain_exists(domid);
        if (r == 0)
            return 0;
        if (r < 0)
            return r;
    }
}

/* vgtd: the vgt daemon. Attaches an emulated device to a guest domain
 * through an ioreq server, on Xen (the default) or on the simulated
 * platform (--sim), and serves it until SIGTERM/SIGINT.
 *
 *   vgtd --domid N --device testdev --mmio BASE      real Xen domain
 *   vgtd --sim --device testdev --mmio BASE [--once] simulated guest
 *
 * On the simulated platform SIGUSR1 destroys the simulated domain behind
 * vgtd's back, as `xl destroy` does on Xen: the same watch thread notices
 * and vgtd tears down and exits (tests/e2e/test_vgtd_domain_death.c).
 *
 * Device kinds are a table (device_kinds[]): each attaches its ranges to
 * the server before it starts, and detaches on the way out. Bring-up is
 * staged in the Xen order (create server, map pages, map ranges, enable,
 * bind, restrict) and every failure unwinds what was done, so a failed
 * start leaves nothing behind in the hypervisor. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vgt/ioreq_backend.h"
#include "vgt/ioreq_server.h"
#include "vgt/log.h"
#include "vgt/sim_hv.h"
#include "vgt/testdev.h"
#include "vgt/util.h"
#include "vgt_config.h"
#include "vgtd_sd.h"
#include "vgt_domwatch.h"
#include "vgtd_vgpu.h"

struct vgtd_opts {
    bool sim;
    bool once;
    bool bufioreq;
    uint16_t domid;
    bool have_domid;
    const char *device;
    uint64_t mmio;
    bool have_mmio;
    unsigned sim_vcpus;
};

struct vgtd {
    struct vgtd_opts o;
    struct vgt_log log;
    const struct vgtd_device_kind *kind;
    struct vgt_ioreq_server *server;
    void *dev;
    /* simulated platform */
    struct sim_arena *arena;
    struct sim_hv *hv;
    struct sim_guest *guest;
    atomic_bool sim_dead; /* SIGUSR1: the simulated toolstack destroyed it */
};

struct vgtd_device_kind {
    const char *name;
    const char *help;
    int (*attach)(struct vgtd *d);
    void (*detach)(struct vgtd *d);
    /* Guest-side self-check on the simulated platform (vCPU 0). */
    int (*sim_probe)(struct vgtd *d);
};

/* ---- testdev ---- */

static int testdev_attach(struct vgtd *d)
{
    struct vgt_testdev *td;
    int ret;

    if (!d->o.have_mmio) {
        vgt_err(&d->log, "--device testdev needs --mmio BASE (4 KiB aligned)");
        return -EINVAL;
    }
    ret = vgt_testdev_attach(d->server, d->o.mmio, &d->log, &td);
    if (ret < 0) {
        vgt_err(&d->log, "testdev at %#llx: %s", (unsigned long long)d->o.mmio, strerror(-ret));
        return ret;
    }
    d->dev = td;
    vgt_info(&d->log, "testdev at [%#llx, %#llx]", (unsigned long long)d->o.mmio,
             (unsigned long long)(d->o.mmio + VGT_TESTDEV_SIZE - 1));
    return 0;
}

static void testdev_detach(struct vgtd *d)
{
    vgt_testdev_detach(d->dev);
    d->dev = NULL;
}

static int testdev_probe(struct vgtd *d)
{
    uint64_t id = 0, v = 0;
    int ret;

    ret = sim_guest_mmio_read(d->guest, 0, d->o.mmio + VGT_TESTDEV_REG_ID, 8, &id);
    if (ret == 0)
        ret = sim_guest_mmio_write(d->guest, 0, d->o.mmio + VGT_TESTDEV_REG_SCRATCH, 8,
                                   0x5a5aa5a5deadbeefull);
    if (ret == 0)
        ret = sim_guest_mmio_read(d->guest, 0, d->o.mmio + VGT_TESTDEV_REG_SCRATCH, 8, &v);
    if (ret < 0 || id != VGT_TESTDEV_ID || v != 0x5a5aa5a5deadbeefull) {
        vgt_err(&d->log, "sim probe: testdev ID %#llx scratch %#llx (%s)",
                (unsigned long long)id, (unsigned long long)v, ret < 0 ? strerror(-ret) : "bad");
        return -EIO;
    }
    printf("vgtd: sim dom%u: testdev at %#llx answers (ID %#llx, scratch ok)\n", d->o.domid,
           (unsigned long long)d->o.mmio, (unsigned long long)id);
    fflush(stdout);
    return 0;
}

static const struct vgtd_device_kind device_kinds[] = {
    {"testdev", "the ioreq test device (needs --mmio BASE)", testdev_attach, testdev_detach,
     testdev_probe},
};

/* ---- platform ---- */

static int sim_platform_up(struct vgtd *d, struct vgt_ioreq_backend **be)
{
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = d->o.domid, .ram_bytes = 16ull << 20,
                               .nr_vcpus = d->o.sim_vcpus};
    int ret;

    ret = sim_arena_create(64ull << 20, &d->arena);
    if (ret < 0)
        goto fail;
    hc.arena = d->arena;
    hc.log = &d->log;
    ret = sim_hv_create(&hc, &d->hv);
    if (ret < 0)
        goto destroy_arena;
    ret = sim_guest_create(d->hv, &gc, &d->guest);
    if (ret < 0)
        goto destroy_hv;
    ret = sim_hv_ioreq_backend_create(d->guest, &d->log, be);
    if (ret < 0)
        goto destroy_guest;
    return 0;

destroy_guest:
    sim_guest_destroy(d->guest);
    d->guest = NULL;
destroy_hv:
    sim_hv_destroy(d->hv);
    d->hv = NULL;
destroy_arena:
    sim_arena_destroy(d->arena);
    d->arena = NULL;
fail:
    vgt_err(&d->log, "simulated platform: %s", strerror(-ret));
    return ret;
}

static void sim_platform_down(struct vgtd *d)
{
    sim_guest_destroy(d->guest);
    sim_hv_destroy(d->hv);
    sim_arena_destroy(d->arena);
}

static int backend_up(struct vgtd *d, struct vgt_ioreq_backend **be)
{
    if (d->o.sim)
        return sim_platform_up(d, be);
#ifdef VGT_HAVE_XEN_BACKEND
    struct vgt_ioreq_xen_cfg xc = {.domid = d->o.domid, .log = &d->log};

    return vgt_ioreq_xen_backend_create(&xc, be);
#else
    vgt_err(&d->log, "built without the xen backend (libxen-dev missing at build time)");
    return -EOPNOTSUPP;
#endif
}

/* ---- signals: a thread waits for them, so no handler touches state ---- */

struct sig_waiter {
    sigset_t set;
    struct vgtd *d;
};

/* SIGUSR2 ends the waiter (vgtd's own shutdown); SIGUSR1 on the sim kills
 * the simulated domain, which the domain watch then notices. */
static void *sig_thread(void *p)
{
    struct sig_waiter *w = p;
    int sig;

    while (sigwait(&w->set, &sig) == 0) {
        if (sig == SIGUSR1) {
            if (w->d->o.sim)
                atomic_store(&w->d->sim_dead, true);
            continue;
        }
        if (sig != SIGUSR2)
            vgt_ioreq_server_stop(w->d->server);
        break;
    }
    return NULL;
}

/* ---- Xen: the served domain going away stops the server ---- */

struct dom_watcher {
    struct vgtd *d;
    int stop_fd;
    pthread_t tid;
    bool running;
    struct vgt_domwatch *w; /* Xen; NULL on the sim */
    uint64_t gone_ns;       /* when the death was seen, 0 while alive */
};

/* The simulated domain's death, checked as often as Xen's polling
 * fallback checks (VGT_DOMWATCH_POLL_MS), so the sim measures the same
 * bound. */
static int sim_wait_gone(struct vgtd *d, int stop_fd)
{
    for (;;) {
        struct pollfd p = {.fd = stop_fd, .events = POLLIN};
        int r = poll(&p, 1, VGT_DOMWATCH_POLL_MS);

        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0 && (p.revents & POLLIN))
            return -ECANCELED;
        if (atomic_load(&d->sim_dead))
            return 0;
    }
}

static void *dom_watch_thread(void *p)
{
    struct dom_watcher *dw = p;
    int ret = dw->w ? vgt_domwatch_wait_gone(dw->w, dw->d->o.domid, dw->stop_fd)
                    : sim_wait_gone(dw->d, dw->stop_fd);

    if (ret == 0) {
        dw->gone_ns = vgt_now_ns();
        vgt_info(&dw->d->log, "dom%u: domain gone (destroyed or shut down): stopping",
                 dw->d->o.domid);
        vgt_ioreq_server_stop(dw->d->server);
    } else if (ret != -ECANCELED) {
        vgt_warn(&dw->d->log, "dom%u: domain watch: %s; not watching any more", dw->d->o.domid,
                 strerror(-ret));
    }
    return NULL;
}

/* Without the watch the server runs until a signal: say so, go on. */
static void dom_watch_start(struct vgtd *d, struct dom_watcher *dw)
{
    *dw = (struct dom_watcher){.d = d, .stop_fd = -1};
    dw->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (dw->stop_fd < 0)
        goto fail;
    if (!d->o.sim && vgt_domwatch_open(&d->log, &dw->w) < 0)
        goto close_fd;
    if (pthread_create(&dw->tid, NULL, dom_watch_thread, dw) != 0)
        goto close_watch;
    dw->running = true;
    return;

close_watch:
    vgt_domwatch_close(dw->w);
close_fd:
    close(dw->stop_fd);
    dw->stop_fd = -1;
fail:
    vgt_warn(&d->log, "dom%u: not watching the domain: vgtd stops on SIGTERM only", d->o.domid);
}

static void dom_watch_stop(struct dom_watcher *dw)
{
    uint64_t one = 1;

    if (!dw->running)
        return;
    if (write(dw->stop_fd, &one, sizeof(one)) != sizeof(one))
        pthread_cancel(dw->tid); /* cannot happen with a fresh eventfd */
    pthread_join(dw->tid, NULL);
    vgt_domwatch_close(dw->w);
    close(dw->stop_fd);
}

/* ---- options ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vgtd (--domid N | --sim [--domid N]) [--device KIND] [options]\n"
            "  --domid N       guest domain to serve (Xen; 1 by default with --sim)\n"
            "  --sim           serve a guest of the simulated platform instead of Xen\n"
            "  --device KIND   device to attach (default vgpu):\n");
    fprintf(out, "                    %-8s %s\n", "vgpu",
            "a vGPU per domain with a control socket (vgtd --device vgpu --help)");
    for (size_t i = 0; i < VGT_ARRAY_SIZE(device_kinds); i++)
        fprintf(out, "                    %-8s %s\n", device_kinds[i].name, device_kinds[i].help);
    fprintf(out,
            "  --mmio BASE     guest-physical base of the device's MMIO window\n"
            "  --bufioreq      ask for the buffered ring (x86 only; off by default)\n"
            "  --vcpus N       vCPUs of the simulated guest (default 1)\n"
            "  --once          with --sim: probe the device from the guest, then exit\n"
            "  --log LEVEL     err|warn|info|debug (default info; or $VGT_LOG)\n"
            "  --version\n");
}

static int parse(int argc, char **argv, struct vgtd *d)
{
    static const struct option longopts[] = {
        {"domid", required_argument, NULL, 'd'}, {"sim", no_argument, NULL, 's'},
        {"device", required_argument, NULL, 'D'}, {"mmio", required_argument, NULL, 'm'},
        {"bufioreq", no_argument, NULL, 'b'},    {"vcpus", required_argument, NULL, 'v'},
        {"once", no_argument, NULL, 'o'},        {"log", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    uint64_t n;
    int c, level;

    d->o.sim_vcpus = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (vgt_parse_u64(optarg, &n) < 0 || n == 0 || n >= 0x7ff0) {
                fprintf(stderr, "vgtd: --domid: '%s' is not a guest domain id (1..32751)\n",
                        optarg);
                return 2;
            }
            d->o.domid = (uint16_t)n;
            d->o.have_domid = true;
            break;
        case 's':
            d->o.sim = true;
            break;
        case 'D':
            d->o.device = optarg;
            break;
        case 'm':
            if (vgt_parse_u64(optarg, &d->o.mmio) < 0) {
                fprintf(stderr, "vgtd: --mmio: '%s' is not an address\n", optarg);
                return 2;
            }
            d->o.have_mmio = true;
            break;
        case 'b':
            d->o.bufioreq = true;
            break;
        case 'v':
            if (vgt_parse_u64(optarg, &n) < 0 || n == 0 || n > SIM_HV_MAX_VCPUS) {
                fprintf(stderr, "vgtd: --vcpus: '%s' is not 1..%u\n", optarg, SIM_HV_MAX_VCPUS);
                return 2;
            }
            d->o.sim_vcpus = (unsigned)n;
            break;
        case 'o':
            d->o.once = true;
            break;
        case 'l':
            if (vgt_log_parse_level(optarg, &level) < 0) {
                fprintf(stderr, "vgtd: --log: '%s' is not err|warn|info|debug\n", optarg);
                return 2;
            }
            d->log.level = level;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf("vgtd %s\n", VGT_VERSION);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vgtd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!d->o.sim && !d->o.have_domid) {
        fprintf(stderr, "vgtd: --domid N is required (or --sim)\n");
        return 2;
    }
    if (d->o.sim && !d->o.have_domid)
        d->o.domid = 1;
    if (d->o.once && !d->o.sim) {
        fprintf(stderr, "vgtd: --once only applies to --sim\n");
        return 2;
    }
    if (!d->o.device) {
        fprintf(stderr, "vgtd: --device KIND is required (vgtd --help lists them)\n");
        return 2;
    }
    for (size_t i = 0; i < VGT_ARRAY_SIZE(device_kinds); i++)
        if (!strcmp(d->o.device, device_kinds[i].name))
            d->kind = &device_kinds[i];
    if (!d->kind) {
        fprintf(stderr, "vgtd: unknown device '%s' (vgtd --help lists them)\n", d->o.device);
        return 2;
    }
    return 0;
}

static void *serve(void *p)
{
    int ret = vgt_ioreq_server_run(p);

    return (void *)(intptr_t)ret;
}

int main(int argc, char **argv)
{
    struct vgtd d = {0};
    struct vgt_ioreq_backend *be;
    struct vgt_ioreq_server_cfg cfg;
    struct sig_waiter w;
    struct dom_watcher dw = {0};
    pthread_t sig_tid, srv_tid;
    void *res;
    int ret, rc = 1;

    /* The vgpu kind serves many domains with a control socket: its own
     * main loop (host/vgtd_vgpu.c). */
    if (vgtd_vgpu_wanted(argc, argv))
        return vgtd_vgpu_main(argc, argv);
    vgt_log_init(&d.log, "vgtd", VGT_LOG_INFO);
    vgtd_sd_log_setup(&d.log);
    ret = parse(argc, argv, &d);
    if (ret)
        return ret == 1 ? 0 : 2;

    /* Block the stop signals before any thread exists, so that only the
     * waiter thread receives them. */
    sigemptyset(&w.set);
    sigaddset(&w.set, SIGTERM);
    sigaddset(&w.set, SIGINT);
    sigaddset(&w.set, SIGUSR2);
    sigaddset(&w.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &w.set, NULL);

    if (backend_up(&d, &be) < 0)
        return 1;
    cfg = (struct vgt_ioreq_server_cfg){.domid = d.o.domid, .bufioreq = d.o.bufioreq,
                                        .log = &d.log};
    if (vgt_ioreq_server_create(&cfg, be, &d.server) < 0)
        goto platform_down;
    if (d.kind->attach(&d) < 0)
        goto destroy_server;
    if (vgt_ioreq_server_start(d.server) < 0)
        goto detach_device;
    vgt_info(&d.log, "dom%u: serving %s on %s", d.o.domid, d.kind->name,
             d.o.sim ? "the simulated platform" : "Xen");

    w.d = &d;
    if (pthread_create(&sig_tid, NULL, sig_thread, &w) != 0) {
        vgt_err(&d.log, "pthread_create: %s", strerror(errno));
        goto detach_device;
    }
    if (d.o.sim) {
        /* The guest's vCPU runs here; the server loop on its own thread. */
        if (pthread_create(&srv_tid, NULL, serve, d.server) != 0) {
            vgt_err(&d.log, "pthread_create: %s", strerror(errno));
            goto stop_signals;
        }
        rc = d.kind->sim_probe && d.kind->sim_probe(&d) < 0 ? 1 : 0;
        /* Ready once the guest saw the device answer: a stop during the
         * probe would leave the guest's access unanswered. */
        if (!rc)
            vgtd_sd_notifyf("READY=1\nSTATUS=dom%u: serving %s", d.o.domid, d.kind->name);
        if (d.o.once || rc)
            vgt_ioreq_server_stop(d.server);
        else
            dom_watch_start(&d, &dw);
        pthread_join(srv_tid, &res);
        if (!d.o.once && !rc)
            dom_watch_stop(&dw);
    } else {
        vgtd_sd_notifyf("READY=1\nSTATUS=dom%u: serving %s", d.o.domid, d.kind->name);
        dom_watch_start(&d, &dw);
        res = serve(d.server);
        dom_watch_stop(&dw);
        rc = 0;
    }
    if ((intptr_t)res < 0) {
        vgt_err(&d.log, "event loop: %s", strerror((int)-(intptr_t)res));
        rc = 1;
    }
    vgt_info(&d.log, "dom%u: stopping", d.o.domid);
    vgtd_sd_notifyf("STOPPING=1\nSTATUS=dom%u: stopping", d.o.domid);
stop_signals:
    pthread_kill(sig_tid, SIGUSR2);
    pthread_join(sig_tid, NULL);
detach_device:
    d.kind->detach(&d);
destroy_server:
    /* disable, unbind, unmap, destroy */
    vgt_ioreq_server_destroy(d.server);
    be = NULL;
platform_down:
    if (d.o.sim)
        sim_platform_down(&d);
    /* The figure check-xen's dom0 check and the sim's e2e test read. */
    if (dw.gone_ns)
        vgt_info(&d.log, "dom%u: torn down %" PRIu64 " ms after its death was seen", d.o.domid,
                 (vgt_now_ns() - dw.gone_ns) / 1000000u);
    return rc;
}

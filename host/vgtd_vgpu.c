/* vgtd's vgpu kind (see vgtd_vgpu.h and docs/operator-guide.md).
 *
 *   vgtd --domid N --type V5_4 [--bdf 00:02.0] [--sim] [--control PATH]
 *   vgtd --domid N --vgt_low_gm_sz MB --vgt_high_gm_sz MB --vgt_fence_sz N
 *   vgtd --domid N --xl-config FILE
 *   vgtd --sim                      (no first vGPU; add them over the socket)
 *
 * The control socket takes one JSON object per line and answers one per
 * line: {"cmd":"add"|"list"|"status"|"reset"|"remove"|"stop", ...}; with
 * --sim also "kill-domain" (the toolstack destroyed a simulated domain)
 * and "guest-run" (the simulated guest's GPU driver runs a workload).
 * "stats" (vgt top), "set" (live weight/cap), "inventory" (vgt inventory)
 * answer from one host snapshot; --metrics ADDR:PORT serves the same
 * state to Prometheus (vgtd_metrics.h). Only root (SO_PEERCRED uid 0) may use it. */
#include "vgtd_vgpu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host_report.h"
#include "vgpu_host.h"
#include "vgtd_metrics.h"
#include "vgt/ioreq_server.h" /* VGT_SBDF */
#include "vgt/util.h"
#include "vgt/vgt_ctl.h"
#include "vgt/ggtt.h"
#include "vgt/vgpu.h"
#include "vgt_domwatch.h"
#include "vgt_xenctrl.h"
#include "vgtd_sd.h"
#include "vgtd_display.h"

struct vgtd_vgpu {
    struct vgt_log log;
    struct vgpu_host *host;
    const char *control;
    const char *metrics_addr;
    struct vgtd_metrics *metrics;
    bool sim;
    int lfd, sfd;
    bool stop;
    struct vgtd_display *disp;
    struct vgtd_display_cfg disp_cfg;
    struct vgt_domwatch *watch; /* Xen: dying domains (NULL on the sim) */
};

static bool is_xl_key(const char *a)
{
    return !strncmp(a, "--vgt_low_gm_sz", 15) || !strncmp(a, "--vgt_high_gm_sz", 16) ||
           !strncmp(a, "--vgt_fence_sz", 14) || !strncmp(a, "vgt_low_gm_sz=", 14) ||
           !strncmp(a, "vgt_high_gm_sz=", 15) || !strncmp(a, "vgt_fence_sz=", 13) ||
           !strncmp(a, "--vgt_max_heads", 15) || !strncmp(a, "--vgt_resolution", 16) ||
           !strncmp(a, "vgt_max_heads=", 14) || !strncmp(a, "vgt_resolution=", 15);
}

bool vgtd_vgpu_wanted(int argc, char **argv)
{
    bool other = false; /* --device KIND, or a generic --help/--version */

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--type") || !strncmp(argv[i], "--type=", 7) ||
            !strcmp(argv[i], "--xl-config") || !strncmp(argv[i], "--xl-config=", 12) ||
            !strcmp(argv[i], "--device=vgpu") || is_xl_key(argv[i]) ||
            !strcmp(argv[i], "--control") || !strcmp(argv[i], "--gpu") ||
            !strcmp(argv[i], "--metrics") || !strncmp(argv[i], "--metrics=", 10) ||
            !strncmp(argv[i], "--gpu=", 6) || !strncmp(argv[i], "--vnc-", 6) ||
            (!strcmp(argv[i], "--device") && i + 1 < argc && !strcmp(argv[i + 1], "vgpu")))
            return true;
        if (!strcmp(argv[i], "--device") || !strncmp(argv[i], "--device=", 9) ||
            !strcmp(argv[i], "--help") || !strcmp(argv[i], "--version"))
            other = true;
    }
    /* vgtd is the vGPU daemon: without a --device, a vGPU it is. */
    return !other;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vgtd [--sim] [--domid N (--type V5_1|V5_2|V5_4|V5_8 | xl keys | --xl-config FILE)]\n"
            "            [--bdf BB:DD.F] [--gpu BB:DD.F|sim] [--control PATH] [--ram-mb N] [--log LEVEL]\n"
            "  --domid N           first guest domain to give a vGPU (without it vgtd starts\n"
            "                      empty; vGPUs are added over the control socket)\n"
            "  --type T            vGPU type (default V5_4 unless sizes are given)\n"
            "  --vgt_low_gm_sz MB  --vgt_high_gm_sz MB  --vgt_fence_sz N   custom sizes (xl keys;\n"
            "                      also accepted as KEY=VALUE)\n"
            "  --vgt_max_heads N  --vgt_resolution WxH   monitors of a custom vGPU (0..3,\n"
            "                      default 1 x 1920x1080; xl keys too)\n"
            "  --xl-config FILE    read vgt_low_gm_sz/vgt_high_gm_sz/vgt_fence_sz (and\n"
            "                      vgt_max_heads/vgt_resolution) from an xl config\n"
            "  --bdf BB:DD.F       guest PCI address of the vGPU (default 00:02.0)\n"
            "  --gpu BB:DD.F       the host's Intel GPU, released by i915 (default 00:02.0; not\n"
            "                      with --sim)\n"
            "  --gpu sim           the simulated GPU behind real Xen guests (no Intel GPU\n"
            "                      needed; the aperture is emulated, slowly)\n"
            "  --control PATH      control socket (default " VGTD_CONTROL_DEFAULT ")\n"
            "  --gm-share-limit N  vGPUs that may share one graphics-memory range, 1..64\n"
            "                      (default 16; 1 is static partitioning; docs/vgpu.md)\n"
            "  --aperture emulated|mapped   guests' BAR2 with the host GPU: mapped (default;\n"
            "                      fast, static partitioning) or emulated (trapped; allows\n"
            "                      graphics-memory sharing; --gpu sim is always emulated)\n"
            "  --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
            "  --sim               serve guests of the simulated platform\n"
            "  --ram-mb N          with --sim: RAM of the first simulated guest (default 64)\n"
            "  --max-evtchn-ports N   event-channel ports all vGPUs may bind in vgtd's domain\n"
            "                      (one per guest vCPU; default 2048; docs/operator-guide.md)\n"
            "  --log LEVEL         err|warn|info|debug\n"
            "  --vnc-listen ADDR   serve each vGPU head over VNC on TCP at ADDR (IPv4; needs\n"
            "                      --vnc-password-file)\n"
            "  --vnc-port N        first VNC port (default 5900): vGPU slot k, head h on N+3k+h\n"
            "  --vnc-password-file FILE   the VNC password (first line of FILE)\n"
            "  --vnc-unix-dir DIR  serve each head on the Unix socket DIR/domN-headH.sock\n"
            "                      (no password: the socket's permissions guard it)\n"
            "  --vnc-fps N         frame-rate cap of the VNC updates (default 30)\n");
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (!f)
        return -errno;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (1 << 20) || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return -EFBIG;
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return -EIO;
    }
    buf[n] = 0;
    fclose(f);
    *out = buf;
    *len = (size_t)n;
    return 0;
}

/* ---- answers ---- */

/* Engine names in VGT_ENGINE_* order (vgt/hostgpu.h), for the accounting
 * keys busy_ns_<engine> and completed_<engine>. */
static const char *const engine_names[VGT_ENGINE_NUM] = {"rcs", "bcs", "vcs", "vecs"};

static void json_vgpu(struct vgtd_vgpu *d, FILE *o, struct vgt_vgpu *v)
{
    struct vgt_vgpu_info i;
    struct vgt_submit_stats st;
    uint64_t done = 0, cancelled = 0;

    vgt_vgpu_get_info(v, &i);
    fprintf(o,
            "{\"id\":%u,\"domid\":%u,\"type\":\"%s\",\"state\":\"%s\",\"failsafe\":%s,"
            "\"failsafe_reason\":\"%s\",\"failsafe_detail\":\"%s\","
            "\"low_gm_base\":%" PRIu64 ",\"low_gm_size\":%" PRIu64 ",\"high_gm_base\":%" PRIu64
            ",\"high_gm_size\":%" PRIu64 ",\"fence_base\":%u,\"fence_num\":%u,"
            "\"display_ready\":%s,\"mmio_reads\":%" PRIu64 ",\"mmio_writes\":%" PRIu64,
            i.id, i.domid, i.type, vgt_vgpu_state_name(&i), i.failsafe ? "true" : "false",
            vgt_failsafe_reason_name(i.failsafe_reason), i.failsafe_detail, i.low_base, i.low_size,
            i.high_base, i.high_size, i.fence_base, i.fence_num, i.display_ready ? "true" : "false",
            i.st.mmio_reads, i.st.mmio_writes);
    /* The display (docs/display.md): heads, pipes on, flips, and what it
     * refused (pipes past the type, i2c/AUX to nothing or malformed). */
    fprintf(o,
            ",\"heads\":%u,\"resolution\":\"%ux%u\",\"pipes_on\":%u,\"flips\":%" PRIu64
            ",\"display_refused\":%" PRIu64,
            i.heads, i.res_w, i.res_h, i.pipes_on, i.st.flips,
            i.st.pipe_refused + i.st.gmbus_refused + i.st.aux_refused + i.st.aux_nak);
    /* Registers the guest used that no row describes (each logged once). */
    fprintf(o, ",\"unlisted_regs\":%" PRIu64, i.st.unlisted_regs);
    /* Graphics-memory sharing (docs/vgpu.md): residency now, and the
     * switches it needed (charged to it). */
    {
        struct vgt_ggtt *gt = vgt_vgpu_ggtt(v);
        struct vgt_ggtt_stats gs;

        vgt_ggtt_get_stats(gt, &gs);
        fprintf(o, ",\"gm_resident\":%s,\"gm_switches\":%" PRIu64 ",\"gm_switch_written\":%" PRIu64
                   ",\"gm_switch_ns\":%" PRIu64,
                vgt_ggtt_is_resident(gt) ? "true" : "false", gs.switches_in, gs.switch_written, gs.switch_ns);
    }
    /* The scheduler's accounting (docs/scheduler.md), flat like the rest
     * of the protocol: totals, then busy time and completions per engine. */
    if (!vgpu_host_stats(d->host, i.domid, &st)) {
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
            done += st.sched.completed[e];
            cancelled += st.sched.cancelled[e];
        }
        fprintf(o,
                ",\"weight\":%u,\"cap_pct\":%u,\"submitted\":%" PRIu64 ",\"refused\":%" PRIu64
                ",\"workloads_completed\":%" PRIu64 ",\"workloads_cancelled\":%" PRIu64
                ",\"failsafe_events\":%" PRIu64,
                st.sched.weight, st.sched.cap_pct, st.submitted, st.refused, done, cancelled,
                st.sched.failsafe_events);
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            fprintf(o, ",\"busy_ns_%s\":%" PRIu64, engine_names[e], st.sched.busy_ns[e]);
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            fprintf(o, ",\"completed_%s\":%" PRIu64, engine_names[e], st.sched.completed[e]);
    }
    vgtd_display_list_json(d->disp, i.domid, o);
    fputc('}', o);
}

static void answer_list(struct vgtd_vgpu *d, FILE *o)
{
    struct vgt_gpu *g = vgpu_host_gpu(d->host);
    struct vgt_vgpu *vs[64];
    unsigned n = vgt_gpu_list(g, vs, 64);
    size_t nt;
    const struct vgt_vgpu_type *t = vgt_vgpu_types(&nt);

    fprintf(o, "{\"ok\":true,\"avail\":{");
    for (size_t k = 0; k < nt; k++) {
        struct vgt_vgpu_res r;

        vgt_vgpu_res_from_type(t[k].name, &r);
        fprintf(o, "%s\"%s\":%u", k ? "," : "", t[k].name, vgt_gpu_avail(g, &r));
    }
    fprintf(o, "},\"gm_share_limit\":%u,\"vgpus\":[", vgt_gpu_share_limit(g));
    for (unsigned i = 0; i < n; i++) {
        if (i)
            fputc(',', o);
        json_vgpu(d, o, vs[i]);
    }
    fprintf(o, "]}\n");
}

static void answer_err(FILE *o, const char *msg)
{
    host_report_json_error(o, msg);
}

static int get_domid(const struct vgt_ctl_msg *m, uint16_t *domid)
{
    uint64_t n;

    if (vgt_ctl_num(m, "domid", &n) || n == 0 || n >= 0x7ff0)
        return -EINVAL;
    *domid = (uint16_t)n;
    return 0;
}

void vgtd_vgpu_request(struct vgtd_vgpu *d, const char *line, size_t len, FILE *o)
{
    struct vgt_ctl_msg m;
    const char *why = NULL, *cmd;
    char err[256];
    uint16_t domid = 0;
    int ret;

    if (vgt_ctl_parse(line, len, &m, &why)) {
        snprintf(err, sizeof(err), "bad request: %s", why);
        answer_err(o, err);
        return;
    }
    cmd = vgt_ctl_str(&m, "cmd");
    if (!cmd) {
        answer_err(o, "bad request: \"cmd\" (a string) is required");
        return;
    }
    if (!strcmp(cmd, "list")) {
        answer_list(d, o);
        return;
    }
    if (!strcmp(cmd, "stats") || !strcmp(cmd, "inventory")) {
        struct vgpu_host_snap *s = malloc(sizeof(*s));

        if (!s) {
            answer_err(o, "out of memory");
            return;
        }
        vgpu_host_snapshot(d->host, s);
        if (cmd[0] == 's')
            host_report_stats_json(s, o);
        else
            host_report_inventory_json(s, o);
        free(s);
        return;
    }
    if (!strcmp(cmd, "set-gm-share-limit")) {
        uint64_t n;

        /* Placed vGPUs stay where they are; the next placements obey it. */
        if (vgt_ctl_num(&m, "limit", &n) || n < 1 || n > VGT_SHARE_LIMIT_MAX ||
            vgt_gpu_set_share_limit(vgpu_host_gpu(d->host), (unsigned)n)) {
            answer_err(o, "bad request: \"limit\" must be 1..64 (vGPUs per graphics-memory range)");
            return;
        }
        fprintf(o, "{\"ok\":true,\"gm_share_limit\":%u}\n", (unsigned)n);
        return;
    }
    if (!strcmp(cmd, "stop")) {
        d->stop = true;
        fprintf(o, "{\"ok\":true}\n");
        return;
    }
    if (get_domid(&m, &domid)) {
        answer_err(o, "bad request: \"domid\" must be a guest domain id (1..32751)");
        return;
    }
    if (vgtd_display_handle(d->disp, cmd, &m, domid, o))
        return;
    if (!strcmp(cmd, "add")) {
        struct vgpu_add_req req = {.domid = domid, .type = vgt_ctl_str(&m, "type")};
        const char *bdf = vgt_ctl_str(&m, "bdf");
        uint64_t n;

        if (!vgt_ctl_num(&m, "vgt_low_gm_sz", &n) || !vgt_ctl_num(&m, "vgt_high_gm_sz", &n) ||
            !vgt_ctl_num(&m, "vgt_fence_sz", &n)) {
            if (req.type) {
                answer_err(o, "give either \"type\" or the vgt_*_sz sizes, not both");
                return;
            }
            if (vgt_ctl_num(&m, "vgt_low_gm_sz", &req.low_gm_mb) ||
                vgt_ctl_num(&m, "vgt_high_gm_sz", &req.high_gm_mb) ||
                vgt_ctl_num(&m, "vgt_fence_sz", &n) || n > 32) {
                answer_err(o, "custom sizes need vgt_low_gm_sz, vgt_high_gm_sz and vgt_fence_sz (0..32)");
                return;
            }
            req.fences = (unsigned)n;
        } else if (!req.type) {
            req.type = "V5_4";
        }
        if (bdf && vgpu_parse_bdf(bdf, &req.sbdf)) {
            answer_err(o, "\"bdf\" must be BB:DD.F");
            return;
        }
        /* Display of a custom vGPU (XAPI max_heads=, resolution=WxH). */
        if (!vgt_ctl_num(&m, "max_heads", &n) || vgt_ctl_str(&m, "resolution")) {
            const char *r = vgt_ctl_str(&m, "resolution");

            req.display_set = true;
            req.heads = 1;
            req.res_w = 1920;
            req.res_h = 1080;
            if (!vgt_ctl_num(&m, "max_heads", &n))
                req.heads = n > 3 ? 4 : (unsigned)n;
            if (r && vgt_parse_resolution(r, strlen(r), &req.res_w, &req.res_h)) {
                answer_err(o, "\"resolution\" must be WxH, e.g. 2560x1440");
                return;
            }
        }
        if (!vgt_ctl_num(&m, "ram_mb", &n))
            req.sim_ram = n << 20;
        if (!vgt_ctl_num(&m, "vcpus", &n)) {
            if (!d->sim || n == 0 || n > 128) {
                answer_err(o, "\"vcpus\" is for simulated guests only, 1..128");
                return;
            }
            req.sim_vcpus = (unsigned)n;
        }
        if (!vgt_ctl_num(&m, "weight", &n))
            req.weight = n == 0 || n > 1000 ? 1001 : (unsigned)n;
        if (!vgt_ctl_num(&m, "cap_pct", &n))
            req.cap_pct = n > 100 ? 101 : (unsigned)n;
        ret = vgpu_host_add(d->host, &req, err, sizeof(err));
        if (ret) {
            answer_err(o, err);
            return;
        }
        if (vgtd_display_dom_added(d->disp, domid, err, sizeof(err))) {
            vgpu_host_remove(d->host, domid);
            answer_err(o, err);
            return;
        }
        fprintf(o, "{\"ok\":true,\"vgpu\":");
        json_vgpu(d, o, vgpu_host_vgpu(d->host, domid));
        fprintf(o, "}\n");
        return;
    }
    if (!strcmp(cmd, "set")) {
        unsigned weight = 0, cap = VGT_SUBMIT_KEEP;
        uint64_t n;

        if (vgt_ctl_get(&m, "weight")) {
            if (vgt_ctl_num(&m, "weight", &n) || n == 0 || n > VGT_SCHED_MAX_WEIGHT) {
                answer_err(o, "\"weight\" must be 1..1000");
                return;
            }
            weight = (unsigned)n;
        }
        if (vgt_ctl_get(&m, "cap_pct")) {
            if (vgt_ctl_num(&m, "cap_pct", &n) || n > 100) {
                answer_err(o, "\"cap_pct\" must be 0 (no cap) ..100");
                return;
            }
            cap = (unsigned)n;
        }
        if (!weight && cap == VGT_SUBMIT_KEEP) {
            answer_err(o, "set needs \"weight\" and/or \"cap_pct\"");
            return;
        }
        if (vgpu_host_set_share(d->host, domid, weight, cap, err, sizeof(err))) {
            answer_err(o, err);
            return;
        }
        fprintf(o, "{\"ok\":true,\"vgpu\":");
        json_vgpu(d, o, vgpu_host_vgpu(d->host, domid));
        fprintf(o, "}\n");
        return;
    }
    if (!strcmp(cmd, "status")) {
        struct vgt_vgpu *v = vgpu_host_vgpu(d->host, domid);

        if (!v) {
            snprintf(err, sizeof(err), "domain %u has no vGPU", domid);
            answer_err(o, err);
            return;
        }
        fprintf(o, "{\"ok\":true,\"vgpu\":");
        json_vgpu(d, o, v);
        fprintf(o, "}\n");
        return;
    }
    if (!strcmp(cmd, "guest-run") && d->sim) {
        struct vgpu_guest_run_result r;
        const char *wl = vgt_ctl_str(&m, "workload");
        uint64_t n = 1;

        if (vgt_ctl_get(&m, "iterations") && (vgt_ctl_num(&m, "iterations", &n) || n == 0 || n > 100000)) {
            answer_err(o, "\"iterations\" must be 1..100000");
            return;
        }
        ret = vgpu_host_sim_guest_run(d->host, domid, wl ? wl : "mixed",
                                      (unsigned)n, &r, err, sizeof(err));
        if (ret) {
            answer_err(o, err);
            return;
        }
        fprintf(o,
                "{\"ok\":true,\"steps\":%" PRIu64 ",\"blits\":%" PRIu64 ",\"stores\":%" PRIu64
                ",\"failures\":%" PRIu64 ",\"first_failure\":\"",
                r.steps, r.blits, r.stores, r.failures);
        for (const char *c = r.first_failure; *c; c++)
            if ((unsigned char)*c >= 0x20 && *c != '"' && *c != '\\')
                fputc(*c, o);
        fprintf(o, "\"}\n");
        return;
    }
    if (!strcmp(cmd, "reset"))
        ret = vgpu_host_reset(d->host, domid);
    else if (!strcmp(cmd, "remove"))
        ret = vgpu_host_remove(d->host, domid);
    else if (!strcmp(cmd, "kill-domain") && d->sim)
        ret = vgpu_host_sim_kill_domain(d->host, domid);
    else if (!strcmp(cmd, "failsafe") && d->sim)
        ret = vgpu_host_sim_failsafe(d->host, domid, vgt_ctl_str(&m, "detail"));
    else {
        snprintf(err, sizeof(err),
                 "unknown command '%s' (add, list, status, stats, inventory, set, reset, remove, "
                 "screenshot, stop%s)",
                 cmd, d->sim ? ", kill-domain, guest-run, failsafe, guest-show, guest-mmio, "
                               "guest-kbd-connect, guest-kbd-read" : "");
        answer_err(o, err);
        return;
    }
    if (ret) {
        snprintf(err, sizeof(err), "domain %u: %s", domid,
                 ret == -ENOENT ? "has no vGPU" : strerror(-ret));
        answer_err(o, err);
        return;
    }
    fprintf(o, "{\"ok\":true}\n");
}

int vgtd_vgpu_ctl_create(struct vgpu_host *host, bool sim, struct vgtd_vgpu **out)
{
    struct vgtd_vgpu *d = calloc(1, sizeof(*d));

    if (!d)
        return -ENOMEM;
    vgt_log_init(&d->log, "vgtd", VGT_LOG_INFO);
    d->host = host;
    d->sim = sim;
    d->lfd = d->sfd = -1;
    /* Screenshots and the sim display requests, no VNC server. */
    d->disp_cfg.log = &d->log;
    d->disp_cfg.sim = sim;
    if (vgtd_display_create(&d->disp_cfg, &d->disp)) {
        free(d);
        return -ENOMEM;
    }
    vgtd_display_set_host(d->disp, host);
    *out = d;
    return 0;
}

void vgtd_vgpu_ctl_destroy(struct vgtd_vgpu *d)
{
    if (!d)
        return;
    vgtd_display_destroy(d->disp);
    free(d);
}

/* Dying domains: on Xen when the watch fired or its backstop is due, on
 * the sim (death through the control socket) at every turn. */
static void check_domains(struct vgtd_vgpu *d)
{
    if (!d->watch || vgt_domwatch_due(d->watch))
        vgpu_host_reap(d->host);
}

/* How long the loops may sleep before check_domains(). */
static int check_ms(const struct vgtd_vgpu *d)
{
    return d->watch ? vgt_domwatch_timeout_ms(d->watch) : VGT_DOMWATCH_POLL_MS;
}

/* One client: requests line by line until EOF (at most 4 KiB a line), or
 * 5 s without a byte. A connected client never holds up the teardown of
 * a dying domain: the wait for its next line also watches the domains. */
static void serve_client(struct vgtd_vgpu *d, int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    char line[4096];
    size_t n = 0;
    FILE *o = fdopen(dup(fd), "w");

    if (!o)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) || cred.uid != 0) {
        answer_err(o, "permission denied: only root may use the vgtd control socket");
        fclose(o);
        return;
    }
    for (uint64_t last = vgt_now_ns();;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = d->watch ? vgt_domwatch_fd(d->watch) : -1, .events = POLLIN}};
        ssize_t r;
        char *nl;
        int pr = poll(p, 2, check_ms(d));

        if (pr < 0 && errno != EINTR)
            break;
        check_domains(d);
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (vgt_now_ns() - last >= 5000000000ull)
                break;
            continue;
        }
        last = vgt_now_ns();
        r = read(fd, line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        while ((nl = memchr(line, '\n', n))) {
            size_t l = (size_t)(nl - line);

            vgtd_vgpu_request(d, line, l, o);
            fflush(o);
            memmove(line, nl + 1, n - l - 1);
            n -= l + 1;
        }
        if (n == sizeof(line) - 1) {
            answer_err(o, "request line too long");
            break;
        }
    }
    fclose(o);
}

static int control_up(struct vgtd_vgpu *d)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[sizeof(sa.sun_path)];
    char *slash;

    if (strlen(d->control) >= sizeof(sa.sun_path)) {
        vgt_err(&d->log, "control socket path too long: %s", d->control);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, d->control);
    strcpy(dir, d->control);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0700); /* /run/vgt: may exist already */
    }
    d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->lfd < 0)
        return -errno;
    unlink(d->control); /* a stale socket of a previous run */
    if (bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(d->control, 0600) ||
        listen(d->lfd, 8)) {
        int e = errno;

        vgt_err(&d->log, "control socket %s: %s", d->control, strerror(e));
        close(d->lfd);
        return -e;
    }
    return 0;
}

int vgtd_vgpu_main(int argc, char **argv)
{
    struct vgtd_vgpu d = {.control = VGTD_CONTROL_DEFAULT, .lfd = -1, .sfd = -1};
    struct vgpu_add_req req = {0};
    struct vgpu_host_cfg hc = {.gpu_sbdf = VGT_SBDF(0, 0, 2, 0)};
    bool have_domid = false, have_sizes = false, have_gpu = false, have_heads = false, have_res = false;
    const char *xlcfg = NULL;
    char err[256];
    sigset_t set;
    int rc = 1, level;
    uint64_t n;
    int disp_ret;

    vgt_log_init(&d.log, "vgtd", VGT_LOG_INFO);
    vgtd_sd_log_setup(&d.log); /* before vgpu_host_create copies it */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char key[32] = "";

        /* --opt VALUE, --opt=VALUE and KEY=VALUE for the xl keys */
        if (!strncmp(a, "--", 2)) {
            const char *eq = strchr(a, '=');
            size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

            if (kl >= sizeof(key))
                goto bad;
            memcpy(key, a + 2, kl);
            key[kl] = 0;
            val = eq ? eq + 1 : NULL;
        } else if (is_xl_key(a)) {
            const char *eq = strchr(a, '=');

            memcpy(key, a, (size_t)(eq - a));
            key[eq - a] = 0;
            val = eq + 1;
        } else {
            goto bad;
        }
        if (!strcmp(key, "sim")) {
            d.sim = true;
            continue;
        }
        if (!strcmp(key, "help")) {
            usage(stdout);
            return 0;
        }
        if (!val) {
            if (i + 1 >= argc)
                goto bad;
            val = argv[++i];
        }
        if (!strcmp(key, "domid")) {
            if (vgt_parse_u64(val, &n) || n == 0 || n >= 0x7ff0) {
                fprintf(stderr, "vgtd: --domid: '%s' is not a guest domain id (1..32751)\n", val);
                return 2;
            }
            req.domid = (uint16_t)n;
            have_domid = true;
        } else if (!strcmp(key, "type")) {
            if (!vgt_vgpu_type_find(val)) {
                fprintf(stderr, "vgtd: --type: unknown vGPU type '%s' (V5_1, V5_2, V5_4, V5_8)\n", val);
                return 2;
            }
            req.type = val;
        } else if (!strcmp(key, "device")) {
            if (strcmp(val, "vgpu"))
                goto bad;
        } else if (!strcmp(key, "gpu")) {
            if (!strcmp(val, "sim")) {
                hc.gpu_sim = true;
            } else if (vgpu_parse_bdf(val, &hc.gpu_sbdf)) {
                fprintf(stderr, "vgtd: --gpu: '%s' is not BB:DD.F or sim\n", val);
                return 2;
            }
            have_gpu = true;
        } else if (!strcmp(key, "bdf")) {
            if (vgpu_parse_bdf(val, &req.sbdf)) {
                fprintf(stderr, "vgtd: --bdf: '%s' is not BB:DD.F\n", val);
                return 2;
            }
        } else if (!strcmp(key, "aperture")) {
            if (strcmp(val, "emulated") && strcmp(val, "mapped")) {
                fprintf(stderr, "vgtd: --aperture: '%s' is not emulated or mapped\n", val);
                return 2;
            }
            hc.aperture_mmio = !strcmp(val, "emulated");
        } else if (!strcmp(key, "gm-share-limit")) {
            if (vgt_parse_u64(val, &n) || n < 1 || n > VGT_SHARE_LIMIT_MAX) {
                fprintf(stderr, "vgtd: --gm-share-limit: '%s' is not 1..%u (vGPUs per graphics-memory range)\n",
                        val, VGT_SHARE_LIMIT_MAX);
                return 2;
            }
            hc.gm_share_limit = (unsigned)n;
        } else if (!strcmp(key, "control")) {
            d.control = val;
        } else if (!strcmp(key, "metrics")) {
            d.metrics_addr = val;
        } else if (!strcmp(key, "vnc-listen")) {
            d.disp_cfg.vnc_listen = val;
        } else if (!strcmp(key, "vnc-port")) {
            if (vgt_parse_u64(val, &n) || n == 0 || n > 65535 - 3 * 64) {
                fprintf(stderr, "vgtd: --vnc-port: '%s' is not 1..%u\n", val, 65535 - 3 * 64);
                return 2;
            }
            d.disp_cfg.vnc_port = (unsigned)n;
        } else if (!strcmp(key, "vnc-password-file")) {
            d.disp_cfg.vnc_password = val;
        } else if (!strcmp(key, "vnc-unix-dir")) {
            d.disp_cfg.vnc_unix_dir = val;
        } else if (!strcmp(key, "vnc-fps")) {
            if (vgt_parse_u64(val, &n) || n == 0 || n > 240) {
                fprintf(stderr, "vgtd: --vnc-fps: '%s' is not 1..240\n", val);
                return 2;
            }
            d.disp_cfg.vnc_fps = (unsigned)n;
        } else if (!strcmp(key, "xl-config")) {
            xlcfg = val;
        } else if (!strcmp(key, "max-evtchn-ports")) {
            if (vgt_parse_u64(val, &n) || n == 0 || n > VGPU_HOST_MAX_EVTCHN_PORTS) {
                fprintf(stderr, "vgtd: --max-evtchn-ports: '%s' is not 1..%u\n", val, VGPU_HOST_MAX_EVTCHN_PORTS);
                return 2;
            }
            hc.max_evtchn_ports = (unsigned)n;
        } else if (!strcmp(key, "ram-mb")) {
            if (vgt_parse_u64(val, &n) || n < 2 || n > 16384) {
                fprintf(stderr, "vgtd: --ram-mb: '%s' is not 2..16384\n", val);
                return 2;
            }
            req.sim_ram = n << 20;
        } else if (!strcmp(key, "log")) {
            if (vgt_log_parse_level(val, &level)) {
                fprintf(stderr, "vgtd: --log: '%s' is not err|warn|info|debug\n", val);
                return 2;
            }
            d.log.level = level;
        } else if (!strcmp(key, "vgt_low_gm_sz") || !strcmp(key, "vgt_high_gm_sz") ||
                   !strcmp(key, "vgt_fence_sz")) {
            if (vgt_parse_u64(val, &n)) {
                fprintf(stderr, "vgtd: %s: '%s' is not a number\n", key, val);
                return 2;
            }
            if (key[4] == 'l')
                req.low_gm_mb = n;
            else if (key[4] == 'h')
                req.high_gm_mb = n;
            else
                req.fences = n > 32 ? 33 : (unsigned)n;
            have_sizes = true;
        } else if (!strcmp(key, "vgt_max_heads")) {
            if (vgt_parse_u64(val, &n)) {
                fprintf(stderr, "vgtd: %s: '%s' is not a number\n", key, val);
                return 2;
            }
            req.heads = n > 3 ? 4 : (unsigned)n;
            have_heads = true;
        } else if (!strcmp(key, "vgt_resolution")) {
            if (vgt_parse_resolution(val, strlen(val), &req.res_w, &req.res_h)) {
                fprintf(stderr, "vgtd: %s: '%s' is not WxH\n", key, val);
                return 2;
            }
            have_res = true;
        } else {
            goto bad;
        }
    }
    if (xlcfg) {
        struct vgt_xl_keys k;
        char *text = NULL;
        size_t len = 0;
        int ret = read_file(xlcfg, &text, &len);

        if (ret) {
            fprintf(stderr, "vgtd: --xl-config %s: %s\n", xlcfg, strerror(-ret));
            return 2;
        }
        ret = vgt_xl_parse(text, len, &k, err, sizeof(err));
        free(text);
        if (ret) {
            fprintf(stderr, "vgtd: %s: %s\n", xlcfg, err);
            return 2;
        }
        if (k.have_low || k.have_high || k.have_fence) {
            req.low_gm_mb = k.have_low ? k.low_mb : req.low_gm_mb;
            req.high_gm_mb = k.have_high ? k.high_mb : req.high_gm_mb;
            req.fences = k.have_fence ? (k.fences > 32 ? 33 : (unsigned)k.fences) : req.fences;
            have_sizes = true;
        }
        if (k.have_memory && d.sim && !req.sim_ram)
            req.sim_ram = k.memory_mb << 20;
        if (k.have_heads && !have_heads) {
            req.heads = k.heads > 3 ? 4 : (unsigned)k.heads;
            have_heads = true;
        }
        if (k.have_res && !have_res) {
            req.res_w = k.res_w;
            req.res_h = k.res_h;
            have_res = true;
        }
    }
    if (have_heads || have_res) {
        req.display_set = true;
        req.heads = have_heads ? req.heads : 1;
        req.res_w = have_res ? req.res_w : 1920;
        req.res_h = have_res ? req.res_h : 1080;
    }
    if (have_sizes && req.type) {
        fprintf(stderr, "vgtd: give either --type or the vgt_*_sz sizes, not both\n");
        return 2;
    }
    if (have_sizes && (!req.low_gm_mb || !req.high_gm_mb)) {
        fprintf(stderr, "vgtd: custom sizes need both vgt_low_gm_sz and vgt_high_gm_sz\n");
        return 2;
    }
    if (!have_sizes && !req.type)
        req.type = "V5_4";
    if (d.sim && have_gpu) {
        fprintf(stderr, "vgtd: --gpu names a real host GPU; --sim uses the simulated one\n");
        return 2;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d.sfd = signalfd(-1, &set, SFD_CLOEXEC);

    /* On Xen, the domain first: without Xen or the domain, say which call
     * failed before the GPU is touched. */
    if (!d.sim && have_domid) {
        struct vgt_xc_domain info;

        if (vgt_xc_domain_check(req.domid, &info, err, sizeof(err))) {
            vgt_err(&d.log, "%s", err);
            goto close_signals;
        }
    }
    hc.sim = d.sim;
    hc.log = &d.log;
    d.disp_cfg.log = &d.log;
    d.disp_cfg.sim = d.sim;
    disp_ret = vgtd_display_create(&d.disp_cfg, &d.disp);
    if (disp_ret) {
        /* a bad VNC option was named already */
        if (disp_ret == -ENOMEM)
            vgt_err(&d.log, "display: out of memory");
        goto close_signals;
    }
    hc.dom_gone = vgtd_display_dom_gone;
    hc.dom_gone_opaque = d.disp;
    if (vgpu_host_create(&hc, &d.host))
        goto destroy_display;
    vgtd_display_set_host(d.disp, d.host);
    if (have_domid && vgpu_host_add(d.host, &req, err, sizeof(err))) {
        vgt_err(&d.log, "%s", err);
        goto destroy_host;
    }
    if (have_domid && vgtd_display_dom_added(d.disp, req.domid, err, sizeof(err))) {
        vgt_err(&d.log, "%s", err);
        goto destroy_host;
    }
    if (control_up(&d))
        goto destroy_host;
    if (d.metrics_addr) {
        uint16_t port = 0;

        if (vgtd_metrics_start(d.host, d.metrics_addr, &d.log, &d.metrics, &port, err,
                               sizeof(err))) {
            vgt_err(&d.log, "%s", err);
            goto close_control;
        }
        vgt_info(&d.log, "metrics on http://%s/metrics (port %u)", d.metrics_addr, port);
        printf("vgtd: metrics port %u\n", port);
    }
    vgt_info(&d.log, "serving vGPUs on %s; control socket %s",
             d.sim || hc.gpu_sim ? "the simulated GPU" : "the host GPU", d.control);
    printf("vgtd: ready, control socket %s\n", d.control);
    fflush(stdout);
    /* Type=notify: ready once the control socket listens. */
    vgtd_sd_notifyf("READY=1\nSTATUS=serving vGPUs on %s; control socket %s",
                    d.sim || hc.gpu_sim ? "the simulated GPU" : "the host GPU", d.control);
    /* On Xen a dying domain's vGPU goes within 200 ms (the @releaseDomain
     * watch, or polling); on the sim the kill comes through the control
     * socket and is reaped in the same turn. */
    if (!d.sim && vgt_domwatch_open(&d.log, &d.watch))
        goto stop_metrics;
    while (!d.stop) {
        struct pollfd p[3] = {{.fd = d.lfd, .events = POLLIN}, {.fd = d.sfd, .events = POLLIN},
                              {.fd = d.watch ? vgt_domwatch_fd(d.watch) : -1, .events = POLLIN}};

        if (poll(p, 3, check_ms(&d)) < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;

            if (read(d.sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGPIPE)
                break;
        }
        if (p[0].revents & POLLIN) {
            int c = accept4(d.lfd, NULL, NULL, SOCK_CLOEXEC);

            if (c >= 0) {
                serve_client(&d, c);
                close(c);
            }
        }
        check_domains(&d);
    }
    vgt_info(&d.log, "stopping: tearing every vGPU down");
    vgtd_sd_notifyf("STOPPING=1\nSTATUS=stopping: tearing every vGPU down");
    rc = 0;
    vgt_domwatch_close(d.watch);
stop_metrics:
    vgtd_metrics_stop(d.metrics);
close_control:
    close(d.lfd);
    unlink(d.control);
destroy_host:
    vgpu_host_destroy(d.host);
destroy_display:
    vgtd_display_destroy(d.disp);
close_signals:
    if (d.sfd >= 0)
        close(d.sfd);
    return rc;

bad:
    fprintf(stderr, "vgtd: bad or incomplete arguments\n");
    usage(stderr);
    return 2;
}

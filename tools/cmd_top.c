/* vgt top: live per-vGPU, per-engine GPU utilisation of a running vgtd.
 *   vgt top [--control PATH] [--json] [-n COUNT] [-d SECONDS]
 * Each refresh takes two "stats" snapshots -d apart (default 1 s) and
 * shows, per vGPU, the share of each engine its workloads held, and the
 * workloads completed in the interval. On a terminal the view is redrawn
 * in place (ANSI); otherwise each refresh prints plain lines; --json
 * prints one JSON object per refresh. -n stops after COUNT refreshes
 * (default: until interrupted). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgt/util.h"
#include "vgt_cmds.h"

#include "host_report.h"
#include "vgpu_client.h"

#define TOP_MAX 64
#define ANS_MAX (1 << 17)

struct top_row {
    unsigned domid, id, weight, cap, share;
    char type[16], state[16];
    bool failsafe;
    uint64_t busy[VGT_ENGINE_NUM], done[VGT_ENGINE_NUM], pending[VGT_ENGINE_NUM];
    uint64_t refused;
};

struct top_sample {
    uint64_t time_ns;
    char gpu[16];
    unsigned n;
    struct top_row r[TOP_MAX];
};

static int add_row(void *opaque, const struct vgt_ctl_msg *m)
{
    struct top_sample *s = opaque;
    struct top_row *r;
    const struct vgt_ctl_field *fs;
    char key[32];

    if (s->n == TOP_MAX)
        return 1;
    r = &s->r[s->n++];
    memset(r, 0, sizeof(*r));
    r->domid = (unsigned)vgpu_ctl_numf(m, "domid");
    r->id = (unsigned)vgpu_ctl_numf(m, "id");
    r->weight = (unsigned)vgpu_ctl_numf(m, "weight");
    r->cap = (unsigned)vgpu_ctl_numf(m, "cap_pct");
    r->share = (unsigned)vgpu_ctl_numf(m, "share_permille");
    r->refused = vgpu_ctl_numf(m, "refused");
    snprintf(r->type, sizeof(r->type), "%s", vgpu_ctl_strf(m, "type"));
    snprintf(r->state, sizeof(r->state), "%s", vgpu_ctl_strf(m, "state"));
    fs = vgt_ctl_get(m, "failsafe");
    r->failsafe = fs && fs->kind == VGT_CTL_BOOL && fs->num;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        snprintf(key, sizeof(key), "busy_ns_%s", host_report_engines[e]);
        r->busy[e] = vgpu_ctl_numf(m, key);
        snprintf(key, sizeof(key), "completed_%s", host_report_engines[e]);
        r->done[e] = vgpu_ctl_numf(m, key);
        snprintf(key, sizeof(key), "pending_%s", host_report_engines[e]);
        r->pending[e] = vgpu_ctl_numf(m, key);
    }
    return 0;
}

static int sample(const char *control, char *ans, struct top_sample *s)
{
    const char *g;
    int ret = vgpu_ctl_request(control, "{\"cmd\":\"stats\"}", ans, ANS_MAX);

    if (ret) {
        fprintf(stderr, "vgt top: no vgtd answers on %s: %s\n", control, strerror(-ret));
        return -1;
    }
    if (!vgpu_ctl_ok(ans)) {
        fprintf(stderr, "vgt top: %s\n", ans);
        return -1;
    }
    s->n = 0;
    s->time_ns = 0;
    g = strstr(ans, "\"time_ns\":");
    if (g)
        s->time_ns = strtoull(g + 10, NULL, 10);
    g = strstr(ans, "\"gpu\":\"");
    snprintf(s->gpu, sizeof(s->gpu), "%.12s", g ? g + 7 : "?");
    if (vgpu_ctl_objects(ans, "vgpus", add_row, s) < 0) {
        fprintf(stderr, "vgt top: malformed stats answer\n");
        return -1;
    }
    return 0;
}

static const struct top_row *find(const struct top_sample *s, const struct top_row *r)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->r[i].domid == r->domid && s->r[i].id == r->id)
            return &s->r[i];
    return NULL;
}

/* Engine utilisation of @r over the interval, in percent. A vGPU that
 * came in the interval counts from zero; one that went is not shown. */
static double util(const struct top_row *r, const struct top_row *was, unsigned e, uint64_t dt)
{
    uint64_t b0 = was ? was->busy[e] : 0;

    return dt && r->busy[e] >= b0 ? 100.0 * (double)(r->busy[e] - b0) / (double)dt : 0;
}

static uint64_t done_delta(const struct top_row *r, const struct top_row *was)
{
    uint64_t a = 0, b = 0;

    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        a += r->done[e];
        b += was ? was->done[e] : 0;
    }
    return a >= b ? a - b : 0;
}

static void print_json(const struct top_sample *a, const struct top_sample *b)
{
    uint64_t dt = b->time_ns - a->time_ns;

    printf("{\"gpu\":\"%s\",\"interval_s\":%.3f,\"vgpus\":[", b->gpu, dt / 1e9);
    for (unsigned i = 0; i < b->n; i++) {
        const struct top_row *r = &b->r[i], *was = find(a, r);

        printf("%s{\"domid\":%u,\"id\":%u,\"type\":\"%s\",\"state\":\"%s\",\"failsafe\":%s,"
               "\"weight\":%u,\"cap_pct\":%u,\"share_pct\":%.1f,\"completed\":%" PRIu64,
               i ? "," : "", r->domid, r->id, r->type, r->state, r->failsafe ? "true" : "false",
               r->weight, r->cap, r->share / 10.0, done_delta(r, was));
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            printf(",\"busy_pct_%s\":%.2f", host_report_engines[e], util(r, was, e, dt));
        printf("}");
    }
    printf("]}\n");
}

static void print_table(const struct top_sample *a, const struct top_sample *b, bool tty)
{
    uint64_t dt = b->time_ns - a->time_ns;
    double total[VGT_ENGINE_NUM] = {0};

    if (tty)
        printf("\033[H\033[2J"); /* home, clear: redraw in place */
    for (unsigned i = 0; i < b->n; i++)
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            total[e] += util(&b->r[i], find(a, &b->r[i]), e, dt);
    printf("vgt top - GPU %s, %u vGPUs, interval %.2f s; engines busy: rcs %.1f%% bcs %.1f%% "
           "vcs %.1f%% vecs %.1f%%\n",
           b->gpu, b->n, dt / 1e9, total[0], total[1], total[2], total[3]);
    printf("%-6s %-6s %-10s %-5s %-5s %-6s %7s %7s %7s %7s %8s %s\n", "DOMID", "TYPE", "STATE", "WGT",
           "CAP", "SHARE", "RCS%", "BCS%", "VCS%", "VECS%", "DONE/s", "QUEUED");
    for (unsigned i = 0; i < b->n; i++) {
        const struct top_row *r = &b->r[i], *was = find(a, r);
        char cap[8];
        uint64_t q = 0;

        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            q += r->pending[e];
        snprintf(cap, sizeof(cap), r->cap ? "%u%%" : "-", r->cap);
        printf("%-6u %-6s %-10s %-5u %-5s %5.1f%% %7.1f %7.1f %7.1f %7.1f %8.1f %" PRIu64 "\n",
               r->domid, r->type, r->failsafe ? "failsafe" : r->state, r->weight, cap,
               r->share / 10.0, util(r, was, 0, dt), util(r, was, 1, dt), util(r, was, 2, dt),
               util(r, was, 3, dt), dt ? done_delta(r, was) * 1e9 / (double)dt : 0.0, q);
    }
    if (!tty)
        printf("\n");
    fflush(stdout);
}

int vgt_cmd_top(int argc, char **argv)
{
    const char *control = NULL;
    bool json = false, tty = isatty(STDOUT_FILENO);
    uint64_t count = 0;
    double delay = 1.0;
    struct top_sample *s = calloc(2, sizeof(*s));
    char *ans = malloc(ANS_MAX);
    int rc = 1;

    if (!s || !ans) {
        fprintf(stderr, "vgt top: out of memory\n");
        goto free_bufs;
    }
    for (int i = 1; i < argc; i++) {
        char *end;

        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
            control = argv[++i];
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            if (vgt_parse_u64(argv[++i], &count) || count == 0) {
                fprintf(stderr, "vgt top: -n '%s': give a count of refreshes (1 or more)\n", argv[i]);
                rc = 2;
                goto free_bufs;
            }
        } else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
            delay = strtod(argv[++i], &end);
            if (*end || !(delay >= 0.05 && delay <= 3600)) {
                fprintf(stderr, "vgt top: -d '%s': give seconds between refreshes (0.05..3600)\n",
                        argv[i]);
                rc = 2;
                goto free_bufs;
            }
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: vgt top [--control PATH] [--json] [-n COUNT] [-d SECONDS]\n");
            rc = 0;
            goto free_bufs;
        } else {
            fprintf(stderr, "usage: vgt top [--control PATH] [--json] [-n COUNT] [-d SECONDS]\n");
            rc = 2;
            goto free_bufs;
        }
    }
    control = vgpu_ctl_path(control);
    if (sample(control, ans, &s[0]))
        goto free_bufs;
    for (uint64_t k = 0; !count || k < count; k++) {
        struct timespec ts = {.tv_sec = (time_t)delay,
                              .tv_nsec = (long)((delay - (double)(time_t)delay) * 1e9)};

        nanosleep(&ts, NULL);
        if (sample(control, ans, &s[1]))
            goto free_bufs;
        if (json)
            print_json(&s[0], &s[1]);
        else
            print_table(&s[0], &s[1], tty);
        fflush(stdout);
        s[0] = s[1];
    }
    rc = 0;
free_bufs:
    free(ans);
    free(s);
    return rc;
}


/* N guests kept busy on one simulated GPU (see bench_guests.h). */
#include "bench_guests.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgt/submit_ppgtt.h"
#include "vgt/util.h"

void *bench_worker_main(void *arg)
{
    struct bench_worker *w = arg;

    while (vgt_now_ns() < w->stop && !(w->rc = gg_run_step(&w->run, 10000)))
        ;
    return NULL;
}

static int64_t heap_now(void)
{
    struct mallinfo2 mi = mallinfo2();

    return (int64_t)(mi.uordblks + mi.hblkhd);
}

static int64_t rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, res = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return (int64_t)res * sysconf(_SC_PAGESIZE);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    nanosleep(&ts, NULL);
}

/* GPU time, wall time on the engines, weights and completed workloads
 * per guest, from the scheduler's accounting. */
static uint64_t read_sched(struct gp *p, unsigned n, struct bench_result *out)
{
    uint64_t done = 0;

    for (unsigned i = 0; i < n; i++) {
        struct vgt_submit_stats st;

        vgt_submit_get_stats(p->guest[i].in.sv, &st);
        out->busy[i] = 0;
        out->wall[i] = 0;
        out->done[i] = 0;
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
            out->busy[i] += (double)st.sched.busy_ns[e];
            out->wall[i] += (double)st.sched.wall_ns[e];
            out->done[i] += (double)st.sched.completed[e];
            done += st.sched.completed[e];
        }
        out->weight[i] = st.sched.weight;
    }
    return done;
}

int bench_run_guests(const struct bench_run *br, struct bench_result *out)
{
    struct gp_cfg cfg;
    struct gp *p;
    struct bench_worker *w;
    unsigned n = br->n, blit = br->blit ? br->blit : BENCH_BLIT;
    uint64_t t0, total = 0, done = 0;
    int64_t heap0, rss0;
    double el = 0;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    memset(out, 0, sizeof(*out));
    cfg.guests = n;
    cfg.res = *br->res;
    cfg.type_name = br->type;
    cfg.guest_ram = 32ull << 20;
    cfg.ns_per_byte = br->ns_per_byte;
    cfg.log = br->log;
    if (br->weights)
        memcpy(cfg.weights, br->weights, n * sizeof(*br->weights));
    heap0 = heap_now();
    rss0 = rss_now();
    rc = gp_create(&cfg, &p);
    if (rc)
        return rc;
    out->heap_bytes = heap_now() - heap0;
    out->rss_bytes = rss_now() - rss0;
    w = calloc(n, sizeof(*w));
    if (!w) {
        gp_destroy(p);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n && !rc; i++)
        rc = gg_run_init(&w[i].run, p->guest[i].drv, br->wl, blit, blit, 0x500 + i);
    if (!rc) {
        vgt_sched_reset_stats(vgt_submit_sched(p->sub));
        t0 = vgt_now_ns();
        for (unsigned i = 0; i < n; i++) {
            w[i].stop = t0 + (uint64_t)((br->warmup_s + br->seconds) * 1e9);
            pthread_create(&w[i].thr, NULL, bench_worker_main, &w[i]);
        }
        if (br->warmup_s > 0) {
            sleep_s(br->warmup_s);
            vgt_sched_reset_stats(vgt_submit_sched(p->sub));
            t0 = vgt_now_ns();
            sleep_s(br->seconds * 0.95); /* read before any guest stops */
            done = read_sched(p, n, out);
            el = (double)(vgt_now_ns() - t0) / 1e9;
        }
        for (unsigned i = 0; i < n; i++)
            pthread_join(w[i].thr, NULL);
        if (br->warmup_s <= 0) {
            el = (double)(vgt_now_ns() - t0) / 1e9;
            (void)read_sched(p, n, out);
        }
        for (unsigned i = 0; i < n; i++) {
            struct vgt_submit_pp_stats ps;

            total += w[i].run.blits + w[i].run.stores;
            out->failures += w[i].run.failures + (w[i].rc ? 1 : 0);
            if (!vgt_submit_pp_get_stats(p->guest[i].in.pp, &ps))
                out->shadow_bytes += ps.shadow_bytes;
        }
        out->per_s = (double)(br->warmup_s > 0 ? done : total) / el;
    }
    for (unsigned i = 0; i < n; i++)
        gg_run_fini(&w[i].run);
    free(w);
    gp_destroy(p);
    return rc;
}

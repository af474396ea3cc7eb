/* vgt demo: N guests, each with its own vGPU on one simulated GPU, running
 * real workloads at once with every result checked in guest memory, and a
 * native baseline of the same workload in the same run. Argument parsing
 * and printing only; the platform is gpu_platform.c, the guest driver
 * sim/guest, the mediation mediator/. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_platform.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_native.h"
#include "vgt/util.h"
#include "vgt_cmds.h"

#define BLIT_W 256
#define BLIT_H 256

struct worker {
    struct gp_guest *gg;
    struct gg_run run;
    enum gg_workload wl;
    uint64_t deadline;
    volatile uint64_t done;  /* workloads checked, read by the live line */
    int rc;
    pthread_t thr;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    while (vgt_now_ns() < w->deadline) {
        w->rc = gg_run_step(&w->run, 10000);
        if (w->rc)
            break;
        /* workloads completed and checked: blits plus stores */
        __atomic_store_n(&w->done, w->run.blits + w->run.stores, __ATOMIC_RELAXED);
    }
    return NULL;
}

static int parse_list(const char *s, unsigned *out, unsigned max, unsigned *n)
{
    char *end;

    *n = 0;
    while (*s) {
        unsigned long v = strtoul(s, &end, 10);

        if (end == s || v == 0 || v > VGT_SCHED_MAX_WEIGHT || *n >= max)
            return -EINVAL;
        out[(*n)++] = (unsigned)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -EINVAL;
    }
    return *n ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vgt demo [--guests N] [--type V5_8|V5_4|V5_2|V5_1] [--workload blit|store|mixed]\n"
               "                [--seconds S] [--weights a,b,...] [--json FILE]\n"
               "                [--low-gm MB --high-gm MB --fences N] [--gpu-ns-per-byte X]\n"
               "--gpu-ns-per-byte makes the simulated GPU slower (X ns per byte a command moves),\n"
               "so the engines, not the guests' CPU loops, are the bottleneck and weights show.\n");
}

/* The native baseline: the same workload on a GPU of its own, driven by
 * the host driver with no mediator. Workloads per second. */
static int native_rate(enum gg_workload wl, double seconds, struct vgt_log *log, double *rate)
{
    struct sim_arena *a;
    struct sim_gpu *gpu;
    struct sim_native *n;
    struct sim_native_run_cfg rc = {0};
    struct sim_native_result res;
    int ret;

    ret = sim_arena_create(256ull << 20, &a);
    if (ret)
        return ret;
    ret = sim_gpu_create(a, NULL, log, &gpu);
    if (ret)
        goto free_arena;
    ret = sim_native_create(sim_gpu_hostgpu(gpu), log, NULL, &n);
    if (ret)
        goto free_gpu;
    rc.workload = wl == GG_WL_BLIT ? SIM_WL_BLIT : wl == GG_WL_STORE ? SIM_WL_STORE : SIM_WL_MIXED;
    rc.seconds = seconds;
    rc.blit_w = BLIT_W;
    rc.blit_h = BLIT_H;
    ret = sim_native_run(n, &rc, &res);
    if (!ret && res.failures)
        ret = -EIO;
    if (!ret) {
        /* workloads: a blit (fill + copy batch) or a store batch, each
         * checked, counted the same way as the guests count theirs */
        double it = (double)(res.blits + res.stores);

        (void)wl;

        *rate = res.elapsed_s > 0 ? it / res.elapsed_s : 0;
    }
    sim_native_destroy(n);
free_gpu:
    sim_gpu_destroy(gpu);
free_arena:
    sim_arena_destroy(a);
    return ret;
}

int vgt_demo_gpu(int argc, char **argv)
{
    struct gp_cfg cfg;
    struct vgt_log log;
    struct gp *p = NULL;
    struct worker *w = NULL;
    const char *type = "V5_8", *json = NULL, *wl_name = "mixed";
    enum gg_workload wl = GG_WL_MIXED;
    double seconds = 5, native = 0, ns_per_byte = 0;
    unsigned guests = 4, nweights = 0, fences = 0;
    uint64_t low_mb = 0, high_mb = 0;
    bool custom = false;
    unsigned weights[GP_MAX_GUESTS] = {0};
    uint64_t t0 = vgt_now_ns(), failures = 0, total = 0;
    int rc, exit_code = 0;

    vgt_log_init(&log, "demo", VGT_LOG_ERR);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;

        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "vgt demo: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--guests")) {
            if (vgt_parse_u64(v, &x) || x == 0 || x > GP_MAX_GUESTS) {
                fprintf(stderr, "vgt demo: --guests must be 1..%d\n", GP_MAX_GUESTS);
                return 2;
            }
            guests = (unsigned)x;
        } else if (!strcmp(a, "--type")) {
            type = v;
        } else if (!strcmp(a, "--workload")) {
            wl_name = v;
            if (!strcmp(v, "blit"))
                wl = GG_WL_BLIT;
            else if (!strcmp(v, "store"))
                wl = GG_WL_STORE;
            else if (!strcmp(v, "mixed"))
                wl = GG_WL_MIXED;
            else {
                fprintf(stderr, "vgt demo: unknown workload '%s' (blit|store|mixed)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--seconds")) {
            char *end;

            seconds = strtod(v, &end);
            if (*end || seconds <= 0 || seconds > 3600) {
                fprintf(stderr, "vgt demo: --seconds must be in (0, 3600]\n");
                return 2;
            }
        } else if (!strcmp(a, "--weights")) {
            if (parse_list(v, weights, GP_MAX_GUESTS, &nweights)) {
                fprintf(stderr, "vgt demo: --weights wants a comma list of 1..%u\n", VGT_SCHED_MAX_WEIGHT);
                return 2;
            }
        } else if (!strcmp(a, "--gpu-ns-per-byte")) {
            char *end;

            ns_per_byte = strtod(v, &end);
            if (*end || ns_per_byte < 0 || ns_per_byte > 1000) {
                fprintf(stderr, "vgt demo: --gpu-ns-per-byte must be in [0, 1000]\n");
                return 2;
            }
        } else if (!strcmp(a, "--json")) {
            json = v;
        } else if (!strcmp(a, "--low-gm") || !strcmp(a, "--high-gm") || !strcmp(a, "--fences")) {
            if (vgt_parse_u64(v, &x)) {
                fprintf(stderr, "vgt demo: %s wants a number\n", a);
                return 2;
            }
            custom = true;
            if (!strcmp(a, "--low-gm"))
                low_mb = x;
            else if (!strcmp(a, "--high-gm"))
                high_mb = x;
            else
                fences = (unsigned)x;
        } else {
            fprintf(stderr, "vgt demo: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (nweights && nweights != guests) {
        fprintf(stderr, "vgt demo: --weights has %u entries for %u guests\n", nweights, guests);
        return 2;
    }
    memset(&cfg, 0, sizeof(cfg));
    if (custom) {
        const char *why = NULL;

        if (!low_mb || !high_mb) {
            fprintf(stderr, "vgt demo: custom sizes need both --low-gm and --high-gm\n");
            return 2;
        }
        if (vgt_vgpu_res_custom(low_mb, high_mb, fences, &cfg.res, &why)) {
            fprintf(stderr, "vgt demo: bad custom size: %s\n", why ? why : "invalid");
            return 2;
        }
        cfg.type_name = "custom";
        if (!cfg.res.weight)
            cfg.res.weight = 4;
    } else {
        if (vgt_vgpu_res_from_type(type, &cfg.res)) {
            fprintf(stderr, "vgt demo: unknown type '%s' (V5_8, V5_4, V5_2, V5_1)\n", type);
            return 2;
        }
        cfg.type_name = type;
    }
    {
        const char *limit;
        unsigned fit = gp_fit(&cfg.res, 512ull << 20, &limit);

        if (guests > fit) {
            fprintf(stderr,
                    "vgt demo: %u guests of %s (%llu MiB low, %llu MiB high, %u fences) do not fit: %s, "
                    "so at most %u fit. Use --guests %u, or smaller sizes "
                    "(--low-gm MB --high-gm MB --fences N, e.g. 16/128/1 for 16 guests).\n",
                    guests, cfg.type_name, (unsigned long long)(cfg.res.low_size >> 20),
                    (unsigned long long)(cfg.res.high_size >> 20), cfg.res.fences, limit, fit, fit);
            return 2;
        }
    }
    cfg.guests = guests;
    memcpy(cfg.weights, weights, sizeof(weights));
    cfg.guest_ram = 64ull << 20;
    cfg.ns_per_byte = ns_per_byte;
    cfg.log = &log;

    printf("vgt demo: %u guests, %s vGPUs, workload %s, %.1f s\n", guests, cfg.type_name, wl_name, seconds);
    printf("native baseline (same workload, no mediator, same run)...\n");
    rc = native_rate(wl, VGT_MIN(seconds, 2.0), &log, &native);
    if (rc) {
        fprintf(stderr, "vgt demo: native baseline failed: %s\n", strerror(-rc));
        return 1;
    }
    rc = gp_create(&cfg, &p);
    if (rc) {
        fprintf(stderr, "vgt demo: bringing up the platform failed: %s%s\n", strerror(-rc),
                rc == -ENOTSUP ? " (PPGTT shadowing is not built in)" : "");
        return 1;
    }
    w = calloc(guests, sizeof(*w));
    if (!w) {
        gp_destroy(p);
        return 1;
    }
    for (unsigned i = 0; i < guests; i++) {
        w[i].gg = &p->guest[i];
        w[i].wl = wl;
        rc = gg_run_init(&w[i].run, p->guest[i].drv, wl, BLIT_W, BLIT_H, 0x1000 + i);
        if (rc) {
            fprintf(stderr, "vgt demo: guest %u: workload set-up failed: %s\n", i, strerror(-rc));
            exit_code = 1;
            guests = i;
            goto stop;
        }
    }
    vgt_sched_reset_stats(vgt_submit_sched(p->sub));
    t0 = vgt_now_ns();
    for (unsigned i = 0; i < guests; i++) {
        w[i].deadline = t0 + (uint64_t)(seconds * 1e9);
        pthread_create(&w[i].thr, NULL, worker_main, &w[i]);
    }
    for (unsigned sec = 1; vgt_now_ns() < t0 + (uint64_t)(seconds * 1e9); sec++) {
        uint64_t target = t0 + sec * 1000000000ull, now = vgt_now_ns(), sum = 0;

        if (target > now) {
            struct timespec ts = {(time_t)((target - now) / 1000000000ull),
                                  (long)((target - now) % 1000000000ull)};

            nanosleep(&ts, NULL);
        }
        printf("[%2us]", sec);
        for (unsigned i = 0; i < guests; i++) {
            uint64_t d = __atomic_load_n(&w[i].done, __ATOMIC_RELAXED);

            sum += d;
            if (guests <= 8)
                printf(" g%u %6llu", i, (unsigned long long)d);
        }
        printf("  total %llu (%.0f/s)\n", (unsigned long long)sum,
               (double)sum / ((double)(vgt_now_ns() - t0) / 1e9));
        fflush(stdout);
    }
stop:
    for (unsigned i = 0; i < guests; i++)
        if (w[i].deadline)
            pthread_join(w[i].thr, NULL);
    {
        double elapsed = (double)(vgt_now_ns() - t0) / 1e9;
        double busy_total = 0, wsum = 0;
        double busy[GP_MAX_GUESTS], wt[GP_MAX_GUESTS];
        FILE *jf = json ? fopen(json, "w") : NULL;

        if (json && !jf)
            fprintf(stderr, "vgt demo: cannot write %s: %s\n", json, strerror(errno));
        for (unsigned i = 0; i < guests; i++) {
            struct vgt_submit_stats st;

            vgt_submit_get_stats(p->guest[i].in.sv, &st);
            busy[i] = 0;
            for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
                busy[i] += (double)st.sched.busy_ns[e];
            wt[i] = st.sched.weight;
            busy_total += busy[i];
            wsum += wt[i];
        }
        printf("\n%-6s %10s %10s %10s %10s %9s %s\n", "guest", "done", "per s", "gpu share", "weight share",
               "failsafe", "result");
        if (jf)
            fprintf(jf, "{\"guests\":[");
        for (unsigned i = 0; i < guests; i++) {
            struct vgt_vgpu_info info;
            struct vgt_submit_stats st;
            bool ok = w[i].run.failures == 0 && w[i].rc == 0;

            vgt_vgpu_get_info(p->guest[i].in.vgpu, &info);
            vgt_submit_get_stats(p->guest[i].in.sv, &st);
            total += w[i].done;
            failures += w[i].run.failures + (w[i].rc ? 1 : 0);
            printf("%-6u %10llu %10.1f %9.1f%% %11.1f%% %9llu %s%s%s\n", i, (unsigned long long)w[i].done,
                   (double)w[i].done / elapsed, busy_total ? 100.0 * busy[i] / busy_total : 0,
                   100.0 * wt[i] / wsum, (unsigned long long)st.sched.failsafe_events,
                   ok ? "ok" : "FAILED: ", ok ? "" : w[i].run.first_failure[0] ? w[i].run.first_failure
                                                      : info.failsafe ? info.failsafe_detail : strerror(-w[i].rc),
                   "");
            if (jf)
                fprintf(jf, "%s{\"guest\":%u,\"done\":%llu,\"per_s\":%.2f,\"gpu_share\":%.4f,"
                            "\"weight_share\":%.4f,\"failsafe\":%llu,\"failures\":%llu}",
                        i ? "," : "", i, (unsigned long long)w[i].done, (double)w[i].done / elapsed,
                        busy_total ? busy[i] / busy_total : 0, wt[i] / wsum,
                        (unsigned long long)st.sched.failsafe_events,
                        (unsigned long long)w[i].run.failures);
        }
        printf("\nmediated: %.1f workloads/s over %u guests; native: %.1f/s; ratio %.3f; "
               "fairness (Jain, time/weight) %.3f\n",
               (double)total / elapsed, guests, native, native ? (double)total / elapsed / native : 0,
               vgt_sched_jain(busy, wt, guests));
        if (jf) {
            fprintf(jf, "],\"mediated_per_s\":%.2f,\"native_per_s\":%.2f,\"jain\":%.4f,\"failures\":%llu}\n",
                    (double)total / elapsed, native, vgt_sched_jain(busy, wt, guests),
                    (unsigned long long)failures);
            fclose(jf);
        }
    }
    if (failures) {
        printf("vgt demo: %llu wrong or missing results\n", (unsigned long long)failures);
        exit_code = 1;
    } else if (!exit_code) {
        printf("vgt demo: every result checked, all correct\n");
    }
    for (unsigned i = 0; i < guests; i++)
        gg_run_fini(&w[i].run);
    free(w);
    gp_destroy(p);
    return exit_code;
}

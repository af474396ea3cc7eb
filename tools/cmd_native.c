/* vgt native --workload blit|store|mixed --seconds S [--size WxH]
 *            [--ns-per-byte X] [--json]
 *
 * Runs a native (unmediated) workload on the simulated GPU with the host
 * driver of sim/gpu (vgt/sim_native.h), verifies every result on the CPU
 * and prints throughput. Exits 1 when a result is wrong or the GPU
 * faulted, 2 on bad arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/sim_gpu.h"
#include "vgt/sim_native.h"
#include "vgt_cmds.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vgt native --workload blit|store|mixed --seconds S [--size WxH]\n"
                 "                  [--ns-per-byte X] [--json]\n");
}

static int parse_size(const char *s, uint32_t *w, uint32_t *h)
{
    char *end;
    unsigned long a = strtoul(s, &end, 10), b;

    if (end == s || (*end != 'x' && *end != 'X'))
        return -EINVAL;
    s = end + 1;
    b = strtoul(s, &end, 10);
    if (end == s || *end || a == 0 || b == 0 || a > 8191 || b > 32767)
        return -EINVAL;
    *w = (uint32_t)a;
    *h = (uint32_t)b;
    return 0;
}

int vgt_cmd_native(int argc, char **argv)
{
    struct sim_native_run_cfg rc = {.seconds = 1.0};
    struct sim_gpu_config gc = {0};
    struct sim_native_result res;
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    struct sim_native *n;
    const char *wl = NULL;
    int json = 0, ret;
    char *end;

    vgt_log_init(&log, "native", VGT_LOG_WARN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--workload") && v) {
            wl = v;
            i++;
        } else if (!strcmp(a, "--seconds") && v) {
            rc.seconds = strtod(v, &end);
            if (end == v || *end || !(rc.seconds >= 0 && rc.seconds <= 3600)) {
                fprintf(stderr, "vgt native: --seconds '%s': want 0..3600\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--size") && v) {
            if (parse_size(v, &rc.blit_w, &rc.blit_h)) {
                fprintf(stderr, "vgt native: --size '%s': want WxH, W <= 8191, H <= 32767\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--ns-per-byte") && v) {
            gc.ns_per_byte = strtod(v, &end);
            if (end == v || *end || !(gc.ns_per_byte >= 0 && gc.ns_per_byte <= 1e6)) {
                fprintf(stderr, "vgt native: --ns-per-byte '%s': want 0..1e6\n", v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "vgt native: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!wl) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(wl, "blit"))
        rc.workload = SIM_WL_BLIT;
    else if (!strcmp(wl, "store"))
        rc.workload = SIM_WL_STORE;
    else if (!strcmp(wl, "mixed"))
        rc.workload = SIM_WL_MIXED;
    else {
        fprintf(stderr, "vgt native: unknown workload '%s' (blit, store or mixed)\n", wl);
        return 2;
    }
    ret = sim_arena_create(2ull << 30, &arena);
    if (ret) {
        fprintf(stderr, "vgt native: host memory arena: %s\n", strerror(-ret));
        return 1;
    }
    ret = sim_gpu_create(arena, &gc, &log, &gpu);
    if (ret) {
        fprintf(stderr, "vgt native: GPU model: %s\n", strerror(-ret));
        goto destroy_arena;
    }
    ret = sim_native_create(sim_gpu_hostgpu(gpu), &log, NULL, &n);
    if (ret) {
        fprintf(stderr, "vgt native: driver: %s\n", strerror(-ret));
        goto destroy_gpu;
    }
    ret = sim_native_run(n, &rc, &res);
    if (ret)
        fprintf(stderr, "vgt native: %s workload stopped: %s\n", wl,
                ret == -EIO ? "GPU fault" : strerror(-ret));
    if (json) {
        printf("{\"workload\":\"%s\",\"seconds\":%.3f,\"gpu_seconds\":%.3f,\"submissions\":%llu,"
               "\"submissions_per_s\":%.1f,\"blits\":%llu,\"blit_bytes_per_s\":%.0f,"
               "\"stores\":%llu,\"failures\":%llu}\n",
               wl, res.elapsed_s, res.gpu_s, (unsigned long long)res.submissions,
               res.elapsed_s > 0 ? res.submissions / res.elapsed_s : 0,
               (unsigned long long)res.blits, res.gpu_s > 0 ? res.blit_bytes / res.gpu_s : 0,
               (unsigned long long)res.stores, (unsigned long long)res.failures);
    } else {
        printf("native %s: %.2f s, %llu submissions (%.0f/s)", wl, res.elapsed_s,
               (unsigned long long)res.submissions,
               res.elapsed_s > 0 ? res.submissions / res.elapsed_s : 0);
        if (res.blits)
            printf(", %llu blits, %.1f MiB/s blitted (GPU time %.2f s)",
                   (unsigned long long)res.blits,
                   res.gpu_s > 0 ? res.blit_bytes / res.gpu_s / (1 << 20) : 0, res.gpu_s);
        if (res.stores)
            printf(", %llu store batches", (unsigned long long)res.stores);
        printf(", %s\n", res.failures ? "VERIFICATION FAILED" : "all results verified");
    }
    if (res.failures)
        fprintf(stderr, "vgt native: %llu results wrong\n", (unsigned long long)res.failures);
    ret = ret || res.failures ? 1 : 0;
    sim_native_destroy(n);
destroy_gpu:
    sim_gpu_destroy(gpu);
destroy_arena:
    sim_arena_destroy(arena);
    return ret ? 1 : 0;
}

/* N guests on one simulated GPU, each kept busy with the same checked
 * workload for a set time (vgt bench sched and vgt bench scale). */
#ifndef VGT_BENCH_GUESTS_H
#define VGT_BENCH_GUESTS_H

#include <pthread.h>
#include <stdint.h>

#include "gpu_platform.h"
#include "vgt/gpu_workload.h"

#define BENCH_BLIT 256 /* blit workloads: 256 x 256 x 32 bpp fill + copy */

/* One guest's loop: checked workloads until the clock reaches stop. */
struct bench_worker {
    struct gg_run run;
    uint64_t stop;
    int rc;
    pthread_t thr;
};

void *bench_worker_main(void *arg); /* a struct bench_worker */

struct bench_result {
    double per_s;                  /* checked workloads per second, all guests */
    double busy[GP_MAX_GUESTS];    /* GPU ns per guest (what the scheduler charges) */
    double wall[GP_MAX_GUESTS];    /* wall ns on the engines per guest */
    double done[GP_MAX_GUESTS];    /* workloads completed per guest */
    double weight[GP_MAX_GUESTS];
    uint64_t failures;
    /* vgtd's memory for the platform: bring-up deltas (vGPUs, shadows,
     * ioreq servers, and the simulated guests' RAM they touched), and the
     * PPGTT shadow bytes the guests' work left, summed over guests */
    int64_t heap_bytes;            /* malloc'd bytes in use (mallinfo2) */
    int64_t rss_bytes;             /* resident set (/proc/self/statm) */
    uint64_t shadow_bytes;
};

struct bench_run {
    unsigned n;                   /* guests */
    const struct vgt_vgpu_res *res;
    const char *type;             /* type name of the vGPUs, or "custom" */
    const unsigned *weights;      /* NULL: the type's */
    enum gg_workload wl;
    unsigned blit;                /* blit side in pixels (0: BENCH_BLIT) */
    double ns_per_byte;           /* GPU cost model (0: CPU speed) */
    double seconds;
    /* 0: count from the start to the end of every guest's loop. Else
     * the guests run this long first, and the figures cover only the
     * window after it, read while every guest is still busy (no start-up
     * or wind-down in the shares); per_s counts the workloads the
     * scheduler saw complete in the window. */
    double warmup_s;
    struct vgt_log *log;
};

/* 0, or a negative errno (bring-up failed). */
int bench_run_guests(const struct bench_run *br, struct bench_result *out);

#endif

/* Shared harness of the end-to-end GPU tests (test_gpu_submit.c,
 * test_hostile_submit.c): guests on the simulated platform
 * (host/gpu_platform.c), honest workers whose every result is checked,
 * GPU-time shares, failsafe with its reason, and the device-model reset
 * that is the way out of failsafe. */
#ifndef VGT_TESTS_GPU_HARNESS_H
#define VGT_TESTS_GPU_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_platform.h"
#include "vgt/gpu_workload.h"

#define HX_BLIT 128

/* A guest running a workload in a loop, every result checked. */
struct hx_worker {
    struct gp *p;
    unsigned idx;
    enum gg_workload wl;
    struct gg_run run;
    uint64_t stop_ns;
    uint64_t done;
    int rc;
    pthread_t thr;
};

/* A guest that keeps its blitter backlogged: two fills in flight on two
 * contexts, each result checked (every pixel) while the other runs, so
 * its share of the engine is the scheduler's doing, not its CPU loop's. */
struct hx_filler {
    struct gp *p;
    unsigned idx;
    uint64_t stop_ns;
    uint64_t done, failures;
    int rc;
    char first_failure[128];
    pthread_t thr;
};
void hx_fill_start(struct hx_filler *f, struct gp *p, unsigned idx, double seconds);
/* The same, stopping at @stop_ns (vgt_now_ns clock): fillers that share
 * it wind down together. */
void hx_fill_start_until(struct hx_filler *f, struct gp *p, unsigned idx, uint64_t stop_ns);
/* Joins; fails the test on an error or a wrong pixel. */
void hx_fill_finish(struct hx_filler *f);

/* @n guests of @type (weights NULL: the type's), GPU cost @ns_per_byte,
 * @vcpus per guest (0: 1). */
struct gp *hx_platform(unsigned n, const char *type, const unsigned *weights, double ns_per_byte,
                       unsigned vcpus);
/* The same with @guest_ram bytes per guest (hx_platform: 48 MiB). */
struct gp *hx_platform_ram(unsigned n, const char *type, const unsigned *weights, double ns_per_byte,
                           unsigned vcpus, uint64_t guest_ram);
/* @n guests of @type with the rest of @cfg as given (log: the
 * harness's, off). */
struct gp *hx_platform_cfg(unsigned n, const char *type, struct gp_cfg *cfg);
void hx_start(struct hx_worker *w, struct gp *p, unsigned idx, enum gg_workload wl, double seconds);
/* Joins; fails the test on an error or a wrong result. */
void hx_finish(struct hx_worker *w);
/* GPU time charged to guest @i on @engine (-1: all engines), ns. */
double hx_busy(struct gp *p, unsigned i, int engine);
bool hx_failsafe(struct gp *p, unsigned i);
/* Guest @i is in failsafe for @reason and its detail or the submission
 * path's last refusal names @what. */
void hx_assert_failsafe(struct gp *p, unsigned i, int reason, const char *what);
/* Device-model reset out of failsafe, then the guest's driver starts over. */
void hx_reprobe(struct gp *p, unsigned i);
/* Submit @cmds on a fresh context of @engine: the vGPU must end in
 * failsafe for @what (see hx_assert_failsafe) and the submission never
 * complete; then hx_reprobe. */
void hx_expect_failsafe(struct gp *p, unsigned i, unsigned engine, const uint32_t *cmds, size_t n,
                        const char *what);
/* The GPU time of guests @idx[0..n) on @engine holds within +-@tol of
 * their weight shares @wt. */
void hx_assert_shares(struct gp *p, const unsigned *idx, const double *wt, unsigned n, int engine,
                      double tol);

#endif

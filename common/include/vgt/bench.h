/* Benchmark output: one JSON line per figure, always with a baseline that
 * was measured in the same run (the machines are shared and noisy, so only
 * ratios are comparable between runs). */
#ifndef VGT_BENCH_H
#define VGT_BENCH_H

#include <stdio.h>

struct vgt_bench_fig {
    const char *bench;  /* e.g. "ioreq" */
    const char *metric; /* e.g. "mmio_read_round_trip" */
    double value;
    const char *unit;   /* e.g. "ns" */
    double baseline;    /* same unit, same run */
    const char *baseline_desc; /* what the baseline is, may be NULL */
    const char *target; /* e.g. "ratio<=2.5", may be NULL */
};

/* ratio = value / baseline (0 when the baseline is 0). With json == 0 a
 * human-readable line is printed instead. */
void vgt_bench_emit(FILE *out, int json, const struct vgt_bench_fig *fig);

#endif

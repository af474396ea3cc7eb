/* The benchmarks behind `vgt bench NAME`: bench/bench_NAME.c each. The
 * ones on the seam doubles of sim/fake are programs of their own
 * (bench/meson.build: vgt-bench-ppgtt). */
#ifndef VGT_BENCH_VGT_BENCH_H
#define VGT_BENCH_VGT_BENCH_H

/* vgt bench NAME [--json]: argv[0] is NAME. */
int vgt_bench_ioreq(int argc, char **argv);
int vgt_bench_gpu(int argc, char **argv);
int vgt_bench_vgpu(int argc, char **argv);
int vgt_bench_svm(int argc, char **argv);
int vgt_bench_sched(int argc, char **argv);
int vgt_bench_scale(int argc, char **argv);
int vgt_bench_display(int argc, char **argv);
int vgt_bench_mapcache(int argc, char **argv);
int vgt_bench_ggtt_switch(int argc, char **argv);

#endif

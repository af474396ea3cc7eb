/* Subcommands of the vgt command line. Each lives in its own file
 * (tools/cmd_NAME.c, tools/demo_NAME.c; benchmarks in bench/vgt_bench.h).
 * Each returns the process exit code. */
#ifndef VGT_CMDS_H
#define VGT_CMDS_H

int vgt_cmd_decode(int argc, char **argv);
int vgt_cmd_native(int argc, char **argv);
int vgt_cmd_inspect(int argc, char **argv);
int vgt_cmd_assign(int argc, char **argv);
int vgt_cmd_up(int argc, char **argv);
int vgt_cmd_down(int argc, char **argv);
int vgt_cmd_list(int argc, char **argv);
int vgt_cmd_top(int argc, char **argv);
int vgt_cmd_set(int argc, char **argv);   /* tools/cmd_set.c */
int vgt_cmd_reset(int argc, char **argv); /* tools/cmd_set.c */
int vgt_cmd_inventory(int argc, char **argv);
int vgt_cmd_screenshot(int argc, char **argv);

/* vgt demo --workload W: argv[0] is "demo". */
int vgt_demo_testdev(int argc, char **argv);
int vgt_demo_sva(int argc, char **argv);
int vgt_demo_gpu(int argc, char **argv); /* blit|store|mixed */
int vgt_demo_display(int argc, char **argv); /* vgt demo --display */

#endif

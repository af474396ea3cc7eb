/* vgt: the command line. A table of subcommands, each in its own file;
 * every one is built on every architecture. */
#include <stdio.h>
#include <string.h>

#include "vgt_bench.h"
#include "vgt_cmds.h"
#include "vgt_config.h"

struct vgt_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static int cmd_bench(int argc, char **argv);
static int cmd_demo(int argc, char **argv);

static const struct vgt_cmd cmds[] = {
    {"demo", cmd_demo, "run the main job on the simulated platform (--workload W)"},
    {"bench", cmd_bench, "run a benchmark: vgt bench NAME [--json]"},
    {"decode", vgt_cmd_decode, "decode a GPU command stream"},
    {"native", vgt_cmd_native, "run a native (unmediated) GPU workload"},
    {"inspect", vgt_cmd_inspect, "probe a vGPU through the full ioreq path"},
    {"assign", vgt_cmd_assign, "check and configure device assignment (pci|dt)"},
    {"up", vgt_cmd_up, "start a guest whose xl config says vgt=1"},
    {"down", vgt_cmd_down, "stop a vgt guest"},
    {"list", vgt_cmd_list, "list vGPUs served by vgtd"},
    {"top", vgt_cmd_top, "live per-vGPU, per-engine GPU utilisation"},
    {"set", vgt_cmd_set, "change a vGPU's scheduler weight/cap live: set DOMID weight=N cap=P"},
    {"reset", vgt_cmd_reset, "reset a vGPU (the way out of failsafe): reset DOMID"},
    {"inventory", vgt_cmd_inventory, "what this host offers fleet schedulers (--format xapi|placement)"},
    {"screenshot", vgt_cmd_screenshot, "a guest's screen to PNG: screenshot DOMID [--head N] --out FILE"},
};

static const struct vgt_cmd benches[] = {
    {"ioreq", vgt_bench_ioreq, "ioreq round trip and dispatch"},
    {"gpu", vgt_bench_gpu, "decoder and native GPU throughput"},
    {"vgpu", vgt_bench_vgpu, "GGTT trap path and shadowed updates"},
    {"svm", vgt_bench_svm, "IOMMU translation and page faults"},
    {"sched", vgt_bench_sched, "mediated vs native, fairness, scale"},
    {"scale", vgt_bench_scale, "1 to 64 guests: aggregate throughput, fairness, memory per vGPU"},
    {"display", vgt_bench_display, "plane decode, VNC frame rate and flip-to-update latency"},
    {"mapcache", vgt_bench_mapcache, "Xen guest-frame map cache: mapping cost, hit rate"},
    {"ggtt-switch", vgt_bench_ggtt_switch, "graphics-memory switch between vGPUs sharing ranges"},
    {NULL, NULL, NULL},
};

/* Demo workloads: the first one is the default. */
static const struct vgt_cmd demos[] = {
    {"mixed", vgt_demo_gpu, "guests running mixed GPU work on one vGPU each"},
    {"blit", vgt_demo_gpu, "guests running blits"},
    {"store", vgt_demo_gpu, "guests running store-dword batches"},
    {"testdev", vgt_demo_testdev, "guest vCPUs hammering the ioreq test device"},
    {"sva", vgt_demo_sva, "two guest processes on an SVA accelerator"},
    {NULL, NULL, NULL},
};

static void list(FILE *out, const struct vgt_cmd *t, size_t n)
{
    for (size_t i = 0; i < n && t[i].name; i++)
        fprintf(out, "  %-10s %s\n", t[i].name, t[i].help);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: vgt COMMAND [ARGS]\n\ncommands:\n");
    list(out, cmds, sizeof(cmds) / sizeof(cmds[0]));
    fprintf(out, "\nbenchmarks (vgt bench NAME [--json]):\n");
    list(out, benches, sizeof(benches) / sizeof(benches[0]));
    fprintf(out, "\ndemo workloads (vgt demo --workload W):\n");
    list(out, demos, sizeof(demos) / sizeof(demos[0]));
}

static int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout, "usage: vgt bench NAME [--json]\n");
        list(argc < 2 ? stderr : stdout, benches, sizeof(benches) / sizeof(benches[0]));
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; benches[i].name; i++)
        if (!strcmp(argv[1], benches[i].name))
            return benches[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vgt bench: unknown benchmark '%s'\n", argv[1]);
    return 2;
}

/* Finds --workload W (or --workload=W) and passes every argument on. */
static int cmd_demo(int argc, char **argv)
{
    const char *w = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--display"))
            return vgt_demo_display(argc, argv);
        if (!strcmp(argv[i], "--workload") && i + 1 < argc)
            w = argv[i + 1];
        else if (!strncmp(argv[i], "--workload=", 11))
            w = argv[i] + 11;
    }
    if (!w)
        return demos[0].fn(argc, argv);
    for (size_t i = 0; demos[i].name; i++)
        if (!strcmp(w, demos[i].name))
            return demos[i].fn(argc, argv);
    fprintf(stderr, "vgt demo: unknown workload '%s'\n", w);
    list(stderr, demos, sizeof(demos) / sizeof(demos[0]));
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vgt %s\n", VGT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vgt: unknown command '%s' (vgt --help lists them)\n", argv[1]);
    return 2;
}

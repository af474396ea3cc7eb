/* vgt demo --workload sva: two guest processes share one SVA accelerator
 * through the emulated VT-d IOMMU (see docs/svm.md). Argument parsing and
 * printing only; the workload is svm/sva_workload.c. */
#include <stdio.h>
#include <string.h>

#include "vgt/svm_workload.h"
#include "vgt/util.h"
#include "vgt_cmds.h"

static int num(const char *s, unsigned *out, const char *what)
{
    uint64_t v;

    if (vgt_parse_u64(s, &v) || v == 0 || v > 1000) {
        fprintf(stderr, "vgt demo sva: bad %s '%s'\n", what, s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int vgt_demo_sva(int argc, char **argv)
{
    struct vgt_sva_opts o = {0};
    struct vgt_sva_report r;
    struct vgt_log log;
    int ret;

    vgt_log_init(&log, "sva", VGT_LOG_WARN);
    o.log = &log;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--workload") && i + 1 < argc) {
            i++;
        } else if (!strncmp(argv[i], "--workload=", 11)) {
        } else if (!strcmp(argv[i], "--procs") && i + 1 < argc) {
            if (num(argv[++i], &o.procs, "--procs"))
                return 2;
        } else if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
            if (num(argv[++i], &o.pages, "--pages"))
                return 2;
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            if (num(argv[++i], &o.rounds, "--rounds"))
                return 2;
        } else {
            fprintf(stderr, "usage: vgt demo --workload sva [--procs N<=8] [--pages N<=256] "
                            "[--rounds N]\n");
            return 2;
        }
    }
    ret = vgt_sva_run(&o, &r);
    printf("sva: %llu operations (%llu ok, %llu refused as expected, %llu wrong)\n",
           (unsigned long long)r.ops, (unsigned long long)r.ops_ok,
           (unsigned long long)r.ops_expected_fault, (unsigned long long)r.ops_bad);
    printf("sva: page requests %llu: served %llu, refused %llu; DMA faults recorded %llu\n",
           (unsigned long long)r.page_requests, (unsigned long long)r.prq_served,
           (unsigned long long)r.prq_refused, (unsigned long long)r.faults_recorded);
    printf("sva: IOTLB %llu hits / %llu misses; device ATC %llu hits / %llu misses / %llu "
           "invalidations; %llu invalidation descriptors; %llu ioreqs; %llu interrupts; %.2f s\n",
           (unsigned long long)r.iotlb_hits, (unsigned long long)r.iotlb_misses,
           (unsigned long long)r.atc_hits, (unsigned long long)r.atc_misses,
           (unsigned long long)r.atc_invalidations, (unsigned long long)r.invalidations,
           (unsigned long long)r.ioreqs, (unsigned long long)r.msis, r.seconds);
    printf("sva: %llu bytes verified, %llu mismatches: %s\n", (unsigned long long)r.bytes_verified,
           (unsigned long long)r.mismatches, ret ? "FAILED" : "all results verified");
    if (ret)
        fprintf(stderr, "vgt demo sva: %s\n", strerror(-ret));
    return ret ? 1 : 0;
}

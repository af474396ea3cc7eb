/* A simulated guest for fuzz harnesses that drive a model through guest
 * RAM: 4 MiB of RAM behind a scrambled p2m, made once per process (a
 * libFuzzer run calls the harness millions of times). */
#ifndef VGT_FUZZ_GUEST_H
#define VGT_FUZZ_GUEST_H

#include <stdlib.h>

#include "vgt/sim_hv.h"

static inline struct sim_guest *fuzz_sim_guest(void)
{
    static struct sim_guest *g;
    struct sim_arena *a;
    struct sim_hv *hv;
    struct sim_hv_cfg hc = {0};
    struct sim_guest_cfg gc = {.domid = 1, .ram_bytes = 4ull << 20, .nr_vcpus = 1};

    if (g)
        return g;
    /* Harness set-up, not fuzz input: nothing to recover from. */
    if (sim_arena_create(16ull << 20, &a))
        abort();
    hc.arena = a;
    if (sim_hv_create(&hc, &hv) || sim_guest_create(hv, &gc, &g))
        abort();
    return g;
}

#endif

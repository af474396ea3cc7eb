/* The PPGTT correctness oracle (test helper, also used by the fuzz
 * target): for every address, walking the shadow with the simulated GPU's
 * walker (gen8_ppgtt_walk over host memory) must give the host
 * translation of what the guest's own walk (gen8_ppgtt_walk over
 * guest-physical memory) gives. Entries the guest may not use (outside
 * its RAM, reserved bits, 1 GiB) must fault or hit the read-only scratch
 * page; a guest "not present" must fault. */
#ifndef VGT_TEST_PPGTT_ORACLE_H
#define VGT_TEST_PPGTT_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vgt/gen8_gtt.h"
#include "vgt/hv.h"
#include "vgt/sim_arena.h"

struct ppgtt_oracle {
    struct vgt_hv *hv;        /* the guest, read with the emulator's view */
    struct sim_arena *arena;  /* host memory the shadow lives in */
    uint64_t scratch_dma;     /* leaf scratch page (hostgpu scratch_dma) */
    uint64_t max_frames;      /* cap on 4 KiB frames checked per tree (0: 1<<20) */
    unsigned rotate;          /* which frames of 2 MiB ranges are sampled */
    /* Results of the last check. */
    uint64_t checked;         /* addresses compared */
    bool truncated;           /* the cap was hit */
    char why[320];            /* first mismatch */
    /* Optional digest of the GPU-visible translation (for comparing two
     * shadows of the same guest): host addresses are taken relative to
     * digest_base, scratch and faults as markers. */
    uint64_t digest_base;
    uint64_t digest;
};

/* Compare one address. 0 when it holds, -1 with o->why set otherwise. */
int ppgtt_oracle_check_va(struct ppgtt_oracle *o, uint64_t pml4_gpa, uint64_t root_dma,
                          uint64_t va);

/* The simulated GPU's walk of a shadow rooted at host @root_dma. */
int ppgtt_oracle_shadow_walk(struct ppgtt_oracle *o, uint64_t root_dma, uint64_t va,
                             struct gen8_walk *w);

/* Compare every address either tree maps: each 4 KiB frame of every 4 KiB
 * and 64 KiB leaf, and a rotating eighth of the frames of each 2 MiB leaf
 * (plus its last byte), found by walking the guest tree and the shadow
 * tree. */
int ppgtt_oracle_check(struct ppgtt_oracle *o, uint64_t pml4_gpa, uint64_t root_dma);

#endif

/* Shared fixture for the PPGTT tests: one guest (fake_hv) on an arena, a
 * fake host GPU, a PPGTT manager and the oracle, plus what a guest driver
 * does to build its tables (writes through the guest CPU path, which traps
 * on protected pages). */
#ifndef VGT_TEST_PPGTT_FIXTURE_H
#define VGT_TEST_PPGTT_FIXTURE_H

#include <stdint.h>

#include "fake_hv.h"
#include "oracle.h"
#include "vgt/gen8_gtt.h"
#include "vgt/ppgtt.h"

#define PTE_P GEN8_PTE_PRESENT
#define PTE_RW GEN8_PTE_RW
#define PTE_PRW (GEN8_PTE_PRESENT | GEN8_PTE_RW)

struct fx {
    struct sim_arena *a;
    struct fake_hv *f;
    struct fake_hostgpu *g;
    struct vgt_ppgtt *p;
    struct ppgtt_oracle o;
    struct vgt_log log;
};

/* ram_mb of guest RAM; cfg NULL = defaults. Returns 0 or -errno. */
int fx_init(struct fx *x, uint64_t ram_mb, enum fake_hv_layout layout, unsigned seed,
            const struct vgt_ppgtt_config *cfg);
void fx_fini(struct fx *x);

static inline uint64_t fx_pte(uint64_t gfn, uint64_t flags)
{
    return (gfn << 12) | flags;
}

static inline uint64_t fx_gpa(uint64_t gfn, unsigned idx)
{
    return (gfn << 12) + idx * 8ull;
}

#endif

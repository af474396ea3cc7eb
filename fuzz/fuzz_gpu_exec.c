/* Fuzz the simulated GPU's command streamer: the input is a batch buffer
 * (first byte: the engine) run through the native driver. Whatever the
 * bytes, the GPU must complete or fault the context, never touch memory
 * outside what its GTTs map, and never hang (the command budget and
 * semaphore timeout are small here).
 *
 * The arena and the GPU (with its engine threads) are made once per
 * process; the driver is brought up per input and the GPU reset after it
 * (sim_gpu_reset), so every input starts from the same machine. A GPU
 * still busy after the wait is a hang and aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/gpu_workload.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_native.h"

#include "fuzz_fresh.h"

struct fz {
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    uint64_t frames_free;
};

static struct fz *setup(void)
{
    static struct fz z;
    const struct sim_gpu_config cfg = {.cmd_budget = 4096, .semaphore_timeout_ms = 5};

    if (z.gpu)
        return &z;
    vgt_log_init(&z.log, "fuzz", VGT_LOG_OFF);
    /* Harness set-up, not fuzz input: nothing to recover from. */
    if (!z.arena && sim_arena_create(64ull << 20, &z.arena))
        abort();
    if (sim_gpu_create(z.arena, &cfg, &z.log, &z.gpu))
        abort();
    z.frames_free = sim_arena_frames_free(z.arena);
    return &z;
}

static void run(struct fz *z, const uint8_t *data, size_t size)
{
    static const unsigned engines[] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS};
    struct sim_native *n;
    struct sim_native_ctx *c;
    struct sim_native_bo *batch = NULL, *buf = NULL;
    uint32_t ring[4];
    size_t k, len;

    if (sim_native_create(sim_gpu_hostgpu(z->gpu), &z->log, NULL, &n))
        return;
    if (sim_native_ctx_create(n, engines[data[0] % 3], 1, &c))
        goto destroy_native;
    /* A data buffer right after the batch: addresses in the input can hit
     * it, the batch itself, contexts, or nothing. */
    len = size - 1;
    if (sim_native_bo_create(n, 16384, &batch) || sim_native_bo_create(n, 16384, &buf))
        goto destroy_bos;
    sim_native_bo_write(batch, 0, data + 1, len & ~(size_t)3);
    k = gwl_emit_bb_start(ring, batch->va, true, false);
    k += gwl_emit_noop(ring + k);
    if (!sim_native_submit(n, c, ring, k))
        (void)sim_native_wait(n, c, 10000);
destroy_bos:
    sim_native_bo_destroy(n, buf);
    sim_native_bo_destroy(n, batch);
destroy_native:
    sim_native_destroy(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *z;

    if (size < 1 || size > 16384 + 1)
        return 0;
    z = setup();
    run(z, data, size);
    if (fuzz_fresh()) {
        sim_gpu_destroy(z->gpu);
        z->gpu = NULL;
        z = setup();
    } else if (sim_gpu_reset(z->gpu)) {
        abort(); /* an engine still runs the input: a hang */
    }
    /* Everything the input's run allocated went back. */
    if (sim_arena_frames_free(z->arena) != z->frames_free)
        abort();
    return 0;
}

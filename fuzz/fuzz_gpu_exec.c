/* Fuzz the simulated GPU's command streamer: the input is a batch buffer
 * (first byte: the engine) run through the native driver on a fresh GPU.
 * Whatever the bytes, the GPU must complete or fault the context, never
 * touch memory outside what its GTTs map, and never hang (the command
 * budget and semaphore timeout are small here). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/gpu_workload.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned engines[] = {VGT_ENGINE_RCS, VGT_ENGINE_BCS, VGT_ENGINE_VCS};
    const struct sim_gpu_config cfg = {.cmd_budget = 4096, .semaphore_timeout_ms = 5};
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    struct sim_native *n;
    struct sim_native_ctx *c;
    struct sim_native_bo *batch = NULL, *buf = NULL;
    uint32_t ring[4];
    size_t k, len;

    if (size < 1 || size > 16384 + 1)
        return 0;
    vgt_log_init(&log, "fuzz", VGT_LOG_OFF);
    if (sim_arena_create(64ull << 20, &arena))
        return 0;
    if (sim_gpu_create(arena, &cfg, &log, &gpu))
        goto destroy_arena;
    if (sim_native_create(sim_gpu_hostgpu(gpu), &log, NULL, &n))
        goto destroy_gpu;
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
destroy_gpu:
    sim_gpu_destroy(gpu);
destroy_arena:
    sim_arena_destroy(arena);
    return 0;
}

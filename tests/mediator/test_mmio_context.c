/* The register switch list between vGPUs (mediator/mmio_context.c):
 * every register the audit lets a guest's commands write is either held
 * by the context image or in the list, the list holds nothing else, and a
 * switch between vGPUs on the simulated GPU puts the host's values back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vgt/cmd_audit.h"
#include "vgt/mmio_context.h"
#include "vgt/sim_gpu.h"

static bool in_list(unsigned engine, uint32_t reg)
{
    size_t n;
    const struct vgt_mmio_ctx_reg *l = vgt_mmio_context_list(&n);

    for (size_t i = 0; i < n; i++)
        if (l[i].engine == engine && reg >= l[i].off && reg < l[i].off + l[i].len)
            return true;
    return false;
}

/* The host's value of dword @o of row @l. */
static uint32_t host_val(const struct vgt_mmio_ctx_reg *l, uint32_t o)
{
    return l->masked ? (0x1000u + l->off + o) & 0xffffu : 0x100000u + l->off + o;
}

/* Dwords of the list that @engine's workloads may change. */
static unsigned engine_dwords(const struct vgt_mmio_ctx_reg *l, size_t n, unsigned engine)
{
    unsigned k = 0;

    for (size_t i = 0; i < n; i++)
        if (l[i].engine == engine)
            k += l[i].len / 4;
    return k;
}

static void test_list_covers_whitelist(void **state)
{
    size_t n, dwords = 0;
    const struct vgt_mmio_ctx_reg *l = vgt_mmio_context_list(&n);
    unsigned allowed = 0;

    (void)state;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        for (uint32_t reg = 0; reg < 0x40000; reg += 4) {
            if (!vgt_audit_reg_allowed(e, reg))
                continue;
            allowed++;
            /* Exactly one of the two ways covers it. */
            assert_true(vgt_mmio_context_in_image(e, reg) != in_list(e, reg));
        }
    assert_true(allowed > 100);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(l[i].len % 4, 0);
        for (uint32_t o = 0; o < l[i].len; o += 4)
            assert_true(vgt_audit_reg_allowed(l[i].engine, l[i].off + o));
        dwords += l[i].len / 4;
    }
    assert_true(dwords <= VGT_MMIO_CTX_MAX_DWORDS);
}

static void test_switch_restores_host_values(void **state)
{
    struct vgt_log log;
    struct sim_arena *arena;
    struct sim_gpu *gpu;
    struct vgt_hostgpu *hw;
    struct vgt_mmio_ctx mc;
    size_t n;
    const struct vgt_mmio_ctx_reg *l = vgt_mmio_context_list(&n);
    int a, b;
    unsigned total = 0;

    (void)state;
    vgt_log_init(&log, "test", VGT_LOG_ERR);
    assert_int_equal(sim_arena_create(64ull << 20, &arena), 0);
    assert_int_equal(sim_gpu_create(arena, NULL, &log, &gpu), 0);
    hw = sim_gpu_hostgpu(gpu);
    /* The host's own values, then read once at bring-up (a masked
     * register holds 16 bits, written with their mask). */
    for (size_t i = 0; i < n; i++)
        for (uint32_t o = 0; o < l[i].len; o += 4)
            hw->ops->mmio_write32(hw, l[i].off + o, l[i].masked ? 0xffff0000u | host_val(&l[i], o)
                                                                : host_val(&l[i], o));
    vgt_mmio_context_init(&mc, hw);

    /* vGPU a runs on every engine and its commands change every listed
     * register. */
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
        assert_int_equal(vgt_mmio_context_switch(&mc, hw, e, &a), engine_dwords(l, n, e));
    for (size_t i = 0; i < n; i++)
        for (uint32_t o = 0; o < l[i].len; o += 4) {
            hw->ops->mmio_write32(hw, l[i].off + o, l[i].masked ? 0xffff0000u | (~host_val(&l[i], o) & 0xffffu)
                                                                : 0xdead0000u | o);
            assert_int_not_equal(hw->ops->mmio_read32(hw, l[i].off + o), host_val(&l[i], o));
        }
    total = engine_dwords(l, n, VGT_ENGINE_RCS);
    assert_true(total > 0);
    /* a again: nothing to do, its values stay. */
    assert_int_equal(vgt_mmio_context_switch(&mc, hw, VGT_ENGINE_RCS, &a), 0);
    assert_int_equal(hw->ops->mmio_read32(hw, l[0].off), 0xdead0000u);
    /* Another engine's switch does not touch RCS registers. */
    assert_int_equal(vgt_mmio_context_switch(&mc, hw, VGT_ENGINE_BCS, &b), engine_dwords(l, n, VGT_ENGINE_BCS));
    assert_int_equal(hw->ops->mmio_read32(hw, l[0].off), 0xdead0000u);
    /* b on RCS: every RCS register is the host's again; then on the
     * other engines, theirs. */
    assert_int_equal(vgt_mmio_context_switch(&mc, hw, VGT_ENGINE_RCS, &b), total);
    assert_int_equal(vgt_mmio_context_switch(&mc, hw, VGT_ENGINE_VCS, &b), engine_dwords(l, n, VGT_ENGINE_VCS));
    assert_int_equal(vgt_mmio_context_switch(&mc, hw, VGT_ENGINE_VECS, &b), engine_dwords(l, n, VGT_ENGINE_VECS));
    for (size_t i = 0; i < n; i++)
        for (uint32_t o = 0; o < l[i].len; o += 4)
            assert_int_equal(hw->ops->mmio_read32(hw, l[i].off + o), host_val(&l[i], o));
    /* After a reset, b's next workload restores too. */
    hw->ops->mmio_write32(hw, l[0].off, 1);
    vgt_mmio_context_forget(&mc, VGT_ENGINE_RCS);
    assert_int_equal(vgt_mmio_context_switch(&mc, hw, VGT_ENGINE_RCS, &b), total);
    assert_int_equal(hw->ops->mmio_read32(hw, l[0].off), host_val(&l[0], 0));
    sim_gpu_destroy(gpu);
    sim_arena_destroy(arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_covers_whitelist),
        cmocka_unit_test(test_switch_restores_host_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

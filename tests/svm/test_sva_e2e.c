/* End to end on the simulated platform: the guest SVA driver (sim/guest)
 * programs the emulated IOMMU and the accelerator through ioreqs (MMIO,
 * 0xCF8/0xCFC, ECAM), guest processes submit work on their own virtual
 * addresses, page requests are served by the guest, and every byte is
 * verified by the processes' own reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vgt/svm_workload.h"

static void check(unsigned procs, unsigned pages, unsigned rounds)
{
    struct vgt_sva_opts o = {.procs = procs, .pages = pages, .rounds = rounds};
    struct vgt_sva_report r;

    assert_int_equal(vgt_sva_run(&o, &r), 0);
    /* Five operations per round: copy, fill, two compares, one refused. */
    assert_int_equal(r.ops, 5ull * procs * rounds);
    assert_int_equal(r.ops_ok, 4ull * procs * rounds);
    assert_int_equal(r.ops_expected_fault, 1ull * procs * rounds);
    assert_int_equal(r.ops_bad, 0);
    assert_int_equal(r.mismatches, 0);
    assert_int_equal(r.bytes_verified, 2ull * procs * rounds * pages * 4096);
    /* Every destination page faulted in round 0 and half of them again in
     * each later round (unmapped with invalidation); half the fill buffer
     * started absent. Plus one refused request per round. */
    assert_int_equal(r.prq_served,
                     (uint64_t)procs * (pages + (rounds - 1) * (pages / 2) + (pages - pages / 2)));
    assert_int_equal(r.prq_refused, 1ull * procs * rounds);
    assert_int_equal(r.page_requests, r.prq_served + r.prq_refused);
    assert_true(r.atc_invalidations >= (uint64_t)procs * rounds * (pages / 2));
    assert_true(r.ioreqs > 0);
    /* Page-request events and completions arrive as MSIs. */
    assert_true(r.msis > 0);
}

static void test_two_processes(void **state)
{
    (void)state;
    check(2, 16, 2);
}

static void test_four_processes_more_rounds(void **state)
{
    (void)state;
    check(4, 8, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes),
        cmocka_unit_test(test_four_processes_more_rounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

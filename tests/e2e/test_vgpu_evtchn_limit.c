/* vgtd refuses a vGPU whose ioreq server would bind more event-channel
 * ports than it may (docs/operator-guide.md, "Event channels"), by name,
 * before anything is bound; the vGPUs already there run on, and a removed
 * vGPU gives its ports back. Simulated guests of 1..4 vCPUs: one port
 * each per vCPU. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "vgpu_host.h"

#define MIB (1ull << 20)

static int add(struct vgpu_host *h, uint16_t dom, unsigned vcpus, char *err, size_t len)
{
    struct vgpu_add_req req = {.domid = dom, .type = "V5_8", .sim_ram = 32 * MIB, .sim_vcpus = vcpus};

    return vgpu_host_add(h, &req, err, len);
}

static void test_ports_limit(void **state)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true, .max_evtchn_ports = 10};
    struct vgpu_guest_run_result r;
    char err[256];

    (void)state;
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    assert_int_equal(add(h, 1, 4, err, sizeof(err)), 0);
    assert_int_equal(add(h, 2, 4, err, sizeof(err)), 0);
    /* 8 of 10 bound: 4 more do not fit, and the answer says why. */
    assert_int_equal(add(h, 3, 4, err, sizeof(err)), -ENOSPC);
    assert_non_null(strstr(err, "event channels: domain 3 needs 4 ports"));
    assert_non_null(strstr(err, "8 of its 10 bound"));
    assert_null(vgpu_host_vgpu(h, 3));
    /* 2 do. */
    assert_int_equal(add(h, 4, 2, err, sizeof(err)), 0);
    assert_int_equal(add(h, 5, 1, err, sizeof(err)), -ENOSPC);
    /* The others were not disturbed. */
    assert_int_equal(vgpu_host_sim_guest_run(h, 2, "store", 2, &r, err, sizeof(err)), 0);
    assert_int_equal(r.failures, 0);
    /* Removing a vGPU gives its 4 ports back. */
    assert_int_equal(vgpu_host_remove(h, 1), 0);
    assert_int_equal(add(h, 3, 4, err, sizeof(err)), 0);
    assert_int_equal(vgpu_host_sim_guest_run(h, 3, "store", 2, &r, err, sizeof(err)), 0);
    assert_int_equal(r.failures, 0);
    vgpu_host_destroy(h);
}

/* Out of file descriptors (RLIMIT_NOFILE): refused by name, not by
 * whichever open call would have failed first. */
static void test_fd_limit(void **state)
{
    struct vgt_log log;
    struct vgpu_host *h;
    struct vgpu_host_cfg hc = {.sim = true};
    struct rlimit old, low;
    char err[256];
    int rc;

    (void)state;
    vgt_log_init(&log, "e2e", VGT_LOG_OFF);
    hc.log = &log;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 8; /* stdio and the host's own fds already take most */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    rc = add(h, 1, 1, err, sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, -EMFILE);
    assert_non_null(strstr(err, "file descriptors: vgtd has"));
    assert_non_null(strstr(err, "RLIMIT_NOFILE 8"));
    assert_int_equal(add(h, 1, 1, err, sizeof(err)), 0);
    vgpu_host_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_limit),
        cmocka_unit_test(test_fd_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The host library's staged bring-up and teardown (host/vgpu_host.c,
 * common/stages.c) on the simulated platform: a failure injected at each
 * stage of the host and of a vGPU undoes exactly the stages already up,
 * in reverse (ASan: no leak, no double free), and the host goes on as if
 * the failed attempt never happened. A platform whose ioreq server
 * creation fails after taking the backend frees that backend once. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform.h"
#include "vgpu_host.h"

#define MIB (1ull << 20)
#define MAX_TRACE 64

/* What the hook saw: every stage brought up (before its up ran) and torn
 * down (after its down ran), and which stage to fail. */
struct trace {
    const char *fail_at;
    int fail_ret;
    unsigned n;
    struct {
        const char *stage;
        int up;
    } ev[MAX_TRACE];
};

static int hook(void *opaque, const char *stage, int up)
{
    struct trace *t = opaque;

    if (up && t->fail_at && !strcmp(stage, t->fail_at))
        return t->fail_ret; /* the stage fails: not recorded as up */
    assert_true(t->n < MAX_TRACE);
    t->ev[t->n].stage = stage;
    t->ev[t->n].up = up;
    t->n++;
    return 0;
}

/* The trace is k ups then the same k stages down in reverse. */
static void assert_undone_in_reverse(const struct trace *t, unsigned k)
{
    assert_int_equal(t->n, 2 * k);
    for (unsigned i = 0; i < k; i++) {
        assert_int_equal(t->ev[i].up, 1);
        assert_int_equal(t->ev[2 * k - 1 - i].up, 0);
        assert_string_equal(t->ev[i].stage, t->ev[2 * k - 1 - i].stage);
    }
}

static struct vgt_log quiet;

static struct vgpu_host_cfg sim_cfg(struct trace *t)
{
    return (struct vgpu_host_cfg){.sim = true, .log = &quiet, .sim_arena_bytes = 512 * MIB,
                                  .stage_hook = {.fn = hook, .opaque = t}};
}

/* The stages of a whole bring-up, recorded from one that succeeds. */
static unsigned host_stage_names(const char **names)
{
    struct trace t = {0};
    struct vgpu_host_cfg hc = sim_cfg(&t);
    struct vgpu_host *h;
    unsigned n;

    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    n = t.n;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(t.ev[i].up, 1);
        names[i] = t.ev[i].stage;
    }
    vgpu_host_destroy(h);
    assert_undone_in_reverse(&t, n);
    return n;
}

static void test_host_failure_at_each_stage(void **state)
{
    const char *names[MAX_TRACE];
    unsigned n = host_stage_names(names);

    (void)state;
    assert_int_equal(n, 6);
    for (unsigned k = 0; k < n; k++) {
        struct trace t = {.fail_at = names[k], .fail_ret = -EIO};
        struct vgpu_host_cfg hc = sim_cfg(&t);
        struct vgpu_host *h = NULL;

        assert_int_equal(vgpu_host_create(&hc, &h), -EIO);
        assert_null(h);
        assert_undone_in_reverse(&t, k);
    }
}

static int add(struct vgpu_host *h, uint16_t dom, char *err, size_t len)
{
    struct vgpu_add_req req = {.domid = dom, .type = "V5_4", .sim_ram = 32 * MIB, .sim_vcpus = 2};

    return vgpu_host_add(h, &req, err, len);
}

static void test_vgpu_failure_at_each_stage(void **state)
{
    struct trace t = {0};
    struct vgpu_host_cfg hc = sim_cfg(&t);
    const char *names[MAX_TRACE];
    struct vgpu_guest_run_result r;
    struct vgpu_host *h;
    unsigned host_n, n;
    char err[256];

    (void)state;
    /* Room for exactly one 2-vCPU guest's ports: a failed add that kept
     * its ports would make the next one fail. */
    hc.max_evtchn_ports = 2;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    host_n = t.n;
    /* One add that succeeds names the vGPU's stages; its removal undoes
     * them all in reverse. */
    t.n = 0;
    assert_int_equal(add(h, 1, err, sizeof(err)), 0);
    n = t.n;
    assert_int_equal(n, 10);
    for (unsigned i = 0; i < n; i++)
        names[i] = t.ev[i].stage;
    assert_int_equal(vgpu_host_remove(h, 1), 0);
    assert_undone_in_reverse(&t, n);

    for (unsigned k = 0; k < n; k++) {
        t = (struct trace){.fail_at = names[k], .fail_ret = -EIO};
        err[0] = 0;
        assert_int_equal(add(h, 2, err, sizeof(err)), -EIO);
        assert_undone_in_reverse(&t, k);
        /* The refusal names the stage that failed. */
        assert_non_null(strstr(err, names[k]));
        assert_null(vgpu_host_vgpu(h, 2));
        assert_null(vgpu_host_sim_guest(h, 2));
    }
    /* Nothing was left behind: the same domain (the simulated toolstack
     * would refuse a domid still in use) gets its vGPU, within the port
     * limit, and runs. */
    t = (struct trace){0};
    assert_int_equal(add(h, 2, err, sizeof(err)), 0);
    assert_int_equal(vgpu_host_sim_guest_run(h, 2, "store", 2, &r, err, sizeof(err)), 0);
    assert_int_equal(r.failures, 0);
    t = (struct trace){0};
    vgpu_host_destroy(h);
    /* the vGPU's stages, then the host's, each in reverse */
    assert_int_equal(t.n, n + host_n);
    assert_string_equal(t.ev[0].stage, names[n - 1]);
    assert_string_equal(t.ev[n - 1].stage, names[0]);
}

/* A backend over the simulated one whose create fails, as a hypervisor
 * that refuses the ioreq server does, after vgt_ioreq_server_create has
 * taken ownership of it. */
struct refusing_be {
    struct vgt_ioreq_backend be;
    struct vgt_ioreq_backend_ops ops;
    struct vgt_ioreq_backend *inner;
};

static unsigned backends_destroyed;

static int refusing_create(struct vgt_ioreq_backend *be, bool bufioreq, unsigned *nr_vcpus)
{
    (void)be, (void)bufioreq, (void)nr_vcpus;
    return -EIO;
}

static void refusing_destroy(struct vgt_ioreq_backend *be)
{
    struct refusing_be *r = (struct refusing_be *)be;

    backends_destroyed++;
    r->inner->ops->destroy(r->inner);
    free(r);
}

static int refusing_backend_create(struct vgt_plat *p, uint16_t domid, struct sim_guest *guest,
                                   const struct vgt_mapcache_dma *dma, struct vgt_ioreq_backend **be,
                                   char *err, size_t errlen)
{
    struct refusing_be *r = calloc(1, sizeof(*r));
    int ret;

    if (!r)
        return -ENOMEM;
    ret = vgt_platform_sim.hv->backend_create(p, domid, guest, dma, &r->inner, err, errlen);
    if (ret) {
        free(r);
        return ret;
    }
    r->ops = *r->inner->ops;
    r->ops.create = refusing_create;
    r->ops.destroy = refusing_destroy;
    r->be = *r->inner;
    r->be.ops = &r->ops;
    *be = &r->be;
    return 0;
}

static void test_server_failure_frees_backend_once(void **state)
{
    struct vgt_platform_hv hv = *vgt_platform_sim.hv;
    struct vgt_platform plat = vgt_platform_sim;
    struct trace t = {0};
    struct vgpu_host_cfg hc = sim_cfg(&t);
    struct vgpu_host *h;
    char err[256];

    (void)state;
    hv.backend_create = refusing_backend_create;
    plat.hv = &hv;
    hc.platform = &plat;
    backends_destroyed = 0;
    assert_int_equal(vgpu_host_create(&hc, &h), 0);
    t.n = 0;
    assert_int_equal(add(h, 3, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "ioreq server for domain 3"));
    /* destroyed by the server, not again by the backend's own stage */
    assert_int_equal(backends_destroyed, 1);
    /* guest and backend were up; the server stage was tried (the hook
     * saw it start) and failed in the engine: only the two undone */
    assert_int_equal(t.n, 5);
    assert_string_equal(t.ev[0].stage, "guest");
    assert_string_equal(t.ev[1].stage, "ioreq backend");
    assert_string_equal(t.ev[2].stage, "ioreq server");
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(t.ev[i].up, 1);
    assert_string_equal(t.ev[3].stage, "ioreq backend");
    assert_string_equal(t.ev[4].stage, "guest");
    assert_int_equal(t.ev[3].up, 0);
    assert_int_equal(t.ev[4].up, 0);
    assert_null(vgpu_host_vgpu(h, 3));
    vgpu_host_destroy(h);
    assert_int_equal(backends_destroyed, 1);
}

/* The platform is picked at create time from the flags, or given. */
static void test_pick_platform(void **state)
{
    struct vgpu_host_cfg c = {0};

    (void)state;
    assert_ptr_equal(vgpu_host_pick_platform(&c), &vgt_platform_xen);
    c.gpu_sim = true;
    assert_ptr_equal(vgpu_host_pick_platform(&c), &vgt_platform_xen_sim);
    assert_ptr_equal(vgt_platform_xen_sim.aperture, &vgt_aperture_emulated);
    c.sim = true;
    assert_ptr_equal(vgpu_host_pick_platform(&c), &vgt_platform_sim);
    c.platform = &vgt_platform_xen;
    assert_ptr_equal(vgpu_host_pick_platform(&c), &vgt_platform_xen);
    assert_string_equal(vgt_platform_sim.hv->name, "sim");
    assert_string_equal(vgt_platform_xen.gpu->name, "pci");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_platform),
        cmocka_unit_test(test_host_failure_at_each_stage),
        cmocka_unit_test(test_vgpu_failure_at_each_stage),
        cmocka_unit_test(test_server_failure_frees_backend_once),
    };

    vgt_log_init(&quiet, "stages", VGT_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* vgtd --sim serves GPU work: a simulated guest's own driver submits
 * through its vGPU (guest-run), the scheduler's accounting comes back in
 * the control socket's status/list answers and in `vgt list`, and it stays
 * consistent across add, reset and remove. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vgpu_client.h"

static char dir[256], sock[300], vgtd[512], vgt[512];
static pid_t daemon_pid;

/* One request on the control socket, one answer line (vgt's own client,
 * host/vgpu_client.c). */
static void ctl(const char *req, char *ans, size_t len)
{
    int ret = vgpu_ctl_request(sock, req, ans, len);

    if (ret)
        fail_msg("control socket %s: %s", sock, strerror(-ret));
}

/* The number after "key": in @s (the first occurrence), or fails. */
static uint64_t field(const char *s, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(s, pat);
    if (!p)
        fail_msg("no \"%s\" in %s", key, s);
    return strtoull(p + strlen(pat), NULL, 10);
}

/* The vGPU object of @domid in a list answer. */
static const char *vgpu_of(const char *list, unsigned domid, char *out, size_t len)
{
    char pat[32];
    const char *p, *start, *end;

    snprintf(pat, sizeof(pat), "\"domid\":%u,", domid);
    p = strstr(list, pat);
    if (!p)
        return NULL;
    for (start = p; start > list && *start != '{'; start--)
        ;
    end = strchr(p, '}');
    assert_non_null(end);
    assert_true((size_t)(end - start + 1) < len);
    memcpy(out, start, (size_t)(end - start + 1));
    out[end - start + 1] = 0;
    return out;
}

static int setup(void **state)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char ans[256];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vgt-acct-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/vgtd.sock", dir);
    snprintf(vgtd, sizeof(vgtd), "%s/tools/vgtd", root ? root : "build");
    snprintf(vgt, sizeof(vgt), "%s/tools/vgt", root ? root : "build");
    daemon_pid = fork();
    assert_true(daemon_pid >= 0);
    if (daemon_pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0)
            dup2(null, 1);
        execl(vgtd, vgtd, "--sim", "--control", sock, "--log", "err", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(sock, F_OK); i++)
        usleep(50000);
    assert_int_equal(access(sock, F_OK), 0);
    ctl("{\"cmd\":\"list\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    return 0;
}

static int teardown(void **state)
{
    char ans[512];
    int st;

    (void)state;
    if (daemon_pid > 0) {
        if (access(sock, F_OK) == 0)
            ctl("{\"cmd\":\"stop\"}", ans, sizeof(ans));
        for (int i = 0; i < 100 && waitpid(daemon_pid, &st, WNOHANG) == 0; i++)
            usleep(50000);
        if (waitpid(daemon_pid, &st, WNOHANG) == 0) {
            kill(daemon_pid, SIGKILL);
            waitpid(daemon_pid, &st, 0);
        }
        daemon_pid = 0;
    }
    snprintf(ans, sizeof(ans), "rm -rf %s", dir);
    return system(ans) < 0;
}

static void assert_zero_accounting(const char *v)
{
    static const char *const keys[] = {
        "submitted", "refused", "workloads_completed", "workloads_cancelled", "failsafe_events",
        "busy_ns_rcs", "busy_ns_bcs", "busy_ns_vcs", "busy_ns_vecs", "completed_rcs",
        "completed_bcs", "completed_vcs", "completed_vecs"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (field(v, keys[i]))
            fail_msg("%s is not 0 in %s", keys[i], v);
}

static void test_guest_work_accounted(void **state)
{
    static char ans[1 << 16], v[4096], out[8192];
    uint64_t blits4;
    FILE *p;
    size_t n;

    (void)state;
    /* Two vGPUs: a V5_4 (weight 4 by type) and a V5_8 given weight 7. */
    ctl("{\"cmd\":\"add\",\"domid\":3,\"type\":\"V5_4\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_int_equal(field(ans, "weight"), 4);
    assert_zero_accounting(ans);
    ctl("{\"cmd\":\"add\",\"domid\":4,\"type\":\"V5_8\",\"weight\":7,\"cap_pct\":50}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_int_equal(field(ans, "weight"), 7);
    assert_int_equal(field(ans, "cap_pct"), 50);
    ctl("{\"cmd\":\"add\",\"domid\":5,\"type\":\"V5_8\",\"weight\":5000}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":false"));
    assert_non_null(strstr(ans, "weight"));

    /* dom3's driver runs 10 mixed steps: a blit on BCS and a store on RCS
     * each, every result checked in its memory. */
    ctl("{\"cmd\":\"guest-run\",\"domid\":3,\"workload\":\"mixed\",\"iterations\":10}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_int_equal(field(ans, "steps"), 10);
    assert_int_equal(field(ans, "blits"), 10);
    assert_int_equal(field(ans, "stores"), 10);
    assert_int_equal(field(ans, "failures"), 0);

    ctl("{\"cmd\":\"status\",\"domid\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"failsafe\":false"));
    assert_int_equal(field(ans, "submitted"), 20);
    assert_int_equal(field(ans, "workloads_completed"), 20);
    assert_int_equal(field(ans, "completed_rcs"), 10);
    assert_int_equal(field(ans, "completed_bcs"), 10);
    assert_int_equal(field(ans, "completed_vcs") + field(ans, "completed_vecs"), 0);
    assert_true(field(ans, "busy_ns_rcs") > 0);
    assert_true(field(ans, "busy_ns_bcs") > 0);
    assert_int_equal(field(ans, "busy_ns_vcs") + field(ans, "busy_ns_vecs"), 0);
    assert_int_equal(field(ans, "failsafe_events"), 0);
    assert_int_equal(field(ans, "refused"), 0);

    /* The list answer says the same; dom4 did nothing. */
    ctl("{\"cmd\":\"list\"}", ans, sizeof(ans));
    assert_non_null(vgpu_of(ans, 3, v, sizeof(v)));
    assert_int_equal(field(v, "workloads_completed"), 20);
    assert_non_null(vgpu_of(ans, 4, v, sizeof(v)));
    assert_zero_accounting(v);

    /* vgt list, human and JSON. */
    snprintf(out, sizeof(out), "%s list --control %s", vgt, sock);
    p = popen(out, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, "DONE"));
    assert_non_null(strstr(out, "BUSY ms"));
    {
        /* dom3's row: weight 4, 20 done. */
        const char *row = strstr(out, "\n1    3 ");

        assert_non_null(row);
        assert_non_null(strstr(row, " 4    20 "));
    }
    snprintf(out, sizeof(out), "%s list --json --control %s", vgt, sock);
    p = popen(out, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    assert_non_null(vgpu_of(out, 3, v, sizeof(v)));
    assert_int_equal(field(v, "completed_bcs"), 10);

    /* A vGPU reset keeps the history (the counters are per vGPU, not per
     * driver); the guest's driver comes back and runs again. */
    ctl("{\"cmd\":\"reset\",\"domid\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    ctl("{\"cmd\":\"status\",\"domid\":3}", ans, sizeof(ans));
    assert_int_equal(field(ans, "workloads_completed"), 20);
    ctl("{\"cmd\":\"guest-run\",\"domid\":3,\"workload\":\"store\",\"iterations\":4}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_int_equal(field(ans, "stores"), 4);
    assert_int_equal(field(ans, "failures"), 0);
    ctl("{\"cmd\":\"status\",\"domid\":3}", ans, sizeof(ans));
    assert_int_equal(field(ans, "workloads_completed"), 24);
    assert_int_equal(field(ans, "completed_rcs"), 14);
    assert_int_equal(field(ans, "completed_bcs"), 10);
    assert_int_equal(field(ans, "workloads_cancelled"), 0);

    /* Requests it refuses, naming the problem. */
    ctl("{\"cmd\":\"guest-run\",\"domid\":3,\"workload\":\"blit\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "another workload"));
    ctl("{\"cmd\":\"guest-run\",\"domid\":9,\"workload\":\"blit\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "no simulated vGPU"));
    ctl("{\"cmd\":\"guest-run\",\"domid\":4,\"workload\":\"paint\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "unknown workload"));
    ctl("{\"cmd\":\"guest-run\",\"domid\":4,\"iterations\":0}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "iterations"));

    /* dom4 runs blits (one workload each) under its cap; dom3's counters
     * do not move. */
    ctl("{\"cmd\":\"guest-run\",\"domid\":4,\"workload\":\"blit\",\"iterations\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_int_equal(field(ans, "failures"), 0);
    blits4 = field(ans, "blits");
    assert_true(blits4 >= 3);
    ctl("{\"cmd\":\"list\"}", ans, sizeof(ans));
    assert_non_null(vgpu_of(ans, 4, v, sizeof(v)));
    assert_int_equal(field(v, "completed_bcs"), blits4);
    assert_int_equal(field(v, "workloads_completed"), blits4);
    assert_int_equal(field(v, "completed_rcs"), 0);
    assert_non_null(vgpu_of(ans, 3, v, sizeof(v)));
    assert_int_equal(field(v, "workloads_completed"), 24);

    /* Remove: its accounting goes with it; a new vGPU starts from zero. */
    ctl("{\"cmd\":\"remove\",\"domid\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    ctl("{\"cmd\":\"status\",\"domid\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "has no vGPU"));
    ctl("{\"cmd\":\"add\",\"domid\":3,\"type\":\"V5_4\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_zero_accounting(ans);
    ctl("{\"cmd\":\"list\"}", ans, sizeof(ans));
    assert_non_null(vgpu_of(ans, 4, v, sizeof(v)));
    assert_int_equal(field(v, "completed_bcs"), blits4);
}

/* Add custom vGPU 8 (64/384 MiB, 2 fences) with @extra keys. */
static void add_custom(const char *extra, char *ans, size_t len)
{
    char req[256];

    snprintf(req, sizeof(req),
             "{\"cmd\":\"add\",\"domid\":8,\"vgt_low_gm_sz\":64,\"vgt_high_gm_sz\":384,"
             "\"vgt_fence_sz\":2%s}",
             extra);
    ctl(req, ans, len);
}

/* Heads and resolution per type and for a custom vGPU (XAPI max_heads=,
 * resolution=WxH), in the answers and in vgt list. */
static void test_display_heads_listed(void **state)
{
    static char ans[1 << 16], v[4096], out[8192];
    FILE *p;
    size_t n;

    (void)state;
    ctl("{\"cmd\":\"add\",\"domid\":6,\"type\":\"V5_2\"}", ans, sizeof(ans));
    if (!strstr(ans, "\"ok\":true"))
        fail_msg("%s", ans);
    assert_int_equal(field(ans, "heads"), 2);
    assert_non_null(strstr(ans, "\"resolution\":\"3840x2160\""));
    assert_int_equal(field(ans, "pipes_on"), 0);
    ctl("{\"cmd\":\"add\",\"domid\":9,\"type\":\"V5_8\",\"max_heads\":2}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "max_heads and resolution go with custom sizes: type V5_8 has its own"));
    add_custom(",\"max_heads\":5", ans, sizeof(ans));
    assert_non_null(strstr(ans, "max_heads must be 0..3"));
    add_custom(",\"resolution\":\"big\"", ans, sizeof(ans));
    assert_non_null(strstr(ans, "resolution\\\" must be WxH"));
    add_custom(",\"resolution\":\"8000x8000\"", ans, sizeof(ans));
    assert_non_null(strstr(ans, "resolution must be 640x480..4095x4095"));
    /* Without them: one 1080p head. */
    add_custom("", ans, sizeof(ans));
    assert_int_equal(field(ans, "heads"), 1);
    assert_non_null(strstr(ans, "\"resolution\":\"1920x1080\""));
    ctl("{\"cmd\":\"remove\",\"domid\":8}", ans, sizeof(ans));
    add_custom(",\"max_heads\":2,\"resolution\":\"2560x1440\"", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_int_equal(field(ans, "heads"), 2);
    assert_non_null(strstr(ans, "\"resolution\":\"2560x1440\""));
    ctl("{\"cmd\":\"list\"}", ans, sizeof(ans));
    assert_non_null(vgpu_of(ans, 6, v, sizeof(v)));
    assert_int_equal(field(v, "heads"), 2);
    snprintf(out, sizeof(out), "%s list --control %s", vgt, sock);
    p = popen(out, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, "HEADS"));
    assert_non_null(strstr(out, " 2x3840x2160 "));
    assert_non_null(strstr(out, " 2x2560x1440 "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_guest_work_accounted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_display_heads_listed, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

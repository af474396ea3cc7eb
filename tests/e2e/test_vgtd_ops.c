/* Watching and steering a running vgtd --sim, as an operator does:
 * Prometheus metrics over HTTP (checked by promtool where installed) that
 * move with guest work, vgt set and vgt reset; vgt top; vgt inventory in
 * every format, the Nova one loaded by Nova's own provider-config loader
 * where python3-nova is installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vgpu_client.h"

static char dir[256], sock[300], vgtd[512], vgt[512], outfile[300];
static pid_t daemon_pid;
static unsigned metrics_port; /* 0: vgtd built without libmicrohttpd */

static void ctl(const char *req, char *ans, size_t len)
{
    int ret = vgpu_ctl_request(sock, req, ans, len);

    if (ret)
        fail_msg("control socket %s: %s", sock, strerror(-ret));
}

/* Runs @fmt through the shell; its stdout in @out, the exit status back. */
static int run(char *out, size_t len, const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    FILE *p;
    size_t n;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, len - 1, p);
    out[n] = 0;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* GET @path from the metrics endpoint: the status code, the body in @body. */
static int http_get(const char *path, char *body, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port)};
    char req[128], *buf = malloc(1 << 20), *b;
    size_t n = 0;
    ssize_t r;
    int fd, code = -1;

    assert_non_null(buf);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while (n < (1 << 20) - 1 && (r = read(fd, buf + n, (1 << 20) - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fd);
    sscanf(buf, "HTTP/1.%*d %d", &code);
    b = strstr(buf, "\r\n\r\n");
    snprintf(body, len, "%s", b ? b + 4 : "");
    free(buf);
    return code;
}

/* The value of the sample whose name and labels are exactly @series. */
static double sample(const char *text, const char *series)
{
    size_t l = strlen(series);

    for (const char *p = text; (p = strstr(p, series)); p += l)
        if ((p == text || p[-1] == '\n') && p[l] == ' ')
            return strtod(p + l + 1, NULL);
    fail_msg("no sample %s in the metrics", series);
    return -1;
}

static char *scrape(void)
{
    static char m[1 << 18];

    assert_int_equal(http_get("/metrics", m, sizeof(m)), 200);
    return m;
}

static bool have_tool(const char *t)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", t);
    return system(cmd) == 0;
}

static int setup(void **state)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char ans[4096], line[256];
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vgt-ops-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/vgtd.sock", dir);
    snprintf(outfile, sizeof(outfile), "%s/vgtd.out", dir);
    snprintf(vgtd, sizeof(vgtd), "%s/tools/vgtd", root ? root : "build");
    snprintf(vgt, sizeof(vgt), "%s/tools/vgt", root ? root : "build");
    daemon_pid = fork();
    assert_true(daemon_pid >= 0);
    if (daemon_pid == 0) {
        int out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (out >= 0)
            dup2(out, 1);
        execl(vgtd, vgtd, "--sim", "--control", sock, "--metrics", "127.0.0.1:0", "--log", "err",
              (char *)NULL);
        _exit(127);
    }
    /* It says which port it got before it says it is ready. */
    for (int i = 0; i < 100; i++) {
        bool ready = false;

        f = fopen(outfile, "r");
        while (f && fgets(line, sizeof(line), f)) {
            sscanf(line, "vgtd: metrics port %u", &metrics_port);
            ready |= !strncmp(line, "vgtd: ready", 11);
        }
        if (f)
            fclose(f);
        if (ready)
            break;
        usleep(50000);
    }
    assert_int_equal(access(sock, F_OK), 0);
    if (!metrics_port)
        printf("note: vgtd has no --metrics (built without libmicrohttpd): metrics checks skipped\n");
    ctl("{\"cmd\":\"add\",\"domid\":3,\"type\":\"V5_4\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    ctl("{\"cmd\":\"add\",\"domid\":4,\"type\":\"V5_8\"}", ans, sizeof(ans));
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
    }
    snprintf(ans, sizeof(ans), "rm -rf %s", dir);
    return system(ans) < 0;
}

static void guest_run(unsigned domid, const char *wl, unsigned n)
{
    char req[128], ans[512];

    snprintf(req, sizeof(req), "{\"cmd\":\"guest-run\",\"domid\":%u,\"workload\":\"%s\",\"iterations\":%u}",
             domid, wl, n);
    ctl(req, ans, sizeof(ans));
    if (!strstr(ans, "\"ok\":true") || !strstr(ans, "\"failures\":0"))
        fail_msg("guest-run: %s", ans);
}

static void test_metrics_follow_guest_work(void **state)
{
    char path[400], out[4096];
    const char *m;
    FILE *f;
    double io0;

    (void)state;
    if (!metrics_port) {
        skip();
        return;
    }
    m = scrape();
    assert_true(sample(m, "vgt_vgpu_workloads_completed_total{domid=\"3\",vgpu=\"1\",engine=\"rcs\"}") == 0);
    assert_true(sample(m, "vgt_gpu_vgpus{gpu=\"0000:00:02.0\"}") == 2);
    assert_true(sample(m, "vgt_sched_weight{domid=\"3\",vgpu=\"1\"}") == 4);
    assert_true(sample(m, "vgt_sched_weight{domid=\"4\",vgpu=\"2\"}") == 2);
    io0 = sample(m, "vgt_ioreq_requests_total{domid=\"3\",vgpu=\"1\"}");
    assert_non_null(strstr(m, "# TYPE vgt_ioreq_service_seconds histogram\n"));

    /* 5 mixed steps: a store on RCS and a blit on BCS each. */
    guest_run(3, "mixed", 5);
    m = scrape();
    assert_true(sample(m, "vgt_vgpu_workloads_completed_total{domid=\"3\",vgpu=\"1\",engine=\"rcs\"}") == 5);
    assert_true(sample(m, "vgt_vgpu_workloads_completed_total{domid=\"3\",vgpu=\"1\",engine=\"bcs\"}") == 5);
    assert_true(sample(m, "vgt_vgpu_submissions_total{domid=\"3\",vgpu=\"1\"}") == 10);
    assert_true(sample(m, "vgt_vgpu_busy_seconds_total{domid=\"3\",vgpu=\"1\",engine=\"bcs\"}") > 0);
    assert_true(sample(m, "vgt_vgpu_busy_seconds_total{domid=\"4\",vgpu=\"2\",engine=\"bcs\"}") == 0);
    assert_true(sample(m, "vgt_ioreq_requests_total{domid=\"3\",vgpu=\"1\"}") > io0);
    /* Every served synchronous request lands in the histogram. */
    assert_true(sample(m, "vgt_ioreq_service_seconds_count{domid=\"3\",vgpu=\"1\"}") > 0);
    assert_true(sample(m, "vgt_ioreq_service_seconds_bucket{domid=\"3\",vgpu=\"1\",le=\"+Inf\"}") ==
                sample(m, "vgt_ioreq_service_seconds_count{domid=\"3\",vgpu=\"1\"}"));
    assert_true(sample(m, "vgt_ppgtt_shadow_pages{domid=\"3\",vgpu=\"1\"}") > 0);
    assert_true(sample(m, "vgt_ppgtt_shadow_bytes{domid=\"3\",vgpu=\"1\"}") >=
                4096 * sample(m, "vgt_ppgtt_shadow_pages{domid=\"3\",vgpu=\"1\"}"));
    assert_true(sample(m, "vgt_gpu_type_available_instances{gpu=\"0000:00:02.0\",type=\"V5_4\"}") <
                sample(m, "vgt_gpu_type_capacity_instances{gpu=\"0000:00:02.0\",type=\"V5_4\"}"));

    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(m, f);
    fclose(f);
    if (have_tool("promtool")) {
        int rc = run(out, sizeof(out), "promtool check metrics < %s 2>&1", path);

        if (rc)
            fail_msg("promtool check metrics: %s", out);
        printf("ok: promtool check metrics\n");
    } else {
        printf("note: promtool not installed (Debian package prometheus): format check skipped\n");
    }
    assert_int_equal(http_get("/other", out, sizeof(out)), 404);
}

static void test_set_is_live(void **state)
{
    char out[8192], ans[8192];
    const char *m;

    (void)state;
    assert_int_equal(run(out, sizeof(out), "%s set 3 weight=9 cap=50 --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "dom3: weight 9, cap 50 %"));
    ctl("{\"cmd\":\"status\",\"domid\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"weight\":9,\"cap_pct\":50,"));
    if (metrics_port) {
        m = scrape();
        assert_true(sample(m, "vgt_sched_weight{domid=\"3\",vgpu=\"1\"}") == 9);
        assert_true(sample(m, "vgt_sched_cap_ratio{domid=\"3\",vgpu=\"1\"}") == 0.5);
        /* 9 / (9 + 2), then capped at 50 %. */
        assert_true(sample(m, "vgt_sched_share_ratio{domid=\"3\",vgpu=\"1\"}") == 0.5);
    }
    /* Work still flows under the cap; the weight alone changes too. */
    guest_run(3, "mixed", 2);
    assert_int_equal(run(out, sizeof(out), "%s set 3 cap=none --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "weight 9, no cap"));
    assert_int_equal(run(out, sizeof(out), "%s list --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "\n1    3 "));
    assert_non_null(strstr(strstr(out, "\n1    3 "), " 9    "));

    /* Refusals name the problem and change nothing. */
    assert_int_equal(run(out, sizeof(out), "%s set 3 weight=0 --control %s 2>&1", vgt, sock), 2);
    assert_non_null(strstr(out, "weight '0': must be 1..1000"));
    assert_int_equal(run(out, sizeof(out), "%s set 3 cap=101 --control %s 2>&1", vgt, sock), 2);
    assert_non_null(strstr(out, "must be 0 (no cap) ..100"));
    assert_int_equal(run(out, sizeof(out), "%s set 99 weight=3 --control %s 2>&1", vgt, sock), 1);
    assert_non_null(strstr(out, "domain 99 has no vGPU"));
    assert_int_equal(run(out, sizeof(out), "%s set 3 colour=red --control %s 2>&1", vgt, sock), 2);
    assert_int_equal(run(out, sizeof(out), "%s set 3 --control %s 2>&1", vgt, sock), 2);
    /* The daemon checks too (other clients speak the protocol). */
    ctl("{\"cmd\":\"set\",\"domid\":3,\"weight\":1001}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"weight\\\" must be 1..1000"));
    ctl("{\"cmd\":\"set\",\"domid\":3,\"cap_pct\":200}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "cap_pct"));
    ctl("{\"cmd\":\"status\",\"domid\":3}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"weight\":9,\"cap_pct\":0,"));
}

static void test_reset_leaves_failsafe(void **state)
{
    char out[8192], ans[8192];
    const char *m;

    (void)state;
    ctl("{\"cmd\":\"failsafe\",\"domid\":4,\"detail\":\"injected by the test\"}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"ok\":true"));
    ctl("{\"cmd\":\"status\",\"domid\":4}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"failsafe\":true"));
    if (metrics_port) {
        m = scrape();
        assert_true(sample(m, "vgt_vgpu_failsafe{domid=\"4\",vgpu=\"2\"}") == 1);
        assert_true(sample(m, "vgt_vgpu_failsafe_events_total{domid=\"4\",vgpu=\"2\",reason=\"admin\"}") == 1);
        assert_true(sample(m, "vgt_vgpu_failsafe_events_total{domid=\"4\",vgpu=\"2\",reason=\"guest-error\"}") == 0);
        assert_true(sample(m, "vgt_vgpu_failsafe{domid=\"3\",vgpu=\"1\"}") == 0);
    }
    assert_int_equal(run(out, sizeof(out), "%s reset 4 --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "dom4: vGPU reset, out of failsafe (it was in failsafe: admin)"));
    ctl("{\"cmd\":\"status\",\"domid\":4}", ans, sizeof(ans));
    assert_non_null(strstr(ans, "\"failsafe\":false"));
    if (metrics_port) {
        m = scrape();
        assert_true(sample(m, "vgt_vgpu_failsafe{domid=\"4\",vgpu=\"2\"}") == 0);
        assert_true(sample(m, "vgt_vgpu_resets_total{domid=\"4\",vgpu=\"2\"}") == 1);
        /* The history stays. */
        assert_true(sample(m, "vgt_vgpu_failsafe_events_total{domid=\"4\",vgpu=\"2\",reason=\"admin\"}") == 1);
    }
    /* The guest's driver comes back and its work runs again. */
    guest_run(4, "blit", 2);
    assert_int_equal(run(out, sizeof(out), "%s reset 77 --control %s 2>&1", vgt, sock), 1);
    assert_non_null(strstr(out, "domain 77 has no vGPU"));
    assert_int_equal(run(out, sizeof(out), "%s reset dom4 --control %s 2>&1", vgt, sock), 2);
}

static void test_top(void **state)
{
    char out[8192], cmd[1024];
    const char *v3;
    FILE *p;
    size_t n;

    (void)state;
    /* vgt top takes its first sample at once and its second 2 s later;
     * the guest's work happens in between. */
    snprintf(cmd, sizeof(cmd), "%s top --json -n 1 -d 2 --control %s", vgt, sock);
    p = popen(cmd, "r");
    assert_non_null(p);
    usleep(500000);
    guest_run(3, "mixed", 10);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    v3 = strstr(out, "{\"domid\":3,");
    assert_non_null(v3);
    assert_non_null(strstr(v3, "\"completed\":20,"));
    assert_non_null(strstr(v3, "\"weight\":9,"));
    assert_true(strtod(strstr(v3, "\"busy_pct_bcs\":") + 15, NULL) > 0);
    assert_non_null(strstr(out, "{\"domid\":4,"));
    assert_non_null(strstr(strstr(out, "{\"domid\":4,"), "\"completed\":0,"));

    /* Not a terminal: plain lines, no escape sequences. */
    assert_int_equal(run(out, sizeof(out), "%s top -n 2 -d 0.1 --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "DOMID"));
    assert_null(strchr(out, '\033'));
    assert_non_null(strstr(strstr(out, "DOMID") + 5, "DOMID")); /* two refreshes */
    assert_int_equal(run(out, sizeof(out), "%s top -n 0 --control %s 2>&1", vgt, sock), 2);
    assert_int_equal(run(out, sizeof(out), "%s top -d 0 --control %s 2>&1", vgt, sock), 2);
}

static void test_inventory(void **state)
{
    char out[16384], path[400];
    unsigned found = 0;
    char *line, *save;

    (void)state;
    assert_int_equal(run(out, sizeof(out), "%s inventory --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "GPU 0000:00:02.0 (8086:1912), 2 vGPUs"));
    assert_non_null(strstr(out, "  V5_4        128       512      4      4"));
    assert_int_equal(run(out, sizeof(out), "%s inventory --json --control %s", vgt, sock), 0);
    assert_non_null(strstr(out, "{\"gpus\":[{\"ok\":true,\"gpu\":{\"sbdf\":\"0000:00:02.0\""));
    assert_non_null(strstr(out, "{\"name\":\"V5_4\",\"low_gm_mb\":128,\"high_gm_mb\":512,\"fences\":4,"));
    assert_non_null(strstr(out, "\"shares\":[{\"domid\":3,"));

    /* Each line scans with XAPI's own format (xapi_vgpu_type.ml) and
     * carries the type's sizes in MiB. */
    assert_int_equal(run(out, sizeof(out), "%s inventory --format xapi --control %s", vgt, sock), 0);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned dev, x, y;
        unsigned long long lo, hi, fe, fb, heads;
        char exp, name[64];

        if (sscanf(line, "%4x experimental=%c name='%63[^']' low_gm_sz=%llu high_gm_sz=%llu "
                         "fence_sz=%llu framebuffer_sz=%llu max_heads=%llu resolution=%ux%u",
                   &dev, &exp, name, &lo, &hi, &fe, &fb, &heads, &x, &y) != 10)
            fail_msg("not an XAPI whitelist line: %s", line);
        assert_int_equal(dev, 0x1912);
        assert_int_equal(exp, '0');
        assert_int_equal(fb, lo);
        if (!strcmp(name, "vgt V5_4")) {
            assert_int_equal(lo, 128);
            assert_int_equal(hi, 512);
            assert_int_equal(fe, 4);
            assert_int_equal(heads, 1);
            assert_int_equal(x * 10000 + y, 1920 * 10000 + 1080);
            found++;
        }
        if (!strcmp(name, "vgt V5_8")) {
            assert_int_equal(lo, 64);
            assert_int_equal(heads, 1);
            assert_int_equal(x * 10000 + y, 1920 * 10000 + 1080);
            found++;
        }
    }
    assert_int_equal(found, 2);

    /* Nova: V5_4 holds 3 on the empty GPU; dom3 is one of them (Nova's
     * own allocation), dom4's V5_8 took the room of one more. */
    snprintf(path, sizeof(path), "%s/nova", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(run(out, sizeof(out), "%s inventory --format placement --name cn1 --control %s > %s/vgt.yaml",
                         vgt, sock, path), 0);
    assert_int_equal(run(out, sizeof(out), "cat %s/vgt.yaml", path), 0);
    assert_non_null(strstr(out, "      name: 'cn1'\n"));
    assert_non_null(strstr(out, "        - CUSTOM_VGPU:\n            total: 3\n            reserved: 1\n"));
    assert_non_null(strstr(out, "        - 'CUSTOM_VGT_V5_4'\n"));
    if (run(out, sizeof(out), "/usr/bin/python3 -c 'import nova.compute.provider_config' 2>&1") == 0) {
        int rc = run(out, sizeof(out),
                     "/usr/bin/python3 -c \"import sys\n"
                     "from nova.compute import provider_config as pc\n"
                     "c = pc.get_provider_configs(sys.argv[1])\n"
                     "p = c['cn1']\n"
                     "i = p['inventories']['additional'][0]['CUSTOM_VGPU']\n"
                     "print('nova', i['total'], i['reserved'], i['max_unit'], *p['traits']['additional'])\" %s 2>&1",
                     path);

        if (rc || !strstr(out, "nova 3 1 1 CUSTOM_VGT_V5_4"))
            fail_msg("Nova's provider config loader: %s", out);
        printf("ok: Nova's provider-config loader: %s", out);
    } else {
        printf("note: python3-nova not installed: Nova's provider-config loader check skipped\n");
    }
    assert_int_equal(run(out, sizeof(out), "%s inventory --format placement --type V5_1 --control %s 2>&1",
                         vgt, sock), 1);
    assert_non_null(strstr(out, "no GPU of this host can hold a V5_1 vGPU"));
    assert_int_equal(run(out, sizeof(out), "%s inventory --format placement --type V9 --control %s 2>&1",
                         vgt, sock), 2);
    assert_int_equal(run(out, sizeof(out), "%s inventory --format csv --control %s 2>&1", vgt, sock), 2);
    assert_int_equal(run(out, sizeof(out), "%s inventory --format placement --name \"a'b\" --control %s 2>&1",
                         vgt, sock), 2);

    /* A scheduler that placed two more V5_4 guests from this inventory
     * after the room went: the host refuses the second, saying why. */
    {
        char ans[1024];

        ctl("{\"cmd\":\"add\",\"domid\":5,\"type\":\"V5_4\"}", ans, sizeof(ans));
        assert_non_null(strstr(ans, "\"ok\":true"));
        ctl("{\"cmd\":\"add\",\"domid\":6,\"type\":\"V5_4\"}", ans, sizeof(ans));
        if (!strstr(ans, "no room on the GPU for a V5_4 (0 of 3 left; the placement is stale, see vgt inventory): "))
            fail_msg("refusal: %s", ans);
        assert_int_equal(run(out, sizeof(out), "%s inventory --format placement --name cn1 --control %s", vgt, sock), 0);
        assert_non_null(strstr(out, "            total: 3\n            reserved: 1\n"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_follow_guest_work),
        cmocka_unit_test(test_set_is_live),
        cmocka_unit_test(test_reset_leaves_failsafe),
        cmocka_unit_test(test_top),
        cmocka_unit_test(test_inventory),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

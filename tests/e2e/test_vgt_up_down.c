/* vgt up / vgt list / vgt down against vgtd --sim, with `xl` replaced by a
 * stand-in script on PATH that logs its calls (no Xen host here). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vgpu_client.h"

static char dir[256], vgt[512], xllog[300], sock[300];

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static char *slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = 0;

    buf[0] = 0;
    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = 0;
    return buf;
}

static int run(const char *args, char *out, size_t outlen)
{
    char cmd[2048];
    FILE *p;
    size_t n = 0;
    int st;

    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", vgt, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (out) {
        n = fread(out, 1, outlen - 1, p);
        out[n] = 0;
    } else {
        char sink[4096];

        while (fread(sink, 1, sizeof(sink), p) > 0)
            ;
    }
    st = pclose(p);
    return WEXITSTATUS(st);
}

static int setup(void **state)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char path[2048], xl[300];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vgt-updown-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(vgt, sizeof(vgt), "%s/tools/vgt", root ? root : "build");
    snprintf(xllog, sizeof(xllog), "%s/xl.log", dir);
    snprintf(sock, sizeof(sock), "%s/vgtd.sock", dir);
    snprintf(xl, sizeof(xl), "%s/xl", dir);
    /* xl stand-in: domain ids by name, every call logged. */
    snprintf(path, sizeof(path),
             "#!/bin/sh\n"
             "echo \"$*\" >> %s\n"
             "case \"$1\" in\n"
             "  create) exit 0 ;;\n"
             "  domid) case \"$2\" in g1) echo 7 ;; g2) echo 8 ;; *) exit 1 ;; esac ;;\n"
             "  unpause|destroy) exit 0 ;;\n"
             "  *) exit 1 ;;\n"
             "esac\n",
             xllog);
    write_file(xl, path, 0755);
    snprintf(path, sizeof(path), "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    setenv("VGT_CONTROL", sock, 1);
    setenv("VGT_SIM", "1", 1);
    return 0;
}

static int teardown(void **state)
{
    char cmd[1200];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    (void)state;
    /* Whatever happened, no vgtd of this test may outlive it. */
    strcpy(sa.sun_path, sock);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, "{\"cmd\":\"stop\"}\n", 16) == 16)
        (void)!read(fd, cmd, sizeof(cmd));
    if (fd >= 0)
        close(fd);
    snprintf(cmd, sizeof(cmd), "%s down g1 >/dev/null 2>&1; rm -rf %s", vgt, dir);
    if (system(cmd) < 0)
        return 1;
    return 0;
}

static void test_up_list_down(void **state)
{
    char cfg[300], cfg2[300], out[8192];

    (void)state;
    snprintf(cfg, sizeof(cfg), "%s/g1.cfg", dir);
    write_file(cfg,
               "# a vgt guest\nname = \"g1\"\nbuilder = 'hvm'\nmemory = 64\nvgt = 1\n"
               "vgt_low_gm_sz = 64\nvgt_high_gm_sz = 384 # MiB\nvgt_fence_sz = 2\n"
               "vgt_max_heads = 2\nvgt_resolution = \"2560x1440\"\n"
               "disk = [ 'file:/x.img,xvda,w',\n  'file:/y.img,xvdb,w' ]\n",
               0644);
    snprintf(cfg2, sizeof(cfg2), "%s/g2.cfg", dir);
    write_file(cfg2, "name = \"g2\"\nvgt = 1\nvgt_low_gm_sz = 4096\nvgt_high_gm_sz = 64\n", 0644);

    snprintf(out, sizeof(out), "up %s", cfg);
    assert_int_equal(run(out, out, sizeof(out)), 0);
    assert_non_null(strstr(slurp(xllog), "create -p"));
    assert_non_null(strstr(slurp(xllog), "unpause g1"));
    assert_null(strstr(slurp(xllog), "destroy"));

    assert_int_equal(run("list --json", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"domid\":7"));
    assert_non_null(strstr(out, "\"low_gm_size\":67108864"));
    assert_non_null(strstr(out, "\"high_gm_size\":402653184"));
    assert_non_null(strstr(out, "\"fence_num\":2"));
    assert_non_null(strstr(out, "\"state\":\"attached\""));
    assert_non_null(strstr(out, "\"heads\":2,\"resolution\":\"2560x1440\""));
    assert_int_equal(run("list", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "custom"));

    /* No room for g2's aperture: refused, its half-made domain destroyed,
     * g1 keeps running. */
    snprintf(out, sizeof(out), "up %s", cfg2);
    assert_int_equal(run(out, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "vgt_low_gm_sz"));
    assert_non_null(strstr(slurp(xllog), "destroy g2"));
    assert_int_equal(run("list --json", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"domid\":7"));
    assert_null(strstr(out, "\"domid\":8"));

    /* A config without vgt=1 is not ours. */
    write_file(cfg2, "name = \"g2\"\n", 0644);
    snprintf(out, sizeof(out), "up %s", cfg2);
    assert_int_equal(run(out, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "vgt=1"));

    assert_int_equal(run("down g1", out, sizeof(out)), 0);
    assert_non_null(strstr(slurp(xllog), "destroy g1"));
    /* vgtd stopped with its last vGPU: nobody answers any more. */
    for (int i = 0; i < 50 && access(sock, F_OK) == 0; i++)
        usleep(100000);
    assert_int_not_equal(access(sock, F_OK), 0);
    assert_int_equal(run("list", out, sizeof(out)), 1);
}

/* One request on the control socket, one answer line (vgt's own client,
 * host/vgpu_client.c). */
static void ctl(const char *req, char *ans, size_t len)
{
    int ret = vgpu_ctl_request(sock, req, ans, len);

    if (ret)
        fail_msg("control socket %s: %s", sock, strerror(-ret));
}

/* The toolstack destroys the domain behind vgtd's back: its vGPU is torn
 * down and the room comes back. */
static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_domain_gone(void **state)
{
    char cfg[300], out[8192], before[8192], logpath[sizeof(sock) + 8];
    double t0;

    (void)state;
    snprintf(cfg, sizeof(cfg), "%s/g1.cfg", dir);
    write_file(cfg, "name = \"g1\"\nvgt = 1\n", 0644);
    /* A previous vgtd's log: each vgtd starts CONTROL.log afresh. */
    snprintf(logpath, sizeof(logpath), "%s.log", sock);
    write_file(logpath, "vgtd: err: a stale line of the previous vgtd\n", 0644);
    snprintf(out, sizeof(out), "up %s", cfg);
    assert_int_equal(run(out, out, sizeof(out)), 0);
    assert_null(strstr(slurp(logpath), "stale line"));
    ctl("{\"cmd\":\"add\",\"domid\":9,\"type\":\"V5_8\"}", out, sizeof(out));
    assert_non_null(strstr(out, "\"ok\":true"));
    ctl("{\"cmd\":\"list\"}", before, sizeof(before));
    assert_non_null(strstr(before, "\"domid\":9"));
    ctl("{\"cmd\":\"kill-domain\",\"domid\":9}", out, sizeof(out));
    assert_non_null(strstr(out, "\"ok\":true"));
    t0 = mono_ms();
    for (int i = 0; i < 500; i++) {
        ctl("{\"cmd\":\"list\"}", out, sizeof(out));
        if (!strstr(out, "\"domid\":9"))
            break;
        usleep(10000);
    }
    assert_null(strstr(out, "\"domid\":9"));
    /* Torn down within 200 ms of the death (issue 14), without an error. */
    print_message("  dom9 gone %.0f ms after its death\n", mono_ms() - t0);
    assert_true(mono_ms() - t0 < 200);
    assert_non_null(strstr(slurp(logpath), "dom9: domain gone"));
    assert_null(strstr(slurp(logpath), ": err:"));
    assert_non_null(strstr(out, "\"domid\":7"));
    /* Its V5_8 room is back: one more V5_8 fits than while it lived. */
    assert_non_null(strstr(before, "\"V5_8\":3"));
    assert_non_null(strstr(out, "\"V5_8\":4"));
    /* Only root may talk to vgtd: a client running as nobody is turned
     * away (socket mode 0600 in a root-only directory; vgtd also checks
     * SO_PEERCRED). */
    if (getuid() == 0) {
        pid_t pid = fork();
        int st = 0;

        assert_true(pid >= 0);
        if (pid == 0) {
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            int fd;

            if (setgid(65534) || setuid(65534))
                _exit(3);
            strcpy(sa.sun_path, sock);
            fd = socket(AF_UNIX, SOCK_STREAM, 0);
            _exit(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 1 : 0);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    /* Bad requests are refused with a reason. */
    ctl("{\"cmd\":\"add\",\"domid\":0}", out, sizeof(out));
    assert_non_null(strstr(out, "domid"));
    ctl("not json", out, sizeof(out));
    assert_non_null(strstr(out, "\"ok\":false"));
}

static void test_inspect_magic(void **state)
{
    char out[4096];

    (void)state;
    assert_int_equal(run("inspect --read-mmio 0x78000:8 --read-cfg 0:4 --read-mmio 0x78010", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "0x4776544776544776"));
    assert_non_null(strstr(out, "0x19128086"));
    assert_non_null(strstr(out, "0x0000001c"));
    assert_int_equal(run("inspect --json --write-mmio 0x78804:4=1 --read-mmio 0x78804:4", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"op\":\"read-mmio\",\"offset\":\"0x78804\",\"size\":4,\"value\":\"0x00000001\""));
    assert_int_equal(run("inspect --read-mmio 0x78001:4", out, sizeof(out)), 2);
    assert_int_equal(run("inspect --type V9_9", out, sizeof(out)), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_up_list_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect_magic, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

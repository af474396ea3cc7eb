/* vgtd's Type=notify readiness: under a NOTIFY_SOCKET that the test binds
 * (a Unix datagram socket, as systemd's), vgtd --sim must send READY=1
 * with a STATUS= line only once its control socket accepts connections,
 * and STOPPING=1 when SIGTERM stops it; exit status 0. The same for the
 * testdev kind, which has no control socket. */
#include <errno.h>
#include <poll.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fx {
    char dir[64], notify[96], sock[96];
    int nfd;
    pid_t pid;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vgt-notify-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->notify, sizeof(f->notify), "%s/notify", f->dir);
    snprintf(f->sock, sizeof(f->sock), "%s/vgtd.sock", f->dir);
    f->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(f->nfd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->notify);
    assert_int_equal(bind(f->nfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    f->pid = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int st;

    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &st, 0);
    }
    close(f->nfd);
    unlink(f->notify);
    unlink(f->sock);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* vgtd with NOTIFY_SOCKET pointing at our socket; its stdout discarded. */
static void start_vgtd(struct fx *f, const char *const *args)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char path[512];

    snprintf(path, sizeof(path), "%s/tools/vgtd", root ? root : "build");
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        char *argv[16];
        int i = 0;

        argv[i++] = "vgtd";
        for (; args[i - 1] && i < 15; i++)
            argv[i] = (char *)args[i - 1];
        argv[i] = NULL;
        setenv("NOTIFY_SOCKET", f->notify, 1);
        unsetenv("JOURNAL_STREAM");
        unsetenv("INVOCATION_ID");
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execv(path, argv);
        _exit(127);
    }
}

/* Datagrams until one holds @want as a line; every one is appended to
 * @all. Returns 0, or -ETIMEDOUT after @ms. */
static int wait_state(struct fx *f, const char *want, char *all, size_t len, int ms)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = f->nfd, .events = POLLIN};
        char buf[1024];
        ssize_t n;
        long left;

        clock_gettime(CLOCK_MONOTONIC, &t);
        left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -ETIMEDOUT;
        n = recv(f->nfd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = 0;
        strncat(all, buf, len - strlen(all) - 2);
        strcat(all, "\n");
        /* A state is a line of the datagram ("READY=1\nSTATUS=..."). */
        for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
            if (!strcmp(l, want))
                return 0;
    }
}

/* Connect now (no retry) and send one request; 0 and the answer, or
 * -errno of connect. */
static int ctl_now(const char *sock, const char *req, char *ans, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t n = 0;
    ssize_t r;

    ans[0] = 0;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int e = errno;

        close(fd);
        return -e;
    }
    (void)send(fd, req, strlen(req), MSG_NOSIGNAL);
    while (n + 1 < len && (r = read(fd, ans + n, len - 1 - n)) > 0) {
        n += (size_t)r;
        ans[n] = 0;
        if (strchr(ans, '\n'))
            break;
    }
    close(fd);
    return 0;
}

static void stop_and_wait(struct fx *f, char *all, size_t len)
{
    int st = 0;

    assert_int_equal(kill(f->pid, SIGTERM), 0);
    assert_int_equal(wait_state(f, "STOPPING=1", all, len, 10000), 0);
    assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
    f->pid = -1;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_vgpu_ready_after_socket(void **state)
{
    struct fx *f = *state;
    const char *args[] = {"--sim", "--control", f->sock, "--log", "err", NULL};
    char all[4096] = "", ans[512], status[256];

    start_vgtd(f, args);
    assert_int_equal(wait_state(f, "READY=1", all, sizeof(all), 20000), 0);
    /* READY=1 says the socket listens: a connection made right now, with
     * no retry, is accepted and answered (root is served; any other uid
     * gets vgtd's permission error, which is an answer too). */
    assert_int_equal(ctl_now(f->sock, "{\"cmd\":\"list\"}\n", ans, sizeof(ans)), 0);
    assert_true(!strncmp(ans, "{\"ok\":true", 10) || strstr(ans, "permission denied"));
    snprintf(status, sizeof(status), "control socket %s", f->sock);
    assert_non_null(strstr(all, "STATUS=serving vGPUs on the simulated GPU"));
    assert_non_null(strstr(all, status));
    stop_and_wait(f, all, sizeof(all));
    assert_non_null(strstr(all, "STATUS=stopping"));
}

static void test_testdev_ready(void **state)
{
    struct fx *f = *state;
    const char *args[] = {"--sim", "--domid", "3", "--device", "testdev", "--mmio",
                          "0xfe000000", "--log", "err", NULL};
    char all[4096] = "";

    start_vgtd(f, args);
    assert_int_equal(wait_state(f, "READY=1", all, sizeof(all), 20000), 0);
    assert_non_null(strstr(all, "STATUS=dom3: serving testdev"));
    stop_and_wait(f, all, sizeof(all));
}

/* A vgtd that fails to start never says READY=1 (systemd then reports
 * the start as failed instead of waiting on a dead daemon). */
static void test_no_ready_on_failure(void **state)
{
    struct fx *f = *state;
    char bad[128], all[4096] = "";
    const char *args[] = {"--sim", "--control", bad, "--log", "off", NULL};
    int st = 0;

    /* A control socket in a directory that cannot exist. */
    snprintf(bad, sizeof(bad), "%s/notify/x/vgtd.sock", f->dir);
    start_vgtd(f, args);
    assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
    f->pid = -1;
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    assert_int_equal(wait_state(f, "READY=1", all, sizeof(all), 200), -ETIMEDOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vgpu_ready_after_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_testdev_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ready_on_failure, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

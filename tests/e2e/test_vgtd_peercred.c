/* vgtd's control socket serves root only (SO_PEERCRED uid 0). Run as
 * root (skipped otherwise): start vgtd --sim, fork children that drop to
 * an unprivileged uid and connect. With the socket's own mode (0600) the
 * connection is refused by the file system; with the mode loosened (as a
 * careless administrator might) the peer-credential check must still
 * refuse the request with a clear error and not act on it, while root
 * keeps being served. */
#include <errno.h>
#include <grp.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define NOBODY 65534

static char dir[64], sock[96];
static pid_t vgtd = -1;

/* Connect, send one request line, read one answer line. Returns 0 or
 * -errno of connect. */
static int ctl(const char *req, char *ans, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t n = 0;
    ssize_t r;

    ans[0] = 0;
    if (fd < 0)
        return -errno;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int e = errno;

        close(fd);
        return -e;
    }
    /* A refused client is answered and closed before its request is
     * read: no SIGPIPE, the answer still waits in the socket. */
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) >= 0)
        (void)send(fd, "\n", 1, MSG_NOSIGNAL);
    while (n + 1 < len && (r = read(fd, ans + n, len - 1 - n)) > 0) {
        n += (size_t)r;
        ans[n] = 0;
        if (strchr(ans, '\n'))
            break;
    }
    ans[n] = 0;
    close(fd);
    return 0;
}

/* In a child that dropped every privilege to uid/gid NOBODY: one request.
 * The result line is "uid=U connect=E answer=..." (E: 0 or errno), or
 * "setuid=E" when the drop itself failed. */
static void as_nobody(const char *req, char *out, size_t len)
{
    int p[2];
    pid_t pid;
    size_t n = 0;
    ssize_t r;
    int st;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char ans[1024], line[1200];
        int ret;

        close(p[0]);
        if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
            snprintf(line, sizeof(line), "setuid=%d", errno);
        } else {
            ret = ctl(req, ans, sizeof(ans));
            snprintf(line, sizeof(line), "uid=%u connect=%d answer=%s", (unsigned)getuid(), -ret,
                     ans);
        }
        if (write(p[1], line, strlen(line)) < 0)
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    while (n + 1 < len && (r = read(p[0], out + n, len - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        printf("child status %#x, said: %s\n", st, out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int setup(void **state)
{
    const char *root = getenv("VGT_BUILD_ROOT");
    char vgtd_path[512];

    (void)state;
    if (geteuid() != 0)
        return 0; /* the test skips itself */
    snprintf(dir, sizeof(dir), "/tmp/vgt-peercred-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(sock, sizeof(sock), "%s/vgtd.sock", dir);
    snprintf(vgtd_path, sizeof(vgtd_path), "%s/tools/vgtd", root ? root : "build");
    vgtd = fork();
    if (vgtd < 0)
        return 1;
    if (vgtd == 0) {
        execl(vgtd_path, "vgtd", "--sim", "--control", sock, "--log", "err", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(sock, F_OK); i++)
        usleep(50000);
    return access(sock, F_OK) ? 1 : 0;
}

static int teardown(void **state)
{
    char ans[256], cmd[128];
    int st;

    (void)state;
    if (vgtd > 0) {
        ctl("{\"cmd\":\"stop\"}", ans, sizeof(ans));
        for (int i = 0; i < 100 && waitpid(vgtd, &st, WNOHANG) == 0; i++)
            usleep(50000);
        if (waitpid(vgtd, &st, WNOHANG) == 0) {
            kill(vgtd, SIGKILL);
            waitpid(vgtd, &st, 0);
        }
    }
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) < 0)
            return 1;
    }
    return 0;
}

static void test_root_only(void **state)
{
    char ans[1024], out[1400], want[64];

    (void)state;
    if (geteuid() != 0) {
        printf("not root: the peer-credential test needs to drop to uid %d\n", NOBODY);
        skip();
    }
    assert_int_equal(ctl("{\"cmd\":\"list\"}", ans, sizeof(ans)), 0);
    assert_non_null(strstr(ans, "\"ok\":true"));

    /* The socket's own mode keeps others out already. */
    as_nobody("{\"cmd\":\"list\"}", out, sizeof(out));
    if (!strncmp(out, "setuid=", 7)) {
        printf("cannot drop to uid %d here (%s)\n", NOBODY, out);
        skip();
    }
    snprintf(want, sizeof(want), "uid=%d connect=%d answer=", NOBODY, EACCES);
    assert_string_equal(out, want);

    /* Loosened mode: the connection is made, the request is not served. */
    assert_int_equal(chmod(dir, 0711), 0);
    assert_int_equal(chmod(sock, 0666), 0);
    as_nobody("{\"cmd\":\"stop\"}", out, sizeof(out));
    snprintf(want, sizeof(want), "uid=%d connect=0 answer=", NOBODY);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\"ok\":false"));
    assert_non_null(strstr(out, "permission denied: only root may use the vgtd control socket"));
    as_nobody("{\"cmd\":\"add\",\"domid\":3,\"type\":\"V5_4\"}", out, sizeof(out));
    assert_non_null(strstr(out, "permission denied"));

    /* Neither request acted: vgtd still runs, with no vGPU, for root. */
    assert_int_equal(waitpid(vgtd, NULL, WNOHANG), 0);
    assert_int_equal(ctl("{\"cmd\":\"list\"}", ans, sizeof(ans)), 0);
    assert_non_null(strstr(ans, "\"ok\":true"));
    assert_non_null(strstr(ans, "\"vgpus\":[]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root_only, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Client side of vgtd's control socket (see vgpu_client.h). */
#include "vgpu_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vgtd_vgpu.h"

const char *vgpu_ctl_path(const char *opt)
{
    const char *env = getenv("VGT_CONTROL");

    if (opt)
        return opt;
    return env && *env ? env : VGTD_CONTROL_DEFAULT;
}

int vgpu_ctl_request(const char *path, const char *req, char *ans, size_t anslen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = 0, rl = strlen(req);
    int fd, ret = 0;

    if (strlen(path) >= sizeof(sa.sun_path) || anslen < 2)
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        ret = -errno;
        goto close_fd;
    }
    if (send(fd, req, rl, MSG_NOSIGNAL) != (ssize_t)rl || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        ret = -EPIPE;
        goto close_fd;
    }
    while (n + 1 < anslen) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        char *nl;

        /* Adding a vGPU carves and scratches its GGTT: allow seconds. */
        if (poll(&p, 1, 30000) <= 0) {
            ret = -ETIMEDOUT;
            goto close_fd;
        }
        r = read(fd, ans + n, anslen - 1 - n);
        if (r <= 0) {
            ret = -ECONNRESET;
            goto close_fd;
        }
        n += (size_t)r;
        ans[n] = 0;
        nl = strchr(ans, '\n');
        if (nl) {
            *nl = 0;
            goto close_fd;
        }
    }
    ret = -EMSGSIZE;
close_fd:
    close(fd);
    return ret;
}

int vgpu_ctl_ok(const char *ans)
{
    return strstr(ans, "\"ok\":true") != NULL;
}

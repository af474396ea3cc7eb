/* Client side of vgtd's control socket (see vgpu_client.h). */
#include "vgpu_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
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

int vgpu_ctl_object(const char *ans, const char *key, struct vgt_ctl_msg *m)
{
    char pat[VGT_CTL_KEY_MAX + 8];
    const char *p, *end;

    snprintf(pat, sizeof(pat), "\"%s\":{", key);
    p = strstr(ans, pat);
    if (!p)
        return -ENOENT;
    p += strlen(pat) - 1;
    end = strchr(p, '}');
    if (!end || vgt_ctl_parse(p, (size_t)(end - p + 1), m, NULL))
        return -EINVAL;
    return 0;
}

int vgpu_ctl_objects(const char *ans, const char *key,
                     int (*fn)(void *opaque, const struct vgt_ctl_msg *m), void *opaque)
{
    char pat[VGT_CTL_KEY_MAX + 8];
    struct vgt_ctl_msg *m;
    const char *p, *end;
    int n = 0, ret;

    snprintf(pat, sizeof(pat), "\"%s\":[", key);
    p = strstr(ans, pat);
    if (!p)
        return -EINVAL;
    m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    /* Objects in these answers are flat: each ends at its first '}'. */
    for (p += strlen(pat); *p == '{'; p = end + 2) {
        end = strchr(p, '}');
        if (!end || vgt_ctl_parse(p, (size_t)(end - p + 1), m, NULL)) {
            n = -EINVAL;
            break;
        }
        ret = fn(opaque, m);
        if (ret) {
            n = ret;
            break;
        }
        n++;
        if (end[1] != ',')
            break;
    }
    free(m);
    return n;
}

unsigned long long vgpu_ctl_numf(const struct vgt_ctl_msg *m, const char *key)
{
    uint64_t v = 0;

    vgt_ctl_num(m, key, &v);
    return (unsigned long long)v;
}

const char *vgpu_ctl_strf(const struct vgt_ctl_msg *m, const char *key)
{
    const char *s = vgt_ctl_str(m, key);

    return s ? s : "?";
}

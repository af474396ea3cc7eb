/* vgt screenshot DOMID [--head N] --out FILE.png [--control PATH]: the
 * head as the guest shows it, cursor included, written by vgtd through
 * libpng (docs/display.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vgt_cmds.h"
#include "vgt/util.h"

#include "vgpu_client.h"
#include "vgt/vgt_ctl.h"

static int usage(void)
{
    fprintf(stderr, "usage: vgt screenshot DOMID [--head N] --out FILE.png [--control PATH]\n");
    return 2;
}

int vgt_cmd_screenshot(int argc, char **argv)
{
    const char *control = NULL, *out = NULL, *plane, *cursor;
    char ans[1024], req[512], path[PATH_MAX];
    uint64_t domid = 0, head = 0;
    struct vgt_ctl_msg m;
    int ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--head") && i + 1 < argc) {
            if (vgt_parse_u64(argv[++i], &head) || head > 2) {
                fprintf(stderr, "vgt screenshot: --head: '%s' is not 0..2\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
            control = argv[++i];
        } else if (argv[i][0] != '-' && !domid) {
            if (vgt_parse_u64(argv[i], &domid) || domid == 0 || domid >= 0x7ff0) {
                fprintf(stderr, "vgt screenshot: '%s' is not a guest domain id (1..32751)\n", argv[i]);
                return 2;
            }
        } else {
            return usage();
        }
    }
    if (!domid || !out)
        return usage();
    /* vgtd writes the file: give it an absolute path */
    if (out[0] != '/') {
        char cwd[PATH_MAX];

        if (!getcwd(cwd, sizeof(cwd)) ||
            snprintf(path, sizeof(path), "%s/%s", cwd, out) >= (int)sizeof(path)) {
            fprintf(stderr, "vgt screenshot: --out %s: path too long\n", out);
            return 2;
        }
        out = path;
    }
    if (strlen(out) >= VGT_CTL_STR_MAX || strchr(out, '"') || strchr(out, '\\')) {
        fprintf(stderr, "vgt screenshot: --out %s: the path must be under %u bytes, without quotes "
                        "or backslashes\n", out, VGT_CTL_STR_MAX);
        return 2;
    }
    snprintf(req, sizeof(req), "{\"cmd\":\"screenshot\",\"domid\":%llu,\"head\":%llu,\"out\":\"%s\"}",
             (unsigned long long)domid, (unsigned long long)head, out);
    control = vgpu_ctl_path(control);
    ret = vgpu_ctl_request(control, req, ans, sizeof(ans));
    if (ret) {
        fprintf(stderr, "vgt screenshot: no vgtd answers on %s: %s\n", control, strerror(-ret));
        return 1;
    }
    if (!vgpu_ctl_ok(ans) || vgt_ctl_parse(ans, strlen(ans), &m, NULL)) {
        const char *e = strstr(ans, "\"error\":\"");

        fprintf(stderr, "vgt screenshot: %.*s\n", e ? (int)strcspn(e + 9, "\"") : (int)strlen(ans),
                e ? e + 9 : ans);
        return 1;
    }
    plane = vgpu_ctl_strf(&m, "plane");
    cursor = vgpu_ctl_strf(&m, "cursor");
    printf("dom%llu head %llu: %llux%llu, plane 1 %s", (unsigned long long)domid,
           (unsigned long long)head, vgpu_ctl_numf(&m, "width"), vgpu_ctl_numf(&m, "height"), plane);
    if (!strcmp(plane, "shown"))
        printf(" (%s, %s)", vgpu_ctl_strf(&m, "plane_format"), vgpu_ctl_strf(&m, "plane_modifier"));
    printf(", cursor %s -> %s\n", cursor, out);
    if (strcmp(plane, "shown") && strcmp(plane, "disabled"))
        fprintf(stderr, "vgt screenshot: warning: dom%llu head %llu: plane 1 refused (%s); shown "
                        "black\n", (unsigned long long)domid, (unsigned long long)head, plane);
    return 0;
}


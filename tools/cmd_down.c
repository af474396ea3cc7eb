/* vgt down NAME: stop a vgt guest. Its vGPU is removed from vgtd (and
 * vgtd stops cleanly when it was the last one), then the domain is
 * destroyed with xl.
 *   vgt down NAME [--control PATH] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vgt_cmds.h"

#include "vgpu_client.h"
#include "vgt/util.h"
#include "vgt_xl.h"

int vgt_cmd_down(int argc, char **argv)
{
    const char *name = NULL, *control = NULL;
    char req[128], ans[1 << 16], out[128];
    uint64_t domid;
    int ret, rc = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--control") && i + 1 < argc)
            control = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            fprintf(stderr, "usage: vgt down NAME [--control PATH]\n");
            return 2;
        }
    }
    if (!name) {
        fprintf(stderr, "usage: vgt down NAME [--control PATH]\n");
        return 2;
    }
    control = vgpu_ctl_path(control);
    ret = vgt_run((char *[]){"xl", "domid", (char *)name, NULL}, out, sizeof(out));
    out[strcspn(out, "\n")] = 0;
    if (ret || vgt_parse_u64(out, &domid) || domid == 0 || domid >= 0x7ff0) {
        fprintf(stderr, "vgt down: xl domid %s: no such domain\n", name);
        return 1;
    }
    snprintf(req, sizeof(req), "{\"cmd\":\"remove\",\"domid\":%" PRIu64 "}", domid);
    ret = vgpu_ctl_request(control, req, ans, sizeof(ans));
    if (ret) {
        fprintf(stderr, "vgt down: no vgtd on %s (%s): destroying the domain anyway\n", control,
                strerror(-ret));
        rc = 1;
    } else if (!vgpu_ctl_ok(ans)) {
        fprintf(stderr, "vgt down: vgtd: %s\n", ans);
        rc = 1;
    } else if (!vgpu_ctl_request(control, "{\"cmd\":\"list\"}", ans, sizeof(ans)) &&
               strstr(ans, "\"vgpus\":[]")) {
        vgpu_ctl_request(control, "{\"cmd\":\"stop\"}", ans, sizeof(ans));
    }
    ret = vgt_run((char *[]){"xl", "destroy", (char *)name, NULL}, NULL, 0);
    if (ret) {
        fprintf(stderr, "vgt down: xl destroy %s failed\n", name);
        return 1;
    }
    printf("vgt down: %s (domain %" PRIu64 ") stopped\n", name, domid);
    return rc;
}


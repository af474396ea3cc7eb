/* vgt set and vgt reset: live changes to a running vgtd.
 *   vgt set DOMID [weight=N] [cap=P] [--control PATH]
 *       the scheduler weight (1..1000) and GPU time cap per engine
 *       (0 or "none": no cap, else 1..100 %), without a restart
 *   vgt reset DOMID [--control PATH]
 *       device-model reset of the vGPU: the admin way out of failsafe */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/util.h"
#include "vgt_cmds.h"

#include "vgpu_client.h"

static int parse_domid(const char *cmd, const char *s, unsigned *domid)
{
    uint64_t n;

    if (vgt_parse_u64(s, &n) || n == 0 || n >= 0x7ff0) {
        fprintf(stderr, "vgt %s: '%s' is not a guest domain id (1..32751)\n", cmd, s);
        return -EINVAL;
    }
    *domid = (unsigned)n;
    return 0;
}

/* The request, its answer in @ans; 0 when ok, else the error printed. */
static int request(const char *cmd, const char *control, const char *req, char *ans, size_t len)
{
    struct vgt_ctl_msg m;
    int ret;

    control = vgpu_ctl_path(control);
    ret = vgpu_ctl_request(control, req, ans, len);
    if (ret) {
        fprintf(stderr, "vgt %s: no vgtd answers on %s: %s\n", cmd, control, strerror(-ret));
        return 1;
    }
    if (!vgpu_ctl_ok(ans)) {
        if (!vgt_ctl_parse(ans, strlen(ans), &m, NULL) && vgt_ctl_str(&m, "error"))
            fprintf(stderr, "vgt %s: %s\n", cmd, vgt_ctl_str(&m, "error"));
        else
            fprintf(stderr, "vgt %s: %s\n", cmd, ans);
        return 1;
    }
    return 0;
}

int vgt_cmd_set(int argc, char **argv)
{
    const char *control = NULL;
    char req[160], ans[8192];
    struct vgt_ctl_msg m;
    unsigned domid = 0;
    bool have_domid = false, have_w = false, have_c = false;
    uint64_t weight = 0, cap = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--control") && i + 1 < argc) {
            control = argv[++i];
        } else if (!strcmp(a, "--help")) {
            printf("usage: vgt set DOMID [weight=1..1000] [cap=0..100|none] [--control PATH]\n");
            return 0;
        } else if (!strncmp(a, "weight=", 7)) {
            if (vgt_parse_u64(a + 7, &weight) || weight == 0 || weight > 1000) {
                fprintf(stderr, "vgt set: weight '%s': must be 1..1000\n", a + 7);
                return 2;
            }
            have_w = true;
        } else if (!strncmp(a, "cap=", 4)) {
            char num[16];
            size_t l = strlen(a + 4);

            /* "50", "50%" or "none" (= 0, no cap); a longer value would be
             * cut by the copy and read as another number. */
            snprintf(num, sizeof(num), "%s", a + 4);
            if (l && l < sizeof(num) && num[l - 1] == '%')
                num[l - 1] = 0;
            if (l >= sizeof(num)) {
                fprintf(stderr, "vgt set: cap '%s': must be 0 (no cap) ..100 %% or none\n", a + 4);
                return 2;
            }
            if (!strcmp(num, "none"))
                cap = 0;
            else if (vgt_parse_u64(num, &cap) || cap > 100) {
                fprintf(stderr, "vgt set: cap '%s': must be 0 (no cap) ..100 %% or none\n", a + 4);
                return 2;
            }
            have_c = true;
        } else if (!have_domid && a[0] != '-' && !strchr(a, '=')) {
            if (parse_domid("set", a, &domid))
                return 2;
            have_domid = true;
        } else {
            fprintf(stderr, "vgt set: unexpected '%s' (vgt set DOMID weight=N cap=P)\n", a);
            return 2;
        }
    }
    if (!have_domid || (!have_w && !have_c)) {
        fprintf(stderr, "usage: vgt set DOMID [weight=1..1000] [cap=0..100|none] [--control PATH]\n");
        return 2;
    }
    snprintf(req, sizeof(req), "{\"cmd\":\"set\",\"domid\":%u", domid);
    if (have_w)
        snprintf(req + strlen(req), sizeof(req) - strlen(req), ",\"weight\":%llu",
                 (unsigned long long)weight);
    if (have_c)
        snprintf(req + strlen(req), sizeof(req) - strlen(req), ",\"cap_pct\":%llu",
                 (unsigned long long)cap);
    snprintf(req + strlen(req), sizeof(req) - strlen(req), "}");
    if (request("set", control, req, ans, sizeof(ans)))
        return 1;
    if (vgpu_ctl_object(ans, "vgpu", &m) == 0) {
        unsigned long long c = vgpu_ctl_numf(&m, "cap_pct");

        if (c)
            printf("dom%u: weight %llu, cap %llu %%\n", domid, vgpu_ctl_numf(&m, "weight"), c);
        else
            printf("dom%u: weight %llu, no cap\n", domid, vgpu_ctl_numf(&m, "weight"));
    }
    return 0;
}

int vgt_cmd_reset(int argc, char **argv)
{
    const char *control = NULL;
    char req[96], ans[8192];
    struct vgt_ctl_msg m;
    unsigned domid = 0;
    bool have_domid = false, was_fs = false;
    char reason[VGT_CTL_STR_MAX] = "";

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--control") && i + 1 < argc) {
            control = argv[++i];
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: vgt reset DOMID [--control PATH]\n");
            return 0;
        } else if (!have_domid && argv[i][0] != '-') {
            if (parse_domid("reset", argv[i], &domid))
                return 2;
            have_domid = true;
        } else {
            fprintf(stderr, "vgt reset: unexpected '%s' (vgt reset DOMID)\n", argv[i]);
            return 2;
        }
    }
    if (!have_domid) {
        fprintf(stderr, "usage: vgt reset DOMID [--control PATH]\n");
        return 2;
    }
    snprintf(req, sizeof(req), "{\"cmd\":\"status\",\"domid\":%u}", domid);
    if (request("reset", control, req, ans, sizeof(ans)))
        return 1;
    if (vgpu_ctl_object(ans, "vgpu", &m) == 0) {
        const struct vgt_ctl_field *f = vgt_ctl_get(&m, "failsafe");

        was_fs = f && f->kind == VGT_CTL_BOOL && f->num;
        snprintf(reason, sizeof(reason), "%s", vgpu_ctl_strf(&m, "failsafe_reason"));
    }
    snprintf(req, sizeof(req), "{\"cmd\":\"reset\",\"domid\":%u}", domid);
    if (request("reset", control, req, ans, sizeof(ans)))
        return 1;
    if (was_fs)
        printf("dom%u: vGPU reset, out of failsafe (it was in failsafe: %s)\n", domid, reason);
    else
        printf("dom%u: vGPU reset\n", domid);
    return 0;
}


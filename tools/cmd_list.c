/* vgt list: the vGPUs a running vgtd serves, their state, scheduler
 * accounting and failsafe reason, and how many more of each type fit.
 *   vgt list [--control PATH] [--json] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vgt_cmds.h"

#include "vgpu_client.h"
#include "vgt/vgt_ctl.h"

static unsigned long long num(const struct vgt_ctl_msg *m, const char *k)
{
    uint64_t v = 0;

    vgt_ctl_num(m, k, &v);
    return (unsigned long long)v;
}

static const char *str(const struct vgt_ctl_msg *m, const char *k)
{
    const char *s = vgt_ctl_str(m, k);

    return s ? s : "?";
}

int vgt_cmd_list(int argc, char **argv)
{
    const char *control = NULL;
    char ans[1 << 16];
    struct vgt_ctl_msg m;
    bool json = false;
    char *p, *end, busy[64], heads[32];
    int ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--control") && i + 1 < argc)
            control = argv[++i];
        else {
            fprintf(stderr, "usage: vgt list [--control PATH] [--json]\n");
            return 2;
        }
    }
    control = vgpu_ctl_path(control);
    ret = vgpu_ctl_request(control, "{\"cmd\":\"list\"}", ans, sizeof(ans));
    if (ret) {
        fprintf(stderr, "vgt list: no vgtd answers on %s: %s\n", control, strerror(-ret));
        return 1;
    }
    if (json) {
        printf("%s\n", ans);
        return vgpu_ctl_ok(ans) ? 0 : 1;
    }
    if (!vgpu_ctl_ok(ans)) {
        fprintf(stderr, "vgt list: %s\n", ans);
        return 1;
    }
    printf("%-4s %-6s %-6s %-12s %-10s %-22s %-22s %-7s %-4s %-8s %-27s %-5s %-4s %s\n", "ID", "DOMID",
           "TYPE", "HEADS", "STATE", "LOW GM", "HIGH GM", "FENCES", "WGT", "DONE", "BUSY ms rcs/bcs/vcs/vecs",
           "UNREG", "FS#", "FAILSAFE");
    p = strstr(ans, "\"vgpus\":[");
    for (p = p ? p + 9 : NULL; p && *p == '{'; p = end + 1) {
        end = strchr(p, '}');
        if (!end || vgt_ctl_parse(p, (size_t)(end - p + 1), &m, NULL))
            break;
        /* The scheduler's accounting: weight, workloads completed, busy
         * time per engine, failsafe events. */
        snprintf(busy, sizeof(busy), "%.1f/%.1f/%.1f/%.1f", num(&m, "busy_ns_rcs") / 1e6,
                 num(&m, "busy_ns_bcs") / 1e6, num(&m, "busy_ns_vcs") / 1e6, num(&m, "busy_ns_vecs") / 1e6);
        snprintf(heads, sizeof(heads), "%llux%s", num(&m, "heads"), str(&m, "resolution"));
        printf("%-4llu %-6llu %-6s %-12s %-10s %#010llx +%5llu MiB  %#010llx +%5llu MiB  %2llu..%-3llu %-4llu %-8llu %-27s %-5llu %-4llu %s%s%s\n",
               num(&m, "id"), num(&m, "domid"), str(&m, "type"), heads, str(&m, "state"),
               num(&m, "low_gm_base"), num(&m, "low_gm_size") >> 20, num(&m, "high_gm_base"),
               num(&m, "high_gm_size") >> 20, num(&m, "fence_base"),
               num(&m, "fence_base") + num(&m, "fence_num") - 1, num(&m, "weight"),
               num(&m, "workloads_completed"), busy, num(&m, "unlisted_regs"), num(&m, "failsafe_events"),
               strcmp(str(&m, "failsafe_reason"), "none") ? str(&m, "failsafe_reason") : "-",
               *str(&m, "failsafe_detail") ? ": " : "", vgt_ctl_str(&m, "failsafe_detail") ? str(&m, "failsafe_detail") : "");
        /* the VNC address of each head, when vgtd serves them */
        if (vgt_ctl_str(&m, "vnc_head0"))
            printf("     vnc: head0 %s  head1 %s  head2 %s  (at most %llu fps)\n", str(&m, "vnc_head0"),
                   str(&m, "vnc_head1"), str(&m, "vnc_head2"), num(&m, "vnc_fps"));
        if (end[1] != ',')
            break;
        end++;
    }
    p = strstr(ans, "\"avail\":{");
    if (p && (end = strchr(p, '}')) && !vgt_ctl_parse(p + 8, (size_t)(end - p - 7), &m, NULL)) {
        printf("room for:");
        for (unsigned i = 0; i < m.n; i++)
            printf(" %s x%llu", m.f[i].key, (unsigned long long)m.f[i].num);
        printf("\n");
    }
    return 0;
}


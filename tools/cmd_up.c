/* vgt up FILE.cfg: start a guest whose xl config says vgt=1.
 *
 * Upstream xl knows nothing of the vgt keys and cannot start a second
 * emulator, so: xl create -p FILE; ask the running vgtd for a vGPU for the
 * new domain with the config's vgt keys (or start vgtd with them when none
 * answers); wait until the vGPU is attached; xl unpause. Any failure
 * destroys the half-made domain and says why. `xl` is looked up on PATH
 * (tests put a stand-in script there).
 *
 *   vgt up FILE.cfg [--control PATH] [--vgtd PATH] [--sim] */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vgt_cmds.h"

#include "vgpu_client.h"
#include "vgt/util.h"
#include "vgt/vgt_ctl.h"
#include "vgt_xl.h"

static int read_cfg(const char *path, struct vgt_xl_keys *k)
{
    char err[160], *buf;
    struct stat st;
    FILE *f = fopen(path, "r");
    long n;
    int ret;

    if (!f) {
        fprintf(stderr, "vgt up: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        fprintf(stderr, "vgt up: %s: is a directory, not an xl config\n", path);
        return -EISDIR;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (1 << 20) || !(buf = malloc((size_t)n + 1)) ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        fprintf(stderr, "vgt up: %s: unreadable or too large\n", path);
        return -EIO;
    }
    fclose(f);
    ret = vgt_xl_parse(buf, (size_t)n, k, err, sizeof(err));
    free(buf);
    if (ret)
        fprintf(stderr, "vgt up: %s: %s\n", path, err);
    return ret;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* vgtd beside this vgt binary, else on PATH. */
static const char *find_vgtd(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 8);
    char *slash;

    if (n > 0) {
        buf[n] = 0;
        slash = strrchr(buf, '/');
        if (slash) {
            strcpy(slash + 1, "vgtd");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "vgtd";
}

static int start_vgtd(const char *vgtd, const char *control, bool sim, const char *gpu,
                      unsigned domid, const struct vgt_xl_keys *k, pid_t *child)
{
    char dom[16], low[32], high[32], fen[32], ram[32], heads[40], res[48];
    char *argv[16];
    int n = 0;
    pid_t pid;

    snprintf(dom, sizeof(dom), "%u", domid);
    argv[n++] = (char *)vgtd;
    argv[n++] = "--domid";
    argv[n++] = dom;
    argv[n++] = "--control";
    argv[n++] = (char *)control;
    if (sim)
        argv[n++] = "--sim";
    if (gpu) { /* --gpu sim: the simulated GPU behind a real Xen guest */
        argv[n++] = "--gpu";
        argv[n++] = (char *)gpu;
    }
    if (k->have_low || k->have_high || k->have_fence) {
        snprintf(low, sizeof(low), "vgt_low_gm_sz=%" PRIu64, k->low_mb);
        snprintf(high, sizeof(high), "vgt_high_gm_sz=%" PRIu64, k->high_mb);
        snprintf(fen, sizeof(fen), "vgt_fence_sz=%" PRIu64, k->have_fence ? k->fences : 4);
        argv[n++] = low;
        argv[n++] = high;
        argv[n++] = fen;
    }
    if (sim && k->have_memory) {
        snprintf(ram, sizeof(ram), "--ram-mb=%" PRIu64, k->memory_mb);
        argv[n++] = ram;
    }
    if (k->have_heads) {
        snprintf(heads, sizeof(heads), "vgt_max_heads=%" PRIu64, k->heads);
        argv[n++] = heads;
    }
    if (k->have_res) {
        snprintf(res, sizeof(res), "vgt_resolution=%ux%u", k->res_w, k->res_h);
        argv[n++] = res;
    }
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* Detached: it outlives this command. */
        char logpath[4200];

        setsid();
        /* Its log goes beside the control socket (CONTROL.log), fresh
         * for each vgtd: a previous run's lines would read as this one's.
         * stderr shares stdout's open file, so their lines interleave. */
        snprintf(logpath, sizeof(logpath), "%s.log", control);
        if (!freopen("/dev/null", "r", stdin) || !freopen(logpath, "w", stdout) ||
            dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    *child = pid;
    return 0;
}

int vgt_cmd_up(int argc, char **argv)
{
    const char *cfg = NULL, *control = NULL, *vgtd = NULL, *gpu = NULL;
    char req[384], ans[4096], out[256], exe[PATH_MAX];
    struct vgt_xl_keys k;
    bool sim = getenv("VGT_SIM") != NULL, started = false;
    pid_t child = -1;
    uint64_t domid = 0; /* 0: no vGPU was asked for yet */
    int ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--control") && i + 1 < argc)
            control = argv[++i];
        else if (!strcmp(argv[i], "--vgtd") && i + 1 < argc)
            vgtd = argv[++i];
        else if (!strcmp(argv[i], "--sim"))
            sim = true;
        else if (!strcmp(argv[i], "--gpu") && i + 1 < argc)
            gpu = argv[++i];
        else if (argv[i][0] != '-' && !cfg)
            cfg = argv[i];
        else {
            fprintf(stderr, "usage: vgt up FILE.cfg [--control PATH] [--vgtd PATH] [--sim] [--gpu sim]\n");
            return 2;
        }
    }
    if (!cfg) {
        fprintf(stderr, "usage: vgt up FILE.cfg [--control PATH] [--vgtd PATH] [--sim]\n");
        return 2;
    }
    control = vgpu_ctl_path(control);
    if (read_cfg(cfg, &k))
        return 1;
    if (!k.vgt) {
        fprintf(stderr, "vgt up: %s does not say vgt=1: start it with xl create\n", cfg);
        return 1;
    }
    if (!k.name[0]) {
        fprintf(stderr, "vgt up: %s has no name = \"...\"\n", cfg);
        return 1;
    }
    if ((k.have_low || k.have_high) && !(k.have_low && k.have_high)) {
        fprintf(stderr, "vgt up: %s: give both vgt_low_gm_sz and vgt_high_gm_sz\n", cfg);
        return 1;
    }

    ret = vgt_run((char *[]){"xl", "create", "-p", (char *)cfg, NULL}, NULL, 0);
    if (ret) {
        fprintf(stderr, "vgt up: xl create -p %s failed (%s)\n", cfg,
                ret < 0 ? strerror(-ret) : "non-zero exit");
        return 1;
    }
    ret = vgt_run((char *[]){"xl", "domid", k.name, NULL}, out, sizeof(out));
    out[strcspn(out, "\n")] = 0;
    if (ret || vgt_parse_u64(out, &domid) || domid == 0 || domid >= 0x7ff0) {
        fprintf(stderr, "vgt up: xl domid %s: no domain id (got '%s')\n", k.name, out);
        goto destroy;
    }
    {
        char sizes[128] = "", ram[48] = "", disp[80] = "";

        if (k.have_low)
            snprintf(sizes, sizeof(sizes),
                     ",\"vgt_low_gm_sz\":%" PRIu64 ",\"vgt_high_gm_sz\":%" PRIu64
                     ",\"vgt_fence_sz\":%" PRIu64,
                     k.low_mb, k.high_mb, k.have_fence ? k.fences : 4);
        else
            snprintf(sizes, sizeof(sizes), ",\"type\":\"V5_4\"");
        if (sim && k.have_memory)
            snprintf(ram, sizeof(ram), ",\"ram_mb\":%" PRIu64, k.memory_mb);
        /* A custom vGPU's monitors (docs/display.md). */
        if (k.have_heads)
            snprintf(disp, sizeof(disp), ",\"max_heads\":%" PRIu64, k.heads);
        if (k.have_res)
            snprintf(disp + strlen(disp), sizeof(disp) - strlen(disp), ",\"resolution\":\"%ux%u\"",
                     k.res_w, k.res_h);
        snprintf(req, sizeof(req), "{\"cmd\":\"add\",\"domid\":%" PRIu64 "%s%s%s}", domid, sizes, ram,
                 disp);
    }
    ret = vgpu_ctl_request(control, req, ans, sizeof(ans));
    if (ret == -ENOENT || ret == -ECONNREFUSED) {
        /* No vgtd yet: start one with this domain's vGPU. */
        if (!vgtd)
            vgtd = find_vgtd(exe, sizeof(exe));
        ret = start_vgtd(vgtd, control, sim, gpu, (unsigned)domid, &k, &child);
        if (ret) {
            fprintf(stderr, "vgt up: starting %s: %s\n", vgtd, strerror(-ret));
            goto destroy;
        }
        started = true;
    } else if (ret) {
        fprintf(stderr, "vgt up: vgtd on %s: %s\n", control, strerror(-ret));
        goto destroy;
    } else if (!vgpu_ctl_ok(ans)) {
        fprintf(stderr, "vgt up: vgtd refused the vGPU: %s\n", ans);
        goto destroy;
    }
    /* Wait until the vGPU is attached (up to 15 s for a fresh vgtd). */
    snprintf(req, sizeof(req), "{\"cmd\":\"status\",\"domid\":%" PRIu64 "}", domid);
    for (unsigned t = 0;; t += 100) {
        ret = vgpu_ctl_request(control, req, ans, sizeof(ans));
        if (!ret && vgpu_ctl_ok(ans) && !strstr(ans, "\"state\":\"created\""))
            break;
        if (started && child > 0 && waitpid(child, NULL, WNOHANG) == child) {
            fprintf(stderr, "vgt up: %s exited before the vGPU of domain %" PRIu64 " attached\n",
                    vgtd, domid);
            goto destroy;
        }
        if (t >= 15000 || (!ret && !started)) {
            fprintf(stderr, "vgt up: the vGPU of domain %" PRIu64 " did not attach: %s\n", domid,
                    ret ? strerror(-ret) : ans);
            goto destroy;
        }
        sleep_ms(100);
    }
    ret = vgt_run((char *[]){"xl", "unpause", k.name, NULL}, NULL, 0);
    if (ret) {
        fprintf(stderr, "vgt up: xl unpause %s failed\n", k.name);
        goto destroy;
    }
    printf("vgt up: %s (domain %" PRIu64 ") running with its vGPU\n", k.name, domid);
    return 0;

destroy:
    if (domid) {
        snprintf(req, sizeof(req), "{\"cmd\":\"remove\",\"domid\":%" PRIu64 "}", domid);
        vgpu_ctl_request(control, req, ans, sizeof(ans));
    }
    vgt_run((char *[]){"xl", "destroy", k.name, NULL}, NULL, 0);
    fprintf(stderr, "vgt up: domain %s destroyed\n", k.name);
    return 1;
}


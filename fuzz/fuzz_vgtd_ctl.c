/* Fuzz vgtd's control-socket request handling after the JSON parse: each
 * input line goes to vgtd_vgpu_request(), the function the socket calls
 * per line, on a vgtd serving the simulated GPU (built once per process,
 * with one vGPU for domain 1). Commands that change state (add, set,
 * reset, remove, kill-domain, failsafe, guest-run) run for real.
 *
 * Input: up to 8 request lines. Lines that only make an input slow are not
 * sent: a guest-run of more than 8 iterations, an add without "ram_mb" or
 * with more than 8 (the simulated guest's RAM is cleared at creation: 64
 * MiB by default).
 * Invariants: no crash, no sanitizer report; every line gets exactly one
 * answer, a JSON object on one line ({"ok":...}); an answer that is not
 * ok says why ("error"). After each input the host is put back: vGPUs the
 * input added are removed, domain 1's vGPU gets its share back (and is
 * added back if the input removed it, reset if it is in failsafe or its
 * guest driver ran: a reset costs ~15 ms under ASan, so not every time). VGT_FUZZ_FRESH=1 builds the
 * daemon anew for every input (fuzz_fresh.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fresh.h"
#include "vgpu_host.h"
#include "vgt/vgt_ctl.h"
#include "vgtd_vgpu.h"

#define MAX_LINES 8
#define MAX_RUN_ITERATIONS 8
#define MAX_ADD_RAM_MB 8
#define BASE_DOMID 1

struct vgtd_fuzz {
    struct vgt_log log;
    struct vgpu_host *host;
    struct vgtd_vgpu *d;
    unsigned weight, cap_pct; /* domain 1's share when added */
};

static void add_base(struct vgtd_fuzz *f)
{
    /* A small custom slice: a reset rewrites every GGTT entry of it. */
    struct vgpu_add_req req = {.domid = BASE_DOMID, .low_gm_mb = 8, .high_gm_mb = 8, .fences = 2,
                               .sim_ram = 8ull << 20};
    struct vgt_submit_stats st;
    char err[256];

    if (vgpu_host_add(f->host, &req, err, sizeof(err)) ||
        vgpu_host_stats(f->host, BASE_DOMID, &st))
        abort(); /* harness set-up, not fuzz input */
    f->weight = st.sched.weight;
    f->cap_pct = st.sched.cap_pct;
}

static struct vgtd_fuzz *fuzz_vgtd(void)
{
    static struct vgtd_fuzz f;
    struct vgpu_host_cfg hc = {.sim = true, .log = &f.log, .sim_arena_bytes = 512ull << 20};

    if (f.host)
        return &f;
    vgt_log_init(&f.log, "fuzz_vgtd_ctl", VGT_LOG_OFF); /* guest/user errors are expected */
    if (vgpu_host_create(&hc, &f.host) || vgtd_vgpu_ctl_create(f.host, true, &f.d))
        abort();
    add_base(&f);
    return &f;
}

static void fuzz_vgtd_free(struct vgtd_fuzz *f)
{
    vgtd_vgpu_ctl_destroy(f->d);
    vgpu_host_destroy(f->host);
    memset(f, 0, sizeof(*f));
}

/* Bounded work: a guest-run of many iterations is slow, not wrong.
 * *mutates: the command may change the host (not a read-only one). */
static bool line_wanted(const char *line, size_t len, bool *mutates, bool *ran)
{
    static const char *const ro[] = {"list", "stats", "inventory", "status"};
    struct vgt_ctl_msg m;
    const char *why, *cmd;
    uint64_t n;

    *mutates = false;
    if (vgt_ctl_parse(line, len, &m, &why) || !(cmd = vgt_ctl_str(&m, "cmd")))
        return true;
    *mutates = true;
    for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
        if (!strcmp(cmd, ro[i]))
            *mutates = false;
    if (!strcmp(cmd, "add"))
        return !vgt_ctl_num(&m, "ram_mb", &n) && n <= MAX_ADD_RAM_MB;
    if (strcmp(cmd, "guest-run"))
        return true;
    *ran = true;
    if (!vgt_ctl_get(&m, "iterations"))
        return true;
    return !vgt_ctl_num(&m, "iterations", &n) && n <= MAX_RUN_ITERATIONS;
}

/* Exactly one line, a JSON object: {"ok":true...} or {"ok":false,"error":"..."}. */
static void check_answer(const char *a, size_t len)
{
    if (len < 2 || a[len - 1] != '\n' || memchr(a, '\n', len - 1))
        abort();
    if (!strncmp(a, "{\"ok\":true", 10))
        ;
    else if (strncmp(a, "{\"ok\":false,\"error\":\"", 21))
        abort();
    if (a[len - 2] != '}')
        abort();
    for (size_t i = 0; i < len - 1; i++)
        if ((unsigned char)a[i] < 0x20)
            abort(); /* a control character from the request leaked */
}

static void put_back(struct vgtd_fuzz *f, bool ran)
{
    struct vgt_vgpu *vs[64];
    unsigned n = vgt_gpu_list(vgpu_host_gpu(f->host), vs, 64);
    struct vgt_vgpu_info i;
    char err[256];

    for (unsigned k = 0; k < n; k++) {
        vgt_vgpu_get_info(vs[k], &i);
        if (i.domid != BASE_DOMID)
            vgpu_host_remove(f->host, i.domid);
    }
    vgpu_host_reap(f->host);
    if (!vgpu_host_vgpu(f->host, BASE_DOMID)) {
        add_base(f);
        return;
    }
    vgt_vgpu_get_info(vgpu_host_vgpu(f->host, BASE_DOMID), &i);
    if ((ran || i.failsafe) && vgpu_host_reset(f->host, BASE_DOMID))
        abort();
    if (vgpu_host_set_share(f->host, BASE_DOMID, f->weight, f->cap_pct, err, sizeof(err)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vgtd_fuzz *f = fuzz_vgtd();
    const char *p = (const char *)data, *end = p + size;
    bool changed = false, ran = false;
    unsigned lines = 0;

    while (p < end && lines < MAX_LINES) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *ans = NULL;
        size_t alen = 0;
        bool mutates;
        FILE *o;

        lines++;
        if (len < 4096 && line_wanted(p, len, &mutates, &ran)) {
            o = open_memstream(&ans, &alen);
            if (!o)
                abort();
            vgtd_vgpu_request(f->d, p, len, o);
            fclose(o);
            check_answer(ans, alen);
            changed |= mutates;
            free(ans);
        }
        p += len + 1;
    }
    if (fuzz_fresh())
        fuzz_vgtd_free(f);
    else if (changed)
        put_back(f, ran);
    return 0;
}

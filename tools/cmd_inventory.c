/* vgt inventory: what this host offers, per physical GPU (one vgtd each):
 * the vGPU types, total and available instances per type, the current
 * shares. For fleet schedulers (docs/fleet.md):
 *   vgt inventory [--control PATH]... [--json | --format text|json|xapi|placement]
 *                 [--type T] [--name PROVIDER]
 *   --format xapi       lines of XAPI's /etc/gvt-g-whitelist
 *   --format placement  an OpenStack Nova provider config (YAML) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vgt/util.h"
#include "vgt_cmds.h"

#include "vgpu_client.h"

#define MAX_GPUS 16
#define MAX_TYPES 8
#define ANS_MAX (1 << 16)

/* The resource class Nova's provider config may add: its loader
 * (nova/compute/provider_config.py) accepts custom classes only, so the
 * standard VGPU class cannot be declared there. */
#define PLACEMENT_RC "CUSTOM_VGPU"

struct inv_type {
    char name[16];
    unsigned low_mb, high_mb, fences, weight, total, available, in_use;
    unsigned heads, res_w, res_h;
};

struct inv_share {
    unsigned domid, weight, cap, share;
    char type[16];
    bool failsafe;
};

struct inv_gpu {
    const char *control;
    char *ans; /* the daemon's answer (JSON) */
    char sbdf[16];
    unsigned vendor, device, vgpus;
    unsigned ntypes, nshares;
    struct inv_type t[MAX_TYPES];
    struct inv_share sh[64];
};

static int add_type(void *opaque, const struct vgt_ctl_msg *m)
{
    struct inv_gpu *g = opaque;
    struct inv_type *t;

    if (g->ntypes == MAX_TYPES)
        return 1;
    t = &g->t[g->ntypes++];
    snprintf(t->name, sizeof(t->name), "%s", vgpu_ctl_strf(m, "name"));
    t->low_mb = (unsigned)vgpu_ctl_numf(m, "low_gm_mb");
    t->high_mb = (unsigned)vgpu_ctl_numf(m, "high_gm_mb");
    t->fences = (unsigned)vgpu_ctl_numf(m, "fences");
    t->weight = (unsigned)vgpu_ctl_numf(m, "weight");
    t->total = (unsigned)vgpu_ctl_numf(m, "total");
    t->available = (unsigned)vgpu_ctl_numf(m, "available");
    t->in_use = (unsigned)vgpu_ctl_numf(m, "in_use");
    t->heads = (unsigned)vgpu_ctl_numf(m, "max_heads");
    t->res_w = (unsigned)vgpu_ctl_numf(m, "res_w");
    t->res_h = (unsigned)vgpu_ctl_numf(m, "res_h");
    return 0;
}

static int add_share(void *opaque, const struct vgt_ctl_msg *m)
{
    struct inv_gpu *g = opaque;
    struct inv_share *s;
    const struct vgt_ctl_field *f;

    if (g->nshares == VGT_ARRAY_SIZE(g->sh))
        return 1;
    s = &g->sh[g->nshares++];
    s->domid = (unsigned)vgpu_ctl_numf(m, "domid");
    s->weight = (unsigned)vgpu_ctl_numf(m, "weight");
    s->cap = (unsigned)vgpu_ctl_numf(m, "cap_pct");
    s->share = (unsigned)vgpu_ctl_numf(m, "share_permille");
    snprintf(s->type, sizeof(s->type), "%s", vgpu_ctl_strf(m, "type"));
    f = vgt_ctl_get(m, "failsafe");
    s->failsafe = f && f->kind == VGT_CTL_BOOL && f->num;
    return 0;
}

static int query(struct inv_gpu *g)
{
    struct vgt_ctl_msg m;
    int ret;

    g->ans = malloc(ANS_MAX);
    if (!g->ans)
        return -ENOMEM;
    ret = vgpu_ctl_request(g->control, "{\"cmd\":\"inventory\"}", g->ans, ANS_MAX);
    if (ret) {
        fprintf(stderr, "vgt inventory: no vgtd answers on %s: %s\n", g->control, strerror(-ret));
        return ret;
    }
    if (!vgpu_ctl_ok(g->ans) || vgpu_ctl_object(g->ans, "gpu", &m) ||
        vgpu_ctl_objects(g->ans, "types", add_type, g) < 0 ||
        vgpu_ctl_objects(g->ans, "shares", add_share, g) < 0) {
        fprintf(stderr, "vgt inventory: %s: unexpected answer: %.200s\n", g->control, g->ans);
        return -EPROTO;
    }
    snprintf(g->sbdf, sizeof(g->sbdf), "%s", vgpu_ctl_strf(&m, "sbdf"));
    g->vendor = (unsigned)vgpu_ctl_numf(&m, "vendor");
    g->device = (unsigned)vgpu_ctl_numf(&m, "device");
    g->vgpus = (unsigned)vgpu_ctl_numf(&m, "vgpus");
    return 0;
}

static void print_text(const struct inv_gpu *g, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        printf("GPU %s (%04x:%04x), %u vGPUs, control %s\n", g[i].sbdf, g[i].vendor, g[i].device,
               g[i].vgpus, g[i].control);
        printf("  %-6s %8s %9s %6s %6s %5s %5s %6s\n", "TYPE", "LOW MiB", "HIGH MiB", "FENCES",
               "WEIGHT", "TOTAL", "AVAIL", "IN USE");
        for (unsigned k = 0; k < g[i].ntypes; k++) {
            const struct inv_type *t = &g[i].t[k];

            printf("  %-6s %8u %9u %6u %6u %5u %5u %6u\n", t->name, t->low_mb, t->high_mb,
                   t->fences, t->weight, t->total, t->available, t->in_use);
        }
        if (g[i].nshares)
            printf("  %-6s %-6s %6s %5s %6s\n", "DOMID", "TYPE", "WEIGHT", "CAP", "SHARE");
        for (unsigned k = 0; k < g[i].nshares; k++) {
            const struct inv_share *s = &g[i].sh[k];
            char cap[8];

            snprintf(cap, sizeof(cap), s->cap ? "%u%%" : "-", s->cap);
            printf("  %-6u %-6s %6u %5s %5.1f%%%s\n", s->domid, s->type, s->weight, cap,
                   s->share / 10.0, s->failsafe ? "  (failsafe)" : "");
        }
    }
}

/* XAPI's whitelist line, as Vendor_intel.read_whitelist_line scans it
 * (xen-api ocaml/xapi/xapi_vgpu_type.ml): "%04x experimental=%c
 * name='%s@' low_gm_sz=%Ld high_gm_sz=%Ld fence_sz=%Ld framebuffer_sz=%Ld
 * max_heads=%Ld resolution=%Ldx%Ld"; the device id is the physical GPU's,
 * the sizes are MiB (they become the vgt_low_gm_sz/vgt_high_gm_sz/
 * vgt_fence_sz keys of the domain), and the name ends at the first quote.
 * The framebuffer lives in mappable memory: framebuffer_sz is the low GM.
 * Types this GPU cannot hold even empty are left out; one set of lines
 * per device id, as the whitelist is keyed by it. */
static void print_xapi(const struct inv_gpu *g, unsigned n)
{
    /* No comment line: XAPI logs every line it cannot scan as an error. */
    for (unsigned i = 0; i < n; i++) {
        bool dup = false;

        for (unsigned j = 0; j < i; j++)
            dup |= g[j].device == g[i].device;
        if (dup)
            continue;
        for (unsigned k = 0; k < g[i].ntypes; k++) {
            const struct inv_type *t = &g[i].t[k];

            if (!t->total)
                continue;
            /* Heads and resolution: what the vGPU's monitors present
             * (docs/display.md). */
            printf("%04x experimental=0 name='vgt %s' low_gm_sz=%u high_gm_sz=%u fence_sz=%u "
                   "framebuffer_sz=%u max_heads=%u resolution=%ux%u\n",
                   g[i].device, t->name, t->low_mb, t->high_mb, t->fences, t->low_mb, t->heads,
                   t->res_w, t->res_h);
        }
    }
}

/* Nova's provider config (schema 1.0, nova/compute/provider_config.py):
 * it amends a provider nova-compute already manages, the compute node
 * by default, with custom inventory and traits. Every GPU's instances of
 * @type add up on it; reserved is the room of that type other types
 * already took (vGPUs of @type are Nova's own allocations). */
static int print_placement(const struct inv_gpu *g, unsigned n, const char *type, const char *name)
{
    unsigned total = 0, reserved = 0;
    bool known = false;

    for (unsigned i = 0; i < n; i++)
        for (unsigned k = 0; k < g[i].ntypes; k++) {
            const struct inv_type *t = &g[i].t[k];

            if (strcmp(t->name, type))
                continue;
            known = true;
            total += t->total;
            if (t->total > t->available + t->in_use)
                reserved += t->total - t->available - t->in_use;
        }
    if (!known) {
        fprintf(stderr, "vgt inventory: --type %s: not a vGPU type of this host (V5_1, V5_2, V5_4, V5_8)\n",
                type);
        return 2;
    }
    if (!total) {
        fprintf(stderr, "vgt inventory: no GPU of this host can hold a %s vGPU\n", type);
        return 1;
    }
    printf("# vgt inventory --format placement: Nova provider config for\n"
           "# [compute]provider_config_location (flavor: resources:%s=1,\n"
           "# trait:CUSTOM_VGT_%s=required)\n",
           PLACEMENT_RC, type);
    printf("meta:\n  schema_version: '1.0'\nproviders:\n  - identification:\n");
    if (!strcmp(name, "$COMPUTE_NODE"))
        printf("      uuid: '$COMPUTE_NODE'\n");
    else
        printf("      name: '%s'\n", name);
    printf("    inventories:\n      additional:\n        - %s:\n"
           "            total: %u\n            reserved: %u\n            min_unit: 1\n"
           "            max_unit: 1\n            step_size: 1\n            allocation_ratio: 1.0\n",
           PLACEMENT_RC, total, reserved);
    printf("    traits:\n      additional:\n        - 'CUSTOM_VGT_%s'\n", type);
    return 0;
}

static bool name_ok(const char *s)
{
    size_t l = strlen(s);

    /* Quoted in YAML single quotes: no quote, printable, Nova's 1..200. */
    if (l == 0 || l > 200)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '\'' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static int usage(FILE *o, int rc)
{
    fprintf(o, "usage: vgt inventory [--control PATH]... [--json | --format text|json|xapi|placement]\n"
               "                     [--type T] [--name PROVIDER]\n"
               "  --control PATH  a vgtd control socket; repeat for each GPU's vgtd\n"
               "  --type T        placement: the type offered to Nova (default V5_4)\n"
               "  --name NAME     placement: the provider to amend (default this host's name;\n"
               "                  '$COMPUTE_NODE' for every compute node)\n");
    return rc;
}

int vgt_cmd_inventory(int argc, char **argv)
{
    struct inv_gpu *g = calloc(MAX_GPUS, sizeof(*g));
    const char *format = "text", *type = "V5_4", *name = NULL;
    char host[256];
    unsigned n = 0;
    int rc = 1;

    if (!g)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            format = "json";
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            format = argv[++i];
        } else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
            type = argv[++i];
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
            if (n == MAX_GPUS) {
                fprintf(stderr, "vgt inventory: at most %u --control sockets\n", MAX_GPUS);
                rc = 2;
                goto free_gpus;
            }
            g[n++].control = argv[++i];
        } else if (!strcmp(argv[i], "--help")) {
            rc = usage(stdout, 0);
            goto free_gpus;
        } else {
            rc = usage(stderr, 2);
            goto free_gpus;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "xapi") &&
        strcmp(format, "placement")) {
        fprintf(stderr, "vgt inventory: --format '%s': give text, json, xapi or placement\n", format);
        rc = 2;
        goto free_gpus;
    }
    if (!name) {
        if (gethostname(host, sizeof(host)))
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = 0;
        name = host;
    }
    if (!name_ok(name)) {
        fprintf(stderr, "vgt inventory: --name '%s': 1..200 printable characters, no quote\n", name);
        rc = 2;
        goto free_gpus;
    }
    if (!n)
        g[n++].control = vgpu_ctl_path(NULL);
    for (unsigned i = 0; i < n; i++)
        if (query(&g[i]))
            goto free_gpus;
    rc = 0;
    if (!strcmp(format, "json")) {
        printf("{\"gpus\":[");
        for (unsigned i = 0; i < n; i++)
            printf("%s%s", i ? "," : "", g[i].ans);
        printf("]}\n");
    } else if (!strcmp(format, "xapi")) {
        print_xapi(g, n);
    } else if (!strcmp(format, "placement")) {
        rc = print_placement(g, n, type, name);
    } else {
        print_text(g, n);
    }
free_gpus:
    for (unsigned i = 0; i < MAX_GPUS; i++)
        free(g[i].ans);
    free(g);
    return rc;
}


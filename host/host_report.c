/* vgtd's reports from a host snapshot (see host_report.h). */
#include "host_report.h"

#include <inttypes.h>
#include <string.h>

#include "vgt/util.h"

const char *const host_report_engines[VGT_ENGINE_NUM] = {"rcs", "bcs", "vcs", "vecs"};

static void sbdf_str(uint32_t sbdf, char *buf, size_t len)
{
    snprintf(buf, len, "%04x:%02x:%02x.%x", sbdf >> 16, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f,
             sbdf & 7);
}

/* Strings in the answers come from vgt's own tables and the failsafe
 * detail (which may quote guest values): keep them printable, unquoted. */
static void put_str(FILE *o, const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f && *s != '"' && *s != '\\')
            fputc(*s, o);
}

static uint64_t weight_sum(const struct vgpu_host_snap *s)
{
    uint64_t w = 0;

    for (unsigned i = 0; i < s->n; i++)
        w += s->v[i].sub.sched.weight;
    return w;
}

/* Nominal share of the GPU's time per engine, weight / sum of weights,
 * in tenths of a percent (the scheduler's proportional split when every
 * vGPU is busy; a cap lowers it). */
static unsigned share_permille(const struct vgpu_host_snap *s, const struct vgpu_host_vgpu_snap *v)
{
    uint64_t w = weight_sum(s), p;

    if (!w)
        return 0;
    p = (uint64_t)v->sub.sched.weight * 1000 / w;
    if (v->sub.sched.cap_pct && p > v->sub.sched.cap_pct * 10u)
        p = v->sub.sched.cap_pct * 10u;
    return (unsigned)p;
}

void host_report_stats_json(const struct vgpu_host_snap *s, FILE *o)
{
    char gpu[16];

    sbdf_str(s->gpu_sbdf, gpu, sizeof(gpu));
    fprintf(o, "{\"ok\":true,\"time_ns\":%" PRIu64 ",\"gpu\":\"%s\",\"vgpus\":[", s->time_ns, gpu);
    for (unsigned i = 0; i < s->n; i++) {
        const struct vgpu_host_vgpu_snap *v = &s->v[i];
        const struct vgt_sched_stats *sc = &v->sub.sched;

        fprintf(o, "%s{\"id\":%u,\"domid\":%u,\"type\":\"", i ? "," : "", v->info.id,
                v->info.domid);
        put_str(o, v->info.type);
        fprintf(o,
                "\",\"state\":\"%s\",\"failsafe\":%s,\"weight\":%u,\"cap_pct\":%u,"
                "\"share_permille\":%u,\"submitted\":%" PRIu64 ",\"refused\":%" PRIu64
                ",\"failsafe_events\":%" PRIu64 ",\"ioreq_served\":%" PRIu64
                ",\"ioreq_lat_sum_ns\":%" PRIu64 ",\"shadow_pages\":%" PRIu64,
                vgt_vgpu_state_name(&v->info), v->info.failsafe ? "true" : "false", sc->weight,
                sc->cap_pct, share_permille(s, v), v->sub.submitted, v->sub.refused,
                sc->failsafe_events, v->io.served, v->io.lat_sum_ns, v->pp.shadow_pages);
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            fprintf(o, ",\"busy_ns_%s\":%" PRIu64 ",\"completed_%s\":%" PRIu64
                       ",\"cancelled_%s\":%" PRIu64 ",\"pending_%s\":%u",
                    host_report_engines[e], sc->busy_ns[e], host_report_engines[e],
                    sc->completed[e], host_report_engines[e], sc->cancelled[e],
                    host_report_engines[e], sc->pending[e]);
        fputc('}', o);
    }
    fprintf(o, "]}\n");
}

void host_report_inventory_json(const struct vgpu_host_snap *s, FILE *o)
{
    char gpu[16];

    sbdf_str(s->gpu_sbdf, gpu, sizeof(gpu));
    fprintf(o,
            "{\"ok\":true,\"gpu\":{\"sbdf\":\"%s\",\"vendor\":%u,\"device\":%u,\"sim\":%s,"
            "\"vgpus\":%u,\"low_free_mb\":%" PRIu64 ",\"high_free_mb\":%" PRIu64
            ",\"fences_free\":%u},\"types\":[",
            gpu, s->vendor, s->device, s->sim ? "true" : "false", s->n, s->free.low >> 20,
            s->free.high >> 20, s->free.fences);
    for (unsigned k = 0; k < s->ntypes; k++) {
        const struct vgpu_host_type_snap *t = &s->types[k];
        unsigned used = 0;

        for (unsigned i = 0; i < s->n; i++)
            used += !strcmp(s->v[i].info.type, t->name);
        fprintf(o,
                "%s{\"name\":\"%s\",\"low_gm_mb\":%u,\"high_gm_mb\":%u,\"fences\":%u,"
                "\"weight\":%u,\"total\":%u,\"available\":%u,\"in_use\":%u,"
                "\"max_heads\":%u,\"res_w\":%u,\"res_h\":%u}",
                k ? "," : "", t->name, t->low_mb, t->high_mb, t->fences, t->weight, t->total,
                t->available, used, t->heads, t->res_w, t->res_h);
    }
    fprintf(o, "],\"shares\":[");
    for (unsigned i = 0; i < s->n; i++) {
        const struct vgpu_host_vgpu_snap *v = &s->v[i];

        fprintf(o, "%s{\"domid\":%u,\"type\":\"", i ? "," : "", v->info.domid);
        put_str(o, v->info.type);
        fprintf(o, "\",\"weight\":%u,\"cap_pct\":%u,\"share_permille\":%u,\"failsafe\":%s}",
                v->sub.sched.weight, v->sub.sched.cap_pct, share_permille(s, v),
                v->info.failsafe ? "true" : "false");
    }
    fprintf(o, "]}\n");
}

/* ---- Prometheus text format ---- */

static void family(FILE *o, const char *name, const char *type, const char *help)
{
    fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The labels every per-vGPU sample carries. */
static void vlabels(FILE *o, const struct vgpu_host_vgpu_snap *v)
{
    fprintf(o, "domid=\"%u\",vgpu=\"%u\"", v->info.domid, v->info.id);
}

typedef uint64_t (*vgpu_val_fn)(const struct vgpu_host_snap *s, const struct vgpu_host_vgpu_snap *v);
typedef uint64_t (*eng_val_fn)(const struct vgpu_host_vgpu_snap *v, unsigned e);

struct vgpu_metric {
    const char *name, *type, *help;
    vgpu_val_fn val;
    bool ppgtt; /* only when PPGTT shadowing is built */
};

struct eng_metric {
    const char *name, *type, *help;
    eng_val_fn val;
    double scale; /* ns -> s for time */
};

#define VF(field) \
    static uint64_t v_##field(const struct vgpu_host_snap *s, const struct vgpu_host_vgpu_snap *v)

VF(submitted) { (void)s; return v->sub.submitted; }
VF(refused) { (void)s; return v->sub.refused; }
VF(failsafe) { (void)s; return v->info.failsafe; }
VF(resets) { (void)s; return v->info.st.resets; }
VF(mmio_reads) { (void)s; return v->info.st.mmio_reads; }
VF(mmio_writes) { (void)s; return v->info.st.mmio_writes; }
VF(rejected) { (void)s; return v->info.st.rejected; }
VF(msi) { (void)s; return v->info.st.msi_injected; }
VF(io_served) { (void)s; return v->io.served; }
VF(io_bad) { (void)s; return v->io.bad; }
VF(io_spurious) { (void)s; return v->io.spurious; }
VF(io_buffered) { (void)s; return v->io.buffered; }
VF(io_wp) { (void)s; return v->io.wp_writes; }
VF(pp_pages) { (void)s; return v->pp.shadow_pages; }
VF(pp_bytes) { (void)s; return v->pp.shadow_bytes; }
VF(pp_gpt) { (void)s; return v->pp.guest_pt_pages; }
VF(pp_wp) { (void)s; return v->pp.wp_pages; }
VF(pp_oos) { (void)s; return v->pp.oos_pages; }
VF(pp_traps) { (void)s; return v->pp.traps; }
VF(weight) { (void)s; return v->sub.sched.weight; }
VF(low) { (void)s; return v->info.low_size; }
VF(high) { (void)s; return v->info.high_size; }

static const struct vgpu_metric vgpu_metrics[] = {
    {"vgt_vgpu_submissions_total", "counter", "Workloads the vGPU's guest submitted and vgt accepted.", v_submitted, false},
    {"vgt_vgpu_submissions_refused_total", "counter", "Submissions refused (each puts the vGPU in failsafe).", v_refused, false},
    {"vgt_vgpu_failsafe", "gauge", "1 while the vGPU is in failsafe (vgt reset DOMID leaves it).", v_failsafe, false},
    {"vgt_vgpu_resets_total", "counter", "Device-model resets of the vGPU.", v_resets, false},
    {"vgt_vgpu_mmio_reads_total", "counter", "Guest MMIO reads of the vGPU's BAR0.", v_mmio_reads, false},
    {"vgt_vgpu_mmio_writes_total", "counter", "Guest MMIO writes of the vGPU's BAR0.", v_mmio_writes, false},
    {"vgt_vgpu_mmio_rejected_total", "counter", "Guest register accesses the register table refused.", v_rejected, false},
    {"vgt_vgpu_msi_injected_total", "counter", "Virtual MSIs injected into the guest.", v_msi, false},
    {"vgt_vgpu_low_gm_bytes", "gauge", "Mappable (aperture) graphics memory of the vGPU.", v_low, false},
    {"vgt_vgpu_high_gm_bytes", "gauge", "Non-mappable graphics memory of the vGPU.", v_high, false},
    {"vgt_ioreq_requests_total", "counter", "I/O requests the vGPU's ioreq server completed.", v_io_served, false},
    {"vgt_ioreq_bad_requests_total", "counter", "Malformed requests completed with all ones.", v_io_bad, false},
    {"vgt_ioreq_spurious_events_total", "counter", "Event-channel notifications without a ready request.", v_io_spurious, false},
    {"vgt_ioreq_buffered_requests_total", "counter", "Buffered-ring writes consumed.", v_io_buffered, false},
    {"vgt_ioreq_wp_writes_total", "counter", "Guest writes to write-protected page-table pages.", v_io_wp, false},
    {"vgt_ppgtt_shadow_pages", "gauge", "Host pages holding PPGTT shadow entries.", v_pp_pages, true},
    {"vgt_ppgtt_shadow_bytes", "gauge", "Host memory of the PPGTT shadows (pages and metadata).", v_pp_bytes, true},
    {"vgt_ppgtt_guest_pt_pages", "gauge", "Guest pages tracked as page tables.", v_pp_gpt, true},
    {"vgt_ppgtt_wp_pages", "gauge", "Guest page-table pages write-protected now.", v_pp_wp, true},
    {"vgt_ppgtt_oos_pages", "gauge", "Guest page-table pages out of sync now.", v_pp_oos, true},
    {"vgt_ppgtt_traps_total", "counter", "Trapped guest page-table writes handled.", v_pp_traps, true},
    {"vgt_sched_weight", "gauge", "Scheduler weight of the vGPU (vgt set DOMID weight=N).", v_weight, false},
};

#define EF(field) static uint64_t e_##field(const struct vgpu_host_vgpu_snap *v, unsigned e)

EF(busy) { return v->sub.sched.busy_ns[e]; }
EF(completed) { return v->sub.sched.completed[e]; }
EF(cancelled) { return v->sub.sched.cancelled[e]; }
EF(switches) { return v->sub.sched.switches_in[e]; }
EF(pending) { return v->sub.sched.pending[e]; }

static const struct eng_metric eng_metrics[] = {
    {"vgt_vgpu_busy_seconds_total", "counter", "Time the vGPU's workloads held the engine.", e_busy, 1e-9},
    {"vgt_vgpu_workloads_completed_total", "counter", "Workloads that ended normally.", e_completed, 1},
    {"vgt_vgpu_workloads_cancelled_total", "counter", "Workloads ended by a reset or failsafe.", e_cancelled, 1},
    {"vgt_sched_switches_total", "counter", "Times the scheduler handed the engine to the vGPU.", e_switches, 1},
    {"vgt_sched_pending_workloads", "gauge", "Workloads queued for the engine.", e_pending, 1},
};

static void histogram(FILE *o, const struct vgpu_host_snap *s)
{
    static const uint64_t bounds[VGT_IOREQ_LAT_BUCKETS] = VGT_IOREQ_LAT_BOUNDS_NS;
    const char *n = "vgt_ioreq_service_seconds";

    family(o, n, "histogram", "Service time of synchronous I/O requests, slot taken to vCPU notified.");
    for (unsigned i = 0; i < s->n; i++) {
        const struct vgpu_host_vgpu_snap *v = &s->v[i];
        uint64_t cum = 0;

        for (unsigned b = 0; b <= VGT_IOREQ_LAT_BUCKETS; b++) {
            cum += v->io.lat_bucket[b];
            fprintf(o, "%s_bucket{", n);
            vlabels(o, v);
            if (b < VGT_IOREQ_LAT_BUCKETS)
                fprintf(o, ",le=\"%g\"} %" PRIu64 "\n", bounds[b] * 1e-9, cum);
            else
                fprintf(o, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
        }
        fprintf(o, "%s_sum{", n);
        vlabels(o, v);
        fprintf(o, "} %.9f\n%s_count{", v->io.lat_sum_ns * 1e-9, n);
        vlabels(o, v);
        fprintf(o, "} %" PRIu64 "\n", cum);
    }
}

void host_report_prometheus(const struct vgpu_host_snap *s, FILE *o)
{
    char gpu[16];

    sbdf_str(s->gpu_sbdf, gpu, sizeof(gpu));
    family(o, "vgt_vgpu_info", "gauge", "One per vGPU: its type and state.");
    for (unsigned i = 0; i < s->n; i++) {
        fprintf(o, "vgt_vgpu_info{");
        vlabels(o, &s->v[i]);
        fprintf(o, ",type=\"");
        put_str(o, s->v[i].info.type);
        fprintf(o, "\",state=\"%s\",gpu=\"%s\"} 1\n", vgt_vgpu_state_name(&s->v[i].info), gpu);
    }
    for (size_t m = 0; m < VGT_ARRAY_SIZE(vgpu_metrics); m++) {
        const struct vgpu_metric *vm = &vgpu_metrics[m];

        family(o, vm->name, vm->type, vm->help);
        for (unsigned i = 0; i < s->n; i++) {
            if (vm->ppgtt && !s->v[i].have_pp)
                continue;
            fprintf(o, "%s{", vm->name);
            vlabels(o, &s->v[i]);
            fprintf(o, "} %" PRIu64 "\n", vm->val(s, &s->v[i]));
        }
    }
    for (size_t m = 0; m < VGT_ARRAY_SIZE(eng_metrics); m++) {
        const struct eng_metric *em = &eng_metrics[m];

        family(o, em->name, em->type, em->help);
        for (unsigned i = 0; i < s->n; i++)
            for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
                fprintf(o, "%s{", em->name);
                vlabels(o, &s->v[i]);
                if (em->scale != 1)
                    fprintf(o, ",engine=\"%s\"} %.9f\n", host_report_engines[e],
                            em->val(&s->v[i], e) * em->scale);
                else
                    fprintf(o, ",engine=\"%s\"} %" PRIu64 "\n", host_report_engines[e],
                            em->val(&s->v[i], e));
            }
    }
    family(o, "vgt_vgpu_failsafe_events_total", "counter", "Times the vGPU entered failsafe, by reason.");
    for (unsigned i = 0; i < s->n; i++)
        for (unsigned r = VGT_FAILSAFE_NONE + 1; r < VGT_FAILSAFE_NR_REASONS; r++) {
            fprintf(o, "vgt_vgpu_failsafe_events_total{");
            vlabels(o, &s->v[i]);
            fprintf(o, ",reason=\"%s\"} %" PRIu64 "\n",
                    vgt_failsafe_reason_name((enum vgt_failsafe_reason)r),
                    s->v[i].info.st.failsafe_by_reason[r]);
        }
    histogram(o, s);
    family(o, "vgt_sched_cap_ratio", "gauge", "GPU time cap per engine (0: none; vgt set DOMID cap=P).");
    for (unsigned i = 0; i < s->n; i++) {
        fprintf(o, "vgt_sched_cap_ratio{");
        vlabels(o, &s->v[i]);
        fprintf(o, "} %.2f\n", s->v[i].sub.sched.cap_pct / 100.0);
    }
    family(o, "vgt_sched_share_ratio", "gauge",
           "Nominal share of each engine: weight over the sum of weights, at most the cap.");
    for (unsigned i = 0; i < s->n; i++) {
        fprintf(o, "vgt_sched_share_ratio{");
        vlabels(o, &s->v[i]);
        fprintf(o, "} %.3f\n", share_permille(s, &s->v[i]) / 1000.0);
    }
    family(o, "vgt_gpu_vgpus", "gauge", "vGPUs on the physical GPU.");
    fprintf(o, "vgt_gpu_vgpus{gpu=\"%s\"} %u\n", gpu, s->n);
    family(o, "vgt_gpu_type_capacity_instances", "gauge", "vGPUs of the type the empty GPU holds.");
    for (unsigned k = 0; k < s->ntypes; k++)
        fprintf(o, "vgt_gpu_type_capacity_instances{gpu=\"%s\",type=\"%s\"} %u\n", gpu,
                s->types[k].name, s->types[k].total);
    family(o, "vgt_gpu_type_available_instances", "gauge", "vGPUs of the type that still fit now.");
    for (unsigned k = 0; k < s->ntypes; k++)
        fprintf(o, "vgt_gpu_type_available_instances{gpu=\"%s\",type=\"%s\"} %u\n", gpu,
                s->types[k].name, s->types[k].available);
    family(o, "vgt_gpu_free_gm_bytes", "gauge", "Largest free run of graphics memory, by range.");
    fprintf(o, "vgt_gpu_free_gm_bytes{gpu=\"%s\",range=\"low\"} %" PRIu64 "\n", gpu, s->free.low);
    fprintf(o, "vgt_gpu_free_gm_bytes{gpu=\"%s\",range=\"high\"} %" PRIu64 "\n", gpu, s->free.high);
    family(o, "vgt_gpu_free_fences", "gauge", "Largest free run of fence registers.");
    fprintf(o, "vgt_gpu_free_fences{gpu=\"%s\"} %u\n", gpu, s->free.fences);
}

void host_report_json_error(FILE *o, const char *msg)
{
    fputs("{\"ok\":false,\"error\":\"", o);
    for (const char *p = msg; *p; p++)
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if ((unsigned char)*p >= 0x20)
            fputc(*p, o);
    fputs("\"}\n", o);
}

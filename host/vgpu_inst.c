/* One vGPU instance's staged bring-up and teardown (see vgpu_inst.h). */
#include "vgpu_inst.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vgt/util.h"

static int inst_guest_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;

    return in->hv->guest_create(in->plat, arg, &in->guest, err, errlen);
}

static void inst_guest_down(void *obj)
{
    struct vgpu_inst *in = obj;

    if (in->guest)
        in->hv->guest_destroy(in->guest);
    in->guest = NULL;
}

static int inst_backend_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;

    (void)arg;
    return in->hv->backend_create(in->plat, in->domid, in->guest, in->dma, &in->be, err, errlen);
}

static void inst_backend_down(void *obj)
{
    struct vgpu_inst *in = obj;

    if (in->be)
        in->be->ops->destroy(in->be);
    in->be = NULL;
}

static int inst_server_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    struct vgt_ioreq_server_cfg sc = {.domid = in->domid, .log = in->plat->log};
    struct vgt_ioreq_backend *be = in->be;
    int ret;

    (void)arg;
    /* The server owns the backend from this call on, whether it succeeds
     * or not (it destroys it on failure): never again ours to destroy. */
    in->be = NULL;
    ret = vgt_ioreq_server_create(&sc, be, &in->srv);
    if (ret)
        snprintf(err, errlen, "ioreq server for domain %u: %s", in->domid, strerror(-ret));
    return ret;
}

static void inst_server_down(void *obj)
{
    struct vgpu_inst *in = obj;
    struct vgt_ioreq_stats st;

    /* The guest's traps over its life (docs/performance.md). */
    vgt_ioreq_server_get_stats(in->srv, &st);
    vgt_info(in->plat->log,
             "dom%u: ioreq stats: %llu served (%llu buffered, %llu bad), %.1f us mean service", in->domid,
             (unsigned long long)st.served, (unsigned long long)st.buffered, (unsigned long long)st.bad,
             st.lat_count ? (double)st.lat_sum_ns / 1e3 / (double)st.lat_count : 0.0);
    vgt_ioreq_server_destroy(in->srv);
    in->srv = NULL;
}

/* Its ports are bound at start; count them against the limit first. */
static int inst_ports_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;

    (void)arg;
    if (!in->ports_bound)
        return 0;
    in->ports = vgt_ioreq_server_nr_ports(in->srv);
    if (*in->ports_bound + in->ports > in->ports_limit) {
        snprintf(err, errlen,
                 "event channels: domain %u needs %u ports (one per vCPU), vgtd has %u of its %u bound "
                 "(--max-evtchn-ports; docs/operator-guide.md)",
                 in->domid, in->ports, *in->ports_bound, in->ports_limit);
        return -ENOSPC;
    }
    *in->ports_bound += in->ports;
    return 0;
}

static void inst_ports_down(void *obj)
{
    struct vgpu_inst *in = obj;

    if (in->ports_bound)
        *in->ports_bound -= in->ports;
}

/* Its GPU work: PPGTT shadow, the vGPU, then the submission path's hooks
 * (before the guest can reach the device). */
static int inst_pp_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    int ret;

    (void)arg;
    in->vc.hv = vgt_ioreq_server_hv(in->srv);
    ret = vgt_submit_pp_create(in->vc.hv, in->plat->hw, in->plat->gpu_log, &in->pp);
    if (ret)
        snprintf(err, errlen, "PPGTT shadow for domain %u: %s", in->domid, strerror(-ret));
    return ret;
}

static void inst_pp_down(void *obj)
{
    struct vgpu_inst *in = obj;

    vgt_submit_pp_destroy(in->pp);
    in->pp = NULL;
}

static int inst_vgpu_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    int ret = vgt_vgpu_create(in->gpu, &in->vc, &in->vgpu);

    (void)arg;
    if (ret)
        snprintf(err, errlen, "vGPU for domain %u: %s", in->domid,
                 ret == -ENOSPC ? "no room on the GPU" : strerror(-ret));
    return ret;
}

static void inst_vgpu_down(void *obj)
{
    struct vgpu_inst *in = obj;
    struct vgt_vgpu_info i;

    /* What the guest trapped on, by range, over its life (issue 16's
     * trap count; docs/performance.md). */
    vgt_vgpu_get_info(in->vgpu, &i);
    vgt_info(in->plat->log,
             "dom%u: vgpu%u stats: BAR0 %llu reads %llu writes (GGTT window %llu reads %llu writes), "
             "config %llu reads %llu writes, unlisted %llu accesses to %llu registers, %llu rejected, "
             "g2v %llu (%llu invalid), failsafe %s",
             in->domid, i.id, (unsigned long long)i.st.mmio_reads, (unsigned long long)i.st.mmio_writes,
             (unsigned long long)i.st.ggtt_reads, (unsigned long long)i.st.ggtt_writes,
             (unsigned long long)i.st.cfg_reads, (unsigned long long)i.st.cfg_writes,
             (unsigned long long)i.st.unlisted, (unsigned long long)i.st.unlisted_regs,
             (unsigned long long)i.st.rejected, (unsigned long long)i.st.g2v_notify,
             (unsigned long long)i.st.g2v_invalid, i.failsafe ? vgt_failsafe_reason_name(i.failsafe_reason) : "no");
    vgt_vgpu_destroy(in->vgpu);
    in->vgpu = NULL;
}

static int inst_submit_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    int ret;

    (void)arg;
    ret = vgt_submit_attach(in->sub, in->vgpu, in->weight ? in->weight : in->vc.res.weight,
                            in->cap_pct, &vgt_submit_pp_ops, in->pp, &in->sv);
    if (ret) {
        snprintf(err, errlen, "submission path for domain %u: %s", in->domid,
                 ret == -EINVAL ? "weight must be 1..1000 and cap 0..100 %" : strerror(-ret));
        return ret;
    }
    vgt_submit_set_watchdog(in->sv, in->vc.res.watchdog_ms);
    return 0;
}

static void inst_submit_down(void *obj)
{
    struct vgpu_inst *in = obj;

    vgt_submit_detach(in->sv);
    in->sv = NULL;
}

static int inst_attach_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    int ret = vgt_vgpu_attach(in->vgpu, in->srv, in->sbdf,
                              in->vplat.map_aperture ? &in->vplat : NULL);

    (void)arg;
    if (ret)
        snprintf(err, errlen, "attaching the vGPU of domain %u: %s", in->domid, strerror(-ret));
    return ret; /* undone by the vGPU's destroy */
}

static int inst_start_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    int ret = vgt_ioreq_server_start(in->srv);

    (void)arg;
    if (ret)
        snprintf(err, errlen, "starting the ioreq server of domain %u: %s", in->domid,
                 strerror(-ret));
    return ret; /* undone by the server's destroy */
}

static void *serve(void *p)
{
    vgt_ioreq_server_run(p);
    return NULL;
}

static int inst_thread_up(void *obj, const void *arg, char *err, size_t errlen)
{
    struct vgpu_inst *in = obj;
    int ret = -pthread_create(&in->thread, NULL, serve, in->srv);

    (void)arg;
    if (ret)
        snprintf(err, errlen, "event loop thread: %s", strerror(-ret));
    return ret;
}

static void inst_thread_down(void *obj)
{
    struct vgpu_inst *in = obj;

    vgt_ioreq_server_stop(in->srv);
    pthread_join(in->thread, NULL);
}

static const struct vgt_stage inst_stages[] = {
    {"guest", inst_guest_up, inst_guest_down},
    {"ioreq backend", inst_backend_up, inst_backend_down},
    {"ioreq server", inst_server_up, inst_server_down},
    {"event channels", inst_ports_up, inst_ports_down},
    {"PPGTT shadow", inst_pp_up, inst_pp_down},
    {"vGPU", inst_vgpu_up, inst_vgpu_down},
    {"submission attach", inst_submit_up, inst_submit_down},
    {"vGPU attach", inst_attach_up, NULL},
    {"server start", inst_start_up, NULL},
    {"event loop", inst_thread_up, inst_thread_down},
};

int vgpu_inst_up(struct vgpu_inst *in, const struct vgpu_add_req *req,
                 const struct vgt_stage_hook *hook, const char **failed, char *err, size_t errlen)
{
    return vgt_stages_up(inst_stages, VGT_ARRAY_SIZE(inst_stages), &in->up, in, req, hook, failed,
                         err, errlen);
}

void vgpu_inst_down(struct vgpu_inst *in, const struct vgt_stage_hook *hook)
{
    vgt_stages_down(inst_stages, &in->up, 0, in, hook);
}

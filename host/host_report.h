/* What vgtd reports about its GPU, rendered from one host snapshot
 * (vgpu_host_snapshot): the control socket's "stats" and "inventory"
 * answers (one JSON line each) and the Prometheus text exposition served
 * by --metrics (docs/operator-guide.md lists every metric). */
#ifndef VGT_TOOLS_HOST_REPORT_H
#define VGT_TOOLS_HOST_REPORT_H

#include <stdio.h>

#include "vgpu_host.h"

/* Engine names in VGT_ENGINE_* order. */
extern const char *const host_report_engines[VGT_ENGINE_NUM];

/* {"ok":true,"time_ns":..,"gpu":"SBDF","vgpus":[{flat per vGPU}]}\n */
/* {"ok":false,"error":"MSG"} with MSG's quotes and backslashes escaped
 * and control characters dropped: the control socket's error answer. */
void host_report_json_error(FILE *o, const char *msg);
void host_report_stats_json(const struct vgpu_host_snap *s, FILE *o);
/* {"ok":true,"gpu":{flat},"types":[{flat per type}],"shares":[{flat}]}\n */
void host_report_inventory_json(const struct vgpu_host_snap *s, FILE *o);
/* Prometheus text format 0.0.4. */
void host_report_prometheus(const struct vgpu_host_snap *s, FILE *o);

#endif

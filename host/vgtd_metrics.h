/* vgtd --metrics ADDR:PORT: the Prometheus endpoint (GET /metrics) on
 * libmicrohttpd's own thread, so scrapes never hold up the control
 * socket; each scrape renders one host snapshot (host_report.h). */
#ifndef VGT_TOOLS_VGTD_METRICS_H
#define VGT_TOOLS_VGTD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "vgpu_host.h"

struct vgtd_metrics;

/* @addr "IPv4:PORT", "[IPv6]:PORT" or "HOST:PORT"; port 0 picks a free
 * one (*port says which). -EINVAL with a sentence in @err for a bad
 * address, -EOPNOTSUPP when built without libmicrohttpd. */
int vgtd_metrics_start(struct vgpu_host *h, const char *addr, const struct vgt_log *log,
                       struct vgtd_metrics **out, uint16_t *port, char *err, size_t errlen);
/* NULL is fine. */
void vgtd_metrics_stop(struct vgtd_metrics *m);

#endif

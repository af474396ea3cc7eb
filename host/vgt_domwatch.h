/* Noticing that a guest domain went away (xl destroy, a crash, shutdown),
 * for every vgtd mode on Xen. The simulated platform has its own death
 * notification (the toolstack's kill, vgpu_host_sim_kill_domain).
 *
 * With libxenstore and a running xenstored: the @releaseDomain watch,
 * which xenstored fires when any domain shuts down or dies (also for a
 * zombie held by our own foreign mappings); each event is then confirmed
 * with xc_domain_getinfo, plus a backstop check every
 * VGT_DOMWATCH_BACKSTOP_MS. Without them: xc_domain_getinfo every
 * VGT_DOMWATCH_POLL_MS. Either way a dead domain is noticed within 200 ms:
 * the backstop is as short as the polling, so the bound does not depend
 * on xenstored firing the watch in time (it fires only once the
 * hypervisor's domain_kill has finished and xenstored has run; one
 * getinfo hypercall per 100 ms costs next to nothing). */
#ifndef VGT_TOOLS_DOMWATCH_H
#define VGT_TOOLS_DOMWATCH_H

#include <stdbool.h>
#include <stdint.h>

struct vgt_log;
struct vgt_domwatch;

#define VGT_DOMWATCH_POLL_MS 100     /* no watch: bounded polling */
#define VGT_DOMWATCH_BACKSTOP_MS 100 /* with the watch: a check anyway */

/* Never fails for want of xenstore (it falls back to polling, said at
 * info level); -ENOMEM only. */
int vgt_domwatch_open(const struct vgt_log *log, struct vgt_domwatch **out);
void vgt_domwatch_close(struct vgt_domwatch *w);
/* The watch's fd to poll for POLLIN, or -1 when polling. */
int vgt_domwatch_fd(const struct vgt_domwatch *w);
/* How long a caller may sleep before the next vgt_domwatch_due(). */
int vgt_domwatch_timeout_ms(const struct vgt_domwatch *w);
/* Drains the watch's events; true when the caller should check its
 * domains now (an event fired, or the poll/backstop interval passed). */
bool vgt_domwatch_due(struct vgt_domwatch *w);
/* Blocks until domain @domid is gone (0), or @stop_fd is readable
 * (-ECANCELED), or the check itself fails (-errno). */
int vgt_domwatch_wait_gone(struct vgt_domwatch *w, uint16_t domid, int stop_fd);

#endif

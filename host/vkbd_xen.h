/* The PV keyboard backend on a real Xen (xen/io/kbdif.h, docs/display.md):
 * vgtd writes the backend directory and the frontend's device/vkbd/0
 * link in xenstore, follows the xenbus states of Linux xen-kbdfront,
 * maps the shared page the frontend publishes (page-gref through
 * xengnttab, else page-ref through xenforeignmemory), binds its event
 * channel, and then puts events into the in-ring and notifies. */
#ifndef VGT_VKBD_XEN_H
#define VGT_VKBD_XEN_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/io/kbdif.h>

#include "vgt/log.h"

struct vkbd_xen;

/* Writes the nodes (state InitWait) and watches the frontend. The
 * backend runs in dom0. @w x @h: the absolute pointer's range. */
int vkbd_xen_create(uint16_t domid, unsigned w, unsigned h, const struct vgt_log *log,
                    struct vkbd_xen **out);
/* Removes the nodes, unmaps and unbinds. NULL is fine. */
void vkbd_xen_destroy(struct vkbd_xen *k);
/* Handles the frontend's pending xenstore changes without blocking
 * (connect on Initialised/Connected, close on Closing/Closed). */
int vkbd_xen_step(struct vkbd_xen *k);
/* Is the ring mapped and the channel bound? */
bool vkbd_xen_connected(const struct vkbd_xen *k);
/* One event into the in-ring and a notification: -ENOTCONN before the
 * frontend connected, -ENOSPC when the guest's ring is full. */
int vkbd_xen_push(struct vkbd_xen *k, const union xenkbd_in_event *ev);

#endif

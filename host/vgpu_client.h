/* Client side of vgtd's control socket (vgt list/up/down, tests). */
#ifndef VGT_TOOLS_VGPU_CLIENT_H
#define VGT_TOOLS_VGPU_CLIENT_H

#include <stddef.h>

/* The socket path: @opt if set, else $VGT_CONTROL, else the default. */
const char *vgpu_ctl_path(const char *opt);
/* Send one request line (without newline), read one answer line into
 * @ans (NUL-terminated, newline stripped). -ECONNREFUSED/-ENOENT when no
 * vgtd listens. */
int vgpu_ctl_request(const char *path, const char *req, char *ans, size_t anslen);
/* Whether an answer says "ok":true. */
int vgpu_ctl_ok(const char *ans);

#include "vgt/vgt_ctl.h"

/* The flat object "@key":{...} of an answer, parsed. -ENOENT / -EINVAL. */
int vgpu_ctl_object(const char *ans, const char *key, struct vgt_ctl_msg *m);
/* Each flat object of the array "@key":[{...},...]: @fn is called with it
 * (its return stops the walk when non-zero). Returns the count, or the
 * callback's non-zero return, or -EINVAL for a malformed array. */
int vgpu_ctl_objects(const char *ans, const char *key,
                     int (*fn)(void *opaque, const struct vgt_ctl_msg *m), void *opaque);
/* Number / string of a parsed object, 0 / "?" when missing. */
unsigned long long vgpu_ctl_numf(const struct vgt_ctl_msg *m, const char *key);
const char *vgpu_ctl_strf(const struct vgt_ctl_msg *m, const char *key);

#endif

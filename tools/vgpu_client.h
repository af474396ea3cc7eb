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

#endif

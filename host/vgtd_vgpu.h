/* vgtd's vgpu kind: one daemon per physical GPU serving every vGPU on it,
 * with a control socket (docs/operator-guide.md). */
#ifndef VGT_TOOLS_VGTD_VGPU_H
#define VGT_TOOLS_VGTD_VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define VGTD_CONTROL_DEFAULT "/run/vgt/vgtd.sock"

/* Does this command line ask for the vgpu kind (--type, --xl-config,
 * --device vgpu, --gpu, --control, an xl vgt key, or no --device at all)? */
bool vgtd_vgpu_wanted(int argc, char **argv);
int vgtd_vgpu_main(int argc, char **argv);

/* The control socket's request handling without the socket, on a host the
 * caller made (fuzz/fuzz_vgtd_ctl.c): vgtd_vgpu_request() is what the
 * socket calls for each line; it writes one JSON answer line to @o. */
struct vgpu_host;
struct vgtd_vgpu;
int vgtd_vgpu_ctl_create(struct vgpu_host *host, bool sim, struct vgtd_vgpu **out);
void vgtd_vgpu_ctl_destroy(struct vgtd_vgpu *d);
void vgtd_vgpu_request(struct vgtd_vgpu *d, const char *line, size_t len, FILE *o);

#endif

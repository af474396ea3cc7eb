/* vgtd's vgpu kind: one daemon per physical GPU serving every vGPU on it,
 * with a control socket (docs/operator-guide.md). */
#ifndef VGT_TOOLS_VGTD_VGPU_H
#define VGT_TOOLS_VGTD_VGPU_H

#include <stdbool.h>

#define VGTD_CONTROL_DEFAULT "/run/vgt/vgtd.sock"

/* Does this command line ask for the vgpu kind (--type, --xl-config,
 * --device vgpu, --gpu, --control, an xl vgt key, or no --device at all)? */
bool vgtd_vgpu_wanted(int argc, char **argv);
int vgtd_vgpu_main(int argc, char **argv);

#endif

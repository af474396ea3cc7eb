/* Built only when the tree has no ioreq engine: nothing can be attached. */
#include <errno.h>

#include "vgpu_priv.h"

void vgt_vgpu_remap_bars(struct vgt_vgpu *v)
{
    (void)v;
}

int vgt_vgpu_attach(struct vgt_vgpu *v, struct vgt_ioreq_server *s, uint32_t sbdf,
                    const struct vgt_vgpu_platform *plat)
{
    (void)v;
    (void)s;
    (void)sbdf;
    (void)plat;
    return -ENOSYS;
}

void vgt_vgpu_detach(struct vgt_vgpu *v)
{
    (void)v;
}

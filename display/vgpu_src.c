/* The decoder's source on a vGPU: its virtual registers, the guest's own
 * GGTT entries (read under the vGPU lock, so the display thread never
 * takes the ioreq path) and the guest's RAM through the hv seam. */
#include <errno.h>

#include "vgt/display_host.h"
#include "vgt/gen8_gtt.h"
#include "vgt/hv.h"
#include "vgt/util.h"
#include "vgt/vgpu.h"

static uint32_t src_reg(void *opaque, uint32_t off)
{
    return vgt_vgpu_vreg(opaque, off);
}

static bool src_gm_valid(void *opaque, uint64_t gm, uint64_t len)
{
    return len && vgt_vgpu_gm_valid(opaque, gm, len);
}

static int src_read_gm(void *opaque, uint64_t gm, void *buf, size_t len)
{
    struct vgt_vgpu *v = opaque;
    struct vgt_hv *hv = vgt_vgpu_hv(v);
    uint64_t pte[64];
    uint8_t *p = buf;

    while (len) {
        uint64_t npages = ((gm & 0xfff) + len + VGT_PAGE_SIZE - 1) >> VGT_PAGE_SHIFT;
        unsigned n = (unsigned)VGT_MIN(npages, VGT_ARRAY_SIZE(pte));
        int ret = vgt_vgpu_ggtt_guest_entries(v, gm, n, pte);

        if (ret)
            return ret;
        for (unsigned i = 0; i < n && len; i++) {
            size_t chunk = VGT_MIN(len, VGT_PAGE_SIZE - (gm & 0xfff));

            if (!(pte[i] & GEN8_PTE_PRESENT))
                return -EFAULT;
            /* the guest's entry holds a guest-physical address */
            ret = vgt_hv_read(hv, (pte[i] & GEN8_PTE_ADDR_MASK) | (gm & 0xfff), p, chunk);
            if (ret)
                return -EFAULT;
            p += chunk;
            gm += chunk;
            len -= chunk;
        }
    }
    return 0;
}

static void src_sync(void *opaque)
{
    vgt_gpu_display_tick(vgt_vgpu_gpu(opaque));
}

void vgt_display_src_vgpu(struct vgt_vgpu *v, struct vgt_display_src *src)
{
    *src = (struct vgt_display_src){.opaque = v, .reg = src_reg, .gm_valid = src_gm_valid,
                                    .read_gm = src_read_gm, .sync = src_sync};
}

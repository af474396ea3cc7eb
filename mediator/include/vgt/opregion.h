#ifndef VGT_OPREGION_H
#define VGT_OPREGION_H
/* The IGD OpRegion the vGPU serves at the guest address written to config
 * offset 0xFC (ASLS): see mediator/opregion.c and docs/vgpu.md. */
#include <stddef.h>
#include <stdint.h>

/* hvmloader reserves 3 pages (IGD_OPREGION_PAGES) and i915 maps 8 KiB. */
#define VGT_OPREGION_SIZE 8192u
#define VGT_OPREGION_VBT_OFFSET 0x400u
/* The pages hvmloader reserves for it (IGD_OPREGION_PAGES, hvmloader
 * config.h); i915 maps VGT_OPREGION_SIZE of them. */
#define VGT_OPREGION_GUEST_PAGES 3u

struct vgt_vgpu;

/* Fill @buf (>= VGT_OPREGION_SIZE bytes) with an OpRegion whose VBT lists
 * @heads (0..3) DisplayPort outputs on DDI B, C, D. 0 or -EINVAL. */
int vgt_opregion_build(uint8_t *buf, size_t len, unsigned heads);

/* The guest wrote @asls to 0xFC: write the OpRegion into its RAM there.
 * 0, or -errno (logged; the guest only loses its VBT). */
int vgt_opregion_asls_write(struct vgt_vgpu *v, uint32_t asls);
#endif

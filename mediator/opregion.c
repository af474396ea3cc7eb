/* The vGPU's IGD OpRegion: what i915's intel_opregion_setup and
 * intel_bios_init look for at the address hvmloader writes to config
 * offset 0xFC (ASLS). Layout facts from Linux 6.1 i915
 * display/intel_opregion.c (header, mailbox offsets, MBOX_* bits, the VBT
 * in mailbox #4 at 0x400 up to the 8 KiB OpRegion end when there is no
 * ASLE_EXT mailbox) and display/intel_vbt_defs.h (vbt_header, bdb_header,
 * BDB_GENERAL_DEFINITIONS, child_device_config). Like Linux gvt, only the
 * VBT mailbox is announced: the vGPU has no ACPI, SWSCI or ASLE. */
#include <errno.h>
#include <string.h>

#include "vgpu_priv.h"
#include "vgt/opregion.h"
#include "vgt/util.h"

#define OPREGION_SIGNATURE "IntelGraphicsMem"
#define OPREGION_SIZE_KB 0x10 /* header: size in KiB */
#define OPREGION_OVER 0x14    /* header: rsvd, revision, minor, major */
#define OPREGION_MBOXES 0x58
#define MBOX_VBT (1u << 3)    /* mailbox #4 (gvt's MBOX_VBT) */

#define VBT_HEADER_SIZE 48    /* sizeof(struct vbt_header) */
#define BDB_HEADER_SIZE 22    /* sizeof(struct bdb_header) */
#define BDB_VERSION 198       /* Skylake-era BDB: 38-byte child devices */
#define CHILD_SIZE 38         /* intel_bios.c: versions 196..215 */
#define BDB_GENERAL_DEFINITIONS 2
#define GENDEF_FIXED 5        /* ddc pin, dpms, boot_display[2], child_dev_size */
#define DEVICE_TYPE_DP 0x68C6
#define DVO_PORT_DPB 7        /* DP on DDI B; C and D follow */
#define CHILD_DVO_PORT 16     /* offsetof(child_device_config, dvo_port) */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

int vgt_opregion_build(uint8_t *buf, size_t len, unsigned heads)
{
    uint8_t *vbt = buf + VGT_OPREGION_VBT_OFFSET, *bdb, *blk, sum = 0;
    size_t blk_size, bdb_size, vbt_size;

    if (len < VGT_OPREGION_SIZE || heads > 3)
        return -EINVAL;
    memset(buf, 0, VGT_OPREGION_SIZE);
    memcpy(buf, OPREGION_SIGNATURE, 16);
    put32(buf + OPREGION_SIZE_KB, VGT_OPREGION_SIZE / 1024);
    buf[OPREGION_OVER + 3] = 2; /* OpRegion 2.0 */
    put32(buf + OPREGION_MBOXES, MBOX_VBT);

    /* BDB_GENERAL_DEFINITIONS: one DP child per head, DDI B, C, D. */
    bdb = vbt + VBT_HEADER_SIZE;
    blk = bdb + BDB_HEADER_SIZE;
    blk_size = GENDEF_FIXED + (size_t)heads * CHILD_SIZE;
    blk[0] = BDB_GENERAL_DEFINITIONS;
    put16(blk + 1, (uint16_t)blk_size);
    blk[3 + 4] = CHILD_SIZE;
    for (unsigned h = 0; h < heads; h++) {
        uint8_t *c = blk + 3 + GENDEF_FIXED + h * CHILD_SIZE;

        put16(c, (uint16_t)(0x100u << h));            /* handle */
        put16(c + 2, DEVICE_TYPE_DP);
        c[CHILD_DVO_PORT] = (uint8_t)(DVO_PORT_DPB + h);
    }
    bdb_size = BDB_HEADER_SIZE + 3 + blk_size;
    memcpy(bdb, "BIOS_DATA_BLOCK ", 16);
    put16(bdb + 16, BDB_VERSION);
    put16(bdb + 18, BDB_HEADER_SIZE);
    put16(bdb + 20, (uint16_t)bdb_size);

    vbt_size = VBT_HEADER_SIZE + bdb_size;
    memcpy(vbt, "$VBT SKYLAKE        ", 20);
    put16(vbt + 20, 100);             /* VBT version */
    put16(vbt + 22, VBT_HEADER_SIZE);
    put16(vbt + 24, (uint16_t)vbt_size);
    put32(vbt + 28, VBT_HEADER_SIZE); /* bdb_offset */
    /* The checksum makes the VBT's bytes sum to 0 (mod 256). */
    for (size_t i = 0; i < vbt_size; i++)
        sum = (uint8_t)(sum + vbt[i]);
    vbt[26] = (uint8_t)(0x100 - sum);
    return 0;
}

int vgt_opregion_asls_write(struct vgt_vgpu *v, uint32_t asls)
{
    uint8_t buf[VGT_OPREGION_SIZE];
    int ret;

    if (!asls)
        return 0; /* cleared: nothing to serve */
    if (asls & (VGT_PAGE_SIZE - 1)) {
        vgt_warn(v->log, "vgpu%u: OpRegion address %#x not page aligned: not written", v->id, asls);
        return -EINVAL;
    }
    ret = vgt_opregion_build(buf, sizeof(buf), v->dpy.heads);
    if (!ret)
        ret = vgt_hv_write(v->hv, asls, buf, sizeof(buf));
    /* hvmloader's address is in the MMIO hole, for the device model to
     * back (hvmloader pci.c): populate hvmloader's 3 pages, then write. */
    if (ret == -EFAULT && v->populate) {
        ret = v->populate(v->populate_opaque, asls >> VGT_PAGE_SHIFT, VGT_OPREGION_GUEST_PAGES);
        if (!ret)
            ret = vgt_hv_write(v->hv, asls, buf, sizeof(buf));
    }
    if (ret)
        vgt_warn(v->log, "vgpu%u: OpRegion at %#x not written (%d): not guest RAM", v->id, asls, ret);
    else
        vgt_info(v->log, "vgpu%u: OpRegion with %u DP outputs written at %#x", v->id, v->dpy.heads, asls);
    return ret;
}

/* Virtual PCI config space of a vGPU: 256 bytes (i440FX guests have no
 * ECAM), laid out like a Skylake GT2 iGPU.
 *
 * Layout sources: PCI Local Bus spec 3.0 (header, BAR sizing, MSI and PM
 * capabilities), PCIe base spec (capability version 2, device/port type
 * 9 = root complex integrated endpoint), the architecture document (the
 * SKL iGPU's capability chain 0x40 vendor-specific len 0x0C, 0x70 PCIe,
 * 0xAC MSI, 0xD0 PM), i915 intel_gtt/gen8_gmch_probe (GMCH control at
 * 0x50, GGMS in bits 7:6 as log2 of the GGTT size in MiB), and Xen
 * hvmloader (writes the OpRegion address to 0xFC for Intel display).
 *
 * Writes only change the bits a per-byte write mask allows; BARs follow
 * the sizing protocol (all ones reads back ~(size-1) | flags). */
#include <errno.h>
#include <string.h>

#include "vgpu_priv.h"
#include "vgt/opregion.h"
#include "vgt/util.h"

/* BAR flag bits: 64-bit memory (type 10b, bits 2:1), prefetchable bit 3. */
#define BAR_MEM64 0x4u
#define BAR_PREFETCH 0x8u

/* MSI with 32-bit address, one vector: ctrl 0xAE, addr 0xB0, data 0xB4. */
#define MSI_CTRL (VGT_CFG_CAP_MSI + 2)
#define MSI_ADDR (VGT_CFG_CAP_MSI + 4)
#define MSI_DATA (VGT_CFG_CAP_MSI + 8)

static void put8(uint8_t *c, unsigned off, uint8_t v)
{
    c[off] = v;
}

static void put16(uint8_t *c, unsigned off, uint16_t v)
{
    c[off] = (uint8_t)v;
    c[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *c, unsigned off, uint32_t v)
{
    put16(c, off, (uint16_t)v);
    put16(c, off + 2, (uint16_t)(v >> 16));
}

static uint32_t get32(const uint8_t *c, unsigned off)
{
    return (uint32_t)c[off] | (uint32_t)c[off + 1] << 8 | (uint32_t)c[off + 2] << 16 |
           (uint32_t)c[off + 3] << 24;
}

uint64_t vgt_bar2_size(const struct vgt_vgpu *v)
{
    /* The guest sees the whole aperture; its own slice starts at its low
     * GM base (guest and host graphics addresses are equal). */
    return v->gpu->hw->aperture_size;
}

static uint64_t bar_size(const struct vgt_vgpu *v, unsigned bar_off)
{
    return bar_off == VGT_CFG_BAR0 ? VGT_BAR0_SIZE : vgt_bar2_size(v);
}

static unsigned ggms_for(uint64_t gm_size)
{
    /* GGTT bytes = entries * 8; GGMS = log2(GGTT MiB), 0 if under 1 MiB. */
    uint64_t mib = ((gm_size >> VGT_PAGE_SHIFT) * 8) >> 20;
    unsigned ggms = 0;

    while (mib > 1 && ggms < 3) {
        mib >>= 1;
        ggms++;
    }
    return ggms;
}

void vgt_cfg_init(struct vgt_vgpu *v)
{
    uint8_t *c = v->cfg;

    memset(c, 0, VGT_CFG_SIZE);
    put16(c, 0x00, VGT_PCI_VENDOR_INTEL);
    put16(c, 0x02, v->gpu->hw->device ? v->gpu->hw->device : VGT_PCI_DEVICE_SKL_GT2);
    put16(c, VGT_CFG_STATUS, 0x0010); /* capability list */
    put8(c, 0x08, 0x06);              /* revision of SKL GT2 parts */
    put8(c, 0x0B, 0x03);              /* class: display controller */
    put8(c, 0x0A, 0x00);              /* subclass: VGA compatible */
    put32(c, VGT_CFG_BAR0, BAR_MEM64);
    put32(c, VGT_CFG_BAR2, BAR_MEM64 | BAR_PREFETCH);
    put16(c, 0x2C, VGT_PCI_VENDOR_INTEL);
    put16(c, 0x2E, 0x2015);
    put8(c, VGT_CFG_CAP_PTR, VGT_CFG_CAP_VNDR);
    put8(c, 0x3D, 0x01); /* INTA# */
    /* 0x40 vendor-specific capability, length 0x0C */
    put8(c, VGT_CFG_CAP_VNDR, 0x09);
    put8(c, VGT_CFG_CAP_VNDR + 1, VGT_CFG_CAP_PCIE);
    put8(c, VGT_CFG_CAP_VNDR + 2, 0x0C);
    put8(c, VGT_CFG_CAP_VNDR + 3, 0x01);
    /* GMCH control: GGTT size; no stolen memory for a vGPU (GMS 0). */
    put16(c, VGT_CFG_GMCH_CTRL, (uint16_t)(ggms_for(v->gpu->hw->gm_size) << 6));
    /* 0x70 PCI Express, version 2, root complex integrated endpoint */
    put8(c, VGT_CFG_CAP_PCIE, 0x10);
    put8(c, VGT_CFG_CAP_PCIE + 1, VGT_CFG_CAP_MSI);
    put16(c, VGT_CFG_CAP_PCIE + 2, 0x0092);
    /* 0xAC MSI: 32-bit address, one message */
    put8(c, VGT_CFG_CAP_MSI, 0x05);
    put8(c, VGT_CFG_CAP_MSI + 1, VGT_CFG_CAP_PM);
    /* 0xD0 power management, version 2 with DSI; end of the chain */
    put8(c, VGT_CFG_CAP_PM, 0x01);
    put8(c, VGT_CFG_CAP_PM + 1, 0x00);
    put16(c, VGT_CFG_CAP_PM + 2, 0x0022);
}

/* Bits the guest may change, per byte of the 256. */
static uint8_t wmask(const struct vgt_vgpu *v, unsigned off)
{
    if (off == VGT_CFG_COMMAND)
        return 0x06; /* memory space, bus master (no I/O BAR) */
    if (off == VGT_CFG_COMMAND + 1)
        return 0x04; /* INTx disable (bit 10) */
    if (off >= VGT_CFG_BAR0 && off < VGT_CFG_BAR0 + 16) {
        unsigned bar = off < VGT_CFG_BAR2 ? VGT_CFG_BAR0 : VGT_CFG_BAR2;
        unsigned b = off - bar;
        uint64_t m = ~(bar_size(v, bar) - 1) & ~0xfull;

        return (uint8_t)(m >> (8 * b));
    }
    if (off == 0x3C)
        return 0xff; /* interrupt line */
    if (off == MSI_CTRL)
        return 0x01; /* MSI enable; one vector, so MME stays 0 */
    if (off >= MSI_ADDR && off < MSI_ADDR + 4)
        return off == MSI_ADDR ? 0xfc : 0xff;
    if (off >= MSI_DATA && off < MSI_DATA + 2)
        return 0xff;
    if (off == VGT_CFG_CAP_PM + 4)
        return 0x03; /* PMCSR power state */
    if (off >= VGT_CFG_OPREGION)
        return 0xff; /* ASLS */
    return 0;
}

static bool cfg_access_ok(uint32_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && off < VGT_CFG_SIZE &&
           size <= VGT_CFG_SIZE - off && !(off & (size - 1));
}

int vgt_cfg_read(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t *val)
{
    uint32_t r = 0;

    if (!cfg_access_ok(off, size)) {
        /* Beyond 256 bytes there is nothing on an i440FX guest. */
        *val = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
        return off >= VGT_CFG_SIZE ? 0 : -EINVAL;
    }
    for (unsigned i = 0; i < size; i++)
        r |= (uint32_t)v->cfg[off + i] << (8 * i);
    *val = r;
    return 0;
}

int vgt_cfg_write(struct vgt_vgpu *v, uint32_t off, unsigned size, uint32_t val)
{
    bool touch_bars = false;

    if (!cfg_access_ok(off, size))
        return off >= VGT_CFG_SIZE ? 0 : -EINVAL;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t m = wmask(v, o), b = (uint8_t)(val >> (8 * i));

        v->cfg[o] = (uint8_t)((v->cfg[o] & ~m) | (b & m));
        if (o == VGT_CFG_COMMAND || (o >= VGT_CFG_BAR0 && o < VGT_CFG_BAR0 + 16))
            touch_bars = true;
    }
    if (touch_bars)
        vgt_vgpu_remap_bars(v);
    if (off <= MSI_CTRL && off + size > MSI_CTRL)
        vgt_vgpu_update_irq(v);
    /* hvmloader writes ASLS as one dword: serve the OpRegion there. A bad
     * address only costs the guest its VBT (logged). */
    if (off == VGT_CFG_OPREGION && size == 4)
        (void)vgt_opregion_asls_write(v, get32(v->cfg, VGT_CFG_OPREGION));
    return 0;
}

/* Guest-physical base of a 64-bit BAR, or 0 when memory decoding is off,
 * the BAR is unplaced, or it holds the sizing pattern. */
uint64_t vgt_cfg_bar(const struct vgt_vgpu *v, unsigned bar_off, uint64_t size)
{
    uint64_t base = ((uint64_t)get32(v->cfg, bar_off + 4) << 32) | (get32(v->cfg, bar_off) & ~0xfu);

    if (!(v->cfg[VGT_CFG_COMMAND] & VGT_CMD_MEMORY) || base == 0)
        return 0;
    if (base == (~(size - 1) & ~0xfull) || base > UINT64_MAX - size)
        return 0;
    return base;
}

bool vgt_cfg_msi(const struct vgt_vgpu *v, uint64_t *addr, uint32_t *data)
{
    if (!(v->cfg[MSI_CTRL] & VGT_MSI_ENABLE))
        return false;
    *addr = get32(v->cfg, MSI_ADDR);
    *data = (uint32_t)v->cfg[MSI_DATA] | (uint32_t)v->cfg[MSI_DATA + 1] << 8;
    return true;
}

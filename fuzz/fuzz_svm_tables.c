/* Fuzz the VT-d model's table walks: the input overwrites the guest's
 * root, context, PASID and page tables (8-byte writes at offsets inside a
 * 16-page table area; values may point anywhere), picks RTADDR, then asks
 * for translations and page requests. Invariants: no crash, no host
 * access outside guest RAM (ASan), every failure carries a fault reason,
 * and a success is a page inside the guest's address space bounds.
 *
 * Byte 0: RTADDR's table page (bits 3..0); byte 1: the translation table
 * mode (bits 1..0: legacy, scalable, two invalid ones) and bit 2 asks for
 * a valid chain laid out first (scaffold below), which the writes then
 * mutate: random entries alone rarely get a walk past the root and
 * context entries to the PASID and page tables. Bit 3 of byte 1: after
 * the table writes, a count byte and that many register accesses
 * (offset16, size byte, value64) anywhere in and past the register block,
 * any size and alignment, through the ioreq handlers, each read back: the
 * guest's MMIO reaches every register (register-based invalidation, the
 * event registers, fault records, reserved space), and the walks below
 * then run with whatever it programmed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/iommu.h"
#include "fuzz_guest.h"
#include "vgt/sim_hv.h"

#define BASE 0x100000ull
#define AREA 0x10000ull

static uint64_t rd(const uint8_t **p, size_t *n, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
        v |= (uint64_t)**p << (8 * i);
    return v;
}

/* Page numbers inside the area. */
enum { P_ROOT, P_CTX, P_PDIR, P_PTAB, P_SS4, P_FS4, P_SS3, P_SS2, P_SS1, P_FS3, P_FS2, P_FS1 };

/* The area's image, written to the guest in one go (one write per entry
 * through the simulated p2m would cost more than the walks). */
static uint8_t img[AREA];

static void put64(unsigned page, unsigned idx, uint64_t v)
{
    memcpy(img + page * 0x1000u + idx * 8u, &v, 8);
}

static uint64_t pg(unsigned page)
{
    return BASE + page * 0x1000ull;
}

/* Every bus and devfn reaches one context, every PASID of the first 64
 * one of four entries (first stage, second stage, nested, pass-through),
 * and both stages map the first 2 MiB (4 KiB leaves into the area) and
 * the next 2 MiB (one large page). Bits from VT-d 3.x: root/context/PASID
 * entries (9.1-9.6), second-stage R 0, W 1, PS 7; first-stage P 0, RW 1,
 * US 2, A 5, D 6, PS 7. */
static void scaffold(bool scalable)
{
    for (unsigned b = 0; b < 256; b++) {
        put64(P_ROOT, 2 * b, pg(P_CTX) | VTD_ROOT_P);
        put64(P_ROOT, 2 * b + 1, scalable ? pg(P_CTX) | VTD_ROOT_P : 0);
    }
    for (unsigned d = 0; d < 128; d++) {
        if (scalable) {
            put64(P_CTX, 4 * d, pg(P_PDIR) | VTD_SCE_P | VTD_SCE_PRE);
        } else {
            put64(P_CTX, 4 * d, pg(P_SS4) | VTD_CE_P);
            put64(P_CTX, 4 * d + 1, 2 | (uint64_t)(d + 1) << 8); /* AW 4 levels, DID */
            put64(P_CTX, 4 * d + 2, pg(P_SS4) | VTD_CE_P | (d & 1 ? 2u << 2 : 0));
            put64(P_CTX, 4 * d + 3, 2 | (uint64_t)(d + 129) << 8);
        }
    }
    for (unsigned i = 0; i < 128; i++)
        put64(P_PDIR, i, pg(P_PTAB) | VTD_PDE_P);
    for (unsigned i = 0; i < 64; i++) {
        uint64_t pgtt = VTD_PGTT_FS + i % 4;

        put64(P_PTAB, 8 * i, pg(P_SS4) | VTD_PE0_P | 2u << 2 | pgtt << VTD_PE0_PGTT_SHIFT);
        put64(P_PTAB, 8 * i + 1, 1 + i);
        put64(P_PTAB, 8 * i + 2, pg(P_FS4) | (i & 4 ? VTD_PE2_SRE | VTD_PE2_WPE : 0));
    }
    put64(P_SS4, 0, pg(P_SS3) | 3);
    put64(P_SS3, 0, pg(P_SS2) | 3);
    put64(P_SS2, 0, pg(P_SS1) | 3);
    put64(P_SS2, 1, 0x200000 | 0x83);
    put64(P_FS4, 0, pg(P_FS3) | 0x67);
    put64(P_FS3, 0, pg(P_FS2) | 0x67);
    put64(P_FS2, 0, pg(P_FS1) | 0x67);
    put64(P_FS2, 1, 0x200000 | 0xe7);
    for (unsigned i = 0; i < 16; i++) {
        put64(P_SS1, i, pg(i) | (i & 1 ? 1 : 3));
        put64(P_FS1, i, pg(i) | (i & 1 ? 0x65 : 0x67));
    }
}

/* Size byte: bits 1..0 pick 1, 2, 4 or 8 bytes; bit 2 gives 3 (no such
 * access exists, the model must refuse it); bit 3 keeps the offset's low
 * bits (misaligned), else it is aligned to the size. */
static void reg_accesses(struct vgt_iommu *m, const uint8_t **p, size_t *n)
{
    unsigned count = (unsigned)rd(p, n, 1);

    for (unsigned i = 0; i < count && *n >= 11; i++) {
        struct vgt_io_access a = {.type = VGT_IO_MMIO};
        unsigned sel;
        uint64_t v, back;

        a.offset = rd(p, n, 2) & 0x1fff; /* the block is 0x1000: half past it */
        sel = (unsigned)rd(p, n, 1);
        v = rd(p, n, 8);
        a.size = (sel & 4) ? 3 : 1u << (sel & 3);
        if (!(sel & 8))
            a.offset &= ~(uint64_t)((a.size == 3 ? 4 : a.size) - 1);
        a.addr = a.offset;
        vgt_iommu_io_ops.write(m, &a, v);
        if (vgt_iommu_io_ops.read(m, &a, &back))
            abort(); /* reads never fail: reserved space reads as zero */
        /* Register-based invalidation completes at once (the model has
         * no queue behind it): the busy bit reads back clear. */
        if (a.size == 8 && a.offset == VTD_REG_CCMD && (v & VTD_CCMD_ICC) && (back & VTD_CCMD_ICC))
            abort();
        if (a.size == 8 && a.offset == VTD_MODEL_IRO + 8 && (v & VTD_IOTLB_IVT) && (back & VTD_IOTLB_IVT))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_guest *g = fuzz_sim_guest();
    struct vgt_hv *hv = sim_guest_hv(g);
    struct vgt_iommu_cfg cfg = {.hv = hv, .iotlb_entries = 16};
    struct vgt_iommu *m;
    uint64_t rta, mode;
    unsigned writes;

    if (size < 10)
        return 0;
    memset(img, 0, sizeof(img));
    if (vgt_iommu_create(&cfg, &m))
        abort();
    rta = BASE + (rd(&data, &size, 1) & 0xf) * 0x1000;
    mode = rd(&data, &size, 1);
    rta |= (mode & 3) << VTD_RTADDR_TTM_SHIFT; /* TTM */
    if (mode & 4)
        scaffold((mode & 3) == 1);
    vgt_hv_write(hv, BASE, img, sizeof(img));
    writes = (unsigned)rd(&data, &size, 1);
    /* Table contents: (offset16, value64) pairs; values that look like
     * pointers are steered into the area half of the time. */
    for (unsigned i = 0; i < writes && size >= 10; i++) {
        uint64_t off = rd(&data, &size, 2) & (AREA - 8);
        uint64_t v = rd(&data, &size, 8);

        if (v & (1ull << 62))
            v = (v & 0xfff) | (BASE + (v & (AREA - 1) & ~0xfffull));
        vgt_hv_write(hv, BASE + off, &v, 8);
    }
    vgt_iommu_mmio_write(m, VTD_REG_RTADDR, 8, rta);
    vgt_iommu_mmio_write(m, VTD_REG_PQA, 8, BASE + AREA - 0x1000);
    vgt_iommu_mmio_write(m, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
    vgt_iommu_mmio_write(m, VTD_REG_GCMD, 4, VTD_GCMD_TE);
    if (mode & 8)
        reg_accesses(m, &data, &size);
    while (size >= 8) {
        struct vgt_iommu_req r = {0};
        struct vgt_iommu_result res;
        uint64_t ctl = rd(&data, &size, 4);
        int ret;

        r.rid = (uint16_t)ctl;
        r.has_pasid = ctl & (1u << 16);
        r.write = ctl & (1u << 17);
        r.priv = ctl & (1u << 18);
        r.exec = ctl & (1u << 19);
        r.ats = ctl & (1u << 20);
        r.pasid = (uint32_t)(ctl >> 21) & 0x7ff;
        r.addr = rd(&data, &size, 4);
        /* Over a scaffold, mostly the 4 MiB both stages map. */
        r.addr = ((mode & 4) && !(r.addr & (1u << 31)) ? r.addr & 0x3ff : r.addr) << 12;
        if (ctl & (1u << 31))
            r.addr |= 0xffff800000000000ull;
        ret = vgt_iommu_translate(m, &r, &res);
        if (ret == -14 && !res.fault)
            abort(); /* every translation fault has a reason */
        if (ret == 0 && (res.page_size < 4096 || res.page_size > (1ull << 30)))
            abort();
        if (ctl & (1u << 30)) {
            struct vgt_iommu_prq p = {.rid = r.rid, .has_pasid = r.has_pasid, .pasid = r.pasid,
                                      .read = true, .lpig = true, .grp = (uint16_t)(ctl & 511),
                                      .addr = r.addr};

            vgt_iommu_page_request(m, &p);
        }
    }
    vgt_iommu_destroy(m);
    return 0;
}

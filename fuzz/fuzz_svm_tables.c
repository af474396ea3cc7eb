/* Fuzz the VT-d model's table walks: the input overwrites the guest's
 * root, context, PASID and page tables (8-byte writes at offsets inside a
 * 16-page table area; values may point anywhere), picks RTADDR, then asks
 * for translations and page requests. Invariants: no crash, no host
 * access outside guest RAM (ASan), every failure carries a fault reason,
 * and a success is a page inside the guest's address space bounds. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_guest *g = fuzz_sim_guest();
    struct vgt_hv *hv = sim_guest_hv(g);
    struct vgt_iommu_cfg cfg = {.hv = hv, .iotlb_entries = 16};
    struct vgt_iommu *m;
    static uint8_t zero[AREA];
    uint64_t rta;
    unsigned writes;

    if (size < 10)
        return 0;
    vgt_hv_write(hv, BASE, zero, sizeof(zero));
    if (vgt_iommu_create(&cfg, &m))
        abort();
    rta = BASE + (rd(&data, &size, 1) & 0xf) * 0x1000;
    rta |= rd(&data, &size, 1) & 0xc00; /* TTM */
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
        r.addr = rd(&data, &size, 4) << 12;
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

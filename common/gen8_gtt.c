#include "vgt/gen8_gtt.h"

#include <errno.h>

static int fault(struct gen8_walk *w, int why, int level, uint64_t entry)
{
    w->fault = why;
    w->fault_level = level;
    w->fault_entry = entry;
    return -EFAULT;
}

int gen8_ppgtt_walk(gen8_read64_fn rd, void *opaque, uint64_t pml4, uint64_t va,
                    struct gen8_walk *w)
{
    uint64_t table = pml4 & GEN8_PTE_ADDR_MASK;
    uint64_t e = 0;

    w->pa = 0;
    w->page_size = 0;
    w->writable = true;
    w->fault = GEN8_WALK_OK;
    w->fault_level = GEN8_LVL_PML4;
    w->fault_entry = 0;
    if (va >> GEN8_PPGTT_VA_BITS)
        return fault(w, GEN8_WALK_NON_CANONICAL, GEN8_LVL_PML4, 0);

    for (int level = GEN8_LVL_PML4; level >= GEN8_LVL_PT; level--) {
        unsigned idx = gen8_pt_index(va, level);
        bool ips = false;

        if (level == GEN8_LVL_PT && w->page_size == (64u << 10)) {
            /* 64 KiB table: one entry per 16 slots. */
            idx = ((unsigned)(va >> 16) & 0x1f) * 16;
            ips = true;
        }
        if (rd(opaque, table + (uint64_t)idx * 8, &e))
            return fault(w, GEN8_WALK_READ_FAILED, level, 0);
        if (!(e & GEN8_PTE_PRESENT))
            return fault(w, GEN8_WALK_NOT_PRESENT, level, e);
        if (e & GEN8_PTE_RSVD_MASK)
            return fault(w, GEN8_WALK_RESERVED, level, e);
        if (!(e & GEN8_PTE_RW))
            w->writable = false;
        if (level == GEN8_LVL_PDP && (e & GEN8_PDPE_PS_1G))
            return fault(w, GEN8_WALK_RESERVED, level, e);
        if (level == GEN8_LVL_PD && (e & GEN8_PDE_PS_2M)) {
            uint64_t base = e & GEN8_PTE_ADDR_MASK & ~((2ull << 20) - 1);
            w->page_size = 2ull << 20;
            w->pa = base | (va & ((2ull << 20) - 1));
            return 0;
        }
        if (level == GEN8_LVL_PD && (e & GEN8_PDE_IPS_64K))
            w->page_size = 64u << 10; /* remembered for the PT level */
        if (level == GEN8_LVL_PT) {
            if (ips) {
                uint64_t base = e & GEN8_PTE_ADDR_MASK & ~((64ull << 10) - 1);
                w->pa = base | (va & ((64ull << 10) - 1));
                w->page_size = 64u << 10;
            } else {
                w->pa = (e & GEN8_PTE_ADDR_MASK) | (va & 0xfff);
                w->page_size = 4096;
            }
            return 0;
        }
        table = e & GEN8_PTE_ADDR_MASK;
    }
    return fault(w, GEN8_WALK_NOT_PRESENT, GEN8_LVL_PT, e); /* not reached */
}

/* Gen8+/Gen9 GTT entry formats and the 4-level PPGTT walk.
 *
 * Sources: Linux i915 gt/intel_gtt.h (GEN8_PAGE_PRESENT bit 0,
 * GEN8_PAGE_RW bit 1, GEN8_PDE_PS_2M bit 7, GEN8_PDE_IPS_64K bit 11,
 * 48-bit 4-level PPGTT, 512 entries per level) and the architecture
 * document. Gen9 addresses are 39 bits wide (bits 38..12 of an entry).
 *
 * The walk is shared: the simulated GPU translates with it, and the
 * shadow-GTT oracle compares shadows against it. A 64 KiB page table
 * (PDE with IPS) is used the way i915 fills it: one PTE every 16 slots,
 * slot = 16 * va[20:16], each mapping 64 KiB. */
#ifndef VGT_GEN8_GTT_H
#define VGT_GEN8_GTT_H

#include <stdbool.h>
#include <stdint.h>

#define GEN8_PTE_PRESENT (1ull << 0)
#define GEN8_PTE_RW (1ull << 1)
#define GEN8_PDE_PS_2M (1ull << 7)   /* in a PDE: maps 2 MiB */
#define GEN8_PDPE_PS_1G (1ull << 7)  /* in a PDPE: 1 GiB (vgt rejects it) */
#define GEN8_PDE_IPS_64K (1ull << 11)
#define GEN8_PTE_ADDR_MASK 0x0000007ffffff000ull  /* bits 38..12 */
/* Bits a Gen9 entry must keep clear (above the address, below bit 63). */
#define GEN8_PTE_RSVD_MASK 0x7fffff8000000000ull

#define GEN8_PPGTT_VA_BITS 48
#define GEN8_PTES_PER_PAGE 512
#define GEN8_GGTT_PTE_SIZE 8

enum gen8_level { GEN8_LVL_PT = 0, GEN8_LVL_PD = 1, GEN8_LVL_PDP = 2, GEN8_LVL_PML4 = 3 };

static inline unsigned gen8_pt_index(uint64_t va, int level)
{
    return (unsigned)((va >> (12 + 9 * level)) & 0x1ff);
}

/* Reads one 64-bit entry at a physical address of the walker's space.
 * Returns 0 or a negative errno (the walk then faults). */
typedef int (*gen8_read64_fn)(void *opaque, uint64_t pa, uint64_t *val);

enum gen8_walk_fault {
    GEN8_WALK_OK = 0,
    GEN8_WALK_NOT_PRESENT = 1,
    GEN8_WALK_RESERVED = 2,   /* reserved bits set, or a 1 GiB page */
    GEN8_WALK_READ_FAILED = 3, /* the table itself was unreachable */
    GEN8_WALK_NON_CANONICAL = 4,
};

struct gen8_walk {
    uint64_t pa;          /* translated address (valid when fault == OK) */
    uint64_t page_size;   /* 4 KiB, 64 KiB or 2 MiB */
    bool writable;        /* RW at every level */
    int fault;            /* enum gen8_walk_fault */
    int fault_level;      /* enum gen8_level where it stopped */
    uint64_t fault_entry; /* the offending entry */
};

/* Walk a 4-level PPGTT rooted at @pml4 (physical, 4 KiB aligned) for @va.
 * Returns 0 on success, -EFAULT on a fault (details in *w). */
int gen8_ppgtt_walk(gen8_read64_fn rd, void *opaque, uint64_t pml4, uint64_t va,
                    struct gen8_walk *w);

#endif

/* Unit-test environment for the VT-d model: a fake guest (sim/fake
 * fake_hv) whose "kernel" builds tables directly in guest RAM (as guest CPU
 * writes) and programs the unit by calling its MMIO handlers. The
 * end-to-end tests do the same through sim/guest and the ioreq path. */
#ifndef VGT_TEST_VTD_ENV_H
#define VGT_TEST_VTD_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_hv.h"
#include "vgt/iommu.h"

struct vtd_env {
    struct sim_arena *arena;
    struct fake_hv *f;
    struct vgt_iommu *m;
    uint64_t next_page; /* bump allocator for guest pages */
    uint64_t ram;
    uint64_t root;      /* root table gpa */
    uint64_t iq;        /* invalidation queue gpa (one page, 256-bit) */
    uint64_t iq_tail;
    uint64_t pq;        /* page request queue gpa (one page) */
    uint64_t status;    /* wait-descriptor status page */
    uint32_t gcmd;
};

/* ram: guest RAM bytes (e.g. 32 MiB). */
void vtd_env_init(struct vtd_env *e, uint64_t ram, unsigned seed);
void vtd_env_fini(struct vtd_env *e);
uint64_t vtd_alloc(struct vtd_env *e);                 /* zeroed guest page */
void vtd_w64(struct vtd_env *e, uint64_t gpa, uint64_t v);
uint64_t vtd_r64(struct vtd_env *e, uint64_t gpa);
void vtd_mw(struct vtd_env *e, unsigned off, unsigned size, uint64_t v);
uint64_t vtd_mr(struct vtd_env *e, unsigned off, unsigned size);

/* Root table + QI + PQ, then translation on. scalable false: legacy. */
void vtd_enable(struct vtd_env *e, bool scalable);

/* Scalable context for rid: PASID directory with 2^(pdts+7) entries;
 * flags: VTD_SCE_PRE/DTE/PASIDE/FPD. Returns the directory gpa. */
uint64_t vtd_sm_context(struct vtd_env *e, uint16_t rid, unsigned pdts, uint64_t flags,
                        uint32_t rid_pasid);
/* PASID entry (qw0..qw2) for pasid in the directory at dir. Returns its gpa. */
uint64_t vtd_pasid_entry(struct vtd_env *e, uint64_t dir, uint32_t pasid, uint64_t qw0,
                         uint64_t qw1, uint64_t qw2);
/* Legacy context entry. */
void vtd_legacy_context(struct vtd_env *e, uint16_t rid, uint64_t lo, uint64_t hi);

/* First-stage (x86-64) mapping in the table rooted at root (levels 4/5).
 * size 4K, 2M or 1G; flags P/RW/US/XD... (P and the table bits are set
 * by the helper on intermediate levels: P|RW|US). Returns the leaf
 * entry's gpa. Table pointers are guest-physical. */
uint64_t vtd_fs_map(struct vtd_env *e, uint64_t root, unsigned levels, uint64_t va, uint64_t pa,
                    uint64_t size, uint64_t flags);
/* Second-stage mapping (R/W bits in perm) in a 4-level table. */
uint64_t vtd_ss_map(struct vtd_env *e, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
                    uint64_t size, uint64_t perm);

/* Queue one invalidation descriptor and move IQT. */
void vtd_qi(struct vtd_env *e, uint64_t q0, uint64_t q1, uint64_t q2, uint64_t q3);
/* Wait descriptor with status write; returns true when the status landed. */
bool vtd_qi_wait(struct vtd_env *e);

int vtd_xlate(struct vtd_env *e, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t addr,
              bool write, bool priv, struct vgt_iommu_result *res);

#endif

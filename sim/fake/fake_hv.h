/* Doubles of the two seams, for component unit tests, benchmarks and fuzz
 * targets that do not need the whole simulated platform (end-to-end tests
 * use sim/hv and sim/gpu instead).
 *
 * fake_hv: one guest's RAM carved out of a sim_arena through a scrambled
 * p2m (never the identity), write protection with HVMMEM_ioreq_server
 * semantics, an MSI log. fake_hv_guest_* are what the guest CPU does:
 * writes to a write-protected gfn are not applied but handed to the
 * handler, split as the hypervisor would (aligned pieces of at most 8
 * bytes inside one page).
 *
 * fake_hostgpu: a register file, a GGTT array and device-reachable pages
 * from the same arena. */
#ifndef VGT_TEST_FAKE_HV_H
#define VGT_TEST_FAKE_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/hostgpu.h"
#include "vgt/hv.h"
#include "vgt/sim_arena.h"

enum fake_hv_layout {
    FAKE_HV_SCRAMBLE_4K = 0, /* every gfn lands on a random frame */
    FAKE_HV_SCRAMBLE_2M = 1, /* 2 MiB blocks contiguous, block order random */
};

struct fake_hv {
    struct vgt_hv hv; /* first: the seam users see */
    struct sim_arena *arena;
    uint64_t *p2m; /* gfn -> hpa */
    uint8_t *wp;   /* per gfn: write-protected */
    vgt_hv_wp_fn wp_fn;
    void *wp_opaque;
    uint64_t wp_traps;   /* writes handed to wp_fn */
    uint64_t wp_calls;   /* set_wp calls */
    uint64_t nr_msi;
    uint64_t last_msi_addr;
    uint32_t last_msi_data;
    uint64_t dirty_pages;
    uint64_t backing;    /* first hpa of the guest's frames */
    uint64_t nr_backing; /* frames owned */
};

int fake_hv_create(struct sim_arena *a, uint16_t domid, uint64_t ram_bytes,
                   enum fake_hv_layout layout, unsigned seed, struct fake_hv **out);
void fake_hv_destroy(struct fake_hv *f);

/* Guest CPU accesses. */
int fake_hv_guest_read(struct fake_hv *f, uint64_t gpa, void *buf, size_t len);
int fake_hv_guest_write(struct fake_hv *f, uint64_t gpa, const void *buf, size_t len);
int fake_hv_guest_write64(struct fake_hv *f, uint64_t gpa, uint64_t val);
int fake_hv_guest_write32(struct fake_hv *f, uint64_t gpa, uint32_t val);
/* Host pointer to a guest frame (tests only; the code under test must use
 * the seam). NULL outside RAM. */
void *fake_hv_gfn_ptr(struct fake_hv *f, uint64_t gfn);
bool fake_hv_is_wp(const struct fake_hv *f, uint64_t gfn);

struct fake_hostgpu {
    struct vgt_hostgpu gpu; /* first: the seam users see */
    struct sim_arena *arena;
    uint32_t *regs;     /* 2 MiB register window */
    uint64_t *ggtt;     /* gm_size / 4 KiB entries */
    uint64_t nr_ggtt;
    uint64_t pages_live;
    vgt_hostgpu_irq_fn irq_fn;
    void *irq_opaque;
};

int fake_hostgpu_create(struct sim_arena *a, uint64_t gm_size, uint64_t aperture_size,
                        unsigned fences, struct fake_hostgpu **out);
void fake_hostgpu_destroy(struct fake_hostgpu *g);

#endif

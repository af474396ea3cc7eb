/* The simulated platform's host-physical memory.
 *
 * One arena of host memory stands for the machine's RAM. The simulated
 * hypervisor carves guest RAM out of it (through a scrambled p2m), the
 * simulated GPU reaches it only through its GTTs, and the mediator's host
 * DMA pages come from it too. Host-physical addresses start at
 * SIM_ARENA_HPA_BASE, not 0, so a guest-physical or graphics address used
 * by mistake as a host address misses the arena and is caught.
 *
 * Thread-safe: allocation is locked; access through sim_arena_ptr is plain
 * memory (callers synchronise the data they share). */
#ifndef VGT_SIM_ARENA_H
#define VGT_SIM_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_ARENA_HPA_BASE 0x2000000000ull /* 128 GiB */
/* Imported pages: above the largest arena (64 GiB from 128 GiB). */
#define SIM_ARENA_EXT_BASE 0x4000000000ull /* 256 GiB */

struct sim_arena;

/* Reserve @bytes (rounded up to 2 MiB) of lazily backed host memory. */
int sim_arena_create(uint64_t bytes, struct sim_arena **out);
void sim_arena_destroy(struct sim_arena *a);

/* Allocate @nr frames. With @align_frames > 1 the run is contiguous and
 * starts at a multiple of @align_frames; with 1 it is contiguous too (the
 * caller asks for what it needs). Frames are zeroed. *hpa is the first
 * frame's host-physical address. -ENOMEM when no run fits. */
int sim_arena_alloc(struct sim_arena *a, uint64_t nr, uint64_t align_frames, uint64_t *hpa);
int sim_arena_free(struct sim_arena *a, uint64_t hpa, uint64_t nr);

/* A page of this process that is not arena RAM (a real guest's frame
 * mapped with xenforeignmemory_map, when the simulated GPU serves a real
 * Xen guest) gets a host-physical address of its own above
 * SIM_ARENA_EXT_BASE, so the simulated GPU reaches it through its GTT like
 * any frame. The caller keeps the page mapped until sim_arena_unimport.
 * -EINVAL for an unaligned page, -ENOSPC when every slot is taken. */
int sim_arena_import(struct sim_arena *a, void *page, uint64_t *hpa);
/* -EINVAL for an address that is not an imported page. */
int sim_arena_unimport(struct sim_arena *a, uint64_t hpa);

/* CPU pointer for [hpa, hpa+len), or NULL when any byte is outside the
 * arena (an imported page: within that one page). Never faults the host
 * for a bad address. */
void *sim_arena_ptr(struct sim_arena *a, uint64_t hpa, size_t len);
bool sim_arena_contains(const struct sim_arena *a, uint64_t hpa, size_t len);
uint64_t sim_arena_frames_free(struct sim_arena *a);
uint64_t sim_arena_size(const struct sim_arena *a);

#endif

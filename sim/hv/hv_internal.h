/* Internals of the simulated hypervisor shared by hv.c (guests, routing)
 * and backend.c (the emulator's ioreq-server backend and its event
 * channels). */
#ifndef VGT_SIM_HV_INTERNAL_H
#define VGT_SIM_HV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/hvm/ioreq.h>

#include "vgt/ioreq_server.h"
#include "vgt/sim_hv.h"

#define NR_IO_TYPES 3
#define INVALID_HPA (~0ull)

struct sim_be;

struct sim_range {
    uint64_t start, end; /* inclusive */
};

/* One ioreq server as the hypervisor keeps it. Created and destroyed by
 * its backend; routing fields are protected by the guest's route lock. */
struct sim_srv {
    struct sim_guest *g;
    struct sim_be *be;
    unsigned id;
    bool enabled;
    atomic_bool dead;
    atomic_int in_flight; /* vCPUs between selecting and completing */
    struct sim_range ranges[NR_IO_TYPES][VGT_IOREQ_MAX_RANGES]; /* sorted */
    unsigned nr_ranges[NR_IO_TYPES];
    shared_iopage_t *sync;
    uint64_t sync_hpa;
    buffered_iopage_t *buf; /* NULL without buffering */
    uint64_t buf_hpa;
    pthread_mutex_t buf_lock; /* one producer at a time on the ring */
    uint32_t remote_base;     /* vCPU i's port is remote_base + i; buf is + nr */
};

struct sim_vcpu {
    int efd;          /* the vCPU waits here for IORESP_READY */
    atomic_bool busy; /* one thread per vCPU */
};

struct sim_hv {
    struct sim_arena *arena;
    const struct vgt_log *log;
    uint64_t seed;
    pthread_mutex_t lock;
    unsigned nr_guests;
    uint16_t domids[64];
};

struct sim_guest {
    struct sim_hv *hv;
    const struct vgt_log *log;
    uint16_t domid;
    unsigned nr_vcpus;
    uint64_t ram_bytes;
    uint64_t max_gfn;
    uint64_t *p2m;             /* gfn -> hpa, INVALID_HPA for holes */
    _Atomic uint8_t *wp;       /* per gfn: HVMMEM_ioreq_server */
    _Atomic uint64_t *dirty;   /* bitmap per gfn */
    struct sim_vcpu *vcpus;
    struct vgt_hv seam;

    pthread_rwlock_t route;    /* servers, their ranges and state */
    struct sim_srv *srv[VGT_IOREQ_MAX_SERVERS];
    struct sim_srv *wp_owner;
    uint32_t cf8;              /* latched 0xCF8 (per domain, as Xen) */
    pthread_mutex_t pci_lock;  /* the guest kernel's config-space lock */

    pthread_mutex_t msi_lock;
    pthread_cond_t msi_cond;
    sim_msi_fn msi_fn;
    void *msi_opaque;
    struct sim_msi *msi_q;
    unsigned msi_head, msi_count;

    /* Frames ballooned out: poisoned and kept until the guest goes, so
     * that a write through a stale translation shows. */
    pthread_mutex_t balloon_lock;
    uint64_t *ballooned;
    size_t nr_ballooned, cap_ballooned;

    _Atomic uint64_t st_ioreqs, st_buffered, st_unclaimed, st_wp_fwd, st_wp_drop, st_msi,
        st_msi_drop, st_aborted;
};

/* backend.c: event-channel delivery from the hypervisor to the emulator.
 * @which is a vCPU index, or srv->g->nr_vcpus for the buffered port. */
void sim_be_deliver(struct sim_be *be, unsigned which);

/* hv.c: server life cycle and routing, called by backend.c. */
int sim_hv_srv_create(struct sim_guest *g, struct sim_be *be, bool bufioreq,
                      struct sim_srv **out);
void sim_hv_srv_destroy(struct sim_srv *srv);
int sim_hv_srv_map(struct sim_srv *srv, int type, uint64_t start, uint64_t end);
int sim_hv_srv_unmap(struct sim_srv *srv, int type, uint64_t start, uint64_t end);
int sim_hv_srv_enable(struct sim_srv *srv, bool on);
int sim_hv_srv_claim_wp(struct sim_srv *srv);
int sim_hv_set_wp(struct sim_guest *g, uint64_t gfn, uint64_t nr, bool protect);
/* The emulator completed vCPU @vcpu's slot. */
void sim_hv_wake_vcpu(struct sim_guest *g, unsigned vcpu);

#endif

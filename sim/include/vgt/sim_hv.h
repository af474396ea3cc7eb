/* The simulated hypervisor: guests with RAM, vCPUs, ioreq delivery and MSIs.
 *
 * It implements the hypervisor side of Xen's ioreq protocol byte for byte
 * (ARCHITECTURE.md, "The simulated platform must be honest"), so the ioreq
 * engine cannot tell it from Xen except for eventfds standing in for event
 * channels. There are two sides:
 *
 *  - the GUEST side (sim_guest_*): what code running on a guest vCPU can
 *    do: loads and stores to guest-physical addresses (RAM, or MMIO that
 *    becomes an ioreq), port I/O, PCI config through 0xCF8/0xCFC, rep
 *    string I/O, and receiving MSIs. Guest drivers (sim/guest) use ONLY
 *    this side; they never call into an emulator.
 *  - the EMULATOR side: an ioreq-server backend per emulator
 *    (sim_hv_ioreq_backend_create, given to vgt_ioreq_server_create), whose
 *    hv seam (vgt_ioreq_server_hv) reads and writes guest RAM through the
 *    p2m, translates gfns to host-physical frames of the arena, write-
 *    protects gfns, injects MSIs and marks pages dirty.
 *
 * Guest-physical memory map (as an x86 HVM guest under Xen):
 *   RAM    [0, 0xA0000) and [0x100000, min(ram, HVM_BELOW_4G_RAM_END))
 *   VGA    [0xA0000, 0xC0000): not RAM (an emulator may claim it)
 *   hole   [HVM_BELOW_4G_RAM_END (0xF0000000), 4 GiB): MMIO, not RAM
 *   RAM    [4 GiB, 4 GiB + the rest)
 * The RAM below 1 MiB between 0xC0000 and 0x100000 is RAM too. Anything
 * that is not RAM is MMIO: an access there becomes an IOREQ_TYPE_COPY
 * ioreq for the server that claims it. Every RAM frame comes from the
 * sim_arena in a scrambled order (the p2m is never the identity).
 *
 * Xen's routing rules (xen/arch/x86/hvm/ioreq.c, hvm_select_ioreq_server):
 * up to 8 servers per domain (ids 0..7, lowest free id first); an access
 * goes to the enabled server with the HIGHEST id that has one range
 * containing all of it; writes to write-protected RAM (HVMMEM_ioreq_server)
 * go to the one server that claimed that type, as IOREQ_TYPE_COPY writes
 * of 1/2/4/8 bytes, and are NOT applied to RAM; unclaimed reads return all
 * ones and unclaimed writes are dropped.
 *
 * Buffered ioreqs: a write (count 1, no pointer) to the legacy VGA window
 * [0xA0000, 0xBFFFF] goes through the buffered ring of the selected server
 * when that server was created with buffering, as Xen's stdvga does; the
 * vCPU does not wait. sim_guest_set_timeoffset sends TIMEOFFSET the same
 * way (Xen's send_timeoffset_req).
 *
 * Threading: each vCPU index may be used by one thread at a time (a second
 * concurrent user gets -EBUSY). sim_guest_run_vcpus runs a function on one
 * thread per vCPU. A vCPU that made an MMIO/PIO/config access blocks until
 * the emulator completes it (there must be an emulator thread serving the
 * server, e.g. vgt_ioreq_server_run on its own thread).
 *
 * All functions return 0 or a negative errno. */
#ifndef VGT_SIM_HV_H
#define VGT_SIM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/hv.h"
#include "vgt/log.h"
#include "vgt/sim_arena.h"

struct sim_hv;
struct sim_guest;
struct vgt_ioreq_backend;

#define SIM_HV_MAX_VCPUS 128   /* one shared_iopage_t page of slots */
#define SIM_HV_MAX_RAM (16ull << 30)
#define SIM_HV_LOW_RAM_END 0xF0000000ull /* HVM_BELOW_4G_RAM_END, <xen/hvm/e820.h> */
#define SIM_HV_VGA_START 0xA0000ull
#define SIM_HV_VGA_END 0xBFFFFull        /* inclusive */
#define SIM_HV_HIGH_RAM_START (1ull << 32)

struct sim_hv_cfg {
    struct sim_arena *arena;   /* guest RAM and ioreq pages come from here */
    const struct vgt_log *log; /* may be NULL */
    uint64_t seed;             /* p2m scrambling; 0 picks a fixed default */
};

int sim_hv_create(const struct sim_hv_cfg *cfg, struct sim_hv **out);
/* Guests must be destroyed first (-EBUSY otherwise, nothing freed). */
int sim_hv_destroy(struct sim_hv *hv);

struct sim_guest_cfg {
    uint16_t domid;     /* unique within the hypervisor, not 0 (dom0) */
    uint64_t ram_bytes; /* multiple of 4 KiB, >= 2 MiB, <= SIM_HV_MAX_RAM */
    unsigned nr_vcpus;  /* 1..SIM_HV_MAX_VCPUS */
};

int sim_guest_create(struct sim_hv *hv, const struct sim_guest_cfg *cfg, struct sim_guest **out);
/* Every emulator (ioreq server) of the guest must be destroyed first
 * (-EBUSY otherwise), and no vCPU thread may still run. */
int sim_guest_destroy(struct sim_guest *g);

uint16_t sim_guest_domid(const struct sim_guest *g);
unsigned sim_guest_nr_vcpus(const struct sim_guest *g);
uint64_t sim_guest_ram_bytes(const struct sim_guest *g);
/* One past the highest RAM gfn (the hv seam's max_gfn). */
uint64_t sim_guest_max_gfn(const struct sim_guest *g);
bool sim_guest_gfn_is_ram(const struct sim_guest *g, uint64_t gfn);
struct sim_arena *sim_guest_arena(const struct sim_guest *g);

/* The emulator-side hv seam of the guest WITHOUT an ioreq server: guest
 * RAM, gfn_to_dma, inject_msi, mark_dirty. set_wp/set_wp_handler need a
 * server (use vgt_ioreq_server_hv) and return -EOPNOTSUPP here. */
struct vgt_hv *sim_guest_hv(struct sim_guest *g);

/* ---- guest side: what code on vCPU @vcpu does ---- */

/* A load/store of 1, 2, 4 or 8 bytes at a guest-physical address. RAM is
 * read/written directly (a store to a write-protected gfn is forwarded and
 * not applied); anything else becomes an ioreq. An access may not cross a
 * page (-EINVAL). */
int sim_guest_mmio_read(struct sim_guest *g, unsigned vcpu, uint64_t gpa, unsigned size,
                        uint64_t *val);
int sim_guest_mmio_write(struct sim_guest *g, unsigned vcpu, uint64_t gpa, unsigned size,
                         uint64_t val);

/* Port I/O of 1, 2 or 4 bytes (in/out). */
int sim_guest_pio_read(struct sim_guest *g, unsigned vcpu, uint16_t port, unsigned size,
                       uint32_t *val);
int sim_guest_pio_write(struct sim_guest *g, unsigned vcpu, uint16_t port, unsigned size,
                        uint32_t val);

/* rep ins/outs/movs between a device and guest RAM: one ioreq with
 * data_is_ptr = 1. @read: device -> RAM at @buf_gpa. @df steps backwards
 * (both sides) from @addr and @buf_gpa. An mmio store (!read) whose @addr
 * span is all RAM is a rep movs RAM -> RAM: copied item by item, or, when
 * a page of it is write-protected, sent whole to the write-protection
 * owner as one data_is_ptr COPY write (Xen's hvmemul_rep_movs). */
struct sim_rep_io {
    bool mmio;        /* false: port I/O, the port stays fixed */
    bool read;
    bool df;
    uint64_t addr;    /* port or guest-physical address of the first item */
    unsigned size;    /* 1, 2, 4 or 8 */
    uint32_t count;
    uint64_t buf_gpa; /* guest RAM of the first item */
};
int sim_guest_rep_io(struct sim_guest *g, unsigned vcpu, const struct sim_rep_io *r);

/* PCI configuration through 0xCF8/0xCFC (configuration mechanism #1,
 * i440FX: 256 bytes per function, bus 0..255). A write of the address to
 * 0xCF8 then an access to 0xCFC + (reg & 3); the pair is serialised per
 * guest (the guest kernel's pci config lock). A function nobody claims
 * reads all ones, except the i440FX host bridge the hypervisor provides at
 * 00:00.0 (8086:1237). @reg + @size <= 256 and the access may not cross a
 * dword. */
int sim_guest_pci_read(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev,
                       uint8_t fn, unsigned reg, unsigned size, uint32_t *val);
int sim_guest_pci_write(struct sim_guest *g, unsigned vcpu, uint8_t bus, uint8_t dev,
                        uint8_t fn, unsigned reg, unsigned size, uint32_t val);

/* Bulk copies to/from guest RAM as the vCPU's stores/loads: -EFAULT if any
 * byte is not RAM (nothing is done then). Stores to write-protected gfns
 * are forwarded as naturally aligned 1/2/4/8-byte COPY writes to the
 * server that claimed HVMMEM_ioreq_server, and not applied. */
int sim_guest_ram_read(struct sim_guest *g, unsigned vcpu, uint64_t gpa, void *buf, size_t len);
int sim_guest_ram_write(struct sim_guest *g, unsigned vcpu, uint64_t gpa, const void *buf,
                        size_t len);

/* The guest changed its p2m: IOREQ_TYPE_INVALIDATE (size 4, write, count
 * 0, data all ones) to every enabled server, on @vcpu's slot, waiting for
 * each completion. */
int sim_guest_invalidate(struct sim_guest *g, unsigned vcpu);
/* Ballooning (XENMEM_decrease_reservation / populate_physmap): the p2m
 * changes, then INVALIDATE goes to every enabled server as above.
 * balloon_out: [gfn, gfn+nr) must be RAM; the gfns become holes (-EFAULT
 * for every seam op) and lose write protection; their frames are filled
 * with SIM_HV_BALLOON_POISON and never reused while the guest lives.
 * balloon_in: the gfns must be holes that were RAM (not the VGA or MMIO
 * hole); each gets a fresh zeroed frame. */
#define SIM_HV_BALLOON_POISON 0x6b
int sim_guest_balloon_out(struct sim_guest *g, unsigned vcpu, uint64_t gfn, uint64_t nr);
int sim_guest_balloon_in(struct sim_guest *g, unsigned vcpu, uint64_t gfn, uint64_t nr);
/* Whether the ballooned-out frame at host-physical @hpa still holds only
 * the poison (false too when @hpa was never ballooned out). */
bool sim_guest_ballooned_intact(struct sim_guest *g, uint64_t hpa);

/* The guest moved its RTC by @seconds: a buffered TIMEOFFSET to every
 * enabled server that has a buffered ring. */
int sim_guest_set_timeoffset(struct sim_guest *g, int64_t seconds);

/* Run @fn(g, vcpu, opaque) on @n threads, vCPUs 0..n-1 (n <= nr_vcpus).
 * run_vcpus waits for all and returns the first non-zero result. */
typedef int (*sim_vcpu_fn)(struct sim_guest *g, unsigned vcpu, void *opaque);
struct sim_vcpus;
int sim_guest_start_vcpus(struct sim_guest *g, unsigned n, sim_vcpu_fn fn, void *opaque,
                          struct sim_vcpus **out);
int sim_guest_join_vcpus(struct sim_vcpus *v);
int sim_guest_run_vcpus(struct sim_guest *g, unsigned n, sim_vcpu_fn fn, void *opaque);

/* ---- guest side: interrupts ---- */

struct sim_msi {
    uint64_t addr; /* as programmed in the device's MSI capability */
    uint32_t data; /* vector in bits 7..0 */
};
/* With a handler, an injected MSI calls it on the injecting (emulator)
 * thread; it must not block. Without one (NULL), MSIs are queued (up to
 * SIM_HV_MSI_QUEUE; more are dropped and counted) for sim_guest_wait_msi. */
#define SIM_HV_MSI_QUEUE 4096
typedef void (*sim_msi_fn)(void *opaque, const struct sim_msi *msi);
int sim_guest_set_msi_handler(struct sim_guest *g, sim_msi_fn fn, void *opaque);
/* Wait up to @timeout_ms (-1 forever) for a queued MSI: -ETIMEDOUT. */
int sim_guest_wait_msi(struct sim_guest *g, int timeout_ms, struct sim_msi *msi);

/* ---- hypervisor-side inspection (tests, demos) ---- */

struct sim_guest_stats {
    uint64_t ioreqs;       /* synchronous ioreqs sent */
    uint64_t buffered;     /* buffered ioreqs sent */
    uint64_t unclaimed;    /* accesses nobody claimed */
    uint64_t wp_forwarded; /* RAM stores forwarded to the wp owner */
    uint64_t wp_dropped;   /* RAM stores to wp gfns with no owner */
    uint64_t msi;          /* MSIs delivered */
    uint64_t msi_dropped;  /* MSIs lost to a full queue */
    uint64_t aborted;      /* requests whose server died under them */
};
void sim_guest_get_stats(struct sim_guest *g, struct sim_guest_stats *st);
/* Whether an emulator marked @gfn dirty since the last call; clears it. */
bool sim_guest_test_and_clear_dirty(struct sim_guest *g, uint64_t gfn);
bool sim_guest_gfn_is_wp(const struct sim_guest *g, uint64_t gfn);

/* ---- emulator side: the ioreq-server backend ---- */

/* A backend for vgt_ioreq_server_create() serving guest @g: an ioreq
 * server of the simulated hypervisor (created by the engine's create
 * call), eventfds in place of event channels. Its hv seam is the guest's
 * (see sim_guest_hv), extended by the engine with write protection. */
int sim_hv_ioreq_backend_create(struct sim_guest *g, const struct vgt_log *log,
                                struct vgt_ioreq_backend **out);

#endif

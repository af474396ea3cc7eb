/* Internals of the simulated Gen9 GPU shared by gpu.c (registers, GGTT,
 * interrupts, the seam) and engine.c (command streamers). */
#ifndef VGT_SIM_GPU_PRIV_H
#define VGT_SIM_GPU_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vgt/cmd_decoder.h"
#include "vgt/gen8_gtt.h"
#include "vgt/hostgpu.h"
#include "vgt/log.h"
#include "vgt/sim_arena.h"
#include "vgt/sim_gpu.h"
#include "vgt/sim_gpu_regs.h"

#define SIM_GPU_NUM_ENGINES 4 /* RCS, BCS, VCS, VECS (VGT_ENGINE_* order) */
#define SIM_GPU_GM_SIZE (4ull << 30) /* the most, and the default */
#define SIM_GPU_GGTT_ENTRIES (SIM_GPU_GM_SIZE >> 12)
#define SIM_GPU_GGTT_BLOCK 512 /* entries: one 4 KiB page of the GGTT */
#define SIM_GPU_TLB_SIZE 64
/* Longest command the tables can encode: a 16-bit DWord Length (genxml
 * MEDIA_* commands) + bias 2 (256 KiB per engine). */
#define SIM_GPU_MAX_CMD_DWORDS ((1u << 16) + 2)

enum sim_space { SPACE_GGTT = 0, SPACE_PPGTT = 1 };

struct sim_gpu;

/* The context an engine runs (engine thread only). */
struct sim_ctx {
    uint64_t desc;
    uint32_t id;        /* upper dword of the descriptor */
    uint64_t lrca;      /* GGTT address of the context image */
    uint64_t regs_hpa;  /* host address of the register state page */
    uint32_t head, tail, start, ctl;
    uint64_t ring_size;
    uint64_t pml4;
    /* Batches in progress when the context was preempted (restored from
     * BB_STATE/BB_HEAD): 0 none, 1 first level, 2 second level too. */
    unsigned bb_depth;
    int bb_space[2];
    uint64_t bb_ga[2];
};

struct sim_tlb_entry {
    uint64_t tag;  /* (va >> 12) + 1, 0 = empty */
    uint64_t hpa;  /* page base */
    bool writable;
};

/* Where a command streamer fetches from: the ring or a batch buffer. */
struct cs_stream {
    int space;          /* enum sim_space */
    uint64_t ga;        /* next dword */
    bool ring;          /* wraps inside [ring_start, ring_start + ring_size) */
    uint64_t ring_start, ring_size;
    uint64_t page_tag;  /* (ga >> 12) + 1 of the cached page, 0 none */
    const uint8_t *page;
};

struct cs_state {
    struct cs_stream st[3]; /* 0: ring, 1: first level, 2: second level */
    unsigned depth;
};

struct sim_engine {
    struct sim_gpu *gpu;
    unsigned id;        /* VGT_ENGINE_* */
    uint32_t base;      /* MMIO base */
    const char *name;
    pthread_t thread;
    bool thread_started;
    pthread_cond_t wake;

    /* Execlist state, under gpu->lock. */
    uint32_t elsp[4];
    unsigned elsp_n;
    uint64_t submitted[2];   /* last ELSP write, not yet taken */
    bool has_submission;
    uint64_t port[2];        /* the running execlist */
    unsigned port_idx;       /* element running (0 or 1) */
    bool active;             /* a context is loaded */
    unsigned csb_wp;         /* hardware write pointer (0..5) */
    uint32_t csb_rp;         /* software read pointer (register bits 10:8) */
    uint64_t csb[GEN8_CSB_ENTRIES];
    uint32_t ring_mode;      /* RING_MODE_GEN7 value */
    /* Reset: RING_RESET_CTL request bit and GEN6_GDRST's request for this
     * engine (written under gpu->lock, polled by the engine atomically);
     * parked: the engine stopped for a reset request (ready to reset). */
    uint32_t reset_ctl;
    bool reset_pending;
    bool parked;
    struct sim_gpu_engine_stats stats;

    /* Engine-thread state. */
    struct vgt_cmd_decoder dec;
    struct sim_ctx ctx;
    struct sim_tlb_entry tlb[SIM_GPU_TLB_SIZE];
    uint32_t cmd[SIM_GPU_MAX_CMD_DWORDS];
    uint64_t cmds_this_run;
    struct cs_state cs;
    /* Cost model: engine time owed (ns) and when it was last paid. */
    double cost_debt_ns;
    uint64_t cost_clock;
    /* Context time (RING_CTX_TIMESTAMP) of the loaded context in this
     * run: modelled cost, semaphore waits, the thread's CPU clock at the
     * start, and the ticks already added to the register. */
    double run_model_ns;
    uint64_t run_wait_ns;
    uint64_t run_cpu0;
    uint64_t run_ticks;
    /* The fault that stopped the current context. */
    bool faulted;
};

struct sim_gpu {
    struct vgt_hostgpu hg; /* the seam; first */
    struct sim_arena *arena;
    struct vgt_log *log;
    struct sim_gpu_config cfg;
    double ns_per_byte;    /* atomically read by engines */

    pthread_mutex_t lock;  /* registers, execlist state, irq state */
    bool stopping;
    uint32_t *regs;        /* GEN9_MMIO_SIZE bytes of plain registers */
    uint64_t *ggtt;        /* hg.gm_size >> 12 entries, accessed atomically */
    /* Bit per block of SIM_GPU_GGTT_BLOCK entries written through the
     * seam, so that sim_gpu_reset clears only those (atomic). */
    uint64_t ggtt_dirty[SIM_GPU_GGTT_ENTRIES / SIM_GPU_GGTT_BLOCK / 64];
    uint8_t *dma_owned;    /* bit per arena frame: allocated by alloc_page */
    uint64_t arena_frames;
    uint64_t scratch_hpa;

    vgt_hostgpu_irq_fn irq_fn;
    void *irq_opaque;
    unsigned irq_busy;        /* callbacks running now */
    pthread_cond_t irq_idle;  /* signalled when irq_busy drops to 0 */

    struct sim_engine eng[SIM_GPU_NUM_ENGINES];
};

/* gpu.c */
uint32_t sim_gpu_reg_read_locked(struct sim_gpu *g, uint32_t off);
void sim_gpu_reg_write_locked(struct sim_gpu *g, uint32_t off, uint32_t val, bool from_cs);
/* Latch GT interrupt bits (GT_* of the engine's 16-bit field) and compute
 * what to deliver; call sim_gpu_deliver with the result after unlocking. */
uint32_t sim_gpu_raise_locked(struct sim_gpu *g, unsigned engine, uint32_t gt_bits);
void sim_gpu_deliver(struct sim_gpu *g, unsigned engine, uint32_t events);
static inline uint64_t sim_gpu_ggtt_pte(struct sim_gpu *g, uint64_t idx)
{
    return __atomic_load_n(&g->ggtt[idx], __ATOMIC_ACQUIRE);
}

/* engine.c */
int sim_engine_start(struct sim_engine *e);
void sim_engine_stop(struct sim_engine *e);
/* MMIO of the engine's execlist registers, under gpu->lock. */
void sim_engine_elsp_write_locked(struct sim_engine *e, uint32_t val);
uint32_t sim_engine_csb_read_locked(struct sim_engine *e, uint32_t rel);
void sim_engine_csb_ptr_write_locked(struct sim_engine *e, uint32_t val);
uint32_t sim_engine_status_read_locked(struct sim_engine *e, bool hi);
uint32_t sim_engine_reset_ctl_read_locked(struct sim_engine *e);
/* Execlist ports, ELSP latch and CSB pointers back to their reset state,
 * execlists off (an engine reset, sim_gpu_reset). Under gpu->lock. */
void sim_engine_execlist_reset_locked(struct sim_engine *e);
void sim_engine_reset_ctl_write_locked(struct sim_engine *e, uint32_t val);
/* GEN6_GDRST write: request a reset of the engines in @domains. */
void sim_gpu_gdrst_write_locked(struct sim_gpu *g, uint32_t domains);
uint64_t sim_gpu_timestamp(void);

#endif

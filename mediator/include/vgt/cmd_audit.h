/* The command auditor: every command a guest wants the GPU to run is
 * walked, checked and, where needed, rewritten before anything of it
 * reaches the hardware.
 *
 * It runs on host-owned copies (the ring's head..tail, every batch buffer
 * it reaches), never on guest memory, so a guest that rewrites its buffers
 * after submission changes nothing that runs. Built on the shared decoder
 * (vgt/cmd_decoder.h) for opcode matching and lengths; the audit rules
 * (what is rejected, which registers a command may touch, which addresses
 * are checked) are const tables in cmd_audit.c. docs/submission.md lists
 * them with their sources.
 *
 * A violation stops the audit: the workload must be dropped and the vGPU
 * put in failsafe; *viol names the buffer, byte offset, command and reason. */
#ifndef VGT_CMD_AUDIT_H
#define VGT_CMD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgt/cmd_decoder.h"
#include "vgt/hostgpu.h"
#include "vgt/log.h"

#define VGT_AUDIT_MAX_RANGES 4
/* Gen9 has first- and second-level batches only (PRM vol 2a
 * MI_BATCH_BUFFER_START "Second Level Batch Buffer"): a second-level batch
 * may not call another. */
#define VGT_AUDIT_MAX_LEVEL 2
#define VGT_AUDIT_DEFAULT_MAX_BATCHES 64
#define VGT_AUDIT_DEFAULT_MAX_DWORDS (1u << 20) /* 4 MiB of commands */
#define VGT_AUDIT_FIRST_WINDOW 1024 /* dwords copied first for a batch */

/* A host-owned copy of guest commands. */
struct vgt_audit_buf {
    uint32_t *dw;        /* the copy (the auditor may patch it) */
    size_t ndw;          /* dwords copied */
    uint64_t gma;        /* guest graphics address of dw[0] */
    bool ppgtt;          /* gma is a PPGTT address */
    /* Where the GPU will read the copy: BB_STARTs that named @gma are
     * patched to this GGTT address (ASI cleared). 0: do not patch (unit
     * tests, offline checks). */
    uint64_t shadow_ggtt;
    /* Set by the auditor: the window asked for and the batch's limit. */
    size_t req_dw, max_dw;
    void *priv;          /* the fetcher's own (e.g. the allocation) */
};

struct vgt_audit_ops {
    /* Copy the batch buffer starting at @gma (PPGTT when @ppgtt) into host
     * memory: up to @max_dw dwords, stopping early at the first page that
     * is not mapped. Fill out->dw, out->ndw (and shadow_ggtt, priv). Return
     * 0, or a negative errno when not even the first dword is reachable.
     * Called again with a bigger @max_dw on the same *out when a batch is
     * longer than the first window (replace the copy then). The copies live
     * until the workload is retired: the caller frees r->bufs[0..batches). */
    int (*fetch)(void *opaque, uint64_t gma, bool ppgtt, size_t max_dw, struct vgt_audit_buf *out);
    /* The value a guest write of @val to PDP @pdp (0..3), upper half when
     * @upper, of @engine must be replaced with (its shadow table). */
    int (*pdp)(void *opaque, unsigned engine, unsigned pdp, bool upper, uint32_t val, uint32_t *host);
};

enum vgt_audit_buf_kind { VGT_AUDIT_RING = 0, VGT_AUDIT_BATCH = 1 };

struct vgt_audit_violation {
    unsigned buf;          /* index of the buffer: 0 the ring, then batches in fetch order */
    uint64_t gma;          /* guest address of the command (ring: of the copy start + offset) */
    uint32_t offset;       /* byte offset inside that buffer */
    uint32_t header;       /* dword 0 of the offending command */
    const char *cmd;       /* its name, "unknown" when the decoder knows none */
    const char *reason;
};

/* A MI_BATCH_BUFFER_START the caller relocates after the audit, once it
 * knows where each copy will live: dword @dw of buffer @buf (0 the ring,
 * i + 1 batch bufs[i]) starts batch bufs[@target]. */
struct vgt_audit_bb_site {
    uint16_t buf;
    uint16_t target;
    uint32_t dw;
};

struct vgt_audit_result {
    unsigned batches;          /* batch buffers fetched and scanned */
    size_t dwords;             /* dwords scanned */
    unsigned user_interrupts;  /* MI_USER_INTERRUPTs turned into virtual events */
    unsigned notifies;         /* PIPE_CONTROL / MI_FLUSH_DW notify bits likewise */
    unsigned pdp_patches;      /* LRI PDP writes rewritten to shadow values */
    unsigned bb_patches;       /* BB_STARTs redirected to shadow copies */
    struct vgt_audit_buf bufs[VGT_AUDIT_DEFAULT_MAX_BATCHES]; /* fetched copies */
    struct vgt_audit_bb_site sites[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    unsigned nr_sites;
    struct vgt_audit_violation viol;
};

struct vgt_audit_range {
    uint64_t base, size;
};

struct vgt_auditor {
    struct vgt_log *log;
    const struct vgt_audit_ops *ops;
    void *opaque;
    struct vgt_audit_range ranges[VGT_AUDIT_MAX_RANGES]; /* the vGPU's GGTT ranges */
    unsigned nr_ranges;
    unsigned max_batches;      /* <= VGT_AUDIT_DEFAULT_MAX_BATCHES */
    size_t max_dwords;
    /* Refuse commands without an address-space selector (the blits) that
     * carry an address in a PPGTT batch: set when batch copies are run
     * from the GGTT, where the GPU would take those addresses as GGTT. */
    bool refuse_ppgtt_selectorless;
    struct vgt_cmd_decoder dec[VGT_ENGINE_NUM]; /* RCS, BCS, VCS (VECS uses VCS's) */
    bool have_dec[VGT_ENGINE_NUM];
};

/* The vGPU's graphics-memory ranges (GGTT addresses it owns), 1..4 of them. */
int vgt_audit_init(struct vgt_auditor *a, const struct vgt_audit_range *ranges, unsigned n,
                   const struct vgt_audit_ops *ops, void *opaque, struct vgt_log *log);

/* Audit the ring copy (@ring, @ndw dwords: what the engine will run from
 * head to tail) of @engine and every batch it reaches. Returns 0 when the
 * workload may run (the copies are patched), -EACCES for a rejected
 * command, -EINVAL for a malformed stream (bad length, unterminated,
 * loop, depth), -E2BIG past the size limits; r->viol says where and why.
 * @ring_gma is only used in reports. */
int vgt_audit_ring(struct vgt_auditor *a, unsigned engine, uint32_t *ring, size_t ndw,
                   uint64_t ring_gma, struct vgt_audit_result *r);

/* Audit one batch buffer that is already copied (offline checks, tests,
 * fuzzing): same rules as a first-level batch started from the ring. */
int vgt_audit_batch(struct vgt_auditor *a, unsigned engine, struct vgt_audit_buf *b,
                    struct vgt_audit_result *r);

/* Is a command allowed to touch register @reg (BAR0 offset) on @engine?
 * 1 yes, 2 yes but only through LRI with the value patched (PDPs), 0 no. */
int vgt_audit_reg_allowed(unsigned engine, uint32_t reg);

#endif

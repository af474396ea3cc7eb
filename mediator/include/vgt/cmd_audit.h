/* The command auditor: every command a guest wants the GPU to run is
 * walked, checked and, where needed, rewritten before anything of it
 * reaches the hardware.
 *
 * It runs on host-owned copies (the ring's head..tail, every batch buffer
 * it reaches), never on guest memory: it copies each batch itself, reading
 * every guest byte once, so what is walked, patched and run is one copy
 * and a guest that rewrites its buffers meanwhile changes nothing that
 * runs. Built on the shared decoder
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
#define VGT_AUDIT_MAX_REG_ROWS 40 /* whitelist rows of one engine */
/* Gen9 has first- and second-level batches only (PRM vol 2a
 * MI_BATCH_BUFFER_START "Second Level Batch Buffer"): a second-level batch
 * may not call another. */
#define VGT_AUDIT_MAX_LEVEL 2
#define VGT_AUDIT_DEFAULT_MAX_BATCHES 64
#define VGT_AUDIT_DEFAULT_MAX_DWORDS (1u << 20) /* 4 MiB of commands */
#define VGT_AUDIT_FIRST_WINDOW 1024 /* dwords copied first for a batch */
#define VGT_AUDIT_MAX_GROW (16u * 1024) /* dwords a longer batch's copy grows by at most */
/* Lookup slots: dword 0 bits 31:22 (type and MI or blitter opcode), then
 * GFXPIPE subtype/opcode/sub-opcode (bits 28:16). */
#define VGT_AUDIT_KEYS (1024 + 8192)

/* A host-owned copy of guest commands. Batches are copied by the auditor
 * itself, through ops->read, and only ever extended: every guest dword is
 * read once, and the walk, the patches and what runs all use that one
 * copy. */
struct vgt_audit_buf {
    uint32_t *dw;        /* the copy (the auditor may patch it) */
    size_t ndw;          /* dwords copied; after the walk, the dwords it reached */
    uint64_t gma;        /* guest graphics address of dw[0] */
    bool ppgtt;          /* gma is a PPGTT address */
    /* Set by the auditor for the batches it copies. */
    size_t cap_dw;       /* dwords allocated */
    size_t max_dw;       /* the batch may not run past this (GGTT: its range) */
    bool owned;          /* dw is the auditor's (vgt_audit_release frees it) */
    bool whole;          /* the copy cannot grow: it stopped at an unmapped page or the limit */
};

/* The caller's side. Each call gets the context the caller passed to
 * vgt_audit_ring / vgt_audit_batch for this audit (@ctx). */
struct vgt_audit_ops {
    /* Copy @len bytes of guest graphics memory at @gma (PPGTT when @ppgtt)
     * into @dst, stopping at the first page that is not mapped; *got is
     * the number of bytes copied. The auditor asks for each guest byte at
     * most once per copy (a longer batch's copy is extended, never read
     * again). Return 0, or a negative errno when nothing could be read. */
    int (*read)(void *ctx, uint64_t gma, bool ppgtt, void *dst, size_t len, size_t *got);
    /* The value a guest write of @val to PDP @pdp (0..3), upper half when
     * @upper, of @engine must be replaced with (its shadow table). */
    int (*pdp)(void *ctx, unsigned engine, unsigned pdp, bool upper, uint32_t val, uint32_t *host);
};

enum vgt_audit_buf_kind { VGT_AUDIT_RING = 0, VGT_AUDIT_BATCH = 1 };

struct vgt_audit_violation {
    unsigned buf;          /* index of the buffer: 0 the ring, then batches in fetch order */
    uint64_t gma;          /* guest address of the command (ring: of the copy start + offset) */
    uint32_t offset;       /* byte offset inside that buffer */
    uint32_t header;       /* dword 0 of the offending command */
    const char *cmd;       /* its name, "unknown" when the decoder knows none */
    const char *reason;
    char detail[112];      /* a reason with values in it; reason points here then */
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
    unsigned depth_nulled;     /* read-only depth buffers outside the vGPU made SURFTYPE_NULL */
    size_t copied;             /* dwords of batch copies held now (bounded by max_dwords) */
    struct vgt_audit_buf bufs[VGT_AUDIT_DEFAULT_MAX_BATCHES]; /* fetched copies */
    struct vgt_audit_bb_site sites[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    unsigned nr_sites;
    /* Dwords of the per-process HWSP (context page 0) the workload's
     * store-data-index commands may write: what completion copies back. */
    uint32_t pphwsp_dirty[1024 / 32];
    struct vgt_audit_violation viol;
};

struct vgt_audit_range {
    uint64_t base, size;
};

struct vgt_auditor {
    struct vgt_log *log;
    const struct vgt_audit_ops *ops;
    struct vgt_audit_range ranges[VGT_AUDIT_MAX_RANGES]; /* the vGPU's GGTT ranges */
    unsigned nr_ranges;
    unsigned max_batches;      /* <= VGT_AUDIT_DEFAULT_MAX_BATCHES */
    /* Bound on the batch copies of one workload (and on the ring): past it
     * the workload is refused with -E2BIG, never copied in parts. */
    size_t max_dwords;
    /* Refuse commands without an address-space selector (the blits) that
     * carry an address in a PPGTT batch: set when batch copies are run
     * from the GGTT, where the GPU would take those addresses as GGTT. */
    bool refuse_ppgtt_selectorless;
    /* Each engine's command table and the walk's lookup
     * over it, built once by vgt_audit_init: dword 0's opcode bits index
     * keys[] straight, and an entry carries the command's row, its length
     * encoding and its audit flags, so a command costs one lookup (see
     * walk_buf in cmd_audit.c). */
    const struct vgt_cmd_table *tbl[VGT_ENGINE_NUM];
    uint32_t keys[VGT_ENGINE_NUM][VGT_AUDIT_KEYS];
    /* The register whitelist rows of each engine, sorted: a short scan per
     * register operand instead of a search of every engine's rows. */
    struct vgt_audit_reg_row {
        uint32_t off, end; /* [off, end) */
        int kind;          /* as vgt_audit_reg_allowed */
    } regs[VGT_ENGINE_NUM][VGT_AUDIT_MAX_REG_ROWS];
    unsigned nr_regs[VGT_ENGINE_NUM];
};

/* The vGPU's graphics-memory ranges (GGTT addresses it owns), 1..4 of them. */
int vgt_audit_init(struct vgt_auditor *a, const struct vgt_audit_range *ranges, unsigned n,
                   const struct vgt_audit_ops *ops, struct vgt_log *log);

/* Audit the ring copy (@ring, @ndw dwords: what the engine will run from
 * head to tail) of @engine and every batch it reaches; @ctx goes to every
 * ops call of this audit. Returns 0 when the workload may run (the copies
 * are patched), -EACCES for a rejected command, -EINVAL for a malformed
 * stream (bad length, unterminated, loop, depth), -E2BIG past the size
 * limits; r->viol says where and why. @ring_gma is only used in reports.
 * Whatever it returns, the batch copies in r->bufs live until
 * vgt_audit_release(r). */
int vgt_audit_ring(struct vgt_auditor *a, void *ctx, unsigned engine, uint32_t *ring, size_t ndw,
                   uint64_t ring_gma, struct vgt_audit_result *r);

/* Audit one batch buffer that is already copied (offline checks, tests,
 * fuzzing): same rules as a first-level batch started from the ring. Its
 * copy is the caller's and is not extended. */
int vgt_audit_batch(struct vgt_auditor *a, void *ctx, unsigned engine, struct vgt_audit_buf *b,
                    struct vgt_audit_result *r);

/* Free the batch copies the auditor made for @r. */
void vgt_audit_release(struct vgt_audit_result *r);

/* Is a command allowed to touch register @reg (BAR0 offset) on @engine?
 * 1 yes, 2 yes but only through LRI with the value patched (PDPs), 0 no. */
int vgt_audit_reg_allowed(unsigned engine, uint32_t reg);
/* The same answer from @a's per-engine rows (what the walk uses). */
int vgt_audit_reg_kind(const struct vgt_auditor *a, unsigned engine, uint32_t reg);

#endif

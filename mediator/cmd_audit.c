/* The command auditor (see vgt/cmd_audit.h and docs/submission.md).
 *
 * Field positions below are Mesa genxml gen9.xml (DWord/bit as "start" /
 * 32 and % 32) unless another source is named; the blitter XY_* layouts are
 * from the PRM vol 2a BLT chapter and Linux i915 gt/intel_gpu_commands.h, as
 * the shared decoder's table. */
#include "vgt/cmd_audit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgt/util.h"

/* Engine ring bases (architecture document, Gen9 facts). */
static const uint32_t engine_base[VGT_ENGINE_NUM] = {
    [VGT_ENGINE_RCS] = 0x2000,
    [VGT_ENGINE_BCS] = 0x22000,
    [VGT_ENGINE_VCS] = 0x12000,
    [VGT_ENGINE_VECS] = 0x1A000,
};

/* ---- rule 1: commands rejected outright, by MI opcode (bits 28:23) ----
 * Matched before the decoder, so a command is rejected with its reason on
 * every engine, including ones whose genxml table lacks it (MI_UPDATE_GTT
 * is not in gen9.xml; MI_CLFLUSH and MI_REPORT_PERF_COUNT are render-only
 * there). Opcodes: genxml gen9.xml "MI Command Opcode" defaults; MI_UPDATE_GTT
 * from Linux i915 gt/intel_gpu_commands.h MI_INSTR(0x23, 0). */
struct mi_reject {
    const char *name;
    const char *reason;
};

/* Indexed by the MI opcode, so the check is one load per command. */
static const struct mi_reject mi_rejects[64] = {
    [0x07] = {"MI_REPORT_HEAD", "writes the ring head into the host's hardware status page"},
    [0x12] = {"MI_LOAD_SCAN_LINES_INCL", "privileged: programs the host's display scan lines"},
    [0x13] = {"MI_LOAD_SCAN_LINES_EXCL", "privileged: programs the host's display scan lines"},
    [0x14] = {"MI_DISPLAY_FLIP", "privileged: flips the host's display planes"},
    [0x18] = {"MI_SET_CONTEXT", "privileged: legacy context switch outside execlists"},
    [0x1B] = {"MI_SEMAPHORE_SIGNAL", "privileged: signals other engines' contexts"},
    [0x1D] = {"MI_FORCE_WAKEUP", "privileged: forcewake is host power management"},
    [0x23] = {"MI_UPDATE_GTT", "rewrites GTT entries; only the mediator writes the GTT"},
    [0x27] = {"MI_CLFLUSH", "flushes cache lines by GGTT address (privileged)"},
    [0x28] = {"MI_REPORT_PERF_COUNT", "reads performance counters shared with other vGPUs"},
    [0x36] = {"MI_CONDITIONAL_BATCH_BUFFER_END", "ends batches on a memory compare the auditor cannot bound"},
};

/* ---- rule 2: registers a command may touch ----
 * Linux i915 i915_cmd_parser.c gen9_blt_regs[] (RING_TIMESTAMP of the
 * render engine and of the engine itself, BCS_SWCTRL, RING_CTX_TIMESTAMP,
 * the 16 64-bit CS GPRs) and gen7_render_regs[] / hsw_render_regs[]
 * (pipeline statistics, 3DPRIM and GPGPU dispatch, SO counters, predicate
 * sources). Offsets: i915 i915_reg.h / gt/intel_engine_regs.h
 * (RING_TIMESTAMP base+0x358, RING_CTX_TIMESTAMP base+0x3a8,
 * GEN8_RING_CS_GPR base+0x600+8n, BCS_SWCTRL 0x22200, MI_PREDICATE_SRC0/1
 * 0x2400/0x2408). PDPs (base + 0x270 + 8n, architecture document) are
 * command-writable in GVT-g (handlers.c F_CMD_ACCESS) because i915 loads them
 * with LRI; vgt patches the value to the shadow table's.
 *
 * As rules (engine-relative offsets from the engine's base): PDP0..3
 * +0x270 (32 bytes, every engine), RING_TIMESTAMP +0x358 (8),
 * RING_CTX_TIMESTAMP +0x3a8 (4), GPRs +0x600 (128); render RING_TIMESTAMP
 * 0x2358 (every engine); BCS_SWCTRL (BCS); and the RCS-only counters
 * below. reg_rows[] is that list resolved per engine. */
enum reg_kind { REG_NO = 0, REG_OK = 1, REG_PDP = 2 };

/* The whitelist with every engine-relative register resolved against
 * engine_base[] (RCS 0x2000, BCS 0x22000, VCS 0x12000, VECS 0x1A000),
 * sorted by offset and non-overlapping, so that a lookup is a binary search
 * (6 steps for the 50 rows) instead of a scan of every rule. Per engine, rows
 * are: PDP0..3 LDW/UDW base+0x270 (32 bytes), RING_TIMESTAMP(+UDW)
 * base+0x358, RING_CTX_TIMESTAMP base+0x3a8, GEN8_RING_CS_GPR 0..15
 * base+0x600 (128 bytes). The render RING_TIMESTAMP 0x2358 may be read
 * from every engine (gen9_blt_regs), so its row is the render engine's own
 * timestamp too. tests/mediator/test_cmd_audit.c checks the order and the
 * table against the rules above, register by register. */
struct reg_row {
    uint32_t off;    /* absolute MMIO offset */
    uint32_t len;    /* bytes */
    uint8_t engines; /* bit per VGT_ENGINE_* */
    uint8_t kind;    /* enum reg_kind */
};

#define ALL_ENGINES 0xf
#define RCS_ONLY (1u << VGT_ENGINE_RCS)
#define BCS_ONLY (1u << VGT_ENGINE_BCS)
#define VCS_ONLY (1u << VGT_ENGINE_VCS)
#define VECS_ONLY (1u << VGT_ENGINE_VECS)

/* Rows marked "gvt" follow Linux 6.1 gvt's F_CMD_ACCESS rows for Skylake
 * (gvt/handlers.c init_generic_mmio_info (G), init_bdw_mmio_info (B),
 * init_skl_mmio_info (S); names and offsets: i915 gt/intel_gt_regs.h,
 * gt/intel_engine_regs.h): the render engine's chicken and mode registers
 * i915 writes by LRI as context workarounds (intel_engine_emit_ctx_wa,
 * gen9_ctx_workarounds_init) and RING_EXCC / CSFE_CHICKEN1 per engine. gvt
 * rows that reach memory or the host are refused instead, with their
 * class (reg_refusals[] below). Every row is in mediator/mmio_context.c's
 * switch list or the context image. */
static const struct reg_row reg_rows[] = {
    {0x2028, 4, RCS_ONLY, REG_OK},       /* gvt G RING_EXCC(RCS) (masked) */
    {0x2088, 4, RCS_ONLY, REG_OK},       /* gvt G 0x2088 FF_SLICE_CHICKEN (masked) */
    {0x2090, 4, RCS_ONLY, REG_OK},       /* gvt G _3D_CHICKEN3 (masked) */
    {0x20a0, 4, RCS_ONLY, REG_OK},       /* gvt G 0x20a0 GEN7_FF_THREAD_MODE */
    {0x20d4, 4, RCS_ONLY, REG_OK},       /* gvt S CSFE_CHICKEN1_REG(RCS) (masked) */
    {0x20e0, 8, RCS_ONLY, REG_OK},       /* gvt S/G GEN7_FF_SLICE_CS_CHICKEN1, FF_SLICE_CS_CHICKEN2 (masked) */
    {0x20ec, 4, RCS_ONLY, REG_OK},       /* gvt S GEN9_CS_DEBUG_MODE1 (masked) */
    {0x2120, 4, RCS_ONLY, REG_OK},       /* gvt G CACHE_MODE_0 (masked) */
    {0x2270, 32, RCS_ONLY, REG_PDP},     /* RCS PDP0..3 */
    {0x2290, 8, RCS_ONLY, REG_OK},       /* GPGPU_THREADS_DISPATCHED */
    {0x2300, 0x58, RCS_ONLY, REG_OK},    /* HS..PS_DEPTH_COUNT (+UDW) */
    {0x2358, 8, ALL_ENGINES, REG_OK},    /* render RING_TIMESTAMP (+UDW) */
    {0x23a8, 4, RCS_ONLY, REG_OK},       /* RCS RING_CTX_TIMESTAMP */
    {0x2400, 16, RCS_ONLY, REG_OK},      /* MI_PREDICATE_SRC0/1 */
    {0x2420, 4, RCS_ONLY, REG_OK},       /* GEN7_3DPRIM_END_OFFSET */
    {0x2430, 0x14, RCS_ONLY, REG_OK},    /* 3DPRIM_START_VERTEX..BASE_VERTEX */
    {0x2500, 12, RCS_ONLY, REG_OK},      /* GPGPU_DISPATCHDIMX/Y/Z */
    {0x2580, 4, RCS_ONLY, REG_OK},       /* gvt B 0x2580 GEN8_CS_CHICKEN1 (masked) */
    {0x2600, 128, RCS_ONLY, REG_OK},     /* RCS GEN8_RING_CS_GPR 0..15 */
    {0x5200, 32, RCS_ONLY, REG_OK},      /* GEN7_SO_NUM_PRIMS_WRITTEN(0..3) */
    {0x5240, 32, RCS_ONLY, REG_OK},      /* GEN7_SO_PRIM_STORAGE_NEEDED(0..3) */
    {0x5280, 16, RCS_ONLY, REG_OK},      /* GEN7_SO_WRITE_OFFSET(0..3) */
    {0x5588, 4, RCS_ONLY, REG_OK},       /* gvt S GEN9_WM_CHICKEN3 (masked) */
    {0x7000, 12, RCS_ONLY, REG_OK},      /* gvt G CACHE_MODE_0_GEN7, CACHE_MODE_1, GEN7_GT_MODE (masked) */
    {0x7010, 12, RCS_ONLY, REG_OK},      /* gvt G GEN7_COMMON_SLICE_CHICKEN1, COMMON_SLICE_CHICKEN2,
                                          * 0x7018 HIZ_CHICKEN (masked) */
    {0x7300, 8, RCS_ONLY, REG_OK},       /* gvt B HDC_CHICKEN0, S GEN8_HDC_CHICKEN1 (masked) */
    {0x9030, 4, RCS_ONLY, REG_OK},       /* gvt G 0x9030 GEN7_SQ_CHICKEN_MBCUNIT_CONFIG */
    {0xe100, 4, RCS_ONLY, REG_OK},       /* gvt G GEN7_HALF_SLICE_CHICKEN1 (masked) */
    {0xe180, 12, RCS_ONLY, REG_OK},      /* gvt B/G HALF_SLICE_CHICKEN2, HALF_SLICE_CHICKEN3,
                                          * 0xe188 GEN9_HALF_SLICE_CHICKEN5 (masked) */
    {0xe194, 4, RCS_ONLY, REG_OK},       /* gvt B 0xe194 GEN9_HALF_SLICE_CHICKEN7 (masked) */
    {0xe4f0, 8, RCS_ONLY, REG_OK},       /* gvt B GEN8_ROW_CHICKEN, GEN7_ROW_CHICKEN2 (masked) */
    {0x12028, 4, VCS_ONLY, REG_OK},      /* gvt G RING_EXCC(VCS) (masked) */
    {0x120d4, 4, VCS_ONLY, REG_OK},      /* gvt S CSFE_CHICKEN1_REG(VCS) (masked) */
    {0x12270, 32, VCS_ONLY, REG_PDP},    /* VCS PDP0..3 */
    {0x12358, 8, VCS_ONLY, REG_OK},      /* VCS RING_TIMESTAMP */
    {0x123a8, 4, VCS_ONLY, REG_OK},      /* VCS RING_CTX_TIMESTAMP */
    {0x12600, 128, VCS_ONLY, REG_OK},    /* VCS GPRs */
    {0x1a028, 4, VECS_ONLY, REG_OK},     /* gvt G RING_EXCC(VECS) (masked) */
    {0x1a0d4, 4, VECS_ONLY, REG_OK},     /* gvt S CSFE_CHICKEN1_REG(VECS) (masked) */
    {0x1a270, 32, VECS_ONLY, REG_PDP},   /* VECS PDP0..3 */
    {0x1a358, 8, VECS_ONLY, REG_OK},     /* VECS RING_TIMESTAMP */
    {0x1a3a8, 4, VECS_ONLY, REG_OK},     /* VECS RING_CTX_TIMESTAMP */
    {0x1a600, 128, VECS_ONLY, REG_OK},   /* VECS GPRs */
    {0x22028, 4, BCS_ONLY, REG_OK},      /* gvt G RING_EXCC(BCS) (masked) */
    {0x220d4, 4, BCS_ONLY, REG_OK},      /* gvt S CSFE_CHICKEN1_REG(BCS) (masked) */
    {0x22200, 4, BCS_ONLY, REG_OK},      /* BCS_SWCTRL */
    {0x22270, 32, BCS_ONLY, REG_PDP},    /* BCS PDP0..3 */
    {0x22358, 8, BCS_ONLY, REG_OK},      /* BCS RING_TIMESTAMP */
    {0x223a8, 4, BCS_ONLY, REG_OK},      /* BCS RING_CTX_TIMESTAMP */
    {0x22600, 128, BCS_ONLY, REG_OK},    /* BCS GPRs */
};

/* Registers gvt lets commands access (F_CMD_ACCESS, Skylake) that vgt
 * refuses, and why: a reason per class. Engine-relative rows (rel) hold
 * for every engine's base. Looked up only to name a refusal. */
struct reg_refusal {
    uint32_t off, len;
    bool rel;
    const char *reason;
};

#define REFUSED "register is not command-accessible"
#define REFUSE_XLATE REFUSED ": it controls address translation (GTT/PPGTT/TR-TT)"
#define REFUSE_GMADR REFUSED ": it holds a graphics address the host owns"
#define REFUSE_ENGINE REFUSED ": it controls the engine itself (ring, context, privilege)"
#define REFUSE_GLOBAL REFUSED ": it is GT-wide configuration shared with the host and every vGPU"
#define REFUSE_UNKNOWN REFUSED ": it has no name in i915 6.1 (gvt allows it by offset only)"

static const struct reg_refusal reg_refusals[] = {
    /* Address translation. */
    {0x220, 16, true, REFUSE_XLATE},   /* PP_DIR_DCLV, PP_DIR_BASE (gvt G 0x2220...) */
    {0x29c, 4, true, REFUSE_XLATE},    /* RING_MODE_GEN7: PPGTT / execlists (gvt G) */
    {0x4030, 4, false, REFUSE_XLATE},  /* ARB_MODE: tiling swizzle (gvt G) */
    {0x4090, 8, false, REFUSE_XLATE},  /* GAM_ECOCHK, GEN8_RING_FAULT_REG (gvt G, B) */
    {0x4ab0, 4, false, REFUSE_XLATE},  /* GEN9_GAMT_ECO_REG_RW_IA (gvt S) */
    {0x4de0, 0x20, false, REFUSE_XLATE}, /* TR-TT: TRVATTL3PTRDW(0..3), TRVADR, TRTTE (gvt S) */
    /* Graphics addresses: status pages, context IDs. */
    {0x2148, 4, false, REFUSE_GMADR},  /* gvt G MMIO_GM_RDR */
    {0x2180, 4, false, REFUSE_GMADR},  /* CCID(RCS) (gvt G) */
    {0x4080, 4, false, REFUSE_GMADR},  /* RCS HWS_PGA */
    {0x4180, 4, false, REFUSE_GMADR},  /* BSD_HWS_PGA_GEN7 (gvt G) */
    {0x4280, 4, false, REFUSE_GMADR},  /* BLT_HWS_PGA_GEN7 (gvt G) */
    {0x4380, 4, false, REFUSE_GMADR},  /* VEBOX_HWS_PGA_GEN7 (gvt G) */
    {0x12198, 4, false, REFUSE_GMADR}, /* GEN6_BSD_RNCID (gvt G) */
    /* The engine: ring registers, mode, context control, whitelist. */
    {0x30, 16, true, REFUSE_ENGINE},   /* RING_TAIL/HEAD/START/CTL: the ring base */
    {0x40, 8, true, REFUSE_ENGINE},    /* RING_SYNC_0/1: Gen6/7 semaphores (gvt G) */
    {0x80, 4, true, REFUSE_ENGINE},    /* RING_HWS_PGA */
    {0x9c, 4, true, REFUSE_ENGINE},    /* RING_MI_MODE: STOP_RING (gvt G) */
    {0xc0, 4, true, REFUSE_ENGINE},    /* RING_INSTPM (gvt G) */
    {0x244, 4, true, REFUSE_ENGINE},   /* RING_CONTEXT_CONTROL (gvt B) */
    {0x24d0, 48, false, REFUSE_ENGINE}, /* RING_FORCE_TO_NONPRIV(RCS, 0..11) (gvt B) */
    /* GT-wide. */
    {0x4ddc, 4, false, REFUSE_GLOBAL},  /* MMCD_MISC_CTRL (gvt S) */
    {0x940c, 4, false, REFUSE_GLOBAL},  /* GEN7_UCGCTL4 (gvt G) */
    {0x9430, 4, false, REFUSE_GLOBAL},  /* GEN8_UCGCTL6 (gvt B) */
    {0xb004, 4, false, REFUSE_GLOBAL},  /* GEN8_GARBCNTL (gvt S) */
    {0xb020, 0x80, false, REFUSE_GLOBAL}, /* GEN7_L3CNTLREG2 range: GEN9_LNCFCMOCS (gvt S) */
    {0xb118, 8, false, REFUSE_GLOBAL},  /* GEN8_L3SQCREG4, BDW_SCRATCH1 (gvt B, S) */
    {0xc800, 0x800, false, REFUSE_GLOBAL}, /* GEN9_GFX/MFX/VEBOX/BLT_MOCS (gvt S) */
    {0x120000, 12, false, REFUSE_GLOBAL}, /* GTFIFODBG, GTFIFOCTL (gvt G) */
    /* Offsets gvt lists with no name i915 6.1 gives them. */
    {0x134, 4, true, REFUSE_UNKNOWN},
    {0x178, 8, true, REFUSE_UNKNOWN},
    {0x1c178, 8, false, REFUSE_UNKNOWN}, /* VCS2's, absent on Skylake GT2 */
    {0x20dc, 4, false, REFUSE_UNKNOWN},
    {0x2124, 4, false, REFUSE_UNKNOWN},
    {0x215c, 4, false, REFUSE_UNKNOWN},
    {0x21f0, 4, false, REFUSE_UNKNOWN},
    {0x2470, 4, false, REFUSE_UNKNOWN},
    {0xe220, 0xa4, false, REFUSE_UNKNOWN}, /* 0xe220..0xe2c0 */
    {0xe4cc, 4, false, REFUSE_UNKNOWN},
};

/* Why @reg is not command-accessible. */
static const char *reg_refusal(uint32_t reg)
{
    for (size_t i = 0; i < VGT_ARRAY_SIZE(reg_refusals); i++) {
        const struct reg_refusal *r = &reg_refusals[i];

        for (unsigned e = 0; e < (r->rel ? VGT_ENGINE_NUM : 1u); e++) {
            uint32_t off = r->off + (r->rel ? engine_base[e] : 0);

            if (reg >= off && reg - off < r->len)
                return r->reason;
        }
    }
    return REFUSED;
}

int vgt_audit_reg_allowed(unsigned engine, uint32_t reg)
{
    size_t lo = 0, hi = VGT_ARRAY_SIZE(reg_rows);

    if (engine >= VGT_ENGINE_NUM || (reg & 3))
        return REG_NO;
    /* The last row starting at or below @reg is the only one that can
     * hold it (rows do not overlap). */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (reg_rows[mid].off <= reg)
            lo = mid;
        else
            hi = mid;
    }
    if (reg < reg_rows[lo].off || reg - reg_rows[lo].off >= reg_rows[lo].len ||
        !(reg_rows[lo].engines & (1u << engine)))
        return REG_NO;
    return reg_rows[lo].kind;
}

/* Bits (genxml gen9.xml). */
#define BB_START_ASI_PPGTT (1u << 8)     /* Address Space Indicator */
#define BB_START_SECOND_LEVEL (1u << 22)
#define BB_START_ADD_OFFSET (1u << 16)   /* Add Offset Enable */
#define BB_START_PREDICATED (1u << 15)
#define SDI_STORE_QWORD (1u << 21)
#define USE_GGTT (1u << 22)              /* SDI/LRM/SRM/COND_BB_END Use Global GTT */
#define CMM_GGTT_DST (1u << 21)          /* MI_COPY_MEM_MEM */
#define CMM_GGTT_SRC (1u << 22)
#define PC1_NOTIFY (1u << 8)             /* PIPE_CONTROL dword 1 */
#define PC1_POST_SYNC_SHIFT 14
#define PC1_STORE_DATA_INDEX (1u << 21)
#define PC1_LRI_POST_SYNC (1u << 23)
#define PC1_DAT_GGTT (1u << 24)
#define FD0_NOTIFY (1u << 8)             /* MI_FLUSH_DW dword 0 */
#define FD0_POST_SYNC_SHIFT 14
#define FD0_STORE_DATA_INDEX (1u << 21)
#define FD1_DAT_GGTT (1u << 2)
#define SDX0_PPHWSP (1u << 21)           /* MI_STORE_DATA_INDEX Use Per-Process HWSP */
#define SDX1_OFFSET 0x00000ffcu          /* MI_STORE_DATA_INDEX Offset, dword 1 bits 11:2 */
#define PPHWSP_SIZE 4096u                /* i915 gt/intel_lrc.h LRC_PPHWSP_SZ: one page */
#define MI_NOOP_DW 0u

static uint64_t addr64(const uint32_t *p, unsigned dw, uint64_t mask)
{
    return (((uint64_t)p[dw + 1] << 32) | p[dw]) & mask;
}

#define ADDR48_MASK 0x0000fffffffffffcull  /* bits 47:2 */
#define ADDR64_MASK 0xfffffffffffffffcull

struct cursor;

/* One audit. */
struct walk {
    struct vgt_auditor *a;
    void *ctx;             /* the caller's, for ops calls */
    unsigned engine;
    const struct vgt_cmd_table *tbl;
    const uint32_t *keys;  /* a->keys[engine] */
    struct vgt_audit_result *r;
    /* the command being audited, for reports: where (cur->pos of cur->b)
     * and what: its row, or a name set without one (a rejected opcode).
     * The row's name is looked up only for a report. */
    const struct cursor *cur;
    uint32_t row; /* index + 1 in tbl->cmds, 0 while not decoded */
    const char *name;
    /* The depth/stencil group as this workload last programmed it, in
     * execution order (the walk follows it): what a draw would use. A
     * buffer not programmed in the workload is the shadow context's, which
     * vgt builds afresh for every workload from none of the guest's state
     * (workload.c build_context). */
    struct ds_state {
        bool depth_set, hiz_set, stencil_set;
        bool drawn; /* a draw or WM_HZ_OP may still be in the pipeline */
        bool hiz_ggtt, stencil_ggtt; /* programmed from a GGTT buffer */
        uint32_t depth[8], hiz[5], stencil[5];
    } ds;
};

/* The row of the command the walk is at, or NULL. */
static const struct vgt_cmd_desc *cur_desc(const struct walk *w)
{
    return w->row ? &w->tbl->cmds[w->row - 1] : NULL;
}

struct chain {
    uint64_t gma[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    uint64_t len[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    bool ppgtt[VGT_AUDIT_DEFAULT_MAX_BATCHES];
    unsigned n;
};

/* Where the walk of one buffer is; a command handler reads it and may set
 * @next (a chained batch). */
struct cursor {
    struct vgt_audit_buf *b;
    unsigned bufi;
    enum vgt_audit_buf_kind kind;
    unsigned level;
    bool buf_ggtt;          /* selectorless addresses are GGTT here */
    struct chain *ch;
    size_t pos;             /* dword index of the command */
    struct vgt_audit_buf *next;
    unsigned next_idx;
};

/* What a handler tells the walk besides a violation (< 0). */
enum { CMD_NEXT = 0, CMD_END_OF_BUF = 1, CMD_CHAIN = 2 };

/* Report a violation at byte @off (header @hdr) of the buffer the walk is
 * in. Only a violation fills the report: the walk keeps no per-command
 * copy of it. */
static int violation_at(struct walk *w, uint32_t off, uint32_t hdr, int err, const char *reason)
{
    struct vgt_audit_violation *v = &w->r->viol;

    v->buf = w->cur ? w->cur->bufi : 0;
    v->offset = off;
    v->gma = (w->cur ? w->cur->b->gma : 0) + off;
    v->header = hdr;
    v->cmd = w->name ? w->name : w->row ? cur_desc(w)->name : "unknown";
    v->reason = reason;
    vgt_warn(w->a->log, "audit: %s buffer %u offset 0x%x (gma 0x%llx) header 0x%08x %s: %s",
             v->buf ? "batch" : "ring", v->buf, v->offset, (unsigned long long)v->gma,
             v->header, v->cmd, reason);
    return err;
}

/* A violation by the command the walk is at. */
static int violation(struct walk *w, int err, const char *reason)
{
    const struct cursor *c = w->cur;

    if (!c)
        return violation_at(w, 0, 0, err, reason);
    return violation_at(w, (uint32_t)(c->pos * 4), c->b->dw[c->pos], err, reason);
}

/* [addr, addr+len) inside one of the vGPU's GGTT ranges (every blit
 * operand asks: vgt_range_within's test, with one subtraction). */
static inline bool in_ranges(const struct vgt_auditor *a, uint64_t addr, uint64_t len)
{
    if (len == 0)
        return false;
    for (unsigned i = 0; i < a->nr_ranges; i++) {
        uint64_t rel = addr - a->ranges[i].base;

        if (addr >= a->ranges[i].base && rel <= a->ranges[i].size && len <= a->ranges[i].size - rel)
            return true;
    }
    return false;
}

static inline int check_ggtt(struct walk *w, uint64_t addr, uint64_t len, const char *reason)
{
    if (!in_ranges(w->a, addr, len))
        return violation(w, -EACCES, reason);
    return 0;
}

static inline int reg_kind(const struct vgt_auditor *a, unsigned engine, uint32_t reg)
{
    if (engine >= VGT_ENGINE_NUM || (reg & 3))
        return REG_NO;
    for (unsigned i = 0; i < a->nr_regs[engine]; i++) {
        const struct vgt_audit_reg_row *row = &a->regs[engine][i];

        if (reg < row->off)
            break;
        if (reg < row->end)
            return row->kind;
    }
    return REG_NO;
}

/* @reg is the raw operand dword: Register Offset is bits 22:2 (genxml),
 * anything else set is refused rather than silently masked. 0 (and the
 * register's kind in *kind, if not NULL) when the command may touch it. */
static inline int check_reg(struct walk *w, uint32_t reg, bool lri_ok_for_pdp, int *kind)
{
    int k;

    if (reg & ~0x007ffffcu)
        return violation(w, -EACCES, "register operand has bits outside 22:2");
    k = reg_kind(w->a, w->engine, reg);
    if (kind)
        *kind = k;
    if (k == REG_OK)
        return 0;
    if (k == REG_PDP && lri_ok_for_pdp)
        return 0;
    if (k == REG_PDP)
        return violation(w, -EACCES, "PDP registers may only be loaded by MI_LOAD_REGISTER_IMM");
    return violation(w, -EACCES, reg_refusal(reg));
}

/* A register a command loads (LRI, LRM, the LRR destination). The
 * engines' RING_CTX_TIMESTAMP (base + 0x3a8, i915
 * gt/intel_engine_regs.h) is the GPU time the scheduler charges the
 * workload (docs/scheduler.md): a command may read it, never set it. */
static int check_reg_load(struct walk *w, uint32_t reg, bool lri_ok_for_pdp, int *kind)
{
    /* Every engine base is 4 KiB aligned: one test on the common path. */
    if ((reg & 0xfff) == 0x3a8)
        for (unsigned e = 0; e < VGT_ENGINE_NUM; e++)
            if (reg == engine_base[e] + 0x3a8)
                return violation(w, -EACCES, "RING_CTX_TIMESTAMP is the GPU time the vGPU is charged: "
                                             "commands may read it, not load it");
    return check_reg(w, reg, lri_ok_for_pdp, kind);
}

/* An address operand: GGTT ones are range-checked; PPGTT ones are safe
 * through the shadow PPGTT, which maps only the guest's own memory. */
static inline int check_operand(struct walk *w, bool ggtt, uint64_t addr, uint64_t len, const char *reason)
{
    return ggtt ? check_ggtt(w, addr, len, reason) : 0;
}

/* Extent of a 2D rectangle: [lo, hi) bytes relative to its base, for a
 * signed 16-bit pitch (PRM BLT: pitch may be negative for bottom-up). */
static inline void rect_extent(int32_t pitch, uint32_t x1, uint32_t y1, uint32_t x2, uint32_t y2,
                        unsigned bpp, int64_t *lo, int64_t *hi)
{
    int64_t a = (int64_t)y1 * pitch + (int64_t)x1 * bpp;
    int64_t b = (int64_t)(y2 - 1) * pitch + (int64_t)x1 * bpp;
    int64_t row = (int64_t)(x2 - x1) * bpp;

    *lo = VGT_MIN(a, b);
    *hi = VGT_MAX(a, b) + row;
}

static inline int check_rect(struct walk *w, bool ggtt, uint64_t base, int32_t pitch, uint32_t x1,
                      uint32_t y1, uint32_t x2, uint32_t y2, unsigned bpp, const char *reason)
{
    int64_t lo, hi;

    if (!ggtt)
        return 0;
    if (x2 <= x1 || y2 <= y1)
        return check_ggtt(w, base, 1, reason); /* empty: the engine draws nothing */
    rect_extent(pitch, x1, y1, x2, y2, bpp, &lo, &hi);
    if (lo < 0 && (uint64_t)(-lo) > base)
        return violation(w, -EACCES, reason);
    return check_ggtt(w, base + (uint64_t)lo, (uint64_t)(hi - lo), reason);
}

/* Color depth, BR13 bits 25:24 (PRM vol 2a BLT; i915 BLT_DEPTH_32 3<<24):
 * 0 8 bpp, 1 565, 2 1555, 3 32 bpp. */
static unsigned blt_bpp(uint32_t br13)
{
    static const unsigned b[4] = {1, 2, 2, 4};

    return b[(br13 >> 24) & 3];
}

int vgt_audit_reg_kind(const struct vgt_auditor *a, unsigned engine, uint32_t reg)
{
    return reg_kind(a, engine, reg);
}

/* ---- rule 3: per-command handlers, one per row of cmd_rules[] ---- */

typedef int (*cmd_handler)(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len);

static int h_lri(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc, regk = REG_NO;

    (void)c;
    /* dword 0 then (offset, value) pairs: i915 MI_LOAD_REGISTER_IMM(n) is
     * 2n+1 dwords. */
    if (len < 3 || (len - 1) % 2)
        return violation(w, -EINVAL, "MI_LOAD_REGISTER_IMM length is not 1 + 2n dwords");
    for (uint32_t i = 1; i < len; i += 2) {
        uint32_t reg = p[i];

        rc = check_reg_load(w, reg, true, &regk);
        if (rc)
            return rc;
        if (regk == REG_PDP) {
            uint32_t rel = reg - engine_base[w->engine] - 0x270;
            uint32_t host;

            if (!w->a->ops || !w->a->ops->pdp)
                return violation(w, -EACCES, "PDP write with no shadow table to patch it to");
            rc = w->a->ops->pdp(w->ctx, w->engine, rel / 8, (rel & 4) != 0, p[i + 1], &host);
            if (rc)
                return violation(w, -EACCES, "PDP write names no shadowed page table");
            p[i + 1] = host;
            w->r->pdp_patches++;
        }
    }
    return CMD_NEXT;
}

static int h_lrm(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc = check_reg_load(w, p[1], false, NULL);

    (void)c, (void)len;
    return rc ? rc : check_operand(w, (p[0] & USE_GGTT) != 0, addr64(p, 2, ADDR64_MASK), 4,
                                   "MI_LOAD_REGISTER_MEM reads outside the vGPU");
}

static int h_srm(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc = check_reg(w, p[1], false, NULL);

    (void)c, (void)len;
    return rc ? rc : check_operand(w, (p[0] & USE_GGTT) != 0, addr64(p, 2, ADDR64_MASK), 4,
                                   "MI_STORE_REGISTER_MEM writes outside the vGPU");
}

static int h_lrr(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc = check_reg(w, p[1], false, NULL);

    (void)c, (void)len;
    return rc ? rc : check_reg_load(w, p[2], false, NULL);
}

static int h_sdi(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    /* 4 dwords store a dword, 5 a qword (Store Qword, i915
     * MI_STORE_DWORD_IMM_GEN4 | 1 for a qword). */
    uint32_t want = (p[0] & SDI_STORE_QWORD) ? 5 : 4;

    (void)c;
    if (len != want && len != 5)
        return violation(w, -EINVAL, "bad command length");
    return check_operand(w, (p[0] & USE_GGTT) != 0, addr64(p, 1, ADDR48_MASK), len == 5 ? 8 : 4,
                         "MI_STORE_DATA_IMM writes outside the vGPU");
}

/* Store-data-index (PIPE_CONTROL, MI_FLUSH_DW, MI_STORE_DATA_INDEX): in
 * execlist mode the index is an offset into the running context's
 * per-process HWSP, page 0 of its image (i915 6.1 gen8_emit_flush_rcs and
 * gen8_emit_flush_xcs write LRC_PPHWSP_SCRATCH_ADDR that way). The GPU
 * runs the vGPU's shadow context, so that page is the workload's own
 * shadow page, copied back to the guest's image at completion
 * (execlist.c). What the index reaches must stay in that page (gvt
 * cmd_parser.c cmd_address_audit, index_mode); the dwords it may write
 * are recorded for the copy-back. */
static int check_index(struct walk *w, uint64_t index, uint32_t size)
{
    struct vgt_audit_violation *v = &w->r->viol;

    if (index > PPHWSP_SIZE - size) {
        snprintf(v->detail, sizeof(v->detail),
                 "store-data-index offset 0x%llx + %u bytes is outside the 4 KiB per-process status page",
                 (unsigned long long)index, size);
        return violation(w, -EACCES, v->detail);
    }
    for (uint32_t dw = (uint32_t)index / 4; dw < (uint32_t)(index + size + 3) / 4; dw++)
        w->r->pphwsp_dirty[dw / 32] |= 1u << (dw % 32);
    return 0;
}

/* MI_STORE_DATA_INDEX (genxml gen9.xml): 3 dwords store a dword, 4 a
 * qword. Without Use Per-Process HWSP the offset is in the engine's
 * global HWSP, the host's. */
static int h_sdi_index(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    (void)c;
    if (len != 3 && len != 4)
        return violation(w, -EINVAL, "bad command length");
    if (!(p[0] & SDX0_PPHWSP))
        return violation(w, -EACCES, "MI_STORE_DATA_INDEX without the per-process HWSP bit writes the "
                                     "host's hardware status page");
    if (p[1] & ~SDX1_OFFSET)
        return violation(w, -EACCES, "MI_STORE_DATA_INDEX offset has bits outside 11:2");
    return check_index(w, p[1], len == 4 ? 8 : 4);
}

static int h_pipe_control(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    uint32_t ps;
    int rc = 0;

    (void)c;
    if (len < 6)
        return violation(w, -EINVAL, "bad command length");
    ps = (p[1] >> PC1_POST_SYNC_SHIFT) & 3;
    if (p[1] & PC1_LRI_POST_SYNC)
        return violation(w, -EACCES, "PIPE_CONTROL post-sync register write (LRI post-sync)");
    /* Post-sync writes are a qword (genxml: Immediate Data is 64 bits). */
    if ((p[1] & PC1_STORE_DATA_INDEX) && ps)
        rc = check_index(w, addr64(p, 2, ADDR48_MASK), 8);
    else if (ps)
        rc = check_operand(w, (p[1] & PC1_DAT_GGTT) != 0, addr64(p, 2, ADDR48_MASK), 8,
                           "PIPE_CONTROL post-sync write outside the vGPU");
    if (!rc && (p[1] & PC1_NOTIFY)) {
        p[1] &= ~PC1_NOTIFY;
        w->r->notifies++;
    }
    return rc;
}

static int h_flush_dw(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    uint32_t ps = (p[0] >> FD0_POST_SYNC_SHIFT) & 3;
    int rc = 0;

    (void)c;
    if (len < 4)
        return violation(w, -EINVAL, "bad command length");
    /* Address bits 47:3 (dword 1 bit 2 is the GGTT selector); op 1
     * writes a dword with 4 dwords (i915 gen8_emit_flush_xcs), a qword
     * with 5; the timestamp is a qword (genxml gen9.xml MI_FLUSH_DW). */
    if ((p[0] & FD0_STORE_DATA_INDEX) && ps)
        rc = check_index(w, addr64(p, 1, ADDR48_MASK & ~7ull), ps == 1 && len < 5 ? 4 : 8);
    else if (ps)
        rc = check_operand(w, (p[1] & FD1_DAT_GGTT) != 0, addr64(p, 1, ADDR48_MASK), 8,
                           "MI_FLUSH_DW post-sync write outside the vGPU");
    if (!rc && (p[0] & FD0_NOTIFY)) {
        p[0] &= ~FD0_NOTIFY;
        w->r->notifies++;
    }
    return rc;
}

static int h_user_interrupt(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    (void)c, (void)len;
    /* GVT-g does the same (cmd_parser.c cmd_handler_mi_user_interrupt):
     * the interrupt becomes a virtual event delivered at completion. */
    p[0] = MI_NOOP_DW;
    w->r->user_interrupts++;
    return CMD_NEXT;
}

static int h_copy_mem_mem(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc = check_operand(w, (p[0] & CMM_GGTT_DST) != 0, addr64(p, 1, ADDR64_MASK), 4,
                           "MI_COPY_MEM_MEM writes outside the vGPU");

    (void)c, (void)len;
    return rc ? rc : check_operand(w, (p[0] & CMM_GGTT_SRC) != 0, addr64(p, 3, ADDR64_MASK), 4,
                                   "MI_COPY_MEM_MEM reads outside the vGPU");
}

/* The destination rectangle of XY_COLOR_BLT and XY_SRC_COPY_BLT: BR13
 * dw1 (pitch 15:0, depth 25:24), BR22 dw2 (y1 31:16, x1 15:0), BR23 dw3
 * (y2, x2), BR09 dw4-5 destination. */
static int check_dst_rect(struct walk *w, const struct cursor *c, const uint32_t *p, const char *reason)
{
    return check_rect(w, c->buf_ggtt, addr64(p, 4, ~0ull), (int16_t)(p[1] & 0xffff), p[2] & 0xffff,
                      p[2] >> 16, p[3] & 0xffff, p[3] >> 16, blt_bpp(p[1]), reason);
}

static int h_xy_color(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    (void)len;
    return check_dst_rect(w, c, p, "XY_COLOR_BLT writes outside the vGPU");
}

static int h_xy_src_copy(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc = check_dst_rect(w, c, p, "XY_SRC_COPY_BLT writes outside the vGPU");

    (void)len;
    if (rc)
        return rc;
    /* plus BR26 dw6 (src y1, x1), BR11 dw7 (src pitch 15:0), BR12 dw8-9
     * source, over the destination's width and height. */
    if ((p[3] & 0xffff) > (p[2] & 0xffff) && (p[3] >> 16) > (p[2] >> 16)) {
        uint32_t sx = p[6] & 0xffff, sy = p[6] >> 16;
        uint32_t wdt = (p[3] & 0xffff) - (p[2] & 0xffff), hgt = (p[3] >> 16) - (p[2] >> 16);

        return check_rect(w, c->buf_ggtt, addr64(p, 8, ~0ull), (int16_t)(p[7] & 0xffff), sx, sy,
                          sx + wdt, sy + hgt, blt_bpp(p[1]), "XY_SRC_COPY_BLT reads outside the vGPU");
    }
    return check_operand(w, c->buf_ggtt, addr64(p, 8, ~0ull), 1, "XY_SRC_COPY_BLT reads outside the vGPU");
}

static int h_xy_fast_copy(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc;

    (void)len;
    /* Tiled layouts make the extent format-dependent: check both base
     * addresses only, and only where they are GGTT. */
    rc = check_operand(w, c->buf_ggtt, addr64(p, 4, ~0ull), 1, "XY_FAST_COPY_BLT writes outside the vGPU");
    return rc ? rc : check_operand(w, c->buf_ggtt, addr64(p, 8, ~0ull), 1,
                                   "XY_FAST_COPY_BLT reads outside the vGPU");
}

static int h_bb_end(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    (void)p, (void)len;
    if (c->kind == VGT_AUDIT_RING)
        return violation(w, -EINVAL, "MI_BATCH_BUFFER_END in the ring");
    return CMD_END_OF_BUF;
}

static int fetch_batch(struct walk *w, uint64_t gma, bool ppgtt, struct vgt_audit_buf **out);
static int scan_batch(struct walk *w, uint64_t gma, bool ppgtt, unsigned level,
                      struct vgt_audit_buf *pre);

static int h_bb_start(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    bool ppgtt = (p[0] & BB_START_ASI_PPGTT) != 0;
    bool second = (p[0] & BB_START_SECOND_LEVEL) != 0;
    uint64_t target = addr64(p, 1, ADDR48_MASK);
    struct vgt_audit_result *r = w->r;
    struct vgt_audit_buf *nb = NULL;
    int rc;

    if (p[0] & (BB_START_ADD_OFFSET | BB_START_PREDICATED))
        return violation(w, -EACCES, "MI_BATCH_BUFFER_START with add-offset or predication");
    if (c->kind == VGT_AUDIT_BATCH && !second) {
        /* Chained: a jump. Jumping back into what this chain has already
         * run is a loop the GPU would never leave. */
        struct chain *ch = c->ch;

        ch->len[ch->n - 1] = (c->pos + len) * 4;
        for (unsigned i = 0; i < ch->n; i++)
            if (ch->ppgtt[i] == ppgtt && target >= ch->gma[i] && target - ch->gma[i] < ch->len[i])
                return violation(w, -EINVAL, "batch buffer jumps back into its own chain (loop)");
    }
    if (c->kind == VGT_AUDIT_BATCH && second && c->level >= VGT_AUDIT_MAX_LEVEL)
        return violation(w, -EINVAL, "batch buffer nesting deeper than two levels");
    if (c->kind == VGT_AUDIT_RING && second)
        return violation(w, -EINVAL, "second-level batch started from the ring");
    rc = fetch_batch(w, target, ppgtt, &nb);
    if (rc)
        return rc;
    /* The caller relocates this start to the copy once it knows where the
     * copy lives. */
    r->sites[r->nr_sites].buf = (uint16_t)c->bufi;
    r->sites[r->nr_sites].target = (uint16_t)(r->batches - 1);
    r->sites[r->nr_sites].dw = (uint32_t)c->pos;
    r->nr_sites++;
    if (c->kind == VGT_AUDIT_BATCH && !second) {
        c->next = nb;
        c->next_idx = r->batches; /* 1-based index of nb */
        return CMD_CHAIN;         /* the rest of this buffer is unreachable */
    }
    rc = scan_batch(w, target, ppgtt, c->kind == VGT_AUDIT_RING ? 1 : c->level + 1, nb);
    w->cur = c; /* reports are about this buffer again */
    return rc;
}

/* Every address the decoder knows: GGTT ones must be the vGPU's. */
static int h_generic(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    const struct vgt_cmd_desc *desc = cur_desc(w);
    int sel, rc = 0;
    bool ggtt;

    if (!desc->addr_count)
        return CMD_NEXT;
    sel = vgt_cmd_uses_ggtt(desc, p, len);
    ggtt = sel < 0 ? c->buf_ggtt : sel == 1;
    if (!ggtt)
        return CMD_NEXT;
    for (unsigned i = 0; i < desc->addr_count && !rc; i++) {
        const struct vgt_cmd_addr *ad = &w->tbl->addrs[desc->addr_first + i];
        uint64_t addr;

        if (vgt_cmd_addr_get(ad, p, len, &addr))
            continue; /* a shorter encoding without this field */
        if (ad->flags & VGT_CMD_ADDR_STATE_REL)
            continue; /* an offset from General State Base Address, like kernel pointers */
        if ((ad->flags & VGT_CMD_ADDR_GATED) && ad->en_dw < len && !((p[ad->en_dw] >> ad->en_bit) & 1))
            continue; /* disabled (pool, SO buffer): the engine does not use it */
        rc = check_ggtt(w, addr, 4,
                        desc->id == VGT_CMD_ID_SEMAPHORE_WAIT ? "MI_SEMAPHORE_WAIT on an address outside the vGPU"
                                                              : "command addresses memory outside the vGPU");
    }
    return rc;
}

/* STATE_BASE_ADDRESS (genxml gen9.xml; Gen8's is the same without dwords
 * 16..18, PRM vol 2a): each base is bits 63:12 of a dword pair, taken only
 * with its Modify Enable (bit 0 of the pair's first dword). The general,
 * dynamic, indirect object and instruction bases have a Buffer Size
 * (dwords 12..15, bits 31:12, in 4 KiB pages) with its own Modify Enable
 * (bit 0); the engine returns 0 for accesses at or past base + size (PRM
 * "Buffer Size"), so a base set with its size reaches [base, base + size)
 * and nothing else, and a size of 0 reaches nothing whatever the base
 * (i915's null state: Indirect Object base 0, size 0). A base or size set
 * without the other leaves a bound the auditor cannot know (it is in the
 * context), so it is refused. Surface state bases have no bound here:
 * their base is checked, as any address operand. */
struct sba_base {
    uint8_t dw;      /* base address pair */
    uint8_t size_dw; /* Buffer Size dword; 0: none */
    const char *outside, *base_alone, *size_alone;
};

#define SBA_MODIFY 1u
#define SBA_SIZE_MASK 0xfffff000u /* 4 KiB pages, bits 31:12 */
#define SBA_BASE_MASK 0xfffffffffffff000ull
#define SBA_LEN_GEN8 16u
#define SBA_LEN_GEN9 19u

static const struct sba_base sba_bases[] = {
    {1, 12, "STATE_BASE_ADDRESS: general state buffer outside the vGPU",
     "STATE_BASE_ADDRESS: general state base without its buffer size (bound unknown)",
     "STATE_BASE_ADDRESS: general state buffer size without its base (base unknown)"},
    {4, 0, "STATE_BASE_ADDRESS: surface state base outside the vGPU", NULL, NULL},
    {6, 13, "STATE_BASE_ADDRESS: dynamic state buffer outside the vGPU",
     "STATE_BASE_ADDRESS: dynamic state base without its buffer size (bound unknown)",
     "STATE_BASE_ADDRESS: dynamic state buffer size without its base (base unknown)"},
    {8, 14, "STATE_BASE_ADDRESS: indirect object buffer outside the vGPU",
     "STATE_BASE_ADDRESS: indirect object base without its buffer size (bound unknown)",
     "STATE_BASE_ADDRESS: indirect object buffer size without its base (base unknown)"},
    {10, 15, "STATE_BASE_ADDRESS: instruction buffer outside the vGPU",
     "STATE_BASE_ADDRESS: instruction base without its buffer size (bound unknown)",
     "STATE_BASE_ADDRESS: instruction buffer size without its base (base unknown)"},
    {16, 0, "STATE_BASE_ADDRESS: bindless surface state base outside the vGPU", NULL, NULL},
};

static int h_state_base_address(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    const struct vgt_cmd_desc *desc = cur_desc(w);
    int sel;

    if (len != SBA_LEN_GEN8 && len != SBA_LEN_GEN9)
        return violation(w, -EINVAL, "STATE_BASE_ADDRESS is neither 16 (Gen8) nor 19 (Gen9) dwords");
    sel = vgt_cmd_uses_ggtt(desc, p, len);
    if (!(sel < 0 ? c->buf_ggtt : sel == 1))
        return CMD_NEXT; /* PPGTT: the shadow maps only the guest's memory */
    for (size_t i = 0; i < VGT_ARRAY_SIZE(sba_bases); i++) {
        const struct sba_base *s = &sba_bases[i];
        bool set_base, set_size;
        uint64_t base;
        uint32_t size;

        /* Before reading the pair: a Gen8 command ends at dword 15, and
         * its last dword may be the last of the guest's buffer. */
        if (s->dw + 1u >= len)
            continue; /* Gen8 layout: no bindless base */
        set_base = p[s->dw] & SBA_MODIFY;
        base = addr64(p, s->dw, SBA_BASE_MASK);
        if (!s->size_dw) {
            if (set_base && !in_ranges(w->a, base, 4))
                return violation(w, -EACCES, s->outside);
            continue;
        }
        set_size = p[s->size_dw] & SBA_MODIFY;
        size = p[s->size_dw] & SBA_SIZE_MASK;
        if (set_base && !set_size)
            return violation(w, -EACCES, s->base_alone);
        if (!set_base && set_size && size)
            return violation(w, -EACCES, s->size_alone);
        if (set_base && size && !in_ranges(w->a, base, size))
            return violation(w, -EACCES, s->outside);
    }
    return CMD_NEXT;
}

/* 3DSTATE_INDEX_BUFFER (genxml gen9.xml): Buffer Starting Address in
 * dwords 2-3, Buffer Size in bytes in dword 4. The engine fetches no index
 * at or past the end (PRM: accesses beyond the buffer return 0), so the
 * buffer is [address, address + size), and a size of 0 reaches nothing
 * (i915's null state: address 0, size 0). */
#define IB_ADDR_DW 2
#define IB_SIZE_DW 4

static int h_index_buffer(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    const struct vgt_cmd_desc *desc = cur_desc(w);
    int sel = vgt_cmd_uses_ggtt(desc, p, len);
    uint64_t addr = addr64(p, IB_ADDR_DW, ~0ull);

    if (!(sel < 0 ? c->buf_ggtt : sel == 1) || p[IB_SIZE_DW] == 0)
        return CMD_NEXT;
    return check_ggtt(w, addr, p[IB_SIZE_DW], "3DSTATE_INDEX_BUFFER: index buffer outside the vGPU");
}

/* ---- the depth/stencil group: 3DSTATE_DEPTH_BUFFER, 3DSTATE_HIER_DEPTH_
 * BUFFER, 3DSTATE_STENCIL_BUFFER ----
 *
 * Field positions: genxml gen9.xml. The depth buffer: dword 1 Surface Type
 * 31:29 (SURFTYPE_NULL 7: no depth buffer, the address is not used),
 * Depth Write Enable 28, Stencil Write Enable 27, Hierarchical Depth
 * Buffer Enable 22, Surface Pitch 17:0 (bytes - 1); address dwords 2-3;
 * dword 4 Height 31:18, Width 17:4 (- 1); dword 5 Depth 31:21 (- 1),
 * Minimum Array Element 20:10; dword 7 Render Target View Extent 31:21
 * (- 1), Surface QPitch 14:0. HiZ and stencil: dword 1 Surface Pitch
 * 16:0 (bytes - 1), stencil's Stencil Buffer Enable 31; address dwords
 * 2-3; dword 4 Surface QPitch 14:0. HiZ and stencil have no size of their
 * own: they cover the depth buffer's width, height and slices.
 *
 * Rule (docs/submission.md "Depth, HiZ and stencil buffers"):
 * - a depth buffer is checked at its command, over an upper bound of its
 *   extent. One outside the vGPU with depth/stencil writes and HiZ off is
 *   only ever read: the copy gets SURFTYPE_NULL instead, so the GPU reads
 *   nothing there (i915's null state: a 1x1 1D buffer at address 0). One
 *   outside with writes or HiZ on is refused;
 * - HiZ and stencil buffers are used only by a draw (3DPRIMITIVE) or a
 *   depth/HiZ operation (3DSTATE_WM_HZ_OP), with the depth buffer's HiZ
 *   Enable and the stencil's own enable: they are checked there, with the
 *   depth buffer's dimensions, as this workload programmed them. */
#define DS_SUB_DEPTH 0x05
#define DS_SUB_STENCIL 0x06
#define DS_SUB_HIZ 0x07
#define DB1_TYPE_SHIFT 29
#define DB1_WRITES (1u << 28 | 1u << 27 | 1u << 22) /* depth write, stencil write, HiZ */
#define DB1_HIZ (1u << 22)
#define SURFTYPE_1D 0u
#define SURFTYPE_CUBE 3u
#define SURFTYPE_NULL 7u
#define SB1_ENABLE (1u << 31)
#define DS_ADDR_MASK 0xfffffffffffff000ull /* 4 KiB aligned surfaces: low bits ignored */

/* An upper bound, in bytes, of a Y/W-tiled miptree surface of row pitch
 * @pitch and slice pitch @qpitch (rows) over the dimensions of depth
 * buffer @db; UINT64_MAX for a reserved surface type. Not the layout, a
 * bound of it: a row is at most max(pitch, 16 bytes x width) (8-byte
 * texels, and 1D surfaces lay their LODs out along one row); a slice is
 * at most max(QPitch, 2 x height + 128) rows, rounded to 64 (LOD 1 below
 * LOD 0, the smaller LODs beside LOD 1, each aligned to at most 16 rows:
 * PRM vol 5 "Surface Layout"); slices up to Minimum Array Element plus
 * the larger of Depth and Render Target View Extent, six per cube. With
 * the fields' widths the result stays below 2^50. A surface this bound
 * puts past the vGPU is treated as outside it. */
static uint64_t surf_bound(uint32_t pitch, uint32_t qpitch, const uint32_t *db)
{
    unsigned type = db[1] >> DB1_TYPE_SHIFT;
    uint64_t w = ((db[4] >> 4) & 0x3fff) + 1, h = ((db[4] >> 18) & 0x3fff) + 1;
    uint64_t d = ((db[5] >> 21) & 0x7ff) + 1, min = (db[5] >> 10) & 0x7ff, ext = ((db[7] >> 21) & 0x7ff) + 1;
    uint64_t row = VGT_MAX((uint64_t)pitch, 16 * w);
    uint64_t rows = (VGT_MAX((uint64_t)qpitch, 2 * h + 128) + 63) & ~63ull;
    uint64_t slices = min + VGT_MAX(d, ext);

    if (type == SURFTYPE_NULL)
        type = SURFTYPE_CUBE; /* HiZ/stencil beside a null depth buffer: its largest case */
    if (type > SURFTYPE_CUBE)
        return UINT64_MAX;
    if (type == SURFTYPE_CUBE)
        slices *= 6;
    return row * rows * slices + VGT_PAGE_SIZE;
}

static int check_ds_group(struct walk *w);

static int h_depth_stencil(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    struct ds_state *ds = &w->ds;
    unsigned sub = (p[0] >> 16) & 0xff;
    bool ggtt = c->buf_ggtt; /* no address-space selector */

    if (sub == DS_SUB_DEPTH) {
        unsigned type = p[1] >> DB1_TYPE_SHIFT;

        if (len != 8)
            return violation(w, -EINVAL, "3DSTATE_DEPTH_BUFFER is not 8 dwords");
        if (ggtt && type != SURFTYPE_NULL &&
            !in_ranges(w->a, addr64(p, 2, DS_ADDR_MASK), surf_bound((p[1] & 0x3ffff) + 1, p[7] & 0x7fff, p))) {
            if (p[1] & DB1_WRITES)
                return violation(w, -EACCES, "3DSTATE_DEPTH_BUFFER: depth buffer outside the vGPU "
                                             "with depth/stencil writes or HiZ enabled");
            /* Only ever read: no depth buffer reads nothing. */
            p[1] = (p[1] & ~(7u << DB1_TYPE_SHIFT)) | SURFTYPE_NULL << DB1_TYPE_SHIFT;
            w->r->depth_nulled++;
        }
        memcpy(ds->depth, p, sizeof(ds->depth));
        ds->depth_set = true;
        return ds->drawn ? check_ds_group(w) : CMD_NEXT;
    }
    if (len != 5)
        return violation(w, -EINVAL, sub == DS_SUB_HIZ ? "3DSTATE_HIER_DEPTH_BUFFER is not 5 dwords"
                                                       : "3DSTATE_STENCIL_BUFFER is not 5 dwords");
    if (sub == DS_SUB_HIZ) {
        memcpy(ds->hiz, p, sizeof(ds->hiz));
        ds->hiz_set = true;
        ds->hiz_ggtt = ggtt;
    } else {
        memcpy(ds->stencil, p, sizeof(ds->stencil));
        ds->stencil_set = true;
        ds->stencil_ggtt = ggtt;
    }
    /* These are non-pipelined state (PRM): without the depth stall
     * software owes, a draw still in flight may see the new buffer. So
     * after a draw, the group must hold at every change too. */
    return ds->drawn ? check_ds_group(w) : CMD_NEXT;
}

/* The HiZ and stencil buffers a draw may reach now must be the vGPU's
 * (the depth buffer was settled at its command). */
static int check_ds_group(struct walk *w)
{
    const struct ds_state *ds = &w->ds;

    if (!ds->depth_set) {
        /* The shadow context's depth buffer: HiZ off. A stencil buffer
         * this workload enabled would take its size from there. */
        if (ds->stencil_set && (ds->stencil[1] & SB1_ENABLE) && ds->stencil_ggtt)
            return violation(w, -EACCES, "stencil buffer enabled with no 3DSTATE_DEPTH_BUFFER in the "
                                         "workload (its extent is unknown)");
        return CMD_NEXT;
    }
    if ((ds->depth[1] >> DB1_TYPE_SHIFT) != SURFTYPE_NULL && (ds->depth[1] & DB1_HIZ)) {
        if (!ds->hiz_set)
            return violation(w, -EACCES, "HiZ enabled with no 3DSTATE_HIER_DEPTH_BUFFER in the workload "
                                         "(the shadow context's is not the vGPU's)");
        if (ds->hiz_ggtt && !in_ranges(w->a, addr64(ds->hiz, 2, DS_ADDR_MASK),
                                       surf_bound((ds->hiz[1] & 0x1ffff) + 1, ds->hiz[4] & 0x7fff, ds->depth)))
            return violation(w, -EACCES, "hierarchical depth buffer outside the vGPU");
    }
    if (ds->stencil_set && (ds->stencil[1] & SB1_ENABLE) && ds->stencil_ggtt &&
        !in_ranges(w->a, addr64(ds->stencil, 2, DS_ADDR_MASK),
                   surf_bound((ds->stencil[1] & 0x1ffff) + 1, ds->stencil[4] & 0x7fff, ds->depth)))
        return violation(w, -EACCES, "stencil buffer outside the vGPU");
    return CMD_NEXT;
}

/* A draw or a depth/HiZ operation (3DPRIMITIVE, 3DSTATE_WM_HZ_OP). */
static int h_depth_access(struct walk *w, struct cursor *c, uint32_t *p, uint32_t len)
{
    int rc = check_ds_group(w);

    (void)c, (void)p, (void)len;
    if (!rc)
        w->ds.drawn = true;
    return rc;
}

/* One row per decoder command id: its handler and, where the command has
 * one, its only valid length. Rows left empty are walked with
 * VGT_CMD_ID_OTHER's (h_generic). */
struct cmd_rule {
    cmd_handler handle;
    uint8_t exact_len; /* 0: any the decoder accepts */
};

static const struct cmd_rule cmd_rules[VGT_CMD_ID_NUM] = {
    [VGT_CMD_ID_OTHER] = {h_generic, 0},
    [VGT_CMD_ID_LRI] = {h_lri, 0},
    /* i915 gen9_blt_cmds: MI_STORE/LOAD_REGISTER_MEM_GEN8 fixed length 4. */
    [VGT_CMD_ID_LRM] = {h_lrm, 4},
    [VGT_CMD_ID_SRM] = {h_srm, 4},
    [VGT_CMD_ID_LRR] = {h_lrr, 3},
    [VGT_CMD_ID_STORE_DATA_IMM] = {h_sdi, 0},
    [VGT_CMD_ID_STORE_DATA_INDEX] = {h_sdi_index, 0},
    [VGT_CMD_ID_PIPE_CONTROL] = {h_pipe_control, 0},
    [VGT_CMD_ID_FLUSH_DW] = {h_flush_dw, 0},
    /* gen8+ BB_START is 3 dwords (i915 MI_BATCH_BUFFER_START_GEN8 | 1). */
    [VGT_CMD_ID_BB_START] = {h_bb_start, 3},
    [VGT_CMD_ID_BB_END] = {h_bb_end, 1},
    [VGT_CMD_ID_USER_INTERRUPT] = {h_user_interrupt, 1},
    [VGT_CMD_ID_COPY_MEM_MEM] = {h_copy_mem_mem, 5},
    [VGT_CMD_ID_XY_COLOR_BLT] = {h_xy_color, 7},
    [VGT_CMD_ID_XY_SRC_COPY_BLT] = {h_xy_src_copy, 10},
    [VGT_CMD_ID_XY_FAST_COPY_BLT] = {h_xy_fast_copy, 10},
    [VGT_CMD_ID_SEMAPHORE_WAIT] = {h_generic, 4},
    [VGT_CMD_ID_STATE_BASE_ADDRESS] = {h_state_base_address, 0},
    /* genxml: 3DSTATE_INDEX_BUFFER is 5 dwords. */
    [VGT_CMD_ID_INDEX_BUFFER] = {h_index_buffer, 5},
    [VGT_CMD_ID_DEPTH_STENCIL] = {h_depth_stencil, 0},
    [VGT_CMD_ID_DEPTH_ACCESS] = {h_depth_access, 0},
};

/* ---- batch copies: read once, extended, never read again ---- */

/* Extend @b's copy to @want dwords, reading only what it lacks. */
static int extend_copy(struct walk *w, struct vgt_audit_buf *b, size_t want)
{
    struct vgt_audit_result *r = w->r;
    size_t got = 0;
    uint32_t *dw;

    if (want > b->cap_dw) {
        dw = realloc(b->dw, want * 4);
        if (!dw)
            return violation(w, -ENOMEM, "out of host memory for the batch copy");
        b->dw = dw;
        b->cap_dw = want;
    }
    if (w->a->ops->read(w->ctx, b->gma + b->ndw * 4, b->ppgtt, b->dw + b->ndw, (want - b->ndw) * 4, &got))
        got = 0;
    got = VGT_MIN(got / 4, want - b->ndw);
    b->ndw += got;
    r->copied += got;
    if (b->ndw < want || b->ndw >= b->max_dw)
        b->whole = true; /* an unmapped page or the limit: nothing more to read */
    return 0;
}

/* Fetch the batch a BB_START names, remember it, and return it. */
static int fetch_batch(struct walk *w, uint64_t gma, bool ppgtt, struct vgt_audit_buf **out)
{
    struct vgt_audit_result *r = w->r;
    struct vgt_audit_buf *b;
    size_t budget, max_dw = SIZE_MAX / 4;
    int rc;

    if (r->batches >= w->a->max_batches)
        return violation(w, -E2BIG, "too many batch buffers in one workload");
    if (gma & 3)
        return violation(w, -EINVAL, "batch buffer address is not dword aligned");
    if (!ppgtt && !in_ranges(w->a, gma, 4))
        return violation(w, -EACCES, "GGTT batch buffer outside the vGPU's graphics memory");
    budget = w->a->max_dwords > r->copied ? w->a->max_dwords - r->copied : 0;
    if (budget == 0)
        return violation(w, -E2BIG, "workload exceeds the command size limit");
    if (!ppgtt) {
        /* A GGTT batch may not run past the range it starts in. */
        for (unsigned i = 0; i < w->a->nr_ranges; i++)
            if (vgt_range_within(gma, 4, w->a->ranges[i].base, w->a->ranges[i].size))
                max_dw = VGT_MIN(max_dw, (w->a->ranges[i].base + w->a->ranges[i].size - gma) / 4);
    }
    if (!w->a->ops || !w->a->ops->read)
        return violation(w, -EACCES, "batch buffers cannot be fetched here");
    b = &r->bufs[r->batches];
    memset(b, 0, sizeof(*b));
    b->gma = gma;
    b->ppgtt = ppgtt;
    b->max_dw = max_dw;
    b->owned = true;
    r->batches++;
    /* Most batches are short: copy a first window; walk_buf extends it
     * for a batch that turns out longer. */
    rc = extend_copy(w, b, VGT_MIN(VGT_MIN(max_dw, budget), (size_t)VGT_AUDIT_FIRST_WINDOW));
    if (rc)
        return rc;
    if (b->ndw == 0)
        return violation(w, -EFAULT, "batch buffer is not mapped");
    *out = b;
    return 0;
}

/* The batch copy ended before its end was found: extend it. 1 when it
 * grew, 0 when it cannot (unmapped page or the batch's limit), or a
 * violation (the workload's size limit: refused, never copied in parts). */
static int grow(struct walk *w, struct vgt_audit_buf *b)
{
    size_t budget, want, had = b->ndw;
    int rc;

    if (b->whole || !b->owned)
        return 0;
    budget = w->a->max_dwords > w->r->copied ? w->a->max_dwords - w->r->copied : 0;
    if (budget == 0)
        return violation(w, -E2BIG, "workload exceeds the command size limit");
    want = b->ndw + VGT_MIN(VGT_MIN(b->ndw * 7, (size_t)VGT_AUDIT_MAX_GROW), budget);
    want = VGT_MIN(want, b->max_dw);
    if (want <= b->ndw)
        return 0;
    rc = extend_copy(w, b, want);
    if (rc)
        return rc;
    return b->ndw > had;
}

/* The walk ended at dword @end of @b: what follows was copied ahead but is
 * never run, so it leaves the copy (and the workload's size count). */
static void trim_copy(struct walk *w, struct vgt_audit_buf *b, size_t end)
{
    if (!b->owned || end >= b->ndw)
        return;
    w->r->copied -= b->ndw - end;
    b->ndw = end;
}

/* ---- the walk's lookup: one entry per opcode key of each engine ----
 *
 * Built once per auditor from the engine's const decoder table and the
 * const rule tables above, so that the walk finds everything it needs
 * before the command's row in one load keyed by dword 0: the length
 * encoding (the next command's position depends only on it), the row,
 * and whether the command needs the slow path. The first level is
 * indexed by dword 0 bits 31:22, the command type and the MI (28:23) or
 * blitter (28:22) opcode; GFXPIPE commands (type 3) go on to a second
 * level indexed by subtype, opcode and sub-opcode, bits 28:16 (PRM vol 2a
 * "Command Format", as the decoder's index in vgt/cmd_decoder.h). Command
 * types 1 and 4..7 are reserved: their slots stay slow (unknown). */
#define KEY_ROW_MASK 0x1ffu          /* index + 1 of the row in the table */
#define KEY_SLOW (1u << 9)           /* rejected, unknown or shared: slow_lookup decides */
#define KEY_SELECTORLESS (1u << 10)  /* has addresses but no address-space selector */
#define KEY_LEN_BITS_SHIFT 11        /* 5 bits: DWord Length width, 0 fixed */
#define KEY_BIAS_SHIFT 16            /* 4 bits: length = field + bias (Gen9: 1 or 2) */
#define KEY_BIAS_MASK 0xfu
#define KEY_EXACT_SHIFT 20           /* 4 bits: the only valid length, 0 any */
#define KEY_EXACT_MASK 0xfu
#define KEY_RULE_SHIFT 24            /* 6 bits: the row of cmd_rules[] (its handler is set) */
#define KEY_RULE_MASK 0x3fu
#define KEY_PARTIAL (1u << 30)       /* the row also matches bits below the key */
#define KEY_L2 (1u << 31)            /* GFXPIPE: look again in the second level */

_Static_assert(VGT_CMD_ID_NUM <= KEY_RULE_MASK + 1, "command ids must fit the lookup entry");
#define KEY_L1_SLOTS 1024u
#define KEY_GFX(hdr) (KEY_L1_SLOTS + (((hdr) >> 16) & 0x1fffu))

/* The entry for row @i of @t (its flags, length encoding and rule). */
static uint32_t key_entry(const struct vgt_cmd_table *t, size_t i)
{
    const struct vgt_cmd_desc *d = &t->cmds[i];
    uint32_t e = (uint32_t)(i + 1);

    if (d->addr_count && !(d->flags & (VGT_CMD_F_ASI_GGTT_WHEN_SET | VGT_CMD_F_ASI_PPGTT_WHEN_SET)) &&
        d->id != VGT_CMD_ID_COPY_MEM_MEM && d->id != VGT_CMD_ID_BB_START)
        e |= KEY_SELECTORLESS;
    /* The key is dword 0 bits 31:22 (GFXPIPE: 31:16); only a row that
     * also matches bits below them needs a second compare. */
    if (d->mask & ~((d->value >> 29) == 3 ? 0xffff0000u : 0xffc00000u))
        e |= KEY_PARTIAL;
    e |= (uint32_t)d->len_bits << KEY_LEN_BITS_SHIFT;
    e |= (uint32_t)d->bias << KEY_BIAS_SHIFT;
    if (d->id < VGT_CMD_ID_NUM) {
        e |= (uint32_t)cmd_rules[d->id].exact_len << KEY_EXACT_SHIFT;
        if (cmd_rules[d->id].handle)
            e |= (uint32_t)d->id << KEY_RULE_SHIFT;
    } /* no handler: VGT_CMD_ID_OTHER's (h_generic) */
    return e;
}

/* Fill @keys for table @t: every slot whose key bits agree with a row's
 * match (bits the match ignores are don't-care); a slot no row or several
 * rows claim is slow. */
static int build_keys(uint32_t *keys, const struct vgt_cmd_table *t)
{
    memset(keys, 0, VGT_AUDIT_KEYS * sizeof(*keys));
    if (t->count >= KEY_ROW_MASK)
        return -E2BIG;
    for (uint32_t s = 3u << 7; s < 4u << 7; s++)
        keys[s] = KEY_L2;
    for (size_t i = 0; i < t->count; i++) {
        const struct vgt_cmd_desc *d = &t->cmds[i];
        unsigned type = d->value >> 29;
        unsigned base = type == 3 ? KEY_L1_SLOTS : type << 7, shift = type == 3 ? 16 : 22;
        uint32_t kbits = type == 3 ? 0x1fff : 0x7f;
        uint32_t kmask = (d->mask >> shift) & kbits, kval = (d->value >> shift) & kbits;
        uint32_t free_bits = kbits & ~kmask;

        /* The decoder's rules for a row (vgt_cmd_decoder_init): the type
         * is part of every match, a length of at least 1, a length field
         * inside dword 0; no reserved type. */
        if ((d->mask >> 29) != 7 || (d->value & ~d->mask) || !d->bias || d->len_bits > 29 ||
            (type != 0 && type != 2 && type != 3))
            return -EINVAL;
        /* ... and what the entry has room for. */
        if (d->bias > KEY_BIAS_MASK || (d->id < VGT_CMD_ID_NUM && cmd_rules[d->id].exact_len > KEY_EXACT_MASK))
            return -E2BIG;
        for (uint32_t sub = free_bits;; sub = (sub - 1) & free_bits) { /* every subset */
            uint32_t *slot = &keys[base + (kval | sub)];

            *slot = *slot ? KEY_SLOW : key_entry(t, i);
            if (!sub)
                break;
        }
    }
    for (unsigned k = 0; k < VGT_AUDIT_KEYS; k++)
        if (!keys[k])
            keys[k] = KEY_SLOW; /* no row: unknown */
    /* Rejected MI opcodes (bits 28:23; bit 22 is not part of them). */
    for (unsigned op = 0; op < VGT_ARRAY_SIZE(mi_rejects); op++)
        if (mi_rejects[op].name) {
            keys[op << 1] |= KEY_SLOW;
            keys[(op << 1) | 1] |= KEY_SLOW;
        }
    return 0;
}

/* What the one-load lookup could not settle: a rejected MI command
 * (refused by name before any decode, on every engine), an opcode the
 * engine does not know, or a slot several rows share (the rows are
 * scanned). The entry of the row found, or 0 after a violation in *rc. */
static uint32_t slow_lookup(struct walk *w, uint32_t hdr, int *rc)
{
    const struct vgt_cmd_table *t = w->tbl;

    if ((hdr >> 29) == 0 && mi_rejects[(hdr >> 23) & 0x3f].name) {
        w->row = 0;
        w->name = mi_rejects[(hdr >> 23) & 0x3f].name;
        *rc = violation(w, -EACCES, mi_rejects[(hdr >> 23) & 0x3f].reason);
        return 0;
    }
    for (size_t i = 0; i < t->count; i++)
        if ((hdr & t->cmds[i].mask) == t->cmds[i].value)
            return key_entry(t, i);
    *rc = violation(w, -EACCES, "unknown command for this engine");
    return 0;
}

/* The entry for @hdr when its first-level entry @e is not final: a
 * GFXPIPE command's second level, the slow path, and the compare of the
 * bits below the key for a row that matches some. 0 after a violation
 * in *rc. */
static uint32_t rare_lookup(struct walk *w, uint32_t hdr, uint32_t e, int *rc)
{
    const struct vgt_cmd_desc *d;

    if (e & KEY_L2)
        e = w->keys[KEY_GFX(hdr)];
    if (e & KEY_SLOW) {
        w->row = 0;
        e = slow_lookup(w, hdr, rc);
        if (!e)
            return 0;
    }
    d = &w->tbl->cmds[(e & KEY_ROW_MASK) - 1];
    if ((hdr & d->mask) != d->value) {
        w->row = 0;
        *rc = violation(w, -EACCES, "unknown command for this engine");
        return 0;
    }
    return e;
}

/* Walk one buffer. On a chained BB_START the target is returned in
 * c->next (and scanning of this buffer stops: what follows is
 * unreachable).
 *
 * The hot loop: a command costs the lookup above (one test sends the
 * rare entries, GFXPIPE, slow or partly matched, to rare_lookup), its
 * row's handler, and no per-command bookkeeping (the report of a
 * violation, its name too, is built from the cursor and the row index
 * only when there is one; the dword count is the walk's position). */
static int walk_buf(struct walk *w, struct cursor *c)
{
    struct vgt_audit_buf *b = c->b;
    const uint32_t *keys = w->keys;
    /* KEY_SELECTORLESS where such commands are refused, else 0 */
    uint32_t refuse = !c->buf_ggtt && w->a->refuse_ppgtt_selectorless ? KEY_SELECTORLESS : 0;
    uint32_t *dw = b->dw;
    size_t ndw = b->ndw, off = 0;
    int rc = 0;

    c->next = NULL;
    c->pos = 0;
    w->cur = c;
    for (;;) {
        uint32_t *p, hdr, e, len, exact;

        if (off >= ndw) {
            if (c->kind != VGT_AUDIT_BATCH)
                break;
            rc = grow(w, b);
            if (rc <= 0)
                goto out_grown; /* a violation, or nothing more to read */
            dw = b->dw;
            ndw = b->ndw;
            continue;
        }
        p = &dw[off];
        hdr = p[0];
        if (hdr == 0) {
            /* MI_NOOP (every engine's table has it; no rule, no operand):
             * the commonest padding, passed without a lookup. */
            off++;
            continue;
        }
        c->pos = off;
        e = keys[hdr >> 22];
        if (e & (KEY_L2 | KEY_SLOW | KEY_PARTIAL)) {
            e = rare_lookup(w, hdr, e, &rc);
            if (!e)
                goto out;
        }
        /* len_bits 0 makes the field mask 0: the length is the bias. */
        len = (hdr & ((1u << ((e >> KEY_LEN_BITS_SHIFT) & 0x1f)) - 1)) + ((e >> KEY_BIAS_SHIFT) & KEY_BIAS_MASK);
        if (len > ndw - off) {
            w->row = 0; /* not decoded: it does not fit */
            if (c->kind == VGT_AUDIT_BATCH) {
                rc = grow(w, b);
                if (rc < 0)
                    goto out;
                if (rc > 0) {
                    dw = b->dw; /* decode again from the extended copy */
                    ndw = b->ndw;
                    continue;
                }
            }
            rc = violation(w, -EINVAL, c->kind == VGT_AUDIT_RING
                                           ? "command runs past the ring tail"
                                           : "command runs past the end of the mapped batch buffer");
            goto out;
        }
        w->row = e & KEY_ROW_MASK;
        exact = (e >> KEY_EXACT_SHIFT) & KEY_EXACT_MASK;
        if (exact && len != exact) {
            rc = violation(w, -EINVAL, "bad command length");
            goto out;
        }
        if (e & refuse) {
            rc = violation(w, -EACCES, "command without address-space selector in a PPGTT batch "
                                       "(batch copies run from the GGTT)");
            off += len; /* decoded: it counts as scanned */
            goto out;
        }
        rc = cmd_rules[(e >> KEY_RULE_SHIFT) & KEY_RULE_MASK].handle(w, c, p, len);
        off += len;
        if (rc < 0)
            goto out;
        if (rc == CMD_END_OF_BUF || rc == CMD_CHAIN) {
            trim_copy(w, b, off);
            goto out;
        }
    }
    rc = 0;
out_grown:
    if (rc == 0 && c->kind == VGT_AUDIT_BATCH) {
        w->row = 0;
        rc = violation_at(w, (uint32_t)(b->ndw * 4), 0, -EINVAL,
                          "batch buffer has no MI_BATCH_BUFFER_END (unterminated)");
    }
out:
    w->r->dwords += off; /* every dword walked, up to the end of the last command decoded */
    return rc;
}

/* Scan a batch and everything chained from it, at @level. */
static int scan_batch(struct walk *w, uint64_t gma, bool ppgtt, unsigned level, struct vgt_audit_buf *b)
{
    struct chain ch;
    struct cursor c = {.b = b, .bufi = w->r->batches, .kind = VGT_AUDIT_BATCH, .level = level, .ch = &ch};

    ch.n = 0;
    for (;;) {
        int rc;

        ch.gma[ch.n] = gma;
        ch.len[ch.n] = 0; /* set to the part scanned when it jumps */
        ch.ppgtt[ch.n] = ppgtt;
        ch.n++;
        c.buf_ggtt = !c.b->ppgtt;
        rc = walk_buf(w, &c);
        if (rc < 0)
            return rc;
        if (rc != CMD_CHAIN)
            return 0;
        if (ch.n >= VGT_AUDIT_DEFAULT_MAX_BATCHES)
            return violation(w, -E2BIG, "too many chained batch buffers");
        c.b = c.next;
        c.bufi = c.next_idx;
        gma = c.b->gma;
        ppgtt = c.b->ppgtt;
    }
}

int vgt_audit_init(struct vgt_auditor *a, const struct vgt_audit_range *ranges, unsigned n,
                   const struct vgt_audit_ops *ops, struct vgt_log *log)
{
    if (!a || n == 0 || n > VGT_AUDIT_MAX_RANGES || !ranges)
        return -EINVAL;
    memset(a, 0, sizeof(*a));
    for (unsigned i = 0; i < n; i++) {
        if (ranges[i].size == 0 || ranges[i].base + ranges[i].size < ranges[i].base)
            return -EINVAL;
        a->ranges[i] = ranges[i];
    }
    a->nr_ranges = n;
    a->ops = ops;
    a->log = log;
    a->max_batches = VGT_AUDIT_DEFAULT_MAX_BATCHES;
    a->max_dwords = VGT_AUDIT_DEFAULT_MAX_DWORDS;
    for (unsigned e = 0; e < VGT_ENGINE_NUM; e++) {
        const struct vgt_cmd_table *t = vgt_cmd_table_for_engine(e);
        int rc;

        if (!t)
            return -EINVAL;
        rc = build_keys(a->keys[e], t);
        if (rc)
            return rc;
        a->tbl[e] = t;
        for (size_t i = 0; i < VGT_ARRAY_SIZE(reg_rows); i++) {
            if (!(reg_rows[i].engines & (1u << e)))
                continue;
            if (a->nr_regs[e] >= VGT_AUDIT_MAX_REG_ROWS)
                return -E2BIG;
            a->regs[e][a->nr_regs[e]++] = (struct vgt_audit_reg_row){
                reg_rows[i].off, reg_rows[i].off + reg_rows[i].len, reg_rows[i].kind};
        }
    }
    return 0;
}

static int begin(struct vgt_auditor *a, void *ctx, unsigned engine, struct vgt_audit_result *r,
                 struct walk *w)
{
    memset(r, 0, sizeof(*r));
    if (engine >= VGT_ENGINE_NUM || !a->tbl[engine])
        return -EINVAL;
    memset(w, 0, sizeof(*w));
    w->a = a;
    w->ctx = ctx;
    w->engine = engine;
    w->tbl = a->tbl[engine];
    w->keys = a->keys[engine];
    w->r = r;
    return 0;
}

int vgt_audit_ring(struct vgt_auditor *a, void *ctx, unsigned engine, uint32_t *ring, size_t ndw,
                   uint64_t ring_gma, struct vgt_audit_result *r)
{
    struct vgt_audit_buf rb = {.dw = ring, .ndw = ndw, .gma = ring_gma, .whole = true};
    struct cursor c = {.b = &rb, .kind = VGT_AUDIT_RING, .buf_ggtt = true};
    struct walk w;
    int rc = begin(a, ctx, engine, r, &w);

    if (rc)
        return rc;
    if (ndw > a->max_dwords) {
        w.name = "ring";
        return violation(&w, -E2BIG, "ring contents exceed the command size limit");
    }
    rc = walk_buf(&w, &c);
    return rc < 0 ? rc : 0;
}

int vgt_audit_batch(struct vgt_auditor *a, void *ctx, unsigned engine, struct vgt_audit_buf *b,
                    struct vgt_audit_result *r)
{
    struct walk w;
    int rc = begin(a, ctx, engine, r, &w);

    if (rc)
        return rc;
    if (!b || !b->dw || b->ndw == 0)
        return -EINVAL;
    if (b->ndw > a->max_dwords)
        b->ndw = a->max_dwords;
    /* A caller-provided first batch counts as buffer 1, as if fetched; its
     * copy is the caller's and complete. */
    r->bufs[0] = *b;
    r->bufs[0].owned = false;
    r->bufs[0].whole = true;
    r->batches = 1;
    rc = scan_batch(&w, b->gma, b->ppgtt, 1, &r->bufs[0]);
    return rc < 0 ? rc : 0;
}

void vgt_audit_release(struct vgt_audit_result *r)
{
    for (unsigned i = 0; i < r->batches; i++) {
        if (r->bufs[i].owned)
            free(r->bufs[i].dw);
        r->bufs[i].dw = NULL;
        r->bufs[i].owned = false;
    }
}

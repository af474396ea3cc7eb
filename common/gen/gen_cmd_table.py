#!/usr/bin/env python3
"""Generate common/cmd_gen9.c (the Gen9 command tables) from Mesa genxml.

Run by hand when the tables change:
    python3 common/gen/gen_cmd_table.py ../shared/spec/genxml/gen9.xml > common/cmd_gen9.c

What genxml says is taken from genxml (opcode fields = header fields in
dword 0 with a default; DWord Length width and bias; top-level address
fields; the address-space selector field). What genxml does not say comes
from the tables below, each fact with its source: the blitter XY_* commands
(PRM vol 2a "BLT engine", Linux i915 gt/intel_gpu_commands.h), MI_FLUSH_DW on
the blitter (i915 emits it on BCS: gen8_emit_flush_xcs), and the direction
(read/write) of addresses of the commands vgt executes or audits.

tests/sim/gpu_decoder_oracle.c re-derives the genxml part independently and
checks the generated table against tests/data/gen9.xml."""
import sys
import xml.etree.ElementTree as ET

# Header fields that are not part of the opcode even though genxml gives
# them a default (MI_ARB_ON_OFF enable, MI_CONDITIONAL_BATCH_BUFFER_END
# compare semaphore).
NOT_OPCODE = {"DWord Length", "Arbitration Enable", "Compare Semaphore"}

# Fields selecting GGTT vs PPGTT, and the value meaning GGTT (genxml enums).
ASI_FIELDS = {"Use Global GTT": 1, "Address Space Indicator": 0,
              "Destination Address Type": 1, "Memory Type": 1}

IDS = {
    "MI_NOOP": "NOOP", "MI_BATCH_BUFFER_START": "BB_START",
    "MI_BATCH_BUFFER_END": "BB_END", "MI_STORE_DATA_IMM": "STORE_DATA_IMM",
    "MI_LOAD_REGISTER_IMM": "LRI", "MI_STORE_REGISTER_MEM": "SRM",
    "MI_LOAD_REGISTER_MEM": "LRM", "MI_LOAD_REGISTER_REG": "LRR",
    "MI_FLUSH_DW": "FLUSH_DW", "MI_USER_INTERRUPT": "USER_INTERRUPT",
    "MI_ARB_CHECK": "ARB_CHECK", "PIPE_CONTROL": "PIPE_CONTROL",
    "MI_SEMAPHORE_WAIT": "SEMAPHORE_WAIT", "MI_SEMAPHORE_SIGNAL": "SEMAPHORE_SIGNAL",
    "MI_ATOMIC": "ATOMIC", "MI_COPY_MEM_MEM": "COPY_MEM_MEM",
    "MI_CONDITIONAL_BATCH_BUFFER_END": "COND_BB_END",
    "MI_STORE_DATA_INDEX": "STORE_DATA_INDEX", "MI_SET_CONTEXT": "SET_CONTEXT",
    "MI_DISPLAY_FLIP": "DISPLAY_FLIP", "MI_REPORT_PERF_COUNT": "REPORT_PERF_COUNT",
    "MI_LOAD_REGISTER_IMM": "LRI", "MI_WAIT_FOR_EVENT": "WAIT_FOR_EVENT",
    "MI_ARB_ON_OFF": "ARB_ON_OFF", "MI_PREDICATE": "PREDICATE",
    "PIPELINE_SELECT": "PIPELINE_SELECT",
    "XY_SRC_COPY_BLT": "XY_SRC_COPY_BLT", "XY_COLOR_BLT": "XY_COLOR_BLT",
    "XY_FAST_COPY_BLT": "XY_FAST_COPY_BLT", "MI_UPDATE_GTT": "UPDATE_GTT",
    "STATE_BASE_ADDRESS": "STATE_BASE_ADDRESS", "3DSTATE_INDEX_BUFFER": "INDEX_BUFFER",
    # The depth/stencil group the auditor tracks (docs/submission.md).
    "3DSTATE_DEPTH_BUFFER": "DEPTH_STENCIL", "3DSTATE_HIER_DEPTH_BUFFER": "DEPTH_STENCIL",
    "3DSTATE_STENCIL_BUFFER": "DEPTH_STENCIL",
    # Where depth, HiZ and stencil buffers are reached.
    "3DPRIMITIVE": "DEPTH_ACCESS", "3DSTATE_WM_HZ_OP": "DEPTH_ACCESS",
}

# genxml "address" fields that are offsets from General State Base Address
# (PRM vol 2a, 3DSTATE_VS/HS/DS/GS/PS and MEDIA_VFE_STATE: "Scratch Space
# Base Pointer ... relative to the General State Base Address"): i915's
# null-state batch leaves them 0.
STATE_REL = {"Scratch Space Base Pointer"}

# Address fields whose enable bit genxml names differently (PRM vol 2a
# 3DSTATE_SO_BUFFER: "SO Buffer Enable ... disabled: the buffer is not
# accessed").
GATES = {("3DSTATE_SO_BUFFER", "Surface Base Address"): "SO Buffer Enable"}

# Direction of top-level address fields: (instruction, field) -> R/W.
# Not listed: "RW" (vgt does not know, an auditor must assume both).
DIRS = {
    ("MI_BATCH_BUFFER_START", "Batch Buffer Start Address"): "R",
    ("MI_STORE_DATA_IMM", "Address"): "W",
    ("MI_STORE_REGISTER_MEM", "Memory Address"): "W",
    ("MI_LOAD_REGISTER_MEM", "Memory Address"): "R",
    ("MI_FLUSH_DW", "Address"): "W",
    ("PIPE_CONTROL", "Address"): "W",
    ("MI_SEMAPHORE_WAIT", "Semaphore Address"): "R",
    ("MI_CONDITIONAL_BATCH_BUFFER_END", "Compare Address"): "R",
    ("MI_COPY_MEM_MEM", "Source Memory Address"): "R",
    ("MI_COPY_MEM_MEM", "Destination Memory Address"): "W",
    ("MI_REPORT_PERF_COUNT", "Memory Address"): "W",
    ("MI_ATOMIC", "Memory Address"): "RW",
}

# Blitter commands genxml does not describe. Sources: i915
# gt/intel_gpu_commands.h (XY_SRC_COPY_BLT_CMD 2<<29|0x53<<22,
# XY_COLOR_BLT_CMD 2<<29|0x50<<22, XY_FAST_COPY_BLT_CMD 2<<29|0x42<<22),
# gen8+ lengths 10/7/10 dwords as i915 emits them (DWord Length bits 7:0,
# bias 2), and the PRM vol 2a BLT command layouts: destination address in
# dwords 4-5, source address in dwords 8-9 (64-bit addresses on gen8+).
# Also MI_FLUSH_DW on the blitter: same encoding as genxml's (video) one;
# i915's gen8_emit_flush_xcs emits it on BCS.
EXTRA_BCS = [
    # name, opcode value, dword length bits, bias, nominal length, addrs
    ("XY_COLOR_BLT", (2 << 29) | (0x50 << 22), 8, 2, 7,
     [(4, 0, 64, "W", None)]),
    ("XY_SRC_COPY_BLT", (2 << 29) | (0x53 << 22), 8, 2, 10,
     [(4, 0, 64, "W", None), (8, 0, 64, "R", None)]),
    ("XY_FAST_COPY_BLT", (2 << 29) | (0x42 << 22), 8, 2, 10,
     [(4, 0, 64, "W", None), (8, 0, 64, "R", None)]),
]
BLT_MASK = 0xFFC00000  # type 31:29 + opcode 28:22 (PRM BR00)

# Commands Linux gvt's Gen9 parser knows and genxml does not (Linux 6.1
# drivers/gpu/drm/i915/gvt/cmd_parser.c cmd_info[], every row of which
# applies to Skylake): dword-0 opcode from gvt's OP_* macros (MI 28:23, 2D
# 28:22, 3D/media 31:16), its length rule (F_LEN_CONST: fixed length; else
# DWord Length bits with gvt's bias 2), the valid length of F_LEN_VAR_FIXED
# rows as the nominal one, and the dwords of gvt's addr_bitmap as 64-bit
# addresses (gen8+). The engines are gvt's (R_ALL: all four). genxml has
# no VECS engine: VECS gets genxml's MI commands of the video engine (gvt's
# MI rows are R_ALL) and gvt's R_ALL and R_VECS rows, nothing of MFX.
# tests/cmd/i915-corpus.py re-reads cmd_parser.c and checks that every
# gvt row decodes here with gvt's length.
#   name, engines, mask, value, len_bits, bias, nominal, address dwords
GVT = [
    ("MI_FLUSH", ["bcs", "rcs", "vcs", "vecs"], 0xff800000, 0x02000000, 0, 1, 0, []),
    ("MI_TOPOLOGY_FILTER", ["bcs", "vcs", "vecs"], 0xff800000, 0x06800000, 0, 1, 0, []),
    ("MI_SET_APPID", ["bcs", "rcs", "vcs", "vecs"], 0xff800000, 0x07000000, 0, 1, 0, []),
    ("MI_SEMAPHORE_MBOX", ["bcs", "rcs", "vcs", "vecs"], 0xff800000, 0x0b000000, 8, 2, 3, []),
    ("MI_URB_CLEAR", ["rcs"], 0xff800000, 0x0c800000, 8, 2, 2, []),
    ("MI_UPDATE_GTT", ["bcs", "rcs", "vcs", "vecs"], 0xff800000, 0x11800000, 10, 2, 0, []),
    ("MI_CLFLUSH", ["bcs", "vcs", "vecs"], 0xff800000, 0x13800000, 10, 2, 0, [1]),
    ("XY_SETUP_BLT", ["bcs"], 0xffc00000, 0x40400000, 8, 2, 0, [4, 7]),
    ("XY_SETUP_CLIP_BLT", ["bcs"], 0xffc00000, 0x40c00000, 8, 2, 0, []),
    ("XY_SETUP_MONO_PATTERN_SL_BLT", ["bcs"], 0xffc00000, 0x44400000, 8, 2, 0, [4]),
    ("XY_PIXEL_BLT", ["bcs"], 0xffc00000, 0x49000000, 8, 2, 0, []),
    ("XY_SCANLINES_BLT", ["bcs"], 0xffc00000, 0x49400000, 8, 2, 0, []),
    ("XY_TEXT_BLT", ["bcs"], 0xffc00000, 0x49800000, 8, 2, 0, [3]),
    ("XY_TEXT_IMMEDIATE_BLT", ["bcs"], 0xffc00000, 0x4c400000, 8, 2, 0, []),
    ("XY_PAT_BLT", ["bcs"], 0xffc00000, 0x54400000, 8, 2, 0, [4, 5]),
    ("XY_MONO_PAT_BLT", ["bcs"], 0xffc00000, 0x54800000, 8, 2, 0, [4]),
    ("XY_MONO_SRC_COPY_BLT", ["bcs"], 0xffc00000, 0x55000000, 8, 2, 0, [4, 5]),
    ("XY_FULL_BLT", ["bcs"], 0xffc00000, 0x55400000, 8, 2, 0, []),
    ("XY_FULL_MONO_SRC_BLT", ["bcs"], 0xffc00000, 0x55800000, 8, 2, 0, [4, 5, 8]),
    ("XY_FULL_MONO_PATTERN_BLT", ["bcs"], 0xffc00000, 0x55c00000, 8, 2, 0, [4, 7]),
    ("XY_FULL_MONO_PATTERN_MONO_SRC_BLT", ["bcs"], 0xffc00000, 0x56000000, 8, 2, 0, [4, 5]),
    ("XY_MONO_PAT_FIXED_BLT", ["bcs"], 0xffc00000, 0x56400000, 8, 2, 0, [4]),
    ("XY_MONO_SRC_COPY_IMMEDIATE_BLT", ["bcs"], 0xffc00000, 0x5c400000, 8, 2, 0, [4]),
    ("XY_PAT_BLT_IMMEDIATE", ["bcs"], 0xffc00000, 0x5c800000, 8, 2, 0, [4]),
    ("XY_SRC_COPY_CHROMA_BLT", ["bcs"], 0xffc00000, 0x5cc00000, 8, 2, 0, [4, 7]),
    ("XY_FULL_IMMEDIATE_PATTERN_BLT", ["bcs"], 0xffc00000, 0x5d000000, 8, 2, 0, [4, 7]),
    ("XY_FULL_MONO_SRC_IMMEDIATE_PATTERN_BLT", ["bcs"], 0xffc00000, 0x5d400000, 8, 2, 0, [4, 5]),
    ("XY_PAT_CHROMA_BLT", ["bcs"], 0xffc00000, 0x5d800000, 8, 2, 0, [4, 5]),
    ("XY_PAT_CHROMA_BLT_IMMEDIATE", ["bcs"], 0xffc00000, 0x5dc00000, 8, 2, 0, [4]),
    ("3DSTATE_DEPTH_STENCIL_STATE_POINTERS", ["rcs"], 0xffff0000, 0x78250000, 8, 2, 0, []),
    ("3DSTATE_DX9_CONSTANTF_VS", ["rcs"], 0xffff0000, 0x78390000, 11, 2, 0, []),
    ("3DSTATE_DX9_CONSTANTF_PS", ["rcs"], 0xffff0000, 0x783a0000, 11, 2, 0, []),
    ("3DSTATE_DX9_CONSTANTI_VS", ["rcs"], 0xffff0000, 0x783b0000, 8, 2, 0, []),
    ("3DSTATE_DX9_CONSTANTI_PS", ["rcs"], 0xffff0000, 0x783c0000, 8, 2, 0, []),
    ("3DSTATE_DX9_CONSTANTB_VS", ["rcs"], 0xffff0000, 0x783d0000, 8, 2, 0, []),
    ("3DSTATE_DX9_CONSTANTB_PS", ["rcs"], 0xffff0000, 0x783e0000, 8, 2, 0, []),
    ("3DSTATE_DX9_LOCAL_VALID_VS", ["rcs"], 0xffff0000, 0x783f0000, 8, 2, 0, []),
    ("3DSTATE_DX9_LOCAL_VALID_PS", ["rcs"], 0xffff0000, 0x78400000, 8, 2, 0, []),
    ("3DSTATE_DX9_GENERATE_ACTIVE_VS", ["rcs"], 0xffff0000, 0x78410000, 8, 2, 0, []),
    ("3DSTATE_DX9_GENERATE_ACTIVE_PS", ["rcs"], 0xffff0000, 0x78420000, 8, 2, 0, []),
    ("3DSTATE_VF_STATISTICS", ["rcs"], 0xffff0000, 0x780b0000, 0, 1, 0, []),
    ("3DSTATE_GS_SVB_INDEX", ["rcs"], 0xffff0000, 0x790b0000, 8, 2, 0, []),
    ("3DSTATE_DX9_CONSTANT_BUFFER_POOL_ALLOC", ["rcs"], 0xffff0000, 0x791b0000, 8, 2, 0, [1]),
    ("OP_SWTESS_BASE_ADDRESS", ["rcs"], 0xffff0000, 0x61030000, 3, 2, 0, [1, 2]),
    ("MEDIA_GATEWAY_STATE", ["rcs"], 0xffff0000, 0x70030000, 16, 2, 0, []),
    ("MEDIA_POOL_STATE", ["rcs"], 0xffff0000, 0x70050000, 16, 2, 0, []),
    ("3DSTATE_VF_STATISTICS_GM45", ["bcs", "vcs", "vecs"], 0xffff0000, 0x680b0000, 0, 1, 0, []),
    ("OP_2_0_0_5", ["vcs"], 0xffff0000, 0x70050000, 12, 2, 0, []),
    ("MFX_AVC_QM_STATE", ["vcs"], 0xffff0000, 0x71010000, 12, 2, 0, []),
    ("MFX_MPEG2_QM_STATE", ["vcs"], 0xffff0000, 0x73010000, 12, 2, 0, []),
    ("MFX_2_6_0_0", ["vcs"], 0xffff0000, 0x76000000, 16, 2, 0, []),
    ("MFX_2_6_0_9", ["vcs"], 0xffff0000, 0x76090000, 16, 2, 0, []),
    ("MFX_2_6_0_8", ["vcs"], 0xffff0000, 0x76080000, 16, 2, 0, []),
    ("VEBOX_SURFACE_STATE", ["vecs"], 0xffff0000, 0x74000000, 12, 2, 0, []),
    ("VEBOX_STATE", ["vecs"], 0xffff0000, 0x74020000, 12, 2, 0, []),
    ("VEB_DI_IECP", ["vecs"], 0xffff0000, 0x74030000, 12, 2, 0, []),
]

# gvt rows laid out as genxml's 3DSTATE_BINDING_TABLE_POOL_ALLOC and
# 3DSTATE_GATHER_POOL_ALLOC (dword 1: Pool Enable bit 11, base address
# 63:12; PRM vol 2a 3DSTATE_DX9_CONSTANT_BUFFER_POOL_ALLOC).
POOL_LAYOUT = {"3DSTATE_DX9_CONSTANT_BUFFER_POOL_ALLOC"}

# Rows genxml has on fewer engines than gvt: (name, extra engines).
GVT_MORE_ENGINES = [("MI_REPORT_PERF_COUNT", {"bcs", "vcs", "vecs"}),
                    ("MI_LOAD_SCAN_LINES_INCL", {"bcs"})]


def enable_of(ins, fn, start):
    """The enable bit gating an address field: the field named in GATES,
    else "<field> Enable" or "<field> Modify Enable" (STATE_BASE_ADDRESS:
    a base is taken only with its Modify Enable), else an "... Enable" bit
    just below the address
    (the pool allocations). (dword, bit) or None."""
    want = GATES.get((ins.get("name"), fn))
    for f in ins.findall("field"):
        s, e, n = int(f.get("start")), int(f.get("end")), f.get("name")
        if s != e:
            continue
        if n == want or n in (fn + " Enable", fn + " Modify Enable") or \
                (want is None and s == start - 1 and n.endswith(" Enable")):
            return (s // 32, s % 32)
    return None


def engines_of(ins):
    e = ins.get("engine")
    if e is None:
        return {"rcs", "bcs", "vcs"}
    m = {"render": "rcs", "blitter": "bcs", "video": "vcs"}
    return {m[x] for x in e.split("|")}


def is_mi(c):
    return (c["value"] >> 29) == 0


def parse(path):
    root = ET.parse(path).getroot()
    out = []
    for ins in root.findall("instruction"):
        name = ins.get("name")
        bias = int(ins.get("bias"))
        nominal = int(ins.get("length") or 0)
        mask = value = 0
        len_bits = 0
        addrs = []
        asi = None
        for f in ins.findall("field"):
            s, e, fn = int(f.get("start")), int(f.get("end")), f.get("name")
            if fn == "DWord Length":
                assert s == 0
                len_bits = e - s + 1
                continue
            if e < 32 and f.get("default") is not None and fn not in NOT_OPCODE:
                m = ((1 << (e - s + 1)) - 1) << s
                mask |= m
                value |= (int(f.get("default"), 0) << s) & m
            if f.get("type") == "address":
                addrs.append((s // 32, s % 32, e - s + 1,
                              DIRS.get((name, fn), "RW") + ("S" if fn in STATE_REL else ""),
                              enable_of(ins, fn, s)))
            if fn in ASI_FIELDS and e == s:
                asi = (s // 32, s % 32, ASI_FIELDS[fn])
        fixed = 0 if len_bits else nominal
        out.append(dict(name=name, mask=mask, value=value, len_bits=len_bits,
                        bias=bias if len_bits else fixed, nominal=nominal,
                        addrs=addrs, asi=asi, engines=engines_of(ins),
                        genxml=True))
    return out


def gvt_rows(cmds):
    out = []
    for name, engines, mask, value, bits, bias, nominal, dws in GVT:
        addrs = []
        for dw in dws:
            if name in POOL_LAYOUT:
                addrs.append((dw, 12, 52, "RW", (dw, 11)))
            elif not addrs or addrs[-1][0] + 1 != dw:  # dw+1: the upper half
                addrs.append((dw, 0, 64, "RW", None))
        out.append(dict(name=name, mask=mask, value=value, len_bits=bits, bias=bias,
                        nominal=nominal, addrs=addrs, asi=None, engines=set(engines),
                        genxml=False, gvt=True))
    for name, engines in GVT_MORE_ENGINES:
        c = next(c for c in cmds if c["name"] == name)
        out.append(dict(c, engines=set(engines), genxml=False, gvt=True))
    return out


def flagstr(d):
    f = []
    if d["genxml"]:
        f.append("VGT_CMD_F_GENXML")
    if d.get("gvt"):
        f.append("VGT_CMD_F_GVT")
    if d["asi"]:
        f.append("VGT_CMD_F_ASI_GGTT_WHEN_SET" if d["asi"][2] else "VGT_CMD_F_ASI_PPGTT_WHEN_SET")
    return " | ".join(f) if f else "0"


def main():
    cmds = parse(sys.argv[1])
    flush = next(c for c in cmds if c["name"] == "MI_FLUSH_DW")
    bcs_extra = [dict(flush, engines={"bcs"}, genxml=False)]
    for name, val, bits, bias, nominal, addrs in EXTRA_BCS:
        bcs_extra.append(dict(name=name, mask=BLT_MASK, value=val, len_bits=bits,
                              bias=bias, nominal=nominal, addrs=addrs, asi=None,
                              engines={"bcs"}, genxml=False))
    print("/* GENERATED by common/gen/gen_cmd_table.py from Mesa genxml gen9.xml")
    print(" * (../shared/spec/genxml/gen9.xml, MIT) plus the blitter facts listed in")
    print(" * that script (PRM vol 2a, Linux i915 gt/intel_gpu_commands.h) and the")
    print(" * commands of Linux 6.1 gvt's parser that genxml lacks (gvt/cmd_parser.c).")
    print(" * Source of each row: VGT_CMD_F_GENXML genxml, VGT_CMD_F_GVT Linux gvt,")
    print(" * neither: PRM / i915 (the blitter rows).")
    print(" * Checked against genxml by tests/sim/gpu_decoder_oracle.c. Do not edit:")
    print(" * change the script and regenerate. */")
    print('#include "vgt/cmd_decoder.h"\n')
    gvt = gvt_rows(cmds)
    for eng in ("rcs", "bcs", "vcs", "vecs"):
        if eng == "vecs":  # genxml's video MI commands, and gvt's VECS rows
            sel = [c for c in cmds if "vcs" in c["engines"] and is_mi(c)]
            sel += [c for c in gvt if "vecs" in c["engines"]]
        else:
            sel = [c for c in cmds + gvt if eng in c["engines"]]
        if eng == "bcs":
            sel += bcs_extra
        sel.sort(key=lambda c: c["name"])
        alist = []
        rows = []
        for c in sel:
            first = len(alist)
            alist.extend(c["addrs"])
            asi = c["asi"] or (0, 0, 0)
            rows.append('    {"%s", 0x%08xu, 0x%08xu, %d, %d, %d, %d, %d, %s, VGT_CMD_ID_%s, %d, %d},'
                        % (c["name"], c["mask"], c["value"], c["len_bits"], c["bias"],
                           c["nominal"], first, len(c["addrs"]), flagstr(c),
                           IDS.get(c["name"], "OTHER"), asi[0], asi[1]))
        print("static const struct vgt_cmd_addr %s_addrs[] = {" % eng)
        for dw, lo, bits, d, en in alist:
            flags = {"R": "VGT_CMD_ADDR_R", "W": "VGT_CMD_ADDR_W",
                     "RW": "VGT_CMD_ADDR_R | VGT_CMD_ADDR_W"}[d.rstrip("S")]
            if "S" in d:
                flags += " | VGT_CMD_ADDR_STATE_REL"
            if en:
                print("    {%d, %d, %d, %s | VGT_CMD_ADDR_GATED, %d, %d}," % (dw, lo, bits, flags, en[0], en[1]))
            else:
                print("    {%d, %d, %d, %s, 0, 0}," % (dw, lo, bits, flags))
        if not alist:
            print("    {0, 0, 0, 0, 0, 0},")
        print("};\n")
        print("static const struct vgt_cmd_desc %s_cmds[] = {" % eng)
        print("    /* name, mask, value, len_bits, bias (fixed length when len_bits is 0),")
        print("     * nominal length, first address, addresses, flags, id, ASI dword, ASI bit */")
        print("\n".join(rows))
        print("};\n")
        print("const struct vgt_cmd_table vgt_cmd_gen9_%s = {" % eng)
        print('    "%s", VGT_ENGINE_%s, %s_cmds, VGT_ARRAY_SIZE(%s_cmds), %s_addrs,'
              % (eng, eng.upper(), eng, eng, eng))
        print("};\n")


main()

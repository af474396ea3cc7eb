#!/usr/bin/env python3
"""Readers for the facts vgt checks its command table against, taken from
Debian's linux-source-6.1 at test time (nothing of it is committed):

- gvt_cmds(): Linux gvt's command table (drivers/gpu/drm/i915/gvt/
  cmd_parser.c cmd_info[]): name, engines, dword-0 opcode value and mask,
  and the length rule (constant, or DWord Length bits + bias 2).
- null_states(): i915's null-state batches (gt/gen*_renderstate.c, written
  by intel-gpu-tools), relocated as i915's render_state_setup does.
"""
import re

# gvt's decode_info: the opcode is dw0 >> (32 - op_len) per command type
# (MI 9 bits, 2D 10 bits, 3D/media/MFX/VEBOX 16 bits).
OP_LEN = {0: 9, 2: 10, 3: 16}
RINGS = {"R_RCS": {"rcs"}, "R_VCS": {"vcs"}, "R_VCS1": {"vcs"}, "R_VCS2": {"vcs"},
         "R_BCS": {"bcs"}, "R_VECS": {"vecs"}}
RINGS["R_ALL"] = {"rcs", "vcs", "bcs", "vecs"}


def _strip_comments(s):
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    return re.sub(r"//[^\n]*", " ", s)


def _eval_op(expr, defs):
    """Evaluate an OP_* expression with gvt's opcode macros."""
    def op_3d(sub_type, opcode, sub_opcode):
        return (3 << 13) | (sub_type << 11) | (opcode << 8) | sub_opcode

    def op_mfx(pipeline, op, sub_opa, sub_opb):
        return (3 << 13) | (pipeline << 11) | (op << 8) | (sub_opa << 5) | sub_opb

    env = dict(defs)
    env.update(OP_3D_MEDIA=op_3d, OP_MFX=op_mfx, OP_VEB=op_mfx,
               OP_2D=lambda x: (2 << 7) | x)
    return eval(expr, {"__builtins__": {}}, env)


def _split_top(s):
    """Split a C initialiser on the commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    out.append(cur.strip())
    return [x for x in out if x]


def _addr_dwords(expr):
    """Dwords of gvt's addr_bitmap (ADDR_FIX_n(d1, ...) or 0)."""
    m = re.match(r"ADDR_FIX_\d\((.*)\)$", expr)
    return [int(x, 0) for x in m.group(1).split(",")] if m else []


def gvt_cmds(path):
    src = _strip_comments(open(path).read())
    defs = {}
    for m in re.finditer(r"^#define\s+(OP_\w+)\s+(.+)$", src, flags=re.M):
        name, body = m.group(1), m.group(2).strip()
        if "(" in name or name.startswith("OP_LEN"):
            continue
        try:
            defs[name] = _eval_op(body, defs)
        except Exception:
            pass
    body = src[src.index("static const struct cmd_info cmd_info[]"):]
    body = body[body.index("{") + 1:body.index("\n};")]
    out = []
    for m in re.finditer(r"\{\s*\"(\w+)\"\s*,(.*?)\}\s*,", body, flags=re.S):
        name, rest = m.group(1), m.group(2)
        f = _split_top(rest)
        op = defs[f[0]]
        flags, rings, length = f[1], f[2], f[5]
        eng = set()
        for r in rings.split("|"):
            eng |= RINGS[r.strip()]
        if "CMD_LEN(" in rest:
            valid = int(re.search(r"CMD_LEN\((\d+)\)", rest).group(1)) + 2
        else:
            valid = None
        typ = op >> (OP_LEN[3] - 3) if op >> 13 == 3 else (2 if op >> 7 == 2 else 0)
        nbits = OP_LEN[typ]
        out.append(dict(name=name, engines=eng, value=op << (32 - nbits),
                        mask=((1 << nbits) - 1) << (32 - nbits),
                        const="F_LEN_CONST" in flags, length=int(length, 0),
                        valid=valid, addrs=_addr_dwords(f[4])))
    return out


def null_states(src_dir):
    """{gen: (dwords, batch_end_dword)} for each gen*_renderstate.c, with
    i915's relocation applied at GGTT address @base (64-bit relocations:
    gen8+)."""
    import glob
    import os
    res = {}
    for p in sorted(glob.glob(os.path.join(src_dir, "gen*_renderstate.c"))):
        gen = int(re.search(r"gen(\d+)_", os.path.basename(p)).group(1))
        text = open(p).read()
        relocs = _array(text, "gen%d_null_state_relocs" % gen)
        batch = _array(text, "gen%d_null_state_batch" % gen)
        end = None
        for i, line in enumerate(_array_lines(text, "gen%d_null_state_batch" % gen)):
            if "cmds end" in line:
                end = i
        res[gen] = (batch, relocs, end)
    return res


def _array_lines(text, name):
    body = text[text.index(name):]
    body = body[body.index("{") + 1:body.index("};")]
    return [ln for ln in body.split("\n") if re.search(r"-?0x[0-9a-fA-F]+|-1", ln)]


def _array(text, name):
    vals = []
    for ln in _array_lines(text, name):
        v = re.search(r"(-?0x[0-9a-fA-F]+|-1)", ln).group(1)
        vals.append(int(v, 16) if "x" in v else int(v))
    return vals


def relocate(batch, relocs, base, reloc64):
    """i915 render_state_setup: at each reloc byte offset, add the batch's
    GGTT address; with 64-bit relocations the next dword (0 in the source)
    takes the upper half. Returns the dwords, or raises like i915 fails."""
    d = []
    i = ri = 0
    n = len(batch)
    while i < n:
        s = batch[i]
        if i * 4 == relocs[ri]:
            r = s + base
            s = r & 0xFFFFFFFF
            if reloc64:
                if i + 1 >= n or batch[i + 1] != 0:
                    raise ValueError("reloc at dword %d: next dword not 0" % i)
                d.append(s)
                i += 1
                s = r >> 32
            ri += 1
        d.append(s & 0xFFFFFFFF)
        i += 1
    if relocs[ri] != -1:
        raise ValueError("only %d relocs resolved" % ri)
    return d

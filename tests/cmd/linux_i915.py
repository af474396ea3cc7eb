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


# ---- register facts: i915's macro definitions, gvt's F_CMD_ACCESS rows,
# i915's context workaround list ----

def _strip_all(s):
    return _strip_comments(s).replace("\\\n", " ")


class Regs:
    """Evaluates i915 register and bit macros (_MMIO(...), REG_BIT, ...)
    from the headers of a linux-source tree (src: its drivers/gpu/drm/i915)."""
    HEADERS = ["i915_reg_defs.h", "i915_reg.h", "gt/intel_gt_regs.h", "gt/intel_engine_regs.h",
               "gvt/reg.h"]
    KEEP = {"_MMIO", "REG_BIT", "BIT", "REG_GENMASK", "GENMASK", "REG_FIELD_PREP"}
    BASES = {"RENDER_RING_BASE": 0x2000, "BLT_RING_BASE": 0x22000, "GEN6_BSD_RING_BASE": 0x12000,
             "VEBOX_RING_BASE": 0x1a000, "GEN8_BSD2_RING_BASE": 0x1c000}

    def __init__(self, src):
        import os
        self.defs = {}
        for h in self.HEADERS:
            p = os.path.join(src, h)
            if os.path.exists(p):
                self.define_all(open(p).read())

    def define_all(self, text):
        for m in re.finditer(r"^\s*#\s*define\s+(\w+)(\(([^)]*)\))?[ \t]+(.*)$", _strip_all(text),
                             flags=re.M):
            args = m.group(3)
            self.defs[m.group(1)] = ([a.strip() for a in args.split(",")] if args is not None else None,
                                     m.group(4).strip())

    def expand(self, expr, depth=0):
        if depth > 40:
            raise ValueError("macro recursion: %s" % expr)
        out, i = "", 0
        while i < len(expr):
            m = re.match(r"[A-Za-z_]\w*", expr[i:])
            if not m or (i and (expr[i - 1].isalnum() or expr[i - 1] == "_")):
                out += expr[i]
                i += 1
                continue
            name = m.group(0)
            j = i + len(name)
            if name in self.BASES:
                out += str(self.BASES[name])
                i = j
                continue
            d = None if name in self.KEEP else self.defs.get(name)
            if d is None:
                out += name
                i = j
                continue
            params, body = d
            if params is None:
                out += "(" + self.expand(body, depth + 1) + ")"
                i = j
                continue
            k = j
            while k < len(expr) and expr[k] == " ":
                k += 1
            if k >= len(expr) or expr[k] != "(":
                out += name
                i = j
                continue
            args, lvl, cur = [], 0, ""
            k += 1
            while True:
                c = expr[k]
                if c == "(":
                    lvl += 1
                if c == ")":
                    if lvl == 0:
                        break
                    lvl -= 1
                if c == "," and lvl == 0:
                    args.append(cur)
                    cur = ""
                else:
                    cur += c
                k += 1
            args.append(cur)
            for pn, pv in zip(params, args):
                body = re.sub(r"\b%s\b" % re.escape(pn), "(" + pv.strip() + ")", body)
            out += "(" + self.expand(body, depth + 1) + ")"
            i = k + 1
        return out

    def eval(self, expr, extra=None):
        e = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", " ".join(self.expand(expr).split()))
        env = {"_MMIO": lambda x: x, "REG_BIT": lambda n: 1 << n, "BIT": lambda n: 1 << n,
               "REG_GENMASK": lambda h, lo: ((1 << (h + 1)) - 1) & ~((1 << lo) - 1),
               "GENMASK": lambda h, lo: ((1 << (h + 1)) - 1) & ~((1 << lo) - 1),
               "REG_FIELD_PREP": lambda m, v: (v << ((m & -m).bit_length() - 1)) & m}
        env.update(extra or {})
        return eval(e, {"__builtins__": {}}, env)


def _call_args(s):
    args, lvl, cur = [], 0, ""
    for c in s:
        if c == "(":
            lvl += 1
        if c == ")":
            lvl -= 1
        if c == "," and lvl == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
    args.append(cur.strip())
    return args


def _func_body(src, name):
    i = re.search(r"\n(static\s+)?\w[\w\s\*]*\b%s\(" % re.escape(name), src).start()
    j = src.index("{", src.index(")", i))
    lvl, k = 0, j
    while True:
        lvl += {"{": 1, "}": -1}.get(src[k], 0)
        if lvl == 0:
            return src[j + 1:k]
        k += 1


# gvt's device masks that include Skylake (gvt/mmio.h D_SKL, D_BDW_PLUS...).
_SKL_DEVS = {"D_ALL", "D_BDW_PLUS", "D_SKL_PLUS", "D_SKL"}
_RING_BASES = [0x2000, 0x22000, 0x12000, 0x1a000]  # Skylake GT2: no second VCS


def gvt_cmd_access_rows(src):
    """Linux gvt's F_CMD_ACCESS registers on Skylake: the rows of
    gvt/handlers.c init_generic_mmio_info, init_bdw_mmio_info and
    init_skl_mmio_info (what intel_gvt_setup_mmio_info runs for SKL) whose
    device mask includes Skylake. [(offset, bytes, macro text, flags)]."""
    import os
    regs = Regs(src)
    text = _strip_all(open(os.path.join(src, "gvt/handlers.c")).read())
    out = []
    for fn in ("init_generic_mmio_info", "init_bdw_mmio_info", "init_skl_mmio_info"):
        for st in _func_body(text, fn).split(";"):
            for m in re.finditer(r"#\s*define\s+(\w+)\((\w+)\)\s+(_MMIO\([^\n]*\))", st):
                regs.defs[m.group(1)] = ([m.group(2)], m.group(3))
            st1 = " ".join(st.split())
            m = re.search(r"\b(MMIO_DFH|MMIO_F|MMIO_RING_DFH|MMIO_RING_F|MMIO_GM_RDR|MMIO_RING_GM_RDR)\((.*)\)$", st1)
            if not m:
                continue
            kind, a = m.group(1), _call_args(m.group(2))
            if kind in ("MMIO_DFH", "MMIO_RING_DFH"):
                reg, size, dev, flags = a[0], "4", a[1], a[2]
            elif kind in ("MMIO_F", "MMIO_RING_F"):
                reg, size, dev, flags = a[0], a[1], a[5], a[2]
            else:  # the _RDR forms: F_GMADR | F_CMD_ACCESS
                reg, size, dev, flags = a[0], "4", a[1], "F_GMADR | F_CMD_ACCESS"
            if "F_CMD_ACCESS" not in flags or not {d.strip() for d in dev.split("|")} & _SKL_DEVS:
                continue
            size = regs.eval(size)
            offs = ([regs.eval("%s(%d)" % (reg, b)) for b in _RING_BASES] if "RING" in kind
                    else [regs.eval(reg)])
            out += [(o, size, reg, flags) for o in offs]
    return out


def skl_ctx_workarounds(src, iz_vals=(0, 0, 0)):
    """i915's context workaround list on a Skylake GT2 with LLC, as
    intel_engine_emit_ctx_wa loads it: gen9_ctx_workarounds_init then
    skl_tune_iz_hashing (its GEN7_GT_MODE row only when a subslice has 7
    EUs: iz_vals != 0), merged per register and sorted by offset as
    _wa_add does. [(offset, value, register name)]."""
    import os
    regs = Regs(src)
    text = _strip_all(open(os.path.join(src, "gt/intel_workarounds.c")).read())
    # Skylake GT2 facts for the conditions these functions test.
    conds = {"HAS_LLC": 1, "IS_SKYLAKE": 1, "IS_KABYLAKE": 0, "IS_COFFEELAKE": 0, "IS_COMETLAKE": 0,
             "IS_GEN9_LP": 0, "IS_BROXTON": 0, "IS_GEMINILAKE": 0}
    was = {}

    def cond_true(c):
        c = re.sub(r"\b(\w+)\(\s*i915\s*\)", lambda m: str(conds[m.group(1)]), c)
        c = c.replace("||", " or ").replace("&&", " and ").replace("!", " not ")
        return bool(eval(" ".join(c.split()), {"__builtins__": {}}, {}))

    def add(reg, set_):
        off = regs.eval(reg)
        old = was.get(off, (0, reg))[0]
        was[off] = (old | set_, reg)

    def run(body, extra):
        i = 0
        while i < len(body):
            m = re.compile(r"\s*(if\s*\(|wa_masked_en\(|wa_masked_dis\(|wa_masked_field_set\(|[^;{}]*;)").match(body, i)
            if not m:
                if body[i:].strip():
                    raise ValueError("cannot follow: %r" % body[i:i + 80])
                return
            tok = m.group(1)
            if tok.startswith("if"):
                k, lvl = m.end(), 1
                while lvl:
                    lvl += {"(": 1, ")": -1}.get(body[k], 0)
                    k += 1
                cond = body[m.end():k - 1]
                rest = body[k:].lstrip()
                k = len(body) - len(rest)
                if rest.startswith("{"):
                    e, lvl = k, 0
                    while True:
                        lvl += {"{": 1, "}": -1}.get(body[e], 0)
                        if lvl == 0:
                            break
                        e += 1
                    blk, i = body[k + 1:e], e + 1
                else:
                    e = body.index(";", k)
                    blk, i = body[k:e + 1], e + 1
                if re.match(r"\s*else\b", body[i:]):
                    raise ValueError("else after if (%s): not followed" % cond)
                if cond_true(cond):
                    run(blk, extra)
                continue
            if tok.startswith("wa_masked"):
                e = body.index(";", m.end())
                args = _call_args(body[m.end():body.rindex(")", 0, e)])
                if tok.startswith("wa_masked_en"):
                    v = regs.eval(args[2], extra)
                    add(args[1], (v << 16) | v)          # _MASKED_BIT_ENABLE
                elif tok.startswith("wa_masked_dis"):
                    add(args[1], regs.eval(args[2], extra) << 16)  # _MASKED_BIT_DISABLE
                else:
                    add(args[1], (regs.eval(args[2], extra) << 16) | regs.eval(args[3], extra))  # _MASKED_FIELD
                i = e + 1
                continue
            i = m.end()

    run(_func_body(text, "gen9_ctx_workarounds_init"), {})
    if any(iz_vals):
        body = _func_body(text, "skl_tune_iz_hashing")
        call = body[body.index("wa_masked_field_set("):]
        run(call[:call.index(";") + 1], {"vals": list(iz_vals)})
    return [(off, was[off][0], was[off][1]) for off in sorted(was)]

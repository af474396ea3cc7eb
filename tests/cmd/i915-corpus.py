#!/usr/bin/env python3
"""The Gen9 command table against real Linux i915 / gvt facts, from Debian's
linux-source-6.1 (only the needed files are extracted, once, into the build
dir; nothing of it is committed):

1. every command of Linux gvt's Gen9 parser (gvt/cmd_parser.c cmd_info[])
   decodes with `vgt decode` to gvt's length on each of its engines;
2. i915's Gen8/Gen9 null-state batches (gt/gen8_renderstate.c,
   gen9_renderstate.c), relocated as render_state_setup does, decode to
   their true end (the MI_BATCH_BUFFER_END marked "cmds end") and pass the
   mediator's audit.

Usage: i915-corpus.py decode|audit VGT AUDIT_FILE BUILD_DIR ("decode": 1
and the decoding of 2; "audit": the audit of 2). Exit 77 (skip) without the
tarball.

The null states pass the audit: STATE_BASE_ADDRESS and 3DSTATE_INDEX_BUFFER
with address 0 and size 0 reach nothing; their 3DSTATE_DEPTH_BUFFER at GGTT
address 0 (writes and HiZ off) runs as SURFTYPE_NULL, and their
3DSTATE_HIER_DEPTH_BUFFER at 0 is never reached (HiZ off); see
docs/submission.md "Depth, HiZ and stencil buffers"."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_i915  # noqa: E402

TOP = "linux-source-6.1"
FILES = ["drivers/gpu/drm/i915/gvt/cmd_parser.c",
         "drivers/gpu/drm/i915/gt/gen8_renderstate.c",
         "drivers/gpu/drm/i915/gt/gen9_renderstate.c"]
# Where the null-state batch sits in the GGTT (i915 pins it in the GGTT;
# any page-aligned address in the vGPU's range will do) and that range.
BASE, SIZE = 0x00100000, 0x00100000

# gvt rows vgt deliberately does not follow, each with why.
EXCEPTIONS = {
    ("MI_FLUSH_DW", "rcs"): "PRM: MI_FLUSH_DW is not a render command; i915 flushes RCS "
                            "with PIPE_CONTROL (gen8_emit_flush_rcs)",
    ("MFX_WAIT", "vcs"): "genxml: MFX_WAIT is one dword (DWord Length bias 1); gvt's "
                         "generic bias 2 would swallow the next command",
}


def extract(build):
    tarball = os.environ.get("VGT_LINUX_SOURCE", "/usr/src/linux-source-6.1.tar.xz")
    cache = os.path.join(build, "linux-i915")
    if not os.access(tarball, os.R_OK):
        print("SKIP: %s not installed (apt-get install linux-source-6.1)" % tarball)
        sys.exit(77)
    if not os.path.exists(os.path.join(cache, ".done")):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["tar", "-xJf", tarball, "-C", cache] + ["%s/%s" % (TOP, f) for f in FILES],
                       check=True)
        open(os.path.join(cache, ".done"), "w").close()
    return os.path.join(cache, TOP)


def write_dw(path, dws):
    with open(path, "wb") as f:
        for d in dws:
            f.write((d & 0xFFFFFFFF).to_bytes(4, "little"))


def decode(vgt, engine, path):
    p = subprocess.run([vgt, "decode", "--gen", "9", "--engine", engine, "--json", path],
                       capture_output=True, text=True)
    cmds = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith('{"offset"')]
    return p.returncode, cmds, p.stdout + p.stderr


def main():
    mode, vgt, audit, build = sys.argv[1:5]
    src = extract(build)
    work = tempfile.mkdtemp()
    passed = failed = 0

    def check(ok, what, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: %s %s" % (what, detail))

    check(mode in ("decode", "audit"), "mode %s" % mode)
    # 1. gvt's table: each command alone, then MI_BATCH_BUFFER_END.
    gvt = linux_i915.gvt_cmds(os.path.join(src, FILES[0])) if mode == "decode" else []
    check(mode != "decode" or len(gvt) > 200, "gvt cmd_info[] parsed", "(%d rows)" % len(gvt))
    # One stream per engine: every gvt command of that engine in turn, then
    # MI_BATCH_BUFFER_END; each must decode at its offset with gvt's length.
    for eng in ("rcs", "bcs", "vcs", "vecs"):
        e = eng
        stream, want = [], []
        for c in gvt:
            if eng not in c["engines"] or c["name"] == "MI_BATCH_BUFFER_END":
                continue
            if (c["name"], e) in EXCEPTIONS:
                print("skip: gvt %s on %s: %s" % (c["name"], eng, EXCEPTIONS[(c["name"], e)]))
                continue
            if c["const"]:
                dw0, length = c["value"], c["length"]
            else:
                length = c["valid"] or 3
                dw0 = c["value"] | (length - 2)
            want.append((len(stream), length, c["name"], dw0))
            stream += [dw0] + [0] * (length - 1)
        path = os.path.join(work, "gvt-%s.bin" % eng)
        write_dw(path, stream + [0x05000000])
        rc, cmds, out = decode(vgt, e, path)
        got = {c["offset"]: c["len"] for c in cmds}
        for off, length, name, dw0 in want:
            check(got.get(off) == length, "gvt %s (0x%08x) on %s decodes to %d dwords" % (name, dw0, eng, length),
                  "" if got.get(off) == length else "(got %s)\n%s" % (got.get(off), out[-500:]))
        check(rc == 0 and cmds and cmds[-1]["name"] == "MI_BATCH_BUFFER_END",
              "gvt %s stream decodes to its end" % eng, out[-500:])

    # Gated addresses: a disabled pool's 0 address passes the audit, an
    # enabled pool's outside address does not (bit 11: Pool Enable).
    if mode == "decode":
        for what, dw1, want in (("disabled pool at 0 passes", 0, 0),
                                ("enabled pool at 0 is refused", 0x800, 1),
                                ("enabled pool inside the vGPU passes", BASE | 0x800, 0)):
            for op in (0x79190002, 0x791a0002, 0x791b0002):
                path = os.path.join(work, "gate.bin")
                write_dw(path, [op, dw1, 0, 0, 0x05000000])
                p = subprocess.run([audit, "rcs", hex(BASE), hex(SIZE), path], capture_output=True,
                                   text=True)
                ok = p.returncode == want and (not want or "outside the vGPU" in p.stdout)
                check(ok, "audit: 0x%08x %s" % (op, what), p.stdout + p.stderr)

    # 2. i915's null-state batches.
    states = linux_i915.null_states(os.path.join(src, "drivers/gpu/drm/i915/gt"))
    for gen in (8, 9):
        batch, relocs, end = states[gen]
        check(end is not None and batch[end] == 0x05000000, "gen%d null state has its cmds end" % gen)
        dws = linux_i915.relocate(batch, relocs, BASE, reloc64=True)
        path = os.path.join(work, "gen%d_null_state.bin" % gen)
        write_dw(path, dws)
        rc, cmds, out = decode(vgt, "rcs", path)
        last = cmds[-1] if cmds else {}
        ok = rc == 0 and last.get("name") == "MI_BATCH_BUFFER_END" and last.get("offset") == end
        check(ok, "gen%d null state decodes to its end (dword %d, %d commands)" % (gen, end, len(cmds)),
              "" if ok else "\n" + out[-2000:])
        # The relocated addresses point into the batch object, as i915's do.
        for r in relocs[:-1]:
            a = dws[r // 4] | dws[r // 4 + 1] << 32
            check(BASE <= a < BASE + len(batch) * 4, "gen%d reloc at byte %d -> 0x%x" % (gen, r, a))
        if mode != "audit":
            continue
        p = subprocess.run([audit, "rcs", hex(BASE), hex(SIZE), path], capture_output=True, text=True)
        check(p.returncode == 0, "gen%d null state passes the audit" % gen, p.stdout + p.stderr)
        # Its one depth buffer (1x1 1D at address 0, writes and HiZ off) is
        # only read, and only by its 3DPRIMITIVE: it runs as SURFTYPE_NULL.
        check("1 depth buffers made SURFTYPE_NULL" in p.stdout,
              "gen%d null state's depth buffer at 0 runs as SURFTYPE_NULL" % gen, p.stdout)
        print(p.stdout.strip())
    print("i915-corpus: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main())

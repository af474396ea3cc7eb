#!/usr/bin/env python3
"""The command auditor's register whitelist against Linux 6.1's own facts,
from Debian's linux-source-6.1 (the needed files are extracted at test
time into the build dir; nothing of them is committed):

1. i915's Skylake context workarounds: the MI_LOAD_REGISTER_IMM that
   intel_engine_emit_ctx_wa builds from gen9_ctx_workarounds_init and
   skl_tune_iz_hashing (gt/intel_workarounds.c, registers and bits from
   gt/intel_gt_regs.h) passes the audit on the render engine, and is
   refused on the blitter (no such registers there);
2. every register Linux gvt lets commands access on Skylake (gvt/handlers.c
   F_CMD_ACCESS rows of init_generic/bdw/skl_mmio_info) is either allowed
   by the auditor, loaded into the shadow page table (PDPs), or refused
   with a named class, never with the bare "not command-accessible".

Usage: i915-ctx-wa.py AUDIT_FILE BUILD_DIR. Exit 77 (skip) without the
tarball."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_i915  # noqa: E402

TOP = "linux-source-6.1"
I915 = "drivers/gpu/drm/i915"
FILES = ["gt/intel_workarounds.c", "gt/intel_gt_regs.h", "gt/intel_engine_regs.h", "i915_reg.h",
         "i915_reg_defs.h", "gvt/handlers.c", "gvt/reg.h"]
BASE, SIZE = 0x00100000, 0x00100000
MI_LRI = 0x11000000   # i915 MI_LOAD_REGISTER_IMM(n): MI_INSTR(0x22, 2n - 1)
MI_NOOP, MI_BBE = 0, 0x05000000
ENGINE_OF = [(0x12000, 0x14000, "vcs"), (0x1a000, 0x1c000, "vecs"), (0x1c000, 0x1e000, "vcs"),
             (0x22000, 0x24000, "bcs")]


def extract(build):
    tarball = os.environ.get("VGT_LINUX_SOURCE", "/usr/src/linux-source-6.1.tar.xz")
    cache = os.path.join(build, "linux-i915-regs")
    if not os.access(tarball, os.R_OK):
        print("SKIP: %s not installed (apt-get install linux-source-6.1)" % tarball)
        sys.exit(77)
    if not os.path.exists(os.path.join(cache, ".done")):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["tar", "-xJf", tarball, "-C", cache] + ["%s/%s/%s" % (TOP, I915, f) for f in FILES],
                       check=True)
        open(os.path.join(cache, ".done"), "w").close()
    return os.path.join(cache, TOP, I915)


def audit(tool, engine, dws, work):
    path = os.path.join(work, "b.bin")
    with open(path, "wb") as f:
        for d in dws:
            f.write((d & 0xFFFFFFFF).to_bytes(4, "little"))
    p = subprocess.run([tool, engine, hex(BASE), hex(SIZE), path], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    tool, build = sys.argv[1:3]
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

    # 1. The context workaround LRI, as on a GT whose subslices have 8 EUs
    # (the vGPU's: skl_tune_iz_hashing adds nothing) and as on one with a
    # 7-EU subslice (it adds GEN7_GT_MODE).
    for iz in ((0, 0, 0), (1, 0, 0)):
        was = linux_i915.skl_ctx_workarounds(src, iz)
        names = {n for _, _, n in was}
        check({"GEN8_ROW_CHICKEN", "HDC_CHICKEN0", "CACHE_MODE_1"} <= names and len(was) >= 9,
              "i915 Skylake ctx workarounds parsed (iz %s)" % (iz,), repr(was))
        check(("GEN7_GT_MODE" in names) == any(iz), "GEN7_GT_MODE only with a 7-EU subslice")
        for off, val, name in was:
            print("  ctx wa: 0x%05x <- 0x%08x %s" % (off, val, name))
        lri = [MI_LRI | (2 * len(was) - 1)]
        for off, val, _ in was:
            lri += [off, val]
        rc, out = audit(tool, "rcs", lri + [MI_NOOP, MI_BBE], work)
        check(rc == 0, "i915's Skylake ctx workaround LRI (%d registers) passes the audit on rcs" % len(was), out)
        rc, out = audit(tool, "bcs", lri + [MI_NOOP, MI_BBE], work)
        check(rc == 1 and "not command-accessible" in out, "... and is refused on bcs", out)

    # 2. gvt's F_CMD_ACCESS rows, one LRI per dword.
    rows = linux_i915.gvt_cmd_access_rows(src)
    check(len(rows) > 100, "gvt F_CMD_ACCESS rows for Skylake parsed", "(%d)" % len(rows))
    counts = {"allowed": 0, "pdp": 0, "refused": 0}
    for off, size, name, flags in rows:
        eng = next((e for lo, hi, e in ENGINE_OF if lo <= off < hi), "rcs")
        for o in range(off, off + size, 4):
            rc, out = audit(tool, eng, [MI_LRI | 1, o, 0, MI_NOOP, MI_BBE], work)
            if rc == 0:
                counts["allowed"] += 1
            elif "PDP write" in out:
                counts["pdp"] += 1
            elif "register is not command-accessible: it " in out:
                counts["refused"] += 1
            else:
                check(False, "gvt row %s 0x%x (%s) on %s: neither allowed nor refused with a class" %
                      (name, o, flags, eng), out)
    print("gvt F_CMD_ACCESS dwords: %(allowed)d allowed, %(pdp)d PDP (shadowed), %(refused)d refused by class"
          % counts)
    check(counts["allowed"] > 0 and counts["refused"] > 0, "both classes present")
    print("i915-ctx-wa: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main())

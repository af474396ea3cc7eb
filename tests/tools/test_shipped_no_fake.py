#!/usr/bin/env python3
"""No shipped program links the seam doubles of sim/fake.

  test_shipped_no_fake.py BUILD_ROOT FAKE_LIB CONTROL_EXE...

The shipped programs are every target `meson install` installs (meson's
introspection, meson-info/intro-targets.json, "installed": true), so a
program added later is checked without editing this test. Each must
define none of the global symbols FAKE_LIB (libvgt_sim_fake.a) defines.
The check proves it can fail: each CONTROL_EXE links the fake on purpose
(vgt-bench-ppgtt) and must show its symbols. TAP output.
"""
import json
import os
import subprocess
import sys

ELF_TYPES = ('executable', 'shared library', 'shared module', 'static library')


def defined_globals(path):
    """Names of the global symbols @path defines (nm -g --defined-only)."""
    out = subprocess.run(['nm', '-g', '--defined-only', path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError('nm %s: %s' % (path, out.stderr.strip()))
    names = set()
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) == 3:
            names.add(f[2])
    return names


def main():
    if len(sys.argv) < 4:
        print('usage: test_shipped_no_fake.py BUILD_ROOT FAKE_LIB CONTROL_EXE...', file=sys.stderr)
        return 2
    build, fake_lib, controls = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(os.path.join(build, 'meson-info', 'intro-targets.json')) as f:
        targets = json.load(f)
    shipped = [(t['name'], fn) for t in targets if t.get('installed') and t['type'] in ELF_TYPES
               for fn in t['filename']]
    checks = []  # (description, ok, detail)

    fake = defined_globals(fake_lib)
    checks.append(('the fake defines symbols to look for', bool(fake), '%d symbols' % len(fake)))
    names = {n for n, _ in shipped}
    checks.append(('vgt and vgtd are among the installed targets', {'vgt', 'vgtd'} <= names,
                   ', '.join(sorted(names)) or 'none'))
    for path in controls:
        hits = fake & defined_globals(path)
        checks.append(('control %s links the fake (the check can fail)' % os.path.basename(path),
                       bool(hits), '%d of its symbols found' % len(hits)))
    for name, path in shipped:
        try:
            hits = fake & defined_globals(path)
            detail = ', '.join(sorted(hits)) or 'none of the fake\'s symbols'
        except RuntimeError as e:  # stripped or missing: cannot say, so fail
            hits, detail = {'?'}, str(e)
        checks.append(('shipped %s does not link sim/fake' % name, not hits, detail))

    print('1..%d' % len(checks))
    failed = 0
    for i, (desc, ok, detail) in enumerate(checks, 1):
        print('%s %d - %s # %s' % ('ok' if ok else 'not ok', i, desc, detail))
        failed += not ok
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

#!/bin/sh
# make install with PREFIX and DESTDIR into a scratch root, then the
# installed layout and programs: vgt --version prints the meson project
# version, vgtd --help its usage, and only vgt and vgtd are installed.
#   test_install.sh SRCDIR WORKDIR VERSION
set -eu
src=$1
work=$2
version=$3
root=$work/root
rm -rf "$root"
mkdir -p "$work"
# Its own build directory (kept between runs, so later runs are
# incremental), configured as an operator would, without the tests.
make -C "$src" --no-print-directory install BUILD="$work/build" \
    MESON_ARGS=-Dtests=false PREFIX=/usr DESTDIR="$root" >"$work/make.log" 2>&1 || {
    cat "$work/make.log"
    echo "FAIL: make install"
    exit 1
}
fail=0
check() { # PATH...: each must exist under the root
    for f in "$@"; do
        if [ -e "$root$f" ]; then echo "ok: $f"; else echo "FAIL: $f missing"; fail=1; fi
    done
}
check /usr/bin/vgt /usr/bin/vgtd \
    /usr/lib/systemd/system/vgtd.service /usr/lib/systemd/system/vgtd@.service \
    /usr/lib/tmpfiles.d/vgt.conf \
    /usr/share/doc/vgt/operator-guide.md /usr/share/doc/vgt/user-guide.md /usr/share/doc/vgt/README.md
if command -v scdoc >/dev/null; then
    check /usr/share/man/man1/vgt.1 /usr/share/man/man1/vgt-assign.1 \
        /usr/share/man/man8/vgtd.8 /usr/share/man/man5/xl-vgt.cfg.5
else
    echo "SKIP: scdoc not installed, man pages not built"
fi
# Programs only: no tests, benchmarks, fuzzers or static libraries.
extra=$(cd "$root" && find . -type f ! -path './usr/bin/vgt' ! -path './usr/bin/vgtd' \
    ! -path './usr/lib/systemd/system/*' ! -path './usr/lib/tmpfiles.d/vgt.conf' \
    ! -path './usr/share/man/*' ! -path './usr/share/doc/vgt/*')
if [ -n "$extra" ]; then echo "FAIL: unexpected files installed: $extra"; fail=1; fi
# The units start the installed vgtd, and /run/vgt is the socket's dir.
grep -qx "ExecStart=/usr/bin/vgtd --gpu 00:02.0 --control /run/vgt/vgtd.sock" \
    "$root/usr/lib/systemd/system/vgtd.service" || { echo "FAIL: vgtd.service ExecStart"; fail=1; }
grep -q "^Type=notify$" "$root/usr/lib/systemd/system/vgtd@.service" || { echo "FAIL: vgtd@.service not Type=notify"; fail=1; }
grep -qx "d /run/vgt 0700 root root -" "$root/usr/lib/tmpfiles.d/vgt.conf" || { echo "FAIL: tmpfiles entry"; fail=1; }
out=$("$root/usr/bin/vgt" --version)
echo "vgt --version: $out"
[ "$out" = "vgt $version" ] || { echo "FAIL: expected 'vgt $version'"; fail=1; }
out=$("$root/usr/bin/vgtd" --help) || { echo "FAIL: vgtd --help exit status"; fail=1; }
case "$out" in "usage: vgtd"*) echo "vgtd --help: usage ok" ;; *) echo "FAIL: vgtd --help: $out"; fail=1 ;; esac
out=$("$root/usr/bin/vgtd" --version)
[ "$out" = "vgtd $version" ] || { echo "FAIL: vgtd --version: $out"; fail=1; }
exit $fail

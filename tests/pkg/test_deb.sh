#!/bin/sh
# Builds the Debian package from a copy of the source tree (as
# `dpkg-buildpackage -us -uc -b`), checks it with lintian (any E: fails),
# unpacks it into a scratch root and runs vgt --version and vgtd --help
# from there.
#   test_deb.sh SRCDIR WORKDIR VERSION
set -eu
src=$1
work=$2
version=$3
for t in dpkg-buildpackage dh lintian dpkg-deb; do
    if ! command -v $t >/dev/null; then
        echo "SKIP: $t not installed (sh .ci/install-deps installs it)"
        exit 77
    fi
done
arch=$(dpkg --print-architecture)
rm -rf "$work"
mkdir -p "$work/src"
# dpkg-buildpackage writes into the tree and beside it: use a copy of
# the files git knows (tracked and new), or the whole tree without builds.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z -co --exclude-standard | xargs -0 sh -c \
        'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh) >"$work/files"
    tar -C "$src" -cf - -T "$work/files" | tar -C "$work/src" -xf -
else
    tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$work/src" -xf -
fi
echo "building the package (log: $work/build.log)"
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
    >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log"
    echo "FAIL: dpkg-buildpackage"
    exit 1
}
deb=$work/vgt_${version}_$arch.deb
changes=$work/vgt_${version}_$arch.changes
[ -f "$deb" ] || { ls "$work"; echo "FAIL: $deb not built (debian/changelog version != $version?)"; exit 1; }
fail=0
echo "lintian $changes:"
lrc=0
lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1 || lrc=$?
cat "$work/lintian.log"
if [ "$lrc" -ne 0 ] || grep -q '^E: ' "$work/lintian.log"; then
    echo "FAIL: lintian reports errors (exit status $lrc)"
    fail=1
fi
grep -q '^W: ' "$work/lintian.log" && echo "(lintian warnings above are not fatal)"
dpkg-deb -c "$deb" >"$work/contents"
for f in ./usr/bin/vgt ./usr/bin/vgtd ./lib/systemd/system/vgtd.service \
    ./lib/systemd/system/vgtd@.service ./usr/lib/tmpfiles.d/vgt.conf \
    ./usr/share/man/man1/vgt.1.gz ./usr/share/man/man1/vgt-assign.1.gz \
    ./usr/share/man/man8/vgtd.8.gz ./usr/share/man/man5/xl-vgt.cfg.5.gz \
    ./usr/share/doc/vgt/operator-guide.md.gz ./usr/share/doc/vgt/copyright; do
    if grep -q " $f\$" "$work/contents"; then echo "ok: $f"; else echo "FAIL: $f not in the package"; fail=1; fi
done
root=$work/root
dpkg -x "$deb" "$root"
out=$("$root/usr/bin/vgt" --version)
echo "vgt --version: $out"
[ "$out" = "vgt $version" ] || { echo "FAIL: expected 'vgt $version'"; fail=1; }
out=$("$root/usr/bin/vgtd" --help) || { echo "FAIL: vgtd --help exit status"; fail=1; }
case "$out" in "usage: vgtd"*) echo "vgtd --help: usage ok" ;; *) echo "FAIL: vgtd --help: $out"; fail=1 ;; esac
exit $fail

#!/bin/sh
# The real-Xen tier as CI runs it (.ci/run): make check-xen's scripts, per
# architecture, when its images are cached or can be built within a time
# budget; otherwise a line saying what was skipped and why. Every skip and
# every decision is printed as "check-xen: ..." on stderr; the tier's TAP
# goes to stdout. Exit status: that of the checks that ran (0 when all
# were skipped).
#
#   sh tests/xen/ci.sh BUILD BUILD_ARM64
#
# VGT_CHECK_XEN=0        skip the tier (opt-out)
# VGT_XEN_BUDGET=SECS    the most the tier may add to CI, image builds
#                        included (default 3000: CI's limit is 90 min and
#                        make check takes ~16 min)
# VGT_XEN_ARCHS          the architectures to consider (default x86 arm64)
#
# The figures below are measured on the standard machine (2 cores), an
# upper estimate each, quiet to moderately loaded (docs/operator-guide.md,
# "Trying vgt on a real Xen without Xen hardware"). They decide what is
# started; the budget is then enforced with timeouts, whatever the load.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
barm=${2:-build-arm64}
cache=${VGT_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgt-xen}
budget=${VGT_XEN_BUDGET:-3000}
x86_build_s=1200  # images from Debian packages: 439 s at load 10, 17 min at load 13-16
x86_run_s=900     # boot to power-off: 486-640 s at load 3
arm64_build_s=1200 # images and the hypervisor compiled: 789 s at load 13-15
arm64_run_s=300   # boot to power-off: 21-32 s at load 3, 132 s at load 15
say() { echo "check-xen: $*" >&2; }
now() { date +%s; }

if [ "${VGT_CHECK_XEN:-1}" = 0 ]; then
    say "skipped: VGT_CHECK_XEN=0"
    exit 0
fi
case "$budget" in '' | *[!0-9]*) say "skipped: VGT_XEN_BUDGET='$budget' is not a number of seconds"; exit 0 ;; esac
t_start=$(now)
left() { echo $((budget - ($(now) - t_start))); }

# What each architecture needs before it can run: "cached", "build", or
# the reason it cannot run here.
x86_state() {
    [ -f "$cache/.ready" ] && { echo cached; return; }
    [ "$(id -u)" -eq 0 ] || { echo "no x86 images in $cache and not root to build them"; return; }
    grep -qs '^URIs:\|^deb ' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list ||
        { echo "no x86 images in $cache and no Debian mirror in the apt sources to build them from"; return; }
    echo build
}
arm64_state() {
    [ -x "$barm/tools/vgtd" ] || { echo "no $barm/tools/vgtd (make cross-arm64 failed or was not run)"; return; }
    s=$(sh "$here/arm64.sh" --check-build 2>/dev/null) || { echo "no arm64 images in $cache/arm64 and $s"; return; }
    [ "$s" = cached ] && echo cached || echo build
}

# Builds the images of $1 within $2 s; 0 when they are there.
build_images() {
    arch=$1
    limit=$2
    t0=$(now)
    say "$arch: building the images (at most $limit s)"
    if [ "$arch" = x86 ]; then
        timeout "$limit" sh "$here/check-xen.sh" --images "$build" >"$work/$arch-images.log" 2>&1
    else
        timeout "$limit" sh "$here/arm64.sh" --images >"$work/$arch-images.log" 2>&1
    fi
    rc=$?
    if [ "$arch" = x86 ]; then [ -f "$cache/.ready" ]; else [ -f "$cache/arm64/.ready" ]; fi && {
        say "$arch: images built in $(($(now) - t0)) s"
        return 0
    }
    if [ "$rc" -eq 124 ]; then
        say "skipped $arch: building its images took more than $limit s (the rest of the budget); the last lines:"
    else
        say "skipped $arch: building its images failed (status $rc); the last lines:"
    fi
    tail -n 5 "$work/$arch-images.log" | sed 's/^/check-xen:   /' >&2
    return 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
archs=""
# arm64 first (short), then x86: the order the tier runs them in. An
# architecture is taken when its build (if any) and its boot fit in what
# the budget still holds, minus the boots of those already taken.
runs=0
for arch in ${VGT_XEN_ARCHS:-arm64 x86}; do
    case "$arch" in
    x86) st=$(x86_state); bs=$x86_build_s; rs=$x86_run_s ;;
    arm64) st=$(arm64_state); bs=$arm64_build_s; rs=$arm64_run_s ;;
    *) say "skipped $arch: not an architecture of the tier (x86, arm64)"; continue ;;
    esac
    case "$st" in
    cached) need=$rs ;;
    build) need=$((bs + rs)) ;;
    *) say "skipped $arch: $st"; continue ;;
    esac
    avail=$(($(left) - runs))
    if [ "$need" -gt "$avail" ]; then
        if [ "$st" = build ]; then
            say "skipped $arch: building its images (up to $bs s) and booting (up to $rs s) would not fit in the $avail s left of the $budget s budget (VGT_XEN_BUDGET)"
        else
            say "skipped $arch: booting it (up to $rs s) would not fit in the $avail s left of the $budget s budget (VGT_XEN_BUDGET)"
        fi
        continue
    fi
    if [ "$st" = build ]; then
        build_images "$arch" $((avail - rs)) || continue
    fi
    runs=$((runs + rs))
    archs="$archs $arch"
done
archs=${archs# }
if [ -z "$archs" ]; then
    say "skipped: no architecture can run here (reasons above)"
    exit 0
fi
# One rig at a time on a machine (two TCG boots at once both crawl and
# hit their time limits): the lock the developers' runs take too.
lock=${VGT_XEN_LOCK:-/tmp/vgt-rig.lock}
if command -v flock >/dev/null; then
    exec 9>>"$lock"
    if ! flock -w 300 9; then
        say "skipped: another real-Xen run held $lock for 300 s"
        exit 0
    fi
fi
# The boots share the rest of the budget: arm64 (first) at most its own
# estimate, x86 until the deadline.
rest=$(left)
t0=$(now)
a_lim=$arm64_run_s
[ "$a_lim" -lt "$rest" ] || a_lim=$rest
say "running $archs within the $rest s left of the budget (load $(cut -d' ' -f1-3 /proc/loadavg))"
VGT_XEN_ARCHS="$archs" VGT_XEN_ARM64_TIMEOUT=$a_lim VGT_XEN_DEADLINE=$((t0 + rest)) \
    BUILD_ARM64=$barm sh "$here/check-xen.sh" "$build"
rc=$?
say "the tier took $(($(now) - t_start)) s of its $budget s budget"
exit $rc

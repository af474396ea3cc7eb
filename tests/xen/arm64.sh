#!/bin/sh
# The arm64 half of make check-xen: Xen 4.17.7 on Arm under QEMU (TCG,
# virt with virtualization=on), a busybox dom0 holding Debian 12's arm64
# Xen tools, and a Linux guest that checks the test device served by this
# build's arm64 vgtd (make cross-arm64). Called by check-xen.sh.
#
#   sh tests/xen/arm64.sh BUILD_ARM64 SERIAL_LOG
#
# Prints nothing on stdout; the serial log holds "VGTXEN ..." lines, or the
# one line "VGTXEN # SKIP reason" when the tier cannot run here.
#
# Debian 12's arm64 hypervisor is built without CONFIG_IOREQ_SERVER (it is
# EXPERT-only on Arm), so the hypervisor is built with Debian's config plus
# CONFIG_EXPERT and CONFIG_IOREQ_SERVER, once, into $cache/arm64 with the
# dom0 and guest images; later runs reuse them. Its source: Debian's own
# xen source package (apt-get source through a temporary deb-src list for
# the machine's Debian mirror, Debian's patches applied), so any Debian
# machine with the mirror can build it; or, when $XENGIT names a git dir
# of xen-project/xen, its tag $VGT_XEN_TAG (default RELEASE-4.17.7).
#
#   sh tests/xen/arm64.sh --images        build the cached images only
#   sh tests/xen/arm64.sh --check-build   can the images be had? prints
#                                         "cached", "buildable" or the
#                                         reason they cannot (exit 1)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${VGT_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgt-xen}/arm64
xentag=${VGT_XEN_TAG:-RELEASE-4.17.7}
timeout_s=${VGT_XEN_ARM64_TIMEOUT:-900}
now() { date +%s; }

# The Debian mirror the machine uses (deb822 or one-line sources).
debian_mirror() {
    m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    [ -n "$m" ] || m=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    echo "$m"
}

# Why the arm64 images can neither be found nor built here, or nothing.
cannot_build() {
    if [ -n "${XENGIT:-}" ]; then
        git --git-dir="$XENGIT" rev-parse -q --verify "$xentag^{commit}" >/dev/null 2>&1 ||
            { echo "XENGIT=$XENGIT has no tag $xentag"; return; }
    else
        [ -n "$(debian_mirror)" ] || { echo "no Debian mirror in the apt sources to fetch Xen's source package from (or set XENGIT to a clone of xen-project/xen)"; return; }
        command -v dpkg-source >/dev/null || { echo "dpkg-source missing (apt-get install dpkg-dev)"; return; }
    fi
    [ "$(id -u)" -eq 0 ] || { echo "not root to build them"; return; }
    dpkg --print-foreign-architectures | grep -qx arm64 ||
        { echo "dpkg has no arm64 architecture (make cross-arm64 adds it)"; return; }
}

if [ "${1:-}" = "--check-build" ]; then
    if [ -f "$cache/.ready" ]; then echo cached; exit 0; fi
    why=$(cannot_build)
    [ -z "$why" ] && { echo buildable; exit 0; }
    echo "$why"
    exit 1
fi
images_only=false
if [ "${1:-}" = "--images" ]; then
    images_only=true
    barm=
    log=/dev/stderr
else
    barm=$1
    log=$2
fi
skip() { echo "VGTXEN # SKIP $*" >"$log"; echo "check-xen: arm64 skipped: $*" >&2; exit 0; }

# Debian's xen source package into $1 (its patches applied): the version
# of the hypervisor package first (its config goes with it), else any
# version the mirror still has (the security archive's sources may be
# missing from a mirror). Prints the version taken.
debian_xen_source() {
    apt="$tmp/apt"
    mkdir -p "$apt/lists/partial" "$apt/parts"
    m=$(debian_mirror)
    echo "deb-src $m bookworm main" >"$apt/sources.list"
    # the security archive beside the mirror, when it follows the usual layout
    case "$m" in */debian) echo "deb-src ${m}-security bookworm-security main" >>"$apt/sources.list" ;; esac
    o="-o Dir::Etc::SourceList=$apt/sources.list -o Dir::Etc::SourceParts=$apt/parts -o Dir::State::Lists=$apt/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="
    # shellcheck disable=SC2086
    apt-get -qq $o update >&2 || return 1
    want=$(dpkg-deb -f "$tmp"/debs/xen-hypervisor-4.17-arm64_*.deb Version 2>/dev/null || true)
    # shellcheck disable=SC2086
    vers=$(apt-cache $o showsrc xen 2>/dev/null | sed -n 's/^Version: //p' | sort -u)
    for v in $want $(printf '%s
' $vers | sort -rV); do
        rm -rf "$tmp/dsc"
        mkdir -p "$tmp/dsc"
        # shellcheck disable=SC2086
        if (cd "$tmp/dsc" && apt-get -qq $o source --download-only "xen=$v") >&2 2>&1 &&
            dpkg-source -x "$tmp"/dsc/xen_*.dsc "$1" >/dev/null 2>&1; then
            rm -rf "$tmp/dsc"
            echo "$v"
            return 0
        fi
        echo "check-xen: Debian's xen source $v not to be had from $m" >&2
    done
    return 1
}

build_images() {
    why=$(cannot_build)
    [ -z "$why" ] || skip "no arm64 images in $cache and $why"
    t0=$(now)
    echo "check-xen: building the arm64 images in $cache (once)" >&2
    need=""
    for pt in qemu-system-arm:qemu-system-aarch64 gcc-aarch64-linux-gnu:aarch64-linux-gnu-gcc \
        flex:flex bison:bison bc:bc cpio:cpio; do
        command -v "${pt#*:}" >/dev/null || need="$need ${pt%%:*}"
    done
    if [ -n "$need" ]; then
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
    fi
    tmp="$cache/tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp/debs" "$tmp/src" "$tmp/hv" "$tmp/k" "$tmp/root"
    kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$kpkg" ] || skip "cannot resolve linux-image-arm64:arm64"
    kpkg=${kpkg%:arm64}
    kver=${kpkg#linux-image-}
    # The Xen tools and the libraries dom0 needs for them and for vgtd.
    dl="xen-hypervisor-4.17-arm64 $kpkg busybox-static xen-utils-4.17 xen-utils-common xenstore-utils"
    for p in libc6 libgcc-s1 libncurses6 libtinfo6 libxencall1 libxenevtchn1 libxenforeignmemory1 \
        libxengnttab1 libxenmisc4.17 libxenstore4 libxentoollog1 libxentoolcore1 libxendevicemodel1 \
        libxenhypfs1 libyajl2 libfdt1 libpciaccess0 libdrm2 zlib1g liblzma5 libzstd1 libbz2-1.0 \
        liblzo2-2 libuuid1 libgnutls30 libnettle8 libhogweed6 libgmp10 libp11-kit0 libidn2-0 \
        libunistring2 libtasn1-6 libffi8; do
        dl="$dl $p"
    done
    arch_dl=""
    for p in $dl; do arch_dl="$arch_dl $p:arm64"; done
    # shellcheck disable=SC2086
    (cd "$tmp/debs" && apt-get download -qq $arch_dl) >&2
    # The hypervisor: Debian's source (or upstream's tag), Debian's config
    # + EXPERT + IOREQ_SERVER.
    if [ -n "${XENGIT:-}" ]; then
        git --git-dir="$XENGIT" archive "$xentag" xen config Config.mk scripts | tar -x -C "$tmp/src"
        xsrc="$xentag from $XENGIT"
    else
        rm -rf "$tmp/src"
        v=$(debian_xen_source "$tmp/src") || skip "Debian's xen source package could not be fetched from $(debian_mirror) (or set XENGIT to a clone of xen-project/xen)"
        xsrc="Debian's xen source $v"
    fi
    echo "check-xen: arm64 hypervisor from $xsrc" >&2
    dpkg-deb -x "$tmp"/debs/xen-hypervisor-4.17-arm64_*.deb "$tmp/hv"
    cfg=$(ls "$tmp"/hv/boot/xen-4.17-arm64.config* | head -n 1)
    cp "$cfg" "$tmp/src/xen/.config"
    sed -i 's/^# CONFIG_EXPERT is not set/CONFIG_EXPERT=y/' "$tmp/src/xen/.config"
    echo CONFIG_IOREQ_SERVER=y >>"$tmp/src/xen/.config"
    xmake="make -C $tmp/src/xen XEN_TARGET_ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- debug=n"
    nice $xmake olddefconfig >&2
    grep -q '^CONFIG_IOREQ_SERVER=y' "$tmp/src/xen/.config" || skip "Xen's config refused CONFIG_IOREQ_SERVER"
    nice $xmake -j2 >&2
    # Dom0's root: the .debs unpacked (no maintainer scripts run), the
    # Xen driver modules, the kernel for the guest.
    dpkg-deb -x "$tmp"/debs/"$kpkg"_*.deb "$tmp/k"
    for d in "$tmp"/debs/*.deb; do
        case "$d" in *linux-image*|*xen-hypervisor*) continue ;; esac
        dpkg-deb -x "$d" "$tmp/root"
    done
    mkdir -p "$tmp/root/lib/modules/xen" "$tmp/root/guest"
    for m in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs; do
        cp "$(find "$tmp/k/lib/modules/$kver" -name "$m.ko*" | head -n 1)" "$tmp/root/lib/modules/xen/"
    done
    cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/root/guest/Image"
    rm -rf "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" "$tmp/root/usr/share/locale"
    (cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/dom0-base.cpio.gz"
    cp "$tmp/src/xen/xen" "$tmp/xen"
    cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/Image"
    cp "$tmp/root/bin/busybox" "$tmp/busybox"
    for f in xen Image dom0-base.cpio.gz busybox; do mv "$tmp/$f" "$cache/$f"; done
    rm -rf "$tmp"
    echo "$xsrc; kernel $kver" >"$cache/.ready"
    echo "check-xen: arm64 images built in $(( $(now) - t0 )) s" >&2
}

mkdir -p "$cache"
[ -f "$cache/.ready" ] || build_images
$images_only && exit 0
[ -x "$barm/tools/vgtd" ] || skip "no $barm/tools/vgtd (make cross-arm64)"
command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 missing (apt-get install qemu-system-arm)"
command -v aarch64-linux-gnu-gcc >/dev/null || skip "aarch64-linux-gnu-gcc missing (apt-get install gcc-aarch64-linux-gnu)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The guest's initramfs: busybox, the trap program, its /init.
mkdir -p "$work/g/bin" "$work/g/proc" "$work/g/sys" "$work/g/dev"
cp "$cache/busybox" "$work/g/bin/busybox"
ln -s busybox "$work/g/bin/sh" # guest-init links the rest
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -static -o "$work/g/bin/xen-trap" "$here/xen_trap.c"
cp "$here/guest-init" "$work/g/init"
chmod 755 "$work/g/init"
# The payload, a second cpio archive the kernel unpacks over the base one:
# this build's programs, dom0's /init and checks, the guest's initramfs.
mkdir -p "$work/p/opt/vgt" "$work/p/guest"
cp "$barm/tools/vgtd" "$barm/tools/vgt" "$work/p/opt/vgt/"
aarch64-linux-gnu-strip "$work/p/opt/vgt/vgtd" "$work/p/opt/vgt/vgt"
# Libraries the programs need that the cached dom0 image lacks (it was
# built before they were needed, e.g. libpng and libxxhash for the
# display): from the cross build's sysroot, the same Debian arm64 packages.
have=$(zcat "$cache/dom0-base.cpio.gz" | cpio -t --quiet 2>/dev/null | sed 's|.*/||' | sort -u)
mkdir -p "$work/p/usr/lib/aarch64-linux-gnu"
for lib in $(aarch64-linux-gnu-readelf -d "$work/p/opt/vgt/vgtd" "$work/p/opt/vgt/vgt" |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
    printf '%s\n' "$have" | grep -qx "$lib" && continue
    src="$barm-sysroot/usr/lib/aarch64-linux-gnu/$lib"
    [ -e "$src" ] || src="$barm-sysroot/lib/aarch64-linux-gnu/$lib"
    [ -e "$src" ] || skip "arm64: $lib, which vgtd needs, is neither in the dom0 image nor in $barm-sysroot"
    cp -L "$src" "$work/p/usr/lib/aarch64-linux-gnu/$lib"
done
cp "$here/arm64-dom0-init" "$work/p/init"
chmod 755 "$work/p/init"
(cd "$work/g" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/p/guest/initrd"
(cd "$work/p" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/payload.cpio.gz"
cat "$cache/dom0-base.cpio.gz" "$work/payload.cpio.gz" >"$work/dom0.cpio.gz"

t_boot=$(now)
# thread=single: with multi-threaded TCG, Xen's cross-pCPU wake-ups stall.
nice timeout "$timeout_s" qemu-system-aarch64 -machine virt,gic-version=3,virtualization=on \
    -cpu cortex-a57 -smp 2 -m 2048 -accel tcg,thread=single -nographic -no-reboot -monitor none \
    -serial stdio -kernel "$cache/xen" \
    -append "dom0_mem=768M dom0_max_vcpus=1 console=dtuart dtuart=/pl011@9000000" \
    -device guest-loader,addr=0x49000000,kernel="$cache/Image",bootargs="console=hvc0 rdinit=/init quiet" \
    -device guest-loader,addr=0x50000000,initrd="$work/dom0.cpio.gz" \
    </dev/null >"$log" 2>&1 || qrc=$?
# how QEMU ended, for check-xen.sh's report: status (124: timed out), seconds
echo "${qrc:-0} $(($(now) - t_boot))" >"$log.rc"

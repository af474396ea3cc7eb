#!/bin/sh
# make check-xen: the real-Xen test tier (x86). Debian's Xen 4.17 boots
# under QEMU (TCG with emulated AMD SVM+NPT: no VT-x needed), with a PV
# dom0 and HVM guests from Debian 12 packages; this build's vgt and vgtd
# serve the guests (the simulated GPU behind real Xen: vgtd --gpu sim) and
# every check runs inside a guest or dom0. Output: TAP on stdout.
#
#   sh tests/xen/check-xen.sh [BUILD]        run (images built when missing)
#   sh tests/xen/check-xen.sh --images BUILD build the cached images only
#
# Images are built once, as root, into $VGT_XEN_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/vgt-xen) and reused; each run only packs
# this build's programs and the test scripts into a small payload disk, and
# boots the cached dom0 disk copy-on-write (it never changes).
# VGT_XEN_TIMEOUT: seconds for the whole boot (default 3600).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
images_only=false
if [ "${1:-}" = "--images" ]; then images_only=true; shift; fi
build=$(cd "${1:-build}" && pwd)
cache=${VGT_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgt-xen}
timeout_s=${VGT_XEN_TIMEOUT:-3600}
skip() { echo "1..0 # SKIP $*"; echo "check-xen: skipped: $*" >&2; exit 0; }
now() { date +%s; }

# PID 1 of dom0 in the cached image: the payload disk brings the rest.
# The root disk is a QEMU -snapshot: writing it never reaches the cache.
dom0_init() {
    cat <<'INIT'
#!/bin/sh
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -o remount,rw /
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mkdir -p /payload && mount -o ro /dev/vdb /payload && exec sh /payload/dom0-init
echo "VGTXEN not ok - dom0 mounts the payload disk"
echo o >/proc/sysrq-trigger
sleep 10
INIT
}

build_images() {
    [ "$(id -u)" -eq 0 ] || skip "no images in $cache and not root to build them (run once as root: make check-xen)"
    t0=$(now)
    echo "check-xen: building images in $cache (once; 10-20 min)" >&2
    # Only what is missing (an install would also upgrade what is there).
    need=""
    for pt in qemu-system-x86:qemu-system-x86_64 debootstrap:debootstrap \
        busybox-static:busybox cpio:cpio e2fsprogs:mkfs.ext4; do
        command -v "${pt#*:}" >/dev/null || [ -x "/usr/sbin/${pt#*:}" ] || need="$need ${pt%%:*}"
    done
    if [ -n "$need" ]; then
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
    fi
    rm -rf "$cache/tmp"
    mkdir -p "$cache/tmp/debs"
    # The kernel linux-image-amd64 points at, for dom0 and the guests.
    kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$kpkg" ] || skip "cannot resolve linux-image-amd64"
    kver=${kpkg#linux-image-}
    (cd "$cache/tmp/debs" && apt-get download -qq xen-hypervisor-4.17-amd64 "$kpkg") >&2
    mkdir -p "$cache/tmp/xen"
    dpkg-deb -x "$cache"/tmp/debs/xen-hypervisor-4.17-amd64_*.deb "$cache/tmp/xen"
    # QEMU boots Xen as a multiboot kernel: the uncompressed image.
    zcat "$cache"/tmp/xen/boot/xen-4.17-amd64.gz > "$cache/tmp/xen.elf"
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    root="$cache/tmp/root"
    nice debootstrap --variant=minbase \
        --include=xen-utils-4.17,qemu-system-xen,xenstore-utils,kmod,busybox,initramfs-tools,linux-base,libpciaccess0,libdrm2,libfdt1,libmicrohttpd12,procps \
        bookworm "$root" "$mirror" >&2
    cp "$cache"/tmp/debs/"$kpkg"_*.deb "$root/tmp/k.deb"
    nice chroot "$root" dpkg -i /tmp/k.deb >&2
    rm -f "$root/tmp/k.deb"
    # PID 1 of dom0: the payload disk brings the rest.
    mkdir -p "$root/payload"
    dom0_init >"$root/sbin/vgt-xen-init"
    chmod 755 "$root/sbin/vgt-xen-init"
    cp "$root/boot/vmlinuz-$kver" "$cache/tmp/vmlinuz"
    cp "$root/boot/initrd.img-$kver" "$cache/tmp/initrd.img"
    nice mkfs.ext4 -q -F -L dom0 -d "$root" "$cache/tmp/dom0.img" 2G >&2
    rm -rf "$root" "$cache/tmp/debs" "$cache/tmp/xen"
    for f in xen.elf vmlinuz initrd.img dom0.img; do mv "$cache/tmp/$f" "$cache/$f"; done
    rm -rf "$cache/tmp"
    echo "$kver" > "$cache/.ready"
    echo "check-xen: images built in $(( $(now) - t0 )) s" >&2
}

# Bring a cached image's init up to date with this checkout (debugfs edits
# the ext4 image in place: no rebuild for a changed init).
refresh_init() {
    dom0_init >"$cache/init.want"
    if debugfs -R "cat /sbin/vgt-xen-init" "$cache/dom0.img" 2>/dev/null | cmp -s - "$cache/init.want"; then
        rm -f "$cache/init.want"
        return 0
    fi
    [ -w "$cache/dom0.img" ] || skip "the cached dom0 image's init is outdated and $cache/dom0.img is not writable"
    cat >"$cache/init.cmds" <<CMDS
mkdir /payload
cd /sbin
rm vgt-xen-init
write $cache/init.want vgt-xen-init
sif vgt-xen-init mode 0100755
CMDS
    debugfs -w -f "$cache/init.cmds" "$cache/dom0.img" >/dev/null 2>&1
    rm -f "$cache/init.cmds"
    debugfs -R "cat /sbin/vgt-xen-init" "$cache/dom0.img" 2>/dev/null | cmp -s - "$cache/init.want" ||
        skip "could not update the cached dom0 image's init (debugfs)"
    rm -f "$cache/init.want"
    echo "check-xen: the cached dom0 image's init updated" >&2
}

mkdir -p "$cache"
[ -f "$cache/.ready" ] || build_images
refresh_init
$images_only && exit 0
for t in qemu-system-x86_64 mkfs.ext4 cpio; do
    command -v $t >/dev/null || skip "$t missing (apt-get install qemu-system-x86 e2fsprogs cpio)"
done
[ -x /bin/busybox ] || skip "/bin/busybox missing (apt-get install busybox-static)"
[ -x "$build/tools/vgtd" ] || skip "no $build/tools/vgtd (make)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The payload: this build's programs, the checks, the guests' initramfs.
mkdir -p "$work/p/g/bin" "$work/p/g/proc" "$work/p/g/sys" "$work/p/g/dev" "$work/p/g/tmp"
cp "$build/tools/vgt" "$build/tools/vgtd" "$here/dom0-init" "$here/dom0-checks.sh" "$work/p/"
# The libraries they link (both sides are Debian 12): dom0-init installs
# the ones its image lacks (libmicrohttpd for --metrics, ...). Not libc.
mkdir -p "$work/p/lib"
for l in $(ldd "$build/tools/vgtd" "$build/tools/vgt" | awk '/=> \//{print $3}' | sort -u); do
    case "$(basename "$l")" in libc.so*|libm.so*|ld-linux*) ;; *) cp -L "$l" "$work/p/lib/" ;; esac
done
cp /bin/busybox "$work/p/g/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/p/g/bin/$a"; done
cp "$here/guest-init" "$work/p/g/init"
chmod 755 "$work/p/g/init"
(cd "$work/p/g" && find . | cpio -o -H newc 2>/dev/null) > "$work/p/guest-initrd"
rm -rf "$work/p/g"
cp "$cache/vmlinuz" "$work/p/guest-vmlinuz"
mkfs.ext4 -q -F -L payload -d "$work/p" "$work/payload.img" 256M >&2

t0=$(now)
log="$work/serial.log"
# -snapshot: the cached dom0 disk is never written.
nice timeout "$timeout_s" qemu-system-x86_64 -machine q35 -accel tcg,thread=multi \
    -cpu qemu64,+svm,+npt -smp 2 -m 4096 -nographic -no-reboot -serial mon:stdio -snapshot \
    -drive file="$cache/dom0.img",if=virtio,format=raw \
    -drive file="$work/payload.img",if=virtio,format=raw \
    -kernel "$cache/xen.elf" \
    -append "console=com1 com1=115200 dom0_mem=1536M,max:1536M dom0_max_vcpus=2" \
    -initrd "$cache/vmlinuz console=hvc0 root=/dev/vda ro init=/sbin/vgt-xen-init,$cache/initrd.img" \
    </dev/null >"$log" 2>&1 || true
secs=$(( $(now) - t0 ))
cp "$log" "${VGT_XEN_LOG:-$build/check-xen-serial.log}" 2>/dev/null || true
n=0
fails=0
tr -d '\r' <"$log" | grep -a '^VGTXEN ' >"$work/results" || true
while IFS= read -r line; do
    n=$((n + 1))
    res=${line#VGTXEN }
    case "$res" in
    "not ok"*) fails=$((fails + 1)); echo "not ok $n ${res#not ok }" ;;
    ok*) echo "ok $n ${res#ok }" ;;
    \#*) n=$((n - 1)); echo "$res" ;;
    esac
done <"$work/results"
if ! grep -q '^VGTXEN # done' "$work/results"; then
    n=$((n + 1)); fails=$((fails + 1))
    echo "not ok $n - the run finished (boot timed out after $secs s, or dom0 failed; serial log: ${VGT_XEN_LOG:-$build/check-xen-serial.log})"
fi
echo "# boot to power-off: $secs s"
echo "1..$n"
[ "$fails" -eq 0 ]

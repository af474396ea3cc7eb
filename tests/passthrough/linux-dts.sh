#!/bin/sh
# vgt assign dt on real Arm board trees from Debian's linux-source-6.1:
# Arm's FVP Base RevC and Juno, whose motherboard devices sit behind an
# interrupt-map bus and use fixed clocks. Only the arm64 dts/arm files
# and dt-bindings headers are extracted, once, into the build dir.
# Usage: linux-dts.sh VGT BUILD_DIR. Exit 77 (skip) without the tarball.
set -eu
vgt=$1
cache=$2/linux-dts
tarball=${VGT_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
top=linux-source-6.1
if [ ! -r "$tarball" ]; then
    echo "SKIP: $tarball not installed (apt-get install linux-source-6.1)"
    exit 77
fi
command -v cpp >/dev/null && command -v dtc >/dev/null || { echo "SKIP: cpp or dtc missing"; exit 77; }
if [ ! -f "$cache/.done" ]; then
    rm -rf "$cache" && mkdir -p "$cache"
    tar -xJf "$tarball" -C "$cache" --wildcards "$top/arch/arm64/boot/dts/arm/*" "$top/include/dt-bindings/*"
    touch "$cache/.done"
fi
src=$cache/$top
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { # what, haystack file, needle
    if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: no '$3' in:"; cat "$2"; fail=1; fi
}
board() { # name -> $work/name.dtb, preprocessed as the kernel's Makefile does
    cpp -nostdinc -undef -D__DTS__ -x assembler-with-cpp -I "$src/include" -I "$src/arch/arm64/boot/dts/arm" \
        "$src/arch/arm64/boot/dts/arm/$1.dts" | dtc -q -I dts -O dtb -o "$work/$1.dtb" -
}

board fvp-base-revc
iofpga=/bus@8000000/motherboard-bus@8000000/iofpga-bus@300000000
"$vgt" assign dt --dtb "$work/fvp-base-revc.dtb" --node $iofpga/serial@90000 --node $iofpga/rtc@170000 \
    --out-dtb "$work/fvp.dtb" --out-cfg "$work/fvp.cfg" >"$work/fvp.txt" 2>&1 || { cat "$work/fvp.txt"; exit 1; }
# bus@8000000's interrupt-map (mask <0 0 63>) takes line 5 to GIC SPI 5.
check "FVP PL011 behind the motherboard nexus" "$work/fvp.txt" \
    "route: /bus@8000000 <5> -> /interrupt-controller@2f000000 <0 5 4>"
check "FVP PL031 behind the motherboard nexus" "$work/fvp.txt" \
    "route: /bus@8000000 <4> -> /interrupt-controller@2f000000 <0 4 4>"
check "FVP irqs" "$work/fvp.cfg" "irqs = [ 37, 36 ]"
check "FVP apb_pclk is a fixed clock" "$work/fvp.txt" "clocks -> /clk24mhz is a fixed clock: copied"
fdtget "$work/fvp.dtb" /passthrough/clk24mhz compatible >"$work/c.txt"
check "FVP guest tree has the clock" "$work/c.txt" "fixed-clock"

board juno
"$vgt" assign dt --dtb "$work/juno.dtb" --node $iofpga/rtc@170000 --out-dtb "$work/juno-g.dtb" \
    --out-cfg "$work/juno.cfg" >"$work/juno.txt" 2>&1 || { cat "$work/juno.txt"; exit 1; }
check "Juno PL031 behind the motherboard nexus" "$work/juno.txt" \
    "route: /bus@8000000 <0> -> /interrupt-controller@2c010000 <0 68 4>"
check "Juno irqs" "$work/juno.cfg" "irqs = [ 100 ]"
[ "$fail" -eq 0 ] && echo "linux-dts: 7 passed, 0 failed"
exit "$fail"

#!/bin/sh
# The checks of make check-xen, in dom0 (run by dom0-init). Each prints
# one "VGTXEN ok|not ok - ..." line; times are of an emulated machine
# (QEMU TCG), not of real hardware.
G=/root/guests
mkdir -p $G
ok() { echo "VGTXEN ok - $*"; }
nok() { echo "VGTXEN not ok - $*"; }
# ms since boot, from /proc/uptime (10 ms steps): monotonic, unlike date,
# whose wall clock stepped back 671 ms across an xl destroy in a PV dom0
# under TCG.
ms() { echo $(( $(sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime) * 10 )); }
# VGT_XEN_CHECKS (check-xen.sh writes it to /payload/checks): the groups
# to run, of "destroy testdev vgpu"; empty runs all.
only=$(cat /payload/checks 2>/dev/null || true)
want() {
    [ -z "$only" ] && return 0
    case " $only " in *" $1 "*) return 0 ;; esac
    return 1
}
[ -n "$only" ] && echo "VGTXEN # only the check groups: $only (VGT_XEN_CHECKS)"

cfg() { # NAME MODE EXTRA
    cat >$G/$1.cfg <<CFG
name = "$1"
type = "hvm"
memory = 256
vcpus = 1
kernel = "/payload/guest-vmlinuz"
ramdisk = "/payload/guest-initrd"
cmdline = "console=ttyS0,115200 vgtxen=$2 loglevel=${GLOGLEVEL:-4} edd=off"
serial = "file:/var/log/xen/$1-serial.log"
vga = "none"
nographic = 1
vnc = 0
vif = []
disk = []
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
$3
CFG
}

# Wait until domain NAME is gone (the guest powered off), at most SECS,
# and at most 60 s after its "GUEST done" line (a power-off that hangs).
wait_gone() {
    n=0
    d=0
    while xl domid $1 >/dev/null 2>&1; do
        sleep 5
        n=$((n + 5))
        grep -q '^GUEST done' /var/log/xen/$1-serial.log 2>/dev/null && d=$((d + 5))
        if [ $n -ge $2 ] || [ $d -ge 60 ]; then
            echo "VGTXEN # $1 destroyed: still running $n s after unpause, $d s after its done line"
            xl destroy $1
            return 1
        fi
    done
}

# The value after "GUEST KEY" on NAME's serial console.
gval() { tr -d '\r' </var/log/xen/$1-serial.log 2>/dev/null | sed -n "s/^GUEST $2 //p" | head -n 1; }

# The teardown bound on this emulated machine (ms): 200 ms is the
# design's bound, asserted on the simulated platform
# (e2e_vgtd_domain_death); under QEMU TCG dom0 runs many times slower than
# on hardware, so the rig asserts a looser bound and prints the figure
# (911 ms measured at load 3.5, 432 ms of it vgtd's own teardown).
TEARDOWN_MS=${VGT_XEN_TEARDOWN_MS:-2000}

# vgtd's own figure from log $1 for domain $2: "torn down N ms after its
# death was seen" (the ms from noticing the death to the teardown done).
torn_ms() { sed -n "s/.*dom$2: torn down \([0-9]*\) ms after its death was seen.*/\1/p" $1 | head -n 1; }

# Wait for child PID $1 to exit, killing it after $2 s: WAIT_MS the ms
# waited, WAIT_END the time it ended (ms), WAIT_ST its status (> 128:
# killed). Not in a $(...) subshell
# and not by polling kill -0: a child that exits while the shell reads a
# command substitution stays a zombie that kill -0 still finds, which
# made an earlier version of this check wait out its whole 200-sample
# loop (28.6 s under TCG) for a vgtd that had long exited.
wait_pid() {
    (sleep $2; kill $1 2>/dev/null) &
    wd=$!
    t0=$(ms)
    wait $1
    WAIT_ST=$?
    WAIT_END=$(ms)
    WAIT_MS=$((WAIT_END - t0))
    kill $wd 2>/dev/null
}

# 1. vgtd notices xl destroy (testdev vgtd, guest never unpaused). The
# interval that counts runs from the domain's death to vgtd done: the
# domain is dead once xl destroy returns (libxl kills the device model,
# then destroys the domain, then cleans xenstore up), so from there to
# vgtd's exit, waited for (wait, not polled: no fork per sample). xl
# destroy's own time is printed beside it: it is not vgtd's (libxl waits
# for QEMU and the device backends).
if want destroy; then # (not indented: the block is another owner's)
cfg gdx none ""
if xl create -p $G/gdx.cfg >/dev/null 2>&1; then
    D=$(xl domid gdx)
    vgtd --domid $D --device testdev --mmio 0xfe000000 >/tmp/vgtd-destroy.log 2>&1 &
    VP=$!
    sleep 2
    t0=$(ms)
    xl destroy gdx
    t1=$(ms)
    wait_pid $VP 60
    st=$WAIT_ST
    tx=$((t1 - t0))
    tw=$((WAIT_END - t1))
    [ $tw -ge 0 ] || tw=0
    tv=$(torn_ms /tmp/vgtd-destroy.log $D)
    echo "VGTXEN # teardown: xl destroy took $tx ms; vgtd done $tw ms after it returned; vgtd's own teardown ${tv:-?} ms after it saw the death"
    if [ $st -gt 128 ]; then
        nok "testdev vgtd stops by itself after xl destroy (still running 60 s later: killed)"
    elif ! grep -q "domain gone" /tmp/vgtd-destroy.log || grep -q ": err:" /tmp/vgtd-destroy.log; then
        nok "testdev vgtd's log after xl destroy: $(tr '\n' '|' </tmp/vgtd-destroy.log | cut -c1-300)"
    elif [ $tw -gt $TEARDOWN_MS ]; then
        nok "testdev vgtd done within $TEARDOWN_MS ms of the domain's death (took $tw ms after xl destroy returned; xl destroy $tx ms)"
    else
        ok "testdev vgtd stops by itself after xl destroy, no error line, $tw ms after xl destroy returned (bound $TEARDOWN_MS ms under TCG; xl destroy $tx ms)"
    fi
else
    nok "xl create -p of a guest"
fi

fi

# 2. The test device from inside a guest.
if want testdev; then
cfg gtd testdev ""
xl create -p $G/gtd.cfg >/dev/null 2>&1
D=$(xl domid gtd)
vgtd --domid $D --device testdev --mmio 0xfe000000 >/tmp/vgtd-testdev.log 2>&1 &
VP=$!
sleep 2
t0=$(cut -d' ' -f1 /proc/uptime)
xl unpause gtd
wait_gone gtd 1500
echo "VGTXEN # testdev guest ran $(cut -d' ' -f1 /proc/uptime) - $t0 s"
id=$(gval gtd td-id)
scr=$(gval gtd td-scratch)
[ "$id" = "0x3156454454544756" ] && ok "guest reads the test device's ID ($id)" || nok "guest reads the test device's ID (got '$id')"
[ "$scr" = "0x00001234" ] && ok "guest writes and reads back the test device's scratch" || nok "test device scratch (got '$scr')"
tr=$(gval gtd td-trap)
case "$tr" in
ok*) ok "guest times ioreq round trips to the test device: ${tr#ok }" ;;
*) nok "guest times ioreq round trips (got '$tr')" ;;
esac
wait_pid $VP 10
if [ $WAIT_ST -gt 128 ]; then
    nok "testdev vgtd stops when its guest powers off (still running 10 s after: killed)"
else
    ok "testdev vgtd stops when its guest powers off"
fi
fi

# 3. A vGPU with the simulated GPU behind real Xen, as the operator guide
# says: vgt up with a vgt=1 config, --gpu sim.
if want vgpu; then
# Its kernel's info lines on its console too: they show live where a
# probe is (GLOGLEVEL).
GLOGLEVEL=7 cfg gvs vgpu 'vgt = 1
vgt_low_gm_sz = 64
vgt_high_gm_sz = 384
vgt_fence_sz = 4
xen_platform_pci = 0'
t0=$(cut -d' ' -f1 /proc/uptime)
GD=
if timeout 300 vgt up $G/gvs.cfg --gpu sim >/tmp/vgt-up.out 2>&1; then
    GD=$(xl domid gvs 2>/dev/null)
    ok "vgt up --gpu sim attaches a vGPU to a real HVM guest"
    vgt list >/tmp/vgt-list.out 2>&1 && grep -q "$(xl domid gvs 2>/dev/null)" /tmp/vgt-list.out &&
        ok "vgt list shows it" || nok "vgt list shows it: $(tr '\n' '|' </tmp/vgt-list.out | cut -c1-200)"
else
    nok "vgt up --gpu sim: $(tr '\n' '|' </tmp/vgt-up.out | cut -c1-300) / $(tail -5 /run/vgt/vgtd.sock.log 2>/dev/null | tr '\n' '|')"
fi
# Progress of the guest's probe and IGT, live on dom0's console (the rig
# is slow: an operator sees where a probe is stuck before the end).
(tail -F /var/log/xen/gvs-serial.log 2>/dev/null | sed -u 's/\r$//' |
    grep --line-buffered -v -E '^GUEST (dmesg|engine-info|igt-dmesg) ' | sed -u 's/^/VGTXEN # live gvs: /') &
LIVE=$!
# ... and vgtd's side every 60 s (a guest vCPU blocked on an ioreq prints
# nothing itself): its vGPU list and its log's last lines.
(while sleep 60; do
    # the trap counters moving or not: a vCPU blocked on an ioreq or a
    # guest sleeping in a driver's wait
    echo "VGTXEN # live vgtd: $(timeout 10 vgt list 2>&1 | sed -n 2p | tr -s ' ' | cut -c1-200) $(timeout 10 vgt list --json 2>/dev/null | grep -o '"mmio_reads":[0-9]*,"mmio_writes":[0-9]*' | head -n 1)"
    echo "VGTXEN # live vgtd log: $(tail -n 3 /run/vgt/vgtd.sock.log 2>/dev/null | tr '\n' '|' | cut -c1-400)"
done) &
LIVE2=$!
wait_gone gvs 1200 # i915 probe (at most 420 s) and IGT (6 x at most 60 s)
pkill -P $LIVE 2>/dev/null # the pipeline, then its subshell
kill $LIVE $LIVE2 2>/dev/null
echo "VGTXEN # vGPU guest ran $(cut -d' ' -f1 /proc/uptime) - $t0 s"
ids=$(gval gvs pci-ids)
[ "$ids" = "0x8086 0x1912 0x030000" ] && ok "the guest sees the vGPU at 00:02.0 as 8086:1912, VGA class" || nok "vGPU IDs at 00:02.0 (got '$ids')"
set -- $(gval gvs bar0)
if [ $# -ge 2 ] && [ $(( $2 - $1 + 1 )) -eq $((16 << 20)) ]; then ok "BAR0 is 16 MiB at $1"; else nok "BAR0 (got '$*')"; fi
set -- $(gval gvs bar2)
if [ $# -ge 2 ] && [ $(( $2 - $1 + 1 )) -ge $((64 << 20)) ]; then ok "BAR2 (aperture) is $(( ($2 - $1 + 1) >> 20 )) MiB at $1"; else nok "BAR2 (got '$*')"; fi
m=$(gval gvs pvinfo-magic)
[ "$m" = "0x4776544776544776" ] && ok "PVINFO magic read through /dev/mem in the guest" || nok "PVINFO magic (got '$m')"
before=$(gval gvs frame-before)
apr=$(gval gvs aperture-read)
after=$(gval gvs frame-after)
if [ -n "$before" ] && [ "$apr" = "$before" ] && [ "$after" = "0x5A17C0DE" ]; then
    ok "a GGTT entry written by the guest reaches the simulated GPU as the guest's own frame (read $apr, write seen in guest memory)"
else
    nok "GGTT entry to the guest's frame: frame $before, through the aperture $apr, after an aperture write $after"
fi
for c in probe blit store; do
    r=$(gval gvs gpu-$c)
    case "$r" in
    ok*) ok "guest program ($c): ${r#ok }" ;;
    *) nok "guest program ($c): ${r:-no result line}" ;;
    esac
done
set -- $(gval gvs i915-gvt)
case "${1:-}" in
detected) ok "the guest's i915 detects GVT-g (${2:-?} s after insmod)" ;;
none) nok "the guest's i915 detects GVT-g (no detection line within 300 s of insmod)" ;;
nomod) nok "the guest's i915 detects GVT-g (no i915 module in the guest's initramfs)" ;;
*) nok "the guest's i915 detects GVT-g (no result line)" ;;
esac
# Issue 16 (the real i915 on the vGPU) is open: a failing probe check is
# a known gap, reported as TAP "not ok ... # TODO" (not counted as a
# failure) with its reason, until the vGPU meets it.
todo16() { echo "VGTXEN not ok - $* # TODO issue 16: the real i915 on the vGPU is not finished (docs/vgpu.md)"; }
# i915's probe to its end (issue 16): the whole guest dmesg first (the
# docs and the lead need it), then one check per property.
set -- $(gval gvs i915-probe)
case "${1:-}" in
done) ok "the guest's i915 probe finishes (${2:-?} s after insmod, insmod ${3:-?})" ;;
timeout) todo16 "the guest's i915 probe finishes (still probing ${2:-?} s after insmod)" ;;
*) todo16 "the guest's i915 probe finishes (no result line)" ;;
esac
tr -d '\r' </var/log/xen/gvs-serial.log 2>/dev/null | sed -n 's/^GUEST dmesg /VGTXEN # guest dmesg: /p'
tr -d '\r' </var/log/xen/gvs-serial.log 2>/dev/null | sed -n 's/^GUEST dmesg //p' >/tmp/gvs-dmesg
n_err=$(gval gvs i915-errors)
if [ "$n_err" = 0 ]; then
    ok "the guest dmesg has no *ERROR* line"
else
    todo16 "the guest dmesg has no *ERROR* line (${n_err:-no count}: $(grep -a '\*ERROR\*' /tmp/gvs-dmesg | sort | uniq -c | sort -rn | head -5 | tr -s ' ' | tr '\n' '|' | cut -c1-400))"
fi
n_warn=$(gval gvs i915-warns)
if [ "$n_warn" = 0 ]; then
    ok "the guest dmesg has no WARN"
else
    # a WARN's own line, and the drm_WARN message printed before it
    todo16 "the guest dmesg has no WARN (${n_warn:-no count}: $(grep -a -B1 -E '^(\[[ 0-9.]*\] )?WARNING:' /tmp/gvs-dmesg | grep -a -v '^--' | head -6 | tr '\n' '|' | cut -c1-500))"
fi
eng=$(gval gvs i915-engines)
miss=""
for e in rcs0 bcs0 vcs0 vecs0; do case " $eng " in *" $e "*) ;; *) miss="$miss $e" ;; esac; done
[ -z "$miss" ] && ok "i915 brings up rcs, bcs, vcs and vecs (sysfs engines: $eng)" ||
    todo16 "i915 brings up rcs, bcs, vcs and vecs (missing:$miss; sysfs engines: ${eng:-no line})"
tr -d '\r' </var/log/xen/gvs-serial.log 2>/dev/null | sed -n 's/^GUEST engine-info /VGTXEN # i915_engine_info: /p'
# IGT's benchmarks in the guest (when packed): each a check with its
# figure; exit 77 is IGT's skip (a requirement not met), said as a SKIP.
tr -d '\r' </var/log/xen/gvs-serial.log 2>/dev/null | sed -n 's/^GUEST igt //p' | while read -r b rc t rest; do
    case "$rc" in
    rc=0) ok "IGT $b in the guest (${t}): ${rest}" ;;
    rc=77) echo "VGTXEN # SKIP IGT $b in the guest: ${rest}" ;;
    *) todo16 "IGT $b in the guest ($rc after ${t:-?}): ${rest}" ;;
    esac
done
tr -d '\r' </var/log/xen/gvs-serial.log 2>/dev/null | sed -n 's/^GUEST igt-dmesg /VGTXEN # guest dmesg after IGT: /p'
dri=$(gval gvs i915-dri)
[ "$dri" = "card0 renderD128" ] && ok "i915 creates /dev/dri/card0 and renderD128" ||
    todo16 "i915 creates /dev/dri/card0 and renderD128 (found: ${dri:-no line})"
grep -h "failsafe" /run/vgt/vgtd.sock.log 2>/dev/null | head -3 | sed 's/^/VGTXEN # vGPU failsafe: /'
# The reason a failsafe names is a class ("execlist submission refused");
# the refusal itself (command, offset) is the warning logged before it.
grep -h ": warn: " /run/vgt/vgtd.sock.log 2>/dev/null | head -20 | sed 's/^/VGTXEN # vgtd warning: /'
grep -q "failsafe" /run/vgt/vgtd.sock.log 2>/dev/null || echo "VGTXEN # the vGPU never entered failsafe"
sleep 1
if vgt list 2>/dev/null | grep -q gvs; then
    nok "vgtd tears the vGPU down when the guest is gone"
else
    tv=$(torn_ms /run/vgt/vgtd.sock.log "$GD")
    if ! grep -q "domain gone" /run/vgt/vgtd.sock.log 2>/dev/null; then
        nok "vgtd tears the vGPU down when the guest is gone: $(tail -5 /run/vgt/vgtd.sock.log | tr '\n' '|')"
    elif [ -z "$tv" ] || [ "$tv" -gt $TEARDOWN_MS ]; then
        nok "vgtd tears the vGPU down within $TEARDOWN_MS ms of seeing the guest gone (took ${tv:-?} ms)"
    else
        ok "vgtd tears the vGPU down when the guest is gone, $tv ms after it saw the death (bound $TEARDOWN_MS ms under TCG)"
    fi
fi
grep -h "map cache:" /run/vgt/vgtd.sock.log 2>/dev/null | sed 's/^/VGTXEN # /'
# What the guest used that vgt does not list (each offset logged once) and
# the traps of its life (vgtd logs the counters at teardown).
echo "VGTXEN # vgtd unlisted registers: $(grep -c 'unlisted register' /run/vgt/vgtd.sock.log 2>/dev/null)"
grep -h "unlisted register" /run/vgt/vgtd.sock.log 2>/dev/null | sed 's/^/VGTXEN # vgtd: /'
grep -h -E "vgpu[0-9]* stats:|ioreq stats:" /run/vgt/vgtd.sock.log 2>/dev/null | sed 's/^/VGTXEN # /'
grep -q ": err:" /run/vgt/vgtd.sock.log 2>/dev/null &&
    echo "VGTXEN # vgtd error lines: $(grep ': err:' /run/vgt/vgtd.sock.log | head -5 | tr '\n' '|')"
pkill -x vgtd 2>/dev/null
fi
true

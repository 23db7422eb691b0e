#!/bin/bash
# tests/vm/run-vm.sh [OPTIONS] SCRIPT: boot Debian's 6.1 kernel under QEMU (TCG, microvm) with the
# host's / as the guest's read-only root (tmpfs overlay on top), run SCRIPT in it with bash as the
# only job of the guest, and exit with SCRIPT's exit status.
#
# SCRIPT must be visible in the guest at its host path: the guest gets fresh /tmp and /run, so a
# script under /tmp or /run is copied into the results share first (it then cannot source files
# beside it). In the guest, SCRIPT runs as root with stdin from /dev/null, with
#   BERTH_VM_GUEST=1  BERTH_VM_RESULTS=/berth-results (the writable share, the host's results dir)
#   BERTH_VM_DIR, BERTH_VM_KVER, BERTH_VM_MODDIR (for `modprobe -d "$BERTH_VM_MODDIR" NAME`)
# and every --env NAME=VALUE; tests/vm/guest-lib.sh has the helpers and assertions.
#
# Options:
#   --timeout SECS    hard limit for the whole boot, test and power-off (default 600)
#   --stall SECS      a console silent this long is a stall (default 90; the guest prints a
#                     heartbeat every 10 s while the test runs)
#   --memory SIZE     guest memory (default $BERTH_VM_MEMORY, else 1024M)
#   --smp N           guest CPUs (default $BERTH_VM_SMP, else 1: with 2, one boot in four stalled
#                     on this machine)
#   --env NAME=VALUE  exported to SCRIPT in the guest (repeatable)
#   --results DIR     use DIR (created if missing, kept) as the results share, e.g. to hand files
#                     to the guest; default: a temporary directory, removed unless --keep
#   --keep            keep the temporary results directory (also BERTH_VM_KEEP=1)
#   --vm-dir DIR      the tests/vm/prepare.sh output (default $BERTH_VM_DIR, else build/vm);
#                     prepare.sh is run on it first (a cached, quick check once prepared)
#   --append ARGS     more kernel command line
#   --verbose         the kernel's boot messages on the console (default: quiet; warnings, errors,
#                     lockup and stall reports are printed either way)
#   --systemd         boot the host's systemd as PID 1 (cgroup v2 unified, a D-Bus system bus,
#                     nothing else of the host's units) and run SCRIPT as its berth-test.service;
#                     the script sees BERTH_VM_INIT=systemd (see README.md)
#   --qemu-arg ARG    one more QEMU argument (repeatable), e.g. a -netdev/-device pair
#                     (run-vm-pair.sh joins two guests this way)
#
# Exit status: SCRIPT's (0 pass, 1 fail, 77 skip, ...); 2 when the VM failed: QEMU could not
# start, the boot failed, the guest stalled (silent console, soft lockup, RCU stall, hung task,
# panic), the timeout expired, or the guest wrote no status; 77 when the VM cannot be had here
# (prepare.sh). The results dir holds console.log, qemu.log, status and timings (boot_ms: QEMU
# start to the guest's shell; test_ms; total_ms). The console tail is printed on failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

timeout_s=600
stall_s=90
memory=${BERTH_VM_MEMORY:-1024M}
smp=${BERTH_VM_SMP:-1}
vm_dir=${BERTH_VM_DIR:-$repo/build/vm}
results=""
keep=${BERTH_VM_KEEP:-}
append=""
quiet=quiet
envs=()
qemu_extra=()
script=""
systemd=""

msg() { printf 'run-vm: %s\n' "$*" >&2; }
usage() {
	sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--stall) stall_s=${2:?}; shift 2 ;;
	--memory) memory=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--env) envs+=("${2:?}"); shift 2 ;;
	--results) results=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	--vm-dir) vm_dir=${2:?}; shift 2 ;;
	--append) append=${2:?}; shift 2 ;;
	--verbose) quiet=""; shift ;;
	--systemd) systemd=1; shift ;;
	--qemu-arg) qemu_extra+=("${2:?}"); shift 2 ;;
	-h | --help) usage ;;
	-*) msg "unknown option $1"; usage ;;
	*)
		[ -z "$script" ] || usage
		script=$1
		shift
		;;
	esac
done
[ -n "$script" ] || usage
[[ $timeout_s =~ ^[0-9]+$ && $stall_s =~ ^[0-9]+$ && $smp =~ ^[0-9]+$ ]] || usage
[ -f "$script" ] || { msg "$script: no such file"; exit 2; }
script=$(realpath "$script")
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { msg "--env $e: not NAME=VALUE"; exit 2; }
done

# ---------------------------------------------------------------- prepare
bash "$here/prepare.sh" "$vm_dir"
rc=$?
case $rc in
0) ;;
77) exit 77 ;;
*) msg "prepare.sh failed ($rc)"; exit 2 ;;
esac
vm_dir=$(realpath "$vm_dir")
# shellcheck source=/dev/null
. "$vm_dir/kernel.env"

qpid=""
# shellcheck disable=SC2317 # called by the traps
stop_qemu() {
	[ -n "$qpid" ] || return 0
	kill -TERM "$qpid" 2>/dev/null
	kill -CONT "$qpid" 2>/dev/null # if it was stopped, let it see the TERM
	for _ in $(seq 50); do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=""
}
# shellcheck disable=SC2317
cleanup() {
	stop_qemu
	if [ -z "$keep" ] && [ -n "$results" ]; then
		rm -rf --one-file-system "$results"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$results" ]; then
	keep=1 # the caller's directory: never removed
	show_results=""
	mkdir -p "$results" || exit 2
	results=$(realpath "$results")
else
	results=$(mktemp -d /tmp/berth-vm.XXXXXX) || exit 2
	show_results=${keep:+$results}
fi
chmod 0755 "$results"
case "$results$vm_dir" in
*,*) msg "QEMU cannot take a path with a comma: $results, $vm_dir"; exit 2 ;;
esac
rm -f "$results/status" "$results/status.tmp" "$results/console.log" "$results/qemu.log" "$results/timings"

guest_script=$script
case "$script" in
/tmp/* | /run/* | /dev/* | /proc/* | /sys/*)
	cp "$script" "$results/test-script" || exit 2
	# What the test scripts source from beside themselves comes along.
	cp "$(dirname "$script")/guest-lib.sh" "$results/guest-lib.sh" 2>/dev/null || true
	# and the shared shell libraries of tests/lib (e.g. containerd.sh), beside it too
	cp "$(dirname "$script")"/../lib/*.sh "$results/" 2>/dev/null || true
	guest_script=/berth-results/test-script
	;;
esac

# The environment file the guest's PID 1 sources before running the script.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
# The guest has a fresh /tmp; the host's is at /berth-host-tmp (read-only, see prepare.sh).
guest_vm_dir=$vm_dir
case "$vm_dir" in /tmp/*) guest_vm_dir=/berth-host-tmp/${vm_dir#/tmp/} ;; esac
{
	printf 'export BERTH_VM_DIR=%s\n' "$(quote "$guest_vm_dir")"
	printf 'export BERTH_VM_KVER=%s\n' "$(quote "$KVER")"
	printf 'export BERTH_VM_MODDIR=%s\n' "$(quote "$guest_vm_dir/unpacked")"
	for e in "${envs[@]}"; do
		printf 'export %s=%s\n' "${e%%=*}" "$(quote "${e#*=}")"
	done
} >"$results/env"

# ---------------------------------------------------------------- boot
# Without the TSC frequency, about one boot in five hangs in the guest's TSC calibration (TCG).
# TCG's TSC is the host's, but the clocksource watchdog, comparing it with emulated timers, often
# declares it unstable and falls back to jiffies: tsc=reliable keeps it. panic=-1 with -no-reboot
# ends QEMU at once on a guest panic.
tsc_khz=${BERTH_VM_TSC_KHZ:-$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)}
# --systemd: systemd on the unified hierarchy, its status lines off the console (the test's own
# output stays readable), no attempt to load modules or to reach a TPM or firmware.
sd_args=""
[ -z "$systemd" ] || sd_args="berth.init=systemd systemd.unified_cgroup_hierarchy=1 systemd.show_status=false "
cmdline="console=ttyS0 panic=-1 tsc=reliable ${tsc_khz:+tsc_early_khz=$tsc_khz }${quiet:+$quiet }${sd_args}berth.test=$guest_script${append:+ $append}"
console=$results/console.log
: >"$console"

# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64 -M microvm -accel tcg,thread=multi -cpu max -smp "$smp" -m "$memory"
	-bios /usr/share/qemu/qboot.rom -kernel "$vm_dir/vmlinux" -initrd "$vm_dir/initramfs.cpio.gz"
	-append "$cmdline" -display none -monitor none -serial "file:$console" -nic none -no-reboot
	-fsdev local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap
	-device virtio-9p-device,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=results,path=$results,security_model=none"
	-device virtio-9p-device,fsdev=results,mount_tag=results
	"${qemu_extra[@]}")

now_ms() { local t=${EPOCHREALTIME/./}; printf '%s\n' "${t:0:-3}"; }


stall_re='watchdog: BUG: soft lockup|self-detected stall|detected stalls on CPUs|blocked for more than [0-9]+ seconds|Kernel panic - not syncing'

# console_problem: print what went wrong according to the console, if anything.
console_problem() {
	local m
	if grep -q '^BERTH-VM-INIT-FAILED' "$console"; then
		m=$(grep -m 1 '^berth-vm-init: ' "$console")
		printf 'the initramfs /init failed: %s\n' "${m#berth-vm-init: }"
	elif m=$(grep -Eo -m 1 "$stall_re" "$console"); then
		printf 'the guest kernel reported a stall or crash: %s\n' "$m"
	else
		return 1
	fi
}

start=$(now_ms)
"${qemu[@]}" </dev/null >"$results/qemu.log" 2>&1 &
qpid=$!
verdict=""
ready=""
done_at=""
last_size=0
last_change=$start
while kill -0 "$qpid" 2>/dev/null; do
	sleep 0.2
	now=$(now_ms)
	size=$(stat -c %s "$console" 2>/dev/null || echo 0)
	if [ "$size" != "$last_size" ]; then
		last_size=$size
		last_change=$now
		if [ -z "$ready" ] && grep -q '^BERTH-VM-READY' "$console"; then
			ready=$now
		fi
		if verdict=$(console_problem); then
			break
		fi
	fi
	if [ -z "$done_at" ] && [ -f "$results/status" ]; then
		done_at=$now
	fi
	if [ -n "$done_at" ] && [ $((now - done_at)) -gt 20000 ]; then
		msg "the guest wrote its status but did not power off in 20 s; stopping QEMU"
		break
	fi
	if [ $((now - last_change)) -gt $((stall_s * 1000)) ]; then
		verdict="stall: no console output for ${stall_s} s"
		break
	fi
	if [ $((now - start)) -gt $((timeout_s * 1000)) ]; then
		verdict="timeout: the VM ran for more than ${timeout_s} s"
		break
	fi
done
if kill -0 "$qpid" 2>/dev/null; then
	stop_qemu
	qemu_rc=killed
else
	wait "$qpid"
	qemu_rc=$?
	qpid=""
fi
end=$(now_ms)
[ -n "$done_at" ] || { [ -f "$results/status" ] && done_at=$end; }
# A stall reported by the kernel after the last poll still counts.
if [ -z "$verdict" ]; then
	verdict=$(console_problem)
fi

# ---------------------------------------------------------------- verdict
status=""
if [ -f "$results/status" ]; then
	status=$(tr -d ' \n' <"$results/status")
	[[ $status =~ ^[0-9]+$ ]] || { verdict=${verdict:-"bad status file: '$status'"}; status=""; }
fi
if [ -z "$verdict" ] && [ -z "$status" ]; then
	if [ "$qemu_rc" = 0 ]; then
		verdict="the guest wrote no status (boot or test runner failed)"
	else
		verdict="QEMU exited with status $qemu_rc and the guest wrote no status"
	fi
fi

boot_ms=""
test_ms=""
[ -n "$ready" ] && boot_ms=$((ready - start))
[ -n "$ready" ] && [ -n "$done_at" ] && test_ms=$((done_at - ready))
total_ms=$((end - start))
guest_ready=$(sed -n 's/^BERTH-VM-READY uptime=\([0-9.]*\).*/\1/p' "$console" | head -n 1)
printf 'boot_ms=%s\ntest_ms=%s\ntotal_ms=%s\nguest_ready_uptime=%s\n' \
	"$boot_ms" "$test_ms" "$total_ms" "$guest_ready" >"$results/timings"

fmt() {
	if [ -n "$1" ]; then printf '%d.%01d s' $(($1 / 1000)) $(($1 % 1000 / 100)); else printf 'n/a'; fi
}

# The test's part of the console (with any kernel messages in between; heartbeats left out).
if [ -n "$ready" ]; then
	sed -n '/^BERTH-VM-READY/,/^BERTH-VM-DONE/p' "$console" | grep -v '^berth-vm: alive'
fi

rc=${status:-2}
if [ -n "$verdict" ]; then
	rc=2
	msg "ERROR: $verdict"
fi
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
	# The rest of the console: boot messages, or what came after the test (power-off, a stall).
	printf -- '---- console tail outside the test (%s)\n' "$console"
	sed -e '/^BERTH-VM-READY/,/^BERTH-VM-DONE/d' "$console" | tail -n 60
	if [ -s "$results/qemu.log" ]; then
		printf -- '---- qemu output\n'
		tail -n 20 "$results/qemu.log"
	fi
	printf -- '----\n'
fi
msg "kernel $KVER, -smp $smp -m $memory: boot to shell $(fmt "$boot_ms") (guest uptime ${guest_ready:-n/a} s), test $(fmt "$test_ms"), total $(fmt "$total_ms"); status ${status:-none}; exit $rc${show_results:+; results in $show_results}"
exit "$rc"

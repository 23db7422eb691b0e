# shellcheck shell=bash
# shellcheck disable=SC2034 # RC, OUT, ERR are for the scripts that source this
# tests/vm/guest-lib.sh: helpers for a test script running inside the VM of tests/vm/run-vm.sh.
# Source it from the guest part of a test:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
#   vm_setup            # checks that this is the guest; mounts cgroup2 (pure v2 tree)
#   ...assertions...
#   finish              # exit 0 if every check passed, else 1
#
# The guest is Debian's 6.1 kernel with the host's / as a read-only root under a tmpfs overlay
# (writes are allowed and vanish at power-off), fresh /tmp and /run, no network device, and no
# init system: nothing else runs. The writable share $BERTH_VM_RESULTS (/berth-results) is a host
# directory; every check is also appended to $BERTH_VM_RESULTS/results.txt. run-vm.sh exports
# BERTH_VM_DIR, BERTH_VM_KVER, BERTH_VM_MODDIR and the caller's --env variables.
#
# Assertions (description first; a failure is reported and the test goes on; the same names
# and meanings as tests/integration/lib.sh):
#   assert_eq DESC EXPECTED ACTUAL     assert_ne DESC UNEXPECTED ACTUAL
#   assert_contains DESC TEXT NEEDLE   assert_not_contains DESC TEXT NEEDLE
#   assert_match DESC ERE ACTUAL       assert_true DESC CMD...    assert_false DESC CMD...
#   assert_rc DESC EXPECTED / assert_ok DESC: the status of the last `cap` call
#   expect_eq DESC EXPECTED ACTUAL     informational: reports XPASS/XFAIL, never fails the test
#                                      (for behaviour that is known to be missing yet)
#   info MSG, die MSG (stop now, fail), skip MSG (exit 77)
# Commands: cap CMD... runs CMD with a timeout (BERTH_VM_CMD_TIMEOUT, default 120 s: the guest is
# 10-15 times slower than the host), stdout/stderr to files; sets RC, OUT, ERR.
# Guest set-up: vm_mount_cgroup2 [MOUNT-OPTIONS], vm_enable_controllers [CONTROLLER...],
# vm_modprobe MODULE..., vm_load_criu_modules, vm_criu_setup (both of them and the controllers),
# vm_phase_main NAME (all of a two-boot CRIU test's guest part).
# Waiting and timing: wait_counter FILE MIN (a "<id> <n>" counter file), ms_since START.

set -uo pipefail

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
BERTH_VM_RESULTS=${BERTH_VM_RESULTS:-/berth-results}
VM_CMD_TIMEOUT=${BERTH_VM_CMD_TIMEOUT:-120}
VM_RESULTS_FILE=$BERTH_VM_RESULTS/results.txt
FAILURES=0
FAILED_CHECKS=()
CHECKS=0
XFAILS=0
XPASSES=0
NCALL=0

# The modules CRIU needs before it can dump a container with its own network namespace.
VM_CRIU_MODULES=(unix_diag inet_diag tcp_diag udp_diag af_packet_diag netlink_diag nf_tables
	nft_compat ip_tables iptable_filter tun xt_mark nf_conntrack_netlink)

# ---------------------------------------------------------------- reporting

# record LINE: to the console and to the results file on the host.
record() {
	printf '%s\n' "$1"
	printf '%s\n' "$1" >>"$VM_RESULTS_FILE" 2>/dev/null || true
}

info() { record "# $*"; }

fail() {
	FAILURES=$((FAILURES + 1))
	FAILED_CHECKS+=("$1")
	record "FAIL: $1"
	if [ $# -ge 3 ]; then
		record "  expected: $2"
		record "  actual:   $3"
	fi
	return 0
}

pass() { record "ok: $1"; }

die() {
	fail "$1"
	record "FATAL: stopping $TEST_NAME here"
	exit 1
}

skip() {
	record "SKIP: $*"
	exit 77
}

finish() {
	if [ "$FAILURES" -gt 0 ]; then
		record "failed checks:"
		local c
		for c in "${FAILED_CHECKS[@]}"; do record "  - $c"; done
		record "$TEST_NAME: $FAILURES of $CHECKS checks FAILED (known gaps: $XFAILS open, $XPASSES closed)"
		exit 1
	fi
	record "$TEST_NAME: all $CHECKS checks passed (known gaps: $XFAILS open, $XPASSES closed)"
	exit 0
}

# ---------------------------------------------------------------- assertions

# From the repository, or beside this file where run-vm.sh copied both (a repository under /tmp).
if [ -e "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh" ]; then
	# shellcheck source=tests/lib/assert.sh
	. "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"
else
	# shellcheck source=tests/lib/assert.sh
	. "$(dirname "${BASH_SOURCE[0]}")/assert.sh"
fi

assert_rc() { # DESC EXPECTED: the exit status of the last cap call
	check
	if [ "$RC" == "$2" ]; then
		pass "$1"
	else
		fail "$1 (exit status)" "$2" "$RC; stdout: $(head -c 600 <<<"$OUT"); stderr: $(head -c 600 <<<"$ERR")"
	fi
}

assert_ok() { assert_rc "$1" 0; }

# expect_eq DESC EXPECTED ACTUAL: a known gap. Reported, counted, never a failure: XPASS tells
# that the gap is closed and the check can become an assert_eq.
expect_eq() {
	if [ "$2" == "$3" ]; then
		XPASSES=$((XPASSES + 1))
		record "XPASS: $1 (known gap now closed: make it an assert)"
	else
		XFAILS=$((XFAILS + 1))
		record "XFAIL: $1 (expected '$2', got '$3'; known gap, not a failure)"
	fi
}

# ---------------------------------------------------------------- commands

# vm_criu_setup: what a CRIU test needs: the CRIU modules loaded (else die; the time it took is
# printed), the root's controllers enabled for its children (best effort).
vm_criu_setup() {
	local t=${EPOCHREALTIME/./}
	vm_load_criu_modules || die "the CRIU modules do not load"
	info "modules loaded in $(ms_since "$t")"
	# shellcheck disable=SC2119 # no arguments: the default controllers
	vm_enable_controllers >/dev/null 2>&1 || true
}

# vm_phase_main NAME: the guest part of a two-boot CRIU test, which defines guest_dump and
# guest_restore: vm_setup, vm_criu_setup, then the one the variable NAME says (dump or restore),
# finish.
vm_phase_main() {
	vm_setup
	vm_criu_setup
	case "${!1:-}" in
	dump) guest_dump ;;
	restore) guest_restore ;;
	*) die "$1 must be dump or restore" ;;
	esac
	finish
}

# ms_since START: the milliseconds since START (µs, ${EPOCHREALTIME/./}) as "N ms".
ms_since() { echo "$(((${EPOCHREALTIME/./} - $1) / 1000)) ms"; }

# wait_counter FILE MIN: until FILE holds "<id> <n>" with n >= MIN (at most ~30 s); prints it.
wait_counter() {
	local line=""
	for _ in $(seq 300); do
		line=$(cat "$1" 2>/dev/null)
		[ "${line##* }" -ge "$2" ] 2>/dev/null && break
		sleep 0.1
	done
	echo "$line"
}

# cap COMMAND...: run COMMAND with stdin from /dev/null, stdout/stderr to files, under a timeout.
# Sets OUT, ERR, RC, OUT_FILE, ERR_FILE.
cap() {
	NCALL=$((NCALL + 1))
	OUT_FILE=$VM_TMP/call$NCALL.out
	ERR_FILE=$VM_TMP/call$NCALL.err
	timeout -k 5 "$VM_CMD_TIMEOUT" "$@" </dev/null >"$OUT_FILE" 2>"$ERR_FILE"
	RC=$?
	OUT=$(cat "$OUT_FILE")
	ERR=$(cat "$ERR_FILE")
	printf '+ %s  -> %d\n' "$*" "$RC"
	if [ "$RC" -eq 124 ]; then
		printf '  (timed out after %ss)\n' "$VM_CMD_TIMEOUT"
	fi
	return 0
}

# ---------------------------------------------------------------- guest set-up

# vm_mount_cgroup2 [OPTIONS]: the guest's only cgroup hierarchy, v2, at /sys/fs/cgroup.
# shellcheck disable=SC2120 # OPTIONS are for the tests that want them (nsdelegate, ...)
vm_mount_cgroup2() {
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		return 0
	fi
	mkdir -p /sys/fs/cgroup
	mount -t cgroup2 ${1:+-o "$1"} none /sys/fs/cgroup
}

# vm_enable_controllers [CONTROLLER...]: enable controllers for the root's children (default:
# every controller the root offers). Returns non-zero if one could not be enabled.
# shellcheck disable=SC2120 # CONTROLLERs are for the tests that want them
vm_enable_controllers() {
	local c rc=0
	local -a want=("$@")
	if [ ${#want[@]} -eq 0 ]; then
		read -r -a want </sys/fs/cgroup/cgroup.controllers
	fi
	for c in "${want[@]}"; do
		if ! echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control; then
			info "cannot enable the $c controller"
			rc=1
		fi
	done
	return $rc
}

# vm_modprobe MODULE...: load modules (and their dependencies) from the unpacked kernel package.
vm_modprobe() {
	modprobe -d "$BERTH_VM_MODDIR" -a "$@"
}

vm_load_criu_modules() {
	vm_modprobe "${VM_CRIU_MODULES[@]}"
}

# vm_setup: stop unless this runs in the guest; a private temporary directory in $VM_TMP; cgroup2.
vm_setup() {
	if [ -z "${BERTH_VM_GUEST:-}" ]; then
		printf '%s: guest-lib.sh is for scripts run by tests/vm/run-vm.sh\n' "$TEST_NAME" >&2
		exit 2
	fi
	VM_TMP=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX") || die "mktemp failed"
	# shellcheck disable=SC2119
	vm_mount_cgroup2 || die "cannot mount cgroup2 at /sys/fs/cgroup"
	info "guest: kernel $(uname -r), $(nproc) CPU(s), $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"
}

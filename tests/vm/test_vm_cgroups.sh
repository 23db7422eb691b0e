#!/bin/bash
# tests/vm/test_vm_cgroups.sh: one boot of Debian's 6.1 kernel under QEMU (tests/vm/run-vm.sh)
# that proves with real workloads that the kernel enforces what berth writes on a pure cgroup v2
# tree (every container in linux.cgroupsPath "/berth-vm/<name>"):
#   1. a memory hog is OOM-killed at memory.max (32 MiB, no swap): `berth run` exits 137 and
#      memory.events counts the kill; a hog started with `berth exec -d` in a running container
#      makes `berth events --interval 1s` print {"type":"oom",...};
#   2. a fork loop stops at pids.max (20): "can't fork", at most 20 pids;
#   3. a busy loop under cpu.max "20000 100000" gets about 20% of the CPU (and far more once
#      `berth update --cpu-quota -1` lifts the quota);
#   4. linux.resources.blockIO.throttleReadBpsDevice becomes an io.max line (a brd ramdisk 1:0);
#   5. a device rule (eBPF on v2) after allow-all denies opening a bind-mounted /dev/ram0 (b 1:0)
#      while /dev/ram1 and /dev/null still work (a deny of /dev/zero, c 1:5, is overridden by the
#      default allows berth appends after the config's rules, as runc does: reported, not asserted);
#   6. `berth update --memory 48m --pids-limit 30` changes the live limits, seen from the guest
#      and from inside the container;
#   7. pause freezes the cgroup (cgroup.freeze, cgroup.events "frozen 1", a counter stops),
#      resume thaws it;
#   8. delete removes every container's cgroup.

# The same file runs twice: on the host (ctest: builds the bundles, boots the VM with this file as
# the guest's test) and in the guest (BERTH_VM_GUEST is set there).
# Host environment: BERTH (the binary, ctest sets it), BERTH_VM_DIR (prepare.sh's cache, default
# build/vm), BERTH_VM_KEEP=1 keeps the results directory. Exit: 0 pass, 1 fail, 2 VM error
# (stall, timeout, no status), 77 skipped (no root, no QEMU or kernel package).
set -uo pipefail

# Fixed guest paths (the guest's /run is a fresh tmpfs): the bundles' config.json refer to them.
G_DIR=/run/berth-vm-cgroups
G_ROOTFS=$G_DIR/rootfs
G_COUNTER=$G_DIR/counter
CG_PARENT=/berth-vm
MIB=1048576

# The memory hog: the shell that reads the command substitution grows until it is killed.
# shellcheck disable=SC2016 # expanded by the container's shell
HOG='x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "survived ${#x}"'

# bundle NAME JQ-FILTER [JQ-ARGS...]: $RESULTS/bundles/NAME/config.json from $BASE (JSON) with the
# cgroup /berth-vm/NAME.
bundle() {
	local name=$1 filter=$2
	shift 2
	mkdir -p "$RESULTS/bundles/$name"
	jq --arg cg "$CG_PARENT/$name" "$@" ".linux.cgroupsPath = \$cg | $filter" <<<"$BASE" \
		>"$RESULTS/bundles/$name/config.json" || { echo "FAIL: jq: bundle $name"; exit 1; }
}

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init cgroups

	# One busybox rootfs (read-only, shared by every container) and one bundle per container;
	# they go through the results share, the guest copies them to $G_DIR.
	bash "$repo/scripts/make-rootfs.sh" "$results/rootfs" || { echo "FAIL: make-rootfs.sh"; exit 1; }
	mkdir -p "$results/base" "$results/bundles"
	"$berth" spec -b "$results/base" || { echo "FAIL: berth spec"; exit 1; }
	RESULTS=$results
	BASE=$(jq --arg root "$G_ROOTFS" '
		.process.terminal = false
		| .root = {path: $root, readonly: true}' "$results/base/config.json") ||
		{ echo "FAIL: jq could not read config.json"; exit 1; }

	local sleeper='.process.args = ["sleep", "600"]'
	local mem32=".linux.resources.memory.limit = $((32 * MIB)) | .linux.resources.memory.swap = $((32 * MIB))"
	bundle oomrun ".process.args = [\"sh\", \"-c\", \$hog] | $mem32" --arg hog "$HOG"
	bundle oomev "$sleeper | $mem32"
	bundle pids "$sleeper | .linux.resources.pids.limit = 20"
	bundle cpu '.process.args = ["sh", "-c", "while :; do :; done"]
		| .linux.resources.cpu.quota = 20000 | .linux.resources.cpu.period = 100000'
	bundle io "$sleeper"' | .linux.resources.blockIO.throttleReadBpsDevice =
		[{major: 1, minor: 0, rate: 1048576}]'
	# /dev/ram0 and /dev/ram1 (brd, loaded by the guest) are bind-mounted in: the same kind of
	# node, only the rule differs. The deny of c 1:5 (/dev/zero) is overridden by the default
	# allows berth appends after linux.resources.devices, as runc does (runtime/devrules.c).
	local rams='[{destination: "/dev/ram0", type: "bind", source: "/dev/ram0", options: ["bind"]},
		{destination: "/dev/ram1", type: "bind", source: "/dev/ram1", options: ["bind"]}]'
	# shellcheck disable=SC2016 # $script is jq's
	bundle dev ".mounts += $rams"' | .process.args = ["sh", "-c", $script]
		| .linux.resources.devices = [{allow: true, access: "rwm"},
			{allow: false, type: "b", major: 1, minor: 0, access: "rwm"},
			{allow: false, type: "c", major: 1, minor: 5, access: "rwm"}]' --arg script \
		'test -b /dev/ram0 && echo ram0-exists
head -c 1 /dev/ram0 >/dev/null 2>&1 && echo ram0-readable
head -c 1 /dev/ram0 2>&1 >/dev/null
head -c 1 /dev/ram1 >/dev/null && echo ram1-readable
head -c 1 /dev/zero >/dev/null && echo zero-readable
echo x >/dev/null && echo null-writable
true'
	bundle upd "$sleeper | .linux.resources.memory.limit = $((64 * MIB)) | .linux.resources.pids.limit = 64"
	# shellcheck disable=SC2016 # expanded by the container's shell
	bundle counter '.process.args = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i >/out/c; sleep 0.1; done"]
		| .mounts += [{destination: "/out", type: "bind", source: $src, options: ["rbind", "rw"]}]' \
		--arg src "$G_COUNTER"

	vm_host_guest_berth
	vm_host_boot "" --timeout 540 --env "BERTH=$guest_berth" --env "BERTH_SRC=$repo"
	exit
}

# ---------------------------------------------------------------- in the guest

elapsed_since() { echo "$(((${EPOCHREALTIME/./} - $1) / 1000)) ms"; }

b() { "$BERTH" --root "$ROOT" "$@"; }
cgdir() { echo "/sys/fs/cgroup$CG_PARENT/$1"; }

# wait_for SECS CMD...: poll CMD every 0.2 s until it succeeds; fails after SECS.
# shellcheck disable=SC2317 # called through assert_true
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

status_of() { b state "$1" 2>/dev/null | jq -r .status; }

# kv FILE KEY: the value of KEY in a flat-keyed cgroup file (memory.events, cpu.stat, ...).
kv() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }

# run_detached NAME: start the container NAME in the background; dies if it does not run.
run_detached() {
	cap "$BERTH" --root "$ROOT" run -d -b "$G_DIR/bundles/$1" "$1"
	assert_ok "$1: berth run -d"
	[ "$RC" -eq 0 ] || die "$1: berth run -d failed: $ERR"
	assert_eq "$1: the container is running" running "$(status_of "$1")"
}

# delete_checked NAME: delete (killing it first) and check that the cgroup is gone.
delete_checked() {
	cap "$BERTH" --root "$ROOT" delete -f "$1"
	assert_ok "$1: berth delete -f"
	assert_false "$1: delete removed $(cgdir "$1")" test -e "$(cgdir "$1")"
}

# load_brd: two ramdisks, /dev/ram0 (b 1:0) and /dev/ram1 (b 1:1), for io.max and the device
# rules; sets BRD=1 when they are there.
BRD=""
load_brd() {
	local i
	if ! modprobe -d "$BERTH_VM_MODDIR" brd rd_nr=2 rd_size=8192; then
		info "cannot load brd from $BERTH_VM_MODDIR"
		return 0
	fi
	for i in 0 1; do
		if [ "$(cat /sys/block/ram$i/dev 2>/dev/null)" != "1:$i" ]; then
			info "brd loaded but ram$i is not 1:$i ($(cat /sys/block/ram$i/dev 2>&1))"
			return 0
		fi
		[ -b /dev/ram$i ] || mknod /dev/ram$i b 1 $i || return 0
	done
	BRD=1
}

# ---- 5. device rules: deny b 1:0 after allow-all
check_devices() {
	local cg
	cg=$(cgdir dev)
	if [ -z "$BRD" ]; then
		info "SKIP devices: no brd ramdisks"
		return 0
	fi
	cap "$BERTH" --root "$ROOT" run --keep -b "$G_DIR/bundles/dev" dev
	assert_ok "dev: berth run --keep"
	info "dev: output: $(tr '\n' '|' <<<"$OUT$ERR")"
	assert_contains "dev: /dev/ram0 (b 1:0) exists inside" "$OUT" ram0-exists
	assert_not_contains "dev: /dev/ram0 cannot be read (deny b 1:0 rwm)" "$OUT" ram0-readable
	assert_contains "dev: opening /dev/ram0 fails with EPERM" "$OUT" "/dev/ram0: Operation not permitted"
	assert_contains "dev: /dev/ram1 (b 1:1, not denied) can be read" "$OUT" ram1-readable
	assert_contains "dev: /dev/null is still writable (allow-all before the deny)" "$OUT" null-writable
	# Not asserted: berth appends runc's default allows (c 1:5 among them) after the config's
	# rules, so the config's deny of c 1:5 loses, as with runc.
	if [[ $OUT == *zero-readable* ]]; then
		info "dev: /dev/zero stays readable despite the deny of c 1:5 (default allows come last, as in runc)"
	else
		info "dev: /dev/zero is denied by the deny of c 1:5"
	fi
	assert_true "dev: the cgroup exists until delete" test -d "$cg"
	delete_checked dev
}

# ---- 4. io.max from blockIO.throttleReadBpsDevice
check_io() {
	local cg max
	cg=$(cgdir io)
	if [ -z "$BRD" ]; then
		info "SKIP io: no brd ramdisk 1:0"
		return 0
	fi
	run_detached io
	max=$(cat "$cg/io.max" 2>&1)
	info "io: io.max: $max"
	assert_contains "io: io.max has 1:0 rbps=1048576" "$max" "1:0 rbps=1048576"
	delete_checked io
}

# ---- 6. update changes live limits
check_update() {
	local cg
	cg=$(cgdir upd)
	run_detached upd
	assert_eq "upd: memory.max before update" $((64 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "upd: pids.max before update" 64 "$(cat "$cg/pids.max" 2>&1)"
	cap "$BERTH" --root "$ROOT" update --memory 48m --pids-limit 30 upd
	assert_ok "upd: berth update --memory 48m --pids-limit 30"
	assert_eq "upd: memory.max after update" $((48 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "upd: pids.max after update" 30 "$(cat "$cg/pids.max" 2>&1)"
	cap "$BERTH" --root "$ROOT" exec upd cat /sys/fs/cgroup/memory.max
	assert_ok "upd: exec cat memory.max"
	assert_eq "upd: inside, memory.max is the new limit" $((48 * MIB)) "$OUT"
	cap "$BERTH" --root "$ROOT" exec upd cat /sys/fs/cgroup/pids.max
	assert_ok "upd: exec cat pids.max"
	assert_eq "upd: inside, pids.max is the new limit" 30 "$OUT"
	delete_checked upd
}

# ---- 2. fork loop at pids.max 20
check_pids() {
	local cg started cur procs
	cg=$(cgdir pids)
	run_detached pids
	assert_eq "pids: pids.max" 20 "$(cat "$cg/pids.max" 2>&1)"
	# A fork failure makes busybox sh exit ("can't fork"); the sleeps it started stay behind.
	# shellcheck disable=SC2016 # expanded by the container's shell
	cap "$BERTH" --root "$ROOT" exec pids sh -c 'n=0; for i in $(seq 50); do sleep 30 >/dev/null 2>&1 & n=$((n+1)); echo "started $n"; done; echo loop-done'
	started=$(grep -c '^started ' <<<"$OUT")
	cur=$(cat "$cg/pids.current" 2>&1)
	procs=$(wc -l <"$cg/cgroup.procs")
	info "pids: exec exit $RC, $started sleeps started, pids.current $cur, $procs pids in cgroup.procs, pids.events: $(tr '\n' ' ' <"$cg/pids.events")"
	info "pids: exec stderr: $(tail -n 2 <<<"$ERR" | tr '\n' '|')"
	assert_ne "pids: the fork loop did not complete" 0 "$RC"
	assert_not_contains "pids: the loop never reached 50" "$OUT" loop-done
	assert_match "pids: the loop failed to fork" "can't fork|Resource temporarily unavailable" "$OUT$ERR"
	assert_true "pids: at most 20 sleeps started ($started)" test "$started" -le 20
	assert_true "pids: more than 10 sleeps started ($started): the loop really forked" test "$started" -gt 10
	assert_true "pids: pids.current <= 20 ($cur)" test "$cur" -le 20
	assert_true "pids: cgroup.procs has <= 20 pids ($procs)" test "$procs" -le 20
	assert_true "pids: pids.events counts the refused forks" test "$(kv "$cg/pids.events" max)" -ge 1
	delete_checked pids
}

# cpu_ratio CG SECS: used CPU time / wall time of CG over SECS (a decimal).
cpu_ratio() {
	local u0 u1 t0 t1
	u0=$(kv "$1/cpu.stat" usage_usec)
	t0=${EPOCHREALTIME/./}
	sleep "$2"
	u1=$(kv "$1/cpu.stat" usage_usec)
	t1=${EPOCHREALTIME/./}
	awk -v du=$((u1 - u0)) -v dt=$((t1 - t0)) 'BEGIN { printf "%.3f", du / dt }'
}

# shellcheck disable=SC2317 # called through assert_true
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

# ---- 3. busy loop under cpu.max 20000 100000
check_cpu() {
	local cg ratio free
	cg=$(cgdir cpu)
	run_detached cpu
	assert_eq "cpu: cpu.max" "20000 100000" "$(cat "$cg/cpu.max" 2>&1)"
	sleep 0.5
	ratio=$(cpu_ratio "$cg" 3)
	info "cpu: busy loop under a 20% quota used $ratio of one CPU over 3 s; cpu.stat: $(tr '\n' ' ' <"$cg/cpu.stat")"
	assert_true "cpu: the capped busy loop uses 10-35% of a CPU ($ratio)" in_range "$ratio" 0.10 0.35
	assert_true "cpu: the kernel throttled it" test "$(kv "$cg/cpu.stat" nr_throttled)" -ge 1
	# The control: without the quota the same loop takes most of the (only) CPU.
	cap "$BERTH" --root "$ROOT" update --cpu-quota -1 cpu
	assert_ok "cpu: berth update --cpu-quota -1"
	assert_eq "cpu: cpu.max without quota" "max 100000" "$(cat "$cg/cpu.max" 2>&1)"
	free=$(cpu_ratio "$cg" 2)
	info "cpu: without the quota the loop used $free of one CPU over 2 s"
	assert_true "cpu: without the quota the loop uses > 50% of a CPU ($free)" in_range "$free" 0.50 1.10
	delete_checked cpu
}

counter() { cat "$G_COUNTER/c" 2>/dev/null; }
# shellcheck disable=SC2317 # called through assert_true
counter_above() { local c; c=$(counter); [ -n "$c" ] && [ "$c" -gt "$1" ]; }

# ---- 7. pause / resume
check_pause() {
	local cg c0 c1 c2
	cg=$(cgdir counter)
	mkdir -p "$G_COUNTER"
	run_detached counter
	assert_true "counter: the counter runs" wait_for 30 counter_above 2
	cap "$BERTH" --root "$ROOT" pause counter
	assert_ok "counter: berth pause"
	assert_eq "counter: state says paused" paused "$(status_of counter)"
	assert_eq "counter: cgroup.freeze is 1" 1 "$(cat "$cg/cgroup.freeze" 2>&1)"
	assert_true "counter: cgroup.events says frozen 1" wait_for 10 grep -qx 'frozen 1' "$cg/cgroup.events"
	c0=$(counter)
	sleep 1
	c1=$(counter)
	info "counter: paused at $c0, 1 s later $c1"
	assert_eq "counter: the counter does not advance while paused" "$c0" "$c1"
	cap "$BERTH" --root "$ROOT" exec counter true
	assert_ne "counter: exec into the paused container is refused" 0 "$RC"
	cap "$BERTH" --root "$ROOT" resume counter
	assert_ok "counter: berth resume"
	assert_eq "counter: state says running" running "$(status_of counter)"
	assert_eq "counter: cgroup.freeze is 0" 0 "$(cat "$cg/cgroup.freeze" 2>&1)"
	assert_true "counter: cgroup.events says frozen 0" grep -qx 'frozen 0' "$cg/cgroup.events"
	assert_true "counter: the counter advances after resume" wait_for 10 counter_above "${c1:-0}"
	c2=$(counter)
	info "counter: after resume $c2"
	delete_checked counter
}

# ---- 1a. OOM kill through berth run
check_oom_run() {
	local cg ev
	cg=$(cgdir oomrun)
	cap "$BERTH" --root "$ROOT" run --keep -b "$G_DIR/bundles/oomrun" oomrun
	info "oomrun: exit $RC; stdout: $(head -c 200 <<<"$OUT"); stderr: $(head -c 300 <<<"$ERR")"
	assert_rc "oomrun: berth run exits 137 (SIGKILL by the OOM killer)" 137
	assert_not_contains "oomrun: the hog did not survive" "$OUT" survived
	assert_eq "oomrun: memory.max" $((32 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "oomrun: memory.swap.max (no swap)" 0 "$(cat "$cg/memory.swap.max" 2>&1)"
	ev=$(tr '\n' ' ' <"$cg/memory.events" 2>&1)
	info "oomrun: memory.events: $ev; memory.peak $(cat "$cg/memory.peak" 2>&1)"
	assert_true "oomrun: memory.events oom_kill >= 1" test "$(kv "$cg/memory.events" oom_kill)" -ge 1
	delete_checked oomrun
}

# shellcheck disable=SC2317 # called through assert_true
oom_killed() { local v; v=$(kv "$1/memory.events" oom_kill); [ "${v:-0}" -ge 1 ]; }

# ---- 1b. OOM kill of an exec'd hog reported by berth events
check_oom_events() {
	local cg evpid evout
	cg=$(cgdir oomev)
	evout=$VM_TMP/events.out
	run_detached oomev
	b events --interval 1s oomev >"$evout" 2>&1 </dev/null &
	evpid=$!
	assert_true "oomev: berth events prints a first stats event" \
		wait_for 30 grep -q '"type":"stats"' "$evout"
	cap "$BERTH" --root "$ROOT" exec -d oomev sh -c "$HOG"
	assert_ok "oomev: berth exec -d the hog"
	assert_true "oomev: memory.events oom_kill >= 1" wait_for 60 oom_killed "$cg"
	assert_true "oomev: berth events prints an oom event" wait_for 15 grep -q '"type":"oom"' "$evout"
	info "oomev: events: $(grep -c '"type":"stats"' "$evout") stats lines, oom line: $(grep '"type":"oom"' "$evout" | head -n 1)"
	info "oomev: last stats memory: $(grep '"type":"stats"' "$evout" | tail -n 1 | jq -c '.data.memory | {usage, raw: (.raw | with_entries(select(.key | test("oom|anon$"))))}' 2>&1)"
	assert_eq "oomev: the container (sleep 600) survives the hog's kill" running "$(status_of oomev)"
	kill "$evpid" 2>/dev/null
	wait "$evpid" 2>/dev/null
	delete_checked oomev
}

# section NAME: report the time the previous section took, and start NAME.
SECTION=""
SECTION_T=0
section() {
	[ -z "$SECTION" ] || info "$SECTION took $(elapsed_since "$SECTION_T")"
	SECTION=$1
	SECTION_T=${EPOCHREALTIME/./}
	[ "$1" = end ] || info "---- $1"
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	local t
	ROOT=$VM_TMP/state

	assert_true "every controller can be enabled for the root's children" vm_enable_controllers
	info "root cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	t=${EPOCHREALTIME/./}
	mkdir -p "$G_DIR" || die "mkdir $G_DIR"
	cp -a "$BERTH_VM_RESULTS/rootfs" "$G_ROOTFS" || die "cannot copy the rootfs"
	cp -a "$BERTH_VM_RESULTS/bundles" "$G_DIR/bundles" || die "cannot copy the bundles"
	info "bundles copied in $(elapsed_since "$t")"

	load_brd
	section io && check_io
	section devices && check_devices
	section update && check_update
	section pids && check_pids
	section cpu && check_cpu
	section pause && check_pause
	section oom-run && check_oom_run
	section oom-events && check_oom_events
	section end

	assert_eq "no container is left" "" "$(b list -q 2>/dev/null)"
	assert_eq "no container cgroup is left under $CG_PARENT" "" \
		"$(find "/sys/fs/cgroup$CG_PARENT" -mindepth 1 -type d 2>/dev/null)"
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

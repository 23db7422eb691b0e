#!/bin/bash
# tests/vm/test_vm_systemd.sh: the systemd cgroup driver (--systemd-cgroup) for real, in one boot
# with the host's systemd as the guest's PID 1 (run-vm.sh --systemd: cgroup v2 unified, a D-Bus
# system bus, nothing else of the host's units):
#   1. plain: an empty linux.cgroupsPath becomes unit berth-plain.scope in system.slice; its
#      limits (memory, pids, CPU quota and shares, cpuset) read back from the unit (`systemctl
#      show`) and from the cgroup files; the device rules as DevicePolicy=strict + DeviceAllow;
#      Delegate=yes; the init is in the scope's cgroup;
#   2. cri: "kubepods-burstable-pod123.slice:cri-containerd:abc" exactly as containerd's CRI sends
#      it: unit cri-containerd-abc.scope, the three missing slices made by systemd, nested by
#      the naming rule; `berth exec` runs in the scope; a second container on the same path is
#      refused (the unit name is the claim) and the first one left running;
#   3. update: `berth --systemd-cgroup update --memory --pids-limit --cpu-quota` changes the unit's
#      properties and the files;
#   4. pause / resume through the cgroup freezer;
#   5. delete: no unit, no cgroup left (after `kill`, already before delete); a malformed cgroupsPath is refused naming
#      linux.cgroupsPath (nothing left), so is `restore` (not supported yet); a failing createRuntime hook leaves no unit, no cgroup,
#      no state; `kill -9` of berth while a createRuntime hook runs (the unit exists) leaves no
#      unit once the init is gone, and `delete --force` the rest;
#   6. containerd 1.6 with the runc v2 shim options SystemdCgroup = true and BinaryName = berth
#      (`ctr run --runc-systemd-cgroup --runc-binary berth --cgroup slice:prefix:name`);
#   7. podman --cgroup-manager systemd --runtime berth runs a container (its scope in
#      machine.slice, as podman names it).
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (as test_vm_smoke.sh). Exit: 0 pass,
# 1 fail, 2 VM error, 77 skipped (no root, QEMU, kernel package, systemd, dbus, containerd or
# podman on the host).
set -uo pipefail

G_DIR=/run/berth-vm-systemd
MIB=1048576
NS="berth-vm"
IMG=localhost/berth-busybox:latest

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init systemd containerd ctr containerd-shim-runc-v2 podman conmon dbus-daemon systemctl
	[ -x /lib/systemd/systemd ] || { echo "SKIP: no /lib/systemd/systemd on the host"; exit 77; }

	bash "$repo/scripts/make-rootfs.sh" "$results/rootfs" >/dev/null || { echo "FAIL: make-rootfs.sh"; exit 1; }
	bash "$repo/scripts/make-oci-image.sh" "$results/busybox.tar" >/dev/null ||
		{ echo "FAIL: make-oci-image.sh"; exit 1; }
	mkdir -p "$results/base"
	"$berth" spec -b "$results/base" || { echo "FAIL: berth spec"; exit 1; }
	jq --arg root "$G_DIR/rootfs" '.process.terminal = false | .root = {path: $root, readonly: true}
		| .process.args = ["sleep", "600"]' "$results/base/config.json" >"$results/base.json" ||
		{ echo "FAIL: jq"; exit 1; }
	vm_host_guest_berth
	vm_host_boot "" --systemd --timeout 300 --stall 120 --env "BERTH=$guest_berth"
	exit
}

# ---------------------------------------------------------------- in the guest

b() { "$BERTH" --root "$ROOT" --systemd-cgroup "$@"; }
prop() { systemctl show -p "$2" --value "$1" 2>/dev/null; }
# shellcheck disable=SC2317 # called from gone, through assert_true
load_state() { prop "$1" LoadState; }
status_of() { b state "$1" 2>/dev/null | jq -r .status; }

# bundle NAME CGROUPS-PATH [JQ-FILTER [JQ-ARGS...]]: $G_DIR/NAME from the base config.
bundle() {
	local name=$1 path=$2 filter=${3:-.}
	shift 3 2>/dev/null || shift $#
	mkdir -p "$G_DIR/$name"
	jq --arg cg "$path" "$@" ".linux.cgroupsPath = \$cg | $filter" "$BERTH_VM_RESULTS/base.json" \
		>"$G_DIR/$name/config.json" || die "jq: bundle $name"
}

section() { info "---- $1"; }

# gone UNIT: the unit is not loaded any more (systemd forgot it), within ~10 s.
# shellcheck disable=SC2317 # called through assert_true
gone() {
	local s
	for _ in $(seq 50); do
		s=$(load_state "$1")
		[ "$s" = not-found ] && return 0
		sleep 0.2
	done
	echo "LoadState=$s ActiveState=$(prop "$1" ActiveState)" >&2
	return 1
}

check_plain() {
	local cg=/sys/fs/cgroup/system.slice/berth-plain.scope pid
	bundle plain "" ".linux.resources = {memory: {limit: $((64 * MIB))}, pids: {limit: 50},
		cpu: {quota: 12500, period: 50000, shares: 512, cpus: \"0\", mems: \"0\"}, blockIO: {weight: 500}}"
	cap "${B[@]}" run -d -b "$G_DIR/plain" plain
	assert_ok "plain: berth --systemd-cgroup run -d (empty cgroupsPath)"
	[ "$RC" -eq 0 ] || { info "stderr: $ERR"; return 0; }
	assert_eq "plain: running" running "$(status_of plain)"
	assert_eq "plain: unit berth-plain.scope is active" active "$(prop berth-plain.scope ActiveState)"
	assert_eq "plain: in system.slice" system.slice "$(prop berth-plain.scope Slice)"
	assert_eq "plain: Delegate=yes" yes "$(prop berth-plain.scope Delegate)"
	pid=$(b state plain | jq -r .pid)
	assert_eq "plain: the init's cgroup is the scope's" "0::/system.slice/berth-plain.scope" \
		"$(cat "/proc/$pid/cgroup" 2>&1)"
	assert_eq "plain: the record's cgroup path" /system.slice/berth-plain.scope \
		"$(jq -r .cgroupPath "$ROOT/plain/state.json" 2>/dev/null)"
	assert_eq "plain: unit MemoryMax" $((64 * MIB)) "$(prop berth-plain.scope MemoryMax)"
	assert_eq "plain: memory.max" $((64 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "plain: unit TasksMax" 50 "$(prop berth-plain.scope TasksMax)"
	assert_eq "plain: pids.max" 50 "$(cat "$cg/pids.max" 2>&1)"
	assert_eq "plain: unit CPUQuotaPerSecUSec (12500/50000)" 250ms "$(prop berth-plain.scope CPUQuotaPerSecUSec)"
	assert_eq "plain: unit CPUQuotaPeriodUSec" 50ms "$(prop berth-plain.scope CPUQuotaPeriodUSec)"
	assert_eq "plain: cpu.max" "12500 50000" "$(cat "$cg/cpu.max" 2>&1)"
	# runc's conversion: 1 + (512 - 2) * 9999 / 262142 = 20
	assert_eq "plain: unit CPUWeight (shares 512)" 20 "$(prop berth-plain.scope CPUWeight)"
	assert_eq "plain: cpu.weight" 20 "$(cat "$cg/cpu.weight" 2>&1)"
	assert_eq "plain: unit AllowedCPUs" 0 "$(prop berth-plain.scope AllowedCPUs)"
	assert_eq "plain: cpuset.cpus" 0 "$(cat "$cg/cpuset.cpus" 2>&1)"
	# blkio weight 500 -> 1 + (500 - 10) * 9999 / 990 = 4950
	assert_eq "plain: unit IOWeight (blkio weight 500)" 4950 "$(prop berth-plain.scope IOWeight)"
	info "plain: io.weight: $(tr '\n' ' ' <"$cg/io.weight" 2>&1)"
	# The device rules (runc's default: deny all, then the usual nodes) as systemd's own program too.
	assert_eq "plain: unit DevicePolicy" strict "$(prop berth-plain.scope DevicePolicy)"
	assert_contains "plain: unit DeviceAllow has /dev/null" "$(prop berth-plain.scope DeviceAllow)" "/dev/char/1:3 rwm"
	assert_contains "plain: unit DeviceAllow has the pts major by name" "$(prop berth-plain.scope DeviceAllow)" "char-pts rwm"
	cap "${B[@]}" exec plain sh -c 'echo x >/dev/null && head -c 1 /dev/urandom >/dev/null && echo dev-ok; head -c 1 /dev/mem 2>&1 >/dev/null'
	assert_contains "plain: /dev/null and /dev/urandom work under both device programs" "$OUT" dev-ok
}

check_update() {
	local cg=/sys/fs/cgroup/system.slice/berth-plain.scope
	cap "${B[@]}" update --memory $((96 * MIB)) --pids-limit 80 --cpu-quota 25000 plain
	assert_ok "update: berth --systemd-cgroup update"
	assert_eq "update: unit MemoryMax" $((96 * MIB)) "$(prop berth-plain.scope MemoryMax)"
	assert_eq "update: memory.max" $((96 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "update: unit TasksMax" 80 "$(prop berth-plain.scope TasksMax)"
	assert_eq "update: pids.max" 80 "$(cat "$cg/pids.max" 2>&1)"
	# a quota alone keeps the container's 50 ms period, in the unit as in cpu.max
	assert_eq "update: unit CPUQuotaPerSecUSec (25000 per 50 ms)" 500ms "$(prop berth-plain.scope CPUQuotaPerSecUSec)"
	assert_eq "update: cpu.max" "25000 50000" "$(cat "$cg/cpu.max" 2>&1)"
}

check_pause() {
	local cg=/sys/fs/cgroup/system.slice/berth-plain.scope
	cap "${B[@]}" pause plain
	assert_ok "pause"
	assert_eq "pause: paused" paused "$(status_of plain)"
	assert_eq "pause: cgroup.freeze" 1 "$(cat "$cg/cgroup.freeze" 2>&1)"
	cap "${B[@]}" resume plain
	assert_ok "resume"
	assert_eq "resume: running" running "$(status_of plain)"
	assert_eq "resume: cgroup.freeze" 0 "$(cat "$cg/cgroup.freeze" 2>&1)"
}

check_cri() {
	local cg=/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice
	bundle cri "kubepods-burstable-pod123.slice:cri-containerd:abc" ".linux.resources.memory.limit = $((32 * MIB))"
	assert_false "cri: the slices do not exist before" test -e /sys/fs/cgroup/kubepods.slice
	cap "${B[@]}" create -b "$G_DIR/cri" cri
	assert_ok "cri: create with containerd's CRI cgroupsPath"
	[ "$RC" -eq 0 ] || { info "stderr: $ERR"; return 0; }
	cap "${B[@]}" start cri
	assert_ok "cri: start"
	assert_eq "cri: unit cri-containerd-abc.scope active" active "$(prop cri-containerd-abc.scope ActiveState)"
	assert_eq "cri: its slice" kubepods-burstable-pod123.slice "$(prop cri-containerd-abc.scope Slice)"
	assert_eq "cri: the pod slice was made" active "$(prop kubepods-burstable-pod123.slice ActiveState)"
	assert_true "cri: nested cgroup directories a.slice/a-b.slice/a-b-c.slice/unit.scope" test -d "$cg/cri-containerd-abc.scope"
	assert_eq "cri: memory.max there" $((32 * MIB)) "$(cat "$cg/cri-containerd-abc.scope/memory.max" 2>&1)"
	assert_eq "cri: unit MemoryMax" $((32 * MIB)) "$(prop cri-containerd-abc.scope MemoryMax)"
	cap "${B[@]}" exec cri sh -c 'echo exec-ok'
	assert_eq "cri: exec runs" exec-ok "$OUT"
	cap "${B[@]}" ps --format json cri
	assert_match "cri: ps lists the init and nothing more" '^\[[0-9]+\]$' "$OUT"
	# The unit's name is the claim: a second container on the same cgroupsPath is refused and
	# the first one is left alone (its unit is not stopped by the failed create).
	bundle cri2 "kubepods-burstable-pod123.slice:cri-containerd:abc"
	cap "${B[@]}" create -b "$G_DIR/cri2" cri2
	assert_rc "cri: a second container on the same path is refused" 1
	assert_contains "cri: the error names the unit" "$ERR" cri-containerd-abc.scope
	assert_false "cri: no state of the refused one" test -e "$ROOT/cri2"
	assert_eq "cri: the first one's unit is still active" active "$(prop cri-containerd-abc.scope ActiveState)"
	assert_eq "cri: the first one still runs" running "$(status_of cri)"
}

check_delete() {
	cap "${B[@]}" delete -f plain
	assert_ok "delete -f plain"
	assert_true "delete: berth-plain.scope is gone" gone berth-plain.scope
	assert_false "delete: its cgroup is gone" test -e /sys/fs/cgroup/system.slice/berth-plain.scope
	cap "${B[@]}" kill cri KILL
	assert_ok "kill cri KILL"
	assert_true "kill: the emptied cri-containerd-abc.scope is stopped and gone before delete" gone cri-containerd-abc.scope
	cap "${B[@]}" delete cri
	assert_ok "delete cri (stopped)"
	assert_true "delete: cri-containerd-abc.scope is gone" gone cri-containerd-abc.scope
	assert_false "delete: its cgroup is gone" test -e \
		/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice/cri-containerd-abc.scope
}

check_bad_path() {
	bundle badpath "system.slice/x:berth:bad"
	cap "${B[@]}" create -b "$G_DIR/badpath" badpath
	assert_rc "bad path: refused" 1
	assert_contains "bad path: names linux.cgroupsPath" "$ERR" linux.cgroupsPath
	assert_false "bad path: no state left" test -e "$ROOT/badpath"
	bundle badpath2 "only:two"
	cap "${B[@]}" create -b "$G_DIR/badpath2" badpath2
	assert_rc "two fields: refused" 1
	assert_contains "two fields: says the form" "$ERR" "slice:prefix:name"
	# restore does not make a unit yet: refused clearly, nothing left.
	mkdir -p "$G_DIR/img" && : >"$G_DIR/img/inventory.img"
	cap "${B[@]}" restore --image-path "$G_DIR/img" -b "$G_DIR/plain" restored
	assert_rc "restore with --systemd-cgroup: refused" 1
	assert_contains "restore: says why" "$ERR" "--systemd-cgroup: restore into a systemd unit is not supported"
	assert_false "restore: no state left" test -e "$ROOT/restored"
}

check_failing_hook() {
	bundle hookfail "" '.hooks.createRuntime = [{path: "/bin/false"}]'
	cap "${B[@]}" create -b "$G_DIR/hookfail" hookfail
	assert_rc "failing createRuntime hook: create fails" 1
	assert_true "failing hook: berth-hookfail.scope is gone" gone berth-hookfail.scope
	assert_false "failing hook: no cgroup left" test -e /sys/fs/cgroup/system.slice/berth-hookfail.scope
	assert_false "failing hook: no state left" test -e "$ROOT/hookfail"
}

# kill -9 of berth while its createRuntime hook runs: the unit exists, the init waits.
check_killed_create() {
	local pid hookpid=""
	bundle killed "" '.hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", "echo $$ >/run/berth-vm-systemd/hook.pid; exec sleep 60"]}]'
	rm -f "$G_DIR/hook.pid"
	b create -b "$G_DIR/killed" killed >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 150); do
		[ -s "$G_DIR/hook.pid" ] && break
		sleep 0.2
	done
	hookpid=$(cat "$G_DIR/hook.pid" 2>/dev/null)
	assert_eq "killed: the unit exists while the hook runs" active "$(prop berth-killed.scope ActiveState)"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	[ -z "$hookpid" ] || kill -9 "$hookpid" 2>/dev/null
	assert_true "killed: berth-killed.scope is gone once berth is killed (the init dies with it)" gone berth-killed.scope
	assert_false "killed: its cgroup is gone" test -e /sys/fs/cgroup/system.slice/berth-killed.scope
	cap "${B[@]}" delete -f killed
	assert_ok "killed: delete -f"
	assert_false "killed: no state left" test -e "$ROOT/killed"
}

check_containerd() {
	local ct=$VM_TMP/ctrd sock id=ctrsd cg
	sock=$ct/containerd.sock
	# shellcheck source=tests/lib/containerd.sh
	. "$(dirname "${BASH_SOURCE[0]}")/../lib/containerd.sh"
	ctrd_start "$ct" "$sock"
	ctrd_wait "$sock" 120 || { tail -n 5 "$ct/containerd.log"; fail "containerd did not come up"; return 0; }
	cap ctr -a "$sock" -n "$NS" images import "$BERTH_VM_RESULTS/busybox.tar"
	assert_ok "containerd: image import"
	# runc v2 shim options {BinaryName: berth, SystemdCgroup: true}, as a kubeadm node has them.
	cap ctr -a "$sock" -n "$NS" run --rm --runc-binary "$BERTH" --runc-systemd-cgroup \
		--cgroup "kubepods-besteffort-pod9.slice:cri-containerd:$id" --fifo-dir "$ct/fifo" "$IMG" "$id" \
		sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max 2>/dev/null; echo ctr-ok'
	assert_ok "containerd: ctr run --runc-systemd-cgroup --runc-binary berth"
	assert_contains "containerd: the container ran" "$OUT" ctr-ok
	[ "$RC" -eq 0 ] || info "stderr: $ERR; containerd log: $(grep -i error "$ct/containerd.log" | tail -n 3)"
	assert_true "containerd: its unit is gone after --rm" gone "cri-containerd-$id.scope"
	cg=/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice
	assert_false "containerd: its cgroup is gone" test -e "$cg/cri-containerd-$id.scope"
	# A running one: the scope is there while it runs.
	cap ctr -a "$sock" -n "$NS" run -d --runc-binary "$BERTH" --runc-systemd-cgroup \
		--cgroup "kubepods-besteffort-pod9.slice:cri-containerd:${id}2" --fifo-dir "$ct/fifo" "$IMG" "${id}2" sleep 600
	assert_ok "containerd: ctr run -d"
	assert_eq "containerd: its unit is active" active "$(prop "cri-containerd-${id}2.scope" ActiveState)"
	cap ctr -a "$sock" -n "$NS" task kill -s KILL "${id}2"
	sleep 1
	cap ctr -a "$sock" -n "$NS" task delete -f "${id}2"
	cap ctr -a "$sock" -n "$NS" containers delete "${id}2"
	assert_true "containerd: unit gone after task delete" gone "cri-containerd-${id}2.scope"
	ctrd_stop
}

check_podman() {
	local pm=$VM_TMP/pm rt
	mkdir -p "$pm/tmp"
	rt=$pm/berth-rt
	# podman does not pass its --runtime-flag to every call: the wrapper adds --root (and logs the
	# calls, to show that podman itself asks for --systemd-cgroup).
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>%q\nexec %q --root %q "$@"\n' "$pm/argv.log" "$BERTH" "$pm/berth-root" >"$rt"
	chmod 0755 "$rt"
	printf '[engine]\ncgroup_manager = "systemd"\nevents_logger = "file"\nevents_logfile_path = "%s"\ntmp_dir = "%s"\n' \
		"$pm/events.log" "$pm/tmp" >"$pm/containers.conf"
	printf '[storage]\ndriver = "vfs"\nrunroot = "%s"\ngraphroot = "%s"\n' "$pm/runroot" "$pm/root" >"$pm/storage.conf"
	CONTAINERS_CONF=$pm/containers.conf CONTAINERS_STORAGE_CONF=$pm/storage.conf \
		cap podman --root "$pm/root" --runroot "$pm/runroot" --cgroup-manager systemd --runtime "$rt" \
		run --rm --network none --rootfs "$G_DIR/rootfs" sh -c 'cat /proc/self/cgroup; echo podman-ok'
	assert_ok "podman --cgroup-manager systemd --runtime berth run --rm"
	assert_contains "podman: the container ran" "$OUT" podman-ok
	[ "$RC" -eq 0 ] || info "stderr: $(tail -c 600 <<<"$ERR")"
	assert_contains "podman: berth got --systemd-cgroup" "$(cat "$pm/argv.log" 2>/dev/null)" "--systemd-cgroup"
	assert_eq "podman: no libpod scope left" "" \
		"$(systemctl list-units --all --no-legend 'libpod-*.scope' 2>/dev/null | grep -v conmon)"
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	if [ "${BERTH_VM_INIT:-}" != systemd ] || [ "$(cat /proc/1/comm)" != systemd ]; then
		die "PID 1 is $(cat /proc/1/comm), not systemd (run-vm.sh --systemd)"
	fi
	info "systemd $(systemctl --version | awk 'NR == 1 { print $2 }') as PID 1; root controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	ROOT=$VM_TMP/root
	B=("$BERTH" --root "$ROOT" --systemd-cgroup)
	mkdir -p "$G_DIR"
	cp -a "$BERTH_VM_RESULTS/rootfs" "$G_DIR/rootfs" || die "cannot copy the rootfs"

	section plain && check_plain
	section update && check_update
	section pause && check_pause
	section cri && check_cri
	section delete && check_delete
	section bad-path && check_bad_path
	section failing-hook && check_failing_hook
	section killed-create && check_killed_create
	section containerd && check_containerd
	section podman && check_podman
	section end

	assert_eq "no container is left" "" "$(b list -q 2>/dev/null)"
	assert_eq "no berth or cri-containerd scope is left" "" \
		"$(systemctl list-units --all --no-legend 'berth-*.scope' 'cri-containerd-*.scope' 2>/dev/null)"
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

#!/bin/bash
# tests/vm/test_vm_rootless.sh: a rootless container with a memory limit in the cgroup systemd
# delegates to the user, in one boot with the host's systemd as PID 1 (run-vm.sh --systemd, pure
# cgroup v2). The host's own cgroups are hybrid, so only here can a rootless limit be real.
#   1. a throwaway user (its /etc/subuid and /etc/subgid lines) and its systemd instance
#      (user@UID.service, Delegate=yes): its subtree is owned by the user;
#   2. the user runs `berth run -d` inside a scope of its own instance (`systemd-run --user
#      --scope`, as a desktop session's shell is): the container's cgroup is made below the
#      user's delegated app.slice, owned by the user, with memory.max = the config's limit and
#      pids.max, read back as root from the kernel's files; the init is in it; no berth state
#      or cgroup belongs to root;
#   3. a process that allocates past a 32 MiB limit is OOM-killed there (memory.events) while
#      the container's init runs on;
#   4. update by the user changes memory.max; pause/resume freezes the user's cgroup;
#   5. a limit with an absolute cgroupsPath outside the delegated tree is refused naming the
#      field, and leaves no state;
#   6. delete: no cgroup, no state dir left;
#   7. --systemd-cgroup as the user: the container is a scope unit of the user's own instance
#      (runc's rootless systemd driver): an empty cgroupsPath becomes berth-ID.scope in the
#      instance's user.slice, its MemoryMax (systemctl --user show) and memory.max are the
#      limit, update changes both, delete leaves no unit and no cgroup.
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (as test_vm_smoke.sh). Exit: 0 pass,
# 1 fail, 2 VM error, 77 skipped (no root, QEMU, kernel package or systemd on the host).
set -uo pipefail

TUSER=berthvmuser
TUID=1771
MIB=1048576

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init rootless systemctl systemd-run runuser newuidmap dbus-daemon
	[ -x /lib/systemd/systemd ] || { echo "SKIP: no /lib/systemd/systemd on the host"; exit 77; }
	[ -e /usr/lib/systemd/user/dbus.socket ] ||
		{ echo "SKIP: no user D-Bus (dbus-user-session) on the host"; exit 77; }
	bash "$repo/scripts/make-rootfs.sh" "$results/rootfs" >/dev/null || { echo "FAIL: make-rootfs.sh"; exit 1; }
	cp "$berth" "$results/berth" || exit 1
	if [ -e "$(dirname "$berth")/berth-ext" ]; then cp "$(dirname "$berth")/berth-ext" "$results/berth-ext"; fi
	vm_host_boot "" --systemd --timeout 300 --stall 120
	exit
}

# ---------------------------------------------------------------- in the guest

# UB: berth as the test user, in a new scope of its systemd instance (as a desktop session's
# shell is), with the session's environment; `cap "${UB[@]}" ARGS...` (set by guest_main).
UB=()
ub() { "${UB[@]}" "$@"; }

ROOT_OF_USER=/run/user/$TUID/berth

# cg_of ID: the container's cgroup directory, from the user's state record.
cg_of() { echo "/sys/fs/cgroup$(jq -r .cgroupPath "$ROOT_OF_USER/$1/state.json" 2>/dev/null)"; }

make_user() {
	useradd -m -u "$TUID" -s /bin/sh "$TUSER" || die "useradd"
	echo "$TUSER:200000:65536" >>/etc/subuid
	echo "$TUSER:200000:65536" >>/etc/subgid
	systemctl start "user@$TUID.service" || {
		systemctl status --no-pager "user@$TUID.service" 2>&1 | tail -20
		die "user@$TUID.service did not start"
	}
	for _ in $(seq 100); do
		[ -S "/run/user/$TUID/bus" ] && break
		sleep 0.2
	done
	local svc=/sys/fs/cgroup/user.slice/user-$TUID.slice/user@$TUID.service
	assert_eq "the user's instance is active" active "$(systemctl is-active "user@$TUID.service")"
	assert_eq "its cgroup is delegated: owned by the user" "$TUID" "$(stat -c %u "$svc" 2>&1)"
	assert_true "its session bus is up" test -S "/run/user/$TUID/bus"
	info "user@$TUID.service subtree_control: $(cat "$svc/cgroup.subtree_control")"
}

# bundle NAME JQ-FILTER: /home/USER/NAME from `berth spec --rootless` run by the user.
bundle() {
	local dir=/home/$TUSER/$1
	runuser -u "$TUSER" -- mkdir -p "$dir" || die "mkdir $dir"
	runuser -u "$TUSER" -- "$BIN/berth" spec --rootless -b "$dir" || die "berth spec --rootless"
	runuser -u "$TUSER" -- sh -c "jq '.root = {path: \"/home/$TUSER/rootfs\", readonly: true}
		| .process.terminal = false | $2' $dir/config.json >$dir/c.json && mv $dir/c.json $dir/config.json" ||
		die "jq: bundle $1"
}

check_limits() {
	bundle lim ".process.args = [\"sleep\", \"600\"]
		| .linux.resources = {memory: {limit: $((64 * MIB))}, pids: {limit: 40}}"
	cap "${UB[@]}" run -d -b "/home/$TUSER/lim" lim
	assert_ok "the user runs a container with a memory limit"
	[ "$RC" -eq 0 ] || { info "stderr: $ERR"; return 0; }
	assert_not_contains "no warning that cgroups are skipped" "$ERR" "cgroups skipped"
	local cg pid
	cg=$(cg_of lim)
	pid=$(jq -r .pid "$ROOT_OF_USER/lim/state.json")
	info "the container's cgroup: $cg"
	assert_true "the state is the user's (owned by uid $TUID)" test "$(stat -c %u "$ROOT_OF_USER/lim")" = "$TUID"
	assert_contains "the cgroup is below the user's delegated tree" "$cg" \
		"/user.slice/user-$TUID.slice/user@$TUID.service/"
	assert_eq "the cgroup is owned by the user" "$TUID" "$(stat -c %u "$cg" 2>&1)"
	assert_eq "memory.max is the config's limit" $((64 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "pids.max is the config's limit" 40 "$(cat "$cg/pids.max" 2>&1)"
	assert_eq "the init is in that cgroup" "0::${cg#/sys/fs/cgroup}" "$(cat "/proc/$pid/cgroup" 2>&1)"
	assert_eq "the init runs as the user on the host" "$TUID" "$(stat -c %u "/proc/$pid")"

	cap "${UB[@]}" update --memory $((48 * MIB)) lim
	assert_ok "the user updates the memory limit"
	assert_eq "memory.max after update" $((48 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	cap "${UB[@]}" pause lim
	assert_ok "the user pauses the container"
	assert_eq "cgroup.freeze after pause" 1 "$(cat "$cg/cgroup.freeze" 2>&1)"
	cap "${UB[@]}" resume lim
	assert_ok "the user resumes it"
	assert_eq "cgroup.freeze after resume" 0 "$(cat "$cg/cgroup.freeze" 2>&1)"
	CG_LIM=$cg
}

check_oom() {
	bundle oom ".process.args = [\"sleep\", \"600\"] | .linux.resources = {memory: {limit: $((32 * MIB)), swap: $((32 * MIB))}}"
	cap "${UB[@]}" run -d -b "/home/$TUSER/oom" oom
	assert_ok "a container with a 32 MiB limit"
	[ "$RC" -eq 0 ] || { info "stderr: $ERR"; return 0; }
	local cg
	cg=$(cg_of oom)
	# tail looks for a newline in /dev/zero: it allocates until something stops it.
	cap "${UB[@]}" exec oom tail /dev/zero
	assert_true "the allocating process is killed (exit $RC)" test "$RC" -eq 137
	# shellcheck disable=SC2016 # awk's fields
	assert_true "memory.events counts an OOM kill" \
		awk '$1 == "oom_kill" && $2 >= 1 { ok = 1 } END { exit !ok }' "$cg/memory.events"
	assert_eq "the container's init runs on" running "$(ub state oom 2>/dev/null | jq -r .status)"
	cap "${UB[@]}" delete --force oom
	assert_ok "delete --force the OOM container"
	assert_false "its cgroup is gone" test -e "$cg"
}

check_refused() {
	bundle outside ".process.args = [\"true\"] | .linux.cgroupsPath = \"/system.slice/berth-not-mine\"
		| .linux.resources = {memory: {limit: $((64 * MIB))}}"
	cap "${UB[@]}" run -b "/home/$TUSER/outside" outside
	assert_true "a limit in a cgroup outside the delegated tree is refused (exit $RC)" test "$RC" -ne 0
	assert_contains "the error names the field" "$ERR" "linux.resources.memory"
	assert_false "no state is left" test -e "$ROOT_OF_USER/outside"
	assert_false "no cgroup is made there" test -e /sys/fs/cgroup/system.slice/berth-not-mine
}

check_delete() {
	cap "${UB[@]}" kill lim KILL
	assert_ok "the user kills the container"
	cap "${UB[@]}" delete --force lim
	assert_ok "the user deletes it"
	assert_false "its cgroup is gone" test -e "$CG_LIM"
	assert_false "its state dir is gone" test -e "$ROOT_OF_USER/lim"
	assert_eq "no container is left" "" "$(ub list -q 2>/dev/null)"
	assert_eq "no berth cgroup is left in the user's tree" "" \
		"$(find "/sys/fs/cgroup/user.slice/user-$TUID.slice" -name 'berth-*' -type d 2>/dev/null)"
}

# uprop UNIT PROPERTY: a property of a unit of the user's instance.
uprop() {
	runuser -u "$TUSER" -- env XDG_RUNTIME_DIR="/run/user/$TUID" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$TUID/bus" systemctl --user show -p "$2" --value "$1" 2>/dev/null
}

check_systemd_driver() {
	local unit=berth-sdu.scope cg
	cg=/sys/fs/cgroup/user.slice/user-$TUID.slice/user@$TUID.service/user.slice/$unit
	bundle sdu ".process.args = [\"sleep\", \"600\"] | .linux.resources = {memory: {limit: $((40 * MIB))}, pids: {limit: 30}}"
	cap "${UB[@]}" --systemd-cgroup run -d -b "/home/$TUSER/sdu" sdu
	assert_ok "the user runs a container with --systemd-cgroup"
	[ "$RC" -eq 0 ] || { info "stderr: $ERR"; return 0; }
	assert_eq "the unit is active in the user's instance" active "$(uprop "$unit" ActiveState)"
	assert_eq "in the instance's user.slice" user.slice "$(uprop "$unit" Slice)"
	assert_eq "the unit's MemoryMax" $((40 * MIB)) "$(uprop "$unit" MemoryMax)"
	assert_eq "the unit's TasksMax" 30 "$(uprop "$unit" TasksMax)"
	assert_eq "the record's cgroup is the unit's" "${cg#/sys/fs/cgroup}" \
		"$(jq -r .cgroupPath "$ROOT_OF_USER/sdu/state.json" 2>/dev/null)"
	assert_eq "memory.max" $((40 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	local pid
	pid=$(jq -r .pid "$ROOT_OF_USER/sdu/state.json")
	assert_eq "the init is in the unit's cgroup" "0::${cg#/sys/fs/cgroup}" "$(cat "/proc/$pid/cgroup" 2>&1)"
	cap "${UB[@]}" --systemd-cgroup update --memory $((56 * MIB)) sdu
	assert_ok "update through the user's instance"
	assert_eq "the unit's MemoryMax after update" $((56 * MIB)) "$(uprop "$unit" MemoryMax)"
	assert_eq "memory.max after update" $((56 * MIB)) "$(cat "$cg/memory.max" 2>&1)"
	cap "${UB[@]}" --systemd-cgroup delete --force sdu
	assert_ok "delete --force"
	assert_false "no cgroup is left" test -e "$cg"
	assert_true "no unit is left" wait_unit_gone "$unit"
}

# wait_unit_gone UNIT: the user's instance forgot UNIT, within ~10 s.
# shellcheck disable=SC2317 # called through assert_true
wait_unit_gone() {
	for _ in $(seq 50); do
		[ "$(uprop "$1" LoadState)" = not-found ] && return 0
		sleep 0.2
	done
	return 1
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	# The test's files under /tmp were gone once the user's instance had started (seen in the
	# first run; /tmp stayed the same tmpfs): keep them off /tmp.
	VM_TMP=/var/lib/berth-vm-rootless
	mkdir -p "$VM_TMP"
	if [ "${BERTH_VM_INIT:-}" != systemd ] || [ "$(cat /proc/1/comm)" != systemd ]; then
		die "PID 1 is $(cat /proc/1/comm), not systemd (run-vm.sh --systemd)"
	fi
	BIN=/usr/local/libexec/berth-vm
	mkdir -p "$BIN"
	cp "$BERTH_VM_RESULTS/berth" "$BIN/berth" || die "copy berth"
	if [ -e "$BERTH_VM_RESULTS/berth-ext" ]; then cp "$BERTH_VM_RESULTS/berth-ext" "$BIN/berth-ext"; fi
	chmod 755 "$BIN" "$BIN"/*
	UB=(runuser -u "$TUSER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$TUSER"
		XDG_RUNTIME_DIR="/run/user/$TUID" DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$TUID/bus"
		systemd-run --user --scope --quiet -p Delegate=yes -- "$BIN/berth")
	make_user
	cp -a "$BERTH_VM_RESULTS/rootfs" "/home/$TUSER/rootfs" || die "copy the rootfs"
	chown -R "$TUSER:" "/home/$TUSER/rootfs"

	check_limits
	check_oom
	check_refused
	check_delete
	check_systemd_driver
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

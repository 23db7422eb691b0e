#!/bin/bash
# tests/vm/test_vm_smoke.sh: one boot of Debian's 6.1 kernel under QEMU (tests/vm/run-vm.sh) that
# checks the VM layer itself and what berth does on a pure cgroup v2 system today:
#   - the kernel is 6.1, cgroup2 offers the memory controller, the CRIU modules load and
#     `criu check` passes;
#   - a busybox container with linux.cgroupsPath "/berth-vm/c1" and a 64 MiB memory limit gets
#     the cgroup /sys/fs/cgroup/berth-vm/c1 (its init inside), sees that cgroup as / (cgroup
#     namespace and cgroup2 mount), and delete removes it;
#   - the kernel enforces linux.resources there: memory.max, memory.swap.max (runc's memory+swap
#     conversion), pids.max, cpu.weight (from shares) and cpu.max are read back, then
#     `berth update` changes memory.max and pids.max, and the container sees its new limit;
#   - a "cgroup" mount shows the container its own cgroup and nothing of the host's tree, with a
#     cgroup namespace (a cgroup2 mount) and without one (a bind of its own directory).

# The same file runs twice: on the host (ctest: builds the bundle, boots the VM with this file as
# the guest's test) and in the guest (BERTH_VM_GUEST is set there).
# Host environment: BERTH (the binary, ctest sets it), BERTH_VM_DIR (prepare.sh's cache, default
# build/vm), BERTH_VM_KEEP=1 keeps the results directory. Exit: 0 pass, 1 fail, 2 VM error
# (stall, timeout, no status), 77 skipped (no root, no QEMU or kernel package).
set -uo pipefail

CG_PATH=/berth-vm/c1
MEM_LIMIT=67108864

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init smoke

	# The bundle goes through the results share; the guest copies it to its tmpfs.
	vm_host_busybox_bundle
	# shellcheck disable=SC2016 # expanded by the container's shell
	local script='echo "cgroup=$(cat /proc/self/cgroup)"
echo "cgroupfs=$(stat -f -c %t /sys/fs/cgroup)"
echo "procs=$(ls /sys/fs/cgroup/cgroup.procs)"
echo "memory.max=$(cat /sys/fs/cgroup/memory.max 2>&1)"
echo "subdirs=$(find /sys/fs/cgroup -mindepth 1 -type d | xargs)"'
	# shellcheck disable=SC2016 # a jq filter
	vm_host_edit_config --arg cg "$CG_PATH" --argjson mem "$MEM_LIMIT" --arg script "$script" '
		.process.terminal = false
		| .process.args = ["sh", "-c", $script]
		| .linux.cgroupsPath = $cg
		| .linux.resources.memory.limit = $mem
		| .linux.resources.memory.swap = ($mem * 2)
		| .linux.resources.pids.limit = 64
		| .linux.resources.cpu.shares = 1024
		| .linux.resources.cpu.quota = 50000
		| .linux.resources.cpu.period = 100000'

	vm_host_guest_berth
	vm_host_boot "" --timeout 540 --env "BERTH=$guest_berth" --env "BERTH_SRC=$repo"
	exit
}

# ---------------------------------------------------------------- in the guest

elapsed_since() { echo "$(((${EPOCHREALTIME/./} - $1) / 1000)) ms"; }

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	local t controllers subtree root bundle cg pid out status i

	assert_match "the guest runs Debian's 6.1 kernel" '^6\.1\.' "$(uname -r)"

	controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
	info "cgroup2 controllers: $controllers"
	assert_match "cgroup2 offers the memory controller" '(^| )memory( |$)' "$controllers"
	assert_true "every controller can be enabled for the root's children" vm_enable_controllers
	subtree=$(cat /sys/fs/cgroup/cgroup.subtree_control)
	assert_match "memory is in the root's cgroup.subtree_control" '(^| )memory( |$)' "$subtree"
	assert_eq "cgroup2 is the only cgroup hierarchy" "" "$(awk '$3 == "cgroup"' /proc/mounts)"

	t=${EPOCHREALTIME/./}
	assert_true "the CRIU modules load from the unpacked kernel package" vm_load_criu_modules
	info "modules loaded in $(elapsed_since "$t")"
	t=${EPOCHREALTIME/./}
	cap criu check
	info "criu check took $(elapsed_since "$t"): $(tail -n 1 <<<"$OUT$ERR")"
	assert_ok "criu check passes on the 6.1 kernel"
	assert_contains "criu check says it looks good" "$OUT$ERR" "Looks good"

	# berth on a pure cgroup v2 tree
	root=$VM_TMP/state
	bundle=$VM_TMP/bundle
	cg=/sys/fs/cgroup$CG_PATH
	cp -a "$BERTH_VM_RESULTS/bundle" "$bundle" || die "cannot copy the bundle"
	t=${EPOCHREALTIME/./}
	cap "$BERTH" --root "$root" create -b "$bundle" --pid-file "$VM_TMP/pid" c1
	info "berth create took $(elapsed_since "$t")"
	assert_ok "berth create"
	out=$OUT_FILE # the container's stdout (it inherits create's)
	[ "$RC" -eq 0 ] || die "berth create failed: $ERR"
	pid=$(cat "$VM_TMP/pid")
	assert_true "the container's cgroup $cg exists" test -d "$cg"
	assert_contains "the container's init is in $cg/cgroup.procs" "$(cat "$cg/cgroup.procs" 2>&1)" "$pid"
	assert_eq "the guest sees the init in $CG_PATH" "0::$CG_PATH" "$(cat "/proc/$pid/cgroup")"
	info "cgroup.subtree_control of ${cg%/*}: '$(cat "${cg%/*}/cgroup.subtree_control" 2>&1)'"
	assert_eq "memory.max of $cg is linux.resources.memory.limit" "$MEM_LIMIT" "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "memory.swap.max is swap - limit (runc's conversion)" "$MEM_LIMIT" "$(cat "$cg/memory.swap.max" 2>&1)"
	assert_eq "pids.max is linux.resources.pids.limit" 64 "$(cat "$cg/pids.max" 2>&1)"
	assert_eq "cpu.weight is shares 1024 converted" 39 "$(cat "$cg/cpu.weight" 2>&1)"
	assert_eq "cpu.max is quota and period" "50000 100000" "$(cat "$cg/cpu.max" 2>&1)"
	cap "$BERTH" --root "$root" update --memory 32m --memory-swap 64m --pids-limit 32 c1
	assert_ok "berth update"
	assert_eq "update: memory.max" 33554432 "$(cat "$cg/memory.max" 2>&1)"
	assert_eq "update: pids.max" 32 "$(cat "$cg/pids.max" 2>&1)"


	t=${EPOCHREALTIME/./}
	cap "$BERTH" --root "$root" start c1
	assert_ok "berth start"
	status=""
	for i in $(seq 300); do
		status=$("$BERTH" --root "$root" state c1 2>/dev/null | jq -r .status)
		[ "$status" = stopped ] && break
		sleep 0.1
	done
	info "start to stopped: $(elapsed_since "$t") ($i polls)"
	assert_eq "the container ran to its end" stopped "$status"
	cat "$out"
	assert_eq "in the container, /proc/self/cgroup shows its cgroup as / (cgroup namespace)" \
		"0::/" "$(sed -n 's/^cgroup=//p' "$out")"
	# 63677270: CGROUP2_SUPER_MAGIC (busybox stat has no name for it)
	assert_eq "in the container, /sys/fs/cgroup is a cgroup2 mount" 63677270 "$(sed -n 's/^cgroupfs=//p' "$out")"
	assert_eq "in the container, /sys/fs/cgroup is the container's cgroup" \
		/sys/fs/cgroup/cgroup.procs "$(sed -n 's/^procs=//p' "$out")"
	assert_eq "in the container, /sys/fs/cgroup/memory.max is the updated limit" \
		33554432 "$(sed -n 's/^memory\.max=//p' "$out")"


	assert_eq "in the container, no other cgroup is visible below /sys/fs/cgroup" "" \
		"$(sed -n 's/^subdirs=//p' "$out")"

	cap "$BERTH" --root "$root" delete c1
	assert_ok "berth delete"
	assert_false "delete removed the container's cgroup" test -e "$cg"
	cgroup_mount_without_cgroupns "$root" "$bundle"
	finish
}

# Without a cgroup namespace a fresh cgroup2 mount would show the host's whole tree: the
# container gets a bind of its own cgroup directory instead.
cgroup_mount_without_cgroupns() {
	local root=$1 bundle=$VM_TMP/bundle-nons sibling=/sys/fs/cgroup/berth-vm/sibling
	# shellcheck disable=SC2016 # expanded by the container's shell
	local script='echo "memory.max=$(cat /sys/fs/cgroup/memory.max 2>&1)"
echo "subdirs=$(find /sys/fs/cgroup -mindepth 1 -type d | xargs)"
if grep -qx 1 /sys/fs/cgroup/cgroup.procs; then echo "init=listed"; fi'

	mkdir -p "$sibling"
	cp -a "$2" "$bundle" || die "cannot copy the bundle"
	# shellcheck disable=SC2016 # a jq filter
	jq --arg cg "$CG_PATH-nons" --arg script "$script" '.linux.cgroupsPath = $cg
		| .linux.namespaces |= map(select(.type != "cgroup"))
		| .process.args = ["sh", "-c", $script]' "$2/config.json" >"$bundle/config.json"
	cap "$BERTH" --root "$root" run -b "$bundle" c2
	assert_ok "run without a cgroup namespace"
	info "container output: $OUT"
	assert_contains "no cgroupns: /sys/fs/cgroup/memory.max is the container's limit" "$OUT" \
		"memory.max=$MEM_LIMIT"
	assert_contains "no cgroupns: no other cgroup is visible (the host has $sibling)" "$OUT" "subdirs="
	assert_eq "no cgroupns: no subdirectory at all" "subdirs=" "$(grep '^subdirs=' <<<"$OUT")"
	assert_contains "no cgroupns: cgroup.procs lists the container's init (pid 1)" "$OUT" "init=listed"
	assert_false "no cgroupns: run removed the cgroup" test -e "/sys/fs/cgroup$CG_PATH-nons"
	rmdir "$sibling"
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

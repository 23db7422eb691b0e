# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # here and the variables set here are the calling host_main's locals
# tests/vm/host-lib.sh: the host part of a VM test, sourced by its host_main (not a test itself):
#   host_main() {
#       local here repo vm_dir results berth guest_berth start
#       here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#       . "$here/host-lib.sh"
#       vm_host_init NAME [COMMAND...]
#       ...inputs into $results...
#       vm_host_boot "" --timeout SECONDS --env "BERTH=$guest_berth"; exit
#   }
# The functions set host_main's locals (bash's dynamic scope) and exit on a skip or failure.

# vm_host_init NAME [COMMAND...]: skip (77) without root, jq, QEMU or a COMMAND; sets repo, berth
# (BERTH, or the build tree's, must be executable: else fail), vm_dir, start (µs) and results (a
# new /tmp/berth-vm-NAME.XXXXXX, removed at exit unless BERTH_VM_KEEP is set).
vm_host_init() {
	local name=$1 c
	shift
	repo=$(cd "$here/../.." && pwd)
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: VM tests need root"; exit 77; }
	for c in jq qemu-system-x86_64 "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is not installed"; exit 77; }
	done
	berth=$(realpath "${BERTH:-$repo/build/cli/berth}")
	[ -x "$berth" ] || { echo "FAIL: BERTH=$berth is not an executable file"; exit 1; }
	vm_dir=${BERTH_VM_DIR:-$repo/build/vm}
	start=${EPOCHREALTIME/./}
	results=$(mktemp -d "/tmp/berth-vm-$name.XXXXXX") || exit 1
	# shellcheck disable=SC2064 # expand now
	[ -n "${BERTH_VM_KEEP:-}" ] || trap "rm -rf --one-file-system '$results'" EXIT
}

# vm_host_guest_berth: sets guest_berth, berth's path in the guest. The guest sees the host's /
# read-only, but not its /tmp and /run: a berth there is copied (with berth-ext beside it) into
# the results share.
vm_host_guest_berth() {
	guest_berth=$berth
	case "$berth" in /tmp/* | /run/*)
		cp "$berth" "$results/berth" && guest_berth=/berth-results/berth
		if [ -e "$(dirname "$berth")/berth-ext" ]; then cp "$(dirname "$berth")/berth-ext" "$results/berth-ext"; fi
		;;
	esac
}

# vm_host_busybox_bundle: $results/bundle, a busybox rootfs (scripts/make-rootfs.sh) and
# `berth spec`'s config.json.
vm_host_busybox_bundle() {
	bash "$repo/scripts/make-rootfs.sh" "$results/bundle/rootfs" >/dev/null || { echo "FAIL: make-rootfs.sh"; exit 1; }
	"$berth" spec -b "$results/bundle" || { echo "FAIL: berth spec"; exit 1; }
}

# vm_host_edit_config JQ-ARGS...: $results/bundle/config.json rewritten by jq JQ-ARGS (options
# and the filter).
vm_host_edit_config() {
	jq "$@" "$results/bundle/config.json" >"$results/bundle/config.json.new" || { echo "FAIL: jq"; exit 1; }
	mv "$results/bundle/config.json.new" "$results/bundle/config.json"
}

# vm_host_boot PHASE RUN-VM-OPTIONS...: one boot running this test's guest part (run-vm.sh with
# --results and --vm-dir); prints its exit status and the host wall time since vm_host_init
# (PHASE, if not empty, names the boot); returns run-vm.sh's status.
vm_host_boot() {
	local phase=$1 rc
	shift
	bash "$here/run-vm.sh" "$(realpath "$0")" --results "$results" --vm-dir "$vm_dir" "$@"
	rc=$?
	printf '%s%s: exit %d; host wall time%s %d s (%s)\n' "$(basename "$0" .sh)" "${phase:+ ($phase)}" "$rc" \
		"${phase:+ so far}" $(((${EPOCHREALTIME/./} - start) / 1000000)) "$(tr '\n' ' ' <"$results/timings" 2>/dev/null)"
	return "$rc"
}

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# A config "cgroup" mount on this hybrid host shows the container its own cgroups the way runc
# does: a tmpfs at /sys/fs/cgroup with one directory per v1 hierarchy (and "unified") bound to the
# container's cgroup, read-only. The container reads its own limits there (memory.limit_in_bytes,
# pids.max, memory.kmem.tcp.limit_in_bytes) and sees no other cgroup of the host. With and
# without a cgroup namespace.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] || [ ! -f /sys/fs/cgroup/pids/cgroup.procs ]; then
	skip "needs v1 memory and pids hierarchies at /sys/fs/cgroup (a hybrid or legacy host)"
fi
# what the host has: every v1 controller hierarchy (not the named systemd one) and unified
expected=$(
	for d in /sys/fs/cgroup/*; do
		[ -d "$d" ] || continue
		case "$(basename "$d")" in systemd) continue ;; esac
		if [ -f "$d/cgroup.procs" ]; then basename "$d"; fi
	done | sort | xargs
)
info "hierarchies the container should see: $expected"
limit=67108864
tcp=8388608

cgroup_view_check() { # DESC: run the listing script in $BUNDLE, assert on what it printed
	local desc=$1 sibling=$2
	run_sh "$ID" '
		echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
		echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"
		echo "tcp=$(cat /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes)"
		echo "top=$(ls /sys/fs/cgroup | xargs)"
		echo "subdirs=$(find /sys/fs/cgroup -mindepth 2 -type d | xargs)"
		echo "self=$(grep -c "^$$\$" /sys/fs/cgroup/memory/cgroup.procs)"
		if mkdir /sys/fs/cgroup/memory/x 2>/dev/null; then echo "writable=yes"; else echo "writable=no"; fi'
	assert_ok "$desc: run"
	assert_contains "$desc: memory.limit_in_bytes is the configured limit" "$OUT" "mem=$limit"
	assert_contains "$desc: pids.max is the configured limit" "$OUT" "pids=42"
	assert_contains "$desc: memory.kmem.tcp.limit_in_bytes is memory.kernelTCP" "$OUT" "tcp=$tcp"
	assert_eq "$desc: /sys/fs/cgroup lists the hierarchies" "top=$expected" "$(grep '^top=' <<<"$OUT")"
	# no cgroup below the container's own is visible: not the sibling, not system.slice, nothing
	assert_eq "$desc: no other cgroup is visible (sibling $sibling exists on the host)" "subdirs=" \
		"$(grep '^subdirs=' <<<"$OUT")"
	assert_contains "$desc: the memory directory is the container's own cgroup" "$OUT" "self=1"
	assert_contains "$desc: read-only" "$OUT" "writable=no"
}

mount_filter='.mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
	options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
	| .linux.resources.memory = {limit: ($l | tonumber), kernelTCP: ($t | tonumber)}
	| .linux.resources.pids = {limit: 42}'

# a sibling cgroup under the same parent, in the unified and the memory hierarchies
container ns
sibling=$ID-sibling
for h in unified memory; do mkdir -p "/sys/fs/cgroup/$h/berth-test/$sibling"; done
IDS+=("$sibling")
cfg "$mount_filter" --arg l "$limit" --arg t "$tcp"
cgroup_view_check "with a cgroup namespace" "$sibling"

container nons
cfg "$mount_filter"' | .linux.namespaces |= map(select(.type != "cgroup"))' --arg l "$limit" --arg t "$tcp"
cgroup_view_check "without a cgroup namespace" "$sibling"

# with a user namespace: the binds are made by the container's root (mapped), still its own view
if [ -e /proc/self/ns/user ]; then
	container userns
	chown -R -h 100000:100000 "$BUNDLE/rootfs"
	cfg "$mount_filter"' | .linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]' --arg l "$limit" --arg t "$tcp"
	cgroup_view_check "with a user namespace" "$sibling"
fi

# the memory.kernelTCP value read back from the host side too, in a running container
container tcp
cfg "$mount_filter" --arg l "$limit" --arg t "$tcp"
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d with memory.kernelTCP"
assert_eq "host: memory.kmem.tcp.limit_in_bytes of /berth-test/$ID" "$tcp" \
	"$(cat "/sys/fs/cgroup/memory/berth-test/$ID/memory.kmem.tcp.limit_in_bytes" 2>&1)"
b delete --force "$ID"
assert_ok "delete --force"
assert_no_leftovers "after the cgroup mount tests" "$ID"
for h in unified memory; do rmdir "/sys/fs/cgroup/$h/berth-test/$sibling"; done
finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# A combined v1 hierarchy ("cpu,cpuacct", as on most systemd hosts) in a container's cgroup mount:
# the directory is bound to the container's cgroup and each controller gets a symlink to it
# (cpu -> cpu,cpuacct, cpuacct -> cpu,cpuacct), as runc makes them. This host mounts cpu and
# cpuacct separately, so the test builds such a layout in a private mount namespace: a tmpfs over
# /sys/fs/cgroup (the host's mounts are untouched) holding binds of the real hierarchies, the cpu
# one under the name "cpu,cpuacct" (berth reads the layout from the directory names).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -f /sys/fs/cgroup/cpu/cgroup.procs ] || [ ! -f /sys/fs/cgroup/memory/cgroup.procs ]; then
	skip "needs separate v1 cpu and memory hierarchies at /sys/fs/cgroup (this hybrid host)"
fi
private_mount_ns "$@"

real=$TEST_TMP/real-cgroup
mkdir -p "$real"
mount --rbind /sys/fs/cgroup "$real" || die "bind /sys/fs/cgroup"
mount -t tmpfs -o mode=755 none /sys/fs/cgroup || die "tmpfs over /sys/fs/cgroup (private namespace)"
for h in unified memory pids cpuset devices freezer blkio; do
	[ -d "$real/$h" ] || continue
	mkdir "/sys/fs/cgroup/$h" || die "mkdir $h"
	mount --bind "$real/$h" "/sys/fs/cgroup/$h" || die "bind $h"
done
mkdir "/sys/fs/cgroup/cpu,cpuacct" || die "mkdir cpu,cpuacct"
mount --bind "$real/cpu" "/sys/fs/cgroup/cpu,cpuacct" || die "bind cpu"

container combined
cfg '.mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
	options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}] | .linux.resources.cpu = {shares: 512}'
run_sh "$ID" 'for l in cpu cpuacct; do echo "$l -> $(readlink /sys/fs/cgroup/$l)"; done
	echo "shares=$(cat /sys/fs/cgroup/cpu/cpu.shares)"
	echo "dir=$(ls -d /sys/fs/cgroup/cpu,cpuacct)"'
assert_ok "run with a combined cpu,cpuacct hierarchy"
assert_contains "cpu is a symlink to cpu,cpuacct" "$OUT" "cpu -> cpu,cpuacct"
assert_contains "cpuacct is a symlink to cpu,cpuacct" "$OUT" "cpuacct -> cpu,cpuacct"
assert_contains "the container's cpu.shares through the symlink" "$OUT" "shares=512"
assert_contains "the combined directory itself" "$OUT" "dir=/sys/fs/cgroup/cpu,cpuacct"
assert_eq "no cgroup left in the cpu hierarchy" "" "$(ls -d "$real/cpu/berth-test/$ID" 2>/dev/null)"
umount -R -l /sys/fs/cgroup
umount -R -l "$real"
finish

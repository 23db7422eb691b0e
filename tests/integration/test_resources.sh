#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# linux.resources on this host: a memory and a pids limit are either written to the container's
# cgroup (v1 memory/pids hierarchies on a hybrid host, memory.max/pids.max on cgroup v2) or the
# config is refused with an error naming linux.resources; never silently ignored (containerd
# passes the limits a user asked for this way).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# read_limit ID V1-HIERARCHY V1-FILE V2-FILE: the value berth wrote, from whichever hierarchy
# owns the controller on this host.
read_limit() {
	local d
	for d in "/sys/fs/cgroup/$2/berth-test/$1/$3" "/sys/fs/cgroup/unified/berth-test/$1/$4" \
		"/sys/fs/cgroup/berth-test/$1/$4"; do
		if [ -r "$d" ]; then
			cat "$d"
			return 0
		fi
	done
	echo "(no $3 or $4 for /berth-test/$1)"
}

container limits
cfg '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 50}'
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
if [ "$RC" -eq 0 ]; then
	assert_eq "memory limit 64 MiB is in the container's cgroup" 67108864 \
		"$(read_limit "$ID" memory memory.limit_in_bytes memory.max)"
	assert_eq "pids limit 50 is in the container's cgroup" 50 "$(read_limit "$ID" pids pids.max pids.max)"
	b delete --force "$ID"
	assert_ok "delete --force"
else
	assert_rc "resources refused with exit 1" 1
	assert_contains "the refusal names linux.resources" "$ERR" "resources"
fi
assert_no_leftovers "after the resources run" "$ID"

finish

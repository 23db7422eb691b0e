#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# runc 1.1's flags that berth once lacked: exec --cgroup [controller:]path puts the process in an
# existing sub-cgroup of the container's (all hierarchies, or one v1 hierarchy by controller);
# update --cpu-share writes the CPU shares; kill with signal 0 is a liveness probe (0 while the
# container runs, an error once it stopped).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -f /sys/fs/cgroup/cpu/cgroup.procs ] || [ ! -f /sys/fs/cgroup/unified/cgroup.procs ]; then
	skip "needs the hybrid layout (v1 cpu and cgroup2 at /sys/fs/cgroup/unified)"
fi

container flags
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d"
path=/berth-test/$ID

# ---- kill 0
b kill "$ID" 0
assert_ok "kill ID 0 on a running container"

# ---- exec --cgroup: a sub-cgroup in every hierarchy, then one in cpu only
subs=()
for d in /sys/fs/cgroup/*"$path"; do
	mkdir "$d/sub" && subs+=("$d/sub")
	if [ -f "$d/cpuset.cpus" ]; then # a v1 cpuset cgroup takes no process until these are set
		cat "$d/cpuset.cpus" >"$d/sub/cpuset.cpus"
		cat "$d/cpuset.mems" >"$d/sub/cpuset.mems"
	fi
done
b exec --cgroup sub "$ID" cat /proc/self/cgroup
assert_ok "exec --cgroup sub"
assert_contains "unified: in the sub-cgroup" "$OUT" "0::/sub"
assert_eq "cpu: in the sub-cgroup" "1" "$(grep -c ':cpu:/sub$' <<<"$OUT")"
assert_eq "memory: in the sub-cgroup" "1" "$(grep -c ':memory:/sub$' <<<"$OUT")"
b exec --cgroup cpu:sub "$ID" cat /proc/self/cgroup
assert_ok "exec --cgroup cpu:sub"
assert_eq "cpu:sub: in cpu's sub-cgroup" "1" "$(grep -c ':cpu:/sub$' <<<"$OUT")"
assert_eq "cpu:sub: memory stays in the container's cgroup" "1" "$(grep -c ':memory:/$' <<<"$OUT")"
assert_eq "cpu:sub: unified stays in the container's cgroup" "1" "$(grep -c '^0::/$' <<<"$OUT")"
b exec --cgroup missing "$ID" true
assert_failed "exec --cgroup into a sub-cgroup that does not exist"
assert_contains "the error names --cgroup and the path" "$ERR" "--cgroup: sub-cgroup \"$path/missing\" does not exist"
b exec --cgroup ../escape "$ID" true
assert_failed "exec --cgroup with '..' is refused"
assert_contains "the error names --cgroup" "$ERR" "--cgroup:"

# ---- update --cpu-share (runc's spelling) and --cpu-shares
b update --cpu-share 512 "$ID"
assert_ok "update --cpu-share 512"
assert_eq "cpu.shares after --cpu-share" 512 "$(cat "/sys/fs/cgroup/cpu$path/cpu.shares")"
b update --cpu-shares 256 "$ID"
assert_ok "update --cpu-shares 256"
assert_eq "cpu.shares after --cpu-shares" 256 "$(cat "/sys/fs/cgroup/cpu$path/cpu.shares")"

# ---- kill 0 once stopped: an error
b kill "$ID" KILL
wait_status "$ID" stopped 10
b kill "$ID" 0
assert_failed "kill ID 0 on a stopped container fails"
assert_contains "it says not running" "$ERR" "not running"
for d in "${subs[@]}"; do rmdir "$d" 2>/dev/null; done
b delete "$ID"
assert_ok "delete"
assert_no_leftovers "after the flags" "$ID"
finish

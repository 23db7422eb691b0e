#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Namespaces: joining another container's uts/network/ipc namespaces by path (B sees A's
# hostname, B's namespace links equal A's from inside and from the host) and its pid namespace
# (B's process is in A's /proc, A's init is B's pid 1); bad namespace paths fail naming
# linux.namespaces[i] and leave nothing; a time namespace with linux.timeOffsets; a cgroup
# namespace (/proc/self/cgroup shows "/"); every namespace of a container with all eight types
# differs from the caller's.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

require_cmd nsenter

ns_of() { readlink "/proc/$1/ns/$2" 2>/dev/null; } # PID TYPE -> "uts:[4026...]"

# wait_output FILE TEXT [SECONDS]: wait until a detached container's output FILE contains TEXT.
# shellcheck disable=SC2317 # called through assert_true
wait_output() {
	local deadline=$((SECONDS + ${3:-10}))
	until grep -q -F -e "$2" "$1" 2>/dev/null; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# start_container TAG: create + start $BUNDLE as $ID with --pid-file; sets PID and OUTF (the
# container's stdout, which is create's). Dies when create fails.
start_container() {
	b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/$1.pid" "$ID"
	assert_ok "$1: create"
	[ "$RC" -eq 0 ] || die "$1: create failed: the checks that follow depend on it"
	OUTF=$OUT_FILE
	PID=$(cat "$TEST_TMP/$1.pid")
	track_pid "$PID"
	b start "$ID"
	assert_ok "$1: start"
}

# ---- A: the container whose namespaces the others join
container a
A=$ID
cfg '.hostname = "ns-a"'
cfg_args sleep 6001
start_container a
apid=$PID
assert_true "A runs" wait_status "$A" running 10

# ---- B joins A's uts, network and ipc namespaces by path
container b
B=$ID
cfg 'del(.hostname) | .linux.namespaces = [{type: "pid"}, {type: "mount"}, {type: "cgroup"},
	{type: "uts", path: "/proc/\($p)/ns/uts"}, {type: "network", path: "/proc/\($p)/ns/net"},
	{type: "ipc", path: "/proc/\($p)/ns/ipc"}]' --arg p "$apid"
cfg_args sh -c 'echo "hostname=$(hostname)"; for n in uts net ipc pid mnt; do echo "$n=$(readlink /proc/self/ns/$n)"; done;
	echo ready; exec sleep 600'
start_container b
bpid=$PID
assert_true "B reports" wait_output "$OUTF" ready 10
bout=$(cat "$OUTF")
assert_contains "B sees A's hostname" "$bout" $'hostname=ns-a\n'
for n in uts net ipc; do
	assert_eq "B's $n namespace (host view) is A's" "$(ns_of "$apid" "$n")" "$(ns_of "$bpid" "$n")"
	assert_contains "B's $n namespace (inside view) is A's" "$bout" "$n=$(ns_of "$apid" "$n")"$'\n'
done
for n in pid mnt; do
	assert_ne "B's own $n namespace is not A's" "$(ns_of "$apid" "$n")" "$(ns_of "$bpid" "$n")"
	assert_ne "B's own $n namespace is not the host's" "$(ns_of $$ "$n")" "$(ns_of "$bpid" "$n")"
done
b delete --force "$B"
assert_ok "delete --force B"
assert_left_nothing "after deleting B" "$B" "$BUNDLE"
assert_true "A still runs after B is gone" alive "$apid"
assert_eq "A's hostname is untouched by B" ns-a "$(nsenter -t "$apid" -u hostname 2>&1)"

# ---- C joins A's pid namespace by path
container c
C=$ID
cfg 'del(.hostname) | .linux.namespaces = [{type: "pid", path: "/proc/\($p)/ns/pid"}, {type: "mount"},
	{type: "uts"}, {type: "ipc"}, {type: "network"}]' --arg p "$apid"
cfg_args sh -c 'echo "inner=$$"; echo "one=$(tr "\0" " " </proc/1/cmdline)"; echo ready; exec sleep 6002'
start_container c
cpid=$PID
assert_true "C reports" wait_output "$OUTF" ready 10
cout=$(cat "$OUTF")
assert_eq "C's pid namespace is A's" "$(ns_of "$apid" pid)" "$(ns_of "$cpid" pid)"
nspid=$(status_field "$cpid" NSpid | xargs)
inner=${nspid##* }
assert_match "C's init has a host pid and a pid in A's namespace (NSpid)" "^$cpid [0-9]+\$" "$nspid"
assert_ne "C's init is not pid 1 in A's namespace" 1 "$inner"
assert_contains "C's shell saw its pid in A's namespace" "$cout" "inner=$inner"$'\n'
assert_contains "C's pid 1 is A's init" "$cout" "one=sleep 6001 "
assert_eq "C's process is visible in A's /proc" "sleep 6002" \
	"$(tr '\0' ' ' <"/proc/$apid/root/proc/$inner/cmdline" 2>&1 | sed 's/ $//')"
b delete --force "$C"
assert_ok "delete --force C"
assert_left_nothing "after deleting C" "$C" "$BUNDLE"
assert_true "A still runs after C is gone" alive "$apid"
# C's init was an orphan in A's pid namespace, so A's init (a sleep) inherits it and never reaps
# it: gone or a zombie are both fine, alive is not.
cstate=$(sed 's/^.*) //' "/proc/$apid/root/proc/$inner/stat" 2>/dev/null | cut -d' ' -f1)
assert_match "C's process is no longer running in A's namespace (state '${cstate:-gone}')" '^(Z|)$' "$cstate"

# ---- bad namespace paths: create fails naming linux.namespaces[3] and leaves nothing
: >"$TEST_TMP/not-a-namespace"
bad_ns() { # TAG PATH DESC
	container "$1"
	cfg '.linux.namespaces[3] = {type: "uts", path: $path}' --arg path "$2"
	snapshot_pids
	b create --bundle "$BUNDLE" "$ID"
	assert_rc "$3: create fails" 1
	assert_contains "$3: the error names linux.namespaces[3]" "$ERR" "linux.namespaces[3]"
	assert_contains "$3: the error names the path" "$ERR" "$2"
	assert_left_nothing "$3" "$ID" "$BUNDLE"
}
bad_ns bad-missing "$TEST_TMP/no-such-ns" "a namespace path that does not exist"
bad_ns bad-type "/proc/$apid/ns/net" "a network namespace given as uts"
bad_ns bad-file "$TEST_TMP/not-a-namespace" "a regular file as a namespace path"
unset BASE_PIDS
assert_true "A still runs after the failed creates" alive "$apid"
b delete --force "$A"
assert_ok "delete --force A"
assert_left_nothing "after deleting A" "$A"

# ---- time namespace with offsets (/proc/uptime follows CLOCK_BOOTTIME)
if [ -e /proc/self/ns/time ]; then
	day_s=86400
	container time
	cfg '.linux.namespaces += [{type: "time"}]
		| .linux.timeOffsets = {monotonic: {secs: ($d * 1000)}, boottime: {secs: ($d * 1000), nanosecs: 7}}' \
		--argjson d "$day_s"
	run_sh "$ID" 'echo "uptime=$(cut -d" " -f1 /proc/uptime)"; cat /proc/self/timens_offsets'
	assert_ok "run with a time namespace"
	up=$(sed -n 's/^uptime=\([0-9]*\).*/\1/p' <<<"$OUT")
	host_up=$(cut -d. -f1 /proc/uptime)
	assert_true "the host's uptime (${host_up}s) is below 1000 days" test "$host_up" -lt $((day_s * 1000))
	assert_true "uptime inside (${up:-none}s) is beyond 1000 days" test "${up:-0}" -gt $((day_s * 1000))
	assert_true "uptime inside is the host's plus the offset (${up:-none} vs $host_up)" \
		test $((${up:-0} - host_up - day_s * 1000)) -le 60
	assert_match "timens_offsets: monotonic" "monotonic +$((day_s * 1000)) +0" "$OUT"
	assert_match "timens_offsets: boottime" "boottime +$((day_s * 1000)) +7" "$OUT"
	assert_no_leftovers "after the time namespace" "$ID"
else
	info "the kernel has no time namespaces: time namespace checks not run"
fi

# ---- cgroup namespace: the container's cgroup is its root
container cgroupns
cfg_args sh -c 'cat /proc/self/cgroup; echo ready; exec sleep 600'
start_container cgroupns
assert_true "the cgroupns container reports" wait_output "$OUTF" ready 10
inside=$(grep -v -x ready "$OUTF")
assert_contains "inside: the unified line is 0::/" "$inside" "0::/"
assert_eq "inside: every hierarchy shows /" "" "$(grep -v ':/$' <<<"$inside")"
assert_match "outside: the init is in /berth-test/$ID" "0::/berth-test/$ID"'$' "$(grep '^0::' "/proc/$PID/cgroup")"
assert_ne "the cgroup namespace is not the host's" "$(ns_of $$ cgroup)" "$(ns_of "$PID" cgroup)"
b delete --force "$ID"
assert_ok "delete --force"
assert_no_leftovers "after the cgroup namespace" "$ID"

# ---- a new network namespace has lo up (as with runc and crun), so 127.0.0.1 works inside
container netlo
cfg_args cat /sys/class/net/lo/flags
b run --bundle "$BUNDLE" "$ID"
assert_ok "run in a new network namespace"
assert_true "lo is up inside (flags '$OUT' has IFF_UP)" test "$((OUT & 1))" -eq 1
assert_no_leftovers "after the network namespace container" "$ID"

# ---- every namespace type: the init's differs from the caller's, inside and out
types="cgroup ipc mnt net pid uts user"
[ -e /proc/self/ns/time ] && types+=" time"
container all
chown -R -h 100000:100000 "$BUNDLE/rootfs"
cfg '.linux.namespaces += [{type: "user"}]
	| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
	| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
if [ -e /proc/self/ns/time ]; then cfg '.linux.namespaces += [{type: "time"}]'; fi
cfg_args sh -c 'for n in '"$types"'; do echo "$n=$(readlink /proc/self/ns/$n)"; done; echo ready; exec sleep 600'
start_container all
assert_true "the all-namespaces container reports" wait_output "$OUTF" ready 10
allout=$(cat "$OUTF")
for n in $types; do
	host=$(ns_of $$ "$n")
	assert_ne "$n: the init's namespace (host view) differs from the caller's" "$host" "$(ns_of "$PID" "$n")"
	assert_match "$n: the inside view is the init's namespace" "(^|"$'\n'")$n=$(ns_of "$PID" "$n" | sed 's/[][]/\\&/g')"$'\n' "$allout"
done
b delete --force "$ID"
assert_ok "delete --force"
assert_no_leftovers "after the all-namespaces container" "$ID"

finish

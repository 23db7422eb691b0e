# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are for the tests that source this
# Extra helpers for the integration tests, on top of lib.sh. Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_extra.sh"
#
# It sources nothing itself and only uses lib.sh's functions and variables.

# cgroup_pids ID: pids of the processes whose cgroup, in any hierarchy, is /berth-test/ID or
# below it (as the host sees /proc/PID/cgroup), one per line.
cgroup_pids() {
	grep -H -F -e ":/berth-test/$1" /proc/[0-9]*/cgroup 2>/dev/null |
		awk -F: -v p="/berth-test/$1" '$4 == p || index($4, p "/") == 1 { split($1, a, "/"); print a[3] }' |
		sort -nu
}

# bundle_mounts DIR: the lines of /proc/self/mountinfo that mention DIR (a bundle path).
bundle_mounts() {
	grep -F -e "$1" /proc/self/mountinfo 2>/dev/null
}

# snapshot_pids: remember the processes of this test that are alive now (see new_pids).
snapshot_pids() {
	BASE_PIDS=$(marked_pids)
}

# new_pids: processes of this test alive now that were not at the last snapshot_pids.
new_pids() {
	comm -13 <(printf '%s\n' "${BASE_PIDS:-}" | sort) <(marked_pids | sort) | sort -n | xargs
}

# wait_gone SECONDS COMMAND...: poll until COMMAND prints nothing (processes a runtime killed
# may take a moment to disappear); returns 1 if it still prints something at the deadline.
wait_gone() {
	local deadline=$((SECONDS + $1))
	shift
	while [ -n "$("$@")" ]; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# assert_left_nothing DESC ID [BUNDLE]: nothing of container ID remains, without looking at
# other containers of the test (which may still run): no state dir, no cgroup directory, no
# process in its cgroups, no process of this test newer than the last snapshot_pids (if one was
# taken), and no mount mentioning BUNDLE.
assert_left_nothing() {
	local desc=$1 id=$2 bundle=${3:-}
	wait_gone 3 cgroup_pids "$id"
	if [ -n "${BASE_PIDS+set}" ]; then wait_gone 3 new_pids; fi
	assert_false "$desc: no state dir $ROOT/$id" test -e "$ROOT/$id"
	assert_eq "$desc: no cgroup dir for /berth-test/$id" "" "$(cgroup_dirs "$id" | xargs)"
	assert_eq "$desc: no process in the cgroups of /berth-test/$id" "" "$(cgroup_pids "$id" | xargs)"
	if [ -n "${BASE_PIDS+set}" ]; then
		assert_eq "$desc: no new process of this test" "" "$(new_pids)"
	fi
	if [ -n "$bundle" ]; then
		assert_eq "$desc: no mount mentioning $bundle" "" "$(bundle_mounts "$bundle")"
	fi
}

# start_recvtty SOCKET [RECVTTY-ARGS...]: start $BERTH_RECVTTY on SOCKET in the background
# (output in $RECVTTY_OUT, errors in $RECVTTY_ERR, pid in $RECVTTY_PID) and wait until it listens.
start_recvtty() {
	local sock=$1
	shift
	[ -n "${BERTH_RECVTTY:-}" ] || skip "BERTH_RECVTTY is not set (run through ctest, or export it)"
	[ -x "$BERTH_RECVTTY" ] || die "BERTH_RECVTTY=$BERTH_RECVTTY is not an executable file"
	NCALL=$((NCALL + 1))
	RECVTTY_OUT=$TEST_TMP/call$NCALL.tty
	RECVTTY_ERR=$TEST_TMP/call$NCALL.err
	env "$MARK" "$BERTH_RECVTTY" "$sock" "$@" </dev/null >"$RECVTTY_OUT" 2>"$RECVTTY_ERR" &
	RECVTTY_PID=$!
	track_pid "$RECVTTY_PID"
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$RECVTTY_PID" 2>/dev/null || break
		sleep 0.05
	done
	die "recvtty did not listen on $sock: $(cat "$RECVTTY_ERR")"
}

# wait_recvtty [SECONDS]: wait for the last start_recvtty to exit; RECVTTY_RC is its status
# (124 if it had to be killed) and TTY_OUT its output with carriage returns removed.
wait_recvtty() {
	local deadline=$((SECONDS + ${1:-20})) killed=""
	while alive "$RECVTTY_PID"; do
		if [ $SECONDS -ge "$deadline" ]; then
			kill -9 "$RECVTTY_PID" 2>/dev/null
			killed=1
			break
		fi
		sleep 0.05
	done
	wait "$RECVTTY_PID"
	RECVTTY_RC=$?
	if [ -n "$killed" ]; then RECVTTY_RC=124; fi
	TTY_OUT=$(tr -d '\r' <"$RECVTTY_OUT")
}

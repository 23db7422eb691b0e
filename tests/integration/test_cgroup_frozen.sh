#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# No berth command waits forever on a frozen cgroup or on another berth's lock:
# - create into a cgroup frozen beforehand (v1 freezer) fails at once, naming the cgroup, and
#   leaves nothing (runc: "container's cgroup unexpectedly frozen");
# - exec --ignore-paused into a paused container, then resume: the exec completes;
# - the same exec without a resume fails after the bound (BERTH_LOCK_TIMEOUT) naming the pause;
# - a command waiting for a container lock another process holds fails after the bound, naming it.
# Every berth call runs under `timeout`, so a hang fails the test instead of stalling the suite.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd flock
[ -f /sys/fs/cgroup/freezer/cgroup.procs ] || skip "needs the v1 freezer at /sys/fs/cgroup/freezer (hybrid host)"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- create into a frozen cgroup
container frozen
fdir=/sys/fs/cgroup/freezer/berth-test/$ID
mkdir -p "$fdir"
echo FROZEN >"$fdir/freezer.state"
t0=$(now_ms)
b create --bundle "$BUNDLE" "$ID"
took=$(($(now_ms) - t0))
assert_failed "create into a frozen cgroup fails"
assert_ne "it did not hang (timed out)" 124 "$RC"
assert_true "it failed fast: ${took} ms < 5000 ms" test "$took" -lt 5000
assert_contains "the error says frozen" "$ERR" "unexpectedly frozen"
assert_contains "the error names the cgroup" "$ERR" "/berth-test/$ID"
assert_no_leftovers "after the frozen create" "$ID"
if [ -d "$fdir" ]; then
	echo THAWED >"$fdir/freezer.state"
	rmdir "$fdir"
fi

# ---- exec --ignore-paused into a paused container, then resume
container paused
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d"
b pause "$ID"
assert_ok "pause"
env "$MARK" timeout -k 2 25 "$BERTH" --root "$ROOT" exec --ignore-paused "$ID" echo hello-after-resume \
	</dev/null >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err" &
exec_job=$!
sleep 1
b resume "$ID"
assert_ok "resume while an exec --ignore-paused waits (it does not hold the lock)"
wait "$exec_job"
rc=$?
assert_eq "exec --ignore-paused completes after resume (exit status)" 0 "$rc"
assert_eq "its output" "hello-after-resume" "$(cat "$TEST_TMP/exec.out")"

# ---- the same without a resume: bounded, and the container stays usable
b pause "$ID"
assert_ok "pause again"
t0=$(now_ms)
BERTH_LOCK_TIMEOUT=2 b exec --ignore-paused "$ID" echo never
took=$(($(now_ms) - t0))
assert_failed "exec --ignore-paused with no resume fails"
assert_ne "it did not hang (timed out)" 124 "$RC"
assert_true "it gave up after the bound: ${took} ms < 10000 ms" test "$took" -lt 10000
assert_contains "the error names the pause" "$ERR" "the container is paused"
b resume "$ID"
assert_ok "resume afterwards"
b exec "$ID" echo still-here
assert_ok "exec after resume"
assert_eq "exec output after resume" "still-here" "$OUT"

# ---- a command waiting on a lock another process holds: bounded, names the lock
flock -x "$ROOT/$ID" sleep 15 &
holder=$!
track_pid "$holder"
sleep 0.5
t0=$(now_ms)
BERTH_LOCK_TIMEOUT=2 b kill "$ID" KILL
took=$(($(now_ms) - t0))
assert_failed "kill while another process holds the container lock fails"
assert_ne "it did not hang (timed out)" 124 "$RC"
assert_true "it gave up after the bound: ${took} ms < 10000 ms" test "$took" -lt 10000
assert_contains "the error names the lock" "$ERR" "held its lock"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
b delete --force "$ID"
assert_ok "delete --force"
assert_no_leftovers "after the paused container" "$ID"
finish

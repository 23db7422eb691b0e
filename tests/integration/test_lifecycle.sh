#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Lifecycle: create -> start -> kill -> delete with `state` and `list` (table, json, -q) checked
# in every state; delete refuses a running container; run -d, run in the foreground, --keep,
# delete --force; an init that dies behind berth's back; kill of a created container; --no-pivot.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# list_shows DESC ID STATUS: the three list formats agree that ID has STATUS.
list_shows() {
	local desc=$1 id=$2 want=$3 got
	b list
	assert_ok "$desc: list"
	got=$(awk -v id="$id" 'NR > 1 && $1 == id { print $3 }' <<<"$OUT")
	assert_eq "$desc: list (table) status" "$want" "$got"
	assert_match "$desc: list (table) header" '^ID +PID +STATUS +BUNDLE +CREATED +OWNER' "$(head -n 1 <<<"$OUT")"
	b list --format json
	assert_ok "$desc: list --format json"
	got=$(jq -r --arg id "$id" '.[] | select(.id == $id) | .status' <<<"$OUT" 2>&1)
	assert_eq "$desc: list --format json status" "$want" "$got"
	b list -q
	assert_ok "$desc: list -q"
	assert_eq "$desc: list -q" "$id" "$(grep -x -F -e "$id" <<<"$OUT")"
}

list_lacks() {
	local desc=$1 id=$2
	b list
	assert_ok "$desc: list"
	assert_eq "$desc: list (table) lacks $id" "" "$(awk -v id="$id" '$1 == id' <<<"$OUT")"
	b list --format json
	assert_eq "$desc: list --format json lacks $id" "" \
		"$(jq -r --arg id "$id" '(. // [])[] | select(.id == $id) | .id' <<<"$OUT" 2>&1)"
	b list -q
	assert_eq "$desc: list -q lacks $id" "" "$(grep -x -F -e "$id" <<<"$OUT")"
}

# ---- create / start / kill / delete
container life
cfg_args sh -c 'echo started; exec sleep 600'
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/life.pid" "$ID"
assert_ok "create"
[ "$RC" -eq 0 ] || die "create failed: the rest of the lifecycle depends on it"
create_out=$OUT_FILE
pid=$(cat "$TEST_TMP/life.pid" 2>/dev/null)
assert_match "--pid-file holds a pid" '^[0-9]+$' "$pid"
track_pid "$pid"

status_of "$ID"
assert_ok "state after create"
assert_eq "status after create" created "$STATUS"
assert_eq "state pid equals --pid-file" "$pid" "$STATE_PID"
assert_eq "state id" "$ID" "$(jq -r .id <<<"$OUT")"
assert_eq "state bundle" "$BUNDLE" "$(jq -r .bundle <<<"$OUT")"
assert_match "state ociVersion" '^1\.' "$(jq -r .ociVersion <<<"$OUT")"
assert_true "the init process exists after create" test -d "/proc/$pid"
assert_not_contains "the user process has not run before start" "$(cat "$create_out")" started
list_shows "created" "$ID" created

b start "$ID"
assert_ok "start"
wait_file "$create_out" 10
assert_eq "the user process ran after start" started "$(cat "$create_out")"
status_of "$ID"
assert_eq "status after start" running "$STATUS"
assert_eq "pid unchanged by start" "$pid" "$STATE_PID"
list_shows "running" "$ID" running

b start "$ID"
assert_failed "a second start fails"
b delete "$ID"
assert_failed "delete of a running container fails without --force"
status_of "$ID"
assert_eq "still running after the refused delete" running "$STATUS"

b kill "$ID" KILL
assert_ok "kill KILL"
assert_true "status becomes stopped after kill" wait_status "$ID" stopped 10
list_shows "stopped" "$ID" stopped
b kill "$ID" KILL
assert_failed "kill of a stopped container fails"
assert_contains "kill of a stopped container says so" "$ERR" "not running"

b delete "$ID"
assert_ok "delete"
status_of "$ID"
assert_rc "state after delete" 1
assert_contains "state after delete names the problem" "$ERR" "does not exist"
list_lacks "deleted" "$ID"
assert_no_leftovers "after delete" "$ID"

# ---- run -d
container detached
cfg_args sleep 600
b run -d --bundle "$BUNDLE" --pid-file "$TEST_TMP/detached.pid" "$ID"
assert_ok "run -d returns"
status_of "$ID"
assert_eq "run -d: running" running "$STATUS"
assert_eq "run -d: pid file" "$(cat "$TEST_TMP/detached.pid" 2>/dev/null)" "$STATE_PID"
list_shows "run -d" "$ID" running
b delete --force "$ID"
assert_ok "delete --force of a running container"
status_of "$ID"
assert_contains "delete --force removed it" "$ERR" "does not exist"
assert_no_leftovers "after delete --force" "$ID"

# ---- run in the foreground: output, status, and the container is deleted afterwards
container fg
run_sh "$ID" 'echo hello from the foreground'
assert_ok "run (foreground)"
assert_eq "run prints the container's output" "hello from the foreground" "$OUT"
status_of "$ID"
assert_rc "run deletes the container when it exits" 1
assert_no_leftovers "after run" "$ID"

# ---- run --keep: the stopped container stays until delete
container keep
cfg_args sh -c 'echo kept; exit 3'
b run --keep --bundle "$BUNDLE" "$ID"
assert_rc "run --keep returns the exit status" 3
assert_eq "run --keep output" kept "$OUT"
status_of "$ID"
assert_eq "run --keep leaves a stopped container" stopped "$STATUS"
list_shows "kept" "$ID" stopped
b delete "$ID"
assert_ok "delete of the kept container"
assert_no_leftovers "after deleting the kept container" "$ID"

# ---- deleting a created (never started) container
container unstarted
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/unstarted.pid" "$ID"
assert_ok "create (never started)"
track_pid "$(cat "$TEST_TMP/unstarted.pid" 2>/dev/null || echo 0)"
b delete "$ID"
assert_ok "delete of a created container"
sleep 0.2
assert_false "its init is gone" alive "$(cat "$TEST_TMP/unstarted.pid" 2>/dev/null || echo 0)"
assert_no_leftovers "after deleting a created container" "$ID"

# ---- the init dies behind berth's back: state derives "stopped", start refuses, delete cleans up
container vanished
cfg_args sleep 600
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/vanished.pid" "$ID"
assert_ok "create"
pid=$(cat "$TEST_TMP/vanished.pid" 2>/dev/null || echo 0)
track_pid "$pid"
kill -9 "$pid"
assert_true "status is stopped once the init is gone" wait_status "$ID" stopped 10
b start "$ID"
assert_failed "start of a container whose init died fails"
b delete "$ID"
assert_ok "delete of a container whose init died"
assert_no_leftovers "after the vanished init" "$ID"

# ---- kill of a created (not started) container
container kill-created
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/kill-created.pid" "$ID"
assert_ok "create"
track_pid "$(cat "$TEST_TMP/kill-created.pid" 2>/dev/null || echo 0)"
b kill "$ID" KILL
assert_ok "kill KILL of a created container"
assert_true "a killed created container is stopped" wait_status "$ID" stopped 10
b delete "$ID"
assert_ok "delete"
assert_no_leftovers "after killing a created container" "$ID"

# ---- --no-pivot (MS_MOVE + chroot) runs too
container nopivot
cfg_args sh -c 'echo "root=$(ls /bin/busybox)"'
b run --no-pivot --bundle "$BUNDLE" "$ID"
assert_ok "run --no-pivot"
assert_eq "run --no-pivot output" "root=/bin/busybox" "$OUT"

finish

#!/bin/bash
# update and events on this host (hybrid cgroups: limits land in the v1 hierarchies):
# `update` by flags, by --resources FILE and by --resources - (stdin), each read back from the
# kernel's files; bad input to update (broken JSON, a missing file, a wrong type) fails naming the
# field and changes nothing; `events --stats` prints one stats record; update/events/exec/pause on
# a stopped container say "container not running". The VM tests cover the same on pure cgroup v2.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/pids ]; then
	skip "needs the v1 memory and pids hierarchies of the hybrid host"
fi

container upd
cfg '.linux.resources = {memory: {limit: 67108864}, pids: {limit: 50}}'
cfg_args sleep 600
b run -d --bundle "$BUNDLE" --pid-file "$TEST_TMP/init.pid" "$ID"
assert_ok "run -d with memory and pids limits"
[ "$RC" -eq 0 ] || die "run -d failed"
track_pid "$(cat "$TEST_TMP/init.pid")"
mem=/sys/fs/cgroup/memory/berth-test/$ID/memory.limit_in_bytes
pids=/sys/fs/cgroup/pids/berth-test/$ID/pids.max
assert_eq "create applied memory.limit" 67108864 "$(cat "$mem")"
assert_eq "create applied pids.limit" 50 "$(cat "$pids")"

b update --memory 128m --pids-limit 77 "$ID"
assert_ok "update by flags"
assert_eq "update --memory 128m" 134217728 "$(cat "$mem")"
assert_eq "update --pids-limit 77" 77 "$(cat "$pids")"

echo '{"pids": {"limit": 66}}' >"$TEST_TMP/res.json"
b update --resources "$TEST_TMP/res.json" "$ID"
assert_ok "update --resources FILE"
assert_eq "update --resources FILE: pids.max" 66 "$(cat "$pids")"

# shellcheck disable=SC2016 # expanded by the inner shell
cap sh -c 'echo "{\"memory\": {\"limit\": 100663296}}" | "$0" --root "$1" update -r - "$2"' "$BERTH" "$ROOT" "$ID"
assert_ok "update --resources - (stdin)"
assert_eq "update -r -: memory.limit" 100663296 "$(cat "$mem")"

echo '{"pids": {"limit": 10' >"$TEST_TMP/broken.json"
b update -r "$TEST_TMP/broken.json" "$ID"
assert_rc "update with broken JSON exits 1" 1
assert_contains "broken JSON: says it is invalid" "$ERR" "invalid JSON"
echo '{"pids": {"limit": "ten"}}' >"$TEST_TMP/wrongtype.json"
b update -r "$TEST_TMP/wrongtype.json" "$ID"
assert_rc "update with a wrong type exits 1" 1
assert_contains "wrong type: names the field" "$ERR" "pids.limit"
b update -r "$TEST_TMP/nonexistent.json" "$ID"
assert_rc "update with a missing file exits 1" 1
assert_contains "missing file: names --resources" "$ERR" "--resources"
b update --memory lots "$ID"
assert_rc "update --memory lots is a usage error" 2
assert_eq "failed updates changed nothing: pids.max" 66 "$(cat "$pids")"
assert_eq "failed updates changed nothing: memory.limit" 100663296 "$(cat "$mem")"

b events --stats "$ID"
assert_ok "events --stats"
assert_eq "events --stats: type" stats "$(jq -r .type <<<"$OUT" 2>&1)"
assert_eq "events --stats: id" "$ID" "$(jq -r .id <<<"$OUT" 2>&1)"
assert_eq "events --stats: pids.limit" 66 "$(jq -r .data.pids.limit <<<"$OUT" 2>&1)"
assert_match "events --stats: memory usage is a number" '^[0-9]+$' "$(jq -r .data.memory.usage.usage <<<"$OUT" 2>&1)"
b events --interval nonsense "$ID"
assert_rc "events --interval nonsense is a usage error" 2

b kill "$ID" KILL
assert_ok "kill"
wait_status "$ID" stopped
for cmd in update "events --stats" pause exec; do
	# shellcheck disable=SC2086
	if [ "$cmd" = exec ]; then b exec "$ID" true; else b $cmd "$ID"; fi
	assert_rc "$cmd on a stopped container exits 1" 1
	assert_contains "$cmd on a stopped container: 'container not running'" "$ERR" "container not running"
done
b delete "$ID"
assert_ok "delete"
assert_no_leftovers "after update/events" "$ID"
finish

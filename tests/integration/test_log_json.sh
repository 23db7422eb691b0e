#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# --log FILE --log-format json: errors are JSON records {"level":"error","msg":...,"time":...} in
# FILE, with the phrases containerd matches ("does not exist", "container not running").
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

logf=$TEST_TMP/log.json

# last_error: the last record with level error in the log file, compact.
last_error() { grep '"level":"error"' "$logf" 2>/dev/null | tail -n 1; }

new_id ghost
for cmd in state delete start "kill"; do
	: >"$logf"
	# shellcheck disable=SC2086
	b --log "$logf" --log-format json $cmd "$ID"
	assert_rc "$cmd of a missing container exits 1" 1
	rec=$(last_error)
	assert_ne "$cmd: an error record in the log file" "" "$rec"
	assert_eq "$cmd: the record is one JSON object" object "$(jq -r type <<<"$rec" 2>&1)"
	assert_eq "$cmd: level" error "$(jq -r .level <<<"$rec" 2>&1)"
	assert_contains "$cmd: msg says 'does not exist'" "$(jq -r .msg <<<"$rec" 2>&1)" "does not exist"
	assert_contains "$cmd: msg names the container" "$(jq -r .msg <<<"$rec" 2>&1)" "$ID"
	assert_match "$cmd: time is RFC 3339" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' \
		"$(jq -r .time <<<"$rec" 2>&1)"
	assert_eq "$cmd: every line of the log is JSON" "" \
		"$(while IFS= read -r l; do jq -e . <<<"$l" >/dev/null 2>&1 || echo "bad: $l"; done <"$logf")"
done

# the shim's exact spelling: global flags first, single-dash forms accepted too
: >"$logf"
cap "$BERTH" --root "$ROOT" --log "$logf" --log-format json delete --force "$ID"
assert_ok "delete --force of a missing container succeeds"

# a stopped container: kill says "container not running"
container stopped
b run --keep --bundle "$BUNDLE" "$ID"
assert_ok "run --keep"
: >"$logf"
b --log "$logf" --log-format json kill "$ID" 9
assert_rc "kill of a stopped container exits 1" 1
assert_contains "kill of a stopped container: 'not running'" "$(jq -r .msg <<<"$(last_error)" 2>&1)" "not running"
b delete "$ID"
assert_ok "delete"

# a failing create: the reason is in the log (containerd shows it to the user)
container badcfg
cfg '.process.args = "sh"'
: >"$logf"
b --log "$logf" --log-format json create --bundle "$BUNDLE" "$ID"
assert_rc "create with a bad config exits 1" 1
assert_contains "create: the error record names process.args" "$(jq -r .msg <<<"$(last_error)" 2>&1)" "process.args"
assert_no_leftovers "after the failed create" "$ID"

# text format (the default): one line on stderr naming the problem
new_id ghost2
b state "$ID"
assert_rc "state of a missing container (text log)" 1
assert_contains "text error on stderr" "$ERR" "does not exist"

finish

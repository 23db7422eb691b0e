#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# The command line: --help/--version, usage errors exit 2, Go-style single-dash long options and
# --flag=value, and containerd's exact call sequence (global --log/--log-format json first).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# the contract needs nothing from --root for these; it is given anyway (never the default root)
b --version
assert_ok "--version"
assert_match "--version names a version" '[0-9]+\.[0-9]+\.[0-9]+' "$OUT"
b --help
assert_ok "--help"
# Each command on a line of its own in the list ("  NAME  summary"), none marked unimplemented.
for cmd in create start run state kill delete list exec ps pause resume update events checkpoint restore \
	spec features network image help; do
	assert_match "--help lists $cmd" "(^|"$'\n'")  $cmd +[A-Z]" "$OUT"
	b "$cmd" --help
	assert_ok "$cmd --help"
	[ "$cmd" = help ] || assert_contains "$cmd --help shows its usage" "$OUT" "Usage: berth $cmd"
	b --help
done
assert_not_contains "--help marks no command unimplemented" "$OUT" "not implemented"

b no-such-command
assert_rc "an unknown command exits 2" 2
assert_ne "an unknown command: a message" "" "$ERR"
b --no-such-flag list
assert_rc "an unknown global flag exits 2" 2
b create
assert_rc "create without an id exits 2" 2
b state
assert_rc "state without an id exits 2" 2
b list --format yaml
assert_rc "list --format yaml exits 2" 2
b delete a b
assert_rc "delete with two ids exits 2" 2
b run --no-such-flag x
assert_rc "an unknown command flag exits 2" 2
assert_false "usage errors create no state" test -n "$(ls -A "$ROOT" 2>/dev/null)"

# ---- single-dash long options and --flag=value, as Go's flag package accepts them
container dash
cfg_args sleep 600
cap "$BERTH" -root "$ROOT" create -bundle "$BUNDLE" -pid-file "$TEST_TMP/dash.pid" "$ID"
assert_ok "-root / -bundle / -pid-file"
track_pid "$(cat "$TEST_TMP/dash.pid" 2>/dev/null || echo 0)"
cap "$BERTH" --root="$ROOT" state "$ID"
assert_ok "--root=DIR"
assert_eq "created through single-dash options" created "$(jq -r .status <<<"$OUT" 2>&1)"
cap "$BERTH" -root "$ROOT" delete -force "$ID"
assert_ok "delete -force"
assert_no_leftovers "after single-dash create/delete" "$ID"

container eq
cap "$BERTH" --root="$ROOT" run --bundle="$BUNDLE" --pid-file="$TEST_TMP/eq.pid" "$ID"
assert_ok "run --bundle=DIR --pid-file=FILE"

# ---- containerd 1.6's shim, verbatim (ENVIRONMENT.md)
container shim
cfg_args sh -c 'echo shim-ran; exec sleep 600'
shim() { b --log "$BUNDLE/log.json" --log-format json "$@"; }
shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$ID"
assert_ok "shim: create"
track_pid "$(cat "$BUNDLE/init.pid" 2>/dev/null || echo 0)"
shim start "$ID"
assert_ok "shim: start"
shim state "$ID"
assert_eq "shim: state running" running "$(jq -r .status <<<"$OUT" 2>&1)"
assert_eq "shim: state pid is the pid file's" "$(cat "$BUNDLE/init.pid" 2>/dev/null)" "$(jq -r .pid <<<"$OUT" 2>&1)"
shim kill "$ID" 9
assert_ok "shim: kill ID 9"
assert_true "shim: stopped" wait_status "$ID" stopped 10
shim delete "$ID"
assert_ok "shim: delete"
shim delete --force "$ID"
assert_ok "shim: delete --force on cleanup (already gone)"
assert_eq "shim: no error record in log.json for a clean run" "" \
	"$(grep '"level":"error"' "$BUNDLE/log.json" 2>/dev/null | grep -v 'not running' || true)"
assert_no_leftovers "after the shim sequence" "$ID"

finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# exec (foreground status, flags, --process JSON as containerd sends it, --detach --pid-file),
# ps --format json, pause/resume (status, and a counter that stops while frozen).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

counter=$TEST_TMP/counter
mkdir -p "$counter"
container main
cfg '.mounts += [{destination: "/counter", type: "bind", source: $dir, options: ["rbind", "rw"]}]
	| .process.env += ["FROM_CONFIG=yes"]' --arg dir "$counter"
# (rename: a reader never sees a half-written file)
cfg_args sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/counter/n.tmp; mv /counter/n.tmp /counter/n; sleep 0.05; done'
b run -d --bundle "$BUNDLE" --pid-file "$TEST_TMP/init.pid" "$ID"
assert_ok "run -d"
[ "$RC" -eq 0 ] || die "run -d failed"
init=$(cat "$TEST_TMP/init.pid")
track_pid "$init"

# ---- exec in the foreground
b exec "$ID" sh -c 'echo "pid1=$(cat /proc/1/cmdline | tr "\0" " ")"; echo "env=$FROM_CONFIG"; echo "uid=$(id -u)"; exit 5'
assert_rc "exec returns the process's exit status" 5
assert_contains "exec runs in the container's pid namespace" "$OUT" "pid1=sh -c i=0"
assert_contains "exec inherits the container's env" "$OUT" "env=yes"
assert_contains "exec runs as the container's user" "$OUT" "uid=0"

b exec --user 1000:1001 --cwd /tmp --env EXTRA=1 "$ID" sh -c 'echo "$(id -u):$(id -g) $(pwd) $EXTRA"'
assert_ok "exec with --user --cwd --env"
assert_eq "exec flags applied" "1000:1001 /tmp 1" "$OUT"

# ---- exec --process FILE --detach --pid-file, as containerd's shim sends it
jq -n '{terminal: false, user: {uid: 0, gid: 0}, args: ["sh", "-c", "echo from-process-json >/counter/exec.out; exec sleep 600"],
	env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", $mark], cwd: "/"}' --arg mark "$MARK" >"$TEST_TMP/process.json"
b exec --process "$TEST_TMP/process.json" --detach --pid-file "$TEST_TMP/exec.pid" "$ID"
assert_ok "exec --process --detach --pid-file"
epid=$(cat "$TEST_TMP/exec.pid" 2>/dev/null)
assert_match "exec --pid-file holds a pid" '^[0-9]+$' "$epid"
track_pid "${epid:-0}"
wait_file "$counter/exec.out" 5
assert_eq "the --process JSON ran" from-process-json "$(cat "$counter/exec.out" 2>&1)"
assert_eq "the exec'd process is in the container's cgroup" "0::/berth-test/$ID" \
	"$(grep '^0::' "/proc/$epid/cgroup" 2>&1)"
assert_eq "the exec'd process is in the container's pid namespace" "$(readlink "/proc/$init/ns/pid")" \
	"$(readlink "/proc/$epid/ns/pid" 2>&1)"
assert_eq "the exec'd process is in the container's mount namespace" "$(readlink "/proc/$init/ns/mnt")" \
	"$(readlink "/proc/$epid/ns/mnt" 2>&1)"

# ---- ps
b ps --format json "$ID"
assert_ok "ps --format json"
assert_eq "ps: a JSON array" array "$(jq -r type <<<"$OUT" 2>&1)"
assert_eq "ps lists the init" "$init" "$(jq -r --argjson p "$init" '.[] | select(. == $p)' <<<"$OUT" 2>&1)"
assert_eq "ps lists the exec'd process" "$epid" "$(jq -r --argjson p "${epid:-0}" '.[] | select(. == $p)' <<<"$OUT" 2>&1)"

# ---- pause / resume
b pause "$ID"
assert_ok "pause"
status_of "$ID"
assert_eq "status paused" paused "$STATUS"
sleep 0.3
n1=$(cat "$counter/n")
sleep 0.5
n2=$(cat "$counter/n")
assert_eq "the counter stands still while paused" "$n1" "$n2"
b exec "$ID" true
assert_failed "exec into a paused container fails (without --ignore-paused)"
assert_contains "exec into a paused container says why" "$ERR" "--ignore-paused"
b resume "$ID"
assert_ok "resume"
status_of "$ID"
assert_eq "status running after resume" running "$STATUS"
sleep 0.5
n3=$(cat "$counter/n")
assert_true "the counter moves again after resume ($n2 -> $n3)" test "$n3" -gt "$n2"

# ---- exec --process with a bad file: a clear error, the container untouched
b exec --process "$TEST_TMP/no-such-process.json" "$ID"
assert_rc "exec --process with a missing file fails" 1
assert_contains "missing process file: names --process" "$ERR" "--process"
echo '{"args": ["true"' >"$TEST_TMP/broken-process.json"
b exec --process "$TEST_TMP/broken-process.json" "$ID"
assert_rc "exec --process with broken JSON fails" 1
assert_contains "broken process file: says invalid JSON" "$ERR" "invalid JSON"
echo '{"cwd": "/", "user": {"uid": 0, "gid": 0}}' >"$TEST_TMP/noargs-process.json"
b exec --process "$TEST_TMP/noargs-process.json" "$ID"
assert_rc "exec --process without args fails" 1
assert_contains "process without args: names args" "$ERR" "args"
status_of "$ID"
assert_eq "bad exec requests leave the container running" running "$STATUS"

# ---- a paused container can be killed and deleted
b pause "$ID"
assert_ok "pause again"
b delete --force "$ID"
assert_ok "delete --force of a paused container"
assert_no_leftovers "after deleting a paused container" "$ID"

# ---- exec into a stopped container
container stopped
b run --keep --bundle "$BUNDLE" "$ID"
assert_ok "run --keep"
b exec "$ID" true
assert_rc "exec into a stopped container fails with 1" 1
assert_contains "exec into a stopped container: 'not running'" "$ERR" "not running"
b delete "$ID"

finish

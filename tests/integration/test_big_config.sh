#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# A config.json of any size berth accepts (up to its own 4 MiB limit) starts a container (issue 14,
# section 5): a 3 MB annotation and 20,000 environment variables used to fail with "signal the
# container init: Message too long" (one SOCK_SEQPACKET message to the init). Everything must
# arrive: the variables are counted inside, the annotation is read back from `state` and from a
# hook's state on stdin.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

big=$((3 * 1024 * 1024))

# ---- a 3 MB annotation

container annotation
head -c "$big" /dev/zero | tr '\0' a >"$TEST_TMP/annotation"
# A createRuntime hook (run by berth on the host) gets the state with the annotation on stdin and
# writes the length it saw.
cfg '.annotations = {"big": $a, "small": "x"}
	| .hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", $host]}]' \
	--rawfile a "$TEST_TMP/annotation" \
	--arg host "jq -r '.annotations.big | length' >$TEST_TMP/hook-len"
size=$(stat -c %s "$BUNDLE/config.json")
assert_true "config.json is over 3 MB ($size bytes)" test "$size" -gt "$big"
cfg_args sh -c 'echo started'
b create --bundle "$BUNDLE" "$ID"
assert_ok "create with a 3 MB annotation"
assert_not_contains "no message-size error" "$ERR" "Message too long"
assert_eq "the createRuntime hook saw the whole annotation" "$big" "$(cat "$TEST_TMP/hook-len" 2>/dev/null)"
b state "$ID"
assert_ok "state of that container"
assert_eq "state shows the whole annotation" "$big" "$(jq -r '.annotations.big | length' <<<"$OUT")"
b start "$ID"
assert_ok "start it"
b delete --force "$ID"

container annotation-run
cfg '.annotations = {"big": $a}' --rawfile a "$TEST_TMP/annotation"
run_sh "$ID" 'echo ran'
assert_ok "run with a 3 MB annotation"
assert_eq "the container ran" "ran" "$OUT"

# ---- 20,000 environment variables

container env
n=20000
cfg '.process.env += [range(0; $n) | "BIG_VAR_\(.)=value-\(.)"]' --argjson n "$n"
run_sh "$ID" 'env | grep -c "^BIG_VAR_"; echo "$BIG_VAR_0 $BIG_VAR_19999"'
assert_ok "run with $n environment variables"
assert_not_contains "no message-size error" "$ERR" "Message too long"
assert_eq "all $n variables arrive, first and last intact" "$n
value-0 value-19999" "$OUT"

# The same variables through exec's process.json.
container exec
cfg_args sleep 60
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d a container to exec into"
jq --argjson n "$n" '.process | .args = ["sh", "-c", "env | grep -c ^BIG_VAR_"]
	| .env += [range(0; $n) | "BIG_VAR_\(.)=value-\(.)"]' "$BUNDLE/config.json" >"$TEST_TMP/process.json"
b exec --process "$TEST_TMP/process.json" "$ID"
assert_ok "exec with $n environment variables"
assert_eq "all $n variables arrive in the exec'd process" "$n" "$OUT"
# A process.json over 1 MiB (45,000 variables, 1.4 MB; their 1.6 MB stays under execve's 2 MB):
# read with the bound of a config.json, as runc reads any size.
n=45000
jq --argjson n "$n" '.process | .args = ["sh", "-c", "env | grep -c ^BIG_VAR_"]
	| .env += [range(0; $n) | "BIG_VAR_\(.)=value-\(.)"]' "$BUNDLE/config.json" >"$TEST_TMP/process.json"
size=$(stat -c %s "$TEST_TMP/process.json")
assert_true "the process.json is over 1 MiB ($size bytes)" test "$size" -gt 1048576
b exec --process "$TEST_TMP/process.json" "$ID"
assert_ok "exec with a $size-byte process.json"
assert_eq "all $n variables arrive" "$n" "$OUT"
b delete --force "$ID"

finish

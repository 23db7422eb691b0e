#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Bad input leaves nothing behind: each broken config (or id, or hook) makes create/run fail
# with exit 1 and an error naming the field or path, and no state dir, cgroup, process or mount
# remains. Also: duplicate ids, and commands on a container that does not exist.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# refused DESC NEEDLE [create|run]: create (or run) $BUNDLE as $ID must fail with exit 1, say
# NEEDLE, and leave nothing.
refused() {
	local desc=$1 needle=$2 cmd=${3:-create}
	if [ "$cmd" = run ]; then
		b run --bundle "$BUNDLE" "$ID"
	else
		b create --bundle "$BUNDLE" "$ID"
	fi
	assert_rc "$desc: $cmd fails with exit 1" 1
	assert_contains "$desc: the error says '$needle'" "$ERR" "$needle"
	assert_no_leftovers "$desc" "$ID"
}

container args-type
cfg '.process.args = "sh"'
refused "process.args is not an array" "process.args"
container args-type-run
cfg '.process.args = "sh"'
refused "process.args is not an array" "process.args" run

container args-empty
cfg '.process.args = []'
refused "process.args is empty" "process.args"

container not-json
echo '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
refused "config.json is not JSON" "config.json"

container no-config
rm -f "$BUNDLE/config.json"
refused "no config.json" "config.json"

container no-rootfs
cfg '.root.path = "no-such-rootfs"'
refused "root.path does not exist" "no-such-rootfs"

container no-root
cfg 'del(.root)'
refused "no root in config.json" "root"

container mount-src
cfg '.mounts += [{destination: "/mnt/x", type: "bind", source: $src, options: ["rbind"]}]' \
	--arg src "$TEST_TMP/no-such-source"
refused "bind mount source does not exist" "$TEST_TMP/no-such-source"

container mount-dest
cfg '.mounts += [{destination: "relative/dest", type: "tmpfs", source: "tmpfs"}]'
refused "mount destination is relative" "destination"

container mount-type
cfg '.mounts += [{destination: "/mnt/x", type: "no-such-fs", source: "none"}]'
refused "unknown filesystem type" "/mnt/x"

container cwd
cfg '.process.cwd = "relative"'
refused "process.cwd is relative" "process.cwd"

container ns
cfg '.linux.namespaces += [{type: "bogus"}]'
refused "unknown namespace type" "bogus"

container cap
cfg '.process.capabilities.bounding += ["cap bogus"] | .process.capabilities.ambient = "CAP_KILL"'
refused "process.capabilities.ambient: expected an array of strings" "process.capabilities.ambient"

container rlimit
cfg '.process.rlimits += [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]'
refused "unknown rlimit" "RLIMIT_BOGUS"

container hook
cfg '.hooks = {createRuntime: [{path: "/bin/false"}]}'
refused "a failing createRuntime hook" "createRuntime"

container hook-missing
cfg '.hooks = {prestart: [{path: $p}]}' --arg p "$TEST_TMP/no-such-hook"
refused "a hook that does not exist" "$TEST_TMP/no-such-hook"

container hook-missing-run
cfg '.hooks = {prestart: [{path: $p}]}' --arg p "$TEST_TMP/no-such-hook"
refused "a hook that does not exist" "$TEST_TMP/no-such-hook" run

container exec-missing
cfg_args /bin/no-such-program
refused "process.args[0] does not exist" "/bin/no-such-program" run

container cgpath
cfg '.linux.cgroupsPath = $p' --arg p "/berth-test/$ID//b"
refused "empty component in cgroupsPath" "cgroupsPath"

# ---- bad ids: refused before anything is made, and nothing appears outside the root
container ids
long=$(printf 'x%.0s' $(seq 1025))
for bad in "../escape" "a/b" ".hidden" "" "with space" 'semi;colon' "$long" "tab	id"; do
	b create --bundle "$BUNDLE" "$bad"
	assert_failed "bad id '${bad:0:40}' is refused"
	assert_ne "bad id '${bad:0:40}': an error message" "" "$ERR"
done
assert_false "nothing was made at $TEST_TMP/escape" test -e "$TEST_TMP/escape"
assert_eq "no state dir was made" "" "$(ls -A "$ROOT" 2>/dev/null)"
assert_eq "no process left after the bad ids" "" "$(marked_pids | xargs)"
# (DESIGN.md allows 1024 characters, but <root>/<id> is a directory: a name over 255 bytes
# cannot exist. 250 is the longest id every part of the system can hold.)
for good in "a" "A.b-c_d+e" "$(printf 'y%.0s' $(seq 250))"; do
	IDS+=("$good")
	cfg '.linux.cgroupsPath = $p' --arg p "/berth-test/$good"
	b create --bundle "$BUNDLE" "$good"
	assert_ok "valid id '${good:0:40}' is accepted"
	b delete --force "$good"
	assert_ok "valid id '${good:0:40}' is deleted"
	assert_no_leftovers "valid id '${good:0:40}'" "$good"
done

# ---- duplicate id
container dup
cfg_args sleep 600
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/dup.pid" "$ID"
assert_ok "first create"
first_pid=$(cat "$TEST_TMP/dup.pid" 2>/dev/null)
track_pid "$first_pid"
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/dup2.pid" "$ID"
assert_rc "second create with the same id fails" 1
assert_contains "the error says 'already exists'" "$ERR" "already exists"
b run -d --bundle "$BUNDLE" "$ID"
assert_rc "run with the same id fails" 1
assert_contains "run: the error says 'already exists'" "$ERR" "already exists"
status_of "$ID"
assert_eq "the first container is untouched" created "$STATUS"
assert_eq "the first container's pid is unchanged" "$first_pid" "$STATE_PID"
assert_true "the first container's init still exists" alive "$first_pid"
b delete "$ID"
assert_ok "delete the first container"
assert_no_leftovers "after the duplicate" "$ID"

# ---- commands on a container that does not exist
new_id ghost
for cmd in state start delete "kill" "kill --all" ps pause resume update "events --stats" exec; do
	# shellcheck disable=SC2086
	if [ "$cmd" = exec ]; then b exec "$ID" true; else b $cmd "$ID"; fi
	assert_rc "$cmd of a missing container exits 1" 1
	assert_contains "$cmd of a missing container: 'does not exist'" "$ERR" "does not exist"
done
b delete --force "$ID"
assert_ok "delete --force of a missing container succeeds (idempotent cleanup)"

# ---- --systemd-cgroup: refused clearly, never a silent cgroupfs fallback
container systemd
cap "$BERTH" --root "$ROOT" --systemd-cgroup create --bundle "$BUNDLE" "$ID"
assert_rc "create --systemd-cgroup fails" 1
assert_contains "it names --systemd-cgroup" "$ERR" "--systemd-cgroup"
assert_no_leftovers "after a refused --systemd-cgroup" "$ID"

finish

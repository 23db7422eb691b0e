#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# A create that fails at any step leaves nothing: a bad cgroupsPath (refused, and failing half
# way through making the directories), a missing namespace path, a mount of an unknown
# filesystem type, a failing prestart / createRuntime / createContainer hook, an executable
# that is not there, a uid or gid outside the user namespace's mapping, a missing console
# socket, an unwritable --pid-file. Each: exit 1, an error naming the step, and no state dir,
# no cgroup directory, no process in the container's cgroups, no new process of the test and no
# mount mentioning the bundle. Also: `berth create` killed with SIGKILL while a createRuntime
# hook sleeps, then `delete --force` cleans up everything.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

# fails_at DESC NEEDLE [CREATE-ARGS...]: create $BUNDLE as $ID fails with exit 1, says NEEDLE,
# and leaves nothing.
fails_at() {
	local desc=$1 needle=$2
	shift 2
	snapshot_pids
	b create --bundle "$BUNDLE" "$@" "$ID"
	assert_rc "$desc: create fails with exit 1" 1
	assert_contains "$desc: the error names the step ('$needle')" "$ERR" "$needle"
	assert_left_nothing "$desc" "$ID" "$BUNDLE"
	status_of "$ID"
	assert_contains "$desc: state says it does not exist" "$ERR" "does not exist"
}

# ---- linux.cgroupsPath refused before anything is made (it would alias /berth-test/<id>-x)
container cg-dotdot
IDS+=("$ID-x")
cfg '.linux.cgroupsPath = "/berth-test/\($id)/../\($id)-x"' --arg id "$ID"
fails_at "a cgroupsPath with '..'" "linux.cgroupsPath"
assert_eq "no cgroup made for the aliased path either" "" "$(cgroup_dirs "$ID-x")"

# ---- a cgroupsPath that fails half way: /berth-test/<id> is made, then <id>/cgroup.procs/x is not
container cg-half
cfg '.linux.cgroupsPath = "/berth-test/\($id)/cgroup.procs/x"' --arg id "$ID"
fails_at "a cgroupsPath through a cgroup file" "/berth-test/$ID/cgroup.procs/x"

# ---- a namespace path that does not exist
container ns-missing
cfg '.linux.namespaces[3] = {type: "uts", path: $p}' --arg p "$TEST_TMP/no-such-ns"
fails_at "a missing namespace path" "linux.namespaces[3]"

# ---- a mount of an unknown filesystem type
container mount
cfg '.mounts += [{destination: "/mnt/x", type: "no-such-fs", source: "none"}]'
fails_at "a mount of an unknown filesystem type" "mounts[6]"

# ---- a failing hook of each create-time kind
for kind in prestart createRuntime createContainer; do
	container "hook-$kind"
	cfg '.hooks = {($k): [{path: "/bin/sh", args: ["sh", "-c", "exit 3"], env: [$mark]}]}' \
		--arg k "$kind" --arg mark "$MARK"
	fails_at "a failing $kind hook" "$kind"
done

# ---- the executable cannot be found
container exec-abs
cfg_args /no/such/binary
fails_at "a missing executable (absolute)" "/no/such/binary"
container exec-path
cfg_args no-such-command
fails_at "a missing executable (looked up in PATH)" "no-such-command"

# ---- a uid / gid outside the user namespace's mapping (0-999 -> 100000-100999)
userns_bundle() {
	chown -R -h 100000:100000 "$BUNDLE/rootfs"
	cfg '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 1000}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 1000}]'
}
container uid-unmapped
userns_bundle
cfg '.process.user = {uid: 5000, gid: 0}'
fails_at "a uid outside the mapping" "process.user.uid"
container gid-unmapped
userns_bundle
cfg '.process.user = {uid: 0, gid: 5000}'
fails_at "a gid outside the mapping" "process.user.gid"

# ---- the console socket does not exist
container console
cfg '.process.terminal = true'
fails_at "a missing console socket" "--console-socket" --console-socket "$TEST_TMP/no-such.sock"

# ---- the pid file cannot be written (the last step, after the init exists)
container pid-file
fails_at "an unwritable --pid-file" "--pid-file" --pid-file "$TEST_TMP/no-such-dir/init.pid"
unset BASE_PIDS

# ---- berth create killed (SIGKILL) while a createRuntime hook sleeps; delete --force cleans up
container killed
hookpid=$TEST_TMP/hook.pid
cfg '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "echo $$ >\($f); exec sleep 600"], env: [$mark]}]}' \
	--arg f "$hookpid" --arg mark "$MARK"
cfg_args sleep 600
snapshot_pids
b_bg create --bundle "$BUNDLE" "$ID"
create_pid=$BG_PID
if wait_file "$hookpid" 20; then
	hook=$(cat "$hookpid")
	track_pid "$hook"
	init_pids=$(cgroup_pids "$ID" | xargs)
	info "create pid $create_pid, hook pid $hook, processes in the container's cgroup: ${init_pids:-none}"
	assert_ne "the container init exists (in its cgroup) while the hook runs" "" "$init_pids"
	assert_true "berth create is still blocked in the hook" alive "$create_pid"
	kill -9 "$create_pid"
	wait_bg 10
	assert_rc "berth create died of SIGKILL" 137
	# The hook is berth's child, not the container's: no runtime can know to reap it (runc neither).
	kill -9 "$hook" 2>/dev/null
	sleep 0.2
	info "after the SIGKILL of create, processes in the container's cgroup: $(cgroup_pids "$ID" | xargs)"
	status_of "$ID"
	info "state after the killed create: rc=$RC status=${STATUS:-none} err=${ERR:0:200}"
	assert_true "state after the killed create is JSON or a clean error" \
		test "$RC" -eq 0 -a -n "$STATUS" -o "$RC" -eq 1
	b delete --force "$ID"
	assert_ok "delete --force after the killed create"
	assert_left_nothing "after the killed create and delete --force" "$ID" "$BUNDLE"
	for p in $init_pids; do
		assert_false "the container init $p is gone" alive "$p"
	done
	b list -q
	assert_eq "list no longer shows it" "" "$(grep -x -F -e "$ID" <<<"$OUT")"
else
	fail "the createRuntime hook did not start within 20s: $(cat "$BG_ERR")"
fi
unset BASE_PIDS

finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters
# Fault injection: BERTH_FAULT=<phase> makes berth _exit(99) at that named phase of create,
# start, exec, delete and checkpoint (common/fault.c, fault_point() calls in runtime/). For each
# phase: the command dies with 99, then `delete --force` succeeds and leaves no state dir, no
# cgroup directory, no process in the container's cgroups or of the test, no mount mentioning the
# bundle, and `list` no longer shows the container. The phase init.before-cgroups kills the
# container's init instead: create itself must fail (exit 1) and leave nothing. (The SIGKILL of a real berth blocked in a
# createRuntime hook is covered by test_create_failures.sh.)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

# faulted DESC PHASE BERTH-ARGS...: run berth with BERTH_FAULT=PHASE; it must exit 99.
faulted() {
	local desc=$1 phase=$2
	shift 2
	BERTH_FAULT=$phase b "$@"
	assert_rc "$desc: berth dies at $phase" 99
}

# cleaned DESC ID [PIDS...]: delete --force succeeds and leaves nothing of ID; PIDS are gone.
cleaned() {
	local desc=$1 id=$2 p
	shift 2
	b delete --force "$id"
	assert_ok "$desc: delete --force"
	assert_left_nothing "$desc" "$id" "$BUNDLE"
	for p in "$@"; do
		assert_false "$desc: process $p is gone" alive "$p"
	done
	b list -q
	assert_ok "$desc: list"
	assert_eq "$desc: list does not show $id" "" "$(grep -x -F -e "$id" <<<"$OUT")"
	b state "$id"
	assert_contains "$desc: state says it does not exist" "$ERR" "does not exist"
}

# running_container TAG: a started container running sleep; sets ID, BUNDLE, INIT_PID.
running_container() {
	container "$1"
	cfg_args sleep 600
	b create --bundle "$BUNDLE" "$ID"
	assert_ok "$1: create"
	b start "$ID"
	assert_ok "$1: start"
	status_of "$ID"
	assert_eq "$1: running" running "$STATUS"
	INIT_PID=$STATE_PID
}

# ---- create: die at each phase, then delete --force cleans up
for phase in create.after-statedir create.after-cgroup create.after-clone create.after-hooks \
	create.before-persist; do
	container "${phase#create.}"
	cfg_args sleep 600
	hookran=$TEST_TMP/hook-$ID
	cfg '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "touch \($f)"], env: [$mark]}]}' \
		--arg f "$hookran" --arg mark "$MARK"
	snapshot_pids
	faulted "$phase" "$phase" create --bundle "$BUNDLE" "$ID"
	left=$(cgroup_pids "$ID" | xargs)
	info "$phase: processes in the container's cgroups after the fault: ${left:-none}"
	if [ "$phase" = create.after-hooks ] || [ "$phase" = create.before-persist ]; then
		assert_true "$phase: the createRuntime hook ran" test -e "$hookran"
	fi
	if [ "$phase" = create.before-persist ]; then
		assert_ne "$phase: the container init exists" "" "$left"
	fi
	# shellcheck disable=SC2086 # a list of pids
	cleaned "$phase" "$ID" $left
	unset BASE_PIDS
done

# ---- the container's init dies during set-up (before it enters its cgroups): create itself
# fails cleanly (exit 1, the init's status named) and leaves nothing behind
container init-dies
cfg_args sleep 600
BERTH_FAULT=init.before-cgroups b create --bundle "$BUNDLE" "$ID"
assert_rc "init.before-cgroups: create fails" 1
assert_contains "init.before-cgroups: and says the init exited" "$ERR" "container init exited with status 99"
assert_no_leftovers "init.before-cgroups" "$ID"

# ---- start: before and after the exec.fifo is written; the container stays deletable
container start-before-fifo
cfg_args sleep 600
b create --bundle "$BUNDLE" "$ID"
assert_ok "start.before-fifo: create"
status_of "$ID"
init=$STATE_PID
faulted "start.before-fifo" start.before-fifo start "$ID"
status_of "$ID"
assert_eq "start.before-fifo: still created" created "$STATUS"
cleaned "start.before-fifo" "$ID" "$init"

container start-after-fifo
cfg_args sleep 600
b create --bundle "$BUNDLE" "$ID"
assert_ok "start.after-fifo: create"
status_of "$ID"
init=$STATE_PID
faulted "start.after-fifo" start.after-fifo start "$ID"
wait_status "$ID" running 5
assert_eq "start.after-fifo: the init was released and runs" running "$STATUS"
cleaned "start.after-fifo" "$ID" "$init"

# ---- exec: the clone may be left in the container; delete --force kills it
running_container exec-after-clone
faulted "exec.after-clone" exec.after-clone exec "$ID" sleep 500
info "exec.after-clone: processes in the container's cgroups: $(cgroup_pids "$ID" | xargs)"
status_of "$ID"
assert_eq "exec.after-clone: the container still runs" running "$STATUS"
cleaned "exec.after-clone" "$ID" "$INIT_PID"

# ---- delete: die half way through, the next delete --force finishes the job
for phase in delete.after-kill delete.after-cgroup; do
	running_container "${phase#delete.}"
	faulted "$phase" "$phase" delete --force "$ID"
	assert_true "$phase: the state dir is still there" test -d "$ROOT/$ID"
	cleaned "$phase" "$ID" "$INIT_PID"
done

# ---- checkpoint: die just before calling into CRIU; the container is intact
running_container checkpoint-before-dump
faulted "checkpoint.before-dump" checkpoint.before-dump checkpoint \
	--image-path "$TEST_TMP/img-$ID" --work-path "$TEST_TMP/work-$ID" "$ID"
status_of "$ID"
assert_eq "checkpoint.before-dump: the container still runs" running "$STATUS"
assert_eq "checkpoint.before-dump: with the same init" "$INIT_PID" "$STATE_PID"
cleaned "checkpoint.before-dump" "$ID" "$INIT_PID"

# ---- an unknown phase name changes nothing
container unknown-phase
BERTH_FAULT=no.such-phase b run --bundle "$BUNDLE" "$ID"
assert_ok "an unknown BERTH_FAULT phase: run succeeds"
cleaned "unknown phase" "$ID"

finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Concurrency under load, on top of test_concurrency.sh and test_parallel.sh:
#   1. 50 parallel `berth run` of distinct containers (sharing one --root and one read-only
#      rootfs): each exits 0 (and printed its id) or 1 with a message, never a signal or a hang;
#      afterwards `list` is empty, no state dir, no /berth-test/<id> cgroup, no process remains;
#   2. 10 rounds of 20 parallel start/kill/delete --force/state on one freshly created id: every
#      command exits 0 or 1 (1 with a message), every `state` prints valid JSON for the id or
#      says "does not exist", state.json on disk is never invalid, and each round's final
#      delete --force leaves nothing.
# Sizes: BERTH_TEST_STRESS_RUNS (50), BERTH_TEST_STRESS_OPS (20), BERTH_TEST_STRESS_ROUNDS (10).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

runs=${BERTH_TEST_STRESS_RUNS:-50}
ops=${BERTH_TEST_STRESS_OPS:-20}
rounds=${BERTH_TEST_STRESS_ROUNDS:-10}
par=$TEST_TMP/par
mkdir -p "$par"

# job NAME ARGS...: berth ARGS... in the background; status, stdout, stderr in $par/NAME.*
job() {
	local name=$1
	shift
	(
		env "$MARK" timeout -k 5 60 "$BERTH" --root "$ROOT" "$@" </dev/null >"$par/$name.out" 2>"$par/$name.err"
		echo $? >"$par/$name.rc"
	) &
	JOBS+=("$!")
}

# wait_jobs: wait for every job started since the last call.
wait_jobs() {
	local p
	for p in "${JOBS[@]}"; do wait "$p"; done
	JOBS=()
}

# job_problem NAME: empty if job NAME exited 0, or 1 with a message on stderr; else what is wrong.
job_problem() {
	local rc
	rc=$(cat "$par/$1.rc" 2>/dev/null || echo none)
	case $rc in
	0) ;;
	1) [ -s "$par/$1.err" ] || echo "$1: exit 1 without a message" ;;
	*) echo "$1: exit status $rc (signal, timeout or usage): $(head -c 200 "$par/$1.err")" ;;
	esac
}

# ================================================================ 1. 50 parallel runs

info "part 1: $runs parallel runs of distinct containers"
# one shared rootfs, read-only; each container only gets its own config.json
container shared
shared_rootfs=$BUNDLE/rootfs
rm -f "$BUNDLE/config.json"
run_ids=()
JOBS=()
for i in $(seq "$runs"); do
	new_id "r$i"
	run_ids+=("$ID")
	mkdir -p "$TEST_TMP/b-$ID"
	base_config "$ID" | jq --arg r "$shared_rootfs" --arg id "$ID" \
		'.root = {path: $r, readonly: true} | .process.args = ["echo", $id]' >"$TEST_TMP/b-$ID/config.json" ||
		die "writing config $i failed"
done
snapshot_pids
for id in "${run_ids[@]}"; do
	job "run-$id" run --bundle "$TEST_TMP/b-$id" "$id"
done
wait_jobs
ok=0
problems=""
for id in "${run_ids[@]}"; do
	p=$(job_problem "run-$id")
	if [ -n "$p" ]; then problems+="$p; "; fi
	if [ "$(cat "$par/run-$id.rc")" = 0 ]; then
		ok=$((ok + 1))
		[ "$(cat "$par/run-$id.out")" = "$id" ] || problems+="run-$id: exit 0 but printed '$(head -c 100 "$par/run-$id.out")'; "
	else
		info "run $id failed: $(head -c 300 "$par/run-$id.err")"
	fi
done
info "$ok of $runs parallel runs succeeded"
assert_eq "$runs parallel runs: each exits 0 (printing its id) or 1 with a message" "" "$problems"
assert_ne "$runs parallel runs: not all failed" 0 "$ok"
b list --quiet
assert_ok "list after the parallel runs"
assert_eq "list is empty after the parallel runs" "" "$OUT"
b list --format json
assert_eq "list --format json is [] after the parallel runs" 0 "$(jq 'length' <<<"$OUT" 2>&1)"
left=""
for id in "${run_ids[@]}"; do
	if [ -e "$ROOT/$id" ]; then left+="state:$id "; fi
	if [ -n "$(cgroup_dirs "$id")" ]; then left+="cgroup:$id "; fi
	if [ -n "$(cgroup_pids "$id")" ]; then left+="procs:$id "; fi
done
assert_eq "$runs parallel runs: no state dir, cgroup or process left" "" "$left"
wait_gone 5 new_pids
assert_eq "$runs parallel runs: no process of this test left" "" "$(new_pids)"
assert_eq "$runs parallel runs: no mount left below the test dir" "" "$(mounts_below "$TEST_TMP")"

# ================================================================ 2. same id, many commands

info "part 2: $rounds rounds of $ops parallel start/kill/delete --force/state on one id"
container same
cfg_args sleep 600
base_id=$ID
problems=""
for round in $(seq "$rounds"); do
	# a fresh id per round, so a leak in one round cannot hide behind the next
	ID=$base_id-$round
	IDS+=("$ID")
	rm -f "$par"/*
	QUIET=1 b create --bundle "$BUNDLE" "$ID"
	if [ "$RC" -ne 0 ]; then
		problems+="round $round: create failed ($RC): ${ERR:0:200}; "
		QUIET=1 b delete --force "$ID"
		continue
	fi
	# a reader parsing state.json on disk all along
	(
		while [ ! -e "$par/stop" ]; do
			if c=$(cat "$ROOT/$ID/state.json" 2>/dev/null) && ! jq -e . >/dev/null 2>&1 <<<"$c"; then
				printf 'invalid state.json: [%s]\n' "${c:0:200}" >>"$par/reader.bad"
			fi
		done
	) &
	reader=$!
	names=()
	for j in $(seq "$ops"); do
		case $((j % 4)) in
		0) job "start$j" start "$ID" && names+=("start$j") ;;
		1) job "kill$j" kill "$ID" KILL && names+=("kill$j") ;;
		2) job "delete$j" delete --force "$ID" && names+=("delete$j") ;;
		3) job "state$j" state "$ID" && names+=("state$j") ;;
		esac
	done
	wait_jobs
	touch "$par/stop"
	wait "$reader"
	summary=""
	for n in "${names[@]}"; do
		p=$(job_problem "$n")
		if [ -n "$p" ]; then problems+="round $round: $p; "; fi
		summary+="$n=$(cat "$par/$n.rc" 2>/dev/null) "
		case $n in
		state*)
			if [ "$(cat "$par/$n.rc")" = 0 ]; then
				jq -e --arg id "$ID" '.id == $id and (.status | test("^(creating|created|running|stopped|paused)$"))' \
					"$par/$n.out" >/dev/null 2>&1 ||
					problems+="round $round: $n printed bad JSON: $(head -c 200 "$par/$n.out"); "
			elif ! grep -q "does not exist" "$par/$n.err"; then
				problems+="round $round: $n failed without 'does not exist': $(head -c 200 "$par/$n.err"); "
			fi
			;;
		esac
	done
	if [ -s "$par/reader.bad" ]; then problems+="round $round: $(head -c 300 "$par/reader.bad"); "; fi
	# whatever survived: state must be readable, then delete --force cleans up
	if [ -e "$ROOT/$ID/state.json" ] && ! jq -e . "$ROOT/$ID/state.json" >/dev/null 2>&1; then
		problems+="round $round: state.json left behind is not valid JSON; "
	fi
	QUIET=1 b delete --force "$ID"
	if [ "$RC" -ne 0 ] && [[ "$ERR" != *"does not exist"* ]]; then
		problems+="round $round: final delete --force failed ($RC): ${ERR:0:200}; "
	fi
	wait_gone 5 cgroup_pids "$ID"
	[ ! -e "$ROOT/$ID" ] || problems+="round $round: state dir remains; "
	[ -z "$(cgroup_dirs "$ID")" ] || problems+="round $round: cgroup dirs remain: $(cgroup_dirs "$ID" | xargs); "
	[ -z "$(cgroup_pids "$ID")" ] || problems+="round $round: processes remain: $(cgroup_pids "$ID" | xargs); "
	info "round $round: $summary"
done
assert_eq "$rounds rounds of $ops parallel commands on one id: clean exits, valid state, nothing left" "" "$problems"
b list --quiet
assert_eq "list is empty after the rounds" "" "$OUT"
wait_gone 5 new_pids
assert_eq "no process of this test left after the rounds" "" "$(new_pids)"
assert_eq "no mount left below the test dir after the rounds" "" "$(mounts_below "$TEST_TMP")"

finish

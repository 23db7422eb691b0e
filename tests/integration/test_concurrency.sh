#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Concurrent commands on one container id never corrupt its state: 20 times, a fresh container
# gets start, state, kill KILL, two delete --force and list at the same moment while a reader
# keeps parsing its state.json; every command ends cleanly (no crash, no hang), state and list
# print valid JSON or a clean "does not exist", state.json is never seen half-written, and the
# final delete --force leaves nothing. Then 10 parallel creates of one id: exactly one wins, the
# others say "already exists", and nothing leaks.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

rounds=${BERTH_TEST_CONCURRENCY_ROUNDS:-20}
par=$TEST_TMP/par
mkdir -p "$par"

# job NAME ARGS...: berth ARGS... in the background; its status, stdout and stderr go to
# $par/NAME.{rc,out,err}. Sets JOB_PID.
job() {
	local name=$1
	shift
	(
		env "$MARK" timeout -k 5 30 "$BERTH" --root "$ROOT" "$@" </dev/null >"$par/$name.out" 2>"$par/$name.err"
		echo $? >"$par/$name.rc"
	) &
	JOB_PID=$!
}

# reader FILE STOPFILE: parse FILE with jq until STOPFILE exists; every content that is not
# valid JSON is appended to FILE.bad (a rename()d state file is never seen half-written).
reader() {
	local f=$1 stop=$2 content
	while [ ! -e "$stop" ]; do
		if content=$(cat "$f" 2>/dev/null) && ! jq -e . >/dev/null 2>&1 <<<"$content"; then
			printf 'invalid state.json: [%s]\n' "${content:0:300}" >>"$par/reader.bad"
		fi
	done
}

# a clean exit: not killed by a signal, not timed out
clean_rc() { [ "$1" -lt 124 ]; }

container conc
cfg_args sleep 600
problems=""
left_dirs=0
for i in $(seq "$rounds"); do
	rm -f "$par"/*
	QUIET=1 b create --bundle "$BUNDLE" "$ID"
	if [ "$RC" -ne 0 ]; then
		problems+="round $i: create failed ($RC): ${ERR:0:200}; "
		QUIET=1 b delete --force "$ID"
		continue
	fi
	reader "$ROOT/$ID/state.json" "$par/stop" &
	reader_pid=$!
	pids=()
	job start start "$ID"
	pids+=("$JOB_PID")
	job state state "$ID"
	pids+=("$JOB_PID")
	job kill kill "$ID" KILL
	pids+=("$JOB_PID")
	job delete delete --force "$ID"
	pids+=("$JOB_PID")
	job delete2 delete --force "$ID"
	pids+=("$JOB_PID")
	job list list --format json
	pids+=("$JOB_PID")
	for p in "${pids[@]}"; do wait "$p"; done
	touch "$par/stop"
	wait "$reader_pid"

	for name in start state kill delete delete2 list; do
		rc=$(cat "$par/$name.rc" 2>/dev/null || echo none)
		if [ "$rc" = none ] || ! clean_rc "$rc"; then
			problems+="round $i: $name ended with status $rc (crash or hang): $(head -c 200 "$par/$name.err"); "
		fi
	done
	for name in delete delete2; do
		[ "$(cat "$par/$name.rc")" = 0 ] ||
			problems+="round $i: one of two parallel delete --force failed: $(head -c 200 "$par/$name.err"); "
	done
	if [ "$(cat "$par/state.rc")" = 0 ]; then
		jq -e --arg id "$ID" '.id == $id and (.status | test("^(creating|created|running|stopped)$"))' \
			"$par/state.out" >/dev/null 2>&1 ||
			problems+="round $i: state succeeded with bad JSON: $(head -c 300 "$par/state.out"); "
	elif ! grep -q "does not exist" "$par/state.err"; then
		problems+="round $i: state failed without 'does not exist': $(head -c 200 "$par/state.err"); "
	fi
	if [ "$(cat "$par/list.rc")" = 0 ]; then
		jq -e 'type == "array" and all(.[]; (.id | type) == "string")' "$par/list.out" >/dev/null 2>&1 ||
			problems+="round $i: list printed bad JSON: $(head -c 300 "$par/list.out"); "
	else
		problems+="round $i: list failed: $(head -c 200 "$par/list.err"); "
	fi
	if [ -s "$par/reader.bad" ]; then
		problems+="round $i: $(head -c 400 "$par/reader.bad"); "
	fi
	if [ -e "$ROOT/$ID" ]; then
		left_dirs=$((left_dirs + 1))
		if ! jq -e . "$ROOT/$ID/state.json" >/dev/null 2>&1; then
			problems+="round $i: state.json left behind is not valid JSON; "
		fi
		QUIET=1 b state "$ID"
		if [ "$RC" -ne 0 ] && [[ "$ERR" != *"does not exist"* ]]; then
			problems+="round $i: state of the leftover dir failed: ${ERR:0:200}; "
		fi
	fi
	QUIET=1 b delete --force "$ID"
	[ "$RC" -eq 0 ] || problems+="round $i: final delete --force failed ($RC): ${ERR:0:200}; "
	wait_gone 3 cgroup_pids "$ID"
	[ ! -e "$ROOT/$ID" ] || problems+="round $i: the state dir remains after delete --force; "
	[ -z "$(cgroup_dirs "$ID")" ] || problems+="round $i: cgroup dirs remain: $(cgroup_dirs "$ID" | xargs); "
	[ -z "$(cgroup_pids "$ID")" ] || problems+="round $i: processes remain: $(cgroup_pids "$ID" | xargs); "
	info "round $i: start=$(cat "$par/start.rc") state=$(cat "$par/state.rc") kill=$(cat "$par/kill.rc") delete=$(cat "$par/delete.rc"),$(cat "$par/delete2.rc") list=$(cat "$par/list.rc")"
done
info "the state dir outlived the parallel delete --force in $left_dirs of $rounds rounds"
assert_eq "$rounds rounds of start/state/kill/delete/delete/list on one id in parallel" "" "$problems"
assert_eq "the parallel delete --force always removed the container (nothing recreates it)" 0 "$left_dirs"
assert_no_leftovers "after the parallel rounds" "$ID"

# ---- 10 parallel creates of one id
container same
cfg_args sleep 600
for round in 1 2 3; do
	rm -f "$par"/*
	pids=()
	for j in $(seq 10); do
		job "create$j" create --bundle "$BUNDLE" "$ID"
		pids+=("$JOB_PID")
	done
	for p in "${pids[@]}"; do wait "$p"; done
	ok=0 exists=0 other=""
	for j in $(seq 10); do
		rc=$(cat "$par/create$j.rc" 2>/dev/null || echo none)
		if [ "$rc" = 0 ]; then
			ok=$((ok + 1))
		elif [ "$rc" = 1 ] && grep -q "already exists" "$par/create$j.err"; then
			exists=$((exists + 1))
		else
			other+="create$j: status $rc: $(head -c 200 "$par/create$j.err"); "
		fi
	done
	assert_eq "round $round: exactly one of 10 parallel creates succeeds" 1 "$ok"
	assert_eq "round $round: the other 9 fail with 'already exists'" 9 "$exists"
	assert_eq "round $round: no create failed otherwise" "" "$other"
	status_of "$ID"
	assert_eq "round $round: the winner's container is created" created "$STATUS"
	assert_eq "round $round: it has one process in its cgroup" 1 "$(cgroup_pids "$ID" | wc -l)"
	b list --format json
	assert_eq "round $round: list shows it once" 1 "$(jq --arg id "$ID" '[.[] | select(.id == $id)] | length' <<<"$OUT" 2>&1)"
	b delete --force "$ID"
	assert_ok "round $round: delete --force"
	assert_no_leftovers "round $round: after the parallel creates" "$ID"
	assert_eq "round $round: no process in its cgroup" "" "$(cgroup_pids "$ID" | xargs)"
done

finish

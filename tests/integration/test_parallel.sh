#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# 20 containers created, started and deleted in parallel (all sharing one --root): every step
# succeeds, each container ran, and afterwards list is empty and no cgroup directory remains.
# Then races on one id: 10 concurrent creates (one wins) and 10 concurrent delete --force.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

n=${BERTH_TEST_PARALLEL:-20}
ids=()
for i in $(seq "$n"); do
	container "p$i"
	cfg_args sh -c "echo ran-$i"
	ids+=("$ID")
done

# one_container ID: create, start, wait for the exit, delete; every step's status in a file.
one_container() {
	local id=$1 bundle=$TEST_TMP/bundle-$1 log=$TEST_TMP/par-$1.log s i
	{
		env "$MARK" timeout 60 "$BERTH" --root "$ROOT" create --bundle "$bundle" "$id" \
			</dev/null >"$TEST_TMP/par-$id.out" 2>&1
		echo "create=$?"
		env "$MARK" timeout 60 "$BERTH" --root "$ROOT" start "$id" </dev/null 2>&1
		echo "start=$?"
		s=""
		for i in $(seq 100); do
			s=$(env "$MARK" timeout 60 "$BERTH" --root "$ROOT" state "$id" 2>/dev/null </dev/null | jq -r .status)
			[ "$s" = stopped ] && break
			sleep 0.1
		done
		echo "final=$s"
		env "$MARK" timeout 60 "$BERTH" --root "$ROOT" delete "$id" </dev/null 2>&1
		echo "delete=$?"
	} >"$log" 2>&1
}

start=$(date +%s%N)
jobs_pids=()
for id in "${ids[@]}"; do
	one_container "$id" &
	jobs_pids+=($!)
done
for p in "${jobs_pids[@]}"; do wait "$p"; done
info "$n containers in $((($(date +%s%N) - start) / 1000000)) ms"

i=0
for id in "${ids[@]}"; do
	i=$((i + 1))
	log=$(cat "$TEST_TMP/par-$id.log")
	want="create=0 start=0 final=stopped delete=0"
	got=$(grep -E '^(create|start|final|delete)=' <<<"$log" | xargs)
	assert_eq "$id: create, start, stop, delete" "$want" "$got"
	[ "$got" = "$want" ] || info "$id log: $log"
	assert_eq "$id: the container ran" "ran-$i" "$(cat "$TEST_TMP/par-$id.out" 2>&1)"
done

b list --format json
assert_ok "list"
assert_eq "list is empty afterwards" 0 "$(jq 'length' <<<"$OUT" 2>&1)"
b list -q
assert_eq "list -q is empty afterwards" "" "$OUT"
assert_eq "no state dirs remain" "" "$(ls -A "$ROOT" 2>/dev/null)"
left=""
for id in "${ids[@]}"; do left+=$(cgroup_dirs "$id"); done
assert_eq "no cgroup directories remain" "" "$left"
assert_eq "no processes remain" "" "$(marked_pids | xargs)"

# ---- the same id from 10 concurrent creates: exactly one wins, the others say "already exists"
container race
cfg_args sleep 600
race_pids=()
for i in $(seq 10); do
	env "$MARK" timeout 60 "$BERTH" --root "$ROOT" create --bundle "$BUNDLE" "$ID" </dev/null \
		>"$TEST_TMP/race-$i.out" 2>&1 &
	race_pids+=($!)
done
won=0
lost=0
other=""
for i in $(seq 10); do
	if wait "${race_pids[$((i - 1))]}"; then
		won=$((won + 1))
	elif grep -q "already exists" "$TEST_TMP/race-$i.out"; then
		lost=$((lost + 1))
	else
		other+="$(cat "$TEST_TMP/race-$i.out"); "
	fi
done
assert_eq "concurrent creates of one id: winners / 'already exists'" "1 / 9" "$won / $lost"
assert_eq "concurrent creates of one id: no other error" "" "$other"
status_of "$ID"
assert_eq "the winner is created" created "$STATUS"
assert_eq "one process in the container's cgroup" 1 "$(wc -l <"$(cgroup_dirs "$ID" | head -n 1)/cgroup.procs")"
# and 10 concurrent delete --force of it: all succeed, nothing remains
del_pids=()
for i in $(seq 10); do
	env "$MARK" timeout 60 "$BERTH" --root "$ROOT" delete --force "$ID" </dev/null >"$TEST_TMP/del-$i.out" 2>&1 &
	del_pids+=($!)
done
del_failed=""
for i in $(seq 10); do
	wait "${del_pids[$((i - 1))]}" || del_failed+="$(cat "$TEST_TMP/del-$i.out"); "
done
assert_eq "10 concurrent delete --force all succeed" "" "$del_failed"
assert_no_leftovers "after the races" "$ID"

finish

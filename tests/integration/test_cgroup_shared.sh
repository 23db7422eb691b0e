#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Containers given one cgroupsPath: berth runs one container per cgroup. A create into a cgroup
# that holds another container's processes is refused with a message naming the cgroup and that
# container; a cgroup that is empty again is taken over. 20 parallel runs in one cgroupsPath
# each either run or are refused that way (never "No such device" / "Broken pipe" from one
# container's delete removing the cgroup under another), and no cgroup is left afterwards.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

shared=/berth-test/bt-shared-$$
IDS+=("${shared#/berth-test/}")
shared_filter='.linux.cgroupsPath = $p | .linux.resources.pids = {limit: 64}'

# ---- one container holds the cgroup: a second create is refused, naming both
container holder
cfg "$shared_filter" --arg p "$shared"
cfg_args sleep 600
holder=$ID
b run -d --bundle "$BUNDLE" "$holder"
assert_ok "run -d the holder in $shared"
container second
cfg "$shared_filter" --arg p "$shared"
b run --bundle "$BUNDLE" "$ID"
assert_failed "a second container in the same cgroup is refused"
assert_contains "the refusal names the cgroup" "$ERR" "cgroup \"$shared\" is in use"
assert_contains "the refusal names the container using it" "$ERR" "container \"$holder\""
assert_false "the refused container left no state" test -e "$ROOT/$ID"
b exec "$holder" true
assert_ok "the holder still runs after the refusal (its cgroup was not touched)"
b delete --force "$holder"
assert_ok "delete the holder"
assert_eq "no cgroup left after the holder's delete" "" "$(cgroup_dirs "${shared#/berth-test/}")"

# ---- 20 parallel runs in one cgroup
n=20
ids=()
for i in $(seq "$n"); do
	container "p$i"
	cfg "$shared_filter" --arg p "$shared"
	cfg_args sh -c "echo ran-$i"
	ids+=("$ID")
done
for id in "${ids[@]}"; do
	(
		env "$MARK" timeout 60 "$BERTH" --root "$ROOT" run --bundle "$TEST_TMP/bundle-$id" "$id" \
			</dev/null >"$TEST_TMP/$id.out" 2>"$TEST_TMP/$id.err"
		echo "$?" >"$TEST_TMP/$id.rc"
	) &
done
wait
ran=0 refused=0
for i in $(seq "$n"); do
	id=${ids[$((i - 1))]}
	rc=$(cat "$TEST_TMP/$id.rc")
	if [ "$rc" = 0 ]; then
		assert_eq "$id: ran" "ran-$i" "$(cat "$TEST_TMP/$id.out")"
		ran=$((ran + 1))
	elif grep -q "cgroup \"$shared\" is in use by container \"bt-" "$TEST_TMP/$id.err"; then
		refused=$((refused + 1))
	else
		fail "$id: exit $rc with an unexpected error: $(cat "$TEST_TMP/$id.err")"
	fi
done
info "$ran ran, $refused refused"
assert_eq "every run ran or was refused cleanly" "$n" "$((ran + refused))"
assert_ne "at least one ran" 0 "$ran"
b list --format json
assert_eq "no container left in the state root" 0 "$(jq 'length' <<<"$OUT" 2>&1)"
assert_eq "no cgroup left for $shared" "" "$(cgroup_dirs "${shared#/berth-test/}")"
assert_eq "no process left" "" "$(marked_pids | tr '\n' ' ')"
finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# OCI hooks: order of all six kinds, the state JSON each gets on stdin, the namespace each runs
# in; a failing createRuntime hook makes create fail and leaves nothing; a hook timeout is
# honoured; hooks that do not read stdin; failing poststart/poststop hooks only warn.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

hookdir=$TEST_TMP/hooks
mkdir -p "$hookdir"
log=$hookdir/log
hook=$hookdir/hook.sh
# The hook script lives at the same absolute path on the host and inside the container (its
# directory is bind-mounted there), because createContainer/startContainer hooks may be resolved
# in the container's mount namespace. It works with dash and with busybox sh.
cat >"$hook" <<'SH'
#!/bin/sh
# hook.sh NAME LOG [EXIT-CODE] [SLEEP-SECONDS]
name=$1 log=$2
state=$(cat | tr -d '\n')
printf '%s\t%s\t%s\n' "$name" "$(readlink /proc/self/ns/mnt)" "$state" >>"$log"
if [ -n "${4:-}" ]; then echo $$ >"$log.sleeper"; exec sleep "$4"; fi
exit "${3:-0}"
SH
chmod 0755 "$hook"
host_mntns=$(readlink /proc/self/ns/mnt)

# hooks_json KIND=EXIT[:SLEEP[:TIMEOUT]] ...: a hooks object, one hook per kind.
hooks_json() {
	local spec kind rest code sleep_s timeout_s json='{}'
	for spec in "$@"; do
		kind=${spec%%=*}
		rest=${spec#*=}
		IFS=: read -r code sleep_s timeout_s <<<"$rest"
		json=$(jq -c --arg kind "$kind" --arg hook "$hook" --arg log "$log" --arg code "$code" \
			--arg sleep "$sleep_s" --arg timeout "$timeout_s" --arg mark "$MARK" '
			.[$kind] += [{path: $hook,
				args: (["hook.sh", $kind, $log, $code] + (if $sleep != "" then [$sleep] else [] end)),
				env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", $mark]}
				+ (if $timeout != "" then {timeout: ($timeout | tonumber)} else {} end)]' <<<"$json")
	done
	echo "$json"
}

# hook_bundle HOOKS-JSON: the bundle's hooks, and the hook directory mounted in the container.
hook_bundle() {
	cfg '.hooks = $hooks | .mounts += [{destination: $dir, type: "bind", source: $dir, options: ["rbind", "rw"]}]' \
		--argjson hooks "$1" --arg dir "$hookdir"
}

logged() { cut -f1 "$log" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }

# ---- all six kinds, in order
container order
: >"$log"
hook_bundle "$(hooks_json prestart=0 createRuntime=0 createContainer=0 startContainer=0 poststart=0 poststop=0)"
cfg_args sh -c "echo process >>$log; exec sleep 600"
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/order.pid" "$ID"
assert_ok "create with hooks"
[ "$RC" -eq 0 ] || die "create failed"
pid=$(cat "$TEST_TMP/order.pid")
track_pid "$pid"
container_mntns=$(readlink "/proc/$pid/ns/mnt")
assert_eq "hooks run by create" "prestart createRuntime createContainer" "$(logged)"
b start "$ID"
assert_ok "start"
for _ in $(seq 50); do grep -q '^poststart' "$log" && grep -q '^process' "$log" && break; sleep 0.1; done
assert_eq "hooks run by start, in order" "prestart createRuntime createContainer startContainer" \
	"$(logged | tr ' ' '\n' | grep -v -x process | head -n 4 | xargs)"
assert_eq "startContainer runs before the user process" "startContainer process" \
	"$(logged | tr ' ' '\n' | grep -x -e startContainer -e process | xargs)"
assert_eq "poststart runs after startContainer (after the user process was executed)" "startContainer poststart" \
	"$(logged | tr ' ' '\n' | grep -x -e startContainer -e poststart | xargs)"
assert_contains "poststart ran" "$(logged)" poststart
b kill "$ID" KILL
wait_status "$ID" stopped 10
assert_not_contains "no poststop before delete" "$(logged)" poststop
b delete "$ID"
assert_ok "delete"
assert_eq "poststop runs last, once" poststop "$(logged | tr ' ' '\n' | tail -n 1)"
assert_eq "each hook ran once" "1 1 1 1 1 1" \
	"$(for k in prestart createRuntime createContainer startContainer poststart poststop; do
		grep -c "^$k	" "$log"; done | xargs)"

# state on stdin and mount namespace of each hook
while IFS=$'\t' read -r kind mntns state; do
	[ "$kind" = process ] && continue
	assert_eq "$kind: stdin is state JSON with the id" "$ID" "$(jq -r .id <<<"$state" 2>&1)"
	assert_eq "$kind: state bundle" "$BUNDLE" "$(jq -r .bundle <<<"$state" 2>&1)"
	if [ "$kind" != poststop ]; then
		assert_eq "$kind: state pid is the init's" "$pid" "$(jq -r .pid <<<"$state" 2>&1)"
	fi
	case "$kind" in
	createContainer | startContainer)
		assert_eq "$kind runs in the container's mount namespace" "$container_mntns" "$mntns" ;;
	*)
		assert_eq "$kind runs in the runtime's mount namespace" "$host_mntns" "$mntns" ;;
	esac
done <"$log"
assert_no_leftovers "after the hook lifecycle" "$ID"

# ---- the order again, 10 times with `run`: the relative timing of startContainer (in the
# container) and poststart (in berth) is a race unless berth waits for the exec before poststart
container order-run
hook_bundle "$(hooks_json prestart=0 createRuntime=0 createContainer=0 startContainer=0 poststart=0 poststop=0)"
cfg_args true
bad_order=""
for i in $(seq 10); do
	: >"$log"
	QUIET=1 b run --bundle "$BUNDLE" "$ID"
	got=$(logged)
	if [ "$RC" -ne 0 ] || [ "$got" != "prestart createRuntime createContainer startContainer poststart poststop" ]; then
		bad_order+="run $i (exit $RC): $got; "
	fi
done
assert_eq "10 runs: hooks always in the order of the runtime spec" "" "$bad_order"
assert_no_leftovers "after the order runs" "$ID"

# ---- a failing createRuntime hook: create fails and leaves nothing
container failing
: >"$log"
hook_bundle "$(hooks_json createRuntime=3)"
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/failing.pid" "$ID"
assert_rc "create with a failing createRuntime hook fails" 1
assert_contains "the error names the hook kind" "$ERR" createRuntime
assert_eq "the failing hook ran" createRuntime "$(logged)"
assert_no_leftovers "after a failing createRuntime hook" "$ID"
status_of "$ID"
assert_contains "state says it does not exist" "$ERR" "does not exist"

# ---- a failing prestart hook (run, not create): the same
container failing-run
: >"$log"
hook_bundle "$(hooks_json prestart=1 poststart=0)"
cfg_args sh -c "echo process >>$log"
b run --bundle "$BUNDLE" "$ID"
assert_rc "run with a failing prestart hook fails" 1
assert_eq "nothing after the failing prestart hook ran" prestart "$(logged)"
assert_no_leftovers "after a failing prestart hook" "$ID"

# ---- hook timeout: a createRuntime hook sleeping 60s with timeout 2
container timeout
: >"$log"
hook_bundle "$(hooks_json createRuntime=0:60:2)"
start=$SECONDS
b create --bundle "$BUNDLE" "$ID"
elapsed=$((SECONDS - start))
assert_rc "create with a hook that times out fails" 1
assert_true "create gave up within 10s (took ${elapsed}s)" test "$elapsed" -le 10
assert_match "the error says the hook timed out" 'time(d)? ?out' "$ERR"
sleeper=$(cat "$log.sleeper" 2>/dev/null)
if [ -n "$sleeper" ]; then
	track_pid "$sleeper"
	assert_false "the timed-out hook was killed" alive "$sleeper"
fi
assert_no_leftovers "after a hook timeout" "$ID"

# ---- hooks need not read their stdin: a hook that exits at once (before berth wrote the state
# to it) is a success, not a reason for berth to die of SIGPIPE. A race, so: many hooks, many runs.
container nostdin
quick='[{path: "/bin/true"}, {path: "/bin/true"}, {path: "/bin/true"}, {path: "/bin/true"}, {path: "/bin/true"}]'
cfg ".hooks = {prestart: $quick, createRuntime: $quick, createContainer: $quick, startContainer: $quick,
	poststart: $quick, poststop: $quick}"
cfg_args true
bad=""
for i in $(seq 30); do
	QUIET=1 b run --bundle "$BUNDLE" "$ID"
	if [ "$RC" -ne 0 ]; then
		bad+="run $i: exit $RC ${ERR:0:200}; "
		QUIET=1 b delete --force "$ID"
		if [ "$RC" -ne 0 ]; then bad+="delete --force after run $i: exit $RC ${ERR:0:200}; "; fi
	fi
done
assert_eq "30 runs with 30 hooks that do not read stdin all succeed" "" "$bad"
assert_no_leftovers "after hooks that ignore stdin" "$ID"

# ---- failing poststart / poststop hooks only warn
container warn
: >"$log"
hook_bundle "$(hooks_json poststart=1 poststop=1)"
cfg_args sleep 600
b create --bundle "$BUNDLE" "$ID"
assert_ok "create"
b start "$ID"
assert_ok "start succeeds although a poststart hook fails"
status_of "$ID"
assert_eq "the container still runs" running "$STATUS"
b delete --force "$ID"
assert_ok "delete succeeds although a poststop hook fails"
assert_eq "both hooks ran" "poststart poststop" "$(logged)"
assert_no_leftovers "after failing poststart/poststop hooks" "$ID"

finish

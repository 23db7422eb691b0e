#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Exit codes and signals: `run` returns the container's exit status (128+N when killed by signal N);
# `kill` accepts TERM, 15 and SIGTERM (and defaults to TERM); `run` forwards signals it receives;
# kill --all reaches every process; a bad signal is refused.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# wait_ready FILE: wait for the container to print "ready" (called through assert_true).
# shellcheck disable=SC2317
wait_ready() {
	local i
	for i in $(seq 100); do
		grep -q '^ready$' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no 'ready' from the container after 10s (i=$i)"
	return 1
}

trap_script='trap "echo got-term; exit 42" TERM; trap "echo got-usr1; exit 43" USR1; echo ready; while :; do sleep 0.1; done'

# ---- plain exit codes
for code in 0 7 255; do
	container "exit$code"
	run_sh "$ID" "exit $code"
	assert_rc "run of 'exit $code' exits $code" "$code"
done

# ---- killed by SIGKILL from outside: run exits 137
container sigkill
cfg_args sh -c 'echo ready; exec sleep 600'
b_bg run --bundle "$BUNDLE" "$ID"
assert_true "container started" wait_ready "$BG_OUT"
b kill "$ID" KILL
assert_ok "kill KILL"
wait_bg 20
assert_rc "run of a container killed by SIGKILL exits 137" 137
assert_no_leftovers "after SIGKILL" "$ID"

# ---- kill by name, number, SIG-name, and the default signal
for form in TERM 15 SIGTERM default; do
	container "term-$form"
	cfg_args sh -c "$trap_script"
	b_bg run --bundle "$BUNDLE" "$ID"
	assert_true "$form: container started" wait_ready "$BG_OUT"
	if [ "$form" = default ]; then b kill "$ID"; else b kill "$ID" "$form"; fi
	assert_ok "kill $form"
	wait_bg 20
	assert_rc "kill $form: the TERM trap ran" 42
	assert_contains "kill $form: container output" "$OUT" got-term
done

# ---- run forwards the signals it receives to the container
for sig in TERM USR1; do
	container "forward-$sig"
	cfg_args sh -c "$trap_script"
	b_bg run --bundle "$BUNDLE" "$ID"
	assert_true "forward $sig: container started" wait_ready "$BG_OUT"
	kill -s "$sig" "$BG_PID"
	wait_bg 20
	if [ "$sig" = TERM ]; then want=42; else want=43; fi
	assert_rc "run forwards SIG$sig to the container" "$want"
	assert_no_leftovers "after forwarding $sig" "$ID"
done

# ---- a bad signal is refused and changes nothing
container badsig
cfg_args sh -c 'echo ready; exec sleep 600'
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d"
for bad in NOSUCHSIG 0x9 -5 99999 SIGNOPE; do
	b kill "$ID" "$bad"
	assert_failed "kill with signal '$bad' is refused"
done
status_of "$ID"
assert_eq "still running after the refused kills" running "$STATUS"
b delete --force "$ID"
assert_ok "delete --force"

# ---- kill --all reaches every process of the container
container killall
cfg_args sh -c 'sleep 600 & sleep 600 & echo ready; wait'
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d (three processes)"
# run -d writes the container's output to its log, not to run's stdout
assert_true "killall: container started" wait_ready "$ROOT/$ID/container.log"
nprocs=$(wc -l <"$(cgroup_dirs "$ID" | head -n 1)/cgroup.procs")
assert_eq "three processes in the container's cgroup" 3 "$nprocs"
b kill --all "$ID" KILL
assert_ok "kill --all KILL"
assert_true "stopped after kill --all" wait_status "$ID" stopped 10
sleep 0.2
left=""
for d in $(cgroup_dirs "$ID"); do left+=$(cat "$d/cgroup.procs" 2>/dev/null); done
assert_eq "no process left in the cgroup after kill --all" "" "$left"
b delete "$ID"
assert_ok "delete"
assert_no_leftovers "after kill --all" "$ID"

finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container and the caller
# Terminal injection (TIOCSTI) and the foreground terminal relay (issue 14 section 2, issue 13
# point 13). Each case runs berth from a shell on a pseudo-terminal of the test's own
# (tests/helpers/ptyrun), standing in for an admin's shell: it has a controlling terminal, and
# after berth returns it reads and runs whatever is waiting on that terminal, as a shell at its
# prompt would. The container runs tests/helpers/tiocsti, which pushes "touch <marker>\n" into
# its stdin, stdout, stderr and /dev/tty. For a foreground run with process.terminal, exec -t,
# run --image -t (Alpine, when ../shared has it), exec without -t and run without a terminal:
# no marker appears, the caller reads nothing, the process's session is not the caller's, and
# with a terminal its stdin is a pty of its own (a controlling terminal that is not the caller's);
# without, the caller's terminal is passed through but is not its controlling terminal.
# The relay: output, typed input, ^C, the caller's window size and a resize reach the process,
# the exit status is berth's, the caller's terminal settings are restored (also when a signal
# kills berth), a stdin that is not a terminal is relayed with EOF passed on, and -d with a
# terminal but no --console-socket is refused.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ -z "${BERTH_PTYRUN:-}" ] || [ ! -x "$BERTH_PTYRUN" ]; then
	skip "BERTH_PTYRUN is not set (ctest sets it to tests/helpers/ptyrun)"
fi
if [ -z "${BERTH_TIOCSTI:-}" ] || [ ! -x "$BERTH_TIOCSTI" ]; then
	skip "BERTH_TIOCSTI is not set (ctest sets it to tests/helpers/tiocsti)"
fi
require_cmd bash stty stat awk

# Since Linux 6.2, dev.tty.legacy_tiocsti = 0 refuses TIOCSTI to anyone without CAP_SYS_ADMIN:
# then the attack cannot be reproduced and its checks would pass on any runtime.
ATTACKS=1
legacy=/proc/sys/dev/tty/legacy_tiocsti
if [ -r "$legacy" ] && [ "$(cat "$legacy")" = 0 ]; then
	ATTACKS=""
	info "SKIP (part): dev.tty.legacy_tiocsti is 0, TIOCSTI cannot be reproduced here"
fi

# caller.sh TAG PIDFILE COMMAND...: the admin's shell. It records its session, controlling
# terminal and terminal settings, starts a watcher that records the same of the process whose
# pid berth writes to PIDFILE, runs COMMAND, then reads and runs the lines waiting on its
# terminal. With KILL_WITH=SIG, COMMAND runs with the terminal as stdin in the background and
# gets SIG once the terminal's settings changed (the relay's raw mode).
CALLER=$TEST_TMP/caller.sh
cat >"$CALLER" <<'EOF'
T=$CALLER_DIR tag=$1 pidfile=$2
shift 2
ids() { echo "$(awk '{ sub(/^.*\) /, ""); print $4, $5 }' "/proc/$1/stat") $(stat -L -c %d:%i "/proc/$1/fd/0")"; }
ids $$ >"$T/$tag.caller"
stty -g >"$T/$tag.before"
if [ "$pidfile" != - ]; then
	(
		for _ in $(seq 250); do [ -s "$pidfile" ] && break; sleep 0.02; done
		ids "$(cat "$pidfile")" >"$T/$tag.proc"
	) </dev/null &
fi
if [ -n "${KILL_WITH:-}" ]; then
	"$@" </dev/tty &
	bpid=$!
	for _ in $(seq 250); do [ "$(stty -g)" != "$(cat "$T/$tag.before")" ] && break; sleep 0.02; done
	stty -g >"$T/$tag.during"
	kill -s "$KILL_WITH" "$bpid"
	wait "$bpid"
else
	"$@"
fi
echo "berth-rc=$?"
wait
stty -g >"$T/$tag.after"
while IFS= read -t 1 -r line; do
	echo "caller-read=[$line]"
	eval "$line"
done
EOF

# in_pty TAG PIDFILE [PTYRUN-STEP...] -- COMMAND...: caller.sh on a new 33x77 terminal; OUT is
# what the terminal showed (carriage returns removed), RC ptyrun's status.
in_pty() {
	local tag=$1 pidfile=$2
	local -a steps=()
	shift 2
	while [ "$1" != -- ]; do
		steps+=("$1")
		shift
	done
	shift
	cap "$BERTH_PTYRUN" --size 33x77 --timeout 50 "${steps[@]}" -- \
		env CALLER_DIR="$TEST_TMP" KILL_WITH="${KILL_WITH:-}" bash "$CALLER" "$tag" "$pidfile" "$@"
	OUT=$(tr -d '\r' <<<"$OUT")
	info "terminal showed: $(head -c 800 <<<"$OUT")"
}

# attack SCRIPT-PREFIX TAG: the container's command: the injection, a second to be looked at, exit 3.
attack_cmd() { echo "tiocsti 'touch $TEST_TMP/pwned-$1'; sleep 1; exit 3"; }

# attack_checks TAG TERMINAL(yes|no): the verdict of one injection case (berth exits 3).
attack_checks() {
	local tag=$1 term=$2 c_sid c_fd0 p_sid p_tty p_fd0
	assert_eq "$tag: ptyrun ran the caller to the end" 0 "$RC"
	assert_contains "$tag: berth exits with the process's status" "$OUT" "berth-rc=3"
	assert_match "$tag: the process made its TIOCSTI attempts" "fd0=[A-Za-z]+ fd1=[A-Za-z]+ fd2=[A-Za-z]+ tty=[A-Za-z]+" "$OUT"
	assert_not_contains "$tag: the caller's shell read nothing the container pushed" "$OUT" "caller-read=["
	assert_eq "$tag: no command of the container's ran in the caller's shell" "" \
		"$(find "$TEST_TMP" -maxdepth 1 -name "pwned-$tag-*" -printf '%f ')"
	read -r c_sid _ c_fd0 <"$TEST_TMP/$tag.caller"
	read -r p_sid p_tty p_fd0 <"$TEST_TMP/$tag.proc" 2>/dev/null
	assert_match "$tag: the container's process was looked at" "^[0-9]+ -?[0-9]+ [0-9]+:[0-9]+$" \
		"${p_sid:-} ${p_tty:-} ${p_fd0:-}"
	assert_ne "$tag: the process's session is not the caller's ($c_sid)" "$c_sid" "${p_sid:-}"
	if [ "$term" = yes ]; then
		assert_ne "$tag: the process has a controlling terminal" 0 "${p_tty:-0}"
		assert_ne "$tag: its stdin is a pty of its own, not the caller's terminal" "$c_fd0" "${p_fd0:-}"
	else
		assert_eq "$tag: the process has no controlling terminal" 0 "${p_tty:-}"
		assert_eq "$tag: its stdin is the caller's terminal, passed through" "$c_fd0" "${p_fd0:-}"
	fi
	assert_eq "$tag: the caller's terminal settings are as before" \
		"$(cat "$TEST_TMP/$tag.before")" "$(cat "$TEST_TMP/$tag.after" 2>/dev/null)"
}

# bundle_with_helper ID TERMINAL: a busybox bundle with tiocsti in /bin.
bundle_with_helper() {
	container "$1"
	cp "$BERTH_TIOCSTI" "$BUNDLE/rootfs/bin/tiocsti" || die "copying tiocsti into the rootfs failed"
	cfg ".process.terminal = $2"
}

if [ -n "$ATTACKS" ]; then
	# ---- foreground run with process.terminal (berth spec's default)
	bundle_with_helper run-tty true
	cfg_args sh -c "$(attack_cmd run-tty)"
	in_pty run-tty "$TEST_TMP/run-tty.pid" -- \
		"$BERTH" --root "$ROOT" run --bundle "$BUNDLE" --pid-file "$TEST_TMP/run-tty.pid" "$ID"
	attack_checks run-tty yes
	assert_no_leftovers "run with a terminal" "$ID"

	# ---- foreground run without a terminal
	bundle_with_helper run-notty false
	cfg_args sh -c "$(attack_cmd run-notty)"
	in_pty run-notty "$TEST_TMP/run-notty.pid" -- \
		"$BERTH" --root "$ROOT" run --bundle "$BUNDLE" --pid-file "$TEST_TMP/run-notty.pid" "$ID"
	attack_checks run-notty no
	assert_no_leftovers "run without a terminal" "$ID"

	# ---- exec -t and exec without -t, into a container started detached
	bundle_with_helper exec false
	cfg_args sleep 600
	b run -d --bundle "$BUNDLE" "$ID"
	assert_ok "run -d a container to exec into"
	in_pty exec-t "$TEST_TMP/exec-t.pid" -- \
		"$BERTH" --root "$ROOT" exec -t --pid-file "$TEST_TMP/exec-t.pid" "$ID" sh -c "$(attack_cmd exec-t)"
	attack_checks exec-t yes
	in_pty exec-notty "$TEST_TMP/exec-notty.pid" -- \
		"$BERTH" --root "$ROOT" exec --pid-file "$TEST_TMP/exec-notty.pid" "$ID" sh -c "$(attack_cmd exec-notty)"
	attack_checks exec-notty no
	b delete --force "$ID"
	assert_ok "delete the exec container"

	# ---- run --image -t (Alpine)
	ALPINE=$(alpine_tarball)
	if [ -z "$ALPINE" ]; then
		info "SKIP (part): no Alpine tarball in $BERTH_SHARED/images: run --image -t not tested"
	else
		STORE=$TEST_TMP/store
		mkdir -p "$STORE" "$TEST_TMP/helper"
		cp "$BERTH_TIOCSTI" "$TEST_TMP/helper/tiocsti"
		b --storage "$STORE" image import "$ALPINE" --name alpine:3.20.3
		assert_ok "import the Alpine tarball"
		new_id image-t
		in_pty image-t "$TEST_TMP/image-t.pid" -- \
			"$BERTH" --root "$ROOT" --storage "$STORE" run --rm --name "$ID" --cgroups-path "/berth-test/$ID" \
			-e "$MARK" -v "$TEST_TMP/helper:/h:ro" --pid-file "$TEST_TMP/image-t.pid" -t \
			--image alpine:3.20.3 sh -c "PATH=/h:\$PATH; $(attack_cmd image-t)"
		attack_checks image-t yes
		assert_no_leftovers "run --image -t" "$ID"
	fi
fi

# ---- the relay: output, input, size, resize, exit status, terminal settings
container relay
cfg '.process.terminal = true'
cfg_args sh -c 'echo "tty=$(tty)"; echo "size1=$(stty size)";
	c=$(stat -c %t:%T /dev/console); t=$(stat -L -c %t:%T /proc/self/fd/0); [ "$c" = "$t" ] && echo "console=tty:$c";
	echo "console-mount=$(grep " /dev/console " /proc/self/mountinfo | grep -c " - devpts ")"; echo ready; read x; echo "got:$x";
	read y; echo "size2=$(stty size)"; exit 3'
in_pty relay - --expect ready --send 'hello world\r' --expect 'got:hello world' \
	--resize 40x100 --send 'go\r' --expect size2= -- "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
assert_eq "relay: ptyrun ran the caller to the end" 0 "$RC"
assert_contains "relay: the process's output arrives" "$OUT" "tty=/dev/pts/0"
assert_contains "relay: the pty's size is the caller's at start" "$OUT" "size1=33 77"
# The runtime spec: /dev/console is the terminal, bind-mounted (as runc and crun do).
assert_match "relay: /dev/console is the process's terminal (same device)" 'console=tty:[0-9a-f]+:[0-9a-f]+' "$OUT"
assert_contains "relay: /dev/console is a devpts bind mount" "$OUT" "console-mount=1"
assert_contains "relay: input typed reaches the process" "$OUT" "got:hello world"
assert_contains "relay: the caller's resize reaches the pty" "$OUT" "size2=40 100"
assert_contains "relay: berth exits with the process's status (3)" "$OUT" "berth-rc=3"
assert_not_contains "relay: the caller's shell read nothing" "$OUT" "caller-read=["
assert_eq "relay: the caller's terminal settings are restored" \
	"$(cat "$TEST_TMP/relay.before")" "$(cat "$TEST_TMP/relay.after" 2>/dev/null)"
assert_no_leftovers "after the relay" "$ID"

# ---- ^C typed goes through the pty to the process, which decides what to do with it
container ctrl-c
cfg '.process.terminal = true'
cfg_args sh -c 'trap "echo got-INT; exit 7" INT; echo ready; while :; do sleep 0.1; done'
in_pty ctrl-c - --expect ready --send '\x03' --expect got-INT -- "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
assert_contains "^C: the process's trap ran" "$OUT" "got-INT"
assert_contains "^C: berth exits with the process's status (7)" "$OUT" "berth-rc=7"
assert_eq "^C: the caller's terminal settings are restored" \
	"$(cat "$TEST_TMP/ctrl-c.before")" "$(cat "$TEST_TMP/ctrl-c.after" 2>/dev/null)"
assert_no_leftovers "after ^C" "$ID"

# ---- exec -t: the same relay, and the caller's size before the process starts
container exec-relay
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d a container to exec into"
in_pty exec-relay - --expect ready --send 'typed\r' --expect got: -- \
	"$BERTH" --root "$ROOT" exec -t "$ID" sh -c 'echo "size=$(stty size)"; echo ready; read x; echo "got:$x"; exit 5'
assert_contains "exec -t: the pty's size is the caller's from the start" "$OUT" "size=33 77"
assert_contains "exec -t: input typed reaches the process" "$OUT" "got:typed"
assert_contains "exec -t: berth exits with the process's status (5)" "$OUT" "berth-rc=5"
assert_eq "exec -t: the caller's terminal settings are restored" \
	"$(cat "$TEST_TMP/exec-relay.before")" "$(cat "$TEST_TMP/exec-relay.after" 2>/dev/null)"
b exec -d -t "$ID" true
assert_rc "exec -d -t without --console-socket is refused" 1
assert_contains "exec -d -t: the error names --console-socket" "$ERR" "--console-socket"
b delete --force "$ID"
assert_ok "delete the exec container"

# ---- a signal that kills berth still restores the caller's terminal
container killed
cfg '.process.terminal = true'
cfg_args sh -c 'sleep 30'
KILL_WITH=ALRM in_pty killed - -- "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
assert_ne "killed: the caller's terminal was raw while berth relayed" \
	"$(cat "$TEST_TMP/killed.before")" "$(cat "$TEST_TMP/killed.during" 2>/dev/null)"
assert_contains "killed: berth died of SIGALRM" "$OUT" "berth-rc=142"
assert_eq "killed: the caller's terminal settings are restored" \
	"$(cat "$TEST_TMP/killed.before")" "$(cat "$TEST_TMP/killed.after" 2>/dev/null)"
b delete --force "$ID"

# ---- stdin that is not a terminal: relayed as is, and its EOF reaches the process
container piped
cfg '.process.terminal = true'
cfg_args sh -c 'echo "tty=$(tty)"; read x; echo "got:$x"; if read y; then echo "more:$y"; else echo eof; fi; exit 4'
NCALL=$((NCALL + 1))
printf 'piped line\n' | env "$MARK" timeout -k 5 "$CMD_TIMEOUT" "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID" \
	>"$TEST_TMP/piped.out" 2>"$TEST_TMP/piped.err"
RC=$?
OUT=$(tr -d '\r' <"$TEST_TMP/piped.out")
ERR=$(cat "$TEST_TMP/piped.err")
assert_rc "piped stdin: berth exits with the process's status (4)" 4
assert_contains "piped stdin: the process has a pty" "$OUT" "tty=/dev/pts/0"
assert_contains "piped stdin: the line reaches the process" "$OUT" "got:piped line"
assert_contains "piped stdin: its EOF reaches the process" "$OUT" "eof"
assert_no_leftovers "after piped stdin" "$ID"

# ---- run --image -d -t without --console-socket is refused (as run -d: test_console.sh)
ALPINE=$(alpine_tarball)
if [ -n "$ALPINE" ] && [ -d "${STORE:-}" ]; then
	new_id image-d
	b --storage "$STORE" run -d -t --name "$ID" --cgroups-path "/berth-test/$ID" --image alpine:3.20.3 true
	assert_rc "run --image -d -t without --console-socket is refused" 1
	assert_contains "run --image -d -t: the error names --console-socket" "$ERR" "--console-socket"
	assert_no_leftovers "after run --image -d -t" "$ID"
fi

finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# process.terminal with --console-socket: the pty master reaches the socket (received by
# tests/helpers/recvtty), the container's stdio is /dev/pts/0 of its own devpts and its
# controlling terminal, consoleSize is applied, input written to the master reaches the process,
# and the master reports EIO when the container exits. A detached terminal without
# --console-socket, --console-socket without a terminal and a socket that is not there are
# clean errors that leave nothing.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

[ -n "${BERTH_RECVTTY:-}" ] || skip "BERTH_RECVTTY is not set (ctest sets it to tests/helpers/recvtty)"

# tty_nr of /dev/pts/0: major 136, minor 0
pts0_nr=$((136 * 256))

# ---- create + start with a terminal
container tty
cfg '.process.terminal = true | .process.consoleSize = {height: 30, width: 100}'
cfg_args sh -c 'tty; stty size; for f in 0 1 2; do printf "fd%s=" $f; readlink /proc/self/fd/$f; done;
	set -- $(cat /proc/self/stat); echo "tty_nr=$7 sid=$6"; read -r line; echo "got=$line"'
sock=$TEST_TMP/tty.sock
start_recvtty "$sock" --input $'hello console\n' --timeout 30
b create --bundle "$BUNDLE" --console-socket "$sock" --pid-file "$TEST_TMP/tty.pid" "$ID"
assert_ok "create with process.terminal and --console-socket"
[ "$RC" -eq 0 ] || die "create failed: the rest of the terminal checks depend on it"
create_out=$OUT_FILE
create_err=$ERR_FILE
track_pid "$(cat "$TEST_TMP/tty.pid")"
b start "$ID"
assert_ok "start"
wait_recvtty 20
assert_eq "recvtty saw EOF/EIO when the container exited" 0 "$RECVTTY_RC"
info "console output: $(head -c 600 <<<"$TTY_OUT")"
assert_contains "tty prints the container's own /dev/pts/0" "$TTY_OUT" $'\n/dev/pts/0\n'
assert_contains "stty size is consoleSize (rows columns)" "$TTY_OUT" $'\n30 100\n'
assert_contains "stdin is the pty" "$TTY_OUT" "fd0=/dev/pts/0"
assert_contains "stdout is the pty" "$TTY_OUT" "fd1=/dev/pts/0"
assert_contains "stderr is the pty" "$TTY_OUT" "fd2=/dev/pts/0"
assert_match "the pty is the controlling terminal" "tty_nr=$pts0_nr sid=[0-9]+" "$TTY_OUT"
assert_contains "input written to the master reaches the process" "$TTY_OUT" "got=hello console"
assert_eq "nothing of the container reached create's stdout" "" "$(cat "$create_out")"
assert_eq "nothing of the container reached create's stderr" "" "$(cat "$create_err")"
assert_eq "recvtty reported no error" "" "$(cat "$RECVTTY_ERR")"
assert_true "the container stops" wait_status "$ID" stopped 10
b delete "$ID"
assert_ok "delete"
assert_no_leftovers "after the terminal container" "$ID"

# ---- /dev/console: the terminal bound there (runtime spec), never onto a symlink's target
# (runc CVE-2025-52565). Without a /dev tmpfs the rootfs's own /dev shows, and there /dev/console
# is a symlink to a canary file of the rootfs.
container console-link
echo CANARY >"$BUNDLE/rootfs/etc/console-target"
ln -sf /etc/console-target "$BUNDLE/rootfs/dev/console"
ln -sf pts/ptmx "$BUNDLE/rootfs/dev/ptmx"
cfg '.process.terminal = true | .mounts |= map(select(.destination != "/dev" and .destination != "/dev/shm"
	and .destination != "/dev/mqueue"))'
cfg_args cat /etc/console-target
sock=$TEST_TMP/console-link.sock
start_recvtty "$sock" --timeout 30
b create --bundle "$BUNDLE" --console-socket "$sock" "$ID"
assert_rc "create with /dev/console a symlink in the rootfs is refused" 1
assert_contains "the error says why" "$ERR" "/dev/console in the rootfs is not a file or a character device"
assert_eq "nothing was mounted over the symlink's target" "CANARY" "$(cat "$BUNDLE/rootfs/etc/console-target")"
wait_recvtty 10
assert_no_leftovers "refused /dev/console symlink" "$ID"

# ---- run -d with a terminal: the same through run
container run-d
cfg '.process.terminal = true | .process.consoleSize = {height: 12, width: 34}'
cfg_args sh -c 'echo "size=$(stty size)"; echo "tty=$(tty)"'
sock=$TEST_TMP/run-d.sock
start_recvtty "$sock" --timeout 30
b run -d --bundle "$BUNDLE" --console-socket "$sock" "$ID"
assert_ok "run -d with --console-socket"
wait_recvtty 20
assert_eq "recvtty saw EOF/EIO (run -d)" 0 "$RECVTTY_RC"
assert_contains "run -d: consoleSize" "$TTY_OUT" "size=12 34"
assert_contains "run -d: /dev/pts/0" "$TTY_OUT" "tty=/dev/pts/0"
assert_true "run -d: the container stops" wait_status "$ID" stopped 10
b delete "$ID"
assert_ok "delete (run -d)"
assert_no_leftovers "after run -d with a terminal" "$ID"

# ---- a detached terminal needs a console socket
container no-socket
cfg '.process.terminal = true'
cfg_args sh -c 'echo should-not-run'
b create --bundle "$BUNDLE" "$ID"
assert_rc "create with process.terminal and no --console-socket fails" 1
assert_contains "the error names --console-socket" "$ERR" "--console-socket"
assert_contains "the error names process.terminal" "$ERR" "process.terminal"
assert_not_contains "the process did not run" "$OUT" should-not-run
assert_no_leftovers "after create without --console-socket" "$ID"
b run -d --bundle "$BUNDLE" "$ID"
assert_rc "run -d with process.terminal and no --console-socket fails" 1
assert_contains "run -d: the error names --console-socket" "$ERR" "--console-socket"
assert_no_leftovers "after run -d without --console-socket" "$ID"

# ---- a console socket without a terminal
container no-terminal
cfg_args sh -c 'echo should-not-run'
sock=$TEST_TMP/no-terminal.sock
start_recvtty "$sock" --timeout 30
b create --bundle "$BUNDLE" --console-socket "$sock" "$ID"
assert_rc "create with --console-socket and process.terminal false fails" 1
assert_contains "the error names --console-socket" "$ERR" "--console-socket"
assert_contains "the error says process.terminal is false" "$ERR" "process.terminal"
assert_true "recvtty got no connection (still listening)" alive "$RECVTTY_PID"
kill "$RECVTTY_PID" 2>/dev/null
wait "$RECVTTY_PID" 2>/dev/null
assert_no_leftovers "after --console-socket without a terminal" "$ID"

# ---- a console socket that does not exist
container missing-socket
cfg '.process.terminal = true'
b create --bundle "$BUNDLE" --console-socket "$TEST_TMP/no-such.sock" "$ID"
assert_rc "create with a missing --console-socket fails" 1
assert_contains "the error names --console-socket" "$ERR" "--console-socket"
assert_contains "the error names the path" "$ERR" "$TEST_TMP/no-such.sock"
assert_no_leftovers "after a missing console socket" "$ID"

# ---- a console socket path that is a regular file, not a socket
container file-socket
cfg '.process.terminal = true'
: >"$TEST_TMP/not-a-socket"
b create --bundle "$BUNDLE" --console-socket "$TEST_TMP/not-a-socket" "$ID"
assert_rc "create with a regular file as --console-socket fails" 1
assert_contains "the error names --console-socket" "$ERR" "--console-socket"
assert_no_leftovers "after a console socket that is not a socket" "$ID"

finish

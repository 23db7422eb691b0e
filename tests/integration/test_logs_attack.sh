#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# tests/integration/test_logs_attack.sh: what a container can do to its own log (run -d) and so to
# `berth logs` run by the admin. The init's fds 1 and 2 are an O_WRONLY descriptor of the log: the
# container may ftruncate it (to any size, also far beyond what it wrote: a sparse file that costs
# nothing), and root in the container (no user namespace) may reopen it through /proc/self/fd/1.
#   - a sparse log of 64 GiB with a few bytes of output: `logs` prints the bytes written, not
#     64 GiB of NULs (holes are never output: O_APPEND writes cannot make one), and at once;
#   - a log truncated while `logs -f` follows it: what is written after the truncation is printed
#     (as tail -f does), not lost until the file grows past the old offset;
#   - a log that is not a regular file (only root can put one in the state dir) is refused at
#     once, not opened (a FIFO would block `logs` forever).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# logs_capped ID [ARGS]: `berth logs ARGS ID` with its output cut at 8 MiB (a broken berth would
# write up to 64 GiB), under a 20 s timeout; sets RC (of berth), OUT_SIZE and OUT_FILE.
logs_capped() {
	local id=$1
	shift
	NCALL=$((NCALL + 1))
	OUT_FILE=$TEST_TMP/call$NCALL.out
	env "$MARK" timeout -k 2 20 "$BERTH" --root "$ROOT" logs "$@" "$id" </dev/null 2>"$TEST_TMP/call$NCALL.err" |
		head -c 8388608 >"$OUT_FILE"
	RC=${PIPESTATUS[0]}
	OUT_SIZE=$(stat -c %s "$OUT_FILE")
	printf '+ logs %s %s  -> %d (%s bytes)\n' "$*" "$id" "$RC" "$OUT_SIZE"
}

# ---------------------------------------------------------------- a sparse log of 64 GiB
container sparse
cfg_args sh -c 'echo before-extend; truncate -s 64G /proc/self/fd/1 && echo after-extend; sleep 60'
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d a container that extends its log to 64 GiB"
LOG=$ROOT/$ID/container.log
# (tail -c: grep would read the 64 GiB)
for _ in $(seq 50); do [ "$(tail -c 13 "$LOG" 2>/dev/null)" = after-extend ] && break; sleep 0.1; done
assert_eq "the container made its log 64 GiB long" 68719476736 "$(($(stat -c %s "$LOG") - 13))"
START=$SECONDS
logs_capped "$ID"
assert_eq "logs exits 0" 0 "$RC"
assert_eq "logs prints the output, not the hole" "$(printf 'before-extend\nafter-extend\n')" "$(tr -d '\0' <"$OUT_FILE")"
# SEEK_DATA sees holes by file-system block: the NULs of the block that ends the first line remain
assert_true "and not the 64 GiB of NULs: at most 27 bytes and one 1 MiB block ($OUT_SIZE bytes)" \
	test "$OUT_SIZE" -le $((27 + 1048576))
assert_true "within 10 s" test $((SECONDS - START)) -le 10
b kill "$ID" KILL
wait_status "$ID" stopped || fail "$ID did not stop"
logs_capped "$ID" -f
assert_eq "logs -f of the stopped container exits 0" 0 "$RC"
assert_true "logs -f prints no more either ($OUT_SIZE bytes)" test "$OUT_SIZE" -le $((27 + 1048576))
b delete "$ID"
assert_ok "delete"

# ---------------------------------------------------------------- truncated while followed
container trunc
cfg_args sh -c 'i=0; while [ $i -lt 100 ]; do echo "before-truncate line $i with some padding to make it long"; i=$((i + 1)); done
	while [ ! -e /go ]; do sleep 0.1; done
	: >/proc/self/fd/1
	echo after-truncate
	sleep 2'
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d a container that truncates its log"
b_bg logs -f "$ID"
for _ in $(seq 100); do grep -q "line 99" "$BG_OUT" && break; sleep 0.1; done
assert_contains "logs -f printed the lines before the truncation" "$(cat "$BG_OUT")" "line 99"
touch "$BUNDLE/rootfs/go"
wait_bg 20
assert_eq "logs -f exits 0 when the container stops" 0 "$RC"
assert_eq "the log holds only the new line now" after-truncate "$(cat "$ROOT/$ID/container.log")"
assert_contains "logs -f printed what was written after the truncation" "$OUT" after-truncate
b delete "$ID"

# ---------------------------------------------------------------- not a regular file
container fifo
cfg_args sh -c 'echo hello'
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d"
wait_status "$ID" stopped || fail "$ID did not stop"
rm -f "$ROOT/$ID/container.log"
mkfifo -m 0600 "$ROOT/$ID/container.log"
CMD_TIMEOUT=10 b logs "$ID"
assert_failed "logs of a log that is a FIFO fails (and does not block)"
assert_contains "saying it is not a regular file" "$ERR" "not a regular file"
b delete "$ID"
assert_ok "delete"

finish

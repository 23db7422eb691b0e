#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# A hostile source against the target: `berth migrate-receive` (runtime/migrate_receive.c) reads
# the whole protocol from its stdin, as the source sends it over ssh. Its guardian
# (guardian_cleanup) undoes a failed migration from marker files in MIG_DIR_BASE/<id>: .image (an
# image to remove), .restoring (a container to delete --force) and .plain (a bundle to rm -rf).
#   1. The source can write those markers itself: FILE accepts any name of [A-Za-z0-9._-], and
#      ".image" is one. A HELLO, a FILE .image holding "localhost/victim:1" and the end of the
#      stream make the target remove an image it had before (the migration imported nothing).
#   2. The guardian runs after every failed worker, not only a killed one, and takes .restoring
#      (written before berth_container_restore is called) to mean "this receiver restored the
#      container". A restore that fails because a container of that id was made on the target
#      after HELLO (or for any other reason) then makes the guardian `delete --force` that other
#      container.
#   3. LINK checks its target with sscanf(target, "../pre%d"), which ignores what follows the
#      number: "../pre1/../../../../../etc" is accepted and pre1/parent then points out of the
#      migration directory (CRIU would read the "parent" images from there at the restore).
# Each of the three was seen (4 of 14 checks failed before the fixes: dot-names are refused as
# paths, the guardian acts only for a worker that died, LINK must be exactly "../preN").
# Expected (asserted): the target's image stays; the other container keeps running; the link is
# refused (SYNC answers ERR).
# Needs: python3 for a stand-in criu that passes HELLO's CRIU check (CRIU cannot run on this
# host's kernel; nothing here gets as far as running CRIU for real).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd python3 tar
FAKE_CRIU=$TEST_TMP/criu
cat >"$FAKE_CRIU" <<'EOF'
#!/usr/bin/env python3
# answers libcriu's CHECK request (swrk mode) with success, and `criu check` with 0
import socket, sys
if len(sys.argv) >= 3 and sys.argv[1] == "swrk":
    s = socket.socket(fileno=int(sys.argv[2]))
    while True:
        if not s.recv(65536):
            break
        s.send(b"\x08\x03\x10\x01")  # criu_resp { type = CHECK, success = true }
    sys.exit(0)
sys.exit(0 if sys.argv[1:2] == ["check"] else 1)
EOF
chmod 0755 "$FAKE_CRIU"
STORE=$TEST_TMP/store
mkdir -p "$STORE"
[ -d /var/lib/berth/restored ] && had_restored=1 || had_restored=0

# receive: berth migrate-receive with the test's root, store and criu
receive() { "$BERTH" --root "$ROOT" --storage "$STORE" --criu "$FAKE_CRIU" migrate-receive; }

# ---------------------------------------------------------------- 1. a source-written .image
"$BERTH_SRC/scripts/make-oci-image.sh" --rootfs "$(busybox_rootfs)" --name localhost/victim --tag 1 \
	"$TEST_TMP/victim.tar" >/dev/null || die "make-oci-image.sh failed"
b --storage "$STORE" image import "$TEST_TMP/victim.tar"
[ "$RC" -eq 0 ] || die "image import failed: $ERR"
new_id img
REF=localhost/victim:1
{
	printf 'HELLO 2 %s /var/lib/berth/migrate/%s - - -\n' "$ID" "$ID"
	printf 'FILE 600 %d .image\n%s' "${#REF}" "$REF"
} >"$TEST_TMP/stream1"
env "$MARK" timeout 30 "$BERTH" --root "$ROOT" --storage "$STORE" --criu "$FAKE_CRIU" migrate-receive \
	<"$TEST_TMP/stream1" >"$TEST_TMP/answers1" 2>"$TEST_TMP/err1"
RC=$?
assert_eq "the receiver answered HELLO (the stand-in criu passed its check)" "OK 0" "$(head -n 1 "$TEST_TMP/answers1")"
assert_eq "it rolled back at the end of the stream (exit 1)" 1 "$RC"
b --storage "$STORE" image ls
assert_contains "the target's image localhost/victim:1 is still there" "$OUT" "localhost/victim"
assert_false "the migration directory is gone" test -e "/var/lib/berth/migrate/$ID"

# ---------------------------------------------------------------- 2. a failed restore
new_id conflict
cfg_dir=$TEST_TMP/fifo-$ID
mkdir -p "$cfg_dir"
mkfifo "$cfg_dir/in"
receive <"$cfg_dir/in" >"$cfg_dir/answers" 2>"$cfg_dir/err" &
RPID=$!
track_pid "$RPID"
exec 3>"$cfg_dir/in"
printf 'HELLO 2 %s /var/lib/berth/migrate/%s - - -\n' "$ID" "$ID" >&3
wait_file "$cfg_dir/answers" 20 || fail "no answer to HELLO: $(cat "$cfg_dir/err")"
assert_eq "HELLO accepted: no container $ID on the target yet" "OK 0" "$(head -n 1 "$cfg_dir/answers")"
# meanwhile (the source's pre-copy rounds take seconds to minutes) the target gets a container
# of that id, from someone else
bundle_new "$ID"
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d another container $ID on the target"
wait_status "$ID" running || fail "$ID is not running"
OTHER_PID=$STATE_PID
# the final archive (not a real one: the restore fails whatever the reason) and RESTORE
printf 'FILE 600 5 final.tar\nxxxxxRESTORE final.tar\n' >&3
for _ in $(seq 100); do grep -q '^ERR' "$cfg_dir/answers" && break; sleep 0.1; done
exec 3>&-
for _ in $(seq 100); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.1; done
wait "$RPID"
assert_eq "the receiver failed the restore and rolled back" 1 "$?"
ANSWERS=$(cat "$cfg_dir/answers")
info "the receiver answered: $ANSWERS"
assert_contains "the restore was refused" "$ANSWERS" "ERR"
status_of "$ID"
assert_eq "the other container $ID still exists and runs" running "$STATUS"
assert_true "its process is alive" alive "$OTHER_PID"
assert_false "the migration directory is gone" test -e "/var/lib/berth/migrate/$ID"

# ---------------------------------------------------------------- 3. a link out of the directory
new_id link
{
	printf 'HELLO 2 %s /var/lib/berth/migrate/%s - - -\n' "$ID" "$ID"
	printf 'LINK pre1/parent ../pre1/../../../../../etc\nSYNC\n'
} >"$TEST_TMP/stream3"
env "$MARK" timeout 30 "$BERTH" --root "$ROOT" --storage "$STORE" --criu "$FAKE_CRIU" migrate-receive \
	<"$TEST_TMP/stream3" >"$TEST_TMP/answers3" 2>"$TEST_TMP/err3"
assert_eq "HELLO accepted" "OK 0" "$(head -n 1 "$TEST_TMP/answers3")"
assert_contains "the link out of the migration directory is refused at SYNC" \
	"$(sed -n 2p "$TEST_TMP/answers3")" "ERR"
assert_false "the migration directory is gone" test -e "/var/lib/berth/migrate/$ID"

# ---------------------------------------------------------------- 4. CONSOLE that is not a socket
# migrate --console-socket PATH names a socket on the target; a regular file, a directory, a
# missing path or a relative one is refused at once, and the receiver rolls back.
new_id con
: >"$TEST_TMP/not-a-socket"
for path in "$TEST_TMP/not-a-socket" "$TEST_TMP" "$TEST_TMP/missing.sock" relative.sock; do
	{
		printf 'HELLO 2 %s /var/lib/berth/migrate/%s - - -\n' "$ID" "$ID"
		printf 'CONSOLE %s\n' "$path"
	} >"$TEST_TMP/stream4"
	env "$MARK" timeout 30 "$BERTH" --root "$ROOT" --storage "$STORE" --criu "$FAKE_CRIU" migrate-receive \
		<"$TEST_TMP/stream4" >"$TEST_TMP/answers4" 2>"$TEST_TMP/err4"
	assert_eq "CONSOLE $path: the receiver fails (exit 1)" 1 "$?"
	assert_eq "CONSOLE $path: HELLO accepted" "OK 0" "$(head -n 1 "$TEST_TMP/answers4")"
	assert_match "CONSOLE $path: refused" '^ERR .*(not a socket on the target|bad CONSOLE path)' \
		"$(sed -n 2p "$TEST_TMP/answers4")"
	assert_false "CONSOLE $path: the migration directory is gone" test -e "/var/lib/berth/migrate/$ID"
	assert_false "CONSOLE $path: no state dir" test -e "$ROOT/$ID"
done

# ---------------------------------------------------------------- 5. an older source
# Protocol 2 added the target's last answer of a post-copy (every page here, or its copy
# stopped); a source of protocol 1 would take a broken page channel for success: refused.
new_id v1
printf 'HELLO 1 %s /var/lib/berth/migrate/%s - - -\n' "$ID" "$ID" >"$TEST_TMP/stream5"
env "$MARK" timeout 30 "$BERTH" --root "$ROOT" --storage "$STORE" --criu "$FAKE_CRIU" migrate-receive \
	<"$TEST_TMP/stream5" >"$TEST_TMP/answers5" 2>"$TEST_TMP/err5"
assert_eq "HELLO of protocol 1: the receiver fails (exit 1)" 1 "$?"
assert_match "it answers ERR naming both versions" '^ERR .*1.*2' "$(head -n 1 "$TEST_TMP/answers5")"
assert_false "no migration directory" test -e "/var/lib/berth/migrate/$ID"

[ "$had_restored" = 1 ] || rmdir /var/lib/berth/restored 2>/dev/null
finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# checkpoint / restore on this host, where CRIU cannot work (Debian's CRIU 3.17 on a 6.18 kernel:
# the real dump/restore is tested in tests/vm/test_vm_checkpoint.sh). Here: the failure is clear
# (CRIU's error lines and its log's path in the message), exit 1, and the container keeps running
# with its state intact; usage errors; restore from a missing or empty image path, or a bad
# archive, fails clearly and leaves nothing (no state dir, no cgroup, no unpacked bundle).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

container ck
cfg '.root.readonly = false'
cfg_args sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/tmp/n; sleep 0.05; done'
b run -d --bundle "$BUNDLE" --pid-file "$TEST_TMP/init.pid" "$ID"
assert_ok "run -d"
[ "$RC" -eq 0 ] || die "run -d failed"
init=$(cat "$TEST_TMP/init.pid")
track_pid "$init"
b state "$ID"
before=$OUT

# ---- checkpoint fails clearly here
b checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$ID"
if [ "$RC" -eq 0 ]; then
	info "CRIU works on this kernel ($(uname -r)): the failure checks do not apply"
	b delete --force "$ID"
else
	assert_rc "checkpoint fails on this kernel with exit 1" 1
	info "$ERR"
	assert_contains "the error names the container" "$ERR" "checkpoint \"$ID\""
	assert_match "the error carries CRIU's error lines" 'Error \(criu/[a-z_-]+\.c:[0-9]+\)' "$ERR"
	assert_contains "the error names CRIU's log" "$ERR" "log: $TEST_TMP/work/"
	logf=$(grep -o "log: [^ ]*" <<<"$ERR" | cut -d' ' -f2)
	assert_true "that log exists" test -s "$logf"
	b state "$ID"
	assert_eq "the container still runs" running "$(jq -r .status <<<"$OUT")"
	assert_eq "its state is unchanged" "$before" "$OUT"
	assert_true "its init is alive" kill -0 "$init"
	n1=$(cat "$BUNDLE/rootfs/tmp/n")
	sleep 0.3
	assert_ne "it keeps counting" "$n1" "$(cat "$BUNDLE/rootfs/tmp/n")"
	b checkpoint --export "$TEST_TMP/x.tar.gz" --export-rootfs "$ID"
	assert_rc "checkpoint --export fails the same way" 1
	# No --work-path and a private image dir: CRIU's log is kept for the user where the error says.
	assert_contains "the error names where CRIU's log was kept" "$ERR" "/tmp/berth-criu-$ID"
	assert_true "that log exists" test -s "/tmp/berth-criu-$ID/check.log"
	rm -rf "/tmp/berth-criu-$ID"
	assert_false "and leaves no archive" test -e "$TEST_TMP/x.tar.gz"
	assert_eq "nothing half-written beside it" "" "$(find "$TEST_TMP" -maxdepth 1 -name 'x.tar.gz*' -printf '%f\n')"
fi

# ---- usage and bad input
# An archive that cannot be written where asked is refused before CRIU stops anything.
b checkpoint --export "$TEST_TMP/no/such/dir/x.tar" "$ID"
assert_rc "checkpoint --export into a missing directory fails" 1
assert_contains "it names --export" "$ERR" "--export: cannot write into"
b state "$ID"
assert_eq "the container still runs after the refused export" running "$(jq -r .status <<<"$OUT")"
b checkpoint --manage-cgroups-mode bogus --image-path "$TEST_TMP/img2" "$ID"
assert_rc "a bad --manage-cgroups-mode fails" 1
assert_contains "and says why" "$ERR" "--manage-cgroups-mode"
b checkpoint --export-rootfs "$ID"
assert_rc "--export-rootfs without --export" 1
assert_contains "says it needs --export" "$ERR" "--export"
# A plain bundle has no overlay upper dir to carry: --export alone is refused before CRIU runs.
b checkpoint --export "$TEST_TMP/plain.tar" "$ID"
assert_rc "--export of a plain bundle without --export-rootfs" 1
assert_contains "says to add --export-rootfs" "$ERR" "add --export-rootfs"
assert_false "and writes no archive" test -e "$TEST_TMP/plain.tar"
b state "$ID"
assert_eq "the container still runs after it" running "$(jq -r .status <<<"$OUT")"
b checkpoint --image-path "$TEST_TMP/i3" nosuch
assert_rc "checkpoint of a missing container" 1
assert_contains "says it does not exist" "$ERR" "does not exist"
b checkpoint
assert_rc "checkpoint without an id is a usage error" 2
b restore --import "$TEST_TMP/a.tar" --image-path "$TEST_TMP/img" r0
assert_rc "--import with --image-path is a usage error" 2

# ---- restore leaves nothing when it fails
b restore --image-path "$TEST_TMP/missing" --bundle "$BUNDLE" --detach r1
assert_rc "restore from a missing image path" 1
assert_contains "names the image path" "$ERR" "$TEST_TMP/missing"
mkdir -p "$TEST_TMP/empty"
b restore --image-path "$TEST_TMP/empty" --bundle "$BUNDLE" --detach r2
assert_rc "restore from an image path without a checkpoint" 1
assert_contains "says there is no checkpoint" "$ERR" "no checkpoint"
for r in r1 r2; do
	assert_false "no state dir for $r" test -e "$ROOT/$r"
	assert_false "no cgroup for $r" test -e "/sys/fs/cgroup/unified/berth-test/$r"
done
printf 'this is not a tar file' >"$TEST_TMP/bad.tar"
b restore --import "$TEST_TMP/bad.tar" --bundle "$TEST_TMP/unpacked" --detach r3
assert_rc "restore --import of a damaged archive" 1
assert_contains "names the archive" "$ERR" "bad.tar"
assert_false "it left no unpacked bundle" test -e "$TEST_TMP/unpacked"
assert_false "it left no state dir" test -e "$ROOT/r3"
b restore --import "$TEST_TMP/nosuch.tar" --bundle "$TEST_TMP/unpacked" --detach r4
assert_rc "restore --import of a missing file" 1
assert_false "it left no unpacked bundle" test -e "$TEST_TMP/unpacked"

b state "$ID"
assert_eq "after all that the container still runs" running "$(jq -r .status <<<"$OUT")"
b delete --force "$ID"
assert_ok "delete --force"
finish

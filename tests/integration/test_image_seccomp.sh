#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# `run --image` confines the process with berth's default seccomp profile (issue 14, section 5):
# Docker and podman apply theirs, berth applied none (Seccomp: 0). The default denies, among
# others, unshare (a user namespace here, which needs no capability) with EPERM while an ordinary
# shell works; --security-opt seccomp=unconfined removes it, seccomp=FILE replaces it, and a bad
# FILE or option is refused naming the option, with no container left.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd tar jq
[ -x "$BERTH_SRC/scripts/make-oci-image.sh" ] || skip "scripts/make-oci-image.sh is missing"
STORE=$TEST_TMP/store
mkdir -p "$STORE"
"$BERTH_SRC/scripts/make-oci-image.sh" --rootfs "$(busybox_rootfs)" --name localhost/sc --tag 1 \
	"$TEST_TMP/sc.tar" >/dev/null || die "make-oci-image.sh failed"
b --storage "$STORE" image import "$TEST_TMP/sc.tar"
[ "$RC" -eq 0 ] || die "image import failed: $ERR"

# run_image TAG ARGS...: run --image --rm with a cgroup of the test's own; the command is last.
run_image() {
	new_id "$1"
	shift
	b --storage "$STORE" run --name "$ID" --rm --cgroups-path "/berth-test/$ID" -e "$MARK" "$@"
}
probe='grep "^Seccomp:" /proc/self/status; unshare -U true 2>&1; echo unshare=$?; mkdir /tmp/d 2>&1; echo mkdir=$?'

# Whether this host lets an unprivileged-enough process make a user namespace at all (else the
# unshare checks say nothing).
userns_ok=false
if unshare -U true 2>/dev/null; then userns_ok=true; fi

# ---- the default profile

run_image default --image localhost/sc:1 sh -c "echo hello; $probe"
assert_ok "run --image under the default profile"
assert_contains "an ordinary shell works" "$OUT" "hello"
assert_match "a seccomp filter is on the process" 'Seccomp:[[:space:]]+2' "$OUT"
assert_contains "mkdir is allowed" "$OUT" "mkdir=0"
if $userns_ok; then
	assert_contains "unshare of a user namespace fails with EPERM" "$OUT" "Operation not permitted"
	assert_contains "unshare returned non-zero" "$OUT" "unshare=1"
else
	info "user namespaces are not available here: the unshare check is not run"
fi

# ---- seccomp=unconfined

run_image unconfined --image localhost/sc:1 --security-opt seccomp=unconfined sh -c "$probe"
assert_ok "run --image --security-opt seccomp=unconfined"
assert_match "no seccomp filter" 'Seccomp:[[:space:]]+0' "$OUT"
if $userns_ok; then assert_contains "unshare -U works without the filter" "$OUT" "unshare=0"; fi

# ---- seccomp=FILE

jq -n '{defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
	syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13}]}' >"$TEST_TMP/deny-mkdir.json"
run_image file --image localhost/sc:1 --security-opt "seccomp=$TEST_TMP/deny-mkdir.json" sh -c "$probe"
assert_ok "run --image --security-opt seccomp=FILE"
assert_match "the FILE's filter is on the process" 'Seccomp:[[:space:]]+2' "$OUT"
assert_contains "mkdir fails as FILE says (EACCES)" "$OUT" "Permission denied"
assert_contains "mkdir returned non-zero" "$OUT" "mkdir=1"
if $userns_ok; then assert_contains "unshare is allowed by FILE" "$OUT" "unshare=0"; fi

# ---- bad options and files: refused naming the option, nothing left

# refused CASE MESSAGE OPTION...
refused() {
	local what=$1 msg=$2
	shift 2
	run_image bad --image localhost/sc:1 "$@" true
	assert_failed "$what: refused"
	assert_contains "$what: the error names the option" "$ERR" "$msg"
	assert_false "$what: no container is left" test -d "$ROOT/$ID"
	assert_eq "$what: no container directory in the store" "" "$(ls "$STORE/containers" 2>/dev/null)"
}
printf '{"defaultAction": ' >"$TEST_TMP/truncated.json"
jq -n '{defaultAction: "SCMP_ACT_SOMETIMES"}' >"$TEST_TMP/bad-action.json"
echo '[1, 2]' >"$TEST_TMP/array.json"
refused "invalid JSON" "run: --security-opt seccomp=$TEST_TMP/truncated.json: " \
	--security-opt "seccomp=$TEST_TMP/truncated.json"
refused "an unknown action" "run: --security-opt seccomp=$TEST_TMP/bad-action.json: linux.seccomp.defaultAction" \
	--security-opt "seccomp=$TEST_TMP/bad-action.json"
refused "not an object" "run: --security-opt seccomp=$TEST_TMP/array.json" --security-opt "seccomp=$TEST_TMP/array.json"
refused "a missing file" "run: --security-opt seccomp=$TEST_TMP/nope.json: No such file" \
	--security-opt "seccomp=$TEST_TMP/nope.json"
refused "another option" 'run: --security-opt "apparmor=x": expected seccomp=unconfined or seccomp=FILE' \
	--security-opt apparmor=x

# ---- documented

b run --image localhost/sc:1 --help
assert_contains "run --image --help lists --security-opt" "$OUT" "--security-opt"
assert_contains "and says what unconfined means" "$OUT" "seccomp=unconfined"
assert_true "README mentions --security-opt" grep -q -- "--security-opt seccomp=" "$BERTH_SRC/README.md"
assert_true "the man page mentions --security-opt" grep -q -- "--security-opt" "$BERTH_SRC/docs/berth.1.md"

finish

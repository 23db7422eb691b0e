#!/bin/bash
# The statically linked berth runs its netlink operations through `berth-ext __netlink` (Debian
# has no static libmnl; cli/netlink_proxy.c, cli/netlink_helper.c). Here, in a network namespace
# of the test's own:
#   - the helper itself: link-exists answers "ok 1" / "ok 0", an unknown operation "err CODE ...";
#   - berth without berth-ext beside it: a container whose linux.netDevices needs netlink fails
#     with an error naming the missing helper, and leaves nothing behind;
#   - with berth-ext there, the same container starts and gets the device (the proxy round trip).
# The parts about berth itself need it static; a dynamic berth (the sanitizer build) links the
# netlink code directly, and those parts are skipped with a note.
# shellcheck source=tests/integration/in_netns.sh
. "$(dirname "$0")/in_netns.sh"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
require_cmd ip readelf

EXT=$(dirname "$BERTH")/berth-ext
[ -x "$EXT" ] || die "no berth-ext beside $BERTH"

# ---- the helper on its own
out=$("$EXT" __netlink link-exists lo)
assert_eq "__netlink link-exists lo" "ok 1" "$out"
out=$("$EXT" __netlink link-exists nosuch0)
assert_eq "__netlink link-exists of a missing link" "ok 0" "$out"
out=$("$EXT" __netlink bogus-op)
rc=$?
assert_eq "__netlink with an unknown operation exits 1" 1 "$rc"
assert_match "and says why on one line" "^err -22 __netlink: unknown operation" "$out"

if readelf -l "$BERTH" | grep -q INTERP; then
	info "berth is linked dynamically (netlink code inside it): the proxy parts do not apply"
	finish
fi

# ---- berth alone, without berth-ext: a clear error, nothing left
# a dummy link where the kernel has the module, else one end of a veth pair
ip link add bt-dummy0 type dummy 2>/dev/null || ip link add bt-dummy0 type veth peer name bt-dummy0p ||
	die "ip link add"
with_device() {
	container "$1"
	cfg '.linux.netDevices = {"bt-dummy0": {name: "eth5"}}'
	cfg_args cat /sys/class/net/eth5/operstate
}
with_device alone
mkdir "$TEST_TMP/alone"
cp "$BERTH" "$TEST_TMP/alone/berth"
cap "$TEST_TMP/alone/berth" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
assert_rc "run without berth-ext beside berth fails" 1
assert_contains "the error names the missing helper" "$ERR" "berth-ext must be installed beside berth"
assert_no_leftovers "after the failed run" "$ID"
assert_true "the device is still on the host" ip link show bt-dummy0

# ---- with berth-ext: the device moves in and comes back
with_device withext
b run --bundle "$BUNDLE" "$ID"
assert_ok "run with linux.netDevices through the helper"
assert_match "the container saw its renamed device (an operstate)" "^[a-z]+$" "$OUT"
assert_true "the device is back on the host after delete" ip link show bt-dummy0
assert_no_leftovers "after run" "$ID"
ip link del bt-dummy0

finish

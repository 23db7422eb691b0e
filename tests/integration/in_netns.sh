# shellcheck shell=bash
# Sourced first (before lib.sh) by a test that must run in a network namespace of its own: it
# re-runs the test there with `unshare -n`, which then plays the host (bridges, veth ends and
# test interfaces live and vanish with it), or skips (exit 77) where that cannot be done.
#
#   . "$(dirname "$0")/in_netns.sh"
if [ -z "${BERTH_TEST_IN_NETNS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: integration tests need root"
		exit 77
	fi
	if ! command -v unshare >/dev/null 2>&1 || ! unshare -n true 2>/dev/null; then
		echo "SKIP: cannot make a network namespace here (unshare -n)"
		exit 77
	fi
	BERTH_TEST_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
[ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/1/ns/net)" ] || {
	echo "FATAL: not in a network namespace of the test's own" >&2
	exit 1
}

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# linux.sysctl only reaches namespaces the container owns (issue 14, section 5): ipc sysctls
# (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) need a new ipc namespace, net.* a new
# network namespace (one joined by path counts only if it is not berth's own); kernel.hostname and
# kernel.domainname are refused (config.json has hostname/domainname); every other key is refused.
# Each refusal names the key, and the value in berth's own namespace stays as it was.
#
# The test runs in an ipc and a network namespace of its own (re-executed under `unshare -in`):
# they play the host, so a runtime that writes into its own namespaces (berth before this check
# did: 256 -> 100) changes nothing outside the test.
if [ -z "${BERTH_TEST_IN_IPCNET:-}" ]; then
	if [ "$(id -u)" -eq 0 ] && unshare -in true 2>/dev/null; then
		BERTH_TEST_IN_IPCNET=1 exec unshare -in bash "$0" "$@"
	fi
	echo "SKIP: needs root and unshare -in (an ipc and a network namespace of the test's own)"
	exit 77
fi
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(readlink /proc/self/ns/ipc)" != "$(readlink /proc/1/ns/ipc)" ] || die "not in an ipc namespace of our own"

QMAX=/proc/sys/fs/mqueue/queues_max
FWD=/proc/sys/net/ipv4/ip_forward
MSGMAX=/proc/sys/kernel/msgmax
qmax0=$(cat "$QMAX")
fwd0=$(cat "$FWD")
msgmax0=$(cat "$MSGMAX")
[ "$qmax0" != 100 ] || die "queues_max is already 100: the test could not see a change"
[ "$fwd0" = 0 ] || die "ip_forward is not 0 in a fresh network namespace"

no_ns() { cfg ".linux.namespaces |= map(select(.type != \"$1\"))"; }

# refused CASE KEY VALUE MESSAGE: create with linux.sysctl {KEY: VALUE} fails naming MESSAGE
refused() {
	cfg '.linux.sysctl = {($k): $v}' --arg k "$2" --arg v "$3"
	b create --bundle "$BUNDLE" "$ID"
	assert_failed "$1: create is refused"
	assert_contains "$1: the error names the key and the reason" "$ERR" "$4"
	assert_false "$1: no state is left" test -e "$ROOT/$ID"
	assert_eq "$1: queues_max of berth's ipc namespace is unchanged" "$qmax0" "$(cat "$QMAX")"
	assert_eq "$1: ip_forward of berth's network namespace is unchanged" "$fwd0" "$(cat "$FWD")"
	assert_eq "$1: msgmax of berth's ipc namespace is unchanged" "$msgmax0" "$(cat "$MSGMAX")"
}

# ---- refused: the namespace is berth's own

container no-ipc
no_ns ipc
refused "fs.mqueue without an ipc namespace" fs.mqueue.queues_max 100 \
	'linux.sysctl: "fs.mqueue.queues_max" needs a new ipc namespace (the container would change the host'"'"'s)'
refused "kernel.msgmax without an ipc namespace" kernel.msgmax 12345 \
	'linux.sysctl: "kernel.msgmax" needs a new ipc namespace'
refused "the slash spelling without an ipc namespace" fs/mqueue/queues_max 100 \
	'linux.sysctl: "fs/mqueue/queues_max" needs a new ipc namespace'

container own-ipc-path
cfg '.linux.namespaces |= map(if .type == "ipc" then .path = "/proc/self/ns/ipc" else . end)'
refused "berth's own ipc namespace joined by path" fs.mqueue.queues_max 100 \
	'linux.sysctl: "fs.mqueue.queues_max" needs a new ipc namespace'

container no-net
no_ns network
refused "net.* without a network namespace" net.ipv4.ip_forward 1 \
	'linux.sysctl: "net.ipv4.ip_forward" needs a new network namespace'

container own-net-path
cfg '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "/proc/$$/ns/net"
refused "berth's own network namespace joined by path" net.ipv4.ip_forward 1 \
	'linux.sysctl: "net.ipv4.ip_forward" needs a new network namespace'

# ---- refused whatever the namespaces

container uts
refused "kernel.hostname" kernel.hostname evil 'linux.sysctl: "kernel.hostname" is refused: set the hostname field'
refused "kernel.domainname" kernel.domainname evil \
	'linux.sysctl: "kernel.domainname" is refused: set the domainname field'
# Keys of no namespace: the host's own values, so that a runtime that writes them changes nothing.
container other
refused "a sysctl of no namespace" vm.swappiness "$(cat /proc/sys/vm/swappiness)" \
	'linux.sysctl: "vm.swappiness" is not in a namespace the container owns'
refused "kernel.* outside the ipc list" kernel.pid_max "$(cat /proc/sys/kernel/pid_max)" \
	'linux.sysctl: "kernel.pid_max" is not in a namespace'

# ---- allowed: namespaces the container owns; the values are read back inside

container ipc-net
cfg '.linux.sysctl = {"fs.mqueue.queues_max": "100", "kernel.msgmax": "12345", "net.ipv4.ip_forward": "1",
	"net/ipv4/conf/lo/forwarding": "1"}'
run_sh "$ID" 'cat /proc/sys/fs/mqueue/queues_max /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ip_forward \
	/proc/sys/net/ipv4/conf/lo/forwarding | tr "\n" " "'
assert_ok "run with ipc and net sysctls in new namespaces"
assert_eq "the container sees its values" "100 12345 1 1 " "$OUT"
assert_eq "queues_max outside is unchanged" "$qmax0" "$(cat "$QMAX")"
assert_eq "msgmax outside is unchanged" "$msgmax0" "$(cat "$MSGMAX")"
assert_eq "ip_forward outside is unchanged" "$fwd0" "$(cat "$FWD")"

# An ipc namespace joined by path that is not berth's: the container owns it (shares it with a
# holder process of the test's own).
unshare -i sleep 600 &
holder=$!
track_pid "$holder"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(readlink "/proc/$holder/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ] && break
	sleep 0.1
done
container joined-ipc
cfg '.linux.namespaces |= map(if .type == "ipc" then .path = $p else . end)
	| .linux.sysctl = {"kernel.shmmni": "2048"}' --arg p "/proc/$holder/ns/ipc"
run_sh "$ID" 'cat /proc/sys/kernel/shmmni'
assert_ok "run with an ipc sysctl in a joined ipc namespace of another process"
assert_eq "the container sees its value" "2048" "$OUT"
assert_eq "the joined namespace has it" "2048" "$(nsenter --ipc="/proc/$holder/ns/ipc" cat /proc/sys/kernel/shmmni)"
assert_ne "berth's own namespace does not" "2048" "$(cat /proc/sys/kernel/shmmni)"

finish

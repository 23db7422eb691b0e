#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# A config that says nothing about device access (no linux.resources.devices, or no
# linux.resources at all) still gets runc's device policy: deny all but the devices every container
# needs (null, zero, full, random, urandom, tty, ptmx, pts, tun). Before, berth left the device
# cgroup alone, so a container with CAP_MKNOD could make and read a node of the host's (here
# /dev/kmsg, 1:11, the kernel log). `update` without device rules keeps the container's.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# PROBE: mknod the kernel log and try to read it; /dev/null must stay usable.
PROBE='mknod /tmp/kmsg c 1 11 || echo mknod-failed
if head -c 1 /tmp/kmsg >/dev/null 2>/tmp/err; then echo kmsg=read; else echo "kmsg=denied: $(cat /tmp/err)"; fi
if echo x >/dev/null; then echo null=ok; fi'

for variant in no-device-rules no-resources; do
	container "$variant"
	# CAP_SYSLOG too, so that dmesg_restrict is not what refuses the read; CAP_MKNOD to make the node.
	cfg '.process.capabilities |= with_entries(.value += ["CAP_MKNOD", "CAP_SYSLOG"])'
	if [ "$variant" = no-device-rules ]; then
		cfg 'del(.linux.resources.devices)'
	else
		cfg 'del(.linux.resources)'
	fi
	run_sh "$ID" "$PROBE"
	assert_rc "$variant: the container runs" 0
	assert_contains "$variant: reading the host's kernel log is denied" "$OUT" "kmsg=denied"
	assert_contains "$variant: the denial is the device cgroup's" "$OUT" "Operation not permitted"
	assert_contains "$variant: /dev/null stays usable" "$OUT" "null=ok"
	assert_no_leftovers "$variant" "$ID"
done

# An explicit allow still works, and `update` without device rules keeps it.
container allowed
cfg '.process.capabilities |= with_entries(.value += ["CAP_MKNOD", "CAP_SYSLOG"])
	| .linux.resources.devices = [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 11, access: "rwm"}]'
cfg_args sh -c 'mknod /tmp/kmsg c 1 11; sleep 60'
b run -d --bundle "$BUNDLE" "$ID"
assert_rc "a container allowed 1:11" 0
echo '{"pids": {"limit": 100}}' >"$TEST_TMP/update.json"
b update --resources "$TEST_TMP/update.json" "$ID"
assert_rc "update without device rules" 0
b exec "$ID" sh -c 'head -c 1 /tmp/kmsg >/dev/null && echo kmsg=read'
assert_contains "after update, the allowed node still opens" "$OUT" "kmsg=read"
b delete --force "$ID"
assert_no_leftovers "allowed" "$ID"

finish

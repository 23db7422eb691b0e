#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, the container's script
# tests/vm/test_vm_migrate_network.sh: migrating a container attached to a berth network (a veth
# pair on the network's bridge, a leased address) with one archive, on Debian's 6.1 kernel (CRIU
# 3.17 does not run on the host's 6.18). Two boots, each with its own state root, as two hosts:
#   boot 1 (dump): `network create n1 --subnet 10.88.0.0/24`; a sleeping container "hold" takes
#     the lowest address (10.88.0.2), so the busybox container ck1 (annotation berth.network=n1)
#     gets 10.88.0.3; ck1 writes "<random id> <n> <eth0 address>" into /tmp/counter of its rootfs
#     in a loop; the guest (the host side) pings it. On this host: `checkpoint --image-path`
#     (ck1 gone with its host veth and lease; the images record "n1 10.88.0.3"), "hold" deleted,
#     `restore --image-path --bundle` (whose config has no address) carries the counter on with
#     10.88.0.3, not the now lowest free 10.88.0.2, and answers ping. The restored ck1 is dumped
#     again with `checkpoint --export FILE --export-rootfs`: gone with its host veth and lease.
#   boot 2 (restore, fresh state): `restore --import` without the network is refused naming n1
#     and how to create it, leaving no bundle, no state, no bridge, no veth; after `network create
#     n1` (same subnet) the recorded address is refused while another container holds it (nothing
#     left, its lease kept); once free, `restore --import` brings the process back: the same id, a
#     larger number, the same eth0 address (10.88.0.3, not the lowest free one), the record and
#     `network inspect` carry the address, the guest pings it; `delete` removes the host veth and
#     releases the lease.
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (as test_vm_smoke.sh). Exit: 0 pass,
# 1 fail, 2 VM error, 77 skipped.
set -uo pipefail

CG_PATH=/berth-vm/mignet
SUBNET=10.88.0.0/24
ADDR=10.88.0.3 # ck1's: the second address, 10.88.0.2 goes to "hold"

host_main() {
	local here repo vm_dir results berth guest_berth start phase
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init mignet
	vm_host_busybox_bundle
	local script='id=$(cat /proc/sys/kernel/random/uuid); i=0
while :; do i=$((i+1)); a=$(ip -4 -o addr show dev eth0 | awk "{ print \$4 }"); echo "$id $i $a" >/tmp/counter; sleep 0.2; done'
	# Its own network namespace (berth.network needs one); no cgroup namespace, no /sys (as
	# test_vm_checkpoint.sh: what CRIU restores is kept to what the test is about).
	vm_host_edit_config --arg cg "$CG_PATH" --arg script "$script" '
		.process.terminal = false
		| .process.args = ["sh", "-c", $script]
		| .root.readonly = false
		| .linux.cgroupsPath = $cg
		| .annotations["berth.network"] = "n1"
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "cgroup")]
		| if any(.linux.namespaces[]; .type == "network") then . else .linux.namespaces += [{"type": "network"}] end
		| .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup" and .destination != "/sys")]'
	vm_host_guest_berth
	for phase in dump restore; do
		vm_host_boot "$phase" --timeout 300 --env "BERTH=$guest_berth" --env "MN_PHASE=$phase" || exit
	done
	exit 0
}

# ---------------------------------------------------------------- in the guest

# counter_at FILE MIN: until FILE holds "<id> <n> <addr>" with n >= MIN (at most ~40 s); prints it.
counter_at() {
	local line="" n
	for _ in $(seq 200); do
		line=$(cat "$1" 2>/dev/null)
		n=$(cut -d' ' -f2 <<<"$line")
		[ "$n" -ge "$2" ] 2>/dev/null && break
		sleep 0.2
	done
	echo "$line"
}

# shellcheck disable=SC2317 # also defined by newer guest-lib.sh versions
ms_since() { echo "$(((${EPOCHREALTIME/./} - $1) / 1000)) ms"; }

field() { cut -d' ' -f"$1" <<<"$2"; }

b() { cap "$BERTH" --root "$ROOT" "$@"; }

# inspect_n1 JQ-FILTER: applied to `network inspect n1`.
inspect_n1() { "$BERTH" --root "$ROOT" network inspect n1 2>/dev/null | jq -r "$1"; }

# bundle_copy DIR [JQ-FILTER]: the test's bundle copied to DIR, its config.json rewritten by the filter.
bundle_copy() {
	cp -a "$BERTH_VM_RESULTS/bundle" "$1" || die "cannot copy the bundle"
	if [ -n "${2:-}" ]; then
		jq "$2" "$1/config.json" >"$1/config.json.new" || die "jq $2"
		mv "$1/config.json.new" "$1/config.json"
	fi
}

# sleeper NAME [IP]: a container on n1 that only sleeps (with the fixed address IP).
sleeper() {
	local bundle=$VM_TMP/$1 filter
	filter='.process.args = ["sleep", "600"] | .linux.cgroupsPath = "/berth-vm/'$1'"'
	if [ -n "${2:-}" ]; then filter+=' | .annotations["berth.network.ip"] = "'$2'"'; fi
	bundle_copy "$bundle" "$filter"
	b run -d -b "$bundle" "$1"
	assert_ok "run -d $1 on n1${2:+ with the address $2}"
}

remove() {
	b delete --force "$1"
	assert_ok "delete --force $1"
}

# shellcheck disable=SC2317 # called through assert_true
pings() { busybox ping -c 1 -W 3 "$1" >/dev/null 2>&1; }

guest_dump() {
	local bundle=$VM_TMP/bundle line at hostif t
	b network create n1 --subnet "$SUBNET"
	assert_ok "network create n1 --subnet $SUBNET"
	sleeper hold
	bundle_copy "$bundle"
	b run -d -b "$bundle" ck1
	assert_ok "run -d ck1 on n1"
	[ "$RC" -eq 0 ] || die "run failed: $ERR"
	line=$(counter_at "$bundle/rootfs/tmp/counter" 5)
	info "counter before the checkpoint: $line"
	assert_eq "ck1's eth0 has the second address of n1" "$ADDR/24" "$(field 3 "$line")"
	assert_eq "the record has it" "$ADDR" \
		"$("$BERTH" --root "$ROOT" state ck1 2>/dev/null | jq -r '.annotations["berth.network.ip"]')"
	assert_true "the guest pings ck1 at $ADDR" pings "$ADDR"
	hostif=$(inspect_n1 '.containers[] | select(.id == "ck1") | .hostInterface')
	assert_true "ck1's host veth '$hostif' is on the bridge" test -e "/sys/class/net/berth-n1/brif/$hostif"

	# On this host: a final dump into a directory, "hold" deleted (10.88.0.2 is free: the lowest),
	# restore from the bundle's config (without berth.network.ip) gets its address back.
	t=${EPOCHREALTIME/./}
	b checkpoint --image-path "$VM_TMP/img" --work-path "$VM_TMP/work" ck1
	info "checkpoint --image-path took $(ms_since "$t")"
	assert_ok "checkpoint --image-path of a container on n1"
	[ "$RC" -eq 0 ] || { info "$ERR"; tail -n 30 "$VM_TMP/work/dump.log" 2>/dev/null; }
	at=$(cat "$bundle/rootfs/tmp/counter")
	assert_false "its host veth is gone" test -e "/sys/class/net/$hostif"
	assert_eq "its lease is released" hold "$(inspect_n1 '[.containers[].id] | join(",")')"
	assert_eq "the images record its network and address" "n1 $ADDR" "$(cat "$VM_TMP/img/berth-network" 2>&1)"
	remove hold
	t=${EPOCHREALTIME/./}
	b restore --image-path "$VM_TMP/img" --work-path "$VM_TMP/work-r" --bundle "$bundle" --detach ck1
	info "restore --image-path took $(ms_since "$t")"
	assert_ok "restore --image-path on the same host"
	[ "$RC" -eq 0 ] || { info "$ERR"; tail -n 30 "$VM_TMP/work-r/restore.log" 2>/dev/null; }
	line=$(counter_at "$bundle/rootfs/tmp/counter" $(($(field 2 "$at") + 3)))
	info "at the checkpoint: '$at'; after the restore: '$line'"
	assert_eq "same host: the same process, its eth0 address kept (not the free 10.88.0.2)" \
		"$(field 1 "$at") $ADDR/24" "$(field 1 "$line") $(field 3 "$line")"
	assert_true "same host: it counted on" test "$(field 2 "$line")" -gt "$(field 2 "$at")"
	assert_eq "same host: network inspect: ck1 holds $ADDR" "ck1 $ADDR" \
		"$(inspect_n1 '[.containers[] | "\(.id) \(.ip)"] | join(",")')"
	hostif=$(inspect_n1 '.containers[] | select(.id == "ck1") | .hostInterface')
	assert_true "same host: the guest pings the restored ck1" pings "$ADDR"

	# The restored container is dumped again, into an archive for the second boot.
	t=${EPOCHREALTIME/./}
	b checkpoint --export "$BERTH_VM_RESULTS/net.tar.zst" --export-rootfs ck1
	info "checkpoint --export took $(ms_since "$t")"
	assert_ok "checkpoint --export FILE --export-rootfs of a container on n1"
	[ "$RC" -eq 0 ] || { info "$ERR"; tail -n 30 /tmp/berth-criu-ck1/dump.log 2>/dev/null; }
	line=$(cat "$bundle/rootfs/tmp/counter")
	echo "$line" >"$BERTH_VM_RESULTS/at-checkpoint"
	info "counter at the checkpoint: $line; archive: $(stat -c %s "$BERTH_VM_RESULTS/net.tar.zst" 2>&1) bytes"
	sleep 1
	assert_eq "the counter stopped with the checkpoint" "$line" "$(cat "$bundle/rootfs/tmp/counter")"
	b state ck1
	assert_rc "after the checkpoint ck1 is gone" 1
	assert_false "its host veth is gone" test -e "/sys/class/net/$hostif"
	assert_eq "its lease is released" 0 "$(inspect_n1 '.containers | length')"
}

guest_restore() {
	local bundle=$VM_TMP/restored at line hostif links t
	at=$(cat "$BERTH_VM_RESULTS/at-checkpoint")
	[ -s "$BERTH_VM_RESULTS/net.tar.zst" ] || die "no archive from the first boot"
	links=$(ls /sys/class/net)

	# No network n1 on this host: refused, naming it and how to make it; nothing left.
	b restore --import "$BERTH_VM_RESULTS/net.tar.zst" --name ck2 --bundle "$bundle" --detach
	assert_rc "restore --import without the network is refused" 1
	info "without n1: $ERR"
	assert_contains "the error names the network" "$ERR" "network 'n1' does not exist"
	assert_contains "the error says how to create it" "$ERR" "berth network create n1 --subnet"
	assert_false "it left no bundle" test -e "$bundle"
	assert_false "it left no state" test -e "$ROOT/ck2"
	assert_eq "it made no interface" "$links" "$(ls /sys/class/net)"

	b network create n1 --subnet "$SUBNET"
	assert_ok "network create n1 --subnet $SUBNET"

	# The recorded address taken by another container: refused, nothing left, its lease kept.
	sleeper blocker "$ADDR"
	b restore --import "$BERTH_VM_RESULTS/net.tar.zst" --name ck2 --bundle "$bundle" --detach
	assert_rc "restore --import while $ADDR is taken is refused" 1
	info "address taken: $ERR"
	assert_contains "the error says the address is taken, by whom" "$ERR" \
		"address $ADDR of network 'n1' is already leased to container \"blocker\""
	assert_false "it left no bundle" test -e "$bundle"
	assert_false "it left no state" test -e "$ROOT/ck2"
	assert_eq "the blocker's lease is the only one" "blocker $ADDR" \
		"$(inspect_n1 '[.containers[] | "\(.id) \(.ip)"] | join(",")')"
	assert_eq "one veth on the bridge (the blocker's)" 1 "$(find /sys/class/net/berth-n1/brif -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
	remove blocker

	t=${EPOCHREALTIME/./}
	b restore --import "$BERTH_VM_RESULTS/net.tar.zst" --name ck2 --bundle "$bundle" --work-path "$VM_TMP/work" \
		--pid-file "$VM_TMP/ck2.pid" --detach
	info "restore --import took $(ms_since "$t")"
	assert_ok "restore --import --name ck2 with n1 defined"
	[ "$RC" -eq 0 ] || { info "$ERR"; tail -n 30 "$VM_TMP/work/restore.log" 2>/dev/null; }
	line=$(counter_at "$bundle/rootfs/tmp/counter" $(($(field 2 "$at") + 5)))
	info "at the checkpoint: '$at'; after the restore: '$line'"
	assert_eq "the restored process has the same random id" "$(field 1 "$at")" "$(field 1 "$line")"
	assert_true "it counted on from $(field 2 "$at") (now $(field 2 "$line")), not from 0" \
		test "$(field 2 "$line")" -gt "$(field 2 "$at")"
	assert_eq "its eth0 has the same address ($ADDR, not the lowest free one)" "$(field 3 "$at")" "$(field 3 "$line")"
	assert_eq "state says running" running "$("$BERTH" --root "$ROOT" state ck2 2>/dev/null | jq -r .status)"
	assert_eq "the record carries the network and the address" "n1 $ADDR" \
		"$("$BERTH" --root "$ROOT" state ck2 2>/dev/null |
			jq -r '"\(.annotations["berth.network"]) \(.annotations["berth.network.ip"])"')"
	assert_eq "network inspect: ck2 holds $ADDR" "ck2 $ADDR" \
		"$(inspect_n1 '[.containers[] | "\(.id) \(.ip)"] | join(",")')"
	hostif=$(inspect_n1 '.containers[] | select(.id == "ck2") | .hostInterface')
	assert_true "ck2's host veth '$hostif' is on the bridge" test -e "/sys/class/net/berth-n1/brif/$hostif"
	assert_true "the guest pings the restored container at $ADDR" pings "$ADDR"

	b kill ck2 KILL
	assert_ok "kill ck2 KILL"
	for _ in $(seq 50); do
		[ "$("$BERTH" --root "$ROOT" state ck2 2>/dev/null | jq -r .status)" = stopped ] && break
		sleep 0.2
	done
	b delete ck2
	assert_ok "delete ck2"
	assert_false "delete removed the host veth" test -e "/sys/class/net/$hostif"
	assert_eq "delete released the lease" 0 "$(inspect_n1 '.containers | length')"
	assert_false "delete removed the cgroup" test -e "/sys/fs/cgroup$CG_PATH"
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	ROOT=$VM_TMP/state
	local t=${EPOCHREALTIME/./}
	vm_load_criu_modules || die "the CRIU modules do not load"
	vm_modprobe veth bridge || die "the veth and bridge modules do not load"
	info "modules loaded in $(ms_since "$t")"
	# shellcheck disable=SC2119 # no arguments: the default controllers
	vm_enable_controllers >/dev/null 2>&1 || true
	case "${MN_PHASE:-}" in
	dump) guest_dump ;;
	restore) guest_restore ;;
	*) die "MN_PHASE must be dump or restore" ;;
	esac
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

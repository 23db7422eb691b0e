#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters
# --systemd-cgroup on the host (the real driver is tested with systemd as PID 1 in
# tests/vm/test_vm_systemd.sh): a malformed linux.cgroupsPath is refused naming the field on any
# host, before anything else; without systemd as PID 1 a valid path is refused saying so; restore
# refuses the flag; nothing is left behind; `features` reports the driver.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# refused_path DESC PATH NEEDLE: create with --systemd-cgroup and linux.cgroupsPath PATH fails
# with exit 1, names linux.cgroupsPath and says NEEDLE; nothing is left.
refused_path() {
	container sdpath
	cfg '.linux.cgroupsPath = $p' --arg p "$2"
	cap "$BERTH" --root "$ROOT" --systemd-cgroup create --bundle "$BUNDLE" "$ID"
	assert_rc "$1: create fails with exit 1" 1
	assert_contains "$1: the error names linux.cgroupsPath" "$ERR" "linux.cgroupsPath"
	assert_contains "$1: the error says '$3'" "$ERR" "$3"
	assert_no_leftovers "$1" "$ID"
}

refused_path "a cgroupfs path" /berth-test/x "slice:prefix:name"
refused_path "two fields" "system.slice:x" "slice:prefix:name"
refused_path "four fields" "a.slice:b:c:d" "slice:prefix:name"
refused_path "a slash in the slice" "a/b.slice:p:n" "not a valid slice name"
refused_path "an empty part in the slice" "a--b.slice:p:n" "not a valid slice name"
refused_path "a slice that is no slice" "system:p:n" "not a valid slice name"
refused_path "an empty name" "system.slice:p:" "empty"
refused_path "a slice as the container's unit" "system.slice:p:x.slice" "not supported"
refused_path "a bad unit name" "system.slice:p:a b" "not a valid unit name"

if [ -d /run/systemd/system ]; then
	info "systemd runs here: the not-running case is left to hosts without it"
else
	container sdnone
	cfg '.linux.cgroupsPath = "kubepods-burstable-pod1.slice:cri-containerd:abc"'
	cap "$BERTH" --root "$ROOT" --systemd-cgroup create --bundle "$BUNDLE" "$ID"
	assert_rc "no systemd: create fails" 1
	assert_contains "no systemd: says so" "$ERR" "--systemd-cgroup: systemd is not running"
	assert_no_leftovers "no systemd" "$ID"
fi

container sdrestore
mkdir -p "$TEST_TMP/img" && : >"$TEST_TMP/img/inventory.img"
cap "$BERTH" --root "$ROOT" --systemd-cgroup restore --image-path "$TEST_TMP/img" --bundle "$BUNDLE" "$ID"
assert_rc "restore --systemd-cgroup fails" 1
assert_contains "restore: says why" "$ERR" "--systemd-cgroup: restore into a systemd unit is not supported"
assert_no_leftovers "restore --systemd-cgroup" "$ID"

cap "$BERTH" features
assert_eq "features: linux.cgroup.systemd" true "$(jq -r .linux.cgroup.systemd <<<"$OUT")"
assert_eq "features: linux.cgroup.systemdUser" false "$(jq -r .linux.cgroup.systemdUser <<<"$OUT")"

finish

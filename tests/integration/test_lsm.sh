#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters
# LSM labels on a host without AppArmor and SELinux (this 6.18 host: no /sys/kernel/security, no
# /sys/module/apparmor): process.apparmorProfile, process.selinuxLabel and linux.mountLabel are
# refused with a message naming the field (runc 1.1.5 refuses them too, in its init with
# "apparmor failed to apply profile: write /proc/self/attr/exec: invalid argument", up front with
# "selinux label is specified in config, but selinux is disabled or not supported", at the mount
# with "invalid argument"), nothing is left behind; an empty profile means none, as with runc; a
# process.json with a profile is refused by exec while the container runs on; `berth features`
# says the host has neither. Where AppArmor is on, tests/vm/test_vm_apparmor.sh shows it applied.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] || [ -e /sys/fs/selinux/enforce ]; then
	skip "this host has AppArmor or SELinux: the refusals are for hosts without (see tests/vm/test_vm_apparmor.sh)"
fi

# refused DESC FIELD JQ-FILTER: create with the config edited by JQ-FILTER fails naming FIELD,
# and nothing of the container is left.
refused() {
	local desc=$1 field=$2 filter=$3
	container lsm
	cfg "$filter"
	b create --bundle "$BUNDLE" "$ID"
	assert_rc "$desc: create fails" 1
	assert_contains "$desc: the message names the field" "$ERR" "$field: "
	assert_contains "$desc: ... and the reason" "$ERR" "is not enabled on this host"
	assert_no_leftovers "$desc" "$ID"
	b run --bundle "$BUNDLE" "$ID"
	assert_rc "$desc: run fails too" 1
	assert_no_leftovers "$desc (run)" "$ID"
}

refused "apparmorProfile" process.apparmorProfile '.process.apparmorProfile = "berth-test"'
assert_contains "apparmorProfile: the message says why" "$ERR" \
	'process.apparmorProfile: profile "berth-test" is set but AppArmor is not enabled on this host'
refused "selinuxLabel" process.selinuxLabel '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
refused "mountLabel" linux.mountLabel '.linux.mountLabel = "system_u:object_r:container_file_t:s0"'

# "" is no profile (runc skips an empty name)
container empty
cfg '.process.apparmorProfile = "" | .process.selinuxLabel = ""'
run_sh "$ID" 'echo ran'
assert_ok "an empty apparmorProfile and selinuxLabel run"
assert_eq "... the process ran" ran "$OUT"

# exec with a process.json that asks for a profile
container exec
cfg_args sleep 600
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run -d a container without labels"
jq -n '{terminal: false, user: {uid: 0, gid: 0}, cwd: "/", args: ["echo", "ran"],
	apparmorProfile: "berth-test"}' >"$TEST_TMP/process.json"
b exec --process "$TEST_TMP/process.json" "$ID"
assert_rc "exec --process with apparmorProfile fails" 1
assert_contains "... naming the field" "$ERR" \
	'process.apparmorProfile: profile "berth-test" is set but AppArmor is not enabled on this host'
assert_not_contains "... and the process did not run" "$OUT" ran
status_of "$ID"
assert_eq "... the container runs on" running "$STATUS"
b exec "$ID" echo ran
assert_ok "a plain exec still works"
assert_eq "... and runs" ran "$OUT"
b delete --force "$ID"
assert_ok "delete"

b features
assert_ok "features"
assert_eq "features: berth supports AppArmor (runtime-spec: whatever the host)" true \
	"$(jq -r .linux.apparmor.enabled <<<"$OUT")"
assert_eq "features: berth supports SELinux" true "$(jq -r .linux.selinux.enabled <<<"$OUT")"
assert_eq "features: this host has no AppArmor" false \
	"$(jq -r '.annotations["io.github.berth.host.apparmor"]' <<<"$OUT")"
assert_eq "features: this host has no SELinux" false \
	"$(jq -r '.annotations["io.github.berth.host.selinux"]' <<<"$OUT")"

finish

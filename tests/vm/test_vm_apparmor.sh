#!/bin/bash
# shellcheck disable=SC2016 # the single-quoted $names are jq's
# tests/vm/test_vm_apparmor.sh: one boot of Debian's 6.1 kernel with AppArmor on
# (apparmor=1 security=apparmor) that shows berth applies process.apparmorProfile for real:
#   - the guest's /sys/kernel/security/lsm lists apparmor and `berth features` says so;
#   - a profile written here (everything allowed but reading /etc/berth-secret) is loaded with
#     Debian's apparmor_parser;
#   - a container with process.apparmorProfile set to it: reading /etc/berth-secret fails with
#     EACCES, another file reads fine, /proc/self/attr/current names the profile "(enforce)", and
#     so does the init's attribute seen from the host;
#   - `berth exec --process` with a process.json profile in a container without one: the exec'd
#     process is confined, the init and a plain exec are not; in a confined container a plain exec
#     and a process.json without a profile inherit the container's (as runc);
#   - a profile that is not loaded fails create with a message naming process.apparmorProfile,
#     leaving no state, and fails exec the same way while the container runs on.
# The host side (no AppArmor on the 6.18 host: refused, nothing left) is
# tests/integration/test_lsm.sh.

# The same file runs twice: on the host (ctest) and in the guest (BERTH_VM_GUEST is set there).
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (see test_vm_smoke.sh). Exit: 0 pass,
# 1 fail, 2 VM error, 77 skipped (no root, QEMU, kernel package or apparmor_parser).
set -uo pipefail

PROFILE="berth-test"

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init apparmor apparmor_parser
	vm_host_busybox_bundle
	vm_host_edit_config '.process.terminal = false | .process.args = ["sleep", "600"]'
	printf 'secret\n' >"$results/bundle/rootfs/etc/berth-secret"
	printf 'public\n' >"$results/bundle/rootfs/etc/berth-public"
	vm_host_guest_berth
	vm_host_boot "" --timeout 540 --append "apparmor=1 security=apparmor" \
		--env "BERTH=$guest_berth" --env "BERTH_SRC=$repo"
	exit
}

# ---------------------------------------------------------------- in the guest

# What a process in the container reports: the two files and its AppArmor label.
# shellcheck disable=SC2016 # expanded by the container's shell
PROBE='cat /etc/berth-secret 2>&1; echo "secret_rc=$?"; cat /etc/berth-public; echo "label=$(cat /proc/self/attr/current)"'

# bundle NAME [JQ-ARGS...]: $VM_TMP/NAME, a copy of the host's bundle, its config edited by jq
# JQ-ARGS (options, then the filter).
bundle() {
	local b=$VM_TMP/$1
	shift
	[ $# -gt 0 ] || set -- .
	cp -a "$BERTH_VM_RESULTS/bundle" "$b" || die "cannot copy the bundle"
	if ! jq "$@" "$b/config.json" >"$b/config.json.new"; then die "jq edit of $b/config.json"; fi
	mv "$b/config.json.new" "$b/config.json"
	echo "$b"
}

# process_json FILE [JQ-ARGS...]: a process.json running $PROBE, edited by jq JQ-ARGS.
process_json() {
	local f=$1
	shift
	[ $# -gt 0 ] || set -- .
	jq -n --arg p "$PROBE" '{terminal: false, user: {uid: 0, gid: 0}, cwd: "/",
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], args: ["sh", "-c", $p]}' | jq "$@" >"$f"
}

b() { cap "$BERTH" --root "$ROOT" "$@"; }

load_profile() {
	cat >"$VM_TMP/profile" <<EOF
abi <abi/3.0>,
profile $PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  mount,
  umount,
  remount,
  pivot_root,
  signal,
  ptrace,
  unix,
  dbus,
  deny /etc/berth-secret r,
}
EOF
	cap apparmor_parser -r -K "$VM_TMP/profile"
	assert_ok "apparmor_parser loads the profile $PROFILE"
	assert_contains "the kernel lists $PROFILE" "$(cat /sys/kernel/security/apparmor/profiles)" \
		"$PROFILE (enforce)"
}

check_host() {
	if [ ! -e /sys/kernel/security/lsm ]; then
		mount -t securityfs none /sys/kernel/security || die "cannot mount securityfs"
	fi
	info "lsm: $(cat /sys/kernel/security/lsm)"
	assert_match "the guest's /sys/kernel/security/lsm lists apparmor" '(^|,)apparmor(,|$)' \
		"$(cat /sys/kernel/security/lsm)"
	assert_eq "AppArmor's module parameter is Y" Y "$(cat /sys/module/apparmor/parameters/enabled)"
	b features
	assert_eq "berth features: linux.apparmor.enabled" true "$(jq -r .linux.apparmor.enabled <<<"$OUT")"
	assert_eq "berth features: the host has AppArmor" true \
		"$(jq -r '.annotations["io.github.berth.host.apparmor"]' <<<"$OUT")"
}

# The init of a container with the profile, and what it sees.
check_run() {
	local bun out
	bun=$(bundle run --arg p "$PROBE" --arg prof "$PROFILE" \
		'.process.args = ["sh", "-c", $p] | .process.apparmorProfile = $prof')
	b run --bundle "$bun" aa-run
	assert_ok "berth run with process.apparmorProfile"
	out=$OUT
	info "container output: $(tr '\n' '|' <<<"$out")"
	assert_contains "the profile denies reading /etc/berth-secret" "$out" "Permission denied"
	assert_contains "reading /etc/berth-secret failed" "$out" "secret_rc=1"
	assert_false "the secret is not shown" grep -qx secret <<<"$out"
	assert_contains "another file reads fine" "$out" "public"
	assert_contains "/proc/self/attr/current names the profile" "$out" "label=$PROFILE (enforce)"
	assert_false "run left no state" test -e "$ROOT/aa-run"
}

# A long-running container: the init's label from outside, exec'd processes' labels.
check_exec() {
	local plain confined pid
	plain=$(bundle plain)
	b run -d --bundle "$plain" aa-plain
	assert_ok "run -d a container without a profile"
	pid=$("$BERTH" --root "$ROOT" state aa-plain | jq -r .pid)
	assert_eq "its init is unconfined" unconfined "$(cat "/proc/$pid/attr/current")"

	process_json "$VM_TMP/p-prof.json" --arg prof "$PROFILE" '.apparmorProfile = $prof'
	b exec --process "$VM_TMP/p-prof.json" aa-plain
	assert_ok "exec --process with apparmorProfile"
	info "exec output: $(tr '\n' '|' <<<"$OUT")"
	assert_contains "exec: the profile denies /etc/berth-secret" "$OUT" "Permission denied"
	assert_contains "exec: another file reads fine" "$OUT" "public"
	assert_contains "exec: /proc/self/attr/current names the profile" "$OUT" "label=$PROFILE (enforce)"
	assert_eq "exec: the init stays unconfined" unconfined "$(cat "/proc/$pid/attr/current")"
	b exec aa-plain sh -c "$PROBE"
	assert_contains "a plain exec in an unconfined container reads the secret" "$OUT" "secret_rc=0"
	assert_contains "a plain exec there is unconfined" "$OUT" "label=unconfined"

	confined=$(bundle confined --arg prof "$PROFILE" '.process.apparmorProfile = $prof')
	b run -d --bundle "$confined" aa-confined
	assert_ok "run -d a container with the profile"
	pid=$("$BERTH" --root "$ROOT" state aa-confined | jq -r .pid)
	assert_eq "its init (sleep) runs under the profile" "$PROFILE (enforce)" "$(cat "/proc/$pid/attr/current")"
	b exec aa-confined sh -c "$PROBE"
	assert_contains "a plain exec inherits the container's profile" "$OUT" "label=$PROFILE (enforce)"
	assert_contains "... and is denied the secret" "$OUT" "secret_rc=1"
	process_json "$VM_TMP/p-none.json"
	b exec --process "$VM_TMP/p-none.json" aa-confined
	assert_contains "a process.json without a profile inherits the container's" "$OUT" \
		"label=$PROFILE (enforce)"

	process_json "$VM_TMP/p-missing.json" '.apparmorProfile = "berth-not-loaded"'
	b exec --process "$VM_TMP/p-missing.json" aa-plain
	assert_rc "exec with a profile that is not loaded fails" 1
	assert_contains "... naming the field and the reason" "$ERR" \
		'process.apparmorProfile: AppArmor profile "berth-not-loaded" is not loaded'
	b state aa-plain
	assert_eq "... and the container runs on" running "$(jq -r .status <<<"$OUT")"
	b delete -f aa-plain
	b delete -f aa-confined
}

check_not_loaded() {
	local bun
	bun=$(bundle missing '.process.apparmorProfile = "berth-not-loaded"')
	b create --bundle "$bun" aa-missing
	assert_rc "create with a profile that is not loaded fails" 1
	assert_contains "... naming the field and the reason" "$ERR" \
		'process.apparmorProfile: AppArmor profile "berth-not-loaded" is not loaded'
	assert_false "... and leaves no state dir" test -e "$ROOT/aa-missing"
	b list -q
	assert_eq "... nor a container in the list" "" "$OUT"
	assert_eq "... nor a process of it" "" "$(pgrep -f 'sleep 600' || true)"
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	ROOT=$VM_TMP/state
	check_host
	load_profile
	check_run
	check_exec
	check_not_loaded
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

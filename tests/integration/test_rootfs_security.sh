#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# shellcheck disable=SC2317 # the case_* functions are called by name
# Root filesystem and device hardening found by attacking berth from inside and outside its
# containers (issue 14, sections 5 and 6). Each case reproduces the attack and asserts on what is
# observable:
#
#   nopivot   with --no-pivot, the host's proc and sysfs instances are gone from the container's
#             mount namespace: `unshare -mrpf mount -t proc none /proc` inside fails (as under
#             runc), while a nested user+mount namespace itself still works;
#   devices   linux.devices only creates nodes: with resources.devices denying everything, a
#             listed /dev/kmsg cannot be opened (EPERM from the device cgroup); a config that
#             allows c 1:11 can open it;
#   kernfs    a rootfs whose /proc or /sys is a symlink is refused, naming mounts[i] and the
#             destination, and nothing is mounted or created at the symlink's target;
#   mntrace   a mount destination exchanged with a symlink (RENAME_EXCHANGE) while `create` runs
#             fails safely with a message saying the destination changed during set-up.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

# build_helper NAME: tests/helpers/NAME in the build tree $BERTH comes from (BERTH_HELPERS
# overrides the directory).
build_helper() {
	local d
	d=$(dirname "$BERTH")
	while [ "$d" != / ] && [ ! -e "$d/CMakeCache.txt" ]; do d=$(dirname "$d"); done
	echo "${BERTH_HELPERS:-$d/tests/helpers}/$1"
}

# ---- --no-pivot: no full procfs/sysfs left below the moved root
case_nopivot() {
	local probe mode
	# shellcheck disable=SC2016
	probe='if unshare -mr true 2>/dev/null; then echo userns=ok; else echo userns=unavailable; fi
	if unshare -mrpf mount -t proc none /proc 2>/tmp/err; then echo nested-proc=mounted
	else echo "nested-proc=refused: $(cat /tmp/err)"; fi
	if unshare -mrnf mount -t sysfs none /sys 2>/tmp/err; then echo nested-sys=mounted
	else echo "nested-sys=refused: $(cat /tmp/err)"; fi'
	for mode in no-pivot no-pivot-userns pivot; do
		container "$mode"
		if [ "$mode" = no-pivot-userns ]; then
			# in a user namespace the host's mounts are locked: they get a tmpfs over them
			chown -R -h 100000:100000 "$BUNDLE/rootfs"
			cfg '.linux.namespaces += [{type: "user"}]
				| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
				| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
		fi
		# CAP_SETFCAP (in Docker's default set): mapping uid 0 into a new user namespace needs it
		cfg '.process.capabilities.bounding += ["CAP_SETFCAP"]
			| .process.capabilities.effective += ["CAP_SETFCAP"]
			| .process.capabilities.permitted += ["CAP_SETFCAP"]'
		cfg_args sh -c "$probe"
		if [ "$mode" != pivot ]; then
			b run --no-pivot --bundle "$BUNDLE" "$ID"
		else
			b run --bundle "$BUNDLE" "$ID"
		fi
		assert_ok "$mode: run"
		info "$mode: $(tr '\n' ';' <<<"$OUT")"
		if ! grep -q userns=ok <<<"$OUT"; then
			fail "$mode: a user namespace could not be made inside the container (the attack needs one)" \
				userns=ok "$OUT"
			continue
		fi
		assert_contains "$mode: a fresh procfs cannot be mounted in a nested user+mount+pid namespace" \
			"$OUT" "nested-proc=refused"
		assert_contains "$mode: a fresh sysfs cannot be mounted in a nested user+mount+net namespace" \
			"$OUT" "nested-sys=refused"
	done
	# the host's /proc and /sys are untouched (the detaching happened in the container's namespace)
	assert_true "host /proc still mounted" grep -q ' /proc proc ' /proc/self/mounts
	assert_true "host /sys still mounted" grep -q ' /sys sysfs ' /proc/self/mounts
}

# ---- linux.devices grants no access; resources.devices decides
case_devices() {
	local rule want
	for rule in deny allow; do
		container "dev-$rule"
		# CAP_SYSLOG: kernel.dmesg_restrict must not be what refuses the open
		cfg '.process.capabilities.bounding += ["CAP_SYSLOG"]
			| .process.capabilities.effective += ["CAP_SYSLOG"]
			| .process.capabilities.permitted += ["CAP_SYSLOG"]
			| .linux.devices = [{path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 420}]'
		assert_eq "$rule: the base config denies every device first" \
			'{"allow":false,"access":"rwm"}' "$(jq -c '.linux.resources.devices[0]' "$BUNDLE/config.json")"
		if [ "$rule" = allow ]; then
			cfg '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "r"}]'
		fi
		run_sh "$ID" 'echo "node=$(stat -c "%F %t:%T" /dev/kmsg)"
		if (exec 3</dev/kmsg) 2>/tmp/err; then echo kmsg=opened; else echo "kmsg=denied: $(cat /tmp/err)"; fi'
		assert_ok "$rule: run"
		assert_contains "$rule: /dev/kmsg was created from linux.devices" "$OUT" "node=character special file 1:b"
		if [ "$rule" = allow ]; then want=kmsg=opened; else want="kmsg=denied"; fi
		assert_contains "$rule: opening /dev/kmsg" "$OUT" "$want"
		if [ "$rule" = deny ]; then
			assert_contains "deny: refused by the device cgroup (EPERM)" "$OUT" "Operation not permitted"
		fi
	done
}

# ---- /proc or /sys as a symlink in the rootfs
case_kernfs() {
	local dest idx target
	for dest in /proc /sys; do
		container "sym${dest#/}"
		idx=$(jq --arg d "$dest" '[.mounts[].destination] | index($d)' "$BUNDLE/config.json")
		target=/tmp/kernfs-target${dest#/}
		rm -rf "$BUNDLE/rootfs$dest"
		ln -s "$target" "$BUNDLE/rootfs$dest"
		b create --bundle "$BUNDLE" "$ID"
		assert_failed "$dest -> $target: create is refused"
		assert_contains "$dest -> $target: the error names the mount" "$ERR" "mounts[$idx] ($dest)"
		assert_contains "$dest -> $target: as runc says it" "$ERR" "must be mounted on ordinary directory"
		assert_contains "$dest -> $target: the error says why" "$ERR" "$dest is a symlink in the rootfs"
		assert_false "$dest -> $target: nothing created at the target inside the rootfs" \
			test -e "$BUNDLE/rootfs$target"
		assert_left_nothing "$dest -> $target: failed create" "$ID" "$BUNDLE"
	done
}

# ---- a mount destination exchanged with a symlink during create
case_mntrace() {
	local swapexch rootfs base i failed=0 ok=0 other=0 swapper idx
	swapexch=$(build_helper swapexch)
	[ -x "$swapexch" ] || {
		fail "the swapexch helper (tests/helpers) is not built beside $BERTH"
		return
	}
	container mntrace
	rootfs=$BUNDLE/rootfs
	base=$ID
	mkdir -p "$rootfs/race/sub"
	ln -s /race-elsewhere "$rootfs/race-link"
	cfg '.mounts += [{destination: "/race/sub", type: "tmpfs", source: "tmpfs", options: ["size=64k"]}]'
	idx=$(jq '.mounts | length - 1' "$BUNDLE/config.json")
	cfg_args true
	"$swapexch" "$rootfs/race" "$rootfs/race-link" "$TEST_TMP/stop-swap" >"$TEST_TMP/swaps" 2>&1 &
	swapper=$!
	track_pid "$swapper"
	QUIET=1
	# until two creates failed (the exchange must hit the window between the mount and its
	# check), at most 400 creates or 90 s: on a loaded machine 100 creates once missed it
	local t0=$SECONDS
	for i in $(seq 400); do
		ID=$base-r$i
		IDS+=("$ID")
		b create --bundle "$BUNDLE" "$ID"
		if [ "$RC" -eq 0 ]; then
			ok=$((ok + 1))
			b delete --force "$ID"
		elif grep -q "mounts\[$idx\] (/race/sub): the destination '/race/sub' changed during set-up" <<<"$ERR"; then
			failed=$((failed + 1))
		else
			other=$((other + 1))
			info "race create $i -> $RC: $ERR"
		fi
		if [ "$failed" -ge 2 ] || [ "$other" -ge 2 ] || [ $((SECONDS - t0)) -ge 90 ]; then break; fi
	done
	QUIET=""
	touch "$TEST_TMP/stop-swap"
	wait "$swapper"
	info "race: $ok created, $failed refused as changed during set-up, $other other failures, $(cat "$TEST_TMP/swaps") exchanges"
	assert_eq "race: every failed create says the destination changed during set-up (mounts[$idx], /race/sub)" 0 "$other"
	assert_ne "race: the exchange made at least one create fail" 0 "$failed"
	assert_eq "race: no mount left below the test dir" "" "$(mounts_below "$TEST_TMP")"
}

cases=${BERTH_TEST_ROOTFS_CASES:-nopivot devices kernfs mntrace}
for c in $cases; do
	info "---- $c"
	"case_$c"
done
finish

#!/bin/bash
# shellcheck disable=SC2016,SC2317 # jq filters in single quotes; functions called from traps and assert_true
# Rootless containers (issue 16 part 2): berth run by an unprivileged user that this test creates
# (useradd, with subordinate id lines of its own; removed at the end). As that user:
# create/start/exec/kill/delete with `spec --rootless`'s config and the state under
# $XDG_RUNTIME_DIR/berth (--root still wins), a config mapping 65536 ids through newuidmap (files
# owned by those ids show their owners inside), a bind mount of a file the user owns, mknod refused
# by the kernel (EPERM inside, no berth crash), a memory limit refused naming the field (no
# delegated cgroup on this hybrid host: cgroups are skipped with a warning), berth networks refused,
# `run --image alpine` from the user's own store with ownership kept through the map, and nothing
# left behind: no state dir, no process of the user, no file of the user outside its directories.
# Safety: the user is new and only its own lines are removed from /etc/subuid and /etc/subgid;
# every directory it writes is below the test's temp dir.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd useradd userdel setpriv newuidmap newgidmap unshare

RUSER="brl$$"
RUSER=${RUSER:0:31}
RHOME=$TEST_TMP/home
RXDG=$TEST_TMP/xdg
ADDED_SUBID=""

rl_cleanup() {
	local p
	if id -u "$RUSER" >/dev/null 2>&1; then
		# only this user's processes: the user exists for this test alone
		for p in $(pgrep -u "$RUSER" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		userdel "$RUSER" >/dev/null 2>&1
	fi
	# userdel removes the user's subordinate ranges; a line it left (or ours) goes too
	sed -i "/^$RUSER:/d" /etc/subuid /etc/subgid 2>/dev/null
	# files the unprivileged user made that root's rm -rf in cleanup removes anyway
	return 0
}
trap 'rc=$?; rl_cleanup; (exit $rc); cleanup' EXIT

useradd -M -d "$RHOME" -s /bin/sh "$RUSER" || die "useradd $RUSER failed"
RUID=$(id -u "$RUSER")
RGID=$(id -g "$RUSER")
# useradd gives a range when /etc/login.defs says so; else one after every existing range
if ! grep -q "^$RUSER:" /etc/subuid || ! grep -q "^$RUSER:" /etc/subgid; then
	sed -i "/^$RUSER:/d" /etc/subuid /etc/subgid
	start=$(awk -F: 'BEGIN { m = 200000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' \
		/etc/subuid /etc/subgid)
	echo "$RUSER:$start:65536" >>/etc/subuid
	echo "$RUSER:$start:65536" >>/etc/subgid
	ADDED_SUBID=1
fi
SUBUID=$(awk -F: -v u="$RUSER" '$1 == u { print $2; exit }' /etc/subuid)
SUBGID=$(awk -F: -v u="$RUSER" '$1 == u { print $2; exit }' /etc/subgid)
SUBCOUNT=$(awk -F: -v u="$RUSER" '$1 == u { print $3; exit }' /etc/subuid)
info "user $RUSER uid $RUID gid $RGID subuid $SUBUID subgid $SUBGID count $SUBCOUNT (added by test: ${ADDED_SUBID:-no})"
[ "${SUBCOUNT:-0}" -ge 65536 ] || die "the subordinate range of $RUSER is smaller than 65536"
mkdir -p "$RHOME" "$RXDG"
chown "$RUID:$RGID" "$RHOME" "$RXDG"
chmod 0700 "$RHOME" "$RXDG"

# Under the sanitizer build (tests/run-all.sh exports ASAN_OPTIONS), the user's berth keeps the
# sanitizers' halt-on-error, reporting on stderr (the root-owned log directory is not the user's),
# without LeakSanitizer: its exit-time scan stops the process's threads with ptrace, which hung
# (60 s timeouts) once `exec` had joined the container's user namespace.
SAN=()
if [ -n "${ASAN_OPTIONS:-}" ]; then
	SAN=("ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1"
		"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
fi
# as_user CMD...: CMD as the test's user, with a login-like environment only (cap: OUT, ERR, RC).
as_user() {
	cap setpriv --reuid="$RUID" --regid="$RGID" --clear-groups env -i PATH="$PATH" HOME="$RHOME" \
		USER="$RUSER" XDG_RUNTIME_DIR="$RXDG" "$MARK" "${SAN[@]}" "$@"
}
# rb ARGS...: berth as the user, with its default state root
rb() { as_user "$BERTH" "$@"; }

as_user unshare -Ur true
[ "$RC" -eq 0 ] || skip "unprivileged user namespaces do not work here: $ERR"

# ---------------------------------------------------------------- a bundle of the user's own

RB=$RHOME/bundle
mkdir -p "$RB"
cp -a "$(busybox_rootfs)" "$RB/rootfs"
rm -f "$RB/rootfs/.complete"
chown -R "$RUID:$RGID" "$RB"
as_user sh -c "cd '$RB' && '$BERTH' spec --rootless"
assert_ok "spec --rootless as the user"
assert_eq "spec --rootless maps the caller's uid to 0" "$RUID" "$(jq -r '.linux.uidMappings[0].hostID' "$RB/config.json")"
assert_eq "spec --rootless maps the caller's gid to 0" "$RGID" "$(jq -r '.linux.gidMappings[0].hostID' "$RB/config.json")"
# rcfg FILTER [ARGS]: edit the user's config.json (kept the user's)
rcfg() {
	local f=$RB/config.json
	jq "$@" "$f" >"$f.new" || die "jq edit failed: $1"
	mv "$f.new" "$f"
	chown "$RUID:$RGID" "$f"
}
rcfg '.process.terminal = false | .process.env += [$mark] | .process.args = ["sleep", "300"]' --arg mark "$MARK"
cp "$RB/config.json" "$RHOME/config.base"

# ---------------------------------------------------------------- lifecycle

new_id life
rb create --bundle "$RB" "$ID"
assert_ok "create as the user"
assert_contains "create warns that cgroups are skipped" "$ERR" "rootless: cgroups skipped"
if [ -d /sys/fs/cgroup/unified ] || [ -e /sys/fs/cgroup/memory ]; then
	assert_contains "the warning says why (v1 controllers here)" "$ERR" "cgroup v1 hierarchies"
fi
assert_true "the state dir is under \$XDG_RUNTIME_DIR/berth" test -d "$RXDG/berth/$ID"
assert_eq "the state root is the user's" "$RUID" "$(stat -c %u "$RXDG/berth")"
rb state "$ID"
assert_eq "state: created" created "$(jq -r .status <<<"$OUT")"
PID=$(jq -r .pid <<<"$OUT")
assert_eq "the init's host uid is the user's" "$RUID" "$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status" 2>&1)"
rb start "$ID"
assert_ok "start as the user"
rb exec "$ID" sh -c 'id -u; cat /proc/self/uid_map'
assert_ok "exec as the user"
assert_eq "exec: root inside" 0 "$(head -n 1 <<<"$OUT")"
assert_match "exec: uid 0 maps to the user" "^ +0 +$RUID +1\$" "$(sed -n 2p <<<"$OUT")"
rb kill "$ID" KILL
assert_ok "kill as the user"
wait_for() { # SECONDS CMD...
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}
stopped() {
	rb state "$ID"
	[ "$(jq -r .status <<<"$OUT" 2>/dev/null)" = stopped ]
}
assert_true "the container stops after kill" wait_for 10 stopped
rb delete "$ID"
assert_ok "delete as the user"
assert_false "no state dir after delete" test -e "$RXDG/berth/$ID"
assert_false "the init is gone" alive "$PID"

# --root still wins over $XDG_RUNTIME_DIR
new_id root
rcfg '.process.args = ["true"]'
rb --root "$RHOME/state" run --bundle "$RB" "$ID"
assert_ok "run with --root as the user"
assert_true "--root: the state root was made there" test -d "$RHOME/state"
assert_false "--root: nothing under \$XDG_RUNTIME_DIR/berth" test -e "$RXDG/berth/$ID"

# without XDG_RUNTIME_DIR (and no --root), runc's fallback: /run/berth, which the user cannot write
new_id noxdg
cap setpriv --reuid="$RUID" --regid="$RGID" --clear-groups env -i PATH="$PATH" HOME="$RHOME" \
	USER="$RUSER" "${SAN[@]}" "$BERTH" run --bundle "$RB" "$ID"
assert_failed "no XDG_RUNTIME_DIR: run fails"
assert_contains "no XDG_RUNTIME_DIR: the error names /run/berth" "$ERR" "/run/berth"

# ---------------------------------------------------------------- 65536 ids, bind, mknod

cp "$RHOME/config.base" "$RB/config.json"
rcfg '.linux.uidMappings = [{containerID: 0, hostID: ($u | tonumber), size: 1},
			    {containerID: 1, hostID: ($s | tonumber), size: 65536}]
      | .linux.gidMappings = [{containerID: 0, hostID: ($g | tonumber), size: 1},
			    {containerID: 1, hostID: ($t | tonumber), size: 65536}]
      | .mounts += [{destination: "/data.txt", type: "bind", source: $data, options: ["bind", "ro"]}]
      | .process.args = ["sh", "-c", "cat /proc/self/uid_map | wc -l; stat -c %u:%g /owned-100 /owned-65536;
	 cat /data.txt; mknod /dev/berth-null c 1 3 2>&1; echo mknod=$?"]' \
	--arg u "$RUID" --arg g "$RGID" --arg s "$SUBUID" --arg t "$SUBGID" --arg data "$RHOME/data.txt"
echo "the user's own file" >"$RHOME/data.txt"
chown "$RUID:$RGID" "$RHOME/data.txt"
chmod 0600 "$RHOME/data.txt"
touch "$RB/rootfs/owned-100" "$RB/rootfs/owned-65536"
chown "$((SUBUID + 99)):$((SUBGID + 99))" "$RB/rootfs/owned-100"
chown "$((SUBUID + 65535)):$((SUBGID + 65535))" "$RB/rootfs/owned-65536"
new_id map
rb run --bundle "$RB" "$ID"
assert_ok "run with 65536 mapped ids (newuidmap/newgidmap)"
assert_eq "two map lines inside" 2 "$(sed -n 1p <<<"$OUT")"
assert_eq "a file of subuid+99 is uid 100 inside" "100:100" "$(sed -n 2p <<<"$OUT")"
assert_eq "a file of subuid+65535 is uid 65536 inside" "65536:65536" "$(sed -n 3p <<<"$OUT")"
assert_eq "the bind-mounted file of the user reads inside" "the user's own file" "$(sed -n 4p <<<"$OUT")"
assert_contains "mknod is refused by the kernel" "$OUT" "Operation not permitted"
assert_contains "mknod fails inside, berth does not" "$OUT" "mknod=1"

# more ids than the user owns: newuidmap refuses, the error names the field
rcfg '.linux.uidMappings[1].hostID = 1 | .process.args = ["true"]'
new_id badmap
rb run --bundle "$RB" "$ID"
assert_failed "a map outside the user's subordinate ids is refused"
assert_contains "the error names linux.uidMappings" "$ERR" "linux.uidMappings"
assert_contains "the error points at /etc/subuid" "$ERR" "/etc/subuid"
assert_false "no state dir after the refused map" test -e "$RXDG/berth/$ID"

# linux.devices become binds of the host's nodes; a sysfs mount without a network namespace of
# the container's own is the host's /sys bound read-only (runc's rootless behaviour)
DEV=""
for d in /dev/fuse /dev/net/tun /dev/kmsg; do
	if [ -c "$d" ]; then DEV=$d && break; fi
done
[ -n "$DEV" ] || die "no host device node to bind (/dev/fuse, /dev/net/tun, /dev/kmsg)"
MAJ=$((16#$(stat -c %t "$DEV")))
MIN=$((16#$(stat -c %T "$DEV")))
cp "$RHOME/config.base" "$RB/config.json"
rcfg '(.mounts[] | select(.destination == "/sys")) |= {destination: "/sys", type: "sysfs", source: "sysfs",
	options: ["nosuid", "noexec", "nodev", "ro"]}
      | .linux.devices = [{path: $dev, type: "c", major: ($maj | tonumber), minor: ($min | tonumber)}]
      | .process.args = ["sh", "-c", "stat -c %t:%T " + $dev + "; awk -v d=" + $dev + " '"'"'$5 == d { print \"devmount\" } $5 == \"/sys\" { split($6, o, \",\"); print \"sys=\" o[1] }'"'"' /proc/self/mountinfo; test -d /sys/kernel && echo sys-readable"]' \
	--arg dev "$DEV" --arg maj "$MAJ" --arg min "$MIN"
new_id dev
rb run --bundle "$RB" "$ID"
assert_ok "run with linux.devices and a sysfs mount as the user"
assert_eq "the device is the host's node" "$(printf '%x:%x' "$MAJ" "$MIN")" "$(sed -n 1p <<<"$OUT")"
assert_contains "the device is a bind mount" "$OUT" devmount
assert_contains "/sys is read-only" "$OUT" "sys=ro"
assert_contains "/sys is the host's, readable" "$OUT" sys-readable

# ---------------------------------------------------------------- what needs root

cp "$RHOME/config.base" "$RB/config.json"
rcfg '.linux.resources = {memory: {limit: 67108864}} | .process.args = ["true"]'
new_id mem
rb run --bundle "$RB" "$ID"
assert_failed "a memory limit without a delegated cgroup is refused"
assert_contains "the error names linux.resources.memory.limit" "$ERR" "linux.resources.memory.limit"
assert_false "no state dir after the refused limit" test -e "$RXDG/berth/$ID"

# --rootless false: cgroups are required, as runc's; a user cannot make one here
cp "$RHOME/config.base" "$RB/config.json"
rcfg '.process.args = ["true"]'
new_id strict
rb --rootless false run --bundle "$RB" "$ID"
assert_failed "--rootless false as the user: the cgroup it cannot make is an error"
assert_contains "the error names the cgroup" "$ERR" "cgroup"
assert_not_contains "no skip warning with --rootless false" "$ERR" "cgroups skipped"
assert_false "no state dir after the refused cgroup" test -e "$RXDG/berth/$ID"

cp "$RHOME/config.base" "$RB/config.json"
rcfg '.annotations = {"berth.network": "default"} | .process.args = ["true"]'
new_id net
rb run --bundle "$RB" "$ID"
assert_failed "a berth network is refused rootless"
assert_contains "the error says networks need root" "$ERR" "berth networks need root"

rb network create rlnet --subnet 10.239.77.0/24
assert_failed "network create is refused rootless"
assert_contains "network create says networks need root" "$ERR" "berth networks need root"
assert_false "no network definition is written" test -e "$RXDG/berth/.networks"

cp "$RHOME/config.base" "$RB/config.json"
rcfg '.linux.namespaces -= [{"type": "user"}] | del(.linux.uidMappings, .linux.gidMappings) | .process.args = ["true"]'
new_id nouserns
rb run --bundle "$RB" "$ID"
assert_failed "a rootless config without a user namespace is refused"
assert_contains "the error names linux.namespaces" "$ERR" "linux.namespaces"

# ---------------------------------------------------------------- a delegated cgroup

# What the VM's systemd gives a user (Delegate=yes), on this host's cgroup2 tree: a private mount
# namespace sees the unified hierarchy at /sys/fs/cgroup (a pure v2 view; the host's mounts are
# untouched), /berth-test/<id> and its "self" child belong to the user, and berth runs in "self".
# The container's cgroup then goes below the nearest delegated cgroup without processes.
if [ -d /sys/fs/cgroup/unified ] && [ "$(stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
	CG2=/sys/fs/cgroup/unified
else
	CG2=/sys/fs/cgroup
fi
new_id deleg
DELEG=/berth-test/$ID
mkdir -p "$CG2$DELEG/self" || die "mkdir $CG2$DELEG/self"
for d in "$CG2$DELEG" "$CG2$DELEG/self"; do
	chown "$RUID:$RGID" "$d" "$d/cgroup.procs" "$d/cgroup.subtree_control" "$d/cgroup.threads"
done
cp "$RHOME/config.base" "$RB/config.json"
chown "$RUID:$RGID" "$RB/config.json"
# A limit there too, where this host's cgroup2 tree has a controller enabled down to /berth-test
# (hugetlb on these hosts; nothing above the delegated cgroup is written by the test or berth)
HUGE=""
if grep -qw hugetlb "$CG2/cgroup.subtree_control" && grep -qw hugetlb "$CG2/berth-test/cgroup.subtree_control" &&
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
	HUGE=1
	rcfg '.linux.resources = {hugepageLimits: [{pageSize: "2MB", limit: 8388608}]}'
else
	info "no hugetlb controller enabled down to /berth-test here: the delegated cgroup gets no limit"
fi
cat >"$TEST_TMP/deleg.sh" <<SCRIPT
mount -t cgroup2 none /sys/fs/cgroup || exit 9
echo \$\$ >/sys/fs/cgroup$DELEG/self/cgroup.procs || exit 9
exec setpriv --reuid=$RUID --regid=$RGID --clear-groups env -i PATH="$PATH" HOME="$RHOME" \
	USER="$RUSER" XDG_RUNTIME_DIR="$RXDG" "$MARK" ${SAN[*]} sh -c '
	b() { "$BERTH" "\$@" 2>&1; }
	b run -d --bundle "$RB" "$ID" >/dev/null; echo "run=\$?"
	pid=\$(b state "$ID" | jq -r .pid)
	echo "cgroup=\$(grep "^0::" /proc/\$pid/cgroup)"
	echo "hugetlb=\$(cat "/sys/fs/cgroup$DELEG/berth-$ID/hugetlb.2MB.max" 2>&1)"
	echo "exec=\$(b exec "$ID" cat /proc/self/cgroup | grep "^0::")"
	b ps "$ID" >/dev/null; echo "ps=\$?"
	b pause "$ID" >/dev/null; echo "paused=\$(b state "$ID" | jq -r .status)"
	b resume "$ID" >/dev/null; echo "resumed=\$(b state "$ID" | jq -r .status)"
	b delete --force "$ID" >/dev/null; echo "delete=\$?"
	test -e "/sys/fs/cgroup$DELEG/berth-$ID" && echo cgroup-left || echo cgroup-removed'
SCRIPT
cap unshare -m --propagation private sh "$TEST_TMP/deleg.sh"
assert_ok "the delegated-cgroup script ran"
assert_contains "rootless run in a delegated cgroup" "$OUT" "run=0"
assert_contains "the container's cgroup is below the delegated one without processes" "$OUT" \
	"cgroup=0::$DELEG/berth-$ID"
if [ -n "$HUGE" ]; then
	assert_contains "a limit is applied in the delegated cgroup" "$OUT" "hugetlb=8388608"
fi
assert_contains "exec joins the container's cgroup (the root of its cgroup namespace)" "$OUT" "exec=0::/"
assert_not_contains "exec is not left in berth's cgroup" "$OUT" "exec=0::/.."
assert_contains "ps works rootless with a cgroup" "$OUT" "ps=0"
assert_contains "pause works rootless with a cgroup" "$OUT" "paused=paused"
assert_contains "resume works rootless with a cgroup" "$OUT" "resumed=running"
assert_contains "delete --force works" "$OUT" "delete=0"
assert_contains "delete removed the container's cgroup" "$OUT" "cgroup-removed"
rmdir "$CG2$DELEG/self" "$CG2$DELEG" 2>/dev/null
assert_false "the test's delegated cgroup is removed" test -e "$CG2$DELEG"

# ---------------------------------------------------------------- run --image

ALPINE=$(alpine_tarball)
if [ -n "$ALPINE" ]; then
	rb image import "$ALPINE" --name alpine:3.20.3
	assert_ok "image import as the user"
	STORE=$RHOME/.local/share/berth
	assert_true "the store is in the user's data dir" test -d "$STORE/blobs"
	new_id img
	rb run -d --name "$ID" --image alpine:3.20.3 sh -c 'stat -c %u:%g /etc/shadow /bin/busybox >/out; sleep 300'
	assert_ok "run --image alpine -d as the user"
	assert_true "the container wrote its output" wait_for 10 test -s "$STORE/containers/$ID/rootfs/out"
	assert_eq "inside: /etc/shadow is root:shadow(42), busybox root:root" "0:42 0:0" \
		"$(xargs <"$STORE/containers/$ID/rootfs/out" 2>&1)"
	assert_eq "on disk: /etc/shadow is the user's, its group subgid+41" "$RUID:$((SUBGID + 41))" \
		"$(stat -c %u:%g "$STORE/containers/$ID/rootfs/etc/shadow" 2>&1)"
	rb exec "$ID" cat /etc/alpine-release
	assert_eq "exec in the image container" 3.20.3 "$OUT"
	rb delete --force "$ID"
	assert_ok "delete --force the image container"
	assert_false "its directory in the store is gone" test -e "$STORE/containers/$ID"
	new_id imgrm
	rb run --rm --name "$ID" --image alpine:3.20.3 sh -c 'cat /etc/alpine-release; touch /new && echo rw'
	assert_ok "run --rm --image alpine as the user"
	assert_eq "alpine runs rootless" "3.20.3 rw" "$(xargs <<<"$OUT")"
	assert_false "run --rm leaves no container directory" test -e "$STORE/containers/$ID"
	# without subordinate ids an image's owners cannot be kept: a clear error, nothing made
	# (only this user's own line is taken out and put back)
	subline=$(grep "^$RUSER:" /etc/subuid)
	sed -i "/^$RUSER:/d" /etc/subuid
	new_id nosub
	rb run --rm --name "$ID" --image alpine:3.20.3 true
	echo "$subline" >>/etc/subuid
	assert_failed "run --image without subordinate uids is refused"
	assert_contains "the error names /etc/subuid" "$ERR" "no subordinate uids in /etc/subuid"
	assert_false "no container directory for it" test -e "$STORE/containers/$ID"
	new_id imgnet
	rb run --rm --name "$ID" --net default --image alpine:3.20.3 true
	assert_failed "run --image --net as the user is refused"
	assert_contains "the error says networks need root" "$ERR" "berth networks need root"
	assert_false "the refused run leaves no container directory" test -e "$STORE/containers/$ID"
else
	info "no Alpine tarball in $BERTH_SHARED/images: run --image not checked"
fi

# ---------------------------------------------------------------- nothing left behind

# (.seccomp-cache: compiled filters berth keeps on purpose, as under any state root)
assert_eq "no container left in the user's state root" "" \
	"$(find "$RXDG/berth" -mindepth 1 -maxdepth 1 ! -name .seccomp-cache 2>&1)"
live_procs() { # the user's processes that are not zombies (an init's zombie waits for pid 1 here)
	local p
	for p in $(pgrep -u "$RUID"); do
		if alive "$p"; then echo "$p"; fi
	done
}
assert_eq "no process of the user left" "" "$(live_procs | xargs)"
assert_eq "no file of the user outside its directories" "" \
	"$(find /tmp /run /var/tmp /dev/shm -xdev \( -uid "$RUID" -o -gid "$RGID" \) -not -path "$TEST_TMP/*" 2>/dev/null | head -5)"
finish

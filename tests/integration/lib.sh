# shellcheck shell=bash
# shellcheck disable=SC2034 # OUT, ERR, STATE_PID, BUNDLE ... are for the tests that source this
# Helpers for the integration tests. Every tests/integration/test_*.sh starts with
#
#   . "$(dirname "$0")/lib.sh"
#
# and ends with `finish`. Environment (ctest sets the first three):
#   BERTH          the berth binary under test (required)
#   BERTH_SRC      the source tree (default: two levels up from here)
#   BERTH_SHARED   the shared folder beside the clone (Alpine tarball in images/)
#   BERTH_TEST_CACHE  a directory where the busybox rootfs is built once per test run
#                     (tests/run-all.sh sets it; default: inside each test's temp dir)
#   BERTH_TEST_TIMEOUT  seconds any single berth command may take (default 60)
#   BERTH_TEST_KEEP     if set, the test's temp dir (bundles, outputs) is kept for a post-mortem
#
# Conventions:
#   - every container id comes from new_id, every cgroupsPath is /berth-test/<id>, every berth
#     call goes through b (which adds --root to a private temp dir): the EXIT trap then deletes
#     the containers, kills what the test started and removes the cgroup directories.
#   - an assertion failure is reported and the test goes on; finish exits 1 if any failed.
#     die stops the test at once (for failed setup). skip exits 77 (ctest: skipped).
#   - berth's output always goes to files, never to a pipe: a detached container inherits
#     berth's stdout, so $(berth create ...) would wait for the container to exit.

set -uo pipefail

TEST_NAME=$(basename "$0" .sh)
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BERTH_SHARED=${BERTH_SHARED:-$BERTH_SRC/../shared}
CMD_TIMEOUT=${BERTH_TEST_TIMEOUT:-60}
FAILURES=0
FAILED_CHECKS=()
CHECKS=0
IDS=()
PIDS=()
NCALL=0
QUIET=""
TEST_TMP=""

# ---------------------------------------------------------------- reporting

info() { printf '# %s\n' "$*"; }

# fail MESSAGE [EXPECTED ACTUAL]: record a failed check and go on.
fail() {
	FAILURES=$((FAILURES + 1))
	FAILED_CHECKS+=("$1")
	printf 'FAIL: %s\n' "$1"
	if [ $# -ge 3 ]; then
		printf '  expected: %s\n' "$2"
		printf '  actual:   %s\n' "$3"
	fi
	return 0
}

pass() {
	printf 'ok: %s\n' "$1"
}

die() {
	fail "$1"
	printf 'FATAL: stopping %s here\n' "$TEST_NAME"
	exit 1
}

skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

finish() {
	if [ "$FAILURES" -gt 0 ]; then
		printf '\nfailed checks:\n'
		printf '  - %s\n' "${FAILED_CHECKS[@]}"
		printf '%s: %d of %d checks FAILED\n' "$TEST_NAME" "$FAILURES" "$CHECKS"
		exit 1
	fi
	printf '%s: all %d checks passed\n' "$TEST_NAME" "$CHECKS"
	exit 0
}

# ---------------------------------------------------------------- assertions
# Each takes a description first and prints expected vs actual when it fails.

# shellcheck source=tests/lib/assert.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"

# assert_rc DESC EXPECTED: the exit status of the last b/cap call.
assert_rc() {
	check
	if [ "$RC" == "$2" ]; then
		pass "$1"
	else
		fail "$1 (exit status)" "$2" "$RC; stdout: $(head -c 600 <<<"$OUT"); stderr: $(head -c 600 <<<"$ERR")"
	fi
}

# assert_ok DESC: the last b/cap call succeeded.
assert_ok() { assert_rc "$1" 0; }

# assert_failed DESC: the last b/cap call failed (any non-zero status, not a timeout/crash).
assert_failed() {
	check
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$RC" -lt 128 ]; then
		pass "$1"
	else
		fail "$1 (exit status)" "a clean error exit (1..123)" "$RC; stdout: $(head -c 600 <<<"$OUT"); stderr: $(head -c 600 <<<"$ERR")"
	fi
}

# ---------------------------------------------------------------- setup

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "integration tests need root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (scripts/install-deps.sh)"
	done
}

setup() {
	[ -z "$TEST_TMP" ] || die "setup: called twice (lib.sh calls it when sourced)"
	require_root
	require_cmd jq timeout busybox
	[ -n "${BERTH:-}" ] || die "BERTH is not set: run through ctest or export BERTH=/path/to/berth"
	[ -x "$BERTH" ] || die "BERTH=$BERTH is not an executable file"
	TEST_TMP=$(mktemp -d "/tmp/berth-it.$TEST_NAME.XXXXXX") || die "mktemp failed"
	chmod 0755 "$TEST_TMP"
	ROOT=$TEST_TMP/state
	# Processes this test starts carry this variable in their environment (berth gets it from
	# b(), containers from their config): the cleanup and the leftover checks look for it.
	MARK="BERTH_TEST_MARK=$TEST_TMP"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	info "test $TEST_NAME: berth=$BERTH tmp=$TEST_TMP"
}

# ---------------------------------------------------------------- running commands

# cap COMMAND...: run a command with stdin from /dev/null and stdout/stderr to files, under a
# timeout. Sets OUT, ERR, RC, and OUT_FILE/ERR_FILE (still growing if a container holds them).
cap() {
	NCALL=$((NCALL + 1))
	OUT_FILE=$TEST_TMP/call$NCALL.out
	ERR_FILE=$TEST_TMP/call$NCALL.err
	env "$MARK" timeout -k 5 "$CMD_TIMEOUT" "$@" </dev/null >"$OUT_FILE" 2>"$ERR_FILE"
	RC=$?
	OUT=$(cat "$OUT_FILE")
	ERR=$(cat "$ERR_FILE")
	if [ -z "${QUIET:-}" ]; then printf '+ %s  -> %d\n' "$*" "$RC"; fi
	if [ "$RC" -eq 124 ]; then
		printf '  (timed out after %ss)\n' "$CMD_TIMEOUT"
	fi
	return 0
}

# b ARGS...: berth --root <private> ARGS...
b() { cap "$BERTH" --root "$ROOT" "$@"; }

# new_id [TAG]: a fresh container id (recorded for cleanup) in $ID.
new_id() {
	local tag=${1:-c}
	ID="bt-${TEST_NAME#test_}-$tag-$$-${#IDS[@]}"
	ID=${ID//_/-}
	IDS+=("$ID")
}

# track_pid PID: kill PID at cleanup if it is still the same process.
track_pid() {
	local st
	st=$(proc_start "$1") || return 0
	PIDS+=("$1:$st")
}

proc_start() { # PID -> start time (field 22 of /proc/PID/stat)
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	echo "${20}"
}

# ---------------------------------------------------------------- rootfs and bundles

# busybox_rootfs: path of a busybox rootfs built once (per run when BERTH_TEST_CACHE is set).
busybox_rootfs() {
	local cache=${BERTH_TEST_CACHE:-$TEST_TMP/cache}
	local dir=$cache/busybox-rootfs
	mkdir -p "$cache"
	(
		flock 9
		if [ ! -e "$dir/.complete" ]; then
			rm -rf "$dir.tmp"
			"$BERTH_SRC/scripts/make-rootfs.sh" "$dir.tmp" >&2 || exit 1
			rm -rf "$dir"
			mv "$dir.tmp" "$dir"
			touch "$dir/.complete"
		fi
	) 9>"$cache/.lock" || die "scripts/make-rootfs.sh failed"
	echo "$dir"
}

# alpine_tarball: path of the shared Alpine minirootfs, or empty.
alpine_tarball() {
	local t=$BERTH_SHARED/images/alpine-minirootfs-3.20.3-x86_64.tar.gz
	if [ -r "$t" ]; then echo "$t"; fi
}

# bundle_new ID [busybox|alpine]: a bundle with a fresh rootfs and the base config in $BUNDLE.
bundle_new() {
	local id=$1 kind=${2:-busybox} src tarball
	BUNDLE=$TEST_TMP/bundle-$id
	mkdir -p "$BUNDLE/rootfs"
	case "$kind" in
	busybox)
		src=$(busybox_rootfs)
		cp -a "$src/." "$BUNDLE/rootfs/" || die "copying the rootfs failed"
		rm -f "$BUNDLE/rootfs/.complete"
		;;
	alpine)
		tarball=$(alpine_tarball)
		[ -n "$tarball" ] || skip "no Alpine tarball in $BERTH_SHARED/images"
		tar -xzf "$tarball" -C "$BUNDLE/rootfs" || die "unpacking $tarball failed"
		;;
	*) die "bundle_new: unknown rootfs kind '$kind'" ;;
	esac
	base_config "$id" >"$BUNDLE/config.json" || die "writing config.json failed"
}

# base_config ID: the config runc's `spec` makes (not a terminal), plus a cgroupsPath of the
# test's own and the marker variable.
base_config() {
	jq -n --arg id "$1" --arg mark "$MARK" '{
	ociVersion: "1.0.2",
	process: {
		terminal: false,
		user: {uid: 0, gid: 0},
		args: ["sh", "-c", "true"],
		env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", $mark],
		cwd: "/",
		capabilities: {
			bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		rlimits: [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}],
		noNewPrivileges: true
	},
	root: {path: "rootfs", readonly: false},
	hostname: "berth",
	mounts: [
		{destination: "/proc", type: "proc", source: "proc"},
		{destination: "/dev", type: "tmpfs", source: "tmpfs",
		 options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{destination: "/dev/pts", type: "devpts", source: "devpts",
		 options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{destination: "/dev/shm", type: "tmpfs", source: "shm",
		 options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]},
		{destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]}
	],
	linux: {
		cgroupsPath: ("/berth-test/" + $id),
		resources: {devices: [{allow: false, access: "rwm"}]},
		namespaces: [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"},
			     {type: "mount"}, {type: "cgroup"}],
		maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
			      "/proc/scsi"],
		readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
	}
}'
}

# cfg FILTER [JQ-ARGS...]: edit $BUNDLE/config.json with jq.
cfg() {
	local filter=$1 f=$BUNDLE/config.json
	shift
	jq "$filter" "$f" "$@" >"$f.new" || die "jq edit of config.json failed: $filter"
	mv "$f.new" "$f"
}

# cfg_args ARG...: set process.args. (Each value goes through --arg: jq would take a "-c"
# after --args for its own option.)
cfg_args() {
	local i=0 list="" x
	local -a jqargs=()
	for x in "$@"; do
		jqargs+=(--arg "a$i" "$x")
		list+="\$a$i,"
		i=$((i + 1))
	done
	cfg ".process.args = [${list%,}]" "${jqargs[@]}"
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# run_sh ID SCRIPT: set process.args to sh -c SCRIPT in $BUNDLE and `berth run` it in the
# foreground; the container's output is in $OUT.
run_sh() {
	cfg_args sh -c "$2"
	b run --bundle "$BUNDLE" "$1"
}

# container ID [busybox|alpine]: new_id + bundle_new in one step: sets ID and BUNDLE.
container() {
	new_id "${1:-c}"
	bundle_new "$ID" "${2:-busybox}"
}

# ---------------------------------------------------------------- state and kernel views

# status_of ID: run `berth state ID`; sets STATUS and STATE_PID (empty when the call failed)
# and leaves the JSON in $OUT.
status_of() {
	b state "$1"
	STATUS=""
	STATE_PID=""
	if [ "$RC" -eq 0 ]; then
		STATUS=$(jq -r '.status' <<<"$OUT" 2>/dev/null)
		STATE_PID=$(jq -r '.pid' <<<"$OUT" 2>/dev/null)
	fi
}

# wait_status ID STATUS [SECONDS]: poll `berth state` until STATUS; returns 1 on timeout.
wait_status() {
	local deadline=$((SECONDS + ${3:-10})) rc=1
	QUIET=1
	while :; do
		status_of "$1"
		if [ "$STATUS" = "$2" ]; then
			rc=0
			break
		fi
		[ $SECONDS -ge $deadline ] && break
		sleep 0.1
	done
	QUIET=""
	printf '+ wait for %s to be %s -> %s\n' "$1" "$2" "${STATUS:-<state failed: $ERR>}"
	return $rc
}

# b_bg ARGS...: start `berth --root <private> ARGS...` in the background (no timeout wrapper, so
# BG_PID is berth itself); output in BG_OUT/BG_ERR files. Collect the status with wait_bg.
b_bg() {
	NCALL=$((NCALL + 1))
	BG_OUT=$TEST_TMP/call$NCALL.out
	BG_ERR=$TEST_TMP/call$NCALL.err
	env "$MARK" "$BERTH" --root "$ROOT" "$@" </dev/null >"$BG_OUT" 2>"$BG_ERR" &
	BG_PID=$!
	track_pid "$BG_PID"
	printf '+ %s --root %s %s &  -> pid %d\n' "$BERTH" "$ROOT" "$*" "$BG_PID"
}

# wait_bg [SECONDS]: wait for the last b_bg command; sets RC, OUT, ERR (RC 124 on timeout,
# after which the command is killed).
wait_bg() {
	local deadline=$((SECONDS + ${1:-$CMD_TIMEOUT}))
	while kill -0 "$BG_PID" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$BG_PID/stat" 2>/dev/null)" != Z ]; do
		if [ $SECONDS -ge $deadline ]; then
			kill -9 "$BG_PID" 2>/dev/null
			wait "$BG_PID" 2>/dev/null
			RC=124
			OUT=$(cat "$BG_OUT")
			ERR=$(cat "$BG_ERR")
			printf '+ background pid %d timed out\n' "$BG_PID"
			return 0
		fi
		sleep 0.05
	done
	wait "$BG_PID"
	RC=$?
	OUT=$(cat "$BG_OUT")
	ERR=$(cat "$BG_ERR")
	printf '+ background pid %d exited -> %d\n' "$BG_PID" "$RC"
}

# wait_file FILE [SECONDS]: wait for FILE to exist and be non-empty.
wait_file() {
	local deadline=$((SECONDS + ${2:-10}))
	until [ -s "$1" ]; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# status_field PID FIELD: a field of /proc/PID/status ("Uid", "CapEff", ...), tabs as spaces.
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status" 2>/dev/null
}

# cgroup_dirs ID: the cgroup directories that exist for /berth-test/ID, one per line.
cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/berth-test/"$1" /sys/fs/cgroup/*/berth-test/"$1"; do
		if [ -d "$d" ]; then echo "$d"; fi
	done
}

# marked_pids: processes this test started that are still alive (berth, containers, hooks).
marked_pids() {
	grep -lzx -F -e "$MARK" /proc/[0-9]*/environ 2>/dev/null | sed -e 's,^/proc/,,' -e 's,/environ$,,' | sort -n
}

# assert_no_leftovers DESC ID: nothing of container ID remains: no state dir, no cgroup
# directory, no process of this test, no mount below the test's temp dir.
assert_no_leftovers() {
	local desc=$1 id=$2 pids dirs mnts
	assert_false "$desc: no state dir $ROOT/$id" test -e "$ROOT/$id"
	dirs=$(cgroup_dirs "$id")
	assert_eq "$desc: no cgroup dir for /berth-test/$id" "" "$dirs"
	pids=$(marked_pids | tr '\n' ' ')
	assert_eq "$desc: no process left" "" "$pids"
	mnts=$(mounts_below "$TEST_TMP" | tr '\n' ' ')
	assert_eq "$desc: no mount left below $TEST_TMP" "" "$mnts"
}

# mounts_below DIR: mount points in this mount namespace at or below DIR (deepest first).
mounts_below() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# private_mount_ns "$@": re-run the calling test in a private mount namespace, so mounts it
# makes (e.g. a submount for rro) never reach the host's namespace.
private_mount_ns() {
	if [ -z "${BERTH_TEST_IN_MNTNS:-}" ]; then
		require_cmd unshare
		trap - EXIT
		rm -rf "$TEST_TMP"
		BERTH_TEST_IN_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
	fi
}

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? id pid st d p m
	trap - EXIT
	[ -n "$TEST_TMP" ] || exit "$rc"
	# every container in the private root, including ones a test did not expect to exist
	for d in "$ROOT"/* "$ROOT"/.[!.]*; do
		if [ -d "$d" ]; then IDS+=("${d##*/}"); fi
	done
	for id in "${IDS[@]}"; do
		if [ -d "$ROOT/$id" ]; then
			env "$MARK" timeout -k 5 30 "$BERTH" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1
		fi
	done
	for p in "${PIDS[@]}"; do
		pid=${p%%:*}
		st=${p#*:}
		if [ "$(proc_start "$pid")" = "$st" ]; then kill -9 "$pid" 2>/dev/null; fi
	done
	for id in "${IDS[@]}"; do
		for d in $(cgroup_dirs "$id"); do
			# only processes in this test's own cgroup: containers it started
			while read -r p; do kill -9 "$p" 2>/dev/null; done <"$d/cgroup.procs"
		done
	done
	for pid in $(marked_pids); do
		[ "$pid" = "$$" ] || kill -9 "$pid" 2>/dev/null
	done
	sleep 0.1
	for id in "${IDS[@]}"; do
		for d in $(cgroup_dirs "$id"); do
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || echo "cleanup: could not remove $d" >&2
		done
	done
	for m in $(mounts_below "$TEST_TMP"); do
		echo "cleanup: unmounting leftover $m" >&2
		umount -l "$m" 2>/dev/null
	done
	if [ -n "${BERTH_TEST_KEEP:-}" ]; then
		echo "cleanup: keeping $TEST_TMP (BERTH_TEST_KEEP)" >&2
	else
		rm -rf --one-file-system "$TEST_TMP"
	fi
	exit "$rc"
}

setup

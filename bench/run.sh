#!/bin/bash
# shellcheck disable=SC2016 # single-quoted scripts for sh -c and jq, on purpose
# bench/run.sh: berth, runc and crun side by side (issue 8), as root; prints one table.
#
#   bench/run.sh [--ops LIST] [-n RUNS] [-m RSS-RUNS] [-c COUNT] [-r REPS] [--quick] [--berth PATH]
#                [--runtimes "berth runc crun"] [--seccomp-profile FILE] [--no-hyperfine] [--keep]
#
#   --ops LIST   comma-separated, from: run,create,start,delete,state,list,exec,seccomp,concurrent
#                (default: all of them)
#   -n RUNS      timed runs of each single-command operation per runtime (default 50, BENCH_RUNS)
#   -m RSS-RUNS  runs under /usr/bin/time for peak RSS and page faults (default 20, BENCH_RSS_RUNS)
#   -c COUNT     containers that exist for state/list and that start at once (default 100, BENCH_COUNT)
#   -r REPS      repetitions of the concurrent start (default 5, BENCH_REPS)
#   --quick      smoke test: -n 5 -m 3 -c 10 -r 2 --no-hyperfine (later options still override)
#   --seccomp-profile FILE  the seccomp profile for the `seccomp` rows (default: build/bench/
#                containerd-seccomp.json, captured from containerd by bench/containerd-seccomp.sh
#                when missing)
#   --keep       keep the temp dir (bundles, raw samples) instead of removing it
#
# What each row means (all: /bin/true or sleep in a read-only busybox rootfs from
# scripts/make-rootfs.sh; namespaces pid, ipc, uts, mount, no network namespace; capabilities
# CAP_KILL only; noNewPrivileges; /proc and a tmpfs /dev):
#   run            `RT run --bundle B ID` of /bin/true, in the foreground (create, start, wait,
#                  delete in one command). Also peak RSS and minor page faults (medians over
#                  RSS-RUNS, /usr/bin/time -f '%M %R': the peak over the runtime and the processes it
#                  waited for) and the size of the stripped binary.
#   create, start, delete   one container's life, each command timed alone: `create` (its process
#                  /bin/true then waits for start), `start`, then (untimed) `state` polled until it is
#                  stopped, then `delete` of the stopped container.
#   state, list    COUNT containers exist in the runtime's root, all `created` (their processes wait
#                  for start): `state` of one of them and `list` (table format), timed.
#   exec           `RT exec ID /bin/true` into a running container (its process: sleep), foreground.
#   seccomp        as `run`, with containerd's default seccomp profile as .linux.seccomp (captured from
#                  a real containerd: see bench/containerd-seccomp.sh). berth keeps compiled programs in
#                  ROOT/.seccomp-cache: the "berth" row is with that cache warm (as in steady use), the
#                  "berth (cold seccomp cache)" row removes the cache (untimed) before every run.
#   concurrent     COUNT foreground `run`s of /bin/true started at once (xargs -P COUNT), the wall time
#                  until the last one ended; REPS repetitions (median, p10, p90 over those).
#   floor          the timer's own floor: /bin/true timed the same way (its spawn, exec and wait).
#   crun wrapper alone   see below; measured in the same alternation as the operation above it.
# Timing: every operation alternates the runtimes (berth, runc, crun, wrapper, berth, ...) so drift
# on a shared machine hits all of them alike, and the order rotates every round (runc, crun,
# wrapper, berth, ...) so none is always first after the untimed work between rounds. Wall time
# of the command from bench/timeit.c (built into the temp dir: posix_spawnp, waitpid,
# CLOCK_MONOTONIC), or without a C compiler from bash's $EPOCHREALTIME around it (bash's fork is
# then inside the interval); see "floor".
# "vs crun" is the ratio of medians. A runtime that fails an operation's first (untimed) try is
# left out of that operation with a note.
#
# crun 1.8.1 refuses this hybrid host's unified hierarchy, so every crun command runs behind
# ENVIRONMENT.md's wrapper (unshare -m + sh + a tmpfs over /sys/fs/cgroup/unified, then exec crun).
# That wrapper alone (exec'ing /bin/true instead, or COUNT of them at once for `concurrent`) is
# timed in the same alternation and shown as "crun wrapper alone", and so is /bin/true alone (the
# floor). "vs crun minus wrapper" divides by crun - (wrapper - floor), medians: crun less the
# wrapper's own work (the wrapper alone ends in an exec of /bin/true, which for crun is crun's own
# exec), i.e. what crun would cost on a host that needs no wrapper. The issue 8 targets below the
# table are judged against that (the stricter) figure. crun's RSS and faults are measured inside
# the wrapper (of crun itself).
#
# Isolation: each runtime has its own --root (a temp dir) and every container the cgroupsPath
# /berth-test/bench-RT-PID-TAG; everything made (containers, cgroups, the temp dir) is removed at
# exit, also on error or Ctrl-C. berth is run from a copy of the binary in the temp dir, alone
# (no berth-ext beside it: none of these operations may need it), so a rebuild during the run does
# not change what is measured.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-50}
rss_runs=${BENCH_RSS_RUNS:-20}
count=${BENCH_COUNT:-100}
reps=${BENCH_REPS:-5}
berth_src=${BERTH:-$repo/build/cli/berth}
runtimes="berth runc crun"
all_ops="run,create,start,delete,state,list,exec,seccomp,concurrent"
ops=$all_ops
seccomp_profile=${BENCH_SECCOMP_PROFILE:-$repo/build/bench/containerd-seccomp.json}
use_hyperfine=1
keep=""

usage() {
	sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--ops) ops=$2; shift 2 ;;
	-n) runs=$2; shift 2 ;;
	-m) rss_runs=$2; shift 2 ;;
	-c) count=$2; shift 2 ;;
	-r) reps=$2; shift 2 ;;
	--quick) runs=5 rss_runs=3 count=10 reps=2 use_hyperfine=""; shift ;;
	--berth) berth_src=$2; shift 2 ;;
	--runtimes) runtimes=$2; shift 2 ;;
	--seccomp-profile) seccomp_profile=$2; shift 2 ;;
	--no-hyperfine) use_hyperfine=""; shift ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; usage ;;
	esac
done
for v in runs rss_runs count reps; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive number" >&2; exit 2; }
done
IFS=, read -ra op_list <<<"$ops"
for op in "${op_list[@]}"; do
	[[ ",$all_ops," == *",$op,"* ]] || { echo "bench: unknown operation '$op' (known: $all_ops)" >&2; exit 2; }
done
want() { [[ ",$ops," == *",$1,"* ]]; }
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (sudo $0)" >&2
	exit 1
fi
for c in jq awk xargs unshare; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench: $c missing" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing: scripts/install-deps.sh --bench" >&2; exit 1; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/bin" "$work/samples"
notes=()
note() {
	notes+=("$*")
	echo "bench: $*" >&2
}

# runtime binaries; a missing one is left out with a note
declare -A bin=()
for rt in $runtimes; do
	case "$rt" in
	berth)
		path=""
		if [ -x "$berth_src" ]; then
			cp "$berth_src" "$work/bin/berth"
			path=$work/bin/berth
		fi
		;;
	runc | crun) path=$(command -v "$rt" || true) ;;
	*) echo "bench: unknown runtime '$rt'" >&2; exit 2 ;;
	esac
	if [ -n "$path" ] && [ -x "$path" ]; then
		bin[$rt]=$path
	else
		note "$rt not found: left out (scripts/install-deps.sh --bench; cmake --build build)"
	fi
done
active=()
for rt in $runtimes; do
	if [ -n "${bin[$rt]:-}" ]; then active+=("$rt"); fi
done

# id_of RT TAG: the container id (and the last part of its cgroupsPath)
id_of() { echo "bench-${1%-cold}-$$-$2"; }

# runtime_cmd RT ARGS...: the runtime with its private --root (crun behind the wrapper).
# RT "berth-cold" is berth (the caller removes its seccomp cache first).
runtime_cmd() {
	local rt=${1%-cold}
	shift
	if [ "$rt" = crun ]; then
		unshare -m --propagation private sh -c \
			'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec "$0" "$@"' \
			"${bin[crun]}" --root "$work/root-crun" "$@"
	else
		"${bin[$rt]}" --root "$work/root-$rt" "$@"
	fi
}

# prefix RT: the command line of runtime_cmd RT (without ARGS) in the array $pre; RT "wrapper":
# the wrapper's own cost, the same unshare + sh + mount exec'ing /bin/true instead of crun (and
# ignoring the arguments after it); RT "floor": /bin/true (ignoring them too).
pre=()
prefix() {
	case "$1" in
	crun) pre=(unshare -m --propagation private sh -c
		'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec "$0" "$@"'
		"${bin[crun]}" --root "$work/root-crun") ;;
	wrapper) pre=(unshare -m --propagation private sh -c
		'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec /bin/true') ;;
	floor) pre=(/bin/true) ;;
	*) pre=("${bin[${1%-cold}]}" --root "$work/root-${1%-cold}") ;;
	esac
}

cleanup() {
	local rt id d p
	trap - EXIT INT TERM
	for rt in "${active[@]}"; do
		[ -d "$work/root-$rt" ] || continue
		for id in $(runtime_cmd "$rt" list -q 2>/dev/null); do
			case "$id" in
			bench-"$rt"-$$-*) runtime_cmd "$rt" delete --force "$id" >/dev/null 2>&1 || true ;;
			esac
		done
	done
	# Whatever a runtime left: the processes in our cgroups (only ours: named after this pid), then
	# the cgroups.
	for d in /sys/fs/cgroup/berth-test/bench-*-"$$"-* /sys/fs/cgroup/*/berth-test/bench-*-"$$"-*; do
		[ -d "$d" ] || continue
		if [ -r "$d/cgroup.procs" ]; then
			while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$d/cgroup.procs"
		fi
	done
	for d in /sys/fs/cgroup/berth-test/bench-*-"$$"-* /sys/fs/cgroup/*/berth-test/bench-*-"$$"-*; do
		[ -d "$d" ] || continue
		for _ in 1 2 3 4 5; do
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
		if [ -d "$d" ]; then echo "bench: could not remove $d" >&2; fi
	done
	if [ -n "$keep" ]; then
		echo "bench: kept $work" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ ${#active[@]} -gt 0 ] || { echo "bench: no runtime to measure" >&2; exit 1; }
has() { [ -n "${bin[$1]:-}" ]; }

# ---- bundles: one read-only busybox rootfs (an absolute root.path); config.json per container
echo "bench: making bundles in $work" >&2
"$repo/scripts/make-rootfs.sh" "$work/rootfs" >&2
for rt in "${active[@]}"; do mkdir -p "$work/root-$rt"; done

# config_json ARGS-JSON CGROUPS-PATH [SECCOMP-FILE]: the config.json on stdout.
config_json() {
	jq -n --arg cg "$2" --arg rootfs "$work/rootfs" --argjson args "$1" \
		--slurpfile sc "${3:-/dev/null}" '{
		ociVersion: "1.0.2",
		process: {terminal: false, user: {uid: 0, gid: 0}, args: $args, cwd: "/",
			env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
			capabilities: {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]},
			noNewPrivileges: true},
		root: {path: $rootfs, readonly: true},
		hostname: "bench",
		mounts: [{destination: "/proc", type: "proc", source: "proc"},
			 {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=64k"]}],
		linux: {cgroupsPath: $cg,
			namespaces: [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}],
			maskedPaths: ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
			readonlyPaths: ["/proc/sys", "/proc/sysrq-trigger"]}
	} | if ($sc | length) > 0 then .linux.seccomp = $sc[0] else . end'
}
# bundle RT TAG ARGS-JSON [SECCOMP-FILE]: $work/bundle-RT-TAG for the container id_of RT TAG.
bundle() {
	local d=$work/bundle-$1-$2
	mkdir -p "$d"
	config_json "$3" "/berth-test/$(id_of "$1" "$2")" "${4:-}" >"$d/config.json"
}
# many_bundles RT: COUNT bundles $work/many-RT/N for ids id_of RT N (N = 1..COUNT), /bin/true.
many_bundles() {
	local tmpl n
	[ -d "$work/many-$1" ] && return 0
	tmpl=$(config_json '["/bin/true"]' "/berth-test/$(id_of "$1" @N@)")
	for n in $(seq "$count"); do
		mkdir -p "$work/many-$1/$n"
		printf '%s\n' "${tmpl//@N@/$n}" >"$work/many-$1/$n/config.json"
	done
}

# timed FILE CMD...: run CMD (stdin /dev/null, output to $work/last.out) and append its wall time
# in microseconds to FILE; CMD's exit status. With bench/timeit (built below when a C compiler is
# there) the timer is a posix_spawn from a small process; without it, bash's fork+exec timed
# with $EPOCHREALTIME (about 0.15 ms more per sample here).
timed() {
	local f=$1 t0 t1 rc=0
	shift
	if [ -n "$timeit" ]; then
		"$timeit" "$f" "$@" </dev/null >"$work/last.out" 2>&1 || rc=$?
		return $rc
	fi
	t0=$EPOCHREALTIME
	"$@" </dev/null >"$work/last.out" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	echo $((${t1/./} - ${t0/./})) >>"$f"
	return $rc
}
S=$work/samples
timeit=""
if command -v cc >/dev/null 2>&1 && cc -O2 -Wall -Wextra -Werror -o "$work/bin/timeit" "$repo/bench/timeit.c"; then
	timeit=$work/bin/timeit
else
	note "no C compiler for bench/timeit.c: timed with bash's \$EPOCHREALTIME around a fork (about 0.15 ms more)"
fi
# fail WHAT: the last command's output, and stop.
fail() {
	echo "bench: $* failed:" >&2
	cat "$work/last.out" >&2
	exit 1
}
# members OP RT...: the runtimes that pass CHECK-FUNCTION (op_check_OP RT), in $members.
members=()
check_members() {
	local op=$1 rt
	shift
	members=()
	for rt in "$@"; do
		if "op_check_$op" "$rt" </dev/null >"$work/last.out" 2>&1; then
			members+=("$rt")
		else
			note "$op: $rt failed its first try, left out of it: $(tail -n 3 "$work/last.out" | tr '\n' ' ')"
		fi
	done
}
# rotation I ITEMS...: ITEMS rotated left by I-1, in $order, with "wrapper" and "floor" added
# first when crun is there (crun's cost without its wrapper is crun - (wrapper - floor)). Every
# runtime in turn goes first: on this host the first cgroup v1 migration after a pause waits for
# an RCU grace period (about 10 ms, see README.md), which would otherwise always be charged to the
# same runtime.
order=()
rotation() {
	local i=$1 k n
	shift
	local items=("$@")
	if has crun; then items+=(wrapper floor); fi
	n=${#items[@]}
	order=()
	for ((k = 0; k < n; k++)); do order+=("${items[$(((k + i - 1) % n))]}"); done
}
progress() { if [ $(($1 % 10)) -eq 0 ] || [ "$1" -eq "$2" ]; then echo "bench: $3 $1/$2" >&2; fi; }

# rss_loop OP TAG RT...: peak RSS (KB) and minor faults of `run` of bundle-RT-TAG, alternating,
# appended as "KB FAULTS" lines to $S/rss-OP-RT.
rss_loop() {
	local op=$1 tag=$2 rt
	shift 2
	echo "bench: $op: $rss_runs runs each under /usr/bin/time" >&2
	for _ in $(seq "$rss_runs"); do
		for rt in "$@"; do
			if [ "$rt" = berth-cold ]; then rm -rf "$work/root-berth/.seccomp-cache"; fi
			if [ "$rt" = crun ]; then
				# measure crun itself, inside the wrapper
				unshare -m --propagation private sh -c \
					'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec /usr/bin/time -f "%M %R" -a -o "$0" "$@"' \
					"$S/rss-$op-crun" "${bin[crun]}" --root "$work/root-crun" run --bundle "$work/bundle-crun-$tag" \
					"$(id_of crun "$tag")" </dev/null >/dev/null 2>&1 || fail "$op: crun under /usr/bin/time"
			else
				/usr/bin/time -f '%M %R' -a -o "$S/rss-$op-$rt" "${bin[${rt%-cold}]}" --root "$work/root-${rt%-cold}" \
					run --bundle "$work/bundle-${rt%-cold}-$tag" "$(id_of "$rt" "$tag")" </dev/null >/dev/null 2>&1 ||
					fail "$op: $rt under /usr/bin/time"
			fi
		done
	done
}

# ---- run of /bin/true
op_check_run() { runtime_cmd "$1" run --bundle "$work/bundle-$1-run" "$(id_of "$1" run)"; }
if want run; then
	for rt in "${active[@]}"; do bundle "$rt" run '["/bin/true"]'; done
	check_members run "${active[@]}"
	run_members=("${members[@]}")
	echo "bench: run: $runs runs each, alternating: ${run_members[*]}" >&2
	for i in $(seq "$runs"); do
		rotation "$i" "${run_members[@]}"
		for rt in "${order[@]}"; do
			prefix "$rt"
			timed "$S/wall-run-$rt" "${pre[@]}" run --bundle "$work/bundle-$rt-run" "$(id_of "$rt" run)" ||
				fail "run $i of $rt"
		done
		progress "$i" "$runs" run
	done
	rss_loop run run "${run_members[@]}"
fi

# ---- create, start, delete
wait_stopped() { # RT ID: poll state until stopped (5 s at most)
	local st
	for _ in $(seq 500); do
		st=$(runtime_cmd "$1" state "$2" 2>/dev/null | jq -r .status 2>/dev/null || true)
		[ "$st" = stopped ] && return 0
		sleep 0.01
	done
	echo "bench: $2 is still ${st:-unknown} after start" >"$work/last.out"
	return 1
}
op_check_life() {
	local id
	id=$(id_of "$1" life)
	runtime_cmd "$1" create --bundle "$work/bundle-$1-life" "$id" &&
		runtime_cmd "$1" start "$id" && wait_stopped "$1" "$id" && runtime_cmd "$1" delete "$id"
}
if want create || want start || want delete; then
	for rt in "${active[@]}"; do bundle "$rt" life '["/bin/true"]'; done
	check_members life "${active[@]}"
	life_members=("${members[@]}")
	echo "bench: create/start/delete: $runs runs each, alternating: ${life_members[*]}" >&2
	for i in $(seq "$runs"); do
		rotation "$i" "${life_members[@]}"
		for rt in "${order[@]}"; do
			prefix "$rt"
			if [ "$rt" = wrapper ] || [ "$rt" = floor ]; then
				timed "$S/wall-create-$rt" "${pre[@]}"
				tail -n 1 "$S/wall-create-$rt" | tee -a "$S/wall-start-$rt" >>"$S/wall-delete-$rt"
				continue
			fi
			id=$(id_of "$rt" life)
			timed "$S/wall-create-$rt" "${pre[@]}" create --bundle "$work/bundle-$rt-life" "$id" ||
				fail "create $i of $rt"
			timed "$S/wall-start-$rt" "${pre[@]}" start "$id" || fail "start $i of $rt"
			wait_stopped "$rt" "$id" || fail "waiting for $rt's container to stop"
			timed "$S/wall-delete-$rt" "${pre[@]}" delete "$id" || fail "delete $i of $rt"
		done
		progress "$i" "$runs" create/start/delete
	done
fi

# ---- state and list with COUNT containers in `created`
op_check_many() { # create the first, then the others (a failure after the first stops the bench)
	local n
	runtime_cmd "$1" create --bundle "$work/many-$1/1" "$(id_of "$1" 1)" || return 1
	for n in $(seq 2 "$count"); do
		runtime_cmd "$1" create --bundle "$work/many-$1/$n" "$(id_of "$1" "$n")" ||
			fail "create of container $n of $1"
	done
	runtime_cmd "$1" list -q >"$work/list.out" || return 1
	[ "$(grep -c "^bench-$1-$$-" "$work/list.out")" -eq "$count" ] ||
		{ echo "$1 list shows $(wc -l <"$work/list.out") containers, not $count" && return 1; }
}
delete_many() { # RT: delete --force the COUNT containers
	local n
	for n in $(seq "$count"); do
		runtime_cmd "$1" delete --force "$(id_of "$1" "$n")" >/dev/null 2>&1 || true
	done
}
if want state || want list; then
	echo "bench: state/list: creating $count containers per runtime" >&2
	for rt in "${active[@]}"; do many_bundles "$rt"; done
	check_members many "${active[@]}"
	many_members=("${members[@]}")
	echo "bench: state/list: $runs runs each, alternating: ${many_members[*]}" >&2
	for i in $(seq "$runs"); do
		rotation "$i" "${many_members[@]}"
		for rt in "${order[@]}"; do
			prefix "$rt"
			timed "$S/wall-state-$rt" "${pre[@]}" state "$(id_of "$rt" 1)" || fail "state $i of $rt"
			timed "$S/wall-list-$rt" "${pre[@]}" list || fail "list $i of $rt"
		done
		timed "$S/wall-floor-floor" /bin/true
		progress "$i" "$runs" state/list
	done
	echo "bench: state/list: deleting the containers" >&2
	for rt in "${many_members[@]}"; do delete_many "$rt"; done
fi

# ---- exec into a running container
op_check_exec() {
	local id
	id=$(id_of "$1" exec)
	runtime_cmd "$1" create --bundle "$work/bundle-$1-exec" "$id" >"$work/out-exec-$1" 2>&1 &&
		runtime_cmd "$1" start "$id" && runtime_cmd "$1" exec "$id" /bin/true
}
if want exec; then
	for rt in "${active[@]}"; do bundle "$rt" exec '["/bin/sleep", "1000000"]'; done
	check_members exec "${active[@]}"
	exec_members=("${members[@]}")
	echo "bench: exec: $runs runs each, alternating: ${exec_members[*]}" >&2
	for i in $(seq "$runs"); do
		rotation "$i" "${exec_members[@]}"
		for rt in "${order[@]}"; do
			prefix "$rt"
			timed "$S/wall-exec-$rt" "${pre[@]}" exec "$(id_of "$rt" exec)" /bin/true || fail "exec $i of $rt"
		done
		progress "$i" "$runs" exec
	done
	for rt in "${active[@]}"; do runtime_cmd "$rt" delete --force "$(id_of "$rt" exec)" >/dev/null 2>&1 || true; done
fi

# ---- run with containerd's default seccomp profile
op_check_seccomp() {
	if [ "$1" = berth-cold ]; then rm -rf "$work/root-berth/.seccomp-cache"; fi
	runtime_cmd "$1" run --bundle "$work/bundle-${1%-cold}-seccomp" "$(id_of "$1" seccomp)"
}
if want seccomp; then
	if [ ! -s "$seccomp_profile" ]; then
		echo "bench: capturing containerd's default seccomp profile into $seccomp_profile" >&2
		mkdir -p "$(dirname "$seccomp_profile")"
		"$repo/bench/containerd-seccomp.sh" "$seccomp_profile" >&2 || true
	fi
	if [ -s "$seccomp_profile" ]; then
		sc_rts=()
		for rt in "${active[@]}"; do
			bundle "$rt" seccomp '["/bin/true"]' "$seccomp_profile"
			sc_rts+=("$rt")
			if [ "$rt" = berth ]; then sc_rts+=(berth-cold); fi
		done
		check_members seccomp "${sc_rts[@]}"
		sc_members=("${members[@]}")
		echo "bench: seccomp: $runs runs each, alternating: ${sc_members[*]}" >&2
		for i in $(seq "$runs"); do
			rotation "$i" "${sc_members[@]}"
			for rt in "${order[@]}"; do
				if [ "$rt" = berth-cold ]; then rm -rf "$work/root-berth/.seccomp-cache"; fi
				prefix "$rt"
				timed "$S/wall-seccomp-$rt" "${pre[@]}" run --bundle "$work/bundle-${rt%-cold}-seccomp" \
					"$(id_of "$rt" seccomp)" || fail "seccomp run $i of $rt"
			done
			progress "$i" "$runs" seccomp
		done
		rss_loop seccomp seccomp "${sc_members[@]}"
	else
		note "seccomp: no profile ($seccomp_profile, bench/containerd-seccomp.sh failed): left out"
	fi
fi

# ---- COUNT foreground runs started at once
concurrent_once() { # RT: COUNT runs at once (xargs -P)
	prefix "$1"
	xargs -a "$work/conc-$1" -P "$count" -n 2 "${pre[@]}" run --bundle
}
op_check_conc() { concurrent_once "$1"; }
if want concurrent; then
	conc_rts=("${active[@]}")
	if has crun; then conc_rts+=(wrapper floor); fi
	for rt in "${conc_rts[@]}"; do
		case "$rt" in wrapper | floor) ;; *) many_bundles "$rt" ;; esac
		: >"$work/conc-$rt"
		for n in $(seq "$count"); do
			echo "$work/many-$rt/$n $(id_of "$rt" "$n")" >>"$work/conc-$rt"
		done
	done
	check_members conc "${conc_rts[@]}"
	conc_members=("${members[@]}")
	echo "bench: concurrent: $reps x $count at once, alternating: ${conc_members[*]}" >&2
	for i in $(seq "$reps"); do
		order=()
		for ((k = 0; k < ${#conc_members[@]}; k++)); do
			order+=("${conc_members[$(((k + i - 1) % ${#conc_members[@]}))]}")
		done
		for rt in "${order[@]}"; do
			prefix "$rt"
			timed "$S/wall-concurrent-$rt" xargs -a "$work/conc-$rt" -P "$count" -n 2 "${pre[@]}" run --bundle ||
				fail "concurrent run $i of $rt"
			if [ "$rt" != wrapper ] && [ "$rt" != floor ]; then
				left=$(runtime_cmd "$rt" list -q 2>/dev/null | grep -c "^bench-$rt-$$-" || true)
				if [ "$left" -ne 0 ]; then
					note "concurrent: $rt left $left containers after run $i (deleted)"
					delete_many "$rt"
				fi
			fi
		done
		echo "bench: concurrent $i/$reps" >&2
	done
fi

# ---- statistics
# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE, one per line.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(p / 100 * (NR - 1) + 0.5) + 1; print v[i] }'
}
col_median() { # FILE COLUMN
	awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
stripped_size() {
	local tmp=$work/strip.tmp kb
	cp "$1" "$tmp" && strip --strip-all "$tmp" 2>/dev/null
	kb=$(($(stat -c %s "$tmp") / 1024))
	rm -f "$tmp"
	if [ $kb -ge 1024 ]; then awk -v k="$kb" 'BEGIN { printf "%.2f MB", k / 1024 }'; else echo "$kb KB"; fi
}
med() { pct "$S/wall-$1-$2" 50; }
have() { [ -s "$S/wall-$1-$2" ]; }
# crun_net OP: crun's median less the wrapper's own cost (the wrapper's median less the floor's:
# the wrapper alone ends in an exec of /bin/true that crun's exec replaces), in us; empty without.
crun_net() {
	if have "$1" crun && have "$1" wrapper && have "$1" floor; then
		echo $(($(med "$1" crun) - $(med "$1" wrapper) + $(med "$1" floor)))
	fi
}

op_label() {
	case "$1" in
	run) echo "run /bin/true" ;;
	create) echo "create" ;;
	start) echo "start" ;;
	delete) echo "delete (stopped)" ;;
	state) echo "state ($count containers)" ;;
	list) echo "list ($count containers)" ;;
	exec) echo "exec /bin/true" ;;
	seccomp) echo "run + containerd seccomp" ;;
	concurrent) echo "$count x run at once (total)" ;;
	floor) echo "timer floor" ;;
	esac
}
rt_label() {
	case "$1" in
	berth-cold) echo "berth (cold seccomp cache)" ;;
	crun) echo "crun (in wrapper)" ;;
	wrapper) echo "crun wrapper alone" ;;
	floor) if [ -n "$timeit" ]; then echo "spawn+wait of /bin/true"; else echo "bash fork+exec /bin/true"; fi ;;
	*) echo "$1" ;;
	esac
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
head_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
conc_note=""
if want concurrent; then conc_note=" ($reps for the concurrent one)"; fi
printf '\nberth (%s at %s), %s, %s; busybox rootfs, no network namespace; %d alternating runs per\n' \
	"$berth_src" "$head_rev" "$( (runc --version 2>/dev/null || true) | head -n 1)" \
	"$( (crun --version 2>/dev/null || true) | head -n 1)" "$runs"
printf 'operation%s; %s, kernel %s, %d CPUs, load average %s at the start, %s at the end\n\n' \
	"$conc_note" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(uname -r)" "$(nproc)" "$load_start" "$load"
printf '| operation | runtime | median ms | p10 ms | p90 ms | vs crun | vs crun minus wrapper | peak RSS | minor faults | binary (stripped) |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for op in run create start delete state list exec seccomp concurrent floor; do
	net=$(crun_net "$op")
	for rt in berth berth-cold runc crun wrapper floor; do
		have "$op" "$rt" || continue
		if [ "$rt" = floor ] && [ "$op" != floor ]; then continue; fi
		f=$S/wall-$op-$rt
		m=$(med "$op" "$rt")
		r="-" rn="-"
		if [ "$rt" != wrapper ] && [ "$rt" != floor ] && have "$op" crun; then
			r=$(ratio "$m" "$(med "$op" crun)")
			if [ "$rt" = crun ]; then
				rn=1.00x
			elif [ -n "$net" ]; then rn=$(ratio "$m" "$net"); fi
		fi
		rss="-" faults="-" size="-"
		if [ -s "$S/rss-$op-$rt" ]; then
			rss=$(awk -v k="$(col_median "$S/rss-$op-$rt" 1)" 'BEGIN { printf "%.1f MB", k / 1024 }')
			faults=$(col_median "$S/rss-$op-$rt" 2)
		fi
		if [ "$op" = run ] && [ -n "${bin[$rt]:-}" ]; then size=$(stripped_size "${bin[$rt]}"); fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(op_label "$op")" "$(rt_label "$rt")" \
			"$(ms "$m")" "$(ms "$(pct "$f" 10)")" "$(ms "$(pct "$f" 90)")" "$r" "$rn" "$rss" "$faults" "$size"
	done
done

# ---- issue 8's targets for berth, judged on medians against crun minus its wrapper
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "met" : "MISSED") }'; }
target_ratio() { # OP LIMIT [BASE-RUNTIME]: berth / (crun - wrapper), or berth / BASE
	local op=$1 lim=$2 base=${3:-} b d
	have "$op" berth || return 0
	b=$(med "$op" berth)
	if [ -n "$base" ]; then
		have "$op" "$base" || return 0
		d=$(med "$op" "$base")
	else
		d=$(crun_net "$op")
		[ -n "$d" ] || return 0
	fi
	if [ "$d" -le 0 ]; then
		printf -- '- %s: berth %s ms, %s %s ms: no ratio\n' "$(op_label "$op")" "$(ms "$b")" "${base:-crun minus wrapper}" "$(ms "$d")"
		return 0
	fi
	local x
	x=$(awk -v a="$b" -v c="$d" 'BEGIN { printf "%.2f", a / c }')
	printf -- '- %s: berth %.2fx %s (target <= %sx): %s\n' "$(op_label "$op")" "$x" "${base:-crun minus wrapper}" "$lim" \
		"$(verdict "$x" "$lim")"
}
printf '\nissue 8 targets (berth; medians; crun without its wrapper, i.e. crun - (wrapper - floor)):\n'
target_ratio run 0.50
target_ratio run 0.25 runc
if [ -s "$S/rss-run-berth" ] && [ -s "$S/rss-run-crun" ]; then
	br=$(col_median "$S/rss-run-berth" 1) cr=$(col_median "$S/rss-run-crun" 1)
	bf=$(col_median "$S/rss-run-berth" 2) cf=$(col_median "$S/rss-run-crun" 2)
	printf -- '- run peak RSS: berth %s KB, crun %s KB (target <= crun): %s\n' "$br" "$cr" "$(verdict "$br" "$cr")"
	printf -- '- run minor faults: berth %s, crun %s (target <= 0.5x crun = %s): %s\n' "$bf" "$cf" \
		"$((cf / 2))" "$(verdict "$bf" "$((cf / 2))")"
fi
for op in create start delete; do target_ratio "$op" 0.60; done
for op in state list; do
	if have "$op" berth; then
		m=$(med "$op" berth)
		printf -- '- %s: berth %s ms (target < 1 ms, timer floor %s ms included): %s\n' "$(op_label "$op")" \
			"$(ms "$m")" "$(ms "$(med floor floor)")" "$(verdict "$m" 999)"
	fi
done
target_ratio exec 0.50
target_ratio seccomp 0.60
target_ratio concurrent 0.60

if [ ${#notes[@]} -gt 0 ]; then
	printf '\nnotes:\n'
	printf -- '- %s\n' "${notes[@]}"
fi

# ---- hyperfine cross-check of `run` (not alternating: each command's runs back to back)
if want run && [ -n "$use_hyperfine" ] && command -v hyperfine >/dev/null 2>&1 && [ ${#run_members[@]} -gt 0 ]; then
	echo "bench: hyperfine cross-check" >&2
	hcmds=()
	for rt in "${run_members[@]}"; do
		if [ "$rt" = crun ]; then
			hcmds+=("unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec ${bin[crun]} --root $work/root-crun run --bundle $work/bundle-crun-run $(id_of crun run)'")
		else
			hcmds+=("${bin[$rt]} --root $work/root-$rt run --bundle $work/bundle-$rt-run $(id_of "$rt" run)")
		fi
	done
	hyperfine -N --warmup 3 --runs "$runs" --export-markdown "$work/hyperfine.md" "${hcmds[@]}" >&2
	printf '\nhyperfine, `run` (%d runs each, back to back):\n\n' "$runs"
	sed -e "s|$work/||g" "$work/hyperfine.md"
fi

# ---- the exact commands (TMP is the temp dir; config.json as written by config_json above)
printf '\ncommands (TMP = the temp dir, removed at exit unless --keep; CRUN = unshare -m --propagation private sh -c '\''mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec "$0" "$@"'\'' %s):\n' \
	"${bin[crun]:-crun}"
want run && printf '    run:        RT --root TMP/root-RT run --bundle TMP/bundle-RT-run bench-RT-%s-run\n' "$$"
{ want create || want start || want delete; } && printf '    lifecycle:  RT --root TMP/root-RT create --bundle TMP/bundle-RT-life ID; RT ... start ID; (state until stopped); RT ... delete ID\n'
{ want state || want list; } && printf '    state/list: RT --root TMP/root-RT state bench-RT-%s-1; RT --root TMP/root-RT list  (with bench-RT-%s-1..%d created)\n' "$$" "$$" "$count"
want exec && printf '    exec:       RT --root TMP/root-RT exec bench-RT-%s-exec /bin/true  (its process: /bin/sleep 1000000)\n' "$$"
want seccomp && printf '    seccomp:    RT --root TMP/root-RT run --bundle TMP/bundle-RT-seccomp bench-RT-%s-seccomp  (profile: %s)\n' "$$" "$seccomp_profile"
want concurrent && printf '    concurrent: xargs -a LIST -P %d -n 2 RT --root TMP/root-RT run --bundle  (LIST: "TMP/many-RT/N bench-RT-%s-N", N = 1..%d)\n' "$count" "$$" "$count"
printf '    (berth = a copy of %s; crun = CRUN --root ...)\n' "$berth_src"

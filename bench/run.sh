#!/bin/bash
# shellcheck disable=SC2016 # single-quoted scripts for sh -c and jq, on purpose
# bench/run.sh: `run` of /bin/true in a busybox rootfs with berth, runc and crun, as root.
#
#   bench/run.sh [-n RUNS] [-m RSS-RUNS] [--berth PATH] [--runtimes "berth runc crun"] [--no-hyperfine]
#
# Wall time: RUNS (default 50) runs of each runtime, ALTERNATING (berth, runc, crun, berth, ...)
# so drift on a shared machine hits all of them alike; timed with bash's $EPOCHREALTIME (no fork
# inside the timed interval). Median, p10, p90 and the ratio of medians to crun.
# Peak RSS and minor page faults: RSS-RUNS (default 20) more alternating runs under
# /usr/bin/time -f '%M %R' (the peak over the runtime and the processes it waited for); medians.
# If hyperfine is installed, it also runs each command (-N, 3 warm-ups, RUNS runs) as a
# cross-check. Binary sizes are of stripped copies.
#
# Every runtime gets its own --root (a temp dir) and cgroupsPath /berth-test/bench-<runtime>-<pid>;
# no network namespace (as in ENVIRONMENT.md's measurements). crun 1.8.1 refuses this hybrid
# host's unified hierarchy, so it runs behind ENVIRONMENT.md's wrapper (a private mount namespace
# with a tmpfs over /sys/fs/cgroup/unified); the wrapper's own cost is measured alone and shown
# as the "crun wrapper alone" row, and "vs crun minus wrapper" compares with crun's median less
# the wrapper's (for crun, its peak RSS and faults are measured inside the wrapper).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-50}
rss_runs=${BENCH_RSS_RUNS:-20}
berth=${BERTH:-$repo/build/cli/berth}
runtimes="berth runc crun"
use_hyperfine=1

usage() {
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	-n) runs=$2; shift 2 ;;
	-m) rss_runs=$2; shift 2 ;;
	--berth) berth=$2; shift 2 ;;
	--runtimes) runtimes=$2; shift 2 ;;
	--no-hyperfine) use_hyperfine=""; shift ;;
	-h | --help) usage ;;
	*) echo "bench: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench: -n needs a positive number" >&2; exit 2; }
[[ "$rss_runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench: -m needs a positive number" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (sudo $0)" >&2
	exit 1
fi
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing: scripts/install-deps.sh --bench" >&2; exit 1; }

# runtime binaries; a missing one is left out with a note
declare -A bin=()
for rt in $runtimes; do
	case "$rt" in
	berth) path=$berth ;;
	*) path=$(command -v "$rt" || true) ;;
	esac
	if [ -n "$path" ] && [ -x "$path" ]; then
		bin[$rt]=$path
	else
		echo "bench: $rt not found${path:+ at $path}: left out (scripts/install-deps.sh --bench; cmake --build build)" >&2
	fi
done
active=()
for rt in $runtimes; do
	if [ -n "${bin[$rt]:-}" ]; then active+=("$rt"); fi
done
[ ${#active[@]} -gt 0 ] || { echo "bench: no runtime to measure" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
chmod 0755 "$work"
id_of() { echo "bench-$1-$$"; }
cleanup() {
	local rt d
	for rt in "${active[@]}"; do
		runtime_cmd "$rt" delete --force "$(id_of "$rt")" >/dev/null 2>&1 || true
		for d in /sys/fs/cgroup/*/berth-test/"$(id_of "$rt")"; do
			if [ -d "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
		done
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# runtime_cmd RUNTIME ARGS...: the runtime with its private --root (crun behind the wrapper).
runtime_cmd() {
	local rt=$1
	shift
	if [ "$rt" = crun ]; then
		unshare -m --propagation private sh -c \
			'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec "$0" "$@"' \
			"${bin[crun]}" --root "$work/root-crun" "$@"
	else
		"${bin[$rt]}" --root "$work/root-$rt" "$@"
	fi
}

# The wrapper's own cost: the same unshare + sh + mount, exec'ing /bin/true instead of crun.
wrapper_alone() {
	unshare -m --propagation private sh -c \
		'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec /bin/true'
}

# ---- bundles: one read-only busybox rootfs (an absolute root.path), one config per runtime
# (they differ in cgroupsPath only)
echo "bench: making bundles in $work" >&2
"$repo/scripts/make-rootfs.sh" "$work/rootfs" >&2
for rt in "${active[@]}"; do
	mkdir -p "$work/bundle-$rt" "$work/root-$rt"
	jq -n --arg cg "/berth-test/$(id_of "$rt")" --arg rootfs "$work/rootfs" '{
		ociVersion: "1.0.2",
		process: {terminal: false, user: {uid: 0, gid: 0}, args: ["/bin/true"], cwd: "/",
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
	}' >"$work/bundle-$rt/config.json"
done

run_once() { # RUNTIME: one `run` of /bin/true; output and errors to a file
	runtime_cmd "$1" run --bundle "$work/bundle-$1" "$(id_of "$1")" </dev/null >"$work/last.out" 2>&1
}

# ---- sanity: each runtime runs the bundle (else its numbers would measure a failure)
for rt in "${active[@]}"; do
	if ! run_once "$rt"; then
		echo "bench: '$rt run' of /bin/true failed:" >&2
		cat "$work/last.out" >&2
		exit 1
	fi
done

# ---- wall time, alternating
echo "bench: $runs runs each, alternating: ${active[*]}" >&2
for i in $(seq "$runs"); do
	for rt in "${active[@]}" wrapper; do
		if [ "$rt" = wrapper ]; then
			[ -n "${bin[crun]:-}" ] || continue
			t0=$EPOCHREALTIME
			wrapper_alone
			t1=$EPOCHREALTIME
		else
			t0=$EPOCHREALTIME
			run_once "$rt" || { echo "bench: run $i of $rt failed:" >&2; cat "$work/last.out" >&2; exit 1; }
			t1=$EPOCHREALTIME
		fi
		# microseconds, without a fork
		echo $((${t1/./} - ${t0/./})) >>"$work/wall-$rt"
	done
	if [ $((i % 10)) -eq 0 ]; then echo "bench: $i/$runs" >&2; fi
done

# ---- peak RSS and minor faults, alternating
echo "bench: $rss_runs runs each under /usr/bin/time" >&2
for _ in $(seq "$rss_runs"); do
	for rt in "${active[@]}"; do
		if [ "$rt" = crun ]; then
			# measure crun itself, inside the wrapper
			unshare -m --propagation private sh -c \
				'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec /usr/bin/time -f "%M %R" -a -o "$0" "$@"' \
				"$work/rss-crun" "${bin[crun]}" --root "$work/root-crun" run --bundle "$work/bundle-crun" \
				"$(id_of crun)" </dev/null >/dev/null 2>&1
		else
			/usr/bin/time -f '%M %R' -a -o "$work/rss-$rt" "${bin[$rt]}" --root "$work/root-$rt" run \
				--bundle "$work/bundle-$rt" "$(id_of "$rt")" </dev/null >/dev/null 2>&1
		fi
	done
done

# ---- statistics
# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE, one per line.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(p / 100 * (NR - 1) + 0.5) + 1; print v[i] }'
}
col_median() { # FILE COLUMN
	awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
stripped_size() {
	local tmp=$work/strip.$$
	cp "$1" "$tmp" && strip --strip-all "$tmp" 2>/dev/null
	local kb
	kb=$(($(stat -c %s "$tmp") / 1024))
	rm -f "$tmp"
	if [ $kb -ge 1024 ]; then awk -v k="$kb" 'BEGIN { printf "%.2f MB", k / 1024 }'; else echo "$kb KB"; fi
}

crun_median=""
crun_net=""
if [ -n "${bin[crun]:-}" ]; then
	crun_median=$(pct "$work/wall-crun" 50)
	crun_net=$((crun_median - $(pct "$work/wall-wrapper" 50)))
fi

printf '\n`run` of /bin/true, busybox rootfs, no network namespace; %d alternating runs each (%s, kernel %s, %d CPUs)\n\n' \
	"$runs" "$(date -u +%Y-%m-%d)" "$(uname -r)" "$(nproc)"
printf '| runtime | median ms | p10 ms | p90 ms | vs crun | vs crun minus wrapper | peak RSS | minor faults | binary (stripped) |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for rt in "${active[@]}" wrapper; do
	f=$work/wall-$rt
	[ -s "$f" ] || continue
	med=$(pct "$f" 50)
	ratio="-" ratio_net="-"
	if [ -n "$crun_median" ] && [ "$rt" != wrapper ]; then
		ratio=$(awk -v a="$med" -v b="$crun_median" 'BEGIN { printf "%.2fx", a / b }')
		if [ "$crun_net" -gt 0 ]; then
			ratio_net=$(awk -v a="$med" -v b="$crun_net" -v rt="$rt" \
				'BEGIN { if (rt == "crun") print "1.00x"; else printf "%.2fx", a / b }')
		fi
	fi
	if [ "$rt" = wrapper ]; then
		printf '| crun wrapper alone (included in crun) | %s | %s | %s | - | - | - | - | - |\n' \
			"$(ms "$med")" "$(ms "$(pct "$f" 10)")" "$(ms "$(pct "$f" 90)")"
		continue
	fi
	rss="-" faults="-"
	if [ -s "$work/rss-$rt" ]; then
		rss=$(awk -v k="$(col_median "$work/rss-$rt" 1)" 'BEGIN { printf "%.1f MB", k / 1024 }')
		faults=$(col_median "$work/rss-$rt" 2)
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$rt" "$(ms "$med")" "$(ms "$(pct "$f" 10)")" \
		"$(ms "$(pct "$f" 90)")" "$ratio" "$ratio_net" "$rss" "$faults" "$(stripped_size "${bin[$rt]}")"
done

# ---- hyperfine cross-check (not alternating: each command's runs back to back)
if [ -n "$use_hyperfine" ] && command -v hyperfine >/dev/null 2>&1; then
	echo >&2
	echo "bench: hyperfine cross-check" >&2
	hcmds=()
	for rt in "${active[@]}"; do
		if [ "$rt" = crun ]; then
			hcmds+=("unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified && exec ${bin[crun]} --root $work/root-crun run --bundle $work/bundle-crun $(id_of crun)'")
		else
			hcmds+=("${bin[$rt]} --root $work/root-$rt run --bundle $work/bundle-$rt $(id_of "$rt")")
		fi
	done
	hyperfine -N --warmup 3 --runs "$runs" --export-markdown "$work/hyperfine.md" "${hcmds[@]}" >&2
	printf '\nhyperfine (%d runs each, back to back):\n\n' "$runs"
	sed -e "s|$work/||g" "$work/hyperfine.md"
fi

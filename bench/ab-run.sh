#!/bin/bash
# shellcheck disable=SC2016 # jq filters in single quotes
# bench/ab-run.sh OLD NEW [ROUNDS] [RSS-ROUNDS]: `run /bin/true` of two berth binaries and crun,
# alternating round by round on the same kind of bundle (bench/run.sh's config; plain and with
# tests/data/seccomp/default.json), all in one private mount namespace with a tmpfs over
# /sys/fs/cgroup/unified (crun needs it here; ENVIRONMENT.md). Prints median, p10, p90 wall time,
# median peak RSS and minor faults, and the median of the paired NEW-OLD differences. As root.
# Used for the CVE-2019-5736 protection's cost in bench/README.md.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD-BERTH NEW-BERTH [ROUNDS] [RSS-ROUNDS]" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=${3:-60}
M=${4:-15}
W=$(mktemp -d /tmp/berth-ab.XXXXXX)
trap 'rm -rf "$W"' EXIT
declare -A BIN=([old]=$1 [new]=$2 [crun]=$(command -v crun))
"$SRC/scripts/make-rootfs.sh" "$W/rootfs" >/dev/null 2>&1
cc -O2 -o "$W/timeit" "$SRC/bench/timeit.c"
conf() { # RT SECCOMP-FILE
	jq -n --arg cg "/berth-test/ab-$1-$$" --arg rootfs "$W/rootfs" --slurpfile sc "${2:-/dev/null}" '{
	ociVersion: "1.0.2",
	process: {terminal: false, user: {uid: 0, gid: 0}, args: ["/bin/true"], cwd: "/",
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
		capabilities: {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]},
		noNewPrivileges: true},
	root: {path: $rootfs, readonly: true}, hostname: "bench",
	mounts: [{destination: "/proc", type: "proc", source: "proc"},
		{destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=64k"]}],
	linux: {cgroupsPath: $cg, namespaces: [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}],
		maskedPaths: ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
		readonlyPaths: ["/proc/sys", "/proc/sysrq-trigger"]}
	} | if ($sc | length) > 0 then .linux.seccomp = $sc[0] else . end'
}
body() {
	mount -t tmpfs -o size=64k none /sys/fs/cgroup/unified
	local v rt sc
	for v in plain seccomp; do
		for rt in old new crun; do
			mkdir -p "$W/b-$rt-$v" "$W/root-$rt"
			sc=""
			if [ $v = seccomp ]; then sc=$SRC/tests/data/seccomp/default.json; fi
			conf $rt "$sc" >"$W/b-$rt-$v/config.json"
			# one untimed run (caches, the seccomp cache)
			"${BIN[$rt]}" --root "$W/root-$rt" run --bundle "$W/b-$rt-$v" "ab-$rt-$$" </dev/null >/dev/null 2>&1 ||
				echo "warning: $rt ($v) failed its first run" >&2
		done
		for _ in $(seq "$N"); do
			for rt in old new crun; do
				"$W/timeit" "$W/t-$rt-$v" "${BIN[$rt]}" --root "$W/root-$rt" run --bundle "$W/b-$rt-$v" \
					"ab-$rt-$$" </dev/null >/dev/null 2>&1 || true
			done
		done
		for _ in $(seq "$M"); do
			for rt in old new crun; do
				/usr/bin/time -a -o "$W/m-$rt-$v" -f '%M %R' "${BIN[$rt]}" --root "$W/root-$rt" run \
					--bundle "$W/b-$rt-$v" "ab-$rt-$$" </dev/null >/dev/null 2>&1 || true
			done
		done
	done
}
export -f body conf
export W N M SRC
BIN_DECL=$(declare -p BIN)
export BIN_DECL
unshare -m --propagation private bash -c 'eval "$BIN_DECL"; body'
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p); if (i<1) i=1; print a[i]}'; }
for v in plain seccomp; do
	for rt in old new crun; do
		printf '%-8s %-5s median %6.2f ms  p10 %6.2f  p90 %6.2f  peak RSS %s KB  faults %s\n' $v $rt \
			"$(med <"$W/t-$rt-$v" | awk '{print $1/1000}')" "$(pct 0.1 <"$W/t-$rt-$v" | awk '{print $1/1000}')" \
			"$(pct 0.9 <"$W/t-$rt-$v" | awk '{print $1/1000}')" "$(cut -d' ' -f1 "$W/m-$rt-$v" | med)" \
			"$(cut -d' ' -f2 "$W/m-$rt-$v" | med)"
	done
	printf '%-8s new-old, paired by round: median %s us\n' $v "$(paste "$W/t-old-$v" "$W/t-new-$v" | awk '{print $2-$1}' | med)"
done

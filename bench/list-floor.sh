#!/bin/bash
# bench/list-floor.sh [-n RUNS] [-c COUNT] [--berth PATH]: how close `berth list` is to the least
# any runtime's `list` can cost on this machine. With COUNT (default 100) containers created in a
# private state root, it times, alternating, RUNS (default 100) times each:
#   - an empty statically linked program (spawning anything at all),
#   - bench/list_floor.c (only the reads every container needs, no parsing, statically linked),
#   - `berth list`.
# Medians in ms. As root; containers use cgroupsPath /berth-test/listfloor-PID-N and are
# removed at exit with the temp dir.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=100
count=100
berth=${BERTH:-$repo/build/cli/berth}
while [ $# -gt 0 ]; do
	case "$1" in
	-n) runs=$2; shift 2 ;;
	-c) count=$2; shift 2 ;;
	--berth) berth=$2; shift 2 ;;
	*) sed -n '2,3p' "$0" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "list-floor: needs root" >&2; exit 1; }
work=$(mktemp -d /tmp/berth-list-floor.XXXXXX)
cleanup() {
	for d in "$work"/root/*/; do
		[ -d "$d" ] && "$berth" --root "$work/root" delete --force "$(basename "$d")" >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -static-pie -o "$work/floor" "$repo/bench/list_floor.c"
printf 'int main(void) { return 0; }\n' >"$work/empty.c"
cc -O2 -static-pie -o "$work/empty" "$work/empty.c"
cc -O2 -o "$work/timeit" "$repo/bench/timeit.c"
bash "$repo/scripts/make-rootfs.sh" "$work/bundle/rootfs" >/dev/null
"$berth" spec -b "$work/bundle"
jq '.process.terminal = false | .process.args = ["sleep", "600"]
	| .linux.namespaces = [.linux.namespaces[] | select(.type != "network")]' \
	"$work/bundle/config.json" >"$work/config.json"
for i in $(seq "$count"); do
	jq --arg cg "/berth-test/listfloor-$$-$i" '.linux.cgroupsPath = $cg' "$work/config.json" \
		>"$work/bundle/config.json"
	"$berth" --root "$work/root" create --bundle "$work/bundle" "lf-$i" >/dev/null
done
for i in $(seq "$runs"); do
	"$work/timeit" "$work/t-empty" "$work/empty"
	"$work/timeit" "$work/t-floor" "$work/floor" "$work/root" >/dev/null
	"$work/timeit" "$work/t-berth" "$berth" --root "$work/root" list >/dev/null
done
med() { sort -n "$1" | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)] / 1000}'; }
printf '%d containers, %d alternating runs each (medians):\n' "$count" "$runs"
printf '  empty static program:                 %s ms\n' "$(med "$work/t-empty")"
printf '  list_floor (reads only, no parsing):  %s ms\n' "$(med "$work/t-floor")"
printf '  berth list:                           %s ms\n' "$(med "$work/t-berth")"

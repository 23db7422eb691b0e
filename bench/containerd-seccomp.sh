#!/bin/bash
# shellcheck disable=SC2016 # single-quoted script for the runtime wrapper, on purpose
# bench/containerd-seccomp.sh OUTPUT.json: capture the seccomp profile containerd really puts in a
# container's config.json with `ctr run --seccomp` (containerd's default profile, what CRI's
# RuntimeDefault gives; for ctr's default capability set), as root. Writes `.linux.seccomp` of
# that config.json to OUTPUT.json.
#
# How: a private containerd (root, state, sockets and TMPDIR in a temp dir, CRI disabled, a
# containerd namespace berth-bench-<pid>) imports a busybox image built by
# scripts/make-oci-image.sh (nothing downloaded); `ctr run --rm --seccomp` runs /bin/true in it
# with --runc-binary set to a wrapper that copies the bundle's config.json on `create` and then
# execs runc (--runc-root in the temp dir, cgroup /berth-test/bench-seccomp-<pid>). Outside the
# temp dir only the shim's socket in /run/containerd/s and that cgroup are made; both are removed,
# and only the containerd started here is stopped (by pid).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTPUT.json" >&2; exit 2; }
out=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root" >&2; exit 1; }
for c in containerd ctr containerd-shim-runc-v2 runc jq sha256sum; do
	command -v "$c" >/dev/null 2>&1 || { echo "$0: $c not found" >&2; exit 1; }
done

ns=berth-bench-$$
cid=seccomp-$$
cg=/berth-test/bench-seccomp-$$
tmp=$(mktemp -d /tmp/berth-bench-ctrd.XXXXXX)
sock=$tmp/containerd.sock
shim_sock=/run/containerd/s/$(printf '%s' "$sock/$ns/$cid" | sha256sum | cut -d' ' -f1)
preexisting=()
for d in /run/containerd /run/containerd/s; do
	if [ -e "$d" ]; then preexisting+=("$d"); fi
done
# shellcheck source=tests/lib/containerd.sh
. "$repo/tests/lib/containerd.sh"

teardown() {
	local p d m
	if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		timeout 20 ctr -a "$sock" -n "$ns" task kill -s SIGKILL "$cid" >/dev/null 2>&1 || true
		timeout 20 ctr -a "$sock" -n "$ns" task delete -f "$cid" >/dev/null 2>&1 || true
		timeout 20 ctr -a "$sock" -n "$ns" containers rm "$cid" >/dev/null 2>&1 || true
	fi
	ctrd_stop
	# the shim of this containerd (its command line names our socket)
	for p in /proc/[0-9]*/cmdline; do
		d=${p#/proc/}
		d=${d%/cmdline}
		if tr '\0' '\n' 2>/dev/null <"$p" | grep -qxF -e "$sock"; then kill -9 "$d" 2>/dev/null || true; fi
	done
	for d in /sys/fs/cgroup/*"$cg" /sys/fs/cgroup"$cg"; do
		if [ -d "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
	done
	rm -f "$shim_sock"
	for d in /run/containerd/s /run/containerd; do
		if [[ " ${preexisting[*]} " != *" $d "* ]]; then rmdir "$d" 2>/dev/null || true; fi
	done
	awk -v d="$tmp" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	rm -rf --one-file-system "$tmp"
}
trap teardown EXIT
trap 'exit 130' INT TERM

"$repo/scripts/make-rootfs.sh" "$tmp/rootfs" >/dev/null
"$repo/scripts/make-oci-image.sh" --rootfs "$tmp/rootfs" "$tmp/busybox.tar" >/dev/null

mkdir -p "$tmp/fifo" "$tmp/runc-root"
ctrd_start "$tmp" "$sock"
ctrd_wait "$sock" 20 || { tail -n 20 "$tmp/containerd.log" >&2; echo "$0: containerd did not start" >&2; exit 1; }

ctr -a "$sock" -n "$ns" images import "$tmp/busybox.tar" >/dev/null

# The wrapper: on `create`, copy BUNDLE/config.json; then the real runc.
printf '#!/bin/sh\nb=""; p=""\nfor a in "$@"; do [ "$p" = --bundle ] && b=$a; p=$a; done\n[ -n "$b" ] && [ -f "$b/config.json" ] && cp "$b/config.json" %q\nexec %q "$@"\n' \
	"$tmp/captured.json" "$(command -v runc)" >"$tmp/runtime"
chmod 0755 "$tmp/runtime"

ctr -a "$sock" -n "$ns" run --rm --seccomp --fifo-dir "$tmp/fifo" --runc-binary "$tmp/runtime" \
	--runc-root "$tmp/runc-root" --cgroup "$cg" localhost/berth-busybox:latest "$cid" /bin/true </dev/null
[ -s "$tmp/captured.json" ] || { echo "$0: the wrapper saw no config.json" >&2; exit 1; }
jq -e '.linux.seccomp | select(.syscalls | length > 0)' "$tmp/captured.json" >"$out.tmp" ||
	{ rm -f "$out.tmp"; echo "$0: no seccomp profile in the captured config.json" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "$0: containerd $(containerd --version | awk '{print $3}') default seccomp profile -> $out" \
	"($(jq '[.syscalls[].names | length] | add' "$out") syscall names in $(jq '.syscalls | length' "$out") rules," \
	"default action $(jq -r .defaultAction "$out"))" >&2

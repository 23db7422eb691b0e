#!/bin/bash
# first-run.sh: from a fresh Debian 12 checkout to a first container, in one command (as root):
# installs the build dependencies, builds berth into build/, makes a busybox root filesystem,
# writes a config with `berth spec`, and runs a container with `berth run`.
# BERTH_SKIP_DEPS=1 skips the package installation; BERTH_BUILD_DIR changes build/.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_BUILD_DIR:-$repo/build}

if [ "$(id -u)" -ne 0 ]; then
	echo "first-run: containers need root: sudo $0" >&2
	exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

if [ -z "${BERTH_SKIP_DEPS:-}" ]; then
	step "installing build dependencies (scripts/install-deps.sh --minimal)"
	"$repo/scripts/install-deps.sh" --minimal
fi

step "building berth in $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target berth -j "$(nproc)"
berth=$build/cli/berth

work=$(mktemp -d /tmp/berth-first-run.XXXXXX)
root=$work/state
bundle=$work/bundle
id=first-run-$$
cleanup() {
	"$berth" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

step "making a busybox root filesystem in $bundle/rootfs"
"$repo/scripts/make-rootfs.sh" "$bundle/rootfs"

step "writing $bundle/config.json with berth spec"
"$berth" --root "$root" spec --bundle "$bundle"
# Not a terminal (this script may run without one), a command of our own, a hostname, and a
# cgroup of our own.
jq --arg cg "/berth-test/$id" '
	.process.terminal = false
	| .process.args = ["sh", "-c",
		"echo hello from berth; echo \"hostname: $(cat /etc/hostname) (uts: $(hostname))\"; echo \"pid: $$, user: $(id -un), kernel: $(uname -r)\"; echo processes:; ps; echo goodbye"]
	| .hostname = "berth-demo"
	| .linux.cgroupsPath = $cg' "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

step "running: berth --root $root run --bundle $bundle $id"
"$berth" --root "$root" run --bundle "$bundle" "$id"

step "done. berth is $berth; the full test suite is: tests/run-all.sh (as root)"

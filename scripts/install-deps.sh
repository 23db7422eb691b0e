#!/bin/bash
# install-deps.sh [--minimal] [--bench] [--all]: install what berth needs from Debian 12's archive.
#   (default)   build dependencies + everything the test suite (tests/run-all.sh) uses
#   --minimal   build dependencies + what scripts/first-run.sh needs (busybox-static, jq)
#   --bench     also runc, crun and hyperfine for bench/run.sh
#   --all       everything above
# Idempotent: packages already installed are not touched, and `apt-get update` runs only
# (once) when something is missing. Non-interactive; needs root.
set -euo pipefail

build=(cmake make gcc clang pkg-config libseccomp-dev libcap-dev libyajl-dev libmnl-dev
	libarchive-dev libcmocka-dev criu libsystemd-dev)
first_run=(busybox-static jq)
# Test layers: integration (busybox rootfs, jq, iproute2, /usr/bin/time, unshare/nsenter),
# formatting and lint checks, valgrind (memcheck of the unit tests), libFuzzer (libclang-rt-14-dev:
# clang-14 only recommends it, and recommends are not installed here), containerd layer, vm layer
# (qemu, kernel unpacking, initramfs).
# compat layer (tests/compat: runc and crun as references, podman with conmon, CNI plugins and
# catatonit as a second client, and podman's recommends that the machine the tests were written on
# had: uidmap, slirp4netns, fuse-overlayfs; tmux for terminal flows), AppArmor (the VM's LSM test),
# systemd and dbus (the VM's systemd boot: the guest runs the host's /lib/systemd/systemd and dbus),
# the user session bus (test_vm_rootless runs a user's systemd instance there), the ssh client of
# live migration (the guests' sshd is fetched by tests/vm/prepare-sshd.sh with apt-get download,
# never installed on the host), python3 (test_migrate_receive's stand-in criu).
test=(busybox-static jq iproute2 time util-linux procps psmisc file clang-format shellcheck valgrind libclang-rt-14-dev
	containerd runc umoci skopeo qemu-system-x86 cpio kmod xz-utils
	crun podman conmon containernetworking-plugins catatonit uidmap slirp4netns fuse-overlayfs tmux apparmor
	systemd dbus dbus-user-session openssh-client python3)
bench=(runc crun hyperfine time busybox-static)

want=("${build[@]}")
mode=full
for arg in "$@"; do
	case "$arg" in
	--minimal) mode=minimal ;;
	--bench) want+=("${bench[@]}") ;;
	--all) want+=("${test[@]}" "${bench[@]}") ;;
	-h | --help)
		sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "$0: unknown option '$arg' (see --help)" >&2
		exit 2
		;;
	esac
done
if [ "$mode" = minimal ]; then
	want+=("${first_run[@]}")
else
	want+=("${test[@]}")
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: must run as root (sudo $0 $*)" >&2
	exit 1
fi

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
declare -A seen=()
for pkg in "${want[@]}"; do
	[ -n "${seen[$pkg]:-}" ] && continue
	seen[$pkg]=1
	installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#seen[@]} packages already installed"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

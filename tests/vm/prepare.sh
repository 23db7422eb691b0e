#!/bin/bash
# tests/vm/prepare.sh [OUT_DIR]: prepare what tests/vm/run-vm.sh boots, cached in OUT_DIR
# (default: $BERTH_VM_DIR, else build/vm in the source tree). Idempotent: a second run only checks.
#
#   OUT_DIR/kernel.env          KVER, KERNEL_PKG, KERNEL_PKG_VERSION (written last: the stamp)
#   OUT_DIR/unpacked/           Debian's linux-image-6.1.0-*-amd64 package, `dpkg -x`-ed and depmod-ed
#                               (never installed: the host keeps its own kernel). The guest loads
#                               further modules from here: `modprobe -d OUT_DIR/unpacked NAME`.
#   OUT_DIR/vmlinux             the uncompressed kernel cut out of vmlinuz (QEMU boots it as PVH)
#   OUT_DIR/initramfs.cpio.gz   busybox + the modules to mount 9p and overlayfs + /init (below)
#
# The initramfs /init mounts the host's / (9p tag "hostroot", read-only) under a tmpfs overlay,
# mounts the writable 9p share "results" at /berth-results in it, gives it fresh /tmp and /run, and
# switch_roots into it running the test named by berth.test= on the kernel command line as a child
# of a small PID 1 that writes the test's exit status to /berth-results/status and powers off.
# Console markers (run-vm.sh waits for them): BERTH-VM-READY, BERTH-VM-DONE, BERTH-VM-INIT-FAILED.
#
# Needs root and these Debian packages, installed with apt-get when missing: qemu-system-x86
# busybox-static cpio kmod xz-utils zstd. Exit status: 0 ready; 77 when the packages or the kernel
# package cannot be had (the VM tests then skip); 1 on any other failure.
# Environment: BERTH_VM_KERNEL_PKG=name picks the kernel package (default: the newest
# linux-image-6.1.0-N-amd64-unsigned, else the signed one); BERTH_VM_NO_INSTALL=1 never runs apt-get.
# A prepared OUT_DIR is kept as it is when newer kernel packages appear: remove it (or set
# BERTH_VM_KERNEL_PKG) to move on.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-${BERTH_VM_DIR:-$repo/build/vm}}

msg() { printf 'prepare-vm: %s\n' "$*" >&2; }
die() {
	msg "$*"
	exit 1
}
unavailable() {
	msg "$* (VM tests cannot run here)"
	exit 77
}

[ "$(id -u)" -eq 0 ] || unavailable "needs root (apt-get, mknod)"

# ---------------------------------------------------------------- host packages
# need_pkgs: each "package:probe", where probe is a command name or an absolute path.
need_pkgs=(
	qemu-system-x86:qemu-system-x86_64
	qemu-system-x86:/usr/share/qemu/qboot.rom
	busybox-static:/bin/busybox
	cpio:cpio
	kmod:modprobe
	kmod:depmod
	xz-utils:xz
	zstd:zstd
)

missing_pkgs() {
	local entry pkg probe
	for entry in "${need_pkgs[@]}"; do
		pkg=${entry%%:*}
		probe=${entry#*:}
		if [[ $probe == /* ]]; then
			[ -e "$probe" ] && continue
		else
			command -v "$probe" >/dev/null 2>&1 && continue
		fi
		printf '%s\n' "$pkg"
	done | sort -u
}

busybox_is_static() {
	[ -x /bin/busybox ] || return 1
	# ldd fails ("not a dynamic executable") on a static binary.
	! ldd /bin/busybox >/dev/null 2>&1
}

ensure_packages() {
	local missing
	mapfile -t missing < <(missing_pkgs)
	if ! busybox_is_static; then
		missing+=(busybox-static)
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ -n "${BERTH_VM_NO_INSTALL:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
		unavailable "missing packages: ${missing[*]}"
	fi
	msg "installing ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
		DEBIAN_FRONTEND=noninteractive apt-get update >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
			unavailable "apt-get could not install: ${missing[*]}"
	fi
	mapfile -t missing < <(missing_pkgs)
	[ ${#missing[@]} -eq 0 ] || unavailable "still missing after apt-get: ${missing[*]}"
	busybox_is_static || unavailable "/bin/busybox is not the static busybox (busybox-static)"
}

# ---------------------------------------------------------------- kernel package
# newest NAME-REGEX: the name of the newest package matching, by version sort.
newest() {
	apt-cache search --names-only "$1" 2>/dev/null | awk '{print $1}' | grep -E "$1" | sort -V | tail -n 1
}

pick_kernel_pkg() {
	local pkg=${BERTH_VM_KERNEL_PKG:-}
	if [ -z "$pkg" ]; then
		pkg=$(newest '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$')
		[ -n "$pkg" ] || pkg=$(newest '^linux-image-6\.1\.0-[0-9]+-amd64$')
	fi
	printf '%s\n' "$pkg"
}

# extract_vmlinux VMLINUZ OUT: the kernel image after the bzImage header is one xz (Debian's
# choice) or zstd stream; decompress the first one that yields an ELF file.
extract_vmlinux() {
	local vmlinuz=$1 dest=$2 off magic
	for magic in '\xFD7zXZ\x00' '\x28\xB5\x2F\xFD'; do
		while IFS=: read -r off _; do
			[ -n "$off" ] || continue
			rm -f "$dest"
			if [ "$magic" = '\x28\xB5\x2F\xFD' ]; then
				tail -c +"$((off + 1))" "$vmlinuz" | zstd -dcq 2>/dev/null >"$dest" || true
			else
				tail -c +"$((off + 1))" "$vmlinuz" | xz -dcq --single-stream 2>/dev/null >"$dest" || true
			fi
			if [ "$(head -c 4 "$dest" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "$magic" "$vmlinuz" || true)
	done
	rm -f "$dest"
	return 1
}

kernel_ready() {
	[ -f "$out/kernel.env" ] || return 1
	local KVER KERNEL_PKG
	# shellcheck source=/dev/null
	. "$out/kernel.env"
	[ -n "${BERTH_VM_KERNEL_PKG:-}" ] && [ "$BERTH_VM_KERNEL_PKG" != "$KERNEL_PKG" ] && return 1
	[ -s "$out/vmlinux" ] && [ -s "$out/unpacked/lib/modules/$KVER/modules.dep.bin" ]
}

# download PKG DIR: apt-get download into DIR. apt's _apt sandbox user cannot write into a
# root-owned build dir: allow the unsandboxed download explicitly instead of a warning.
download() {
	(cd "$2" && apt-get download -o APT::Sandbox::User=root "$1" >&2)
}

prepare_kernel() {
	local pkg tmp deb kver vmlinuz pkgver
	pkg=$(pick_kernel_pkg)
	tmp=$(mktemp -d "$out/.kernel.XXXXXX")
	if [ -z "$pkg" ] || ! download "$pkg" "$tmp"; then
		# Stale package lists (the security archive keeps only the newest kernel): update once.
		msg "${pkg:-no linux-image-6.1.0-*-amd64 package}: running apt-get update once"
		DEBIAN_FRONTEND=noninteractive apt-get update >&2 || true
		pkg=$(pick_kernel_pkg)
		if [ -z "$pkg" ] || ! download "$pkg" "$tmp"; then
			rm -rf "$tmp"
			unavailable "cannot download ${pkg:-a linux-image-6.1.0-*-amd64 package} with apt-get"
		fi
	fi
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
	pkgver=$(dpkg-deb -f "$deb" Version)
	dpkg -x "$deb" "$tmp/unpacked"
	rm -f "$deb"
	vmlinuz=$(find "$tmp/unpacked/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
	[ -n "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-*"
	kver=${vmlinuz##*/vmlinuz-}
	[ -d "$tmp/unpacked/lib/modules/$kver" ] || die "$pkg has no /lib/modules/$kver"
	depmod -b "$tmp/unpacked" "$kver"
	extract_vmlinux "$vmlinuz" "$tmp/vmlinux" || die "no xz or zstd kernel image found in $vmlinuz"
	rm -rf "$out/unpacked" "$out/vmlinux" "$out/kernel.env" "$out/initramfs.cpio.gz"
	mv "$tmp/unpacked" "$out/unpacked"
	mv "$tmp/vmlinux" "$out/vmlinux"
	rmdir "$tmp" 2>/dev/null || rm -rf "$tmp"
	printf 'KVER=%s\nKERNEL_PKG=%s\nKERNEL_PKG_VERSION=%s\n' "$kver" "$pkg" "$pkgver" >"$out/kernel.env.tmp"
	mv "$out/kernel.env.tmp" "$out/kernel.env"
	msg "kernel $kver from $pkg $pkgver"
}

# ---------------------------------------------------------------- initramfs
# The modules /init loads, in order, with their dependencies (modprobe --show-depends).
boot_modules=(virtio_mmio 9pnet_virtio 9p overlay)

# module_files KVER: the .ko paths (relative to the module dir) to insmod, dependencies first.
module_files() {
	local kver=$1 m line path
	local -A seen=()
	for m in "${boot_modules[@]}"; do
		while read -r line; do
			case "$line" in
			insmod\ *) path=${line#insmod } ;;
			builtin\ *) continue ;;
			*) die "modprobe --show-depends $m: unexpected '$line'" ;;
			esac
			path=${path%% *}
			path=${path#"$out/unpacked/lib/modules/$kver/"}
			[ -n "${seen[$path]:-}" ] && continue
			seen[$path]=1
			printf '%s\n' "$path"
		done < <(modprobe -d "$out/unpacked" -S "$kver" --show-depends "$m")
	done
}

write_init() {
	cat <<'INIT'
#!/bin/busybox sh
# berth VM initramfs /init (generated by tests/vm/prepare.sh).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
hostname berth-vm
# Loopback up, as any init does (criu check needs it: kerndat's TCP repair probe).
ip link set lo up

fail() {
	echo "berth-vm-init: $*"
	echo "BERTH-VM-INIT-FAILED"
	poweroff -f
	sleep 2
	reboot -f
}

while read -r ko; do
	insmod "/modules/$ko" || fail "insmod $ko failed"
done </modules.list

test_script=""
guest_init=""
for word in $(cat /proc/cmdline); do
	case "$word" in
	berth.test=*) test_script=${word#berth.test=} ;;
	berth.init=*) guest_init=${word#berth.init=} ;;
	esac
done

mkdir -p /mnt/host /mnt/rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /mnt/host ||
	fail "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /newroot ||
	fail "cannot mount the overlay"
mkdir -p /newroot/berth-results
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 results /newroot/berth-results ||
	fail "cannot mount the results share (9p tag results)"
# The host's /tmp stays reachable, read-only, at /berth-host-tmp: a build tree under /tmp (a CI
# clone) keeps its kernel modules visible to the tests (run-vm.sh points BERTH_VM_MODDIR there).
mkdir -p /newroot/berth-host-tmp
mount --bind /mnt/host/tmp /newroot/berth-host-tmp 2>/dev/null || true
# Fresh /tmp and /run: the host's own must not leak into the guest (state dirs, sockets).
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
for fs in dev proc sys; do
	mount --move "/$fs" "/newroot/$fs" || fail "cannot move /$fs"
done
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm

cat >/newroot/run/berth-vm-init <<'RUNNER'
# PID 1 of the guest after switch_root (the host's static busybox sh): run the test, record its
# exit status on the results share, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8
cd /
R=/berth-results
test_script=$1
if [ -f "$R/env" ]; then
	. "$R/env"
fi
export BERTH_VM_GUEST=1 BERTH_VM_RESULTS="$R" BERTH_VM_TEST="$test_script"
echo "BERTH-VM-READY uptime=$(cut -d' ' -f1 /proc/uptime)"
# A heartbeat on the console: run-vm.sh reports a silent console as a stall.
(while sleep 10; do echo "berth-vm: alive uptime=$(cut -d' ' -f1 /proc/uptime)"; done) &
heartbeat=$!
if [ -z "$test_script" ] || [ ! -f "$test_script" ]; then
	echo "berth-vm: test script '$test_script' not found in the guest"
	rc=2
elif [ -x /bin/bash ]; then
	/bin/bash "$test_script" </dev/null
	rc=$?
else
	/bin/busybox sh "$test_script" </dev/null
	rc=$?
fi
kill "$heartbeat" 2>/dev/null
echo "$rc" >"$R/status.tmp" && mv "$R/status.tmp" "$R/status"
sync
echo "BERTH-VM-DONE status=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
/bin/busybox poweroff -f
sleep 2
/bin/busybox reboot -f
RUNNER

if [ "$guest_init" = systemd ]; then
	# berth.init=systemd (run-vm.sh --systemd): the host's systemd becomes PID 1 and starts only
	# berth-test.target: the runner as a service after a D-Bus system bus. The host's dbus units
	# lose their default dependencies (sysinit.target, basic.target and everything the host
	# enabled there), so nothing else of the host's image starts.
	[ -x /newroot/lib/systemd/systemd ] || fail "berth.init=systemd: no /lib/systemd/systemd on the host"
	sd=/newroot/etc/systemd/system
	cp /newroot/run/berth-vm-init /newroot/etc/berth-vm-init
	mkdir -p "$sd/dbus.service.d" "$sd/dbus.socket.d"
	printf '[Unit]\nDefaultDependencies=no\n' >"$sd/dbus.socket.d/berth-vm.conf"
	printf '[Unit]\nDefaultDependencies=no\n' >"$sd/dbus.service.d/berth-vm.conf"
	cat >"$sd/berth-test.service" <<UNIT
[Unit]
Description=berth VM test
DefaultDependencies=no
Requires=dbus.socket dbus.service
After=dbus.socket dbus.service
[Service]
Type=oneshot
Environment=BERTH_VM_INIT=systemd
ExecStart=/bin/busybox sh /etc/berth-vm-init $test_script
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
UNIT
	cat >"$sd/berth-test.target" <<UNIT
[Unit]
Description=berth VM test (systemd as PID 1)
Requires=berth-test.service
After=berth-test.service
UNIT
	exec switch_root /newroot /lib/systemd/systemd --unit=berth-test.target
fi
exec switch_root /newroot /bin/busybox sh /run/berth-vm-init "$test_script"
INIT
}

initramfs_key() {
	local kver=$1
	{
		sha256sum "${BASH_SOURCE[0]}" /bin/busybox
		printf '%s\n' "$kver" "${boot_modules[@]}"
	} | sha256sum | cut -d' ' -f1
}

prepare_initramfs() {
	local kver=$1 key stage ko
	key=$(initramfs_key "$kver")
	if [ -s "$out/initramfs.cpio.gz" ] && [ "$(cat "$out/initramfs.key" 2>/dev/null)" = "$key" ]; then
		return 0
	fi
	stage=$(mktemp -d "$out/.initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,modules,mnt,newroot}
	install -m 0755 /bin/busybox "$stage/bin/busybox"
	mknod -m 0600 "$stage/dev/console" c 5 1
	mknod -m 0666 "$stage/dev/null" c 1 3
	module_files "$kver" >"$stage/modules.list"
	while read -r ko; do
		mkdir -p "$stage/modules/$(dirname "$ko")"
		case "$ko" in
		*.ko.xz) xz -dc "$out/unpacked/lib/modules/$kver/$ko" >"$stage/modules/${ko%.xz}" ;;
		*.ko.zst) zstd -dcq "$out/unpacked/lib/modules/$kver/$ko" >"$stage/modules/${ko%.zst}" ;;
		*) cp "$out/unpacked/lib/modules/$kver/$ko" "$stage/modules/$ko" ;;
		esac
	done <"$stage/modules.list"
	sed -i -e 's/\.ko\.\(xz\|zst\)$/.ko/' "$stage/modules.list"
	write_init >"$stage/init"
	chmod 0755 "$stage/init"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9 >"$out/initramfs.cpio.gz.tmp"
	mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
	cp "$stage/modules.list" "$out/modules.list"
	rm -rf "$stage"
	printf '%s\n' "$key" >"$out/initramfs.key"
	msg "initramfs: $(wc -l <"$out/modules.list") modules, $(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB"
}

# ---------------------------------------------------------------- main
ensure_packages
mkdir -p "$out"
exec 9>"$out/.lock"
flock -w 1200 9 || die "timed out waiting for another prepare.sh on $out"
# Leftovers of an interrupted run (we hold the lock: nobody else is using them), and ours on exit.
rm -rf "$out"/.kernel.* "$out"/.initramfs.* "$out"/*.tmp
trap 'rm -rf "$out"/.kernel.* "$out"/.initramfs.* "$out"/*.tmp' EXIT
if ! kernel_ready; then
	prepare_kernel
fi
# shellcheck source=/dev/null
. "$out/kernel.env"
prepare_initramfs "$KVER"

#!/bin/bash
# tests/vm/prepare-sshd.sh [VM_DIR]: Debian's OpenSSH server for the guests of run-vm-pair.sh,
# cached in VM_DIR/sshd (default: $BERTH_VM_DIR, else build/vm). The packages are fetched with
# `apt-get download` and unpacked with `dpkg -x`, never installed: no sshd is ever started (or
# left installed) on the host. The guests copy VM_DIR/sshd/usr/sbin/sshd and the libraries the
# host lacks (libwrap0) into their own tmpfs overlay (guest-pair-lib.sh).
#   VM_DIR/sshd/ready   written last: the stamp
# Exit status: 0 ready; 77 when the packages cannot be had (the pair tests then skip); 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-${BERTH_VM_DIR:-$repo/build/vm}}/sshd
pkgs=(openssh-server openssh-sftp-server libwrap0)

msg() { printf 'prepare-sshd: %s\n' "$*" >&2; }
[ -f "$out/ready" ] && [ -x "$out/usr/sbin/sshd" ] && exit 0
[ "$(id -u)" -eq 0 ] || { msg "needs root"; exit 77; }
if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
	msg "the OpenSSH client (ssh, ssh-keygen) is not installed: apt-get install openssh-client"
	exit 77
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.sshd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fetch() { (cd "$tmp" && apt-get download -o APT::Sandbox::User=root "${pkgs[@]}" >&2); }
if ! fetch; then
	DEBIAN_FRONTEND=noninteractive apt-get update >&2 || true
	fetch || { msg "cannot download ${pkgs[*]} with apt-get"; exit 77; }
fi
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/root"; done
[ -x "$tmp/root/usr/sbin/sshd" ] || { msg "openssh-server has no /usr/sbin/sshd"; exit 1; }
rm -rf "$out"
mv "$tmp/root" "$out"
touch "$out/ready"
msg "sshd $(dpkg-deb -f "$(ls "$tmp"/openssh-server_*.deb)" Version) unpacked into $out"

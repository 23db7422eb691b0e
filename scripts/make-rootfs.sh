#!/bin/bash
# make-rootfs.sh DIR: build a minimal busybox root filesystem in DIR from Debian's
# busybox-static (/bin/busybox). Nothing is downloaded and nothing is run inside DIR:
# the applet links are created from `busybox --list-full`.
set -euo pipefail

usage() {
	echo "usage: $0 DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
dir=$1
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
	echo "$0: $busybox not found: apt-get install busybox-static (or run scripts/install-deps.sh)" >&2
	exit 1
fi
# A dynamically linked busybox would need its libraries inside the rootfs.
if command -v ldd >/dev/null 2>&1 && ldd "$busybox" >/dev/null 2>&1; then
	echo "$0: $busybox is dynamically linked; install busybox-static" >&2
	exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp etc root home var/tmp run
chmod 1777 tmp var/tmp
chmod 0700 root
install -m 0755 "$busybox" bin/busybox

# One symlink per applet, at the path busybox itself would install it to.
"$busybox" --list-full | while IFS= read -r applet; do
	case "$applet" in
	"" | /* | *..*) continue ;; # never write outside DIR
	bin/busybox) continue ;;
	esac
	mkdir -p "$(dirname "$applet")"
	ln -sfn /bin/busybox "$applet"
done

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
nobody:x:65534:
GROUP
echo berth >etc/hostname
: >etc/hosts
: >etc/resolv.conf
chmod 0644 etc/passwd etc/group etc/hostname etc/hosts etc/resolv.conf

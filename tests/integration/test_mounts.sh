#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Mounts: tmpfs with options, rw/ro bind of a host directory, proc, sysfs, devpts, mqueue, cgroup2,
# rro (recursive read-only), masked and read-only paths, the default /dev and linux.devices,
# a read-only root. Runs in a private mount namespace (the rro case makes a submount on the host).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
private_mount_ns "$@"

# mount_line MOUNTPOINT: the /proc/mounts line the container printed for MOUNTPOINT (last one).
mount_line() { awk -v m="$1" '$2 == m' <<<"$OUT" | tail -n 1; }

# ---- tmpfs, binds, the pseudo filesystems
container mounts
host_rw=$TEST_TMP/host-rw
host_ro=$TEST_TMP/host-ro
mkdir -p "$host_rw" "$host_ro"
echo from-host >"$host_rw/from-host"
echo read-only >"$host_ro/file"
cfg '.mounts += [
	{destination: "/mnt/tmpfs", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m", "mode=1777"]},
	{destination: "/mnt/deep/er/rw", type: "bind", source: $rw, options: ["rbind", "rw"]},
	{destination: "/mnt/ro", type: "bind", source: $ro, options: ["bind", "ro"]},
	{destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup2", options: ["nosuid", "noexec", "nodev"]}
]' --arg rw "$host_rw" --arg ro "$host_ro"
run_sh "$ID" '
cat /proc/mounts
echo "tmpfs-mode=$(stat -c %a /mnt/tmpfs)"
echo "host-file=$(cat /mnt/deep/er/rw/from-host)"
echo written-inside >/mnt/deep/er/rw/from-container && echo "rw-write=ok"
echo "ro-file=$(cat /mnt/ro/file)"
if echo x >/mnt/ro/new 2>/dev/null; then echo "ro-write=succeeded"; else echo "ro-write=failed"; fi
echo "cgroup-procs=$(tr "\n" " " </sys/fs/cgroup/cgroup.procs)"
sed "s/^/self-cgroup=/" /proc/self/cgroup
test -r /proc/self/status && echo "proc=ok"
test -e /sys/kernel && echo "sysfs=ok"
'
assert_ok "run (mounts)"
assert_match "tmpfs with size=1m" '^tmpfs /mnt/tmpfs tmpfs [^ ]*size=1024k' "$(mount_line /mnt/tmpfs)"
assert_match "tmpfs nosuid" '^tmpfs /mnt/tmpfs tmpfs [^ ]*nosuid' "$(mount_line /mnt/tmpfs)"
assert_contains "tmpfs mode=1777" "$OUT" "tmpfs-mode=1777"
assert_contains "bind: host file visible inside" "$OUT" "host-file=from-host"
assert_contains "bind: write inside succeeded" "$OUT" "rw-write=ok"
assert_eq "bind: file written inside appears on the host" written-inside "$(cat "$host_rw/from-container" 2>&1)"
assert_contains "ro bind: readable" "$OUT" "ro-file=read-only"
assert_contains "ro bind: write fails" "$OUT" "ro-write=failed"
assert_false "ro bind: nothing written on the host" test -e "$host_ro/new"
assert_match "ro bind is ro in /proc/mounts" '^[^ ]+ /mnt/ro [^ ]+ ro[, ]' "$(mount_line /mnt/ro)"
assert_match "proc mounted" '^proc /proc proc ' "$(mount_line /proc)"
assert_contains "proc usable" "$OUT" "proc=ok"
assert_match "sysfs mounted read-only" '^sysfs /sys sysfs ro[, ]' "$(mount_line /sys)"
assert_contains "sysfs usable" "$OUT" "sysfs=ok"
assert_match "devpts mounted" '^devpts /dev/pts devpts ' "$(mount_line /dev/pts)"
assert_match "mqueue mounted" '^mqueue /dev/mqueue mqueue ' "$(mount_line /dev/mqueue)"
assert_match "/dev/shm tmpfs" '^shm /dev/shm tmpfs [^ ]*size=65536k' "$(mount_line /dev/shm)"
assert_match "cgroup2 mounted" '^cgroup2 /sys/fs/cgroup cgroup2 ' "$(mount_line /sys/fs/cgroup)"
assert_match "cgroup2 shows the container's own cgroup (pid 1 in cgroup.procs)" 'cgroup-procs=(.* )?1 ' "$OUT"
assert_eq "cgroup namespace: the container sees itself at its unified cgroup root" "self-cgroup=0::/" \
	"$(grep '^self-cgroup=0::' <<<"$OUT")"
assert_not_contains "cgroup namespace hides /berth-test" "$(grep '^self-cgroup=' <<<"$OUT")" "berth-test"

# ---- masked and read-only paths
# /proc/kcore is the classic masked file, but not every kernel has it (this host's has not):
# use the first of the default masked files that exists and is non-empty on the host.
masked_file=""
for f in /proc/kcore /proc/timer_list /proc/keys; do
	if [ -e "$f" ] && [ -n "$(head -c 1 "$f" 2>/dev/null)" ]; then
		masked_file=$f
		break
	fi
done
[ -n "$masked_file" ] || die "no non-empty masked file candidate on this host"
container masked
cfg '.linux.maskedPaths += ["/proc/no-such-path"]'
run_sh "$ID" '
echo "masked-file-bytes=$(wc -c <'"$masked_file"')"
echo "firmware-entries=$(ls -A /sys/firmware | wc -l)"
if echo masked-test >/proc/sys/kernel/hostname 2>/dev/null; then echo "proc-sys-write=succeeded"; else echo "proc-sys-write=failed"; fi
echo "hostname=$(hostname)"
grep " /proc/sys " /proc/mounts
'
assert_ok "run (masked paths; one of them does not exist)"
assert_contains "masked file $masked_file reads empty" "$OUT" "masked-file-bytes=0"
assert_contains "masked directory /sys/firmware is empty" "$OUT" "firmware-entries=0"
assert_contains "read-only /proc/sys: write fails" "$OUT" "proc-sys-write=failed"
assert_contains "read-only /proc/sys: hostname unchanged" "$OUT" "hostname=berth"
assert_match "read-only /proc/sys is ro in /proc/mounts" ' /proc/sys [^ ]+ ro[, ]' "$OUT"
# the host's own view is untouched
assert_ne "the host's $masked_file is not masked" "" "$(head -c 1 "$masked_file")"

# ---- /dev: the default devices, linux.devices, and nothing else from the host
container devices
cfg '.linux.devices = [
	{path: "/dev/berth-null", type: "c", major: 1, minor: 3, fileMode: 438, uid: 1000, gid: 1001},
	{path: "/dev/sub/berth-blk", type: "b", major: 7, minor: 200, fileMode: 384}
]'
run_sh "$ID" '
for d in null zero full random urandom tty; do echo "$d=$(stat -c "%F %t:%T" /dev/$d)"; done
for l in fd stdin stdout stderr; do echo "$l=$(readlink /dev/$l)"; done
test -e /dev/ptmx && echo "ptmx=ok"
echo x >/dev/null && echo "null-write=ok"
echo "zero=$(head -c 4 /dev/zero | od -An -tx1 | tr -d " ")"
if echo x >/dev/full 2>/dev/null; then echo "full-write=succeeded"; else echo "full-write=failed"; fi
echo "urandom-bytes=$(head -c 16 /dev/urandom | wc -c)"
echo "berth-null=$(stat -c "%F %t:%T %a %u:%g" /dev/berth-null)"
echo x >/dev/berth-null && echo "berth-null-write=ok"
echo "berth-blk=$(stat -c "%F %t:%T %a" /dev/sub/berth-blk)"
test -e /dev/kmsg && echo "kmsg=present"
test -e /dev/mem && echo "mem=present"
echo "dev-entries=$(ls /dev | tr "\n" " ")"
'
assert_ok "run (devices)"
assert_contains "/dev/null" "$OUT" "null=character special file 1:3"
assert_contains "/dev/zero" "$OUT" "zero=character special file 1:5"
assert_contains "/dev/full" "$OUT" "full=character special file 1:7"
assert_contains "/dev/random" "$OUT" "random=character special file 1:8"
assert_contains "/dev/urandom" "$OUT" "urandom=character special file 1:9"
assert_contains "/dev/tty" "$OUT" "tty=character special file 5:0"
assert_contains "/dev/fd -> /proc/self/fd" "$OUT" "fd=/proc/self/fd"$'\n'
assert_contains "/dev/stdin" "$OUT" "stdin=/proc/self/fd/0"
assert_contains "/dev/stdout" "$OUT" "stdout=/proc/self/fd/1"
assert_contains "/dev/stderr" "$OUT" "stderr=/proc/self/fd/2"
assert_contains "/dev/ptmx" "$OUT" "ptmx=ok"
assert_contains "/dev/null is writable (device cgroup allows the defaults)" "$OUT" "null-write=ok"
assert_contains "/dev/zero reads zeros" "$OUT" "zero=00000000"
assert_contains "/dev/full write fails" "$OUT" "full-write=failed"
assert_contains "/dev/urandom reads" "$OUT" "urandom-bytes=16"
assert_contains "linux.devices char node: type, numbers, mode, owner" "$OUT" \
	"berth-null=character special file 1:3 666 1000:1001"
assert_contains "linux.devices char node is usable" "$OUT" "berth-null-write=ok"
assert_contains "linux.devices block node in a new subdirectory" "$OUT" "berth-blk=block special file 7:c8 600"
assert_not_contains "host /dev/kmsg is not exposed" "$OUT" "kmsg=present"
assert_not_contains "host /dev/mem is not exposed" "$OUT" "mem=present"

# ---- the device cgroup: linux.resources.devices denies everything but the defaults, so a node
# made inside (CAP_MKNOD) cannot be opened; an allow rule opens it. (1:11 is /dev/kmsg: opening
# it for reading is harmless; CAP_SYSLOG because the host may set kernel.dmesg_restrict.)
for rule in deny allow; do
	container "devcg-$rule"
	cfg '.process.capabilities.bounding += ["CAP_MKNOD", "CAP_SYSLOG"]
		| .process.capabilities.effective += ["CAP_MKNOD", "CAP_SYSLOG"]
		| .process.capabilities.permitted += ["CAP_MKNOD", "CAP_SYSLOG"]'
	if [ "$rule" = allow ]; then
		cfg '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "r"}]'
	fi
	run_sh "$ID" 'mknod /tmp/kmsg c 1 11 && echo mknod=ok
	if (exec 3</tmp/kmsg) 2>/dev/null; then echo open=allowed; else echo open=denied; fi'
	assert_ok "run (device cgroup, $rule)"
	assert_contains "device cgroup ($rule): mknod" "$OUT" "mknod=ok"
	if [ "$rule" = allow ]; then want=allowed; else want=denied; fi
	assert_contains "device cgroup ($rule): open of c 1:11 is $want" "$OUT" "open=$want"
done

# ---- rro: recursive read-only reaches a submount; plain ro does not have to
rro_src=$TEST_TMP/rro-src
mkdir -p "$rro_src/sub"
if mount -t tmpfs -o size=64k rro-test "$rro_src/sub"; then
	container rro
	cfg '.mounts += [{destination: "/mnt/rro", type: "bind", source: $src, options: ["rbind", "rro"]}]' \
		--arg src "$rro_src"
	run_sh "$ID" '
	if echo x >/mnt/rro/top 2>/dev/null; then echo "top=writable"; else echo "top=read-only"; fi
	if echo x >/mnt/rro/sub/inner 2>/dev/null; then echo "sub=writable"; else echo "sub=read-only"; fi
	grep " /mnt/rro" /proc/mounts
	'
	assert_ok "run (rro)"
	assert_contains "rro: the bind is read-only" "$OUT" "top=read-only"
	assert_contains "rro: the submount is read-only too" "$OUT" "sub=read-only"
	assert_match "rro: the submount is ro in /proc/mounts" ' /mnt/rro/sub tmpfs ro[, ]' "$OUT"
	umount "$rro_src/sub"
else
	fail "could not make a tmpfs submount for the rro case (private mount namespace)"
fi

# ---- a read-only root filesystem
container roroot
cfg '.root.readonly = true'
run_sh "$ID" '
if touch /newfile 2>/dev/null; then echo "root-write=succeeded"; else echo "root-write=failed"; fi
echo x >/dev/shm/x && echo "shm-write=ok"
awk "\$2 == \"/\"" /proc/mounts
'
assert_ok "run (root.readonly)"
assert_contains "read-only root: write fails" "$OUT" "root-write=failed"
assert_false "read-only root: nothing written to the bundle" test -e "$BUNDLE/rootfs/newfile"
assert_contains "read-only root: tmpfs mounts stay writable" "$OUT" "shm-write=ok"

finish

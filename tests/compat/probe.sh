#!/bin/sh
# tests/compat/probe.sh: the process of every tests/compat/run.sh container (copied into the
# rootfs as /.compat/probe). It prints what a user of the container can see, one section per
# check, and exits 3 so that the exit status is seen to pass through. Raw values: run.sh
# normalises them on the host. COMPAT_TMPFS lists the tmpfs mounts whose first files are shown.
echo "== stdout"
echo "args: $0 $*"
echo "cwd: $(pwd)"
echo "id: $(id)"
echo "hostname: $(hostname)"
env | grep -v -e '^_=' -e '^PWD=' -e '^SHLVL=' | sort
echo "== terminal"
echo "tty: $(tty 2>&1)"
if [ -t 1 ]; then echo "stdout: a terminal"; else echo "stdout: not a terminal"; fi
echo "== caps"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
echo "== mounts"
cat /proc/self/mountinfo
echo "== cgroup"
# shellcheck disable=SC2012 # busybox: ls is what a user runs
echo "ls: $(ls /sys/fs/cgroup 2>&1 | sort | tr '\n' ' ')"
for f in memory/memory.limit_in_bytes pids/pids.max cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
	cpu/cpu.shares memory.max pids.max cpu.max; do
	if [ -r "/sys/fs/cgroup/$f" ]; then echo "$f=$(cat "/sys/fs/cgroup/$f")"; fi
done
echo "== tmpfs"
for d in $COMPAT_TMPFS; do
	echo "$d:"
	ls -la "$d" 2>&1
done
exit 3

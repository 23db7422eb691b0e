#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts run inside the container
# shellcheck disable=SC2317 # flow functions are called by name
# tests/compat/podman.sh: podman 4.3 as a second real client. Every flow runs with runc (Debian's)
# and then with berth as podman's runtime, on the same machine and the same private podman; prints
# a table flow -> runc / berth and fails if a flow passes with runc and fails with berth.
#
# The podman is the test's own (tests/compat/lib.sh pm_setup): --root/--runroot in the temp dir,
# cgroupfs manager with every container's and pod's cgroup parent below /berth-test, file events,
# a private containers.conf (default_ulimits at this machine's limits, no subuid needed: --uidmap
# is explicit; an infra image built here from catatonit, as the pause image cannot be pulled),
# a runtime wrapper per runtime that adds --root (podman does not pass --runtime-flag to every
# call). The whole test runs in a new network namespace (its CNI bridge, iptables rules and
# published ports stay there) and a private mount namespace (podman's shm locks, netns files and
# CNI leases on tmpfs of its own). Image: the shared Alpine minirootfs, `podman import`ed; the
# test skips when it is absent (fails under CI=true).
#
# Environment: BERTH (required), BERTH_COMPAT_ONLY (regular expression: only matching flows),
# BERTH_COMPAT_RUNTIMES (default "runc berth"), BERTH_TEST_KEEP.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/compat/lib.sh
. "$(dirname "$0")/lib.sh"
compat_private_ns net "$@"

compat_require_ci runc podman conmon catatonit script
[ -x /usr/lib/cni/bridge ] || compat_require_ci /usr/lib/cni/bridge
if [ -z "$(alpine_tarball)" ]; then
	[ "${CI:-}" = true ] && die "CI=true and no Alpine tarball in $BERTH_SHARED/images"
	skip "no Alpine tarball in $BERTH_SHARED/images"
fi

ALP=localhost/compat-alpine:latest
read -r -a RUNTIMES <<<"${BERTH_COMPAT_RUNTIMES:-runc berth}"
declare -A RESULT=()
FLOWS=()
REGRESSIONS=()

on_exit() {
	local rc=$?
	trap - EXIT
	pm_cleanup
	(exit "$rc")
	cleanup
}
trap on_exit EXIT

pm_setup "$TEST_TMP/pm"
CGP=(--cgroup-parent "$PM_CGROUP")
QUIET=1 pm_import_alpine "$ALP"
QUIET=1 pm_make_pause localhost/compat-pause:latest
info "podman $(podman --version | awk '{print $3}'), runc $(runc --version | head -n1 | awk '{print $3}'), $("$BERTH" --version | head -n1)"

# ---------------------------------------------------------------- expectations
# Each sets WHY and returns 1 when the last pm call does not match.

want_rc() {
	[ "$RC" = "$1" ] && return 0
	WHY="exit status $RC, wanted $1; stderr: $(head -c 300 <<<"$ERR" | tr '\n' ' ')"
	return 1
}
want_out() {
	[ "$OUT" = "$1" ] && return 0
	WHY="output '$(head -c 200 <<<"$OUT" | tr '\n' '|')', wanted '$(tr '\n' '|' <<<"$1")'; stderr: $(head -c 200 <<<"$ERR" | tr '\n' ' ')"
	return 1
}
want_has() {
	[[ "$OUT" == *"$1"* ]] && return 0
	WHY="output '$(head -c 200 <<<"$OUT" | tr '\n' '|')' lacks '$1'; stderr: $(head -c 200 <<<"$ERR" | tr '\n' ' ')"
	return 1
}
# ok_run ARGS...: pm ARGS and want status 0.
ok_run() {
	pm "$@"
	want_rc 0 || {
		WHY="podman $1: $WHY"
		return 1
	}
}
run_rm() { pm run --rm "${CGP[@]}" "$@"; }
# retry SECONDS COMMAND...: until COMMAND succeeds (what a container prints may lag a loaded machine)
retry() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}

# ---------------------------------------------------------------- flows (one function each)

flow_run_rm() { run_rm "$ALP" echo hello && want_rc 0 && want_out hello; }
flow_exit_0() { run_rm "$ALP" true && want_rc 0; }
flow_exit_3() { run_rm "$ALP" sh -c 'exit 3' && want_rc 3; }
flow_exit_126() { run_rm "$ALP" /etc/passwd && want_rc 126; }
flow_exit_127() { run_rm "$ALP" /no/such/command && want_rc 127; }

flow_detached() {
	local n=compat-d-$PM_RT t0
	ok_run run -d "${CGP[@]}" --name "$n" "$ALP" sh -c 'echo started; exec sleep 1000' || return 1
	retry 10 eval 'pm logs "$n" && want_out started' || return 1
	pm exec "$n" sh -c 'echo in-exec $$' && want_rc 0 && want_has in-exec || return 1
	retry 10 eval 'pm top "$n" && want_rc 0 && want_has "sleep 1000"' || return 1
	ok_run pause "$n" || return 1
	pm inspect -f '{{.State.Status}}' "$n" && want_out paused || return 1
	ok_run unpause "$n" || return 1
	pm inspect -f '{{.State.Status}}' "$n" && want_out running || return 1
	# pid 1 ignores SIGTERM: stop must escalate to SIGKILL after 2 s
	t0=$SECONDS
	ok_run stop -t 2 "$n" || return 1
	if [ $((SECONDS - t0)) -gt 15 ]; then
		WHY="stop -t 2 took $((SECONDS - t0)) s"
		return 1
	fi
	pm inspect -f '{{.State.Status}}' "$n" && want_out exited || return 1
	ok_run start "$n" || return 1
	ok_run kill "$n" || return 1
	pm wait "$n" && want_rc 0 || return 1
	pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$n" && want_out "exited 137" || return 1
	ok_run rm -f "$n"
}

# -it through a real terminal: script(1) gives podman a pty; what we type reaches the shell.
flow_it() {
	cap sh -c "printf 'echo tty-\$((6*7)); tty; exit 5\n' | timeout 30 script -qec 'podman --root $PM_DIR/root --runroot $PM_DIR/runroot --runtime $PM_DIR/rt-$PM_RT run --rm -it --cgroup-parent $PM_CGROUP $ALP sh' /dev/null"
	want_rc 5 && want_has tty-42 && want_has /dev/pts/0
}

flow_read_only() {
	run_rm --read-only "$ALP" sh -c 'touch /x 2>/dev/null && echo rw || echo ro; touch /tmp/y /var/tmp/y /run/y && echo tmp-ok' &&
		want_out "ro
tmp-ok"
}
flow_tmpfs() {
	run_rm --tmpfs /scratch:rw,size=16m,mode=1770 "$ALP" sh -c 'stat -c %a /scratch; awk '\''$2 == "/scratch" { print $3 }'\'' /proc/mounts' &&
		want_out "1770
tmpfs"
}
flow_mount_tmpfs() {
	run_rm --mount type=tmpfs,destination=/data,tmpfs-size=8m "$ALP" sh -c 'awk '\''$2 == "/data" { print $3, ($4 ~ /size=8192k/) }'\'' /proc/mounts' &&
		want_out "tmpfs 1"
}
# the limit as the container reads it (cgroup v1 file or v2 file)
flow_memory() {
	run_rm --memory 64m "$ALP" sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' &&
		want_out 67108864
}
flow_pids_limit() {
	run_rm --pids-limit 100 "$ALP" sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max' &&
		want_out 100
}
flow_cpus() {
	run_rm --cpus 0.5 "$ALP" sh -c 'if [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; else cat /sys/fs/cgroup/cpu.max; fi' &&
		want_out "50000 100000"
}
flow_user() { run_rm --user 1000:1000 "$ALP" sh -c 'echo "$(id -u):$(id -g)"' && want_out 1000:1000; }
flow_cap_drop() {
	run_rm --cap-drop NET_RAW --cap-drop CHOWN "$ALP" sh -c 'e=0x$(awk '\''/^CapEff/ { print $2 }'\'' /proc/self/status); echo $(( (e >> 13) & 1 )) $(( e & 1 )) $(( (e >> 5) & 1 ))' &&
		want_out "0 0 1"
}
flow_init() { run_rm --init "$ALP" sh -c 'tr "\0" " " </proc/1/cmdline' && want_has "/run/podman-init -- sh"; }
flow_uidmap() {
	run_rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$ALP" sh -c 'cat /proc/self/uid_map | xargs; id -u' &&
		want_out "0 100000 65536
0"
}

# a published port, reached from the test's network namespace
flow_publish() {
	local n=compat-p-$PM_RT port=18080 i
	[ "$PM_RT" = berth ] && port=18081
	ok_run run -d "${CGP[@]}" --name "$n" -p "127.0.0.1:$port:80" "$ALP" \
		sh -c 'while :; do echo hello-port | nc -l -p 80; done' || return 1
	for i in $(seq 1 50); do
		cap timeout 3 busybox nc 127.0.0.1 "$port"
		[ "$OUT" = hello-port ] && break
		sleep 0.2
	done
	want_out hello-port || {
		WHY="127.0.0.1:$port: $WHY"
		pm rm -f -t 0 "$n"
		return 1
	}
	ok_run rm -f -t 0 "$n"
}

# two containers in one pod: the member shares the infra container's network and uts namespaces
flow_pod() {
	local p=compat-pod-$PM_RT a b
	ok_run pod create "${CGP[@]}" --name "$p" || return 1
	ok_run run -d --pod "$p" --name "$p-a" "$ALP" sleep 1000 || return 1
	pm exec "$p-a" readlink /proc/self/ns/net
	a=$OUT
	run_rm --pod "$p" "$ALP" readlink /proc/self/ns/net
	b=$OUT
	want_rc 0 || return 1
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		WHY="network namespaces of the two members: '$a' and '$b'"
		return 1
	fi
	ok_run pod rm -f -t 0 "$p"
}

# 20 run --rm at once
flow_parallel() {
	local i pids=() bad=0 dir=$TEST_TMP/par-$PM_RT
	mkdir -p "$dir"
	for i in $(seq 1 20); do
		timeout -k 5 120 podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" --runtime "$PM_DIR/rt-$PM_RT" \
			run --rm "${CGP[@]}" "$ALP" echo "par-$i" >"$dir/$i.out" 2>"$dir/$i.err" </dev/null &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		local rc=0
		wait "${pids[$i]}" || rc=$?
		if [ "$rc" -ne 0 ] || [ "$(cat "$dir/$((i + 1)).out")" != "par-$((i + 1))" ]; then
			bad=$((bad + 1))
			WHY="run $((i + 1)): exit $rc$([ "$rc" -eq 124 ] && echo ' (timed out)'), stdout '$(head -c 80 "$dir/$((i + 1)).out" | tr '\n' ' ')', stderr: $(head -c 200 "$dir/$((i + 1)).err" | tr '\n' ' ')"
		fi
	done
	if [ "$bad" -gt 0 ]; then
		WHY="$bad of 20 failed; last: $WHY"
		return 1
	fi
}

# ---------------------------------------------------------------- main

FLOWS=(run_rm exit_0 exit_3 exit_126 exit_127 detached it read_only tmpfs mount_tmpfs memory pids_limit
	cpus user cap_drop init uidmap publish pod parallel)
for rt in "${RUNTIMES[@]}"; do
	PM_RT=$rt
	for f in "${FLOWS[@]}"; do
		if [ -n "${BERTH_COMPAT_ONLY:-}" ] && ! [[ "$f" =~ $BERTH_COMPAT_ONLY ]]; then continue; fi
		WHY=""
		t0=$SECONDS
		if QUIET=1 "flow_$f"; then
			RESULT[$f:$rt]=pass
		else
			RESULT[$f:$rt]=FAIL
			RESULT[$f:$rt:why]=$WHY
		fi
		printf '# %-12s %-6s %-4s %2ds %s\n' "$f" "$rt" "${RESULT[$f:$rt]}" $((SECONDS - t0)) "${RESULT[$f:$rt:why]:-}"
	done
done

# The table also goes to BERTH_COMPAT_REPORT_DIR (ctest sets it), for tests/run-all.sh to print.
report=${BERTH_COMPAT_REPORT_DIR:-$TEST_TMP}/podman-table.txt
mkdir -p "${report%/*}"
{
printf '%-12s %-6s %-6s %s\n' flow runc berth verdict
for f in "${FLOWS[@]}"; do
	r=${RESULT[$f:runc]:-} b=${RESULT[$f:berth]:-}
	[ -n "$r$b" ] || continue
	verdict=same
	if [ -z "$r" ] || [ -z "$b" ]; then
		verdict="(one runtime only: BERTH_COMPAT_RUNTIMES)"
	elif [ "$r" = pass ] && [ "$b" = FAIL ]; then
		verdict="REGRESSION: passes with runc, fails with berth"
		REGRESSIONS+=("$f")
	elif [ "$r" = FAIL ] && [ "$b" = FAIL ]; then
		verdict="both fail (runc: ${RESULT[$f:runc:why]})"
		CHECKS=$((CHECKS + 1))
	elif [ "$r" = FAIL ]; then
		verdict="runc fails here: ${RESULT[$f:runc:why]}"
		CHECKS=$((CHECKS + 1))
	else
		CHECKS=$((CHECKS + 1))
	fi
	printf '%-12s %-6s %-6s %s\n' "$f" "${r:--}" "${b:--}" "$verdict"
done
} >"$report"
echo
cat "$report"
echo
for f in "${REGRESSIONS[@]}"; do
	CHECKS=$((CHECKS + 1))
	fail "podman flow $f: passes with runc, fails with berth: ${RESULT[$f:berth:why]}"
done
finish

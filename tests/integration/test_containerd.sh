#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts run inside the container
# shellcheck disable=SC2317 # functions called through traps and assert_true
# berth behind containerd 1.6 and its real runc-v2 shim (`ctr run --runc-binary $BERTH`):
# a busybox OCI image built here (scripts/make-oci-image.sh, nothing downloaded) is imported
# into a containerd of the test's own; then through ctr: run --rm (output, exit codes, stdin,
# stdout/stderr, a large output, namespaces, --read-only/--env/--cwd/--mount, --seccomp,
# --memory-limit/--cpus), a failing create, a detached task with exec (plain, --user/--cwd,
# detached, failing, with a terminal), ps, pause/resume (read back from the kernel's freezer),
# a checkpoint that cannot work here (the task must stay running), kill (SIGKILL, SIGTERM with a
# handler, --all), delete, and a terminal task (--console-socket). That berth did the work is
# read back from its state.json (which has a "pidStartTime" key, runc's has not) and from
# `berth state`. Checkpoint/restore proper needs CRIU: skipped here with a message.
#
# Safety: containerd runs with root, state, gRPC and ttrpc sockets, opt dir, TMPDIR and FIFO dir
# below the test's temp dir, CRI disabled, and a containerd namespace of its own
# (berth-test-<pid>). Outside the temp dir only these are touched, all named after that
# namespace and removed at the end: /run/containerd/runc/<ns> (the runtime root the shim gives
# berth), the shims' sockets in /run/containerd/s (hardcoded in containerd 1.6), and the cgroups
# /<ns>/<id> (ctr's default cgroupsPath). Only the containerd started here is stopped, by pid.
#
# Environment: BERTH_CTRD_TRACE=1 puts a wrapper between the shim and berth that logs every
# command line to <tmp>/ctrd/berth-argv.log (printed at the end; BERTH_TEST_KEEP keeps it).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib/containerd.sh
. "$(dirname "$0")/../lib/containerd.sh"

require_cmd containerd ctr containerd-shim-runc-v2 sha256sum

NS=berth-test-$$
IMG=localhost/berth-busybox:latest
CT=$TEST_TMP/ctrd
SOCK=$CT/containerd.sock
FIFO=$CT/fifo
TASKS=$CT/state/io.containerd.runtime.v2.task/$NS
RUNC_ROOT=/run/containerd/runc/$NS
CIDS=()
PREEXISTING=()
RUNTIME=$BERTH

# ---------------------------------------------------------------- helpers

# ctrc ARGS...: ctr against the test's containerd and namespace (through cap: OUT, ERR, RC).
ctrc() { cap ctr -a "$SOCK" -n "$NS" "$@"; }

# new_cid NAME: a container id for ctr, recorded for cleanup, in $CID.
new_cid() {
	CID=$1
	CIDS+=("$CID")
}

# run_opts: the flags every `ctr run` gets.
run_opts() { printf '%s\n' --fifo-dir "$FIFO" --runc-binary "$RUNTIME"; }

# task_field ID COLUMN: PID (2) or STATUS (3) of a task in `ctr task ls`, empty if none.
task_field() {
	QUIET=1 ctrc task ls
	awk -v id="$1" -v c="$2" 'NR > 1 && $1 == id { print $c }' <<<"$OUT"
}

# wait_task ID STATUS [SECONDS]: poll `ctr task ls` until the task has STATUS.
wait_task() {
	local deadline=$((SECONDS + ${3:-10})) st
	while :; do
		st=$(task_field "$1" 3)
		[ "$st" = "$2" ] && break
		if [ $SECONDS -ge "$deadline" ]; then
			printf '+ wait for task %s to be %s -> %s\n' "$1" "$2" "${st:-<no task>}"
			return 1
		fi
		sleep 0.1
	done
	printf '+ wait for task %s to be %s -> %s\n' "$1" "$2" "$st"
}

# ns_cgroup_dirs [ID]: cgroup directories of the namespace (or of one container), any hierarchy.
ns_cgroup_dirs() {
	local d
	for d in "/sys/fs/cgroup/$NS${1:+/$1}" /sys/fs/cgroup/*/"$NS${1:+/$1}"; do
		if [ -d "$d" ]; then echo "$d"; fi
	done
}

# cgroup_value ID FILE...: the content of the first readable FILE of the container's cgroup
# (FILE is HIERARCHY/NAME, e.g. memory/memory.limit_in_bytes, or NAME on a pure cgroup v2 host).
cgroup_value() {
	local id=$1 f p
	shift
	for f in "$@"; do
		case "$f" in
		*/*) p=/sys/fs/cgroup/${f%%/*}/$NS/$id/${f#*/} ;;
		*) p=/sys/fs/cgroup/$NS/$id/$f ;;
		esac
		if [ -r "$p" ]; then
			cat "$p"
			return 0
		fi
	done
	echo "(none of $*)"
}

# cpu_quota ID: "QUOTA PERIOD" of the container's cgroup, from v1 cpu or v2 cpu.max.
cpu_quota() {
	local v1=/sys/fs/cgroup/cpu/$NS/$1
	if [ -r "$v1/cpu.cfs_quota_us" ]; then
		echo "$(cat "$v1/cpu.cfs_quota_us") $(cat "$v1/cpu.cfs_period_us")"
	else
		cgroup_value "$1" unified/cpu.max cpu.max
	fi
}

# freezer_state ID: "frozen", "thawed" or "unknown", from the v1 freezer or cgroup v2 (hybrid
# hosts have both: either one frozen counts).
freezer_state() {
	local v1=/sys/fs/cgroup/freezer/$NS/$1/freezer.state ev st=unknown
	if [ -r "$v1" ]; then
		case "$(cat "$v1")" in
		FROZEN) echo frozen && return ;;
		THAWED) st=thawed ;;
		esac
	fi
	for ev in /sys/fs/cgroup/unified/"$NS/$1"/cgroup.events /sys/fs/cgroup/"$NS/$1"/cgroup.events; do
		if [ -r "$ev" ]; then
			case "$(awk '$1 == "frozen" { print $2 }' "$ev")" in
			1) echo frozen && return ;;
			0) st=thawed ;;
			esac
		fi
	done
	echo "$st"
}

# wait_freezer ID STATE: the kernel's freezer reaches STATE within 5 s.
wait_freezer() {
	local deadline=$((SECONDS + 5))
	until [ "$(freezer_state "$1")" = "$2" ]; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# shim_pids: the runc-v2 shims of this test's containerd (matched on its socket path).
shim_pids() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		if tr '\0' '\n' 2>/dev/null <"$f" | grep -qxF -e "$SOCK"; then
			[ "$pid" = "$CTRD_PID" ] || echo "$pid"
		fi
	done
}

# shim_socket ID: where containerd 1.6 puts the shim socket of container ID.
shim_socket() {
	local h
	h=$(printf '%s' "$SOCK/$NS/$1" | sha256sum | cut -d' ' -f1)
	echo "/run/containerd/s/$h"
}

# procs_of_container ID: host pids in the container's cgroups.
procs_of_container() {
	local d
	for d in $(ns_cgroup_dirs "$1"); do
		cat "$d/cgroup.procs" 2>/dev/null
	done | sort -nu
}

# ---------------------------------------------------------------- containerd

start_containerd() {
	mkdir -p "$FIFO"
	ctrd_start "$CT" "$SOCK" "$MARK"
	track_pid "$CTRD_PID"
	if ! ctrd_wait "$SOCK" 20; then
		tail -n 20 "$CT/containerd.log"
		die "containerd did not come up on $SOCK"
	fi
	info "containerd $(containerd --version | awk '{print $3}') pid $CTRD_PID on $SOCK, namespace $NS"
}

# teardown: remove everything the test made through containerd; idempotent, also the EXIT path.
teardown() {
	local id p d m
	if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		for id in $(ctr -a "$SOCK" -n "$NS" task ls -q 2>/dev/null); do
			timeout 20 ctr -a "$SOCK" -n "$NS" task kill -a -s SIGKILL "$id" >/dev/null 2>&1
		done
		sleep 0.3
		for id in $(ctr -a "$SOCK" -n "$NS" task ls -q 2>/dev/null); do
			timeout 20 ctr -a "$SOCK" -n "$NS" task delete -f "$id" >/dev/null 2>&1
		done
		for id in $(ctr -a "$SOCK" -n "$NS" containers ls -q 2>/dev/null); do
			timeout 20 ctr -a "$SOCK" -n "$NS" containers rm "$id" >/dev/null 2>&1
		done
		for id in $(ctr -a "$SOCK" -n "$NS" images ls -q 2>/dev/null); do
			timeout 20 ctr -a "$SOCK" -n "$NS" images rm "$id" >/dev/null 2>&1
		done
	fi
	ctrd_stop
	for p in $(shim_pids); do kill -9 "$p" 2>/dev/null; done
	for id in "${CIDS[@]}"; do
		for p in $(procs_of_container "$id"); do kill -9 "$p" 2>/dev/null; done
	done
	sleep 0.1
	for d in $(ns_cgroup_dirs); do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	for m in $(mounts_below "$CT"); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for id in "${CIDS[@]}"; do
		rm -f "$(shim_socket "$id")"
	done
	if [ -d "$RUNC_ROOT" ]; then rm -rf --one-file-system "$RUNC_ROOT"; fi
	# The shared parents only if this test made them and nothing else is in them.
	for d in /run/containerd/runc /run/containerd/s /run/containerd; do
		if [[ " ${PREEXISTING[*]} " != *" $d "* ]]; then rmdir "$d" 2>/dev/null; fi
	done
	return 0
}

on_exit() {
	local rc=$?
	trap - EXIT
	teardown
	if [ -n "${BERTH_CTRD_TRACE:-}" ] && [ -s "$CT/berth-argv.log" ]; then
		info "berth command lines (BERTH_CTRD_TRACE):"
		sed -E -e 's/^--root [^ ]+ --log [^ ]+ --log-format json /[--root --log --log-format json] /' \
			-e 's/^/#   /' "$CT/berth-argv.log"
	fi
	(exit "$rc")
	cleanup
}

# Leftovers of an earlier run with the same pid are not this run's to remove: stop before the
# teardown trap is set.
if [ -e "$RUNC_ROOT" ]; then die "$RUNC_ROOT exists already (a crashed run with pid $$?)"; fi
if [ -n "$(ns_cgroup_dirs)" ]; then die "cgroups of $NS exist already: $(ns_cgroup_dirs | xargs)"; fi
for d in /run/containerd /run/containerd/runc /run/containerd/s; do
	if [ -e "$d" ]; then PREEXISTING+=("$d"); fi
done
trap on_exit EXIT

if [ -n "${BERTH_CTRD_TRACE:-}" ]; then
	mkdir -p "$CT"
	RUNTIME=$CT/berth-trace
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>%q\nexec %q "$@"\n' "$CT/berth-argv.log" "$BERTH" >"$RUNTIME"
	chmod 0755 "$RUNTIME"
fi

# ---------------------------------------------------------------- image and daemon

mkdir -p "$CT"
info "building the busybox OCI image"
cap "$BERTH_SRC/scripts/make-oci-image.sh" --rootfs "$(busybox_rootfs)" "$CT/busybox.tar"
assert_ok "scripts/make-oci-image.sh builds an image-layout tarball"
[ "$RC" -eq 0 ] || die "no image: $ERR"
manifest=$OUT

start_containerd
ctrc images import "$CT/busybox.tar"
assert_ok "ctr images import of the OCI tarball"
[ "$RC" -eq 0 ] || die "import failed: the rest needs the image"
ctrc images ls
assert_contains "the image is listed under its name" "$OUT" "$IMG"
assert_contains "with the manifest digest make-oci-image.sh printed" "$OUT" "$manifest"

# An image exported by containerd itself imports into berth's store and runs from there.
ctrc images export "$CT/exported.tar" "$IMG"
assert_ok "ctr images export"
EXPORT_STORE=$CT/berth-store
cap "$BERTH" --storage "$EXPORT_STORE" image import "$CT/exported.tar" --name ctr-exported:1
assert_ok "berth image import of ctr's export"
cap "$BERTH" --root "$CT/berth-root" --storage "$EXPORT_STORE" run --rm --image ctr-exported:1 \
	--name "ctr-exported-$$" --cgroups-path "/berth-test/ctr-exported-$$" cat /etc/hostname
assert_ok "berth run --image of the image ctr exported"
assert_eq "it runs the exported rootfs" "berth" "$OUT"

# ---------------------------------------------------------------- run --rm: output, exit codes

mapfile -t RUN_OPTS < <(run_opts)

new_cid c1
ctrc run --rm "${RUN_OPTS[@]}" "$IMG" "$CID" echo hello
assert_ok "ctr run --rm ... echo hello"
assert_eq "the container's output reaches ctr" "hello" "$OUT"

new_cid c1-exit
ctrc run --rm "${RUN_OPTS[@]}" "$IMG" "$CID" sh -c 'exit 3'
assert_rc "the exit code of the container process is ctr's (sh -c 'exit 3')" 3

new_cid c1-env
ctrc run --rm "${RUN_OPTS[@]}" "$IMG" "$CID" sh -c 'echo "$PATH"; cat /proc/1/comm; ls /sys/class/net | xargs
	for n in ipc mnt net pid uts; do readlink /proc/1/ns/$n; done | xargs'
assert_ok "ctr run --rm of a shell script"
assert_eq "the image's Env, the process is pid 1, only lo in the network namespace" \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
sh
lo" "$(head -n 3 <<<"$OUT")"
host_ns=$(for n in ipc mnt net pid uts; do readlink "/proc/$$/ns/$n"; done | xargs)
ctr_ns=$(sed -n 4p <<<"$OUT")
for n in $host_ns; do
	assert_not_contains "the container has its own ${n%%:*} namespace" "$ctr_ns" "$n"
done
assert_eq "nothing is left in the runtime root after run --rm" "" "$(ls "$RUNC_ROOT" 2>/dev/null)"
assert_eq "no cgroup is left after run --rm" "" "$(ns_cgroup_dirs "$CID" | xargs)"

# stdio through the shim's FIFOs: stdin (one line: ctr never forwards EOF, not even with runc),
# stdout and stderr apart, and a large output in full
new_cid c1-io
cap sh -c 'printf "ping\n" | exec "$@"' sh ctr -a "$SOCK" -n "$NS" run --rm "${RUN_OPTS[@]}" "$IMG" "$CID" \
	sh -c 'read -r l; echo "got=$l"; echo "to stderr" >&2'
assert_ok "ctr run --rm with stdin"
assert_eq "stdin reaches the process, stdout comes back" "got=ping" "$OUT"
assert_eq "stderr comes back apart" "to stderr" "$ERR"
new_cid c1-big
ctrc run --rm "${RUN_OPTS[@]}" "$IMG" "$CID" seq 1 200000
assert_ok "ctr run --rm ... seq 1 200000"
assert_eq "all 200000 lines arrive" "200000 200000" "$(wc -l <<<"$OUT" | xargs) $(tail -n 1 <<<"$OUT")"

# the spec options ctr turns into config.json fields
mkdir -p "$CT/hostdir"
echo "from the host" >"$CT/hostdir/file"
new_cid c1-opts
ctrc run --rm "${RUN_OPTS[@]}" --read-only --env FOO=bar --cwd /tmp \
	--mount "type=bind,src=$CT/hostdir,dst=/m,options=rbind:ro" "$IMG" "$CID" \
	sh -c 'echo "FOO=$FOO cwd=$(pwd)"; cat /m/file; touch /x 2>/dev/null || echo "/ read-only"
	touch /m/y 2>/dev/null || echo "/m read-only"'
assert_ok "ctr run --rm --read-only --env --cwd --mount"
assert_eq "env, cwd, the bind mount, a read-only root and a read-only mount" "FOO=bar cwd=/tmp
from the host
/ read-only
/m read-only" "$OUT"

# containerd's default seccomp profile (what CRI's RuntimeDefault gives): the filter is in force
new_cid c1-seccomp
ctrc run --rm "${RUN_OPTS[@]}" --seccomp "$IMG" "$CID" sh -c 'grep "^Seccomp:" /proc/self/status'
assert_ok "ctr run --rm --seccomp"
assert_match "ctr run --seccomp: the process runs under a seccomp filter" "^Seccomp:[[:space:]]+2\$" "$OUT"

# a memory and CPU limit (ctr --memory-limit/--cpus, CRI's resources): written to the
# container's cgroup, or refused with an error naming linux.resources; never silently ignored
new_cid c1-limits
ctrc run -d "${RUN_OPTS[@]}" --memory-limit 67108864 --cpus 0.5 "$IMG" "$CID" sleep 1000
if [ "$RC" -eq 0 ]; then
	pass "ctr run -d --memory-limit 64M --cpus 0.5 starts"
	wait_task "$CID" RUNNING 10
	assert_eq "the memory limit is in the container's cgroup" 67108864 "$(cgroup_value "$CID" \
		memory/memory.limit_in_bytes unified/memory.max memory.max)"
	assert_eq "the CPU quota is in the container's cgroup (quota period)" "50000 100000" "$(cpu_quota "$CID")"
	ctrc task kill -s SIGKILL "$CID"
	wait_task "$CID" STOPPED 10
	ctrc task delete "$CID"
	ctrc containers rm "$CID"
	assert_ok "ctr container rm"
else
	assert_failed "ctr run -d --memory-limit 64M --cpus 0.5 is refused cleanly"
	assert_contains "the refusal names linux.resources" "$ERR" "resources"
	ctrc containers rm "$CID"
fi
assert_eq "no cgroup is left" "" "$(ns_cgroup_dirs "$CID" | xargs)"

# ---------------------------------------------------------------- a failing create

new_cid c-nx
ctrc run --rm "${RUN_OPTS[@]}" "$IMG" "$CID" /nonexistent
assert_failed "ctr run of a command that is not in the image fails"
assert_contains "the error is berth's, from log.json, naming the command" "$ERR" "/nonexistent"
assert_contains "containerd reports it as a create failure" "$ERR" "OCI runtime create failed"
ctrc containers ls -q
assert_not_contains "no container record is left" "$OUT" "$CID"
assert_false "no state dir is left in the runtime root" test -e "$RUNC_ROOT/$CID"
assert_eq "no cgroup is left after the failed create" "" "$(ns_cgroup_dirs "$CID" | xargs)"
assert_false "no bundle is left" test -e "$TASKS/$CID"

# ---------------------------------------------------------------- a detached task

new_cid c2
ctrc run -d "${RUN_OPTS[@]}" "$IMG" "$CID" sleep 1000
assert_ok "ctr run -d ... sleep 1000"
[ "$RC" -eq 0 ] || die "the detached task did not start: the rest depends on it"
assert_true "ctr task ls shows it RUNNING" wait_task "$CID" RUNNING 10
pid=$(task_field "$CID" 2)
info "task $CID pid $pid"

# berth did it: its state.json (with pidStartTime) in the root the shim passed, and berth's view
state=$RUNC_ROOT/$CID/state.json
assert_true "state.json in the runtime root the shim passed ($state)" test -s "$state"
assert_eq "state.json has berth's pidStartTime key" true "$(jq 'has("pidStartTime")' "$state" 2>/dev/null)"
assert_eq "state.json's pid is the task's pid" "$pid" "$(jq -r .pid "$state" 2>/dev/null)"
assert_eq "state.json's bundle is containerd's bundle" "$TASKS/$CID" "$(jq -r .bundle "$state" 2>/dev/null)"
assert_eq "the shim was told to use this binary" "$RUNTIME" \
	"$(jq -r .binary_name "$TASKS/$CID/options.json" 2>/dev/null)"
cap "$BERTH" --root "$RUNC_ROOT" state "$CID"
assert_ok "berth state in containerd's runtime root"
assert_eq "berth state: running" running "$(jq -r .status <<<"$OUT" 2>/dev/null)"
assert_eq "berth state: the task's pid" "$pid" "$(jq -r .pid <<<"$OUT" 2>/dev/null)"
assert_true "the process is in ctr's default cgroup /$NS/$CID" grep -q ":/$NS/$CID\$" "/proc/$pid/cgroup"
assert_eq "the process is sleep" sleep "$(cat "/proc/$pid/comm" 2>/dev/null)"

# exec
ctrc task exec --fifo-dir "$FIFO" --exec-id e1 "$CID" sh -c 'echo from exec; cat /proc/1/comm; exit 5'
assert_rc "ctr task exec: the exec'd process's exit code is ctr's" 5
assert_eq "ctr task exec: output, inside the container's pid namespace" "from exec
sleep" "$OUT"

# The short sleep: ctr can lose the output of an exec that exits before its copy loop is attached
# (seen once, in a CI run of the ASan build; 3 reruns passed).
ctrc task exec --fifo-dir "$FIFO" --exec-id e1u --user 65534 --cwd /tmp "$CID" sh -c 'echo "$(id -u):$(id -g) $(pwd)"; sleep 0.2'
assert_ok "ctr task exec --user 65534 --cwd /tmp"
assert_eq "the exec'd process has the user and working directory asked for" "65534:65534 /tmp" "$OUT"

ctrc task exec -d --fifo-dir "$FIFO" --exec-id e2 "$CID" sleep 999
assert_ok "ctr task exec -d ... sleep 999"
ctrc task ps "$CID"
assert_ok "ctr task ps"
ps_pids=$(awk 'NR > 1 { print $1 }' <<<"$OUT" | sort -n | xargs)
assert_eq "ctr task ps lists the host pids of the processes in the container's cgroup" \
	"$(procs_of_container "$CID" | xargs)" "$ps_pids"
assert_match "ctr task ps lists the init pid and one more" "^([0-9]+ )?$pid( [0-9]+)?\$" "$ps_pids"
assert_eq "two processes" 2 "$(wc -w <<<"$ps_pids")"
assert_contains "the exec'd one is known by its exec id" "$OUT" "ExecID:e2"

ctrc task exec --fifo-dir "$FIFO" --exec-id e3 "$CID" /nonexistent
assert_failed "ctr task exec of a missing command fails"
assert_contains "with berth's error naming it" "$ERR" "/nonexistent"
assert_eq "the task is still RUNNING after a failed exec" RUNNING "$(task_field "$CID" 3)"

# pause / resume
ctrc task pause "$CID"
assert_ok "ctr task pause"
assert_eq "ctr task ls: PAUSED" PAUSED "$(task_field "$CID" 3)"
assert_true "the kernel's freezer says frozen" wait_freezer "$CID" frozen
ctrc task resume "$CID"
assert_ok "ctr task resume"
assert_eq "ctr task ls: RUNNING" RUNNING "$(task_field "$CID" 3)"
assert_true "the kernel's freezer says thawed" wait_freezer "$CID" thawed

# checkpoint: the shim pauses, runs `checkpoint --leave-running`, resumes. CRIU 3.17 fails on
# this kernel, so here only check that the failed checkpoint leaves the task running and thawed;
# the checkpoint itself, `--exit` and a restore through ctr are tests/vm/test_vm_containerd_checkpoint.sh.
ctrc task checkpoint "$CID"
info "ctr task checkpoint -> $RC: $(head -c 300 <<<"$ERR")"
assert_eq "after ctr task checkpoint the task is RUNNING" RUNNING "$(task_field "$CID" 3)"
assert_true "after ctr task checkpoint the kernel's freezer says thawed" wait_freezer "$CID" thawed
assert_true "after ctr task checkpoint the init process is alive" alive "$pid"
if [ "$RC" -eq 0 ]; then
	info "a checkpoint was made: its image is removed with the others at the end"
fi

# kill / delete
ctrc task kill -s SIGKILL "$CID"
assert_ok "ctr task kill -s SIGKILL"
assert_true "ctr task ls: STOPPED" wait_task "$CID" STOPPED 10
ctrc task delete "$CID"
assert_ok "ctr task delete"
assert_contains "the exit status of a task killed by SIGKILL is 137" "$ERR" "exit code 137"
ctrc containers rm "$CID"
assert_ok "ctr container rm"
assert_false "berth's state dir is gone" test -e "$RUNC_ROOT/$CID"
assert_eq "the container's cgroups are gone" "" "$(ns_cgroup_dirs "$CID" | xargs)"
assert_false "the init process is gone" alive "$pid"
assert_false "the bundle is gone" test -e "$TASKS/$CID"

# ---------------------------------------------------------------- SIGTERM with a handler, kill --all

new_cid c4
ctrc run -d "${RUN_OPTS[@]}" "$IMG" "$CID" sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
assert_ok "ctr run -d of a shell that exits 7 on SIGTERM"
wait_task "$CID" RUNNING 10
sleep 0.3 # the trap is set before the loop starts
ctrc task kill "$CID"
assert_ok "ctr task kill (SIGTERM, the default)"
assert_true "the task stops" wait_task "$CID" STOPPED 10
ctrc task delete "$CID"
assert_ok "ctr task delete"
assert_contains "the handler's exit code 7 reaches containerd" "$ERR" "exit code 7"
ctrc containers rm "$CID"

new_cid c5
ctrc run -d "${RUN_OPTS[@]}" "$IMG" "$CID" sleep 1000
assert_ok "ctr run -d ... sleep 1000"
wait_task "$CID" RUNNING 10
ctrc task exec -d --fifo-dir "$FIFO" --exec-id e1 "$CID" sleep 998
assert_ok "ctr task exec -d ... sleep 998"
procs=$(procs_of_container "$CID" | xargs)
assert_eq "two processes in the container's cgroup" 2 "$(wc -w <<<"$procs")"
ctrc task kill -a -s SIGKILL "$CID"
assert_ok "ctr task kill -a -s SIGKILL (kill --all)"
assert_true "the task stops" wait_task "$CID" STOPPED 10
for p in $procs; do
	assert_false "process $p of the container is gone" alive "$p"
done
ctrc task delete "$CID"
assert_ok "ctr task delete"
ctrc containers rm "$CID"
assert_eq "the container's cgroups are gone" "" "$(ns_cgroup_dirs "$CID" | xargs)"

# ---------------------------------------------------------------- terminals (--console-socket)

if command -v script >/dev/null 2>&1; then
	ctr_cmd=$(printf '%q ' ctr -a "$SOCK" -n "$NS")
	new_cid c3
	# The task lives on a second after its output: with --console-socket the shim holds the pty
	# master and copies it, not the runtime, and ctr can print nothing of a task that exits at
	# once when the exit event reaches it before the shim's copy (seen once under load).
	cap script -qec "$ctr_cmd run --rm -t $(printf '%q ' "${RUN_OPTS[@]}") $IMG $CID sh -c 'tty; sleep 1; exit 4'" /dev/null
	assert_rc "ctr run --rm -t: the exit code of the terminal task" 4
	assert_contains "ctr run -t: the process's stdio is the container's /dev/pts/0" "$OUT" "/dev/pts/0"
	assert_false "no state dir is left" test -e "$RUNC_ROOT/$CID"

	new_cid c6
	ctrc run -d "${RUN_OPTS[@]}" "$IMG" "$CID" sleep 1000
	assert_ok "ctr run -d ... sleep 1000"
	wait_task "$CID" RUNNING 10
	cap script -qec "$ctr_cmd task exec -t --fifo-dir $(printf '%q' "$FIFO") --exec-id et $CID sh -c 'tty; sleep 1; exit 6'" /dev/null
	assert_rc "ctr task exec -t: the exit code of the exec'd process" 6
	assert_match "ctr task exec -t: the exec'd process has a pty of the container" "/dev/pts/[0-9]+" "$OUT"
	ctrc task kill -s SIGKILL "$CID"
	wait_task "$CID" STOPPED 10
	ctrc task delete "$CID"
	ctrc containers rm "$CID"
	assert_ok "ctr container rm"
else
	info "SKIP (part): 'script' (bsdutils) is not installed: terminal tasks not tested"
fi

# ---------------------------------------------------------------- checkpoint

info "SKIP (part): checkpoint/restore through containerd (a task checkpointed and restored) needs"
info "            CRIU, which fails on this kernel (Debian's CRIU 3.17.1 vs $(uname -r): 'vdso:"
info "            Unexpected rt vDSO area bounds'); it is tests/vm/test_vm_containerd_checkpoint.sh"

# ---------------------------------------------------------------- teardown, checked

ctrc images rm "$IMG"
assert_ok "ctr images rm"
for img in $(ctr -a "$SOCK" -n "$NS" images ls -q 2>/dev/null); do ctrc images rm "$img"; done
ctrc containers ls -q
assert_eq "no container is left in containerd" "" "$OUT"
ctrc tasks ls -q
assert_eq "no task is left in containerd" "" "$OUT"
ctrc snapshots ls
assert_eq "no active snapshot is left" "" "$(awk 'NR > 1 && $3 == "Active"' <<<"$OUT")"
# (entries starting with a dot are not containers: berth keeps its compiled seccomp programs in
# <root>/.seccomp-cache, bounded)
assert_eq "no container state is left in the runtime root $RUNC_ROOT" "" "$(ls "$RUNC_ROOT" 2>/dev/null)"
cap "$BERTH" --root "$RUNC_ROOT" list -q
assert_ok "berth list in containerd's runtime root"
assert_eq "berth list: no container" "" "$OUT"
ctrd_stop
assert_eq "no shim is left" "" "$(shim_pids | xargs)"
left_sockets=""
for id in "${CIDS[@]}"; do
	if [ -e "$(shim_socket "$id")" ]; then left_sockets+="$(shim_socket "$id") "; fi
done
assert_eq "no shim socket is left in /run/containerd/s" "" "$left_sockets"
assert_eq "no mount is left below $CT" "" "$(mounts_below "$CT" | xargs)"
# ctr's cgroupsPath is /<ns>/<id>: berth removes /<ns>/<id>, the /<ns> parent is the caller's
# (runc leaves it too); remove it and check nothing of the namespace is left.
for d in $(ns_cgroup_dirs); do rmdir "$d" 2>/dev/null; done
assert_eq "no cgroup of namespace $NS is left" "" "$(ns_cgroup_dirs | xargs)"
teardown
assert_false "$RUNC_ROOT is gone" test -e "$RUNC_ROOT"

finish

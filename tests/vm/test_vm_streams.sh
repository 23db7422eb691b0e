#!/bin/bash
# tests/vm/test_vm_streams.sh: a container's standard streams survive a move to another host
# (issue 15 points 2-4). Two boots as two hosts (as test_vm_checkpoint.sh), four containers, each
# counting ("<random id> <n>" into /tmp/counter of its rootfs) and writing "<tag> <n>" to stdout:
#   null  create/start with stdout and stderr /dev/null (stdin a pipe whose writer is gone)
#   log   run -d: stdout and stderr go to its log (<state>/container.log), read with `berth logs`
#   pipe  create/start with stdout and stderr a pipe (into a cat), as containerd's shim does
#   tty   process.terminal with --console-socket (tests/helpers/recvtty)
# boot 1: each runs, then `checkpoint --export FILE --export-rootfs`.
# boot 2: each `restore --import FILE --name X2 --detach` (restore's own stdout a file, as a
#   caller's usually is): the counter goes on from its value (same id, larger number) and the
#   stream is reconnected: fd 1 is this host's /dev/null; `berth logs` shows the lines from
#   before the move and new ones; the new pipe (restore's stdout) gets new lines; a new console
#   receiver (--console-socket) gets new lines.
# Before the fix, the null case failed with "File fd/1 has bad mode 0100644 (expect 020666)" and
# the log case (then run -d's stdout was the caller's file) with "File fd/1 has bad size".
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (as test_vm_smoke.sh); recvtty from the
# build tree beside BERTH. Exit: 0 pass, 1 fail, 2 VM error, 77 skipped.
set -uo pipefail

CG_BASE=/berth-vm/streams
CASES=(null log pipe tty)

host_main() {
	local here repo vm_dir results berth guest_berth start phase helpers
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init streams
	helpers=$(dirname "$berth")/../tests/helpers
	[ -x "$helpers/recvtty" ] || { echo "SKIP: $helpers/recvtty is not built"; exit 77; }
	mkdir -p "$results/bin"
	cp "$helpers/recvtty" "$results/bin/" || exit 1

	vm_host_busybox_bundle
	# The same base config as test_vm_checkpoint.sh: no network or cgroup namespace, writable root.
	vm_host_edit_config '.process.terminal = false
		| .root.readonly = false
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "network" and .type != "cgroup")]
		| .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup" and .destination != "/sys")]'
	vm_host_guest_berth
	# A failed check in the first boot still leaves archives to restore: the second boot runs
	# (its checks say what became of each stream); a VM error (2) or a skip ends the test.
	local rc=0 r
	for phase in dump restore; do
		vm_host_boot "$phase" --timeout 200 --env "BERTH=$guest_berth" --env "ST_PHASE=$phase" \
			--env "RECVTTY=/berth-results/bin/recvtty"
		r=$?
		[ "$r" -eq 0 ] || [ "$r" -eq 1 ] || exit "$r"
		[ "$r" -eq 0 ] || rc=1
	done
	exit "$rc"
}

# ---------------------------------------------------------------- in the guest

# make_bundle TAG [JQ]: $VM_TMP/b-TAG, the base bundle counting as TAG; prints its path.
make_bundle() {
	local b=$VM_TMP/b-$1
	# shellcheck disable=SC2016 # expanded by the container's shell
	local script='id=$(cat /proc/sys/kernel/random/uuid); i=0
while :; do i=$((i+1)); echo "$id $i" >/tmp/counter; echo "'"$1"' $i"; sleep 0.2; done'
	cp -a "$BERTH_VM_RESULTS/bundle" "$b" || die "cannot copy the bundle for $1"
	jq --arg cg "$CG_BASE-$1" --arg s "$script" ".process.args = [\"sh\", \"-c\", \$s] | .linux.cgroupsPath = \$cg | ${2:-.}" \
		"$b/config.json" >"$b/config.json.new" || die "jq for $1"
	mv "$b/config.json.new" "$b/config.json"
	echo "$b"
}

# start_recvtty SOCKET OUT: a console receiver in the background (RECV_PID).
start_recvtty() {
	"$RECVTTY" "$1" --timeout 120 >"$2" 2>"$2.err" </dev/null &
	RECV_PID=$!
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# last_n FILE TAG: the largest N of the lines "TAG N" in FILE (0 if none).
last_n() { tr -d '\r' <"$1" 2>/dev/null | sed -n "s/^$2 \([0-9]*\)\$/\1/p" | sort -n | tail -n 1 | grep . || echo 0; }

# wait_n FILE TAG MIN: until FILE has "TAG N" with N >= MIN (~30 s); prints the largest N.
wait_n() {
	local n=0
	for _ in $(seq 300); do
		n=$(last_n "$1" "$2")
		[ "$n" -ge "$3" ] && break
		sleep 0.1
	done
	echo "$n"
}

# start_case TAG: run container TAG with its kind of stdio (boot 1).
start_case() {
	local b root=$VM_TMP/state d=$VM_TMP
	case $1 in
	null)
		b=$(make_bundle null)
		# stdin a pipe (its writer gone), as from a shell: with stdin /dev/null as well, restore's
		# own /dev/null stdin happened to stand in for all three under the old key-only record
		true | "$BERTH" --root "$root" create -b "$b" null >/dev/null 2>&1
		cap "$BERTH" --root "$root" start null
		assert_ok "null: create with stdout and stderr /dev/null, start"
		;;
	log)
		b=$(make_bundle log)
		cap "$BERTH" --root "$root" run -d -b "$b" log
		assert_ok "log: run -d"
		;;
	pipe)
		b=$(make_bundle pipe)
		{ "$BERTH" --root "$root" create -b "$b" pipe </dev/null 2>&1; } | cat >"$d/pipe1.out" &
		for _ in $(seq 300); do
			[ "$("$BERTH" --root "$root" state pipe 2>/dev/null | jq -r .status)" = created ] && break
			sleep 0.1
		done
		cap "$BERTH" --root "$root" start pipe
		assert_ok "pipe: create with stdout and stderr a pipe, start"
		;;
	tty)
		b=$(make_bundle tty '.process.terminal = true')
		start_recvtty "$d/con1.sock" "$d/con1.out" || die "recvtty did not listen"
		cap "$BERTH" --root "$root" run -d --console-socket "$d/con1.sock" -b "$b" tty
		assert_ok "tty: run -d --console-socket"
		;;
	esac
}

guest_dump() {
	local root=$VM_TMP/state tag line t
	for tag in "${CASES[@]}"; do start_case "$tag"; done
	for tag in "${CASES[@]}"; do
		line=$(wait_counter "$VM_TMP/b-$tag/rootfs/tmp/counter" 4)
		info "$tag counts: $line"
	done
	assert_true "log: berth logs shows its output" test "$(
		"$BERTH" --root "$root" logs log >"$VM_TMP/log1.out"
		last_n "$VM_TMP/log1.out" log
	)" -ge 3
	assert_true "pipe: the pipe gets its output" test "$(last_n "$VM_TMP/pipe1.out" pipe)" -ge 3
	assert_true "tty: the console receiver gets its output" test "$(last_n "$VM_TMP/con1.out" tty)" -ge 3
	for tag in "${CASES[@]}"; do
		t=${EPOCHREALTIME/./}
		cap "$BERTH" --root "$root" checkpoint --export "$BERTH_VM_RESULTS/$tag.tar.zst" --export-rootfs "$tag"
		info "checkpoint --export $tag took $(ms_since "$t")"
		assert_ok "$tag: checkpoint --export --export-rootfs"
		[ "$RC" -eq 0 ] || { info "$ERR"; tail -n 20 "/tmp/berth-criu-$tag/dump.log" 2>/dev/null; }
		cat "$VM_TMP/b-$tag/rootfs/tmp/counter" >"$BERTH_VM_RESULTS/$tag.at"
	done
	sleep 0.5
	# What the streams had at the dump: the restored process must write more than this.
	last_n "$VM_TMP/pipe1.out" pipe >"$BERTH_VM_RESULTS/pipe.out-at"
	last_n "$VM_TMP/con1.out" tty >"$BERTH_VM_RESULTS/tty.out-at"
	kill "$RECV_PID" 2>/dev/null
}

# restore_case TAG: restore --import TAG as TAG2 (boot 2); RC/ERR of the restore.
restore_case() {
	local root=$VM_TMP/state d=$VM_TMP tag=$1
	local -a cmd=("$BERTH" --root "$root" restore --import "$BERTH_VM_RESULTS/$tag.tar.zst" --name "${tag}2"
		--bundle "$d/r-$tag" --work-path "$d/w-$tag" --detach)
	case $tag in
	pipe)
		# restore's own stdout is a new pipe: the restored process writes into it
		{
			"${cmd[@]}" </dev/null 2>"$d/restore-pipe.err"
			echo $? >"$d/restore-pipe.rc"
		} | cat >"$d/pipe2.out" &
		for _ in $(seq 600); do [ -s "$d/restore-pipe.rc" ] && break; sleep 0.1; done
		RC=$(cat "$d/restore-pipe.rc" 2>/dev/null || echo timeout)
		ERR=$(cat "$d/restore-pipe.err")
		printf '+ %s | cat  -> %s\n' "${cmd[*]}" "$RC"
		;;
	tty)
		start_recvtty "$d/con2.sock" "$d/con2.out" || die "recvtty did not listen"
		cap "${cmd[@]}" --console-socket "$d/con2.sock"
		;;
	*) cap "${cmd[@]}" ;;
	esac
	assert_ok "$tag: restore --import on another host"
	[ "$RC" = 0 ] || { info "$ERR"; grep -E 'Error' "$d/w-$tag/restore.log" 2>/dev/null | tail -n 5; }
}

guest_restore() {
	local root=$VM_TMP/state d=$VM_TMP tag at line pid n
	for tag in "${CASES[@]}"; do
		[ -s "$BERTH_VM_RESULTS/$tag.tar.zst" ] || { fail "$tag: no archive from the first boot"; continue; }
		restore_case "$tag"
		[ "$RC" = 0 ] || continue
		at=$(cat "$BERTH_VM_RESULTS/$tag.at")
		line=$(wait_counter "$d/r-$tag/rootfs/tmp/counter" $((${at##* } + 3)))
		info "$tag: at the checkpoint '$at', after the restore '$line'"
		assert_eq "$tag: the same process (its random id)" "${at% *}" "${line% *}"
		assert_true "$tag: it counted on from ${at##* } (now ${line##* })" test "${line##* }" -gt "${at##* }"
	done
	pid=$("$BERTH" --root "$root" state null2 2>/dev/null | jq -r .pid)
	assert_eq "null: its stdout is this host's /dev/null" /dev/null "$(readlink "/proc/$pid/fd/1" 2>&1)"
	assert_eq "null: its stderr too" /dev/null "$(readlink "/proc/$pid/fd/2" 2>&1)"

	at=$(cat "$BERTH_VM_RESULTS/log.at")
	n=0
	for _ in $(seq 30); do
		"$BERTH" --root "$root" logs log2 >"$d/log2.out" 2>&1
		n=$(last_n "$d/log2.out" log)
		[ "$n" -gt "${at##* }" ] && break
		[ -e "$root/log2" ] || break
		sleep 0.5
	done
	assert_true "log: berth logs shows lines written after the move (log $n > ${at##* })" test "$n" -gt "${at##* }"
	assert_contains "log: and the lines from before it (carried over)" "$(head -n 1 "$d/log2.out")" "log 1"
	assert_eq "log: its stdout is the log in the new state dir" "$root/log2/container.log" \
		"$(readlink "/proc/$("$BERTH" --root "$root" state log2 | jq -r .pid)/fd/1" 2>&1)"

	n=$(wait_n "$d/pipe2.out" pipe $(($(cat "$BERTH_VM_RESULTS/pipe.out-at") + 2)))
	assert_true "pipe: restore's pipe gets new lines (pipe $n)" test "$n" -gt "$(cat "$BERTH_VM_RESULTS/pipe.out-at")"
	n=$(wait_n "$d/con2.out" tty $(($(cat "$BERTH_VM_RESULTS/tty.out-at") + 2)))
	assert_true "tty: the new console receiver gets new lines (tty $n)" test "$n" -gt "$(cat "$BERTH_VM_RESULTS/tty.out-at")"

	for tag in "${CASES[@]}"; do
		"$BERTH" --root "$root" delete --force "${tag}2" >/dev/null 2>&1
	done
	assert_false "delete removed the log with the state dir" test -e "$root/log2"
	kill "$RECV_PID" 2>/dev/null
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_phase_main ST_PHASE
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

#!/bin/bash
# tests/vm/test_vm_checkpoint_extra.sh: more checkpoint/restore with CRIU, on Debian's 6.1 kernel
# (CRIU 3.17 does not run on the host's 6.18), in one boot:
#   1. pre-dump then final dump: `checkpoint --pre-dump` leaves the counter running; the final
#      dump with `--parent-path ../P1` links P2 to P1 and stores only the pages that changed
#      since; restore from P2 carries on counting (same random id, larger number).
#   2. TCP: a container with its own network namespace holds one established loopback
#      connection (tests/helpers/tcpcount); checkpoint without --tcp-established fails, says why
#      (CRIU's reason and the log path) and leaves it running; with --tcp-established, checkpoint
#      and restore keep the same connection (same local port, larger count).
#   3. a terminal: process.terminal with --console-socket (tests/helpers/recvtty); restore with
#      --console-socket to a new receiver, which gets output produced after the restore.
#   4. numbers: checkpoint time, restore time and image size of an idle busybox container and of
#      one with 64 MiB of dirty memory (tests/helpers/memfill), for berth and for runc (the host's,
#      `runc --root <tmp>`), same bundles. Only success and liveness are asserted (runc's failures
#      are reported, not failed on); the times are printed as a table.
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (as test_vm_smoke.sh); the helpers are
# taken from the build tree beside BERTH (tests/helpers/). Exit: 0 pass, 1 fail, 2 VM error,
# 77 skipped.
set -uo pipefail

CG_BASE=/berth-vm/ckx

host_main() {
	local here repo vm_dir results berth helpers guest_bin start h
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init ckx
	helpers=$(dirname "$berth")/../tests/helpers
	for h in recvtty tcpcount memfill; do
		[ -x "$helpers/$h" ] || { echo "SKIP: $helpers/$h is not built"; exit 77; }
	done

	# The guest sees the host's / but fresh /tmp and /run: everything it needs goes into the
	# results share. The helpers are static: they go into the rootfs as well.
	mkdir -p "$results/bin"
	cp "$berth" "$(dirname "$berth")/berth-ext" "$helpers/recvtty" "$results/bin/" || exit 1
	guest_bin=/berth-results/bin
	vm_host_busybox_bundle
	cp "$helpers/tcpcount" "$helpers/memfill" "$results/bundle/rootfs/bin/" || exit 1
	# The base config: writable root, no cgroup namespace or cgroup mount, and no network
	# namespace (the TCP case puts one back). The init leads its own session (berth calls setsid()).
	vm_host_edit_config '.process.terminal = false
		| .root.readonly = false
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "network" and .type != "cgroup")]
		| .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup" and .destination != "/sys")]'

	vm_host_boot "" --timeout 480 --env "BERTH=$guest_bin/berth" --env "RECVTTY=$guest_bin/recvtty"
	exit
}

# ---------------------------------------------------------------- in the guest

now_us() { echo "${EPOCHREALTIME/./}"; }
elapsed_ms() { echo $((($(now_us) - $1) / 1000)); }

# wait_num FILE FIELD MIN: until field FIELD (1-based, space-separated) of FILE's line is a number
# >= MIN (at most ~30 s); prints the line.
wait_num() {
	local line="" v
	for _ in $(seq 300); do
		line=$(cat "$1" 2>/dev/null)
		v=$(cut -d' ' -f"$2" <<<"$line")
		[ "$v" -ge "$3" ] 2>/dev/null && break
		sleep 0.1
	done
	echo "$line"
}

# make_bundle NAME ARGS-JSON [JQ-FILTER]: a copy of the base bundle for container NAME, running
# ARGS-JSON, in its own cgroup; prints its path.
make_bundle() {
	local b=$VM_TMP/$1/bundle
	mkdir -p "$VM_TMP/$1"
	cp -a "$BERTH_VM_RESULTS/bundle" "$b" || die "cannot copy the bundle for $1"
	jq --arg cg "$CG_BASE-$1" --argjson args "$2" ".process.args = \$args | .linux.cgroupsPath = \$cg | ${3:-.}" \
		"$b/config.json" >"$b/config.json.new" || die "jq for $1"
	mv "$b/config.json.new" "$b/config.json"
	echo "$b"
}

state_of() { "$BERTH" --root "$ROOT" state "$1" 2>/dev/null | jq -r .status; }

# stop_container ID: kill and delete a berth container (best effort, for the next case).
stop_container() {
	"$BERTH" --root "$ROOT" kill "$1" KILL >/dev/null 2>&1
	for _ in $(seq 50); do
		[ "$(state_of "$1")" = running ] || break
		sleep 0.1
	done
	"$BERTH" --root "$ROOT" delete --force "$1" >/dev/null 2>&1
}

# pages_kb DIR: the size of CRIU's page images in DIR.
pages_kb() { du -ck "$1"/pages-*.img 2>/dev/null | awk 'END { print $1 + 0 }'; }

# show_log FILE: CRIU's errors and the end of its log, on a failure.
show_log() {
	[ -f "$1" ] || return 0
	grep -E 'Error|Warn|notify|script' "$1" | tail -n 10 | sed 's/^/    | /'
	tail -n 8 "$1" | sed 's/^/    /'
}

# ---- 1. pre-dump, then a final dump on top of it
case_predump() {
	local b d=$VM_TMP/pd line before after n id at
	# shellcheck disable=SC2016 # expanded by the container's shell
	# $big: ~2.5 MB of shell memory that never changes after the start, so that the final
	# dump on top of the pre-dump is measurably smaller than a full one.
	b=$(make_bundle pd '["sh", "-c", "big=$(seq 400000); id=$(cat /proc/sys/kernel/random/uuid); i=0; while :; do i=$((i+1)); echo \"$id $i\" >/tmp/counter; sleep 0.1; done"]')
	cap "$BERTH" --root "$ROOT" run -d -b "$b" pd
	assert_ok "pre-dump case: run -d pd"
	[ "$RC" -eq 0 ] || return
	line=$(wait_num "$b/rootfs/tmp/counter" 2 5)
	info "pd counts: $line"

	cap "$BERTH" --root "$ROOT" checkpoint --pre-dump --image-path "$d/P1" --work-path "$d/W1" pd
	assert_ok "checkpoint --pre-dump --image-path P1"
	[ "$RC" -eq 0 ] || { info "$ERR"; show_log "$d/W1/pre-dump.log"; }
	assert_eq "after the pre-dump the container still runs" running "$(state_of pd)"
	before=$(cat "$b/rootfs/tmp/counter")
	after=$(wait_num "$b/rootfs/tmp/counter" 2 $((${before##* } + 3)))
	assert_true "after the pre-dump it keeps counting ($before -> $after)" test "${after##* }" -gt "${before##* }"
	assert_true "the pre-dump wrote page images" test "$(pages_kb "$d/P1")" -gt 0

	cap "$BERTH" --root "$ROOT" checkpoint --image-path "$d/P2" --work-path "$d/W2" --parent-path ../P1 pd
	assert_ok "checkpoint --image-path P2 --parent-path ../P1"
	[ "$RC" -eq 0 ] || { info "$ERR"; show_log "$d/W2/dump.log"; }
	at=$(cat "$b/rootfs/tmp/counter")
	assert_eq "P2/parent is a link to ../P1" ../P1 "$(readlink "$d/P2/parent" 2>&1)"
	assert_true "P2/parent leads to the pre-dump's images" test -s "$d/P2/parent/inventory.img"
	info "page images: pre-dump P1 $(pages_kb "$d/P1") KiB, final dump P2 $(pages_kb "$d/P2") KiB"
	# With memory tracking the final dump stores only the pages dirtied since the pre-dump
	# (without it, everything again: P2 as large as P1).
	assert_true "P1 holds the shell's 2.5 MB" test "$(pages_kb "$d/P1")" -gt 2000
	assert_true "P2 holds less than half of P1 (only what changed since the pre-dump)" \
		test "$(($(pages_kb "$d/P2") * 2))" -lt "$(pages_kb "$d/P1")"
	cap "$BERTH" --root "$ROOT" state pd
	assert_rc "after the final dump pd is gone" 1

	cap "$BERTH" --root "$ROOT" restore --image-path "$d/P2" --work-path "$d/W3" --bundle "$b" --detach pd
	assert_ok "restore --image-path P2 (with a parent) --detach"
	[ "$RC" -eq 0 ] || { info "$ERR"; show_log "$d/W3/restore.log"; return; }
	line=$(wait_num "$b/rootfs/tmp/counter" 2 $((${at##* } + 5)))
	id=${line% *} n=${line##* }
	info "at the final dump: '$at'; after the restore: '$line'"
	assert_eq "the restored counter has the same random id" "${at% *}" "$id"
	assert_true "it counted on from ${at##* } (now $n)" test "${n:-0}" -gt "${at##* }"
	assert_eq "state says running" running "$(state_of pd)"
	stop_container pd
}

# ---- 2. an established TCP connection in the container's own network namespace
case_tcp() {
	local b d=$VM_TMP/tcp line before after port at
	# berth leaves a new network namespace's loopback down (runc brings it up): the container
	# does it itself, with CAP_NET_ADMIN.
	b=$(make_bundle tcp '["sh", "-c", "ip link set lo up && exec /bin/tcpcount /tmp/tcp"]' \
		'.linux.namespaces += [{"type": "network"}]
		| .process.capabilities |= with_entries(.value += ["CAP_NET_ADMIN"])
		| .mounts += [{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}]')
	cap "$BERTH" --root "$ROOT" run -d -b "$b" tcp
	assert_ok "TCP case: run -d tcp (own network namespace)"
	[ "$RC" -eq 0 ] || return
	line=$(wait_num "$b/rootfs/tmp/tcp" 2 5)
	info "tcpcount: $line"
	assert_match "tcpcount counts over its connection" '^[0-9]+ [0-9]+$' "$line"
	port=${line% *}

	cap "$BERTH" --root "$ROOT" checkpoint --image-path "$d/no" --work-path "$d/Wno" tcp
	assert_ne "checkpoint without --tcp-established fails" 0 "$RC"
	info "its error: $ERR"
	assert_contains "the error carries CRIU's reason" "$ERR" "tcp-established"
	assert_contains "the error names the log" "$ERR" "$d/Wno/dump.log"
	assert_eq "the container still runs after the refused checkpoint" running "$(state_of tcp)"
	before=$(cat "$b/rootfs/tmp/tcp")
	after=$(wait_num "$b/rootfs/tmp/tcp" 2 $((${before##* } + 3)))
	assert_true "it keeps counting after the refused checkpoint ($before -> $after)" test "${after##* }" -gt "${before##* }"
	assert_eq "on the same connection" "$port" "${after% *}"

	cap "$BERTH" --root "$ROOT" checkpoint --tcp-established --image-path "$d/img" --work-path "$d/W" tcp
	assert_ok "checkpoint --tcp-established"
	[ "$RC" -eq 0 ] || { info "$ERR"; show_log "$d/W/dump.log"; return; }
	at=$(cat "$b/rootfs/tmp/tcp")
	assert_true "the images hold a TCP stream" compgen -G "$d/img/tcp-stream-*.img"
	cap "$BERTH" --root "$ROOT" restore --tcp-established --image-path "$d/img" --work-path "$d/W2" \
		--bundle "$b" --detach tcp
	assert_ok "restore --tcp-established"
	[ "$RC" -eq 0 ] || { info "$ERR"; show_log "$d/W2/restore.log"; return; }
	line=$(wait_num "$b/rootfs/tmp/tcp" 2 $((${at##* } + 5)))
	info "at the checkpoint: '$at'; after the restore: '$line'"
	assert_eq "after the restore: the same local port (the same connection)" "${at% *}" "${line% *}"
	assert_true "and it counts on over it (${at##* } -> ${line##* })" test "${line##* }" -gt "${at##* }"
	stop_container tcp
}

# start_recvtty SOCKET OUT: a console receiver in the background (RECV_PID).
start_recvtty() {
	"$RECVTTY" "$1" --timeout 150 >"$2" 2>"$2.err" </dev/null &
	RECV_PID=$!
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# last_tick FILE: the largest "tick N" in FILE (0 if none).
last_tick() { tr -d '\r' <"$1" 2>/dev/null | sed -n 's/^tick \([0-9]*\)$/\1/p' | sort -n | tail -n 1 | grep . || echo 0; }

# wait_tick FILE MIN: until FILE holds "tick N" with N >= MIN (~30 s); prints the largest N.
wait_tick() {
	local n=0
	for _ in $(seq 300); do
		n=$(last_tick "$1")
		[ "$n" -ge "$2" ] && break
		sleep 0.1
	done
	echo "$n"
}

# ---- 3. a container with a terminal
case_terminal() {
	local b d=$VM_TMP/tty at n rc1
	# shellcheck disable=SC2016 # expanded by the container's shell
	b=$(make_bundle tty '["sh", "-c", "i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done"]' '.process.terminal = true')
	start_recvtty "$d/con1.sock" "$d/con1.out" || { fail "recvtty did not listen"; return; }
	cap "$BERTH" --root "$ROOT" run -d --console-socket "$d/con1.sock" -b "$b" tty
	assert_ok "terminal case: run -d --console-socket"
	[ "$RC" -eq 0 ] || { kill "$RECV_PID"; return; }
	n=$(wait_tick "$d/con1.out" 3)
	assert_true "the first receiver gets the output (tick $n)" test "$n" -ge 3

	cap "$BERTH" --root "$ROOT" checkpoint --image-path "$d/img" --work-path "$d/W" tty
	assert_ok "checkpoint of a container with a terminal"
	[ "$RC" -eq 0 ] || { info "$ERR"; show_log "$d/W/dump.log"; stop_container tty; kill "$RECV_PID" 2>/dev/null; return; }
	# Its terminal's last slave closed with the dump: the first receiver ends.
	for _ in $(seq 50); do kill -0 "$RECV_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID"
	rc1=$?
	assert_eq "the first receiver saw its terminal close (EOF/EIO)" 0 "$rc1"
	at=$(last_tick "$d/con1.out")
	info "last output before the checkpoint: tick $at"

	cap "$BERTH" --root "$ROOT" restore --image-path "$d/img" --work-path "$d/W1" --bundle "$b" --detach tty
	assert_rc "restore of a terminal without --console-socket is refused" 1
	assert_contains "it says --console-socket is needed" "$ERR" "--console-socket"
	assert_false "and leaves no container" "$BERTH" --root "$ROOT" state tty

	start_recvtty "$d/con2.sock" "$d/con2.out" || { fail "recvtty did not listen"; return; }
	cap "$BERTH" --root "$ROOT" restore --console-socket "$d/con2.sock" --image-path "$d/img" \
		--work-path "$d/W2" --bundle "$b" --detach tty
	assert_ok "restore --console-socket to a new receiver"
	if [ "$RC" -ne 0 ]; then
		info "$ERR"
		show_log "$d/W2/restore.log"
		kill "$RECV_PID" 2>/dev/null
		wait "$RECV_PID"
		return
	fi
	n=$(wait_tick "$d/con2.out" $((at + 3)))
	info "the new receiver got: $(tr -d '\r' <"$d/con2.out" | tr '\n' ' ' | tail -c 200)"
	assert_true "the new terminal gets output made after the restore (tick $at -> $n)" test "$n" -gt "$at"
	assert_eq "state says running" running "$(state_of tty)"
	stop_container tty
	for _ in $(seq 50); do kill -0 "$RECV_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID"
	assert_eq "the new receiver ends when the container is killed" 0 "$?"
	assert_eq "the new receiver reported no error" "" "$(cat "$d/con2.out.err")"
}

# ---- 4. numbers, berth and runc
declare -a TABLE=()

# rt_cap RUNTIME OUT COMMAND...: cap for berth. For runc, COMMAND's stdin, stdout and stderr are
# pipes (its output lands in OUT, as ERR): runc declares only pipes among the init's stdio to
# CRIU, which cannot dump a file on a mount the container lacks (cap's output files); berth
# declares those too.
rt_cap() {
	local rt=$1 out=$2
	shift 2
	if [ "$rt" = berth ]; then
		cap "$@"
		return
	fi
	printf '+ %s  (stdio on pipes)' "$*"
	timeout -k 5 "$VM_CMD_TIMEOUT" "$@" < <(:) > >(cat >"$out") 2>&1
	RC=$?
	printf '  -> %d\n' "$RC"
	[ "$RC" -eq 0 ] || sleep 0.5 # the output's cat
	ERR=$(cat "$out" 2>/dev/null)
	OUT=""
}

# step_failed STEP LOG COLUMNS: a failed STEP (checkpoint, restore) in measure, whose rt and wl
# it reads: runc's is reported and becomes the table row "runc WORKLOAD STEP-failed COLUMNS",
# berth's is a failure; then CRIU's LOG.
step_failed() {
	if [ "$rt" = runc ]; then
		info "runc $1 failed: $ERR"
		TABLE+=("$rt $wl $1-failed $3")
	else
		assert_ok "$rt $wl: $1"
	fi
	show_log "$2"
}

# measure RUNTIME WORKLOAD BUNDLE PROBE: run, checkpoint, restore with RUNTIME (berth or runc)
# and add a row to TABLE. PROBE is a file in the rootfs that must change after the restore (the
# process is alive), or "" to check only that the init runs.
measure() {
	local rt=$1 wl=$2 b=$3 probe=$4 id="n-$1-$2" d=$VM_TMP/num-$1-$2 t ck_ms rs_ms size before after pid
	local -a cmd
	if [ "$rt" = berth ]; then
		cmd=("$BERTH" --root "$ROOT")
	else
		cmd=(runc --root "$RUNC_ROOT")
	fi
	mkdir -p "$d"
	[ -z "$probe" ] || rm -f "$b/rootfs/$probe"
	rt_cap "$rt" "$d/run.out" "${cmd[@]}" run -d --bundle "$b" "$id"
	if [ "$RC" -ne 0 ]; then
		[ "$rt" = runc ] && { info "runc run failed: $ERR"; TABLE+=("$rt $wl run-failed - - -"); return; }
		assert_ok "$rt $wl: run -d"
		return
	fi
	if [ -n "$probe" ]; then
		before=$(wait_num "$b/rootfs/$probe" 1 2)
		[ "${before%% *}" -ge 2 ] 2>/dev/null || info "$rt $wl: the probe did not start: '$before'"
	else
		sleep 1
	fi
	t=$(now_us)
	cap "${cmd[@]}" checkpoint --image-path "$d/img" --work-path "$d/W" "$id"
	ck_ms=$(elapsed_ms "$t")
	if [ "$RC" -ne 0 ]; then
		step_failed checkpoint "$d/W/dump.log" "- - -"
		if [ "$rt" = runc ]; then
			runc --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1
		else
			stop_container "$id"
		fi
		return
	fi
	size=$(du -sk "$d/img" | cut -f1)
	[ -n "$probe" ] && before=$(cat "$b/rootfs/$probe")
	t=$(now_us)
	rt_cap "$rt" "$d/restore.out" "${cmd[@]}" restore --detach --image-path "$d/img" --work-path "$d/W2" --bundle "$b" "$id"
	rs_ms=$(elapsed_ms "$t")
	if [ "$RC" -ne 0 ]; then
		step_failed restore "$d/W2/restore.log" "$ck_ms - ${size}"
		return
	fi
	pid=$("${cmd[@]}" state "$id" 2>/dev/null | jq -r .pid)
	if [ -n "$probe" ]; then
		after=$(wait_num "$b/rootfs/$probe" 1 $((${before%% *} + 3)))
		if [ "$rt" = berth ]; then
			assert_match "berth $wl: the restored process is alive and its memory intact ($before -> $after)" \
				'^[0-9]+ ok$' "$after"
			assert_true "berth $wl: it went on after the restore" test "${after%% *}" -gt "${before%% *}"
		elif [[ ! $after =~ ^[0-9]+\ ok$ ]] || [ "${after%% *}" -le "${before%% *}" ]; then
			info "runc $wl: the restored process did not go on: '$before' -> '$after'"
		fi
	fi
	if [ "$rt" = berth ]; then
		assert_true "berth $wl: the restored init ($pid) is alive" test -d "/proc/$pid"
	elif ! [ -d "/proc/$pid" ]; then
		info "runc $wl: the restored init ($pid) is not alive"
	fi
	TABLE+=("$rt $wl ok $ck_ms $rs_ms $size")
	if [ "$rt" = berth ]; then
		stop_container "$id"
	else
		runc --root "$RUNC_ROOT" kill "$id" KILL >/dev/null 2>&1
		sleep 0.5
		runc --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1
	fi
}

case_numbers() {
	local idle mem row
	idle=$(make_bundle idle '["sleep", "100000"]')
	mem=$(make_bundle mem '["/bin/memfill", "64", "/tmp/mem"]')
	RUNC_ROOT=$VM_TMP/runc-root
	mkdir -p "$RUNC_ROOT"
	if ! command -v runc >/dev/null 2>&1; then
		info "runc is not installed: only berth is measured"
	fi
	for rt in berth runc; do
		[ "$rt" = runc ] && ! command -v runc >/dev/null 2>&1 && continue
		measure "$rt" idle "$idle" ""
		measure "$rt" mem64 "$mem" tmp/mem
	done
	info "checkpoint/restore numbers (guest under TCG, 10-15x slower than the host):"
	info "$(printf '%-6s %-6s %-18s %14s %11s %10s' runtime load result checkpoint_ms restore_ms image_KiB)"
	for row in "${TABLE[@]}"; do
		# shellcheck disable=SC2086 # the row's fields
		info "$(printf '%-6s %-6s %-18s %14s %11s %10s' $row)"
	done
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_setup
	vm_criu_setup
	ROOT=$VM_TMP/state
	# bash's process substitution (rt_cap) needs /dev/fd, which the guest's devtmpfs lacks.
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	local t
	t=$(now_us)
	case_predump
	info "pre-dump case: $(elapsed_ms "$t") ms"
	t=$(now_us)
	case_tcp
	info "TCP case: $(elapsed_ms "$t") ms"
	t=$(now_us)
	case_terminal
	info "terminal case: $(elapsed_ms "$t") ms"
	t=$(now_us)
	case_numbers
	info "numbers case: $(elapsed_ms "$t") ms"
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

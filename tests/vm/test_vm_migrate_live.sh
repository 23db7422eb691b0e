#!/bin/bash
# shellcheck disable=SC2317 # the cases run by name (case_$c in guest_main): not unreachable
# tests/vm/test_vm_migrate_live.sh: `berth migrate ID ssh://host`, pre-copy and post-copy (--lazy),
# between two guests booted at the same time (run-vm-pair.sh: Debian's 6.1 kernel, one vCPU and
# 1536 MiB each, a virtual link whose host side is two UDP sockets on 127.0.0.1, Debian's sshd in
# each guest with keys made for the run, each guest its own state root and image store). Guest a
# is the source, b the target; a drives every case and looks at b over ssh, b only serves. Every
# migration opens its own ssh sessions, as an admin's would.
#   failure: the receiver dies (BERTH_FAULT) after the restore (the container ran on b already;
#     MIG_FAULT=migrate-receive.before-restore for the other point): migrate fails, the container
#     still runs on a (thawed: its counter goes on), and nothing is left on b (state, cgroup,
#     migration directory, restored bundle).
#   terminal: without --console-socket refused before anything is frozen (it runs on); with a
#     console receiver on the target, migrate --console-socket moves it and the receiver gets its
#     output.
#   image: a `run --image` container of Alpine's minirootfs: the image is sent (b lacks it), the
#     upper dir carries a created file and a deletion; the network case after it, also from that
#     image, does not send it again.
#   network: on the berth network n1 (defined on both), a container keeps its address on b (not
#     the lowest free one there) and the source releases its lease.
#   null: a container made by create/start with /dev/null as its streams moves and has /dev/null
#     as its streams on b.
#   streams: a detached container (run -d) writing to its log moves, and `berth logs` reads the
#     log on b.
#   post-copy: a counter container moved with --lazy continues on b once every page is there
#     (progress names the lazy dump, the restore and the last page; no lazy-pages daemon is
#     left); with the receiver dying before the restore, it runs on a and b is clean; with the
#     page channel broken after the resume (BERTH_FAULT=relay.after-1mib on b), b deletes its
#     copy, a keeps the container frozen, and `berth resume` runs it on from the freeze.
#   lazy_unconfirmed (not in the default list: MIG_CASES=lazy_unconfirmed): the receiver dies
#     after the commit, before its last answer: a must say b could not confirm and keep the
#     container frozen, b clean. It passes when run first; after the other cases, migrate hung
#     (CRIU's page server here never saw the channel's end) until the 500 s timeout: an open bug.
#   figures: a container with MIG_MB MiB (default 256: the issue's case) of random bytes rewritten
#     at MIG_RATE KiB/s (migrate_dirty.c) is moved, a fresh one per way, by each of MIG_WAYS
#     (default all three): stop-and-copy is checkpoint --export, a copy over ssh, restore
#     --import; pre-copy is migrate; post-copy is migrate --lazy. Each keeps its count (same random id, larger number, still counting on b)
#     and leaves nothing on a. Downtime, total time and bytes of each are printed and written to
#     figures.txt; from 256 MiB on, pre-copy's downtime must be at most 1/5 of stop-and-copy's.
# Host environment: BERTH, BERTH_VM_DIR, MIG_FAULT (the receiver's fault point, default
# migrate-receive.after-restore; also migrate-receive.before-restore), BERTH_VM_KEEP=1,
# MIG_FIGURES_ONLY=1 (only the figures), MIG_MB, MIG_RATE (KiB/s dirtied, default 256: pre-copy
# converges only while the dirty rate stays below the link's rate, here about 5 MB/s through ssh
# with aes128-ctr under TCG), MIG_WAYS, MIG_VM_TIMEOUT (each guest, default 1100 s),
# MIG_CMD_TIMEOUT (each command in the guest, default 500 s), MIG_CASES (the cases to run, by the
# names above, e.g. "lazy_break figures"; default all).
# Exit: 0 pass, 1 fail, 2 VM error, 77 skipped.
set -uo pipefail

CG=/berth-vm/mig

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init migrate-live ssh ssh-keygen gcc
	mkdir -p "$results/pair"
	vm_host_busybox_bundle
	gcc -static -O2 -o "$results/bundle/rootfs/dirty" "$here/migrate_dirty.c" ||
		{ echo "SKIP: cannot build a static migrate_dirty (libc6-dev's libc.a)"; exit 77; }
	# shellcheck disable=SC2016 # expanded by the container's shell
	local script='id=$(cat /proc/sys/kernel/random/uuid); i=0
while :; do i=$((i+1)); echo "$id $i" >/tmp/counter; sleep 0.1; done'
	# shellcheck disable=SC2016 # jq variables
	vm_host_edit_config --arg script "$script" '
		.process.terminal = false
		| .process.args = ["sh", "-c", $script]
		| .root.readonly = false
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "network" and .type != "cgroup")]
		| .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup" and .destination != "/sys")]'
	mv "$results/bundle" "$results/pair/bundle"
	# recvtty (tests/helpers, static) holds the terminal case's console socket.
	cp "$(dirname "$berth")/../tests/helpers/recvtty" "$results/pair/" 2>/dev/null ||
		echo "note: no tests/helpers/recvtty built: the terminal case is skipped"
	# The image-based case uses Alpine's minirootfs when it is there (shared/images).
	local alpine=${BERTH_SHARED:-$repo/../shared}/images/alpine-minirootfs-3.20.3-x86_64.tar.gz
	if [ -r "$alpine" ]; then
		alpine=$(realpath "$alpine")
		case "$alpine" in /tmp/* | /run/*) cp "$alpine" "$results/pair/alpine.tar.gz" && alpine=/berth-pair/alpine.tar.gz ;; esac
	else
		alpine=""
	fi
	guest_berth=$berth
	case "$berth" in /tmp/* | /run/*)
		cp "$berth" "$(dirname "$berth")/berth-ext" "$results/pair/" && guest_berth=/berth-pair/berth ;;
	esac
	bash "$here/run-vm-pair.sh" "$(realpath "$0")" --results "$results" --vm-dir "$vm_dir" \
		--timeout "${MIG_VM_TIMEOUT:-1100}" --env "MIG_VM_TIMEOUT=${MIG_VM_TIMEOUT:-1100}" \
		--env "BERTH=$guest_berth" --env "MIG_MB=${MIG_MB:-256}" --env "MIG_RATE=${MIG_RATE:-256}" --env "MIG_WAYS=${MIG_WAYS:-stop-and-copy pre-copy post-copy}" \
		--env "MIG_CMD_TIMEOUT=${MIG_CMD_TIMEOUT:-500}" --env "MIG_FIGURES_ONLY=${MIG_FIGURES_ONLY:-}" \
		--env "MIG_CASES=${MIG_CASES:-}" --env "ALPINE=$alpine"
	local rc=$?
	[ -f "$results/pair/figures.txt" ] && cat "$results/pair/figures.txt"
	printf '%s: exit %d; host wall time %d s\n' "$(basename "$0" .sh)" "$rc" \
		$(((${EPOCHREALTIME/./} - start) / 1000000))
	exit "$rc"
}

# ---------------------------------------------------------------- in the guest

MIG=()
mig_opts() {
	MIG=(--ssh-option IdentityFile=/etc/berth-ssh/client --ssh-option UserKnownHostsFile=/etc/berth-ssh/known_hosts
		--ssh-option StrictHostKeyChecking=yes --ssh-option BatchMode=yes
		--ssh-option ServerAliveInterval=15 --ssh-option ServerAliveCountMax=8
		--ssh-option Ciphers=aes128-ctr) # as PAIR_SSH (guest-pair-lib.sh)
}

# bundle NAME [ARGS-JSON]: /tmp/NAME, a copy of the shared busybox bundle in cgroup $CG/NAME
# (with process.args ARGS-JSON when given).
bundle() {
	rm -rf "/tmp/$1"
	cp -a "$BERTH_VM_PAIR/bundle" "/tmp/$1" || die "copy the bundle"
	jq --arg cg "$CG/$1" --argjson args "${2:-null}" '.linux.cgroupsPath = $cg
		| if $args then .process.args = $args else . end' "/tmp/$1/config.json" >"/tmp/$1/c.json" &&
		mv "/tmp/$1/c.json" "/tmp/$1/config.json"
}

# start NAME [ARGS-JSON]: run -d it with /dev/null as its standard streams.
start() {
	bundle "$@"
	"$BERTH" run -d -b "/tmp/$1" "$1" </dev/null >/dev/null 2>&1
	RC=$?
	[ "$RC" -eq 0 ] || die "run $1 failed (exit $RC)"
}

status_here() { "$BERTH" state "$1" 2>/dev/null | jq -r .status; }
# shellcheck disable=SC2029 # expanded here on purpose: the paths and berth are the same there
status_there() { ssh "${PAIR_SSH[@]}" "root@$BERTH_VM_PEER_IP" "$BERTH state $1" 2>/dev/null | jq -r .status; }
# shellcheck disable=SC2029
there() { ssh "${PAIR_SSH[@]}" "root@$BERTH_VM_PEER_IP" "$@" 2>/dev/null; }

nothing_here() {
	assert_false "$2: no state on the source" test -e "/run/berth/$1"
	assert_false "$2: no cgroup on the source" test -e "/sys/fs/cgroup$CG/$1"
	assert_false "$2: no migration directory on the source" test -e "/var/lib/berth/migrate/$1"
}

nothing_there() {
	local left
	left=$(there "for p in /run/berth/$1 /sys/fs/cgroup$CG/$1 /var/lib/berth/migrate/$1 \
		/var/lib/berth/restored/$1; do test -e \$p && echo \$p; done; echo end")
	assert_eq "$2: nothing left on the target" "end" "$left"
}

# case_failure: the receiver dies at MIG_FAULT; the source runs on, the target is clean.
case_failure() {
	start c2
	wait_counter /tmp/c2/rootfs/tmp/counter 5 >/dev/null
	receiver_dies c2 "${MIG_FAULT:-migrate-receive.after-restore}"
	nothing_here c2 "after delete"
}

# receiver_dies NAME FAULT [MIGRATE-OPTION...]: NAME (running) is migrated with the receiver
# dying at FAULT: migrate fails, NAME runs on here (thawed), the target is clean; then deleted.
receiver_dies() {
	local name=$1 fault=$2 a b
	shift 2
	cap "$BERTH" migrate "$@" "${MIG[@]}" --remote-berth "BERTH_FAULT=$fault $BERTH" "$name" \
		"ssh://root@$BERTH_VM_PEER_IP"
	assert_rc "migrate${*:+ $*} with the receiver dying at $fault fails" 1
	info "error: $ERR"
	assert_contains "$name: the error says the container still runs here" "$ERR" "still runs here"
	assert_eq "$name runs on the source (thawed)" running "$(status_here "$name")"
	a=$(cat "/tmp/$name/rootfs/tmp/counter")
	sleep 1
	b=$(cat "/tmp/$name/rootfs/tmp/counter")
	assert_true "$name: its counter goes on ($a -> $b)" test "${b##* }" -gt "${a##* }"
	assert_false "$name: no migration directory on the source" test -e "/var/lib/berth/migrate/$name"
	assert_eq "no $name on the target" "" "$(status_there "$name")"
	nothing_there "$name" "receiver died at $fault"
	"$BERTH" delete --force "$name"
}

# case_image: a `run --image` container: the image goes only when the target lacks it, the
# rootfs as the image plus the overlay upper dir.
case_image() {
	local script before after
	if [ -z "${ALPINE:-}" ]; then
		if [ -n "${CI:-}" ]; then fail "no Alpine minirootfs for the image case"; else info "SKIP image case: no Alpine minirootfs"; fi
		return
	fi
	cap "$BERTH" image import "$ALPINE" --name alpine:3.20.3
	assert_ok "image import alpine on the source"
	# shellcheck disable=SC2016 # the container's shell
	script='id=$(cat /proc/sys/kernel/random/uuid); echo made >/root/created; rm /etc/motd; i=0
while :; do i=$((i+1)); echo "$id $i" >/tmp/counter; sleep 0.1; done'
	"$BERTH" run --image alpine:3.20.3 -d --name i1 --cgroups-path "$CG/i1" sh -c "$script" \
		</dev/null >/dev/null 2>&1 || die "run --image i1"
	before=$(wait_counter /var/lib/berth/containers/i1/rootfs/tmp/counter 5)
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" i1 "ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "migrate i1 (run --image)"
	printf '%s\n' "$ERR" | sed 's/^/  | /'
	assert_match "the target lacked the image: sent" 'image alpine:3.20.3: the target lacked it, sent [0-9]+ bytes' "$ERR"
	assert_eq "i1 runs on the target" running "$(status_there i1)"
	after=$(there cat /var/lib/berth/containers/i1/rootfs/tmp/counter)
	assert_eq "i1: the same process" "${before% *}" "${after% *}"
	assert_true "i1 continued (${before##* } -> ${after##* })" test "${after##* }" -gt "${before##* }"
	assert_eq "i1's created file came along (upper dir)" made "$(there cat /var/lib/berth/containers/i1/rootfs/root/created)"
	assert_eq "i1's deleted file stays deleted (whiteout)" gone \
		"$(there "test -e /var/lib/berth/containers/i1/rootfs/etc/motd && echo there || echo gone")"
	assert_false "no store directory of i1 left on the source" test -e /var/lib/berth/containers/i1
	there "$BERTH delete --force i1" >/dev/null
}

# netrun NAME ARGS...: `run --image alpine --net n1` (its own network namespace), /dev/null as
# stdio (a file there is the streams gap, case_streams).
netrun() {
	local name=$1
	shift
	"$BERTH" run --image alpine:3.20.3 -d --name "$name" --net n1 --cgroups-path "$CG/$name" "$@" \
		</dev/null >/dev/null 2>&1 || die "run --image --net n1 $name failed"
}

# case_network: a container on a berth network keeps its address on the target's network of the
# same name (not the lowest free one there). It is a `run --image` container of the image the
# image case sent: this time the image is not sent again.
case_network() {
	local before after
	[ -n "${ALPINE:-}" ] || { info "SKIP network case: no Alpine minirootfs"; return; }
	cap "$BERTH" network create n1 --subnet 10.88.0.0/24
	assert_ok "network n1 on the source"
	there "$BERTH network create n1 --subnet 10.88.0.0/24" >/dev/null
	assert_eq "network n1 on the target" n1 "$(there "$BERTH network inspect n1" | jq -r .name)"
	netrun hold sleep 1000 # takes 10.88.0.2 here; the target has nothing on n1
	# shellcheck disable=SC2016 # the container's shell
	netrun n1c sh -c 'id=$(cat /proc/sys/kernel/random/uuid); i=0
while :; do i=$((i+1)); a=$(ip -4 -o addr show dev eth0 | awk "{ print \$4 }"); echo "$id $i $a" >/tmp/counter; sleep 0.2; done'
	before=$(wait_counter_addr /var/lib/berth/containers/n1c/rootfs/tmp/counter)
	info "on the source: $before"
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" n1c "ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "migrate n1c (berth network n1)"
	printf '%s\n' "$ERR" | sed 's/^/  | /'
	assert_contains "the image is not sent again" "$ERR" "already in the target's store, not sent"
	sleep 1
	after=$(there cat /var/lib/berth/containers/n1c/rootfs/tmp/counter)
	info "on the target: $after"
	assert_eq "n1c keeps its address on the target's n1" "$(cut -d' ' -f3 <<<"$before")" "$(cut -d' ' -f3 <<<"$after")"
	assert_eq "n1c: the same process" "$(cut -d' ' -f1 <<<"$before")" "$(cut -d' ' -f1 <<<"$after")"
	assert_eq "the source released its lease (only hold's is left)" 1 \
		"$("$BERTH" network inspect n1 | jq '.containers | length')"
	there "$BERTH delete --force n1c" >/dev/null
	"$BERTH" delete --force hold
}

# case_terminal: a container with a terminal: refused without --console-socket (nothing frozen or
# sent); with one (a receiver on the target), it moves and the receiver gets its output.
case_terminal() {
	local rpid
	[ -x "$BERTH_VM_PAIR/recvtty" ] || { info "SKIP terminal case: no recvtty"; return; }
	"$BERTH_VM_PAIR/recvtty" /tmp/con.sock --timeout 300 >/tmp/con.out 2>&1 </dev/null &
	rpid=$!
	for _ in $(seq 100); do [ -S /tmp/con.sock ] && break; sleep 0.1; done
	# shellcheck disable=SC2016 # the container's shell
	bundle tty '["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]'
	jq '.process.terminal = true' /tmp/tty/config.json >/tmp/tty/c.json && mv /tmp/tty/c.json /tmp/tty/config.json
	cap "$BERTH" run -d --console-socket /tmp/con.sock -b /tmp/tty tty
	assert_ok "run -d a terminal container"
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" tty "ssh://root@$BERTH_VM_PEER_IP"
	assert_rc "migrate of a terminal container without --console-socket is refused" 1
	assert_contains "naming process.terminal and --console-socket" "$ERR" "--console-socket"
	assert_eq "the terminal container runs on" running "$(status_here tty)"
	assert_false "no migration directory left" test -e /var/lib/berth/migrate/tty
	# With a console receiver on the target: the new pty master goes there.
	there "setsid $BERTH_VM_PAIR/recvtty /tmp/con2.sock --timeout 300 </dev/null >/tmp/con2.out 2>&1 &"
	there "for i in \$(seq 100); do [ -S /tmp/con2.sock ] && exit 0; sleep 0.1; done; exit 1"
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" --console-socket /tmp/con2.sock tty \
		"ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "migrate --console-socket (a receiver on the target) of the terminal container"
	assert_eq "it runs on the target" running "$(status_there tty)"
	assert_eq "it is gone here" "" "$(status_here tty)"
	sleep 2
	# shellcheck disable=SC2016 # the target's shell
	assert_true "the target's console receiver gets its output after the move" \
		there 'grep -q "tick" /tmp/con2.out'
	there "$BERTH delete --force tty" >/dev/null
	"$BERTH" delete --force tty 2>/dev/null
	kill "$rpid" 2>/dev/null
}

# case_streams: a detached container (run -d) whose stdout is its log, a regular file in its
# state dir (issue 15 point 2): it migrates, and on the target `berth logs` has what it wrote on
# the source (from "tick 1") and what it writes there.
case_streams() {
	local before log last
	# shellcheck disable=SC2016 # the container's shell
	bundle logc '["sh", "-c", "id=$(cat /proc/sys/kernel/random/uuid); i=0; while :; do i=$((i+1)); echo \"$id $i\" >/tmp/counter; echo tick $i; sleep 0.1; done"]'
	"$BERTH" run -d -b /tmp/logc logc </dev/null >/dev/null 2>&1 || die "run logc"
	before=$(wait_counter /tmp/logc/rootfs/tmp/counter 5)
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" logc "ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "a container logging to its log file migrates (streams, issue 15 #2)"
	sleep 1
	log=$(there "$BERTH logs logc")
	last=$(tail -n 1 <<<"$log")
	assert_eq "berth logs on the target: the log written on the source came along" "tick 1" "$(head -n 1 <<<"$log")"
	assert_true "berth logs on the target: it writes on there (${before##* } -> ${last##* })" \
		test "${last##* }" -gt "${before##* }"
	there "$BERTH delete --force logc" >/dev/null
}

# case_null: a container whose standard streams are /dev/null (made by create and start with
# /dev/null, as a service manager may) moves, and on the target they are /dev/null again.
case_null() {
	local before after pid
	bundle n0
	"$BERTH" create -b /tmp/n0 n0 </dev/null >/dev/null 2>&1 || die "create n0"
	"$BERTH" start n0 </dev/null >/dev/null 2>&1 || die "start n0"
	pid=$("$BERTH" state n0 | jq -r .pid)
	assert_eq "n0's stdout is /dev/null on the source" /dev/null "$(readlink "/proc/$pid/fd/1")"
	before=$(wait_counter /tmp/n0/rootfs/tmp/counter 5)
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" n0 "ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "a container with /dev/null as its streams migrates"
	pid=$(there "$BERTH state n0" | jq -r .pid)
	assert_eq "on the target its stdin, stdout and stderr are /dev/null" "/dev/null /dev/null /dev/null" \
		"$(there "readlink /proc/$pid/fd/0 /proc/$pid/fd/1 /proc/$pid/fd/2" | xargs)"
	sleep 1
	after=$(there cat /var/lib/berth/restored/n0/rootfs/tmp/counter)
	assert_eq "n0: the same process" "${before% *}" "${after% *}"
	assert_true "n0 continued (${before##* } -> ${after##* })" test "${after##* }" -gt "${before##* }"
	there "$BERTH delete --force n0" >/dev/null
}

# wait_counter_addr FILE: until FILE holds "<id> <n> <addr>" with an address (~30 s); prints it.
wait_counter_addr() {
	local line=""
	for _ in $(seq 150); do
		line=$(cat "$1" 2>/dev/null)
		[[ $line =~ \ [0-9]+\ [0-9.]+/[0-9]+$ ]] && break
		sleep 0.2
	done
	echo "$line"
}

# no_daemon_there WHAT: no `criu lazy-pages` runs on the target (within 5 s: a daemon is killed
# when its receiver dies).
no_daemon_there() {
	# shellcheck disable=SC2016 # the target's shell
	assert_true "$1: no lazy-pages daemon left on the target" there 'for i in $(seq 25); do
		pgrep -f "^[^ ]*criu lazy-pages" >/dev/null || exit 0; sleep 0.2; done; exit 1'
}

# case_lazy_counter: post-copy. The counter continues on the target once every page is there.
case_lazy_counter() {
	local before after1 after2 dt
	start z1
	before=$(wait_counter /tmp/z1/rootfs/tmp/counter 10)
	cap "$BERTH" migrate --lazy "${MIG[@]}" --remote-berth "$BERTH" z1 "ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "migrate --lazy z1 ssh://root@$BERTH_VM_PEER_IP"
	printf '%s\n' "$ERR" | sed 's/^/  | /'
	assert_match "post-copy: the lazy dump's progress" 'lazy dump: [0-9]+ pages in the images' "$ERR"
	assert_match "post-copy: the restore with lazy pages" 'restored on the target with lazy pages' "$ERR"
	assert_match "post-copy: the last page served" 'post-copy: every page served [0-9]+ ms after the resume' "$ERR"
	assert_match "post-copy: the closing line: total, downtime, bytes" \
		'total [0-9]+ ms, downtime [0-9]+ ms, [0-9]+ bytes sent' "$ERR"
	assert_eq "z1 is gone from the source" "" "$(status_here z1)"
	nothing_here z1 "after migrate --lazy"
	assert_eq "z1 runs on the target" running "$(status_there z1)"
	after1=$(there cat /var/lib/berth/restored/z1/rootfs/tmp/counter)
	sleep 1
	after2=$(there cat /var/lib/berth/restored/z1/rootfs/tmp/counter)
	info "post-copy counter: $before on the source, then $after1 and $after2 on the target"
	assert_eq "post-copy: the same process (its random id)" "${before% *}" "${after1% *}"
	assert_true "post-copy: it continued from its value (${before##* } -> ${after1##* })" \
		test "${after1##* }" -gt "${before##* }"
	assert_true "post-copy: and counts on (${after1##* } -> ${after2##* })" test "${after2##* }" -gt "${after1##* }"
	no_daemon_there "post-copy"
	dt=$(sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$ERR")
	info "counter container, post-copy: downtime ${dt:-?} ms"
	there "$BERTH delete --force z1" >/dev/null
}

# case_lazy_failure: migrate --lazy with the receiver dying before the restore: the container
# runs on here, the target is clean.
case_lazy_failure() {
	start z2
	wait_counter /tmp/z2/rootfs/tmp/counter 5 >/dev/null
	receiver_dies z2 migrate-receive.before-restore --lazy
	no_daemon_there "receiver died before the lazy restore"
}

# left_frozen NAME FAULT WHAT NEEDLE: NAME (16 MiB) migrated with --lazy and BERTH_FAULT=FAULT on
# the target fails after the resume there; the error holds NEEDLE and names `berth resume`; NAME
# is left frozen here (its counter stands still), nothing of it is left on the target, and
# resumed it goes on from the freeze (the same process). The error stays in MIG_ERR.
left_frozen() {
	local name=$1 fault=$2 what=$3 needle=$4 before frozen after
	start "$name" '["/dirty", "16", "256"]'
	before=$(wait_counter "/tmp/$name/rootfs/tmp/counter" 30)
	cap "$BERTH" migrate --lazy "${MIG[@]}" --remote-berth "BERTH_FAULT=$fault $BERTH" \
		"$name" "ssh://root@$BERTH_VM_PEER_IP"
	MIG_ERR=$ERR
	assert_rc "migrate --lazy with $what fails" 1
	printf '%s\n' "$ERR" | sed 's/^/  | /'
	assert_contains "$what: the error says '$needle'" "$ERR" "$needle"
	assert_contains "$what: and names berth resume" "$ERR" "berth resume $name"
	assert_eq "$what: $name is left frozen here" paused "$(status_here "$name")"
	frozen=$(cat "/tmp/$name/rootfs/tmp/counter")
	sleep 1
	assert_eq "$what: frozen, its counter stands still" "$frozen" "$(cat "/tmp/$name/rootfs/tmp/counter")"
	assert_eq "$what: no $name on the target" "" "$(status_there "$name")"
	nothing_there "$name" "$what"
	no_daemon_there "$what"
	cap "$BERTH" resume "$name"
	assert_ok "berth resume $name"
	sleep 1
	after=$(cat "/tmp/$name/rootfs/tmp/counter")
	assert_eq "$what: resumed, the same process (its random id)" "${before% *}" "${after% *}"
	assert_true "$what: resumed, it counts on from the freeze (${frozen##* } -> ${after##* })" \
		test "${after##* }" -gt "${frozen##* }"
	"$BERTH" delete --force "$name"
}

# case_lazy_break: post-copy's risk. The page channel breaks after the target's acknowledgement
# (its relay dies once 1 MiB of the 16 MiB went through): the target stops and deletes its copy
# and says so, with CRIU's reason (not the path of a log its rollback removed).
case_lazy_break() {
	left_frozen z3 relay.after-1mib "the page channel broken after the resume" "the target stopped its copy"
	assert_contains "and the target's reason" "$MIG_ERR" "criu lazy-pages failed before every page was here"
	assert_not_contains "but no log the target's rollback removed" "$MIG_ERR" "lazy-pages.log"
}

# case_lazy_unconfirmed: the receiver dies after a post-copy's commit, before it can say whether
# every page arrived (its guardian removes the copy, its lazy-pages daemon dies with it): the
# source says the target could not confirm.
case_lazy_unconfirmed() {
	left_frozen z4 migrate-receive.after-commit "the receiver dead after the commit" "could not confirm"
}

# figure WAY NAME: one move of a fresh container NAME holding MIG_MB MiB by WAY (stop-and-copy,
# pre-copy or post-copy); it must keep its count on the target and leave nothing here. Sets DT
# (downtime, ms), TOTAL (ms) and BYTES.
figure() {
	local way=$1 name=$2 args t0 t1 out before after1 after2
	args=$(jq -cn --arg mb "$MIG_MB" --arg r "$MIG_RATE" '["/dirty", $mb, $r]')
	start "$name" "$args"
	before=$(wait_counter "/tmp/$name/rootfs/tmp/counter" 60)
	DT="" TOTAL="" BYTES=""
	t0=${EPOCHREALTIME/./}
	case $way in
	stop-and-copy)
		cap "$BERTH" checkpoint --export "/tmp/$name.tar" --export-rootfs "$name"
		assert_ok "stop-and-copy: checkpoint --export $name"
		BYTES=$(stat -c %s "/tmp/$name.tar" 2>/dev/null || echo 0)
		there "cat >/tmp/$name.tar" <"/tmp/$name.tar"
		there "$BERTH restore --import /tmp/$name.tar --detach $name </dev/null >/dev/null 2>&1; rm -f /tmp/$name.tar"
		t1=${EPOCHREALTIME/./}
		rm -f "/tmp/$name.tar"
		DT=$(((t1 - t0) / 1000)) TOTAL=$DT
		;;
	pre-copy | post-copy)
		local how=(--max-rounds 6)
		[ "$way" = post-copy ] && how=(--lazy)
		cap "$BERTH" migrate "${how[@]}" "${MIG[@]}" --remote-berth "$BERTH" "$name" "ssh://root@$BERTH_VM_PEER_IP"
		assert_ok "$way: migrate ${how[*]} $name (${MIG_MB} MiB)"
		printf '%s\n' "$ERR" | sed 's/^/  | /'
		if [ "$way" = pre-copy ]; then
			assert_match "$way: a progress line per round" 'round 1: [0-9]+ pages, [0-9]+ bytes sent' "$ERR"
		fi
		assert_match "$way: the closing line: total, downtime, bytes" \
			'total [0-9]+ ms, downtime [0-9]+ ms, [0-9]+ bytes sent' "$ERR"
		out=$(grep 'downtime' <<<"$ERR")
		DT=$(sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$out")
		TOTAL=$(sed -n 's/.*total \([0-9]*\) ms.*/\1/p' <<<"$out")
		BYTES=$(sed -n 's/.* \([0-9]*\) bytes sent, .*/\1/p' <<<"$out")
		;;
	esac
	assert_eq "$way: $name runs on the target" running "$(status_there "$name")"
	assert_eq "$way: $name is gone from the source" "" "$(status_here "$name")"
	nothing_here "$name" "after $way"
	after1=$(there cat "/var/lib/berth/restored/$name/rootfs/tmp/counter")
	sleep 1
	after2=$(there cat "/var/lib/berth/restored/$name/rootfs/tmp/counter")
	info "$way counter: $before on the source, then $after1 and $after2 on the target"
	assert_eq "$way: the same process (its random id)" "${before% *}" "${after1% *}"
	assert_true "$way: it continued from its value (${before##* } -> ${after1##* })" \
		test "${after1##* }" -gt "${before##* }"
	assert_true "$way: and counts on (${after1##* } -> ${after2##* })" test "${after2##* }" -gt "${after1##* }"
	there "$BERTH delete --force $name" >/dev/null
	record "figures ${MIG_MB} MiB: $way downtime ${DT:-?} ms, total ${TOTAL:-?} ms, ${BYTES:-?} bytes"
	echo "$way: downtime ${DT:-?} ms, total ${TOTAL:-?} ms, bytes ${BYTES:-?}" >>"$BERTH_VM_PAIR/figures.txt"
}

# case_figures: each of MIG_WAYS once; from 256 MiB on, the issue's target: pre-copy's downtime at
# most 1/5 of stop-and-copy's, in the same VMs.
case_figures() {
	local way n=0 sc="" pre=""
	echo "working set ${MIG_MB} MiB, ${MIG_RATE} KiB/s dirtied; two TCG guests, 1 vCPU each, link over loopback UDP, ssh" \
		>>"$BERTH_VM_PAIR/figures.txt"
	for way in $MIG_WAYS; do
		n=$((n + 1))
		figure "$way" "f$n"
		case $way in stop-and-copy) sc=$DT ;; pre-copy) pre=$DT ;; esac
	done
	if [ -n "$sc" ] && [ -n "$pre" ] && [ "$pre" -gt 0 ]; then
		info "pre-copy downtime ${pre} ms is 1/$((sc / pre)) of stop-and-copy's ${sc} ms"
		if [ "$MIG_MB" -ge 256 ]; then
			assert_true "pre-copy downtime (${pre} ms) at most 1/5 of stop-and-copy's (${sc} ms)" \
				test $((pre * 5)) -le "$sc"
		fi
	fi
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	# shellcheck source=tests/vm/guest-pair-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-pair-lib.sh"
	VM_CMD_TIMEOUT=$MIG_CMD_TIMEOUT # a migration of 256 MiB takes minutes under TCG
	vm_setup
	# The guest's / is an overlay (tmpfs over 9p): the image store's overlay mounts need a plain
	# file system under them, as a host's /var/lib has.
	mkdir -p /var/lib/berth
	mount -t tmpfs -o size=1400m,mode=0711 berth /var/lib/berth || die "tmpfs on /var/lib/berth"
	vm_criu_setup
	vm_modprobe veth bridge || die "the veth and bridge modules do not load"
	vm_pair_setup
	if [ "$BERTH_VM_ROLE" = b ]; then
		vm_pair_wait a.done $((MIG_VM_TIMEOUT - 50)) || die "the source did not finish"
		finish
	fi
	# b waits for this mark: set however this script ends
	trap 'vm_pair_mark a.done' EXIT
	vm_pair_wait b.ready 120 || die "the target is not ready"
	mig_opts
	local c
	for c in ${MIG_CASES:-failure terminal image network null streams lazy_counter lazy_failure lazy_break figures}; do
		[ -z "${MIG_FIGURES_ONLY:-}" ] || [ "$c" = figures ] || continue
		"case_$c"
	done
	vm_pair_mark a.done
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

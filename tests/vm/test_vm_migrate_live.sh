#!/bin/bash
# tests/vm/test_vm_migrate_live.sh: `berth migrate ID ssh://host` between two guests booted at the
# same time (run-vm-pair.sh: Debian's 6.1 kernel, one vCPU and 1536 MiB each, a virtual link
# whose host side is two UDP sockets on 127.0.0.1, Debian's sshd in each guest with keys made for
# the run, each guest its own state root and image store). Guest a is the source, b the target;
# a drives every case and looks at b over ssh, b only serves.
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
#   streams (known gap, issue 15 #2): a file as stdout fails on b; a runs on, b is clean.
#   figures: a container with MIG_MB MiB (default 16, to stay in the VM time budget) of memory rewritten at a steady rate
#     (migrate_dirty.c), moved once by stop-and-copy (checkpoint --export, copy over ssh,
#     restore --import) and once by migrate: downtime, total time and bytes of each, printed and
#     written to figures.txt. bench/migrate-downtime.sh runs it for 64 and 256 MiB. The migrated
#     one is the counter case: its count lives in its memory, and on b it continues from its
#     value (same random id, larger number, still counting); on a nothing is left (state,
#     cgroup, migration directory).
# Host environment: BERTH, BERTH_VM_DIR, MIG_FAULT (the receiver's fault point, default
# migrate-receive.after-restore; also migrate-receive.before-restore), BERTH_VM_KEEP=1, MIG_FIGURES_ONLY=1 (only the figures), MIG_MB, MIG_RATE (KiB/s dirtied,
# default 256: pre-copy converges only while the dirty rate stays below the link's rate, here
# about 5 MB/s through ssh with aes128-ctr under TCG). Exit: 0 pass, 1 fail, 2 VM error, 77 skipped.
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
	bash "$here/run-vm-pair.sh" "$(realpath "$0")" --results "$results" --vm-dir "$vm_dir" --timeout 900 \
		--env "BERTH=$guest_berth" --env "MIG_MB=${MIG_MB:-16}" --env "MIG_RATE=${MIG_RATE:-256}" \
		--env "MIG_FIGURES_ONLY=${MIG_FIGURES_ONLY:-}" --env "ALPINE=$alpine"
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
		--ssh-option Ciphers=aes128-ctr) # measured: twice chacha20-poly1305's rate under TCG
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

# case_failure FAULT: the receiver dies at FAULT; the source runs on, the target is clean.
case_failure() {
	local a b
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "BERTH_FAULT=$1 $BERTH" c2 "ssh://root@$BERTH_VM_PEER_IP"
	assert_rc "migrate with the receiver dying at $1 fails" 1
	info "error: $ERR"
	assert_contains "the error says the container still runs here" "$ERR" "still runs here"
	assert_eq "c2 runs on the source (thawed)" running "$(status_here c2)"
	a=$(cat /tmp/c2/rootfs/tmp/counter)
	sleep 1
	b=$(cat /tmp/c2/rootfs/tmp/counter)
	assert_true "its counter goes on ($a -> $b)" test "${b##* }" -gt "${a##* }"
	assert_false "no migration directory on the source" test -e /var/lib/berth/migrate/c2
	assert_eq "no c2 on the target" "" "$(status_there c2)"
	nothing_there c2 "receiver died at $1"
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

# case_streams: a detached container (run -d) whose stdout/stderr is its log, a regular file in
# its state dir (issue 15 point 2): it migrates, and the target has its log (berth logs works
# there). Should the restore fail, the container must run on here and the target be clean.
case_streams() {
	bundle logc
	"$BERTH" run -d -b /tmp/logc logc </dev/null >/tmp/logc.log 2>&1 || die "run logc"
	wait_counter /tmp/logc/rootfs/tmp/counter 5 >/dev/null
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" logc "ssh://root@$BERTH_VM_PEER_IP"
	assert_eq "a container logging to its log file migrates (streams, issue 15 #2)" 0 "$RC"
	if [ "$RC" -ne 0 ]; then
		info "logc: $(tail -n 1 <<<"$ERR")"
		assert_eq "after the failed restore on the target, logc runs on here" running "$(status_here logc)"
		nothing_there logc "restore refused on the target"
		"$BERTH" delete --force logc
	else
		assert_true "berth logs reads its log on the target" there "$BERTH logs logc"
		there "$BERTH delete --force logc" >/dev/null
	fi
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

# ms LINE-REGEX: the milliseconds of "downtime N ms"-like fields.
figures() {
	local mb=$MIG_MB t0 t1 size sc_ms out dt total bytes rounds before after1 after2
	local args
	args=$(jq -cn --arg mb "$mb" --arg r "$MIG_RATE" '["/dirty", $mb, $r]')
	# stop-and-copy: checkpoint --export, copy over the same ssh, restore --import
	start d1 "$args"
	wait_counter /tmp/d1/rootfs/tmp/counter 20 >/dev/null
	t0=${EPOCHREALTIME/./}
	cap "$BERTH" checkpoint --export /tmp/d1.tar --export-rootfs d1
	assert_ok "stop-and-copy: checkpoint --export"
	size=$(stat -c %s /tmp/d1.tar 2>/dev/null || echo 0)
	there "cat >/tmp/d1.tar" </tmp/d1.tar
	there "$BERTH restore --import /tmp/d1.tar --detach d1 </dev/null >/dev/null 2>&1"
	t1=${EPOCHREALTIME/./}
	sc_ms=$(((t1 - t0) / 1000))
	assert_eq "stop-and-copy: d1 runs on the target" running "$(status_there d1)"
	there "$BERTH delete --force d1; rm -f /tmp/d1.tar"
	rm -f /tmp/d1.tar
	record "figures ${mb} MiB: stop-and-copy downtime $sc_ms ms (= its total), $size bytes"

	# The counter case too: d2's memory holds its count ("<id> <n>" in /tmp/counter).
	start d2 "$args"
	before=$(wait_counter /tmp/d2/rootfs/tmp/counter 20)
	t0=${EPOCHREALTIME/./}
	cap "$BERTH" migrate "${MIG[@]}" --remote-berth "$BERTH" --max-rounds 6 d2 "ssh://root@$BERTH_VM_PEER_IP"
	t1=${EPOCHREALTIME/./}
	assert_ok "pre-copy: migrate d2 (${mb} MiB) ssh://root@$BERTH_VM_PEER_IP"
	printf '%s\n' "$ERR" | sed 's/^/  | /'
	assert_match "a progress line per round" 'round 1: [0-9]+ pages, [0-9]+ bytes sent' "$ERR"
	assert_match "the closing line: total, downtime, bytes" \
		'total [0-9]+ ms, downtime [0-9]+ ms, [0-9]+ bytes sent' "$ERR"
	assert_eq "d2 is gone from the source" "" "$(status_here d2)"
	nothing_here d2 "after migrate"
	assert_eq "pre-copy: d2 runs on the target" running "$(status_there d2)"
	after1=$(there cat /var/lib/berth/restored/d2/rootfs/tmp/counter)
	sleep 1
	after2=$(there cat /var/lib/berth/restored/d2/rootfs/tmp/counter)
	info "counter: $before on the source, then $after1 and $after2 on the target"
	assert_eq "the same process (its random id)" "${before% *}" "${after1% *}"
	assert_true "it continued from its value (${before##* } -> ${after1##* })" \
		test "${after1##* }" -gt "${before##* }"
	assert_true "and counts on (${after1##* } -> ${after2##* })" test "${after2##* }" -gt "${after1##* }"
	out=$(grep 'downtime' <<<"$ERR")
	dt=$(sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$out")
	total=$(sed -n 's/.*total \([0-9]*\) ms.*/\1/p' <<<"$out")
	bytes=$(sed -n 's/.* \([0-9]*\) bytes sent, .*/\1/p' <<<"$out")
	rounds=$(sed -n 's/.*, \([0-9]*\) pre-copy.*/\1/p' <<<"$out")
	there "$BERTH delete --force d2"
	record "figures ${mb} MiB: pre-copy downtime ${dt:-?} ms, total ${total:-?} ms ($(((t1 - t0) / 1000)) ms with ssh's start), ${bytes:-?} bytes, ${rounds:-?} rounds"
	record "figures ${mb} MiB: post-copy (--lazy): measured by test_vm_migrate_lazy.sh"
	{
		echo "working set ${mb} MiB, ${MIG_RATE} KiB/s dirtied; two TCG guests, 1 vCPU each, link over loopback UDP, ssh"
		echo "stop-and-copy (checkpoint --export, ssh copy, restore --import): downtime $sc_ms ms, bytes $size"
		echo "pre-copy (berth migrate): downtime ${dt:-?} ms, total ${total:-?} ms, bytes ${bytes:-?}, rounds ${rounds:-?}"
		echo "post-copy (berth migrate --lazy): see test_vm_migrate_lazy.sh"
	} >>"$BERTH_VM_PAIR/figures.txt"
	if [ -n "$dt" ] && [ "$dt" -gt 0 ]; then
		info "pre-copy downtime is 1/$((sc_ms / dt)) of stop-and-copy's"
	fi
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	# shellcheck source=tests/vm/guest-pair-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-pair-lib.sh"
	VM_CMD_TIMEOUT=400 # a migration of 256 MiB takes minutes under TCG
	vm_setup
	# The guest's / is an overlay (tmpfs over 9p): the image store's overlay mounts need a plain
	# file system under them, as a host's /var/lib has.
	mkdir -p /var/lib/berth
	mount -t tmpfs -o size=1400m,mode=0711 berth /var/lib/berth || die "tmpfs on /var/lib/berth"
	vm_criu_setup
	vm_modprobe veth bridge || die "the veth and bridge modules do not load"
	vm_pair_setup
	if [ "$BERTH_VM_ROLE" = b ]; then
		vm_pair_wait a.done 850 || die "the source did not finish"
		finish
	fi
	# b waits for this mark: set however this script ends
	trap 'vm_pair_mark a.done' EXIT
	vm_pair_wait b.ready 120 || die "the target is not ready"
	mig_opts
	if [ -z "${MIG_FIGURES_ONLY:-}" ]; then
		start c2
		wait_counter /tmp/c2/rootfs/tmp/counter 5 >/dev/null
		# (migrate-receive.before-restore works the same way; the streams case below is a
		# failure of CRIU's restore on the target)
		case_failure "${MIG_FAULT:-migrate-receive.after-restore}"
		"$BERTH" delete --force c2
		nothing_here c2 "after delete"
		case_terminal
		case_image
		case_network
		case_streams
	fi
	figures
	vm_pair_mark a.done
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

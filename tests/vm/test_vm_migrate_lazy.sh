#!/bin/bash
# tests/vm/test_vm_migrate_lazy.sh: `berth migrate --lazy ID ssh://host` (post-copy: CRIU lazy
# pages over userfaultfd, the page traffic through a second ssh session) between the two guests of
# run-vm-pair.sh (as test_vm_migrate_live.sh: Debian's 6.1 kernel, a link over loopback UDP, sshd
# in each guest). Guest a is the source, b the target.
#   counter: a busybox container counting in its memory is migrated with --lazy; on b it continues
#     from its value (same random id, larger number, still counting) once every page is there;
#     nothing is left on a; the progress names the lazy dump, the restore and the last page.
#   failure: the receiver dies before the restore: migrate --lazy fails, the container runs on a
#     (thawed), nothing is left on b.
#   figures: a container with MIG_MB MiB (default 16 as the live test in CI; 64 for the README) of memory rewritten at MIG_RATE KiB/s
#     (migrate_dirty.c), moved by post-copy (migrate --lazy), and with MIG_COMPARE=1 also by
#     stop-and-copy (checkpoint --export, ssh, restore --import) and pre-copy (migrate), from the
#     same VMs: downtime, total time and bytes, printed and written to figures.txt.
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1, MIG_MB, MIG_RATE, MIG_NO_FIGURES=1, MIG_COMPARE=1 (pre-copy and stop-and-copy too),
# MIG_VM_TIMEOUT (each guest, default 560 s). Exit: 0 pass, 1 fail,
# 2 VM error, 77 skipped.
set -uo pipefail

CG=/berth-vm/lazy

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init migrate-lazy ssh ssh-keygen gcc
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
	guest_berth=$berth
	case "$berth" in /tmp/* | /run/*)
		cp "$berth" "$(dirname "$berth")/berth-ext" "$results/pair/" && guest_berth=/berth-pair/berth ;;
	esac
	bash "$here/run-vm-pair.sh" "$(realpath "$0")" --results "$results" --vm-dir "$vm_dir" --timeout "${MIG_VM_TIMEOUT:-560}" \
		--env "BERTH=$guest_berth" --env "MIG_MB=${MIG_MB:-16}" --env "MIG_COMPARE=${MIG_COMPARE:-}" --env "MIG_RATE=${MIG_RATE:-256}" --env "MIG_NO_FIGURES=${MIG_NO_FIGURES:-}"
	local rc=$?
	[ -f "$results/pair/figures.txt" ] && cat "$results/pair/figures.txt"
	printf '%s: exit %d; host wall time %d s\n' "$(basename "$0" .sh)" "$rc" \
		$(((${EPOCHREALTIME/./} - start) / 1000000))
	exit "$rc"
}

# ---------------------------------------------------------------- in the guest

MIG=()
mig_opts() {
	# the script's one ssh connection (PAIR_SSH's ControlPath) carries migrate's sessions too: an
	# ssh handshake takes 10-20 s under TCG, and --lazy opens two sessions
	MIG=(--ssh-option IdentityFile=/etc/berth-ssh/client --ssh-option UserKnownHostsFile=/etc/berth-ssh/known_hosts
		--ssh-option StrictHostKeyChecking=yes --ssh-option BatchMode=yes
		--ssh-option ServerAliveInterval=5 --ssh-option ServerAliveCountMax=3
		--ssh-option ControlMaster=auto --ssh-option ControlPath=/tmp/berth-ssh-%C
		--ssh-option ControlPersist=900 --ssh-option Ciphers=aes128-ctr)
}

# bundle NAME [ARGS-JSON] / start NAME [ARGS-JSON]: as in test_vm_migrate_live.sh.
bundle() {
	rm -rf "/tmp/$1"
	cp -a "$BERTH_VM_PAIR/bundle" "/tmp/$1" || die "copy the bundle"
	jq --arg cg "$CG/$1" --argjson args "${2:-null}" '.linux.cgroupsPath = $cg
		| if $args then .process.args = $args else . end' "/tmp/$1/config.json" >"/tmp/$1/c.json" &&
		mv "/tmp/$1/c.json" "/tmp/$1/config.json"
}

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

case_lazy_counter() {
	local before after1 after2 dt
	start c1
	before=$(wait_counter /tmp/c1/rootfs/tmp/counter 10)
	info "counter on the source: $before"
	cap "$BERTH" migrate --lazy "${MIG[@]}" --remote-berth "$BERTH" c1 "ssh://root@$BERTH_VM_PEER_IP"
	assert_ok "migrate --lazy c1 ssh://root@$BERTH_VM_PEER_IP"
	printf '%s\n' "$ERR" | sed 's/^/  | /'
	assert_match "the lazy dump's progress" 'lazy dump: [0-9]+ pages in the images' "$ERR"
	assert_match "the restore with lazy pages" 'restored on the target with lazy pages' "$ERR"
	assert_match "the last page served" 'post-copy: every page served [0-9]+ ms after the resume' "$ERR"
	assert_match "the closing line: total, downtime, bytes" \
		'total [0-9]+ ms, downtime [0-9]+ ms, [0-9]+ bytes sent' "$ERR"
	assert_eq "c1 is gone from the source" "" "$(status_here c1)"
	nothing_here c1 "after migrate --lazy"
	assert_eq "c1 runs on the target" running "$(status_there c1)"
	sleep 1
	after1=$(there cat /var/lib/berth/restored/c1/rootfs/tmp/counter)
	sleep 1
	after2=$(there cat /var/lib/berth/restored/c1/rootfs/tmp/counter)
	info "counter on the target: $after1, then $after2"
	assert_eq "the same process (its random id)" "${before% *}" "${after1% *}"
	assert_true "it continued from its value (${before##* } -> ${after1##* })" \
		test "${after1##* }" -gt "${before##* }"
	assert_true "and counts on (${after1##* } -> ${after2##* })" test "${after2##* }" -gt "${after1##* }"
	assert_false "no lazy-pages daemon left on the target" \
		test -n "$(there "pgrep -f 'criu lazy-pages'")"
	dt=$(sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$ERR")
	info "counter container, post-copy: downtime ${dt:-?} ms"
	there "$BERTH delete --force c1" >/dev/null
}

case_lazy_failure() {
	local a b
	start c2
	wait_counter /tmp/c2/rootfs/tmp/counter 5 >/dev/null
	cap "$BERTH" migrate --lazy "${MIG[@]}" --remote-berth "BERTH_FAULT=migrate-receive.before-restore $BERTH" \
		c2 "ssh://root@$BERTH_VM_PEER_IP"
	assert_rc "migrate --lazy with the receiver dying before the restore fails" 1
	info "error: $ERR"
	assert_contains "the error says the container still runs here" "$ERR" "still runs here"
	assert_eq "c2 runs on the source (thawed)" running "$(status_here c2)"
	a=$(cat /tmp/c2/rootfs/tmp/counter)
	sleep 1
	b=$(cat /tmp/c2/rootfs/tmp/counter)
	assert_true "its counter goes on ($a -> $b)" test "${b##* }" -gt "${a##* }"
	assert_false "no migration directory on the source" test -e /var/lib/berth/migrate/c2
	nothing_there c2 "receiver died before the lazy restore"
	"$BERTH" delete --force c2
}

# figure KIND NAME ARGS: one move of a fresh NAME; sets DT (downtime ms), TOTAL, BYTES.
figure() {
	local t0 t1 out
	start "$2" "$3"
	wait_counter "/tmp/$2/rootfs/tmp/counter" 20 >/dev/null
	DT="" TOTAL="" BYTES=""
	t0=${EPOCHREALTIME/./}
	case $1 in
	stop-and-copy)
		cap "$BERTH" checkpoint --export "/tmp/$2.tar" --export-rootfs "$2"
		assert_ok "stop-and-copy: checkpoint --export"
		BYTES=$(stat -c %s "/tmp/$2.tar" 2>/dev/null || echo 0)
		there "cat >/tmp/$2.tar" <"/tmp/$2.tar"
		there "$BERTH restore --import /tmp/$2.tar --detach $2 </dev/null >/dev/null 2>&1; rm -f /tmp/$2.tar"
		rm -f "/tmp/$2.tar"
		t1=${EPOCHREALTIME/./}
		DT=$(((t1 - t0) / 1000)) TOTAL=$DT
		;;
	pre-copy | post-copy)
		local lazy=()
		[ "$1" = post-copy ] && lazy=(--lazy)
		cap "$BERTH" migrate "${lazy[@]}" "${MIG[@]}" --remote-berth "$BERTH" "$2" "ssh://root@$BERTH_VM_PEER_IP"
		assert_ok "$1: migrate ${lazy[*]} $2"
		printf '%s\n' "$ERR" | sed 's/^/  | /'
		out=$(grep 'downtime' <<<"$ERR")
		DT=$(sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$out")
		TOTAL=$(sed -n 's/.*total \([0-9]*\) ms.*/\1/p' <<<"$out")
		BYTES=$(sed -n 's/.* \([0-9]*\) bytes sent, .*/\1/p' <<<"$out")
		;;
	esac
	assert_eq "$1: $2 runs on the target" running "$(status_there "$2")"
	there "$BERTH delete --force $2" >/dev/null
	record "figures ${MIG_MB} MiB: $1 downtime ${DT:-?} ms, total ${TOTAL:-?} ms, ${BYTES:-?} bytes"
	echo "$1: downtime ${DT:-?} ms, total ${TOTAL:-?} ms, bytes ${BYTES:-?}" >>"$BERTH_VM_PAIR/figures.txt"
}

figures() {
	local args sc pre post
	args=$(jq -cn --arg mb "$MIG_MB" --arg r "$MIG_RATE" '["/dirty", $mb, $r]')
	echo "working set ${MIG_MB} MiB, ${MIG_RATE} KiB/s dirtied; two TCG guests, 1 vCPU each, link over loopback UDP, ssh (one multiplexed connection)" >>"$BERTH_VM_PAIR/figures.txt"
	figure post-copy f3 "$args"
	post=$DT
	# CI: post-copy only (test_vm_migrate_live measures pre-copy and stop-and-copy at the same
	# 16 MiB in the same kind of VMs); MIG_COMPARE=1 adds both here, as for the README's table.
	[ -n "${MIG_COMPARE:-}" ] || return 0
	figure pre-copy f2 "$args"
	pre=$DT
	figure stop-and-copy f1 "$args"
	sc=$DT
	if [ -n "$post" ] && [ -n "$sc" ] && [ "${post:-0}" -gt 0 ]; then
		info "post-copy downtime ${post} ms: 1/$((sc / post)) of stop-and-copy's ${sc} ms (pre-copy ${pre:-?} ms)"
	fi
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	# shellcheck source=tests/vm/guest-pair-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-pair-lib.sh"
	VM_CMD_TIMEOUT=300
	vm_setup
	mkdir -p /var/lib/berth
	mount -t tmpfs -o size=1400m,mode=0711 berth /var/lib/berth || die "tmpfs on /var/lib/berth"
	vm_criu_setup
	vm_pair_setup
	if [ "$BERTH_VM_ROLE" = b ]; then
		vm_pair_wait a.done 550 || die "the source did not finish"
		finish
	fi
	trap 'vm_pair_mark a.done' EXIT
	vm_pair_wait b.ready 120 || die "the target is not ready"
	mig_opts
	there true # the multiplexed connection the migrations reuse
	case_lazy_counter
	case_lazy_failure
	[ -z "${MIG_NO_FIGURES:-}" ] && figures
	vm_pair_mark a.done
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

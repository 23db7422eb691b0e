#!/bin/bash
# tests/vm/test_vm_containerd_checkpoint.sh: checkpoint and restore through containerd 1.6's
# runc-v2 shim with berth as its runtime (`ctr ... --runc-binary berth`), on Debian's 6.1 kernel
# (CRIU 3.17 does not run on the host's 6.18). One boot; a containerd of the test's own (root,
# state and sockets under the guest's /tmp); the busybox OCI image is built on the host
# (scripts/make-oci-image.sh) and imported in the guest. Counter containers count in a loop
# ("<random id> <n>" into /tmp/counter of the rootfs and /shared/counter, a bind mount):
#   1. ck1: `ctr task checkpoint` (the shim: pause, `checkpoint --leave-running`, resume)
#      succeeds and prints the name of a checkpoint image, which is listed with containerd's
#      checkpoint label and whose index holds a CRIU tarball with an inventory; the task is
#      RUNNING again, its cgroup thawed, and it keeps counting. By hand: after `berth checkpoint
#      --leave-running` of the paused container it is still paused (frozen), then resumes.
#   2. ck1: `ctr task checkpoint --exit` succeeds, the task is STOPPED and the counter stops.
#   3. ck2: `ctr containers checkpoint --task --rw` (spec, runtime, rw layer and the task); ck2
#      is removed, and `ctr containers restore --live --rw ck3` (the shim: `restore ...
#      -no-subreaper`) brings its process back: same random id, a number larger than at the
#      checkpoint, the file in its rootfs, RUNNING, in ck2's cgroup, berth's state says running.
# ctr 1.6 has no `run --checkpoint` or `task start --checkpoint`: its restore is `containers
# restore`, given a container checkpoint (`containers checkpoint --task`, the format it reads
# back: image name, runtime, spec, rw layer, CRIU images). containerd 1.6 fails a second checkpoint of a
# container while the first one's spec blob is still in the content store: see step 2.
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1 (as test_vm_smoke.sh),
# BERTH_CTRD_TRACE=1 (a wrapper logs every command line the shim gives berth; printed at the
# end). Exit: 0 pass, 1 fail, 2 VM error, 77 skipped.
set -uo pipefail

NS="berth-vm"
IMG=localhost/berth-busybox:latest
SHARED=/tmp/ctrd-shared

host_main() {
	local here repo vm_dir results berth guest_berth start
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init ctrd containerd ctr containerd-shim-runc-v2 tar gzip sha256sum

	bash "$repo/scripts/make-oci-image.sh" "$results/busybox.tar" >/dev/null ||
		{ echo "FAIL: make-oci-image.sh"; exit 1; }

	vm_host_guest_berth

	vm_host_boot "" --timeout 300 --env "BERTH=$guest_berth" --env "BERTH_CTRD_TRACE=${BERTH_CTRD_TRACE:-}"
	exit
}

# ---------------------------------------------------------------- in the guest

# ctrc ARGS...: ctr against the test's containerd and namespace (through cap: OUT, ERR, RC).
ctrc() { cap ctr -a "$SOCK" -n "$NS" "$@"; }

# task_field ID COLUMN: PID (2) or STATUS (3) of a task in `ctr task ls`, empty if none.
task_field() {
	ctr -a "$SOCK" -n "$NS" task ls 2>/dev/null | awk -v id="$1" -v c="$2" 'NR > 1 && $1 == id { print $c }'
}

# wait_task ID STATUS: poll `ctr task ls` (at most ~30 s) until the task has STATUS; prints the last.
wait_task() {
	local st=""
	for _ in $(seq 150); do
		st=$(task_field "$1" 3)
		[ "$st" = "$2" ] && break
		sleep 0.2
	done
	echo "$st"
}

# read_counter: the current "<id> <n>" of $SHARED/counter (retried: a write truncates it first).
read_counter() {
	local line=""
	for _ in $(seq 20); do
		line=$(cat "$SHARED/counter" 2>/dev/null)
		[ -n "$line" ] && break
		sleep 0.05
	done
	echo "$line"
}

# frozen CGROUP: the "frozen" value of a cgroup v2 directory's cgroup.events (empty if none).
frozen() { awk '$1 == "frozen" { print $2 }' "/sys/fs/cgroup$1/cgroup.events" 2>/dev/null; }

# save_logs ID: berth's log.json and CRIU's logs (the shim's work dir is a link into containerd's
# root) into the results share, with their last errors.
save_logs() {
	local b=$CT/state/io.containerd.runtime.v2.task/$NS/$1 d=$BERTH_VM_RESULTS/logs-$1 f p
	mkdir -p "$d"
	find -L "$b" -maxdepth 3 \( -name '*.log' -o -name log.json \) -exec cp {} "$d/" \; 2>/dev/null
	for f in dump.log restore.log; do
		if [ -s "$d/$f" ]; then tail -n 3 "$d/$f" | sed "s/^/#   $f: /"; fi
	done
	tail -n 3 "$d/log.json" 2>/dev/null | sed 's/^/#   log.json: /'
	for p in $(pgrep -f 'berth|criu'); do echo "#   ps: $p $(cat "/proc/$p/wchan" 2>/dev/null) $(tr "\0" " " <"/proc/$p/cmdline" 2>/dev/null)"; done
	info "logs of $1 saved in $d (on the host with BERTH_VM_KEEP=1)"
}

start_containerd() {
	local t=${EPOCHREALTIME/./}
	mkdir -p "$FIFO"
	ctrd_start "$CT" "$SOCK"
	if ! ctrd_wait "$SOCK" 120; then
		tail -n 20 "$CT/containerd.log"
		cp "$CT/containerd.log" "$BERTH_VM_RESULTS/" 2>/dev/null
		die "containerd did not come up on $SOCK"
	fi
	info "containerd $(containerd --version | awk '{print $3}') up in $(ms_since "$t") (pid $CTRD_PID)"
}

# run_counter ID: `ctr run -d` of the counter container ID through berth; checks it runs.
run_counter() {
	# shellcheck disable=SC2016 # expanded by the container's shell
	local script='id=$(cat /proc/sys/kernel/random/uuid); i=0
while :; do i=$((i+1)); echo "$id $i" >/tmp/counter; echo "$id $i" >/shared/counter; sleep 0.1; done'
	local t=${EPOCHREALTIME/./}
	rm -f "$SHARED/counter"
	ctrc run -d --fifo-dir "$FIFO" --runc-binary "$RUNTIME" \
		--mount "type=bind,src=$SHARED,dst=/shared,options=rbind:rw" "$IMG" "$1" sh -c "$script"
	info "ctr run -d $1 took $(ms_since "$t")"
	assert_ok "ctr run -d --runc-binary berth $1 (a counter)"
	[ "$RC" -eq 0 ] || { save_logs "$1"; die "run failed: $ERR"; }
	assert_eq "ctr task ls: $1 RUNNING" RUNNING "$(wait_task "$1" RUNNING)"
	assert_eq "berth runs it: its state.json (pidStartTime) in the shim's runtime root" true \
		"$(jq 'has("pidStartTime")' "/run/containerd/runc/$NS/$1/state.json" 2>/dev/null)"
	CG=$(jq -r .linux.cgroupsPath "$CT/state/io.containerd.runtime.v2.task/$NS/$1/config.json" 2>/dev/null)
	info "$1 counts: $(wait_counter "$SHARED/counter" 5); cgroup $CG"
}

# gone ID: kill, delete the task and the container; checks nothing of it is left.
gone() {
	local cg=$CG
	ctrc task kill -s SIGKILL "$1"
	wait_task "$1" STOPPED >/dev/null
	ctrc task delete "$1"
	assert_ok "ctr task delete $1"
	ctrc containers rm "$1"
	assert_ok "ctr containers rm $1"
	assert_false "its cgroup is gone" test -e "/sys/fs/cgroup$cg"
	assert_false "its state is gone from the runtime root" test -e "/run/containerd/runc/$NS/$1"
}

# ck_check DESC ID: assert the last ctr call succeeded; otherwise save the logs, and stop the test
# when it hung (a stuck CRIU would make every later step wait for the same timeout).
ck_check() {
	assert_ok "$1"
	[ "$RC" -eq 0 ] && return 0
	save_logs "$2"
	[ "$RC" -ne 124 ] || die "$1 did not finish within ${VM_CMD_TIMEOUT}s"
}

# criu_blob IMAGE: the digest of the CRIU tarball in a checkpoint image's index (empty if none).
criu_blob() {
	local digest
	digest=$(ctr -a "$SOCK" -n "$NS" images ls 2>/dev/null | awk -v n="$1" 'NR > 1 && $1 == n { print $3 }')
	[ -n "$digest" ] || return 0
	ctr -a "$SOCK" -n "$NS" content get "$digest" 2>/dev/null |
		jq -r '.manifests[] | select(.mediaType == "application/vnd.containerd.container.criu.checkpoint.criu.tar") | .digest' 2>/dev/null
}

# criu_files DIGEST: the file names in a CRIU tarball of the content store, on one line.
criu_files() { ctr -a "$SOCK" -n "$NS" content get "$1" 2>/dev/null | tar -t 2>/dev/null | xargs; }

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	# From the repository, or beside the script where run-vm.sh copied both (a repo under /tmp).
	local ctrd_lib
	ctrd_lib=$(dirname "${BASH_SOURCE[0]}")/../lib/containerd.sh
	[ -e "$ctrd_lib" ] || ctrd_lib=$(dirname "${BASH_SOURCE[0]}")/containerd.sh
	# shellcheck source=tests/lib/containerd.sh
	. "$ctrd_lib"
	vm_setup
	# A checkpoint here takes seconds: a hang is reported within 90 s, not 120.
	VM_CMD_TIMEOUT=${BERTH_VM_CMD_TIMEOUT:-90}
	local t line before after at id n img blob pid ref=localhost/ck2-checkpoint:1
	vm_criu_setup
	CT=$VM_TMP/ctrd SOCK=$VM_TMP/ctrd/containerd.sock FIFO=$VM_TMP/ctrd/fifo RUNTIME=$BERTH
	mkdir -p "$SHARED" "$CT"
	if [ -n "${BERTH_CTRD_TRACE:-}" ]; then
		RUNTIME=$CT/berth-trace
		printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>%q\nexec %q "$@"\n' "$CT/berth-argv.log" "$BERTH" >"$RUNTIME"
		chmod 0755 "$RUNTIME"
	fi

	start_containerd
	t=${EPOCHREALTIME/./}
	ctrc images import "$BERTH_VM_RESULTS/busybox.tar"
	info "image import took $(ms_since "$t")"
	assert_ok "ctr images import of the OCI tarball built on the host"
	[ "$RC" -eq 0 ] || die "import failed: $ERR"

	# 1. ctr task checkpoint: the shim pauses, runs `checkpoint --leave-running`, resumes
	run_counter ck1
	t=${EPOCHREALTIME/./}
	ctrc task checkpoint ck1
	info "ctr task checkpoint took $(ms_since "$t")"
	ck_check "ctr task checkpoint ck1" ck1
	img=$(tail -n 1 <<<"$OUT")
	info "checkpoint image: $img"
	assert_match "it prints the checkpoint image's name" "^containerd.io/checkpoint/ck1:" "$img"
	ctrc images ls
	assert_contains "ctr images ls lists it with containerd's checkpoint label" \
		"$(awk -v n="$img" 'NR > 1 && $1 == n' <<<"$OUT")" "containerd.io/checkpoint=true"
	blob=$(criu_blob "$img")
	assert_match "its index holds a CRIU checkpoint tarball" "^sha256:" "$blob"
	assert_contains "the tarball holds CRIU's inventory.img" "$(criu_files "$blob")" inventory.img
	assert_eq "after it ctr task ls says RUNNING (not PAUSED)" RUNNING "$(task_field ck1 3)"
	assert_eq "the container's cgroup is thawed (cgroup.events: frozen 0)" 0 "$(frozen "$CG")"
	assert_eq "berth state says running" running \
		"$("$BERTH" --root "/run/containerd/runc/$NS" state ck1 2>/dev/null | jq -r .status)"
	before=$(read_counter)
	after=$(wait_counter "$SHARED/counter" $((${before##* } + 3)))
	assert_true "it keeps counting ($before -> $after)" test "${after##* }" -gt "${before##* }"

	# The same by hand: a paused container stays paused after `berth checkpoint --leave-running`
	# (CRIU freezes through its cgroup and restores the frozen state), then resumes.
	ctrc task pause ck1
	assert_ok "ctr task pause ck1"
	t=${EPOCHREALTIME/./}
	cap "$BERTH" --root "/run/containerd/runc/$NS" checkpoint --leave-running --image-path "$VM_TMP/img-paused" \
		--work-path "$VM_TMP/work-paused" ck1
	info "berth checkpoint --leave-running of the paused ck1 took $(ms_since "$t")"
	assert_ok "berth checkpoint --leave-running of a paused container"
	[ "$RC" -eq 0 ] || tail -n 5 "$VM_TMP/work-paused/dump.log" 2>/dev/null
	assert_true "its images hold an inventory" test -s "$VM_TMP/img-paused/inventory.img"
	assert_eq "it is still frozen after the checkpoint" 1 "$(frozen "$CG")"
	assert_eq "berth state says paused" paused \
		"$("$BERTH" --root "/run/containerd/runc/$NS" state ck1 2>/dev/null | jq -r .status)"
	ctrc task resume ck1
	assert_ok "ctr task resume ck1"
	before=$(read_counter)
	after=$(wait_counter "$SHARED/counter" $((${before##* } + 3)))
	assert_true "after resume it counts again ($before -> $after)" test "${after##* }" -gt "${before##* }"

	# containerd 1.6 fails a second checkpoint of a container while the first one's spec blob
	# exists ("content sha256:...: already exists", from the task service's writeContent; later
	# versions ignore it): remove the first image and its blobs before the next one.
	ctrc images rm --sync "$img"
	assert_ok "ctr images rm --sync of the checkpoint image"

	# 2. ctr task checkpoint --exit: a final dump, the task stops
	t=${EPOCHREALTIME/./}
	ctrc task checkpoint --exit ck1
	info "ctr task checkpoint --exit took $(ms_since "$t")"
	ck_check "ctr task checkpoint --exit ck1" ck1
	img=$(tail -n 1 <<<"$OUT")
	assert_eq "after --exit ctr task ls says STOPPED" STOPPED "$(wait_task ck1 STOPPED)"
	line=$(read_counter)
	sleep 1
	assert_eq "the counter stopped with it" "$line" "$(read_counter)"
	blob=$(criu_blob "$img")
	assert_contains "the --exit checkpoint image ($img) holds CRIU's inventory.img" \
		"$(criu_files "$blob")" inventory.img
	gone ck1

	# 3. a container checkpoint with the task (spec, runtime, rw layer: what restore needs),
	# then the container is removed and restored from it as ck3
	run_counter ck2
	before=$(read_counter)
	t=${EPOCHREALTIME/./}
	ctrc containers checkpoint --task --rw ck2 "$ref"
	info "ctr containers checkpoint --task --rw took $(ms_since "$t")"
	ck_check "ctr containers checkpoint --task --rw ck2" ck2
	at=$(read_counter)
	info "counter around the container checkpoint: '$before' .. '$at'"
	assert_eq "after it ck2 is RUNNING" RUNNING "$(task_field ck2 3)"
	assert_eq "and thawed" 0 "$(frozen "$CG")"
	blob=$(criu_blob "$ref")
	assert_contains "$ref holds a CRIU tarball with inventory.img" "$(criu_files "$blob")" inventory.img
	gone ck2

	t=${EPOCHREALTIME/./}
	ctrc containers restore --live --rw ck3 "$ref"
	info "ctr containers restore --live --rw took $(ms_since "$t")"
	ck_check "ctr containers restore --live --rw ck3 $ref" ck3
	assert_eq "ctr task ls: ck3 RUNNING" RUNNING "$(wait_task ck3 RUNNING)"
	line=$(wait_counter "$SHARED/counter" $((${at##* } + 3)))
	id=${line% *} n=${line##* }
	info "at the checkpoint: '$before' .. '$at'; after the restore: '$line'"
	assert_eq "the restored process has the same random id" "${at% *}" "$id"
	assert_true "it counted on from ${before##* } (now $n), not from 0" test "${n:-0}" -gt "${before##* }"
	assert_match "the file in its rootfs too (the rw layer came back)" "^${at% *} [0-9]+\$" \
		"$(ctr -a "$SOCK" -n "$NS" task exec --fifo-dir "$FIFO" --exec-id rd ck3 cat /tmp/counter 2>&1)"
	pid=$(task_field ck3 2)
	assert_eq "berth state says running, with the task's pid" "running $pid" \
		"$("$BERTH" --root "/run/containerd/runc/$NS" state ck3 2>/dev/null | jq -r '"\(.status) \(.pid)"')"
	assert_contains "the restored init is in the container's cgroup ($CG, from ck2's spec)" \
		"$(cat "/sys/fs/cgroup$CG/cgroup.procs" 2>&1)" "$pid"
	gone ck3
	assert_eq "nothing is left in the runtime root" "" "$(ls "/run/containerd/runc/$NS" 2>/dev/null)"

	if [ -s "$CT/berth-argv.log" ]; then
		info "berth command lines (BERTH_CTRD_TRACE):"
		sed -E -e 's/^--root [^ ]+ --log [^ ]+ --log-format json /[--root --log --log-format json] /' \
			-e 's/^/#   /' "$CT/berth-argv.log"
	fi
	finish
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

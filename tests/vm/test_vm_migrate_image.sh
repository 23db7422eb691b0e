#!/bin/bash
# tests/vm/test_vm_migrate_image.sh: migrating a `run --image` container with one archive that
# carries only its filesystem changes (the overlay upper dir), on Debian's 6.1 kernel (CRIU 3.17
# does not run on the host's 6.18). Two boots, each with its own state root, cgroup tree and image
# store, as two hosts would be:
#   boot 1 (dump): the Alpine minirootfs is imported; a container from it counts in a loop
#     ("<random id> <n>" into /tmp/counter) after creating /root/created, deleting /etc/motd (a
#     file of the image) and replacing /etc/apk/keys by a directory of its own (an opaque dir);
#     `checkpoint --export FILE` (no --export-rootfs) writes the archive: upper/ with the whiteout
#     and the opaque xattr, no rootfs/, far smaller than the image's rootfs; the container and its
#     store directory are gone.
#   boot 2 (restore): into a FRESH store, `restore --import` is refused while the image is missing
#     (naming it and `image import`), and for a damaged archive, each leaving nothing; after the
#     image is imported (another manifest digest: the same layers), the restore brings the process
#     back (same id, larger number) on the image plus the changes (created file there, deleted file
#     still gone, the opaque dir without the image's keys); `delete` leaves no mount, no store
#     directory, no cgroup, no state.
# Host environment: BERTH, BERTH_VM_DIR, BERTH_VM_KEEP=1, BERTH_SHARED (default ../shared of the
# repository). Exit: 0 pass, 1 fail, 2 VM error, 77 skipped.
set -uo pipefail

CG_PATH=/berth-vm/mig
IMAGE=alpine:3.20.3

host_main() {
	local here repo vm_dir results berth guest_berth start phase alpine
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/vm/host-lib.sh
	. "$here/host-lib.sh"
	vm_host_init mig
	alpine=${BERTH_SHARED:-$repo/../shared}/images/alpine-minirootfs-3.20.3-x86_64.tar.gz
	[ -r "$alpine" ] || { echo "SKIP: no Alpine minirootfs at $alpine"; exit 77; }
	alpine=$(realpath "$alpine")

	# The guest sees the host's / read-only, but not its /tmp: the tarball is read where it is
	# unless it lives under /tmp or /run.
	case "$alpine" in /tmp/* | /run/*) cp "$alpine" "$results/alpine.tar.gz" && alpine=/berth-results/alpine.tar.gz ;; esac
	vm_host_guest_berth

	for phase in dump restore; do
		vm_host_boot "$phase" --timeout 300 --env "BERTH=$guest_berth" --env "MIG_PHASE=$phase" --env "ALPINE=$alpine" ||
			exit
	done
	exit 0
}

# ---------------------------------------------------------------- in the guest

# b ARGS...: berth with this boot's state root and store.
b() { cap "$BERTH" --root "$ROOT" --storage "$STORE" "$@"; }

# xattr_of ARCHIVE MEMBER NAME: the pax xattr NAME of MEMBER (python3's tarfile), or "-".
xattr_of() {
	python3 - "$1" "$2" "$3" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmember(sys.argv[2])
    print(m.pax_headers.get("SCHILY.xattr." + sys.argv[3], "-"))
EOF
}

# nothing_left ID WHAT: no state, store directory, mount or cgroup of container ID.
nothing_left() {
	assert_false "$2: no state dir" test -e "$ROOT/$1"
	assert_false "$2: no store dir" test -e "$STORE/containers/$1"
	assert_not_contains "$2: no mount" "$(cat /proc/self/mountinfo)" "/containers/$1/"
	assert_false "$2: no cgroup" test -e "/sys/fs/cgroup$CG_PATH"
}

guest_dump() {
	local t line digest layer_kb archive_kb listing
	ROOT=$VM_TMP/state STORE=$VM_TMP/store
	b image import "${ALPINE:?}" --name "$IMAGE"
	assert_ok "image import $IMAGE"
	[ "$RC" -eq 0 ] || die "image import failed: $ERR"
	digest=$("$BERTH" --storage "$STORE" image inspect "$IMAGE" | jq -r .digest)
	echo "$digest" >"$BERTH_VM_RESULTS/digest-1"
	layer_kb=$(du -sk "$STORE"/layers | cut -f1)
	echo "$layer_kb" >"$BERTH_VM_RESULTS/layer-kb"
	info "image $IMAGE: $digest, unpacked $layer_kb KiB"

	# shellcheck disable=SC2016 # expanded by the container's shell
	local script='id=$(cat /proc/sys/kernel/random/uuid); echo "created $id" >/root/created; rm /etc/motd
rm -rf /etc/apk/keys; mkdir /etc/apk/keys; echo mine >/etc/apk/keys/mine; i=0
while :; do i=$((i+1)); echo "$id $i" >/tmp/counter; sleep 0.1; done'
	# The container's stdio is /dev/null: run -d prints the id to its own stdout, which the
	# container inherits, and CRIU refuses to hand a regular file of another size back at restore.
	"$BERTH" --root "$ROOT" --storage "$STORE" run --image "$IMAGE" -d --name mig1 --cgroups-path "$CG_PATH" \
		sh -c "$script" </dev/null >/dev/null 2>"$VM_TMP/run.err"
	RC=$? ERR=$(cat "$VM_TMP/run.err")
	assert_ok "run --image $IMAGE -d --name mig1"
	[ "$RC" -eq 0 ] || die "run failed: $ERR"
	local rootfs=$STORE/containers/mig1/rootfs
	line=$(wait_counter "$rootfs/tmp/counter" 5)
	info "counter before the checkpoint: $line"
	assert_false "the container deleted /etc/motd" test -e "$rootfs/etc/motd"

	t=${EPOCHREALTIME/./}
	b checkpoint --export "$BERTH_VM_RESULTS/mig.tar" --work-path "$VM_TMP/work" mig1
	info "checkpoint --export took $(ms_since "$t")"
	assert_ok "checkpoint --export FILE (no --export-rootfs)"
	[ "$RC" -eq 0 ] || { info "$ERR"; tail -n 30 "$VM_TMP/work/dump.log" 2>/dev/null; die "no archive"; }
	# The rootfs is gone with the container: the number at the checkpoint is in the archive.
	line=$(tar -xOf "$BERTH_VM_RESULTS/mig.tar" upper/tmp/counter 2>/dev/null)
	echo "$line" >"$BERTH_VM_RESULTS/at-checkpoint"
	archive_kb=$(($(stat -c %s "$BERTH_VM_RESULTS/mig.tar") / 1024))
	info "counter at the checkpoint: '$line'; archive $archive_kb KiB, image rootfs $layer_kb KiB"
	assert_match "the archive holds the counter" '^[0-9a-f-]{36} [0-9]+$' "$line"

	listing=$(tar -tvf "$BERTH_VM_RESULTS/mig.tar" 2>&1)
	assert_contains "the archive has a manifest" "$listing" " manifest.json"
	assert_contains "the archive has the CRIU images" "$listing" " checkpoint/inventory.img"
	assert_contains "the archive has the created file in upper/" "$listing" " upper/root/created"
	assert_true "the deleted file is a whiteout (0:0 char device)" \
		grep -qE '^c[-rwx]{9} .* 0,0 .*upper/etc/motd$' <<<"$listing"
	assert_not_contains "the archive carries no rootfs/" "$listing" " rootfs/"
	assert_not_contains "the archive has none of the image's untouched files" "$listing" "upper/bin/busybox"
	if command -v python3 >/dev/null 2>&1; then
		assert_eq "the replaced directory is opaque in the archive" y \
			"$(xattr_of "$BERTH_VM_RESULTS/mig.tar" upper/etc/apk/keys trusted.overlay.opaque 2>&1)"
	fi
	local manifest
	manifest=$(tar -xOf "$BERTH_VM_RESULTS/mig.tar" manifest.json)
	assert_eq "manifest: hasUpper" true "$(jq -r .hasUpper <<<"$manifest")"
	assert_eq "manifest: hasRootfs" false "$(jq -r .hasRootfs <<<"$manifest")"
	assert_eq "manifest: image" "$IMAGE" "$(jq -r .image <<<"$manifest")"
	assert_eq "manifest: imageDigest" "$digest" "$(jq -r .imageDigest <<<"$manifest")"
	assert_match "manifest: imageChainId" '^sha256:[0-9a-f]{64}$' "$(jq -r .imageChainId <<<"$manifest")"
	assert_true "the archive ($archive_kb KiB) is far smaller than the image's rootfs ($layer_kb KiB)" \
		test $((archive_kb * 4)) -lt "$layer_kb"

	b state mig1
	assert_rc "after the checkpoint the container is gone" 1
	nothing_left mig1 "after the checkpoint"

	# A plain bundle has no upper dir: --export alone is refused before CRIU stops it.
	mkdir -p "$VM_TMP/plain/rootfs"
	cp -a "$STORE/layers/"*/. "$VM_TMP/plain/rootfs/"
	"$BERTH" spec -b "$VM_TMP/plain" >/dev/null 2>&1
	jq --arg cg "$CG_PATH" '.process.terminal = false | .process.args = ["sleep", "1000"]
		| .linux.cgroupsPath = $cg' "$VM_TMP/plain/config.json" >"$VM_TMP/plain/c.json" &&
		mv "$VM_TMP/plain/c.json" "$VM_TMP/plain/config.json"
	b run -d -b "$VM_TMP/plain" plain1
	assert_ok "run -d a plain bundle"
	b checkpoint --export "$VM_TMP/plain.tar" plain1
	assert_rc "checkpoint --export of a plain bundle without --export-rootfs is refused" 1
	assert_contains "it says to add --export-rootfs" "$ERR" "--export-rootfs"
	assert_false "no archive was written" test -e "$VM_TMP/plain.tar"
	assert_eq "the container still runs" running "$("$BERTH" --root "$ROOT" state plain1 2>/dev/null | jq -r .status)"
	b delete --force plain1
	assert_ok "delete --force plain1"
}

guest_restore() {
	local t at line id n digest bad_rc
	ROOT=$VM_TMP/state2 STORE=$VM_TMP/store2
	at=$(cat "$BERTH_VM_RESULTS/at-checkpoint")
	[ -s "$BERTH_VM_RESULTS/mig.tar" ] || die "no archive from the first boot"

	# The image is not in this store (there is no store yet): refused, naming it.
	b restore --import "$BERTH_VM_RESULTS/mig.tar" --name mig2 --detach
	assert_rc "without the image the restore is refused" 1
	info "missing image: $ERR"
	assert_contains "the error names the image" "$ERR" "image \"$IMAGE\""
	assert_contains "the error says how to import it" "$ERR" "image import"
	nothing_left mig2 "missing image"

	# The same rootfs imported here: another manifest digest (its config is made now), same layers.
	b image import "${ALPINE:?}" --name "$IMAGE"
	assert_ok "image import $IMAGE into a fresh store"
	digest=$("$BERTH" --storage "$STORE" image inspect "$IMAGE" | jq -r .digest)
	info "image digest here $digest, at the checkpoint $(cat "$BERTH_VM_RESULTS/digest-1")"

	# A damaged archive (cut short after the manifest): refused, nothing left.
	head -c $(($(stat -c %s "$BERTH_VM_RESULTS/mig.tar") / 2)) "$BERTH_VM_RESULTS/mig.tar" >"$VM_TMP/bad.tar"
	b restore --import "$VM_TMP/bad.tar" --name mig2 --detach
	bad_rc=$RC
	assert_rc "a damaged archive is refused" 1
	info "damaged archive: $ERR"
	nothing_left mig2 "damaged archive"
	[ "$bad_rc" -eq 1 ] || b delete --force mig2

	mkdir -p "$VM_TMP/work"
	t=${EPOCHREALTIME/./}
	b restore --import "$BERTH_VM_RESULTS/mig.tar" --name mig2 --work-path "$VM_TMP/work" \
		--pid-file "$VM_TMP/mig2.pid" --detach
	info "restore --import took $(ms_since "$t")"
	assert_ok "restore --import --name mig2"
	[ "$RC" -eq 0 ] || { info "$ERR"; cp "$VM_TMP/work/restore.log" "$BERTH_VM_RESULTS/" 2>/dev/null; die "restore failed"; }
	local rootfs=$STORE/containers/mig2/rootfs
	assert_contains "the rootfs is an overlay mount" "$(grep " $rootfs " /proc/self/mountinfo)" " - overlay "
	line=$(wait_counter "$rootfs/tmp/counter" $((${at##* } + 5)))
	id=${line% *} n=${line##* }
	info "at the checkpoint: '$at'; after the restore: '$line'"
	assert_eq "the restored process has the same random id" "${at% *}" "$id"
	assert_true "it counted on from ${at##* } (now $n), not from 0" test "${n:-0}" -gt "${at##* }"
	assert_eq "the file it created is there" "created $id" "$(cat "$rootfs/root/created" 2>&1)"
	assert_false "the image's file it deleted is still gone" test -e "$rootfs/etc/motd"
	assert_eq "the directory it replaced holds only its own file" mine "$(ls "$rootfs/etc/apk/keys" 2>&1)"
	assert_eq "the image's other files are there" 3.20.3 "$(cat "$rootfs/etc/alpine-release" 2>&1)"
	assert_eq "state says running" running "$("$BERTH" --root "$ROOT" state mig2 2>/dev/null | jq -r .status)"
	assert_contains "the restored init is in the container's cgroup" \
		"$(cat "/sys/fs/cgroup$CG_PATH/cgroup.procs" 2>&1)" "$(cat "$VM_TMP/mig2.pid" 2>&1)"
	assert_eq "the record points at this store" "$rootfs" \
		"$(jq -r '.annotations["berth.image.rootfs"]' "$STORE/containers/mig2/config.json" 2>&1)"

	b kill mig2 KILL
	assert_ok "kill mig2 KILL"
	for _ in $(seq 50); do
		[ "$("$BERTH" --root "$ROOT" state mig2 2>/dev/null | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	b delete mig2
	assert_ok "delete mig2"
	nothing_left mig2 "after delete"
}

guest_main() {
	# shellcheck source=tests/vm/guest-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
	vm_phase_main MIG_PHASE
}

if [ -n "${BERTH_VM_GUEST:-}" ]; then
	guest_main
else
	host_main
fi

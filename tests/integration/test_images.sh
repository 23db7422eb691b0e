#!/bin/bash
# The image store through the real binary: import of an OCI image-layout tarball (built by
# scripts/make-oci-image.sh, and converted by skopeo when it is installed), of a `docker save`
# archive built here (two layers, a whiteout and an opaque directory), and of the Alpine
# minirootfs as a plain rootfs tarball (skipped when ../shared has none); `run --image` with and
# without --rm, -d, -e/-w/-u; image ls/inspect/tag/rm/export (export re-imports to the same
# digest); rm refused while a container uses the image; no overlay mount and no container
# directory left after delete; `image unpack` bundles that berth (and runc) run; hostile and
# broken archives refused, leaving no image and nothing outside the store; concurrent imports.
#
# Safety: every store is a directory below the test's temp dir (--storage), every container has
# --cgroups-path /berth-test/<id> and the test's private --root; only mounts below the temp dir
# are ever checked or cleaned up (lib.sh).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd tar gzip jq sha256sum

STORE=$(mktemp -d "$TEST_TMP/store.XXXXXX")
WORK=$TEST_TMP/work
mkdir -p "$WORK"

# bi ARGS...: berth --root <private> --storage $STORE ARGS...
bi() { b --storage "$STORE" "$@"; }

# run_image ID ARGS...: run --image with the test's cgroup and marker variable.
run_image() {
	local id=$1
	shift
	bi run --name "$id" --cgroups-path "/berth-test/$id" -e "$MARK" "$@"
}

overlay_mounts() { # mount points of this store's containers
	awk -v d="$STORE/containers/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

blob_count() { find "$STORE/blobs/sha256" -type f | wc -l; }

# ---------------------------------------------------------------- building archives

# layer_tar DIR OUT: a reproducible, numeric-owner tar of DIR's content.
layer_tar() {
	tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -cf "$2" .
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# docker_archive OUT TAG LAYER_TAR...: a `docker save` archive (manifest.json, <id>.json config,
# <n>/layer.tar) of the given uncompressed layer tars, base first.
docker_archive() {
	local out=$1 tag=$2 dir diff_ids="" layers="" i=0 l cfg
	local -a dirs=()
	shift 2
	dir=$(mktemp -d "$WORK/docker.XXXXXX")
	for l in "$@"; do
		mkdir -p "$dir/layer$i"
		cp "$l" "$dir/layer$i/layer.tar"
		diff_ids+="\"sha256:$(sha "$l")\","
		layers+="\"layer$i/layer.tar\","
		dirs+=("layer$i")
		i=$((i + 1))
	done
	jq -cn --argjson d "[${diff_ids%,}]" '{architecture: "amd64", os: "linux",
		created: "2024-01-02T03:04:05Z",
		config: {Env: ["PATH=/usr/bin:/bin", "FROM_IMAGE=yes"], Cmd: ["sh", "-c", "echo default-cmd"],
			 WorkingDir: "/work", Labels: {"org.example.label": "v1"}},
		rootfs: {type: "layers", diff_ids: $d}}' >"$dir/config.json"
	cfg=$(sha "$dir/config.json")
	mv "$dir/config.json" "$dir/$cfg.json"
	jq -cn --arg c "$cfg.json" --arg t "$tag" --argjson l "[${layers%,}]" \
		'[{Config: $c, RepoTags: [$t], Layers: $l}]' >"$dir/manifest.json"
	tar -C "$dir" -cf "$out" manifest.json "$cfg.json" "${dirs[@]}"
}

# oci_archive OUT: a one-layer busybox OCI image-layout tarball named localhost/bb:1.
oci_archive() {
	if [ -x "$BERTH_SRC/scripts/make-oci-image.sh" ]; then
		"$BERTH_SRC/scripts/make-oci-image.sh" --rootfs "$(busybox_rootfs)" --name localhost/bb --tag 1 \
			--cmd echo --cmd oci-default "$1" >/dev/null || die "make-oci-image.sh failed"
		return
	fi
	# Without the script: the same by hand.
	local d layer cfg man
	d=$(mktemp -d "$WORK/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	layer_tar "$(busybox_rootfs)" "$d/layer.tar"
	local diff; diff=$(sha "$d/layer.tar")
	gzip -n "$d/layer.tar"
	layer=$(sha "$d/layer.tar.gz")
	mv "$d/layer.tar.gz" "$d/blobs/sha256/$layer"
	jq -cn --arg d "sha256:$diff" '{architecture: "amd64", os: "linux", config: {Cmd: ["echo", "oci-default"]},
		rootfs: {type: "layers", diff_ids: [$d]}}' >"$d/c.json"
	cfg=$(sha "$d/c.json")
	jq -cn --arg c "sha256:$cfg" --argjson cs "$(stat -c %s "$d/c.json")" --arg l "sha256:$layer" \
		--argjson ls "$(stat -c %s "$d/blobs/sha256/$layer")" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]}' >"$d/m.json"
	man=$(sha "$d/m.json")
	mv "$d/c.json" "$d/blobs/sha256/$cfg"
	jq -cn --arg m "sha256:$man" --argjson s "$(stat -c %s "$d/m.json")" '{schemaVersion: 2, manifests: [{
		mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $s,
		annotations: {"io.containerd.image.name": "localhost/bb:1", "org.opencontainers.image.ref.name": "1"}}]}' \
		>"$d/index.json"
	mv "$d/m.json" "$d/blobs/sha256/$man"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$1" oci-layout index.json blobs
}

# ---------------------------------------------------------------- OCI image layout

info "OCI image-layout tarball"
oci_archive "$WORK/bb.tar"
bi image import "$WORK/bb.tar"
assert_ok "import the OCI archive"
assert_match "import prints the name and digest" '^localhost/bb:1 sha256:[0-9a-f]{64}$' "$OUT"
BB_DIGEST=${OUT#* }
bi image ls
assert_contains "image ls lists it" "$OUT" "localhost/bb"
new_id oci
run_image "$ID" --rm --image bb:1
assert_ok "run --rm --image bb:1 (the image's Cmd)"
assert_eq "the image's Cmd ran" "oci-default" "$OUT"
assert_false "--rm left no container directory" test -e "$STORE/containers/$ID"
assert_false "--rm left no state dir" test -e "$ROOT/$ID"

# Several -v with relative sources (each keeps three strings: source, absolute source, target).
new_id vols
mkdir -p "$TEST_TMP/vol1" "$TEST_TMP/vol2" "$TEST_TMP/vol3"
echo one >"$TEST_TMP/vol1/f"
echo two >"$TEST_TMP/vol2/f"
echo three >"$TEST_TMP/vol3/f"
cd "$TEST_TMP" || die "cd $TEST_TMP"
run_image "$ID" --rm --image bb:1 -v vol1:/v1 -v vol2:/v2:ro -v vol3:/v3 \
	sh -c 'cat /v1/f /v2/f /v3/f; if echo x >/v2/g 2>/dev/null; then echo writable; fi'
cd - >/dev/null || die "cd back"
assert_ok "run --image with three relative -v"
assert_eq "run --image -v: all three volumes, the :ro one read-only" "one two three" "$(xargs <<<"$OUT")"

# ---------------------------------------------------------------- docker save, two layers

info "docker save archive: two layers with a whiteout and an opaque directory"
base=$WORK/base
mkdir -p "$base"
cp -a "$(busybox_rootfs)/." "$base/" && rm -f "$base/.complete"
mkdir -p "$base/etc/gone-dir/sub" "$base/opq" "$base/work"
echo old >"$base/etc/gone-file"
echo old >"$base/etc/gone-dir/sub/f"
echo lower >"$base/opq/lower-only"
echo kept >"$base/etc/kept"
layer_tar "$base" "$WORK/l1.tar"
top=$WORK/top
mkdir -p "$top/etc" "$top/opq"
echo new >"$top/etc/added"
: >"$top/etc/.wh.gone-file"
: >"$top/etc/.wh.gone-dir"
echo upper >"$top/opq/upper-only"
: >"$top/opq/.wh..wh..opq"
layer_tar "$top" "$WORK/l2.tar"
docker_archive "$WORK/docker.tar" "example.com/two:layers" "$WORK/l1.tar" "$WORK/l2.tar"
bi image import "$WORK/docker.tar"
assert_ok "import the docker archive"
assert_match "named from RepoTags" '^example.com/two:layers sha256:' "$OUT"
new_id two
# shellcheck disable=SC2016 # expanded by the container's shell
run_image "$ID" --rm --image example.com/two:layers sh -c \
	'ls /etc/gone-file /etc/gone-dir 2>&1; cat /etc/added /etc/kept; ls /opq; pwd; echo $FROM_IMAGE'
assert_ok "run the two-layer image"
assert_contains "whiteout hides a file" "$OUT" "/etc/gone-file: No such file"
assert_contains "whiteout hides a directory" "$OUT" "/etc/gone-dir: No such file"
assert_contains "the upper layer's file" "$OUT" "new"
assert_contains "the lower layer's file" "$OUT" "kept"
assert_not_contains "opaque dir hides the lower content" "$OUT" "lower-only"
assert_contains "opaque dir keeps its own layer's content" "$OUT" "upper-only"
assert_contains "WorkingDir from the image" "$OUT" "/work"
assert_contains "Env from the image" "$OUT" "yes"
bi image inspect example.com/two:layers
assert_ok "inspect"
assert_eq "inspect: two layers" "2" "$(jq '.layers | length' <<<"$OUT")"
assert_eq "inspect: the label" "v1" "$(jq -r '.config.config.Labels["org.example.label"]' <<<"$OUT")"

# ---------------------------------------------------------------- Alpine, a plain rootfs

ALPINE=$(alpine_tarball)
if [ -n "$ALPINE" ]; then
	info "Alpine minirootfs as a plain rootfs tarball"
	bi image import "$ALPINE" --name alpine:3.20.3
	assert_ok "import the Alpine tarball"
	bi image tag alpine:3.20.3 alpine:3.20
	assert_ok "tag alpine:3.20"
	new_id alp
	run_image "$ID" --rm --image alpine:3.20 cat /etc/alpine-release
	assert_ok "run --rm --image alpine:3.20"
	assert_eq "alpine-release" "3.20.3" "$OUT"
	new_id alp
	# shellcheck disable=SC2016 # expanded by the container's shell
	run_image "$ID" --rm --image alpine:3.20.3 -u nobody -w /tmp -e FOO=bar sh -c 'id -un; pwd; echo $FOO'
	assert_ok "run with -u/-w/-e"
	assert_eq "user, cwd and env overrides" "nobody
/tmp
bar" "$OUT"
else
	info "SKIP (section): no Alpine tarball in $BERTH_SHARED/images"
fi

# ---------------------------------------------------------------- ls, tag, export, rm

info "tag, export, re-import, rm"
bi image tag bb:1 other/name:v2
assert_ok "tag"
bi image ls --format json
assert_eq "json ls: one image carries both names" "2" \
	"$(jq --arg d "$BB_DIGEST" '[.[] | select(.digest == $d) | .names[]] | length' <<<"$OUT")"
bi image export other/name:v2 "$WORK/exported.tar"
assert_ok "export"
assert_true "the export is an OCI layout tarball" tar -tf "$WORK/exported.tar" oci-layout index.json
STORE2=$(mktemp -d "$TEST_TMP/store2.XXXXXX")
b --storage "$STORE2" image import "$WORK/exported.tar"
assert_ok "re-import the export into another store"
assert_eq "same manifest digest after export and import" "other/name:v2 $BB_DIGEST" "$OUT"
if command -v skopeo >/dev/null 2>&1; then
	cap skopeo copy "oci-archive:$WORK/exported.tar" "docker-archive:$WORK/skopeo-docker.tar:sk/opeo:1"
	assert_ok "skopeo reads the export"
	b --storage "$STORE2" image import "$WORK/skopeo-docker.tar"
	assert_ok "import skopeo's docker-archive"
	new_id sk
	cap "$BERTH" --root "$ROOT" --storage "$STORE2" run --rm --name "$ID" --cgroups-path "/berth-test/$ID" \
		-e "$MARK" --image sk/opeo:1 echo skopeo-ok
	assert_eq "run the skopeo-converted image" "skopeo-ok" "$OUT"
fi
bi image rm other/name:v2
assert_ok "rm one of two names"
bi image ls -q
assert_contains "the image stays under its other name" "$OUT" "$(jq -r '.config.digest' \
	"$STORE/blobs/sha256/${BB_DIGEST#sha256:}" | cut -c8-19)"

# ---------------------------------------------------------------- in use, delete, cleanup

info "rm while a container uses the image; delete removes the rootfs"
new_id busy
run_image "$ID" -d --image bb:1 sleep 60
assert_ok "run -d"
assert_eq "-d prints the id" "$ID" "$OUT"
BUSY=$ID
assert_eq "the container's rootfs is an overlay mount" "$STORE/containers/$BUSY/rootfs" "$(overlay_mounts)"
wait_status "$BUSY" running || fail "container $BUSY is not running"
bi image rm bb:1
assert_failed "rm refused while in use"
assert_contains "the error names the container" "$ERR" "in use by container \"$BUSY\""
bi image ls
assert_contains "the image is still listed" "$OUT" "localhost/bb"
bi delete --force "$BUSY"
assert_ok "delete --force"
assert_eq "no overlay mount left" "" "$(overlay_mounts)"
assert_false "the container directory is gone" test -e "$STORE/containers/$BUSY"
new_id keep
run_image "$ID" --image bb:1 echo kept-container
assert_ok "run without --rm"
assert_true "the stopped container keeps its directory" test -d "$STORE/containers/$ID/rootfs"
bi delete "$ID"
assert_ok "delete the stopped container"
assert_false "delete removed its directory" test -e "$STORE/containers/$ID"
bi image rm bb:1
assert_ok "rm once unused"
bi image rm example.com/two:layers
assert_ok "rm the docker image"

# ---------------------------------------------------------------- image unpack

info "image unpack: a bundle berth and runc run"
bi image import "$WORK/bb.tar"
new_id unp
bi image unpack bb:1 "$WORK/bundle" --cgroups-path "/berth-test/$ID"
assert_ok "image unpack"
assert_true "rootfs/bin/busybox" test -x "$WORK/bundle/rootfs/bin/busybox"
jq --arg m "$MARK" '.process.env += [$m] | .process.args = ["echo", "bundle-ok"]' "$WORK/bundle/config.json" \
	>"$WORK/bundle/config.new" && mv "$WORK/bundle/config.new" "$WORK/bundle/config.json"
b run --bundle "$WORK/bundle" "$ID"
assert_ok "berth run on the unpacked bundle"
assert_eq "its output" "bundle-ok" "$OUT"
if command -v runc >/dev/null 2>&1; then
	new_id runc
	jq --arg cg "/berth-test/$ID" '.linux.cgroupsPath = $cg' "$WORK/bundle/config.json" >"$WORK/bundle/config.new" &&
		mv "$WORK/bundle/config.new" "$WORK/bundle/config.json"
	cap runc --root "$TEST_TMP/runc" run --bundle "$WORK/bundle" "$ID"
	assert_ok "runc run on the unpacked bundle"
	assert_eq "runc's output" "bundle-ok" "$OUT"
	cap runc --root "$TEST_TMP/runc" delete --force "$ID"
fi

# ---------------------------------------------------------------- hostile and broken archives

info "hostile and broken archives"
IMAGES_BEFORE=$(jq -c '[.manifests[].digest]' "$STORE/index.json")
BLOBS_BEFORE=$(blob_count)
outside=$TEST_TMP/outside
mkdir -p "$outside"
echo precious >"$outside/victim"
mal=$WORK/mal
mkdir -p "$mal"
echo evil >"$mal/f"
# 1. a ".." entry
tar -C "$mal" -cPf "$WORK/dotdot.tar" --transform='s,^f$,../../outside/dotdot,' f 2>/dev/null
bi image import "$WORK/dotdot.tar" --name evil:dotdot
assert_failed "an archive with a .. entry is refused"
assert_contains "the error names the entry" "$ERR" '"../../outside/dotdot"'
# 2. a symlink to a host directory, then a file below it
ln -s "$outside" "$mal/link"
tar -C "$mal" -cPf "$WORK/symlink.tar" link
tar -C "$mal" -rPf "$WORK/symlink.tar" --transform='s,^f$,link/escaped,' f
bi image import "$WORK/symlink.tar" --name evil:symlink
assert_failed "writing below a symlink to a host path is refused"
assert_contains "the error names the entry" "$ERR" '"link/escaped"'
# 3. a symlink to "/", then a file below it: confined to the image's own root
rm "$mal/link" && ln -s / "$mal/link"
tar -C "$mal" -cPf "$WORK/rootlink.tar" link
tar -C "$mal" -rPf "$WORK/rootlink.tar" --transform="s,^f\$,link/${outside#/}/escaped," f
bi image import "$WORK/rootlink.tar" --name evil:rootlink
assert_ok "a symlink to / is followed inside the image only"
assert_eq "nothing was written outside" "victim" "$(ls "$outside")"
assert_eq "the victim is untouched" "precious" "$(cat "$outside/victim")"
bi image rm evil:rootlink
# 4. a symlink entry that replaces the root
rm "$mal/link" && ln -s / "$mal/dot"
tar -C "$mal" -cPf "$WORK/rootswap.tar" --transform='s,^dot$,.,' dot
bi image import "$WORK/rootswap.tar" --name evil:rootswap
assert_failed "a symlink replacing the root is refused"
assert_contains "the reason" "$ERR" "replace the root"
# 5. a blob whose content does not match its digest
d=$WORK/baddigest
mkdir -p "$d" && tar -C "$d" -xf "$WORK/bb.tar"
layer=$(jq -r '.layers[0].digest' "$d/blobs/sha256/$(jq -r '.manifests[0].digest' "$d/index.json" | cut -c8-)" | cut -c8-)
printf 'tampered' >>"$d/blobs/sha256/$layer"
tar -C "$d" -cf "$WORK/baddigest.tar" oci-layout index.json blobs
bi image import "$WORK/baddigest.tar" --name evil:digest
assert_failed "a tampered blob is refused"
assert_contains "the error names the blob" "$ERR" "$layer"
# 6. a manifest naming a missing blob
rm "$d/blobs/sha256/$layer"
tar -C "$d" -cf "$WORK/missing.tar" oci-layout index.json blobs
bi image import "$WORK/missing.tar" --name evil:missing
assert_failed "a missing blob is refused"
assert_contains "the error says it is missing" "$ERR" "missing"
# 7. a truncated archive
head -c $(($(stat -c %s "$WORK/docker.tar") / 2)) "$WORK/docker.tar" >"$WORK/truncated.tar"
bi image import "$WORK/truncated.tar" --name evil:truncated
assert_failed "a truncated archive is refused"
bi image ls --format json
assert_eq "no evil image is listed" "[]" "$(jq -c '[.[].names[] | select(startswith("evil"))]' <<<"$OUT")"
assert_eq "the index is as before" "$IMAGES_BEFORE" "$(jq -c '[.manifests[].digest]' "$STORE/index.json")"
assert_eq "no blob was added" "$BLOBS_BEFORE" "$(blob_count)"
assert_eq "no import left its temporary directory" "" "$(ls "$STORE/tmp")"

# ---------------------------------------------------------------- an interrupted import

info "an import killed half-way leaves no half image"
STORE4=$(mktemp -d "$TEST_TMP/store4.XXXXXX")
big=$WORK/big
mkdir -p "$big"
cp -a "$(busybox_rootfs)/." "$big/" && rm -f "$big/.complete"
for i in $(seq 1 40); do head -c 1048576 /dev/urandom >"$big/blob$i"; done
layer_tar "$big" "$WORK/big.tar"
b_bg --storage "$STORE4" image import "$WORK/big.tar" --name big:1
sleep 0.15
kill -9 "$BG_PID" 2>/dev/null
wait_bg 10
cap "$BERTH" --storage "$STORE4" image ls --format json
if [ "$(jq length <<<"$OUT")" = 0 ]; then
	pass "killed before the commit: no image"
	assert_ne "its temporary directory is left for the next import" "" "$(ls "$STORE4/tmp")"
else
	info "the import finished before the kill"
fi
cap "$BERTH" --storage "$STORE4" image import "$WORK/big.tar" --name big:1
assert_ok "the next import succeeds"
assert_eq "and removed the dead import's temporary directory" "" "$(ls "$STORE4/tmp")"
new_id big
cap "$BERTH" --root "$ROOT" --storage "$STORE4" run --rm --name "$ID" --cgroups-path "/berth-test/$ID" \
	-e "$MARK" --image big:1 sh -c 'ls /blob* | wc -l'
assert_eq "the image is complete" "40" "$OUT"

# ---------------------------------------------------------------- concurrency

info "concurrent imports and runs"
STORE3=$(mktemp -d "$TEST_TMP/store3.XXXXXX")
pids=()
for i in 1 2 3; do
	env "$MARK" "$BERTH" --storage "$STORE3" image import "$WORK/bb.tar" --name "par:$i" \
		>"$WORK/par$i.out" 2>&1 </dev/null &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
assert_eq "three concurrent imports succeed" "0" "$rc"
cap "$BERTH" --storage "$STORE3" image ls -q
assert_eq "one image" "1" "$(wc -l <<<"$OUT")"
assert_eq "one cached layer" "1" "$(find "$STORE3/layers" -mindepth 1 -maxdepth 1 | wc -l)"
pids=()
for i in 1 2 3; do
	new_id par
	env "$MARK" "$BERTH" --root "$ROOT" --storage "$STORE3" run --rm --name "$ID" \
		--cgroups-path "/berth-test/$ID" -e "$MARK" --image par:1 echo "par-$i" \
		>"$WORK/run$i.out" 2>&1 </dev/null &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
assert_eq "three concurrent runs succeed" "0" "$rc"
assert_eq "their output" "par-1 par-2 par-3" "$(cat "$WORK"/run{1,2,3}.out | tr '\n' ' ' | sed 's/ $//')"
assert_eq "no container directory left" "" "$(ls "$STORE3/containers")"
assert_eq "no overlay mount left below the test's directory" "" "$(mounts_below "$TEST_TMP" | tr '\n' ' ')"

finish

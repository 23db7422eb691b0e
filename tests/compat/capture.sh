#!/bin/bash
# shellcheck disable=SC2317 # functions called through traps
# shellcheck disable=SC2016 # backquotes in single quotes are README text
# tests/compat/capture.sh [OUTDIR]: capture the configs real clients write, as fixtures for
# tests/compat/run.sh (default OUTDIR: tests/compat/fixtures; it also writes OUTDIR/README.md,
# one line per fixture: how it was captured, with which tool version).
#
# Sources: `runc spec`, `runc spec --rootless`, `crun spec`, `berth spec`; containerd 1.6's
# runc-v2 shim for `ctr run` (plain, --seccomp, -t, --memory-limit, --mount) and podman 4.3
# for the flows of podman.sh. containerd and podman get a wrapper runtime that copies the
# bundle's config.json at `create` and then execs runc, so the captured config is exactly what
# the client gave the runtime.
#
# Normalisation (host-specific values only; see normalise below):
#   root.path                      -> "rootfs"
#   an absolute mount source that existed at capture time below a client's state (the test's
#   temp dir, /run/containerd, /var/lib/containerd, /run/containers)
#                                  -> "@dir@/<name>" or "@file@/<name>" (run.sh creates it)
#   linux.cgroupsPath              -> "@cgroup@"
#   linux.namespaces[].path        -> "@nspath@" (a pod member's infra namespaces, podman's netns)
#   podman's annotations io.kubernetes.cri-o.Created / .SandboxID -> "@created@" / "@sandboxid@"
#   any other string: the container id -> "@id@", its 12-char prefix -> "@shortid@", the temp
#   dir -> "@tmp@"
# Everything else (capabilities, seccomp, rlimits, masked paths, annotations) is kept as written.
#
# Runs as root in a private mount and network namespace of its own; containerd, podman and runc
# keep their state in its temp dir. Not a ctest test: run it by hand when a client changes and
# commit the result.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/compat/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib/containerd.sh
. "$(dirname "$0")/../lib/containerd.sh"

OUTDIR=${1:-$COMPAT_DIR/fixtures}
OUTDIR=$(mkdir -p "$OUTDIR" && cd "$OUTDIR" && pwd)
compat_private_ns net "$@"

require_cmd runc crun jq podman containerd ctr script
RAW=$TEST_TMP/raw
mkdir -p "$RAW"
README_LINES=()

# note NAME HOW VERSION: one README line.
note() { README_LINES+=("| \`$1.json\` | $2 | $3 |"); }

# normalise RAW-JSON SOURCES ID: the fixture on stdout (see the header).
normalise() {
	local raw=$1 sources=$2 id=$3 map
	map=$(awk -v tmp="$TEST_TMP" '
		index($2, tmp "/") == 1 || $2 ~ /^\/(run|var\/lib)\/(containerd|containers)\// {
			n = split($2, p, "/")
			kind = ($1 == "d") ? "@dir@" : "@file@"
			printf "%s\t%s/%s\n", $2, kind, p[n]
		}' "$sources" 2>/dev/null | jq -Rn '[inputs | split("\t") | {(.[0]): .[1]}] | add // {}')
	jq --argjson map "$map" --arg id "$id" --arg short "${id:0:12}" --arg tmp "$TEST_TMP" '
		.root.path = "rootfs"
		| if .mounts then .mounts |= map(if (.source // "") as $s | $map[$s] then .source = $map[.source] else . end) else . end
		| if .linux.cgroupsPath then .linux.cgroupsPath = "@cgroup@" else . end
		| if .linux.namespaces then .linux.namespaces |= map(if .path then .path = "@nspath@" else . end) else . end
		| if .annotations["io.kubernetes.cri-o.Created"] then .annotations["io.kubernetes.cri-o.Created"] = "@created@" else . end
		| if .annotations["io.kubernetes.cri-o.SandboxID"] then .annotations["io.kubernetes.cri-o.SandboxID"] = "@sandboxid@" else . end
		| walk(if type == "string" then
			(if $id != "" then gsub($id; "@id@") else . end)
			| (if ($short | length) == 12 then gsub($short; "@shortid@") else . end)
			| gsub($tmp; "@tmp@")
		  else . end)' "$raw"
}

# store NAME RAW-JSON [SOURCES ID]
store() {
	local name=$1 raw=$2 sources=${3:-/dev/null} id=${4:-}
	normalise "$raw" "$sources" "$id" >"$OUTDIR/$name.json.new" || die "normalising $raw"
	mv "$OUTDIR/$name.json.new" "$OUTDIR/$name.json"
	info "captured $name.json"
}

# ---------------------------------------------------------------- spec commands

runc_v=$(runc --version | head -n1 | awk '{print $3}')
crun_v=$(crun --version | head -n1 | awk '{print $3}')
berth_v=$("$BERTH" --version 2>/dev/null | head -n1)
d=$TEST_TMP/spec
mkdir -p "$d"
(cd "$d" && timeout 20 runc spec) || die "runc spec"
store runc-spec "$d/config.json"
note runc-spec '`runc spec`' "runc $runc_v"
rm -f "$d/config.json"
(cd "$d" && timeout 20 runc spec --rootless) || die "runc spec --rootless"
store runc-spec-rootless "$d/config.json"
note runc-spec-rootless '`runc spec --rootless`' "runc $runc_v"
rm -f "$d/config.json"
(cd "$d" && timeout 20 crun spec) || die "crun spec"
store crun-spec "$d/config.json"
note crun-spec '`crun spec`' "crun $crun_v"
rm -f "$d/config.json"
cap "$BERTH" spec --bundle "$d"
[ "$RC" -eq 0 ] || die "berth spec: $ERR"
store berth-spec "$d/config.json"
note berth-spec '`berth spec`' "$berth_v (the branch's build)"

# ---------------------------------------------------------------- containerd 1.6 + ctr run

NS=compat-capture-$$
CT=$TEST_TMP/ctrd
SOCK=$CT/containerd.sock
CTR_CGROUP=/berth-test/compat-ctr-$$
mkdir -p "$CT/fifo" "$RAW/ctr"
CTR_PREEXISTING=()
for d in /run/containerd /run/containerd/runc /run/containerd/s; do
	if [ -e "$d" ]; then CTR_PREEXISTING+=("$d"); fi
done
wrapper_write "$CT/rt" "$(command -v runc)" "" "$RAW/ctr"

ctr_teardown() {
	local id
	if [ -n "$CTRD_PID" ]; then
		for id in $(ctr -a "$SOCK" -n "$NS" task ls -q 2>/dev/null); do
			timeout 20 ctr -a "$SOCK" -n "$NS" task kill -s SIGKILL "$id" >/dev/null 2>&1
			timeout 20 ctr -a "$SOCK" -n "$NS" task delete -f "$id" >/dev/null 2>&1
		done
		for id in $(ctr -a "$SOCK" -n "$NS" containers ls -q 2>/dev/null); do
			timeout 20 ctr -a "$SOCK" -n "$NS" containers rm "$id" >/dev/null 2>&1
		done
	fi
	ctrd_stop
	rm -rf --one-file-system "/run/containerd/runc/$NS"
	# the shared parents only if this script made them and nothing else is in them
	for d in /run/containerd/runc /run/containerd/s /run/containerd; do
		if [[ " ${CTR_PREEXISTING[*]} " != *" $d "* ]]; then rmdir "$d" 2>/dev/null; fi
	done
	for d in /sys/fs/cgroup/*"$CTR_CGROUP" /sys/fs/cgroup"$CTR_CGROUP"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}

on_exit() {
	local rc=$?
	trap - EXIT
	ctr_teardown
	pm_cleanup
	(exit "$rc")
	cleanup
}
trap on_exit EXIT

cap "$BERTH_SRC/scripts/make-oci-image.sh" --rootfs "$(busybox_rootfs)" "$CT/busybox.tar"
[ "$RC" -eq 0 ] || die "make-oci-image.sh: $ERR"
ctrd_start "$CT" "$SOCK" "$MARK"
ctrd_wait "$SOCK" 20 || die "containerd did not come up"
ctr_v=$(containerd --version | awk '{print $3}')
IMG=localhost/berth-busybox:latest
cap ctr -a "$SOCK" -n "$NS" images import "$CT/busybox.tar"
[ "$RC" -eq 0 ] || die "ctr images import: $ERR"
mkdir -p "$TEST_TMP/mnt-src"
echo from-host >"$TEST_TMP/mnt-src/file"

# ctr_capture NAME DESCRIPTION CTR-RUN-FLAGS... -- ARGS...
ctr_capture() {
	local name=$1 desc=$2 id=compat-$1
	shift 2
	cap ctr -a "$SOCK" -n "$NS" run --rm --fifo-dir "$CT/fifo" --runc-binary "$CT/rt" \
		--cgroup "$CTR_CGROUP/$id" "$@"
	[ -s "$RAW/ctr/$id.json" ] || die "no config captured for ctr run $* (rc $RC: $ERR)"
	store "$name" "$RAW/ctr/$id.json" "$RAW/ctr/$id.sources" "$id"
	note "$name" "$desc" "containerd $ctr_v, runc-v2 shim"
}
ctr_capture ctr-run '`ctr run --rm IMG ID true`' "$IMG" compat-ctr-run true
ctr_capture ctr-seccomp '`ctr run --rm --seccomp IMG ID true`' --seccomp "$IMG" compat-ctr-seccomp true
ctr_capture ctr-memory '`ctr run --rm --memory-limit 67108864 IMG ID true`' --memory-limit 67108864 \
	"$IMG" compat-ctr-memory true
ctr_capture ctr-mount '`ctr run --rm --mount type=bind,src=DIR,dst=/mnt/host,options=rbind:ro IMG ID true`' \
	--mount "type=bind,src=$TEST_TMP/mnt-src,dst=/mnt/host,options=rbind:ro" "$IMG" compat-ctr-mount true
# -t wants a terminal on stdin: script(1) gives it one.
id=compat-ctr-tty
cap script -qec "ctr -a $SOCK -n $NS run --rm -t --fifo-dir $CT/fifo --runc-binary $CT/rt --cgroup $CTR_CGROUP/$id $IMG $id true" /dev/null
[ -s "$RAW/ctr/$id.json" ] || die "no config captured for ctr run -t (rc $RC: $OUT $ERR)"
store ctr-tty "$RAW/ctr/$id.json" "$RAW/ctr/$id.sources" "$id"
note ctr-tty '`ctr run --rm -t IMG ID true` (under script(1))' "containerd $ctr_v, runc-v2 shim"
ctr_teardown

# ---------------------------------------------------------------- podman 4.3

mkdir -p "$RAW/pm"
pm_setup "$TEST_TMP/pm" "$RAW/pm"
pm_v=$(podman --version | awk '{print $3}')
ALP=localhost/compat-alpine:latest
pm_import_alpine "$ALP" || skip "no Alpine tarball in $BERTH_SHARED/images: podman fixtures need it"
pm_make_pause localhost/compat-pause:latest

# pm_new_configs: the configs captured since the last pm_consume (one path per line, oldest
# first); pm_consume moves them to done/.
pm_new_configs() { ls -tr "$RAW/pm"/*.json 2>/dev/null; }
pm_consume() {
	mkdir -p "$RAW/pm/done"
	mv "$RAW/pm"/*.* "$RAW/pm/done/" 2>/dev/null
	return 0
}

# pm_capture NAME DESCRIPTION PODMAN-ARGS...: one container; its config becomes NAME.json.
pm_capture() {
	local name=$1 desc=$2 f id
	shift 2
	pm "$@"
	f=$(pm_new_configs | tail -n1)
	[ -n "$f" ] || die "no config captured for podman $* (rc $RC: $ERR)"
	id=$(basename "$f" .json)
	store "$name" "$f" "${f%.json}.sources" "$id"
	note "$name" "$desc" "podman $pm_v, runtime runc $runc_v"
	pm_consume
}

CGP=(--cgroup-parent "$PM_CGROUP")
pm_capture podman-run '`podman run --rm IMG true`' run --rm "${CGP[@]}" "$ALP" true
pm_capture podman-read-only '`podman run --rm --read-only IMG true`' run --rm "${CGP[@]}" --read-only "$ALP" true
pm_capture podman-tmpfs '`podman run --rm --tmpfs /scratch:rw,size=16m,mode=1770 IMG true`' \
	run --rm "${CGP[@]}" --tmpfs /scratch:rw,size=16m,mode=1770 "$ALP" true
pm_capture podman-mount-tmpfs '`podman run --rm --mount type=tmpfs,destination=/data,tmpfs-size=8m IMG true`' \
	run --rm "${CGP[@]}" --mount type=tmpfs,destination=/data,tmpfs-size=8m "$ALP" true
pm_capture podman-resources '`podman run --rm --memory 64m --pids-limit 100 --cpus 0.5 IMG true`' \
	run --rm "${CGP[@]}" --memory 64m --pids-limit 100 --cpus 0.5 "$ALP" true
pm_capture podman-user-capdrop '`podman run --rm --user 1000:1000 --cap-drop NET_RAW --cap-drop CHOWN IMG true`' \
	run --rm "${CGP[@]}" --user 1000:1000 --cap-drop NET_RAW --cap-drop CHOWN "$ALP" true
pm_capture podman-init '`podman run --rm --init IMG true`' run --rm "${CGP[@]}" --init "$ALP" true
pm_capture podman-uidmap '`podman run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 IMG true`' \
	run --rm "${CGP[@]}" --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$ALP" true
pm_capture podman-publish '`podman run --rm -p 127.0.0.1:18080:80 IMG true` (CNI bridge in the capture'"'"'s netns)' \
	run --rm "${CGP[@]}" -p 127.0.0.1:18080:80 "$ALP" true
cap script -qec "podman --root $PM_DIR/root --runroot $PM_DIR/runroot --runtime $PM_DIR/rt-runc run --rm -it --cgroup-parent $PM_CGROUP $ALP true" /dev/null
f=$(pm_new_configs | tail -n1)
[ -n "$f" ] || die "no config captured for podman run -it (rc $RC: $OUT $ERR)"
store podman-it "$f" "${f%.json}.sources" "$(basename "$f" .json)"
note podman-it '`podman run --rm -it IMG true` (under script(1))' "podman $pm_v, runtime runc $runc_v"
pm_consume

# A pod: its infra container (the pause image built by pm_make_pause) and one member.
pm pod create --cgroup-parent "$PM_CGROUP" --name compat-pod
[ "$RC" -eq 0 ] || die "podman pod create: $ERR"
pm run --rm --pod compat-pod "$ALP" true
[ "$RC" -eq 0 ] || die "podman run --pod: $ERR"
mapfile -t pod_cfgs < <(pm_new_configs)
[ "${#pod_cfgs[@]}" -eq 2 ] || die "expected 2 configs for the pod, got ${#pod_cfgs[@]}"
store podman-pod-infra "${pod_cfgs[0]}" "${pod_cfgs[0]%.json}.sources" "$(basename "${pod_cfgs[0]}" .json)"
note podman-pod-infra '`podman pod create` + `podman run --pod`: the infra container (local catatonit image)' \
	"podman $pm_v, runtime runc $runc_v"
store podman-pod-member "${pod_cfgs[1]}" "${pod_cfgs[1]%.json}.sources" "$(basename "${pod_cfgs[1]}" .json)"
note podman-pod-member '`podman run --rm --pod POD IMG true`: the member joining the infra namespaces' \
	"podman $pm_v, runtime runc $runc_v"
pm pod rm -f -t 0 compat-pod

# ---------------------------------------------------------------- README

{
	echo "# tests/compat/fixtures: configs real clients wrote"
	echo
	echo "Written by \`tests/compat/capture.sh\` (run as root: \`BERTH=build/cli/berth tests/compat/capture.sh\`)"
	echo "on $(date -u +%Y-%m-%d), Debian $(cat /etc/debian_version), kernel $(uname -r). Host-specific"
	echo "values are normalised as capture.sh's header says: \`root.path\` is \"rootfs\", mount sources below a"
	echo "client's state are \"@dir@/NAME\" / \"@file@/NAME\", \`linux.cgroupsPath\` is \"@cgroup@\", namespace paths"
	echo "are \"@nspath@\", the container id is \"@id@\" (its 12-character prefix \"@shortid@\"), the temp dir \"@tmp@\","
	echo "podman's creation time and pod sandbox id annotations \"@created@\" and \"@sandboxid@\". podman writes its bind"
	echo "mounts (hosts, hostname, resolv.conf, .containerenv, /dev/shm) in a different order on each capture."
	echo "tests/compat/run.sh adapts each fixture for its run (see its header)."
	echo
	echo "| fixture | captured from | tool version |"
	echo "|---|---|---|"
	printf '%s\n' "${README_LINES[@]}"
} >"$OUTDIR/README.md"
info "wrote ${#README_LINES[@]} fixtures and README.md to $OUTDIR"
finish

#!/bin/bash
# make-oci-image.sh [OPTIONS] OUTPUT: build a one-layer OCI image (image-layout 1.0.0) of a
# busybox root filesystem, without downloading anything. OUTPUT ending in .tar is written as
# a tarball (what `ctr images import` and `skopeo copy oci-archive:` take); any other OUTPUT
# is a new image-layout directory (what `umoci` and `skopeo copy oci:` take).
#
# Options:
#   --rootfs DIR   use DIR as the layer's content (default: a fresh rootfs from
#                  scripts/make-rootfs.sh, i.e. Debian's busybox-static)
#   --name REPO    repository name, written as the io.containerd.image.name annotation
#                  REPO:TAG (default: localhost/berth-busybox)
#   --tag TAG      tag, also the org.opencontainers.image.ref.name annotation (default: latest)
#   --arch ARCH    GOARCH of the image config (default: the host's, e.g. amd64)
#   --cmd ARG      the image's Cmd; repeat for several arguments (default: sh)
#   --entrypoint ARG  the image's Entrypoint; repeat for several arguments (default: none)
#   --env VAR=VAL  an Env entry; repeat for several (default: a standard PATH)
#   --workdir DIR  WorkingDir (default: /)
#   --user USER    User (default: unset, i.e. root)
#
# The result is reproducible: same rootfs and options, same digests (sorted tar entries, mtime
# 0, numeric root ownership, gzip without name and time stamp). The manifest digest is printed
# on stdout. Needs tar, gzip, sha256sum, jq.
set -euo pipefail

usage() {
	sed -n '2,22s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

die() {
	echo "$0: $*" >&2
	exit 1
}

host_arch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7l | armv6l) echo arm ;;
	i?86) echo 386 ;;
	ppc64le) echo ppc64le ;;
	s390x) echo s390x ;;
	riscv64) echo riscv64 ;;
	*) uname -m ;;
	esac
}

rootfs=""
name=localhost/berth-busybox
tag=latest
arch=$(host_arch)
workdir=/
user=""
cmd=()
entrypoint=()
env=()
cmd_set=""
env_set=""

while [ $# -gt 0 ]; do
	case "$1" in
	--rootfs | --name | --tag | --arch | --cmd | --entrypoint | --env | --workdir | --user)
		[ $# -ge 2 ] || usage
		case "$1" in
		--rootfs) rootfs=$2 ;;
		--name) name=$2 ;;
		--tag) tag=$2 ;;
		--arch) arch=$2 ;;
		--cmd) cmd+=("$2") cmd_set=1 ;;
		--entrypoint) entrypoint+=("$2") ;;
		--env) env+=("$2") env_set=1 ;;
		--workdir) workdir=$2 ;;
		--user) user=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage ;;
	--) shift && break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
output=$1
[ -n "$cmd_set" ] || cmd=(sh)
[ -n "$env_set" ] || env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid tag '$tag'"
[[ "$name" =~ ^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$ ]] || die "invalid repository name '$name'"

for c in tar gzip sha256sum jq; do
	command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed"
done
if [ -e "$output" ]; then die "'$output' already exists"; fi

script_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/make-oci-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ -z "$rootfs" ]; then
	rootfs=$work/rootfs
	"$script_dir/make-rootfs.sh" "$rootfs" >&2
fi
[ -d "$rootfs" ] || die "rootfs '$rootfs' is not a directory"

layout=$work/layout
blobs=$layout/blobs/sha256
mkdir -p "$blobs"

# blob FILE: move FILE into blobs/sha256/<digest>; prints "sha256:<hex> <size>".
blob() {
	local hex size
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$blobs/$hex"
	echo "sha256:$hex $size"
}

# The layer: a reproducible tar of the rootfs (test-cache markers such as .complete left out).
tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
	--exclude=./.complete -cf "$work/layer.tar" .
diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$work/layer.tar"
r=$(blob "$work/layer.tar.gz")
layer_digest=${r% *} layer_size=${r#* }

json_array() { # ARG... -> a JSON array of strings
	if [ $# -eq 0 ]; then
		echo '[]'
	else
		jq -cn '$ARGS.positional' --args -- "$@"
	fi
}

jq -cn --arg arch "$arch" --arg diff_id "$diff_id" --arg workdir "$workdir" --arg user "$user" \
	--argjson cmd "$(json_array "${cmd[@]}")" \
	--argjson entrypoint "$(json_array "${entrypoint[@]}")" \
	--argjson env "$(json_array "${env[@]}")" '{
	created: "1970-01-01T00:00:00Z",
	architecture: $arch,
	os: "linux",
	config: ({Env: $env, Cmd: $cmd, WorkingDir: $workdir}
		+ (if ($entrypoint | length) > 0 then {Entrypoint: $entrypoint} else {} end)
		+ (if $user != "" then {User: $user} else {} end)),
	rootfs: {type: "layers", diff_ids: [$diff_id]},
	history: [{created: "1970-01-01T00:00:00Z", created_by: "scripts/make-oci-image.sh"}]
}' >"$work/config.json"
r=$(blob "$work/config.json")
config_digest=${r% *} config_size=${r#* }

jq -cn --arg cd "$config_digest" --argjson cs "$config_size" \
	--arg ld "$layer_digest" --argjson ls "$layer_size" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
}' >"$work/manifest.json"
r=$(blob "$work/manifest.json")
manifest_digest=${r% *} manifest_size=${r#* }

jq -n --arg md "$manifest_digest" --argjson ms "$manifest_size" --arg arch "$arch" \
	--arg ref "$name:$tag" --arg tag "$tag" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [{
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $md,
		size: $ms,
		platform: {architecture: $arch, os: "linux"},
		annotations: {"io.containerd.image.name": $ref, "org.opencontainers.image.ref.name": $tag}
	}]
}' >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

case "$output" in
*.tar)
	# Entry names without a leading "./", in the order image-layout readers expect.
	tar -C "$layout" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
		-cf "$output.tmp" oci-layout index.json blobs
	mv "$output.tmp" "$output"
	;;
*)
	mv "$layout" "$output"
	;;
esac
echo "$manifest_digest"

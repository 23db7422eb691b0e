# shellcheck shell=bash
# shellcheck disable=SC2034 # variables for the scripts that source this
# tests/compat/lib.sh: what capture.sh, run.sh and podman.sh share; sourced after
# tests/integration/lib.sh (which gives cap, die, skip, info, busybox_rootfs, TEST_TMP, the
# cleanup of berth containers).
#
#   compat_private_ns MODE ARGS...  (MODE mnt or net) re-run the calling script in a private mount namespace (and with
#                             net a new network namespace with lo up); tmpfs over /dev/shm,
#                             /run/netns and /var/lib/cni so podman's shm locks, netns files and
#                             CNI leases stay the test's own
#   compat_require_ci TOOL... skip (exit 77) when TOOL is missing; under CI=true that is fatal
#   wrapper_write FILE RUNTIME ROOT [CAPTURE-DIR]
#                             a runtime wrapper: adds --root ROOT to every call, and with
#                             CAPTURE-DIR copies the bundle's config.json of each create there
#   pm_setup DIR              a private podman: containers.conf, storage, wrappers for runc/berth
#   pm ARGS...                podman with that setup and the runtime named by $PM_RT (through cap)

COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COMPAT_TIMEOUT=${BERTH_COMPAT_TIMEOUT:-60}

compat_private_ns() {
	if [ -n "${BERTH_COMPAT_IN_NS:-}" ]; then
		mount -t tmpfs -o size=16m,mode=1777 compat-shm /dev/shm || die "tmpfs over /dev/shm"
		mkdir -p /run/netns /var/lib/cni
		mount -t tmpfs -o size=1m compat-netns /run/netns || die "tmpfs over /run/netns"
		mount -t tmpfs -o size=4m compat-cni /var/lib/cni || die "tmpfs over /var/lib/cni"
		if [ "${BERTH_COMPAT_IN_NS}" = net ]; then
			ip link set lo up || die "ip link set lo up in the test's network namespace"
		fi
		return 0
	fi
	require_cmd unshare
	local flags=(-m --propagation private) mode=${1:-mnt}
	shift
	if [ "$mode" = net ]; then flags+=(-n); fi
	trap - EXIT
	rm -rf "$TEST_TMP"
	BERTH_COMPAT_IN_NS=$mode exec unshare "${flags[@]}" bash "$0" "$@"
}

# compat_require_ci TOOL...: a missing TOOL skips; under CI=true it fails (the CI machine
# installs every one of them, so a skip there would hide a layer that did not run).
compat_require_ci() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			if [ "${CI:-}" = true ]; then
				die "CI=true and '$c' is missing: scripts/install-deps.sh installs it"
			fi
			skip "'$c' is not installed (scripts/install-deps.sh)"
		fi
	done
}

# wrapper_write FILE RUNTIME ROOT [CAPTURE-DIR]: an executable runtime that adds --root ROOT
# (nothing when ROOT is empty: containerd's shim passes its own).
# With CAPTURE-DIR, each `create --bundle B ... ID` first copies B/config.json to
# CAPTURE-DIR/ID.json and lists the config's existing absolute mount sources with their kind
# (d, f or o) in CAPTURE-DIR/ID.sources, while the bundle still exists.
wrapper_write() {
	local file=$1 runtime=$2 root=$3 capture=${4:-}
	{
		echo '#!/bin/bash'
		if [ -n "$capture" ]; then
			printf 'capture=%q\n' "$capture"
			cat <<'EOF'
# The command follows the global options (containerd's shim puts --root, --log first).
bundle="" prev="" cmd=""
for a in "$@"; do
	case "$prev" in --root | --log | --log-format | --criu) prev="" && continue ;; esac
	if [ -z "$cmd" ] && [ "${a#-}" = "$a" ]; then cmd=$a; fi
	case "$prev" in --bundle | -bundle | -b) bundle=$a ;; esac
	case "$a" in --bundle=*) bundle=${a#--bundle=} ;; esac
	prev=$a
done
if [ "$cmd" = create ]; then
	id=${!#}
	if [ -n "$bundle" ] && [ -r "$bundle/config.json" ]; then
		cp "$bundle/config.json" "$capture/$id.json"
		jq -r '.mounts[]?.source // empty' "$bundle/config.json" | while read -r s; do
			case "$s" in /*) ;; *) continue ;; esac
			if [ -d "$s" ]; then echo "d $s"; elif [ -f "$s" ]; then echo "f $s"; elif [ -e "$s" ]; then echo "o $s"; fi
		done >"$capture/$id.sources"
		printf '%s\n' "$bundle" >"$capture/$id.bundle"
	fi
fi
EOF
		fi
		if [ -n "$root" ]; then
			printf 'exec %q --root %q "$@"\n' "$runtime" "$root"
		else
			printf 'exec %q "$@"\n' "$runtime"
		fi
	} >"$file"
	chmod 0755 "$file"
	if [ -n "$root" ]; then mkdir -p "$root"; fi
}

# ---------------------------------------------------------------- podman

# The limits this machine lets a process keep: podman's own defaults are above them (and podman
# lowers its own RLIMIT_NPROC to 32768), so containers.conf sets both explicitly.
pm_ulimits() {
	local n u
	n=$(ulimit -Hn)
	u=$(ulimit -Hu)
	[ "$n" = unlimited ] && n=1048576
	[ "$u" = unlimited ] && u=32768
	[ "$u" -gt 32768 ] && u=32768
	printf '"nofile=%s:%s", "nproc=%s:%s"' "$n" "$n" "$u" "$u"
}

# pm_setup DIR [CAPTURE-DIR]: private podman state in DIR; wrappers DIR/rt-runc, DIR/rt-berth.
# Sets PM_DIR, PM_CGROUP (cgroup parent of every container and pod: /berth-test/...).
pm_setup() {
	PM_DIR=$1
	PM_CGROUP=/berth-test/compat-pm-$$
	mkdir -p "$PM_DIR/tmp" "$PM_DIR/cni" "$PM_DIR/hooks.d"
	chmod 0755 "$PM_DIR"
	wrapper_write "$PM_DIR/rt-runc" "$(command -v runc)" "$PM_DIR/runc-root" "${2:-}"
	wrapper_write "$PM_DIR/rt-berth" "$BERTH" "$PM_DIR/berth-root" "${2:-}"
	cat >"$PM_DIR/containers.conf" <<EOF
[containers]
default_ulimits = [$(pm_ulimits)]
init_path = "$(command -v catatonit)"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM_DIR/events.log"
tmp_dir = "$PM_DIR/tmp"
hooks_dir = ["$PM_DIR/hooks.d"]
infra_image = "localhost/compat-pause:latest"
infra_command = "/catatonit -P"
volume_path = "$PM_DIR/volumes"
static_dir = "$PM_DIR/static"
[network]
network_backend = "cni"
network_config_dir = "$PM_DIR/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
EOF
	export CONTAINERS_CONF=$PM_DIR/containers.conf
	# No storage.conf of the host's: the overlay driver below the test's own root.
	export CONTAINERS_STORAGE_CONF=$PM_DIR/storage.conf
	printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' \
		"$PM_DIR/runroot" "$PM_DIR/root" >"$PM_DIR/storage.conf"
	PM_RT=runc
}

# pm ARGS...: podman of pm_setup with the runtime $PM_RT (runc or berth), through cap.
pm() {
	cap podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" --runtime "$PM_DIR/rt-$PM_RT" "$@"
}

# pm_import_alpine NAME: podman import of the shared Alpine minirootfs; 1 if the tarball is absent.
pm_import_alpine() {
	local t
	t=$(alpine_tarball)
	[ -n "$t" ] || return 1
	pm import "$t" "$1"
	[ "$RC" -eq 0 ] || die "podman import $t: $ERR"
}

# pm_make_pause NAME: an infra image of one static binary (catatonit -P), built here.
pm_make_pause() {
	local d=$PM_DIR/pause
	mkdir -p "$d/rootfs"
	cp "$(command -v catatonit)" "$d/rootfs/catatonit"
	tar -C "$d/rootfs" -cf "$d/pause.tar" . || die "tar of the pause rootfs"
	pm import --change 'ENTRYPOINT ["/catatonit", "-P"]' "$d/pause.tar" "$1"
	[ "$RC" -eq 0 ] || die "podman import of the pause image: $ERR"
}

# pm_cleanup: stop what podman started (containers, pods, conmon), remove its cgroups.
pm_cleanup() {
	[ -n "${PM_DIR:-}" ] && [ -d "$PM_DIR" ] || return 0
	local rt d
	for rt in runc berth; do
		PM_RT=$rt QUIET=1 pm pod rm -af -t 0
		PM_RT=$rt QUIET=1 pm rm -af -t 0
	done
	for d in /sys/fs/cgroup/*"$PM_CGROUP" /sys/fs/cgroup"$PM_CGROUP"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d | while read -r s; do
			while read -r p; do kill -9 "$p" 2>/dev/null; done <"$s/cgroup.procs"
		done
		sleep 0.2
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || echo "cleanup: could not remove $d" >&2
	done
	# podman's overlay mounts live in the test's private mount namespace; unmount them so the
	# temp dir can be removed.
	for m in $(mounts_below "$PM_DIR"); do umount -l "$m" 2>/dev/null; done
}

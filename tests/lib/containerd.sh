# shellcheck shell=bash
# tests/lib/containerd.sh: a private containerd for the tests and benchmarks that drive one
# (tests/integration/test_containerd.sh, tests/vm/test_vm_containerd_checkpoint.sh,
# bench/containerd-seccomp.sh); sourced, not run. Everything of it lives in one directory DIR:
# config.toml, root, state, ttrpc socket, opt dir, TMPDIR and containerd.log; CRI, the aufs,
# btrfs, zfs and devmapper snapshotters, the debug and metrics sockets are off.
#   ctrd_start DIR SOCK [NAME=VALUE...]   start it (in the background) with its gRPC socket SOCK
#   ctrd_wait SOCK SECONDS                until it answers on SOCK
#   ctrd_stop                             stop it (by pid)
# CTRD_PID is its pid while it runs, else empty. Only the containerd started here is stopped.

CTRD_PID=""

# ctrd_start DIR SOCK [NAME=VALUE...]: writes DIR/config.toml, makes DIR/tmp and starts
# containerd with TMPDIR=DIR/tmp (the shim inherits it and writes its runc-process* files and pty
# sockets there) and the NAME=VALUEs in its environment, debug log to DIR/containerd.log; sets
# CTRD_PID.
ctrd_start() {
	local dir=$1 sock=$2
	shift 2
	mkdir -p "$dir/tmp"
	cat >"$dir/config.toml" <<EOT
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$dir/ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$dir/opt"
EOT
	env "$@" TMPDIR="$dir/tmp" containerd --config "$dir/config.toml" --log-level debug \
		</dev/null >"$dir/containerd.log" 2>&1 &
	CTRD_PID=$!
}

# ctrd_wait SOCK SECONDS: until `ctr version` answers on SOCK; 1 if containerd exits or SECONDS
# pass first.
ctrd_wait() {
	local deadline=$((SECONDS + $2))
	until [ -S "$1" ] && ctr -a "$1" version >/dev/null 2>&1; do
		if ! kill -0 "$CTRD_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then return 1; fi
		sleep 0.1
	done
}

# ctrd_stop: SIGTERM to the containerd of ctrd_start, SIGKILL if it still runs after 10 s; reaps it.
ctrd_stop() {
	[ -n "$CTRD_PID" ] || return 0
	if kill -0 "$CTRD_PID" 2>/dev/null; then
		kill -TERM "$CTRD_PID" 2>/dev/null || true
		local deadline=$((SECONDS + 10))
		while kill -0 "$CTRD_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
		kill -KILL "$CTRD_PID" 2>/dev/null || true
	fi
	wait "$CTRD_PID" 2>/dev/null || true
	CTRD_PID=""
}

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Mount configurations runc and crun accept (issue 13 #5, #7, #8, #9, #10, #11): a bind source only
# host root may read in a user-namespace container, a missing cwd with a read-only root, no mount
# namespace and a joined one, rootfsPropagation "unbindable", data options on a bind, tmpcopyup.
# Runs in a private mount namespace: nothing here may change the host's mount table.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
private_mount_ns "$@"

# ---- #9: rootfsPropagation "unbindable" (crun supports it)
container unbindable
cfg '.linux.rootfsPropagation = "unbindable"'
run_sh "$ID" 'awk '\''$5 == "/"'\'' /proc/self/mountinfo'
assert_ok "run with rootfsPropagation unbindable"
assert_contains "/ is unbindable inside" "$OUT" "unbindable"

# ---- #10: data options on a bind are ignored, as runc and crun do
container binddata
src=$TEST_TMP/binddata-src
mkdir -p "$src"
echo bound >"$src/file"
cfg '.mounts += [{destination: "/mnt/b", type: "bind", source: $src,
	options: ["rbind", "ro", "mode=755", "size=1m"]}]' --arg src "$src"
run_sh "$ID" 'cat /mnt/b/file; if touch /mnt/b/new 2>/dev/null; then echo writable; else echo read-only; fi'
assert_ok "run with data options on a bind"
assert_contains "the bind is there" "$OUT" "bound"
assert_contains "the bind is read-only as asked" "$OUT" "read-only"

# ---- #7: a missing process.cwd with a read-only root is created before the root turns read-only
container rocwd
cfg '.root.readonly = true | .process.cwd = "/work/dir"'
run_sh "$ID" 'pwd; if touch /x 2>/dev/null; then echo root-writable; else echo root-read-only; fi'
assert_ok "run with a missing cwd and root.readonly"
assert_contains "the cwd was created" "$OUT" "/work/dir"
assert_contains "the root is read-only" "$OUT" "root-read-only"
assert_true "the cwd exists in the rootfs" test -d "$BUNDLE/rootfs/work/dir"

finish

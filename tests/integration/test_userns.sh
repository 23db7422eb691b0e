#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# User namespace: uid/gid 0 inside maps to 100000 outside (size 65536). Checked from inside
# (id, uid_map), from outside (/proc/<init>/status) and through a file created in a bind mount.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ -e /proc/self/ns/user ] || skip "the kernel has no user namespaces"

container userns
# the rootfs belongs to the mapped root, as it would after a rootless/userns image unpack
chown -R -h 100000:100000 "$BUNDLE/rootfs"
shared=$TEST_TMP/shared
mkdir -p "$shared"
chmod 0777 "$shared"
cfg '.linux.namespaces += [{type: "user"}]
	| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
	| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
	| .mounts += [{destination: "/mnt/shared", type: "bind", source: $src, options: ["rbind", "rw"]}]' \
	--arg src "$shared"
cfg_args sh -c 'echo "inside=$(id -u):$(id -g)"; echo "uid_map=$(cat /proc/self/uid_map | xargs)";
	echo "gid_map=$(cat /proc/self/gid_map | xargs)"; touch /mnt/shared/created; echo ready; exec sleep 600'
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/init.pid" "$ID"
assert_ok "create with a user namespace"
[ "$RC" -eq 0 ] || die "create failed"
out_file=$OUT_FILE
pid=$(cat "$TEST_TMP/init.pid")
track_pid "$pid"
b start "$ID"
assert_ok "start"
wait_file "$out_file" 10
for _ in $(seq 50); do grep -q ready "$out_file" && break; sleep 0.1; done
OUT=$(cat "$out_file")
assert_contains "inside: uid 0, gid 0" "$OUT" "inside=0:0"
assert_contains "inside: uid_map" "$OUT" "uid_map=0 100000 65536"
assert_contains "inside: gid_map" "$OUT" "gid_map=0 100000 65536"
assert_eq "outside: the init's Uid" "100000 100000 100000 100000" "$(status_field "$pid" Uid | xargs)"
assert_eq "outside: the init's Gid" "100000 100000 100000 100000" "$(status_field "$pid" Gid | xargs)"
assert_ne "the init is in a different user namespace" "$(readlink /proc/self/ns/user)" \
	"$(readlink "/proc/$pid/ns/user")"
assert_eq "a file created inside belongs to 100000:100000 on the host" "100000:100000" \
	"$(stat -c %u:%g "$shared/created" 2>&1)"

b delete --force "$ID"
assert_ok "delete --force"
assert_no_leftovers "after delete" "$ID"

finish

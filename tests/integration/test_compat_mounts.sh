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

# ---- #11: tmpcopyup: the tmpfs starts with what the image has at its destination
# xattr FILE NAME [VALUE-HEX]: read (or set) an extended attribute as hex, without following links.
xattr() {
	python3 -c 'import os, sys
if len(sys.argv) > 3: os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), follow_symlinks=False)
else: print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())' "$@"
}
require_cmd python3
container copyup
img=$BUNDLE/rootfs/etc/tmpcopy-dir
mkdir -p "$img/sub"
echo plain >"$img/file"
chmod 0640 "$img/file"
echo deep >"$img/sub/deeper"
chmod 0700 "$img/sub"
echo owned >"$img/owned"
chown 1000:1000 "$img/owned"
ln -s /etc/passwd "$img/link"
ln -s ../../../../../../../.. "$img/uplink"
echo x >"$img/xattr"
xattr "$img/xattr" user.berth 76616c7565 # "value"
# a v2 security.capability: CAP_NET_BIND_SERVICE permitted and effective
cap=0100000200040000000000000000000000000000
xattr "$img/xattr" security.capability "$cap"
chown 1000:1001 "$img"
chmod 0751 "$img"
before=$(cd "$BUNDLE/rootfs" && find etc/tmpcopy-dir -printf '%p %m %u:%g %y %l\n' | sort)
# the directory belongs to 1000: root in the container writes into it with CAP_DAC_OVERRIDE
# a bind mounted below the destination first (same filesystem as the rootfs): not image content,
# not copied
hostdir=$TEST_TMP/copyup-host
mkdir -p "$hostdir"
echo host >"$hostdir/hostfile"
cfg '.mounts += [{destination: "/etc/tmpcopy-dir/bound", type: "bind", source: $h, options: ["bind"]},
	{destination: "/etc/tmpcopy-dir", type: "tmpfs", source: "tmpfs",
	options: ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]}]
	| .process.capabilities[] += ["CAP_DAC_OVERRIDE"]' --arg h "$hostdir"
cfg_args sh -c 'echo written >/etc/tmpcopy-dir/new && echo changed >/etc/tmpcopy-dir/file && echo ready; exec sleep 600'
b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/copyup.pid" "$ID"
assert_ok "create with a tmpcopyup tmpfs"
[ "$RC" -eq 0 ] || die "create failed"
out_file=$OUT_FILE
pid=$(cat "$TEST_TMP/copyup.pid")
track_pid "$pid"
b start "$ID"
assert_ok "start"
for _ in $(seq 50); do grep -q ready "$out_file" 2>/dev/null && break; sleep 0.1; done
assert_contains "the container wrote into the tmpfs" "$(cat "$out_file")" "ready"
in=/proc/$pid/root/etc/tmpcopy-dir
assert_eq "the destination is a tmpfs" tmpfs "$(stat -f -c %T "$in" 2>&1)"
assert_eq "the tmpfs root has the directory's mode and owner" "751 1000:1001" "$(stat -c '%a %u:%g' "$in" 2>&1)"
after=$(cd "/proc/$pid/root" && find etc/tmpcopy-dir ! -name new -printf '%p %m %u:%g %y %l\n' | sort)
assert_eq "same names, modes, owners, types and link targets in the tmpfs" "$before" "$after"
assert_eq "file content copied, then changed inside" changed "$(cat "$in/file" 2>&1)"
assert_eq "nested file copied" deep "$(cat "$in/sub/deeper" 2>&1)"
assert_eq "user.* xattr copied" 76616c7565 "$(xattr "$in/xattr" user.berth 2>&1)"
assert_eq "security.capability copied" "$cap" "$(xattr "$in/xattr" security.capability 2>&1)"
assert_eq "the symlink out is copied as a link" /etc/passwd "$(readlink "$in/link" 2>&1)"
assert_false "the bind below the destination was not copied" test -e "$in/bound"
assert_eq "the rootfs file is unchanged" plain "$(cat "$img/file")"
assert_false "the write inside did not reach the rootfs" test -e "$img/new"
b delete --force "$ID"
assert_ok "delete --force"

# a read-only tmpcopyup tmpfs: filled first, then read-only
container copyup-ro
mkdir -p "$BUNDLE/rootfs/etc/copy-ro"
echo kept >"$BUNDLE/rootfs/etc/copy-ro/file"
cfg '.mounts += [{destination: "/etc/copy-ro", type: "tmpfs", source: "tmpfs", options: ["ro", "tmpcopyup"]}]'
run_sh "$ID" 'cat /etc/copy-ro/file; stat -f -c %T /etc/copy-ro; if touch /etc/copy-ro/x 2>/dev/null; then echo writable; else echo read-only; fi'
assert_ok "run with a read-only tmpcopyup tmpfs"
assert_eq "content copied, tmpfs, read-only" "$(printf 'kept\ntmpfs\nread-only')" "$OUT"

# ---- #8: no mount namespace: the runtime's is inherited and the container is chrooted into its rootfs
# start_marker_container WHAT: create + start $ID whose process prints /marker and "ready", then
# sleeps; sets pid (the init) and out_file.
start_marker_container() {
	cfg_args sh -c 'cat /marker; echo ready; exec sleep 600'
	b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/$ID.pid" "$ID"
	assert_ok "create ($1)"
	[ "$RC" -eq 0 ] || die "create failed ($1)"
	out_file=$OUT_FILE
	pid=$(cat "$TEST_TMP/$ID.pid")
	track_pid "$pid"
	b start "$ID"
	assert_ok "start ($1)"
	for _ in $(seq 50); do grep -q ready "$out_file" 2>/dev/null && break; sleep 0.1; done
}
container nomntns
echo "rootfs of $ID" >"$BUNDLE/rootfs/marker"
cfg '.linux.namespaces |= map(select(.type != "mount")) | .mounts = []
	| .linux.maskedPaths = [] | .linux.readonlyPaths = []'
mounts_before=$(wc -l </proc/self/mountinfo)
start_marker_container "no mount namespace"
assert_contains "the container runs its rootfs's sh and sees its rootfs" "$(cat "$out_file")" "rootfs of $ID"
assert_eq "the init shares the runtime's mount namespace" "$(readlink /proc/self/ns/mnt)" \
	"$(readlink "/proc/$pid/ns/mnt")"
assert_eq "the init's root is the rootfs" "$(realpath "$BUNDLE/rootfs")" "$(readlink "/proc/$pid/root")"
b exec "$ID" cat /marker
assert_ok "exec into a container without a mount namespace"
assert_eq "exec'd process is chrooted into the rootfs too" "rootfs of $ID" "$OUT"
assert_eq "nothing was mounted in the runtime's mount namespace" "$mounts_before" "$(wc -l </proc/self/mountinfo)"
b delete --force "$ID"
assert_ok "delete --force"

# what needs a mount namespace is refused: runc's reason for maskedPaths, berth's for mounts
container nomntns-masked
cfg '.linux.namespaces |= map(select(.type != "mount")) | .mounts = []'
run_sh "$ID" true
assert_failed "maskedPaths without a mount namespace"
assert_contains "runc's reason" "$ERR" "unable to restrict sys entries without a private MNT namespace"
container nomntns-mounts
cfg '.linux.namespaces |= map(select(.type != "mount")) | .linux.maskedPaths = [] | .linux.readonlyPaths = []'
run_sh "$ID" true
assert_failed "mounts without a mount namespace"
assert_contains "the reason names mounts" "$ERR" "mounts: berth mounts nothing into the runtime's own mount namespace"

# ---- #8: a mount namespace joined by path gets root.path set up inside it (runc, crun)
require_cmd unshare
env "$MARK" unshare -m --propagation private sleep 600 &
holder=$!
track_pid "$holder"
for _ in $(seq 50); do
	[ "$(readlink "/proc/$holder/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
	sleep 0.1
done
assert_ne "the holder has a mount namespace of its own" "$(readlink /proc/self/ns/mnt)" \
	"$(readlink "/proc/$holder/ns/mnt")"
container joinmntns
echo "rootfs of $ID" >"$BUNDLE/rootfs/marker"
cfg '.linux.namespaces |= map(if .type == "mount" then .path = $ns else . end)' --arg ns "/proc/$holder/ns/mnt"
mounts_before=$(wc -l </proc/self/mountinfo)
start_marker_container "a joined mount namespace"
assert_contains "the container runs its rootfs's sh and sees its rootfs" "$(cat "$out_file")" "rootfs of $ID"
assert_eq "the init is in the joined mount namespace" "$(readlink "/proc/$holder/ns/mnt")" \
	"$(readlink "/proc/$pid/ns/mnt")"
b exec "$ID" sh -c 'cat /marker; test -r /proc/self/status && echo proc-mounted'
assert_ok "exec into a container in a joined mount namespace"
assert_contains "exec'd process sees the rootfs" "$OUT" "rootfs of $ID"
assert_contains "the config's /proc is mounted in the joined namespace" "$OUT" "proc-mounted"
assert_eq "the test's own mount namespace is unchanged" "$mounts_before" "$(wc -l </proc/self/mountinfo)"
b delete --force "$ID"
assert_ok "delete --force"
kill "$holder"

# ---- #5: a user-namespace container binds sources only host root may read, as runc does
[ -e /proc/self/ns/user ] || skip "the kernel has no user namespaces"
container usernsbind
chown -R -h 100000:100000 "$BUNDLE/rootfs"
secret=$TEST_TMP/secret
mkdir -p "$secret/inner"
echo top-secret >"$secret/inner/file"
chmod 0600 "$secret/inner/file"
chmod 0700 "$secret" "$secret/inner"
cfg '.linux.namespaces += [{type: "user"}]
	| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
	| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
	| .mounts += [{destination: "/mnt/dir", type: "bind", source: $dir, options: ["rbind", "ro"]},
		{destination: "/mnt/file", type: "bind", source: $file, options: ["bind", "ro"]}]' \
	--arg dir "$secret/inner" --arg file "$secret/inner/file"
# and a tmpcopyup tmpfs in the user namespace: owners as the container sees them
mkdir -p "$BUNDLE/rootfs/etc/copy"
echo owned >"$BUNDLE/rootfs/etc/copy/owned"
chown -R 101000:101000 "$BUNDLE/rootfs/etc/copy"
cfg '.mounts += [{destination: "/etc/copy", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"]}]'
run_sh "$ID" 'awk '\''$2 == "/mnt/dir" || $2 == "/mnt/file" { split($4, o, ","); print "mounted " $2 " " o[1] }'\'' /proc/mounts
echo "copy=$(stat -f -c %T /etc/copy) $(stat -c %u:%g /etc/copy /etc/copy/owned | xargs) $(cat /etc/copy/owned)"'
assert_ok "run a user-namespace container binding sources below a 0700 host-root directory"
assert_contains "the directory is bound, read-only" "$OUT" "mounted /mnt/dir ro"
assert_contains "the file is bound, read-only" "$OUT" "mounted /mnt/file ro"
assert_contains "tmpcopyup in a user namespace keeps owners" "$OUT" "copy=tmpfs 1000:1000 1000:1000 owned"

finish

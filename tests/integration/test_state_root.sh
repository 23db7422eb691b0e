#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# A state root only its owner controls (issue 14, section 3). berth signals the pid a record names,
# runs the hooks its saved config names and loads the seccomp programs its cache holds, so a state
# root, a container's state directory, its state.json or the seccomp cache that another user
# created (or may write) is refused with a message naming the path and what is wrong; a record must
# describe the directory it was read from. Every attack here is made as an unprivileged user would:
# files owned by uid 65534 (nobody), or world-writable directories.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

NOBODY=65534

# new_victim: an unrelated host process (outside any container) a forged record points at; it
# must survive the `kill` that follows. One per case, so each case shows its own result.
new_victim() {
	sleep 600 &
	VICTIM=$!
	track_pid "$VICTIM"
	VICTIM_START=$(proc_start "$VICTIM")
	[ -n "$VICTIM_START" ] || die "cannot read the start time of the victim process"
}

# forge_record DIR ID: a state record for ID in DIR naming a new victim (pid and its real start
# time, which anyone can read from /proc), written as the attacker (uid 65534).
forge_record() {
	new_victim
	mkdir -p "$1"
	jq -n --arg id "$2" --argjson pid "$VICTIM" --argjson st "$VICTIM_START" \
		'{id: $id, bundle: "/nonexistent", rootfs: "/nonexistent/rootfs", pid: $pid, pidStartTime: $st,
		  created: "2024-01-01T00:00:00Z", owner: ""}' >"$1/state.json"
}

# kill_refused CASE ROOT ID WHAT: `berth --root ROOT kill ID KILL` fails naming WHAT, victim alive.
kill_refused() {
	cap "$BERTH" --root "$2" kill "$3" KILL
	assert_failed "$1: kill is refused"
	assert_contains "$1: the error names the path and the reason" "$ERR" "$4"
	sleep 0.1
	assert_true "$1: the unrelated process is still alive" alive "$VICTIM"
}

# ---- a state root created beforehand by another user

R1=$TEST_TMP/root-nobody
forge_record "$R1/victim" victim
chown -R "$NOBODY:$NOBODY" "$R1"
chmod 0755 "$R1"
kill_refused "root owned by uid $NOBODY" "$R1" victim "state root '$R1': owned by uid $NOBODY, not by uid 0"
cap "$BERTH" --root "$R1" state victim
assert_failed "state in that root is refused"
assert_contains "state names the root" "$ERR" "state root '$R1': owned by uid $NOBODY"
cap "$BERTH" --root "$R1" list
assert_failed "list of that root is refused"
assert_contains "list names the root" "$ERR" "state root '$R1': owned by uid $NOBODY"

# a fresh container must not be created in it either (its record would sit in the attacker's dir)
container refused
cap "$BERTH" --root "$R1" create --bundle "$BUNDLE" "$ID"
assert_failed "create in a root owned by uid $NOBODY is refused"
assert_contains "create names the root" "$ERR" "state root '$R1'"
assert_false "no state directory was made" test -e "$R1/$ID"

# ---- a root owned by root but writable by everyone (mode 0777): dirs planted in it

R2=$TEST_TMP/root-0777
mkdir -p "$R2"
chmod 0777 "$R2"
forge_record "$R2/victim" victim
chown -R "$NOBODY:$NOBODY" "$R2/victim"
kill_refused "root of mode 0777" "$R2" victim "state root '$R2': writable by others (mode 0777)"

# ---- a root of the right owner and mode holding what another user planted earlier

R3=$TEST_TMP/root-ok
mkdir -p "$R3"
chmod 0711 "$R3"
forge_record "$R3/planted-dir" planted-dir
chown -R "$NOBODY:$NOBODY" "$R3/planted-dir"
kill_refused "state directory owned by uid $NOBODY" "$R3" planted-dir \
	"state directory '$R3/planted-dir': owned by uid $NOBODY, not by uid 0"

forge_record "$R3/planted-file" planted-file
chown "$NOBODY" "$R3/planted-file/state.json"
kill_refused "state.json owned by uid $NOBODY" "$R3" planted-file \
	"state file of '$R3/planted-file': owned by uid $NOBODY, not by uid 0"

forge_record "$R3/open-dir" open-dir
chmod 0773 "$R3/open-dir"
kill_refused "state directory writable by others" "$R3" open-dir \
	"state directory '$R3/open-dir': writable by others (mode 0773)"

forge_record "$R3/group-file" group-file
chmod 0660 "$R3/group-file/state.json"
kill_refused "state.json writable by its group" "$R3" group-file \
	"state file of '$R3/group-file': writable by its group (mode 0660)"

# A record of the right owner that describes another directory (copied or hand-made).
forge_record "$R3/copied" other-id
chmod 0711 "$R3/copied"
kill_refused "a record whose id is not its directory's" "$R3" copied 'id "other-id" does not match its directory'

cap "$BERTH" --root "$R3" list --format json
assert_ok "list of a trusted root with planted entries works"
assert_eq "list shows none of the planted entries" "0" "$(jq -r 'length' <<<"$OUT")"
assert_contains "list warns about what it skipped" "$ERR" "state directory '$R3/planted-dir': owned by uid $NOBODY"

# ---- the seccomp cache

# hex_bin HEX: the bytes HEX spells.
# shellcheck disable=SC2001 # a pattern with a back-reference
hex_bin() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }

# forge_cache_entry FILE: replace the compiled program in cache entry FILE by one that allows every
# syscall (SECCOMP_RET_ALLOW), keeping its key and recomputing its checksum as an attacker can.
forge_cache_entry() {
	local key insns digest
	key=$(od -An -tx1 -j16 -N32 "$1" | tr -d ' \n')
	insns=060000000000ff7f # BPF_RET|BPF_K, jt 0, jf 0, k = SECCOMP_RET_ALLOW (little endian)
	digest=$(hex_bin "$insns" | sha256sum | cut -d' ' -f1)
	{
		printf 'BERTHBPF'
		hex_bin 0100000001000000 # version 1, 1 instruction
		hex_bin "$key$digest$insns"
	} >"$1.forged"
	mv "$1.forged" "$1"
}

ROOT=$TEST_TMP/root-seccomp
deny_mkdir='.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
	syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}]}'
probe='grep "^Seccomp:" /proc/self/status; mkdir /tmp/blocked 2>&1; echo mkdir=$?'

container fill
cfg "$deny_mkdir"
run_sh "$ID" "$probe"
assert_ok "a first run fills the cache"
assert_contains "mkdir is denied by the profile" "$OUT" "mkdir=1"
entry=$(find "$ROOT/.seccomp-cache" -name '*.bpf' | head -n1)
[ -n "$entry" ] || die "the first run left no cache entry"

# The entry forged and owned by another user, in a cache directory that user owns.
forge_cache_entry "$entry"
chown -R "$NOBODY:$NOBODY" "$ROOT/.seccomp-cache"
container dir-nobody
cfg "$deny_mkdir"
run_sh "$ID" "$probe"
assert_failed "a cache directory owned by uid $NOBODY is refused"
assert_contains "the error names the cache directory" "$ERR" \
	"seccomp cache '$ROOT/.seccomp-cache': owned by uid $NOBODY, not by uid 0"
assert_not_contains "the forged program never ran: no container output" "$OUT" "mkdir=0"

# The same with a cache directory of root's, but writable by everyone.
chown root:root "$ROOT/.seccomp-cache"
chmod 0777 "$ROOT/.seccomp-cache"
container dir-0777
cfg "$deny_mkdir"
run_sh "$ID" "$probe"
assert_failed "a cache directory of mode 0777 is refused"
assert_contains "the error names the mode" "$ERR" "seccomp cache '$ROOT/.seccomp-cache': writable by others"

# A forged entry owned by another user in a trusted directory: ignored, compiled again, replaced.
chmod 0700 "$ROOT/.seccomp-cache"
container entry-nobody
cfg "$deny_mkdir"
run_sh "$ID" "$probe"
assert_ok "run with a forged cache entry owned by uid $NOBODY"
assert_match "the container has a seccomp filter" 'Seccomp:[[:space:]]+2' "$OUT"
assert_contains "mkdir is still denied: the strong filter was loaded" "$OUT" "mkdir=1"
assert_false "nothing was created in the rootfs" test -e "$BUNDLE/rootfs/tmp/blocked"
assert_eq "the entry was replaced by one of root's" "0" "$(stat -c %u "$entry")"

# A forged entry of root's that group or others may write: ignored as well.
forge_cache_entry "$entry"
chmod 0666 "$entry"
container entry-0666
cfg "$deny_mkdir"
run_sh "$ID" "$probe"
assert_ok "run with a forged cache entry of mode 0666"
assert_contains "mkdir is still denied" "$OUT" "mkdir=1"
assert_false "nothing was created in the rootfs" test -e "$BUNDLE/rootfs/tmp/blocked"

# Control: the default state root berth makes for itself passes its own check.
ROOT=$TEST_TMP/root-fresh
container fresh
b run --bundle "$BUNDLE" "$ID"
assert_ok "run in a root berth creates"
assert_eq "the root berth made is 0711" "711" "$(stat -c %a "$ROOT")"

finish

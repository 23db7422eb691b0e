#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# linux.seccomp is enforced (never silently ignored: containerd's default config carries a profile):
# errno actions and errnoRet, a default-deny allow-list, a containerd-like default profile
# (tests/data/seccomp/default.json), both load points (with and without noNewPrivileges), the
# compiled-filter cache under the state root, clean failures, and the SCMP_ACT_NOTIFY hand-over
# to a seccomp agent listening on listenerPath.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PROFILE=$BERTH_SRC/tests/data/seccomp/default.json
[ -r "$PROFILE" ] || die "missing $PROFILE"
# Filters already on the test process (e.g. when run inside a container) stack under ours.
HOST_FILTERS=$(awk '$1 == "Seccomp_filters:" { print $2 }' /proc/self/status)
WANT_FILTERS=$((${HOST_FILTERS:-0} + 1))

# seccomp_profile FILE [JQ-FILTER]: set linux.seccomp from FILE, edited by the filter.
seccomp_profile() {
	cfg ".linux.seccomp = (\$p[0] | ${2:-.})" --slurpfile p "$1"
}

status_lines='grep -E "^Seccomp(_filters)?:" /proc/self/status'

# ---- errno actions

container mkdir
cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
	syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}]}'
run_sh "$ID" "$status_lines; mkdir /tmp/blocked 2>&1; echo mkdir=\$?; unshare -U true; echo unshare=\$?"
assert_ok "run with a profile that denies mkdir"
# the control for the default profile below, which leaves unshare out
userns_ok=false
if [[ "$OUT" == *unshare=0* ]]; then userns_ok=true; fi
assert_contains "mkdir fails with EPERM (errnoRet absent)" "$OUT" "Operation not permitted"
assert_contains "mkdir returned non-zero" "$OUT" "mkdir=1"
assert_match "seccomp filter mode in /proc/self/status" 'Seccomp:[[:space:]]+2' "$OUT"
assert_match "one filter of ours" "Seccomp_filters:[[:space:]]+$WANT_FILTERS" "$OUT"
assert_false "nothing was created in the rootfs" test -e "$BUNDLE/rootfs/tmp/blocked"
assert_no_leftovers "after the mkdir run" "$ID"

container errno
cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
	syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38}]}'
run_sh "$ID" 'mkdir /tmp/blocked 2>&1; echo mkdir=$?'
assert_ok "run with errnoRet 38"
assert_contains "errnoRet 38 (ENOSYS) is what mkdir returns" "$OUT" "Function not implemented"
assert_false "nothing was created in the rootfs" test -e "$BUNDLE/rootfs/tmp/blocked"

# errnoRet on a syscall the process may use: sethostname with CAP_SYS_ADMIN in its own UTS ns
container hostname
cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
	syscalls: [{names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 38}]}
	| .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"]
	| .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
run_sh "$ID" 'hostname changed 2>&1; echo "hostname=$(hostname)"'
assert_ok "run with sethostname denied"
assert_contains "sethostname fails with ENOSYS" "$OUT" "not implemented"
assert_contains "the hostname did not change" "$OUT" "hostname=berth"

# ---- the containerd-like default profile

cache_entries() { find "$ROOT/.seccomp-cache" -name '*.bpf' 2>/dev/null | sort; }
container default
seccomp_profile "$PROFILE"
before=$(cache_entries)
run_sh "$ID" "echo ok; $status_lines"
assert_ok "run under the default profile"
assert_contains "sh -c 'echo ok' works" "$OUT" "ok"
assert_match "filter mode" 'Seccomp:[[:space:]]+2' "$OUT"
assert_match "exactly one filter of ours" "Seccomp_filters:[[:space:]]+$WANT_FILTERS" "$OUT"
entry=$(comm -13 <(echo "$before") <(cache_entries))
assert_match "the compiled program is cached under the state root" "^$ROOT/.seccomp-cache/[0-9a-f]{64}\.bpf\$" "$entry"
assert_no_leftovers "after the default-profile run" "$ID"

# The same profile again: taken from the cache (the debug log says so), same behaviour.
container cached
seccomp_profile "$PROFILE"
cfg_args sh -c 'mkdir /tmp/d && echo made; unshare -U true 2>&1; echo unshare=$?'
b --log "$TEST_TMP/cached.log" --debug run --bundle "$BUNDLE" "$ID"
assert_ok "second run under the default profile"
assert_contains "allowed syscalls work" "$OUT" "made"
if $userns_ok; then
	# unshare(CLONE_NEWUSER) needs no privilege; the profile leaves unshare out
	assert_contains "unshare, allowed by the kernel above, is denied by the profile" "$OUT" "Operation not permitted"
	assert_contains "unshare failed" "$OUT" "unshare=1"
fi
assert_true "the filter came from the cache" grep -q "instructions from the cache" "$TEST_TMP/cached.log"

# A damaged entry is not used: the profile is compiled again and the entry repaired.
printf '\xff\xff\xff\xff' | dd of="$entry" bs=1 seek=100 conv=notrunc status=none
container damaged
seccomp_profile "$PROFILE"
cfg_args sh -c 'echo ok'
b --log "$TEST_TMP/damaged.log" --debug run --bundle "$BUNDLE" "$ID"
assert_ok "run with a damaged cache entry"
assert_contains "the container ran" "$OUT" "ok"
assert_true "the damaged entry was noticed" grep -q "damaged cache entry" "$TEST_TMP/damaged.log"
assert_true "and recompiled" grep -q "seccomp: compiled" "$TEST_TMP/damaged.log"

# ---- default-deny with an allow-list that lacks a syscall

container allowlist
seccomp_profile "$PROFILE" '.syscalls[0].names -= ["mkdir", "mkdirat"]'
run_sh "$ID" 'echo start; mkdir /tmp/nope 2>&1; echo mkdir=$?; touch /tmp/file && echo touched'
assert_ok "run with mkdir missing from the allow-list"
assert_contains "the default action (defaultErrnoRet 1, EPERM) answers mkdir" "$OUT" "Operation not permitted"
assert_contains "mkdir failed" "$OUT" "mkdir=1"
assert_contains "other syscalls work" "$OUT" "touched"
assert_false "nothing was created" test -e "$BUNDLE/rootfs/tmp/nope"

# ---- without noNewPrivileges the filter goes in before the capabilities are dropped

container nnp-false
seccomp_profile "$PROFILE"
cfg '.process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}'
run_sh "$ID" "id -u; grep NoNewPrivs /proc/self/status; $status_lines; mkdir /tmp/x && echo made"
assert_ok "run without noNewPrivileges, as uid 1000"
assert_contains "the process runs as uid 1000" "$OUT" "1000"
assert_match "no_new_privs is off" 'NoNewPrivs:[[:space:]]+0' "$OUT"
assert_match "the filter is on" 'Seccomp:[[:space:]]+2' "$OUT"
assert_match "one filter" "Seccomp_filters:[[:space:]]+$WANT_FILTERS" "$OUT"

# ---- in a user namespace (the cache is read and written before the namespaces are joined)

if [ -e /proc/self/ns/user ]; then
	container userns
	chown -R -h 100000:100000 "$BUNDLE/rootfs"
	seccomp_profile "$PROFILE"
	cfg '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
	run_sh "$ID" "echo ok; $status_lines"
	assert_ok "run in a user namespace under the default profile"
	assert_match "the filter is on" 'Seccomp:[[:space:]]+2' "$OUT"
	assert_no_leftovers "after the user namespace run" "$ID"
else
	info "no user namespaces: user namespace case not run"
fi

# ---- profiles that must fail create, cleanly

container bad-errno
cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
	syscalls: [{names: ["getpid"], action: "SCMP_ACT_KILL", errnoRet: 5}]}'
run_sh "$ID" 'echo should-not-run'
assert_rc "errnoRet with SCMP_ACT_KILL is refused" 1
assert_contains "the error names the field" "$ERR" \
	"linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
assert_not_contains "the process never ran" "$OUT" "should-not-run"
assert_no_leftovers "after the refused profile" "$ID"

container no-agent
cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $p,
	syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}' --arg p "$TEST_TMP/nobody.sock"
run_sh "$ID" 'echo should-not-run'
assert_rc "an unreachable seccomp agent fails create" 1
assert_contains "the error names listenerPath" "$ERR" "linux.seccomp.listenerPath: connect to the seccomp agent"
assert_no_leftovers "after the unreachable agent" "$ID"

# ---- SCMP_ACT_NOTIFY: the agent gets the fd and the state, and answers mkdir with EXDEV

# A minimal seccomp agent: accept one connection, keep the message, answer every notification
# with -EXDEV until the filter has no users left.
agent_py='
import array, fcntl, json, os, select, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
open(path + ".ready", "w").close()
conn, _ = srv.accept()
msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4))
fds = array.array("i")
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: fds.itemsize])
while True:
    more = conn.recv(65536)
    if not more:
        break
    msg += more
with open(out, "wb") as f:
    f.write(msg)
fd = fds[0]
RECV, SEND = 0xC0502100, 0xC0182101  # SECCOMP_IOCTL_NOTIF_RECV / _SEND
answered = 0
while True:
    r, _, _ = select.select([fd], [], [], 30)
    if not r:
        break
    req = bytearray(80)
    try:
        fcntl.ioctl(fd, RECV, req)
    except OSError:
        break
    nid = struct.unpack_from("=Q", req, 0)[0]
    fcntl.ioctl(fd, SEND, bytearray(struct.pack("=QqiI", nid, 0, -18, 0)))
    answered += 1
with open(out + ".answered", "w") as f:
    f.write(str(answered))
'
if command -v python3 >/dev/null 2>&1; then
	container notify
	sock=$TEST_TMP/agent.sock
	env "$MARK" python3 -c "$agent_py" "$sock" "$TEST_TMP/agent.json" </dev/null >"$TEST_TMP/agent.out" 2>&1 &
	agent=$!
	track_pid "$agent"
	wait_file "$sock.ready" 10 || test -e "$sock.ready" || die "the seccomp agent did not start"
	cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $p, listenerMetadata: "hello-agent",
		syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg p "$sock"
	run_sh "$ID" 'mkdir /tmp/x 2>&1; echo mkdir=$?; test -d /tmp/x && echo exists || echo absent'
	assert_ok "run with mkdir handed to the seccomp agent"
	assert_contains "the agent's answer (EXDEV) is what mkdir returns" "$OUT" "Invalid cross-device link"
	assert_contains "no directory was made" "$OUT" "absent"
	for _ in $(seq 100); do alive "$agent" || break; sleep 0.1; done
	assert_false "the agent saw the filter's users go and exited" alive "$agent"
	msg=$(cat "$TEST_TMP/agent.json" 2>/dev/null)
	info "agent got: $msg"
	assert_eq "message: fds" '["seccompFd"]' "$(jq -c .fds <<<"$msg")"
	assert_eq "message: metadata" "hello-agent" "$(jq -r .metadata <<<"$msg")"
	assert_eq "message: state.id" "$ID" "$(jq -r .state.id <<<"$msg")"
	assert_eq "message: state.status (as runc sends it)" "running" "$(jq -r .state.status <<<"$msg")"
	assert_eq "message: state.bundle" "$BUNDLE" "$(jq -r .state.bundle <<<"$msg")"
	assert_eq "message: pid is the init's" "$(jq -r .state.pid <<<"$msg")" "$(jq -r .pid <<<"$msg")"
	assert_eq "message: ociVersion" "1.2.0" "$(jq -r .ociVersion <<<"$msg")"
	assert_eq "the agent answered one notification" 1 "$(cat "$TEST_TMP/agent.json.answered" 2>/dev/null)"
	assert_no_leftovers "after the notify run" "$ID"
else
	info "python3 is not installed: the SCMP_ACT_NOTIFY agent case is not run"
fi

finish

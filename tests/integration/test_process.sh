#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# The process a container runs: pid 1, hostname, domainname, capabilities (all five sets read
# back from /proc/self/status), rlimits, noNewPrivileges, uid/gid/additionalGids, umask, cwd, env,
# args, descriptors (no leaks; --preserve-fds).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# field NAME: a field of /proc/self/status as the container printed it ("Name:\tvalue" lines).
field() { awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' <<<"$OUT"; }

# ---- pid 1, hostname, domainname
container uts
cfg '.hostname = "berth-host" | .domainname = "berth-domain"'
run_sh "$ID" 'echo "pid=$$"; echo "hostname=$(hostname)"; echo "domainname=$(cat /proc/sys/kernel/domainname)"'
assert_ok "run"
assert_contains "the process is pid 1" "$OUT" "pid=1"$'\n'
assert_contains "hostname" "$OUT" "hostname=berth-host"$'\n'
assert_contains "domainname" "$OUT" "domainname=berth-domain"
assert_eq "the host's hostname is untouched" "$(hostname)" "$(cat /proc/sys/kernel/hostname)"
assert_ne "the host's hostname is not the container's" berth-host "$(hostname)"

# ---- capabilities as root: CAP_CHOWN(0) CAP_KILL(5) CAP_NET_BIND_SERVICE(10) CAP_AUDIT_WRITE(29)
container caps
set4='["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]'
cfg ".process.capabilities = {bounding: $set4, effective: $set4, permitted: $set4,
	inheritable: [\"CAP_KILL\"], ambient: [\"CAP_KILL\"]}"
run_sh "$ID" 'cat /proc/self/status'
assert_ok "run (capabilities, root)"
assert_eq "root: CapBnd" 0000000020000421 "$(field CapBnd)"
assert_eq "root: CapEff" 0000000020000421 "$(field CapEff)"
assert_eq "root: CapPrm" 0000000020000421 "$(field CapPrm)"
assert_eq "root: CapInh" 0000000000000020 "$(field CapInh)"
assert_eq "root: CapAmb" 0000000000000020 "$(field CapAmb)"

# ---- capabilities as a non-root user: only the ambient set survives execve
container caps-user
cfg ".process.user = {uid: 1000, gid: 1000} | .process.capabilities = {bounding: $set4,
	effective: $set4, permitted: $set4, inheritable: [\"CAP_KILL\"], ambient: [\"CAP_KILL\"]}"
run_sh "$ID" 'cat /proc/self/status'
assert_ok "run (capabilities, uid 1000)"
assert_eq "uid 1000: CapBnd" 0000000020000421 "$(field CapBnd)"
assert_eq "uid 1000: CapEff (ambient)" 0000000000000020 "$(field CapEff)"
assert_eq "uid 1000: CapPrm (ambient)" 0000000000000020 "$(field CapPrm)"
assert_eq "uid 1000: CapInh" 0000000000000020 "$(field CapInh)"
assert_eq "uid 1000: CapAmb" 0000000000000020 "$(field CapAmb)"

# ---- no capabilities at all
container nocaps
cfg '.process.capabilities = {bounding: [], effective: [], permitted: []}'
run_sh "$ID" 'cat /proc/self/status'
assert_ok "run (no capabilities)"
assert_eq "empty sets: CapBnd" 0000000000000000 "$(field CapBnd)"
assert_eq "empty sets: CapEff" 0000000000000000 "$(field CapEff)"
assert_eq "empty sets: CapPrm" 0000000000000000 "$(field CapPrm)"

# ---- rlimits and noNewPrivileges
container limits
cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1000, hard: 2000},
	{type: "RLIMIT_CORE", soft: 0, hard: 4096}, {type: "RLIMIT_NPROC", soft: 300, hard: 400}]'
run_sh "$ID" 'echo "soft=$(ulimit -n) hard=$(ulimit -Hn)"; cat /proc/self/limits; grep NoNewPrivs /proc/self/status'
assert_ok "run (rlimits)"
assert_contains "ulimit -n / -Hn" "$OUT" "soft=1000 hard=2000"
assert_match "RLIMIT_NOFILE in /proc/self/limits" 'Max open files +1000 +2000 +files' "$OUT"
assert_match "RLIMIT_CORE in /proc/self/limits" 'Max core file size +0 +4096 +bytes' "$OUT"
assert_match "RLIMIT_NPROC in /proc/self/limits" 'Max processes +300 +400 +processes' "$OUT"
assert_match "noNewPrivileges: true" 'NoNewPrivs:[[:space:]]+1' "$OUT"

container nnp-off
cfg '.process.noNewPrivileges = false'
run_sh "$ID" 'grep NoNewPrivs /proc/self/status'
assert_ok "run (noNewPrivileges false)"
assert_match "noNewPrivileges: false" 'NoNewPrivs:[[:space:]]+0' "$OUT"

# ---- user, groups, umask, cwd, env
container user
mkdir -p "$BUNDLE/rootfs/work/dir"
cfg '.process.user = {uid: 1000, gid: 1001, additionalGids: [10, 20, 65534], umask: 63}
	| .process.cwd = "/work/dir"
	| .process.env += ["FOO=bar baz", "EMPTY="]'
run_sh "$ID" 'cat /proc/self/status; echo "id=$(id -u):$(id -g)"; echo "umask=$(umask)"; echo "cwd=$(pwd)";
	echo "FOO=$FOO"; echo "EMPTY=${EMPTY-unset}"; echo "HOME=${HOME-unset}"; env | sort'
assert_ok "run (user)"
assert_eq "Uid (real effective saved fs)" "1000 1000 1000 1000" "$(field Uid | tr -s '\t ' '  ')"
assert_eq "Gid (real effective saved fs)" "1001 1001 1001 1001" "$(field Gid | tr -s '\t ' '  ')"
assert_eq "Groups (additionalGids)" "10 20 65534" "$(field Groups | xargs -n1 | sort -n | xargs)"
assert_contains "id -u / id -g" "$OUT" "id=1000:1001"
assert_contains "umask 0077" "$OUT" "umask=0077"
assert_contains "cwd" "$OUT" "cwd=/work/dir"
assert_contains "env with a space" "$OUT" "FOO=bar baz"
assert_contains "empty env value" "$OUT" $'\nEMPTY=\n'
assert_contains "PATH from the config" "$OUT" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
assert_not_contains "berth's own environment does not leak into the container" "$OUT" "BERTH_SRC="

# ---- user with no additionalGids: supplementary groups are cleared (root's would leak otherwise)
container nogroups
cfg '.process.user = {uid: 65534, gid: 65534}'
run_sh "$ID" 'cat /proc/self/status'
assert_ok "run (nobody)"
assert_eq "nobody: Uid" "65534 65534 65534 65534" "$(field Uid | tr -s '\t ' '  ')"
assert_eq "nobody: no supplementary groups" "" "$(field Groups | xargs)"

# ---- args are passed verbatim (spaces, quotes, empty strings)
container args
cfg_args sh -c 'for a in "$@"; do echo "[$a]"; done' argv0 'a b' '' "it's" '$HOME'
b run --bundle "$BUNDLE" "$ID"
assert_ok "run (args)"
assert_eq "args verbatim" "[a b]"$'\n'"[]"$'\n'"[it's]"$'\n''[$HOME]' "$OUT"

# ---- linux.sysctl (a namespaced one: the host's value must not change) and oomScoreAdj
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
want_fwd=$((1 - host_fwd))
container sysctl
cfg '.linux.sysctl = {"net.ipv4.ip_forward": $v} | .process.oomScoreAdj = 500' --arg v "$want_fwd"
run_sh "$ID" 'echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) oom=$(cat /proc/self/oom_score_adj)"'
assert_ok "run (sysctl, oomScoreAdj)"
assert_contains "linux.sysctl applied in the container's network namespace" "$OUT" "ip_forward=$want_fwd"
assert_contains "process.oomScoreAdj" "$OUT" "oom=500"
assert_eq "the host's ip_forward is unchanged" "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)"

# ---- descriptors: only stdio reaches the container, unless --preserve-fds passes more
fd_script='for f in /proc/self/fd/*; do l=$(readlink "$f") && [ -n "$l" ] && echo "${f##*/}"; done; echo x >&3 && echo fd3=ok'
container fds
cfg_args sh -c "$fd_script"
exec 3>"$TEST_TMP/fd3" 4>"$TEST_TMP/fd4"
b run --bundle "$BUNDLE" "$ID"
exec 3>&- 4>&-
assert_eq "no descriptor but 0 1 2 leaks into the container" "0 1 2" "$(grep -x '[0-9]*' <<<"$OUT" | xargs)"
assert_eq "fd 3 was not passed" "" "$(cat "$TEST_TMP/fd3")"

container preserve
cfg_args sh -c "$fd_script"
exec 3>"$TEST_TMP/fd3" 4>"$TEST_TMP/fd4"
b run --preserve-fds 1 --bundle "$BUNDLE" "$ID"
exec 3>&- 4>&-
assert_ok "run --preserve-fds 1"
assert_eq "--preserve-fds 1 passes fd 3 only" "0 1 2 3" "$(grep -x '[0-9]*' <<<"$OUT" | xargs)"
assert_eq "the container wrote to the preserved fd 3" x "$(cat "$TEST_TMP/fd3")"

# ---- a missing executable is a clean error
container noexec
cfg_args /no/such/binary
b run --bundle "$BUNDLE" "$ID"
assert_failed "run of a missing executable fails"
assert_contains "the error names the executable" "$ERR" "/no/such/binary"
assert_no_leftovers "after a failed exec" "$ID"

finish

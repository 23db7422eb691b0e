#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters
# The bad-input matrix (DESIGN.md section 6, issue 9): some 200 malformed or hostile config.json
# documents, generated here from the base config: wrong types for every major field, huge and
# negative numbers, 10000 levels of nesting, NUL bytes, 70 KB strings in each string field, path
# traversal in every path field, invalid UTF-8, duplicate keys, unknown enum values, documents that
# are not a config at all. For each, `berth create`:
#   - never crashes: exit 1 (or 2 for usage), never a signal or a timeout;
#   - names the field (or, for a document that is not JSON, the document) on stderr;
#   - leaves nothing: no state dir under --root, no cgroup /berth-test/<id>, no process, no mount.
# A path-traversal value the spec allows (a mount destination or cwd is resolved inside the rootfs;
# sources and hook paths are host paths) may instead be accepted: then nothing may appear in the
# canary directories beside the rootfs, and delete must leave nothing either.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd sed head
# shellcheck disable=SC2034 # read by lib.sh: no "+ command" line per berth call
QUIET=1

# One bundle for every case: the config is rewritten each time (the cases run one after another).
new_id base
bundle_new "$ID"
BASE=$TEST_TMP/base.json
base_config '@ID@' >"$BASE"
# rootfs = $BUNDLE/rootfs: "/../canary" from the rootfs is $BUNDLE/canary, "/../../canary" is
# $TEST_TMP/canary. A confined path never reaches either.
CANARY_NEAR=$BUNDLE/canary
CANARY_FAR=$TEST_TMP/canary
mkdir -p "$CANARY_NEAR" "$CANARY_FAR"
BIG=$(head -c 71680 /dev/zero | tr '\0' 'a') # 70 KB
NCASES=0
NACCEPTED=0

# cfg_from FILTER [JQ-ARGS...]: config.json = the base config (with this case's id) | FILTER.
cfg_from() {
	local filter=$1
	shift
	jq --arg id "$ID" --arg big "$BIG" '(.linux.cgroupsPath = "/berth-test/" + $id) | '"$filter" \
		"$BASE" "$@" >"$BUNDLE/config.json" || die "jq failed for case $NCASES: $filter"
}

# cfg_text SED-EXPR: config.json = the compact base config (this case's id) edited as text, for
# what jq cannot write (invalid UTF-8, duplicate keys, nesting beyond its limits, ...).
cfg_text() {
	jq -c --arg id "$ID" '.linux.cgroupsPath = "/berth-test/" + $id' "$BASE" |
		LC_ALL=C sed -e "$1" >"$BUNDLE/config.json" || die "sed failed for case $NCASES: $1"
}

# shellcheck disable=SC2317 # called through assert_true
canaries_empty() {
	[ -z "$(find "$CANARY_NEAR" "$CANARY_FAR" -mindepth 1 -print -quit)" ]
}

# run_case MODE NEEDLE DESC: create the bundle's current config as a fresh id.
#   MODE fail:   create must fail cleanly (exit 1 or 2) with NEEDLE in stderr;
#   MODE either: the same, or succeed with nothing outside the rootfs (then delete it).
run_case() {
	local mode=$1 needle=$2 desc="case $NCASES: $3"
	b create --bundle "$BUNDLE" "$ID"
	check
	if [ "$RC" -eq 0 ] && [ "$mode" = either ]; then
		NACCEPTED=$((NACCEPTED + 1))
		pass "$desc: accepted (allowed for this field)"
		assert_true "$desc: nothing written outside the rootfs" canaries_empty
		b delete --force "$ID"
		assert_ok "$desc: delete --force"
	elif [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ]; then
		pass "$desc: refused with exit $RC"
		assert_contains "$desc: stderr names '$needle'" "$ERR" "$needle"
		assert_true "$desc: nothing written outside the rootfs" canaries_empty
	else
		fail "$desc: exit status" "1 or 2 (a clean refusal)" "$RC; stderr: $(head -c 400 <<<"$ERR")"
		if [ "$RC" -eq 0 ]; then b delete --force "$ID"; fi
	fi
	assert_no_leftovers "$desc" "$ID"
	rm -rf "${CANARY_NEAR:?}"/* "${CANARY_FAR:?}"/* "$BUNDLE/rootfs/canary"
}

# bad NEEDLE FILTER [JQ-ARGS...]: base | FILTER must be refused, naming NEEDLE.
bad() {
	local needle=$1 filter=$2
	shift 2
	NCASES=$((NCASES + 1))
	new_id "m$NCASES"
	cfg_from "$filter" "$@"
	run_case fail "$needle" "${filter:0:90}"
}

# either NEEDLE FILTER [JQ-ARGS...]: refused naming NEEDLE, or accepted and confined.
either() {
	local needle=$1 filter=$2
	shift 2
	NCASES=$((NCASES + 1))
	new_id "m$NCASES"
	cfg_from "$filter" "$@"
	run_case either "$needle" "${filter:0:90}"
}

# bad_text NEEDLE SED-EXPR DESC / either_text ...: the same for a textual edit.
bad_text() {
	NCASES=$((NCASES + 1))
	new_id "m$NCASES"
	cfg_text "$2"
	run_case fail "$1" "$3"
}
either_text() {
	NCASES=$((NCASES + 1))
	new_id "m$NCASES"
	cfg_text "$2"
	run_case either "$1" "$3"
}

# bad_doc NEEDLE DESC: config.json is whatever is on stdin.
bad_doc() {
	NCASES=$((NCASES + 1))
	new_id "m$NCASES"
	cat >"$BUNDLE/config.json"
	run_case fail "$1" "$2"
}

# ---------------------------------------------------------------- the base config works
new_id sanity
cfg_from '.'
b create --bundle "$BUNDLE" "$ID"
assert_ok "the unmodified base config is accepted (so every refusal below is the case's own)"
b delete --force "$ID"
assert_no_leftovers "the base config" "$ID"

# ---------------------------------------------------------------- wrong types
bad ociVersion '.ociVersion = 1'
bad ociVersion '.ociVersion = []'
bad ociVersion 'del(.ociVersion)'
bad root '.root = "rootfs"'
bad root.path '.root.path = 5'
bad root.readonly '.root.readonly = "yes"'
bad hostname '.hostname = 7'
bad domainname '.domainname = {}'
bad process '.process = []'
bad process.terminal '.process.terminal = "no"'
bad process.user '.process.user = "root"'
bad process.user.uid '.process.user.uid = "0"'
bad process.user.gid '.process.user.gid = true'
bad process.user.additionalGids '.process.user.additionalGids = 5'
bad process.user.additionalGids '.process.user.additionalGids = ["a"]'
bad process.user.umask '.process.user.umask = "022"'
bad process.user.username '.process.user.username = 0'
bad process.args '.process.args = "sh"'
bad process.args '.process.args = [1, 2]'
bad process.args '.process.args = null | del(.process.args)'
bad process.env '.process.env = "A=1"'
bad process.env '.process.env = [{}]'
bad process.cwd '.process.cwd = 0'
bad process.capabilities '.process.capabilities = []'
bad process.capabilities.bounding '.process.capabilities.bounding = "CAP_KILL"'
bad process.capabilities.effective '.process.capabilities.effective = [1]'
bad process.capabilities.ambient '.process.capabilities.ambient = {}'
bad process.rlimits '.process.rlimits = {}'
bad 'process.rlimits[0].type' '.process.rlimits[0].type = 1'
bad 'process.rlimits[0].hard' '.process.rlimits[0].hard = "x"'
bad 'process.rlimits[0].soft' '.process.rlimits[0].soft = []'
bad process.noNewPrivileges '.process.noNewPrivileges = 1'
bad process.oomScoreAdj '.process.oomScoreAdj = "5"'
bad process.apparmorProfile '.process.apparmorProfile = 1'
bad process.selinuxLabel '.process.selinuxLabel = []'
bad process.consoleSize '.process.consoleSize = 1'
bad process.scheduler '.process.scheduler = "x"'
bad process.ioPriority '.process.ioPriority = []'
bad mounts '.mounts = {}'
bad 'mounts[0]' '.mounts[0] = "proc"'
bad 'mounts[0].destination' '.mounts[0].destination = 1'
bad 'mounts[1].type' '.mounts[1].type = []'
bad 'mounts[1].source' '.mounts[1].source = {}'
bad 'mounts[1].options' '.mounts[1].options = "ro"'
bad 'mounts[1].options' '.mounts[1].options = [1]'
bad 'mounts[0].uidMappings' '.mounts[0].uidMappings = "0:0:1"'
bad hooks '.hooks = []'
bad hooks.prestart '.hooks = {prestart: {}}'
bad 'hooks.prestart[0].path' '.hooks = {prestart: [{path: 1}]}'
bad 'hooks.createRuntime[0].args' '.hooks = {createRuntime: [{path: "/bin/true", args: "x"}]}'
bad 'hooks.poststop[0].timeout' '.hooks = {poststop: [{path: "/bin/true", timeout: "5"}]}'
bad 'hooks.createContainer[0].env' '.hooks = {createContainer: [{path: "/bin/true", env: [1]}]}'
bad annotations '.annotations = []'
bad annotations '.annotations = {x: 1}'
bad linux '.linux = "x"'
bad linux.namespaces '.linux.namespaces = {}'
bad 'linux.namespaces[0].type' '.linux.namespaces[0].type = 1'
bad 'linux.namespaces[0].path' '.linux.namespaces[0].path = 1'
bad linux.uidMappings '.linux.uidMappings = {}'
bad 'linux.uidMappings[0].hostID' '.linux.uidMappings = [{containerID: 0, hostID: "0", size: 1}]'
bad linux.devices '.linux.devices = "x"'
bad 'linux.devices[0].major' '.linux.devices = [{path: "/dev/x", type: "c", major: "1", minor: 1}]'
bad linux.cgroupsPath '.linux.cgroupsPath = 1'
bad linux.resources '.linux.resources = []'
bad linux.resources.memory.limit '.linux.resources.memory = {limit: "1G"}'
bad linux.resources.cpu.shares '.linux.resources.cpu = {shares: "x"}'
bad linux.resources.pids.limit '.linux.resources.pids = {limit: "x"}'
bad linux.resources.devices '.linux.resources.devices = {}'
bad linux.resources.blockIO.weight '.linux.resources.blockIO = {weight: "x"}'
bad linux.resources.hugepageLimits '.linux.resources.hugepageLimits = {}'
bad linux.resources.unified '.linux.resources.unified = []'
bad linux.sysctl '.linux.sysctl = []'
bad linux.sysctl '.linux.sysctl = {"net.ipv4.ip_forward": 1}'
bad linux.seccomp '.linux.seccomp = []'
bad linux.seccomp.defaultAction '.linux.seccomp = {defaultAction: 1}'
bad linux.seccomp.syscalls '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: {}}'
bad linux.maskedPaths '.linux.maskedPaths = "x"'
bad linux.readonlyPaths '.linux.readonlyPaths = [1]'
bad linux.rootfsPropagation '.linux.rootfsPropagation = 1'
bad linux.mountLabel '.linux.mountLabel = 1'
bad linux.personality '.linux.personality = "x"'
bad linux.timeOffsets '.linux.timeOffsets = []'
bad linux.intelRdt '.linux.intelRdt = 1'

# ---------------------------------------------------------------- huge and negative numbers
# (jq prints 2^64 and beyond in full; numbers past int64 reach berth as JSON number text.)
bad process.user.uid '.process.user.uid = 4294967296'
bad process.user.uid '.process.user.uid = 18446744073709551616'
bad process.user.uid '.process.user.uid = -1'
bad process.user.uid '.process.user.uid = 1.5'
bad process.user.gid '.process.user.gid = 4294967296'
bad process.user.gid '.process.user.gid = -1'
bad process.user.additionalGids '.process.user.additionalGids = [4294967296]'
bad process.user.umask '.process.user.umask = -1'
bad 'process.rlimits[0].hard' '.process.rlimits[0].hard = -1'
bad 'process.rlimits[0].soft' '.process.rlimits[0].soft = 18446744073709551616'
bad process.oomScoreAdj '.process.oomScoreAdj = 1001'
bad process.oomScoreAdj '.process.oomScoreAdj = -9223372036854775809'
bad process.consoleSize '.process.consoleSize = {height: -1, width: 80}'
bad linux.resources.memory.limit '.linux.resources.memory = {limit: 18446744073709551616}'
bad linux.resources.cpu.shares '.linux.resources.cpu = {shares: -5}'
bad linux.resources.cpu.period '.linux.resources.cpu = {period: -1}'
bad linux.resources.pids.limit '.linux.resources.pids = {limit: 18446744073709551616}'
bad 'linux.uidMappings[0].size' '.linux.uidMappings = [{containerID: 0, hostID: 0, size: 4294967296}]'
bad 'linux.uidMappings[0].hostID' '.linux.uidMappings = [{containerID: 0, hostID: -1, size: 1}]'
bad 'linux.devices[0].major' '.linux.devices = [{path: "/dev/x", type: "c", major: -1, minor: 1}]'
bad 'linux.devices[0].minor' '.linux.devices = [{path: "/dev/x", type: "c", major: 1, minor: 4294967296}]'
bad 'linux.devices[0].fileMode' '.linux.devices = [{path: "/dev/x", type: "c", major: 1, minor: 3, fileMode: 4294967296}]'
bad 'hooks.poststop[0].timeout' '.hooks = {poststop: [{path: "/bin/true", timeout: -1}]}'
bad 'linux.seccomp.syscalls[0].errnoRet' '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 4294967296}]}'
bad 'linux.seccomp.syscalls[0].args[0].index' '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{index: 4294967296, value: 0, op: "SCMP_CMP_EQ"}]}]}'
bad linux.timeOffsets '.linux.timeOffsets = {monotonic: {secs: 18446744073709551616, nanosecs: 0}}'
bad linux.resources.blockIO.weight '.linux.resources.blockIO = {weight: 65536}'

# ---------------------------------------------------------------- 10000 levels of nesting
deep=$(printf '%10000s' '' | tr ' ' '[')$(printf '%10000s' '' | tr ' ' ']')
deep_obj=$(printf '{"a":%.0s' $(seq 10000))1$(printf '}%.0s' $(seq 10000))
bad_text "nested too deeply" "s/\"hostname\":\"berth\"/\"hostname\":$deep/" "10000 nested arrays in hostname"
bad_text "nested too deeply" "s/^{/{\"annotations\":$deep_obj,/" "10000 nested objects in annotations"
bad_text "nested too deeply" "s/\"env\":\[/\"env\":[$deep,/" "10000 nested arrays in process.env"
bad_doc "nested too deeply" "10000 nested arrays as the document" <<<"$deep"

# ---------------------------------------------------------------- NUL bytes
bad '\u0000' '.process.args[0] = "sh\u0000x"'
bad '\u0000' '.process.cwd = "/\u0000/etc"'
bad '\u0000' '.process.env[0] = "PATH=/bin\u0000"'
bad '\u0000' '.hostname = "a\u0000b"'
bad '\u0000' '.root.path = "rootfs\u0000/../.."'
bad '\u0000' '.mounts[0].destination = "/proc\u0000x"'
bad '\u0000' '.mounts[1].options[0] = "nosuid\u0000,suid"'
bad '\u0000' '.annotations = {"k\u0000ey": "v"}'
bad '\u0000' '.annotations = {"key": "v\u0000"}'
bad '\u0000' '.linux.cgroupsPath = "/berth-test/\u0000x"'
bad '\u0000' '.linux.sysctl = {"net.ipv4\u0000.x": "1"}'
bad '\u0000' '.hooks = {prestart: [{path: "/bin/true\u0000"}]}'

# ---------------------------------------------------------------- 70 KB strings in each string field
either ociVersion '.ociVersion = $big'
bad root.path '.root.path = $big'
bad hostname '.hostname = $big'
bad domainname '.domainname = $big'
either 'exec: ' '.process.args[0] = $big'
either 'process.env[2]' '.process.env[2] = "X=" + $big'
bad process.env '.process.env[2] = $big'
bad process.cwd '.process.cwd = "/" + $big'
either process.user.username '.process.user.username = $big'
either process.apparmorProfile '.process.apparmorProfile = $big'
either process.selinuxLabel '.process.selinuxLabel = $big'
either 'process.capabilities.bounding[0]' '.process.capabilities.bounding[0] = $big'
bad 'process.rlimits[0].type' '.process.rlimits[0].type = $big'
bad 'mounts[1]' '.mounts[1].destination = "/" + $big'
bad 'mounts[1]' '.mounts[1].type = $big'
either 'mounts[1]' '.mounts[1].source = $big'
bad 'mounts[1]' '.mounts[1].options[0] = $big'
bad 'prestart hook[0]' '.hooks = {prestart: [{path: ("/" + $big)}]}'
either 'hooks.poststop[0].args' '.hooks = {poststop: [{path: "/bin/true", args: ["true", $big]}]}'
either annotations '.annotations = {($big): "v"}'
either annotations '.annotations = {"k": $big}'
bad linux.cgroupsPath '.linux.cgroupsPath = "/berth-test/" + $big'
bad 'linux.namespaces[0].type' '.linux.namespaces[0].type = $big'
bad 'linux.namespaces[1]' '.linux.namespaces[1].path = "/" + $big'
bad 'linux.devices[0]' '.linux.devices = [{path: ("/dev/" + $big), type: "c", major: 1, minor: 3}]'
bad linux.sysctl '.linux.sysctl = {($big): "1"}'
bad linux.sysctl '.linux.sysctl = {"net.ipv4.ip_forward": $big}'
either maskedPaths '.linux.maskedPaths[0] = "/" + $big'
either readonlyPaths '.linux.readonlyPaths[0] = "/" + $big'
either linux.mountLabel '.linux.mountLabel = $big'
bad linux.rootfsPropagation '.linux.rootfsPropagation = $big'
bad linux.seccomp.defaultAction '.linux.seccomp = {defaultAction: $big}'
either 'linux.seccomp.syscalls[0].names[0]' '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: [$big], action: "SCMP_ACT_ERRNO"}]}'
bad linux.resources.cpu.cpus '.linux.resources.cpu = {cpus: $big}'
bad linux.resources.unified '.linux.resources.unified = {($big): "1"}'
bad 'linux.resources.hugepageLimits[0].pageSize' '.linux.resources.hugepageLimits = [{pageSize: $big, limit: 1}]'

# ---------------------------------------------------------------- path traversal in every path field
# root.path is a host path (relative to the bundle): these do not exist.
bad root.path '.root.path = "../../no-such-root-dir"'
bad root.path '.root.path = "/../../no-such-root-dir"'
bad root.path '.root.path = "rootfs/../../../no-such-root-dir"'
# Mount destinations resolve inside the rootfs ("/.." stays at its root).
either 'mounts[6]' '.mounts += [{destination: "/../../canary/m1", type: "tmpfs", source: "tmpfs"}]'
either 'mounts[6]' '.mounts += [{destination: "/../canary/m2", type: "tmpfs", source: "tmpfs"}]'
either 'mounts[6]' '.mounts += [{destination: "/proc/../../../canary/m3", type: "tmpfs", source: "tmpfs"}]'
bad 'mounts[6].destination' '.mounts += [{destination: "../../canary/m4", type: "tmpfs", source: "tmpfs"}]'
either 'mounts[6]' '.mounts += [{destination: "/../../etc", type: "tmpfs", source: "tmpfs"}]'
# Mount sources are host paths (relative ones from the bundle): binding one is allowed, and
# writes nothing; one that does not exist is an error naming it.
either 'mounts[6]' '.mounts += [{destination: "/mnt/s1", type: "bind", source: "../canary", options: ["rbind", "ro"]}]'
either 'mounts[6]' '.mounts += [{destination: "/mnt/s2", type: "bind", source: "/../../etc", options: ["rbind", "ro"]}]'
bad no-such-src '.mounts += [{destination: "/mnt/s3", type: "bind", source: "../../no-such-src", options: ["rbind"]}]'
# process.cwd resolves inside the rootfs too (it is made if missing, as runc does).
either process.cwd '.process.cwd = "/../../canary/cwd"'
either process.cwd '.process.cwd = "/../canary/cwd"'
bad process.cwd '.process.cwd = "../../canary"'
# Hook paths are host paths; they must be absolute and exist.
bad 'hooks.prestart[0].path' '.hooks = {prestart: [{path: "../../bin/true"}]}'
bad no-such-hook '.hooks = {createRuntime: [{path: "/../../no-such-hook"}]}'
either 'hooks.prestart[0]' '.hooks = {prestart: [{path: "/../../bin/true"}]}'
# Device nodes are made inside the rootfs.
either 'linux.devices[0]' '.linux.devices = [{path: "/dev/../../canary/null1", type: "c", major: 1, minor: 3}]'
either 'linux.devices[0]' '.linux.devices = [{path: "/../canary/null2", type: "c", major: 1, minor: 3}]'
bad 'linux.devices[0].path' '.linux.devices = [{path: "../../canary/null3", type: "c", major: 1, minor: 3}]'
# Masked and read-only paths name paths inside the container.
either 'linux.maskedPaths[0]' '.linux.maskedPaths = ["/../../canary", "/../canary/x"]'
bad 'linux.maskedPaths[0]' '.linux.maskedPaths = ["../../canary"]'
either 'linux.readonlyPaths[0]' '.linux.readonlyPaths = ["/../../canary", "/proc/../../canary"]'
bad 'linux.readonlyPaths[0]' '.linux.readonlyPaths = ["../../canary"]'
# Namespace paths are host paths: these are not namespaces.
bad 'linux.namespaces[1]' '.linux.namespaces[1].path = "/proc/self/ns/../../../etc/passwd"'
bad 'linux.namespaces[1].path' '.linux.namespaces[1].path = "../../canary"'
bad 'linux.namespaces[1]' '.linux.namespaces[1].path = "/../../no-such-ns"'
# cgroupsPath: ".." must not climb out of the cgroup hierarchy.
bad linux.cgroupsPath '.linux.cgroupsPath = "/berth-test/../../../" + $id'
bad linux.cgroupsPath '.linux.cgroupsPath = "/berth-test/" + $id + "/.."'
bad linux.cgroupsPath '.linux.cgroupsPath = "../" + $id'
# sysctl keys name files below /proc/sys.
bad linux.sysctl '.linux.sysctl = {"net/../../../etc/passwd": "1"}'
bad linux.sysctl '.linux.sysctl = {"net.ipv4.../../..": "1"}'
bad linux.sysctl '.linux.sysctl = {"../../canary": "1"}'

# ---------------------------------------------------------------- unknown enum values
bad bogus '.linux.namespaces += [{type: "bogus"}]'
bad RLIMIT_BOGUS '.process.rlimits[0].type = "RLIMIT_BOGUS"'
# (an unknown capability name is a warning, as the spec asks: test_compat_process.sh)
bad ociVersion '.ociVersion = "invalid"'
bad linux.rootfsPropagation '.linux.rootfsPropagation = "bogus"'
bad linux.seccomp.defaultAction '.linux.seccomp = {defaultAction: "SCMP_ACT_BOGUS"}'
bad 'linux.seccomp.architectures' '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_BOGUS"]}'
bad 'linux.seccomp.syscalls[0].args[0].op' '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{index: 0, value: 0, op: "SCMP_CMP_BOGUS"}]}]}'
bad 'linux.seccomp.syscalls[0].action' '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["getpid"], action: "SCMP_ACT_BOGUS"}]}'
bad linux.seccomp.flags '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_BOGUS"]}'
bad 'linux.devices[0].type' '.linux.devices = [{path: "/dev/x", type: "z", major: 1, minor: 3}]'
bad 'linux.resources.devices[0].access' '.linux.resources.devices = [{allow: true, type: "c", access: "rwx"}]'
bad 'linux.resources.devices[0].type' '.linux.resources.devices = [{allow: true, type: "q", access: "r"}]'
bad process.scheduler.policy '.process.scheduler = {policy: "SCHED_BOGUS"}'
bad process.ioPriority.class '.process.ioPriority = {class: "IOPRIO_CLASS_BOGUS", priority: 0}'
bad linux.personality.domain '.linux.personality = {domain: "BOGUS"}'
bad linux.timeOffsets '.linux.timeOffsets = {bogus: {secs: 1, nanosecs: 0}}'

# ---------------------------------------------------------------- invalid UTF-8
bad_text 'UTF8' 's/"hostname":"berth"/"hostname":"\xff\xfe"/' "invalid UTF-8 in hostname"
bad_text 'UTF8' 's/"args":\["sh"/"args":["s\xc3\x28"/' "invalid UTF-8 in process.args[0]"
# yajl takes encoded surrogates and overlong forms (the kernel sees bytes, not characters: an
# overlong "/" is not a slash); Go's encoding/json would take them too, as U+FFFD.
either_text 'UTF8' 's/"cwd":"\/"/"cwd":"\/\xed\xa0\x80"/' "a UTF-16 surrogate in process.cwd"
either_text 'UTF8' 's/"hostname"/"host\xc0\xafname"/' "an overlong encoding in a key"
bad_text 'UTF8' 's/"cgroupsPath":"/"cgroupsPath":"\xf8\x88\x80\x80\x80/' "a 5-byte sequence in linux.cgroupsPath"

# ---------------------------------------------------------------- duplicate keys (the last one wins, as in Go)
bad_text process.args 's/}$/,"process":{"args":"sh","cwd":"\/"}}/' "a second process object with a bad args"
either_text process 's/^{/{"process":{"args":"sh"},/' "a bad process object overridden by a later good one"
bad_text hostname 's/}$/,"hostname":5}/' "hostname twice, the second a number"

# ---------------------------------------------------------------- not a config at all
bad_doc config.json "an empty document" </dev/null
bad_doc config.json "whitespace only" <<<"   "
bad_doc config.json "a top-level array" <<<'[{"ociVersion": "1.0.2"}]'
bad_doc config.json "a top-level string" <<<'"config"'
bad_doc config.json "a top-level number" <<<'42'
bad_doc config.json "null" <<<'null'
bad_doc config.json "a truncated document" < <(head -c 300 "$BASE")
bad_doc config.json "trailing garbage" < <(jq -c . "$BASE" && echo '}{')
bad_doc config.json "a comment" < <(echo '/* hi */' && jq -c . "$BASE")
bad_doc config.json "single quotes" <<<"{'ociVersion': '1.0.2'}"
bad_doc config.json "a byte-order mark" < <(printf '\xef\xbb\xbf' && jq -c . "$BASE")

info "$NCASES cases, $NACCEPTED accepted (confined), the rest refused"
check
if [ "$NCASES" -ge 150 ]; then pass "at least 150 cases ($NCASES)"; else fail "at least 150 cases" 150 "$NCASES"; fi
finish

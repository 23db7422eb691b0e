#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# More of the container process, read back from inside: process.oomScoreAdj (up and down),
# linux.personality (LINUX32: uname -m and /proc/self/personality; LINUX), domainname, the
# session keyring (a new one by default, the caller's with --no-new-keyring; read with a tiny
# static probe when a C compiler is at hand), uid/gid/additionalGids as `id` prints them, umask
# (given, and the default 0022) as the mode of a new file, process.env exactly, RLIMIT_NPROC.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

# ---- process.oomScoreAdj
container oom
cfg '.process.oomScoreAdj = 500'
run_sh "$ID" 'cat /proc/self/oom_score_adj'
assert_ok "run (oomScoreAdj 500)"
assert_eq "oom_score_adj inside is 500" 500 "$OUT"
assert_no_leftovers "after oomScoreAdj 500" "$ID"

# Lowering the score needs CAP_SYS_RESOURCE (bit 24), which some sandboxes drop even for root:
# then berth must refuse cleanly, naming the field.
container oom-neg
cfg '.process.oomScoreAdj = -300'
run_sh "$ID" 'cat /proc/self/oom_score_adj'
if (((0x$(status_field $$ CapEff) >> 24) & 1)); then
	assert_ok "run (oomScoreAdj -300)"
	assert_eq "oom_score_adj inside is -300 (lowered by the runtime)" -300 "$OUT"
else
	info "the caller lacks CAP_SYS_RESOURCE: a lower oomScoreAdj must be refused"
	assert_rc "run (oomScoreAdj -300) without CAP_SYS_RESOURCE fails" 1
	assert_contains "the error names process.oomScoreAdj" "$ERR" "process.oomScoreAdj"
fi
assert_no_leftovers "after oomScoreAdj -300" "$ID"

container oom-none
run_sh "$ID" 'cat /proc/self/oom_score_adj'
assert_ok "run (no oomScoreAdj)"
assert_eq "without oomScoreAdj the caller's value is inherited" "$(cat /proc/self/oom_score_adj)" "$OUT"

# ---- linux.personality
container linux32
cfg '.linux.personality = {domain: "LINUX32"}'
run_sh "$ID" 'echo "machine=$(uname -m)"; echo "personality=$(cat /proc/self/personality)"'
assert_ok "run (personality LINUX32)"
assert_contains "LINUX32: uname -m is i686" "$OUT" "machine=i686"
assert_contains "LINUX32: /proc/self/personality is PER_LINUX32 (8)" "$OUT" "personality=00000008"
assert_no_leftovers "after personality LINUX32" "$ID"

container linux
cfg '.linux.personality = {domain: "LINUX"}'
run_sh "$ID" 'echo "machine=$(uname -m)"; echo "personality=$(cat /proc/self/personality)"'
assert_ok "run (personality LINUX)"
assert_contains "LINUX: uname -m is the host's" "$OUT" "machine=$(uname -m)"
assert_contains "LINUX: /proc/self/personality is PER_LINUX (0)" "$OUT" "personality=00000000"

# ---- domainname
container domain
cfg '.domainname = "berth.example"'
run_sh "$ID" 'cat /proc/sys/kernel/domainname'
assert_ok "run (domainname)"
assert_eq "domainname inside" berth.example "$OUT"
assert_ne "the host's domainname is untouched" berth.example "$(cat /proc/sys/kernel/domainname)"

# ---- session keyring: new by default, the caller's with --no-new-keyring
probe_src=$TEST_TMP/keyring-probe.c
probe=$TEST_TMP/keyring-probe
cat >"$probe_src" <<'C'
#include <linux/keyctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	if (id < 0) {
		perror("keyctl");
		return 1;
	}
	printf("%ld\n", id);
	return 0;
}
C
cc=$(command -v cc || command -v gcc || command -v clang || true)
if [ -n "$cc" ] && "$cc" -static -O2 -o "$probe" "$probe_src" 2>"$TEST_TMP/cc.err"; then
	host_ring=$("$probe")
	container keyring
	cp "$probe" "$BUNDLE/rootfs/bin/keyring-probe"
	cfg_args /bin/keyring-probe
	b run --bundle "$BUNDLE" "$ID"
	assert_ok "run (default keyring)"
	assert_match "the probe read a keyring id" '^[0-9]+$' "$OUT"
	assert_ne "by default the container has a new session keyring" "$host_ring" "$OUT"
	first_ring=$OUT
	b run --bundle "$BUNDLE" "$ID"
	assert_ok "run (default keyring, again)"
	assert_ne "each container gets its own session keyring" "$first_ring" "$OUT"
	b run --no-new-keyring --bundle "$BUNDLE" "$ID"
	assert_ok "run --no-new-keyring"
	assert_eq "--no-new-keyring keeps the caller's session keyring" "$host_ring" "$OUT"
	assert_no_leftovers "after the keyring runs" "$ID"
else
	info "no static C compiler (cc -static): keyring checks not run: $(head -c 300 "$TEST_TMP/cc.err" 2>/dev/null)"
fi

# ---- user, groups, umask
container user
cfg '.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 63}'
run_sh "$ID" 'id; umask; touch /tmp/new-file && stat -c "mode=%a owner=%u:%g" /tmp/new-file; mkdir /tmp/new-dir && stat -c "dirmode=%a" /tmp/new-dir'
assert_ok "run (uid 1000, gid 1000, additionalGids, umask 0077)"
assert_eq "id, umask and the new files" "uid=1000 gid=1000 groups=10,20
0077
mode=600 owner=1000:1000
dirmode=700" "$OUT"

container umask-default
run_sh "$ID" 'umask; touch /tmp/new-file && stat -c "mode=%a" /tmp/new-file'
assert_ok "run (no umask)"
assert_eq "without process.user.umask the umask is 0022 (as runc)" $'0022\nmode=644' "$OUT"

# ---- process.env exactly (env is run directly: no shell adds PWD or SHLVL)
container env
cfg '.process.env = ["PATH=/bin:/usr/bin", "HOME=/root", "A=1", "B=two words", "EMPTY=", "EQ=x=y", $mark]' \
	--arg mark "$MARK"
cfg_args env
b run --bundle "$BUNDLE" "$ID"
assert_ok "run env"
assert_eq "the environment is exactly process.env" \
	"$(printf '%s\n' "PATH=/bin:/usr/bin" "HOME=/root" "A=1" "B=two words" "EMPTY=" "EQ=x=y" "$MARK" | sort)" \
	"$(sort <<<"$OUT")"

# ---- RLIMIT_NPROC
container nproc
cfg '.process.rlimits = [{type: "RLIMIT_NPROC", soft: 123, hard: 456}]'
run_sh "$ID" 'echo "soft=$(ulimit -u) hard=$(ulimit -Hu)"; grep "^Max processes" /proc/self/limits'
assert_ok "run (RLIMIT_NPROC)"
assert_contains "ulimit -u / -Hu" "$OUT" "soft=123 hard=456"
assert_match "RLIMIT_NPROC in /proc/self/limits" 'Max processes +123 +456 +processes' "$OUT"
assert_no_leftovers "at the end" "$ID"

finish

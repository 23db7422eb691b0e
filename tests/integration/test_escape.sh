#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Container-escape regressions: each case attacks the runtime the way a published CVE attacked
# runc and asserts, on something observable (a canary file unchanged or not created, a
# descriptor not visible, a host mount that did not appear), that the attack failed.
#
#   1. no host descriptor reaches the container, and process.cwd / exec --cwd through
#      /proc/self/fd/N cannot leave the rootfs (CVE-2024-21626 class);
#   2. the not-yet-started init and an exec'd process, while they still run berth's code inside
#      the container's pid namespace, do not expose /proc/<pid>/exe (the host's berth binary),
#      environ or mem to the container (CVE-2019-5736 class);
#   3. maskedPaths and readonlyPaths cannot be subverted by a rootfs whose /dev/null or target is
#      a symlink (CVE-2025-31133 / CVE-2025-52565 class);
#   4. linux.sysctl writes cannot be redirected away from the real procfs (CVE-2025-52881 class);
#   5. a mount destination that is a symlink out of the rootfs is confined, also while the
#      symlink is swapped in a race (CVE-2021-30465 class).
#
# Every attack targets files this test created in its own temp dir, and a COPY of the berth
# binary (case 2), never the build output or a system file.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"

# A host-only marker: a container that can reach it has left its rootfs.
HOSTMARK=$TEST_TMP/hostmark
echo HOSTMARK >"$HOSTMARK"
# Host directory (with a secret) that the attacks try to reach through descriptors.
HOSTDIR=$TEST_TMP/hostdir
mkdir -p "$HOSTDIR"
echo SECRET-HOST-FILE >"$HOSTDIR/hostfile"

# PROBE: tries to read a host file and write a file relative to the cwd (the caller's
# directory descriptor points at HOSTDIR, a directory of this test), then climbs far up and
# looks for the host marker: from a cwd inside the rootfs the climb stops at the container's
# root, where the marker's path does not exist; from a host directory it reaches the host's /.
PROBE='cat hostfile 2>/dev/null
echo pwned >pwned-by-container 2>/dev/null
cd ../../../../../../../../../../../../../../../../../../.. 2>/dev/null
if [ -e ".'"$HOSTMARK"'" ]; then echo ESCAPED-TO-HOST; fi
echo probe-done'
# PROBE_RO: the same climb without writing anything (the cwd may be any host directory).
PROBE_RO='echo "cwd-entries: $(ls -a 2>/dev/null | head -8 | tr "\n" " ")"
cd ../../../../../../../../../../../../../../../../../../.. 2>/dev/null
if [ -e ".'"$HOSTMARK"'" ]; then echo ESCAPED-TO-HOST; fi
echo probe-done'

# fd_list: the container script that prints its descriptors as "FDS=0 1 2 3" (3 is the
# directory ls reads) and tries to use the descriptors 7, 8 and 9 the caller left open.
FD_LIST='echo "FDS=$(ls /proc/self/fd | sort -n | tr "\n" " ")"
for f in /proc/self/fd/*; do echo "fd ${f##*/} -> $(readlink "$f")"; done
echo pwned >&8 && echo WROTE-FD8
cat <&7 && echo READ-FD7
ls /proc/self/fd/9/ 2>/dev/null && echo LISTED-FD9
echo list-done'

# open_host_fds / close_host_fds: the descriptors a careless caller leaves open (no O_CLOEXEC):
# a file, a writable canary, a directory.
FD_CANARY=$TEST_TMP/fd-canary
echo CANARY >"$FD_CANARY"
open_host_fds() {
	exec 7<"$HOSTMARK" 8>>"$FD_CANARY" 9<"$HOSTDIR"
}
close_host_fds() {
	exec 7<&- 8>&- 9<&-
}

# assert_fds_clean DESC OUTPUT EXPECTED-FDS: the container saw exactly EXPECTED-FDS and could
# use none of the caller's descriptors.
assert_fds_clean() {
	local desc=$1 out=$2 want=$3 fds
	fds=$(sed -n 's/^FDS=//p' <<<"$out" | sed 's/ *$//')
	assert_eq "$desc: descriptors in the container" "$want" "$fds"
	assert_not_contains "$desc: caller's fd 8 not writable" "$out" WROTE-FD8
	assert_not_contains "$desc: caller's fd 7 not readable" "$out" READ-FD7
	assert_not_contains "$desc: caller's directory fd 9 not usable" "$out" LISTED-FD9
	assert_not_contains "$desc: no descriptor points at the host dir" "$out" "-> $HOSTDIR"
	assert_contains "$desc: the script ran to the end" "$out" list-done
	assert_eq "$desc: fd canary unchanged" CANARY "$(cat "$FD_CANARY")"
}

# assert_confined DESC OUTPUT: the PROBE in OUTPUT found no way out (or the process never ran).
assert_confined() {
	local desc=$1 out=$2
	assert_not_contains "$desc: host root not reachable from the cwd" "$out" ESCAPED-TO-HOST
	assert_not_contains "$desc: host file not readable from the cwd" "$out" SECRET-HOST-FILE
	assert_false "$desc: no file written into the host dir" test -e "$HOSTDIR/pwned-by-container"
	rm -f "$HOSTDIR/pwned-by-container"
}

# ================================================================ 1. descriptors and cwd

case_fds() {
	local out
	info "case 1: no host descriptor reaches the container (CVE-2024-21626 class)"

	# run
	container fdrun
	cfg_args sh -c "$FD_LIST"
	open_host_fds
	b run --bundle "$BUNDLE" "$ID"
	close_host_fds
	assert_ok "run with fds 7 8 9 open"
	assert_fds_clean "run" "$OUT" "0 1 2 3"

	# create + start (both called with the descriptors open)
	container fdcreate
	cfg_args sh -c "$FD_LIST"
	open_host_fds
	b create --bundle "$BUNDLE" "$ID"
	local out_file=$OUT_FILE
	assert_ok "create with fds 7 8 9 open"
	b start "$ID"
	assert_ok "start with fds 7 8 9 open"
	close_host_fds
	wait_status "$ID" stopped 20
	out=$(cat "$out_file")
	assert_fds_clean "create+start" "$out" "0 1 2 3"
	b delete --force "$ID"

	# exec into a running container
	container fdexec
	cfg_args sleep 120
	b create --bundle "$BUNDLE" "$ID"
	b start "$ID"
	assert_ok "start a container to exec into"
	open_host_fds
	b exec "$ID" sh -c "$FD_LIST"
	close_host_fds
	assert_ok "exec with fds 7 8 9 open"
	assert_fds_clean "exec" "$OUT" "0 1 2 3"

	# --preserve-fds 1: exactly fd 3 (and ls's own, now 4) appears, the others still not
	echo PRESERVED-CONTENT >"$TEST_TMP/preserved"
	exec 3<"$TEST_TMP/preserved"
	open_host_fds
	b exec --preserve-fds 1 "$ID" sh -c "cat <&3; $FD_LIST"
	close_host_fds
	exec 3<&-
	assert_ok "exec --preserve-fds 1"
	assert_fds_clean "exec --preserve-fds 1" "$OUT" "0 1 2 3 4"
	assert_contains "exec --preserve-fds 1: fd 3 is the preserved file" "$OUT" PRESERVED-CONTENT

	local rid=$ID
	container fdpres
	cfg_args sh -c "cat <&3; $FD_LIST"
	exec 3<"$TEST_TMP/preserved"
	open_host_fds
	b run --preserve-fds 1 --bundle "$BUNDLE" "$ID"
	close_host_fds
	exec 3<&-
	assert_ok "run --preserve-fds 1"
	assert_fds_clean "run --preserve-fds 1" "$OUT" "0 1 2 3 4"
	assert_contains "run --preserve-fds 1: fd 3 is the preserved file" "$OUT" PRESERVED-CONTENT

	info "case 1b: process.cwd / exec --cwd through /proc/self/fd/N stays in the rootfs"
	# the caller's directory descriptor 9
	container cwdrun
	cfg '.process.cwd = "/proc/self/fd/9"'
	cfg_args sh -c "$PROBE"
	open_host_fds
	b run --bundle "$BUNDLE" "$ID"
	close_host_fds
	info "run with cwd /proc/self/fd/9 -> $RC"
	assert_confined "run, cwd /proc/self/fd/9 (caller's dir fd)" "$OUT"
	if [ "$RC" -ne 0 ]; then assert_failed "run, cwd /proc/self/fd/9: a clean error"; fi

	open_host_fds
	b exec --cwd /proc/self/fd/9 "$rid" sh -c "$PROBE"
	close_host_fds
	assert_confined "exec --cwd /proc/self/fd/9 (caller's dir fd)" "$OUT"
	if [ "$RC" -ne 0 ]; then assert_failed "exec --cwd /proc/self/fd/9: a clean error"; fi

	# berth's own descriptors (the actual CVE: runc leaked a /sys/fs/cgroup fd): every N. The
	# probe only reads: the cwd may be any host directory.
	local n escaped="" res
	QUIET=1
	for n in $(seq 3 20); do
		container "cwd$n"
		cfg ".process.cwd = \"/proc/self/fd/$n\""
		cfg_args sh -c "$PROBE_RO"
		b run --bundle "$BUNDLE" "$ID"
		res="run -> $RC $(grep cwd-entries <<<"$OUT")"
		if grep -q -e ESCAPED-TO-HOST <<<"$OUT"; then escaped+=" run:$n"; fi
		if [ "$RC" -ge 2 ]; then escaped+=" run:$n(rc=$RC)"; fi
		b exec --cwd "/proc/self/fd/$n" "$rid" sh -c "$PROBE_RO"
		res+="; exec -> $RC $(grep cwd-entries <<<"$OUT")"
		if grep -q -e ESCAPED-TO-HOST <<<"$OUT"; then escaped+=" exec:$n"; fi
		info "cwd /proc/self/fd/$n: $res"
	done
	QUIET=""
	assert_eq "cwd /proc/self/fd/3..20 of berth's own descriptors: no escape" "" "$escaped"
	b delete --force "$rid"
}

# ================================================================ 2. /proc/<pid>/exe

case_exe() {
	info "case 2: /proc/<pid>/exe of berth is not usable from the container (CVE-2019-5736 class)"
	local copy=$TEST_TMP/berthcopy sum res attacker_out
	cp "$BERTH" "$copy" || die "copying berth failed"
	sum=$(sha256sum <"$copy")
	local real_berth=$BERTH
	BERTH=$copy
	# in berth's environment only, never in the container's: seen in an environ = berth's
	export BERTH_ESCAPE_HOST_ENV=host-only

	container exe
	cfg_args sh -c 'echo init-ran; sleep 120'
	b create --bundle "$BUNDLE" "$ID"
	assert_ok "create (init waits on exec.fifo, still berth's code)"
	status_of "$ID"
	assert_eq "the created init runs the berth copy" "$copy" "$(readlink "/proc/$STATE_PID/exe")"

	# From an exec'd process: pid 1 is the waiting init.
	b exec "$ID" sh -c '
		echo "comm1=$(cat /proc/1/comm)"
		(exec 5</proc/1/exe) 2>/dev/null && echo EXE-OPENED-RO
		(exec 5<>/proc/1/exe) 2>/dev/null && echo EXE-OPENED-RW
		(exec 5>>/proc/1/exe) 2>/dev/null && echo EXE-OPENED-W
		readlink /proc/1/exe >/dev/null 2>&1 && echo EXE-LINK-READ
		(exec 5</proc/1/environ) 2>/dev/null && echo ENVIRON-OPENED
		tr "\0" "\n" </proc/1/environ 2>/dev/null | grep -q ^BERTH_ESCAPE_HOST_ENV= && echo ENVIRON-READ
		(exec 5</proc/1/mem) 2>/dev/null && echo MEM-OPENED
		for f in /proc/1/fd/*; do (exec 6<"$f") 2>/dev/null && echo "FD-OPENED:$f"; done
		ls /proc/1/cwd/ >/dev/null 2>&1 && echo CWD-LISTED
		ls /proc/1/root/ >/dev/null 2>&1 && echo ROOT-LISTED
		echo attack-done'
	assert_ok "exec into the created container"
	assert_contains "pid 1 is still berth before start" "$OUT" "comm1=berthcopy"
	assert_contains "the exec'd attack ran" "$OUT" attack-done
	assert_not_contains "/proc/1/exe of the waiting init cannot be opened for writing" "$OUT" EXE-OPENED-W
	assert_not_contains "/proc/1/exe of the waiting init cannot be opened read-write" "$OUT" EXE-OPENED-RW
	assert_not_contains "/proc/1/exe of the waiting init cannot be opened at all (non-dumpable)" "$OUT" EXE-OPENED-RO
	assert_not_contains "/proc/1/exe link of the waiting init is not readable" "$OUT" EXE-LINK-READ
	assert_not_contains "/proc/1/environ of the waiting init cannot be opened" "$OUT" ENVIRON-OPENED
	assert_not_contains "/proc/1/environ of the waiting init leaks nothing" "$OUT" ENVIRON-READ
	assert_not_contains "/proc/1/mem of the waiting init cannot be opened" "$OUT" MEM-OPENED
	assert_not_contains "/proc/1/fd/N of the waiting init cannot be opened" "$OUT" FD-OPENED
	assert_not_contains "/proc/1/cwd of the waiting init is not reachable" "$OUT" CWD-LISTED
	assert_not_contains "/proc/1/root of the waiting init is not reachable" "$OUT" ROOT-LISTED

	# The full attack: hold /proc/1/exe open, and once berth has left (after start) reopen it
	# through /proc/self/fd for writing and overwrite the binary.
	b exec -d "$ID" sh -c '
		exec 2>/dev/null
		# (a failed redirection on the special builtin exec would end the shell: test first)
		if ! (exec 5</proc/1/exe); then echo denied >/tmp/exe-attack; exit 0; fi
		exec 5</proc/1/exe
		echo held >/tmp/exe-attack
		i=0
		while [ $i -lt 100 ]; do
			if printf "\177PWN" 1<>/proc/self/fd/5; then echo OVERWROTE >>/tmp/exe-attack; exit 0; fi
			i=$((i + 1)); sleep 0.1
		done
		echo gave-up >>/tmp/exe-attack'
	assert_ok "exec -d the holding attacker"
	wait_file "$BUNDLE/rootfs/tmp/exe-attack" 10
	b start "$ID"
	assert_ok "start the container"
	wait_status "$ID" running 10
	sleep 1.5
	attacker_out=$(cat "$BUNDLE/rootfs/tmp/exe-attack" 2>/dev/null)
	info "attacker holding /proc/1/exe reports: $(tr '\n' ' ' <<<"$attacker_out")"
	assert_not_contains "holding /proc/1/exe across start gives no write access" "$attacker_out" OVERWROTE
	assert_eq "the berth copy is unchanged after create/exec/start" "$sum" "$(sha256sum <"$copy")"

	# exec race: while `berth exec` runs, a process inside scans for berth processes in its pid
	# namespace (the exec child before its execve) and tries to reach their exe and environ. A
	# process may execve between the comm check and the open: an exe that is busybox, or an
	# environ without berth's own variable, is the exec'd command, not berth.
	b exec -d "$ID" sh -c '
		exec 2>/dev/null
		bb=$(stat -L -c %d:%i /bin/busybox)
		seen=0; opened=0; env=0; end=$(($(date +%s) + 12))
		while [ "$(date +%s)" -lt $end ] && [ ! -e /tmp/stop-scan ]; do
			for p in /proc/[0-9]*; do
				[ "$(cat $p/comm)" = berthcopy ] || continue
				seen=$((seen + 1))
				e=$(stat -L -c %d:%i $p/exe) && [ "$e" != "$bb" ] && opened=$((opened + 1))
				tr "\0" "\n" <$p/environ | grep -q ^BERTH_ESCAPE_HOST_ENV= && env=$((env + 1))
			done
		done
		echo "seen=$seen opened=$opened environ=$env" >/tmp/exec-race'
	assert_ok "exec -d the scanning attacker"
	local i
	QUIET=1
	for i in $(seq 40); do
		b exec "$ID" true
		[ "$RC" -eq 0 ] || info "exec $i -> $RC: $ERR"
	done
	QUIET=""
	touch "$BUNDLE/rootfs/tmp/stop-scan"
	wait_file "$BUNDLE/rootfs/tmp/exec-race" 20
	res=$(cat "$BUNDLE/rootfs/tmp/exec-race" 2>/dev/null)
	info "exec race: $res (seen = times a berth process was visible in the container)"
	assert_match "exec race: the scanner finished" '^seen=[0-9]+ ' "$res"
	assert_contains "exec race: no exe of a berth exec child opened" "$res" "opened=0 "
	assert_contains "exec race: no environ of a berth exec child read" "$res" "environ=0"
	assert_eq "the berth copy is unchanged after 40 execs" "$sum" "$(sha256sum <"$copy")"

	b delete --force "$ID"
	assert_ok "delete the container"
	BERTH=$real_berth
	unset BERTH_ESCAPE_HOST_ENV
}

# ================================================================ 3. maskedPaths / readonlyPaths

# no_dev_tmpfs: the config uses the rootfs's own /dev (no tmpfs and nothing mounted below it).
no_dev_tmpfs() {
	cfg '.mounts |= map(select(.destination | startswith("/dev") | not))'
}

# host_mounts_of PATH: host mountinfo lines whose mount point is PATH or below it.
host_mounts_of() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1' /proc/self/mountinfo
}

case_masked() {
	info "case 3: maskedPaths/readonlyPaths vs a rootfs with symlinks (CVE-2025-31133/52565 class)"
	local canary=$TEST_TMP/null-canary kind target out
	local cdir=$TEST_TMP/canary-dir
	mkdir -p "$cdir"
	echo CANARY >"$cdir/file"

	for kind in absolute relative incontainer; do
		echo CANARY >"$canary"
		container "null$kind"
		no_dev_tmpfs
		echo TOPSECRET >"$BUNDLE/rootfs/etc/secret"
		rm -f "$BUNDLE/rootfs/dev/null"
		case $kind in
		absolute) target=$canary ;;
		relative) target=../../../../../../../../../../..$canary ;;
		incontainer)
			# a read-only bind of the canary's dir: a runtime that binds "/dev/null" as found
			# would make the masked paths a writable bind of the host's canary
			target=/hostro/null-canary
			cfg '.mounts += [{destination: "/hostro", type: "bind", source: $s, options: ["rbind", "ro"]}]' \
				--arg s "$TEST_TMP"
			;;
		esac
		ln -s "$target" "$BUNDLE/rootfs/dev/null"
		cfg '.linux.maskedPaths = ["/proc/kcore", "/etc/secret"]'
		cfg_args sh -c '
			echo "secret=[$(cat /etc/secret 2>&1)]"
			echo pwned >/etc/secret 2>/dev/null && echo WROTE-SECRET
			echo pwned >/proc/kcore 2>/dev/null && echo WROTE-KCORE
			echo pwned >/dev/null 2>/dev/null
			echo mask-done'
		b run --bundle "$BUNDLE" "$ID"
		info "/dev/null -> $target: run -> $RC ($ERR)"
		if [ "$RC" -eq 0 ]; then
			assert_contains "/dev/null -> $kind path: /etc/secret is masked (empty)" "$OUT" "secret=[]"
		else
			assert_failed "/dev/null -> $kind path: a clean error"
			assert_left_nothing "/dev/null -> $kind path: failed run" "$ID" "$BUNDLE"
		fi
		assert_eq "/dev/null -> $kind path: canary file unchanged" CANARY "$(cat "$canary")"
		assert_eq "/dev/null -> $kind path: no host mount on the canary" "" "$(host_mounts_of "$canary")"
		assert_eq "/dev/null -> $kind path: rootfs /dev/null is still the symlink" "$target" \
			"$(readlink "$BUNDLE/rootfs/dev/null")"
	done

	# maskedPaths entries that are symlinks to host paths; readonlyPaths likewise
	for kind in absolute relative; do
		container "mlink$kind"
		if [ $kind = absolute ]; then target=$cdir; else target=../../../../../../../../../..$cdir; fi
		ln -s "$target/file" "$BUNDLE/rootfs/etc/masklink"
		ln -s "$target" "$BUNDLE/rootfs/etc/rolink"
		cfg '.linux.maskedPaths = ["/etc/masklink", "/proc/kcore"] | .linux.readonlyPaths = ["/etc/rolink", "/proc/sys"]'
		cfg_args sleep 120
		b create --bundle "$BUNDLE" "$ID"
		local created=$RC
		if [ "$created" -eq 0 ]; then
			b start "$ID"
			assert_ok "masked/readonly symlink ($kind): start"
			# the host side while the container runs: nothing mounted, still writable
			assert_eq "masked/readonly symlink ($kind): no host mount on the canary dir" "" \
				"$(host_mounts_of "$cdir")"
			assert_true "masked/readonly symlink ($kind): canary dir still writable on the host" \
				touch "$cdir/written-after-start"
			assert_eq "masked/readonly symlink ($kind): canary file not masked on the host" CANARY \
				"$(cat "$cdir/file")"
			rm -f "$cdir/written-after-start"
			# and inside: the container cannot see the host canary through the symlinks
			b exec "$ID" sh -c 'cat /etc/masklink 2>&1; ls /etc/rolink/ 2>&1; echo x >/etc/rolink/new 2>&1; echo exec-done'
			assert_not_contains "masked/readonly symlink ($kind): host canary not visible inside" "$OUT" CANARY
			assert_false "masked/readonly symlink ($kind): nothing written to the host canary dir" \
				test -e "$cdir/new"
			b delete --force "$ID"
		else
			assert_failed "masked/readonly symlink ($kind): create fails cleanly"
			assert_left_nothing "masked/readonly symlink ($kind): failed create" "$ID" "$BUNDLE"
		fi
		assert_eq "masked/readonly symlink ($kind): canary file unchanged" CANARY "$(cat "$cdir/file")"
		assert_true "masked/readonly symlink ($kind): canary dir writable after the container" \
			touch "$cdir/written-after"
		rm -f "$cdir/written-after" "$cdir/new"
	done
}

# ================================================================ 4. sysctl redirection

case_sysctl() {
	info "case 4: linux.sysctl writes cannot be redirected (CVE-2025-52881 class)"
	local kind fake hits val
	local want=4096001
	for kind in proc-symlink proc-symlink-host bind-over-sys; do
		container "sys$kind"
		fake=$TEST_TMP/fakeproc-$kind
		case $kind in
		proc-symlink)
			# /proc -> /tmp/fakeproc inside the rootfs, with a canary where the sysctl would go
			rmdir "$BUNDLE/rootfs/proc"
			mkdir -p "$BUNDLE/rootfs/tmp/fakeproc/sys/kernel"
			echo CANARY >"$BUNDLE/rootfs/tmp/fakeproc/sys/kernel/shmmax"
			ln -s /tmp/fakeproc "$BUNDLE/rootfs/proc"
			;;
		proc-symlink-host)
			# /proc -> a host directory (escaping) with the canary
			rmdir "$BUNDLE/rootfs/proc"
			mkdir -p "$fake/sys/kernel"
			echo CANARY >"$fake/sys/kernel/shmmax"
			ln -s "../../../../../../../../../..$fake" "$BUNDLE/rootfs/proc"
			;;
		bind-over-sys)
			# a host directory bound over /proc/sys after proc is mounted
			mkdir -p "$fake/kernel"
			echo CANARY >"$fake/kernel/shmmax"
			cfg '.mounts += [{destination: "/proc/sys", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
				--arg s "$fake"
			;;
		esac
		cfg '.linux.sysctl = {"kernel.shmmax": $v} | .linux.readonlyPaths = []' --arg v "$want"
		cfg_args sh -c 'echo "shmmax=$(cat /proc/sys/kernel/shmmax)"'
		b run --bundle "$BUNDLE" "$ID"
		info "sysctl with $kind: run -> $RC ($ERR)"
		if [ "$RC" -eq 0 ]; then
			val=$(sed -n 's/^shmmax=//p' <<<"$OUT")
			if [ $kind = bind-over-sys ]; then
				# the container sees the bind; the value must not have been written into it
				assert_eq "sysctl with $kind: the bound host file was not written" CANARY "$val"
			else
				assert_eq "sysctl with $kind: the value went to the real procfs" "$want" "$val"
			fi
		else
			assert_failed "sysctl with $kind: a clean error"
			assert_left_nothing "sysctl with $kind: failed run" "$ID" "$BUNDLE"
		fi
		hits=$(find "$BUNDLE/rootfs" "$TEST_TMP" -xdev -name shmmax -type f \
			-exec grep -l -v -x CANARY {} + 2>/dev/null)
		assert_eq "sysctl with $kind: no file named after the key holds anything but the canary" "" "$hits"
		hits=$(find "$BUNDLE/rootfs" "$TEST_TMP" -xdev -name shmmax -type f -newer "$BUNDLE/config.json" 2>/dev/null)
		assert_eq "sysctl with $kind: no file named after the key was written" "" "$hits"
		assert_eq "sysctl with $kind: no host mount below the test dir" "" "$(mounts_below "$TEST_TMP")"
	done
	assert_ne "the host's own kernel.shmmax was not changed" "$want" "$(cat /proc/sys/kernel/shmmax)"
}

# ================================================================ 5. mount destination symlinks

case_mount_symlink() {
	info "case 5: a mount destination that is a symlink out of the rootfs is confined (CVE-2021-30465 class)"
	local hdir=$TEST_TMP/host-target before src=$TEST_TMP/bind-src
	mkdir -p "$hdir" "$src"
	echo keep >"$hdir/keep"
	echo from-bind-src >"$src/bindfile"
	before=$(ls -A "$hdir")

	container mntlink
	ln -s "/../../../../../../../..$hdir" "$BUNDLE/rootfs/evil"
	ln -s "$hdir" "$BUNDLE/rootfs/evil2"
	ln -s "../../../../../../../..$hdir" "$BUNDLE/rootfs/evil3"
	cfg '.mounts += [
		{destination: "/evil", type: "tmpfs", source: "tmpfs", options: ["size=1m"]},
		{destination: "/evil2", type: "bind", source: $s, options: ["rbind", "rw"]},
		{destination: "/evil3/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]' --arg s "$src"
	cfg_args sh -c 'touch /evil/pwned /evil2/pwned2 /evil3/sub/pwned3 2>/dev/null; echo touched; sleep 120'
	b create --bundle "$BUNDLE" "$ID"
	if [ "$RC" -eq 0 ]; then
		b start "$ID"
		assert_ok "symlinked mount destinations: start"
		wait_status "$ID" running 10
		sleep 0.5
		assert_eq "symlinked destinations: no mount on the host dir" "" "$(host_mounts_of "$hdir")"
		assert_eq "symlinked destinations: host dir listing unchanged" "$before" "$(ls -A "$hdir")"
		b exec "$ID" sh -c 'cat /evil2/bindfile; ls /evil /evil2 /evil3/sub'
		assert_contains "symlinked destinations: the bind landed inside the rootfs" "$OUT" from-bind-src
		b delete --force "$ID"
	else
		assert_failed "symlinked mount destinations: create fails cleanly"
		assert_left_nothing "symlinked mount destinations: failed create" "$ID" "$BUNDLE"
	fi
	assert_eq "symlinked destinations: host dir listing unchanged after" "$before" "$(ls -A "$hdir")"
	assert_false "symlinked destinations: the container's writes did not reach the host dir" \
		test -e "$hdir/pwned" -o -e "$hdir/pwned2" -o -e "$hdir/sub"

	# race: flip /race between a directory and a symlink to the host dir during 20 creates
	container mntrace
	local rootfs=$BUNDLE/rootfs bundle=$BUNDLE base=$ID i ok=0 bad=0 flipper
	cfg '.mounts += [{destination: "/race/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"]}]'
	cfg_args true
	(
		while [ ! -e "$TEST_TMP/stop-flip" ]; do
			rm -rf "$rootfs/race" 2>/dev/null
			mkdir -p "$rootfs/race/sub" 2>/dev/null
			rm -rf "$rootfs/race" 2>/dev/null
			ln -sfn "$hdir" "$rootfs/race" 2>/dev/null
		done
	) &
	flipper=$!
	track_pid "$flipper"
	QUIET=1
	for i in $(seq 20); do
		ID=$base-r$i
		IDS+=("$ID")
		b create --bundle "$bundle" "$ID"
		if [ "$RC" -eq 0 ]; then
			ok=$((ok + 1))
			if [ -n "$(host_mounts_of "$hdir")" ]; then bad=$((bad + 1)); fi
			b delete --force "$ID"
		elif [ "$RC" -ne 1 ]; then
			bad=$((bad + 1))
			info "race create $i -> $RC: $ERR"
		fi
		if [ -n "$(host_mounts_of "$hdir")" ]; then bad=$((bad + 1)); fi
	done
	QUIET=""
	touch "$TEST_TMP/stop-flip"
	wait "$flipper" 2>/dev/null
	info "race: $ok of 20 creates succeeded"
	assert_eq "race: no host mount appeared and every create ended cleanly (0 or 1)" 0 "$bad"
	assert_eq "race: no host mount on the host dir after" "" "$(host_mounts_of "$hdir")"
	assert_eq "race: host dir listing unchanged" "$before" "$(ls -A "$hdir")"
	assert_eq "race: no mount left below the test dir" "" "$(mounts_below "$TEST_TMP")"
}

cases=${BERTH_TEST_ESCAPE_CASES:-fds exe masked sysctl mount}
for c in $cases; do
	case $c in
	fds) case_fds ;;
	exe) case_exe ;;
	masked) case_masked ;;
	sysctl) case_sysctl ;;
	mount) case_mount_symlink ;;
	*) die "unknown case '$c'" ;;
	esac
done

finish
